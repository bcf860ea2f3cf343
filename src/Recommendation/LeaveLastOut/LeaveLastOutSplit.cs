using System;
using System.Collections.Generic;
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

    /// <summary>
    /// The leave-last-out split (docs/evaluation-protocols.md): per user, interactions sorted by (timestamp, item id
    /// ascending; numerically when both ids are integers); the last is the test target, the second-to-last the
    /// validation target. Validation trains on all but the last two interactions and test on all but the last (the
    /// validation interaction included), so the test model sees as much history as a deployed one. Users with
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
            Users = targets.Keys.OrderBy(u => u, IdComparer.Instance).ToArray();
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
        public IEnumerable<string> AllUsers => _sequences.Keys.OrderBy(u => u, IdComparer.Instance);

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

        /// <summary>
        /// Whether the user's <paramref name="target"/> interaction has the same timestamp as the interaction just before it,
        /// so that only the item-id tie-break put it after that one (docs/evaluation-protocols.md, "Timestamp ties"). False
        /// for a user without targets.
        /// </summary>
        public bool TargetTiesPrevious(string user, RankingTarget target)
        {
            if (!_targets.ContainsKey(user))
                return false;
            var times = _times[user];
            int position = times.Length - (target == RankingTarget.Test ? 1 : 2);
            return times[position] == times[position - 1];
        }

        /// <summary>All users' training interactions for <paramref name="target"/>, user by user, oldest first.</summary>
        public IEnumerable<(string User, IReadOnlyList<string> Items)> TrainingSequences(RankingTarget target) =>
            _sequences.Keys.OrderBy(u => u, IdComparer.Instance).Select(u => (u, Training(u, target)));

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
                var sorted = list.OrderBy(i => i.Timestamp).ThenBy(i => i.Item, IdComparer.Instance).ToArray();
                var ordered = sorted.Select(i => i.Item).ToArray();
                sequences[user] = ordered;
                times[user] = sorted.Select(i => i.Timestamp).ToArray();
                if (ordered.Length >= 3)
                    targets[user] = (ordered[^2], ordered[^1]);
            }
            return new LeaveLastOutSplit(sequences, times, targets, items.OrderBy(i => i, IdComparer.Instance).ToArray());
        }
    }

    /// <summary>Orders ids numerically when both are integers, otherwise ordinally (integers first). Use <see cref="IdComparer"/>.</summary>
    [Obsolete("Use Embeddings.IdComparer; ItemIdComparer will be removed in the next release.")]
    public sealed class ItemIdComparer : IComparer<string>
    {
        /// <summary>The comparer.</summary>
        public static ItemIdComparer Instance { get; } = new();

        /// <inheritdoc/>
        public int Compare(string? x, string? y) => IdComparer.Instance.Compare(x, y);
    }
}
