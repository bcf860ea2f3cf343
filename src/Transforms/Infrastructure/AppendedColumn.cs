using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// A column that a <see cref="RowMappingTransformer"/> appends to its input: its name, type, the input columns its
    /// value is computed from, and a factory of value getters.
    /// </summary>
    public sealed class AppendedColumn
    {
        /// <summary>Describes an appended column.</summary>
        /// <param name="name">Output column name; an input column of the same name is hidden.</param>
        /// <param name="type">The column's type (for example a known-size vector of Single).</param>
        /// <param name="dependencies">Indices, in the input schema, of the columns the value is computed from.</param>
        /// <param name="createGetter">
        /// Given an input row whose dependencies are active, returns a <see cref="ValueGetter{TValue}"/> of the column's
        /// raw type. Called once per cursor or row, so the getter may own reusable buffers; it must not throw on values.
        /// </param>
        /// <param name="annotations">Optional annotations of the column.</param>
        public AppendedColumn(string name, DataViewType type, IReadOnlyList<int> dependencies, Func<DataViewRow, Delegate> createGetter, DataViewSchema.Annotations? annotations = null)
        {
            ArgumentException.ThrowIfNullOrEmpty(name);
            Name = name;
            Type = type ?? throw new ArgumentNullException(nameof(type));
            Dependencies = dependencies ?? throw new ArgumentNullException(nameof(dependencies));
            CreateGetter = createGetter ?? throw new ArgumentNullException(nameof(createGetter));
            Annotations = annotations;
        }

        /// <summary>Output column name.</summary>
        public string Name { get; }

        /// <summary>Output column type.</summary>
        public DataViewType Type { get; }

        /// <summary>Indices of the input columns the value depends on.</summary>
        public IReadOnlyList<int> Dependencies { get; }

        /// <summary>Creates a value getter over an input row.</summary>
        public Func<DataViewRow, Delegate> CreateGetter { get; }

        /// <summary>Annotations of the output column, or null.</summary>
        public DataViewSchema.Annotations? Annotations { get; }
    }
}
