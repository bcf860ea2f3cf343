using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.NodeEmbeddingTransformer))]

namespace Embeddings
{
    /// <summary>
    /// The result of <see cref="Node2VecEstimator"/> and <see cref="DeepWalkEstimator"/>: maps node columns to their
    /// trained vectors (known-size <c>Vector&lt;Single, EmbeddingDimension&gt;</c>); nodes the graph did not have, or
    /// that the walks never reached, get zeros.
    /// </summary>
    public sealed class NodeEmbeddingTransformer : RowMappingTransformer, ILoadableTransformer<NodeEmbeddingTransformer>
    {
        private readonly InputOutputColumnPair[] _columns;
        private readonly int[] _domains;
        private readonly string _component;

        internal NodeEmbeddingTransformer(string component, EmbeddingTable sourceEmbeddings, EmbeddingTable targetEmbeddings, bool bipartite,
            IReadOnlyList<InputOutputColumnPair> columns, IReadOnlyList<int> domains, EmbeddingTable? contextEmbeddings, GraphEmbeddingSummary? summary)
        {
            ContextEmbeddings = contextEmbeddings;
            _component = component;
            SourceEmbeddings = sourceEmbeddings;
            TargetEmbeddings = targetEmbeddings;
            Bipartite = bipartite;
            _columns = columns.ToArray();
            _domains = domains.ToArray();
            Summary = summary;
        }

        /// <summary>Vectors of the source column's nodes; of all nodes when the graph is not bipartite.</summary>
        public EmbeddingTable SourceEmbeddings { get; }

        /// <summary>Vectors of the target column's nodes; the same table as <see cref="SourceEmbeddings"/> when the graph is not bipartite.</summary>
        public EmbeddingTable TargetEmbeddings { get; }

        /// <summary>
        /// The skip-gram output (context) vectors of all nodes, when the options set <c>KeepContextVectors</c>; null
        /// otherwise (and always null for a bipartite graph, which does not support them).
        /// </summary>
        public EmbeddingTable? ContextEmbeddings { get; }

        /// <summary>True when source and target nodes are separate domains.</summary>
        public bool Bipartite { get; }

        /// <summary>The (output, input) node columns.</summary>
        public IReadOnlyList<InputOutputColumnPair> Columns => _columns;

        /// <summary>Statistics of the fit (null for a transformer loaded from a saved model).</summary>
        public GraphEmbeddingSummary? Summary { get; }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            var appended = new List<AppendedColumn>(_columns.Length);
            for (int i = 0; i < _columns.Length; i++)
            {
                var table = _domains[i] == 0 ? SourceEmbeddings : TargetEmbeddings;
                appended.AddRange(EmbeddingColumnMapper.Bind(inputSchema, new[] { _columns[i] }, table, EmbeddingPooling.Mean, _component));
            }
            return appended;
        }

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<NodeEmbeddingTransformer>.LoaderId => "Embeddings.NodeEmbedding";

        // Version 2 appends the optional context vectors.
        static int ILoadableTransformer<NodeEmbeddingTransformer>.StateVersion => 2;

        static IReadOnlyList<string> ILoadableTransformer<NodeEmbeddingTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.NodeEmbeddingTransformer, Embeddings.Estimators"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write(_component);
            writer.Write(Bipartite);
            ColumnPairs.Write(writer, _columns);
            foreach (int domain in _domains)
                writer.Write(domain);
            SourceEmbeddings.Save(writer);
            if (Bipartite)
                TargetEmbeddings.Save(writer);
            writer.Write(ContextEmbeddings is not null);
            ContextEmbeddings?.Save(writer);
        }

        static NodeEmbeddingTransformer ILoadableTransformer<NodeEmbeddingTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            string component = reader.ReadString();
            bool bipartite = reader.ReadBoolean();
            var columns = ColumnPairs.Read(reader);
            var domains = new int[columns.Length];
            for (int i = 0; i < domains.Length; i++)
            {
                domains[i] = reader.ReadInt32();
                if (domains[i] is not (0 or 1))
                    throw new FormatException($"{nameof(NodeEmbeddingTransformer)}: invalid node domain {domains[i]} in the saved model.");
            }
            var source = EmbeddingTable.Load(reader);
            var target = bipartite ? EmbeddingTable.Load(reader) : source;
            var context = stateVersion >= 2 && reader.ReadBoolean() ? EmbeddingTable.Load(reader) : null;
            return new NodeEmbeddingTransformer(component, source, target, bipartite, columns, domains, context, summary: null);
        }
    }
}
