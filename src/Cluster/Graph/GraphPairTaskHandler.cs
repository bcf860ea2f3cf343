using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using Embeddings.Cluster.Tasks;
using Embeddings.Cluster.Training;
using Embeddings.Graph;
using Embeddings.Partitioned;

namespace Embeddings.Cluster.Graph
{
    /// <summary>
    /// The walk and pair settings of a graph job whose workers write its pairs (walks.json in the job's folder): what a
    /// worker needs, besides the graph and the vocabulary, to draw the walks of an episode and write their pairs exactly
    /// as the submitter's counting pass and the single-machine partitioned trainer draw them.
    /// </summary>
    internal sealed record GraphWalkSettings
    {
        public int WalksPerNode { get; init; }

        public int WalkLength { get; init; }

        public int WindowSize { get; init; }

        public double SamplingThreshold { get; init; }

        public int MinCount { get; init; }

        public double ReturnParameter { get; init; }

        public double InOutParameter { get; init; }

        public SecondOrderSampling SecondOrderSampling { get; init; }

        public int EmbeddingDimension { get; init; }

        public int Epochs { get; init; }

        public int NegativeSampleCount { get; init; }

        public float LearningRate { get; init; }

        public int Seed { get; init; }

        public long EpisodeBytes { get; init; }

        public int MinimumEpisodesPerEpoch { get; init; }

        /// <summary>The estimator options these settings stand for (the columns are not used).</summary>
        public Node2VecEstimator.Options ToOptions() => new()
        {
            WalksPerNode = WalksPerNode,
            WalkLength = WalkLength,
            WindowSize = WindowSize,
            SamplingThreshold = SamplingThreshold,
            MinCount = MinCount,
            ReturnParameter = ReturnParameter,
            InOutParameter = InOutParameter,
            SecondOrderSampling = SecondOrderSampling,
            EmbeddingDimension = EmbeddingDimension,
            Epochs = Epochs,
            NegativeSampleCount = NegativeSampleCount,
            LearningRate = LearningRate,
            Seed = Seed,
        };

        /// <summary>The partitioned-training settings of a pair source writing into <paramref name="directory"/>.</summary>
        public PartitionedTrainingOptions Scratch(string directory, int partitions) => new()
        {
            Directory = directory,
            EpisodeBytes = EpisodeBytes,
            MinimumEpisodesPerEpoch = MinimumEpisodesPerEpoch,
            Partitions = partitions,
        };
    }

    /// <summary>
    /// Runs the pair tasks of graph jobs (node2vec and DeepWalk jobs submitted with
    /// <see cref="GraphPairGeneration.Workers"/>): task t draws the walks of episode t mod Episodes again, from the same
    /// streams as the submitter's counting pass (seed and walk number), with the subsampling and windows of epoch
    /// t / Episodes, and writes the episode's pairs as one file per bucket (b-I-J.bin). The files are those the
    /// single-machine partitioned trainer with the same settings trains from, whatever the thread count. The graph, the
    /// vocabulary and the walker are loaded once per job and kept for its next tasks (one job at a time). Registered in
    /// every silo by <c>AddPartitionedTrainingWorker</c>.
    /// </summary>
    public sealed class GraphPairTaskHandler : IClusterTaskHandler, IDisposable
    {
        /// <summary>The task kind of graph pair tasks: "graph-pairs".</summary>
        public const string PairKind = "graph-pairs";

        internal const string GraphFile = "graph.bin";
        internal const string VocabularyFile = "vocabulary.bin";
        internal const string SettingsFile = "walks.json";
        private const string Component = "GraphPairTaskHandler";

        private readonly object _gate = new();
        private Loaded? _loaded;

        /// <inheritdoc/>
        public string Kind => PairKind;

        /// <summary>How many times a graph was read from the storage by this handler (a test of the cache).</summary>
        public int GraphLoads { get; private set; }

        private sealed class Loaded(string key, PartitionedSkipGramRun source, string scratch) : IDisposable
        {
            public string Key { get; } = key;

            public PartitionedSkipGramRun Source { get; } = source;

            public string Scratch { get; } = scratch;

            public void Dispose()
            {
                try
                {
                    if (Directory.Exists(Scratch))
                        Directory.Delete(Scratch, recursive: true);
                }
                catch (IOException)
                {
                    // A scratch folder under the temporary folder: left to the system when it cannot go now.
                }
            }
        }

        /// <inheritdoc/>
        public ClusterTaskResult Run(ClusterTask task, IBucketProgress progress, CancellationToken cancellation)
        {
            ArgumentNullException.ThrowIfNull(task);
            ArgumentNullException.ThrowIfNull(progress);
            var spec = task.Spec;
            if (!spec.PairsByTask)
                throw new InvalidOperationException($"{Component}: job '{spec.JobId}' has '{PairKind}' tasks but no PairTaskWindow; it was not written by GraphClusterJob. Submit it again.");
            // One task at a time per handler: the source writes into its one scratch folder.
            lock (_gate)
            {
                long bytesRead = 0;
                var loaded = Load(task, ref bytesRead);
                var source = loaded.Source;
                int epoch = task.Index / spec.Episodes, episode = task.Index % spec.Episodes;
                source.CancellationOverride = cancellation;
                source.PairItemWritten = _ => progress.Report(0);
                long[] counts;
                try
                {
                    counts = source.WriteEpisodePairs(epoch, episode, spec.Episodes, spec.Items);
                }
                finally
                {
                    source.CancellationOverride = null;
                    source.PairItemWritten = null;
                }
                var directory = new PartitionDirectory(loaded.Scratch);
                int p = spec.Partitions;
                long pairs = 0;
                var buffer = new byte[1 << 20];
                for (int i = 0; i < p; i++)
                {
                    for (int j = 0; j < p; j++)
                    {
                        cancellation.ThrowIfCancellationRequested();
                        long n = counts[i * p + j];
                        string path = directory.BucketFile(i, j);
                        task.WriteOutput(JobFiles.TaskPairFileName(i, j), stream =>
                        {
                            Span<byte> header = stackalloc byte[JobFiles.PairHeaderBytes];
                            JobFiles.WritePairHeader(header, episode, i, j, n);
                            stream.Write(header);
                            if (n == 0)
                                return;
                            using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
                            if (file.Length != n * 8)
                                throw new IOException($"{Component}: the pair file '{path}' holds {file.Length:N0} bytes for {n:N0} pairs; is another process using the folder?");
                            int read;
                            while ((read = file.Read(buffer)) > 0)
                            {
                                stream.Write(buffer, 0, read);
                                progress.Report(0);
                            }
                        });
                        pairs += n;
                    }
                }
                directory.ClearPairs();
                return new ClusterTaskResult(pairs, bytesRead);
            }
        }

        /// <summary>The job's pair source, loaded from the storage unless it is the one kept.</summary>
        private Loaded Load(ClusterTask task, ref long bytesRead)
        {
            var store = task.Store;
            string jobId = task.JobId;
            var (description, descriptionBytes) = JobFiles.ReadDescription(store, jobId);
            string key = jobId + "/" + JobFiles.Sha256(descriptionBytes);
            if (_loaded is { } kept && kept.Key == key)
                return kept;
            _loaded?.Dispose();
            _loaded = null;

            var spec = description.Spec;
            byte[] settingsBytes = store.ReadBlob(jobId, SettingsFile)
                ?? throw new InvalidOperationException($"{Component}: job '{jobId}' at '{store.Location}' has no {SettingsFile}; it was not written by GraphClusterJob. Delete its folder and submit it again.");
            var settings = JsonSerializer.Deserialize<GraphWalkSettings>(settingsBytes, JobFiles.Json)
                ?? throw new InvalidOperationException($"{Component}: the {SettingsFile} of job '{jobId}' is empty; delete the job's folder and submit it again.");
            CsrGraph graph;
            using (var stream = store.OpenBlob(jobId, GraphFile)
                ?? throw new InvalidOperationException($"{Component}: job '{jobId}' at '{store.Location}' has no {GraphFile}; delete its folder and submit it again."))
            {
                using var reader = new BinaryReader(new BufferedStream(stream, 1 << 20));
                graph = CsrGraph.Read(reader);
                bytesRead += stream.CanSeek ? stream.Length : 0;
            }
            byte[] vocabulary = store.ReadBlob(jobId, VocabularyFile)
                ?? throw new InvalidOperationException($"{Component}: job '{jobId}' at '{store.Location}' has no {VocabularyFile}; delete its folder and submit it again.");
            bytesRead += vocabulary.Length + settingsBytes.Length;
            GraphLoads++;

            string scratch = Path.Combine(Path.GetTempPath(), "embeddings-pairs-" + jobId + "-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(scratch);
            try
            {
                File.WriteAllBytes(Path.Combine(scratch, PartitionDirectory.VocabularyName), vocabulary);
                var options = settings.ToOptions();
                var source = PartitionedGraphTraining.PairSource(graph, options, settings.ReturnParameter, settings.InOutParameter, settings.SecondOrderSampling, settings.Seed,
                    spec.Partitions, Environment.ProcessorCount, settings.Scratch(scratch, spec.Partitions), Component, log: null, CancellationToken.None);
                _loaded = new Loaded(key, source, scratch);
                return _loaded;
            }
            catch
            {
                Directory.Delete(scratch, recursive: true);
                throw;
            }
        }

        /// <summary>Deletes the kept job's scratch folder.</summary>
        public void Dispose()
        {
            lock (_gate)
            {
                _loaded?.Dispose();
                _loaded = null;
            }
        }
    }
}
