using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Next-item recommendation on MovieLens 100K under the leave-last-out protocol of docs/evaluation-protocols.md
    /// (full ranking, HR@10 and NDCG@10 over all users, validation and test): popularity, and item2vec (skip-gram over
    /// each user's time-ordered training items) scored by the cosine of input vectors and by the input-output logit
    /// (mean input vector of the user's last 5 items, dot the candidate's context vector).
    /// Options: --data FILE (../shared/data/movielens/ml-100k/u.data) --dimension 64 --window 5 --epochs 20 --seed 1.
    /// </summary>
    internal static class RecommendationBenchmark
    {
        public static void Run(string[] args)
        {
            string data = Options.String(args, "--data") ?? Path.Combine("..", "shared", "data", "movielens", "ml-100k", "u.data");
            if (!File.Exists(data))
            {
                Console.WriteLine($"skipped: '{data}' is missing (MovieLens 100K may not be copied into the repository; run from the root with ../shared beside it).");
                return;
            }
            var split = InteractionFile.ReadSplit(data);
            Console.WriteLine($"{split.Users.Count} users, {split.Items.Count} items");
            Console.WriteLine($"{"model",-30} {"split",-10} {"HR@10",7} {"NDCG@10",8}");
            foreach (var target in new[] { RankingTarget.Validation, RankingTarget.Test })
                Print("popularity", target, LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.Popularity(split, target)));

            foreach (var target in new[] { RankingTarget.Validation, RankingTarget.Test })
            {
                var ml = new MLContext(seed: 1);
                var sessions = ml.Data.LoadFromEnumerable(split.TrainingSequences(target).Select(s => new Session { Items = s.Items.ToArray() }));
                var watch = Stopwatch.StartNew();
                var model = ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
                {
                    OutputColumnName = "Vector",
                    InputColumnName = "Items",
                    EmbeddingDimension = Options.Int(args, "--dimension", 64),
                    WindowSize = Options.Int(args, "--window", 5),
                    Epochs = Options.Int(args, "--epochs", 20),
                    MinCount = 1,
                    SamplingThreshold = 1e-3,
                    KeepContextVectors = true,
                    Seed = Options.Int(args, "--seed", 1),
                }).Fit(sessions);
                double seconds = watch.Elapsed.TotalSeconds;
                var input = model.Embeddings;
                var context = model.ContextEmbeddings!;
                var itemRowsInput = split.Items.Select(i => input.Contains(i) ? input.GetVector(i) : null).ToArray();
                var itemRowsContext = split.Items.Select(i => context.Contains(i) ? context.GetVector(i) : null).ToArray();
                int d = input.Dimension;
                float[] UserVector(string user)
                {
                    var sum = new float[d];
                    foreach (string item in split.Training(user, target).TakeLast(5))
                    {
                        if (input.Contains(item))
                        {
                            var v = input.GetVector(item);
                            for (int j = 0; j < d; j++)
                                sum[j] += v[j];
                        }
                    }
                    return sum;
                }
                LeaveLastOutEvaluator.UserScorer Scorer(float[]?[] rows, bool cosine) => (user, scores) =>
                {
                    var u = UserVector(user);
                    double un = Math.Sqrt(u.Sum(x => (double)x * x));
                    for (int i = 0; i < rows.Length; i++)
                    {
                        var r = rows[i];
                        if (r is null)
                            continue;
                        double dot = 0, rn = 0;
                        for (int j = 0; j < d; j++)
                        {
                            dot += u[j] * r[j];
                            rn += r[j] * r[j];
                        }
                        scores[i] = (float)(cosine ? (un == 0 || rn == 0 ? 0 : dot / (un * Math.Sqrt(rn))) : dot);
                    }
                };
                Print($"item2vec cosine ({seconds:F1} s)", target, LeaveLastOutEvaluator.Evaluate(split, target, Scorer(itemRowsInput, cosine: true)));
                Print("item2vec input-output logit", target, LeaveLastOutEvaluator.Evaluate(split, target, Scorer(itemRowsContext, cosine: false)));
            }
        }

        private static void Print(string model, RankingTarget target, LeaveLastOutMetrics metrics) =>
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{model,-30} {target,-10} {metrics.HitRate,7:F4} {metrics.Ndcg,8:F4}"));

        private sealed class Session
        {
            public string[] Items { get; set; } = Array.Empty<string>();
        }
    }
}
