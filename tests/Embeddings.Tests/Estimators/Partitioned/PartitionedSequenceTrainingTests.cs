using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Partitioned;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Partitioned
{
    /// <summary>Partitioned skip-gram and item2vec over sequences (issue 15; docs/partitioned-training.md, "Sequences").</summary>
    [TestFixture]
    public class PartitionedSequenceTrainingTests : PartitionFolderFixture
    {
        protected override string FolderPrefix => "partitioned-sequence-tests-";

        /// <summary>
        /// Sequences of planted clusters with noise: each sequence belongs to one of <paramref name="clusters"/> clusters
        /// of <paramref name="size"/> items and draws each item from it with probability 0.8, else from any cluster.
        /// </summary>
        private static string[][] Noisy(int clusters, int size, int sequences, int seed, int minLength = 6, int maxLength = 14)
        {
            var random = new Random(seed);
            var rows = new string[sequences][];
            for (int s = 0; s < sequences; s++)
            {
                int cluster = random.Next(clusters);
                int length = random.Next(minLength, maxLength + 1);
                rows[s] = Enumerable.Range(0, length)
                    .Select(_ => PlantedSequences.Item(random.NextDouble() < 0.8 ? cluster : random.Next(clusters), random.Next(size)))
                    .ToArray();
            }
            return rows;
        }

        private static SkipGramEmbeddingEstimator.Options Options(PartitionedTrainingOptions? partitioning, int threads = 1, int seed = 5, bool whole = false) => new()
        {
            OutputColumnName = "Vector",
            InputColumnName = "Items",
            EmbeddingDimension = 16,
            WindowSize = 4,
            WholeSequenceContext = whole,
            MinCount = 1,
            Epochs = 4,
            SamplingThreshold = 0,
            NumberOfThreads = threads,
            Seed = seed,
            KeepContextVectors = true,
            Partitioning = partitioning,
        };

        private static SkipGramEmbeddingTransformer Fit(SkipGramEmbeddingEstimator.Options options, IEnumerable<string[]> sequences) =>
            new MLContext(seed: 1).Embeddings().SkipGram(options).Fit(sequences);

        private PartitionedTrainingOptions Folder(string name, int? partitions = 3, long episodeBytes = 4L << 30) =>
            new() { Partitions = partitions, Directory = Path.Combine(Root, name), EpisodeBytes = episodeBytes };

        private static void AssertSameVectors(EmbeddingTable a, EmbeddingTable b)
        {
            Assert.That(b.Keys, Is.EqualTo(a.Keys));
            for (int r = 0; r < a.Count; r++)
                Assert.That(b.Row(r).ToArray().Select(EstimatorConformance.Bits), Is.EqualTo(a.Row(r).ToArray().Select(EstimatorConformance.Bits)), $"row {r} ('{a.Keys[r]}')");
        }

        /// <summary>
        /// Random walks on a ring of <paramref name="items"/> items (steps of -2 to 2): the planted structure is graded,
        /// an item's true neighbours are the items a few steps away, so neighbour recall does not saturate as cluster purity does.
        /// </summary>
        private static string[][] RingWalks(int items, int sequences, int seed)
        {
            var random = new Random(seed);
            var rows = new string[sequences][];
            for (int s = 0; s < sequences; s++)
            {
                int at = random.Next(items);
                var row = new string[random.Next(10, 21)];
                for (int k = 0; k < row.Length; k++)
                {
                    row[k] = "r" + at.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    at = (at + random.Next(-2, 3) + items) % items;
                }
                rows[s] = row;
            }
            return rows;
        }

        /// <summary>Mean share of each item's 10 nearest neighbours (cosine) within 5 steps of it on the ring (10 such items exist).</summary>
        private static double RingRecall(EmbeddingTable table, int items) => table.Keys.Average(key =>
        {
            int a = int.Parse(key.AsSpan(1), provider: System.Globalization.CultureInfo.InvariantCulture);
            return table.MostSimilar(key, 10).Count(n =>
            {
                int d = Math.Abs(int.Parse(n.Key.AsSpan(1), provider: System.Globalization.CultureInfo.InvariantCulture) - a);
                return Math.Min(d, items - d) <= 5;
            }) / 10.0;
        });

        [Test]
        public void ThreePartitionsRecoverAPlantedRingNearlyAsWellAsInMemory()
        {
            var sequences = RingWalks(items: 300, sequences: 2000, seed: 2);
            var options = Options(null);
            options.Epochs = 3;
            var inMemory = Fit(options, sequences);
            options.Partitioning = Folder("p3");
            var partitioned = Fit(options, sequences);

            var table = partitioned.Embeddings;
            Assert.That(table.IsMemoryMapped, Is.True, "the result is served from the partition directory");
            Assert.That(inMemory.Embeddings.IsMemoryMapped, Is.False);
            Assert.That(table.Keys.OrderBy(k => k, StringComparer.Ordinal), Is.EqualTo(inMemory.Embeddings.Keys.OrderBy(k => k, StringComparer.Ordinal)));
            var run = partitioned.TrainingSummary.Partitioned;
            Assert.That(run, Is.Not.Null);
            Assert.That(inMemory.TrainingSummary.Partitioned, Is.Null);
            Assert.That(run!.Partitions, Is.EqualTo(3));
            Assert.That(run.BucketsTrained, Is.EqualTo(3 * run.EpisodesPerEpoch * 9), "epochs x episodes x P^2 buckets");
            Assert.That(partitioned.TrainingSummary.CorpusTokens, Is.EqualTo(inMemory.TrainingSummary.CorpusTokens));
            // Counts follow the result's (partition) order.
            for (int r = 0; r < table.Count; r += 17)
                Assert.That(partitioned.TrainingSummary.ItemCounts[r], Is.EqualTo(inMemory.TrainingSummary.ItemCounts[inMemory.Embeddings.IndexOf(table.Keys[r])]), table.Keys[r]);

            // Measured (seed 5, one thread): in memory 0.978, 3 partitions 0.946. Negatives drawn from the positive's
            // partition only cost a few points here, where a partition holds 100 items (docs/partitioned-training.md).
            double memory = RingRecall(inMemory.Embeddings, 300);
            double parts = RingRecall(table, 300);
            TestContext.Out.WriteLine($"ring neighbour recall@10: in memory {memory:F4}, 3 partitions {parts:F4} (chance 0.033)");
            Assert.That(memory, Is.GreaterThan(0.95), "the in-memory reference learns the ring");
            Assert.That(parts, Is.GreaterThan(0.92));
            Assert.That(parts, Is.GreaterThan(memory - 0.05), $"recall in memory {memory:F4}, 3 partitions {parts:F4}");

            // Context vectors: same keys and order; an item scores its ring neighbours' context vectors above far items'.
            var context = partitioned.ContextEmbeddings!;
            Assert.That(context.IsMemoryMapped, Is.True);
            Assert.That(context.Keys, Is.EqualTo(table.Keys));
            Assert.That(InOutAuc(table, context, 300), Is.GreaterThan(0.95));
        }

        /// <summary>AUC of input . context scores: item pairs at most 3 steps apart on the ring against pairs at least 20 apart.</summary>
        private static double InOutAuc(EmbeddingTable input, EmbeddingTable context, int items)
        {
            var near = new List<float>();
            var far = new List<float>();
            int Position(string key) => int.Parse(key.AsSpan(1), provider: System.Globalization.CultureInfo.InvariantCulture);
            for (int a = 0; a < input.Count; a++)
            {
                for (int b = 0; b < context.Count; b++)
                {
                    int d = Math.Abs(Position(input.Keys[a]) - Position(context.Keys[b]));
                    d = Math.Min(d, items - d);
                    if (d == 0 || (d > 3 && d < 20) || (d >= 20 && (a + b) % 7 != 0))
                        continue;
                    (d <= 3 ? near : far).Add(Kernels.VectorMath.Dot(input.Row(a), context.Row(b)));
                }
            }
            far.Sort();
            double wins = 0;
            foreach (float s in near)
            {
                int below = far.BinarySearch(s);
                wins += below >= 0 ? below : ~below;
            }
            return wins / ((double)near.Count * far.Count);
        }

        [Test]
        public void OnePartitionTrainsAsWellAsInMemory()
        {
            var sequences = RingWalks(items: 300, sequences: 2000, seed: 3);
            var options = Options(null);
            options.Epochs = 3;
            var inMemory = Fit(options, sequences);
            options.Partitioning = Folder("p1", partitions: 1);
            var one = Fit(options, sequences);
            Assert.That(one.TrainingSummary.Partitioned!.Partitions, Is.EqualTo(1));
            Assert.That(one.TrainingSummary.Partitioned.BucketsTrained, Is.EqualTo(3 * one.TrainingSummary.Partitioned.EpisodesPerEpoch));
            // One partition keeps the in-memory row order (most frequent first).
            Assert.That(one.Embeddings.Keys, Is.EqualTo(inMemory.Embeddings.Keys));
            double a = RingRecall(inMemory.Embeddings, 300), b = RingRecall(one.Embeddings, 300);
            TestContext.Out.WriteLine($"ring neighbour recall@10: in memory {a:F4}, one partition {b:F4}; loss {inMemory.TrainingSummary.FinalLoss:F4} vs {one.TrainingSummary.FinalLoss:F4}");
            Assert.That(a, Is.GreaterThan(0.95));
            Assert.That(b, Is.GreaterThan(a - 0.03), $"recall in memory {a:F4}, one partition {b:F4}");
            // One partition draws negatives from the whole vocabulary as in memory: the same objective reaches the same loss.
            Assert.That(one.TrainingSummary.FinalLoss, Is.EqualTo(inMemory.TrainingSummary.FinalLoss).Within(0.01));
        }

        [Test]
        public void PairsAreTheInMemoryTrainersContextsForWindowsAndWholeSequences()
        {
            // Without subsampling the pair count is fixed by the context definition: with window 1 (the dynamic window
            // can only be 1) every position pairs with its neighbours, 2 (n - 1) per sequence; with whole-sequence
            // context every ordered pair of positions, n (n - 1).
            var sequences = Noisy(clusters: 4, size: 10, sequences: 200, seed: 4, minLength: 2, maxLength: 9);
            long windowPairs = sequences.Sum(s => 2L * (s.Length - 1));
            long wholePairs = sequences.Sum(s => (long)s.Length * (s.Length - 1));

            var window = Options(Folder("window", partitions: 2));
            window.WindowSize = 1;
            window.Epochs = 3;
            var w = Fit(window, sequences).TrainingSummary.Partitioned!;
            Assert.That(w.PairsTrained, Is.EqualTo(3 * windowPairs));

            var whole = Options(Folder("whole", partitions: 2), whole: true);
            whole.Epochs = 3;
            var all = Fit(whole, sequences).TrainingSummary.Partitioned!;
            Assert.That(all.PairsTrained, Is.EqualTo(3 * wholePairs));
        }

        [Test]
        public void PartitionedItem2VecWithWholeSequenceContextLearnsThePlantedGroups()
        {
            // Users 0-59 consume items of group a, b or c (u % 3); item2vec's whole-sequence context.
            var random = new Random(7);
            var rows = new List<Interaction>();
            for (int u = 0; u < 150; u++)
            {
                string prefix = "abc"[u % 3].ToString();
                for (int t = 0; t < 12; t++)
                    rows.Add(new Interaction { User = u, Item = $"{prefix}{random.Next(20)}", Time = 1000 + t * 10 });
            }
            Item2VecEstimator.Options Settings(PartitionedTrainingOptions? partitioning)
            {
                var options = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item", TimestampColumnName = "Time", UserHistoryLength = 5 };
                options.SkipGram.EmbeddingDimension = 16;
                options.SkipGram.WholeSequenceContext = true;
                options.SkipGram.Epochs = 5;
                options.SkipGram.NumberOfThreads = 1;
                options.SkipGram.Seed = 2;
                options.SkipGram.SamplingThreshold = 0;
                options.SkipGram.Partitioning = partitioning;
                return options;
            }
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(rows);
            var inMemory = ml.Embeddings().Item2Vec(Settings(null)).Fit(data);
            var partitioned = ml.Embeddings().Item2Vec(Settings(Folder("item2vec", partitions: 2))).Fit(data);
            Assert.That(partitioned.ItemEmbeddings.IsMemoryMapped, Is.True);
            Assert.That(partitioned.TrainingSummary!.Partitioned!.Partitions, Is.EqualTo(2));
            long wholePairs = 150L * 12 * 11;
            Assert.That(partitioned.TrainingSummary.Partitioned.PairsTrained, Is.EqualTo(5 * wholePairs), "every ordered pair of each user's items, each epoch");

            double Purity(EmbeddingTable table) => table.Keys.Average(k => table.MostSimilar(k, 10).Count(n => n.Key[0] == k[0]) / 10.0);
            double a = Purity(inMemory.ItemEmbeddings), b = Purity(partitioned.ItemEmbeddings);
            TestContext.Out.WriteLine($"item2vec top-10 group purity: in memory {a:F4}, 2 partitions {b:F4} (chance 0.33)");
            Assert.That(a, Is.GreaterThan(0.9));
            Assert.That(b, Is.GreaterThan(a - 0.03));

            // User vectors come from the partitioned item vectors; a user is nearest its own group's items.
            var user = partitioned.UserEmbeddings.GetVector("4");
            var nearest = partitioned.ItemEmbeddings.MostSimilar(user, 5);
            Assert.That(nearest.Count(n => n.Key[0] == 'b'), Is.GreaterThanOrEqualTo(4), "user 4 (group b)");
            Assert.That(partitioned.ItemCounts.Count, Is.EqualTo(partitioned.ItemEmbeddings.Count));
        }

        public sealed class Interaction
        {
            public int User { get; set; }
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        [Test]
        public void ACrashedRunResumesTrainsEveryBucketOnceAndMatchesAnUninterruptedRun()
        {
            // About 80,000 tokens (8 shards) and 1 MiB episodes: several episodes per epoch, so the crash falls mid-run.
            var sequences = Noisy(clusters: 6, size: 40, sequences: 8000, seed: 5);
            SkipGramEmbeddingEstimator.Options Settings(string name)
            {
                var options = Options(Folder(name, partitions: 3, episodeBytes: 1 << 20));
                options.Epochs = 2;
                return options;
            }
            var reference = Fit(Settings("whole"), sequences);
            var first = reference.TrainingSummary.Partitioned!;
            int total = 2 * first.EpisodesPerEpoch * 9;
            Assert.That(first.EpisodesPerEpoch, Is.GreaterThanOrEqualTo(2));
            Assert.That(first.BucketsTrained, Is.EqualTo(total));

            int committed = 0;
            PartitionedTraining.BucketCommitted = _ =>
            {
                if (++committed == total / 2 + 1)
                    throw new SimulatedCrash();
            };
            Assert.Throws<SimulatedCrash>(() => Fit(Settings("crashed"), sequences));
            PartitionedTraining.BucketCommitted = null;

            var resumed = Fit(Settings("crashed"), sequences);
            var summary = resumed.TrainingSummary.Partitioned!;
            Assert.That(summary.BucketsDoneBefore, Is.EqualTo(total / 2 + 1));
            Assert.That(summary.BucketsTrained, Is.EqualTo(total - (total / 2 + 1)));
            Assert.That(summary.Attempts, Is.EqualTo(2));

            var manifest = new PartitionDirectory(Path.Combine(Root, "crashed")).ReadManifest("test")!;
            var trained = manifest.Completed.Select(c => (c.Epoch, c.Episode, c.Input, c.Output)).ToList();
            Assert.That(trained.Distinct().Count(), Is.EqualTo(trained.Count), "no bucket trained twice");
            Assert.That(trained.Count, Is.EqualTo(total), "every bucket trained");
            Assert.That(manifest.Completed.Count(c => c.Attempt == 1), Is.EqualTo(total / 2 + 1));

            // One thread: the resumed run is the uninterrupted run, bit for bit (input and context vectors).
            AssertSameVectors(reference.Embeddings, resumed.Embeddings);
            AssertSameVectors(reference.ContextEmbeddings!, resumed.ContextEmbeddings!);

            // A finished directory gives its result again without training.
            var again = Fit(Settings("crashed"), sequences);
            Assert.That(again.TrainingSummary.Partitioned!.BucketsTrained, Is.Zero);
            AssertSameVectors(reference.Embeddings, again.Embeddings);
        }

        private sealed class SimulatedCrash : Exception
        {
        }

        [Test]
        public void OneThreadIsRepeatableAndTheSeedMatters()
        {
            var sequences = Noisy(clusters: 4, size: 15, sequences: 600, seed: 6);
            var a = Fit(Options(Folder("a", partitions: 2)), sequences);
            var b = Fit(Options(Folder("b", partitions: 2)), sequences);
            AssertSameVectors(a.Embeddings, b.Embeddings);
            AssertSameVectors(a.ContextEmbeddings!, b.ContextEmbeddings!);
            var c = Fit(Options(Folder("c", partitions: 2), seed: 6), sequences);
            Assert.That(c.Embeddings.Row(0).ToArray(), Is.Not.EqualTo(a.Embeddings.Row(0).ToArray()), "another seed trains other vectors");

            // Two threads (Hogwild within a bucket) still learn the clusters.
            var two = Fit(Options(Folder("two", partitions: 2), threads: 2), sequences);
            Assert.That(PlantedSequences.NeighbourPurity(two.Embeddings, 5), Is.GreaterThan(0.8));
        }

        [Test]
        public void AnotherCorpusOrOtherSettingsAreRefusedWithTheDifferencesNamed()
        {
            var sequences = Noisy(clusters: 4, size: 15, sequences: 600, seed: 7);
            PartitionedTraining.BucketCommitted = _ => throw new SimulatedCrash();
            Assert.Throws<SimulatedCrash>(() => Fit(Options(Folder("run", partitions: 2)), sequences));
            PartitionedTraining.BucketCommitted = null;

            var other = Options(Folder("run", partitions: 2), seed: 6, whole: true);
            other.EmbeddingDimension = 8;
            var mismatch = Assert.Throws<InvalidOperationException>(() => Fit(other, sequences));
            Assert.That(mismatch!.Message, Does.Contain("EmbeddingDimension = 16 in the folder's run, 8 now")
                .And.Contain("Seed = 5 in the folder's run, 6 now")
                .And.Contain("WholeSequenceContext = false in the folder's run, true now")
                .And.Contain("cannot be resumed"));

            // One sequence fewer: the token count and the fingerprint differ, and the message says it is the corpus.
            var otherCorpus = Assert.Throws<InvalidOperationException>(() => Fit(Options(Folder("run", partitions: 2)), sequences.Skip(1)));
            Assert.That(otherCorpus!.Message, Does.Contain("the corpus (the folder's run:").And.Contain("tokens"));

            // The same items in another order: same counts and vocabulary, another token stream.
            var shuffled = sequences.Reverse().ToArray();
            var reordered = Assert.Throws<InvalidOperationException>(() => Fit(Options(Folder("run", partitions: 2)), shuffled));
            Assert.That(reordered!.Message, Does.Contain("the corpus"));

            // The same data and settings resume.
            var resumed = Fit(Options(Folder("run", partitions: 2)), sequences);
            Assert.That(resumed.TrainingSummary.Partitioned!.BucketsDoneBefore, Is.EqualTo(1));
        }

        [Test]
        public void CbowHierarchicalSoftmaxAndContinuedTrainingAreNotSupported()
        {
            var ml = new MLContext(seed: 1);
            var cbow = Options(Folder("x"));
            cbow.Model = SkipGramModel.Cbow;
            var e = Assert.Throws<NotSupportedException>(() => ml.Embeddings().SkipGram(cbow));
            Assert.That(e!.Message, Does.Contain("Model = Cbow").And.Contain("Partitioning = null").And.Contain("SkipGramModel.SkipGram"));

            var hs = Options(Folder("x"));
            hs.HierarchicalSoftmax = true;
            hs.KeepContextVectors = false;
            e = Assert.Throws<NotSupportedException>(() => ml.Embeddings().SkipGram(hs));
            Assert.That(e!.Message, Does.Contain("HierarchicalSoftmax = true").And.Contain("Partitioning = null"));

            var item2vec = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item" };
            item2vec.SkipGram.Model = SkipGramModel.Cbow;
            item2vec.SkipGram.Partitioning = Folder("x");
            Assert.Throws<NotSupportedException>(() => ml.Embeddings().Item2Vec(item2vec));

            // The options of Partitioning are checked as on graphs.
            var neither = Options(new PartitionedTrainingOptions { Directory = Path.Combine(Root, "d") });
            Assert.That(Assert.Throws<ArgumentException>(() => ml.Embeddings().SkipGram(neither))!.Message, Does.Contain("Partitions").And.Contain("ModelMemoryBudgetBytes"));
            var tooMany = Options(new PartitionedTrainingOptions { Partitions = 65, Directory = Path.Combine(Root, "d") });
            Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SkipGram(tooMany));

            // Continued training from a model with Partitioning set.
            var sequences = Noisy(clusters: 3, size: 10, sequences: 300, seed: 8);
            var initial = Fit(Options(null), sequences);
            var continued = Assert.Throws<NotSupportedException>(() => ml.Embeddings().SkipGram(Options(Folder("y"))).Fit(sequences, initial));
            Assert.That(continued!.Message, Does.Contain("continued training").And.Contain("Partitioning = null"));
            Assert.That(Directory.Exists(Path.Combine(Root, "y")), Is.False, "nothing was written");

            // Item2vec's continued training goes through the same check.
            var rows = Enumerable.Range(0, 40).SelectMany(u => Enumerable.Range(0, 6).Select(t => new Interaction { User = u, Item = $"{"ab"[u % 2]}{(u + t) % 8}", Time = t })).ToList();
            var data = ml.Data.LoadFromEnumerable(rows);
            Item2VecEstimator.Options Item2Vec(PartitionedTrainingOptions? partitioning)
            {
                var options = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item", TimestampColumnName = "Time" };
                options.SkipGram.Epochs = 1;
                options.SkipGram.SamplingThreshold = 0;
                options.SkipGram.Partitioning = partitioning;
                return options;
            }
            var initialItems = ml.Embeddings().Item2Vec(Item2Vec(null)).Fit(data);
            var item2vecUpdate = Assert.Throws<NotSupportedException>(() => ml.Embeddings().Item2Vec(Item2Vec(Folder("z"))).Fit(data, initialItems));
            Assert.That(item2vecUpdate!.Message, Does.Contain("continued training").And.Contain("Partitioning = null"));
            Assert.That(Directory.Exists(Path.Combine(Root, "z")), Is.False, "nothing was written");

            // More partitions than items.
            var few = Assert.Throws<InvalidOperationException>(() => Fit(Options(Folder("few", partitions: 64)), new[] { new[] { "a", "b" }, new[] { "b", "c" } }));
            Assert.That(few!.Message, Does.Contain("Partitions = 64").And.Contain("3 items"));
        }

        [Test]
        public void TheBudgetChoosesPartitionedModeOnlyWhenTheModelExceedsIt()
        {
            var sequences = Noisy(clusters: 4, size: 100, sequences: 800, seed: 9);
            // 400 items x 16 dimensions x 2 matrices x 4 bytes = 51 kB: a 1 MiB budget holds it, so training stays in memory.
            var roomy = Fit(Options(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = 1 << 20, Directory = Path.Combine(Root, "roomy") }), sequences);
            Assert.That(roomy.TrainingSummary.Partitioned, Is.Null);
            Assert.That(roomy.Embeddings.IsMemoryMapped, Is.False);
            Assert.That(Directory.Exists(Path.Combine(Root, "roomy")), Is.False);

            Assert.That(roomy.Embeddings.Count, Is.EqualTo(400));
            // 400 items of dimension 8,192 take 26 MB in memory, more than the resident memory of 4 partitions.
            int dimension = 8192;
            long tight = PartitionedTraining.ResidentBytes(400, 4, dimension, 1);
            Assert.That(tight, Is.LessThan(2L * 400 * dimension * 4));
            var options = Options(new PartitionedTrainingOptions { ModelMemoryBudgetBytes = tight, Directory = Path.Combine(Root, "tight") });
            options.EmbeddingDimension = dimension;
            options.Epochs = 1;
            var result = Fit(options, sequences);
            Assert.That(result.TrainingSummary.Partitioned, Is.Not.Null, "the model exceeds the budget: partitioned mode is chosen");
            Assert.That(result.TrainingSummary.Partitioned!.Partitions, Is.InRange(2, 4));
            Assert.That(result.TrainingSummary.Partitioned.ResidentModelBytes, Is.LessThanOrEqualTo(tight));
            Assert.That(result.Embeddings.IsMemoryMapped, Is.True);

            // A fixed number of partitions that the budget cannot hold: the message names the items and a number that fits.
            var over = Options(new PartitionedTrainingOptions { Partitions = 1, ModelMemoryBudgetBytes = PartitionedTraining.ResidentBytes(400, 2, dimension, 1), Directory = Path.Combine(Root, "over") });
            over.EmbeddingDimension = dimension;
            var error = Assert.Throws<InvalidOperationException>(() => Fit(over, sequences));
            Assert.That(error!.Message, Does.Contain("Partitions = 1").And.Contain("400 items").And.Contain("use Partitions = 2 or more"));
        }

        [Test]
        public void APartitionedModelSavesAndLoadsAsAnInMemoryOne()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedSequences.Generate(clusters: 4, itemsPerCluster: 10, sequences: 400, seed: 10);
            var data = ml.Data.LoadFromEnumerable(rows);
            var trained = ml.Embeddings().SkipGram(Options(Folder("saved", partitions: 2))).Fit(data);
            Assert.That(trained.Embeddings.IsMemoryMapped, Is.True);
            var loaded = (SkipGramEmbeddingTransformer)EstimatorConformance.SaveAndLoad(trained, data.Schema);
            Assert.That(loaded.Embeddings.IsMemoryMapped, Is.False, "the saved model holds the vectors");
            AssertSameVectors(trained.Embeddings, loaded.Embeddings);
            AssertSameVectors(trained.ContextEmbeddings!, loaded.ContextEmbeddings!);
            Assert.That(loaded.TrainingSummary.ItemCounts, Is.EqualTo(trained.TrainingSummary.ItemCounts));
            Assert.That(loaded.TrainingSummary.Partitioned, Is.Null, "the partitioned statistics are not saved");
            EstimatorConformance.AssertSameValues(trained.Transform(data), loaded.Transform(data));
        }
    }
}
