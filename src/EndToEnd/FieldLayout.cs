using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.EndToEnd
{
    /// <summary>One categorical field of an end-to-end model, as trained.</summary>
    /// <param name="ColumnName">The input column.</param>
    /// <param name="IsMultiValued">True for a vector of keys (mean-pooled in the deep part, summed in the wide part).</param>
    /// <param name="KeyCount">The training column's key count; the field's table has KeyCount + 1 rows, row 0 the "missing" row.</param>
    /// <param name="KeyTexts">The training column's key value texts (index k - 1 for key k), or null when it had none.</param>
    internal sealed record FieldSpec(string ColumnName, bool IsMultiValued, int KeyCount, string[]? KeyTexts)
    {
        public int Rows => KeyCount + 1;
    }

    /// <summary>
    /// The columns an end-to-end model reads and how it maps them: fields, numeric features, crosses, label. Built from the
    /// training schema; checks every other schema (validation, scoring) against it, naming the column and the fix.
    /// </summary>
    internal sealed class FieldLayout
    {
        /// <summary>The largest table a field may have (rows × dimension floats in one array).</summary>
        private const long MaxTableFloats = 0x7FFFFFC7; // Array.MaxLength

        public FieldLayout(string labelColumn, EndToEndObjective objective, FieldSpec[] fields, string? numericColumn, int numericDimension,
            int[][] crosses, int crossHashBits)
        {
            LabelColumn = labelColumn;
            Objective = objective;
            Fields = fields;
            NumericColumn = numericColumn;
            NumericDimension = numericDimension;
            Crosses = crosses;
            CrossHashBits = crossHashBits;
        }

        public string LabelColumn { get; }

        public EndToEndObjective Objective { get; }

        public FieldSpec[] Fields { get; }

        public string? NumericColumn { get; }

        public int NumericDimension { get; }

        /// <summary>Each cross's field indices.</summary>
        public int[][] Crosses { get; }

        public int CrossHashBits { get; }

        public int IndexOf(string column) => Array.FindIndex(Fields, f => f.ColumnName == column);

        public static FieldLayout FromSchema(DataViewSchema schema, EndToEndEmbeddingEstimator.Options options, string component)
        {
            var fields = new FieldSpec[options.CategoricalColumnNames.Count];
            for (int f = 0; f < fields.Length; f++)
            {
                string name = options.CategoricalColumnNames[f];
                var column = SchemaChecks.FindColumn(schema, name, component);
                var (multi, count) = KeyShape(column.Type, name, component);
                long tableFloats = (count + 1L) * options.EmbeddingDimension;
                if (tableFloats > MaxTableFloats)
                    throw new ArgumentOutOfRangeException("inputSchema",
                        $"{component}: field '{name}' has {count:N0} keys; its table of {count + 1L:N0} x {options.EmbeddingDimension} floats exceeds one array. Hash the column to fewer keys or lower EmbeddingDimension.");
                string[]? texts = column.Annotations.Schema.GetColumnOrNull(SchemaChecks.KeyValuesKind) is null ? null : SchemaChecks.KeyValueTexts(column);
                fields[f] = new FieldSpec(name, multi, (int)count, texts);
            }
            int numericDimension = 0;
            if (options.NumericFeaturesColumnName is { } numeric)
                numericDimension = NumericShape(SchemaChecks.FindColumn(schema, numeric, component).Type, numeric, component);
            CheckLabel(SchemaChecks.FindColumn(schema, options.LabelColumnName, component).Type, options.LabelColumnName, options.Objective, component);
            var crosses = options.WideCrosses.Select(c => c.Select(n => Array.FindIndex(fields, f => f.ColumnName == n)).ToArray()).ToArray();
            foreach (var (field, start) in options.PretrainedEmbeddings)
            {
                var spec = fields.First(f => f.ColumnName == field);
                if (spec.KeyTexts is null)
                    throw new ArgumentOutOfRangeException("inputSchema",
                        $"{component}: PretrainedEmbeddings names field '{field}', whose key column has no key values to match against the table's keys. Map the column with MapValueToKey (which records the values) before this estimator.");
            }
            return new FieldLayout(options.LabelColumnName, options.Objective, fields, options.NumericFeaturesColumnName, numericDimension, crosses, options.CrossHashBits);
        }

        /// <summary>The estimator-time check of the input shape, with the same messages as <see cref="FromSchema"/>.</summary>
        public static void CheckShape(SchemaShape shape, EndToEndEmbeddingEstimator.Options options, string component)
        {
            foreach (string name in options.CategoricalColumnNames)
            {
                var column = SchemaChecks.FindColumn(shape, name, component);
                if (!column.IsKey || column.ItemType.RawType != typeof(uint))
                    throw SchemaChecks.TypeMismatch(component, name, "Key<UInt32> or a vector of Key<UInt32>", SchemaChecks.Describe(column),
                        "Map the values to keys first, e.g. mlContext.Transforms.Conversion.MapValueToKey.");
            }
            if (options.NumericFeaturesColumnName is { } numeric)
            {
                var column = SchemaChecks.FindColumn(shape, numeric, component);
                if (column.Kind != SchemaShape.Column.VectorKind.Vector || column.IsKey || column.ItemType != NumberDataViewType.Single)
                    throw SchemaChecks.TypeMismatch(component, numeric, "a known-size Vector<Single>", SchemaChecks.Describe(column),
                        "Concatenate the numeric features into one Single vector (mlContext.Transforms.Concatenate).");
            }
            var label = SchemaChecks.FindColumn(shape, options.LabelColumnName, component);
            bool ok = label.Kind == SchemaShape.Column.VectorKind.Scalar && !label.IsKey &&
                (label.ItemType == NumberDataViewType.Single || (options.Objective == EndToEndObjective.BinaryClassification && label.ItemType == BooleanDataViewType.Instance));
            if (!ok)
                throw SchemaChecks.TypeMismatch(component, options.LabelColumnName, LabelExpected(options.Objective), SchemaChecks.Describe(label), LabelAdvice(options.Objective));
        }

        /// <summary>Checks that <paramref name="schema"/> has every field (as keys) and the numeric column (same length); the label is checked when <paramref name="needsLabel"/>.</summary>
        public void CheckCompatible(DataViewSchema schema, string role, bool needsLabel = true)
        {
            string component = $"{nameof(EndToEndEmbeddingEstimator)} ({role} data)";
            foreach (var field in Fields)
            {
                var (multi, _) = KeyShape(SchemaChecks.FindColumn(schema, field.ColumnName, component).Type, field.ColumnName, component);
                if (multi != field.IsMultiValued)
                    throw SchemaChecks.TypeMismatch(component, field.ColumnName, field.IsMultiValued ? "a vector of Key<UInt32>" : "Key<UInt32>",
                        multi ? "a vector of Key<UInt32>" : "Key<UInt32>", "Prepare this data with the same pipeline as the training data.");
            }
            if (NumericColumn is not null)
            {
                int dimension = NumericShape(SchemaChecks.FindColumn(schema, NumericColumn, component).Type, NumericColumn, component);
                if (dimension != NumericDimension)
                    throw SchemaChecks.TypeMismatch(component, NumericColumn, $"Vector<Single, {NumericDimension}>", $"Vector<Single, {dimension}>",
                        "Prepare this data with the same pipeline as the training data.");
            }
            if (needsLabel)
                CheckLabel(SchemaChecks.FindColumn(schema, LabelColumn, component).Type, LabelColumn, Objective, component);
        }

        /// <summary>
        /// For each field, the table row of every key number of <paramref name="schema"/>'s column (index 0, the missing key,
        /// and keys the model does not know give row 0). Keys match by their value text when both the training and this
        /// column have key values, else by number.
        /// </summary>
        public int[][] KeyRowMaps(DataViewSchema schema)
        {
            var maps = new int[Fields.Length][];
            for (int f = 0; f < Fields.Length; f++)
            {
                var spec = Fields[f];
                var column = schema[spec.ColumnName];
                var keyType = (KeyDataViewType)(column.Type is VectorDataViewType v ? v.ItemType : column.Type);
                long count = (long)Math.Min(keyType.Count, (ulong)int.MaxValue - 1);
                bool byText = spec.KeyTexts is not null && column.Annotations.Schema.GetColumnOrNull(SchemaChecks.KeyValuesKind) is not null;
                var map = new int[count + 1];
                if (byText)
                {
                    var index = new Dictionary<string, int>(spec.KeyTexts!.Length, StringComparer.Ordinal);
                    for (int k = 0; k < spec.KeyTexts.Length; k++)
                        index.TryAdd(spec.KeyTexts[k], k + 1);
                    string[] texts = SchemaChecks.KeyValueTexts(column);
                    for (int k = 1; k <= count && k <= texts.Length; k++)
                        map[k] = index.TryGetValue(texts[k - 1], out int row) ? row : 0;
                }
                else
                {
                    for (int k = 1; k <= count; k++)
                        map[k] = k <= spec.KeyCount ? k : 0;
                }
                maps[f] = map;
            }
            return maps;
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(LabelColumn);
            writer.Write((int)Objective);
            writer.Write(Fields.Length);
            foreach (var field in Fields)
            {
                writer.Write(field.ColumnName);
                writer.Write(field.IsMultiValued);
                writer.Write(field.KeyCount);
                writer.Write(field.KeyTexts is not null);
                if (field.KeyTexts is not null)
                {
                    writer.Write(field.KeyTexts.Length);
                    foreach (string text in field.KeyTexts)
                        writer.Write(text);
                }
            }
            writer.Write(NumericColumn is not null);
            if (NumericColumn is not null)
                writer.Write(NumericColumn);
            writer.Write(NumericDimension);
            writer.Write(Crosses.Length);
            foreach (var cross in Crosses)
            {
                writer.Write(cross.Length);
                foreach (int f in cross)
                    writer.Write(f);
            }
            writer.Write(CrossHashBits);
        }

        public static FieldLayout Read(BinaryReader reader)
        {
            const string what = nameof(EndToEndEmbeddingTransformer);
            string label = reader.ReadString();
            var objective = (EndToEndObjective)reader.ReadInt32();
            if (!Enum.IsDefined(objective))
                throw new FormatException($"{what}: unknown objective {(int)objective} in the saved model.");
            int fieldCount = reader.ReadInt32();
            if (fieldCount is < 0 or > 1 << 16)
                throw new FormatException($"{what}: invalid field count {fieldCount} in the saved model.");
            var fields = new FieldSpec[fieldCount];
            for (int f = 0; f < fieldCount; f++)
            {
                string name = reader.ReadString();
                bool multi = reader.ReadBoolean();
                int count = reader.ReadInt32();
                if (count < 1 || count == int.MaxValue)
                    throw new FormatException($"{what}: invalid key count {count} of field '{name}' in the saved model.");
                string[]? texts = reader.ReadBoolean() ? BinaryState.ReadStrings(reader, reader.ReadInt32(), $"key values of field '{name}'") : null;
                if (texts is not null && texts.Length > count)
                    throw new FormatException($"{what}: field '{name}' has {texts.Length} key values for {count} keys in the saved model.");
                fields[f] = new FieldSpec(name, multi, count, texts);
            }
            string? numeric = reader.ReadBoolean() ? reader.ReadString() : null;
            int numericDimension = reader.ReadInt32();
            if (numericDimension < 0 || (numeric is null) != (numericDimension == 0))
                throw new FormatException($"{what}: invalid numeric feature length {numericDimension} in the saved model.");
            int crossCount = reader.ReadInt32();
            if (crossCount is < 0 or > 1 << 16)
                throw new FormatException($"{what}: invalid cross count {crossCount} in the saved model.");
            var crosses = new int[crossCount][];
            for (int c = 0; c < crossCount; c++)
            {
                int length = reader.ReadInt32();
                if (length < 2 || length > fieldCount)
                    throw new FormatException($"{what}: invalid cross length {length} in the saved model.");
                crosses[c] = new int[length];
                for (int i = 0; i < length; i++)
                {
                    crosses[c][i] = reader.ReadInt32();
                    if ((uint)crosses[c][i] >= (uint)fieldCount)
                        throw new FormatException($"{what}: cross field index {crosses[c][i]} out of range in the saved model.");
                }
            }
            int bits = reader.ReadInt32();
            if (bits is < 1 or > 30)
                throw new FormatException($"{what}: invalid cross hash bits {bits} in the saved model.");
            return new FieldLayout(label, objective, fields, numeric, numericDimension, crosses, bits);
        }

        private static (bool Multi, long Count) KeyShape(DataViewType type, string name, string component)
        {
            bool multi = type is VectorDataViewType;
            var item = type is VectorDataViewType v ? v.ItemType : type;
            if (item is not KeyDataViewType key || key.RawType != typeof(uint))
                throw SchemaChecks.TypeMismatch(component, name, "Key<UInt32> or a vector of Key<UInt32>", Describe(type),
                    "Map the values to keys first, e.g. mlContext.Transforms.Conversion.MapValueToKey.");
            if (key.Count == 0 || key.Count >= int.MaxValue)
                throw SchemaChecks.TypeMismatch(component, name, "Key<UInt32> with a known key count", Describe(type),
                    "Use MapValueToKey, which gives the key count, or a key type with a count.");
            return (multi, (long)key.Count);
        }

        private static int NumericShape(DataViewType type, string name, string component)
        {
            if (type is not VectorDataViewType { ItemType: NumberDataViewType n } vector || n != NumberDataViewType.Single || !vector.IsKnownSize)
                throw SchemaChecks.TypeMismatch(component, name, "a known-size Vector<Single>", Describe(type),
                    "Concatenate the numeric features into one Single vector (mlContext.Transforms.Concatenate).");
            return vector.Size;
        }

        private static void CheckLabel(DataViewType type, string name, EndToEndObjective objective, string component)
        {
            bool ok = type == NumberDataViewType.Single || (objective == EndToEndObjective.BinaryClassification && type == BooleanDataViewType.Instance);
            if (!ok)
                throw SchemaChecks.TypeMismatch(component, name, LabelExpected(objective), Describe(type), LabelAdvice(objective));
        }

        private static string LabelExpected(EndToEndObjective objective) =>
            objective == EndToEndObjective.BinaryClassification ? "Boolean (or Single, positive when > 0)" : "Single";

        private static string LabelAdvice(EndToEndObjective objective) =>
            objective == EndToEndObjective.BinaryClassification
                ? "Convert the label, e.g. with mlContext.Transforms.Expression or CustomMapping to a Boolean."
                : "Convert the label to Single, e.g. mlContext.Transforms.Conversion.ConvertType.";

        private static string Describe(DataViewType type) => type switch
        {
            VectorDataViewType v => $"Vector<{Describe(v.ItemType)}{(v.IsKnownSize ? ", " + v.Size : "")}>",
            KeyDataViewType k => $"Key<{k.RawType.Name}>",
            _ => type.ToString() ?? type.RawType.Name,
        };
    }
}
