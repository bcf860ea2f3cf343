using System;
using System.Globalization;
using System.Linq;
using Microsoft.ML.Data;
using Parquet.Schema;

namespace Embeddings
{
    /// <summary>
    /// How a top-level Parquet column maps to an ML.NET column: the item type, and whether it is a vector (a LIST, or a
    /// legacy repeated field, of primitives). Nested structures (structs, maps, lists of lists) are not mapped.
    /// </summary>
    internal sealed class ParquetColumnType
    {
        private ParquetColumnType(string name, DataViewType itemType, bool isVector, DataField leaf, int slotDefinitionLevel, string parquetType)
        {
            Name = name;
            ItemType = itemType;
            IsVector = isVector;
            Leaf = leaf;
            SlotDefinitionLevel = slotDefinitionLevel;
            ParquetType = parquetType;
        }

        /// <summary>The column's name (the top-level field's name).</summary>
        public string Name { get; }

        /// <summary>The ML.NET type of a value (of an element, for a vector).</summary>
        public DataViewType ItemType { get; }

        /// <summary>True for a list of values: an ML.NET vector.</summary>
        public bool IsVector { get; }

        /// <summary>The leaf field whose values and levels hold the column.</summary>
        public DataField Leaf { get; }

        /// <summary>For a vector: the definition level from which an entry is an element (a value or a null element); below it, the row's list is empty or null.</summary>
        public int SlotDefinitionLevel { get; }

        /// <summary>The Parquet type as messages print it (INT64, STRING, LIST&lt;FLOAT&gt;).</summary>
        public string ParquetType { get; }

        /// <summary>True when the ML.NET types of both columns are the same (nullability may differ).</summary>
        public bool SameTypeAs(ParquetColumnType other) => ItemType.Equals(other.ItemType) && IsVector == other.IsVector;

        /// <summary>The mapping of <paramref name="field"/>, or null with the reason it is not supported.</summary>
        public static ParquetColumnType? Map(Field field, out string? unsupported)
        {
            unsupported = null;
            switch (field)
            {
                case DataField data when data.IsArray:
                    return Scalar(data, out unsupported) is DataViewType legacyItem
                        ? new ParquetColumnType(field.Name, legacyItem, true, data, data.MaxDefinitionLevel, $"LIST<{Physical(data)}>")
                        : null;
                case DataField data:
                    return Scalar(data, out unsupported) is DataViewType item ? new ParquetColumnType(field.Name, item, false, data, 0, Physical(data)) : null;
                case ListField { Item: DataField element } list when !element.IsArray:
                    if (Scalar(element, out unsupported) is not DataViewType elementType)
                    {
                        unsupported = $"a list of {unsupported}";
                        return null;
                    }
                    return new ParquetColumnType(field.Name, elementType, true, element, list.MaxDefinitionLevel, $"LIST<{Physical(element)}>");
                case ListField:
                    unsupported = "a list of lists or of structs";
                    return null;
                default:
                    unsupported = $"a {field.SchemaType.ToString().ToUpperInvariant()} (nested structures are not read)";
                    return null;
            }
        }

        /// <summary>The ML.NET type of a primitive leaf, or null with the reason.</summary>
        private static DataViewType? Scalar(DataField field, out string? unsupported)
        {
            unsupported = null;
            Type t = field.ClrType;
            if (t == typeof(string) || t == typeof(ReadOnlyMemory<char>))
                return TextDataViewType.Instance;
            if (t == typeof(bool))
                return BooleanDataViewType.Instance;
            if (t == typeof(float))
                return NumberDataViewType.Single;
            if (t == typeof(double))
                return NumberDataViewType.Double;
            if (t == typeof(int))
                return NumberDataViewType.Int32;
            if (t == typeof(long))
                return NumberDataViewType.Int64;
            if (t == typeof(sbyte))
                return NumberDataViewType.SByte;
            if (t == typeof(byte))
                return NumberDataViewType.Byte;
            if (t == typeof(short))
                return NumberDataViewType.Int16;
            if (t == typeof(ushort))
                return NumberDataViewType.UInt16;
            if (t == typeof(uint))
                return NumberDataViewType.UInt32;
            if (t == typeof(ulong))
                return NumberDataViewType.UInt64;
            if (t == typeof(DateTime))
                return DateTimeDataViewType.Instance;
            unsupported = Physical(field);
            return null;
        }

        /// <summary>A leaf's type as messages print it.</summary>
        public static string Physical(DataField field)
        {
            var element = field.SchemaElement;
            if (element?.LogicalType?.STRING is not null || field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>))
                return "STRING";
            if (element?.LogicalType?.DECIMAL is not null || field.ClrType == typeof(decimal))
                return "DECIMAL";
            if (field.ClrType == typeof(DateTime))
                return element?.LogicalType?.DATE is not null ? "DATE" : "TIMESTAMP";
            if (field.ClrType == typeof(byte[]) || field.ClrType == typeof(ReadOnlyMemory<byte>))
                return "BINARY";
            return field.ClrType.Name switch
            {
                "Boolean" => "BOOLEAN",
                "Single" => "FLOAT",
                "Double" => "DOUBLE",
                "Int32" => "INT32",
                "Int64" => "INT64",
                "SByte" => "INT8",
                "Byte" => "UINT8",
                "Int16" => "INT16",
                "UInt16" => "UINT16",
                "UInt32" => "UINT32",
                "UInt64" => "UINT64",
                var other => element?.Type?.ToString() ?? other,
            };
        }

        /// <summary>The ML.NET type of the column, given the vector size (0: variable).</summary>
        public DataViewType ColumnType(int vectorSize) => IsVector ? new VectorDataViewType((PrimitiveDataViewType)ItemType, vectorSize) : ItemType;

        /// <summary>The ML.NET types a Parquet column can be read as, for messages.</summary>
        public const string SupportedTypes =
            "BOOLEAN, INT8/16/32/64 and their unsigned forms, FLOAT, DOUBLE, STRING, TIMESTAMP/DATE, and LISTs of these";

        /// <summary>Names of <paramref name="names"/> quoted and joined, for messages.</summary>
        public static string Quote(System.Collections.Generic.IEnumerable<string> names)
        {
            var list = names.Select(n => $"'{n}'").ToList();
            return list.Count == 0 ? "(none)" : string.Join(", ", list);
        }

        /// <summary>An invariant number for messages.</summary>
        public static string Number(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    }
}
