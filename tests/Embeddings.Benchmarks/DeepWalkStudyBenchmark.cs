using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// DeepWalk over the item transition graph against item2vec on MovieLens 100K (leave-last-out, full ranking): does
    /// DeepWalk, with few walks per node, give fewer items a vector than item2vec, and how does that show in HR@10 of each
    /// model's input-output logit (the mean input vector of the user's last 5 items dotted with each item's context
    /// vector), overall and for the users whose target is popular, middling or rare (three equal groups of users by the
    /// training popularity of their target item)?
    /// DeepWalk: first-order uniform walks of 40 nodes over the undirected graph of consecutive items of each user's
    /// training history, skip-gram window 5, dimension 64, 5 negatives, 1 epoch, learning rate 0.05 (the recommender's
    /// item-graph settings), with 1, 2, 5, 10 and 20 walks per node. item2vec: the recommender's settings (dimension 64,
    /// window 5, 20 epochs). Options: --data DIR_OR_FILE --seeds 3 --threads 2 --walks 1,2,5,10,20 --split test|validation.
    /// </summary>
    internal static class DeepWalkStudyBenchmark
    {
        private const int HistoryLength = 5;

        public static void Run(string[] args)
        {
            string? data = Options.MovieLensRatings(args);
            if (data is null)
                return;
            int seeds = Options.Int(args, "--seeds", 3);
            int threads = Options.Int(args, "--threads", 2);
            int[] walks = (Options.String(args, "--walks") ?? "1,2,5,10,20").Split(',').Select(w => int.Parse(w, CultureInfo.InvariantCulture)).ToArray();
            var target = (Options.String(args, "--split") ?? "test") == "validation" ? RankingTarget.Validation : RankingTarget.Test;
            var split = InteractionFile.ReadSplit(data);
            var sequences = split.TrainingSequences(target).ToList();
            var catalog = sequences.SelectMany(s => s.Items).Distinct().OrderBy(i => i, IdComparer.Instance).ToArray();
            var index = catalog.Select((item, i) => (item, i)).ToDictionary(p => p.item, p => p.i, StringComparer.Ordinal);
            var popularity = new int[catalog.Length];
            foreach (var (_, items) in sequences)
            {
                foreach (string item in items)
                    popularity[index[item]]++;
            }
            // Users in three equal groups by the training popularity of their target (ties by user id).
            var users = split.Users.ToList();
            var byTarget = users.OrderBy(u => index.TryGetValue(split.Target(u, target), out int t) ? popularity[t] : 0).ThenBy(u => u, IdComparer.Instance).ToList();
            var tercile = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int k = 0; k < byTarget.Count; k++)
                tercile[byTarget[k]] = 2 - k * 3 / byTarget.Count; // 0 = popular targets, 2 = rare ones
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{users.Count} users, {catalog.Length} items with training interactions ({split.Items.Count} in the data); {target} targets; {seeds} seed(s), {threads} threads"));
            Console.WriteLine($"target popularity groups (training interactions of the target item): " + string.Join(", ", Enumerable.Range(0, 3).Select(g =>
            {
                var counts = users.Where(u => tercile[u] == g).Select(u => index.TryGetValue(split.Target(u, target), out int t) ? popularity[t] : 0).ToList();
                return $"{new[] { "popular", "middle", "rare" }[g]} {counts.Min()}-{counts.Max()}";
            })));
            Console.WriteLine();
            Console.WriteLine($"{"model",-22} {"items with a vector",20} {"HR@10",14} {"popular",8} {"middle",8} {"rare",8} {"NDCG@10",8} {"train s",8}");
            var runs = new List<(string Name, Func<int, (CatalogVectors Vectors, double Seconds)> Train)>
            {
                ("item2vec", seed => Item2Vec(sequences, catalog, seed, threads)),
            };
            foreach (int w in walks)
                runs.Add(($"DeepWalk, {w} walk{(w == 1 ? "" : "s")}/node", seed => DeepWalk(sequences, catalog, w, seed, threads)));
            foreach (var (name, train) in runs)
            {
                var results = new List<(double Coverage, double[] Hr, double Ndcg, double Seconds)>();
                for (int seed = 1; seed <= seeds; seed++)
                {
                    var (vectors, seconds) = train(seed);
                    int known = Enumerable.Range(0, catalog.Length).Count(vectors.Known);
                    var (hr, ndcg) = Evaluate(split, target, sequences, index, vectors, tercile);
                    results.Add(((double)known / catalog.Length, hr, ndcg, seconds));
                }
                double Mean(Func<(double Coverage, double[] Hr, double Ndcg, double Seconds), double> f) => results.Average(f);
                string spread = seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $" ±{StandardDeviation(results.Select(r => r.Hr[3])):F4}") : "";
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-22} {Mean(r => r.Coverage) * 100,19:F1}% {Mean(r => r.Hr[3]),7:F4}{spread,7} {Mean(r => r.Hr[0]),8:F4} {Mean(r => r.Hr[1]),8:F4} {Mean(r => r.Hr[2]),8:F4} {Mean(r => r.Ndcg),8:F4} {Mean(r => r.Seconds),8:F2}"));
            }
            Console.WriteLine("(HR@10 ± standard deviation over seeds; popular/middle/rare: HR@10 of the users whose target is in that third; train s: embedding training wall time)");
        }

        private static (CatalogVectors, double) Item2Vec(List<(string User, IReadOnlyList<string> Items)> sequences, string[] catalog, int seed, int threads)
        {
            var options = RecommendationFeaturesEstimator.Options.DefaultItem2Vec();
            options.Seed = seed;
            options.NumberOfThreads = threads;
            var watch = Stopwatch.StartNew();
            var model = new MLContext(seed: seed).Embeddings().SkipGram(options).Fit(sequences.Select(s => s.Items));
            double seconds = watch.Elapsed.TotalSeconds;
            return (CatalogVectors.Create(catalog, model.Embeddings, model.ContextEmbeddings!), seconds);
        }

        private static (CatalogVectors, double) DeepWalk(List<(string User, IReadOnlyList<string> Items)> sequences, string[] catalog, int walksPerNode, int seed, int threads)
        {
            var graph = new ItemGraphOptions { WalksPerNode = walksPerNode };
            var options = new DeepWalkEstimator.Options
            {
                // Edges come from the writer below; the estimator still names the edge and output columns a transformer maps.
                SourceColumnName = "From",
                TargetColumnName = "To",
                EmbeddingDimension = graph.EmbeddingDimension,
                WalkLength = graph.WalkLength,
                WalksPerNode = walksPerNode,
                WindowSize = graph.WindowSize,
                NegativeSampleCount = graph.NegativeSampleCount,
                Epochs = graph.Epochs,
                LearningRate = graph.LearningRate,
                KeepSelfLoops = false,
                KeepContextVectors = true,
                Seed = seed,
                NumberOfThreads = threads,
            };
            options.OutputColumns.Add(("FromVector", "From"));
            var watch = Stopwatch.StartNew();
            var model = new MLContext(seed: seed).Embeddings().DeepWalk(options).Fit(writer =>
            {
                foreach (var (_, items) in sequences)
                {
                    for (int t = 1; t < items.Count; t++)
                        writer.AddEdge(items[t - 1], items[t], 1);
                }
            });
            double seconds = watch.Elapsed.TotalSeconds;
            return (CatalogVectors.Create(catalog, model.SourceEmbeddings, model.ContextEmbeddings!), seconds);
        }

        /// <summary>HR@10 per target group (0-2) and overall (3), and NDCG@10, by the protocol's full ranking over unseen items (ties by item id).</summary>
        private static (double[] HitRate, double Ndcg) Evaluate(LeaveLastOutSplit split, RankingTarget target, List<(string User, IReadOnlyList<string> Items)> sequences,
            Dictionary<string, int> index, CatalogVectors vectors, Dictionary<string, int> tercile)
        {
            var histories = sequences.ToDictionary(s => s.User, s => s.Items.Select(i => index[i]).ToArray(), StringComparer.Ordinal);
            var scores = new float[index.Count];
            var userVector = new float[vectors.Dimension];
            var hits = new int[3];
            var sizes = new int[3];
            double ndcg = 0;
            foreach (string user in split.Users)
            {
                int group = tercile[user];
                sizes[group]++;
                if (!histories.TryGetValue(user, out var history) || !index.TryGetValue(split.Target(user, target), out int t))
                    continue;
                if (!vectors.Logits(history, HistoryLength, scores, userVector))
                    continue;
                var seen = new HashSet<int>(history);
                float score = scores[t];
                int rank = 1;
                for (int i = 0; i < scores.Length && rank <= 10; i++)
                {
                    if (i != t && !seen.Contains(i) && (scores[i] > score || (scores[i] == score && i < t)))
                        rank++;
                }
                if (rank <= 10)
                {
                    hits[group]++;
                    ndcg += 1 / Math.Log2(rank + 1);
                }
            }
            var result = new double[4];
            for (int g = 0; g < 3; g++)
                result[g] = (double)hits[g] / sizes[g];
            result[3] = (double)hits.Sum() / split.Users.Count;
            return (result, ndcg / split.Users.Count);
        }

        private static double StandardDeviation(IEnumerable<double> values)
        {
            var list = values.ToList();
            double mean = list.Average();
            return list.Count < 2 ? 0 : Math.Sqrt(list.Sum(v => (v - mean) * (v - mean)) / (list.Count - 1));
        }
    }
}
