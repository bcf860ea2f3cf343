using System;
using System.Linq;
using System.Numerics.Tensors;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>The buffers of one block of up to <see cref="Capacity"/> histories: allocated once, reused for every block.</summary>
    internal sealed class SequenceWorkspace
    {
        /// <param name="p">The parameters whose shapes the buffers take.</param>
        /// <param name="capacity">Rows per block.</param>
        /// <param name="dropoutRate">Self-attention's dropout rate when <see cref="Training"/> (0: none).</param>
        /// <param name="allPositions">Self-attention only: a user vector (and a target) at every slot of every row, not only the last (causal windows).</param>
        public SequenceWorkspace(SequenceRecallParameters p, int capacity, float dropoutRate = 0, bool allPositions = false)
        {
            if (allPositions && p.Architecture != SequenceRecallArchitecture.SelfAttention)
                throw new ArgumentException("Only the self-attention encoder has a user vector at every position.", nameof(allPositions));
            Capacity = capacity;
            DropoutRate = dropoutRate;
            AllPositions = allPositions;
            int d = p.Dimension, t = p.HistoryLength;
            // Vectors per row: every slot's with all positions, else the last slot's.
            int outputs = allPositions ? capacity * t : capacity;
            History = new int[capacity * t];
            Counts = new int[capacity];
            FirstStep = new int[capacity];
            Targets = new int[outputs];
            TargetGradients = new float[capacity];
            User = new float[outputs * d];
            UserGradient = new float[outputs * d];
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
            else if (p.Architecture == SequenceRecallArchitecture.SelfAttention)
            {
                Activations = [];
                ActivationGradient = ActivationGradient2 = [];
                Inputs = Gates = HiddenGates = States = GatesGradient = HiddenGatesGradient = [];
                int blocks = p.AttentionBlocks, n = capacity * t * d;
                float[][] Arrays(int count, int length) => Enumerable.Range(0, count).Select(_ => new float[length]).ToArray();
                Stream = Arrays(blocks + 1, n);
                Middle = Arrays(blocks, n);
                Normalized1 = Arrays(blocks, n);
                Deviation1 = Arrays(blocks, capacity * t);
                Norm1 = Arrays(blocks, n);
                Qkv = Arrays(blocks, 3 * n);
                Probabilities = Arrays(blocks, capacity * p.AttentionHeads * t * t);
                Context = Arrays(blocks, n);
                Normalized2 = Arrays(blocks, n);
                Deviation2 = Arrays(blocks, capacity * t);
                Norm2 = Arrays(blocks, n);
                Hidden = Arrays(blocks, n);
                InputMask = dropoutRate > 0 ? new float[n] : [];
                AttentionMask = Arrays(blocks, dropoutRate > 0 ? n : 0);
                FeedForwardMask = Arrays(blocks, dropoutRate > 0 ? n : 0);
                FinalNormalized = new float[outputs * d];
                FinalDeviation = new float[outputs];
                Sublayer = new float[n];
                QkvGradient = new float[3 * n];
                ContextGradient = new float[n];
                HiddenGradient = new float[n];
                NormGradient = new float[n];
                Scratch = new float[Math.Max(t, d)];
                // ∂loss/∂(input + position) of every slot, row-major [R × T × d], for AccumulateInputGradient.
                InputGradient = new float[n];
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

        /// <summary>
        /// Self-attention with causal windows: <see cref="User"/>, <see cref="UserGradient"/> and <see cref="Targets"/> hold
        /// every slot of every row, row-major [rows × T] (zero vectors at padded slots); otherwise one per row (the last slot).
        /// </summary>
        public bool AllPositions { get; }

        /// <summary>Self-attention's dropout rate, applied when <see cref="Training"/>.</summary>
        public float DropoutRate { get; }

        /// <summary>True while training (dropout on); false when encoding.</summary>
        public bool Training { get; set; }

        /// <summary>The key of the block's dropout masks (set by the trainer from seed, epoch, batch and block).</summary>
        public ulong DropoutKey { get; set; }

        // Self-attention, row-major [R × T × d] unless noted; per block b where an array of arrays.

        /// <summary>The residual stream entering block b (index blocks: leaving the last block).</summary>
        public float[][] Stream { get; } = [];

        /// <summary>The stream after block b's attention sublayer.</summary>
        public float[][] Middle { get; } = [];

        public float[][] Normalized1 { get; } = [];

        public float[][] Deviation1 { get; } = [];

        public float[][] Norm1 { get; } = [];

        /// <summary>Queries, keys and values [R·T × 3d].</summary>
        public float[][] Qkv { get; } = [];

        /// <summary>Attention weights [R × heads × T × T].</summary>
        public float[][] Probabilities { get; } = [];

        public float[][] Context { get; } = [];

        public float[][] Normalized2 { get; } = [];

        public float[][] Deviation2 { get; } = [];

        public float[][] Norm2 { get; } = [];

        /// <summary>The feed-forward hidden layer after its ReLU.</summary>
        public float[][] Hidden { get; } = [];

        public float[] InputMask { get; } = [];

        public float[][] AttentionMask { get; } = [];

        public float[][] FeedForwardMask { get; } = [];

        /// <summary>The final layer norm's x̂ of each row's last slot [R × d] (of every slot [R × T × d] with <see cref="AllPositions"/>).</summary>
        public float[] FinalNormalized { get; } = [];

        public float[] FinalDeviation { get; } = [];

        /// <summary>A sublayer's output before dropout, and its gradient after.</summary>
        public float[] Sublayer { get; } = [];

        public float[] QkvGradient { get; } = [];

        public float[] ContextGradient { get; } = [];

        public float[] HiddenGradient { get; } = [];

        public float[] NormGradient { get; } = [];

        public float[] Scratch { get; } = [];

        public int Rows { get; set; }

        /// <summary>Item of each history slot, row-major [rows × T], left-padded with −1.</summary>
        public int[] History { get; }

        public int[] Counts { get; }

        public int[] FirstStep { get; }

        /// <summary>Each row's next item (training); each slot's next item [rows × T] with <see cref="AllPositions"/> (−1 at padded slots).</summary>
        public int[] Targets { get; }

        /// <summary>The gradient of each row's true logit (sampled softmax).</summary>
        public float[] TargetGradients { get; }

        /// <summary>The user vectors of the block [rows × d] ([rows × T × d] with <see cref="AllPositions"/>).</summary>
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
            if (p.Architecture == SequenceRecallArchitecture.SelfAttention)
            {
                AttentionForward(p, w);
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
            if (p.Architecture == SequenceRecallArchitecture.SelfAttention)
            {
                AttentionBackward(p, transposed, w);
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
            bool attention = p.Architecture == SequenceRecallArchitecture.SelfAttention;
            for (int r = 0; r < rows; r++)
            {
                for (int s = w.FirstStep[r]; s < t; s++)
                {
                    var target = inputGradient.Row(w.History[r * t + s]);
                    // The GRU's buffers are time-major, self-attention's row-major.
                    int slot = attention ? r * t + s : s * rows + r;
                    TensorPrimitives.Add(target, w.InputGradient.AsSpan(slot * d, d), target);
                }
            }
        }

        /// <summary>
        /// Self-attention forward (<see cref="SequenceRecallArchitecture.SelfAttention"/>): x₀ = E[item] + P[slot] + b at real
        /// slots (0 at padded ones), dropout; per block x ← x + drop(Attn(LN₁(x))), x ← x + drop(FFN(LN₂(x))); the user vector
        /// is LN(x) at the last slot (0 for an empty history), or at every real slot with <see cref="SequenceWorkspace.AllPositions"/>.
        /// </summary>
        private static void AttentionForward(SequenceRecallParameters p, SequenceWorkspace w)
        {
            int rows = w.Rows, d = p.Dimension, t = p.HistoryLength, n = rows * t;
            bool dropout = w.Training && w.DropoutRate > 0;
            var x = w.Stream[0].AsSpan(0, n * d);
            var positions = p.Weights[0];
            var inputBias = p.Biases[0];
            for (int r = 0; r < rows; r++)
            {
                for (int s = 0; s < t; s++)
                {
                    int item = w.History[r * t + s];
                    var slot = x.Slice((r * t + s) * d, d);
                    if (item < 0)
                    {
                        slot.Clear();
                        continue;
                    }
                    TensorPrimitives.Add(p.Input.AsSpan(item * d, d), positions.AsSpan(s * d, d), slot);
                    TensorPrimitives.Add(slot, inputBias, slot);
                }
            }
            if (dropout)
                SequenceLayers.Dropout(x, w.InputMask, w.DropoutRate, SequenceLayers.Mix(w.DropoutKey));
            var sublayer = w.Sublayer.AsSpan(0, n * d);
            for (int b = 0; b < p.AttentionBlocks; b++)
            {
                int l = SequenceRecallParameters.BlockLayer(b);
                var input = w.Stream[b].AsSpan(0, n * d);
                var middle = w.Middle[b].AsSpan(0, n * d);
                var norm1 = w.Norm1[b].AsSpan(0, n * d);
                var qkv = w.Qkv[b].AsSpan(0, 3 * n * d);
                var context = w.Context[b].AsSpan(0, n * d);
                SequenceLayers.LayerNormForward(n, d, input, p.Weights[l], p.Biases[l], w.Normalized1[b], w.Deviation1[b], norm1);
                Layers.DenseForward(n, d, 3 * d, norm1, p.Weights[l + 1], p.Biases[l + 1], qkv, relu: false);
                SequenceLayers.CausalAttentionForward(rows, t, d, p.AttentionHeads, w.FirstStep, qkv, w.Probabilities[b], context);
                Layers.DenseForward(n, d, d, context, p.Weights[l + 2], p.Biases[l + 2], sublayer, relu: false);
                if (dropout)
                    SequenceLayers.Dropout(sublayer, w.AttentionMask[b], w.DropoutRate, SequenceLayers.Mix(w.DropoutKey + (ulong)(2 * b + 1)));
                TensorPrimitives.Add(input, sublayer, middle);

                var norm2 = w.Norm2[b].AsSpan(0, n * d);
                var hidden = w.Hidden[b].AsSpan(0, n * d);
                SequenceLayers.LayerNormForward(n, d, middle, p.Weights[l + 3], p.Biases[l + 3], w.Normalized2[b], w.Deviation2[b], norm2);
                Layers.DenseForward(n, d, d, norm2, p.Weights[l + 4], p.Biases[l + 4], hidden, relu: true);
                Layers.DenseForward(n, d, d, hidden, p.Weights[l + 5], p.Biases[l + 5], sublayer, relu: false);
                if (dropout)
                    SequenceLayers.Dropout(sublayer, w.FeedForwardMask[b], w.DropoutRate, SequenceLayers.Mix(w.DropoutKey + (ulong)(2 * b + 2)));
                TensorPrimitives.Add(middle, sublayer, w.Stream[b + 1].AsSpan(0, n * d));
            }
            int final = p.Layers.Length - 1;
            var last = w.Stream[p.AttentionBlocks];
            if (w.AllPositions)
            {
                // Every slot's user vector: LN of its stream (zero at padded slots).
                for (int r = 0; r < rows; r++)
                {
                    int first = w.FirstStep[r];
                    w.User.AsSpan(r * t * d, first * d).Clear();
                    int real = t - first, offset = (r * t + first) * d;
                    SequenceLayers.LayerNormForward(real, d, last.AsSpan(offset, real * d), p.Weights[final], p.Biases[final],
                        w.FinalNormalized.AsSpan(offset, real * d), w.FinalDeviation.AsSpan(r * t + first, real), w.User.AsSpan(offset, real * d));
                }
                return;
            }
            for (int r = 0; r < rows; r++)
            {
                var user = w.User.AsSpan(r * d, d);
                if (w.Counts[r] == 0)
                {
                    user.Clear();
                    continue;
                }
                SequenceLayers.LayerNormForward(1, d, last.AsSpan((r * t + t - 1) * d, d), p.Weights[final], p.Biases[final],
                    w.FinalNormalized.AsSpan(r * d, d), w.FinalDeviation.AsSpan(r, 1), user);
            }
        }

        /// <summary>The backward pass of <see cref="AttentionForward"/> from <see cref="SequenceWorkspace.UserGradient"/>.</summary>
        private static void AttentionBackward(SequenceRecallParameters p, float[][] transposed, SequenceWorkspace w)
        {
            int rows = w.Rows, d = p.Dimension, t = p.HistoryLength, n = rows * t;
            bool dropout = w.Training && w.DropoutRate > 0;
            for (int l = 0; l < p.Layers.Length; l++)
            {
                w.WeightGradients[l].AsSpan().Clear();
                w.BiasGradients[l].AsSpan().Clear();
            }
            // dx: ∂loss/∂stream, in InputGradient, from the last slot's final layer norm back to the input.
            var dx = w.InputGradient.AsSpan(0, n * d);
            dx.Clear();
            int final = p.Layers.Length - 1;
            for (int r = 0; r < rows && w.AllPositions; r++)
            {
                int first = w.FirstStep[r], real = t - first, offset = (r * t + first) * d;
                SequenceLayers.LayerNormBackward(real, d, w.UserGradient.AsSpan(offset, real * d), w.FinalNormalized.AsSpan(offset, real * d),
                    w.FinalDeviation.AsSpan(r * t + first, real), p.Weights[final], w.WeightGradients[final], w.BiasGradients[final], dx.Slice(offset, real * d), w.Scratch);
            }
            for (int r = 0; r < rows && !w.AllPositions; r++)
            {
                if (w.Counts[r] == 0)
                    continue;
                SequenceLayers.LayerNormBackward(1, d, w.UserGradient.AsSpan(r * d, d), w.FinalNormalized.AsSpan(r * d, d), w.FinalDeviation.AsSpan(r, 1),
                    p.Weights[final], w.WeightGradients[final], w.BiasGradients[final], dx.Slice((r * t + t - 1) * d, d), w.Scratch);
            }
            var dSublayer = w.Sublayer.AsSpan(0, n * d);
            var dHidden = w.HiddenGradient.AsSpan(0, n * d);
            var dNorm = w.NormGradient.AsSpan(0, n * d);
            var dContext = w.ContextGradient.AsSpan(0, n * d);
            var dQkv = w.QkvGradient.AsSpan(0, 3 * n * d);
            for (int b = p.AttentionBlocks - 1; b >= 0; b--)
            {
                int l = SequenceRecallParameters.BlockLayer(b);
                // x' = middle + drop(FFN(LN₂(middle))).
                if (dropout)
                    TensorPrimitives.Multiply(dx, w.FeedForwardMask[b].AsSpan(0, n * d), dSublayer);
                else
                    dx.CopyTo(dSublayer);
                var hidden = w.Hidden[b].AsSpan(0, n * d);
                Layers.DenseBackward(n, d, d, hidden, transposed[l + 5], dSublayer, w.WeightGradients[l + 5], w.BiasGradients[l + 5], dHidden,
                    accumulateParameters: false, accumulateInput: false);
                DenseKernels.MaskByPositive(hidden, dHidden);
                Layers.DenseBackward(n, d, d, w.Norm2[b], transposed[l + 4], dHidden, w.WeightGradients[l + 4], w.BiasGradients[l + 4], dNorm,
                    accumulateParameters: false, accumulateInput: false);
                SequenceLayers.LayerNormBackward(n, d, dNorm, w.Normalized2[b], w.Deviation2[b], p.Weights[l + 3], w.WeightGradients[l + 3], w.BiasGradients[l + 3], dx, w.Scratch);
                // middle = x + drop(Attn(LN₁(x))).
                if (dropout)
                    TensorPrimitives.Multiply(dx, w.AttentionMask[b].AsSpan(0, n * d), dSublayer);
                else
                    dx.CopyTo(dSublayer);
                Layers.DenseBackward(n, d, d, w.Context[b], transposed[l + 2], dSublayer, w.WeightGradients[l + 2], w.BiasGradients[l + 2], dContext,
                    accumulateParameters: false, accumulateInput: false);
                SequenceLayers.CausalAttentionBackward(rows, t, d, p.AttentionHeads, w.FirstStep, w.Qkv[b], w.Probabilities[b], dContext, dQkv, w.Scratch);
                Layers.DenseBackward(n, d, 3 * d, w.Norm1[b], transposed[l + 1], dQkv, w.WeightGradients[l + 1], w.BiasGradients[l + 1], dNorm,
                    accumulateParameters: false, accumulateInput: false);
                SequenceLayers.LayerNormBackward(n, d, dNorm, w.Normalized1[b], w.Deviation1[b], p.Weights[l], w.WeightGradients[l], w.BiasGradients[l], dx, w.Scratch);
            }
            if (dropout)
                TensorPrimitives.Multiply(dx, w.InputMask.AsSpan(0, n * d), dx);
            // Positions and the input bias; the item embeddings' share stays in dx for AccumulateInputGradient.
            var dPositions = w.WeightGradients[0];
            var dBias = w.BiasGradients[0];
            for (int r = 0; r < rows; r++)
            {
                for (int s = w.FirstStep[r]; s < t; s++)
                {
                    var g = dx.Slice((r * t + s) * d, d);
                    var dp = dPositions.AsSpan(s * d, d);
                    TensorPrimitives.Add(dp, g, dp);
                    TensorPrimitives.Add(dBias, g, dBias);
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
