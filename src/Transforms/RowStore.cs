using System;

namespace Embeddings
{
    /// <summary>
    /// Dense float32 rows of one width, kept in chunks of whole rows so that a table may hold more than 2^31 floats
    /// (one .NET array cannot). A chunk holds a power of two of rows, so row <c>i</c> is found by a shift and a mask
    /// (this is on the training hot path). Rows are mutable here; <see cref="EmbeddingTable"/> exposes them read-only.
    /// </summary>
    internal sealed class RowStore
    {
        /// <summary>Largest chunk, in floats (1 GiB); tests pass smaller values to exercise several chunks.</summary>
        public const int DefaultMaxChunkFloats = 1 << 28;

        private readonly float[][] _chunks;
        private readonly int _chunkShift;
        private readonly int _rowMask;

        public RowStore(int rowCount, int dimension, int maxChunkFloats = DefaultMaxChunkFloats)
        {
            if (rowCount < 0)
                throw new ArgumentOutOfRangeException(nameof(rowCount), rowCount, "Row count must be zero or more.");
            if (dimension <= 0)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "Dimension must be at least 1.");
            if (maxChunkFloats < dimension)
                throw new ArgumentOutOfRangeException(nameof(maxChunkFloats), maxChunkFloats, $"A chunk must hold at least one row of {dimension} floats.");

            RowCount = rowCount;
            Dimension = dimension;
            _chunkShift = 31 - int.LeadingZeroCount(maxChunkFloats / dimension);
            _rowMask = (1 << _chunkShift) - 1;
            RowsPerChunk = 1 << _chunkShift;
            int chunkCount = rowCount == 0 ? 0 : (int)(((long)rowCount + RowsPerChunk - 1) / RowsPerChunk);
            _chunks = new float[chunkCount][];
            for (int c = 0; c < chunkCount; c++)
            {
                long rowsHere = Math.Min(RowsPerChunk, (long)rowCount - (long)c * RowsPerChunk);
                _chunks[c] = new float[rowsHere * dimension];
            }
        }

        public int RowCount { get; }

        public int Dimension { get; }

        public int RowsPerChunk { get; }

        public Span<float> Row(int index)
        {
            if ((uint)index >= (uint)RowCount)
                throw new ArgumentOutOfRangeException(nameof(index), index, $"Row index must be in [0, {RowCount}).");
            return _chunks[index >> _chunkShift].AsSpan((index & _rowMask) * Dimension, Dimension);
        }

        /// <summary>The chunk that holds rows <c>[chunk * RowsPerChunk, ...)</c>, as one span.</summary>
        public Span<float> Chunk(int chunk) => _chunks[chunk];

        public int ChunkCount => _chunks.Length;
    }
}
