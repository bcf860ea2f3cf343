using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Storage;
using Embeddings.Infrastructure;
using Embeddings.Recommendation;
using Microsoft.ML;
using Orleans;

namespace Embeddings.Cluster.Recommendation
{
    /// <summary>The file format of a batch recommendation's shards (and of its output, unless the output's name says otherwise).</summary>
    public enum RecommendationShardFormat
    {
        /// <summary>Lines of user, item, score (shortest round-trip form), rank, separated by tabs; no header. The default.</summary>
        Tsv = 0,

        /// <summary>Parquet with columns user, item (STRING), score (FLOAT), rank (INT32).</summary>
        Parquet = 1,
    }

    /// <summary>The settings of a batch recommendation job on the cluster.</summary>
    public sealed record BatchRecommendationJobOptions
    {
        /// <summary>The job's name: its folder in the shared storage and its coordinator's key (1 to 64 letters, digits, '_', '-'). Required.</summary>
        public string JobId { get; init; } = "";

        /// <summary>Recommendations per user: 1 to 100,000. Default 10.</summary>
        public int Count { get; init; } = 10;

        /// <summary>Users per task (one task scores a contiguous range of the user list and writes one shard): 1 to 10,000,000. Default 1,000.</summary>
        public int UsersPerTask { get; init; } = 1000;

        /// <summary>The shards' format. Default <see cref="RecommendationShardFormat.Tsv"/>.</summary>
        public RecommendationShardFormat Format { get; init; } = RecommendationShardFormat.Tsv;

        /// <summary>True (default): never recommend an item the user interacted with in training (<see cref="Embeddings.Recommendation.RecommendOptions.ExcludeSeenItems"/>).</summary>
        public bool ExcludeSeenItems { get; init; } = true;

        /// <summary>Only these items may be recommended; null (default) allows the whole catalog (<see cref="Embeddings.Recommendation.RecommendOptions.AllowedItems"/>).</summary>
        public IReadOnlyCollection<string>? AllowedItems { get; init; }

        /// <summary>These items are never recommended; null (default) denies none (<see cref="Embeddings.Recommendation.RecommendOptions.DeniedItems"/>).</summary>
        public IReadOnlyCollection<string>? DeniedItems { get; init; }

        /// <summary>Threads a worker scores one task's users on: 1 or more, or null (default) for the worker machine's processor count. The output does not depend on it.</summary>
        public int? NumberOfThreads { get; init; }

        /// <summary>How long a lease lives without a renewal: 0.1 s to 1 day. Default 60 s. A worker renews while its task's users are being scored.</summary>
        public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>How often <see cref="BatchRecommendationJob.RunAsync"/> asks the coordinator for the job's status: 10 ms to 1 minute. Default 1 s.</summary>
        public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    }

    /// <summary>What a batch recommendation job's tasks read from its folder (recommend/settings.json).</summary>
    internal sealed class BatchRecommendationSettings
    {
        public const string Folder = "recommend";
        public const string ModelFile = Folder + "/model.zip";
        public const string UsersFile = Folder + "/users.txt";
        public const string SettingsFile = Folder + "/settings.json";

        public int Count { get; set; }

        public int UsersPerTask { get; set; }

        public int Users { get; set; }

        public RecommendationShardFormat Format { get; set; }

        public bool ExcludeSeenItems { get; set; } = true;

        public List<string>? AllowedItems { get; set; }

        public List<string>? DeniedItems { get; set; }

        public int? NumberOfThreads { get; set; }

        public string ModelSha256 { get; set; } = "";

        public string UsersSha256 { get; set; } = "";

        public string ShardName => Format == RecommendationShardFormat.Parquet ? "part.parquet" : "part.tsv";
    }

    /// <summary>
    /// Batch recommendation for many users on the cluster: the users are split into ranges of
    /// <see cref="BatchRecommendationJobOptions.UsersPerTask"/>, each range is a task that a silo's worker scores with
    /// the saved recommender (loaded once per worker) and writes as one shard (TSV or Parquet), and the shards read in
    /// task order give every user's list in the order of the user list. Each user's list equals what
    /// <see cref="Embeddings.Recommendation.RankingRecommenderTransformer.Recommend(MLContext, IEnumerable{string}, int, Embeddings.Recommendation.RecommendOptions?)"/>
    /// gives on one machine with the same model, count and filters: items, order and scores.
    /// </summary>
    /// <remarks>
    /// The job's folder holds recommend/model.zip (a copy of the model), recommend/users.txt (one user a line) and
    /// recommend/settings.json, written before job.json (the commit point of the submission). Task t writes its shard
    /// part.tsv or part.parquet into its attempt folder tasks/tT/vTOKEN, atomically, and the coordinator commits one
    /// attempt per task: a zombie's shard carries its own token and is never read.
    /// </remarks>
    public static class BatchRecommendationJob
    {
        /// <summary>The task kind of batch recommendation jobs (<see cref="ClusterJobSpec.TaskKind"/>).</summary>
        public const string Kind = "recommend";

        private const string Component = "BatchRecommendationJob";

        /// <summary>
        /// Writes the job into the storage: a copy of the model, the users, the settings, and the job's description
        /// (one task per user range). Submitting the same job again (same model, users and settings) writes nothing;
        /// another job under the same id throws.
        /// </summary>
        /// <param name="store">The shared storage the silos' workers use.</param>
        /// <param name="modelPath">A recommender saved with <c>mlContext.Model.Save</c> from a <see cref="Embeddings.Recommendation.RankingRecommenderTransformer"/> (for example by <c>embeddings fit-recommender</c>).</param>
        /// <param name="users">The users to recommend to, in the output's order (repeats allowed); null for every user the model was trained on, in the model's order.</param>
        /// <param name="options">The job's settings.</param>
        /// <returns>The job's spec.</returns>
        /// <exception cref="ArgumentException">A setting or a user id is not valid (the message names it, the value and the fix).</exception>
        /// <exception cref="FileNotFoundException">The model file does not exist.</exception>
        /// <exception cref="FormatException">The model file is not a saved recommender.</exception>
        /// <exception cref="InvalidOperationException">Another job with this id is in the storage.</exception>
        public static ClusterJobSpec Prepare(IPartitionStore store, string modelPath, IReadOnlyList<string>? users, BatchRecommendationJobOptions options)
        {
            ArgumentNullException.ThrowIfNull(store);
            ArgumentException.ThrowIfNullOrEmpty(modelPath);
            ArgumentNullException.ThrowIfNull(options);
            CheckOptions(options);
            if (!File.Exists(modelPath))
                throw new FileNotFoundException($"{Component}: the model file '{modelPath}' does not exist; give a recommender saved by 'embeddings fit-recommender' or mlContext.Model.Save.", modelPath);
            if (users is null)
            {
                // Load it here, so that a file that is not a recommender is refused before anything is written.
                users = Embeddings.Recommendation.RankingRecommenderTransformer.Load(new MLContext(seed: 1), modelPath).Features.Users;
            }
            else
            {
                Embeddings.Recommendation.RankingRecommenderTransformer.Load(new MLContext(seed: 1), modelPath);
            }
            if (users.Count == 0)
                throw new ArgumentException($"{Component}: the user list is empty; give at least one user (or null for every user the model knows).", nameof(users));
            var text = new StringBuilder();
            for (int u = 0; u < users.Count; u++)
            {
                string user = users[u] ?? throw new ArgumentException($"{Component}: user {u} of the list is null.", nameof(users));
                if (user.Length == 0 || user.AsSpan().IndexOfAny('\t', '\n', '\r') >= 0)
                    throw new ArgumentException($"{Component}: user {u} of the list, '{user}', is empty or contains a tab or a line break, which the shards cannot hold; remove it or map the ids first.", nameof(users));
                text.Append(user).Append('\n');
            }
            byte[] usersBytes = Encoding.UTF8.GetBytes(text.ToString());
            string modelSha;
            using (var model = File.OpenRead(modelPath))
                modelSha = Convert.ToHexString(SHA256.HashData(model));
            var settings = new BatchRecommendationSettings
            {
                Count = options.Count,
                UsersPerTask = options.UsersPerTask,
                Users = users.Count,
                Format = options.Format,
                ExcludeSeenItems = options.ExcludeSeenItems,
                AllowedItems = options.AllowedItems?.ToList(),
                DeniedItems = options.DeniedItems?.ToList(),
                NumberOfThreads = options.NumberOfThreads,
                ModelSha256 = modelSha,
                UsersSha256 = Convert.ToHexString(SHA256.HashData(usersBytes)),
            };
            byte[] settingsBytes = JsonSerializer.SerializeToUtf8Bytes(settings, JobFiles.Json);
            var spec = new ClusterJobSpec
            {
                JobId = options.JobId,
                Tasks = (int)((users.Count + (long)options.UsersPerTask - 1) / options.UsersPerTask),
                TaskKind = Kind,
                LeaseTimeout = options.LeaseTimeout,
            };
            spec.Validate();
            // The fingerprint leaves out the workers' scoring threads, which do not change the output: the same job
            // submitted again with another --threads is found (it keeps the thread count it was submitted with).
            int? threads = settings.NumberOfThreads;
            settings.NumberOfThreads = null;
            string inputSha = Convert.ToHexString(SHA256.HashData(JsonSerializer.SerializeToUtf8Bytes(settings, JobFiles.Json)));
            settings.NumberOfThreads = threads;
            if (store.ReadBlob(spec.JobId, JobFiles.Job) is null)
            {
                // The inputs go in before the description: a committed job always has them.
                store.WriteBlob(spec.JobId, BatchRecommendationSettings.ModelFile, stream =>
                {
                    using var model = File.OpenRead(modelPath);
                    model.CopyTo(stream);
                });
                store.WriteBlob(spec.JobId, BatchRecommendationSettings.UsersFile, usersBytes);
                store.WriteBlob(spec.JobId, BatchRecommendationSettings.SettingsFile, settingsBytes);
            }
            // Checks a resubmission against the stored job (nothing of it is rewritten), or commits the new one.
            ClusterJob.PrepareTasks(store, spec, inputSha);
            return spec;
        }

        /// <summary>Checks the settings (before anything is read or written).</summary>
        /// <exception cref="ArgumentException">A setting is out of range (the message names it, the value and the fix).</exception>
        public static void CheckOptions(BatchRecommendationJobOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            OptionChecks.Check(Component, options.Count is >= 1 and <= 100_000, nameof(options.Count), options.Count, "ask for 1 to 100,000 recommendations per user (10 is usual)");
            OptionChecks.Check(Component, options.UsersPerTask is >= 1 and <= 10_000_000, nameof(options.UsersPerTask), options.UsersPerTask,
                "use 1 to 10,000,000 users per task (1,000 is the default; a task should take seconds to minutes)");
            OptionChecks.Check(Component, Enum.IsDefined(options.Format), nameof(options.Format), options.Format, "use Tsv or Parquet");
            OptionChecks.Check(Component, options.NumberOfThreads is null or >= 1, nameof(options.NumberOfThreads), options.NumberOfThreads, "use 1 or more, or null for each worker's processor count");
            OptionChecks.Check(Component, options.PollInterval >= TimeSpan.FromMilliseconds(10) && options.PollInterval <= TimeSpan.FromMinutes(1), nameof(options.PollInterval), options.PollInterval,
                "use 10 ms to 1 minute (1 s is the default)");
            new ClusterJobSpec { JobId = options.JobId, Tasks = 1, TaskKind = Kind, LeaseTimeout = options.LeaseTimeout }.Validate();
        }

        /// <summary>Writes the job into the storage (<see cref="Prepare"/>), starts its coordinator and waits until the workers committed every shard.</summary>
        /// <param name="grains">A cluster client, or a silo's grain factory.</param>
        /// <param name="store">The shared storage the silos' workers use.</param>
        /// <param name="modelPath">The saved recommender (see <see cref="Prepare"/>).</param>
        /// <param name="users">The users, or null for every user the model knows.</param>
        /// <param name="options">The job's settings.</param>
        /// <param name="progress">Receives the job's status at every poll, or null.</param>
        /// <param name="cancellation">Stops waiting (a started job goes on in the cluster).</param>
        /// <returns>The job's final status (tasks, records written, expired leases).</returns>
        public static async Task<JobStatus> RunAsync(IGrainFactory grains, IPartitionStore store, string modelPath, IReadOnlyList<string>? users, BatchRecommendationJobOptions options,
            IProgress<JobStatus>? progress = null, CancellationToken cancellation = default)
        {
            ArgumentNullException.ThrowIfNull(grains);
            var spec = Prepare(store, modelPath, users, options);
            await ClusterJob.StartAsync(grains, spec.JobId).ConfigureAwait(false);
            return await ClusterJob.WaitAsync(grains, spec.JobId, options.PollInterval, progress, cancellation).ConfigureAwait(false);
        }

        /// <summary>The job's settings as stored.</summary>
        internal static BatchRecommendationSettings ReadSettings(IPartitionStore store, string jobId)
        {
            var spec = ClusterJob.ReadSpec(store, jobId);
            if (spec.TaskKind != Kind)
                throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' is not a batch recommendation (its task kind is '{spec.TaskKind}').");
            byte[] bytes = store.ReadBlob(jobId, BatchRecommendationSettings.SettingsFile)
                ?? throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' has no {BatchRecommendationSettings.SettingsFile}: its folder is incomplete; delete it and submit the job again.");
            return JsonSerializer.Deserialize<BatchRecommendationSettings>(bytes, JobFiles.Json)
                ?? throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' has an empty {BatchRecommendationSettings.SettingsFile}; delete its folder and submit the job again.");
        }

        /// <summary>
        /// Every recommendation of a finished job, user by user in the order of the user list (the committed shards in
        /// task order), each user's items best first.
        /// </summary>
        /// <exception cref="InvalidOperationException">No such job, not a batch recommendation, or a task is not committed yet.</exception>
        public static IEnumerable<RecommendationRow> ReadRecommendations(IPartitionStore store, string jobId)
        {
            ArgumentNullException.ThrowIfNull(store);
            var settings = ReadSettings(store, jobId);
            var spec = ClusterJob.ReadSpec(store, jobId);
            for (int t = 0; t < spec.Tasks; t++)
                ClusterJob.CommittedTaskToken(store, jobId, t);
            return Rows(store, jobId, spec.Tasks, settings);
        }

        private static IEnumerable<RecommendationRow> Rows(IPartitionStore store, string jobId, int tasks, BatchRecommendationSettings settings)
        {
            for (int t = 0; t < tasks; t++)
            {
                if (settings.Format == RecommendationShardFormat.Tsv)
                {
                    using var stream = ClusterJob.OpenTaskOutput(store, jobId, t, settings.ShardName);
                    using var reader = new StreamReader(stream, new UTF8Encoding(false, throwOnInvalidBytes: true));
                    string? line;
                    while ((line = reader.ReadLine()) is not null)
                        yield return ParseLine(line, jobId, t);
                }
                else
                {
                    string local = CopyToTemporaryFile(store, jobId, t, settings.ShardName);
                    try
                    {
                        var ml = new MLContext(seed: 1);
                        var view = ml.Data.LoadFromParquet(local, "user", "item", "score", "rank");
                        foreach (var row in RecommendationRow.Read(view, "user", "item", "score", "rank"))
                            yield return row;
                    }
                    finally
                    {
                        File.Delete(local);
                    }
                }
            }
        }

        private static RecommendationRow ParseLine(string line, string jobId, int task)
        {
            string[] parts = line.Split('\t');
            if (parts.Length != 4
                || !float.TryParse(parts[2], NumberStyles.Float, CultureInfo.InvariantCulture, out float score)
                || !int.TryParse(parts[3], NumberStyles.None, CultureInfo.InvariantCulture, out int rank))
                throw new InvalidDataException($"The committed shard of task {task} of job '{jobId}' has a line that is not user, item, score, rank: '{line}'. The job's folder was changed by hand; submit the job again.");
            return new RecommendationRow(parts[0], parts[1], score, rank);
        }

        private static string CopyToTemporaryFile(IPartitionStore store, string jobId, int task, string name)
        {
            string local = Path.Combine(Path.GetTempPath(), $"embeddings-shard-{jobId}-{task}-{Guid.NewGuid():N}.parquet");
            using (var source = ClusterJob.OpenTaskOutput(store, jobId, task, name))
            using (var target = new FileStream(local, FileMode.CreateNew, FileAccess.Write))
                source.CopyTo(target);
            return local;
        }

        /// <summary>
        /// Writes a finished job's recommendations to <paramref name="output"/>. A folder (an existing one, or a path
        /// ending in '/'): the shards as they are, part-00000.tsv (or .parquet), part-00001, ... in user order, each
        /// written atomically. A file ending in .parquet: one Parquet file (columns user, item, score, rank). Any other
        /// file: one TSV file (user, item, score, rank per line). Files are written through a temporary file and moved
        /// into place, so a reader never sees a partial output.
        /// </summary>
        /// <returns>The number of recommendations written.</returns>
        /// <exception cref="InvalidOperationException">No such job, not a batch recommendation, or a task is not committed yet.</exception>
        public static long WriteOutput(IPartitionStore store, string jobId, string output)
        {
            ArgumentNullException.ThrowIfNull(store);
            ArgumentException.ThrowIfNullOrEmpty(output);
            var settings = ReadSettings(store, jobId);
            var spec = ClusterJob.ReadSpec(store, jobId);
            for (int t = 0; t < spec.Tasks; t++)
                ClusterJob.CommittedTaskToken(store, jobId, t);
            if (Directory.Exists(output) || output.EndsWith('/') || output.EndsWith(Path.DirectorySeparatorChar))
            {
                Directory.CreateDirectory(output);
                string extension = settings.Format == RecommendationShardFormat.Parquet ? ".parquet" : ".tsv";
                for (int t = 0; t < spec.Tasks; t++)
                {
                    AtomicFile.Write(Path.Combine(output, string.Create(CultureInfo.InvariantCulture, $"part-{t:D5}{extension}")), stream =>
                    {
                        using var shard = ClusterJob.OpenTaskOutput(store, jobId, t, settings.ShardName);
                        shard.CopyTo(stream);
                    });
                }
                // Shards of an earlier, longer job (or of the other format) in a reused folder would be read as this job's.
                foreach (string stale in Directory.EnumerateFiles(output, "part-*"))
                {
                    string name = Path.GetFileName(stale);
                    if (name.Length == 5 + 5 + extension.Length && name.EndsWith(extension, StringComparison.Ordinal)
                        && int.TryParse(name.AsSpan(5, 5), NumberStyles.None, CultureInfo.InvariantCulture, out int index) && index < spec.Tasks)
                        continue;
                    if (System.Text.RegularExpressions.Regex.IsMatch(name, @"^part-\d{5}\.(tsv|parquet)$"))
                        File.Delete(stale);
                }
                var status = JobFiles.ReadCheckpoint(store, jobId);
                return status?.TaskRecords ?? 0;
            }
            var rows = Rows(store, jobId, spec.Tasks, settings);
            if (output.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase))
            {
                var ml = new MLContext(seed: 1);
                var view = ml.Data.LoadFromEnumerable(rows.Select(r => new ParquetRow { User = r.User, Item = r.Item, Score = r.Score, Rank = r.Rank }));
                return ml.Data.SaveAsParquet(view, output, new ParquetSaveOptions
                {
                    Columns = { new("user", nameof(ParquetRow.User)), new("item", nameof(ParquetRow.Item)), new("score", nameof(ParquetRow.Score)), new("rank", nameof(ParquetRow.Rank)) },
                });
            }
            long lines = 0;
            AtomicFile.Write(output, stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
                foreach (var row in rows)
                {
                    WriteLine(writer, row.User, row.Item, row.Score, row.Rank);
                    lines++;
                }
            });
            return lines;
        }

        /// <summary>One TSV line as the <c>recommend</c> command writes it: user, item, score (shortest round-trip form), rank.</summary>
        internal static void WriteLine(TextWriter writer, ReadOnlySpan<char> user, ReadOnlySpan<char> item, float score, int rank)
        {
            writer.Write(user);
            writer.Write('\t');
            writer.Write(item);
            writer.Write('\t');
            writer.Write(score.ToString("R", CultureInfo.InvariantCulture));
            writer.Write('\t');
            writer.Write(rank.ToString(CultureInfo.InvariantCulture));
            writer.WriteLine();
        }

        private sealed class ParquetRow
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";

            public float Score { get; set; }

            public int Rank { get; set; }
        }
    }
}
