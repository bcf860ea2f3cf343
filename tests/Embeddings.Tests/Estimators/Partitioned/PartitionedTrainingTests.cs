using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Partitioned;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Partitioned
{
    [TestFixture]
    public class PartitionedTrainingTests : PartitionFolderFixture
    {
        protected override string FolderPrefix => "partitioned-tests-";

        /// <summary>A stochastic block model: <paramref name="communities"/> communities of <paramref name="size"/> nodes, edge probability 0.3 inside, 0.005 across.</summary>
        private static List<(int Source, int Target)> Communities(int communities, int size, int seed)
        {
            var random = new Random(seed);
            var edges = new List<(int, int)>();
            int n = communities * size;
            for (int a = 0; a < n; a++)
            {
                for (int b = a + 1; b < n; b++)
                {
                    if (random.NextDouble() < (a / size == b / size ? 0.3 : 0.005))
                        edges.Add((a, b));
                }
            }
            return edges;
        }

        private static Action<IEdgeWriter> Writer(IEnumerable<(int Source, int Target)> edges) => writer =>
        {
            foreach (var (s, t) in edges)
                writer.AddEdge(s.ToString(System.Globalization.CultureInfo.InvariantCulture), t.ToString(System.Globalization.CultureInfo.InvariantCulture), 1);
        };

        private static DeepWalkEstimator.Options Options(PartitionedTrainingOptions? partitioning, int threads = 1, int seed = 5)
        {
            var options = new DeepWalkEstimator.Options
            {
                SourceColumnName = "Source",
                TargetColumnName = "Target",
                EmbeddingDimension = 16,
                WalkLength = 20,
                WalksPerNode = 8,
                WindowSize = 5,
                Epochs = 2,
                SamplingThreshold = 0,
                NumberOfThreads = threads,
                Seed = seed,
                KeepContextVectors = true,
                Partitioning = partitioning,
            };
            options.OutputColumns.Add(("Vector", "Source"));
            return options;
        }

        private static NodeEmbeddingTransformer Fit(DeepWalkEstimator.Options options, IEnumerable<(int, int)> edges) =>
            new MLContext(seed: 1).Embeddings().DeepWalk(options).Fit(Writer(edges));

        /// <summary>Share of each node's 10 nearest neighbours (cosine) in its own community.</summary>
        private static double Purity(EmbeddingTable table, int size) =>
            table.Keys.Average(k => table.MostSimilar(k, 10).Count(n => int.Parse(n.Key) / size == int.Parse(k) / size) / 10.0);

        [Test]
        public void BucketOrderTrainsEveryBucketOnceAndLoadsOneMatrixPerStep()
        {
            for (int p = 1; p <= 9; p++)
            {
                for (int episode = 0; episode < 3; episode++)
                {
                    var order = BucketOrder.For(p, episode);
                    Assert.That(BucketOrder.CoversEachOnce(order, p), Is.True, $"P = {p}, episode {episode}");
                    for (int k = 1; k < order.Length; k++)
                    {
                        int changed = (order[k].Input != order[k - 1].Input ? 1 : 0) + (order[k].Output != order[k - 1].Output ? 1 : 0);
                        Assert.That(changed, Is.EqualTo(1), $"P = {p}: step {k} changes exactly one resident matrix");
                    }
                }
                Assert.That(BucketOrder.Loads(p, 1), Is.EqualTo(p == 1 ? 2 : p * p + 1), $"P = {p}: two first loads, then one per bucket");
                Assert.That(BucketOrder.Loads(p, 3), Is.EqualTo(p == 1 ? 2 : p * p + 1 + 2 * (p * p - 1)), $"P = {p}: an episode starts where the previous ended");
            }
            Assert.That(BucketOrder.CoversEachOnce(new[] { (0, 0), (0, 1), (1, 1), (1, 1) }, 2), Is.False, "a repeated bucket is caught");
        }

        [Test]
        public void TwoPartitionsKeepPlantedCommunitiesApart()
        {
            var edges = Communities(4, 25, seed: 2);
            var transformer = Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = Path.Combine(Root, "p2") }), edges);
            var table = transformer.SourceEmbeddings;
            Assert.That(table.IsMemoryMapped, Is.True, "the result is served from the partition directory");
            Assert.That(table.Count, Is.EqualTo(100));
            Assert.That(transformer.Summary!.Partitioned, Is.Not.Null);
            Assert.That(transformer.Summary.Partitioned!.Partitions, Is.EqualTo(2));
            // 100 nodes x 8 walks: 4 work items of up to 256 walks, so the default minimum of 8 episodes gives 4 (one per item).
            Assert.That(transformer.Summary.Partitioned.EpisodesPerEpoch, Is.EqualTo(4), "as many episodes as work items, below the minimum of 8");
            Assert.That(transformer.Summary.Partitioned.BucketsTrained, Is.EqualTo(2 * 4 * 4), "2 epochs x 4 episodes x 4 buckets");
            double purity = Purity(table, 25);
            Assert.That(purity, Is.GreaterThan(0.9), $"community purity {purity:F3} (chance 0.25)");

            // Nodes of one community are much closer to each other than to the others, across partitions too.
            double inside = 0, across = 0;
            int insideCount = 0, acrossCount = 0;
            for (int a = 0; a < 100; a += 3)
            {
                for (int b = a + 1; b < 100; b += 2)
                {
                    float s = table.Similarity(a.ToString(), b.ToString());
                    if (a / 25 == b / 25)
                    {
                        inside += s;
                        insideCount++;
                    }
                    else
                    {
                        across += s;
                        acrossCount++;
                    }
                }
            }
            Assert.That(inside / insideCount - across / acrossCount, Is.GreaterThan(0.4), $"mean cosine inside {inside / insideCount:F3}, across {across / acrossCount:F3}");
            Assert.That(transformer.ContextEmbeddings, Is.Not.Null);
            Assert.That(transformer.ContextEmbeddings!.Keys, Is.EqualTo(table.Keys));
        }

        [Test]
        public void OnePartitionTrainsAsWellAsInMemory()
        {
            var edges = Communities(5, 20, seed: 3);
            var inMemory = Fit(Options(null), edges).SourceEmbeddings;
            var partitioned = Fit(Options(new PartitionedTrainingOptions { Partitions = 1, Directory = Path.Combine(Root, "p1") }), edges).SourceEmbeddings;
            Assert.That(partitioned.Keys.OrderBy(k => k, StringComparer.Ordinal), Is.EqualTo(inMemory.Keys.OrderBy(k => k, StringComparer.Ordinal)));
            double a = Purity(inMemory, 20), b = Purity(partitioned, 20);
            Assert.That(a, Is.GreaterThan(0.85));
            Assert.That(b, Is.GreaterThan(a - 0.05), $"purity in memory {a:F3}, one partition {b:F3}");
            double aucMemory = LinkAuc(inMemory, edges), aucPartitioned = LinkAuc(partitioned, edges);
            Assert.That(aucPartitioned, Is.GreaterThan(aucMemory - 0.03), $"edge-vs-random AUC in memory {aucMemory:F3}, one partition {aucPartitioned:F3}");
        }

        /// <summary>AUC of dot products: the graph's edges against as many random node pairs that are not edges.</summary>
        private static double LinkAuc(EmbeddingTable table, List<(int Source, int Target)> edges)
        {
            var set = new HashSet<(int, int)>(edges.Select(e => (Math.Min(e.Source, e.Target), Math.Max(e.Source, e.Target))));
            var random = new Random(9);
            var nodes = table.Keys.Select(int.Parse).ToArray();
            var negatives = new List<(int, int)>();
            while (negatives.Count < edges.Count)
            {
                int a = nodes[random.Next(nodes.Length)], b = nodes[random.Next(nodes.Length)];
                if (a != b && !set.Contains((Math.Min(a, b), Math.Max(a, b))))
                    negatives.Add((a, b));
            }
            float Score((int A, int B) e) => Kernels.VectorMath.Dot(table.GetVector(e.A.ToString()), table.GetVector(e.B.ToString()));
            var pos = edges.Select(e => Score(e)).ToArray();
            var neg = negatives.Select(Score).ToArray();
            Array.Sort(neg);
            double wins = 0;
            foreach (float s in pos)
            {
                int below = Array.BinarySearch(neg, s);
                int lo = below >= 0 ? below : ~below;
                while (lo > 0 && neg[lo - 1] >= s)
                    lo--;
                int hi = lo;
                while (hi < neg.Length && neg[hi] == s)
                    hi++;
                wins += lo + 0.5 * (hi - lo);
            }
            return wins / ((double)pos.Length * neg.Length);
        }

        [Test]
        public void ACrashedRunResumesTrainsEveryBucketOnceAndMatchesAnUninterruptedRun()
        {
            var edges = Communities(4, 25, seed: 4);
            // Small episodes: 3 or more episodes per epoch, so the crash falls in the middle of the run.
            PartitionedTrainingOptions Partitioning(string name) => new() { Partitions = 3, Directory = Path.Combine(Root, name), EpisodeBytes = 1 << 20 };
            DeepWalkEstimator.Options Settings(string name)
            {
                var options = Options(Partitioning(name));
                options.WalksPerNode = 40;
                return options;
            }
            var reference = Fit(Settings("whole"), edges);
            int total = 2 * reference.Summary!.Partitioned!.EpisodesPerEpoch * 9;
            Assert.That(reference.Summary.Partitioned.EpisodesPerEpoch, Is.GreaterThanOrEqualTo(2));
            Assert.That(reference.Summary.Partitioned.BucketsTrained, Is.EqualTo(total));

            int committed = 0;
            PartitionedTraining.BucketCommitted = _ =>
            {
                if (++committed == total / 2 + 1)
                    throw new SimulatedCrash();
            };
            Assert.Throws<SimulatedCrash>(() => Fit(Settings("crashed"), edges));
            PartitionedTraining.BucketCommitted = null;

            var resumed = Fit(Settings("crashed"), edges);
            var summary = resumed.Summary!.Partitioned!;
            Assert.That(summary.BucketsDoneBefore, Is.EqualTo(total / 2 + 1));
            Assert.That(summary.BucketsTrained, Is.EqualTo(total - (total / 2 + 1)));
            Assert.That(summary.Attempts, Is.EqualTo(2));

            var manifest = new PartitionDirectory(Path.Combine(Root, "crashed")).ReadManifest("test")!;
            var trained = manifest.Completed.Select(c => (c.Epoch, c.Episode, c.Input, c.Output)).ToList();
            Assert.That(trained.Distinct().Count(), Is.EqualTo(trained.Count), "no bucket trained twice");
            Assert.That(trained.Count, Is.EqualTo(total), "every bucket trained");
            Assert.That(manifest.Completed.Count(c => c.Attempt == 1), Is.EqualTo(total / 2 + 1));

            // One thread: the resumed run is the uninterrupted run, bit for bit.
            var a = reference.SourceEmbeddings;
            var b = resumed.SourceEmbeddings;
            Assert.That(b.Keys, Is.EqualTo(a.Keys));
            for (int r = 0; r < a.Count; r++)
                Assert.That(b.Row(r).ToArray(), Is.EqualTo(a.Row(r).ToArray()), $"row {r}");

            // A finished directory gives its result again without training.
            var again = Fit(Settings("crashed"), edges);
            Assert.That(again.Summary!.Partitioned!.BucketsTrained, Is.Zero);
            Assert.That(again.SourceEmbeddings.Row(7).ToArray(), Is.EqualTo(a.Row(7).ToArray()));
        }

        private sealed class SimulatedCrash : Exception
        {
        }

        [Test]
        public void TheBudgetChoosesPartitionedModeOnlyWhenTheModelExceedsIt()
        {
            var edges = Communities(4, 25, seed: 6);
            // 100 nodes x 16 dimensions x 2 matrices x 4 bytes = 12.8 kB: a 1 MiB budget holds it, so training stays in memory.
            var roomy = Fit(Options(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = 1 << 20, Directory = Path.Combine(Root, "roomy") }), edges);
            Assert.That(roomy.Summary!.Partitioned, Is.Null);
            Assert.That(roomy.SourceEmbeddings.IsMemoryMapped, Is.False);
            Assert.That(Directory.Exists(Path.Combine(Root, "roomy")), Is.False);

            // A model larger than the budget: the fewest partitions whose resident memory fits are chosen.
            foreach (int target in new[] { 2, 4, 9 })
            {
                long budget = PartitionedTraining.ResidentBytes(100_000, target, 128, 1);
                int chosen = PartitionedTraining.Choose(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = budget, Directory = "x" }, 100_000, 128, 1, "T")!.Value;
                Assert.That(chosen, Is.EqualTo(target), $"budget of {target} partitions");
                Assert.That(PartitionedTraining.ResidentBytes(100_000, chosen - 1, 128, 1), Is.GreaterThan(budget));
                int tighter = PartitionedTraining.Choose(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = budget - 1, Directory = "x" }, 100_000, 128, 1, "T")!.Value;
                Assert.That(tighter, Is.GreaterThan(target), "one byte less needs more partitions");
            }
            Assert.That(PartitionedTraining.Choose(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = 2L * 100_000 * 128 * 4, Directory = "x" }, 100_000, 128, 1, "T"), Is.Null, "the in-memory model fits exactly");

            // End to end: 400 nodes of dimension 8,192 take 26 MB in memory, more than the budget of 4 partitions.
            int dimension = 8192;
            long tight = PartitionedTraining.ResidentBytes(400, 4, dimension, 1);
            Assert.That(tight, Is.LessThan(2L * 400 * dimension * 4));
            var options = Options(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = tight, Directory = Path.Combine(Root, "tight") });
            options.EmbeddingDimension = dimension;
            options.Epochs = 1;
            options.WalksPerNode = 2;
            options.WalkLength = 10;
            var result = Fit(options, Communities(4, 100, seed: 6));
            Assert.That(result.Summary!.Partitioned, Is.Not.Null, "the model exceeds the budget: partitioned mode is chosen");
            Assert.That(result.Summary.Partitioned!.Partitions, Is.InRange(2, 4));
            Assert.That(result.Summary.Partitioned.ResidentModelBytes, Is.LessThanOrEqualTo(tight));
            Assert.That(result.SourceEmbeddings.IsMemoryMapped, Is.True);
        }

        [Test]
        public void BadOptionsFailWithTheOptionAndTheFix()
        {
            var ml = new MLContext(seed: 1);
            string dir = Path.Combine(Root, "d");
            var neither = Assert.Throws<ArgumentException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { Directory = dir })));
            Assert.That(neither!.Message, Does.Contain("Partitions").And.Contain("ModelMemoryBudgetBytes"));
            var zero = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { Partitions = 0, Directory = dir })));
            Assert.That(zero!.Message, Does.Contain("Partitions = 0").And.Contain("1 to 64"));
            var tooMany = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { Partitions = 65, Directory = dir })));
            Assert.That(tooMany!.Message, Does.Contain("65"));
            var noDirectory = Assert.Throws<ArgumentException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { Partitions = 2 })));
            Assert.That(noDirectory!.Message, Does.Contain("Directory"));
            var tinyBudget = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = 1000, Directory = dir })));
            Assert.That(tinyBudget!.Message, Does.Contain("1 MiB"));
            var smallEpisodes = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir, EpisodeBytes = 10 })));
            Assert.That(smallEpisodes!.Message, Does.Contain("EpisodeBytes"));
            var noEpisodes = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().DeepWalk(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir, MinimumEpisodesPerEpoch = 0 })));
            Assert.That(noEpisodes!.Message, Does.Contain("Partitioning.MinimumEpisodesPerEpoch = 0 is out of range; use 1 to 1024 (default 8)."));
            var bipartite = Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir });
            bipartite.Bipartite = true;
            bipartite.KeepContextVectors = false;
            Assert.That(Assert.Throws<NotSupportedException>(() => ml.Embeddings().DeepWalk(bipartite))!.Message, Does.Contain("Bipartite"));

            // A fixed number of partitions the budget cannot hold: the message names a number that fits.
            var overBudget = Options(new PartitionedTrainingOptions { Partitions = 1, ModelMemoryBudgetBytes = PartitionedTraining.ResidentBytes(400, 2, 8192, 1), Directory = dir });
            overBudget.EmbeddingDimension = 8192;
            var error = Assert.Throws<InvalidOperationException>(() => Fit(overBudget, Communities(4, 100, 1)));
            Assert.That(error!.Message, Does.Contain("Partitions = 1").And.Contain("ModelMemoryBudgetBytes").And.Contain("use Partitions = 2 or more"));

            // More partitions than nodes with vectors.
            var fewNodes = Assert.Throws<InvalidOperationException>(() => Fit(Options(new PartitionedTrainingOptions { Partitions = 64, Directory = Path.Combine(Root, "few") }), new[] { (0, 1), (1, 2) }));
            Assert.That(fewNodes!.Message, Does.Contain("Partitions = 64").And.Contain("3 nodes"));
        }

        [Test]
        public void ForeignMismatchedAndDamagedDirectoriesAreRefusedWithAClearMessage()
        {
            var edges = Communities(3, 20, seed: 7);
            string foreign = Path.Combine(Root, "foreign");
            Directory.CreateDirectory(foreign);
            File.WriteAllText(Path.Combine(foreign, "notes.txt"), "mine");
            var notRun = Assert.Throws<InvalidOperationException>(() => Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = foreign }), edges));
            Assert.That(notRun!.Message, Does.Contain("not empty").And.Contain("notes.txt"));

            // A run killed before its first manifest left only its own files: it starts again.
            string early = Path.Combine(Root, "early");
            Directory.CreateDirectory(early);
            File.WriteAllText(Path.Combine(early, "vocabulary.bin"), "partial");
            File.WriteAllText(Path.Combine(early, "in-0.0.bin"), "partial");
            File.WriteAllText(Path.Combine(early, ".in-1.0.bin.embeddings-tmp-1-0123456789abcdef0123456789abcdef"), "partial");
            var restarted = Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = early }), edges);
            Assert.That(restarted.Summary!.Partitioned!.BucketsDoneBefore, Is.Zero);
            Assert.That(Directory.GetFiles(early, "in-*"), Is.Empty, "a finished run keeps only its result tables and manifest");
            Assert.That(Directory.GetFiles(early).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal),
                Is.EqualTo(new[] { "context.embt", "manifest.json", "vectors.embt", "vocabulary.bin" }));

            // A crashed run, resumed with another dimension and another seed: both settings are named.
            string dir = Path.Combine(Root, "run");
            PartitionedTraining.BucketCommitted = c => throw new SimulatedCrash();
            Assert.Throws<SimulatedCrash>(() => Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir }), edges));
            PartitionedTraining.BucketCommitted = null;
            var other = Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir }, seed: 6);
            other.EmbeddingDimension = 8;
            var mismatch = Assert.Throws<InvalidOperationException>(() => Fit(other, edges));
            Assert.That(mismatch!.Message, Does.Contain("EmbeddingDimension = 16 in the folder's run, 8 now").And.Contain("Seed = 5 in the folder's run, 6 now"));
            var otherGraph = Assert.Throws<InvalidOperationException>(() => Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir }), edges.Skip(1)));
            Assert.That(otherGraph!.Message, Does.Contain("the graph"));

            // A truncated partition file.
            var manifest = new PartitionDirectory(dir).ReadManifest("test")!;
            string matrix = new PartitionDirectory(dir).MatrixFile(false, 0, manifest.InputVersions[0]);
            using (var stream = new FileStream(matrix, FileMode.Open))
                stream.SetLength(stream.Length - 4);
            var damaged = Assert.Throws<InvalidOperationException>(() => Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir }), edges));
            Assert.That(damaged!.Message, Does.Contain("damaged").And.Contain(Path.GetFileName(matrix)).And.Contain("input partition 0"));

            // A damaged manifest.
            File.WriteAllText(Path.Combine(dir, "manifest.json"), "{ not json");
            var badManifest = Assert.Throws<InvalidOperationException>(() => Fit(Options(new PartitionedTrainingOptions { Partitions = 2, Directory = dir }), edges));
            Assert.That(badManifest!.Message, Does.Contain("manifest").And.Contain("damaged"));
        }

        [Test]
        public void StartOrderIsAPermutation()
        {
            foreach (int n in new[] { 1, 2, 3, 17, 1000, 4097 })
            {
                var order = new PartitionedGraphTraining.StartOrder(n, 42);
                var seen = Enumerable.Range(0, n).Select(i => order[i]).ToArray();
                Assert.That(seen.OrderBy(v => v), Is.EqualTo(Enumerable.Range(0, n)), $"n = {n}");
                if (n >= 1000)
                    Assert.That(seen.Take(20), Is.Not.EqualTo(Enumerable.Range(0, 20)), "shuffled");
            }
        }
    }
}
