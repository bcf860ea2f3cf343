using System;
using System.IO;
using System.Linq;
using Embeddings.Cli;
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
            var run = CliRunner.Run("word2vec", "-train", train, "-output", output, "-size", "16", "-window", "5", "-cbow", "0", "-negative", "5", "-hs", "0",
                "-sample", "0", "-threads", "1", "-iter", "8", "-min-count", "1", "-binary", binary, "-save-vocab", vocabulary, "-debug", "0");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
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
        public void TrainsPartitionedSkipGramAndRefusesPartitionedCbow()
        {
            string train = WritePlantedCorpus();
            string output = Path.Combine(_folder, "vectors.out"), partitions = Path.Combine(_folder, "partitions");
            var run = CliRunner.Run("word2vec", "-train", train, "-output", output, "-size", "16", "-window", "5", "-cbow", "0", "-negative", "5",
                "-sample", "0", "-threads", "1", "-iter", "8", "-min-count", "1", "-debug", "1", "-partitions", "3", "-partition-dir", partitions, "-episode-gib", "0.001");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(run.Output, Does.Contain("(partitioned: P = 3,").And.Contain("0 before"));
            var table = EmbeddingTable.LoadWord2VecFormat(output);
            Assert.That(table.Count, Is.EqualTo(60));
            Assert.That(PlantedSequences.NeighbourPurity(table, k: 5), Is.GreaterThan(0.85), "the planted clusters, trained partitioned");

            var cbow = CliRunner.Run("word2vec", "-train", train, "-output", Path.Combine(_folder, "cbow.out"), "--partitions", "2", "-partition-dir", Path.Combine(_folder, "p2"));
            Assert.That(cbow.ExitCode, Is.EqualTo(2), cbow.ToString());
            Assert.That(cbow.Error, Does.Contain("--partitions trains skip-gram with negative sampling only; add -cbow 0 (the word2vec tool's default is CBOW)"));
            var hs = CliRunner.Run("word2vec", "-train", train, "-output", Path.Combine(_folder, "hs.out"), "-cbow", "0", "-hs", "1", "-model-memory-gib", "1", "-partition-dir", Path.Combine(_folder, "p3"));
            Assert.That(hs.Error, Does.Contain("-model-memory-gib trains skip-gram with negative sampling only; add -cbow 0 and -hs 0"));
            Assert.That(File.Exists(Path.Combine(_folder, "cbow.out")) || File.Exists(Path.Combine(_folder, "hs.out")), Is.False);
        }

        [Test]
        public void OneThreadIsRepeatable()
        {
            string train = WritePlantedCorpus();
            string[] Args(string output) => new[] { "word2vec", "-train", train, "-output", output, "-size", "8", "-threads", "1", "-iter", "2", "-min-count", "1", "-debug", "0", "-seed", "3" };
            Assert.That(CliRunner.Run(Args(Path.Combine(_folder, "a.txt"))).ExitCode, Is.EqualTo(0));
            Assert.That(CliRunner.Run(Args(Path.Combine(_folder, "b.txt"))).ExitCode, Is.EqualTo(0));
            Assert.That(File.ReadAllText(Path.Combine(_folder, "b.txt")), Is.EqualTo(File.ReadAllText(Path.Combine(_folder, "a.txt"))));
        }

        [Test]
        public void BadFlagsAreRejectedWithTheirNames()
        {
            void Rejected(int exitCode, string message, params string[] args)
            {
                var run = CliRunner.Run(new[] { "word2vec" }.Concat(args).ToArray());
                Assert.That(run.ExitCode, Is.EqualTo(exitCode), run.ToString());
                Assert.That(run.Error, Does.StartWith("embeddings word2vec: ").And.Contain(message), run.ToString());
                Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), "one line");
                Assert.That(run.Output, Is.Empty);
            }

            Rejected(2, "unknown option '-outptu'", "-train", "x", "-outptu", "y");
            Rejected(2, "option -output is required", "-train", "x");
            Rejected(2, "-cbow takes 0 or 1; got '2'", "-train", "x", "-output", "y", "-cbow", "2");
            Rejected(2, "-size needs a whole number; got 'big'", "-train", "x", "-output", "y", "-size", "big");
            Rejected(2, "--dimensions needs a whole number; got 'big'", "-train", "x", "-output", "y", "--dimensions", "big");
            Rejected(2, "-window must be 1 or more; got 0", "-train", "x", "-output", "y", "-window", "0");
            Rejected(2, "-sample must be at least 0 and below 1", "-train", "x", "-output", "y", "-sample", "1.5");
            Rejected(2, "-negative 0 with -hs 0 leaves nothing to train", "-train", "x", "-output", "y", "-negative", "0");
            Rejected(2, "-classes (k-means word classes) is not supported", "-train", "x", "-output", "y", "-classes", "500");
            Rejected(1, $"-train: the file '{Path.Combine(_folder, "missing.txt")}' does not exist", "-train", Path.Combine(_folder, "missing.txt"), "-output", Path.Combine(_folder, "y"));
            Rejected(1, "is a folder", "-train", _folder, "-output", Path.Combine(_folder, "y"));
            string train = WritePlantedCorpus();
            Rejected(1, "is a folder", "-train", train, "-output", _folder);
            Rejected(1, "does not exist", "-train", train, "-output", Path.Combine(_folder, "no-such-folder", "y"));

            // The CLI's names, not the library's, and no .NET boilerplate.
            var window = CliRunner.Run("word2vec", "-train", "x", "-output", "y", "-window", "0");
            Assert.That(window.Error, Does.Not.Contain("WindowSize").And.Not.Contain("Parameter").And.Not.Contain("Actual value"));
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

        private sealed class RecordingSink : Embeddings.ISequenceWriter
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
