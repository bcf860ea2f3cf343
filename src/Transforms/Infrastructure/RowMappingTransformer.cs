using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Base of every transformer in this library: lazy, row-to-row, and column-appending. A derived class validates
    /// an input schema and describes the columns it appends (<see cref="BindColumns"/>); this base supplies the
    /// transformed <see cref="IDataView"/>, its cursors, the <see cref="IRowToRowMapper"/> used by prediction engines,
    /// and persistence through ML.NET's <c>mlContext.Model.Save</c> / <c>Load</c>.
    /// </summary>
    /// <remarks>
    /// A derived class that can be saved writes its state in <see cref="SaveState"/>, implements
    /// <see cref="ILoadableTransformer{TSelf}"/> (loader id, state version, <c>Load</c>) to read it back, and registers
    /// itself with <c>[assembly: EmbeddingsTransformerLoader(typeof(...))]</c> in its file (docs/persistence.md).
    /// </remarks>
    public abstract class RowMappingTransformer : ITransformer
    {
        /// <summary>Creates the base.</summary>
        protected RowMappingTransformer()
        {
        }

        /// <summary>Always true: the transformer maps each input row to exactly one output row.</summary>
        public bool IsRowToRowMapper => true;

        /// <summary>The schema that <see cref="Transform"/> produces for input of <paramref name="inputSchema"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Bind(inputSchema).OutputSchema;

        /// <summary>Returns a lazy view of <paramref name="input"/> with the appended columns; nothing is computed until a cursor reads it.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An input column is missing or of the wrong type.</exception>
        public IDataView Transform(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            return new AppendingDataView(input, Bind(input.Schema));
        }

        /// <summary>The row-to-row mapper used by <c>CreatePredictionEngine</c>.</summary>
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => Bind(inputSchema);

        void ICanSaveModel.Save(ModelSaveContext ctx) => TransformerPersistence.Save(ctx, this, SaveState);

        /// <summary>
        /// Validates <paramref name="inputSchema"/> and describes the appended columns. Throw here, naming the column, the
        /// expected and the actual type, when the input does not fit; getters must never throw on values.
        /// </summary>
        protected abstract IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema);

        /// <summary>
        /// Writes the transformer's trained state and settings, in the layout of its current
        /// <see cref="ILoadableTransformer{TSelf}.StateVersion"/> (which the model records before this state); read back by
        /// <see cref="ILoadableTransformer{TSelf}.Load"/>.
        /// </summary>
        protected abstract void SaveState(BinaryWriter writer);

        private AppendingRowMapper Bind(DataViewSchema inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            return new AppendingRowMapper(inputSchema, BindColumns(inputSchema), this);
        }
    }
}
