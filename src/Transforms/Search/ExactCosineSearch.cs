using System;
using System.Threading.Tasks;
using Embeddings.Kernels;

namespace Embeddings.Search
{
    /// <summary>
    /// Exact top-k by cosine over the rows of a <see cref="RowStore"/>: a scan of dot products against the unit query,
    /// scaled by each row's precomputed inverse norm, with one heap per partition of rows and a final merge.
    /// </summary>
    internal static class ExactCosineSearch
    {
        /// <summary>Below this many floats a query runs on one thread: splitting costs more than it saves.</summary>
        private const long ParallelThresholdFloats = 1L << 20;

        public static Neighbor[] Search(RowStore rows, float[] inverseNorms, string[] keys, ReadOnlySpan<float> query, int count, int excludedRow)
        {
            int available = rows.RowCount - (excludedRow >= 0 ? 1 : 0);
            int k = Math.Min(count, available);
            if (k <= 0)
                return Array.Empty<Neighbor>();

            float queryNorm = VectorMath.Norm(query);
            float[] unitQuery = query.ToArray();
            if (queryNorm > 0)
                VectorMath.Scale(1f / queryNorm, unitQuery);

            int partitions = rows.FloatCount < ParallelThresholdFloats ? 1 : Math.Min(Environment.ProcessorCount, 64);
            var heaps = new TopKHeap[partitions];
            if (partitions == 1)
            {
                heaps[0] = new TopKHeap(k, keys);
                Scan(rows, inverseNorms, unitQuery, 0, rows.RowCount, excludedRow, heaps[0]);
            }
            else
            {
                int rowsPerPartition = (rows.RowCount + partitions - 1) / partitions;
                Parallel.For(0, partitions, p =>
                {
                    int start = p * rowsPerPartition;
                    int end = Math.Min(rows.RowCount, start + rowsPerPartition);
                    var heap = new TopKHeap(k, keys);
                    if (start < end)
                        Scan(rows, inverseNorms, unitQuery, start, end, excludedRow, heap);
                    heaps[p] = heap;
                });
            }

            var merged = heaps[0];
            var scores = new float[k];
            var found = new int[k];
            for (int p = 1; p < partitions; p++)
            {
                int n = heaps[p].Drain(scores, found);
                for (int i = 0; i < n; i++)
                    merged.Offer(scores[i], found[i]);
            }
            int total = merged.Drain(scores, found);
            var result = new Neighbor[total];
            for (int i = 0; i < total; i++)
                result[i] = new Neighbor(keys[found[i]], scores[i]);
            return result;
        }

        private static void Scan(RowStore rows, float[] inverseNorms, float[] unitQuery, int start, int end, int excludedRow, TopKHeap heap)
        {
            ReadOnlySpan<float> q = unitQuery;
            for (int row = start; row < end; row++)
            {
                if (row == excludedRow)
                    continue;
                float score = VectorMath.Dot(q, rows.Row(row)) * inverseNorms[row];
                if (score >= heap.Threshold)
                    heap.Offer(score, row);
            }
        }
    }
}
