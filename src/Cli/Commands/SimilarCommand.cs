using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings similar</c>: the k nearest keys of each query key, exact or approximate (HNSW).</summary>
    internal static class SimilarCommand
    {
        private const string Help = """
            usage: embeddings similar --vectors FILE --queries FILE --output FILE [--k 10] [--approximate] [--ef 64] [--metric cosine|dot|euclidean]
              --vectors FILE   word2vec text or binary file
              --queries FILE   one key per line; keys not in the table are reported and skipped
              --output FILE    lines 'query<TAB>neighbour<TAB>score', k per query, best first, the query itself excluded
              --k N            neighbours per query (10)
              --approximate    search an HNSW index (built here) instead of scanning every vector
              --ef N           HNSW search breadth (64); --connectivity N (16), --ef-construction N (128)
              --metric NAME    cosine (default), dot, or euclidean (score = -distance)
            Prints the time to build the index and to answer the queries.
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("similar", args, new[] { "--vectors", "--queries", "--output", "--k", "--ef", "--connectivity", "--ef-construction", "--metric" }, new[] { "--approximate" });
            var metric = (line.Optional("--metric") ?? "cosine") switch
            {
                "cosine" => SimilarityMetric.Cosine,
                "dot" => SimilarityMetric.DotProduct,
                "euclidean" => SimilarityMetric.Euclidean,
                string other => throw new UsageException($"--metric takes cosine, dot or euclidean; got '{other}'."),
            };
            int k = line.Int("--k", 10);
            if (k < 1)
                throw new UsageException($"--k must be at least 1; got {k}.");
            string output = line.Required("--output");
            var watch = Stopwatch.StartNew();
            var table = EmbeddingTable.LoadWord2VecFormat(line.Required("--vectors"));
            if (table.Count == 0)
                throw new InvalidOperationException("The vector file holds no vectors.");
            Console.WriteLine($"loaded {table.Count:N0} x {table.Dimension} in {watch.Elapsed.TotalSeconds:F2} s");
            var queries = File.ReadLines(line.Required("--queries")).Select(q => q.Trim()).Where(q => q.Length > 0).ToList();
            var unknown = queries.Where(q => !table.Contains(q)).ToList();
            if (unknown.Count > 0)
                Console.Error.WriteLine($"{unknown.Count} queries are not in the table and are skipped: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", ..." : "")}");
            var known = queries.Where(table.Contains).ToList();

            watch.Restart();
            HnswNeighborIndex? hnsw = null;
            INearestNeighborIndex index;
            if (line.Has("--approximate"))
            {
                hnsw = HnswNeighborIndex.Build(table, new HnswOptions
                {
                    Metric = metric,
                    ExpansionSearch = line.Int("--ef", 64),
                    Connectivity = line.Int("--connectivity", 16),
                    ExpansionAdd = line.Int("--ef-construction", 128),
                });
                index = hnsw;
            }
            else
            {
                index = new ExactNeighborIndex(table, metric);
            }
            Console.WriteLine($"{(hnsw is null ? "exact" : "HNSW")} index ready in {watch.Elapsed.TotalSeconds:F2} s");

            watch.Restart();
            var text = new StringBuilder();
            var vector = new float[table.Dimension];
            foreach (string query in known)
            {
                table.TryGetVector(query, vector);
                foreach (var neighbour in index.Search(vector, k + 1).Where(n => n.Key != query).Take(k))
                    text.Append(query).Append('\t').Append(neighbour.Key).Append('\t').Append(neighbour.Similarity.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
            double seconds = watch.Elapsed.TotalSeconds;
            Infrastructure.AtomicFile.Write(output, stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                writer.Write(text);
            });
            Console.WriteLine($"{known.Count:N0} queries in {seconds:F3} s ({known.Count / Math.Max(seconds, 1e-9):N0} queries/s); wrote {output}");
            hnsw?.Dispose();
            return 0;
        }
    }
}
