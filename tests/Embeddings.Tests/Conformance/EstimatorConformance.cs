using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Conformance
{
    /// <summary>An input that the estimator must reject at schema time, and words its message must contain.</summary>
    public sealed record InvalidInput(string Description, IDataView Data, params string[] MessageMustContain)
    {
        /// <summary>
        /// True when the fitted transformer legitimately accepts this input although the estimator cannot train on it
        /// (a trained skip-gram model maps single items, but trains only on sequences).
        /// </summary>
        public bool FittedTransformerAccepts { get; init; }
    }

    /// <summary>
    /// The checks every estimator of the library passes (after ML.NET's TestEstimatorCore): schema propagation,
    /// rejection of invalid input at schema time with a message naming column and types, save/load identity in a new
    /// MLContext, and agreement of the row-to-row mapper (what PredictionEngine uses) with Transform.
    /// </summary>
    public static class EstimatorConformance
    {
        public static ITransformer Check<TTransformer>(IEstimator<TTransformer> estimator, IDataView data, params InvalidInput[] invalidInputs)
            where TTransformer : class, ITransformer
        {
            // 1. Schema propagation: GetOutputSchema(SchemaShape) agrees with the fitted transformer and with Transform.
            var shape = estimator.GetOutputSchema(Embeddings.Infrastructure.SchemaShapes.FromSchema(data.Schema));
            TTransformer transformer = estimator.Fit(data);
            var outputSchema = transformer.GetOutputSchema(data.Schema);
            var transformed = transformer.Transform(data);
            AssertSameSchema(outputSchema, transformed.Schema);
            foreach (var column in outputSchema.Where(c => !c.IsHidden))
            {
                var shapeColumn = shape.FirstOrDefault(c => c.Name == column.Name);
                Assert.That(shapeColumn.Name, Is.EqualTo(column.Name), $"GetOutputSchema(SchemaShape) lacks column '{column.Name}'.");
                var fromSchema = Embeddings.Infrastructure.SchemaShapes.FromSchema(outputSchema).Single(c => c.Name == column.Name);
                Assert.That(shapeColumn.Kind, Is.EqualTo(fromSchema.Kind), $"Kind of '{column.Name}'");
                Assert.That(shapeColumn.IsKey, Is.EqualTo(fromSchema.IsKey), $"IsKey of '{column.Name}'");
                Assert.That(shapeColumn.ItemType.RawType, Is.EqualTo(fromSchema.ItemType.RawType), $"Item type of '{column.Name}'");
            }
            Assert.That(shape.Count, Is.EqualTo(outputSchema.Count(c => !c.IsHidden)), "GetOutputSchema(SchemaShape) has columns the transformer does not produce.");

            // 2. Invalid input fails at schema time, with a message naming the column and the types.
            foreach (var invalid in invalidInputs)
            {
                var fromShape = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => estimator.GetOutputSchema(Embeddings.Infrastructure.SchemaShapes.FromSchema(invalid.Data.Schema)), invalid.Description);
                var fromFit = Assert.Throws(Is.InstanceOf<ArgumentException>(), () => estimator.Fit(invalid.Data), invalid.Description);
                var fromTransformer = invalid.FittedTransformerAccepts
                    ? fromFit
                    : Assert.Throws(Is.InstanceOf<ArgumentException>(), () => transformer.GetOutputSchema(invalid.Data.Schema), invalid.Description);
                if (invalid.FittedTransformerAccepts)
                    Assert.That(transformer.GetOutputSchema(invalid.Data.Schema).Count, Is.GreaterThan(0));
                foreach (var words in invalid.MessageMustContain)
                {
                    Assert.That(fromShape!.Message, Does.Contain(words), $"{invalid.Description}: GetOutputSchema message");
                    Assert.That(fromFit!.Message, Does.Contain(words), $"{invalid.Description}: Fit message");
                    Assert.That(fromTransformer!.Message, Does.Contain(words), $"{invalid.Description}: transformer message");
                }
            }

            // 3. Save with mlContext.Model.Save, load in a new MLContext: identical output on every row.
            var reloaded = SaveAndLoad(transformer, data.Schema);
            AssertSameValues(transformed, reloaded.Transform(data));

            // 4. The row-to-row mapper (PredictionEngine's path) agrees with Transform, also behind a built-in transform.
            Assert.That(transformer.IsRowToRowMapper, Is.True);
            AssertMapperMatchesTransform(transformer, data);
            return transformer;
        }

        public static ITransformer SaveAndLoad(ITransformer transformer, DataViewSchema inputSchema)
        {
            string path = Path.Combine(Path.GetTempPath(), $"embeddings-conformance-{Guid.NewGuid():N}.zip");
            try
            {
                new MLContext(seed: 1).Model.Save(transformer, inputSchema, path);
                var fresh = new MLContext(seed: 2);
                var loaded = fresh.Model.Load(path, out var loadedSchema);
                Assert.That(loadedSchema.Select(c => c.Name), Is.EqualTo(inputSchema.Select(c => c.Name)));
                return loaded;
            }
            finally
            {
                File.Delete(path);
            }
        }

        public static void AssertSameSchema(DataViewSchema expected, DataViewSchema actual)
        {
            Assert.That(actual.Count, Is.EqualTo(expected.Count), "column count");
            for (int i = 0; i < expected.Count; i++)
            {
                Assert.That(actual[i].Name, Is.EqualTo(expected[i].Name), $"name of column {i}");
                Assert.That(actual[i].Type, Is.EqualTo(expected[i].Type), $"type of column '{expected[i].Name}'");
                Assert.That(actual[i].IsHidden, Is.EqualTo(expected[i].IsHidden), $"hidden flag of column '{expected[i].Name}'");
            }
        }

        /// <summary>Every visible column equal on every row; floats compared bit for bit.</summary>
        public static void AssertSameValues(IDataView expected, IDataView actual)
        {
            AssertSameSchema(expected.Schema, actual.Schema);
            foreach (var column in expected.Schema.Where(c => !c.IsHidden))
            {
                var a = ColumnValues(expected, column.Name);
                var b = ColumnValues(actual, column.Name);
                Assert.That(b, Is.EqualTo(a), $"values of column '{column.Name}'");
            }
        }

        /// <summary>A column's values as comparable strings (floats as their bits).</summary>
        public static List<string> ColumnValues(IDataView data, string name)
        {
            var column = data.Schema[name];
            var type = column.Type;
            var raw = type.RawType;
            if (raw == typeof(float))
                return data.GetColumn<float>(column).Select(Bits).ToList();
            if (raw == typeof(VBuffer<float>))
                return data.GetColumn<VBuffer<float>>(column).Select(v => string.Join(",", v.DenseValues().Select(Bits)) + $"/{v.Length}").ToList();
            if (raw == typeof(ReadOnlyMemory<char>))
                return data.GetColumn<ReadOnlyMemory<char>>(column).Select(v => v.ToString()).ToList();
            if (raw == typeof(VBuffer<ReadOnlyMemory<char>>))
                return data.GetColumn<VBuffer<ReadOnlyMemory<char>>>(column).Select(v => string.Join("\u0001", v.DenseValues().Select(t => t.ToString()))).ToList();
            if (raw == typeof(uint))
                return data.GetColumn<uint>(column).Select(v => v.ToString()).ToList();
            if (raw == typeof(VBuffer<uint>))
                return data.GetColumn<VBuffer<uint>>(column).Select(v => string.Join(",", v.DenseValues())).ToList();
            if (raw == typeof(bool))
                return data.GetColumn<bool>(column).Select(v => v.ToString()).ToList();
            if (raw == typeof(double))
                return data.GetColumn<double>(column).Select(v => BitConverter.DoubleToInt64Bits(v).ToString("X16")).ToList();
            if (raw.IsPrimitive)
            {
                // Other scalars (Int32, Int64, ...): compared through their invariant text.
                var method = typeof(EstimatorConformance).GetMethod(nameof(ScalarValues), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(raw);
                return (List<string>)method.Invoke(null, new object[] { data, column })!;
            }
            throw new NotSupportedException($"EstimatorConformance cannot compare column '{name}' of type {type}; add the type here.");
        }

        private static Func<string> ScalarReader<T>(DataViewRow row, DataViewSchema.Column column)
            where T : IFormattable
        {
            var getter = row.GetGetter<T>(column);
            T value = default!;
            return () =>
            {
                getter(ref value);
                return value.ToString(null, System.Globalization.CultureInfo.InvariantCulture);
            };
        }

        private static List<string> ScalarValues<T>(IDataView data, DataViewSchema.Column column)
            where T : IFormattable =>
            data.GetColumn<T>(column).Select(v => v.ToString(null, System.Globalization.CultureInfo.InvariantCulture)).ToList();

        private static void AssertMapperMatchesTransform(ITransformer transformer, IDataView data)
        {
            var ml = new MLContext(seed: 3);
            var outputSchema = transformer.GetOutputSchema(data.Schema);
            var mapper = transformer.GetRowToRowMapper(data.Schema);
            var visible = outputSchema.Where(c => !c.IsHidden).ToArray();
            var expected = transformer.Transform(data);
            foreach (var column in visible)
            {
                var dependencies = mapper.GetDependencies(new[] { mapper.OutputSchema[column.Index] }).ToArray();
                using var cursor = data.GetRowCursor(dependencies);
                using var row = mapper.GetRow(cursor, new[] { mapper.OutputSchema[column.Index] });
                var values = new List<string>();
                var read = RowReader(row, row.Schema[column.Index]);
                while (cursor.MoveNext())
                    values.Add(read());
                Assert.That(values, Is.EqualTo(ColumnValues(expected, column.Name)), $"row mapper value of column '{column.Name}'");
            }

            // Chained with a built-in transform, the mapper must declare every pass-through column it needs.
            var appendedVector = visible.LastOrDefault(c => c.Index >= data.Schema.Count && c.Type is VectorDataViewType);
            if (appendedVector.Name is not null)
            {
                var chain = new TransformerChain<ITransformer>(transformer, ml.Transforms.CopyColumns("ConformanceCopy", appendedVector.Name).Fit(expected));
                var chainMapper = ((ITransformer)chain).GetRowToRowMapper(data.Schema);
                var target = chainMapper.OutputSchema["ConformanceCopy"];
                using var cursor = data.GetRowCursor(chainMapper.GetDependencies(new[] { target }));
                using var row = chainMapper.GetRow(cursor, new[] { target });
                var read = RowReader(row, target);
                var values = new List<string>();
                while (cursor.MoveNext())
                    values.Add(read());
                Assert.That(values, Is.EqualTo(ColumnValues(expected, appendedVector.Name)), "chained row mapper");
            }
        }

        private static Func<string> RowReader(DataViewRow row, DataViewSchema.Column column)
        {
            if (column.Type.RawType == typeof(VBuffer<float>))
            {
                var getter = row.GetGetter<VBuffer<float>>(column);
                VBuffer<float> value = default;
                return () =>
                {
                    getter(ref value);
                    return string.Join(",", value.DenseValues().Select(Bits)) + $"/{value.Length}";
                };
            }
            if (column.Type.RawType == typeof(float))
            {
                var getter = row.GetGetter<float>(column);
                float value = 0;
                return () =>
                {
                    getter(ref value);
                    return Bits(value);
                };
            }
            return column.Type.RawType == typeof(ReadOnlyMemory<char>) ? TextReader(row, column) : OtherReader(row, column);
        }

        private static Func<string> TextReader(DataViewRow row, DataViewSchema.Column column)
        {
            var getter = row.GetGetter<ReadOnlyMemory<char>>(column);
            ReadOnlyMemory<char> value = default;
            return () =>
            {
                getter(ref value);
                return value.ToString();
            };
        }

        private static Func<string> OtherReader(DataViewRow row, DataViewSchema.Column column)
        {
            if (column.Type.RawType == typeof(VBuffer<ReadOnlyMemory<char>>))
            {
                var getter = row.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
                VBuffer<ReadOnlyMemory<char>> value = default;
                return () =>
                {
                    getter(ref value);
                    return string.Join("\u0001", value.DenseValues().Select(t => t.ToString()));
                };
            }
            if (column.Type.RawType == typeof(uint))
            {
                var getter = row.GetGetter<uint>(column);
                uint value = 0;
                return () =>
                {
                    getter(ref value);
                    return value.ToString();
                };
            }
            if (column.Type.RawType == typeof(VBuffer<uint>))
            {
                var getter = row.GetGetter<VBuffer<uint>>(column);
                VBuffer<uint> value = default;
                return () =>
                {
                    getter(ref value);
                    return string.Join(",", value.DenseValues());
                };
            }
            if (column.Type.RawType == typeof(bool))
            {
                // Boolean is not IFormattable: read as ColumnValues writes it.
                var getter = row.GetGetter<bool>(column);
                bool value = false;
                return () =>
                {
                    getter(ref value);
                    return value.ToString();
                };
            }
            if (column.Type.RawType.IsPrimitive)
            {
                var method = typeof(EstimatorConformance).GetMethod(nameof(ScalarReader), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!.MakeGenericMethod(column.Type.RawType);
                return (Func<string>)method.Invoke(null, new object[] { row, column })!;
            }
            throw new NotSupportedException($"EstimatorConformance cannot read column '{column.Name}' of type {column.Type} from a row; add the type here.");
        }

        public static string Bits(float value) => BitConverter.SingleToInt32Bits(value).ToString("X8");
    }
}
