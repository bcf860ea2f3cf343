using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Graph;
using Embeddings.SkipGram;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Graph
{
    [TestFixture]
    public class RandomWalkerTests
    {
        // A small graph with a triangle, a square, a pendant node and unequal weights.
        private static readonly (string, string, double)[] s_edges =
        {
            ("a", "b", 1), ("a", "c", 2), ("b", "c", 1), ("c", "d", 3), ("d", "e", 1), ("e", "f", 0.5), ("f", "c", 1), ("b", "g", 4), ("g", "a", 1), ("d", "h", 2),
        };

        internal static CsrGraph Build(bool directed, bool weighted, (string, string, double)[]? edges = null)
        {
            var builder = new GraphBuilder(directed, bipartite: false, keepSelfLoops: true, InvalidEdgeWeightHandling.Reject);
            long row = 0;
            foreach (var (s, t, w) in edges ?? s_edges)
                builder.AddEdge(row++, s, t, weighted ? w : 1, "Weight");
            return builder.Build(out _);
        }

        private static IEnumerable<TestCaseData> Cases()
        {
            foreach (bool directed in new[] { false, true })
                foreach (bool weighted in new[] { false, true })
                    foreach (var (p, q) in new[] { (1.0, 1.0), (0.5, 2.0), (4.0, 0.25) })
                        foreach (var sampling in new[] { SecondOrderSampling.Precomputed, SecondOrderSampling.Rejection })
                        {
                            if (p == 1 && q == 1 && sampling == SecondOrderSampling.Rejection)
                                continue;
                            yield return new TestCaseData(directed, weighted, p, q, sampling);
                        }
        }

        /// <summary>
        /// Empirical transitions of 400,000 walks of three nodes against the analytic node2vec probabilities: for every
        /// (previous, current) pair seen at least 2,000 times, the total-variation distance to the exact distribution of
        /// the next node is below 0.02 (the expected sampling error at 2,000 draws over at most 4 outcomes is ~0.01).
        /// </summary>
        [TestCaseSource(nameof(Cases))]
        public void TransitionFrequenciesMatchTheAnalyticProbabilities(bool directed, bool weighted, double p, double q, SecondOrderSampling sampling)
        {
            var graph = Build(directed, weighted);
            var walker = new RandomWalker(graph, p, q, sampling);
            var counts = new Dictionary<(int, int), Dictionary<int, int>>();
            var firstCounts = new Dictionary<int, Dictionary<int, int>>();
            var walk = new int[3];
            for (int i = 0; i < 400_000; i++)
            {
                var random = new TrainingRandom(11, (ulong)i);
                int start = i % graph.NodeCount;
                int length = walker.Walk(start, walk, ref random);
                if (length >= 2)
                    Increment(firstCounts.TryGetValue(walk[0], out var f) ? f : firstCounts[walk[0]] = new(), LocalIndex(graph, walk[0], walk[1]));
                if (length == 3)
                {
                    var key = (walk[0], walk[1]);
                    Increment(counts.TryGetValue(key, out var c) ? c : counts[key] = new(), LocalIndex(graph, walk[1], walk[2]));
                }
            }
            int checkedPairs = 0;
            foreach (var ((previous, current), observed) in counts)
            {
                int total = observed.Values.Sum();
                if (total < 2000)
                    continue;
                double distance = 0;
                for (int k = 0; k < graph.Degree(current); k++)
                    distance += Math.Abs(observed.GetValueOrDefault(k) / (double)total - walker.TransitionProbability(previous, current, k));
                Assert.That(distance / 2, Is.LessThan(0.02), $"({graph.NodeKeys[previous]} -> {graph.NodeKeys[current]}): total variation {distance / 2:F4} over {total} steps");
                checkedPairs++;
            }
            foreach (var (start, observed) in firstCounts)
            {
                int total = observed.Values.Sum();
                double distance = 0;
                for (int k = 0; k < graph.Degree(start); k++)
                    distance += Math.Abs(observed.GetValueOrDefault(k) / (double)total - walker.TransitionProbability(-1, start, k));
                Assert.That(distance / 2, Is.LessThan(0.02), $"first step from {graph.NodeKeys[start]}");
            }
            Assert.That(checkedPairs, Is.GreaterThan(directed ? 5 : 15), "enough (previous, current) pairs were checked");
        }

        [Test]
        public void AnalyticProbabilitiesFollowTheNode2VecDefinition()
        {
            var graph = Build(directed: false, weighted: true);
            var walker = new RandomWalker(graph, p: 0.5, q: 2, SecondOrderSampling.Rejection);
            int Node(string key) => Array.IndexOf(graph.NodeKeys, key);
            // From a to c (weights c: a 2, b 1, d 3, f 1): back to a weighs 2/p = 4, b (neighbour of a) 1, d and f 1/q: 1.5 and 0.5.
            int a = Node("a"), c = Node("c");
            double total = 4 + 1 + 1.5 + 0.5;
            Assert.That(walker.TransitionProbability(a, c, LocalIndex(graph, c, a)), Is.EqualTo(4 / total).Within(1e-9));
            Assert.That(walker.TransitionProbability(a, c, LocalIndex(graph, c, Node("b"))), Is.EqualTo(1 / total).Within(1e-9));
            Assert.That(walker.TransitionProbability(a, c, LocalIndex(graph, c, Node("d"))), Is.EqualTo(1.5 / total).Within(1e-9));
            Assert.That(walker.TransitionProbability(a, c, LocalIndex(graph, c, Node("f"))), Is.EqualTo(0.5 / total).Within(1e-9));
        }

        [Test]
        public void DeadEndsEndWalksEarly()
        {
            var graph = Build(directed: true, weighted: false, new[] { ("a", "b", 1.0), ("b", "c", 1.0) });
            var walker = new RandomWalker(graph, 1, 1, SecondOrderSampling.Auto);
            var random = new TrainingRandom(1, 1);
            var walk = new int[10];
            Assert.That(walker.Walk(Array.IndexOf(graph.NodeKeys, "a"), walk, ref random), Is.EqualTo(3));
        }

        [Test]
        public void AutoPrecomputesSmallGraphsAndRejectsLargeOnes()
        {
            var graph = Build(directed: false, weighted: true);
            Assert.That(new RandomWalker(graph, 0.5, 2, SecondOrderSampling.Auto).UsesPrecomputedTables, Is.True);
            Assert.That(new RandomWalker(graph, 0.5, 2, SecondOrderSampling.Rejection).UsesPrecomputedTables, Is.False);
            // A star of 5,000 leaves has 5,000 x 5,000 second-order entries at its centre: above the automatic limit.
            var star = Build(directed: false, weighted: false, Enumerable.Range(0, 5000).Select(i => ("hub", $"leaf{i}", 1.0)).ToArray());
            Assert.That(star.SecondOrderTableEntries(), Is.GreaterThan(RandomWalker.MaxPrecomputedEntries));
            Assert.That(new RandomWalker(star, 0.5, 2, SecondOrderSampling.Auto).UsesPrecomputedTables, Is.False);
        }

        private static void Increment(Dictionary<int, int> counts, int key) => counts[key] = counts.GetValueOrDefault(key) + 1;

        private static int LocalIndex(CsrGraph graph, int from, int to) => graph.Neighbors(from).BinarySearch(to);
    }
}
