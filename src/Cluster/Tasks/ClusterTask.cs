using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Threading;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Training;

namespace Embeddings.Cluster.Tasks
{
    /// <summary>
    /// Runs the tasks of one kind of job (<see cref="ClusterJobSpec.TaskKind"/>): a user range of a batch
    /// recommendation, for instance. Register one per kind in every silo's services
    /// (<c>AddClusterTaskHandler</c>); the worker loop gives it the tasks of the jobs of its kind that the coordinator
    /// leases to the silo.
    /// </summary>
    /// <remarks>
    /// The contract: a task's output is a deterministic function of the job and the task's number, never of the worker,
    /// the thread or the clock, so a retried task (after a lease expired) writes the same output. A handler writes only
    /// through <see cref="ClusterTask.WriteOutput(string, Action{Stream})"/>: every file goes atomically into the
    /// attempt's own folder (named by the lease's token), and nothing of an attempt is read until the coordinator has
    /// committed it. A handler reports progress at least every few seconds (the lease is renewed only while progress
    /// comes) and stops when the cancellation token fires (the lease was lost or the silo stops). One worker runs one
    /// task at a time; several silos in one process each have their own handler instance.
    /// </remarks>
    public interface IClusterTaskHandler
    {
        /// <summary>The job kind this handler runs (<see cref="ClusterJobSpec.TaskKind"/>), unique among a silo's handlers.</summary>
        string Kind { get; }

        /// <summary>Runs one task and writes its output.</summary>
        /// <param name="task">The task: its job, number, stage and the storage, and where its output goes.</param>
        /// <param name="progress">Where to report progress (the lease is renewed only while progress comes).</param>
        /// <param name="cancellation">Cancelled when the lease is lost or the worker stops; the attempt's output is then discarded.</param>
        /// <returns>What the task did, for the job's counters.</returns>
        ClusterTaskResult Run(ClusterTask task, IBucketProgress progress, CancellationToken cancellation);
    }

    /// <summary>What a task did.</summary>
    /// <param name="Records">Records written (for example recommendation rows); summed in <see cref="Coordination.JobStatus.TaskRecords"/>.</param>
    /// <param name="BytesRead">Bytes the task read from the storage (its inputs), for the job's cost counters.</param>
    public readonly record struct ClusterTaskResult(long Records, long BytesRead);

    /// <summary>
    /// One leased task, as its handler sees it: the job, the task's number and stage, the lease's token, the storage,
    /// and the writer of the attempt's output files (tasks/tN/vTOKEN/NAME in the job's folder).
    /// </summary>
    public sealed class ClusterTask
    {
        private static readonly Regex s_name = new("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", RegexOptions.CultureInvariant);
        private readonly List<TaskFile> _files = new();

        private readonly IPartitionStore _output;

        /// <summary>A task reading its inputs from <paramref name="store"/>; its output goes to <paramref name="outputStore"/> (null: the same storage).</summary>
        internal ClusterTask(IPartitionStore store, ClusterJobSpec spec, int index, int stage, long token, IPartitionStore? outputStore = null)
        {
            Store = store;
            _output = outputStore ?? store;
            Spec = spec;
            Index = index;
            Stage = stage;
            Token = token;
        }

        /// <summary>The shared storage (the job's inputs are read from it).</summary>
        public IPartitionStore Store { get; }

        /// <summary>The job's settings.</summary>
        public ClusterJobSpec Spec { get; }

        /// <summary>The job.</summary>
        public string JobId => Spec.JobId;

        /// <summary>The task's number: 0 to <see cref="ClusterJobSpec.Tasks"/> - 1.</summary>
        public int Index { get; }

        /// <summary>The task's stage (tasks of a stage start when every task of the lower stages is committed).</summary>
        public int Stage { get; }

        /// <summary>The lease's token: the version of this attempt's output.</summary>
        public long Token { get; }

        /// <summary>Bytes written by <see cref="WriteOutput(string, Action{Stream})"/> so far.</summary>
        public long BytesWritten { get; private set; }

        /// <summary>
        /// Writes one output file of the task atomically (a temporary file, flushed to the device, renamed) into this
        /// attempt's folder. Each name once per attempt.
        /// </summary>
        /// <param name="name">1 to 128 letters, digits, '_', '-', '.', not starting with '.' or '-'; not "manifest.json".</param>
        /// <param name="write">Writes the file's bytes.</param>
        /// <exception cref="ArgumentException">The name is not valid or was written already.</exception>
        public void WriteOutput(string name, Action<Stream> write)
        {
            ArgumentNullException.ThrowIfNull(write);
            CheckName(name);
            long bytes = 0;
            _output.WriteBlob(JobId, JobFiles.TaskFilePath(Index, Token, name), stream =>
            {
                using var counting = new CountingStream(stream);
                write(counting);
                bytes = counting.Written;
            });
            _files.Add(new TaskFile { Name = name, Bytes = bytes });
            BytesWritten += bytes;
        }

        /// <summary>Writes one output file of the task atomically from bytes in memory (see <see cref="WriteOutput(string, Action{Stream})"/>).</summary>
        public void WriteOutput(string name, ReadOnlySpan<byte> content)
        {
            CheckName(name);
            _output.WriteBlob(JobId, JobFiles.TaskFilePath(Index, Token, name), content);
            _files.Add(new TaskFile { Name = name, Bytes = content.Length });
            BytesWritten += content.Length;
        }

        /// <summary>Writes the manifest, last: the attempt's output exists for the coordinator once it does.</summary>
        internal void WriteManifest()
        {
            var manifest = new TaskManifest { Task = Index, Token = Token, Files = _files };
            _output.WriteBlob(JobId, JobFiles.TaskFilePath(Index, Token, JobFiles.TaskManifestName), JsonSerializer.SerializeToUtf8Bytes(manifest, JobFiles.Json));
        }

        private void CheckName(string name)
        {
            if (string.IsNullOrEmpty(name) || !s_name.IsMatch(name) || name.Contains("..", StringComparison.Ordinal) || name == JobFiles.TaskManifestName)
                throw new ArgumentException($"Task output name '{name}' is not valid: use 1 to 128 letters, digits, '_', '-' or '.', starting with a letter, digit or '_' ('{JobFiles.TaskManifestName}' is the worker's).", nameof(name));
            if (_files.Exists(f => f.Name == name))
                throw new ArgumentException($"Task {Index} of job '{JobId}' wrote its output '{name}' twice; write each file once.", nameof(name));
        }

        /// <summary>A write-only stream that counts the bytes going through it.</summary>
        private sealed class CountingStream(Stream inner) : Stream
        {
            public long Written { get; private set; }

            public override bool CanRead => false;

            public override bool CanSeek => false;

            public override bool CanWrite => true;

            public override long Length => Written;

            public override long Position
            {
                get => Written;
                set => throw new NotSupportedException("A task output is written front to back.");
            }

            public override void Flush() => inner.Flush();

            public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException("A task output is write-only.");

            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("A task output is written front to back.");

            public override void SetLength(long value) => throw new NotSupportedException("A task output is written front to back.");

            public override void Write(byte[] buffer, int offset, int count)
            {
                inner.Write(buffer, offset, count);
                Written += count;
            }

            public override void Write(ReadOnlySpan<byte> buffer)
            {
                inner.Write(buffer);
                Written += buffer.Length;
            }
        }
    }
}
