using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Graph;
using Embeddings.Infrastructure;
using Embeddings.SkipGram;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.GraphWalkTransformer))]

namespace Embeddings
{
    /// <summary>
    /// Builds a graph from edge rows (<c>mlContext.Embeddings().GraphWalk(...)</c>) and returns a
    /// <see cref="GraphWalkTransformer"/> that draws DeepWalk or node2vec walks: row to row (a start-node column to a
    /// walk column), or as a whole corpus with <see cref="GraphWalkTransformer.GenerateWalks"/>.
    /// </summary>
    public sealed class GraphWalkEstimator : IEstimator<GraphWalkTransformer>
    {
        internal const string ComponentName = "GraphWalk";
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Settings of <see cref="GraphWalkEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>Column of edge sources: Text, Key&lt;UInt32&gt; with key values, or integer ids. Required.</summary>
            public string SourceColumnName { get; set; } = "";

            /// <summary>Column of edge targets. Required.</summary>
            public string TargetColumnName { get; set; } = "";

            /// <summary>Optional column of positive, finite edge weights. Null: every edge weighs 1.</summary>
            public string? WeightColumnName { get; set; }

            /// <summary>Edges are one-way when true. Default false.</summary>
            public bool Directed { get; set; }

            /// <summary>Keep edges from a node to itself. Default true.</summary>
            public bool KeepSelfLoops { get; set; } = true;

            /// <summary>Edges with invalid weights are rejected (default) or dropped and counted.</summary>
            public InvalidEdgeWeightHandling InvalidWeights { get; set; } = InvalidEdgeWeightHandling.Reject;

            /// <summary>Name of the output walk column (a variable-length vector of Text: the node ids). Required.</summary>
            public string OutputColumnName { get; set; } = "";

            /// <summary>Name of the start-node column. Null means <see cref="SourceColumnName"/>.</summary>
            public string? InputColumnName { get; set; }

            /// <summary>Return parameter p (1/p weighs a step back). Default 1; &gt; 0.</summary>
            public double ReturnParameter { get; set; } = 1;

            /// <summary>In-out parameter q (1/q weighs a step away from the previous node's neighbourhood). Default 1; &gt; 0.</summary>
            public double InOutParameter { get; set; } = 1;

            /// <summary>Nodes per walk, the start included. Default 80; at least 2.</summary>
            public int WalkLength { get; set; } = 80;

            /// <summary>How second-order steps are drawn. Default Auto.</summary>
            public SecondOrderSampling SecondOrderSampling { get; set; } = SecondOrderSampling.Auto;

            /// <summary>Random seed. Default null: drawn from the MLContext.</summary>
            public int? Seed { get; set; }
        }

        internal GraphWalkEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            GraphEmbeddingTraining.ValidateEdgeColumns(ComponentName, options.SourceColumnName, options.TargetColumnName, options.WeightColumnName);
            if (string.IsNullOrWhiteSpace(options.OutputColumnName))
                throw new ArgumentException($"{ComponentName}: OutputColumnName is empty; name the walk column.", nameof(options.OutputColumnName));
            if (options.InputColumnName is not null && string.IsNullOrWhiteSpace(options.InputColumnName))
                throw new ArgumentException($"{ComponentName}: InputColumnName is blank; name the start-node column, or leave it null to start from SourceColumnName.", nameof(options.InputColumnName));
            GraphEmbeddingTraining.ValidateWalks(ComponentName, options.WalkLength, options.InvalidWeights, options.ReturnParameter, options.InOutParameter);
            if (!Enum.IsDefined(options.SecondOrderSampling))
                throw new ArgumentOutOfRangeException(nameof(options.SecondOrderSampling), options.SecondOrderSampling, $"{ComponentName}: SecondOrderSampling = {(int)options.SecondOrderSampling} is invalid; use Auto, Precomputed or Rejection.");
            _options = options;
        }

        private string InputColumn => _options.InputColumnName ?? _options.SourceColumnName;

        /// <summary>Builds the graph from the edge rows of <paramref name="input"/>.</summary>
        public GraphWalkTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.Seed ?? host.Rand.Next();
            var builder = new GraphBuilder(_options.Directed, bipartite: false, _options.KeepSelfLoops, _options.InvalidWeights);
            GraphEdgeReader.Read(input, _options.SourceColumnName, _options.TargetColumnName, _options.WeightColumnName, builder, ComponentName);
            var graph = builder.Build(out _);
            return new GraphWalkTransformer(graph, new InputOutputColumnPair(_options.OutputColumnName, InputColumn), _options.ReturnParameter, _options.InOutParameter,
                _options.WalkLength, _options.SecondOrderSampling, seed);
        }

        /// <summary>The input's columns and the walk column (a vector of Text).</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            IdColumns.CheckId(inputSchema, _options.SourceColumnName, ComponentName);
            IdColumns.CheckId(inputSchema, _options.TargetColumnName, ComponentName);
            if (_options.WeightColumnName is not null)
                IdColumns.CheckWeight(inputSchema, _options.WeightColumnName, ComponentName);
            IdColumns.CheckId(inputSchema, InputColumn, ComponentName);
            return SchemaChecks.Append(inputSchema, new[] { (_options.OutputColumnName, (DataViewType)new VectorDataViewType(TextDataViewType.Instance)) });
        }
    }

    /// <summary>
    /// Random walks over a fitted graph. As a transformer it maps a start-node column to a walk column (a variable-length
    /// vector of node ids as Text; empty for a node not in the graph), the walk of row r drawn from the stream (seed, r).
    /// <see cref="GenerateWalks"/> streams the whole walk corpus for <see cref="SkipGramEmbeddingEstimator"/>.
    /// </summary>
    public sealed class GraphWalkTransformer : RowMappingTransformer, ILoadableTransformer<GraphWalkTransformer>
    {
        private readonly CsrGraph _graph;
        private readonly InputOutputColumnPair _column;
        private readonly RandomWalker _walker;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _nodeIndex;
        private readonly SecondOrderSampling _sampling;

        internal GraphWalkTransformer(CsrGraph graph, InputOutputColumnPair column, double p, double q, int walkLength, SecondOrderSampling sampling, int seed)
        {
            _graph = graph;
            _column = column;
            ReturnParameter = p;
            InOutParameter = q;
            WalkLength = walkLength;
            _sampling = sampling;
            Seed = seed;
            _walker = new RandomWalker(graph, p, q, sampling);
            var index = new Dictionary<string, int>(graph.NodeCount, StringComparer.Ordinal);
            for (int i = 0; i < graph.NodeCount; i++)
                index[graph.NodeKeys[i]] = i;
            _nodeIndex = index.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Nodes of the graph.</summary>
        public int NodeCount => _graph.NodeCount;

        /// <summary>Stored (directed) edges of the graph.</summary>
        public long EdgeCount => _graph.EdgeCount;

        /// <summary>The node ids, in node order.</summary>
        public IReadOnlyList<string> Nodes => _graph.NodeKeys;

        /// <summary>Return parameter p.</summary>
        public double ReturnParameter { get; }

        /// <summary>In-out parameter q.</summary>
        public double InOutParameter { get; }

        /// <summary>Nodes per walk, the start included (walks end early at nodes without out-edges).</summary>
        public int WalkLength { get; }

        /// <summary>The seed of every walk's random stream.</summary>
        public int Seed { get; }

        /// <summary>
        /// The walk corpus as a streamed <see cref="IDataView"/> with one column <c>Walk</c> (a vector of Text):
        /// <paramref name="walksPerNode"/> rounds, each starting one walk at every node in a shuffled order. Walks are
        /// drawn as cursors move, never stored; every cursor sees the same walks.
        /// </summary>
        /// <param name="walksPerNode">Walks started at every node; at least 1.</param>
        public IDataView GenerateWalks(int walksPerNode)
        {
            if (walksPerNode < 1)
                throw new ArgumentOutOfRangeException(nameof(walksPerNode), walksPerNode, $"walksPerNode = {walksPerNode} is invalid; use 1 or more (10 is the node2vec default).");
            return new WalkDataView(this, walksPerNode);
        }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            var item = SchemaChecks.RequireItemColumn(inputSchema, _column.InputColumnName, GraphWalkEstimator.ComponentName, IdColumns.IdAdvice);
            if (item.IsVector)
                throw SchemaChecks.TypeMismatch(GraphWalkEstimator.ComponentName, _column.InputColumnName, "a single start node", inputSchema[item.Index].Type.ToString() ?? "a vector", IdColumns.IdAdvice);
            var column = inputSchema[item.Index];
            var type = new VectorDataViewType(TextDataViewType.Instance);
            return new[]
            {
                new AppendedColumn(_column.OutputColumnName, type, new[] { item.Index }, row => WalkGetter(row, column)),
            };
        }

        private ValueGetter<VBuffer<ReadOnlyMemory<char>>> WalkGetter(DataViewRow row, DataViewSchema.Column column)
        {
            var readNode = IdColumns.GetIdGetter(row, column);
            var walk = new int[WalkLength];
            return (ref VBuffer<ReadOnlyMemory<char>> destination) =>
            {
                int length = 0;
                if (_nodeIndex.TryGetValue(readNode(), out int start))
                {
                    var random = new TrainingRandom((ulong)Seed, WalkCorpus.WalkStreamBase + (ulong)row.Position);
                    length = _walker.Walk(start, walk, ref random);
                }
                WriteWalk(walk.AsSpan(0, length), ref destination);
            };
        }

        internal void WriteWalk(ReadOnlySpan<int> walk, ref VBuffer<ReadOnlyMemory<char>> destination)
        {
            var editor = VBufferEditor.Create(ref destination, walk.Length);
            for (int i = 0; i < walk.Length; i++)
                editor.Values[i] = _graph.NodeKeys[walk[i]].AsMemory();
            destination = editor.Commit();
        }

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<GraphWalkTransformer>.LoaderId => "Embeddings.GraphWalk";

        static int ILoadableTransformer<GraphWalkTransformer>.StateVersion => 1;

        static IReadOnlyList<string> ILoadableTransformer<GraphWalkTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.GraphWalkTransformer, Embeddings.Estimators"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write(_column.OutputColumnName);
            writer.Write(_column.InputColumnName);
            writer.Write(ReturnParameter);
            writer.Write(InOutParameter);
            writer.Write(WalkLength);
            writer.Write((int)_sampling);
            writer.Write(Seed);
            _graph.Write(writer);
        }

        static GraphWalkTransformer ILoadableTransformer<GraphWalkTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var column = new InputOutputColumnPair(reader.ReadString(), reader.ReadString());
            double p = reader.ReadDouble();
            double q = reader.ReadDouble();
            int walkLength = reader.ReadInt32();
            var sampling = (SecondOrderSampling)reader.ReadInt32();
            int seed = reader.ReadInt32();
            var graph = CsrGraph.Read(reader);
            return new GraphWalkTransformer(graph, column, p, q, walkLength, sampling, seed);
        }

        /// <summary>The streamed walk corpus of <see cref="GenerateWalks"/>.</summary>
        private sealed class WalkDataView : IDataView
        {
            private readonly GraphWalkTransformer _owner;
            private readonly int _walksPerNode;
            private readonly int[][] _orders;

            public WalkDataView(GraphWalkTransformer owner, int walksPerNode)
            {
                _owner = owner;
                _walksPerNode = walksPerNode;
                _orders = Enumerable.Range(0, walksPerNode).Select(r => WalkCorpus.Permutation(owner.NodeCount, owner.Seed, r)).ToArray();
                var builder = new DataViewSchema.Builder();
                builder.AddColumn("Walk", new VectorDataViewType(TextDataViewType.Instance));
                Schema = builder.ToSchema();
            }

            public bool CanShuffle => false;

            public DataViewSchema Schema { get; }

            public long? GetRowCount() => (long)_owner.NodeCount * _walksPerNode;

            public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
                new WalkCursor(this, columnsNeeded.Any());

            public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
                new[] { GetRowCursor(columnsNeeded, rand) };

            private sealed class WalkCursor : DataViewRowCursor
            {
                private readonly WalkDataView _view;
                private readonly bool _active;
                private readonly int[] _walk;
                private long _position = -1;
                private int _length;

                public WalkCursor(WalkDataView view, bool active)
                {
                    _view = view;
                    _active = active;
                    _walk = new int[view._owner.WalkLength];
                }

                public override DataViewSchema Schema => _view.Schema;

                public override long Position => _position;

                public override long Batch => 0;

                public override bool MoveNext()
                {
                    if (_position + 1 >= _view.GetRowCount())
                        return false;
                    _position++;
                    if (_active)
                        _length = WalkCorpus.Walk(_view._owner._walker, _view._orders, _view._owner.Seed, _position, _walk);
                    return true;
                }

                public override bool IsColumnActive(DataViewSchema.Column column) => _active;

                public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
                {
                    if (!_active)
                        throw new InvalidOperationException("The Walk column is not active in this cursor; request it when creating the cursor.");
                    ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> value) => _view._owner.WriteWalk(_walk.AsSpan(0, _length), ref value);
                    return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"The Walk column is a vector of Text; it cannot be read as {typeof(TValue).Name}.");
                }

                public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);
            }
        }
    }
}
