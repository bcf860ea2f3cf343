using System;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    [TestFixture]
    public class EmbeddingLookupTransformerTests
    {
        internal static readonly EmbeddingTable Table = new(
            new[] { "a", "b", "c" },
            new float[] { 1, 2, 3, -1, 0, 5, 0.5f, -4, 1 },
            3);

        private sealed class ItemRow
        {
            public string Item { get; set; } = "";
            [VectorType]
            public string[] History { get; set; } = Array.Empty<string>();
        }

        private sealed class Output
        {
            [VectorType(3)]
            public float[] ItemVector { get; set; } = Array.Empty<float>();
            [VectorType(3)]
            public float[] HistoryVector { get; set; } = Array.Empty<float>();
        }

        private static readonly ItemRow[] s_rows =
        {
            new() { Item = "a", History = new[] { "a", "b" } },
            new() { Item = "unknown", History = new[] { "b", "zzz", "c" } },
            new() { Item = "c", History = new[] { "nope", "never" } },
            new() { Item = "", History = Array.Empty<string>() },
            new() { Item = "b", History = new[] { "c" } },
        };

        private static IDataView Data(MLContext ml) => ml.Data.LoadFromEnumerable(s_rows);

        private static InvalidInput[] InvalidInputs(MLContext ml, string column) => new[]
        {
            new InvalidInput("numeric column", ml.Data.LoadFromEnumerable(new[] { new { Item = 1f, History = 2f } }), $"column '{column}'", "Single", "expected Text, Key<UInt32>"),
            new InvalidInput("missing column", ml.Data.LoadFromEnumerable(new[] { new { Other = "x" } }), $"'{column}' was not found"),
        };

        [Test]
        public void TextItemsConform()
        {
            var ml = new MLContext(seed: 1);
            var estimator = ml.Embeddings().ApplyEmbedding("ItemVector", Table, "Item");
            EstimatorConformance.Check(estimator, Data(ml), InvalidInputs(ml, "Item"));
            var vectors = estimator.Fit(Data(ml)).Transform(Data(ml)).GetColumn<float[]>("ItemVector").ToArray();
            Assert.That(vectors[0], Is.EqualTo(new float[] { 1, 2, 3 }));
            Assert.That(vectors[1], Is.EqualTo(new float[] { 0, 0, 0 }), "unknown item gives zeros");
            Assert.That(vectors[3], Is.EqualTo(new float[] { 0, 0, 0 }), "missing (empty) text gives zeros");
        }

        [Test]
        public void TheTableFirstOverloadsAreObsoleteAliasesWithTheSameOutput()
        {
            var ml = new MLContext(seed: 1);
#pragma warning disable CS0618 // the aliases under test
            var old = ml.Embeddings().ApplyEmbedding(Table, "HistoryVector", "History", EmbeddingPooling.Max).Fit(Data(ml));
            var oldBuiltIn = ml.Embeddings().ApplyEmbeddingWithBuiltInTransforms(Table, "ItemVector", "Item").Fit(Data(ml));
#pragma warning restore CS0618
            var current = ml.Embeddings().ApplyEmbedding("HistoryVector", Table, "History", EmbeddingPooling.Max).Fit(Data(ml));
            var currentBuiltIn = ml.Embeddings().ApplyEmbeddingWithBuiltInTransforms("ItemVector", Table, "Item").Fit(Data(ml));
            Assert.That(old.Transform(Data(ml)).GetColumn<float[]>("HistoryVector").ToArray(),
                Is.EqualTo(current.Transform(Data(ml)).GetColumn<float[]>("HistoryVector").ToArray()));
            Assert.That(oldBuiltIn.Transform(Data(ml)).GetColumn<float[]>("ItemVector").ToArray(),
                Is.EqualTo(currentBuiltIn.Transform(Data(ml)).GetColumn<float[]>("ItemVector").ToArray()));
        }

        [TestCase(EmbeddingPooling.Mean)]
        [TestCase(EmbeddingPooling.Sum)]
        [TestCase(EmbeddingPooling.Max)]
        public void SequencesArePooledOverKnownItems(EmbeddingPooling pooling)
        {
            var ml = new MLContext(seed: 1);
            var estimator = ml.Embeddings().ApplyEmbedding("HistoryVector", Table, "History", pooling);
            EstimatorConformance.Check(estimator, Data(ml), InvalidInputs(ml, "History"));
            var vectors = estimator.Fit(Data(ml)).Transform(Data(ml)).GetColumn<float[]>("HistoryVector").ToArray();
            float[][] expected = pooling switch
            {
                EmbeddingPooling.Mean => new[] { new float[] { 0, 1, 4 }, new float[] { -0.25f, -2, 3 }, new float[3], new float[3], new float[] { 0.5f, -4, 1 } },
                EmbeddingPooling.Sum => new[] { new float[] { 0, 2, 8 }, new float[] { -0.5f, -4, 6 }, new float[3], new float[3], new float[] { 0.5f, -4, 1 } },
                _ => new[] { new float[] { 1, 2, 5 }, new float[] { 0.5f, 0, 5 }, new float[3], new float[3], new float[] { 0.5f, -4, 1 } },
            };
            for (int i = 0; i < expected.Length; i++)
                Assert.That(vectors[i], Is.EqualTo(expected[i]).Within(1e-6f), $"row {i}");
            Assert.That(vectors.SelectMany(v => v).All(float.IsFinite), Is.True, "never ±3.4e38 or NaN");
        }

        [Test]
        public void KeyColumnsAreMatchedThroughTheirKeyValues()
        {
            var ml = new MLContext(seed: 1);
            // Key numbering follows the order ValueToKey met the values ("c" first), not the table's order.
            var keyed = ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item", keyData: ml.Data.LoadFromEnumerable(new[] { new { Item = "c" }, new { Item = "unknown" }, new { Item = "a" }, new { Item = "b" } }))
                .Append(ml.Transforms.Conversion.MapValueToKey("HistoryKey", "History"))
                .Fit(Data(ml)).Transform(Data(ml));
            var estimator = ml.Embeddings().ApplyEmbedding(new EmbeddingLookupEstimator.Options
            {
                Table = Table,
                Columns = new[] { new InputOutputColumnPair("ItemVector", "ItemKey"), new InputOutputColumnPair("HistoryVector", "HistoryKey") },
            });
            var transformer = EstimatorConformance.Check(estimator, keyed);
            var output = transformer.Transform(keyed);
            var items = output.GetColumn<float[]>("ItemVector").ToArray();
            var histories = output.GetColumn<float[]>("HistoryVector").ToArray();
            var fromText = ml.Embeddings().ApplyEmbedding(new EmbeddingLookupEstimator.Options
            {
                Table = Table,
                Columns = new[] { new InputOutputColumnPair("ItemVector", "Item"), new InputOutputColumnPair("HistoryVector", "History") },
            }).Fit(Data(ml)).Transform(Data(ml));
            Assert.That(items, Is.EqualTo(fromText.GetColumn<float[]>("ItemVector").ToArray()));
            Assert.That(histories, Is.EqualTo(fromText.GetColumn<float[]>("HistoryVector").ToArray()));
        }

        [Test]
        public void NumericKeyValuesAreMatchedByTheirText()
        {
            var ml = new MLContext(seed: 1);
            var table = new EmbeddingTable(new[] { "7", "42" }, new float[] { 1, 1, 2, 2 }, 2);
            var data = ml.Data.LoadFromEnumerable(new[] { new { Id = 42f }, new { Id = 7f }, new { Id = 3f } });
            var pipeline = ml.Transforms.Conversion.MapValueToKey("IdKey", "Id").Append(ml.Embeddings().ApplyEmbedding("V", table, "IdKey"));
            var vectors = pipeline.Fit(data).Transform(data).GetColumn<float[]>("V").ToArray();
            Assert.That(vectors, Is.EqualTo(new[] { new float[] { 2, 2 }, new float[] { 1, 1 }, new float[] { 0, 0 } }));
        }

        [Test]
        public void KeysWithoutKeyValuesAreRejected()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new { Raw = 1u } }, SchemaDefinitionWithKey());
            var estimator = ml.Embeddings().ApplyEmbedding("V", Table, "Raw");
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => estimator.Fit(data));
            Assert.That(error!.Message, Does.Contain("'Raw'").And.Contain("without key values").And.Contain("MapValueToKey"));
            Assert.Throws<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(Embeddings.Infrastructure.SchemaShapes.FromSchema(data.Schema)));
        }

        private static SchemaDefinition SchemaDefinitionWithKey()
        {
            var definition = SchemaDefinition.Create(new { Raw = 1u }.GetType());
            definition["Raw"].ColumnType = new KeyDataViewType(typeof(uint), 10);
            return definition;
        }

        [Test]
        public void InvalidOptionsAreRejectedWithTheOptionName()
        {
            var ml = new MLContext(seed: 1);
            Assert.That(Assert.Throws<ArgumentNullException>(() => ml.Embeddings().ApplyEmbedding(new EmbeddingLookupEstimator.Options { Columns = new[] { new InputOutputColumnPair("a", "b") } }))!.Message, Does.Contain("Options.Table"));
            Assert.That(Assert.Throws<ArgumentException>(() => ml.Embeddings().ApplyEmbedding(new EmbeddingLookupEstimator.Options { Table = Table }))!.Message, Does.Contain("Columns is empty"));
            Assert.That(Assert.Throws<ArgumentException>(() => ml.Embeddings().ApplyEmbedding(new EmbeddingLookupEstimator.Options { Table = Table, Columns = new[] { new InputOutputColumnPair("o", "a"), new InputOutputColumnPair("o", "b") } }))!.Message, Does.Contain("'o' is named twice"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().ApplyEmbedding(new EmbeddingLookupEstimator.Options { Table = Table, Columns = new[] { new InputOutputColumnPair("o", "a") }, Pooling = (EmbeddingPooling)9 }))!.Message, Does.Contain("Pooling = 9"));
        }

        [Test]
        public void PredictionEngineMapsOneRow()
        {
            var ml = new MLContext(seed: 1);
            var pipeline = ml.Embeddings().ApplyEmbedding("ItemVector", Table, "Item")
                .Append(ml.Embeddings().ApplyEmbedding("HistoryVector", Table, "History"))
                .Append(ml.Transforms.Concatenate("Features", "ItemVector", "HistoryVector"));
            var model = pipeline.Fit(Data(ml));
            var engine = ml.Model.CreatePredictionEngine<ItemRow, Output>(model);
            var result = engine.Predict(new ItemRow { Item = "b", History = new[] { "a", "c", "x" } });
            Assert.That(result.ItemVector, Is.EqualTo(new float[] { -1, 0, 5 }));
            Assert.That(result.HistoryVector, Is.EqualTo(new float[] { 0.75f, -1, 2 }).Within(1e-6f));
        }
    }
}
