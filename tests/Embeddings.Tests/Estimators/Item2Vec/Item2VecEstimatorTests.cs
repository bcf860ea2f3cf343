using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Recommendation
{
    [TestFixture]
    public class Item2VecEstimatorTests
    {
        private sealed class Interaction
        {
            public int User { get; set; }
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        /// <summary>Users 0-29 consume items a0..a14, users 30-59 items b0..b14, in shuffled row order.</summary>
        private static Interaction[] Planted()
        {
            var random = new Random(3);
            var rows = new List<Interaction>();
            for (int u = 0; u < 60; u++)
            {
                string prefix = u < 30 ? "a" : "b";
                for (int t = 0; t < 20; t++)
                    rows.Add(new Interaction { User = u, Item = $"{prefix}{random.Next(15)}", Time = 1000 + t * 10 + random.Next(3) });
            }
            return rows.OrderBy(_ => random.Next()).ToArray();
        }

        private static Item2VecEstimator.Options Options()
        {
            var options = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item", TimestampColumnName = "Time", UserHistoryLength = 5 };
            options.SkipGram.EmbeddingDimension = 16;
            options.SkipGram.Epochs = 10;
            options.SkipGram.NumberOfThreads = 1;
            options.SkipGram.Seed = 2;
            options.SkipGram.SamplingThreshold = 0; // 1,200 tokens: the default 1e-3 would drop most of them
            return options;
        }

        [Test]
        public void TheCallersOptionsAreNeitherChangedNorReadAfterConstruction()
        {
            var ml = new MLContext(seed: 1);
            var options = Options();
            options.SkipGram.OutputColumnName = "";
            var estimator = ml.Embeddings().Item2Vec(options);
            Assert.That(options.SkipGram.OutputColumnName, Is.EqualTo(""), "the caller's SkipGram options are not written to");
            options.SkipGram.EmbeddingDimension = 3;
            options.ItemVectorColumnName = "Changed";
            var transformer = estimator.Fit(ml.Data.LoadFromEnumerable(Planted()));
            Assert.That(transformer.ItemEmbeddings.Dimension, Is.EqualTo(16), "settings are taken when the estimator is created");
            Assert.That(transformer.GetOutputSchema(ml.Data.LoadFromEnumerable(Planted()).Schema).GetColumnOrNull("ItemVector"), Is.Not.Null);
        }

        [Test]
        public void LearnsItemAndUserVectorsThatFollowThePlantedGroupsAndConforms()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Planted());
            var transformer = (Item2VecTransformer)EstimatorConformance.Check(ml.Embeddings().Item2Vec(Options()), data,
                new InvalidInput("float user ids", ml.Data.LoadFromEnumerable(new[] { new { User = 1f, Item = "a", Time = 1L } }), "column 'User'", "Single"),
                new InvalidInput("text time", ml.Data.LoadFromEnumerable(new[] { new { User = 1, Item = "a", Time = "noon" } }), "column 'Time'", "a time") { FittedTransformerAccepts = true });
            Assert.That(transformer.ItemEmbeddings.Count, Is.EqualTo(30));
            Assert.That(transformer.UserEmbeddings.Count, Is.EqualTo(60));
            var items = transformer.ItemEmbeddings;
            double purity = items.Keys.Average(k => items.MostSimilar(k, 5).Count(n => n.Key[0] == k[0]) / 5.0);
            Assert.That(purity, Is.GreaterThan(0.9));
            // Each user's nearest items by the input-output logit belong to the user's group.
            var context = transformer.ContextEmbeddings!;
            int agreeing = 0;
            foreach (string user in transformer.UserEmbeddings.Keys)
            {
                var u = transformer.UserEmbeddings.GetVector(user);
                string best = context.Keys.OrderByDescending(k => u.Zip(context.GetVector(k), (a, b) => a * b).Sum()).First();
                agreeing += (best[0] == 'a') == (int.Parse(user) < 30) ? 1 : 0;
            }
            Assert.That(agreeing, Is.EqualTo(60));
        }

        [Test]
        public void CandidatesExcludeSeenItemsAndFollowTheUsersGroup()
        {
            var ml = new MLContext(seed: 1);
            var rows = Planted();
            var model = ml.Embeddings().Item2Vec(Options()).Fit(ml.Data.LoadFromEnumerable(rows));
            var counts = rows.GroupBy(r => r.Item).ToDictionary(g => g.Key, g => (long)g.Count());
            var generator = new CandidateGenerator(model, counts);
            var seen = rows.Where(r => r.User == 3).Select(r => r.Item).ToHashSet();
            foreach (var scoring in new[] { CandidateScoring.InputOutputLogit, CandidateScoring.Cosine })
            {
                var candidates = generator.ForUser("3", seen, 5, scoring);
                Assert.That(candidates, Has.Count.EqualTo(5), "at least 15 of the 30 items are unseen");
                Assert.That(candidates.Select(c => c.Item), Has.None.Matches<string>(seen.Contains), $"{scoring}: seen items are excluded");
                Assert.That(candidates.Select(c => c.Rank), Is.EqualTo(Enumerable.Range(1, candidates.Count)));
                Assert.That(candidates.Select(c => c.Score), Is.Ordered.Descending);
            }
            var logit = generator.ForUser("3", new HashSet<string>(), 10, CandidateScoring.InputOutputLogit);
            Assert.That(logit.Count(c => c.Item[0] == 'a'), Is.GreaterThanOrEqualTo(9), "user 3 is in group a");
            var popular = generator.ForUser("anyone", new HashSet<string>(), 3, CandidateScoring.Popularity);
            Assert.That(popular.Select(c => c.Item), Is.EqualTo(counts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, IdComparer.Instance).Take(3).Select(p => p.Key)));
            Assert.That(generator.ForUser("unknown-user", new HashSet<string>(), 3, CandidateScoring.Cosine), Is.Empty);

            var view = generator.ToDataView(ml, new[] { ("3", (IReadOnlyCollection<string>)seen), ("40", new HashSet<string>()) }, 4, CandidateScoring.InputOutputLogit);
            Assert.That(view.Schema["GroupId"].Type, Is.InstanceOf<Microsoft.ML.Data.KeyDataViewType>());
            Assert.That(view.GetColumn<uint>("GroupId").ToArray(), Is.EqualTo(new uint[] { 1, 1, 1, 1, 2, 2, 2, 2 }));
            Assert.Throws<InvalidOperationException>(() => new CandidateGenerator(model).ForUser("3", seen, 3, CandidateScoring.Popularity));
        }

        [Test]
        public void InvalidOptionsAreRejected()
        {
            var options = Options();
            options.UserHistoryLength = 0;
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().Embeddings().Item2Vec(options))!.Message, Does.Contain("UserHistoryLength = 0"));
            options = Options();
            options.ItemVectorColumnName = options.UserVectorColumnName;
            Assert.Throws<ArgumentException>(() => new MLContext().Embeddings().Item2Vec(options));
            options = Options();
            options.SkipGram.WindowSize = 0;
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => new MLContext().Embeddings().Item2Vec(options))!.Message, Does.Contain("WindowSize = 0"));
        }

        [Test]
        public void InputOutputLogitOnMovieLens100KBeatsTheReferenceFloor()
        {
            string? path = TestUtilities.SharedDataPath(System.IO.Path.Combine("movielens", "ml-100k", "u.data"));
            if (path is null)
                Assert.Ignore("../shared/data/movielens/ml-100k is absent: the MovieLens 100K check is skipped.");
            var split = InteractionFile.ReadSplit(path!);
            var rows = split.TrainingSequences(RankingTarget.Test)
                .SelectMany(s => s.Items.Select((item, t) => new Interaction { User = int.Parse(s.User), Item = item, Time = t }))
                .ToArray();
            var ml = new MLContext(seed: 1);
            var options = Options();
            options.SkipGram.EmbeddingDimension = 64;
            options.SkipGram.Epochs = 20;
            options.SkipGram.NumberOfThreads = 2;
            options.SkipGram.SamplingThreshold = 1e-3;
            var model = ml.Embeddings().Item2Vec(options).Fit(ml.Data.LoadFromEnumerable(rows));
            var context = model.ContextEmbeddings!;
            var itemVectors = split.Items.Select(i => context.Contains(i) ? context.GetVector(i) : null).ToArray();
            var metrics = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Test, (user, scores) =>
            {
                if (!model.UserEmbeddings.Contains(user))
                    return;
                var u = model.UserEmbeddings.GetVector(user);
                for (int i = 0; i < itemVectors.Length; i++)
                {
                    if (itemVectors[i] is float[] v)
                        scores[i] = u.Zip(v, (a, b) => a * b).Sum();
                }
            });
            // The gensim item2vec reference on this protocol: 0.129-0.145; popularity 0.0498; one standard error ~0.01.
            Assert.That(metrics.HitRate, Is.GreaterThan(0.12), $"HR@10 {metrics.HitRate:F4}, NDCG@10 {metrics.Ndcg:F4}");
            TestContext.Out.WriteLine($"item2vec input-output logit on ml-100k test: HR@10 {metrics.HitRate:F4}, NDCG@10 {metrics.Ndcg:F4}");
        }
    }
}
