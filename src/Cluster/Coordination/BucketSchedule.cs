using System;

namespace Embeddings.Cluster.Coordination
{
    /// <summary>A unit of work the coordinator leases: one bucket of one epoch, or one task (which holds no partition).</summary>
    /// <param name="Index">The work item's position in the job's total order: tasks first (0 to Tasks - 1), then the buckets.</param>
    /// <param name="Epoch">The epoch, from 0 (-1 for a task).</param>
    /// <param name="Episode">The episode within the epoch, from 0 (-1 for a task).</param>
    /// <param name="Input">The input partition i (-1 for a task).</param>
    /// <param name="Output">The output partition j (-1 for a task).</param>
    /// <param name="Task">The task's number, or -1 for a bucket.</param>
    /// <param name="Stage">The task's stage (0 for a bucket).</param>
    internal readonly record struct WorkItem(long Index, int Epoch, int Episode, int Input, int Output, int Task = -1, int Stage = 0)
    {
        public bool IsTask => Task >= 0;

        public static WorkItem OfTask(int task, int stage, int epoch = -1, int episode = -1) => new(task, epoch, episode, -1, -1, task, stage);
    }

    /// <summary>
    /// The job's buckets in their total order (indices here count buckets only; a job's tasks come before them): epoch, episode, round r (0..P-1), input partition i, with bucket
    /// (i, (i + r) mod P). The P buckets of a round touch every input and every output partition once, so they can
    /// all run at once; under <see cref="BucketOrdering.Deterministic"/> the k-th work item of input partition i is
    /// item (k / P, k mod P, i) and that of output partition j is (k / P, k mod P, (j - k mod P) mod P).
    /// </summary>
    internal sealed class BucketSchedule
    {
        public BucketSchedule(ClusterJobSpec spec)
        {
            Spec = spec;
            P = spec.Partitions;
            Total = spec.TotalBuckets;
        }

        public ClusterJobSpec Spec { get; }

        public int P { get; }

        public long Total { get; }

        /// <summary>Work items per partition (each input and each output partition is in one bucket per round): epochs x episodes x P.</summary>
        public long ItemsPerPartition => Total / P;

        public WorkItem At(long index)
        {
            if (index < 0 || index >= Total)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Work items are 0 to {Total - 1}.");
            int i = (int)(index % P);
            long rest = index / P;
            int round = (int)(rest % P);
            long episodeIndex = rest / P;
            int epoch = (int)(episodeIndex / Spec.Episodes);
            int episode = (int)(episodeIndex % Spec.Episodes);
            return new WorkItem(index, epoch, episode, i, (i + round) % P);
        }

        /// <summary>The global episode (epoch x episodes + episode) of a work item.</summary>
        public long EpisodeOf(long index) => index / ((long)P * P);

        /// <summary>The k-th work item that uses input partition <paramref name="input"/>.</summary>
        public long InputItem(int input, long k) => k * P + input;

        /// <summary>The k-th work item that uses output partition <paramref name="output"/>.</summary>
        public long OutputItem(int output, long k)
        {
            int round = (int)(k % P);
            return k * P + ((output - round) % P + P) % P;
        }
    }
}
