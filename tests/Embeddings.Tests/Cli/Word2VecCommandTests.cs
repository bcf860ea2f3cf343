using System;
using System.IO;
using System.Linq;
using Embeddings.Cli;
using Embeddings.Cli.Commands;
using Embeddings.Tests.Estimators;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    [TestFixture]
    public class Word2VecCommandTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string WritePlantedCorpus()
        {
            string path = Path.Combine(_folder, "train.txt");
            File.WriteAllLines(path, PlantedSequences.Generate(clusters: 6, itemsPerCluster: 10, sequences: 1500, seed: 4).Select(r => string.Join(' ', r.Items)));
            return path;
        }

        [TestCase("0")]
        [TestCase("1")]
        public void TrainsWithTheWord2VecToolsFlags(string binary)
        {
            string train = WritePlantedCorpus();
            string output = Path.Combine(_folder, "vectors.out");
            string vocabulary = Path.Combine(_folder, "vocab.txt");
            int code = Word2VecCommand.Run(new[] { "-train", train, "-output", output, "-size", "16", "-window", "5", "-cbow", "0", "-negative", "5", "-hs", "0",
                "-sample", "0", "-threads", "1", "-iter", "8", "-min-count", "1", "-binary", binary, "-save-vocab", vocabulary, "-debug", "0" });
            Assert.That(code, Is.EqualTo(0));
            var table = EmbeddingTable.LoadWord2VecFormat(output, binary == "1" ? Word2VecFileFormat.Binary : Word2VecFileFormat.Text);
            Assert.That(table.Count, Is.EqualTo(60));
            Assert.That(table.Dimension, Is.EqualTo(16));
            Assert.That(PlantedSequences.NeighbourPurity(table, k: 5), Is.GreaterThan(0.9));
            var lines = File.ReadAllLines(vocabulary);
            Assert.That(lines, Has.Length.EqualTo(60));
            var counts = lines.Select(l => long.Parse(l.Split(' ')[1])).ToArray();
            Assert.That(counts, Is.Ordered.Descending, "vocabulary written most frequent first");
        }

        [Test]
        public void OneThreadIsRepeatable()
        {
            string train = WritePlantedCorpus();
            string[] Args(string output) => new[] { "-train", train, "-output", output, "-size", "8", "-threads", "1", "-iter", "2", "-min-count", "1", "-debug", "0", "-seed", "3" };
            Word2VecCommand.Run(Args(Path.Combine(_folder, "a.txt")));
            Word2VecCommand.Run(Args(Path.Combine(_folder, "b.txt")));
            Assert.That(File.ReadAllText(Path.Combine(_folder, "b.txt")), Is.EqualTo(File.ReadAllText(Path.Combine(_folder, "a.txt"))));
        }

        [Test]
        public void BadFlagsAreRejectedWithTheirNames()
        {
            Assert.That(Assert.Throws<UsageException>(() => Word2VecCommand.Run(new[] { "-train", "x", "-outptu", "y" }))!.Message, Does.Contain("unknown option '-outptu'"));
            Assert.That(Assert.Throws<UsageException>(() => Word2VecCommand.Run(new[] { "-train", "x" }))!.Message, Does.Contain("-output is required"));
            Assert.That(Assert.Throws<UsageException>(() => Word2VecCommand.Run(new[] { "-train", "x", "-output", "y", "-cbow", "2" }))!.Message, Does.Contain("-cbow takes 0 or 1"));
            Assert.That(Assert.Throws<UsageException>(() => Word2VecCommand.Run(new[] { "-train", "x", "-output", "y", "-size", "big" }))!.Message, Does.Contain("-size needs a whole number"));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => Word2VecCommand.Run(new[] { "-train", "x", "-output", "y", "-window", "0" }))!.Message, Does.Contain("WindowSize = 0"));
            Assert.Throws<FileNotFoundException>(() => Word2VecCommand.Run(new[] { "-train", Path.Combine(_folder, "missing.txt"), "-output", Path.Combine(_folder, "y") }));
        }

        [Test]
        public void LinesAreSentencesAndLongLinesAreCut()
        {
            string path = Path.Combine(_folder, "text.txt");
            File.WriteAllText(path, " a b  c\n\nd\te\r\nf g h i j k");
            var sink = new RecordingSink();
            long tokens = TextCorpusReader.Read(path, sink, maxSequenceLength: 4);
            Assert.That(tokens, Is.EqualTo(11));
            Assert.That(sink.Sequences, Is.EqualTo(new[] { "a b c", "d e", "f g h i", "j k" }));
        }

        private sealed class RecordingSink : Embeddings.SkipGram.ISequenceSink
        {
            private readonly System.Collections.Generic.List<string> _current = new();

            public System.Collections.Generic.List<string> Sequences { get; } = new();

            public void Add(ReadOnlySpan<char> token) => _current.Add(token.ToString());

            public void EndSequence()
            {
                Sequences.Add(string.Join(' ', _current));
                _current.Clear();
            }
        }
    }
}
