using System;
using System.IO;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Worker;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    [TestFixture]
    public sealed class BadInputTests : StoreFixture
    {
        private static ClusterJobSpec Valid => new() { JobId = "job-1", Items = 50, Partitions = 4, Dimension = 8 };

        [TestCase(0)]
        [TestCase(65)]
        public void PartitionsOutOfRange(int partitions)
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => (Valid with { Partitions = partitions }).Validate());
            Assert.That(e!.ParamName, Is.EqualTo("Partitions"));
            Assert.That(e.Message, Does.Contain("ClusterJobSpec.Partitions is " + partitions).And.Contain("between 1 and 64"));
        }

        [Test]
        public void OtherSettingsOutOfRange()
        {
            Assert.That(() => (Valid with { Items = 3 }).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("fewer than Partitions"));
            Assert.That(() => (Valid with { Dimension = 0 }).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ClusterJobSpec.Dimension is 0"));
            Assert.That(() => (Valid with { Negatives = 0 }).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ClusterJobSpec.Negatives"));
            Assert.That(() => (Valid with { LearningRate = 0 }).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ClusterJobSpec.LearningRate"));
            Assert.That(() => (Valid with { LeaseTimeout = TimeSpan.FromMilliseconds(5) }).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ClusterJobSpec.LeaseTimeout"));
            Assert.That(() => (Valid with { Ordering = (BucketOrdering)7 }).Validate(), Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("Ordering"));
            Assert.That(() => (Valid with { JobId = "../etc" }).Validate(), Throws.ArgumentException.With.Message.Contains("ClusterJobSpec.JobId '../etc'"));
            Assert.That(() => (Valid with { JobId = "" }).Validate(), Throws.ArgumentException.With.Message.Contains("JobId"));
        }

        [Test]
        public void AMissingStorageFolderIsNamed()
        {
            string missing = Path.Combine(Root, "not-mounted");
            Assert.That(() => new DirectoryPartitionStore(missing),
                Throws.TypeOf<DirectoryNotFoundException>().With.Message.Contains(missing).And.Message.Contains("create it"));
            Assert.That(() => new DirectoryPartitionStore(" "), Throws.ArgumentException.With.Message.Contains("storage folder is empty"));
            Assert.That(() => new ClusterWorkerOptions().Validate(), Throws.ArgumentException.With.Message.Contains("ClusterWorkerOptions.Storage"));
            Assert.That(() => new ClusterWorkerOptions { Storage = Root, PollInterval = TimeSpan.Zero }.Validate(),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("ClusterWorkerOptions.PollInterval"));
        }

        [Test]
        public void PairsOutsideTheItemsAreRefusedBeforeAnythingIsCommitted()
        {
            Assert.That(() => ClusterJob.Prepare(Store, Valid, e => new[] { (1, 2), (3, 50) }),
                Throws.TypeOf<ArgumentOutOfRangeException>().With.Message.Contains("Pair 1 of episode 0 is (3, 50)").And.Message.Contains("ClusterJobSpec.Items = 50"));
            Assert.That(Store.ListJobs(), Is.Empty, "no job.json was written");
        }

        [Test]
        public void ResubmittingAnotherJobUnderTheSameIdIsRefused()
        {
            ClusterJob.Prepare(Store, Valid, e => new[] { (1, 2) });
            ClusterJob.Prepare(Store, Valid, e => new[] { (1, 2) });
            Assert.That(() => ClusterJob.Prepare(Store, Valid with { Dimension = 16 }, e => new[] { (1, 2) }),
                Throws.InvalidOperationException.With.Message.Contains("Dimension: 8 vs 16").And.Message.Contains("choose another JobId"));
            Assert.That(() => ClusterJob.Prepare(Store, Valid, e => new[] { (1, 3) }),
                Throws.InvalidOperationException.With.Message.Contains("other pairs"));
        }

        [Test]
        public void AnInterruptedSubmissionsLeftoversAreReplaced()
        {
            // A submission killed before its job.json (the commit point) left partitions of other settings behind.
            var other = Valid with { Seed = 99 };
            ClusterJob.Prepare(Store, other, e => new[] { (1, 2) });
            File.Delete(Path.Combine(Root, Valid.JobId, "job.json"));
            Store.WritePartition(Valid.JobId, PartitionSide.Input, 1, 5, Valid.RowsOf(1), Valid.Dimension, new float[Valid.RowsOf(1) * Valid.Dimension]);

            ClusterJob.Prepare(Store, Valid, e => new[] { (1, 2) });
            Assert.That(Store.ListPartitionVersions(Valid.JobId, PartitionSide.Input, 1), Is.EqualTo(new long[] { 0 }));
            string fresh = TempFolder.Create();
            try
            {
                var freshStore = new DirectoryPartitionStore(fresh);
                ClusterJob.Prepare(freshStore, Valid, e => new[] { (1, 2) });
                Assert.That(ClusterJob.TrainInProcess(Store, Valid.JobId).Input, Is.EqualTo(ClusterJob.TrainInProcess(freshStore, Valid.JobId).Input).AsCollection);
            }
            finally
            {
                TempFolder.Delete(fresh);
            }
        }

        [Test]
        public void ReadingAJobThatIsNotThereOrNotStarted()
        {
            Assert.That(() => ClusterJob.ReadSpec(Store, "nothing"), Throws.InvalidOperationException.With.Message.Contains("There is no job 'nothing'").And.Message.Contains("submit it first"));
            ClusterJob.Prepare(Store, Valid, e => new[] { (1, 2) });
            Assert.That(() => ClusterJob.ReadVectors(Store, Valid.JobId), Throws.InvalidOperationException.With.Message.Contains("never started"));
            File.WriteAllText(Path.Combine(Root, Valid.JobId, "job.json"), "{ not json");
            Assert.That(() => ClusterJob.ReadSpec(Store, Valid.JobId), Throws.InvalidOperationException.With.Message.Contains("cannot be read"));
        }
    }
}
