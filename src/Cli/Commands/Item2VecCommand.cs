using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.Extensions.Hosting;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings item2vec</c>: item vectors (and context vectors) from an interaction file.</summary>
    internal sealed class Item2VecCommand : CliCommand
    {
        /// <summary>The item2vec defaults of the recommendation pipeline.</summary>
        private static readonly SkipGramEmbeddingEstimator.Options s_defaults = RecommendationFeaturesEstimator.Options.DefaultItem2Vec();

        private readonly Option<string> _input = CommonOptions.Input("--input", "'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped and reported, exact duplicate rows removed), or Parquet (a .parquet file or a folder of them; see the --*-column flags)");
        private readonly InteractionColumnOptions _columns = new();
        private readonly Option<int> _excludeLast = CommonOptions.ExcludeLast("drop each user's last N interactions (by timestamp, then item id), to match a leave-last-out split");
        private readonly Option<string> _output = CommonOptions.Output("--output", "item input vectors, word2vec text format (Parquet when FILE ends in .parquet: key, vector columns)");
        private readonly Option<string> _contextOutput = CliOption.File("--context-output", "item output (context) vectors, word2vec text format (Parquet when FILE ends in .parquet)");
        private readonly Option<int> _dimensions = CliOption.Int("--dimensions", "vector size").Default(s_defaults.EmbeddingDimension).Between(1, 100_000);
        private readonly Option<int> _window = CliOption.Int("--window", "context window").Default(s_defaults.WindowSize).AtLeast(1);
        private readonly Option<bool> _wholeSequence = CliOption.Switch("--whole-sequence", "every other item of the user's sequence is context (instead of a window)");
        private readonly Option<int> _epochs = CliOption.Int("--epochs", "passes over the data").Default(s_defaults.Epochs).AtLeast(1);
        private readonly Option<int> _negative = CliOption.Int("--negative", "negative samples per pair").Default(s_defaults.NegativeSampleCount).Between(1, 1000);
        private readonly Option<double> _sample = CliOption.Double("--sample", "frequent-item subsampling threshold (0 turns it off)").Default(s_defaults.SamplingThreshold).Threshold();
        private readonly Option<int> _minCount = CliOption.Int("--min-count", "items seen fewer times get no vector").Default(s_defaults.MinCount).AtLeast(1);
        private readonly Option<int?> _threads = CommonOptions.Threads();
        private readonly Option<int> _seed = CommonOptions.Seed();
        private readonly PartitioningFlags _partitioning = new();
        private readonly ClusterSubmitFlags? _cluster;

        /// <summary><c>embeddings item2vec</c>, or with <paramref name="cluster"/> <c>embeddings cluster submit item2vec</c> (the same flags, plus where the cluster is).</summary>
        public Item2VecCommand(bool cluster = false)
            : base("item2vec", cluster ? "item2vec on the cluster: the item2vec command's flags, plus where the cluster is and its partitions." : "Item (and context) vectors from a user-item interaction file.",
                cluster
                    ? "Each user's items, in time order, form one sequence. The submitter reads and counts them and stores them tokenised; the silos write each episode's pairs (a range of users, at most --pair-window episodes in the storage at once) and train them. Progress goes to standard error."
                    : "Each user's items, in time order, form one sequence.")
        {
            _cluster = cluster ? new ClusterSubmitFlags(graph: true, submitterPairs: false) : null;
            Add(_input);
            Add(_columns.All);
            Add(_excludeLast, _output, _contextOutput, _dimensions, _window, _wholeSequence, _epochs, _negative, _sample, _minCount, _threads, _seed);
            AddPartitioningOrCluster(_partitioning, _cluster);
            Speak("EmbeddingDimension", _dimensions);
            Speak("WindowSize", _window);
            Speak("Epochs", _epochs);
            Speak("NegativeSampleCount", _negative);
            Speak("SamplingThreshold", _sample);
            Speak("MinCount", _minCount);
            Speak("NumberOfThreads", _threads);
        }

        protected override int Run(CommandRun run)
        {
            var watch = Stopwatch.StartNew();
            string input = run.InputFileOrParquetFolder(_input);
            var columns = _columns.Read(run, input, _input);
            string output = run.OutputFile(_output);
            string? contextOutput = run.OptionalOutputFile(_contextOutput);
            int excludeLast = run.Get(_excludeLast);
            var options = new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "items",
                EmbeddingDimension = run.Get(_dimensions),
                WindowSize = run.Get(_window),
                WholeSequenceContext = run.Get(_wholeSequence),
                Epochs = run.Get(_epochs),
                NegativeSampleCount = run.Get(_negative),
                SamplingThreshold = run.Get(_sample),
                MinCount = run.Get(_minCount),
                NumberOfThreads = run.Get(_threads),
                KeepContextVectors = contextOutput is not null,
                CancellationToken = run.Cancellation,
                Partitioning = _cluster is null ? _partitioning.Read(run.Result) : null,
            };
            options.Seed = run.Get(_seed);
            var estimator = run.NewContext(options.Seed).Embeddings().SkipGram(options);

            var split = InteractionFile.ReadSplit(input, run.Error, columns);
            var sequences = split.AllUsers
                .Select(user => split.Interactions(user))
                .Select(items => items.Take(Math.Max(0, items.Count - excludeLast)).ToList())
                .ToList();
            if (excludeLast > 0 && sequences.All(s => s.Count == 0))
            {
                int longest = split.AllUsers.Max(user => split.Interactions(user).Count);
                throw new UsageException($"{run.Flag(_excludeLast)} {excludeLast} drops every interaction: the longest user history in {input} has {longest}. Use {run.Flag(_excludeLast)} {longest - 1} or less.");
            }
            if (excludeLast > 0 && sequences.All(items => items.Count < 2))
                throw new InvalidOperationException($"{run.Flag(_excludeLast)} {excludeLast} leaves no user with two interactions to train on; use a smaller {run.Flag(_excludeLast)}.");
            if (_cluster is not null)
                return RunOnCluster(run, options, split, excludeLast, output, contextOutput, watch);
            var model = estimator.Fit(sequences);
            var (embeddings, context, summary) = (model.Embeddings, model.ContextEmbeddings, model.TrainingSummary);
            run.ThrowIfCancelled();
            EmbeddingFiles.Save(embeddings, output);
            if (contextOutput is not null)
                EmbeddingFiles.Save(context!, contextOutput);
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sequences.Count:N0} users, {summary.VocabularySize:N0} items, {summary.CorpusTokens:N0} interactions x {summary.Epochs} epochs in {summary.TrainingTime.TotalSeconds:F2} s{PartitioningFlags.Describe(summary.Partitioned)}; total {watch.Elapsed.TotalSeconds:F2} s; wrote {output}{(contextOutput is null ? "" : " and " + contextOutput)}"));
            return ExitCodes.Success;
        }

        private sealed class Row
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";

            public float Time { get; set; }
        }

        /// <summary>Submits the sequences as an item2vec job, waits, writes the vectors.</summary>
        private int RunOnCluster(CommandRun run, SkipGramEmbeddingEstimator.Options skipGram, LeaveLastOutSplit split, int excludeLast, string output, string? contextOutput, Stopwatch watch)
        {
            var (storage, gateways, job) = _cluster!.ReadItem2Vec(run, output);
            skipGram.OutputColumnName = "Item2Vec";
            skipGram.CancellationToken = default;
            var options = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item", TimestampColumnName = "Time", SkipGram = skipGram };
            Embeddings.Cluster.Item2VecClusterJob.CheckSettings(options, job);
            var ml = run.NewContext(skipGram.Seed);
            // Positions are the time: the split holds each user's items in time order (ties by item id).
            var rows = split.AllUsers.SelectMany(user =>
            {
                var items = split.Interactions(user);
                return items.Take(Math.Max(0, items.Count - excludeLast)).Select((item, t) => new Row { User = user, Item = item, Time = t });
            });
            var data = ml.Data.LoadFromEnumerable(rows);
            using var client = ClusterSubmission.Connect(run, gateways);
            try
            {
                var grains = (Orleans.IClusterClient)client.Services.GetService(typeof(Orleans.IClusterClient))!;
                var store = new Embeddings.Cluster.Storage.DirectoryPartitionStore(storage);
                run.Error.WriteLine($"job '{job.JobId}': reading and storing the users' sequences in '{storage}'");
                var result = Embeddings.Cluster.Item2VecClusterJob.TrainAsync(grains, store, ml, data, options, job, new ClusterSubmission.ProgressLine(run.Error, watch), run.Cancellation)
                    .GetAwaiter().GetResult();
                run.ThrowIfCancelled();
                EmbeddingFiles.Save(result.Model.ItemEmbeddings, output);
                if (contextOutput is not null)
                    EmbeddingFiles.Save(result.Model.ContextEmbeddings!, contextOutput);
                var status = result.Status;
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job '{job.JobId}': {result.Model.UserEmbeddings.Count:N0} users, {result.Model.ItemEmbeddings.Count:N0} items, {status.DoneTasks:N0} pair tasks, {status.DoneBuckets:N0} buckets, {status.Pairs:N0} pairs, {status.ExpiredLeases} expired leases, mean loss {status.LossSum / Math.Max(1, status.Pairs):F4}; total {watch.Elapsed.TotalSeconds:F2} s wall; wrote {output}{(contextOutput is null ? "" : " and " + contextOutput)}"));
                return ExitCodes.Success;
            }
            finally
            {
                client.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            }
        }
    }
}
