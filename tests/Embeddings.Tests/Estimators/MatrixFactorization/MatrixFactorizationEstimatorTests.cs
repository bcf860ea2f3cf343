using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;
using LossFunction = Embeddings.MatrixFactorizationEstimator.LossFunctionType;

namespace Embeddings.Tests.Estimators.MatrixFactorization
{
    [TestFixture]
    public class MatrixFactorizationEstimatorTests
    {
        public sealed class Rating
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        private const int Users = 60, Items = 50, TrueRank = 3;

        /// <summary>Ratings 3 + u·v of planted rank-3 factors; each cell observed with probability 0.5.</summary>
        private static (List<Rating> Observed, List<Rating> Hidden) PlantedRatings()
        {
            var random = new Random(7);
            double[][] u = Enumerable.Range(0, Users).Select(_ => Enumerable.Range(0, TrueRank).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
            double[][] v = Enumerable.Range(0, Items).Select(_ => Enumerable.Range(0, TrueRank).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
            var observed = new List<Rating>();
            var hidden = new List<Rating>();
            for (int a = 0; a < Users; a++)
            {
                for (int b = 0; b < Items; b++)
                {
                    var rating = new Rating { User = $"u{a}", Item = $"i{b}", Label = (float)(3 + u[a].Zip(v[b], (x, y) => x * y).Sum()) };
                    (random.NextDouble() < 0.5 ? observed : hidden).Add(rating);
                }
            }
            return (observed, hidden);
        }

        /// <summary>The data with key columns UserKey and ItemKey mapped over <paramref name="rows"/>.</summary>
        private static IDataView Keyed(MLContext ml, IEnumerable<Rating> rows)
        {
            var data = ml.Data.LoadFromEnumerable(rows);
            return KeyMapping(ml).Fit(data).Transform(data);
        }

        private static IEstimator<ITransformer> KeyMapping(MLContext ml) =>
            ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item"));

        private static MatrixFactorizationEstimator.Options Explicit(int rank = TrueRank, int iterations = 100) => new()
        {
            MatrixColumnIndexColumnName = "UserKey",
            MatrixRowIndexColumnName = "ItemKey",
            LabelColumnName = "Label",
            ApproximationRank = rank,
            NumberOfIterations = iterations,
            Lambda = 0.01,
            NumberOfThreads = 1,
            Seed = 3,
        };

        private static MatrixFactorizationEstimator.Options Implicit(int rank = 8, int iterations = 10) => new()
        {
            LossFunction = LossFunction.SquareLossOneClass,
            MatrixColumnIndexColumnName = "UserKey",
            MatrixRowIndexColumnName = "ItemKey",
            LabelColumnName = "Label",
            ApproximationRank = rank,
            NumberOfIterations = iterations,
            Alpha = 5,
            Lambda = 1,
            NumberOfThreads = 1,
            Seed = 3,
        };

        private static double RelativeError(MatrixFactorizationTransformer model, IEnumerable<Rating> rows)
        {
            double error = 0, norm = 0;
            foreach (var r in rows)
            {
                double e = model.Score(r.User, r.Item) - r.Label;
                error += e * e;
                norm += (r.Label - 3.0) * (r.Label - 3.0);
            }
            return Math.Sqrt(error / norm);
        }

        [Test]
        public void RecoversAPlantedLowRankMatrixOnHiddenCells()
        {
            var ml = new MLContext(seed: 1);
            var (observed, hidden) = PlantedRatings();
            var model = ml.Embeddings().MatrixFactorization(Explicit()).Fit(Keyed(ml, observed));
            double train = RelativeError(model, observed), test = RelativeError(model, hidden);
            TestContext.WriteLine($"relative error: observed {train:F4}, hidden {test:F4}");
            Assert.That(train, Is.LessThan(0.1));
            Assert.That(test, Is.LessThan(0.25), "relative error on the cells not seen in training");
            Assert.That(model.UserFactors.Count, Is.EqualTo(Users));
            Assert.That(model.ItemFactors.Count, Is.EqualTo(Items));
            Assert.That(model.UserFactors.Dimension, Is.EqualTo(TrueRank));
            Assert.That(model.UserFactors.Contains("u7") && model.ItemFactors.Contains("i9"), "tables keyed by the key values' text");
            Assert.That(model.GlobalBias, Is.EqualTo(observed.Average(r => r.Label)).Within(1e-4));
        }

        [Test]
        public void ValidationDataIsScoredAfterEveryIterationAsTheTransformerScoresIt()
        {
            var ml = new MLContext(seed: 1);
            var (observed, hidden) = PlantedRatings();
            // The validation keys are mapped separately (another key order), with an unseen user and an unseen item.
            var validationRows = hidden.Take(300).Append(new Rating { User = "stranger", Item = "i1", Label = 4 })
                .Append(new Rating { User = "u1", Item = "new item", Label = 2 }).Reverse().ToList();
            var validation = Keyed(ml, validationRows);
            var estimator = ml.Embeddings().MatrixFactorization(Explicit(iterations: 60));
            var model = estimator.Fit(Keyed(ml, observed), validation);
            var summary = model.TrainingSummary!;
            Assert.That(summary.ValidationRmsePerIteration, Has.Count.EqualTo(60));
            Assert.That(summary.ValidationRmsePerIteration[^1], Is.EqualTo(summary.ValidationRmse));
            double evaluated = ml.Regression.Evaluate(model.Transform(validation), "Label", "Score").RootMeanSquaredError;
            Assert.That(summary.ValidationRmse, Is.EqualTo(evaluated).Within(1e-5), "the same figure as scoring the validation data through the transformer");
            Assert.That(summary.ValidationRmsePerIteration[^1], Is.LessThan(0.5 * summary.ValidationRmsePerIteration[0]), "the planted structure is learned");
            Assert.That(summary.ToString(), Does.Contain("validation RMSE"));

            // Training does not read the validation data: the factors are those of Fit(train).
            var plain = ml.Embeddings().MatrixFactorization(Explicit(iterations: 60)).Fit(Keyed(ml, observed));
            Assert.That(plain.ItemFactors.GetVector("i3").ToArray(), Is.EqualTo(model.ItemFactors.GetVector("i3").ToArray()));
            Assert.That(double.IsNaN(plain.TrainingSummary!.ValidationRmse) && plain.TrainingSummary.ValidationRmsePerIteration.Count == 0);

            var error = Assert.Throws<NotSupportedException>(() => ml.Embeddings().MatrixFactorization(Implicit()).Fit(Keyed(ml, observed), validation))!;
            Assert.That(error.Message, Does.Contain("explicit loss"));
            var wrongLabel = ml.Transforms.Conversion.ConvertType("Label", outputKind: DataKind.Double).Fit(validation).Transform(validation);
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(Keyed(ml, observed), wrongLabel))!.Message, Does.StartWith("Validation data: ").And.Contain("'Label'"));
        }

        public sealed class NumberedRating
        {
            [KeyType(Users + 5)]
            public uint UserKey { get; set; }

            [KeyType(Items + 5)]
            public uint ItemKey { get; set; }

            public float Label { get; set; }
        }

        [Test]
        public void ValidationKeysAreMatchedByValueOrByNumberExactlyAsTheTransformerMatchesThem()
        {
            var ml = new MLContext(seed: 1);
            var (observed, hidden) = PlantedRatings();
            var random = new Random(2);
            // Keys without key values (matched by number), some beyond the trained range, and a NaN label that is left out.
            var numbered = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 200).Select(r => new NumberedRating
            {
                UserKey = (uint)random.Next(Users + 5),
                ItemKey = (uint)random.Next(Items + 5),
                Label = r == 7 ? float.NaN : (float)(1 + 4 * random.NextDouble()),
            }).ToList());
            var byValue = Keyed(ml, hidden.Take(200));
            var trainedByValue = Keyed(ml, observed);
            var trainedByNumber = ml.Data.LoadFromEnumerable(observed.Select(r => new NumberedRating
            {
                UserKey = uint.Parse(r.User[1..]) + 1,
                ItemKey = uint.Parse(r.Item[1..]) + 1,
                Label = r.Label,
            }).ToList());
            foreach (var (name, train, validation) in new[] { ("values / values", trainedByValue, byValue), ("values / numbers", trainedByValue, numbered),
                ("numbers / values", trainedByNumber, byValue), ("numbers / numbers", trainedByNumber, numbered) })
            {
                var model = ml.Embeddings().MatrixFactorization(Explicit(iterations: 20)).Fit(train, validation);
                double evaluated = ml.Regression.Evaluate(model.Transform(validation), "Label", "Score").RootMeanSquaredError;
                Assert.That(model.TrainingSummary!.ValidationRmse, Is.EqualTo(evaluated).Within(1e-5), $"training / validation keys by {name}");
            }
            var allNaN = ml.Data.LoadFromEnumerable(new[] { new NumberedRating { UserKey = 1, ItemKey = 1, Label = float.NaN } });
            Assert.That(Assert.Throws<ArgumentException>(() => ml.Embeddings().MatrixFactorization(Explicit(iterations: 2)).Fit(trainedByNumber, allNaN))!.Message,
                Does.StartWith("Validation data: no row with a label"));
            var infinite = ml.Data.LoadFromEnumerable(new[] { new NumberedRating { UserKey = 1, ItemKey = 1, Label = float.PositiveInfinity } });
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().MatrixFactorization(Explicit(iterations: 2)).Fit(trainedByNumber, infinite))!.Message,
                Does.StartWith("Validation data: label column 'Label' has Infinity"));
        }

        [Test]
        public void ConformsAndRejectsWrongColumnTypesWithClearMessages()
        {
            var ml = new MLContext(seed: 1);
            var data = Keyed(ml, PlantedRatings().Observed.Take(400));
            var textUser = ml.Data.LoadFromEnumerable(new[] { new { UserKey = "a", ItemKey = 1u, Label = 1f } });
            var uintUser = ml.Data.LoadFromEnumerable(new[] { new { UserKey = 1u, ItemKey = 2, Label = 1f } });
            var keyed = Keyed(ml, new[] { new Rating { User = "a", Item = "b", Label = 1 } });
            var textItem = ml.Transforms.CopyColumns("ItemKey", "Item").Fit(keyed).Transform(keyed);
            var doubleLabel = ml.Transforms.Conversion.ConvertType("Label", outputKind: DataKind.Double).Fit(keyed).Transform(keyed);
            var model = (MatrixFactorizationTransformer)EstimatorConformance.Check(ml.Embeddings().MatrixFactorization(Explicit(iterations: 5)), data,
                new InvalidInput("text user column", textUser, "column 'UserKey'", "Key<UInt32>", "String", "MapValueToKey"),
                new InvalidInput("UInt32 user column that is not a key", uintUser, "column 'UserKey'", "Key<UInt32>", "UInt32", "MapValueToKey"),
                new InvalidInput("text item column", textItem, "column 'ItemKey'", "Key<UInt32> for MatrixRowIndexColumnName (items)", "String"),
                new InvalidInput("double label", doubleLabel, "column 'Label'", "Single", "Double", "ConvertType") { FittedTransformerAccepts = true });
            Assert.That(model.ScoreColumnName, Is.EqualTo("Score"));

            var implicitModel = EstimatorConformance.Check(ml.Embeddings().MatrixFactorization(Implicit(iterations: 3)), data);
            Assert.That(((MatrixFactorizationTransformer)implicitModel).LossFunction, Is.EqualTo(LossFunction.SquareLossOneClass));
        }

        [Test]
        public void OneThreadIsBitIdenticalRunToRunAndThreadCountDoesNotChangeTheResult()
        {
            var ml = new MLContext(seed: 1);
            var data = Keyed(ml, PlantedRatings().Observed);
            foreach (var make in new Func<MatrixFactorizationEstimator.Options>[] { () => Explicit(iterations: 10), () => Implicit(iterations: 5) })
            {
                float[] Factors(int threads)
                {
                    var options = make();
                    options.NumberOfThreads = threads;
                    var model = ml.Embeddings().MatrixFactorization(options).Fit(data);
                    return model.UserFactors.Keys.SelectMany(k => model.UserFactors.GetVector(k))
                        .Concat(model.ItemFactors.Keys.SelectMany(k => model.ItemFactors.GetVector(k))).ToArray();
                }
                var first = Factors(1);
                Assert.That(Factors(1), Is.EqualTo(first), "one thread, run to run");
                Assert.That(Factors(2), Is.EqualTo(first), "two threads: rows (ALS) and stratified blocks (SGD) are independent of scheduling");
            }
        }

        [Test]
        public void ImplicitAlsBeatsPopularityOnPlantedPreferences()
        {
            // 4 groups of 30 users and 4 groups of 25 items; users consume 12 items of their group (group 0's items are
            // also the most popular: every user has 2 of them). One item per user is held out.
            var random = new Random(11);
            var train = new List<Rating>();
            var heldOut = new Dictionary<string, string>();
            for (int u = 0; u < 120; u++)
            {
                int group = u / 30;
                var items = Enumerable.Range(group * 25, 25).OrderBy(_ => random.Next()).Take(12).Select(i => $"i{i}").ToList();
                if (group != 0)
                    items.AddRange(Enumerable.Range(0, 25).OrderBy(_ => random.Next()).Take(2).Select(i => $"i{i}"));
                heldOut[$"u{u}"] = items[0];
                train.AddRange(items.Skip(1).Select(i => new Rating { User = $"u{u}", Item = i, Label = 1 }));
            }
            var ml = new MLContext(seed: 1);
            var model = ml.Embeddings().MatrixFactorization(Implicit()).Fit(Keyed(ml, train));
            var popularity = train.GroupBy(r => r.Item).ToDictionary(g => g.Key, g => (float)g.Count());
            var allItems = popularity.Keys.ToList();
            double HitRate(Func<string, string, float> score) => heldOut.Average(pair =>
            {
                var seen = train.Where(r => r.User == pair.Key).Select(r => r.Item).ToHashSet();
                var top = allItems.Where(i => !seen.Contains(i)).OrderByDescending(i => score(pair.Key, i)).ThenBy(i => i, StringComparer.Ordinal).Take(5);
                return top.Contains(pair.Value) ? 1.0 : 0.0;
            });
            double als = HitRate(model.Score), pop = HitRate((_, i) => popularity[i]);
            TestContext.WriteLine($"HR@5: ALS {als:F3}, popularity {pop:F3}");
            Assert.That(als, Is.GreaterThan(pop + 0.15));
            Assert.That(als, Is.GreaterThan(0.3));
        }

        [Test]
        public void UnseenUsersAndItemsGetTheDefinedScore()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedRatings().Observed;
            rows.Add(new Rating { User = "u-no-label", Item = "i0", Label = float.NaN }); // a key without training ratings
            var mapping = KeyMapping(ml).Fit(ml.Data.LoadFromEnumerable(rows));
            foreach (var options in new[] { Explicit(iterations: 20), Implicit() })
            {
                var pipeline = mapping.Append(ml.Embeddings().MatrixFactorization(options).Fit(mapping.Transform(ml.Data.LoadFromEnumerable(rows))));
                var model = (MatrixFactorizationTransformer)pipeline.LastTransformer;
                var engine = ml.Model.CreatePredictionEngine<Rating, Prediction>(pipeline);
                float Predict(string user, string item) => engine.Predict(new Rating { User = user, Item = item }).Score;
                bool isImplicit = options.LossFunction == LossFunction.SquareLossOneClass;
                float mu = model.GlobalBias;
                Assert.That(Predict("u1", "i2"), Is.EqualTo(model.Score("u1", "i2")), "prediction engine and Score agree");
                Assert.That(Predict("stranger", "i2"), Is.EqualTo(isImplicit ? 0 : mu + model.GetItemBias("i2")).Within(1e-5), "unknown user (key 0)");
                Assert.That(Predict("u1", "new-item"), Is.EqualTo(isImplicit ? 0 : mu + model.GetUserBias("u1")).Within(1e-5), "unknown item (key 0)");
                Assert.That(Predict("stranger", "new-item"), Is.EqualTo(isImplicit ? 0 : mu), "both unknown");
                Assert.That(Predict("u-no-label", "i2"), Is.EqualTo(isImplicit ? 0 : mu + model.GetItemBias("i2")).Within(1e-5), "a user key without training ratings");
                Assert.That(model.UserFactors.Contains("u-no-label"), Is.False);
                Assert.That(isImplicit ? 0 : mu, Is.Not.NaN);
            }

            // A key beyond the trained range, without key values: the fallback, no exception.
            var trained = ml.Embeddings().MatrixFactorization(Explicit(iterations: 5)).Fit(Keyed(ml, rows));
            var wide = ml.Data.LoadFromEnumerable(new[] { new WideKeyRow { Label = 1f, UserKey = 1000u, ItemKey = 1u } }, WideKeySchema());
            var score = ml.Data.CreateEnumerable<Prediction>(trained.Transform(wide), reuseRowObject: false).Single().Score;
            Assert.That(float.IsFinite(score));
        }

        private static SchemaDefinition WideKeySchema()
        {
            var schema = SchemaDefinition.Create(typeof(WideKeyRow));
            schema["UserKey"].ColumnType = new KeyDataViewType(typeof(uint), 5000);
            schema["ItemKey"].ColumnType = new KeyDataViewType(typeof(uint), 5000);
            return schema;
        }

        public sealed class WideKeyRow
        {
            public float Label { get; set; }
            public uint UserKey { get; set; }
            public uint ItemKey { get; set; }
        }

        public sealed class Prediction
        {
            public float Score { get; set; }
        }

        [Test]
        public void WarmStartFromTablesWithProjectionAndExportsFactorTables()
        {
            var ml = new MLContext(seed: 1);
            var (observed, hidden) = PlantedRatings();
            var data = Keyed(ml, observed);
            var reference = ml.Embeddings().MatrixFactorization(Explicit()).Fit(data);
            // Warm start from the trained tables: one epoch is already close; a different dimension is projected.
            var warm = Explicit(iterations: 1);
            warm.InitialUserFactors = reference.UserFactors;
            warm.InitialItemFactors = reference.ItemFactors;
            var cold = Explicit(iterations: 1);
            double warmError = RelativeError(ml.Embeddings().MatrixFactorization(warm).Fit(data), hidden);
            double coldError = RelativeError(ml.Embeddings().MatrixFactorization(cold).Fit(data), hidden);
            TestContext.WriteLine($"after one epoch: warm {warmError:F4}, random {coldError:F4}");
            Assert.That(warmError, Is.LessThan(coldError));

            var projected = Explicit(rank: 5, iterations: 2);
            projected.InitialItemFactors = reference.ItemFactors; // dimension 3 -> rank 5
            var model = ml.Embeddings().MatrixFactorization(projected).Fit(data);
            Assert.That(model.ItemFactors.Dimension, Is.EqualTo(5));

            var implicitWarm = Implicit(rank: 5, iterations: 2);
            implicitWarm.InitialItemFactors = reference.ItemFactors;
            Assert.That(ml.Embeddings().MatrixFactorization(implicitWarm).Fit(data).UserFactors.Count, Is.EqualTo(Users));
        }

        [Test]
        public void SimpleOverloadMatchesMlNetsParameters()
        {
            var ml = new MLContext(seed: 1);
            var data = Keyed(ml, PlantedRatings().Observed);
            var model = ml.Embeddings().MatrixFactorization("Label", matrixColumnIndexColumnName: "UserKey", matrixRowIndexColumnName: "ItemKey",
                approximationRank: 4, learningRate: 0.1, numberOfIterations: 50).Fit(data);
            Assert.That(model.ApproximationRank, Is.EqualTo(4));
            var metrics = ml.Regression.Evaluate(model.Transform(data), "Label", "Score");
            var labels = ml.Data.CreateEnumerable<Rating>(data, reuseRowObject: false).Select(r => (double)r.Label).ToList();
            double deviation = Math.Sqrt(labels.Average(x => (x - labels.Average()) * (x - labels.Average())));
            Assert.That(metrics.RootMeanSquaredError, Is.LessThan(0.8 * deviation), "better than predicting the mean");
        }

        private static IEnumerable<TestCaseData> InvalidOptions()
        {
            MatrixFactorizationEstimator.Options With(Action<MatrixFactorizationEstimator.Options> change, bool implicitLoss = false)
            {
                var options = implicitLoss ? Implicit() : Explicit();
                change(options);
                return options;
            }
            yield return new TestCaseData(With(o => o.ApproximationRank = 0), "ApproximationRank = 0").SetName("Rank0");
            yield return new TestCaseData(With(o => o.NumberOfIterations = -1), "NumberOfIterations = -1").SetName("NegativeIterations");
            yield return new TestCaseData(With(o => o.Lambda = 0), "Lambda = 0").SetName("Lambda0");
            yield return new TestCaseData(With(o => o.LearningRate = double.NaN), "LearningRate = NaN").SetName("LearningRateNaN");
            yield return new TestCaseData(With(o => o.NumberOfThreads = 0), "NumberOfThreads = 0").SetName("Threads0");
            yield return new TestCaseData(With(o => o.Alpha = 40), "Alpha = 40 applies only to LossFunction = SquareLossOneClass").SetName("AlphaWithRegression");
            yield return new TestCaseData(With(o => o.C = 0.5), "C = 0.5 applies only").SetName("CWithRegression");
            yield return new TestCaseData(With(o => o.LearningRate = 0.05, implicitLoss: true), "LearningRate = 0.05 does not apply to SquareLossOneClass").SetName("LearningRateWithImplicit");
            yield return new TestCaseData(With(o => o.Alpha = -1, implicitLoss: true), "Alpha = -1").SetName("NegativeAlpha");
            yield return new TestCaseData(With(o => o.C = 1, implicitLoss: true), "C = 1").SetName("C1");
            yield return new TestCaseData(With(o => o.MatrixRowIndexColumnName = ""), "MatrixRowIndexColumnName is empty").SetName("NoItemColumn");
            yield return new TestCaseData(With(o => o.MatrixRowIndexColumnName = "UserKey"), "both 'UserKey'").SetName("SameColumns");
            yield return new TestCaseData(With(o => o.LossFunction = (LossFunction)3), "LossFunction = 3").SetName("UnknownLoss");
            yield return new TestCaseData(With(o => o.ColdStartItemMaxRatings = -1), "ColdStartItemMaxRatings = -1 is invalid; use 0 (off").SetName("NegativeColdStartItemMaxRatings");
            yield return new TestCaseData(With(o => o.ColdStartItemMaxRatings = 2, implicitLoss: true), "ColdStartItemMaxRatings = 2 applies only to LossFunction = SquareLossRegression").SetName("ColdStartItemMaxRatingsWithImplicit");
        }

        [TestCaseSource(nameof(InvalidOptions))]
        public void InvalidOptionsAreRejectedNamingOptionAndValue(MatrixFactorizationEstimator.Options options, string message)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => ml.Embeddings().MatrixFactorization(options));
            Assert.That(e!.Message, Does.Contain(message));
        }

        [Test]
        public void NonNegativeIsSupportedForRatingsAndRefusedForImplicitFeedback()
        {
            var ml = new MLContext(seed: 1);
            var options = Explicit(iterations: 10);
            options.NonNegative = true;
            var model = ml.Embeddings().MatrixFactorization(options).Fit(Keyed(ml, PlantedRatings().Observed));
            Assert.That(model.ItemFactors.Keys.SelectMany(k => model.ItemFactors.GetVector(k)).Min(), Is.GreaterThanOrEqualTo(0));
            var implicitOptions = Implicit();
            implicitOptions.NonNegative = true;
            var e = Assert.Throws<NotSupportedException>(() => ml.Embeddings().MatrixFactorization(implicitOptions));
            Assert.That(e!.Message, Does.Contain("NonNegative = true is not supported with SquareLossOneClass"));
        }

        [Test]
        public void NegativeImplicitLabelIsRejectedAtFit()
        {
            var ml = new MLContext(seed: 1);
            var data = Keyed(ml, new[] { new Rating { User = "a", Item = "x", Label = 1 }, new Rating { User = "b", Item = "x", Label = -2 } });
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().MatrixFactorization(Implicit()).Fit(data));
            Assert.That(e!.Message, Does.Contain("label column 'Label' has -2 at row 2"));
        }

        [Test]
        public void ImplicitDuplicateEventsCountAsOneCellWithTheSummedStrength()
        {
            // Hu et al.: a cell's confidence is 1 + alpha * r with r the total strength; two events of strength 1 must
            // train exactly like one event of strength 2 (not like two cells of confidence 1 + alpha).
            var (observed, _) = PlantedRatings();
            var events = observed.Where(r => r.Label > 3).Select(r => new Rating { User = r.User, Item = r.Item, Label = 1 }).ToList();
            var duplicated = events.Concat(events.Where((_, k) => k % 3 == 0)).ToList();
            var summed = events.Select((r, k) => new Rating { User = r.User, Item = r.Item, Label = k % 3 == 0 ? 2 : 1 }).ToList();
            float[] Factors(List<Rating> rows)
            {
                var ml = new MLContext(seed: 1);
                var model = ml.Embeddings().MatrixFactorization(Implicit()).Fit(Keyed(ml, rows));
                return model.UserFactors.Keys.OrderBy(k => k, StringComparer.Ordinal).SelectMany(k => model.UserFactors.GetVector(k))
                    .Concat(model.ItemFactors.Keys.OrderBy(k => k, StringComparer.Ordinal).SelectMany(k => model.ItemFactors.GetVector(k))).ToArray();
            }
            var expected = Factors(summed);
            var actual = Factors(duplicated);
            Assert.That(actual.Length, Is.EqualTo(expected.Length));
            for (int j = 0; j < expected.Length; j++)
                Assert.That(actual[j], Is.EqualTo(expected[j]).Within(1e-4f), $"factor entry {j}");
        }
    }
}
