using System;
using System.Collections.Generic;
using Embeddings.Infrastructure;
using Embeddings.Kernels;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings
{
    /// <summary>
    /// Maps item columns (Text, Key&lt;UInt32&gt; with key values, or vectors of either) to known-size float vectors
    /// through an <see cref="EmbeddingTable"/>, pooling sequences. Shared by every transformer that applies a table;
    /// public so that a transformer built on <see cref="Infrastructure.RowMappingTransformer"/> can apply tables the same way.
    /// Unknown and missing items give zeros and are skipped by the pooling; getters never throw on values.
    /// </summary>
    public static class EmbeddingColumnMapper
    {
        /// <summary>The advice that schema errors about item columns end with.</summary>
        public const string Advice = "Tokenize text with TokenizeIntoWords, or map ids with MapValueToKey (which keeps the key values), before applying embeddings.";

        /// <summary>Throws unless every input column of <paramref name="columns"/> is an item column of <paramref name="inputSchema"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of another type.</exception>
        public static void CheckShape(SchemaShape inputSchema, IReadOnlyList<InputOutputColumnPair> columns, string component)
        {
            foreach (var pair in columns)
                SchemaChecks.RequireItemColumn(inputSchema, pair.InputColumnName, component, Advice);
        }

        /// <summary>The input's columns and one known-size vector column of <paramref name="dimension"/> per pair.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of another type.</exception>
        public static SchemaShape OutputShape(SchemaShape inputSchema, IReadOnlyList<InputOutputColumnPair> columns, int dimension, string component)
        {
            CheckShape(inputSchema, columns, component);
            var added = new List<(string, DataViewType)>();
            foreach (var pair in columns)
                added.Add((pair.OutputColumnName, new VectorDataViewType(NumberDataViewType.Single, dimension)));
            return SchemaChecks.Append(inputSchema, added);
        }

        /// <summary>The appended vector columns of <paramref name="columns"/>, read through <paramref name="table"/> and pooled by <paramref name="pooling"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of another type.</exception>
        public static IReadOnlyList<AppendedColumn> Bind(DataViewSchema inputSchema, IReadOnlyList<InputOutputColumnPair> columns, EmbeddingTable table, EmbeddingPooling pooling, string component)
        {
            var appended = new List<AppendedColumn>(columns.Count);
            var outputType = new VectorDataViewType(NumberDataViewType.Single, table.Dimension);
            foreach (var pair in columns)
            {
                var item = SchemaChecks.RequireItemColumn(inputSchema, pair.InputColumnName, component, Advice);
                var inputColumn = inputSchema[item.Index];
                int[]? keyMap = item.Kind == ItemColumnKind.Key ? SchemaChecks.MapKeysToRows(inputColumn, table) : null;
                Func<DataViewRow, Delegate> factory = (item.Kind, item.IsVector) switch
                {
                    (ItemColumnKind.Text, false) => row => TextGetter(row.GetGetter<ReadOnlyMemory<char>>(inputColumn), table),
                    (ItemColumnKind.Key, false) => row => KeyGetter(row.GetGetter<uint>(inputColumn), table, keyMap!),
                    (ItemColumnKind.Text, true) => row => TextSequenceGetter(row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(inputColumn), table, pooling),
                    (ItemColumnKind.Key, true) => row => KeySequenceGetter(row.GetGetter<VBuffer<uint>>(inputColumn), table, keyMap!, pooling),
                    (ItemColumnKind.Integer, false) => row => IntegerGetter(row, inputColumn, table),
                    _ => throw new InvalidOperationException($"Unhandled item column kind {item.Kind}."),
                };
                appended.Add(new AppendedColumn(pair.OutputColumnName, outputType, new[] { item.Index }, factory));
            }
            return appended;
        }

        private static ValueGetter<VBuffer<float>> TextGetter(ValueGetter<ReadOnlyMemory<char>> source, EmbeddingTable table)
        {
            ReadOnlyMemory<char> text = default;
            return (ref VBuffer<float> destination) =>
            {
                source(ref text);
                WriteRow(table, table.IndexOf(text.Span), ref destination);
            };
        }

        private static Delegate IntegerGetter(DataViewRow row, DataViewSchema.Column column, EmbeddingTable table)
        {
            Type raw = column.Type.RawType;
            if (raw == typeof(int))
                return IntegerGetter<int>(row.GetGetter<int>(column), table);
            if (raw == typeof(uint))
                return IntegerGetter<uint>(row.GetGetter<uint>(column), table);
            if (raw == typeof(long))
                return IntegerGetter<long>(row.GetGetter<long>(column), table);
            return IntegerGetter<ulong>(row.GetGetter<ulong>(column), table);
        }

        private static ValueGetter<VBuffer<float>> IntegerGetter<T>(ValueGetter<T> source, EmbeddingTable table)
            where T : ISpanFormattable
        {
            T id = default!;
            var text = new char[24];
            return (ref VBuffer<float> destination) =>
            {
                source(ref id);
                int row = id.TryFormat(text, out int written, default, System.Globalization.CultureInfo.InvariantCulture) ? table.IndexOf(text.AsSpan(0, written)) : -1;
                WriteRow(table, row, ref destination);
            };
        }

        private static ValueGetter<VBuffer<float>> KeyGetter(ValueGetter<uint> source, EmbeddingTable table, int[] keyMap)
        {
            uint key = 0;
            return (ref VBuffer<float> destination) =>
            {
                source(ref key);
                WriteRow(table, key < (uint)keyMap.Length ? keyMap[key] : -1, ref destination);
            };
        }

        private static ValueGetter<VBuffer<float>> TextSequenceGetter(ValueGetter<VBuffer<ReadOnlyMemory<char>>> source, EmbeddingTable table, EmbeddingPooling pooling)
        {
            VBuffer<ReadOnlyMemory<char>> items = default;
            return (ref VBuffer<float> destination) =>
            {
                source(ref items);
                var editor = VBufferEditor.Create(ref destination, table.Dimension);
                var pool = new Pool(editor.Values, pooling);
                foreach (var text in items.GetValues())
                    pool.Add(table, table.IndexOf(text.Span));
                pool.Finish();
                destination = editor.Commit();
            };
        }

        private static ValueGetter<VBuffer<float>> KeySequenceGetter(ValueGetter<VBuffer<uint>> source, EmbeddingTable table, int[] keyMap, EmbeddingPooling pooling)
        {
            VBuffer<uint> items = default;
            return (ref VBuffer<float> destination) =>
            {
                source(ref items);
                var editor = VBufferEditor.Create(ref destination, table.Dimension);
                var pool = new Pool(editor.Values, pooling);
                foreach (uint key in items.GetValues())
                    pool.Add(table, key < (uint)keyMap.Length ? keyMap[key] : -1);
                pool.Finish();
                destination = editor.Commit();
            };
        }

        private static void WriteRow(EmbeddingTable table, int row, ref VBuffer<float> destination)
        {
            var editor = VBufferEditor.Create(ref destination, table.Dimension);
            if (row < 0)
                editor.Values.Clear();
            else
                table.Row(row).CopyTo(editor.Values);
            destination = editor.Commit();
        }

        /// <summary>Accumulates known rows into the destination; unknown rows (-1) are skipped by every pooling.</summary>
        private ref struct Pool
        {
            private readonly Span<float> _destination;
            private readonly EmbeddingPooling _pooling;
            private int _known;

            public Pool(Span<float> destination, EmbeddingPooling pooling)
            {
                _destination = destination;
                _pooling = pooling;
                _known = 0;
            }

            public void Add(EmbeddingTable table, int row)
            {
                if (row < 0)
                    return;
                var vector = table.Row(row);
                if (_known == 0)
                    vector.CopyTo(_destination);
                else if (_pooling == EmbeddingPooling.Max)
                    VectorMath.Max(vector, _destination);
                else
                    VectorMath.Add(vector, _destination);
                _known++;
            }

            public void Finish()
            {
                if (_known == 0)
                    _destination.Clear();
                else if (_pooling == EmbeddingPooling.Mean && _known > 1)
                    VectorMath.Scale(1f / _known, _destination);
            }
        }
    }
}
