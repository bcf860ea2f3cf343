using System;
using System.Collections.Generic;
using System.Threading;

namespace Embeddings
{
    /// <summary>
    /// Settings shared by <see cref="Node2VecEstimator"/> and <see cref="DeepWalkEstimator"/>: how the graph is read from
    /// edge rows, how walks are drawn, and how skip-gram trains on them. Defaults follow the node2vec paper.
    /// </summary>
    public abstract class GraphEmbeddingOptions
    {
        /// <summary>Column of edge sources: Text, Key&lt;UInt32&gt; with key values, or integer ids. Required.</summary>
        public string SourceColumnName { get; set; } = "";

        /// <summary>Column of edge targets (same types as the source). Required.</summary>
        public string TargetColumnName { get; set; } = "";

        /// <summary>Optional column of positive, finite edge weights (Single, Double, Int32, Int64). Null: every edge weighs 1.</summary>
        public string? WeightColumnName { get; set; }

        /// <summary>Edges are one-way when true; when false (default) each edge is walked both ways.</summary>
        public bool Directed { get; set; }

        /// <summary>
        /// When true, source and target columns are different node domains (user "1" is not item "1"), and each has its
        /// own table. Default false: one set of nodes.
        /// </summary>
        public bool Bipartite { get; set; }

        /// <summary>Keep edges from a node to itself. Default true.</summary>
        public bool KeepSelfLoops { get; set; } = true;

        /// <summary>Edges with NaN, infinite, zero or negative weight are rejected (default) or dropped and counted.</summary>
        public Graph.InvalidEdgeWeightHandling InvalidWeights { get; set; } = Graph.InvalidEdgeWeightHandling.Reject;

        /// <summary>
        /// Node columns to map to vectors, as (output, input) pairs, for example ("UserVector", "UserId"). At least one.
        /// In a bipartite graph each input must be the source or the target column, whose domain it then uses.
        /// </summary>
        public IList<(string OutputColumnName, string InputColumnName)> OutputColumns { get; } = new List<(string, string)>();

        /// <summary>Length of each vector. Default 128; at least 1.</summary>
        public int EmbeddingDimension { get; set; } = 128;

        /// <summary>Nodes per walk, the start included. Default 80; at least 2.</summary>
        public int WalkLength { get; set; } = 80;

        /// <summary>Walks started at every node. Default 10; at least 1.</summary>
        public int WalksPerNode { get; set; } = 10;

        /// <summary>Skip-gram window over the walks. Default 10; at least 1.</summary>
        public int WindowSize { get; set; } = 10;

        /// <summary>Negative samples per pair. Default 5; at least 1.</summary>
        public int NegativeSampleCount { get; set; } = 5;

        /// <summary>
        /// Frequent-node subsampling threshold. Default 1e-3; range [0, 1); 0 turns it off. The walks of a tiny graph are
        /// too short a corpus for it: when it would leave nearly every node untrained, <c>Fit</c> throws
        /// <see cref="System.InvalidOperationException"/> (use 0).
        /// </summary>
        public double SamplingThreshold { get; set; } = 1e-3;

        /// <summary>Skip-gram epochs over the walks. Default 1; at least 1.</summary>
        public int Epochs { get; set; } = 1;

        /// <summary>Starting learning rate, decayed linearly to 1e-4 of itself. Default 0.05; range (0, 1].</summary>
        /// <remarks>
        /// Twice word2vec's 0.025: a single epoch over the walks needs the larger steps. To tune it, compare a few
        /// values (for example 0.025, 0.05 and 0.1) on a validation task such as node classification.
        /// </remarks>
        public float LearningRate { get; set; } = 0.05f;

        /// <summary>Nodes visited fewer times by the walks get no vector (zeros). Default 1; at least 1.</summary>
        public int MinCount { get; set; } = 1;

        /// <summary>Threads for walks and training. Default null: all cores. Use 1 for bit-identical runs.</summary>
        public int? NumberOfThreads { get; set; }

        /// <summary>The former name of <see cref="NumberOfThreads"/> (ML.NET's name), kept for one release.</summary>
        [Obsolete("Use NumberOfThreads, as ML.NET's trainers name it. ThreadCount will be removed in the next release.")]
        public int? ThreadCount
        {
            get => NumberOfThreads;
            set => NumberOfThreads = value;
        }

        /// <summary>Random seed. Default null: drawn from the MLContext.</summary>
        public int? Seed { get; set; }

        /// <summary>
        /// Also keep the skip-gram output (context) vectors of all nodes, as <see cref="NodeEmbeddingTransformer.ContextEmbeddings"/>:
        /// a node's vector dotted with another node's context vector scores how likely a walk from the first reaches the
        /// second (the input-output score of item2vec, used by the recommendation features). Default false.
        /// </summary>
        public bool KeepContextVectors { get; set; }

        /// <summary>
        /// Partitioned training for models larger than memory (see <see cref="PartitionedTrainingOptions"/>). Default null:
        /// the model is trained in memory.
        /// </summary>
        public PartitionedTrainingOptions? Partitioning { get; set; }

        /// <summary>Receives skip-gram progress about once a second.</summary>
        public IProgress<SkipGramProgress>? Progress { get; set; }

        /// <summary>Cancels walks and training; <c>Fit</c> then throws <see cref="OperationCanceledException"/>.</summary>
        public CancellationToken CancellationToken { get; set; }
    }
}
