using System;
using System.Collections.Generic;
using System.Threading;

namespace Embeddings
{
    /// <summary>
    /// Which rows of an <see cref="EmbeddingTable"/> a filtered search
    /// (<see cref="INearestNeighborIndex.Search(ReadOnlySpan{float}, int, NeighborFilter)"/>) may return: an allow-list,
    /// exclusions (deny-lists, a user's seen items) and row predicates, all combined with "and". Filters are immutable:
    /// each method returns a new filter and leaves this one usable, so a catalogue-wide filter (in-stock items, a
    /// deny-list) is built once and narrowed per user with <see cref="Excluding(IEnumerable{string})"/>, which shares the
    /// catalogue's row set and only stores the user's rows.
    /// <para>
    /// Keys that are not in the table are ignored (an allow-list may name items without a vector). A predicate receives
    /// row indexes (<c>Table.Keys[row]</c> is the key); it may be called from several threads at once (exact search splits
    /// the rows across cores), should be a pure function of the row while the filter is in use, and an exception it
    /// throws propagates out of the search unchanged.
    /// </para>
    /// </summary>
    public sealed class NeighborFilter
    {
        /// <summary>Predicates are sampled on up to this many rows to estimate the fraction they admit.</summary>
        private const int PredicateSample = 1024;

        /// <summary>Exclusions above this fraction of the table are folded into a row bit set instead of a hash set.</summary>
        private const int ExclusionFoldDivisor = 64;

        private readonly ulong[]? _allowed;
        private readonly int _allowedCount;
        private readonly HashSet<int>? _excluded;
        private readonly int _excludedAllowedCount;
        private readonly Func<int, bool>? _predicate;
        private double _predicateFraction = double.NaN;

        private NeighborFilter(EmbeddingTable table, ulong[]? allowed, int allowedCount, HashSet<int>? excluded, int excludedAllowedCount, Func<int, bool>? predicate)
        {
            Table = table;
            _allowed = allowed;
            _allowedCount = allowedCount;
            _excluded = excluded;
            _excludedAllowedCount = excludedAllowedCount;
            _predicate = predicate;
        }

        /// <summary>A filter of <paramref name="table"/> that admits every row.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="table"/> is null.</exception>
        public static NeighborFilter For(EmbeddingTable table)
        {
            ArgumentNullException.ThrowIfNull(table);
            return new NeighborFilter(table, null, table.Count, null, 0, null);
        }

        /// <summary>The table whose rows the filter admits; a search refuses a filter of another table.</summary>
        public EmbeddingTable Table { get; }

        /// <summary>Rows admitted by the allow-list and exclusions (predicates are not evaluated for this count).</summary>
        public int ListedRowCount => _allowedCount - _excludedAllowedCount;

        /// <summary>Whether the filter has a row predicate (<see cref="Where"/>).</summary>
        public bool HasPredicate => _predicate is not null;

        /// <summary>Admits only the rows of <paramref name="keys"/> (and only those this filter already admits).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="keys"/> is null.</exception>
        public NeighborFilter Allowing(IEnumerable<string> keys)
        {
            ArgumentNullException.ThrowIfNull(keys);
            var allowed = new ulong[Words(Table.Count)];
            int count = 0;
            foreach (string key in keys)
            {
                int row = key is null ? -1 : Table.IndexOf(key);
                if (row < 0 || !ListedAdmits(row) || IsSet(allowed, row))
                    continue;
                allowed[row >> 6] |= 1UL << row;
                count++;
            }
            return new NeighborFilter(Table, allowed, count, null, 0, _predicate);
        }

        /// <summary>Admits no row of <paramref name="keys"/> (a deny-list, a user's seen items).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="keys"/> is null.</exception>
        public NeighborFilter Excluding(IEnumerable<string> keys)
        {
            ArgumentNullException.ThrowIfNull(keys);
            var rows = new List<int>();
            foreach (string key in keys)
            {
                int row = key is null ? -1 : Table.IndexOf(key);
                if (row >= 0)
                    rows.Add(row);
            }
            return ExcludingRows(rows);
        }

        /// <summary>Admits no row of <paramref name="rows"/> (indexes into <c>Table.Keys</c>; out-of-range rows are ignored).</summary>
        /// <exception cref="ArgumentNullException"><paramref name="rows"/> is null.</exception>
        public NeighborFilter ExcludingRows(IEnumerable<int> rows)
        {
            ArgumentNullException.ThrowIfNull(rows);
            var excluded = _excluded is null ? new HashSet<int>() : new HashSet<int>(_excluded);
            int excludedAllowed = _excludedAllowedCount;
            foreach (int row in rows)
            {
                if ((uint)row < (uint)Table.Count && excluded.Add(row) && (_allowed is null || IsSet(_allowed, row)))
                    excludedAllowed++;
            }
            if (excluded.Count <= Table.Count / ExclusionFoldDivisor)
                return new NeighborFilter(Table, _allowed, _allowedCount, excluded, excludedAllowed, _predicate);
            // Many exclusions: one bit set is smaller and faster to test than the hash set.
            var allowed = _allowed is null ? AllRows(Table.Count) : (ulong[])_allowed.Clone();
            foreach (int row in excluded)
                allowed[row >> 6] &= ~(1UL << row);
            return new NeighborFilter(Table, allowed, _allowedCount - excludedAllowed, null, 0, _predicate);
        }

        /// <summary>Admits only rows for which <paramref name="predicate"/> (given the row index) returns true, besides this filter's conditions.</summary>
        /// <exception cref="ArgumentNullException"><paramref name="predicate"/> is null.</exception>
        public NeighborFilter Where(Func<int, bool> predicate)
        {
            ArgumentNullException.ThrowIfNull(predicate);
            var previous = _predicate;
            Func<int, bool> combined = previous is null ? predicate : row => previous(row) && predicate(row);
            return new NeighborFilter(Table, _allowed, _allowedCount, _excluded, _excludedAllowedCount, combined);
        }

        /// <summary>Whether <paramref name="row"/> (an index into <c>Table.Keys</c>) is admitted.</summary>
        public bool Admits(int row) => (uint)row < (uint)Table.Count && ListedAdmits(row) && (_predicate is null || _predicate(row));

        /// <summary>
        /// Estimated number of admitted rows: exact without a predicate; with one, <see cref="ListedRowCount"/> times the
        /// fraction of up to 1,024 evenly spaced listed rows (the first listed rows when few spaced ones are listed) that the predicate admits (sampled once per filter).
        /// </summary>
        public double EstimatedAdmittedRows()
        {
            int listed = ListedRowCount;
            if (_predicate is null || listed == 0)
                return listed;
            double fraction = Volatile.Read(ref _predicateFraction);
            if (double.IsNaN(fraction))
            {
                fraction = SamplePredicate();
                Volatile.Write(ref _predicateFraction, fraction);
            }
            return listed * fraction;
        }

        /// <summary>Admitted by the allow-list and exclusions (the predicate not consulted); <paramref name="row"/> must be in range.</summary>
        internal bool ListedAdmits(int row) => (_allowed is null || IsSet(_allowed, row)) && (_excluded is null || !_excluded.Contains(row));

        private double SamplePredicate()
        {
            int rows = Table.Count;
            long step = Math.Max(1, rows / PredicateSample);
            int sampled = 0, admitted = 0;
            for (long row = 0; row < rows && sampled < PredicateSample; row += step)
            {
                if (!ListedAdmits((int)row))
                    continue;
                sampled++;
                if (_predicate!((int)row))
                    admitted++;
            }
            if (sampled < PredicateSample / 16)
            {
                // Few spaced rows are listed (a short allow-list): sample the first listed rows instead.
                sampled = admitted = 0;
                for (int row = 0; row < rows && sampled < PredicateSample; row++)
                {
                    if (!ListedAdmits(row))
                        continue;
                    sampled++;
                    if (_predicate!(row))
                        admitted++;
                }
            }
            return sampled == 0 ? 0 : (double)admitted / sampled;
        }

        private static int Words(int rows) => (rows + 63) >> 6;

        private static bool IsSet(ulong[] bits, int row) => (bits[row >> 6] & (1UL << row)) != 0;

        private static ulong[] AllRows(int rows)
        {
            var bits = new ulong[Words(rows)];
            Array.Fill(bits, ulong.MaxValue);
            if ((rows & 63) != 0)
                bits[^1] = (1UL << rows) - 1;
            return bits;
        }
    }
}
