using System;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// The binary Huffman tree of hierarchical softmax, built as the word2vec tool builds it from counts sorted in
    /// descending order: for each item, the inner nodes on its path from the root (<see cref="Points"/>, indices into
    /// the V - 1 rows of inner-node vectors) and the branch taken at each (<see cref="Codes"/>).
    /// </summary>
    internal sealed class HuffmanTree
    {
        private readonly int[] _offsets;
        private readonly byte[] _codes;
        private readonly int[] _points;

        public HuffmanTree(long[] countsDescending)
        {
            int v = countsDescending.Length;
            if (v < 2)
                throw new ArgumentException($"Hierarchical softmax needs at least 2 items in the vocabulary; it has {v}.");
            var count = new long[2 * v - 1];
            var binary = new byte[2 * v - 1];
            var parent = new int[2 * v - 1];
            Array.Copy(countsDescending, count, v);
            for (int a = v; a < count.Length; a++)
                count[a] = long.MaxValue / 4;
            int pos1 = v - 1, pos2 = v;
            for (int a = 0; a < v - 1; a++)
            {
                int min1 = pos1 >= 0 && count[pos1] < count[pos2] ? pos1-- : pos2++;
                int min2 = pos1 >= 0 && count[pos1] < count[pos2] ? pos1-- : pos2++;
                count[v + a] = count[min1] + count[min2];
                parent[min1] = v + a;
                parent[min2] = v + a;
                binary[min2] = 1;
            }

            int root = 2 * v - 2;
            _offsets = new int[v + 1];
            for (int a = 0; a < v; a++)
            {
                int depth = 0;
                for (int b = a; b != root; b = parent[b])
                    depth++;
                _offsets[a + 1] = _offsets[a] + depth;
            }
            _codes = new byte[_offsets[v]];
            _points = new int[_offsets[v]];
            for (int a = 0; a < v; a++)
            {
                int depth = _offsets[a + 1] - _offsets[a];
                int i = depth - 1;
                // Walk leaf -> root, filling from the end so that index 0 is the root's branch.
                int b = a;
                while (b != root)
                {
                    _codes[_offsets[a] + i] = binary[b];
                    _points[_offsets[a] + i] = parent[b] - v;
                    b = parent[b];
                    i--;
                }
            }
            InnerNodeCount = v - 1;
        }

        public int InnerNodeCount { get; }

        public ReadOnlySpan<byte> Codes(int item) => _codes.AsSpan(_offsets[item], _offsets[item + 1] - _offsets[item]);

        public ReadOnlySpan<int> Points(int item) => _points.AsSpan(_offsets[item], _offsets[item + 1] - _offsets[item]);
    }
}
