using System;
using System.IO;
using System.Threading;
using Embeddings.Cluster.Tasks;
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
    public sealed class GraphPairTaskHandler : PairTaskHandler
    {
        /// <summary>The task kind of graph pair tasks: "graph-pairs".</summary>
        public const string PairKind = "graph-pairs";

        internal const string GraphFile = "graph.bin";
        internal const string VocabularyFile = "vocabulary.bin";
        internal const string SettingsFile = "walks.json";
        private const string Component = "GraphPairTaskHandler";

        /// <inheritdoc/>
        public override string Kind => PairKind;

        /// <summary>How many times a graph was read from the storage by this handler (a test of the cache).</summary>
        public int GraphLoads { get; private set; }

        /// <inheritdoc/>
        private protected override (PartitionedSkipGramRun Source, IDisposable? Resources) Open(ClusterTask task, string scratch, ref long bytesRead)
        {
            var spec = task.Spec;
            var settings = ReadSettings<GraphWalkSettings>(task, SettingsFile, Component, ref bytesRead);
            CsrGraph graph;
            using (var stream = OpenInput(task, GraphFile, Component))
            {
                using var reader = new BinaryReader(new BufferedStream(stream, 1 << 20));
                graph = CsrGraph.Read(reader);
                bytesRead += stream.CanSeek ? stream.Length : 0;
            }
            byte[] vocabulary = ReadInput(task, VocabularyFile, Component);
            bytesRead += vocabulary.Length;
            GraphLoads++;
            File.WriteAllBytes(Path.Combine(scratch, PartitionDirectory.VocabularyName), vocabulary);
            var source = PartitionedGraphTraining.PairSource(graph, settings.ToOptions(), settings.ReturnParameter, settings.InOutParameter, settings.SecondOrderSampling, settings.Seed,
                spec.Partitions, Environment.ProcessorCount, settings.Scratch(scratch, spec.Partitions), Component, log: null, CancellationToken.None);
            return (source, null);
        }
    }
}
