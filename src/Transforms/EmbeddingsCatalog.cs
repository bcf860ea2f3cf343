using System;
using Embeddings;

namespace Microsoft.ML
{
    /// <summary>Adds <see cref="EmbeddingsCatalog"/> to <see cref="MLContext"/>.</summary>
    public static class EmbeddingsCatalogExtensions
    {
        /// <summary>The catalog of embedding components: <c>mlContext.Embeddings().ApplyEmbedding(...)</c> and the trainers.</summary>
        public static EmbeddingsCatalog Embeddings(this MLContext mlContext)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            return new EmbeddingsCatalog(mlContext);
        }
    }
}

namespace Embeddings
{
    using Microsoft.ML;

    /// <summary>
    /// Entry point of the library's ML.NET components, reached through <c>mlContext.Embeddings()</c>. Trainers
    /// (skip-gram, graph walks, ...) are added to it by extension methods of <c>Embeddings.Estimators</c>.
    /// </summary>
    public sealed class EmbeddingsCatalog
    {
        internal EmbeddingsCatalog(MLContext context)
        {
            Context = context;
        }

        /// <summary>
        /// The context the catalog was taken from: its seed, log and cancellation are used by the trainers, and
        /// catalog extensions in other packages create their estimators with it.
        /// </summary>
        public MLContext Context { get; }

        /// <summary>
        /// Applies <paramref name="table"/> to <paramref name="inputColumnName"/>, producing a known-size vector column
        /// (the argument order of ML.NET's <c>ApplyWordEmbedding</c>: output column first).
        /// </summary>
        /// <param name="outputColumnName">Name of the output vector column.</param>
        /// <param name="table">The embeddings to apply.</param>
        /// <param name="inputColumnName">Item column: Text, Key&lt;UInt32&gt; with key values, an integer id (Int32, UInt32, Int64, UInt64), or a vector of Text or keys. Null means <paramref name="outputColumnName"/>.</param>
        /// <param name="pooling">How a sequence is pooled. Default <see cref="EmbeddingPooling.Mean"/>.</param>
        public EmbeddingLookupEstimator ApplyEmbedding(string outputColumnName, EmbeddingTable table, string? inputColumnName = null, EmbeddingPooling pooling = EmbeddingPooling.Mean) =>
            new(new EmbeddingLookupEstimator.Options
            {
                Table = table,
                Columns = new[] { new InputOutputColumnPair(outputColumnName, inputColumnName ?? outputColumnName) },
                Pooling = pooling,
            });

        /// <summary>The table-first form of <see cref="ApplyEmbedding(string, EmbeddingTable, string?, EmbeddingPooling)"/>, kept for one release.</summary>
        /// <param name="table">The embeddings to apply.</param>
        /// <param name="outputColumnName">Name of the output vector column.</param>
        /// <param name="inputColumnName">Item column; null means <paramref name="outputColumnName"/>.</param>
        /// <param name="pooling">How a sequence is pooled. Default <see cref="EmbeddingPooling.Mean"/>.</param>
        [Obsolete("Use ApplyEmbedding(outputColumnName, table, inputColumnName, pooling): the output column comes first, as in ML.NET. This overload will be removed in the next release.")]
        public EmbeddingLookupEstimator ApplyEmbedding(EmbeddingTable table, string outputColumnName, string? inputColumnName = null, EmbeddingPooling pooling = EmbeddingPooling.Mean) =>
            ApplyEmbedding(outputColumnName, table, inputColumnName, pooling);

        /// <summary>Applies a table to one or more columns, with all settings in <paramref name="options"/>.</summary>
        public EmbeddingLookupEstimator ApplyEmbedding(EmbeddingLookupEstimator.Options options) => new(options);

        /// <summary>
        /// The similarity of two known-size float vector columns (for example a user vector and an item vector) as a
        /// Single feature column: cosine (default), dot product, or Euclidean (minus the distance: larger is closer).
        /// </summary>
        /// <param name="outputColumnName">Name of the output Single column.</param>
        /// <param name="leftColumnName">First vector column.</param>
        /// <param name="rightColumnName">Second vector column, of the same length.</param>
        /// <param name="metric">Cosine (default; 0 when a vector is all zeros), DotProduct, or Euclidean (-distance, as the searches report it).</param>
        public SimilarityEstimator Similarity(string outputColumnName, string leftColumnName, string rightColumnName, SimilarityMetric metric = SimilarityMetric.Cosine) =>
            new(outputColumnName, leftColumnName, rightColumnName, metric);

        /// <summary>
        /// Applies <paramref name="table"/> to a single-item text column using only ML.NET's built-in transforms
        /// (MapValueToKey, MapKeyToValue, MapValue, DropColumns), so that a saved model loads where this library is not
        /// installed. The output is the same known-size vector as <see cref="ApplyEmbedding(string, EmbeddingTable, string?, EmbeddingPooling)"/>
        /// gives (zeros for unknown items); sequences are not supported by this form.
        /// </summary>
        /// <remarks>The table is copied into the model's lookup; prefer <c>ApplyEmbedding</c> for large tables and sequences.</remarks>
        /// <param name="outputColumnName">Name of the output vector column.</param>
        /// <param name="table">The embeddings to apply.</param>
        /// <param name="inputColumnName">A Text column of single items. Null means <paramref name="outputColumnName"/>.</param>
        public IEstimator<ITransformer> ApplyEmbeddingWithBuiltInTransforms(string outputColumnName, EmbeddingTable table, string? inputColumnName = null) =>
            BuiltInLookupExport.Create(Context, table, outputColumnName, inputColumnName ?? outputColumnName);

        /// <summary>The table-first form of <see cref="ApplyEmbeddingWithBuiltInTransforms(string, EmbeddingTable, string?)"/>, kept for one release.</summary>
        /// <param name="table">The embeddings to apply.</param>
        /// <param name="outputColumnName">Name of the output vector column.</param>
        /// <param name="inputColumnName">A Text column of single items; null means <paramref name="outputColumnName"/>.</param>
        [Obsolete("Use ApplyEmbeddingWithBuiltInTransforms(outputColumnName, table, inputColumnName): the output column comes first, as in ML.NET. This overload will be removed in the next release.")]
        public IEstimator<ITransformer> ApplyEmbeddingWithBuiltInTransforms(EmbeddingTable table, string outputColumnName, string? inputColumnName = null) =>
            ApplyEmbeddingWithBuiltInTransforms(outputColumnName, table, inputColumnName);
    }
}
