using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Search;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms.Search
{
    /// <summary>Filtered search (exact and HNSW), the native wrapper's checks, and loading files of the former binding.</summary>
    [TestFixture]
    public class FilteredNeighborIndexTests
    {
        /// <summary>A planted clustered set: <paramref name="clusters"/> tight clusters of random centres.</summary>
        private static EmbeddingTable Clustered(int rows, int dimension, int clusters, int seed)
        {
            var random = new Random(seed);
            var centres = Enumerable.Range(0, clusters * dimension).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var values = new float[rows * dimension];
            for (int r = 0; r < rows; r++)
            {
                int c = random.Next(clusters);
                for (int j = 0; j < dimension; j++)
                    values[r * dimension + j] = centres[c * dimension + j] + (float)(random.NextDouble() * 2 - 1) * 0.2f;
            }
            return new EmbeddingTable(Enumerable.Range(0, rows).Select(i => $"r{i:D5}").ToArray(), values, dimension);
        }

        private static float[] Query(EmbeddingTable table, Random random)
        {
            var query = table.Row(random.Next(table.Count)).ToArray();
            for (int j = 0; j < query.Length; j++)
                query[j] += (float)(random.NextDouble() * 2 - 1) * 0.05f;
            return query;
        }

        [TestCase(SimilarityMetric.Cosine)]
        [TestCase(SimilarityMetric.DotProduct)]
        [TestCase(SimilarityMetric.Euclidean)]
        public void FilteredHnswEqualsFilteredExactOnAPlantedSet(SimilarityMetric metric)
        {
            var table = Clustered(20000, 16, clusters: 40, seed: 1);
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { Metric = metric, ExpansionSearch = 64, FilteredExactRows = 1000 });
            var exact = new ExactNeighborIndex(table, metric);
            var random = new Random(2);
            var denied = Enumerable.Range(0, 500).Select(_ => table.Keys[random.Next(table.Count)]).ToList();
            var allowed = table.Keys.Where((_, row) => row % 5 != 0);
            long calls = 0;
            var filter = NeighborFilter.For(table).Allowing(allowed).Excluding(denied).Where(row =>
            {
                Interlocked.Increment(ref calls);
                return row % 3 != 1;
            });
            Assume.That(filter.EstimatedAdmittedRows(), Is.GreaterThan(0.4 * table.Count), "the filter admits about half the rows");
            double recall = 0;
            const int Queries = 100;
            for (int q = 0; q < Queries; q++)
            {
                var query = Query(table, random);
                var truth = exact.Search(query, 10, filter).Select(n => n.Key).ToList();
                Assert.That(truth, Has.Count.EqualTo(10));
                Interlocked.Exchange(ref calls, 0);
                var found = hnsw.Search(query, 10, filter);
                Assert.That(Interlocked.Read(ref calls), Is.LessThan(table.Count / 2), "the graph search tests the visited rows only");
                Assert.That(found, Has.Count.EqualTo(10));
                Assert.That(found.Select(n => n.Key), Is.All.Matches<string>(key => filter.Admits(table.IndexOf(key))), "every result is admitted");
                recall += found.Select(n => n.Key).Intersect(truth).Count() / 10.0;
            }
            Assert.That(recall / Queries, Is.GreaterThanOrEqualTo(0.95), $"{metric}: filtered recall@10 {recall / Queries:F3}");
        }

        [Test]
        public void ACatalogueFilteredToOnePercentStillReturnsKItems()
        {
            var table = Clustered(20000, 16, clusters: 40, seed: 3);
            var random = new Random(4);
            var onePercent = Enumerable.Range(0, table.Count).OrderBy(_ => random.Next()).Take(table.Count / 100).Select(row => table.Keys[row]).ToList();
            var filter = NeighborFilter.For(table).Allowing(onePercent);
            Assert.That(filter.ListedRowCount, Is.EqualTo(200));
            var exact = new ExactNeighborIndex(table);
            // The default rule (exact below 15,000 admitted rows) and the graph forced (0, so only the fewer-than-k fallback helps).
            foreach (int threshold in new[] { HnswNeighborIndex.DefaultFilteredExactRows, 0 })
            {
                using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { FilteredExactRows = threshold });
                for (int q = 0; q < 20; q++)
                {
                    var query = Query(table, random);
                    var found = hnsw.Search(query, 10, filter);
                    Assert.That(found, Has.Count.EqualTo(10), $"exact below {threshold} rows, query {q}");
                    Assert.That(found.Select(n => n.Key), Is.SubsetOf(onePercent));
                    if (threshold > 0)
                        Assert.That(found.Select(n => n.Key), Is.EqualTo(exact.Search(query, 10, filter).Select(n => n.Key)), "below the threshold the answer is exact");
                }
                // As many as the filter admits, and no more.
                Assert.That(hnsw.Search(Query(table, random), 500, filter), Has.Count.EqualTo(200));
            }
        }

        [Test]
        public void AFilterAdmittingNothingReturnsNothing()
        {
            var table = Clustered(3000, 8, clusters: 10, seed: 5);
            using var hnsw = HnswNeighborIndex.Build(table);
            var exact = new ExactNeighborIndex(table);
            var query = table.Row(7).ToArray();
            var nothing = new[]
            {
                NeighborFilter.For(table).Allowing(Array.Empty<string>()),
                NeighborFilter.For(table).Allowing(new[] { "not-a-key" }),
                NeighborFilter.For(table).Where(_ => false),
                NeighborFilter.For(table).Excluding(table.Keys),
            };
            foreach (var filter in nothing)
            {
                Assert.That(hnsw.Search(query, 10, filter), Is.Empty);
                Assert.That(exact.Search(query, 10, filter), Is.Empty);
            }
            Assert.That(hnsw.Search(query, 10, NeighborFilter.For(table)).Select(n => n.Key), Is.EqualTo(exact.Search(query, 10).Select(n => n.Key)),
                "an open filter on a table smaller than FilteredExactRows is answered exactly");
        }

        [Test]
        public void PredicateExceptionsPropagateFromTheNativeCallbackAndTheExactScan()
        {
            var table = Clustered(20000, 8, clusters: 20, seed: 6);
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { FilteredExactRows = 1000 });
            var exact = new ExactNeighborIndex(table);
            var query = table.Row(11).ToArray();
            bool armed = false;
            var filter = NeighborFilter.For(table).Where(row => !Volatile.Read(ref armed) || row % 7 != 3 ? true : throw new InvalidOperationException($"no row {row}"));
            filter.EstimatedAdmittedRows(); // sampled once while disarmed; the search then goes through the graph
            Volatile.Write(ref armed, true);
            var thrown = Assert.Throws<InvalidOperationException>(() => hnsw.Search(query, 10, filter))!;
            Assert.That(thrown.Message, Does.StartWith("no row "));
            Assert.That(thrown.StackTrace, Does.Contain(nameof(PredicateExceptionsPropagateFromTheNativeCallbackAndTheExactScan)), "the predicate's own stack trace is kept");
            Assert.That(Assert.Throws<InvalidOperationException>(() => exact.Search(query, 10, filter))!.Message, Does.StartWith("no row "), "not an AggregateException");
            // The native index is intact afterwards.
            Assert.That(hnsw.Search(query, 10, NeighborFilter.For(table).Where(row => row % 7 != 3)), Has.Count.EqualTo(10));
            // An approximate search (multi-threaded build) may rank a near-duplicate of row 11 first; row 11 is among the top 10.
            Assert.That(hnsw.Search(query, 10).Select(n => n.Key), Does.Contain(table.Keys[11]));
        }

        [Test]
        public void FiltersComposeAndRefuseAnotherTable()
        {
            var table = Clustered(1000, 4, clusters: 5, seed: 7);
            var all = NeighborFilter.For(table);
            Assert.That(all.ListedRowCount, Is.EqualTo(1000));
            var allowed = all.Allowing(table.Keys.Take(100).Append("missing").Append(table.Keys[0]));
            Assert.That(allowed.ListedRowCount, Is.EqualTo(100), "unknown and repeated keys are ignored");
            var seen = allowed.Excluding(new[] { table.Keys[1], table.Keys[2], table.Keys[500], "missing" });
            Assert.That(seen.ListedRowCount, Is.EqualTo(98), "an excluded row outside the allow-list does not count");
            Assert.That(allowed.ListedRowCount, Is.EqualTo(100), "filters are immutable");
            var even = seen.Where(row => row % 2 == 0);
            Assert.That(Enumerable.Range(0, 1000).Where(even.Admits), Is.EqualTo(Enumerable.Range(0, 100).Where(r => r % 2 == 0 && r != 2)));
            Assert.That(even.EstimatedAdmittedRows(), Is.EqualTo(49).Within(5));
            // Many exclusions fold into the bit set; the answer is the same.
            var many = all.ExcludingRows(Enumerable.Range(0, 600)).ExcludingRows(new[] { -1, 1000, 700 });
            Assert.That(many.ListedRowCount, Is.EqualTo(399));
            Assert.That(Enumerable.Range(0, 1000).Count(many.Admits), Is.EqualTo(399));
            Assert.That(many.Admits(-1) || many.Admits(1000), Is.False);

            var other = Clustered(1000, 4, clusters: 5, seed: 8);
            using var hnsw = HnswNeighborIndex.Build(table);
            Assert.That(Assert.Throws<ArgumentException>(() => hnsw.Search(table.Row(0), 5, NeighborFilter.For(other)))!.Message, Does.Contain("another table"));
            Assert.Throws<ArgumentException>(() => new ExactNeighborIndex(table).Search(table.Row(0), 5, NeighborFilter.For(other)));
            Assert.Throws<ArgumentNullException>(() => hnsw.Search(table.Row(0), 5, null!));
            Assert.Throws<ArgumentOutOfRangeException>(() => HnswNeighborIndex.Build(table, new HnswOptions { FilteredExactRows = -1 }));
        }

        [Test]
        public void CosineStoresInt8AndReranksExactlyOtherMetricsStoreFloat32()
        {
            Assert.That(new HnswOptions().Storage, Is.EqualTo(HnswStorage.Int8));
            Assert.That(new HnswOptions { Metric = SimilarityMetric.DotProduct }.Storage, Is.EqualTo(HnswStorage.Float32));
            Assert.That(new HnswOptions { Metric = SimilarityMetric.Euclidean, Storage = HnswStorage.Float16 }.Storage, Is.EqualTo(HnswStorage.Float16));
            var table = Clustered(5000, 16, clusters: 20, seed: 11);
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => HnswNeighborIndex.Build(table, new HnswOptions { Metric = SimilarityMetric.Euclidean, Storage = HnswStorage.Int8 }))!.Message, Does.Contain("needs Metric = Cosine"));
            using var int8 = HnswNeighborIndex.Build(table);
            var exact = new ExactNeighborIndex(table);
            var random = new Random(12);
            for (int q = 0; q < 50; q++)
            {
                var query = Query(table, random);
                var found = int8.Search(query, 10);
                var truth = exact.Search(query, 10);
                Assert.That(found.Select(n => n.Similarity), Is.Ordered.Descending);
                // Re-ranked by the float32 rows: a row found has its exact similarity.
                foreach (var neighbor in found)
                {
                    var same = truth.FirstOrDefault(n => n.Key == neighbor.Key);
                    if (same.Key is not null)
                        Assert.That(neighbor.Similarity, Is.EqualTo(same.Similarity));
                }
            }
        }

        [Test]
        public void TheNativeLibraryIsTheSupportedVersionWithSimdKernels()
        {
            Assert.DoesNotThrow(UsearchNative.EnsureSupported);
            Assert.That(UsearchNative.Version, Does.StartWith(UsearchNative.SupportedVersion + "."));
            var table = Clustered(100, 8, clusters: 2, seed: 9);
            using var hnsw = HnswNeighborIndex.Build(table);
            Assert.That(hnsw.HardwareAcceleration, Is.Not.Empty);
            TestContext.Out.WriteLine($"USearch {UsearchNative.Version}, kernels: {hnsw.HardwareAcceleration}");
        }

        [Test]
        public void AFileThatIsNotAnIndexIsAClearError()
        {
            var table = Clustered(100, 8, clusters: 2, seed: 13);
            string path = System.IO.Path.GetTempFileName();
            try
            {
                System.IO.File.WriteAllText(path, "this is not a usearch index, just some text long enough to be read as a header.........");
                var thrown = Assert.Throws<InvalidOperationException>(() => HnswNeighborIndex.Load(path, table, new HnswOptions()))!;
                Assert.That(thrown.Message, Does.StartWith("USearch could not"));
            }
            finally
            {
                System.IO.File.Delete(path);
            }
        }

        [Test]
        public void ManyMoreSearchingThreadsThanCoresAreSafe()
        {
            var table = Clustered(5000, 8, clusters: 10, seed: 10);
            using var hnsw = HnswNeighborIndex.Build(table, new HnswOptions { ExpansionSearch = 128 });
            var expected = Enumerable.Range(0, 64).Select(row => hnsw.Search(table.Row(row), 5).Select(n => n.Key).ToList()).ToList();
            var filter = NeighborFilter.For(table).Where(row => row % 2 == 0);
            var tasks = Enumerable.Range(0, 32).Select(t => Task.Factory.StartNew(() =>
            {
                for (int i = 0; i < 200; i++)
                {
                    int row = (t * 7 + i) % 64;
                    Assert.That(hnsw.Search(table.Row(row), 5).Select(n => n.Key), Is.EqualTo(expected[row]));
                    Assert.That(hnsw.Search(table.Row(row), 5, filter), Has.Count.EqualTo(5));
                }
            }, TaskCreationOptions.LongRunning)).ToArray();
            Task.WaitAll(tasks);
        }

        [Test]
        public void AnIndexSavedByTheUsearchBindingLoads([Values] bool memoryMapped)
        {
            const int Rows = 300, D = 8;
            var values = new float[Rows * D];
            for (int r = 0; r < Rows; r++)
            {
                for (int j = 0; j < D; j++)
                    values[r * D + j] = MathF.Sin(0.37f * (r + 1) * (j + 1) + 0.11f * j);
            }
            var table = new EmbeddingTable(Enumerable.Range(0, Rows).Select(r => $"k{r}").ToArray(), values, D);
            string path = TestUtilities.TestDataPath("Hnsw/binding-2.26.6-cosine-300x8.usearch");
            using var loaded = HnswNeighborIndex.Load(path, table, new HnswOptions { ExpansionSearch = 128 }, memoryMapped);
            var exact = new ExactNeighborIndex(table);
            double recall = 0;
            for (int r = 0; r < Rows; r += 3)
            {
                var found = loaded.Search(table.Row(r), 5);
                Assert.That(found[0].Similarity, Is.EqualTo(1f).Within(1e-4f), $"row {r} finds itself");
                recall += found.Select(n => n.Key).Intersect(exact.Search(table.Row(r), 5).Select(n => n.Key)).Count() / 5.0;
            }
            Assert.That(recall / 100, Is.GreaterThanOrEqualTo(0.95));
            var odd = NeighborFilter.For(table).Where(row => row % 2 == 1);
            Assert.That(loaded.Search(table.Row(10), 5, odd).Select(n => n.Key), Is.All.Matches<string>(key => int.Parse(key[1..], System.Globalization.CultureInfo.InvariantCulture) % 2 == 1));
        }
    }
}
