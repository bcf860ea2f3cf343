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

            var (vocabulary, corpus, seen, skipped) = SkipGramTraining.ReadCorpus(sink => WriteTo(sink, sequences.Select(s => s.Items)), _options.SkipGram, $"column '{_options.ItemColumnName}'");
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(_context, ComponentName, _options.SkipGram.CancellationToken);
            var (items2, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, _options.SkipGram, seed,
                message => channel.Info(MessageSensitivity.None, message), $"the item sequences of '{_options.UserColumnName}'", cancellation.Token);

            // User vectors: the mean input vector of each user's last N known items.
            int d = items2.Dimension;
            var userKeys = new List<string>();
            var userRows = new List<float[]>();
            foreach (var (user, items, _) in sequences)
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
