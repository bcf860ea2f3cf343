using System;
using System.Runtime.CompilerServices;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// The logistic function and its log-loss on [-6, 6] by table, as the word2vec tool computes them
    /// (1,000 entries); outside that range the caller saturates.
    /// </summary>
    internal static class SigmoidTable
    {
        public const float MaxExp = 6f;
        private const int Size = 1000;
        private const float Scale = Size / MaxExp / 2;
        private static readonly float[] s_sigmoid = Create(x => 1 / (1 + Math.Exp(-x)));
        private static readonly float[] s_logLossPositive = Create(x => Math.Log(1 + Math.Exp(-x)));

        /// <summary>sigmoid(<paramref name="f"/>) for -6 &lt; f &lt; 6.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Sigmoid(float f) => s_sigmoid[(int)((f + MaxExp) * Scale)];

        /// <summary>-log(sigmoid(f)) for the true label, -log(1 - sigmoid(f)) for a negative; f saturated to [-6, 6].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float LogLoss(float f, bool positive)
        {
            float x = positive ? f : -f;
            if (x >= MaxExp)
                return 0.0024726f;
            if (x <= -MaxExp)
                return -x;
            return s_logLossPositive[(int)((x + MaxExp) * Scale)];
        }

        private static float[] Create(Func<double, double> function)
        {
            var table = new float[Size + 1];
            for (int i = 0; i <= Size; i++)
                table[i] = (float)function((i / (double)Size * 2 - 1) * MaxExp);
            return table;
        }
    }
}
