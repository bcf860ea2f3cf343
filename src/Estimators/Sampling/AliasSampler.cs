using System;
using System.Runtime.CompilerServices;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// Draws from a fixed discrete distribution in O(1) (Walker/Vose alias method), with memory linear in the number of
    /// outcomes: used for the unigram^exponent negative-sampling distribution, in place of word2vec's 10^8-entry table.
    /// </summary>
    internal sealed class AliasSampler
    {
        private readonly uint[] _threshold;
        private readonly int[] _alias;

        public AliasSampler(ReadOnlySpan<double> weights)
        {
            int n = weights.Length;
            if (n == 0)
                throw new ArgumentException("An alias sampler needs at least one outcome.", nameof(weights));
            double total = 0;
            foreach (double w in weights)
            {
                if (!(w >= 0) || double.IsInfinity(w))
                    throw new ArgumentException($"Weights must be finite and non-negative; found {w}.", nameof(weights));
                total += w;
            }
            if (total <= 0)
                throw new ArgumentException("At least one weight must be positive.", nameof(weights));

            _threshold = new uint[n];
            _alias = new int[n];
            Build(weights, total, _threshold, _alias, new double[n], new int[n], new int[n]);
        }

        /// <summary>
        /// Fills the alias table of <paramref name="weights"/> (summing to <paramref name="total"/> &gt; 0) into
        /// <paramref name="threshold"/> and <paramref name="alias"/>, using the three scratch spans (each as long as the weights).
        /// Outcome i is drawn by picking a bucket b uniformly and keeping b when a uniform 32-bit value is below
        /// threshold[b], else taking alias[b].
        /// </summary>
        public static void Build(ReadOnlySpan<double> weights, double total, Span<uint> threshold, Span<int> alias, Span<double> scaled, Span<int> small, Span<int> large)
        {
            int n = weights.Length;
            int smallCount = 0, largeCount = 0;
            for (int i = 0; i < n; i++)
            {
                scaled[i] = weights[i] * n / total;
                if (scaled[i] < 1)
                    small[smallCount++] = i;
                else
                    large[largeCount++] = i;
            }
            while (smallCount > 0 && largeCount > 0)
            {
                int s = small[--smallCount];
                int l = large[--largeCount];
                threshold[s] = ToThreshold(scaled[s]);
                alias[s] = l;
                scaled[l] = scaled[l] + scaled[s] - 1;
                if (scaled[l] < 1)
                    small[smallCount++] = l;
                else
                    large[largeCount++] = l;
            }
            while (largeCount > 0)
            {
                int l = large[--largeCount];
                threshold[l] = uint.MaxValue;
                alias[l] = l;
            }
            while (smallCount > 0)
            {
                // Only reached through rounding: the remaining mass is (numerically) 1.
                int s = small[--smallCount];
                threshold[s] = uint.MaxValue;
                alias[s] = s;
            }
        }

        /// <summary>Draws from a table built by <see cref="Build"/>.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static int Sample(ReadOnlySpan<uint> threshold, ReadOnlySpan<int> alias, ref TrainingRandom random)
        {
            int bucket = random.Next(threshold.Length);
            return random.NextUInt32() < threshold[bucket] ? bucket : alias[bucket];
        }

        public int Count => _alias.Length;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Sample(ref TrainingRandom random)
        {
            int bucket = random.Next(_alias.Length);
            return random.NextUInt32() < _threshold[bucket] ? bucket : _alias[bucket];
        }

        private static uint ToThreshold(double probability) =>
            probability >= 1 ? uint.MaxValue : (uint)Math.Round(probability * 4294967296.0);
    }
}
