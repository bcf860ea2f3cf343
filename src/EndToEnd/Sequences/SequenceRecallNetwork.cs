using System;
using System.Numerics.Tensors;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>The buffers of one block of up to <see cref="Capacity"/> histories: allocated once, reused for every block.</summary>
    internal sealed class SequenceWorkspace
    {
        public SequenceWorkspace(SequenceRecallParameters p, int capacity)
        {
            Capacity = capacity;
            int d = p.Dimension, t = p.HistoryLength;
            History = new int[capacity * t];
            Counts = new int[capacity];
            FirstStep = new int[capacity];
            Targets = new int[capacity];
            TargetGradients = new float[capacity];
            User = new float[capacity * d];
            UserGradient = new float[capacity * d];
            WeightGradients = new float[p.Weights.Length][];
            BiasGradients = new float[p.Biases.Length][];
            for (int l = 0; l < p.Layers.Length; l++)
            {
                WeightGradients[l] = new float[p.Weights[l].Length];
                BiasGradients[l] = new float[p.Biases[l].Length];
            }
            if (p.Architecture == SequenceRecallArchitecture.MeanPooling)
            {
                Activations = new float[p.Layers.Length + 1][];
                Activations[0] = new float[capacity * p.PooledWidth];
                for (int l = 0; l < p.Layers.Length; l++)
                    Activations[l + 1] = new float[capacity * p.Layers[l].Out];
                ActivationGradient = new float[capacity * p.MaxLayerWidth];
                ActivationGradient2 = new float[capacity * p.MaxLayerWidth];
                Inputs = Gates = HiddenGates = States = GatesGradient = HiddenGatesGradient = InputGradient = [];
            }
            else
            {
                Activations = [];
                ActivationGradient = ActivationGradient2 = [];
                Inputs = new float[t * capacity * d];
                Gates = new float[t * capacity * 3 * d];
                HiddenGates = new float[t * capacity * 3 * d];
                States = new float[(t + 1) * capacity * d];
                GatesGradient = new float[t * capacity * 3 * d];
                HiddenGatesGradient = new float[t * capacity * 3 * d];
                InputGradient = new float[t * capacity * d];
            }
        }

        public int Capacity { get; }

        public int Rows { get; set; }

        /// <summary>Item of each history slot, row-major [rows × T], left-padded with −1.</summary>
        public int[] History { get; }

        public int[] Counts { get; }

        public int[] FirstStep { get; }

        /// <summary>Each row's next item (training).</summary>
        public int[] Targets { get; }

        /// <summary>The gradient of each row's true logit (sampled softmax).</summary>
        public float[] TargetGradients { get; }

        /// <summary>The user vectors of the block [rows × d].</summary>
        public float[] User { get; }

        public float[] UserGradient { get; }

        public float[][] WeightGradients { get; }

        public float[][] BiasGradients { get; }

        public float[][] Activations { get; }

        public float[] ActivationGradient { get; private set; }

        public float[] ActivationGradient2 { get; private set; }

        public float[] Inputs { get; }

        public float[] Gates { get; }

        public float[] HiddenGates { get; }

        public float[] States { get; }

        public float[] GatesGradient { get; }

        public float[] HiddenGatesGradient { get; }

        public float[] InputGradient { get; }

        public double Loss { get; set; }

        /// <summary>Sets row <paramref name="row"/>'s history to the last up to T items of <paramref name="items"/> (left-padded).</summary>
        public void SetHistory(int row, ReadOnlySpan<int> items, int historyLength)
        {
            if (items.Length > historyLength)
                items = items[^historyLength..];
            var slots = History.AsSpan(row * historyLength, historyLength);
            int pad = historyLength - items.Length;
            slots[..pad].Fill(-1);
            items.CopyTo(slots[pad..]);
            Counts[row] = items.Length;
            FirstStep[row] = pad;
        }

        /// <summary>Sets row <paramref name="row"/>'s user features (mean pooling with features only).</summary>
        public void SetFeatures(int row, ReadOnlySpan<float> features, int dimension)
        {
            int width = dimension + features.Length;
            features.CopyTo(Activations[0].AsSpan(row * width + dimension, features.Length));
        }

        public void SwapActivationGradients() => (ActivationGradient, ActivationGradient2) = (ActivationGradient2, ActivationGradient);
    }

    /// <summary>The encoder of the sequence recall models: history → user vector, forward and backward over a block.</summary>
    internal static class SequenceRecallNetwork
    {
        /// <summary>Computes <see cref="SequenceWorkspace.User"/> for the workspace's rows and histories.</summary>
        public static void Forward(SequenceRecallParameters p, SequenceWorkspace w)
        {
            int rows = w.Rows, d = p.Dimension, t = p.HistoryLength;
            if (p.Architecture == SequenceRecallArchitecture.MeanPooling)
            {
                var pooled = w.Activations[0];
                int width = p.PooledWidth;
                for (int r = 0; r < rows; r++)
                {
                    var target = pooled.AsSpan(r * width, d);
                    target.Clear();
                    int count = w.Counts[r];
                    if (count == 0)
                        continue;
                    foreach (int item in w.History.AsSpan(r * t + t - count, count))
                        TensorPrimitives.Add(target, p.Input.AsSpan(item * d, d), target);
                    TensorPrimitives.Multiply(target, 1f / count, target);
                }
                for (int l = 0; l < p.Layers.Length; l++)
                {
                    var (i, o) = p.Layers[l];
                    Layers.DenseForward(rows, i, o, w.Activations[l], p.Weights[l], p.Biases[l], w.Activations[l + 1], relu: l < p.Layers.Length - 1);
                }
                w.Activations[^1].AsSpan(0, rows * d).CopyTo(w.User);
                return;
            }
            int start = Start(w, rows, t);
            var x = w.Inputs.AsSpan(0, t * rows * d);
            for (int s = start; s < t; s++)
            {
                for (int r = 0; r < rows; r++)
                {
                    int item = w.History[r * t + s];
                    var slot = x.Slice((s * rows + r) * d, d);
                    if (item < 0)
                        slot.Clear();
                    else
                        p.Input.AsSpan(item * d, d).CopyTo(slot);
                }
            }
            SequenceLayers.GruForward(rows, t, d, w.FirstStep, start, x, p.Weights[0], p.Biases[0], p.Weights[1], p.Biases[1], w.Gates, w.HiddenGates, w.States);
            w.States.AsSpan(t * rows * d, rows * d).CopyTo(w.User);
        }

        /// <summary>
        /// From <see cref="SequenceWorkspace.UserGradient"/> (overwritten): writes the encoder's parameter gradients into the
        /// workspace's gradient buffers (overwriting them) and keeps the input embedding gradients in the workspace for
        /// <see cref="AccumulateInputGradient"/>. <paramref name="transposed"/> holds each layer's Wᵀ.
        /// </summary>
        public static void Backward(SequenceRecallParameters p, float[][] transposed, SequenceWorkspace w)
        {
            int rows = w.Rows, d = p.Dimension, t = p.HistoryLength;
            if (p.Architecture == SequenceRecallArchitecture.MeanPooling)
            {
                w.UserGradient.AsSpan(0, rows * d).CopyTo(w.ActivationGradient);
                for (int l = p.Layers.Length - 1; l >= 0; l--)
                {
                    var (i, o) = p.Layers[l];
                    Layers.DenseBackward(rows, i, o, w.Activations[l], transposed[l], w.ActivationGradient, w.WeightGradients[l], w.BiasGradients[l],
                        w.ActivationGradient2, accumulateParameters: false, accumulateInput: false);
                    if (l > 0)
                        DenseKernels.MaskByPositive(w.Activations[l].AsSpan(0, rows * i), w.ActivationGradient2.AsSpan(0, rows * i));
                    w.SwapActivationGradients();
                }
                return;
            }
            int start = Start(w, rows, t);
            for (int l = 0; l < 2; l++)
            {
                w.WeightGradients[l].AsSpan().Clear();
                w.BiasGradients[l].AsSpan().Clear();
            }
            var dh = w.UserGradient.AsSpan(0, rows * d);
            SequenceLayers.GruBackward(rows, t, d, w.FirstStep, start, w.Inputs, transposed[0], transposed[1], w.Gates, w.HiddenGates, w.States, dh,
                w.GatesGradient, w.HiddenGatesGradient, w.WeightGradients[0], w.BiasGradients[0], w.WeightGradients[1], w.BiasGradients[1], w.InputGradient);
        }

        /// <summary>Adds the block's input embedding gradients (left by <see cref="Backward"/>) to <paramref name="inputGradient"/>, row by row, step by step.</summary>
        public static void AccumulateInputGradient(SequenceRecallParameters p, SequenceWorkspace w, SparseGradient inputGradient)
        {
            int rows = w.Rows, d = p.Dimension, t = p.HistoryLength;
            if (p.Architecture == SequenceRecallArchitecture.MeanPooling)
            {
                for (int r = 0; r < rows; r++)
                {
                    int count = w.Counts[r];
                    if (count == 0)
                        continue;
                    var g = w.ActivationGradient.AsSpan(r * p.PooledWidth, d);
                    float share = 1f / count;
                    foreach (int item in w.History.AsSpan(r * t + t - count, count))
                    {
                        var target = inputGradient.Row(item);
                        TensorPrimitives.MultiplyAdd(g, share, target, target);
                    }
                }
                return;
            }
            for (int r = 0; r < rows; r++)
            {
                for (int s = w.FirstStep[r]; s < t; s++)
                {
                    var target = inputGradient.Row(w.History[r * t + s]);
                    TensorPrimitives.Add(target, w.InputGradient.AsSpan((s * rows + r) * d, d), target);
                }
            }
        }

        /// <summary>The first step any row of the block uses (T when every history is empty).</summary>
        private static int Start(SequenceWorkspace w, int rows, int t)
        {
            int start = t;
            for (int r = 0; r < rows; r++)
                start = Math.Min(start, w.FirstStep[r]);
            return start;
        }
    }
}
