using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Tasks;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>Jobs of tasks (work items that hold no partition) on an in-process cluster of three silos.</summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class TaskJobTests : ThreeSiloFixture
    {
        private static ClusterJobSpec Spec(string jobId, int tasks) => new()
        {
            JobId = jobId,
            Tasks = tasks,
            TaskKind = TestTaskHandlers.Kind,
            LeaseTimeout = TimeSpan.FromSeconds(1),
        };

        private async Task<JobStatus> SubmitAsync(ClusterJobSpec spec, int[]? stages = null)
        {
            ClusterJob.PrepareTasks(Cluster.Store, spec, "inputs-" + spec.JobId, stages);
            return await ClusterJob.StartAsync(Cluster.Cluster.Client, spec.JobId);
        }

        private string Committed(string jobId, int task)
        {
            using var stream = ClusterJob.OpenTaskOutput(Cluster.Store, jobId, task, "values.txt");
            using var reader = new StreamReader(stream, Encoding.UTF8);
            return reader.ReadToEnd();
        }

        private void AssertOutputs(ClusterJobSpec spec)
        {
            for (int t = 0; t < spec.Tasks; t++)
            {
                Assert.That(Committed(spec.JobId, t), Is.EqualTo(TestTaskHandlers.Expected(t)), $"task {t}'s committed output");
                Assert.That(ClusterJob.TaskOutputNames(Cluster.Store, spec.JobId, t), Is.EqualTo(new[] { "values.txt" }));
            }
        }

        private static void AssertEachTaskCompletedOnce(IReadOnlyList<CoordinatorEvent> log, ClusterJobSpec spec)
        {
            var completed = log.Where(e => e.Kind == "completed").Select(e => e.Task).ToList();
            Assert.That(completed, Is.EquivalentTo(Enumerable.Range(0, spec.Tasks)), "every task committed exactly once");
            // Between a lease and its end no other lease of the same task is live.
            var live = new Dictionary<int, long>();
            foreach (var e in log.Where(e => e.Task >= 0))
            {
                if (e.Kind == "leased")
                {
                    Assert.That(live.ContainsKey(e.Task), Is.False, $"event {e.Sequence}: task {e.Task} leased while lease {live.GetValueOrDefault(e.Task)} of it was live");
                    live[e.Task] = e.Token;
                }
                else if (e.Kind is "completed" or "expired" or "released" || (e.Kind == "rejected" && live.GetValueOrDefault(e.Task) == e.Token))
                {
                    Assert.That(live.Remove(e.Task, out long token) && token == e.Token, Is.True, $"event {e.Sequence}: {e.Kind} of lease {e.Token}, which is not the live lease of task {e.Task}");
                }
            }
        }

        [Test]
        public async Task EveryTaskIsCommittedOnceOnSeveralSilosAndStagesRunInOrder()
        {
            var spec = Spec("tasks-once", 30);
            int[] stages = Enumerable.Range(0, 30).Select(t => t < 15 ? 0 : 1).ToArray();
            Cluster.Tasks.PauseMilliseconds[spec.JobId] = 20;
            var started = await SubmitAsync(spec, stages);
            Assert.That(started.TotalTasks, Is.EqualTo(30));
            Assert.That(started.TotalBuckets, Is.EqualTo(0));
            var status = await Cluster.WaitAsync(spec.JobId);

            Assert.That(status.Finished, Is.True);
            Assert.That(status.DoneTasks, Is.EqualTo(30));
            Assert.That(status.TaskRecords, Is.EqualTo(300));
            Assert.That(status.BytesWritten, Is.EqualTo(Enumerable.Range(0, 30).Sum(t => (long)Encoding.UTF8.GetByteCount(TestTaskHandlers.Expected(t)))));
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            AssertEachTaskCompletedOnce(log, spec);
            // Stage 1 starts when stage 0 is committed.
            long lastStage0 = log.Where(e => e.Kind == "completed" && e.Task < 15).Max(e => e.Sequence);
            long firstStage1 = log.Where(e => e.Kind == "leased" && e.Task >= 15).Min(e => e.Sequence);
            Assert.That(firstStage1, Is.GreaterThan(lastStage0), "no stage-1 task was leased before every stage-0 task was committed");
            var calls = Cluster.Tasks.Calls.Where(c => c.JobId == spec.JobId).ToList();
            Assert.That(calls.Select(c => c.Silo).Distinct().Count(), Is.GreaterThanOrEqualTo(2), "tasks ran on several silos");
            Assert.That(calls.Where(c => c.Task >= 15).Select(c => c.Stage), Is.All.EqualTo(1));
            AssertOutputs(spec);
            // Only the committed attempts remain.
            for (int t = 0; t < spec.Tasks; t++)
                Assert.That(Cluster.Store.ListFolders(spec.JobId, $"tasks/t{t}"), Is.EqualTo(new[] { $"v{ClusterJob.CommittedTaskToken(Cluster.Store, spec.JobId, t)}" }));
        }

        [Test]
        public async Task AHungTaskIsRetriedAfterItsLeaseExpiresAndItsLateOutputIsNeverCommitted()
        {
            var spec = Spec("tasks-hang", 6);
            Cluster.Tasks.ResetHang();
            Cluster.Tasks.HangTask[spec.JobId] = 2;
            Cluster.Tasks.PauseMilliseconds[spec.JobId] = 10;
            await SubmitAsync(spec);
            long hungToken = await Cluster.Tasks.Hung.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await WaitForAsync(() => CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId).Any(e => e.Kind == "completed" && e.Task == 2), 30);
            // The hung worker wakes up after another one committed task 2: it writes its ZOMBIE output and reports.
            Cluster.Tasks.Resume.Set();
            await WaitForAsync(() => CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId).Any(e => e.Kind == "rejected" && e.Token == hungToken), 30);
            var status = await Cluster.WaitAsync(spec.JobId);

            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Any(e => e.Kind == "expired" && e.Token == hungToken), "the hung attempt's lease expired");
            Assert.That(log.Count(e => e.Kind == "leased" && e.Task == 2), Is.GreaterThanOrEqualTo(2), "task 2 was leased again");
            Assert.That(log.Any(e => e.Kind == "completed" && e.Token == hungToken), Is.False, "the hung attempt never committed");
            Assert.That(ClusterJob.CommittedTaskToken(Cluster.Store, spec.JobId, 2), Is.Not.EqualTo(hungToken));
            Assert.That(status.ExpiredLeases, Is.GreaterThanOrEqualTo(1));
            Assert.That(status.RejectedCompletions, Is.GreaterThanOrEqualTo(1));
            Assert.That(Cluster.Tasks.Calls.Any(c => c.JobId == spec.JobId && c.Hung), "the hung attempt did write its output");
            AssertEachTaskCompletedOnce(log, spec);
            AssertOutputs(spec);
        }

        [Test]
        public async Task AZombiesOutputWrittenAfterTheRetryCommittedIsRejectedAndNeverRead()
        {
            var spec = Spec("tasks-zombie", 12);
            Cluster.Tasks.PauseMilliseconds[spec.JobId] = 30;
            var coordinator = Cluster.Coordinator(spec.JobId);
            await SubmitAsync(spec);
            // The test is a worker that takes a task and then goes silent (a paused process).
            var lease = await LeaseAsync(coordinator, "zombie");
            Assert.That(lease.IsTask, Is.True);
            Assert.That(lease.Input, Is.EqualTo(-1), "a task holds no partition");
            await WaitForAsync(() => CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId).Any(e => e.Kind == "completed" && e.Task == lease.Task), 30);

            // It wakes up, writes a complete attempt (files and manifest) under its token, and reports: fenced off.
            var zombie = new ClusterTask(Cluster.Store, spec, lease.Task, lease.Stage, lease.Token);
            try
            {
                zombie.WriteOutput("values.txt", "ZOMBIE\n"u8);
                zombie.WriteManifest();
            }
            catch (IOException)
            {
                // The coordinator's collection may remove the dead attempt's folder while it is written: fenced as well.
            }
            var result = await coordinator.CompleteAsync(new CompletionReport { Token = lease.Token, WorkerId = "zombie", Records = 1 });
            Assert.That(result.Accepted, Is.False);
            Assert.That(result.Reason, Does.Contain("not live"));
            Assert.That(await coordinator.RenewAsync(lease.Token, "zombie"), Is.False, "an expired lease cannot be renewed");

            var status = await Cluster.WaitAsync(spec.JobId);
            Assert.That(status.DoneTasks, Is.EqualTo(spec.Tasks));
            Assert.That(status.TaskRecords, Is.EqualTo(10L * spec.Tasks), "the zombie's record count was not added");
            Assert.That(ClusterJob.CommittedTaskToken(Cluster.Store, spec.JobId, lease.Task), Is.Not.EqualTo(lease.Token));
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Any(e => e.Kind == "rejected" && e.Token == lease.Token));
            AssertEachTaskCompletedOnce(log, spec);
            AssertOutputs(spec);
        }

        [Test]
        public async Task ACompletionWithoutItsManifestIsRejectedAndTheTaskReturnsToThePool()
        {
            // A long lease: the completion below must reach a live lease even on a loaded machine (a 1 s lease could expire first).
            var spec = Spec("tasks-no-manifest", 12) with { LeaseTimeout = TimeSpan.FromSeconds(30) };
            Cluster.Tasks.PauseMilliseconds[spec.JobId] = 50;
            var coordinator = Cluster.Coordinator(spec.JobId);
            await SubmitAsync(spec);
            var lease = await LeaseAsync(coordinator, "half");
            // A worker killed between its files and its manifest, whose completion still arrives (a bug or a replay).
            new ClusterTask(Cluster.Store, spec, lease.Task, lease.Stage, lease.Token).WriteOutput("values.txt", "HALF\n"u8);
            var result = await coordinator.CompleteAsync(new CompletionReport { Token = lease.Token, WorkerId = "half" });
            Assert.That(result.Accepted, Is.False);
            Assert.That(result.Reason, Does.Contain("manifest.json"));
            await Cluster.WaitAsync(spec.JobId);
            AssertOutputs(spec);
            AssertEachTaskCompletedOnce(CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId), spec);
        }

        [Test]
        public async Task ATaskThatFailsInEveryAttemptFailsTheJobWithItsError()
        {
            // Task 4 throws each time: after MaxFailedAttempts failures the job fails, leases nothing more, and
            // WaitAsync throws with the task and its last error; the failures survive a coordinator restart.
            var spec = Spec("tasks-poison", 8) with { LeaseTimeout = TimeSpan.FromSeconds(30) };
            Cluster.Tasks.FailTask[spec.JobId] = 4;
            var coordinator = Cluster.Coordinator(spec.JobId);
            await SubmitAsync(spec);
            var failure = Assert.ThrowsAsync<InvalidOperationException>(async () =>
                await ClusterJob.WaitAsync(Cluster.Cluster.Client, spec.JobId, TimeSpan.FromMilliseconds(25)).WaitAsync(TimeSpan.FromSeconds(60)));
            Assert.That(failure!.Message, Does.Contain("task 4").And.Contain($"{ClusterJobSpec.MaxFailedAttempts} attempts").And.Contain("planted failure of task 4"));
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Count(e => e.Kind == "failed" && e.Task == 4), Is.EqualTo(ClusterJobSpec.MaxFailedAttempts), "each failed attempt is logged");
            Assert.That(log.Count(e => e.Kind == "failed-job"), Is.EqualTo(1));
            await Cluster.Cluster.DeactivateAsync(coordinator);
            var status = await coordinator.GetStatusAsync();
            Assert.That(status.Finished, Is.False);
            Assert.That(status.FailureReason, Does.Contain("task 4"), "the failure is in the checkpoint");
            Assert.That((await coordinator.LeaseAsync(new LeaseRequest { WorkerId = "late" })).Status, Is.EqualTo(LeaseStatus.Finished), "a failed job leases nothing more");
        }

        [Test]
        public async Task ACoordinatorDeactivatedDuringTasksResumesFromItsCheckpoint()
        {
            var spec = Spec("tasks-restart", 40);
            Cluster.Tasks.PauseMilliseconds[spec.JobId] = 25;
            var coordinator = Cluster.Coordinator(spec.JobId);
            await SubmitAsync(spec);
            foreach (int threshold in new[] { 10, 25 })
            {
                await WaitForAsync(async () => (await coordinator.GetStatusAsync()).DoneTasks >= threshold, 30);
                await Cluster.Cluster.DeactivateAsync(coordinator);
            }
            var status = await Cluster.WaitAsync(spec.JobId);

            Assert.That(status.Activations, Is.GreaterThanOrEqualTo(3), "two restarts");
            var log = CoordinatorEvent.ReadLog(Cluster.Store, spec.JobId);
            Assert.That(log.Count(e => e.Kind == "activated" && e.Detail.StartsWith("resumed from the checkpoint", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(2));
            Assert.That(log.Select(e => e.Sequence), Is.EqualTo(Enumerable.Range(1, log.Count).Select(q => (long)q)), "the event sequence continues across activations");
            AssertEachTaskCompletedOnce(log, spec);
            AssertOutputs(spec);
        }

        [Test]
        public void TaskSettingsAreCheckedByName()
        {
            var store = Cluster.Store;
            var e = Assert.Throws<ArgumentException>(() => ClusterJob.PrepareTasks(store, Spec("bad-kind", 3) with { TaskKind = "" }, "x"));
            Assert.That(e!.Message, Does.Contain("ClusterJobSpec.TaskKind").And.Contain("names the handler"));
            e = Assert.Throws<ArgumentException>(() => ClusterJob.PrepareTasks(store, Spec("bad-kind2", 3) with { TaskKind = "a/b" }, "x"));
            Assert.That(e!.Message, Does.Contain("TaskKind 'a/b'"));
            var range = Assert.Throws<ArgumentOutOfRangeException>(() => ClusterJob.PrepareTasks(store, Spec("bad-stages", 3), "x", new[] { 0, 1, 0 }));
            Assert.That(range!.Message, Does.Contain("taskStages[2] is 0").And.Contain("never decrease"));
            range = Assert.Throws<ArgumentOutOfRangeException>(() => ClusterJob.PrepareTasks(store, Spec("bad-tasks", 0) with { TaskKind = "" }, "x"));
            Assert.That(range!.Message, Does.Contain("ClusterJobSpec.Items is 0"));
            e = Assert.Throws<ArgumentException>(() => ClusterJob.PrepareTasks(store, Spec("no-kind-tasks", 0), "x"));
            Assert.That(e!.Message, Does.Contain("Tasks is 0"));
            Assert.That(store.ListJobs(), Has.None.StartsWith("bad-"), "nothing was written");

            // The same job again is accepted without writing; other inputs under its id are refused. (A folder of its
            // own: the cluster's workers would start a job in theirs.)
            string root = TempFolder.Create();
            try
            {
                ResubmissionsAreCheckedByName(new Storage.DirectoryPartitionStore(root));
            }
            finally
            {
                TempFolder.Delete(root);
            }
        }

        private static void ResubmissionsAreCheckedByName(Storage.DirectoryPartitionStore store)
        {
            var spec = Spec("resubmit", 2);
            Assert.That(ClusterJob.PrepareTasks(store, spec, "a"), Is.True);
            Assert.That(ClusterJob.PrepareTasks(store, spec, "a"), Is.False);
            var other = Assert.Throws<InvalidOperationException>(() => ClusterJob.PrepareTasks(store, spec, "b"));
            Assert.That(other!.Message, Does.Contain("other inputs"));
            other = Assert.Throws<InvalidOperationException>(() => ClusterJob.PrepareTasks(store, spec with { Tasks = 3 }, "a"));
            Assert.That(other!.Message, Does.Contain("Tasks: 2 vs 3"));
            var notStarted = Assert.Throws<InvalidOperationException>(() => ClusterJob.OpenTaskOutput(store, "resubmit", 0, "values.txt"));
            Assert.That(notStarted!.Message, Does.Contain("never started"));
            var vectors = Assert.Throws<InvalidOperationException>(() => ClusterJob.ReadVectors(store, "resubmit"));
            Assert.That(vectors!.Message, Does.Contain("trains no vectors"));
        }

        /// <summary>Takes a task as worker <paramref name="worker"/> (the silos' workers take them too).</summary>
        private static async Task<BucketLease> LeaseAsync(ICoordinatorGrain coordinator, string worker)
        {
            for (int attempt = 0; attempt < 2000; attempt++)
            {
                var answer = await coordinator.LeaseAsync(new LeaseRequest { WorkerId = worker });
                Assert.That(answer.Status, Is.Not.EqualTo(LeaseStatus.Finished), "the job finished before the test got a task");
                if (answer.Lease is { } lease)
                    return lease;
                await Task.Delay(2);
            }
            Assert.Fail("no task was leased to the test");
            return null!;
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
