using System;
using System.Numerics.Tensors;

namespace Embeddings.Kernels
{
    /// <summary>
    /// The one SIMD facade of the library: span-based vector kernels forwarding to <see cref="TensorPrimitives"/>.
    /// Lengths are checked here, at the boundary, and nowhere below.
    /// </summary>
    internal static class VectorMath
    {
        /// <summary>Returns the dot product of <paramref name="x"/> and <paramref name="y"/>.</summary>
        public static float Dot(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        {
            CheckSameLength(x.Length, y.Length);
            return TensorPrimitives.Dot(x, y);
        }

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
