using System;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    [TestFixture]
    public class MemoryMappedTableTests
    {
        private string _folder = null!;

        [SetUp]
        public void CreateFolder()
        {
            _folder = Path.Combine(Path.GetTempPath(), "mapped-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(_folder);
        }

        [TearDown]
        public void RemoveFolder()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            try
            {
                Directory.Delete(_folder, recursive: true);
            }
            catch (IOException)
            {
                // A mapping still open on another platform.
            }
        }

        private static EmbeddingTable RandomTable(int count, int dimension, int seed)
        {
            var random = new Random(seed);
            // Keys of several lengths (and non-ASCII), so the rows start at an offset that is not a multiple of 4.
            var keys = Enumerable.Range(0, count).Select(i => i % 7 == 0 ? $"ключ{i}" : $"k{i}").ToArray();
            var values = new float[count * dimension];
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)(random.NextDouble() * 2 - 1);
            return new EmbeddingTable(keys, values, dimension);
        }

        [Test]
        public void AMappedTableAnswersExactlyAsTheTableInMemory()
        {
            var table = RandomTable(3000, 37, seed: 1);
            string path = Path.Combine(_folder, "t.embt");
            table.Save(path);
            var mapped = EmbeddingTable.OpenMemoryMapped(path);
            Assert.That(mapped.IsMemoryMapped, Is.True);
            Assert.That(table.IsMemoryMapped, Is.False);
            Assert.That(mapped.Count, Is.EqualTo(table.Count));
            Assert.That(mapped.Dimension, Is.EqualTo(table.Dimension));
            Assert.That(mapped.Keys, Is.EqualTo(table.Keys));
            var a = new float[37];
            var b = new float[37];
            foreach (string key in table.Keys)
            {
                Assert.That(mapped.TryGetVector(key, b), Is.True);
                table.TryGetVector(key, a);
                Assert.That(b, Is.EqualTo(a), key);
            }
            Assert.That(mapped.TryGetVector("absent", b), Is.False);
            foreach (string key in new[] { "k1", "ключ7", "k2999" })
            {
                var expected = table.MostSimilar(key, 10);
                var actual = mapped.MostSimilar(key, 10);
                Assert.That(actual.Select(n => n.Key), Is.EqualTo(expected.Select(n => n.Key)), key);
                Assert.That(actual.Select(n => n.Similarity), Is.EqualTo(expected.Select(n => n.Similarity)), key);
            }
            var query = table.GetVector("k5");
            Assert.That(mapped.MostSimilar(query, 5).Select(n => n.Key), Is.EqualTo(table.MostSimilar(query, 5).Select(n => n.Key)));
            Assert.That(mapped.Similarity("k3", "k4"), Is.EqualTo(table.Similarity("k3", "k4")));

            // Saving the mapped table gives the same bytes, and the file can be replaced while it stays mapped.
            using var copy = new MemoryStream();
            mapped.Save(copy);
            Assert.That(copy.ToArray(), Is.EqualTo(File.ReadAllBytes(path)));
            RandomTable(10, 37, seed: 2).Save(path);
            Assert.That(mapped.GetVector("k1"), Is.EqualTo(table.GetVector("k1")));
        }

        [Test]
        public void SaveRowsWritesTheSameFileAsSave()
        {
            var table = RandomTable(500, 8, seed: 3);
            string whole = Path.Combine(_folder, "whole.embt");
            string rows = Path.Combine(_folder, "rows.embt");
            table.Save(whole);
            EmbeddingTable.SaveRows(rows, table.Keys, 8, (row, destination) => table.Row(row).CopyTo(destination));
            Assert.That(File.ReadAllBytes(rows), Is.EqualTo(File.ReadAllBytes(whole)));
            using var stream = File.OpenRead(rows);
            Assert.That(EmbeddingTable.Load(stream).GetVector("k9"), Is.EqualTo(table.GetVector("k9")));

            var nan = Assert.Throws<ArgumentException>(() => EmbeddingTable.SaveRows(Path.Combine(_folder, "nan.embt"), new[] { "a", "b" }, 2, (row, d) => d[1] = row == 1 ? float.NaN : 1));
            Assert.That(nan!.Message, Does.Contain("'b'").And.Contain("NaN"));
            Assert.That(File.Exists(Path.Combine(_folder, "nan.embt")), Is.False, "nothing half-written");
            var repeated = Assert.Throws<ArgumentException>(() => EmbeddingTable.SaveRows(Path.Combine(_folder, "r.embt"), new[] { "a", "a" }, 2, (_, _) => { }));
            Assert.That(repeated!.Message, Does.Contain("'a' appears twice"));
        }

        [Test]
        public void DamagedFilesAreRefusedWithTheReason()
        {
            var table = RandomTable(100, 4, seed: 4);
            string path = Path.Combine(_folder, "t.embt");
            table.Save(path);
            byte[] bytes = File.ReadAllBytes(path);

            string truncated = Path.Combine(_folder, "truncated.embt");
            File.WriteAllBytes(truncated, bytes.AsSpan(0, bytes.Length - 3).ToArray());
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.OpenMemoryMapped(truncated))!.Message, Does.Contain("truncated").And.Contain("truncated.embt"));

            string nan = Path.Combine(_folder, "nan.embt");
            var damaged = (byte[])bytes.Clone();
            BitConverter.GetBytes(float.NaN).CopyTo(damaged, damaged.Length - 4);
            File.WriteAllBytes(nan, damaged);
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.OpenMemoryMapped(nan))!.Message, Does.Contain("'k99'").And.Contain("NaN"));

            string other = Path.Combine(_folder, "other.embt");
            File.WriteAllText(other, "this is not a table at all");
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.OpenMemoryMapped(other))!.Message, Does.Contain("Not an embedding table"));

            string empty = Path.Combine(_folder, "empty.embt");
            File.WriteAllBytes(empty, Array.Empty<byte>());
            Assert.Throws<FormatException>(() => EmbeddingTable.OpenMemoryMapped(empty));
            Assert.Throws<FileNotFoundException>(() => EmbeddingTable.OpenMemoryMapped(Path.Combine(_folder, "missing.embt")));
        }
    }
}
