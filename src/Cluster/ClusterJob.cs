using System;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Graph;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Tasks;
using Embeddings.Cluster.Training;
using Orleans;

namespace Embeddings.Cluster
{
    /// <summary>Vectors of a job in item order: row v of <see cref="Input"/> is item v's input vector.</summary>
    /// <param name="Items">The number of items.</param>
    /// <param name="Dimension">The vector dimension.</param>
    /// <param name="Input">Items x dimension input vectors, row-major.</param>
    /// <param name="Output">Items x dimension output vectors, row-major.</param>
    public sealed record TrainedVectors(int Items, int Dimension, float[] Input, float[] Output)
    {
        /// <summary>Item <paramref name="item"/>'s input vector.</summary>
        public ReadOnlySpan<float> InputRow(int item) => Input.AsSpan(item * Dimension, Dimension);
    }

    /// <summary>
    /// Submitting, following and reading cluster jobs. A job lives in a folder of the shared storage: the submitter
    /// writes its pairs (bucketed per episode) and the initial partitions (version 0), then its description
    /// (job.json, the commit point of the submission), then starts the coordinator grain, which the workers of every
    /// silo ask for buckets.
    /// </summary>
    public static class ClusterJob
    {
        /// <summary>
        /// Writes a job into the storage: its pairs, bucketed by (input partition, output partition) for every
        /// episode, its initial partitions and its description. Submitting the same job again (same spec, same
        /// pairs, same counts) writes nothing and returns; a different job under the same id throws.
        /// </summary>
        /// <param name="store">The shared storage.</param>
        /// <param name="spec">The job; validated.</param>
        /// <param name="pairsOfEpisode">The pairs (input item, output item) of episode e, items 0 to Items - 1; called once per episode.</param>
        /// <param name="itemCounts">
        /// The count (frequency) of each item, Items values, each 0 or more: negatives are drawn from count^0.75 within
        /// the output partition, so every partition needs an item with a count above 0. Null (the default): 1 plus the
        /// number of pairs whose output is the item (every item can be drawn).
        /// </param>
        /// <param name="episodeTokens">
        /// The tokens of each episode, Episodes values, each 0 or more with a positive sum: the learning rate decays
        /// linearly over them. Null (the default): each episode's pair count.
        /// </param>
        /// <exception cref="ArgumentException">A setting of <paramref name="spec"/>, a pair or a count is out of range (the message names it).</exception>
        /// <exception cref="InvalidOperationException">Another job with this id is in the storage.</exception>
        public static void Prepare(IPartitionStore store, ClusterJobSpec spec, Func<int, IEnumerable<(int Input, int Output)>> pairsOfEpisode,
            long[]? itemCounts = null, long[]? episodeTokens = null)
        {
            ArgumentNullException.ThrowIfNull(store);
            ArgumentNullException.ThrowIfNull(spec);
            ArgumentNullException.ThrowIfNull(pairsOfEpisode);
            spec.Validate();
            JobSubmission.CheckCounts(spec, itemCounts, episodeTokens);
            int p = spec.Partitions;
            var submission = new JobSubmission(store, spec);
            long[]? counted = null;
            if (itemCounts is null)
            {
                counted = new long[spec.Items];
                Array.Fill(counted, 1L);
            }
            var buckets = new List<int>[p * p];
            for (int e = 0; e < spec.Episodes; e++)
            {
                for (int b = 0; b < buckets.Length; b++)
                    buckets[b] = new List<int>();
                long count = 0;
                foreach (var (a, c) in pairsOfEpisode(e) ?? throw new ArgumentException($"The pairs of episode {e} are null.", nameof(pairsOfEpisode)))
                {
                    if ((uint)a >= (uint)spec.Items || (uint)c >= (uint)spec.Items)
                        throw new ArgumentOutOfRangeException(nameof(pairsOfEpisode), (a, c),
                            $"Pair {count} of episode {e} is ({a}, {c}); items are 0 to {spec.Items - 1} (ClusterJobSpec.Items = {spec.Items}). Map the keys to item numbers first, or raise Items.");
                    var bucket = buckets[(a % p) * p + c % p];
                    bucket.Add(a / p);
                    bucket.Add(c / p);
                    if (counted is not null)
                        counted[c]++;
                    count++;
                }
                for (int i = 0; i < p; i++)
                {
                    for (int j = 0; j < p; j++)
                        submission.AddBucket(e, i, j, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(buckets[i * p + j]));
                }
            }
            submission.Commit(itemCounts ?? counted!, episodeTokens ?? submission.EpisodePairs);
        }

        /// <summary>
        /// Writes the description of a job of tasks only (<see cref="ClusterJobSpec.Items"/> 0, <see cref="ClusterJobSpec.Tasks"/>
        /// 1 or more): the commit point of a submission whose inputs the job kind's submitter wrote into the job's
        /// folder first. Submitting the same job again (same spec, same inputs fingerprint, same stages) writes nothing
        /// and returns false; another job under the same id throws.
        /// </summary>
        /// <param name="store">The shared storage.</param>
        /// <param name="spec">The job: Items 0, Tasks and TaskKind set; validated.</param>
        /// <param name="inputSha256">A fingerprint of the tasks' inputs (the files the submitter wrote), compared on resubmission.</param>
        /// <param name="taskStages">
        /// The stage of each task (Tasks values, 0 or more, never decreasing with the task number), or null for stage 0
        /// everywhere: the tasks of a stage are leased once every task of the lower stages is committed.
        /// </param>
        /// <returns>True when the job was written, false when the same job was there already.</returns>
        /// <exception cref="ArgumentException">A setting or a stage is out of range (the message names it and the fix).</exception>
        /// <exception cref="InvalidOperationException">Another job with this id is in the storage.</exception>
        public static bool PrepareTasks(IPartitionStore store, ClusterJobSpec spec, string inputSha256, int[]? taskStages = null)
        {
            ArgumentNullException.ThrowIfNull(store);
            ArgumentNullException.ThrowIfNull(spec);
            ArgumentNullException.ThrowIfNull(inputSha256);
            spec.Validate();
            if (spec.Trains || spec.Tasks == 0)
                throw new ArgumentException($"ClusterJob.PrepareTasks writes jobs of tasks only: ClusterJobSpec.Items is {spec.Items} and Tasks is {spec.Tasks}; set Items to 0 and Tasks to 1 or more (ClusterJob.Prepare writes training jobs).", nameof(spec));
            if (taskStages is not null)
            {
                if (taskStages.Length != spec.Tasks)
                    throw new ArgumentException($"taskStages has {taskStages.Length} values for ClusterJobSpec.Tasks = {spec.Tasks}; give one stage per task (or null for stage 0 everywhere).", nameof(taskStages));
                for (int t = 0; t < taskStages.Length; t++)
                {
                    if (taskStages[t] < 0 || (t > 0 && taskStages[t] < taskStages[t - 1]))
                        throw new ArgumentOutOfRangeException(nameof(taskStages), taskStages[t], $"taskStages[{t}] is {taskStages[t]}; stages are 0 or more and never decrease with the task number (number the tasks stage by stage).");
                }
            }
            var description = new JobDescription
            {
                Spec = spec,
                TaskStages = taskStages is null || Array.TrueForAll(taskStages, s => s == 0) ? Array.Empty<int>() : (int[])taskStages.Clone(),
                TaskInputSha256 = inputSha256,
            };
            if (store.ReadBlob(spec.JobId, JobFiles.Job) is not null)
            {
                var existing = JobFiles.ReadDescription(store, spec.JobId).Description;
                var differences = existing.Spec.Differences(spec);
                if (differences.Count > 0)
                    throw new InvalidOperationException(
                        $"The storage at '{store.Location}' holds another job named '{spec.JobId}' ({string.Join("; ", differences)}, stored vs submitted): choose another JobId, or delete the job's folder to replace it.");
                if (existing.TaskInputSha256 != inputSha256 || !existing.TaskStages.AsSpan().SequenceEqual(description.TaskStages))
                    throw new InvalidOperationException(
                        $"The storage at '{store.Location}' holds a job named '{spec.JobId}' with the same settings but other inputs: choose another JobId, or delete the job's folder to replace it.");
                return false;
            }
            store.WriteBlob(spec.JobId, JobFiles.Job, JsonSerializer.SerializeToUtf8Bytes(description, JobFiles.Json));
            return true;
        }

        /// <summary>
        /// The committed output <paramref name="name"/> of task <paramref name="task"/>: the file of the attempt the
        /// coordinator committed (its checkpoint names the attempt's token), opened for reading. The caller disposes it.
        /// </summary>
        /// <exception cref="InvalidOperationException">No such job, the task is not committed yet, or the committed attempt has no such file.</exception>
        public static Stream OpenTaskOutput(IPartitionStore store, string jobId, int task, string name)
        {
            long token = CommittedTaskToken(store, jobId, task);
            return store.OpenBlob(jobId, JobFiles.TaskFilePath(task, token, name))
                ?? throw new InvalidOperationException($"Task {task} of job '{jobId}' at '{store.Location}' committed no output named '{name}'.");
        }

        /// <summary>The names of the files of task <paramref name="task"/>'s committed output, in the order the task wrote them.</summary>
        /// <exception cref="InvalidOperationException">No such job, or the task is not committed yet.</exception>
        public static IReadOnlyList<string> TaskOutputNames(IPartitionStore store, string jobId, int task)
        {
            long token = CommittedTaskToken(store, jobId, task);
            var manifest = JobFiles.ReadManifest(store, jobId, task, token)
                ?? throw new InvalidOperationException($"The committed output v{token} of task {task} of job '{jobId}' at '{store.Location}' has no readable manifest: the job's folder was changed by hand; submit the job again.");
            return manifest.Files.ConvertAll(f => f.Name);
        }

        /// <summary>The token (version) of task <paramref name="task"/>'s committed attempt.</summary>
        /// <exception cref="InvalidOperationException">No such job, or the task is not committed yet.</exception>
        public static long CommittedTaskToken(IPartitionStore store, string jobId, int task)
        {
            ArgumentNullException.ThrowIfNull(store);
            var spec = ReadSpec(store, jobId);
            if (task < 0 || task >= spec.Tasks)
                throw new ArgumentOutOfRangeException(nameof(task), task, $"Job '{jobId}' has tasks 0 to {spec.Tasks - 1}.");
            var checkpoint = JobFiles.ReadCheckpoint(store, jobId)
                ?? throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' has no coordinator checkpoint: it was never started.");
            long token = checkpoint.TaskTokens.Length == spec.Tasks ? checkpoint.TaskTokens[task] : 0;
            if (token <= 0)
                throw new InvalidOperationException($"Task {task} of job '{jobId}' at '{store.Location}' is not committed yet: wait for the job to finish (ClusterJob.WaitAsync).");
            return token;
        }

        /// <summary>Prepares the job in the storage (<see cref="Prepare"/>, same parameters) and starts (or resumes) its coordinator.</summary>
        /// <returns>The job's status right after the start.</returns>
        public static async Task<JobStatus> SubmitAsync(IGrainFactory grains, IPartitionStore store, ClusterJobSpec spec, Func<int, IEnumerable<(int Input, int Output)>> pairsOfEpisode,
            long[]? itemCounts = null, long[]? episodeTokens = null)
        {
            ArgumentNullException.ThrowIfNull(grains);
            Prepare(store, spec, pairsOfEpisode, itemCounts, episodeTokens);
            return await StartAsync(grains, spec.JobId).ConfigureAwait(false);
        }

        /// <summary>Starts (or resumes) the coordinator of a job already prepared in the storage.</summary>
        /// <returns>The job's status right after the start.</returns>
        public static Task<JobStatus> StartAsync(IGrainFactory grains, string jobId)
        {
            ArgumentNullException.ThrowIfNull(grains);
            return grains.GetGrain<ICoordinatorGrain>(jobId).StartAsync();
        }

        /// <summary>Waits until the job is finished, polling its coordinator every <paramref name="pollInterval"/> (10 ms to 1 minute).</summary>
        /// <param name="grains">A cluster client or a silo's grain factory.</param>
        /// <param name="jobId">The job.</param>
        /// <param name="pollInterval">Time between status requests: 10 ms to 1 minute.</param>
        /// <param name="progress">Receives every status read, or null.</param>
        /// <param name="cancellation">Stops waiting (the job goes on).</param>
        /// <exception cref="InvalidOperationException">The job failed: a work item failed in every one of its attempts (<see cref="JobStatus.FailureReason"/>).</exception>
        public static async Task<JobStatus> WaitAsync(IGrainFactory grains, string jobId, TimeSpan pollInterval, IProgress<JobStatus>? progress = null, CancellationToken cancellation = default)
        {
            ArgumentNullException.ThrowIfNull(grains);
            if (pollInterval < TimeSpan.FromMilliseconds(10) || pollInterval > TimeSpan.FromMinutes(1))
                throw new ArgumentOutOfRangeException(nameof(pollInterval), pollInterval, "The poll interval is 10 ms to 1 minute.");
            var coordinator = grains.GetGrain<ICoordinatorGrain>(jobId);
            while (true)
            {
                var status = await coordinator.GetStatusAsync().ConfigureAwait(false);
                progress?.Report(status);
                if (status.Finished)
                    return status;
                if (status.FailureReason.Length > 0)
                    throw new InvalidOperationException($"Cluster job '{jobId}' failed: {status.FailureReason}. Fix the cause, then delete the job's folder and submit it again.");
                await Task.Delay(pollInterval, cancellation).ConfigureAwait(false);
            }
        }

        /// <summary>The job's spec, from its description in the storage.</summary>
        /// <exception cref="InvalidOperationException">No such job, or an unreadable description.</exception>
        public static ClusterJobSpec ReadSpec(IPartitionStore store, string jobId)
        {
            ArgumentNullException.ThrowIfNull(store);
            return JobFiles.ReadDescription(store, jobId).Description.Spec;
        }

        /// <summary>The job's spec, item counts and episode tokens (what a bucket trainer needs), from its description in the storage.</summary>
        /// <exception cref="InvalidOperationException">No such job, or an unreadable description.</exception>
        public static ClusterJobData ReadJob(IPartitionStore store, string jobId)
        {
            ArgumentNullException.ThrowIfNull(store);
            var description = JobFiles.ReadDescription(store, jobId).Description;
            return new ClusterJobData(description.Spec, description.ItemCounts, description.EpisodeTokens);
        }

        /// <summary>The job's current vectors (the versions its coordinator's checkpoint names), in item order.</summary>
        /// <exception cref="InvalidOperationException">No such job, or it was never started.</exception>
        public static TrainedVectors ReadVectors(IPartitionStore store, string jobId)
        {
            ArgumentNullException.ThrowIfNull(store);
            var spec = ReadSpec(store, jobId);
            if (!spec.Trains)
                throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' trains no vectors (it is a job of {spec.Tasks} '{spec.TaskKind}' tasks); read its tasks' outputs (ClusterJob.OpenTaskOutput).");
            var checkpoint = JobFiles.ReadCheckpoint(store, jobId)
                ?? throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' has no coordinator checkpoint: it was never started (ClusterJob.SubmitAsync starts it).");
            var partitions = new (float[] Input, float[] Output)[spec.Partitions];
            for (int q = 0; q < spec.Partitions; q++)
                partitions[q] = (Load(store, spec, PartitionSide.Input, q, checkpoint.InputVersions[q]), Load(store, spec, PartitionSide.Output, q, checkpoint.OutputVersions[q]));
            return Assemble(spec, partitions);
        }

        /// <summary>
        /// The job's current vectors (<see cref="ReadVectors"/>) with the keys its submitter stored (<see cref="JobFiles.Keys"/>);
        /// <paramref name="kind"/> ("node" or "item") and <paramref name="missing"/> (after "has no {kind} keys (items.json)")
        /// word the messages.
        /// </summary>
        internal static (string[] Keys, TrainedVectors Trained) ReadKeyedVectors(IPartitionStore store, string jobId, string kind, string missing)
        {
            ArgumentNullException.ThrowIfNull(store);
            var trained = ReadVectors(store, jobId);
            byte[] bytes = store.ReadBlob(jobId, JobFiles.Keys)
                ?? throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' has no {kind} keys ({JobFiles.Keys}){missing}");
            var keys = JsonSerializer.Deserialize<string[]>(bytes);
            if (keys is null || keys.Length != trained.Items)
                throw new InvalidOperationException($"The {kind} keys of job '{jobId}' at '{store.Location}' do not match its {trained.Items} items: the folder is damaged; delete it and submit the job again.");
            return (keys, trained);
        }

        /// <summary>
        /// Trains the job in this process, without a cluster: every bucket in the job's total order, from the initial
        /// partitions in the storage, all partitions in memory. The storage is only read. This is the reference a
        /// <see cref="BucketOrdering.Deterministic"/> cluster run equals bit for bit (on machines with the same vector
        /// width), and a way to train small jobs. A graph job whose workers write the pairs
        /// (<see cref="GraphPairGeneration.Workers"/>) or an item2vec job (<see cref="Item2VecClusterJob"/>) has each
        /// episode's pairs written here, into a temporary folder, by its pair task handler, one episode at a time.
        /// </summary>
        /// <param name="store">The storage holding the prepared job.</param>
        /// <param name="jobId">The job.</param>
        /// <param name="trainer">The bucket kernel; null for <see cref="SkipGramBucketTrainer"/>.</param>
        /// <param name="cancellation">Stops between buckets (and within, as the trainer checks it).</param>
        /// <param name="numberOfThreads">
        /// Buckets trained at once, 1 to 64 (default 1): the P buckets of a round share no partition, so they are trained
        /// in parallel and the result does not depend on this number. Above 1 the trainer must be thread-safe
        /// (<see cref="SkipGramBucketTrainer"/> is).
        /// </param>
        public static TrainedVectors TrainInProcess(IPartitionStore store, string jobId, IBucketTrainer? trainer = null, CancellationToken cancellation = default, int numberOfThreads = 1)
        {
            if (numberOfThreads < 1 || numberOfThreads > 64)
                throw new ArgumentOutOfRangeException(nameof(numberOfThreads), numberOfThreads, "ClusterJob.TrainInProcess trains 1 to 64 buckets at once.");
            ArgumentNullException.ThrowIfNull(store);
            trainer ??= new SkipGramBucketTrainer();
            var job = ReadJob(store, jobId);
            var spec = job.Spec;
            if (spec.Tasks > 0 && !(spec.PairsByTask && spec.TaskKind is GraphPairTaskHandler.PairKind or Sequences.SequencePairTaskHandler.PairKind))
                throw new NotSupportedException($"ClusterJob.TrainInProcess trains the buckets of training jobs (ClusterJob.Prepare, GraphClusterJob); job '{jobId}' has {spec.Tasks} '{spec.TaskKind}' tasks, which only the cluster's task handlers run.");
            var partitions = new (float[] Input, float[] Output)[spec.Partitions];
            for (int q = 0; q < spec.Partitions; q++)
                partitions[q] = (Load(store, spec, PartitionSide.Input, q, 0), Load(store, spec, PartitionSide.Output, q, 0));
            var schedule = new BucketSchedule(spec);
            var progress = new NoProgress();
            // A job whose tasks write its pairs: each episode's pair task runs here, into a scratch storage, before its first bucket.
            string? scratch = spec.PairsByTask ? Path.Combine(Path.GetTempPath(), "embeddings-inprocess-" + jobId + "-" + Guid.NewGuid().ToString("N")) : null;
            using PairTaskHandler? handler = !spec.PairsByTask ? null
                : spec.TaskKind == GraphPairTaskHandler.PairKind ? new GraphPairTaskHandler() : new Sequences.SequencePairTaskHandler();
            try
            {
                IPartitionStore? pairStore = null;
                if (scratch is not null)
                {
                    Directory.CreateDirectory(scratch);
                    pairStore = new DirectoryPartitionStore(scratch);
                }
                long pairEpisode = -1;
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = numberOfThreads, CancellationToken = cancellation };
                int p = spec.Partitions;
                // A round (P consecutive buckets of the order) never crosses an episode.
                for (long round = 0; round < schedule.Total; round += p)
                {
                    cancellation.ThrowIfCancellationRequested();
                    long episode = schedule.EpisodeOf(round);
                    if (pairStore is not null && episode != pairEpisode)
                    {
                        if (pairEpisode >= 0)
                            pairStore.DeleteFolder(jobId, JobFiles.TaskFolder((int)pairEpisode));
                        handler!.Run(new ClusterTask(store, spec, (int)episode, 0, token: 1, pairStore), progress, cancellation);
                        pairEpisode = episode;
                    }
                    void Train(long w)
                    {
                        var item = schedule.At(w);
                        using var pairs = pairStore is null
                            ? JobFiles.OpenPairs(store, jobId, item.Episode, item.Input, item.Output)
                            : JobFiles.OpenTaskPairs(pairStore, jobId, (int)episode, 1, item.Episode, item.Input, item.Output);
                        var work = new BucketWork(job, w, item.Epoch, item.Episode, item.Input, item.Output);
                        trainer.Train(work, partitions[item.Input].Input, partitions[item.Output].Output, pairs, progress, cancellation);
                    }
                    if (numberOfThreads == 1)
                    {
                        for (int k = 0; k < p; k++)
                            Train(round + k);
                    }
                    else
                    {
                        Parallel.For(0, p, parallel, k => Train(round + k));
                    }
                }
            }
            finally
            {
                if (scratch is not null && Directory.Exists(scratch))
                    Directory.Delete(scratch, recursive: true);
            }
            return Assemble(spec, partitions);
        }

        private static float[] Load(IPartitionStore store, ClusterJobSpec spec, PartitionSide side, int partition, long version)
        {
            int rows = spec.RowsOf(partition);
            var values = new float[(long)rows * spec.Dimension];
            store.ReadPartition(spec.JobId, side, partition, version, rows, spec.Dimension, values);
            return values;
        }

        private static TrainedVectors Assemble(ClusterJobSpec spec, (float[] Input, float[] Output)[] partitions)
        {
            int d = spec.Dimension, p = spec.Partitions;
            var input = new float[(long)spec.Items * d];
            var output = new float[(long)spec.Items * d];
            for (int v = 0; v < spec.Items; v++)
            {
                partitions[v % p].Input.AsSpan(v / p * d, d).CopyTo(input.AsSpan(v * d, d));
                partitions[v % p].Output.AsSpan(v / p * d, d).CopyTo(output.AsSpan(v * d, d));
            }
            return new TrainedVectors(spec.Items, d, input, output);
        }

        private sealed class NoProgress : IBucketProgress
        {
            public void Report(long pairsDone)
            {
            }
        }
    }
}
