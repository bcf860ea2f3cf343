using System;
using System.Globalization;

namespace Embeddings.Partitioned
{
    /// <summary>
    /// What every partitioned skip-gram run shares, whatever its tokens come from (graph walks or a sequence corpus): the
    /// checks of <see cref="PartitionedTrainingOptions"/>, the memory model, the choice between in-memory and partitioned
    /// training, and the hook tests use to simulate a crash. The run itself is <see cref="PartitionedSkipGramRun"/>.
    /// </summary>
    internal static class PartitionedTraining
    {
        public const int MaxPartitions = 64;
        internal const int ChunkPairs = 1 << 16;
        internal const int MaxGroup = 64;
        private const int PerItemBytes = 32;

        /// <summary>Called on the training thread after each bucket's checkpoint is committed; tests throw from it to simulate a crash.</summary>
        [ThreadStatic]
        internal static Action<CompletedBucket>? BucketCommitted;

        /// <summary>The checks of a <c>Partitioning</c> option that need no data (at estimator construction); null passes.</summary>
        public static void Validate(PartitionedTrainingOptions? p, string component)
        {
            if (p is null)
                return;
            if (p.Partitions is null && p.ModelMemoryBudgetBytes is null)
                throw new ArgumentException($"{component}: Partitioning is set but neither Partitioning.Partitions nor Partitioning.ModelMemoryBudgetBytes is; set Partitions (1 to {MaxPartitions}) to train partitioned, or a memory budget to partition when the model would exceed it, or leave Partitioning null.", "Partitioning");
            if (p.Partitions is int count && (count < 1 || count > MaxPartitions))
                throw new ArgumentOutOfRangeException(nameof(p.Partitions), count, $"{component}: Partitioning.Partitions = {count} is out of range; use 1 to {MaxPartitions}, or null to choose from ModelMemoryBudgetBytes.");
            if (p.ModelMemoryBudgetBytes is long budget && budget < (1L << 20))
                throw new ArgumentOutOfRangeException(nameof(p.ModelMemoryBudgetBytes), budget, $"{component}: Partitioning.ModelMemoryBudgetBytes = {budget:N0} is below 1 MiB; give the bytes the model may take (for example 1.5 GiB = 1610612736), or null for no budget.");
            if (p.MinimumEpisodesPerEpoch < 1 || p.MinimumEpisodesPerEpoch > 1024)
                throw new ArgumentOutOfRangeException(nameof(p.MinimumEpisodesPerEpoch), p.MinimumEpisodesPerEpoch, $"{component}: Partitioning.MinimumEpisodesPerEpoch = {p.MinimumEpisodesPerEpoch} is out of range; use 1 to 1024 (default 8).");
            if (p.EpisodeBytes < (1L << 20))
                throw new ArgumentOutOfRangeException(nameof(p.EpisodeBytes), p.EpisodeBytes, $"{component}: Partitioning.EpisodeBytes = {p.EpisodeBytes:N0} is below 1 MiB; use 1 MiB or more (default 4 GiB).");
            if (string.IsNullOrWhiteSpace(p.Directory))
                throw new ArgumentException($"{component}: Partitioning.Directory is empty; partitioned training keeps its partitions, pair buckets and checkpoints in a folder: name one (empty, or holding an interrupted run to resume).", nameof(p.Directory));
        }

        /// <summary>
        /// The memory the partitioned trainer's model takes for <paramref name="items"/> items (graph nodes or vocabulary
        /// items) with <paramref name="partitions"/> partitions: one input and one output partition resident, the per-item
        /// tables, the pair write buffers, the training chunks and the gradient buffers.
        /// </summary>
        public static long ResidentBytes(long items, int partitions, int dimension, int threads)
        {
            long rows = (items + partitions - 1) / partitions;
            return 2 * rows * dimension * sizeof(float) + PerItemBytes * items
                + (long)threads * partitions * partitions * BufferPairs(partitions) * 8 + (long)threads * ChunkPairs * 8
                + (long)threads * 2 * MaxGroup * dimension * sizeof(float);
        }

        /// <summary>Pairs buffered per bucket and thread while the pairs of an episode are written.</summary>
        internal static int BufferPairs(int partitions) => Math.Clamp((1 << 19) / (partitions * partitions), 1024, 1 << 16);

        /// <summary>
        /// The number of partitions to train with, or null to train in memory: <c>Partitions</c> when set (checked against
        /// the budget), else the fewest that fit <c>ModelMemoryBudgetBytes</c> when the in-memory model (input and output
        /// vectors of every item) would not.
        /// </summary>
        public static int? Choose(PartitionedTrainingOptions? options, int items, int dimension, int threads, string component, string what = "nodes")
        {
            if (options is null)
                return null;
            long? budget = options.ModelMemoryBudgetBytes;
            if (options.Partitions is int fixedCount)
            {
                if (budget is long b && ResidentBytes(items, fixedCount, dimension, threads) > b)
                {
                    int? fits = Fitting(items, dimension, threads, b);
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"{component}: Partitioning.Partitions = {fixedCount} needs {ResidentBytes(items, fixedCount, dimension, threads):N0} bytes for {items:N0} {what} of dimension {dimension} ({threads} threads), more than ModelMemoryBudgetBytes = {b:N0}; ") +
                        (fits is int f ? $"use Partitions = {f} or more, or raise the budget." : $"no number of partitions up to {MaxPartitions} fits: raise the budget to at least {ResidentBytes(items, MaxPartitions, dimension, threads):N0} bytes or lower EmbeddingDimension."));
                }
                return fixedCount;
            }
            long inMemory = 2L * items * dimension * sizeof(float);
            if (budget is not long limit || inMemory <= limit)
                return null;
            return Fitting(items, dimension, threads, limit) ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{component}: the model of {items:N0} {what} x {dimension} dimensions takes {inMemory:N0} bytes, more than ModelMemoryBudgetBytes = {limit:N0}, and even {MaxPartitions} partitions need {ResidentBytes(items, MaxPartitions, dimension, threads):N0}; raise the budget or lower EmbeddingDimension."));
        }

        private static int? Fitting(int items, int dimension, int threads, long budget)
        {
            for (int p = 2; p <= MaxPartitions; p++)
            {
                if (ResidentBytes(items, p, dimension, threads) <= budget)
                    return p;
            }
            return null;
        }
    }
}
