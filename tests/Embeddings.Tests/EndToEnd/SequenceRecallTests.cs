using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Recommendation;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    [TestFixture]
    public class SequenceRecallTests
    {
        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        /// <summary>
        /// Four chains of 10 items (c_k is always followed by c_{k+1}, cyclically): each user walks one chain from a random
        /// start for <paramref name="steps"/> steps. Rows are shuffled; the time column orders them.
        /// </summary>
        private static Row[] Chains(int users, int seed, int steps = 12)
        {
            var random = new Random(seed);
            var rows = new List<Row>();
            for (int u = 0; u < users; u++)
            {
                int chain = u % 4, start = random.Next(10);
                for (int t = 0; t < steps; t++)
                    rows.Add(new Row { User = $"u{u}", Item = $"c{chain}_{(start + t) % 10}", Time = 100 + t });
            }
            return rows.OrderBy(_ => random.Next()).ToArray();
        }

        private sealed class FeatureRow
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public long Time { get; set; }

            [Microsoft.ML.Data.VectorType(2)]
            public float[] Group { get; set; } = new float[2];
        }

        /// <summary>x0, x1, x2 for every user, then "A" for group-0 users and "B" for group-1 users: only the side features tell.</summary>
        private static FeatureRow[] Groups(int users)
        {
            var rows = new List<FeatureRow>();
            for (int u = 0; u < users; u++)
            {
                int group = u % 2;
                var features = group == 0 ? new[] { 1f, 0f } : new[] { 0f, 1f };
                for (int t = 0; t < 3; t++)
                    rows.Add(new FeatureRow { User = $"u{u}", Item = $"x{t}", Time = t, Group = features });
                rows.Add(new FeatureRow { User = $"u{u}", Item = group == 0 ? "A" : "B", Time = 3, Group = features });
            }
            return rows.ToArray();
        }

        [Test]
        public void UserSideFeaturesFeedTheMeanPoolingNetwork()
        {
            double Accuracy(SequenceRecallTransformer model, bool withFeatures)
            {
                int correct = 0;
                for (int i = 0; i < 100; i++)
                {
                    int group = i % 2;
                    var history = new[] { "x0", "x1", "x2" };
                    float[]? features = withFeatures ? (group == 0 ? new[] { 1f, 0f } : new[] { 0f, 1f }) : null;
                    var top = model.Recommend(history, 1, history, features);
                    correct += top[0].Key == (group == 0 ? "A" : "B") ? 1 : 0;
                }
                return correct / 100.0;
            }
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(Groups(300));
            var options = Options(SequenceRecallArchitecture.MeanPooling);
            options.UserFeaturesColumnName = "Group";
            var model = ml.Embeddings().SequenceRecall(options).Fit(data);
            Assert.That(model.UserFeatureCount, Is.EqualTo(2));
            Assert.That(Accuracy(model, withFeatures: true), Is.GreaterThan(0.95));
            var plain = ml.Embeddings().SequenceRecall(Options(SequenceRecallArchitecture.MeanPooling)).Fit(data);
            Assert.That(Accuracy(plain, withFeatures: false), Is.LessThan(0.7), "without the features the group is a coin toss");
            // The training users' vectors include their features; save and load keeps them and the fold-in path.
            var reloaded = (SequenceRecallTransformer)EstimatorConformance.SaveAndLoad(model, data.Schema);
            var a = new float[model.ItemEmbeddings.Count];
            var b = new float[model.ItemEmbeddings.Count];
            model.Score(new[] { "x1", "x2" }, a, new[] { 0f, 1f });
            reloaded.Score(new[] { "x1", "x2" }, b, new[] { 0f, 1f });
            Assert.That(b, Is.EqualTo(a));
            Assert.That(model.UserEmbeddings.GetVector("u1"), Is.EqualTo(model.EncodeHistory(new[] { "x0", "x1", "x2", "B" }, new[] { 0f, 1f })));
            var e = Assert.Throws<ArgumentException>(() => model.Score(new[] { "x1" }, a, new[] { 1f }));
            Assert.That(e!.Message, Does.Contain("userFeatures holds 1 values; the model takes 2"));

            var gru = Options(SequenceRecallArchitecture.Gru);
            gru.UserFeaturesColumnName = "Group";
            var o = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(gru));
            Assert.That(o!.Message, Does.Contain("UserFeaturesColumnName = 'Group' is invalid").And.Contain("leave it null for Gru"));
            var wrong = Options(SequenceRecallArchitecture.MeanPooling);
            wrong.UserFeaturesColumnName = "Item";
            o = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(wrong).Fit(data));
            Assert.That(o!.Message, Does.Contain("the user features column 'Item' (UserFeaturesColumnName) is String").And.Contain("known-size Vector<Single>"));
        }

        /// <summary>
        /// The top-1 accuracy on 200 held-out histories of the chains of <see cref="Chains"/>: random chains, starts and
        /// lengths 1 to 5 (from a fixed stream), whose next item is the chain's next one.
        /// </summary>
        private static double ChainAccuracy(SequenceRecallTransformer model)
        {
            var random = new Random(9);
            int correct = 0;
            for (int i = 0; i < 200; i++)
            {
                int chain = random.Next(4), start = random.Next(10), length = 1 + random.Next(5);
                var history = Enumerable.Range(0, length).Select(t => $"c{chain}_{(start + t) % 10}").ToArray();
                correct += model.Recommend(history, 1, Array.Empty<string>())[0].Key == $"c{chain}_{(start + length) % 10}" ? 1 : 0;
            }
            return correct / 200.0;
        }

        /// <summary>
        /// The order rule's users: 12 for each ordered pair (a_i, a_j), i ≠ j, of 6 items, whose next item is "up" when
        /// i &lt; j and "down" when i &gt; j.
        /// </summary>
        private static List<Row> OrderRuleRows()
        {
            var rows = new List<Row>();
            int user = 0;
            for (int repeat = 0; repeat < 12; repeat++)
            {
                for (int i = 0; i < 6; i++)
                {
                    for (int j = 0; j < 6; j++)
                    {
                        if (i == j)
                            continue;
                        string u = $"u{user++}";
                        rows.Add(new Row { User = u, Item = $"a{i}", Time = 1 });
                        rows.Add(new Row { User = u, Item = $"a{j}", Time = 2 });
                        rows.Add(new Row { User = u, Item = i < j ? "up" : "down", Time = 3 });
                    }
                }
            }
            return rows;
        }

        /// <summary>The share of the 30 ordered pairs (a_i, a_j) whose top-1 recommendation is the order rule's next item.</summary>
        private static double OrderRuleAccuracy(SequenceRecallTransformer model)
        {
            int correct = 0, total = 0;
            for (int i = 0; i < 6; i++)
            {
                for (int j = 0; j < 6; j++)
                {
                    if (i == j)
                        continue;
                    correct += model.Recommend(new[] { $"a{i}", $"a{j}" }, 1)[0].Key == (i < j ? "up" : "down") ? 1 : 0;
                    total++;
                }
            }
            return (double)correct / total;
        }

        private static SequenceRecallEstimator.Options Options(SequenceRecallArchitecture architecture, int epochs = 30) => new()
        {
            UserColumnName = "User",
            ItemColumnName = "Item",
            TimestampColumnName = "Time",
            Architecture = architecture,
            EmbeddingDimension = 16,
            HistoryLength = 5,
            NumberOfEpochs = epochs,
            BatchSize = 64,
            LearningRate = 0.01f,
            Seed = 3,
            NumberOfThreads = 1,
        };

        [TestCase(SequenceRecallArchitecture.MeanPooling)]
        [TestCase(SequenceRecallArchitecture.Gru)]
        [TestCase(SequenceRecallArchitecture.SelfAttention)]
        public void RecoversPlantedChainsOnHeldOutHistories(SequenceRecallArchitecture architecture)
        {
            var ml = new MLContext(1);
            var model = ml.Embeddings().SequenceRecall(Options(architecture)).Fit(ml.Data.LoadFromEnumerable(Chains(200, 1)));
            Assert.That(ChainAccuracy(model), Is.GreaterThan(0.95), $"{architecture} top-1 accuracy");
        }

        /// <summary>Forced onto the sampled softmax (40 items above a threshold of 10, 12 negatives per batch): still recovers the chains.</summary>
        [TestCase(SequenceRecallArchitecture.MeanPooling, SampledSoftmaxProposal.LogUniform)]
        [TestCase(SequenceRecallArchitecture.Gru, SampledSoftmaxProposal.Popularity)]
        [TestCase(SequenceRecallArchitecture.SelfAttention, SampledSoftmaxProposal.LogUniform)]
        public void TheSampledSoftmaxRecoversPlantedChains(SequenceRecallArchitecture architecture, SampledSoftmaxProposal proposal)
        {
            var ml = new MLContext(1);
            var options = Options(architecture);
            options.SampledSoftmaxThreshold = 10;
            options.SampledNegativeCount = 12;
            options.SampledSoftmaxProposal = proposal;
            var model = ml.Embeddings().SequenceRecall(options).Fit(ml.Data.LoadFromEnumerable(Chains(200, 1)));
            Assert.That(ChainAccuracy(model), Is.GreaterThan(0.9), $"{architecture} {proposal} top-1 accuracy");
        }

        /// <summary>
        /// The next item depends on the order of the last two: after a_i then a_j it is "up" when i &lt; j and "down" when
        /// i &gt; j. Mean pooling sees the same bag for both orders, so it cannot do better than a coin; the GRU and
        /// self-attention (through its position embeddings) can.
        /// </summary>
        [Test]
        public void TheGruAndSelfAttentionLearnAnOrderDependentRuleThatMeanPoolingCannot()
        {
            var rows = OrderRuleRows();
            double Accuracy(SequenceRecallArchitecture architecture)
            {
                var ml = new MLContext(1);
                return OrderRuleAccuracy(ml.Embeddings().SequenceRecall(Options(architecture, epochs: 40)).Fit(ml.Data.LoadFromEnumerable(rows)));
            }
            double gru = Accuracy(SequenceRecallArchitecture.Gru);
            double attention = Accuracy(SequenceRecallArchitecture.SelfAttention);
            double mean = Accuracy(SequenceRecallArchitecture.MeanPooling);
            TestContext.Out.WriteLine($"order rule top-1: gru {gru:F3}, self-attention {attention:F3}, mean pooling {mean:F3}");
            Assert.That(gru, Is.GreaterThan(0.95));
            Assert.That(attention, Is.GreaterThan(0.95));
            Assert.That(mean, Is.LessThanOrEqualTo(0.6));
        }

        [TestCase(SequenceRecallArchitecture.MeanPooling, false)]
        [TestCase(SequenceRecallArchitecture.Gru, false)]
        [TestCase(SequenceRecallArchitecture.Gru, true)]
        [TestCase(SequenceRecallArchitecture.SelfAttention, false)]
        public void TrainingIsBitIdenticalForASeedWhateverTheThreadCount(SequenceRecallArchitecture architecture, bool sampled)
        {
            float[] Train(int threads)
            {
                var ml = new MLContext(1);
                var options = Options(architecture, epochs: 3);
                options.NumberOfThreads = threads;
                if (sampled)
                {
                    options.SampledSoftmaxThreshold = 10;
                    options.SampledNegativeCount = 9;
                }
                options.BatchSize = 200; // blocks of 64, 64, 64 and 8 examples
                var model = ml.Embeddings().SequenceRecall(options).Fit(ml.Data.LoadFromEnumerable(Chains(60, 2)));
                return model.ItemEmbeddings.Keys.SelectMany(k => model.ItemEmbeddings.GetVector(k))
                    .Concat(model.ItemBiases).Concat(model.UserEmbeddings.Keys.SelectMany(k => model.UserEmbeddings.GetVector(k))).ToArray();
            }
            var one = Train(1);
            Assert.That(Train(1), Is.EqualTo(one), "two runs with one thread");
            Assert.That(Train(3), Is.EqualTo(one), "three threads");
        }

        private static SequenceRecallEstimator.Options Windows(int epochs = 30, int batchSize = 16)
        {
            var options = Options(SequenceRecallArchitecture.SelfAttention, epochs);
            options.TrainingMode = SequenceRecallTrainingMode.CausalWindows;
            options.BatchSize = batchSize;
            return options;
        }

        /// <summary>
        /// Causal windows (each user's 11 targets cut into windows of 5, 5 and 1, trained at every position): the planted
        /// chains are recovered on held-out histories, the model saves and loads as any self-attention model, and the
        /// summary counts every target once.
        /// </summary>
        [Test]
        public void CausalWindowsRecoverPlantedChainsOnHeldOutHistoriesAndSaveAndLoad()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(Chains(200, 1));
            var model = ml.Embeddings().SequenceRecall(Windows()).Fit(data);
            Assert.That(model.TrainingSummary!.Examples, Is.EqualTo(200 * 11), "every position t >= 1 once");
            Assert.That(ChainAccuracy(model), Is.GreaterThan(0.95), "top-1 accuracy");
            var reloaded = (SequenceRecallTransformer)EstimatorConformance.SaveAndLoad(model, data.Schema);
            var before = new float[40];
            var after = new float[40];
            model.Score(new[] { "c2_7", "c2_8" }, before);
            reloaded.Score(new[] { "c2_7", "c2_8" }, after);
            Assert.That(after, Is.EqualTo(before));
        }

        /// <summary>The order rule of <see cref="TheGruAndSelfAttentionLearnAnOrderDependentRuleThatMeanPoolingCannot"/>, learned from causal windows (2 inputs, 2 targets each).</summary>
        [Test]
        public void CausalWindowsLearnTheOrderDependentRule()
        {
            var ml = new MLContext(1);
            var model = ml.Embeddings().SequenceRecall(Windows(epochs: 40)).Fit(ml.Data.LoadFromEnumerable(OrderRuleRows()));
            Assert.That(OrderRuleAccuracy(model), Is.GreaterThan(0.95));
        }

        /// <summary>Causal windows with blocks of 6 windows (T = 300) and batches of 50 (blocks of 6, ..., 6, 2): bit-identical for 1 and 3 threads.</summary>
        [Test]
        public void CausalWindowsAreBitIdenticalForASeedWhateverTheThreadCount()
        {
            float[] Train(int threads)
            {
                var ml = new MLContext(1);
                var options = Windows(epochs: 3, batchSize: 50);
                options.HistoryLength = 300;
                options.NumberOfThreads = threads;
                var model = ml.Embeddings().SequenceRecall(options).Fit(ml.Data.LoadFromEnumerable(Chains(60, 2)));
                return model.ItemEmbeddings.Keys.SelectMany(k => model.ItemEmbeddings.GetVector(k))
                    .Concat(model.ItemBiases).Concat(model.UserEmbeddings.Keys.SelectMany(k => model.UserEmbeddings.GetVector(k))).ToArray();
            }
            var one = Train(1);
            Assert.That(Train(1), Is.EqualTo(one), "two runs with one thread");
            Assert.That(Train(3), Is.EqualTo(one), "three threads");
        }

        [Test]
        public void CausalWindowsAreRefusedWhereTheyDoNotApply()
        {
            var ml = new MLContext(1);
            var gru = Options(SequenceRecallArchitecture.Gru);
            gru.TrainingMode = SequenceRecallTrainingMode.CausalWindows;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(gru));
            Assert.That(e!.Message, Does.Contain("TrainingMode = CausalWindows is invalid").And.Contain("use NextItem for Gru, or Architecture = SelfAttention"));
            var undefined = Windows();
            undefined.TrainingMode = (SequenceRecallTrainingMode)7;
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(undefined));
            Assert.That(e!.Message, Does.Contain("TrainingMode = 7 is invalid"));
            var sampled = Windows(epochs: 1);
            sampled.SampledSoftmaxThreshold = 10;
            var n = Assert.Throws<NotSupportedException>(() => ml.Embeddings().SequenceRecall(sampled).Fit(ml.Data.LoadFromEnumerable(Chains(20, 1))));
            Assert.That(n!.Message, Does.Contain("CausalWindows trains with the full softmax").And.Contain("Raise SampledSoftmaxThreshold to 40"));
        }

        [Test]
        public void ConformsSavesAndLoadsAndRejectsInvalidColumns()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(Chains(40, 4));
            var options = Options(SequenceRecallArchitecture.Gru, epochs: 2);
            var transformer = (SequenceRecallTransformer)EstimatorConformance.Check(ml.Embeddings().SequenceRecall(options), data,
                new InvalidInput("float user ids", ml.Data.LoadFromEnumerable(new[] { new { User = 1f, Item = "a", Time = 1L } }), "column 'User'", "Single"),
                new InvalidInput("no item column", ml.Data.LoadFromEnumerable(new[] { new { User = "u", Thing = "a", Time = 1L } }), "'Item'") { FittedTransformerAccepts = true },
                new InvalidInput("text time", ml.Data.LoadFromEnumerable(new[] { new { User = "u", Item = "a", Time = "noon" } }), "column 'Time'", "a time") { FittedTransformerAccepts = true });
            Assert.That(transformer.ItemEmbeddings.Count, Is.EqualTo(40));
            Assert.That(transformer.UserEmbeddings.Count, Is.EqualTo(40));
            Assert.That(transformer.ItemBiases, Has.Count.EqualTo(40));

            // The reloaded transformer keeps the whole model: fold-in scores are identical.
            var reloaded = (SequenceRecallTransformer)EstimatorConformance.SaveAndLoad(transformer, data.Schema);
            var history = new[] { "c1_3", "c1_4", "unknown", "c1_5" };
            var before = new float[40];
            var after = new float[40];
            transformer.Score(history, before);
            reloaded.Score(history, after);
            Assert.That(after, Is.EqualTo(before));
            Assert.That(reloaded.Architecture, Is.EqualTo(SequenceRecallArchitecture.Gru));
            Assert.That(reloaded.TrainingSummary, Is.Null);
            Assert.That(transformer.TrainingSummary!.Epochs, Has.Count.EqualTo(2));
        }

        /// <summary>Self-attention (2 blocks of 2 heads, dropout on in training only) saves and loads: fold-in scores are identical.</summary>
        [Test]
        public void SelfAttentionSavesAndLoadsWithItsBlocksAndHeads()
        {
            var ml = new MLContext(1);
            var data = ml.Data.LoadFromEnumerable(Chains(40, 4));
            var options = Options(SequenceRecallArchitecture.SelfAttention, epochs: 2);
            options.AttentionBlocks = 2;
            options.AttentionHeads = 2;
            options.DropoutRate = 0.3f;
            var transformer = ml.Embeddings().SequenceRecall(options).Fit(data);
            var reloaded = (SequenceRecallTransformer)EstimatorConformance.SaveAndLoad(transformer, data.Schema);
            Assert.That(reloaded.Architecture, Is.EqualTo(SequenceRecallArchitecture.SelfAttention));
            var history = new[] { "c1_3", "c1_4", "unknown", "c1_5" };
            var before = new float[40];
            var after = new float[40];
            transformer.Score(history, before);
            reloaded.Score(history, after);
            Assert.That(after, Is.EqualTo(before));
            Assert.That(before, Has.Some.Not.EqualTo(before[0]));
            // Encoding runs without dropout: the same history twice gives the same vector, and the training users' vectors are it.
            Assert.That(transformer.EncodeHistory(history), Is.EqualTo(transformer.EncodeHistory(history)));
            var u0 = Chains(40, 4).Where(r => r.User == "u0").OrderBy(r => r.Time).Select(r => r.Item).ToArray();
            Assert.That(transformer.UserEmbeddings.GetVector("u0"), Is.EqualTo(transformer.EncodeHistory(u0)));
            Assert.That(transformer.EncodeHistory(Array.Empty<string>()), Is.All.EqualTo(0f), "an empty history encodes to zeros");
        }

        [Test]
        public void InvalidOptionsAreRejectedNamingTheOptionTheValueAndTheFix()
        {
            var ml = new MLContext(1);
            SequenceRecallEstimator.Options With(Action<SequenceRecallEstimator.Options> change)
            {
                var o = Options(SequenceRecallArchitecture.Gru);
                change(o);
                return o;
            }
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.HiddenLayerSizes = [32])));
            Assert.That(e!.Message, Does.Contain("HiddenLayerSizes = 32 is invalid").And.Contain("leave it null for Gru"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.EmbeddingDimension = 0)));
            Assert.That(e!.Message, Does.Contain("EmbeddingDimension = 0 is invalid").And.Contain("use 1 to 1024"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.HistoryLength = -2)));
            Assert.That(e!.Message, Does.Contain("HistoryLength = -2 is invalid"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.LearningRate = float.NaN)));
            Assert.That(e!.Message, Does.Contain("LearningRate = NaN is invalid"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => { o.Architecture = SequenceRecallArchitecture.MeanPooling; o.HiddenLayerSizes = [0]; })));
            Assert.That(e!.Message, Does.Contain("HiddenLayerSizes = 0 is invalid").And.Contain("each 1 to 65,536"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.SampledNegativeCount = 0)));
            Assert.That(e!.Message, Does.Contain("SampledNegativeCount = 0 is invalid").And.Contain("use 1 to 100,000"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.SampledSoftmaxThreshold = 2_000_000)));
            Assert.That(e!.Message, Does.Contain("SampledSoftmaxThreshold = 2000000 is invalid"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.AttentionBlocks = 2)));
            Assert.That(e!.Message, Does.Contain("AttentionBlocks = 2 is invalid").And.Contain("leave it null for Gru"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => o.DropoutRate = 0.1f)));
            Assert.That(e!.Message, Does.Contain("DropoutRate = 0.1 is invalid").And.Contain("Architecture = SelfAttention"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => { o.Architecture = SequenceRecallArchitecture.SelfAttention; o.AttentionBlocks = 0; })));
            Assert.That(e!.Message, Does.Contain("AttentionBlocks = 0 is invalid").And.Contain("use 1 to 16"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => { o.Architecture = SequenceRecallArchitecture.SelfAttention; o.AttentionHeads = 3; })));
            Assert.That(e!.Message, Does.Contain("AttentionHeads = 3 is invalid").And.Contain("a divisor of EmbeddingDimension = 16"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => { o.Architecture = SequenceRecallArchitecture.SelfAttention; o.DropoutRate = 1; })));
            Assert.That(e!.Message, Does.Contain("DropoutRate = 1 is invalid").And.Contain("[0, 0.9]"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SequenceRecall(With(o => { o.Architecture = SequenceRecallArchitecture.SelfAttention; o.HiddenLayerSizes = [8]; })));
            Assert.That(e!.Message, Does.Contain("HiddenLayerSizes = 8 is invalid").And.Contain("leave it null for SelfAttention"));
            var a = Assert.Throws<ArgumentException>(() => ml.Embeddings().SequenceRecall(With(o => o.ItemColumnName = "")));
            Assert.That(a!.Message, Does.Contain("ItemColumnName is empty"));

            // Only single-interaction users: nothing to learn.
            var lonely = ml.Data.LoadFromEnumerable(new[] { new Row { User = "a", Item = "x" }, new Row { User = "b", Item = "y" } });
            var i = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().SequenceRecall(Options(SequenceRecallArchitecture.MeanPooling)).Fit(lonely));
            Assert.That(i!.Message, Does.Contain("no user has two or more interactions"));
        }

        [TestCase(SequenceRecallArchitecture.MeanPooling)]
        [TestCase(SequenceRecallArchitecture.Gru)]
        [TestCase(SequenceRecallArchitecture.SelfAttention)]
        public void ACandidateGeneratorFromTheExportedTablesReturnsTheModelsOwnTopK(SequenceRecallArchitecture architecture)
        {
            var ml = new MLContext(1);
            var rows = Chains(80, 6);
            var model = ml.Embeddings().SequenceRecall(Options(architecture, epochs: 5)).Fit(ml.Data.LoadFromEnumerable(rows));
            var generator = CandidateGenerator.FromVectors(model.UserEmbeddings, model.ItemEmbeddings, model.ItemBiases);
            var histories = rows.GroupBy(r => r.User).ToDictionary(g => g.Key, g => g.OrderBy(r => r.Time).Select(r => r.Item).ToArray());
            int compared = 0;
            foreach (var (user, history) in histories.Take(30))
            {
                var own = model.Recommend(history, 10);
                var recalled = generator.ForUser(user, history, 10, CandidateScoring.DotProduct);
                Assert.That(recalled.Select(c => c.Item), Is.EqualTo(own.Select(n => n.Key)), user);
                Assert.That(recalled.Select(c => c.Score), Is.EqualTo(own.Select(n => n.Similarity)).Within(1e-4f), user);
                var folded = generator.ForVector(user, model.EncodeHistory(history), history, 10);
                Assert.That(folded.Select(c => c.Item), Is.EqualTo(own.Select(n => n.Key)), user + " folded in");
                compared++;
            }
            Assert.That(compared, Is.EqualTo(30));
            Assert.Throws<ArgumentOutOfRangeException>(() => generator.ForUser("u1", Array.Empty<string>(), 5, CandidateScoring.Cosine));
            var e = Assert.Throws<ArgumentException>(() => CandidateGenerator.FromVectors(model.UserEmbeddings, model.ItemEmbeddings, model.ItemBiases.Take(3).ToArray()));
            Assert.That(e!.Message, Does.Contain("itemBiases holds 3 values for 40 items"));
        }

        [Test]
        public void AnHnswIndexOverTheExportedTablesFindsTheExactTopK()
        {
            var ml = new MLContext(1);
            var rows = Chains(80, 6);
            var model = ml.Embeddings().SequenceRecall(Options(SequenceRecallArchitecture.Gru, epochs: 5)).Fit(ml.Data.LoadFromEnumerable(rows));
            HnswNeighborIndex? built = null;
            var hnsw = CandidateGenerator.FromVectors(model.UserEmbeddings, model.ItemEmbeddings, model.ItemBiases,
                // More links per node than the catalogue has items and a search breadth above its size: no link is pruned and the
                // graph is searched whole, so neither the multi-threaded build order nor the inner product (under which a short
                // vector can lose every incoming link of a pruned graph) can cost recall; what is tested is the bias dimension.
                t => built = HnswNeighborIndex.Build(t, new HnswOptions { Metric = SimilarityMetric.DotProduct, Connectivity = 64, ExpansionSearch = 1000 }));
            using var index = built!;
            Assert.That(index.Table.Dimension, Is.EqualTo(17), "the bias is one more dimension");
            var exact = CandidateGenerator.FromVectors(model.UserEmbeddings, model.ItemEmbeddings, model.ItemBiases);
            int same = 0, total = 0;
            foreach (string user in model.UserEmbeddings.Keys)
            {
                var a = hnsw.ForUser(user, Array.Empty<string>(), 10, CandidateScoring.DotProduct).Select(c => c.Item);
                var b = exact.ForUser(user, Array.Empty<string>(), 10, CandidateScoring.DotProduct).Select(c => c.Item);
                same += a.Intersect(b).Count();
                total += 10;
            }
            Assert.That((double)same / total, Is.GreaterThanOrEqualTo(0.99), "recall@10 of HNSW against exact search");
            var e = Assert.Throws<ArgumentException>(() => CandidateGenerator.FromVectors(model.UserEmbeddings, model.ItemEmbeddings, model.ItemBiases,
                t => new ExactNeighborIndex(t, SimilarityMetric.Cosine)));
            Assert.That(e!.Message, Does.Contain("SimilarityMetric.DotProduct"));
        }

        [Test]
        public void ValidationKeepsTheBestEpochByHitRate()
        {
            var ml = new MLContext(1);
            var rows = Chains(80, 8, steps: 8);
            // Each user's next item after the training rows is the chain's successor of the last one (not yet seen).
            var validation = rows.GroupBy(r => r.User).Select(g =>
            {
                var last = g.OrderBy(r => r.Time).Last().Item;
                int chain = last[1] - '0', k = int.Parse(last[3..], System.Globalization.CultureInfo.InvariantCulture);
                return new Row { User = g.Key, Item = $"c{chain}_{(k + 1) % 10}" };
            }).ToArray();
            var options = Options(SequenceRecallArchitecture.MeanPooling, epochs: 6);
            var epochs = new List<SequenceRecallEpoch>();
            options.Progress = new Progress(epochs);
            var model = ml.Embeddings().SequenceRecall(options).Fit(ml.Data.LoadFromEnumerable(rows), ml.Data.LoadFromEnumerable(validation));
            var summary = model.TrainingSummary!;
            Assert.That(epochs.Select(e => e.Epoch), Is.EqualTo(new[] { 1, 2, 3, 4, 5, 6 }));
            double best = summary.Epochs.Max(e => e.ValidationHitRate);
            Assert.That(summary.Epochs[summary.BestEpoch - 1].ValidationHitRate, Is.EqualTo(best));
            Assert.That(summary.Epochs.Take(summary.BestEpoch - 1).Select(e => e.ValidationHitRate), Is.All.LessThan(best), "the first of equals");
            Assert.That(best, Is.GreaterThan(0.9));
            // The kept model is the best epoch's: its own hit rate on the validation rows is that epoch's.
            int hits = validation.Count(v =>
            {
                var history = rows.Where(r => r.User == v.User).OrderBy(r => r.Time).Select(r => r.Item).ToArray();
                return model.Recommend(history, 10).Any(n => n.Key == v.Item);
            });
            Assert.That((double)hits / validation.Length, Is.EqualTo(best).Within(1e-9));
        }

        private sealed class Progress : IProgress<SequenceRecallEpoch>
        {
            private readonly List<SequenceRecallEpoch> _epochs;

            public Progress(List<SequenceRecallEpoch> epochs) => _epochs = epochs;

            public void Report(SequenceRecallEpoch value) => _epochs.Add(value);
        }
    }
}
