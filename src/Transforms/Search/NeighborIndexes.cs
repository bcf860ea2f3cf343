using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Embeddings.Infrastructure;
using Embeddings.Kernels;
using Embeddings.Search;

namespace Embeddings
{
    /// <summary>Nearest-neighbour search over the rows of an <see cref="EmbeddingTable"/>.</summary>
    public interface INearestNeighborIndex
    {
        /// <summary>The table whose keys the results name.</summary>
        EmbeddingTable Table { get; }

        /// <summary>How vectors are compared; <see cref="Neighbor.Similarity"/> is this metric's similarity (larger is closer).</summary>
        SimilarityMetric Metric { get; }

        /// <summary>The <paramref name="count"/> rows closest to <paramref name="query"/>, best first (fewer when the table is smaller).</summary>
        /// <exception cref="ArgumentException">The query's length is not the table's dimension, or it holds NaN or infinity.</exception>
        IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count);

        /// <summary>
        /// The <paramref name="count"/> rows closest to <paramref name="query"/> among those <paramref name="filter"/>
        /// admits, best first; fewer only when the filter admits fewer rows. See <see cref="NeighborFilter"/> for how
        /// allow-lists, exclusions and predicates combine, and each index for how it applies them.
        /// </summary>
        /// <exception cref="ArgumentException">The query is invalid (as for <see cref="Search(ReadOnlySpan{float}, int)"/>), or the filter is of another table.</exception>
        IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count, NeighborFilter filter);

        /// <summary>The closest rows for each query of <paramref name="queries"/> (row-major, <c>Table.Dimension</c> wide).</summary>
        IReadOnlyList<Neighbor>[] SearchBatch(ReadOnlySpan<float> queries, int count);
    }

    /// <summary>
    /// Exact top-k search: every row is scored (SIMD dot products, precomputed norms), a heap per query keeps the best;
    /// one query uses every core, a batch splits its queries across cores. Ties are ordered by key.
    /// </summary>
    public sealed class ExactNeighborIndex : INearestNeighborIndex
    {
        private readonly ExactSearch _search;

        /// <summary>Creates the index (norms are computed on first use).</summary>
        public ExactNeighborIndex(EmbeddingTable table, SimilarityMetric metric = SimilarityMetric.Cosine)
        {
            Table = table ?? throw new ArgumentNullException(nameof(table));
            _search = new ExactSearch(table, metric);
            Metric = metric;
        }

        /// <inheritdoc/>
        public EmbeddingTable Table { get; }

        /// <inheritdoc/>
        public SimilarityMetric Metric { get; }

        /// <inheritdoc/>
        public IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count)
        {
            NeighborQueries.Check(Table, query, count);
            return _search.Search(query, count, excludedRow: -1);
        }

        /// <inheritdoc/>
        /// <remarks>Scores only the admitted rows (the filter is tested on every row, on all cores).</remarks>
        public IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count, NeighborFilter filter)
        {
            NeighborQueries.Check(Table, query, count, filter);
            return _search.Search(query, count, excludedRow: -1, filter);
        }

        /// <inheritdoc/>
        public IReadOnlyList<Neighbor>[] SearchBatch(ReadOnlySpan<float> queries, int count)
        {
            NeighborQueries.CheckBatch(Table, queries, count);
            return _search.SearchBatch(queries, count);
        }
    }

    /// <summary>Settings of an HNSW index (<see cref="HnswNeighborIndex"/>).</summary>
    public sealed class HnswOptions
    {
        /// <summary>How rows are compared. Default <see cref="SimilarityMetric.Cosine"/>.</summary>
        public SimilarityMetric Metric { get; set; } = SimilarityMetric.Cosine;

        /// <summary>Links per node (HNSW's M). Default 16; 4 to 256. More links: better recall, more memory, slower build.</summary>
        public int Connectivity { get; set; } = 16;

        /// <summary>Candidates kept while inserting (efConstruction). Default 128; at least 1.</summary>
        public int ExpansionAdd { get; set; } = 128;

        /// <summary>
        /// The order in which <see cref="HnswNeighborIndex.Build"/> inserts the rows. Default
        /// <see cref="HnswInsertionOrder.Locality"/>: at 1,000,000 x 100 it takes about 40% fewer CPU seconds than table
        /// order at the same recall (docs/nearest-neighbours.md). Not saved with the index (it only shapes the build).
        /// </summary>
        public HnswInsertionOrder InsertionOrder { get; set; } = HnswInsertionOrder.Locality;

        /// <summary>Candidates kept while searching (ef). Default 64; at least 1. Raise it for recall, lower it for speed.</summary>
        public int ExpansionSearch { get; set; } = 64;

        private HnswStorage? _storage;

        /// <summary>
        /// Storage of the vectors inside the index: Float32, Float16 or Int8 (for <see cref="SimilarityMetric.Cosine"/>
        /// only: USearch scales each vector to unit length before quantizing). Default: Int8 for Cosine, Float32 for the
        /// other metrics. With Float16 or Int8 the graph is built and searched on the compact vectors (a quarter of the
        /// memory traffic with Int8, so a build with about 1.5 times fewer CPU seconds at 1,000,000 x 100), and the ef candidates each
        /// search keeps are re-ranked by the table's float32 rows, so results and similarities are exact for the
        /// candidates found (recall@10 at 1,000,000 x 100 as with Float32 storage: docs/nearest-neighbours.md).
        /// </summary>
        public HnswStorage Storage
        {
            get => _storage ?? (Metric == SimilarityMetric.Cosine ? HnswStorage.Int8 : HnswStorage.Float32);
            set => _storage = value;
        }

        /// <summary>
        /// A filtered search whose filter admits fewer than this many rows is answered by exact search over the admitted
        /// rows instead of the graph (<see cref="HnswNeighborIndex.Search(ReadOnlySpan{float}, int, NeighborFilter)"/>).
        /// Default 15,000: between where the two took equal time at ef 64 on 100,000 rows (about 12,000 admitted) and on
        /// 1,000,000 rows (about 20,000): a graph search with a filter visits about ef / (admitted fraction) nodes, the
        /// exact scan tests every row and scores the admitted ones (docs/nearest-neighbours.md). 0 leaves only the
        /// fewer-than-count fallback. Not saved with the index: pass it to <see cref="HnswNeighborIndex.Load"/>.
        /// </summary>
        public int FilteredExactRows { get; set; } = HnswNeighborIndex.DefaultFilteredExactRows;
    }

    /// <summary>The order in which an HNSW build inserts the rows of a table.</summary>
    public enum HnswInsertionOrder
    {
        /// <summary>
        /// A random tenth of the rows first (the long-range links between regions), then the others grouped by a
        /// random-hyperplane hash of their direction, so that consecutive inserts search the same part of the graph while
        /// it is in the processor's caches. A fixed function of the table.
        /// </summary>
        Locality,

        /// <summary>Row 0, 1, 2, … (interleaved over the threads): each insert starts in whatever region its row lies in.</summary>
        TableOrder,
    }

    /// <summary>How an HNSW index stores vectors.</summary>
    public enum HnswStorage
    {
        /// <summary>32-bit floats, as the table.</summary>
        Float32 = 0,

        /// <summary>16-bit floats: half the memory.</summary>
        Float16 = 1,

        /// <summary>8-bit integers: a quarter of the memory (for cosine on unit-scale vectors).</summary>
        Int8 = 2,
    }

    /// <summary>
    /// Approximate nearest neighbours by HNSW, through USearch's C API (libusearch_c 2.26, called directly; its types do
    /// not appear in this API). Build from a table, search with ef = <see cref="HnswOptions.ExpansionSearch"/>, save next
    /// to the table and load (or memory-map) it again. A query for as many neighbours as the table has rows is answered
    /// by an exact scan. Built on several threads, the graph (and so an approximate answer) can differ slightly from build
    /// to build. Searching is safe from any number of threads. Disposing releases the native index.
    /// <para>
    /// Filtered search (<see cref="Search(ReadOnlySpan{float}, int, NeighborFilter)"/>) tests the filter inside the graph
    /// traversal (USearch's <c>usearch_filtered_search</c>), not by over-fetching. It falls back to exact search over the
    /// admitted rows when the filter admits fewer than <see cref="HnswOptions.FilteredExactRows"/> rows (15,000 by default;
    /// estimated by <see cref="NeighborFilter.EstimatedAdmittedRows"/>), or when the graph search returns fewer than
    /// the requested count; so a filtered search returns <c>count</c> rows whenever the filter admits that many.
    /// </para>
    /// </summary>
    /// <exception cref="NotSupportedException">Building or loading on a platform without USearch's native library 2.26 (the Cloud.Unum.USearch package ships it for linux-x64, osx-arm64 and win-x64).</exception>
    public sealed class HnswNeighborIndex : INearestNeighborIndex, IDisposable
    {
        /// <summary>Default of <see cref="HnswOptions.FilteredExactRows"/>.</summary>
        public const int DefaultFilteredExactRows = 15_000;

        /// <summary>Result buffers up to this many neighbours live on the stack.</summary>
        private const int StackResults = 256;

        private readonly UsearchIndex _index;
        private readonly HnswOptions _options;
        private ExactSearch? _exact;

        private HnswNeighborIndex(EmbeddingTable table, UsearchIndex index, HnswOptions options)
        {
            Table = table;
            _index = index;
            _options = options;
        }

        /// <inheritdoc/>
        public EmbeddingTable Table { get; }

        /// <inheritdoc/>
        public SimilarityMetric Metric => _options.Metric;

        /// <summary>The settings the index was built (or loaded) with.</summary>
        public HnswOptions Options => _options;

        /// <summary>The SIMD target of USearch's distance kernels on this machine (for example "skylake", "haswell", "neon"; "serial" without SIMD).</summary>
        public string HardwareAcceleration => _index.HardwareAcceleration;

        /// <summary>Builds an index of every row of <paramref name="table"/>, inserting on all cores.</summary>
        /// <exception cref="ArgumentException">The table is empty or an option is out of range.</exception>
        public static HnswNeighborIndex Build(EmbeddingTable table, HnswOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(table);
            options = Validate(options ?? new HnswOptions());
            if (table.Count == 0)
                throw new ArgumentException("The table is empty: there is nothing to index.", nameof(table));
            var index = Create(table.Dimension, options);
            try
            {
                // With the capacity reserved up front, USearch inserts concurrently; rows are split across cores.
                index.Reserve(table.Count);
                int workers = UsearchIndex.Threads;
                int[]? order = options.InsertionOrder == HnswInsertionOrder.Locality ? LocalityOrder.Of(table) : null;
                Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
                {
                    for (int i = worker; i < table.Count; i += workers)
                    {
                        int row = order is null ? i : order[i];
                        index.Add((ulong)row, table.Row(row));
                    }
                });
            }
            catch (AggregateException e) when (e.InnerExceptions.Count > 0)
            {
                index.Dispose();
                ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
                throw;
            }
            catch
            {
                index.Dispose();
                throw;
            }
            return new HnswNeighborIndex(table, index, options);
        }

        /// <summary>
        /// Loads an index saved by <see cref="Save"/> for <paramref name="table"/> (the same table it was built from).
        /// With <paramref name="memoryMapped"/> the file is viewed in place instead of read into memory. The search
        /// breadth is <paramref name="options"/>' <see cref="HnswOptions.ExpansionSearch"/>; the other options must be
        /// those the index was built with (the connectivity is checked against the file; the metric decides how
        /// distances become similarities).
        /// </summary>
        /// <exception cref="InvalidOperationException">The index does not match the table (dimension or row count).</exception>
        public static HnswNeighborIndex Load(string path, EmbeddingTable table, HnswOptions options, bool memoryMapped = false)
        {
            ArgumentNullException.ThrowIfNull(table);
            options = Validate(options);
            if (!File.Exists(path))
                throw new FileNotFoundException($"The HNSW index '{path}' does not exist.", path);
            var index = UsearchIndex.Open(path, view: memoryMapped);
            try
            {
                index.SetExpansionSearch(options.ExpansionSearch);
                if (index.Dimension != table.Dimension || index.Size != table.Count)
                    throw new InvalidOperationException($"The index '{path}' has {index.Size} vectors of dimension {index.Dimension}; the table has {table.Count} of dimension {table.Dimension}. Load the index with the table it was built from.");
                if (index.Connectivity != options.Connectivity)
                    throw new InvalidOperationException($"The index '{path}' was built with Connectivity = {index.Connectivity}; the options say {options.Connectivity}. Pass the options it was built with (only ExpansionSearch and FilteredExactRows may change).");
            }
            catch
            {
                index.Dispose();
                throw;
            }
            return new HnswNeighborIndex(table, index, options);
        }

        /// <summary>Writes the index to <paramref name="path"/> (a temporary file moved into place, so a failed save leaves no partial file).</summary>
        public void Save(string path) => AtomicFile.WriteByPath(path, temporary => _index.Save(temporary));

        /// <inheritdoc/>
        public IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count)
        {
            NeighborQueries.Check(Table, query, count);
            return SearchCore(query, count, excludedRow: -1);
        }

        /// <inheritdoc/>
        /// <remarks>
        /// The filter is tested inside the graph search. Exact search over the admitted rows answers instead when the
        /// filter admits fewer than <see cref="HnswOptions.FilteredExactRows"/> rows or no more than
        /// <paramref name="count"/>, and when the graph search finds fewer than <paramref name="count"/> admitted rows.
        /// A predicate's exception is caught inside the native callback (which then admits nothing more) and rethrown here.
        /// The predicate runs inside the native search and must not search this same index.
        /// </remarks>
        public IReadOnlyList<Neighbor> Search(ReadOnlySpan<float> query, int count, NeighborFilter filter)
        {
            NeighborQueries.Check(Table, query, count, filter);
            return SearchCore(query, count, excludedRow: -1, filter);
        }

        internal Neighbor[] SearchCore(ReadOnlySpan<float> query, int count, int excludedRow, NeighborFilter? filter = null)
        {
            if (filter is not null)
                return FilteredSearchCore(query, count, excludedRow, filter);
            int wanted = Math.Min(Table.Count, count + (excludedRow >= 0 ? 1 : 0));
            if (wanted >= Table.Count)
            {
                // Asking for the whole table: a graph search may miss a few rows, the exact scan does not.
                return Exact.Search(query, count, excludedRow);
            }
            if (_index.Storage != UsearchNative.ScalarKind.Float32)
            {
                // Compact storage: take every candidate the search kept (ef) and rank them by the table's float32 rows.
                wanted = Math.Min(Table.Count, Math.Max(wanted, _options.ExpansionSearch));
            }
            Span<ulong> keys = wanted <= StackResults ? stackalloc ulong[wanted] : new ulong[wanted];
            Span<float> distances = wanted <= StackResults ? stackalloc float[wanted] : new float[wanted];
            int found = _index.Search(query, keys, distances);
            return Finish(query, keys[..found], distances[..found], count, excludedRow);
        }

        private Neighbor[] FilteredSearchCore(ReadOnlySpan<float> query, int count, int excludedRow, NeighborFilter filter)
        {
            double admitted = filter.EstimatedAdmittedRows() - (excludedRow >= 0 ? 1 : 0);
            if (admitted <= count || admitted < _options.FilteredExactRows)
                return Exact.Search(query, count, excludedRow, filter);
            int wanted = _index.Storage != UsearchNative.ScalarKind.Float32 ? Math.Max(count, _options.ExpansionSearch) : count;
            Span<ulong> keys = wanted <= StackResults ? stackalloc ulong[wanted] : new ulong[wanted];
            Span<float> distances = wanted <= StackResults ? stackalloc float[wanted] : new float[wanted];
            int found = _index.FilteredSearch(query, key => (int)key != excludedRow && filter.Admits((int)key), keys, distances);
            if (found < count)
            {
                // The graph ran out of admitted candidates within ef: the exact scan finds every admitted row.
                return Exact.Search(query, count, excludedRow, filter);
            }
            return Finish(query, keys[..found], distances[..found], count, excludedRow);
        }

        /// <summary>The search's own order and distances for float32 storage; for compact storage (as the file says, whatever the options) the candidates re-ranked exactly.</summary>
        private Neighbor[] Finish(ReadOnlySpan<float> query, ReadOnlySpan<ulong> keys, ReadOnlySpan<float> distances, int count, int excludedRow) =>
            _index.Storage == UsearchNative.ScalarKind.Float32 ? ToNeighbors(keys, distances, count, excludedRow) : Exact.Rerank(query, keys, count, excludedRow);

        private Neighbor[] ToNeighbors(ReadOnlySpan<ulong> keys, ReadOnlySpan<float> distances, int count, int excludedRow)
        {
            int n = 0;
            var result = new Neighbor[Math.Min(count, keys.Length)];
            for (int i = 0; i < keys.Length && n < result.Length; i++)
            {
                int row = (int)keys[i];
                if (row == excludedRow)
                    continue;
                result[n++] = new Neighbor(Table.KeyArray[row], Similarity(distances[i]));
            }
            return n == result.Length ? result : result[..n];
        }

        private ExactSearch Exact => _exact ??= new ExactSearch(Table, _options.Metric);

        /// <inheritdoc/>
        public IReadOnlyList<Neighbor>[] SearchBatch(ReadOnlySpan<float> queries, int count)
        {
            NeighborQueries.CheckBatch(Table, queries, count);
            int d = Table.Dimension;
            int n = queries.Length / d;
            var copy = queries.ToArray();
            var results = new IReadOnlyList<Neighbor>[n];
            Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = UsearchIndex.Threads }, i => results[i] = SearchCore(copy.AsSpan(i * d, d), count, -1));
            return results;
        }

        /// <summary>Releases the native index.</summary>
        public void Dispose() => _index.Dispose();

        private float Similarity(float distance) => _options.Metric switch
        {
            SimilarityMetric.Cosine => VectorMath.ClampCosine(1 - distance),
            SimilarityMetric.DotProduct => 1 - distance,
            _ => -MathF.Sqrt(MathF.Max(0, distance)),
        };

        private static UsearchIndex Create(int dimension, HnswOptions options)
        {
            var metric = options.Metric switch
            {
                SimilarityMetric.Cosine => UsearchNative.MetricKind.Cos,
                SimilarityMetric.DotProduct => UsearchNative.MetricKind.Ip,
                _ => UsearchNative.MetricKind.L2sq,
            };
            var storage = options.Storage switch
            {
                HnswStorage.Float16 => UsearchNative.ScalarKind.Float16,
                HnswStorage.Int8 => UsearchNative.ScalarKind.Int8,
                _ => UsearchNative.ScalarKind.Float32,
            };
            return UsearchIndex.Create(metric, storage, dimension, options.Connectivity, options.ExpansionAdd, options.ExpansionSearch);
        }

        private static HnswOptions Validate(HnswOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            if (!Enum.IsDefined(options.Metric))
                throw new ArgumentOutOfRangeException(nameof(options), options.Metric, $"HnswOptions.Metric = {(int)options.Metric} is invalid; use Cosine, DotProduct or Euclidean.");
            if (options.Connectivity is < 4 or > 256)
                throw new ArgumentOutOfRangeException(nameof(options), options.Connectivity, $"HnswOptions.Connectivity = {options.Connectivity} is invalid; use 4 to 256 (16 is usual).");
            if (options.ExpansionAdd < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.ExpansionAdd, $"HnswOptions.ExpansionAdd = {options.ExpansionAdd} is invalid; use 1 or more (128 is usual).");
            if (options.ExpansionSearch < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.ExpansionSearch, $"HnswOptions.ExpansionSearch = {options.ExpansionSearch} is invalid; use 1 or more (64 is usual).");
            if (!Enum.IsDefined(options.Storage))
                throw new ArgumentOutOfRangeException(nameof(options), options.Storage, $"HnswOptions.Storage = {(int)options.Storage} is invalid; use Float32, Float16 or Int8.");
            if (options.Storage == HnswStorage.Int8 && options.Metric != SimilarityMetric.Cosine)
                throw new ArgumentOutOfRangeException(nameof(options), options.Storage, $"HnswOptions.Storage = Int8 needs Metric = Cosine (USearch normalises vectors before quantizing them to 8 bits); with {options.Metric} use Float32 or Float16.");
            if (!Enum.IsDefined(options.InsertionOrder))
                throw new ArgumentOutOfRangeException(nameof(options), options.InsertionOrder, $"HnswOptions.InsertionOrder = {(int)options.InsertionOrder} is invalid; use Locality or TableOrder.");
            if (options.FilteredExactRows < 0)
                throw new ArgumentOutOfRangeException(nameof(options), options.FilteredExactRows, $"HnswOptions.FilteredExactRows = {options.FilteredExactRows} is invalid; use 0 or more ({DefaultFilteredExactRows} is the default).");
            return options;
        }
    }

    /// <summary>Argument checks shared by the indexes, so that bad input never reaches native code.</summary>
    internal static class NeighborQueries
    {
        public static void Check(EmbeddingTable table, ReadOnlySpan<float> query, int count)
        {
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1.");
            if (query.Length != table.Dimension)
                throw new ArgumentException($"The query vector has {query.Length} values; the table's Dimension is {table.Dimension}.", nameof(query));
            if (!VectorMath.AllFinite(query))
                throw new ArgumentException("The query vector contains NaN or infinity.", nameof(query));
        }

        public static void Check(EmbeddingTable table, ReadOnlySpan<float> query, int count, NeighborFilter filter)
        {
            Check(table, query, count);
            ArgumentNullException.ThrowIfNull(filter);
            if (!ReferenceEquals(filter.Table, table))
                throw new ArgumentException("The filter was made for another table; make it with NeighborFilter.For(index.Table).", nameof(filter));
        }

        public static void CheckBatch(EmbeddingTable table, ReadOnlySpan<float> queries, int count)
        {
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1.");
            if (queries.Length % table.Dimension != 0)
                throw new ArgumentException($"The queries hold {queries.Length} values, not a whole number of vectors of the table's Dimension {table.Dimension}.", nameof(queries));
            if (!VectorMath.AllFinite(queries))
                throw new ArgumentException("The queries contain NaN or infinity.", nameof(queries));
        }
    }
}
