using System;
using System.IO;
using Embeddings.Infrastructure;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// Everything the ranking features are computed from, trained once and immutable: the item catalog, the training
    /// users and their time-ordered histories, the item2vec model (required), the node2vec model (optional), interaction
    /// counts and the interaction timeline.
    /// </summary>
    /// <remarks>
    /// Saved layout, version 3 (all little-endian; arrays are raw values without a length unless stated); version 2 is
    /// the same without the last item and the settings' two candidate counts, version 1 also without the side information:
    /// <list type="number">
    /// <item>Int32 version (3); the <see cref="RecommendationFeatureSettings"/>.</item>
    /// <item>Items, then users: Int32 count and that many strings.</item>
    /// <item>Per user: Int32 history length and the Int32 item indices.</item>
    /// <item>item2vec vectors (<see cref="CatalogVectors.Write"/>); Boolean "node2vec present", and its vectors if so.</item>
    /// <item>Per item, Single: popularity, recent popularity, mean position.</item>
    /// <item>Per user, Single: item2vec logit means, item2vec logit scales, node2vec logit means, node2vec logit scales
    /// (0 and 1 without node2vec).</item>
    /// <item>Transitions and co-occurrences (<see cref="SparseCounts.Write"/>); the timeline (<see cref="InteractionTimeline.Write"/>).</item>
    /// <item>User, then item side information: the layout (<see cref="SideLayout.Write"/>) and the values (<see cref="SideTable.Write"/>).</item>
    /// <item>Boolean "sequence model present", and its network if so (<see cref="SequenceFeatureModel.Write"/>; the user vectors are recomputed on reading).</item>
    /// </list>
    /// </remarks>
    internal sealed class RecommendationFeatureState
    {
        private const int FormatVersion = 3;

        /// <summary>History lengths and blend weights.</summary>
        public required RecommendationFeatureSettings Settings { get; init; }

        /// <summary>The item catalog, in id order.</summary>
        public required IdIndex Items { get; init; }

        /// <summary>The training users.</summary>
        public required IdIndex Users { get; init; }

        /// <summary>Each user's training items (catalog indices), in time order; by user index.</summary>
        public required int[][] Histories { get; init; }

        /// <summary>item2vec vectors and per-user logit scales.</summary>
        public required ItemVectorModel Item2Vec { get; init; }

        /// <summary>node2vec vectors of the item transition graph and per-user logit scales; null when node2vec was disabled or there were no transitions.</summary>
        public ItemVectorModel? Node2Vec { get; init; }

        /// <summary>Popularity, positions, transitions and co-occurrences.</summary>
        public required InteractionCounts Counts { get; init; }

        /// <summary>When the training interactions happened.</summary>
        public required InteractionTimeline Timeline { get; init; }

        /// <summary>Side information of the users, aligned with <see cref="Users"/> (no slots when none was given).</summary>
        public SideTable UserSide { get; init; } = SideTable.Zeros(SideLayout.Empty, 0);

        /// <summary>Side information of the items, aligned with <see cref="Items"/> (no slots when none was given).</summary>
        public SideTable ItemSide { get; init; } = SideTable.Zeros(SideLayout.Empty, 0);

        /// <summary>
        /// Crosses of the user and item side information counted over <see cref="Histories"/> (format 3 on; not saved, counted
        /// again on reading); <see cref="SideCrosses.Empty"/> for earlier formats, whose feature vectors have no cross slots.
        /// </summary>
        public SideCrosses Crosses { get; init; } = SideCrosses.Empty;

        /// <summary>The end-to-end sequence model with the vectors of <see cref="Users"/>; null when none was trained.</summary>
        public SequenceFeatureModel? Sequence { get; init; }

        /// <summary>
        /// Builds the state from trained vectors: counts the histories, orders the interaction times and computes each
        /// user's logit scales.
        /// </summary>
        /// <param name="items">The item catalog (distinct ids, in id order); taken over.</param>
        /// <param name="users">The training users (distinct ids); taken over.</param>
        /// <param name="histories">Per user, catalog indices in time order; taken over.</param>
        /// <param name="times">Per user, the time of each history entry.</param>
        /// <param name="item2Vec">item2vec vectors aligned with <paramref name="items"/>.</param>
        /// <param name="node2Vec">node2vec vectors aligned with <paramref name="items"/>, or null for none.</param>
        /// <param name="settings">The feature settings; taken over (pass a copy).</param>
        /// <param name="userSide">Side information aligned with <paramref name="users"/>, or null for none.</param>
        /// <param name="itemSide">Side information aligned with <paramref name="items"/>, or null for none.</param>
        /// <param name="sequence">The sequence model over <paramref name="items"/> with the vectors of <paramref name="users"/>, or null for none.</param>
        public static RecommendationFeatureState Create(string[] items, string[] users, int[][] histories, double[][] times,
            CatalogVectors item2Vec, CatalogVectors? node2Vec, RecommendationFeatureSettings settings, SideTable? userSide = null, SideTable? itemSide = null,
            SequenceFeatureModel? sequence = null)
        {
            ArgumentNullException.ThrowIfNull(item2Vec);
            if (histories.Length != users.Length || times.Length != users.Length)
                throw new ArgumentException($"{users.Length} users need as many histories and time lists; got {histories.Length} and {times.Length}.", nameof(histories));
            if (item2Vec.ItemCount != items.Length || (node2Vec is not null && node2Vec.ItemCount != items.Length))
                throw new ArgumentException($"The item vectors must be aligned with the {items.Length} catalog items.", nameof(item2Vec));
            return new RecommendationFeatureState
            {
                Settings = settings,
                Items = new IdIndex(items),
                Users = new IdIndex(users),
                Histories = histories,
                Item2Vec = ItemVectorModel.Create(item2Vec, histories, settings.HistoryLength),
                Node2Vec = node2Vec is null ? null : ItemVectorModel.Create(node2Vec, histories, settings.HistoryLength),
                Counts = InteractionCounts.Count(items.Length, histories, settings),
                Timeline = InteractionTimeline.Create(items.Length, histories, times),
                UserSide = userSide ?? SideTable.Zeros(SideLayout.Empty, users.Length),
                ItemSide = itemSide ?? SideTable.Zeros(SideLayout.Empty, items.Length),
                Crosses = userSide is null || itemSide is null ? SideCrosses.Empty : SideCrosses.Count(userSide, itemSide, histories),
                Sequence = sequence,
            };
        }

        /// <summary>
        /// A state for users given at query time ("fold-in"): the same catalog, item vectors, counts and item timelines, with
        /// <paramref name="users"/> and their <paramref name="histories"/> (catalog indices, oldest first) in place of the
        /// training users. Their logit scales are computed from their histories as training does; their current time is the
        /// last training interaction's. Training statistics (popularity, transitions, co-occurrences) are not changed by them.
        /// </summary>
        public RecommendationFeatureState WithGuests(string[] users, int[][] histories)
        {
            ArgumentNullException.ThrowIfNull(users);
            ArgumentNullException.ThrowIfNull(histories);
            if (histories.Length != users.Length)
                throw new ArgumentException($"{users.Length} users need as many histories; got {histories.Length}.", nameof(histories));
            var times = new double[users.Length];
            Array.Fill(times, Timeline.LastTime);
            for (int u = 0; u < users.Length; u++)
            {
                if (histories[u].Length == 0)
                    times[u] = double.NaN;
            }
            return new RecommendationFeatureState
            {
                Settings = Settings,
                Items = Items,
                Users = new IdIndex(users),
                Histories = histories,
                Item2Vec = ItemVectorModel.Create(Item2Vec.Vectors, histories, Settings.HistoryLength),
                Node2Vec = Node2Vec is null ? null : ItemVectorModel.Create(Node2Vec.Vectors, histories, Settings.HistoryLength),
                Counts = Counts,
                Timeline = Timeline.WithUsers(times),
                // Users given at query time come without side information: their user slots are 0.
                UserSide = SideTable.Zeros(UserSide.Layout, users.Length),
                ItemSide = ItemSide,
                // The crosses were counted over the training users' interactions; guests have no user side information.
                Crosses = Crosses,
                Sequence = Sequence?.WithUsers(histories),
            };
        }

        /// <summary>
        /// The same state without the sequence model: no sequence features and no sequence candidates (the ranker of the
        /// interactions alone, for a comparison on the same item2vec, node2vec and counts).
        /// </summary>
        public RecommendationFeatureState WithoutSequence()
        {
            var settings = Settings.Clone();
            settings.SequenceCandidateCount = 0;
            return new RecommendationFeatureState
            {
                Settings = settings,
                Items = Items,
                Users = Users,
                Histories = Histories,
                Item2Vec = Item2Vec,
                Node2Vec = Node2Vec,
                Counts = Counts,
                Timeline = Timeline,
                UserSide = UserSide,
                ItemSide = ItemSide,
                Crosses = Crosses,
                Sequence = null,
            };
        }

        /// <summary>Writes the state in the layout of version 3 (see the remarks).</summary>
        public void Write(BinaryWriter writer)
        {
            writer.Write(FormatVersion);
            Settings.Write(writer);
            Items.Write(writer);
            Users.Write(writer);
            foreach (var history in Histories)
            {
                writer.Write(history.Length);
                BinaryState.Write<int>(writer, history);
            }
            Item2Vec.Vectors.Write(writer);
            writer.Write(Node2Vec is not null);
            Node2Vec?.Vectors.Write(writer);
            BinaryState.Write<float>(writer, Counts.Popularity);
            BinaryState.Write<float>(writer, Counts.RecentPopularity);
            BinaryState.Write<float>(writer, Counts.MeanPosition);
            WriteScales(writer, Item2Vec);
            WriteScales(writer, Node2Vec);
            Counts.Transitions.Write(writer);
            Counts.Cooccurrences.Write(writer);
            Timeline.Write(writer);
            UserSide.Layout.Write(writer);
            UserSide.Write(writer);
            ItemSide.Layout.Write(writer);
            ItemSide.Write(writer);
            writer.Write(Sequence is not null);
            Sequence?.Write(writer);
        }

        /// <summary>Reads a state written by <see cref="Write"/>.</summary>
        /// <exception cref="FormatException">The version is not 1 to 3, or the parts do not fit together.</exception>
        public static RecommendationFeatureState Read(BinaryReader reader)
        {
            int version = reader.ReadInt32();
            if (version is < 1 or > FormatVersion)
                throw new FormatException($"Recommendation features: state version {version} is not supported; this library reads versions 1 to {FormatVersion}.");
            var settings = RecommendationFeatureSettings.Read(reader, version);
            var items = IdIndex.Read(reader, "item");
            var users = IdIndex.Read(reader, "user");
            var histories = new int[users.Count][];
            for (int u = 0; u < users.Count; u++)
            {
                int length = reader.ReadInt32();
                if (length < 0)
                    throw new FormatException($"Recommendation features: user '{users.Ids[u]}' has history length {length} in the saved model.");
                histories[u] = BinaryState.ReadArray<int>(reader, length, "user history items");
                foreach (int item in histories[u])
                {
                    if ((uint)item >= (uint)items.Count)
                        throw new FormatException($"Recommendation features: user '{users.Ids[u]}' has item index {item}, beyond the {items.Count} items of the saved model.");
                }
            }
            var item2Vec = CatalogVectors.Read(reader, items.Ids);
            var node2Vec = reader.ReadBoolean() ? CatalogVectors.Read(reader, items.Ids) : null;
            var popularity = BinaryState.ReadArray<float>(reader, items.Count, "item popularities");
            var recent = BinaryState.ReadArray<float>(reader, items.Count, "recent item popularities");
            var position = BinaryState.ReadArray<float>(reader, items.Count, "mean item positions");
            var item2VecScales = ReadScales(reader, users.Count);
            var node2VecScales = ReadScales(reader, users.Count);
            var transitions = SparseCounts.Read(reader);
            var cooccurrences = SparseCounts.Read(reader);
            if (transitions.RowCount != items.Count || cooccurrences.RowCount != items.Count)
                throw new FormatException("Recommendation features: the saved count matrices do not match the item catalog.");
            var timeline = InteractionTimeline.Read(reader, items.Count, users.Count);
            SideTable userSide = SideTable.Zeros(SideLayout.Empty, users.Count), itemSide = SideTable.Zeros(SideLayout.Empty, items.Count);
            if (version >= 2)
            {
                // Version 2 adds the side information (version 1 models have none).
                userSide = SideTable.Read(reader, SideLayout.Read(reader), users.Count);
                itemSide = SideTable.Read(reader, SideLayout.Read(reader), items.Count);
            }
            // Version 3 adds the sequence model (earlier models have none).
            var sequence = version >= 3 && reader.ReadBoolean() ? SequenceFeatureModel.Read(reader, items.Count, histories) : null;
            if (sequence is null && settings.SequenceCandidateCount > 0)
                throw new FormatException($"Recommendation features: the saved settings recall {settings.SequenceCandidateCount} candidates from a sequence model, but the model has none; the model is damaged.");
            return new RecommendationFeatureState
            {
                Settings = settings,
                Items = items,
                Users = users,
                Histories = histories,
                Item2Vec = new ItemVectorModel(item2Vec, item2VecScales),
                // Without node2vec the saved scales are placeholders (mean 0, scale 1) and are dropped.
                Node2Vec = node2Vec is null ? null : new ItemVectorModel(node2Vec, node2VecScales),
                Counts = new InteractionCounts
                {
                    Popularity = popularity,
                    RecentPopularity = recent,
                    MeanPosition = position,
                    Transitions = transitions,
                    Cooccurrences = cooccurrences,
                },
                Timeline = timeline,
                UserSide = userSide,
                ItemSide = itemSide,
                Crosses = version >= 3 ? SideCrosses.Count(userSide, itemSide, histories) : SideCrosses.Empty,
                Sequence = sequence,
            };
        }

        /// <summary>The users' logit means, then their scales; <see cref="LogitScale.Identity"/> for every user of an absent model.</summary>
        private void WriteScales(BinaryWriter writer, ItemVectorModel? model)
        {
            for (int u = 0; u < Users.Count; u++)
                writer.Write(model is null ? LogitScale.Identity.Mean : model.Scale(u).Mean);
            for (int u = 0; u < Users.Count; u++)
                writer.Write(model is null ? LogitScale.Identity.Scale : model.Scale(u).Scale);
        }

        private static LogitScale[] ReadScales(BinaryReader reader, int users)
        {
            var means = BinaryState.ReadArray<float>(reader, users, "user logit means");
            var scales = BinaryState.ReadArray<float>(reader, users, "user logit scales");
            var result = new LogitScale[users];
            for (int u = 0; u < users; u++)
                result[u] = new LogitScale(means[u], scales[u]);
            return result;
        }
    }
}
