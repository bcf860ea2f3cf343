using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Parquet
{
    /// <summary>What we write to Parquet, read back by DuckDB (another implementation) and by our loader, value for value.</summary>
    [TestFixture]
    public class ParquetWriterTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string Path(string name) => System.IO.Path.Combine(_folder, name);

        private sealed class Row
        {
            public int Id { get; set; }
            public long Big { get; set; }
            public float Score { get; set; }
            public double Weight { get; set; }
            public bool Flag { get; set; }
            public string Name { get; set; } = "";
            public DateTime Time { get; set; }

            [VectorType(3)]
            public float[] Vector { get; set; } = Array.Empty<float>();

            public string[] Items { get; set; } = Array.Empty<string>();
        }

        private static Row[] Rows(int count)
        {
            var random = new Random(5);
            return Enumerable.Range(0, count).Select(i => new Row
            {
                Id = i,
                Big = (long)i << 33,
                Score = (float)(random.NextDouble() * 2 - 1) / 3,
                Weight = random.NextDouble() * 1e6,
                Flag = i % 2 == 1,
                Name = i % 10 == 0 ? "" : $"naïve-{i}-✓",
                Time = new DateTime(2021, 3, 4, 5, 6, 7).AddTicks(i * 123_450L),
                Vector = new[] { (float)random.NextDouble(), -(float)random.NextDouble(), i },
                Items = Enumerable.Range(0, i % 3).Select(j => $"item{i + j}").ToArray(),
            }).ToArray();
        }

        [Test]
        public void DuckDbReadsEveryColumnWeWriteValueForValueAcrossRowGroups()
        {
            var ml = new MLContext(1);
            var rows = Rows(2500);
            string file = Path("rows.parquet");
            long written = ml.Data.SaveAsParquet(ml.Data.LoadFromEnumerable(rows), file, new ParquetSaveOptions { RowGroupSize = 1000 });
            Assert.That(written, Is.EqualTo(2500));
            Assert.That(Convert.ToInt64(DuckDb.Query($"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({DuckDb.Literal(file)})")[0][0]), Is.EqualTo(3));
            var read = DuckDb.Query($"SELECT Id, Big, Score, Weight, Flag, Name, Time, Vector, Items FROM read_parquet({DuckDb.Literal(file)})");
            Assert.That(read, Has.Count.EqualTo(rows.Length));
            for (int i = 0; i < rows.Length; i++)
            {
                var r = read[i];
                var expected = rows[i];
                Assert.That(r[0], Is.EqualTo(expected.Id));
                Assert.That(r[1], Is.EqualTo(expected.Big));
                Assert.That(r[2], Is.EqualTo(expected.Score), "float32 bits");
                Assert.That(r[3], Is.EqualTo(expected.Weight));
                Assert.That(r[4], Is.EqualTo(expected.Flag));
                Assert.That(r[5], Is.EqualTo(expected.Name));
                // TIMESTAMP in microseconds: ticks below a microsecond are cut.
                Assert.That(((DateTime)r[6]!).Ticks, Is.EqualTo(expected.Time.Ticks / 10 * 10));
                Assert.That(DuckDb.Floats(r[7]), Is.EqualTo(expected.Vector));
                Assert.That(DuckDb.Strings(r[8]), Is.EqualTo(expected.Items), "an empty vector is an empty list");
            }

            // Our loader reads it back too, the known-size vector as known-size (recorded in the file's metadata).
            var back = ml.Data.LoadFromParquet(file);
            Assert.That(back.Schema["Vector"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 3)));
            Assert.That(back.Schema["Items"].Type, Is.EqualTo(new VectorDataViewType(TextDataViewType.Instance)));
            var again = ml.Data.CreateEnumerable<Row>(back, reuseRowObject: false).ToArray();
            Assert.That(again.Select(r => (r.Id, r.Big, r.Score, r.Weight, r.Flag, r.Name)), Is.EqualTo(rows.Select(r => (r.Id, r.Big, r.Score, r.Weight, r.Flag, r.Name))));
            Assert.That(again.SelectMany(r => r.Vector), Is.EqualTo(rows.SelectMany(r => r.Vector)));
            Assert.That(again.Select(r => string.Join(" ", r.Items)), Is.EqualTo(rows.Select(r => string.Join(" ", r.Items))));
        }

        [Test]
        public void EmbeddingVectorsReadBackIdenticallyInDuckDbAndDuckDbsVectorsLoadAsATable()
        {
            var random = new Random(11);
            int count = 700, d = 24;
            var keys = Enumerable.Range(0, count).Select(i => i % 50 == 0 ? $"clé {i}" : $"k{i}").ToArray();
            var values = Enumerable.Range(0, count * d).Select(_ => (float)(random.NextDouble() * 4 - 2) * (float)Math.Pow(10, random.Next(-30, 30))).ToArray();
            var table = new EmbeddingTable(keys, values, d);
            string file = Path("vectors.parquet");
            table.SaveParquet(file);

            var read = DuckDb.Query($"SELECT key, vector, len(vector) FROM read_parquet({DuckDb.Literal(file)})");
            Assert.That(read.Select(r => (string)r[0]!), Is.EqualTo(keys));
            for (int i = 0; i < count; i++)
            {
                var vector = DuckDb.Floats(read[i][1]);
                Assert.That(vector, Is.EqualTo(table.Row(i).ToArray()), $"row {i}: float32 values, bit for bit");
            }
            var metadata = DuckDb.Query($"SELECT decode(key), decode(value) FROM parquet_kv_metadata({DuckDb.Literal(file)})");
            Assert.That(metadata.Select(r => ((string)r[0]!, (string)r[1]!)), Does.Contain(("embeddings.vector_size.vector", "24")));
            var cast = DuckDb.Query($"SELECT vector::FLOAT[24] FROM read_parquet({DuckDb.Literal(file)}) LIMIT 1");
            Assert.That(cast, Has.Count.EqualTo(1), "DuckDB casts the list to a fixed-size array");

            var loaded = EmbeddingTableParquet.LoadParquet(file);
            Assert.That(loaded.Keys, Is.EqualTo(keys));
            Assert.That(Enumerable.Range(0, count).All(i => loaded.Row(i).SequenceEqual(table.Row(i))), Is.True, "our loader reads back the same bits");

            // Vectors written by DuckDB (a DOUBLE list, under other column names, in a folder of two files) load as a table.
            string folder = Path("duck-vectors");
            Directory.CreateDirectory(folder);
            DuckDb.Execute(
                $"COPY (SELECT 'w' || i AS word, [i / 4, -i, 0.5] AS emb FROM range(0, 3000) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "0.parquet"))} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)",
                $"COPY (SELECT 'w' || i AS word, [i / 4, -i, 0.5] AS emb FROM range(3000, 3100) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "1.parquet"))} (FORMAT PARQUET)");
            var fromDuck = EmbeddingTableParquet.LoadParquet(folder, "word", "emb");
            Assert.That(fromDuck.Count, Is.EqualTo(3100));
            Assert.That(fromDuck.Dimension, Is.EqualTo(3));
            Assert.That(fromDuck.GetVector("w3099"), Is.EqualTo(new[] { (float)(3099 / 4.0), -3099f, 0.5f }));
        }

        [Test]
        public void EmbeddingTablesFromParquetRefuseRepeatedKeysAndRaggedVectors()
        {
            string file = Path("bad.parquet");
            DuckDb.Execute($"COPY (SELECT * FROM (VALUES ('a', [1.0::DOUBLE, 2.0]), ('b', [1.0::DOUBLE]), ('a', [3.0::DOUBLE, 4.0])) v(key, vector)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");
            var error = Assert.Throws<FormatException>(() => EmbeddingTableParquet.LoadParquet(file))!;
            Assert.That(error.Message, Does.Contain(file).And.Contain("row 1").And.Contain("'b' has 1 values"));
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTableParquet.LoadParquet(file, "key", "vectors"))!.Message, Does.Contain("'vectors' was not found"));
        }

        private sealed class Failing
        {
            public int Value { get; set; }
        }

        [Test]
        public void AFailedWriteLeavesNoFileAndAnExistingFileUntouched()
        {
            var ml = new MLContext(1);
            string file = Path("out.parquet");
            IEnumerable<Failing> Source()
            {
                for (int i = 0; i < 5000; i++)
                {
                    if (i == 4000)
                        throw new InvalidOperationException("source failed");
                    yield return new Failing { Value = i };
                }
            }
            Assert.Throws<InvalidOperationException>(() => ml.Data.SaveAsParquet(ml.Data.LoadFromEnumerable(Source()), file, new ParquetSaveOptions { RowGroupSize = 100 }));
            Assert.That(Directory.GetFiles(_folder), Is.Empty, "no file and no temporary file");

            File.WriteAllText(file, "previous");
            Assert.Throws<InvalidOperationException>(() => ml.Data.SaveAsParquet(ml.Data.LoadFromEnumerable(Source()), file));
            Assert.That(File.ReadAllText(file), Is.EqualTo("previous"));
            Assert.That(Directory.GetFiles(_folder), Has.Length.EqualTo(1));

            var keys = ml.Transforms.Conversion.MapValueToKey("Key", "Value").Fit(ml.Data.LoadFromEnumerable(new[] { new Failing { Value = 1 } }));
            var keyed = keys.Transform(ml.Data.LoadFromEnumerable(new[] { new Failing { Value = 1 } }));
            var refused = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Data.SaveAsParquet(keyed, Path("keys.parquet"), "Key"))!;
            Assert.That(refused.Message, Does.Contain("'Key'").And.Contain("MapKeyToValue"));
        }

        [Test]
        public void WalksAreWrittenOneRowPerWalkAndDuckDbUnnestsThemIntoSteps()
        {
            var ml = new MLContext(1);
            var edges = File.ReadLines(TestUtilities.TestDataPath("karate/edges.tsv")).Select(l => l.Split('\t')).Select(f => new { From = f[0], To = f[1] }).ToArray();
            var walker = ml.Embeddings().GraphWalk(new GraphWalkEstimator.Options
            {
                SourceColumnName = "From",
                TargetColumnName = "To",
                OutputColumnName = "Walk",
                WalkLength = 10,
                ReturnParameter = 0.5,
                InOutParameter = 2,
                Seed = 3,
            }).Fit(ml.Data.LoadFromEnumerable(edges));
            var walks = walker.GenerateWalks(3);
            string file = Path("walks.parquet");
            ml.Data.SaveAsParquet(walks, file, new ParquetSaveOptions { RowIndexColumnName = "walk", Columns = { new("nodes", "Walk") }, RowGroupSize = 40 });

            var expected = walks.GetColumn<string[]>("Walk").ToArray();
            var read = DuckDb.Query($"SELECT walk, nodes FROM read_parquet({DuckDb.Literal(file)}) ORDER BY walk");
            Assert.That(read.Select(r => (long)r[0]!), Is.EqualTo(Enumerable.Range(0, expected.Length).Select(i => (long)i)));
            Assert.That(read.Select(r => string.Join(" ", DuckDb.Strings(r[1]))), Is.EqualTo(expected.Select(w => string.Join(" ", w))));
            var steps = DuckDb.Query($"SELECT count(*) FROM (SELECT walk, unnest(nodes) AS node FROM read_parquet({DuckDb.Literal(file)}))");
            Assert.That(Convert.ToInt64(steps[0][0]), Is.EqualTo(expected.Sum(w => (long)w.Length)));
        }
    }
}
