using System;
using System.Linq;
using System.Globalization;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Graph
{
    /// <summary>Reads the edge rows of an <see cref="IDataView"/> into a <see cref="GraphBuilder"/>.</summary>
    internal static class GraphEdgeReader
    {
        public const string NodeAdvice = "Node columns may be Text, Key<UInt32> with key values, or integer ids (Int32, UInt32, Int64, UInt64).";

        /// <summary>A node (or user, item) id column's current value as text, valid until the next call; empty when missing.</summary>
        internal delegate ReadOnlySpan<char> NodeText();

        public static void CheckNodeColumn(SchemaShape schema, string name, string component)
        {
            var column = SchemaChecks.FindColumn(schema, name, component);
            bool ok = column.Kind == SchemaShape.Column.VectorKind.Scalar
                && (column.ItemType is TextDataViewType || (column.IsKey && column.ItemType.RawType == typeof(uint))
                    || (!column.IsKey && column.ItemType is NumberDataViewType && SchemaChecks.IsIntegerId(column.ItemType.RawType)));
            if (!ok)
                throw SchemaChecks.TypeMismatch(component, name, "a node id: Text, Key<UInt32> with key values, or an integer (Int32, UInt32, Int64, UInt64)", SchemaChecks.Describe(column), "");
            if (column.IsKey && !column.Annotations.Any(a => a.Name == SchemaChecks.KeyValuesKind))
                throw SchemaChecks.TypeMismatch(component, name, "a key column with key values (the KeyValues annotation that MapValueToKey adds)", SchemaChecks.Describe(column) + " without key values", "");
        }

        public static void CheckWeightColumn(SchemaShape schema, string name, string component)
        {
            var column = SchemaChecks.FindColumn(schema, name, component);
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.IsKey || !IsWeightType(column.ItemType.RawType))
                throw SchemaChecks.TypeMismatch(component, name, "a weight: Single, Double, Int32 or Int64", SchemaChecks.Describe(column), "");
        }

        private static bool IsWeightType(Type raw) => raw == typeof(float) || raw == typeof(double) || raw == typeof(int) || raw == typeof(long);

        public static void Read(IDataView edges, string sourceColumn, string targetColumn, string? weightColumn, GraphBuilder builder, string component)
        {
            var schema = edges.Schema;
            var shape = SchemaShapes.FromSchema(schema);
            CheckNodeColumn(shape, sourceColumn, component);
            CheckNodeColumn(shape, targetColumn, component);
            if (weightColumn is not null)
                CheckWeightColumn(shape, weightColumn, component);
            var source = schema[sourceColumn];
            var target = schema[targetColumn];
            var columns = weightColumn is null ? new[] { source, target } : new[] { source, target, schema[weightColumn] };
            using var cursor = edges.GetRowCursor(columns);
            NodeText readSource = NodeReader(cursor, source);
            NodeText readTarget = NodeReader(cursor, target);
            Func<double> readWeight = weightColumn is null ? () => 1.0 : WeightReader(cursor, schema[weightColumn]);
            string weightName = weightColumn ?? "(none)";
            long row = 0;
            while (cursor.MoveNext())
            {
                builder.AddEdge(row, readSource(), readTarget(), readWeight(), weightName);
                row++;
            }
        }

        /// <summary>Reads an id column (Text, Key with key values, or integers) of <paramref name="cursor"/> as text, without allocating.</summary>
        internal static NodeText NodeReader(DataViewRow cursor, DataViewSchema.Column column)
        {
            Type raw = column.Type.RawType;
            if (column.Type is TextDataViewType)
            {
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
                ReadOnlyMemory<char> value = default;
                return () =>
                {
                    getter(ref value);
                    return value.Span;
                };
            }
            if (column.Type is KeyDataViewType)
            {
                var values = SchemaChecks.KeyValueTexts(column);
                var getter = cursor.GetGetter<uint>(column);
                uint key = 0;
                return () =>
                {
                    getter(ref key);
                    return key == 0 || key > values.Length ? ReadOnlySpan<char>.Empty : values[key - 1];
                };
            }
            if (raw == typeof(int))
                return IntegerReader(cursor.GetGetter<int>(column));
            if (raw == typeof(uint))
                return IntegerReader(cursor.GetGetter<uint>(column));
            if (raw == typeof(long))
                return IntegerReader(cursor.GetGetter<long>(column));
            return IntegerReader(cursor.GetGetter<ulong>(column));
        }

        private static NodeText IntegerReader<T>(ValueGetter<T> getter)
            where T : ISpanFormattable
        {
            T value = default!;
            var buffer = new char[24];
            return () =>
            {
                getter(ref value);
                value.TryFormat(buffer, out int written, default, CultureInfo.InvariantCulture);
                return buffer.AsSpan(0, written);
            };
        }

        /// <summary>Reads a Single, Double, Int32 or Int64 column as double.</summary>
        internal static Func<double> WeightReader(DataViewRow cursor, DataViewSchema.Column column)
        {
            Type raw = column.Type.RawType;
            if (raw == typeof(float))
            {
                var getter = cursor.GetGetter<float>(column);
                float value = 0;
                return () =>
                {
                    getter(ref value);
                    return value;
                };
            }
            if (raw == typeof(double))
            {
                var getter = cursor.GetGetter<double>(column);
                double value = 0;
                return () =>
                {
                    getter(ref value);
                    return value;
                };
            }
            if (raw == typeof(int))
            {
                var getter = cursor.GetGetter<int>(column);
                int value = 0;
                return () =>
                {
                    getter(ref value);
                    return value;
                };
            }
            var longGetter = cursor.GetGetter<long>(column);
            long longValue = 0;
            return () =>
            {
                longGetter(ref longValue);
                return longValue;
            };
        }
    }
}
