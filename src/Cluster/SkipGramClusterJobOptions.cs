using System;

namespace Embeddings.Cluster
{
    /// <summary>
    /// The cluster settings that the skip-gram jobs share (<see cref="GraphClusterJobOptions"/> for node2vec and DeepWalk,
    /// <see cref="Item2VecClusterJobOptions"/> for item2vec): the job's name, its partitions and ordering, its leases, how
    /// its pairs are cut into episodes, and how often the submitter asks for its status.
    /// </summary>
    public abstract record SkipGramClusterJobOptions
    {
        private protected SkipGramClusterJobOptions()
        {
        }

        /// <summary>The job's name: its folder in the shared storage and its coordinator's key (1 to 64 letters, digits, '_', '-'). Required.</summary>
        public string JobId { get; init; } = "";

        /// <summary>P, the number of partitions of the vectors: 1 to 64, at most the number of nodes or items with vectors. Default 4.</summary>
        public int Partitions { get; init; } = 4;

        /// <summary>The ordering constraints between buckets. Default <see cref="BucketOrdering.Deterministic"/> (the result equals <see cref="ClusterJob.TrainInProcess"/> bit for bit).</summary>
        public BucketOrdering Ordering { get; init; } = BucketOrdering.Deterministic;

        /// <summary>How long a lease lives without a renewal: 0.1 s to 1 day. Default 60 s.</summary>
        public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>
        /// The pair bytes (8 per pair) an episode may hold before the walks or users are split into more episodes, as
        /// <see cref="PartitionedTrainingOptions.EpisodeBytes"/>: 1 MiB or more. Default 4 GiB.
        /// </summary>
        public long EpisodeBytes { get; init; } = 4L << 30;

        /// <summary>
        /// The fewest episodes per epoch (fewer only when the input has fewer pieces), as
        /// <see cref="PartitionedTrainingOptions.MinimumEpisodesPerEpoch"/>: 1 to 1,024. Default 8.
        /// </summary>
        public int MinimumEpisodesPerEpoch { get; init; } = 8;

        /// <summary>
        /// When the workers write the pairs: the most episodes whose pairs are in the storage at once
        /// (<see cref="ClusterJobSpec.PairTaskWindow"/>), 1 to 64. Default 2: the next episode's pairs are written while
        /// one trains. The storage then holds about PairTaskWindow x <see cref="EpisodeBytes"/> of pairs at most.
        /// </summary>
        public int PairTaskWindow { get; init; } = 2;

        /// <summary>How often the job's <c>TrainAsync</c> asks the coordinator for the job's status: 10 ms to 1 minute. Default 1 s.</summary>
        public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

        /// <summary>
        /// Checks these settings (<paramref name="pairTasks"/>: whether the workers write the pairs, so that
        /// <see cref="PairTaskWindow"/> applies); the messages start with <paramref name="component"/> and name the
        /// options type's property.
        /// </summary>
        internal void Validate(string component, bool pairTasks)
        {
            string type = GetType().Name;
            if (Partitions < 1 || Partitions > ClusterJobSpec.MaxPartitions)
                throw new ArgumentOutOfRangeException(nameof(Partitions), Partitions, $"{component}: {type}.Partitions = {Partitions}; use 1 to {ClusterJobSpec.MaxPartitions}.");
            if (EpisodeBytes < (1L << 20))
                throw new ArgumentOutOfRangeException(nameof(EpisodeBytes), EpisodeBytes, $"{component}: {type}.EpisodeBytes = {EpisodeBytes:N0} is below 1 MiB; use 1 MiB or more (default 4 GiB).");
            if (MinimumEpisodesPerEpoch < 1 || MinimumEpisodesPerEpoch > 1024)
                throw new ArgumentOutOfRangeException(nameof(MinimumEpisodesPerEpoch), MinimumEpisodesPerEpoch, $"{component}: {type}.MinimumEpisodesPerEpoch = {MinimumEpisodesPerEpoch}; use 1 to 1024 (default 8).");
            if (pairTasks && (PairTaskWindow < 1 || PairTaskWindow > 64))
                throw new ArgumentOutOfRangeException(nameof(PairTaskWindow), PairTaskWindow, $"{component}: {type}.PairTaskWindow = {PairTaskWindow}; use 1 to 64 episodes of pairs in the storage at once (default 2).");
            if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromMinutes(1))
                throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, $"{component}: {type}.PollInterval = {PollInterval}; use 10 ms to 1 minute (default 1 s).");
            // The job id, ordering and lease timeout are checked with the spec, before anything is written.
            new ClusterJobSpec { JobId = JobId, Items = Partitions, Partitions = Partitions, Ordering = Ordering, LeaseTimeout = LeaseTimeout }.Validate();
        }
    }
}
