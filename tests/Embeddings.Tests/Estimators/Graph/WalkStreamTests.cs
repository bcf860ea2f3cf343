using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Graph;
using Embeddings.SkipGram;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Graph
{
    /// <summary>
    /// Walks generated on the fly (<see cref="WalkStream"/>, the walk corpus of the graph estimators) against the walks
    /// materialised one after the other as the estimators drew them before streaming.
    /// </summary>
    [TestFixture]
    public class WalkStreamTests
    {
        /// <summary>
        /// The reference corpus: walk i starts at the round-(i / n) permutation's node i mod n and draws from the stream
        /// (seed, i), the walks drawn one after the other into a list.
        /// </summary>
        private static List<int[]> Materialise(CsrGraph graph, RandomWalker walker, int walksPerNode, int walkLength, int seed)
        {
            var orders = Enumerable.Range(0, walksPerNode).Select(r => WalkCorpus.Permutation(graph.NodeCount, seed, r)).ToArray();
            var walks = new List<int[]>();
            var buffer = new int[walkLength];
            for (long i = 0; i < (long)graph.NodeCount * walksPerNode; i++)
            {
                var random = new TrainingRandom((ulong)seed, WalkCorpus.WalkStreamBase + (ulong)i);
                int length = walker.Walk(orders[i / graph.NodeCount][i % graph.NodeCount], buffer, ref random);
                walks.Add(buffer[..length]);
            }
            return walks;
        }

        /// <summary>An undirected ring of <paramref name="nodes"/> nodes with random chords: no dead ends, uneven degrees.</summary>
        private static CsrGraph RingWithChords(int nodes, int chords, int seed)
        {
            var random = new Random(seed);
            var edges = Enumerable.Range(0, nodes).Select(i => ($"n{i}", $"n{(i + 1) % nodes}", 1.0))
                .Concat(Enumerable.Range(0, chords).Select(_ => ($"n{random.Next(nodes)}", $"n{random.Next(nodes)}", 1.0 + random.Next(3))))
                .ToArray();
            return RandomWalkerTests.Build(directed: false, weighted: true, edges);
        }

        /// <summary>A directed graph whose sinks end walks early, and a node whose only edge is to itself.</summary>
        private static CsrGraph WithDeadEnds(int seed)
        {
            var random = new Random(seed);
            var edges = Enumerable.Range(0, 400).Select(_ => ($"n{random.Next(120)}", $"n{random.Next(150)}", 1.0)).Append(("loop", "loop", 1.0)).ToArray();
            return RandomWalkerTests.Build(directed: true, weighted: false, edges);
        }

        [Test]
        public void AnyRangeInAnyOrderOnAnyThreadGivesTheMaterialisedWalks([Values(SecondOrderSampling.Precomputed, SecondOrderSampling.Rejection)] SecondOrderSampling sampling)
        {
            var graph = RingWithChords(60, 90, seed: 1);
            var walker = new RandomWalker(graph, 0.25, 4, sampling);
            var expected = Materialise(graph, walker, walksPerNode: 7, walkLength: 15, seed: 9);
            var stream = new WalkStream(graph, walker, walksPerNode: 7, walkLength: 15, seed: 9);
            Assert.That(stream.WalkCount, Is.EqualTo(expected.Count));

            // Ranges of random sizes, read in a shuffled order from four threads.
            var random = new Random(2);
            var ranges = new List<(long First, long End)>();
            for (long first = 0; first < stream.WalkCount;)
            {
                long end = Math.Min(stream.WalkCount, first + random.Next(1, 40));
                ranges.Add((first, end));
                first = end;
            }
            var shuffled = ranges.OrderBy(_ => random.Next()).ToArray();
            var seen = new int[stream.WalkCount][];
            Parallel.ForEach(shuffled, new ParallelOptions { MaxDegreeOfParallelism = 4 }, range =>
            {
                var cursor = stream.Open(range.First, range.End);
                while (cursor.MoveNext())
                    seen[cursor.Index] = cursor.Current.ToArray();
            });
            Assert.That(seen, Is.EqualTo(expected));

            var other = new WalkStream(graph, walker, walksPerNode: 7, walkLength: 15, seed: 10);
            var cursorOfOther = other.Open(0, other.WalkCount);
            var otherWalks = new List<int[]>();
            while (cursorOfOther.MoveNext())
                otherWalks.Add(cursorOfOther.Current.ToArray());
            Assert.That(otherWalks, Is.Not.EqualTo(expected), "another seed draws other walks");
        }

        [Test]
        public void VisitCountsDoNotDependOnTheNumberOfThreads()
        {
            var graph = WithDeadEnds(seed: 3);
            var walker = new RandomWalker(graph, 0.5, 2, SecondOrderSampling.Auto);
            var stream = new WalkStream(graph, walker, walksPerNode: 20, walkLength: 600, seed: 5);
            var one = WalkTokenCorpus.CountVisits(stream, threads: 1, default);
            var three = WalkTokenCorpus.CountVisits(stream, threads: 3, default);
            Assert.That(three.NodeVisits, Is.EqualTo(one.NodeVisits));
            Assert.That(three.ItemTokens, Is.EqualTo(one.ItemTokens));
            Assert.That((three.Steps, three.SingleNodeWalks), Is.EqualTo((one.Steps, one.SingleNodeWalks)));

            var walks = Materialise(graph, walker, 20, 600, 5);
            var visits = new long[graph.NodeCount];
            foreach (int node in walks.SelectMany(w => w))
                visits[node]++;
            Assert.That(one.NodeVisits, Is.EqualTo(visits));
            Assert.That(one.Steps, Is.EqualTo(walks.Sum(w => w.Length - 1L)));
            Assert.That(one.SingleNodeWalks, Is.EqualTo(walks.Count(w => w.Length == 1)).And.GreaterThan(0));
            Assert.That(one.ItemTokens.Length, Is.GreaterThan(1), "several work items");
        }

        /// <summary>
        /// Without dead ends and with every visited node in the vocabulary, the streamed walk corpus has the work items,
        /// token offsets and sequences of the materialised corpus, and one-thread training over both is bit-identical.
        /// </summary>
        [Test]
        public void WithoutDeadEndsTheStreamedCorpusTrainsExactlyAsTheMaterialisedOne()
        {
            var graph = RingWithChords(300, 200, seed: 4);
            var walker = new RandomWalker(graph, 0.25, 4, SecondOrderSampling.Auto);
            var stream = new WalkStream(graph, walker, walksPerNode: 10, walkLength: 40, seed: 11);
            var visits = WalkTokenCorpus.CountVisits(stream, threads: 2, default);
            var (vocabulary, map) = GraphEmbeddingTraining.NodeVocabulary(graph, visits.NodeVisits, minCount: 1);
            using var streamed = WalkTokenCorpus.Create(stream, map, visits, threads: 2, default);

            var walks = Materialise(graph, walker, 10, 40, 11);
            var materialised = InMemory(walks, map);
            Assert.That(streamed.WorkItemCount, Is.EqualTo(materialised.WorkItemCount).And.GreaterThan(10));
            Assert.That(streamed.TokenCount, Is.EqualTo(materialised.TokenCount));
            Assert.That(streamed.SequenceCount, Is.EqualTo(materialised.SequenceCount));
            for (int item = 0; item < streamed.WorkItemCount; item++)
                Assert.That(streamed.WorkItemTokenOffset(item), Is.EqualTo(materialised.WorkItemTokenOffset(item)), $"offset of item {item}");
            Assert.That(Items(streamed), Is.EqualTo(Items(materialised)));

            var settings = new SkipGramTrainingSettings
            {
                Dimension = 16,
                WindowSize = 5,
                WholeSequenceContext = false,
                Cbow = false,
                NegativeSampleCount = 5,
                HierarchicalSoftmax = false,
                NegativeSamplingExponent = 0.75,
                SamplingThreshold = 1e-3,
                Epochs = 2,
                LearningRate = 0.05f,
                NumberOfThreads = 1,
                Seed = 11,
            };
            var a = SkipGramTrainer.Train(vocabulary, materialised, settings);
            var b = SkipGramTrainer.Train(vocabulary, streamed, settings);
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(a.InputVectors.Build(vocabulary.Keys), b.InputVectors.Build(vocabulary.Keys));
        }

        /// <summary>
        /// With dead ends, single-node walks and a MinCount that drops visited nodes, the streamed corpus reads the
        /// materialised corpus' sequences in the same order, skips the same walks, and its token offsets are exact.
        /// </summary>
        [Test]
        public void DeadEndsAndDroppedNodesKeepTheSequencesAndExactOffsets()
        {
            var graph = WithDeadEnds(seed: 6);
            var walker = new RandomWalker(graph, 1, 1, SecondOrderSampling.Auto);
            var stream = new WalkStream(graph, walker, walksPerNode: 30, walkLength: 50, seed: 2);
            var visits = WalkTokenCorpus.CountVisits(stream, threads: 2, default);
            int minCount = (int)visits.NodeVisits.Where(v => v > 0).OrderBy(v => v).ElementAt(visits.NodeVisits.Count(v => v > 0) / 3);
            var (_, map) = GraphEmbeddingTraining.NodeVocabulary(graph, visits.NodeVisits, minCount);
            Assert.That(Enumerable.Range(0, graph.NodeCount).Count(v => map[v] < 0 && visits.NodeVisits[v] > 0), Is.GreaterThan(0), "the vocabulary drops visited nodes");
            using var streamed = WalkTokenCorpus.Create(stream, map, visits, threads: 3, default);

            var walks = Materialise(graph, walker, 30, 50, 2);
            var expected = walks.Select(w => w.Select(n => map[n]).Where(i => i >= 0).ToArray()).Where(w => w.Length >= 2).ToList();
            var items = Items(streamed);
            Assert.That(items.SelectMany(i => i), Is.EqualTo(expected));
            Assert.That(streamed.SequenceCount, Is.EqualTo(expected.Count));
            Assert.That(streamed.SkippedWalks, Is.EqualTo(walks.Count - expected.Count).And.GreaterThan(0));
            Assert.That(streamed.TokenCount, Is.EqualTo(expected.Sum(w => (long)w.Length)));
            long offset = 0;
            for (int item = 0; item < streamed.WorkItemCount; item++)
            {
                Assert.That(streamed.WorkItemTokenOffset(item), Is.EqualTo(offset), $"offset of item {item}");
                offset += items[item].Sum(w => (long)w.Length);
            }
        }

        /// <summary>The corpus the estimators built before streaming: the walks mapped to the vocabulary, walks under two nodes dropped.</summary>
        private static TokenCorpus InMemory(List<int[]> walks, int[] map)
        {
            var tokens = new List<int>();
            var starts = new List<long> { 0 };
            foreach (var walk in walks)
            {
                var kept = walk.Select(n => map[n]).Where(i => i >= 0).ToArray();
                if (kept.Length < 2)
                    continue;
                tokens.AddRange(kept);
                starts.Add(tokens.Count);
            }
            return new TokenCorpus(tokens.ToArray(), starts.ToArray());
        }

        private static List<List<int[]>> Items(SkipGramCorpus corpus)
        {
            var items = new List<List<int[]>>();
            using var reader = corpus.CreateReader();
            for (int item = 0; item < corpus.WorkItemCount; item++)
            {
                reader.Open(item);
                var sequences = new List<int[]>();
                while (reader.Next(out var sequence))
                    sequences.Add(sequence.ToArray());
                items.Add(sequences);
            }
            return items;
        }
    }
}
