using System;
using System.Collections.Generic;
using System.Globalization;
using Embeddings.Infrastructure;
using Microsoft.ML.Data;
using Parquet;
using Parquet.Schema;

namespace Embeddings
{
    /// <summary>
    /// Embedding tables in Parquet: one row per key, a STRING key column and a LIST&lt;FLOAT&gt; vector column (Spark's
    /// <c>array&lt;float&gt;</c>, DuckDB's <c>FLOAT[]</c>, a column of float32 arrays in pandas). The file's metadata
    /// records the dimension (<c>embeddings.vector_size.vector</c>), so <c>LoadFromParquet</c> reads the vectors back as a
    /// known-size <c>Vector&lt;Single, d&gt;</c>; DuckDB casts them with <c>vector::FLOAT[d]</c>.
    /// </summary>
    public static class EmbeddingTableParquet
    {
        /// <summary>The key column's default name.</summary>
        public const string DefaultKeyColumnName = "key";

        /// <summary>The vector column's default name.</summary>
        public const string DefaultVectorColumnName = "vector";

        /// <summary>Values per row group (64 MiB of floats); a row group holds at least one row.</summary>
        private const int ValuesPerRowGroup = 16 << 20;

        /// <summary>
        /// Writes the table to <paramref name="path"/> (through a temporary file: a failure leaves no file and an existing
        /// file untouched), rows in table order.
        /// </summary>
        /// <param name="table">The table to write.</param>
        /// <param name="path">The Parquet file to write (replaced if it exists).</param>
        /// <param name="keyColumnName">The key column's name; "key" by default.</param>
        /// <param name="vectorColumnName">The vector column's name; "vector" by default.</param>
        /// <exception cref="ArgumentException">A column name is empty, or both names are the same.</exception>
        public static void SaveParquet(this EmbeddingTable table, string path, string keyColumnName = DefaultKeyColumnName, string vectorColumnName = DefaultVectorColumnName)
        {
            ArgumentNullException.ThrowIfNull(table);
            ArgumentException.ThrowIfNullOrEmpty(path);
            CheckNames(keyColumnName, vectorColumnName);
            var key = new DataField<string>(keyColumnName, false);
            var element = new DataField<float>(ListField.ElementName, false);
            var schema = new ParquetSchema(key, new ListField(vectorColumnName, element));
            int d = table.Dimension;
            int rowsPerGroup = Math.Max(1, Math.Min(ParquetSaveOptions.DefaultMaximumRowGroupSize, ValuesPerRowGroup / d));
            AtomicFile.Write(path, stream =>
            {
                var file = ParquetWriter.CreateAsync(schema, stream).GetAwaiter().GetResult();
                try
                {
                    file.CustomMetadata = new Dictionary<string, string> { [ParquetDataView.VectorSizeMetadataPrefix + vectorColumnName] = d.ToString(CultureInfo.InvariantCulture) };
                    int capacity = Math.Min(rowsPerGroup, Math.Max(1, table.Count));
                    var keys = new ReadOnlyMemory<char>[capacity];
                    var values = new float[(long)capacity * d];
                    var definitions = new int[values.Length];
                    var repetitions = new int[values.Length];
                    Array.Fill(definitions, 2);
                    for (int i = 0; i < repetitions.Length; i++)
                        repetitions[i] = i % d == 0 ? 0 : 1;
                    for (int start = 0; start < table.Count; start += rowsPerGroup)
                    {
                        int rows = Math.Min(rowsPerGroup, table.Count - start);
                        for (int r = 0; r < rows; r++)
                        {
                            keys[r] = table.Keys[start + r].AsMemory();
                            table.Row(start + r).CopyTo(values.AsSpan(r * d, d));
                        }
                        int count = rows * d;
                        using var group = file.CreateRowGroup();
                        group.WriteAsync<ReadOnlyMemory<char>>(key, keys.AsMemory(0, rows)).GetAwaiter().GetResult();
                        group.WriteAllPartsAsync<float>(element, values.AsMemory(0, count), definitions.AsMemory(0, count), repetitions.AsMemory(0, count), default).GetAwaiter().GetResult();
                        group.CompleteValidate();
                    }
                }
                finally
                {
                    file.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            });
        }

        /// <summary>
        /// Reads a table from a Parquet file or folder: one row per key, the key column STRING (or an integer id, read as
        /// its invariant text) and the vector column a LIST of FLOAT (or DOUBLE, narrowed to float), every vector of the
        /// same length.
        /// </summary>
        /// <param name="path">A .parquet file, or a folder of them (read in name order).</param>
        /// <param name="keyColumnName">The key column's name; "key" by default.</param>
        /// <param name="vectorColumnName">The vector column's name; "vector" by default.</param>
        /// <exception cref="FormatException">A column is missing or of another type, a key is empty or repeated, a vector has another length or a value that is not finite.</exception>
        public static EmbeddingTable LoadParquet(string path, string keyColumnName = DefaultKeyColumnName, string vectorColumnName = DefaultVectorColumnName)
        {
            CheckNames(keyColumnName, vectorColumnName);
            var view = new ParquetDataView(path, new ParquetDataView.Options { Columns = { keyColumnName, vectorColumnName } });
            var keyType = view.Schema[0].Type;
            bool textKeys = keyType is TextDataViewType;
            if (!textKeys && !SchemaChecks.IsIntegerId(keyType.RawType))
                throw new FormatException($"{view.Files[0]}: the key column '{keyColumnName}' is {keyType}; it must be STRING (or an integer id). Give the key column's name.");
            if (view.Schema[1].Type is not VectorDataViewType { ItemType: var item } || (item.RawType != typeof(float) && item.RawType != typeof(double)))
                throw new FormatException($"{view.Files[0]}: the vector column '{vectorColumnName}' is {view.Schema[1].Type}; it must be a LIST of FLOAT (or DOUBLE). Give the vector column's name.");
            long count = view.GetRowCount() ?? 0;
            if (count > int.MaxValue)
                throw new NotSupportedException($"{path}: {count:N0} rows; an embedding table holds at most {int.MaxValue:N0} keys.");
            if (count == 0)
                throw new FormatException($"{path}: no rows; an embedding table needs at least one key and vector.");

            using var cursor = view.OpenCursor(view.Schema);
            var keys = new string[count];
            EmbeddingTableBuilder? builder = null;
            var readKey = KeyGetter(cursor, view.Schema[0]);
            bool single = item.RawType == typeof(float);
            var floats = single ? cursor.GetGetter<VBuffer<float>>(view.Schema[1]) : null;
            var doubles = single ? null : cursor.GetGetter<VBuffer<double>>(view.Schema[1]);
            VBuffer<float> f = default;
            VBuffer<double> g = default;
            var seen = new Dictionary<string, long>(StringComparer.Ordinal);
            int row = 0;
            while (cursor.MoveNext())
            {
                string key = readKey();
                if (key.Length == 0)
                    throw new FormatException($"{cursor.Where}: the key is empty or null; every row needs a key. Remove the row or give it a key.");
                if (!seen.TryAdd(key, cursor.Position))
                    throw new FormatException($"{cursor.Where}: the key '{key}' appears again (first at row {seen[key]:N0} of all the rows); keys must be distinct.");
                int length = single ? Fetch(floats!, ref f) : Fetch(doubles!, ref g);
                if (length == 0)
                    throw new FormatException($"{cursor.Where}: the vector of '{key}' is empty or null; every key needs a vector.");
                builder ??= new EmbeddingTableBuilder((int)count, length);
                if (length != builder.Dimension)
                    throw new FormatException($"{cursor.Where}: the vector of '{key}' has {length} values, the first row's has {builder.Dimension}; every vector must have the same length.");
                var destination = builder.Row(row);
                if (single)
                {
                    f.GetValues().CopyTo(destination);
                }
                else
                {
                    var source = g.GetValues();
                    for (int i = 0; i < length; i++)
                        destination[i] = (float)source[i];
                }
                if (!Kernels.VectorMath.AllFinite(destination))
                    throw new FormatException($"{cursor.Where}: the vector of '{key}' holds NaN, infinity, or a value out of float's range; every value must be finite.");
                keys[row++] = key;
            }
            return builder!.Build(keys);
        }

        private static int Fetch<T>(Microsoft.ML.ValueGetter<VBuffer<T>> getter, ref VBuffer<T> value)
        {
            getter(ref value);
            return value.Length;
        }

        private static Func<string> KeyGetter(ParquetDataView.Cursor cursor, Microsoft.ML.DataViewSchema.Column column)
        {
            var read = IdColumns.GetIdGetter(cursor, column);
            return () => new string(read());
        }

        private static void CheckNames(string keyColumnName, string vectorColumnName)
        {
            ArgumentException.ThrowIfNullOrEmpty(keyColumnName);
            ArgumentException.ThrowIfNullOrEmpty(vectorColumnName);
            if (keyColumnName == vectorColumnName)
                throw new ArgumentException($"The key and vector columns are both named '{keyColumnName}'; give them different names.", nameof(vectorColumnName));
        }
    }
}
