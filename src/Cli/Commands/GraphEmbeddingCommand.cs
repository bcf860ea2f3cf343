using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using Embeddings.Cli.Data;
using Embeddings.Graph;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings node2vec</c> and <c>embeddings deepwalk</c>, with the flags of the reference node2vec implementation
    /// (<c>--input --output --dimensions --walk-length --num-walks --window-size --iter --workers --p --q --weighted
    /// --directed</c>); <c>--epochs</c> and <c>--threads</c> name <c>--iter</c> and <c>--workers</c>.
    /// </summary>
    internal sealed class GraphEmbeddingCommand : CliCommand
    {
        /// <summary>The reference implementation's default --workers.</summary>
        private const int ReferenceWorkers = 8;

        /// <summary>The defaults of p, q and the sampling (DeepWalk's uniform walks use them too).</summary>
        private static readonly Node2VecEstimator.Options s_node2Vec = new();

        private readonly bool _secondOrder;
        private readonly Option<string> _input = CommonOptions.Input("--input",
            "UTF-8 edge list: 'source target [weight]' per line, separated by white space, the same fields on every line; '#' comments only at the top; or Parquet (a .parquet file or a folder of them; see --source-column)");
        private readonly Option<string> _output = CommonOptions.Output("--output", "node vectors, word2vec text format (Parquet when FILE ends in .parquet: key, vector columns)");
        private readonly Option<string> _sourceColumn = CommonOptions.Column("--source-column", "Parquet input: the source node column (STRING or an integer)", "source");
        private readonly Option<string> _targetColumn = CommonOptions.Column("--target-column", "Parquet input: the target node column (STRING or an integer)", "target");
        private readonly Option<string> _weightColumn = CommonOptions.Column("--weight-column", "Parquet input with --weighted: the weight column (FLOAT, DOUBLE, INT32 or INT64)", "weight");
        private readonly Option<int> _dimensions;
        private readonly Option<int> _walkLength;
        private readonly Option<int> _numWalks;
        private readonly Option<int> _windowSize;
        private readonly Option<int> _iter;
        private readonly Option<int> _workers = CommonOptions.Threads("--workers", ReferenceWorkers, "--threads");
        private readonly Option<double> _p;
        private readonly Option<double> _q;
        private readonly Option<bool> _weighted = CliOption.Switch("--weighted", "read the third column as the edge weight (otherwise every edge weighs 1)");
        private readonly Option<bool> _directed = CliOption.Switch("--directed", "edges are one-way (otherwise undirected)");
        private readonly Option<int> _seed = CommonOptions.Seed();
        private readonly Option<int> _negative;
        private readonly Option<double> _sample;
        private readonly Option<int> _minCount;
        private readonly Option<double> _alpha;
        private readonly Option<Named<SecondOrderSampling>> _sampling;
        private readonly PartitioningFlags _partitioning = new();
        private readonly ClusterSubmitFlags? _cluster;

        private GraphEmbeddingCommand(string name, string description, bool secondOrder, bool cluster = false)
            : base(name, description, cluster
                ? "--epochs and --threads are --iter and --workers (the submitter's threads for its counting pass). The submitter builds the graph and counts the walks' node visits; the silos write each episode's pairs (at most --pair-window episodes in the storage at once; --pairs submitter writes them all first) and train them. Progress (buckets, epoch, pairs/s) goes to standard error."
                : "--epochs and --threads are --iter and --workers.")
        {
            _secondOrder = secondOrder;
            _cluster = cluster ? new ClusterSubmitFlags() : null;
            var defaults = NewOptions();
            _dimensions = CliOption.Int("--dimensions", "vector size").Default(defaults.EmbeddingDimension).Between(1, 100_000);
            _walkLength = CliOption.Int("--walk-length", "nodes per walk").Default(defaults.WalkLength).AtLeast(2);
            _numWalks = CliOption.Int("--num-walks", "walks per node").Default(defaults.WalksPerNode).AtLeast(1);
            _windowSize = CliOption.Int("--window-size", "skip-gram context size").Default(defaults.WindowSize).AtLeast(1);
            _iter = CliOption.Int("--iter", "skip-gram epochs", "--epochs").Default(defaults.Epochs).AtLeast(1);
            _p = CliOption.Double("--p", "return parameter").Default(s_node2Vec.ReturnParameter).AtLeast(0, exclusive: true);
            _q = CliOption.Double("--q", "in-out parameter").Default(s_node2Vec.InOutParameter).AtLeast(0, exclusive: true);
            _negative = CliOption.Int("--negative", "negative samples per pair (extension)").Default(defaults.NegativeSampleCount).Between(1, 1000);
            _sample = CliOption.Double("--sample", "frequent-node subsampling threshold (extension)").Default(defaults.SamplingThreshold).Threshold();
            _minCount = CliOption.Int("--min-count", "nodes visited fewer times get no vector (extension)").Default(defaults.MinCount).AtLeast(1);
            _alpha = CliOption.Double("--alpha", "starting learning rate (extension)").Default(CliOption.Widen(defaults.LearningRate)).Rate();
            _sampling = CliOption.Choice("--sampling", "second-order transition sampling (extension)",
                new[] { ("auto", SecondOrderSampling.Auto), ("precomputed", SecondOrderSampling.Precomputed), ("rejection", SecondOrderSampling.Rejection) },
                s_node2Vec.SecondOrderSampling);
            Add(_input, _sourceColumn, _targetColumn, _weightColumn, _output, _dimensions, _walkLength, _numWalks, _windowSize, _iter, _workers);
            if (secondOrder)
                Add(_p, _q);
            Add(_weighted, _directed, _seed, _negative, _sample, _minCount, _alpha);
            if (secondOrder)
                Add(_sampling);
            AddPartitioningOrCluster(_partitioning, _cluster);
            Speak("EmbeddingDimension", _dimensions);
            Speak("WalkLength", _walkLength);
            Speak("WalksPerNode", _numWalks);
            Speak("WindowSize", _windowSize);
            Speak("Epochs", _iter);
            Speak("NumberOfThreads", _workers);
            Speak("NegativeSampleCount", _negative);
            Speak("SamplingThreshold", _sample);
            Speak("MinCount", _minCount);
            Speak("LearningRate", _alpha);
            if (secondOrder)
            {
                Speak("ReturnParameter (p)", _p);
                Speak("InOutParameter (q)", _q);
            }
        }

        public static GraphEmbeddingCommand Node2Vec() =>
            new("node2vec", "node2vec embeddings of an edge list, with the reference implementation's flags.", secondOrder: true);

        public static GraphEmbeddingCommand DeepWalk() =>
            new("deepwalk", "DeepWalk embeddings of an edge list (uniform walks: node2vec with p = q = 1).", secondOrder: false);

        /// <summary><c>embeddings cluster submit node2vec</c>: the node2vec flags, trained on the cluster.</summary>
        public static GraphEmbeddingCommand ClusterNode2Vec() =>
            new("node2vec", "node2vec on the cluster: the node2vec command's flags, plus where the cluster is and its partitions.", secondOrder: true, cluster: true);

        /// <summary><c>embeddings cluster submit deepwalk</c>.</summary>
        public static GraphEmbeddingCommand ClusterDeepWalk() =>
            new("deepwalk", "DeepWalk on the cluster: the deepwalk command's flags, plus where the cluster is and its partitions.", secondOrder: false, cluster: true);

        /// <summary>What the flags ask for.</summary>
        internal sealed record Settings(string Input, string Output, GraphEmbeddingOptions Options, double P, double Q, SecondOrderSampling Sampling, bool Weighted, int Seed);

        private GraphEmbeddingOptions NewOptions() => _secondOrder ? new Node2VecEstimator.Options() : new DeepWalkEstimator.Options();

        /// <summary>The settings of parsed flags (the training options without cancellation).</summary>
        internal Settings Read(ParseResult result)
        {
            var options = NewOptions();
            options.SourceColumnName = "source";
            options.TargetColumnName = "target";
            options.OutputColumns.Add(("vector", "source"));
            options.Directed = result.GetValue(_directed);
            options.EmbeddingDimension = result.GetValue(_dimensions);
            options.WalkLength = result.GetValue(_walkLength);
            options.WalksPerNode = result.GetValue(_numWalks);
            options.WindowSize = result.GetValue(_windowSize);
            options.Epochs = result.GetValue(_iter);
            options.NumberOfThreads = result.GetValue(_workers);
            options.NegativeSampleCount = result.GetValue(_negative);
            options.SamplingThreshold = result.GetValue(_sample);
            options.MinCount = result.GetValue(_minCount);
            options.LearningRate = (float)result.GetValue(_alpha);
            options.Partitioning = _cluster is null ? _partitioning.Read(result) : null;
            // DeepWalk has no p, q or sampling flags: their defaults (p = q = 1) give its uniform walks.
            return new Settings(result.GetValue(_input)!, result.GetValue(_output)!, options,
                _secondOrder ? result.GetValue(_p) : s_node2Vec.ReturnParameter,
                _secondOrder ? result.GetValue(_q) : s_node2Vec.InOutParameter,
                _secondOrder ? result.GetValue(_sampling)!.Value : s_node2Vec.SecondOrderSampling,
                result.GetValue(_weighted), result.GetValue(_seed));
        }

        protected override int Run(CommandRun run)
        {
            var watch = Stopwatch.StartNew();
            var settings = Read(run.Result);
            string input = run.InputFileOrParquetFolder(_input);
            string output = run.OutputFile(_output);
            bool parquet = ParquetInput.IsParquet(input);
            if (!parquet)
                CommonOptions.ColumnsNeedParquet(run, input, _input, _sourceColumn, _targetColumn, _weightColumn);
            if (parquet && run.Given(_weightColumn) && !settings.Weighted)
                throw new UsageException($"{run.Flag(_weightColumn)} names the weight column, which is read with --weighted only; add --weighted, or leave {run.Flag(_weightColumn)} out.");
            var options = settings.Options;
            options.CancellationToken = run.Cancellation;
            options.Seed = settings.Seed;
            if (options is Node2VecEstimator.Options node2Vec)
            {
                node2Vec.ReturnParameter = settings.P;
                node2Vec.InOutParameter = settings.Q;
                node2Vec.SecondOrderSampling = settings.Sampling;
            }

            var readTime = TimeSpan.Zero;
            int comments = 0;
            void ReadEdges(IEdgeWriter writer)
            {
                if (parquet)
                {
                    ParquetInput.ReadEdges(input, Column(run, _sourceColumn), Column(run, _targetColumn), settings.Weighted ? Column(run, _weightColumn) : null,
                        rejectWhiteSpace: !EmbeddingFiles.IsParquet(output), writer, run.Cancellation);
                }
                else
                {
                    comments = EdgeListReader.Read(input, settings.Weighted, writer, run.Cancellation);
                }
                readTime = watch.Elapsed;
            }
            if (_cluster is not null)
                return ClusterSubmission.Run(run, _cluster, options, ReadEdges, output, watch, () => comments);

            var ml = run.NewContext(settings.Seed);
            var model = options is Node2VecEstimator.Options n
                ? ml.Embeddings().Node2Vec(n).Fit(ReadEdges)
                : ml.Embeddings().DeepWalk((DeepWalkEstimator.Options)options).Fit(ReadEdges);
            if (comments > 0)
                run.Error.WriteLine($"{input}: skipped {comments:N0} '#' comment line(s) at the top");
            var (table, summary) = (model.SourceEmbeddings, model.Summary!);
            run.ThrowIfCancelled();
            EmbeddingFiles.Save(table, output);
            var process = Process.GetCurrentProcess();
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Nodes:N0} nodes, {summary.StoredEdges:N0} stored edges read in {readTime.TotalSeconds:F2} s; {summary.Walks:N0} walks, {summary.Steps:N0} steps in {summary.WalkTime.TotalSeconds:F2} s ({summary.Steps / Math.Max(1e-9, summary.WalkTime.TotalSeconds) / 1e6:F2}M steps/s, {summary.Sampling}); " +
                $"skip-gram {summary.Training.TrainingTime.TotalSeconds:F2} s{PartitioningFlags.Describe(summary.Partitioned)}; total {watch.Elapsed.TotalSeconds:F2} s wall, {process.TotalProcessorTime.TotalSeconds:F1} CPU-s, peak resident memory {process.PeakWorkingSet64 / (1024.0 * 1024.0):F0} MiB"));
            return ExitCodes.Success;
        }

        private static ParquetColumn Column(CommandRun run, Option<string> option) => new(run.Get(option), run.Flag(option));
    }
}
