namespace Embeddings.Recommendation
{
    /// <summary>
    /// The slots of the ranking feature vector that <see cref="RecommendationFeaturesTransformer"/> writes, in vector order:
    /// slot <c>(int)RecommendationFeature.Blend</c> holds the blend score. The member names are the vector's slot names
    /// (the <c>SlotNames</c> annotation of the feature column) and <see cref="RecommendationFeaturesTransformer.FeatureNames"/>.
    /// </summary>
    /// <remarks>
    /// <para>
    /// "The user's vector" is the mean input vector of the user's last <see cref="RecommendationFeatureSettings.HistoryLength"/>
    /// training items that have a vector; "the recent items" are those last <see cref="RecommendationFeatureSettings.HistoryLength"/>
    /// items. Logarithms are natural. Counts come from the training interactions only.
    /// </para>
    /// <para>
    /// A feature that needs something missing is 0: an unknown user keeps only the item's own features
    /// (<see cref="LogPopularity"/>, <see cref="LogRecentPopularity"/>, <see cref="ItemMeanPosition"/>); an unknown item
    /// keeps only <see cref="LogUserActivity"/>; the embedding features are 0 when the user or the item has no vector, and
    /// the node2vec features are 0 when node2vec was disabled.
    /// </para>
    /// </remarks>
    public enum RecommendationFeature
    {
        /// <summary>item2vec logit: the user's item2vec vector dotted with the item's context (output) vector.</summary>
        Item2VecLogit = 0,

        /// <summary>
        /// <see cref="Item2VecLogit"/> standardised per user: minus the mean of the user's logits over the catalog items with
        /// vectors (every k-th item on catalogs of 8192 items or more, k = catalog size / 4096), divided by their standard
        /// deviation (1 when that is about 0).
        /// </summary>
        Item2VecLogitStandardized = 1,

        /// <summary>Cosine between the user's item2vec vector and the item's item2vec input vector.</summary>
        Item2VecCosine = 2,

        /// <summary>The largest cosine between the item's item2vec input vector and those of the recent items.</summary>
        Item2VecMaxCosineToRecent = 3,

        /// <summary>node2vec logit: the user's node2vec vector dotted with the item's node2vec context vector.</summary>
        Node2VecLogit = 4,

        /// <summary><see cref="Node2VecLogit"/> standardised per user, as <see cref="Item2VecLogitStandardized"/>.</summary>
        Node2VecLogitStandardized = 5,

        /// <summary>Cosine between the user's node2vec vector and the item's node2vec vector.</summary>
        Node2VecCosine = 6,

        /// <summary>log(1 + the item's training interactions).</summary>
        LogPopularity = 7,

        /// <summary>
        /// log(1 + the item's occurrences among every user's last <see cref="RecommendationFeatureSettings.RecentHistoryLength"/>
        /// training items).
        /// </summary>
        LogRecentPopularity = 8,

        /// <summary>log(1 + the user's training interactions); also set for an unknown item.</summary>
        LogUserActivity = 9,

        /// <summary>
        /// log(1 + first-order transitions to the item from the user's last
        /// <see cref="RecommendationFeatureSettings.TransitionHistoryLength"/> items, summed).
        /// </summary>
        LogTransitionsFromRecent = 10,

        /// <summary>log(1 + first-order transitions from the user's last item to the item).</summary>
        LogTransitionFromLast = 11,

        /// <summary>
        /// log(1 + co-occurrences of the item with the recent items (within
        /// <see cref="RecommendationFeatureSettings.CooccurrenceWindow"/> positions), divided by sqrt(max(1, popularity))).
        /// </summary>
        LogCooccurrenceWithRecent = 12,

        /// <summary>The item's mean relative position in the histories that hold it: 0 first, 1 last (1 in a one-item history).</summary>
        ItemMeanPosition = 13,

        /// <summary>
        /// The blend score that recalls candidates: <see cref="RecommendationFeatureSettings.LogitWeight"/> x
        /// <see cref="Item2VecLogitStandardized"/> + <see cref="RecommendationFeatureSettings.TransitionWeight"/> x
        /// <see cref="LogTransitionsFromRecent"/> + <see cref="RecommendationFeatureSettings.CooccurrenceWeight"/> x
        /// <see cref="LogCooccurrenceWithRecent"/>.
        /// </summary>
        Blend = 14,

        /// <summary>log(1 + the item's rank by <see cref="Blend"/> among the user's unseen items, 1 = best); 0 for a seen item.</summary>
        LogBlendRank = 15,

        /// <summary>log(1 + the item's rank by <see cref="Item2VecLogit"/> among the user's unseen items, 1 = best); 0 for a seen item.</summary>
        LogItem2VecLogitRank = 16,

        /// <summary>
        /// log(1 + the item's interactions within <see cref="RecommendationFeatureSettings.TimeWindowInteractions"/> interactions
        /// (of anybody, in time order) before or after the user's last training interaction).
        /// </summary>
        LogPopularityAroundUserTime = 17,

        /// <summary>log(1 + the item's interactions before the user's last training interaction).</summary>
        LogPopularityBeforeUserTime = 18,

        /// <summary>
        /// sign(age) x log(1 + |age|), where age is the number of interactions (of anybody) from the item's first interaction to
        /// the user's last training interaction; negative when the item first appears later.
        /// </summary>
        SignedLogItemAgeAtUserTime = 19,
    }
}
