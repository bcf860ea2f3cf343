using System;
using System.Globalization;

namespace Embeddings.Benchmarks
{
    internal static class Options
    {
        public static int Int(string[] args, string name, int defaultValue)
        {
            int at = Array.IndexOf(args, name);
            if (at < 0)
                return defaultValue;
            if (at + 1 >= args.Length || !int.TryParse(args[at + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
                throw new ArgumentException($"{name} needs a whole number.");
            return value;
        }

        public static string? String(string[] args, string name)
        {
            int at = Array.IndexOf(args, name);
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        }

        /// <summary>
        /// MovieLens 100K's u.data from --data (the file or its folder; default ../shared/data/movielens/ml-100k), or null
        /// after printing why the benchmark is skipped (ml-100k may not be copied into the repository).
        /// </summary>
        public static string? MovieLensRatings(string[] args)
        {
            string data = String(args, "--data") ?? System.IO.Path.Combine("..", "shared", "data", "movielens", "ml-100k", "u.data");
            if (System.IO.Directory.Exists(data))
                data = System.IO.Path.Combine(data, "u.data");
            if (System.IO.File.Exists(data))
                return data;
            Console.WriteLine($"skipped: '{data}' is missing (MovieLens 100K may not be copied into the repository; run from the root with ../shared beside it, or pass --data).");
            return null;
        }
    }

    internal static class GeneratedTables
    {
        /// <summary>Rows scattered (Gaussian, sd 0.3) around <paramref name="clusters"/> random unit-scale centres.</summary>
        public static EmbeddingTable Clustered(int rows, int dimension, int clusters, int seed)
        {
            var random = new Random(seed);
            var centres = new float[clusters * dimension];
            for (int i = 0; i < centres.Length; i++)
                centres[i] = (float)Gaussian(random);
            var store = new RowStore(rows, dimension);
            var keys = new string[rows];
            for (int r = 0; r < rows; r++)
            {
                keys[r] = "item" + r.ToString(CultureInfo.InvariantCulture);
                int c = random.Next(clusters);
                var row = store.Row(r);
                for (int j = 0; j < dimension; j++)
                    row[j] = centres[c * dimension + j] + 0.3f * (float)Gaussian(random);
            }
            return new EmbeddingTable(keys, store);
        }

        private static double Gaussian(Random random)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
    }
}
