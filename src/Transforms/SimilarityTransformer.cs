using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;
using Embeddings.Kernels;
using Microsoft.ML;
using Microsoft.ML.Data;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.SimilarityTransformer))]

namespace Embeddings
{
    /// <summary>
    /// Appends a Single column with the similarity of two known-size float vector columns of the same length: cosine
    /// (0 when either vector is all zeros), dot product, or Euclidean (minus the distance, so that larger is always
    /// closer, as <see cref="SimilarityMetric.Euclidean"/> and the nearest-neighbour searches report it).
    /// Created by <see cref="SimilarityEstimator"/> (<c>mlContext.Embeddings().Similarity(...)</c>).
    /// </summary>
    public sealed class SimilarityTransformer : RowMappingTransformer, ILoadableTransformer<SimilarityTransformer>
    {
        internal const string ComponentName = "Similarity";
        private readonly bool _positiveDistance;

        internal SimilarityTransformer(string outputColumnName, string leftColumnName, string rightColumnName, SimilarityMetric metric)
            : this(outputColumnName, leftColumnName, rightColumnName, metric, positiveDistance: false)
        {
        }

        private SimilarityTransformer(string outputColumnName, string leftColumnName, string rightColumnName, SimilarityMetric metric, bool positiveDistance)
        {
            _positiveDistance = positiveDistance;
            OutputColumnName = outputColumnName;
            LeftColumnName = leftColumnName;
            RightColumnName = rightColumnName;
            Metric = metric;
        }

        /// <summary>Name of the output Single column.</summary>
        public string OutputColumnName { get; }

        /// <summary>Name of the first vector column.</summary>
        public string LeftColumnName { get; }

        /// <summary>Name of the second vector column.</summary>
        public string RightColumnName { get; }

        /// <summary>The metric.</summary>
        public SimilarityMetric Metric { get; }

        internal static int CheckVector(DataViewSchema schema, string name)
        {
            var column = SchemaChecks.FindColumn(schema, name, ComponentName);
            if (column.Type is not VectorDataViewType { IsKnownSize: true } vector || vector.ItemType != NumberDataViewType.Single)
                throw SchemaChecks.TypeMismatch(ComponentName, name, "a known-size vector of Single", column.Type.ToString() ?? column.Type.RawType.Name, "Produce it with ApplyEmbedding, SkipGram or another embedding transform.");
            return vector.Size;
        }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            int left = CheckVector(inputSchema, LeftColumnName);
            int right = CheckVector(inputSchema, RightColumnName);
            if (left != right)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{ComponentName}: columns '{LeftColumnName}' ({left} values) and '{RightColumnName}' ({right} values) differ in length; compare vectors of the same embedding dimension.");
            var leftColumn = inputSchema[LeftColumnName];
            var rightColumn = inputSchema[RightColumnName];
            return new[]
            {
                new AppendedColumn(OutputColumnName, NumberDataViewType.Single, new[] { leftColumn.Index, rightColumn.Index }, row => Getter(row, leftColumn, rightColumn)),
            };
        }

        private ValueGetter<float> Getter(DataViewRow row, DataViewSchema.Column leftColumn, DataViewSchema.Column rightColumn)
        {
            var left = row.GetGetter<VBuffer<float>>(leftColumn);
            var right = row.GetGetter<VBuffer<float>>(rightColumn);
            VBuffer<float> a = default, b = default;
            float[] denseA = Array.Empty<float>(), denseB = Array.Empty<float>();
            return (ref float value) =>
            {
                left(ref a);
                right(ref b);
                var x = Dense(ref a, ref denseA);
                var y = Dense(ref b, ref denseB);
                value = Metric switch
                {
                    SimilarityMetric.Cosine => Cosine(x, y),
                    SimilarityMetric.DotProduct => VectorMath.Dot(x, y),
                    _ => _positiveDistance ? MathF.Sqrt(VectorMath.SquaredDistance(x, y)) : -MathF.Sqrt(VectorMath.SquaredDistance(x, y)),
                };
            };
        }

        private static float Cosine(ReadOnlySpan<float> x, ReadOnlySpan<float> y)
        {
            float nx = VectorMath.Norm(x), ny = VectorMath.Norm(y);
            return nx == 0 || ny == 0 ? 0 : VectorMath.ClampCosine(VectorMath.Dot(x, y) / (nx * ny));
        }

        private static ReadOnlySpan<float> Dense(ref VBuffer<float> buffer, ref float[] scratch)
        {
            if (buffer.IsDense)
                return buffer.GetValues();
            if (scratch.Length != buffer.Length)
                scratch = new float[buffer.Length];
            buffer.CopyTo(scratch);
            return scratch;
        }

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        static string ILoadableTransformer<SimilarityTransformer>.LoaderId => "Embeddings.Similarity";

        // Version 2: Euclidean is -distance, and the state ends with a flag for +distance (models first saved with version 1,
        // which wrote +distance, keep their outputs).
        static int ILoadableTransformer<SimilarityTransformer>.StateVersion => 2;

        static IReadOnlyList<string> ILoadableTransformer<SimilarityTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.SimilarityTransformer, Embeddings.Transforms"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write(OutputColumnName);
            writer.Write(LeftColumnName);
            writer.Write(RightColumnName);
            writer.Write((int)Metric);
            writer.Write(_positiveDistance);
        }

        static SimilarityTransformer ILoadableTransformer<SimilarityTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            string output = reader.ReadString(), left = reader.ReadString(), right = reader.ReadString();
            var metric = (SimilarityMetric)reader.ReadInt32();
            if (!Enum.IsDefined(metric))
                throw new FormatException($"{nameof(SimilarityTransformer)}: unknown metric {(int)metric} in the saved model.");
            // Version 1 had no flag: its Euclidean feature was +distance, and a model loaded from it keeps that when saved again.
            bool positiveDistance = stateVersion == 1 ? metric == SimilarityMetric.Euclidean : reader.ReadBoolean();
            return new SimilarityTransformer(output, left, right, metric, positiveDistance);
        }
    }

    /// <summary>
    /// The similarity of two embedding columns as a feature (<c>mlContext.Embeddings().Similarity(...)</c>). Nothing is
    /// trained: <see cref="Fit"/> validates the schema.
    /// </summary>
    public sealed class SimilarityEstimator : IEstimator<SimilarityTransformer>
    {
        private readonly SimilarityTransformer _transformer;

        internal SimilarityEstimator(string outputColumnName, string leftColumnName, string rightColumnName, SimilarityMetric metric)
        {
            const string c = SimilarityTransformer.ComponentName;
            if (string.IsNullOrWhiteSpace(outputColumnName))
                throw new ArgumentException($"{c}: outputColumnName is empty.", nameof(outputColumnName));
            if (string.IsNullOrWhiteSpace(leftColumnName) || string.IsNullOrWhiteSpace(rightColumnName))
                throw new ArgumentException($"{c}: name both vector columns to compare.", nameof(leftColumnName));
            if (!Enum.IsDefined(metric))
                throw new ArgumentOutOfRangeException(nameof(metric), metric, $"{c}: metric = {(int)metric} is invalid; use Cosine, DotProduct or Euclidean.");
            _transformer = new SimilarityTransformer(outputColumnName, leftColumnName, rightColumnName, metric);
        }

        /// <summary>Validates the input schema and returns the transformer.</summary>
        public SimilarityTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            _transformer.GetOutputSchema(input.Schema);
            return _transformer;
        }

        /// <summary>The input's columns and the Single similarity column.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            foreach (string name in new[] { _transformer.LeftColumnName, _transformer.RightColumnName })
            {
                var column = SchemaChecks.FindColumn(inputSchema, name, SimilarityTransformer.ComponentName);
                if (column.Kind != SchemaShape.Column.VectorKind.Vector || column.ItemType != NumberDataViewType.Single)
                    throw SchemaChecks.TypeMismatch(SimilarityTransformer.ComponentName, name, "a known-size vector of Single", SchemaChecks.Describe(column), "Produce it with ApplyEmbedding, SkipGram or another embedding transform.");
            }
            return SchemaChecks.Append(inputSchema, new[] { (_transformer.OutputColumnName, (DataViewType)NumberDataViewType.Single) });
        }
    }
}
