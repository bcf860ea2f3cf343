using System;
using System.Collections.Generic;

namespace Embeddings
{
    /// <summary>
    /// Writable rows for an <see cref="EmbeddingTable"/> that may be larger than one .NET array (more than 2^31 floats):
    /// fill the rows (from several threads if you like: rows are independent), then <see cref="Build"/> the immutable
    /// table without copying. Trainers write their weights here.
    /// </summary>
    public sealed class EmbeddingTableBuilder
    {
        private RowStore? _rows;

        /// <summary>Creates <paramref name="count"/> rows of <paramref name="dimension"/> zeros.</summary>
        /// <param name="count">Number of rows, zero or more.</param>
        /// <param name="dimension">Length of each row, at least 1.</param>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is negative or <paramref name="dimension"/> is less than 1.</exception>
        public EmbeddingTableBuilder(int count, int dimension)
        {
            if (count < 0)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be zero or more.");
            if (dimension < 1)
                throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "dimension must be at least 1.");
            _rows = new RowStore(count, dimension);
            Count = count;
            Dimension = dimension;
        }

        /// <summary>Number of rows.</summary>
        public int Count { get; }

        /// <summary>Length of each row.</summary>
        public int Dimension { get; }

        /// <summary>Row <paramref name="index"/>, writable until <see cref="Build"/> is called.</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is outside [0, <see cref="Count"/>).</exception>
        /// <exception cref="InvalidOperationException">The table has been built.</exception>
        public Span<float> Row(int index) => (_rows ?? throw Built()).Row(index);

        /// <summary>
        /// Creates the table with <paramref name="keys"/> for the rows, in order, without copying the rows; the builder
        /// can't be used afterwards, so the table stays immutable.
        /// </summary>
        /// <param name="keys">Distinct, non-empty keys, one per row.</param>
        /// <exception cref="ArgumentException">A key is null, empty or repeated, the count differs from <see cref="Count"/>, or a value is not finite.</exception>
        /// <exception cref="InvalidOperationException">The table has been built already.</exception>
        public EmbeddingTable Build(IReadOnlyList<string> keys)
        {
            ArgumentNullException.ThrowIfNull(keys);
            var rows = _rows ?? throw Built();
            var keyArray = new string[keys.Count];
            for (int i = 0; i < keyArray.Length; i++)
                keyArray[i] = keys[i];
            var table = new EmbeddingTable(keyArray, rows);
            _rows = null;
            return table;
        }

        private static InvalidOperationException Built() =>
            new("The table has been built from these rows; create a new EmbeddingTableBuilder to build another.");
    }
}
