using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// End-to-end embedding models against ML.NET baselines on MovieLens 100K as a click-through task
    /// (docs/evaluation.md section 5; data and split as ../shared/tools/e2e_reference.py prepares them): test AUC and
    /// log-loss at the best validation epoch (or setting), best epoch, seconds per epoch, and the convergence figures
    /// (epochs and seconds to 99% of the best validation AUC, validation AUC after epoch 1).
    /// Options: --data DIR (ml-100k: u.data, u.user, u.item, u.genre) --json FILE --split random|time --seeds N (seeds
    /// 1..N, mean ± sd) --models lr,fm,wdl,deepcrossing,fnn,pretrain,baselines (or single names such as mlnet_ffm)
    /// --epochs 8 --threads 2 --png FILE (validation AUC curves of the wdl pretraining study) --write-split FILE (the row
    /// order of train, validation and test, one u.data row index per line, to compare with numpy).
    /// </summary>
    internal static partial class EndToEndBenchmark
    {
        /// <summary>Our end-to-end models, in the order they run.</summary>
        public static readonly IReadOnlyList<string> EndToEndModelNames = ["lr", "fm", "wdl", "deepcrossing", "fnn", "wdl_item2vec_frozen", "wdl_item2vec_finetuned"];

        /// <summary>The ML.NET baselines.</summary>
        public static readonly IReadOnlyList<string> BaselineNames = ["mlnet_lbfgs_lr", "mlnet_lightgbm_onehot", "mlnet_lightgbm_item2vec", "mlnet_ffm"];

        /// <summary>The models of the pretraining study, drawn in the --png figure.</summary>
        private static readonly string[] s_studyModels = ["wdl", "wdl_item2vec_frozen", "wdl_item2vec_finetuned"];

        public static void Run(string[] args)
        {
            string directory = Options.String(args, "--data") ?? Path.Combine("..", "shared", "data", "movielens", "ml-100k");
            var data = MovieLensClickData.TryLoad(directory, out string? missing);
            if (data is null)
            {
                Console.WriteLine($"skipped: '{missing}' is missing. Pass --data DIR, the MovieLens 100K folder (u.data, u.user, u.item, u.genre).");
                return;
            }
            string splitText = Options.String(args, "--split") ?? "random";
            if (!Enum.TryParse(splitText, ignoreCase: true, out ClickSplit split) || !Enum.IsDefined(split))
                throw new ArgumentException($"--split must be random or time, not '{splitText}'.");
            int seeds = Options.Int(args, "--seeds", 1);
            int threads = Options.Int(args, "--threads", 2);
            int epochs = Options.Int(args, "--epochs", 8);
            if (seeds < 1 || threads < 1 || epochs < 1)
                throw new ArgumentException("--seeds, --threads and --epochs must be 1 or more.");
            var wanted = SelectedModels(Options.String(args, "--models") ?? "lr,fm,wdl,deepcrossing,fnn,pretrain,baselines");

            var (train, validation, test) = data.Split(split);
            if (Options.String(args, "--write-split") is string splitFile)
            {
                File.WriteAllLines(splitFile, train.Concat(validation).Concat(test).Select(r => r.ToString(CultureInfo.InvariantCulture)));
                Console.WriteLine($"row order written to {splitFile} (train {train.Length}, validation {validation.Length}, test {test.Length})");
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"ml-100k click data: {data.RowCount:N0} rows, {Enumerable.Range(0, data.RowCount).Count(data.Label) / (double)data.RowCount:P1} positive; {split} split: train {train.Length:N0}, validation {validation.Length:N0}, test {test.Length:N0}"));
            Console.WriteLine("fields: " + string.Join(", ", MovieLensClickData.FieldNames.Select(f => $"{f} ({data.Vocabulary(f).Count})")));

            var runs = new List<ModelRun>();
            for (int seed = 1; seed <= seeds; seed++)
            {
                Console.WriteLine($"== seed {seed} ==");
                var ml = new MLContext(seed);
                var context = new SeedContext(ml, data, seed, threads, epochs, wanted, train, validation, test,
                    ml.Data.Cache(data.ToDataView(ml, train)), ml.Data.Cache(data.ToDataView(ml, validation)), ml.Data.Cache(data.ToDataView(ml, test)));
                RunBaselines(context, runs);
                RunEndToEndModels(context, runs);
            }
            if (runs.Count == 0)
            {
                Console.WriteLine("no model ran: --models named none of " + string.Join(", ", EndToEndModelNames.Concat(BaselineNames)));
                return;
            }

            PrintTable(runs, seeds);
            if (Options.String(args, "--json") is string jsonFile)
            {
                File.WriteAllText(jsonFile, ToJson(runs, split, threads, epochs).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
                Console.WriteLine($"JSON written to {jsonFile}");
            }
            if (Options.String(args, "--png") is string pngFile)
                ValidationCurves.Save(pngFile, runs, s_studyModels, $"validation AUC by epoch (ml-100k, {split.ToString().ToLowerInvariant()} split, {(seeds == 1 ? "seed 1" : $"mean of seeds 1-{seeds}")})");
        }

        /// <summary>Our end-to-end models (EndToEndModels.cs); adds one run per model wanted.</summary>
        static partial void RunEndToEndModels(SeedContext context, List<ModelRun> runs);

        /// <summary>Everything one seed's runs share: data views, the split's training rows, settings, and the item2vec table (trained once, on first use).</summary>
        internal sealed class SeedContext
        {
            private EmbeddingTable? _item2vec;

            public SeedContext(MLContext ml, MovieLensClickData data, int seed, int threads, int epochs, ISet<string> models,
                int[] trainRows, int[] validationRows, int[] testRows, IDataView train, IDataView validation, IDataView test)
            {
                Ml = ml;
                Data = data;
                Seed = seed;
                Threads = threads;
                Epochs = epochs;
                Models = models;
                TrainRows = trainRows;
                ValidationRows = validationRows;
                TestRows = testRows;
                Train = train;
                Validation = validation;
                Test = test;
            }

            public MLContext Ml { get; }

            public MovieLensClickData Data { get; }

            public int Seed { get; }

            public int Threads { get; }

            public int Epochs { get; }

            public ISet<string> Models { get; }

            public int[] TrainRows { get; }

            public int[] ValidationRows { get; }

            public int[] TestRows { get; }

            public IDataView Train { get; }

            public IDataView Validation { get; }

            public IDataView Test { get; }

            /// <summary>Item2vec vectors of the items, trained on this split's training rows with this seed.</summary>
            public EmbeddingTable Item2Vec
            {
                get
                {
                    if (_item2vec is null)
                    {
                        var watch = Stopwatch.StartNew();
                        _item2vec = ClickBaselines.TrainItem2Vec(Ml, Data, TrainRows, Seed);
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  item2vec: {_item2vec.Count} items x {_item2vec.Dimension} ({watch.Elapsed.TotalSeconds:F1} s)"));
                    }
                    return _item2vec;
                }
            }

            public bool Wants(string model) => Models.Contains(model);
        }

        private static HashSet<string> SelectedModels(string list)
        {
            var selected = new HashSet<string>(StringComparer.Ordinal);
            foreach (string token in list.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                string name = token.ToLowerInvariant();
                if (name == "baselines")
                    selected.UnionWith(BaselineNames);
                else if (name == "pretrain")
                    selected.UnionWith(["wdl_item2vec_frozen", "wdl_item2vec_finetuned"]);
                else if (EndToEndModelNames.Contains(name) || BaselineNames.Contains(name))
                    selected.Add(name);
                else
                    throw new ArgumentException($"--models: unknown model '{token}'; use lr, fm, wdl, deepcrossing, fnn, pretrain, baselines or one of {string.Join(", ", EndToEndModelNames.Concat(BaselineNames))}.");
            }
            return selected;
        }

        private static void RunBaselines(SeedContext context, List<ModelRun> runs)
        {
            var baselines = new ClickBaselines(context.Ml, context.Data, context.Threads, context.Seed);
            if (context.Wants("mlnet_lbfgs_lr"))
                Add(runs, baselines.LbfgsLogisticRegression(context.Train, context.Validation, context.Test));
            if (context.Wants("mlnet_lightgbm_onehot"))
                Add(runs, baselines.LightGbm(context.Train, context.Validation, context.Test, item2vec: false));
            if (context.Wants("mlnet_lightgbm_item2vec"))
            {
                var dense = ClickBaselines.Item2VecFeatures(context.Data, context.Item2Vec, context.TrainRows);
                int length = 2 * context.Item2Vec.Dimension;
                var ml = context.Ml;
                Add(runs, baselines.LightGbm(
                    ml.Data.Cache(context.Data.ToDataView(ml, context.TrainRows, dense, length)),
                    ml.Data.Cache(context.Data.ToDataView(ml, context.ValidationRows, dense, length)),
                    ml.Data.Cache(context.Data.ToDataView(ml, context.TestRows, dense, length)), item2vec: true));
            }
            if (context.Wants("mlnet_ffm"))
                Add(runs, baselines.FieldAwareFactorizationMachine(context.Train, context.Validation, context.Test));
        }

        /// <summary>Adds a run and prints its one-line summary.</summary>
        internal static void Add(List<ModelRun> runs, ModelRun run)
        {
            runs.Add(run);
            string detail = run.Settings is not null ? $"picked {run.Settings}" : $"best epoch {run.BestEpoch}, {run.SecondsPerEpoch:F2} s/epoch";
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{run.Model} (seed {run.Seed}): test AUC {run.TestAuc:F4}, logloss {run.TestLogLoss:F4}; {detail}"));
        }

        private static void PrintTable(List<ModelRun> runs, int seeds)
        {
            Console.WriteLine();
            Console.WriteLine(seeds == 1 ? "== results (seed 1) ==" : $"== results, seeds 1-{seeds}: mean ± sd ==");
            Console.WriteLine($"{"model",-24} {"test AUC",-17} {"test logloss",-17} {"best ep",7} {"s/epoch",8} {"ep to 99%",9} {"s to 99%",9} {"val AUC ep1",11}  picked on validation");
            foreach (var group in runs.GroupBy(r => r.Model))
            {
                var g = group.ToList();
                string Cell(Func<ModelRun, double> f)
                {
                    var values = g.Select(f).ToList();
                    return seeds == 1 ? Format(values[0], "F4") : $"{Format(values.Average(), "F4")} ± {Format(ModelRun.StandardDeviation(values), "F4")}";
                }
                var best = g.Where(r => r.BestEpoch is not null).Select(r => (double)r.BestEpoch!.Value).ToList();
                var perEpoch = g.Where(r => r.SecondsPerEpoch is not null).Select(r => r.SecondsPerEpoch!.Value).ToList();
                var to99 = g.Where(r => r.ToNinetyNinePercent is not null).Select(r => r.ToNinetyNinePercent!.Value).ToList();
                var first = g.Where(r => r.FirstEpochValidationAuc is not null).Select(r => r.FirstEpochValidationAuc!.Value).ToList();
                string picked = string.Join("; ", g.Select(r => r.Settings).Where(s => s is not null).Distinct());
                Console.WriteLine($"{group.Key,-24} {Cell(r => r.TestAuc),-17} {Cell(r => r.TestLogLoss),-17} " +
                    $"{(best.Count > 0 ? Format(ModelRun.Median(best), "0.#") : "-"),7} {(perEpoch.Count > 0 ? Format(ModelRun.Median(perEpoch), "F2") : "-"),8} " +
                    $"{(to99.Count > 0 ? Format(ModelRun.Median(to99.Select(t => (double)t.Epochs)), "0.#") : "-"),9} {(to99.Count > 0 ? Format(to99.Average(t => t.Seconds), "F1") : "-"),9} " +
                    $"{(first.Count > 0 ? Format(first.Average(), "F4") : "-"),11}  {picked}");
            }
        }

        private static JsonObject ToJson(List<ModelRun> runs, ClickSplit split, int threads, int epochs)
        {
            var root = new JsonObject();
            foreach (var group in runs.GroupBy(r => r.Model))
            {
                var g = group.ToList();
                var auc = g.Select(r => r.TestAuc).ToList();
                var logLoss = g.Select(r => r.TestLogLoss).ToList();
                var best = g.Where(r => r.BestEpoch is not null).Select(r => (double)r.BestEpoch!.Value).ToList();
                var perEpoch = g.Where(r => r.SecondsPerEpoch is not null).Select(r => r.SecondsPerEpoch!.Value).ToList();
                var to99 = g.Where(r => r.ToNinetyNinePercent is not null).Select(r => r.ToNinetyNinePercent!.Value).ToList();
                var model = new JsonObject
                {
                    ["test_auc"] = Round(auc.Average(), 4),
                    ["test_logloss"] = Round(logLoss.Average(), 4),
                    ["best_epoch"] = best.Count > 0 ? (int)Math.Round(ModelRun.Median(best)) : null,
                    ["seconds_per_epoch"] = perEpoch.Count > 0 ? Round(ModelRun.Median(perEpoch), 2) : null,
                };
                var curves = g.Where(r => r.ValidationAucPerEpoch is { Count: > 0 }).Select(r => r.ValidationAucPerEpoch!).ToList();
                if (curves.Count > 0)
                {
                    int length = curves.Min(c => c.Count);
                    model["val_auc_per_epoch"] = Array(Enumerable.Range(0, length).Select(e => Round(curves.Average(c => c[e]), 4)));
                    model["val_auc_epoch1"] = Round(curves.Average(c => c[0]), 4);
                }
                if (to99.Count > 0)
                {
                    model["epochs_to_99pct_best_val_auc"] = ModelRun.Median(to99.Select(t => (double)t.Epochs));
                    model["seconds_to_99pct_best_val_auc"] = Round(to99.Average(t => t.Seconds), 2);
                }
                if (g.Any(r => r.ValidationAuc is not null))
                    model["val_auc"] = Round(g.Where(r => r.ValidationAuc is not null).Average(r => r.ValidationAuc!.Value), 4);
                if (g.Any(r => r.Settings is not null))
                    model["settings"] = Array(g.Select(r => r.Settings).Distinct().Select(s => (JsonNode?)s));
                model["split"] = split.ToString().ToLowerInvariant();
                model["threads"] = threads;
                if (g.Any(r => r.BestEpoch is not null))
                    model["max_epochs"] = epochs;
                model["spread"] = new JsonObject
                {
                    ["test_auc_sd"] = Round(ModelRun.StandardDeviation(auc), 4),
                    ["test_logloss_sd"] = Round(ModelRun.StandardDeviation(logLoss), 4),
                    ["test_auc_min"] = Round(auc.Min(), 4),
                    ["test_auc_max"] = Round(auc.Max(), 4),
                };
                model["seeds"] = Array(g.Select(r => (JsonNode?)SeedJson(r)));
                root[group.Key] = model;
            }
            return root;
        }

        private static JsonObject SeedJson(ModelRun run)
        {
            var seed = new JsonObject
            {
                ["seed"] = run.Seed,
                ["test_auc"] = Round(run.TestAuc, 4),
                ["test_logloss"] = Round(run.TestLogLoss, 4),
            };
            if (run.BestEpoch is int best)
                seed["best_epoch"] = best;
            if (run.ValidationAucPerEpoch is { } curve)
                seed["val_auc_per_epoch"] = Array(curve.Select(v => Round(v, 4)));
            if (run.EpochSeconds is { } seconds)
                seed["epoch_seconds"] = Array(seconds.Select(v => Round(v, 2)));
            if (run.PretrainingSeconds is double pretraining)
                seed["pretraining_seconds"] = Round(pretraining, 2);
            if (run.ValidationAuc is double validationAuc)
                seed["val_auc"] = Round(validationAuc, 4);
            if (run.Settings is string settings)
                seed["settings"] = settings;
            if (run.FitSeconds is double fit)
                seed["fit_seconds"] = Round(fit, 2);
            if (run.TuningSeconds is double tuning)
                seed["tuning_seconds"] = Round(tuning, 2);
            return seed;
        }

        private static JsonArray Array(IEnumerable<double> values) => new(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray());

        private static JsonArray Array(IEnumerable<JsonNode?> values) => new(values.ToArray());

        private static double Round(double value, int digits) => Math.Round(value, digits, MidpointRounding.AwayFromZero);

        private static string Format(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
    }
}
