// Uses ML.NET internals: SchemaShape.Create and the SchemaShape.Column constructor are internal in ML.NET 5.0, yet
// IEstimator.GetOutputSchema must return the shape of new columns.
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>Builds <see cref="SchemaShape"/>s, whose public API cannot describe a new column.</summary>
    internal static class SchemaShapes
    {
        /// <summary>The shape of <paramref name="schema"/> (its visible columns).</summary>
        public static SchemaShape FromSchema(DataViewSchema schema) => SchemaShape.Create(schema);
    }
}
