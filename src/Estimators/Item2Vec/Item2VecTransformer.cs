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

        internal Item2VecTransformer(EmbeddingTable items, EmbeddingTable? context, EmbeddingTable users, InputOutputColumnPair itemColumn, InputOutputColumnPair userColumn, SkipGramTrainingSummary? summary,
            IReadOnlyList<long> itemCounts, IReadOnlyDictionary<string, string[]> keptHistories)
        {
            ItemCounts = itemCounts;
            KeptHistories = keptHistories;
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

        /// <summary>
        /// The items of the user's sequence that the model keeps for continued training, oldest first: the whole sequence,
        /// or its last <see cref="Item2VecEstimator.Options.KeptHistoryLength"/> items. Empty for an unknown user, and for
        /// every user of a model saved before this version.
        /// </summary>
        /// <param name="user">The user's id.</param>
        public IReadOnlyList<string> KeptHistory(string user) =>
            user is not null && KeptHistories.TryGetValue(user, out var items) ? items : Array.Empty<string>();

        /// <summary>How often each item of <see cref="ItemEmbeddings"/> occurs in the training sequences, row-aligned; empty for a model saved before this version.</summary>
        internal IReadOnlyList<long> ItemCounts { get; }

        /// <summary>Each user's kept items (see <see cref="KeptHistory"/>).</summary>
        internal IReadOnlyDictionary<string, string[]> KeptHistories { get; }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema) =>
            EmbeddingColumnMapper.Bind(inputSchema, new[] { _itemColumn }, ItemEmbeddings, EmbeddingPooling.Mean, Item2VecEstimator.ComponentName)
                .Concat(EmbeddingColumnMapper.Bind(inputSchema, new[] { _userColumn }, UserEmbeddings, EmbeddingPooling.Mean, Item2VecEstimator.ComponentName))
                .ToArray();

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<Item2VecTransformer>.LoaderId => "Embeddings.Item2Vec";

        // Version 2 adds the item counts and each user's kept history (for continued training); 1 is still read.
        static int ILoadableTransformer<Item2VecTransformer>.StateVersion => 2;

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
            ItemCountsIo.Write(writer, ItemCounts);
            writer.Write(KeptHistories.Count);
            foreach (var (user, items) in KeptHistories.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                writer.Write(user);
                writer.Write(items.Length);
                foreach (string item in items)
                    writer.Write(item);
            }
        }

        static Item2VecTransformer ILoadableTransformer<Item2VecTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var columns = ColumnPairs.Read(reader);
            if (columns.Length != 2)
                throw new FormatException($"{nameof(Item2VecTransformer)}: expected 2 columns in the saved model, found {columns.Length}.");
            var items = EmbeddingTable.Load(reader);
            var users = EmbeddingTable.Load(reader);
            var context = reader.ReadBoolean() ? EmbeddingTable.Load(reader) : null;
            IReadOnlyList<long> counts = Array.Empty<long>();
            var recent = new Dictionary<string, string[]>(StringComparer.Ordinal);
            if (stateVersion >= 2)
            {
                counts = ItemCountsIo.Read(reader, items.Count, nameof(Item2VecTransformer));
                int userCount = reader.ReadInt32();
                long left = BinaryState.RemainingBytes(reader.BaseStream);
                if (userCount < 0 || (left >= 0 && userCount > left))
                    throw new FormatException($"{nameof(Item2VecTransformer)}: the saved model declares {userCount} users with kept histories; the model is damaged or truncated.");
                for (int u = 0; u < userCount; u++)
                {
                    string user = reader.ReadString();
                    var list = BinaryState.ReadStrings(reader, reader.ReadInt32(), $"kept items of user '{user}'");
                    if (!recent.TryAdd(user, list))
                        throw new FormatException($"{nameof(Item2VecTransformer)}: user '{user}' appears twice among the saved histories; the model is damaged.");
                }
            }
            return new Item2VecTransformer(items, context, users, columns[0], columns[1], summary: null, counts, recent);
        }
    }
}
