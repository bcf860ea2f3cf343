using System;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// What the skip-gram trainer reads: sequences of vocabulary indices, grouped into work items of whole sequences
    /// (about <see cref="TargetWorkItemTokens"/> tokens each). A work item is the unit of scheduling, of reading and of
    /// random streams: its training stream is (seed, epoch x items + item), so the sequences of an item and its place in
    /// the learning-rate schedule (<see cref="WorkItemTokenOffset"/>) must be the same whoever reads it and when.
    /// </summary>
    /// <remarks>
    /// Three kinds exist: <see cref="TokenCorpus"/> (in memory), <see cref="TokenFileCorpus"/> (a tokenised file written once
    /// and read shard by shard from a memory-mapped view) and the walk corpus of the graph estimators (walks generated on
    /// the fly). Each training thread reads through its own <see cref="SequenceReader"/>.
    /// </remarks>
    internal abstract class SkipGramCorpus : IDisposable
    {
        /// <summary>Tokens per work item the corpora aim at: an item closes after the sequence that reaches this many.</summary>
        public const int TargetWorkItemTokens = 10_000;

        /// <summary>Tokens of one epoch (sequences with fewer than two known items excluded).</summary>
        public abstract long TokenCount { get; }

        /// <summary>Sequences of one epoch.</summary>
        public abstract long SequenceCount { get; }

        /// <summary>The longest sequence's length (sizes the trainer's buffers); at least 1.</summary>
        public abstract int MaxSequenceLength { get; }

        /// <summary>Work items of one epoch.</summary>
        public abstract int WorkItemCount { get; }

        /// <summary>Tokens before the first sequence of <paramref name="item"/>: its offset in the epoch, for the learning-rate schedule.</summary>
        public abstract long WorkItemTokenOffset(int item);

        /// <summary>A reader for one thread; dispose it when the thread is done.</summary>
        public abstract SequenceReader CreateReader();

        /// <summary>Releases the corpus' file or mapping, if it has one.</summary>
        public void Dispose()
        {
            Dispose(true);
            GC.SuppressFinalize(this);
        }

        /// <summary>Releases resources; the in-memory corpus holds none.</summary>
        protected virtual void Dispose(bool disposing)
        {
        }
    }

    /// <summary>Reads the sequences of one work item at a time, into buffers it owns (one reader per thread, no allocation per item).</summary>
    internal abstract class SequenceReader : IDisposable
    {
        /// <summary>Positions the reader before the first sequence of work item <paramref name="item"/>.</summary>
        public abstract void Open(int item);

        /// <summary>The next sequence of the opened item, valid until the next call; false after its last sequence.</summary>
        public abstract bool Next(out ReadOnlySpan<int> sequence);

        /// <summary>Releases the reader's view or buffers.</summary>
        public virtual void Dispose()
        {
        }
    }
}
