using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Kernels;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// The trained state behind the ranking features (immutable): the item catalog, each user's training history,
    /// item2vec input and context vectors, node2vec input and context vectors of the item transition graph, item
    /// popularity, first-order transitions and windowed co-occurrences. Computes the feature vector of one
    /// (user, item) pair and the blend score of every item for a user (the candidate recall of the ranking stage).
    /// </summary>
    internal sealed class RecommendationFeaturizer
    {
        private const int StateVersion = 1;
        private const int StandardizationSample = 4096;

        /// <summary>The feature names, in vector order.</summary>
        public static readonly string[] FeatureNames =
        {
            "Item2VecLogit", "Item2VecLogitStandardized", "Item2VecCosine", "Item2VecMaxCosineToRecent",
            "Node2VecLogit", "Node2VecLogitStandardized", "Node2VecCosine",
            "LogPopularity", "LogRecentPopularity", "LogUserActivity",
            "LogTransitionsFromRecent", "LogTransitionFromLast", "LogCooccurrenceWithRecent", "ItemMeanPosition", "Blend",
            "LogBlendRank", "LogItem2VecLogitRank",
            "LogPopularityAroundUserTime", "LogPopularityBeforeUserTime", "SignedLogItemAgeAtUserTime",
        };

        private readonly string[] _items;
        private readonly string[] _users;
        private readonly Dictionary<string, int> _itemIndex;
        private readonly Dictionary<string, int> _userIndex;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _itemSpanIndex;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _userSpanIndex;
        private readonly int[][] _histories;
        private readonly ItemVectors _item2Vec;
        private readonly ItemVectors? _node2Vec;
        private readonly float[] _popularity;
        private readonly float[] _recentPopularity;
        private readonly float[] _meanPosition;
        private readonly SparseCounts _transitions;
        private readonly SparseCounts _cooccurrences;
        private readonly float[] _item2VecMean, _item2VecStd, _node2VecMean, _node2VecStd;
        private readonly InteractionTimeline _timeline;

        public RecommendationFeaturizer(string[] items, string[] users, int[][] histories, double[][] times, ItemVectors item2Vec, ItemVectors? node2Vec, RecommendationFeatureSettings settings)
            : this(items, users, histories, item2Vec, node2Vec, settings, null, null, null, null, null, null, InteractionTimeline.Create(items.Length, histories, times))
        {
        }

        private RecommendationFeaturizer(string[] items, string[] users, int[][] histories, ItemVectors item2Vec, ItemVectors? node2Vec, RecommendationFeatureSettings settings,
            float[]? popularity, float[]? recentPopularity, float[]? meanPosition, SparseCounts? transitions, SparseCounts? cooccurrences, float[][]? standardization, InteractionTimeline timeline)
        {
            _timeline = timeline;
            _items = items;
            _users = users;
            _histories = histories;
            _item2Vec = item2Vec;
            _node2Vec = node2Vec;
            Settings = settings;
            _itemIndex = Index(items);
            _userIndex = Index(users);
            _itemSpanIndex = _itemIndex.GetAlternateLookup<ReadOnlySpan<char>>();
            _userSpanIndex = _userIndex.GetAlternateLookup<ReadOnlySpan<char>>();
            if (popularity is null)
                (popularity, recentPopularity, meanPosition, transitions, cooccurrences) = CountInteractions(items.Length, histories, settings);
            _popularity = popularity;
            _recentPopularity = recentPopularity!;
            _meanPosition = meanPosition!;
            _transitions = transitions!;
            _cooccurrences = cooccurrences!;
            standardization ??= Standardize();
            (_item2VecMean, _item2VecStd, _node2VecMean, _node2VecStd) = (standardization[0], standardization[1], standardization[2], standardization[3]);
        }

        public RecommendationFeatureSettings Settings { get; }

        public static int FeatureCount => FeatureNames.Length;

        public IReadOnlyList<string> Items => _items;

        public IReadOnlyList<string> Users => _users;

        public bool HasNode2Vec => _node2Vec is not null;

        public int ItemIndex(ReadOnlySpan<char> item) => _itemSpanIndex.TryGetValue(item, out int index) ? index : -1;

        public int UserIndex(ReadOnlySpan<char> user) => _userSpanIndex.TryGetValue(user, out int index) ? index : -1;

        public int ItemIndex(string item) => _itemIndex.TryGetValue(item, out int index) ? index : -1;

        public int UserIndex(string user) => _userIndex.TryGetValue(user, out int index) ? index : -1;

        public ReadOnlySpan<int> History(int user) => _histories[user];

        public float Popularity(int item) => _popularity[item];

        public EmbeddingTable Item2VecTable(bool context) => _item2Vec.ToTable(_items, context);

        public EmbeddingTable? Node2VecTable() => _node2Vec?.ToTable(_items, context: false);

        /// <summary>Scratch space for vector work (user vectors), one per thread or cursor.</summary>
        public float[] CreateScratch() => new float[_item2Vec.Dimension + (_node2Vec?.Dimension ?? 0)];

        /// <summary>
        /// Per-cursor state of <see cref="Compute"/>: everything that depends on the user alone, computed once when the
        /// user changes (rows of one user's candidates come together): the user vectors, the blend and logit scores of
        /// every item, the dense transition and co-occurrence counts from the recent items, and the ranks.
        /// </summary>
        public sealed class FeatureScratch
        {
            internal FeatureScratch(RecommendationFeaturizer owner)
            {
                int n = owner._items.Length;
                Vectors = owner.CreateScratch();
                Item2VecUser = new float[owner._item2Vec.Dimension];
                Node2VecUser = new float[owner._node2Vec?.Dimension ?? 0];
                Blend = new float[n];
                Logits = new float[n];
                Transitions = new float[n];
                Cooccurrences = new float[n];
                BlendRanks = new float[n];
                LogitRanks = new float[n];
                Order = new int[n];
                Seen = new bool[n];
            }

            internal int User { get; set; } = -1;
            internal float[] Vectors { get; }
            internal float[] Item2VecUser { get; }
            internal bool HasItem2VecUser { get; set; }
            internal float Item2VecUserNorm { get; set; }
            internal float[] Node2VecUser { get; }
            internal bool HasNode2VecUser { get; set; }
            internal float Node2VecUserNorm { get; set; }
            internal float[] Blend { get; }
            internal float[] Logits { get; }
            internal float[] Transitions { get; }
            internal float[] Cooccurrences { get; }
            internal float[] BlendRanks { get; }
            internal float[] LogitRanks { get; }
            internal int[] Order { get; }
            internal bool[] Seen { get; }
        }

        public FeatureScratch CreateFeatureScratch() => new(this);

        /// <summary>
        /// Fills <paramref name="scratch"/> for <paramref name="user"/> unless it holds that user already; ranks are
        /// 1 = best among the user's unseen items, 0 for seen items.
        /// </summary>
        private void PrepareUser(int user, FeatureScratch scratch)
        {
            if (scratch.User == user)
                return;
            var history = _histories[user];
            scratch.HasItem2VecUser = _item2Vec.UserVector(history, Settings.HistoryLength, scratch.Item2VecUser);
            scratch.Item2VecUserNorm = VectorMath.Norm(scratch.Item2VecUser);
            if (_node2Vec is not null)
            {
                scratch.HasNode2VecUser = _node2Vec.UserVector(history, Settings.HistoryLength, scratch.Node2VecUser);
                scratch.Node2VecUserNorm = VectorMath.Norm(scratch.Node2VecUser);
            }
            foreach (int item in history)
                scratch.Seen[item] = true;
            BlendScores(user, scratch.Blend, scratch.Transitions, scratch.Cooccurrences, scratch.Vectors);
            Rank(scratch.Blend, scratch.Seen, scratch.Order, scratch.BlendRanks);
            LogitScores(user, node2Vec: false, scratch.Logits, scratch.Vectors);
            Rank(scratch.Logits, scratch.Seen, scratch.Order, scratch.LogitRanks);
            foreach (int item in history)
                scratch.Seen[item] = false;
            scratch.User = user;
        }

        private static void Rank(float[] scores, bool[] seen, int[] order, float[] ranks)
        {
            for (int i = 0; i < order.Length; i++)
                order[i] = i;
            // Best first; ties by item index (catalog order is id order).
            Array.Sort(order, (x, y) => scores[x] != scores[y] ? scores[y].CompareTo(scores[x]) : x.CompareTo(y));
            int rank = 0;
            foreach (int item in order)
                ranks[item] = seen[item] ? 0 : ++rank;
        }

        /// <summary>The features of (<paramref name="user"/>, <paramref name="item"/>); -1 for an unknown user or item (their features are 0).</summary>
        public void Compute(int user, int item, Span<float> features, FeatureScratch context)
        {
            features.Clear();
            if (item < 0)
            {
                if (user >= 0)
                    features[9] = MathF.Log(1 + _histories[user].Length);
                return;
            }
            float pop = _popularity[item];
            features[7] = MathF.Log(1 + pop);
            features[8] = MathF.Log(1 + _recentPopularity[item]);
            features[13] = _meanPosition[item];
            if (user < 0)
                return;
            var history = _histories[user];
            features[9] = MathF.Log(1 + history.Length);

            PrepareUser(user, context);
            if (context.HasItem2VecUser && _item2Vec.Known(item))
            {
                float logit = context.Logits[item];
                features[0] = logit;
                features[1] = (logit - _item2VecMean[user]) / _item2VecStd[user];
                features[2] = Cosine(context.Item2VecUser, context.Item2VecUserNorm, _item2Vec.Input(item));
                features[3] = _item2Vec.MaxCosineToRecent(item, history, Settings.HistoryLength);
            }
            if (_node2Vec is not null && context.HasNode2VecUser && _node2Vec.Known(item))
            {
                float logit = VectorMath.Dot(context.Node2VecUser, _node2Vec.Context(item));
                features[4] = logit;
                features[5] = (logit - _node2VecMean[user]) / _node2VecStd[user];
                features[6] = Cosine(context.Node2VecUser, context.Node2VecUserNorm, _node2Vec.Input(item));
            }
            // The per-user pass summed the transitions from the last items and the co-occurrences with the recent ones.
            features[10] = MathF.Log(1 + context.Transitions[item]);
            features[11] = history.Length == 0 ? 0 : MathF.Log(1 + _transitions.Get(history[^1], item));
            features[12] = MathF.Log(1 + context.Cooccurrences[item] / MathF.Sqrt(Math.Max(1, pop)));
            features[14] = context.Blend[item];
            features[15] = MathF.Log(1 + context.BlendRanks[item]);
            features[16] = MathF.Log(1 + context.LogitRanks[item]);
            var (around, before, age) = _timeline.Features(user, item, Settings.TimeWindowInteractions);
            features[17] = MathF.Log(1 + around);
            features[18] = MathF.Log(1 + before);
            features[19] = MathF.Sign(age) * MathF.Log(1 + MathF.Abs(age));
        }

        /// <summary>
        /// The blend score of every catalog item for <paramref name="user"/>: the standardised item2vec input-output logit,
        /// plus log(1 + transitions from the last items), plus half log(1 + co-occurrence with the recent items / sqrt(popularity)).
        /// </summary>
        public void BlendScores(int user, Span<float> scores, Span<float> transitions, Span<float> cooccurrences, Span<float> scratch)
        {
            var history = _histories[user];
            transitions.Clear();
            cooccurrences.Clear();
            int recent = Math.Min(Settings.TransitionHistoryLength, history.Length);
            for (int k = 0; k < recent; k++)
                _transitions.AddRow(history[history.Length - 1 - k], 1, transitions);
            int window = Math.Min(Settings.HistoryLength, history.Length);
            for (int k = 0; k < window; k++)
                _cooccurrences.AddRow(history[history.Length - 1 - k], 1, cooccurrences);
            var userVector = scratch[.._item2Vec.Dimension];
            bool hasUser = _item2Vec.UserVector(history, Settings.HistoryLength, userVector);
            for (int i = 0; i < _items.Length; i++)
            {
                float z = hasUser && _item2Vec.Known(i) ? (VectorMath.Dot(userVector, _item2Vec.Context(i)) - _item2VecMean[user]) / _item2VecStd[user] : 0;
                float t = MathF.Log(1 + transitions[i]);
                float c = MathF.Log(1 + cooccurrences[i] / MathF.Sqrt(Math.Max(1, _popularity[i])));
                scores[i] = Blend(z, t, c);
            }
        }

        /// <summary>The item2vec (or node2vec) input-output logit of every catalog item for <paramref name="user"/>; negative infinity without vectors.</summary>
        public void LogitScores(int user, bool node2Vec, Span<float> scores, Span<float> scratch)
        {
            var vectors = node2Vec ? _node2Vec ?? throw new InvalidOperationException("The features were built without node2vec.") : _item2Vec;
            var userVector = scratch[..vectors.Dimension];
            scores.Fill(float.NegativeInfinity);
            if (!vectors.UserVector(_histories[user], Settings.HistoryLength, userVector))
                return;
            for (int i = 0; i < _items.Length; i++)
            {
                if (vectors.Known(i))
                    scores[i] = VectorMath.Dot(userVector, vectors.Context(i));
            }
        }

        private float Blend(float standardizedLogit, float logTransitions, float logCooccurrence) =>
            Settings.LogitWeight * standardizedLogit + Settings.TransitionWeight * logTransitions + Settings.CooccurrenceWeight * logCooccurrence;

        private static float Cosine(ReadOnlySpan<float> a, float na, ReadOnlySpan<float> b)
        {
            float nb = VectorMath.Norm(b);
            return na == 0 || nb == 0 ? 0 : VectorMath.Dot(a, b) / (na * nb);
        }

        private static Dictionary<string, int> Index(string[] keys)
        {
            var index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
            for (int i = 0; i < keys.Length; i++)
            {
                if (!index.TryAdd(keys[i], i))
                    throw new ArgumentException($"The id '{keys[i]}' appears twice.");
            }
            return index;
        }

        private static (float[] Popularity, float[] Recent, float[] MeanPosition, SparseCounts Transitions, SparseCounts Cooccurrences) CountInteractions(
            int itemCount, int[][] histories, RecommendationFeatureSettings settings)
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
            return (popularity, recent, meanPosition, transitions.Build(), cooccurrences.Build());
        }

        /// <summary>Each user's mean and standard deviation of the input-output logit over the catalog (or an even sample of it).</summary>
        private float[][] Standardize()
        {
            int users = _users.Length;
            var result = new[] { new float[users], new float[users], new float[users], new float[users] };
            int stride = Math.Max(1, _items.Length / StandardizationSample);
            Parallel.For(0, users, () => (Scores: new float[_items.Length], Scratch: CreateScratch()), (u, _, local) =>
            {
                for (int m = 0; m < 2; m++)
                {
                    bool node2Vec = m == 1;
                    if (node2Vec && _node2Vec is null)
                    {
                        result[3][u] = 1;
                        continue;
                    }
                    LogitScores(u, node2Vec, local.Scores, local.Scratch);
                    double sum = 0, squares = 0;
                    int n = 0;
                    for (int i = 0; i < _items.Length; i += stride)
                    {
                        float s = local.Scores[i];
                        if (float.IsNegativeInfinity(s))
                            continue;
                        sum += s;
                        squares += (double)s * s;
                        n++;
                    }
                    double mean = n == 0 ? 0 : sum / n;
                    double std = n < 2 ? 1 : Math.Sqrt(Math.Max(0, squares / n - mean * mean));
                    result[2 * m][u] = (float)mean;
                    result[2 * m + 1][u] = std > 1e-6 ? (float)std : 1;
                }
                return local;
            }, _ => { });
            return result;
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(StateVersion);
            Settings.Write(writer);
            WriteStrings(writer, _items);
            WriteStrings(writer, _users);
            foreach (var history in _histories)
            {
                writer.Write(history.Length);
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(history.AsSpan()));
            }
            _item2Vec.Write(writer);
            writer.Write(_node2Vec is not null);
            _node2Vec?.Write(writer);
            foreach (var array in new[] { _popularity, _recentPopularity, _meanPosition, _item2VecMean, _item2VecStd, _node2VecMean, _node2VecStd })
                writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(array.AsSpan()));
            _transitions.Write(writer);
            _cooccurrences.Write(writer);
            _timeline.Write(writer);
        }

        public static RecommendationFeaturizer Read(BinaryReader reader)
        {
            int version = reader.ReadInt32();
            if (version != StateVersion)
                throw new FormatException($"Recommendation features: state version {version} is not supported; this library reads version {StateVersion}.");
            var settings = RecommendationFeatureSettings.Read(reader);
            var items = ReadStrings(reader);
            var users = ReadStrings(reader);
            var histories = new int[users.Length][];
            for (int u = 0; u < users.Length; u++)
            {
                histories[u] = SparseCounts.ReadArray<int>(reader, reader.ReadInt32());
                foreach (int item in histories[u])
                {
                    if ((uint)item >= (uint)items.Length)
                        throw new FormatException($"Recommendation features: user '{users[u]}' has item index {item}, beyond the {items.Length} items of the saved model.");
                }
            }
            var item2Vec = ItemVectors.Read(reader, items.Length);
            var node2Vec = reader.ReadBoolean() ? ItemVectors.Read(reader, items.Length) : null;
            var popularity = SparseCounts.ReadArray<float>(reader, items.Length);
            var recent = SparseCounts.ReadArray<float>(reader, items.Length);
            var position = SparseCounts.ReadArray<float>(reader, items.Length);
            var standardization = new float[4][];
            for (int k = 0; k < 4; k++)
                standardization[k] = SparseCounts.ReadArray<float>(reader, users.Length);
            var transitions = SparseCounts.Read(reader);
            var cooccurrences = SparseCounts.Read(reader);
            if (transitions.RowCount != items.Length || cooccurrences.RowCount != items.Length)
                throw new FormatException("Recommendation features: the saved count matrices do not match the item catalog.");
            var timeline = InteractionTimeline.Read(reader, items.Length, users.Length);
            return new RecommendationFeaturizer(items, users, histories, item2Vec, node2Vec, settings, popularity, recent, position, transitions, cooccurrences, standardization, timeline);
        }

        private static void WriteStrings(BinaryWriter writer, string[] values)
        {
            writer.Write(values.Length);
            foreach (string value in values)
                writer.Write(value);
        }

        private static string[] ReadStrings(BinaryReader reader)
        {
            int count = reader.ReadInt32();
            if (count < 0)
                throw new FormatException($"Recommendation features: invalid id count {count} in the saved model.");
            var values = new string[count];
            for (int i = 0; i < count; i++)
                values[i] = reader.ReadString();
            return values;
        }
    }

    /// <summary>Input and context vectors aligned with the item catalog (rows of zeros, and not known, for items without vectors).</summary>
    internal sealed class ItemVectors
    {
        private readonly float[] _input;
        private readonly float[] _context;
        private readonly float[] _inverseNorms;
        private readonly bool[] _known;

        private ItemVectors(int dimension, float[] input, float[] context, bool[] known)
        {
            Dimension = dimension;
            _input = input;
            _context = context;
            _known = known;
            _inverseNorms = new float[known.Length];
            for (int i = 0; i < known.Length; i++)
            {
                float norm = VectorMath.Norm(Input(i));
                _inverseNorms[i] = norm > 0 ? 1 / norm : 0;
            }
        }

        public int Dimension { get; }

        public bool Known(int item) => _known[item];

        public ReadOnlySpan<float> Input(int item) => _input.AsSpan(item * Dimension, Dimension);

        public ReadOnlySpan<float> Context(int item) => _context.AsSpan(item * Dimension, Dimension);

        /// <summary>Aligns <paramref name="input"/> and <paramref name="context"/> (same keys) with <paramref name="items"/>.</summary>
        public static ItemVectors Create(IReadOnlyList<string> items, EmbeddingTable input, EmbeddingTable context)
        {
            int d = input.Dimension;
            var inputRows = new float[(long)items.Count * d];
            var contextRows = new float[(long)items.Count * d];
            var known = new bool[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                int a = input.IndexOf(items[i]), b = context.IndexOf(items[i]);
                if (a < 0 || b < 0)
                    continue;
                input.Row(a).CopyTo(inputRows.AsSpan(i * d, d));
                context.Row(b).CopyTo(contextRows.AsSpan(i * d, d));
                known[i] = true;
            }
            return new ItemVectors(d, inputRows, contextRows, known);
        }

        /// <summary>The known items' input (or context) vectors as a table.</summary>
        public EmbeddingTable ToTable(string[] items, bool context)
        {
            var keys = new List<string>();
            var rows = new List<float>();
            for (int i = 0; i < items.Length; i++)
            {
                if (!_known[i])
                    continue;
                keys.Add(items[i]);
                rows.AddRange((context ? Context(i) : Input(i)).ToArray());
            }
            return new EmbeddingTable(keys, rows.ToArray(), Dimension);
        }

        /// <summary>The mean input vector of the last <paramref name="length"/> known items of <paramref name="history"/>; false when there is none.</summary>
        public bool UserVector(ReadOnlySpan<int> history, int length, Span<float> destination)
        {
            destination.Clear();
            int used = 0;
            for (int k = history.Length - 1; k >= 0 && used < length; k--)
            {
                if (!_known[history[k]])
                    continue;
                VectorMath.Add(Input(history[k]), destination);
                used++;
            }
            if (used == 0)
                return false;
            VectorMath.Scale(1f / used, destination);
            return true;
        }

        /// <summary>The largest cosine between <paramref name="item"/> and the last <paramref name="length"/> items of <paramref name="history"/>.</summary>
        public float MaxCosineToRecent(int item, ReadOnlySpan<int> history, int length)
        {
            float best = 0;
            bool any = false;
            for (int k = history.Length - 1; k >= 0 && k >= history.Length - length; k--)
            {
                int other = history[k];
                if (!_known[other])
                    continue;
                float cosine = VectorMath.Dot(Input(item), Input(other)) * _inverseNorms[item] * _inverseNorms[other];
                best = any ? Math.Max(best, cosine) : cosine;
                any = true;
            }
            return best;
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(Dimension);
            writer.Write(_known.Length);
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_known.AsSpan()));
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_input.AsSpan()));
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_context.AsSpan()));
        }

        public static ItemVectors Read(BinaryReader reader, int items)
        {
            int d = reader.ReadInt32();
            int count = reader.ReadInt32();
            if (d < 1 || count != items)
                throw new FormatException($"Recommendation features: saved item vectors have dimension {d} and {count} rows; expected {items} rows.");
            var known = SparseCounts.ReadArray<bool>(reader, count);
            var input = SparseCounts.ReadArray<float>(reader, checked(count * d));
            var context = SparseCounts.ReadArray<float>(reader, checked(count * d));
            return new ItemVectors(d, input, context, known);
        }
    }

    /// <summary>
    /// When things happened, in a unit-free form: the sorted times of all training interactions, each item's sorted
    /// interaction times and each user's last training time. "Around the user's time" means within the
    /// <c>window</c> interactions (of anybody) before and after the user's last training interaction.
    /// </summary>
    internal sealed class InteractionTimeline
    {
        private readonly double[] _all;
        private readonly long[] _itemOffsets;
        private readonly double[] _itemTimes;
        private readonly double[] _userTimes;

        private InteractionTimeline(double[] all, long[] itemOffsets, double[] itemTimes, double[] userTimes)
        {
            _all = all;
            _itemOffsets = itemOffsets;
            _itemTimes = itemTimes;
            _userTimes = userTimes;
        }

        public static InteractionTimeline Create(int itemCount, int[][] histories, double[][] times)
        {
            var offsets = new long[itemCount + 1];
            foreach (var history in histories)
            {
                foreach (int item in history)
                    offsets[item + 1]++;
            }
            for (int i = 0; i < itemCount; i++)
                offsets[i + 1] += offsets[i];
            var itemTimes = new double[offsets[itemCount]];
            var fill = (long[])offsets.Clone();
            var all = new double[itemTimes.Length];
            long k = 0;
            var userTimes = new double[histories.Length];
            for (int u = 0; u < histories.Length; u++)
            {
                for (int t = 0; t < histories[u].Length; t++)
                {
                    itemTimes[fill[histories[u][t]]++] = times[u][t];
                    all[k++] = times[u][t];
                }
                userTimes[u] = histories[u].Length == 0 ? double.NaN : times[u][^1];
            }
            Array.Sort(all);
            for (int i = 0; i < itemCount; i++)
                Array.Sort(itemTimes, (int)offsets[i], (int)(offsets[i + 1] - offsets[i]));
            return new InteractionTimeline(all, offsets, itemTimes, userTimes);
        }

        /// <summary>
        /// The item's interactions within <paramref name="window"/> interactions of the user's last time, its interactions
        /// before that time, and how many interactions (of anybody) lie between the item's first interaction and that time
        /// (negative when the item first appears later).
        /// </summary>
        public (float Around, float Before, float Age) Features(int user, int item, int window)
        {
            double time = _userTimes[user];
            long begin = _itemOffsets[item], count = _itemOffsets[item + 1] - begin;
            if (double.IsNaN(time) || count == 0)
                return (0, 0, 0);
            var times = _itemTimes.AsSpan((int)begin, (int)count);
            int at = LowerBound(_all, time);
            double low = _all[Math.Max(0, at - window)];
            double high = _all[Math.Min(_all.Length - 1, at + window)];
            int around = UpperBound(times, high) - LowerBound(times, low);
            int before = LowerBound(times, time);
            int first = LowerBound(_all, times[0]);
            return (around, before, at - first);
        }

        private static int LowerBound(ReadOnlySpan<double> sorted, double value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (sorted[mid] < value)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            return lo;
        }

        private static int UpperBound(ReadOnlySpan<double> sorted, double value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (sorted[mid] <= value)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            return lo;
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(_all.LongLength);
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_all.AsSpan()));
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_itemOffsets.AsSpan()));
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_itemTimes.AsSpan()));
            writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_userTimes.AsSpan()));
        }

        public static InteractionTimeline Read(BinaryReader reader, int items, int users)
        {
            long count = reader.ReadInt64();
            if (count < 0 || count > int.MaxValue)
                throw new FormatException($"Recommendation features: invalid interaction count {count} in the saved timeline.");
            var all = SparseCounts.ReadArray<double>(reader, (int)count);
            var offsets = SparseCounts.ReadArray<long>(reader, items + 1);
            if (offsets[0] != 0 || offsets[items] != count)
                throw new FormatException("Recommendation features: the saved timeline offsets do not match its interaction count.");
            var itemTimes = SparseCounts.ReadArray<double>(reader, (int)count);
            var userTimes = SparseCounts.ReadArray<double>(reader, users);
            return new InteractionTimeline(all, offsets, itemTimes, userTimes);
        }
    }
}
