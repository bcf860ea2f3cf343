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
    }
}
