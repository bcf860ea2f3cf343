using System;
using Embeddings;

namespace Microsoft.ML
{
    /// <summary>Matrix factorization in <see cref="EmbeddingsCatalog"/> (<c>mlContext.Embeddings().MatrixFactorization(...)</c>).</summary>
    public static class MatrixFactorizationCatalog
    {
        /// <summary>
        /// Matrix factorization of explicit ratings (squared loss), with the parameters of ML.NET's
        /// <c>mlContext.Recommendation().Trainers.MatrixFactorization</c>: code written for Microsoft.ML.Recommender moves
        /// over by changing the catalog call. The fitted transformer appends a Single "Score" column.
        /// </summary>
        /// <param name="catalog">The catalog.</param>
        /// <param name="labelColumnName">The rating column (Single).</param>
        /// <param name="matrixColumnIndexColumnName">The user key column (Key&lt;UInt32&gt;, from MapValueToKey).</param>
        /// <param name="matrixRowIndexColumnName">The item key column (Key&lt;UInt32&gt;).</param>
        /// <param name="approximationRank">Number of latent factors. Default 8; 1 to 1024.</param>
        /// <param name="learningRate">Initial SGD step. Default 0.1; greater than 0.</param>
        /// <param name="numberOfIterations">Epochs. Default 20; at least 1.</param>
        public static MatrixFactorizationEstimator MatrixFactorization(this EmbeddingsCatalog catalog, string labelColumnName,
            string matrixColumnIndexColumnName, string matrixRowIndexColumnName,
            int approximationRank = MatrixFactorizationEstimator.Defaults.ApproximationRank,
            double learningRate = MatrixFactorizationEstimator.Defaults.LearningRate,
            int numberOfIterations = MatrixFactorizationEstimator.Defaults.NumberOfIterations)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new MatrixFactorizationEstimator(catalog.Context, new MatrixFactorizationEstimator.Options
            {
                LabelColumnName = labelColumnName,
                MatrixColumnIndexColumnName = matrixColumnIndexColumnName,
                MatrixRowIndexColumnName = matrixRowIndexColumnName,
                ApproximationRank = approximationRank,
                LearningRate = learningRate,
                NumberOfIterations = numberOfIterations,
            });
        }

        /// <summary>Matrix factorization (explicit or implicit feedback) with all settings in <paramref name="options"/>.</summary>
        public static MatrixFactorizationEstimator MatrixFactorization(this EmbeddingsCatalog catalog, MatrixFactorizationEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new MatrixFactorizationEstimator(catalog.Context, options);
        }
    }
}
