using System;
using System.Collections.Generic;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// The trained items: keys ordered by count (descending, ties by key ordinal), their counts, and the settings that
    /// depend on counts (subsampling keep-probabilities, negative-sampling distribution).
    /// </summary>
    internal sealed class Vocabulary
    {
        public Vocabulary(string[] keys, long[] counts)
        {
            if (keys.Length != counts.Length)
                throw new ArgumentException("Keys and counts differ in length.");
            Keys = keys;
            Counts = counts;
            long total = 0;
            foreach (long c in counts)
                total += c;
            TotalCount = total;
        }

        public string[] Keys { get; }

        public long[] Counts { get; }

        public int Count => Keys.Length;

        /// <summary>Occurrences of the retained items in the corpus.</summary>
        public long TotalCount { get; }

        /// <summary>A new map from each key to its index.</summary>
        public Dictionary<string, int> Index()
        {
            var index = new Dictionary<string, int>(Count, StringComparer.Ordinal);
            for (int i = 0; i < Count; i++)
                index.Add(Keys[i], i);
            return index;
        }

        /// <summary>
        /// Selects items with at least <paramref name="minCount"/> occurrences, most frequent first, at most
        /// <paramref name="maxSize"/> of them; <paramref name="remap"/> gives each candidate's new index, or -1.
        /// </summary>
        public static Vocabulary Select(IReadOnlyList<string> candidates, long[] counts, int minCount, int? maxSize, out int[] remap)
        {
            var order = new List<int>(candidates.Count);
            for (int i = 0; i < candidates.Count; i++)
            {
                if (counts[i] >= minCount)
                    order.Add(i);
            }
            order.Sort((a, b) => counts[a] != counts[b] ? counts[b].CompareTo(counts[a]) : string.CompareOrdinal(candidates[a], candidates[b]));
            if (maxSize is int max && order.Count > max)
                order.RemoveRange(max, order.Count - max);
            remap = new int[candidates.Count];
            Array.Fill(remap, -1);
            var keys = new string[order.Count];
            var kept = new long[order.Count];
            for (int r = 0; r < order.Count; r++)
            {
                remap[order[r]] = r;
                keys[r] = candidates[order[r]];
                kept[r] = counts[order[r]];
            }
            return new Vocabulary(keys, kept);
        }

        /// <summary>
        /// Per item, the probability (scaled to 2^32) of keeping an occurrence under frequent-item subsampling with
        /// threshold <paramref name="sample"/>, as the word2vec tool computes it:
        /// keep = (sqrt(f / (sample * total)) + 1) * (sample * total) / f. A threshold of 0 keeps everything.
        /// </summary>
        public uint[] SubsamplingThresholds(double sample)
        {
            var thresholds = new uint[Count];
            for (int i = 0; i < Count; i++)
            {
                double keep = 1.0;
                if (sample > 0)
                {
                    double threshold = sample * TotalCount;
                    keep = (Math.Sqrt(Counts[i] / threshold) + 1) * threshold / Counts[i];
                }
                thresholds[i] = keep >= 1 ? uint.MaxValue : (uint)(keep * 4294967296.0);
            }
            return thresholds;
        }

        /// <summary>The negative-sampling distribution: count^<paramref name="exponent"/>.</summary>
        public AliasSampler NegativeSampler(double exponent)
        {
            var weights = new double[Count];
            bool positive = false;
            for (int i = 0; i < Count; i++)
            {
                weights[i] = Math.Pow(Counts[i], exponent);
                if (!double.IsFinite(weights[i]))
                    throw new InvalidOperationException($"NegativeSamplingExponent = {exponent.ToString(System.Globalization.CultureInfo.InvariantCulture)} turns the count {Counts[i]} into an infinite negative-sampling weight; use an exponent from -10 to 10 (0.75 is usual).");
                positive |= weights[i] > 0;
            }
            if (!positive)
                throw new InvalidOperationException($"NegativeSamplingExponent = {exponent.ToString(System.Globalization.CultureInfo.InvariantCulture)} turns every item count into a negative-sampling weight of 0; use an exponent from -10 to 10 (0.75 is usual).");
            return new AliasSampler(weights);
        }
    }
}
