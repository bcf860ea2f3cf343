using System;
using System.Collections.Generic;

namespace Embeddings
{
    /// <summary>Statistics of a finished skip-gram training run.</summary>
    /// <param name="VocabularySize">Items that received a vector.</param>
    /// <param name="SequencesSeen">Input rows read.</param>
    /// <param name="SequencesSkipped">Rows skipped because fewer than two of their items are in the vocabulary.</param>
    /// <param name="CorpusTokens">Tokens of the vocabulary in the trained sequences (one epoch).</param>
    /// <param name="Epochs">Epochs trained.</param>
    /// <param name="FinalLoss">Mean log-loss per (item, target) pair over the whole run.</param>
    /// <param name="TokensPerSecond">Corpus tokens x epochs / training time.</param>
    /// <param name="TrainingTime">Wall time of the training passes (after the corpus was read).</param>
    public sealed record SkipGramTrainingSummary(int VocabularySize, long SequencesSeen, long SequencesSkipped, long CorpusTokens, int Epochs, double FinalLoss, double TokensPerSecond, TimeSpan TrainingTime)
    {
        /// <summary>
        /// How often each vocabulary item occurs in the corpus (one epoch, before subsampling), in the order of the
        /// trained table's keys (most frequent first): what the word2vec tool's <c>-save-vocab</c> writes.
        /// </summary>
        public IReadOnlyList<long> ItemCounts { get; init; } = Array.Empty<long>();

        /// <summary>
        /// The partitioned run's statistics (<see cref="SkipGramEmbeddingEstimator.Options.Partitioning"/>), or null when
        /// training ran in memory. Not saved with the model: a loaded model has null here.
        /// </summary>
        public PartitionedTrainingSummary? Partitioned { get; init; }
    }
}
