using System;
using System.Collections.Generic;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// Sequences of vocabulary indices held in memory: one token array and sequence boundaries. Sequences are split
    /// into work items of about <see cref="TargetWorkItemTokens"/> tokens (whole sequences), the unit of scheduling
    /// and of random streams.
    /// </summary>
    internal sealed class TokenCorpus
    {
        public const int TargetWorkItemTokens = 10_000;

        private readonly int[] _tokens;
        private readonly long[] _starts;
        private readonly int[] _workItemFirstSequence;

        public TokenCorpus(int[] tokens, long[] sequenceStarts)
        {
            _tokens = tokens;
            _starts = sequenceStarts;
            SequenceCount = sequenceStarts.Length - 1;
            var items = new List<int> { 0 };
            long tokensInItem = 0;
            for (int s = 0; s < SequenceCount; s++)
            {
                tokensInItem += SequenceLength(s);
                MaxSequenceLength = Math.Max(MaxSequenceLength, SequenceLength(s));
                if (tokensInItem >= TargetWorkItemTokens && s + 1 < SequenceCount)
                {
                    items.Add(s + 1);
                    tokensInItem = 0;
                }
            }
            items.Add(SequenceCount);
            _workItemFirstSequence = items.ToArray();
        }

        public int SequenceCount { get; }

        public long TokenCount => _starts[^1];

        public int MaxSequenceLength { get; }

        public int WorkItemCount => _workItemFirstSequence.Length - 1;

        public int SequenceLength(int sequence) => (int)(_starts[sequence + 1] - _starts[sequence]);

        public ReadOnlySpan<int> Sequence(int sequence) => _tokens.AsSpan((int)_starts[sequence], SequenceLength(sequence));

        public (int FirstSequence, int EndSequence) WorkItem(int item) => (_workItemFirstSequence[item], _workItemFirstSequence[item + 1]);

        /// <summary>Tokens before the first sequence of <paramref name="item"/>: its offset in the epoch, for the learning-rate schedule.</summary>
        public long WorkItemTokenOffset(int item) => _starts[_workItemFirstSequence[item]];
    }

    /// <summary>
    /// First pass over the sequences: counts every distinct item. <see cref="Select"/> then keeps the frequent ones.
    /// Only keys and counts are held, never the tokens, so memory stays proportional to the distinct items.
    /// </summary>
    internal sealed class ItemCounter : ISequenceWriter
    {
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;
        private readonly List<string> _keys = new();
        private long[] _counts = new long[1024];

        public ItemCounter()
        {
            _spanIds = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Sequences seen, whatever their length.</summary>
        public long SequencesSeen { get; private set; }

        public int DistinctItems => _keys.Count;

        /// <summary>Counts one occurrence of <paramref name="key"/>; empty keys (missing values) are skipped.</summary>
        public void Add(ReadOnlySpan<char> key)
        {
            if (key.IsEmpty)
                return;
            if (!_spanIds.TryGetValue(key, out int id))
                id = Register(key.ToString());
            _counts[id]++;
        }

        private int Register(string key)
        {
            if (_ids.TryGetValue(key, out int id))
                return id;
            id = _keys.Count;
            _ids.Add(key, id);
            _keys.Add(key);
            if (id == _counts.Length)
                Array.Resize(ref _counts, _counts.Length * 2);
            return id;
        }

        public void EndSequence() => SequencesSeen++;

        /// <summary>The vocabulary: items with at least <paramref name="minCount"/> occurrences, at most <paramref name="maxSize"/>, most frequent first.</summary>
        public Vocabulary Select(int minCount, int? maxSize) => Vocabulary.Select(_keys, _counts, minCount, maxSize, out _);

        /// <summary>Occurrences counted so far, over all items.</summary>
        public long TotalOccurrences
        {
            get
            {
                long total = 0;
                for (int i = 0; i < _keys.Count; i++)
                    total += _counts[i];
                return total;
            }
        }

        /// <summary>
        /// The vocabulary of a continued training run: every item of <paramref name="existing"/> (its count increased by the
        /// occurrences counted here) and the items counted here for the first time that occur at least
        /// <paramref name="minCount"/> times in these sequences, the most frequent first, while the vocabulary holds fewer
        /// than <paramref name="maxSize"/> items. Ordered by the merged counts, most frequent first.
        /// </summary>
        public Vocabulary Merge(IReadOnlyList<string> existing, IReadOnlyList<long> existingCounts, int minCount, int? maxSize, out int newItems)
        {
            var keys = new List<string>(existing.Count + _keys.Count);
            var counts = new List<long>(existing.Count + _keys.Count);
            var known = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < existing.Count; i++)
            {
                long added = _ids.TryGetValue(existing[i], out int id) ? _counts[id] : 0;
                keys.Add(existing[i]);
                counts.Add(existingCounts[i] + added);
                known.Add(existing[i]);
            }
            var fresh = new List<int>();
            for (int id = 0; id < _keys.Count; id++)
            {
                if (!known.Contains(_keys[id]) && _counts[id] >= minCount)
                    fresh.Add(id);
            }
            fresh.Sort((a, b) => _counts[a] != _counts[b] ? _counts[b].CompareTo(_counts[a]) : string.CompareOrdinal(_keys[a], _keys[b]));
            int room = maxSize is int max ? Math.Max(0, max - existing.Count) : int.MaxValue;
            newItems = Math.Min(room, fresh.Count);
            for (int f = 0; f < newItems; f++)
            {
                keys.Add(_keys[fresh[f]]);
                counts.Add(_counts[fresh[f]]);
            }
            return Vocabulary.Select(keys, counts.ToArray(), minCount: 0, maxSize: null, out _);
        }
    }

    /// <summary>
    /// Second pass over the sequences: writes the vocabulary index of each known token into one exactly sized array;
    /// sequences left with fewer than two known tokens are dropped and counted.
    /// </summary>
    internal sealed class TokenCorpusWriter : ISequenceWriter
    {
        private readonly Dictionary<string, int> _index;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIndex;
        private readonly List<long> _starts = new() { 0 };
        private int[] _tokens;
        private long _count;
        private long _sequenceStart;

        private readonly bool _growable;

        /// <summary>A writer for the given vocabulary; with <paramref name="growable"/>, <paramref name="expectedTokens"/> is only the starting capacity.</summary>
        public TokenCorpusWriter(Vocabulary vocabulary, long expectedTokens, bool growable = false)
        {
            _growable = growable;
            _index = new Dictionary<string, int>(vocabulary.Count, StringComparer.Ordinal);
            for (int i = 0; i < vocabulary.Count; i++)
                _index.Add(vocabulary.Keys[i], i);
            _spanIndex = _index.GetAlternateLookup<ReadOnlySpan<char>>();
            if (expectedTokens > Array.MaxLength)
                throw new NotSupportedException($"The training corpus has {expectedTokens:N0} known tokens, more than the {Array.MaxLength:N0} this in-memory trainer holds. Train on a sample of the sequences, or raise MinCount.");
            _tokens = new int[expectedTokens];
        }

        /// <summary>Sequences dropped because fewer than two of their tokens are in the vocabulary.</summary>
        public long SkippedSequences { get; private set; }

        public void Add(ReadOnlySpan<char> key)
        {
            if (key.IsEmpty || !_spanIndex.TryGetValue(key, out int index))
                return;
            if (_count == _tokens.Length && _growable)
                Array.Resize(ref _tokens, (int)Math.Min(Array.MaxLength, Math.Max(16L, 2L * _tokens.Length)));
            if (_count == _tokens.Length)
                throw new InvalidOperationException("The second pass over the sequences read more tokens than the first: the input changed between passes.");
            _tokens[_count++] = index;
        }

        public void EndSequence()
        {
            if (_count - _sequenceStart < 2)
            {
                _count = _sequenceStart;
                SkippedSequences++;
                return;
            }
            _starts.Add(_count);
            _sequenceStart = _count;
        }

        public TokenCorpus Build()
        {
            if (_count < _tokens.Length)
                Array.Resize(ref _tokens, (int)_count);
            return new TokenCorpus(_tokens, _starts.ToArray());
        }
    }
}
