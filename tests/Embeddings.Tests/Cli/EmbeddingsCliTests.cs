using System;
using System.IO;
using System.Linq;
using System.Threading;
using Embeddings.Cli;
using Embeddings.Cli.Commands;
using Embeddings.Tests.Estimators;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    /// <summary>The tool as a whole: help, version, exit codes, one-line errors, aliases, and Ctrl+C.</summary>
    [TestFixture]
    public class EmbeddingsCliTests
    {
        private static readonly string[] s_commands =
            { "word2vec", "analogy", "item2vec", "recommend-eval", "mf", "sweep", "similar", "node2vec", "deepwalk", "node-classification" };

        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string WriteCorpus()
        {
            string path = Path.Combine(_folder, "train.txt");
            File.WriteAllLines(path, PlantedSequences.Generate(clusters: 6, itemsPerCluster: 10, sequences: 1500, seed: 4).Select(r => string.Join(' ', r.Items)));
            return path;
        }

        [Test]
        public void RootHelpListsEveryCommandAndTheExitCodes()
        {
            var run = CliRunner.Run("--help");
            Assert.That(run.ExitCode, Is.EqualTo(0));
            foreach (string command in s_commands)
                Assert.That(run.Output, Does.Contain(command));
            Assert.That(run.Output, Does.Contain("Exit codes").And.Contain("130").And.Contain(EmbeddingsCli.DebugVariable));
            Assert.That(run.Error, Is.Empty);
        }

        [TestCaseSource(nameof(s_commands))]
        public void HelpWorksAnywhereOnTheLine(string command)
        {
            var alone = CliRunner.Run(command, "--help");
            Assert.That(alone.ExitCode, Is.EqualTo(0), alone.ToString());
            Assert.That(alone.Output, Does.Contain($"embeddings {command}").And.Contain("Options:"));
            Assert.That(alone.Error, Is.Empty);
            // After other flags, even incomplete or wrong ones: still the command's help.
            Assert.That(CliRunner.Run(command, "--vectors", "v.bin", "--help").Output, Is.EqualTo(alone.Output));
            Assert.That(CliRunner.Run(command, "-train", "x", "-h").Output, Is.EqualTo(alone.Output));
            Assert.That(CliRunner.Run("help", command), Is.EqualTo(alone), "embeddings help COMMAND");
        }

        [Test]
        public void SimilarHelpAfterAFlagIsTheCommandsHelp()
        {
            var run = CliRunner.Run("similar", "--vectors", "v.bin", "--help");
            Assert.That(run.ExitCode, Is.EqualTo(0));
            Assert.That(run.Output, Does.Contain("--queries").And.Contain("--k <N>").And.Contain("[default: 10]"));
        }

        [Test]
        public void HelpShowsTheDefaultsFromTheLibrary()
        {
            var help = CliRunner.Run("word2vec", "--help").Output;
            Assert.That(help, Does.Contain($"vector size [default: {SkipGramEmbeddingEstimator.Defaults.EmbeddingDimension}]"));
            Assert.That(help, Does.Contain("-threads <N>").And.Contain("[default: 12]"), "the word2vec tool's own default");
            var node2Vec = CliRunner.Run("node2vec", "--help").Output;
            Assert.That(node2Vec, Does.Contain($"[default: {new Node2VecEstimator.Options().WalkLength}]"));
        }

        [Test]
        public void NoArgumentsPrintTheHelpAsAUsageError()
        {
            var root = CliRunner.Run();
            Assert.That(root.ExitCode, Is.EqualTo(2));
            Assert.That(root.Output, Does.Contain("Commands:"));
            var command = CliRunner.Run("word2vec");
            Assert.That(command.ExitCode, Is.EqualTo(2));
            Assert.That(command.Output, Does.Contain("-min-count"));
        }

        [Test]
        public void VersionPrintsTheToolsVersion()
        {
            var run = CliRunner.Run("--version");
            Assert.That(run.ExitCode, Is.EqualTo(0));
            Assert.That(run.Output.Trim(), Does.Match(@"^embeddings \d+\.\d+\.\d+"));
            Assert.That(run.Output, Does.Contain(EmbeddingsCli.Version));
        }

        [TestCase("similar", "--vectors", "v.bin", "--bogus", "1", ExpectedResult = "embeddings similar: unknown option '--bogus'. See 'embeddings similar --help'.")]
        [TestCase("nonsense", ExpectedResult = "embeddings: unknown command 'nonsense'. Commands: word2vec, analogy, item2vec, recommend-eval, fit-recommender, recommend, mf, sweep, similar, node2vec, deepwalk, walks, node-classification, cluster. See 'embeddings --help'.")]
        [TestCase("help", "nonsense", ExpectedResult = "embeddings help: unknown command 'nonsense'. Commands: word2vec, analogy, item2vec, recommend-eval, fit-recommender, recommend, mf, sweep, similar, node2vec, deepwalk, walks, node-classification, cluster. See 'embeddings help --help'.")]
        [TestCase("similar", "--vectors", "v", "--queries", "q", "--output", "o", "--k", "0", ExpectedResult = "embeddings similar: --k must be 1 or more; got 0. See 'embeddings similar --help'.")]
        [TestCase("node2vec", "--input", "e", "--output", "o", "--q", "0", ExpectedResult = "embeddings node2vec: --q must be a finite number above 0; got 0. See 'embeddings node2vec --help'.")]
        [TestCase("node2vec", "--input", "e", "--output", "o", "--threads", "x", ExpectedResult = "embeddings node2vec: --threads needs a whole number; got 'x'. See 'embeddings node2vec --help'.")]
        [TestCase("recommend-eval", "--input", "i", "--ranker", "xgboost", ExpectedResult = "embeddings recommend-eval: --ranker takes lightgbm or fasttree; got 'xgboost'. See 'embeddings recommend-eval --help'.")]
        [TestCase("mf", "--input", "i", "--output", "o", "--rank", "0", ExpectedResult = "embeddings mf: --rank must be from 1 to 1,024; got 0. See 'embeddings mf --help'.")]
        [TestCase("mf", "--input", "i", "--output", "o", "--implicit", "--non-negative", ExpectedResult = "embeddings mf: --non-negative applies to explicit ratings only; leave it out with --implicit. See 'embeddings mf --help'.")]
        [TestCase("sweep", "--input", "i", "--budget-minutes", "0.5", ExpectedResult = "embeddings sweep: --budget-minutes must be from 1 to 1,000,000 minutes; got 0.5. See 'embeddings sweep --help'.")]
        public string UsageErrorsAreOneLineWithExitCode2(params string[] args)
        {
            var run = CliRunner.Run(args);
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Output, Is.Empty);
            Assert.That(run.Error.TrimEnd().Split('\n'), Has.Length.EqualTo(1), run.ToString());
            return run.Error.TrimEnd();
        }

        [Test]
        public void FlagsOfTheOtherFeedbackKindAreAcceptedAtTheirDefaults()
        {
            // As before the rewrite (and as the library): only a value that would change the fit is refused.
            string missing = Path.Combine(_folder, "missing.data");
            Assert.That(CliRunner.Run("mf", "--input", missing, "--output", "o", "--implicit", "--learning-rate", "0.1").ExitCode, Is.EqualTo(1), "past parsing: the file is missing");
            Assert.That(CliRunner.Run("mf", "--input", missing, "--output", "o", "--alpha", "1").ExitCode, Is.EqualTo(1));
            Assert.That(CliRunner.Run("mf", "--input", missing, "--output", "o", "--implicit", "--learning-rate", "0.2").ExitCode, Is.EqualTo(2));
        }

        [Test]
        public void MissingAndMisplacedFilesAreOneLineWithExitCode1()
        {
            string missing = Path.Combine(_folder, "missing.bin");
            var run = CliRunner.Run("similar", "--vectors", missing, "--queries", missing, "--output", Path.Combine(_folder, "o.tsv"));
            Assert.That(run.ExitCode, Is.EqualTo(1));
            Assert.That(run.Error.TrimEnd(), Is.EqualTo($"embeddings similar: --vectors: the file '{missing}' does not exist."));

            string edges = Path.Combine(_folder, "edges.txt");
            File.WriteAllLines(edges, new[] { "a b", "b c", "c" });
            var bad = CliRunner.Run("node2vec", "--input", edges, "--output", Path.Combine(_folder, "o.emb"), "--workers", "1");
            Assert.That(bad.ExitCode, Is.EqualTo(1));
            Assert.That(bad.Error.TrimEnd(), Is.EqualTo($"embeddings node2vec: {edges}: line 3: 1 field(s); expected 'source target [weight]' (line 'c')."));
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { edges }), "nothing written");
        }

        [Test]
        public void AliasesParseToTheSameSettings()
        {
            var word2Vec = new Word2VecCommand();
            Word2VecCommand.Settings Read(params string[] args) => word2Vec.Read(word2Vec.Command.Parse(args, EmbeddingsCli.ParserConfiguration));
            var tool = Read("-train", "t.txt", "-output", "v.bin", "-size", "16", "-iter", "3", "-threads", "2", "-cbow", "0", "-min-count", "1", "-binary", "1", "-alpha", "0.1");
            var friendly = Read("--train", "t.txt", "--output", "v.bin", "--dimensions", "16", "--epochs", "3", "--threads", "2", "--cbow", "0", "--min-count", "1", "--binary", "1", "--alpha", "0.1");
            var doubleDash = Read("--train", "t.txt", "--output", "v.bin", "--size", "16", "--iter", "3", "--threads", "2", "--cbow", "0", "--min-count", "1", "--binary", "1", "--alpha=0.1");
            foreach (var other in new[] { friendly, doubleDash })
            {
                Assert.That(other with { Options = tool.Options }, Is.EqualTo(tool));
                AssertSameOptions(other.Options, tool.Options);
            }
            Assert.That(tool.Options.EmbeddingDimension, Is.EqualTo(16));
            Assert.That(tool.Options.Epochs, Is.EqualTo(3));
            Assert.That(tool.Options.Model, Is.EqualTo(SkipGramModel.SkipGram));
            Assert.That(tool.Binary, Is.True);

            var node2Vec = GraphEmbeddingCommand.Node2Vec();
            GraphEmbeddingCommand.Settings ReadGraph(params string[] args) => node2Vec.Read(node2Vec.Command.Parse(args, EmbeddingsCli.ParserConfiguration));
            var reference = ReadGraph("--input", "e.txt", "--output", "n.emb", "--iter", "3", "--workers", "2", "--p", "0.5", "--q", "2", "--weighted", "--directed");
            var aliases = ReadGraph("--input", "e.txt", "--output", "n.emb", "--epochs", "3", "--threads", "2", "--p", "0.5", "--q", "2", "--weighted", "--directed");
            Assert.That(aliases with { Options = reference.Options }, Is.EqualTo(reference));
            AssertSameOptions(aliases.Options, reference.Options);
            Assert.That((reference.Options.Epochs, reference.Options.NumberOfThreads, reference.P, reference.Q, reference.Weighted, reference.Options.Directed),
                Is.EqualTo((3, (int?)2, 0.5, 2.0, true, true)));
        }

        [Test]
        public void DefaultsAreTheWord2VecToolsAndTheLibrarys()
        {
            var word2Vec = new Word2VecCommand();
            var settings = word2Vec.Read(word2Vec.Command.Parse(new[] { "-train", "t.txt", "-output", "v.bin" }, EmbeddingsCli.ParserConfiguration));
            var o = settings.Options;
            Assert.That((o.EmbeddingDimension, o.WindowSize, o.NegativeSampleCount, o.HierarchicalSoftmax, o.SamplingThreshold, o.Epochs, o.MinCount, o.NumberOfThreads),
                Is.EqualTo((100, 5, 5, false, 1e-3, 5, 5, (int?)12)));
            Assert.That(o.Model, Is.EqualTo(SkipGramModel.Cbow), "the word2vec tool's -cbow 1");
            Assert.That(o.LearningRate, Is.EqualTo(0.05f));
            Assert.That((settings.Binary, settings.Seed, settings.Debug, settings.SaveVocabulary), Is.EqualTo((false, 1, 2, (string?)null)));
            var skipGram = word2Vec.Read(word2Vec.Command.Parse(new[] { "-train", "t.txt", "-output", "v.bin", "-cbow", "0" }, EmbeddingsCli.ParserConfiguration));
            Assert.That(skipGram.Options.LearningRate, Is.EqualTo(0.025f));

            var deepWalk = GraphEmbeddingCommand.DeepWalk();
            var walk = deepWalk.Read(deepWalk.Command.Parse(new[] { "--input", "e.txt", "--output", "n.emb" }, EmbeddingsCli.ParserConfiguration));
            var library = new DeepWalkEstimator.Options();
            Assert.That((walk.Options.EmbeddingDimension, walk.Options.WalkLength, walk.Options.WalksPerNode, walk.Options.WindowSize, walk.Options.Epochs, walk.Options.LearningRate),
                Is.EqualTo((library.EmbeddingDimension, library.WalkLength, library.WalksPerNode, library.WindowSize, library.Epochs, library.LearningRate)));
            Assert.That((walk.P, walk.Q, walk.Options.NumberOfThreads), Is.EqualTo((1.0, 1.0, (int?)8)));
        }

        private static void AssertSameOptions(object actual, object expected)
        {
            foreach (var property in expected.GetType().GetProperties().Where(p => p.GetIndexParameters().Length == 0))
            {
                object? a = property.GetValue(actual), e = property.GetValue(expected);
                if (e is System.Collections.IEnumerable list and not string)
                    Assert.That((System.Collections.IEnumerable)a!, Is.EqualTo(list), property.Name);
                else
                    Assert.That(a, Is.EqualTo(e), property.Name);
            }
        }

        [Test]
        public void CancellationBeforeTheRunWritesNothingAndExits130()
        {
            string train = WriteCorpus();
            string output = Path.Combine(_folder, "vectors.bin"), vocabulary = Path.Combine(_folder, "vocab.txt");
            var run = CliRunner.Run(new CancellationToken(canceled: true),
                "word2vec", "-train", train, "-output", output, "-save-vocab", vocabulary, "-threads", "1", "-min-count", "1", "-debug", "0");
            Assert.That(run.ExitCode, Is.EqualTo(130), run.ToString());
            Assert.That(run.Error.TrimEnd(), Is.EqualTo("embeddings word2vec: cancelled; no output file was written."));
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { train }), "no output and no temporary file");
        }

        [Test]
        public void CtrlCDuringTrainingStopsItWritesNothingAndExits130()
        {
            string train = WriteCorpus();
            string output = Path.Combine(_folder, "vectors.bin");
            // Far more epochs than the test waits for: only the cancellation can end it in time.
            using var cancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var watch = System.Diagnostics.Stopwatch.StartNew();
            var run = CliRunner.Run(cancellation.Token, "word2vec", "-train", train, "-output", output, "-threads", "1", "-iter", "100000", "-min-count", "1", "-debug", "0");
            Assert.That(run.ExitCode, Is.EqualTo(130), run.ToString());
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)));
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { train }), "no output and no temporary file");

            string edges = Path.Combine(_folder, "edges.txt");
            File.WriteAllLines(edges, Enumerable.Range(0, 200).Select(i => $"{i} {(i * 7 + 1) % 200}"));
            using var graphCancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            var graph = CliRunner.Run(graphCancellation.Token, "node2vec", "--input", edges, "--output", Path.Combine(_folder, "nodes.emb"), "--workers", "1", "--iter", "100000", "--num-walks", "20");
            Assert.That(graph.ExitCode, Is.EqualTo(130), graph.ToString());
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { train, edges }), "no output and no temporary file");

            // Matrix factorization runs on an ML.NET context: Ctrl+C reaches it through the context's cancellation.
            string ratings = Path.Combine(_folder, "ratings.tsv");
            File.WriteAllLines(ratings, Enumerable.Range(0, 3000).Select(i => $"{i % 97}\t{i % 89}\t{1 + i % 5}\t{1000 + i}"));
            using var factorizationCancellation = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            watch.Restart();
            var factorization = CliRunner.Run(factorizationCancellation.Token, "mf", "--input", ratings, "--output", Path.Combine(_folder, "items.txt"), "--rank", "64", "--iterations", "100000", "--threads", "1");
            Assert.That(factorization.ExitCode, Is.EqualTo(130), factorization.ToString());
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(60)));
            Assert.That(Directory.GetFiles(_folder), Is.EquivalentTo(new[] { train, edges, ratings }), "no output and no temporary file");
        }

        [Test]
        public void UnexpectedExceptionsAreOneLineWithoutAStackTrace()
        {
            var previous = Environment.GetEnvironmentVariable(EmbeddingsCli.DebugVariable);
            Environment.SetEnvironmentVariable(EmbeddingsCli.DebugVariable, null);
            try
            {
                var error = new StringWriter();
                int code = EmbeddingsCli.Report(Thrown(new NullReferenceException("boom")), "embeddings similar", CancellationToken.None, error);
                Assert.That(code, Is.EqualTo(1));
                Assert.That(error.ToString().TrimEnd(), Is.EqualTo(
                    $"embeddings similar: internal error: NullReferenceException: boom (set {EmbeddingsCli.DebugVariable}=1 to print the stack trace)"));

                error = new StringWriter();
                Assert.That(EmbeddingsCli.Report(new AggregateException(Thrown(new OutOfMemoryException())), "embeddings word2vec", CancellationToken.None, error), Is.EqualTo(1));
                Assert.That(error.ToString().TrimEnd().Split('\n'), Has.Length.EqualTo(1));
                Assert.That(error.ToString(), Does.StartWith("embeddings word2vec: out of memory"));

                error = new StringWriter();
                EmbeddingsCli.Report(new ArgumentOutOfRangeException("Rank", 0, "Rank = 0 is invalid; use 1 or more."), "embeddings mf", CancellationToken.None, error);
                Assert.That(error.ToString().TrimEnd(), Is.EqualTo("embeddings mf: Rank = 0 is invalid; use 1 or more."));

                Environment.SetEnvironmentVariable(EmbeddingsCli.DebugVariable, "1");
                error = new StringWriter();
                EmbeddingsCli.Report(Thrown(new NullReferenceException("boom")), "embeddings similar", CancellationToken.None, error);
                Assert.That(error.ToString(), Does.Contain(" at "), "the stack trace on request");
            }
            finally
            {
                Environment.SetEnvironmentVariable(EmbeddingsCli.DebugVariable, previous);
            }
        }

        private static Exception Thrown(Exception exception)
        {
            try
            {
                throw exception;
            }
            catch (Exception caught)
            {
                return caught;
            }
        }

        [Test]
        public void SimilarTakesTheLargestKWithoutOverflow()
        {
            var random = new Random(3);
            var table = new EmbeddingTable(Enumerable.Range(0, 20).Select(i => $"k{i}").ToArray(), Enumerable.Range(0, 20 * 4).Select(_ => (float)random.NextDouble()).ToArray(), 4);
            string vectors = Path.Combine(_folder, "v.txt"), queries = Path.Combine(_folder, "q.txt"), output = Path.Combine(_folder, "o.tsv");
            table.SaveWord2VecFormat(vectors);
            File.WriteAllLines(queries, new[] { "k1", "k2" });
            var run = CliRunner.Run("similar", "--vectors", vectors, "--queries", queries, "--output", output, "--k", int.MaxValue.ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(File.ReadAllLines(output), Has.Length.EqualTo(2 * 19), "every other key, for each query");
        }
    }
}
