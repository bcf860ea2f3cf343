using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using System.Threading.Tasks;
using Embeddings.Cluster.Storage;
using Microsoft.Extensions.Logging;
using Orleans;

namespace Embeddings.Cluster.Coordination
{
    /// <summary>
    /// The coordinator of one job (see <see cref="ICoordinatorGrain"/>). Orleans runs its calls one at a time, so the
    /// lease table needs no locks. Every change is written to the job's checkpoint in the shared storage (atomically)
    /// before the call returns, and then appended to the job's coordinator.log; a new activation reads the
    /// checkpoint back. Lease deadlines are kept in memory only: a new activation gives each recorded lease a full
    /// timeout again, so its worker can renew or complete it. Expiry is checked at the start of every call (workers
    /// poll, so calls keep coming while the job runs).
    /// </summary>
    internal sealed class CoordinatorGrain : Grain, ICoordinatorGrain
    {
        private const int MaxFailedAttempts = ClusterJobSpec.MaxFailedAttempts;

        private readonly IPartitionStore _store;
        private readonly ILogger<CoordinatorGrain> _log;
        private readonly TimeProvider _time = TimeProvider.System;
        private readonly Dictionary<long, Live> _leases = new();
        private readonly List<CoordinatorEvent> _pending = new();
        private readonly string _activationId = Guid.NewGuid().ToString("N");
        private string _jobId = "";
        private ClusterJobSpec _spec = null!;
        private BucketSchedule _schedule = null!;
        private CoordinatorCheckpoint _state = null!;
        private byte[] _done = Array.Empty<byte>();
        private long[] _inputDone = Array.Empty<long>(), _outputDone = Array.Empty<long>();
        private long[] _inputLock = Array.Empty<long>(), _outputLock = Array.Empty<long>();
        private long[] _episodeDone = Array.Empty<long>();
        private long _firstOpenEpisode;
        private JobDescription _description = null!;
        private int _tasks;
        private long _total;
        private long _tasksDone;
        private readonly HashSet<long> _leasedItems = new();
        private readonly SortedSet<int> _pendingTasks = new();

        public CoordinatorGrain(IPartitionStore store, ILogger<CoordinatorGrain> log)
        {
            _store = store;
            _log = log;
        }

        private sealed class Live
        {
            public required LeaseRecord Record { get; init; }

            public required WorkItem Item { get; init; }

            public DateTimeOffset Deadline { get; set; }
        }

        public Task<JobStatus> StartAsync()
        {
            if (_state is not null)
            {
                // A job deleted and submitted anew under this id while this activation kept the old one's state.
                byte[]? bytes = _store.ReadBlob(this.GetPrimaryKeyString(), JobFiles.Job);
                if (bytes is not null && JobFiles.Sha256(bytes) != _state.JobSha256)
                {
                    _log.LogInformation("Job {Job}: job.json changed (the job was submitted anew); reading it again.", _jobId);
                    _state = null!;
                    _leases.Clear();
                    _pending.Clear();
                }
            }
            Load();
            return Task.FromResult(Status());
        }

        public Task<JobStatus> GetStatusAsync()
        {
            Load();
            ExpireStale();
            return Task.FromResult(Status());
        }

        public Task<LeaseResult> LeaseAsync(LeaseRequest request)
        {
            ArgumentNullException.ThrowIfNull(request);
            Load();
            ExpireStale();
            if (_state.Finished || _state.FailureReason.Length > 0)
                return Task.FromResult(new LeaseResult { Status = LeaseStatus.Finished, JobSha256 = _state.JobSha256 });
            if (_spec.PairsByTask)
            {
                // The next episode's pairs first, so that its buckets never wait for them while a worker is free.
                if (NextPairTask() is { } pairTask)
                    return Task.FromResult(new LeaseResult { Status = LeaseStatus.Granted, JobSha256 = _state.JobSha256, Lease = Grant(pairTask, request.WorkerId, string.Create(CultureInfo.InvariantCulture, $"the pairs of epoch {pairTask.Epoch}, episode {pairTask.Episode}")) });
            }
            else if (_tasksDone < _tasks)
            {
                // Tasks hold no partition: the lowest pending task of the open stage (every lower stage committed).
                if (NextTask() is not { } task)
                    return Task.FromResult(new LeaseResult { Status = LeaseStatus.Wait, JobSha256 = _state.JobSha256 });
                return Task.FromResult(new LeaseResult { Status = LeaseStatus.Granted, JobSha256 = _state.JobSha256, Lease = Grant(task, request.WorkerId, "a task") });
            }

            WorkItem? best = null;
            int bestScore = -1;
            foreach (var item in Candidates())
            {
                if (_inputLock[item.Input] != 0 || _outputLock[item.Output] != 0)
                    continue;
                int score = (item.Input == request.ResidentInput && _state.InputVersions[item.Input] == request.ResidentInputVersion ? 1 : 0)
                    + (item.Output == request.ResidentOutput && _state.OutputVersions[item.Output] == request.ResidentOutputVersion ? 1 : 0);
                if (score > bestScore)
                {
                    best = item;
                    bestScore = score;
                }
            }
            if (best is not { } chosen)
                return Task.FromResult(new LeaseResult { Status = LeaseStatus.Wait, JobSha256 = _state.JobSha256 });
            var lease = Grant(chosen, request.WorkerId, string.Create(CultureInfo.InvariantCulture,
                $"from input v{_state.InputVersions[chosen.Input]}, output v{_state.OutputVersions[chosen.Output]}; affinity {bestScore}"));
            return Task.FromResult(new LeaseResult { Status = LeaseStatus.Granted, JobSha256 = _state.JobSha256, Lease = lease });
        }

        /// <summary>Leases <paramref name="item"/> (a bucket or a task) under a new token, checkpointed before it is returned.</summary>
        private BucketLease Grant(WorkItem item, string workerId, string detail)
        {
            long token = ++_state.LastToken;
            var record = new LeaseRecord { Token = token, WorkItem = item.Index, WorkerId = workerId };
            _state.Leases.Add(record);
            Track(record, item);
            var lease = new BucketLease
            {
                JobId = _jobId,
                Token = token,
                WorkItem = item.Index,
                Epoch = item.Epoch,
                Episode = item.Episode,
                Input = item.Input,
                Output = item.Output,
                InputVersion = item.IsTask ? -1 : _state.InputVersions[item.Input],
                OutputVersion = item.IsTask ? -1 : _state.OutputVersions[item.Output],
                Timeout = _spec.LeaseTimeout,
                Task = item.Task,
                Stage = item.Stage,
                PairsToken = !item.IsTask && _spec.PairsByTask ? _state.TaskTokens[GlobalEpisode(item)] : 0,
            };
            Event("leased", token, item, workerId, detail);
            Persist();
            return lease;
        }

        /// <summary>
        /// The lowest pending task (not committed, not leased) when its stage is open: no task of a lower stage is
        /// uncommitted (stages never decrease with the task number, so only live leases can hold a lower one).
        /// </summary>
        private WorkItem? NextTask()
        {
            if (_pendingTasks.Count == 0)
                return null;
            int task = _pendingTasks.Min;
            int stage = _description.StageOf(task);
            foreach (var live in _leases.Values)
            {
                if (live.Item.IsTask && live.Item.Stage < stage)
                    return null;
            }
            return WorkItem.OfTask(task, stage);
        }

        /// <summary>
        /// The lowest pending pair task (of a job whose tasks write its pairs) when fewer than
        /// <see cref="ClusterJobSpec.PairTaskWindow"/> unfinished episodes come before it: episode g's pairs are written
        /// only while g is below the first unfinished episode plus the window, so at most that many episodes' pairs are
        /// in the storage at once (the first unfinished episode only moves forward).
        /// </summary>
        private WorkItem? NextPairTask()
        {
            if (_pendingTasks.Count == 0)
                return null;
            int task = _pendingTasks.Min;
            return task < _firstOpenEpisode + _spec.PairTaskWindow ? ItemAt(task) : null;
        }

        /// <summary>The epoch-major episode number of a bucket or of a pair task: epoch x Episodes + episode.</summary>
        private int GlobalEpisode(WorkItem item) => item.Epoch * _spec.Episodes + item.Episode;

        /// <summary>The work item at position <paramref name="w"/> of the job's order: tasks first, then the buckets.</summary>
        private WorkItem ItemAt(long w)
        {
            if (w >= _tasks)
                return _schedule.At(w - _tasks) with { Index = w };
            int task = (int)w;
            return _spec.PairsByTask
                ? WorkItem.OfTask(task, 0, task / _spec.Episodes, task % _spec.Episodes)
                : WorkItem.OfTask(task, _description.StageOf(task));
        }

        public Task<bool> RenewAsync(long token, string workerId)
        {
            Load();
            ExpireStale();
            if (!_leases.TryGetValue(token, out var live) || live.Record.WorkerId != workerId)
                return Task.FromResult(false);
            live.Deadline = _time.GetUtcNow() + _spec.LeaseTimeout;
            return Task.FromResult(true);
        }

        public Task ReleaseAsync(long token, string workerId)
        {
            Load();
            ExpireStale();
            if (_leases.TryGetValue(token, out var live) && live.Record.WorkerId == workerId)
            {
                Untrack(live);
                _state.Released++;
                Event("released", token, live.Item, workerId, "given back by its worker; the work item returns to the pool");
                Persist();
            }
            return Task.CompletedTask;
        }

        public Task FailAsync(long token, string workerId, string reason)
        {
            Load();
            ExpireStale();
            if (!_leases.TryGetValue(token, out var live) || live.Record.WorkerId != workerId)
                return Task.CompletedTask;
            Untrack(live);
            long w = live.Item.Index;
            int attempts = _state.FailedAttempts.TryGetValue(w, out int n) ? n + 1 : 1;
            _state.FailedAttempts[w] = attempts;
            Event("failed", token, live.Item, workerId, string.Create(CultureInfo.InvariantCulture, $"attempt {attempts} of {MaxFailedAttempts} failed: {reason}"));
            if (attempts >= MaxFailedAttempts && _state.FailureReason.Length == 0)
            {
                _state.FailureReason = string.Create(CultureInfo.InvariantCulture,
                    $"{Describe(live.Item)} failed in {attempts} attempts; the last, by {workerId}: {reason}");
                Event("failed-job", 0, live.Item, workerId, _state.FailureReason + "; no more work items are leased");
                _log.LogError("Job {Job} failed: {Reason}.", _jobId, _state.FailureReason);
            }
            Persist();
            return Task.CompletedTask;
        }

        public Task<CompletionResult> CompleteAsync(CompletionReport report)
        {
            ArgumentNullException.ThrowIfNull(report);
            Load();
            ExpireStale();
            if (!_leases.TryGetValue(report.Token, out var live) || live.Record.WorkerId != report.WorkerId)
            {
                string reason = report.Token > 0 && report.Token <= _state.LastToken
                    ? string.Create(CultureInfo.InvariantCulture, $"lease {report.Token} is not live (it expired, was released or was completed); its bucket was or will be trained under another lease, and its files are never used")
                    : string.Create(CultureInfo.InvariantCulture, $"lease {report.Token} was never granted for job '{_jobId}'");
                return Task.FromResult(Reject(report, null, reason));
            }
            var item = live.Item;
            if (item.IsTask)
                return Task.FromResult(CompleteTask(report, live));
            if (!_store.PartitionExists(_jobId, PartitionSide.Input, item.Input, report.Token)
                || !_store.PartitionExists(_jobId, PartitionSide.Output, item.Output, report.Token))
            {
                Untrack(live);
                return Task.FromResult(Reject(report, item,
                    string.Create(CultureInfo.InvariantCulture, $"the new versions v{report.Token} of input partition {item.Input} and output partition {item.Output} are not both in the storage; the bucket returns to the pool")));
            }

            Untrack(live);
            SetDone(item.Index);
            _state.InputVersions[item.Input] = report.Token;
            _state.OutputVersions[item.Output] = report.Token;
            _state.Pairs += report.Pairs;
            _state.LossSum += report.LossSum;
            AddCosts(report);
            Event("completed", report.Token, item, report.WorkerId,
                string.Create(CultureInfo.InvariantCulture, $"{report.Pairs} pairs, {report.PartitionLoads} partitions loaded, {report.TrainingSeconds:F3} s training, {report.StorageSeconds:F3} s storage; input {item.Input} and output {item.Output} now v{report.Token}; {_state.DoneCount - _tasksDone} of {_schedule.Total} buckets done"));
            if (_state.Finished)
                Event("finished", 0, null, "", string.Create(CultureInfo.InvariantCulture, $"{_state.Pairs} pairs, mean loss {(_state.Pairs > 0 ? _state.LossSum / _state.Pairs : 0):G6}"));
            Persist();
            if (_spec.PairsByTask && _episodeDone[GlobalEpisode(item)] == (long)_spec.Partitions * _spec.Partitions)
                DeletePairs(GlobalEpisode(item));
            if (_state.Finished)
                CollectAll();
            else
                Collect(item.Input, item.Output);
            return Task.FromResult(new CompletionResult { Accepted = true });
        }

        /// <summary>Adds an accepted completion's costs to the job's counters and notes whether the job is now finished.</summary>
        private void AddCosts(CompletionReport report)
        {
            _state.PartitionLoads += report.PartitionLoads;
            _state.BytesRead += report.BytesRead;
            _state.BytesWritten += report.BytesWritten;
            _state.TrainingSeconds += report.TrainingSeconds;
            _state.StorageSeconds += report.StorageSeconds;
            _state.Finished = _state.DoneCount == _total;
        }

        /// <summary>
        /// Commits a task: its attempt's manifest (written last by the worker) and every file it lists must be in the
        /// storage under the lease's token; the task's committed token is then recorded in the checkpoint, which is
        /// where readers find the output. Other attempts' folders are collected.
        /// </summary>
        private CompletionResult CompleteTask(CompletionReport report, Live live)
        {
            var item = live.Item;
            var manifest = JobFiles.ReadManifest(_store, _jobId, item.Task, report.Token);
            string? missing = manifest is null ? JobFiles.TaskManifestName : manifest.Files.Select(f => f.Name).FirstOrDefault(f => !BlobExists(JobFiles.TaskFilePath(item.Task, report.Token, f)));
            if (missing is not null)
            {
                Untrack(live);
                return Reject(report, item, string.Create(CultureInfo.InvariantCulture,
                    $"the output of task {item.Task} under v{report.Token} is incomplete ('{missing}' is not in the storage); the task returns to the pool"));
            }
            Untrack(live);
            SetDone(item.Index);
            _state.TaskTokens[item.Task] = report.Token;
            _state.TaskRecords += report.Records;
            AddCosts(report);
            Event("completed", report.Token, item, report.WorkerId,
                string.Create(CultureInfo.InvariantCulture, $"task {item.Task} (stage {item.Stage}): {report.Records} records, {manifest!.Files.Count} files, {report.TrainingSeconds:F3} s work, {report.StorageSeconds:F3} s storage; output v{report.Token}; {_tasksDone} of {_tasks} tasks done"));
            if (_state.Finished)
                Event("finished", 0, null, "", string.Create(CultureInfo.InvariantCulture, $"{_tasks} tasks, {_state.TaskRecords} records"));
            Persist();
            if (_state.Finished)
                CollectAll();
            else
                CollectTask(item.Task);
            return new CompletionResult { Accepted = true };
        }

        private bool BlobExists(string name)
        {
            using var stream = _store.OpenBlob(_jobId, name);
            return stream is not null;
        }

        /// <summary>The buckets that may start now (not done, not leased, order constraints met), before the partition locks.</summary>
        private IEnumerable<WorkItem> Candidates()
        {
            int p = _spec.Partitions;
            if (_spec.Ordering == BucketOrdering.Deterministic)
            {
                // The next bucket of every input partition, when it is also the next bucket of its output partition.
                for (int i = 0; i < p; i++)
                {
                    if (_inputDone[i] >= _schedule.ItemsPerPartition)
                        continue;
                    long w = _schedule.InputItem(i, _inputDone[i]);
                    var item = _schedule.At(w);
                    if (_schedule.OutputItem(item.Output, _outputDone[item.Output]) == w && !_leasedItems.Contains(w + _tasks) && PairsReady(w))
                        yield return item with { Index = w + _tasks };
                }
            }
            else
            {
                // Any bucket of the first episode with buckets not done (the barrier between episodes).
                long first = _firstOpenEpisode * p * p;
                for (long w = first; w < first + (long)p * p && w < _schedule.Total; w++)
                {
                    if (!IsDone(w + _tasks) && !_leasedItems.Contains(w + _tasks) && PairsReady(w))
                        yield return _schedule.At(w) with { Index = w + _tasks };
                }
            }
        }

        /// <summary>True when bucket <paramref name="b"/>'s pairs are in the storage: always, unless the job's tasks write them and its episode's pair task is not committed yet.</summary>
        private bool PairsReady(long b) => !_spec.PairsByTask || _state.TaskTokens[_schedule.EpisodeOf(b)] > 0;

        /// <summary>
        /// Deletes the pairs of a finished episode (its pair task's folder: the committed output and any other attempt).
        /// Runs after the checkpoint that finished the episode is written; a failure is logged, not thrown (a new
        /// activation deletes the pairs of every finished episode again).
        /// </summary>
        private void DeletePairs(int episode)
        {
            try
            {
                if (_store.DeleteFolder(_jobId, JobFiles.TaskFolder(episode)))
                    _log.LogDebug("Job {Job}: the pairs of finished episode {Episode} deleted.", _jobId, episode);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                _log.LogWarning(e, "Job {Job}: deleting the pairs of finished episode {Episode} failed: {Message}.", _jobId, episode, e.Message);
            }
        }

        private CompletionResult Reject(CompletionReport report, WorkItem? item, string reason)
        {
            _state.Rejected++;
            Event("rejected", report.Token, item, report.WorkerId, reason);
            Persist();
            _log.LogWarning("Job {Job}: completion of lease {Token} by {Worker} rejected: {Reason}.", _jobId, report.Token, report.WorkerId, reason);
            return new CompletionResult { Accepted = false, Reason = reason };
        }

        private void ExpireStale()
        {
            var now = _time.GetUtcNow();
            List<Live>? expired = null;
            foreach (var live in _leases.Values)
            {
                if (live.Deadline < now)
                    (expired ??= new()).Add(live);
            }
            if (expired is null)
                return;
            foreach (var live in expired)
            {
                Untrack(live);
                _state.Expired++;
                Event("expired", live.Record.Token, live.Item, live.Record.WorkerId, "not renewed within the lease timeout; the work item returns to the pool and a late completion will be rejected");
                _log.LogWarning("Job {Job}: lease {Token} of {Item} held by {Worker} expired; it will be leased again.",
                    _jobId, live.Record.Token, Describe(live.Item), live.Record.WorkerId);
            }
            Persist();
        }

        private void Track(LeaseRecord record, WorkItem item)
        {
            _leases[record.Token] = new Live { Record = record, Item = item, Deadline = _time.GetUtcNow() + _spec.LeaseTimeout };
            _leasedItems.Add(item.Index);
            if (item.IsTask)
            {
                _pendingTasks.Remove(item.Task);
                return;
            }
            _inputLock[item.Input] = record.Token;
            _outputLock[item.Output] = record.Token;
        }

        private void Untrack(Live live)
        {
            _leases.Remove(live.Record.Token);
            _state.Leases.RemoveAll(l => l.Token == live.Record.Token);
            _leasedItems.Remove(live.Item.Index);
            if (live.Item.IsTask)
            {
                // Back to the pool unless it is being committed now (SetDone takes it out again).
                _pendingTasks.Add(live.Item.Task);
                return;
            }
            if (_inputLock[live.Item.Input] == live.Record.Token)
                _inputLock[live.Item.Input] = 0;
            if (_outputLock[live.Item.Output] == live.Record.Token)
                _outputLock[live.Item.Output] = 0;
        }

        private static string Describe(WorkItem item) => item.IsTask
            ? string.Create(CultureInfo.InvariantCulture, $"task {item.Task}")
            : string.Create(CultureInfo.InvariantCulture, $"bucket ({item.Input}, {item.Output}) of epoch {item.Epoch}, episode {item.Episode}");

        private bool IsDone(long w) => (_done[w >> 3] & (1 << (int)(w & 7))) != 0;

        private void SetDone(long w)
        {
            if (IsDone(w))
                throw new InvalidOperationException($"Work item {w} of job '{_jobId}' completed twice: a coordinator bug.");
            _done[w >> 3] |= (byte)(1 << (int)(w & 7));
            _state.DoneCount++;
            if (w < _tasks)
            {
                _tasksDone++;
                _pendingTasks.Remove((int)w);
                return;
            }
            long b = w - _tasks;
            var item = _schedule.At(b);
            _inputDone[item.Input]++;
            _outputDone[item.Output]++;
            long episode = _schedule.EpisodeOf(b);
            _episodeDone[episode]++;
            while (_firstOpenEpisode < _episodeDone.Length && _episodeDone[_firstOpenEpisode] == (long)_spec.Partitions * _spec.Partitions)
                _firstOpenEpisode++;
        }

        /// <summary>When the job finishes: every partition's old versions and every task's uncommitted attempts.</summary>
        private void CollectAll()
        {
            if (_spec.Trains)
            {
                for (int q = 0; q < _spec.Partitions; q++)
                    Collect(q, q);
            }
            for (int t = 0; t < _tasks; t++)
                CollectTask(t);
        }

        /// <summary>Deletes the attempt folders of task <paramref name="task"/> except the committed one and those of live leases (logged, not thrown, on failure).</summary>
        private void CollectTask(int task)
        {
            try
            {
                foreach (string folder in _store.ListFolders(_jobId, JobFiles.TaskFolder(task)))
                {
                    long token = JobFiles.AttemptToken(folder);
                    if (token < 0 || token == _state.TaskTokens[task] || _leases.ContainsKey(token))
                        continue;
                    _store.DeleteFolder(_jobId, JobFiles.TaskFolder(task) + "/" + folder);
                }
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                _log.LogWarning(e, "Job {Job}: collecting old attempts of task {Task} failed: {Message}.", _jobId, task, e.Message);
            }
        }

        /// <summary>
        /// Deletes the versions of input partition <paramref name="input"/> and output partition <paramref name="output"/>
        /// that no live lease can read or write. Runs after the checkpoint is written: a failure here is logged, not
        /// thrown (the change is committed; the files go at the next collection of those partitions).
        /// </summary>
        private void Collect(int input, int output)
        {
            try
            {
                var keep = new HashSet<long>(_leases.Keys) { _state.InputVersions[input] };
                _store.CollectPartitionVersions(_jobId, PartitionSide.Input, input, keep);
                keep = new HashSet<long>(_leases.Keys) { _state.OutputVersions[output] };
                _store.CollectPartitionVersions(_jobId, PartitionSide.Output, output, keep);
            }
            catch (Exception e) when (e is System.IO.IOException or UnauthorizedAccessException)
            {
                _log.LogWarning(e, "Job {Job}: collecting old versions of input partition {Input} and output partition {Output} failed: {Message}.", _jobId, input, output, e.Message);
            }
        }

        private void Load()
        {
            if (_state is not null)
                return;
            try
            {
                LoadCheckpoint();
            }
            catch
            {
                _state = null!;
                _leases.Clear();
                _pending.Clear();
                throw;
            }
        }

        private void LoadCheckpoint()
        {
            _jobId = this.GetPrimaryKeyString();
            var (description, bytes) = JobFiles.ReadDescription(_store, _jobId);
            // Claim the job before reading its checkpoint: an older activation still running (Orleans can briefly
            // run two during a membership disagreement) sees the fence at its next write and stops.
            _store.WriteBlob(_jobId, JobFiles.Fence, System.Text.Encoding.UTF8.GetBytes(_activationId));
            var spec = description.Spec;
            var schedule = new BucketSchedule(spec);
            long total = spec.TotalWorkItems;
            string jobSha = JobFiles.Sha256(bytes);
            var state = JobFiles.ReadCheckpoint(_store, _jobId);
            bool resumed = state is not null;
            if (state is null)
            {
                state = new CoordinatorCheckpoint
                {
                    JobId = _jobId,
                    JobSha256 = jobSha,
                    Done = Convert.ToBase64String(new byte[(total + 7) / 8]),
                    InputVersions = new long[spec.Partitions],
                    OutputVersions = new long[spec.Partitions],
                    TaskTokens = new long[spec.Tasks],
                };
            }
            else if (state.Format != CoordinatorCheckpoint.CurrentFormat || state.JobSha256 != jobSha || state.JobId != _jobId
                || state.InputVersions.Length != spec.Partitions || state.OutputVersions.Length != spec.Partitions || state.TaskTokens.Length != spec.Tasks)
            {
                throw new InvalidOperationException(
                    $"The coordinator checkpoint of job '{_jobId}' at '{_store.Location}' belongs to another description of the job (or another format): delete the job's folder and submit it again.");
            }

            _spec = spec;
            _schedule = schedule;
            _description = description;
            _tasks = spec.Tasks;
            _total = total;
            _tasksDone = 0;
            _leasedItems.Clear();
            _pendingTasks.Clear();
            for (int t = 0; t < _tasks; t++)
                _pendingTasks.Add(t);
            _done = Convert.FromBase64String(state.Done);
            if (_done.Length != (total + 7) / 8)
                throw new InvalidOperationException($"The coordinator checkpoint of job '{_jobId}' at '{_store.Location}' records {_done.Length * 8L} work items, not {total}: delete the job's folder and submit it again.");
            int p = spec.Partitions;
            _inputDone = new long[p];
            _outputDone = new long[p];
            _inputLock = new long[p];
            _outputLock = new long[p];
            _episodeDone = new long[spec.Trains ? (long)spec.Epochs * spec.Episodes : 0];
            _firstOpenEpisode = 0;
            _state = state;
            long doneCount = state.DoneCount;
            state.DoneCount = 0;
            for (long w = 0; w < total; w++)
            {
                if (IsDone(w))
                {
                    _done[w >> 3] &= (byte)~(1 << (int)(w & 7));
                    SetDone(w);
                }
            }
            for (int t = 0; t < _tasks; t++)
            {
                if (IsDone(t) != (state.TaskTokens[t] > 0))
                    throw new InvalidOperationException($"The coordinator checkpoint of job '{_jobId}' marks task {t} {(IsDone(t) ? "done without" : "not done with")} a committed output: delete the job's folder and submit it again.");
            }
            if (state.DoneCount != doneCount)
                throw new InvalidOperationException($"The coordinator checkpoint of job '{_jobId}' counts {doneCount} buckets done but marks {state.DoneCount}: delete the job's folder and submit it again.");
            foreach (var record in state.Leases)
            {
                if (record.WorkItem < 0 || record.WorkItem >= total || IsDone(record.WorkItem))
                    throw new InvalidOperationException($"The coordinator checkpoint of job '{_jobId}' has a lease of work item {record.WorkItem}, which is done or out of range: delete the job's folder and submit it again.");
                Track(record, ItemAt(record.WorkItem));
            }
            if (spec.PairsByTask)
            {
                // Pairs of finished episodes whose deletion a crash interrupted.
                for (int g = 0; g < _episodeDone.Length; g++)
                {
                    if (_episodeDone[g] == (long)p * p)
                        DeletePairs(g);
                }
            }
            state.Activations++;
            Event("activated", 0, null, RuntimeIdentity,
                resumed
                    ? string.Create(CultureInfo.InvariantCulture, $"resumed from the checkpoint: {state.DoneCount} of {total} work items done ({_tasksDone} of {_tasks} tasks), {state.Leases.Count} leases restored with a full timeout")
                    : spec.Trains
                        ? string.Create(CultureInfo.InvariantCulture, $"new job: {(_tasks > 0 ? $"{_tasks} tasks ({spec.TaskKind}), then " : "")}{schedule.Total} buckets ({spec.Epochs} epochs x {spec.Episodes} episodes x {p} x {p}), ordering {spec.Ordering}")
                        : string.Create(CultureInfo.InvariantCulture, $"new job: {_tasks} tasks ({spec.TaskKind})"));
            Persist();
            _log.LogInformation("Job {Job}: coordinator activation {Activation} on {Silo}, {Done} of {Total} work items done.", _jobId, state.Activations, RuntimeIdentity, state.DoneCount, total);
        }

        /// <summary>
        /// Writes the checkpoint, then appends the events recorded since the last write to the log: the log is
        /// diagnostics, the checkpoint is the truth, so a crash between the two loses log lines, never a state change
        /// (and the events' sequence numbers, counted in the checkpoint, are never reused).
        /// </summary>
        private void Persist()
        {
            _state.Done = Convert.ToBase64String(_done);
            byte[]? fence = _store.ReadBlob(_jobId, JobFiles.Fence);
            if (fence is null || System.Text.Encoding.UTF8.GetString(fence) != _activationId)
            {
                Drop();
                throw new InvalidOperationException(
                    $"Job '{_jobId}': another coordinator activation took over the job (its {JobFiles.Fence} in the storage names another activation); this one stops without writing, and the next call reads the checkpoint again.");
            }
            try
            {
                _store.WriteBlob(_jobId, JobFiles.Checkpoint, JsonSerializer.SerializeToUtf8Bytes(_state, JobFiles.Json));
            }
            catch
            {
                // The change was not committed: forget the in-memory state, which is now ahead of the checkpoint, and
                // let the next call (on a new activation) read the last checkpoint again.
                Drop();
                throw;
            }
            foreach (var line in _pending)
                _store.AppendLine(_jobId, JobFiles.Log, JsonSerializer.Serialize(line, CoordinatorEvent.Json));
            _pending.Clear();
        }

        private void Drop()
        {
            _state = null!;
            _leases.Clear();
            _pending.Clear();
            this.DeactivateOnIdle();
        }

        /// <summary>Records an event for the log, written by the next <see cref="Persist"/>.</summary>
        private void Event(string kind, long token, WorkItem? item, string worker, string detail)
        {
            var line = new CoordinatorEvent
            {
                Sequence = ++_state.Events,
                Time = _time.GetUtcNow(),
                Kind = kind,
                Token = token,
                WorkItem = item?.Index ?? -1,
                Epoch = item?.Epoch ?? -1,
                Episode = item?.Episode ?? -1,
                Input = item?.Input ?? -1,
                Output = item?.Output ?? -1,
                Task = item?.Task ?? -1,
                Worker = worker,
                Detail = detail,
            };
            _pending.Add(line);
        }

        private JobStatus Status() => new()
        {
            JobId = _jobId,
            TotalBuckets = _spec.TotalBuckets,
            DoneBuckets = _state.DoneCount - _tasksDone,
            TotalTasks = _tasks,
            DoneTasks = _tasksDone,
            TaskRecords = _state.TaskRecords,
            ActiveLeases = _leases.Count,
            ExpiredLeases = _state.Expired,
            RejectedCompletions = _state.Rejected,
            ReleasedLeases = _state.Released,
            Activations = _state.Activations,
            Pairs = _state.Pairs,
            LossSum = _state.LossSum,
            Finished = _state.Finished,
            FailureReason = _state.FailureReason,
            InputVersions = (long[])_state.InputVersions.Clone(),
            OutputVersions = (long[])_state.OutputVersions.Clone(),
            Epoch = _spec.Trains ? (int)(_firstOpenEpisode / _spec.Episodes) : 0,
            CoordinatorSilo = RuntimeIdentity,
            PartitionLoads = _state.PartitionLoads,
            BytesRead = _state.BytesRead,
            BytesWritten = _state.BytesWritten,
            TrainingSeconds = _state.TrainingSeconds,
            StorageSeconds = _state.StorageSeconds,
        };
    }

    /// <summary>One line of a job's coordinator.log (JSON): what the coordinator did, in order.</summary>
    public sealed record CoordinatorEvent
    {
        internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

        /// <summary>1, 2, ... over the job's life (across coordinator activations).</summary>
        public long Sequence { get; init; }

        /// <summary>When (the coordinator's clock).</summary>
        public DateTimeOffset Time { get; init; }

        /// <summary>activated, leased, released, expired, completed, rejected or finished (of a bucket or of a task).</summary>
        public string Kind { get; init; } = "";

        /// <summary>The lease's token, or 0.</summary>
        public long Token { get; init; }

        /// <summary>The work item, or -1.</summary>
        public long WorkItem { get; init; } = -1;

        /// <summary>The epoch, or -1.</summary>
        public int Epoch { get; init; } = -1;

        /// <summary>The episode, or -1.</summary>
        public int Episode { get; init; } = -1;

        /// <summary>The input partition, or -1.</summary>
        public int Input { get; init; } = -1;

        /// <summary>The output partition, or -1.</summary>
        public int Output { get; init; } = -1;

        /// <summary>The task (a work item that holds no partition), or -1 for a bucket or a job event.</summary>
        public int Task { get; init; } = -1;

        /// <summary>The worker (for activations, the silo).</summary>
        public string Worker { get; init; } = "";

        /// <summary>Details in words.</summary>
        public string Detail { get; init; } = "";

        /// <summary>Reads a job's coordinator.log.</summary>
        public static IReadOnlyList<CoordinatorEvent> ReadLog(IPartitionStore store, string jobId)
        {
            ArgumentNullException.ThrowIfNull(store);
            byte[]? bytes = store.ReadBlob(jobId, JobFiles.Log);
            if (bytes is null)
                return Array.Empty<CoordinatorEvent>();
            return System.Text.Encoding.UTF8.GetString(bytes)
                .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                .Select(l => JsonSerializer.Deserialize<CoordinatorEvent>(l, Json)!)
                .ToList();
        }
    }
}
