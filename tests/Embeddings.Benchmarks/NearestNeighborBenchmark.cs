using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Exact and HNSW search on a generated clustered table (default 1,000,000 x 100, 1,000 clusters): 1,000 random
    /// queries (rows of the table), k = 10. Prints exact single-query and batched throughput, HNSW build time and memory,
    /// and HNSW recall@10 against exact with its single-query throughput, for several ef.
    /// Options: --rows N --dimension D --queries Q (1000) --connectivity M (16) --ef-construction N (128).
    /// </summary>
    internal static class NearestNeighborBenchmark
    {
        public static void Run(string[] args)
        {
            int rows = Options.Int(args, "--rows", 1_000_000);
            int dimension = Options.Int(args, "--dimension", 100);
            int queryCount = Options.Int(args, "--queries", 1000);
            int connectivity = Options.Int(args, "--connectivity", 16);
            int efConstruction = Options.Int(args, "--ef-construction", 128);
            var table = GeneratedTables.Clustered(rows, dimension, clusters: 1000, seed: 1);
            var random = new Random(2);
            var queries = new float[queryCount * dimension];
            for (int q = 0; q < queryCount; q++)
                table.TryGetVector(table.Keys[random.Next(rows)], queries.AsSpan(q * dimension, dimension));
            Console.WriteLine($"table {rows:N0} x {dimension}, {queryCount:N0} queries, k = 10, {Environment.ProcessorCount} cores");

            var exact = new ExactNeighborIndex(table);
            exact.Search(queries.AsSpan(0, dimension), 10);
            var watch = Stopwatch.StartNew();
            int single = Math.Min(queryCount, 100);
            for (int q = 0; q < single; q++)
                exact.Search(queries.AsSpan(q * dimension, dimension), 10);
            double exactSingle = single / watch.Elapsed.TotalSeconds;
            watch.Restart();
            var truth = exact.SearchBatch(queries, 10);
            double exactBatch = queryCount / watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"exact: {exactSingle:F1} queries/s one at a time (all cores per query), {exactBatch:F1} queries/s batched"));

            long before = Process.GetCurrentProcess().WorkingSet64;
            watch.Restart();
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { Connectivity = connectivity, ExpansionAdd = efConstruction });
            double build = watch.Elapsed.TotalSeconds;
            long after = Process.GetCurrentProcess().WorkingSet64;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"HNSW build: {build:F1} s (M = {connectivity}, efConstruction = {efConstruction}), resident memory +{(after - before) / (1024.0 * 1024):F0} MiB"));

            foreach (int ef in new[] { 32, 64, 128, 256 })
            {
                string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ann-benchmark-{Guid.NewGuid():N}.usearch");
                hnsw.Save(path);
                using var tuned = HnswNeighborIndex.Load(path, table, new HnswOptions { Connectivity = connectivity, ExpansionAdd = efConstruction, ExpansionSearch = ef });
                System.IO.File.Delete(path);
                double recall = 0;
                watch.Restart();
                for (int q = 0; q < queryCount; q++)
                {
                    var found = tuned.Search(queries.AsSpan(q * dimension, dimension), 10);
                    recall += found.Select(n => n.Key).Intersect(truth[q].Select(n => n.Key)).Count() / 10.0;
                }
                double qps = queryCount / watch.Elapsed.TotalSeconds;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"HNSW ef {ef,3}: recall@10 {recall / queryCount:F4}, {qps:F0} queries/s one at a time on one thread ({qps / exactSingle:F0}x exact single-query)"));
            }
        }
    }
}
