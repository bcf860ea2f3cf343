using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;

namespace Embeddings.Recommendation
{
    /// <summary>HR@10 and NDCG@10 of every model of a recommendation evaluation on one split.</summary>
    /// <param name="Target">Validation or test.</param>
    /// <param name="Models">Model name (popularity, item2vec, node2vec, blend, ranker) to its metrics.</param>
    /// <param name="Seconds">Wall-clock seconds of the split (training and ranking).</param>
    public sealed record RecommendationSplitResult(RankingTarget Target, IReadOnlyDictionary<string, LeaveLastOutMetrics> Models, double Seconds);

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
    /// co-occurrence; and the ranker. For the held-out item at position -h (h = 1 test, 2 validation), the features are
    /// trained on all interactions before it and the ranker on the interactions at -(h + 1), -(h + 2), ... (one per
    /// label period), each with features from those before it, so the target is never seen in training.
    /// Items outside a user's ranker candidates rank after all candidates.
    /// </summary>
    public static class RecommendationEvaluation
    {
        /// <summary>The model names, in report order.</summary>
        public static IReadOnlyList<string> ModelNames { get; } = new[] { "popularity", "item2vec", "node2vec", "mf", "blend", "ranker" };

        /// <summary>Evaluates every model on <paramref name="target"/>.</summary>
        /// <param name="mlContext">The context (its seed is used when <paramref name="options"/> has none).</param>
        /// <param name="split">The leave-last-out split.</param>
        /// <param name="target">Validation (tuning) or test (report once).</param>
        /// <param name="options">Pipeline settings; the column names are not used (the split supplies the sequences).</param>
        /// <param name="log">Progress messages; null for none.</param>
        /// <param name="matrixFactorization">Settings of an "mf" model (implicit ALS over the training interactions); null leaves it out.</param>
        public static RecommendationSplitResult Evaluate(MLContext mlContext, LeaveLastOutSplit split, RankingTarget target, RankingRecommenderOptions options,
            Action<string>? log = null, ImplicitMatrixFactorization? matrixFactorization = null)
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
            var ranker = RankingStage.TrainRanker(mlContext, training, holdout: 1, settings, seed, log, cancellation.Token);
            var featurizer = RecommendationFeaturesEstimator.Train(mlContext, training, settings.FeatureOptions(RankingRecommenderEstimator.FeaturesColumn), seed, cancellation.Token);
            var model = new RankingRecommenderTransformer(new RecommendationFeaturesTransformer(featurizer, "User", "Item", RankingRecommenderEstimator.FeaturesColumn), ranker, settings.CandidateCount);

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
            results["blend"] = LeaveLastOutEvaluator.Evaluate(split, target, Scorer((u, s) => featurizer.BlendScores(u, s, a, b, scratch)));

            var ranked = RankingStage.ScoreCandidates(mlContext, model, split.Users, settings.CandidateCount);
            var position = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < split.Items.Count; i++)
                position[split.Items[i]] = i;
            results["ranker"] = LeaveLastOutEvaluator.Evaluate(split, target, (user, scores) =>
            {
                if (!ranked.TryGetValue(user, out var list))
                    return;
                foreach (var (item, score) in list)
                    scores[position[item]] = score;
            });
            log?.Invoke($"{target}: " + string.Join(", ", results.Select(r => $"{r.Key} {r.Value.HitRate:F4}/{r.Value.Ndcg:F4}")));
            return new RecommendationSplitResult(target, results, watch.Elapsed.TotalSeconds);
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
