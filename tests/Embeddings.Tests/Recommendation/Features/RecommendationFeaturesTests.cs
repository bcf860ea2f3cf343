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
    [TestFixture]
    public class RecommendationFeaturesTests
    {
        private sealed class LabelledCandidate
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
            public uint GroupId { get; set; }
        }

        private static RecommendationFeaturesEstimator Estimator(MLContext ml) => ml.Embeddings().RecommendationFeatures(PlantedChains.FeatureOptions());

        [Test]
        public void FeaturesConformAndFollowThePlantedTransitions()
        {
            var ml = new MLContext(seed: 1);
            var (rows, next) = PlantedChains.Interactions();
            var data = ml.Data.LoadFromEnumerable(rows);
            var transformer = (RecommendationFeaturesTransformer)EstimatorConformance.Check(Estimator(ml), data,
                new InvalidInput("float user ids", ml.Data.LoadFromEnumerable(new[] { new { User = 1f, Item = "a", Time = 1L } }), "column 'User'", "Single"),
                new InvalidInput("text time", ml.Data.LoadFromEnumerable(new[] { new { User = "1", Item = "a", Time = "noon" } }), "column 'Time'", "a time") { FittedTransformerAccepts = true });
            Assert.That(transformer.Items, Has.Count.EqualTo(48));

            // The planted successor has more transitions from the recent items, and a better blend rank, than an item of another chain.
            var pairs = next.Select(p => new PlantedChains.UserItem { User = p.Key, Item = p.Value })
                .Concat(next.Select(p => new PlantedChains.UserItem { User = p.Key, Item = $"c{(int.Parse(p.Key[1..]) + 1) % 4}-0" }))
                .Concat(new[] { new PlantedChains.UserItem { User = "stranger", Item = "c0-0" }, new PlantedChains.UserItem { User = "u0", Item = "unknown" } }).ToArray();
            var features = ReadFeatures(transformer.Transform(ml.Data.LoadFromEnumerable(pairs)));
            static int Slot(RecommendationFeature feature) => (int)feature;
            int users = next.Count;
            int transitionWins = Enumerable.Range(0, users).Count(i => features[i][Slot(RecommendationFeature.LogTransitionsFromRecent)] > features[users + i][Slot(RecommendationFeature.LogTransitionsFromRecent)]);
            int blendWins = Enumerable.Range(0, users).Count(i => features[i][Slot(RecommendationFeature.Blend)] > features[users + i][Slot(RecommendationFeature.Blend)]);
            int rankTop = Enumerable.Range(0, users).Count(i => features[i][Slot(RecommendationFeature.LogBlendRank)] <= MathF.Log(1 + 3));
            Assert.That(transitionWins, Is.GreaterThan(0.9 * users));
            Assert.That(blendWins, Is.GreaterThan(0.9 * users));
            Assert.That(rankTop, Is.GreaterThan(0.8 * users), "the successor ranks in the top 3 by the blend for most users");
            // Unknown users and items: defined features, no exception; user-free features of a known item remain.
            var stranger = features[2 * users];
            Assert.That(stranger[Slot(RecommendationFeature.Item2VecLogit)], Is.EqualTo(0));
            Assert.That(stranger[Slot(RecommendationFeature.LogPopularity)], Is.GreaterThan(0));
            Assert.That(features[2 * users + 1].Where((v, j) => j != Slot(RecommendationFeature.LogUserActivity)), Is.All.EqualTo(0));

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
        public void TheEnumNamesTheFeatureSlotsInOrder()
        {
            var values = Enum.GetValues<RecommendationFeature>();
            Assert.That(values.Select(v => (int)v), Is.EqualTo(Enumerable.Range(0, values.Length)), "the members number the slots 0, 1, 2, ...");
            Assert.That(RecommendationFeaturesTransformer.FeatureNames, Is.EqualTo(Enum.GetNames<RecommendationFeature>()));

            var ml = new MLContext(seed: 1);
            var (rows, _) = PlantedChains.Interactions();
            var data = ml.Data.LoadFromEnumerable(rows);
            var estimator = Estimator(ml);
            var shape = estimator.GetOutputSchema(Embeddings.Infrastructure.SchemaShapes.FromSchema(data.Schema));
            Assert.That(shape.Single(c => c.Name == "Features").Annotations.Select(a => a.Name), Does.Contain("SlotNames"));

            var transformer = estimator.Fit(data);
            var reloaded = EstimatorConformance.SaveAndLoad(transformer, data.Schema);
            foreach (var (what, schema) in new[] { ("fitted", transformer.GetOutputSchema(data.Schema)), ("reloaded", reloaded.GetOutputSchema(data.Schema)) })
            {
                var column = schema["Features"];
                Assert.That(((VectorDataViewType)column.Type).Size, Is.EqualTo(values.Length), what);
                VBuffer<ReadOnlyMemory<char>> names = default;
                column.GetSlotNames(ref names);
                Assert.That(names.DenseValues().Select(n => n.ToString()), Is.EqualTo(Enum.GetNames<RecommendationFeature>()), what);
            }
        }

        [Test]
        public void PermutationFeatureImportanceNamesTheFeatures()
        {
            var ml = new MLContext(seed: 1);
            var (rows, next) = PlantedChains.Interactions();
            var transformer = Estimator(ml).Fit(ml.Data.LoadFromEnumerable(rows));
            var candidates = new List<LabelledCandidate>();
            uint group = 0;
            foreach (var (user, label) in next)
            {
                foreach (var candidate in transformer.RecallCandidates(user, 8))
                    candidates.Add(new LabelledCandidate { User = user, Item = candidate.Item, Label = candidate.Item == label ? 1 : 0, GroupId = group });
                group++;
            }
            var schema = SchemaDefinition.Create(typeof(LabelledCandidate));
            schema[nameof(LabelledCandidate.GroupId)].ColumnType = new KeyDataViewType(typeof(uint), group);
            var data = transformer.Transform(ml.Data.LoadFromEnumerable(candidates, schema));
            ITransformer ranker = ml.Ranking.Trainers.FastTree(new Microsoft.ML.Trainers.FastTree.FastTreeRankingTrainer.Options
            {
                NumberOfTrees = 5,
                NumberOfLeaves = 4,
                MinimumExampleCountPerLeaf = 5,
                NumberOfThreads = 1,
            }).Fit(data);

            var importance = ml.Ranking.PermutationFeatureImportance(ranker, data, permutationCount: 1);
            Assert.That(importance.Keys, Is.EquivalentTo(Enum.GetNames<RecommendationFeature>()));
        }

        [Test]
        public void RanksOrderByScoreThenIndexWithoutAllocatingAComparer()
        {
            var random = new Random(11);
            float[] pool = { 0f, -0f, 1.5f, -1.5f, float.NegativeInfinity, float.PositiveInfinity, 3e-39f, -3e-39f, float.MaxValue, float.MinValue };
            for (int trial = 0; trial < 20; trial++)
            {
                int n = 1 + random.Next(300);
                var scores = new float[n];
                var seen = new bool[n];
                for (int i = 0; i < n; i++)
                {
                    scores[i] = random.Next(3) == 0 ? pool[random.Next(pool.Length)] : MathF.Round((float)random.NextDouble() * 8 - 4, 1);
                    seen[i] = random.Next(5) == 0;
                }
                // The rule: best first, equal scores (also -0 and +0) by item index; seen items get rank 0.
                var order = Enumerable.Range(0, n).ToArray();
                Array.Sort(order, (x, y) => scores[x] != scores[y] ? scores[y].CompareTo(scores[x]) : x.CompareTo(y));
                var expected = new float[n];
                int rank = 0;
                foreach (int item in order)
                    expected[item] = seen[item] ? 0 : ++rank;

                var ranks = new float[n];
                RecommendationFeaturizer.Rank(scores, seen, new long[n], ranks);
                Assert.That(ranks, Is.EqualTo(expected), $"trial {trial}");
            }
        }

        [Test]
        public void ComputeAllocatesNothingPerRowEvenWhenTheUserChangesEveryRow()
        {
            var ml = new MLContext(seed: 1);
            var (rows, _) = PlantedChains.Interactions();
            var featurizer = Estimator(ml).Fit(ml.Data.LoadFromEnumerable(rows)).Featurizer;
            var scratch = featurizer.CreateFeatureScratch();
            var features = new float[RecommendationFeaturesTransformer.FeatureNames.Count];
            int users = featurizer.Users.Count, items = featurizer.Items.Count;
            // Users change on every row; some users and items are unknown (-1).
            void Run()
            {
                for (int k = 0; k < 600; k++)
                    featurizer.Compute(k % 11 == 10 ? -1 : k % users, k % 13 == 12 ? -1 : (k * 7) % items, features, scratch);
            }
            Run();
            long before = GC.GetAllocatedBytesForCurrentThread();
            Run();
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.EqualTo(0), "bytes allocated by 600 rows");
        }

        [Test]
        public void SavedStateReadsBackAndWritesTheSameBytes()
        {
            var ml = new MLContext(seed: 1);
            var (rows, _) = PlantedChains.Interactions();
            foreach (bool node2Vec in new[] { true, false })
            {
                var options = PlantedChains.FeatureOptions();
                options.ItemGraph.Enabled = node2Vec;
                var transformer = ml.Embeddings().RecommendationFeatures(options).Fit(ml.Data.LoadFromEnumerable(rows));
                byte[] saved = Write(transformer.Featurizer);
                using var reader = new BinaryReader(new MemoryStream(saved));
                var read = RecommendationFeaturizer.Read(reader);
                Assert.That(reader.BaseStream.Position, Is.EqualTo(saved.Length), "the whole state is read");
                Assert.That(read.HasNode2Vec, Is.EqualTo(node2Vec));
                Assert.That(Write(read), Is.EqualTo(saved), $"node2vec {node2Vec}");
            }

            static byte[] Write(RecommendationFeaturizer featurizer)
            {
                var stream = new MemoryStream();
                using (var writer = new BinaryWriter(stream))
                    featurizer.Write(writer);
                return stream.ToArray();
            }
        }

        private static List<float[]> ReadFeatures(IDataView data) =>
            data.GetColumn<VBuffer<float>>("Features").Select(v => v.DenseValues().ToArray()).ToList();
    }
}
