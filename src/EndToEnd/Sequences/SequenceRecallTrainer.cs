using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Numerics.Tensors;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// The training loop of <see cref="SequenceRecallEstimator"/>: every position t ≥ 1 of every user's sequence is one
    /// example (the up to T items before it → the item at t). Mini-batches are split into fixed blocks of
    /// <see cref="BlockRows"/> examples (encoder forward, logits over all items, softmax cross-entropy, encoder backward, in
    /// parallel; gradients summed in block order), then the output layer's gradient and Adam step run in parallel over fixed
    /// chunks of items. With a seed the result does not depend on the thread count.
    /// </summary>
    internal sealed class SequenceRecallTrainer : SequenceTrainerBase
    {
        /// <summary>Examples per block: the unit of parallel work.</summary>
        public const int BlockRows = 64;

        /// <summary>Items per chunk of the output layer's update.</summary>
        private const int ItemChunk = 256;

        private readonly int[] _items;
        private readonly int[] _positions;
        private readonly int[] _historyStarts;
        private readonly int[] _exampleUsers;
        private readonly float[]? _features;
        private readonly SequenceWorkspace[] _workspaces;
        private readonly float[] _outputTransposed;
        private readonly float[] _logits;
        private readonly float[] _users;
        private readonly float[] _outputGradient;
        private readonly float[] _biasGradient;
        private readonly ProposalSampler? _sampler;
        private readonly int[] _negatives = [];
        private readonly float[] _negativeLogQ = [];
        private readonly float[] _negativeOutput = [];
        private readonly float[] _negativeOutputTransposed = [];
        private readonly float[] _negativeBias = [];
        private readonly float[] _negativeGradient = [];
        private readonly float[] _negativeBiasGradient = [];
        private readonly SparseGradient? _outputRows;
        private readonly SparseGradient? _biasRows;

        /// <summary>Prepares training of <paramref name="parameters"/> (already initialised) on <paramref name="sequences"/> (item indices, oldest first).</summary>
        /// <param name="parameters">The start, trained in place.</param>
        /// <param name="sequences">Each user's items, oldest first.</param>
        /// <param name="batchSize">Examples per batch.</param>
        /// <param name="learningRate">Adam's step size.</param>
        /// <param name="beta1">Adam's β₁.</param>
        /// <param name="beta2">Adam's β₂.</param>
        /// <param name="epsilon">Adam's ε.</param>
        /// <param name="threads">Threads.</param>
        /// <param name="sampler">The proposal of the sampled softmax; null for the full softmax.</param>
        /// <param name="negatives">Negatives per batch of the sampled softmax.</param>
        /// <param name="features">Each sequence's user features [sequences × FeatureCount]; null without features.</param>
        /// <param name="token">Cancellation.</param>
        /// <param name="dropoutRate">Self-attention's dropout rate (0: none).</param>
        public SequenceRecallTrainer(SequenceRecallParameters parameters, IReadOnlyList<int[]> sequences, int batchSize, float learningRate, float beta1, float beta2,
            float epsilon, int threads, ProposalSampler? sampler, int negatives, float[]? features, CancellationToken token, float dropoutRate = 0)
            : base(parameters, batchSize, learningRate, beta1, beta2, epsilon, threads, token)
        {
            _features = features;
            var items = new List<int>();
            var positions = new List<int>();
            var starts = new List<int>();
            var users = new List<int>();
            for (int u = 0; u < sequences.Count; u++)
            {
                var sequence = sequences[u];
                int start = items.Count;
                for (int t = 1; t < sequence.Length; t++)
                {
                    positions.Add(start + t);
                    starts.Add(Math.Max(start, start + t - parameters.HistoryLength));
                    users.Add(u);
                }
                items.AddRange(sequence);
            }
            _exampleUsers = users.ToArray();
            _items = items.ToArray();
            _positions = positions.ToArray();
            _historyStarts = starts.ToArray();
            int n = parameters.ItemCount, d = parameters.Dimension;
            int rowsPerBatch = Math.Max(1, Math.Min(batchSize, _positions.Length));
            int blocks = (rowsPerBatch + BlockRows - 1) / BlockRows;
            _workspaces = new SequenceWorkspace[blocks];
            for (int b = 0; b < blocks; b++)
                _workspaces[b] = new SequenceWorkspace(parameters, BlockRows, dropoutRate) { Training = true };
            _users = new float[rowsPerBatch * d];
            _sampler = sampler;
            if (sampler is null)
            {
                _outputTransposed = new float[(long)n * d];
                _logits = new float[(long)rowsPerBatch * n];
                _outputGradient = new float[(long)n * d];
                _biasGradient = new float[n];
            }
            else
            {
                _outputTransposed = _outputGradient = _biasGradient = [];
                _logits = new float[(long)rowsPerBatch * negatives];
                _negatives = new int[negatives];
                _negativeLogQ = new float[negatives];
                _negativeOutput = new float[negatives * d];
                _negativeOutputTransposed = new float[negatives * d];
                _negativeBias = new float[negatives];
                _negativeGradient = new float[negatives * d];
                _negativeBiasGradient = new float[negatives];
                _outputRows = new SparseGradient(n, d);
                _biasRows = new SparseGradient(n, 1);
            }
        }

        /// <summary>Training examples (positions t ≥ 1).</summary>
        public override int ExampleCount => _positions.Length;

        /// <inheritdoc/>
        private protected override int UnitCount => _positions.Length;

        /// <inheritdoc/>
        private protected override double Batch(int start, int n) => _sampler is null ? FullBatch(start, n) : SampledBatch(start, n);

        /// <summary>One batch of the full softmax: logits over every item.</summary>
        private double FullBatch(int start, int n)
        {
            var p = Parameters;
            int items = p.ItemCount, d = p.Dimension;
            DenseKernels.Transpose(items, d, p.Output, _outputTransposed);
            TransposeLayers();
            int blocks = (n + BlockRows - 1) / BlockRows;
            float scale = 1f / n;
            Parallel.For(0, blocks, Parallelism, b =>
            {
                var w = Encode(start, b, n);
                int first = b * BlockRows, rows = w.Rows;
                var logits = _logits.AsSpan(first * items, rows * items);
                DenseKernels.MultiplyAdd(rows, items, d, w.User, d, 1, _outputTransposed, logits, accumulate: false);
                DenseKernels.AddToRows(rows, p.OutputBias, logits);
                double loss = 0;
                for (int r = 0; r < rows; r++)
                    loss += SequenceLayers.SoftmaxCrossEntropy(logits.Slice(r * items, items), w.Targets[r], scale);
                w.Loss = loss;
                w.User.AsSpan(0, rows * d).CopyTo(_users.AsSpan(first * d));
                DenseKernels.MultiplyAdd(rows, d, items, logits, items, 1, p.Output, w.UserGradient, accumulate: false);
                SequenceRecallNetwork.Backward(p, Transposed, w);
            });
            double total = Reduce(_workspaces, blocks);
            Optimizer.BeginStep();
            UpdateEncoder(_workspaces[0]);
            // The output layer: every item's row has a gradient (full softmax), computed and applied chunk by chunk.
            int chunks = (items + ItemChunk - 1) / ItemChunk;
            Parallel.For(0, chunks, Parallelism, c =>
            {
                int i0 = c * ItemChunk;
                int count = Math.Min(ItemChunk, items - i0);
                var logits = _logits.AsSpan(0, n * items);
                var gradient = _outputGradient.AsSpan(i0 * d, count * d);
                // dW[i] = Σ_k dL[k, i] · u_k: A = dLᵀ restricted to the chunk's columns.
                DenseKernels.MultiplyAdd(count, d, n, logits[i0..], 1, items, _users, gradient, accumulate: false);
                var bias = _biasGradient.AsSpan(i0, count);
                bias.Clear();
                for (int k = 0; k < n; k++)
                    TensorPrimitives.Add(bias, logits.Slice(k * items + i0, count), bias);
                UpdateOutputChunk(i0, count, gradient, bias);
            });
            return total;
        }

        /// <summary>Loads block <paramref name="b"/>'s histories and runs the encoder.</summary>
        private SequenceWorkspace Encode(int start, int b, int n)
        {
            var w = _workspaces[b];
            int first = b * BlockRows;
            int rows = Math.Min(BlockRows, n - first);
            w.Rows = rows;
            w.DropoutKey = DropoutKey(b);
            var p = Parameters;
            var order = Order;
            for (int r = 0; r < rows; r++)
            {
                int e = order[start + first + r];
                w.SetHistory(r, _items.AsSpan(_historyStarts[e], _positions[e] - _historyStarts[e]), p.HistoryLength);
                w.Targets[r] = _items[_positions[e]];
                if (_features is not null)
                    w.SetFeatures(r, _features.AsSpan(_exampleUsers[e] * p.FeatureCount, p.FeatureCount), p.Dimension);
            }
            SequenceRecallNetwork.Forward(p, w);
            return w;
        }

        /// <summary>
        /// One batch of the sampled softmax: S negatives drawn from the proposal Q (with replacement, from the stream (seed,
        /// epoch, batch)) are shared by the batch; each example's logits are its target's and the negatives', each less
        /// log(S·Q(item)) (the logQ correction, which makes the sampled loss's gradient an estimate of the full one); negatives
        /// equal to the example's target are left out. Only the target and negative rows of the output layer are updated.
        /// </summary>
        private double SampledBatch(int start, int n)
        {
            var p = Parameters;
            var sampler = _sampler!;
            int d = p.Dimension, count = _negatives.Length;
            var random = new Random(NetworkParameters.StreamSeed(NetworkParameters.StreamSeed(Seed, 2_000_000 + EpochNumber), BatchNumber));
            for (int s = 0; s < count; s++)
            {
                int item = sampler.Next(random);
                _negatives[s] = item;
                _negativeLogQ[s] = sampler.LogExpectedCount(item, count);
                p.Output.AsSpan(item * d, d).CopyTo(_negativeOutput.AsSpan(s * d, d));
                _negativeBias[s] = p.OutputBias[item] - _negativeLogQ[s];
            }
            DenseKernels.Transpose(count, d, _negativeOutput, _negativeOutputTransposed);
            TransposeLayers();
            int blocks = (n + BlockRows - 1) / BlockRows;
            float scale = 1f / n;
            Parallel.For(0, blocks, Parallelism, b =>
            {
                var w = Encode(start, b, n);
                int first = b * BlockRows, rows = w.Rows;
                var logits = _logits.AsSpan(first * count, rows * count);
                DenseKernels.MultiplyAdd(rows, count, d, w.User, d, 1, _negativeOutputTransposed, logits, accumulate: false);
                DenseKernels.AddToRows(rows, _negativeBias, logits);
                double loss = 0;
                for (int r = 0; r < rows; r++)
                {
                    int target = w.Targets[r];
                    var u = w.User.AsSpan(r * d, d);
                    var row = logits.Slice(r * count, count);
                    for (int s = 0; s < count; s++)
                    {
                        if (_negatives[s] == target)
                            row[s] = float.NegativeInfinity;
                    }
                    float trueLogit = TensorPrimitives.Dot(u, p.Output.AsSpan(target * d, d)) + p.OutputBias[target] - sampler.LogExpectedCount(target, count);
                    loss += SequenceLayers.SampledSoftmaxCrossEntropy(trueLogit, row, scale, out float trueGradient);
                    w.TargetGradients[r] = trueGradient;
                }
                w.Loss = loss;
                w.User.AsSpan(0, rows * d).CopyTo(_users.AsSpan(first * d));
                DenseKernels.MultiplyAdd(rows, d, count, logits, count, 1, _negativeOutput, w.UserGradient, accumulate: false);
                for (int r = 0; r < rows; r++)
                    TensorPrimitives.MultiplyAdd(p.Output.AsSpan(w.Targets[r] * d, d), w.TargetGradients[r], w.UserGradient.AsSpan(r * d, d), w.UserGradient.AsSpan(r * d, d));
                SequenceRecallNetwork.Backward(p, Transposed, w);
            });
            double total = Reduce(_workspaces, blocks);
            // The output rows: negatives' gradients over the whole batch, then each example's target, in a fixed order.
            var batchLogits = _logits.AsSpan(0, n * count);
            DenseKernels.MultiplyAdd(count, d, n, batchLogits, 1, count, _users, _negativeGradient, accumulate: false);
            Array.Clear(_negativeBiasGradient);
            for (int k = 0; k < n; k++)
                TensorPrimitives.Add(_negativeBiasGradient, batchLogits.Slice(k * count, count), _negativeBiasGradient);
            var outputRows = _outputRows!;
            var biasRows = _biasRows!;
            outputRows.NextBatch();
            biasRows.NextBatch();
            for (int s = 0; s < count; s++)
            {
                var row = outputRows.Row(_negatives[s]);
                TensorPrimitives.Add(row, _negativeGradient.AsSpan(s * d, d), row);
                biasRows.Add(_negatives[s], _negativeBiasGradient[s]);
            }
            for (int b = 0; b < blocks; b++)
            {
                var w = _workspaces[b];
                for (int r = 0; r < w.Rows; r++)
                {
                    var row = outputRows.Row(w.Targets[r]);
                    TensorPrimitives.MultiplyAdd(w.User.AsSpan(r * d, d), w.TargetGradients[r], row, row);
                    biasRows.Add(w.Targets[r], w.TargetGradients[r]);
                }
            }
            Optimizer.BeginStep();
            UpdateEncoder(_workspaces[0]);
            Optimizer.UpdateRows(p.Output, outputRows, OutputMoments.First, OutputMoments.Second);
            Optimizer.UpdateRows(p.OutputBias, biasRows, BiasMoments.First, BiasMoments.Second);
            return total;
        }

        /// <summary>
        /// The user vectors [histories × d] of <paramref name="histories"/> (each its last up to T items are used), with
        /// <paramref name="features"/> [histories × FeatureCount] when the model has user features (null: zeros).
        /// </summary>
        public static float[] Encode(SequenceRecallParameters p, IReadOnlyList<int[]> histories, int threads, float[]? features = null)
        {
            int f = p.FeatureCount;
            int d = p.Dimension;
            var users = new float[(long)histories.Count * d];
            int blocks = (histories.Count + BlockRows - 1) / BlockRows;
            int slots = Math.Max(1, Math.Min(threads, blocks));
            Parallel.For(0, slots, new ParallelOptions { MaxDegreeOfParallelism = threads }, s =>
            {
                var w = new SequenceWorkspace(p, BlockRows);
                var zeros = new float[f];
                for (int b = s; b < blocks; b += slots)
                {
                    int first = b * BlockRows;
                    w.Rows = Math.Min(BlockRows, histories.Count - first);
                    for (int r = 0; r < w.Rows; r++)
                    {
                        w.SetHistory(r, histories[first + r], p.HistoryLength);
                        if (f > 0)
                        {
                            if (features is null)
                                w.SetFeatures(r, zeros, p.Dimension);
                            else
                                w.SetFeatures(r, features.AsSpan((first + r) * f, f), p.Dimension);
                        }
                    }
                    SequenceRecallNetwork.Forward(p, w);
                    w.User.AsSpan(0, w.Rows * d).CopyTo(users.AsSpan(first * d));
                }
            });
            return users;
        }

        /// <summary>Scores of every item for one user vector: u · W_i + b_i.</summary>
        public static void Score(SequenceRecallParameters p, ReadOnlySpan<float> user, Span<float> scores)
        {
            int d = p.Dimension;
            for (int i = 0; i < p.ItemCount; i++)
                scores[i] = TensorPrimitives.Dot(user, p.Output.AsSpan(i * d, d)) + p.OutputBias[i];
        }

        /// <summary>Wall time of <paramref name="action"/>.</summary>
        public static TimeSpan Time(Action action)
        {
            var watch = Stopwatch.StartNew();
            action();
            return watch.Elapsed;
        }
    }
}
