using System;
using System.Collections.Generic;
using Embeddings.Kernels;
using Embeddings.SkipGram;

namespace Embeddings.MatrixFactorization
{
    /// <summary>Settings of one training run, resolved from the public options (no ML.NET types).</summary>
    internal sealed record FactorTrainingSettings(
        bool Implicit, int Rank, int Iterations, float Lambda, float LearningRate, float Alpha, float NegativeTarget,
        bool NonNegative, int Threads, ulong Seed, EmbeddingTable? InitialUsers, EmbeddingTable? InitialItems, int ColdStartItemMaxRatings = 0);

    /// <summary>Initialisation (random or warm start) and the iteration loop of both losses.</summary>
    internal static class MatrixFactorizationTraining
    {
        /// <summary>Standard deviation of random initial factors, and the root-mean-square entry warm-start vectors are scaled to.</summary>
        internal const float InitialScale = 0.1f;

        public static FactorModel Train(RatingMatrix ratings, string[] userKeys, string[] itemKeys, FactorTrainingSettings s, Action<int, FactorModel>? afterIteration = null)
        {
            int k = s.Rank;
            if (s.Implicit)
                ratings = ratings.SumDuplicates();
            var userSeen = new bool[ratings.UserCount];
            var itemSeen = new bool[ratings.ItemCount];
            for (long e = 0; e < ratings.Count; e++)
            {
                userSeen[ratings.UserOf[e]] = true;
                itemSeen[ratings.ItemOf[e]] = true;
            }
            float mean = 0;
            if (!s.Implicit && ratings.Count > 0)
            {
                double sum = 0;
                foreach (float r in ratings.Values)
                    sum += r;
                mean = (float)(sum / ratings.Count);
            }
            var p = new float[(long)ratings.UserCount * k];
            var q = new float[(long)ratings.ItemCount * k];
            RandomInit(p, k, s.Seed, 0x1000_0000UL, s.NonNegative);
            RandomInit(q, k, s.Seed, 0x2000_0000UL, s.NonNegative);
            bool usersWarm = WarmStart(p, userKeys, s.InitialUsers, k, s.Seed, 3, s.NonNegative);
            bool itemsWarm = WarmStart(q, itemKeys, s.InitialItems, k, s.Seed, 4, s.NonNegative);
            // A side without a table starts from the mean of its warm-started neighbours' vectors.
            if (itemsWarm && !usersWarm)
                MeanOfNeighbours(ratings.ByUser, q, p, k, s.InitialUsers, userKeys);
            else if (usersWarm && !itemsWarm)
                MeanOfNeighbours(ratings.ByItem, p, q, k, s.InitialItems, itemKeys);

            var model = new FactorModel(s.Implicit, k, mean, userKeys, itemKeys, p, q, new float[ratings.UserCount], new float[ratings.ItemCount], userSeen, itemSeen);
            if (s.Implicit)
            {
                // Solve the side that was not warm-started first, from the side that was.
                bool itemsFirst = usersWarm && !itemsWarm;
                for (int iteration = 1; iteration <= s.Iterations; iteration++)
                {
                    if (itemsFirst)
                        AlsSolver.SolveImplicit(ratings.ByItem, p, ratings.UserCount, q, k, s.Lambda, s.Alpha, s.NegativeTarget, s.Threads);
                    AlsSolver.SolveImplicit(ratings.ByUser, q, ratings.ItemCount, p, k, s.Lambda, s.Alpha, s.NegativeTarget, s.Threads);
                    if (!itemsFirst)
                        AlsSolver.SolveImplicit(ratings.ByItem, p, ratings.UserCount, q, k, s.Lambda, s.Alpha, s.NegativeTarget, s.Threads);
                    afterIteration?.Invoke(iteration, model);
                }
            }
            else
            {
                var sgd = new SgdSolver(ratings, k, s.Seed);
                for (int iteration = 1; iteration <= s.Iterations; iteration++)
                {
                    sgd.RunEpoch(iteration - 1, s.Seed, p, q, model.UserBias, model.ItemBias, mean, s.LearningRate, s.Lambda, s.NonNegative, s.Threads);
                    afterIteration?.Invoke(iteration, model);
                }
            }
            if (!VectorMath.AllFinite(p) || !VectorMath.AllFinite(q) || !VectorMath.AllFinite(model.UserBias) || !VectorMath.AllFinite(model.ItemBias))
                throw new InvalidOperationException($"Matrix factorization diverged (NaN or infinite factors) with LearningRate = {s.LearningRate} and Lambda = {s.Lambda}; lower LearningRate (0.1 is usual with this adaptive schedule) or raise Lambda.");
            model.ClearUnseen();
            if (!s.Implicit && s.ColdStartItemMaxRatings > 0)
                model.UnseenItemBias = model.RareItemBiasMean(RatingsPerItem(ratings), s.ColdStartItemMaxRatings);
            return model;
        }

        /// <summary>Training rating entries of each item (duplicates counted).</summary>
        public static int[] RatingsPerItem(RatingMatrix ratings)
        {
            var counts = new int[ratings.ItemCount];
            foreach (int i in ratings.ItemOf)
                counts[i]++;
            return counts;
        }

        /// <summary>Root-mean-square error of <paramref name="model"/> on <paramref name="ratings"/>.</summary>
        public static double Rmse(FactorModel model, RatingMatrix ratings)
        {
            double sum = 0;
            for (long e = 0; e < ratings.Count; e++)
            {
                double error = ratings.Values[e] - model.Score(ratings.UserOf[e], ratings.ItemOf[e]);
                sum += error * error;
            }
            return ratings.Count == 0 ? 0 : Math.Sqrt(sum / ratings.Count);
        }

        private static void RandomInit(float[] factors, int k, ulong seed, ulong streamBase, bool nonNegative)
        {
            long rows = factors.LongLength / k;
            for (long r = 0; r < rows; r++)
            {
                var random = new TrainingRandom(seed, streamBase + (ulong)r);
                var row = factors.AsSpan((int)(r * k), k);
                for (int d = 0; d < k; d++)
                {
                    float g = Gaussian(ref random) * InitialScale;
                    row[d] = nonNegative ? MathF.Abs(g) : g;
                }
            }
        }

        /// <summary>
        /// Copies the table's vectors of the given keys into <paramref name="factors"/>, through a seeded Gaussian random
        /// projection (entries N(0, 1/k)) when the table's dimension differs from the rank, then scales the copied rows so
        /// their root-mean-square entry is <see cref="InitialScale"/>. Returns false when no key was found.
        /// </summary>
        private static bool WarmStart(float[] factors, string[] keys, EmbeddingTable? table, int k, ulong seed, ulong stream, bool nonNegative)
        {
            if (table is null)
                return false;
            int d = table.Dimension;
            float[]? projection = null;
            if (d != k)
            {
                projection = new float[(long)d * k];
                var random = new TrainingRandom(seed, 0x3000_0000UL + stream);
                float scale = 1f / MathF.Sqrt(k);
                for (long j = 0; j < projection.LongLength; j++)
                    projection[j] = Gaussian(ref random) * scale;
            }
            var source = new float[d];
            var found = new List<int>();
            double squares = 0;
            for (int r = 0; r < keys.Length; r++)
            {
                if (!table.TryGetVector(keys[r], source))
                    continue;
                var row = factors.AsSpan((int)((long)r * k), k);
                if (projection is null)
                {
                    source.CopyTo(row);
                }
                else
                {
                    row.Clear();
                    for (int j = 0; j < d; j++)
                        VectorMath.AddScaled(projection.AsSpan((int)((long)j * k), k), source[j], row);
                }
                if (nonNegative)
                {
                    for (int j = 0; j < k; j++)
                        row[j] = MathF.Abs(row[j]);
                }
                squares += VectorMath.Dot(row, row);
                found.Add(r);
            }
            if (found.Count == 0)
                return false;
            double rms = Math.Sqrt(squares / ((double)found.Count * k));
            if (rms > 0)
            {
                float factor = (float)(InitialScale / rms);
                foreach (int r in found)
                    VectorMath.Scale(factor, factors.AsSpan((int)((long)r * k), k));
            }
            return true;
        }

        /// <summary>Rows of <paramref name="target"/> whose key is not in <paramref name="table"/> become the mean of their neighbours' rows in <paramref name="source"/>.</summary>
        private static void MeanOfNeighbours(CompressedRows rows, float[] source, float[] target, int k, EmbeddingTable? table, string[] keys)
        {
            for (int r = 0; r < rows.RowCount; r++)
            {
                if ((table is not null && table.Contains(keys[r])) || rows.Length(r) == 0)
                    continue;
                var row = target.AsSpan((int)((long)r * k), k);
                row.Clear();
                for (long e = rows.Offsets[r]; e < rows.Offsets[r + 1]; e++)
                    VectorMath.Add(source.AsSpan((int)((long)rows.Columns[e] * k), k), row);
                VectorMath.Scale(1f / rows.Length(r), row);
            }
        }

        private static float Gaussian(ref TrainingRandom random)
        {
            // Box-Muller; u1 in (0, 1].
            float u1 = 1f - random.NextFloat();
            float u2 = random.NextFloat();
            return MathF.Sqrt(-2f * MathF.Log(u1)) * MathF.Cos(2f * MathF.PI * u2);
        }
    }
}
