using System;

namespace Embeddings
{
    /// <summary>
    /// Receives the edges of a graph, one by one: see <see cref="Node2VecEstimator.Fit(Action{IEdgeWriter})"/>, which
    /// builds the graph from any edge source (a file read line by line, a database cursor) without an
    /// <see cref="Microsoft.ML.IDataView"/>. Node ids are read as characters, so a caller need not allocate a string per edge.
    /// </summary>
    public interface IEdgeWriter
    {
        /// <summary>
        /// Adds the edge <paramref name="source"/> -> <paramref name="target"/> (also the reverse edge when the graph is
        /// undirected). An empty id means a missing node: the edge is dropped and counted. Repeated edges are merged and
        /// their weights added.
        /// </summary>
        /// <param name="source">The source node's id.</param>
        /// <param name="target">The target node's id.</param>
        /// <param name="weight">The edge's weight: positive and finite (others are rejected or dropped, as the options' <c>InvalidWeights</c> says).</param>
        /// <exception cref="InvalidOperationException">The weight is invalid and <c>InvalidWeights</c> is <see cref="Graph.InvalidEdgeWeightHandling.Reject"/>.</exception>
        void AddEdge(ReadOnlySpan<char> source, ReadOnlySpan<char> target, double weight);
    }
}
