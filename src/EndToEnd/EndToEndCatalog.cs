using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings;

namespace Microsoft.ML
{
    /// <summary>The end-to-end embedding trainers (and sequence recall models) of <see cref="EmbeddingsCatalog"/> (<c>mlContext.Embeddings()</c>).</summary>
    public static class EndToEndCatalog
    {
        /// <summary>An end-to-end embedding model with every setting in <paramref name="options"/> (architecture, fields, crosses, training).</summary>
        /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
        public static EndToEndEmbeddingEstimator EndToEnd(this EmbeddingsCatalog catalog, EndToEndEmbeddingEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new EndToEndEmbeddingEstimator(catalog.Context, options);
        }

        /// <summary>
        /// Wide&amp;Deep for a Boolean label: a weight per key of every field (and per hashed cross, see
        /// <see cref="EndToEndEmbeddingEstimator.Options.WideCrosses"/>) plus a 256-128 ReLU network over the field embeddings.
        /// </summary>
        /// <param name="catalog">The catalog.</param>
        /// <param name="labelColumnName">The Boolean label column.</param>
        /// <param name="categoricalColumnNames">Key&lt;UInt32&gt; field columns (or vectors of keys for multi-valued fields).</param>
        /// <param name="numericFeaturesColumnName">A known-size Vector&lt;Single&gt; of dense features, or null.</param>
        /// <param name="embeddingDimension">Length of each field embedding. Default 16.</param>
        /// <param name="numberOfEpochs">Passes over the training rows. Default 8.</param>
        /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
        public static EndToEndEmbeddingEstimator WideAndDeep(this EmbeddingsCatalog catalog, string labelColumnName, IEnumerable<string> categoricalColumnNames,
            string? numericFeaturesColumnName = null, int embeddingDimension = EndToEndEmbeddingEstimator.Defaults.EmbeddingDimension,
            int numberOfEpochs = EndToEndEmbeddingEstimator.Defaults.NumberOfEpochs) =>
            Create(catalog, EndToEndArchitecture.WideAndDeep, labelColumnName, categoricalColumnNames, numericFeaturesColumnName, embeddingDimension, numberOfEpochs);

        /// <summary>Deep Crossing for a Boolean label: two residual units (hidden 256) over the field embeddings, then a linear output.</summary>
        /// <inheritdoc cref="WideAndDeep(EmbeddingsCatalog, string, IEnumerable{string}, string?, int, int)"/>
        public static EndToEndEmbeddingEstimator DeepCrossing(this EmbeddingsCatalog catalog, string labelColumnName, IEnumerable<string> categoricalColumnNames,
            string? numericFeaturesColumnName = null, int embeddingDimension = EndToEndEmbeddingEstimator.Defaults.EmbeddingDimension,
            int numberOfEpochs = EndToEndEmbeddingEstimator.Defaults.NumberOfEpochs) =>
            Create(catalog, EndToEndArchitecture.DeepCrossing, labelColumnName, categoricalColumnNames, numericFeaturesColumnName, embeddingDimension, numberOfEpochs);

        /// <summary>A factorization machine for a Boolean label: a weight per key of every field plus the pairwise interactions of the field embeddings.</summary>
        /// <inheritdoc cref="WideAndDeep(EmbeddingsCatalog, string, IEnumerable{string}, string?, int, int)"/>
        public static EndToEndEmbeddingEstimator FactorizationMachine(this EmbeddingsCatalog catalog, string labelColumnName, IEnumerable<string> categoricalColumnNames,
            string? numericFeaturesColumnName = null, int embeddingDimension = EndToEndEmbeddingEstimator.Defaults.EmbeddingDimension,
            int numberOfEpochs = EndToEndEmbeddingEstimator.Defaults.NumberOfEpochs) =>
            Create(catalog, EndToEndArchitecture.FactorizationMachine, labelColumnName, categoricalColumnNames, numericFeaturesColumnName, embeddingDimension, numberOfEpochs);

        /// <summary>FNN for a Boolean label: a 256-128 ReLU network over field embeddings that start from a factorization machine trained first.</summary>
        /// <inheritdoc cref="WideAndDeep(EmbeddingsCatalog, string, IEnumerable{string}, string?, int, int)"/>
        public static EndToEndEmbeddingEstimator FactorizationMachineNeuralNetwork(this EmbeddingsCatalog catalog, string labelColumnName, IEnumerable<string> categoricalColumnNames,
            string? numericFeaturesColumnName = null, int embeddingDimension = EndToEndEmbeddingEstimator.Defaults.EmbeddingDimension,
            int numberOfEpochs = EndToEndEmbeddingEstimator.Defaults.NumberOfEpochs) =>
            Create(catalog, EndToEndArchitecture.FactorizationMachineNeuralNetwork, labelColumnName, categoricalColumnNames, numericFeaturesColumnName, embeddingDimension, numberOfEpochs);

        /// <summary>
        /// A sequence recall model with every setting in <paramref name="options"/>: next-item prediction over each user's
        /// time-ordered interactions, by mean pooling and a ReLU network (YouTube DNN) or a GRU, with a softmax over all items.
        /// </summary>
        /// <exception cref="ArgumentException">A column name is empty.</exception>
        /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
        public static SequenceRecallEstimator SequenceRecall(this EmbeddingsCatalog catalog, SequenceRecallEstimator.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new SequenceRecallEstimator(catalog.Context, options);
        }

        /// <summary>A sequence recall model with the default settings (dimension 64, history 20, batch 256, Adam 0.001).</summary>
        /// <param name="catalog">The catalog.</param>
        /// <param name="outputColumnName">The user vector column appended by the transformer.</param>
        /// <param name="userColumnName">The user id column (Text, Key with values, or integers).</param>
        /// <param name="itemColumnName">The item id column (same types).</param>
        /// <param name="timestampColumnName">A time column ordering each user's items (ties by item id); null: the row order.</param>
        /// <param name="architecture">The history encoder. Default <see cref="SequenceRecallArchitecture.MeanPooling"/>.</param>
        /// <param name="numberOfEpochs">Passes over the examples. Default 8; 1 to 10,000.</param>
        /// <exception cref="ArgumentException">A column name is empty.</exception>
        /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
        public static SequenceRecallEstimator SequenceRecall(this EmbeddingsCatalog catalog, string outputColumnName, string userColumnName, string itemColumnName,
            string? timestampColumnName = null, SequenceRecallArchitecture architecture = SequenceRecallArchitecture.MeanPooling,
            int numberOfEpochs = SequenceRecallEstimator.Defaults.NumberOfEpochs) =>
            catalog.SequenceRecall(new SequenceRecallEstimator.Options
            {
                UserVectorColumnName = outputColumnName,
                UserColumnName = userColumnName,
                ItemColumnName = itemColumnName,
                TimestampColumnName = timestampColumnName,
                Architecture = architecture,
                NumberOfEpochs = numberOfEpochs,
            });

        private static EndToEndEmbeddingEstimator Create(EmbeddingsCatalog catalog, EndToEndArchitecture architecture, string labelColumnName,
            IEnumerable<string> categoricalColumnNames, string? numericFeaturesColumnName, int embeddingDimension, int numberOfEpochs)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            ArgumentNullException.ThrowIfNull(categoricalColumnNames);
            return new EndToEndEmbeddingEstimator(catalog.Context, new EndToEndEmbeddingEstimator.Options
            {
                Architecture = architecture,
                LabelColumnName = labelColumnName,
                CategoricalColumnNames = categoricalColumnNames.ToList(),
                NumericFeaturesColumnName = numericFeaturesColumnName,
                EmbeddingDimension = embeddingDimension,
                NumberOfEpochs = numberOfEpochs,
            });
        }
    }
}
