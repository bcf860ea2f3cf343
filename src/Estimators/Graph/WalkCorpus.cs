using System;
using System.Threading;
using Embeddings.SkipGram;

namespace Embeddings.Graph
{
    /// <summary>
    /// Generates the walk corpus: <c>walksPerNode</c> rounds, each starting one walk at every node in an order
    /// shuffled by (seed, round). Walk i (round i / nodes) draws from the random stream (seed, i), so the corpus is the
    /// same with any number of threads. Walks are written straight into one token array (no per-walk allocation).
    /// </summary>
    internal static class WalkCorpus
    {
        private const int WalksPerWorkItem = 256;
        internal const ulong WalkStreamBase = 0x2_0000_0000UL;
        private const ulong PermutationStreamBase = 0x3_0000_0000UL;

        /// <summary>The walks as node indices: tokens and walk boundaries (walks end early at dead ends).</summary>
        public static (int[] Tokens, long[] Starts, long Steps) Generate(CsrGraph graph, RandomWalker walker, int walksPerNode, int walkLength, int seed, int threads, CancellationToken cancellation)
        {
            int nodes = graph.NodeCount;
            long walkCount = (long)nodes * walksPerNode;
            long capacity = walkCount * walkLength;
            if (capacity > Array.MaxLength)
                throw new NotSupportedException($"{walkCount:N0} walks of {walkLength} nodes need {capacity:N0} tokens, more than one array holds ({Array.MaxLength:N0}); lower WalksPerNode or WalkLength.");
            var tokens = new int[capacity];
            var lengths = new int[walkCount];
            var orders = new int[walksPerNode][];
            for (int round = 0; round < walksPerNode; round++)
                orders[round] = Permutation(nodes, seed, round);

            long nextItem = 0;
            long items = (walkCount + WalksPerWorkItem - 1) / WalksPerWorkItem;
            Exception? failure = null;
            var workers = new Thread[Math.Max(1, threads)];
            for (int t = 0; t < workers.Length; t++)
            {
                workers[t] = new Thread(() =>
                {
                    try
                    {
                        while (true)
                        {
                            long item = Interlocked.Increment(ref nextItem) - 1;
                            if (item >= items || cancellation.IsCancellationRequested || failure is not null)
                                return;
                            long end = Math.Min(walkCount, (item + 1) * WalksPerWorkItem);
                            for (long i = item * WalksPerWorkItem; i < end; i++)
                                lengths[i] = Walk(walker, orders, seed, i, tokens.AsSpan((int)(i * walkLength), walkLength));
                        }
                    }
                    catch (Exception e)
                    {
                        Interlocked.CompareExchange(ref failure, e, null);
                    }
                })
                { IsBackground = true, Name = $"Walk worker {t}" };
                workers[t].Start();
            }
            foreach (var worker in workers)
                worker.Join();
            if (failure is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
            cancellation.ThrowIfCancellationRequested();

            // Compact in place: walks that ended early leave gaps.
            var starts = new long[walkCount + 1];
            long write = 0;
            for (long i = 0; i < walkCount; i++)
            {
                starts[i] = write;
                int length = lengths[i];
                if (write != i * walkLength)
                    Array.Copy(tokens, i * walkLength, tokens, write, length);
                write += length;
            }
            starts[walkCount] = write;
            Array.Resize(ref tokens, (int)write);
            return (tokens, starts, write - walkCount);
        }

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
}
