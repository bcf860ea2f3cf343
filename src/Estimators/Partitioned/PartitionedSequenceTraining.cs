using System;
using System.Collections.Generic;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Embeddings.SkipGram;

namespace Embeddings.Partitioned
{
    /// <summary>
    /// Partitioned skip-gram over a sequence corpus (text, sessions, baskets; item2vec): the token source of a
    /// <see cref="PartitionedSkipGramRun"/>. The vocabulary is the one the counting pass selected, the work items are the
    /// corpus' shards (about 10,000 tokens of whole sequences each), and an episode is a contiguous range of shards, read
    /// again from the tokenised corpus file each time its pairs are written (docs/partitioned-training.md).
    /// </summary>
    internal static class PartitionedSequenceTraining
    {
        private const ulong PairStreamBase = 0x5_0000_0000UL;

        /// <summary>
        /// Trains (or resumes, or reopens) the partitioned run of <paramref name="corpus"/> and returns what
        /// <see cref="SkipGramTraining.Run"/> returns: the memory-mapped input vectors, the context vectors when
        /// <see cref="SkipGramEmbeddingEstimator.Options.KeepContextVectors"/> is set, and the summary with
        /// <see cref="SkipGramTrainingSummary.Partitioned"/> filled.
        /// </summary>
        public static (EmbeddingTable Embeddings, EmbeddingTable? Context, SkipGramTrainingSummary Summary) Train(
            Vocabulary vocabulary, SkipGramCorpus corpus, long sequencesSeen, long sequencesSkipped, SkipGramTrainingSettings settings,
            SkipGramEmbeddingEstimator.Options options, int partitions, string component)
        {
            if (settings.Cbow || settings.HierarchicalSoftmax || settings.NegativeSampleCount < 1)
                throw new NotSupportedException($"{component}: partitioned training supports skip-gram with negative sampling only; set Model = SkipGram, HierarchicalSoftmax = false and NegativeSampleCount > 0, or Partitioning = null.");
            var run = new Run(vocabulary, corpus, settings, options, partitions, component);
            PartitionedRunResult result;
            try
            {
                result = run.Execute();
            }
            finally
            {
                run.DisposeReaders();
            }
            var summary = new SkipGramTrainingSummary(result.Vectors.Count, sequencesSeen, sequencesSkipped, corpus.TokenCount, options.Epochs, result.Loss,
                corpus.TokenCount * (double)options.Epochs / result.TrainingTime.TotalSeconds, result.TrainingTime)
            {
                ItemCounts = result.ItemCounts,
                Partitioned = result.Summary,
            };
            return (result.Vectors, result.Context, summary);
        }

        /// <summary>
        /// A pair source over <paramref name="corpus"/> (Embeddings.Cluster's item2vec jobs, whose workers write the
        /// pairs): <see cref="PartitionedSkipGramRun.CountVocabulary"/> gives the episodes (the vocabulary is the
        /// corpus'), and <see cref="PartitionedSkipGramRun.WriteEpisodePairs"/> writes an episode's bucket files into
        /// <paramref name="options"/>' <see cref="SkipGramEmbeddingEstimator.Options.Partitioning"/> folder, the files that
        /// partitioned training with the same settings trains from. <paramref name="readers"/> receives the corpus
        /// readers to dispose with the corpus.
        /// </summary>
        public static PartitionedSkipGramRun PairSource(Vocabulary vocabulary, SkipGramCorpus corpus, SkipGramTrainingSettings settings, SkipGramEmbeddingEstimator.Options options,
            int partitions, string component, out IDisposable readers)
        {
            if (settings.Cbow || settings.HierarchicalSoftmax || settings.NegativeSampleCount < 1)
                throw new NotSupportedException($"{component}: partitioned training supports skip-gram with negative sampling only; set Model = SkipGram, HierarchicalSoftmax = false and NegativeSampleCount > 0.");
            var run = new Run(vocabulary, corpus, settings, options, partitions, component);
            readers = new ReaderRelease(run);
            return run;
        }

        private sealed class ReaderRelease(Run run) : IDisposable
        {
            public void Dispose() => run.DisposeReaders();
        }

        /// <summary>The shards of a tokenised corpus as the token source of a partitioned run.</summary>
        private sealed class Run : PartitionedSkipGramRun
        {
            private readonly Vocabulary _vocabulary;
            private readonly SkipGramCorpus _corpus;
            private readonly SkipGramEmbeddingEstimator.Options _options;
            private readonly List<SequenceReader> _readers = new();
            private double _wholeSequencePairs;

            public Run(Vocabulary vocabulary, SkipGramCorpus corpus, SkipGramTrainingSettings settings, SkipGramEmbeddingEstimator.Options options, int partitions, string component)
                : base(settings, options.Partitioning!, partitions, options.KeepContextVectors, component)
            {
                _vocabulary = vocabulary;
                _corpus = corpus;
                _options = options;
            }

            protected override long ItemCount => _corpus.WorkItemCount;

            protected override int MaxSequenceLength => _corpus.MaxSequenceLength;

            protected override void AddSourceSettings(SortedDictionary<string, string> settings)
            {
                settings["WholeSequenceContext"] = Settings.WholeSequenceContext ? "true" : "false";
                settings["NegativeSamplingExponent"] = Settings.NegativeSamplingExponent.ToString("R", CultureInfo.InvariantCulture);
                settings["MinCount"] = _options.MinCount.ToString(CultureInfo.InvariantCulture);
                settings["MaxVocabularySize"] = _options.MaxVocabularySize?.ToString(CultureInfo.InvariantCulture) ?? "none";
                settings["Corpus"] = CorpusFingerprint();
            }

            /// <summary>
            /// Token and sequence counts, vocabulary size, and a SHA-256 over the vocabulary (keys and counts, in row order)
            /// and every sequence of the corpus in shard order: a resumed run must see the same pairs. Reads the corpus once
            /// (and sums the pairs of whole-sequence context on the way).
            /// </summary>
            private string CorpusFingerprint()
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                Span<byte> scratch = stackalloc byte[8];
                for (int v = 0; v < _vocabulary.Count; v++)
                {
                    hash.AppendData(Encoding.UTF8.GetBytes(_vocabulary.Keys[v]));
                    BitConverter.TryWriteBytes(scratch, _vocabulary.Counts[v]);
                    hash.AppendData(scratch);
                }
                double pairs = 0;
                using var reader = _corpus.CreateReader();
                for (int item = 0; item < _corpus.WorkItemCount; item++)
                {
                    Cancellation.ThrowIfCancellationRequested();
                    reader.Open(item);
                    BitConverter.TryWriteBytes(scratch, item);
                    hash.AppendData(scratch.Slice(0, 4));
                    while (reader.Next(out var sequence))
                    {
                        BitConverter.TryWriteBytes(scratch, sequence.Length);
                        hash.AppendData(scratch.Slice(0, 4));
                        hash.AppendData(MemoryMarshal.AsBytes(sequence));
                        pairs += (double)sequence.Length * (sequence.Length - 1);
                    }
                }
                _wholeSequencePairs = pairs;
                return string.Create(CultureInfo.InvariantCulture,
                    $"{_corpus.TokenCount} tokens, {_corpus.SequenceCount} sequences, {_vocabulary.Count} items, sha256 {Convert.ToHexString(hash.GetHashAndReset())}");
            }

            protected override double EstimatedPairsPerEpoch(long tokens) =>
                Settings.WholeSequenceContext ? _wholeSequencePairs : base.EstimatedPairsPerEpoch(tokens);

            protected override (Vocabulary Vocabulary, long[] ItemTokens) CreateVocabulary()
            {
                int items = _corpus.WorkItemCount;
                var tokens = new long[items];
                for (int item = 0; item < items; item++)
                    tokens[item] = (item + 1 < items ? _corpus.WorkItemTokenOffset(item + 1) : _corpus.TokenCount) - _corpus.WorkItemTokenOffset(item);
                return (_vocabulary, tokens);
            }

            /// <summary>The vocabulary is the data's (the counting pass is deterministic), checked against the folder's run by the corpus fingerprint.</summary>
            protected override (Vocabulary Vocabulary, long[] ItemTokens) OpenVocabulary(PartitionManifest manifest) => CreateVocabulary();

            /// <summary>Reads shard <paramref name="item"/> and hands its sequences to the writer, one random stream per (epoch, shard).</summary>
            protected override long ProduceItem(int epoch, long item, PairWriter writer)
            {
                if (writer.SourceState is not SequenceReader reader)
                {
                    reader = _corpus.CreateReader();
                    lock (_readers)
                        _readers.Add(reader);
                    writer.SourceState = reader;
                }
                reader.Open((int)item);
                var random = new TrainingRandom((ulong)Settings.Seed, PairStreamBase + (ulong)epoch * (ulong)_corpus.WorkItemCount + (ulong)item);
                while (reader.Next(out var sequence))
                    writer.Add(sequence, ref random);
                return 0;
            }

            public void DisposeReaders()
            {
                lock (_readers)
                {
                    foreach (var reader in _readers)
                        reader.Dispose();
                    _readers.Clear();
                }
            }
        }
    }
}
