using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Tests.Cli;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Parquet
{
    /// <summary>
    /// The acceptance of Parquet input: edges, interactions and sequences read from Parquet files that DuckDB wrote (from
    /// the same text files, several row groups each) train the same model as the text files, bit for bit (one thread, the
    /// same seed); vectors written to Parquet read back identically in DuckDB.
    /// </summary>
    [TestFixture]
    public class ParquetRoundTripTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string Path(string name) => System.IO.Path.Combine(_folder, name);

        private static string L(string path) => DuckDb.Literal(path);

        /// <summary>Every key and vector equal, bit for bit, in the same order.</summary>
        private static void AssertSameTable(EmbeddingTable expected, EmbeddingTable actual, string what)
        {
            Assert.That(actual.Keys, Is.EqualTo(expected.Keys), what + ": keys");
            Assert.That(actual.Dimension, Is.EqualTo(expected.Dimension), what + ": dimension");
            for (int i = 0; i < expected.Count; i++)
            {
                if (!actual.Row(i).SequenceEqual(expected.Row(i)))
                    Assert.Fail($"{what}: the vector of '{expected.Keys[i]}' differs");
            }
        }

        /// <summary>The vectors of a Parquet file as DuckDB reads them, compared with our table.</summary>
        private static void AssertDuckDbReads(string file, EmbeddingTable table)
        {
            var rows = DuckDb.Query($"SELECT key, vector FROM read_parquet({L(file)})");
            Assert.That(rows.Select(r => (string)r[0]!), Is.EqualTo(table.Keys), "DuckDB reads the keys in order");
            for (int i = 0; i < rows.Count; i++)
            {
                if (!DuckDb.Floats(rows[i][1]).AsSpan().SequenceEqual(table.Row(i)))
                    Assert.Fail($"DuckDB reads another vector for '{table.Keys[i]}'");
            }
        }

        /// <summary>A weighted graph of 700 nodes and 4,200 edges: 'source target weight' lines.</summary>
        private string WriteGraph()
        {
            var random = new Random(17);
            var lines = new List<string>();
            for (int i = 0; i < 700; i++)
            {
                for (int e = 0; e < 6; e++)
                {
                    int j = e < 3 ? (i + 1 + random.Next(5)) % 700 : random.Next(700);
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"{i}\t{j}\t{Math.Round(0.1 + random.NextDouble() * 3, 3)}"));
                }
            }
            string file = Path("edges.tsv");
            File.WriteAllLines(file, lines);
            return file;
        }

        [Test]
        public void Node2VecAndDeepWalkTrainTheSameVectorsFromParquetEdgesAsFromTheEdgeList()
        {
            string tsv = WriteGraph();
            string parquet = Path("edges.parquet");
            const string Csv = "delim = '\\t', header = false, columns = {'source': 'BIGINT', 'target': 'BIGINT', 'weight': 'DOUBLE'}";
            DuckDb.Execute($"COPY (SELECT * FROM read_csv({L(tsv)}, {Csv})) TO {L(parquet)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)");
            Assert.That(Convert.ToInt64(DuckDb.Query($"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({L(parquet)})")[0][0]), Is.GreaterThan(1));
            string[] settings = { "--dimensions", "16", "--walk-length", "10", "--num-walks", "2", "--window-size", "3", "--iter", "1", "--workers", "1", "--seed", "5", "--weighted" };

            var fromText = CliRunner.Run(new[] { "node2vec", "--input", tsv, "--output", Path("text.parquet"), "--p", "0.5", "--q", "2" }.Concat(settings).ToArray());
            Assert.That(fromText.ExitCode, Is.EqualTo(0), fromText.ToString());
            var fromParquet = CliRunner.Run(new[] { "node2vec", "--input", parquet, "--output", Path("parquet.parquet"), "--p", "0.5", "--q", "2" }.Concat(settings).ToArray());
            Assert.That(fromParquet.ExitCode, Is.EqualTo(0), fromParquet.ToString());
            var expected = EmbeddingTableParquet.LoadParquet(Path("text.parquet"));
            Assert.That(expected.Count, Is.EqualTo(700));
            AssertSameTable(expected, EmbeddingTableParquet.LoadParquet(Path("parquet.parquet")), "node2vec from Parquet edges");
            AssertDuckDbReads(Path("parquet.parquet"), expected);
            // The comparison can fail: another seed gives other vectors.
            var otherSeed = CliRunner.Run(new[] { "node2vec", "--input", parquet, "--output", Path("seed.parquet"), "--p", "0.5", "--q", "2" }
                .Concat(settings.Select(a => a == "5" ? "6" : a)).ToArray());
            Assert.That(otherSeed.ExitCode, Is.EqualTo(0), otherSeed.ToString());
            var other = EmbeddingTableParquet.LoadParquet(Path("seed.parquet"));
            Assert.That(Enumerable.Range(0, other.Count).Count(i => !other.Row(i).SequenceEqual(expected.Row(expected.IndexOf(other.Keys[i])))), Is.GreaterThan(600));
            // The word2vec text output holds the same vectors (its text keeps float32 values exactly).
            var text = CliRunner.Run(new[] { "node2vec", "--input", tsv, "--output", Path("text.emb"), "--p", "0.5", "--q", "2" }.Concat(settings).ToArray());
            Assert.That(text.ExitCode, Is.EqualTo(0), text.ToString());
            AssertSameTable(expected, EmbeddingTable.LoadWord2VecFormat(Path("text.emb")), "word2vec text and Parquet outputs");

            // DeepWalk, with string ids under other column names, from a folder of two files.
            string folder = Path("edge-parts");
            Directory.CreateDirectory(folder);
            DuckDb.Execute(
                $"CREATE TABLE e AS SELECT row_number() OVER () AS n, source::VARCHAR AS src, target::VARCHAR AS dst, weight AS w FROM read_csv({L(tsv)}, {Csv})",
                $"COPY (SELECT src, dst, w FROM e WHERE n <= 2500 ORDER BY n) TO {L(System.IO.Path.Combine(folder, "part-0.parquet"))} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)",
                $"COPY (SELECT src, dst, w FROM e WHERE n > 2500 ORDER BY n) TO {L(System.IO.Path.Combine(folder, "part-1.parquet"))} (FORMAT PARQUET)");
            var deepText = CliRunner.Run(new[] { "deepwalk", "--input", tsv, "--output", Path("deep-text.parquet") }.Concat(settings).ToArray());
            Assert.That(deepText.ExitCode, Is.EqualTo(0), deepText.ToString());
            var deepParquet = CliRunner.Run(new[] { "deepwalk", "--input", folder, "--source-column", "src", "--target-column", "dst", "--weight-column", "w", "--output", Path("deep.parquet") }
                .Concat(settings).ToArray());
            Assert.That(deepParquet.ExitCode, Is.EqualTo(0), deepParquet.ToString());
            AssertSameTable(EmbeddingTableParquet.LoadParquet(Path("deep-text.parquet")), EmbeddingTableParquet.LoadParquet(Path("deep.parquet")), "DeepWalk from a folder of Parquet edges");
        }

        [Test]
        public void TheWalksCommandWritesTheSameWalksFromParquetAndTextEdgesAndDuckDbReadsThem()
        {
            string tsv = WriteGraph();
            string parquet = Path("edges.parquet");
            DuckDb.Execute($"COPY (SELECT * FROM read_csv({L(tsv)}, delim = '\\t', header = false, columns = {{'source': 'BIGINT', 'target': 'BIGINT', 'weight': 'DOUBLE'}})) TO {L(parquet)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)");
            string[] settings = { "--walk-length", "12", "--num-walks", "3", "--p", "0.25", "--q", "4", "--weighted", "--seed", "8" };
            var text = CliRunner.Run(new[] { "walks", "--input", tsv, "--output", Path("walks.txt") }.Concat(settings).ToArray());
            Assert.That(text.ExitCode, Is.EqualTo(0), text.ToString());
            var fromParquet = CliRunner.Run(new[] { "walks", "--input", parquet, "--output", Path("walks.parquet") }.Concat(settings).ToArray());
            Assert.That(fromParquet.ExitCode, Is.EqualTo(0), fromParquet.ToString());
            var lines = File.ReadAllLines(Path("walks.txt"));
            Assert.That(lines, Has.Length.EqualTo(700 * 3));
            var read = DuckDb.Query($"SELECT walk, nodes FROM read_parquet({L(Path("walks.parquet"))}) ORDER BY walk");
            Assert.That(read.Select(r => (long)r[0]!), Is.EqualTo(Enumerable.Range(0, lines.Length).Select(i => (long)i)));
            Assert.That(read.Select(r => string.Join(' ', DuckDb.Strings(r[1]))), Is.EqualTo(lines), "the same walks, in the same order");
            Assert.That(lines.All(l => l.Split(' ').Length == 12), Is.True, "every node has an edge, so every walk is whole");
        }

        [Test]
        public void Node2VecTrainsTheSameModelFromALoadedParquetDataViewAsFromMemory()
        {
            string tsv = WriteGraph();
            string parquet = Path("edges.parquet");
            DuckDb.Execute($"COPY (SELECT * FROM read_csv({L(tsv)}, delim = '\\t', header = false, columns = {{'source': 'BIGINT', 'target': 'BIGINT', 'weight': 'DOUBLE'}})) TO {L(parquet)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)");
            var edges = File.ReadLines(tsv).Select(l => l.Split('\t'))
                .Select(f => new Edge { Source = long.Parse(f[0], CultureInfo.InvariantCulture), Target = long.Parse(f[1], CultureInfo.InvariantCulture), Weight = double.Parse(f[2], CultureInfo.InvariantCulture) })
                .ToArray();
            Node2VecEstimator.Options Options() => new()
            {
                SourceColumnName = "source",
                TargetColumnName = "target",
                WeightColumnName = "weight",
                OutputColumns = { ("vector", "source") },
                EmbeddingDimension = 12,
                WalkLength = 8,
                WalksPerNode = 2,
                WindowSize = 3,
                Epochs = 1,
                NumberOfThreads = 1,
                ReturnParameter = 2,
                InOutParameter = 0.5,
                Seed = 9,
            };
            var ml = new MLContext(1);
            var memory = ml.Embeddings().Node2Vec(Options()).Fit(ml.Data.LoadFromEnumerable(edges));
            var loaded = ml.Embeddings().Node2Vec(Options()).Fit(ml.Data.LoadFromParquet(parquet, "source", "target", "weight"));
            AssertSameTable(memory.SourceEmbeddings, loaded.SourceEmbeddings, "node2vec on LoadFromParquet");
        }

        private sealed class Edge
        {
            [ColumnName("source")]
            public long Source { get; set; }

            [ColumnName("target")]
            public long Target { get; set; }

            [ColumnName("weight")]
            public double Weight { get; set; }
        }

        /// <summary>3,000 sentences over a vocabulary of 300 words with a few frequent ones.</summary>
        private string WriteCorpus()
        {
            var random = new Random(23);
            var lines = Enumerable.Range(0, 3000).Select(_ =>
                string.Join(' ', Enumerable.Range(0, 3 + random.Next(12)).Select(_ => "w" + (int)Math.Floor(Math.Pow(random.NextDouble(), 2.5) * 300))));
            string file = Path("corpus.txt");
            File.WriteAllLines(file, lines);
            return file;
        }

        [Test]
        public void Word2VecTrainsTheSameVectorsFromParquetTextAndSentenceListsAsFromTheTextFile()
        {
            string corpus = WriteCorpus();
            string lines = Path("lines.parquet"), lists = Path("lists.parquet");
            const string Csv = "delim = '\\t', header = false, quote = '', escape = '', columns = {'text': 'VARCHAR'}";
            DuckDb.Execute(
                $"COPY (SELECT row_number() OVER () AS n, text FROM read_csv({L(corpus)}, {Csv})) TO {L(lines)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)",
                $"COPY (SELECT string_split(text, ' ') AS words FROM read_csv({L(corpus)}, {Csv})) TO {L(lists)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)");
            string[] settings = { "-size", "16", "-window", "3", "-negative", "3", "-iter", "2", "-min-count", "1", "-threads", "1", "-seed", "4", "-debug", "0", "-cbow", "0" };
            var text = CliRunner.Run(new[] { "word2vec", "-train", corpus, "-output", Path("text.parquet") }.Concat(settings).ToArray());
            Assert.That(text.ExitCode, Is.EqualTo(0), text.ToString());
            var fromLines = CliRunner.Run(new[] { "word2vec", "-train", lines, "-train-column", "text", "-output", Path("lines-out.parquet") }.Concat(settings).ToArray());
            Assert.That(fromLines.ExitCode, Is.EqualTo(0), fromLines.ToString());
            var fromLists = CliRunner.Run(new[] { "word2vec", "-train", lists, "-output", Path("lists-out.parquet") }.Concat(settings).ToArray());
            Assert.That(fromLists.ExitCode, Is.EqualTo(0), fromLists.ToString());
            var expected = EmbeddingTableParquet.LoadParquet(Path("text.parquet"));
            Assert.That(expected.Count, Is.GreaterThan(250));
            AssertSameTable(expected, EmbeddingTableParquet.LoadParquet(Path("lines-out.parquet")), "word2vec from a STRING column");
            AssertSameTable(expected, EmbeddingTableParquet.LoadParquet(Path("lists-out.parquet")), "word2vec from a LIST<STRING> column");
            AssertDuckDbReads(Path("lists-out.parquet"), expected);
        }

        [Test]
        public void Item2VecSequencesFromParquetTrainTheSameVectorsAsInMemorySequences()
        {
            var random = new Random(31);
            var sequences = Enumerable.Range(0, 2500).Select(_ => Enumerable.Range(0, 2 + random.Next(8)).Select(_ => "i" + random.Next(150)).ToArray()).ToArray();
            string corpus = Path("baskets.txt");
            File.WriteAllLines(corpus, sequences.Select(s => string.Join(' ', s)));
            string parquet = Path("baskets.parquet");
            DuckDb.Execute($"COPY (SELECT string_split(line, ' ') AS basket FROM read_csv({L(corpus)}, delim = '\\t', header = false, quote = '', escape = '', columns = {{'line': 'VARCHAR'}})) TO {L(parquet)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)");
            SkipGramEmbeddingEstimator.Options Options() => new()
            {
                OutputColumnName = "vector",
                InputColumnName = "basket",
                EmbeddingDimension = 10,
                WholeSequenceContext = true,
                MinCount = 1,
                Epochs = 3,
                NumberOfThreads = 1,
                Seed = 2,
                KeepContextVectors = true,
            };
            var ml = new MLContext(1);
            var memory = ml.Embeddings().SkipGram(Options()).Fit(sequences);
            var loaded = ml.Embeddings().SkipGram(Options()).Fit(ml.Data.LoadFromParquet(parquet, "basket"));
            AssertSameTable(memory.Embeddings, loaded.Embeddings, "item2vec on a LIST<STRING> column");
            AssertSameTable(memory.ContextEmbeddings!, loaded.ContextEmbeddings!, "item2vec context vectors");
        }

        /// <summary>400 users with 8 to 20 interactions each over 120 items: 'user item rating timestamp' rows.</summary>
        private string WriteInteractions()
        {
            var random = new Random(41);
            var lines = new List<string>();
            for (int u = 1; u <= 400; u++)
            {
                int n = 8 + random.Next(13), group = u % 4;
                long time = 880_000_000 + random.Next(1_000_000);
                for (int t = 0; t < n; t++)
                {
                    int item = 1 + (group * 30 + random.Next(30)) % 120;
                    time += 1 + random.Next(5000);
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"{u}\t{item}\t{1 + random.Next(9) * 0.5}\t{time}"));
                }
            }
            string file = Path("u.data");
            File.WriteAllLines(file, lines);
            return file;
        }

        [Test]
        public void InteractionModelsTrainTheSameFromParquetAsFromTheInteractionFile()
        {
            string tsv = WriteInteractions();
            string parquet = Path("interactions.parquet");
            // Integer ids, a FLOAT rating and a TIMESTAMP (read back as Unix seconds), under other column names.
            DuckDb.Execute($"""
                COPY (SELECT user_id, movie_id, score, make_timestamp(ts * 1000000) AS at
                      FROM read_csv({L(tsv)}, delim = '\t', header = false, columns = {"{'user_id': 'BIGINT', 'movie_id': 'INTEGER', 'score': 'FLOAT', 'ts': 'BIGINT'}"}))
                TO {L(parquet)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)
                """);
            string[] columns = { "--user-column", "user_id", "--item-column", "movie_id", "--timestamp-column", "at" };

            string[] item2vec = { "--dimensions", "12", "--epochs", "3", "--threads", "1", "--seed", "6", "--exclude-last", "1" };
            var text = CliRunner.Run(new[] { "item2vec", "--input", tsv, "--output", Path("items-text.parquet"), "--context-output", Path("context-text.parquet") }.Concat(item2vec).ToArray());
            Assert.That(text.ExitCode, Is.EqualTo(0), text.ToString());
            var fromParquet = CliRunner.Run(new[] { "item2vec", "--input", parquet, "--output", Path("items.parquet"), "--context-output", Path("context.parquet") }
                .Concat(columns).Concat(item2vec).ToArray());
            Assert.That(fromParquet.ExitCode, Is.EqualTo(0), fromParquet.ToString());
            var items = EmbeddingTableParquet.LoadParquet(Path("items-text.parquet"));
            Assert.That(items.Count, Is.EqualTo(120));
            AssertSameTable(items, EmbeddingTableParquet.LoadParquet(Path("items.parquet")), "item2vec from Parquet interactions");
            AssertSameTable(EmbeddingTableParquet.LoadParquet(Path("context-text.parquet")), EmbeddingTableParquet.LoadParquet(Path("context.parquet")), "item2vec context vectors");
            AssertDuckDbReads(Path("items.parquet"), items);

            // Explicit matrix factorization needs the rating: its column is named here.
            string[] mf = { "--rank", "6", "--iterations", "5", "--threads", "1", "--seed", "3" };
            var mfText = CliRunner.Run(new[] { "mf", "--input", tsv, "--output", Path("mf-text.parquet"), "--user-output", Path("mf-users-text.parquet") }.Concat(mf).ToArray());
            Assert.That(mfText.ExitCode, Is.EqualTo(0), mfText.ToString());
            var mfParquet = CliRunner.Run(new[] { "mf", "--input", parquet, "--rating-column", "score", "--output", Path("mf.parquet"), "--user-output", Path("mf-users.parquet") }
                .Concat(columns).Concat(mf).ToArray());
            Assert.That(mfParquet.ExitCode, Is.EqualTo(0), mfParquet.ToString());
            AssertSameTable(EmbeddingTableParquet.LoadParquet(Path("mf-text.parquet")), EmbeddingTableParquet.LoadParquet(Path("mf.parquet")), "mf item factors from Parquet");
            AssertSameTable(EmbeddingTableParquet.LoadParquet(Path("mf-users-text.parquet")), EmbeddingTableParquet.LoadParquet(Path("mf-users.parquet")), "mf user factors from Parquet");

            var noRating = CliRunner.Run(new[] { "mf", "--input", parquet, "--output", Path("none.parquet") }.Concat(columns).Concat(mf).ToArray());
            Assert.That(noRating.ExitCode, Is.EqualTo(1), noRating.ToString());
            Assert.That(noRating.Error, Does.Contain(parquet).And.Contain("no rating column 'rating' (--rating-column)").And.Contain("--implicit"));
            Assert.That(File.Exists(Path("none.parquet")), Is.False);
        }

        [Test]
        public void TheRecommenderTrainsTheSameFromParquetAndRecommendWritesParquetThatDuckDbReads()
        {
            // 90 users walking 12 steps along one of three 20-item chains.
            var random = new Random(2);
            var rows = Enumerable.Range(0, 90).SelectMany(u =>
            {
                int chain = u % 3, start = random.Next(20);
                return Enumerable.Range(0, 12).Select(t => $"{u + 1}\t{chain * 20 + (start + t) % 20 + 1}\t4\t{1000 + t}");
            });
            string tsv = Path("u.data"), parquet = Path("u.parquet");
            File.WriteAllLines(tsv, rows);
            DuckDb.Execute($"COPY (SELECT * FROM read_csv({L(tsv)}, delim = '\\t', header = false, columns = {{'user': 'VARCHAR', 'item': 'VARCHAR', 'rating': 'DOUBLE', 'timestamp': 'BIGINT'}})) TO {L(parquet)} (FORMAT PARQUET)");
            string[] fit = { "--exclude-last", "1", "--dimensions", "8", "--epochs", "5", "--trees", "10", "--leaves", "4", "--min-leaf", "5", "--candidates", "10", "--threads", "1", "--seed", "3" };
            var fromText = CliRunner.Run(new[] { "fit-recommender", "--input", tsv, "--output", Path("text.zip") }.Concat(fit).ToArray());
            Assert.That(fromText.ExitCode, Is.EqualTo(0), fromText.ToString());
            var fromParquet = CliRunner.Run(new[] { "fit-recommender", "--input", parquet, "--output", Path("parquet.zip") }.Concat(fit).ToArray());
            Assert.That(fromParquet.ExitCode, Is.EqualTo(0), fromParquet.ToString());

            var tsvRecs = CliRunner.Run("recommend", "--model", Path("text.zip"), "--k", "3", "--output", Path("recs.tsv"), "--threads", "1");
            Assert.That(tsvRecs.ExitCode, Is.EqualTo(0), tsvRecs.ToString());
            var parquetRecs = CliRunner.Run("recommend", "--model", Path("parquet.zip"), "--k", "3", "--output", Path("recs.parquet"), "--threads", "1");
            Assert.That(parquetRecs.ExitCode, Is.EqualTo(0), parquetRecs.ToString());
            var expected = File.ReadAllLines(Path("recs.tsv"));
            Assert.That(expected, Has.Length.EqualTo(270));
            var read = DuckDb.Query($"SELECT user, item, score, rank FROM read_parquet({L(Path("recs.parquet"))})")
                .Select(r => string.Join('\t', (string)r[0]!, (string)r[1]!, ((float)r[2]!).ToString("R", CultureInfo.InvariantCulture), ((int)r[3]!).ToString(CultureInfo.InvariantCulture)))
                .ToArray();
            Assert.That(read, Is.EqualTo(expected), "the recommender trained on Parquet recommends the same lists, scores and ranks; DuckDB reads them");
        }
    }
}
