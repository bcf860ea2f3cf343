using System;
using System.Linq;
using System.Numerics.Tensors;
using Embeddings.EndToEnd;
using Embeddings.EndToEnd.Kernels;
using Embeddings.EndToEnd.Sequences;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>Finite-difference checks of the GRU, layer norm, causal attention, the softmax cross-entropy and the whole sequence recall network.</summary>
    [TestFixture]
    public class SequenceLayerGradientTests
    {
        private static float[] Random(Random random, int length, float scale) =>
            Enumerable.Range(0, length).Select(_ => (float)(random.NextDouble() * 2 - 1) * scale).ToArray();

        private const int Rows = 3, Steps = 4, D = 5;
        private static readonly int[] s_firstStep = [0, 2, 1];

        /// <summary>loss = Σ c ⊙ h_T for fixed random c.</summary>
        private static double GruLoss(float[] x, float[] wx, float[] bx, float[] wh, float[] bh, float[] c)
        {
            var gates = new float[Steps * Rows * 3 * D];
            var hidden = new float[Steps * Rows * 3 * D];
            var states = new float[(Steps + 1) * Rows * D];
            SequenceLayers.GruForward(Rows, Steps, D, s_firstStep, 0, x, wx, bx, wh, bh, gates, hidden, states);
            double loss = 0;
            for (int i = 0; i < Rows * D; i++)
                loss += (double)c[i] * states[Steps * Rows * D + i];
            return loss;
        }

        [Test]
        public void GruGradientsMatchFiniteDifferences()
        {
            var random = new Random(7);
            var x = Random(random, Steps * Rows * D, 1);
            for (int r = 0; r < Rows; r++)
            {
                for (int s = 0; s < s_firstStep[r]; s++)
                    Array.Clear(x, (s * Rows + r) * D, D);
            }
            var wx = Random(random, D * 3 * D, 0.6f);
            var bx = Random(random, 3 * D, 0.3f);
            var wh = Random(random, D * 3 * D, 0.6f);
            var bh = Random(random, 3 * D, 0.3f);
            var c = Random(random, Rows * D, 1);

            var gates = new float[Steps * Rows * 3 * D];
            var hidden = new float[Steps * Rows * 3 * D];
            var states = new float[(Steps + 1) * Rows * D];
            SequenceLayers.GruForward(Rows, Steps, D, s_firstStep, 0, x, wx, bx, wh, bh, gates, hidden, states);
            var wxT = new float[wx.Length];
            var whT = new float[wh.Length];
            DenseKernels.Transpose(D, 3 * D, wx, wxT);
            DenseKernels.Transpose(D, 3 * D, wh, whT);
            var dwx = new float[wx.Length];
            var dbx = new float[bx.Length];
            var dwh = new float[wh.Length];
            var dbh = new float[bh.Length];
            var dx = new float[x.Length];
            SequenceLayers.GruBackward(Rows, Steps, D, s_firstStep, 0, x, wxT, whT, gates, hidden, states, c.ToArray(),
                new float[gates.Length], new float[hidden.Length], dwx, dbx, dwh, dbh, dx);

            void Check(string name, float[] parameter, float[] analytic, Func<int, bool>? skip = null)
            {
                for (int i = 0; i < parameter.Length; i++)
                {
                    if (skip?.Invoke(i) == true)
                        continue;
                    float saved = parameter[i];
                    const float eps = 1e-2f;
                    parameter[i] = saved + eps;
                    double plus = GruLoss(x, wx, bx, wh, bh, c);
                    parameter[i] = saved - eps;
                    double minus = GruLoss(x, wx, bx, wh, bh, c);
                    parameter[i] = saved;
                    double numeric = (plus - minus) / (2 * eps);
                    Assert.That(analytic[i], Is.EqualTo(numeric).Within(2e-3 + 2e-2 * Math.Abs(numeric)), $"{name}[{i}]");
                }
            }
            Check("Wx", wx, dwx);
            Check("bx", bx, dbx);
            Check("Wh", wh, dwh);
            Check("bh", bh, dbh);
            // Padded steps take no input: their gradient is zero and their value does not matter.
            Check("x", x, dx, i => i / D % Rows is var r && i / (D * Rows) < s_firstStep[r]);
            for (int r = 0; r < Rows; r++)
            {
                for (int s = 0; s < s_firstStep[r]; s++)
                    Assert.That(dx.AsSpan((s * Rows + r) * D, D).ToArray(), Is.All.EqualTo(0f), $"padded step {s} of row {r}");
            }
        }

        [Test]
        public void SoftmaxCrossEntropyGradientMatchesFiniteDifferences()
        {
            var random = new Random(3);
            var logits = Random(random, 9, 3);
            const int target = 4;
            const float scale = 0.5f;
            double Loss(float[] z) => SequenceLayers.SoftmaxCrossEntropy(z.ToArray(), target, 1);
            var gradient = logits.ToArray();
            double loss = SequenceLayers.SoftmaxCrossEntropy(gradient, target, scale);
            double expected = -Math.Log(Math.Exp(logits[target]) / logits.Sum(z => Math.Exp(z)));
            Assert.That(loss, Is.EqualTo(expected).Within(1e-5));
            for (int i = 0; i < logits.Length; i++)
            {
                float saved = logits[i];
                logits[i] = saved + 1e-2f;
                double plus = Loss(logits);
                logits[i] = saved - 1e-2f;
                double minus = Loss(logits);
                logits[i] = saved;
                Assert.That(gradient[i], Is.EqualTo(scale * (plus - minus) / 2e-2).Within(1e-3), $"logit {i}");
            }
        }

        [Test]
        public void SampledSoftmaxCrossEntropyIsTheSoftmaxOverTheTrueAndTheKeptNegatives()
        {
            var random = new Random(4);
            float trueLogit = 0.7f;
            var negatives = Random(random, 6, 2);
            negatives[2] = float.NegativeInfinity; // an accidental hit, left out
            var kept = new[] { trueLogit }.Concat(negatives.Where(float.IsFinite)).ToArray();
            var full = kept.ToArray();
            double expectedLoss = SequenceLayers.SoftmaxCrossEntropy(full, 0, 0.25f);
            var gradient = negatives.ToArray();
            double loss = SequenceLayers.SampledSoftmaxCrossEntropy(trueLogit, gradient, 0.25f, out float trueGradient);
            Assert.That(loss, Is.EqualTo(expectedLoss).Within(1e-5));
            Assert.That(trueGradient, Is.EqualTo(full[0]).Within(1e-6));
            Assert.That(gradient[2], Is.EqualTo(0f));
            Assert.That(gradient.Where((_, i) => i != 2), Is.EqualTo(full.Skip(1)).Within(1e-6f));
        }

        /// <summary>loss = Σ c ⊙ LayerNorm(x) for fixed random c: γ, β and x against finite differences.</summary>
        [Test]
        public void LayerNormGradientsMatchFiniteDifferences()
        {
            var random = new Random(5);
            const int rows = 3;
            var x = Random(random, rows * D, 1.5f);
            var gain = Random(random, D, 1);
            var shift = Random(random, D, 0.5f);
            var c = Random(random, rows * D, 1);
            double Loss()
            {
                var y = new float[rows * D];
                SequenceLayers.LayerNormForward(rows, D, x, gain, shift, new float[rows * D], new float[rows], y);
                return y.Select((v, i) => (double)v * c[i]).Sum();
            }
            var hat = new float[rows * D];
            var deviation = new float[rows];
            SequenceLayers.LayerNormForward(rows, D, x, gain, shift, hat, deviation, new float[rows * D]);
            var dGain = new float[D];
            var dShift = new float[D];
            var dx = Random(random, rows * D, 1);
            var start = dx.ToArray();
            SequenceLayers.LayerNormBackward(rows, D, c, hat, deviation, gain, dGain, dShift, dx, new float[D]);
            for (int i = 0; i < dx.Length; i++)
                dx[i] -= start[i]; // the backward pass adds to the input gradient
            CheckAll("x", x, dx, Loss);
            CheckAll("gain", gain, dGain, Loss);
            CheckAll("shift", shift, dShift, Loss);
        }

        /// <summary>loss = Σ c ⊙ context of causal two-head attention over left-padded rows: q, k, v against finite differences.</summary>
        [Test]
        public void CausalAttentionGradientsMatchFiniteDifferences()
        {
            var random = new Random(9);
            const int rows = 3, steps = 4, d = 6, heads = 2;
            int[] first = [0, 2, 3];
            var qkv = Random(random, rows * steps * 3 * d, 1);
            var c = Random(random, rows * steps * d, 1);
            double Loss()
            {
                var context = new float[rows * steps * d];
                SequenceLayers.CausalAttentionForward(rows, steps, d, heads, first, qkv, new float[rows * heads * steps * steps], context);
                return context.Select((v, i) => (double)v * c[i]).Sum();
            }
            var probabilities = new float[rows * heads * steps * steps];
            var output = new float[rows * steps * d];
            SequenceLayers.CausalAttentionForward(rows, steps, d, heads, first, qkv, probabilities, output);
            for (int r = 0; r < rows; r++)
            {
                for (int h = 0; h < heads; h++)
                {
                    for (int i = first[r]; i < steps; i++)
                    {
                        var p = probabilities.AsSpan(((r * heads + h) * steps + i) * steps, steps).ToArray();
                        Assert.That(p.Sum(), Is.EqualTo(1).Within(1e-5), "each query's weights sum to 1");
                        Assert.That(p.Where((_, j) => j < first[r] || j > i), Is.All.EqualTo(0f), "no weight on padded or later positions");
                    }
                }
                Assert.That(output.AsSpan(r * steps * d, first[r] * d).ToArray(), Is.All.EqualTo(0f), "padded positions have no context");
            }
            var dQkv = new float[qkv.Length];
            SequenceLayers.CausalAttentionBackward(rows, steps, d, heads, first, qkv, probabilities, c, dQkv, new float[steps]);
            CheckAll("qkv", qkv, dQkv, Loss);
        }

        [Test]
        public void DropoutKeepsOneMinusTheRateScaledUpAndDependsOnlyOnItsKey()
        {
            var values = Enumerable.Repeat(1f, 100_000).ToArray();
            var mask = new float[values.Length];
            SequenceLayers.Dropout(values, mask, 0.25f, 42);
            Assert.That(values, Is.EqualTo(mask));
            Assert.That(mask.Distinct().Order(), Is.EqualTo(new[] { 0f, 1f / 0.75f }));
            Assert.That(mask.Count(m => m == 0) / (double)mask.Length, Is.EqualTo(0.25).Within(0.01));
            var again = Enumerable.Repeat(1f, values.Length).ToArray();
            SequenceLayers.Dropout(again, new float[values.Length], 0.25f, 42);
            Assert.That(again, Is.EqualTo(values));
            // Another key on fresh ones: a different mask (the same share dropped, other positions).
            var other = Enumerable.Repeat(1f, values.Length).ToArray();
            SequenceLayers.Dropout(other, new float[values.Length], 0.25f, 43);
            Assert.That(other.Count(m => m == 0) / (double)other.Length, Is.EqualTo(0.25).Within(0.01));
            int differing = Enumerable.Range(0, values.Length).Count(i => other[i] != values[i]);
            Assert.That(differing / (double)values.Length, Is.GreaterThan(0.3), "about 2 x 0.25 x 0.75 of the positions differ between two keys");
        }

        private static void CheckAll(string name, float[] parameter, float[] analytic, Func<double> loss) =>
            CheckAll(name, parameter, i => analytic[i], loss, 1e-3f, 2e-3, 2e-3, 2e-2);

        /// <summary>
        /// Each of <paramref name="parameter"/>'s values moved by ± <paramref name="step"/> (<paramref name="span"/> apart):
        /// the central difference of <paramref name="loss"/> against <paramref name="analytic"/>, within
        /// <paramref name="absolute"/> + <paramref name="relative"/> x |difference|.
        /// </summary>
        private static void CheckAll(string name, float[] parameter, Func<int, float> analytic, Func<double> loss, float step, double span, double absolute, double relative)
        {
            for (int i = 0; i < parameter.Length; i++)
            {
                float saved = parameter[i];
                parameter[i] = saved + step;
                double plus = loss();
                parameter[i] = saved - step;
                double minus = loss();
                parameter[i] = saved;
                double numeric = (plus - minus) / span;
                Assert.That(analytic(i), Is.EqualTo(numeric).Within(absolute + relative * Math.Abs(numeric)), $"{name}[{i}]");
            }
        }

        /// <summary>
        /// Runs the encoder's backward pass from <paramref name="ws"/>'s user gradient, then checks every encoder weight and
        /// bias, and the input embeddings (rows of the items in <paramref name="inputs"/>; the others must have none),
        /// against central differences of <paramref name="loss"/> (messages prefixed with <paramref name="label"/>).
        /// </summary>
        private static void CheckNetworkGradients(SequenceRecallParameters p, SequenceWorkspace ws, int[][] inputs, Func<double> loss, string label)
        {
            int d = p.Dimension;
            var transposed = p.Layers.Select((l, i) =>
            {
                var t = new float[p.Weights[i].Length];
                DenseKernels.Transpose(l.In, l.Out, p.Weights[i], t);
                return t;
            }).ToArray();
            SequenceRecallNetwork.Backward(p, transposed, ws);
            var input = new SparseGradient(p.ItemCount, d);
            input.NextBatch();
            SequenceRecallNetwork.AccumulateInputGradient(p, ws, input);

            void Check(string name, float[] parameter, Func<int, float> analytic) => CheckAll(label + name, parameter, analytic, loss, 2e-3f, 4e-3, 3e-3, 3e-2);
            for (int l = 0; l < p.Layers.Length; l++)
            {
                int layer = l;
                Check($"W{l}", p.Weights[l], i => ws.WeightGradients[layer][i]);
                Check($"b{l}", p.Biases[l], i => ws.BiasGradients[layer][i]);
            }
            var used = inputs.SelectMany(h => h).ToHashSet();
            Check("input", p.Input, i => used.Contains(i / d) ? input.Values(i / d)[i % d] : 0);
        }

        /// <summary>The whole network (encoder, output layer, softmax) on one block: the encoder's gradients and the user gradient against finite differences.</summary>
        [TestCase(SequenceRecallArchitecture.MeanPooling, 0f)]
        [TestCase(SequenceRecallArchitecture.Gru, 0f)]
        [TestCase(SequenceRecallArchitecture.SelfAttention, 0f)]
        [TestCase(SequenceRecallArchitecture.SelfAttention, 0.3f)]
        public void NetworkGradientsMatchFiniteDifferences(SequenceRecallArchitecture architecture, float dropout)
        {
            const int items = 7, d = 4, history = 3;
            bool pooling = architecture == SequenceRecallArchitecture.MeanPooling;
            bool attention = architecture == SequenceRecallArchitecture.SelfAttention;
            var p = new SequenceRecallParameters(architecture, items, d, history, pooling ? [6] : [], featureCount: pooling ? 2 : 0,
                attentionBlocks: attention ? 2 : 0, attentionHeads: attention ? 2 : 0);
            p.Initialize(11);
            if (attention)
            {
                // Away from the start's γ = 1, β = 0, so that their gradients are tested at general values.
                var random = new Random(3);
                foreach (var (weights, biases) in p.Weights.Zip(p.Biases))
                {
                    for (int i = 0; i < weights.Length; i++)
                        weights[i] += (float)(random.NextDouble() - 0.5) * 0.4f;
                    for (int i = 0; i < biases.Length; i++)
                        biases[i] += (float)(random.NextDouble() - 0.5) * 0.4f;
                }
            }
            int[][] histories = [[1, 2, 3], [4], [0, 6]];
            int[] targets = [5, 2, 1];
            SequenceWorkspace Workspace() => new SequenceWorkspace(p, 4, dropout) { Rows = histories.Length, Training = dropout > 0, DropoutKey = 77 };

            double Loss()
            {
                var w = Workspace();
                for (int r = 0; r < histories.Length; r++)
                {
                    w.SetHistory(r, histories[r], history);
                    if (pooling)
                        w.SetFeatures(r, [0.5f * r, 1 - r], d);
                }
                SequenceRecallNetwork.Forward(p, w);
                double total = 0;
                var scores = new float[items];
                for (int r = 0; r < histories.Length; r++)
                {
                    SequenceRecallTrainer.Score(p, w.User.AsSpan(r * d, d), scores);
                    total += SequenceLayers.SoftmaxCrossEntropy(scores, targets[r], 1);
                }
                return total;
            }

            var ws = Workspace();
            for (int r = 0; r < histories.Length; r++)
            {
                ws.SetHistory(r, histories[r], history);
                if (pooling)
                    ws.SetFeatures(r, [0.5f * r, 1 - r], d);
            }
            SequenceRecallNetwork.Forward(p, ws);
            var transposedOutput = new float[p.Output.Length];
            DenseKernels.Transpose(items, d, p.Output, transposedOutput);
            var logits = new float[histories.Length * items];
            SequenceRecallModel.ScoreBlock(p, histories.Length, ws.User, transposedOutput, logits);
            for (int r = 0; r < histories.Length; r++)
                SequenceLayers.SoftmaxCrossEntropy(logits.AsSpan(r * items, items), targets[r], 1);
            DenseKernels.MultiplyAdd(histories.Length, d, items, logits, items, 1, p.Output, ws.UserGradient, accumulate: false);
            CheckNetworkGradients(p, ws, histories, Loss, $"{architecture} ");
            if (attention && dropout > 0)
                Assert.That(ws.InputMask.Take(histories.Length * history * d), Has.Some.EqualTo(0f), "dropout was on");
        }

        /// <summary>
        /// Causal windows (self-attention with a user vector at every position): the loss is the softmax cross-entropy at
        /// every real slot of every row; the encoder's, the positions' and the input embeddings' gradients against finite
        /// differences, with and without dropout.
        /// </summary>
        [TestCase(0f)]
        [TestCase(0.3f)]
        public void CausalWindowGradientsMatchFiniteDifferences(float dropout)
        {
            const int items = 7, d = 4, history = 4;
            var p = new SequenceRecallParameters(SequenceRecallArchitecture.SelfAttention, items, d, history, [], attentionBlocks: 2, attentionHeads: 2);
            p.Initialize(13);
            var random = new Random(5);
            foreach (var (weights, biases) in p.Weights.Zip(p.Biases))
            {
                for (int i = 0; i < weights.Length; i++)
                    weights[i] += (float)(random.NextDouble() - 0.5) * 0.4f;
                for (int i = 0; i < biases.Length; i++)
                    biases[i] += (float)(random.NextDouble() - 0.5) * 0.4f;
            }
            // Windows of 4, 1 and 3 inputs; each slot's target is the next item of the window.
            int[][] windows = [[1, 2, 3, 6], [4], [0, 6, 5]];
            int[][] targets = [[2, 3, 6, 0], [5], [6, 5, 1]];

            SequenceWorkspace Loaded()
            {
                var w = new SequenceWorkspace(p, 4, dropout, allPositions: true) { Rows = windows.Length, Training = dropout > 0, DropoutKey = 91 };
                for (int r = 0; r < windows.Length; r++)
                {
                    w.SetHistory(r, windows[r], history);
                    w.Targets.AsSpan(r * history, history).Fill(-1);
                    targets[r].CopyTo(w.Targets.AsSpan(r * history + history - targets[r].Length));
                }
                SequenceRecallNetwork.Forward(p, w);
                return w;
            }

            double Loss()
            {
                var w = Loaded();
                double total = 0;
                var scores = new float[items];
                for (int slot = 0; slot < windows.Length * history; slot++)
                {
                    if (w.Targets[slot] < 0)
                        continue;
                    SequenceRecallTrainer.Score(p, w.User.AsSpan(slot * d, d), scores);
                    total += SequenceLayers.SoftmaxCrossEntropy(scores, w.Targets[slot], 1);
                }
                return total;
            }

            var ws = Loaded();
            Assert.That(ws.User.AsSpan(history * d, (history - 1) * d).ToArray(), Is.All.EqualTo(0f), "padded slots have no user vector");
            var scores = new float[items];
            for (int slot = 0; slot < windows.Length * history; slot++)
            {
                var g = ws.UserGradient.AsSpan(slot * d, d);
                g.Clear();
                if (ws.Targets[slot] < 0)
                    continue;
                SequenceRecallTrainer.Score(p, ws.User.AsSpan(slot * d, d), scores);
                SequenceLayers.SoftmaxCrossEntropy(scores, ws.Targets[slot], 1);
                for (int i = 0; i < items; i++)
                    TensorPrimitives.MultiplyAdd(p.Output.AsSpan(i * d, d), scores[i], g, g);
            }
            CheckNetworkGradients(p, ws, windows, Loss, "");
            Assert.That(ws.WeightGradients[0].AsSpan(0, d).ToArray(), Has.Some.Not.EqualTo(0f), "the first slot's position has a gradient (the 4-item window's first target)");
            if (dropout > 0)
                Assert.That(ws.InputMask.Take(windows.Length * history * d), Has.Some.EqualTo(0f), "dropout was on");
        }
    }
}
