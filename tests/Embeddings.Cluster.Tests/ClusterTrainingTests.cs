using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Storage;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>Jobs on an in-process cluster of three silos (Orleans TestingHost), one cluster for the fixture.</summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class ClusterTrainingTests : ThreeSiloFixture
    {
        private static ClusterJobSpec Spec(string jobId, int partitions = 4, int epochs = 2, int episodes = 2) => new()
        {
            JobId = jobId,
            Items = 203,
            Partitions = partitions,
            Dimension = 16,
            Epochs = epochs,
            Episodes = episodes,
            Negatives = 3,
            LearningRate = 0.05f,
            Seed = 7,
            LeaseTimeout = TimeSpan.FromSeconds(1),
        };

        [Test]
        public async Task EveryBucketOnceNoSharedPartitionsAndTheSequentialResultBitForBit()
        {
            var spec = Spec("exactly-once");
            var pairs = TestPairs.Random(spec.Items, 1500, seed: 1);
            var reference = Reference(spec, pairs);
            Cluster.Trainer.PauseMilliseconds[spec.JobId] = 15;

            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            var status = await Cluster.WaitAsync(spec.JobId);

            Assert.That(status.DoneBuckets, Is.EqualTo(spec.TotalBuckets));
            Assert.That(status.Pairs, Is.EqualTo(spec.Epochs * spec.Episodes * 1500L));
            // The cost accounting: every bucket writes both partitions; affinity spares some loads.
            Assert.That(status.BytesWritten, Is.EqualTo((long)spec.Epochs * spec.Episodes * spec.Partitions * spec.Items * spec.Dimension * 8));
            Assert.That(status.PartitionLoads, Is.LessThan(2 * spec.TotalBuckets).And.GreaterThanOrEqualTo(2));
            Assert.That(status.BytesRead, Is.GreaterThan(8 * status.Pairs));
            Assert.That(status.TrainingSeconds, Is.GreaterThan(0));
            TestContext.Out.WriteLine($"{status.PartitionLoads} partition loads for {spec.TotalBuckets} buckets; {status.BytesRead} bytes read, {status.BytesWritten} written");
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            var completed = log.Where(e => e.Kind == "completed").Select(e => e.WorkItem).ToList();
            Assert.That(completed, Is.EquivalentTo(Enumerable.Range(0, (int)spec.TotalBuckets).Select(w => (long)w)), "every bucket of every epoch completed exactly once");
            CheckLeaseLog(log, spec);

            // The trainer's own view: calls on one partition never overlap in time, and buckets did run side by side.
            var calls = Cluster.Trainer.Calls.Where(c => c.JobId == spec.JobId).ToList();
            Assert.That(calls, Has.Count.EqualTo(spec.TotalBuckets));
            int maxConcurrent = 0;
            foreach (var a in calls)
            {
                var overlapping = calls.Where(b => b != a && b.StartTicks < a.EndTicks && a.StartTicks < b.EndTicks).ToList();
                Assert.That(overlapping.Where(b => b.Input == a.Input || b.Output == a.Output), Is.Empty,
                    $"bucket {a.WorkItem} ({a.Input}, {a.Output}) overlapped a bucket on one of its partitions");
                maxConcurrent = Math.Max(maxConcurrent, overlapping.Count + 1);
            }
            Assert.That(maxConcurrent, Is.GreaterThanOrEqualTo(2), "three workers trained buckets at the same time");
            Assert.That(log.Count(e => e.Kind == "leased" && !e.Detail.EndsWith("affinity 0", StringComparison.Ordinal)), Is.GreaterThan(0),
                "some buckets went to a worker that held one of their partitions already");

            var vectors = ClusterJob.ReadVectors(Cluster.Store, spec.JobId);
            Assert.That(vectors.Input, Is.EqualTo(reference.Input).AsCollection, "input vectors equal the single-process run bit for bit");
            Assert.That(vectors.Output, Is.EqualTo(reference.Output).AsCollection, "output vectors equal the single-process run bit for bit");
            Assert.That(vectors.Input, Is.Not.EqualTo(Untrained(spec).Input).AsCollection, "training changed the vectors");

            // Only the current versions remain once the job is done.
            for (int q = 0; q < spec.Partitions; q++)
            {
                Assert.That(Cluster.Store.ListPartitionVersions(spec.JobId, PartitionSide.Input, q), Is.EqualTo(new[] { status.InputVersions[q] }));
                Assert.That(Cluster.Store.ListPartitionVersions(spec.JobId, PartitionSide.Output, q), Is.EqualTo(new[] { status.OutputVersions[q] }));
            }
        }

        [Test]
        public async Task AWorkerThatHangsMidBucketLosesItsLeaseAndTheBucketIsRetried()
        {
            var spec = Spec("hang", partitions: 3);
            var pairs = TestPairs.Random(spec.Items, 900, seed: 2);
            var reference = Reference(spec, pairs);
            Cluster.Trainer.ResetHang();
            Cluster.Trainer.HangItem[spec.JobId] = 4;

            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            Assert.That(await Cluster.Trainer.Hung.Task.WaitAsync(TimeSpan.FromSeconds(30)), Is.EqualTo(4));
            // The hung worker stops renewing; the lease expires and another worker trains bucket 4.
            await WaitForAsync(() => CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId).Any(e => e.Kind == "completed" && e.WorkItem == 4), 30);
            Cluster.Trainer.Resume.Set();
            var status = await Cluster.WaitAsync(spec.JobId);

            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            var leases4 = log.Where(e => e.Kind == "leased" && e.WorkItem == 4).Select(e => e.Token).ToList();
            Assert.That(leases4.Count, Is.GreaterThanOrEqualTo(2), "bucket 4 was leased again");
            long hungToken = leases4[0];
            Assert.That(log.Any(e => e.Kind == "expired" && e.Token == hungToken), "the hung worker's lease expired");
            Assert.That(log.Count(e => e.Kind == "completed" && e.WorkItem == 4), Is.EqualTo(1));
            Assert.That(log.Any(e => e.Kind == "completed" && e.Token == hungToken), Is.False, "the hung attempt never committed");
            Assert.That(status.ExpiredLeases, Is.GreaterThanOrEqualTo(1));
            Assert.That(status.DoneBuckets, Is.EqualTo(spec.TotalBuckets));
            CheckLeaseLog(log, spec);

            AssertResultEquals(spec, reference, "the result equals an uninterrupted run bit for bit");
        }

        [Test]
        public async Task ABucketWhoseTrainingFailsIsGivenBackAndRetried()
        {
            var spec = Spec("failure", partitions: 3, epochs: 1);
            var pairs = TestPairs.Random(spec.Items, 600, seed: 8);
            var reference = Reference(spec, pairs);
            Cluster.Trainer.FailItem[spec.JobId] = 2;

            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            var status = await Cluster.WaitAsync(spec.JobId);

            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            long failed = log.First(e => e.Kind == "leased" && e.WorkItem == 2).Token;
            Assert.That(log.Any(e => e.Kind == "failed" && e.Token == failed && e.Detail.Contains("attempt 1 of 5 failed: InvalidOperationException: Planted failure of bucket 2", StringComparison.Ordinal)),
                "the failing worker gave the bucket back at once, reporting the failure");
            Assert.That(status.FailureReason, Is.Empty, "one failed attempt does not fail the job");
            Assert.That(log.Count(e => e.Kind == "completed" && e.WorkItem == 2), Is.EqualTo(1));
            CheckLeaseLog(log, spec);
            AssertResultEquals(spec, reference);
        }

        [Test]
        public async Task AJobDeletedAndSubmittedAnewUnderItsIdIsTrainedAnewWhileTheSilosRun()
        {
            // The remedy our messages give for a failed or damaged job: delete its folder and submit it again. The
            // silos keep running: their workers cached the old job, and its coordinator activation kept its state.
            var first = Spec("replaced", partitions: 2, epochs: 1, episodes: 1);
            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, first, TestPairs.Random(first.Items, 400, seed: 21));
            await Cluster.WaitAsync(first.JobId);
            System.IO.Directory.Delete(System.IO.Path.Combine(Cluster.Root, first.JobId), recursive: true);

            var second = first with { Seed = 8, Episodes = 2 };
            var pairs = TestPairs.Random(second.Items, 500, seed: 22);
            var reference = Reference(second, pairs);
            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, second, pairs);
            var status = await Cluster.WaitAsync(second.JobId);
            Assert.That(status.DoneBuckets, Is.EqualTo(second.TotalBuckets), "the new job's 2 episodes x 4 buckets, not the old job's 4");
            AssertResultEquals(second, reference, "the new job's vectors, trained from its own description");
        }

        [Test]
        public async Task AZombiesLateCompletionIsRejectedAndNeverBecomesCurrent()
        {
            var spec = Spec("zombie", partitions: 3, epochs: 3);
            var pairs = TestPairs.Random(spec.Items, 900, seed: 3);
            var reference = Reference(spec, pairs);
            Cluster.Trainer.PauseMilliseconds[spec.JobId] = 5;
            var coordinator = Cluster.Coordinator(spec.JobId);

            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            // The test is a worker that takes a bucket and then goes silent (a paused process).
            BucketLease? lease = null;
            for (int attempt = 0; attempt < 2000 && lease is null; attempt++)
            {
                var answer = await coordinator.LeaseAsync(new LeaseRequest { WorkerId = "zombie" });
                Assert.That(answer.Status, Is.Not.EqualTo(LeaseStatus.Finished), "the zombie got no bucket before the job finished");
                lease = answer.Lease;
                if (lease is null)
                    await Task.Delay(2);
            }
            Assert.That(lease, Is.Not.Null);
            long item = lease!.WorkItem;
            await WaitForAsync(() => CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId).Any(e => e.Kind == "completed" && e.WorkItem == item), 30);

            // It wakes up, writes its partitions under its lease's version and reports: fenced off.
            int rows = spec.RowsOf(lease.Input), outRows = spec.RowsOf(lease.Output);
            // The live workers' clean-up may remove the zombie's unfinished files while it writes them (neither current nor
            // under a live lease): its write then fails, which fences it off as well as the rejected completion below.
            try
            {
                Cluster.Store.WritePartition(spec.JobId, PartitionSide.Input, lease.Input, lease.NewVersion, rows, spec.Dimension, new float[rows * spec.Dimension]);
                Cluster.Store.WritePartition(spec.JobId, PartitionSide.Output, lease.Output, lease.NewVersion, outRows, spec.Dimension, new float[outRows * spec.Dimension]);
            }
            catch (System.IO.IOException)
            {
            }
            var result = await coordinator.CompleteAsync(new CompletionReport { Token = lease.Token, WorkerId = "zombie", Pairs = 1 });
            Assert.That(result.Accepted, Is.False);
            Assert.That(result.Reason, Does.Contain("not live"));
            Assert.That(await coordinator.RenewAsync(lease.Token, "zombie"), Is.False, "an expired lease cannot be renewed");

            var status = await Cluster.WaitAsync(spec.JobId);
            Assert.That(status.RejectedCompletions, Is.GreaterThanOrEqualTo(1));
            Assert.That(status.InputVersions, Does.Not.Contain(lease.Token));
            Assert.That(status.OutputVersions, Does.Not.Contain(lease.Token));
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Any(e => e.Kind == "rejected" && e.Token == lease.Token));
            Assert.That(log.Count(e => e.Kind == "completed" && e.WorkItem == item), Is.EqualTo(1));
            CheckLeaseLog(log, spec);
            AssertResultEquals(spec, reference, "the zombie's zeros never reached the result");
        }

        [Test]
        public async Task ACoordinatorDeactivatedMidJobResumesFromItsCheckpoint()
        {
            var spec = Spec("restart", partitions: 3, epochs: 4);
            var pairs = TestPairs.Random(spec.Items, 600, seed: 4);
            var reference = Reference(spec, pairs);
            Cluster.Trainer.PauseMilliseconds[spec.JobId] = 10;
            var coordinator = Cluster.Coordinator(spec.JobId);

            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            foreach (long threshold in new[] { spec.TotalBuckets / 4, spec.TotalBuckets / 2 })
            {
                await WaitForAsync(async () => (await coordinator.GetStatusAsync()).DoneBuckets >= threshold, 30);
                await Cluster.Cluster.DeactivateAsync(coordinator);
            }
            var status = await Cluster.WaitAsync(spec.JobId);

            Assert.That(status.Activations, Is.GreaterThanOrEqualTo(3), "two restarts");
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Count(e => e.Kind == "activated" && e.Detail.StartsWith("resumed from the checkpoint", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(2));
            Assert.That(log.Where(e => e.Kind == "completed").Select(e => e.WorkItem), Is.EquivalentTo(Enumerable.Range(0, (int)spec.TotalBuckets).Select(w => (long)w)));
            Assert.That(log.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, log.Count).Select(s => (long)s)), "the event sequence continues across activations");
            CheckLeaseLog(log, spec);
            AssertResultEquals(spec, reference);
        }

        [Test]
        public async Task ACoordinatorFencedByAnotherActivationStopsWithoutWritingAndTheJobGoesOn()
        {
            var spec = Spec("fence", partitions: 3, epochs: 3);
            var pairs = TestPairs.Random(spec.Items, 600, seed: 10);
            var reference = Reference(spec, pairs);
            Cluster.Trainer.PauseMilliseconds[spec.JobId] = 10;
            var coordinator = Cluster.Coordinator(spec.JobId);

            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            await WaitForAsync(async () => (await coordinator.GetStatusAsync()).DoneBuckets >= spec.TotalBuckets / 3, 30);
            // Another activation claims the job (as one would during a membership disagreement). The running
            // activation's next write (a worker's lease or completion) finds the fence, fails without writing, and the
            // call after it reads the checkpoint again.
            int activations = (await coordinator.GetStatusAsync()).Activations;
            Cluster.Store.WriteBlob(spec.JobId, "coordinator.fence", "another-activation"u8);
            var status = await Cluster.WaitAsync(spec.JobId);

            Assert.That(status.Activations, Is.GreaterThan(activations), "the checkpoint was read again after the fence");
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Where(e => e.Kind == "completed").Select(e => e.WorkItem), Is.EquivalentTo(Enumerable.Range(0, (int)spec.TotalBuckets).Select(w => (long)w)));
            Assert.That(log.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, log.Count).Select(q => (long)q)), "no event of the fenced activation was committed");
            CheckLeaseLog(log, spec);
            AssertResultEquals(spec, reference);
        }

        [Test]
        public async Task PlantedCommunitiesAreRecoveredByAFreeOrderedClusterRun()
        {
            var (community, pairs) = TestPairs.PlantedCommunities(communities: 15, size: 20, inside: 6, outside: 1, seed: 5);
            var spec = new ClusterJobSpec
            {
                JobId = "communities",
                Items = community.Length,
                Partitions = 3,
                Dimension = 16,
                Epochs = 10,
                Episodes = 2,
                Negatives = 5,
                LearningRate = 0.1f,
                Seed = 11,
                Ordering = BucketOrdering.Free,
                LeaseTimeout = TimeSpan.FromSeconds(5),
            };
            await ClusterJob.SubmitAsync(Cluster.Cluster.Client, Cluster.Store, spec, pairs);
            var status = await Cluster.WaitAsync(spec.JobId);
            Assert.That(status.DoneBuckets, Is.EqualTo(spec.TotalBuckets));
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            CheckLeaseLog(log, spec);

            var vectors = ClusterJob.ReadVectors(Cluster.Store, spec.JobId);
            double recovered = NearestNeighbourAgreement(vectors, community);
            TestContext.Out.WriteLine($"nearest neighbour in the same community: {recovered:F3} (chance {(20 - 1) / (double)(community.Length - 1):F3}); mean loss {status.LossSum / status.Pairs:F4}");
            Assert.That(recovered, Is.GreaterThan(0.8), "communities recovered");

            // The control: the initial vectors (version 0, before any bucket) do not show the communities.
            var untrained = Untrained(spec);
            Assert.That(NearestNeighbourAgreement(untrained, community), Is.LessThan(0.3), "untrained vectors are near chance");
        }

        [Test]
        public void StartingAJobThatIsNotInTheStorageNamesIt()
        {
            var e = Assert.ThrowsAsync<InvalidOperationException>(() => Cluster.Coordinator("no-such-job").StartAsync());
            Assert.That(e!.Message, Does.Contain("There is no job 'no-such-job'").And.Contain("submit it first"));
        }

        /// <summary>Fraction of items whose nearest other item (cosine of input vectors) is in the same community.</summary>
        internal static double NearestNeighbourAgreement(TrainedVectors vectors, int[] community)
        {
            int n = vectors.Items, agree = 0;
            var norms = Enumerable.Range(0, n).Select(v => Math.Sqrt(Dot(vectors.InputRow(v), vectors.InputRow(v)))).ToArray();
            for (int v = 0; v < n; v++)
            {
                int best = -1;
                double bestCos = double.NegativeInfinity;
                for (int u = 0; u < n; u++)
                {
                    if (u == v)
                        continue;
                    double cos = Dot(vectors.InputRow(v), vectors.InputRow(u)) / (norms[v] * norms[u] + 1e-12);
                    if (cos > bestCos)
                    {
                        bestCos = cos;
                        best = u;
                    }
                }
                if (community[best] == community[v])
                    agree++;
            }
            return agree / (double)n;
        }

        private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
        {
            double s = 0;
            for (int k = 0; k < a.Length; k++)
                s += a[k] * (double)b[k];
            return s;
        }

        /// <summary>The single-process run of the job, in a folder of its own (the cluster's workers train every job in theirs).</summary>
        internal static TrainedVectors Reference(ClusterJobSpec spec, Func<int, IEnumerable<(int, int)>> pairs)
        {
            string root = TempFolder.Create();
            try
            {
                var store = new DirectoryPartitionStore(root);
                ClusterJob.Prepare(store, spec, pairs);
                return ClusterJob.TrainInProcess(store, spec.JobId);
            }
            finally
            {
                TempFolder.Delete(root);
            }
        }

        /// <summary>The job's initial vectors (version 0), prepared in a folder of its own (the cluster's workers train every job in theirs).</summary>
        private static TrainedVectors Untrained(ClusterJobSpec spec)
        {
            string root = TempFolder.Create();
            try
            {
                var store = new DirectoryPartitionStore(root);
                var initial = spec with { Epochs = 1, Episodes = 1 };
                ClusterJob.Prepare(store, initial, _ => Array.Empty<(int, int)>());
                return ClusterJob.TrainInProcess(store, initial.JobId);
            }
            finally
            {
                TempFolder.Delete(root);
            }
        }

        /// <summary>
        /// The coordinator's log: between a lease and its end (completion, expiry, release, rejection) no other lease
        /// holds its input or its output partition; under deterministic ordering each partition's buckets complete in
        /// the job's order.
        /// </summary>

        /// <summary>The job's result vectors equal <paramref name="reference"/> bit for bit.</summary>
        private void AssertResultEquals(ClusterJobSpec spec, TrainedVectors reference, string message = "")
        {
            var vectors = ClusterJob.ReadVectors(Cluster.Store, spec.JobId);
            Assert.That(vectors.Input, Is.EqualTo(reference.Input).AsCollection, message);
            Assert.That(vectors.Output, Is.EqualTo(reference.Output).AsCollection);
        }
        internal static void CheckLeaseLog(IReadOnlyList<CoordinatorEvent> log, ClusterJobSpec spec)
        {
            var inputHolder = new Dictionary<int, long>();
            var outputHolder = new Dictionary<int, long>();
            var live = new Dictionary<long, CoordinatorEvent>();
            var lastInput = new Dictionary<int, long>();
            var lastOutput = new Dictionary<int, long>();
            foreach (var e in log)
            {
                if (e.Task >= 0)
                    continue;
                switch (e.Kind)
                {
                    case "leased":
                        Assert.That(inputHolder.ContainsKey(e.Input), Is.False, $"event {e.Sequence}: input partition {e.Input} leased twice (held by lease {inputHolder.GetValueOrDefault(e.Input)})");
                        Assert.That(outputHolder.ContainsKey(e.Output), Is.False, $"event {e.Sequence}: output partition {e.Output} leased twice (held by lease {outputHolder.GetValueOrDefault(e.Output)})");
                        inputHolder[e.Input] = e.Token;
                        outputHolder[e.Output] = e.Token;
                        live[e.Token] = e;
                        break;
                    case "completed":
                    case "expired":
                    case "released":
                    case "failed":
                    case "rejected" when live.ContainsKey(e.Token):
                        Assert.That(live.Remove(e.Token, out var lease), Is.True, $"event {e.Sequence}: {e.Kind} of lease {e.Token}, which is not live");
                        inputHolder.Remove(lease!.Input);
                        outputHolder.Remove(lease.Output);
                        if (e.Kind == "completed" && spec.Ordering == BucketOrdering.Deterministic)
                        {
                            Assert.That(e.WorkItem, Is.GreaterThan(lastInput.GetValueOrDefault(e.Input, -1)), $"input partition {e.Input}'s buckets in order");
                            Assert.That(e.WorkItem, Is.GreaterThan(lastOutput.GetValueOrDefault(e.Output, -1)), $"output partition {e.Output}'s buckets in order");
                            lastInput[e.Input] = e.WorkItem;
                            lastOutput[e.Output] = e.WorkItem;
                        }
                        break;
                }
            }
        }

        private static Task WaitForAsync(Func<bool> condition, int seconds) => WaitForAsync(() => Task.FromResult(condition()), seconds);

        private static async Task WaitForAsync(Func<Task<bool>> condition, int seconds)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(seconds);
            while (!await condition())
            {
                if (DateTime.UtcNow > deadline)
                    Assert.Fail($"Condition not met within {seconds} s.");
                await Task.Delay(20);
            }
        }
    }
}
