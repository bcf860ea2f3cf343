using System;
using System.IO;
using System.Linq;
using System.Text;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    [TestFixture]
    public class Word2VecFormatTests
    {
        // The keys and formula of TestData/gensim_fixtures.py, which wrote gensim.txt and gensim.bin with gensim 4.2.
        private static readonly string[] s_gensimKeys = { "the", "of", "café", "東京", "x_1", "Zürich", "a" };
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private static float GensimValue(int i, int j) => (float)(((i * 31 + j * 17) % 97) / 97.0 * 2 - 1 + i / 1000.0);

        private static EmbeddingTable SampleTable()
        {
            var random = new Random(11);
            var keys = new[] { "alpha", "βeta", "</s>", "日本", "x" };
            var values = Enumerable.Range(0, keys.Length * 9).Select(_ => (float)(random.NextDouble() * 4 - 2) * (float)Math.Pow(10, random.Next(-6, 4))).ToArray();
            return new EmbeddingTable(keys, values, 9);
        }

        private static void AssertSameTable(EmbeddingTable expected, EmbeddingTable actual)
        {
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys));
            Assert.That(actual.Dimension, Is.EqualTo(expected.Dimension));
            foreach (string key in expected.Keys)
                Assert.That(actual.GetVector(key).Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.GetVector(key).Select(BitConverter.SingleToInt32Bits)), key);
        }

        [TestCase("gensim.txt", Word2VecFileFormat.Text)]
        [TestCase("gensim.bin", Word2VecFileFormat.Binary)]
        public void ReadsFilesWrittenByGensim(string file, Word2VecFileFormat format)
        {
            string path = TestUtilities.TestDataPath(file);
            Assert.That(Word2VecFormat.Detect(path), Is.EqualTo(format));
            foreach (var table in new[] { EmbeddingTable.LoadWord2VecFormat(path), EmbeddingTable.LoadWord2VecFormat(path, format) })
            {
                Assert.That(table.Keys, Is.EqualTo(s_gensimKeys));
                Assert.That(table.Dimension, Is.EqualTo(5));
                for (int i = 0; i < s_gensimKeys.Length; i++)
                {
                    var vector = table.GetVector(s_gensimKeys[i]);
                    for (int j = 0; j < 5; j++)
                        Assert.That(vector[j], Is.EqualTo(GensimValue(i, j)), $"{s_gensimKeys[i]}[{j}]");
                }
            }
        }

        [TestCase(false)]
        [TestCase(true)]
        public void RoundTripsBitForBit(bool binary)
        {
            var table = SampleTable();
            string path = Path.Combine(_folder, binary ? "v.bin" : "v.txt");
            table.SaveWord2VecFormat(path, binary);
            AssertSameTable(table, EmbeddingTable.LoadWord2VecFormat(path));
            Assert.That(Directory.GetFiles(_folder), Has.Length.EqualTo(1), "no temporary file is left behind");
        }

        [TestCase(false)]
        [TestCase(true)]
        public void GensimReadsOurFilesWithTheSameVectors(bool binary)
        {
            string? python = TestUtilities.FindGensimPython();
            if (python is null)
                Assert.Ignore("gensim is not installed (apt-get install python3-gensim); the gensim-side check is skipped.");
            var table = SampleTable();
            string path = Path.Combine(_folder, binary ? "ours.bin" : "ours.txt");
            table.SaveWord2VecFormat(path, binary);
            var (code, output, error) = TestUtilities.Run(python!, $"\"{TestUtilities.TestDataPath("gensim_dump.py")}\" \"{path}\" {(binary ? "binary" : "text")}", TimeSpan.FromMinutes(2));
            Assert.That(code, Is.EqualTo(0), error);
            var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.That(lines[0], Is.EqualTo($"{table.Count} {table.Dimension}"));
            for (int i = 0; i < table.Count; i++)
            {
                string expected = table.Keys[i] + " " + string.Join(" ", table.GetVector(table.Keys[i]).Select(v => BitConverter.SingleToInt32Bits(v).ToString("X8")));
                Assert.That(lines[i + 1], Is.EqualTo(expected));
            }
        }

        private string WriteText(string content)
        {
            string path = Path.Combine(_folder, "bad.txt");
            File.WriteAllText(path, content, new UTF8Encoding(false));
            return path;
        }

        [TestCase("x y\na 1 2\n", "line 1")]
        [TestCase("2 2\na 1.000 2.000\n", "ends after 1")]
        [TestCase("2 2\na 1 2\n", "line 1: the header says 2 vectors of dimension 2, which take at least 10 bytes")]
        [TestCase("1 2\na 1 2\nb 3 4\n", "line 3")]
        [TestCase("2 2\na 1 2\nb 3\n", "line 3: key 'b' has 1 values")]
        [TestCase("2 2\na 1 2\nb 3 4 5\n", "line 3: key 'b' has 3 values")]
        [TestCase("2 2\na 1 2\nb 3 four\n", "line 3: value 2 of key 'b' is 'four'")]
        [TestCase("2 2\na 1 2\na 3 4\n", "key 'a' appears a second time")]
        [TestCase("1 2\na nan 2\n", "finite")]
        [TestCase("", "empty")]
        public void MalformedTextNamesTheLine(string content, string expected)
        {
            string path = WriteText(content);
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Text));
            Assert.That(error!.Message, Does.Contain(expected));
        }

        [Test]
        public void TruncatedBinaryNamesTheOffset()
        {
            var table = SampleTable();
            string path = Path.Combine(_folder, "v.bin");
            table.SaveWord2VecFormat(path, binary: true);
            byte[] bytes = File.ReadAllBytes(path);
            File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length - 10).ToArray());
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Binary));
            Assert.That(error!.Message, Does.Contain("truncated at offset").And.Contain("'x'"));

            File.WriteAllBytes(path, Encoding.ASCII.GetBytes("3 2\nab"));
            error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Binary));
            Assert.That(error!.Message, Does.Contain("the header says 3 vectors of dimension 2, which take at least 30 bytes in the word2vec binary format"));

            File.WriteAllBytes(path, Encoding.ASCII.GetBytes("3 2\n" + new string('k', 30)));
            error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Binary));
            Assert.That(error!.Message, Does.Contain("record 1 of 3"));

            File.WriteAllBytes(path, bytes.Concat(Encoding.ASCII.GetBytes("extra")).ToArray());
            error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Binary));
            Assert.That(error!.Message, Does.Contain("unexpected data after the 5 records"));
        }

        [Test]
        public void FailedSaveLeavesNoFile()
        {
            var table = new EmbeddingTable(new[] { "good", "has space" }, new float[] { 1, 2 }, 1);
            string path = Path.Combine(_folder, "out.txt");
            var error = Assert.Throws<InvalidOperationException>(() => table.SaveWord2VecFormat(path));
            Assert.That(error!.Message, Does.Contain("\"has space\" (row 1)"));
            Assert.That(Directory.GetFiles(_folder), Is.Empty);

            File.WriteAllText(path, "previous content");
            Assert.Throws<InvalidOperationException>(() => table.SaveWord2VecFormat(path, binary: true));
            Assert.That(File.ReadAllText(path), Is.EqualTo("previous content"), "an existing file is left untouched");
            Assert.Throws<DirectoryNotFoundException>(() => SampleTable().SaveWord2VecFormat(Path.Combine(_folder, "missing", "x.txt")));
        }
    }
}
