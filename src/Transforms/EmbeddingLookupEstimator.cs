using System;
using System.Collections.Generic;
using Embeddings.Infrastructure;
using Microsoft.ML;

namespace Embeddings
{
    /// <summary>
    /// Applies a given <see cref="EmbeddingTable"/> to item columns (<c>mlContext.Embeddings().ApplyEmbedding(...)</c>).
    /// Nothing is trained: <see cref="Fit"/> validates the input schema and returns an <see cref="EmbeddingLookupTransformer"/>.
    /// </summary>
    /// <remarks>
    /// Input columns may be Text, integer ids (matched by their text), <c>Key&lt;UInt32&gt;</c> with key values (items are matched by their key values,
    /// never by key index), or vectors of either (sequences, pooled by <see cref="Options.Pooling"/>). Output columns
    /// are known-size <c>Vector&lt;Single, Dimension&gt;</c>, so ML.NET trainers accept them as features. Unknown items
    /// give zeros and are skipped by every pooling; a row with no known item gives zeros.
    /// </remarks>
    public sealed class EmbeddingLookupEstimator : IEstimator<EmbeddingLookupTransformer>
    {
        private readonly EmbeddingTable _table;
        private readonly InputOutputColumnPair[] _columns;
        private readonly EmbeddingPooling _pooling;

        /// <summary>Settings of <see cref="EmbeddingLookupEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>The table to apply. Required.</summary>
            public EmbeddingTable? Table { get; set; }

            /// <summary>(output, input) column pairs; at least one. Output names must be distinct.</summary>
            public IReadOnlyList<InputOutputColumnPair> Columns { get; set; } = Array.Empty<InputOutputColumnPair>();

            /// <summary>How a sequence (vector) column is pooled into one vector. Default <see cref="EmbeddingPooling.Mean"/>.</summary>
            public EmbeddingPooling Pooling { get; set; } = EmbeddingPooling.Mean;
        }

        internal EmbeddingLookupEstimator(Options options)
        {
            ArgumentNullException.ThrowIfNull(options);
            _table = options.Table ?? throw new ArgumentNullException(nameof(options), $"{EmbeddingLookupTransformer.ComponentName}: Options.Table is null; load one with EmbeddingTable.LoadWord2VecFormat or take a trained model's Embeddings.");
            _columns = ColumnPairs.Validate(options.Columns, EmbeddingLookupTransformer.ComponentName, nameof(Options.Columns));
            if (!Enum.IsDefined(options.Pooling))
                throw new ArgumentOutOfRangeException(nameof(options), options.Pooling, $"{EmbeddingLookupTransformer.ComponentName}: Pooling = {(int)options.Pooling} is not a defined value; use Mean, Sum or Max.");
            _pooling = options.Pooling;
        }

        /// <summary>Validates <paramref name="input"/>'s schema and returns the transformer.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
        public EmbeddingLookupTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            var transformer = new EmbeddingLookupTransformer(_table, _columns, _pooling);
            transformer.GetOutputSchema(input.Schema);
            return transformer;
        }

        /// <summary>The output shape: the input's columns and one known-size float vector column per pair.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            return EmbeddingColumnMapper.OutputShape(inputSchema, _columns, _table.Dimension, EmbeddingLookupTransformer.ComponentName);
        }
    }
}
