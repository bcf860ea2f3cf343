using System;

namespace Embeddings.Search
{
    /// <summary>
    /// Fixed-capacity min-heap of (score, row) that keeps the <c>k</c> best rows seen. "Better" means a higher score,
    /// and on equal scores the row whose key sorts first (ordinal), so results do not depend on scan order.
    /// No allocation after construction.
    /// </summary>
    internal sealed class TopKHeap
    {
        private readonly float[] _scores;
        private readonly int[] _rows;
        private readonly string[] _keys;
        private int _count;

        public TopKHeap(int capacity, string[] keys)
        {
            _scores = new float[capacity];
            _rows = new int[capacity];
            _keys = keys;
        }

        public int Count => _count;

        public int Capacity => _scores.Length;

        /// <summary>The worst score kept, or negative infinity while the heap is not full.</summary>
        public float Threshold => _count < _scores.Length ? float.NegativeInfinity : _scores[0];

        public void Clear() => _count = 0;

        /// <summary>Offers a row; keeps it when it beats the worst kept row.</summary>
        public void Offer(float score, int row)
        {
            if (_count < _scores.Length)
            {
                int i = _count++;
                _scores[i] = score;
                _rows[i] = row;
                SiftUp(i);
            }
            else if (IsBetter(score, row, _scores[0], _rows[0]))
            {
                _scores[0] = score;
                _rows[0] = row;
                SiftDown(0);
            }
        }

        /// <summary>Moves the kept rows into <paramref name="scores"/> and <paramref name="rows"/>, best first; empties the heap.</summary>
        public int Drain(Span<float> scores, Span<int> rows)
        {
            int n = _count;
            for (int i = n - 1; i >= 0; i--)
            {
                scores[i] = _scores[0];
                rows[i] = _rows[0];
                _count--;
                if (_count > 0)
                {
                    _scores[0] = _scores[_count];
                    _rows[0] = _rows[_count];
                    SiftDown(0);
                }
            }
            return n;
        }

        private bool IsBetter(float scoreA, int rowA, float scoreB, int rowB)
        {
            if (scoreA != scoreB)
                return scoreA > scoreB;
            return string.CompareOrdinal(_keys[rowA], _keys[rowB]) < 0;
        }

        private void SiftUp(int i)
        {
            while (i > 0)
            {
                int parent = (i - 1) >> 1;
                // Min-heap on "better": the worst element is at the root.
                if (!IsBetter(_scores[parent], _rows[parent], _scores[i], _rows[i]))
                    break;
                Swap(i, parent);
                i = parent;
            }
        }

        private void SiftDown(int i)
        {
            while (true)
            {
                int left = 2 * i + 1;
                if (left >= _count)
                    return;
                int worst = left;
                int right = left + 1;
                if (right < _count && IsBetter(_scores[left], _rows[left], _scores[right], _rows[right]))
                    worst = right;
                if (!IsBetter(_scores[i], _rows[i], _scores[worst], _rows[worst]))
                    return;
                Swap(i, worst);
                i = worst;
            }
        }

        private void Swap(int a, int b)
        {
            (_scores[a], _scores[b]) = (_scores[b], _scores[a]);
            (_rows[a], _rows[b]) = (_rows[b], _rows[a]);
        }
    }
}
