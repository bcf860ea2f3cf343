using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Recommendation;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Recommendation
{
    /// <summary>
    /// The ranker's end-to-end sequence model (features and union recall) and the side information, on planted data
    /// where only that signal tells the next item.
    /// </summary>
    [TestFixture]
    public class SequenceAndSideFeatureTests
    {
        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        /// <summary>
        /// Order-dependent next items: ten items a0..a9 and five fillers b0..b4. Every user has four episodes of two
        /// distinct a items (eight distinct a's per user), a random filler, then the outcome o{i} of the first a of the
        /// episode; the last episode stops before its outcome, which is the held-out next item. Which of the two a's came
        /// first decides the outcome: transitions cannot tell (the filler sits between the a's and the outcome),
        /// co-occurrences and skip-gram windows are symmetric in the two a's, and the other a's outcome is unseen as well.
        /// A GRU over the history can.
        /// </summary>
        private static (Row[] Rows, Dictionary<string, string> Next) OrderRule(int users, int seed)
        {
            var random = new Random(seed);
            var rows = new List<Row>();
            var next = new Dictionary<string, string>();
            for (int u = 0; u < users; u++)
            {
                string user = $"u{u}";
                var a = Enumerable.Range(0, 10).OrderBy(_ => random.Next()).Take(8).ToArray();
                long time = 0;
                for (int k = 0; k < 4; k++)
                {
                    rows.Add(new Row { User = user, Item = $"a{a[2 * k]}", Time = time++ });
                    rows.Add(new Row { User = user, Item = $"a{a[2 * k + 1]}", Time = time++ });
                    rows.Add(new Row { User = user, Item = $"b{random.Next(5)}", Time = time++ });
                    if (k < 3)
                        rows.Add(new Row { User = user, Item = $"o{a[2 * k]}", Time = time++ });
                    else
                        next[user] = $"o{a[2 * k]}";
                }
            }
            return (rows.ToArray(), next);
        }

        private static RankingRecommenderOptions OrderRuleOptions(bool sequence)
        {
            var options = PlantedChains.Options();
            options.CandidateCount = 10;
            options.NumberOfTrees = 40;
            options.MinimumExampleCountPerLeaf = 10;
            // The fourth-last interaction is the last outcome (the three after it: the last episode's a, a and filler).
            options.RankerTrainingPeriods = 4;
            if (sequence)
            {
                options.SequenceModel = new SequenceRecallEstimator.Options
                {
                    Architecture = SequenceRecallArchitecture.Gru,
                    EmbeddingDimension = 16,
                    HistoryLength = 4,
                    NumberOfEpochs = 30,
                    BatchSize = 64,
                    LearningRate = 0.01f,
                };
                options.Features.SequenceCandidateCount = 5;
            }
            return options;
        }

        [Test]
        public void TheSequenceFeaturesRecoverAnOrderDependentNextItemThatTheBlendCannot()
        {
            var (rows, next) = OrderRule(400, seed: 11);
            double Accuracy(bool sequence)
            {
                var ml = new MLContext(seed: 1);
                var model = ml.Embeddings().RankingRecommender(OrderRuleOptions(sequence)).Fit(ml.Data.LoadFromEnumerable(rows));
                if (sequence)
                {
                    // Histories given at query time: the sequence model encodes them as it encodes the training users'.
                    int folded = next.Take(50).Count(p => model.RecommendForHistory(ml, rows.Where(r => r.User == p.Key).OrderBy(r => r.Time).Select(r => r.Item).ToArray(), 1)[0].Item == p.Value);
                    Assert.That(folded, Is.GreaterThan(45), $"fold-in top-1 hits {folded} of 50");
                }
                return next.Count(p => model.Recommend(ml, p.Key, 1).Single().Item == p.Value) / (double)next.Count;
            }
            double with = Accuracy(sequence: true);
            double without = Accuracy(sequence: false);
            TestContext.Out.WriteLine($"planted order rule, top-1: with the GRU features {with:F3}, without {without:F3}");
            Assert.That(with, Is.GreaterThan(0.9), "the GRU's logit tells which of o_ij and o_ji comes next");
            Assert.That(without, Is.LessThan(0.7), "transitions and co-occurrences cannot tell the order apart (about one in two at best)");
        }

        [Test]
        public void TheUnionAddsTheSequenceModelsTopItemsAfterTheBlendsWithoutRepeatsOrSeenItems()
        {
            var (rows, _) = OrderRule(200, seed: 3);
            var ml = new MLContext(seed: 1);
            var options = PlantedChains.FeatureOptions();
            options.SequenceModel = OrderRuleOptions(sequence: true).SequenceModel;
            options.Features.SequenceCandidateCount = 6;
            options.Features.Item2VecCandidateCount = 4;
            var features = ml.Embeddings().RecommendationFeatures(options).Fit(ml.Data.LoadFromEnumerable(rows));
            var featurizer = features.Featurizer;
            Assert.That(featurizer.SlotNames.TakeLast(3), Is.EqualTo(new[] { "Sequence.Logit", "Sequence.LogSoftmax", "Sequence.LogRank" }));
            int n = featurizer.Items.Count;
            for (int u = 0; u < 20; u++)
            {
                var history = featurizer.History(u).ToArray();
                var candidates = features.RecallCandidates(featurizer.Users[u], 8).Select(c => featurizer.ItemIndex(c.Item)).ToArray();
                Assert.That(candidates, Is.Unique);
                Assert.That(candidates, Has.None.AnyOf(history.Cast<object>().ToArray()), "seen items are never candidates");

                // The blend's own top 8 first, then the sequence model's top 6 of the rest, then item2vec's top 4 of the rest.
                float[] blend = new float[n], a = new float[n], b = new float[n], sequence = new float[n], logits = new float[n];
                featurizer.BlendScores(u, blend, a, b, featurizer.CreateScratch());
                featurizer.SequenceScores(u, sequence);
                featurizer.LogitScores(u, node2Vec: false, logits, featurizer.CreateScratch());
                var taken = new HashSet<int>(history);
                int[] Top(float[] scores, int count)
                {
                    var top = Enumerable.Range(0, n).Where(i => !taken.Contains(i)).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(count).ToArray();
                    taken.UnionWith(top);
                    return top;
                }
                var expected = Top(blend, 8).Concat(Top(sequence, 6)).Concat(Top(logits, 4)).ToArray();
                Assert.That(candidates, Is.EqualTo(expected), $"user {featurizer.Users[u]}");
            }
        }

        [Test]
        public void FeaturesWithASequenceModelSaveLoadAndGiveTheSameVectors()
        {
            var (rows, next) = OrderRule(60, seed: 5);
            var ml = new MLContext(seed: 1);
            var options = PlantedChains.FeatureOptions();
            options.SequenceModel = OrderRuleOptions(sequence: true).SequenceModel;
            options.SequenceModel!.NumberOfEpochs = 3;
            options.Features.SequenceCandidateCount = 3;
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = ml.Embeddings().RecommendationFeatures(options).Fit(data);
            var pairs = ml.Data.LoadFromEnumerable(next.Select(p => new PlantedChains.UserItem { User = p.Key, Item = p.Value })
                .Concat(new[] { new PlantedChains.UserItem { User = "stranger", Item = "a1" }, new PlantedChains.UserItem { User = "u1", Item = "nothing" } }));
            var reloaded = (RecommendationFeaturesTransformer)EstimatorConformance.SaveAndLoad(model, data.Schema);
            var before = EstimatorConformance.ColumnValues(model.Transform(pairs), "Features");
            Assert.That(EstimatorConformance.ColumnValues(reloaded.Transform(pairs), "Features"), Is.EqualTo(before));
            Assert.That(reloaded.RecallCandidates("u3", 5).Select(c => c.Item), Is.EqualTo(model.RecallCandidates("u3", 5).Select(c => c.Item)));

            // The saved state reads back and writes the same bytes.
            byte[] Bytes(RecommendationFeaturizer f)
            {
                using var stream = new MemoryStream();
                using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
                    f.Write(writer);
                return stream.ToArray();
            }
            Assert.That(Bytes(reloaded.Featurizer), Is.EqualTo(Bytes(model.Featurizer)));

            // The sequence features of a known pair: the logit, the log-softmax below it and a rank from 1.
            var vectors = model.Transform(pairs).GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToArray();
            var first = vectors[0][^3..];
            Assert.That(first[1], Is.LessThan(first[0]).Or.LessThan(0f));
            Assert.That(first[2], Is.GreaterThanOrEqualTo(MathF.Log(2)));
            Assert.That(vectors[^2][^3..], Is.EqualTo(new float[3]), "an unknown user has zero sequence features");
            Assert.That(vectors[^1][^3..], Is.EqualTo(new float[3]), "an unknown item has zero sequence features");
        }

        [Test]
        public void SequenceOptionsAreCheckedNamingTheOptionTheValueAndTheFix()
        {
            var ml = new MLContext(seed: 1);
            void Rejects(Action<RankingRecommenderOptions> change, params string[] words)
            {
                var options = OrderRuleOptions(sequence: true);
                change(options);
                var e = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => ml.Embeddings().RankingRecommender(options));
                foreach (string w in words)
                    Assert.That(e!.Message, Does.Contain(w));
            }
            Rejects(o => o.SequenceModel = null, "SequenceCandidateCount = 5", "set SequenceModel");
            Rejects(o => o.Features.SequenceCandidateCount = -1, "SequenceCandidateCount = -1", "0 (none) to 100,000");
            Rejects(o => o.Features.Item2VecCandidateCount = 100_001, "Item2VecCandidateCount = 100001");
            Rejects(o => o.SequenceModel!.EmbeddingDimension = 0, "EmbeddingDimension = 0", "1 to 1024");
            Rejects(o =>
            {
                o.SequenceModel!.Architecture = SequenceRecallArchitecture.MeanPooling;
                o.SequenceModel.UserFeaturesColumnName = "Age";
            }, "SequenceModel.UserFeaturesColumnName", "leave it null");
        }

        private sealed class UserInfo
        {
            public string User { get; set; } = "";
            public string Group { get; set; } = "";
        }

        private sealed class ItemInfo
        {
            public string Item { get; set; } = "";
            public string Kind { get; set; } = "";
        }

        /// <summary>
        /// A planted side-information effect: 40 items, half of kind x and half of kind y; users of group x (y) take a
        /// random item of their own kind last, after 8 random items of either kind. Only the user's group and the item's
        /// kind tell the next item's kind.
        /// </summary>
        private static (Row[] Rows, UserInfo[] Users, ItemInfo[] Items) GroupByKind(int users, int seed)
        {
            var random = new Random(seed);
            var rows = new List<Row>();
            var info = new List<UserInfo>();
            for (int u = 0; u < users; u++)
            {
                string user = $"u{u}", group = u % 2 == 0 ? "x" : "y";
                info.Add(new UserInfo { User = user, Group = group });
                var items = Enumerable.Range(0, 40).OrderBy(_ => random.Next()).Take(8).ToList();
                int last;
                do
                    last = random.Next(20) + (group == "x" ? 0 : 20);
                while (items.Contains(last));
                items.Add(last);
                for (int t = 0; t < items.Count; t++)
                    rows.Add(new Row { User = user, Item = $"i{items[t]}", Time = t });
            }
            var kinds = Enumerable.Range(0, 40).Select(i => new ItemInfo { Item = $"i{i}", Kind = i < 20 ? "x" : "y" }).ToArray();
            return (rows.ToArray(), info.ToArray(), kinds);
        }

        [Test]
        public void UserAndItemSideInformationRecoverAPlantedGroupByKindEffect()
        {
            var (rows, users, items) = GroupByKind(600, seed: 17);
            var kind = items.ToDictionary(i => i.Item, i => i.Kind);
            var group = users.ToDictionary(u => u.User, u => u.Group);
            double Share(bool side)
            {
                var ml = new MLContext(seed: 1);
                var options = PlantedChains.Options();
                options.RankerTrainingPeriods = 1;
                options.NumberOfTrees = 40;
                options.MinimumExampleCountPerLeaf = 20;
                options.CandidateCount = 30;
                if (side)
                {
                    options.UserSideInformation = ml.Transforms.Conversion.MapValueToKey(nameof(UserInfo.Group)).Fit(ml.Data.LoadFromEnumerable(users)).Transform(ml.Data.LoadFromEnumerable(users));
                    options.ItemSideInformation = ml.Transforms.Conversion.MapValueToKey(nameof(ItemInfo.Kind)).Fit(ml.Data.LoadFromEnumerable(items)).Transform(ml.Data.LoadFromEnumerable(items));
                }
                var model = ml.Embeddings().RankingRecommender(options).Fit(ml.Data.LoadFromEnumerable(rows));
                // The share of each user's top 5 of the user's group's kind.
                return users.Take(100).Average(u => model.Recommend(ml, u.User, 5).Count(r => kind[r.Item] == group[u.User]) / 5.0);
            }
            double with = Share(side: true);
            double without = Share(side: false);
            TestContext.Out.WriteLine($"planted group x kind effect, own-kind share of the top 5: with side information {with:F3}, without {without:F3}");
            Assert.That(with, Is.GreaterThan(0.9), "the ranker learns group x kind from the side slots");
            Assert.That(without, Is.LessThan(0.75), "the interactions alone hardly tell the kind of the next item");
        }
    }
}
