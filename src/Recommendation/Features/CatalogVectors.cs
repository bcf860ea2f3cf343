using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;
using Embeddings.Kernels;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// Input and context vectors of one embedding model (item2vec or node2vec), aligned with the item catalog: row
    /// <c>i</c> belongs to catalog item <c>i</c>. Items the model has no vector for are not <see cref="Known"/> and keep a
    /// row of zeros. Rows live in <see cref="EmbeddingTable"/>s keyed by the catalog (chunks of whole rows), so no offset
    /// is an <c>item * dimension</c> product in 32 bits and the catalog may hold more than 2^31 floats. Immutable once built.
    /// </summary>
    internal sealed class CatalogVectors
    {
        // Largest dimension a saved state may declare: one row must fit in one chunk of a table.
        private const int MaxDimension = 1 << 28;
        private readonly EmbeddingTable _input;
        private readonly EmbeddingTable _context;
        private readonly bool[] _known;
        private readonly float[] _inverseNorms;

        private CatalogVectors(EmbeddingTable input, EmbeddingTable context, bool[] known)
        {
            _input = input;
            _context = context;
            _known = known;
            _inverseNorms = new float[known.Length];
            for (int i = 0; i < known.Length; i++)
            {
                float norm = VectorMath.Norm(_input.Row(i));
                _inverseNorms[i] = norm > 0 ? 1 / norm : 0;
            }
        }

        /// <summary>The vector length.</summary>
        public int Dimension => _input.Dimension;

        /// <summary>The number of catalog items (rows).</summary>
        public int ItemCount => _known.Length;

        /// <summary>True when the model has vectors for catalog item <paramref name="item"/>.</summary>
        public bool Known(int item) => _known[item];

        /// <summary>The input vector of <paramref name="item"/> (zeros when not <see cref="Known"/>).</summary>
        public ReadOnlySpan<float> Input(int item) => _input.Row(item);

        /// <summary>The context (output) vector of <paramref name="item"/> (zeros when not <see cref="Known"/>).</summary>
        public ReadOnlySpan<float> Context(int item) => _context.Row(item);

        /// <summary>Aligns <paramref name="input"/> and <paramref name="context"/> (vectors of the same model) with <paramref name="items"/>.</summary>
        /// <exception cref="ArgumentException">The two tables have different dimensions.</exception>
        public static CatalogVectors Create(IReadOnlyList<string> items, EmbeddingTable input, EmbeddingTable context)
        {
            if (input.Dimension != context.Dimension)
                throw new ArgumentException($"The input vectors have dimension {input.Dimension} but the context vectors {context.Dimension}; they must come from one model.", nameof(context));
            var inputRows = new EmbeddingTableBuilder(items.Count, input.Dimension);
            var contextRows = new EmbeddingTableBuilder(items.Count, input.Dimension);
            var known = new bool[items.Count];
            for (int i = 0; i < items.Count; i++)
            {
                int a = input.IndexOf(items[i]), b = context.IndexOf(items[i]);
                if (a < 0 || b < 0)
                    continue;
                input.Row(a).CopyTo(inputRows.Row(i));
                context.Row(b).CopyTo(contextRows.Row(i));
                known[i] = true;
            }
            return new CatalogVectors(inputRows.Build(items), contextRows.Build(items), known);
        }

        /// <summary>The <see cref="Known"/> items' input (or context) vectors as a new table keyed by <paramref name="items"/>.</summary>
        public EmbeddingTable ToTable(IReadOnlyList<string> items, bool context)
        {
            var source = context ? _context : _input;
            int count = 0;
            foreach (bool known in _known)
                count += known ? 1 : 0;
            var keys = new string[count];
            var rows = new EmbeddingTableBuilder(count, Dimension);
            int row = 0;
            for (int i = 0; i < _known.Length; i++)
            {
                if (!_known[i])
                    continue;
                keys[row] = items[i];
                source.Row(i).CopyTo(rows.Row(row++));
            }
            return rows.Build(keys);
        }

        /// <summary>
        /// The user's vector: the mean input vector of the last <paramref name="length"/> <see cref="Known"/> items of
        /// <paramref name="history"/>, into <paramref name="destination"/> (<see cref="Dimension"/> long); false (and zeros) when there is none.
        /// </summary>
        public bool UserVector(ReadOnlySpan<int> history, int length, Span<float> destination)
        {
            destination.Clear();
            int used = 0;
            for (int k = history.Length - 1; k >= 0 && used < length; k--)
            {
                if (!_known[history[k]])
                    continue;
                VectorMath.Add(_input.Row(history[k]), destination);
                used++;
            }
            if (used == 0)
                return false;
            VectorMath.Scale(1f / used, destination);
            return true;
        }

        /// <summary>
        /// The input-output logit of every catalog item for the user of <paramref name="history"/>: the user's vector
        /// (<see cref="UserVector"/>, left in <paramref name="userVector"/>) dotted with each item's context vector; negative
        /// infinity for items not <see cref="Known"/>, and for every item when the user has no vector (then false is returned).
        /// </summary>
        public bool Logits(ReadOnlySpan<int> history, int length, Span<float> scores, Span<float> userVector)
        {
            scores.Fill(float.NegativeInfinity);
            if (!UserVector(history, length, userVector))
                return false;
            for (int i = 0; i < _known.Length; i++)
            {
                if (_known[i])
                    scores[i] = VectorMath.Dot(userVector, _context.Row(i));
            }
            return true;
        }

        /// <summary>
        /// The largest cosine between <paramref name="item"/>'s input vector and those of the last <paramref name="length"/>
        /// items of <paramref name="history"/> that are <see cref="Known"/>; 0 when there is none.
        /// </summary>
        public float MaxCosineToRecent(int item, ReadOnlySpan<int> history, int length)
        {
            float best = 0;
            bool any = false;
            var vector = _input.Row(item);
            for (int k = history.Length - 1; k >= 0 && k >= history.Length - length; k--)
            {
                int other = history[k];
                if (!_known[other])
                    continue;
                float cosine = VectorMath.Dot(vector, _input.Row(other)) * _inverseNorms[item] * _inverseNorms[other];
                best = any ? Math.Max(best, cosine) : cosine;
                any = true;
            }
            return best;
        }

        /// <summary>Writes the dimension, the row count, the known flags (one byte each), then the input and the context rows.</summary>
        public void Write(BinaryWriter writer)
        {
            writer.Write(Dimension);
            writer.Write(_known.Length);
            BinaryState.Write<bool>(writer, _known);
            for (int i = 0; i < _input.Count; i++)
                BinaryState.Write<float>(writer, _input.Row(i));
            for (int i = 0; i < _context.Count; i++)
                BinaryState.Write<float>(writer, _context.Row(i));
        }

        /// <summary>Reads what <see cref="Write"/> wrote, for the catalog <paramref name="items"/>.</summary>
        /// <exception cref="FormatException">The dimension or the row count is wrong, or a known flag is neither 0 nor 1.</exception>
        public static CatalogVectors Read(BinaryReader reader, IReadOnlyList<string> items)
        {
            int dimension = reader.ReadInt32();
            int count = reader.ReadInt32();
            if (dimension < 1 || dimension > MaxDimension || count != items.Count)
                throw new FormatException($"Recommendation features: saved item vectors have dimension {dimension} and {count} rows; expected a dimension of 1 to {MaxDimension} and {items.Count} rows.");
            var flags = BinaryState.ReadArray<byte>(reader, count, "item flags");
            var known = new bool[count];
            for (int i = 0; i < count; i++)
            {
                if (flags[i] > 1)
                    throw new FormatException($"Recommendation features: the saved known flag of item {i} is {flags[i]}; expected 0 or 1.");
                known[i] = flags[i] == 1;
            }
            var input = new EmbeddingTableBuilder(count, dimension);
            for (int i = 0; i < count; i++)
                BinaryState.ReadInto(reader, input.Row(i), "input vectors");
            var context = new EmbeddingTableBuilder(count, dimension);
            for (int i = 0; i < count; i++)
                BinaryState.ReadInto(reader, context.Row(i), "context vectors");
            return new CatalogVectors(input.Build(items), context.Build(items), known);
        }
    }
}
