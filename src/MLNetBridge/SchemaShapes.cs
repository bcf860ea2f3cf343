// Uses ML.NET internals: SchemaShape.Create and the SchemaShape.Column constructor are internal in ML.NET 5.0, yet
// IEstimator.GetOutputSchema must return the shape of new columns.
using System;
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Builds <see cref="SchemaShape"/>s, whose public API cannot describe a new column: an estimator's
    /// <c>GetOutputSchema(SchemaShape)</c> describes its output columns in a <see cref="DataViewSchema"/> (with
    /// <see cref="DataViewSchema.Builder"/>) and converts it here.
    /// </summary>
    public static class SchemaShapes
    {
        /// <summary>The shape of <paramref name="schema"/>: its visible columns, with their types and key-value annotations.</summary>
        public static SchemaShape FromSchema(DataViewSchema schema)
        {
            ArgumentNullException.ThrowIfNull(schema);
            return SchemaShape.Create(schema);
        }
    }
}
