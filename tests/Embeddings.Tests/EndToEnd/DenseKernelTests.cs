using System;
using Embeddings.EndToEnd.Kernels;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>The register-blocked matrix product and the row operations against naive loops.</summary>
    [TestFixture]
    public class DenseKernelTests
    {
        private static readonly int[] s_inners = [1, 2, 3, 7, 8, 9, 16, 17, 20];

        [Test]
        public void MultiplyAddMatchesANaiveTripleLoopForOddShapesBothLayoutsAndAccumulation([Values] bool transposedA, [Values] bool accumulate)
        {
            var random = new Random(transposedA ? 11 : 12);
            int calls = 0;
            for (int rows = 1; rows <= 9; rows++)
            {
                for (int columns = 1; columns <= 40; columns++)
                {
                    foreach (int inner in s_inners)
                    {
                        // Padded strides: A row-major with 3 spare values per row, or Aᵀ stored row-major (A read column-wise) with 2 spare.
                        int rowStride = transposedA ? 1 : inner + 3;
                        int columnStride = transposedA ? rows + 2 : 1;
                        var a = GradientCheck.Random(random, (rows - 1) * rowStride + (inner - 1) * columnStride + 1);
                        var b = GradientCheck.Random(random, inner * columns);
                        var c = GradientCheck.Random(random, rows * columns + 5);
                        var before = (float[])c.Clone();
                        DenseKernels.MultiplyAdd(rows, columns, inner, a, rowStride, columnStride, b, c, accumulate);
                        calls++;
                        for (int r = 0; r < rows; r++)
                        {
                            for (int j = 0; j < columns; j++)
                            {
                                double sum = accumulate ? before[r * columns + j] : 0, magnitude = Math.Abs(sum);
                                for (int k = 0; k < inner; k++)
                                {
                                    double product = (double)a[r * rowStride + k * columnStride] * b[k * columns + j];
                                    sum += product;
                                    magnitude += Math.Abs(product);
                                }
                                if (Math.Abs(c[r * columns + j] - sum) > 1e-6 * magnitude + 1e-7)
                                    Assert.Fail(FormattableString.Invariant($"rows {rows}, columns {columns}, inner {inner}: C[{r},{j}] = {c[r * columns + j]}, expected {sum}"));
                            }
                        }
                        for (int i = rows * columns; i < c.Length; i++)
                            Assert.That(c[i], Is.EqualTo(before[i]), $"rows {rows}, columns {columns}, inner {inner}: C written beyond its shape");
                    }
                }
            }
            Assert.That(calls, Is.EqualTo(9 * 40 * s_inners.Length));
        }

        [Test]
        public void MultiplyAddRefusesOperandsShorterThanTheirShape()
        {
            var a = new float[6];
            var b = new float[6];
            var c = new float[4];
            Assert.Throws<ArgumentOutOfRangeException>(() => DenseKernels.MultiplyAdd(2, 2, 4, a, 4, 1, b, c, false));
            Assert.Throws<ArgumentOutOfRangeException>(() => DenseKernels.MultiplyAdd(2, 3, 3, a, 3, 1, b, c, false));
        }

        [Test]
        public void TransposeMatchesTheDefinition()
        {
            var random = new Random(5);
            foreach (var (rows, columns) in new[] { (1, 1), (1, 7), (7, 1), (3, 5), (16, 9), (17, 33) })
            {
                var source = GradientCheck.Random(random, rows * columns);
                var target = new float[rows * columns];
                DenseKernels.Transpose(rows, columns, source, target);
                for (int r = 0; r < rows; r++)
                {
                    for (int c = 0; c < columns; c++)
                        Assert.That(target[c * rows + r], Is.EqualTo(source[r * columns + c]), $"{rows} x {columns}: ({r}, {c})");
                }
            }
        }

        [Test]
        public void MaskByPositiveZeroesTheGradientWhereTheActivationIsNotPositive()
        {
            // 19 values: the vector loop and the scalar tail.
            var activation = new float[19];
            var gradient = new float[19];
            for (int i = 0; i < activation.Length; i++)
            {
                activation[i] = i % 3 == 0 ? 0 : i % 3 == 1 ? -1 - i : 1 + i;
                gradient[i] = 10 + i;
            }
            activation[18] = float.NaN;
            DenseKernels.MaskByPositive(activation, gradient);
            for (int i = 0; i < gradient.Length; i++)
                Assert.That(gradient[i], Is.EqualTo(activation[i] > 0 ? 10 + i : 0), $"index {i}");
        }
    }
}
