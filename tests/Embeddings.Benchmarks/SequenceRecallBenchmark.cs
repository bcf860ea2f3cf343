using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.Json;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The sequence recall models (YouTube DNN mean pooling and GRU) on MovieLens 100K under leave-last-out, in the shape of
    /// /work/shared/tools/e2e_recall_reference.py: per-epoch validation HR@10 (target = second-to-last item, trained on all
    /// but the last two), the epoch count chosen by it, test HR@10 / NDCG@10 (target = last item, trained on all but the
    /// last) at that count, and the median seconds per training epoch.
    /// Options: --data DIR-or-u.data (../shared/data/movielens/ml-100k) --epochs 12 --models youtube,gru --threads 2 --seed 1 --dimension 64;
    /// --negatives N forces the sampled softmax (threshold 1) with N negatives per batch, --proposal loguniform|popularity;
    /// --models sasrec adds self-attention, with --blocks (2), --heads (1), --dropout (0.2); --history (20) sets every model's history length;
    /// --windows trains sasrec with causal windows (TrainingMode = CausalWindows; --history is the window), --batch N sets
    /// BatchSize (windows per batch with --windows), --learning-rate sets Adam's step;
    /// --live prints each epoch as it ends; --validation-only skips the test fit (for choosing settings).
    /// </summary>
    internal static class SequenceRecallBenchmark
    {
        /// <summary>Prints each epoch as it ends (--live).</summary>
        private sealed class LiveProgress : IProgress<SequenceRecallEpoch>
        {
            public void Report(SequenceRecallEpoch e) =>
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"    epoch {e.Epoch}: loss {e.TrainingLoss:F4}, validation HR@10 {e.ValidationHitRate:F4}, {e.Elapsed.TotalSeconds:F2} s"));
        }

        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Time { get; set; }
        }

        public static void Run(string[] args)
        {
            string? data = Options.MovieLensRatings(args);
            if (data is null)
                return;
            int epochs = Options.Int(args, "--epochs", 12);
            int threads = Options.Int(args, "--threads", 2);
            int seed = Options.Int(args, "--seed", 1);
            int dimension = Options.Int(args, "--dimension", 64);
            var models = (Options.String(args, "--models") ?? "youtube,gru").Split(',', StringSplitOptions.RemoveEmptyEntries);
            int negatives = Options.Int(args, "--negatives", 0);
            var proposal = Options.String(args, "--proposal") == "popularity" ? SampledSoftmaxProposal.Popularity : SampledSoftmaxProposal.LogUniform;
            bool validationOnly = args.Contains("--validation-only");
            int history = Options.Int(args, "--history", SequenceRecallEstimator.Defaults.HistoryLength);
            int blocks = Options.Int(args, "--blocks", 2);
            int heads = Options.Int(args, "--heads", 1);
            float dropout = float.Parse(Options.String(args, "--dropout") ?? "0.2", CultureInfo.InvariantCulture);
            bool windows = args.Contains("--windows");
            int batch = Options.Int(args, "--batch", SequenceRecallEstimator.Defaults.BatchSize);
            float learningRate = float.Parse(Options.String(args, "--learning-rate") ?? "0.001", CultureInfo.InvariantCulture);
            void Sampling(SequenceRecallEstimator.Options o)
            {
                o.HistoryLength = history;
                o.BatchSize = batch;
                if (args.Contains("--live"))
                    o.Progress = new LiveProgress();
                o.LearningRate = learningRate;
                if (o.Architecture == SequenceRecallArchitecture.SelfAttention)
                {
                    if (windows)
                        o.TrainingMode = SequenceRecallTrainingMode.CausalWindows;
                    o.AttentionBlocks = blocks;
                    o.AttentionHeads = heads;
                    o.DropoutRate = dropout;
                }
                if (negatives <= 0)
                    return;
                o.SampledSoftmaxThreshold = 1;
                o.SampledNegativeCount = negatives;
                o.SampledSoftmaxProposal = proposal;
            }
            var split = InteractionFile.ReadSplit(data);
            Console.WriteLine($"{split.Users.Count} users, {split.Items.Count} items; {epochs} epochs, {threads} threads, seed {seed}");
            foreach (string name in models)
            {
                var architecture = name switch
                {
                    "youtube" => SequenceRecallArchitecture.MeanPooling,
                    "gru" => SequenceRecallArchitecture.Gru,
                    "sasrec" => SequenceRecallArchitecture.SelfAttention,
                    _ => throw new ArgumentException($"--models: unknown model '{name}'; use youtube, gru and/or sasrec."),
                };
                var validation = Fit(split, RankingTarget.Validation, architecture, epochs, threads, seed, dimension, withValidation: true, Sampling);
                var summary = validation.TrainingSummary!;
                int chosen = summary.BestEpoch;
                foreach (var e in summary.Epochs)
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {name} epoch {e.Epoch}: loss {e.TrainingLoss:F4}, validation HR@10 {e.ValidationHitRate:F4}, {e.Elapsed.TotalSeconds:F2} s"));
                var validationMetrics = Evaluate(split, RankingTarget.Validation, validation);
                if (validationOnly)
                {
                    var own = summary.Epochs.Select(e => e.Elapsed.TotalSeconds).Order().ToArray();
                    Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object>
                    {
                        ["model"] = name,
                        ["epochs_chosen"] = chosen,
                        ["val_hr10"] = Math.Round(validationMetrics.HitRate, 4),
                        ["val_ndcg10"] = Math.Round(validationMetrics.Ndcg, 4),
                        ["seconds_per_epoch"] = Math.Round(own[own.Length / 2], 2),
                    }));
                    continue;
                }
                var test = Fit(split, RankingTarget.Test, architecture, chosen, threads, seed, dimension, withValidation: false, Sampling);
                var testMetrics = Evaluate(split, RankingTarget.Test, test);
                var seconds = summary.Epochs.Concat(test.TrainingSummary!.Epochs).Select(e => e.Elapsed.TotalSeconds).Order().ToArray();
                var report = new Dictionary<string, object>
                {
                    ["model"] = name,
                    ["epochs_chosen"] = chosen,
                    ["val_hr10"] = Math.Round(validationMetrics.HitRate, 4),
                    ["val_ndcg10"] = Math.Round(validationMetrics.Ndcg, 4),
                    ["test_hr10"] = Math.Round(testMetrics.HitRate, 4),
                    ["test_ndcg10"] = Math.Round(testMetrics.Ndcg, 4),
                    ["val_hr10_per_epoch"] = summary.Epochs.Select(e => Math.Round(e.ValidationHitRate, 4)).ToArray(),
                    ["seconds_per_epoch"] = Math.Round(seconds[seconds.Length / 2], 2),
                    ["threads"] = threads,
                    ["softmax"] = negatives > 0 ? $"sampled {negatives} {proposal}" : "full",
                };
                Console.WriteLine(JsonSerializer.Serialize(report));
            }
        }

        private static SequenceRecallTransformer Fit(LeaveLastOutSplit split, RankingTarget target, SequenceRecallArchitecture architecture, int epochs, int threads, int seed,
            int dimension, bool withValidation, Action<SequenceRecallEstimator.Options> configure)
        {
            var ml = new MLContext(seed);
            var rows = split.TrainingSequences(target).SelectMany(s => s.Items.Select((item, t) => new Row { User = s.User, Item = item, Time = t }));
            var train = ml.Data.LoadFromEnumerable(rows);
            IDataView? validation = withValidation
                ? ml.Data.LoadFromEnumerable(split.Users.Select(u => new Row { User = u, Item = split.Target(u, target) }))
                : null;
            var options = new SequenceRecallEstimator.Options
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                TimestampColumnName = "Time",
                Architecture = architecture,
                EmbeddingDimension = dimension,
                NumberOfEpochs = epochs,
                NumberOfThreads = threads,
                Seed = seed,
            };
            configure(options);
            return ml.Embeddings().SequenceRecall(options).Fit(train, validation);
        }

        /// <summary>The protocol's evaluator over the model's own scores of each user's training-user vector.</summary>
        private static LeaveLastOutMetrics Evaluate(LeaveLastOutSplit split, RankingTarget target, SequenceRecallTransformer model)
        {
            var position = split.Items.Select((item, i) => (item, i)).ToDictionary(p => p.item, p => p.i, StringComparer.Ordinal);
            var rows = model.ItemEmbeddings.Keys.Select(k => position[k]).ToArray();
            var local = new float[model.ItemEmbeddings.Count];
            return LeaveLastOutEvaluator.Evaluate(split, target, (user, scores) =>
            {
                model.Score(split.Training(user, target), local);
                for (int i = 0; i < rows.Length; i++)
                    scores[rows[i]] = local[i];
            });
        }
    }
}
