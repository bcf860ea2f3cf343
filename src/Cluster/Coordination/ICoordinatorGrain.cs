using System.Threading.Tasks;
using Orleans;

namespace Embeddings.Cluster.Coordination
{
    /// <summary>
    /// The lock server of one job (the grain's key is the job id): it leases buckets whose input and output
    /// partitions no live lease holds, expires leases that are not renewed, records completions exactly once, and
    /// checkpoints its state to the shared storage after every change, so a new activation (after a deactivation or a
    /// silo's death) resumes where the last one stopped.
    /// </summary>
    [Alias("Embeddings.Cluster.ICoordinatorGrain")]
    public interface ICoordinatorGrain : IGrainWithStringKey
    {
        /// <summary>Starts the job (reading its description from the storage) or resumes it from its checkpoint.</summary>
        /// <exception cref="System.InvalidOperationException">The storage has no such job, or its checkpoint belongs to another description.</exception>
        [Alias("Start")]
        Task<JobStatus> StartAsync();

        /// <summary>Leases a bucket to a worker, preferring one that uses the partitions it holds.</summary>
        [Alias("Lease")]
        Task<LeaseResult> LeaseAsync(LeaseRequest request);

        /// <summary>Extends a live lease by the lease timeout. False when the lease is no longer live (expired, completed, released or unknown).</summary>
        [Alias("Renew")]
        Task<bool> RenewAsync(long token, string workerId);

        /// <summary>Gives a live lease back without completing it (its bucket returns to the pool); no effect on a lease that is not live.</summary>
        [Alias("Release")]
        Task ReleaseAsync(long token, string workerId);

        /// <summary>
        /// Gives a live lease back because its work failed (an exception in the worker, not a stop): the work item returns
        /// to the pool, and after <see cref="ClusterJobSpec.MaxFailedAttempts"/> failed attempts of one work item the job
        /// fails (<see cref="JobStatus.FailureReason"/>; no more leases, and <c>ClusterJob.WaitAsync</c> throws). No effect on
        /// a lease that is not live.
        /// </summary>
        /// <param name="token">The lease.</param>
        /// <param name="workerId">The worker that held it.</param>
        /// <param name="reason">What failed (the exception's type and message), for the log and the job's failure reason.</param>
        [Alias("Fail")]
        Task FailAsync(long token, string workerId, string reason);

        /// <summary>Records a bucket's completion if its lease is still live and its two new partition versions exist.</summary>
        [Alias("Complete")]
        Task<CompletionResult> CompleteAsync(CompletionReport report);

        /// <summary>The job's progress.</summary>
        [Alias("GetStatus")]
        Task<JobStatus> GetStatusAsync();
    }
}
