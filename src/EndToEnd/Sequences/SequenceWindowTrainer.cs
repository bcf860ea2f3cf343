using System;
using System.Collections.Generic;
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
    internal sealed class SequenceWindowTrainer : SequenceTrainerBase
    {
        /// <summary>Positions whose logits over all items are held at once in a block.</summary>
        private const int PositionChunk = 64;

        /// <summary>Items per chunk of the output layer's update.</summary>
        private const int ItemChunk = 256;

        private readonly int[] _items;
        private readonly int[] _windowStarts;
        private readonly int[] _windowLengths;
        private readonly int _windowsPerBlock;
        private readonly SequenceWorkspace[] _workspaces;
        private readonly float[][] _blockLogits;
        private readonly float[][] _blockOutputGradients;
        private readonly float[][] _blockBiasGradients;
        private readonly float[] _outputTransposed;

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
            : base(parameters, batchSize, learningRate, beta1, beta2, epsilon, threads, token)
        {
            if (parameters.Architecture != SequenceRecallArchitecture.SelfAttention)
                throw new ArgumentException("Causal windows train the self-attention encoder only.", nameof(parameters));
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
            _outputTransposed = new float[(long)n * d];
        }

        /// <summary>Windows per block for a window of <paramref name="historyLength"/> positions: about 2,048 positions a block (fixed by T, never by the threads).</summary>
        public static int WindowsPerBlock(int historyLength) => Math.Max(1, 2048 / historyLength);

        /// <summary>Training targets per epoch (positions t ≥ 1, each once).</summary>
        public override int ExampleCount { get; }

        /// <summary>Windows per epoch.</summary>
        public int WindowCount => _windowStarts.Length;

        /// <inheritdoc/>
        private protected override int UnitCount => _windowStarts.Length;

        /// <summary>One batch of <paramref name="n"/> windows from <paramref name="start"/> in the epoch's order; returns the summed loss.</summary>
        private protected override double Batch(int start, int n)
        {
            var p = Parameters;
            var order = Order;
            int items = p.ItemCount, d = p.Dimension, t = p.HistoryLength;
            DenseKernels.Transpose(items, d, p.Output, _outputTransposed);
            TransposeLayers();
            int targets = 0;
            for (int k = 0; k < n; k++)
                targets += _windowLengths[order[start + k]];
            float scale = 1f / targets;
            int blocks = (n + _windowsPerBlock - 1) / _windowsPerBlock;
            Parallel.For(0, blocks, Parallelism, b =>
            {
                var w = _workspaces[b];
                int first = b * _windowsPerBlock;
                int rows = Math.Min(_windowsPerBlock, n - first);
                w.Rows = rows;
                w.DropoutKey = DropoutKey(b);
                for (int r = 0; r < rows; r++)
                {
                    int window = order[start + first + r];
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
                SequenceRecallNetwork.Backward(p, Transposed, w);
            });
            double total = Reduce(_workspaces, blocks);
            Optimizer.BeginStep();
            UpdateEncoder(_workspaces[0]);
            // The output layer: the blocks' gradients summed in block order, chunk by chunk of items.
            int chunks = (items + ItemChunk - 1) / ItemChunk;
            Parallel.For(0, chunks, Parallelism, c =>
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
                UpdateOutputChunk(i0, count, gradient, bias);
            });
            return total;
        }
    }
}
