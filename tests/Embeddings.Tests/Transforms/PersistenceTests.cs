using System;
using System.IO;
using System.Linq;
using System.Text;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    /// <summary>Models with our transformers inside ML.NET chains save with mlContext.Model.Save and load elsewhere.</summary>
    [TestFixture]
    public class PersistenceTests
    {
        private sealed class Row
        {
            public string Item { get; set; } = "";
            public string HistoryText { get; set; } = "";
            public float Label { get; set; }
        }

        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private static (EmbeddingTable Table, Row[] Rows) MakeData()
        {
            var random = new Random(17);
            var keys = Enumerable.Range(0, 40).Select(i => $"item{i}").ToArray();
            var values = Enumerable.Range(0, keys.Length * 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray();
            var table = new EmbeddingTable(keys, values, 8);
            // Items 40-49 are unknown to the table; some histories are empty or entirely unknown.
            var rows = Enumerable.Range(0, 400).Select(i =>
            {
                int item = random.Next(50);
                int length = random.Next(0, 6);
                var history = Enumerable.Range(0, length).Select(_ => $"item{random.Next(i % 7 == 0 ? 40 : 0, 50)}").ToArray();
                float label = item < 40 ? values[item * 8] * 3 + (history.Length > 0 ? 1 : 0) : -1;
                return new Row { Item = $"item{item}", HistoryText = string.Join(" ", history), Label = label + (float)random.NextDouble() * 0.1f };
            }).ToArray();
            return (table, rows);
        }

        private static IEstimator<ITransformer> Pipeline(MLContext ml, EmbeddingTable table) =>
            ml.Transforms.Text.TokenizeIntoWords("History", "HistoryText")
                .Append(ml.Embeddings().ApplyEmbedding("ItemVector", table, "Item"))
                .Append(ml.Embeddings().ApplyEmbedding("HistoryVector", table, "History"))
                .Append(ml.Transforms.Concatenate("Features", "ItemVector", "HistoryVector"))
                .Append(ml.Regression.Trainers.FastTree(labelColumnName: "Label", featureColumnName: "Features", numberOfLeaves: 8, numberOfTrees: 20, minimumExampleCountPerLeaf: 5));

        [Test]
        public void FastTreeChainReloadsInANewContextWithBitIdenticalScores()
        {
            var (table, rows) = MakeData();
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = Pipeline(ml, table).Fit(data);
            var scores = EstimatorConformance.ColumnValues(model.Transform(data), "Score");
            Assert.That(scores.Distinct().Count(), Is.GreaterThan(5), "the ranker learned something from the embeddings");

            string path = Path.Combine(_folder, "model.zip");
            ml.Model.Save(model, data.Schema, path);
            var fresh = new MLContext(seed: 99);
            var loaded = fresh.Model.Load(path, out var schema);
            var reloadedData = fresh.Data.LoadFromEnumerable(rows);
            Assert.That(EstimatorConformance.ColumnValues(loaded.Transform(reloadedData), "Score"), Is.EqualTo(scores));
            EstimatorConformance.AssertSameValues(model.Transform(data), loaded.Transform(reloadedData));
        }

        [Test]
        public void FastTreeChainReloadsInASeparateProcessWithBitIdenticalScores()
        {
            var (table, rows) = MakeData();
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = Pipeline(ml, table).Fit(data);
            string modelPath = Path.Combine(_folder, "model.zip");
            ml.Model.Save(model, data.Schema, modelPath);

            string inputPath = Path.Combine(_folder, "input.tsv");
            var tsv = new StringBuilder("Item\tHistoryText\tLabel\n");
            foreach (var row in rows)
                tsv.Append(row.Item).Append('\t').Append(row.HistoryText).Append('\t').Append(row.Label.ToString("R", System.Globalization.CultureInfo.InvariantCulture)).Append('\n');
            File.WriteAllText(inputPath, tsv.ToString());
            string outputPath = Path.Combine(_folder, "scores.txt");
            string host = Path.Combine(TestContext.CurrentContext.TestDirectory, "Embeddings.ModelHost.dll");
            var (code, stdout, stderr) = TestUtilities.Run("dotnet", $"\"{host}\" \"{modelPath}\" \"{inputPath}\" Score \"{outputPath}\"", TimeSpan.FromMinutes(3));
            Assert.That(code, Is.EqualTo(0), stdout + stderr);
            var expected = EstimatorConformance.ColumnValues(model.Transform(data), "Score");
            var actual = File.ReadAllLines(outputPath);
            Assert.That(actual, Is.EqualTo(expected));
        }
    }
}
