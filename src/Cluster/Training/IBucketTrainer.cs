using System.Threading;

namespace Embeddings.Cluster.Training
{
    /// <summary>One bucket to train: which job, epoch, episode and partitions, and the partitions' shapes.</summary>
    /// <param name="Job">The job: its spec, item counts and episode tokens.</param>
    /// <param name="WorkItem">The work item's position in the job's total order.</param>
    /// <param name="Epoch">The epoch, from 0.</param>
    /// <param name="Episode">The episode within the epoch, from 0.</param>
    /// <param name="Input">The input partition i.</param>
    /// <param name="Output">The output partition j.</param>
    public sealed record BucketWork(ClusterJobData Job, long WorkItem, int Epoch, int Episode, int Input, int Output)
    {
        /// <summary>The job's settings.</summary>
        public ClusterJobSpec Spec => Job.Spec;

        /// <summary>Rows of input partition i.</summary>
        public int InputRows => Spec.RowsOf(Input);

        /// <summary>Rows of output partition j.</summary>
        public int OutputRows => Spec.RowsOf(Output);
    }

    /// <summary>What training a bucket did.</summary>
    /// <param name="Pairs">Pairs trained.</param>
    /// <param name="LossSum">The sum over the pairs of the log-losses of their scores (the positive and the negatives).</param>
    public readonly record struct BucketResult(long Pairs, double LossSum);

    /// <summary>Where a bucket trainer reports progress; the worker renews its lease only while progress comes.</summary>
    public interface IBucketProgress
    {
        /// <summary>Reports that <paramref name="pairsDone"/> pairs of the bucket are trained. Cheap; call it at least every few thousand pairs.</summary>
        void Report(long pairsDone);
    }

    /// <summary>
    /// The seam between the cluster machinery and a training kernel: trains one bucket's pairs on the two partitions
    /// in memory, in place. Implementations must be deterministic functions of (job, work item, partitions, pairs):
    /// every random draw seeded from the job's seed and the work item (epoch, episode, input, output), never from a
    /// thread, a worker or the clock, so that a bucket gives the same result on whichever worker trains it.
    /// </summary>
    public interface IBucketTrainer
    {
        /// <summary>Trains a bucket in place.</summary>
        /// <param name="work">The bucket.</param>
        /// <param name="input">Input partition i, <see cref="BucketWork.InputRows"/> x dimension values, row-major; updated.</param>
        /// <param name="output">Output partition j, <see cref="BucketWork.OutputRows"/> x dimension values, row-major; updated.</param>
        /// <param name="pairs">The bucket's pairs as (input local row, output local row), read in chunks; the caller disposes it.</param>
        /// <param name="progress">Where to report progress (the lease is renewed only while progress comes).</param>
        /// <param name="cancellation">Cancelled when the lease is lost or the worker stops; the partitions are then discarded.</param>
        BucketResult Train(BucketWork work, float[] input, float[] output, BucketPairs pairs, IBucketProgress progress, CancellationToken cancellation);
    }
}
