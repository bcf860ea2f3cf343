using System;
using System.Collections.Generic;
using System.Linq;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// The proposal Q of the sampled softmax: draws items with replacement and gives log(S · Q(item)), the log of the
    /// expected count of an item among S draws, which the logits are corrected by.
    /// </summary>
    internal sealed class ProposalSampler
    {
        private readonly SampledSoftmaxProposal _proposal;
        private readonly int[] _byRank;
        private readonly double[] _cumulative;
        private readonly float[] _logProbability;
        private readonly double _logSpan;

        /// <summary>Builds Q from each item's number of occurrences in the training sequences (<paramref name="counts"/>, every count 1 or more).</summary>
        public ProposalSampler(SampledSoftmaxProposal proposal, IReadOnlyList<long> counts)
        {
            _proposal = proposal;
            int n = counts.Count;
            _logProbability = new float[n];
            _byRank = Enumerable.Range(0, n).OrderByDescending(i => counts[i]).ThenBy(i => i).ToArray();
            _cumulative = [];
            if (proposal == SampledSoftmaxProposal.LogUniform)
            {
                // Zipf over the popularity rank k (0 = most frequent): Q(k) = log((k + 2) / (k + 1)) / log(n + 1).
                _logSpan = Math.Log(n + 1.0);
                for (int k = 0; k < n; k++)
                    _logProbability[_byRank[k]] = (float)Math.Log(Math.Log((k + 2.0) / (k + 1.0)) / _logSpan);
            }
            else
            {
                double total = counts.Sum(c => (double)c);
                _cumulative = new double[n];
                double running = 0;
                for (int i = 0; i < n; i++)
                {
                    running += counts[i];
                    _cumulative[i] = running;
                    _logProbability[i] = (float)Math.Log(counts[i] / total);
                }
            }
        }

        /// <summary>One item drawn from Q.</summary>
        public int Next(Random random)
        {
            int n = _logProbability.Length;
            if (_proposal == SampledSoftmaxProposal.LogUniform)
            {
                int k = (int)Math.Floor(Math.Exp(random.NextDouble() * _logSpan)) - 1;
                return _byRank[Math.Clamp(k, 0, n - 1)];
            }
            double x = random.NextDouble() * _cumulative[^1];
            int index = Array.BinarySearch(_cumulative, x);
            index = index >= 0 ? index + 1 : ~index;
            return Math.Min(index, n - 1);
        }

        /// <summary>log(<paramref name="samples"/> · Q(<paramref name="item"/>)).</summary>
        public float LogExpectedCount(int item, int samples) => MathF.Log(samples) + _logProbability[item];
    }
}
