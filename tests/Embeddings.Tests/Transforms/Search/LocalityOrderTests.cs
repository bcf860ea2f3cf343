using System;
using System.Linq;
using Embeddings.Search;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms.Search
{
    /// <summary>The locality insertion order of HNSW builds: a permutation that groups rows of one region, and the recall of both orders.</summary>
    [TestFixture]
    public class LocalityOrderTests
    {
        /// <summary>Rows in random order, each near one of <paramref name="clusters"/> centres (around <paramref name="offset"/> in every coordinate), and each row's cluster.</summary>
        private static (EmbeddingTable Table, int[] Cluster) Clustered(int rows, int dimension, int clusters, int seed, float offset = 5, float spread = 0.05f)
        {
            var random = new Random(seed);
            var centres = Enumerable.Range(0, clusters * dimension).Select(_ => offset + (float)(random.NextDouble() * 2 - 1)).ToArray();
            var values = new float[rows * dimension];
            var cluster = new int[rows];
            for (int r = 0; r < rows; r++)
            {
                cluster[r] = random.Next(clusters);
                for (int j = 0; j < dimension; j++)
                    values[r * dimension + j] = centres[cluster[r] * dimension + j] + (float)(random.NextDouble() * 2 - 1) * spread;
            }
            return (new EmbeddingTable(Enumerable.Range(0, rows).Select(i => $"r{i:D5}").ToArray(), values, dimension), cluster);
        }

        [Test]
        public void TheOrderIsAPermutationWithARandomTenthFirstThenRowsGroupedByRegion()
        {
            var (table, cluster) = Clustered(20_000, 16, clusters: 40, seed: 3);
            int[] order = LocalityOrder.Of(table);
            Assert.That(order.OrderBy(r => r), Is.EqualTo(Enumerable.Range(0, table.Count)), "every row once");
            Assert.That(LocalityOrder.Of(table), Is.EqualTo(order), "a fixed function of the table");

            // Consecutive rows share a cluster about 1/40 of the time in a random order; grouped, nearly always.
            static double SameCluster(int[] rows, int[] cluster) =>
                Enumerable.Range(1, rows.Length - 1).Count(i => cluster[rows[i]] == cluster[rows[i - 1]]) / (double)(rows.Length - 1);
            int head = (int)(LocalityOrder.SkeletonShare * table.Count);
            double skeleton = SameCluster(order[..head], cluster), grouped = SameCluster(order[head..], cluster);
            TestContext.Out.WriteLine($"consecutive rows in one cluster: first tenth {skeleton:F3}, the rest {grouped:F3}");
            Assert.That(skeleton, Is.LessThan(0.06), "the first tenth is in random order");
            Assert.That(grouped, Is.GreaterThan(0.9), "the rest comes region by region (hyperplanes through the data's mean, not the origin)");
            // The first tenth covers every cluster, so the graph has links between all regions before the grouped inserts.
            Assert.That(order[..head].Select(r => cluster[r]).Distinct().Count(), Is.EqualTo(40));
        }

        [TestCase(0, 0)]
        [TestCase(31, 0)]
        [TestCase(32, 1)]
        [TestCase(1_000_000, 15)]
        [TestCase(int.MaxValue, 24)]
        public void HashBitsGrowWithTheRowCount(int rows, int bits) => Assert.That(LocalityOrder.HashBits(rows), Is.EqualTo(bits));

        [TestCase(HnswInsertionOrder.Locality)]
        [TestCase(HnswInsertionOrder.TableOrder)]
        public void BothInsertionOrdersGiveHighRecall(HnswInsertionOrder insertionOrder)
        {
            var (table, _) = Clustered(8000, 16, clusters: 80, seed: 9, offset: 0, spread: 0.15f);
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { InsertionOrder = insertionOrder, ExpansionSearch = 64 });
            var exact = new ExactNeighborIndex(table);
            var random = new Random(4);
            var query = new float[16];
            double recall = Enumerable.Range(0, 200).Average(_ =>
            {
                table.TryGetVector(table.Keys[random.Next(table.Count)], query);
                return hnsw.Search(query, 10).Select(n => n.Key).Intersect(exact.Search(query, 10).Select(n => n.Key)).Count() / 10.0;
            });
            TestContext.Out.WriteLine($"{insertionOrder}: recall@10 {recall:F3}");
            Assert.That(recall, Is.GreaterThan(0.95));
        }

        [Test]
        public void AnUndefinedInsertionOrderIsRefused()
        {
            var (table, _) = Clustered(100, 4, clusters: 2, seed: 1);
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => HnswNeighborIndex.Build(table, new HnswOptions { InsertionOrder = (HnswInsertionOrder)7 }));
            Assert.That(e!.Message, Does.Contain("HnswOptions.InsertionOrder = 7").And.Contain("use Locality or TableOrder"));
        }
    }
}
