using System;
using System.Threading;
using Embeddings.Partitioned;
using Embeddings.SkipGram;

namespace Embeddings.Cluster
{
    /// <summary>
    /// What a bucket trainer needs of its job besides the partitions and the pairs: the spec, the count of every item
    /// (negatives are drawn from count^0.75 within the output partition, as the single-machine partitioned trainer
    /// draws them) and the tokens of every episode (the learning rate decays linearly with the run's tokens). Read once
    /// per job (<see cref="ClusterJob.ReadJob"/>) and shared by every bucket of it; safe for concurrent use.
    /// </summary>
    public sealed class ClusterJobData
    {
        /// <summary>The exponent of the negative-sampling distribution: 0.75, word2vec's.</summary>
        public const double NegativeSamplingExponent = 0.75;

        private readonly long[] _itemCounts;
        private readonly long[] _episodeTokens;
        private readonly long[] _tokensBefore;
        private readonly Lazy<AliasSampler>[] _samplers;

        internal ClusterJobData(ClusterJobSpec spec, long[] itemCounts, long[] episodeTokens)
        {
            Spec = spec;
            _itemCounts = itemCounts;
            _episodeTokens = episodeTokens;
            _tokensBefore = new long[episodeTokens.Length + 1];
            for (int e = 0; e < episodeTokens.Length; e++)
                _tokensBefore[e + 1] = _tokensBefore[e] + episodeTokens[e];
            _samplers = new Lazy<AliasSampler>[spec.Partitions];
            for (int q = 0; q < _samplers.Length; q++)
            {
                int partition = q;
                _samplers[q] = new Lazy<AliasSampler>(() => BucketKernel.Sampler(_itemCounts, spec.Partitions, partition, NegativeSamplingExponent, $"Cluster job '{spec.JobId}'"),
                    LazyThreadSafetyMode.ExecutionAndPublication);
            }
        }

        /// <summary>The job's settings.</summary>
        public ClusterJobSpec Spec { get; }

        /// <summary>The count of each item (item v at index v).</summary>
        public ReadOnlyMemory<long> ItemCounts => _itemCounts;

        /// <summary>The tokens of each episode of an epoch.</summary>
        public ReadOnlyMemory<long> EpisodeTokens => _episodeTokens;

        /// <summary>The tokens of one epoch (the sum of <see cref="EpisodeTokens"/>).</summary>
        public long TokensPerEpoch => _tokensBefore[^1];

        /// <summary>The tokens of the run before episode <paramref name="episode"/> of epoch <paramref name="epoch"/>.</summary>
        public double TokensBefore(int epoch, int episode) => (double)epoch * TokensPerEpoch + _tokensBefore[episode];

        /// <summary>The negative sampler of partition <paramref name="partition"/> (local rows), built on first use.</summary>
        internal AliasSampler Sampler(int partition) => _samplers[partition].Value;
    }
}
