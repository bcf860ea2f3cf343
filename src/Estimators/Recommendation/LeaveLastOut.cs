using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;

namespace Embeddings.Recommendation
{
    /// <summary>One user-item interaction.</summary>
    /// <param name="User">The user's id.</param>
    /// <param name="Item">The item's id.</param>
    /// <param name="Timestamp">When it happened (any increasing unit, e.g. Unix seconds).</param>
    public readonly record struct Interaction(string User, string Item, long Timestamp);

    /// <summary>Which held-out interaction is ranked.</summary>
    public enum RankingTarget
    {
        /// <summary>Each user's second-to-last interaction (for tuning).</summary>
        Validation = 0,

        /// <summary>Each user's last interaction (report once).</summary>
        Test = 1,
    }

    /// <summary>HR@k and NDCG@k over all users, with the rank of each user's target.</summary>
    /// <param name="HitRate">Mean of [rank &lt;= k].</param>
    /// <param name="Ndcg">Mean of 1 / log2(rank + 1) when rank &lt;= k, else 0.</param>
    /// <param name="Hits">Users whose target ranked within k.</param>
    /// <param name="Users">Users ranked.</param>
    /// <param name="Cutoff">k.</param>
    public sealed record RankingMetrics(double HitRate, double Ndcg, int Hits, int Users, int Cutoff);

    /// <summary>
    /// The leave-last-out split of evaluation.md section 3: per user, interactions sorted by (timestamp, item id
    /// ascending; numerically when both ids are integers); the last is the test target, the second-to-last the
    /// validation target. As in the reference scorer (shared/tools/recsys_anchor_bench.py), validation trains on all
    /// but the last two interactions and test on all but the last (the validation interaction included). Users with
    /// fewer than three interactions have no targets and only train.
    /// </summary>
    public sealed class LeaveLastOutSplit
    {
        private readonly Dictionary<string, string[]> _sequences;
        private readonly Dictionary<string, long[]> _times;
        private readonly Dictionary<string, (string Validation, string Test)> _targets;

        private LeaveLastOutSplit(Dictionary<string, string[]> sequences, Dictionary<string, long[]> times, Dictionary<string, (string, string)> targets, string[] items)
        {
            _sequences = sequences;
            _times = times;
            _targets = targets;
            Items = items;
            Users = targets.Keys.OrderBy(u => u, ItemIdComparer.Instance).ToArray();
        }

        /// <summary>Users with targets, in id order.</summary>
        public IReadOnlyList<string> Users { get; }

        /// <summary>The catalog: every item of the data, in id order.</summary>
        public IReadOnlyList<string> Items { get; }

        /// <summary>All of the user's interactions, oldest first (ties by item id), targets included.</summary>
        public IReadOnlyList<string> Interactions(string user) => _sequences.TryGetValue(user, out var items) ? items : Array.Empty<string>();

        /// <summary>The times of <see cref="Interactions"/>, in the same order.</summary>
        public IReadOnlyList<long> InteractionTimes(string user) => _times.TryGetValue(user, out var times) ? times : Array.Empty<long>();

        /// <summary>All users, with or without targets, in id order.</summary>
        public IEnumerable<string> AllUsers => _sequences.Keys.OrderBy(u => u, ItemIdComparer.Instance);

        /// <summary>The user's training interactions for <paramref name="target"/>, oldest first.</summary>
        public IReadOnlyList<string> Training(string user, RankingTarget target)
        {
            if (!_sequences.TryGetValue(user, out var items))
                return Array.Empty<string>();
            if (!_targets.ContainsKey(user))
                return items;
            return new ArraySegment<string>(items, 0, items.Length - (target == RankingTarget.Test ? 1 : 2));
        }

        /// <summary>The held-out item of <paramref name="user"/> for <paramref name="target"/>.</summary>
        public string Target(string user, RankingTarget target) => target == RankingTarget.Test ? _targets[user].Test : _targets[user].Validation;

        /// <summary>All users' training interactions for <paramref name="target"/>, user by user, oldest first.</summary>
        public IEnumerable<(string User, IReadOnlyList<string> Items)> TrainingSequences(RankingTarget target) =>
            _sequences.Keys.OrderBy(u => u, ItemIdComparer.Instance).Select(u => (u, Training(u, target)));

        /// <summary>Splits <paramref name="interactions"/>.</summary>
        public static LeaveLastOutSplit Create(IEnumerable<Interaction> interactions)
        {
            ArgumentNullException.ThrowIfNull(interactions);
            var byUser = new Dictionary<string, List<Interaction>>(StringComparer.Ordinal);
            var items = new HashSet<string>(StringComparer.Ordinal);
            foreach (var interaction in interactions)
            {
                if (!byUser.TryGetValue(interaction.User, out var list))
                    byUser[interaction.User] = list = new List<Interaction>();
                list.Add(interaction);
                items.Add(interaction.Item);
            }
            var sequences = new Dictionary<string, string[]>(StringComparer.Ordinal);
            var times = new Dictionary<string, long[]>(StringComparer.Ordinal);
            var targets = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
            foreach (var (user, list) in byUser)
            {
                var sorted = list.OrderBy(i => i.Timestamp).ThenBy(i => i.Item, ItemIdComparer.Instance).ToArray();
                var ordered = sorted.Select(i => i.Item).ToArray();
                sequences[user] = ordered;
                times[user] = sorted.Select(i => i.Timestamp).ToArray();
                if (ordered.Length >= 3)
                    targets[user] = (ordered[^2], ordered[^1]);
            }
            return new LeaveLastOutSplit(sequences, times, targets, items.OrderBy(i => i, ItemIdComparer.Instance).ToArray());
        }

        /// <summary>Reads MovieLens' <c>u.data</c> layout: user, item, rating, timestamp separated by tabs (or commas, with a header).</summary>
        public static LeaveLastOutSplit ReadMovieLens(string path)
        {
            var interactions = new List<Interaction>();
            int line = 0;
            foreach (string text in File.ReadLines(path))
            {
                line++;
                var fields = text.Split(text.Contains('\t') ? '\t' : ',');
                if (fields.Length < 4 || !long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out long timestamp))
                {
                    if (line == 1)
                        continue; // a header
                    throw new FormatException($"{path}: line {line}: expected 'user item rating timestamp'; found '{text}'.");
                }
                interactions.Add(new Interaction(fields[0], fields[1], timestamp));
            }
            return Create(interactions);
        }
    }

    /// <summary>Orders ids numerically when both are integers, otherwise ordinally (integers first).</summary>
    public sealed class ItemIdComparer : IComparer<string>
    {
        /// <summary>The comparer.</summary>
        public static ItemIdComparer Instance { get; } = new();

        /// <inheritdoc/>
        public int Compare(string? x, string? y)
        {
            bool xi = long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out long a);
            bool yi = long.TryParse(y, NumberStyles.Integer, CultureInfo.InvariantCulture, out long b);
            if (xi && yi)
                return a.CompareTo(b);
            if (xi != yi)
                return xi ? -1 : 1;
            return string.CompareOrdinal(x, y);
        }
    }

    /// <summary>
    /// Full-ranking evaluation of evaluation.md section 3: for each user, every catalog item not among the user's
    /// training interactions (for the chosen target) is a candidate (the target included); rank = 1 + candidates scoring higher than the
    /// target, or equal with a smaller item id. Items a scorer cannot score get negative infinity.
    /// </summary>
    public static class LeaveLastOutEvaluator
    {
        /// <summary>Scores every catalog item (<see cref="LeaveLastOutSplit.Items"/> order) for a user.</summary>
        public delegate void UserScorer(string user, Span<float> scores);

        /// <summary>Ranks every user's target and returns HR@<paramref name="cutoff"/> and NDCG@<paramref name="cutoff"/>.</summary>
        public static RankingMetrics Evaluate(LeaveLastOutSplit split, RankingTarget target, UserScorer scorer, int cutoff = 10)
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
            int hits = 0;
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
                if (rank <= cutoff)
                {
                    hits++;
                    ndcg += 1 / Math.Log2(rank + 1);
                }
            }
            int users = split.Users.Count;
            return new RankingMetrics((double)hits / users, ndcg / users, hits, users, cutoff);
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
