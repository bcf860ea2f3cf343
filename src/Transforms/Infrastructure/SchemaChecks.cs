using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Infrastructure
{
    /// <summary>How an item column holds its items.</summary>
    public enum ItemColumnKind
    {
        /// <summary>Text values: the item's key itself.</summary>
        Text,

        /// <summary><c>Key&lt;UInt32&gt;</c> values whose key values (annotation) give the item's key.</summary>
        Key,

        /// <summary>Integer ids (Int32, UInt32, Int64, UInt64), matched through their invariant text; scalar only.</summary>
        Integer,
    }

    /// <summary>An input column accepted as items: scalar or vector, of text or keys.</summary>
    /// <param name="Index">The column's index in its schema.</param>
    /// <param name="Kind">How it holds items.</param>
    /// <param name="IsVector">True for a vector (a sequence) of items.</param>
    public readonly record struct ItemColumn(int Index, ItemColumnKind Kind, bool IsVector);

    /// <summary>
    /// Schema validation shared by estimators (<see cref="SchemaShape"/>) and transformers (<see cref="DataViewSchema"/>):
    /// every message names the component, the column, the expected and the actual type, and the fix. For writing
    /// components on top of this library.
    /// </summary>
    public static class SchemaChecks
    {
        /// <summary>The annotation that holds a key column's values (ML.NET's AnnotationUtils.Kinds.KeyValues, internal there).</summary>
        public const string KeyValuesKind = "KeyValues";

        /// <summary>The annotation that names a vector column's slots (ML.NET's AnnotationUtils.Kinds.SlotNames, internal there).</summary>
        public const string SlotNamesKind = "SlotNames";

        /// <summary>The item types that <see cref="RequireItemColumn(DataViewSchema, string, string, string)"/> accepts, for messages.</summary>
        public const string ItemTypesExpected = "Text, Key<UInt32> with key values, an integer id (Int32, UInt32, Int64, UInt64), or a vector of Text or keys";

        /// <summary>True for the integer types accepted as ids.</summary>
        public static bool IsIntegerId(Type rawType) =>
            rawType == typeof(int) || rawType == typeof(uint) || rawType == typeof(long) || rawType == typeof(ulong);

        /// <summary>The column <paramref name="name"/> of <paramref name="schema"/>; throws naming the columns the input has.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing.</exception>
        public static DataViewSchema.Column FindColumn(DataViewSchema schema, string name, string component)
        {
            var column = schema.GetColumnOrNull(name);
            if (column is null)
                throw new ArgumentOutOfRangeException(nameof(schema), $"{component}: input column '{name}' was not found. The input has: {Names(schema.Select(c => c.Name))}.");
            return column.Value;
        }

        /// <summary>The column <paramref name="name"/> of <paramref name="schema"/>; throws naming the columns the input has.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing.</exception>
        public static SchemaShape.Column FindColumn(SchemaShape schema, string name, string component)
        {
            var column = schema.FirstOrDefault(c => c.Name == name);
            if (column.Name is null)
                throw new ArgumentOutOfRangeException(nameof(schema), $"{component}: input column '{name}' was not found. The input has: {Names(schema.Select(c => c.Name))}.");
            return column;
        }

        /// <summary>Accepts Text, Key&lt;UInt32&gt; with KeyValues, or a vector of either; throws naming column, expected and actual type.</summary>
        public static ItemColumn RequireItemColumn(DataViewSchema schema, string name, string component, string advice)
        {
            var column = FindColumn(schema, name, component);
            DataViewType type = column.Type;
            bool isVector = type is VectorDataViewType;
            DataViewType itemType = isVector ? ((VectorDataViewType)type).ItemType : type;
            if (itemType is TextDataViewType)
                return new ItemColumn(column.Index, ItemColumnKind.Text, isVector);
            if (itemType is KeyDataViewType key && key.RawType == typeof(uint))
            {
                if (column.Annotations.Schema.GetColumnOrNull(KeyValuesKind) is null)
                    throw TypeMismatch(component, name, "a key column with key values (the KeyValues annotation that MapValueToKey adds)", $"{type} without key values", advice);
                return new ItemColumn(column.Index, ItemColumnKind.Key, isVector);
            }
            if (!isVector && type is NumberDataViewType && IsIntegerId(type.RawType))
                return new ItemColumn(column.Index, ItemColumnKind.Integer, false);
            throw TypeMismatch(component, name, ItemTypesExpected, type.ToString() ?? type.RawType.Name, advice);
        }

        /// <summary>The <see cref="SchemaShape"/> form of <see cref="RequireItemColumn(DataViewSchema, string, string, string)"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing or of another type.</exception>
        public static void RequireItemColumn(SchemaShape schema, string name, string component, string advice)
        {
            var column = FindColumn(schema, name, component);
            bool itemOk = column.ItemType is TextDataViewType || (column.IsKey && column.ItemType.RawType == typeof(uint))
                || (!column.IsKey && column.Kind == SchemaShape.Column.VectorKind.Scalar && column.ItemType is NumberDataViewType && IsIntegerId(column.ItemType.RawType));
            if (!itemOk)
                throw TypeMismatch(component, name, ItemTypesExpected, Describe(column), advice);
            if (column.IsKey && !column.Annotations.Any(a => a.Name == KeyValuesKind))
                throw TypeMismatch(component, name, "a key column with key values (the KeyValues annotation that MapValueToKey adds)", Describe(column) + " without key values", advice);
        }

        /// <summary>The exception for a column of the wrong type: "component: column 'c' has type T; expected E. Advice".</summary>
        public static Exception TypeMismatch(string component, string column, string expected, string actual, string advice) =>
            new ArgumentOutOfRangeException("inputSchema", $"{component}: column '{column}' has type {actual}; expected {expected}.{(advice.Length > 0 ? " " + advice : "")}");

        /// <summary>A column's type as messages show it, e.g. <c>Key&lt;UInt32&gt;</c> or <c>Vector&lt;Text&gt;</c>.</summary>
        public static string Describe(SchemaShape.Column column)
        {
            string item = column.IsKey ? $"Key<{column.ItemType.RawType.Name}>" : column.ItemType.ToString() ?? column.ItemType.RawType.Name;
            return column.Kind switch
            {
                SchemaShape.Column.VectorKind.Scalar => item,
                _ => $"Vector<{item}>",
            };
        }

        /// <summary>
        /// The output shape: the input's columns (except those the new ones hide) followed by the new columns.
        /// <see cref="SchemaShape.Column"/>'s constructor is internal, so new columns are described through a schema.
        /// </summary>
        public static SchemaShape Append(SchemaShape input, IEnumerable<(string Name, DataViewType Type)> newColumns) =>
            Append(input, newColumns.Select(c => (c.Name, c.Type, (DataViewSchema.Annotations?)null)));

        /// <summary>As <see cref="Append(SchemaShape, IEnumerable{ValueTuple{string, DataViewType}})"/>, with each new column's annotations (or null).</summary>
        public static SchemaShape Append(SchemaShape input, IEnumerable<(string Name, DataViewType Type, DataViewSchema.Annotations? Annotations)> newColumns)
        {
            var builder = new DataViewSchema.Builder();
            var names = new HashSet<string>();
            foreach (var (name, type, annotations) in newColumns)
            {
                builder.AddColumn(name, type, annotations);
                names.Add(name);
            }
            var added = SchemaShapes.FromSchema(builder.ToSchema());
            return new SchemaShape(input.Where(c => !names.Contains(c.Name)).Concat(added));
        }

        /// <summary>
        /// For a key column with key values, the table row of each key index (index 0, the missing key, maps to -1).
        /// Key values of any primitive type are matched through their invariant text form.
        /// </summary>
        public static int[] MapKeysToRows(DataViewSchema.Column column, EmbeddingTable table)
        {
            ArgumentNullException.ThrowIfNull(table);
            return MapKeysToRows(column, table.IndexOf);
        }

        /// <summary>
        /// For a key column with key values, the row that <paramref name="indexOf"/> gives for each key's value (index 0,
        /// the missing key, maps to -1). Key values of any primitive type are matched through their invariant text form.
        /// </summary>
        public static int[] MapKeysToRows(DataViewSchema.Column column, Func<string, int> indexOf)
        {
            ArgumentNullException.ThrowIfNull(indexOf);
            var keyType = (KeyDataViewType)(column.Type is VectorDataViewType v ? v.ItemType : column.Type);
            var valuesType = column.Annotations.Schema[KeyValuesKind].Type;
            string[] values = ReadKeyValues(column, valuesType);
            long keyCount = (long)Math.Min(keyType.Count, (ulong)values.Length);
            var map = new int[keyCount + 1];
            map[0] = -1;
            for (long k = 1; k <= keyCount; k++)
                map[k] = indexOf(values[k - 1]);
            return map;
        }

        /// <summary>The text of each key value of a key column (index k - 1 for key k).</summary>
        public static string[] KeyValueTexts(DataViewSchema.Column column) =>
            ReadKeyValues(column, column.Annotations.Schema[KeyValuesKind].Type);

        private static string[] ReadKeyValues(DataViewSchema.Column column, DataViewType valuesType)
        {
            DataViewType item = valuesType is VectorDataViewType v ? v.ItemType : valuesType;
            return item.RawType switch
            {
                Type t when t == typeof(ReadOnlyMemory<char>) => Read<ReadOnlyMemory<char>>(column, x => x.ToString()),
                Type t when t == typeof(float) => Read<float>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(double) => Read<double>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(int) => Read<int>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(uint) => Read<uint>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(long) => Read<long>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(ulong) => Read<ulong>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(short) => Read<short>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(ushort) => Read<ushort>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(byte) => Read<byte>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Type t when t == typeof(sbyte) => Read<sbyte>(column, x => x.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                _ => throw new ArgumentOutOfRangeException("inputSchema", $"Column '{column.Name}' has key values of type {item}; expected text or numbers."),
            };
        }

        private static string[] Read<T>(DataViewSchema.Column column, Func<T, string> format)
        {
            VBuffer<T> values = default;
            column.Annotations.GetValue(KeyValuesKind, ref values);
            var dense = values.DenseValues().ToArray();
            var result = new string[dense.Length];
            for (int i = 0; i < dense.Length; i++)
                result[i] = format(dense[i]);
            return result;
        }

        private static string Names(IEnumerable<string> names)
        {
            var list = names.Distinct().ToList();
            return list.Count == 0 ? "(no columns)" : string.Join(", ", list.Take(20).Select(n => $"'{n}'")) + (list.Count > 20 ? ", ..." : "");
        }
    }
}
