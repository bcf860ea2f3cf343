using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.EndToEnd;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.EndToEndEmbeddingTransformer))]

namespace Embeddings
{
    /// <summary>
    /// The result of <see cref="EndToEndEmbeddingEstimator"/>: appends Score (the logit for binary classification, the
    /// prediction for regression) and, for binary classification, Probability (σ(Score)) and PredictedLabel (Score &gt; 0),
    /// the columns that <c>mlContext.BinaryClassification.Evaluate</c> and <c>mlContext.Regression.Evaluate</c> read.
    /// </summary>
    /// <remarks>
    /// <para>Keys are matched by their value text when both the training and the scored column carry key values (so a
    /// different <c>MapValueToKey</c> numbering is harmless), otherwise by key number. The missing key and keys the model
    /// does not know use the field's learned "missing" row; in a multi-valued field they are left out. Non-finite numeric
    /// features count as 0. Cursors never throw on values.</para>
    /// <para>The learned field embeddings are available as <see cref="EmbeddingTable"/>s (<see cref="GetFieldEmbeddings"/>), for
    /// <c>MostSimilar</c>, the recall layer and nearest-neighbour indexes.</para>
    /// </remarks>
    public sealed class EndToEndEmbeddingTransformer : RowMappingTransformer, ILoadableTransformer<EndToEndEmbeddingTransformer>
    {
        /// <summary>The score column's name: "Score".</summary>
        public const string ScoreColumnName = "Score";

        /// <summary>The probability column's name (binary classification): "Probability".</summary>
        public const string ProbabilityColumnName = "Probability";

        /// <summary>The predicted label column's name (binary classification): "PredictedLabel".</summary>
        public const string PredictedLabelColumnName = "PredictedLabel";

        private readonly FieldLayout _layout;
        private readonly NetworkParameters _parameters;

        internal EndToEndEmbeddingTransformer(FieldLayout layout, NetworkParameters parameters, EndToEndTrainingSummary? summary)
        {
            _layout = layout;
            _parameters = parameters;
            TrainingSummary = summary;
        }

        /// <summary>The trained network.</summary>
        public EndToEndArchitecture Architecture => _parameters.Shape.Architecture;

        /// <summary>The task the network was trained for.</summary>
        public EndToEndObjective Objective => _layout.Objective;

        /// <summary>The categorical field columns, in the order of the network's input.</summary>
        public IReadOnlyList<string> CategoricalColumnNames => _layout.Fields.Select(f => f.ColumnName).ToArray();

        /// <summary>The numeric feature column, or null.</summary>
        public string? NumericFeaturesColumnName => _layout.NumericColumn;

        /// <summary>Length of the field embeddings (0 for <see cref="EndToEndArchitecture.Wide"/>, which has none).</summary>
        public int EmbeddingDimension => _parameters.Shape.HasEmbeddings ? _parameters.Shape.Dimension : 0;

        /// <summary>What the training run did (null for a transformer loaded from a saved model).</summary>
        public EndToEndTrainingSummary? TrainingSummary { get; }

        internal NetworkParameters Parameters => _parameters;

        internal FieldLayout Layout => _layout;

        /// <summary>
        /// The learned embedding of every key of field <paramref name="columnName"/>, keyed by the key's value text (the key
        /// number as text when the training column had no key values); the "missing" row is left out.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is not a field, or the architecture has no embeddings.</exception>
        public EmbeddingTable GetFieldEmbeddings(string columnName)
        {
            ArgumentNullException.ThrowIfNull(columnName);
            int f = _layout.IndexOf(columnName);
            if (f < 0)
                throw new ArgumentOutOfRangeException(nameof(columnName), columnName,
                    $"{nameof(EndToEndEmbeddingTransformer)}: '{columnName}' is not a field of this model; its fields are {string.Join(", ", CategoricalColumnNames.Select(n => $"'{n}'"))}.");
            if (!_parameters.Shape.HasEmbeddings)
                throw new ArgumentOutOfRangeException(nameof(columnName), columnName,
                    $"{nameof(EndToEndEmbeddingTransformer)}: the {Architecture} architecture learns no embeddings; train another architecture to export field embeddings.");
            var spec = _layout.Fields[f];
            int d = _parameters.Shape.Dimension;
            var keys = new string[spec.KeyCount];
            for (int k = 1; k <= spec.KeyCount; k++)
                keys[k - 1] = spec.KeyTexts is not null && k <= spec.KeyTexts.Length ? spec.KeyTexts[k - 1] : k.ToString(CultureInfo.InvariantCulture);
            return new EmbeddingTable(keys, _parameters.Embeddings[f].AsSpan(d, spec.KeyCount * d), d);
        }

        internal static IEnumerable<(string Name, DataViewType Type)> OutputColumns(EndToEndObjective objective)
        {
            yield return (ScoreColumnName, NumberDataViewType.Single);
            if (objective == EndToEndObjective.BinaryClassification)
            {
                yield return (ProbabilityColumnName, NumberDataViewType.Single);
                yield return (PredictedLabelColumnName, BooleanDataViewType.Instance);
            }
        }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            _layout.CheckCompatible(inputSchema, "scored", needsLabel: false);
            var maps = _layout.KeyRowMaps(inputSchema);
            var dependencies = _layout.Fields.Select(f => inputSchema[f.ColumnName].Index).ToList();
            if (_layout.NumericColumn is not null)
                dependencies.Add(inputSchema[_layout.NumericColumn].Index);
            // The three columns of one row share one forward pass: one scorer per input row, computed once per position.
            var scorers = new System.Runtime.CompilerServices.ConditionalWeakTable<DataViewRow, RowScorer>();
            RowScorer ScorerOf(DataViewRow row) => scorers.GetValue(row, r => new RowScorer(this, r, maps));
            var columns = new List<AppendedColumn>
            {
                new(ScoreColumnName, NumberDataViewType.Single, dependencies, row =>
                {
                    var scorer = ScorerOf(row);
                    ValueGetter<float> getter = (ref float value) => value = scorer.Logit();
                    return getter;
                }),
            };
            if (_layout.Objective == EndToEndObjective.BinaryClassification)
            {
                columns.Add(new(ProbabilityColumnName, NumberDataViewType.Single, dependencies, row =>
                {
                    var scorer = ScorerOf(row);
                    ValueGetter<float> getter = (ref float value) => value = Sigmoid(scorer.Logit());
                    return getter;
                }));
                columns.Add(new(PredictedLabelColumnName, BooleanDataViewType.Instance, dependencies, row =>
                {
                    var scorer = ScorerOf(row);
                    ValueGetter<bool> getter = (ref bool value) => value = scorer.Logit() > 0;
                    return getter;
                }));
            }
            return columns;
        }

        private static float Sigmoid(float z) => (float)(1 / (1 + Math.Exp(-(double)z)));

        /// <summary>
        /// Scores the current row of one cursor with buffers of its own (nothing allocated per row), once per row position:
        /// the Score, Probability and PredictedLabel getters of a row share it. A row whose position is not set (-1) is
        /// scored on every call.
        /// </summary>
        private sealed class RowScorer
        {
            private readonly DataViewRow _row;
            private long _position = -1;
            private float _logit;
            private readonly NetworkParameters _parameters;
            private readonly FieldRows _rows;
            private readonly FieldRows.RowReader _reader;
            private readonly BlockWorkspace _workspace;

            public RowScorer(EndToEndEmbeddingTransformer owner, DataViewRow row, int[][] maps)
            {
                _row = row;
                _parameters = owner._parameters;
                _rows = new FieldRows(owner._layout);
                _reader = new FieldRows.RowReader(row, owner._layout, maps);
                _workspace = new BlockWorkspace(_parameters.Shape, 1) { RowIndices = [0], RowStart = 0, RowCount = 1 };
            }

            public float Logit()
            {
                long position = _row.Position;
                if (position >= 0 && position == _position)
                    return _logit;
                _rows.Clear();
                _reader.Append(_rows, 0);
                EndToEndNetwork.Forward(_parameters, _rows, _workspace);
                _logit = _workspace.Logits[0];
                _position = position;
                return _logit;
            }
        }

        // Persistence (docs/persistence.md): never change the loader id; bump the state version when the layout changes.
        static string ILoadableTransformer<EndToEndEmbeddingTransformer>.LoaderId => "Embeddings.EndToEnd";

        static int ILoadableTransformer<EndToEndEmbeddingTransformer>.StateVersion => 1;

        static IReadOnlyList<string> ILoadableTransformer<EndToEndEmbeddingTransformer>.LegacyTypeNames { get; } = [];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            var shape = _parameters.Shape;
            writer.Write((int)shape.Architecture);
            writer.Write(shape.Dimension);
            writer.Write(shape.DenseLayers.Length);
            foreach (var (i, o) in shape.DenseLayers)
            {
                writer.Write(i);
                writer.Write(o);
            }
            writer.Write(shape.ResidualUnits);
            _layout.Write(writer);
            _parameters.Write(writer);
        }

        static EndToEndEmbeddingTransformer ILoadableTransformer<EndToEndEmbeddingTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            const string what = nameof(EndToEndEmbeddingTransformer);
            var architecture = (EndToEndArchitecture)reader.ReadInt32();
            if (!Enum.IsDefined(architecture))
                throw new FormatException($"{what}: unknown architecture {(int)architecture} in the saved model.");
            int dimension = reader.ReadInt32();
            if (dimension is < 1 or > 1024)
                throw new FormatException($"{what}: invalid embedding dimension {dimension} in the saved model.");
            int layerCount = reader.ReadInt32();
            if (layerCount is < 0 or > 256)
                throw new FormatException($"{what}: invalid layer count {layerCount} in the saved model.");
            var layers = new (int In, int Out)[layerCount];
            for (int l = 0; l < layerCount; l++)
            {
                layers[l] = (reader.ReadInt32(), reader.ReadInt32());
                if (layers[l].In is < 1 or > 1 << 20 || layers[l].Out is < 1 or > 1 << 20)
                    throw new FormatException($"{what}: invalid layer size {layers[l].In} x {layers[l].Out} in the saved model.");
            }
            int residualUnits = reader.ReadInt32();
            var layout = FieldLayout.Read(reader);
            int[] hidden = architecture is EndToEndArchitecture.WideAndDeep or EndToEndArchitecture.FactorizationMachineNeuralNetwork
                ? layers.Take(Math.Max(0, layerCount - 1)).Select(l => l.Out).ToArray()
                : [];
            int residualHidden = architecture == EndToEndArchitecture.DeepCrossing && layerCount > 0 ? layers[0].Out : 1;
            var shape = new NetworkShape(architecture, layout.Fields.Select(f => f.Rows).ToArray(), dimension, layout.NumericDimension,
                layout.Crosses.Length > 0, layout.CrossHashBits, hidden, residualUnits, residualHidden);
            if (!shape.DenseLayers.SequenceEqual(layers) || shape.ResidualUnits != (architecture == EndToEndArchitecture.DeepCrossing ? residualUnits : 0))
                throw new FormatException($"{what}: the saved layer sizes do not fit the {architecture} architecture; the model is damaged.");
            var parameters = NetworkParameters.Read(reader, shape);
            return new EndToEndEmbeddingTransformer(layout, parameters, null);
        }
    }
}
