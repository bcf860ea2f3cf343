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
                if (tokensInItem >= TargetWorkItemTokens && s + 1 < SequenceCount)
                {
                    items.Add(s + 1);
                    tokensInItem = 0;
                }
            }
            items.Add(SequenceCount);
            _workItemFirstSequence = items.ToArray();
            MaxSequenceLength = 0;
            for (int s = 0; s < SequenceCount; s++)
                MaxSequenceLength = Math.Max(MaxSequenceLength, SequenceLength(s));
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
    /// Collects sequences of item keys into candidate ids and counts (one pass), then keeps the frequent ones and
    /// builds the <see cref="TokenCorpus"/> of vocabulary indices.
    /// </summary>
    internal sealed class TokenCorpusBuilder
    {
        private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;
        private readonly List<string> _candidates = new();
        private long[] _counts = new long[1024];
        private const int BlockShift = 20;
        private const int BlockMask = (1 << BlockShift) - 1;
        private readonly List<int[]> _blocks = new();
        private long _tokenCount;
        private readonly List<long> _starts = new() { 0 };

        public TokenCorpusBuilder()
        {
            _spanIds = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Sequences seen, whatever their length.</summary>
        public long SequencesSeen { get; private set; }

        /// <summary>Adds one occurrence of <paramref name="key"/> to the current sequence; empty keys (missing values) are skipped.</summary>
        public void Add(ReadOnlySpan<char> key)
        {
            if (key.IsEmpty)
                return;
            if (!_spanIds.TryGetValue(key, out int id))
            {
                id = _candidates.Count;
                string text = key.ToString();
                _ids.Add(text, id);
                _candidates.Add(text);
                if (id == _counts.Length)
                    Array.Resize(ref _counts, _counts.Length * 2);
            }
            AddId(id);
        }

        /// <summary>Adds an occurrence of a candidate created by <see cref="Candidate"/>.</summary>
        public void AddId(int id)
        {
            _counts[id]++;
            if ((_tokenCount & BlockMask) == 0 && (_tokenCount >> BlockShift) == _blocks.Count)
            {
                if (_tokenCount >= Array.MaxLength)
                    throw new NotSupportedException($"The training corpus has more than {Array.MaxLength:N0} tokens, more than this in-memory trainer holds. Train on a sample of the sequences, or split them.");
                _blocks.Add(new int[1 << BlockShift]);
            }
            _blocks[(int)(_tokenCount >> BlockShift)][_tokenCount & BlockMask] = id;
            _tokenCount++;
        }

        /// <summary>Registers a candidate key up front (for key columns, whose values are known) and returns its id.</summary>
        public int Candidate(string key)
        {
            if (_ids.TryGetValue(key, out int id))
                return id;
            id = _candidates.Count;
            _ids.Add(key, id);
            _candidates.Add(key);
            if (id == _counts.Length)
                Array.Resize(ref _counts, _counts.Length * 2);
            return id;
        }

        public void EndSequence()
        {
            SequencesSeen++;
            _starts.Add(_tokenCount);
        }

        /// <summary>
        /// Keeps items with at least <paramref name="minCount"/> occurrences (at most <paramref name="maxSize"/>), drops
        /// the other tokens, and drops sequences left with fewer than two tokens (counted in <paramref name="skippedSequences"/>).
        /// </summary>
        public (Vocabulary Vocabulary, TokenCorpus Corpus) Build(int minCount, int? maxSize, out long skippedSequences)
        {
            var vocabulary = Vocabulary.Select(_candidates, _counts, minCount, maxSize, out int[] remap);
            long kept = 0;
            for (int i = 0; i < remap.Length; i++)
            {
                if (remap[i] >= 0)
                    kept += _counts[i];
            }
            var tokens = new int[kept];
            var starts = new List<long> { 0 };
            long write = 0;
            skippedSequences = 0;
            for (int s = 0; s + 1 < _starts.Count; s++)
            {
                long sequenceStart = write;
                for (long t = _starts[s]; t < _starts[s + 1]; t++)
                {
                    int id = remap[_blocks[(int)(t >> BlockShift)][t & BlockMask]];
                    if (id >= 0)
                        tokens[write++] = id;
                }
                if (write - sequenceStart < 2)
                {
                    write = sequenceStart;
                    skippedSequences++;
                    continue;
                }
                starts.Add(write);
            }
            _blocks.Clear();
            if (write < tokens.Length)
                Array.Resize(ref tokens, (int)write);
            return (vocabulary, new TokenCorpus(tokens, starts.ToArray()));
        }
    }
}
