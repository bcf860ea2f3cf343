using System;
using System.Threading.Tasks;
using Embeddings.Kernels;

namespace Embeddings.MatrixFactorization
{
    /// <summary>
    /// Weighted alternating least squares for implicit feedback (Hu, Koren and Volinsky, "Collaborative Filtering for
    /// Implicit Feedback Datasets", ICDM 2008). One half-step fixes Y (the other side's factors) and solves, for every
    /// row u exactly,
    /// <c>(YᵀY + λI + Σ_{i∈u} α r_ui y_i y_iᵀ) x_u = C·Σ_all y + Σ_{i∈u} (1 + α r_ui − C) y_i</c>,
    /// i.e. observed entries have preference 1 and confidence 1 + α r, unobserved entries preference C and confidence 1.
    /// The Gram matrix YᵀY is computed once per half-step (the shortcut that makes the cost O(n_u k² + k³) per row);
    /// the k x k system is solved by Cholesky in double precision. Rows are independent, so the result does not depend
    /// on the number of threads or their scheduling. No ML.NET types; no allocation per row (one workspace per worker).
    /// </summary>
    internal static class AlsSolver
    {
        /// <summary>Solves every row of <paramref name="x"/> (rows of <paramref name="rows"/>) given <paramref name="y"/>.</summary>
        public static void SolveImplicit(CompressedRows rows, float[] y, int yCount, float[] x, int k, float lambda, float alpha, float negativeTarget, int threads)
        {
            var gram = new float[(long)k * k];
            var ySum = new float[k];
            Gram(y, yCount, k, gram, ySum);
            Parallel.For(0, rows.RowCount, new ParallelOptions { MaxDegreeOfParallelism = threads },
                () => new Workspace(k),
                (u, _, work) =>
                {
                    SolveRow(rows, u, y, x, k, lambda, alpha, negativeTarget, gram, ySum, work);
                    return work;
                },
                _ => { });
        }

        /// <summary>Lower triangle of YᵀY (row a holds columns 0..a) and the column sums of Y; sequential, so deterministic.</summary>
        internal static void Gram(float[] y, int yCount, int k, float[] gram, float[] ySum)
        {
            Array.Clear(gram);
            Array.Clear(ySum);
            for (int i = 0; i < yCount; i++)
            {
                var row = new ReadOnlySpan<float>(y, (int)((long)i * k), k);
                VectorMath.Add(row, ySum);
                for (int a = 0; a < k; a++)
                {
                    if (row[a] != 0)
                        VectorMath.AddScaled(row[..(a + 1)], row[a], gram.AsSpan((int)((long)a * k), a + 1));
                }
            }
        }

        private static void SolveRow(CompressedRows rows, int u, float[] y, float[] x, int k, float lambda, float alpha, float negativeTarget,
            float[] gram, float[] ySum, Workspace work)
        {
            var a = work.Matrix;
            var b = work.RightSide;
            gram.CopyTo(a, 0);
            ySum.CopyTo(b, 0);
            VectorMath.Scale(negativeTarget, b);
            for (int d = 0; d < k; d++)
                a[d * k + d] += lambda;
            long start = rows.Offsets[u], end = rows.Offsets[u + 1];
            for (long e = start; e < end; e++)
            {
                int i = rows.Columns[e];
                float r = rows.Values[e];
                var yi = new ReadOnlySpan<float>(y, (int)((long)i * k), k);
                float extra = alpha * r;
                if (extra != 0)
                {
                    for (int d = 0; d < k; d++)
                    {
                        if (yi[d] != 0)
                            VectorMath.AddScaled(yi[..(d + 1)], extra * yi[d], a.AsSpan(d * k, d + 1));
                    }
                }
                VectorMath.AddScaled(yi, 1 + extra - negativeTarget, b);
            }
            var solution = new Span<float>(x, (int)((long)u * k), k);
            CholeskySolve(a, b, k, work.Factor, work.Temporary, solution);
        }

        /// <summary>
        /// Solves A s = b for symmetric positive definite A given by its lower triangle (float, row-major k x k), in
        /// double precision. A non-positive pivot (never with λ &gt; 0) is clamped to a tiny positive value.
        /// </summary>
        internal static void CholeskySolve(float[] a, float[] b, int k, double[] l, double[] z, Span<float> solution)
        {
            for (int i = 0; i < k; i++)
            {
                int ri = i * k;
                for (int j = 0; j <= i; j++)
                {
                    int rj = j * k;
                    double sum = a[ri + j];
                    for (int p = 0; p < j; p++)
                        sum -= l[ri + p] * l[rj + p];
                    if (i == j)
                        l[ri + i] = Math.Sqrt(Math.Max(sum, 1e-12));
                    else
                        l[ri + j] = sum / l[rj + j];
                }
            }
            for (int i = 0; i < k; i++)
            {
                double sum = b[i];
                int ri = i * k;
                for (int p = 0; p < i; p++)
                    sum -= l[ri + p] * z[p];
                z[i] = sum / l[ri + i];
            }
            for (int i = k - 1; i >= 0; i--)
            {
                double sum = z[i];
                for (int p = i + 1; p < k; p++)
                    sum -= l[p * k + i] * z[p];
                z[i] = sum / l[i * k + i];
            }
            for (int i = 0; i < k; i++)
                solution[i] = (float)z[i];
        }

        /// <summary>Per-worker buffers, reused for every row the worker solves.</summary>
        private sealed class Workspace
        {
            public Workspace(int k)
            {
                Matrix = new float[k * k];
                RightSide = new float[k];
                Factor = new double[k * k];
                Temporary = new double[k];
            }

            public float[] Matrix { get; }

            public float[] RightSide { get; }

            public double[] Factor { get; }

            public double[] Temporary { get; }
        }
    }
}
