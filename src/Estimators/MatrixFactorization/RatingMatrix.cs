using System;

namespace Embeddings.MatrixFactorization
{
    /// <summary>
    /// Training ratings as coordinate lists plus compressed rows by user and by item (CSR both ways), so an ALS half-step
    /// reads each row's entries contiguously. Offsets are <c>long</c>; user and item indices are 0-based (key - 1).
    /// Duplicate (user, item) pairs are kept as separate entries.
    /// </summary>
    internal sealed class RatingMatrix
    {
        private RatingMatrix(int users, int items, int[] userOf, int[] itemOf, float[] values)
        {
            UserCount = users;
            ItemCount = items;
            UserOf = userOf;
            ItemOf = itemOf;
            Values = values;
            ByUser = CompressedRows.Build(users, userOf, itemOf, values);
            ByItem = CompressedRows.Build(items, itemOf, userOf, values);
        }

        public int UserCount { get; }

        public int ItemCount { get; }

        public long Count => Values.LongLength;

        /// <summary>Entry e's user, item and value, in input order.</summary>
        public int[] UserOf { get; }

        public int[] ItemOf { get; }

        public float[] Values { get; }

        /// <summary>Row u: the items (columns) and values of user u.</summary>
        public CompressedRows ByUser { get; }

        /// <summary>Row i: the users and values of item i.</summary>
        public CompressedRows ByItem { get; }

        public static RatingMatrix Create(int users, int items, int[] userOf, int[] itemOf, float[] values)
        {
            if (userOf.Length != itemOf.Length || userOf.Length != values.Length)
                throw new ArgumentException("users, items and values must have the same length.");
            return new RatingMatrix(users, items, userOf, itemOf, values);
        }

        /// <summary>
        /// The same matrix with duplicate (user, item) entries merged into one whose value is their sum, in order of first
        /// occurrence (implicit feedback: a cell's strength r is the total of its events, so two events of strength 1 give
        /// confidence 1 + 2α, not twice 1 + α). Returns this instance when there are no duplicates.
        /// </summary>
        public RatingMatrix SumDuplicates()
        {
            var byUser = ByUser;
            var first = new System.Collections.Generic.Dictionary<int, int>();
            var userOf = new System.Collections.Generic.List<int>(UserOf.Length);
            var itemOf = new System.Collections.Generic.List<int>(UserOf.Length);
            var values = new System.Collections.Generic.List<float>(UserOf.Length);
            bool duplicates = false;
            for (int u = 0; u < UserCount; u++)
            {
                first.Clear();
                for (long e = byUser.Offsets[u]; e < byUser.Offsets[u + 1]; e++)
                {
                    int item = byUser.Columns[e];
                    if (first.TryGetValue(item, out int at))
                    {
                        values[at] += byUser.Values[e];
                        duplicates = true;
                        continue;
                    }
                    first[item] = values.Count;
                    userOf.Add(u);
                    itemOf.Add(item);
                    values.Add(byUser.Values[e]);
                }
            }
            return duplicates ? new RatingMatrix(UserCount, ItemCount, userOf.ToArray(), itemOf.ToArray(), values.ToArray()) : this;
        }
    }

    /// <summary>Compressed rows: row r's entries are <c>Columns[Offsets[r]..Offsets[r+1]]</c>, in input order.</summary>
    internal sealed class CompressedRows
    {
        private CompressedRows(long[] offsets, int[] columns, float[] values)
        {
            Offsets = offsets;
            Columns = columns;
            Values = values;
        }

        public long[] Offsets { get; }

        public int[] Columns { get; }

        public float[] Values { get; }

        public int RowCount => Offsets.Length - 1;

        public int Length(int row) => (int)(Offsets[row + 1] - Offsets[row]);

        public static CompressedRows Build(int rowCount, int[] rowOf, int[] columnOf, float[] values)
        {
            var offsets = new long[rowCount + 1];
            foreach (int r in rowOf)
                offsets[r + 1]++;
            for (int r = 0; r < rowCount; r++)
                offsets[r + 1] += offsets[r];
            var next = (long[])offsets.Clone();
            var columns = new int[rowOf.Length];
            var rowValues = new float[rowOf.Length];
            for (int e = 0; e < rowOf.Length; e++)
            {
                long at = next[rowOf[e]]++;
                columns[at] = columnOf[e];
                rowValues[at] = values[e];
            }
            return new CompressedRows(offsets, columns, rowValues);
        }
    }
}
