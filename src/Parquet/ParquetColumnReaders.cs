using System;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Parquet;
using Parquet.Schema;

namespace Embeddings
{
    /// <summary>Where a row group is, for messages: the file, the row group's index and the file row of its first row.</summary>
    internal readonly record struct RowGroupPlace(string File, int RowGroup, long FirstRow)
    {
        /// <summary>"file: row N (row group G)" for row <paramref name="rowInGroup"/> of the group (rows count from 0).</summary>
        public string Row(int rowInGroup) =>
            string.Create(CultureInfo.InvariantCulture, $"{File}: row {FirstRow + rowInGroup:N0} (row group {RowGroup}, rows count from 0)");
    }

    /// <summary>
    /// Reads one column of one row group at a time into reusable buffers (the cursor holds one row group per column and
    /// nothing more) and serves its rows through ML.NET getters.
    /// </summary>
    internal abstract class ParquetColumnReader
    {
        /// <summary>A reader for a column of <paramref name="type"/>; <paramref name="vectorSize"/> is 0 for variable-size vectors.</summary>
        public static ParquetColumnReader Create(ParquetColumnType type, int vectorSize)
        {
            Type raw = type.ItemType.RawType;
            var generic = type.IsVector ? typeof(VectorReader<>) : typeof(ScalarReader<>);
            return (ParquetColumnReader)Activator.CreateInstance(generic.MakeGenericType(raw), vectorSize)!;
        }

        /// <summary>Reads the column <paramref name="column"/> (the file's own mapping) of <paramref name="group"/>.</summary>
        public abstract void Load(ParquetRowGroupReader group, ParquetColumnType column, RowGroupPlace place);

        /// <summary>A getter of the current row (<paramref name="row"/> gives its index in the loaded group).</summary>
        public abstract Delegate Getter(Func<int> row);

        /// <summary>The values the column chunk holds (nulls and list entries included).</summary>
        protected static int ValueCount(ParquetRowGroupReader group, DataField leaf, RowGroupPlace place)
        {
            long count = group.GetMetadata(leaf)?.MetaData?.NumValues
                ?? throw new FormatException($"{place.File}: row group {place.RowGroup} has no data for column '{leaf.Path}'; the file is damaged or incomplete.");
            if (count > Array.MaxLength)
                throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture,
                    $"{place.File}: row group {place.RowGroup} holds {count:N0} values of column '{leaf.Path}', more than one .NET array holds; rewrite the file with smaller row groups."));
            return (int)count;
        }

        protected static void Grow<T>(ref T[] buffer, int length)
        {
            if (buffer.Length < length)
                buffer = new T[Math.Max(length, (int)Math.Min(Array.MaxLength, buffer.Length * 2L))];
        }

        protected static void ReadRaw<T>(ParquetRowGroupReader group, DataField leaf, T[] values, int count, int[]? definitions, int[]? repetitions)
            where T : struct =>
            group.ReadRawAsync(leaf, values.AsMemory(0, count), definitions?.AsMemory(0, count), repetitions?.AsMemory(0, count)).AsTask().GetAwaiter().GetResult();

        /// <summary>The value of a null: NaN for Single and Double, empty for Text; other types have none (the read fails).</summary>
        protected static class Missing<T>
        {
            public static readonly bool Exists = typeof(T) == typeof(float) || typeof(T) == typeof(double) || typeof(T) == typeof(ReadOnlyMemory<char>);

            public static readonly T Value = typeof(T) == typeof(float) ? (T)(object)float.NaN : typeof(T) == typeof(double) ? (T)(object)double.NaN : default!;
        }

        protected static FormatException NullValue(ParquetColumnType column, RowGroupPlace place, int rowInGroup, bool element)
        {
            string type = column.ItemType.ToString() ?? column.ItemType.RawType.Name;
            return new FormatException(
                $"{place.Row(rowInGroup)}: column '{column.Name}' ({column.ParquetType}) holds a null{(element ? " element" : "")}, and ML.NET's {type} has no missing value " +
                $"(nulls read as NaN in FLOAT and DOUBLE columns and as empty text in STRING columns). Filter the nulls out (WHERE {column.Name} IS NOT NULL) or fill them before loading, or store the column as DOUBLE.");
        }

        protected static FormatException Damaged(ParquetColumnType column, RowGroupPlace place, string problem) =>
            new($"{place.File}: row group {place.RowGroup}, column '{column.Name}': {problem}; the file is damaged or was written by a broken writer.");
    }

    /// <summary>A column of single values: required values are used as read; optional ones are expanded row by row.</summary>
    internal sealed class ScalarReader<T> : ParquetColumnReader
        where T : struct
    {
        private T[] _raw = Array.Empty<T>();
        private int[] _definitions = Array.Empty<int>();
        private T[] _expanded = Array.Empty<T>();
        private T[] _rows = Array.Empty<T>();

        public ScalarReader(int vectorSize)
        {
            if (vectorSize != 0)
                throw new ArgumentOutOfRangeException(nameof(vectorSize), vectorSize, "a single-value column has no vector size.");
        }

        public override void Load(ParquetRowGroupReader group, ParquetColumnType column, RowGroupPlace place)
        {
            var leaf = column.Leaf;
            int rows = checked((int)group.RowCount);
            int count = ValueCount(group, leaf, place);
            if (count != rows)
                throw Damaged(column, place, $"{count} values for {rows} rows");
            Grow(ref _raw, count);
            int maxDefinition = leaf.MaxDefinitionLevel;
            if (maxDefinition == 0)
            {
                ReadRaw(group, leaf, _raw, count, null, null);
                _rows = _raw;
                return;
            }
            Grow(ref _definitions, count);
            Grow(ref _expanded, rows);
            ReadRaw(group, leaf, _raw, count, _definitions, null);
            int next = 0;
            for (int i = 0; i < rows; i++)
            {
                if (_definitions[i] == maxDefinition)
                    _expanded[i] = _raw[next++];
                else if (Missing<T>.Exists)
                    _expanded[i] = Missing<T>.Value;
                else
                    throw NullValue(column, place, i, element: false);
            }
            _rows = _expanded;
        }

        public override Delegate Getter(Func<int> row)
        {
            ValueGetter<T> getter = (ref T value) => value = _rows[row()];
            return getter;
        }
    }

    /// <summary>
    /// A list column as a vector: a row's elements follow each other; an empty or null list is an empty vector; a
    /// known <c>vectorSize</c> is checked on every row.
    /// </summary>
    internal sealed class VectorReader<T> : ParquetColumnReader
        where T : struct
    {
        private readonly int _vectorSize;
        private T[] _raw = Array.Empty<T>();
        private int[] _definitions = Array.Empty<int>();
        private int[] _repetitions = Array.Empty<int>();
        private T[] _values = Array.Empty<T>();
        private int[] _starts = Array.Empty<int>();

        public VectorReader(int vectorSize)
        {
            _vectorSize = vectorSize;
        }

        public override void Load(ParquetRowGroupReader group, ParquetColumnType column, RowGroupPlace place)
        {
            var leaf = column.Leaf;
            int rows = checked((int)group.RowCount);
            int count = ValueCount(group, leaf, place);
            Grow(ref _raw, count);
            Grow(ref _definitions, count);
            Grow(ref _repetitions, count);
            Grow(ref _values, count);
            Grow(ref _starts, rows + 1);
            ReadRaw(group, leaf, _raw, count, leaf.MaxDefinitionLevel > 0 ? _definitions : null, _repetitions);
            if (leaf.MaxDefinitionLevel == 0)
                Array.Fill(_definitions, 0, 0, count);
            int maxDefinition = leaf.MaxDefinitionLevel, slot = column.SlotDefinitionLevel;
            int row = -1, length = 0, next = 0;
            for (int i = 0; i < count; i++)
            {
                if (_repetitions[i] == 0)
                {
                    if (++row >= rows)
                        throw Damaged(column, place, $"more lists than its {rows} rows");
                    _starts[row] = length;
                }
                else if (row < 0)
                {
                    throw Damaged(column, place, "the first value continues a list");
                }
                int definition = _definitions[i];
                if (definition < slot)
                    continue;
                if (definition == maxDefinition)
                    _values[length++] = _raw[next++];
                else if (Missing<T>.Exists)
                    _values[length++] = Missing<T>.Value;
                else
                    throw NullValue(column, place, row, element: true);
            }
            if (row + 1 != rows)
                throw Damaged(column, place, $"{row + 1} lists for {rows} rows");
            _starts[rows] = length;
            if (_vectorSize > 0)
            {
                for (int r = 0; r < rows; r++)
                {
                    int size = _starts[r + 1] - _starts[r];
                    if (size != _vectorSize)
                    {
                        throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                            $"{place.Row(r)}: column '{column.Name}' has {size} values, but it is loaded as a vector of {_vectorSize} (a known size, from the loader's VectorSizes or the files' metadata). Fix the row, or load the column as a variable-size vector (VectorSizes[column] = 0)."));
                    }
                }
            }
        }

        public override Delegate Getter(Func<int> row)
        {
            ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> value) =>
            {
                int r = row();
                int start = _starts[r], length = _starts[r + 1] - start;
                var editor = VBufferEditor.Create(ref value, length);
                _values.AsSpan(start, length).CopyTo(editor.Values);
                value = editor.Commit();
            };
            return getter;
        }
    }
}
