using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.MatrixFactorization;
using Embeddings.Recommendation;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The matrix factorization figures of the README (protocols: docs/evaluation-protocols.md):
    /// 1. explicit: RMSE on the ML.NET tutorial's ml-latest-small train/test files, and on a random 10% holdout of train;
    /// 2. implicit: ml-100k leave-last-out full ranking, HR@10 / NDCG@10 on validation and test,
    ///    per iteration from random and from item2vec initialisation;
    /// 3. speed: implicit ALS on ml-100k, rank 64, 15 iterations, 2 threads.
    /// Options: --section explicit|implicit|speed|sweep|grid|explicit-cv (default explicit, implicit, speed) --rank 64 --alpha 5
    /// --lambda 30 --iterations 15 --recency-half-life 3 --recency-boost 4 --seeds 1 (explicit and implicit sections; half-life 0: every event 1;
    /// seed s trains item2vec and seeds the random init; curves are means over seeds); grid: --grid "alpha:lambda,..." --seeds N [--validation-only 1]; explicit-cv:
    /// --grid "rank:lambda:iterations[:learningRate],..." --folds 5; cold-start-cv: --rank 100 --lambda 0.1 --iterations 40
    /// --learning-rate 0.05 --folds 5.
    /// </summary>
    internal static class MatrixFactorizationBenchmark
    {
        private static readonly string s_shared = Path.Combine("..", "shared", "data", "movielens");

        public static void Run(string[] args)
        {
            string section = Options.String(args, "--section") ?? "all";
            if (section is "all" or "explicit")
                Explicit(args);
            if (section is "sweep")
                Sweep(args);
            if (section is "grid")
                Grid(args);
            if (section is "explicit-cv")
                ExplicitCrossValidation(args);
            if (section is "cold-start-cv")
                ColdStartCrossValidation(args);
            if (section is "all" or "implicit")
                Implicit(args);
            if (section is "all" or "speed")
                Speed(args);
        }

        private sealed class Rating
        {
            [LoadColumn(0)]
            public float userId { get; set; }

            [LoadColumn(1)]
            public float movieId { get; set; }

            [LoadColumn(2)]
            public float Label { get; set; }
        }

        private static void Explicit(string[] args)
        {
            if (TutorialFiles() is not (string trainPath, string testPath))
                return;
            var ml = new MLContext(seed: 1);
            var train = ml.Data.LoadFromTextFile<Rating>(trainPath, hasHeader: true, separatorChar: ',');
            var test = ml.Data.LoadFromTextFile<Rating>(testPath, hasHeader: true, separatorChar: ',');
            var holdout = ml.Data.TrainTestSplit(train, testFraction: 0.1, seed: 1);
            int seeds = Options.Int(args, "--seeds", 1);
            Console.WriteLine($"== explicit ratings, ml-latest-small (ML.NET tutorial files): RMSE, seeds 1-{seeds} ==");
            Console.WriteLine($"{"settings",-44} {"test (19 rows): mean [min, max]",32} {"holdout 10%",12} {"fit s",7}  test per seed");
            // (400, 0.1, 40, 0.05): the best of the explicit-cv section's 16-setting grid by 5-fold CV RMSE on the train file
            // (CV 0.8505; rank 300: 0.8506, rank 200: 0.8514, rank 100: 0.8527-0.8581; the grid is in the README).
            foreach (var (rank, lambda, iterations, learningRate) in new[] { (8, 0.1, 20, 0.1), (100, 0.1, 20, 0.1), (100, 0.1, 40, 0.05), (400, 0.1, 40, 0.05) })
            {
                var testRmse = new List<double>();
                double seconds = 0;
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var watch = Stopwatch.StartNew();
                    var model = ExplicitPipeline(ml, rank, lambda, iterations, learningRate, seed: seed).Fit(train);
                    seconds += watch.Elapsed.TotalSeconds;
                    testRmse.Add(ml.Regression.Evaluate(model.Transform(test), "Label", "Score").RootMeanSquaredError);
                }
                var holdoutModel = ExplicitPipeline(ml, rank, lambda, iterations, learningRate).Fit(holdout.TrainSet);
                double holdoutRmse = ml.Regression.Evaluate(holdoutModel.Transform(holdout.TestSet), "Label", "Score").RootMeanSquaredError;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{$"rank {rank}, lambda {lambda}, lr {learningRate}, {iterations} iterations",-44} {$"{testRmse.Average():F4} [{testRmse.Min():F4}, {testRmse.Max():F4}]",32} {holdoutRmse,12:F4} {seconds / seeds,7:F2}  {string.Join(" ", testRmse.Select(r => r.ToString("F4", CultureInfo.InvariantCulture)))}"));
            }
        }

        /// <summary>The tutorial's pipeline: userId and movieId mapped to keys, then explicit matrix factorization (2 threads).</summary>
        private static EstimatorChain<MatrixFactorizationTransformer> ExplicitPipeline(MLContext ml, int rank, double lambda, int iterations, double learningRate, int coldStartItemMaxRatings = 0, int seed = 1) =>
            ml.Transforms.Conversion.MapValueToKey("userIdEncoded", "userId")
                .Append(ml.Transforms.Conversion.MapValueToKey("movieIdEncoded", "movieId"))
                .Append(ml.Embeddings().MatrixFactorization(new MatrixFactorizationEstimator.Options
                {
                    LabelColumnName = "Label",
                    MatrixColumnIndexColumnName = "userIdEncoded",
                    MatrixRowIndexColumnName = "movieIdEncoded",
                    ApproximationRank = rank,
                    Lambda = lambda,
                    LearningRate = learningRate,
                    NumberOfIterations = iterations,
                    NumberOfThreads = 2,
                    Seed = seed,
                    ColdStartItemMaxRatings = coldStartItemMaxRatings,
                }));

        /// <summary>
        /// Model selection for the explicit loss on the TRAIN file only: 5-fold cross-validated RMSE (folds by
        /// MLContext.Data.CrossValidationSplit, seed 1) for each "rank:lambda:iterations[:learningRate]" of --grid; then the
        /// 19-row test RMSE of a model fitted on the whole train file with each setting, printed for the report only.
        /// </summary>
        private static void ExplicitCrossValidation(string[] args)
        {
            if (TutorialFiles() is not (string trainPath, string testPath))
                return;
            var ml = new MLContext(seed: 1);
            var train = ml.Data.Cache(ml.Data.LoadFromTextFile<Rating>(trainPath, hasHeader: true, separatorChar: ','));
            var test = ml.Data.LoadFromTextFile<Rating>(testPath, hasHeader: true, separatorChar: ',');
            int foldCount = Options.Int(args, "--folds", 5);
            var folds = ml.Data.CrossValidationSplit(train, numberOfFolds: foldCount, seed: 1);
            var settings = (Options.String(args, "--grid") ?? "100:0.1:20").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split(':')).ToArray();
            Console.WriteLine($"== explicit, ml-latest-small train file: {foldCount}-fold CV RMSE (selection) and test RMSE (19 rows, report only) ==");
            foreach (var p in settings)
            {
                int rank = int.Parse(p[0], CultureInfo.InvariantCulture);
                double lambda = double.Parse(p[1], CultureInfo.InvariantCulture);
                int iterations = int.Parse(p[2], CultureInfo.InvariantCulture);
                double learningRate = p.Length > 3 ? double.Parse(p[3], CultureInfo.InvariantCulture) : 0.1;
                IEstimator<ITransformer> Pipeline() => ExplicitPipeline(ml, rank, lambda, iterations, learningRate);
                var foldRmse = new List<double>();
                foreach (var fold in folds)
                {
                    var model = Pipeline().Fit(fold.TrainSet);
                    foldRmse.Add(ml.Regression.Evaluate(model.Transform(fold.TestSet), "Label", "Score").RootMeanSquaredError);
                }
                var watch = Stopwatch.StartNew();
                var full = Pipeline().Fit(train);
                double seconds = watch.Elapsed.TotalSeconds;
                double testRmse = ml.Regression.Evaluate(full.Transform(test), "Label", "Score").RootMeanSquaredError;
                double mean = foldRmse.Average();
                double sd = Math.Sqrt(foldRmse.Sum(r => (r - mean) * (r - mean)) / Math.Max(1, foldRmse.Count - 1));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"rank {rank,4} lambda {lambda,5} lr {learningRate,5} iterations {iterations,3}: CV RMSE {mean:F4} (sd {sd:F4}) | test {testRmse:F4} | fit {seconds:F2} s"));
            }
        }

        /// <summary>
        /// Item cold-start cross-validation on the TRAIN file only (one of the 19-row test file's movies, 131724, is absent from the
        /// train file): the train file's movies are split into --folds folds by a seeded permutation; for each fold ALL
        /// ratings of its movies are held out, the model is trained on the rest, and the held-out ratings (of items unseen
        /// in training) are predicted as μ + b_u + prior. Priors compared (all from the same fitted model per fold):
        /// none (current), the mean learned bias of items with at most k training ratings (ColdStartItemMaxRatings = k),
        /// the mean residual r - μ - b_u of those items' ratings, every item's mean bias, and the rating-weighted mean
        /// item bias. Selection reads the CV column only; then the test RMSE of the public pipeline is printed for the report.
        /// </summary>
        private static void ColdStartCrossValidation(string[] args)
        {
            if (TutorialFiles() is not (string trainPath, string testPath))
                return;
            int rank = Options.Int(args, "--rank", 100);
            int iterations = Options.Int(args, "--iterations", 40);
            float lambda = float.Parse(Options.String(args, "--lambda") ?? "0.1", CultureInfo.InvariantCulture);
            float learningRate = float.Parse(Options.String(args, "--learning-rate") ?? "0.05", CultureInfo.InvariantCulture);
            int foldCount = Options.Int(args, "--folds", 5);
            var rows = File.ReadLines(trainPath).Skip(1).Select(l => l.Split(',')).Select(f => (User: f[0], Item: f[1], Value: float.Parse(f[2], CultureInfo.InvariantCulture))).ToArray();
            string[] users = rows.Select(r => r.User).Distinct().ToArray(), items = rows.Select(r => r.Item).Distinct().ToArray();
            var userIndex = users.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i);
            var itemIndex = items.Select((k, i) => (k, i)).ToDictionary(p => p.k, p => p.i);
            int[] userOf = rows.Select(r => userIndex[r.User]).ToArray(), itemOf = rows.Select(r => itemIndex[r.Item]).ToArray();
            int[] fileCount = new int[items.Length];
            foreach (int i in itemOf)
                fileCount[i]++;
            // Seeded permutation of the movies; movie at position j goes to fold j % folds.
            var random = new Random(1);
            int[] fold = new int[items.Length];
            int[] permutation = Enumerable.Range(0, items.Length).OrderBy(_ => random.Next()).ToArray();
            for (int j = 0; j < permutation.Length; j++)
                fold[permutation[j]] = j % foldCount;
            int[] ks = { 1, 2, 3, 5, 10, 50 };
            var priorNames = new List<string> { "none: mu + b_u (current)" };
            priorNames.AddRange(ks.Select(k => $"mean bias of items with <= {k} ratings"));
            priorNames.AddRange(new[] { 1, 2, 5 }.Select(k => $"mean residual of items with <= {k} ratings"));
            priorNames.Add("mean bias of all items");
            priorNames.Add("rating-weighted mean item bias");
            // Held-out ratings grouped by the movie's rating count in the train file (new movies are rarely rated).
            (string Name, Func<int, bool> In)[] groups = { ("<= 2", c => c <= 2), ("3-10", c => c is > 2 and <= 10), ("11-50", c => c is > 10 and <= 50), ("> 50", c => c > 50) };
            int p = priorNames.Count;
            var squared = new double[foldCount, p];
            var heldCount = new long[foldCount];
            var groupSquared = new double[groups.Length, p];
            var groupCount = new long[groups.Length];
            var priorValues = new double[p];
            double heldResidual = 0;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"== item cold-start CV, ml-latest-small train file ({rows.Length:N0} ratings, {items.Length:N0} movies): {foldCount} folds of movies, all their ratings held out; rank {rank}, lambda {lambda}, lr {learningRate}, {iterations} iterations =="));
            var watch = Stopwatch.StartNew();
            for (int f = 0; f < foldCount; f++)
            {
                var train = Enumerable.Range(0, rows.Length).Where(e => fold[itemOf[e]] != f).ToArray();
                var held = Enumerable.Range(0, rows.Length).Where(e => fold[itemOf[e]] == f).ToArray();
                var matrix = RatingMatrix.Create(users.Length, items.Length, train.Select(e => userOf[e]).ToArray(), train.Select(e => itemOf[e]).ToArray(), train.Select(e => rows[e].Value).ToArray());
                var settings = new FactorTrainingSettings(false, rank, iterations, lambda, learningRate, 1, 0, false, 2, 1, null, null);
                var model = MatrixFactorizationTraining.Train(matrix, users, items, settings);
                int[] perItem = MatrixFactorizationTraining.RatingsPerItem(matrix);
                var priors = new List<float> { 0 };
                priors.AddRange(ks.Select(k => model.RareItemBiasMean(perItem, k)));
                foreach (int k in new[] { 1, 2, 5 })
                {
                    double sum = 0;
                    long n = 0;
                    for (long e = 0; e < matrix.Count; e++)
                    {
                        if (perItem[matrix.ItemOf[e]] <= k)
                        {
                            sum += matrix.Values[e] - model.GlobalMean - model.UserBias[matrix.UserOf[e]];
                            n++;
                        }
                    }
                    priors.Add(n == 0 ? 0 : (float)(sum / n));
                }
                priors.Add(model.RareItemBiasMean(perItem, int.MaxValue));
                priors.Add((float)(Enumerable.Range(0, matrix.ItemOf.Length).Sum(e => (double)model.ItemBias[matrix.ItemOf[e]]) / matrix.Count));
                for (int v = 0; v < p; v++)
                    priorValues[v] += priors[v] / foldCount;
                foreach (int e in held)
                {
                    int u = model.UserSeen[userOf[e]] ? userOf[e] : -1;
                    double baseScore = model.Score(u, -1); // prior 0 here: UnseenItemBias is not set
                    heldResidual += rows[e].Value - baseScore;
                    int g = Array.FindIndex(groups, x => x.In(fileCount[itemOf[e]]));
                    groupCount[g]++;
                    for (int v = 0; v < p; v++)
                    {
                        double error = rows[e].Value - (baseScore + priors[v]);
                        squared[f, v] += error * error;
                        groupSquared[g, v] += error * error;
                    }
                }
                heldCount[f] = held.Length;
            }
            long totalHeld = heldCount.Sum();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"CV fits: {watch.Elapsed.TotalSeconds:F1} s; held-out ratings {totalHeld:N0}; their mean residual r - mu - b_u {heldResidual / totalHeld:+0.0000;-0.0000}"));
            Console.WriteLine("held-out ratings by the movie's rating count in the train file: " + string.Join(", ",
                groups.Select((x, g) => string.Create(CultureInfo.InvariantCulture, $"{x.Name}: {100.0 * groupCount[g] / totalHeld:F1}%"))));
            Console.WriteLine($"{"prior",-44} {"value",8} {"CV RMSE",8} {"sd",7} " + string.Join(" ", groups.Select(x => $"{"RMSE " + x.Name,11}")));
            for (int v = 0; v < p; v++)
            {
                var foldRmse = Enumerable.Range(0, foldCount).Select(f => Math.Sqrt(squared[f, v] / heldCount[f])).ToArray();
                double mean = foldRmse.Average();
                double sd = Math.Sqrt(foldRmse.Sum(r => (r - mean) * (r - mean)) / Math.Max(1, foldCount - 1));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{priorNames[v],-44} {priorValues[v],8:+0.000;-0.000} {mean,8:F4} {sd,7:F4} ") + string.Join(" ",
                    groups.Select((_, g) => string.Create(CultureInfo.InvariantCulture, $"{Math.Sqrt(groupSquared[g, v] / Math.Max(1, groupCount[g])),11:F4}"))));
            }

            // Report only: the 19-row test file through the public pipeline, trained on the whole train file.
            var ml = new MLContext(seed: 1);
            var trainView = ml.Data.LoadFromTextFile<Rating>(trainPath, hasHeader: true, separatorChar: ',');
            var test = ml.Data.LoadFromTextFile<Rating>(testPath, hasHeader: true, separatorChar: ',');
            foreach (int k in (Options.String(args, "--test-k") ?? "0,1,2").Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)))
            {
                var pipeline = ExplicitPipeline(ml, rank, lambda, iterations, learningRate, coldStartItemMaxRatings: k);
                var fitWatch = Stopwatch.StartNew();
                var model = pipeline.Fit(trainView);
                double seconds = fitWatch.Elapsed.TotalSeconds;
                double rmse = ml.Regression.Evaluate(model.Transform(test), "Label", "Score").RootMeanSquaredError;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"test (19 rows, report only) ColdStartItemMaxRatings {k}: UnseenItemBias {model.LastTransformer.UnseenItemBias:+0.0000;-0.0000}, RMSE {rmse:F4}, fit {seconds:F2} s"));
            }
        }

        /// <summary>The ML.NET tutorial's train and test files, or null (with a skip message) when ../shared is absent.</summary>
        private static (string Train, string Test)? TutorialFiles()
        {
            string folder = Path.Combine(s_shared, "ml-latest-small-mlnet");
            string trainPath = Path.Combine(folder, "recommendation-ratings-train.csv"), testPath = Path.Combine(folder, "recommendation-ratings-test.csv");
            if (File.Exists(trainPath) && File.Exists(testPath))
                return (trainPath, testPath);
            Console.WriteLine($"skipped: '{trainPath}' or '{testPath}' is missing.");
            return null;
        }

        private static LeaveLastOutSplit? ReadSplit()
        {
            string data = Path.Combine(s_shared, "ml-100k", "u.data");
            if (!File.Exists(data))
            {
                Console.WriteLine($"skipped: '{data}' is missing.");
                return null;
            }
            return InteractionFile.ReadSplit(data);
        }

        private sealed class Event
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        /// <summary>The training events of <paramref name="target"/>, keyed; with a half-life, event strength 1 + boost x 0.5^(age / half-life).</summary>
        private static IDataView Keyed(MLContext ml, LeaveLastOutSplit split, RankingTarget target, double halfLife = 0, double boost = 0)
        {
            var rows = ml.Data.LoadFromEnumerable(split.TrainingSequences(target).SelectMany(s => s.Items.Select((i, t) => new Event
            {
                User = s.User,
                Item = i,
                Label = ImplicitMatrixFactorization.RecencyWeight(s.Items.Count - 1 - t, halfLife, boost),
            })).ToList());
            return ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(rows).Transform(rows);
        }

        internal static MatrixFactorizationEstimator.Options ImplicitOptions(int rank, double alpha, double lambda, int iterations) => new()
        {
            LossFunction = MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass,
            LabelColumnName = "Label",
            MatrixColumnIndexColumnName = "UserKey",
            MatrixRowIndexColumnName = "ItemKey",
            ApproximationRank = rank,
            Alpha = alpha,
            Lambda = lambda,
            NumberOfIterations = iterations,
            NumberOfThreads = 2,
            Seed = 1,
        };

        /// <summary>Full-ranking metrics of the live factors (user · item; items without factors score -inf).</summary>
        private static LeaveLastOutMetrics Evaluate(LeaveLastOutSplit split, RankingTarget target, FactorModel model)
        {
            int[] itemRows = split.Items.Select(i => model.ItemIndexOf(i)).Select(r => r >= 0 && model.ItemSeen[r] ? r : -1).ToArray();
            return LeaveLastOutEvaluator.Evaluate(split, target, (user, scores) =>
            {
                int u = model.UserIndexOf(user);
                if (u < 0)
                    return;
                var userRow = model.UserRow(u);
                for (int i = 0; i < itemRows.Length; i++)
                {
                    if (itemRows[i] >= 0)
                        scores[i] = System.Numerics.Tensors.TensorPrimitives.Dot(userRow, model.ItemRow(itemRows[i]));
                }
            });
        }

        private static void Sweep(string[] args)
        {
            var split = ReadSplit();
            if (split is null)
                return;
            var ml = new MLContext(seed: 1);
            var data = Keyed(ml, split, RankingTarget.Validation);
            int rank = Options.Int(args, "--rank", 64);
            Console.WriteLine($"== sweep on validation, rank {rank}, 15 iterations (best iteration shown) ==");
            foreach (double alpha in new[] { 1.0, 3.0, 10.0, 30.0 })
            {
                foreach (double lambda in new[] { 0.3, 3.0, 30.0, 100.0 })
                {
                    var options = ImplicitOptions(rank, alpha, lambda, 15);
                    double best = 0;
                    int bestIteration = 0;
                    var curve = new List<string>();
                    options.IterationObserver = (iteration, model) =>
                    {
                        var m = Evaluate(split, RankingTarget.Validation, model);
                        curve.Add(m.HitRate.ToString("F3", CultureInfo.InvariantCulture));
                        if (m.HitRate > best)
                            (best, bestIteration) = (m.HitRate, iteration);
                    };
                    ml.Embeddings().MatrixFactorization(options).Fit(data);
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alpha {alpha,5} lambda {lambda,6}: best HR@10 {best:F4} at {bestIteration}; {string.Join(" ", curve)}"));
                }
            }
        }

        /// <summary>
        /// Final-iteration HR@10 / NDCG@10 on validation and test for each "alpha:lambda" pair of --grid (default 20:0.1,
        /// the settings of the numpy implicit-ALS reference we compared with), rank --rank, --iterations iterations,
        /// random initialisation.
        /// Selection must read the validation column only; test is printed for the report.
        /// </summary>
        private static void Grid(string[] args)
        {
            var split = ReadSplit();
            if (split is null)
                return;
            int rank = Options.Int(args, "--rank", 64);
            int iterations = Options.Int(args, "--iterations", 15);
            var pairs = (Options.String(args, "--grid") ?? "20:0.1").Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Select(p => p.Split(':')).Select(p => (Alpha: double.Parse(p[0], CultureInfo.InvariantCulture), Lambda: double.Parse(p[1], CultureInfo.InvariantCulture))).ToArray();
            bool testToo = Options.String(args, "--validation-only") is null;
            int seeds = Options.Int(args, "--seeds", 1);
            Console.WriteLine($"== grid, rank {rank}, {iterations} iterations, random init: HR@10 / NDCG@10 after the last iteration ==");
            var targets = testToo ? new[] { RankingTarget.Validation, RankingTarget.Test } : new[] { RankingTarget.Validation };
            var data = new Dictionary<RankingTarget, (MLContext, IDataView)>();
            foreach (var target in targets)
            {
                var ml = new MLContext(seed: 1);
                data[target] = (ml, ml.Data.Cache(Keyed(ml, split, target)));
            }
            foreach (var (alpha, lambda) in pairs)
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var line = new List<string>();
                    foreach (var target in targets)
                    {
                        var (ml, view) = data[target];
                        var options = ImplicitOptions(rank, alpha, lambda, iterations);
                        options.Seed = seed;
                        LeaveLastOutMetrics? last = null;
                        options.IterationObserver = (iteration, model) =>
                        {
                            if (iteration == iterations)
                                last = Evaluate(split, target, model);
                        };
                        ml.Embeddings().MatrixFactorization(options).Fit(view);
                        line.Add(string.Create(CultureInfo.InvariantCulture, $"{target} HR@10 {last!.HitRate:F4} NDCG@10 {last.Ndcg:F4}"));
                    }
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"alpha {alpha,6} lambda {lambda,7} seed {seed}: {string.Join(" | ", line)}"));
                }
        }

        private static void Implicit(string[] args)
        {
            var split = ReadSplit();
            if (split is null)
                return;
            int rank = Options.Int(args, "--rank", 64);
            double alpha = double.Parse(Options.String(args, "--alpha") ?? "5", CultureInfo.InvariantCulture);
            double lambda = double.Parse(Options.String(args, "--lambda") ?? "30", CultureInfo.InvariantCulture);
            int iterations = Options.Int(args, "--iterations", 15);
            double halfLife = double.Parse(Options.String(args, "--recency-half-life") ?? "3", CultureInfo.InvariantCulture);
            double boost = double.Parse(Options.String(args, "--recency-boost") ?? "4", CultureInfo.InvariantCulture);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"== implicit ALS, ml-100k leave-last-out, rank {rank}, alpha {alpha}, lambda {lambda}, recency half-life {halfLife} boost {boost} (tuned on validation) =="));
            foreach (var target in new[] { RankingTarget.Validation, RankingTarget.Test })
            {
                var pop = LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.Popularity(split, target));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"popularity {target}: HR@10 {pop.HitRate:F4} NDCG@10 {pop.Ndcg:F4}"));
            }
            int seeds = Options.Int(args, "--seeds", 1);
            // curves[(init, target)][seed][iteration]; seed s drives both the item2vec run and the factorization's random init.
            var curves = new Dictionary<(string, RankingTarget), List<List<LeaveLastOutMetrics>>>();
            foreach (var target in new[] { RankingTarget.Validation, RankingTarget.Test })
            {
                var ml = new MLContext(seed: 1);
                var data = Keyed(ml, split, target, halfLife, boost);
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var item2vec = ItemToVec(ml, split, target, seed);
                    foreach (var (name, warm) in new[] { ("random", (EmbeddingTable?)null), ("item2vec", item2vec) })
                    {
                        var options = ImplicitOptions(rank, alpha, lambda, iterations);
                        options.Seed = seed;
                        options.InitialItemFactors = warm;
                        var curve = new List<LeaveLastOutMetrics>();
                        if (!curves.TryGetValue((name, target), out var perSeed))
                            curves[(name, target)] = perSeed = new List<List<LeaveLastOutMetrics>>();
                        perSeed.Add(curve);
                        options.IterationObserver = (_, model) => curve.Add(Evaluate(split, target, model));
                        var watch = Stopwatch.StartNew();
                        ml.Embeddings().MatrixFactorization(options).Fit(data);
                        var last = curve[^1];
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                            $"seed {seed} init {name,-8} {target,-10} after {iterations} iterations: HR@10 {last.HitRate:F4} NDCG@10 {last.Ndcg:F4} (fit + per-iteration evaluation {watch.Elapsed.TotalSeconds:F1} s)"));
                    }
                }
            }
            double Mean(string name, RankingTarget target, int i, Func<LeaveLastOutMetrics, double> metric) => curves[(name, target)].Average(c => metric(c[i]));
            foreach (var (label, metric) in new (string, Func<LeaveLastOutMetrics, double>)[] { ("HR@10", m => m.HitRate), ("NDCG@10", m => m.Ndcg) })
            {
                Console.WriteLine($"{label} per iteration, mean of {seeds} seed(s) (random init | items from item2vec):");
                Console.WriteLine($"{"iter",4} {"val random",11} {"val i2v",8} {"test random",12} {"test i2v",9}");
                for (int i = 0; i < iterations; i++)
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{i + 1,4} {Mean("random", RankingTarget.Validation, i, metric),11:F4} {Mean("item2vec", RankingTarget.Validation, i, metric),8:F4} {Mean("random", RankingTarget.Test, i, metric),12:F4} {Mean("item2vec", RankingTarget.Test, i, metric),9:F4}"));
                }
            }
        }

        private sealed class Session
        {
            public string[] Items { get; set; } = Array.Empty<string>();
        }

        private static EmbeddingTable ItemToVec(MLContext ml, LeaveLastOutSplit split, RankingTarget target, int seed = 1)
        {
            var sessions = ml.Data.LoadFromEnumerable(split.TrainingSequences(target).Select(s => new Session { Items = s.Items.ToArray() }));
            return ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "Vector",
                InputColumnName = "Items",
                EmbeddingDimension = 64,
                WindowSize = 5,
                Epochs = 20,
                MinCount = 1,
                SamplingThreshold = 1e-3,
                Seed = seed,
                NumberOfThreads = 1, // one thread: the warm-start curves are the same run to run
            }).Fit(sessions).Embeddings;
        }

        private static void Speed(string[] args)
        {
            var split = ReadSplit();
            if (split is null)
                return;
            var ml = new MLContext(seed: 1);
            var data = Keyed(ml, split, RankingTarget.Test);
            var cached = ml.Data.Cache(data);
            ml.Embeddings().MatrixFactorization(ImplicitOptions(64, 5, 30, 1)).Fit(cached); // warm-up (JIT)
            var watch = Stopwatch.StartNew();
            var model = ml.Embeddings().MatrixFactorization(ImplicitOptions(64, 5, 30, 15)).Fit(cached);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"== speed: implicit ALS, ml-100k ({model.TrainingSummary!.Ratings:N0} events, {model.TrainingSummary.Users} users, {model.TrainingSummary.Items} items), rank 64, 15 iterations, 2 threads: {watch.Elapsed.TotalSeconds:F2} s (Fit, reading included) =="));
        }
    }
}
