using System;
using Embeddings.SkipGram;

namespace Embeddings.Graph
{
    /// <summary>
    /// The walk corpus' definition, shared by training (<see cref="WalkStream"/>) and <see cref="GraphWalkTransformer"/>:
    /// <c>walksPerNode</c> rounds, each starting one walk at every node in an order shuffled by (seed, round); walk i
    /// (round i / nodes) draws from the random stream (seed, i) alone, so any walk can be drawn by any thread at any time.
    /// </summary>
    internal static class WalkCorpus
    {
        internal const ulong WalkStreamBase = 0x2_0000_0000UL;
        private const ulong PermutationStreamBase = 0x3_0000_0000UL;

        /// <summary>
        /// Writes walk <paramref name="index"/> of the corpus into <paramref name="destination"/> and returns its length:
        /// it starts at <c>orders[index / nodes][index % nodes]</c> and draws from the stream (seed, index) alone.
        /// </summary>
        internal static int Walk(RandomWalker walker, int[][] orders, int seed, long index, Span<int> destination)
        {
            int nodes = orders[0].Length;
            var random = new TrainingRandom((ulong)seed, WalkStreamBase + (ulong)index);
            return walker.Walk(orders[index / nodes][index % nodes], destination, ref random);
        }

        /// <summary>The order in which round <paramref name="round"/> starts its walks: a permutation of the nodes drawn from (seed, round).</summary>
        internal static int[] Permutation(int n, int seed, int round)
        {
            var order = new int[n];
            for (int i = 0; i < n; i++)
                order[i] = i;
            var random = new TrainingRandom((ulong)seed, PermutationStreamBase + (ulong)round);
            for (int i = n - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            return order;
        }
    }

    /// <summary>
    /// The walk corpus of a graph as a stream, never stored: walk i of [0, <see cref="WalkCount"/>) is generated on
    /// demand, by any thread, identical every time (see <see cref="WalkCorpus"/>). The corpus is the same in every epoch.
    /// Memory: the round orders (4 bytes per walk start), never the walks. Partitioned trainers and the skip-gram walk
    /// corpus read it by index ranges through <see cref="Open"/>.
    /// </summary>
    internal sealed class WalkStream
    {
        private readonly int[][] _orders;

        /// <summary>The walks of <paramref name="walker"/> over <paramref name="graph"/>: <paramref name="walksPerNode"/> rounds of walks of at most <paramref name="walkLength"/> nodes.</summary>
        public WalkStream(CsrGraph graph, RandomWalker walker, int walksPerNode, int walkLength, int seed)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(walksPerNode, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(walkLength, 1);
            if (graph.NodeCount == 0)
                throw new ArgumentException("The graph has no nodes to start walks from.", nameof(graph));
            Graph = graph;
            Walker = walker;
            WalksPerNode = walksPerNode;
            WalkLength = walkLength;
            Seed = seed;
            _orders = new int[walksPerNode][];
            for (int round = 0; round < walksPerNode; round++)
                _orders[round] = WalkCorpus.Permutation(graph.NodeCount, seed, round);
        }

        public CsrGraph Graph { get; }

        public RandomWalker Walker { get; }

        public int WalksPerNode { get; }

        /// <summary>Nodes per walk at most (walks end early at nodes without out-edges).</summary>
        public int WalkLength { get; }

        public int Seed { get; }

        /// <summary>Walks of the corpus: nodes x walks per node.</summary>
        public long WalkCount => (long)Graph.NodeCount * WalksPerNode;

        /// <summary>Writes walk <paramref name="index"/> into the first <see cref="WalkLength"/> entries of <paramref name="destination"/>; returns its length (at least 1).</summary>
        public int Walk(long index, Span<int> destination)
        {
            if ((ulong)index >= (ulong)WalkCount)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Walk indices run from 0 to {WalkCount - 1}.");
            return WalkCorpus.Walk(Walker, _orders, Seed, index, destination.Slice(0, WalkLength));
        }

        /// <summary>A cursor over the walks [<paramref name="first"/>, <paramref name="end"/>), in index order, with a buffer of its own.</summary>
        public WalkCursor Open(long first, long end)
        {
            var cursor = new WalkCursor(this);
            cursor.Reset(first, end);
            return cursor;
        }
    }

    /// <summary>Walks of an index range of a <see cref="WalkStream"/>, one at a time, in a reused buffer (no allocation per walk).</summary>
    internal sealed class WalkCursor
    {
        private readonly WalkStream _stream;
        private readonly int[] _walk;
        private long _next;
        private long _end;
        private int _length;

        internal WalkCursor(WalkStream stream)
        {
            _stream = stream;
            _walk = new int[stream.WalkLength];
        }

        /// <summary>The index of <see cref="Current"/>.</summary>
        public long Index => _next - 1;

        /// <summary>The nodes of the current walk, valid until the next <see cref="MoveNext"/>.</summary>
        public ReadOnlySpan<int> Current => _walk.AsSpan(0, _length);

        /// <summary>The current walk's buffer, for a caller that rewrites the walk in place (valid until the next <see cref="MoveNext"/>).</summary>
        internal Span<int> CurrentBuffer => _walk.AsSpan(0, _length);

        /// <summary>Restarts the cursor over [<paramref name="first"/>, <paramref name="end"/>).</summary>
        public void Reset(long first, long end)
        {
            if (first < 0 || end < first || end > _stream.WalkCount)
                throw new ArgumentOutOfRangeException(nameof(end), $"The range [{first}, {end}) is not within the {_stream.WalkCount} walks.");
            _next = first;
            _end = end;
            _length = 0;
        }

        /// <summary>Generates the next walk of the range; false after the last.</summary>
        public bool MoveNext()
        {
            if (_next >= _end)
            {
                _length = 0;
                return false;
            }
            _length = _stream.Walk(_next++, _walk);
            return true;
        }
    }
}
