using System;
using System.Collections.Generic;
using System.Linq;

namespace Embeddings.Recommendation
{
    /// <summary>HR@k and NDCG@k over all users, with the hits split by whether the target ties the interaction before it in time.</summary>
    /// <param name="HitRate">Mean of [rank &lt;= k].</param>
    /// <param name="Ndcg">Mean of 1 / log2(rank + 1) when rank &lt;= k, else 0.</param>
    /// <param name="Hits">Users whose target ranked within k.</param>
    /// <param name="Users">Users ranked.</param>
    /// <param name="Cutoff">k.</param>
    public sealed record LeaveLastOutMetrics(double HitRate, double Ndcg, int Hits, int Users, int Cutoff)
    {
        /// <summary>
        /// Users whose target has the same timestamp as the interaction before it (<see cref="LeaveLastOutSplit.TargetTiesPrevious"/>):
        /// their target's place in the history comes from the item-id tie-break alone.
        /// </summary>
        public int TiedUsers { get; init; }

        /// <summary>Those of <see cref="Hits"/> that belong to <see cref="TiedUsers"/>.</summary>
        public int TiedHits { get; init; }

        /// <summary>HR@k over <see cref="TiedUsers"/> (NaN when there are none).</summary>
        public double TiedHitRate => TiedUsers == 0 ? double.NaN : (double)TiedHits / TiedUsers;

        /// <summary>HR@k over the other users, whose target is strictly later than the interaction before it (NaN when there are none).</summary>
        public double UntiedHitRate => Users == TiedUsers ? double.NaN : (double)(Hits - TiedHits) / (Users - TiedUsers);
    }

    /// <summary>
    /// Full-ranking leave-last-out evaluation (docs/evaluation-protocols.md): for each user, every catalog item not
    /// among the user's training interactions (for the chosen target) is a candidate (the target included); rank = 1 +
    /// candidates scoring higher than the target, or equal with a smaller item id. Items a scorer cannot score get
    /// negative infinity.
    /// </summary>
    public static class LeaveLastOutEvaluator
    {
        /// <summary>Scores every catalog item (<see cref="LeaveLastOutSplit.Items"/> order) for a user.</summary>
        public delegate void UserScorer(string user, Span<float> scores);

        /// <summary>Ranks every user's target and returns HR@<paramref name="cutoff"/> and NDCG@<paramref name="cutoff"/>.</summary>
        public static LeaveLastOutMetrics Evaluate(LeaveLastOutSplit split, RankingTarget target, UserScorer scorer, int cutoff = 10)
        {
            ArgumentNullException.ThrowIfNull(split);
            ArgumentNullException.ThrowIfNull(scorer);
            if (cutoff < 1)
                throw new ArgumentOutOfRangeException(nameof(cutoff), cutoff, "cutoff must be at least 1 (10 is the protocol's).");
            var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < split.Items.Count; i++)
                itemIndex[split.Items[i]] = i;
            var scores = new float[split.Items.Count];
            var seen = new bool[split.Items.Count];
            int hits = 0, tiedUsers = 0, tiedHits = 0;
            double ndcg = 0;
            foreach (string user in split.Users)
            {
                Array.Fill(scores, float.NegativeInfinity);
                scorer(user, scores);
                Array.Clear(seen);
                foreach (string item in split.Training(user, target))
                    seen[itemIndex[item]] = true;
                int targetIndex = itemIndex[split.Target(user, target)];
                float targetScore = scores[targetIndex];
                int rank = 1;
                for (int i = 0; i < scores.Length; i++)
                {
                    if (seen[i] || i == targetIndex)
                        continue;
                    // Items are in id order, so "equal with a smaller item id" is "equal at a smaller index".
                    if (scores[i] > targetScore || (scores[i] == targetScore && i < targetIndex))
                        rank++;
                }
                bool tied = split.TargetTiesPrevious(user, target);
                tiedUsers += tied ? 1 : 0;
                if (rank <= cutoff)
                {
                    hits++;
                    tiedHits += tied ? 1 : 0;
                    ndcg += 1 / Math.Log2(rank + 1);
                }
            }
            int users = split.Users.Count;
            return new LeaveLastOutMetrics((double)hits / users, ndcg / users, hits, users, cutoff) { TiedUsers = tiedUsers, TiedHits = tiedHits };
        }

        /// <summary>
        /// Scores each item by the dot product of the user's vector in <paramref name="users"/> and the item's in
        /// <paramref name="items"/> (for example matrix factorization factors); items without a vector keep negative
        /// infinity, and a user without a vector scores nothing.
        /// </summary>
        public static UserScorer DotProduct(LeaveLastOutSplit split, EmbeddingTable users, EmbeddingTable items)
        {
            ArgumentNullException.ThrowIfNull(split);
            ArgumentNullException.ThrowIfNull(users);
            ArgumentNullException.ThrowIfNull(items);
            if (users.Dimension != items.Dimension)
                throw new ArgumentException($"The user vectors have dimension {users.Dimension} and the item vectors {items.Dimension}; a dot product needs the same.", nameof(items));
            var itemRows = split.Items.Select(i => items.IndexOf(i)).ToArray();
            return (user, scores) =>
            {
                int u = users.IndexOf(user);
                if (u < 0)
                    return;
                var userRow = users.Row(u);
                for (int i = 0; i < itemRows.Length; i++)
                {
                    if (itemRows[i] >= 0)
                        scores[i] = System.Numerics.Tensors.TensorPrimitives.Dot(userRow, items.Row(itemRows[i]));
                }
            };
        }

        /// <summary>The popularity baseline: each item scored by its number of training interactions for <paramref name="target"/>.</summary>
        public static UserScorer Popularity(LeaveLastOutSplit split, RankingTarget target)
        {
            var counts = new float[split.Items.Count];
            var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < split.Items.Count; i++)
                itemIndex[split.Items[i]] = i;
            foreach (var (_, items) in split.TrainingSequences(target))
            {
                foreach (string item in items)
                    counts[itemIndex[item]]++;
            }
            return (user, scores) => counts.CopyTo(scores);
        }
    }
}
