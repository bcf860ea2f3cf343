using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
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
    internal sealed class SequenceRecallTrainer
    {
        /// <summary>Examples per block: the unit of parallel work.</summary>
        public const int BlockRows = 64;

        /// <summary>Items per chunk of the output layer's update.</summary>
        private const int ItemChunk = 256;

        private readonly SequenceRecallParameters _p;
        private readonly int[] _items;
        private readonly int[] _positions;
        private readonly int[] _historyStarts;
        private readonly int _threads;
        private readonly int _batchSize;
        private readonly CancellationToken _token;
        private readonly SequenceWorkspace[] _workspaces;
        private readonly float[][] _transposed;
        private readonly float[] _outputTransposed;
        private readonly float[] _logits;
        private readonly float[] _users;
        private readonly float[] _outputGradient;
        private readonly float[] _biasGradient;
        private readonly AdamOptimizer _optimizer;
        private readonly (float[] First, float[] Second)[] _denseMoments;
        private readonly (float[] First, float[] Second) _outputMoments;
        private readonly (float[] First, float[] Second) _biasMoments;
        private readonly (float[] First, float[] Second) _inputMoments;
        private readonly SparseGradient _inputGradient;
        private readonly ParallelOptions _parallel;
        private readonly int[] _order;

        /// <summary>Prepares training of <paramref name="parameters"/> (already initialised) on <paramref name="sequences"/> (item indices, oldest first).</summary>
        public SequenceRecallTrainer(SequenceRecallParameters parameters, IReadOnlyList<int[]> sequences, int batchSize, float learningRate, float beta1, float beta2,
            float epsilon, int threads, CancellationToken token)
        {
            _p = parameters;
            _threads = threads;
            _batchSize = batchSize;
            _token = token;
            var items = new List<int>();
            var positions = new List<int>();
            var starts = new List<int>();
            foreach (var sequence in sequences)
            {
                int start = items.Count;
                for (int t = 0; t < sequence.Length; t++)
                {
                    if (t >= 1)
                    {
                        positions.Add(start + t);
                        starts.Add(Math.Max(start, start + t - parameters.HistoryLength));
                    }
                }
                items.AddRange(sequence);
            }
            _items = items.ToArray();
            _positions = positions.ToArray();
            _historyStarts = starts.ToArray();
            _order = new int[_positions.Length];
            int n = parameters.ItemCount, d = parameters.Dimension;
            int rowsPerBatch = Math.Max(1, Math.Min(batchSize, _positions.Length));
            int blocks = (rowsPerBatch + BlockRows - 1) / BlockRows;
            _workspaces = new SequenceWorkspace[blocks];
            for (int b = 0; b < blocks; b++)
                _workspaces[b] = new SequenceWorkspace(parameters, BlockRows);
            _transposed = parameters.Layers.Select(l => new float[(long)l.In * l.Out]).ToArray();
            _outputTransposed = new float[(long)n * d];
            _logits = new float[(long)rowsPerBatch * n];
            _users = new float[rowsPerBatch * d];
            _outputGradient = new float[(long)n * d];
            _biasGradient = new float[n];
            _optimizer = new AdamOptimizer(learningRate, beta1, beta2, epsilon, 0);
            _denseMoments = parameters.Weights.Concat(parameters.Biases).Select(a => (new float[a.Length], new float[a.Length])).ToArray();
            _outputMoments = (new float[parameters.Output.Length], new float[parameters.Output.Length]);
            _biasMoments = (new float[n], new float[n]);
            _inputMoments = (new float[parameters.Input.Length], new float[parameters.Input.Length]);
            _inputGradient = new SparseGradient(n, d);
            _parallel = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = token };
        }

        /// <summary>Training examples (positions t ≥ 1).</summary>
        public int ExampleCount => _positions.Length;

        /// <summary>One pass over the examples in the order of (seed, epoch); returns the mean training loss.</summary>
        public double Epoch(int seed, int epoch)
        {
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
                loss += Batch(start, Math.Min(_batchSize, _order.Length - start));
            }
            double mean = loss / Math.Max(1, _order.Length);
            if (!double.IsFinite(mean))
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{SequenceRecallEstimator.ComponentName}: training diverged in epoch {epoch} (mean loss {mean}). Lower LearningRate."));
            return mean;
        }

        private double Batch(int start, int n)
        {
            var p = _p;
            int items = p.ItemCount, d = p.Dimension, t = p.HistoryLength;
            DenseKernels.Transpose(items, d, p.Output, _outputTransposed);
            for (int l = 0; l < _transposed.Length; l++)
                DenseKernels.Transpose(p.Layers[l].In, p.Layers[l].Out, p.Weights[l], _transposed[l]);
            int blocks = (n + BlockRows - 1) / BlockRows;
            float scale = 1f / n;
            Parallel.For(0, blocks, _parallel, b =>
            {
                var w = _workspaces[b];
                int first = b * BlockRows;
                int rows = Math.Min(BlockRows, n - first);
                w.Rows = rows;
                for (int r = 0; r < rows; r++)
                {
                    int e = _order[start + first + r];
                    w.SetHistory(r, _items.AsSpan(_historyStarts[e], _positions[e] - _historyStarts[e]), t);
                }
                SequenceRecallNetwork.Forward(p, w);
                var logits = _logits.AsSpan(first * items, rows * items);
                DenseKernels.MultiplyAdd(rows, items, d, w.User, d, 1, _outputTransposed, logits, accumulate: false);
                DenseKernels.AddToRows(rows, p.OutputBias, logits);
                double loss = 0;
                for (int r = 0; r < rows; r++)
                    loss += SequenceLayers.SoftmaxCrossEntropy(logits.Slice(r * items, items), _items[_positions[_order[start + first + r]]], scale);
                w.Loss = loss;
                w.User.AsSpan(0, rows * d).CopyTo(_users.AsSpan(first * d));
                DenseKernels.MultiplyAdd(rows, d, items, logits, items, 1, p.Output, w.UserGradient, accumulate: false);
                SequenceRecallNetwork.Backward(p, _transposed, w);
            });
            double total = 0;
            var head = _workspaces[0];
            for (int b = 0; b < blocks; b++)
            {
                var w = _workspaces[b];
                total += w.Loss;
                if (b == 0)
                    continue;
                for (int l = 0; l < p.Layers.Length; l++)
                {
                    TensorPrimitives.Add(head.WeightGradients[l], w.WeightGradients[l], head.WeightGradients[l]);
                    TensorPrimitives.Add(head.BiasGradients[l], w.BiasGradients[l], head.BiasGradients[l]);
                }
            }
            _inputGradient.NextBatch();
            for (int b = 0; b < blocks; b++)
                SequenceRecallNetwork.AccumulateInputGradient(p, _workspaces[b], _inputGradient);
            _optimizer.BeginStep();
            int layers = p.Layers.Length;
            for (int l = 0; l < layers; l++)
            {
                _optimizer.Update(p.Weights[l], head.WeightGradients[l], _denseMoments[l].First, _denseMoments[l].Second);
                _optimizer.Update(p.Biases[l], head.BiasGradients[l], _denseMoments[layers + l].First, _denseMoments[layers + l].Second);
            }
            _optimizer.UpdateRows(p.Input, _inputGradient, _inputMoments.First, _inputMoments.Second);
            // The output layer: every item's row has a gradient (full softmax), computed and applied chunk by chunk.
            int chunks = (items + ItemChunk - 1) / ItemChunk;
            Parallel.For(0, chunks, _parallel, c =>
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
                _optimizer.Update(p.Output.AsSpan(i0 * d, count * d), gradient, _outputMoments.First.AsSpan(i0 * d, count * d), _outputMoments.Second.AsSpan(i0 * d, count * d));
                _optimizer.Update(p.OutputBias.AsSpan(i0, count), bias, _biasMoments.First.AsSpan(i0, count), _biasMoments.Second.AsSpan(i0, count));
            });
            return total;
        }

        /// <summary>The user vectors [histories × d] of <paramref name="histories"/> (each its last up to T items are used).</summary>
        public static float[] Encode(SequenceRecallParameters p, IReadOnlyList<int[]> histories, int threads)
        {
            int d = p.Dimension;
            var users = new float[(long)histories.Count * d];
            int blocks = (histories.Count + BlockRows - 1) / BlockRows;
            int slots = Math.Max(1, Math.Min(threads, blocks));
            Parallel.For(0, slots, new ParallelOptions { MaxDegreeOfParallelism = threads }, s =>
            {
                var w = new SequenceWorkspace(p, BlockRows);
                for (int b = s; b < blocks; b += slots)
                {
                    int first = b * BlockRows;
                    w.Rows = Math.Min(BlockRows, histories.Count - first);
                    for (int r = 0; r < w.Rows; r++)
                        w.SetHistory(r, histories[first + r], p.HistoryLength);
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
