using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;

namespace Embeddings
{
    /// <summary>
    /// Dense float32 rows of one width, kept in chunks of whole rows so that a table may hold more than 2^31 floats
    /// (one .NET array cannot). A chunk holds a power of two of rows, so row <c>i</c> is found by a shift and a mask
    /// (this is on the training hot path). Rows are mutable here; <see cref="EmbeddingTable"/> exposes them read-only.
    /// A store may instead serve its rows from a read-only memory-mapped file (<see cref="Mapped"/>): the rows then lie
    /// one after another from a byte offset, and chunks are ranges of them laid out as in memory.
    /// </summary>
    internal sealed class RowStore
    {
        /// <summary>Largest chunk, in floats (1 GiB); tests pass smaller values to exercise several chunks.</summary>
        public const int DefaultMaxChunkFloats = 1 << 28;

        /// <summary>The widest row a store holds: one row must fit in one chunk.</summary>
        public const int MaxDimension = DefaultMaxChunkFloats;

        /// <summary>While reading a stream of unknown length, a chunk starts at this many floats (4 MiB) and doubles as data arrives.</summary>
        private const int FirstGrowingChunkFloats = 1 << 20;

        private readonly float[][] _chunks;
        private readonly int _chunkShift;
        private readonly int _rowMask;
        private readonly MappedRows? _mapped;
        private readonly long _mappedOffset;

        public RowStore(int rowCount, int dimension, int maxChunkFloats = DefaultMaxChunkFloats)
        {
            (_chunkShift, int chunkCount) = Layout(rowCount, dimension, maxChunkFloats);
            RowCount = rowCount;
            Dimension = dimension;
            RowsPerChunk = 1 << _chunkShift;
            _rowMask = RowsPerChunk - 1;
            _chunks = new float[chunkCount][];
            for (int c = 0; c < chunkCount; c++)
                _chunks[c] = new float[RowsInChunk(c) * dimension];
        }

        /// <summary>Adopts chunks laid out as <see cref="Layout"/> says (from <see cref="Read"/>).</summary>
        private RowStore(int rowCount, int dimension, int chunkShift, float[][] chunks)
        {
            RowCount = rowCount;
            Dimension = dimension;
            _chunkShift = chunkShift;
            RowsPerChunk = 1 << chunkShift;
            _rowMask = RowsPerChunk - 1;
            _chunks = chunks;
        }

        /// <summary>
        /// Rows read from <paramref name="mapping"/>: <paramref name="rowCount"/> rows of <paramref name="dimension"/>
        /// little-endian float32 values from byte <paramref name="byteOffset"/> on. The caller has checked that the mapping
        /// holds them. The pages are mapped read-only: nothing may write to these rows (<see cref="EmbeddingTable"/> hands
        /// them out read-only).
        /// </summary>
        public static RowStore Mapped(MappedRows mapping, long byteOffset, int rowCount, int dimension)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("Rows are stored little-endian; this machine is big-endian.");
            if (byteOffset < 0 || byteOffset + (long)rowCount * dimension * sizeof(float) > mapping.Length)
                throw new ArgumentOutOfRangeException(nameof(byteOffset), byteOffset, $"{rowCount} rows of {dimension} floats from byte {byteOffset} do not fit in the {mapping.Length} mapped bytes.");
            return new RowStore(mapping, byteOffset, rowCount, dimension);
        }

        private RowStore(MappedRows mapping, long byteOffset, int rowCount, int dimension)
        {
            (_chunkShift, int chunkCount) = Layout(rowCount, dimension, DefaultMaxChunkFloats);
            RowCount = rowCount;
            Dimension = dimension;
            RowsPerChunk = 1 << _chunkShift;
            _rowMask = RowsPerChunk - 1;
            _chunks = new float[chunkCount][];
            _mapped = mapping;
            _mappedOffset = byteOffset;
        }

        /// <summary>True when the rows are served from a memory-mapped file.</summary>
        public bool IsMapped => _mapped is not null;

        /// <summary>The mapping the rows come from, or null when they are in memory.</summary>
        public MappedRows? Mapping => _mapped;

        public int RowCount { get; }

        public int Dimension { get; }

        public int RowsPerChunk { get; }

        public Span<float> Row(int index)
        {
            if ((uint)index >= (uint)RowCount)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Row index must be in [0, {RowCount}).");
            if (_mapped is not null)
                return _mapped.Floats(_mappedOffset + (long)index * Dimension * sizeof(float), Dimension);
            return _chunks[index >> _chunkShift].AsSpan((index & _rowMask) * Dimension, Dimension);
        }

        /// <summary>The chunk that holds rows <c>[chunk * RowsPerChunk, ...)</c>, as one span.</summary>
        public Span<float> Chunk(int chunk)
        {
            if (_mapped is null)
                return _chunks[chunk];
            if ((uint)chunk >= (uint)_chunks.Length)
                throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"Chunk index must be in [0, {_chunks.Length}).");
            long firstRow = (long)chunk << _chunkShift;
            int rows = (int)RowsInChunk(chunk);
            return _mapped.Floats(_mappedOffset + firstRow * Dimension * sizeof(float), rows * Dimension);
        }

        public int ChunkCount => _chunks.Length;

        /// <summary>
        /// Reads <paramref name="rowCount"/> rows of <paramref name="dimension"/> little-endian float32 values, row after
        /// row, from <paramref name="stream"/>. With <paramref name="lengthChecked"/> the caller has checked that the
        /// stream holds that many bytes, and each chunk is allocated whole. Otherwise nothing is allocated ahead of the
        /// data: a chunk is allocated when the data before it has arrived, starting at 4 MiB and doubling while it fills,
        /// so a count or dimension that the stream cannot back fails after allocating at most about twice the bytes that
        /// were really there (plus 4 MiB), never all that the count claims.
        /// </summary>
        /// <exception cref="EndOfStreamException">The stream ends first; the message says after how many values.</exception>
        public static RowStore Read(Stream stream, int rowCount, int dimension, bool lengthChecked)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("Rows are stored little-endian; this machine is big-endian.");
            (int shift, int chunkCount) = Layout(rowCount, dimension, DefaultMaxChunkFloats);
            var chunks = lengthChecked ? new List<float[]>(chunkCount) : new List<float[]>();
            long valuesRead = 0;
            for (int c = 0; c < chunkCount; c++)
            {
                int floats = (int)(Math.Min(1L << shift, rowCount - ((long)c << shift)) * dimension);
                float[] chunk = lengthChecked ? new float[floats] : new float[Math.Min(floats, FirstGrowingChunkFloats)];
                int filled = 0;
                while (true)
                {
                    var bytes = MemoryMarshal.AsBytes(chunk.AsSpan(filled));
                    int got = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
                    filled += got / sizeof(float);
                    valuesRead += got / sizeof(float);
                    if (got != bytes.Length)
                        throw new EndOfStreamException($"The stream ends after {valuesRead} of the {(long)rowCount * dimension} values ({rowCount} rows of {dimension}).");
                    if (filled == floats)
                        break;
                    Array.Resize(ref chunk, (int)Math.Min(floats, 2L * chunk.Length));
                }
                chunks.Add(chunk);
            }
            return new RowStore(rowCount, dimension, shift, chunks.ToArray());
        }

        private static (int Shift, int ChunkCount) Layout(int rowCount, int dimension, int maxChunkFloats)
        {
            if (rowCount < 0)
                throw new ArgumentOutOfRangeException(nameof(rowCount), rowCount, "Row count must be zero or more.");
            if (dimension <= 0)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "Dimension must be at least 1.");
            if (maxChunkFloats < dimension)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, $"A row of {dimension} floats is wider than a chunk ({maxChunkFloats} floats); the largest dimension is {maxChunkFloats}.");
            int shift = 31 - int.LeadingZeroCount(maxChunkFloats / dimension);
            int chunkCount = rowCount == 0 ? 0 : (int)(((long)rowCount + (1L << shift) - 1) >> shift);
            return (shift, chunkCount);
        }

        private long RowsInChunk(int chunk) => Math.Min(RowsPerChunk, (long)RowCount - (long)chunk * RowsPerChunk);
    }
}
