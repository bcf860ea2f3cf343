using System;
using System.Numerics.Tensors;
using System.Runtime.Intrinsics;
using Embeddings.EndToEnd.Kernels;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// The layers of the sequence recall models that <see cref="Layers"/> does not have: a GRU over a block of left-padded
    /// sequences (time-major buffers, one matrix product per step for the recurrence and one for all steps' input
    /// projections); layer normalisation, causal multi-head attention and dropout for the self-attention encoder; and the
    /// softmax cross-entropy over all items. Gradient-checked in the tests (finite differences).
    /// </summary>
    internal static class SequenceLayers
    {
        /// <summary>
        /// The GRU of PyTorch (gate order r, z, n): r = σ(x W_xr + b_xr + h W_hr + b_hr), z likewise,
        /// n = tanh(x W_xn + b_xn + r ⊙ (h W_hn + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h, from h = 0. Row r's sequence occupies
        /// steps <paramref name="firstStep"/>[r] .. steps − 1 (left-padded); its state stays 0 before its first step.
        /// </summary>
        /// <param name="rows">Rows R of the block.</param>
        /// <param name="steps">Steps T.</param>
        /// <param name="dimension">Input and hidden width d.</param>
        /// <param name="firstStep">Each row's first step; <paramref name="start"/> is their minimum.</param>
        /// <param name="start">The first step any row uses: steps before it are not computed.</param>
        /// <param name="x">Inputs [T × R × d], time-major (zero at padded steps).</param>
        /// <param name="wx">W_x [d × 3d].</param>
        /// <param name="bx">b_x [3d].</param>
        /// <param name="wh">W_h [d × 3d].</param>
        /// <param name="bh">b_h [3d].</param>
        /// <param name="gates">[T × R × 3d]: receives r, z, n of each step.</param>
        /// <param name="hiddenGates">[T × R × 3d]: receives h W_h + b_h of each step (its n part is needed backward).</param>
        /// <param name="states">[(T + 1) × R × d]: state before step s at s; the final state at T.</param>
        public static void GruForward(int rows, int steps, int dimension, ReadOnlySpan<int> firstStep, int start, ReadOnlySpan<float> x,
            ReadOnlySpan<float> wx, ReadOnlySpan<float> bx, ReadOnlySpan<float> wh, ReadOnlySpan<float> bh, Span<float> gates,
            Span<float> hiddenGates, Span<float> states)
        {
            int d = dimension, g = 3 * d;
            int used = (steps - start) * rows;
            states.Slice(start * rows * d, rows * d).Clear();
            var gateRows = gates.Slice(start * rows * g, used * g);
            DenseKernels.MultiplyAdd(used, g, d, x.Slice(start * rows * d), d, 1, wx, gateRows, accumulate: false);
            DenseKernels.AddToRows(used, bx, gateRows);
            for (int s = start; s < steps; s++)
            {
                var h = states.Slice(s * rows * d, rows * d);
                var next = states.Slice((s + 1) * rows * d, rows * d);
                var gh = hiddenGates.Slice(s * rows * g, rows * g);
                DenseKernels.MultiplyAdd(rows, g, d, h, d, 1, wh, gh, accumulate: false);
                DenseKernels.AddToRows(rows, bh, gh);
                for (int r = 0; r < rows; r++)
                {
                    var hNext = next.Slice(r * d, d);
                    if (s < firstStep[r])
                    {
                        hNext.Clear();
                        continue;
                    }
                    var gi = gates.Slice((s * rows + r) * g, g);
                    var ghr = gh.Slice(r * g, g);
                    var reset = gi[..d];
                    var update = gi.Slice(d, d);
                    var candidate = gi.Slice(2 * d, d);
                    TensorPrimitives.Add(reset, ghr[..d], reset);
                    TensorPrimitives.Sigmoid(reset, reset);
                    TensorPrimitives.Add(update, ghr.Slice(d, d), update);
                    TensorPrimitives.Sigmoid(update, update);
                    // n = tanh(gi_n + r ⊙ gh_n)
                    TensorPrimitives.MultiplyAdd(reset, ghr.Slice(2 * d, d), candidate, candidate);
                    TensorPrimitives.Tanh(candidate, candidate);
                    // h' = n + z ⊙ (h − n)
                    var hPrev = h.Slice(r * d, d);
                    TensorPrimitives.Subtract(hPrev, candidate, hNext);
                    TensorPrimitives.MultiplyAdd(update, hNext, candidate, hNext);
                }
            }
        }

        /// <summary>
        /// The backward pass of <see cref="GruForward"/> from <paramref name="finalStateGradient"/> (∂loss/∂h_T [R × d],
        /// overwritten). Adds the parameter gradients to <paramref name="wxGradient"/>, <paramref name="bxGradient"/>,
        /// <paramref name="whGradient"/>, <paramref name="bhGradient"/> and writes ∂loss/∂x to <paramref name="inputGradient"/>
        /// [T × R × d] for steps from <paramref name="start"/> (zero at padded steps).
        /// </summary>
        public static void GruBackward(int rows, int steps, int dimension, ReadOnlySpan<int> firstStep, int start, ReadOnlySpan<float> x,
            ReadOnlySpan<float> wxTransposed, ReadOnlySpan<float> whTransposed, ReadOnlySpan<float> gates, ReadOnlySpan<float> hiddenGates,
            ReadOnlySpan<float> states, Span<float> finalStateGradient, Span<float> gatesGradient, Span<float> hiddenGatesGradient,
            Span<float> wxGradient, Span<float> bxGradient, Span<float> whGradient, Span<float> bhGradient, Span<float> inputGradient)
        {
            int d = dimension, g = 3 * d;
            var dh = finalStateGradient[..(rows * d)];
            for (int s = steps - 1; s >= start; s--)
            {
                for (int r = 0; r < rows; r++)
                {
                    var dGi = gatesGradient.Slice((s * rows + r) * g, g);
                    var dGh = hiddenGatesGradient.Slice((s * rows + r) * g, g);
                    var dhr = dh.Slice(r * d, d);
                    if (s < firstStep[r])
                    {
                        dGi.Clear();
                        dGh.Clear();
                        dhr.Clear();
                        continue;
                    }
                    var gi = gates.Slice((s * rows + r) * g, g);
                    var ghn = hiddenGates.Slice((s * rows + r) * g + 2 * d, d);
                    var hPrev = states.Slice((s * rows + r) * d, d);
                    int k = 0;
                    if (Vector256.IsHardwareAccelerated)
                    {
                        var one = Vector256<float>.One;
                        for (; k + 8 <= d; k += 8)
                        {
                            var reset = Vector256.Create(gi.Slice(k, 8));
                            var update = Vector256.Create(gi.Slice(d + k, 8));
                            var n = Vector256.Create(gi.Slice(2 * d + k, 8));
                            var dhk = Vector256.Create(dhr.Slice(k, 8));
                            var dn = dhk * (one - update) * (one - n * n);
                            var dz = dhk * (Vector256.Create(hPrev.Slice(k, 8)) - n) * update * (one - update);
                            var dr = dn * Vector256.Create(ghn.Slice(k, 8)) * reset * (one - reset);
                            dr.CopyTo(dGi.Slice(k, 8));
                            dz.CopyTo(dGi.Slice(d + k, 8));
                            dn.CopyTo(dGi.Slice(2 * d + k, 8));
                            dr.CopyTo(dGh.Slice(k, 8));
                            dz.CopyTo(dGh.Slice(d + k, 8));
                            (dn * reset).CopyTo(dGh.Slice(2 * d + k, 8));
                            (dhk * update).CopyTo(dhr.Slice(k, 8));
                        }
                    }
                    for (; k < d; k++)
                    {
                        float reset = gi[k], update = gi[d + k], n = gi[2 * d + k];
                        float dhk = dhr[k];
                        float dn = dhk * (1 - update) * (1 - n * n);
                        float dz = dhk * (hPrev[k] - n) * update * (1 - update);
                        float dr = dn * ghn[k] * reset * (1 - reset);
                        dGi[k] = dr;
                        dGi[d + k] = dz;
                        dGi[2 * d + k] = dn;
                        dGh[k] = dr;
                        dGh[d + k] = dz;
                        dGh[2 * d + k] = dn * reset;
                        dhr[k] = dhk * update;
                    }
                }
                DenseKernels.MultiplyAdd(rows, d, g, hiddenGatesGradient.Slice(s * rows * g, rows * g), g, 1, whTransposed, dh, accumulate: true);
            }
            int used = (steps - start) * rows;
            var dGates = gatesGradient.Slice(start * rows * g, used * g);
            var dHidden = hiddenGatesGradient.Slice(start * rows * g, used * g);
            DenseKernels.MultiplyAdd(d, g, used, x.Slice(start * rows * d), 1, d, dGates, wxGradient, accumulate: true);
            DenseKernels.SumRows(used, dGates, bxGradient[..g]);
            DenseKernels.MultiplyAdd(d, g, used, states.Slice(start * rows * d), 1, d, dHidden, whGradient, accumulate: true);
            DenseKernels.SumRows(used, dHidden, bhGradient[..g]);
            DenseKernels.MultiplyAdd(used, d, g, dGates, g, 1, wxTransposed, inputGradient.Slice(start * rows * d), accumulate: false);
        }

        /// <summary>Variance floor of <see cref="LayerNormForward"/> (PyTorch's nn.LayerNorm default).</summary>
        public const float LayerNormEpsilon = 1e-5f;

        /// <summary>
        /// Layer normalisation of each row of <paramref name="x"/> [rows × d]: x̂ = (x − mean) / √(var + ε),
        /// y = γ ⊙ x̂ + β. Keeps x̂ and 1/√(var + ε) for the backward pass.
        /// </summary>
        /// <param name="rows">Rows.</param>
        /// <param name="dimension">Row width d.</param>
        /// <param name="x">Input [rows × d].</param>
        /// <param name="gain">γ [d].</param>
        /// <param name="shift">β [d].</param>
        /// <param name="normalized">Receives x̂ [rows × d].</param>
        /// <param name="inverseDeviation">Receives 1/√(var + ε) [rows].</param>
        /// <param name="y">Receives the output [rows × d] (may not alias <paramref name="x"/>).</param>
        public static void LayerNormForward(int rows, int dimension, ReadOnlySpan<float> x, ReadOnlySpan<float> gain, ReadOnlySpan<float> shift,
            Span<float> normalized, Span<float> inverseDeviation, Span<float> y)
        {
            int d = dimension;
            for (int r = 0; r < rows; r++)
            {
                var row = x.Slice(r * d, d);
                var hat = normalized.Slice(r * d, d);
                float mean = TensorPrimitives.Sum(row) / d;
                TensorPrimitives.Subtract(row, mean, hat);
                float variance = TensorPrimitives.Dot(hat, hat) / d;
                float inverse = 1f / MathF.Sqrt(variance + LayerNormEpsilon);
                inverseDeviation[r] = inverse;
                TensorPrimitives.Multiply(hat, inverse, hat);
                var output = y.Slice(r * d, d);
                TensorPrimitives.MultiplyAdd(hat, gain, shift, output);
            }
        }

        /// <summary>
        /// The backward pass of <see cref="LayerNormForward"/>: adds γ's and β's gradients to <paramref name="gainGradient"/> and
        /// <paramref name="shiftGradient"/> and ∂loss/∂x to <paramref name="inputGradient"/>:
        /// ∂x = (1/σ) (g − mean(g) − x̂ mean(g ⊙ x̂)) with g = γ ⊙ ∂y. <paramref name="scratch"/> holds d values.
        /// </summary>
        public static void LayerNormBackward(int rows, int dimension, ReadOnlySpan<float> outputGradient, ReadOnlySpan<float> normalized,
            ReadOnlySpan<float> inverseDeviation, ReadOnlySpan<float> gain, Span<float> gainGradient, Span<float> shiftGradient, Span<float> inputGradient,
            Span<float> scratch)
        {
            int d = dimension;
            var g = scratch[..d];
            for (int r = 0; r < rows; r++)
            {
                var dy = outputGradient.Slice(r * d, d);
                var hat = normalized.Slice(r * d, d);
                TensorPrimitives.MultiplyAdd(dy, hat, gainGradient, gainGradient);
                TensorPrimitives.Add(shiftGradient, dy, shiftGradient);
                TensorPrimitives.Multiply(dy, gain, g);
                float meanG = TensorPrimitives.Sum(g) / d;
                float meanGHat = TensorPrimitives.Dot(g, hat) / d;
                TensorPrimitives.MultiplyAdd(hat, -meanGHat, g, g);
                TensorPrimitives.Subtract(g, meanG, g);
                var dx = inputGradient.Slice(r * d, d);
                TensorPrimitives.MultiplyAdd(g, inverseDeviation[r], dx, dx);
            }
        }

        /// <summary>
        /// Causal multi-head scaled dot-product attention over a block of left-padded sequences, row-major [rows × T]:
        /// position i of row r attends to its positions firstStep[r] .. i with weights softmax_j(q_i · k_j / √(d/h)) per head;
        /// padded positions (before firstStep[r]) are neither keys nor queries (their context is 0).
        /// </summary>
        /// <param name="rows">Rows R.</param>
        /// <param name="steps">Positions T.</param>
        /// <param name="dimension">Model width d (heads × head width).</param>
        /// <param name="heads">Heads h (d divisible by h).</param>
        /// <param name="firstStep">Each row's first real position.</param>
        /// <param name="qkv">[R·T × 3d]: each position's query, key and value (each d, head k at k·d/h).</param>
        /// <param name="probabilities">[R × h × T × T]: receives the attention weights (0 outside the causal window).</param>
        /// <param name="context">[R·T × d]: receives Σ_j p_ij v_j per head.</param>
        public static void CausalAttentionForward(int rows, int steps, int dimension, int heads, ReadOnlySpan<int> firstStep, ReadOnlySpan<float> qkv,
            Span<float> probabilities, Span<float> context)
        {
            int d = dimension, t = steps, width = d / heads, stride = 3 * d;
            float scale = 1f / MathF.Sqrt(width);
            for (int r = 0; r < rows; r++)
            {
                int first = firstStep[r];
                context.Slice(r * t * d, first * d).Clear();
                for (int h = 0; h < heads; h++)
                {
                    var weights = probabilities.Slice((r * heads + h) * t * t, t * t);
                    weights.Clear();
                    for (int i = first; i < t; i++)
                    {
                        var query = qkv.Slice((r * t + i) * stride + h * width, width);
                        var p = weights.Slice(i * t + first, i - first + 1);
                        for (int j = first; j <= i; j++)
                            p[j - first] = TensorPrimitives.Dot(query, qkv.Slice((r * t + j) * stride + d + h * width, width)) * scale;
                        float max = TensorPrimitives.Max(p);
                        TensorPrimitives.Subtract(p, max, p);
                        TensorPrimitives.Exp(p, p);
                        TensorPrimitives.Multiply(p, 1f / TensorPrimitives.Sum(p), p);
                        var output = context.Slice((r * t + i) * d + h * width, width);
                        output.Clear();
                        for (int j = first; j <= i; j++)
                            TensorPrimitives.MultiplyAdd(qkv.Slice((r * t + j) * stride + 2 * d + h * width, width), p[j - first], output, output);
                    }
                }
            }
        }

        /// <summary>
        /// The backward pass of <see cref="CausalAttentionForward"/>: writes ∂loss/∂(q, k, v) to <paramref name="qkvGradient"/>
        /// [R·T × 3d] (overwritten; 0 at padded positions) from <paramref name="contextGradient"/> [R·T × d].
        /// <paramref name="scratch"/> holds T values.
        /// </summary>
        public static void CausalAttentionBackward(int rows, int steps, int dimension, int heads, ReadOnlySpan<int> firstStep, ReadOnlySpan<float> qkv,
            ReadOnlySpan<float> probabilities, ReadOnlySpan<float> contextGradient, Span<float> qkvGradient, Span<float> scratch)
        {
            int d = dimension, t = steps, width = d / heads, stride = 3 * d;
            float scale = 1f / MathF.Sqrt(width);
            qkvGradient[..(rows * t * stride)].Clear();
            for (int r = 0; r < rows; r++)
            {
                int first = firstStep[r];
                for (int h = 0; h < heads; h++)
                {
                    var weights = probabilities.Slice((r * heads + h) * t * t, t * t);
                    for (int i = first; i < t; i++)
                    {
                        var dContext = contextGradient.Slice((r * t + i) * d + h * width, width);
                        var p = weights.Slice(i * t + first, i - first + 1);
                        var dp = scratch[..p.Length];
                        // ∂p_j = ∂c · v_j; ∂v_j += p_j ∂c.
                        for (int j = first; j <= i; j++)
                        {
                            int v = (r * t + j) * stride + 2 * d + h * width;
                            dp[j - first] = TensorPrimitives.Dot(dContext, qkv.Slice(v, width));
                            var dv = qkvGradient.Slice(v, width);
                            TensorPrimitives.MultiplyAdd(dContext, p[j - first], dv, dv);
                        }
                        // ∂s_j = p_j (∂p_j − Σ_k p_k ∂p_k), times the scale for q and k.
                        float mean = TensorPrimitives.Dot(p, dp);
                        TensorPrimitives.Subtract(dp, mean, dp);
                        TensorPrimitives.Multiply(dp, p, dp);
                        TensorPrimitives.Multiply(dp, scale, dp);
                        var query = qkv.Slice((r * t + i) * stride + h * width, width);
                        var dq = qkvGradient.Slice((r * t + i) * stride + h * width, width);
                        for (int j = first; j <= i; j++)
                        {
                            int k = (r * t + j) * stride + d + h * width;
                            TensorPrimitives.MultiplyAdd(qkv.Slice(k, width), dp[j - first], dq, dq);
                            var dk = qkvGradient.Slice(k, width);
                            TensorPrimitives.MultiplyAdd(query, dp[j - first], dk, dk);
                        }
                    }
                }
            }
        }

        /// <summary>
        /// Inverted dropout: <paramref name="mask"/>[i] = 0 with probability <paramref name="rate"/>, else 1/(1 − rate), drawn from
        /// a counter-based hash of (<paramref name="key"/>, i) (so a block's masks depend on its key, never on a thread);
        /// then <paramref name="values"/> ⊙= mask.
        /// </summary>
        public static void Dropout(Span<float> values, Span<float> mask, float rate, ulong key)
        {
            float keep = 1f / (1 - rate);
            // Compare the top 24 bits of each hash with the rate scaled to 2^24.
            uint threshold = (uint)Math.Round(rate * (1 << 24));
            for (int i = 0; i < values.Length; i++)
            {
                uint bits = (uint)(Mix(key + (ulong)i * 0x9E3779B97F4A7C15UL) >> 40);
                float m = bits < threshold ? 0f : keep;
                mask[i] = m;
                values[i] *= m;
            }
        }

        /// <summary>SplitMix64's finaliser: a well-mixed 64-bit hash of <paramref name="z"/>.</summary>
        public static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>
        /// Softmax cross-entropy of <paramref name="logits"/> against class <paramref name="target"/>: returns −log p_target and
        /// overwrites the logits with the gradient (p − one-hot(target)) × <paramref name="scale"/>.
        /// </summary>
        public static double SoftmaxCrossEntropy(Span<float> logits, int target, float scale)
        {
            float max = TensorPrimitives.Max(logits);
            float targetLogit = logits[target] - max;
            TensorPrimitives.Subtract(logits, max, logits);
            TensorPrimitives.Exp(logits, logits);
            double sum = TensorPrimitives.Sum(logits);
            TensorPrimitives.Multiply(logits, (float)(scale / sum), logits);
            logits[target] -= scale;
            return Math.Log(sum) - targetLogit;
        }

        /// <summary>
        /// Softmax cross-entropy over one true logit and the <paramref name="negatives"/>' logits (−∞ leaves one out): returns
        /// −log p_true, overwrites the negatives' logits with their gradient p × <paramref name="scale"/> and gives the true
        /// logit's, (p_true − 1) × <paramref name="scale"/>.
        /// </summary>
        public static double SampledSoftmaxCrossEntropy(float trueLogit, Span<float> negatives, float scale, out float trueGradient)
        {
            float max = Math.Max(trueLogit, TensorPrimitives.Max(negatives));
            TensorPrimitives.Subtract(negatives, max, negatives);
            TensorPrimitives.Exp(negatives, negatives);
            double own = Math.Exp(trueLogit - max);
            double sum = own + TensorPrimitives.Sum(negatives);
            TensorPrimitives.Multiply(negatives, (float)(scale / sum), negatives);
            trueGradient = (float)((own / sum - 1) * scale);
            return Math.Log(sum) - (trueLogit - max);
        }
    }
}
