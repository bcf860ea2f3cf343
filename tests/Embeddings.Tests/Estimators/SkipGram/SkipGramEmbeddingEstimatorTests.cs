using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators
{
    [TestFixture]
    public class SkipGramEmbeddingEstimatorTests
    {
        private static SkipGramEmbeddingEstimator.Options Planted(SkipGramModel model = SkipGramModel.SkipGram, int negative = 5, bool hs = false) => new()
        {
            OutputColumnName = "Vector",
            InputColumnName = "Items",
            EmbeddingDimension = 24,
            WindowSize = 5,
            Model = model,
            NegativeSampleCount = negative,
            HierarchicalSoftmax = hs,
            Epochs = 10,
            MinCount = 1,
            SamplingThreshold = 0,
            NumberOfThreads = 1,
            Seed = 7,
        };

        private static IDataView PlantedData(MLContext ml, int seed = 3) =>
            ml.Data.LoadFromEnumerable(PlantedSequences.Generate(clusters: 8, itemsPerCluster: 15, sequences: 1500, seed));

        [TestCase(SkipGramModel.SkipGram, 5, false)]
        [TestCase(SkipGramModel.SkipGram, 0, true)]
        [TestCase(SkipGramModel.Cbow, 5, false)]
        [TestCase(SkipGramModel.Cbow, 0, true)]
        [TestCase(SkipGramModel.SkipGram, 5, true)]
        public void EveryModelAndObjectiveLearnsPlantedClusters(SkipGramModel model, int negative, bool hs)
        {
            var ml = new MLContext(seed: 1);
            var transformer = ml.Embeddings().SkipGram(Planted(model, negative, hs)).Fit(PlantedData(ml));
            Assert.That(transformer.Embeddings.Count, Is.EqualTo(120));
            double purity = PlantedSequences.NeighbourPurity(transformer.Embeddings, k: 10);
            // A random table scores 1/8 = 0.125; the cluster is recovered when nearly all neighbours share it.
            Assert.That(purity, Is.GreaterThan(0.9), $"{model}, negative {negative}, hs {hs}: neighbour purity {purity:F3}");
        }

        [Test]
        public void WholeSequenceContextLearnsBasketsOfTwo()
        {
            // Baskets of exactly two items (never dropped, window clipped): pairs (2k, 2k + 1) always co-occur.
            var random = new Random(5);
            var rows = Enumerable.Range(0, 4000).Select(_ =>
            {
                int pair = random.Next(30);
                return new PlantedSequences.Row { Items = new[] { $"p{pair}a", $"p{pair}b" } };
            }).ToArray();
            var ml = new MLContext(seed: 1);
            var options = Planted();
            options.WholeSequenceContext = true;
            options.KeepContextVectors = true;
            var transformer = ml.Embeddings().SkipGram(options).Fit(ml.Data.LoadFromEnumerable(rows));
            Assert.That(transformer.TrainingSummary.SequencesSkipped, Is.EqualTo(0));
            var embeddings = transformer.Embeddings;
            var context = transformer.ContextEmbeddings!;
            int hits = 0;
            for (int p = 0; p < 30; p++)
            {
                // The partner has the highest input-output score (the recommendation logit).
                var user = embeddings.GetVector($"p{p}a");
                string best = context.Keys.Where(k => k != $"p{p}a").OrderByDescending(k => Dot(user, context.GetVector(k))).First();
                hits += best == $"p{p}b" ? 1 : 0;
            }
            Assert.That(hits, Is.GreaterThanOrEqualTo(28), "input-output logit ranks the partner first");
        }

        private static float Dot(float[] a, float[] b) => a.Zip(b, (x, y) => x * y).Sum();

        [Test]
        public void OneThreadWithASeedIsBitIdentical()
        {
            var tables = new List<EmbeddingTable>();
            foreach (int contextSeed in new[] { 1, 2 })
            {
                var ml = new MLContext(seed: contextSeed);
                var options = Planted();
                options.SamplingThreshold = 1e-2;
                options.KeepContextVectors = true;
                var transformer = ml.Embeddings().SkipGram(options).Fit(PlantedData(ml));
                tables.Add(transformer.Embeddings);
                tables.Add(transformer.ContextEmbeddings!);
            }
            AssertBitIdentical(tables[0], tables[2]);
            AssertBitIdentical(tables[1], tables[3]);
        }

        [Test]
        public void SeedFromTheMLContextIsRepeatableAndDiffersBetweenContexts()
        {
            EmbeddingTable Train(int contextSeed)
            {
                var ml = new MLContext(seed: contextSeed);
                var options = Planted();
                options.Seed = null;
                options.Epochs = 1;
                return ml.Embeddings().SkipGram(options).Fit(PlantedData(ml)).Embeddings;
            }
            AssertBitIdentical(Train(4), Train(4));
            Assert.That(Train(5).GetVector("c0_i0"), Is.Not.EqualTo(Train(4).GetVector("c0_i0")));
        }

        [Test]
        public void KeySequencesTrainTheSameTablesAsText()
        {
            var ml = new MLContext(seed: 1);
            var data = PlantedData(ml);
            var keyed = ml.Transforms.Conversion.MapValueToKey("ItemKeys", "Items").Fit(data).Transform(data);
            var fromText = ml.Embeddings().SkipGram(Planted()).Fit(keyed);
            var keyOptions = Planted();
            keyOptions.InputColumnName = "ItemKeys";
            var fromKeys = EstimatorConformance.Check(ml.Embeddings().SkipGram(keyOptions), keyed);
            AssertBitIdentical(fromText.Embeddings, ((SkipGramEmbeddingTransformer)fromKeys).Embeddings);
        }

        [Test]
        public void ConformsAndRejectsUntokenizedText()
        {
            var ml = new MLContext(seed: 1);
            var options = Planted();
            options.Epochs = 1;
            var estimator = ml.Embeddings().SkipGram(options);
            EstimatorConformance.Check(estimator, PlantedData(ml),
                new InvalidInput("untokenized text", ml.Data.LoadFromEnumerable(new[] { new { Items = "a b c" } }), "column 'Items'", "String", "TokenizeIntoWords") { FittedTransformerAccepts = true },
                new InvalidInput("numbers", ml.Data.LoadFromEnumerable(new[] { new { Items = new float[] { 1, 2 } } }), "column 'Items'", "Single"),
                new InvalidInput("missing column", ml.Data.LoadFromEnumerable(new[] { new { Other = "x" } }), "'Items' was not found"));
        }

        [Test]
        public void SingleItemSequencesAreSkippedAndCounted()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedSequences.Generate(4, 5, 300, seed: 2).Concat(new[]
            {
                new PlantedSequences.Row { Items = new[] { "c0_i0" } },
                new PlantedSequences.Row { Items = Array.Empty<string>() },
                new PlantedSequences.Row { Items = new[] { "c1_i1", "rare-item" } },
            }).ToArray();
            var options = Planted();
            options.MinCount = 2;
            options.Epochs = 1;
            var summary = ml.Embeddings().SkipGram(options).Fit(ml.Data.LoadFromEnumerable(rows)).TrainingSummary;
            Assert.That(summary.SequencesSeen, Is.EqualTo(303));
            Assert.That(summary.SequencesSkipped, Is.EqualTo(3));
            Assert.That(summary.VocabularySize, Is.EqualTo(20));
        }

        [Test]
        public void ReportsProgressAndHonoursCancellation()
        {
            var ml = new MLContext(seed: 1);
            var reports = new List<SkipGramProgress>();
            var options = Planted();
            options.Progress = new SynchronousProgress(reports.Add);
            var transformer = ml.Embeddings().SkipGram(options).Fit(PlantedData(ml));
            Assert.That(reports, Is.Not.Empty);
            var last = reports[^1];
            Assert.That(last.TokensProcessed, Is.EqualTo(last.TotalTokens));
            Assert.That(last.TotalTokens, Is.EqualTo(transformer.TrainingSummary.CorpusTokens * 10));
            Assert.That(last.Loss, Is.GreaterThan(0).And.LessThan(1.0), "the loss fell below its starting value ln 2 + 5 ln 2");

            using var cancelled = new CancellationTokenSource();
            cancelled.Cancel();
            options.CancellationToken = cancelled.Token;
            Assert.Throws(Is.InstanceOf<OperationCanceledException>(), () => ml.Embeddings().SkipGram(options).Fit(PlantedData(ml)));
        }

        private sealed class SynchronousProgress : IProgress<SkipGramProgress>
        {
            private readonly Action<SkipGramProgress> _report;

            public SynchronousProgress(Action<SkipGramProgress> report) => _report = report;

            public void Report(SkipGramProgress value) => _report(value);
        }

        [Test]
        public void NothingToLearnIsReportedWithAdvice()
        {
            var ml = new MLContext(seed: 1);
            var options = Planted();
            options.MinCount = 1000;
            var error = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().SkipGram(options).Fit(PlantedData(ml)));
            Assert.That(error!.Message, Does.Contain("MinCount = 1000").And.Contain("Lower MinCount"));
        }

        [TestCase(1e300, "infinite negative-sampling weight")]
        [TestCase(-1e300, "weight of 0")]
        public void AnExponentThatBreaksTheNegativeSamplingWeightsIsReportedWithAdvice(double exponent, string expected)
        {
            var ml = new MLContext(seed: 1);
            var options = Planted();
            options.NegativeSamplingExponent = exponent;
            var error = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().SkipGram(options).Fit(PlantedData(ml)));
            Assert.That(error!.Message, Does.Contain("NegativeSamplingExponent = ").And.Contain(expected).And.Contain("use an exponent from -10 to 10"));
        }

        [Test]
        public void ACorpusThatSubsamplingWouldLeaveUntrainedIsRefused()
        {
            // Three short sentences: at 1e-3 subsampling keeps a few percent of each word, hardly ever two of one sentence.
            var sentences = new[] { new[] { "a", "b" }, new[] { "b", "c" }, new[] { "c", "a" } };
            var ml = new MLContext(seed: 1);
            var options = new SkipGramEmbeddingEstimator.Options { OutputColumnName = "v", MinCount = 1, EmbeddingDimension = 4, NumberOfThreads = 1 };
            var error = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().SkipGram(options).Fit(sentences));
            Assert.That(error!.Message, Does.Contain("SamplingThreshold = 0.001").And.Contain("of the 6 tokens").And.Contain("Lower SamplingThreshold (0 turns subsampling off)"));
            options.SamplingThreshold = 0;
            Assert.That(ml.Embeddings().SkipGram(options).Fit(sentences).Embeddings.Count, Is.EqualTo(3));
        }

        private static IEnumerable<TestCaseData> InvalidOptions()
        {
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.EmbeddingDimension = 0), "EmbeddingDimension = 0");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.WindowSize = 0), "WindowSize = 0");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.NegativeSampleCount = -1), "NegativeSampleCount = -1");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => { o.NegativeSampleCount = 0; o.HierarchicalSoftmax = false; }), "NegativeSampleCount = 0 with HierarchicalSoftmax = false");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.NegativeSamplingExponent = double.NaN), "NegativeSamplingExponent = NaN");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.SamplingThreshold = 1), "SamplingThreshold = 1");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.MinCount = 0), "MinCount = 0");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.MaxVocabularySize = 0), "MaxVocabularySize = 0");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.Epochs = 0), "Epochs = 0");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.LearningRate = -0.1f), "LearningRate = -0.1");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.NumberOfThreads = 0), "NumberOfThreads = 0");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.Model = (SkipGramModel)7), "Model = 7");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.Pooling = (EmbeddingPooling)7), "Pooling = 7");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => { o.KeepContextVectors = true; o.NegativeSampleCount = 0; o.HierarchicalSoftmax = true; }), "KeepContextVectors = true needs negative sampling");
            yield return new TestCaseData((Action<SkipGramEmbeddingEstimator.Options>)(o => o.OutputColumnName = ""), "OutputColumnName is empty");
        }

        [TestCaseSource(nameof(InvalidOptions))]
        public void InvalidOptionsAreRejectedNamingOptionAndValue(Action<SkipGramEmbeddingEstimator.Options> change, string expected)
        {
            var options = Planted();
            change(options);
            var error = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => new MLContext().Embeddings().SkipGram(options));
            Assert.That(error!.Message, Does.Contain(expected));
        }

        [Test]
        public void SkipGramFeedsFastTreeAndReloadsWithIdenticalScores()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedSequences.Generate(4, 10, 600, seed: 9)
                .Select(r => new LabeledRow { Items = r.Items, Label = PlantedSequences.ClusterOf(r.Items[0]) % 2 == 0 })
                .ToArray();
            var data = ml.Data.LoadFromEnumerable(rows);
            var options = Planted();
            options.Epochs = 3;
            var pipeline = ml.Embeddings().SkipGram(options)
                .Append(ml.Transforms.Concatenate("Features", "Vector"))
                .Append(ml.BinaryClassification.Trainers.FastTree(labelColumnName: "Label", numberOfLeaves: 4, numberOfTrees: 10, minimumExampleCountPerLeaf: 5));
            var model = pipeline.Fit(data);
            var metrics = ml.BinaryClassification.Evaluate(model.Transform(data), "Label");
            Assert.That(metrics.Accuracy, Is.GreaterThan(0.95), "the sequence vectors separate the planted clusters");
            var loaded = EstimatorConformance.SaveAndLoad(model, data.Schema);
            EstimatorConformance.AssertSameValues(model.Transform(data), loaded.Transform(data));
            var chain = (TransformerChain<ITransformer>)loaded;
            Assert.That(chain.OfType<SkipGramEmbeddingTransformer>().Single().Embeddings.Count, Is.EqualTo(40), "the loaded model keeps the trained transformer type and table");
        }

        private sealed class LabeledRow
        {
            public string[] Items { get; set; } = Array.Empty<string>();
            public bool Label { get; set; }
        }

        [Test]
        public void InMemoryAndStreamedSequencesTrainTheSameModelAsADataView()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedSequences.Generate(clusters: 8, itemsPerCluster: 15, sequences: 600, seed: 3);
            var options = Planted();
            options.KeepContextVectors = true;
            var fromView = ml.Embeddings().SkipGram(options).Fit(ml.Data.LoadFromEnumerable(rows));
            var fromLists = ml.Embeddings().SkipGram(options).Fit(rows.Select(r => r.Items));
            int passes = 0;
            var fromWriter = ml.Embeddings().SkipGram(options).Fit(writer =>
            {
                passes++;
                foreach (var row in rows)
                {
                    foreach (string item in row.Items)
                        writer.Add(item.AsSpan());
                    writer.EndSequence();
                }
            });
            Assert.That(passes, Is.EqualTo(2), "one counting pass, one training pass");
            AssertBitIdentical(fromView.Embeddings, fromLists.Embeddings);
            AssertBitIdentical(fromView.Embeddings, fromWriter.Embeddings);
            AssertBitIdentical(fromView.ContextEmbeddings!, fromLists.ContextEmbeddings!);
            Assert.That(fromLists.GetOutputSchema(ml.Data.LoadFromEnumerable(rows).Schema).GetColumnOrNull("Vector"), Is.Not.Null, "maps the options' columns");

            // Counts in key order, most frequent first, as the word2vec tool's -save-vocab writes them.
            var counts = fromLists.TrainingSummary.ItemCounts;
            var expected = rows.SelectMany(r => r.Items).GroupBy(i => i).ToDictionary(g => g.Key, g => (long)g.Count());
            Assert.That(counts, Has.Count.EqualTo(fromLists.Embeddings.Count));
            for (int i = 0; i < counts.Count; i++)
                Assert.That(counts[i], Is.EqualTo(expected[fromLists.Embeddings.Keys[i]]));
            Assert.That(counts, Is.Ordered.Descending);
        }

        internal static void AssertBitIdentical(EmbeddingTable a, EmbeddingTable b)
        {
            Assert.That(b.Keys, Is.EqualTo(a.Keys));
            foreach (string key in a.Keys)
            {
                var x = a.GetVector(key).Select(BitConverter.SingleToInt32Bits);
                var y = b.GetVector(key).Select(BitConverter.SingleToInt32Bits);
                Assert.That(y, Is.EqualTo(x), key);
            }
        }
    }
}
