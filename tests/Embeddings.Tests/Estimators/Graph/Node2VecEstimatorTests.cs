using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Graph;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Graph
{
    [TestFixture]
    public class Node2VecEstimatorTests
    {
        private sealed class Edge
        {
            public int Source { get; set; }
            public int Target { get; set; }
            public float Weight { get; set; } = 1;
        }

        /// <summary>A stochastic block model: 4 communities of 20 nodes, edge probability 0.4 inside, 0.01 across.</summary>
        private static Edge[] PlantedCommunities(int seed)
        {
            var random = new Random(seed);
            var edges = new List<Edge>();
            for (int a = 0; a < 80; a++)
            {
                for (int b = a + 1; b < 80; b++)
                {
                    if (random.NextDouble() < (a / 20 == b / 20 ? 0.4 : 0.01))
                        edges.Add(new Edge { Source = a, Target = b });
                }
            }
            return edges.ToArray();
        }

        private static double CommunityPurity(EmbeddingTable table)
        {
            return table.Keys.Average(k => table.MostSimilar(k, 10).Count(n => int.Parse(n.Key) / 20 == int.Parse(k) / 20) / 10.0);
        }

        private static Node2VecEstimator.Options Options(double p = 1, double q = 1)
        {
            var options = new Node2VecEstimator.Options
            {
                SourceColumnName = "Source",
                TargetColumnName = "Target",
                ReturnParameter = p,
                InOutParameter = q,
                EmbeddingDimension = 16,
                WalkLength = 20,
                WalksPerNode = 10,
                WindowSize = 5,
                Epochs = 2,
                NumberOfThreads = 1,
                Seed = 3,
            };
            options.OutputColumns.Add(("SourceVector", "Source"));
            options.OutputColumns.Add(("TargetVector", "Target"));
            return options;
        }

        [TestCase(1.0, 1.0)]
        [TestCase(0.25, 4.0)]
        [TestCase(4.0, 0.25)]
        public void RecoversPlantedCommunitiesAndConforms(double p, double q)
        {
            var ml = new MLContext(seed: 1);
            var edges = ml.Data.LoadFromEnumerable(PlantedCommunities(seed: 2));
            var estimator = ml.Embeddings().Node2Vec(Options(p, q));
            var transformer = (NodeEmbeddingTransformer)EstimatorConformance.Check(estimator, edges,
                new InvalidInput("float node ids", ml.Data.LoadFromEnumerable(new[] { new { Source = 1f, Target = 2f } }), "column 'Source'", "Single", "integer"),
                new InvalidInput("missing target", ml.Data.LoadFromEnumerable(new[] { new { Source = 1 } }), "'Target' was not found"));
            Assert.That(transformer.SourceEmbeddings.Count, Is.EqualTo(80));
            double purity = CommunityPurity(transformer.SourceEmbeddings);
            Assert.That(purity, Is.GreaterThan(0.9), $"p = {p}, q = {q}: community purity {purity:F3} (chance: 0.25)");
            Assert.That(transformer.Summary!.Walks, Is.EqualTo(800));
        }

        [Test]
        public void EdgesWrittenThroughIEdgeWriterTrainTheSameModelAsADataView()
        {
            var ml = new MLContext(seed: 1);
            var planted = PlantedCommunities(seed: 2);
            var fromView = ml.Embeddings().Node2Vec(Options(0.5, 2)).Fit(ml.Data.LoadFromEnumerable(planted));
            var fromWriter = ml.Embeddings().Node2Vec(Options(0.5, 2)).Fit(edges =>
            {
                foreach (var edge in planted)
                    edges.AddEdge(edge.Source.ToString(System.Globalization.CultureInfo.InvariantCulture), edge.Target.ToString(System.Globalization.CultureInfo.InvariantCulture), edge.Weight);
            });
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(fromView.SourceEmbeddings, fromWriter.SourceEmbeddings);
            Assert.That(fromWriter.Summary!.StoredEdges, Is.EqualTo(fromView.Summary!.StoredEdges));
            var error = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().DeepWalk(new DeepWalkEstimator.Options
            {
                SourceColumnName = "Source",
                TargetColumnName = "Target",
                OutputColumns = { ("V", "Source") },
            }).Fit(edges => edges.AddEdge("a", "b", -1)))!;
            Assert.That(error.Message, Does.Contain("weight -1"));
        }

        [Test]
        public void ContextVectorsAreKeptOnRequestAndSurviveSaveAndLoad()
        {
            var ml = new MLContext(seed: 1);
            var edges = ml.Data.LoadFromEnumerable(PlantedCommunities(seed: 2));
            Assert.That(ml.Embeddings().Node2Vec(Options()).Fit(edges).ContextEmbeddings, Is.Null, "off by default");
            var options = Options();
            options.KeepContextVectors = true;
            var model = ml.Embeddings().Node2Vec(options).Fit(edges);
            var context = model.ContextEmbeddings!;
            Assert.That(context.Keys, Is.EquivalentTo(model.SourceEmbeddings.Keys));
            // A node's vector scores its own community's context vectors above the others'.
            double inside = 0, outside = 0;
            foreach (string key in model.SourceEmbeddings.Keys)
            {
                var vector = model.SourceEmbeddings.GetVector(key);
                foreach (string other in context.Keys)
                {
                    float logit = Embeddings.Kernels.VectorMath.Dot(vector, context.GetVector(other));
                    if (int.Parse(other) / 20 == int.Parse(key) / 20)
                        inside += logit;
                    else
                        outside += logit;
                }
            }
            Assert.That(inside / (80 * 20), Is.GreaterThan(outside / (80 * 60)));
            string path = System.IO.Path.Combine(TestContext.CurrentContext.WorkDirectory, "node2vec-context.zip");
            ml.Model.Save(model, edges.Schema, path);
            var loaded = (NodeEmbeddingTransformer)new MLContext(seed: 2).Model.Load(path, out _);
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(context, loaded.ContextEmbeddings!);
            options.Bipartite = true;
            Assert.Throws<NotSupportedException>(() => ml.Embeddings().Node2Vec(options));
        }

        [Test]
        public void OneThreadWithASeedIsBitIdentical()
        {
            var ml = new MLContext(seed: 1);
            var edges = ml.Data.LoadFromEnumerable(PlantedCommunities(seed: 2));
            var a = ml.Embeddings().Node2Vec(Options(0.5, 2)).Fit(edges).SourceEmbeddings;
            var b = new MLContext(seed: 9).Embeddings().Node2Vec(Options(0.5, 2)).Fit(edges).SourceEmbeddings;
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(a, b);
        }

        [Test]
        public void DeepWalkMatchesNode2VecWithPAndQOne()
        {
            var ml = new MLContext(seed: 1);
            var edges = ml.Data.LoadFromEnumerable(PlantedCommunities(seed: 2));
            var node2vec = ml.Embeddings().Node2Vec(Options()).Fit(edges).SourceEmbeddings;
            var deepWalkOptions = new DeepWalkEstimator.Options
            {
                SourceColumnName = "Source",
                TargetColumnName = "Target",
                EmbeddingDimension = 16,
                WalkLength = 20,
                WalksPerNode = 10,
                WindowSize = 5,
                Epochs = 2,
                NumberOfThreads = 1,
                Seed = 3,
            };
            deepWalkOptions.OutputColumns.Add(("SourceVector", "Source"));
            var deepWalk = ml.Embeddings().DeepWalk(deepWalkOptions).Fit(edges).SourceEmbeddings;
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(node2vec, deepWalk);
        }

        private sealed class Rating
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Score { get; set; }
        }

        [Test]
        public void BipartiteGraphsGiveOneTablePerDomain()
        {
            // Users 0-19 like items 0-9, users 20-39 like items 10-19; user "3" and item "3" are different nodes.
            var random = new Random(4);
            var rows = new List<Rating>();
            for (int u = 0; u < 40; u++)
            {
                for (int k = 0; k < 6; k++)
                    rows.Add(new Rating { User = u.ToString(), Item = (random.Next(10) + (u < 20 ? 0 : 10)).ToString(), Score = 1 + random.Next(5) });
            }
            var ml = new MLContext(seed: 1);
            var options = new Node2VecEstimator.Options
            {
                SourceColumnName = "User",
                TargetColumnName = "Item",
                WeightColumnName = "Score",
                Bipartite = true,
                EmbeddingDimension = 16,
                WalkLength = 20,
                WalksPerNode = 20,
                WindowSize = 4,
                Epochs = 2,
                NumberOfThreads = 1,
                Seed = 5,
            };
            options.OutputColumns.Add(("UserVector", "User"));
            options.OutputColumns.Add(("ItemVector", "Item"));
            var data = ml.Data.LoadFromEnumerable(rows);
            var transformer = (NodeEmbeddingTransformer)EstimatorConformance.Check(ml.Embeddings().Node2Vec(options), data);
            Assert.That(transformer.SourceEmbeddings.Keys.Select(int.Parse), Is.EquivalentTo(Enumerable.Range(0, 40)));
            Assert.That(transformer.TargetEmbeddings.Keys.Select(int.Parse), Is.EquivalentTo(Enumerable.Range(0, 20)));
            Assert.That(transformer.SourceEmbeddings.GetVector("3"), Is.Not.EqualTo(transformer.TargetEmbeddings.GetVector("3")));
            // Items of the same half are each other's neighbours.
            var items = transformer.TargetEmbeddings;
            double purity = items.Keys.Average(k => items.MostSimilar(k, 5).Count(n => int.Parse(n.Key) / 10 == int.Parse(k) / 10) / 5.0);
            Assert.That(purity, Is.GreaterThan(0.9));
            var output = transformer.Transform(data);
            var userVectors = output.GetColumn<float[]>("UserVector").First();
            Assert.That(userVectors, Is.EqualTo(transformer.SourceEmbeddings.GetVector(rows[0].User)));
        }

        private static IEnumerable<TestCaseData> InvalidOptions()
        {
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.InOutParameter = 0), "InOutParameter (q) = 0 is invalid; use q > 0");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.ReturnParameter = double.NaN), "ReturnParameter (p) = NaN is invalid");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.WalkLength = 1), "WalkLength = 1 is invalid");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.WalksPerNode = 0), "WalksPerNode = 0 is invalid");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.WindowSize = 0), "WindowSize = 0 is invalid");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.NegativeSampleCount = 0), "NegativeSampleCount = 0 is invalid");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.EmbeddingDimension = 0), "EmbeddingDimension = 0 is invalid");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.SourceColumnName = ""), "SourceColumnName is empty");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.OutputColumns.Clear()), "OutputColumns is empty");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => { o.Bipartite = true; o.OutputColumns.Add(("X", "Other")); }), "input 'Other' is neither SourceColumnName");
            yield return new TestCaseData((Action<Node2VecEstimator.Options>)(o => o.SecondOrderSampling = (SecondOrderSampling)9), "SecondOrderSampling = 9");
        }

        [TestCaseSource(nameof(InvalidOptions))]
        public void InvalidOptionsAreRejectedNamingOptionAndValue(Action<Node2VecEstimator.Options> change, string expected)
        {
            var options = Options();
            change(options);
            var error = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => new MLContext().Embeddings().Node2Vec(options));
            Assert.That(error!.Message, Does.Contain(expected));
        }

        [Test]
        public void BadEdgesAreRejectedWithTheirRow()
        {
            var ml = new MLContext(seed: 1);
            var edges = PlantedCommunities(2).ToList();
            edges.Insert(3, new Edge { Source = 1, Target = 2, Weight = -1 });
            var options = Options();
            options.WeightColumnName = "Weight";
            var error = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().Node2Vec(options).Fit(ml.Data.LoadFromEnumerable(edges)));
            Assert.That(error!.Message, Does.Contain("row 3").And.Contain("weight -1").And.Contain("'Weight'"));
            options.InvalidWeights = InvalidEdgeWeightHandling.Drop;
            var summary = ml.Embeddings().Node2Vec(options).Fit(ml.Data.LoadFromEnumerable(edges)).Summary!;
            Assert.That(summary.DroppedEdgeRows, Is.EqualTo(1));
        }
    }
}
