using System;
using System.Numerics.Tensors;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd
{
    /// <summary>
    /// The layers of the end-to-end networks, each a forward and a backward pass over a block of rows held row-major in
    /// spans. Backward passes take the gradient of the loss with respect to the layer's output and produce the gradients of
    /// its parameters and input. Gradient-checked one by one in the tests (finite differences).
    /// </summary>
    internal static class Layers
    {
        /// <summary>output [rows × outWidth] = input [rows × inWidth] · W [inWidth × outWidth] + b, then ReLU when <paramref name="relu"/>.</summary>
        public static void DenseForward(int rows, int inWidth, int outWidth, ReadOnlySpan<float> input, ReadOnlySpan<float> weights,
            ReadOnlySpan<float> bias, Span<float> output, bool relu)
        {
            DenseKernels.MultiplyAdd(rows, outWidth, inWidth, input, inWidth, 1, weights, output, accumulate: false);
            DenseKernels.AddToRows(rows, bias, output);
            if (relu)
                DenseKernels.Relu(output[..(rows * outWidth)]);
        }

        /// <summary>
        /// The backward pass of <see cref="DenseForward"/> for <paramref name="outputGradient"/>, the gradient with respect to the
        /// layer's output after its activation's derivative has been applied (<see cref="DenseKernels.MaskByPositive"/> for ReLU).
        /// Writes (or adds, with <paramref name="accumulateParameters"/>) the weight and bias gradients, and writes (or adds, with
        /// <paramref name="accumulateInput"/>) the input gradient when <paramref name="inputGradient"/> is not empty.
        /// <paramref name="weightsTransposed"/> is Wᵀ [outWidth × inWidth], so that the input gradient is the same kernel as the forward pass.
        /// </summary>
        public static void DenseBackward(int rows, int inWidth, int outWidth, ReadOnlySpan<float> input, ReadOnlySpan<float> weightsTransposed,
            ReadOnlySpan<float> outputGradient, Span<float> weightGradient, Span<float> biasGradient, Span<float> inputGradient,
            bool accumulateParameters, bool accumulateInput)
        {
            // dW [in × out] = inputᵀ · dOut: A is the input read column-wise.
            DenseKernels.MultiplyAdd(inWidth, outWidth, rows, input, 1, inWidth, outputGradient, weightGradient, accumulateParameters);
            if (!accumulateParameters)
                biasGradient[..outWidth].Clear();
            DenseKernels.SumRows(rows, outputGradient[..(rows * outWidth)], biasGradient[..outWidth]);
            if (!inputGradient.IsEmpty)
                DenseKernels.MultiplyAdd(rows, inWidth, outWidth, outputGradient, outWidth, 1, weightsTransposed, inputGradient, accumulateInput);
        }

        /// <summary>
        /// One residual unit of Deep Crossing: hidden = relu(x·W₁ + b₁) [rows × hiddenWidth]; output = relu(x + hidden·W₂ + b₂) [rows × width].
        /// </summary>
        public static void ResidualForward(int rows, int width, int hiddenWidth, ReadOnlySpan<float> input, ReadOnlySpan<float> w1, ReadOnlySpan<float> b1,
            ReadOnlySpan<float> w2, ReadOnlySpan<float> b2, Span<float> hidden, Span<float> output)
        {
            DenseForward(rows, width, hiddenWidth, input, w1, b1, hidden, relu: true);
            int n = rows * width;
            input[..n].CopyTo(output);
            DenseKernels.MultiplyAdd(rows, width, hiddenWidth, hidden, hiddenWidth, 1, w2, output, accumulate: true);
            DenseKernels.AddToRows(rows, b2, output);
            DenseKernels.Relu(output[..n]);
        }

        /// <summary>
        /// The backward pass of <see cref="ResidualForward"/>. <paramref name="outputGradient"/> is the gradient with respect to the
        /// unit's output after the output ReLU's derivative. <paramref name="hiddenGradient"/> is scratch
        /// [rows × hiddenWidth]. The input gradient is written (or added, with <paramref name="accumulateInput"/>).
        /// </summary>
        public static void ResidualBackward(int rows, int width, int hiddenWidth, ReadOnlySpan<float> input, ReadOnlySpan<float> hidden,
            ReadOnlySpan<float> w1Transposed, ReadOnlySpan<float> w2Transposed, Span<float> outputGradient, Span<float> hiddenGradient,
            Span<float> w1Gradient, Span<float> b1Gradient, Span<float> w2Gradient, Span<float> b2Gradient, Span<float> inputGradient,
            bool accumulateParameters, bool accumulateInput)
        {
            int n = rows * width;
            DenseBackward(rows, hiddenWidth, width, hidden, w2Transposed, outputGradient, w2Gradient, b2Gradient, hiddenGradient,
                accumulateParameters, accumulateInput: false);
            DenseKernels.MaskByPositive(hidden[..(rows * hiddenWidth)], hiddenGradient[..(rows * hiddenWidth)]);
            // The skip connection: the input receives the output gradient itself, plus the path through W₁.
            if (accumulateInput)
                TensorPrimitives.Add(inputGradient[..n], outputGradient[..n], inputGradient[..n]);
            else
                outputGradient[..n].CopyTo(inputGradient);
            DenseBackward(rows, width, hiddenWidth, input, w1Transposed, hiddenGradient, w1Gradient, b1Gradient, inputGradient,
                accumulateParameters, accumulateInput: true);
        }

        /// <summary>
        /// The factorization machine's pairwise term over <paramref name="fields"/> vectors of <paramref name="dimension"/> held
        /// one after another in <paramref name="vectors"/>: Σ_{f&lt;g} ⟨v_f, v_g⟩ = ½ Σ_k ((Σ_f v_fk)² − Σ_f v_fk²).
        /// Leaves Σ_f v_f in <paramref name="sum"/> for the backward pass.
        /// </summary>
        public static float FactorizationForward(int fields, int dimension, ReadOnlySpan<float> vectors, Span<float> sum)
        {
            sum = sum[..dimension];
            sum.Clear();
            float squares = 0;
            for (int f = 0; f < fields; f++)
            {
                var v = vectors.Slice(f * dimension, dimension);
                TensorPrimitives.Add(sum, v, sum);
                squares += TensorPrimitives.Dot(v, v);
            }
            return 0.5f * (TensorPrimitives.Dot(sum, sum) - squares);
        }

        /// <summary>Adds the gradient of <see cref="FactorizationForward"/> times <paramref name="outputGradient"/> to <paramref name="vectorGradient"/>: ∂/∂v_fk = Σ_k − v_fk.</summary>
        public static void FactorizationBackward(int fields, int dimension, float outputGradient, ReadOnlySpan<float> vectors, ReadOnlySpan<float> sum,
            Span<float> vectorGradient)
        {
            for (int f = 0; f < fields; f++)
            {
                var v = vectors.Slice(f * dimension, dimension);
                var g = vectorGradient.Slice(f * dimension, dimension);
                for (int k = 0; k < dimension; k++)
                    g[k] += outputGradient * (sum[k] - v[k]);
            }
        }

        /// <summary>
        /// The embedding bag: writes the mean of the rows <paramref name="keys"/> of <paramref name="table"/> (row width
        /// <paramref name="dimension"/>) to <paramref name="output"/>; zeros for no keys.
        /// </summary>
        public static void EmbeddingBagForward(ReadOnlySpan<float> table, int dimension, ReadOnlySpan<int> keys, Span<float> output)
        {
            output = output[..dimension];
            if (keys.Length == 1)
            {
                table.Slice(keys[0] * dimension, dimension).CopyTo(output);
                return;
            }
            output.Clear();
            if (keys.IsEmpty)
                return;
            foreach (int key in keys)
                TensorPrimitives.Add(output, table.Slice(key * dimension, dimension), output);
            TensorPrimitives.Multiply(output, 1f / keys.Length, output);
        }

        /// <summary>Adds the gradient of <see cref="EmbeddingBagForward"/> to the table gradient: each key's row receives <paramref name="outputGradient"/> / count.</summary>
        public static void EmbeddingBagBackward(Span<float> tableGradient, int dimension, ReadOnlySpan<int> keys, ReadOnlySpan<float> outputGradient)
        {
            if (keys.IsEmpty)
                return;
            float scale = 1f / keys.Length;
            foreach (int key in keys)
            {
                var row = tableGradient.Slice(key * dimension, dimension);
                TensorPrimitives.MultiplyAdd(outputGradient[..dimension], scale, row, row);
            }
        }

        /// <summary>Sigmoid cross-entropy of a logit against a 0/1 label, and its derivative σ(z) − y.</summary>
        public static double SigmoidCrossEntropy(float logit, float label, out float gradient)
        {
            double z = logit;
            double p = 1 / (1 + Math.Exp(-z));
            gradient = (float)(p - label);
            // log(1 + e^z) − y·z, computed without overflow.
            return Math.Max(z, 0) - label * z + Math.Log(1 + Math.Exp(-Math.Abs(z)));
        }

        /// <summary>Squared error (z − y)² and its derivative 2(z − y).</summary>
        public static double SquaredError(float prediction, float label, out float gradient)
        {
            double e = (double)prediction - label;
            gradient = (float)(2 * e);
            return e * e;
        }
    }
}
