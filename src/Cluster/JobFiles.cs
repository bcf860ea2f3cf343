using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Training;

namespace Embeddings.Cluster
{
    /// <summary>A job's description in the storage (job.json): the spec, the item counts and episode tokens, and a fingerprint of its pairs.</summary>
    internal sealed class JobDescription
    {
        /// <summary>2: item counts and episode tokens added (the shared kernel's negative sampler and schedule).</summary>
        public const int CurrentFormat = 2;

        public int Format { get; set; } = CurrentFormat;

        public ClusterJobSpec Spec { get; set; } = new();

        /// <summary>Pairs in each episode.</summary>
        public long[] EpisodePairs { get; set; } = Array.Empty<long>();

        /// <summary>SHA-256 (hex) of every episode's buckets in order.</summary>
        public string PairsSha256 { get; set; } = "";

        /// <summary>The count of each item (negatives are drawn from count^0.75 within the output partition).</summary>
        public long[] ItemCounts { get; set; } = Array.Empty<long>();

        /// <summary>The tokens of each episode (the learning-rate schedule's unit).</summary>
        public long[] EpisodeTokens { get; set; } = Array.Empty<long>();

        /// <summary>
        /// The stage of each task (<see cref="ClusterJobSpec.Tasks"/> values, 0 or more), or empty when every task is in
        /// stage 0: a task is leased only when every task of a lower stage is committed.
        /// </summary>
        public int[] TaskStages { get; set; } = Array.Empty<int>();

        /// <summary>SHA-256 (hex) of the tasks' inputs (the job kind's files in the job's folder), for resubmissions; empty without tasks.</summary>
        public string TaskInputSha256 { get; set; } = "";

        public int StageOf(int task) => TaskStages.Length == 0 ? 0 : TaskStages[task];
    }

    /// <summary>The list of a task attempt's files, written last (tasks/tN/vTOKEN/manifest.json): the attempt's output exists once it does.</summary>
    internal sealed class TaskManifest
    {
        public int Task { get; set; }

        public long Token { get; set; }

        public List<TaskFile> Files { get; set; } = new();
    }

    /// <summary>One file of a task's output, as its manifest records it.</summary>
    internal sealed class TaskFile
    {
        public string Name { get; set; } = "";

        public long Bytes { get; set; }
    }

    /// <summary>The coordinator's checkpoint (checkpoint.json), rewritten atomically after every change.</summary>
    internal sealed class CoordinatorCheckpoint
    {
        public const int CurrentFormat = 1;

        public int Format { get; set; } = CurrentFormat;

        public string JobId { get; set; } = "";

        /// <summary>SHA-256 (hex) of job.json's bytes: the checkpoint belongs to that description.</summary>
        public string JobSha256 { get; set; } = "";

        /// <summary>The last lease token handed out (tokens are never reused).</summary>
        public long LastToken { get; set; }

        public int Activations { get; set; }

        public long Events { get; set; }

        /// <summary>One bit per work item (bit w % 8 of byte w / 8), base64.</summary>
        public string Done { get; set; } = "";

        public long DoneCount { get; set; }

        public long[] InputVersions { get; set; } = Array.Empty<long>();

        public long[] OutputVersions { get; set; } = Array.Empty<long>();

        public List<LeaseRecord> Leases { get; set; } = new();

        /// <summary>The token of each task's committed attempt (0: not committed); empty for a job without tasks.</summary>
        public long[] TaskTokens { get; set; } = Array.Empty<long>();

        public long TaskRecords { get; set; }

        public long Expired { get; set; }

        public long Rejected { get; set; }

        public long Released { get; set; }

        public long Pairs { get; set; }

        public double LossSum { get; set; }

        public long PartitionLoads { get; set; }

        public long BytesRead { get; set; }

        public long BytesWritten { get; set; }

        public double TrainingSeconds { get; set; }

        public double StorageSeconds { get; set; }

        public bool Finished { get; set; }

        public Dictionary<long, int> FailedAttempts { get; set; } = new();

        public string FailureReason { get; set; } = "";
    }

    /// <summary>A live lease as the checkpoint records it (its deadline is not recorded: a new activation gives every lease a full timeout).</summary>
    internal sealed class LeaseRecord
    {
        public long Token { get; set; }

        public long WorkItem { get; set; }

        public string WorkerId { get; set; } = "";
    }

    /// <summary>Names and formats of a job's files.</summary>
    internal static class JobFiles
    {
        public const string Checkpoint = "checkpoint.json";
        public const string Log = "coordinator.log";
        public const string Fence = "coordinator.fence";
        public const string Job = DirectoryPartitionStore.JobFileName;

        /// <summary>The keys of a graph or item2vec job's rows (nodes or items), in item order, as a JSON array of strings.</summary>
        public const string Keys = "items.json";
        private const int PairMagic = 0x51424D45; // "EMBQ"
        private const int PairFormat = 1;
        public const int PairHeaderBytes = 24;

        public static readonly JsonSerializerOptions Json = new()
        {
            WriteIndented = true,
            Converters = { new JsonStringEnumConverter() },
        };

        public const string TaskManifestName = "manifest.json";

        /// <summary>The folder of every attempt of task <paramref name="task"/>.</summary>
        public static string TaskFolder(int task) => string.Create(CultureInfo.InvariantCulture, $"tasks/t{task}");

        /// <summary>The folder of the attempt of task <paramref name="task"/> under lease <paramref name="token"/>.</summary>
        public static string TaskAttemptFolder(int task, long token) => string.Create(CultureInfo.InvariantCulture, $"tasks/t{task}/v{token}");

        /// <summary>A file of the attempt of task <paramref name="task"/> under lease <paramref name="token"/>.</summary>
        public static string TaskFilePath(int task, long token, string name) => TaskAttemptFolder(task, token) + "/" + name;

        /// <summary>The token of an attempt folder's name (vTOKEN), or -1.</summary>
        public static long AttemptToken(string folder) =>
            folder.Length > 1 && folder[0] == 'v' && long.TryParse(folder.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out long token) ? token : -1;

        public static TaskManifest? ReadManifest(IPartitionStore store, string jobId, int task, long token)
        {
            byte[]? bytes = store.ReadBlob(jobId, TaskFilePath(task, token, TaskManifestName));
            if (bytes is null)
                return null;
            try
            {
                var manifest = JsonSerializer.Deserialize<TaskManifest>(bytes, Json);
                return manifest is not null && manifest.Task == task && manifest.Token == token ? manifest : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }

        public static string PairFile(int episode, int input, int output) =>
            string.Create(CultureInfo.InvariantCulture, $"pairs/e{episode}/b-{input}-{output}.bin");

        /// <summary>The header of a pair file: magic, format, episode, input, output, pair count.</summary>
        public static void WritePairHeader(Span<byte> header, int episode, int input, int output, long pairs)
        {
            BinaryPrimitives.WriteInt32LittleEndian(header, PairMagic);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], PairFormat);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], episode);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], input);
            BinaryPrimitives.WriteInt32LittleEndian(header[16..], output);
            BinaryPrimitives.WriteInt32LittleEndian(header[20..], checked((int)pairs));
        }

        public static byte[] EncodePairs(int episode, int input, int output, ReadOnlySpan<int> pairs)
        {
            var bytes = new byte[PairHeaderBytes + (long)pairs.Length * sizeof(int)];
            BinaryPrimitives.WriteInt32LittleEndian(bytes, PairMagic);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), PairFormat);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), episode);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(12), input);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), output);
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(20), pairs.Length / 2);
            MemoryMarshal.AsBytes(pairs).CopyTo(bytes.AsSpan(PairHeaderBytes));
            return bytes;
        }

        /// <summary>The pairs of a bucket, opened for reading in chunks (the header checked).</summary>
        /// <exception cref="InvalidDataException">The file is missing, of another bucket, or of the wrong length.</exception>
        public static BucketPairs OpenPairs(IPartitionStore store, string jobId, int episode, int input, int output) =>
            OpenPairs(store, jobId, PairFile(episode, input, output), episode, input, output);

        /// <summary>The name of bucket (input, output)'s pair file in the output of the pair task of its episode.</summary>
        public static string TaskPairFileName(int input, int output) => string.Create(CultureInfo.InvariantCulture, $"b-{input}-{output}.bin");

        /// <summary>
        /// Opens the pairs of bucket (<paramref name="input"/>, <paramref name="output"/>) written by pair task
        /// <paramref name="task"/> (of episode <paramref name="episode"/>) under its committed token <paramref name="token"/>.
        /// </summary>
        public static BucketPairs OpenTaskPairs(IPartitionStore store, string jobId, int task, long token, int episode, int input, int output) =>
            OpenPairs(store, jobId, TaskFilePath(task, token, TaskPairFileName(input, output)), episode, input, output);

        private static BucketPairs OpenPairs(IPartitionStore store, string jobId, string name, int episode, int input, int output)
        {
            var stream = store.OpenBlob(jobId, name)
                ?? throw new InvalidDataException($"The pair file '{name}' of job '{jobId}' is missing from the storage at '{store.Location}': the job's folder is incomplete; submit the job again into an empty folder.");
            try
            {
                Span<byte> header = stackalloc byte[PairHeaderBytes];
                int read = stream.ReadAtLeast(header, PairHeaderBytes, throwOnEndOfStream: false);
                if (read != PairHeaderBytes
                    || BinaryPrimitives.ReadInt32LittleEndian(header) != PairMagic
                    || BinaryPrimitives.ReadInt32LittleEndian(header[4..]) != PairFormat
                    || BinaryPrimitives.ReadInt32LittleEndian(header[8..]) != episode
                    || BinaryPrimitives.ReadInt32LittleEndian(header[12..]) != input
                    || BinaryPrimitives.ReadInt32LittleEndian(header[16..]) != output
                    || (stream.CanSeek && stream.Length != PairHeaderBytes + 8L * BinaryPrimitives.ReadInt32LittleEndian(header[20..])))
                    throw new InvalidDataException($"The pair file '{name}' of job '{jobId}' at '{store.Location}' is damaged or belongs to another bucket; submit the job again into an empty folder.");
                return BucketPairs.FromStream(stream, BinaryPrimitives.ReadInt32LittleEndian(header[20..]), $"{store.Location}/{jobId}/{name}");
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        public static (JobDescription Description, byte[] Bytes) ReadDescription(IPartitionStore store, string jobId)
        {
            byte[] bytes = store.ReadBlob(jobId, Job)
                ?? throw new InvalidOperationException($"There is no job '{jobId}' in the cluster storage at '{store.Location}': submit it first (ClusterJob.SubmitAsync or ClusterJob.Prepare).");
            JobDescription description;
            try
            {
                description = JsonSerializer.Deserialize<JobDescription>(bytes, Json) ?? throw new JsonException("empty");
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException($"The description '{Job}' of job '{jobId}' at '{store.Location}' cannot be read ({e.Message}); delete the job's folder and submit it again.", e);
            }
            if (description.Format != JobDescription.CurrentFormat)
                throw new InvalidOperationException($"The description of job '{jobId}' has format {description.Format}; this version reads format {JobDescription.CurrentFormat}. Finish the job with the version that started it, or delete its folder.");
            description.Spec.Validate();
            if (description.Spec.JobId != jobId)
                throw new InvalidOperationException($"The folder of job '{jobId}' at '{store.Location}' describes job '{description.Spec.JobId}'; rename the folder back or submit the job again.");
            var spec = description.Spec;
            int episodes = spec.Trains ? spec.Episodes : 0;
            if (description.TaskStages.Length != 0 && (description.TaskStages.Length != spec.Tasks || description.TaskStages[0] < 0
                || Enumerable.Range(1, spec.Tasks - 1).Any(t => description.TaskStages[t] < description.TaskStages[t - 1])))
                throw new InvalidOperationException($"The description of job '{jobId}' at '{store.Location}' has {description.TaskStages.Length} task stages for {spec.Tasks} tasks, or stages that are negative or decrease with the task number: it is damaged; delete the job's folder and submit it again.");
            // A job whose tasks write its pairs learns their counts only as the tasks run.
            int episodePairs = spec.PairsByTask ? 0 : episodes;
            if (description.ItemCounts.Length != spec.Items || description.EpisodeTokens.Length != episodes || description.EpisodePairs.Length != episodePairs)
                throw new InvalidOperationException($"The description of job '{jobId}' at '{store.Location}' has {description.ItemCounts.Length} item counts and {description.EpisodeTokens.Length} episode token counts for {description.Spec.Items} items and {description.Spec.Episodes} episodes: it is damaged; delete the job's folder and submit it again.");
            return (description, bytes);
        }

        public static CoordinatorCheckpoint? ReadCheckpoint(IPartitionStore store, string jobId)
        {
            byte[]? bytes = store.ReadBlob(jobId, Checkpoint);
            if (bytes is null)
                return null;
            try
            {
                return JsonSerializer.Deserialize<CoordinatorCheckpoint>(bytes, Json) ?? throw new JsonException("empty");
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException($"The coordinator checkpoint of job '{jobId}' at '{store.Location}' cannot be read ({e.Message}); delete the job's folder and submit it again.", e);
            }
        }

        public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(bytes));
    }
}
