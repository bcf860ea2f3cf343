using System;
using System.Diagnostics;
using System.Linq;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Median latency of one exact top-10 cosine query on a generated table with cluster structure.
    /// Options: --rows N (1,000,000) --dimension D (100) --queries Q (51) --seed S (1).
    /// </summary>
    internal static class MostSimilarBenchmark
    {
        public static void Run(string[] args)
        {
            int rows = Options.Int(args, "--rows", 1_000_000);
            int dimension = Options.Int(args, "--dimension", 100);
            int queries = Options.Int(args, "--queries", 51);
            int seed = Options.Int(args, "--seed", 1);

            var build = Stopwatch.StartNew();
            var table = GeneratedTables.Clustered(rows, dimension, clusters: 1000, seed);
            Console.WriteLine($"table: {rows:N0} x {dimension} generated in {build.Elapsed.TotalSeconds:F1} s; {Environment.ProcessorCount} cores");

            var warm = Stopwatch.StartNew();
            table.MostSimilar(table.Keys[0], 10); // computes the norms once
            Console.WriteLine($"first query (norms computed): {warm.Elapsed.TotalMilliseconds:F1} ms");

            var random = new Random(seed + 1);
            var byKey = new double[queries];
            var byVector = new double[queries];
            var vector = new float[dimension];
            for (int q = 0; q < queries; q++)
            {
                string key = table.Keys[random.Next(rows)];
                var watch = Stopwatch.StartNew();
                var result = table.MostSimilar(key, 10);
                byKey[q] = watch.Elapsed.TotalMilliseconds;
                if (result.Count != 10)
                    throw new InvalidOperationException("expected 10 neighbours");

                table.TryGetVector(table.Keys[random.Next(rows)], vector);
                watch.Restart();
                table.MostSimilar(vector, 10);
                byVector[q] = watch.Elapsed.TotalMilliseconds;
            }
            Console.WriteLine($"MostSimilar(key, 10):    median {Median(byKey):F1} ms, min {byKey.Min():F1} ms, max {byKey.Max():F1} ms over {queries} queries");
            Console.WriteLine($"MostSimilar(vector, 10): median {Median(byVector):F1} ms, min {byVector.Min():F1} ms, max {byVector.Max():F1} ms over {queries} queries");
        }

        private static double Median(double[] values)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted[sorted.Length / 2];
        }
    }
}
