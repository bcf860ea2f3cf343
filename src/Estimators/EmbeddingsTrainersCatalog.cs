using System;
using Embeddings;

namespace Microsoft.ML
{
    /// <summary>The trainers of <see cref="EmbeddingsCatalog"/> (<c>mlContext.Embeddings()</c>).</summary>
    public static class EmbeddingsTrainersCatalog
    {
        /// <summary>
        /// Trains skip-gram (or CBOW) embeddings on a sequence column and maps it to the pooled vector of its items.
        /// </summary>
        /// <param name="catalog">The catalog.</param>
        /// <param name="outputColumnName">Name of the output vector column.</param>
        /// <param name="inputColumnName">Sequence column: a vector of Text or of Key&lt;UInt32&gt;. Null means <paramref name="outputColumnName"/>.</param>
        /// <param name="embeddingDimension">Vector length. Default 100.</param>
        /// <param name="windowSize">Maximum context distance. Default 5.</param>
        /// <param name="model">Skip-gram (default) or CBOW.</param>
        public static SkipGramEmbeddingEstimator SkipGram(this EmbeddingsCatalog catalog, string outputColumnName, string? inputColumnName = null,
            int embeddingDimension = SkipGramEmbeddingEstimator.Defaults.EmbeddingDimension,
            int windowSize = SkipGramEmbeddingEstimator.Defaults.WindowSize,
            SkipGramModel model = SkipGramModel.SkipGram)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new SkipGramEmbeddingEstimator(catalog.Context, new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = outputColumnName,
                InputColumnName = inputColumnName,
                EmbeddingDimension = embeddingDimension,
                WindowSize = windowSize,
                Model = model,
            });
        }

        /// <summary>Trains skip-gram (or CBOW) embeddings with all settings in <paramref name="options"/>.</summary>
        public static SkipGramEmbeddingEstimator SkipGram(this EmbeddingsCatalog catalog, SkipGramEmbeddingEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new SkipGramEmbeddingEstimator(catalog.Context, options);
        }

        /// <summary>node2vec embeddings of the graph of the training rows' edges, mapped to the named node columns.</summary>
        public static Node2VecEstimator Node2Vec(this EmbeddingsCatalog catalog, Node2VecEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new Node2VecEstimator(catalog.Context, options);
        }

        /// <summary>
        /// node2vec embeddings of an undirected graph: edges from <paramref name="sourceColumnName"/> to
        /// <paramref name="targetColumnName"/>; the output columns hold the vectors of the source and target nodes.
        /// </summary>
        /// <param name="catalog">The catalog.</param>
        /// <param name="sourceOutputColumnName">Output vector column for the source nodes.</param>
        /// <param name="targetOutputColumnName">Output vector column for the target nodes.</param>
        /// <param name="sourceColumnName">Edge sources (Text, Key, or integer ids).</param>
        /// <param name="targetColumnName">Edge targets.</param>
        /// <param name="returnParameter">p. Default 1.</param>
        /// <param name="inOutParameter">q. Default 1.</param>
        /// <param name="embeddingDimension">Vector length. Default 128.</param>
        public static Node2VecEstimator Node2Vec(this EmbeddingsCatalog catalog, string sourceOutputColumnName, string targetOutputColumnName,
            string sourceColumnName, string targetColumnName, double returnParameter = 1, double inOutParameter = 1, int embeddingDimension = 128)
        {
            var options = new Node2VecEstimator.Options
            {
                SourceColumnName = sourceColumnName,
                TargetColumnName = targetColumnName,
                ReturnParameter = returnParameter,
                InOutParameter = inOutParameter,
                EmbeddingDimension = embeddingDimension,
            };
            options.OutputColumns.Add((sourceOutputColumnName, sourceColumnName));
            options.OutputColumns.Add((targetOutputColumnName, targetColumnName));
            return catalog.Node2Vec(options);
        }

        /// <summary>DeepWalk embeddings of the graph of the training rows' edges, mapped to the named node columns.</summary>
        public static DeepWalkEstimator DeepWalk(this EmbeddingsCatalog catalog, DeepWalkEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new DeepWalkEstimator(catalog.Context, options);
        }

        /// <summary>Builds a graph from edge rows; the transformer draws DeepWalk or node2vec walks (row to row, or the whole corpus).</summary>
        public static GraphWalkEstimator GraphWalk(this EmbeddingsCatalog catalog, GraphWalkEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new GraphWalkEstimator(catalog.Context, options);
        }

        /// <summary>item2vec from interaction rows: item vectors, context vectors and user vectors (mean of the last items).</summary>
        public static Item2VecEstimator Item2Vec(this EmbeddingsCatalog catalog, Item2VecEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new Item2VecEstimator(catalog.Context, options);
        }
    }
}
