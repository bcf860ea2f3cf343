using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using Embeddings.Kernels;
using Embeddings.Tests.Cli;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    /// <summary>
    /// The reproductions of issue 13's format defects, pinned: impossible headers, a malformed first text row read as
    /// binary, the byte order mark, keys a format cannot hold, tampered counts in the native form and in saved models,
    /// and cosine scores above 1.
    /// </summary>
    [TestFixture]
    public class FileFormatRegressionTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string WriteBytes(string name, byte[] bytes)
        {
            string path = Path.Combine(_folder, name);
            File.WriteAllBytes(path, bytes);
            return path;
        }

        private string WriteText(string name, string content) => WriteBytes(name, Encoding.UTF8.GetBytes(content));

        // ---- defect 1: the header's counts were allocated before being checked ----

        [TestCase(Word2VecFileFormat.Detect, "text")]
        [TestCase(Word2VecFileFormat.Text, "text")]
        [TestCase(Word2VecFileFormat.Binary, "binary")]
        public void AHeaderTheFileCannotHoldIsAFormatErrorBeforeAnyAllocation(Word2VecFileFormat format, string readAs)
        {
            string path = WriteText("h.txt", "1000000 100000\na 1 2 3 4\n");
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, format))!;
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(16 << 20), "nothing the size of the header's claim is allocated");
            Assert.That(error.Message, Does.Contain(path).And.Contain("line 1").And.Contain("1000000 vectors of dimension 100000")
                .And.Contain($"word2vec {readAs} format").And.Contain("the file has 10 bytes after the header"));
        }

        [Test]
        public void ACountOfIntMaxIsAFormatError()
        {
            string path = WriteText("h.txt", "2147483647 1\na 1\n");
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path))!;
            Assert.That(error.Message, Does.Contain("2147483647 vectors of dimension 1").And.Contain("the file has 4 bytes after the header"));
            path = WriteText("h2.txt", "3000000000 1\na 1\n");
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path))!.Message, Does.Contain("at most 2147483647"));
        }

        [TestCase(Word2VecFileFormat.Detect)]
        [TestCase(Word2VecFileFormat.Text)]
        [TestCase(Word2VecFileFormat.Binary)]
        public void ADimensionOfIntMaxNamesTheLargestDimensionNotAChunk(Word2VecFileFormat format)
        {
            string path = WriteText("h.txt", "1 2147483647\na 1\n");
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path, format))!;
            Assert.That(error.Message, Is.EqualTo($"{path}: line 1: the dimension in the header is 2147483647; this library holds vectors of at most 268435456 values."));
        }

        [Test]
        public void TheCliEndsTheDefectOneCommandsWithOneLineAndExitCode1()
        {
            string queries = WriteText("q.txt", "a\n");
            string output = Path.Combine(_folder, "o.tsv");
            foreach (var (content, expected) in new[]
            {
                ("1000000 100000\na 1 2 3 4\n", "1000000 vectors of dimension 100000"),
                ("2147483647 1\na 1\n", "2147483647 vectors of dimension 1"),
                ("1 2147483647\na 1\n", "at most 268435456 values"),
            })
            {
                string vectors = WriteText("h.txt", content);
                var run = CliRunner.Run("similar", "--vectors", vectors, "--queries", queries, "--output", output);
                Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
                Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.ToString());
                Assert.That(run.Error, Does.StartWith($"embeddings similar: {vectors}: line 1: ").And.Contain(expected).And.Not.Contain("out of memory").And.Not.Contain("internal error"));
                Assert.That(File.Exists(output), Is.False);
            }
        }

        // ---- defect 2: a text file whose first row is malformed was read as binary ----

        [Test]
        public void AMalformedFirstTextRowIsReportedAsText()
        {
            string path = WriteText("m.txt", "2 2\na 0.5 1.x\nb 1.0 2.0\n");
            Assert.That(Word2VecFormat.Detect(path), Is.EqualTo(Word2VecFileFormat.Text));
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path))!;
            Assert.That(error.Message, Is.EqualTo($"{path}: line 2: value 2 of key 'a' is '1.x', which is not a number."));

            var run = CliRunner.Run("similar", "--vectors", path, "--queries", WriteText("q.txt", "a\n"), "--output", Path.Combine(_folder, "o.tsv"));
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error.TrimEnd(), Is.EqualTo($"embeddings similar: {path}: line 2: value 2 of key 'a' is '1.x', which is not a number."));
        }

        [TestCase("2 3\na 1 2\nb 1 2 3\n", "line 2: key 'a' has 2 values")]
        [TestCase("2 2\na 1 2 3\nb 1 2\n", "line 2: key 'a' has 3 values")]
        [TestCase("2 2\nabcdefgh\nc 1 2\n", "line 2: expected a key followed by 2 values")]
        [TestCase("1 2\né 1 2\n", null)]
        public void TextFilesAreReadAsTextWhateverTheirFirstRow(string content, string? expected)
        {
            string path = WriteText("t.txt", content);
            Assert.That(Word2VecFormat.Detect(path), Is.EqualTo(Word2VecFileFormat.Text));
            if (expected is null)
                Assert.That(EmbeddingTable.LoadWord2VecFormat(path).Count, Is.EqualTo(1));
            else
                Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path))!.Message, Does.Contain(expected));
        }

        [Test]
        public void BinaryFilesAreDetectedFromTheirRawFloats()
        {
            var table = new EmbeddingTable(new[] { "a", "b" }, new float[] { 1, 2, 3, 4 }, 2);
            string path = Path.Combine(_folder, "v.bin");
            table.SaveWord2VecFormat(path, binary: true);
            Assert.That(Word2VecFormat.Detect(path), Is.EqualTo(Word2VecFileFormat.Binary));
            Assert.That(EmbeddingTable.LoadWord2VecFormat(path).GetVector("b"), Is.EqualTo(new float[] { 3, 4 }));
        }

        // ---- the byte order mark ----

        [TestCase(false)]
        [TestCase(true)]
        public void AUtf8ByteOrderMarkIsSkipped(bool binary)
        {
            var table = new EmbeddingTable(new[] { "a", "b" }, new float[] { 1, 2, 2, 1 }, 2);
            string path = Path.Combine(_folder, "v");
            table.SaveWord2VecFormat(path, binary);
            WriteBytes("v", new byte[] { 0xEF, 0xBB, 0xBF }.Concat(File.ReadAllBytes(path)).ToArray());
            var read = EmbeddingTable.LoadWord2VecFormat(path);
            Assert.That(read.Keys, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(read.GetVector("b"), Is.EqualTo(new float[] { 2, 1 }));

            string bom = WriteBytes("bom.txt", new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Encoding.ASCII.GetBytes("2 2\na 1 2\nb 2 1\n")).ToArray());
            var run = CliRunner.Run("similar", "--vectors", bom, "--queries", WriteText("q.txt", "a\n"), "--output", Path.Combine(_folder, "o.tsv"));
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(File.ReadAllText(Path.Combine(_folder, "o.tsv")), Is.EqualTo("a\tb\t0.79999995\n"));
        }

        [Test]
        public void AUtf16FileIsNamedAsSuch()
        {
            string path = WriteBytes("u.txt", Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes("1 1\na 1\n")).ToArray());
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(path))!.Message, Does.Contain("UTF-16 byte order mark"));
        }

        // ---- keys a format cannot hold are refused at save ----

        [TestCase("has space", "U+0020")]
        [TestCase("tab\there", "U+0009")]
        [TestCase("line\nbreak", "U+000A")]
        [TestCase("no\u00A0break", "U+00A0")]
        [TestCase("ideographic\u3000space", "U+3000")]
        [TestCase("line\u2028separator", "U+2028")]
        [TestCase("bell\u0007", "control character U+0007")]
        [TestCase("lone{D800}", "lone surrogate (U+D800)")]
        public void Word2VecSaveRefusesKeysItCannotRepresent(string key, string expected)
        {
            key = key.Replace("{D800}", "\uD800"); // (an attribute cannot hold a lone surrogate)
            var table = new EmbeddingTable(new[] { "fine", key }, new float[] { 1, 2 }, 1);
            foreach (bool binary in new[] { false, true })
            {
                string path = Path.Combine(_folder, "out");
                var error = Assert.Throws<InvalidOperationException>(() => table.SaveWord2VecFormat(path, binary))!;
                Assert.That(error.Message, Does.Contain("(row 1)").And.Contain(expected).And.Not.Contain("\n"));
                Assert.That(File.Exists(path), Is.False);
            }
        }

        [Test]
        public void BinarySaveRefusesKeysLongerThanItsReaderTakes()
        {
            var table = new EmbeddingTable(new[] { new string('k', 70_000) }, new float[] { 1 }, 1);
            Assert.That(Assert.Throws<InvalidOperationException>(() => table.SaveWord2VecFormat(Path.Combine(_folder, "v.bin"), binary: true))!.Message, Does.Contain("at most 65536 bytes"));
            table.SaveWord2VecFormat(Path.Combine(_folder, "v.txt"));
            Assert.That(EmbeddingTable.LoadWord2VecFormat(Path.Combine(_folder, "v.txt")).Keys[0], Has.Length.EqualTo(70_000));
        }

        [Test]
        public void NativeSaveRefusesALoneSurrogate()
        {
            var table = new EmbeddingTable(new[] { "a\uDC00b" }, new float[] { 1 }, 1);
            Assert.That(Assert.Throws<InvalidOperationException>(() => table.Save(new MemoryStream()))!.Message, Does.Contain("lone surrogate (U+DC00)"));
        }

        // ---- the native form: tampered counts ----

        private static byte[] NativeBytes(out EmbeddingTable table)
        {
            table = new EmbeddingTable(new[] { "a", "bb", "ccc" }, Enumerable.Range(0, 12).Select(i => (float)i).ToArray(), 4);
            using var stream = new MemoryStream();
            table.Save(stream);
            return stream.ToArray();
        }

        [TestCase(8, "2147483647 keys of dimension 4")]
        [TestCase(12, "dimension 2147483647 is larger than any table this library writes (at most 268435456)")]
        [TestCase(12, "3 keys of dimension 268435456", 1 << 28)]
        [TestCase(8, "100000 keys of dimension 4", 100_000)]
        public void ATamperedNativeCountOrDimensionIsRefusedBeforeAllocating(int offset, string expected, int value = int.MaxValue)
        {
            byte[] bytes = NativeBytes(out _);
            BitConverter.GetBytes(value).CopyTo(bytes, offset);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.Load(new MemoryStream(bytes)))!;
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(1 << 20));
            Assert.That(error.Message, Does.Contain(expected));
        }

        [TestCase(8)]
        [TestCase(12)]
        public void ATamperedNativeCountOnAStreamThatCannotSeekFailsAtTheEndOfTheData(int offset)
        {
            byte[] bytes = NativeBytes(out _);
            BitConverter.GetBytes(offset == 8 ? int.MaxValue : 1 << 28).CopyTo(bytes, offset);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = Assert.Throws<FormatException>(() => EmbeddingTable.Load(new ForwardOnlyStream(bytes)))!;
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(64 << 20), "allocated as the data arrives, not as the count claims");
            Assert.That(error.Message, Does.Contain("damaged").Or.Contain("truncated"));
        }

        [Test]
        public void ANativeTableReadsFromAStreamThatCannotSeek()
        {
            byte[] bytes = NativeBytes(out var table);
            var read = EmbeddingTable.Load(new ForwardOnlyStream(bytes));
            Assert.That(read.Keys, Is.EqualTo(table.Keys));
            Assert.That(read.GetVector("ccc"), Is.EqualTo(table.GetVector("ccc")));
        }

        [Test]
        public void DamagedNativeKeysAndValuesAreFormatErrors()
        {
            byte[] bytes = NativeBytes(out _);
            byte[] invalidUtf8 = (byte[])bytes.Clone();
            invalidUtf8[17] = 0xFF; // the marker, version, count and dimension take 16 bytes; key "a" is its length byte, then 'a'.
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.Load(new MemoryStream(invalidUtf8)))!.Message, Does.Contain("Key 0").And.Contain("UTF-8"));
            byte[] nan = (byte[])bytes.Clone();
            BitConverter.GetBytes(float.NaN).CopyTo(nan, bytes.Length - 4);
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.Load(new MemoryStream(nan)))!.Message, Does.Contain("NaN or infinity"));
            byte[] empty = (byte[])bytes.Clone();
            empty[16] = 0;
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.Load(new MemoryStream(empty)))!.Message, Does.Contain("Key 0 of the embedding table has length 0"));
        }

        /// <summary>A stream that can only read forward (as a network or decompression stream).</summary>
        private sealed class ForwardOnlyStream(byte[] bytes) : Stream
        {
            private readonly MemoryStream _inner = new(bytes);

            public override bool CanRead => true;
            public override bool CanSeek => false;
            public override bool CanWrite => false;
            public override long Length => throw new NotSupportedException();
            public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
            public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);
            public override void Flush() { }
            public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
            public override void SetLength(long value) => throw new NotSupportedException();
            public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        }

        // ---- saved models: tampered counts ----

        private sealed class ItemRow
        {
            public string Item { get; set; } = "";
        }

        [TestCase(false, 0, "2147483647 keys of dimension 4")]
        [TestCase(false, 4, "dimension 2147483647")]
        [TestCase(true, 0, "2147483647 keys of dimension 4")]
        [TestCase(true, 4, "dimension 2147483647")]
        public void ATamperedCountInASavedModelIsAFormatErrorBeforeAllocating(bool skipGram, int field, string expected)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new ItemRow { Item = "a" } });
            NativeBytes(out var table);
            ITransformer model = skipGram
                ? new SkipGramEmbeddingTransformer(table, null, new InputOutputColumnPair("Vector", "Item"), EmbeddingPooling.Mean, new SkipGramTrainingSummary(3, 1, 0, 3, 1, 0.5, 1, TimeSpan.Zero))
                : ml.Embeddings().ApplyEmbedding("Vector", table, "Item").Fit(data);
            using var saved = new MemoryStream();
            ml.Model.Save(model, data.Schema, saved);
            byte[] zip = saved.ToArray();
            var (entry, state) = ReadEntryWithTable(zip);
            // The table starts with "EMBT", version 1, count, dimension; ML.NET's header before it holds "EMBTRANS".
            int marker = state.AsSpan(256).IndexOf("EMBT"u8) + 256;
            BitConverter.GetBytes(int.MaxValue).CopyTo(state, marker + 8 + field);
            byte[] tampered = FileFormatPropertyTests.WithModelState(zip, entry, state);

            long before = GC.GetAllocatedBytesForCurrentThread();
            var error = Assert.Catch(() => new MLContext(seed: 1).Model.Load(new MemoryStream(tampered), out _))!;
            Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.LessThan(64 << 20));
            while (error is TargetInvocationException { InnerException: Exception inner })
                error = inner;
            Assert.That(error, Is.TypeOf<FormatException>());
            Assert.That(error.Message, Does.Contain(expected));
        }

        private static (string Entry, byte[] Bytes) ReadEntryWithTable(byte[] zip)
        {
            using var archive = new System.IO.Compression.ZipArchive(new MemoryStream(zip));
            foreach (var entry in archive.Entries)
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                byte[] bytes = copy.ToArray();
                if (bytes.Length > 256 && bytes.AsSpan(256).IndexOf("EMBT"u8) >= 0)
                    return (entry.FullName, bytes);
            }
            throw new AssertionException("No entry holds a table.");
        }

        // ---- cosine scores above 1 ----

        private sealed class Pair
        {
            [VectorType(37)]
            public float[] X { get; set; } = Array.Empty<float>();

            [VectorType(37)]
            public float[] Y { get; set; } = Array.Empty<float>();
        }

        [Test]
        public void CosineScoresStayWithinMinusOneAndOne()
        {
            // Pairs of parallel and opposite vectors: in float32 their cosine rounds to a few ulps above 1 or below -1.
            const int d = 37, pairs = 40;
            var random = new Random(5);
            var keys = new string[pairs * 3];
            var values = new float[keys.Length * d];
            for (int p = 0; p < pairs; p++)
            {
                float scale = (float)(random.NextDouble() * 10 + 0.1);
                for (int j = 0; j < d; j++)
                {
                    float v = (float)(random.NextDouble() * 2 - 1);
                    values[(3 * p) * d + j] = v;
                    values[(3 * p + 1) * d + j] = v * scale;
                    values[(3 * p + 2) * d + j] = -v * scale;
                }
                keys[3 * p] = $"p{p}";
                keys[3 * p + 1] = $"p{p}x";
                keys[3 * p + 2] = $"p{p}neg";
            }
            var table = new EmbeddingTable(keys, values, d);
            float Raw(int a, int b) => VectorMath.Dot(table.Row(a), table.Row(b)) * (1 / VectorMath.Norm(table.Row(a))) * (1 / VectorMath.Norm(table.Row(b)));
            Assume.That(Enumerable.Range(0, pairs).Any(p => Raw(3 * p, 3 * p + 1) > 1 || Raw(3 * p, 3 * p + 2) < -1), "some unclamped cosine is outside [-1, 1]");

            for (int p = 0; p < pairs; p++)
            {
                Assert.That(table.Similarity($"p{p}", $"p{p}x"), Is.InRange(-1f, 1f));
                Assert.That(table.Similarity($"p{p}", $"p{p}neg"), Is.InRange(-1f, 1f));
                Assert.That(table.MostSimilar($"p{p}", keys.Length - 1).Select(n => n.Similarity), Is.All.InRange(-1f, 1f));
            }
            var exact = new ExactNeighborIndex(table);
            using var hnsw = HnswNeighborIndex.Build(table);
            for (int row = 0; row < keys.Length; row++)
            {
                Assert.That(exact.Search(table.Row(row), 5).Select(n => n.Similarity), Is.All.InRange(-1f, 1f));
                Assert.That(hnsw.Search(table.Row(row), 5).Select(n => n.Similarity), Is.All.InRange(-1f, 1f));
            }

            var ml = new MLContext(seed: 1);
            var rows = Enumerable.Range(0, pairs).SelectMany(p => new[]
            {
                new Pair { X = table.GetVector($"p{p}"), Y = table.GetVector($"p{p}x") },
                new Pair { X = table.GetVector($"p{p}"), Y = table.GetVector($"p{p}neg") },
            }).ToArray();
            var scores = ml.Embeddings().Similarity("Score", "X", "Y", SimilarityMetric.Cosine).Fit(ml.Data.LoadFromEnumerable(rows))
                .Transform(ml.Data.LoadFromEnumerable(rows)).GetColumn<float>("Score").ToArray();
            Assert.That(scores, Is.All.InRange(-1f, 1f));
        }
    }
}
