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
    /// Incremental item2vec on MovieLens 100K (issue 14): leave-last-out split; of each user's training interactions
    /// (time order) the first 90% form the base and the rest the update (at least one). Compares, by HR@10 / NDCG@10
    /// (full ranking, the user's mean input vector of the last 5 items dot the candidate's context vector):
    /// the base model alone (user vectors from the base interactions), the base model updated with the rest
    /// (<c>Item2VecEstimator.Fit(newRows, baseModel)</c>), and a full retrain on all training interactions; and the wall
    /// time of the update against the full retrain (one training thread each, so the times compare work, not scheduling).
    /// "base, new rows in the user vectors only" is an update with a learning rate of 1e-9: the base vectors, user vectors
    /// recomputed with the new rows (new items then have random input and mean context vectors).
    /// The update's defaults (5 epochs, learning rate 0.001, each touched user's whole updated sequence) met both criteria
    /// on the validation split with --grid, which tries update settings (epochs x learning rate x how many of the user's
    /// earlier items precede the new ones: UpdateContextLength); choose on --target validation, report test
    /// (docs/incremental-training.md has the runs).
    /// Options: --data FILE --target validation|test (test) --seeds 3 --update-epochs 5 --update-rate 0.001
    /// --update-context N|whole (whole) --grid [--grid-epochs 2,3,5 --grid-rates 0.025,0.01,0.005 --grid-context 5,whole].
    /// </summary>
    internal static class IncrementalBenchmark
    {
        public static void Run(string[] args)
        {
            string? data = Options.MovieLensRatings(args);
            if (data is null)
                return;
            var target = (Options.String(args, "--target") ?? "test").Equals("validation", StringComparison.OrdinalIgnoreCase) ? RankingTarget.Validation : RankingTarget.Test;
            int seeds = Options.Int(args, "--seeds", 3);
            int updateEpochs = Options.Int(args, "--update-epochs", 5);
            float updateRate = float.Parse(Options.String(args, "--update-rate") ?? "0.001", CultureInfo.InvariantCulture);
            bool grid = args.Contains("--grid");
            int[] gridEpochs = List(args, "--grid-epochs", "2,3,5").Select(e => int.Parse(e, CultureInfo.InvariantCulture)).ToArray();
            float[] gridRates = List(args, "--grid-rates", "0.025,0.01,0.005").Select(r => float.Parse(r, CultureInfo.InvariantCulture)).ToArray();
            string contextArgument = Options.String(args, "--update-context") ?? "whole";
            int? updateContext = contextArgument == "whole" ? null : int.Parse(contextArgument, CultureInfo.InvariantCulture);
            int?[] gridContext = List(args, "--grid-context", "5,whole").Select(k => k == "whole" ? (int?)null : int.Parse(k, CultureInfo.InvariantCulture)).ToArray();
            var split = InteractionFile.ReadSplit(data);

            var baseRows = new List<Row>();
            var updateRows = new List<Row>();
            var allRows = new List<Row>();
            foreach (string user in split.Users)
            {
                var items = split.Training(user, target);
                int update = Math.Max(1, (int)Math.Round(0.1 * items.Count));
                for (int t = 0; t < items.Count; t++)
                {
                    var row = new Row { User = user, Item = items[t], Time = t };
                    allRows.Add(row);
                    (t < items.Count - update ? baseRows : updateRows).Add(row);
                }
            }
            Console.WriteLine($"{split.Users.Count} users, {split.Items.Count} items; target {target}; {allRows.Count:N0} training interactions: base {baseRows.Count:N0}, update {updateRows.Count:N0}; {seeds} seed(s)");
            Console.WriteLine($"{"model",-44} {"HR@10",7} {"NDCG@10",8} {"wall s",8} {"CPU s",8}");
            var results = new Dictionary<string, List<(double Hr, double Ndcg, double Wall, double Cpu)>>();
            void Add(string name, LeaveLastOutMetrics m, (double Wall, double Cpu) seconds)
            {
                if (!results.TryGetValue(name, out var list))
                    results[name] = list = new();
                list.Add((m.HitRate, m.Ndcg, seconds.Wall, seconds.Cpu));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} {m.HitRate,7:F4} {m.Ndcg,8:F4} {seconds.Wall,8:F2} {seconds.Cpu,8:F2}"));
            }

            for (int seed = 1; seed <= seeds; seed++)
            {
                var ml = new MLContext(seed);
                var (full, fullSeconds) = Time(() => ml.Embeddings().Item2Vec(Item2VecOptions(seed, epochs: 20, rate: null)).Fit(ml.Data.LoadFromEnumerable(allRows)));
                Add("full retrain (100%)", Evaluate(split, target, full), fullSeconds);
                var (baseModel, baseSeconds) = Time(() => ml.Embeddings().Item2Vec(Item2VecOptions(seed, epochs: 20, rate: null)).Fit(ml.Data.LoadFromEnumerable(baseRows)));
                Add("base (90%)", Evaluate(split, target, baseModel), baseSeconds);
                var (refreshed, refreshSeconds) = Time(() => ml.Embeddings().Item2Vec(Item2VecOptions(seed, epochs: 1, rate: 1e-9f)).Fit(ml.Data.LoadFromEnumerable(updateRows), baseModel));
                Add("base, new rows in the user vectors only", Evaluate(split, target, refreshed), refreshSeconds);

                var settings = grid
                    ? gridEpochs.SelectMany(e => gridRates.Select(r => (Epochs: e, Rate: r))).ToArray()
                    : new[] { (Epochs: updateEpochs, Rate: updateRate) };
                foreach (int? context in grid ? gridContext : new[] { updateContext })
                {
                    foreach (var (epochs, rate) in settings)
                    {
                        var (updated, updateSeconds) = Time(() => ml.Embeddings().Item2Vec(Item2VecOptions(seed, epochs, rate, context)).Fit(ml.Data.LoadFromEnumerable(updateRows), baseModel));
                        string history = context is null ? "whole history" : string.Create(CultureInfo.InvariantCulture, $"last {context}");
                        Add(string.Create(CultureInfo.InvariantCulture, $"update: {history}+new, {epochs} ep, lr {rate}"), Evaluate(split, target, updated), updateSeconds);
                    }
                }
            }

            Console.WriteLine();
            Console.WriteLine($"mean over {seeds} seed(s), {target}; ratios against the full retrain");
            Console.WriteLine($"{"model",-44} {"HR@10",7} {"NDCG@10",8} {"wall s",8} {"CPU s",8} {"HR ratio",9} {"NDCG ratio",10} {"wall ratio",10} {"CPU ratio",9}");
            var reference = results["full retrain (100%)"];
            double fullHr = reference.Average(r => r.Hr), fullNdcg = reference.Average(r => r.Ndcg), fullWall = reference.Average(r => r.Wall), fullCpu = reference.Average(r => r.Cpu);
            foreach (var (name, list) in results)
            {
                double hr = list.Average(r => r.Hr), ndcg = list.Average(r => r.Ndcg), wall = list.Average(r => r.Wall), cpu = list.Average(r => r.Cpu);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name,-44} {hr,7:F4} {ndcg,8:F4} {wall,8:F2} {cpu,8:F2} {hr / fullHr,9:F3} {ndcg / fullNdcg,10:F3} {wall / fullWall,10:F3} {cpu / fullCpu,9:F3}"));
            }
        }

        private static string[] List(string[] args, string name, string defaultValue) =>
            (Options.String(args, name) ?? defaultValue).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        private static Item2VecEstimator.Options Item2VecOptions(int seed, int epochs, float? rate, int? context = null) => new()
        {
            UpdateContextLength = context,
            UserColumnName = nameof(Row.User),
            ItemColumnName = nameof(Row.Item),
            TimestampColumnName = nameof(Row.Time),
            UserHistoryLength = 5,
            // The item2vec settings of the recommendation evaluation (RecommendationFeaturesEstimator.Options.DefaultItem2Vec).
            SkipGram = new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "Item2Vec",
                EmbeddingDimension = 64,
                WindowSize = 5,
                MinCount = 1,
                Epochs = epochs,
                LearningRate = rate,
                KeepContextVectors = true,
                NumberOfThreads = 1,
                Seed = seed,
            },
        };

        private static LeaveLastOutMetrics Evaluate(LeaveLastOutSplit split, RankingTarget target, Item2VecTransformer model) =>
            LeaveLastOutEvaluator.Evaluate(split, target, LeaveLastOutEvaluator.DotProduct(split, model.UserEmbeddings, model.ContextEmbeddings!));

        /// <summary>Runs <paramref name="run"/>; its wall time and the process' CPU time (robust to other load on the machine).</summary>
        private static (T Result, (double Wall, double Cpu) Seconds) Time<T>(Func<T> run)
        {
            var process = Process.GetCurrentProcess();
            var cpu = process.TotalProcessorTime;
            var watch = Stopwatch.StartNew();
            var result = run();
            double wall = watch.Elapsed.TotalSeconds;
            process.Refresh();
            return (result, (wall, (process.TotalProcessorTime - cpu).TotalSeconds));
        }

        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Time { get; set; }
        }
    }
}
