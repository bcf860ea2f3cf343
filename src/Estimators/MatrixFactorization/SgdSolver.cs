using System;
using System.Threading.Tasks;
using Embeddings.SkipGram;

namespace Embeddings.MatrixFactorization
{
    /// <summary>
    /// Biased matrix factorization for explicit ratings, r̂ = μ + b_u + b_i + p_u·q_i, trained by stochastic gradient
    /// descent on the squared loss with L2 penalty λ (applied per rating, as LibMF does) and LibMF's per-row adaptive
    /// learning rate (AdaGrad over a row's mean squared gradient: Chin et al., "A Learning-Rate Schedule for Stochastic
    /// Gradient Methods to Matrix Factorization", PAKDD 2015).
    /// </summary>
    /// <remarks>
    /// Parallel and deterministic by stratification (Gemulla et al., DSGD, KDD 2011): users and items are split into
    /// <see cref="Blocks"/> groups each; an epoch runs <see cref="Blocks"/> strata, and the blocks of one stratum share
    /// no user and no item, so they run concurrently without races. Block (a, b) in epoch t shuffles its ratings with
    /// the random stream (seed, t, a, b), so the result depends on the seed only, never on the thread count.
    /// </remarks>
    internal sealed class SgdSolver
    {
        /// <summary>Groups of users and of items; fixed, so that results do not depend on the thread count.</summary>
        public const int Blocks = 8;

        private readonly RatingMatrix _ratings;
        private readonly int _k;
        private readonly int[] _blockStart;
        private readonly int[] _order;
        private readonly float[] _userAdaptive;
        private readonly float[] _itemAdaptive;

        public SgdSolver(RatingMatrix ratings, int k, ulong seed)
        {
            _ratings = ratings;
            _k = k;
            // Users and items are assigned to blocks by a seeded permutation, which balances the blocks.
            int[] userBlock = BlockAssignment(ratings.UserCount, seed, 1);
            int[] itemBlock = BlockAssignment(ratings.ItemCount, seed, 2);
            _blockStart = new int[Blocks * Blocks + 1];
            int n = checked((int)ratings.Count);
            for (int e = 0; e < n; e++)
                _blockStart[userBlock[ratings.UserOf[e]] * Blocks + itemBlock[ratings.ItemOf[e]] + 1]++;
            for (int b = 0; b < Blocks * Blocks; b++)
                _blockStart[b + 1] += _blockStart[b];
            var next = (int[])_blockStart.Clone();
            _order = new int[n];
            for (int e = 0; e < n; e++)
                _order[next[userBlock[ratings.UserOf[e]] * Blocks + itemBlock[ratings.ItemOf[e]]]++] = e;
            _userAdaptive = new float[ratings.UserCount];
            _itemAdaptive = new float[ratings.ItemCount];
            Array.Fill(_userAdaptive, 1f);
            Array.Fill(_itemAdaptive, 1f);
        }

        /// <summary>Runs epoch <paramref name="epoch"/> (0-based) over all ratings, updating factors and biases in place.</summary>
        public void RunEpoch(int epoch, ulong seed, float[] p, float[] q, float[] userBias, float[] itemBias, float mean,
            float learningRate, float lambda, bool nonNegative, int threads)
        {
            var parallel = new ParallelOptions { MaxDegreeOfParallelism = threads };
            for (int stratum = 0; stratum < Blocks; stratum++)
            {
                int s = stratum;
                Parallel.For(0, Blocks, parallel, a =>
                {
                    int b = (a + s) % Blocks;
                    int block = a * Blocks + b;
                    var random = new TrainingRandom(seed, ((ulong)epoch * Blocks * Blocks + (ulong)block) + 0x5D5D_0000_0000UL);
                    var segment = _order.AsSpan(_blockStart[block], _blockStart[block + 1] - _blockStart[block]);
                    for (int i = segment.Length - 1; i > 0; i--)
                    {
                        int j = random.Next(i + 1);
                        (segment[i], segment[j]) = (segment[j], segment[i]);
                    }
                    foreach (int e in segment)
                        Update(e, p, q, userBias, itemBias, mean, learningRate, lambda, nonNegative);
                });
            }
        }

        private void Update(int e, float[] p, float[] q, float[] userBias, float[] itemBias, float mean, float learningRate, float lambda, bool nonNegative)
        {
            int u = _ratings.UserOf[e], i = _ratings.ItemOf[e];
            int k = _k;
            var pu = p.AsSpan((int)((long)u * k), k);
            var qi = q.AsSpan((int)((long)i * k), k);
            float dot = 0;
            for (int d = 0; d < k; d++)
                dot += pu[d] * qi[d];
            float error = _ratings.Values[e] - (mean + userBias[u] + itemBias[i] + dot);
            float etaU = learningRate / MathF.Sqrt(_userAdaptive[u]);
            float etaI = learningRate / MathF.Sqrt(_itemAdaptive[i]);
            float squaredU = 0, squaredI = 0;
            for (int d = 0; d < k; d++)
            {
                float gp = -error * qi[d] + lambda * pu[d];
                float gq = -error * pu[d] + lambda * qi[d];
                squaredU += gp * gp;
                squaredI += gq * gq;
                float newP = pu[d] - etaU * gp;
                float newQ = qi[d] - etaI * gq;
                pu[d] = nonNegative && newP < 0 ? 0 : newP;
                qi[d] = nonNegative && newQ < 0 ? 0 : newQ;
            }
            float gbu = -error + lambda * userBias[u];
            float gbi = -error + lambda * itemBias[i];
            userBias[u] -= etaU * gbu;
            itemBias[i] -= etaI * gbi;
            _userAdaptive[u] += (squaredU + gbu * gbu) / (k + 1);
            _itemAdaptive[i] += (squaredI + gbi * gbi) / (k + 1);
        }

        private static int[] BlockAssignment(int count, ulong seed, ulong stream)
        {
            var permutation = new int[count];
            for (int i = 0; i < count; i++)
                permutation[i] = i;
            var random = new TrainingRandom(seed, stream);
            for (int i = count - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (permutation[i], permutation[j]) = (permutation[j], permutation[i]);
            }
            var block = new int[count];
            for (int i = 0; i < count; i++)
                block[permutation[i]] = i % Blocks;
            return block;
        }
    }
}
