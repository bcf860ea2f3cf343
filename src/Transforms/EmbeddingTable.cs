using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using System.Threading;
using Embeddings.Infrastructure;
using Embeddings.Kernels;
using Embeddings.Search;

namespace Embeddings
{
    /// <summary>
    /// An immutable table of keyed float32 vectors of one dimension: trained embeddings, or embeddings loaded from a
    /// word2vec text or binary file. Keys are the items' string values (never ML.NET key indices).
    /// </summary>
    /// <remarks>
    /// Vectors are stored in chunks of whole rows, so a table may hold more than 2^31 floats. All members are safe to
    /// call from several threads at once.
    /// </remarks>
    public sealed class EmbeddingTable
    {
        private readonly string[] _keys;
        private readonly Dictionary<string, int> _index;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIndex;
        private readonly RowStore _rows;
        private float[]? _inverseNorms;
        private float[]? _squaredNorms;
        private ExactSearch? _cosineSearch;
        private HnswNeighborIndex? _attachedIndex;

        /// <summary>
        /// Creates a table from keys and a row-major copy of their vectors (<c>vectors.Length == keys.Count * dimension</c>).
        /// </summary>
        /// <param name="keys">Distinct, non-empty keys; row <c>i</c> of <paramref name="vectors"/> belongs to <c>keys[i]</c>.</param>
        /// <param name="vectors">Row-major vectors; every value must be finite. The values are copied.</param>
        /// <param name="dimension">Length of each vector, at least 1.</param>
        /// <exception cref="ArgumentException">A key is null, empty or repeated, the lengths disagree, or a value is not finite.</exception>
        public EmbeddingTable(IReadOnlyList<string> keys, ReadOnlySpan<float> vectors, int dimension)
            : this(CopyKeys(keys), CopyRows(keys, vectors, dimension))
        {
        }

        /// <summary>Takes ownership of <paramref name="keys"/> and <paramref name="rows"/> (no copy); validates both.</summary>
        internal EmbeddingTable(string[] keys, RowStore rows)
            : this(keys, rows, checkValues: true)
        {
        }

        /// <summary>As <see cref="EmbeddingTable(string[], RowStore)"/>; <paramref name="checkValues"/> false when the caller has checked every value is finite.</summary>
        private EmbeddingTable(string[] keys, RowStore rows, bool checkValues)
        {
            if (keys.Length != rows.RowCount)
                throw new ArgumentException($"The table has {keys.Length} keys but {rows.RowCount} vectors.");
            _keys = keys;
            _rows = rows;
            _index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
            for (int i = 0; i < keys.Length; i++)
            {
                string key = keys[i];
                if (string.IsNullOrEmpty(key))
                    throw new ArgumentException($"Key {i} is {(key is null ? "null" : "empty")}; every key must be a non-empty string (an empty text value means 'missing' in ML.NET).", nameof(keys));
                if (!_index.TryAdd(key, i))
                    throw new ArgumentException($"Key '{key}' appears twice (rows {_index[key]} and {i}); keys must be distinct.", nameof(keys));
                if (checkValues && !VectorMath.AllFinite(rows.Row(i)))
                    throw new ArgumentException($"The vector of key '{key}' (row {i}) contains NaN or infinity; every value must be finite.", nameof(rows));
            }
            _spanIndex = _index.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Number of keys (rows).</summary>
        public int Count => _keys.Length;

        /// <summary>Length of every vector.</summary>
        public int Dimension => _rows.Dimension;

        /// <summary>The keys, in row order.</summary>
        public IReadOnlyList<string> Keys => _keys;

        internal RowStore Rows => _rows;

        internal string[] KeyArray => _keys;

        /// <summary>True when the table has a vector for <paramref name="key"/>.</summary>
        public bool Contains(string key) => key is not null && _index.ContainsKey(key);

        /// <summary>Copies the vector of <paramref name="key"/> into <paramref name="destination"/>.</summary>
        /// <param name="key">The item's key.</param>
        /// <param name="destination">At least <see cref="Dimension"/> long; its first <see cref="Dimension"/> values are written.</param>
        /// <returns>False (and nothing written) when the key is not in the table.</returns>
        /// <exception cref="ArgumentException"><paramref name="destination"/> is shorter than <see cref="Dimension"/>.</exception>
        public bool TryGetVector(string key, Span<float> destination)
        {
            if (destination.Length < Dimension)
                throw new ArgumentException($"The destination has {destination.Length} elements; it needs at least Dimension = {Dimension}.", nameof(destination));
            if (key is null || !_index.TryGetValue(key, out int row))
                return false;
            _rows.Row(row).CopyTo(destination);
            return true;
        }

        /// <summary>Returns a copy of the vector of <paramref name="key"/>.</summary>
        /// <exception cref="KeyNotFoundException">The key is not in the table.</exception>
        public float[] GetVector(string key)
        {
            var vector = new float[Dimension];
            if (!TryGetVector(key, vector))
                throw new KeyNotFoundException($"Key '{key}' is not in the embedding table ({Count} keys).");
            return vector;
        }

        /// <summary>Row index of <paramref name="key"/> (the position of the key in <see cref="Keys"/>), or -1 when the table does not have it.</summary>
        /// <param name="key">The key, as characters (no string is allocated).</param>
        public int IndexOf(ReadOnlySpan<char> key) => _spanIndex.TryGetValue(key, out int row) ? row : -1;

        /// <summary>Row index of <paramref name="key"/> (the position of the key in <see cref="Keys"/>), or -1 when the table does not have it.</summary>
        /// <param name="key">The key.</param>
        public int IndexOf(string key) => _index.TryGetValue(key, out int row) ? row : -1;

        /// <summary>The vector of row <paramref name="row"/> (of the key <c>Keys[row]</c>), read-only and without a copy.</summary>
        /// <param name="row">A row index in [0, <see cref="Count"/>).</param>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is out of range.</exception>
        public ReadOnlySpan<float> Row(int row) => _rows.Row(row);

        /// <summary>
        /// The <paramref name="count"/> keys most similar to <paramref name="key"/> by cosine similarity, best first,
        /// the key itself excluded. Equal similarities are ordered by key (ordinal). Exact, unless an approximate index
        /// is attached (<see cref="AttachIndex"/>).
        /// </summary>
        /// <param name="key">A key of the table.</param>
        /// <param name="count">How many neighbours, at least 1; fewer are returned when the table has fewer other keys.</param>
        /// <exception cref="KeyNotFoundException">The key is not in the table.</exception>
        public IReadOnlyList<Neighbor> MostSimilar(string key, int count)
        {
            CheckCount(count);
            int row = key is null ? -1 : IndexOf(key);
            if (row < 0)
                throw new KeyNotFoundException($"Key '{key}' is not in the embedding table ({Count} keys); MostSimilar(vector, count) accepts any vector.");
            var index = Volatile.Read(ref _attachedIndex);
            if (index is not null)
                return index.SearchCore(_rows.Row(row), count, row);
            return Searcher.Search(_rows.Row(row), count, row);
        }

        /// <summary>
        /// The <paramref name="count"/> keys most similar to <paramref name="vector"/> by cosine similarity, best first.
        /// Equal similarities are ordered by key (ordinal).
        /// </summary>
        /// <param name="vector">A query of length <see cref="Dimension"/>.</param>
        /// <param name="count">How many neighbours, at least 1; at most <see cref="Count"/> are returned.</param>
        /// <exception cref="ArgumentException">The vector's length is not <see cref="Dimension"/>, or it contains NaN or infinity.</exception>
        public IReadOnlyList<Neighbor> MostSimilar(ReadOnlySpan<float> vector, int count)
        {
            CheckCount(count);
            if (vector.Length != Dimension)
                throw new ArgumentException($"The query vector has {vector.Length} values; this table's Dimension is {Dimension}.", nameof(vector));
            if (!VectorMath.AllFinite(vector))
                throw new ArgumentException("The query vector contains NaN or infinity.", nameof(vector));
            var index = Volatile.Read(ref _attachedIndex);
            if (index is not null)
                return index.SearchCore(vector, count, excludedRow: -1);
            return Searcher.Search(vector, count, excludedRow: -1);
        }

        /// <summary>
        /// The <paramref name="count"/> keys most similar to <paramref name="key"/> by cosine similarity among the rows
        /// <paramref name="filter"/> admits (an allow-list, a deny-list, a predicate: <see cref="NeighborFilter"/>), best
        /// first, the key itself excluded. Exact, or through the attached approximate index, which filters inside its search
        /// and falls back to exact search when few rows are admitted (docs/nearest-neighbours.md). A filter that leaves
        /// fewer than <paramref name="count"/> rows returns them all.
        /// </summary>
        /// <exception cref="KeyNotFoundException">The key is not in the table.</exception>
        /// <exception cref="ArgumentException">The filter was made for another table.</exception>
        public IReadOnlyList<Neighbor> MostSimilar(string key, int count, NeighborFilter filter)
        {
            CheckCount(count);
            ArgumentNullException.ThrowIfNull(filter);
            int row = key is null ? -1 : IndexOf(key);
            if (row < 0)
                throw new KeyNotFoundException($"Key '{key}' is not in the embedding table ({Count} keys); MostSimilar(vector, count, filter) accepts any vector.");
            return MostSimilar(_rows.Row(row), count, filter.ExcludingRows([row]));
        }

        /// <summary>
        /// The <paramref name="count"/> keys most similar to <paramref name="vector"/> by cosine similarity among the rows
        /// <paramref name="filter"/> admits, best first (see <see cref="MostSimilar(string, int, NeighborFilter)"/>).
        /// </summary>
        /// <exception cref="ArgumentException">The vector's length is not <see cref="Dimension"/>, it contains NaN or infinity, or the filter was made for another table.</exception>
        public IReadOnlyList<Neighbor> MostSimilar(ReadOnlySpan<float> vector, int count, NeighborFilter filter)
        {
            CheckCount(count);
            ArgumentNullException.ThrowIfNull(filter);
            if (vector.Length != Dimension)
                throw new ArgumentException($"The query vector has {vector.Length} values; this table's Dimension is {Dimension}.", nameof(vector));
            if (!VectorMath.AllFinite(vector))
                throw new ArgumentException("The query vector contains NaN or infinity.", nameof(vector));
            if (!ReferenceEquals(filter.Table, this))
                throw new ArgumentException("The filter was made for another table; make it with NeighborFilter.For(thisTable).", nameof(filter));
            var index = Volatile.Read(ref _attachedIndex);
            if (index is not null)
                return index.Search(vector, count, filter);
            return Searcher.Search(vector, count, excludedRow: -1, filter);
        }

        /// <summary>
        /// Makes <see cref="MostSimilar(string, int)"/> and <see cref="MostSimilar(ReadOnlySpan{float}, int)"/> answer from
        /// an approximate <paramref name="index"/> (built from this table, by cosine) instead of exact search; null detaches it.
        /// </summary>
        /// <exception cref="ArgumentException">The index was built from another table, or not by cosine.</exception>
        public void AttachIndex(HnswNeighborIndex? index)
        {
            if (index is not null && (!ReferenceEquals(index.Table, this) || index.Metric != SimilarityMetric.Cosine))
                throw new ArgumentException($"The index must be built from this table with SimilarityMetric.Cosine; it was built from {(ReferenceEquals(index.Table, this) ? "this table" : "another table")} with {index.Metric}.", nameof(index));
            Volatile.Write(ref _attachedIndex, index);
        }

        /// <summary>The approximate index that <c>MostSimilar</c> uses, or null (exact search).</summary>
        public HnswNeighborIndex? AttachedIndex => Volatile.Read(ref _attachedIndex);

        /// <summary>Cosine similarity of the vectors of two keys, in [-1, 1]; 0 when either vector is all zeros.</summary>
        /// <exception cref="KeyNotFoundException">Either key is not in the table.</exception>
        public float Similarity(string a, string b)
        {
            int rowA = RequireRow(a, nameof(a));
            int rowB = RequireRow(b, nameof(b));
            float[] inverse = InverseNorms;
            return VectorMath.ClampCosine(VectorMath.Dot(_rows.Row(rowA), _rows.Row(rowB)) * inverse[rowA] * inverse[rowB]);
        }

        /// <summary>
        /// Writes the table in the word2vec text format (<paramref name="binary"/> false) or binary format (true), as
        /// gensim's <c>KeyedVectors.save_word2vec_format</c> and the word2vec tool read them. The file is written to a
        /// temporary name and moved into place, so a failed save leaves no partial file.
        /// </summary>
        /// <param name="path">Destination file; replaced if it exists.</param>
        /// <param name="binary">False (default) for text, true for binary.</param>
        /// <exception cref="InvalidOperationException">A key contains white space or a control character, or a lone surrogate,
        /// which neither format can represent, or (binary) takes more than 65,536 bytes in UTF-8; nothing is written.</exception>
        public void SaveWord2VecFormat(string path, bool binary = false) => Word2VecFormat.Save(this, path, binary);

        /// <summary>
        /// Reads a word2vec text or binary file (the format is detected from the first records, as
        /// <see cref="Word2VecFileFormat.Detect"/> says), as written by gensim's <c>save_word2vec_format</c> or the
        /// word2vec tool. A UTF-8 byte order mark at the start is skipped. Nothing is returned unless the whole file is
        /// valid, and nothing is allocated for the header's count and dimension unless the file is long enough to hold them.
        /// </summary>
        /// <exception cref="FormatException">The file is malformed; the message names the line (text) or byte offset (binary),
        /// or, for a header the file cannot hold, the header's values and the file's length.</exception>
        public static EmbeddingTable LoadWord2VecFormat(string path) => Word2VecFormat.Load(path, Word2VecFileFormat.Detect);

        /// <summary>Reads a word2vec file in the given <paramref name="format"/>; see <see cref="LoadWord2VecFormat(string)"/>.</summary>
        public static EmbeddingTable LoadWord2VecFormat(string path, Word2VecFileFormat format) => Word2VecFormat.Load(path, format);

        /// <summary>
        /// Writes the table to <paramref name="stream"/> in this library's compact binary form (keys, then raw
        /// little-endian float32 rows), as used inside saved ML.NET models. Read it back with <see cref="Load(Stream)"/>.
        /// </summary>
        /// <exception cref="InvalidOperationException">A key holds a lone surrogate (it is not Unicode text).</exception>
        public void Save(Stream stream)
        {
            ArgumentNullException.ThrowIfNull(stream);
            using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            Save(writer);
        }

        /// <summary>Reads a table written by <see cref="Save(Stream)"/>; see <see cref="Load(BinaryReader)"/>.</summary>
        /// <exception cref="FormatException">The stream does not hold a table in this form, is damaged, or ends early.</exception>
        public static EmbeddingTable Load(Stream stream)
        {
            ArgumentNullException.ThrowIfNull(stream);
            using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
            return Load(reader);
        }

        private const int NativeFormatMagic = 0x54424D45; // "EMBT"
        private const int NativeFormatVersion = 1;

        /// <summary>
        /// Writes the table with <paramref name="writer"/> in the form of <see cref="Save(Stream)"/> (for example inside a
        /// transformer's saved state): the marker "EMBT", the format version 1, the count and the dimension (Int32 each),
        /// every key as a 7-bit encoded byte length and its UTF-8 bytes (as <see cref="BinaryWriter.Write(string)"/> with
        /// UTF-8 writes it), then the rows as raw little-endian float32 values. The form has no checksum: inside a saved
        /// model the zip entry's CRC-32 detects damaged bytes.
        /// </summary>
        /// <exception cref="InvalidOperationException">A key is not valid Unicode text (it holds a lone surrogate), which UTF-8 cannot represent.</exception>
        public void Save(BinaryWriter writer)
        {
            ArgumentNullException.ThrowIfNull(writer);
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("Embedding tables are stored little-endian; this machine is big-endian.");
            for (int i = 0; i < _keys.Length; i++)
                KeyText.ThrowIfNotUtf8(_keys[i], i, "the embedding table's form inside saved models");
            writer.Write(NativeFormatMagic);
            writer.Write(NativeFormatVersion);
            writer.Write(Count);
            writer.Write(Dimension);
            foreach (string key in _keys)
            {
                writer.Write7BitEncodedInt(KeyText.StrictUtf8.GetByteCount(key));
                writer.Write(KeyText.StrictUtf8.GetBytes(key));
            }
            for (int c = 0; c < _rows.ChunkCount; c++)
                writer.Write(MemoryMarshal.AsBytes<float>(_rows.Chunk(c)));
        }

        /// <summary>
        /// Writes the table to the file <paramref name="path"/> in the form of <see cref="Save(Stream)"/>, under a temporary
        /// name moved into place when complete (a failed save leaves no partial file). Such a file can be read back whole
        /// with <see cref="Load(Stream)"/> or opened without loading its vectors with <see cref="OpenMemoryMapped"/>.
        /// </summary>
        /// <param name="path">Destination file; replaced if it exists.</param>
        /// <exception cref="InvalidOperationException">A key is not valid Unicode text (it holds a lone surrogate); nothing is written.</exception>
        public void Save(string path)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            for (int i = 0; i < _keys.Length; i++)
                KeyText.ThrowIfNotUtf8(_keys[i], i, "the embedding table's binary form");
            AtomicFile.Write(path, stream => Save(stream));
        }

        /// <summary>
        /// Writes a table file in the form of <see cref="Save(Stream)"/> row by row, without holding the table in memory:
        /// the keys first, then <paramref name="fillRow"/> is called once per row in order (row index, destination of
        /// <paramref name="dimension"/> floats to fill). For tables larger than memory, assembled from parts (such as the
        /// partitions of partitioned training); open the result with <see cref="OpenMemoryMapped"/>. The file is written
        /// under a temporary name and moved into place only when complete.
        /// </summary>
        /// <param name="path">Destination file; replaced if it exists.</param>
        /// <param name="keys">Distinct, non-empty keys, one per row, in row order.</param>
        /// <param name="dimension">Length of each row, 1 to 268,435,456.</param>
        /// <param name="fillRow">Fills the row of the given index (the destination starts as zeros); every value must be finite.</param>
        /// <exception cref="ArgumentException">A key is null, empty or repeated, or a row holds NaN or infinity; nothing is written.</exception>
        /// <exception cref="InvalidOperationException">A key is not valid Unicode text; nothing is written.</exception>
        public static void SaveRows(string path, IReadOnlyList<string> keys, int dimension, Action<int, Span<float>> fillRow)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            ArgumentNullException.ThrowIfNull(keys);
            ArgumentNullException.ThrowIfNull(fillRow);
            if (dimension < 1 || dimension > RowStore.MaxDimension)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"dimension must be in [1, {RowStore.MaxDimension}].");
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("Embedding tables are stored little-endian; this machine is big-endian.");
            var seen = new HashSet<string>(keys.Count, StringComparer.Ordinal);
            for (int i = 0; i < keys.Count; i++)
            {
                string key = keys[i];
                if (string.IsNullOrEmpty(key))
                    throw new ArgumentException($"Key {i} is {(key is null ? "null" : "empty")}; every key must be a non-empty string.", nameof(keys));
                if (!seen.Add(key))
                    throw new ArgumentException($"Key '{key}' appears twice; keys must be distinct.", nameof(keys));
                KeyText.ThrowIfNotUtf8(key, i, "the embedding table's binary form");
            }
            seen = null;
            AtomicFile.Write(path, stream =>
            {
                using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                writer.Write(NativeFormatMagic);
                writer.Write(NativeFormatVersion);
                writer.Write(keys.Count);
                writer.Write(dimension);
                foreach (string key in keys)
                {
                    writer.Write7BitEncodedInt(KeyText.StrictUtf8.GetByteCount(key));
                    writer.Write(KeyText.StrictUtf8.GetBytes(key));
                }
                var row = new float[dimension];
                for (int i = 0; i < keys.Count; i++)
                {
                    Array.Clear(row);
                    fillRow(i, row);
                    if (!VectorMath.AllFinite(row))
                        throw new ArgumentException($"The vector of key '{keys[i]}' (row {i}) contains NaN or infinity; every value must be finite.", nameof(fillRow));
                    writer.Write(MemoryMarshal.AsBytes<float>(row));
                }
            });
        }

        /// <summary>
        /// Opens a table file written by <see cref="Save(string)"/>, <see cref="Save(Stream)"/> (from its first byte) or
        /// <see cref="SaveRows"/> without loading its vectors: the keys are read into memory, the vectors are served from a
        /// read-only memory mapping of the file, whose pages the operating system reads when they are first touched and may
        /// drop again under memory pressure. <see cref="TryGetVector"/>, <see cref="Row"/> and <see cref="MostSimilar(string, int)"/>
        /// answer exactly as for the table loaded whole. The file is read once, sequentially, to check that every value is
        /// finite (without keeping it in memory).
        /// </summary>
        /// <remarks>
        /// The mapping is released when the table is garbage collected. Spans returned by <see cref="Row"/> point into it:
        /// keep the table reachable while using them. On Linux and macOS the file may be replaced or deleted while the table
        /// is open (the mapping keeps the old contents); it must not be truncated or rewritten in place.
        /// </remarks>
        /// <param name="path">The table file.</param>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="FormatException">The file does not hold a table in this form, is damaged or truncated; the message says how.</exception>
        public static EmbeddingTable OpenMemoryMapped(string path)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("Embedding tables are stored little-endian; this machine is big-endian.");
            string[] keys;
            int dimension;
            long rowsOffset;
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1 << 20))
            {
                using var reader = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
                try
                {
                    keys = ReadHeaderAndKeys(reader, out dimension);
                }
                catch (EndOfStreamException e)
                {
                    throw new FormatException($"'{path}': the embedding table ends early: the file is truncated ({e.Message})", e);
                }
                catch (FormatException e)
                {
                    throw new FormatException($"'{path}': {e.Message}", e);
                }
                rowsOffset = stream.Position;
                long needed = (long)keys.Length * dimension * sizeof(float);
                if (stream.Length - rowsOffset < needed)
                    throw new FormatException($"'{path}': the embedding table is truncated: {keys.Length} rows of {dimension} values need {needed} bytes after the keys, but the file has {stream.Length - rowsOffset}.");
                CheckFiniteRows(stream, keys, dimension, path);
            }
            var mapping = MappedRows.Open(path);
            if (mapping.Length < rowsOffset + (long)keys.Length * dimension * sizeof(float))
                throw new FormatException($"'{path}' became shorter while it was opened; it is being rewritten.");
            var rows = RowStore.Mapped(mapping, rowsOffset, keys.Length, dimension);
            try
            {
                return new EmbeddingTable(keys, rows, checkValues: false);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"'{path}': the embedding table is damaged: {e.Message}", e);
            }
        }

        /// <summary>True when the vectors are served from a memory-mapped file (<see cref="OpenMemoryMapped"/>) rather than held in memory.</summary>
        public bool IsMemoryMapped => _rows.IsMapped;

        /// <summary>Reads the rows that follow the keys in buffered blocks, failing on the first value that is not finite.</summary>
        private static void CheckFiniteRows(Stream stream, string[] keys, int dimension, string path)
        {
            var buffer = new float[Math.Max(dimension, (1 << 18) / dimension * dimension)];
            long rowsLeft = keys.Length;
            long row = 0;
            while (rowsLeft > 0)
            {
                int rows = (int)Math.Min(rowsLeft, buffer.Length / dimension);
                var bytes = MemoryMarshal.AsBytes(buffer.AsSpan(0, rows * dimension));
                stream.ReadExactly(bytes);
                for (int r = 0; r < rows; r++)
                {
                    if (!VectorMath.AllFinite(buffer.AsSpan(r * dimension, dimension)))
                        throw new FormatException($"'{path}': the embedding table is damaged: the vector of key '{keys[row + r]}' (row {row + r}) contains NaN or infinity.");
                }
                row += rows;
                rowsLeft -= rows;
            }
        }

        /// <summary>Reads a table written by <see cref="Save(BinaryWriter)"/> or <see cref="Save(Stream)"/>.</summary>
        /// <remarks>
        /// What the data says is checked against what it holds before anything is allocated for it: when the stream can
        /// seek, the count and dimension must fit in the bytes that remain (at least 2 bytes per key and 4 per value);
        /// otherwise keys and rows are allocated as their bytes arrive, so a damaged count fails at the end of the data,
        /// not in a huge allocation. Keys must be non-empty, distinct and valid UTF-8, and every value finite. Only the
        /// table's own bytes are read; the stream may go on after them.
        /// </remarks>
        /// <exception cref="FormatException">The data does not hold a table in this form, is damaged, or ends early.</exception>
        public static EmbeddingTable Load(BinaryReader reader)
        {
            ArgumentNullException.ThrowIfNull(reader);
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("Embedding tables are stored little-endian; this machine is big-endian.");
            Stream stream = reader.BaseStream;
            try
            {
                var keys = ReadHeaderAndKeys(reader, out int dimension);
                long remaining = BinaryState.RemainingBytes(stream);
                var rows = RowStore.Read(stream, keys.Length, dimension, lengthChecked: remaining >= 0);
                try
                {
                    return new EmbeddingTable(keys, rows);
                }
                catch (ArgumentException e)
                {
                    throw new FormatException($"The embedding table is damaged: {e.Message}", e);
                }
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"The embedding table ends early: the stream is truncated ({e.Message})", e);
            }
        }

        /// <summary>
        /// Reads the marker, version, count, dimension and keys of the binary form, leaving the stream at the first row.
        /// A count the stream cannot back fails before anything is allocated for it (see <see cref="Load(BinaryReader)"/>).
        /// </summary>
        private static string[] ReadHeaderAndKeys(BinaryReader reader, out int dimension)
        {
            Stream stream = reader.BaseStream;
            int magic = reader.ReadInt32();
            if (magic != NativeFormatMagic)
                throw new FormatException($"Not an embedding table: expected the marker 0x{NativeFormatMagic:X8}, found 0x{magic:X8}.");
            int version = reader.ReadInt32();
            if (version != NativeFormatVersion)
                throw new FormatException($"Embedding table format version {version} is not supported; this library reads version {NativeFormatVersion}.");
            int count = reader.ReadInt32();
            dimension = reader.ReadInt32();
            if (count < 0 || dimension <= 0)
                throw new FormatException($"Invalid embedding table header: count {count}, dimension {dimension}.");
            if (dimension > RowStore.MaxDimension)
                throw new FormatException($"Invalid embedding table header: dimension {dimension} is larger than any table this library writes (at most {RowStore.MaxDimension}); the data is damaged.");
            long remaining = BinaryState.RemainingBytes(stream);
            long needed = (long)count * (2 + 4L * dimension);
            if (remaining >= 0 && needed > remaining)
                throw new FormatException($"Invalid embedding table header: {count} keys of dimension {dimension} take at least {needed} bytes (2 or more per key, 4 per value), but only {remaining} bytes remain; the data is damaged or truncated.");
            var keys = remaining >= 0 ? new string[count] : null;
            var grownKeys = remaining >= 0 ? null : new List<string>(Math.Min(count, 1024));
            byte[] buffer = new byte[256];
            for (int i = 0; i < count; i++)
            {
                int length = reader.Read7BitEncodedInt();
                if (length <= 0)
                    throw new FormatException($"Key {i} of the embedding table has length {length}; keys are non-empty: the data is damaged.");
                if (remaining >= 0 && length > BinaryState.RemainingBytes(stream))
                    throw new FormatException($"Key {i} of the embedding table has length {length}, but only {BinaryState.RemainingBytes(stream)} bytes remain; the data is damaged or truncated.");
                string key = ReadUtf8(stream, length, ref buffer) ?? throw new FormatException($"Key {i} of the embedding table is not valid UTF-8: the data is damaged.");
                if (keys is not null)
                    keys[i] = key;
                else
                    grownKeys!.Add(key);
            }
            return keys ?? grownKeys!.ToArray();
        }

        /// <summary>Reads <paramref name="length"/> bytes as strict UTF-8 (null when invalid), growing <paramref name="buffer"/> only as bytes arrive.</summary>
        private static string? ReadUtf8(Stream stream, int length, ref byte[] buffer)
        {
            int filled = 0;
            while (filled < length)
            {
                if (filled == buffer.Length)
                    Array.Resize(ref buffer, (int)Math.Min(length, 2L * buffer.Length));
                int got = stream.Read(buffer, filled, Math.Min(buffer.Length, length) - filled);
                if (got == 0)
                    throw new EndOfStreamException($"The stream ends inside a key of {length} bytes.");
                filled += got;
            }
            try
            {
                return KeyText.StrictUtf8.GetString(buffer, 0, length);
            }
            catch (DecoderFallbackException)
            {
                return null;
            }
        }

        /// <summary>Exact top-k search over this table's rows (created on first use).</summary>
        internal ExactSearch Searcher => Volatile.Read(ref _cosineSearch) ?? Interlocked.CompareExchange(ref _cosineSearch, new ExactSearch(this, SimilarityMetric.Cosine), null) ?? _cosineSearch!;

        /// <summary>|row|^2 of every row (computed on first use).</summary>
        internal float[] SquaredNorms
        {
            get
            {
                float[]? squares = Volatile.Read(ref _squaredNorms);
                if (squares is null)
                {
                    squares = new float[Count];
                    for (int i = 0; i < squares.Length; i++)
                        squares[i] = VectorMath.Dot(_rows.Row(i), _rows.Row(i));
                    squares = Interlocked.CompareExchange(ref _squaredNorms, squares, null) ?? squares;
                }
                return squares;
            }
        }

        /// <summary>1 / |row| of every row, 0 for zero rows (computed on first use).</summary>
        internal float[] InverseNorms
        {
            get
            {
                float[]? norms = Volatile.Read(ref _inverseNorms);
                if (norms is null)
                {
                    norms = new float[Count];
                    for (int i = 0; i < norms.Length; i++)
                    {
                        float n = VectorMath.Norm(_rows.Row(i));
                        norms[i] = n > 0 ? 1f / n : 0f;
                    }
                    norms = Interlocked.CompareExchange(ref _inverseNorms, norms, null) ?? norms;
                }
                return norms;
            }
        }

        private int RequireRow(string key, string parameterName)
        {
            int row = key is null ? -1 : IndexOf(key);
            if (row < 0)
                throw new KeyNotFoundException($"Key '{key}' ({parameterName}) is not in the embedding table ({Count} keys).");
            return row;
        }

        private static void CheckCount(int count)
        {
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1.");
        }

        private static string[] CopyKeys(IReadOnlyList<string> keys)
        {
            ArgumentNullException.ThrowIfNull(keys);
            var copy = new string[keys.Count];
            for (int i = 0; i < copy.Length; i++)
                copy[i] = keys[i];
            return copy;
        }

        private static RowStore CopyRows(IReadOnlyList<string> keys, ReadOnlySpan<float> vectors, int dimension)
        {
            if (dimension <= 0)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be at least 1.");
            if ((long)keys.Count * dimension != vectors.Length)
                throw new ArgumentException($"{keys.Count} keys x dimension {dimension} = {(long)keys.Count * dimension} values expected; got {vectors.Length}.", nameof(vectors));
            var rows = new RowStore(keys.Count, dimension);
            for (int i = 0; i < keys.Count; i++)
                vectors.Slice(i * dimension, dimension).CopyTo(rows.Row(i));
            return rows;
        }
    }
}
