using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Embeddings.Evaluation;
using Embeddings.Graph;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings node2vec</c> and <c>embeddings deepwalk</c>, with the flags of the reference node2vec
    /// implementation; and <c>embeddings node-classification</c>, the evaluation of docs/evaluation-protocols.md.
    /// </summary>
    internal static class GraphCommands
    {
        private const string Help = """
            usage: embeddings {0} --input EDGES --output VECTORS [options]
              --input FILE        edge list: 'source target [weight]' per line, separated by spaces or tabs
              --output FILE       node vectors, word2vec text format
              --dimensions N      vector size (128)
              --walk-length N     nodes per walk (80)
              --num-walks N       walks per node (10)
              --window-size N     skip-gram context size (10)
              --iter N            skip-gram epochs (1)
              --workers N         threads (8)
            {1}  --weighted          read the third column as the edge weight (otherwise every edge weighs 1)
              --directed          edges are one-way (otherwise undirected)
            Extensions: --seed N (1), --negative N (5), --sample X (1e-3), --min-count N (1), --alpha X (starting learning rate){2}
            """;

        public static int Node2Vec(string[] args) => Run("node2vec", args, secondOrder: true);

        public static int DeepWalk(string[] args) => Run("deepwalk", args, secondOrder: false);

        private static int Run(string command, string[] args, bool secondOrder)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(string.Format(CultureInfo.InvariantCulture, Help, command,
                    secondOrder ? "  --p X               return parameter (1)\n  --q X               in-out parameter (1)\n" : "",
                    secondOrder ? ", --sampling auto|precomputed|rejection (auto)" : ""));
                return args.Length == 0 ? 2 : 0;
            }
            var valueFlags = new System.Collections.Generic.List<string> { "--input", "--output", "--dimensions", "--walk-length", "--num-walks", "--window-size", "--iter", "--workers", "--seed", "--negative", "--sample", "--min-count", "--alpha" };
            if (secondOrder)
                valueFlags.AddRange(new[] { "--p", "--q", "--sampling" });
            var line = new CommandLine(command, args, valueFlags, new[] { "--weighted", "--directed" });
            var watch = Stopwatch.StartNew();
            string input = line.Required("--input");
            string output = line.Required("--output");
            GraphEmbeddingOptions options = secondOrder ? new Node2VecEstimator.Options() : new DeepWalkEstimator.Options();
            options.SourceColumnName = "source";
            options.TargetColumnName = "target";
            options.OutputColumns.Add(("vector", "source"));
            options.Directed = line.Has("--directed");
            options.EmbeddingDimension = line.Int("--dimensions", 128);
            options.WalkLength = line.Int("--walk-length", 80);
            options.WalksPerNode = line.Int("--num-walks", 10);
            options.WindowSize = line.Int("--window-size", 10);
            options.Epochs = line.Int("--iter", 1);
            options.NumberOfThreads = line.Int("--workers", 8);
            options.NegativeSampleCount = line.Int("--negative", 5);
            options.SamplingThreshold = line.Double("--sample", 1e-3);
            options.MinCount = line.Int("--min-count", 1);
            options.LearningRate = (float)line.Double("--alpha", options.LearningRate);
            double p = line.Double("--p", 1), q = line.Double("--q", 1);
            var sampling = (line.Optional("--sampling") ?? "auto") switch
            {
                "auto" => SecondOrderSampling.Auto,
                "precomputed" => SecondOrderSampling.Precomputed,
                "rejection" => SecondOrderSampling.Rejection,
                string other => throw new UsageException($"--sampling takes auto, precomputed or rejection; got '{other}'."),
            };
            GraphEmbeddingTraining.Validate(options, command, p, q);
            int seed = line.Int("--seed", 1);

            var builder = new GraphBuilder(options.Directed, bipartite: false, keepSelfLoops: true, InvalidEdgeWeightHandling.Reject);
            ReadEdgeList(input, line.Has("--weighted"), builder);
            var readTime = watch.Elapsed;
            var (table, _, _, summary) = GraphEmbeddingTraining.Train(builder, options, p, q, sampling, seed, command, Console.Error.WriteLine, options.CancellationToken);
            table.SaveWord2VecFormat(output, binary: false);
            var process = Process.GetCurrentProcess();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Nodes:N0} nodes, {summary.StoredEdges:N0} stored edges read in {readTime.TotalSeconds:F2} s; {summary.Walks:N0} walks, {summary.Steps:N0} steps in {summary.WalkTime.TotalSeconds:F2} s ({summary.Steps / Math.Max(1e-9, summary.WalkTime.TotalSeconds) / 1e6:F2}M steps/s, {summary.Sampling}); " +
                $"skip-gram {summary.Training.TrainingTime.TotalSeconds:F2} s; total {watch.Elapsed.TotalSeconds:F2} s wall, {process.TotalProcessorTime.TotalSeconds:F1} CPU-s, peak resident memory {process.PeakWorkingSet64 / (1024.0 * 1024.0):F0} MiB"));
            return 0;
        }

        private static void ReadEdgeList(string path, bool weighted, GraphBuilder builder)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"--input: the edge list '{path}' does not exist.", path);
            long row = 0;
            var separators = new[] { ' ', '\t' };
            foreach (string text in File.ReadLines(path))
            {
                row++;
                var span = text.AsSpan().Trim();
                if (span.IsEmpty || span[0] == '#')
                    continue;
                int first = span.IndexOfAny(separators);
                if (first < 0)
                    throw new FormatException($"{path}: line {row}: expected 'source target [weight]'; found '{text}'.");
                var source = span.Slice(0, first);
                var rest = span.Slice(first).TrimStart();
                int second = rest.IndexOfAny(separators);
                var target = second < 0 ? rest : rest.Slice(0, second);
                double weight = 1;
                if (weighted)
                {
                    if (second < 0 || !double.TryParse(rest.Slice(second).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out weight))
                        throw new FormatException($"{path}: line {row}: --weighted needs a numeric third column; found '{text}'.");
                }
                builder.AddEdge(row, source, target, weight, "3 (weight)");
            }
        }

        private const string EvaluationHelp = """
            usage: embeddings node-classification --vectors FILE --labels labels.tsv --splits splits.tsv [--l2 1]
              --vectors FILE   node vectors (word2vec text or binary); nodes without a vector count as zeros
              --labels FILE    'node<TAB>label' lines (multi-label)
              --splits FILE    'split<TAB>node<TAB>is_train' lines
              --l2 X           L2 weight of each logistic regression (1, as liblinear's C = 1)
            One-vs-rest logistic regression, top-k prediction, Micro- and Macro-F1 per split, mean +- spread.
            """;

        public static int NodeClassification(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(EvaluationHelp);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("node-classification", args, new[] { "--vectors", "--labels", "--splits", "--l2" }, Array.Empty<string>());
            var vectors = EmbeddingTable.LoadWord2VecFormat(line.Required("--vectors"));
            var labels = NodeClassificationEvaluator.ReadLabels(line.Required("--labels"));
            var splits = NodeClassificationEvaluator.ReadSplits(line.Required("--splits"));
            var result = NodeClassificationEvaluator.Evaluate(new MLContext(seed: 0), vectors, labels, splits, (float)line.Double("--l2", 1));
            Console.Write(result);
            return 0;
        }
    }
}
