using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings;

namespace Microsoft.ML
{
    /// <summary>The end-to-end embedding trainers of <see cref="EmbeddingsCatalog"/> (<c>mlContext.Embeddings()</c>).</summary>
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
