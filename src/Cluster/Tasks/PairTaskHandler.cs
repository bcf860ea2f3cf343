using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using Embeddings.Cluster.Training;
using Embeddings.Partitioned;

namespace Embeddings.Cluster.Tasks
{
    /// <summary>
    /// The pair tasks of a job whose workers write its pairs (<see cref="ClusterJobSpec.PairTaskWindow"/>): task t writes
    /// the pairs of epoch t / Episodes, episode t mod Episodes, with a pair source that the job kind opens from the job's
    /// inputs (<see cref="Open"/>), as one file per bucket (b-I-J.bin: the pair header, then int32 (input row, output
    /// row) pairs). The source is kept for the job's next tasks (one job at a time), in a scratch folder of its own.
    /// </summary>
    public abstract class PairTaskHandler : IClusterTaskHandler, IDisposable
    {
        private readonly object _gate = new();
        private Loaded? _loaded;

        private protected PairTaskHandler()
        {
        }

        /// <inheritdoc/>
        public abstract string Kind { get; }

        private sealed class Loaded(string key, PartitionedSkipGramRun source, IDisposable? resources, string scratch) : IDisposable
        {
            public string Key { get; } = key;

            public PartitionedSkipGramRun Source { get; } = source;

            public string Scratch { get; } = scratch;

            public void Dispose()
            {
                resources?.Dispose();
                try
                {
                    if (Directory.Exists(Scratch))
                        Directory.Delete(Scratch, recursive: true);
                }
                catch (IOException)
                {
                    // A scratch folder under the temporary folder: left to the system when it cannot go now.
                }
            }
        }

        /// <summary>
        /// Opens the job's pair source from its inputs in <see cref="ClusterTask.Store"/>, writing into
        /// <paramref name="scratch"/> (an empty local folder of its own); adds the bytes it read to <paramref name="bytesRead"/>.
        /// <c>Resources</c> are disposed with the source (null for none).
        /// </summary>
        private protected abstract (PartitionedSkipGramRun Source, IDisposable? Resources) Open(ClusterTask task, string scratch, ref long bytesRead);

        /// <summary>An input of the job, read whole; throws naming the file when it is missing.</summary>
        private protected static byte[] ReadInput(ClusterTask task, string name, string component) =>
            task.Store.ReadBlob(task.JobId, name) ?? throw MissingInput(task, name, component);

        /// <summary>An input of the job, opened for reading; throws naming the file when it is missing.</summary>
        private protected static Stream OpenInput(ClusterTask task, string name, string component) =>
            task.Store.OpenBlob(task.JobId, name) ?? throw MissingInput(task, name, component);

        /// <summary>The job's JSON settings file <paramref name="name"/>, read whole (its size added to <paramref name="bytesRead"/>); throws naming the file when it is missing or empty.</summary>
        private protected static T ReadSettings<T>(ClusterTask task, string name, string component, ref long bytesRead)
            where T : class
        {
            byte[] bytes = ReadInput(task, name, component);
            bytesRead += bytes.Length;
            return JsonSerializer.Deserialize<T>(bytes, JobFiles.Json)
                ?? throw new InvalidOperationException($"{component}: the {name} of job '{task.JobId}' is empty; delete the job's folder and submit it again.");
        }

        private static InvalidOperationException MissingInput(ClusterTask task, string name, string component) =>
            new($"{component}: job '{task.JobId}' at '{task.Store.Location}' has no {name}; it was not written by its submitter. Delete its folder and submit it again.");

        /// <inheritdoc/>
        public ClusterTaskResult Run(ClusterTask task, IBucketProgress progress, CancellationToken cancellation)
        {
            ArgumentNullException.ThrowIfNull(task);
            ArgumentNullException.ThrowIfNull(progress);
            var spec = task.Spec;
            if (!spec.PairsByTask)
                throw new InvalidOperationException($"{GetType().Name}: job '{spec.JobId}' has '{Kind}' tasks but no PairTaskWindow; it was not written by its submitter. Submit it again.");
            // One task at a time per handler: the source writes into its one scratch folder.
            lock (_gate)
            {
                long bytesRead = 0;
                var loaded = Load(task, ref bytesRead);
                progress.Report(0);
                var source = loaded.Source;
                int epoch = task.Index / spec.Episodes, episode = task.Index % spec.Episodes;
                source.CancellationOverride = cancellation;
                source.PairItemWritten = _ => progress.Report(0);
                long[] counts;
                try
                {
                    counts = source.WriteEpisodePairs(epoch, episode, spec.Episodes, spec.Items);
                }
                finally
                {
                    source.CancellationOverride = null;
                    source.PairItemWritten = null;
                }
                var directory = source.PairDirectory;
                int p = spec.Partitions;
                long pairs = 0;
                var buffer = new byte[1 << 20];
                for (int i = 0; i < p; i++)
                {
                    for (int j = 0; j < p; j++)
                    {
                        cancellation.ThrowIfCancellationRequested();
                        long n = counts[i * p + j];
                        string path = directory.BucketFile(i, j);
                        task.WriteOutput(JobFiles.TaskPairFileName(i, j), stream =>
                        {
                            Span<byte> header = stackalloc byte[JobFiles.PairHeaderBytes];
                            JobFiles.WritePairHeader(header, episode, i, j, n);
                            stream.Write(header);
                            if (n == 0)
                                return;
                            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                            if (file.Length != n * 8)
                                throw new IOException($"{GetType().Name}: the pair file '{path}' holds {file.Length:N0} bytes for {n:N0} pairs; is another process using the folder?");
                            int read;
                            while ((read = file.Read(buffer)) > 0)
                            {
                                stream.Write(buffer, 0, read);
                                progress.Report(0);
                            }
                        });
                        pairs += n;
                    }
                }
                directory.ClearPairs();
                return new ClusterTaskResult(pairs, bytesRead);
            }
        }

        /// <summary>The job's pair source, opened from the storage unless it is the one kept.</summary>
        private Loaded Load(ClusterTask task, ref long bytesRead)
        {
            var (_, descriptionBytes) = JobFiles.ReadDescription(task.Store, task.JobId);
            string key = task.JobId + "/" + JobFiles.Sha256(descriptionBytes);
            if (_loaded is { } kept && kept.Key == key)
                return kept;
            _loaded?.Dispose();
            _loaded = null;
            string scratch = Path.Combine(Path.GetTempPath(), "embeddings-pairs-" + task.JobId + "-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(scratch);
            try
            {
                var (source, resources) = Open(task, scratch, ref bytesRead);
                _loaded = new Loaded(key, source, resources, scratch);
                return _loaded;
            }
            catch
            {
                Directory.Delete(scratch, recursive: true);
                throw;
            }
        }

        /// <summary>Deletes the kept job's scratch folder.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                _loaded?.Dispose();
                _loaded = null;
            }
            GC.SuppressFinalize(this);
        }
    }
}
