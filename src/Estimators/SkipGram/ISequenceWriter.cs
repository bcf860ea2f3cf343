using System;

namespace Embeddings
{
    /// <summary>
    /// Receives the items of a corpus, sequence by sequence, during one pass over it: see
    /// <see cref="SkipGramEmbeddingEstimator.Fit(Action{ISequenceWriter})"/>, which streams a corpus of any size
    /// (a text file, a database cursor) without holding it. Items are read as characters, so a caller need not
    /// allocate a string per token.
    /// </summary>
    public interface ISequenceWriter
    {
        /// <summary>One item of the current sequence; empty means missing and is skipped.</summary>
        /// <param name="item">The item's id.</param>
        void Add(ReadOnlySpan<char> item);

        /// <summary>Ends the current sequence.</summary>
        void EndSequence();
    }
}
