using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Persistence
{
    /// <summary>
    /// Models saved by earlier releases (TestData/Models, see its README) load in a new MLContext and give bit-identical
    /// outputs. This fixture uses only ML.NET's public API and the files, never a type of this library, so it keeps
    /// testing the promise whatever the library's classes are called or wherever they live.
    /// </summary>
    [TestFixture]
    public class SavedModelCompatibilityTests
    {
        private static TextLoader.Column Text(string name, int index) => new(name, DataKind.String, index);

        private static TextLoader.Column Single(string name, int index) => new(name, DataKind.Single, index);

        private static TextLoader.Column Singles(string name, int min, int max) => new(name, DataKind.Single, min, max);

        /// <summary>Every fixture, by file name stem, with the column specs that read its input rows.</summary>
        internal static readonly Dictionary<string, TextLoader.Column[]> Fixtures = new()
        {
            ["lookup"] = new[] { Text("Item", 0), Text("HistoryText", 1) },
            ["similarity"] = new[] { Singles("Left", 0, 3), Singles("Right", 4, 7) },
            ["skipgram"] = new[] { Text("Text", 0) },
            ["node2vec"] = new[] { Text("From", 0), Text("To", 1) },
            ["deepwalk-bipartite"] = new[] { Text("User", 0), Text("Item", 1) },
            ["graphwalk"] = new[] { Text("From", 0) },
            ["item2vec"] = new[] { Text("User", 0), Text("Item", 1) },
            ["matrix-factorization"] = new[] { Text("User", 0), Text("Item", 1), Single("Label", 2) },
            ["recommendation-features"] = new[] { Text("User", 0), Text("Item", 1) },
            ["lookup-fasttree"] = new[] { Text("Item", 0), Text("HistoryText", 1), Single("Label", 2) },
            ["ranking-recommender"] = new[] { Text("User", 0), Text("Item", 1) },
            ["ranking-recommender-v2"] = new[] { Text("User", 0), Text("Item", 1) },
            ["end-to-end"] = new[] { Text("User", 0), Text("Item", 1), Text("Gender", 2), Single("Label", 3) },
            ["sequence-recall"] = new[] { Text("User", 0) },
            ["sequence-recall-attention"] = new[] { Text("User", 0) },
            ["recommendation-features-v3"] = new[] { Text("User", 0), Text("Item", 1) },
        };

        private static IEnumerable<string> FixtureNames => Fixtures.Keys;

        internal static string Folder => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "Models");

        [TestCaseSource(nameof(FixtureNames))]
        public void OldModelLoadsInANewContextWithBitIdenticalOutputs(string name)
        {
            AssertExpectedOutputs(name, Path.Combine(Folder, name + ".zip"));
        }

        /// <summary>The model at <paramref name="modelPath"/>, loaded in a new MLContext, gives fixture <paramref name="name"/>'s expected outputs.</summary>
        internal static void AssertExpectedOutputs(string name, string modelPath)
        {
            var ml = new MLContext(seed: 42);
            ITransformer model = ml.Model.Load(modelPath, out _);
            var input = LoadInput(ml, name);
            var output = model.Transform(input);

            string[] expected = File.ReadAllLines(Path.Combine(Folder, name + ".expected.tsv"));
            string[] columns = expected[0].Split('\t');
            var actual = columns.Select(c => Cells(output, c)).ToArray();
            Assert.That(actual[0], Has.Count.EqualTo(expected.Length - 1), $"{name}: output rows");
            for (int row = 1; row < expected.Length; row++)
            {
                string[] cells = expected[row].Split('\t');
                for (int c = 0; c < columns.Length; c++)
                    Assert.That(actual[c][row - 1], Is.EqualTo(cells[c]), $"{name}: column '{columns[c]}', row {row}");
            }
        }

        /// <summary>The input rows of fixture <paramref name="name"/>.</summary>
        internal static IDataView LoadInput(MLContext ml, string name) =>
            ml.Data.LoadFromTextFile(Path.Combine(Folder, name + ".input.tsv"), Fixtures[name], separatorChar: '\t', hasHeader: true, allowQuoting: false);

        [Test]
        public void EveryModelInTheFolderIsChecked()
        {
            var stems = Directory.GetFiles(Folder, "*.zip").Select(Path.GetFileNameWithoutExtension).OrderBy(s => s, StringComparer.Ordinal);
            Assert.That(stems, Is.EqualTo(Fixtures.Keys.OrderBy(s => s, StringComparer.Ordinal)));
        }

        /// <summary>A column's values as the fixtures write them: floats as the hex of their bits, vector items separated by spaces.</summary>
        private static List<string> Cells(IDataView data, string name)
        {
            var column = data.Schema[name];
            var raw = column.Type.RawType;
            if (raw == typeof(float))
                return data.GetColumn<float>(column).Select(Bits).ToList();
            if (raw == typeof(VBuffer<float>))
                return data.GetColumn<VBuffer<float>>(column).Select(v => string.Join(" ", v.DenseValues().Select(Bits))).ToList();
            if (raw == typeof(VBuffer<ReadOnlyMemory<char>>))
                return data.GetColumn<VBuffer<ReadOnlyMemory<char>>>(column).Select(v => string.Join(" ", v.DenseValues().Select(t => t.ToString()))).ToList();
            throw new NotSupportedException($"Column '{name}' of type {column.Type}: add its format here and to TestData/Models/README.md.");
        }

        private static string Bits(float value) => BitConverter.SingleToInt32Bits(value).ToString("X8", CultureInfo.InvariantCulture);
    }
}
