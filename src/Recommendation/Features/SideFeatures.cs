using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Recommendation
{
    /// <summary>How one column of side information becomes feature slots.</summary>
    internal enum SideColumnKind
    {
        /// <summary>A number (Single, Double, integers, Boolean): one slot.</summary>
        Number = 0,

        /// <summary>A known-size vector of numbers: one slot per element.</summary>
        NumberVector = 1,

        /// <summary>A key: one slot per key value, 1 for the row's key (one-hot).</summary>
        OneHot = 2,

        /// <summary>A vector of keys (a multi-valued field such as genres): one slot per key value, 1 for each of the row's keys.</summary>
        MultiHot = 3,
    }

    /// <summary>One column of side information and its slots.</summary>
    internal sealed record SideColumn(string Name, SideColumnKind Kind, int Offset, int Width, string[] SlotNames)
    {
        /// <summary>Key columns (one- or multi-hot) also give a user-affinity slot: the user's profile over the keys dotted with the item's keys.</summary>
        public bool IsCategorical => Kind is SideColumnKind.OneHot or SideColumnKind.MultiHot;
    }

    /// <summary>
    /// The slots of a side-information view (users' or items'): every column but the id column, keys one- or multi-hot
    /// (at most <see cref="MaxKeySlots"/> key values), numbers as they are. Derived from the schema alone, so the estimator
    /// knows the feature vector's length before training.
    /// </summary>
    internal sealed class SideLayout
    {
        /// <summary>The most key values a key column may have (one slot each).</summary>
        public const int MaxKeySlots = 1024;

        public SideLayout(SideColumn[] columns)
        {
            Columns = columns;
            Width = columns.Sum(c => c.Width);
        }

        public SideColumn[] Columns { get; }

        public int Width { get; }

        public static SideLayout Empty { get; } = new([]);

        /// <summary>The layout of <paramref name="schema"/>'s columns other than <paramref name="idColumn"/>; slot names start with <paramref name="prefix"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The id column is missing or not an id, or a column is neither keys nor numbers.</exception>
        public static SideLayout FromSchema(DataViewSchema schema, string idColumn, string prefix, string component)
        {
            IdColumns.CheckId(schema, idColumn, component);
            var columns = new List<SideColumn>();
            int offset = 0;
            foreach (var column in schema)
            {
                if (column.IsHidden || column.Name == idColumn)
                    continue;
                var type = column.Type;
                var item = type is VectorDataViewType v ? v.ItemType : type;
                SideColumn side;
                if (item is KeyDataViewType key)
                {
                    if (key.Count == 0 || key.Count > MaxKeySlots)
                        throw SchemaChecks.TypeMismatch(component, column.Name, $"keys with 1 to {MaxKeySlots} values", $"{type} with {key.Count} key values",
                            "Side information keys become one slot per key value: bucket the column to fewer values, or give it as a number.");
                    var names = SlotNames(column, (int)key.Count);
                    side = new SideColumn(column.Name, type is VectorDataViewType ? SideColumnKind.MultiHot : SideColumnKind.OneHot, offset, (int)key.Count,
                        names.Select(n => $"{prefix}{column.Name}={n}").ToArray());
                }
                else if (IsNumber(item))
                {
                    if (type is VectorDataViewType vector)
                    {
                        if (!vector.IsKnownSize || (item.RawType != typeof(float) && item.RawType != typeof(double)))
                            throw SchemaChecks.TypeMismatch(component, column.Name, "a number, a known-size vector of numbers, a key or a vector of keys", type.ToString()!,
                                "Give a known-size vector of Single or Double (variable-length values as a vector of keys), or drop the column (mlContext.Transforms.DropColumns).");
                        side = new SideColumn(column.Name, SideColumnKind.NumberVector, offset, vector.Size,
                            Enumerable.Range(0, vector.Size).Select(i => $"{prefix}{column.Name}[{i}]").ToArray());
                    }
                    else
                    {
                        side = new SideColumn(column.Name, SideColumnKind.Number, offset, 1, [$"{prefix}{column.Name}"]);
                    }
                }
                else
                {
                    throw SchemaChecks.TypeMismatch(component, column.Name, "a number (Single, Double, Int32, Int64, Boolean), a known-size vector of Single or Double, a key or a vector of keys", type.ToString()!,
                        "Map text to keys first (mlContext.Transforms.Conversion.MapValueToKey), or drop the column (mlContext.Transforms.DropColumns).");
                }
                columns.Add(side);
                offset += side.Width;
            }
            return new SideLayout(columns.ToArray());
        }

        /// <summary>The number types read: Single, Double, Int32, Int64 and Boolean (1 for true).</summary>
        private static bool IsNumber(DataViewType type) =>
            type == BooleanDataViewType.Instance || type.RawType == typeof(float) || type.RawType == typeof(double) || type.RawType == typeof(int) || type.RawType == typeof(long);

        private static string[] SlotNames(DataViewSchema.Column column, int count)
        {
            string[] texts = column.Annotations.Schema.GetColumnOrNull(SchemaChecks.KeyValuesKind) is null ? [] : SchemaChecks.KeyValueTexts(column);
            return Enumerable.Range(0, count).Select(k => k < texts.Length ? texts[k] : (k + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(Columns.Length);
            foreach (var c in Columns)
            {
                writer.Write(c.Name);
                writer.Write((int)c.Kind);
                writer.Write(c.Width);
                foreach (string name in c.SlotNames)
                    writer.Write(name);
            }
        }

        public static SideLayout Read(BinaryReader reader)
        {
            int count = reader.ReadInt32();
            if (count is < 0 or > 1 << 16)
                throw new FormatException($"Recommendation features: invalid side column count {count} in the saved model.");
            var columns = new SideColumn[count];
            int offset = 0;
            for (int c = 0; c < count; c++)
            {
                string name = reader.ReadString();
                var kind = (SideColumnKind)reader.ReadInt32();
                int width = reader.ReadInt32();
                if (!Enum.IsDefined(kind) || width is < 1 or > 1 << 20)
                    throw new FormatException($"Recommendation features: invalid side column '{name}' ({(int)kind}, width {width}) in the saved model.");
                columns[c] = new SideColumn(name, kind, offset, width, BinaryState.ReadStrings(reader, width, "side feature slot names"));
                offset += width;
            }
            return new SideLayout(columns);
        }
    }

    /// <summary>
    /// The side information of one kind of entity (users or items), aligned with the feature state's users or catalog:
    /// <see cref="SideLayout.Width"/> values per entity, zeros for entities the side view does not list.
    /// </summary>
    internal sealed class SideTable
    {
        public SideTable(SideLayout layout, float[] values)
        {
            Layout = layout;
            Values = values;
        }

        public SideLayout Layout { get; }

        public float[] Values { get; }

        public ReadOnlySpan<float> Row(int index) => Values.AsSpan(index * Layout.Width, Layout.Width);

        /// <summary>A table of <paramref name="count"/> rows of zeros.</summary>
        public static SideTable Zeros(SideLayout layout, int count) => new(layout, new float[(long)count * layout.Width]);

        /// <summary>Reads <paramref name="data"/> into rows aligned with <paramref name="ids"/>: each id's row, zeros for ids the data does not list; the first row of a repeated id wins.</summary>
        public static SideTable Read(IDataView data, string idColumn, SideLayout layout, IReadOnlyList<string> ids)
        {
            var index = new Dictionary<string, int>(ids.Count, StringComparer.Ordinal);
            for (int i = 0; i < ids.Count; i++)
                index[ids[i]] = i;
            var values = new float[(long)ids.Count * layout.Width];
            var filled = new bool[ids.Count];
            var schema = data.Schema;
            var columns = layout.Columns.Select(c => schema[c.Name]).Append(schema[idColumn]).ToArray();
            using var cursor = data.GetRowCursor(columns);
            var id = IdColumns.GetIdGetter(cursor, schema[idColumn]);
            var readers = layout.Columns.Select(c => Reader(cursor, schema[c.Name], c)).ToArray();
            while (cursor.MoveNext())
            {
                var text = id();
                if (text.IsEmpty || !index.TryGetValue(text.ToString(), out int row) || filled[row])
                    continue;
                filled[row] = true;
                var target = values.AsSpan(row * layout.Width, layout.Width);
                for (int c = 0; c < readers.Length; c++)
                    readers[c](target.Slice(layout.Columns[c].Offset, layout.Columns[c].Width));
            }
            return new SideTable(layout, values);
        }

        private delegate void SlotWriter(Span<float> slots);

        private static SlotWriter Reader(DataViewRow row, DataViewSchema.Column column, SideColumn side)
        {
            switch (side.Kind)
            {
                case SideColumnKind.OneHot:
                    {
                        var get = row.GetGetter<uint>(column);
                        uint key = 0;
                        return slots =>
                        {
                            get(ref key);
                            if (key >= 1 && key <= slots.Length)
                                slots[(int)key - 1] = 1;
                        };
                    }
                case SideColumnKind.MultiHot:
                    {
                        var get = row.GetGetter<VBuffer<uint>>(column);
                        VBuffer<uint> keys = default;
                        return slots =>
                        {
                            get(ref keys);
                            foreach (var (_, key) in keys.Items())
                            {
                                if (key >= 1 && key <= slots.Length)
                                    slots[(int)key - 1] = 1;
                            }
                        };
                    }
                case SideColumnKind.NumberVector:
                    {
                        var get = NumberVectorGetter(row, column);
                        return get;
                    }
                default:
                    {
                        if (column.Type == BooleanDataViewType.Instance)
                        {
                            var flag = row.GetGetter<bool>(column);
                            bool b = false;
                            return slots =>
                            {
                                flag(ref b);
                                slots[0] = b ? 1 : 0;
                            };
                        }
                        var get = IdColumns.GetNumberGetter(row, column);
                        return slots =>
                        {
                            double value = get();
                            slots[0] = double.IsFinite(value) ? (float)value : 0;
                        };
                    }
            }
        }

        private static SlotWriter NumberVectorGetter(DataViewRow row, DataViewSchema.Column column)
        {
            var item = ((VectorDataViewType)column.Type).ItemType.RawType;
            if (item == typeof(float))
            {
                var get = row.GetGetter<VBuffer<float>>(column);
                VBuffer<float> buffer = default;
                return slots =>
                {
                    get(ref buffer);
                    foreach (var (i, v) in buffer.Items())
                        slots[i] = float.IsFinite(v) ? v : 0;
                };
            }
            if (item == typeof(double))
            {
                var get = row.GetGetter<VBuffer<double>>(column);
                VBuffer<double> buffer = default;
                return slots =>
                {
                    get(ref buffer);
                    foreach (var (i, v) in buffer.Items())
                        slots[i] = double.IsFinite(v) ? (float)v : 0;
                };
            }
            throw SchemaChecks.TypeMismatch(RecommendationFeaturesEstimator.ComponentName, column.Name, "a vector of Single or Double", column.Type.ToString()!,
                "Convert the vector to Single (mlContext.Transforms.Conversion.ConvertType).");
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(Values.LongLength);
            BinaryState.Write<float>(writer, Values);
        }

        public static SideTable Read(BinaryReader reader, SideLayout layout, int rows)
        {
            long length = reader.ReadInt64();
            if (length != (long)rows * layout.Width)
                throw new FormatException($"Recommendation features: {length} side values where {rows} x {layout.Width} are needed; the model is damaged.");
            return new SideTable(layout, BinaryState.ReadArray<float>(reader, length, "side feature values"));
        }
    }
}
