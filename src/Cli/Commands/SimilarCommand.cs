using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings similar</c>: the k nearest keys of each query key, exact or approximate (HNSW).</summary>
    internal sealed class SimilarCommand : CliCommand
    {
        private const int DefaultK = 10;
        private static readonly HnswOptions s_hnsw = new();

        private readonly Option<string> _vectors = CommonOptions.Input("--vectors", "word2vec text or binary file, or Parquet (key, vector columns)");
        private readonly Option<string> _queries = CommonOptions.Input("--queries", "one key per line; keys not in the table are reported and skipped");
        private readonly Option<string> _output = CommonOptions.Output("--output", "lines 'query<TAB>neighbour<TAB>score', k per query, best first, the query itself excluded");
        private readonly Option<int> _k = CliOption.Int("--k", "neighbours per query").Default(DefaultK).AtLeast(1);
        private readonly Option<bool> _approximate = CliOption.Switch("--approximate", "search an HNSW index (built here) instead of scanning every vector");
        private readonly Option<int> _ef = CliOption.Int("--ef", "HNSW search breadth").Default(s_hnsw.ExpansionSearch).AtLeast(1);
        private readonly Option<int> _connectivity = CliOption.Int("--connectivity", "HNSW links per node").Default(s_hnsw.Connectivity).Between(4, 256);
        private readonly Option<int> _efConstruction = CliOption.Int("--ef-construction", "HNSW candidates kept while inserting").Default(s_hnsw.ExpansionAdd).AtLeast(1);
        private readonly Option<string> _allow = CliOption.File("--allow", "only these keys (one per line) may be neighbours");
        private readonly Option<string> _deny = CliOption.File("--deny", "these keys (one per line) are never neighbours");
        private readonly Option<Named<SimilarityMetric>> _metric = CliOption.Choice("--metric", "cosine, dot (dot product) or euclidean (score = -distance)",
            new[] { ("cosine", SimilarityMetric.Cosine), ("dot", SimilarityMetric.DotProduct), ("euclidean", SimilarityMetric.Euclidean) }, s_hnsw.Metric);

        public SimilarCommand()
            : base("similar", "Nearest keys of query keys in a vector file, exact or approximate (HNSW).", "Prints the time to build the index and to answer the queries.")
        {
            Add(_vectors, _queries, _output, _k, _approximate, _ef, _connectivity, _efConstruction, _metric, _allow, _deny);
        }

        protected override int Run(CommandRun run)
        {
            string vectors = run.InputFileOrParquetFolder(_vectors);
            string queriesPath = run.InputFile(_queries);
            string? allowPath = run.OptionalInputFile(_allow);
            string? denyPath = run.OptionalInputFile(_deny);
            string output = run.OutputFile(_output);
            var metric = run.Get(_metric).Value;
            var watch = Stopwatch.StartNew();
            var table = Data.EmbeddingFiles.Load(vectors);
            if (table.Count == 0)
                throw new InvalidDataException($"{run.Flag(_vectors)}: '{vectors}' holds no vectors.");
            // At most every other key can be a neighbour: a k beyond the table is cut to it (and k + 1 cannot overflow).
            int k = Math.Min(run.Get(_k), table.Count - 1);
            run.Out.WriteLine($"loaded {table.Count:N0} x {table.Dimension} in {watch.Elapsed.TotalSeconds:F2} s");
            var queries = File.ReadLines(queriesPath).Select(q => q.Trim()).Where(q => q.Length > 0).ToList();
            var unknown = queries.Where(q => !table.Contains(q)).ToList();
            if (unknown.Count > 0)
                run.Error.WriteLine($"{unknown.Count} queries are not in the table and are skipped: {string.Join(", ", unknown.Take(10))}{(unknown.Count > 10 ? ", ..." : "")}");
            var known = queries.Where(table.Contains).ToList();
            NeighborFilter? filter = null;
            if (allowPath is not null || denyPath is not null)
            {
                filter = NeighborFilter.For(table);
                if (allowPath is not null)
                    filter = filter.Allowing(Keys(allowPath));
                if (denyPath is not null)
                    filter = filter.Excluding(Keys(denyPath));
                run.Out.WriteLine($"filter: {filter.ListedRowCount:N0} of {table.Count:N0} keys may be neighbours");
            }
            run.ThrowIfCancelled();

            watch.Restart();
            using var hnsw = run.Given(_approximate)
                ? HnswNeighborIndex.Build(table, new HnswOptions
                {
                    Metric = metric,
                    ExpansionSearch = run.Get(_ef),
                    Connectivity = run.Get(_connectivity),
                    ExpansionAdd = run.Get(_efConstruction),
                })
                : null;
            INearestNeighborIndex index = hnsw is not null ? hnsw : new ExactNeighborIndex(table, metric);
            run.Out.WriteLine($"{(hnsw is null ? "exact" : "HNSW")} index ready in {watch.Elapsed.TotalSeconds:F2} s");

            watch.Restart();
            var text = new StringBuilder();
            var vector = new float[table.Dimension];
            foreach (string query in known)
            {
                run.ThrowIfCancelled();
                table.TryGetVector(query, vector);
                var found = filter is null ? index.Search(vector, k + 1) : index.Search(vector, k + 1, filter);
                foreach (var neighbour in found.Where(n => n.Key != query).Take(k))
                    text.Append(query).Append('\t').Append(neighbour.Key).Append('\t').Append(neighbour.Similarity.ToString("R", CultureInfo.InvariantCulture)).Append('\n');
            }
            double seconds = watch.Elapsed.TotalSeconds;
            run.ThrowIfCancelled();
            Infrastructure.AtomicFile.Write(output, stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true);
                writer.Write(text);
            });
            run.Out.WriteLine($"{known.Count:N0} queries in {seconds:F3} s ({known.Count / Math.Max(seconds, 1e-9):N0} queries/s); wrote {output}");
            return ExitCodes.Success;
        }

        /// <summary>The keys of a list file: one per line, blank lines skipped, surrounding white space trimmed.</summary>
        private static IEnumerable<string> Keys(string path) =>
            Infrastructure.Utf8Lines.Read(path).Where(line => !line.IsBlank).Select(line => line.Text.Trim()).ToList();
    }
}
