using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// An immutable sparse item x item count matrix in compressed rows (columns sorted within each row, long offsets):
    /// first-order transitions (item a directly followed by item b) or windowed co-occurrences.
    /// </summary>
    internal sealed class SparseCounts
    {
        private readonly long[] _offsets;
        private readonly int[] _columns;
        private readonly float[] _values;

        private SparseCounts(long[] offsets, int[] columns, float[] values)
        {
            _offsets = offsets;
            _columns = columns;
            _values = values;
        }

        /// <summary>The number of rows (the matrix is square: items x items).</summary>
        public int RowCount => _offsets.Length - 1;

        /// <summary>The number of stored (non-zero) entries.</summary>
        public long Count => _columns.Length;

        /// <summary>The count of (row, column), 0 when absent.</summary>
        public float Get(int row, int column)
        {
            if ((uint)row >= (uint)RowCount)
                return 0;
            long begin = _offsets[row];
            int length = (int)(_offsets[row + 1] - begin);
            int at = _columns.AsSpan((int)begin, length).BinarySearch(column);
            return at >= 0 ? _values[begin + at] : 0;
        }

        /// <summary>Adds <paramref name="scale"/> x row <paramref name="row"/> into the dense <paramref name="destination"/>.</summary>
        public void AddRow(int row, float scale, Span<float> destination)
        {
            if ((uint)row >= (uint)RowCount)
                return;
            for (long k = _offsets[row]; k < _offsets[row + 1]; k++)
                destination[_columns[k]] += scale * _values[k];
        }

        /// <summary>Sums the (row, column) pairs added to a builder; pairs need not be sorted or distinct.</summary>
        public sealed class Builder
        {
            private readonly int _size;
            private readonly Dictionary<long, float> _cells = new();

            /// <summary>A builder of a <paramref name="size"/> x <paramref name="size"/> matrix.</summary>
            public Builder(int size) => _size = size;

            /// <summary>Adds <paramref name="amount"/> to (<paramref name="row"/>, <paramref name="column"/>).</summary>
            public void Add(int row, int column, float amount = 1)
            {
                long cell = (long)row * _size + column;
                _cells[cell] = _cells.GetValueOrDefault(cell) + amount;
            }

            /// <summary>The summed counts in compressed rows.</summary>
            public SparseCounts Build()
            {
                var cells = new long[_cells.Count];
                _cells.Keys.CopyTo(cells, 0);
                Array.Sort(cells);
                var offsets = new long[_size + 1];
                var columns = new int[cells.Length];
                var values = new float[cells.Length];
                for (int k = 0; k < cells.Length; k++)
                {
                    int row = (int)(cells[k] / _size);
                    columns[k] = (int)(cells[k] % _size);
                    values[k] = _cells[cells[k]];
                    offsets[row + 1]++;
                }
                for (int r = 0; r < _size; r++)
                    offsets[r + 1] += offsets[r];
                return new SparseCounts(offsets, columns, values);
            }
        }

        /// <summary>Writes the row count, the entry count, the row offsets, the columns and the values.</summary>
        public void Write(BinaryWriter writer)
        {
            writer.Write(RowCount);
            writer.Write(_columns.LongLength);
            BinaryState.Write<long>(writer, _offsets);
            BinaryState.Write<int>(writer, _columns);
            BinaryState.Write<float>(writer, _values);
        }

        /// <summary>Reads what <see cref="Write"/> wrote.</summary>
        /// <exception cref="FormatException">The sizes or offsets are invalid.</exception>
        public static SparseCounts Read(BinaryReader reader)
        {
            int rows = reader.ReadInt32();
            long count = reader.ReadInt64();
            if (rows < 0 || count < 0 || count > int.MaxValue)
                throw new FormatException($"Sparse counts: invalid size {rows} rows, {count} entries in the saved model.");
            var offsets = BinaryState.ReadArray<long>(reader, rows + 1, "count row offsets");
            var columns = BinaryState.ReadArray<int>(reader, count, "count columns");
            var values = BinaryState.ReadArray<float>(reader, count, "counts");
            if (offsets[0] != 0 || offsets[rows] != count)
                throw new FormatException("Sparse counts: the saved row offsets do not match the entry count.");
            return new SparseCounts(offsets, columns, values);
        }
    }
}
