using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Embeddings.EndToEnd.Sequences;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Embeddings
{
    /// <summary>The history encoder of <see cref="SequenceRecallEstimator"/>.</summary>
    public enum SequenceRecallArchitecture
    {
        /// <summary>
        /// YouTube-DNN candidate generation (Covington et al., 2016): the mean of the history's item embeddings, then a ReLU
        /// network (<see cref="SequenceRecallEstimator.Options.HiddenLayerSizes"/>) and a linear layer back to the dimension.
        /// Order-blind: the history is a bag of items.
        /// </summary>
        MeanPooling = 0,

        /// <summary>
        /// GRU4Rec-style (Hidasi et al., 2016): a GRU (hidden size = the embedding dimension) over the history's item
        /// embeddings, oldest first; its last state is the user vector. Sees the order of the items.
        /// </summary>
        Gru = 1,

        /// <summary>
        /// SASRec-style (Kang and McAuley, 2018): the history's item embeddings plus learned position embeddings (one per
        /// slot of the <see cref="SequenceRecallEstimator.Options.HistoryLength"/> window, the latest item always in the
        /// last slot), then <see cref="SequenceRecallEstimator.Options.AttentionBlocks"/> pre-norm transformer blocks
        /// (layer norm, causal multi-head self-attention with <see cref="SequenceRecallEstimator.Options.AttentionHeads"/>
        /// heads, residual; layer norm, point-wise ReLU feed-forward of width d, residual; dropout
        /// <see cref="SequenceRecallEstimator.Options.DropoutRate"/> on the input and on each sublayer's output) and a final
        /// layer norm; the latest position's output is the user vector. Sees the order of the items.
        /// </summary>
        SelfAttention = 2,
    }

    /// <summary>How <see cref="SequenceRecallEstimator"/> turns the users' sequences into training examples.</summary>
    public enum SequenceRecallTrainingMode
    {
        /// <summary>
        /// Every position t ≥ 1 of every user's sequence is one example: the encoder reads the up to
        /// <see cref="SequenceRecallEstimator.Options.HistoryLength"/> items before t and the softmax predicts the item at t.
        /// The encoder runs once per example. Every architecture.
        /// </summary>
        NextItem = 0,

        /// <summary>
        /// <see cref="SequenceRecallArchitecture.SelfAttention"/> only: SASRec's own training, with the full softmax
        /// (Kang and McAuley, 2018; Klenitskiy and Vasilev, 2023). Each user's targets (positions t ≥ 1) are cut, from the
        /// latest back, into non-overlapping runs of up to <see cref="SequenceRecallEstimator.Options.HistoryLength"/>; a
        /// run's window is its targets' predecessors (the item before the run's first target, then the run's targets but
        /// the last), left-padded. One causal pass over the window gives at every position the user vector of the items up
        /// to it, and the softmax cross-entropy is taken at every position (the loss is the mean over the batch's targets).
        /// Each position t ≥ 1 is a target exactly once per epoch, as with <see cref="NextItem"/>, but its history is the
        /// earlier items of its window (1 to HistoryLength of them), and a window costs one encoder pass instead of one per
        /// target. <see cref="SequenceRecallEstimator.Options.BatchSize"/> counts windows. The trained model is the same
        /// kind of model (the same parameters, saved the same way) and encodes histories as with <see cref="NextItem"/>.
        /// Needs the full softmax (catalogues of up to <see cref="SequenceRecallEstimator.Options.SampledSoftmaxThreshold"/> items).
        /// </summary>
        CausalWindows = 1,
    }

    /// <summary>The proposal distribution Q of <see cref="SequenceRecallEstimator"/>'s sampled softmax.</summary>
    public enum SampledSoftmaxProposal
    {
        /// <summary>
        /// Log-uniform (Zipfian) over the items' popularity rank k (0 = most frequent in training):
        /// Q(k) = log((k + 2) / (k + 1)) / log(items + 1), as TensorFlow's sampled softmax.
        /// </summary>
        LogUniform = 0,

        /// <summary>Each item in proportion to its number of training interactions (the unigram distribution).</summary>
        Popularity = 1,
    }

    /// <summary>Figures of one epoch of <see cref="SequenceRecallEstimator"/>, reported through <see cref="SequenceRecallEstimator.Options.Progress"/>.</summary>
    /// <param name="Epoch">1-based epoch.</param>
    /// <param name="TrainingLoss">Mean softmax cross-entropy over the epoch's examples (before each batch's update).</param>
    /// <param name="ValidationHitRate">HR@10 on the validation rows after the epoch; NaN without validation data.</param>
    /// <param name="Elapsed">Wall time of the epoch's training pass (validation excluded).</param>
    public sealed record SequenceRecallEpoch(int Epoch, double TrainingLoss, double ValidationHitRate, TimeSpan Elapsed);

    /// <summary>What a training run of <see cref="SequenceRecallEstimator"/> did.</summary>
    /// <param name="Epochs">Every epoch run, in order.</param>
    /// <param name="BestEpoch">The epoch whose parameters the model keeps: the best validation HR@10 (first of equals), or the last without validation data.</param>
    /// <param name="Examples">Training examples per epoch (positions t ≥ 1 of the users' sequences).</param>
    /// <param name="Users">Users in the training data.</param>
    /// <param name="Items">Items in the training data (the catalogue scored).</param>
    public sealed record SequenceRecallTrainingSummary(IReadOnlyList<SequenceRecallEpoch> Epochs, int BestEpoch, int Examples, int Users, int Items);

    /// <summary>
    /// End-to-end sequence recall models (<c>mlContext.Embeddings().SequenceRecall(...)</c>): from interaction rows (user,
    /// item, optional time), each user's time-ordered items; every position t ≥ 1 is an example whose last up to
    /// <see cref="Options.HistoryLength"/> earlier items predict the item at t, by a softmax over all items of
    /// u · W_i + b_i, where u is the encoded history (<see cref="SequenceRecallArchitecture"/>) and W_i, b_i the item's
    /// output embedding and bias. The transformer maps the user column to the user's vector and exposes the item and user
    /// tables for recall (<see cref="SequenceRecallTransformer"/>).
    /// </summary>
    /// <remarks>
    /// <para><b>Training.</b> Mini-batch Adam; input embeddings are updated lazily, when a batch uses them. Catalogues of
    /// up to <see cref="Options.SampledSoftmaxThreshold"/> items (default 100,000) train with the full softmax: the batch's
    /// logits over every item are computed (batch × items) and every item's output row is updated every step. Larger
    /// catalogues train with a sampled softmax: <see cref="Options.SampledNegativeCount"/> negatives per batch, drawn from
    /// <see cref="Options.SampledSoftmaxProposal"/> and shared by the batch's examples, with each logit corrected by
    /// −log(expected count of its item among the draws), so the gradient estimates the full softmax's; only the rows of
    /// the batch's targets and negatives are updated. Each batch is split into fixed blocks of 64 examples whose gradients
    /// are summed in a fixed order, so with a <see cref="Options.Seed"/> two runs are bit-identical whatever
    /// <see cref="Options.NumberOfThreads"/> is.</para>
    /// <para><b>Causal windows.</b> With <see cref="Options.TrainingMode"/> =
    /// <see cref="SequenceRecallTrainingMode.CausalWindows"/> (self-attention, full softmax) the examples are windows of up
    /// to <see cref="Options.HistoryLength"/> consecutive items, each trained at every position by one causal pass (SASRec's
    /// training); blocks of about 2,048 positions take the place of the blocks of 64 examples, with the same guarantee of
    /// bit-identical runs whatever the thread count.</para>
    /// <para><b>Validation.</b> <see cref="Fit(IDataView, IDataView)"/> ranks each validation row's item among all items
    /// the user has not interacted with in training (full ranking, HR@10) after every epoch and keeps the best epoch's
    /// parameters.</para>
    /// </remarks>
    public sealed class SequenceRecallEstimator : IEstimator<SequenceRecallTransformer>
    {
        internal const string ComponentName = "SequenceRecall";

        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Default values of <see cref="Options"/>.</summary>
        public static class Defaults
        {
            /// <summary>Default <see cref="Options.EmbeddingDimension"/>: 64.</summary>
            public const int EmbeddingDimension = 64;

            /// <summary>Default <see cref="Options.HistoryLength"/>: 20.</summary>
            public const int HistoryLength = 20;

            /// <summary>Default <see cref="Options.NumberOfEpochs"/>: 8.</summary>
            public const int NumberOfEpochs = 8;

            /// <summary>Default <see cref="Options.BatchSize"/>: 256.</summary>
            public const int BatchSize = 256;

            /// <summary>Default <see cref="Options.LearningRate"/>: 0.001.</summary>
            public const float LearningRate = 1e-3f;

            /// <summary>Default <see cref="Options.SampledSoftmaxThreshold"/>: 100,000 items.</summary>
            public const int SampledSoftmaxThreshold = 100_000;

            /// <summary>Default <see cref="Options.SampledNegativeCount"/>: 2,048.</summary>
            public const int SampledNegativeCount = 2048;
        }

        /// <summary>Settings of <see cref="SequenceRecallEstimator"/>.</summary>
        public sealed class Options : InteractionColumnsOptions
        {
            /// <summary>The output column of user vectors (the user column mapped; zeros for users unknown to the model). Default "UserVector".</summary>
            public string UserVectorColumnName { get; set; } = "UserVector";

            /// <summary>The history encoder. Default <see cref="SequenceRecallArchitecture.MeanPooling"/>.</summary>
            public SequenceRecallArchitecture Architecture { get; set; } = SequenceRecallArchitecture.MeanPooling;

            /// <summary>
            /// User side features for <see cref="SequenceRecallArchitecture.MeanPooling"/> (YouTube DNN): a known-size
            /// Vector&lt;Single&gt; (or Single) column of the interaction rows, concatenated to the mean of the history's
            /// embeddings before the ReLU network. A user's features are those of the user's latest row (in time order;
            /// the last of equal times); non-finite values count as 0. Null (default): none. Must be null for
            /// <see cref="SequenceRecallArchitecture.Gru"/>.
            /// </summary>
            public string? UserFeaturesColumnName { get; set; }

            /// <summary>Length of item embeddings, user vectors and (GRU) the hidden state. Default 64; 1 to 1024.</summary>
            public int EmbeddingDimension { get; set; } = Defaults.EmbeddingDimension;

            /// <summary>
            /// Items of history the encoder reads: the last N before the predicted position (with
            /// <see cref="SequenceRecallTrainingMode.CausalWindows"/>, also the length of the training windows). Default 20; 1 to 1000.
            /// </summary>
            public int HistoryLength { get; set; } = Defaults.HistoryLength;

            /// <summary>
            /// Hidden ReLU layer sizes of <see cref="SequenceRecallArchitecture.MeanPooling"/>'s network (then a linear layer
            /// to the dimension). Null (default): one layer of twice <see cref="EmbeddingDimension"/>; an empty array: the
            /// linear layer only. Each 1 to 65,536, at most 16 layers. Must be null for <see cref="SequenceRecallArchitecture.Gru"/>.
            /// </summary>
            public int[]? HiddenLayerSizes { get; set; }

            /// <summary>
            /// Transformer blocks of <see cref="SequenceRecallArchitecture.SelfAttention"/>. Null (default): 2; otherwise 1 to 16.
            /// Must be null for the other architectures.
            /// </summary>
            public int? AttentionBlocks { get; set; }

            /// <summary>
            /// Attention heads of <see cref="SequenceRecallArchitecture.SelfAttention"/> (each of width EmbeddingDimension / heads).
            /// Null (default): 1; otherwise 1 to 64 and a divisor of <see cref="EmbeddingDimension"/>. Must be null for the other architectures.
            /// </summary>
            public int? AttentionHeads { get; set; }

            /// <summary>
            /// Dropout rate of <see cref="SequenceRecallArchitecture.SelfAttention"/> during training (on the input embeddings and
            /// on each attention and feed-forward output; none when encoding). Null (default): 0.2; otherwise in [0, 0.9].
            /// Must be null for the other architectures.
            /// </summary>
            public float? DropoutRate { get; set; }

            /// <summary>
            /// How the sequences become training examples. Default <see cref="SequenceRecallTrainingMode.NextItem"/>;
            /// <see cref="SequenceRecallTrainingMode.CausalWindows"/> needs <see cref="SequenceRecallArchitecture.SelfAttention"/>
            /// and the full softmax.
            /// </summary>
            public SequenceRecallTrainingMode TrainingMode { get; set; } = SequenceRecallTrainingMode.NextItem;

            /// <summary>Passes over the training examples. Default 8; 1 to 10,000.</summary>
            public int NumberOfEpochs { get; set; } = Defaults.NumberOfEpochs;

            /// <summary>
            /// Examples per mini-batch (windows with <see cref="SequenceRecallTrainingMode.CausalWindows"/>, where a batch's
            /// buffers take about BatchSize × HistoryLength × EmbeddingDimension × 150 bytes). Default 256; 1 to 65,536.
            /// </summary>
            public int BatchSize { get; set; } = Defaults.BatchSize;

            /// <summary>Adam's step size. Default 0.001; greater than 0 and at most 1.</summary>
            public float LearningRate { get; set; } = Defaults.LearningRate;

            /// <summary>Adam's β₁. Default 0.9; in [0, 1).</summary>
            public float Beta1 { get; set; } = 0.9f;

            /// <summary>Adam's β₂. Default 0.999; in [0, 1).</summary>
            public float Beta2 { get; set; } = 0.999f;

            /// <summary>Adam's ε. Default 1e-8; greater than 0 and at most 1.</summary>
            public float Epsilon { get; set; } = 1e-8f;

            /// <summary>
            /// Catalogues with more items than this train with the sampled softmax, smaller ones with the full softmax
            /// (whose batch logits take BatchSize × items × 4 bytes). Default 100,000; 1 to 1,000,000.
            /// </summary>
            public int SampledSoftmaxThreshold { get; set; } = Defaults.SampledSoftmaxThreshold;

            /// <summary>Negatives drawn per batch by the sampled softmax (shared by the batch's examples, with replacement). Default 2,048; 1 to 100,000.</summary>
            public int SampledNegativeCount { get; set; } = Defaults.SampledNegativeCount;

            /// <summary>The distribution the sampled softmax draws negatives from (and corrects the logits for). Default <see cref="SampledSoftmaxProposal.LogUniform"/>.</summary>
            public SampledSoftmaxProposal SampledSoftmaxProposal { get; set; } = SampledSoftmaxProposal.LogUniform;

            /// <summary>Random seed of the start and the example order. Null (default): drawn from the MLContext.</summary>
            public int? Seed { get; set; }

            /// <summary>Threads. Null (default): all processors; otherwise 1 to 1024. Results do not depend on it.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>Receives each epoch's figures; null (default) for none.</summary>
            public IProgress<SequenceRecallEpoch>? Progress { get; set; }

            /// <summary>Stops training (OperationCanceledException) when cancelled, as does the MLContext's cancellation. Default none.</summary>
            public CancellationToken CancellationToken { get; set; }

            /// <summary>Throws when an option is out of range, naming it, its value and the fix.</summary>
            /// <exception cref="ArgumentException">A column name is empty.</exception>
            /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
            public void Validate()
            {
                const string c = ComponentName;
                ValidateColumnNames(c);
                if (string.IsNullOrWhiteSpace(UserVectorColumnName))
                    throw new ArgumentException($"{c}: UserVectorColumnName is empty; name the output column (\"UserVector\" is the default).", nameof(UserVectorColumnName));
                OptionChecks.Check(c, Enum.IsDefined(Architecture), nameof(Architecture), Architecture, "use MeanPooling, Gru or SelfAttention");
                if (UserFeaturesColumnName is not null)
                {
                    OptionChecks.Check(c, !string.IsNullOrWhiteSpace(UserFeaturesColumnName), nameof(UserFeaturesColumnName), $"'{UserFeaturesColumnName}'", "name the features column, or leave it null");
                    OptionChecks.Check(c, Architecture == SequenceRecallArchitecture.MeanPooling, nameof(UserFeaturesColumnName), $"'{UserFeaturesColumnName}'",
                        $"user side features feed the MeanPooling network; leave it null for {Architecture}");
                }
                OptionChecks.Check(c, EmbeddingDimension is >= 1 and <= 1024, nameof(EmbeddingDimension), EmbeddingDimension, "use 1 to 1024 (64 is usual)");
                OptionChecks.Check(c, HistoryLength is >= 1 and <= 1000, nameof(HistoryLength), HistoryLength, "use 1 to 1000 (20 is usual)");
                if (HiddenLayerSizes is not null)
                {
                    OptionChecks.Check(c, Architecture == SequenceRecallArchitecture.MeanPooling, nameof(HiddenLayerSizes), string.Join(", ", HiddenLayerSizes),
                        $"leave it null for {Architecture} (its width is EmbeddingDimension), or use Architecture = MeanPooling");
                    OptionChecks.Check(c, HiddenLayerSizes.Length <= 16 && HiddenLayerSizes.All(s => s is >= 1 and <= 65_536), nameof(HiddenLayerSizes), string.Join(", ", HiddenLayerSizes),
                        "use at most 16 sizes, each 1 to 65,536 (null: one layer of 2 x EmbeddingDimension)");
                }
                bool attention = Architecture == SequenceRecallArchitecture.SelfAttention;
                if (AttentionBlocks is int blocks)
                {
                    OptionChecks.Check(c, attention, nameof(AttentionBlocks), blocks, $"leave it null for {Architecture}, or use Architecture = SelfAttention");
                    OptionChecks.Check(c, blocks is >= 1 and <= 16, nameof(AttentionBlocks), blocks, "use 1 to 16 (2 is the default)");
                }
                if (AttentionHeads is int heads)
                {
                    OptionChecks.Check(c, attention, nameof(AttentionHeads), heads, $"leave it null for {Architecture}, or use Architecture = SelfAttention");
                    OptionChecks.Check(c, heads is >= 1 and <= 64, nameof(AttentionHeads), heads, "use 1 to 64 (1 is the default)");
                    OptionChecks.Check(c, EmbeddingDimension % heads == 0, nameof(AttentionHeads), heads,
                        $"use a divisor of EmbeddingDimension = {EmbeddingDimension} (each head is EmbeddingDimension / AttentionHeads wide)");
                }
                if (DropoutRate is float rate)
                {
                    OptionChecks.Check(c, attention, nameof(DropoutRate), rate, $"leave it null for {Architecture}, or use Architecture = SelfAttention");
                    OptionChecks.Check(c, rate >= 0 && rate <= 0.9f, nameof(DropoutRate), rate, "use a value in [0, 0.9] (0.2 is the default; 0 turns dropout off)");
                }
                OptionChecks.Check(c, Enum.IsDefined(TrainingMode), nameof(TrainingMode), TrainingMode, "use NextItem or CausalWindows");
                OptionChecks.Check(c, TrainingMode != SequenceRecallTrainingMode.CausalWindows || attention, nameof(TrainingMode), TrainingMode,
                    $"causal windows train every position of one causal pass, which only the SelfAttention encoder has; use NextItem for {Architecture}, or Architecture = SelfAttention");
                OptionChecks.Check(c, NumberOfEpochs is >= 1 and <= 10_000, nameof(NumberOfEpochs), NumberOfEpochs, "use 1 to 10,000 (8 is usual; choose it with validation data)");
                OptionChecks.Check(c, BatchSize is >= 1 and <= 65_536, nameof(BatchSize), BatchSize, "use 1 to 65,536 (256 is usual)");
                OptionChecks.Check(c, LearningRate > 0 && LearningRate <= 1, nameof(LearningRate), LearningRate, "use a value in (0, 1] (0.001 is usual)");
                OptionChecks.Check(c, Beta1 >= 0 && Beta1 < 1, nameof(Beta1), Beta1, "use a value in [0, 1) (0.9 is usual)");
                OptionChecks.Check(c, Beta2 >= 0 && Beta2 < 1, nameof(Beta2), Beta2, "use a value in [0, 1) (0.999 is usual)");
                OptionChecks.Check(c, Epsilon > 0 && Epsilon <= 1, nameof(Epsilon), Epsilon, "use a value in (0, 1] (1e-8 is usual)");
                OptionChecks.Check(c, SampledSoftmaxThreshold is >= 1 and <= 1_000_000, nameof(SampledSoftmaxThreshold), SampledSoftmaxThreshold,
                    "use 1 to 1,000,000 (100,000 is the default: larger catalogues use the sampled softmax)");
                OptionChecks.Check(c, SampledNegativeCount is >= 1 and <= 100_000, nameof(SampledNegativeCount), SampledNegativeCount, "use 1 to 100,000 (2,048 is the default)");
                OptionChecks.Check(c, Enum.IsDefined(SampledSoftmaxProposal), nameof(SampledSoftmaxProposal), SampledSoftmaxProposal, "use LogUniform or Popularity");
                OptionChecks.Check(c, NumberOfThreads is null or (>= 1 and <= 1024), nameof(NumberOfThreads), NumberOfThreads, "use 1 to 1024, or null for all processors");
            }

            internal int[] HiddenSizes => Architecture != SequenceRecallArchitecture.MeanPooling ? [] : HiddenLayerSizes ?? [2 * EmbeddingDimension];

            internal int Blocks => Architecture == SequenceRecallArchitecture.SelfAttention ? AttentionBlocks ?? 2 : 0;

            internal int Heads => Architecture == SequenceRecallArchitecture.SelfAttention ? AttentionHeads ?? 1 : 0;

            internal float Dropout => Architecture == SequenceRecallArchitecture.SelfAttention ? DropoutRate ?? 0.2f : 0;

            /// <summary>A copy of these settings (the hidden layer sizes copied too; the progress receiver and cancellation token shared).</summary>
            /// <returns>The copy.</returns>
            public Options Clone()
            {
                var copy = (Options)MemberwiseClone();
                copy.HiddenLayerSizes = HiddenLayerSizes?.ToArray();
                return copy;
            }
        }

        internal SequenceRecallEstimator(MLContext context, Options options)
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(options);
            options.Validate();
            _context = context;
            _options = options.Clone();
        }

        /// <summary>Trains for <see cref="Options.NumberOfEpochs"/> epochs on the interaction rows of <paramref name="input"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
        /// <exception cref="InvalidOperationException">No user has two or more interactions, or the item table (items × EmbeddingDimension) exceeds 2^31 − 1 values.</exception>
        public SequenceRecallTransformer Fit(IDataView input) => Fit(input, null);

        /// <summary>
        /// Trains on <paramref name="input"/>; after each epoch ranks the items of <paramref name="validation"/>'s rows (user,
        /// item: the item each user interacted with next) for their users and keeps the parameters of the epoch with the best
        /// HR@10. Validation users unknown to training, and items unknown to training, count as misses.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type, in either view.</exception>
        /// <exception cref="InvalidOperationException">No user has two or more interactions, or the item table (items × EmbeddingDimension) exceeds 2^31 − 1 values.</exception>
        /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
        public SequenceRecallTransformer Fit(IDataView input, IDataView? validation)
        {
            ArgumentNullException.ThrowIfNull(input);
            GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
            if (validation is not null)
            {
                IdColumns.CheckId(SchemaShapes.FromSchema(validation.Schema), _options.UserColumnName, ComponentName + " (validation data)");
                IdColumns.CheckId(SchemaShapes.FromSchema(validation.Schema), _options.ItemColumnName, ComponentName + " (validation data)");
            }
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.Seed ?? host.Rand.Next();
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(_context, ComponentName, _options.CancellationToken);
            var sequences = InteractionSequences.Read(input, _options.UserColumnName, _options.ItemColumnName, _options.TimestampColumnName);
            List<(string User, string Item)>? targets = null;
            if (validation is not null)
            {
                targets = InteractionSequences.Read(validation, _options.UserColumnName, _options.ItemColumnName, null)
                    .SelectMany(s => s.Items.Select(i => (s.User, i))).ToList();
            }
            var features = ReadFeatures(input, sequences);
            var model = SequenceRecallModel.Train(sequences.Select(s => (s.User, s.Items)).ToList(), features, targets, _options, seed, cancellation.Token,
                epoch => channel.Info(MessageSensitivity.None, string.Create(CultureInfo.InvariantCulture,
                    $"epoch {epoch.Epoch}: training loss {epoch.TrainingLoss:F4}, validation HR@10 {epoch.ValidationHitRate:F4}, {epoch.Elapsed.TotalSeconds:F2} s")));
            return new SequenceRecallTransformer(model, new InputOutputColumnPair(_options.UserVectorColumnName, _options.UserColumnName));
        }

        /// <summary>Each sequence's user features (the user's latest row), in the order of <paramref name="sequences"/>; null without a features column.</summary>
        private (float[] Values, int Count)? ReadFeatures(IDataView input, IReadOnlyList<InteractionSequence> sequences)
        {
            if (_options.UserFeaturesColumnName is null)
                return null;
            var schema = input.Schema;
            var column = schema[_options.UserFeaturesColumnName];
            int count = column.Type is VectorDataViewType vector ? vector.Size : 1;
            var columns = new List<DataViewSchema.Column> { schema[_options.UserColumnName], column };
            if (_options.TimestampColumnName is not null)
                columns.Add(schema[_options.TimestampColumnName]);
            using var cursor = input.GetRowCursor(columns);
            var readUser = IdColumns.GetIdGetter(cursor, schema[_options.UserColumnName]);
            var readTime = _options.TimestampColumnName is null ? null : IdColumns.GetTimeGetter(cursor, schema[_options.TimestampColumnName]);
            ValueGetter<VBuffer<float>>? readVector = column.Type is VectorDataViewType ? cursor.GetGetter<VBuffer<float>>(column) : null;
            ValueGetter<float>? readScalar = readVector is null ? cursor.GetGetter<float>(column) : null;
            var latest = new Dictionary<string, (double Time, float[] Values)>(StringComparer.Ordinal);
            VBuffer<float> buffer = default;
            float scalar = 0;
            long row = 0;
            while (cursor.MoveNext())
            {
                var user = readUser();
                double time = readTime?.Invoke() ?? row;
                row++;
                if (user.IsEmpty || double.IsNaN(time))
                    continue;
                string id = user.ToString();
                if (latest.TryGetValue(id, out var current) && time < current.Time)
                    continue;
                var values = new float[count];
                if (readVector is not null)
                {
                    readVector(ref buffer);
                    buffer.CopyTo(values);
                }
                else
                {
                    readScalar!(ref scalar);
                    values[0] = scalar;
                }
                for (int i = 0; i < count; i++)
                {
                    if (!float.IsFinite(values[i]))
                        values[i] = 0;
                }
                latest[id] = (time, values);
            }
            var result = new float[(long)sequences.Count * count];
            for (int u = 0; u < sequences.Count; u++)
                latest[sequences[u].User].Values.CopyTo(result, u * count);
            return (result, count);
        }

        /// <summary>The input's columns and the user vector column (Vector&lt;Single&gt; of the embedding dimension).</summary>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of the wrong type.</exception>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            _options.CheckInput(inputSchema, ComponentName);
            if (_options.UserFeaturesColumnName is string name)
            {
                var column = inputSchema.FirstOrDefault(c => c.Name == name);
                if (column.Name is null)
                    throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{ComponentName}: the user features column '{name}' (UserFeaturesColumnName) is missing from the input. Add it, or set UserFeaturesColumnName = null.");
                bool single = column.ItemType == NumberDataViewType.Single;
                if (!single || column.Kind == SchemaShape.Column.VectorKind.VariableVector)
                    throw new ArgumentOutOfRangeException(nameof(inputSchema), $"{ComponentName}: the user features column '{name}' (UserFeaturesColumnName) is {(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : column.Kind + " of ")}{column.ItemType}; give a known-size Vector<Single> or a Single.");
            }
            var type = new VectorDataViewType(NumberDataViewType.Single, _options.EmbeddingDimension);
            return SchemaChecks.Append(inputSchema, new[] { (_options.UserVectorColumnName, (DataViewType)type) });
        }
    }
}
