using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Recommendation;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Tasks;
using Embeddings.Cluster.Training;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans;
using Orleans.Runtime;

namespace Embeddings.Cluster.Worker
{
    /// <summary>
    /// The worker loop of a silo: it asks the coordinators of the jobs in the storage for a bucket, loads the two
    /// partitions' current versions (or keeps them from the previous bucket when they are still current), trains
    /// them with the <see cref="IBucketTrainer"/>, writes both as new versions (named by the lease's token,
    /// atomically), and reports completion. While a bucket trains, the lease is renewed every quarter of the lease
    /// timeout, but only while the trainer reports progress: a stuck trainer lets its lease expire like a dead
    /// worker. A lost lease (renewal refused) cancels the training; a stopping silo gives its lease back.
    /// </summary>
    internal sealed class ClusterWorker : BackgroundService
    {
        private readonly IGrainFactory _grains;
        private readonly IPartitionStore _store;
        private readonly IBucketTrainer _trainer;
        private readonly ClusterWorkerOptions _options;
        private readonly ILogger<ClusterWorker> _log;
        private readonly string _workerId;
        private readonly TimeProvider _time = TimeProvider.System;
        /// <summary>A finished job is asked again after this long: it may have been deleted and submitted anew under its id.</summary>
        private static readonly TimeSpan FinishedRecheck = TimeSpan.FromSeconds(10);

        private readonly Dictionary<string, (string Sha256, ClusterJobData Data)> _jobs = new(StringComparer.Ordinal);
        private readonly Dictionary<string, DateTimeOffset> _finished = new(StringComparer.Ordinal);
        private readonly HashSet<string> _unhandled = new(StringComparer.Ordinal);
        private readonly Dictionary<string, IClusterTaskHandler> _handlers = new(StringComparer.Ordinal);
        private Resident? _input, _output;

        public ClusterWorker(IGrainFactory grains, IPartitionStore store, IBucketTrainer trainer, IEnumerable<IClusterTaskHandler> handlers, IOptions<ClusterWorkerOptions> options,
            ILocalSiloDetails silo, ILogger<ClusterWorker> log)
        {
            _grains = grains;
            _store = store;
            _trainer = trainer;
            _options = options.Value;
            _log = log;
            _workerId = silo.Name + "@" + silo.SiloAddress.ToParsableString();
            // A handler registered for a built-in kind replaces the built-in one; two others of one kind are an error.
            foreach (var handler in handlers.OrderBy(h => IsBuiltIn(h) ? 1 : 0))
            {
                if (_handlers.TryGetValue(handler.Kind, out var registered))
                {
                    if (ReferenceEquals(registered, handler) || IsBuiltIn(handler))
                        continue;
                    throw new InvalidOperationException(
                        $"Two cluster task handlers of kind '{handler.Kind}' are registered in the silo ({registered.GetType().Name} and {handler.GetType().Name}): register one handler per job kind.");
                }
                _handlers[handler.Kind] = handler;
            }
        }

        /// <summary>A partition held in memory: exactly the content of that version in the storage.</summary>
        private static bool IsBuiltIn(IClusterTaskHandler handler) => handler is BatchRecommendationTaskHandler or PairTaskHandler;

        private sealed record Resident(string JobId, int Partition, long Version, float[] Values);

        protected override async Task ExecuteAsync(CancellationToken stopping)
        {
            await Task.Yield();
            while (!stopping.IsCancellationRequested)
            {
                bool worked = false;
                try
                {
                    foreach (string jobId in _store.ListJobs())
                    {
                        if ((_finished.TryGetValue(jobId, out var finishedAt) && _time.GetUtcNow() - finishedAt < FinishedRecheck) || !Handles(jobId))
                            continue;
                        var coordinator = _grains.GetGrain<ICoordinatorGrain>(jobId);
                        var result = await coordinator.LeaseAsync(Request(jobId)).ConfigureAwait(false);
                        if (_jobs.TryGetValue(jobId, out var cached) && result.JobSha256.Length > 0 && cached.Sha256 != result.JobSha256)
                        {
                            // The job was deleted and submitted anew under its id: read it again (a lease granted on it is given back).
                            _jobs.Remove(jobId);
                            _finished.Remove(jobId);
                            if (result.Lease is { } stale)
                                await coordinator.ReleaseAsync(stale.Token, _workerId).ConfigureAwait(false);
                            continue;
                        }
                        if (result.Status != LeaseStatus.Finished)
                            _finished.Remove(jobId);
                        if (result.Status == LeaseStatus.Finished)
                        {
                            _finished[jobId] = _time.GetUtcNow();
                            if (_input?.JobId == jobId)
                                _input = null;
                            if (_output?.JobId == jobId)
                                _output = null;
                            continue;
                        }
                        if (result.Status == LeaseStatus.Granted && result.Lease is { } lease)
                        {
                            if (lease.IsTask)
                                await RunTaskAsync(coordinator, lease, stopping).ConfigureAwait(false);
                            else
                                await RunBucketAsync(coordinator, lease, stopping).ConfigureAwait(false);
                            worked = true;
                            break;
                        }
                    }
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e)
                {
                    // A coordinator being moved, a silo leaving, a storage hiccup: try again after the poll interval.
                    _log.LogWarning(e, "Worker {Worker}: {Message}; trying again.", _workerId, e.Message);
                }
                if (!worked)
                {
                    try
                    {
                        await Task.Delay(_options.PollInterval, stopping).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }

        private LeaseRequest Request(string jobId) => new()
        {
            WorkerId = _workerId,
            ResidentInput = _input?.JobId == jobId ? _input.Partition : -1,
            ResidentInputVersion = _input?.JobId == jobId ? _input.Version : -1,
            ResidentOutput = _output?.JobId == jobId ? _output.Partition : -1,
            ResidentOutputVersion = _output?.JobId == jobId ? _output.Version : -1,
        };

        /// <summary>False for a job with tasks of a kind no handler of this silo runs (logged once): its coordinator is not asked.</summary>
        private bool Handles(string jobId)
        {
            var spec = Job(jobId).Spec;
            if (spec.Tasks == 0 || _handlers.ContainsKey(spec.TaskKind))
                return true;
            if (_unhandled.Add(jobId))
                _log.LogWarning("Worker {Worker}: job {Job} has tasks of kind '{Kind}', and this silo has no handler of that kind (registered: {Kinds}); the silo leaves the job to others.",
                    _workerId, jobId, spec.TaskKind, _handlers.Count == 0 ? "none" : string.Join(", ", _handlers.Keys));
            return false;
        }

        private ClusterJobData Job(string jobId)
        {
            if (!_jobs.TryGetValue(jobId, out var job))
            {
                var (description, bytes) = JobFiles.ReadDescription(_store, jobId);
                _jobs[jobId] = job = (JobFiles.Sha256(bytes), new ClusterJobData(description.Spec, description.ItemCounts, description.EpisodeTokens));
            }
            return job.Data;
        }

        private async Task RunBucketAsync(ICoordinatorGrain coordinator, BucketLease lease, CancellationToken stopping)
        {
            var job = Job(lease.JobId);
            var spec = job.Spec;
            var work = new BucketWork(job, lease.WorkItem, lease.Epoch, lease.Episode, lease.Input, lease.Output);
            var cost = new BucketCost();
            var outcome = await RunLeasedAsync(coordinator, lease, (progress, cancellation) =>
            {
                long storageStart = Stopwatch.GetTimestamp();
                // Taken out of the resident slots while they change: on any failure they are gone, never stale.
                float[] inputValues = Take(ref _input, lease.JobId, lease.Input, lease.InputVersion, PartitionSide.Input, spec, cost);
                progress.Report(0);
                float[] outputValues = Take(ref _output, lease.JobId, lease.Output, lease.OutputVersion, PartitionSide.Output, spec, cost);
                using var pairs = lease.PairsToken > 0
                    ? JobFiles.OpenTaskPairs(_store, lease.JobId, lease.Epoch * spec.Episodes + lease.Episode, lease.PairsToken, lease.Episode, lease.Input, lease.Output)
                    : JobFiles.OpenPairs(_store, lease.JobId, lease.Episode, lease.Input, lease.Output);
                cost.BytesRead += pairs.Count * 8L;
                progress.Report(0);
                long trainingStart = Stopwatch.GetTimestamp();
                cost.StorageSeconds += Stopwatch.GetElapsedTime(storageStart, trainingStart).TotalSeconds;
                // The pairs stream from the storage while the kernel trains: their reading counts as training time.
                var trained = _trainer.Train(work, inputValues, outputValues, pairs, progress, cancellation);
                long writeStart = Stopwatch.GetTimestamp();
                cost.TrainingSeconds = Stopwatch.GetElapsedTime(trainingStart, writeStart).TotalSeconds;
                cancellation.ThrowIfCancellationRequested();
                _store.WritePartition(lease.JobId, PartitionSide.Input, lease.Input, lease.NewVersion, work.InputRows, spec.Dimension, inputValues);
                progress.Report(trained.Pairs);
                _store.WritePartition(lease.JobId, PartitionSide.Output, lease.Output, lease.NewVersion, work.OutputRows, spec.Dimension, outputValues);
                cost.BytesWritten = 4L * spec.Dimension * (work.InputRows + work.OutputRows);
                cost.StorageSeconds += Stopwatch.GetElapsedTime(writeStart).TotalSeconds;
                return (inputValues, outputValues, trained);
            }, stopping).ConfigureAwait(false);
            if (outcome is not { } done)
                return;
            var (input, output, result) = done;

            var answer = await coordinator.CompleteAsync(new CompletionReport
            {
                Token = lease.Token,
                WorkerId = _workerId,
                Pairs = result.Pairs,
                LossSum = result.LossSum,
                PartitionLoads = cost.Loads,
                BytesRead = cost.BytesRead,
                BytesWritten = cost.BytesWritten,
                TrainingSeconds = cost.TrainingSeconds,
                StorageSeconds = cost.StorageSeconds,
            }).ConfigureAwait(false);
            if (answer.Accepted)
            {
                _input = new Resident(lease.JobId, lease.Input, lease.NewVersion, input);
                _output = new Resident(lease.JobId, lease.Output, lease.NewVersion, output);
            }
            else
            {
                _log.LogWarning("Worker {Worker}: completion of lease {Token} rejected ({Reason}); its files are left to the coordinator's collection.", _workerId, lease.Token, answer.Reason);
            }
        }

        /// <summary>
        /// Runs a leased task with its kind's handler: the handler writes the attempt's files (tasks/tN/vTOKEN), the
        /// worker then writes the attempt's manifest, last, and reports the completion; the coordinator commits the
        /// attempt only if the lease is still live and the manifest and its files are there.
        /// </summary>
        private async Task RunTaskAsync(ICoordinatorGrain coordinator, BucketLease lease, CancellationToken stopping)
        {
            var spec = Job(lease.JobId).Spec;
            var handler = _handlers[spec.TaskKind];
            var task = new ClusterTask(_store, spec, lease.Task, lease.Stage, lease.Token);
            double seconds = 0;
            var outcome = await RunLeasedAsync(coordinator, lease, (progress, cancellation) =>
            {
                long start = Stopwatch.GetTimestamp();
                var result = handler.Run(task, progress, cancellation);
                cancellation.ThrowIfCancellationRequested();
                task.WriteManifest();
                seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
                return result;
            }, stopping).ConfigureAwait(false);
            if (outcome is not { } result)
                return;
            var answer = await coordinator.CompleteAsync(new CompletionReport
            {
                Token = lease.Token,
                WorkerId = _workerId,
                Records = result.Records,
                BytesRead = result.BytesRead,
                BytesWritten = task.BytesWritten,
                TrainingSeconds = seconds,
            }).ConfigureAwait(false);
            if (!answer.Accepted)
                _log.LogWarning("Worker {Worker}: completion of task {Task} under lease {Token} rejected ({Reason}); its files are left to the coordinator's collection.", _workerId, lease.Task, lease.Token, answer.Reason);
        }

        /// <summary>
        /// Runs the work of a lease on the thread pool while renewing the lease (only while the work reports progress).
        /// Returns the work's result, or null when the lease was lost (the work is discarded). A stopping silo gives
        /// the lease back and rethrows the cancellation; a failed work gives the lease back and rethrows.
        /// </summary>
        private async Task<T?> RunLeasedAsync<T>(ICoordinatorGrain coordinator, BucketLease lease, Func<IBucketProgress, CancellationToken, T> work, CancellationToken stopping)
            where T : struct
        {
            var progress = new LeaseProgress(_time);
            using var running = CancellationTokenSource.CreateLinkedTokenSource(stopping);
            using var renewal = new CancellationTokenSource();
            var renewing = RenewAsync(coordinator, lease, progress, running, renewal.Token);
            T result;
            try
            {
                result = await Task.Run(() => work(progress, running.Token), running.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (running.IsCancellationRequested)
            {
                renewal.Cancel();
                await renewing.ConfigureAwait(false);
                if (stopping.IsCancellationRequested)
                {
                    _log.LogInformation("Worker {Worker}: stopping; giving lease {Token} of {Item} back.", _workerId, lease.Token, Describe(lease));
                    await coordinator.ReleaseAsync(lease.Token, _workerId).ConfigureAwait(false);
                    throw;
                }
                _log.LogWarning("Worker {Worker}: lease {Token} of {Item} was lost; its work is discarded.", _workerId, lease.Token, Describe(lease));
                return null;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A failed load, run or write: give the work item back at once rather than at the lease's expiry.
                renewal.Cancel();
                await renewing.ConfigureAwait(false);
                _log.LogError(e, "Worker {Worker}: {Item} of lease {Token} failed; giving it back.", _workerId, Describe(lease), lease.Token);
                await coordinator.FailAsync(lease.Token, _workerId, e.GetType().Name + ": " + e.Message).ConfigureAwait(false);
                throw;
            }
            finally
            {
                renewal.Cancel();
            }
            await renewing.ConfigureAwait(false);
            return result;
        }

        private static string Describe(BucketLease lease) => lease.IsTask
            ? string.Create(CultureInfo.InvariantCulture, $"task {lease.Task}")
            : string.Create(CultureInfo.InvariantCulture, $"bucket ({lease.Input}, {lease.Output})");

        /// <summary>The partition's values at <paramref name="version"/>: the resident copy when it is that version, else read from the storage.</summary>
        private float[] Take(ref Resident? slot, string jobId, int partition, long version, PartitionSide side, ClusterJobSpec spec, BucketCost cost)
        {
            var resident = slot;
            slot = null;
            int rows = spec.RowsOf(partition);
            long length = (long)rows * spec.Dimension;
            if (resident is not null && resident.JobId == jobId && resident.Partition == partition && resident.Version == version && resident.Values.Length == length)
                return resident.Values;
            float[] values = resident is not null && resident.Values.Length == length ? resident.Values : new float[length];
            _store.ReadPartition(jobId, side, partition, version, rows, spec.Dimension, values);
            cost.Loads++;
            cost.BytesRead += length * sizeof(float);
            return values;
        }

        private async Task RenewAsync(ICoordinatorGrain coordinator, BucketLease lease, LeaseProgress progress, CancellationTokenSource training, CancellationToken stop)
        {
            var interval = lease.Timeout / 4;
            long lastSeen = progress.Reports;
            while (true)
            {
                try
                {
                    await Task.Delay(interval, stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                long reports = progress.Reports;
                if (reports == lastSeen && _time.GetUtcNow() - progress.Last > lease.Timeout / 2)
                {
                    // No progress: let the lease expire rather than keep a stuck bucket's partitions locked.
                    _log.LogWarning("Worker {Worker}: {Item} of lease {Token} made no progress for {Seconds:F1} s; not renewing.",
                        _workerId, Describe(lease), lease.Token, (_time.GetUtcNow() - progress.Last).TotalSeconds);
                    continue;
                }
                lastSeen = reports;
                try
                {
                    if (!await coordinator.RenewAsync(lease.Token, _workerId).ConfigureAwait(false))
                    {
                        _log.LogWarning("Worker {Worker}: lease {Token} of {Item} is no longer live; cancelling its work.", _workerId, lease.Token, Describe(lease));
                        training.Cancel();
                        return;
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // A failed call (the coordinator moving between silos): the next one may succeed; the lease may expire meanwhile.
                    _log.LogWarning(e, "Worker {Worker}: renewing lease {Token} failed: {Message}.", _workerId, lease.Token, e.Message);
                }
            }
        }

        /// <summary>What one bucket cost the worker (reported with its completion).</summary>
        private sealed class BucketCost
        {
            public int Loads;
            public long BytesRead;
            public long BytesWritten;
            public double TrainingSeconds;
            public double StorageSeconds;
        }

        private sealed class LeaseProgress : IBucketProgress
        {
            private readonly TimeProvider _time;
            private long _reports;
            private long _lastTicks;

            public LeaseProgress(TimeProvider time)
            {
                _time = time;
                _lastTicks = time.GetUtcNow().UtcTicks;
            }

            public long Reports => Interlocked.Read(ref _reports);

            public DateTimeOffset Last => new(Interlocked.Read(ref _lastTicks), TimeSpan.Zero);

            public void Report(long pairsDone)
            {
                Interlocked.Exchange(ref _lastTicks, _time.GetUtcNow().UtcTicks);
                Interlocked.Increment(ref _reports);
            }
        }
    }
}
