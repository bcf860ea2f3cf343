using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>One generated interaction: text fields mapped to keys by <see cref="EndToEndData.Keyed"/>, the planted truth alongside.</summary>
    public sealed class Click
    {
        public string User { get; set; } = "";

        public string Item { get; set; } = "";

        public string Gender { get; set; } = "";

        public string Genre { get; set; } = "";

        public string[] Tags { get; set; } = [];

        [VectorType(2)]
        public float[] Dense { get; set; } = [0, 0];

        public bool Label { get; set; }

        public float Rating { get; set; }

        /// <summary>The planted probability (binary) or noiseless rating (regression).</summary>
        public float Truth { get; set; }
    }

    internal static class EndToEndData
    {
        public static readonly string[] KeyColumns = ["User", "Item", "Gender", "Genre", "Tags"];

        /// <summary>Maps every text field to keys (fitted on <paramref name="fitOn"/>) and returns each of <paramref name="sets"/> transformed.</summary>
        public static IDataView[] Keyed(MLContext ml, IEnumerable<Click> fitOn, params IEnumerable<Click>[] sets)
        {
            IEstimator<ITransformer> mapping = ml.Transforms.Conversion.MapValueToKey("User");
            foreach (string column in KeyColumns.Skip(1))
                mapping = mapping.Append(ml.Transforms.Conversion.MapValueToKey(column));
            var model = mapping.Fit(ml.Data.LoadFromEnumerable(fitOn));
            return sets.Select(s => model.Transform(ml.Data.LoadFromEnumerable(s))).ToArray();
        }

        public static double Sigmoid(double z) => 1 / (1 + Math.Exp(-z));

        public static double Gaussian(Random random) =>
            Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());

        /// <summary>
        /// The planted cross: the label depends only on gender x genre, as an XOR (0.85 when gender and genre parity agree,
        /// else 0.15); each gender and each genre alone carries nothing. Item and tags are noise.
        /// </summary>
        public static List<Click> PlantedCross(int count, int seed)
        {
            var random = new Random(seed);
            var rows = new List<Click>(count);
            for (int i = 0; i < count; i++)
            {
                int gender = random.Next(2), genre = random.Next(4);
                double p = (gender + genre) % 2 == 0 ? 0.85 : 0.15;
                rows.Add(new Click
                {
                    User = "u" + random.Next(50),
                    Item = "i" + random.Next(20),
                    Gender = gender == 0 ? "f" : "m",
                    Genre = "g" + genre,
                    Tags = Enumerable.Range(0, random.Next(3)).Select(_ => "t" + random.Next(6)).ToArray(),
                    Dense = [(float)Gaussian(random), (float)Gaussian(random)],
                    Label = random.NextDouble() < p,
                    Truth = (float)p,
                });
            }
            return rows;
        }

        /// <summary>Latent factors of <paramref name="count"/> entities, N(0, 1) in <paramref name="rank"/> dimensions.</summary>
        public static double[][] Factors(Random random, int count, int rank) =>
            Enumerable.Range(0, count).Select(_ => Enumerable.Range(0, rank).Select(_ => Gaussian(random)).ToArray()).ToArray();

        /// <summary>
        /// The planted latent interaction: p = σ(k·⟨u_user, v_item⟩) (or rating = 3 + ⟨u, v⟩ + noise), with every user's and
        /// item's mean click rate near 0.5, so that per-key weights carry almost nothing.
        /// </summary>
        public static (List<Click> Train, List<Click> Test) PlantedLatent(int users, int items, int rank, double k, double noise, int train, int test, int seed)
        {
            var random = new Random(seed);
            var u = Factors(random, users, rank);
            var v = Factors(random, items, rank);
            List<Click> Draw(int count)
            {
                var rows = new List<Click>(count);
                for (int i = 0; i < count; i++)
                {
                    int a = random.Next(users), b = random.Next(items);
                    double dot = 0;
                    for (int r = 0; r < rank; r++)
                        dot += u[a][r] * v[b][r];
                    double p = Sigmoid(k * dot);
                    rows.Add(new Click
                    {
                        User = "u" + a,
                        Item = "i" + b,
                        Gender = "x",
                        Genre = "x",
                        Label = random.NextDouble() < p,
                        Rating = (float)(3 + dot + noise * Gaussian(random)),
                        Truth = noise > 0 ? (float)(3 + dot) : (float)p,
                    });
                }
                return rows;
            }
            return (Draw(train), Draw(test));
        }

        /// <summary>The AUC of the planted probabilities on the sampled labels: the best any model can do on these rows.</summary>
        public static double OptimalAuc(IReadOnlyList<Click> rows) =>
            Embeddings.EndToEnd.EndToEndTraining.AreaUnderRocCurve(rows.Select(r => r.Truth).ToArray(), rows.Select(r => r.Label ? 1f : 0f).ToArray());
    }
}
