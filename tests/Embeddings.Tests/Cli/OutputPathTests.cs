using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using Embeddings.Cli;
using Embeddings.Infrastructure;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    /// <summary>
    /// Outputs never destroy inputs (issue 13, defect 7), writes through links keep the link, and the remaining items of
    /// issue 13's item 9: flag names in every message, a folder given as a file, bad weights, a tiny graph, a huge k.
    /// </summary>
    [TestFixture]
    public class OutputPathTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string PathOf(string name) => Path.Combine(_folder, name);

        private string WriteCorpus()
        {
            string path = PathOf("a.txt");
            File.WriteAllLines(path, Enumerable.Range(0, 200).Select(i => $"the quick brown fox jumps over the lazy dog {i % 7}"));
            return path;
        }

        private string WriteVectors()
        {
            var random = new Random(5);
            var table = new EmbeddingTable(Enumerable.Range(0, 12).Select(i => $"k{i}").ToArray(), Enumerable.Range(0, 12 * 4).Select(_ => (float)random.NextDouble()).ToArray(), 4);
            string path = PathOf("v.txt");
            table.SaveWord2VecFormat(path);
            return path;
        }

        private static void AssertRefused(CliRunner.Result run, string expected)
        {
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(expected), run.ToString());
        }

        [Test]
        public void AnOutputThatIsTheInputIsRefusedAndTheInputKept()
        {
            string corpus = WriteCorpus();
            byte[] before = File.ReadAllBytes(corpus);
            AssertRefused(CliRunner.Run("word2vec", "-train", corpus, "-output", corpus, "-min-count", "1"),
                $"embeddings word2vec: -output '{corpus}' is the same file as -train '{corpus}'; writing it would destroy the input. Give -output another file name.");
            AssertRefused(CliRunner.Run("word2vec", "--train", corpus, "--output", PathOf("v.bin"), "--save-vocab", corpus), "--save-vocab '");
            string relative = Path.Combine(_folder, ".", "sub", "..", "a.txt");
            Directory.CreateDirectory(PathOf("sub"));
            AssertRefused(CliRunner.Run("word2vec", "-train", corpus, "-output", relative), "-output");
            Assert.That(File.ReadAllBytes(corpus), Is.EqualTo(before));
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { corpus }), "nothing written");

            string vectors = WriteVectors();
            string queries = PathOf("q.txt");
            File.WriteAllLines(queries, new[] { "k1" });
            AssertRefused(CliRunner.Run("similar", "--vectors", vectors, "--queries", queries, "--output", vectors), "--output '");
            AssertRefused(CliRunner.Run("similar", "--vectors", vectors, "--queries", queries, "--output", queries), "the same file as --queries");
        }

        [Test]
        public void TwoOutputsOfOneCommandMustDiffer()
        {
            string corpus = WriteCorpus();
            string output = PathOf("out.txt");
            AssertRefused(CliRunner.Run("word2vec", "-train", corpus, "-output", output, "-save-vocab", output),
                $"-save-vocab '{output}' is the same file as -output '{output}'; both outputs would be written to one file.");
            Assert.That(File.Exists(output), Is.False);
        }

        [Test]
        public void LinksToTheInputAreTheInput()
        {
            if (OperatingSystem.IsWindows())
                Assert.Ignore("symbolic and hard links need privileges on Windows");
            string corpus = WriteCorpus();
            byte[] before = File.ReadAllBytes(corpus);
            string symbolic = PathOf("link.txt");
            File.CreateSymbolicLink(symbolic, corpus);
            AssertRefused(CliRunner.Run("word2vec", "-train", corpus, "-output", symbolic), "(through a link); writing it would destroy the input");
            // A linked folder on the way.
            string linkedFolder = PathOf("again");
            Directory.CreateSymbolicLink(linkedFolder, _folder);
            AssertRefused(CliRunner.Run("word2vec", "-train", corpus, "-output", Path.Combine(linkedFolder, "a.txt")), "(through a link)");
            // A hard link: another name of the same inode.
            string hard = PathOf("hard.txt");
            var ln = System.Diagnostics.Process.Start("ln", new[] { corpus, hard });
            ln.WaitForExit();
            Assume.That(ln.ExitCode, Is.EqualTo(0), "ln made the hard link");
            AssertRefused(CliRunner.Run("word2vec", "-train", hard, "-output", corpus), "is the same file as -train");
            Assert.That(File.ReadAllBytes(corpus), Is.EqualTo(before));
        }

        [Test]
        public void WritingThroughASymbolicLinkWritesItsTargetAndKeepsTheLink()
        {
            if (OperatingSystem.IsWindows())
                Assert.Ignore("symbolic links need privileges on Windows");
            string corpus = WriteCorpus();
            Directory.CreateDirectory(PathOf("store"));
            string target = PathOf(Path.Combine("store", "vectors.txt"));
            File.WriteAllText(target, "old");
            string link = PathOf("vectors.txt");
            File.CreateSymbolicLink(link, Path.Combine("store", "vectors.txt"));
            var run = CliRunner.Run("word2vec", "-train", corpus, "-output", link, "-min-count", "1", "-size", "4", "-threads", "1", "-debug", "0");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(new FileInfo(link).LinkTarget, Is.EqualTo(Path.Combine("store", "vectors.txt")), "the link stays a link");
            Assert.That(File.ReadAllLines(target)[0], Does.EndWith(" 4"), "its target holds the vectors");
            Assert.That(Directory.GetFiles(PathOf("store")), Is.EquivalentTo(new[] { target }), "no temporary file");
        }

        [Test]
        public void AtomicFileRemovesTheTemporaryFilesOfDeadProcessesOnly()
        {
            string destination = PathOf("out.bin");
            // No process has the largest pid; this test's process is alive.
            string dead = PathOf($".out.bin{AtomicFile.TemporaryMarker}{int.MaxValue}-{Guid.NewGuid():N}");
            string alive = PathOf($".out.bin{AtomicFile.TemporaryMarker}{Environment.ProcessId}-{Guid.NewGuid():N}");
            string other = PathOf($".other.bin{AtomicFile.TemporaryMarker}{int.MaxValue}-{Guid.NewGuid():N}");
            string notOurs = PathOf($".out.bin{AtomicFile.TemporaryMarker}notapid");
            foreach (string file in new[] { dead, alive, other, notOurs })
                File.WriteAllText(file, "partial");
            AtomicFile.Write(destination, stream => stream.WriteByte(7));
            Assert.That(File.ReadAllBytes(destination), Is.EqualTo(new byte[] { 7 }));
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { destination, alive, other, notOurs }),
                "only the dead process' file of this destination is removed");
        }

        [Test]
        public void AtomicFileLeavesTheDestinationAsItWasWhenTheWriteFails()
        {
            // Property: whatever the callback writes before it fails (or is cancelled), the destination keeps its old
            // content (or stays absent) and no temporary file is left.
            var random = new Random(13);
            for (int trial = 0; trial < 200; trial++)
            {
                string destination = PathOf($"d{trial % 3}.bin");
                byte[]? old = random.Next(2) == 0 ? null : Enumerable.Range(0, random.Next(0, 64)).Select(_ => (byte)random.Next(256)).ToArray();
                if (old is null)
                    File.Delete(destination);
                else
                    File.WriteAllBytes(destination, old);
                var written = Enumerable.Range(0, random.Next(0, 5000)).Select(_ => (byte)random.Next(256)).ToArray();
                Exception failure = random.Next(3) switch
                {
                    0 => new OperationCanceledException(),
                    1 => new IOException("disk full"),
                    _ => new InvalidOperationException("bad data"),
                };
                bool disposeFirst = random.Next(2) == 0;
                var caught = Assert.Catch(() => AtomicFile.Write(destination, stream =>
                {
                    stream.Write(written);
                    if (disposeFirst)
                        stream.Dispose();
                    throw failure;
                }));
                Assert.That(caught, Is.SameAs(failure));
                if (old is null)
                    Assert.That(File.Exists(destination), Is.False, $"trial {trial}");
                else
                    Assert.That(File.ReadAllBytes(destination), Is.EqualTo(old), $"trial {trial}");
                Assert.That(Directory.GetFiles(_folder).Where(f => f.Contains(AtomicFile.TemporaryMarker, StringComparison.Ordinal)), Is.Empty, $"trial {trial}");
            }
        }

        [Test]
        public void DurableWritesKeepTheAtomicGuaranteesAndFlushRealFolders()
        {
            // WriteDurably is Write plus device flushes: same content, same all-or-nothing, for writers that leave the
            // stream open and for writers that dispose it (which then flushes the file by name).
            string destination = PathOf("manifest.json");
            File.WriteAllText(destination, "old");
            AtomicFile.WriteDurably(destination, stream => stream.Write("new"u8));
            Assert.That(File.ReadAllText(destination), Is.EqualTo("new"));
            AtomicFile.WriteDurably(destination, stream =>
            {
                using var writer = new StreamWriter(stream);
                writer.Write("disposed");
            });
            Assert.That(File.ReadAllText(destination), Is.EqualTo("disposed"));
            var failure = new IOException("disk full");
            Assert.That(Assert.Catch(() => AtomicFile.WriteDurably(destination, stream =>
            {
                stream.Write("partial"u8);
                throw failure;
            })), Is.SameAs(failure));
            Assert.That(File.ReadAllText(destination), Is.EqualTo("disposed"), "a failed durable write leaves the old file");
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { destination }), "no temporary file");

            AtomicFile.FlushFileToDevice(destination);
            AtomicFile.FlushFolderToDevice(_folder);
            if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
            {
                var missing = Assert.Throws<DirectoryNotFoundException>(() => AtomicFile.FlushFolderToDevice(PathOf("nowhere")));
                Assert.That(missing!.Message, Does.Contain("nowhere").And.Contain("does not exist"));
            }
            Assert.Throws<FileNotFoundException>(() => AtomicFile.FlushFileToDevice(PathOf("absent.bin")));
        }

        [Test]
        public void AFolderGivenAsAFileSaysItIsAFolder()
        {
            string vectors = WriteVectors();
            var run = CliRunner.Run("similar", "--vectors", _folder, "--queries", vectors, "--output", PathOf("o.tsv"));
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            // A folder is read only when it holds Parquet files (docs/parquet.md); this one does not.
            Assert.That(run.Error.TrimEnd(), Does.StartWith($"embeddings similar: --vectors: '{_folder}' is a folder without .parquet files; give"));
            var output = CliRunner.Run("similar", "--vectors", vectors, "--queries", vectors, "--output", _folder);
            Assert.That(output.Error.TrimEnd(), Is.EqualTo($"embeddings similar: --output: '{_folder}' is a folder; give a file name."));
            var node2Vec = CliRunner.Run("node2vec", "--input", _folder, "--output", PathOf("o.emb"));
            Assert.That(node2Vec.Error, Does.Contain("is a folder").And.Not.Contain("does not exist"));
        }

        [TestCase("-1")]
        [TestCase("0")]
        [TestCase("NaN")]
        [TestCase("inf")]
        [TestCase("1e300")]
        public void BadEdgeWeightsNameTheLineAndNoLibraryOption(string weight)
        {
            string edges = PathOf("edges.txt");
            File.WriteAllLines(edges, new[] { "a b 1", $"b c {weight}" });
            var run = CliRunner.Run("node2vec", "--input", edges, "--output", PathOf("o.emb"), "--weighted", "--workers", "1");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain($"{edges}: line 2").And.Not.Contain("InvalidWeights").And.Not.Contain("InvalidEdgeWeightHandling"));
            Assert.That(File.Exists(PathOf("o.emb")), Is.False);
        }

        [Test]
        public void SimilarCapsAHugeK()
        {
            string vectors = WriteVectors();
            string queries = PathOf("q.txt");
            File.WriteAllLines(queries, new[] { "k3" });
            var run = CliRunner.Run("similar", "--vectors", vectors, "--queries", queries, "--output", PathOf("o.tsv"), "--k", "2147483647", "--approximate");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(File.ReadAllLines(PathOf("o.tsv")), Has.Length.EqualTo(11));
        }

        [TestCase("node2vec")]
        [TestCase("deepwalk")]
        public void ATinyGraphFailsClearlyInsteadOfWritingRandomVectors(string command)
        {
            // Directed edges a -> b, b -> c: walks of at most 3 nodes, which subsampling at 1e-3 all but empties.
            string edges = PathOf("tiny.txt");
            File.WriteAllLines(edges, new[] { "a b", "b c", "c d" });
            string output = PathOf("tiny.emb");
            var run = CliRunner.Run(command, "--input", edges, "--output", output, "--directed", "--workers", "1");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(run.Error, Does.Contain("Lower --sample (0 turns subsampling off)").And.Contain("tokens").And.Not.Contain("SamplingThreshold"));
            Assert.That(File.Exists(output), Is.False, "no untrained vectors written");

            var trained = CliRunner.Run(command, "--input", edges, "--output", output, "--directed", "--workers", "1", "--sample", "0");
            Assert.That(trained.ExitCode, Is.EqualTo(0), trained.ToString());
            Assert.That(File.ReadAllLines(output)[0], Is.EqualTo("4 128"));
        }

        [Test]
        public void ATinyGraphFailsClearlyInTheLibrary()
        {
            var ml = new MLContext(1);
            var rows = new[] { ("a", "b"), ("b", "c"), ("c", "d") }.Select(e => new Edge { Source = e.Item1, Target = e.Item2 });
            var data = ml.Data.LoadFromEnumerable(rows);
            var options = new Node2VecEstimator.Options { SourceColumnName = "Source", TargetColumnName = "Target", Directed = true, NumberOfThreads = 1 };
            options.OutputColumns.Add(("Vector", "Source"));
            var error = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().Node2Vec(options).Fit(data));
            Assert.That(error!.Message, Does.Contain("SamplingThreshold = 0.001").And.Contain("Lower SamplingThreshold (0 turns subsampling off)").And.Contain("tokens"));
            options.SamplingThreshold = 0;
            Assert.That(ml.Embeddings().Node2Vec(options).Fit(data).SourceEmbeddings.Count, Is.EqualTo(4));
        }

        private sealed class Edge
        {
            public string Source { get; set; } = "";
            public string Target { get; set; } = "";
        }

        [Test]
        public void TheLargestValuesAreTrainedOrRefusedByTheirFlag()
        {
            string corpus = WriteCorpus();
            string output = PathOf("o.txt");
            const string largest = "2147483647";
            // A window beyond every sentence is the whole sentence (it overflowed before).
            var wide = CliRunner.Run("word2vec", "-train", corpus, "-output", output, "-size", "4", "-min-count", "1", "-threads", "1", "-debug", "0", "-window", largest);
            Assert.That(wide.ExitCode, Is.EqualTo(0), wide.ToString());
            string edges = PathOf("edges.txt");
            File.WriteAllLines(edges, Enumerable.Range(0, 30).Select(i => $"{i} {(i * 7 + 1) % 30}"));
            var graph = CliRunner.Run("node2vec", "--input", edges, "--output", output, "--dimensions", "4", "--workers", "1", "--window-size", largest);
            Assert.That(graph.ExitCode, Is.EqualTo(0), graph.ToString());

            File.Delete(output);
            var threads = CliRunner.Run("word2vec", "-train", corpus, "-output", output, "-threads", largest);
            Assert.That(threads.Error.TrimEnd(), Is.EqualTo("embeddings word2vec: -threads must be from 1 to 4,096; got 2147483647. See 'embeddings word2vec --help'."));
            var minCount = CliRunner.Run("word2vec", "-train", corpus, "-output", output, "--min-count", largest, "-debug", "0");
            Assert.That(minCount.ExitCode, Is.EqualTo(1), minCount.ToString());
            Assert.That(minCount.Error, Does.Contain("occurs at least --min-count = 2147483647 times").And.Contain("Lower --min-count.").And.Not.Contain("MinCount"));
            var walks = CliRunner.Run("node2vec", "--input", edges, "--output", output, "--walk-length", largest);
            Assert.That(walks.ExitCode, Is.EqualTo(1), walks.ToString());
            Assert.That(walks.Error, Does.Contain("lower --num-walks or --walk-length"));
            Assert.That(File.Exists(output), Is.False);

            string ratings = PathOf("ratings.tsv");
            File.WriteAllLines(ratings, Enumerable.Range(0, 300).Select(i => $"u{i % 20}\ti{(i * 7) % 25}\t{1 + i % 5}\t{1000 + i}"));
            var dropped = CliRunner.Run("item2vec", "--input", ratings, "--output", output, "--threads", "1", "--exclude-last", largest);
            Assert.That(dropped.ExitCode, Is.EqualTo(2), dropped.ToString());
            Assert.That(dropped.Error, Does.StartWith("embeddings item2vec: --exclude-last 2147483647 drops every interaction: the longest user history in ").And.Contain("Use --exclude-last 14 or less."));
            var excluded = CliRunner.Run("mf", "--input", ratings, "--output", output, "--threads", "1", "--exclude-last", largest);
            Assert.That(excluded.ExitCode, Is.EqualTo(1), excluded.ToString());
            Assert.That(excluded.Error, Does.StartWith("embeddings mf: --exclude-last 2147483647 leaves no ").And.EndWith("use a smaller --exclude-last.\n"));
            var boost = CliRunner.Run("mf", "--input", ratings, "--output", output, "--implicit", "--recency-half-life", "1", "--recency-boost", "1e300");
            Assert.That(boost.Error.TrimEnd(), Is.EqualTo("embeddings mf: --recency-boost must be from 0 to 1e6 (a strength of 1 + boost); got 1E+300. See 'embeddings mf --help'."));
        }

        [Test]
        public void ARankerThatLearnsNothingSaysSoInTheCommandsTerms()
        {
            string ratings = PathOf("ratings.tsv");
            File.WriteAllLines(ratings, Enumerable.Range(0, 300).Select(i => $"u{i % 20}\ti{(i * 7) % 25}\t{1 + i % 5}\t{1000 + i}"));
            var run = CliRunner.Run("recommend-eval", "--input", ratings, "--threads", "1", "--split", "test", "--no-mf", "--min-leaf", "5");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error.TrimEnd().Split('\n').Last(), Does.Contain("ranker learned no split").And.Contain("(--min-leaf = 5)").And.Contain("lower --min-leaf.")
                .And.Not.Contain("Value cannot be null"));
        }

        private static readonly string[] s_intValues = { "-1", "0", "-2147483648" };
        private static readonly string[] s_doubleValues = { "-1", "0", "NaN", "-Infinity", "Infinity", "1e-50", "1e300" };

        /// <summary>Every numeric flag of every command that trains quickly, with out-of-range values.</summary>
        private static IEnumerable<TestCaseData> FlagCases()
        {
            foreach (var command in EmbeddingsCli.Commands())
            {
                foreach (var option in command.Command.Options)
                {
                    string[]? values = option switch
                    {
                        Option<int> or Option<int?> => s_intValues,
                        Option<double> or Option<double?> => s_doubleValues,
                        _ => null,
                    };
                    if (values is null)
                        continue;
                    foreach (string value in values)
                    {
                        // The spelling the user types: the word2vec tool's single dash, and the double-dash aliases.
                        foreach (string flag in option.Aliases.Append(option.Name).Distinct().Take(2))
                            yield return new TestCaseData(command.Command.Name, flag, value).SetName($"{command.Command.Name} {flag} {value}");
                    }
                }
            }
        }

        /// <summary>Files and settings that make each command run in a moment.</summary>
        private Dictionary<string, string> BaseArguments(string command)
        {
            string corpus = WriteCorpus();
            string edges = PathOf("edges.txt");
            File.WriteAllLines(edges, Enumerable.Range(0, 30).Select(i => $"{i} {(i * 7 + 1) % 30}"));
            string ratings = PathOf("ratings.tsv");
            File.WriteAllLines(ratings, Enumerable.Range(0, 300).Select(i => $"u{i % 20}\ti{(i * 7) % 25}\t{1 + i % 5}\t{1000 + i}"));
            string vectors = WriteVectors();
            string queries = PathOf("q.txt");
            File.WriteAllLines(queries, new[] { "k1", "k2" });
            string questions = PathOf("questions.txt");
            File.WriteAllLines(questions, new[] { ": family", "k1 k2 k3 k4" });
            string labels = PathOf("labels.tsv");
            File.WriteAllLines(labels, Enumerable.Range(0, 12).Select(i => $"k{i}\t{i % 2}"));
            string splits = PathOf("splits.tsv");
            File.WriteAllLines(splits, Enumerable.Range(0, 12).Select(i => $"0\tk{i}\t{(i < 8 ? 1 : 0)}"));
            return command switch
            {
                "word2vec" => new() { ["-train"] = corpus, ["-output"] = PathOf("o.txt"), ["-min-count"] = "1", ["-size"] = "4", ["-threads"] = "1", ["-iter"] = "1", ["-debug"] = "0", ["-sample"] = "0" },
                "analogy" => new() { ["--vectors"] = vectors, ["--questions"] = questions },
                "item2vec" => new() { ["--input"] = ratings, ["--output"] = PathOf("o.txt"), ["--dimensions"] = "4", ["--threads"] = "1", ["--min-count"] = "1", ["--sample"] = "0", ["--epochs"] = "1" },
                "mf" => new() { ["--input"] = ratings, ["--output"] = PathOf("o.txt"), ["--rank"] = "4", ["--iterations"] = "2", ["--threads"] = "1" },
                "similar" => new() { ["--vectors"] = vectors, ["--queries"] = queries, ["--output"] = PathOf("o.tsv") },
                "walks" => new() { ["--input"] = edges, ["--output"] = PathOf("w.txt"), ["--num-walks"] = "2", ["--walk-length"] = "10" },
                "node2vec" or "deepwalk" => new() { ["--input"] = edges, ["--output"] = PathOf("o.emb"), ["--dimensions"] = "4", ["--workers"] = "1", ["--num-walks"] = "2", ["--walk-length"] = "10", ["--sample"] = "0", ["--iter"] = "1" },
                "node-classification" => new() { ["--vectors"] = vectors, ["--labels"] = labels, ["--splits"] = splits },
                "fit-recommender" => new() { ["--input"] = ratings, ["--output"] = PathOf("o.zip") },
                "recommend" => new() { ["--model"] = ratings, ["--output"] = PathOf("o.tsv") },
                _ => new() { ["--input"] = ratings },
            };
        }

        [TestCaseSource(nameof(FlagCases))]
        public void EveryNumericFlagSpeaksTheFlagsName(string command, string flag, string value)
        {
            var arguments = BaseArguments(command);
            var option = EmbeddingsCli.Commands().Single(c => c.Command.Name == command).Command.Options.Single(o => o.Name == flag || o.Aliases.Contains(flag));
            foreach (string alias in option.Aliases.Append(option.Name))
                arguments.Remove(alias);
            var args = new List<string> { command };
            foreach (var (name, given) in arguments)
                args.AddRange(new[] { name, given });
            args.AddRange(new[] { flag, value });
            var root = EmbeddingsCli.CreateRootCommand();
            bool parses = root.Parse(args, EmbeddingsCli.ParserConfiguration).Errors.Count == 0;
            if (parses && command is "recommend-eval" or "sweep" or "fit-recommender" or "recommend")
                Assert.Pass("a value these long commands (or this one, which needs a trained model) accept: not run here");

            var run = CliRunner.Run(args.ToArray());
            Assert.That(run.Error, Does.Not.Contain("(Parameter").And.Not.Contain("Actual value was"), run.ToString());
            if (run.ExitCode == 0)
                return;
            Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.ToString());
            // The flag as typed, or (a check of two flags together) its spelling in the word2vec tool.
            Assert.That(run.Error, Does.Contain(flag).Or.Contain(option.Name), run.ToString());
            foreach (string libraryName in new[] { "EmbeddingDimension", "WindowSize", "SamplingThreshold", "NegativeSampleCount", "NumberOfThreads", "Epochs", "MinCount", "LearningRate", "WalkLength", "WalksPerNode", "ApproximationRank", "Lambda" })
                Assert.That(run.Error, Does.Not.Contain(libraryName), run.ToString());
            if (!parses)
                Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        }
    }
}
