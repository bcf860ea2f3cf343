using System;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// What the training loops of the sequence recall models share (<see cref="SequenceRecallTrainer"/>, one example per
    /// position; <see cref="SequenceWindowTrainer"/>, causal windows): the epoch's shuffled order and its batches, the
    /// blocks' dropout keys, the encoder's gradients summed in block order, and Adam's state and steps for the encoder and
    /// the output layer. A subclass trains one batch (<see cref="Batch"/>) of its own units (examples or windows).
    /// </summary>
    internal abstract class SequenceTrainerBase
    {
        private readonly (float[] First, float[] Second)[] _denseMoments;
        private readonly (float[] First, float[] Second) _inputMoments;
        private readonly SparseGradient _inputGradient;
        private readonly int _batchSize;
        private int[]? _order;

        /// <summary>Adam's state for <paramref name="parameters"/> (already initialised, trained in place).</summary>
        private protected SequenceTrainerBase(SequenceRecallParameters parameters, int batchSize, float learningRate, float beta1, float beta2, float epsilon,
            int threads, CancellationToken token)
        {
            Parameters = parameters;
            _batchSize = batchSize;
            Token = token;
            int n = parameters.ItemCount;
            Transposed = parameters.Layers.Select(l => new float[(long)l.In * l.Out]).ToArray();
            Optimizer = new AdamOptimizer(learningRate, beta1, beta2, epsilon, 0);
            _denseMoments = parameters.Weights.Concat(parameters.Biases).Select(a => (new float[a.Length], new float[a.Length])).ToArray();
            OutputMoments = (new float[parameters.Output.Length], new float[parameters.Output.Length]);
            BiasMoments = (new float[n], new float[n]);
            _inputMoments = (new float[parameters.Input.Length], new float[parameters.Input.Length]);
            _inputGradient = new SparseGradient(n, parameters.Dimension);
            Parallelism = new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = token };
        }

        /// <summary>Training targets per epoch: the denominator of the mean loss.</summary>
        public abstract int ExampleCount { get; }

        /// <summary>The units an epoch shuffles and cuts into batches (examples or windows).</summary>
        private protected abstract int UnitCount { get; }

        /// <summary>The model being trained.</summary>
        private protected SequenceRecallParameters Parameters { get; }

        /// <summary>Cancellation.</summary>
        private protected CancellationToken Token { get; }

        /// <summary>The encoder's weight matrices transposed (<see cref="TransposeLayers"/>), for the backward pass.</summary>
        private protected float[][] Transposed { get; }

        /// <summary>Adam, one step per batch.</summary>
        private protected AdamOptimizer Optimizer { get; }

        /// <summary>Adam's moments of the output layer.</summary>
        private protected (float[] First, float[] Second) OutputMoments { get; }

        /// <summary>Adam's moments of the output biases.</summary>
        private protected (float[] First, float[] Second) BiasMoments { get; }

        /// <summary>The threads and cancellation of the parallel loops.</summary>
        private protected ParallelOptions Parallelism { get; }

        /// <summary>This epoch's order of the units.</summary>
        private protected int[] Order => _order!;

        /// <summary>The seed of the running epoch.</summary>
        private protected int Seed { get; private set; }

        /// <summary>The running epoch.</summary>
        private protected int EpochNumber { get; private set; }

        /// <summary>The running batch within the epoch.</summary>
        private protected int BatchNumber { get; private set; }

        /// <summary>One pass over the units in the order of (seed, epoch); returns the mean training loss per target.</summary>
        public double Epoch(int seed, int epoch)
        {
            Seed = seed;
            EpochNumber = epoch;
            BatchNumber = 0;
            var order = _order ??= new int[UnitCount];
            var random = new Random(NetworkParameters.StreamSeed(seed, 1_000_000 + epoch));
            for (int i = 0; i < order.Length; i++)
                order[i] = i;
            for (int i = order.Length - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            double loss = 0;
            for (int start = 0; start < order.Length; start += _batchSize)
            {
                Token.ThrowIfCancellationRequested();
                int n = Math.Min(_batchSize, order.Length - start);
                loss += Batch(start, n);
                BatchNumber++;
            }
            double mean = loss / Math.Max(1, ExampleCount);
            if (!double.IsFinite(mean))
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"{SequenceRecallEstimator.ComponentName}: training diverged in epoch {epoch} (mean loss {mean}). Lower LearningRate."));
            return mean;
        }

        /// <summary>Trains the <paramref name="n"/> units of <see cref="Order"/> from <paramref name="start"/>; returns their summed loss.</summary>
        private protected abstract double Batch(int start, int n);

        /// <summary>Fills <see cref="Transposed"/> from the current weights.</summary>
        private protected void TransposeLayers()
        {
            var p = Parameters;
            for (int l = 0; l < Transposed.Length; l++)
                DenseKernels.Transpose(p.Layers[l].In, p.Layers[l].Out, p.Weights[l], Transposed[l]);
        }

        /// <summary>The dropout key of block <paramref name="block"/> of the running batch: from (seed, epoch, batch, block), the same whatever thread runs the block.</summary>
        private protected ulong DropoutKey(int block) =>
            SequenceLayers.Mix(SequenceLayers.Mix(SequenceLayers.Mix((ulong)(uint)Seed << 32 | (uint)EpochNumber) + (ulong)BatchNumber) + (ulong)block) * 64;

        /// <summary>
        /// Sums the first <paramref name="blocks"/> workspaces' encoder gradients into block 0's, in block order, and their
        /// input embedding gradients into the batch's sparse input gradient; returns the summed loss.
        /// </summary>
        private protected double Reduce(SequenceWorkspace[] workspaces, int blocks)
        {
            var p = Parameters;
            double total = 0;
            var head = workspaces[0];
            for (int b = 0; b < blocks; b++)
            {
                var w = workspaces[b];
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
                SequenceRecallNetwork.AccumulateInputGradient(p, workspaces[b], _inputGradient);
            return total;
        }

        /// <summary>Adam on the encoder's layers (gradients in <paramref name="head"/>, block 0 after <see cref="Reduce"/>) and the input embeddings, after <see cref="AdamOptimizer.BeginStep"/>.</summary>
        private protected void UpdateEncoder(SequenceWorkspace head)
        {
            var p = Parameters;
            int layers = p.Layers.Length;
            for (int l = 0; l < layers; l++)
            {
                Optimizer.Update(p.Weights[l], head.WeightGradients[l], _denseMoments[l].First, _denseMoments[l].Second);
                Optimizer.Update(p.Biases[l], head.BiasGradients[l], _denseMoments[layers + l].First, _denseMoments[layers + l].Second);
            }
            Optimizer.UpdateRows(p.Input, _inputGradient, _inputMoments.First, _inputMoments.Second);
        }

        /// <summary>Adam on items <paramref name="first"/> .. <paramref name="first"/> + <paramref name="count"/> − 1 of the output layer and its biases.</summary>
        private protected void UpdateOutputChunk(int first, int count, Span<float> gradient, Span<float> biasGradient)
        {
            var p = Parameters;
            int d = p.Dimension;
            Optimizer.Update(p.Output.AsSpan(first * d, count * d), gradient, OutputMoments.First.AsSpan(first * d, count * d), OutputMoments.Second.AsSpan(first * d, count * d));
            Optimizer.Update(p.OutputBias.AsSpan(first, count), biasGradient, BiasMoments.First.AsSpan(first, count), BiasMoments.Second.AsSpan(first, count));
        }
    }
}
