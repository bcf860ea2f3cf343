using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Exact and HNSW search on a generated clustered table (default 1,000,000 x 100, 1,000 clusters): 1,000 random
    /// queries (rows of the table), k = 10. Prints exact single-query and batched throughput, HNSW build time and memory,
    /// and HNSW recall@10 against exact with its single-query throughput, for several ef; then filtered search: for
    /// filters admitting 50% down to 0.5% of the rows (a row predicate), recall@10 and queries/s of the graph search
    /// forced (FilteredExactRows = 0, with its fewer-than-k exact fallback), of the default rule, and of exact search.
    /// Options: --rows N --dimension D --queries Q (1000) --connectivity M (16) --ef-construction N (128)
    /// --filter-queries Q (100) --storage Float32|Float16|Int8 (the default for cosine, Int8) --insertion-order Locality|TableOrder
    /// (Locality, the default).
    /// </summary>
    internal static class NearestNeighborBenchmark
    {
        public static void Run(string[] args)
        {
            int rows = Options.Int(args, "--rows", 1_000_000);
            int dimension = Options.Int(args, "--dimension", 100);
            int queryCount = Options.Int(args, "--queries", 1000);
            int connectivity = Options.Int(args, "--connectivity", new HnswOptions().Connectivity);
            int efConstruction = Options.Int(args, "--ef-construction", new HnswOptions().ExpansionAdd);
            int filterQueries = Options.Int(args, "--filter-queries", 100);
            string? storageName = Options.String(args, "--storage");
            var insertionOrder = Enum.Parse<HnswInsertionOrder>(Options.String(args, "--insertion-order") ?? nameof(HnswInsertionOrder.Locality), ignoreCase: true);
            var storage = storageName is null ? new HnswOptions().Storage : Enum.Parse<HnswStorage>(storageName, ignoreCase: true);
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
            var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
            watch.Restart();
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { Connectivity = connectivity, ExpansionAdd = efConstruction, Storage = storage, InsertionOrder = insertionOrder });
            double build = watch.Elapsed.TotalSeconds;
            double cpu = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds;
            long after = Process.GetCurrentProcess().WorkingSet64;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"HNSW build: {build:F1} s (M = {connectivity}, efConstruction = {efConstruction}, {storage}, {insertionOrder} order, {rows / build / Environment.ProcessorCount:F0} inserts/s per thread; {cpu:F1} CPU s, {rows / cpu:F0} inserts per CPU s; kernels {hnsw.HardwareAcceleration}), resident memory +{(after - before) / (1024.0 * 1024):F0} MiB"));

            foreach (int ef in new[] { 32, 64, 128, 256 })
            {
                string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ann-benchmark-{Guid.NewGuid():N}.usearch");
                hnsw.Save(path);
                using var tuned = HnswNeighborIndex.Load(path, table, new HnswOptions { Connectivity = connectivity, ExpansionAdd = efConstruction, ExpansionSearch = ef, Storage = storage });
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

            Filtered(table, hnsw, exact, queries, Math.Min(filterQueries, queryCount), new HnswOptions { Connectivity = connectivity, ExpansionAdd = efConstruction, Storage = storage });
            Console.WriteLine("reference at 1,000,000 x 100 on 2 cores (docs/nearest-neighbours.md): before issue 14 (Float32 through the managed binding) "
                + "build 148 s, recall@10 0.9542 / 0.9806 / 0.9915 / 0.9975 at ef 32 / 64 / 128 / 256; Int8 + float32 re-rank in table order: build 64-70 s idle, "
                + "126-142 CPU s, recall@10 at ef 64 0.974-0.983; in locality order (the default): 36.5 s, 68.5 CPU s, recall@10 at ef 64 0.979");
        }

        /// <summary>Filtered search at decreasing admitted fractions: graph forced, default rule, exact.</summary>
        private static void Filtered(EmbeddingTable table, HnswNeighborIndex hnsw, ExactNeighborIndex exact, float[] queries, int queryCount, HnswOptions options)
        {
            int d = table.Dimension;
            string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"ann-benchmark-{Guid.NewGuid():N}.usearch");
            hnsw.Save(path);
            using var graph = HnswNeighborIndex.Load(path, table, new HnswOptions { Connectivity = options.Connectivity, ExpansionAdd = options.ExpansionAdd, Storage = options.Storage, FilteredExactRows = 0 });
            using var rule = HnswNeighborIndex.Load(path, table, options);
            System.IO.File.Delete(path);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"filtered (ef 64, predicate on a row hash, {queryCount} queries; default rule: exact below {HnswNeighborIndex.DefaultFilteredExactRows:N0} admitted rows):"));
            foreach (double fraction in new[] { 0.5, 0.2, 0.1, 0.05, 0.02, 0.01, 0.005 })
            {
                uint limit = (uint)(fraction * uint.MaxValue);
                var filter = NeighborFilter.For(table).Where(row => (uint)row * 2654435761u < limit);
                var truth = new string[queryCount][];
                var watch = Stopwatch.StartNew();
                for (int q = 0; q < queryCount; q++)
                    truth[q] = exact.Search(queries.AsSpan(q * d, d), 10, filter).Select(n => n.Key).ToArray();
                double exactQps = queryCount / watch.Elapsed.TotalSeconds;
                var (graphRecall, graphQps) = Measure(graph);
                var (ruleRecall, ruleQps) = Measure(rule);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  admitted {fraction,6:P1}: graph recall@10 {graphRecall:F4} {graphQps,7:F0} q/s | rule recall@10 {ruleRecall:F4} {ruleQps,7:F0} q/s | exact {exactQps,6:F0} q/s (all cores)"));

                (double Recall, double Qps) Measure(HnswNeighborIndex index)
                {
                    double recall = 0;
                    var timer = Stopwatch.StartNew();
                    for (int q = 0; q < queryCount; q++)
                        recall += index.Search(queries.AsSpan(q * d, d), 10, filter).Select(n => n.Key).Intersect(truth[q]).Count() / 10.0;
                    return (recall / queryCount, queryCount / timer.Elapsed.TotalSeconds);
                }
            }
        }
    }
}
