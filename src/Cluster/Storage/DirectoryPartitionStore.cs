using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Embeddings.Infrastructure;

namespace Embeddings.Cluster.Storage
{
    /// <summary>
    /// <see cref="IPartitionStore"/> over a folder: in production a network file system mounted at the same path on
    /// every silo, in tests a local folder. Layout, under the root: <c>JOB/job.json</c> (the job), <c>JOB/checkpoint.json</c>
    /// (the coordinator's state), <c>JOB/coordinator.log</c>, <c>JOB/partitions/input-3.v7.bin</c> and
    /// <c>output-3.v7.bin</c> (version 7 of partition 3 of each matrix) and <c>JOB/pairs/e0/b-1-2.bin</c>.
    /// </summary>
    /// <remarks>
    /// Every write goes to a temporary file in the same folder (its name ends in <c>.tmp-</c> and a random suffix),
    /// is flushed to the device (fsync), and is then renamed into place, which POSIX file systems and NFS do
    /// atomically: a reader never opens a half-written file, because nothing reads temporary names. The folder
    /// entry of the rename is not fsynced separately (.NET has no portable way to fsync a folder), so after a power
    /// loss of the storage server a rename may be lost; the file behind a rename that survived is complete.
    /// Partition files carry a 32-byte header (magic "EMBC", format 1, side, partition, rows, dimension, version)
    /// that reads check, followed by the rows as little-endian float32.
    /// </remarks>
    public sealed class DirectoryPartitionStore : IPartitionStore
    {
        /// <summary>The name of a job's description file.</summary>
        public const string JobFileName = "job.json";

        private const int Magic = 0x43424D45; // "EMBC"
        private const int Format = 1;
        private const int HeaderBytes = 32;
        private const string TempMarker = ".tmp-";
        private static readonly Regex s_partitionFile = new(@"^(input|output)-(\d+)\.v(\d+)\.bin(\.tmp-[0-9a-f]{32})?$", RegexOptions.CultureInvariant);
        private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);
        private static readonly Regex s_segment = new(@"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", RegexOptions.CultureInvariant);

        /// <summary>Opens the store at <paramref name="root"/>, which must exist.</summary>
        /// <param name="root">The shared folder; the same path on every silo and on the submitter.</param>
        /// <exception cref="ArgumentException"><paramref name="root"/> is empty.</exception>
        /// <exception cref="DirectoryNotFoundException">The folder does not exist.</exception>
        /// <exception cref="PlatformNotSupportedException">A big-endian machine (the files are little-endian and read without conversion).</exception>
        public DirectoryPartitionStore(string root)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("The cluster's partition files are little-endian float32 and are read without conversion; big-endian machines are not supported.");
            if (string.IsNullOrWhiteSpace(root))
                throw new ArgumentException("The cluster storage folder is empty: pass the shared folder every silo mounts (for example /mnt/embeddings).", nameof(root));
            Root = Path.GetFullPath(root);
            if (!Directory.Exists(Root))
                throw new DirectoryNotFoundException(
                    $"The cluster storage folder '{Root}' does not exist: create it (a network file system mounted at the same path on every silo, or a local folder for a single machine) before starting a silo or submitting a job.");
        }

        /// <summary>The root folder, as a full path.</summary>
        public string Root { get; }

        /// <inheritdoc/>
        public string Location => Root;

        /// <inheritdoc/>
        public IReadOnlyList<string> ListJobs() =>
            Directory.EnumerateDirectories(Root)
                .Where(d => File.Exists(Path.Combine(d, JobFileName)))
                .Select(d => Path.GetFileName(d)!)
                .OrderBy(d => d, StringComparer.Ordinal)
                .ToList();

        /// <inheritdoc/>
        public byte[]? ReadBlob(string jobId, string name)
        {
            string path = BlobPath(jobId, name);
            try
            {
                return File.ReadAllBytes(path);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
            catch (DirectoryNotFoundException)
            {
                return null;
            }
        }

        /// <inheritdoc/>
        public Stream? OpenBlob(string jobId, string name)
        {
            string path = BlobPath(jobId, name);
            try
            {
                return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
            }
            catch (FileNotFoundException)
            {
                return null;
            }
            catch (DirectoryNotFoundException)
            {
                return null;
            }
        }

        /// <inheritdoc/>
        public void WriteBlob(string jobId, string name, ReadOnlySpan<byte> content)
        {
            string path = BlobPath(jobId, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string temp = TempName(path);
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                {
                    stream.Write(content);
                    stream.Flush(flushToDisk: true);
                }
                MoveIntoPlace(temp, path, overwrite: true);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }

        /// <inheritdoc/>
        public void WriteBlob(string jobId, string name, Action<Stream> write)
        {
            ArgumentNullException.ThrowIfNull(write);
            string path = BlobPath(jobId, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string temp = TempName(path);
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    write(stream);
                    stream.Flush(flushToDisk: true);
                }
                MoveIntoPlace(temp, path, overwrite: true);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }

        /// <summary>
        /// Moves a written and flushed temporary file into place, then flushes the folder entry of the move to the device
        /// (<see cref="AtomicFile.FlushFolderToDevice"/>), so that after a power loss a file the coordinator has recorded as
        /// current is found under its name.
        /// </summary>
        private static void MoveIntoPlace(string temp, string path, bool overwrite)
        {
            File.Move(temp, path, overwrite);
            AtomicFile.FlushFolderToDevice(Path.GetDirectoryName(path)!);
        }

        /// <inheritdoc/>
        public IReadOnlyList<string> ListFolders(string jobId, string folder)
        {
            string path = BlobPath(jobId, folder);
            if (!Directory.Exists(path))
                return Array.Empty<string>();
            return Directory.EnumerateDirectories(path).Select(d => Path.GetFileName(d)!).OrderBy(d => d, StringComparer.Ordinal).ToList();
        }

        /// <inheritdoc/>
        public bool DeleteFolder(string jobId, string folder)
        {
            string path = BlobPath(jobId, folder);
            if (!Directory.Exists(path))
                return false;
            try
            {
                Directory.Delete(path, recursive: true);
                return true;
            }
            catch (DirectoryNotFoundException)
            {
                return false;
            }
        }

        /// <inheritdoc/>
        public void AppendLine(string jobId, string name, string line)
        {
            string path = BlobPath(jobId, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllText(path, line + "\n", s_utf8);
        }

        /// <inheritdoc/>
        public void WritePartition(string jobId, PartitionSide side, int partition, long version, int rows, int dimension, ReadOnlySpan<float> values)
        {
            CheckShape(rows, dimension);
            if (values.Length != (long)rows * dimension)
                throw new ArgumentException($"A partition of {rows} rows x {dimension} needs {(long)rows * dimension} values; got {values.Length}.", nameof(values));
            string path = PartitionPath(jobId, side, partition, version);
            if (File.Exists(path))
                throw new InvalidOperationException($"Partition file '{path}' exists already: partition versions are written once (a new version takes a new number).");
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            string temp = TempName(path);
            try
            {
                using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
                {
                    Span<byte> header = stackalloc byte[HeaderBytes];
                    WriteHeader(header, side, partition, rows, dimension, version);
                    stream.Write(header);
                    stream.Write(MemoryMarshal.AsBytes(values));
                    stream.Flush(flushToDisk: true);
                }
                // Not overwrite: two writers of one version would be a bug of the caller, and must not pass silently.
                MoveIntoPlace(temp, path, overwrite: false);
            }
            catch
            {
                TryDelete(temp);
                throw;
            }
        }

        /// <inheritdoc/>
        public void ReadPartition(string jobId, PartitionSide side, int partition, long version, int rows, int dimension, Span<float> destination)
        {
            CheckShape(rows, dimension);
            long count = (long)rows * dimension;
            if (destination.Length != count)
                throw new ArgumentException($"A partition of {rows} rows x {dimension} needs a destination of {count} values; got {destination.Length}.", nameof(destination));
            string path = PartitionPath(jobId, side, partition, version);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 16);
            long expected = HeaderBytes + count * sizeof(float);
            if (stream.Length != expected)
                throw new InvalidDataException($"Partition file '{path}' has {stream.Length} bytes; a partition of {rows} x {dimension} has {expected}. The file is damaged or belongs to another job: delete the job's folder to start it again.");
            Span<byte> header = stackalloc byte[HeaderBytes];
            stream.ReadExactly(header);
            Span<byte> wanted = stackalloc byte[HeaderBytes];
            WriteHeader(wanted, side, partition, rows, dimension, version);
            if (!header.SequenceEqual(wanted))
                throw new InvalidDataException($"Partition file '{path}' has a header of another partition, shape or version. The file is damaged or belongs to another job: delete the job's folder to start it again.");
            stream.ReadExactly(MemoryMarshal.AsBytes(destination));
        }

        /// <inheritdoc/>
        public bool PartitionExists(string jobId, PartitionSide side, int partition, long version) =>
            File.Exists(PartitionPath(jobId, side, partition, version));

        /// <inheritdoc/>
        public IReadOnlyList<long> ListPartitionVersions(string jobId, PartitionSide side, int partition) =>
            Files(jobId, side, partition).Where(f => !f.Temporary).Select(f => f.Version).Distinct().OrderBy(v => v).ToList();

        /// <inheritdoc/>
        public int CollectPartitionVersions(string jobId, PartitionSide side, int partition, IReadOnlySet<long> keep)
        {
            int deleted = 0;
            foreach (var file in Files(jobId, side, partition))
            {
                if (keep.Contains(file.Version))
                    continue;
                if (TryDelete(file.Path))
                    deleted++;
            }
            return deleted;
        }

        /// <summary>The path of a partition version's file.</summary>
        public string PartitionPath(string jobId, PartitionSide side, int partition, long version)
        {
            if (partition < 0 || partition >= ClusterJobSpec.MaxPartitions)
                throw new ArgumentOutOfRangeException(nameof(partition), partition, $"Partitions are numbered 0 to {ClusterJobSpec.MaxPartitions - 1}.");
            if (version < 0)
                throw new ArgumentOutOfRangeException(nameof(version), version, "Partition versions are not negative.");
            return Path.Combine(JobPath(jobId), "partitions",
                string.Create(CultureInfo.InvariantCulture, $"{SideName(side)}-{partition}.v{version}.bin"));
        }

        private IEnumerable<(string Path, long Version, bool Temporary)> Files(string jobId, PartitionSide side, int partition)
        {
            string folder = Path.Combine(JobPath(jobId), "partitions");
            if (!Directory.Exists(folder))
                yield break;
            string sideName = SideName(side);
            foreach (string path in Directory.EnumerateFiles(folder))
            {
                var match = s_partitionFile.Match(Path.GetFileName(path));
                if (!match.Success || match.Groups[1].Value != sideName
                    || !int.TryParse(match.Groups[2].Value, NumberStyles.None, CultureInfo.InvariantCulture, out int p) || p != partition
                    || !long.TryParse(match.Groups[3].Value, NumberStyles.None, CultureInfo.InvariantCulture, out long version))
                    continue;
                yield return (path, version, match.Groups[4].Success);
            }
        }

        private string JobPath(string jobId)
        {
            if (string.IsNullOrEmpty(jobId) || !s_segment.IsMatch(jobId) || jobId.Contains("..", StringComparison.Ordinal))
                throw new ArgumentException($"'{jobId}' is not a valid job name (letters, digits, '_', '-').", nameof(jobId));
            return Path.Combine(Root, jobId);
        }

        private string BlobPath(string jobId, string name)
        {
            string[] segments = name.Split('/');
            if (segments.Length == 0 || segments.Any(s => !s_segment.IsMatch(s) || s.Contains("..", StringComparison.Ordinal) || s.Contains(TempMarker, StringComparison.Ordinal)))
                throw new ArgumentException($"'{name}' is not a valid file name in a job's folder ('/'-separated letters, digits, '_', '-', '.').", nameof(name));
            return Path.Combine(JobPath(jobId), Path.Combine(segments));
        }

        private static string SideName(PartitionSide side) => side switch
        {
            PartitionSide.Input => "input",
            PartitionSide.Output => "output",
            _ => throw new ArgumentOutOfRangeException(nameof(side), side, "Input or Output."),
        };

        private static string TempName(string path) => path + TempMarker + Guid.NewGuid().ToString("N");

        private static void CheckShape(int rows, int dimension)
        {
            if (rows < 1)
                throw new ArgumentOutOfRangeException(nameof(rows), rows, "A partition has at least one row.");
            if (dimension < 1 || dimension > ClusterJobSpec.MaxDimension)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"The dimension is 1 to {ClusterJobSpec.MaxDimension}.");
        }

        private static void WriteHeader(Span<byte> header, PartitionSide side, int partition, int rows, int dimension, long version)
        {
            header.Clear();
            BinaryPrimitives.WriteInt32LittleEndian(header, Magic);
            BinaryPrimitives.WriteInt32LittleEndian(header[4..], Format);
            BinaryPrimitives.WriteInt32LittleEndian(header[8..], (int)side);
            BinaryPrimitives.WriteInt32LittleEndian(header[12..], partition);
            BinaryPrimitives.WriteInt32LittleEndian(header[16..], rows);
            BinaryPrimitives.WriteInt32LittleEndian(header[20..], dimension);
            BinaryPrimitives.WriteInt64LittleEndian(header[24..], version);
        }

        private static bool TryDelete(string path)
        {
            try
            {
                if (!File.Exists(path))
                    return false;
                File.Delete(path);
                return true;
            }
            catch (IOException)
            {
                return false;
            }
            catch (UnauthorizedAccessException)
            {
                return false;
            }
        }
    }
}
