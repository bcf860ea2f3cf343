using System.IO;
using Embeddings.Tests.Cli;
using NUnit.Framework;

namespace Embeddings.Tests.Parquet
{
    /// <summary>Bad Parquet input to the commands: one line that names the file, the column, its flag and the fix; no output file.</summary>
    [TestFixture]
    public class ParquetCliInputTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string Path(string name) => System.IO.Path.Combine(_folder, name);

        private CliRunner.Result Node2Vec(string input, params string[] more)
        {
            var args = new System.Collections.Generic.List<string> { "node2vec", "--input", input, "--output", Path("out.parquet"), "--dimensions", "4", "--walk-length", "4", "--num-walks", "1", "--workers", "1", "--sample", "0" };
            args.AddRange(more);
            return CliRunner.Run(args.ToArray());
        }

        [Test]
        public void AMissingEdgeColumnNamesTheFileTheColumnAndItsFlag()
        {
            string file = Path("edges.parquet");
            DuckDb.Execute($"COPY (SELECT i AS src, i + 1 AS dst FROM range(10) t(i)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");
            var run = Node2Vec(file);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(file).And.Contain("column 'source' was not found").And.Contain("'src', 'dst'").And.Contain("--source-column"));
            Assert.That(File.Exists(Path("out.parquet")), Is.False);

            run = Node2Vec(file, "--source-column", "src", "--target-column", "dst");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(EmbeddingTableParquet.LoadParquet(Path("out.parquet")).Count, Is.EqualTo(11));

            run = Node2Vec(file, "--source-column", "src", "--target-column", "dst", "--weighted");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("column 'weight' was not found").And.Contain("--weight-column"));
        }

        [Test]
        public void AColumnOfTheWrongTypeOrABadValueIsNamed()
        {
            string file = Path("edges.parquet");
            DuckDb.Execute($"COPY (SELECT i / 2 AS source, i + 1 AS target, CASE WHEN i = 7 THEN -1.5 ELSE 1.0 END::DOUBLE AS weight FROM range(10) t(i)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");
            var run = Node2Vec(file);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(file).And.Contain("column 'source' (--source-column) is Double").And.Contain("STRING or an integer"));

            string weights = Path("weights.parquet");
            DuckDb.Execute($"COPY (SELECT i AS source, i + 1 AS target, CASE WHEN i = 7 THEN -1.5 ELSE 1.0 END::DOUBLE AS weight FROM range(10) t(i)) TO {DuckDb.Literal(weights)} (FORMAT PARQUET)");
            run = Node2Vec(weights, "--weighted");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(weights).And.Contain("row 7").And.Contain("-1.5").And.Contain("'weight' (--weight-column)").And.Contain("positive"));

            string nulls = Path("nulls.parquet");
            DuckDb.Execute($"COPY (SELECT CASE WHEN i = 4 THEN NULL ELSE 'n' || i END AS source, 'n' || (i + 1) AS target FROM range(10) t(i)) TO {DuckDb.Literal(nulls)} (FORMAT PARQUET)");
            run = Node2Vec(nulls);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("row 4").And.Contain("null or empty").And.Contain("IS NOT NULL"));
        }

        [Test]
        public void AnEmptyFolderOrAFileThatIsNotParquetIsRefused()
        {
            string empty = Path("empty");
            Directory.CreateDirectory(empty);
            var run = Node2Vec(empty);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(empty).And.Contain("folder without .parquet files"));

            string text = Path("edges.parquet");
            File.WriteAllText(text, "0 1\n1 2\n");
            run = Node2Vec(text);
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(text).And.Contain("not a readable Parquet file"));
            Assert.That(File.Exists(Path("out.parquet")), Is.False);
        }

        [Test]
        public void ColumnFlagsWithTextInputAreUsageErrors()
        {
            string tsv = Path("edges.tsv");
            File.WriteAllLines(tsv, new[] { "a b", "b c", "c a" });
            var run = Node2Vec(tsv, "--source-column", "src");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("--source-column names a column of Parquet input").And.Contain(tsv));

            string interactions = Path("u.data");
            File.WriteAllLines(interactions, new[] { "1\t2\t5", "1\t3\t6", "2\t3\t7", "2\t2\t8" });
            run = CliRunner.Run("item2vec", "--input", interactions, "--output", Path("items.emb"), "--user-column", "u");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("--user-column"));

            run = CliRunner.Run("word2vec", "-train", tsv, "-output", Path("w.bin"), "-train-column", "text");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("-train-column"));

            run = CliRunner.Run("word2vec", "-train", tsv, "-output", Path("w.parquet"), "-binary", "1", "-min-count", "1");
            Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
            Assert.That(run.Error, Does.Contain("-binary 1").And.Contain(".parquet"));
        }

        [Test]
        public void SentencesNeedTheirColumnNamedWhenTheFileHasSeveral()
        {
            string file = Path("corpus.parquet");
            DuckDb.Execute($"COPY (SELECT i AS id, 'a b c' AS text, 1.5::DOUBLE AS score FROM range(5) t(i)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");
            var run = CliRunner.Run("word2vec", "-train", file, "-output", Path("w.parquet"), "-min-count", "1", "-debug", "0");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(file).And.Contain("'id', 'text', 'score'").And.Contain("-train-column"));

            run = CliRunner.Run("word2vec", "-train", file, "-train-column", "score", "-output", Path("w.parquet"), "-min-count", "1", "-debug", "0");
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain("column 'score' (-train-column)").And.Contain("LIST of STRING"));

            run = CliRunner.Run("word2vec", "-train", file, "-train-column", "text", "-output", Path("w.parquet"), "-min-count", "1", "-debug", "0", "-size", "4", "-threads", "1", "-sample", "0");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(EmbeddingTableParquet.LoadParquet(Path("w.parquet")).Keys, Is.EquivalentTo(new[] { "a", "b", "c" }));
        }

        [Test]
        public void InteractionsNeedTheirTimestampColumn()
        {
            string file = Path("events.parquet");
            DuckDb.Execute($"COPY (SELECT i % 7 AS user, i % 5 AS item, i AS time FROM range(100) t(i)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");
            var run = CliRunner.Run("item2vec", "--input", file, "--output", Path("items.parquet"));
            Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
            Assert.That(run.Error, Does.Contain(file).And.Contain("column 'timestamp' was not found").And.Contain("--timestamp-column"));
            run = CliRunner.Run("item2vec", "--input", file, "--timestamp-column", "time", "--output", Path("items.parquet"), "--dimensions", "4", "--min-count", "1", "--threads", "1");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            Assert.That(EmbeddingTableParquet.LoadParquet(Path("items.parquet")).Count, Is.EqualTo(5));
        }
    }
}
