using System;

namespace Embeddings
{
    /// <summary>Statistics of a graph-embedding fit.</summary>
    /// <param name="Nodes">Nodes of the graph.</param>
    /// <param name="StoredEdges">Directed edges stored (an undirected edge counts twice, a self-loop once).</param>
    /// <param name="EdgeRowsRead">Edge rows read from the input.</param>
    /// <param name="MergedDuplicateEdges">Duplicate edges merged into one (weights added).</param>
    /// <param name="DroppedEdgeRows">Edge rows dropped: invalid weights (when dropping), self-loops (when not kept), or missing nodes.</param>
    /// <param name="Walks">Walks generated.</param>
    /// <param name="Steps">Walk steps taken (walk nodes minus walks).</param>
    /// <param name="Sampling">How transitions were drawn.</param>
    /// <param name="WalkTime">Wall time of walk generation.</param>
    /// <param name="Training">The skip-gram run over the walks.</param>
    public sealed record GraphEmbeddingSummary(int Nodes, long StoredEdges, long EdgeRowsRead, long MergedDuplicateEdges, long DroppedEdgeRows,
        long Walks, long Steps, string Sampling, TimeSpan WalkTime, SkipGramTrainingSummary Training)
    {
        /// <summary>The partitioned run's statistics (<see cref="GraphEmbeddingOptions.Partitioning"/>), or null when training ran in memory.</summary>
        public PartitionedTrainingSummary? Partitioned { get; init; }
    }
}
