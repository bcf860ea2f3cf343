using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;
using Microsoft.ML;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.SkipGramEmbeddingTransformer))]

namespace Embeddings
{
    /// <summary>Saves and reads the item counts of a skip-gram vocabulary (empty when a model does not keep them).</summary>
    internal static class ItemCountsIo
    {
        public static void Write(BinaryWriter writer, IReadOnlyList<long> counts)
        {
            var array = counts as long[] ?? new List<long>(counts).ToArray();
            writer.Write(array.Length);
            BinaryState.Write<long>(writer, array);
        }

        public static long[] Read(BinaryReader reader, int items, string component)
        {
            int n = reader.ReadInt32();
            if (n != 0 && n != items)
                throw new FormatException($"{component}: the saved model has {n} item counts for {items} items; the model is damaged.");
            var counts = BinaryState.ReadArray<long>(reader, n, "item counts");
            foreach (long count in counts)
            {
                if (count < 0)
                    throw new FormatException($"{component}: the saved model has a negative item count ({count}); the model is damaged.");
            }
            return counts;
        }
    }

    /// <summary>
    /// The result of <see cref="SkipGramEmbeddingEstimator"/>: trained item vectors, applied to the input column (an item,
    /// or a sequence pooled by mean, sum or max) as a known-size <c>Vector&lt;Single, EmbeddingDimension&gt;</c>.
    /// </summary>
    public sealed class SkipGramEmbeddingTransformer : RowMappingTransformer, ILoadableTransformer<SkipGramEmbeddingTransformer>
    {
        internal const string ComponentName = "SkipGram";
        private readonly InputOutputColumnPair[] _columns;

        internal SkipGramEmbeddingTransformer(EmbeddingTable embeddings, EmbeddingTable? contextEmbeddings, InputOutputColumnPair column, EmbeddingPooling pooling, SkipGramTrainingSummary summary)
        {
            Embeddings = embeddings;
            ContextEmbeddings = contextEmbeddings;
            _columns = new[] { column };
            Pooling = pooling;
            TrainingSummary = summary;
        }

        /// <summary>The trained input vectors of the vocabulary: the item embeddings.</summary>
        public EmbeddingTable Embeddings { get; }

        /// <summary>
        /// The trained output (context) vectors, when <see cref="SkipGramEmbeddingEstimator.Options.KeepContextVectors"/>
        /// was set; otherwise null. For recommendation, score a candidate by the dot product of a user's pooled input
        /// vectors and the candidate's context vector.
        /// </summary>
        public EmbeddingTable? ContextEmbeddings { get; }

        /// <summary>Statistics of the training run.</summary>
        public SkipGramTrainingSummary TrainingSummary { get; }

        /// <summary>Name of the output vector column.</summary>
        public string OutputColumnName => _columns[0].OutputColumnName;

        /// <summary>Name of the input item or sequence column.</summary>
        public string InputColumnName => _columns[0].InputColumnName;

        /// <summary>How sequences are pooled.</summary>
        public EmbeddingPooling Pooling { get; }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema) =>
            EmbeddingColumnMapper.Bind(inputSchema, _columns, Embeddings, Pooling, ComponentName);

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<SkipGramEmbeddingTransformer>.LoaderId => "Embeddings.SkipGram";

        // Version 2 adds the item counts (continued training rebuilds its sampling tables from them); 1 is still read.
        static int ILoadableTransformer<SkipGramEmbeddingTransformer>.StateVersion => 2;

        static IReadOnlyList<string> ILoadableTransformer<SkipGramEmbeddingTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.SkipGramEmbeddingTransformer, Embeddings.Estimators"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write((int)Pooling);
            ColumnPairs.Write(writer, _columns);
            var s = TrainingSummary;
            writer.Write(s.VocabularySize);
            writer.Write(s.SequencesSeen);
            writer.Write(s.SequencesSkipped);
            writer.Write(s.CorpusTokens);
            writer.Write(s.Epochs);
            writer.Write(s.FinalLoss);
            writer.Write(s.TokensPerSecond);
            writer.Write(s.TrainingTime.Ticks);
            Embeddings.Save(writer);
            writer.Write(ContextEmbeddings is not null);
            ContextEmbeddings?.Save(writer);
            ItemCountsIo.Write(writer, s.ItemCounts);
        }

        static SkipGramEmbeddingTransformer ILoadableTransformer<SkipGramEmbeddingTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var pooling = (EmbeddingPooling)reader.ReadInt32();
            if (!Enum.IsDefined(pooling))
                throw new FormatException($"{nameof(SkipGramEmbeddingTransformer)}: unknown pooling {(int)pooling} in the saved model.");
            var columns = ColumnPairs.Read(reader);
            var summary = new SkipGramTrainingSummary(
                VocabularySize: reader.ReadInt32(),
                SequencesSeen: reader.ReadInt64(),
                SequencesSkipped: reader.ReadInt64(),
                CorpusTokens: reader.ReadInt64(),
                Epochs: reader.ReadInt32(),
                FinalLoss: reader.ReadDouble(),
                TokensPerSecond: reader.ReadDouble(),
                TrainingTime: TimeSpan.FromTicks(reader.ReadInt64()));
            var embeddings = EmbeddingTable.Load(reader);
            var context = reader.ReadBoolean() ? EmbeddingTable.Load(reader) : null;
            if (stateVersion >= 2)
                summary = summary with { ItemCounts = ItemCountsIo.Read(reader, embeddings.Count, nameof(SkipGramEmbeddingTransformer)) };
            return new SkipGramEmbeddingTransformer(embeddings, context, columns[0], pooling, summary);
        }
    }
}
