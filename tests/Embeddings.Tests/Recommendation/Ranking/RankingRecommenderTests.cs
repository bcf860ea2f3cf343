using System;
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
        private sealed class Prediction
        {
            public float Score { get; set; }
        }

        [Test]
        public void RecommendsThePlantedNextItemAndSavesAsOneModelWithIdenticalScores()
        {
            var ml = new MLContext(seed: 1);
            var (rows, next) = PlantedChains.Interactions();
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = ml.Embeddings().RankingRecommender(PlantedChains.Options()).Fit(data);

            int top1 = next.Count(p => model.Recommend(ml, p.Key, 1).Single().Item == p.Value);
            Assert.That(top1, Is.GreaterThan(0.8 * next.Count), $"the planted next item comes first for {top1} of {next.Count} users");
            var seen = rows.Where(r => r.User == "u7").Select(r => r.Item).ToHashSet();
            Assert.That(model.Recommend(ml, "u7", 10).Select(r => r.Item), Has.None.AnyOf(seen.ToArray()), "seen items are excluded");
            Assert.That(model.Recommend(ml, "stranger", 5), Has.Count.EqualTo(5), "an unknown user gets popular items");

            // One ML.NET model: features and ranker saved together, reloaded in a new context with identical scores.
            var pairs = ml.Data.LoadFromEnumerable(next.Select(p => new PlantedChains.UserItem { User = p.Key, Item = p.Value })
                .Concat(new[] { new PlantedChains.UserItem { User = "stranger", Item = "c1-1" }, new PlantedChains.UserItem { User = "u1", Item = "nothing" } }));
            var reloaded = EstimatorConformance.SaveAndLoad(model, data.Schema);
            var before = model.Transform(pairs);
            var after = reloaded.Transform(pairs);
            Assert.That(EstimatorConformance.ColumnValues(after, "Score"), Is.EqualTo(EstimatorConformance.ColumnValues(before, "Score")));
            var engine = ml.Model.CreatePredictionEngine<PlantedChains.UserItem, Prediction>(reloaded);
            var scores = before.GetColumn<float>("Score").ToArray();
            Assert.That(engine.Predict(new PlantedChains.UserItem { User = "u0", Item = next["u0"] }).Score, Is.EqualTo(scores[0]));
            Assert.That(float.IsFinite(engine.Predict(new PlantedChains.UserItem { User = "stranger", Item = "nothing" }).Score), Is.True);

            // One thread and a seed: the same model again.
            var again = ml.Embeddings().RankingRecommender(PlantedChains.Options()).Fit(data);
            Assert.That(again.Transform(pairs).GetColumn<float>("Score").ToArray(), Is.EqualTo(scores));
        }

        [Test]
        public void InvalidOptionsAreRejectedNamingOptionAndValue()
        {
            var ml = new MLContext(seed: 1);
            void Rejects(Action<RankingRecommenderOptions> change, params string[] words)
            {
                var options = PlantedChains.Options();
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
                ml.Embeddings().RankingRecommender(PlantedChains.Options()).Fit(ml.Data.LoadFromEnumerable(new[] { new { User = 1.5, Item = "a", Time = 1L } })));
            Assert.That(schemaError!.Message, Does.Contain("column 'User'"));
        }

        [Test]
        public void ASingleUserIsAClearErrorNotAnEmptyDataset()
        {
            // One user: its candidates (items of other users it has not seen) are none, so the ranker has no rows; ML.NET said "Cannot use empty dataset.".
            var split = LeaveLastOutSplit.Create(Enumerable.Range(1, 20).Select(t => new Interaction("u", $"i{t}", t)));
            var options = PlantedChains.Options();
            var error = Assert.Throws<InvalidOperationException>(() => RecommendationEvaluation.Evaluate(new MLContext(seed: 1), split, RankingTarget.Test, options));
            Assert.That(error!.Message, Does.Contain("the ranker has no training rows").And.Contain("2 or more users"));
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
    }
}
