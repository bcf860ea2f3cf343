using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Cluster.Storage;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>item2vec jobs (<see cref="Item2VecClusterJob"/>) on an in-process cluster of three silos, against the single-machine partitioned trainer.</summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class Item2VecClusterJobTests : ThreeSiloFixture
    {
        private sealed class Interaction
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";

            public float Time { get; set; }
        }

        /// <summary>
        /// 400 users, each of one of 6 tastes; a taste has 12 items, and a user's 40 interactions are drawn from the
        /// taste's items (one in five from any item): items of a taste share their contexts.
        /// </summary>
        private static (IDataView Data, Dictionary<string, int> Taste) Planted(MLContext ml)
        {
            const int tastes = 6, size = 12;
            var random = new Random(23);
            var rows = new List<Interaction>();
            for (int u = 0; u < 400; u++)
            {
                int own = u % tastes;
                for (int t = 0; t < 40; t++)
                {
                    int item = random.Next(5) == 0 ? random.Next(tastes * size) : own * size + random.Next(size);
                    rows.Add(new Interaction { User = "u" + u, Item = "i" + item, Time = t });
                }
            }
            var taste = Enumerable.Range(0, tastes * size).ToDictionary(i => "i" + i, i => i / size);
            return (ml.Data.LoadFromEnumerable(rows), taste);
        }

        private static Item2VecEstimator.Options Options(PartitionedTrainingOptions? partitioning, int seed = 7)
        {
            var o = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item", TimestampColumnName = "Time" };
            o.SkipGram.EmbeddingDimension = 16;
            o.SkipGram.Epochs = 2;
            o.SkipGram.Seed = seed;
            o.SkipGram.NumberOfThreads = 1;
            o.SkipGram.Partitioning = partitioning;
            return o;
        }

        [Test]
        public async Task OnePartitionEqualsTheSingleMachinePartitionedTrainerBitForBit()
        {
            // With P = 1 the bucket orders coincide: the same corpus shards, episodes, pairs (written by the workers'
            // pair tasks), initial rows, schedule and kernel, so the item vectors are identical, key by key.
            var ml = new MLContext(seed: 1);
            var (data, _) = Planted(ml);
            string folder = NewFolder();
            var single = ml.Embeddings().Item2Vec(Options(new PartitionedTrainingOptions { Partitions = 1, Directory = folder, EpisodeBytes = 1 << 20, MinimumEpisodesPerEpoch = 3 })).Fit(data);
            var job = new Item2VecClusterJobOptions { JobId = "item2vec-p1", Partitions = 1, EpisodeBytes = 1 << 20, MinimumEpisodesPerEpoch = 3, LeaseTimeout = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(25) };
            var result = await Item2VecClusterJob.TrainAsync(Cluster.Cluster.Client, Cluster.Store, ml, data, Options(null), job);
            var spec = ClusterJob.ReadSpec(Cluster.Store, "item2vec-p1");
            Assert.That(spec.Episodes, Is.EqualTo(2), "16,000 tokens make two shards of whole sequences (about 10,000 tokens each): two episodes (user ranges) per epoch");
            Assert.That(result.Status.DoneTasks, Is.EqualTo(4), "one pair task per epoch and episode");
            var items = result.Model.ItemEmbeddings;
            Assert.That(items.Keys, Is.EqualTo(single.ItemEmbeddings.Keys).AsCollection, "same vocabulary, most frequent first");
            for (int row = 0; row < items.Count; row++)
                Assert.That(items.Row(row).ToArray(), Is.EqualTo(single.ItemEmbeddings.Row(row).ToArray()).AsCollection, $"item {items.Keys[row]}");
            Assert.That(result.Model.UserEmbeddings.Count, Is.EqualTo(400), "every user gets a pooled vector");
            Assert.That(result.Model.UserEmbeddings.Row(result.Model.UserEmbeddings.IndexOf("u5")).ToArray(),
                Is.EqualTo(single.UserEmbeddings.Row(single.UserEmbeddings.IndexOf("u5")).ToArray()).AsCollection, "users are pooled as on one machine");
        }

        [Test]
        public async Task ThreePartitionsRecoverTheTastesAndEqualTheInProcessRun()
        {
            var ml = new MLContext(seed: 1);
            var (data, taste) = Planted(ml);
            var options = Options(null, seed: 3);
            options.SkipGram.Epochs = 5;
            var job = new Item2VecClusterJobOptions { JobId = "item2vec-p3", Partitions = 3, EpisodeBytes = 1 << 20, MinimumEpisodesPerEpoch = 2, PairTaskWindow = 1, LeaseTimeout = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(25) };
            // The reference is prepared in a folder of its own: the silos' workers start any job in their storage.
            string offlineFolder = NewFolder();
            var offline = new DirectoryPartitionStore(offlineFolder);
            Item2VecClusterJob.Prepare(offline, ml, data, options, job);
            var reference = ClusterJob.TrainInProcess(offline, "item2vec-p3");
            var result = await Item2VecClusterJob.TrainAsync(Cluster.Cluster.Client, Cluster.Store, ml, data, options, job);
            Assert.That(result.Status.Finished, Is.True);
            var trained = ClusterJob.ReadVectors(Cluster.Store, "item2vec-p3");
            Assert.That(trained.Input, Is.EqualTo(reference.Input).AsCollection, "equal to the in-process run bit for bit");

            var items = result.Model.ItemEmbeddings;
            int same = 0;
            for (int row = 0; row < items.Count; row++)
            {
                var a = items.Row(row);
                int best = -1;
                float bestCosine = float.NegativeInfinity;
                for (int other = 0; other < items.Count; other++)
                {
                    if (other == row)
                        continue;
                    var b = items.Row(other);
                    float cosine = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a, b);
                    if (cosine > bestCosine)
                    {
                        bestCosine = cosine;
                        best = other;
                    }
                }
                same += taste[items.Keys[row]] == taste[items.Keys[best]] ? 1 : 0;
            }
            double purity = same / (double)items.Count;
            TestContext.Out.WriteLine($"nearest item of the same taste: {purity:F3} (chance {11.0 / 71:F3})");
            Assert.That(purity, Is.GreaterThan(0.9), "the planted tastes are recovered");
            string tasks = System.IO.Path.Combine(Cluster.Root, "item2vec-p3", "tasks");
            Assert.That(!System.IO.Directory.Exists(tasks) || !System.IO.Directory.EnumerateFileSystemEntries(tasks).Any(), Is.True, "every episode's pairs were deleted once trained");
        }

        [Test]
        public void SettingsTheClusterDoesNotTakeAreRefusedByName()
        {
            var ml = new MLContext(seed: 1);
            var (data, _) = Planted(ml);
            var store = Cluster.Store;
            var job = new Item2VecClusterJobOptions { JobId = "item2vec-refused", Partitions = 2 };
            var cbow = Options(null);
            cbow.SkipGram.Model = SkipGramModel.Cbow;
            Assert.That(() => Item2VecClusterJob.Prepare(store, ml, data, cbow, job), Throws.TypeOf<NotSupportedException>().With.Message.Contains("Model = Cbow"));
            var exponent = Options(null);
            exponent.SkipGram.NegativeSamplingExponent = 0.5;
            Assert.That(() => Item2VecClusterJob.Prepare(store, ml, data, exponent, job), Throws.TypeOf<NotSupportedException>().With.Message.Contains("NegativeSamplingExponent = 0.5"));
            Assert.That(() => Item2VecClusterJob.Prepare(store, ml, data, Options(new PartitionedTrainingOptions { Partitions = 2, Directory = "x" }), job),
                Throws.TypeOf<NotSupportedException>().With.Message.Contains("SkipGram.Partitioning"));
            Assert.That(() => Item2VecClusterJob.Prepare(store, ml, data, Options(null), job with { PairTaskWindow = 0 }),
                Throws.InstanceOf<ArgumentOutOfRangeException>().With.Message.Contains("PairTaskWindow = 0"));
            var missing = Options(null);
            missing.ItemColumnName = "Movie";
            Assert.That(() => Item2VecClusterJob.Prepare(store, ml, data, missing, job), Throws.InstanceOf<ArgumentException>().With.Message.Contains("Movie"));
            Assert.That(store.ListJobs(), Does.Not.Contain("item2vec-refused"), "nothing was written");
        }
    }
}
