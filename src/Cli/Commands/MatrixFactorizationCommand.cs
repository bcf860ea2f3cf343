using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings mf</c>: matrix factorization of an interaction file; item (and user) factors as word2vec text.</summary>
    internal static class MatrixFactorizationCommand
    {
        private const string Help = """
            usage: embeddings mf --input INTERACTIONS --output ITEMS.txt [--user-output USERS.txt] [options]
              --input FILE          'user item rating timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped)
              --implicit            implicit feedback (weighted ALS; every row is one event of strength 1, repeated pairs summed); default: explicit ratings (SGD)
                                    MovieLens 100K next-item (chosen on validation): --rank 64 --iterations 15 --alpha 5 --lambda 30 --recency-half-life 3
              --recency-half-life X implicit only: an event's strength is 1 + boost x 0.5^(age / X), age = the user's later events (0: off, every event 1)
              --recency-boost X     (4) the extra strength of the user's latest event
              --rank N (8) --iterations N (20) --lambda X (0.1) --learning-rate X (0.1, explicit only) --alpha X (1, implicit only)
              --non-negative        non-negative factors (explicit only)
              --cold-start-item-max-ratings K  explicit only: an item without training ratings scores mean + user bias + the mean
                                    bias of the items with at most K training ratings (0, the default: mean + user bias)
              --threads N (all cores) --seed N (1)
              --exclude-last N      drop each user's last N interactions (by timestamp, then item id) and evaluate on them (0):
                                    implicit: leave-last-out HR@10 / NDCG@10 on the N-th last (N = 1: test, N = 2: validation target);
                                    explicit: RMSE on the dropped ratings
              --test FILE           explicit only: RMSE on the ratings of FILE (same format; e.g. the ML.NET sample's
                                    recommendation-ratings-test.csv; rows with a NaN rating are left out); unseen users or
                                    items score mean + the known bias (+ the prior of --cold-start-item-max-ratings)
              --warm-start FILE     initial item factors from a word2vec-format file (e.g. item2vec vectors; projected when the dimension differs)
              --output FILE         item factors, word2vec text format
              --user-output FILE    user factors, word2vec text format
            """;

        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("mf", args,
                new[] { "--input", "--output", "--user-output", "--rank", "--iterations", "--lambda", "--learning-rate", "--alpha", "--threads", "--seed", "--exclude-last", "--warm-start", "--recency-half-life", "--recency-boost", "--cold-start-item-max-ratings", "--test" },
                new[] { "--implicit", "--non-negative" });
            var watch = Stopwatch.StartNew();
            string input = line.Required("--input");
            string output = line.Required("--output");
            string? userOutput = line.Optional("--user-output");
            int excludeLast = line.Int("--exclude-last", 0);
            if (excludeLast < 0)
                throw new UsageException($"--exclude-last must be 0 or more; got {excludeLast}.");
            bool implicitFeedback = line.Has("--implicit");
            string? testPath = line.Optional("--test");
            if (testPath is not null && implicitFeedback)
                throw new UsageException("--test applies to explicit ratings (RMSE); for --implicit use --exclude-last 1 (leave-last-out HR@10 / NDCG@10).");
            var testRows = testPath is null ? null : Read(testPath).Select(r => r.Row).Where(r => !float.IsNaN(r.Label)).ToList();
            var defaults = new MatrixFactorizationEstimator.Options();
            var options = new MatrixFactorizationEstimator.Options
            {
                MatrixColumnIndexColumnName = "UserKey",
                MatrixRowIndexColumnName = "ItemKey",
                LabelColumnName = "Label",
                LossFunction = implicitFeedback ? MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass : MatrixFactorizationEstimator.LossFunctionType.SquareLossRegression,
                ApproximationRank = line.Int("--rank", defaults.ApproximationRank),
                NumberOfIterations = line.Int("--iterations", defaults.NumberOfIterations),
                Lambda = line.Double("--lambda", defaults.Lambda),
                LearningRate = line.Double("--learning-rate", defaults.LearningRate),
                Alpha = line.Double("--alpha", defaults.Alpha),
                NonNegative = line.Has("--non-negative"),
                ColdStartItemMaxRatings = line.Int("--cold-start-item-max-ratings", defaults.ColdStartItemMaxRatings),
                NumberOfThreads = line.Has("--threads") ? line.Int("--threads", 1) : null,
                Seed = line.Int("--seed", 1),
                InitialItemFactors = line.Optional("--warm-start") is string warm ? EmbeddingTable.LoadWord2VecFormat(warm) : null,
            };

            var rows = Read(input);
            // The last N rows of each user (by timestamp, then item id) are dropped; a kept row's age is the number of the
            // user's later kept rows. Kept rows stay in file order, so ids get their keys in order of first appearance in the
            // file, as MapValueToKey over the file itself would give (and the same factorization as that pipeline).
            var dropped = new List<Row>();
            var age = new Dictionary<Row, int>(ReferenceEqualityComparer.Instance);
            foreach (var group in rows.GroupBy(r => r.Row.User))
            {
                var ordered = group.OrderBy(r => r.Time).ThenBy(r => r.Row.Item, IdComparer.Instance).Select(r => r.Row).ToList();
                int keep = Math.Max(0, ordered.Count - excludeLast);
                for (int t = 0; t < keep; t++)
                    age[ordered[t]] = keep - 1 - t;
                dropped.AddRange(ordered.Skip(keep));
            }
            var kept = rows.Select(r => r.Row).Where(age.ContainsKey).ToList();
            double halfLife = line.Double("--recency-half-life", 0), boost = line.Double("--recency-boost", 4);
            if (!implicitFeedback && line.Has("--recency-half-life"))
                throw new UsageException("--recency-half-life applies to --implicit only (explicit ratings are fitted as given).");
            if (!(halfLife >= 0) || !(boost >= 0) || double.IsInfinity(halfLife) || double.IsInfinity(boost))
                throw new UsageException($"--recency-half-life ({halfLife}) and --recency-boost ({boost}) must be finite and 0 or more.");
            if (implicitFeedback)
            {
                foreach (var row in kept)
                    row.Label = ImplicitMatrixFactorization.RecencyWeight(age[row], halfLife, boost);
            }
            double readSeconds = watch.Elapsed.TotalSeconds;
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(kept);
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(data).Transform(data);
            var fitWatch = Stopwatch.StartNew();
            var model = ml.Embeddings().MatrixFactorization(options).Fit(keyed);
            double fitSeconds = fitWatch.Elapsed.TotalSeconds;
            model.ItemFactors.SaveWord2VecFormat(output);
            if (userOutput is not null)
                model.UserFactors.SaveWord2VecFormat(userOutput);
            var summary = model.TrainingSummary!;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Users:N0} users, {summary.Items:N0} items, {summary.Ratings:N0} {(implicitFeedback ? "events" : "ratings")}, rank {options.ApproximationRank}, {options.NumberOfIterations} iterations: read {readSeconds:F2} s, fit {fitSeconds:F2} s{(implicitFeedback ? "" : $", training RMSE {summary.TrainingRmse:F4}")}; wrote {output}{(userOutput is null ? "" : " and " + userOutput)}"));
            if (excludeLast > 0)
                Evaluate(model, rows.Select(r => new Interaction(r.Row.User, r.Row.Item, r.Time)), dropped, excludeLast, implicitFeedback);
            if (testRows is not null)
            {
                var trainedUsers = kept.Select(r => r.User).ToHashSet();
                var trainedItems = kept.Select(r => r.Item).ToHashSet();
                int unseen = testRows.Count(r => !trainedUsers.Contains(r.User) || !trainedItems.Contains(r.Item));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"RMSE on {testPath} ({testRows.Count:N0} ratings, {unseen:N0} of them with a user or item not in training): {Rmse(model, testRows):F4}"));
            }
            return 0;
        }

        private static double Rmse(MatrixFactorizationTransformer model, List<Row> rows) =>
            Math.Sqrt(rows.Sum(r => Math.Pow(model.Score(r.User, r.Item) - r.Label, 2)) / Math.Max(1, rows.Count));

        private static void Evaluate(MatrixFactorizationTransformer model, IEnumerable<Interaction> all, List<Row> dropped, int excludeLast, bool implicitFeedback)
        {
            if (!implicitFeedback)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RMSE on the {dropped.Count:N0} dropped ratings: {Rmse(model, dropped):F4}"));
                return;
            }
            if (excludeLast > 2)
            {
                Console.WriteLine("(leave-last-out evaluation needs --exclude-last 1 (test) or 2 (validation))");
                return;
            }
            var split = LeaveLastOutSplit.Create(all);
            var target = excludeLast == 1 ? RankingTarget.Test : RankingTarget.Validation;
            var metrics = LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.DotProduct(split, model.UserFactors, model.ItemFactors));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"leave-last-out ({target}, {metrics.Users} users, full ranking): HR@10 {metrics.HitRate:F4} NDCG@10 {metrics.Ndcg:F4}"));
        }

        private static List<(Row Row, long Time)> Read(string path)
        {
            var rows = new List<(Row, long)>();
            int number = 0;
            foreach (string text in File.ReadLines(path))
            {
                number++;
                if (text.Length == 0)
                    continue;
                var fields = text.Split(text.Contains('\t') ? '\t' : ',');
                if (fields.Length < 4 || !float.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out float rating)
                    || !long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out long time))
                {
                    if (number == 1)
                        continue; // a header
                    throw new FormatException($"{path}: line {number}: expected 'user item rating timestamp'; found '{text}'.");
                }
                rows.Add((new Row { User = fields[0], Item = fields[1], Label = rating }, time));
            }
            if (rows.Count == 0)
                throw new FormatException($"{path}: no interactions found; expected 'user item rating timestamp' rows.");
            return rows;
        }
    }
}
