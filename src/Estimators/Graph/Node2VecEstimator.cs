using System;
using Embeddings.Graph;
using Microsoft.ML;

namespace Embeddings
{
    /// <summary>
    /// node2vec (Grover and Leskovec, 2016): builds a graph from the edge rows of the training data, draws
    /// second-order biased random walks (return parameter p, in-out parameter q), trains skip-gram on them, and returns
    /// a <see cref="NodeEmbeddingTransformer"/> that maps the named node columns to vectors.
    /// <c>mlContext.Embeddings().Node2Vec(...)</c>.
    /// </summary>
    /// <remarks>
    /// Walks are never stored: one pass generates them to count node visits (the vocabulary and the sampling tables),
    /// and every epoch the training threads generate them again, walk i always from the random stream (seed, i), so
    /// memory is the graph and the vectors whatever the number of walks (docs/scale.md).
    /// </remarks>
    public sealed class Node2VecEstimator : IEstimator<NodeEmbeddingTransformer>
    {
        internal const string ComponentName = "Node2Vec";
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Settings of <see cref="Node2VecEstimator"/>.</summary>
        public sealed class Options : GraphEmbeddingOptions
        {
            /// <summary>
            /// Return parameter p: the weight of stepping back to the previous node is 1/p. Default 1; any value &gt; 0.
            /// Low p keeps walks local (breadth-first-like).
            /// </summary>
            public double ReturnParameter { get; set; } = 1;

            /// <summary>
            /// In-out parameter q: the weight of moving to a node that is not a neighbour of the previous one is 1/q.
            /// Default 1; any value &gt; 0. Low q explores outward (depth-first-like), high q stays close.
            /// </summary>
            public double InOutParameter { get; set; } = 1;

            /// <summary>How second-order steps are drawn. Default <see cref="SecondOrderSampling.Auto"/>.</summary>
            public SecondOrderSampling SecondOrderSampling { get; set; } = SecondOrderSampling.Auto;
        }

        internal Node2VecEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            GraphEmbeddingTraining.Validate(options, ComponentName, options.ReturnParameter, options.InOutParameter);
            if (!Enum.IsDefined(options.SecondOrderSampling))
                throw new ArgumentOutOfRangeException(nameof(options.SecondOrderSampling), options.SecondOrderSampling, $"{ComponentName}: SecondOrderSampling = {(int)options.SecondOrderSampling} is invalid; use Auto, Precomputed or Rejection.");
            _options = options;
        }

        /// <summary>Builds the graph, walks, trains, and returns the node lookup.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
        /// <exception cref="InvalidOperationException">An edge has an invalid weight (when rejected), or the graph has no edges.</exception>
        public NodeEmbeddingTransformer Fit(IDataView input) =>
            GraphEmbeddingTraining.Fit(_context, input, _options, _options.ReturnParameter, _options.InOutParameter, _options.SecondOrderSampling, ComponentName);

        /// <summary>
        /// Builds the graph from the edges that <paramref name="writeEdges"/> writes (any source, without an
        /// <see cref="IDataView"/>), walks, trains, and returns the node lookup; it maps the
        /// <see cref="GraphEmbeddingOptions.OutputColumns"/> like a transformer fitted on a data view.
        /// </summary>
        /// <param name="writeEdges">Writes every edge once: <see cref="IEdgeWriter.AddEdge"/> for each.</param>
        /// <exception cref="InvalidOperationException">An edge has an invalid weight (when rejected), or the graph has no edges.</exception>
        public NodeEmbeddingTransformer Fit(Action<IEdgeWriter> writeEdges) =>
            GraphEmbeddingTraining.Fit(_context, writeEdges, _options, _options.ReturnParameter, _options.InOutParameter, _options.SecondOrderSampling, ComponentName);

        /// <summary>The input's columns and one known-size vector column per <see cref="GraphEmbeddingOptions.OutputColumns"/> pair.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema) => GraphEmbeddingTraining.OutputShape(inputSchema, _options, ComponentName);
    }

    /// <summary>
    /// DeepWalk (Perozzi et al., 2014): like <see cref="Node2VecEstimator"/> with first-order walks, each step weighted by
    /// edge weight / sum of the node's out-weights. <c>mlContext.Embeddings().DeepWalk(...)</c>.
    /// </summary>
    public sealed class DeepWalkEstimator : IEstimator<NodeEmbeddingTransformer>
    {
        internal const string ComponentName = "DeepWalk";
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Settings of <see cref="DeepWalkEstimator"/>.</summary>
        public sealed class Options : GraphEmbeddingOptions
        {
        }

        internal DeepWalkEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            GraphEmbeddingTraining.Validate(options, ComponentName, 1, 1);
            _options = options;
        }

        /// <summary>Builds the graph, walks, trains, and returns the node lookup.</summary>
        public NodeEmbeddingTransformer Fit(IDataView input) =>
            GraphEmbeddingTraining.Fit(_context, input, _options, 1, 1, SecondOrderSampling.Auto, ComponentName);

        /// <summary>Builds the graph from the edges that <paramref name="writeEdges"/> writes, walks, trains, and returns the node lookup.</summary>
        /// <param name="writeEdges">Writes every edge once: <see cref="IEdgeWriter.AddEdge"/> for each.</param>
        /// <exception cref="InvalidOperationException">An edge has an invalid weight (when rejected), or the graph has no edges.</exception>
        public NodeEmbeddingTransformer Fit(Action<IEdgeWriter> writeEdges) =>
            GraphEmbeddingTraining.Fit(_context, writeEdges, _options, 1, 1, SecondOrderSampling.Auto, ComponentName);

        /// <summary>The input's columns and one known-size vector column per <see cref="GraphEmbeddingOptions.OutputColumns"/> pair.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema) => GraphEmbeddingTraining.OutputShape(inputSchema, _options, ComponentName);
    }
}
