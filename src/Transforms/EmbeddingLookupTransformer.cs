using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.EmbeddingLookupTransformer))]

namespace Embeddings
{
    /// <summary>
    /// Applies an <see cref="EmbeddingTable"/> to item columns: each output column is a known-size
    /// <c>Vector&lt;Single, Dimension&gt;</c>. A single item maps to its vector (zeros when unknown); a sequence maps
    /// to the pooled vector of its known items (zeros when none is known). Created by
    /// <see cref="EmbeddingLookupEstimator"/> (<c>mlContext.Embeddings().ApplyEmbedding(...)</c>).
    /// </summary>
    public sealed class EmbeddingLookupTransformer : RowMappingTransformer, ILoadableTransformer<EmbeddingLookupTransformer>
    {
        internal const string ComponentName = "ApplyEmbedding";
        private readonly InputOutputColumnPair[] _columns;

        internal EmbeddingLookupTransformer(EmbeddingTable table, IReadOnlyList<InputOutputColumnPair> columns, EmbeddingPooling pooling)
        {
            Table = table;
            _columns = columns.ToArray();
            Pooling = pooling;
        }

        /// <summary>The table applied to the columns.</summary>
        public EmbeddingTable Table { get; }

        /// <summary>The (output, input) column pairs.</summary>
        public IReadOnlyList<InputOutputColumnPair> Columns => _columns;

        /// <summary>How sequences are pooled.</summary>
        public EmbeddingPooling Pooling { get; }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema) =>
            EmbeddingColumnMapper.Bind(inputSchema, _columns, Table, Pooling, ComponentName);

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<EmbeddingLookupTransformer>.LoaderId => "Embeddings.EmbeddingLookup";

        static int ILoadableTransformer<EmbeddingLookupTransformer>.StateVersion => 1;

        static IReadOnlyList<string> ILoadableTransformer<EmbeddingLookupTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.EmbeddingLookupTransformer, Embeddings.Transforms"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write((int)Pooling);
            ColumnPairs.Write(writer, _columns);
            Table.Save(writer);
        }

        static EmbeddingLookupTransformer ILoadableTransformer<EmbeddingLookupTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var pooling = (EmbeddingPooling)reader.ReadInt32();
            if (!Enum.IsDefined(pooling))
                throw new FormatException($"{nameof(EmbeddingLookupTransformer)}: unknown pooling {(int)pooling} in the saved model.");
            var columns = ColumnPairs.Read(reader);
            var table = EmbeddingTable.Load(reader);
            return new EmbeddingLookupTransformer(table, columns, pooling);
        }
    }
}
