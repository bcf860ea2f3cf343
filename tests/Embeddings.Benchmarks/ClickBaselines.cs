using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Trainers;
using Microsoft.ML.Trainers.LightGbm;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// ML.NET's own trainers on the click data of <see cref="MovieLensClickData"/>, the baselines of the end-to-end
    /// benchmark: logistic regression (L-BFGS) and LightGBM on one-hot fields and crosses, LightGBM with item2vec item and
    /// user vectors added, and the field-aware factorization machine. Each tries a few settings and keeps the one with
    /// the best validation AUC; the test figures are those of that model.
    /// </summary>
    internal sealed class ClickBaselines
    {
        private const string FeaturesColumnName = "Features";
        private const string OneHotPrefix = "onehot_";

        private readonly MLContext _ml;
        private readonly MovieLensClickData _data;
        private readonly int _threads;
        private readonly int _seed;

        /// <param name="ml">The context (seeded by the benchmark's seed).</param>
        /// <param name="data">The click data.</param>
        /// <param name="threads">Threads of the trainers that take a thread count (L-BFGS, LightGBM).</param>
        /// <param name="seed">The seed of LightGBM and of item2vec.</param>
        public ClickBaselines(MLContext ml, MovieLensClickData data, int threads, int seed)
        {
            _ml = ml;
            _data = data;
            _threads = threads;
            _seed = seed;
        }

        /// <summary>
        /// Item2vec: our skip-gram over the training rows' per-user item sequences (by time, ties by item id), dimension
        /// 16, window 5, 20 epochs, 5 negatives, min count 1, one thread (repeatable). Keys are item ids as text, the
        /// key value texts of the item field, so the table can start the item embeddings of an end-to-end model.
        /// </summary>
        public static EmbeddingTable TrainItem2Vec(MLContext ml, MovieLensClickData data, IEnumerable<int> trainRows, int seed, int dimension = 16) =>
            ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "Vector",
                EmbeddingDimension = dimension,
                WindowSize = 5,
                Epochs = 20,
                Model = SkipGramModel.SkipGram,
                NegativeSampleCount = 5,
                MinCount = 1,
                Seed = seed,
                NumberOfThreads = 1,
            }).Fit(data.UserSequences(trainRows)).Embeddings;

        /// <summary>
        /// Per-row dense features for LightGBM: the item's item2vec vector, then the user's vector (mean of the item2vec
        /// vectors of the user's training items). Items or users the table does not know get zeros.
        /// </summary>
        public static Func<int, float[]> Item2VecFeatures(MovieLensClickData data, EmbeddingTable itemVectors, IEnumerable<int> trainRows)
        {
            int d = itemVectors.Dimension;
            var itemVector = new Dictionary<int, float[]>();
            foreach (int item in data.ItemIds.Distinct())
            {
                string key = item.ToString(CultureInfo.InvariantCulture);
                if (itemVectors.Contains(key))
                    itemVector[item] = itemVectors.GetVector(key);
            }
            var userSum = new Dictionary<int, (float[] Sum, int Count)>();
            foreach (int r in trainRows)
            {
                if (!itemVector.TryGetValue(data.ItemIds[r], out var v))
                    continue;
                if (!userSum.TryGetValue(data.UserIds[r], out var entry))
                    entry = (new float[d], 0);
                for (int j = 0; j < d; j++)
                    entry.Sum[j] += v[j];
                userSum[data.UserIds[r]] = (entry.Sum, entry.Count + 1);
            }
            var userVector = userSum.ToDictionary(p => p.Key, p => p.Value.Sum.Select(x => x / p.Value.Count).ToArray());
            return row =>
            {
                var features = new float[2 * d];
                if (itemVector.TryGetValue(data.ItemIds[row], out var item))
                    item.CopyTo(features, 0);
                if (userVector.TryGetValue(data.UserIds[row], out var user))
                    user.CopyTo(features, d);
                return features;
            };
        }

        /// <summary><c>mlnet_lbfgs_lr</c>: L-BFGS logistic regression on one-hot fields, multi-hot genres and the crosses; L2 picked on validation.</summary>
        public ModelRun LbfgsLogisticRegression(IDataView train, IDataView validation, IDataView test)
        {
            var featurizer = OneHotFeatures(crosses: true, dense: false).Fit(train);
            var candidates = new[] { (L1: 0.0, L2: 0.1), (L1: 0.0, L2: 0.3), (L1: 0.0, L2: 1.0), (L1: 0.0, L2: 3.0), (L1: 1.0, L2: 1.0) }
                .Select(s => ($"L1 {Text(s.L1)}, L2 {Text(s.L2)}", (Func<IDataView, IDataView, ITransformer>)((tr, _) =>
                    _ml.BinaryClassification.Trainers.LbfgsLogisticRegression(new LbfgsLogisticRegressionBinaryTrainer.Options
                    {
                        LabelColumnName = MovieLensClickData.LabelColumnName,
                        FeatureColumnName = FeaturesColumnName,
                        L1Regularization = (float)s.L1,
                        L2Regularization = (float)s.L2,
                        NumberOfThreads = _threads,
                    }).Fit(tr))));
            return PickOnValidation("mlnet_lbfgs_lr", featurizer, candidates, train, validation, test);
        }

        /// <summary>
        /// <c>mlnet_lightgbm_onehot</c> (or <c>mlnet_lightgbm_item2vec</c> with <paramref name="item2vec"/>): LightGBM on the
        /// one-hot fields and crosses (one-hot slots, or the same slots as categorical features), early stopping on
        /// validation AUC; leaves, categorical splits and learning rate picked on validation AUC.
        /// </summary>
        public ModelRun LightGbm(IDataView train, IDataView validation, IDataView test, bool item2vec)
        {
            var featurizer = OneHotFeatures(crosses: true, dense: item2vec).Fit(train);
            var settings = new[] { (Categorical: false, Leaves: 31, Rate: 0.05), (Categorical: false, Leaves: 127, Rate: 0.05), (Categorical: true, Leaves: 31, Rate: 0.05), (Categorical: true, Leaves: 127, Rate: 0.05) };
            var candidates = settings.Select(s => ($"{(s.Categorical ? "categorical splits" : "one-hot")}, {s.Leaves} leaves, rate {Text(s.Rate)}",
                (Func<IDataView, IDataView, ITransformer>)((tr, va) =>
                    _ml.BinaryClassification.Trainers.LightGbm(new LightGbmBinaryTrainer.Options
                    {
                        LabelColumnName = MovieLensClickData.LabelColumnName,
                        FeatureColumnName = FeaturesColumnName,
                        UseCategoricalSplit = s.Categorical,
                        NumberOfLeaves = s.Leaves,
                        LearningRate = s.Rate,
                        NumberOfIterations = 2000,
                        EarlyStoppingRound = 50,
                        EvaluationMetric = LightGbmBinaryTrainer.Options.EvaluateMetricType.AreaUnderCurve,
                        NumberOfThreads = _threads,
                        Seed = _seed,
                        Deterministic = true,
                        Silent = true,
                    }).Fit(tr, va))));
            return PickOnValidation(item2vec ? "mlnet_lightgbm_item2vec" : "mlnet_lightgbm_onehot", featurizer, candidates, train, validation, test);
        }

        /// <summary><c>mlnet_ffm</c>: the field-aware factorization machine, one one-hot (genres multi-hot) feature column per field.</summary>
        public ModelRun FieldAwareFactorizationMachine(IDataView train, IDataView validation, IDataView test)
        {
            var fields = MovieLensClickData.FieldNames.Select(f => OneHotPrefix + f).ToArray();
            var featurizer = OneHotFeatures(crosses: false, dense: false).Fit(train);
            var settings = new[] { (Dimension: 8, Iterations: 5), (Dimension: 8, Iterations: 10), (Dimension: 8, Iterations: 15), (Dimension: 16, Iterations: 5), (Dimension: 16, Iterations: 10), (Dimension: 16, Iterations: 15) };
            var candidates = settings.Select(s => ($"latent {s.Dimension}, {s.Iterations} iterations",
                (Func<IDataView, IDataView, ITransformer>)((tr, _) =>
                    _ml.BinaryClassification.Trainers.FieldAwareFactorizationMachine(new FieldAwareFactorizationMachineTrainer.Options
                    {
                        LabelColumnName = MovieLensClickData.LabelColumnName,
                        FeatureColumnName = fields[0],
                        ExtraFeatureColumns = fields[1..],
                        LatentDimension = s.Dimension,
                        NumberOfIterations = s.Iterations,
                    }).Fit(tr))));
            return PickOnValidation("mlnet_ffm", featurizer, candidates, train, validation, test);
        }

        /// <summary>
        /// Key columns to indicator vectors (one per field, named onehot_FIELD; genres and crosses as count vectors, i.e.
        /// multi-hot), concatenated into Features, with the crosses and the Dense column when asked.
        /// </summary>
        private IEstimator<ITransformer> OneHotFeatures(bool crosses, bool dense)
        {
            var scalar = MovieLensClickData.ScalarFieldNames.Select(f => new InputOutputColumnPair(OneHotPrefix + f, f)).ToList();
            var multi = new List<InputOutputColumnPair> { new(OneHotPrefix + MovieLensClickData.GenresColumnName, MovieLensClickData.GenresColumnName) };
            if (crosses)
                multi.AddRange(MovieLensClickData.CrossedFieldNames.Select(f => new InputOutputColumnPair(OneHotPrefix + MovieLensClickData.CrossColumnName(f), MovieLensClickData.CrossColumnName(f))));
            var features = scalar.Concat(multi).Select(p => p.OutputColumnName).ToList();
            if (dense)
                features.Add(MovieLensClickData.DenseColumnName);
            return _ml.Transforms.Conversion.MapKeyToVector(scalar.ToArray(), outputCountVector: false)
                .Append(_ml.Transforms.Conversion.MapKeyToVector(multi.ToArray(), outputCountVector: true))
                .Append(_ml.Transforms.Concatenate(FeaturesColumnName, features.ToArray()));
        }

        /// <summary>Fits every candidate on the featurized training rows, keeps the best by validation AUC and scores test with it.</summary>
        private ModelRun PickOnValidation(string model, ITransformer featurizer, IEnumerable<(string Settings, Func<IDataView, IDataView, ITransformer> Fit)> candidates,
            IDataView train, IDataView validation, IDataView test)
        {
            var trainFeatures = _ml.Data.Cache(featurizer.Transform(train));
            var validationFeatures = _ml.Data.Cache(featurizer.Transform(validation));
            var testFeatures = featurizer.Transform(test);
            (string Settings, ITransformer Model, double Auc, double Seconds)? best = null;
            double totalSeconds = 0;
            foreach (var (settings, fit) in candidates)
            {
                var watch = Stopwatch.StartNew();
                var trained = fit(trainFeatures, validationFeatures);
                double seconds = watch.Elapsed.TotalSeconds;
                totalSeconds += seconds;
                double auc = ClickMetrics.Compute(trained.Transform(validationFeatures)).Auc;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {model} [{settings}]: validation AUC {auc:F4} ({seconds:F1} s)"));
                if (best is null || auc > best.Value.Auc)
                    best = (settings, trained, auc, seconds);
            }
            var chosen = best ?? throw new InvalidOperationException("no candidate settings");
            var (testAuc, testLogLoss) = ClickMetrics.Compute(chosen.Model.Transform(testFeatures));
            return new ModelRun(model, _seed, testAuc, testLogLoss)
            {
                ValidationAuc = chosen.Auc,
                Settings = chosen.Settings,
                FitSeconds = chosen.Seconds,
                TuningSeconds = totalSeconds,
            };
        }

        private static string Text(double value) => value.ToString("G", CultureInfo.InvariantCulture);
    }
}
