using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings recommend-eval</c>: the whole recommendation pipeline under the leave-last-out protocol.</summary>
    internal static class RecommendEvalCommand
    {
        private const string Help = """
            usage: embeddings recommend-eval --input INTERACTIONS [--json RESULTS.json] [options]
              --input FILE          'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped)
              --json FILE           write {model: {"hr10", "ndcg10"}, ..., "validation": {model: ...}} (test at the top; models: popularity, item2vec, node2vec, mf, blend, ranker)
              --split S             test, validation or both (both)
              --seeds N             repeat with seeds 1..N and report the mean and spread (1)
              item2vec:  --dimensions N (64) --window N (5) --epochs N (20) --negative N (5) --sample X (1e-3) --ns-exponent X (0.75)
              node2vec:  --graph-dimensions N (64) --walk-length N (40) --num-walks N (10) --p X (1) --q X (1) --no-graph
              ranker:    --ranker lightgbm|fasttree (lightgbm) --candidates N (100) --leaves N (8) --trees N (100) --learning-rate X (0.05) --min-leaf N (100)
                         --periods N (3: the ranker learns from each user's next interaction and the 2 before it, one feature fit each)
              mf:        implicit ALS --mf-rank N (64) --mf-iterations N (15) --mf-alpha X (5) --mf-lambda X (30)
                         --mf-recency-half-life X (3; 0: every interaction weighs 1) --mf-recency-boost X (4) --no-mf
              --threads N (all cores) --seed N (1; with --seeds, the first seed) --verbose (training messages on stderr)
            Protocol: leave-last-out, full ranking over every unseen item, HR@10 and NDCG@10 over all users
            (docs/evaluation-protocols.md in the repository).
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("recommend-eval", args,
                new[] { "--input", "--json", "--split", "--seeds", "--dimensions", "--window", "--epochs", "--negative", "--sample", "--ns-exponent",
                        "--graph-dimensions", "--walk-length", "--num-walks", "--p", "--q", "--ranker", "--candidates", "--leaves", "--trees",
                        "--learning-rate", "--min-leaf", "--periods", "--mf-rank", "--mf-iterations", "--mf-alpha", "--mf-lambda", "--mf-recency-half-life", "--mf-recency-boost", "--threads", "--seed" },
                new[] { "--no-graph", "--no-mf", "--verbose" });
            string input = line.Required("--input");
            string? json = line.Optional("--json");
            string splitName = line.Optional("--split") ?? "both";
            var targets = splitName switch
            {
                "both" => new[] { RankingTarget.Validation, RankingTarget.Test },
                "test" => new[] { RankingTarget.Test },
                "validation" => new[] { RankingTarget.Validation },
                _ => throw new UsageException($"--split must be test, validation or both; got '{splitName}'."),
            };
            int seeds = line.Int("--seeds", 1);
            if (seeds < 1)
                throw new UsageException($"--seeds must be 1 or more; got {seeds}.");
            int firstSeed = line.Int("--seed", 1);
            var options = Options(line);
            options.Validate();
            var split = InteractionFile.ReadSplit(input);
            Console.Error.WriteLine($"{input}: {split.AllUsers.Count():N0} users, {split.Items.Count:N0} items; {split.Users.Count:N0} users with targets");

            var runs = new Dictionary<RankingTarget, List<RecommendationSplitResult>>();
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < seeds; s++)
            {
                options.Seed = firstSeed + s;
                foreach (var target in targets)
                {
                    var result = RecommendationEvaluation.Evaluate(new MLContext(options.Seed), split, target, options, line.Has("--verbose") ? Console.Error.WriteLine : null,
                        line.Has("--no-mf") ? null : MatrixFactorizationOptions(line, options));
                    if (!runs.TryGetValue(target, out var list))
                        runs[target] = list = new List<RecommendationSplitResult>();
                    list.Add(result);
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {options.Seed} {target}: {result.Seconds:F1} s"));
                }
            }
            Print(runs, seeds);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {watch.Elapsed.TotalSeconds:F1} s"));
            if (json is not null)
                Infrastructure.AtomicFile.Write(json, stream => JsonSerializer.Serialize(stream, Report(runs, options, seeds), new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }

        internal static RankingRecommenderOptions Options(CommandLine line)
        {
            var options = new RankingRecommenderOptions
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                CandidateCount = line.Int("--candidates", 100),
                RankerTrainingPeriods = line.Int("--periods", 3),
                NumberOfLeaves = line.Int("--leaves", 8),
                NumberOfTrees = line.Int("--trees", 100),
                LearningRate = line.Double("--learning-rate", 0.05),
                MinimumExampleCountPerLeaf = line.Int("--min-leaf", 100),
                NumberOfThreads = line.Has("--threads") ? line.Int("--threads", 1) : null,
                Ranker = (line.Optional("--ranker") ?? "lightgbm") switch
                {
                    "lightgbm" => RankerKind.LightGbm,
                    "fasttree" => RankerKind.FastTree,
                    string other => throw new UsageException($"--ranker must be lightgbm or fasttree; got '{other}'."),
                },
            };
            options.Item2Vec.EmbeddingDimension = line.Int("--dimensions", 64);
            options.Item2Vec.WindowSize = line.Int("--window", 5);
            options.Item2Vec.Epochs = line.Int("--epochs", 20);
            options.Item2Vec.NegativeSampleCount = line.Int("--negative", 5);
            options.Item2Vec.SamplingThreshold = line.Double("--sample", 1e-3);
            options.Item2Vec.NegativeSamplingExponent = line.Double("--ns-exponent", 0.75);
            options.ItemGraph.Enabled = !line.Has("--no-graph");
            options.ItemGraph.EmbeddingDimension = line.Int("--graph-dimensions", 64);
            options.ItemGraph.WalkLength = line.Int("--walk-length", 40);
            options.ItemGraph.WalksPerNode = line.Int("--num-walks", 10);
            options.ItemGraph.ReturnParameter = line.Double("--p", 1);
            options.ItemGraph.InOutParameter = line.Double("--q", 1);
            return options;
        }

        private static ImplicitMatrixFactorization MatrixFactorizationOptions(CommandLine line, RankingRecommenderOptions options)
        {
            var mf = new ImplicitMatrixFactorization();
            mf.Options.ApproximationRank = line.Int("--mf-rank", mf.Options.ApproximationRank);
            mf.Options.NumberOfIterations = line.Int("--mf-iterations", mf.Options.NumberOfIterations);
            mf.Options.Alpha = line.Double("--mf-alpha", mf.Options.Alpha);
            mf.Options.Lambda = line.Double("--mf-lambda", mf.Options.Lambda);
            mf.Options.NumberOfThreads = options.NumberOfThreads;
            mf.Options.Seed = options.Seed;
            mf.RecencyHalfLife = line.Double("--mf-recency-half-life", mf.RecencyHalfLife);
            mf.RecencyBoost = line.Double("--mf-recency-boost", mf.RecencyBoost);
            mf.Validate();
            return mf;
        }

        private static void Print(Dictionary<RankingTarget, List<RecommendationSplitResult>> runs, int seeds)
        {
            Console.WriteLine($"{"model",-12} {"split",-10} {"HR@10",8} {"NDCG@10",8}{(seeds > 1 ? $"  (mean of {seeds} seeds; HR@10 min-max)" : "")}");
            foreach (string model in RecommendationEvaluation.ModelNames)
            {
                foreach (var (target, list) in runs.OrderBy(r => r.Key))
                {
                    var values = list.Where(r => r.Models.ContainsKey(model)).Select(r => r.Models[model]).ToList();
                    if (values.Count == 0)
                        continue;
                    string spread = seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $"  {values.Min(v => v.HitRate):F4}-{values.Max(v => v.HitRate):F4}") : "";
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{model,-12} {target,-10} {values.Average(v => v.HitRate),8:F4} {values.Average(v => v.Ndcg),8:F4}{spread}"));
                }
            }
        }

        private static Dictionary<string, object> Report(Dictionary<RankingTarget, List<RecommendationSplitResult>> runs, RankingRecommenderOptions options, int seeds)
        {
            var report = new Dictionary<string, object>();
            foreach (var (target, list) in runs)
            {
                var models = new Dictionary<string, object>();
                foreach (string model in RecommendationEvaluation.ModelNames)
                {
                    var values = list.Where(r => r.Models.ContainsKey(model)).Select(r => r.Models[model]).ToList();
                    if (values.Count == 0)
                        continue;
                    var entry = new Dictionary<string, object>
                    {
                        ["hr10"] = Math.Round(values.Average(v => v.HitRate), 6),
                        ["ndcg10"] = Math.Round(values.Average(v => v.Ndcg), 6),
                    };
                    if (seeds > 1)
                    {
                        entry["hr10_per_seed"] = values.Select(v => Math.Round(v.HitRate, 6)).ToArray();
                        entry["ndcg10_per_seed"] = values.Select(v => Math.Round(v.Ndcg, 6)).ToArray();
                    }
                    models[model] = entry;
                }
                // Test figures at the top level (one entry per model), validation figures under "validation".
                if (target == RankingTarget.Test)
                {
                    foreach (var (name, entry) in models)
                        report[name] = entry;
                }
                else
                {
                    report["validation"] = models;
                }
            }
            report["settings"] = new Dictionary<string, object>
            {
                ["seeds"] = seeds,
                ["candidates"] = options.CandidateCount,
                ["ranker_kind"] = options.Ranker.ToString(),
                ["ranker_training_periods"] = options.RankerTrainingPeriods,
            };
            return report;
        }
    }
}
