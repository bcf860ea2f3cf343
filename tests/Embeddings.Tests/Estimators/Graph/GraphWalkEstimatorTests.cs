using System;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Graph
{
    [TestFixture]
    public class GraphWalkEstimatorTests
    {
        private sealed class Edge
        {
            public string From { get; set; } = "";
            public string To { get; set; } = "";
        }

        private static Edge[] Ring(int n) => Enumerable.Range(0, n).Select(i => new Edge { From = $"n{i}", To = $"n{(i + 1) % n}" }).ToArray();

        private static GraphWalkEstimator.Options Options() => new()
        {
            SourceColumnName = "From",
            TargetColumnName = "To",
            OutputColumnName = "Walk",
            WalkLength = 6,
            ReturnParameter = 4,
            InOutParameter = 0.25,
            Seed = 7,
        };

        [Test]
        public void MapsStartNodesToWalksAlongEdgesAndConforms()
        {
            var ml = new MLContext(seed: 1);
            var edges = ml.Data.LoadFromEnumerable(Ring(10));
            var transformer = (GraphWalkTransformer)EstimatorConformance.Check(ml.Embeddings().GraphWalk(Options()), edges,
                new InvalidInput("float ids", ml.Data.LoadFromEnumerable(new[] { new { From = 1f, To = 2f } }), "column 'From'", "Single"));
            Assert.That(transformer.NodeCount, Is.EqualTo(10));
            var walks = transformer.Transform(edges).GetColumn<string[]>("Walk").ToArray();
            for (int r = 0; r < walks.Length; r++)
            {
                Assert.That(walks[r], Has.Length.EqualTo(6));
                Assert.That(walks[r][0], Is.EqualTo($"n{r}"));
                for (int i = 1; i < walks[r].Length; i++)
                {
                    int a = int.Parse(walks[r][i - 1][1..]), b = int.Parse(walks[r][i][1..]);
                    Assert.That((a - b + 10) % 10, Is.EqualTo(1).Or.EqualTo(9), "every step follows a ring edge");
                }
            }
            var unknown = transformer.Transform(ml.Data.LoadFromEnumerable(new[] { new Edge { From = "nowhere", To = "n1" } })).GetColumn<string[]>("Walk").Single();
            Assert.That(unknown, Is.Empty, "a start node outside the graph gives an empty walk");
        }

        [Test]
        public void GenerateWalksStreamsTheCorpusThatSkipGramTrainsOn()
        {
            var ml = new MLContext(seed: 1);
            var transformer = ml.Embeddings().GraphWalk(Options()).Fit(ml.Data.LoadFromEnumerable(Ring(12)));
            var corpus = transformer.GenerateWalks(walksPerNode: 5);
            Assert.That(corpus.GetRowCount(), Is.EqualTo(60));
            var first = corpus.GetColumn<string[]>("Walk").ToArray();
            var second = corpus.GetColumn<string[]>("Walk").ToArray();
            Assert.That(second, Is.EqualTo(first), "every cursor sees the same walks");
            Assert.That(first.Take(12).Select(w => w[0]), Is.EquivalentTo(Enumerable.Range(0, 12).Select(i => $"n{i}")), "each round starts once at every node");
            // The walk corpus of GraphWalk is exactly what node2vec trains on: the same seed gives the same walks.
            var skipGram = ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "WalkVector",
                InputColumnName = "Walk",
                EmbeddingDimension = 8,
                MinCount = 1,
                WindowSize = 2,
                Epochs = 1,
                NumberOfThreads = 1,
                Seed = 1,
            }).Fit(corpus);
            Assert.That(skipGram.Embeddings.Count, Is.EqualTo(12));
            Assert.That(skipGram.TrainingSummary.CorpusTokens, Is.EqualTo(60 * 6));
            Assert.Throws<ArgumentOutOfRangeException>(() => transformer.GenerateWalks(0));
        }
    }
}
