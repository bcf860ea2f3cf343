using System;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Graph;
using Embeddings.Cluster.Storage;
using Embeddings.Graph;
using Embeddings.Partitioned;
using Orleans;

namespace Embeddings.Cluster
{
    /// <summary>Who writes the pairs of a graph job.</summary>
    public enum GraphPairGeneration
    {
        /// <summary>
        /// The default. The submitter builds the graph and runs the counting pass (the vocabulary and the episodes),
        /// then stores the graph, the vocabulary and the walk settings; the workers write each episode's pairs as a task
        /// (<see cref="GraphPairTaskHandler"/>) while the buckets of earlier episodes train, and at most
        /// <see cref="GraphClusterJobOptions.PairTaskWindow"/> episodes' pairs are in the storage at once.
        /// </summary>
        Workers = 0,

        /// <summary>
        /// The submitter writes every episode's pairs into the storage before the job starts (the storage holds all of
        /// them until the job is deleted); with several epochs, the first epoch's pairs are trained again.
        /// </summary>
        Submitter = 1,
    }

    /// <summary>The cluster settings of a node2vec / DeepWalk job (the walk and skip-gram settings are the estimators' <see cref="GraphEmbeddingOptions"/>).</summary>
    public sealed record GraphClusterJobOptions
    {
        /// <summary>The job's name: its folder in the shared storage and its coordinator's key (1 to 64 letters, digits, '_', '-'). Required.</summary>
        public string JobId { get; init; } = "";

        /// <summary>P, the number of partitions of the node vectors: 1 to 64, at most the number of nodes with vectors. Default 4.</summary>
        public int Partitions { get; init; } = 4;

        /// <summary>The ordering constraints between buckets. Default <see cref="BucketOrdering.Deterministic"/> (the result equals <see cref="ClusterJob.TrainInProcess"/> bit for bit).</summary>
        public BucketOrdering Ordering { get; init; } = BucketOrdering.Deterministic;

        /// <summary>How long a lease lives without a renewal: 0.1 s to 1 day. Default 60 s.</summary>
        public TimeSpan LeaseTimeout { get; init; } = TimeSpan.FromSeconds(60);

        /// <summary>
        /// The pair bytes (8 per pair) an episode may hold before the walks are split into more episodes, as
        /// <see cref="PartitionedTrainingOptions.EpisodeBytes"/>: 1 MiB or more. Default 4 GiB. The submitter holds one
        /// bucket's pairs in memory at a time.
        /// </summary>
        public long EpisodeBytes { get; init; } = 4L << 30;

        /// <summary>
        /// The fewest episodes per epoch, as <see cref="PartitionedTrainingOptions.MinimumEpisodesPerEpoch"/>: 1 to 1,024.
        /// Default 8.
        /// </summary>
        public int MinimumEpisodesPerEpoch { get; init; } = 8;

        /// <summary>
        /// A local folder, empty or absent, where the submitter writes each episode's pairs before copying them into
        /// the shared storage; removed afterwards. Null (the default): a new folder under the system's temporary folder.
        /// </summary>
        public string? ScratchDirectory { get; init; }

        /// <summary>Who writes the pairs. Default <see cref="GraphPairGeneration.Workers"/>.</summary>
        public GraphPairGeneration PairGeneration { get; init; } = GraphPairGeneration.Workers;

        /// <summary>
        /// With <see cref="GraphPairGeneration.Workers"/>: the most episodes whose pairs are in the storage at once
        /// (<see cref="ClusterJobSpec.PairTaskWindow"/>), 1 to 64. Default 2: the next episode's pairs are written while
        /// one trains. The storage then holds about PairTaskWindow x <see cref="EpisodeBytes"/> of pairs at most.
        /// </summary>
        public int PairTaskWindow { get; init; } = 2;

        /// <summary>How often <see cref="GraphClusterJob.TrainAsync"/> asks the coordinator for the job's status: 10 ms to 1 minute. Default 1 s.</summary>
        public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);
    }

    /// <summary>The vectors a graph job trained, keyed by node.</summary>
    /// <param name="Vectors">The input vectors of the nodes that have one (visited at least MinCount times), most visited first.</param>
    /// <param name="Context">The output (context) vectors in the same order when <see cref="GraphEmbeddingOptions.KeepContextVectors"/> is set, else null.</param>
    /// <param name="Status">The job's final status (buckets, expired leases, pairs, bytes moved, kernel and storage seconds).</param>
    public sealed record GraphClusterResult(EmbeddingTable Vectors, EmbeddingTable? Context, JobStatus Status);

    /// <summary>
    /// node2vec and DeepWalk on the cluster. The submitter builds the graph, walks it once to count node visits (the
    /// vocabulary, most visited first, and the tokens of each episode), then walks it again episode by episode and
    /// writes the pairs of each episode, bucketed by (partition of the context node, partition of the centre node),
    /// into the shared storage, exactly as the single-machine partitioned trainer
    /// (<see cref="GraphEmbeddingOptions.Partitioning"/>) writes its bucket files. The cluster's workers train the
    /// buckets with the same kernel; the result is read back as an <see cref="EmbeddingTable"/>.
    /// </summary>
    /// <remarks>
    /// What differs from the single-machine partitioned trainer with the same P: the buckets of an episode run in a
    /// diagonal order rather than a snake order (<see cref="BucketOrdering"/>), and with more than one epoch the first
    /// epoch's pairs are trained again (the single-machine trainer draws each epoch's subsampling and windows anew).
    /// Walks and pairs are generated by the submitter, on <see cref="GraphEmbeddingOptions.NumberOfThreads"/> threads,
    /// while no worker trains yet; splitting that work by node range across the workers is not done. The pair files
    /// do not depend on the number of threads (work items are appended in item order), so a job submitted again with
    /// another thread count is the same job.
    /// </remarks>
    public static class GraphClusterJob
    {
        private const string Component = "GraphClusterJob";
        private const string ItemsFile = "items.json";

        /// <summary>
        /// Writes the job into the storage (<see cref="Prepare"/>), starts its coordinator, waits until the workers
        /// finished it, and returns the vectors keyed by node.
        /// </summary>
        /// <param name="grains">A cluster client, or a silo's grain factory.</param>
        /// <param name="store">The shared storage the silos' workers use.</param>
        /// <param name="writeEdges">Writes every edge once (<see cref="IEdgeWriter.AddEdge"/>).</param>
        /// <param name="options">
        /// The walk and skip-gram settings: a <see cref="Node2VecEstimator.Options"/> (its p, q and second-order
        /// sampling are used) or a <see cref="DeepWalkEstimator.Options"/> (p = q = 1). The column names are not used.
        /// </param>
        /// <param name="job">The cluster settings.</param>
        /// <param name="progress">Receives the job's status at every poll, or null.</param>
        /// <param name="cancellation">Stops the submission or the waiting (a started job goes on in the cluster), as <see cref="GraphEmbeddingOptions.CancellationToken"/> does.</param>
        public static async Task<GraphClusterResult> TrainAsync(IGrainFactory grains, IPartitionStore store, Action<IEdgeWriter> writeEdges, GraphEmbeddingOptions options,
            GraphClusterJobOptions job, IProgress<JobStatus>? progress = null, CancellationToken cancellation = default)
        {
            ArgumentNullException.ThrowIfNull(grains);
            ArgumentNullException.ThrowIfNull(options);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, options.CancellationToken);
            Prepare(store, writeEdges, options, job, log: null, linked.Token);
            await ClusterJob.StartAsync(grains, job.JobId).ConfigureAwait(false);
            var status = await ClusterJob.WaitAsync(grains, job.JobId, job.PollInterval, progress, linked.Token).ConfigureAwait(false);
            var (vectors, context) = ReadTables(store, job.JobId, options.KeepContextVectors);
            return new GraphClusterResult(vectors, context, status);
        }

        /// <summary>
        /// Checks the settings, builds the graph, and writes the job (its pairs, item counts, episode tokens, node keys
        /// and initial partitions) into the storage. Submitting the same job again (same graph and settings) writes
        /// nothing; another job under the same id throws. A null <see cref="GraphEmbeddingOptions.Seed"/> draws a seed,
        /// so such a job cannot be submitted again: set the seed to resume a job.
        /// </summary>
        /// <param name="store">The shared storage the silos' workers use.</param>
        /// <param name="writeEdges">Writes every edge once (<see cref="IEdgeWriter.AddEdge"/>).</param>
        /// <param name="options">The walk and skip-gram settings (as for <see cref="TrainAsync"/>).</param>
        /// <param name="job">The cluster settings.</param>
        /// <param name="log">Receives a line per phase (counting pass, each episode written), or null.</param>
        /// <param name="cancellation">Stops the submission before the description is written (nothing is committed), as <see cref="GraphEmbeddingOptions.CancellationToken"/> does.</param>
        /// <returns>The job's spec.</returns>
        /// <exception cref="ArgumentException">A setting is out of range (the message names it, its value and the fix).</exception>
        /// <exception cref="NotSupportedException">A setting the cluster does not support (Bipartite, Partitioning, Progress).</exception>
        public static ClusterJobSpec Prepare(IPartitionStore store, Action<IEdgeWriter> writeEdges, GraphEmbeddingOptions options, GraphClusterJobOptions job,
            Action<string>? log = null, CancellationToken cancellation = default)
        {
            ArgumentNullException.ThrowIfNull(store);
            ArgumentNullException.ThrowIfNull(writeEdges);
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(job);
            var (p, q, sampling) = options is Node2VecEstimator.Options n ? (n.ReturnParameter, n.InOutParameter, n.SecondOrderSampling) : (1.0, 1.0, SecondOrderSampling.Auto);
            Validate(options, job, p, q);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellation, options.CancellationToken);
            int seed = options.Seed ?? Random.Shared.Next();
            int threads = options.NumberOfThreads ?? Environment.ProcessorCount;

            string scratch = job.ScratchDirectory ?? Path.Combine(Path.GetTempPath(), "embeddings-cluster-" + job.JobId + "-" + Guid.NewGuid().ToString("N"));
            if (Directory.Exists(scratch) && Directory.EnumerateFileSystemEntries(scratch).GetEnumerator().MoveNext())
                throw new ArgumentException($"{Component}: GraphClusterJobOptions.ScratchDirectory '{scratch}' is not empty; give an empty or absent local folder (or null for a temporary one).", nameof(job));
            bool created = !Directory.Exists(scratch);
            ClusterJobSpec? spec = null;
            JobSubmission? submission = null;
            int[] buffer = Array.Empty<int>();
            try
            {
                if (job.PairGeneration == GraphPairGeneration.Workers)
                    return PrepareForWorkers(store, writeEdges, options, job, p, q, sampling, seed, threads, scratch, log, linked.Token);
                var (export, _, _) = PartitionedGraphTraining.ExportPairs(writeEdges, options, p, q, sampling, seed, job.Partitions, threads,
                    new PartitionedTrainingOptions { Directory = scratch, EpisodeBytes = job.EpisodeBytes, MinimumEpisodesPerEpoch = job.MinimumEpisodesPerEpoch, Partitions = job.Partitions }, Component, log,
                    (items, episodes) =>
                    {
                        spec = new ClusterJobSpec
                        {
                            JobId = job.JobId,
                            Items = items,
                            Partitions = job.Partitions,
                            Dimension = options.EmbeddingDimension,
                            Epochs = options.Epochs,
                            Episodes = episodes,
                            Negatives = options.NegativeSampleCount,
                            LearningRate = options.LearningRate,
                            Seed = seed,
                            Ordering = job.Ordering,
                            LeaseTimeout = job.LeaseTimeout,
                        };
                        spec.Validate();
                        submission = new JobSubmission(store, spec);
                    },
                    (episode, counts, directory) =>
                    {
                        int partitions = job.Partitions;
                        for (int i = 0; i < partitions; i++)
                        {
                            for (int j = 0; j < partitions; j++)
                            {
                                long pairs = counts[i * partitions + j];
                                if (2 * pairs > Array.MaxLength)
                                    throw new NotSupportedException($"{Component}: bucket ({i}, {j}) of episode {episode} holds {pairs:N0} pairs, more than one array holds; lower GraphClusterJobOptions.EpisodeBytes (now {job.EpisodeBytes:N0}) or raise Partitions.");
                                if (buffer.Length < 2 * pairs)
                                    buffer = new int[Math.Max(2 * pairs, Math.Min(Array.MaxLength, 2L * buffer.Length))];
                                var span = buffer.AsSpan(0, (int)(2 * pairs));
                                if (pairs > 0)
                                {
                                    using var handle = File.OpenHandle(directory.BucketFile(i, j), FileMode.Open, FileAccess.Read, FileShare.Read);
                                    if (RandomAccess.Read(handle, MemoryMarshal.AsBytes(span), 0) != span.Length * sizeof(int))
                                        throw new IOException($"{Component}: the pair file '{directory.BucketFile(i, j)}' in the scratch folder is shorter than written; is another process using the folder?");
                                }
                                submission!.AddBucket(episode, i, j, span);
                            }
                        }
                        log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"{Component}: episode {episode + 1} of job '{job.JobId}': {submission!.EpisodePairs[episode]:N0} pairs written to the shared storage"));
                    },
                    linked.Token);
                // The node keys go in before the description: a committed job always has them.
                store.WriteBlob(job.JobId, ItemsFile, JsonSerializer.SerializeToUtf8Bytes(export.Keys));
                submission!.Commit(export.Counts, export.EpisodeTokens);
                return spec!;
            }
            finally
            {
                // The folder was absent or empty: everything in it is this submission's (the counting pass's files).
                if (created && Directory.Exists(scratch))
                    Directory.Delete(scratch, recursive: true);
                else if (Directory.Exists(scratch))
                {
                    foreach (string entry in Directory.EnumerateFileSystemEntries(scratch))
                    {
                        if (Directory.Exists(entry))
                            Directory.Delete(entry, recursive: true);
                        else
                            File.Delete(entry);
                    }
                }
            }
        }

        /// <summary>
        /// <see cref="GraphPairGeneration.Workers"/>: builds the graph and runs the counting pass here, then stores the
        /// graph, the vocabulary and the walk settings (the pair tasks' inputs, fingerprinted together), the node keys,
        /// the initial partitions and the description with one pair task per epoch and episode.
        /// </summary>
        private static ClusterJobSpec PrepareForWorkers(IPartitionStore store, Action<IEdgeWriter> writeEdges, GraphEmbeddingOptions options, GraphClusterJobOptions job,
            double p, double q, SecondOrderSampling sampling, int seed, int threads, string scratch, Action<string>? log, CancellationToken cancellation)
        {
            var builder = new GraphBuilder(options.Directed, options.Bipartite, options.KeepSelfLoops, options.InvalidWeights);
            writeEdges(builder);
            var graph = builder.Build(out _);
            if (graph.EdgeCount == 0)
                throw new InvalidOperationException($"{Component}: the graph has no edges ({builder.RowsRead:N0} rows read, {builder.DroppedInvalidWeights + builder.DroppedSelfLoops + builder.DroppedMissingNodes:N0} dropped); there is nothing to walk.");
            var walk = new GraphWalkSettings
            {
                WalksPerNode = options.WalksPerNode,
                WalkLength = options.WalkLength,
                WindowSize = options.WindowSize,
                SamplingThreshold = options.SamplingThreshold,
                MinCount = options.MinCount,
                ReturnParameter = p,
                InOutParameter = q,
                SecondOrderSampling = sampling,
                EmbeddingDimension = options.EmbeddingDimension,
                Epochs = options.Epochs,
                NegativeSampleCount = options.NegativeSampleCount,
                LearningRate = options.LearningRate,
                Seed = seed,
                EpisodeBytes = job.EpisodeBytes,
                MinimumEpisodesPerEpoch = job.MinimumEpisodesPerEpoch,
            };
            var source = PartitionedGraphTraining.PairSource(graph, options, p, q, sampling, seed, job.Partitions, threads, walk.Scratch(scratch, job.Partitions), Component, log, cancellation);
            var vocabulary = source.CountVocabulary();
            cancellation.ThrowIfCancellationRequested();
            var spec = JobSubmission.PairTaskSpec(job.JobId, vocabulary, job.Partitions, options.EmbeddingDimension, options.Epochs, options.NegativeSampleCount, options.LearningRate, seed,
                job.Ordering, job.LeaseTimeout, GraphPairTaskHandler.PairKind, job.PairTaskWindow);
            byte[] vocabularyBytes = File.ReadAllBytes(Path.Combine(scratch, PartitionDirectory.VocabularyName));
            JobSubmission.SubmitPairTaskJob(store, spec, vocabulary, new (string, Action<Stream>)[]
            {
                (GraphPairTaskHandler.SettingsFile, s => s.Write(JsonSerializer.SerializeToUtf8Bytes(walk, JobFiles.Json))),
                (GraphPairTaskHandler.VocabularyFile, s => s.Write(vocabularyBytes)),
                (ItemsFile, s => s.Write(JsonSerializer.SerializeToUtf8Bytes(vocabulary.Keys))),
                (GraphPairTaskHandler.GraphFile, s =>
                {
                    using var writer = new BinaryWriter(new BufferedStream(s, 1 << 20));
                    graph.Write(writer);
                }),
            });
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"{Component}: job '{job.JobId}': {spec.Items:N0} nodes with vectors, {spec.Episodes} episodes per epoch; the workers write the pairs, {job.PairTaskWindow} episodes at a time"));
            return spec;
        }

        /// <summary>The job's current input vectors keyed by node, and its output vectors when <paramref name="context"/> is set.</summary>
        /// <exception cref="InvalidOperationException">No such graph job, or it was never started.</exception>
        public static (EmbeddingTable Vectors, EmbeddingTable? Context) ReadTables(IPartitionStore store, string jobId, bool context = false)
        {
            ArgumentNullException.ThrowIfNull(store);
            var trained = ClusterJob.ReadVectors(store, jobId);
            byte[] bytes = store.ReadBlob(jobId, ItemsFile)
                ?? throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' has no node keys ({ItemsFile}): it is not a graph job; read it with ClusterJob.ReadVectors.");
            var keys = JsonSerializer.Deserialize<string[]>(bytes);
            if (keys is null || keys.Length != trained.Items)
                throw new InvalidOperationException($"The node keys of job '{jobId}' at '{store.Location}' do not match its {trained.Items} items: the folder is damaged; delete it and submit the job again.");
            return (new EmbeddingTable(keys, trained.Input, trained.Dimension), context ? new EmbeddingTable(keys, trained.Output, trained.Dimension) : null);
        }

        /// <summary>
        /// Checks the settings without touching the storage or the cluster (what <see cref="Prepare"/> checks first), so
        /// that a submitter can refuse them before it connects.
        /// </summary>
        /// <exception cref="ArgumentException">A setting is out of range (the message names it, its value and the fix).</exception>
        /// <exception cref="NotSupportedException">A setting the cluster does not support (Bipartite, Partitioning, Progress).</exception>
        public static void CheckSettings(GraphEmbeddingOptions options, GraphClusterJobOptions job)
        {
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(job);
            var (p, q) = options is Node2VecEstimator.Options n ? (n.ReturnParameter, n.InOutParameter) : (1.0, 1.0);
            Validate(options, job, p, q);
        }

        private static void Validate(GraphEmbeddingOptions o, GraphClusterJobOptions job, double p, double q)
        {
            GraphEmbeddingTraining.ValidateTraining(o, Component, p, q);
            if (o.Bipartite)
                throw new NotSupportedException($"{Component}: Bipartite = true is not supported on the cluster; train a bipartite graph on one machine (Node2VecEstimator), or set Bipartite = false.");
            if (o.Partitioning is not null)
                throw new NotSupportedException($"{Component}: GraphEmbeddingOptions.Partitioning is for single-machine training; on the cluster set GraphClusterJobOptions.Partitions (now {job.Partitions}) and leave Partitioning null.");
            if (o.Progress is not null)
                throw new NotSupportedException($"{Component}: GraphEmbeddingOptions.Progress is not reported by cluster jobs; pass an IProgress<JobStatus> to GraphClusterJob.TrainAsync (buckets done, epoch, pairs) and leave Progress null.");
            if (o.NegativeSampleCount > 64)
                throw new ArgumentOutOfRangeException(nameof(o.NegativeSampleCount), o.NegativeSampleCount, $"{Component}: NegativeSampleCount = {o.NegativeSampleCount}; cluster jobs draw 1 to 64 negatives (5 is usual).");
            if (o.EmbeddingDimension > ClusterJobSpec.MaxDimension)
                throw new ArgumentOutOfRangeException(nameof(o.EmbeddingDimension), o.EmbeddingDimension, $"{Component}: EmbeddingDimension = {o.EmbeddingDimension}; cluster jobs train 1 to {ClusterJobSpec.MaxDimension} dimensions.");
            if (job.Partitions < 1 || job.Partitions > ClusterJobSpec.MaxPartitions)
                throw new ArgumentOutOfRangeException(nameof(job.Partitions), job.Partitions, $"{Component}: GraphClusterJobOptions.Partitions = {job.Partitions}; use 1 to {ClusterJobSpec.MaxPartitions}.");
            if (job.EpisodeBytes < (1L << 20))
                throw new ArgumentOutOfRangeException(nameof(job.EpisodeBytes), job.EpisodeBytes, $"{Component}: GraphClusterJobOptions.EpisodeBytes = {job.EpisodeBytes:N0} is below 1 MiB; use 1 MiB or more (default 4 GiB).");
            if (job.MinimumEpisodesPerEpoch < 1 || job.MinimumEpisodesPerEpoch > 1024)
                throw new ArgumentOutOfRangeException(nameof(job.MinimumEpisodesPerEpoch), job.MinimumEpisodesPerEpoch, $"{Component}: GraphClusterJobOptions.MinimumEpisodesPerEpoch = {job.MinimumEpisodesPerEpoch}; use 1 to 1024 (default 8).");
            if (!Enum.IsDefined(job.PairGeneration))
                throw new ArgumentOutOfRangeException(nameof(job.PairGeneration), job.PairGeneration, $"{Component}: GraphClusterJobOptions.PairGeneration = {job.PairGeneration}; use Workers or Submitter.");
            if (job.PairGeneration == GraphPairGeneration.Workers && (job.PairTaskWindow < 1 || job.PairTaskWindow > 64))
                throw new ArgumentOutOfRangeException(nameof(job.PairTaskWindow), job.PairTaskWindow, $"{Component}: GraphClusterJobOptions.PairTaskWindow = {job.PairTaskWindow}; use 1 to 64 episodes of pairs in the storage at once (default 2).");
            if (job.PollInterval < TimeSpan.FromMilliseconds(10) || job.PollInterval > TimeSpan.FromMinutes(1))
                throw new ArgumentOutOfRangeException(nameof(job.PollInterval), job.PollInterval, $"{Component}: GraphClusterJobOptions.PollInterval = {job.PollInterval}; use 10 ms to 1 minute (default 1 s).");
            // The job id, ordering and lease timeout are checked with the spec, before anything is written.
            new ClusterJobSpec { JobId = job.JobId, Items = job.Partitions, Partitions = job.Partitions, Ordering = job.Ordering, LeaseTimeout = job.LeaseTimeout }.Validate();
        }
    }
}
