namespace Embeddings
{
    /// <summary>
    /// Partitioned training for models larger than memory (docs/partitioned-training.md), after PyTorch-BigGraph and
    /// GraphVite: the input and output vectors are split into <see cref="Partitions"/> parts kept in
    /// <see cref="Directory"/>; the (centre, context) pairs of the walks or sequences are written to buckets by (partition of the
    /// input item, partition of the output item), and each bucket trains with only its two partitions in memory.
    /// Set on <see cref="GraphEmbeddingOptions.Partitioning"/> (node2vec, DeepWalk) or
    /// <see cref="SkipGramEmbeddingEstimator.Options.Partitioning"/> (skip-gram, and item2vec through its <c>SkipGram</c>
    /// options); null there (the default) trains in memory.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Partitioned mode runs when <see cref="Partitions"/> is set, or when it is null and the model (input and output
    /// vectors of every node or vocabulary item) would take more than <see cref="ModelMemoryBudgetBytes"/>; the smallest number of
    /// partitions whose resident memory fits the budget is then chosen. With neither set, training stays in memory.
    /// </para>
    /// <para>
    /// The run checkpoints after every bucket, so a run that is killed resumes from its last completed bucket when
    /// <c>Fit</c> is called again with the same graph (or corpus), settings and directory; a directory that holds a finished run
    /// gives its result without training. The result tables are memory-mapped from files in the directory
    /// (<see cref="EmbeddingTable.IsMemoryMapped"/>): keep the directory while they are in use.
    /// </para>
    /// </remarks>
    public sealed class PartitionedTrainingOptions
    {
        /// <summary>
        /// Number of partitions P, 1 to 64: each holds about 1/P of the nodes or items (by frequency rank, round robin). Default null:
        /// chosen from <see cref="ModelMemoryBudgetBytes"/>. P = 1 runs the partitioned trainer with one partition.
        /// </summary>
        public int? Partitions { get; set; }

        /// <summary>
        /// The folder of the partitions, pair buckets, checkpoint manifest and result tables; created when missing. It must be
        /// empty, or hold a run of the same graph (or corpus) and settings (which then resumes). Required in partitioned mode.
        /// </summary>
        public string? Directory { get; set; }

        /// <summary>
        /// Bytes of memory the model may take: the two resident partitions (one input, one output), the per-node tables
        /// of the partitioned trainer (32 bytes per node or item) and the pair write buffers. Default null: no budget. Must
        /// be at least 1 MiB. When <see cref="Partitions"/> is set and its resident memory exceeds the budget, <c>Fit</c>
        /// throws and names the number of partitions that would fit. The graph, the node keys, the vocabulary's keys and the
        /// result (memory-mapped) are not counted.
        /// </summary>
        public long? ModelMemoryBudgetBytes { get; set; }

        /// <summary>
        /// Disk space for the pair buckets of one episode, in bytes (8 per pair). Walks (or corpus shards) are processed in episodes of about
        /// this many pairs; each episode trains all P x P buckets once. Default 4 GiB; at least 1 MiB. Larger episodes mean
        /// fewer partition swaps; smaller ones mix the buckets of the run more finely.
        /// </summary>
        public long EpisodeBytes { get; set; } = 4L << 30;

        /// <summary>
        /// The fewest episodes an epoch is split into, whatever <see cref="EpisodeBytes"/> allows (fewer only when the
        /// walks or shards are fewer). Default 8; 1 to 1,024. Every bucket sweeps its episode's stretch of the learning-rate
        /// schedule, so with one episode each bucket starts again at the full rate and undoes part of the buckets before it:
        /// on BlogCatalog (P = 4, one epoch) Macro-F1 was 0.202 with 1 episode, 0.241 with 4, 0.250 with 8 and 0.248 with
        /// 14, against 0.243 in memory (docs/partitioned-training.md). More episodes cost more pair-writing passes and P x P
        /// matrix loads each.
        /// </summary>
        public int MinimumEpisodesPerEpoch { get; set; } = 8;

        /// <summary>A copy of these options.</summary>
        internal PartitionedTrainingOptions Clone() => (PartitionedTrainingOptions)MemberwiseClone();
    }
}
