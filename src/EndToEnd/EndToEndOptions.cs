using System;
using System.Collections.Generic;

namespace Embeddings
{
    /// <summary>The network that <see cref="EndToEndEmbeddingEstimator"/> trains over the embedded fields.</summary>
    public enum EndToEndArchitecture
    {
        /// <summary>
        /// The wide part alone: a weight per key of every field, per hashed field cross and per numeric feature, plus a
        /// bias. Logistic regression on one-hot fields (linear regression for <see cref="EndToEndObjective.Regression"/>).
        /// No embeddings.
        /// </summary>
        Wide,

        /// <summary>
        /// Factorization machine (Rendle, 2010): the wide part plus the pairwise interactions ⟨v_f, v_g⟩ of all field
        /// embeddings. Numeric features enter linearly only.
        /// </summary>
        FactorizationMachine,

        /// <summary>
        /// Wide&amp;Deep (Cheng et al., 2016): the wide part plus a ReLU network over the concatenated field embeddings and
        /// numeric features (<see cref="EndToEndEmbeddingEstimator.Options.HiddenLayerSizes"/>).
        /// </summary>
        WideAndDeep,

        /// <summary>
        /// Deep Crossing (Shan et al., 2016): residual units relu(x + W₂ relu(W₁x + b₁) + b₂) over the concatenated field
        /// embeddings and numeric features, then a linear output. No wide part.
        /// </summary>
        DeepCrossing,

        /// <summary>
        /// FNN (Zhang et al., 2016): a ReLU network over the concatenated field embeddings, whose embeddings start from a
        /// factorization machine trained first on the same data (and the same validation rows). No wide part.
        /// </summary>
        FactorizationMachineNeuralNetwork,
    }

    /// <summary>What <see cref="EndToEndEmbeddingEstimator"/> learns to predict.</summary>
    public enum EndToEndObjective
    {
        /// <summary>
        /// A Boolean label, sigmoid cross-entropy loss. Outputs Score (the logit), Probability and PredictedLabel, the
        /// columns <c>mlContext.BinaryClassification.Evaluate</c> reads.
        /// </summary>
        BinaryClassification,

        /// <summary>A Single label (e.g. a rating), squared loss. Outputs Score, read by <c>mlContext.Regression.Evaluate</c>.</summary>
        Regression,
    }

    /// <summary>The validation figure that picks the best epoch and stops training early.</summary>
    public enum EndToEndStoppingMetric
    {
        /// <summary>Area under the ROC curve on the validation rows (higher is better). Binary classification only; the default there.</summary>
        AreaUnderRocCurve,

        /// <summary>The mean training loss on the validation rows (log-loss or squared error; lower is better). The default for regression.</summary>
        Loss,
    }

    /// <summary>
    /// Where a field's embedding table starts: the vectors of a pretrained <see cref="EmbeddingTable"/> (item2vec, node2vec,
    /// matrix factorization factors, or an end-to-end model's export), matched by the key's value text.
    /// </summary>
    public sealed class PretrainedFieldEmbedding
    {
        /// <summary>Creates the initialisation from <paramref name="table"/>.</summary>
        /// <param name="table">The pretrained vectors; their dimension must equal the model's embedding dimension.</param>
        /// <param name="frozen">True: the rows never change (the "pretrained features" use). False: fine-tuned end to end.</param>
        public PretrainedFieldEmbedding(EmbeddingTable table, bool frozen)
        {
            ArgumentNullException.ThrowIfNull(table);
            Table = table;
            Frozen = frozen;
        }

        /// <summary>The pretrained vectors.</summary>
        public EmbeddingTable Table { get; }

        /// <summary>True: the field's embedding rows are not trained (keys missing from the table keep their random start, frozen too).</summary>
        public bool Frozen { get; }

        /// <summary>
        /// True (default): the pretrained vectors are scaled by one factor so that their standard deviation equals
        /// <see cref="EndToEndEmbeddingEstimator.Options.InitialStandardDeviation"/>, the spread of the random start,
        /// which keeps the network's first layers in the range they were initialised for. False: used as they are.
        /// </summary>
        public bool ScaleToInitialSpread { get; init; } = true;
    }

    /// <summary>Figures of one training epoch of <see cref="EndToEndEmbeddingEstimator"/>, reported through its progress and summary.</summary>
    /// <param name="Stage">"fm" for the factorization machine that an FNN trains first, else the architecture's name.</param>
    /// <param name="Epoch">1-based epoch.</param>
    /// <param name="TrainingLoss">Mean loss over the epoch's training rows (before each batch's update).</param>
    /// <param name="ValidationLoss">Mean loss on the validation rows after the epoch; NaN without validation data.</param>
    /// <param name="ValidationAuc">Validation area under the ROC curve after the epoch; NaN without validation data or for regression.</param>
    /// <param name="Elapsed">Wall time of the epoch's training pass (validation scoring excluded).</param>
    public sealed record EndToEndEpoch(string Stage, int Epoch, double TrainingLoss, double ValidationLoss, double ValidationAuc, TimeSpan Elapsed);

    /// <summary>What a training run of <see cref="EndToEndEmbeddingEstimator"/> did.</summary>
    public sealed class EndToEndTrainingSummary
    {
        internal EndToEndTrainingSummary(IReadOnlyList<EndToEndEpoch> epochs, int bestEpoch, int trainingRows, int validationRows, int skippedRows)
        {
            Epochs = epochs;
            BestEpoch = bestEpoch;
            TrainingRows = trainingRows;
            ValidationRows = validationRows;
            SkippedRows = skippedRows;
        }

        /// <summary>Every epoch run, in order (an FNN lists its factorization machine's epochs first, stage "fm").</summary>
        public IReadOnlyList<EndToEndEpoch> Epochs { get; }

        /// <summary>The 1-based epoch (of the final stage) whose parameters the model keeps: the best validation epoch, or the last one without validation data.</summary>
        public int BestEpoch { get; }

        /// <summary>Training rows used.</summary>
        public int TrainingRows { get; }

        /// <summary>Validation rows used (0 without validation data).</summary>
        public int ValidationRows { get; }

        /// <summary>Training and validation rows skipped because their label was missing (NaN).</summary>
        public int SkippedRows { get; }
    }
}
