using System.Runtime.CompilerServices;

namespace Embeddings.Cluster.Training
{
    /// <summary>
    /// A SplitMix64 random stream for one work item: the state starts from a hash of the job's seed and the item's
    /// coordinates, so the draws of a bucket are the same on every worker and in every retry.
    /// </summary>
    internal struct BucketRandom
    {
        private const ulong Golden = 0x9E3779B97F4A7C15UL;
        private ulong _state;

        private BucketRandom(ulong state) => _state = state;

        /// <summary>The stream of bucket (input, output) of (epoch, episode) in a job with seed <paramref name="seed"/>.</summary>
        public static BucketRandom ForBucket(int seed, int epoch, int episode, int input, int output)
        {
            ulong h = Mix((ulong)(uint)seed ^ 0xC1057E7UL);
            h = Mix(h ^ (ulong)(uint)epoch);
            h = Mix(h ^ (ulong)(uint)episode);
            h = Mix(h ^ (ulong)(uint)input);
            h = Mix(h ^ (ulong)(uint)output);
            return new BucketRandom(h);
        }

        /// <summary>The stream of the initial vectors of one partition of one side.</summary>
        public static BucketRandom ForInitialization(int seed, int side, int partition)
        {
            ulong h = Mix((ulong)(uint)seed ^ 0x1A17UL);
            h = Mix(h ^ (ulong)(uint)side);
            h = Mix(h ^ (ulong)(uint)partition);
            return new BucketRandom(h);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public ulong NextUInt64()
        {
            _state += Golden;
            return Mix(_state);
        }

        /// <summary>A value in [0, <paramref name="bound"/>) (multiply-shift of the upper 32 bits; bias below 2^-32 x bound).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Next(int bound) => (int)(((NextUInt64() >> 32) * (ulong)(uint)bound) >> 32);

        /// <summary>A value in [0, 1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
