using System;
using System.Collections.Generic;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Embeddings.Cluster.Storage;
using Embeddings.Partitioned;

namespace Embeddings.Cluster
{
    /// <summary>
    /// Writes one job into the storage: its buckets' pair files in order (episode, input partition, output
    /// partition), then the initial partitions and the description (job.json, the commit point). When a job with the
    /// same id is there already, nothing is written: the same spec, pairs and counts are accepted as a resubmission,
    /// anything else throws.
    /// </summary>
    internal sealed class JobSubmission
    {
        private readonly IPartitionStore _store;
        private readonly ClusterJobSpec _spec;
        private readonly JobDescription? _existing;
        private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        private long _next;

        public JobSubmission(IPartitionStore store, ClusterJobSpec spec)
        {
            _store = store;
            _spec = spec;
            bool exists = store.ReadBlob(spec.JobId, JobFiles.Job) is not null;
            _existing = exists ? JobFiles.ReadDescription(store, spec.JobId).Description : null;
            if (_existing is not null)
            {
                var differences = _existing.Spec.Differences(spec);
                if (differences.Count > 0)
                    throw new InvalidOperationException(
                        $"The storage at '{store.Location}' holds another job named '{spec.JobId}' ({string.Join("; ", differences)}, stored vs submitted): choose another JobId, or delete the job's folder to replace it.");
            }
            EpisodePairs = new long[spec.Episodes];
        }

        /// <summary>The pairs added to each episode so far.</summary>
        public long[] EpisodePairs { get; }

        /// <summary>Checks counts given by the caller (null passes: they are derived).</summary>
        public static void CheckCounts(ClusterJobSpec spec, long[]? itemCounts, long[]? episodeTokens)
        {
            if (itemCounts is not null)
            {
                if (itemCounts.Length != spec.Items)
                    throw new ArgumentException($"itemCounts has {itemCounts.Length} values for ClusterJobSpec.Items = {spec.Items}; give one count per item (or null to count the pairs' outputs).", nameof(itemCounts));
                for (int v = 0; v < itemCounts.Length; v++)
                {
                    if (itemCounts[v] < 0)
                        throw new ArgumentOutOfRangeException(nameof(itemCounts), itemCounts[v], $"itemCounts[{v}] is {itemCounts[v]}; counts are 0 or more.");
                }
            }
            if (episodeTokens is not null)
            {
                if (episodeTokens.Length != spec.Episodes)
                    throw new ArgumentException($"episodeTokens has {episodeTokens.Length} values for ClusterJobSpec.Episodes = {spec.Episodes}; give one token count per episode (or null to use the pair counts).", nameof(episodeTokens));
                for (int e = 0; e < episodeTokens.Length; e++)
                {
                    if (episodeTokens[e] < 0)
                        throw new ArgumentOutOfRangeException(nameof(episodeTokens), episodeTokens[e], $"episodeTokens[{e}] is {episodeTokens[e]}; token counts are 0 or more.");
                }
            }
        }

        /// <summary>Adds bucket (i, j) of episode e: its pairs as interleaved local rows. Buckets come in order: episode, i, j.</summary>
        public void AddBucket(int episode, int input, int output, ReadOnlySpan<int> pairs)
        {
            int p = _spec.Partitions;
            long index = ((long)episode * p + input) * p + output;
            if (index != _next)
                throw new InvalidOperationException($"Bucket ({input}, {output}) of episode {episode} was added out of order (bucket {_next} of the job was expected).");
            _next++;
            int inputRows = _spec.RowsOf(input), outputRows = _spec.RowsOf(output);
            for (int k = 0; k < pairs.Length; k += 2)
            {
                if ((uint)pairs[k] >= (uint)inputRows || (uint)pairs[k + 1] >= (uint)outputRows)
                    throw new ArgumentOutOfRangeException(nameof(pairs), string.Create(CultureInfo.InvariantCulture,
                        $"Pair {k / 2} of bucket ({input}, {output}) of episode {episode} is ({pairs[k]}, {pairs[k + 1]}) in local rows; the partitions have {inputRows} and {outputRows} rows."));
            }
            byte[] bytes = JobFiles.EncodePairs(episode, input, output, pairs);
            _hash.AppendData(bytes);
            EpisodePairs[episode] += pairs.Length / 2;
            if (_existing is null)
                _store.WriteBlob(_spec.JobId, JobFiles.PairFile(episode, input, output), bytes);
        }

        /// <summary>After the last bucket: writes the initial partitions and the description (the commit), or checks the resubmission.</summary>
        public void Commit(long[] itemCounts, long[] episodeTokens)
        {
            var spec = _spec;
            int p = spec.Partitions;
            if (_next != (long)spec.Episodes * p * p)
                throw new InvalidOperationException($"The job has {(long)spec.Episodes * p * p} buckets; {_next} were added.");
            CheckCounts(spec, itemCounts, episodeTokens);
            long tokens = 0;
            foreach (long t in episodeTokens)
                tokens += t;
            long pairs = 0;
            foreach (long n in EpisodePairs)
                pairs += n;
            if (tokens <= 0 && pairs > 0)
                throw new ArgumentException($"Job '{spec.JobId}' has {pairs:N0} pairs but episodeTokens sum to 0: the learning rate decays over the tokens; give each episode its token count (or null to use the pair counts).", nameof(episodeTokens));
            for (int q = 0; q < p; q++)
            {
                // The sampler of each partition must exist: it throws, naming the partition, when every count in it is 0.
                BucketKernel.Sampler(itemCounts, p, q, ClusterJobData.NegativeSamplingExponent, $"Cluster job '{spec.JobId}' (item counts)");
            }
            string pairsSha = Convert.ToHexString(_hash.GetHashAndReset());
            if (_existing is not null)
            {
                if (_existing.PairsSha256 != pairsSha || !_existing.ItemCounts.AsSpan().SequenceEqual(itemCounts) || !_existing.EpisodeTokens.AsSpan().SequenceEqual(episodeTokens))
                    throw new InvalidOperationException(
                        $"The storage at '{_store.Location}' holds a job named '{spec.JobId}' with the same settings but other pairs or counts: choose another JobId, or delete the job's folder to replace it.");
                return;
            }
            WriteInitialState(new JobDescription
            {
                Spec = spec,
                EpisodePairs = EpisodePairs,
                PairsSha256 = pairsSha,
                ItemCounts = itemCounts,
                EpisodeTokens = episodeTokens,
            });
        }

        /// <summary>True when the storage holds this job already (a resubmission: <see cref="CommitPairTasks"/> only checks it).</summary>
        public bool Exists => _existing is not null;

        /// <summary>
        /// Commits a job whose tasks write its pairs (<see cref="ClusterJobSpec.PairTaskWindow"/>): its inputs are in the
        /// storage already (their fingerprint is <paramref name="inputSha256"/>); writes the initial partitions and the
        /// description, or checks the resubmission.
        /// </summary>
        public void CommitPairTasks(long[] itemCounts, long[] episodeTokens, string inputSha256)
        {
            var spec = _spec;
            if (!spec.PairsByTask)
                throw new InvalidOperationException($"Job '{spec.JobId}' has no PairTaskWindow; its pairs are added with AddBucket and committed with Commit.");
            CheckCounts(spec, itemCounts, episodeTokens);
            ArgumentNullException.ThrowIfNull(itemCounts);
            ArgumentNullException.ThrowIfNull(episodeTokens);
            long tokens = 0;
            foreach (long t in episodeTokens)
                tokens += t;
            if (tokens <= 0)
                throw new ArgumentException($"Job '{spec.JobId}': episodeTokens sum to 0; the learning rate decays over the tokens, so each episode needs its token count.", nameof(episodeTokens));
            for (int q = 0; q < spec.Partitions; q++)
                BucketKernel.Sampler(itemCounts, spec.Partitions, q, ClusterJobData.NegativeSamplingExponent, $"Cluster job '{spec.JobId}' (item counts)");
            if (_existing is not null)
            {
                if (_existing.TaskInputSha256 != inputSha256 || !_existing.ItemCounts.AsSpan().SequenceEqual(itemCounts) || !_existing.EpisodeTokens.AsSpan().SequenceEqual(episodeTokens))
                    throw new InvalidOperationException(
                        $"The storage at '{_store.Location}' holds a job named '{spec.JobId}' with the same settings but another graph, vocabulary or walk settings: choose another JobId, or delete the job's folder to replace it.");
                return;
            }
            WriteInitialState(new JobDescription
            {
                Spec = spec,
                ItemCounts = itemCounts,
                EpisodeTokens = episodeTokens,
                TaskInputSha256 = inputSha256,
            });
        }

        /// <summary>The spec of a job whose tasks write its pairs, one per epoch and episode of <paramref name="counted"/>.</summary>
        public static ClusterJobSpec PairTaskSpec(string jobId, PairVocabulary counted, int partitions, int dimension, int epochs, int negatives, float learningRate, int seed,
            BucketOrdering ordering, TimeSpan leaseTimeout, string taskKind, int pairTaskWindow)
        {
            var spec = new ClusterJobSpec
            {
                JobId = jobId,
                Items = counted.Keys.Length,
                Partitions = partitions,
                Dimension = dimension,
                Epochs = epochs,
                Episodes = counted.EpisodesPerEpoch,
                Negatives = negatives,
                LearningRate = learningRate,
                Seed = seed,
                Ordering = ordering,
                LeaseTimeout = leaseTimeout,
                Tasks = checked(epochs * counted.EpisodesPerEpoch),
                TaskKind = taskKind,
                PairTaskWindow = pairTaskWindow,
            };
            spec.Validate();
            return spec;
        }

        /// <summary>
        /// Writes a job whose tasks write its pairs: its inputs, in order (each goes through the fingerprint, and into
        /// the storage only when the job is new: a resubmission's stored inputs are being read by the workers), then
        /// the initial partitions and the description, or checks the resubmission against the stored job.
        /// </summary>
        public static void SubmitPairTaskJob(IPartitionStore store, ClusterJobSpec spec, PairVocabulary counted, IReadOnlyList<(string Name, Action<System.IO.Stream> Write)> inputs)
        {
            var submission = new JobSubmission(store, spec);
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            foreach (var (name, write) in inputs)
            {
                if (submission.Exists)
                {
                    using var hashing = new HashingStream(System.IO.Stream.Null, hash);
                    write(hashing);
                }
                else
                {
                    store.WriteBlob(spec.JobId, name, destination =>
                    {
                        using var hashing = new HashingStream(destination, hash);
                        write(hashing);
                    });
                }
            }
            submission.CommitPairTasks(counted.Counts, counted.EpisodeTokens, Convert.ToHexString(hash.GetHashAndReset()));
        }

        /// <summary>Writes version 0 of every partition, then the description (the commit point).</summary>
        private void WriteInitialState(JobDescription description)
        {
            var spec = _spec;
            int p = spec.Partitions;
            // Without a job.json nothing is committed: partition files here are leftovers of an interrupted submission
            // (perhaps of other settings), so they go before version 0 is written.
            var none = new HashSet<long>();
            for (int partition = 0; partition < ClusterJobSpec.MaxPartitions; partition++)
            {
                _store.CollectPartitionVersions(spec.JobId, PartitionSide.Input, partition, none);
                _store.CollectPartitionVersions(spec.JobId, PartitionSide.Output, partition, none);
            }
            int d = spec.Dimension;
            for (int partition = 0; partition < p; partition++)
            {
                int rows = spec.RowsOf(partition);
                var values = new float[(long)rows * d];
                _store.WritePartition(spec.JobId, PartitionSide.Output, partition, 0, rows, d, values);
                // Item v starts as the single-machine trainers start vocabulary row v.
                for (int local = 0; local < rows; local++)
                    BucketKernel.InitializeInputRow(spec.Seed, (long)local * p + partition, values.AsSpan(local * d, d));
                _store.WritePartition(spec.JobId, PartitionSide.Input, partition, 0, rows, d, values);
            }
            _store.WriteBlob(spec.JobId, JobFiles.Job, JsonSerializer.SerializeToUtf8Bytes(description, JobFiles.Json));
        }
    }
}
