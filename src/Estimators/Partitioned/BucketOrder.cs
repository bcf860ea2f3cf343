using System;
using System.Collections.Generic;

namespace Embeddings.Partitioned
{
    /// <summary>
    /// The order in which the P x P buckets (input partition i, output partition j) of an episode are trained. A bucket
    /// needs exactly two matrices in memory, input partition i and output partition j, so every change of bucket loads at
    /// least one matrix; the boustrophedon ("snake") order below loads exactly one per change (row i walks j up when i is
    /// even, down when odd), which is the least possible: P x P - 1 loads per episode after the first two. Odd episodes
    /// run the order backwards, so an episode starts with the two matrices the previous one ended with.
    /// </summary>
    /// <remarks>
    /// PyTorch-BigGraph's inside-out order solves a different problem: there an entity partition carries the vectors of
    /// both sides, and a bucket needs partitions i and j. Skip-gram keeps separate input and output matrices, and a pair
    /// (a, b) touches only input row a and output rows of b's partition (its positive and its negatives), so the unit of
    /// swapping here is one matrix partition.
    /// </remarks>
    internal static class BucketOrder
    {
        /// <summary>The buckets of episode <paramref name="episode"/> (counted over all epochs), in training order.</summary>
        public static (int Input, int Output)[] For(int partitions, long episode)
        {
            if (partitions < 1)
                throw new ArgumentOutOfRangeException(nameof(partitions), partitions, "At least one partition.");
            var order = new (int, int)[partitions * partitions];
            int n = 0;
            for (int i = 0; i < partitions; i++)
            {
                for (int k = 0; k < partitions; k++)
                    order[n++] = (i, i % 2 == 0 ? k : partitions - 1 - k);
            }
            if (episode % 2 == 1)
                Array.Reverse(order);
            return order;
        }

        /// <summary>Matrix loads of training <paramref name="episodes"/> episodes in this order with two resident matrices, the first two included.</summary>
        public static long Loads(int partitions, long episodes)
        {
            int input = -1, output = -1;
            long loads = 0;
            for (long e = 0; e < episodes; e++)
            {
                foreach (var (i, j) in For(partitions, e))
                {
                    if (i != input)
                    {
                        input = i;
                        loads++;
                    }
                    if (j != output)
                    {
                        output = j;
                        loads++;
                    }
                }
            }
            return loads;
        }

        /// <summary>All buckets, each once: true when <paramref name="order"/> is a permutation of the P x P grid.</summary>
        public static bool CoversEachOnce(IReadOnlyList<(int Input, int Output)> order, int partitions)
        {
            if (order.Count != partitions * partitions)
                return false;
            var seen = new bool[partitions, partitions];
            foreach (var (i, j) in order)
            {
                if (i < 0 || j < 0 || i >= partitions || j >= partitions || seen[i, j])
                    return false;
                seen[i, j] = true;
            }
            return true;
        }
    }
}
