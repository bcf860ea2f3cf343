using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.EndToEnd;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>
    /// Click and rating models planted in generated data (fixed seeds): each architecture must recover what the data
    /// holds, measured against the Bayes-optimal AUC of the planted probabilities on the same test rows, and the output
    /// must be what ML.NET's evaluators read.
    /// </summary>
    [TestFixture]
    public class PlantedClickModelTests
    {
        private static EndToEndEmbeddingEstimator.Options Binary(EndToEndArchitecture architecture, params string[] fields) => new()
        {
            Architecture = architecture,
            LabelColumnName = nameof(Click.Label),
            CategoricalColumnNames = fields.ToList(),
            EmbeddingDimension = 8,
            HiddenLayerSizes = [32, 16],
            BatchSize = 128,
            // Rare keys catch up on the momentum of skipped steps (SparseMomentumCatchUp), so they move as under dense Adam:
            // 0.003 is the rate at which 6 epochs neither under- nor overfit these planted sets.
            LearningRate = 0.003f,
            NumberOfEpochs = 6,
            Seed = 5,
            NumberOfThreads = 2,
        };

        private static double Auc(MLContext ml, ITransformer model, IDataView test) =>
            ml.BinaryClassification.Evaluate(model.Transform(test), nameof(Click.Label)).AreaUnderRocCurve;

        [Test]
        public void WideWithThePlantedCrossReachesTheOptimumAndWithoutItCannot()
        {
            var ml = new MLContext(seed: 1);
            var train = EndToEndData.PlantedCross(4000, seed: 11);
            var test = EndToEndData.PlantedCross(2000, seed: 12);
            var views = EndToEndData.Keyed(ml, train.Concat(test), train, test);
            double optimum = EndToEndData.OptimalAuc(test);
            Assert.That(optimum, Is.GreaterThan(0.75), "the planted signal is strong");

            var withCross = Binary(EndToEndArchitecture.Wide, "User", "Item", "Gender", "Genre");
            withCross.WideCrosses = [["Gender", "Genre"]];
            withCross.LearningRate = 0.05f;
            var withoutCross = withCross.Clone();
            withoutCross.WideCrosses = [];
            double aucWith = Auc(ml, ml.Embeddings().EndToEnd(withCross).Fit(views[0]), views[1]);
            double aucWithout = Auc(ml, ml.Embeddings().EndToEnd(withoutCross).Fit(views[0]), views[1]);
            TestContext.Out.WriteLine($"optimum {optimum:F4}, wide with cross {aucWith:F4}, without {aucWithout:F4}");
            Assert.That(aucWith, Is.GreaterThanOrEqualTo(optimum - 0.02), "the cross's weights learn the XOR");
            Assert.That(aucWithout, Is.LessThan(0.6), "no weight of one field alone can express an XOR");
            Assert.That(aucWith - aucWithout, Is.GreaterThan(0.15));
        }

        [Test]
        public void WeightAveragingTakesANoisyHighRateWideModelBackToThePlantedOptimum()
        {
            var ml = new MLContext(seed: 1);
            var train = EndToEndData.PlantedCross(4000, seed: 11);
            var test = EndToEndData.PlantedCross(4000, seed: 12);
            var views = EndToEndData.Keyed(ml, train.Concat(test), train, test);
            double optimum = EndToEndData.OptimalAuc(test);
            // A rate far above what the model needs, and small batches: the last step lands at a noisy point near the optimum.
            var last = Binary(EndToEndArchitecture.Wide, "User", "Item", "Gender", "Genre");
            last.WideCrosses = [["Gender", "Genre"]];
            last.LearningRate = 0.3f;
            last.BatchSize = 16;
            last.NumberOfEpochs = 4;
            var averaged = last.Clone();
            averaged.WeightAveragingDecay = 0.995f;
            var lastMetrics = ml.BinaryClassification.Evaluate(ml.Embeddings().EndToEnd(last).Fit(views[0]).Transform(views[1]), nameof(Click.Label));
            var averagedMetrics = ml.BinaryClassification.Evaluate(ml.Embeddings().EndToEnd(averaged).Fit(views[0]).Transform(views[1]), nameof(Click.Label));
            TestContext.Out.WriteLine($"optimum AUC {optimum:F4}; last step AUC {lastMetrics.AreaUnderRocCurve:F4}, log-loss {lastMetrics.LogLoss:F4}; " +
                $"averaged AUC {averagedMetrics.AreaUnderRocCurve:F4}, log-loss {averagedMetrics.LogLoss:F4}");
            Assert.That(averagedMetrics.AreaUnderRocCurve, Is.GreaterThanOrEqualTo(optimum - 0.01));
            Assert.That(averagedMetrics.LogLoss, Is.LessThan(lastMetrics.LogLoss - 0.05), "the average is far less noisy than the last step");
        }

        [Test]
        public void FactorizationMachineAndWideAndDeepRecoverAPlantedLatentInteractionThatWideCannot()
        {
            var ml = new MLContext(seed: 1);
            var (train, test) = EndToEndData.PlantedLatent(users: 200, items: 200, rank: 2, k: 2.0, noise: 0, train: 40000, test: 5000, seed: 21);
            var views = EndToEndData.Keyed(ml, train.Concat(test), train, test);
            double optimum = EndToEndData.OptimalAuc(test);
            Assert.That(optimum, Is.GreaterThan(0.8), "the planted signal is strong");
            var results = new Dictionary<EndToEndArchitecture, double>();
            foreach (var architecture in new[] { EndToEndArchitecture.Wide, EndToEndArchitecture.FactorizationMachine, EndToEndArchitecture.WideAndDeep })
            {
                var options = Binary(architecture, "User", "Item");
                // The deep part needs more passes to learn the interaction through its MLP.
                if (architecture == EndToEndArchitecture.WideAndDeep)
                    options.NumberOfEpochs = 12;
                results[architecture] = Auc(ml, ml.Embeddings().EndToEnd(options).Fit(views[0]), views[1]);
            }
            TestContext.Out.WriteLine($"optimum {optimum:F4}; " + string.Join(", ", results.Select(r => $"{r.Key} {r.Value:F4}")));
            Assert.That(results[EndToEndArchitecture.Wide], Is.LessThan(0.6), "per-user and per-item weights carry almost nothing");
            Assert.That(results[EndToEndArchitecture.FactorizationMachine], Is.GreaterThanOrEqualTo(optimum - 0.03));
            Assert.That(results[EndToEndArchitecture.WideAndDeep], Is.GreaterThanOrEqualTo(optimum - 0.03));
            Assert.That(results[EndToEndArchitecture.FactorizationMachine], Is.GreaterThan(results[EndToEndArchitecture.Wide] + 0.15));
            Assert.That(results[EndToEndArchitecture.WideAndDeep], Is.GreaterThan(results[EndToEndArchitecture.Wide] + 0.15));
        }

        [Test]
        public void RegressionOnAPlantedRatingModelReachesTheNoiseLevelAndRegressionEvaluateReadsTheOutput()
        {
            const double noise = 0.3;
            var ml = new MLContext(seed: 1);
            var (train, test) = EndToEndData.PlantedLatent(users: 100, items: 100, rank: 2, k: 1, noise: noise, train: 20000, test: 3000, seed: 31);
            var views = EndToEndData.Keyed(ml, train.Concat(test), train, test);
            var options = new EndToEndEmbeddingEstimator.Options
            {
                Architecture = EndToEndArchitecture.FactorizationMachine,
                Objective = EndToEndObjective.Regression,
                LabelColumnName = nameof(Click.Rating),
                CategoricalColumnNames = ["User", "Item"],
                EmbeddingDimension = 8,
                BatchSize = 128,
                LearningRate = 0.01f,
                NumberOfEpochs = 8,
                Seed = 5,
                NumberOfThreads = 2,
            };
            var model = ml.Embeddings().EndToEnd(options).Fit(views[0]);
            var scored = model.Transform(views[1]);
            Assert.That(scored.Schema.GetColumnOrNull("Probability"), Is.Null, "regression outputs Score only");
            var metrics = ml.Regression.Evaluate(scored, nameof(Click.Rating));
            double spread = Math.Sqrt(test.Select(r => Math.Pow(r.Rating - test.Average(t => t.Rating), 2)).Average());
            TestContext.Out.WriteLine($"noise {noise}, label spread {spread:F3}, RMSE {metrics.RootMeanSquaredError:F4}, R² {metrics.RSquared:F3}");
            Assert.That(metrics.RootMeanSquaredError, Is.LessThan(noise * 1.15), "close to the noise level");
            Assert.That(metrics.RootMeanSquaredError, Is.GreaterThan(noise * 0.9), "a model cannot beat the noise");
            // Score is the prediction itself: RMSE recomputed from the column.
            var scores = scored.GetColumn<float>("Score").ToArray();
            double rmse = Math.Sqrt(scores.Zip(test, (s, r) => Math.Pow(s - r.Rating, 2)).Average());
            Assert.That(rmse, Is.EqualTo(metrics.RootMeanSquaredError).Within(1e-4));
        }

        [Test]
        public void WideOverNumericFeaturesAloneLearnsAPlantedLogisticModel()
        {
            var ml = new MLContext(seed: 1);
            List<Click> Rows(int count, int seed)
            {
                var random = new Random(seed);
                return Enumerable.Range(0, count).Select(_ =>
                {
                    float x0 = (float)EndToEndData.Gaussian(random), x1 = (float)EndToEndData.Gaussian(random);
                    double p = EndToEndData.Sigmoid(2 * x0 - 1.5 * x1 + 0.5);
                    return new Click { Dense = [x0, x1], Label = random.NextDouble() < p, Truth = (float)p };
                }).ToList();
            }
            var train = Rows(3000, 101);
            var test = Rows(2000, 102);
            var options = new EndToEndEmbeddingEstimator.Options
            {
                Architecture = EndToEndArchitecture.Wide,
                LabelColumnName = nameof(Click.Label),
                NumericFeaturesColumnName = nameof(Click.Dense),
                LearningRate = 0.05f,
                BatchSize = 64,
                NumberOfEpochs = 5,
                Seed = 5,
                NumberOfThreads = 1,
            };
            var model = ml.Embeddings().EndToEnd(options).Fit(ml.Data.LoadFromEnumerable(train));
            double auc = Auc(ml, model, ml.Data.LoadFromEnumerable(test));
            double optimum = EndToEndData.OptimalAuc(test);
            TestContext.Out.WriteLine($"optimum {optimum:F4}, wide over numeric features {auc:F4}, weights {string.Join(", ", model.Parameters.NumericWeights)}, bias {model.Parameters.Bias[0]}");
            Assert.That(auc, Is.GreaterThanOrEqualTo(optimum - 0.01));
            Assert.That(model.Parameters.NumericWeights[0], Is.EqualTo(2).Within(0.5));
            Assert.That(model.Parameters.NumericWeights[1], Is.EqualTo(-1.5).Within(0.5));
            Assert.That(model.Parameters.Bias[0], Is.EqualTo(0.5).Within(0.3));
        }

        [Test]
        public void BinaryClassificationEvaluateReadsScoreProbabilityAndPredictedLabelUnchanged()
        {
            var ml = new MLContext(seed: 1);
            var train = EndToEndData.PlantedCross(2000, seed: 41);
            var test = EndToEndData.PlantedCross(1000, seed: 42);
            var views = EndToEndData.Keyed(ml, train.Concat(test), train, test);
            var options = Binary(EndToEndArchitecture.WideAndDeep, "Gender", "Genre", "Tags");
            options.NumericFeaturesColumnName = nameof(Click.Dense);
            options.WideCrosses = [["Gender", "Genre"]];
            options.LearningRate = 0.02f;
            var scored = ml.Embeddings().EndToEnd(options).Fit(views[0]).Transform(views[1]);
            var metrics = ml.BinaryClassification.Evaluate(scored, nameof(Click.Label));
            var scores = scored.GetColumn<float>("Score").ToArray();
            var probabilities = scored.GetColumn<float>("Probability").ToArray();
            var predicted = scored.GetColumn<bool>("PredictedLabel").ToArray();
            var labels = test.Select(r => r.Label).ToArray();
            for (int i = 0; i < scores.Length; i++)
            {
                Assert.That(probabilities[i], Is.EqualTo(EndToEndData.Sigmoid(scores[i])).Within(1e-6), "Probability = σ(Score)");
                Assert.That(predicted[i], Is.EqualTo(scores[i] > 0), "PredictedLabel = Score > 0");
            }
            double auc = EndToEndTraining.AreaUnderRocCurve(scores, labels.Select(l => l ? 1f : 0f).ToArray());
            Assert.That(metrics.AreaUnderRocCurve, Is.EqualTo(auc).Within(1e-6), "ML.NET's AUC equals the trainer's");
            double accuracy = predicted.Zip(labels, (p, l) => p == l ? 1.0 : 0.0).Average();
            Assert.That(metrics.Accuracy, Is.EqualTo(accuracy).Within(1e-9));
            double logLoss = -probabilities.Zip(labels, (p, l) => Math.Log2(Math.Clamp(l ? p : 1 - p, 1e-15, 1))).Average();
            Assert.That(metrics.LogLoss, Is.EqualTo(logLoss).Within(1e-3));
            Assert.That(metrics.AreaUnderRocCurve, Is.GreaterThan(0.75));
        }
    }
}
