using System;
using System.Collections.Generic;
using Embeddings.Infrastructure;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// Which items may be recommended, and how a batch is computed: settings of
    /// <see cref="RankingRecommenderTransformer.Recommend(Microsoft.ML.MLContext, IEnumerable{string}, int, RecommendOptions?)"/> and its siblings.
    /// </summary>
    /// <remarks>
    /// An item is recommended to a user only when it is in the catalog, not seen by the user (unless
    /// <see cref="ExcludeSeenItems"/> is false), in <see cref="AllowedItems"/> (when given), not in <see cref="DeniedItems"/>, and
    /// accepted by <see cref="ItemFilter"/> (when given). The filters act inside the candidate recall, before the ranker, so a
    /// catalogue filtered down to a few items still yields up to k recommendations from them.
    /// </remarks>
    public sealed class RecommendOptions
    {
        /// <summary>True (default): never recommend an item the user has interacted with (in training, or in the history given at query time).</summary>
        public bool ExcludeSeenItems { get; set; } = true;

        /// <summary>Only these items may be recommended; null (default) allows the whole catalog. Ids not in the catalog are ignored.</summary>
        public IReadOnlyCollection<string>? AllowedItems { get; set; }

        /// <summary>These items are never recommended; null (default) denies none.</summary>
        public IReadOnlyCollection<string>? DeniedItems { get; set; }

        /// <summary>
        /// A last test of each (user, item) pair: true keeps the item. Called from several threads at once, for every catalog
        /// item that passes the other filters; null (default) keeps all. An exception it throws ends the request.
        /// </summary>
        public Func<string, string, bool>? ItemFilter { get; set; }

        /// <summary>Threads scoring users in parallel. Null (default): the processor count. The output does not depend on it.</summary>
        public int? NumberOfThreads { get; set; }

        /// <summary>Users scored together in one batch of the ranker (the output holds at most threads x this many users' lists at once). Default 64; 1 to 100,000.</summary>
        public int UsersPerBatch { get; set; } = 64;

        internal void Validate(string component)
        {
            OptionChecks.Check(component, NumberOfThreads is null or >= 1, nameof(NumberOfThreads), NumberOfThreads, "use 1 or more, or null for the processor count");
            OptionChecks.Check(component, UsersPerBatch is >= 1 and <= 100_000, nameof(UsersPerBatch), UsersPerBatch, "use 1 to 100,000 (64 is the default)");
        }
    }
}
