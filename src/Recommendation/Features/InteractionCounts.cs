namespace Embeddings.Recommendation
{
    /// <summary>What the training histories count per catalog item and per item pair. Immutable once built.</summary>
    internal sealed class InteractionCounts
    {
        /// <summary>Each item's training interactions.</summary>
        public required float[] Popularity { get; init; }

        /// <summary>Each item's occurrences among every user's last <see cref="RecommendationFeatureSettings.RecentHistoryLength"/> items.</summary>
        public required float[] RecentPopularity { get; init; }

        /// <summary>Each item's mean relative position in the histories that hold it (0 first, 1 last; 1 in a one-item history; 0 for no history).</summary>
        public required float[] MeanPosition { get; init; }

        /// <summary>First-order transitions: (a, b) counts how often item b directly follows item a.</summary>
        public required SparseCounts Transitions { get; init; }

        /// <summary>Co-occurrences of two different items at most <see cref="RecommendationFeatureSettings.CooccurrenceWindow"/> positions apart (symmetric).</summary>
        public required SparseCounts Cooccurrences { get; init; }

        /// <summary>Counts <paramref name="histories"/> (item indices below <paramref name="itemCount"/>, in time order).</summary>
        public static InteractionCounts Count(int itemCount, int[][] histories, RecommendationFeatureSettings settings)
        {
            var popularity = new float[itemCount];
            var recent = new float[itemCount];
            var position = new double[itemCount];
            var transitions = new SparseCounts.Builder(itemCount);
            var cooccurrences = new SparseCounts.Builder(itemCount);
            foreach (var history in histories)
            {
                for (int t = 0; t < history.Length; t++)
                {
                    int item = history[t];
                    popularity[item]++;
                    position[item] += history.Length == 1 ? 1 : (double)t / (history.Length - 1);
                    if (t >= history.Length - settings.RecentHistoryLength)
                        recent[item]++;
                    if (t > 0)
                        transitions.Add(history[t - 1], item);
                    for (int k = 1; k <= settings.CooccurrenceWindow && t - k >= 0; k++)
                    {
                        int other = history[t - k];
                        if (other == item)
                            continue;
                        cooccurrences.Add(item, other);
                        cooccurrences.Add(other, item);
                    }
                }
            }
            var meanPosition = new float[itemCount];
            for (int i = 0; i < itemCount; i++)
                meanPosition[i] = popularity[i] == 0 ? 0 : (float)(position[i] / popularity[i]);
            return new InteractionCounts
            {
                Popularity = popularity,
                RecentPopularity = recent,
                MeanPosition = meanPosition,
                Transitions = transitions.Build(),
                Cooccurrences = cooccurrences.Build(),
            };
        }
    }
}
