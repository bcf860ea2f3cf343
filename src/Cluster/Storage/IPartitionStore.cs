using System;
using System.Collections.Generic;

namespace Embeddings.Cluster.Storage
{
    /// <summary>Which matrix of the skip-gram model a partition belongs to.</summary>
    public enum PartitionSide
    {
        /// <summary>The input ("syn0") vectors, the embeddings users keep.</summary>
        Input = 0,

        /// <summary>The output ("syn1neg", context) vectors.</summary>
        Output = 1,
    }

    /// <summary>
    /// The shared storage of cluster jobs: every silo and the job submitter see the same files. Partition versions are
    /// immutable once written (a new version gets a new name), and every write is atomic, so a reader sees either a
    /// whole file or none.
    /// </summary>
    /// <remarks>
    /// The methods are synchronous: they are called from the worker's training thread and, for the small checkpoint
    /// and log files, from the coordinator grain. Implementations must be safe for concurrent use by several silos
    /// and threads on different files.
    /// </remarks>
    public interface IPartitionStore
    {
        /// <summary>Where the store keeps its files (a folder path or a URI), for messages.</summary>
        string Location { get; }

        /// <summary>The jobs present in the store (those with a job description written), in ordinal order.</summary>
        IReadOnlyList<string> ListJobs();

        /// <summary>The bytes of a job's file <paramref name="name"/> ('/'-separated relative path), or null when it does not exist.</summary>
        byte[]? ReadBlob(string jobId, string name);

        /// <summary>
        /// Opens a job's file <paramref name="name"/> for reading from its start, or returns null when it does not exist.
        /// The stream sees the whole file as it was when opened (files are replaced by atomic renames, never changed in place).
        /// </summary>
        System.IO.Stream? OpenBlob(string jobId, string name);

        /// <summary>Writes a job's file atomically, replacing any previous content: a reader sees the old or the new bytes, never a mix.</summary>
        void WriteBlob(string jobId, string name, ReadOnlySpan<byte> content);

        /// <summary>
        /// Writes a job's file atomically from a stream callback (for files too large to hold in memory): the callback
        /// writes into a temporary file, which is flushed to the device and then renamed into place. A reader sees the
        /// old bytes or the new, never a mix; a callback that throws leaves nothing behind.
        /// </summary>
        void WriteBlob(string jobId, string name, Action<System.IO.Stream> write);

        /// <summary>The sub-folders of a job's folder <paramref name="folder"/> ('/'-separated relative path), by name (ordinal); empty when it does not exist.</summary>
        IReadOnlyList<string> ListFolders(string jobId, string folder);

        /// <summary>Deletes a job's folder <paramref name="folder"/> and everything in it (unfinished writes included); false when it did not exist.</summary>
        bool DeleteFolder(string jobId, string folder);

        /// <summary>Appends one line of text to a job's log file (diagnostics; not a commit point).</summary>
        void AppendLine(string jobId, string name, string line);

        /// <summary>
        /// Writes version <paramref name="version"/> of a partition (rows x dimension values, row-major) atomically
        /// and durably (flushed to the device before it appears under its name).
        /// </summary>
        /// <exception cref="InvalidOperationException">That version exists already (versions are immutable).</exception>
        void WritePartition(string jobId, PartitionSide side, int partition, long version, int rows, int dimension, ReadOnlySpan<float> values);

        /// <summary>Reads version <paramref name="version"/> of a partition into <paramref name="destination"/> (rows x dimension values).</summary>
        /// <exception cref="System.IO.FileNotFoundException">That version does not exist (never written, or collected).</exception>
        /// <exception cref="System.IO.InvalidDataException">The file is not that partition's version, has another shape, or is truncated.</exception>
        void ReadPartition(string jobId, PartitionSide side, int partition, long version, int rows, int dimension, Span<float> destination);

        /// <summary>True when version <paramref name="version"/> of the partition exists (fully written).</summary>
        bool PartitionExists(string jobId, PartitionSide side, int partition, long version);

        /// <summary>The versions of a partition present in the store (fully written ones), ascending.</summary>
        IReadOnlyList<long> ListPartitionVersions(string jobId, PartitionSide side, int partition);

        /// <summary>
        /// Deletes every version of the partition, and every unfinished write of one, whose version is not in
        /// <paramref name="keep"/>. Returns the number of files deleted.
        /// </summary>
        int CollectPartitionVersions(string jobId, PartitionSide side, int partition, IReadOnlySet<long> keep);
    }
}
