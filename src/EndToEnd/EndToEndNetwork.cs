using System;
using System.Numerics.Tensors;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd
{
    /// <summary>
    /// Buffers of one block of rows: activations, gradients and the block's share of the dense parameter gradients.
    /// Allocated once per block slot of the trainer (or once per scoring cursor); nothing is allocated per row or batch.
    /// </summary>
    internal sealed class BlockWorkspace
    {
        public BlockWorkspace(NetworkShape shape, int maxRows)
        {
            MaxRows = maxRows;
            int input = Math.Max(1, shape.InputWidth);
            Input = new float[maxRows * input];
            InputGradient = new float[maxRows * input];
            Activations = Array.ConvertAll(shape.DenseLayers, l => new float[maxRows * l.Out]);
            int widest = Math.Max(shape.MaxLayerWidth, input);
            GradientA = new float[maxRows * widest];
            GradientB = new float[maxRows * widest];
            HiddenScratch = new float[maxRows * widest];
            FactorSums = new float[shape.HasFactorization ? maxRows * shape.Dimension : 0];
            Logits = new float[maxRows];
            LogitGradients = new float[maxRows];
            WeightGradients = Array.ConvertAll(shape.DenseLayers, l => new float[(long)l.In * l.Out]);
            BiasGradients = Array.ConvertAll(shape.DenseLayers, l => new float[l.Out]);
            NumericWeightGradient = new float[shape.HasWide ? shape.NumericDimension : 0];
            BiasGradient = new float[1];
        }

        public int MaxRows { get; }

        /// <summary>The rows of the data that the block holds (indices into <see cref="FieldRows"/>).</summary>
        public int[] RowIndices { get; set; } = [];

        public int RowStart { get; set; }

        public int RowCount { get; set; }

        public float[] Input { get; }

        public float[] InputGradient { get; }

        public float[][] Activations { get; }

        public float[] GradientA { get; }

        public float[] GradientB { get; }

        public float[] HiddenScratch { get; }

        public float[] FactorSums { get; }

        public float[] Logits { get; }

        public float[] LogitGradients { get; }

        public float[][] WeightGradients { get; }

        public float[][] BiasGradients { get; }

        public float[] NumericWeightGradient { get; }

        public float[] BiasGradient { get; }

        public double Loss { get; set; }

        public int Row(int r) => RowIndices[RowStart + r];
    }

    /// <summary>The forward and backward passes of a whole end-to-end network over a block of rows.</summary>
    internal static class EndToEndNetwork
    {
        /// <summary>Fills the block's logits (and the activations the backward pass needs).</summary>
        public static void Forward(NetworkParameters p, FieldRows data, BlockWorkspace w)
        {
            var shape = p.Shape;
            int rows = w.RowCount;
            int d = shape.Dimension;
            int inWidth = shape.InputWidth;
            if (shape.HasEmbeddings)
            {
                for (int r = 0; r < rows; r++)
                {
                    int row = w.Row(r);
                    var input = w.Input.AsSpan(r * inWidth, inWidth);
                    for (int f = 0; f < shape.FieldCount; f++)
                        Layers.EmbeddingBagForward(p.Embeddings[f], d, data.Keys(f, row), input.Slice(f * d, d));
                    if (shape.NumericDimension > 0)
                        data.Numeric(row).CopyTo(input[(shape.FieldCount * d)..]);
                }
            }
            for (int r = 0; r < rows; r++)
            {
                int row = w.Row(r);
                float z = p.Bias[0];
                if (shape.HasWide)
                {
                    for (int f = 0; f < shape.FieldCount; f++)
                    {
                        var weights = p.FieldWeights[f];
                        foreach (int key in data.Keys(f, row))
                            z += weights[key];
                    }
                    foreach (int slot in data.CrossSlots(row))
                        z += p.CrossWeights[slot];
                    if (shape.NumericDimension > 0)
                        z += TensorPrimitives.Dot(p.NumericWeights, data.Numeric(row));
                }
                if (shape.HasFactorization)
                    z += Layers.FactorizationForward(shape.FieldCount, d, w.Input.AsSpan(r * inWidth, shape.FieldCount * d), w.FactorSums.AsSpan(r * d, d));
                w.Logits[r] = z;
            }
            if (shape.HasMlp)
            {
                ReadOnlySpan<float> x = w.Input;
                int last = shape.DenseLayers.Length - 1;
                for (int l = 0; l <= last; l++)
                {
                    var (i, o) = shape.DenseLayers[l];
                    Layers.DenseForward(rows, i, o, x, p.Weights[l], p.Biases[l], w.Activations[l], relu: l < last);
                    x = w.Activations[l];
                }
                AddOutput(w, rows);
            }
            else if (shape.HasResidual)
            {
                ReadOnlySpan<float> x = w.Input;
                for (int u = 0; u < shape.ResidualUnits; u++)
                {
                    int a = 2 * u, b = 2 * u + 1;
                    Layers.ResidualForward(rows, inWidth, shape.DenseLayers[a].Out, x, p.Weights[a], p.Biases[a], p.Weights[b], p.Biases[b],
                        w.Activations[a], w.Activations[b]);
                    x = w.Activations[b];
                }
                int output = shape.DenseLayers.Length - 1;
                Layers.DenseForward(rows, inWidth, 1, x, p.Weights[output], p.Biases[output], w.Activations[output], relu: false);
                AddOutput(w, rows);
            }
        }

        private static void AddOutput(BlockWorkspace w, int rows)
        {
            var output = w.Activations[^1];
            for (int r = 0; r < rows; r++)
                w.Logits[r] += output[r];
        }

        /// <summary>
        /// From the block's logit gradients (<see cref="BlockWorkspace.LogitGradients"/>), writes the block's dense parameter
        /// gradients and the gradient with respect to the deep input (<see cref="BlockWorkspace.InputGradient"/>, the field
        /// embeddings' share). The sparse gradients (embedding rows, wide weights) follow from those and the keys.
        /// </summary>
        /// <param name="p">The parameters of the forward pass.</param>
        /// <param name="weightsTransposed">Each dense layer's Wᵀ, computed once per batch.</param>
        /// <param name="data">The rows.</param>
        /// <param name="w">The block, after <see cref="Forward"/>.</param>
        public static void Backward(NetworkParameters p, float[][] weightsTransposed, FieldRows data, BlockWorkspace w)
        {
            var shape = p.Shape;
            int rows = w.RowCount;
            int d = shape.Dimension;
            int inWidth = shape.InputWidth;
            var dz = w.LogitGradients.AsSpan(0, rows);
            w.BiasGradient[0] = TensorPrimitives.Sum(dz);
            if (shape.HasWide && shape.NumericDimension > 0)
            {
                w.NumericWeightGradient.AsSpan().Clear();
                for (int r = 0; r < rows; r++)
                    TensorPrimitives.MultiplyAdd(data.Numeric(w.Row(r)), dz[r], w.NumericWeightGradient, w.NumericWeightGradient);
            }
            if (!shape.HasEmbeddings)
                return;
            var inputGradient = w.InputGradient.AsSpan(0, rows * inWidth);
            inputGradient.Clear();
            if (shape.HasFactorization)
            {
                for (int r = 0; r < rows; r++)
                    Layers.FactorizationBackward(shape.FieldCount, d, dz[r], w.Input.AsSpan(r * inWidth, shape.FieldCount * d), w.FactorSums.AsSpan(r * d, d),
                        inputGradient.Slice(r * inWidth, shape.FieldCount * d));
            }
            if (shape.HasMlp)
            {
                int last = shape.DenseLayers.Length - 1;
                var gradient = w.GradientA.AsSpan();
                var next = w.GradientB.AsSpan();
                dz.CopyTo(gradient);
                for (int l = last; l >= 0; l--)
                {
                    var (i, o) = shape.DenseLayers[l];
                    ReadOnlySpan<float> x = l == 0 ? w.Input : w.Activations[l - 1];
                    var inputOut = l == 0 ? inputGradient : next;
                    Layers.DenseBackward(rows, i, o, x, weightsTransposed[l], gradient[..(rows * o)], w.WeightGradients[l], w.BiasGradients[l],
                        inputOut, accumulateParameters: false, accumulateInput: l == 0);
                    if (l > 0)
                    {
                        DenseKernels.MaskByPositive(w.Activations[l - 1].AsSpan(0, rows * i), next[..(rows * i)]);
                        var swap = gradient;
                        gradient = next;
                        next = swap;
                    }
                }
            }
            else if (shape.HasResidual)
            {
                int output = shape.DenseLayers.Length - 1;
                var gradient = w.GradientA.AsSpan();
                var next = w.GradientB.AsSpan();
                int lastUnit = 2 * shape.ResidualUnits - 1;
                Layers.DenseBackward(rows, inWidth, 1, w.Activations[lastUnit], weightsTransposed[output], dz, w.WeightGradients[output], w.BiasGradients[output],
                    gradient[..(rows * inWidth)], accumulateParameters: false, accumulateInput: false);
                for (int u = shape.ResidualUnits - 1; u >= 0; u--)
                {
                    int a = 2 * u, b = 2 * u + 1;
                    int hidden = shape.DenseLayers[a].Out;
                    DenseKernels.MaskByPositive(w.Activations[b].AsSpan(0, rows * inWidth), gradient[..(rows * inWidth)]);
                    ReadOnlySpan<float> x = u == 0 ? w.Input : w.Activations[b - 2];
                    var inputOut = u == 0 ? inputGradient : next;
                    Layers.ResidualBackward(rows, inWidth, hidden, x, w.Activations[a], weightsTransposed[a], weightsTransposed[b], gradient[..(rows * inWidth)],
                        w.HiddenScratch.AsSpan(0, rows * hidden), w.WeightGradients[a], w.BiasGradients[a], w.WeightGradients[b], w.BiasGradients[b], inputOut,
                        accumulateParameters: false, accumulateInput: u == 0);
                    if (u > 0)
                    {
                        var swap = gradient;
                        gradient = next;
                        next = swap;
                    }
                }
            }
        }
    }
}
