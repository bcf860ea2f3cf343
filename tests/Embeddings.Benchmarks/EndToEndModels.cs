using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;

namespace Embeddings.Benchmarks
{
    internal static partial class EndToEndBenchmark
    {
        /// <summary>The wide crosses of the reference: (gender, age bucket, occupation) x each genre of the item.</summary>
        private static readonly string[][] s_wideCrosses = MovieLensClickData.CrossedFieldNames.Select(f => new[] { f, MovieLensClickData.GenresColumnName }).ToArray();

        /// <summary>Adam step sizes tried for each model; the one with the best validation AUC is kept (the reference uses 0.001 throughout).</summary>
        private static readonly float[] s_learningRates = [1e-3f, 3e-3f, 1e-2f];

        /// <summary>
        /// Epochs of the wide-only model (lr): it is still improving at 8 epochs (the reference's lr too) and costs 0.05 s an
        /// epoch, so it gets 20, the best kept on validation as for every model.
        /// </summary>
        private const int WideEpochs = 20;

        /// <summary>
        /// The wide-only model (lr) is convex: it keeps an average of its parameters (decay 0.998, about the last 500 of its
        /// 313 steps an epoch), which ends at the optimum's quality instead of the last step's noisy point. The other models
        /// keep their last step's parameters, as the reference does.
        /// </summary>
        private const float WideWeightAveragingDecay = 0.998f;

        /// <summary>
        /// Trains each of our end-to-end models that <see cref="SeedContext.Models"/> asks for, as the reference does:
        /// embedding dimension 16, batch 256, Adam, up to <see cref="SeedContext.Epochs"/> epochs, the best validation epoch
        /// kept and scored on test; the learning rate (0.001, 0.003 or 0.01) is chosen per model by validation AUC. lr, fm
        /// and wdl have the wide crosses; the study's wdl runs start the item embeddings from item2vec, frozen or fine-tuned.
        /// </summary>
        static partial void RunEndToEndModels(SeedContext context, List<ModelRun> runs)
        {
            var specs = new (string Model, EndToEndArchitecture Architecture, bool Crosses, bool? FrozenItem2Vec)[]
            {
                ("lr", EndToEndArchitecture.Wide, true, null),
                ("fm", EndToEndArchitecture.FactorizationMachine, true, null),
                ("wdl", EndToEndArchitecture.WideAndDeep, true, null),
                ("deepcrossing", EndToEndArchitecture.DeepCrossing, false, null),
                ("fnn", EndToEndArchitecture.FactorizationMachineNeuralNetwork, false, null),
                ("wdl_item2vec_frozen", EndToEndArchitecture.WideAndDeep, true, true),
                ("wdl_item2vec_finetuned", EndToEndArchitecture.WideAndDeep, true, false),
            };
            foreach (var (model, architecture, crosses, frozen) in specs)
            {
                if (!context.Wants(model))
                    continue;
                (EndToEndEmbeddingTransformer Transformer, float Rate, double Auc)? chosen = null;
                foreach (float rate in s_learningRates)
                {
                    var options = new EndToEndEmbeddingEstimator.Options
                    {
                        Architecture = architecture,
                        LabelColumnName = MovieLensClickData.LabelColumnName,
                        CategoricalColumnNames = MovieLensClickData.FieldNames.ToList(),
                        WideCrosses = crosses ? s_wideCrosses.Select(c => (string[])c.Clone()).ToList() : [],
                        EmbeddingDimension = 16,
                        BatchSize = 256,
                        LearningRate = rate,
                        NumberOfEpochs = architecture == EndToEndArchitecture.Wide ? Math.Max(context.Epochs, WideEpochs) : context.Epochs,
                        WeightAveragingDecay = architecture == EndToEndArchitecture.Wide ? WideWeightAveragingDecay : 0,
                        Seed = context.Seed,
                        NumberOfThreads = context.Threads,
                        Progress = new EpochLog($"{model} (rate {rate.ToString(CultureInfo.InvariantCulture)})"),
                    };
                    if (frozen is bool isFrozen)
                        options.PretrainedEmbeddings["item"] = new PretrainedFieldEmbedding(context.Item2Vec, isFrozen);
                    var fitted = new EndToEndEmbeddingEstimator(context.Ml, options).Fit(context.Train, context.Validation);
                    var trained = fitted.TrainingSummary ?? throw new InvalidOperationException($"{model}: the transformer has no training summary.");
                    double auc = trained.Epochs.Where(e => e.Stage == trained.Epochs[^1].Stage).ElementAt(trained.BestEpoch - 1).ValidationAuc;
                    if (chosen is null || auc > chosen.Value.Auc)
                        chosen = (fitted, rate, auc);
                }
                var transformer = chosen!.Value.Transformer;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {model}: learning rate {chosen.Value.Rate} chosen (validation AUC {chosen.Value.Auc:F4})"));
                var (testAuc, testLogLoss) = ClickMetrics.Compute(transformer.Transform(context.Test));
                var summary = transformer.TrainingSummary!;
                // FNN trains its factorization machine first (stage "fm"); the curve and the epoch figures are the final stage's.
                string finalStage = summary.Epochs[^1].Stage;
                var final = summary.Epochs.Where(e => e.Stage == finalStage).ToList();
                var earlier = summary.Epochs.Where(e => e.Stage != finalStage).ToList();
                Add(runs, new ModelRun(model, context.Seed, testAuc, testLogLoss)
                {
                    BestEpoch = summary.BestEpoch,
                    ValidationAucPerEpoch = final.Select(e => e.ValidationAuc).ToArray(),
                    EpochSeconds = final.Select(e => e.Elapsed.TotalSeconds).ToArray(),
                    PretrainingSeconds = earlier.Count > 0 ? earlier.Sum(e => e.Elapsed.TotalSeconds) : null,
                    ValidationAuc = final[summary.BestEpoch - 1].ValidationAuc,
                    FitSeconds = summary.Epochs.Sum(e => e.Elapsed.TotalSeconds),
                    Settings = string.Create(CultureInfo.InvariantCulture, $"learning rate {chosen.Value.Rate}"),
                });
            }
        }

        /// <summary>Prints each epoch as the trainer reports it (synchronously, unlike <see cref="Progress{T}"/>).</summary>
        private sealed class EpochLog : IProgress<EndToEndEpoch>
        {
            private readonly string _model;

            public EpochLog(string model) => _model = model;

            public void Report(EndToEndEpoch value) =>
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"  {_model} [{value.Stage}] epoch {value.Epoch}: training loss {value.TrainingLoss:F4}, validation loss {value.ValidationLoss:F4}, validation AUC {value.ValidationAuc:F4} ({value.Elapsed.TotalSeconds:F2} s)"));
        }
    }
}
