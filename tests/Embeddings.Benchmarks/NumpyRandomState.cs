using System;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The legacy generator of <c>numpy.random.RandomState(seed)</c> for an integer seed: MT19937 seeded by the classic
    /// <c>init_genrand</c>, and <see cref="Permutation"/> as numpy's legacy <c>permutation(n)</c> (arange, then the
    /// Fisher-Yates shuffle drawing bounded integers by masked rejection). It reproduces numpy's permutation exactly, so
    /// the benchmarks split rows as the Python reference scripts do.
    /// </summary>
    internal sealed class NumpyRandomState
    {
        private const int StateLength = 624;
        private const int ShiftLength = 397;
        private const uint MatrixA = 0x9908b0dfu;
        private const uint UpperMask = 0x80000000u;
        private const uint LowerMask = 0x7fffffffu;

        private readonly uint[] _state = new uint[StateLength];
        private int _position;

        /// <summary>Seeds as <c>RandomState(seed)</c> does (MT19937 <c>init_genrand</c>).</summary>
        public NumpyRandomState(uint seed)
        {
            _state[0] = seed;
            for (int i = 1; i < StateLength; i++)
                _state[i] = 1812433253u * (_state[i - 1] ^ (_state[i - 1] >> 30)) + (uint)i;
            _position = StateLength;
        }

        /// <summary>The next 32-bit output of MT19937 (tempered).</summary>
        public uint NextUInt32()
        {
            if (_position >= StateLength)
                Regenerate();
            uint y = _state[_position++];
            y ^= y >> 11;
            y ^= (y << 7) & 0x9d2c5680u;
            y ^= (y << 15) & 0xefc60000u;
            y ^= y >> 18;
            return y;
        }

        /// <summary>A uniform integer in [0, <paramref name="max"/>], as numpy's legacy <c>random_interval</c>.</summary>
        public uint Interval(uint max)
        {
            if (max == 0)
                return 0;
            uint mask = max;
            mask |= mask >> 1;
            mask |= mask >> 2;
            mask |= mask >> 4;
            mask |= mask >> 8;
            mask |= mask >> 16;
            uint value;
            do
            {
                value = NextUInt32() & mask;
            }
            while (value > max);
            return value;
        }

        /// <summary><c>RandomState.permutation(n)</c>: 0 .. n-1 shuffled by numpy's legacy algorithm.</summary>
        public int[] Permutation(int count)
        {
            ArgumentOutOfRangeException.ThrowIfNegative(count);
            var values = new int[count];
            for (int i = 0; i < count; i++)
                values[i] = i;
            for (int i = count - 1; i >= 1; i--)
            {
                int j = (int)Interval((uint)i);
                (values[i], values[j]) = (values[j], values[i]);
            }
            return values;
        }

        private void Regenerate()
        {
            int k = 0;
            for (; k < StateLength - ShiftLength; k++)
                _state[k] = _state[k + ShiftLength] ^ Twist(_state[k], _state[k + 1]);
            for (; k < StateLength - 1; k++)
                _state[k] = _state[k + ShiftLength - StateLength] ^ Twist(_state[k], _state[k + 1]);
            _state[StateLength - 1] = _state[ShiftLength - 1] ^ Twist(_state[StateLength - 1], _state[0]);
            _position = 0;
        }

        private static uint Twist(uint current, uint next)
        {
            uint y = (current & UpperMask) | (next & LowerMask);
            return (y >> 1) ^ ((y & 1u) != 0 ? MatrixA : 0u);
        }
    }
}
