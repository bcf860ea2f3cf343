using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading;
using Embeddings.Cluster.Tasks;
using Embeddings.Cluster.Training;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Cluster.Recommendation
{
    /// <summary>
    /// Runs the tasks of batch recommendation jobs (<see cref="BatchRecommendationJob"/>): task t scores users
    /// t x UsersPerTask to (t + 1) x UsersPerTask - 1 of the job's user list with the job's saved recommender and writes
    /// their lists as one shard. The model and the user list are loaded once per job and kept for its next tasks (the
    /// last two jobs are kept). Registered in every silo by <c>AddPartitionedTrainingWorker</c>.
    /// </summary>
    public sealed class BatchRecommendationTaskHandler : IClusterTaskHandler
    {
        private const int KeptJobs = 2;
        private readonly object _gate = new();
        private readonly List<(string Key, Lazy<Loaded> Value)> _loaded = new();

        /// <inheritdoc/>
        public string Kind => BatchRecommendationJob.Kind;

        /// <summary>How many times a model was read from the storage by this handler (a test of the cache).</summary>
        public int ModelLoads { get; private set; }

        private sealed record Loaded(MLContext Context, RankingRecommenderTransformer Model, string[] Users, BatchRecommendationSettings Settings, RecommendOptions Options, long Bytes);

        /// <inheritdoc/>
        public ClusterTaskResult Run(ClusterTask task, IBucketProgress progress, CancellationToken cancellation)
        {
            ArgumentNullException.ThrowIfNull(task);
            ArgumentNullException.ThrowIfNull(progress);
            var (job, fresh) = Load(task);
            var settings = job.Settings;
            int first = (int)Math.Min((long)task.Index * settings.UsersPerTask, job.Users.Length);
            int end = (int)Math.Min((long)first + settings.UsersPerTask, job.Users.Length);
            int done = 0;
            // The view pulls users as it scores them: each one pulled is progress (the lease lives while they come).
            var users = job.Users.Skip(first).Take(end - first).Select(u =>
            {
                cancellation.ThrowIfCancellationRequested();
                progress.Report(Interlocked.Increment(ref done));
                return u;
            });
            var view = job.Model.Recommend(job.Context, users, settings.Count, job.Options);
            long rows = 0;
            if (settings.Format == RecommendationShardFormat.Tsv)
            {
                task.WriteOutput(settings.ShardName, stream =>
                {
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16, leaveOpen: true) { NewLine = "\n" };
                    foreach (var row in RecommendationRow.Read(view))
                    {
                        BatchRecommendationJob.WriteLine(writer, row.User, row.Item, row.Score, row.Rank);
                        rows++;
                    }
                });
            }
            else
            {
                // Parquet wants a file; the shard is written locally and then copied into the attempt's folder.
                string local = Path.Combine(Path.GetTempPath(), $"embeddings-shard-{task.JobId}-{task.Index}-{Guid.NewGuid():N}.parquet");
                try
                {
                    rows = job.Context.Data.SaveAsParquet(view, local, new ParquetSaveOptions
                    {
                        Columns = { new("user", "User"), new("item", "Item"), new("score", "Score"), new("rank", "Rank") },
                    });
                    cancellation.ThrowIfCancellationRequested();
                    task.WriteOutput(settings.ShardName, stream =>
                    {
                        using var source = File.OpenRead(local);
                        source.CopyTo(stream);
                    });
                }
                finally
                {
                    File.Delete(local);
                }
            }
            progress.Report(Volatile.Read(ref done));
            return new ClusterTaskResult(rows, fresh ? job.Bytes : 0);
        }

        /// <summary>The job's model, users and settings: from the cache, or read from the storage (once per job and model).</summary>
        private (Loaded Job, bool Fresh) Load(ClusterTask task)
        {
            var settings = BatchRecommendationJob.ReadSettings(task.Store, task.JobId);
            // Keyed by the job's fingerprint (model, users and every setting): a job replaced under the same id, or the
            // same model with other settings, is read again.
            string key = task.JobId + "/" + JobFiles.ReadDescription(task.Store, task.JobId).Description.TaskInputSha256;
            Lazy<Loaded> entry;
            bool fresh = false;
            lock (_gate)
            {
                int at = _loaded.FindIndex(e => e.Key == key);
                if (at >= 0)
                {
                    entry = _loaded[at].Value;
                }
                else
                {
                    entry = new Lazy<Loaded>(() => Read(task, settings), LazyThreadSafetyMode.ExecutionAndPublication);
                    _loaded.Add((key, entry));
                    if (_loaded.Count > KeptJobs)
                        _loaded.RemoveAt(0);
                    fresh = true;
                }
            }
            try
            {
                return (entry.Value, fresh);
            }
            catch
            {
                // A failed load is not kept: the next task of the job tries again.
                lock (_gate)
                    _loaded.RemoveAll(e => e.Key == key);
                throw;
            }
        }

        private Loaded Read(ClusterTask task, BatchRecommendationSettings settings)
        {
            var store = task.Store;
            var context = new MLContext(seed: 1);
            long bytes = 0;
            RankingRecommenderTransformer model;
            using (var stream = store.OpenBlob(task.JobId, BatchRecommendationSettings.ModelFile)
                ?? throw new InvalidOperationException($"Job '{task.JobId}' at '{store.Location}' has no {BatchRecommendationSettings.ModelFile}: its folder is incomplete; delete it and submit the job again."))
            {
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                bytes += copy.Length;
                string sha = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(copy.GetBuffer().AsSpan(0, (int)copy.Length)));
                if (sha != settings.ModelSha256)
                    throw new InvalidDataException($"The model of job '{task.JobId}' at '{store.Location}' does not match its settings (SHA-256 {sha}, recorded {settings.ModelSha256}): the folder was changed; delete it and submit the job again.");
                copy.Position = 0;
                model = RankingRecommenderTransformer.FromModel(context.Model.Load(copy, out _));
            }
            byte[] users = store.ReadBlob(task.JobId, BatchRecommendationSettings.UsersFile)
                ?? throw new InvalidOperationException($"Job '{task.JobId}' at '{store.Location}' has no {BatchRecommendationSettings.UsersFile}: its folder is incomplete; delete it and submit the job again.");
            bytes += users.Length;
            string[] list = Encoding.UTF8.GetString(users).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            if (list.Length != settings.Users)
                throw new InvalidDataException($"The user list of job '{task.JobId}' at '{store.Location}' has {list.Length} users; its settings record {settings.Users}: the folder was changed; delete it and submit the job again.");
            var options = new RecommendOptions
            {
                ExcludeSeenItems = settings.ExcludeSeenItems,
                AllowedItems = settings.AllowedItems,
                DeniedItems = settings.DeniedItems,
                NumberOfThreads = settings.NumberOfThreads,
            };
            ModelLoads++;
            return new Loaded(context, model, list, settings, options, bytes);
        }
    }
}
