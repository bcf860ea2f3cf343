using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;

namespace Embeddings.Recommendation
{
    /// <summary>Distinct string ids (users or items) and their indices, looked up by string or by span without allocating.</summary>
    internal sealed class IdIndex
    {
        private readonly string[] _ids;
        private readonly Dictionary<string, int> _index;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIndex;

        /// <summary>Takes ownership of <paramref name="ids"/>; id <c>i</c> gets index <c>i</c>.</summary>
        /// <exception cref="ArgumentException">An id appears twice.</exception>
        public IdIndex(string[] ids)
        {
            ArgumentNullException.ThrowIfNull(ids);
            _ids = ids;
            _index = new Dictionary<string, int>(ids.Length, StringComparer.Ordinal);
            for (int i = 0; i < ids.Length; i++)
            {
                if (!_index.TryAdd(ids[i], i))
                    throw new ArgumentException($"The id '{ids[i]}' appears twice (indices {_index[ids[i]]} and {i}).", nameof(ids));
            }
            _spanIndex = _index.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Number of ids.</summary>
        public int Count => _ids.Length;

        /// <summary>The ids, in index order.</summary>
        public IReadOnlyList<string> Ids => _ids;

        /// <summary>The index of <paramref name="id"/>, or -1.</summary>
        public int IndexOf(string id) => _index.TryGetValue(id, out int index) ? index : -1;

        /// <summary>The index of <paramref name="id"/>, or -1.</summary>
        public int IndexOf(ReadOnlySpan<char> id) => _spanIndex.TryGetValue(id, out int index) ? index : -1;

        /// <summary>Writes the count and the ids.</summary>
        public void Write(BinaryWriter writer)
        {
            writer.Write(_ids.Length);
            foreach (string id in _ids)
                writer.Write(id);
        }

        /// <summary>Reads what <see cref="Write"/> wrote.</summary>
        /// <exception cref="FormatException">The count is negative or an id appears twice.</exception>
        public static IdIndex Read(BinaryReader reader, string what)
        {
            int count = reader.ReadInt32();
            if (count < 0)
                throw new FormatException($"Recommendation features: invalid {what} count {count} in the saved model.");
            var ids = BinaryState.ReadStrings(reader, count, what + " ids");
            try
            {
                return new IdIndex(ids);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"Recommendation features: the saved {what} ids are invalid: {e.Message}", e);
            }
        }
    }
}
