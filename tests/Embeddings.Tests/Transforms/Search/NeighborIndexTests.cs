using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms.Search
{
    [TestFixture]
    public class NeighborIndexTests
    {
        private static (EmbeddingTable Table, float[] Values) Random(int rows, int dimension, int seed, int clusters = 0)
        {
            var random = new Random(seed);
            var centres = Enumerable.Range(0, Math.Max(1, clusters) * dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var values = new float[rows * dimension];
            for (int r = 0; r < rows; r++)
            {
                int c = clusters > 0 ? random.Next(clusters) : 0;
                for (int j = 0; j < dimension; j++)
                    values[r * dimension + j] = (clusters > 0 ? centres[c * dimension + j] : 0) + (float)(random.NextDouble() * 2 - 1) * (clusters > 0 ? 0.15f : 1f);
            }
            return (new EmbeddingTable(Enumerable.Range(0, rows).Select(i => $"r{i:D5}").ToArray(), values, dimension), values);
        }

        private static List<string> Naive(EmbeddingTable table, float[] values, float[] query, int k, SimilarityMetric metric)
        {
            int d = table.Dimension;
            double qn = Math.Sqrt(query.Sum(v => (double)v * v));
            return Enumerable.Range(0, table.Count).Select(r =>
            {
                double dot = 0, rn = 0, dist = 0;
                for (int j = 0; j < d; j++)
                {
                    double x = values[r * d + j];
                    dot += x * query[j];
                    rn += x * x;
                    dist += (x - query[j]) * (x - query[j]);
                }
                double score = metric switch
                {
                    SimilarityMetric.Cosine => dot / (Math.Sqrt(rn) * qn),
                    SimilarityMetric.DotProduct => dot,
                    _ => -Math.Sqrt(dist),
                };
                return (Key: table.Keys[r], Score: score);
            }).OrderByDescending(x => x.Score).ThenBy(x => x.Key, StringComparer.Ordinal).Take(k).Select(x => x.Key).ToList();
        }

        [Test]
        public void ExactTopKEqualsANaiveReferenceForEveryMetric([Values] SimilarityMetric metric)
        {
            var (table, values) = Random(3000, 12, seed: 3);
            var index = new ExactNeighborIndex(table, metric);
            var random = new Random(9);
            var queries = Enumerable.Range(0, 40 * 12).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var batch = index.SearchBatch(queries, 10);
            for (int q = 0; q < 40; q++)
            {
                var query = queries.AsSpan(q * 12, 12).ToArray();
                var expected = Naive(table, values, query, 10, metric);
                Assert.That(index.Search(query, 10).Select(n => n.Key), Is.EqualTo(expected), $"{metric} query {q}");
                Assert.That(batch[q].Select(n => n.Key), Is.EqualTo(expected), $"{metric} batched query {q}");
            }
        }

        [Test]
        public void ExactSearchOrdersTiesByKeyAndReturnsAtMostTheTable()
        {
            var table = new EmbeddingTable(new[] { "c", "a", "b" }, new float[] { 1, 0, 1, 0, 1, 0 }, 2);
            var index = new ExactNeighborIndex(table, SimilarityMetric.DotProduct);
            Assert.That(index.Search(new float[] { 1, 0 }, 10).Select(n => n.Key), Is.EqualTo(new[] { "a", "b", "c" }));
        }

        [Test]
        public void BadQueriesAreRejectedBeforeTheNativeLibrary()
        {
            var (table, _) = Random(100, 8, seed: 1);
            using var hnsw = HnswNeighborIndex.Build(table);
            foreach (INearestNeighborIndex index in new INearestNeighborIndex[] { new ExactNeighborIndex(table), hnsw })
            {
                Assert.That(Assert.Throws<ArgumentException>(() => index.Search(new float[3], 5))!.Message, Does.Contain("Dimension is 8"));
                Assert.That(Assert.Throws<ArgumentException>(() => index.Search(Enumerable.Repeat(float.NaN, 8).ToArray(), 5))!.Message, Does.Contain("NaN"));
                Assert.Throws<ArgumentOutOfRangeException>(() => index.Search(new float[8], 0));
                Assert.Throws<ArgumentException>(() => index.SearchBatch(new float[12], 5));
                Assert.That(index.Search(new float[] { 1, 0, 0, 0, 0, 0, 0, 0 }, 500), Has.Count.EqualTo(100), "k above the table size returns the whole table");
            }
            Assert.Throws<ArgumentException>(() => HnswNeighborIndex.Build(new EmbeddingTable(Array.Empty<string>(), ReadOnlySpan<float>.Empty, 4)));
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => HnswNeighborIndex.Build(table, new HnswOptions { Connectivity = 1 }))!.Message, Does.Contain("Connectivity = 1"));
        }

        [TestCase(SimilarityMetric.Cosine)]
        [TestCase(SimilarityMetric.Euclidean)]
        [TestCase(SimilarityMetric.DotProduct)]
        public void HnswRecallOnClusteredDataIsHighAndSurvivesSaveAndLoad(SimilarityMetric metric)
        {
            var (table, values) = Random(5000, 16, seed: 4, clusters: 50);
            var options = new HnswOptions { Metric = metric, Connectivity = 16, ExpansionAdd = 128, ExpansionSearch = 128 };
            using var hnsw = HnswNeighborIndex.Build(table, options);
            var exact = new ExactNeighborIndex(table, metric);
            var random = new Random(5);
            var queries = Enumerable.Range(0, 200).Select(_ => values.AsSpan(random.Next(5000) * 16, 16).ToArray()).ToArray();
            double recall = queries.Average(q => hnsw.Search(q, 10).Select(n => n.Key).Intersect(exact.Search(q, 10).Select(n => n.Key)).Count() / 10.0);
            Assert.That(recall, Is.GreaterThan(0.95), $"{metric}: recall@10 {recall:F3}");

            string folder = TestUtilities.NewTempFolder();
            try
            {
                string path = Path.Combine(folder, "index.usearch");
                hnsw.Save(path);
                foreach (bool mapped in new[] { false, true })
                {
                    using var loaded = HnswNeighborIndex.Load(path, table, options, memoryMapped: mapped);
                    foreach (var q in queries.Take(50))
                        Assert.That(loaded.Search(q, 10).Select(n => n.Key), Is.EqualTo(hnsw.Search(q, 10).Select(n => n.Key)), $"mapped {mapped}");
                }
                var other = Random(10, 16, seed: 1).Table;
                Assert.That(Assert.Throws<InvalidOperationException>(() => HnswNeighborIndex.Load(path, other, options))!.Message, Does.Contain("the table has 10"));

                // The search breadth given at load time is the one used: ef = 1 finds fewer true neighbours of queries away
                // from the data (uniform in the cube; the stored points themselves are too easy to tell the two apart).
                var probes = Enumerable.Range(0, 200).Select(_ => Enumerable.Range(0, 16).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray()).ToArray();
                double Recall(INearestNeighborIndex index) => probes.Average(q => index.Search(q, 10).Select(n => n.Key).Intersect(exact.Search(q, 10).Select(n => n.Key)).Count() / 10.0);
                using var narrow = HnswNeighborIndex.Load(path, table, new HnswOptions { Metric = metric, ExpansionSearch = 1 });
                using var wide = HnswNeighborIndex.Load(path, table, new HnswOptions { Metric = metric, ExpansionSearch = 128 });
                double narrowRecall = Recall(narrow), wideRecall = Recall(wide);
                TestContext.Out.WriteLine($"{metric}: probe recall@10 ef 1 {narrowRecall:F3}, ef 128 {wideRecall:F3}");
                Assert.That(narrowRecall, Is.LessThan(wideRecall - 0.02), $"{metric}: recall with ef 1 ({narrowRecall:F3}) is below recall with ef 128 ({wideRecall:F3})");
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [TestCase(HnswStorage.Float16)]
        [TestCase(HnswStorage.Int8)]
        public void CompactStorageKeepsRecallHigh(HnswStorage storage)
        {
            var (table, values) = Random(3000, 16, seed: 8, clusters: 30);
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { Storage = storage, ExpansionSearch = 128 });
            var exact = new ExactNeighborIndex(table);
            var random = new Random(3);
            double recall = Enumerable.Range(0, 100).Select(_ => values.AsSpan(random.Next(3000) * 16, 16).ToArray())
                .Average(q => hnsw.Search(q, 10).Select(n => n.Key).Intersect(exact.Search(q, 10).Select(n => n.Key)).Count() / 10.0);
            Assert.That(recall, Is.GreaterThan(0.8), $"{storage}: recall@10 {recall:F3}");
        }

        [Test]
        public void MostSimilarUsesAnAttachedIndex()
        {
            var (table, _) = Random(3000, 16, seed: 6, clusters: 30);
            var exact = table.MostSimilar("r00007", 10).Select(n => n.Key).ToList();
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { ExpansionSearch = 200 });
            table.AttachIndex(hnsw);
            Assert.That(table.AttachedIndex, Is.SameAs(hnsw));
            var approximate = table.MostSimilar("r00007", 10).Select(n => n.Key).ToList();
            Assert.That(approximate, Does.Not.Contain("r00007"), "the query key stays excluded");
            Assert.That(approximate.Intersect(exact).Count(), Is.GreaterThanOrEqualTo(9));
            table.AttachIndex(null);
            Assert.That(table.MostSimilar("r00007", 10).Select(n => n.Key), Is.EqualTo(exact));
            var other = Random(100, 16, seed: 1).Table;
            using var foreign = HnswNeighborIndex.Build(other);
            Assert.Throws<ArgumentException>(() => table.AttachIndex(foreign));
        }
    }
}
