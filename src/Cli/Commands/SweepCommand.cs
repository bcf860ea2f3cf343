using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings sweep</c>: AutoML-style search over the recommendation pipeline under a time budget.</summary>
    internal static class SweepCommand
    {
        private const string Help = """
            usage: embeddings sweep --input INTERACTIONS [--budget-minutes 20] [--leaderboard sweep-leaderboard.csv] [--model best-recommender.zip] [options]
              --input FILE          'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped)
              --budget-minutes X    wall-clock budget of the whole sweep, final test evaluation and model fit included (20)
              --trials N            at most N trials (1000)
              --leaderboard FILE    the leaderboard as CSV (sweep-leaderboard.csv)
              --model FILE          the best pipeline, fitted on all interactions, saved as an ML.NET model (best-recommender.zip)
              --seed N (1) --threads N (all cores)
            Trial 1 is the hand-set configuration (recommend-eval's defaults); the others vary item2vec (dimension, window,
            negative exponent, epochs, subsampling), node2vec p and q, and the ranker (leaves, trees, minimum leaf, learning rate).
            Trials are chosen by validation NDCG@10; test figures are measured once, for the chosen and the hand-set configuration.
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("sweep", args, new[] { "--input", "--budget-minutes", "--trials", "--leaderboard", "--model", "--seed", "--threads" }, Array.Empty<string>());
            var total = System.Diagnostics.Stopwatch.StartNew();
            string input = line.Required("--input");
            string leaderboard = line.Optional("--leaderboard") ?? "sweep-leaderboard.csv";
            string modelPath = line.Optional("--model") ?? "best-recommender.zip";
            double minutes = line.Double("--budget-minutes", 20);
            var options = new RecommendationSweepOptions
            {
                Budget = TimeSpan.FromMinutes(minutes),
                MaximumTrials = line.Int("--trials", 1000),
                Seed = line.Int("--seed", 1),
                NumberOfThreads = line.Has("--threads") ? line.Int("--threads", 1) : null,
                Baseline = new RankingRecommenderOptions { UserColumnName = "User", ItemColumnName = "Item" },
            };
            options.Validate();
            var split = InteractionFile.ReadSplit(input);
            Console.Error.WriteLine($"{input}: {split.Users.Count:N0} users with targets, {split.Items.Count:N0} items; budget {minutes:F1} min");

            var progress = new SynchronousProgress<RecommendationSweepProgress>(p =>
            {
                double fraction = Math.Min(1, p.Elapsed.TotalSeconds / p.Budget.TotalSeconds);
                int filled = (int)Math.Round(fraction * 30);
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"[{new string('#', filled)}{new string('.', 30 - filled)}] {p.Elapsed.TotalMinutes,5:F1}/{p.Budget.TotalMinutes:F0} min  trial {p.Trial.Number,3}: NDCG@10 {p.Trial.Validation.Ndcg:F4} HR@10 {p.Trial.Validation.HitRate:F4} ({p.Trial.Seconds:F0} s)  best: trial {p.Best.Number} {p.Best.Validation.Ndcg:F4}"));
            });
            var result = RecommendationSweep.Run(split, options, progress);
            result.WriteLeaderboard(leaderboard);

            var names = result.Trials[0].Parameters.Keys.ToArray();
            Console.WriteLine();
            Console.WriteLine($"{"rank",4} {"trial",5} " + string.Join(" ", names.Select(n => $"{n,9}")) + $" {"val HR@10",9} {"val NDCG",9}");
            int rank = 0;
            foreach (var t in result.Trials.Take(10))
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{++rank,4} {t.Number,5} ") + string.Join(" ", names.Select(n => $"{t.Parameters[n],9}"))
                    + string.Create(CultureInfo.InvariantCulture, $" {t.Validation.HitRate,9:F4} {t.Validation.Ndcg,9:F4}"));
            Console.WriteLine($"... {result.Trials.Count} trials; leaderboard written to {Path.GetFullPath(leaderboard)}");
            var baseline = result.Trials.Single(t => t.Number == 1);
            Console.WriteLine();
            Console.WriteLine($"{"configuration",-22} {"val HR@10",9} {"val NDCG",9} {"test HR@10",10} {"test NDCG",10}");
            Console.WriteLine(Row($"best (trial {result.Best.Number})", result.Best.Validation, result.BestTest.Models["ranker"]));
            Console.WriteLine(Row("hand-set (trial 1)", baseline.Validation, result.BaselineTest.Models["ranker"]));

            // The chosen pipeline, fitted on every interaction, as one ML.NET model.
            var ml = new MLContext(options.Seed);
            var rows = split.AllUsers.SelectMany(user => split.Interactions(user).Zip(split.InteractionTimes(user), (item, time) => new InteractionRow { User = user, Item = item, Timestamp = time }));
            var data = ml.Data.LoadFromEnumerable(rows);
            var chosen = result.Best.Options.Clone();
            chosen.TimestampColumnName = nameof(InteractionRow.Timestamp);
            var model = ml.Embeddings().RankingRecommender(chosen).Fit(data);
            Infrastructure.AtomicFile.Write(modelPath, stream => ml.Model.Save(model, data.Schema, stream));
            Console.WriteLine($"best pipeline fitted on all {split.AllUsers.Count():N0} users' interactions and saved to {Path.GetFullPath(modelPath)}; search and test evaluation {result.Seconds / 60:F1} min, everything {total.Elapsed.TotalMinutes:F1} min");
            return 0;
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
