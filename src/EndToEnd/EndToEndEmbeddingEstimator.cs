using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Embeddings.EndToEnd;
using Embeddings.Infrastructure;
using Microsoft.ML;

namespace Embeddings
{
    /// <summary>
    /// Trains an end-to-end embedding model: one embedding table per categorical field, learned together with the network
    /// that uses them (wide, factorization machine, Wide&amp;Deep, Deep Crossing or FNN; see <see cref="EndToEndArchitecture"/>).
    /// <c>mlContext.Embeddings().WideAndDeep(...)</c> and its siblings.
    /// </summary>
    /// <remarks>
    /// <para><b>Inputs.</b> Categorical fields are <c>Key&lt;UInt32&gt;</c> columns (one embedding table each) or vectors of
    /// keys (a multi-valued field such as genres: the deep part takes the mean of the row's embeddings, the wide part the
    /// sum of their weights). Dense numeric features are one known-size <c>Vector&lt;Single&gt;</c> column. The wide part
    /// also has a weight per hashed value of each <see cref="Options.WideCrosses">field cross</see>. The missing key (0)
    /// and keys beyond the training key count share one learned "missing" row per field.</para>
    /// <para><b>Training.</b> Mini-batch Adam; embedding rows (and wide weights) are updated lazily, only when a batch uses
    /// them. Each batch is split into fixed blocks of rows whose gradients are summed in a fixed order, so with a seed the
    /// result does not depend on the number of threads, and two runs give bit-identical models. With validation data
    /// (<see cref="Fit(IDataView, IDataView)"/>) the model keeps the parameters of the best validation epoch and stops after
    /// <see cref="Options.EarlyStoppingPatience"/> epochs without improvement.</para>
    /// </remarks>
    public sealed class EndToEndEmbeddingEstimator : IEstimator<EndToEndEmbeddingTransformer>
    {
        private const string ComponentName = nameof(EndToEndEmbeddingEstimator);
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Default values of <see cref="Options"/>.</summary>
        public static class Defaults
        {
            /// <summary>Default <see cref="Options.EmbeddingDimension"/>: 16.</summary>
            public const int EmbeddingDimension = 16;

            /// <summary>Default <see cref="Options.NumberOfEpochs"/>: 8.</summary>
            public const int NumberOfEpochs = 8;

            /// <summary>Default <see cref="Options.BatchSize"/>: 256.</summary>
            public const int BatchSize = 256;

            /// <summary>Default <see cref="Options.LearningRate"/>: 0.001.</summary>
            public const float LearningRate = 1e-3f;

            /// <summary>Default <see cref="Options.InitialStandardDeviation"/>: 0.01.</summary>
            public const float InitialStandardDeviation = 0.01f;

            /// <summary>Default <see cref="Options.CrossHashBits"/>: 18 (262,144 weights).</summary>
            public const int CrossHashBits = 18;

            /// <summary>Default <see cref="Options.ResidualUnitCount"/>: 2.</summary>
            public const int ResidualUnitCount = 2;

            /// <summary>Default <see cref="Options.ResidualHiddenSize"/>: 256.</summary>
            public const int ResidualHiddenSize = 256;
        }

        /// <summary>Settings of <see cref="EndToEndEmbeddingEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>The network. Default <see cref="EndToEndArchitecture.WideAndDeep"/>.</summary>
            public EndToEndArchitecture Architecture { get; set; } = EndToEndArchitecture.WideAndDeep;

            /// <summary>The task and loss. Default <see cref="EndToEndObjective.BinaryClassification"/>.</summary>
            public EndToEndObjective Objective { get; set; } = EndToEndObjective.BinaryClassification;

            /// <summary>The label column: Boolean (or Single, positive when &gt; 0) for binary classification, Single for regression. Default "Label". Rows with a NaN label are skipped.</summary>
            public string LabelColumnName { get; set; } = "Label";

            /// <summary>
            /// The categorical fields: <c>Key&lt;UInt32&gt;</c> columns, or vectors of keys for multi-valued fields. At least
            /// one unless the architecture is <see cref="EndToEndArchitecture.Wide"/> with numeric features.
            /// </summary>
            public List<string> CategoricalColumnNames { get; set; } = new();

            /// <summary>Dense numeric features: a known-size <c>Vector&lt;Single&gt;</c> column, or null (default) for none.</summary>
            public string? NumericFeaturesColumnName { get; set; }

            /// <summary>
            /// Field crosses of the wide part, each a list of two or more names from <see cref="CategoricalColumnNames"/>
            /// (e.g. gender x genres). Every combination of the row's keys of those fields (one per scalar field, each key
            /// of a multi-valued field) is hashed into a table of 2^<see cref="CrossHashBits"/> weights. Default none.
            /// Ignored by no architecture: architectures without a wide part refuse crosses.
            /// </summary>
            public List<string[]> WideCrosses { get; set; } = new();

            /// <summary>Number of bits of the hashed cross table. Default 18; 1 to 30.</summary>
            public int CrossHashBits { get; set; } = Defaults.CrossHashBits;

            /// <summary>Length of every field's embedding vector. Default 16; 1 to 1024.</summary>
            public int EmbeddingDimension { get; set; } = Defaults.EmbeddingDimension;

            /// <summary>
            /// Hidden ReLU layer sizes of the deep part of <see cref="EndToEndArchitecture.WideAndDeep"/> and
            /// <see cref="EndToEndArchitecture.FactorizationMachineNeuralNetwork"/>. Default 256, 128; each 1 to 65,536; at least one layer.
            /// </summary>
            public int[] HiddenLayerSizes { get; set; } = [256, 128];

            /// <summary>Number of residual units of <see cref="EndToEndArchitecture.DeepCrossing"/>. Default 2; 1 to 64.</summary>
            public int ResidualUnitCount { get; set; } = Defaults.ResidualUnitCount;

            /// <summary>Hidden size of each residual unit of <see cref="EndToEndArchitecture.DeepCrossing"/>. Default 256; 1 to 65,536.</summary>
            public int ResidualHiddenSize { get; set; } = Defaults.ResidualHiddenSize;

            /// <summary>Maximum passes over the training rows. Default 8; at least 1.</summary>
            public int NumberOfEpochs { get; set; } = Defaults.NumberOfEpochs;

            /// <summary>
            /// Epochs without improvement of the validation metric after which training stops (validation data only).
            /// Default 0: run every epoch, then keep the best one's parameters.
            /// </summary>
            public int EarlyStoppingPatience { get; set; }

            /// <summary>The validation figure that picks the best epoch. Null (default): AUC for binary classification, loss for regression.</summary>
            public EndToEndStoppingMetric? EarlyStoppingMetric { get; set; }

            /// <summary>Rows per mini-batch. Default 256; 1 to 1,048,576.</summary>
            public int BatchSize { get; set; } = Defaults.BatchSize;

            /// <summary>Adam's step size. Default 0.001; greater than 0 and at most 1.</summary>
            public float LearningRate { get; set; } = Defaults.LearningRate;

            /// <summary>Adam's β₁. Default 0.9; in [0, 1).</summary>
            public float Beta1 { get; set; } = 0.9f;

            /// <summary>Adam's β₂. Default 0.999; in [0, 1).</summary>
            public float Beta2 { get; set; } = 0.999f;

            /// <summary>Adam's ε. Default 1e-8; greater than 0.</summary>
            public float Epsilon { get; set; } = 1e-8f;

            /// <summary>
            /// True (default): embedding rows and wide weights, updated only when a batch uses them, first receive the updates
            /// that dense Adam would have made from their decaying momentum while they were not used (in closed form, one
            /// step's cost). Rare keys then learn as fast as under dense Adam; false gives plain lazy Adam, whose rare keys move
            /// about ten times less per gradient with the default β's.
            /// </summary>
            public bool SparseMomentumCatchUp { get; set; } = true;

            /// <summary>
            /// L2 penalty λ·p added to the gradient of every trained parameter when it is updated (embedding rows and wide
            /// weights when a batch uses them). Default 0; 0 or more.
            /// </summary>
            public float L2Regularization { get; set; }

            /// <summary>
            /// Decay of an exponential moving average of the parameters, which validation then scores and training keeps
            /// instead of the last step's parameters (Polyak-Ruppert averaging). After step t the average moves toward the
            /// parameters by 1/t for the first ⌊1/(1 − decay)⌋ steps (the plain mean of the iterates) and by 1 − decay after
            /// them. Averaging removes most of the step-to-step noise a constant learning rate leaves in the last iterate:
            /// convex models such as <see cref="EndToEndArchitecture.Wide"/> then end at the optimum's quality, with the
            /// larger learning rates that reach it in fewer epochs. Table rows are averaged when batches use them (a row
            /// holds its value in between), so the cost per step is that of the rows used and the dense layers. Default 0
            /// (off, the last iterate); otherwise in (0, 1), e.g. 0.998 (about the last 500 steps).
            /// </summary>
            public float WeightAveragingDecay { get; set; }

            /// <summary>Standard deviation of the normal random start of embedding rows. Default 0.01; greater than 0.</summary>
            public float InitialStandardDeviation { get; set; } = Defaults.InitialStandardDeviation;

            /// <summary>
            /// Pretrained starts of field embedding tables, by column name (a name from <see cref="CategoricalColumnNames"/>).
            /// Keys are matched by their key value text; keys missing from the table start at random. Not used by
            /// <see cref="EndToEndArchitecture.Wide"/>, which has no embeddings (refused there).
            /// </summary>
            public Dictionary<string, PretrainedFieldEmbedding> PretrainedEmbeddings { get; set; } = new(StringComparer.Ordinal);

            /// <summary>Seed of the initialisation and of the row order. Null (default) uses the MLContext's seed stream.</summary>
            public int? Seed { get; set; }

            /// <summary>Worker threads. Null (default): the processor count. Results do not depend on it.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>Receives each epoch's figures as it ends (also written to the MLContext log). Null (default): none.</summary>
            public IProgress<EndToEndEpoch>? Progress { get; set; }

            /// <summary>Stops training with an <see cref="OperationCanceledException"/> when cancelled (as <c>MLContext.CancelExecution</c> does). Default: none.</summary>
            public CancellationToken CancellationToken { get; set; }

            /// <summary>A copy whose lists and dictionaries are new (the tables and progress sink are shared).</summary>
            public Options Clone()
            {
                var copy = (Options)MemberwiseClone();
                copy.CategoricalColumnNames = new List<string>(CategoricalColumnNames);
                copy.WideCrosses = WideCrosses.Select(c => (string[])c.Clone()).ToList();
                copy.HiddenLayerSizes = (int[])HiddenLayerSizes.Clone();
                copy.PretrainedEmbeddings = new Dictionary<string, PretrainedFieldEmbedding>(PretrainedEmbeddings, StringComparer.Ordinal);
                return copy;
            }

            /// <summary>Checks every value, naming the option, the value and the fix.</summary>
            /// <exception cref="ArgumentOutOfRangeException">A value is invalid.</exception>
            public void Validate()
            {
                const string c = ComponentName;
                OptionChecks.Check(c, Enum.IsDefined(Architecture), nameof(Architecture), Architecture, "use a value of EndToEndArchitecture");
                OptionChecks.Check(c, Enum.IsDefined(Objective), nameof(Objective), Objective, "use a value of EndToEndObjective");
                OptionChecks.Check(c, !string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "name the label column");
                OptionChecks.Check(c, CategoricalColumnNames is not null, nameof(CategoricalColumnNames), null, "give a list (it may be empty for a wide model over numeric features)");
                OptionChecks.Check(c, WideCrosses is not null, nameof(WideCrosses), null, "give a list (empty for no crosses)");
                OptionChecks.Check(c, PretrainedEmbeddings is not null, nameof(PretrainedEmbeddings), null, "give a dictionary (empty for random starts)");
                OptionChecks.Check(c, HiddenLayerSizes is not null, nameof(HiddenLayerSizes), null, "give at least one layer size, e.g. [256, 128]");
                var names = new HashSet<string>(StringComparer.Ordinal);
                foreach (var name in CategoricalColumnNames!)
                {
                    OptionChecks.Check(c, !string.IsNullOrWhiteSpace(name), nameof(CategoricalColumnNames), name, "name every field column");
                    OptionChecks.Check(c, names.Add(name), nameof(CategoricalColumnNames), name, "name each field once");
                    OptionChecks.Check(c, name != LabelColumnName, nameof(CategoricalColumnNames), name, "the label column cannot also be a field");
                }
                if (NumericFeaturesColumnName is not null)
                {
                    OptionChecks.Check(c, NumericFeaturesColumnName.Trim().Length > 0, nameof(NumericFeaturesColumnName), NumericFeaturesColumnName, "name the numeric vector column or leave it null");
                    OptionChecks.Check(c, !names.Contains(NumericFeaturesColumnName) && NumericFeaturesColumnName != LabelColumnName,
                        nameof(NumericFeaturesColumnName), NumericFeaturesColumnName, "use a column that is neither a field nor the label");
                }
                bool hasEmbeddings = Architecture != EndToEndArchitecture.Wide;
                bool hasWide = Architecture is EndToEndArchitecture.Wide or EndToEndArchitecture.FactorizationMachine or EndToEndArchitecture.WideAndDeep;
                OptionChecks.Check(c, names.Count > 0 || (Architecture == EndToEndArchitecture.Wide && NumericFeaturesColumnName is not null),
                    nameof(CategoricalColumnNames), "(empty)", $"name at least one Key<UInt32> field column ({Architecture} embeds fields)");
                if (Architecture is EndToEndArchitecture.FactorizationMachine or EndToEndArchitecture.FactorizationMachineNeuralNetwork)
                    OptionChecks.Check(c, names.Count >= 2, nameof(CategoricalColumnNames), string.Join(", ", names), $"{Architecture} needs at least two fields to interact");
                foreach (var cross in WideCrosses!)
                {
                    string text = cross is null ? "null" : "[" + string.Join(", ", cross) + "]";
                    OptionChecks.Check(c, hasWide, nameof(WideCrosses), text, $"{Architecture} has no wide part; remove the crosses or use WideAndDeep, FactorizationMachine or Wide");
                    OptionChecks.Check(c, cross is not null && cross.Length >= 2, nameof(WideCrosses), text, "give two or more field names per cross");
                    OptionChecks.Check(c, cross!.All(names.Contains), nameof(WideCrosses), text, "cross only names listed in CategoricalColumnNames");
                    OptionChecks.Check(c, cross!.Distinct(StringComparer.Ordinal).Count() == cross!.Length, nameof(WideCrosses), text, "name each field once per cross");
                }
                OptionChecks.Check(c, CrossHashBits is >= 1 and <= 30, nameof(CrossHashBits), CrossHashBits, "use 1 to 30 (18 is the default)");
                OptionChecks.Check(c, EmbeddingDimension is >= 1 and <= 1024, nameof(EmbeddingDimension), EmbeddingDimension, "use 1 to 1024 (16 is usual)");
                if (Architecture is EndToEndArchitecture.WideAndDeep or EndToEndArchitecture.FactorizationMachineNeuralNetwork)
                {
                    OptionChecks.Check(c, HiddenLayerSizes!.Length >= 1, nameof(HiddenLayerSizes), "[]", "give at least one layer size, e.g. [256, 128]");
                    foreach (int size in HiddenLayerSizes)
                        OptionChecks.Check(c, size is >= 1 and <= 65536, nameof(HiddenLayerSizes), "[" + string.Join(", ", HiddenLayerSizes) + "]", "use sizes from 1 to 65,536");
                }
                OptionChecks.Check(c, ResidualUnitCount is >= 1 and <= 64, nameof(ResidualUnitCount), ResidualUnitCount, "use 1 to 64 (2 is the default)");
                OptionChecks.Check(c, ResidualHiddenSize is >= 1 and <= 65536, nameof(ResidualHiddenSize), ResidualHiddenSize, "use 1 to 65,536 (256 is the default)");
                OptionChecks.Check(c, NumberOfEpochs >= 1, nameof(NumberOfEpochs), NumberOfEpochs, "use 1 or more (8 is the default)");
                OptionChecks.Check(c, EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "use 0 (keep the best of all epochs) or more");
                if (EarlyStoppingMetric is { } metric)
                {
                    OptionChecks.Check(c, Enum.IsDefined(metric), nameof(EarlyStoppingMetric), metric, "use AreaUnderRocCurve or Loss");
                    OptionChecks.Check(c, metric != EndToEndStoppingMetric.AreaUnderRocCurve || Objective == EndToEndObjective.BinaryClassification,
                        nameof(EarlyStoppingMetric), metric, "regression has no AUC; use Loss");
                }
                OptionChecks.Check(c, BatchSize is >= 1 and <= 1 << 20, nameof(BatchSize), BatchSize, "use 1 to 1,048,576 (256 is the default)");
                OptionChecks.Check(c, LearningRate > 0 && LearningRate <= 1, nameof(LearningRate), LearningRate, "use a value in (0, 1] (0.001 is usual for Adam)");
                OptionChecks.Check(c, Beta1 >= 0 && Beta1 < 1, nameof(Beta1), Beta1, "use a value in [0, 1) (0.9 is usual)");
                OptionChecks.Check(c, Beta2 >= 0 && Beta2 < 1, nameof(Beta2), Beta2, "use a value in [0, 1) (0.999 is usual)");
                OptionChecks.Check(c, Epsilon > 0 && float.IsFinite(Epsilon), nameof(Epsilon), Epsilon, "use a small positive value (1e-8 is usual)");
                OptionChecks.Check(c, L2Regularization >= 0 && float.IsFinite(L2Regularization), nameof(L2Regularization), L2Regularization, "use 0 or a small positive value");
                OptionChecks.Check(c, WeightAveragingDecay >= 0 && WeightAveragingDecay < 1, nameof(WeightAveragingDecay), WeightAveragingDecay, "use 0 (off) or a value in (0, 1), e.g. 0.998");
                OptionChecks.Check(c, InitialStandardDeviation > 0 && float.IsFinite(InitialStandardDeviation), nameof(InitialStandardDeviation), InitialStandardDeviation, "use a small positive value (0.01 is the default)");
                OptionChecks.Check(c, NumberOfThreads is null or >= 1, nameof(NumberOfThreads), NumberOfThreads, "use 1 or more, or null for the processor count");
                foreach (var (field, start) in PretrainedEmbeddings!)
                {
                    OptionChecks.Check(c, hasEmbeddings, nameof(PretrainedEmbeddings), field, "the Wide architecture has no embeddings to start; use another architecture or remove the entry");
                    OptionChecks.Check(c, names.Contains(field), nameof(PretrainedEmbeddings), field, "use a name listed in CategoricalColumnNames");
                    OptionChecks.Check(c, start is not null, nameof(PretrainedEmbeddings), field, "give a PretrainedFieldEmbedding, or remove the entry");
                    OptionChecks.Check(c, start!.Table.Dimension == EmbeddingDimension, nameof(PretrainedEmbeddings),
                        $"{field} (dimension {start.Table.Dimension})",
                        $"the pretrained table's dimension must equal EmbeddingDimension = {EmbeddingDimension}; train the table with that dimension or set EmbeddingDimension = {start.Table.Dimension}");
                }
            }
        }

        /// <summary>Creates the estimator; prefer <c>mlContext.Embeddings().WideAndDeep(...)</c> and its siblings.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An option is invalid.</exception>
        public EndToEndEmbeddingEstimator(MLContext context, Options options)
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();
            _context = context;
            _options = options.Clone();
        }

        /// <summary>Trains on <paramref name="input"/> for <see cref="Options.NumberOfEpochs"/> epochs and keeps the last epoch's parameters.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
        /// <exception cref="InvalidOperationException">No training row has a label.</exception>
        public EndToEndEmbeddingTransformer Fit(IDataView input) => Fit(input, null);

        /// <summary>
        /// Trains on <paramref name="input"/>; after each epoch scores <paramref name="validation"/> (when given), keeps the
        /// best epoch's parameters and stops after <see cref="Options.EarlyStoppingPatience"/> epochs without improvement.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type, in either view.</exception>
        /// <exception cref="InvalidOperationException">No training row has a label.</exception>
        /// <exception cref="OperationCanceledException">The MLContext's execution was cancelled.</exception>
        public EndToEndEmbeddingTransformer Fit(IDataView input, IDataView? validation)
        {
            ArgumentNullException.ThrowIfNull(input);
            var layout = FieldLayout.FromSchema(input.Schema, _options, ComponentName);
            if (validation is not null)
                layout.CheckCompatible(validation.Schema, "validation");
            return EndToEndTraining.Train(_context, _options, layout, input, validation);
        }

        /// <summary>Checks the input columns and describes the output: Score (Single), and for binary classification Probability (Single) and PredictedLabel (Boolean).</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            FieldLayout.CheckShape(inputSchema, _options, ComponentName);
            return SchemaChecks.Append(inputSchema, EndToEndEmbeddingTransformer.OutputColumns(_options.Objective));
        }
    }
}
