using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Training;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    [TestFixture]
    public sealed class StorageAndScheduleTests : StoreFixture
    {
        [Test]
        public void PartitionVersionsRoundTripAreImmutableAndCollected()
        {
            var values = Enumerable.Range(0, 5 * 3).Select(v => v * 0.5f - 1).ToArray();
            Store.WritePartition("job", PartitionSide.Input, 2, 7, 5, 3, values);
            Store.WritePartition("job", PartitionSide.Input, 2, 9, 5, 3, values);
            Store.WritePartition("job", PartitionSide.Output, 2, 8, 5, 3, values);
            Assert.That(File.Exists(Path.Combine(Root, "job", "partitions", "input-2.v7.bin")));
            var read = new float[15];
            Store.ReadPartition("job", PartitionSide.Input, 2, 7, 5, 3, read);
            Assert.That(read, Is.EqualTo(values));
            Assert.That(() => Store.WritePartition("job", PartitionSide.Input, 2, 7, 5, 3, values),
                Throws.InvalidOperationException.With.Message.Contains("written once"));
            Assert.That(() => Store.ReadPartition("job", PartitionSide.Input, 2, 7, 4, 3, new float[12]),
                Throws.TypeOf<InvalidDataException>().With.Message.Contains("input-2.v7.bin"));
            Assert.That(() => Store.ReadPartition("job", PartitionSide.Input, 2, 8, 5, 3, read), Throws.TypeOf<FileNotFoundException>());

            // An unfinished write (a worker killed mid-write) is never listed, and is collected with its version.
            File.WriteAllBytes(Path.Combine(Root, "job", "partitions", "input-2.v11.bin.tmp-" + Guid.NewGuid().ToString("N")), new byte[10]);
            Assert.That(Store.ListPartitionVersions("job", PartitionSide.Input, 2), Is.EqualTo(new long[] { 7, 9 }));
            int deleted = Store.CollectPartitionVersions("job", PartitionSide.Input, 2, new HashSet<long> { 9 });
            Assert.That(deleted, Is.EqualTo(2));
            Assert.That(Store.ListPartitionVersions("job", PartitionSide.Input, 2), Is.EqualTo(new long[] { 9 }));
            Assert.That(Store.ListPartitionVersions("job", PartitionSide.Output, 2), Is.EqualTo(new long[] { 8 }), "the other side is untouched");
        }

        [Test]
        public void AReaderNeverSeesAHalfWrittenBlob()
        {
            // The writer replaces the file with contents of different lengths, each all one byte value equal to its
            // length mod 251; a reader must always see such a content, never a mix or a truncation.
            using var stop = new CancellationTokenSource();
            var writer = Task.Run(() =>
            {
                var random = new Random(1);
                for (int k = 0; k < 300; k++)
                {
                    int length = 1 + random.Next(200_000);
                    Store.WriteBlob("job", "checkpoint.json", Enumerable.Repeat((byte)(length % 251), length).ToArray());
                }
                stop.Cancel();
            });
            int reads = 0;
            while (!stop.IsCancellationRequested)
            {
                byte[]? bytes = Store.ReadBlob("job", "checkpoint.json");
                if (bytes is null)
                    continue;
                reads++;
                Assert.That(bytes.All(b => b == bytes.Length % 251), $"read {reads}: a mixed or truncated file of {bytes.Length} bytes");
            }
            writer.Wait();
            Assert.That(reads, Is.GreaterThan(0));
            Assert.That(Directory.GetFiles(Path.Combine(Root, "job")).Select(Path.GetFileName), Is.EqualTo(new[] { "checkpoint.json" }), "no temporary file left");
        }

        [TestCase(1)]
        [TestCase(3)]
        [TestCase(5)]
        public void TheScheduleCoversEveryBucketAndItsRoundsAreDisjoint(int p)
        {
            var spec = new ClusterJobSpec { JobId = "s", Items = 100, Partitions = p, Epochs = 2, Episodes = 3 };
            var schedule = new BucketSchedule(spec);
            var items = Enumerable.Range(0, (int)schedule.Total).Select(w => schedule.At(w)).ToList();
            Assert.That(items.GroupBy(i => (i.Epoch, i.Episode)).All(g => g.Select(i => (i.Input, i.Output)).Distinct().Count() == p * p), "each episode has every bucket once");
            foreach (var round in items.GroupBy(i => i.Index / p))
            {
                Assert.That(round.Select(i => i.Input).Distinct().Count(), Is.EqualTo(p));
                Assert.That(round.Select(i => i.Output).Distinct().Count(), Is.EqualTo(p));
            }
            for (int q = 0; q < p; q++)
            {
                var ofInput = items.Where(i => i.Input == q).Select(i => i.Index).ToList();
                var ofOutput = items.Where(i => i.Output == q).Select(i => i.Index).ToList();
                Assert.That(ofInput, Is.EqualTo(Enumerable.Range(0, ofInput.Count).Select(k => schedule.InputItem(q, k))));
                Assert.That(ofOutput, Is.EqualTo(Enumerable.Range(0, ofOutput.Count).Select(k => schedule.OutputItem(q, k))));
            }
        }

        [Test]
        public void TheKernelIsAFunctionOfTheBucketAndItsSeed()
        {
            var counts = Enumerable.Range(0, 40).Select(v => (long)(1 + v % 5)).ToArray();
            int[] pairs = Enumerable.Range(0, 200).SelectMany(k => new[] { k % 20, (k * 7) % 20 }).ToArray();
            float[] Run(int seed, int episode)
            {
                var spec = new ClusterJobSpec { JobId = "k", Items = 40, Partitions = 2, Dimension = 8, Seed = seed, Episodes = 2 };
                var job = new ClusterJobData(spec, counts, new long[] { 100, 100 });
                var input = Enumerable.Range(0, 20 * 8).Select(v => (v % 13 - 6) * 0.01f).ToArray();
                var output = new float[20 * 8];
                var work = new BucketWork(job, 0, 0, episode, 0, 1);
                using var bucket = BucketPairs.FromMemory(pairs);
                var result = new SkipGramBucketTrainer().Train(work, input, output, bucket, new Progress(), CancellationToken.None);
                Assert.That(result.Pairs, Is.EqualTo(200));
                Assert.That(result.LossSum, Is.GreaterThan(0));
                return input.Concat(output).ToArray();
            }
            Assert.That(Run(3, 0), Is.EqualTo(Run(3, 0)).AsCollection, "same bucket, same result");
            Assert.That(Run(3, 0), Is.Not.EqualTo(Run(4, 0)).AsCollection, "the seed changes the negatives");
            Assert.That(Run(3, 0), Is.Not.EqualTo(Run(3, 1)).AsCollection, "so does the episode");
        }

        private sealed class Progress : IBucketProgress
        {
            public void Report(long pairsDone)
            {
            }
        }
    }
}
