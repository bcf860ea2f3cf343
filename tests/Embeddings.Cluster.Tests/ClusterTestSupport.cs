using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Tasks;
using Embeddings.Cluster.Training;
using Microsoft.Extensions.DependencyInjection;
using NUnit.Framework;
using Orleans.Hosting;
using Orleans.TestingHost;

namespace Embeddings.Cluster.Tests
{
    /// <summary>A fresh empty folder under the system temp folder.</summary>
    internal static class TempFolder
    {
        public static string Create()
        {
            string path = Path.Combine(Path.GetTempPath(), "embeddings-cluster-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            return path;
        }

        public static void Delete(string path)
        {
            try
            {
                if (Directory.Exists(path))
                    Directory.Delete(path, recursive: true);
            }
            catch (IOException)
            {
                // A zombie write may still land; the temp folder is cleaned by the system.
            }
        }
    }

    /// <summary>One training call as the test trainer saw it.</summary>
    internal sealed record TrainingCall(string JobId, long WorkItem, int Input, int Output, long StartTicks, long EndTicks, bool Hung);

    /// <summary>
    /// The bucket kernel the test silos use: the real <see cref="SkipGramBucketTrainer"/>, plus a record of every call
    /// (for the lock checks), an optional pause per bucket (so that buckets overlap in time) and an optional hang of one
    /// bucket's first attempt (a worker that stops making progress mid-bucket).
    /// </summary>
    internal sealed class TestTrainer : IBucketTrainer
    {
        private readonly SkipGramBucketTrainer _inner = new();
        private readonly ConcurrentDictionary<(string, long), int> _attempts = new();

        /// <summary>The silos' trainers by silo name (each silo has its own instance over this shared state).</summary>
        public ConcurrentDictionary<string, SiloTrainer> Silos { get; } = new();

        /// <summary>Silos whose next bucket blocks (reporting progress, so the lease lives) until the worker is cancelled.</summary>
        public ConcurrentDictionary<string, TaskCompletionSource<long>> BlockUntilCancelled { get; } = new();

        public ConcurrentQueue<TrainingCall> Calls { get; } = new();

        /// <summary>Sleep per bucket, in milliseconds, keyed by job.</summary>
        public ConcurrentDictionary<string, int> PauseMilliseconds { get; } = new();

        /// <summary>The bucket whose first attempt hangs, keyed by job.</summary>
        public ConcurrentDictionary<string, long> HangItem { get; } = new();

        /// <summary>The bucket whose first attempt throws, keyed by job.</summary>
        public ConcurrentDictionary<string, long> FailItem { get; } = new();

        /// <summary>Set when the hanging attempt started.</summary>
        public TaskCompletionSource<long> Hung { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Lets the hanging attempt go on.</summary>
        public ManualResetEventSlim Resume { get; private set; } = new(false);

        public void ResetHang()
        {
            Hung = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Resume = new(false);
        }

        public BucketResult Train(BucketWork work, float[] input, float[] output, BucketPairs pairs, IBucketProgress progress, CancellationToken cancellation) =>
            Train("", work, input, output, pairs, progress, cancellation);

        public BucketResult Train(string silo, BucketWork work, float[] input, float[] output, BucketPairs pairs, IBucketProgress progress, CancellationToken cancellation)
        {
            if (BlockUntilCancelled.TryRemove(silo, out var blocked))
            {
                blocked.TrySetResult(work.WorkItem);
                while (!cancellation.IsCancellationRequested)
                {
                    progress.Report(0);
                    cancellation.WaitHandle.WaitOne(20);
                }
                cancellation.ThrowIfCancellationRequested();
            }
            long start = Stopwatch.GetTimestamp();
            int attempt = _attempts.AddOrUpdate((work.Spec.JobId, work.WorkItem), 1, (_, a) => a + 1);
            if (attempt == 1 && FailItem.TryGetValue(work.Spec.JobId, out long failing) && failing == work.WorkItem)
                throw new InvalidOperationException($"Planted failure of bucket {work.WorkItem}.");
            bool hang = attempt == 1 && HangItem.TryGetValue(work.Spec.JobId, out long item) && item == work.WorkItem;
            if (hang)
            {
                Hung.TrySetResult(work.WorkItem);
                // No progress reported while hanging: the worker stops renewing and the lease expires.
                if (!Resume.Wait(TimeSpan.FromSeconds(60)))
                    throw new TimeoutException("The hanging bucket was never resumed.");
            }
            if (PauseMilliseconds.TryGetValue(work.Spec.JobId, out int pause) && pause > 0)
            {
                Thread.Sleep(pause);
                progress.Report(0);
            }
            var result = _inner.Train(work, input, output, pairs, progress, cancellation);
            Calls.Enqueue(new TrainingCall(work.Spec.JobId, work.WorkItem, work.Input, work.Output, start, Stopwatch.GetTimestamp(), hang));
            return result;
        }
    }

    /// <summary>The trainer of one silo: the shared <see cref="TestTrainer"/> told which silo calls.</summary>
    internal sealed class SiloTrainer : IBucketTrainer
    {
        private readonly TestTrainer _shared;

        public SiloTrainer(TestTrainer shared, string silo)
        {
            _shared = shared;
            Silo = silo;
        }

        public string Silo { get; }

        public BucketResult Train(BucketWork work, float[] input, float[] output, BucketPairs pairs, IBucketProgress progress, CancellationToken cancellation) =>
            _shared.Train(Silo, work, input, output, pairs, progress, cancellation);
    }

    /// <summary>One task run as the test handler saw it.</summary>
    internal sealed record TaskCall(string Silo, string JobId, int Task, int Stage, long Token, long StartTicks, long EndTicks, bool Hung);

    /// <summary>
    /// The task handler of kind "test-range" the test silos register: task t writes "values.txt", the squares of
    /// 10 t to 10 t + 9, one per line; optional pause per task, and an optional hang of one task's first attempt (no
    /// progress until <see cref="Resume"/>; the hung attempt then writes "ZOMBIE" lines, so a committed zombie output
    /// would show).
    /// </summary>
    internal sealed class TestTaskHandlers
    {
        public const string Kind = "test-range";
        private readonly ConcurrentDictionary<(string, int), int> _attempts = new();

        public ConcurrentQueue<TaskCall> Calls { get; } = new();

        public ConcurrentDictionary<string, int> PauseMilliseconds { get; } = new();

        public ConcurrentDictionary<string, int> HangTask { get; } = new();

        /// <summary>The task that throws in every attempt, keyed by job.</summary>
        public ConcurrentDictionary<string, int> FailTask { get; } = new();

        public TaskCompletionSource<long> Hung { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim Resume { get; private set; } = new(false);

        public void ResetHang()
        {
            Hung = new(TaskCreationOptions.RunContinuationsAsynchronously);
            Resume = new(false);
        }

        public ConcurrentDictionary<string, Recommendation.BatchRecommendationTaskHandler> RecommendHandlers { get; } = new();

        /// <summary>The recommendation task whose first attempt hangs mid-task, keyed by job.</summary>
        public ConcurrentDictionary<string, int> RecommendHang { get; } = new();

        public TaskCompletionSource<long> RecommendHung { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ManualResetEventSlim RecommendResume { get; } = new(false);

        /// <summary>How the hung recommendation attempt ended: "returned" (it wrote its shard), or the exception's type (cancelled when its renewal was refused).</summary>
        public TaskCompletionSource<string> RecommendHungOutcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public static string Expected(int task) => string.Concat(Enumerable.Range(10 * task, 10).Select(v => $"{(long)v * v}\n"));

        public ClusterTaskResult Run(string silo, ClusterTask task, IBucketProgress progress, CancellationToken cancellation)
        {
            long start = Stopwatch.GetTimestamp();
            int attempt = _attempts.AddOrUpdate((task.JobId, task.Index), 1, (_, a) => a + 1);
            if (FailTask.TryGetValue(task.JobId, out int failing) && failing == task.Index)
                throw new System.IO.InvalidDataException($"planted failure of task {task.Index}, attempt {attempt}");
            bool hang = attempt == 1 && HangTask.TryGetValue(task.JobId, out int hanging) && hanging == task.Index;
            if (hang)
            {
                Hung.TrySetResult(task.Token);
                if (!Resume.Wait(TimeSpan.FromSeconds(60)))
                    throw new TimeoutException("The hanging task was never resumed.");
            }
            if (PauseMilliseconds.TryGetValue(task.JobId, out int pause) && pause > 0)
            {
                Thread.Sleep(pause);
                progress.Report(0);
            }
            string text = hang ? string.Concat(Enumerable.Repeat("ZOMBIE\n", 10)) : Expected(task.Index);
            task.WriteOutput("values.txt", System.Text.Encoding.UTF8.GetBytes(text));
            Calls.Enqueue(new TaskCall(silo, task.JobId, task.Index, task.Stage, task.Token, start, Stopwatch.GetTimestamp(), hang));
            return new ClusterTaskResult(10, 0);
        }
    }

    /// <summary>The "test-range" handler of one silo.</summary>
    internal sealed class SiloTaskHandler(TestTaskHandlers shared, string silo) : IClusterTaskHandler
    {
        public string Kind => TestTaskHandlers.Kind;

        public ClusterTaskResult Run(ClusterTask task, IBucketProgress progress, CancellationToken cancellation) => shared.Run(silo, task, progress, cancellation);
    }

    /// <summary>
    /// The "recommend" handler of the test silos: the real <see cref="Recommendation.BatchRecommendationTaskHandler"/>
    /// (one per silo), with an optional hang of one task's first attempt mid-task (after its first user, no more
    /// progress until <see cref="TestTaskHandlers.RecommendResume"/>).
    /// </summary>
    internal sealed class SiloRecommendHandler(TestTaskHandlers shared, string silo) : IClusterTaskHandler
    {
        private readonly Recommendation.BatchRecommendationTaskHandler _inner = shared.RecommendHandlers.GetOrAdd(silo, _ => new());

        public string Kind => _inner.Kind;

        public ClusterTaskResult Run(ClusterTask task, IBucketProgress progress, CancellationToken cancellation)
        {
            bool hang = shared.RecommendHang.TryGetValue(task.JobId, out int hanging) && hanging == task.Index && shared.RecommendHung.TrySetResult(task.Token);
            if (!hang)
                return _inner.Run(task, progress, cancellation);
            try
            {
                var result = _inner.Run(task, new HangingProgress(progress, shared.RecommendResume), cancellation);
                shared.RecommendHungOutcome.TrySetResult("returned");
                return result;
            }
            catch (Exception e)
            {
                shared.RecommendHungOutcome.TrySetResult(e.GetType().Name);
                throw;
            }
        }

        /// <summary>Passes the first report on, then blocks the caller (the worker is stuck mid-task) until resumed.</summary>
        private sealed class HangingProgress(IBucketProgress inner, ManualResetEventSlim resume) : IBucketProgress
        {
            private int _reports;

            public void Report(long pairsDone)
            {
                if (Interlocked.Increment(ref _reports) == 2 && !resume.Wait(TimeSpan.FromSeconds(60)))
                    throw new TimeoutException("The hanging recommendation task was never resumed.");
                inner.Report(pairsDone);
            }
        }
    }


    /// <summary>
    /// A fixture whose tests share one in-process cluster of three silos (<see cref="Cluster"/>), started before the
    /// first test and stopped after the last, with the temporary folders of <see cref="NewFolder"/> deleted then.
    /// </summary>
    public abstract class ThreeSiloFixture
    {
        private readonly List<string> _folders = new();

        /// <summary>The fixture's cluster.</summary>
        private protected ThreeSiloCluster Cluster { get; private set; } = null!;

        [OneTimeSetUp]
        public async Task StartCluster() => Cluster = await ThreeSiloCluster.StartAsync();

        [OneTimeTearDown]
        public async Task StopCluster()
        {
            await Cluster.DisposeAsync();
            foreach (string folder in _folders)
                TempFolder.Delete(folder);
        }

        /// <summary>A new temporary folder, deleted when the fixture's tests end.</summary>
        private protected string NewFolder()
        {
            string folder = TempFolder.Create();
            _folders.Add(folder);
            return folder;
        }
    }
    /// <summary>An in-process cluster of three silos, each running the worker loop over one storage folder.</summary>
    internal sealed class ThreeSiloCluster : IAsyncDisposable
    {
        private ThreeSiloCluster(InProcessTestCluster cluster, string root, TestTrainer trainer, TestTaskHandlers tasks)
        {
            Cluster = cluster;
            Root = root;
            Trainer = trainer;
            Tasks = tasks;
            Store = new DirectoryPartitionStore(root);
        }

        public TestTaskHandlers Tasks { get; }

        public InProcessTestCluster Cluster { get; }

        public string Root { get; }

        public TestTrainer Trainer { get; }

        public DirectoryPartitionStore Store { get; }

        public static async Task<ThreeSiloCluster> StartAsync()
        {
            string root = TempFolder.Create();
            var trainer = new TestTrainer();
            var tasks = new TestTaskHandlers();
            var builder = new InProcessTestClusterBuilder(3);
            builder.ConfigureSilo((options, silo) =>
            {
                var siloTrainer = trainer.Silos.GetOrAdd(options.SiloName, name => new SiloTrainer(trainer, name));
                silo.Services.AddSingleton<IBucketTrainer>(siloTrainer);
                silo.Services.AddSingleton<IClusterTaskHandler>(new SiloTaskHandler(tasks, options.SiloName));
                silo.Services.AddSingleton<IClusterTaskHandler>(new SiloRecommendHandler(tasks, options.SiloName));
                silo.AddPartitionedTrainingWorker(o =>
                {
                    o.Storage = root;
                    o.PollInterval = TimeSpan.FromMilliseconds(20);
                });
            });
            var cluster = builder.Build();
            await cluster.DeployAsync();
            return new ThreeSiloCluster(cluster, root, trainer, tasks);
        }

        public ICoordinatorGrain Coordinator(string jobId) => Cluster.Client.GetGrain<ICoordinatorGrain>(jobId);

        public async Task<JobStatus> WaitAsync(string jobId, int seconds = 60)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
            try
            {
                return await ClusterJob.WaitAsync(Cluster.Client, jobId, TimeSpan.FromMilliseconds(25), cancellation: timeout.Token);
            }
            catch (OperationCanceledException)
            {
                var status = await Coordinator(jobId).GetStatusAsync();
                Assert.Fail($"Job {jobId} did not finish within {seconds} s: {status.DoneTasks} of {status.TotalTasks} tasks and {status.DoneBuckets} of {status.TotalBuckets} buckets done, {status.ActiveLeases} leases live.");
                throw;
            }
        }

        public async ValueTask DisposeAsync()
        {
            Trainer.Resume.Set();
            Tasks.Resume.Set();
            Tasks.RecommendResume.Set();
            await Cluster.StopAllSilosAsync();
            await Cluster.DisposeAsync();
            TempFolder.Delete(Root);
        }
    }

    /// <summary>Pairs of test jobs.</summary>
    internal static class TestPairs
    {
        /// <summary>Random pairs over <paramref name="items"/> items, a different set per episode.</summary>
        public static Func<int, IEnumerable<(int, int)>> Random(int items, int pairsPerEpisode, int seed) => episode =>
        {
            var random = new System.Random(seed * 1000 + episode);
            return Enumerable.Range(0, pairsPerEpisode).Select(_ => (random.Next(items), random.Next(items))).ToList();
        };

        /// <summary>
        /// A planted-communities graph: <paramref name="communities"/> blocks of <paramref name="size"/> nodes, each node
        /// linked to <paramref name="inside"/> random nodes of its block and <paramref name="outside"/> random nodes of others.
        /// Returns the community of each node and the pairs of an episode (every link in both directions, shuffled per episode).
        /// </summary>
        public static (int[] Community, Func<int, IEnumerable<(int, int)>> Pairs) PlantedCommunities(int communities, int size, int inside, int outside, int seed)
        {
            int n = communities * size;
            var community = new int[n];
            for (int v = 0; v < n; v++)
                community[v] = v / size;
            var random = new System.Random(seed);
            var links = new List<(int, int)>();
            for (int v = 0; v < n; v++)
            {
                for (int k = 0; k < inside; k++)
                {
                    int u = community[v] * size + random.Next(size - 1);
                    if (u >= v)
                        u++;
                    links.Add((v, u));
                    links.Add((u, v));
                }
                for (int k = 0; k < outside; k++)
                {
                    int u = random.Next(n - size);
                    if (u >= community[v] * size)
                        u += size;
                    links.Add((v, u));
                    links.Add((u, v));
                }
            }
            return (community, episode =>
            {
                var shuffled = links.ToArray();
                new System.Random(seed * 31 + episode).Shuffle(shuffled);
                return shuffled;
            }
            );
        }
    }
}
