using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Graph;
using Embeddings.Infrastructure;
using Embeddings.Recommendation;
using Embeddings.SkipGram;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.Item2VecTransformer))]

namespace Embeddings
{
    /// <summary>
    /// item2vec from interaction rows (<c>mlContext.Embeddings().Item2Vec(...)</c>): each user's items, ordered by
    /// timestamp (ties by item id), form a sequence; skip-gram learns item vectors and context vectors; a user's vector
    /// is the mean of the input vectors of their last <see cref="Options.UserHistoryLength"/> items. The transformer maps
    /// the item column to item vectors and the user column to user vectors.
    /// </summary>
    public sealed class Item2VecEstimator : IEstimator<Item2VecTransformer>
    {
        internal const string ComponentName = "Item2Vec";
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Settings of <see cref="Item2VecEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>User id column: Text, Key&lt;UInt32&gt; with key values, or integer ids. Required.</summary>
            public string UserColumnName { get; set; } = "";

            /// <summary>Item id column (same types). Required.</summary>
            public string ItemColumnName { get; set; } = "";

            /// <summary>Optional time column (Single, Double, Int32, Int64, or DateTime): orders each user's items. Null: row order.</summary>
            public string? TimestampColumnName { get; set; }

            /// <summary>Output column of item vectors. Default "ItemVector".</summary>
            public string ItemVectorColumnName { get; set; } = "ItemVector";

            /// <summary>Output column of user vectors. Default "UserVector".</summary>
            public string UserVectorColumnName { get; set; } = "UserVector";

            /// <summary>A user vector is the mean input vector of the user's last N items. Default 5; at least 1.</summary>
            public int UserHistoryLength { get; set; } = 5;

            /// <summary>
            /// Skip-gram training settings (dimension, window or whole sequence, negatives, epochs, seed, threads, progress).
            /// Defaults: dimension 64, window 5, MinCount 1, 20 epochs, context vectors kept. Its column names and pooling
            /// do not apply here (use <see cref="ItemVectorColumnName"/>, <see cref="UserVectorColumnName"/> and
            /// <see cref="UserHistoryLength"/>): an <c>InputColumnName</c> or a pooling other than Mean is rejected.
            /// </summary>
            public SkipGramEmbeddingEstimator.Options SkipGram { get; set; } = new()
            {
                OutputColumnName = "Item2Vec",
                EmbeddingDimension = 64,
                WindowSize = 5,
                MinCount = 1,
                Epochs = 20,
                KeepContextVectors = true,
            };
        }

        internal Item2VecEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            const string c = ComponentName;
            if (string.IsNullOrWhiteSpace(options.UserColumnName))
                throw new ArgumentException($"{c}: UserColumnName is empty; name the user id column.", nameof(options));
            if (string.IsNullOrWhiteSpace(options.ItemColumnName))
                throw new ArgumentException($"{c}: ItemColumnName is empty; name the item id column.", nameof(options));
            if (string.IsNullOrWhiteSpace(options.ItemVectorColumnName) || string.IsNullOrWhiteSpace(options.UserVectorColumnName) || options.ItemVectorColumnName == options.UserVectorColumnName)
                throw new ArgumentException($"{c}: ItemVectorColumnName ('{options.ItemVectorColumnName}') and UserVectorColumnName ('{options.UserVectorColumnName}') must be two different non-empty names.", nameof(options));
            if (options.UserHistoryLength < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.UserHistoryLength, $"{c}: UserHistoryLength = {options.UserHistoryLength} is invalid; use 1 or more (5 is usual).");
            ArgumentNullException.ThrowIfNull(options.SkipGram, nameof(options.SkipGram));
            if (options.SkipGram.InputColumnName is not null || options.SkipGram.Pooling != EmbeddingPooling.Mean)
                throw new ArgumentException($"{c}: SkipGram.InputColumnName ('{options.SkipGram.InputColumnName}') and SkipGram.Pooling ({options.SkipGram.Pooling}) do not apply to Item2Vec; set ItemColumnName, UserColumnName and UserHistoryLength instead.", nameof(options));
            if (string.IsNullOrWhiteSpace(options.SkipGram.OutputColumnName))
                options.SkipGram.OutputColumnName = "Item2Vec";
            SkipGramEmbeddingEstimator.Validate(options.SkipGram);
            _options = options;
        }

        /// <summary>Reads the interactions, trains item2vec and returns the item and user lookup.</summary>
        public Item2VecTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.SkipGram.Seed ?? host.Rand.Next();
            var sequences = ReadSequences(input, _options.UserColumnName, _options.ItemColumnName, _options.TimestampColumnName);

            var (vocabulary, corpus, seen, skipped) = SkipGramTraining.ReadCorpus(sink => WriteTo(sink, sequences.Values), _options.SkipGram, $"column '{_options.ItemColumnName}'");
            using var channel = host.Start("Training");
            var (items2, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, _options.SkipGram, seed,
                message => channel.Info(MessageSensitivity.None, message), $"the item sequences of '{_options.UserColumnName}'");

            // User vectors: the mean input vector of each user's last N known items.
            int d = items2.Dimension;
            var userKeys = new List<string>();
            var userRows = new List<float[]>();
            foreach (var (user, items) in sequences)
            {
                var sum = new float[d];
                int known = 0;
                for (int i = items.Count - 1; i >= 0 && known < _options.UserHistoryLength; i--)
                {
                    int row = items2.IndexOf(items[i]);
                    if (row < 0)
                        continue;
                    Kernels.VectorMath.Add(items2.Row(row), sum);
                    known++;
                }
                if (known == 0)
                    continue;
                Kernels.VectorMath.Scale(1f / known, sum);
                userKeys.Add(user);
                userRows.Add(sum);
            }
            var users = new EmbeddingTable(userKeys, userRows.SelectMany(r => r).ToArray(), d);
            return new Item2VecTransformer(items2, context, users,
                new InputOutputColumnPair(_options.ItemVectorColumnName, _options.ItemColumnName),
                new InputOutputColumnPair(_options.UserVectorColumnName, _options.UserColumnName), summary);
        }

        /// <summary>The input's columns and the item and user vector columns.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            GraphEdgeReader.CheckNodeColumn(inputSchema, _options.UserColumnName, ComponentName);
            GraphEdgeReader.CheckNodeColumn(inputSchema, _options.ItemColumnName, ComponentName);
            CheckTimestampColumn(inputSchema, _options.TimestampColumnName, ComponentName);
            var type = new VectorDataViewType(NumberDataViewType.Single, _options.SkipGram.EmbeddingDimension);
            return SchemaChecks.Append(inputSchema, new[] { (_options.ItemVectorColumnName, (DataViewType)type), (_options.UserVectorColumnName, (DataViewType)type) });
        }

        /// <summary>An optional time column must be a scalar Single, Double, Int32, Int64 or DateTime.</summary>
        internal static void CheckTimestampColumn(SchemaShape inputSchema, string? name, string component)
        {
            if (name is null)
                return;
            var column = SchemaChecks.FindColumn(inputSchema, name, component);
            Type raw = column.ItemType.RawType;
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.IsKey || !(raw == typeof(float) || raw == typeof(double) || raw == typeof(int) || raw == typeof(long) || raw == typeof(DateTime)))
                throw SchemaChecks.TypeMismatch(component, name, "a time: Single, Double, Int32, Int64 or DateTime", SchemaChecks.Describe(column), "");
        }

        /// <summary>Feeds in-memory item sequences to a corpus pass.</summary>
        internal static void WriteTo(ISequenceSink sink, IEnumerable<IReadOnlyList<string>> sequences)
        {
            foreach (var items in sequences)
            {
                foreach (string item in items)
                    sink.Add(item);
                sink.EndSequence();
            }
        }

        /// <summary>Each user's items in time order (ties by item id), users in id order.</summary>
        internal static SortedDictionary<string, List<string>> ReadSequences(IDataView input, string userColumn, string itemColumn, string? timestampColumn)
        {
            var result = new SortedDictionary<string, List<string>>(ItemIdComparer.Instance);
            foreach (var (user, sequence) in ReadTimedSequences(input, userColumn, itemColumn, timestampColumn))
                result[user] = sequence.Items;
            return result;
        }

        /// <summary>Each user's items and their times (the row number without a time column), in time order (ties by item id), users in id order.</summary>
        internal static SortedDictionary<string, (List<string> Items, List<double> Times)> ReadTimedSequences(IDataView input, string userColumn, string itemColumn, string? timestampColumn)
        {
            var rows = new List<(string User, string Item, double Time, long Row)>();
            var schema = input.Schema;
            var columns = new List<DataViewSchema.Column> { schema[userColumn], schema[itemColumn] };
            if (timestampColumn is not null)
                columns.Add(schema[timestampColumn]);
            using var cursor = input.GetRowCursor(columns);
            var readUser = IdReader(cursor, schema[userColumn]);
            var readItem = IdReader(cursor, schema[itemColumn]);
            var readTime = timestampColumn is null ? null : TimeReader(cursor, schema[timestampColumn]);
            long row = 0;
            while (cursor.MoveNext())
            {
                string? user = readUser(), item = readItem();
                double time = readTime?.Invoke() ?? row;
                row++;
                if (user is null || item is null || double.IsNaN(time))
                    continue;
                rows.Add((user, item, time, row));
            }
            var sequences = new SortedDictionary<string, (List<string>, List<double>)>(ItemIdComparer.Instance);
            foreach (var group in rows.GroupBy(r => r.User))
            {
                var ordered = group.OrderBy(r => r.Time).ThenBy(r => r.Item, ItemIdComparer.Instance).ToList();
                sequences[group.Key] = (ordered.Select(r => r.Item).ToList(), ordered.Select(r => r.Time).ToList());
            }
            return sequences;
        }

        private static Func<string?> IdReader(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            var read = GraphEdgeReader.NodeReader(cursor, column);
            return () =>
            {
                var text = read();
                return text.IsEmpty ? null : text.ToString();
            };
        }

        private static Func<double> TimeReader(DataViewRowCursor cursor, DataViewSchema.Column column)
        {
            if (column.Type.RawType != typeof(DateTime))
                return GraphEdgeReader.WeightReader(cursor, column);
            var getter = cursor.GetGetter<DateTime>(column);
            DateTime date = default;
            return () =>
            {
                getter(ref date);
                return date.Ticks;
            };
        }
    }

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
            ItemEmbeddings.Write(writer);
            UserEmbeddings.Write(writer);
            writer.Write(ContextEmbeddings is not null);
            ContextEmbeddings?.Write(writer);
        }

        static Item2VecTransformer ILoadableTransformer<Item2VecTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var columns = ColumnPairs.Read(reader);
            if (columns.Length != 2)
                throw new FormatException($"{nameof(Item2VecTransformer)}: expected 2 columns in the saved model, found {columns.Length}.");
            var items = EmbeddingTable.Read(reader);
            var users = EmbeddingTable.Read(reader);
            var context = reader.ReadBoolean() ? EmbeddingTable.Read(reader) : null;
            return new Item2VecTransformer(items, context, users, columns[0], columns[1], summary: null);
        }
    }
}
