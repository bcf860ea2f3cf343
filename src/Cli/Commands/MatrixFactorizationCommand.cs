using System;
using System.Collections.Generic;
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
    /// <summary><c>embeddings mf</c>: matrix factorization of an interaction file; item (and user) factors as word2vec text.</summary>
    internal sealed class MatrixFactorizationCommand : CliCommand
    {
        private static readonly MatrixFactorizationEstimator.Options s_defaults = new();

        /// <summary>The command fits events as given unless asked (the recommendation pipeline's mf uses 3).</summary>
        private const double DefaultRecencyHalfLife = 0;

        private readonly Option<string> _input = CommonOptions.Input("--input", "'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped and reported, exact duplicate rows removed); explicit feedback needs the rating, or Parquet (a .parquet file or a folder of them; see the --*-column flags)");
        private readonly InteractionColumnOptions _columns = new();
        private readonly Option<bool> _implicit = CliOption.Switch("--implicit",
            "implicit feedback (weighted ALS; every row is one event of strength 1, repeated pairs summed); default: explicit ratings (SGD). " +
            "MovieLens 100K next-item (chosen on validation): --rank 64 --iterations 15 --alpha 5 --lambda 30 --recency-half-life 3");
        private readonly Option<double> _recencyHalfLife = CliOption.Double("--recency-half-life",
            "implicit only: an event's strength is 1 + boost x 0.5^(age / X), age = the user's later events (0: off, every event 1)").Default(DefaultRecencyHalfLife).AtLeast(0);
        private readonly Option<double> _recencyBoost = CliOption.Double("--recency-boost", "the extra strength of the user's latest event").Default(new ImplicitMatrixFactorization().RecencyBoost)
            .Check(v => v >= 0 && v <= 1e6, "must be from 0 to 1e6 (a strength of 1 + boost)");
        private readonly Option<int> _rank = CliOption.Int("--rank", "number of latent factors").Default(MatrixFactorizationEstimator.Defaults.ApproximationRank).Between(1, 1024);
        private readonly Option<int> _iterations = CliOption.Int("--iterations", "passes over the ratings").Default(MatrixFactorizationEstimator.Defaults.NumberOfIterations).AtLeast(1);
        private readonly Option<double> _lambda = CliOption.Double("--lambda", "L2 regularisation").Default(MatrixFactorizationEstimator.Defaults.Lambda).AtLeast(0, exclusive: true);
        private readonly Option<double> _learningRate = CliOption.Double("--learning-rate", "SGD learning rate (explicit only)").Default(MatrixFactorizationEstimator.Defaults.LearningRate).AtLeast(0, exclusive: true);
        private readonly Option<double> _alpha = CliOption.Double("--alpha", "confidence 1 + alpha x strength (implicit only)").Default(MatrixFactorizationEstimator.Defaults.Alpha).AtLeast(0);
        private readonly Option<bool> _nonNegative = CliOption.Switch("--non-negative", "non-negative factors (explicit only)");
        private readonly Option<int> _coldStart = CliOption.Int("--cold-start-item-max-ratings",
            "explicit only: an item without training ratings scores mean + user bias + the mean bias of the items with at most K training ratings (0: mean + user bias)")
            .Default(s_defaults.ColdStartItemMaxRatings).AtLeast(0);
        private readonly Option<int?> _threads = CommonOptions.Threads();
        private readonly Option<int> _seed = CommonOptions.Seed();
        private readonly Option<int> _excludeLast = CommonOptions.ExcludeLast(
            "drop each user's last N interactions (by timestamp, then item id) and evaluate on them: implicit: leave-last-out HR@10 / NDCG@10 " +
            "on the N-th last (N = 1: test, N = 2: validation target); explicit: RMSE on the dropped ratings");
        private readonly Option<string> _test = CliOption.File("--test",
            "explicit only: RMSE on the ratings of FILE (same format; e.g. the ML.NET sample's recommendation-ratings-test.csv; rows with a NaN rating " +
            "are left out); unseen users or items score mean + the known bias (+ the prior of --cold-start-item-max-ratings)");
        private readonly Option<string> _warmStart = CliOption.File("--warm-start", "initial item factors from a word2vec-format or .parquet file (e.g. item2vec vectors; projected when the dimension differs)");
        private readonly Option<string> _output = CommonOptions.Output("--output", "item factors, word2vec text format (Parquet when FILE ends in .parquet: key, vector columns)");
        private readonly Option<string> _userOutput = CliOption.File("--user-output", "user factors, word2vec text format (Parquet when FILE ends in .parquet)");

        public MatrixFactorizationCommand()
            : base("mf", "Matrix factorization (explicit SGD or implicit ALS) of an interaction file -> item and user factors.")
        {
            Add(_input);
            Add(_columns.All);
            Add(_implicit, _recencyHalfLife, _recencyBoost, _rank, _iterations, _lambda, _learningRate, _alpha, _nonNegative, _coldStart,
                _threads, _seed, _excludeLast, _test, _warmStart, _output, _userOutput);
            Speak("ApproximationRank", _rank);
            Speak("NumberOfIterations", _iterations);
            Speak("Lambda", _lambda);
            Speak("LearningRate", _learningRate);
            Speak("Alpha", _alpha);
            Speak("ColdStartItemMaxRatings", _coldStart);
            Speak("NumberOfThreads", _threads);
            Command.Validators.Add(result =>
            {
                // A flag of the other kind of feedback is refused unless it holds its default (as the library does).
                bool implicitFeedback = result.ValueOf(_implicit);
                bool Given(Option option) => result.GetResult(option) is { Implicit: false };
                bool Changed<T>(Option<T> option) => Given(option) && !Equals(result.ValueOf(option), option.GetDefaultValue());
                if (implicitFeedback)
                {
                    if (Given(_test))
                        result.AddError("--test applies to explicit ratings (RMSE); for --implicit use --exclude-last 1 (leave-last-out HR@10 / NDCG@10).");
                    foreach (var (option, changed) in new (Option, bool)[] { (_learningRate, Changed(_learningRate)), (_nonNegative, Changed(_nonNegative)), (_coldStart, Changed(_coldStart)) })
                    {
                        if (changed)
                            result.AddError($"{option.Name} applies to explicit ratings only; leave it out with --implicit.");
                    }
                }
                else
                {
                    if (Given(_recencyHalfLife))
                        result.AddError("--recency-half-life applies to --implicit only (explicit ratings are fitted as given).");
                    if (Changed(_alpha))
                        result.AddError("--alpha applies to --implicit only (explicit ratings are fitted as given).");
                }
            });
        }

        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        protected override int Run(CommandRun run)
        {
            var watch = Stopwatch.StartNew();
            string input = run.InputFileOrParquetFolder(_input);
            var columns = _columns.Read(run, input, _input);
            string? testPath = run.Given(_test) ? run.InputFileOrParquetFolder(_test) : null;
            string? warmStart = run.Given(_warmStart) ? run.InputFileOrParquetFolder(_warmStart) : null;
            string output = run.OutputFile(_output);
            string? userOutput = run.OptionalOutputFile(_userOutput);
            int excludeLast = run.Get(_excludeLast);
            bool implicitFeedback = run.Get(_implicit);
            var testRows = testPath is null ? null : Read(testPath, needRatings: true, run.Error, columns, run.Flag(_test)).Select(r => r.Row).Where(r => !float.IsNaN(r.Label)).ToList();
            var options = new MatrixFactorizationEstimator.Options
            {
                MatrixColumnIndexColumnName = "UserKey",
                MatrixRowIndexColumnName = "ItemKey",
                LabelColumnName = "Label",
                LossFunction = implicitFeedback ? MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass : MatrixFactorizationEstimator.LossFunctionType.SquareLossRegression,
                ApproximationRank = run.Get(_rank),
                NumberOfIterations = run.Get(_iterations),
                Lambda = run.Get(_lambda),
                LearningRate = run.Get(_learningRate),
                Alpha = run.Get(_alpha),
                NonNegative = run.Get(_nonNegative),
                ColdStartItemMaxRatings = run.Get(_coldStart),
                NumberOfThreads = run.Get(_threads),
                Seed = run.Get(_seed),
                InitialItemFactors = warmStart is null ? null : EmbeddingFiles.Load(warmStart),
            };

            var rows = Read(input, needRatings: !implicitFeedback, run.Error, columns, run.Flag(_input));
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
            if (kept.Count == 0)
                throw new InvalidOperationException($"{run.Flag(_excludeLast)} {excludeLast} leaves no interaction to train on; use a smaller {run.Flag(_excludeLast)}.");
            double halfLife = run.Get(_recencyHalfLife), boost = run.Get(_recencyBoost);
            if (implicitFeedback)
            {
                foreach (var row in kept)
                    row.Label = ImplicitMatrixFactorization.RecencyWeight(age[row], halfLife, boost);
            }
            double readSeconds = watch.Elapsed.TotalSeconds;
            run.ThrowIfCancelled();
            var ml = run.NewContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(kept);
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(data).Transform(data);
            var fitWatch = Stopwatch.StartNew();
            var model = ml.Embeddings().MatrixFactorization(options).Fit(keyed);
            double fitSeconds = fitWatch.Elapsed.TotalSeconds;
            run.ThrowIfCancelled();
            EmbeddingFiles.Save(model.ItemFactors, output);
            if (userOutput is not null)
                EmbeddingFiles.Save(model.UserFactors, userOutput);
            var summary = model.TrainingSummary!;
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{summary.Users:N0} users, {summary.Items:N0} items, {summary.Ratings:N0} {(implicitFeedback ? "events" : "ratings")}, rank {options.ApproximationRank}, {options.NumberOfIterations} iterations: read {readSeconds:F2} s, fit {fitSeconds:F2} s{(implicitFeedback ? "" : $", training RMSE {summary.TrainingRmse:F4}")}; wrote {output}{(userOutput is null ? "" : " and " + userOutput)}"));
            if (excludeLast > 0)
                Evaluate(run.Out, model, rows.Select(r => new Interaction(r.Row.User, r.Row.Item, r.Time)), dropped, excludeLast, implicitFeedback);
            if (testRows is not null)
            {
                var trainedUsers = kept.Select(r => r.User).ToHashSet();
                var trainedItems = kept.Select(r => r.Item).ToHashSet();
                int unseen = testRows.Count(r => !trainedUsers.Contains(r.User) || !trainedItems.Contains(r.Item));
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"RMSE on {testPath} ({testRows.Count:N0} ratings, {unseen:N0} of them with a user or item not in training): {Rmse(model, testRows):F4}"));
            }
            return ExitCodes.Success;
        }

        private static double Rmse(MatrixFactorizationTransformer model, List<Row> rows) =>
            Math.Sqrt(rows.Sum(r => Math.Pow(model.Score(r.User, r.Item) - r.Label, 2)) / Math.Max(1, rows.Count));

        private static void Evaluate(TextWriter output, MatrixFactorizationTransformer model, IEnumerable<Interaction> all, List<Row> dropped, int excludeLast, bool implicitFeedback)
        {
            if (!implicitFeedback)
            {
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RMSE on the {dropped.Count:N0} dropped ratings: {Rmse(model, dropped):F4}"));
                return;
            }
            if (excludeLast > 2)
            {
                output.WriteLine("(leave-last-out evaluation needs --exclude-last 1 (test) or 2 (validation))");
                return;
            }
            var split = LeaveLastOutSplit.Create(all);
            var target = excludeLast == 1 ? RankingTarget.Test : RankingTarget.Validation;
            var metrics = LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.DotProduct(split, model.UserFactors, model.ItemFactors));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"leave-last-out ({target}, {metrics.Users} users, full ranking): HR@10 {metrics.HitRate:F4} NDCG@10 {metrics.Ndcg:F4}"));
        }

        /// <summary>The rows of an interaction file (<see cref="InteractionFile"/>) with their timestamps; explicit feedback needs the rating column.</summary>
        private static List<(Row Row, long Time)> Read(string path, bool needRatings, TextWriter log, InteractionColumns columns, string flag)
        {
            var data = InteractionFile.Read(path, log, columns);
            string or = flag == "--input" ? ", or use --implicit" : "";
            if (needRatings && !data.HasRatings && ParquetInput.IsParquet(path))
                throw new FormatException($"{path}: the file has no rating column {columns.Rating}; explicit matrix factorization needs ratings in {flag}. Name the rating column with {columns.Rating.Flag}{or}.");
            if (needRatings && !data.HasRatings)
                throw new FormatException($"{path}: the rows have 3 fields (user item timestamp) and no rating; explicit matrix factorization needs 'user item rating timestamp' rows in {flag}. Add a rating column{or}.");
            return data.Rows.Select(r => (new Row { User = r.User, Item = r.Item, Label = r.Rating }, r.Timestamp)).ToList();
        }
    }
}
