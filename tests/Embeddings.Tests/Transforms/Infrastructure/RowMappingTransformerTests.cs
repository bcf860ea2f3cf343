using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Embeddings.Kernels;
using Embeddings.Tests.Transforms.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

[assembly: EmbeddingsTransformerLoader(typeof(VectorNormTransformer))]

namespace Embeddings.Tests.Transforms.Infrastructure
{
    /// <summary>
    /// A transformer written outside the library on its public building blocks (RowMappingTransformer, AppendedColumn,
    /// SchemaChecks, VectorMath, the loader registration): the extension point that docs/persistence.md describes.
    /// </summary>
    public sealed class VectorNormTransformer : RowMappingTransformer, ILoadableTransformer<VectorNormTransformer>
    {
        public VectorNormTransformer(string outputColumnName, string inputColumnName)
        {
            OutputColumnName = outputColumnName;
            InputColumnName = inputColumnName;
        }

        public string OutputColumnName { get; }

        public string InputColumnName { get; }

        static string ILoadableTransformer<VectorNormTransformer>.LoaderId => "Embeddings.Tests.VectorNorm";

        static int ILoadableTransformer<VectorNormTransformer>.StateVersion => 1;

        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            var input = SchemaChecks.FindColumn(inputSchema, InputColumnName, "VectorNorm");
            if (input.Type is not VectorDataViewType { ItemType: NumberDataViewType } vector || vector.ItemType != NumberDataViewType.Single)
                throw SchemaChecks.TypeMismatch("VectorNorm", InputColumnName, "a vector of Single", input.Type.ToString() ?? "", "");
            return new[]
            {
                new AppendedColumn(OutputColumnName, NumberDataViewType.Single, new[] { input.Index }, row =>
                {
                    var getter = row.GetGetter<VBuffer<float>>(input);
                    VBuffer<float> values = default;
                    return (ValueGetter<float>)((ref float norm) =>
                    {
                        getter(ref values);
                        norm = VectorMath.Norm(values.DenseValues().ToArray());
                    });
                }),
            };
        }

        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write(OutputColumnName);
            writer.Write(InputColumnName);
        }

        static VectorNormTransformer ILoadableTransformer<VectorNormTransformer>.Load(BinaryReader reader, int stateVersion) =>
            new(reader.ReadString(), reader.ReadString());
    }

    [TestFixture]
    public class RowMappingTransformerTests
    {
        private sealed class Row
        {
            [VectorType(3)]
            public float[] Vector { get; set; } = Array.Empty<float>();
        }

        [Test]
        public void ATransformerWrittenOutsideTheLibrarySavesLoadsAndServesPredictionEngines()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new Row { Vector = new float[] { 3, 4, 0 } }, new Row { Vector = new float[] { 1, 2, 2 } } });
            var transformer = new VectorNormTransformer("Norm", "Vector");
            Assert.That(transformer.Transform(data).GetColumn<float>("Norm").ToArray(), Is.EqualTo(new float[] { 5, 3 }));

            string path = Path.Combine(TestContext.CurrentContext.WorkDirectory, "vector-norm.zip");
            ml.Model.Save(transformer, data.Schema, path);
            var loaded = new MLContext(seed: 2).Model.Load(path, out _);
            Assert.That(loaded, Is.InstanceOf<VectorNormTransformer>());
            Assert.That(loaded.Transform(data).GetColumn<float>("Norm").ToArray(), Is.EqualTo(new float[] { 5, 3 }));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => loaded.GetOutputSchema(ml.Data.LoadFromEnumerable(new[] { new { Vector = 1f } }).Schema))!.Message,
                Does.Contain("column 'Vector' has type Single; expected a vector of Single"));
        }
    }
}
