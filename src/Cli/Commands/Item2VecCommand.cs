using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
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

        public Item2VecCommand()
            : base("item2vec", "Item (and context) vectors from a user-item interaction file.", "Each user's items, in time order, form one sequence.")
        {
            Add(_input);
            Add(_columns.All);
            Add(_excludeLast, _output, _contextOutput, _dimensions, _window, _wholeSequence, _epochs, _negative, _sample, _minCount, _threads, _seed);
            Add(_partitioning.All);
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
                Partitioning = _partitioning.Read(run.Result),
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
    }
}
