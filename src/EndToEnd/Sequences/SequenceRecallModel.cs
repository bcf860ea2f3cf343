using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>A trained sequence recall model: the item vocabulary (id order), the parameters and the training users' vectors.</summary>
    internal sealed class SequenceRecallModel
    {
        private readonly Dictionary<string, int> _itemIndex;

        public SequenceRecallModel(string[] items, SequenceRecallParameters parameters, EmbeddingTable users, SequenceRecallTrainingSummary? summary)
        {
            Items = items;
            Parameters = parameters;
            Users = users;
            Summary = summary;
            _itemIndex = new Dictionary<string, int>(items.Length, StringComparer.Ordinal);
            for (int i = 0; i < items.Length; i++)
                _itemIndex[items[i]] = i;
        }

        public string[] Items { get; }

        public SequenceRecallParameters Parameters { get; }

        public EmbeddingTable Users { get; }

        public SequenceRecallTrainingSummary? Summary { get; }

        public int IndexOf(string item) => _itemIndex.TryGetValue(item, out int i) ? i : -1;

        /// <summary>The indices of the known items of <paramref name="history"/>, in order (unknown items left out).</summary>
        public int[] Indices(IEnumerable<string> history) => history.Select(IndexOf).Where(i => i >= 0).ToArray();

        /// <summary>The user vector of <paramref name="history"/> (its last up to T known items) and the user's <paramref name="features"/> (null: zeros).</summary>
        public float[] Encode(IEnumerable<string> history, float[]? features = null) => SequenceRecallTrainer.Encode(Parameters, new[] { Indices(history) }, 1, features);

        /// <summary>Trains a model on <paramref name="sequences"/> (each user's items, oldest first).</summary>
        /// <param name="sequences">Each user's items, oldest first.</param>
        /// <param name="features">Each user's side features [users × count], in the order of <paramref name="sequences"/>, with their count; null for none.</param>
        /// <param name="validation">Validation targets (user, item); null for none.</param>
        /// <param name="options">The settings.</param>
        /// <param name="seed">The seed.</param>
        /// <param name="token">Cancellation.</param>
        /// <param name="log">Receives each epoch.</param>
        public static SequenceRecallModel Train(IReadOnlyList<(string User, IReadOnlyList<string> Items)> sequences, (float[] Values, int Count)? features,
            IReadOnlyList<(string User, string Item)>? validation, SequenceRecallEstimator.Options options, int seed, CancellationToken token, Action<SequenceRecallEpoch>? log)
        {
            const string c = SequenceRecallEstimator.ComponentName;
            var items = sequences.SelectMany(s => s.Items).Distinct(StringComparer.Ordinal).OrderBy(i => i, IdComparer.Instance).ToArray();
            if ((long)items.Length * options.EmbeddingDimension > int.MaxValue)
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{c}: {items.Length:N0} items x EmbeddingDimension = {options.EmbeddingDimension} exceeds one table's 2^31 - 1 values. Lower EmbeddingDimension, or keep the most frequent items."));
            var index = new Dictionary<string, int>(items.Length, StringComparer.Ordinal);
            for (int i = 0; i < items.Length; i++)
                index[items[i]] = i;
            var indexed = sequences.Select(s => s.Items.Select(i => index[i]).ToArray()).ToArray();
            if (!indexed.Any(s => s.Length >= 2))
                throw new InvalidOperationException($"{c}: no user has two or more interactions, so there is no next item to learn. Give each user's interactions (column '{options.UserColumnName}').");
            int threads = options.NumberOfThreads ?? Environment.ProcessorCount;
            var p = new SequenceRecallParameters(options.Architecture, items.Length, options.EmbeddingDimension, options.HistoryLength, options.HiddenSizes, features?.Count ?? 0,
                options.Blocks, options.Heads);
            p.Initialize(seed);
            bool sampled = items.Length > options.SampledSoftmaxThreshold;
            bool windows = options.TrainingMode == SequenceRecallTrainingMode.CausalWindows;
            if (windows && sampled)
                throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture,
                    $"{c}: TrainingMode = CausalWindows trains with the full softmax, and {items.Length:N0} items exceed SampledSoftmaxThreshold = {options.SampledSoftmaxThreshold:N0} (the sampled softmax). Raise SampledSoftmaxThreshold to {items.Length:N0} or more, or use TrainingMode = NextItem."));
            long logits = (long)Math.Min(options.BatchSize, indexed.Sum(s => Math.Max(0, s.Length - 1))) * (sampled ? options.SampledNegativeCount : items.Length);
            if (!windows && logits > int.MaxValue)
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{c}: a batch's logits (BatchSize = {options.BatchSize} x {(sampled ? $"SampledNegativeCount = {options.SampledNegativeCount}" : $"{items.Length:N0} items")}) exceed 2^31 - 1 values. Lower BatchSize{(sampled ? " or SampledNegativeCount" : ", or lower SampledSoftmaxThreshold to use the sampled softmax")}."));
            ProposalSampler? sampler = null;
            if (sampled)
            {
                var counts = new long[items.Length];
                foreach (var sequence in indexed)
                {
                    foreach (int i in sequence)
                        counts[i]++;
                }
                sampler = new ProposalSampler(options.SampledSoftmaxProposal, counts);
            }
            SequenceTrainerBase trainer = windows
                ? new SequenceWindowTrainer(p, indexed, options.BatchSize, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, threads, token, options.Dropout)
                : new SequenceRecallTrainer(p, indexed, options.BatchSize, options.LearningRate, options.Beta1, options.Beta2, options.Epsilon, threads,
                    sampler, options.SampledNegativeCount, features?.Values, token, options.Dropout);

            Validation? check = null;
            if (validation is not null)
            {
                var userRow = new Dictionary<string, int>(StringComparer.Ordinal);
                for (int u = 0; u < sequences.Count; u++)
                    userRow[sequences[u].User] = u;
                check = new Validation(validation.Select(v => (userRow.TryGetValue(v.User, out int u) ? u : -1, index.TryGetValue(v.Item, out int i) ? i : -1)).ToArray(), indexed,
                    features?.Values, features?.Count ?? 0);
            }
            var epochs = new List<SequenceRecallEpoch>();
            SequenceRecallParameters? best = null;
            double bestRate = double.NegativeInfinity;
            int bestEpoch = options.NumberOfEpochs;
            for (int epoch = 1; epoch <= options.NumberOfEpochs; epoch++)
            {
                var watch = Stopwatch.StartNew();
                double loss = trainer.Epoch(seed, epoch);
                watch.Stop();
                double rate = double.NaN;
                if (check is not null)
                {
                    rate = check.HitRate(p, threads, 10);
                    if (rate > bestRate)
                    {
                        bestRate = rate;
                        bestEpoch = epoch;
                        best ??= p.Clone();
                        best.CopyFrom(p);
                    }
                }
                var report = new SequenceRecallEpoch(epoch, loss, rate, watch.Elapsed);
                epochs.Add(report);
                options.Progress?.Report(report);
                log?.Invoke(report);
            }
            var final = best ?? p;
            var userVectors = SequenceRecallTrainer.Encode(final, indexed, threads, features?.Values);
            var users = new EmbeddingTable(sequences.Select(s => s.User).ToArray(), userVectors, final.Dimension);
            var summary = new SequenceRecallTrainingSummary(epochs, bestEpoch, trainer.ExampleCount, sequences.Count, items.Length);
            return new SequenceRecallModel(items, final, users, summary);
        }

        /// <summary>
        /// Scores of every item for a block of user vectors [rows × d]: <paramref name="scores"/> [rows × items] = U · Wᵀ + b.
        /// <paramref name="outputTransposed"/> is Wᵀ [d × items].
        /// </summary>
        public static void ScoreBlock(SequenceRecallParameters p, int rows, ReadOnlySpan<float> users, ReadOnlySpan<float> outputTransposed, Span<float> scores)
        {
            DenseKernels.MultiplyAdd(rows, p.ItemCount, p.Dimension, users, p.Dimension, 1, outputTransposed, scores, accumulate: false);
            DenseKernels.AddToRows(rows, p.OutputBias, scores);
        }

        /// <summary>Full-ranking HR@k of validation targets, each ranked among the items its user has not interacted with in training.</summary>
        private sealed class Validation
        {
            private readonly (int User, int Item)[] _targets;
            private readonly int[][] _sequences;
            private readonly float[]? _features;
            private readonly int _featureCount;

            public Validation((int User, int Item)[] targets, int[][] sequences, float[]? features, int featureCount)
            {
                _targets = targets;
                _sequences = sequences;
                _features = features;
                _featureCount = featureCount;
            }

            public double HitRate(SequenceRecallParameters p, int threads, int cutoff)
            {
                if (_targets.Length == 0)
                    return 0;
                var known = _targets.Where(t => t.User >= 0 && t.Item >= 0).ToArray();
                var histories = known.Select(t => _sequences[t.User]).ToArray();
                float[]? features = null;
                if (_features is not null)
                {
                    features = new float[known.Length * _featureCount];
                    for (int k = 0; k < known.Length; k++)
                        _features.AsSpan(known[k].User * _featureCount, _featureCount).CopyTo(features.AsSpan(k * _featureCount));
                }
                var users = SequenceRecallTrainer.Encode(p, histories, threads, features);
                var transposed = new float[p.Output.Length];
                DenseKernels.Transpose(p.ItemCount, p.Dimension, p.Output, transposed);
                int n = p.ItemCount, d = p.Dimension;
                int blocks = (known.Length + SequenceRecallTrainer.BlockRows - 1) / SequenceRecallTrainer.BlockRows;
                var hits = new int[blocks];
                Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads }, () => (new float[SequenceRecallTrainer.BlockRows * n], new bool[n]), (b, _, buffers) =>
                {
                    var (scores, seen) = buffers;
                    int first = b * SequenceRecallTrainer.BlockRows;
                    int rows = Math.Min(SequenceRecallTrainer.BlockRows, known.Length - first);
                    ScoreBlock(p, rows, users.AsSpan(first * d, rows * d), transposed, scores);
                    for (int r = 0; r < rows; r++)
                    {
                        var (user, item) = known[first + r];
                        var history = _sequences[user];
                        foreach (int i in history)
                            seen[i] = true;
                        if (Rank(scores.AsSpan(r * n, n), item, seen) <= cutoff)
                            hits[b]++;
                        foreach (int i in history)
                            seen[i] = false;
                    }
                    return buffers;
                }, _ => { });
                return (double)hits.Sum() / _targets.Length;
            }
        }

        /// <summary>1 + the items not <paramref name="seen"/> scoring above the target, or equal at a smaller index (the target counts even when seen).</summary>
        public static int Rank(ReadOnlySpan<float> scores, int target, ReadOnlySpan<bool> seen)
        {
            float t = scores[target];
            int rank = 1;
            for (int i = 0; i < scores.Length; i++)
            {
                if (i == target || seen[i])
                    continue;
                if (scores[i] > t || (scores[i] == t && i < target))
                    rank++;
            }
            return rank;
        }
    }
}
