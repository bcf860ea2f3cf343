using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using Embeddings.Infrastructure;
using Embeddings.Kernels;

namespace Embeddings.Partitioned
{
    /// <summary>One trained bucket, as the manifest records it.</summary>
    internal sealed record CompletedBucket(int Epoch, int Episode, int Input, int Output, int Attempt, long Pairs);

    /// <summary>
    /// The checkpoint of a partitioned run (manifest.json). It is rewritten atomically after every bucket and is the
    /// commit point: partition files it does not name are leftovers of an interrupted write.
    /// </summary>
    internal sealed class PartitionManifest
    {
        public const int CurrentFormat = 1;

        public int Format { get; set; } = CurrentFormat;

        /// <summary>Every setting the result depends on, by name (values invariant-culture text).</summary>
        public SortedDictionary<string, string> Settings { get; set; } = new(StringComparer.Ordinal);

        public int VocabularySize { get; set; }

        public int EpisodesPerEpoch { get; set; }

        /// <summary>How many times a process has started (or resumed) this run; 1 for the first.</summary>
        public int Attempts { get; set; }

        /// <summary>The file version of each input partition (in-P.V.bin).</summary>
        public int[] InputVersions { get; set; } = Array.Empty<int>();

        /// <summary>The file version of each output partition (out-P.V.bin).</summary>
        public int[] OutputVersions { get; set; } = Array.Empty<int>();

        /// <summary>The episode whose pair buckets are complete on disk (epoch * episodes + episode), or -1.</summary>
        public long PairsReadyEpisode { get; set; } = -1;

        /// <summary>Pairs in each bucket file of <see cref="PairsReadyEpisode"/>, row-major (input partition, output partition).</summary>
        public long[] PairsReadyCounts { get; set; } = Array.Empty<long>();

        public List<CompletedBucket> Completed { get; set; } = new();

        /// <summary>Walks of each episode (first epoch) with fewer than two nodes that have a vector, which train nothing.</summary>
        public long[] SkippedWalks { get; set; } = Array.Empty<long>();

        public double LossSum { get; set; }

        public long LossCount { get; set; }

        public long MatrixLoads { get; set; }

        public double TrainingSeconds { get; set; }

        public bool Finished { get; set; }
    }

    /// <summary>
    /// The folder of a partitioned run: manifest.json, vocabulary.bin, versioned partition matrices (in-P.V.bin,
    /// out-P.V.bin), the pair buckets of the current episode (pairs/b-I-J.bin) and the result tables (vectors.embt,
    /// context.embt). Every file is written under a temporary name and moved into place.
    /// </summary>
    internal sealed class PartitionDirectory
    {
        public const string ManifestName = "manifest.json";
        public const string VocabularyName = "vocabulary.bin";
        public const string VectorsName = "vectors.embt";
        public const string ContextName = "context.embt";
        private const int MatrixMagic = 0x50424D45; // "EMBP"
        private const int MatrixFormat = 1;
        private const int MatrixHeaderBytes = 32;
        private const int VocabularyMagic = 0x56424D45; // "EMBV"
        private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

        public PartitionDirectory(string path)
        {
            Path = System.IO.Path.GetFullPath(path);
            PairsPath = System.IO.Path.Combine(Path, "pairs");
        }

        public string Path { get; }

        public string PairsPath { get; }

        public string ManifestPath => System.IO.Path.Combine(Path, ManifestName);

        public string File(string name) => System.IO.Path.Combine(Path, name);

        public string MatrixFile(bool output, int partition, int version) =>
            File(string.Create(CultureInfo.InvariantCulture, $"{(output ? "out" : "in")}-{partition}.{version}.bin"));

        public string BucketFile(int input, int output) =>
            System.IO.Path.Combine(PairsPath, string.Create(CultureInfo.InvariantCulture, $"b-{input}-{output}.bin"));

        /// <summary>The manifest of the run in the folder, or null when the folder is missing or empty.</summary>
        /// <exception cref="InvalidOperationException">The folder holds other files, or a manifest that cannot be read.</exception>
        public PartitionManifest? ReadManifest(string component)
        {
            if (!Directory.Exists(Path))
                return null;
            if (!System.IO.File.Exists(ManifestPath))
            {
                var entries = Directory.EnumerateFileSystemEntries(Path).Select(e => System.IO.Path.GetFileName(e)!).ToList();
                if (entries.Count == 0)
                    return null;
                if (entries.All(IsOwnFile))
                {
                    // A run killed before its first manifest: nothing was trained; start again.
                    foreach (string entry in entries)
                    {
                        string full = System.IO.Path.Combine(Path, entry);
                        if (Directory.Exists(full))
                            Directory.Delete(full, recursive: true);
                        else
                            System.IO.File.Delete(full);
                    }
                    return null;
                }
                entries.RemoveAll(IsOwnFile);
                throw new InvalidOperationException($"{component}: the partition directory '{Path}' is not empty ({entries.Count} entries, such as '{entries[0]}') and holds no {ManifestName}; it is not a partitioned run. Give an empty or new folder as PartitionedTrainingOptions.Directory.");
            }
            try
            {
                var manifest = JsonSerializer.Deserialize<PartitionManifest>(System.IO.File.ReadAllText(ManifestPath), s_json)
                    ?? throw new JsonException("the file holds null");
                if (manifest.Format != PartitionManifest.CurrentFormat)
                    throw new JsonException($"format {manifest.Format} is not supported (this library reads format {PartitionManifest.CurrentFormat})");
                return manifest;
            }
            catch (JsonException e)
            {
                throw new InvalidOperationException($"{component}: the manifest '{ManifestPath}' of the partition directory is damaged ({e.Message}). Delete the folder to start the run again.", e);
            }
        }

        /// <summary>True for the names this folder's runs write (partition files, vocabulary, pairs, temporary files of theirs).</summary>
        private static bool IsOwnFile(string name) =>
            name == VocabularyName || name == "pairs" || name == VectorsName || name == ContextName
            || ((name.StartsWith("in-", StringComparison.Ordinal) || name.StartsWith("out-", StringComparison.Ordinal)) && name.EndsWith(".bin", StringComparison.Ordinal))
            || (name.StartsWith('.') && name.Contains(AtomicFile.TemporaryMarker, StringComparison.Ordinal));

        /// <summary>Deletes every partition matrix (after the result tables are written).</summary>
        public void RemoveMatrices()
        {
            foreach (string file in Directory.EnumerateFiles(Path, "*.bin"))
            {
                string name = System.IO.Path.GetFileName(file);
                if (name.StartsWith("in-", StringComparison.Ordinal) || name.StartsWith("out-", StringComparison.Ordinal))
                    System.IO.File.Delete(file);
            }
        }

        /// <summary>Writes the manifest durably (flushed to the device, folder entry included): it is the commit point.</summary>
        public void WriteManifest(PartitionManifest manifest) =>
            AtomicFile.WriteDurably(ManifestPath, stream => JsonSerializer.Serialize(stream, manifest, s_json));

        /// <summary>Writes one partition matrix (header, then the rows as little-endian float32), durably, before a manifest names it.</summary>
        public void WriteMatrix(string path, bool output, int partition, int rows, int dimension, float[] values)
        {
            AtomicFile.WriteDurably(path, stream =>
            {
                Span<byte> header = stackalloc byte[MatrixHeaderBytes];
                header.Clear();
                var ints = MemoryMarshal.Cast<byte, int>(header);
                ints[0] = MatrixMagic;
                ints[1] = MatrixFormat;
                ints[2] = output ? 1 : 0;
                ints[3] = partition;
                ints[4] = rows;
                ints[5] = dimension;
                stream.Write(header);
                stream.Write(MemoryMarshal.AsBytes(values.AsSpan(0, rows * dimension)));
            });
        }

        /// <summary>Reads a partition matrix into <paramref name="destination"/>, checking its header, length and values.</summary>
        /// <exception cref="InvalidOperationException">The file is missing, of another partition or shape, truncated, or holds a value that is not finite.</exception>
        public void ReadMatrix(string path, bool output, int partition, int rows, int dimension, float[] destination, string component)
        {
            string what = $"{(output ? "output" : "input")} partition {partition}";
            if (!System.IO.File.Exists(path))
                throw new InvalidOperationException($"{component}: the partition directory '{Path}' lacks '{System.IO.Path.GetFileName(path)}' ({what}), which its manifest names; the folder is damaged. Delete it to start the run again.");
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            long expected = MatrixHeaderBytes + (long)rows * dimension * sizeof(float);
            Span<byte> header = stackalloc byte[MatrixHeaderBytes];
            if (stream.Length != expected || stream.ReadAtLeast(header, MatrixHeaderBytes, throwOnEndOfStream: false) != MatrixHeaderBytes)
                throw Damaged(path, what, $"it has {stream.Length} bytes where {rows} rows of {dimension} need {expected} (truncated or of another run)", component);
            var ints = MemoryMarshal.Cast<byte, int>(header);
            if (ints[0] != MatrixMagic || ints[1] != MatrixFormat)
                throw Damaged(path, what, "it is not a partition file of this format", component);
            if (ints[2] != (output ? 1 : 0) || ints[3] != partition || ints[4] != rows || ints[5] != dimension)
                throw Damaged(path, what, $"its header says {(ints[2] == 1 ? "output" : "input")} partition {ints[3]}, {ints[4]} rows of {ints[5]}, where {what}, {rows} rows of {dimension} were expected", component);
            stream.ReadExactly(MemoryMarshal.AsBytes(destination.AsSpan(0, rows * dimension)));
            if (!VectorMath.AllFinite(destination.AsSpan(0, rows * dimension)))
                throw Damaged(path, what, "it holds NaN or infinite values", component);
        }

        private InvalidOperationException Damaged(string path, string what, string why, string component) =>
            new($"{component}: the partition file '{System.IO.Path.GetFileName(path)}' ({what}) in '{Path}' is damaged: {why}. Delete the folder to start the run again.");

        /// <summary>Deletes the matrix files the manifest does not name (left by a run killed between a write and its commit).</summary>
        public void RemoveUnreferencedMatrices(PartitionManifest manifest)
        {
            var keep = new HashSet<string>(StringComparer.Ordinal);
            for (int p = 0; p < manifest.InputVersions.Length; p++)
                keep.Add(System.IO.Path.GetFileName(MatrixFile(false, p, manifest.InputVersions[p])));
            for (int p = 0; p < manifest.OutputVersions.Length; p++)
                keep.Add(System.IO.Path.GetFileName(MatrixFile(true, p, manifest.OutputVersions[p])));
            foreach (string file in Directory.EnumerateFiles(Path, "*.bin"))
            {
                string name = System.IO.Path.GetFileName(file);
                if ((name.StartsWith("in-", StringComparison.Ordinal) || name.StartsWith("out-", StringComparison.Ordinal)) && !keep.Contains(name))
                    System.IO.File.Delete(file);
            }
        }

        /// <summary>Writes the vocabulary: node of each vocabulary row, its count, and the raw tokens of each walk work item.</summary>
        public void WriteVocabulary(int nodeCount, int[] nodes, long[] counts, long[] itemTokens)
        {
            AtomicFile.WriteDurably(File(VocabularyName), stream =>
            {
                using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
                writer.Write(VocabularyMagic);
                writer.Write(1);
                writer.Write(nodeCount);
                writer.Write(nodes.Length);
                writer.Write(itemTokens.Length);
                writer.Write(MemoryMarshal.AsBytes(nodes.AsSpan()));
                writer.Write(MemoryMarshal.AsBytes(counts.AsSpan()));
                writer.Write(MemoryMarshal.AsBytes(itemTokens.AsSpan()));
            });
        }

        /// <summary>Reads what <see cref="WriteVocabulary"/> wrote, checking it against the graph's node count and the manifest.</summary>
        public (int[] Nodes, long[] Counts, long[] ItemTokens) ReadVocabulary(int nodeCount, int vocabularySize, int items, string component)
        {
            string path = File(VocabularyName);
            if (!System.IO.File.Exists(path))
                throw new InvalidOperationException($"{component}: the partition directory '{Path}' lacks {VocabularyName}, which its manifest needs; the folder is damaged. Delete it to start the run again.");
            using var stream = System.IO.File.OpenRead(path);
            using var reader = new BinaryReader(stream);
            try
            {
                if (reader.ReadInt32() != VocabularyMagic || reader.ReadInt32() != 1)
                    throw new FormatException("it is not a vocabulary file of this format");
                int nodes = reader.ReadInt32(), size = reader.ReadInt32(), itemCount = reader.ReadInt32();
                if (nodes != nodeCount || size != vocabularySize || itemCount != items)
                    throw new FormatException($"it describes {nodes} nodes, {size} vocabulary rows and {itemCount} walk work items, where the graph and manifest give {nodeCount}, {vocabularySize} and {items}");
                long expected = 20 + 4L * size + 8L * size + 8L * itemCount;
                if (stream.Length != expected)
                    throw new FormatException($"it has {stream.Length} bytes where {expected} were expected (truncated)");
                var order = new int[size];
                var counts = new long[size];
                var tokens = new long[itemCount];
                stream.ReadExactly(MemoryMarshal.AsBytes(order.AsSpan()));
                stream.ReadExactly(MemoryMarshal.AsBytes(counts.AsSpan()));
                stream.ReadExactly(MemoryMarshal.AsBytes(tokens.AsSpan()));
                foreach (int v in order)
                {
                    if ((uint)v >= (uint)nodeCount)
                        throw new FormatException($"it names node {v}, outside the graph's {nodeCount} nodes");
                }
                return (order, counts, tokens);
            }
            catch (Exception e) when (e is FormatException or EndOfStreamException)
            {
                throw new InvalidOperationException($"{component}: '{path}' in the partition directory is damaged: {e.Message}. Delete the folder to start the run again.", e);
            }
        }

        /// <summary>
        /// Flushes every bucket file of the episode being written, and the pairs folder's entries, to the device, so that
        /// the manifest that then marks the episode's pairs ready never names pairs a power loss could take back.
        /// </summary>
        public void FlushPairsToDevice(int partitions)
        {
            for (int i = 0; i < partitions; i++)
            {
                for (int j = 0; j < partitions; j++)
                {
                    string file = BucketFile(i, j);
                    if (System.IO.File.Exists(file))
                        AtomicFile.FlushFileToDevice(file);
                }
            }
            AtomicFile.FlushFolderToDevice(PairsPath);
        }

        /// <summary>Removes the pair buckets of the previous episode.</summary>
        public void ClearPairs()
        {
            if (Directory.Exists(PairsPath))
                Directory.Delete(PairsPath, recursive: true);
        }
    }
}
