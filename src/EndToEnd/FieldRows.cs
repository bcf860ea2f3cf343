using System;
using System.Collections.Generic;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.EndToEnd
{
    /// <summary>
    /// Rows of an end-to-end model's input in the form the network reads: per field the table rows of each row's keys
    /// (one for a scalar field, a list for a multi-valued one), the hashed cross slots, the numeric features and the label.
    /// Read once from an <see cref="IDataView"/> for training and validation; a single row is filled in place for scoring.
    /// </summary>
    internal sealed class FieldRows
    {
        private readonly FieldLayout _layout;
        private readonly List<int>[] _keys;
        private readonly List<int>[] _keyOffsets;
        private readonly List<int> _crossSlots = new();
        private readonly List<int> _crossOffsets = new() { 0 };
        private readonly List<float> _numeric = new();
        private readonly List<float> _labels = new();

        public FieldRows(FieldLayout layout)
        {
            _layout = layout;
            _keys = new List<int>[layout.Fields.Length];
            _keyOffsets = new List<int>[layout.Fields.Length];
            for (int f = 0; f < _keys.Length; f++)
            {
                _keys[f] = new List<int>();
                _keyOffsets[f] = new List<int> { 0 };
            }
        }

        public int Count => _labels.Count;

        public int SkippedRows { get; private set; }

        /// <summary>The table rows of <paramref name="row"/>'s keys in field <paramref name="field"/> (exactly one for a scalar field).</summary>
        public ReadOnlySpan<int> Keys(int field, int row)
        {
            var offsets = _keyOffsets[field];
            int start = offsets[row];
            return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_keys[field]).Slice(start, offsets[row + 1] - start);
        }

        /// <summary>The cross-table slots of <paramref name="row"/>.</summary>
        public ReadOnlySpan<int> CrossSlots(int row)
        {
            int start = _crossOffsets[row];
            return System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_crossSlots).Slice(start, _crossOffsets[row + 1] - start);
        }

        /// <summary>The numeric features of <paramref name="row"/>.</summary>
        public ReadOnlySpan<float> Numeric(int row) =>
            System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_numeric).Slice(row * _layout.NumericDimension, _layout.NumericDimension);

        public float Label(int row) => _labels[row];

        public ReadOnlySpan<float> Labels => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_labels);

        /// <summary>Removes every row (scoring reuses one instance per cursor).</summary>
        public void Clear()
        {
            for (int f = 0; f < _keys.Length; f++)
            {
                _keys[f].Clear();
                _keyOffsets[f].Clear();
                _keyOffsets[f].Add(0);
            }
            _crossSlots.Clear();
            _crossOffsets.Clear();
            _crossOffsets.Add(0);
            _numeric.Clear();
            _labels.Clear();
        }

        /// <summary>Reads every row of <paramref name="data"/> with a label (rows whose label is NaN are counted in <see cref="SkippedRows"/>).</summary>
        public static FieldRows Read(IDataView data, FieldLayout layout, CancellationToken token)
        {
            var rows = new FieldRows(layout);
            var maps = layout.KeyRowMaps(data.Schema);
            var columns = new List<DataViewSchema.Column>();
            foreach (var field in layout.Fields)
                columns.Add(data.Schema[field.ColumnName]);
            if (layout.NumericColumn is not null)
                columns.Add(data.Schema[layout.NumericColumn]);
            var labelColumn = data.Schema[layout.LabelColumn];
            columns.Add(labelColumn);
            using var cursor = data.GetRowCursor(columns);
            var reader = new RowReader(cursor, layout, maps);
            ValueGetter<float> label = LabelGetter(cursor, labelColumn);
            float y = 0;
            long seen = 0;
            while (cursor.MoveNext())
            {
                if ((++seen & 0xFFF) == 0)
                    token.ThrowIfCancellationRequested();
                label(ref y);
                if (float.IsNaN(y))
                {
                    rows.SkippedRows++;
                    continue;
                }
                if (layout.Objective == EndToEndObjective.BinaryClassification)
                    y = y > 0 ? 1 : 0;
                reader.Append(rows, y);
            }
            return rows;
        }

        private static ValueGetter<float> LabelGetter(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            if (column.Type == BooleanDataViewType.Instance)
            {
                var get = cursor.GetGetter<bool>(column);
                bool b = false;
                return (ref float value) =>
                {
                    get(ref b);
                    value = b ? 1 : 0;
                };
            }
            return cursor.GetGetter<float>(column);
        }

        /// <summary>Appends a row read through <see cref="RowReader"/>.</summary>
        internal void AppendRow(RowReader reader, float label)
        {
            for (int f = 0; f < _keys.Length; f++)
            {
                reader.AppendKeys(f, _keys[f]);
                _keyOffsets[f].Add(_keys[f].Count);
            }
            if (_layout.NumericDimension > 0)
                reader.AppendNumeric(_numeric);
            AppendCrosses();
            _labels.Add(label);
        }

        private void AppendCrosses()
        {
            int row = _labels.Count;
            for (int c = 0; c < _layout.Crosses.Length; c++)
            {
                var cross = _layout.Crosses[c];
                CrossCombinations(c, cross, 0, CrossHash.Start(c), row);
            }
            _crossOffsets.Add(_crossSlots.Count);
        }

        private void CrossCombinations(int cross, int[] fields, int depth, uint hash, int row)
        {
            if (depth == fields.Length)
            {
                _crossSlots.Add(CrossHash.Slot(hash, _layout.CrossHashBits));
                return;
            }
            foreach (int key in Keys(fields[depth], row))
                CrossCombinations(cross, fields, depth + 1, CrossHash.Mix(hash, (uint)key), row);
        }

        /// <summary>Reads one row's columns from a cursor (or a row) through key maps, without allocating per row.</summary>
        internal sealed class RowReader
        {
            private readonly FieldLayout _layout;
            private readonly int[][] _maps;
            private readonly ValueGetter<uint>[] _scalar;
            private readonly ValueGetter<VBuffer<uint>>[] _vector;
            private readonly ValueGetter<VBuffer<float>>? _numeric;
            private VBuffer<uint> _keys;
            private VBuffer<float> _features;

            public RowReader(DataViewRow row, FieldLayout layout, int[][] maps)
            {
                _layout = layout;
                _maps = maps;
                _scalar = new ValueGetter<uint>[layout.Fields.Length];
                _vector = new ValueGetter<VBuffer<uint>>[layout.Fields.Length];
                for (int f = 0; f < layout.Fields.Length; f++)
                {
                    var column = row.Schema[layout.Fields[f].ColumnName];
                    if (layout.Fields[f].IsMultiValued)
                        _vector[f] = row.GetGetter<VBuffer<uint>>(column);
                    else
                        _scalar[f] = row.GetGetter<uint>(column);
                }
                if (layout.NumericColumn is not null)
                    _numeric = row.GetGetter<VBuffer<float>>(row.Schema[layout.NumericColumn]);
            }

            public void Append(FieldRows rows, float label) => rows.AppendRow(this, label);

            public void AppendKeys(int field, List<int> target)
            {
                var map = _maps[field];
                if (!_layout.Fields[field].IsMultiValued)
                {
                    uint key = 0;
                    _scalar[field](ref key);
                    target.Add(key < (uint)map.Length ? map[key] : 0);
                    return;
                }
                _vector[field](ref _keys);
                // Missing keys (0) and keys the model does not know carry nothing in a multi-valued field: they are left out.
                foreach (var (_, key) in _keys.Items())
                {
                    int row = key < (uint)map.Length ? map[key] : 0;
                    if (row > 0)
                        target.Add(row);
                }
            }

            public void AppendNumeric(List<float> target)
            {
                _numeric!(ref _features);
                int start = target.Count;
                for (int i = 0; i < _layout.NumericDimension; i++)
                    target.Add(0);
                var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(target).Slice(start, _layout.NumericDimension);
                foreach (var (index, value) in _features.Items())
                {
                    if (index < span.Length)
                        span[index] = float.IsFinite(value) ? value : 0;
                }
            }
        }
    }

    /// <summary>The hash of the wide part's field crosses: cross index and the table rows of the combined keys, mixed (murmur3 finalizer steps).</summary>
    internal static class CrossHash
    {
        public static uint Start(int cross) => Mix(0x9E3779B9u, (uint)cross);

        public static uint Mix(uint hash, uint value)
        {
            uint k = value * 0xCC9E2D51u;
            k = (k << 15) | (k >> 17);
            k *= 0x1B873593u;
            hash ^= k;
            hash = (hash << 13) | (hash >> 19);
            return hash * 5 + 0xE6546B64u;
        }

        public static int Slot(uint hash, int bits)
        {
            hash ^= hash >> 16;
            hash *= 0x85EBCA6Bu;
            hash ^= hash >> 13;
            hash *= 0xC2B2AE35u;
            hash ^= hash >> 16;
            return (int)(hash & ((1u << bits) - 1));
        }
    }
}
