using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.Item2VecTransformer))]

namespace Embeddings
{
    /// <summary>
    /// The result of <see cref="Item2VecEstimator"/>: maps the item column to item vectors and the user column to user
    /// vectors (zeros for items and users not seen in training); exposes the item, context and user tables for scoring.
    /// </summary>
    public sealed class Item2VecTransformer : RowMappingTransformer, ILoadableTransformer<Item2VecTransformer>
    {
        private readonly InputOutputColumnPair _itemColumn;
        private readonly InputOutputColumnPair _userColumn;

        internal Item2VecTransformer(EmbeddingTable items, EmbeddingTable? context, EmbeddingTable users, InputOutputColumnPair itemColumn, InputOutputColumnPair userColumn, SkipGramTrainingSummary? summary)
        {
            ItemEmbeddings = items;
            ContextEmbeddings = context;
            UserEmbeddings = users;
            _itemColumn = itemColumn;
            _userColumn = userColumn;
            TrainingSummary = summary;
        }

        /// <summary>Item input vectors.</summary>
        public EmbeddingTable ItemEmbeddings { get; }

        /// <summary>Item output (context) vectors, when the skip-gram options kept them: score a user against an item by UserVector . context vector.</summary>
        public EmbeddingTable? ContextEmbeddings { get; }

        /// <summary>User vectors: the mean item vector of each user's last items.</summary>
        public EmbeddingTable UserEmbeddings { get; }

        /// <summary>Statistics of the skip-gram run (null for a transformer loaded from a saved model).</summary>
        public SkipGramTrainingSummary? TrainingSummary { get; }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema) =>
            EmbeddingColumnMapper.Bind(inputSchema, new[] { _itemColumn }, ItemEmbeddings, EmbeddingPooling.Mean, Item2VecEstimator.ComponentName)
                .Concat(EmbeddingColumnMapper.Bind(inputSchema, new[] { _userColumn }, UserEmbeddings, EmbeddingPooling.Mean, Item2VecEstimator.ComponentName))
                .ToArray();

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<Item2VecTransformer>.LoaderId => "Embeddings.Item2Vec";

        static int ILoadableTransformer<Item2VecTransformer>.StateVersion => 1;

        static IReadOnlyList<string> ILoadableTransformer<Item2VecTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.Item2VecTransformer, Embeddings.Estimators"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            ColumnPairs.Write(writer, new[] { _itemColumn, _userColumn });
            ItemEmbeddings.Save(writer);
            UserEmbeddings.Save(writer);
            writer.Write(ContextEmbeddings is not null);
            ContextEmbeddings?.Save(writer);
        }

        static Item2VecTransformer ILoadableTransformer<Item2VecTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var columns = ColumnPairs.Read(reader);
            if (columns.Length != 2)
                throw new FormatException($"{nameof(Item2VecTransformer)}: expected 2 columns in the saved model, found {columns.Length}.");
            var items = EmbeddingTable.Load(reader);
            var users = EmbeddingTable.Load(reader);
            var context = reader.ReadBoolean() ? EmbeddingTable.Load(reader) : null;
            return new Item2VecTransformer(items, context, users, columns[0], columns[1], summary: null);
        }
    }
}
