using System;
using System.Collections.Generic;
using System.Linq;

namespace Embeddings.Benchmarks
{
    /// <summary>The figures of one model trained with one seed in the end-to-end benchmark.</summary>
    internal sealed class ModelRun
    {
        public ModelRun(string model, int seed, double testAuc, double testLogLoss)
        {
            Model = model;
            Seed = seed;
            TestAuc = testAuc;
            TestLogLoss = testLogLoss;
        }

        /// <summary>The model's name in the JSON output (lr, fm, ..., mlnet_ffm).</summary>
        public string Model { get; }

        public int Seed { get; }

        /// <summary>Test AUC of the model kept (best validation epoch or setting).</summary>
        public double TestAuc { get; }

        /// <summary>Test log-loss in nats.</summary>
        public double TestLogLoss { get; }

        /// <summary>The 1-based epoch whose parameters were kept (end-to-end models).</summary>
        public int? BestEpoch { get; init; }

        /// <summary>Validation AUC after each epoch (end-to-end models; FNN: its final stage).</summary>
        public IReadOnlyList<double>? ValidationAucPerEpoch { get; init; }

        /// <summary>Training seconds of each epoch (validation scoring excluded).</summary>
        public IReadOnlyList<double>? EpochSeconds { get; init; }

        /// <summary>Seconds spent before the final stage (FNN: its factorization machine's epochs).</summary>
        public double? PretrainingSeconds { get; init; }

        /// <summary>Validation AUC of the chosen setting (baselines) or of the best epoch.</summary>
        public double? ValidationAuc { get; init; }

        /// <summary>The setting picked on validation (baselines: their grids; our models: the learning rate).</summary>
        public string? Settings { get; init; }

        /// <summary>Seconds of the kept model's fit.</summary>
        public double? FitSeconds { get; init; }

        /// <summary>Seconds of every candidate's fit together (baselines).</summary>
        public double? TuningSeconds { get; init; }

        /// <summary>Median training seconds per epoch.</summary>
        public double? SecondsPerEpoch => EpochSeconds is { Count: > 0 } s ? Median(s) : null;

        /// <summary>Validation AUC after the first epoch.</summary>
        public double? FirstEpochValidationAuc => ValidationAucPerEpoch is { Count: > 0 } v ? v[0] : null;

        /// <summary>The first epoch whose validation AUC reaches 99% of the best one, and the training seconds until its end.</summary>
        public (int Epochs, double Seconds)? ToNinetyNinePercent
        {
            get
            {
                if (ValidationAucPerEpoch is not { Count: > 0 } auc || EpochSeconds is null)
                    return null;
                double target = 0.99 * auc.Max();
                double seconds = 0;
                for (int e = 0; e < auc.Count; e++)
                {
                    seconds += e < EpochSeconds.Count ? EpochSeconds[e] : 0;
                    if (auc[e] >= target)
                        return (e + 1, seconds);
                }
                return null;
            }
        }

        public static double Median(IEnumerable<double> values)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            if (sorted.Length == 0)
                return double.NaN;
            int m = sorted.Length / 2;
            return sorted.Length % 2 == 1 ? sorted[m] : (sorted[m - 1] + sorted[m]) / 2;
        }

        /// <summary>Sample standard deviation (0 for one value).</summary>
        public static double StandardDeviation(IReadOnlyCollection<double> values)
        {
            if (values.Count < 2)
                return 0;
            double mean = values.Average();
            return Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (values.Count - 1));
        }
    }
}
