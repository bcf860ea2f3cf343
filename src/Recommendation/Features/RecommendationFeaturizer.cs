using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Kernels;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// Computes over a <see cref="RecommendationFeatureState"/>: the feature vector of one (user, item) pair
    /// (<see cref="Compute"/>, slots named by <see cref="RecommendationFeature"/>), and the blend and logit scores of every
    /// item for a user (the candidate recall of the ranking stage). Immutable; safe to share between threads, each with
    /// its own scratch.
    /// </summary>
    internal sealed class RecommendationFeaturizer
    {
        private readonly int[][] _histories;
        private readonly ItemVectorModel _item2Vec;
        private readonly ItemVectorModel? _node2Vec;
        private readonly InteractionCounts _counts;
        private readonly InteractionTimeline _timeline;
        private readonly SideColumn[] _affinityColumns;
        private readonly SequenceFeatureModel? _sequence;
        private readonly string[] _slotNames;

        /// <summary>The slots of the sequence model's features, after the side information (see <see cref="RecommendationFeaturesEstimator.Options.SequenceModel"/>).</summary>
        internal static readonly string[] SequenceSlotNames = { "Sequence.Logit", "Sequence.LogSoftmax", "Sequence.LogRank" };

        /// <summary>A featurizer over <paramref name="state"/>.</summary>
        public RecommendationFeaturizer(RecommendationFeatureState state)
        {
            State = state ?? throw new ArgumentNullException(nameof(state));
            _histories = state.Histories;
            _item2Vec = state.Item2Vec;
            _node2Vec = state.Node2Vec;
            _counts = state.Counts;
            _timeline = state.Timeline;
            _affinityColumns = state.ItemSide.Layout.Columns.Where(c => c.IsCategorical).ToArray();
            _sequence = state.Sequence;
            _slotNames = RecommendationFeatureSlots.Names
                .Concat(state.UserSide.Layout.Columns.SelectMany(c => c.SlotNames))
                .Concat(state.ItemSide.Layout.Columns.SelectMany(c => c.SlotNames))
                .Concat(_affinityColumns.Select(c => $"UserAffinity.{c.Name}"))
                .Concat(state.Crosses.Slots == 0 ? Array.Empty<string>() : SideCrosses.SlotNames(state.UserSide.Layout, state.ItemSide.Layout))
                .Concat(_sequence is null ? Array.Empty<string>() : SequenceSlotNames)
                .ToArray();
        }

        /// <summary>
        /// The feature vector's slots: one per <see cref="RecommendationFeature"/>, then the user side information, the item
        /// side information, one user-affinity slot per key column of the item side information, one cross slot per pair of
        /// key columns of the user and the item side information (<see cref="SideCrosses"/>), and the sequence model's
        /// slots (<see cref="SequenceSlotNames"/>) when it has one.
        /// </summary>
        public IReadOnlyList<string> SlotNames => _slotNames;

        /// <summary>Length of the feature vector.</summary>
        public int FeatureCount => _slotNames.Length;

        /// <summary>The feature column's type: a vector of <see cref="FeatureCount"/> Singles.</summary>
        public VectorDataViewType VectorType() => RecommendationFeatureSlots.VectorType(FeatureCount);

        /// <summary>The feature column's <c>SlotNames</c> annotation.</summary>
        public DataViewSchema.Annotations Annotations() => RecommendationFeatureSlots.Annotations(_slotNames);

        /// <summary>The trained state.</summary>
        public RecommendationFeatureState State { get; }

        /// <summary>History lengths and blend weights.</summary>
        public RecommendationFeatureSettings Settings => State.Settings;

        /// <summary>The item catalog, in id order.</summary>
        public IReadOnlyList<string> Items => State.Items.Ids;

        /// <summary>The training users.</summary>
        public IReadOnlyList<string> Users => State.Users.Ids;

        /// <summary>Whether node2vec vectors exist.</summary>
        public bool HasNode2Vec => _node2Vec is not null;

        /// <summary>Whether an end-to-end sequence model exists.</summary>
        public bool HasSequenceModel => _sequence is not null;

        /// <summary>The catalog index of <paramref name="item"/>, or -1.</summary>
        public int ItemIndex(ReadOnlySpan<char> item) => State.Items.IndexOf(item);

        /// <summary>The index of <paramref name="user"/>, or -1.</summary>
        public int UserIndex(ReadOnlySpan<char> user) => State.Users.IndexOf(user);

        /// <summary>The catalog index of <paramref name="item"/>, or -1.</summary>
        public int ItemIndex(string item) => State.Items.IndexOf(item);

        /// <summary>The index of <paramref name="user"/>, or -1.</summary>
        public int UserIndex(string user) => State.Users.IndexOf(user);

        /// <summary>The user's training items (catalog indices), in time order.</summary>
        public ReadOnlySpan<int> History(int user) => _histories[user];

        /// <summary>item2vec input (or context) vectors of the catalog items that have them, as a new table.</summary>
        public EmbeddingTable Item2VecTable(bool context) => _item2Vec.Vectors.ToTable(State.Items.Ids, context);

        /// <summary>node2vec vectors of the catalog items that have them, as a new table; null without node2vec.</summary>
        public EmbeddingTable? Node2VecTable() => _node2Vec?.Vectors.ToTable(State.Items.Ids, context: false);

        /// <summary>Scratch space for the user vectors of <see cref="BlendScores"/> and <see cref="LogitScores"/>, one per thread or cursor.</summary>
        public float[] CreateScratch() => new float[_item2Vec.Vectors.Dimension + (_node2Vec?.Vectors.Dimension ?? 0)];

        /// <summary>The per-cursor state of <see cref="Compute"/>.</summary>
        public FeatureScratch CreateFeatureScratch() =>
            new(State.Items.Count, _item2Vec.Vectors.Dimension, _node2Vec?.Vectors.Dimension ?? 0, State.ItemSide.Layout.Width, _sequence is not null);

        /// <summary>
        /// Fills <paramref name="features"/> (one slot per <see cref="RecommendationFeature"/>) for (<paramref name="user"/>,
        /// <paramref name="item"/>); -1 for an unknown user or item, whose features are 0 (see <see cref="RecommendationFeature"/>).
        /// Allocates nothing; the per-user work is done once per user change, in <paramref name="scratch"/>.
        /// </summary>
        public void Compute(int user, int item, Span<float> features, FeatureScratch scratch)
        {
            if (features.Length != FeatureCount)
                throw new ArgumentException($"The feature buffer has {features.Length} slots; it needs {FeatureCount}.", nameof(features));
            features.Clear();
            int sequenceSlots = _sequence is null ? 0 : SequenceSlotNames.Length;
            ComputeSide(user, item, features[RecommendationFeatureSlots.Count..^sequenceSlots], scratch);
            if (_sequence is not null && user >= 0 && item >= 0)
            {
                PrepareUser(user, scratch);
                var slots = features[^sequenceSlots..];
                slots[0] = scratch.SequenceLogits[item];
                slots[1] = scratch.SequenceLogits[item] - scratch.SequenceLogSumExp;
                slots[2] = MathF.Log(1 + scratch.SequenceRanks[item]);
            }
            features = features[..RecommendationFeatureSlots.Count];
            if (item < 0)
            {
                if (user >= 0)
                    features[(int)RecommendationFeature.LogUserActivity] = MathF.Log(1 + _histories[user].Length);
                return;
            }
            float popularity = _counts.Popularity[item];
            features[(int)RecommendationFeature.LogPopularity] = MathF.Log(1 + popularity);
            features[(int)RecommendationFeature.LogRecentPopularity] = MathF.Log(1 + _counts.RecentPopularity[item]);
            features[(int)RecommendationFeature.ItemMeanPosition] = _counts.MeanPosition[item];
            if (user < 0)
                return;
            var history = _histories[user];
            features[(int)RecommendationFeature.LogUserActivity] = MathF.Log(1 + history.Length);

            PrepareUser(user, scratch);
            var item2Vec = _item2Vec.Vectors;
            if (scratch.HasItem2VecUser && item2Vec.Known(item))
            {
                float logit = scratch.Logits[item];
                features[(int)RecommendationFeature.Item2VecLogit] = logit;
                features[(int)RecommendationFeature.Item2VecLogitStandardized] = _item2Vec.Scale(user).Standardize(logit);
                features[(int)RecommendationFeature.Item2VecCosine] = Cosine(scratch.Item2VecUser, scratch.Item2VecUserNorm, item2Vec.Input(item));
                features[(int)RecommendationFeature.Item2VecMaxCosineToRecent] = item2Vec.MaxCosineToRecent(item, history, Settings.HistoryLength);
            }
            if (_node2Vec is not null && scratch.HasNode2VecUser && _node2Vec.Vectors.Known(item))
            {
                var node2Vec = _node2Vec.Vectors;
                float logit = VectorMath.Dot(scratch.Node2VecUser, node2Vec.Context(item));
                features[(int)RecommendationFeature.Node2VecLogit] = logit;
                features[(int)RecommendationFeature.Node2VecLogitStandardized] = _node2Vec.Scale(user).Standardize(logit);
                features[(int)RecommendationFeature.Node2VecCosine] = Cosine(scratch.Node2VecUser, scratch.Node2VecUserNorm, node2Vec.Input(item));
            }
            // The per-user pass summed the transitions from the last items and the co-occurrences with the recent ones.
            features[(int)RecommendationFeature.LogTransitionsFromRecent] = MathF.Log(1 + scratch.Transitions[item]);
            features[(int)RecommendationFeature.LogTransitionFromLast] = history.Length == 0 ? 0 : MathF.Log(1 + _counts.Transitions.Get(history[^1], item));
            features[(int)RecommendationFeature.LogCooccurrenceWithRecent] = MathF.Log(1 + scratch.Cooccurrences[item] / MathF.Sqrt(Math.Max(1, popularity)));
            features[(int)RecommendationFeature.Blend] = scratch.Blend[item];
            features[(int)RecommendationFeature.LogBlendRank] = MathF.Log(1 + scratch.BlendRanks[item]);
            features[(int)RecommendationFeature.LogItem2VecLogitRank] = MathF.Log(1 + scratch.LogitRanks[item]);
            var (around, before, age) = _timeline.Features(user, item, Settings.TimeWindowInteractions);
            features[(int)RecommendationFeature.LogPopularityAroundUserTime] = MathF.Log(1 + around);
            features[(int)RecommendationFeature.LogPopularityBeforeUserTime] = MathF.Log(1 + before);
            features[(int)RecommendationFeature.SignedLogItemAgeAtUserTime] = MathF.Sign(age) * MathF.Log(1 + MathF.Abs(age));
        }

        /// <summary>The side slots: the user's and the item's side information, then the user's affinity to the item's keys.</summary>
        private void ComputeSide(int user, int item, Span<float> slots, FeatureScratch scratch)
        {
            var userSide = State.UserSide;
            var itemSide = State.ItemSide;
            if (slots.IsEmpty)
                return;
            if (user >= 0)
                userSide.Row(user).CopyTo(slots);
            if (item < 0)
                return;
            var itemRow = itemSide.Row(item);
            itemRow.CopyTo(slots[userSide.Layout.Width..]);
            if (_affinityColumns.Length == 0 || user < 0)
                return;
            PrepareProfile(user, scratch);
            var affinity = slots[(userSide.Layout.Width + itemSide.Layout.Width)..];
            for (int c = 0; c < _affinityColumns.Length; c++)
            {
                var column = _affinityColumns[c];
                affinity[c] = VectorMath.Dot(scratch.Profile.AsSpan(column.Offset, column.Width), itemRow.Slice(column.Offset, column.Width));
            }
            State.Crosses.Compute(userSide.Row(user), itemRow, affinity[_affinityColumns.Length..]);
        }

        /// <summary>The user's profile over the item side information: the mean item side row of the user's history (once per user).</summary>
        private void PrepareProfile(int user, FeatureScratch scratch)
        {
            if (scratch.ProfileUser == user)
                return;
            var profile = scratch.Profile.AsSpan();
            profile.Clear();
            var history = _histories[user];
            foreach (int past in history)
                VectorMath.Add(State.ItemSide.Row(past), profile);
            if (history.Length > 0)
                VectorMath.Scale(1f / history.Length, profile);
            scratch.ProfileUser = user;
        }

        /// <summary>
        /// Fills <paramref name="scratch"/> for <paramref name="user"/> unless it holds that user already; ranks are
        /// 1 = best among the user's unseen items, 0 for seen items.
        /// </summary>
        private void PrepareUser(int user, FeatureScratch scratch)
        {
            if (scratch.User == user)
                return;
            var history = _histories[user];
            scratch.HasItem2VecUser = _item2Vec.Vectors.UserVector(history, Settings.HistoryLength, scratch.Item2VecUser);
            scratch.Item2VecUserNorm = VectorMath.Norm(scratch.Item2VecUser);
            if (_node2Vec is not null)
            {
                scratch.HasNode2VecUser = _node2Vec.Vectors.UserVector(history, Settings.HistoryLength, scratch.Node2VecUser);
                scratch.Node2VecUserNorm = VectorMath.Norm(scratch.Node2VecUser);
            }
            foreach (int item in history)
                scratch.Seen[item] = true;
            BlendScores(user, scratch.Blend, scratch.Transitions, scratch.Cooccurrences, scratch.Vectors);
            Rank(scratch.Blend, scratch.Seen, scratch.SortKeys, scratch.BlendRanks);
            LogitScores(user, node2Vec: false, scratch.Logits, scratch.Vectors);
            Rank(scratch.Logits, scratch.Seen, scratch.SortKeys, scratch.LogitRanks);
            if (_sequence is not null)
            {
                _sequence.Scores(user, scratch.SequenceLogits);
                Rank(scratch.SequenceLogits, scratch.Seen, scratch.SortKeys, scratch.SequenceRanks);
                scratch.SequenceLogSumExp = LogSumExp(scratch.SequenceLogits);
            }
            foreach (int item in history)
                scratch.Seen[item] = false;
            scratch.User = user;
        }

        /// <summary>
        /// Each item's rank by <paramref name="scores"/>, best first, ties by item index (catalog order is id order):
        /// 1, 2, ... over the items not <paramref name="seen"/>, 0 for seen items. <paramref name="keys"/> is scratch of the
        /// same length. Equal scores include -0 and +0; NaN ranks last.
        /// </summary>
        internal static void Rank(ReadOnlySpan<float> scores, ReadOnlySpan<bool> seen, Span<long> keys, Span<float> ranks)
        {
            // One long per item, (descending score key, item index): sorting the longs sorts by score, then index.
            for (int i = 0; i < scores.Length; i++)
                keys[i] = ((long)DescendingKey(scores[i]) << 32) | (uint)i;
            keys[..scores.Length].Sort();
            int rank = 0;
            foreach (long key in keys[..scores.Length])
            {
                int item = (int)(key & uint.MaxValue);
                ranks[item] = seen[item] ? 0 : ++rank;
            }
        }

        /// <summary>An integer that orders as <paramref name="score"/> in descending order (larger scores get smaller keys); NaN gets the largest.</summary>
        private static int DescendingKey(float score)
        {
            if (float.IsNaN(score))
                return int.MaxValue;
            if (score == 0)
                score = 0; // -0 ties with +0
            int bits = BitConverter.SingleToInt32Bits(score);
            int ascending = bits ^ ((bits >> 31) & int.MaxValue);
            return ~ascending;
        }

        /// <summary>
        /// The blend score of every catalog item for <paramref name="user"/> into <paramref name="scores"/>:
        /// <see cref="RecommendationFeatureSettings.LogitWeight"/> x the standardised item2vec logit (0 without vectors) +
        /// <see cref="RecommendationFeatureSettings.TransitionWeight"/> x log(1 + transitions from the last items) +
        /// <see cref="RecommendationFeatureSettings.CooccurrenceWeight"/> x log(1 + co-occurrence with the recent items / sqrt(popularity)).
        /// <paramref name="transitions"/> and <paramref name="cooccurrences"/> receive the dense counts (catalog length);
        /// <paramref name="scratch"/> comes from <see cref="CreateScratch"/>.
        /// </summary>
        public void BlendScores(int user, Span<float> scores, Span<float> transitions, Span<float> cooccurrences, Span<float> scratch)
        {
            var history = _histories[user];
            transitions.Clear();
            cooccurrences.Clear();
            int recent = Math.Min(Settings.TransitionHistoryLength, history.Length);
            for (int k = 0; k < recent; k++)
                _counts.Transitions.AddRow(history[history.Length - 1 - k], 1, transitions);
            int window = Math.Min(Settings.HistoryLength, history.Length);
            for (int k = 0; k < window; k++)
                _counts.Cooccurrences.AddRow(history[history.Length - 1 - k], 1, cooccurrences);
            var vectors = _item2Vec.Vectors;
            var userVector = scratch[..vectors.Dimension];
            bool hasUser = vectors.UserVector(history, Settings.HistoryLength, userVector);
            var scale = _item2Vec.Scale(user);
            var popularity = _counts.Popularity;
            for (int i = 0; i < popularity.Length; i++)
            {
                float z = hasUser && vectors.Known(i) ? scale.Standardize(VectorMath.Dot(userVector, vectors.Context(i))) : 0;
                float t = MathF.Log(1 + transitions[i]);
                float c = MathF.Log(1 + cooccurrences[i] / MathF.Sqrt(Math.Max(1, popularity[i])));
                scores[i] = Settings.LogitWeight * z + Settings.TransitionWeight * t + Settings.CooccurrenceWeight * c;
            }
        }

        /// <summary>
        /// The item2vec (or node2vec) input-output logit of every catalog item for <paramref name="user"/> into
        /// <paramref name="scores"/>; negative infinity for items without vectors, and for all when the user has none.
        /// <paramref name="scratch"/> comes from <see cref="CreateScratch"/>.
        /// </summary>
        /// <exception cref="InvalidOperationException"><paramref name="node2Vec"/> is true but the features were built without node2vec.</exception>
        public void LogitScores(int user, bool node2Vec, Span<float> scores, Span<float> scratch)
        {
            var model = node2Vec ? _node2Vec ?? throw new InvalidOperationException("The features were built without node2vec.") : _item2Vec;
            model.Vectors.Logits(_histories[user], Settings.HistoryLength, scores, scratch[..model.Vectors.Dimension]);
        }

        /// <summary>
        /// The end-to-end sequence model's logit of every catalog item for <paramref name="user"/> into <paramref name="scores"/>.
        /// </summary>
        /// <exception cref="InvalidOperationException">The features were built without a sequence model.</exception>
        public void SequenceScores(int user, Span<float> scores)
        {
            var model = _sequence ?? throw new InvalidOperationException("The features were built without a sequence model.");
            model.Scores(user, scores);
        }

        private static float LogSumExp(ReadOnlySpan<float> values)
        {
            float max = System.Numerics.Tensors.TensorPrimitives.Max(values);
            double sum = 0;
            foreach (float v in values)
                sum += Math.Exp(v - max);
            return max + (float)Math.Log(sum);
        }

        /// <summary>Writes the state (<see cref="RecommendationFeatureState.Write"/>).</summary>
        public void Write(BinaryWriter writer) => State.Write(writer);

        /// <summary>Reads a state written by <see cref="Write"/>.</summary>
        public static RecommendationFeaturizer Read(BinaryReader reader) => new(RecommendationFeatureState.Read(reader));

        private static float Cosine(ReadOnlySpan<float> a, float normA, ReadOnlySpan<float> b)
        {
            float normB = VectorMath.Norm(b);
            return normA == 0 || normB == 0 ? 0 : VectorMath.Dot(a, b) / (normA * normB);
        }
    }
}
