using System;
using System.Linq;
using Embeddings.Graph;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Graph
{
    [TestFixture]
    public class GraphBuilderTests
    {
        [Test]
        public void DuplicatesMergeAndNeighbourListsAreSorted()
        {
            var builder = new GraphBuilder(directed: false, bipartite: false, keepSelfLoops: true, InvalidEdgeWeightHandling.Reject);
            builder.AddEdge(0, "x", "z", 1, "W");
            builder.AddEdge(1, "x", "y", 2, "W");
            builder.AddEdge(2, "y", "x", 3, "W");
            builder.AddEdge(3, "z", "z", 1, "W");
            var graph = builder.Build(out long merged);
            Assert.That(merged, Is.EqualTo(1));
            int x = Array.IndexOf(graph.NodeKeys, "x"), y = Array.IndexOf(graph.NodeKeys, "y"), z = Array.IndexOf(graph.NodeKeys, "z");
            Assert.That(graph.Neighbors(x).ToArray(), Is.EqualTo(new[] { y, z }.OrderBy(v => v).ToArray()));
            Assert.That(graph.NeighborWeights(x).ToArray()[graph.Neighbors(x).IndexOf(y)], Is.EqualTo(5f), "x-y and y-x merged: 2 + 3");
            Assert.That(graph.Neighbors(z).ToArray(), Is.EqualTo(new[] { x, z }.OrderBy(v => v).ToArray()), "the self-loop is stored once");
            Assert.That(graph.EdgeCount, Is.EqualTo(5));
            Assert.That(graph.Weighted, Is.True);
        }

        [Test]
        public void SelfLoopsCanBeDroppedAndCounted()
        {
            var builder = new GraphBuilder(directed: true, bipartite: false, keepSelfLoops: false, InvalidEdgeWeightHandling.Reject);
            builder.AddEdge(0, "a", "a", 1, "W");
            builder.AddEdge(1, "a", "b", 1, "W");
            var graph = builder.Build(out _);
            Assert.That(builder.DroppedSelfLoops, Is.EqualTo(1));
            Assert.That(graph.EdgeCount, Is.EqualTo(1));
            Assert.That(graph.Weighted, Is.False);
        }

        [TestCase(double.NaN, "NaN")]
        [TestCase(double.PositiveInfinity, "∞")]
        [TestCase(0.0, "weight 0")]
        [TestCase(-2.5, "weight -2.5")]
        public void InvalidWeightsAreRejectedWithRowAndValueOrDropped(double weight, string shown)
        {
            var strict = new GraphBuilder(directed: false, bipartite: false, keepSelfLoops: true, InvalidEdgeWeightHandling.Reject);
            strict.AddEdge(0, "a", "b", 1, "Rating");
            var error = Assert.Throws<InvalidOperationException>(() => strict.AddEdge(7, "b", "c", weight, "Rating"));
            Assert.That(error!.Message, Does.Contain("row 7").And.Contain("'Rating'").And.Contain(shown == "∞" ? "weight" : shown).And.Contain("InvalidEdgeWeightHandling.Drop"));

            var lenient = new GraphBuilder(directed: false, bipartite: false, keepSelfLoops: true, InvalidEdgeWeightHandling.Drop);
            lenient.AddEdge(0, "a", "b", 1, "Rating");
            lenient.AddEdge(1, "b", "c", weight, "Rating");
            Assert.That(lenient.DroppedInvalidWeights, Is.EqualTo(1));
            Assert.That(lenient.Build(out _).NodeCount, Is.EqualTo(2));
        }

        [Test]
        public void BipartiteGraphsKeepDomainsApart()
        {
            var builder = new GraphBuilder(directed: false, bipartite: true, keepSelfLoops: true, InvalidEdgeWeightHandling.Reject);
            builder.AddEdge(0, "1", "1", 1, "W");
            builder.AddEdge(1, "1", "2", 1, "W");
            builder.AddEdge(2, "2", "1", 1, "W");
            var graph = builder.Build(out _);
            Assert.That(graph.NodeCount, Is.EqualTo(4), "user 1, item 1, item 2, user 2");
            Assert.That(builder.DroppedSelfLoops, Is.EqualTo(0), "user 1 -> item 1 is not a self-loop");
            for (int v = 0; v < graph.NodeCount; v++)
            {
                foreach (int w in graph.Neighbors(v))
                    Assert.That(graph.NodeDomains[w], Is.Not.EqualTo(graph.NodeDomains[v]), "every edge joins a user to an item");
            }
        }
    }
}
