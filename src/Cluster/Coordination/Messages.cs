using System;
using Orleans;

namespace Embeddings.Cluster.Coordination
{
    /// <summary>A worker's request for a bucket, with the partitions it holds in memory (for affinity).</summary>
    [GenerateSerializer, Immutable, Alias("Embeddings.Cluster.LeaseRequest")]
    public sealed record LeaseRequest
    {
        /// <summary>The worker's name (unique in the cluster; the silo name plus a worker number).</summary>
        [Id(0)] public string WorkerId { get; init; } = "";

        /// <summary>The input partition the worker holds in memory, or -1.</summary>
        [Id(1)] public int ResidentInput { get; init; } = -1;

        /// <summary>The version of <see cref="ResidentInput"/> held, or -1.</summary>
        [Id(2)] public long ResidentInputVersion { get; init; } = -1;

        /// <summary>The output partition the worker holds in memory, or -1.</summary>
        [Id(3)] public int ResidentOutput { get; init; } = -1;

        /// <summary>The version of <see cref="ResidentOutput"/> held, or -1.</summary>
        [Id(4)] public long ResidentOutputVersion { get; init; } = -1;
    }

    /// <summary>A work item leased to one worker: a bucket (<see cref="Task"/> is -1) or a task (which holds no partition).</summary>
    [GenerateSerializer, Immutable, Alias("Embeddings.Cluster.BucketLease")]
    public sealed record BucketLease
    {
        /// <summary>The job.</summary>
        [Id(0)] public string JobId { get; init; } = "";

        /// <summary>
        /// The lease's token: unique in the job, increasing, never reused (the coordinator's checkpoint records the last
        /// one before handing it out). It fences completions, and it is the version number of the partitions the
        /// worker writes, so a retry never overwrites a zombie's files or the reverse.
        /// </summary>
        [Id(1)] public long Token { get; init; }

        /// <summary>The work item's position in the job's total order.</summary>
        [Id(2)] public long WorkItem { get; init; }

        /// <summary>The epoch, from 0.</summary>
        [Id(3)] public int Epoch { get; init; }

        /// <summary>The episode within the epoch, from 0.</summary>
        [Id(4)] public int Episode { get; init; }

        /// <summary>The input partition i.</summary>
        [Id(5)] public int Input { get; init; }

        /// <summary>The output partition j.</summary>
        [Id(6)] public int Output { get; init; }

        /// <summary>The current version of input partition i, to train from.</summary>
        [Id(7)] public long InputVersion { get; init; }

        /// <summary>The current version of output partition j, to train from.</summary>
        [Id(8)] public long OutputVersion { get; init; }

        /// <summary>The lease timeout: a lease not renewed within it expires.</summary>
        [Id(9)] public TimeSpan Timeout { get; init; }

        /// <summary>The task's number (0 to <see cref="ClusterJobSpec.Tasks"/> - 1), or -1 when the lease is of a bucket.</summary>
        [Id(10)] public int Task { get; init; } = -1;

        /// <summary>The task's stage (0 for a bucket).</summary>
        [Id(11)] public int Stage { get; init; }

        /// <summary>
        /// For a bucket of a job whose tasks write its pairs (<see cref="ClusterJobSpec.PairTaskWindow"/>): the committed token
        /// of its episode's pair task, whose output holds the bucket's pair file; 0 when the submitter wrote the pairs.
        /// </summary>
        [Id(12)] public long PairsToken { get; init; }

        /// <summary>True when the lease is of a task rather than a bucket.</summary>
        public bool IsTask => Task >= 0;

        /// <summary>The version the worker writes both new partitions (or the task's output folder) under: <see cref="Token"/>.</summary>
        public long NewVersion => Token;
    }

    /// <summary>What <see cref="ICoordinatorGrain.LeaseAsync"/> answered.</summary>
    public enum LeaseStatus
    {
        /// <summary>A bucket was leased: <see cref="LeaseResult.Lease"/> is set.</summary>
        Granted = 0,

        /// <summary>Every bucket not done is leased or waits for one that is; ask again later.</summary>
        Wait = 1,

        /// <summary>Every bucket of every epoch is done.</summary>
        Finished = 2,
    }

    /// <summary>The answer to a lease request.</summary>
    [GenerateSerializer, Immutable, Alias("Embeddings.Cluster.LeaseResult")]
    public sealed record LeaseResult
    {
        /// <summary>Granted, wait, or finished.</summary>
        [Id(0)] public LeaseStatus Status { get; init; }

        /// <summary>The lease when <see cref="Status"/> is <see cref="LeaseStatus.Granted"/>, else null.</summary>
        [Id(1)] public BucketLease? Lease { get; init; }

        /// <summary>The SHA-256 of the job description (job.json) the coordinator serves: a worker that cached another one reads the job again (it was deleted and submitted anew under the same id).</summary>
        [Id(2)] public string JobSha256 { get; init; } = "";
    }

    /// <summary>A worker's report that it trained a leased bucket and wrote its two new partition versions, or ran a leased task and wrote its output and manifest.</summary>
    [GenerateSerializer, Immutable, Alias("Embeddings.Cluster.CompletionReport")]
    public sealed record CompletionReport
    {
        /// <summary>The lease's token.</summary>
        [Id(0)] public long Token { get; init; }

        /// <summary>The worker's name.</summary>
        [Id(1)] public string WorkerId { get; init; } = "";

        /// <summary>Pairs trained.</summary>
        [Id(2)] public long Pairs { get; init; }

        /// <summary>The sum of the pairs' losses (-log sigmoid of the positive plus the negatives' terms).</summary>
        [Id(3)] public double LossSum { get; init; }

        /// <summary>Partitions the worker read from the storage for this bucket: 0, 1 or 2 (the others it held in memory at the right version).</summary>
        [Id(4)] public int PartitionLoads { get; init; }

        /// <summary>Bytes of data the worker read from the storage for this bucket: the partitions' values it loaded and the pairs (8 bytes each); file headers not counted.</summary>
        [Id(5)] public long BytesRead { get; init; }

        /// <summary>Bytes of data the worker wrote to the storage for this bucket: the two new partitions' values; file headers not counted.</summary>
        [Id(6)] public long BytesWritten { get; init; }

        /// <summary>Seconds the bucket kernel ran (wall clock, on the worker).</summary>
        [Id(7)] public double TrainingSeconds { get; init; }

        /// <summary>Seconds the worker spent reading and writing the storage for this bucket (wall clock).</summary>
        [Id(8)] public double StorageSeconds { get; init; }

        /// <summary>A task's records written (for example recommendation rows); 0 for a bucket.</summary>
        [Id(9)] public long Records { get; init; }
    }

    /// <summary>The coordinator's answer to a completion.</summary>
    [GenerateSerializer, Immutable, Alias("Embeddings.Cluster.CompletionResult")]
    public sealed record CompletionResult
    {
        /// <summary>True when the completion was recorded: the bucket is done and the new versions are current.</summary>
        [Id(0)] public bool Accepted { get; init; }

        /// <summary>Why a completion was rejected (the lease expired or was never granted, files missing), else empty.</summary>
        [Id(1)] public string Reason { get; init; } = "";
    }

    /// <summary>A job's progress.</summary>
    [GenerateSerializer, Immutable, Alias("Embeddings.Cluster.JobStatus")]
    public sealed record JobStatus
    {
        /// <summary>The job.</summary>
        [Id(0)] public string JobId { get; init; } = "";

        /// <summary>Every bucket of every epoch.</summary>
        [Id(1)] public long TotalBuckets { get; init; }

        /// <summary>Buckets done.</summary>
        [Id(2)] public long DoneBuckets { get; init; }

        /// <summary>Leases live now.</summary>
        [Id(3)] public int ActiveLeases { get; init; }

        /// <summary>Leases that expired (their buckets were leased again).</summary>
        [Id(4)] public long ExpiredLeases { get; init; }

        /// <summary>Completions rejected (late, unknown or without files).</summary>
        [Id(5)] public long RejectedCompletions { get; init; }

        /// <summary>Leases given back by their workers before completion (a worker shutting down).</summary>
        [Id(6)] public long ReleasedLeases { get; init; }

        /// <summary>How many times the coordinator was activated for this job (1 plus the restarts).</summary>
        [Id(7)] public int Activations { get; init; }

        /// <summary>Pairs trained by accepted completions.</summary>
        [Id(8)] public long Pairs { get; init; }

        /// <summary>Their loss sum.</summary>
        [Id(9)] public double LossSum { get; init; }

        /// <summary>True when every bucket is done.</summary>
        [Id(10)] public bool Finished { get; init; }

        /// <summary>
        /// Empty while the job can go on. Otherwise why it failed: a work item failed in
        /// <see cref="ClusterJobSpec.MaxFailedAttempts"/> attempts (its last error is quoted). A failed job leases nothing
        /// more; delete its folder and submit it again once the cause is fixed.
        /// </summary>
        [Id(23)] public string FailureReason { get; init; } = "";

        /// <summary>The current version of each input partition.</summary>
        [Id(11)] public long[] InputVersions { get; init; } = Array.Empty<long>();

        /// <summary>The current version of each output partition.</summary>
        [Id(12)] public long[] OutputVersions { get; init; } = Array.Empty<long>();

        /// <summary>The lowest epoch with a bucket not done (the number of epochs when finished).</summary>
        [Id(13)] public int Epoch { get; init; }

        /// <summary>The silo the coordinator runs on now (Orleans' runtime identity of the silo), for diagnostics.</summary>
        [Id(14)] public string CoordinatorSilo { get; init; } = "";

        /// <summary>Partitions read from the storage by accepted buckets (at most 2 per bucket; fewer when a worker held them).</summary>
        [Id(15)] public long PartitionLoads { get; init; }

        /// <summary>Bytes of data (partition values and pairs) read from the storage by accepted buckets.</summary>
        [Id(16)] public long BytesRead { get; init; }

        /// <summary>Bytes of data (partition values) written to the storage by accepted buckets.</summary>
        [Id(17)] public long BytesWritten { get; init; }

        /// <summary>Kernel seconds of accepted buckets, summed over workers.</summary>
        [Id(18)] public double TrainingSeconds { get; init; }

        /// <summary>Storage seconds of accepted buckets, summed over workers.</summary>
        [Id(19)] public double StorageSeconds { get; init; }

        /// <summary>The job's tasks (work items that hold no partition; every one completes before the first bucket).</summary>
        [Id(20)] public long TotalTasks { get; init; }

        /// <summary>Tasks committed.</summary>
        [Id(21)] public long DoneTasks { get; init; }

        /// <summary>Records written by committed tasks (for example recommendation rows).</summary>
        [Id(22)] public long TaskRecords { get; init; }
    }
}
