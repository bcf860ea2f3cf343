using System;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>A silo leaving mid-job (its own cluster: the test stops one of the silos).</summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class SiloFailureTests
    {
        [Test]
        public async Task StoppingTheSiloThatHostsTheCoordinatorMidBucketLosesNothing()
        {
            await using var cluster = await ThreeSiloCluster.StartAsync();
            var spec = new ClusterJobSpec
            {
                JobId = "silo-stop",
                Items = 151,
                Partitions = 3,
                Dimension = 8,
                Epochs = 4,
                Episodes = 1,
                Negatives = 3,
                LearningRate = 0.05f,
                Seed = 9,
                LeaseTimeout = TimeSpan.FromSeconds(1),
            };
            var pairs = TestPairs.Random(spec.Items, 600, seed: 6);
            var reference = ClusterTrainingTests.Reference(spec, pairs);
            cluster.Trainer.PauseMilliseconds[spec.JobId] = 10;

            var started = await ClusterJob.SubmitAsync(cluster.Cluster.Client, cluster.Store, spec, pairs);
            var host = cluster.Cluster.Silos.Single(s => started.CoordinatorSilo == s.SiloAddress.ToString());
            var blocked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            cluster.Trainer.BlockUntilCancelled[host.Name] = blocked;
            long item = await blocked.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // A graceful stop: the worker is cancelled mid-bucket and gives its lease back; the coordinator moves.
            await cluster.Cluster.StopSiloAsync(host);
            var status = await cluster.WaitAsync(spec.JobId);

            Assert.That(status.CoordinatorSilo, Is.Not.EqualTo(started.CoordinatorSilo), "the coordinator runs on another silo");
            Assert.That(status.Activations, Is.GreaterThanOrEqualTo(2));
            Assert.That(status.DoneBuckets, Is.EqualTo(spec.TotalBuckets));
            var log = CoordinatorEvent.ReadLog(cluster.Store, spec.JobId);
            Assert.That(log.Any(e => e.Kind == "activated" && e.Detail.StartsWith("resumed from the checkpoint", StringComparison.Ordinal)));
            var stopped = log.First(e => e.Kind == "leased" && e.WorkItem == item && e.Worker.StartsWith(host.Name + "@", StringComparison.Ordinal));
            var end = log.FirstOrDefault(e => (e.Kind == "released" || e.Kind == "expired") && e.Token == stopped.Token);
            Assert.That(end, Is.Not.Null, "the stopped worker's lease was given back or expired");
            TestContext.Out.WriteLine($"stopped {host.Name}; coordinator moved from {started.CoordinatorSilo} to {status.CoordinatorSilo}; lease {stopped.Token} of bucket {item}: {end!.Kind}");
            Assert.That(log.Where(e => e.Kind == "completed").Select(e => e.WorkItem), Is.EquivalentTo(Enumerable.Range(0, (int)spec.TotalBuckets).Select(w => (long)w)));
            ClusterTrainingTests.CheckLeaseLog(log, spec);
            var vectors = ClusterJob.ReadVectors(cluster.Store, spec.JobId);
            Assert.That(vectors.Input, Is.EqualTo(reference.Input).AsCollection);
            Assert.That(vectors.Output, Is.EqualTo(reference.Output).AsCollection);
        }
    }
}
