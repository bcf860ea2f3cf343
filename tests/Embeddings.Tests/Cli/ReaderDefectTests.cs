using System;
using System.IO;
using System.Linq;
using System.Text;
using Embeddings.Cli.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    /// <summary>Regression tests of the input readers' defects of issue 13, each through the command line where the issue gives a command.</summary>
    [TestFixture]
    public class ReaderDefectTests
    {
        private string _folder = "";

        [SetUp]
        public void CreateFolder() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

        private string Path(string name) => System.IO.Path.Combine(_folder, name);

        /// <summary>60 users walking 10 steps along one of three 15-item chains, as u.data rows.</summary>
        private static string[] ChainRows()
        {
            var random = new Random(3);
            return Enumerable.Range(0, 60).SelectMany(u =>
            {
                int chain = u % 3, start = random.Next(15);
                return Enumerable.Range(0, 10).Select(t => $"{u + 1}\t{chain * 15 + (start + t) % 15 + 1}\t4\t{1000 + t}");
            }).ToArray();
        }

        private string Write(string name, params string[] lines)
        {
            string path = Path(name);
            File.WriteAllText(path, string.Join("\n", lines) + "\n");
            return path;
        }

        private static readonly string[] s_item2Vec = { "--dimensions", "4", "--epochs", "1", "--threads", "1" };

        private CliRunner.Result Item2Vec(string input, params string[] more) =>
            CliRunner.Run(new[] { "item2vec", "--input", input, "--output", Path("items.txt") }.Concat(s_item2Vec).Concat(more).ToArray());

        // Defect 3: printf 'caf\xe9 x caf\xe8 y caf\xe9 x caf\xe8 y\n' > c.txt; embeddings word2vec -train c.txt ... gave one entry "caf\uFFFD 4".
        [Test]
        public void Defect3_InvalidUtf8IsRefusedWithTheLineAndByteOffset()
        {
            string corpus = Path("c.txt");
            File.WriteAllBytes(corpus, Encoding.Latin1.GetBytes("caf\u00e9 x caf\u00e8 y caf\u00e9 x caf\u00e8 y\n"));
            var run = CliRunner.Run("word2vec", "-train", corpus, "-output", Path("v.txt"), "-min-count", "1", "-sample", "0", "-save-vocab", Path("v.vocab"));
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error.TrimEnd(), Does.StartWith($"embeddings word2vec: {corpus}: line 1, byte offset 3: byte 0xE9 is not valid UTF-8"));
            Assert.That(File.Exists(Path("v.txt")) || File.Exists(Path("v.vocab")), Is.False);

            // The same rule in the other readers: an interaction file, an edge list, a labels file.
            string ratings = Path("r.tsv");
            File.WriteAllBytes(ratings, Encoding.Latin1.GetBytes("1\tcaf\u00e9\t5\t100\n1\tcaf\u00e8\t5\t101\n"));
            run = Item2Vec(ratings);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain($"{ratings}: line 1, byte offset 5: byte 0xE9 is not valid UTF-8"));
            string edges = Path("e.txt");
            File.WriteAllBytes(edges, Encoding.Latin1.GetBytes("a b\ncaf\u00e9 b\n"));
            run = CliRunner.Run("deepwalk", "--input", edges, "--output", Path("n.txt"), "--workers", "1");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain($"{edges}: line 2, byte offset 7: byte 0xE9"));
        }

        // Defect 4: (printf '1\t99\t5\tx\n'; cat ratings.tsv) > r.tsv gave rc 0 and item 99 was missing.
        [Test]
        public void Defect4_OnlyAHeaderLikeFirstLineIsSkippedAndTheSkipIsReported()
        {
            string input = Write("r.tsv", new[] { "1\t99\t5\tx" }.Concat(ChainRows()).ToArray());
            foreach (string command in new[] { "item2vec", "mf" })
            {
                var run = CliRunner.Run(command, "--input", input, "--output", Path("o.txt"), "--threads", "1");
                Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
                Assert.That(run.Error.TrimEnd(), Is.EqualTo($"embeddings {command}: {input}: line 1: the timestamp 'x' is not an integer (line '1\t99\t5\tx'). Fix or remove the line."));
            }

            string withHeader = Write("h.csv", new[] { "userId,movieId,rating,timestamp" }.Concat(ChainRows().Select(r => r.Replace('\t', ','))).ToArray());
            var ok = Item2Vec(withHeader);
            Assert.That(ok.ExitCode, Is.EqualTo(0), ok.ToString());
            Assert.That(ok.Error, Does.Contain($"{withHeader}: line 1 taken as a header and skipped: 'userId,movieId,rating,timestamp'"));
            Assert.That(ok.Output, Does.StartWith("60 users, ").And.Contain(" 600 interactions"));
        }

        // Defect 5: recommend-eval on a file with every row doubled reported leaked figures, with no warning.
        [Test]
        public void Defect5_ExactDuplicatesAreRemovedAndCounted()
        {
            var rows = ChainRows();
            string original = Write("u.data", rows);
            string doubled = Write("doubled.data", rows.Concat(rows).ToArray());
            Assert.That(InteractionFile.Read(doubled).Rows, Is.EqualTo(InteractionFile.Read(original).Rows));
            var a = InteractionFile.ReadSplit(original);
            var b = InteractionFile.ReadSplit(doubled);
            Assert.That(b.AllUsers, Is.EqualTo(a.AllUsers));
            foreach (string user in a.AllUsers)
                Assert.That(b.Interactions(user), Is.EqualTo(a.Interactions(user)));

            string[] flags = { "--dimensions", "4", "--epochs", "2", "--graph-dimensions", "4", "--walk-length", "5", "--num-walks", "2", "--trees", "5", "--leaves", "4",
                "--min-leaf", "5", "--candidates", "10", "--mf-rank", "4", "--mf-iterations", "2", "--threads", "1" };
            var first = CliRunner.Run(new[] { "recommend-eval", "--input", original }.Concat(flags).ToArray());
            var second = CliRunner.Run(new[] { "recommend-eval", "--input", doubled }.Concat(flags).ToArray());
            Assert.That(first.ExitCode, Is.EqualTo(0), first.ToString());
            Assert.That(second.ExitCode, Is.EqualTo(0), second.ToString());
            static string Figures(string output) => string.Join("\n", output.Split('\n').Where(l => !l.StartsWith("total")));
            Assert.That(Figures(second.Output), Is.EqualTo(Figures(first.Output)));
            Assert.That(second.Error, Does.Contain($"{doubled}: removed 600 duplicate row(s) (the same user, item and timestamp as an earlier row; the first is kept); 600 rows remain"));
            Assert.That(first.Error, Does.Not.Contain("duplicate"));
        }

        // Defect 6: an id with a (Unicode) space trained to the end and then failed to save.
        [Test]
        public void Defect6_IdsWithWhiteSpaceAreRefusedAtReadTimeAndCorpusTokensSplitOnEveryUnicodeSpace()
        {
            foreach (string space in new[] { " ", "\u00A0", "\u2003" })
            {
                var rows = ChainRows();
                rows[7] = $"8\tthe{space}item\t4\t1007";
                string input = Write("ws.tsv", rows);
                foreach (string command in new[] { "item2vec", "mf" })
                {
                    var run = CliRunner.Run(command, "--input", input, "--output", Path("o.txt"), "--threads", "1");
                    Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
                    Assert.That(run.Error, Does.StartWith($"embeddings {command}: {input}: line 8: the item id 'the{space}item' contains white space"));
                    Assert.That(File.Exists(Path("o.txt")), Is.False);
                }
            }

            // word2vec: NBSP, EM SPACE and the ideographic space separate tokens, as ASCII spaces do (the tokenizer's contract).
            string corpus = Path("c.txt");
            File.WriteAllText(corpus, string.Concat(Enumerable.Repeat("caf\u00e9\u00a0x caf\u00e8\u2003y\u3000z\n", 3)));
            var w2v = CliRunner.Run("word2vec", "-train", corpus, "-output", Path("v.txt"), "-min-count", "1", "-sample", "0", "-size", "4", "-threads", "1", "-save-vocab", Path("v.vocab"));
            Assert.That(w2v.ExitCode, Is.EqualTo(0), w2v.ToString());
            var vocabulary = File.ReadAllLines(Path("v.vocab")).Select(l => l.Split(' ')[0]).ToList();
            Assert.That(vocabulary, Is.EquivalentTo(new[] { "caf\u00e9", "caf\u00e8", "x", "y", "z" }.Concat(vocabulary.Where(v => v == "</s>"))));
            Assert.That(EmbeddingTable.LoadWord2VecFormat(Path("v.txt")).Keys, Does.Contain("caf\u00e9").And.Contain("caf\u00e8"));
        }

        // Defect 8: the help says 'user item [rating] timestamp' but a 3-column file was refused; a trailing blank line failed item2vec but not mf.
        [Test]
        public void Defect8_ThreeColumnFilesAndBlankLinesAreReadAsTheHelpSays()
        {
            var rows = ChainRows();
            string four = Write("four.tsv", rows);
            string three = Write("three.tsv", rows.Select(r => r.Split('\t')).Select(f => $"{f[0]}\t{f[1]}\t{f[3]}").Concat(new[] { "", "  " }).ToArray());
            var split4 = InteractionFile.ReadSplit(four);
            var split3 = InteractionFile.ReadSplit(three);
            foreach (string user in split4.AllUsers)
                Assert.That(split3.Interactions(user), Is.EqualTo(split4.Interactions(user)));

            var run = Item2Vec(three);
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(CliRunner.Run("item2vec", "--help").Output, Does.Contain("'user item [rating] timestamp'"));

            // Blank lines, trailing or in the middle, are skipped by every reader.
            string blanks = Write("blanks.tsv", rows.Take(300).Concat(new[] { "" }).Concat(rows.Skip(300)).Concat(new[] { "", "" }).ToArray());
            foreach (var (command, passes) in new[] { ("item2vec", "--epochs"), ("mf", "--iterations") })
            {
                var ok = CliRunner.Run(command, "--input", blanks, "--output", Path("o.txt"), "--threads", "1", passes, "1");
                Assert.That(ok.ExitCode, Is.EqualTo(0), ok.ToString());
            }
            Assert.That(InteractionFile.Read(blanks).Rows.Count, Is.EqualTo(600));
            string edges = Write("edges.txt", "a b", "", "b c", "", "");
            var graph = CliRunner.Run("deepwalk", "--input", edges, "--output", Path("n.txt"), "--workers", "1", "--dimensions", "4", "--num-walks", "2", "--walk-length", "4", "--sample", "0");
            Assert.That(graph.ExitCode, Is.EqualTo(0), graph.ToString());
        }

        // Defect 9 (readers): unclear errors of recommend-eval, item2vec and node-classification.
        [Test]
        public void Defect9_ErrorsNameTheFlagOrTheProblem()
        {
            // Users with 5 interactions: the ranker's 3 label periods need 7 (validation).
            string shortHistories = Write("short.tsv", Enumerable.Range(1, 40).SelectMany(u => Enumerable.Range(1, 5).Select(t => $"{u}\t{(u + t) % 20}\t4\t{1000 + t}")).ToArray());
            var run = CliRunner.Run("recommend-eval", "--input", shortHistories, "--threads", "1");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("--periods 3 needs a user with 7 or more interactions").And.Contain("the longest history in").And.Contain("Use --periods 1"));

            run = CliRunner.Run("sweep", "--input", shortHistories, "--leaderboard", Path("l.csv"), "--model", Path("m.zip"), "--threads", "1");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("the longest user history has 5 interactions; sweep needs a user with 7 or more"));

            // A single user: was "Cannot use empty dataset."
            string single = Write("single.tsv", Enumerable.Range(1, 20).Select(t => $"1\t{t}\t4\t{1000 + t}").ToArray());
            run = CliRunner.Run("recommend-eval", "--input", single, "--threads", "1");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("recommend-eval needs 2 or more users").And.Not.Contain("empty dataset"));

            // --exclude-last above every history: was "Lower MinCount".
            run = Item2Vec(Write("u.data", ChainRows()), "--exclude-last", "10");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("--exclude-last 10 drops every interaction: the longest user history").And.Contain("Use --exclude-last 9 or less").And.Not.Contain("MinCount"));

            // An empty splits file: was "Sequence contains no elements".
            string vectors = Write("v.txt", "2 2", "a 1 0", "b 0 1");
            string labels = Write("labels.tsv", "a\t0", "b\t1");
            string splits = Path("splits.tsv");
            File.WriteAllText(splits, "");
            run = CliRunner.Run("node-classification", "--vectors", vectors, "--labels", labels, "--splits", splits);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error.TrimEnd(), Is.EqualTo($"embeddings node-classification: {splits}: no splits found; expected 'split<TAB>node<TAB>is_train' lines."));

            // A negative L2 weight.
            File.WriteAllText(splits, "0\ta\t1\n0\tb\t0\n");
            run = CliRunner.Run("node-classification", "--vectors", vectors, "--labels", labels, "--splits", splits, "--l2", "-1");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("--l2 must be a finite number of at least 0 (and at most 3.4e38); got -1"));
        }
    }
}
