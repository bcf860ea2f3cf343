using System.Runtime.CompilerServices;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// A small, fast random stream (xoshiro128** seeded through SplitMix64) for one work item. Streams are derived
    /// from (seed, work item), never from threads, so results do not depend on scheduling.
    /// </summary>
    internal struct TrainingRandom
    {
        private uint _s0, _s1, _s2, _s3;

        public TrainingRandom(ulong seed, ulong stream)
        {
            ulong x = seed ^ (stream * 0x9E3779B97F4A7C15UL);
            ulong a = SplitMix(ref x), b = SplitMix(ref x);
            _s0 = (uint)a;
            _s1 = (uint)(a >> 32);
            _s2 = (uint)b;
            _s3 = (uint)(b >> 32);
            if ((_s0 | _s1 | _s2 | _s3) == 0)
                _s0 = 1;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public uint NextUInt32()
        {
            uint result = uint.RotateLeft(_s1 * 5, 7) * 9;
            uint t = _s1 << 9;
            _s2 ^= _s0;
            _s3 ^= _s1;
            _s1 ^= _s2;
            _s0 ^= _s3;
            _s2 ^= t;
            _s3 = uint.RotateLeft(_s3, 11);
            return result;
        }

        /// <summary>A value in [0, <paramref name="bound"/>) (Lemire's multiply-shift; bias below 2^-32 * bound).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int Next(int bound) => (int)(((ulong)NextUInt32() * (uint)bound) >> 32);

        /// <summary>A value in [0, 1).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public float NextFloat() => (NextUInt32() >> 8) * (1f / (1 << 24));

        private static ulong SplitMix(ref ulong x)
        {
            ulong z = x += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
