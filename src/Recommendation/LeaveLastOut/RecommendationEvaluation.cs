using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;

namespace Embeddings.Recommendation
{
    /// <summary>HR@10 and NDCG@10 of every model of a recommendation evaluation on one split.</summary>
    /// <param name="Target">Validation or test.</param>
    /// <param name="Models">Model name (popularity, item2vec, node2vec, mf, youtube, gru, sasrec, blend, ranker) to its metrics.</param>
    /// <param name="Seconds">Wall-clock seconds of the split (training and ranking).</param>
    public sealed record RecommendationSplitResult(RankingTarget Target, IReadOnlyDictionary<string, LeaveLastOutMetrics> Models, double Seconds)
    {
        /// <summary>The epoch count each sequence recall model (youtube, gru) was trained for, chosen by validation HR@10; empty without them.</summary>
        public IReadOnlyDictionary<string, int> ChosenEpochs { get; init; } = new Dictionary<string, int>();

        /// <summary>
        /// How many targets each recall source of the ranker finds: per source (blend, item2vec, and "sequence" when the
        /// ranker's features have a sequence model), the fraction of users whose target is among the source's top 100 and top
        /// 200 unseen items; and "union", the fraction whose target is among the ranker's candidates (at its settings). The
        /// ranker cannot place a target that is not among its candidates, so the union's recall caps its hit rate.
        /// </summary>
        public IReadOnlyList<CandidateRecall> Recall { get; init; } = Array.Empty<CandidateRecall>();
    }

    /// <summary>Recall of a candidate source over the users with targets.</summary>
    /// <param name="Source">blend, item2vec, sequence or union.</param>
    /// <param name="At100">Fraction of targets among the source's top 100 unseen items (the union: among the ranker's candidates).</param>
    /// <param name="At200">Fraction among the top 200 (the union: as <paramref name="At100"/>).</param>
    /// <param name="MeanCandidates">The union's mean candidates per user; NaN for a single source.</param>
    public sealed record CandidateRecall(string Source, double At100, double At200, double MeanCandidates);

    /// <summary>
    /// The "youtube", "gru" and "sasrec" models of <see cref="RecommendationEvaluation"/>: <see cref="SequenceRecallEstimator"/> with
    /// mean pooling (YouTube DNN), with a GRU and with self-attention (SASRec-style), trained on next-item prediction over each user's training interactions and
    /// scored by the model applied to the user's last training items. The epoch count is chosen by validation HR@10 (up to
    /// <see cref="MaximumEpochs"/>; trained on all but the last two interactions) and then used for test. A validation
    /// evaluation records its choice in <see cref="ChosenEpochs"/>; a test evaluation uses it, or makes the choice itself
    /// when it is missing.
    /// </summary>
    public sealed class SequenceRecallEvaluation
    {
        /// <summary>Evaluate the mean-pooling model ("youtube"). Default true.</summary>
        public bool MeanPooling { get; set; } = true;

        /// <summary>Evaluate the GRU model ("gru"). Default true.</summary>
        public bool Gru { get; set; } = true;

        /// <summary>
        /// Evaluate the self-attention model ("sasrec"). Default false. <see cref="Options"/>' AttentionBlocks, AttentionHeads,
        /// DropoutRate and TrainingMode are its settings (the other models are trained without them, with NextItem), as are
        /// <see cref="SelfAttentionHistoryLength"/> and <see cref="SelfAttentionBatchSize"/>.
        /// </summary>
        public bool SelfAttention { get; set; }

        /// <summary>
        /// The self-attention model's HistoryLength (the window with TrainingMode = CausalWindows); null (default):
        /// <see cref="Options"/>' value, which the other models use.
        /// </summary>
        public int? SelfAttentionHistoryLength { get; set; }

        /// <summary>The self-attention model's BatchSize (windows with causal windows); null (default): <see cref="Options"/>' value, which the other models use.</summary>
        public int? SelfAttentionBatchSize { get; set; }

        /// <summary>The most epochs tried on validation. Default 12; 1 to 1000.</summary>
        public int MaximumEpochs { get; set; } = 12;

        /// <summary>Model settings (dimension 64, history 20, batch 256, Adam 0.001 by default); the columns, architecture, epochs and seed are set by the evaluation.</summary>
        public SequenceRecallEstimator.Options Options { get; set; } = new();

        /// <summary>The epoch count chosen on validation for each model name ("youtube", "gru"), filled by validation evaluations and read by test evaluations.</summary>
        public Dictionary<string, int> ChosenEpochs { get; } = new(StringComparer.Ordinal);

        /// <summary>Throws when <see cref="MaximumEpochs"/> is out of range.</summary>
        /// <exception cref="ArgumentOutOfRangeException">MaximumEpochs is not 1 to 1000.</exception>
        public void Validate() =>
            Infrastructure.OptionChecks.Check(nameof(SequenceRecallEvaluation), MaximumEpochs is >= 1 and <= 1000, nameof(MaximumEpochs), MaximumEpochs, "use 1 to 1000 (12 is usual on ml-100k)");
    }

    /// <summary>
    /// The "mf" model of <see cref="RecommendationEvaluation"/>: implicit weighted ALS
    /// (<see cref="MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass"/>) over each user's training
    /// interactions, scored by user . item factors. An interaction's label (its confidence is 1 + Alpha x label) is
    /// 1 + <see cref="RecencyBoost"/> x 0.5^(age / <see cref="RecencyHalfLife"/>), where age counts the user's later
    /// training interactions: recent interactions say more about the next one.
    /// </summary>
    public sealed class ImplicitMatrixFactorization
    {
        /// <summary>
        /// Factorization settings; the column names and the loss are set by the evaluation. Defaults here: rank 64,
        /// 15 iterations, Alpha 5, Lambda 30 (chosen on the ml-100k validation split).
        /// </summary>
        public MatrixFactorizationEstimator.Options Options { get; set; } = new()
        {
            LossFunction = MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass,
            ApproximationRank = 64,
            NumberOfIterations = 15,
            Alpha = 5,
            Lambda = 30,
        };

        /// <summary>Half-life of the recency weight, in interactions. Default 3 (chosen on the ml-100k validation split); 0 turns the weighting off (every label 1).</summary>
        public double RecencyHalfLife { get; set; } = 3;

        /// <summary>Extra label of the most recent interaction. Default 4; 0 or more.</summary>
        public double RecencyBoost { get; set; } = 4;

        /// <summary>Throws when the recency settings are not finite and 0 or more.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A recency setting is negative or not finite.</exception>
        public void Validate()
        {
            if (!(RecencyHalfLife >= 0) || !(RecencyBoost >= 0) || double.IsInfinity(RecencyHalfLife) || double.IsInfinity(RecencyBoost))
                throw new ArgumentOutOfRangeException(nameof(RecencyHalfLife), $"ImplicitMatrixFactorization: RecencyHalfLife = {RecencyHalfLife} and RecencyBoost = {RecencyBoost} must be finite and 0 or more (3 and 4 are the defaults; half-life 0 turns the weighting off).");
        }

        /// <summary>The strength of an event with <paramref name="age"/> later events of the same user: 1 + boost x 0.5^(age / half-life); 1 when the half-life is 0.</summary>
        /// <param name="age">How many later events the user has.</param>
        /// <param name="halfLife">The half-life in events; 0 turns the weighting off.</param>
        /// <param name="boost">The extra strength of the most recent event.</param>
        public static float RecencyWeight(int age, double halfLife, double boost) =>
            halfLife == 0 ? 1 : (float)(1 + boost * Math.Pow(0.5, age / halfLife));
    }

    /// <summary>
    /// Runs the whole recommendation pipeline under the leave-last-out protocol (docs/evaluation-protocols.md: full
    /// ranking over every unseen item): popularity; item2vec scored by the input-output logit; node2vec (item transition
    /// graph) scored by its input-output logit; implicit matrix factorization; the blend of logit, transitions and
    /// co-occurrence; and the ranker ("ranker"). With a sequence model in the options (<see cref="RankingRecommenderOptions.SequenceModel"/>),
    /// "ranker-seq" is the ranker with its features and union recall, and "ranker" the ranker of the same period states
    /// without them (a paired comparison: the same item2vec, node2vec and counts). For the held-out item at position -h (h = 1 test, 2 validation), the features are
    /// trained on all interactions before it and the ranker on the interactions at -(h + 1), -(h + 2), ... (one per
    /// label period), each with features from those before it, so the target is never seen in training.
    /// Items outside a user's ranker candidates rank after all candidates.
    /// </summary>
    public static class RecommendationEvaluation
    {
        /// <summary>The model names, in report order.</summary>
        public static IReadOnlyList<string> ModelNames { get; } = new[] { "popularity", "item2vec", "node2vec", "mf", "youtube", "gru", "sasrec", "blend", "ranker", "ranker-seq" };

        /// <summary>Evaluates every model on <paramref name="target"/>.</summary>
        /// <param name="mlContext">The context (its seed is used when <paramref name="options"/> has none).</param>
        /// <param name="split">The leave-last-out split.</param>
        /// <param name="target">Validation (tuning) or test (report once).</param>
        /// <param name="options">Pipeline settings; the column names are not used (the split supplies the sequences).</param>
        /// <param name="log">Progress messages; null for none.</param>
        /// <param name="matrixFactorization">Settings of an "mf" model (implicit ALS over the training interactions); null leaves it out.</param>
        /// <param name="sequenceRecall">Settings of the "youtube", "gru" and "sasrec" models (sequence recall); null leaves them out.</param>
        public static RecommendationSplitResult Evaluate(MLContext mlContext, LeaveLastOutSplit split, RankingTarget target, RankingRecommenderOptions options,
            Action<string>? log = null, ImplicitMatrixFactorization? matrixFactorization = null, SequenceRecallEvaluation? sequenceRecall = null)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            ArgumentNullException.ThrowIfNull(split);
            ArgumentNullException.ThrowIfNull(options);
            var settings = WithColumns(options);
            settings.Validate();
            int seed = options.Seed ?? ((Microsoft.ML.Runtime.IHostEnvironment)mlContext).Register("RecommendationEvaluation").Rand.Next();
            var watch = Stopwatch.StartNew();
            int holdout = target == RankingTarget.Test ? 1 : 2;
            var training = UserSequence.FromSplit(split, target);

            // The ranker learns from the interaction just before the target.
            using var cancellation = Infrastructure.ContextCancellation.Watch(mlContext, nameof(RecommendationEvaluation));
            var (ranker, plainRanker) = RankingStage.TrainRankers(mlContext, training, holdout: 1, settings, seed, log, cancellation.Token, withoutSequence: true);
            var featurizer = RecommendationFeaturesEstimator.Train(mlContext, training, settings.FeatureOptions(RankingRecommenderEstimator.FeaturesColumn), seed, cancellation.Token);
            var model = new RankingRecommenderTransformer(new RecommendationFeaturesTransformer(featurizer, "User", "Item", RankingRecommenderEstimator.FeaturesColumn), ranker, settings.CandidateCount);
            var plainModel = plainRanker is null ? null : new RankingRecommenderTransformer(
                new RecommendationFeaturesTransformer(new RecommendationFeaturizer(featurizer.State.WithoutSequence()), "User", "Item", RankingRecommenderEstimator.FeaturesColumn), plainRanker, settings.CandidateCount);

            var itemIndex = new int[split.Items.Count];
            for (int i = 0; i < itemIndex.Length; i++)
                itemIndex[i] = featurizer.ItemIndex(split.Items[i]);
            var results = new Dictionary<string, LeaveLastOutMetrics>(StringComparer.Ordinal)
            {
                ["popularity"] = LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.Popularity(split, target)),
            };
            int n = featurizer.Items.Count;
            float[] local = new float[n], a = new float[n], b = new float[n], scratch = featurizer.CreateScratch();
            LeaveLastOutEvaluator.UserScorer Scorer(Action<int, float[]> score) => (user, scores) =>
            {
                int u = featurizer.UserIndex(user);
                if (u < 0)
                    return;
                score(u, local);
                for (int i = 0; i < itemIndex.Length; i++)
                {
                    if (itemIndex[i] >= 0)
                        scores[i] = local[itemIndex[i]];
                }
            };
            results["item2vec"] = LeaveLastOutEvaluator.Evaluate(split, target, Scorer((u, s) => featurizer.LogitScores(u, node2Vec: false, s, scratch)));
            if (featurizer.HasNode2Vec)
                results["node2vec"] = LeaveLastOutEvaluator.Evaluate(split, target, Scorer((u, s) => featurizer.LogitScores(u, node2Vec: true, s, scratch)));
            if (matrixFactorization is not null)
                results["mf"] = MatrixFactorization(mlContext, split, target, training, matrixFactorization, seed);
            var chosen = new Dictionary<string, int>(StringComparer.Ordinal);
            if (sequenceRecall is not null)
            {
                sequenceRecall.Validate();
                foreach (var (name, architecture, wanted) in new[]
                {
                    ("youtube", SequenceRecallArchitecture.MeanPooling, sequenceRecall.MeanPooling), ("gru", SequenceRecallArchitecture.Gru, sequenceRecall.Gru),
                    ("sasrec", SequenceRecallArchitecture.SelfAttention, sequenceRecall.SelfAttention),
                })
                {
                    if (!wanted)
                        continue;
                    results[name] = SequenceRecall(mlContext, split, target, name, architecture, sequenceRecall, seed, options.NumberOfThreads, log, cancellation.Token, out int epochs);
                    chosen[name] = epochs;
                }
            }
            results["blend"] = LeaveLastOutEvaluator.Evaluate(split, target, Scorer((u, s) => featurizer.BlendScores(u, s, a, b, scratch)));

            var recall = Recall(split, target, featurizer, settings.CandidateCount);
            log?.Invoke($"{target} recall@100/@200: " + string.Join(", ", recall.Select(r => $"{r.Source} {r.At100:F4}/{r.At200:F4}")));
            var position = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < split.Items.Count; i++)
                position[split.Items[i]] = i;
            LeaveLastOutMetrics Ranked(RankingRecommenderTransformer recommender)
            {
                var ranked = RankingStage.ScoreCandidates(mlContext, recommender, split.Users, settings.CandidateCount);
                return LeaveLastOutEvaluator.Evaluate(split, target, (user, scores) =>
                {
                    if (!ranked.TryGetValue(user, out var list))
                        return;
                    foreach (var (item, score) in list)
                        scores[position[item]] = score;
                });
            }
            if (plainModel is null)
            {
                results["ranker"] = Ranked(model);
            }
            else
            {
                results["ranker"] = Ranked(plainModel);
                results["ranker-seq"] = Ranked(model);
            }
            log?.Invoke($"{target}: " + string.Join(", ", results.Select(r => $"{r.Key} {r.Value.HitRate:F4}/{r.Value.Ndcg:F4}")));
            return new RecommendationSplitResult(target, results, watch.Elapsed.TotalSeconds) { ChosenEpochs = chosen, Recall = recall };
        }

        /// <summary>The recall of each candidate source and of the ranker's candidate union (see <see cref="RecommendationSplitResult.Recall"/>).</summary>
        private static List<CandidateRecall> Recall(LeaveLastOutSplit split, RankingTarget target, RecommendationFeaturizer featurizer, int count)
        {
            int n = featurizer.Items.Count;
            float[] scores = new float[n], a = new float[n], b = new float[n], source = new float[n], scratch = featurizer.CreateScratch();
            var seen = new bool[n];
            var sources = new List<(string Name, Action<int, float[]> Score)>
            {
                ("blend", (u, s) => featurizer.BlendScores(u, s, a, b, scratch)),
                ("item2vec", (u, s) => featurizer.LogitScores(u, node2Vec: false, s, scratch)),
            };
            if (featurizer.HasSequenceModel)
                sources.Add(("sequence", (u, s) => featurizer.SequenceScores(u, s)));
            var hits = new int[sources.Count, 2];
            int unionHits = 0;
            long unionSize = 0;
            foreach (string user in split.Users)
            {
                int u = featurizer.UserIndex(user);
                int t = featurizer.ItemIndex(split.Target(user, target));
                if (u < 0 || t < 0)
                    continue;
                var history = featurizer.History(u);
                for (int k = 0; k < sources.Count; k++)
                {
                    sources[k].Score(u, source);
                    foreach (int item in history)
                        seen[item] = true;
                    int rank = EndToEnd.Sequences.SequenceRecallModel.Rank(source, t, seen);
                    foreach (int item in history)
                        seen[item] = false;
                    hits[k, 0] += rank <= 100 ? 1 : 0;
                    hits[k, 1] += rank <= 200 ? 1 : 0;
                }
                var candidates = RankingStage.Candidates(featurizer, u, count, scores, a, b, scratch, seen);
                unionSize += candidates.Length;
                unionHits += Array.IndexOf(candidates, t) >= 0 ? 1 : 0;
            }
            double users = split.Users.Count;
            var result = new List<CandidateRecall>();
            for (int k = 0; k < sources.Count; k++)
                result.Add(new CandidateRecall(sources[k].Name, hits[k, 0] / users, hits[k, 1] / users, double.NaN));
            result.Add(new CandidateRecall("union", unionHits / users, unionHits / users, unionSize / users));
            return result;
        }

        private sealed class SequenceRow
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Time { get; set; }
        }

        /// <summary>A sequence recall model: epochs chosen on validation HR@10 (or taken from an earlier validation run), trained and ranked on <paramref name="target"/>.</summary>
        private static LeaveLastOutMetrics SequenceRecall(MLContext ml, LeaveLastOutSplit split, RankingTarget target, string name, SequenceRecallArchitecture architecture,
            SequenceRecallEvaluation settings, int seed, int? threads, Action<string>? log, System.Threading.CancellationToken token, out int epochs)
        {
            SequenceRecallTransformer Fit(RankingTarget on, int count, bool validate)
            {
                var options = settings.Options.Clone();
                options.UserColumnName = "User";
                options.ItemColumnName = "Item";
                options.TimestampColumnName = "Time";
                options.Architecture = architecture;
                if (architecture != SequenceRecallArchitecture.SelfAttention)
                {
                    options.AttentionBlocks = options.AttentionHeads = null;
                    options.DropoutRate = null;
                    options.TrainingMode = SequenceRecallTrainingMode.NextItem;
                }
                else
                {
                    options.HistoryLength = settings.SelfAttentionHistoryLength ?? options.HistoryLength;
                    options.BatchSize = settings.SelfAttentionBatchSize ?? options.BatchSize;
                }
                options.NumberOfEpochs = count;
                options.Seed ??= seed;
                options.NumberOfThreads ??= threads;
                options.CancellationToken = token;
                var rows = split.TrainingSequences(on).SelectMany(s => s.Items.Select((item, t) => new SequenceRow { User = s.User, Item = item, Time = t }));
                var validation = validate ? ml.Data.LoadFromEnumerable(split.Users.Select(u => new SequenceRow { User = u, Item = split.Target(u, on) })) : null;
                return ml.Embeddings().SequenceRecall(options).Fit(ml.Data.LoadFromEnumerable(rows), validation);
            }

            SequenceRecallTransformer? model = null;
            if (target == RankingTarget.Validation || !settings.ChosenEpochs.TryGetValue(name, out epochs))
            {
                model = Fit(RankingTarget.Validation, settings.MaximumEpochs, validate: true);
                epochs = model.TrainingSummary!.BestEpoch;
                settings.ChosenEpochs[name] = epochs;
                log?.Invoke($"{name}: validation HR@10 by epoch " + string.Join(" ", model.TrainingSummary.Epochs.Select(e => e.ValidationHitRate.ToString("F4", System.Globalization.CultureInfo.InvariantCulture))) + $"; {epochs} chosen");
            }
            if (target == RankingTarget.Test)
                model = Fit(RankingTarget.Test, epochs, validate: false);
            var trained = model!;
            var position = new int[trained.ItemEmbeddings.Count];
            var itemIndex = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < split.Items.Count; i++)
                itemIndex[split.Items[i]] = i;
            for (int i = 0; i < position.Length; i++)
                position[i] = itemIndex[trained.ItemEmbeddings.Keys[i]];
            var local = new float[position.Length];
            return LeaveLastOutEvaluator.Evaluate(split, target, (user, scores) =>
            {
                trained.Score(split.Training(user, target), local);
                for (int i = 0; i < position.Length; i++)
                    scores[position[i]] = local[i];
            });
        }

        private sealed class MatrixRow
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        /// <summary>Implicit matrix factorization of the training interactions, scored by user . item factors.</summary>
        private static LeaveLastOutMetrics MatrixFactorization(MLContext ml, LeaveLastOutSplit split, RankingTarget target, List<UserSequence> training, ImplicitMatrixFactorization mf, int seed)
        {
            mf.Validate();
            var settings = mf.Options;
            var rows = training.SelectMany(s => s.Items.Select((item, t) => new MatrixRow { User = s.User, Item = item, Label = ImplicitMatrixFactorization.RecencyWeight(s.Items.Count - 1 - t, mf.RecencyHalfLife, mf.RecencyBoost) }));
            var data = ml.Data.LoadFromEnumerable(rows);
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(data).Transform(data);
            settings.MatrixColumnIndexColumnName = "UserKey";
            settings.MatrixRowIndexColumnName = "ItemKey";
            settings.LabelColumnName = "Label";
            settings.LossFunction = MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass;
            settings.Seed ??= seed;
            var model = ml.Embeddings().MatrixFactorization(settings).Fit(keyed);
            return LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.DotProduct(split, model.UserFactors, model.ItemFactors));
        }

        private static RankingRecommenderOptions WithColumns(RankingRecommenderOptions o)
        {
            var copy = o.Clone();
            copy.UserColumnName = "User";
            copy.ItemColumnName = "Item";
            copy.TimestampColumnName = null;
            return copy;
        }
    }
}
