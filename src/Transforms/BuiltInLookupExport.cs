using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings
{
    /// <summary>
    /// Expresses a single-item lookup with ML.NET's own transforms, so that a saved model loads without this library:
    /// MapValueToKey (the table's keys; unknown items become the missing key) -> MapKeyToValue (the missing key becomes
    /// empty text) -> MapValue (key -> vector, with an explicit empty-text -> zero-vector entry) -> DropColumns.
    /// </summary>
    internal static class BuiltInLookupExport
    {
        private sealed class KeyRow
        {
            public ReadOnlyMemory<char> Key { get; set; }
        }

        private sealed class EntryRow
        {
            public ReadOnlyMemory<char> Key { get; set; }

            public float[] Value { get; set; } = Array.Empty<float>();
        }

        public static IEstimator<ITransformer> Create(MLContext ml, EmbeddingTable table, string outputColumnName, string inputColumnName)
        {
            ArgumentNullException.ThrowIfNull(table);
            ArgumentException.ThrowIfNullOrEmpty(outputColumnName);
            ArgumentException.ThrowIfNullOrEmpty(inputColumnName);
            string keyColumn = outputColumnName + ".EmbeddingKey";
            string textColumn = outputColumnName + ".EmbeddingText";

            var keys = ml.Data.LoadFromEnumerable(table.Keys.Select(k => new KeyRow { Key = k.AsMemory() }));
            var definition = SchemaDefinition.Create(typeof(EntryRow));
            definition[nameof(EntryRow.Value)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, table.Dimension);
            var zero = new EntryRow { Key = ReadOnlyMemory<char>.Empty, Value = new float[table.Dimension] };
            var entries = table.Keys.Select((k, i) => new EntryRow { Key = k.AsMemory(), Value = table.Row(i).ToArray() }).Prepend(zero);
            var lookup = ml.Data.LoadFromEnumerable(entries, definition);

            return ml.Transforms.Conversion.MapValueToKey(keyColumn, inputColumnName, keyData: keys)
                .Append(ml.Transforms.Conversion.MapKeyToValue(textColumn, keyColumn))
                .Append(ml.Transforms.Conversion.MapValue(outputColumnName, lookup, lookup.Schema[nameof(EntryRow.Key)], lookup.Schema[nameof(EntryRow.Value)], textColumn))
                .Append(ml.Transforms.DropColumns(keyColumn, textColumn));
        }
    }
}
