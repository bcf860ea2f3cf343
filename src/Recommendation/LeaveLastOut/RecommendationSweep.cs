using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;

namespace Embeddings.Recommendation
{
    /// <summary>Settings of <see cref="RecommendationSweep"/>.</summary>
    public sealed class RecommendationSweepOptions
    {
        /// <summary>Wall-clock budget of the whole sweep, including the final test evaluation. Default 20 minutes; at least 1 minute.</summary>
        public TimeSpan Budget { get; set; } = TimeSpan.FromMinutes(20);

        /// <summary>Most trials to run (the budget usually ends the search first). Default 1000; at least 1.</summary>
        public int MaximumTrials { get; set; } = 1000;

        /// <summary>The configuration every sweep starts from (trial 1, the hand-set one); the search varies its embedding and ranker settings.</summary>
        public RankingRecommenderOptions Baseline { get; set; } = new();

        /// <summary>Seed of the search and of every trial. Default 1.</summary>
        public int Seed { get; set; } = 1;

        /// <summary>Threads per trial; null: all cores.</summary>
        public int? NumberOfThreads { get; set; }

        /// <summary>The former name of <see cref="NumberOfThreads"/> (ML.NET's name), kept for one release.</summary>
        [Obsolete("Use NumberOfThreads, as ML.NET's trainers name it. ThreadCount will be removed in the next release.")]
        public int? ThreadCount
        {
            get => NumberOfThreads;
            set => NumberOfThreads = value;
        }

        /// <summary>Checks every setting and throws naming the option, its value and the fix.</summary>
        public void Validate()
        {
            const string c = "RecommendationSweep";
            OptionChecks.Check(c, Budget >= TimeSpan.FromMinutes(1), nameof(Budget), Budget, "use at least 1 minute (a trial on ml-100k takes about 25 s on 2 cores)");
            OptionChecks.Check(c, MaximumTrials >= 1, nameof(MaximumTrials), MaximumTrials, "use 1 or more");
            OptionChecks.Check(c, NumberOfThreads is null || NumberOfThreads >= 1, nameof(NumberOfThreads), NumberOfThreads, "use null (all cores) or 1 or more");
            ArgumentNullException.ThrowIfNull(Baseline, nameof(Baseline));
        }
    }

    /// <summary>One configuration tried by the sweep, with its validation figures.</summary>
    /// <param name="Number">1 for the baseline, then in the order tried.</param>
    /// <param name="Parameters">The varied settings, name to value (invariant text).</param>
    /// <param name="Options">The full configuration.</param>
    /// <param name="Validation">The ranker's validation HR@10 / NDCG@10 (the selection score is NDCG@10).</param>
    /// <param name="Seconds">Wall-clock seconds of the trial.</param>
    public sealed record RecommendationSweepTrial(int Number, IReadOnlyDictionary<string, string> Parameters, RankingRecommenderOptions Options, LeaveLastOutMetrics Validation, double Seconds);

    /// <summary>What a sweep found.</summary>
    /// <param name="Trials">Every trial, best validation NDCG@10 first (ties by trial number).</param>
    /// <param name="Best">The chosen trial.</param>
    /// <param name="BestTest">Test figures of the chosen configuration (measured once, after the search).</param>
    /// <param name="BaselineTest">Test figures of the baseline (trial 1), for comparison.</param>
    /// <param name="Seconds">Wall-clock seconds of the whole sweep.</param>
    public sealed record RecommendationSweepResult(IReadOnlyList<RecommendationSweepTrial> Trials, RecommendationSweepTrial Best, RecommendationSplitResult BestTest, RecommendationSplitResult BaselineTest, double Seconds)
    {
        /// <summary>Writes the leaderboard as CSV (rank, trial, parameters, validation HR@10 and NDCG@10, seconds) through a temporary file.</summary>
        public void WriteLeaderboard(string path)
        {
            var names = Trials.SelectMany(t => t.Parameters.Keys).Distinct().ToArray();
            Infrastructure.AtomicFile.Write(path, stream =>
            {
                using var writer = new StreamWriter(stream);
                writer.WriteLine(string.Join(",", new[] { "rank", "trial" }.Concat(names).Concat(new[] { "validation_hr10", "validation_ndcg10", "seconds" })));
                int rank = 0;
                foreach (var t in Trials)
                {
                    var fields = new List<string> { (++rank).ToString(CultureInfo.InvariantCulture), t.Number.ToString(CultureInfo.InvariantCulture) };
                    fields.AddRange(names.Select(n => t.Parameters.GetValueOrDefault(n, "")));
                    fields.Add(t.Validation.HitRate.ToString("F4", CultureInfo.InvariantCulture));
                    fields.Add(t.Validation.Ndcg.ToString("F4", CultureInfo.InvariantCulture));
                    fields.Add(t.Seconds.ToString("F1", CultureInfo.InvariantCulture));
                    writer.WriteLine(string.Join(",", fields));
                }
            });
        }
    }

    /// <summary>Progress of a sweep: after each trial.</summary>
    /// <param name="Trial">The trial just finished.</param>
    /// <param name="Best">The best trial so far.</param>
    /// <param name="Elapsed">Time since the sweep started.</param>
    /// <param name="Budget">The whole budget.</param>
    public sealed record RecommendationSweepProgress(RecommendationSweepTrial Trial, RecommendationSweepTrial Best, TimeSpan Elapsed, TimeSpan Budget);

    /// <summary>
    /// An AutoML-style search over the recommendation pipeline (built on ML.NET's trainers and our leave-last-out
    /// evaluator; Microsoft.ML.AutoML is not used): random search around a baseline over item2vec (dimension, window,
    /// negative-sampling exponent, epochs, subsampling), node2vec of the item graph (p, q) and the ranker (leaves, trees,
    /// minimum leaf size, learning rate), under a wall-clock budget. Trials are chosen by validation NDCG@10 only; the
    /// chosen configuration and the baseline are then evaluated once on the test split.
    /// </summary>
    public static class RecommendationSweep
    {
        private static readonly int[] s_dimensions = { 32, 48, 64, 96, 128 };
        private static readonly int[] s_windows = { 2, 3, 5, 8, 12 };
        private static readonly double[] s_exponents = { 0.25, 0.5, 0.75, 1.0 };
        private static readonly int[] s_epochs = { 10, 15, 20, 30 };
        private static readonly double[] s_sampling = { 0, 1e-4, 1e-3, 1e-2 };
        private static readonly double[] s_pq = { 0.25, 0.5, 1, 2, 4 };
        private static readonly int[] s_leaves = { 4, 8, 16, 32 };
        private static readonly int[] s_trees = { 50, 100, 200, 300 };
        private static readonly int[] s_minLeaf = { 20, 50, 100, 200 };
        private static readonly double[] s_learningRates = { 0.02, 0.05, 0.1 };

        /// <summary>Runs the sweep on <paramref name="split"/>.</summary>
        public static RecommendationSweepResult Run(LeaveLastOutSplit split, RecommendationSweepOptions options, IProgress<RecommendationSweepProgress>? progress = null)
        {
            ArgumentNullException.ThrowIfNull(split);
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();
            var watch = Stopwatch.StartNew();
            var random = new Random(options.Seed);
            var trials = new List<RecommendationSweepTrial>();
            var tried = new HashSet<string>(StringComparer.Ordinal);
            RecommendationSweepTrial? best = null;
            double slowest = 0;
            while (trials.Count < options.MaximumTrials)
            {
                // Leave room for one more trial of the slowest kind seen and the two final test evaluations.
                if (trials.Count > 0 && watch.Elapsed.TotalSeconds + slowest * 3 > options.Budget.TotalSeconds)
                    break;
                var (candidate, parameters) = trials.Count == 0 ? Describe(Copy(options.Baseline, options)) : Sample(options, random);
                string signature = string.Join(";", parameters.Select(p => p.Key + "=" + p.Value));
                if (!tried.Add(signature))
                    continue;
                var trialWatch = Stopwatch.StartNew();
                var result = RecommendationEvaluation.Evaluate(new MLContext(options.Seed), split, RankingTarget.Validation, candidate);
                double seconds = trialWatch.Elapsed.TotalSeconds;
                slowest = Math.Max(slowest, seconds);
                var trial = new RecommendationSweepTrial(trials.Count + 1, parameters, candidate, result.Models["ranker"], seconds);
                trials.Add(trial);
                if (best is null || trial.Validation.Ndcg > best.Validation.Ndcg)
                    best = trial;
                progress?.Report(new RecommendationSweepProgress(trial, best, watch.Elapsed, options.Budget));
            }
            var bestTest = RecommendationEvaluation.Evaluate(new MLContext(options.Seed), split, RankingTarget.Test, best!.Options);
            var baselineTest = best.Number == 1 ? bestTest : RecommendationEvaluation.Evaluate(new MLContext(options.Seed), split, RankingTarget.Test, trials[0].Options);
            var ordered = trials.OrderByDescending(t => t.Validation.Ndcg).ThenBy(t => t.Number).ToArray();
            return new RecommendationSweepResult(ordered, best, bestTest, baselineTest, watch.Elapsed.TotalSeconds);
        }

        private static RankingRecommenderOptions Copy(RankingRecommenderOptions baseline, RecommendationSweepOptions sweep)
        {
            var copy = baseline.Clone();
            copy.Item2Vec = baseline.Item2Vec.Clone();
            copy.ItemGraph = baseline.ItemGraph.Clone();
            copy.Features = baseline.Features.Clone();
            copy.Seed = sweep.Seed;
            copy.NumberOfThreads = sweep.NumberOfThreads ?? baseline.NumberOfThreads;
            return copy;
        }

        private static (RankingRecommenderOptions, IReadOnlyDictionary<string, string>) Sample(RecommendationSweepOptions sweep, Random random)
        {
            var o = Copy(sweep.Baseline, sweep);
            T Pick<T>(T[] values) => values[random.Next(values.Length)];
            o.Item2Vec.EmbeddingDimension = Pick(s_dimensions);
            o.Item2Vec.WindowSize = Pick(s_windows);
            o.Item2Vec.NegativeSamplingExponent = Pick(s_exponents);
            o.Item2Vec.Epochs = Pick(s_epochs);
            o.Item2Vec.SamplingThreshold = Pick(s_sampling);
            o.ItemGraph.ReturnParameter = Pick(s_pq);
            o.ItemGraph.InOutParameter = Pick(s_pq);
            o.NumberOfLeaves = Pick(s_leaves);
            o.NumberOfTrees = Pick(s_trees);
            o.MinimumExampleCountPerLeaf = Pick(s_minLeaf);
            o.LearningRate = Pick(s_learningRates);
            return Describe(o);
        }

        private static (RankingRecommenderOptions, IReadOnlyDictionary<string, string>) Describe(RankingRecommenderOptions o)
        {
            string F(double x) => x.ToString(CultureInfo.InvariantCulture);
            var parameters = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["dimension"] = F(o.Item2Vec.EmbeddingDimension),
                ["window"] = F(o.Item2Vec.WindowSize),
                ["ns_exponent"] = F(o.Item2Vec.NegativeSamplingExponent),
                ["epochs"] = F(o.Item2Vec.Epochs),
                ["sample"] = F(o.Item2Vec.SamplingThreshold),
                ["p"] = F(o.ItemGraph.ReturnParameter),
                ["q"] = F(o.ItemGraph.InOutParameter),
                ["leaves"] = F(o.NumberOfLeaves),
                ["trees"] = F(o.NumberOfTrees),
                ["min_leaf"] = F(o.MinimumExampleCountPerLeaf),
                ["learning_rate"] = F(o.LearningRate),
            };
            return (o, parameters);
        }
    }
}
