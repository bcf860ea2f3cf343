using System;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings fit-recommender</c>: trains the ranking recommender on an interaction file and saves it as one ML.NET model.</summary>
    internal sealed class FitRecommenderCommand : CliCommand
    {
        private static readonly RankingRecommenderOptions s_defaults = new();

        private readonly Option<string> _input = CommonOptions.Input("--input", "'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped and reported, exact duplicate rows removed), or Parquet (a .parquet file or a folder of them; see the --*-column flags)");
        private readonly InteractionColumnOptions _columns = new();
        private readonly Option<string> _output = CommonOptions.Output("--output", "the recommender, saved as an ML.NET model (mlContext.Model.Load gives back a RankingRecommenderTransformer)");
        private readonly Option<int> _excludeLast = CommonOptions.ExcludeLast("hold out each user's last N interactions (by timestamp, then item id), so that recommendations can be scored against the leave-last-out targets");
        private readonly Option<int> _dimensions = CliOption.Int("--dimensions", "item2vec vector size").Default(s_defaults.Item2Vec.EmbeddingDimension).Between(1, 100_000);
        private readonly Option<int> _epochs = CliOption.Int("--epochs", "item2vec epochs").Default(s_defaults.Item2Vec.Epochs).AtLeast(1);
        private readonly Option<bool> _noGraph = CliOption.Switch("--no-graph", "leave node2vec out");
        private readonly Option<Named<RankerKind>> _ranker = CliOption.Choice("--ranker", "the ML.NET ranker",
            new[] { ("lightgbm", RankerKind.LightGbm), ("fasttree", RankerKind.FastTree) }, s_defaults.Ranker);
        private readonly Option<int> _candidates = CliOption.Int("--candidates", "candidates per user re-ranked by the ranker").Default(s_defaults.CandidateCount).Between(10, 100_000);
        private readonly Option<int> _leaves = CliOption.Int("--leaves", "ranker leaves per tree").Default(s_defaults.NumberOfLeaves).Between(2, 1024);
        private readonly Option<int> _trees = CliOption.Int("--trees", "ranker trees").Default(s_defaults.NumberOfTrees).Between(1, 10_000);
        private readonly Option<int> _minLeaf = CliOption.Int("--min-leaf", "ranker minimum candidates per leaf").Default(s_defaults.MinimumExampleCountPerLeaf).AtLeast(1);
        private readonly Option<int> _periods = CliOption.Int("--periods",
            "the ranker learns from each user's next interaction and the N - 1 before it, one feature fit each").Default(s_defaults.RankerTrainingPeriods).Between(1, 20);
        private readonly Option<string> _movieLensInfo = CliOption.File("--movielens-info",
            "a MovieLens 100K folder whose u.user, u.item and u.genre give the ranker side features (age bucket, gender, occupation; genres, release year) and genre-affinity features");
        private readonly Option<int?> _threads = CommonOptions.Threads();
        private readonly Option<int> _seed = CommonOptions.Seed();

        public FitRecommenderCommand()
            : base("fit-recommender", "Train the ranking recommender (item2vec, node2vec, blend recall, LightGBM ranker) on an interaction file and save it.",
                "The input conventions are recommend-eval's. With --exclude-last 1, 'recommend' output can be scored against each user's held-out last interaction.")
        {
            Add(_input);
            Add(_columns.All);
            Add(_output, _excludeLast, _dimensions, _epochs, _noGraph, _ranker, _candidates, _leaves, _trees, _minLeaf, _periods, _movieLensInfo, _threads, _seed);
            Speak("MinimumExampleCountPerLeaf", _minLeaf);
        }

        protected override int Run(CommandRun run)
        {
            var watch = Stopwatch.StartNew();
            string input = run.InputFileOrParquetFolder(_input);
            var columns = _columns.Read(run, input, _input);
            string output = run.OutputFile(_output);
            int excludeLast = run.Get(_excludeLast);
            var options = new RankingRecommenderOptions
            {
                UserColumnName = nameof(Row.User),
                ItemColumnName = nameof(Row.Item),
                TimestampColumnName = nameof(Row.Timestamp),
                CandidateCount = run.Get(_candidates),
                RankerTrainingPeriods = run.Get(_periods),
                Ranker = run.Get(_ranker).Value,
                NumberOfLeaves = run.Get(_leaves),
                NumberOfTrees = run.Get(_trees),
                MinimumExampleCountPerLeaf = run.Get(_minLeaf),
                NumberOfThreads = run.Get(_threads),
                Seed = run.Get(_seed),
            };
            options.Item2Vec.EmbeddingDimension = run.Get(_dimensions);
            options.Item2Vec.Epochs = run.Get(_epochs);
            options.Item2Vec.CancellationToken = run.Cancellation;
            options.ItemGraph.Enabled = !run.Get(_noGraph);
            if (run.OptionalInputDirectory(_movieLensInfo) is { } folder)
                (options.UserSideInformation, options.ItemSideInformation) = MovieLensSideInformation.Read(run.NewContext(1), folder, options.UserColumnName, options.ItemColumnName);
            options.Validate();

            var split = InteractionFile.ReadSplit(input, run.Error, columns);
            var users = split.AllUsers.ToList();
            int longest = users.Max(user => split.Interactions(user).Count);
            int needed = excludeLast + options.RankerTrainingPeriods + 2;
            if (longest < needed)
                throw new UsageException(string.Create(CultureInfo.InvariantCulture,
                    $"{run.Flag(_excludeLast)} {excludeLast} with {run.Flag(_periods)} {options.RankerTrainingPeriods} needs a user with {needed} or more interactions ({excludeLast} held out, {options.RankerTrainingPeriods} ranker label(s) and 2 before them); the longest history in {input} has {longest}. Use a smaller {run.Flag(_excludeLast)} or {run.Flag(_periods)}."));
            var rows = users.SelectMany(user =>
            {
                var items = split.Interactions(user);
                var times = split.InteractionTimes(user);
                int keep = Math.Max(0, items.Count - excludeLast);
                return Enumerable.Range(0, keep).Select(i => new Row { User = user, Item = items[i], Timestamp = times[i] });
            }).ToList();
            run.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{input}: {users.Count:N0} users, {split.Items.Count:N0} items; training on {rows.Count:N0} interactions{(excludeLast > 0 ? $" (each user's last {excludeLast} held out)" : "")}"));
            var ml = run.NewContext(options.Seed);
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = ml.Embeddings().RankingRecommender(options).Fit(data);
            run.ThrowIfCancelled();
            Infrastructure.AtomicFile.Write(output, stream => ml.Model.Save(model, data.Schema, stream));
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"recommender of {model.Features.Users.Count:N0} users and {model.Features.Items.Count:N0} items saved to {Path.GetFullPath(output)} in {watch.Elapsed.TotalSeconds:F1} s"));
            return ExitCodes.Success;
        }

        private sealed class Row
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";

            public long Timestamp { get; set; }
        }
    }
}
