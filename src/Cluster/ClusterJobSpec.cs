using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace Embeddings.Cluster
{
    /// <summary>
    /// The order constraints the coordinator enforces between the buckets of a job. Both leave every bucket trained
    /// exactly once and never lease two buckets that share an input or an output partition at the same time.
    /// </summary>
    public enum BucketOrdering
    {
        /// <summary>
        /// The default. The buckets follow a fixed total order (epoch, episode, round r, input partition i, with bucket
        /// (i, (i + r) mod P)), and a bucket is leased only when every earlier bucket that shares its input or its output
        /// partition is complete. Each partition therefore sees its buckets in one fixed sequence, so the result does not
        /// depend on which worker trained what or when: it equals, bit for bit, a single process training the buckets in
        /// that order (<see cref="ClusterJob.TrainInProcess"/>). The P buckets of a round are disjoint, so up to P
        /// workers train at once, and consecutive rounds pipeline (no barrier between episodes or epochs).
        /// </summary>
        Deterministic = 0,

        /// <summary>
        /// PyTorch-BigGraph's rule: any bucket of the current episode whose two partitions are free, with a barrier
        /// between episodes (episode e + 1 starts when every bucket of episode e is complete). Fewer constraints, so
        /// fewer idle workers, but the order in which a partition's buckets run depends on timing, so results differ
        /// from run to run in the last bits (and beyond, as training amplifies them).
        /// </summary>
        Free = 1,
    }

    /// <summary>
    /// A partitioned training job: items 0..<see cref="Items"/>-1 each have an input and an output vector, split into
    /// <see cref="Partitions"/> partitions (item v in partition v mod P at local row v / P, as in the single-machine
    /// partitioned trainer), and the job's pairs (input item, output item) are bucketed by (input partition, output
    /// partition) per episode. Every epoch trains every episode's P x P buckets once.
    /// </summary>
    public sealed record ClusterJobSpec
    {
        /// <summary>The largest number of partitions: 64.</summary>
        public const int MaxPartitions = 64;

        /// <summary>
        /// The failed attempts (exceptions reported by workers) after which a work item fails its job: 5. Expired leases
        /// (a silo that died or hung) do not count: they are retried without limit, as a lost machine is no fault of the
        /// work item.
        /// </summary>
        public const int MaxFailedAttempts = 5;

        /// <summary>The largest vector dimension: 4,096.</summary>
        public const int MaxDimension = 4096;

        private static readonly Regex s_taskKind = new("^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$", RegexOptions.CultureInvariant);
        private static readonly Regex s_jobId = new("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant);

        /// <summary>
        /// The job's name, which is also its folder in the shared storage and its coordinator grain's key: 1 to 64
        /// characters, letters, digits, '_' and '-', starting with a letter or digit. Required.
        /// </summary>
        public string JobId { get; init; } = "";

        /// <summary>
        /// The number of items with vectors (nodes, words, products): at least <see cref="Partitions"/>, or 0 for a job of
        /// tasks only (no vectors, no buckets; <see cref="Tasks"/> 1 or more). Default 0.
        /// </summary>
        public int Items { get; init; }

        /// <summary>P, the number of partitions of the input and of the output vectors: 1 to 64. Default 4.</summary>
        public int Partitions { get; init; } = 4;

        /// <summary>The vector dimension: 1 to 4,096. Default 128.</summary>
        public int Dimension { get; init; } = 128;

        /// <summary>Passes over all episodes: 1 to 1,000. Default 1.</summary>
        public int Epochs { get; init; } = 1;

        /// <summary>The number of episodes (separately bucketed sets of pairs) per epoch: 1 to 100,000. Default 1.</summary>
        public int Episodes { get; init; } = 1;

        /// <summary>Negative samples per pair, drawn from the bucket's output partition: 1 to 64. Default 5.</summary>
        public int Negatives { get; init; } = 5;

        /// <summary>The starting learning rate, decayed linearly over the episodes to 0.0001 of it: (0, 1]. Default 0.025.</summary>
        public float LearningRate { get; init; } = 0.025f;

        /// <summary>The seed of the initial vectors and of every bucket's random stream. Default 1.</summary>
        public int Seed { get; init; } = 1;

        /// <summary>The ordering constraints between buckets. Default <see cref="BucketOrdering.Deterministic"/>.</summary>
        public BucketOrdering Ordering { get; init; } = BucketOrdering.Deterministic;

        /// <summary>
        /// How long a lease lives without a renewal: 0.1 s to 1 day. Default 60 s. Workers renew at a quarter of it
        /// while they make progress; a bucket whose lease expires is leased again and the late completion is rejected.
        /// </summary>
        public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>
        /// The number of tasks: work items that hold no partition (a user range of a batch recommendation, a node range of
        /// walk generation), leased, fenced, committed and checkpointed as buckets are, and run by the handler of
        /// <see cref="TaskKind"/> that every silo registers. 0 to 10,000,000. Default 0. Every task completes before the
        /// first bucket is leased, except the pair tasks of a job with a <see cref="PairTaskWindow"/>, which run episode by episode.
        /// </summary>
        public int Tasks { get; init; }

        /// <summary>
        /// The kind of the job's tasks: the <see cref="Tasks.IClusterTaskHandler.Kind"/> of the handler that runs them
        /// (1 to 64 letters, digits, '_', '-', '.'). Required when <see cref="Tasks"/> is above 0, empty otherwise.
        /// </summary>
        public string TaskKind { get; init; } = "";

        /// <summary>
        /// How the buckets get their pairs. 0 (the default): the submitter writes every episode's pairs into the storage
        /// before the job is committed. 1 to 64: the pairs are written by the job's tasks, one per epoch and episode
        /// (<see cref="Tasks"/> = Epochs x Episodes; task t writes the pairs of epoch t / Episodes, episode t mod Episodes),
        /// run by the workers with the handler of <see cref="TaskKind"/>. The coordinator leases the pair task of an
        /// episode only while fewer than <see cref="PairTaskWindow"/> episodes that are not finished come before it
        /// (so at most this many episodes' pairs are in the storage at once), leases a bucket only once its episode's
        /// pair task is committed, and deletes an episode's pairs when its last bucket is committed. 2 lets the next
        /// episode's pairs be written while an episode trains.
        /// </summary>
        public int PairTaskWindow { get; init; }

        /// <summary>True when the job's pairs are written by its tasks, episode by episode (<see cref="PairTaskWindow"/> above 0).</summary>
        [JsonIgnore]
        public bool PairsByTask => PairTaskWindow > 0;

        /// <summary>True when the job trains vectors (<see cref="Items"/> above 0).</summary>
        [JsonIgnore]
        public bool Trains => Items > 0;

        /// <summary>The number of buckets of one episode: P x P.</summary>
        [JsonIgnore]
        public int BucketsPerEpisode => Partitions * Partitions;

        /// <summary>Every bucket of the job: epochs x episodes x P x P.</summary>
        [JsonIgnore]
        public long TotalBuckets => Trains ? (long)Epochs * Episodes * Partitions * Partitions : 0;

        /// <summary>Every work item of the job: <see cref="Tasks"/> plus <see cref="TotalBuckets"/>.</summary>
        [JsonIgnore]
        public long TotalWorkItems => Tasks + TotalBuckets;

        /// <summary>The number of items in partition <paramref name="partition"/>: ceil((Items - partition) / P).</summary>
        public int RowsOf(int partition) => (Items - partition + Partitions - 1) / Partitions;

        /// <summary>Checks every setting.</summary>
        /// <exception cref="ArgumentException">A setting is missing or out of its range; the message names it, the value and the fix.</exception>
        public void Validate()
        {
            if (string.IsNullOrEmpty(JobId) || !s_jobId.IsMatch(JobId))
                throw new ArgumentException(
                    $"ClusterJobSpec.JobId '{JobId}' is not a valid job name: use 1 to 64 letters, digits, '_' or '-', starting with a letter or digit (it names the job's folder in the shared storage).",
                    nameof(JobId));
            Range(nameof(Partitions), Partitions, 1, MaxPartitions, "choose P so that two partitions (2 x Items / P x Dimension x 4 bytes) fit a worker's memory");
            Range(nameof(Tasks), Tasks, 0, 10_000_000, "use 0 to 10,000,000 tasks (split the work into fewer, larger ranges)");
            if (Tasks > 0 && (string.IsNullOrEmpty(TaskKind) || !s_taskKind.IsMatch(TaskKind)))
                throw new ArgumentException(
                    $"ClusterJobSpec.TaskKind '{TaskKind}' is not a task kind: a job with {Tasks} tasks names the handler that runs them (1 to 64 letters, digits, '_', '-', '.', for example 'recommend').",
                    nameof(TaskKind));
            if (Tasks == 0 && !string.IsNullOrEmpty(TaskKind))
                throw new ArgumentException($"ClusterJobSpec.TaskKind is '{TaskKind}' but Tasks is 0: set Tasks to the number of tasks, or leave TaskKind empty.", nameof(TaskKind));
            Range(nameof(PairTaskWindow), PairTaskWindow, 0, 64, "use 0 (the submitter writes the pairs) or 1 to 64 episodes of pairs in the storage at once (2 is usual)");
            if (PairTaskWindow > 0 && (Items == 0 || (long)Tasks != (long)Epochs * Episodes))
                throw new ArgumentException(
                    string.Create(CultureInfo.InvariantCulture, $"ClusterJobSpec.PairTaskWindow is {PairTaskWindow}, so the job's tasks write its pairs, one per epoch and episode: Items must be above 0 (it is {Items}) and Tasks must be Epochs x Episodes = {(long)Epochs * Episodes} (it is {Tasks}). Set them so, or PairTaskWindow to 0."),
                    nameof(PairTaskWindow));
            if (Items < Partitions && !(Items == 0 && Tasks > 0))
                throw new ArgumentOutOfRangeException(nameof(Items), Items,
                    $"ClusterJobSpec.Items is {Items}, fewer than Partitions = {Partitions}: every partition needs at least one item. Lower Partitions or check the item count (0 only for a job of tasks only).");
            Range(nameof(Dimension), Dimension, 1, MaxDimension, "use a dimension between 1 and 4,096");
            Range(nameof(Epochs), Epochs, 1, 1000, "use 1 to 1,000 epochs");
            Range(nameof(Episodes), Episodes, 1, 100_000, "use 1 to 100,000 episodes per epoch");
            Range(nameof(Negatives), Negatives, 1, 64, "use 1 to 64 negatives per pair");
            if (!(LearningRate > 0 && LearningRate <= 1))
                throw new ArgumentOutOfRangeException(nameof(LearningRate), LearningRate,
                    string.Create(CultureInfo.InvariantCulture, $"ClusterJobSpec.LearningRate is {LearningRate}; it must be in (0, 1] (0.025 is the usual skip-gram rate)."));
            if (!Enum.IsDefined(Ordering))
                throw new ArgumentOutOfRangeException(nameof(Ordering), Ordering, "ClusterJobSpec.Ordering must be Deterministic or Free.");
            if (LeaseTimeout < TimeSpan.FromMilliseconds(100) || LeaseTimeout > TimeSpan.FromDays(1))
                throw new ArgumentOutOfRangeException(nameof(LeaseTimeout), LeaseTimeout,
                    $"ClusterJobSpec.LeaseTimeout is {LeaseTimeout}; it must be between 0.1 s and 1 day, and longer than a worker's longest pause between progress reports (60 s is the default).");
        }

        private static void Range(string name, int value, int min, int max, string fix)
        {
            if (value < min || value > max)
                throw new ArgumentOutOfRangeException(name, value,
                    string.Create(CultureInfo.InvariantCulture, $"ClusterJobSpec.{name} is {value}; it must be between {min} and {max}: {fix}."));
        }

        /// <summary>The differences between this spec and <paramref name="other"/>, one "Name: a vs b" each; empty when equal.</summary>
        public IReadOnlyList<string> Differences(ClusterJobSpec other)
        {
            var differences = new List<string>();
            void Add<T>(string name, T a, T b)
            {
                if (!EqualityComparer<T>.Default.Equals(a, b))
                    differences.Add(string.Create(CultureInfo.InvariantCulture, $"{name}: {a} vs {b}"));
            }
            Add(nameof(JobId), JobId, other.JobId);
            Add(nameof(Items), Items, other.Items);
            Add(nameof(Partitions), Partitions, other.Partitions);
            Add(nameof(Dimension), Dimension, other.Dimension);
            Add(nameof(Epochs), Epochs, other.Epochs);
            Add(nameof(Episodes), Episodes, other.Episodes);
            Add(nameof(Negatives), Negatives, other.Negatives);
            Add(nameof(LearningRate), LearningRate, other.LearningRate);
            Add(nameof(Seed), Seed, other.Seed);
            Add(nameof(Ordering), Ordering, other.Ordering);
            Add(nameof(LeaseTimeout), LeaseTimeout, other.LeaseTimeout);
            Add(nameof(Tasks), Tasks, other.Tasks);
            Add(nameof(TaskKind), TaskKind, other.TaskKind);
            Add(nameof(PairTaskWindow), PairTaskWindow, other.PairTaskWindow);
            return differences;
        }
    }
}
