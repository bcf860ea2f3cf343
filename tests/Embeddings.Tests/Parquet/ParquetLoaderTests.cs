using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Parquet
{
    /// <summary>The Parquet loader on files that DuckDB writes: type mapping, nulls, row groups, folders, projection, errors.</summary>
    [TestFixture]
    public class ParquetLoaderTests
    {
        private const int Rows = 5000;

        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private string Path(string name) => System.IO.Path.Combine(_folder, name);

        /// <summary>Every mapped type, 5,000 rows in row groups of 2,048 (DuckDB's smallest), so cursors cross row groups.</summary>
        private string WriteAllTypes()
        {
            string file = Path("types.parquet");
            DuckDb.Execute($"""
                COPY (SELECT
                    (i - 2500)::INTEGER AS int32, i * 1000000007 AS int64, (i::DOUBLE / 7)::FLOAT AS single, i::DOUBLE / 3 AS double,
                    i % 3 = 0 AS flag, 'node-' || i AS text, (i % 100)::TINYINT AS int8, (i - 30000)::SMALLINT AS int16,
                    (i % 200)::UTINYINT AS uint8, (i * 3)::UINTEGER AS uint32, (i * 5)::UBIGINT AS uint64,
                    TIMESTAMP '2020-01-01' + to_seconds(i) AS time,
                    [i::FLOAT, (i::DOUBLE / 2)::FLOAT, (-i)::FLOAT] AS floats,
                    list_transform(range(i % 4), x -> 'w' || x) AS words,
                    [i, i + 1] AS longs
                  FROM range({Rows}) t(i) ORDER BY i)
                TO {DuckDb.Literal(file)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)
                """);
            return file;
        }

        [Test]
        public void EveryMappedTypeReadsTheValuesDuckDbWroteAcrossRowGroups()
        {
            string file = WriteAllTypes();
            long groups = Convert.ToInt64(DuckDb.Query($"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({DuckDb.Literal(file)})")[0][0]);
            Assert.That(groups, Is.GreaterThanOrEqualTo(3), "the file has several row groups");

            var data = new MLContext(1).Data.LoadFromParquet(file);
            Assert.That(data.GetRowCount(), Is.EqualTo(Rows), "row count from the footer");
            Assert.That(data.CanShuffle, Is.False);
            var schema = data.Schema;
            Assert.That(schema["int32"].Type, Is.EqualTo(NumberDataViewType.Int32));
            Assert.That(schema["int64"].Type, Is.EqualTo(NumberDataViewType.Int64));
            Assert.That(schema["single"].Type, Is.EqualTo(NumberDataViewType.Single));
            Assert.That(schema["double"].Type, Is.EqualTo(NumberDataViewType.Double));
            Assert.That(schema["flag"].Type, Is.EqualTo(BooleanDataViewType.Instance));
            Assert.That(schema["text"].Type, Is.EqualTo(TextDataViewType.Instance));
            Assert.That(schema["int8"].Type, Is.EqualTo(NumberDataViewType.SByte));
            Assert.That(schema["int16"].Type, Is.EqualTo(NumberDataViewType.Int16));
            Assert.That(schema["uint8"].Type, Is.EqualTo(NumberDataViewType.Byte));
            Assert.That(schema["uint32"].Type, Is.EqualTo(NumberDataViewType.UInt32));
            Assert.That(schema["uint64"].Type, Is.EqualTo(NumberDataViewType.UInt64));
            Assert.That(schema["time"].Type, Is.EqualTo(DateTimeDataViewType.Instance));
            Assert.That(schema["floats"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single)), "a list without a recorded size is a variable-size vector");
            Assert.That(schema["words"].Type, Is.EqualTo(new VectorDataViewType(TextDataViewType.Instance)));
            Assert.That(schema["longs"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Int64)));

            using var cursor = data.GetRowCursor(schema);
            var int32 = cursor.GetGetter<int>(schema["int32"]);
            var int64 = cursor.GetGetter<long>(schema["int64"]);
            var single = cursor.GetGetter<float>(schema["single"]);
            var dbl = cursor.GetGetter<double>(schema["double"]);
            var flag = cursor.GetGetter<bool>(schema["flag"]);
            var text = cursor.GetGetter<ReadOnlyMemory<char>>(schema["text"]);
            var int8 = cursor.GetGetter<sbyte>(schema["int8"]);
            var int16 = cursor.GetGetter<short>(schema["int16"]);
            var uint8 = cursor.GetGetter<byte>(schema["uint8"]);
            var uint32 = cursor.GetGetter<uint>(schema["uint32"]);
            var uint64 = cursor.GetGetter<ulong>(schema["uint64"]);
            var time = cursor.GetGetter<DateTime>(schema["time"]);
            var floats = cursor.GetGetter<VBuffer<float>>(schema["floats"]);
            var words = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(schema["words"]);
            var longs = cursor.GetGetter<VBuffer<long>>(schema["longs"]);
            int i = 0;
            int a = 0;
            long b = 0;
            float f = 0;
            double d = 0;
            bool g = false;
            ReadOnlyMemory<char> s = default;
            sbyte i8 = 0;
            short i16 = 0;
            byte u8 = 0;
            uint u32 = 0;
            ulong u64 = 0;
            DateTime t = default;
            VBuffer<float> fs = default;
            VBuffer<ReadOnlyMemory<char>> ws = default;
            VBuffer<long> ls = default;
            while (cursor.MoveNext())
            {
                Assert.That(cursor.Position, Is.EqualTo(i));
                int32(ref a);
                int64(ref b);
                single(ref f);
                dbl(ref d);
                flag(ref g);
                text(ref s);
                int8(ref i8);
                int16(ref i16);
                uint8(ref u8);
                uint32(ref u32);
                uint64(ref u64);
                time(ref t);
                floats(ref fs);
                words(ref ws);
                longs(ref ls);
                Assert.That(a, Is.EqualTo(i - 2500));
                Assert.That(b, Is.EqualTo(i * 1000000007L));
                Assert.That(f, Is.EqualTo((float)(i / 7.0)));
                Assert.That(d, Is.EqualTo(i / 3.0));
                Assert.That(g, Is.EqualTo(i % 3 == 0));
                Assert.That(s.ToString(), Is.EqualTo("node-" + i));
                Assert.That(i8, Is.EqualTo((sbyte)(i % 100)));
                Assert.That(i16, Is.EqualTo((short)(i - 30000)));
                Assert.That(u8, Is.EqualTo((byte)(i % 200)));
                Assert.That(u32, Is.EqualTo((uint)(i * 3)));
                Assert.That(u64, Is.EqualTo((ulong)(i * 5)));
                Assert.That(t.Ticks, Is.EqualTo(new DateTime(2020, 1, 1).AddSeconds(i).Ticks));
                Assert.That(fs.DenseValues().ToArray(), Is.EqualTo(new[] { i, (float)(i / 2.0), -i }));
                Assert.That(ws.DenseValues().Select(w => w.ToString()).ToArray(), Is.EqualTo(Enumerable.Range(0, i % 4).Select(x => "w" + x).ToArray()));
                Assert.That(ls.DenseValues().ToArray(), Is.EqualTo(new long[] { i, i + 1 }));
                i++;
            }
            Assert.That(i, Is.EqualTo(Rows));
        }

        [Test]
        public void NullsAreNaNOrEmptyAndANullIntegerNamesFileRowAndColumnOnlyWhenRead()
        {
            string file = Path("nulls.parquet");
            DuckDb.Execute($"""
                COPY (SELECT i::INTEGER AS id,
                    CASE WHEN i % 5 = 0 THEN NULL ELSE i::DOUBLE END AS x,
                    CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || i END AS label,
                    CASE WHEN i % 4 = 0 THEN NULL WHEN i % 4 = 1 THEN [] ELSE [i::FLOAT, NULL] END AS vec,
                    CASE WHEN i = 3001 THEN NULL ELSE i END AS count
                  FROM range(4000) t(i) ORDER BY i)
                TO {DuckDb.Literal(file)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)
                """);
            var data = new MLContext(1).Data.LoadFromParquet(file, "id", "x", "label", "vec", "count");
            // The column with a null integer is loaded but not read: no error.
            using (var cursor = data.GetRowCursor(new[] { data.Schema["id"], data.Schema["x"], data.Schema["label"], data.Schema["vec"] }))
            {
                var x = cursor.GetGetter<double>(data.Schema["x"]);
                var label = cursor.GetGetter<ReadOnlyMemory<char>>(data.Schema["label"]);
                var vec = cursor.GetGetter<VBuffer<float>>(data.Schema["vec"]);
                double xv = 0;
                ReadOnlyMemory<char> lv = default;
                VBuffer<float> vv = default;
                int i = 0;
                while (cursor.MoveNext())
                {
                    x(ref xv);
                    label(ref lv);
                    vec(ref vv);
                    Assert.That(xv, i % 5 == 0 ? Is.NaN : Is.EqualTo((double)i));
                    Assert.That(lv.ToString(), Is.EqualTo(i % 7 == 0 ? "" : "v" + i));
                    var values = vv.DenseValues().ToArray();
                    if (i % 4 <= 1)
                    {
                        Assert.That(values, Is.Empty, "a null or empty list is an empty vector");
                    }
                    else
                    {
                        Assert.That(values, Has.Length.EqualTo(2));
                        Assert.That(values[0], Is.EqualTo((float)i));
                        Assert.That(values[1], Is.NaN, "a null element of a FLOAT list is NaN");
                    }
                    i++;
                }
                Assert.That(i, Is.EqualTo(4000));
            }
            using var reading = data.GetRowCursor(new[] { data.Schema["count"] });
            var error = Assert.Throws<FormatException>(() =>
            {
                while (reading.MoveNext())
                {
                }
            })!;
            Assert.That(error.Message, Does.Contain(file).And.Contain("row 3,001").And.Contain("'count'").And.Contain("IS NOT NULL"));
        }

        [Test]
        public void AFolderIsReadInNameOrderSkippingMarkerFiles()
        {
            string folder = Path("edges");
            Directory.CreateDirectory(folder);
            // Written out of order: b before a.
            DuckDb.Execute(
                $"COPY (SELECT i AS source, i + 1 AS target FROM range(100, 3100) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "part-b.parquet"))} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)",
                $"COPY (SELECT i AS source, i + 1 AS target FROM range(0, 100) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "part-a.parquet"))} (FORMAT PARQUET)");
            File.WriteAllText(System.IO.Path.Combine(folder, "_SUCCESS"), "");
            File.WriteAllText(System.IO.Path.Combine(folder, ".part-a.parquet.crc"), "not parquet");
            var data = (ParquetDataView)new MLContext(1).Data.LoadFromParquet(folder, "target");
            Assert.That(data.Files.Select(System.IO.Path.GetFileName), Is.EqualTo(new[] { "part-a.parquet", "part-b.parquet" }));
            Assert.That(data.GetRowCount(), Is.EqualTo(3100));
            Assert.That(data.Schema.Select(c => c.Name), Is.EqualTo(new[] { "target" }), "only the column asked for");
            var targets = data.GetColumn<long>("target").ToArray();
            Assert.That(targets, Is.EqualTo(Enumerable.Range(1, 3100).Select(v => (long)v).ToArray()));
        }

        [Test]
        public void ColumnsNotAskedForMayBeOfAnyTypeButAskingForAllNamesTheUnsupportedOne()
        {
            string file = Path("mixed.parquet");
            DuckDb.Execute($"COPY (SELECT i AS id, {{'a': i, 'b': 'x'}} AS info, i::DECIMAL(10, 2) AS price FROM range(10) t(i)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");
            var ml = new MLContext(1);
            Assert.That(ml.Data.LoadFromParquet(file, "id").GetColumn<long>("id").ToArray(), Is.EqualTo(Enumerable.Range(0, 10).Select(v => (long)v).ToArray()));
            var error = Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(file))!;
            Assert.That(error.Message, Does.Contain(file).And.Contain("'info'").And.Contain("leave it out"));
            error = Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(file, "price"))!;
            Assert.That(error.Message, Does.Contain("'price'").And.Contain("DECIMAL").And.Contain("DOUBLE"));
        }

        [Test]
        public void AKnownVectorSizeGivesAKnownSizeVectorAndARowOfAnotherLengthIsNamed()
        {
            string file = Path("vectors.parquet");
            DuckDb.Execute($"COPY (SELECT i AS id, CASE WHEN i = 2500 THEN [1.0::FLOAT] ELSE [i::FLOAT, 1, 2] END AS v FROM range(3000) t(i) ORDER BY i) TO {DuckDb.Literal(file)} (FORMAT PARQUET, ROW_GROUP_SIZE 2048)");
            var ml = new MLContext(1);
            var options = new ParquetDataView.Options { Columns = { "id", "v" }, VectorSizes = { ["v"] = 3 } };
            var data = ml.Data.LoadFromParquet(file, options);
            Assert.That(data.Schema["v"].Type, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 3)));
            using var cursor = data.GetRowCursor(data.Schema);
            var error = Assert.Throws<FormatException>(() =>
            {
                while (cursor.MoveNext())
                {
                }
            })!;
            Assert.That(error.Message, Does.Contain("row 2,500").And.Contain("'v'").And.Contain("1 values").And.Contain("vector of 3"));

            var bad = new ParquetDataView.Options { Columns = { "id" }, VectorSizes = { ["id"] = 3 } };
            Assert.That(Assert.Throws<ArgumentException>(() => ml.Data.LoadFromParquet(file, bad))!.Message, Does.Contain("'id'").And.Contain("only LIST columns"));
        }

        [Test]
        public void BadInputIsRefusedNamingTheFileColumnAndFix()
        {
            var ml = new MLContext(1);
            string file = Path("edges.parquet");
            DuckDb.Execute($"COPY (SELECT i AS source, i + 1 AS target FROM range(10) t(i)) TO {DuckDb.Literal(file)} (FORMAT PARQUET)");

            var missing = Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(file, "src"))!;
            Assert.That(missing.Message, Does.Contain(file).And.Contain("'src' was not found").And.Contain("'source', 'target'"));
            var wrongCase = Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(file, "Source"))!;
            Assert.That(wrongCase.Message, Does.Contain("did you mean 'source'"));

            string folder = Path("mixed");
            Directory.CreateDirectory(folder);
            DuckDb.Execute(
                $"COPY (SELECT i AS source, i + 1 AS target FROM range(10) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "a.parquet"))} (FORMAT PARQUET)",
                $"COPY (SELECT 'n' || i AS source, i + 1 AS target FROM range(10) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "b.parquet"))} (FORMAT PARQUET)",
                $"COPY (SELECT i AS target FROM range(10) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "c.parquet"))} (FORMAT PARQUET)");
            var types = Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(folder, "source", "target"))!;
            Assert.That(types.Message, Does.Contain("b.parquet").And.Contain("'source' is STRING").And.Contain("INT64").And.Contain("a.parquet"));
            Assert.That(ml.Data.LoadFromParquet(folder, "target").GetRowCount(), Is.EqualTo(30), "every file has 'target', of one type");

            string empty = Path("empty");
            Directory.CreateDirectory(empty);
            File.WriteAllText(System.IO.Path.Combine(empty, "notes.txt"), "");
            Assert.That(Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(empty))!.Message, Does.Contain(empty).And.Contain("holds no .parquet file"));

            string text = Path("edges-text.parquet");
            File.WriteAllText(text, "0\t1\n1\t2\n");
            Assert.That(Assert.Throws<FormatException>(() => ml.Data.LoadFromParquet(text))!.Message, Does.Contain(text).And.Contain("not a readable Parquet file"));

            Assert.That(Assert.Throws<FileNotFoundException>(() => ml.Data.LoadFromParquet(Path("nothing.parquet")))!.Message, Does.Contain("nothing.parquet"));
        }

        [Test]
        public void AFolderWhoseLaterFileLacksAColumnNamesThatFile()
        {
            string folder = Path("parts");
            Directory.CreateDirectory(folder);
            DuckDb.Execute(
                $"COPY (SELECT i AS user, i AS item FROM range(10) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "1.parquet"))} (FORMAT PARQUET)",
                $"COPY (SELECT i AS user FROM range(10) t(i)) TO {DuckDb.Literal(System.IO.Path.Combine(folder, "2.parquet"))} (FORMAT PARQUET)");
            var error = Assert.Throws<FormatException>(() => new MLContext(1).Data.LoadFromParquet(folder, "user", "item"))!;
            Assert.That(error.Message, Does.Contain("2.parquet").And.Contain("'item' was not found").And.Contain("1.parquet").And.Contain("same columns"));
        }

        [Test]
        public void ACursorHoldsOneRowGroupAndACursorSetIsOneCursor()
        {
            string file = WriteAllTypes();
            var data = new MLContext(1).Data.LoadFromParquet(file, "int64");
            var set = data.GetRowCursorSet(data.Schema, 4);
            Assert.That(set, Has.Length.EqualTo(1));
            set[0].Dispose();
            // Two cursors at once are independent.
            using var first = data.GetRowCursor(data.Schema);
            using var second = data.GetRowCursor(data.Schema);
            var a = first.GetGetter<long>(data.Schema[0]);
            var b = second.GetGetter<long>(data.Schema[0]);
            long x = 0, y = 0;
            for (int i = 0; i < 3000; i++)
                Assert.That(first.MoveNext(), Is.True);
            Assert.That(second.MoveNext(), Is.True);
            a(ref x);
            b(ref y);
            Assert.That((x, y), Is.EqualTo((2999 * 1000000007L, 0L)));
            var id = first.GetIdGetter();
            DataViewRowId value = default;
            id(ref value);
            Assert.That(value.Low, Is.EqualTo(2999UL));
        }
    }
}
