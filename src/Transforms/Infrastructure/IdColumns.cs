using System;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Reads the current row's id as text, without allocating; valid until the next call. Empty means missing (a
    /// missing key, key 0, or empty text).
    /// </summary>
    public delegate ReadOnlySpan<char> IdTextGetter();

    /// <summary>
    /// The one reader of id, weight and time columns that every trainer of interaction rows and edges uses: checks an
    /// input schema (naming column, expected and actual type) and reads values row by row without allocating.
    /// </summary>
    /// <remarks>
    /// Ids may be Text, <c>Key&lt;UInt32&gt;</c> with key values (read through their values, never by key number), or
    /// integers (Int32, UInt32, Int64, UInt64, read as their invariant text). Weights and times are numbers; times may
    /// also be DateTime (read as ticks).
    /// </remarks>
    public static class IdColumns
    {
        /// <summary>What an id column may hold, for error messages.</summary>
        public const string IdAdvice = "Id columns may be Text, Key<UInt32> with key values, or integer ids (Int32, UInt32, Int64, UInt64).";

        /// <summary>Throws unless <paramref name="name"/> is a scalar id column of <paramref name="schema"/>.</summary>
        /// <param name="schema">The input schema.</param>
        /// <param name="name">The id column (users, items or graph nodes).</param>
        /// <param name="component">The component named in the message.</param>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing or of another type.</exception>
        public static void CheckId(SchemaShape schema, string name, string component)
        {
            var column = SchemaChecks.FindColumn(schema, name, component);
            bool ok = column.Kind == SchemaShape.Column.VectorKind.Scalar
                && (column.ItemType is TextDataViewType || (column.IsKey && column.ItemType.RawType == typeof(uint))
                    || (!column.IsKey && column.ItemType is NumberDataViewType && SchemaChecks.IsIntegerId(column.ItemType.RawType)));
            if (!ok)
                throw SchemaChecks.TypeMismatch(component, name, "an id: Text, Key<UInt32> with key values, or an integer (Int32, UInt32, Int64, UInt64)", SchemaChecks.Describe(column), "");
            if (column.IsKey && !column.Annotations.Any(a => a.Name == SchemaChecks.KeyValuesKind))
                throw SchemaChecks.TypeMismatch(component, name, "a key column with key values (the KeyValues annotation that MapValueToKey adds)", SchemaChecks.Describe(column) + " without key values", "");
        }

        /// <summary>The <see cref="DataViewSchema"/> form of <see cref="CheckId(SchemaShape, string, string)"/>: returns the column.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing or of another type.</exception>
        public static DataViewSchema.Column CheckId(DataViewSchema schema, string name, string component)
        {
            ArgumentNullException.ThrowIfNull(schema);
            CheckId(SchemaShapes.FromSchema(schema), name, component);
            return schema[name];
        }

        /// <summary>Throws unless <paramref name="name"/> is a scalar Single, Double, Int32 or Int64 column (a weight).</summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing or of another type.</exception>
        public static void CheckWeight(SchemaShape schema, string name, string component)
        {
            var column = SchemaChecks.FindColumn(schema, name, component);
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.IsKey || !IsNumber(column.ItemType.RawType))
                throw SchemaChecks.TypeMismatch(component, name, "a weight: Single, Double, Int32 or Int64", SchemaChecks.Describe(column), "");
        }

        /// <summary>Throws unless <paramref name="name"/> (when not null) is a scalar Single, Double, Int32, Int64 or DateTime column (a time).</summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing or of another type.</exception>
        public static void CheckTime(SchemaShape schema, string? name, string component)
        {
            if (name is null)
                return;
            var column = SchemaChecks.FindColumn(schema, name, component);
            Type raw = column.ItemType.RawType;
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.IsKey || !(IsNumber(raw) || raw == typeof(DateTime)))
                throw SchemaChecks.TypeMismatch(component, name, "a time: Single, Double, Int32, Int64 or DateTime", SchemaChecks.Describe(column), "");
        }

        private static bool IsNumber(Type raw) => raw == typeof(float) || raw == typeof(double) || raw == typeof(int) || raw == typeof(long);

        /// <summary>Reads an id column (checked with <see cref="CheckId(SchemaShape, string, string)"/>) of <paramref name="row"/> as text.</summary>
        public static IdTextGetter GetIdGetter(DataViewRow row, DataViewSchema.Column column)
        {
            ArgumentNullException.ThrowIfNull(row);
            Type raw = column.Type.RawType;
            if (column.Type is TextDataViewType)
            {
                var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
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
                var getter = row.GetGetter<uint>(column);
                uint key = 0;
                return () =>
                {
                    getter(ref key);
                    return key == 0 || key > values.Length ? ReadOnlySpan<char>.Empty : values[key - 1];
                };
            }
            if (raw == typeof(int))
                return IntegerGetter(row.GetGetter<int>(column));
            if (raw == typeof(uint))
                return IntegerGetter(row.GetGetter<uint>(column));
            if (raw == typeof(long))
                return IntegerGetter(row.GetGetter<long>(column));
            return IntegerGetter(row.GetGetter<ulong>(column));
        }

        private static IdTextGetter IntegerGetter<T>(ValueGetter<T> getter)
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

        /// <summary>Reads a weight column (checked with <see cref="CheckWeight"/>) of <paramref name="row"/> as Double.</summary>
        public static Func<double> GetNumberGetter(DataViewRow row, DataViewSchema.Column column)
        {
            ArgumentNullException.ThrowIfNull(row);
            Type raw = column.Type.RawType;
            // One closure per type: no conversion delegate on this per-row path.
            if (raw == typeof(float))
            {
                var getter = row.GetGetter<float>(column);
                float value = 0;
                return () =>
                {
                    getter(ref value);
                    return value;
                };
            }
            if (raw == typeof(double))
            {
                var getter = row.GetGetter<double>(column);
                double value = 0;
                return () =>
                {
                    getter(ref value);
                    return value;
                };
            }
            if (raw == typeof(int))
            {
                var getter = row.GetGetter<int>(column);
                int value = 0;
                return () =>
                {
                    getter(ref value);
                    return value;
                };
            }
            var longGetter = row.GetGetter<long>(column);
            long longValue = 0;
            return () =>
            {
                longGetter(ref longValue);
                return longValue;
            };
        }

        /// <summary>Reads a time column (checked with <see cref="CheckTime"/>) of <paramref name="row"/> as Double; DateTime as ticks.</summary>
        public static Func<double> GetTimeGetter(DataViewRow row, DataViewSchema.Column column)
        {
            ArgumentNullException.ThrowIfNull(row);
            if (column.Type.RawType != typeof(DateTime))
                return GetNumberGetter(row, column);
            var getter = row.GetGetter<DateTime>(column);
            DateTime date = default;
            return () =>
            {
                getter(ref date);
                return date.Ticks;
            };
        }
    }
}
