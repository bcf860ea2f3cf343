using System;
using System.Collections.Generic;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// Sequences of vocabulary indices held in memory: one token array and sequence boundaries, split into work items of
    /// about <see cref="SkipGramCorpus.TargetWorkItemTokens"/> tokens (whole sequences). The estimators train from the
    /// streamed corpora (<see cref="TokenFileCorpus"/>, the walk corpus); this one, 4 bytes per token in memory, is their
    /// reference: the same sequences with the same work items give the same training run.
    /// </summary>
    internal sealed class TokenCorpus : SkipGramCorpus
    {
        private readonly int[] _tokens;
        private readonly long[] _starts;
        private readonly int[] _workItemFirstSequence;
        private readonly int _maxSequenceLength;

        /// <summary>The corpus of <paramref name="tokens"/> cut at <paramref name="sequenceStarts"/> (one more entry than sequences, the last the token count).</summary>
        /// <param name="tokens">The tokens of all sequences, in order.</param>
        /// <param name="sequenceStarts">Where each sequence starts, then the end.</param>
        /// <param name="targetWorkItemTokens">Where work items close (tests use tiny items).</param>
        public TokenCorpus(int[] tokens, long[] sequenceStarts, int targetWorkItemTokens = TargetWorkItemTokens)
        {
            _tokens = tokens;
            _starts = sequenceStarts;
            int sequences = sequenceStarts.Length - 1;
            var items = new List<int> { 0 };
            long tokensInItem = 0;
            for (int s = 0; s < sequences; s++)
            {
                tokensInItem += Length(s);
                _maxSequenceLength = Math.Max(_maxSequenceLength, Length(s));
                if (tokensInItem >= targetWorkItemTokens && s + 1 < sequences)
                {
                    items.Add(s + 1);
                    tokensInItem = 0;
                }
            }
            items.Add(sequences);
            _workItemFirstSequence = items.ToArray();
        }

        public override long SequenceCount => _starts.Length - 1;

        public override long TokenCount => _starts[^1];

        public override int MaxSequenceLength => Math.Max(1, _maxSequenceLength);

        public override int WorkItemCount => _workItemFirstSequence.Length - 1;

        public override long WorkItemTokenOffset(int item) => _starts[_workItemFirstSequence[item]];

        public override SequenceReader CreateReader() => new Reader(this);

        private int Length(int sequence) => (int)(_starts[sequence + 1] - _starts[sequence]);

        private ReadOnlySpan<int> Sequence(int sequence) => _tokens.AsSpan((int)_starts[sequence], Length(sequence));

        private sealed class Reader : SequenceReader
        {
            private readonly TokenCorpus _corpus;
            private int _next;
            private int _end;

            public Reader(TokenCorpus corpus) => _corpus = corpus;

            public override void Open(int item)
            {
                _next = _corpus._workItemFirstSequence[item];
                _end = _corpus._workItemFirstSequence[item + 1];
            }

            public override bool Next(out ReadOnlySpan<int> sequence)
            {
                if (_next >= _end)
                {
                    sequence = default;
                    return false;
                }
                sequence = _corpus.Sequence(_next++);
                return true;
            }
        }
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
    /// Second pass over the sequences into memory (the reference <see cref="TokenCorpus"/>; the estimators write a
    /// <see cref="TokenFileWriter"/>): writes the vocabulary index of each known token into one exactly sized array;
    /// sequences left with fewer than two known tokens are dropped and counted.
    /// </summary>
    internal sealed class TokenCorpusWriter : ISequenceWriter
    {
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIndex;
        private readonly List<long> _starts = new() { 0 };
        private int[] _tokens = new int[1024];
        private long _count;
        private long _sequenceStart;

        /// <summary>A writer of the tokens of <paramref name="vocabulary"/>'s items (others are skipped).</summary>
        public TokenCorpusWriter(Vocabulary vocabulary)
        {
            _spanIndex = vocabulary.Index().GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Sequences dropped because fewer than two of their tokens are in the vocabulary.</summary>
        public long SkippedSequences { get; private set; }

        public void Add(ReadOnlySpan<char> key)
        {
            if (key.IsEmpty || !_spanIndex.TryGetValue(key, out int index))
                return;
            if (_count == _tokens.Length)
            {
                if (_count == Array.MaxLength)
                    throw new NotSupportedException($"The in-memory corpus holds at most {Array.MaxLength:N0} tokens; use the streamed corpus (TokenFileWriter).");
                Array.Resize(ref _tokens, (int)Math.Min(Array.MaxLength, 2L * _tokens.Length));
            }
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

        public TokenCorpus Build(int targetWorkItemTokens = SkipGramCorpus.TargetWorkItemTokens)
        {
            if (_count < _tokens.Length)
                Array.Resize(ref _tokens, (int)_count);
            return new TokenCorpus(_tokens, _starts.ToArray(), targetWorkItemTokens);
        }
    }
}
