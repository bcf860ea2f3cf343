using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Recommendation
{
    [TestFixture]
    public class RankingRecommenderTests
    {
        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        private sealed class UserItem
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
        }

        private sealed class Prediction
        {
            public float Score { get; set; }
        }

        /// <summary>
        /// Four chains of 12 items (c0 -> c1 -> ... -> c11 -> c0): each of 120 users walks one chain for 10 steps from a
        /// random start, with one random off-chain item inserted; the planted next item is the successor of the last one.
        /// </summary>
        private static (Row[] Rows, Dictionary<string, string> Next) Planted()
        {
            var random = new Random(5);
            var rows = new List<Row>();
            var next = new Dictionary<string, string>();
            for (int u = 0; u < 120; u++)
            {
                string user = $"u{u}";
                int chain = u % 4, start = random.Next(12);
                int noiseAt = 1 + random.Next(8);
                long time = 1000;
                for (int t = 0; t < 10; t++)
                {
                    rows.Add(new Row { User = user, Item = $"c{chain}-{(start + t) % 12}", Time = time++ });
                    if (t == noiseAt)
                        rows.Add(new Row { User = user, Item = $"c{random.Next(4)}-{random.Next(12)}", Time = time++ });
                }
                next[user] = $"c{chain}-{(start + 10) % 12}";
            }
            return (rows.OrderBy(_ => random.Next()).ToArray(), next);
        }

        private static RankingRecommenderOptions Options()
        {
            var options = new RankingRecommenderOptions
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                TimestampColumnName = "Time",
                CandidateCount = 10,
                NumberOfTrees = 20,
                NumberOfLeaves = 4,
                MinimumExampleCountPerLeaf = 5,
                Seed = 3,
                NumberOfThreads = 1,
            };
            options.Item2Vec.EmbeddingDimension = 16;
            options.Item2Vec.Epochs = 10;
            options.Item2Vec.SamplingThreshold = 0;
            options.ItemGraph.EmbeddingDimension = 16;
            options.ItemGraph.WalkLength = 10;
            options.ItemGraph.WalksPerNode = 5;
            return options;
        }

        [Test]
        public void FeaturesConformAndFollowThePlantedTransitions()
        {
            var ml = new MLContext(seed: 1);
            var (rows, next) = Planted();
            var data = ml.Data.LoadFromEnumerable(rows);
            var o = Options();
            var estimator = ml.Embeddings().RecommendationFeatures(new RecommendationFeaturesEstimator.Options
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                TimestampColumnName = "Time",
                Item2Vec = o.Item2Vec,
                ItemGraph = o.ItemGraph,
                Seed = 3,
                NumberOfThreads = 1,
            });
            var transformer = (RecommendationFeaturesTransformer)EstimatorConformance.Check(estimator, data,
                new InvalidInput("float user ids", ml.Data.LoadFromEnumerable(new[] { new { User = 1f, Item = "a", Time = 1L } }), "column 'User'", "Single"),
                new InvalidInput("text time", ml.Data.LoadFromEnumerable(new[] { new { User = "1", Item = "a", Time = "noon" } }), "column 'Time'", "a time") { FittedTransformerAccepts = true });
            Assert.That(transformer.Items, Has.Count.EqualTo(48));
            Assert.That(RecommendationFeaturesTransformer.FeatureNames, Has.Count.EqualTo(20));

            // The planted successor has more transitions from the recent items, and a better blend rank, than an item of another chain.
            var pairs = next.Select(p => new UserItem { User = p.Key, Item = p.Value })
                .Concat(next.Select(p => new UserItem { User = p.Key, Item = $"c{(int.Parse(p.Key[1..]) + 1) % 4}-0" }))
                .Concat(new[] { new UserItem { User = "stranger", Item = "c0-0" }, new UserItem { User = "u0", Item = "unknown" } }).ToArray();
            var features = ReadFeatures(transformer.Transform(ml.Data.LoadFromEnumerable(pairs)));
            int names(string name) => RecommendationFeaturesTransformer.FeatureNames.ToList().IndexOf(name);
            int users = next.Count;
            int transitionWins = Enumerable.Range(0, users).Count(i => features[i][names("LogTransitionsFromRecent")] > features[users + i][names("LogTransitionsFromRecent")]);
            int blendWins = Enumerable.Range(0, users).Count(i => features[i][names("Blend")] > features[users + i][names("Blend")]);
            int rankTop = Enumerable.Range(0, users).Count(i => features[i][names("LogBlendRank")] <= MathF.Log(1 + 3));
            Assert.That(transitionWins, Is.GreaterThan(0.9 * users));
            Assert.That(blendWins, Is.GreaterThan(0.9 * users));
            Assert.That(rankTop, Is.GreaterThan(0.8 * users), "the successor ranks in the top 3 by the blend for most users");
            // Unknown users and items: defined features, no exception; user-free features of a known item remain.
            var stranger = features[2 * users];
            Assert.That(stranger[names("Item2VecLogit")], Is.EqualTo(0));
            Assert.That(stranger[names("LogPopularity")], Is.GreaterThan(0));
            Assert.That(features[2 * users + 1].Where((v, j) => j != names("LogUserActivity")), Is.All.EqualTo(0));

            // Blend recall as an API and as candidate rows for a ranker: unseen items only, best first, one key group per user.
            var candidates = transformer.RecallCandidates("u3", 5);
            Assert.That(candidates.Select(c => c.Rank), Is.EqualTo(new[] { 1, 2, 3, 4, 5 }));
            Assert.That(candidates.Select(c => c.Score), Is.Ordered.Descending);
            Assert.That(candidates.Select(c => c.Item), Has.None.AnyOf(rows.Where(r => r.User == "u3").Select(r => (object)r.Item).ToArray()));
            int firstIsNext = next.Count(p => transformer.RecallCandidates(p.Key, 1)[0].Item == p.Value);
            Assert.That(firstIsNext, Is.GreaterThan(0.7 * users));
            Assert.That(transformer.RecallCandidates("stranger", 5), Is.Empty);
            var candidateRows = transformer.CandidateRows(ml, new[] { "u0", "u1", "stranger", "u2" }, 4);
            Assert.That(candidateRows.Schema["GroupId"].Type, Is.TypeOf<KeyDataViewType>());
            var groups = candidateRows.GetColumn<uint>("GroupId").ToArray();
            Assert.That(groups, Is.EqualTo(new uint[] { 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4 }));
            Assert.That(((VectorDataViewType)transformer.Transform(candidateRows).Schema["Features"].Type).ItemType, Is.EqualTo(NumberDataViewType.Single));
        }

        [Test]
        public void RecommendsThePlantedNextItemAndSavesAsOneModelWithIdenticalScores()
        {
            var ml = new MLContext(seed: 1);
            var (rows, next) = Planted();
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = ml.Embeddings().RankingRecommender(Options()).Fit(data);

            int top1 = next.Count(p => model.Recommend(ml, p.Key, 1).Single().Item == p.Value);
            Assert.That(top1, Is.GreaterThan(0.8 * next.Count), $"the planted next item comes first for {top1} of {next.Count} users");
            var seen = rows.Where(r => r.User == "u7").Select(r => r.Item).ToHashSet();
            Assert.That(model.Recommend(ml, "u7", 10).Select(r => r.Item), Has.None.AnyOf(seen.ToArray()), "seen items are excluded");
            Assert.That(model.Recommend(ml, "stranger", 5), Is.Empty);

            // One ML.NET model: features and ranker saved together, reloaded in a new context with identical scores.
            var pairs = ml.Data.LoadFromEnumerable(next.Select(p => new UserItem { User = p.Key, Item = p.Value })
                .Concat(new[] { new UserItem { User = "stranger", Item = "c1-1" }, new UserItem { User = "u1", Item = "nothing" } }));
            var reloaded = EstimatorConformance.SaveAndLoad(model, data.Schema);
            var before = model.Transform(pairs);
            var after = reloaded.Transform(pairs);
            Assert.That(EstimatorConformance.ColumnValues(after, "Score"), Is.EqualTo(EstimatorConformance.ColumnValues(before, "Score")));
            var engine = ml.Model.CreatePredictionEngine<UserItem, Prediction>(reloaded);
            var scores = before.GetColumn<float>("Score").ToArray();
            Assert.That(engine.Predict(new UserItem { User = "u0", Item = next["u0"] }).Score, Is.EqualTo(scores[0]));
            Assert.That(float.IsFinite(engine.Predict(new UserItem { User = "stranger", Item = "nothing" }).Score), Is.True);

            // One thread and a seed: the same model again.
            var again = ml.Embeddings().RankingRecommender(Options()).Fit(data);
            Assert.That(again.Transform(pairs).GetColumn<float>("Score").ToArray(), Is.EqualTo(scores));
        }

        [Test]
        public void InvalidOptionsAreRejectedNamingOptionAndValue()
        {
            var ml = new MLContext(seed: 1);
            void Rejects(Action<RankingRecommenderOptions> change, params string[] words)
            {
                var options = Options();
                change(options);
                var e = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => ml.Embeddings().RankingRecommender(options));
                foreach (string w in words)
                    Assert.That(e!.Message, Does.Contain(w));
            }
            Rejects(o => o.CandidateCount = 5, "CandidateCount = 5", "10 to 100,000");
            Rejects(o => o.NumberOfLeaves = 1, "NumberOfLeaves = 1");
            Rejects(o => o.LearningRate = 0, "LearningRate = 0");
            Rejects(o => o.RankerTrainingPeriods = 0, "RankerTrainingPeriods = 0");
            Rejects(o => o.Features.HistoryLength = 0, "HistoryLength = 0");
            Rejects(o => o.ItemGraph.InOutParameter = -1, "InOutParameter", "-1");
            Rejects(o => o.Item2Vec.KeepContextVectors = false, "KeepContextVectors");
            Rejects(o => o.UserColumnName = "", "UserColumnName");
            var schemaError = Assert.Throws(Is.InstanceOf<ArgumentException>(), () =>
                ml.Embeddings().RankingRecommender(Options()).Fit(ml.Data.LoadFromEnumerable(new[] { new { User = 1.5, Item = "a", Time = 1L } })));
            Assert.That(schemaError!.Message, Does.Contain("column 'User'"));
        }

        [Test]
        public void MovieLens100KRankerBeatsEverySingleScore()
        {
            string? path = TestUtilities.SharedDataPath(Path.Combine("movielens", "ml-100k", "u.data"));
            if (path is null)
                Assert.Ignore("../shared/data/movielens/ml-100k is absent: the MovieLens 100K ranking check is skipped (the data may not be copied into the repository).");
            var split = InteractionFile.ReadSplit(path!);
            var result = RecommendationEvaluation.Evaluate(new MLContext(seed: 1), split, RankingTarget.Test, new RankingRecommenderOptions { Seed = 1 });
            var m = result.Models;
            TestContext.Out.WriteLine(string.Join(", ", m.Select(p => $"{p.Key} {p.Value.HitRate:F4}/{p.Value.Ndcg:F4}")));
            Assert.That(m["popularity"].Hits, Is.EqualTo(47));
            Assert.That(m["item2vec"].HitRate, Is.GreaterThan(0.12));
            Assert.That(m["node2vec"].HitRate, Is.GreaterThan(m["popularity"].HitRate));
            Assert.That(m["blend"].HitRate, Is.GreaterThan(m["item2vec"].HitRate));
            Assert.That(m["ranker"].HitRate, Is.GreaterThan(0.165));
            Assert.That(m["ranker"].Ndcg, Is.GreaterThan(0.085));
        }

        private static List<float[]> ReadFeatures(IDataView data) =>
            data.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToList();
    }
}
