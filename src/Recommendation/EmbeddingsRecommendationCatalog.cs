using System;
using Embeddings;
using Embeddings.Recommendation;

namespace Microsoft.ML
{
    /// <summary>The recommendation pipeline of <see cref="EmbeddingsCatalog"/> (<c>mlContext.Embeddings()</c>).</summary>
    public static class EmbeddingsRecommendationCatalog
    {
        /// <summary>
        /// Ranking features of (user, item) rows learned from interaction rows: item2vec and node2vec logits and cosines,
        /// popularity, user activity, transitions, co-occurrences, time and the blend score.
        /// </summary>
        public static RecommendationFeaturesEstimator RecommendationFeatures(this EmbeddingsCatalog catalog, RecommendationFeaturesEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new RecommendationFeaturesEstimator(catalog.Context, options);
        }

        /// <summary>
        /// The whole recommender: recommendation features, candidate recall by the blend score, and an ML.NET ranker
        /// (LightGBM LambdaRank by default) trained on each user's next interaction.
        /// </summary>
        /// <param name="catalog">The catalog.</param>
        /// <param name="userColumnName">User id column (Text, Key with key values, or integer ids).</param>
        /// <param name="itemColumnName">Item id column.</param>
        /// <param name="timestampColumnName">Optional time column (Single, Double, Int32, Int64 or DateTime); null: row order.</param>
        public static RankingRecommenderEstimator RankingRecommender(this EmbeddingsCatalog catalog, string userColumnName, string itemColumnName, string? timestampColumnName = null)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new RankingRecommenderEstimator(catalog.Context, new RankingRecommenderOptions
            {
                UserColumnName = userColumnName,
                ItemColumnName = itemColumnName,
                TimestampColumnName = timestampColumnName,
            });
        }

        /// <summary>The whole recommender with all settings in <paramref name="options"/>.</summary>
        public static RankingRecommenderEstimator RankingRecommender(this EmbeddingsCatalog catalog, RankingRecommenderOptions options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new RankingRecommenderEstimator(catalog.Context, options);
        }
    }
}
