using System;
using Embeddings.EndToEnd;
using Embeddings.EndToEnd.Kernels;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>
    /// Every layer's backward pass against central finite differences of the scalar loss Σ output ⊙ R (so the output
    /// gradient is R), on small random layers.
    /// </summary>
    [TestFixture]
    public class LayerGradientTests
    {
        [Test]
        public void EmbeddingBagMeanOfOneManyAndNoKeys()
        {
            const int d = 4, rowsOfTable = 6;
            var random = new Random(21);
            var table = GradientCheck.Random(random, rowsOfTable * d);
            int[][] bags = [[2], [1, 3, 5], [4, 4, 0], []];
            var weights = GradientCheck.Random(random, bags.Length * d);
            var output = new float[bags.Length * d];

            (double, string) Evaluate()
            {
                for (int b = 0; b < bags.Length; b++)
                    Layers.EmbeddingBagForward(table, d, bags[b], output.AsSpan(b * d, d));
                return (GradientCheck.Dot(output, weights), "");
            }

            Evaluate();
            // The forward values: a copy, a mean, a mean counting a repeated key twice, and zeros for the empty bag.
            for (int k = 0; k < d; k++)
            {
                Assert.That(output[k], Is.EqualTo(table[2 * d + k]));
                Assert.That(output[d + k], Is.EqualTo((table[d + k] + table[3 * d + k] + table[5 * d + k]) / 3).Within(1e-6));
                Assert.That(output[2 * d + k], Is.EqualTo((2 * table[4 * d + k] + table[k]) / 3).Within(1e-6));
                Assert.That(output[3 * d + k], Is.EqualTo(0f));
            }
            var gradient = new float[table.Length];
            for (int b = 0; b < bags.Length; b++)
                Layers.EmbeddingBagBackward(gradient, d, bags[b], weights.AsSpan(b * d, d));
            var (done, skipped) = GradientCheck.Check("table", table, gradient, Evaluate);
            Assert.That((done, skipped), Is.EqualTo((table.Length, 0)));
        }

        [Test]
        public void EmbeddingBagOfNoKeysWritesZerosOverOldValuesAndHasNoGradient()
        {
            var table = new float[] { 1, 2, 3, 4 };
            var output = new float[] { 7, 7 };
            Layers.EmbeddingBagForward(table, 2, [], output);
            Assert.That(output, Is.EqualTo(new float[] { 0, 0 }));
            var gradient = new float[4];
            Layers.EmbeddingBagBackward(gradient, 2, [], new float[] { 1, 1 });
            Assert.That(gradient, Is.All.EqualTo(0f));
        }

        [Test]
        public void DenseWithAndWithoutRelu([Values] bool relu)
        {
            const int rows = 3, inWidth = 5, outWidth = 4;
            var random = new Random(relu ? 31 : 32);
            var input = GradientCheck.Random(random, rows * inWidth);
            var w = GradientCheck.Random(random, inWidth * outWidth);
            var b = GradientCheck.Random(random, outWidth, 0.5f);
            var r = GradientCheck.Random(random, rows * outWidth);
            var output = new float[rows * outWidth];

            (double, string) Evaluate()
            {
                Layers.DenseForward(rows, inWidth, outWidth, input, w, b, output, relu);
                return (GradientCheck.Dot(output, r), relu ? GradientCheck.Positives(output) : "");
            }

            Evaluate();
            if (relu)
                Assert.That(output, Has.Some.EqualTo(0f).And.Some.GreaterThan(0f), "the test exercises both sides of the ReLU");
            var outputGradient = (float[])r.Clone();
            if (relu)
                DenseKernels.MaskByPositive(output, outputGradient);
            var wt = new float[w.Length];
            DenseKernels.Transpose(inWidth, outWidth, w, wt);
            var dw = new float[w.Length];
            var db = new float[outWidth];
            var dx = new float[input.Length];
            Layers.DenseBackward(rows, inWidth, outWidth, input, wt, outputGradient, dw, db, dx, accumulateParameters: false, accumulateInput: false);
            GradientCheck.Check("W", w, dw, Evaluate);
            GradientCheck.Check("b", b, db, Evaluate);
            GradientCheck.Check("input", input, dx, Evaluate);

            // Accumulation adds to what the buffers hold.
            var dw2 = (float[])dw.Clone();
            var db2 = (float[])db.Clone();
            var dx2 = (float[])dx.Clone();
            Layers.DenseBackward(rows, inWidth, outWidth, input, wt, outputGradient, dw2, db2, dx2, accumulateParameters: true, accumulateInput: true);
            for (int i = 0; i < dw.Length; i++)
                Assert.That(dw2[i], Is.EqualTo(2 * dw[i]).Within(1e-5));
            for (int i = 0; i < db.Length; i++)
                Assert.That(db2[i], Is.EqualTo(2 * db[i]).Within(1e-5));
            for (int i = 0; i < dx.Length; i++)
                Assert.That(dx2[i], Is.EqualTo(2 * dx[i]).Within(1e-5));
        }

        [Test]
        public void ResidualUnit()
        {
            const int rows = 3, width = 4, hidden = 5;
            var random = new Random(41);
            var input = GradientCheck.Random(random, rows * width);
            var w1 = GradientCheck.Random(random, width * hidden);
            var b1 = GradientCheck.Random(random, hidden, 0.3f);
            var w2 = GradientCheck.Random(random, hidden * width);
            var b2 = GradientCheck.Random(random, width, 0.3f);
            var r = GradientCheck.Random(random, rows * width);
            var hiddenOut = new float[rows * hidden];
            var output = new float[rows * width];

            (double, string) Evaluate()
            {
                Layers.ResidualForward(rows, width, hidden, input, w1, b1, w2, b2, hiddenOut, output);
                return (GradientCheck.Dot(output, r), GradientCheck.Positives(hiddenOut) + "|" + GradientCheck.Positives(output));
            }

            Evaluate();
            Assert.That(hiddenOut, Has.Some.EqualTo(0f).And.Some.GreaterThan(0f));
            Assert.That(output, Has.Some.EqualTo(0f).And.Some.GreaterThan(0f));
            // The forward value against its definition relu(x + relu(x·W₁ + b₁)·W₂ + b₂).
            for (int i = 0; i < rows; i++)
            {
                for (int j = 0; j < width; j++)
                {
                    double z = input[i * width + j] + b2[j];
                    for (int h = 0; h < hidden; h++)
                    {
                        double a = b1[h];
                        for (int k = 0; k < width; k++)
                            a += (double)input[i * width + k] * w1[k * hidden + h];
                        z += Math.Max(a, 0) * w2[h * width + j];
                    }
                    Assert.That(output[i * width + j], Is.EqualTo(Math.Max(z, 0)).Within(1e-5));
                }
            }
            var outputGradient = (float[])r.Clone();
            DenseKernels.MaskByPositive(output, outputGradient);
            var w1t = new float[w1.Length];
            var w2t = new float[w2.Length];
            DenseKernels.Transpose(width, hidden, w1, w1t);
            DenseKernels.Transpose(hidden, width, w2, w2t);
            var dw1 = new float[w1.Length];
            var db1 = new float[hidden];
            var dw2 = new float[w2.Length];
            var db2 = new float[width];
            var dx = new float[input.Length];
            Layers.ResidualBackward(rows, width, hidden, input, hiddenOut, w1t, w2t, outputGradient, new float[rows * hidden], dw1, db1, dw2, db2, dx,
                accumulateParameters: false, accumulateInput: false);
            GradientCheck.Check("W1", w1, dw1, Evaluate);
            GradientCheck.Check("b1", b1, db1, Evaluate);
            GradientCheck.Check("W2", w2, dw2, Evaluate);
            GradientCheck.Check("b2", b2, db2, Evaluate);
            GradientCheck.Check("input", input, dx, Evaluate);
        }

        [Test]
        public void FactorizationMachineInteraction()
        {
            const int fields = 3, d = 4;
            var random = new Random(51);
            var vectors = GradientCheck.Random(random, fields * d);
            const float r = 0.7f;
            var sum = new float[d];

            (double, string) Evaluate() => (r * (double)Layers.FactorizationForward(fields, d, vectors, sum), "");

            // The value against Σ_{f<g} ⟨v_f, v_g⟩.
            double pairs = 0;
            for (int f = 0; f < fields; f++)
            {
                for (int g = f + 1; g < fields; g++)
                {
                    for (int k = 0; k < d; k++)
                        pairs += (double)vectors[f * d + k] * vectors[g * d + k];
                }
            }
            Assert.That(Layers.FactorizationForward(fields, d, vectors, sum), Is.EqualTo(pairs).Within(1e-5));
            var gradient = GradientCheck.Random(random, fields * d);
            var start = (float[])gradient.Clone();
            Layers.FactorizationBackward(fields, d, r, vectors, sum, gradient);
            // Backward adds to the buffer: compare the increment.
            for (int i = 0; i < gradient.Length; i++)
                gradient[i] -= start[i];
            GradientCheck.Check("vectors", vectors, gradient, Evaluate);
        }

        [TestCase(-30f, 0f)]
        [TestCase(-30f, 1f)]
        [TestCase(-2.5f, 0f)]
        [TestCase(-0.3f, 1f)]
        [TestCase(0f, 1f)]
        [TestCase(1.7f, 0f)]
        [TestCase(4f, 1f)]
        [TestCase(30f, 0f)]
        public void SigmoidCrossEntropy(float logit, float label)
        {
            double loss = Layers.SigmoidCrossEntropy(logit, label, out float gradient);
            double p = 1 / (1 + Math.Exp(-logit));
            double expected = label > 0 ? -Math.Log(p) : -Math.Log(1 - p);
            Assert.That(double.IsFinite(loss), Is.True);
            if (Math.Abs(logit) < 20)
                Assert.That(loss, Is.EqualTo(expected).Within(1e-9 + 1e-9 * expected));
            else
                Assert.That(loss, Is.EqualTo(label > 0 == logit > 0 ? 0 : Math.Abs(logit)).Within(1e-6), "no overflow far from 0");
            var z = new[] { logit };
            GradientCheck.Check("logit", z, [gradient], () => (Layers.SigmoidCrossEntropy(z[0], label, out _), ""));
        }

        [TestCase(-2f, 1.5f)]
        [TestCase(3.25f, 3.25f)]
        [TestCase(0.1f, -4f)]
        public void SquaredError(float prediction, float label)
        {
            double loss = Layers.SquaredError(prediction, label, out float gradient);
            Assert.That(loss, Is.EqualTo(((double)prediction - label) * ((double)prediction - label)).Within(1e-12));
            var z = new[] { prediction };
            GradientCheck.Check("prediction", z, [gradient], () => (Layers.SquaredError(z[0], label, out _), ""));
        }
    }
}
