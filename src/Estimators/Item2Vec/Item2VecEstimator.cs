using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

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
        public sealed class Options : InteractionColumnsOptions
        {
            /// <summary>Output column of item vectors. Default "ItemVector".</summary>
            public string ItemVectorColumnName { get; set; } = "ItemVector";

            /// <summary>Output column of user vectors. Default "UserVector".</summary>
            public string UserVectorColumnName { get; set; } = "UserVector";

            /// <summary>A user vector is the mean input vector of the user's last N items. Default 5; at least 1.</summary>
            public int UserHistoryLength { get; set; } = 5;

            /// <summary>
            /// How many of each user's latest items the transformer keeps (<see cref="Item2VecTransformer.KeptHistory"/>)
            /// for continued training (<see cref="Fit(IDataView, Item2VecTransformer)"/>): the context that a user's new
            /// rows follow, and the items a recomputed user vector averages. Default null: the whole sequence (about the
            /// id's length plus a few bytes per interaction in the saved model). Null, or at least <see cref="UserHistoryLength"/>.
            /// </summary>
            public int? KeptHistoryLength { get; set; }

            /// <summary>
            /// Continued training only: how many of a touched user's kept items precede the new ones in the sequence that
            /// is trained. Default null: all the kept items (the user's whole updated sequence when the model keeps it).
            /// On MovieLens 100K (docs/incremental-training.md) the whole sequences (5 epochs, LearningRate 0.001) reached
            /// 99.7% of a full retrain's test HR@10 in 25% of its time; a context of 5 (10 epochs, LearningRate 0.0005) cost
            /// 8% but reached only 93%, no more than recomputing the user vectors. Null, or 0 or more.
            /// </summary>
            public int? UpdateContextLength { get; set; }

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

            internal Options Clone()
            {
                var copy = (Options)MemberwiseClone();
                copy.SkipGram = SkipGram.Clone();
                return copy;
            }
        }

        internal Item2VecEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            const string c = ComponentName;
            options.ValidateColumnNames(c);
            if (string.IsNullOrWhiteSpace(options.ItemVectorColumnName) || string.IsNullOrWhiteSpace(options.UserVectorColumnName) || options.ItemVectorColumnName == options.UserVectorColumnName)
                throw new ArgumentException($"{c}: ItemVectorColumnName ('{options.ItemVectorColumnName}') and UserVectorColumnName ('{options.UserVectorColumnName}') must be two different non-empty names.", nameof(options));
            if (options.UserHistoryLength < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.UserHistoryLength, $"{c}: UserHistoryLength = {options.UserHistoryLength} is invalid; use 1 or more (5 is usual).");
            OptionChecks.Check(c, options.KeptHistoryLength is null || options.KeptHistoryLength >= options.UserHistoryLength, nameof(options.KeptHistoryLength), options.KeptHistoryLength,
                $"use null (the whole sequence) or at least UserHistoryLength ({options.UserHistoryLength})");
            OptionChecks.Check(c, options.UpdateContextLength is null || options.UpdateContextLength >= 0, nameof(options.UpdateContextLength), options.UpdateContextLength,
                "use null (all the kept items) or 0 or more (5 for a cheap update)");
            ArgumentNullException.ThrowIfNull(options.SkipGram, nameof(options.SkipGram));
            if (options.SkipGram.InputColumnName is not null || options.SkipGram.Pooling != EmbeddingPooling.Mean)
                throw new ArgumentException($"{c}: SkipGram.InputColumnName ('{options.SkipGram.InputColumnName}') and SkipGram.Pooling ({options.SkipGram.Pooling}) do not apply to Item2Vec; set ItemColumnName, UserColumnName and UserHistoryLength instead.", nameof(options));
            // A snapshot: the caller's options are never written to, and later changes to them do not reach this estimator.
            options = options.Clone();
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
            var sequences = InteractionSequences.Read(input, _options.UserColumnName, _options.ItemColumnName, _options.TimestampColumnName);

            var (vocabulary, corpus, seen, skipped) = SkipGramTraining.ReadCorpus(sink => WriteTo(sink, sequences.Select(s => s.Items)), _options.SkipGram, $"column '{_options.ItemColumnName}'",
                _context.TempFilePath);
            using var _ = corpus;
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(_context, ComponentName, _options.SkipGram.CancellationToken);
            var (items2, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, _options.SkipGram, seed,
                message => channel.Info(MessageSensitivity.None, message), $"the item sequences of '{_options.UserColumnName}'", cancellation.Token);

            return Build(items2, context, summary, sequences.Select(s => (s.User, s.Items)));
        }

        /// <summary>
        /// Continues training <paramref name="initialModel"/> with new interaction rows (the same user, item and time
        /// columns); returns a new transformer, the initial one is unchanged.
        /// </summary>
        /// <remarks>
        /// <para>Each user's new rows, in time order, follow the user's earlier rows: the update trains skip-gram (see
        /// <see cref="SkipGramEmbeddingEstimator.Fit(Action{ISequenceWriter}, SkipGramEmbeddingTransformer)"/>: existing
        /// items start from their input and context vectors, new items are added, the sampling tables are rebuilt from the
        /// updated counts) on one sequence per user with new rows: the items the model kept of the user's sequence
        /// (<see cref="Item2VecTransformer.KeptHistory"/>: the whole sequence by default, counted already; the last
        /// <see cref="Options.UpdateContextLength"/> of them when set) followed by the new items. Users without new rows
        /// are not trained on. The skip-gram options of this estimator apply to the
        /// update: <c>Epochs</c> passes over those sequences, the learning rate restarting at <c>LearningRate</c>; the
        /// dimension must be the model's. On MovieLens 100K, 5 epochs at LearningRate 0.001 over the whole updated
        /// sequences reached 99.7% of a full retrain's test HR@10 in a quarter of its time, and rates of 0.0025 and more
        /// made the model drift (docs/incremental-training.md).</para>
        /// <para>Afterwards every user's vector is recomputed from the updated item vectors (the mean of the last
        /// UserHistoryLength known items of the kept history and the new items); new users are added. The new model keeps
        /// <see cref="Options.KeptHistoryLength"/> items per user.</para>
        /// </remarks>
        /// <param name="newInteractions">The new rows: user, item and (when the options name one) time columns of the same types as in training.</param>
        /// <param name="initialModel">The trained model to continue; trained with context vectors kept, by this version.</param>
        /// <exception cref="ArgumentException"><paramref name="initialModel"/> cannot be continued with these options (see the message).</exception>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
        /// <exception cref="InvalidOperationException"><paramref name="newInteractions"/> has no usable rows, or training diverged.</exception>
        public Item2VecTransformer Fit(IDataView newInteractions, Item2VecTransformer initialModel)
        {
            ArgumentNullException.ThrowIfNull(newInteractions);
            ArgumentNullException.ThrowIfNull(initialModel);
            GetOutputSchema(SchemaShapes.FromSchema(newInteractions.Schema));
            const string c = ComponentName;
            var initial = new SkipGramInitialModel(initialModel.ItemEmbeddings, initialModel.ContextEmbeddings, initialModel.ItemCounts);
            SkipGramTraining.CheckInitialModel(initial, _options.SkipGram, c, nameof(initialModel));
            if (initialModel.KeptHistories.Count == 0 && initialModel.UserEmbeddings.Count > 0)
                throw new ArgumentException($"{c}: the initial model keeps no history of its users (models saved before this version do not), so new rows cannot follow the users' earlier ones. Retrain the initial model with this version.", nameof(initialModel));
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.SkipGram.Seed ?? host.Rand.Next();
            var sequences = InteractionSequences.Read(newInteractions, _options.UserColumnName, _options.ItemColumnName, _options.TimestampColumnName);
            if (sequences.Count == 0)
                throw new InvalidOperationException($"{c}: the new interactions have no rows with both a user ('{_options.UserColumnName}') and an item ('{_options.ItemColumnName}'); give at least one new interaction.");

            string source = $"the new rows of '{_options.ItemColumnName}'";
            var (vocabulary, corpus, seen, skipped, newItems) = SkipGramTraining.ReadUpdateCorpus(
                sink => WriteTo(sink, sequences.Select(s => s.Items)),
                sink => WriteTo(sink, sequences.Select(s => (IReadOnlyList<string>)Context(initialModel.KeptHistory(s.User)).Concat(s.Items).ToArray())),
                initial, _options.SkipGram, source, _context.TempFilePath);
            using var _ = corpus;
            using var channel = host.Start("Continued training");
            using var cancellation = ContextCancellation.Watch(_context, ComponentName, _options.SkipGram.CancellationToken);
            var (items2, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, _options.SkipGram, seed,
                message => channel.Info(MessageSensitivity.None, message), $"the updated item sequences of '{_options.UserColumnName}'", cancellation.Token, initial, newItems);

            // Every user's kept items, extended by the new rows.
            var recent = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
            foreach (var (user, items) in initialModel.KeptHistories)
                recent[user] = items;
            foreach (var sequence in sequences)
                recent[sequence.User] = initialModel.KeptHistory(sequence.User).Concat(sequence.Items).ToArray();
            return Build(items2, context, summary, recent.OrderBy(p => p.Key, IdComparer.Instance).Select(p => (p.Key, p.Value)));
        }

        /// <summary>The last <see cref="Options.UpdateContextLength"/> of a user's kept items: the context their new rows follow in continued training.</summary>
        private IEnumerable<string> Context(IReadOnlyList<string> kept) =>
            _options.UpdateContextLength is int n && n < kept.Count ? kept.Skip(kept.Count - n) : kept;

        /// <summary>The transformer: user vectors (the mean input vector of each user's last N known items) and kept histories.</summary>
        /// <summary>The transformer of item vectors trained elsewhere (a cluster job) with this estimator's options: user vectors pooled from <paramref name="sequences"/>.</summary>
        internal Item2VecTransformer BuildTrained(EmbeddingTable items2, EmbeddingTable? context, SkipGramTrainingSummary summary, IEnumerable<(string User, IReadOnlyList<string> Items)> sequences) =>
            Build(items2, context, summary, sequences);

        /// <summary>The options (validated at construction).</summary>
        internal Options Settings => _options;

        private Item2VecTransformer Build(EmbeddingTable items2, EmbeddingTable? context, SkipGramTrainingSummary summary, IEnumerable<(string User, IReadOnlyList<string> Items)> sequences)
        {
            int d = items2.Dimension;
            int keep = _options.KeptHistoryLength ?? int.MaxValue;
            var userKeys = new List<string>();
            var userRows = new List<float[]>();
            var recent = new Dictionary<string, string[]>(StringComparer.Ordinal);
            foreach (var (user, items) in sequences)
            {
                recent[user] = items.Count <= keep ? items.ToArray() : items.Skip(items.Count - keep).ToArray();
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
                new InputOutputColumnPair(_options.UserVectorColumnName, _options.UserColumnName), summary, summary.ItemCounts, recent);
        }

        /// <summary>The input's columns and the item and user vector columns.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            _options.CheckInput(inputSchema, ComponentName);
            var type = new VectorDataViewType(NumberDataViewType.Single, _options.SkipGram.EmbeddingDimension);
            return SchemaChecks.Append(inputSchema, new[] { (_options.ItemVectorColumnName, (DataViewType)type), (_options.UserVectorColumnName, (DataViewType)type) });
        }

        /// <summary>Feeds in-memory item sequences to a corpus pass.</summary>
        internal static void WriteTo(ISequenceWriter sink, IEnumerable<IReadOnlyList<string>> sequences)
        {
            foreach (var items in sequences)
            {
                foreach (string item in items)
                    sink.Add(item);
                sink.EndSequence();
            }
        }
    }
}
