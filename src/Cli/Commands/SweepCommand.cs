using System;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings sweep</c>: AutoML-style search over the recommendation pipeline under a time budget.</summary>
    internal sealed class SweepCommand : CliCommand
    {
        private static readonly RecommendationSweepOptions s_defaults = new();

        private readonly Option<string> _input = CommonOptions.Input("--input", "'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped and reported, exact duplicate rows removed), or Parquet (a .parquet file or a folder of them; see the --*-column flags)");
        private readonly InteractionColumnOptions _columns = new();
        private readonly Option<double> _budgetMinutes = CliOption.Double("--budget-minutes", "wall-clock budget of the whole sweep, final test evaluation and model fit included")
            .Default(s_defaults.Budget.TotalMinutes).Check(v => v >= 1 && v <= 1_000_000, "must be from 1 to 1,000,000 minutes");
        private readonly Option<int> _trials = CliOption.Int("--trials", "at most N trials").Default(s_defaults.MaximumTrials).AtLeast(1);
        private readonly Option<string> _leaderboard = CliOption.File("--leaderboard", "the leaderboard as CSV").Default("sweep-leaderboard.csv");
        private readonly Option<string> _model = CliOption.File("--model", "the best pipeline, fitted on all interactions, saved as an ML.NET model").Default("best-recommender.zip");
        private readonly Option<int> _seed = CommonOptions.Seed().Default(s_defaults.Seed);
        private readonly Option<int?> _threads = CommonOptions.Threads();

        public SweepCommand()
            : base("sweep", "AutoML-style search over the recommendation pipeline under a time budget: leaderboard CSV, best model saved.", """
                Trial 1 is the hand-set configuration (recommend-eval's defaults); the others vary item2vec (dimension, window,
                negative exponent, epochs, subsampling), node2vec p and q, and the ranker (leaves, trees, minimum leaf, learning rate).
                Trials are chosen by validation NDCG@10; test figures are measured once, for the chosen and the hand-set configuration.
                """)
        {
            Add(_input);
            Add(_columns.All);
            Add(_budgetMinutes, _trials, _leaderboard, _model, _seed, _threads);
        }

        protected override int Run(CommandRun run)
        {
            var total = System.Diagnostics.Stopwatch.StartNew();
            string input = run.InputFileOrParquetFolder(_input);
            var columns = _columns.Read(run, input, _input);
            string leaderboard = run.OutputFile(_leaderboard);
            string modelPath = run.OutputFile(_model);
            double minutes = run.Get(_budgetMinutes);
            var options = new RecommendationSweepOptions
            {
                Budget = TimeSpan.FromMinutes(minutes),
                MaximumTrials = run.Get(_trials),
                Seed = run.Get(_seed),
                NumberOfThreads = run.Get(_threads),
                Baseline = new RankingRecommenderOptions { UserColumnName = "User", ItemColumnName = "Item" },
            };
            // Every trial copies the baseline's item2vec settings, and with them the cancellation of Ctrl+C.
            options.Baseline.Item2Vec.CancellationToken = run.Cancellation;
            options.Validate();
            var split = InteractionFile.ReadSplit(input, run.Error, columns);
            // As recommend-eval checks: 2 held out (validation, test), the ranker's label periods, and 2 interactions before them.
            int users = split.AllUsers.Count(), periods = options.Baseline.RankerTrainingPeriods;
            if (users < 2)
                throw new FormatException($"{input}: the interactions of {users} user; sweep needs 2 or more users (a user's candidates are the items of the other users that the user has not seen).");
            int longest = split.AllUsers.Max(user => split.Interactions(user).Count);
            if (longest < periods + 4)
                throw new FormatException($"{input}: the longest user history has {longest} interactions; sweep needs a user with {periods + 4} or more (2 held out for validation and test, {periods} ranker label periods and 2 before them to fit features on).");
            run.Error.WriteLine($"{input}: {split.Users.Count:N0} users with targets, {split.Items.Count:N0} items; budget {minutes:F1} min");

            var progress = new SynchronousProgress<RecommendationSweepProgress>(p =>
            {
                double fraction = Math.Min(1, p.Elapsed.TotalSeconds / p.Budget.TotalSeconds);
                int filled = (int)Math.Round(fraction * 30);
                run.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{new string('#', filled)}{new string('.', 30 - filled)}] {p.Elapsed.TotalMinutes,5:F1}/{p.Budget.TotalMinutes:F0} min  trial {p.Trial.Number,3}: NDCG@10 {p.Trial.Validation.Ndcg:F4} HR@10 {p.Trial.Validation.HitRate:F4} ({p.Trial.Seconds:F0} s)  best: trial {p.Best.Number} {p.Best.Validation.Ndcg:F4}"));
                run.ThrowIfCancelled();
            });
            var result = RecommendationSweep.Run(split, options, progress);

            // The chosen pipeline, fitted on every interaction, as one ML.NET model; fitted before anything is written, so
            // that Ctrl+C during the fit leaves neither the leaderboard nor the model.
            var ml = run.NewContext(options.Seed);
            var rows = split.AllUsers.SelectMany(user => split.Interactions(user).Zip(split.InteractionTimes(user), (item, time) => new InteractionRow { User = user, Item = item, Timestamp = time }));
            var data = ml.Data.LoadFromEnumerable(rows);
            var chosen = result.Best.Options.Clone();
            chosen.TimestampColumnName = nameof(InteractionRow.Timestamp);
            var model = ml.Embeddings().RankingRecommender(chosen).Fit(data);
            run.ThrowIfCancelled();
            result.WriteLeaderboard(leaderboard);
            Infrastructure.AtomicFile.Write(modelPath, stream => ml.Model.Save(model, data.Schema, stream));

            var names = result.Trials[0].Parameters.Keys.ToArray();
            run.Out.WriteLine();
            run.Out.WriteLine($"{"rank",4} {"trial",5} " + string.Join(" ", names.Select(n => $"{n,9}")) + $" {"val HR@10",9} {"val NDCG",9}");
            int rank = 0;
            foreach (var t in result.Trials.Take(10))
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{++rank,4} {t.Number,5} ") + string.Join(" ", names.Select(n => $"{t.Parameters[n],9}"))
                    + string.Create(CultureInfo.InvariantCulture, $" {t.Validation.HitRate,9:F4} {t.Validation.Ndcg,9:F4}"));
            run.Out.WriteLine($"... {result.Trials.Count} trials; leaderboard written to {Path.GetFullPath(leaderboard)}");
            var baseline = result.Trials.Single(t => t.Number == 1);
            run.Out.WriteLine();
            run.Out.WriteLine($"{"configuration",-22} {"val HR@10",9} {"val NDCG",9} {"test HR@10",10} {"test NDCG",10}");
            run.Out.WriteLine(Row($"best (trial {result.Best.Number})", result.Best.Validation, result.BestTest.Models["ranker"]));
            run.Out.WriteLine(Row("hand-set (trial 1)", baseline.Validation, result.BaselineTest.Models["ranker"]));
            run.Out.WriteLine($"best pipeline fitted on all {split.AllUsers.Count():N0} users' interactions and saved to {Path.GetFullPath(modelPath)}; search and test evaluation {result.Seconds / 60:F1} min, everything {total.Elapsed.TotalMinutes:F1} min");
            return ExitCodes.Success;
        }

        private static string Row(string name, LeaveLastOutMetrics validation, LeaveLastOutMetrics test) =>
            string.Create(CultureInfo.InvariantCulture, $"{name,-22} {validation.HitRate,9:F4} {validation.Ndcg,9:F4} {test.HitRate,10:F4} {test.Ndcg,10:F4}");

        private sealed class InteractionRow
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public long Timestamp { get; set; }
        }

        /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool and reorder lines).</summary>
        private sealed class SynchronousProgress<T> : IProgress<T>
        {
            private readonly Action<T> _report;

            public SynchronousProgress(Action<T> report) => _report = report;

            public void Report(T value) => _report(value);
        }
    }
}
