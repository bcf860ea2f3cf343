using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>
    /// The estimator's contract: pretrained and frozen tables, determinism across runs and thread counts, save/load
    /// identity, option and schema errors, early stopping and the exported field embeddings.
    /// </summary>
    [TestFixture]
    public class EndToEndEstimatorTests
    {
        public sealed class Prediction
        {
            public float Score { get; set; }

            public float Probability { get; set; }

            public bool PredictedLabel { get; set; }
        }

        private static List<Click> s_train = null!;
        private static MLContext s_ml = null!;
        private static IDataView s_data = null!;

        [OneTimeSetUp]
        public void SetUpData()
        {
            s_ml = new MLContext(seed: 1);
            s_train = EndToEndData.PlantedCross(600, seed: 61);
            s_data = EndToEndData.Keyed(s_ml, s_train, s_train)[0];
        }

        private static EndToEndEmbeddingEstimator.Options Small(EndToEndArchitecture architecture, EndToEndObjective objective = EndToEndObjective.BinaryClassification)
        {
            bool wide = architecture is EndToEndArchitecture.Wide or EndToEndArchitecture.FactorizationMachine or EndToEndArchitecture.WideAndDeep;
            return new()
            {
                Architecture = architecture,
                Objective = objective,
                LabelColumnName = objective == EndToEndObjective.BinaryClassification ? nameof(Click.Label) : nameof(Click.Rating),
                CategoricalColumnNames = ["User", "Item", "Gender", "Genre", "Tags"],
                NumericFeaturesColumnName = nameof(Click.Dense),
                WideCrosses = wide ? [["Gender", "Genre"]] : [],
                CrossHashBits = 8,
                EmbeddingDimension = 4,
                HiddenLayerSizes = [8, 4],
                ResidualUnitCount = 2,
                ResidualHiddenSize = 8,
                BatchSize = 100,
                LearningRate = 0.02f,
                NumberOfEpochs = 2,
                Seed = 3,
                NumberOfThreads = 1,
            };
        }

        private static EmbeddingTable RandomTable(IEnumerable<string> keys, int dimension, int seed)
        {
            var random = new Random(seed);
            var list = keys.ToList();
            return new EmbeddingTable(list, GradientCheck.Random(random, list.Count * dimension), dimension);
        }

        // ---- Pretrained and frozen embeddings ----

        [Test]
        public void AFrozenPretrainedFieldKeepsTheTableVectorsExactlyAndAFineTunedOneChanges(
            [Values(EndToEndArchitecture.FactorizationMachine, EndToEndArchitecture.WideAndDeep, EndToEndArchitecture.DeepCrossing, EndToEndArchitecture.FactorizationMachineNeuralNetwork)]
            EndToEndArchitecture architecture,
            [Values] bool frozen)
        {
            // Items i0..i14 are in the table, i15..i19 are not.
            var table = RandomTable(Enumerable.Range(0, 15).Select(i => "i" + i), 4, seed: 71);
            var options = Small(architecture);
            options.PretrainedEmbeddings["Item"] = new PretrainedFieldEmbedding(table, frozen) { ScaleToInitialSpread = false };
            options.LearningRate = 0.05f;
            var model = s_ml.Embeddings().EndToEnd(options).Fit(s_data);
            var learned = model.GetFieldEmbeddings("Item");
            Assert.That(learned.Count, Is.EqualTo(20));
            Assert.That(learned.Keys.Where(k => !table.Contains(k)).Order(StringComparer.Ordinal), Is.EqualTo(Enumerable.Range(15, 5).Select(i => "i" + i).Order(StringComparer.Ordinal)));
            int unchanged = table.Keys.Count(k => learned.GetVector(k).SequenceEqual(table.GetVector(k)));
            if (frozen)
            {
                Assert.That(unchanged, Is.EqualTo(table.Count), "every pretrained row kept bit for bit");
                foreach (string key in learned.Keys.Where(k => !table.Contains(k)))
                    Assert.That(learned.GetVector(key), Has.Some.Not.EqualTo(0f), $"'{key}' has a random start");
            }
            else
            {
                Assert.That(unchanged, Is.EqualTo(0), "every pretrained row of an item seen in training was fine-tuned");
            }
            // The other field is trained either way.
            Assert.That(model.GetFieldEmbeddings("User").Count, Is.EqualTo(50));
        }

        [Test]
        public void APretrainedTableScaledToTheInitialSpreadKeepsItsDirectionsWithTheConfiguredStandardDeviation()
        {
            var table = RandomTable(Enumerable.Range(0, 20).Select(i => "i" + i), 4, seed: 72);
            var options = Small(EndToEndArchitecture.WideAndDeep);
            options.InitialStandardDeviation = 0.05f;
            options.PretrainedEmbeddings["Item"] = new PretrainedFieldEmbedding(table, frozen: true);
            var learned = s_ml.Embeddings().EndToEnd(options).Fit(s_data).GetFieldEmbeddings("Item");
            var original = table.Keys.SelectMany(k => table.GetVector(k)).Select(v => (double)v).ToArray();
            var scaled = table.Keys.SelectMany(k => learned.GetVector(k)).Select(v => (double)v).ToArray();
            double factor = scaled[0] / original[0];
            for (int i = 0; i < original.Length; i++)
                Assert.That(scaled[i], Is.EqualTo(original[i] * factor).Within(1e-6), "one factor for the whole table");
            double mean = scaled.Average();
            double sd = Math.Sqrt(scaled.Select(v => (v - mean) * (v - mean)).Average());
            Assert.That(sd, Is.EqualTo(0.05).Within(1e-4));
        }

        [Test]
        public void APretrainedTableOfAnotherDimensionIsRefusedNamingTheOptionAndBothDimensions()
        {
            var options = Small(EndToEndArchitecture.WideAndDeep);
            options.PretrainedEmbeddings["Item"] = new PretrainedFieldEmbedding(RandomTable(["i0", "i1"], 3, seed: 1), frozen: true);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => s_ml.Embeddings().EndToEnd(options));
            Assert.That(e!.Message, Does.Contain("PretrainedEmbeddings = Item (dimension 3)"));
            Assert.That(e.Message, Does.Contain("EmbeddingDimension = 4"));
        }

        [Test]
        public void PretrainedEmbeddingsOnAKeyColumnWithoutKeyValuesAreRefusedAtFit()
        {
            var ml = new MLContext(seed: 1);
            var data = NetworkGradientTests.KeyRows(ml, [new() { A = 1, B = 1, C = [1], X = [0, 0], Label = 1 }, new() { A = 2, B = 2, C = [2], X = [0, 0], Label = 0 }]);
            var options = new EndToEndEmbeddingEstimator.Options
            {
                Architecture = EndToEndArchitecture.WideAndDeep,
                CategoricalColumnNames = ["A", "B"],
                EmbeddingDimension = 2,
                PretrainedEmbeddings = { ["A"] = new PretrainedFieldEmbedding(RandomTable(["1", "2"], 2, seed: 1), frozen: false) },
            };
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().EndToEnd(options).Fit(data));
            Assert.That(e!.Message, Does.Contain("'A'").And.Contain("MapValueToKey"));
        }

        // ---- Determinism ----

        [Test]
        public void TwoRunsWithASeedAndOneOrTwoThreadsGiveBitIdenticalScoresAndEmbeddings(
            [Values(EndToEndArchitecture.WideAndDeep, EndToEndArchitecture.DeepCrossing, EndToEndArchitecture.FactorizationMachineNeuralNetwork)] EndToEndArchitecture architecture)
        {
            // 600 rows in batches of 256: up to four blocks per batch, so that two threads really split a batch.
            var options = Small(architecture);
            options.BatchSize = 256;
            options.NumberOfEpochs = 3;
            (List<string> Scores, string[] Embeddings, EndToEndTrainingSummary Summary) Run(int threads)
            {
                var o = options.Clone();
                o.NumberOfThreads = threads;
                var model = s_ml.Embeddings().EndToEnd(o).Fit(s_data);
                var user = model.GetFieldEmbeddings("User");
                var vectors = user.Keys.Select(k => string.Join(",", user.GetVector(k).Select(v => BitConverter.SingleToInt32Bits(v)))).ToArray();
                return (EstimatorConformance.ColumnValues(model.Transform(s_data), "Score"), vectors, model.TrainingSummary!);
            }

            var first = Run(1);
            var second = Run(1);
            var twoThreads = Run(2);
            var fourThreads = Run(4);
            Assert.That(second.Scores, Is.EqualTo(first.Scores), "same seed, one thread: identical scores");
            Assert.That(second.Embeddings, Is.EqualTo(first.Embeddings), "same seed, one thread: identical embeddings");
            Assert.That(twoThreads.Scores, Is.EqualTo(first.Scores), "one thread vs two: identical scores");
            Assert.That(twoThreads.Embeddings, Is.EqualTo(first.Embeddings), "one thread vs two: identical embeddings");
            Assert.That(twoThreads.Summary.Epochs.Select(e => e.TrainingLoss), Is.EqualTo(first.Summary.Epochs.Select(e => e.TrainingLoss)));
            Assert.That(fourThreads.Scores, Is.EqualTo(first.Scores), "one thread vs four (more threads than blocks): identical scores");
            Assert.That(fourThreads.Embeddings, Is.EqualTo(first.Embeddings), "one thread vs four: identical embeddings");
            Assert.That(first.Scores.Distinct().Count(), Is.GreaterThan(10), "the scores vary");

            var other = options.Clone();
            other.Seed = 4;
            var otherScores = EstimatorConformance.ColumnValues(s_ml.Embeddings().EndToEnd(other).Fit(s_data).Transform(s_data), "Score");
            Assert.That(otherScores, Is.Not.EqualTo(first.Scores), "another seed gives another model");
        }

        // ---- Save/load, row mapper, prediction engine ----

        private static InvalidInput[] InvalidInputs(EndToEndObjective objective)
        {
            var ml = s_ml;
            var textField = ml.Transforms.Conversion.MapKeyToValue("Genre").Fit(s_data).Transform(s_data);
            var singleField = ml.Transforms.CopyColumns("Genre", nameof(Click.Rating)).Fit(s_data).Transform(s_data);
            var scalarNumeric = ml.Transforms.CopyColumns(nameof(Click.Dense), nameof(Click.Rating)).Fit(s_data).Transform(s_data);
            var missing = ml.Transforms.DropColumns("Item").Fit(s_data).Transform(s_data);
            string label = objective == EndToEndObjective.BinaryClassification ? nameof(Click.Label) : nameof(Click.Rating);
            var wrongLabel = ml.Transforms.CopyColumns(label, "User").Fit(s_data).Transform(s_data);
            return
            [
                new("a text field", textField, "'Genre'", "String", "Key<UInt32>", "MapValueToKey"),
                new("a Single field", singleField, "'Genre'", "Single", "Key<UInt32>", "MapValueToKey"),
                new("a scalar numeric column", scalarNumeric, "'Dense'", "Single", "known-size Vector<Single>", "Concatenate"),
                new("a missing field", missing, "'Item'", "not found"),
                new("a key label", wrongLabel, $"'{label}'", "Key<UInt32>", objective == EndToEndObjective.BinaryClassification ? "Boolean" : "Single") { FittedTransformerAccepts = true },
            ];
        }

        [Test]
        public void ConformanceOfEveryArchitecture([Values] EndToEndArchitecture architecture)
        {
            var estimator = s_ml.Embeddings().EndToEnd(Small(architecture));
            EstimatorConformance.Check(estimator, s_data, InvalidInputs(EndToEndObjective.BinaryClassification));
        }

        [Test]
        public void ConformanceOfRegression([Values(EndToEndArchitecture.Wide, EndToEndArchitecture.WideAndDeep)] EndToEndArchitecture architecture)
        {
            var estimator = s_ml.Embeddings().EndToEnd(Small(architecture, EndToEndObjective.Regression));
            EstimatorConformance.Check(estimator, s_data, InvalidInputs(EndToEndObjective.Regression));
        }

        [Test]
        public void APredictionEngineOverTheKeyMappingAndTheModelGivesTheTransformScores()
        {
            var ml = new MLContext(seed: 1);
            IEstimator<ITransformer> mapping = ml.Transforms.Conversion.MapValueToKey("User");
            foreach (string column in EndToEndData.KeyColumns.Skip(1))
                mapping = mapping.Append(ml.Transforms.Conversion.MapValueToKey(column));
            var pipeline = mapping.Append(ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.WideAndDeep)));
            var raw = ml.Data.LoadFromEnumerable(s_train);
            var model = pipeline.Fit(raw);
            var expected = model.Transform(raw).GetColumn<float>("Score").ToArray();
            var reloaded = EstimatorConformance.SaveAndLoad(model, raw.Schema);
            foreach (var candidate in new[] { (ITransformer)model, reloaded })
            {
                var engine = ml.Model.CreatePredictionEngine<Click, Prediction>(candidate);
                for (int i = 0; i < 50; i++)
                {
                    var prediction = engine.Predict(s_train[i]);
                    Assert.That(prediction.Score, Is.EqualTo(expected[i]), $"row {i}");
                    Assert.That(prediction.Probability, Is.EqualTo(EndToEndData.Sigmoid(expected[i])).Within(1e-6));
                    Assert.That(prediction.PredictedLabel, Is.EqualTo(expected[i] > 0));
                }
                // An unseen user and item and an unseen tag score through the "missing" rows, without an error.
                var unseen = engine.Predict(new Click { User = "nobody", Item = "nothing", Gender = "f", Genre = "g1", Tags = ["new"], Dense = [0, 0] });
                Assert.That(float.IsFinite(unseen.Score), Is.True);
            }
        }

        [Test]
        public void ScoringMatchesKeysByTheirValuesWhateverTheKeyNumbering()
        {
            var model = s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.WideAndDeep)).Fit(s_data);
            // The same rows keyed by a mapping fitted on the rows in reverse order: other key numbers, same values.
            var reversed = Enumerable.Reverse(s_train).ToList();
            var renumbered = EndToEndData.Keyed(s_ml, reversed, s_train)[0];
            uint[] before = s_data.GetColumn<uint>("User").ToArray(), after = renumbered.GetColumn<uint>("User").ToArray();
            Assert.That(after, Is.Not.EqualTo(before), "the numbering differs");
            Assert.That(EstimatorConformance.ColumnValues(model.Transform(renumbered), "Score"), Is.EqualTo(EstimatorConformance.ColumnValues(model.Transform(s_data), "Score")));
        }

        [Test]
        public void ASingleLabelPositiveAboveZeroTrainsTheSameModelAsABooleanLabel()
        {
            var rows = s_train.Select(r => new Click { User = r.User, Item = r.Item, Gender = r.Gender, Genre = r.Genre, Tags = r.Tags, Dense = r.Dense, Label = r.Label, Rating = r.Label ? 2.5f : -1f }).ToList();
            var data = EndToEndData.Keyed(s_ml, s_train, rows)[0];
            var boolean = Small(EndToEndArchitecture.FactorizationMachine);
            var single = boolean.Clone();
            single.LabelColumnName = nameof(Click.Rating);
            var a = EstimatorConformance.ColumnValues(s_ml.Embeddings().EndToEnd(boolean).Fit(data).Transform(data), "Score");
            var b = EstimatorConformance.ColumnValues(s_ml.Embeddings().EndToEnd(single).Fit(data).Transform(data), "Score");
            Assert.That(b, Is.EqualTo(a));
        }

        // ---- Invalid options ----

        private static IEnumerable<TestCaseData> InvalidOptions()
        {
            TestCaseData Case(string name, Action<EndToEndEmbeddingEstimator.Options> change, params string[] words) =>
                new TestCaseData(change, words).SetName("InvalidOption_" + name);

            yield return Case("EmbeddingDimension0", o => o.EmbeddingDimension = 0, "EmbeddingDimension = 0", "1 to 1024");
            yield return Case("EmbeddingDimension1025", o => o.EmbeddingDimension = 1025, "EmbeddingDimension = 1025", "1 to 1024");
            yield return Case("BatchSize0", o => o.BatchSize = 0, "BatchSize = 0", "1 to 1,048,576");
            yield return Case("LearningRate0", o => o.LearningRate = 0, "LearningRate = 0", "(0, 1]");
            yield return Case("LearningRate2", o => o.LearningRate = 2, "LearningRate = 2", "(0, 1]");
            yield return Case("NoFields", o => o.CategoricalColumnNames = [], "CategoricalColumnNames = (empty)", "at least one Key<UInt32> field column");
            yield return Case("DuplicateField", o => o.CategoricalColumnNames = ["User", "Item", "User"], "CategoricalColumnNames = User", "name each field once");
            yield return Case("LabelAsField", o => o.CategoricalColumnNames = ["User", "Label"], "CategoricalColumnNames = Label", "label column cannot also be a field");
            yield return Case("CrossUnknownField", o => o.WideCrosses = [["User", "Nope"]], "WideCrosses = [User, Nope]", "cross only names listed in CategoricalColumnNames");
            yield return Case("CrossOneField", o => o.WideCrosses = [["User"]], "WideCrosses = [User]", "two or more field names");
            yield return Case("CrossSameFieldTwice", o => o.WideCrosses = [["User", "User"]], "WideCrosses = [User, User]", "name each field once per cross");
            yield return Case("CrossesOnDeepCrossing", o =>
            {
                o.Architecture = EndToEndArchitecture.DeepCrossing;
                o.WideCrosses = [["User", "Item"]];
            }, "WideCrosses = [User, Item]", "DeepCrossing has no wide part");
            yield return Case("PretrainedOnWide", o =>
            {
                o.Architecture = EndToEndArchitecture.Wide;
                o.PretrainedEmbeddings["Item"] = new PretrainedFieldEmbedding(RandomTable(["i0"], 4, 1), frozen: true);
            }, "PretrainedEmbeddings = Item", "Wide architecture has no embeddings");
            yield return Case("PretrainedOnUnknownField", o => o.PretrainedEmbeddings["Nope"] = new PretrainedFieldEmbedding(RandomTable(["i0"], 4, 1), frozen: true),
                "PretrainedEmbeddings = Nope", "use a name listed in CategoricalColumnNames");
            yield return Case("AucWithRegression", o =>
            {
                o.Objective = EndToEndObjective.Regression;
                o.LabelColumnName = "Rating";
                o.EarlyStoppingMetric = EndToEndStoppingMetric.AreaUnderRocCurve;
            }, "EarlyStoppingMetric = AreaUnderRocCurve", "regression has no AUC; use Loss");
            yield return Case("HiddenLayerSizesEmpty", o => o.HiddenLayerSizes = [], "HiddenLayerSizes = []", "at least one layer size");
            yield return Case("HiddenLayerSizeZero", o => o.HiddenLayerSizes = [8, 0], "HiddenLayerSizes = [8, 0]", "1 to 65,536");
            yield return Case("FactorizationMachineOneField", o =>
            {
                o.Architecture = EndToEndArchitecture.FactorizationMachine;
                o.CategoricalColumnNames = ["User"];
                o.WideCrosses = [];
            }, "CategoricalColumnNames = User", "at least two fields");
            yield return Case("CrossHashBits31", o => o.CrossHashBits = 31, "CrossHashBits = 31", "1 to 30");
            yield return Case("ResidualUnitCount0", o => o.ResidualUnitCount = 0, "ResidualUnitCount = 0", "1 to 64");
            yield return Case("ResidualHiddenSize0", o => o.ResidualHiddenSize = 0, "ResidualHiddenSize = 0", "1 to 65,536");
            yield return Case("NumberOfEpochs0", o => o.NumberOfEpochs = 0, "NumberOfEpochs = 0", "1 or more");
            yield return Case("EarlyStoppingPatienceNegative", o => o.EarlyStoppingPatience = -1, "EarlyStoppingPatience = -1", "use 0");
            yield return Case("Beta1One", o => o.Beta1 = 1, "Beta1 = 1", "[0, 1)");
            yield return Case("Beta2Negative", o => o.Beta2 = -0.1f, "Beta2 = -0.1", "[0, 1)");
            yield return Case("Epsilon0", o => o.Epsilon = 0, "Epsilon = 0", "small positive value");
            yield return Case("L2Negative", o => o.L2Regularization = -1, "L2Regularization = -1", "0 or a small positive value");
            yield return Case("WeightAveragingDecayOne", o => o.WeightAveragingDecay = 1, "WeightAveragingDecay = 1", "0 (off) or a value in (0, 1)");
            yield return Case("WeightAveragingDecayNegative", o => o.WeightAveragingDecay = -0.5f, "WeightAveragingDecay = -0.5", "0 (off) or a value in (0, 1)");
            yield return Case("InitialStandardDeviation0", o => o.InitialStandardDeviation = 0, "InitialStandardDeviation = 0", "small positive value");
            yield return Case("NumberOfThreads0", o => o.NumberOfThreads = 0, "NumberOfThreads = 0", "1 or more");
            yield return Case("NumericAlsoAField", o => o.NumericFeaturesColumnName = "User", "NumericFeaturesColumnName = User", "neither a field nor the label");
            yield return Case("EmptyLabel", o => o.LabelColumnName = " ", "LabelColumnName", "name the label column");
        }

        [TestCaseSource(nameof(InvalidOptions))]
        public void AnInvalidOptionIsRefusedNamingTheOptionTheValueAndTheFix(Action<EndToEndEmbeddingEstimator.Options> change, string[] words)
        {
            var options = Small(EndToEndArchitecture.WideAndDeep);
            options.WideCrosses = [];
            change(options);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => new EndToEndEmbeddingEstimator(s_ml, options));
            Assert.That(e!.Message, Does.StartWith("EndToEndEmbeddingEstimator: "));
            foreach (string word in words)
                Assert.That(e.Message, Does.Contain(word));
            Assert.That(() => options.Validate(), Throws.InstanceOf<ArgumentOutOfRangeException>());
        }

        [Test]
        public void TheDefaultsAndAWideModelOverNumericFeaturesAloneAreValid()
        {
            Assert.That(() => new EndToEndEmbeddingEstimator.Options { CategoricalColumnNames = ["A"] }.Validate(), Throws.Nothing);
            Assert.That(() => new EndToEndEmbeddingEstimator.Options { Architecture = EndToEndArchitecture.Wide, NumericFeaturesColumnName = "X" }.Validate(), Throws.Nothing);
        }

        // ---- Schema errors beyond the conformance cases ----

        [Test]
        public void ABooleanLabelForRegressionIsRefusedNamingTheColumnAndTheFix()
        {
            var options = Small(EndToEndArchitecture.Wide, EndToEndObjective.Regression);
            options.LabelColumnName = nameof(Click.Label);
            var estimator = s_ml.Embeddings().EndToEnd(options);
            var fromShape = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Embeddings.Infrastructure.SchemaShapes.FromSchema(s_data.Schema)));
            var fromFit = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(s_data));
            foreach (var e in new[] { fromShape!, fromFit! })
                Assert.That(e.Message, Does.Contain("'Label'").And.Contain("Boolean").And.Contain("expected Single").And.Contain("ConvertType"));
        }

        [Test]
        public void AValidationViewWithADifferentNumericLengthIsRefused()
        {
            var other = s_ml.Transforms.Concatenate(nameof(Click.Dense), nameof(Click.Dense), nameof(Click.Dense)).Fit(s_data).Transform(s_data);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.Wide)).Fit(s_data, other));
            Assert.That(e!.Message, Does.Contain("validation data").And.Contain("'Dense'").And.Contain("Vector<Single, 2>").And.Contain("Vector<Single, 4>"));
        }

        [Test]
        public void TrainingDataWithOnlyMissingLabelsIsRefusedNamingTheLabelColumn()
        {
            var rows = s_train.Take(50).Select(r => new Click { User = r.User, Item = r.Item, Gender = r.Gender, Genre = r.Genre, Tags = r.Tags, Rating = float.NaN }).ToList();
            var data = EndToEndData.Keyed(s_ml, s_train, rows)[0];
            var e = Assert.Throws<InvalidOperationException>(() => s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.Wide, EndToEndObjective.Regression)).Fit(data));
            Assert.That(e!.Message, Does.Contain("'Rating'").And.Contain("50 rows had a missing (NaN) label"));
        }

        [Test]
        public void RowsWithAMissingLabelAreSkippedAndCounted()
        {
            var rows = s_train.Select((r, i) => new Click { User = r.User, Item = r.Item, Gender = r.Gender, Genre = r.Genre, Tags = r.Tags, Rating = i % 4 == 0 ? float.NaN : 1 + i % 3 }).ToList();
            var data = EndToEndData.Keyed(s_ml, s_train, rows)[0];
            var summary = s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.Wide, EndToEndObjective.Regression)).Fit(data).TrainingSummary!;
            Assert.That(summary.SkippedRows, Is.EqualTo(150));
            Assert.That(summary.TrainingRows, Is.EqualTo(450));
        }

        // ---- Early stopping ----

        [Test]
        public void EarlyStoppingStopsAfterPatienceEpochsWithoutImprovementAndKeepsTheBestEpoch()
        {
            // Labels independent of the features: the training loss falls (memorised users and items), validation cannot improve for long.
            var random = new Random(81);
            List<Click> Noise(int count) => EndToEndData.PlantedCross(count, seed: random.Next()).Select(r =>
            {
                r.Label = random.NextDouble() < 0.5;
                return r;
            }).ToList();
            var train = Noise(1500);
            var valid = Noise(500);
            var views = EndToEndData.Keyed(s_ml, train.Concat(valid), train, valid);
            var options = Small(EndToEndArchitecture.WideAndDeep);
            options.NumberOfEpochs = 30;
            options.LearningRate = 0.05f;
            options.EarlyStoppingPatience = 1;
            var model = s_ml.Embeddings().EndToEnd(options).Fit(views[0], views[1]);
            var summary = model.TrainingSummary!;
            var epochs = summary.Epochs;
            TestContext.Out.WriteLine(string.Join("; ", epochs.Select(e => FormattableString.Invariant($"{e.Epoch}: train {e.TrainingLoss:F4} valid {e.ValidationLoss:F4} AUC {e.ValidationAuc:F4}"))));
            Assert.That(epochs.Count, Is.LessThan(30), "stopped early");
            Assert.That(epochs.Select(e => e.Epoch), Is.EqualTo(Enumerable.Range(1, epochs.Count)));
            Assert.That(epochs.All(e => double.IsFinite(e.ValidationAuc) && double.IsFinite(e.ValidationLoss)), Is.True);
            Assert.That(epochs[^1].TrainingLoss, Is.LessThan(epochs[0].TrainingLoss), "training improves");
            int best = epochs.OrderByDescending(e => e.ValidationAuc).ThenBy(e => e.Epoch).First().Epoch;
            Assert.That(summary.BestEpoch, Is.EqualTo(best), "the best validation AUC");
            Assert.That(epochs.Count, Is.EqualTo(best + 1), "patience 1: the first epoch without improvement is the last");
            Assert.That(summary.ValidationRows, Is.EqualTo(500));
            Assert.That(summary.TrainingRows, Is.EqualTo(1500));

            // The kept parameters are the best epoch's: the model's validation AUC is the best epoch's figure.
            var scores = model.Transform(views[1]).GetColumn<float>("Score").ToArray();
            double auc = Embeddings.EndToEnd.EndToEndTraining.AreaUnderRocCurve(scores, valid.Select(r => r.Label ? 1f : 0f).ToArray());
            Assert.That(auc, Is.EqualTo(epochs[best - 1].ValidationAuc).Within(1e-9));
        }

        [Test]
        public void EarlyStoppingWithASignalKeepsALaterBestEpochAndStopsPatienceEpochsAfterIt()
        {
            // The planted cross is learned over a few epochs; then per-user and per-item weights start fitting noise.
            var train = EndToEndData.PlantedCross(1000, seed: 83);
            var valid = EndToEndData.PlantedCross(1000, seed: 84);
            var views = EndToEndData.Keyed(s_ml, train.Concat(valid), train, valid);
            var options = Small(EndToEndArchitecture.WideAndDeep);
            options.NumberOfEpochs = 40;
            options.LearningRate = 0.01f;
            options.EarlyStoppingPatience = 2;
            options.EarlyStoppingMetric = EndToEndStoppingMetric.Loss;
            var summary = s_ml.Embeddings().EndToEnd(options).Fit(views[0], views[1]).TrainingSummary!;
            var epochs = summary.Epochs;
            TestContext.Out.WriteLine(string.Join("; ", epochs.Select(e => FormattableString.Invariant($"{e.Epoch}: train {e.TrainingLoss:F4} valid {e.ValidationLoss:F4} AUC {e.ValidationAuc:F4}"))));
            Assert.That(epochs.Count, Is.LessThan(40), "stopped early");
            int best = epochs.OrderBy(e => e.ValidationLoss).ThenBy(e => e.Epoch).First().Epoch;
            Assert.That(summary.BestEpoch, Is.EqualTo(best));
            Assert.That(best, Is.GreaterThan(2), "validation improved for a while");
            Assert.That(epochs.Count, Is.EqualTo(best + 2), "patience 2");
        }

        [Test]
        public void WithoutPatienceEveryEpochRunsAndTheBestByValidationLossIsKept()
        {
            var valid = EndToEndData.PlantedCross(300, seed: 91);
            var views = EndToEndData.Keyed(s_ml, s_train.Concat(valid), s_train, valid);
            var options = Small(EndToEndArchitecture.FactorizationMachine);
            options.NumberOfEpochs = 5;
            options.EarlyStoppingMetric = EndToEndStoppingMetric.Loss;
            var summary = s_ml.Embeddings().EndToEnd(options).Fit(views[0], views[1]).TrainingSummary!;
            Assert.That(summary.Epochs.Count, Is.EqualTo(5));
            int best = summary.Epochs.OrderBy(e => e.ValidationLoss).ThenBy(e => e.Epoch).First().Epoch;
            Assert.That(summary.BestEpoch, Is.EqualTo(best));
        }

        private sealed class Collect : IProgress<EndToEndEpoch>
        {
            public List<EndToEndEpoch> Epochs { get; } = new();

            public void Report(EndToEndEpoch value) => Epochs.Add(value);
        }

        [Test]
        public void ProgressReceivesEveryEpochOfBothFnnStagesAsTheSummaryListsThem()
        {
            var progress = new Collect();
            var options = Small(EndToEndArchitecture.FactorizationMachineNeuralNetwork);
            options.NumberOfEpochs = 3;
            options.Progress = progress;
            var summary = s_ml.Embeddings().EndToEnd(options).Fit(s_data).TrainingSummary!;
            Assert.That(progress.Epochs, Is.EqualTo(summary.Epochs));
            Assert.That(summary.Epochs.Select(e => $"{e.Stage} {e.Epoch}"), Is.EqualTo(new[] { "fm 1", "fm 2", "fm 3", "fnn 1", "fnn 2", "fnn 3" }));
            Assert.That(summary.Epochs.All(e => double.IsNaN(e.ValidationAuc) && double.IsNaN(e.ValidationLoss)), Is.True, "no validation data");
            Assert.That(summary.BestEpoch, Is.EqualTo(3), "without validation, the last epoch");
        }

        [Test]
        public void ACancelledTokenStopsTraining()
        {
            using var source = new System.Threading.CancellationTokenSource();
            source.Cancel();
            var options = Small(EndToEndArchitecture.WideAndDeep);
            options.CancellationToken = source.Token;
            Assert.That(() => s_ml.Embeddings().EndToEnd(options).Fit(s_data), Throws.InstanceOf<OperationCanceledException>());
        }

        // ---- Field embeddings ----

        [Test]
        public void FieldEmbeddingsAreKeyedByTheKeyValuesOneRowPerKey()
        {
            var model = s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.WideAndDeep)).Fit(s_data);
            var keyValues = default(VBuffer<ReadOnlyMemory<char>>);
            foreach (string column in new[] { "User", "Genre", "Tags" })
            {
                s_data.Schema[column].GetKeyValues(ref keyValues);
                var expected = keyValues.DenseValues().Select(v => v.ToString()).ToArray();
                var table = model.GetFieldEmbeddings(column);
                Assert.That(table.Keys, Is.EqualTo(expected), column);
                Assert.That(table.Count, Is.EqualTo(expected.Length));
                Assert.That(table.Dimension, Is.EqualTo(4));
                Assert.That(table.Keys.Select(k => string.Join(",", table.GetVector(k))).Distinct().Count(), Is.EqualTo(expected.Length), "distinct vectors");
            }
            Assert.That(model.EmbeddingDimension, Is.EqualTo(4));
            Assert.That(model.CategoricalColumnNames, Is.EqualTo(new[] { "User", "Item", "Gender", "Genre", "Tags" }));
        }

        [Test]
        public void ASavedAndLoadedModelKeepsItsPropertiesAndFieldEmbeddings()
        {
            var options = Small(EndToEndArchitecture.DeepCrossing, EndToEndObjective.Regression);
            var model = s_ml.Embeddings().EndToEnd(options).Fit(s_data);
            var reloaded = EstimatorConformance.SaveAndLoad(model, s_data.Schema);
            var loaded = reloaded as EndToEndEmbeddingTransformer ?? ((TransformerChain<ITransformer>)reloaded).OfType<EndToEndEmbeddingTransformer>().Single();
            Assert.That(loaded.Architecture, Is.EqualTo(EndToEndArchitecture.DeepCrossing));
            Assert.That(loaded.Objective, Is.EqualTo(EndToEndObjective.Regression));
            Assert.That(loaded.CategoricalColumnNames, Is.EqualTo(model.CategoricalColumnNames));
            Assert.That(loaded.NumericFeaturesColumnName, Is.EqualTo(nameof(Click.Dense)));
            Assert.That(loaded.EmbeddingDimension, Is.EqualTo(4));
            Assert.That(loaded.TrainingSummary, Is.Null, "a loaded model has no training summary");
            Assert.That(model.TrainingSummary, Is.Not.Null);
            foreach (string field in model.CategoricalColumnNames)
            {
                var a = model.GetFieldEmbeddings(field);
                var b = loaded.GetFieldEmbeddings(field);
                Assert.That(b.Keys, Is.EqualTo(a.Keys));
                foreach (string key in a.Keys)
                    Assert.That(b.GetVector(key), Is.EqualTo(a.GetVector(key)), $"{field} '{key}'");
            }
        }

        [Test]
        public void FieldEmbeddingsOfAnUnknownColumnOrOfAWideModelAreRefused()
        {
            var deep = s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.DeepCrossing)).Fit(s_data);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => deep.GetFieldEmbeddings("Nope"));
            Assert.That(e!.Message, Does.Contain("'Nope' is not a field").And.Contain("'User', 'Item', 'Gender', 'Genre', 'Tags'"));
            var wide = s_ml.Embeddings().EndToEnd(Small(EndToEndArchitecture.Wide)).Fit(s_data);
            e = Assert.Throws<ArgumentOutOfRangeException>(() => wide.GetFieldEmbeddings("User"));
            Assert.That(e!.Message, Does.Contain("Wide architecture learns no embeddings"));
            Assert.That(wide.EmbeddingDimension, Is.EqualTo(0));
        }
    }
}
