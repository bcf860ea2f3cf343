using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.Recommendation.RecommendationFeaturesTransformer))]

namespace Embeddings.Recommendation
{
    /// <summary>
    /// Learns everything the ranking features need from interaction rows (user, item, optional timestamp): each user's
    /// time-ordered history (ties by item id), item2vec input and context vectors, node2vec vectors of the item transition
    /// graph, item popularity, transitions and co-occurrences. The transformer maps (user, item) rows to a known-size
    /// feature vector with one slot per <see cref="RecommendationFeature"/> (named by the <c>SlotNames</c> annotation) for an
    /// ML.NET ranker.
    /// </summary>
    public sealed class RecommendationFeaturesEstimator : IEstimator<RecommendationFeaturesTransformer>
    {
        internal const string ComponentName = "RecommendationFeatures";
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Settings of <see cref="RecommendationFeaturesEstimator"/>.</summary>
        public sealed class Options : InteractionColumnsOptions
        {
            /// <summary>The output feature vector column. Default "Features".</summary>
            public string FeaturesColumnName { get; set; } = "Features";

            /// <summary>item2vec settings. Defaults: dimension 64, window 5, MinCount 1, 20 epochs; context vectors are always kept (the logit features need them).</summary>
            public SkipGramEmbeddingEstimator.Options Item2Vec { get; set; } = DefaultItem2Vec();

            /// <summary>node2vec over the item transition graph.</summary>
            public ItemGraphOptions ItemGraph { get; set; } = new();

            /// <summary>History lengths and blend weights.</summary>
            public RecommendationFeatureSettings Features { get; set; } = new();

            /// <summary>
            /// Side information of the users, or null (default) for none: a view with a user id column named like
            /// <see cref="InteractionColumnsOptions.UserColumnName"/> and any other columns of numbers (Single, Double, Int32,
            /// Int64, Boolean; known-size vectors of Single or Double) or keys (one-hot; vectors of keys multi-hot; at most
            /// 1,024 key values). Each becomes feature slots after the fixed ones, named by column (and key value); users the
            /// view does not list, and users given at query time, get zeros. The first row of a repeated id is used.
            /// </summary>
            public IDataView? UserSideInformation { get; set; }

            /// <summary>
            /// Side information of the items, or null (default) for none: as <see cref="UserSideInformation"/>, keyed by an
            /// item id column named like <see cref="InteractionColumnsOptions.ItemColumnName"/>. Each key column (for example
            /// genres) also gives a user-affinity slot: the user's profile over its keys (the mean over the user's history)
            /// dotted with the item's keys. With both side views, each pair of a user key column and an item key column
            /// (for example gender and genres) gives a cross slot <c>Cross.{user column}.{item column}</c>: the mean log lift,
            /// over the training interactions, of the user's keys towards the item's keys (how much more often users with the
            /// user's keys interact with items with the item's keys than everybody does, smoothed).
            /// </summary>
            public IDataView? ItemSideInformation { get; set; }

            /// <summary>
            /// An end-to-end sequence model trained with the features on the same histories (next-item prediction,
            /// <see cref="SequenceRecallEstimator"/>: <see cref="SequenceRecallArchitecture.Gru"/>, self-attention or mean pooling), or null
            /// (default) for none. It adds three feature slots after the side information: <c>Sequence.Logit</c> (the
            /// model's score u · W_i + b_i of the item for the user's history), <c>Sequence.LogSoftmax</c> (the logit minus the
            /// log-sum-exp of every catalog item's logit) and <c>Sequence.LogRank</c> (log(1 + the item's rank by the logit
            /// among the user's unseen items), 0 for a seen item); and it can recall candidates
            /// (<see cref="RecommendationFeatureSettings.SequenceCandidateCount"/>). Its column names, user features, progress
            /// and cancellation are not used (the histories come from these options' columns); its seed, when null, is the
            /// features' seed; its thread count, when null, is <see cref="NumberOfThreads"/>.
            /// </summary>
            public SequenceRecallEstimator.Options? SequenceModel { get; set; }

            /// <summary>Seed of item2vec and node2vec; null: the MLContext's random source. Setting it also sets the embeddings' seeds.</summary>
            public int? Seed { get; set; }

            /// <summary>Threads for training; null: all cores. With 1 thread and a seed, results are identical run to run.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>The former name of <see cref="NumberOfThreads"/> (ML.NET's name), kept for one release.</summary>
            [Obsolete("Use NumberOfThreads, as ML.NET's trainers name it. ThreadCount will be removed in the next release.")]
            public int? ThreadCount
            {
                get => NumberOfThreads;
                set => NumberOfThreads = value;
            }

            /// <summary>
            /// The item2vec settings that <see cref="Item2Vec"/> starts from (dimension 64, window 5, MinCount 1, 20
            /// epochs, context vectors kept, the other skip-gram defaults); a new object on every call.
            /// </summary>
            public static SkipGramEmbeddingEstimator.Options DefaultItem2Vec() => new()
            {
                OutputColumnName = "Item2Vec",
                EmbeddingDimension = 64,
                WindowSize = 5,
                MinCount = 1,
                Epochs = 20,
                KeepContextVectors = true,
            };
        }

        internal RecommendationFeaturesEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            Validate(options);
            _options = options;
        }

        internal static void Validate(Options options)
        {
            ArgumentNullException.ThrowIfNull(options);
            const string c = ComponentName;
            options.ValidateColumnNames(c);
            if (string.IsNullOrWhiteSpace(options.FeaturesColumnName))
                throw new ArgumentException($"{c}: FeaturesColumnName is empty; name the output feature column (\"Features\" is usual).", nameof(options));
            ArgumentNullException.ThrowIfNull(options.Item2Vec, nameof(options.Item2Vec));
            ArgumentNullException.ThrowIfNull(options.ItemGraph, nameof(options.ItemGraph));
            ArgumentNullException.ThrowIfNull(options.Features, nameof(options.Features));
            if (options.Item2Vec.InputColumnName is not null || !options.Item2Vec.KeepContextVectors)
                throw new ArgumentException($"{c}: Item2Vec.InputColumnName ('{options.Item2Vec.InputColumnName}') must be null and Item2Vec.KeepContextVectors ({options.Item2Vec.KeepContextVectors}) true: the items come from ItemColumnName and the logit features need context vectors.", nameof(options));
            options.Item2Vec.Validate();
            if (options.ItemGraph.Enabled)
                options.ItemGraph.Validate(c + ".ItemGraph");
            options.Features.Validate(c + ".Features");
            if (options.SequenceModel is not null)
            {
                // Its column names are not used (the histories come from these options' columns).
                var sequence = options.SequenceModel.Clone();
                sequence.UserColumnName = options.UserColumnName;
                sequence.ItemColumnName = options.ItemColumnName;
                sequence.TimestampColumnName = null;
                sequence.Validate();
                OptionChecks.Check(c, options.SequenceModel.UserFeaturesColumnName is null, "SequenceModel.UserFeaturesColumnName", $"'{options.SequenceModel.UserFeaturesColumnName}'",
                    "leave it null: the ranking features' sequence model reads the histories only (side information goes in UserSideInformation)");
            }
            OptionChecks.Check(c, options.Features.SequenceCandidateCount == 0 || options.SequenceModel is not null, "Features.SequenceCandidateCount", options.Features.SequenceCandidateCount,
                "set SequenceModel (the candidates come from it), or use 0");
            OptionChecks.Check(c, options.NumberOfThreads is null || options.NumberOfThreads >= 1, nameof(options.NumberOfThreads), options.NumberOfThreads, "use null (all cores) or 1 or more");
            SideLayouts(options);
        }

        /// <summary>The layouts of the side information (checked against their schemas).</summary>
        internal static (SideLayout User, SideLayout Item) SideLayouts(Options options) =>
            (options.UserSideInformation is null ? SideLayout.Empty : SideLayout.FromSchema(options.UserSideInformation.Schema, options.UserColumnName, "User.", ComponentName + ".UserSideInformation"),
             options.ItemSideInformation is null ? SideLayout.Empty : SideLayout.FromSchema(options.ItemSideInformation.Schema, options.ItemColumnName, "Item.", ComponentName + ".ItemSideInformation"));

        /// <summary>The feature vector's slot names for <paramref name="options"/>, known before training (see <see cref="RecommendationFeaturizer.SlotNames"/>).</summary>
        internal static string[] SlotNames(Options options)
        {
            var (user, item) = SideLayouts(options);
            return RecommendationFeatureSlots.Names
                .Concat(user.Columns.SelectMany(c => c.SlotNames))
                .Concat(item.Columns.SelectMany(c => c.SlotNames))
                .Concat(item.Columns.Where(c => c.IsCategorical).Select(c => $"UserAffinity.{c.Name}"))
                .Concat(options.UserSideInformation is null || options.ItemSideInformation is null ? Array.Empty<string>() : SideCrosses.SlotNames(user, item))
                .Concat(options.SequenceModel is null ? Array.Empty<string>() : RecommendationFeaturizer.SequenceSlotNames)
                .ToArray();
        }

        /// <summary>Reads the interactions, trains the embeddings and counts, and returns the feature transformer.</summary>
        public RecommendationFeaturesTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.Seed ?? _options.Item2Vec.Seed ?? host.Rand.Next();
            var sequences = UserSequence.Read(input, _options.UserColumnName, _options.ItemColumnName, _options.TimestampColumnName);
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(_context, ComponentName);
            var featurizer = Train(_context, sequences, _options, seed, cancellation.Token);
            return new RecommendationFeaturesTransformer(featurizer, _options.UserColumnName, _options.ItemColumnName, _options.FeaturesColumnName);
        }

        /// <summary>The input's columns and the feature vector column.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            _options.CheckInput(inputSchema, ComponentName);
            var names = SlotNames(_options);
            return SchemaChecks.Append(inputSchema, new[] { (_options.FeaturesColumnName, (DataViewType)RecommendationFeatureSlots.VectorType(names.Length), (DataViewSchema.Annotations?)RecommendationFeatureSlots.Annotations(names)) });
        }

        /// <summary>Trains the feature state on users' time-ordered item sequences.</summary>
        internal static RecommendationFeaturizer Train(MLContext context, IReadOnlyList<UserSequence> sequences, Options options, int seed, CancellationToken cancellation)
        {
            var itemSet = new HashSet<string>(StringComparer.Ordinal);
            foreach (var sequence in sequences)
                itemSet.UnionWith(sequence.Items);
            if (itemSet.Count == 0)
                throw new InvalidOperationException($"{ComponentName}: the interactions have no items; there is nothing to learn.");
            var catalog = itemSet.OrderBy(i => i, IdComparer.Instance).ToArray();
            var itemIndex = new Dictionary<string, int>(catalog.Length, StringComparer.Ordinal);
            for (int i = 0; i < catalog.Length; i++)
                itemIndex[catalog[i]] = i;
            var users = sequences.Select(s => s.User).ToArray();
            var histories = sequences.Select(s => s.Items.Select(i => itemIndex[i]).ToArray()).ToArray();
            var times = sequences.Select(s => s.Times.ToArray()).ToArray();

            // item2vec and node2vec through their public estimators, as a user would train them.
            var skipGram = options.Item2Vec.Clone();
            skipGram.Seed = seed;
            skipGram.NumberOfThreads = options.NumberOfThreads ?? skipGram.NumberOfThreads;
            skipGram.CancellationToken = cancellation;
            var item2VecModel = context.Embeddings().SkipGram(skipGram).Fit(sequences.Select(s => s.Items));
            var item2Vec = CatalogVectors.Create(catalog, item2VecModel.Embeddings, item2VecModel.ContextEmbeddings!);

            CatalogVectors? node2Vec = null;
            if (options.ItemGraph.Enabled)
            {
                // The item transition graph: an edge from each item to the next one of a user's history.
                var transitions = new List<Transition>();
                foreach (var (_, items, _) in sequences)
                {
                    for (int t = 1; t < items.Count; t++)
                        transitions.Add(new Transition { From = items[t - 1], To = items[t] });
                }
                if (transitions.Count > 0)
                {
                    var graph = options.ItemGraph.Node2VecOptions(nameof(Transition.From), nameof(Transition.To), options.NumberOfThreads, seed, cancellation);
                    var graphModel = context.Embeddings().Node2Vec(graph).Fit(context.Data.LoadFromEnumerable(transitions));
                    node2Vec = CatalogVectors.Create(catalog, graphModel.SourceEmbeddings, graphModel.ContextEmbeddings!);
                }
            }
            var (userLayout, itemLayout) = SideLayouts(options);
            var userSide = options.UserSideInformation is null ? null : SideTable.Read(options.UserSideInformation, options.UserColumnName, userLayout, users);
            var itemSide = options.ItemSideInformation is null ? null : SideTable.Read(options.ItemSideInformation, options.ItemColumnName, itemLayout, catalog);
            var sequenceModel = options.SequenceModel is null ? null : SequenceFeatureModel.Train(catalog, users, histories, options.SequenceModel, seed, options.NumberOfThreads, cancellation);
            return new RecommendationFeaturizer(RecommendationFeatureState.Create(catalog, users, histories, times, item2Vec, node2Vec, options.Features.Clone(), userSide, itemSide, sequenceModel));
        }

        /// <summary>An edge of the item transition graph.</summary>
        private sealed class Transition
        {
            public string From { get; set; } = "";

            public string To { get; set; } = "";
        }
    }

    /// <summary>
    /// Maps (user, item) rows to the ranking feature vector (Vector&lt;Single&gt;, one slot per <see cref="RecommendationFeature"/>,
    /// named by the <c>SlotNames</c> annotation): item2vec and node2vec logits and cosines, popularity, user activity,
    /// transitions, co-occurrences, time and the blend score. Unknown users or items get zeros for the features that need
    /// them, never an exception.
    /// </summary>
    public sealed class RecommendationFeaturesTransformer : RowMappingTransformer, ILoadableTransformer<RecommendationFeaturesTransformer>
    {
        private readonly string _userColumn;
        private readonly string _itemColumn;
        private readonly string _featuresColumn;

        internal RecommendationFeaturesTransformer(RecommendationFeaturizer featurizer, string userColumn, string itemColumn, string featuresColumn)
        {
            Featurizer = featurizer;
            _userColumn = userColumn;
            _itemColumn = itemColumn;
            _featuresColumn = featuresColumn;
        }

        internal RecommendationFeaturizer Featurizer { get; }

        /// <summary>The names of the fixed features, in vector order: the names of the <see cref="RecommendationFeature"/> members, the first slot names of the feature column.</summary>
        public static IReadOnlyList<string> FeatureNames => RecommendationFeatureSlots.Names;

        /// <summary>Every slot name of this transformer's feature column: the fixed features, then the side information, the user-affinity and cross slots, and the sequence model's slots.</summary>
        public IReadOnlyList<string> SlotNames => Featurizer.SlotNames;

        /// <summary>The item catalog (every training item), in id order.</summary>
        public IReadOnlyList<string> Items => Featurizer.Items;

        /// <summary>The users seen in training.</summary>
        public IReadOnlyList<string> Users => Featurizer.Users;

        /// <summary>item2vec input vectors of the catalog's items (items without a vector are left out).</summary>
        public EmbeddingTable ItemEmbeddings => Featurizer.Item2VecTable(context: false);

        /// <summary>item2vec context (output) vectors: a user's mean input vector dotted with them is the logit feature.</summary>
        public EmbeddingTable ItemContextEmbeddings => Featurizer.Item2VecTable(context: true);

        /// <summary>node2vec vectors of the item transition graph; null when it was disabled.</summary>
        public EmbeddingTable? ItemGraphEmbeddings => Featurizer.Node2VecTable();

        /// <summary>The user column read.</summary>
        public string UserColumnName => _userColumn;

        /// <summary>The item column read.</summary>
        public string ItemColumnName => _itemColumn;

        /// <summary>The feature column written.</summary>
        public string FeaturesColumnName => _featuresColumn;

        /// <summary>
        /// The recall layer's candidates: the <paramref name="count"/> items <paramref name="user"/> has not
        /// interacted with that score best by the blend (standardised item2vec logit + log transitions from the last items +
        /// weighted log co-occurrence with the recent items), best first, ties by item id; then, when the settings ask for
        /// them (<see cref="RecommendationFeatureSettings.SequenceCandidateCount"/>, <see cref="RecommendationFeatureSettings.Item2VecCandidateCount"/>),
        /// the sequence model's and the item2vec logit's top items not already in. Score is the blend score, Rank the
        /// position in this list. Empty for an unknown user.
        /// </summary>
        public IReadOnlyList<Candidate> RecallCandidates(string user, int count)
        {
            ArgumentNullException.ThrowIfNull(user);
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1 (100 is a usual recall depth).");
            int u = Featurizer.UserIndex(user);
            if (u < 0)
                return Array.Empty<Candidate>();
            int n = Featurizer.Items.Count;
            float[] scores = new float[n], a = new float[n], b = new float[n];
            var items = RankingStage.Candidates(Featurizer, u, count, scores, a, b, Featurizer.CreateScratch(), new bool[n]);
            return items.Select((item, k) => new Candidate(user, Featurizer.Items[item], scores[item], k + 1)).ToArray();
        }

        /// <summary>
        /// <see cref="RecallCandidates"/> of every user in <paramref name="users"/> as rows: User, Item (Text), Score (the
        /// blend), Rank (Single) and GroupId (Key&lt;UInt32&gt;, one group per user in the order given). Apply this
        /// transformer to them for the features, then an ML.NET ranker with <c>rowGroupColumnName: "GroupId"</c>.
        /// </summary>
        public IDataView CandidateRows(MLContext mlContext, IEnumerable<string> users, int count)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            ArgumentNullException.ThrowIfNull(users);
            return Recommendation.CandidateRows.ToDataView(mlContext, users.Select(user => RecallCandidates(user, count)).ToList());
        }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            const string c = RecommendationFeaturesEstimator.ComponentName;
            var user = IdColumns.CheckId(inputSchema, _userColumn, c);
            var item = IdColumns.CheckId(inputSchema, _itemColumn, c);
            var featurizer = Featurizer;
            var type = featurizer.VectorType();
            int count = featurizer.FeatureCount;
            Func<DataViewRow, Delegate> factory = row =>
            {
                var readUser = IndexGetter(row, user, featurizer.UserIndex);
                var readItem = IndexGetter(row, item, featurizer.ItemIndex);
                var scratch = featurizer.CreateFeatureScratch();
                return (ValueGetter<VBuffer<float>>)((ref VBuffer<float> destination) =>
                {
                    var editor = VBufferEditor.Create(ref destination, count);
                    featurizer.Compute(readUser(), readItem(), editor.Values, scratch);
                    destination = editor.Commit();
                });
            };
            return new[] { new AppendedColumn(_featuresColumn, type, new[] { user.Index, item.Index }.Distinct().ToArray(), factory, featurizer.Annotations()) };
        }

        /// <summary>A reader of the current row's id as an index by <paramref name="lookup"/> (-1 when missing or unknown); no allocation per row.</summary>
        private static Func<int> IndexGetter(DataViewRow row, DataViewSchema.Column column, IdLookup lookup)
        {
            var read = IdColumns.GetIdGetter(row, column);
            return () =>
            {
                var text = read();
                return text.IsEmpty ? -1 : lookup(text);
            };
        }

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<RecommendationFeaturesTransformer>.LoaderId => "Embeddings.RecommendationFeatures";

        // Version 2: the feature state may hold side information (RecommendationFeatureState format 2); version 3: a
        // sequence model and the union recall counts (format 3). Versions 1 and 2 still load.
        static int ILoadableTransformer<RecommendationFeaturesTransformer>.StateVersion => 3;

        static IReadOnlyList<string> ILoadableTransformer<RecommendationFeaturesTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.Recommendation.RecommendationFeaturesTransformer, Embeddings.Recommendation"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write(_userColumn);
            writer.Write(_itemColumn);
            writer.Write(_featuresColumn);
            Featurizer.Write(writer);
        }

        static RecommendationFeaturesTransformer ILoadableTransformer<RecommendationFeaturesTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            string user = reader.ReadString(), item = reader.ReadString(), features = reader.ReadString();
            return new RecommendationFeaturesTransformer(RecommendationFeaturizer.Read(reader), user, item, features);
        }
    }

    /// <summary>One user's interactions in time order (ties by item id), with their times.</summary>
    internal sealed record UserSequence(string User, IReadOnlyList<string> Items, IReadOnlyList<double> Times)
    {
        /// <summary>The sequence without its last <paramref name="count"/> interactions.</summary>
        public UserSequence DropLast(int count) =>
            new(User, Items.Take(Math.Max(0, Items.Count - count)).ToArray(), Times.Take(Math.Max(0, Times.Count - count)).ToArray());

        public static List<UserSequence> Read(IDataView input, string userColumn, string itemColumn, string? timestampColumn) =>
            InteractionSequences.Read(input, userColumn, itemColumn, timestampColumn)
                .Select(s => new UserSequence(s.User, s.Items, s.Times)).ToList();

        public static List<UserSequence> FromSplit(LeaveLastOutSplit split, RankingTarget target) =>
            split.AllUsers.Select(user =>
            {
                int keep = split.Training(user, target).Count;
                return new UserSequence(user, split.Interactions(user).Take(keep).ToArray(), split.InteractionTimes(user).Take(keep).Select(t => (double)t).ToArray());
            }).Where(s => s.Items.Count > 0).ToList();
    }

    /// <summary>Looks an id up: its index, or -1 when unknown.</summary>
    internal delegate int IdLookup(ReadOnlySpan<char> id);
}
