using System;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Embeddings.Kernels
{
    /// <summary>
    /// The one SIMD facade of the library: span-based vector kernels forwarding to <see cref="TensorPrimitives"/>, and
    /// the fused updates of the skip-gram trainer. Lengths are checked here, at the boundary, and nowhere below. Public
    /// for components built on this library; every trainer and feature of the library uses it.
    /// </summary>
    public static class VectorMath
    {
        /// <summary>Returns the dot product of <paramref name="x"/> and <paramref name="y"/>.</summary>
        public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        {
            CheckSameLength(x.Length, y.Length);
            return TensorPrimitives.Dot(x, y);
        }

        /// <summary>
        /// A cosine computed in float32 (a dot product scaled by inverse norms) can land a few ulps outside [-1, 1], as
        /// 1.0000015 for a vector and itself; this clamps it back. NaN stays NaN.
        /// </summary>
        internal static float ClampCosine(float cosine) => cosine > 1f ? 1f : cosine < -1f ? -1f : cosine;

        /// <summary>Returns the Euclidean norm of <paramref name="x"/>.</summary>
        public static float Norm(ReadOnlySpan<float> x) => TensorPrimitives.Norm(x);

        /// <summary>Returns the squared Euclidean distance between <paramref name="x"/> and <paramref name="y"/>.</summary>
        public static float SquaredDistance(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        {
            CheckSameLength(x.Length, y.Length);
            float d = TensorPrimitives.Distance(x, y);
            return d * d;
        }

        /// <summary><paramref name="destination"/> += <paramref name="x"/>.</summary>
        public static void Add(ReadOnlySpan<float> x, Span<float> destination)
        {
            CheckSameLength(x.Length, destination.Length);
            TensorPrimitives.Add(destination, x, destination);
        }

        /// <summary><paramref name="destination"/> += <paramref name="scale"/> * <paramref name="x"/>.</summary>
        public static void AddScaled(ReadOnlySpan<float> x, float scale, Span<float> destination)
        {
            CheckSameLength(x.Length, destination.Length);
            TensorPrimitives.MultiplyAdd(x, scale, destination, destination);
        }

        /// <summary><paramref name="destination"/> = max(<paramref name="destination"/>, <paramref name="x"/>) element-wise.</summary>
        public static void Max(ReadOnlySpan<float> x, Span<float> destination)
        {
            CheckSameLength(x.Length, destination.Length);
            TensorPrimitives.Max(destination, x, destination);
        }

        /// <summary><paramref name="destination"/> *= <paramref name="scale"/>.</summary>
        public static void Scale(float scale, Span<float> destination) => TensorPrimitives.Multiply(destination, scale, destination);

        /// <summary>
        /// The word2vec update of one (input, output) pair with gradient scale <paramref name="g"/>, fused in one pass:
        /// <paramref name="inputGradient"/> += g * <paramref name="output"/> (with the old output), then
        /// <paramref name="output"/> += g * <paramref name="input"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AccumulateAndUpdate(ReadOnlySpan<float> input, Span<float> output, Span<float> inputGradient, float g)
        {
            int n = input.Length;
            if (output.Length != n || inputGradient.Length != n)
                throw new ArgumentException($"Vector lengths differ: {n}, {output.Length} and {inputGradient.Length}.");
            ref float x = ref MemoryMarshal.GetReference(input);
            ref float y = ref MemoryMarshal.GetReference(output);
            ref float e = ref MemoryMarshal.GetReference(inputGradient);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var gv = Vector256.Create(g);
                for (; i <= n - 8; i += 8)
                {
                    var yv = Vector256.LoadUnsafe(ref y, (nuint)i);
                    Vector256.MultiplyAddEstimate(gv, yv, Vector256.LoadUnsafe(ref e, (nuint)i)).StoreUnsafe(ref e, (nuint)i);
                    Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref x, (nuint)i), yv).StoreUnsafe(ref y, (nuint)i);
                }
            }
            if (Vector128.IsHardwareAccelerated)
            {
                var gv = Vector128.Create(g);
                for (; i <= n - 4; i += 4)
                {
                    var yv = Vector128.LoadUnsafe(ref y, (nuint)i);
                    Vector128.MultiplyAddEstimate(gv, yv, Vector128.LoadUnsafe(ref e, (nuint)i)).StoreUnsafe(ref e, (nuint)i);
                    Vector128.MultiplyAddEstimate(gv, Vector128.LoadUnsafe(ref x, (nuint)i), yv).StoreUnsafe(ref y, (nuint)i);
                }
            }
            for (; i < n; i++)
            {
                float yi = Unsafe.Add(ref y, i);
                Unsafe.Add(ref e, i) = MathF.FusedMultiplyAdd(g, yi, Unsafe.Add(ref e, i));
                Unsafe.Add(ref y, i) = MathF.FusedMultiplyAdd(g, Unsafe.Add(ref x, i), yi);
            }
        }

        /// <summary>
        /// The gradients of one (input, output) pair of a batch, accumulated without touching the vectors themselves:
        /// <paramref name="inputGradient"/> += g * <paramref name="output"/> and <paramref name="outputGradient"/> += g * <paramref name="input"/>.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void AccumulateBoth(ReadOnlySpan<float> input, ReadOnlySpan<float> output, Span<float> inputGradient, Span<float> outputGradient, float g)
        {
            int n = input.Length;
            if (output.Length != n || inputGradient.Length != n || outputGradient.Length != n)
                throw new ArgumentException($"Vector lengths differ: {n}, {output.Length}, {inputGradient.Length} and {outputGradient.Length}.");
            ref float x = ref MemoryMarshal.GetReference(input);
            ref float y = ref MemoryMarshal.GetReference(output);
            ref float ex = ref MemoryMarshal.GetReference(inputGradient);
            ref float ey = ref MemoryMarshal.GetReference(outputGradient);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var gv = Vector256.Create(g);
                for (; i <= n - 8; i += 8)
                {
                    Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref y, (nuint)i), Vector256.LoadUnsafe(ref ex, (nuint)i)).StoreUnsafe(ref ex, (nuint)i);
                    Vector256.MultiplyAddEstimate(gv, Vector256.LoadUnsafe(ref x, (nuint)i), Vector256.LoadUnsafe(ref ey, (nuint)i)).StoreUnsafe(ref ey, (nuint)i);
                }
            }
            if (Vector128.IsHardwareAccelerated)
            {
                var gv = Vector128.Create(g);
                for (; i <= n - 4; i += 4)
                {
                    Vector128.MultiplyAddEstimate(gv, Vector128.LoadUnsafe(ref y, (nuint)i), Vector128.LoadUnsafe(ref ex, (nuint)i)).StoreUnsafe(ref ex, (nuint)i);
                    Vector128.MultiplyAddEstimate(gv, Vector128.LoadUnsafe(ref x, (nuint)i), Vector128.LoadUnsafe(ref ey, (nuint)i)).StoreUnsafe(ref ey, (nuint)i);
                }
            }
            for (; i < n; i++)
            {
                Unsafe.Add(ref ex, i) = MathF.FusedMultiplyAdd(g, Unsafe.Add(ref y, i), Unsafe.Add(ref ex, i));
                Unsafe.Add(ref ey, i) = MathF.FusedMultiplyAdd(g, Unsafe.Add(ref x, i), Unsafe.Add(ref ey, i));
            }
        }

        /// <summary>True when every element is finite (no NaN, no infinity).</summary>
        public static bool AllFinite(ReadOnlySpan<float> x)
        {
            foreach (float v in x)
            {
                if (!float.IsFinite(v))
                    return false;
            }
            return true;
        }

        private static void CheckSameLength(int a, int b)
        {
            if (a != b)
                throw new ArgumentException($"Vector lengths differ: {a} and {b}.");
        }
    }
}
