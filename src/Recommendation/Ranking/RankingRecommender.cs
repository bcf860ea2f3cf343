using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.ML.Trainers.FastTree;
using Microsoft.ML.Trainers.LightGbm;

namespace Embeddings.Recommendation
{
    /// <summary>The ML.NET ranker of the ranking stage.</summary>
    public enum RankerKind
    {
        /// <summary>LightGBM LambdaRank (Microsoft.ML.LightGbm), optimising NDCG within each user's candidates.</summary>
        LightGbm = 0,

        /// <summary>FastTree LambdaMART ranking (Microsoft.ML.FastTree).</summary>
        FastTree = 1,
    }

    /// <summary>Settings of <see cref="RankingRecommenderEstimator"/>.</summary>
    public sealed class RankingRecommenderOptions : InteractionColumnsOptions
    {
        /// <summary>Output column of the ranker's score. Fixed by ML.NET's rankers: "Score".</summary>
        public string ScoreColumnName => "Score";

        /// <summary>item2vec settings (dimension 64, window 5, MinCount 1, 20 epochs; context vectors kept).</summary>
        public SkipGramEmbeddingEstimator.Options Item2Vec { get; set; } = RecommendationFeaturesEstimator.Options.DefaultItem2Vec();

        /// <summary>node2vec over the item transition graph.</summary>
        public ItemGraphOptions ItemGraph { get; set; } = new();

        /// <summary>History lengths and the blend weights of the candidate recall.</summary>
        public RecommendationFeatureSettings Features { get; set; } = new();

        /// <summary>Candidates per user recalled by the blend score and re-ranked by the ranker. Default 100; 10 to 100,000.</summary>
        public int CandidateCount { get; set; } = 100;

        /// <summary>
        /// Periods of ranker training data: period k labels each user's k-th last interaction, with features trained on
        /// the interactions before it (one feature fit per period). More periods give the ranker more groups. Default 3; 1 to 20.
        /// </summary>
        public int RankerTrainingPeriods { get; set; } = 3;

        /// <summary>The ranker. Default <see cref="RankerKind.LightGbm"/>.</summary>
        public RankerKind Ranker { get; set; } = RankerKind.LightGbm;

        /// <summary>Leaves per tree. Default 8; 2 to 1024.</summary>
        public int NumberOfLeaves { get; set; } = 8;

        /// <summary>Boosting rounds (trees). Default 100; 1 to 10,000.</summary>
        public int NumberOfTrees { get; set; } = 100;

        /// <summary>Shrinkage of each tree. Default 0.05; in (0, 1].</summary>
        public double LearningRate { get; set; } = 0.05;

        /// <summary>Minimum candidate rows in a leaf. Default 100; 1 or more.</summary>
        public int MinimumExampleCountPerLeaf { get; set; } = 100;

        /// <summary>Side information of the users, or null (default); see <see cref="RecommendationFeaturesEstimator.Options.UserSideInformation"/>.</summary>
        public IDataView? UserSideInformation { get; set; }

        /// <summary>
        /// The end-to-end sequence model of the features and the union recall, or null (default) for none; see
        /// <see cref="RecommendationFeaturesEstimator.Options.SequenceModel"/> and
        /// <see cref="RecommendationFeatureSettings.SequenceCandidateCount"/>. Like the other features it is trained once per
        /// ranker label period on the interactions before the labels, and once more on all interactions.
        /// </summary>
        public SequenceRecallEstimator.Options? SequenceModel { get; set; }

        /// <summary>Side information of the items, or null (default); see <see cref="RecommendationFeaturesEstimator.Options.ItemSideInformation"/>.</summary>
        public IDataView? ItemSideInformation { get; set; }

        /// <summary>Seed of every random part (embeddings, ranker); null: the MLContext's random source.</summary>
        public int? Seed { get; set; }

        /// <summary>Threads; null: all cores. With 1 thread and a seed, the model is identical run to run.</summary>
        public int? NumberOfThreads { get; set; }

        /// <summary>The former name of <see cref="NumberOfThreads"/> (ML.NET's name), kept for one release.</summary>
        [Obsolete("Use NumberOfThreads, as ML.NET's trainers name it. ThreadCount will be removed in the next release.")]
        public int? ThreadCount
        {
            get => NumberOfThreads;
            set => NumberOfThreads = value;
        }

        /// <summary>A copy of these options (the nested skip-gram, item graph and feature settings are shared, not copied).</summary>
        public RankingRecommenderOptions Clone() => (RankingRecommenderOptions)MemberwiseClone();

        /// <summary>A copy without the sequence model and its candidates (the feature settings copied).</summary>
        internal RankingRecommenderOptions WithoutSequence()
        {
            var copy = Clone();
            copy.SequenceModel = null;
            copy.Features = Features.Clone();
            copy.Features.SequenceCandidateCount = 0;
            return copy;
        }

        internal RecommendationFeaturesEstimator.Options FeatureOptions(string featuresColumn) => new()
        {
            UserColumnName = UserColumnName,
            ItemColumnName = ItemColumnName,
            TimestampColumnName = TimestampColumnName,
            FeaturesColumnName = featuresColumn,
            Item2Vec = Item2Vec,
            ItemGraph = ItemGraph,
            Features = Features,
            SequenceModel = SequenceModel,
            UserSideInformation = UserSideInformation,
            ItemSideInformation = ItemSideInformation,
            Seed = Seed,
            NumberOfThreads = NumberOfThreads,
        };

        /// <summary>Checks every setting and throws naming the option, its value and the fix.</summary>
        public void Validate()
        {
            const string c = RankingRecommenderEstimator.ComponentName;
            RecommendationFeaturesEstimator.Validate(FeatureOptions("Features"));
            OptionChecks.Check(c, CandidateCount is >= 10 and <= 100_000, nameof(CandidateCount), CandidateCount, "use 10 to 100,000 (100 is usual; the evaluation cuts at 10)");
            OptionChecks.Check(c, RankerTrainingPeriods is >= 1 and <= 20, nameof(RankerTrainingPeriods), RankerTrainingPeriods, "use 1 to 20 (each period adds one feature fit)");
            OptionChecks.Check(c, Enum.IsDefined(Ranker), nameof(Ranker), Ranker, "use LightGbm or FastTree");
            OptionChecks.Check(c, NumberOfLeaves is >= 2 and <= 1024, nameof(NumberOfLeaves), NumberOfLeaves, "use 2 to 1024 (8 is the default)");
            OptionChecks.Check(c, NumberOfTrees is >= 1 and <= 10_000, nameof(NumberOfTrees), NumberOfTrees, "use 1 to 10,000 (100 is the default)");
            OptionChecks.Check(c, LearningRate > 0 && LearningRate <= 1, nameof(LearningRate), LearningRate, "use a value in (0, 1] (0.05 is the default)");
            OptionChecks.Check(c, MinimumExampleCountPerLeaf >= 1, nameof(MinimumExampleCountPerLeaf), MinimumExampleCountPerLeaf, "use 1 or more (100 is the default)");
        }
    }

    /// <summary>
    /// The whole recommender: fits on interaction rows; trains the ranker on each user's last interaction as the label
    /// (features from everything before it, candidates recalled by the blend score), then refits the features on all
    /// interactions. The result scores (user, item) rows (<see cref="RankingRecommenderTransformer"/>) and recommends.
    /// </summary>
    public sealed class RankingRecommenderEstimator : IEstimator<RankingRecommenderTransformer>
    {
        internal const string ComponentName = "RankingRecommender";
        internal const string FeaturesColumn = "Features";
        private readonly MLContext _context;
        private readonly RankingRecommenderOptions _options;

        internal RankingRecommenderEstimator(MLContext context, RankingRecommenderOptions options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();
            _options = options;
        }

        /// <summary>Trains the ranker and the features; see the class summary.</summary>
        public RankingRecommenderTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            GetOutputSchema(Infrastructure.SchemaShapes.FromSchema(input.Schema));
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.Seed ?? host.Rand.Next();
            var sequences = UserSequence.Read(input, _options.UserColumnName, _options.ItemColumnName, _options.TimestampColumnName);
            using var channel = host.Start("Training");
            Action<string> log = message => channel.Info(MessageSensitivity.None, message);
            using var cancellation = Infrastructure.ContextCancellation.Watch(_context, ComponentName);
            var ranker = RankingStage.TrainRanker(_context, sequences, holdout: 1, _options, seed, log, cancellation.Token);
            var features = RecommendationFeaturesEstimator.Train(_context, sequences, _options.FeatureOptions(FeaturesColumn), seed, cancellation.Token);
            return new RankingRecommenderTransformer(new RecommendationFeaturesTransformer(features, _options.UserColumnName, _options.ItemColumnName, FeaturesColumn), ranker, _options.CandidateCount);
        }

        /// <summary>The input's columns, the feature vector and the ranker's Score.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var features = new RecommendationFeaturesEstimator(_context, _options.FeatureOptions(FeaturesColumn)).GetOutputSchema(inputSchema);
            return Infrastructure.SchemaChecks.Append(features, new[] { ("Score", (DataViewType)NumberDataViewType.Single) });
        }
    }

    /// <summary>Candidate recall, ranker training and candidate scoring, shared by the estimator and the evaluation.</summary>
    internal static class RankingStage
    {
        /// <summary>A candidate of a ranker label period: the user, the item, 1 for the label, the user's group and the features.</summary>
        internal sealed class CandidateRow
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
            public uint GroupId { get; set; }

            public float[] Features { get; set; } = Array.Empty<float>();
        }

        /// <summary>
        /// The candidates of <paramref name="user"/> among the unseen items: the top <paramref name="count"/> by the blend
        /// score, best first (ties by item index), then the union's other sources (see <see cref="Candidates(RecommendationFeaturizer, int, string?, int, float[], float[], float[], float[], bool[], RecommendationFilter?)"/>).
        /// </summary>
        public static int[] Candidates(RecommendationFeaturizer featurizer, int user, int count, float[] scores, float[] a, float[] b, float[] scratch, bool[] seen) =>
            Candidates(featurizer, user, null, count, scores, a, b, scratch, seen, null);

        /// <summary>
        /// The candidates of <paramref name="user"/> among the items that <paramref name="filter"/> admits (null: the unseen
        /// items): the top <paramref name="count"/> by the blend score, best first (ties by item index), then the top
        /// <see cref="RecommendationFeatureSettings.SequenceCandidateCount"/> by the sequence model's logit and the top
        /// <see cref="RecommendationFeatureSettings.Item2VecCandidateCount"/> by the item2vec logit that are not already in
        /// (each source's top is taken over all admitted items, so the union holds every source's own top list).
        /// <paramref name="userId"/> is the id the filter's predicate receives. <paramref name="scores"/> receives the blend
        /// scores; <paramref name="a"/> and <paramref name="b"/> are overwritten.
        /// </summary>
        public static int[] Candidates(RecommendationFeaturizer featurizer, int user, string? userId, int count, float[] scores, float[] a, float[] b,
            float[] scratch, bool[] seen, RecommendationFilter? filter)
        {
            featurizer.BlendScores(user, scores, a, b, scratch);
            var history = featurizer.History(user);
            bool excludeSeen = filter?.ExcludeSeen ?? true;
            var settings = featurizer.Settings;
            int sequenceCount = featurizer.HasSequenceModel ? settings.SequenceCandidateCount : 0;
            int item2VecCount = settings.Item2VecCandidateCount;
            if (excludeSeen)
            {
                foreach (int item in history)
                    seen[item] = true;
            }
            var result = new List<int>(count + sequenceCount + item2VecCount);
            try
            {
                Top(scores, count, seen, filter, userId, result);
                if (sequenceCount > 0 || item2VecCount > 0)
                {
                    // Items already taken are marked as seen, so that each further source adds only new items.
                    foreach (int item in result)
                        seen[item] = true;
                    if (sequenceCount > 0)
                    {
                        featurizer.SequenceScores(user, a);
                        Top(a, sequenceCount, seen, filter, userId, result, mark: true);
                    }
                    if (item2VecCount > 0)
                    {
                        featurizer.LogitScores(user, node2Vec: false, b, scratch);
                        Top(b, item2VecCount, seen, filter, userId, result, mark: true);
                    }
                    foreach (int item in result)
                        seen[item] = false;
                }
            }
            finally
            {
                if (excludeSeen)
                {
                    foreach (int item in history)
                        seen[item] = false;
                }
            }
            return result.ToArray();
        }

        /// <summary>
        /// Appends to <paramref name="result"/> the top <paramref name="count"/> items by <paramref name="scores"/> that are
        /// not <paramref name="seen"/> and that <paramref name="filter"/> admits, best first (ties by item index); with
        /// <paramref name="mark"/>, marks them as seen.
        /// </summary>
        private static void Top(float[] scores, int count, bool[] seen, RecommendationFilter? filter, string? userId, List<int> result, bool mark = false)
        {
            var heap = new PriorityQueue<int, (float, int)>(count + 1);
            for (int i = 0; i < scores.Length; i++)
            {
                if (seen[i] || (filter is not null && !filter.Admits(userId!, i)))
                    continue;
                // Min-heap on (score, -index): the root is the worst kept candidate.
                heap.Enqueue(i, (scores[i], -i));
                if (heap.Count > count)
                    heap.Dequeue();
            }
            int first = result.Count;
            while (heap.Count > 0)
                result.Add(heap.Dequeue());
            result.Reverse(first, result.Count - first);
            if (mark)
            {
                for (int k = first; k < result.Count; k++)
                    seen[result[k]] = true;
            }
        }

        /// <summary>
        /// Trains the ranker for predicting each user's next interaction: features and candidates from all but the last
        /// <paramref name="holdout"/> interactions, label = the interaction at position -<paramref name="holdout"/>.
        /// </summary>
        public static ITransformer TrainRanker(MLContext ml, IReadOnlyList<UserSequence> sequences, int holdout,
            RankingRecommenderOptions options, int seed, Action<string>? log, CancellationToken cancellation) =>
            TrainRankers(ml, sequences, holdout, options, seed, log, cancellation, withoutSequence: false).Ranker;

        /// <summary>
        /// <see cref="TrainRanker"/>, and with <paramref name="withoutSequence"/> (and a sequence model in
        /// <paramref name="options"/>) also the ranker of the same features without the sequence model's slots and
        /// candidates, from the same period states (trained once).
        /// </summary>
        public static (ITransformer Ranker, ITransformer? WithoutSequence) TrainRankers(MLContext ml, IReadOnlyList<UserSequence> sequences, int holdout,
            RankingRecommenderOptions options, int seed, Action<string>? log, CancellationToken cancellation, bool withoutSequence)
        {
            bool plain = withoutSequence && options.SequenceModel is not null;
            var rows = new List<CandidateRow>();
            var plainRows = new List<CandidateRow>();
            uint groups = 0, plainGroups = 0;
            long labelsFound = 0, plainLabelsFound = 0;
            for (int period = 0; period < options.RankerTrainingPeriods; period++)
            {
                int cut = holdout + period;
                var (featurizer, labels) = PeriodState(ml, sequences, cut, options, seed + period, cancellation);
                if (featurizer is null)
                {
                    if (period == 0)
                        throw new InvalidOperationException($"{RankingRecommenderEstimator.ComponentName}: no user has more than {holdout} interaction(s); the ranker needs each user's last interaction as a label and at least one before it.");
                    break;
                }
                var periodRows = FeatureRows(ml, featurizer, labels, options.CandidateCount, ref groups, out int positives);
                labelsFound += positives;
                log?.Invoke($"ranker period {period + 1}: {periodRows.Count:N0} candidate rows for {labels.Count:N0} users; the label is among the candidates for {positives:N0}");
                rows.AddRange(periodRows);
                if (plain)
                {
                    var without = new RecommendationFeaturizer(featurizer.State.WithoutSequence());
                    plainRows.AddRange(FeatureRows(ml, without, labels, options.CandidateCount, ref plainGroups, out int plainPositives));
                    plainLabelsFound += plainPositives;
                }
            }
            int featureCount = RecommendationFeaturesEstimator.SlotNames(options.FeatureOptions(RankingRecommenderEstimator.FeaturesColumn)).Length;
            var ranker = FitRanker(ml, rows, groups, featureCount, labelsFound, options, seed);
            if (!plain)
                return (ranker, null);
            var plainOptions = options.WithoutSequence();
            int plainCount = RecommendationFeaturesEstimator.SlotNames(plainOptions.FeatureOptions(RankingRecommenderEstimator.FeaturesColumn)).Length;
            return (ranker, FitRanker(ml, plainRows, plainGroups, plainCount, plainLabelsFound, plainOptions, seed));
        }

        /// <summary>The features of one label period (trained on every sequence without its last <paramref name="cut"/> items) and the labels; null features when no user has more.</summary>
        private static (RecommendationFeaturizer? Featurizer, List<(string User, string Label)> Labels) PeriodState(MLContext ml, IReadOnlyList<UserSequence> sequences, int cut,
            RankingRecommenderOptions options, int seed, CancellationToken cancellation)
        {
            var history = new List<UserSequence>();
            var labels = new List<(string User, string Label)>();
            foreach (var sequence in sequences)
            {
                if (sequence.Items.Count <= cut)
                    continue;
                history.Add(sequence.DropLast(cut));
                labels.Add((sequence.User, sequence.Items[sequence.Items.Count - cut]));
            }
            if (labels.Count == 0)
                return (null, labels);
            return (RecommendationFeaturesEstimator.Train(ml, history, options.FeatureOptions(RankingRecommenderEstimator.FeaturesColumn), seed, cancellation), labels);
        }

        /// <summary>The candidate rows of <paramref name="labels"/>' users with their features, computed now with <paramref name="featurizer"/>.</summary>
        private static List<CandidateRow> FeatureRows(MLContext ml, RecommendationFeaturizer featurizer, List<(string User, string Label)> labels, int count, ref uint groups, out int positives)
        {
            var features = new RecommendationFeaturesTransformer(featurizer, "User", "Item", RankingRecommenderEstimator.FeaturesColumn);
            var periodRows = CandidateRows(featurizer, labels, count, ref groups, out positives);
            var view = features.Transform(ml.Data.LoadFromEnumerable(periodRows));
            using var cursor = view.GetRowCursor(view.Schema.Where(c => c.Name == RankingRecommenderEstimator.FeaturesColumn));
            var getter = cursor.GetGetter<VBuffer<float>>(view.Schema[RankingRecommenderEstimator.FeaturesColumn]);
            VBuffer<float> buffer = default;
            int k = 0;
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                periodRows[k++].Features = buffer.DenseValues().ToArray();
            }
            return periodRows;
        }

        /// <summary>
        /// The candidate rows of one ranker label period: each user's interaction at position -<paramref name="cut"/> is the
        /// label, the features are trained on the interactions before it (every user's sequence cut there) and computed now,
        /// with this period's state. Null when no user has more than <paramref name="cut"/> interactions.
        /// </summary>
        internal static List<CandidateRow>? PeriodRows(MLContext ml, IReadOnlyList<UserSequence> sequences, int cut, RankingRecommenderOptions options, int seed,
            ref uint groups, out int positives, out int users, CancellationToken cancellation)
        {
            var (featurizer, labels) = PeriodState(ml, sequences, cut, options, seed, cancellation);
            positives = 0;
            users = labels.Count;
            return featurizer is null ? null : FeatureRows(ml, featurizer, labels, options.CandidateCount, ref groups, out positives);
        }

        /// <summary>Fits the ML.NET ranker of <paramref name="options"/> on candidate rows (<paramref name="groups"/> groups of <paramref name="featureCount"/> features).</summary>
        internal static ITransformer FitRanker(MLContext ml, List<CandidateRow> rows, uint groups, int featureCount, long labelsFound, RankingRecommenderOptions options, int seed)
        {
            if (rows.Count == 0)
                throw new InvalidOperationException($"{RankingRecommenderEstimator.ComponentName}: the ranker has no training rows: no user has a candidate item (an item of the other users' histories that the user has not seen). The data need 2 or more users whose items overlap.");
            var schema = SchemaDefinition.Create(typeof(CandidateRow));
            schema[nameof(CandidateRow.GroupId)].ColumnType = new KeyDataViewType(typeof(uint), Math.Max(1, groups));
            schema[nameof(CandidateRow.Features)].ColumnType = RecommendationFeatureSlots.VectorType(featureCount);
            var data = ml.Data.LoadFromEnumerable(rows, schema);
            data = ml.Data.Cache(data, RankingRecommenderEstimator.FeaturesColumn, "Label", "GroupId");
            int threads = options.NumberOfThreads ?? Environment.ProcessorCount;
            IEstimator<ITransformer> trainer = options.Ranker == RankerKind.LightGbm
                ? ml.Ranking.Trainers.LightGbm(new LightGbmRankingTrainer.Options
                {
                    LabelColumnName = "Label",
                    FeatureColumnName = RankingRecommenderEstimator.FeaturesColumn,
                    RowGroupColumnName = "GroupId",
                    NumberOfLeaves = options.NumberOfLeaves,
                    NumberOfIterations = options.NumberOfTrees,
                    LearningRate = options.LearningRate,
                    MinimumExampleCountPerLeaf = options.MinimumExampleCountPerLeaf,
                    NumberOfThreads = threads,
                    Seed = seed,
                    Verbose = false,
                    Silent = true,
                })
                : ml.Ranking.Trainers.FastTree(new FastTreeRankingTrainer.Options
                {
                    LabelColumnName = "Label",
                    FeatureColumnName = RankingRecommenderEstimator.FeaturesColumn,
                    RowGroupColumnName = "GroupId",
                    NumberOfLeaves = options.NumberOfLeaves,
                    NumberOfTrees = options.NumberOfTrees,
                    LearningRate = options.LearningRate,
                    MinimumExampleCountPerLeaf = options.MinimumExampleCountPerLeaf,
                    NumberOfThreads = threads,
                    Seed = seed,
                });
            try
            {
                return trainer.Fit(data);
            }
            catch (ArgumentNullException e)
            {
                // ML.NET fails this way on a tree without a split (LightGBM learns none from too few or too uniform rows).
                throw new InvalidOperationException(
                    $"{RankingRecommenderEstimator.ComponentName}: the {options.Ranker} ranker learned no split from {rows.Count:N0} candidate rows of {groups:N0} users " +
                    $"(the user's next item is among the candidates {labelsFound:N0} times); the data are too few for it (MinimumExampleCountPerLeaf = {options.MinimumExampleCountPerLeaf}). " +
                    "Use more interactions, or lower MinimumExampleCountPerLeaf.", e);
            }
        }

        private static List<CandidateRow> CandidateRows(RecommendationFeaturizer featurizer, List<(string User, string Label)> labels, int count, ref uint group, out int positives)
        {
            int n = featurizer.Items.Count;
            float[] scores = new float[n], a = new float[n], b = new float[n], scratch = featurizer.CreateScratch();
            var seen = new bool[n];
            var rows = new List<CandidateRow>();
            positives = 0;
            foreach (var (user, label) in labels)
            {
                int u = featurizer.UserIndex(user);
                if (u < 0)
                    continue;
                int target = featurizer.ItemIndex(label);
                foreach (int item in Candidates(featurizer, u, count, scores, a, b, scratch, seen))
                {
                    bool positive = item == target;
                    positives += positive ? 1 : 0;
                    // LoadFromEnumerable stores a key field as a 0-based index.
                    rows.Add(new CandidateRow { User = user, Item = featurizer.Items[item], Label = positive ? 1 : 0, GroupId = group });
                }
                group++;
            }
            return rows;
        }

        /// <summary>
        /// For each of <paramref name="users"/>: its <paramref name="count"/> candidates by the blend score, scored by the
        /// whole pipeline (features and ranker, through ML.NET), best first (ties by item id).
        /// </summary>
        public static Dictionary<string, List<(string Item, float Score)>> ScoreCandidates(MLContext ml, RankingRecommenderTransformer model, IEnumerable<string> users, int count)
        {
            var featurizer = model.Features.Featurizer;
            int n = featurizer.Items.Count;
            float[] scores = new float[n], a = new float[n], b = new float[n], scratch = featurizer.CreateScratch();
            var seen = new bool[n];
            var rows = new List<CandidateRow>();
            foreach (string user in users)
            {
                int u = featurizer.UserIndex(user);
                if (u < 0)
                    continue;
                foreach (int item in Candidates(featurizer, u, count, scores, a, b, scratch, seen))
                    rows.Add(new CandidateRow { User = user, Item = featurizer.Items[item] });
            }
            var input = ml.Data.LoadFromEnumerable(rows.Select(r => new UserItem { User = r.User, Item = r.Item }));
            var renamed = Rename(ml, input, model.Features);
            var output = model.Pipeline.Transform(renamed);
            var result = new Dictionary<string, List<(string, float)>>(StringComparer.Ordinal);
            using (var cursor = output.GetRowCursor(output.Schema.Where(c => c.Name == "Score")))
            {
                var score = cursor.GetGetter<float>(output.Schema["Score"]);
                int k = 0;
                float value = 0;
                while (cursor.MoveNext())
                {
                    score(ref value);
                    var row = rows[k++];
                    if (!result.TryGetValue(row.User, out var list))
                        result[row.User] = list = new List<(string, float)>();
                    list.Add((row.Item, value));
                }
            }
            foreach (var list in result.Values)
                list.Sort((x, y) => y.Item2 != x.Item2 ? y.Item2.CompareTo(x.Item2) : IdComparer.Instance.Compare(x.Item1, y.Item1));
            return result;
        }

        /// <summary>Copies the User/Item columns to the names the feature transformer reads, when they differ.</summary>
        private static IDataView Rename(MLContext ml, IDataView input, RecommendationFeaturesTransformer features)
        {
            if (features.UserColumnName != "User")
                input = ml.Transforms.CopyColumns(features.UserColumnName, "User").Fit(input).Transform(input);
            if (features.ItemColumnName != "Item")
                input = ml.Transforms.CopyColumns(features.ItemColumnName, "Item").Fit(input).Transform(input);
            return input;
        }

        private sealed class UserItem
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
        }
    }
}
