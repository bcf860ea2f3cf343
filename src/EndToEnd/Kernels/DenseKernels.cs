using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace Embeddings.EndToEnd.Kernels
{
    /// <summary>
    /// The dense math of the end-to-end networks, in one place: a register-blocked matrix product (the only kernel whose
    /// speed matters: every dense layer's forward pass, input gradient and weight gradient is one call), and the small
    /// row operations around it. No allocation; offsets of the large operands are <c>long</c>-safe because every operand
    /// here is one block of at most a few hundred rows.
    /// </summary>
    internal static class DenseKernels
    {
        private const int RowBlock = 4;
        private const int ColumnBlock = 16;

        /// <summary>
        /// C (+)= A·B for a row-major B [<paramref name="inner"/> × <paramref name="columns"/>] and a row-major C
        /// [<paramref name="rows"/> × <paramref name="columns"/>]. A's element (r, k) is
        /// <c>a[r * aRowStride + k * aColumnStride]</c>, so one kernel serves A and Aᵀ.
        /// </summary>
        /// <param name="rows">Rows of A and C.</param>
        /// <param name="columns">Columns of B and C.</param>
        /// <param name="inner">Columns of A, rows of B.</param>
        /// <param name="a">A's elements.</param>
        /// <param name="aRowStride">Distance between A's rows.</param>
        /// <param name="aColumnStride">Distance between A's columns.</param>
        /// <param name="b">B, row-major.</param>
        /// <param name="c">C, row-major.</param>
        /// <param name="accumulate">True: C += A·B. False: C = A·B.</param>
        public static void MultiplyAdd(int rows, int columns, int inner, ReadOnlySpan<float> a, int aRowStride, int aColumnStride,
            ReadOnlySpan<float> b, Span<float> c, bool accumulate)
        {
            if ((long)(rows - 1) * aRowStride + (long)(inner - 1) * aColumnStride >= a.Length && rows > 0 && inner > 0)
                throw new ArgumentOutOfRangeException(nameof(a), "A is shorter than its shape.");
            if ((long)inner * columns > b.Length || (long)rows * columns > c.Length)
                throw new ArgumentOutOfRangeException(nameof(b), "B or C is shorter than its shape.");
            if (!accumulate)
                c[..(rows * columns)].Clear();
            if (rows == 0 || columns == 0 || inner == 0)
                return;
            ref float a0 = ref MemoryMarshal.GetReference(a);
            ref float b0 = ref MemoryMarshal.GetReference(b);
            ref float c0 = ref MemoryMarshal.GetReference(c);
            int r = 0;
            for (; r + RowBlock <= rows; r += RowBlock)
                FourRows(r, columns, inner, ref a0, aRowStride, aColumnStride, ref b0, ref c0);
            for (; r < rows; r++)
                OneRow(r, columns, inner, ref a0, aRowStride, aColumnStride, ref b0, ref c0);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static Vector256<float> Fused(Vector256<float> x, Vector256<float> y, Vector256<float> accumulator) =>
            Fma.IsSupported ? Fma.MultiplyAdd(x, y, accumulator) : x * y + accumulator;

        private static void FourRows(int r, int columns, int inner, ref float a, int aRow, int aCol, ref float b, ref float c)
        {
            nint ar0 = (nint)r * aRow, ar1 = ar0 + aRow, ar2 = ar1 + aRow, ar3 = ar2 + aRow;
            nint cr0 = (nint)r * columns, cr1 = cr0 + columns, cr2 = cr1 + columns, cr3 = cr2 + columns;
            int j = 0;
            for (; j + ColumnBlock <= columns; j += ColumnBlock)
            {
                var s00 = Vector256.LoadUnsafe(ref c, (nuint)(cr0 + j));
                var s01 = Vector256.LoadUnsafe(ref c, (nuint)(cr0 + j + 8));
                var s10 = Vector256.LoadUnsafe(ref c, (nuint)(cr1 + j));
                var s11 = Vector256.LoadUnsafe(ref c, (nuint)(cr1 + j + 8));
                var s20 = Vector256.LoadUnsafe(ref c, (nuint)(cr2 + j));
                var s21 = Vector256.LoadUnsafe(ref c, (nuint)(cr2 + j + 8));
                var s30 = Vector256.LoadUnsafe(ref c, (nuint)(cr3 + j));
                var s31 = Vector256.LoadUnsafe(ref c, (nuint)(cr3 + j + 8));
                nint bk = j, ak = 0;
                for (int k = 0; k < inner; k++, bk += columns, ak += aCol)
                {
                    var b0 = Vector256.LoadUnsafe(ref b, (nuint)bk);
                    var b1 = Vector256.LoadUnsafe(ref b, (nuint)(bk + 8));
                    var x0 = Vector256.Create(Unsafe.Add(ref a, ar0 + ak));
                    s00 = Fused(x0, b0, s00);
                    s01 = Fused(x0, b1, s01);
                    var x1 = Vector256.Create(Unsafe.Add(ref a, ar1 + ak));
                    s10 = Fused(x1, b0, s10);
                    s11 = Fused(x1, b1, s11);
                    var x2 = Vector256.Create(Unsafe.Add(ref a, ar2 + ak));
                    s20 = Fused(x2, b0, s20);
                    s21 = Fused(x2, b1, s21);
                    var x3 = Vector256.Create(Unsafe.Add(ref a, ar3 + ak));
                    s30 = Fused(x3, b0, s30);
                    s31 = Fused(x3, b1, s31);
                }
                s00.StoreUnsafe(ref c, (nuint)(cr0 + j));
                s01.StoreUnsafe(ref c, (nuint)(cr0 + j + 8));
                s10.StoreUnsafe(ref c, (nuint)(cr1 + j));
                s11.StoreUnsafe(ref c, (nuint)(cr1 + j + 8));
                s20.StoreUnsafe(ref c, (nuint)(cr2 + j));
                s21.StoreUnsafe(ref c, (nuint)(cr2 + j + 8));
                s30.StoreUnsafe(ref c, (nuint)(cr3 + j));
                s31.StoreUnsafe(ref c, (nuint)(cr3 + j + 8));
            }
            for (; j + 8 <= columns; j += 8)
            {
                var s0 = Vector256.LoadUnsafe(ref c, (nuint)(cr0 + j));
                var s1 = Vector256.LoadUnsafe(ref c, (nuint)(cr1 + j));
                var s2 = Vector256.LoadUnsafe(ref c, (nuint)(cr2 + j));
                var s3 = Vector256.LoadUnsafe(ref c, (nuint)(cr3 + j));
                nint bk = j, ak = 0;
                for (int k = 0; k < inner; k++, bk += columns, ak += aCol)
                {
                    var bv = Vector256.LoadUnsafe(ref b, (nuint)bk);
                    s0 = Fused(Vector256.Create(Unsafe.Add(ref a, ar0 + ak)), bv, s0);
                    s1 = Fused(Vector256.Create(Unsafe.Add(ref a, ar1 + ak)), bv, s1);
                    s2 = Fused(Vector256.Create(Unsafe.Add(ref a, ar2 + ak)), bv, s2);
                    s3 = Fused(Vector256.Create(Unsafe.Add(ref a, ar3 + ak)), bv, s3);
                }
                s0.StoreUnsafe(ref c, (nuint)(cr0 + j));
                s1.StoreUnsafe(ref c, (nuint)(cr1 + j));
                s2.StoreUnsafe(ref c, (nuint)(cr2 + j));
                s3.StoreUnsafe(ref c, (nuint)(cr3 + j));
            }
            for (; j < columns; j++)
            {
                float s0 = Unsafe.Add(ref c, cr0 + j), s1 = Unsafe.Add(ref c, cr1 + j), s2 = Unsafe.Add(ref c, cr2 + j), s3 = Unsafe.Add(ref c, cr3 + j);
                nint bk = j, ak = 0;
                for (int k = 0; k < inner; k++, bk += columns, ak += aCol)
                {
                    float bv = Unsafe.Add(ref b, bk);
                    s0 += Unsafe.Add(ref a, ar0 + ak) * bv;
                    s1 += Unsafe.Add(ref a, ar1 + ak) * bv;
                    s2 += Unsafe.Add(ref a, ar2 + ak) * bv;
                    s3 += Unsafe.Add(ref a, ar3 + ak) * bv;
                }
                Unsafe.Add(ref c, cr0 + j) = s0;
                Unsafe.Add(ref c, cr1 + j) = s1;
                Unsafe.Add(ref c, cr2 + j) = s2;
                Unsafe.Add(ref c, cr3 + j) = s3;
            }
        }

        private static void OneRow(int r, int columns, int inner, ref float a, int aRow, int aCol, ref float b, ref float c)
        {
            nint ar = (nint)r * aRow;
            nint cr = (nint)r * columns;
            int j = 0;
            for (; j + ColumnBlock <= columns; j += ColumnBlock)
            {
                var s0 = Vector256.LoadUnsafe(ref c, (nuint)(cr + j));
                var s1 = Vector256.LoadUnsafe(ref c, (nuint)(cr + j + 8));
                nint bk = j, ak = 0;
                for (int k = 0; k < inner; k++, bk += columns, ak += aCol)
                {
                    var x = Vector256.Create(Unsafe.Add(ref a, ar + ak));
                    s0 = Fused(x, Vector256.LoadUnsafe(ref b, (nuint)bk), s0);
                    s1 = Fused(x, Vector256.LoadUnsafe(ref b, (nuint)(bk + 8)), s1);
                }
                s0.StoreUnsafe(ref c, (nuint)(cr + j));
                s1.StoreUnsafe(ref c, (nuint)(cr + j + 8));
            }
            for (; j + 8 <= columns; j += 8)
            {
                var s = Vector256.LoadUnsafe(ref c, (nuint)(cr + j));
                nint bk = j, ak = 0;
                for (int k = 0; k < inner; k++, bk += columns, ak += aCol)
                    s = Fused(Vector256.Create(Unsafe.Add(ref a, ar + ak)), Vector256.LoadUnsafe(ref b, (nuint)bk), s);
                s.StoreUnsafe(ref c, (nuint)(cr + j));
            }
            for (; j < columns; j++)
            {
                float s = Unsafe.Add(ref c, cr + j);
                nint bk = j, ak = 0;
                for (int k = 0; k < inner; k++, bk += columns, ak += aCol)
                    s += Unsafe.Add(ref a, ar + ak) * Unsafe.Add(ref b, bk);
                Unsafe.Add(ref c, cr + j) = s;
            }
        }

        /// <summary>Writes the transpose of the row-major <paramref name="rows"/> × <paramref name="columns"/> matrix <paramref name="source"/> into <paramref name="target"/>.</summary>
        public static void Transpose(int rows, int columns, ReadOnlySpan<float> source, Span<float> target)
        {
            if ((long)rows * columns > source.Length || (long)rows * columns > target.Length)
                throw new ArgumentOutOfRangeException(nameof(source), "The matrix is shorter than its shape.");
            for (int r = 0; r < rows; r++)
            {
                var row = source.Slice(r * columns, columns);
                for (int c = 0; c < columns; c++)
                    target[c * rows + r] = row[c];
            }
        }

        /// <summary>Adds <paramref name="bias"/> to every row of the row-major <paramref name="matrix"/> [rows × bias.Length].</summary>
        public static void AddToRows(int rows, ReadOnlySpan<float> bias, Span<float> matrix)
        {
            int width = bias.Length;
            for (int r = 0; r < rows; r++)
            {
                var row = matrix.Slice(r * width, width);
                TensorPrimitives.Add(row, bias, row);
            }
        }

        /// <summary>Adds every row of the row-major <paramref name="matrix"/> [rows × sum.Length] to <paramref name="sum"/>.</summary>
        public static void SumRows(int rows, ReadOnlySpan<float> matrix, Span<float> sum)
        {
            int width = sum.Length;
            for (int r = 0; r < rows; r++)
                TensorPrimitives.Add(sum, matrix.Slice(r * width, width), sum);
        }

        /// <summary>x = max(x, 0), in place.</summary>
        public static void Relu(Span<float> values) => TensorPrimitives.Max(values, 0f, values);

        /// <summary>gradient[i] = 0 where activation[i] ≤ 0 (the ReLU's derivative, for activations taken after the ReLU).</summary>
        public static void MaskByPositive(ReadOnlySpan<float> activation, Span<float> gradient)
        {
            if (activation.Length != gradient.Length)
                throw new ArgumentException("Activation and gradient differ in length.", nameof(gradient));
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                ref float act = ref MemoryMarshal.GetReference(activation);
                ref float grad = ref MemoryMarshal.GetReference(gradient);
                for (; i + 8 <= activation.Length; i += 8)
                {
                    var positive = Vector256.GreaterThan(Vector256.LoadUnsafe(ref act, (nuint)i), Vector256<float>.Zero);
                    (Vector256.LoadUnsafe(ref grad, (nuint)i) & positive).StoreUnsafe(ref grad, (nuint)i);
                }
            }
            for (; i < activation.Length; i++)
            {
                if (!(activation[i] > 0))
                    gradient[i] = 0;
            }
        }
    }
}
