using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Cluster.Storage;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>node2vec jobs (<see cref="GraphClusterJob"/>) on an in-process cluster of three silos, against the single-machine partitioned trainer.</summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class GraphClusterJobTests : ThreeSiloFixture
    {
        /// <summary>12 communities of 20 nodes; each node linked to 3 random nodes of its community and 2 of others (hard enough that the purity is below 1).</summary>
        private static (Dictionary<string, int> Community, List<(int, int)> Edges) Planted()
        {
            const int communities = 12, size = 20;
            var random = new Random(17);
            var edges = new List<(int, int)>();
            for (int v = 0; v < communities * size; v++)
            {
                int c = v / size;
                for (int k = 0; k < 3; k++)
                {
                    int u = c * size + random.Next(size - 1);
                    edges.Add((v, u >= v ? u + 1 : u));
                }
                for (int k = 0; k < 2; k++)
                {
                    int w = random.Next(communities * size - size);
                    edges.Add((v, w >= c * size ? w + size : w));
                }
            }
            var community = Enumerable.Range(0, communities * size).ToDictionary(v => "n" + v, v => v / size);
            return (community, edges);
        }

        private static Node2VecEstimator.Options Options(PartitionedTrainingOptions? partitioning, int seed = 5)
        {
            var o = new Node2VecEstimator.Options
            {
                SourceColumnName = "source",
                TargetColumnName = "target",
                EmbeddingDimension = 16,
                WalksPerNode = 20,
                WalkLength = 20,
                WindowSize = 5,
                Epochs = 1,
                LearningRate = 0.05f,
                ReturnParameter = 0.5,
                InOutParameter = 2,
                Seed = seed,
                NumberOfThreads = 1,
                Partitioning = partitioning,
            };
            o.OutputColumns.Add(("vector", "source"));
            return o;
        }

        private EmbeddingTable SingleMachine(List<(int, int)> edges, int partitions, int seed = 5)
        {
            string folder = NewFolder();
            var ml = new MLContext(seed: 1);
            // 4 MiB episodes and no minimum count: the walks' estimated 576,000 pairs make two episodes.
            var options = Options(new PartitionedTrainingOptions { Partitions = partitions, Directory = folder, EpisodeBytes = 4 << 20, MinimumEpisodesPerEpoch = 1 }, seed);
            return ml.Embeddings().Node2Vec(options).Fit(w => Write(w, edges)).SourceEmbeddings;
        }

        private async Task<GraphClusterResult> OnTheCluster(List<(int, int)> edges, int partitions, string jobId, int seed = 5) =>
            await GraphClusterJob.TrainAsync(Cluster.Cluster.Client, Cluster.Store, w => Write(w, edges), Options(null, seed),
                new GraphClusterJobOptions { JobId = jobId, Partitions = partitions, EpisodeBytes = 4 << 20, MinimumEpisodesPerEpoch = 1, LeaseTimeout = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(25) });

        private static void Write(IEdgeWriter writer, List<(int, int)> edges)
        {
            foreach (var (a, b) in edges)
                writer.AddEdge("n" + a, "n" + b, 1);
        }

        [Test]
        public async Task OnePartitionEqualsTheSingleMachinePartitionedTrainerBitForBit()
        {
            // With P = 1 the bucket orders coincide (one bucket per episode): same walks, pairs, initial rows, chunk
            // streams, schedule and kernel, so the vectors are identical, key by key.
            var (_, edges) = Planted();
            var reference = SingleMachine(edges, partitions: 1);
            var result = await OnTheCluster(edges, partitions: 1, "node2vec-p1");
            Assert.That(result.Status.Finished, Is.True);
            Assert.That(ClusterJob.ReadSpec(Cluster.Store, "node2vec-p1").Episodes, Is.EqualTo(2), "two episodes");
            Assert.That(result.Status.TotalBuckets, Is.EqualTo(2), "of one bucket each");
            Assert.That(result.Vectors.Keys, Is.EqualTo(reference.Keys).AsCollection, "same vocabulary, most visited first");
            for (int row = 0; row < reference.Count; row++)
                Assert.That(result.Vectors.Row(row).ToArray(), Is.EqualTo(reference.Row(row).ToArray()).AsCollection, $"node {reference.Keys[row]}");
        }

        [Test]
        public async Task ThreePartitionsRecoverTheCommunitiesAsWellAsTheSingleMachineTrainer()
        {
            // The cluster trains the buckets of an episode in a diagonal order (P disjoint buckets per round, so P
            // workers can train at once), the single-machine trainer in a snake order: the results differ, but not in
            // quality once there is enough training (with 5 walks per node instead of 20 the diagonal order fell
            // behind: docs/cluster.md). Mean over three seeds.
            var (community, edges) = Planted();
            double cluster = 0, single = 0;
            for (int seed = 1; seed <= 3; seed++)
            {
                var reference = SingleMachine(edges, partitions: 3, seed);
                var result = await OnTheCluster(edges, partitions: 3, "node2vec-p3-s" + seed, seed);
                Assert.That(result.Status.DoneBuckets, Is.EqualTo(2 * 9), "two episodes of 3 x 3 buckets");
                Assert.That(result.Vectors.Count, Is.EqualTo(community.Count));
                double c = Purity(result.Vectors, community), s = Purity(reference, community);
                TestContext.Out.WriteLine($"seed {seed}: nearest neighbour in the same community: cluster {c:F3}, single machine {s:F3} (chance {19.0 / 239:F3}); mean loss per pair {result.Status.LossSum / result.Status.Pairs:F4}");
                cluster += c / 3;
                single += s / 3;
            }
            Assert.That(single, Is.GreaterThan(0.85), "the reference recovers the communities");
            Assert.That(cluster, Is.EqualTo(single).Within(0.03), "the cluster runs recover them as well, within 0.03 on average");

            // The tables are the job's vectors in item order, keyed by node; the context vectors on request.
            var raw = ClusterJob.ReadVectors(Cluster.Store, "node2vec-p3-s3");
            var (vectors, context) = GraphClusterJob.ReadTables(Cluster.Store, "node2vec-p3-s3", context: true);
            Assert.That(vectors.Count, Is.EqualTo(raw.Items));
            Assert.That(vectors.Row(7).ToArray(), Is.EqualTo(raw.InputRow(7).ToArray()).AsCollection);
            Assert.That(context, Is.Not.Null);
            Assert.That(context!.Keys, Is.EqualTo(vectors.Keys).AsCollection);
            Assert.That(context.Row(7).ToArray(), Is.EqualTo(raw.Output.AsSpan(7 * raw.Dimension, raw.Dimension).ToArray()).AsCollection);
        }

        [TestCase(GraphPairGeneration.Submitter)]
        [TestCase(GraphPairGeneration.Workers)]
        public void PairFilesAreTheSameWhateverTheNumberOfWalkThreads(GraphPairGeneration generation)
        {
            // Each work item (256 walks) gathers its pairs and appends them in item order, so the pair files, the item
            // counts and the fingerprint are a function of the graph, the options and the seed. 4,800 walks make 19
            // work items in two episodes, enough for four threads to overtake one another. With the workers writing
            // the pairs, the submitter's files (graph, vocabulary from the counting pass, settings) are compared.
            var (_, edges) = Planted();
            var job = new GraphClusterJobOptions { JobId = "threads", Partitions = 3, EpisodeBytes = 4 << 20, MinimumEpisodesPerEpoch = 1, PairGeneration = generation };
            Dictionary<string, byte[]>? first = null;
            DirectoryPartitionStore? firstStore = null;
            foreach (int threads in new[] { 1, 2, 4 })
            {
                string folder = NewFolder();
                var store = new DirectoryPartitionStore(folder);
                var options = Options(null);
                options.NumberOfThreads = threads;
                GraphClusterJob.Prepare(store, w => Write(w, edges), options, job);
                var description = JobFiles.ReadDescription(store, "threads").Description;
                Assert.That(description.Spec.Episodes, Is.EqualTo(2), "two episodes");
                if (generation == GraphPairGeneration.Submitter)
                    Assert.That(description.EpisodePairs.Sum(), Is.GreaterThan(100_000), "pairs were written");
                else
                    Assert.That(description.Spec.Tasks, Is.EqualTo(2), "one pair task per episode");
                var files = System.IO.Directory.EnumerateFiles(folder, "*", System.IO.SearchOption.AllDirectories)
                    .ToDictionary(f => System.IO.Path.GetRelativePath(folder, f), System.IO.File.ReadAllBytes);
                Assert.That(files.Keys.Count(k => k.Contains("pairs", StringComparison.Ordinal) || k.EndsWith(".bin", StringComparison.Ordinal)), Is.GreaterThan(0), "the job's files were found");
                if (first is null)
                {
                    first = files;
                    firstStore = store;
                    continue;
                }
                Assert.That(files.Keys.OrderBy(k => k, StringComparer.Ordinal), Is.EqualTo(first.Keys.OrderBy(k => k, StringComparer.Ordinal)).AsCollection, $"{threads} threads: the same files");
                foreach (var (name, bytes) in first)
                    Assert.That(files[name].AsSpan().SequenceEqual(bytes), Is.True, $"{threads} threads: {name} equal byte for byte to one thread's");
            }

            // The same command given again with another thread count finds the job (nothing written, no refusal).
            var again = Options(null);
            again.NumberOfThreads = 4;
            var spec = GraphClusterJob.Prepare(firstStore!, w => Write(w, edges), again, job);
            Assert.That(spec.JobId, Is.EqualTo("threads"));
            Assert.That(JobFiles.ReadDescription(firstStore!, "threads").Bytes.AsSpan().SequenceEqual(first!["threads" + System.IO.Path.DirectorySeparatorChar + "job.json"]), Is.True, "job.json unchanged");
        }

        [Test]
        public async Task WorkersWriteThePairsEpisodeByEpisodeWithinTheWindowAndDeleteThemWhenTrained()
        {
            // Two epochs of four episodes, window 1: the pair task of episode g may run only while every earlier episode
            // is finished, so the storage never holds two episodes' pairs; each finished episode's pairs are deleted.
            // The result equals, bit for bit, the job trained in one process (which runs the same pair tasks itself).
            var (community, edges) = Planted();
            var options = Options(null, seed: 3);
            options.Epochs = 2;
            var job = new GraphClusterJobOptions
            {
                JobId = "pair-window",
                Partitions = 3,
                EpisodeBytes = 2 << 20,
                MinimumEpisodesPerEpoch = 4,
                PairTaskWindow = 1,
                LeaseTimeout = TimeSpan.FromSeconds(5),
                PollInterval = TimeSpan.FromMilliseconds(25),
            };
            // The reference is prepared in a folder of its own: the silos' workers start any job in their storage.
            string offlineFolder = NewFolder();
            var offline = new DirectoryPartitionStore(offlineFolder);
            var spec = GraphClusterJob.Prepare(offline, w => Write(w, edges), options, job);
            Assert.That(spec.Episodes, Is.EqualTo(4), "2 MiB episodes of the walks' estimated 4.6 MB of pairs make 3: the minimum of 4 holds");
            Assert.That(spec.Tasks, Is.EqualTo(8), "one pair task per epoch and episode");
            var reference = ClusterJob.TrainInProcess(offline, "pair-window");
            var parallel = ClusterJob.TrainInProcess(offline, "pair-window", numberOfThreads: 3);
            Assert.That(parallel.Input, Is.EqualTo(reference.Input).AsCollection, "a round's buckets share no partition: trained in parallel, the same vectors");
            Assert.That(parallel.Output, Is.EqualTo(reference.Output).AsCollection);
            var result = await GraphClusterJob.TrainAsync(Cluster.Cluster.Client, Cluster.Store, w => Write(w, edges), options, job);
            Assert.That(result.Status.Finished, Is.True);
            Assert.That(result.Status.DoneTasks, Is.EqualTo(8));
            Assert.That(result.Status.DoneBuckets, Is.EqualTo(2 * 4 * 9));
            var trained = ClusterJob.ReadVectors(Cluster.Store, "pair-window");
            Assert.That(trained.Input, Is.EqualTo(reference.Input).AsCollection, "input vectors equal the in-process run bit for bit");
            Assert.That(trained.Output, Is.EqualTo(reference.Output).AsCollection, "output vectors too");
            Assert.That(Purity(result.Vectors, community), Is.GreaterThan(0.8), "the communities are recovered");

            // The window, replayed from the coordinator's log: when pair task g is leased, every episode before g is finished.
            var finishedBuckets = new int[spec.Tasks];
            int firstOpen = 0, pairLeases = 0;
            foreach (var e in Coordination.CoordinatorEvent.ReadLog(Cluster.Store, "pair-window"))
            {
                if (e.Kind == "leased" && e.Task >= 0)
                {
                    pairLeases++;
                    Assert.That(e.Task, Is.EqualTo(e.Epoch * spec.Episodes + e.Episode), "task g writes epoch g / Episodes, episode g mod Episodes");
                    Assert.That(e.Task, Is.LessThan(firstOpen + 1), $"pair task {e.Task} leased while episode {firstOpen} was not finished (window 1)");
                }
                else if (e.Kind == "leased" && e.Task < 0)
                {
                    Assert.That(e.Epoch * spec.Episodes + e.Episode, Is.LessThan(firstOpen + 1), "a bucket is leased only once its episode's pairs are written");
                }
                else if (e.Kind == "completed" && e.Task < 0)
                {
                    int g = e.Epoch * spec.Episodes + e.Episode;
                    if (++finishedBuckets[g] == 9)
                    {
                        while (firstOpen < spec.Tasks && finishedBuckets[firstOpen] == 9)
                            firstOpen++;
                    }
                }
            }
            Assert.That(pairLeases, Is.GreaterThanOrEqualTo(8));
            Assert.That(firstOpen, Is.EqualTo(8), "every episode finished");
            string tasks = System.IO.Path.Combine(Cluster.Root, "pair-window", "tasks");
            Assert.That(!System.IO.Directory.Exists(tasks) || !System.IO.Directory.EnumerateFileSystemEntries(tasks).Any(), Is.True, "every episode's pairs were deleted once trained");
        }

        [Test]
        public void SettingsTheClusterDoesNotTakeAreRefusedByName()
        {
            var (_, edges) = Planted();
            var store = Cluster.Store;
            var job = new GraphClusterJobOptions { JobId = "refused", Partitions = 2 };
            var partitioned = Options(new PartitionedTrainingOptions { Partitions = 2, Directory = "x" });
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), partitioned, job),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("GraphEmbeddingOptions.Partitioning").And.Message.Contains("GraphClusterJobOptions.Partitions"));
            var bipartite = Options(null);
            bipartite.Bipartite = true;
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), bipartite, job),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("Bipartite"));
            var progress = Options(null);
            progress.Progress = new Progress<SkipGramProgress>();
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), progress, job),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("IProgress<JobStatus>"));
            var negatives = Options(null);
            negatives.NegativeSampleCount = 100;
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), negatives, job),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("NegativeSampleCount = 100").And.Message.Contains("1 to 64"));
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), Options(null), job with { Partitions = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("GraphClusterJobOptions.Partitions = 0"));
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), Options(null), job with { JobId = "no/slash" }),
                Throws.InstanceOf<ArgumentException>().With.Message.Contains("JobId"));
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), Options(null), job with { Partitions = 500 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("use 1 to 64"));
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), Options(null), job with { PairTaskWindow = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("PairTaskWindow = 0").And.Message.Contains("1 to 64"));
            Assert.That(() => GraphClusterJob.Prepare(store, w => Write(w, edges), Options(null), job with { PairGeneration = (GraphPairGeneration)7 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("PairGeneration = 7"));
            Assert.That(store.ListJobs(), Does.Not.Contain("refused"), "nothing was written");
        }

        /// <summary>Fraction of nodes whose nearest other node (cosine) is in the same community.</summary>
        private static double Purity(EmbeddingTable table, Dictionary<string, int> community)
        {
            int agree = 0;
            for (int row = 0; row < table.Count; row++)
            {
                string key = table.Keys[row];
                var nearest = table.MostSimilar(key, 1);
                if (community[nearest[0].Key] == community[key])
                    agree++;
            }
            return agree / (double)table.Count;
        }
    }
}
