using System;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Embeddings.Kernels;

namespace Embeddings.Search
{
    /// <summary>
    /// Exact top-k over the rows of an <see cref="EmbeddingTable"/> by cosine, dot product or Euclidean distance. Every
    /// metric costs one dot product per row: cosine scales it by the row's inverse norm (the query is unit), Euclidean
    /// uses |q - r|^2 = |q|^2 - 2 q.r + |r|^2 with precomputed squared norms. One query scans the rows on all cores; a
    /// batch of queries is split into tiles of queries that share each block of rows while it is in cache.
    /// </summary>
    internal sealed class ExactSearch
    {
        /// <summary>Below this many floats a single query runs on one thread.</summary>
        private const long ParallelThresholdFloats = 1L << 20;
        private const int QueryTile = 16;
        private const int RowBlock = 1024;

        private readonly EmbeddingTable _table;
        private readonly SimilarityMetric _metric;
        private readonly float[]? _rowFactor;

        public ExactSearch(EmbeddingTable table, SimilarityMetric metric)
        {
            if (!Enum.IsDefined(metric))
                throw new ArgumentOutOfRangeException(nameof(metric), metric, $"Metric = {(int)metric} is not defined; use Cosine, DotProduct or Euclidean.");
            _table = table;
            _metric = metric;
            _rowFactor = metric switch
            {
                SimilarityMetric.Cosine => table.InverseNorms,
                SimilarityMetric.Euclidean => table.SquaredNorms,
                _ => null,
            };
        }

        public SimilarityMetric Metric => _metric;

        /// <summary>
        /// The <paramref name="count"/> best rows for one query, best first, excluding <paramref name="excludedRow"/> (or -1)
        /// and, with a <paramref name="filter"/>, the rows it does not admit (fewer than <paramref name="count"/> when fewer
        /// are admitted). An exception of the filter's predicate propagates unchanged (not wrapped).
        /// </summary>
        public Neighbor[] Search(ReadOnlySpan<float> query, int count, int excludedRow, NeighborFilter? filter = null)
        {
            int rows = _table.Count;
            int k = Math.Min(count, rows - (excludedRow >= 0 ? 1 : 0));
            if (k <= 0 || (filter is not null && filter.ListedRowCount == 0))
                return Array.Empty<Neighbor>();
            var prepared = Prepare(query, out float queryTerm);
            int partitions = (long)rows * _table.Dimension < ParallelThresholdFloats ? 1 : Math.Min(Environment.ProcessorCount, 64);
            var heaps = new TopKHeap[partitions];
            int perPartition = (rows + partitions - 1) / partitions;
            try
            {
                Parallel.For(0, partitions, new ParallelOptions { MaxDegreeOfParallelism = partitions }, p =>
                {
                    var heap = new TopKHeap(k, _table.KeyArray);
                    int start = p * perPartition, end = Math.Min(rows, start + perPartition);
                    for (int row = start; row < end; row++)
                    {
                        if (row == excludedRow || (filter is not null && !filter.Admits(row)))
                            continue;
                        float score = Score(VectorMath.Dot(prepared, _table.Row(row)), row, queryTerm);
                        if (score >= heap.Threshold)
                            heap.Offer(score, row);
                    }
                    heaps[p] = heap;
                });
            }
            catch (AggregateException e) when (filter is not null && e.InnerExceptions.Count > 0)
            {
                // A predicate failed: rethrow its own exception, as the single-threaded path does.
                ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
            }
            return Merge(heaps, k);
        }

        /// <summary>
        /// The <paramref name="count"/> best of the candidate <paramref name="rows"/> by exact score, best first (ties by
        /// key), skipping <paramref name="excludedRow"/>: the float32 re-ranking of an approximate search's candidates.
        /// </summary>
        public Neighbor[] Rerank(ReadOnlySpan<float> query, ReadOnlySpan<ulong> rows, int count, int excludedRow)
        {
            int k = Math.Min(count, rows.Length);
            if (k <= 0)
                return Array.Empty<Neighbor>();
            var prepared = Prepare(query, out float queryTerm);
            var heap = new TopKHeap(k, _table.KeyArray);
            foreach (ulong key in rows)
            {
                int row = (int)key;
                if (row == excludedRow)
                    continue;
                heap.Offer(Score(VectorMath.Dot(prepared, _table.Row(row)), row, queryTerm), row);
            }
            return Merge(new[] { heap }, k);
        }

        /// <summary>Top-<paramref name="count"/> for each row of <paramref name="queries"/> (row-major, <c>Dimension</c> wide).</summary>
        public Neighbor[][] SearchBatch(ReadOnlySpan<float> queries, int count)
        {
            int d = _table.Dimension;
            int n = queries.Length / d;
            int k = Math.Min(count, _table.Count);
            var results = new Neighbor[n][];
            if (k <= 0)
            {
                for (int i = 0; i < n; i++)
                    results[i] = Array.Empty<Neighbor>();
                return results;
            }
            var prepared = new float[(long)n * d];
            var queryTerms = new float[n];
            for (int i = 0; i < n; i++)
            {
                var p = Prepare(queries.Slice(i * d, d), out queryTerms[i]);
                p.CopyTo(prepared.AsSpan(i * d, d));
            }
            int tiles = (n + QueryTile - 1) / QueryTile;
            Parallel.For(0, tiles, tile =>
            {
                int first = tile * QueryTile, last = Math.Min(n, first + QueryTile);
                var heaps = new TopKHeap[last - first];
                for (int i = 0; i < heaps.Length; i++)
                    heaps[i] = new TopKHeap(k, _table.KeyArray);
                for (int blockStart = 0; blockStart < _table.Count; blockStart += RowBlock)
                {
                    int blockEnd = Math.Min(_table.Count, blockStart + RowBlock);
                    for (int q = first; q < last; q++)
                    {
                        ReadOnlySpan<float> query = prepared.AsSpan(q * d, d);
                        var heap = heaps[q - first];
                        for (int row = blockStart; row < blockEnd; row++)
                        {
                            float score = Score(VectorMath.Dot(query, _table.Row(row)), row, queryTerms[q]);
                            if (score >= heap.Threshold)
                                heap.Offer(score, row);
                        }
                    }
                }
                for (int q = first; q < last; q++)
                    results[q] = Merge(new[] { heaps[q - first] }, k);
            });
            return results;
        }

        private float[] Prepare(ReadOnlySpan<float> query, out float queryTerm)
        {
            var prepared = query.ToArray();
            queryTerm = 0;
            if (_metric == SimilarityMetric.Cosine)
            {
                float norm = VectorMath.Norm(prepared);
                if (norm > 0)
                    VectorMath.Scale(1 / norm, prepared);
            }
            else if (_metric == SimilarityMetric.Euclidean)
            {
                queryTerm = VectorMath.Dot(prepared, prepared);
            }
            return prepared;
        }

        private float Score(float dot, int row, float queryTerm) => _metric switch
        {
            SimilarityMetric.Cosine => VectorMath.ClampCosine(dot * _rowFactor![row]),
            SimilarityMetric.DotProduct => dot,
            _ => -MathF.Sqrt(MathF.Max(0, queryTerm - 2 * dot + _rowFactor![row])),
        };

        private Neighbor[] Merge(TopKHeap[] heaps, int k)
        {
            var merged = heaps[0];
            var scores = new float[k];
            var found = new int[k];
            for (int p = 1; p < heaps.Length; p++)
            {
                int n = heaps[p].Drain(scores, found);
                for (int i = 0; i < n; i++)
                    merged.Offer(scores[i], found[i]);
            }
            int total = merged.Drain(scores, found);
            var result = new Neighbor[total];
            for (int i = 0; i < total; i++)
                result[i] = new Neighbor(_table.KeyArray[found[i]], scores[i]);
            return result;
        }
    }
}
