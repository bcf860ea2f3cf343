using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    [TestFixture]
    public class EmbeddingTableTests
    {
        private static EmbeddingTable RandomTable(int count, int dimension, int seed, out string[] keys, out float[] values)
        {
            var random = new Random(seed);
            keys = Enumerable.Range(0, count).Select(i => $"k{i}").ToArray();
            values = new float[count * dimension];
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)(random.NextDouble() * 2 - 1);
            return new EmbeddingTable(keys, values, dimension);
        }

        [Test]
        public void ABuilderFillsRowsThenBuildsAnImmutableTableOnce()
        {
            var builder = new EmbeddingTableBuilder(3, 2);
            for (int i = 0; i < 3; i++)
            {
                builder.Row(i)[0] = i;
                builder.Row(i)[1] = -i;
            }
            var table = builder.Build(new[] { "a", "b", "c" });
            Assert.That(table.GetVector("c"), Is.EqualTo(new float[] { 2, -2 }));
            Assert.That(table.IndexOf("b"), Is.EqualTo(1));
            Assert.That(table.IndexOf("b".AsSpan()), Is.EqualTo(1));
            Assert.That(table.IndexOf("zzz"), Is.EqualTo(-1));
            Assert.That(table.Row(2).ToArray(), Is.EqualTo(new float[] { 2, -2 }));
            Assert.Throws<InvalidOperationException>(() => builder.Row(0), "rows can't be changed through the builder once built");
            Assert.Throws<InvalidOperationException>(() => builder.Build(new[] { "a", "b", "c" }));
            Assert.That(Assert.Throws<ArgumentException>(() => new EmbeddingTableBuilder(2, 2).Build(new[] { "a" }))!.Message, Does.Contain("1 keys but 2 vectors"));
            Assert.That(Assert.Throws<ArgumentException>(() => new EmbeddingTableBuilder(2, 2).Build(new[] { "a", "a" }))!.Message, Does.Contain("appears twice"));
            Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingTableBuilder(1, 0));
            Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingTableBuilder(2, 2).Row(2));
        }

        [Test]
        public void StoresKeysAndVectors()
        {
            var table = new EmbeddingTable(new[] { "a", "b" }, new float[] { 1, 2, 3, 4, 5, 6 }, 3);
            Assert.That(table.Count, Is.EqualTo(2));
            Assert.That(table.Dimension, Is.EqualTo(3));
            Assert.That(table.Keys, Is.EqualTo(new[] { "a", "b" }));
            var destination = new float[4];
            Assert.That(table.TryGetVector("b", destination), Is.True);
            Assert.That(destination, Is.EqualTo(new float[] { 4, 5, 6, 0 }));
            Assert.That(table.TryGetVector("c", destination), Is.False);
            Assert.That(table.GetVector("a"), Is.EqualTo(new float[] { 1, 2, 3 }));
            Assert.That(table.Contains("a") && !table.Contains("z"), Is.True);
            Assert.Throws<KeyNotFoundException>(() => table.GetVector("zz"));
            var error = Assert.Throws<ArgumentException>(() => table.TryGetVector("a", new float[2]));
            Assert.That(error!.Message, Does.Contain("Dimension = 3"));
        }

        [Test]
        public void RejectsDuplicateEmptyOrNonFiniteInput()
        {
            Assert.That(Assert.Throws<ArgumentException>(() => new EmbeddingTable(new[] { "a", "a" }, new float[2], 1))!.Message, Does.Contain("'a' appears twice"));
            Assert.That(Assert.Throws<ArgumentException>(() => new EmbeddingTable(new[] { "" }, new float[1], 1))!.Message, Does.Contain("empty"));
            Assert.That(Assert.Throws<ArgumentException>(() => new EmbeddingTable(new[] { "a", "b" }, new[] { 1f, float.NaN }, 1))!.Message, Does.Contain("'b'").And.Contain("NaN"));
            Assert.That(Assert.Throws<ArgumentException>(() => new EmbeddingTable(new[] { "a" }, new float[3], 2))!.Message, Does.Contain("2 values expected; got 3"));
            Assert.Throws<ArgumentOutOfRangeException>(() => new EmbeddingTable(new[] { "a" }, new float[0], 0));
        }

        [Test]
        public void MostSimilarMatchesNaiveCosineRanking([Values(1, 7, 50)] int count)
        {
            var table = RandomTable(3000, 16, seed: count, out var keys, out var values);
            for (int q = 0; q < 20; q++)
            {
                string query = keys[q * 37];
                var expected = NaiveMostSimilar(keys, values, 16, values.AsSpan(q * 37 * 16, 16).ToArray(), count, exclude: q * 37);
                var actual = table.MostSimilar(query, count);
                Assert.That(actual.Select(n => n.Key), Is.EqualTo(expected.Select(n => n.Key)), $"query {query}");
                for (int i = 0; i < count; i++)
                    Assert.That(actual[i].Similarity, Is.EqualTo(expected[i].Similarity).Within(1e-5f));
            }
        }

        [Test]
        public void MostSimilarOrdersTiesByKeyAndExcludesOnlyTheQuery()
        {
            // Four identical vectors: every similarity is 1, so the order is by key.
            var table = new EmbeddingTable(new[] { "d", "b", "c", "a", "e" }, new float[] { 1, 1, 1, 1, 1, 1, 1, 1, -1, -1 }, 2);
            var result = table.MostSimilar("c", 10);
            Assert.That(result.Select(n => n.Key), Is.EqualTo(new[] { "a", "b", "d", "e" }));
            Assert.That(result[0].Similarity, Is.EqualTo(1f).Within(1e-6f));
            Assert.That(result[3].Similarity, Is.EqualTo(-1f).Within(1e-6f));
            var byVector = table.MostSimilar(new float[] { 2, 2 }, 2);
            Assert.That(byVector.Select(n => n.Key), Is.EqualTo(new[] { "a", "b" }));
            Assert.Throws<KeyNotFoundException>(() => table.MostSimilar("zz", 1));
            Assert.Throws<ArgumentOutOfRangeException>(() => table.MostSimilar("a", 0));
            Assert.That(Assert.Throws<ArgumentException>(() => table.MostSimilar(new float[] { 1, 2, 3 }, 1))!.Message, Does.Contain("Dimension is 2"));
            Assert.Throws<ArgumentException>(() => table.MostSimilar(new[] { float.NaN, 1 }, 1));
        }

        [Test]
        public void MostSimilarUsesAllThreadsOnLargeTablesWithTheSameAnswer()
        {
            // 70,000 x 16 floats is above the single-thread threshold of the exact search.
            var table = RandomTable(70_000, 16, seed: 5, out var keys, out var values);
            var expected = NaiveMostSimilar(keys, values, 16, values.AsSpan(0, 16).ToArray(), 10, exclude: 0);
            Assert.That(table.MostSimilar("k0", 10).Select(n => n.Key), Is.EqualTo(expected.Select(n => n.Key)));
        }

        [Test]
        public void SimilarityIsCosineAndZeroForZeroVectors()
        {
            var table = new EmbeddingTable(new[] { "x", "y", "zero" }, new float[] { 3, 0, 1, 1, 0, 0 }, 2);
            Assert.That(table.Similarity("x", "y"), Is.EqualTo((float)(1 / Math.Sqrt(2))).Within(1e-6f));
            Assert.That(table.Similarity("x", "zero"), Is.EqualTo(0f));
            Assert.That(Assert.Throws<KeyNotFoundException>(() => table.Similarity("x", "nope"))!.Message, Does.Contain("'nope'"));
        }

        [Test]
        public void RowsSpanSeveralChunksWhenTheTableIsLarge()
        {
            // A chunk size of 10 floats forces 3-float rows into chunks of 2 rows (a power of two): the storage path of
            // tables of more than 2^31 floats.
            var rows = new RowStore(10, 3, maxChunkFloats: 10);
            Assert.That(rows.RowsPerChunk, Is.EqualTo(2));
            Assert.That(rows.ChunkCount, Is.EqualTo(5));
            var keys = new string[10];
            for (int i = 0; i < 10; i++)
            {
                keys[i] = $"r{i}";
                rows.Row(i).Fill(i);
            }
            var table = new EmbeddingTable(keys, rows);
            for (int i = 0; i < 10; i++)
                Assert.That(table.GetVector($"r{i}"), Is.EqualTo(new float[] { i, i, i }));
            using var stream = new MemoryStream();
            table.Save(stream);
            stream.Position = 0;
            var loaded = EmbeddingTable.Load(stream);
            Assert.That(loaded.Keys, Is.EqualTo(table.Keys));
            Assert.That(loaded.GetVector("r9"), Is.EqualTo(new float[] { 9, 9, 9 }));
        }

        [Test]
        public void NativeStreamRoundTripsAndRejectsTruncation()
        {
            var table = RandomTable(100, 7, seed: 3, out var keys, out var values);
            using var stream = new MemoryStream();
            table.Save(stream);
            var bytes = stream.ToArray();
            var loaded = EmbeddingTable.Load(new MemoryStream(bytes));
            for (int i = 0; i < keys.Length; i++)
                Assert.That(loaded.GetVector(keys[i]), Is.EqualTo(values.AsSpan(i * 7, 7).ToArray()));
            var truncated = new MemoryStream(bytes, 0, bytes.Length - 3);
            Assert.That(Assert.Throws<FormatException>(() => EmbeddingTable.Load(truncated))!.Message, Does.Contain("truncated"));
            Assert.Throws<FormatException>(() => EmbeddingTable.Load(new MemoryStream(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 })));
        }

        internal static List<Neighbor> NaiveMostSimilar(string[] keys, float[] values, int dimension, float[] query, int count, int exclude)
        {
            double queryNorm = Math.Sqrt(query.Sum(v => (double)v * v));
            var scored = new List<Neighbor>();
            for (int i = 0; i < keys.Length; i++)
            {
                if (i == exclude)
                    continue;
                double dot = 0, norm = 0;
                for (int j = 0; j < dimension; j++)
                {
                    dot += (double)query[j] * values[i * dimension + j];
                    norm += (double)values[i * dimension + j] * values[i * dimension + j];
                }
                scored.Add(new Neighbor(keys[i], (float)(dot / (queryNorm * Math.Sqrt(norm)))));
            }
            return scored.OrderByDescending(n => n.Similarity).ThenBy(n => n.Key, StringComparer.Ordinal).Take(count).ToList();
        }

        [Test]
        public void MostSimilarWithAFilterSearchesOnlyTheAdmittedRowsExactlyOrThroughTheAttachedIndex()
        {
            var table = RandomTable(2000, 16, 11, out string[] keys, out _);
            var even = NeighborFilter.For(table).Where(row => row % 2 == 0);
            var exact = table.MostSimilar(keys[1], 10, even);
            Assert.That(exact, Has.Count.EqualTo(10));
            Assert.That(exact.Select(n => table.IndexOf(n.Key) % 2), Has.All.EqualTo(0));
            Assert.That(exact.Select(n => n.Key), Does.Not.Contain(keys[1]));
            var brute = Enumerable.Range(0, table.Count).Where(r => r % 2 == 0 && r != 1)
                .Select(r => (Key: keys[r], Similarity: table.Similarity(keys[1], keys[r])))
                .OrderByDescending(p => p.Similarity).ThenBy(p => p.Key, StringComparer.Ordinal).Take(10).Select(p => p.Key);
            Assert.That(exact.Select(n => n.Key), Is.EqualTo(brute));
            var self = table.MostSimilar(keys[2], 5, even);
            Assert.That(self.Select(n => n.Key), Does.Not.Contain(keys[2]), "the query key is left out even when admitted");

            // Through HNSW: filtered inside the search; agrees with the exact answer on most keys.
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { ExpansionSearch = 200 });
            table.AttachIndex(hnsw);
            try
            {
                var approximate = table.MostSimilar(keys[1], 10, even);
                Assert.That(approximate.Select(n => table.IndexOf(n.Key) % 2), Has.All.EqualTo(0));
                Assert.That(approximate.Select(n => n.Key).Intersect(exact.Select(n => n.Key)).Count(), Is.GreaterThanOrEqualTo(9));
                var few = NeighborFilter.For(table).Allowing(keys.Take(20));
                Assert.That(table.MostSimilar(keys[500], 10, few).Select(n => n.Key).ToArray(), Is.SubsetOf(keys.Take(20).ToArray()).And.Length.EqualTo(10));
            }
            finally
            {
                table.AttachIndex(null);
            }
            var other = RandomTable(10, 16, 12, out _, out _);
            Assert.Throws<ArgumentException>(() => table.MostSimilar(keys[1], 3, NeighborFilter.For(other)));
            Assert.That(table.MostSimilar(keys[1], 3, NeighborFilter.For(table).Allowing(Array.Empty<string>())), Is.Empty);
        }
    }
}
