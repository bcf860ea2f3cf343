using System;
using System.Threading;
using Embeddings.SkipGram;

namespace Embeddings.Graph
{
    /// <summary>What the counting pass over the walks found.</summary>
    /// <param name="NodeVisits">Occurrences of each node in the walks (walks of one node included).</param>
    /// <param name="ItemTokens">Per work item, the nodes of its walks of two or more nodes.</param>
    /// <param name="Steps">Walk steps taken: nodes minus walks, over all walks.</param>
    /// <param name="SingleNodeWalks">Walks that could not leave their start node (no out-edges).</param>
    internal sealed record WalkVisits(long[] NodeVisits, long[] ItemTokens, long Steps, long SingleNodeWalks);

    /// <summary>
    /// The walks of a <see cref="WalkStream"/> as a skip-gram corpus, generated on the fly by each training thread:
    /// work item k is the walks [k x W, (k + 1) x W) with W = ceil(<see cref="SkipGramCorpus.TargetWorkItemTokens"/> /
    /// walk length), each mapped to vocabulary indices (nodes outside the vocabulary dropped; walks left with fewer than
    /// two nodes skipped). No walk is stored: memory is the stream's round orders and one token count per work item.
    /// </summary>
    /// <remarks>
    /// When no walk ends early and the vocabulary keeps every visited node, these are exactly the work items, in the same
    /// order and with the same token offsets, that the materialised walk corpus had (it closed an item after the walk that
    /// reached the target), so a run trains the same pairs from the same random streams as before.
    /// </remarks>
    internal sealed class WalkTokenCorpus : SkipGramCorpus
    {
        private readonly WalkStream _stream;
        private readonly int[] _vocabularyIndex;
        private readonly int _walksPerItem;
        private readonly long[] _itemOffsets;

        private WalkTokenCorpus(WalkStream stream, int[] vocabularyIndex, long[] itemTokens, long sequences)
        {
            _stream = stream;
            _vocabularyIndex = vocabularyIndex;
            _walksPerItem = WalksPerItem(stream.WalkLength);
            _itemOffsets = new long[itemTokens.Length + 1];
            for (int k = 0; k < itemTokens.Length; k++)
                _itemOffsets[k + 1] = _itemOffsets[k] + itemTokens[k];
            SequenceCount = sequences;
        }

        /// <summary>Walks per work item for walks of <paramref name="walkLength"/> nodes: the fewest full walks that reach the target.</summary>
        public static int WalksPerItem(int walkLength) => Math.Max(1, (TargetWorkItemTokens + walkLength - 1) / walkLength);

        /// <summary>Work items of a stream.</summary>
        public static int ItemCount(WalkStream stream)
        {
            long items = (stream.WalkCount + WalksPerItem(stream.WalkLength) - 1) / WalksPerItem(stream.WalkLength);
            if (items > int.MaxValue)
                throw new NotSupportedException($"{stream.WalkCount:N0} walks make {items:N0} work items, more than this trainer schedules; lower WalksPerNode.");
            return (int)items;
        }

        public override long TokenCount => _itemOffsets[^1];

        public override long SequenceCount { get; }

        /// <summary>Walks skipped because fewer than two of their nodes are in the vocabulary.</summary>
        public long SkippedWalks => _stream.WalkCount - SequenceCount;

        public override int MaxSequenceLength => _stream.WalkLength;

        public override int WorkItemCount => _itemOffsets.Length - 1;

        public override long WorkItemTokenOffset(int item) => _itemOffsets[item];

        public override SequenceReader CreateReader() => new Reader(this);

        /// <summary>
        /// The first pass: generates every walk once (on <paramref name="threads"/> threads) and counts node visits and
        /// the tokens of each work item. The counts do not depend on the number of threads.
        /// </summary>
        public static WalkVisits CountVisits(WalkStream stream, int threads, CancellationToken cancellation)
        {
            int items = ItemCount(stream);
            int perItem = WalksPerItem(stream.WalkLength);
            var visits = new long[stream.Graph.NodeCount];
            var itemTokens = new long[items];
            long steps = 0, single = 0;
            ForEachItem(items, threads, cancellation, () => stream.Open(0, 0), (item, cursor) =>
            {
                long first = (long)item * perItem;
                cursor.Reset(first, Math.Min(stream.WalkCount, first + perItem));
                long tokens = 0, itemSteps = 0, itemSingle = 0;
                while (cursor.MoveNext())
                {
                    var walk = cursor.Current;
                    foreach (int node in walk)
                        Interlocked.Increment(ref visits[node]);
                    itemSteps += walk.Length - 1;
                    if (walk.Length >= 2)
                        tokens += walk.Length;
                    else
                        itemSingle++;
                }
                itemTokens[item] = tokens;
                Interlocked.Add(ref steps, itemSteps);
                Interlocked.Add(ref single, itemSingle);
            });
            return new WalkVisits(visits, itemTokens, steps, single);
        }

        /// <summary>
        /// The corpus of the walks of <paramref name="stream"/> mapped through <paramref name="vocabularyIndex"/> (node to
        /// vocabulary index, -1 when dropped). When the vocabulary drops a visited node, the walks are generated once more
        /// to count what each work item keeps (the learning-rate schedule needs exact offsets); otherwise the counts of
        /// <paramref name="visits"/> are exact.
        /// </summary>
        public static WalkTokenCorpus Create(WalkStream stream, int[] vocabularyIndex, WalkVisits visits, int threads, CancellationToken cancellation)
        {
            bool dropsVisited = false;
            for (int v = 0; v < vocabularyIndex.Length && !dropsVisited; v++)
                dropsVisited = vocabularyIndex[v] < 0 && visits.NodeVisits[v] > 0;
            if (!dropsVisited)
                return new WalkTokenCorpus(stream, vocabularyIndex, visits.ItemTokens, stream.WalkCount - visits.SingleNodeWalks);

            int items = ItemCount(stream);
            var itemTokens = new long[items];
            long sequences = 0;
            var counting = new WalkTokenCorpus(stream, vocabularyIndex, new long[items], 0);
            ForEachItem(items, threads, cancellation, counting.CreateReader, (item, reader) =>
            {
                reader.Open(item);
                long tokens = 0, kept = 0;
                while (reader.Next(out var walk))
                {
                    tokens += walk.Length;
                    kept++;
                }
                itemTokens[item] = tokens;
                Interlocked.Add(ref sequences, kept);
            });
            return new WalkTokenCorpus(stream, vocabularyIndex, itemTokens, sequences);
        }

        /// <summary>Runs <paramref name="body"/> on items 0..<paramref name="items"/>-1 from <paramref name="threads"/> threads, each with a state of its own.</summary>
        private static void ForEachItem<TState>(int items, int threads, CancellationToken cancellation, Func<TState> createState, Action<int, TState> body) =>
            WorkItemThreads.Run(0, items, threads, "Walk worker", cancellation, createState, (_, item, state) => body((int)item, state));

        private sealed class Reader : SequenceReader
        {
            private readonly WalkTokenCorpus _corpus;
            private readonly WalkCursor _cursor;

            public Reader(WalkTokenCorpus corpus)
            {
                _corpus = corpus;
                _cursor = corpus._stream.Open(0, 0);
            }

            public override void Open(int item)
            {
                long first = (long)item * _corpus._walksPerItem;
                _cursor.Reset(first, Math.Min(_corpus._stream.WalkCount, first + _corpus._walksPerItem));
            }

            public override bool Next(out ReadOnlySpan<int> sequence)
            {
                var map = _corpus._vocabularyIndex;
                while (_cursor.MoveNext())
                {
                    // Mapped in place: the n-th kept node is written at or before its own position.
                    var walk = _cursor.CurrentBuffer;
                    int n = 0;
                    foreach (int node in walk)
                    {
                        int index = map[node];
                        if (index >= 0)
                            walk[n++] = index;
                    }
                    if (n >= 2)
                    {
                        sequence = walk.Slice(0, n);
                        return true;
                    }
                }
                sequence = default;
                return false;
            }
        }
    }
}
