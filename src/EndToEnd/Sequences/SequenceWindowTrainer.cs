using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// The training loop of <see cref="SequenceRecallTrainingMode.CausalWindows"/> (self-attention, full softmax): each
    /// example is a window of a user's sequence (see <see cref="SequenceRecallTrainingMode.CausalWindows"/>); one causal pass
    /// gives every position's user vector, and the softmax cross-entropy over all items is taken at every position. A batch's
    /// windows are split into fixed blocks of <see cref="WindowsPerBlock"/> windows (encoder forward, logits chunk by chunk of
    /// positions, encoder backward, in parallel), each with its own output-layer gradient; the blocks' gradients are summed in
    /// block order, so with a seed the result does not depend on the thread count.
    /// </summary>
    internal sealed class SequenceWindowTrainer : ISequenceRecallTrainer
    {
        /// <summary>Positions whose logits over all items are held at once in a block.</summary>
        private const int PositionChunk = 64;

        /// <summary>Items per chunk of the output layer's update.</summary>
        private const int ItemChunk = 256;

        private readonly SequenceRecallParameters _p;
        private readonly int[] _items;
        private readonly int[] _windowStarts;
        private readonly int[] _windowLengths;
        private readonly int _batchSize;
        private readonly int _windowsPerBlock;
        private readonly CancellationToken _token;
        private readonly SequenceWorkspace[] _workspaces;
        private readonly float[][] _blockLogits;
        private readonly float[][] _blockOutputGradients;
        private readonly float[][] _blockBiasGradients;
        private readonly float[][] _transposed;
        private readonly float[] _outputTransposed;
        private readonly AdamOptimizer _optimizer;
        private readonly (float[] First, float[] Second)[] _denseMoments;
        private readonly (float[] First, float[] Second) _outputMoments;
        private readonly (float[] First, float[] Second) _biasMoments;
        private readonly (float[] First, float[] Second) _inputMoments;
        private readonly SparseGradient _inputGradient;
        private readonly ParallelOptions _parallel;
        private readonly int[] _order;
        private int _seed;
        private int _epoch;
        private int _batch;

        /// <summary>Prepares training of <paramref name="parameters"/> (self-attention, already initialised) on <paramref name="sequences"/>.</summary>
        /// <param name="parameters">The start, trained in place.</param>
        /// <param name="sequences">Each user's items, oldest first.</param>
        /// <param name="batchSize">Windows per batch.</param>
        /// <param name="learningRate">Adam's step size.</param>
        /// <param name="beta1">Adam's β₁.</param>
        /// <param name="beta2">Adam's β₂.</param>
        /// <param name="epsilon">Adam's ε.</param>
        /// <param name="threads">Threads.</param>
        /// <param name="token">Cancellation.</param>
        /// <param name="dropoutRate">Dropout rate (0: none).</param>
        public SequenceWindowTrainer(SequenceRecallParameters parameters, IReadOnlyList<int[]> sequences, int batchSize, float learningRate, float beta1, float beta2,
            float epsilon, int threads, CancellationToken token, float dropoutRate)
        {
            if (parameters.Architecture != SequenceRecallArchitecture.SelfAttention)
                throw new ArgumentException("Causal windows train the self-attention encoder only.", nameof(parameters));
            _p = parameters;
            _batchSize = batchSize;
            _token = token;
            int t = parameters.HistoryLength;
            var items = new List<int>();
            var starts = new List<int>();
            var lengths = new List<int>();
            for (int u = 0; u < sequences.Count; u++)
            {
                var sequence = sequences[u];
                int offset = items.Count;
                // From the latest target back: targets e − m + 1 .. e, inputs e − m .. e − 1.
                for (int e = sequence.Length - 1; e >= 1;)
                {
                    int m = Math.Min(t, e);
                    starts.Add(offset + e - m);
                    lengths.Add(m);
                    e -= m;
                }
                items.AddRange(sequence);
            }
            _items = items.ToArray();
            _windowStarts = starts.ToArray();
            _windowLengths = lengths.ToArray();
            ExampleCount = lengths.Sum();
            _order = new int[_windowStarts.Length];
            _windowsPerBlock = WindowsPerBlock(t);
            int n = parameters.ItemCount, d = parameters.Dimension;
            int windowsPerBatch = Math.Max(1, Math.Min(batchSize, _windowStarts.Length));
            int blocks = (windowsPerBatch + _windowsPerBlock - 1) / _windowsPerBlock;
            _workspaces = new SequenceWorkspace[blocks];
            _blockLogits = new float[blocks][];
            _blockOutputGradients = new float[blocks][];
            _blockBiasGradients = new float[blocks][];
            for (int b = 0; b < blocks; b++)
            {
                _workspaces[b] = new SequenceWorkspace(parameters, _windowsPerBlock, dropoutRate, allPositions: true) { Training = true };
                _blockLogits[b] = new float[(long)PositionChunk * n];
                _blockOutputGradients[b] = new float[(long)n * d];
                _blockBiasGradients[b] = new float[n];
            }
            _transposed = parameters.Layers.Select(l => new float[(long)l.In * l.Out]).ToArray();
            _outputTransposed = new float[(long)n * d];
            _optimizer = new AdamOptimizer(learningRate, beta1, beta2, epsilon, 0);
            _denseMoments = parameters.Weights.Concat(parameters.Biases).Select(a => (new float[a.Length], new float[a.Length])).ToArray();
            _outputMoments = (new float[parameters.Output.Length], new float[parameters.Output.Length]);
            _biasMoments = (new float[n], new float[n]);
            _inputMoments = (new float[parameters.Input.Length], new float[parameters.Input.Length]);
            _inputGradient = new SparseGradient(n, d);
            _parallel = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = token };
        }

        /// <summary>Windows per block for a window of <paramref name="historyLength"/> positions: about 2,048 positions a block (fixed by T, never by the threads).</summary>
        public static int WindowsPerBlock(int historyLength) => Math.Max(1, 2048 / historyLength);

        /// <summary>Training targets per epoch (positions t ≥ 1, each once).</summary>
        public int ExampleCount { get; }

        /// <summary>Windows per epoch.</summary>
        public int WindowCount => _windowStarts.Length;

        /// <summary>One pass over the windows in the order of (seed, epoch); returns the mean training loss per target.</summary>
        public double Epoch(int seed, int epoch)
        {
            _seed = seed;
            _epoch = epoch;
            _batch = 0;
            var random = new Random(NetworkParameters.StreamSeed(seed, 1_000_000 + epoch));
            for (int i = 0; i < _order.Length; i++)
                _order[i] = i;
            for (int i = _order.Length - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (_order[i], _order[j]) = (_order[j], _order[i]);
            }
            double loss = 0;
            for (int start = 0; start < _order.Length; start += _batchSize)
            {
                _token.ThrowIfCancellationRequested();
                int n = Math.Min(_batchSize, _order.Length - start);
                loss += Batch(start, n);
                _batch++;
            }
            double mean = loss / Math.Max(1, ExampleCount);
            if (!double.IsFinite(mean))
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{SequenceRecallEstimator.ComponentName}: training diverged in epoch {epoch} (mean loss {mean}). Lower LearningRate."));
            return mean;
        }

        /// <summary>One batch of <paramref name="n"/> windows from <paramref name="start"/> in the epoch's order; returns the summed loss.</summary>
        private double Batch(int start, int n)
        {
            var p = _p;
            int items = p.ItemCount, d = p.Dimension, t = p.HistoryLength;
            DenseKernels.Transpose(items, d, p.Output, _outputTransposed);
            for (int l = 0; l < _transposed.Length; l++)
                DenseKernels.Transpose(p.Layers[l].In, p.Layers[l].Out, p.Weights[l], _transposed[l]);
            int targets = 0;
            for (int k = 0; k < n; k++)
                targets += _windowLengths[_order[start + k]];
            float scale = 1f / targets;
            int blocks = (n + _windowsPerBlock - 1) / _windowsPerBlock;
            Parallel.For(0, blocks, _parallel, b =>
            {
                var w = _workspaces[b];
                int first = b * _windowsPerBlock;
                int rows = Math.Min(_windowsPerBlock, n - first);
                w.Rows = rows;
                // Dropout masks from (seed, epoch, batch, block): the same whatever thread runs the block.
                w.DropoutKey = SequenceLayers.Mix(SequenceLayers.Mix(SequenceLayers.Mix((ulong)(uint)_seed << 32 | (uint)_epoch) + (ulong)_batch) + (ulong)b) * 64;
                for (int r = 0; r < rows; r++)
                {
                    int window = _order[start + first + r];
                    int from = _windowStarts[window], m = _windowLengths[window];
                    w.SetHistory(r, _items.AsSpan(from, m), t);
                    var slots = w.Targets.AsSpan(r * t, t);
                    slots[..(t - m)].Fill(-1);
                    _items.AsSpan(from + 1, m).CopyTo(slots[(t - m)..]);
                }
                SequenceRecallNetwork.Forward(p, w);
                var logits = _blockLogits[b];
                var outputGradient = _blockOutputGradients[b].AsSpan();
                var biasGradient = _blockBiasGradients[b].AsSpan();
                outputGradient.Clear();
                biasGradient.Clear();
                double loss = 0;
                for (int r = 0; r < rows; r++)
                {
                    for (int s = w.FirstStep[r]; s < t; s += PositionChunk)
                    {
                        int c = Math.Min(PositionChunk, t - s), offset = (r * t + s) * d;
                        var chunk = logits.AsSpan(0, c * items);
                        var users = w.User.AsSpan(offset, c * d);
                        DenseKernels.MultiplyAdd(c, items, d, users, d, 1, _outputTransposed, chunk, accumulate: false);
                        DenseKernels.AddToRows(c, p.OutputBias, chunk);
                        for (int k = 0; k < c; k++)
                            loss += SequenceLayers.SoftmaxCrossEntropy(chunk.Slice(k * items, items), w.Targets[r * t + s + k], scale);
                        // ∂u = ∂L · W; ∂W += ∂Lᵀ · U; ∂b += Σ rows of ∂L.
                        DenseKernels.MultiplyAdd(c, d, items, chunk, items, 1, p.Output, w.UserGradient.AsSpan(offset, c * d), accumulate: false);
                        DenseKernels.MultiplyAdd(items, d, c, chunk, 1, items, users, outputGradient, accumulate: true);
                        for (int k = 0; k < c; k++)
                            TensorPrimitives.Add(biasGradient, chunk.Slice(k * items, items), biasGradient);
                    }
                }
                w.Loss = loss;
                SequenceRecallNetwork.Backward(p, _transposed, w);
            });
            double total = Reduce(blocks);
            _optimizer.BeginStep();
            UpdateEncoder();
            // The output layer: the blocks' gradients summed in block order, chunk by chunk of items.
            int chunks = (items + ItemChunk - 1) / ItemChunk;
            Parallel.For(0, chunks, _parallel, c =>
            {
                int i0 = c * ItemChunk;
                int count = Math.Min(ItemChunk, items - i0);
                var gradient = _blockOutputGradients[0].AsSpan(i0 * d, count * d);
                var bias = _blockBiasGradients[0].AsSpan(i0, count);
                for (int b = 1; b < blocks; b++)
                {
                    TensorPrimitives.Add(gradient, _blockOutputGradients[b].AsSpan(i0 * d, count * d), gradient);
                    TensorPrimitives.Add(bias, _blockBiasGradients[b].AsSpan(i0, count), bias);
                }
                _optimizer.Update(p.Output.AsSpan(i0 * d, count * d), gradient, _outputMoments.First.AsSpan(i0 * d, count * d), _outputMoments.Second.AsSpan(i0 * d, count * d));
                _optimizer.Update(p.OutputBias.AsSpan(i0, count), bias, _biasMoments.First.AsSpan(i0, count), _biasMoments.Second.AsSpan(i0, count));
            });
            return total;
        }

        private double Reduce(int blocks) => SequenceRecallTrainer.ReduceBlocks(_p, _workspaces, blocks, _inputGradient);

        private void UpdateEncoder() => SequenceRecallTrainer.UpdateEncoder(_optimizer, _p, _workspaces[0], _denseMoments, _inputMoments, _inputGradient);
    }

    /// <summary>A training loop of the sequence recall models: one epoch at a time.</summary>
    internal interface ISequenceRecallTrainer
    {
        /// <summary>Training targets per epoch.</summary>
        int ExampleCount { get; }

        /// <summary>One pass over the examples in the order of (seed, epoch); returns the mean training loss.</summary>
        double Epoch(int seed, int epoch);
    }
}
