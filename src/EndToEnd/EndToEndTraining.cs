using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Numerics.Tensors;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.EndToEnd.Kernels;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace Embeddings.EndToEnd
{
    /// <summary>
    /// The training loop of <see cref="EndToEndEmbeddingEstimator"/>: mini-batches split into fixed blocks of
    /// <see cref="BlockRows"/> rows (forward and backward in parallel, gradients summed in block order), then one Adam step.
    /// </summary>
    internal static class EndToEndTraining
    {
        /// <summary>Rows per block: the unit of parallel work. Fixed, so that results do not depend on the thread count.</summary>
        public const int BlockRows = 64;

        public static EndToEndEmbeddingTransformer Train(MLContext context, EndToEndEmbeddingEstimator.Options options, FieldLayout layout,
            IDataView input, IDataView? validation)
        {
            var host = ((IHostEnvironment)context).Register(nameof(EndToEndEmbeddingEstimator));
            int seed = options.Seed ?? host.Rand.Next();
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(context, nameof(EndToEndEmbeddingEstimator), options.CancellationToken);
            var token = cancellation.Token;
            var train = FieldRows.Read(input, layout, token);
            if (train.Count == 0)
                throw new InvalidOperationException($"{nameof(EndToEndEmbeddingEstimator)}: the training data has no row with a label (column '{layout.LabelColumn}'{(train.SkippedRows > 0 ? $"; {train.SkippedRows:N0} rows had a missing (NaN) label" : "")}). Give rows with labels.");
            FieldRows? valid = validation is null ? null : FieldRows.Read(validation, layout, token);
            if (valid is { Count: 0 })
                throw new InvalidOperationException($"{nameof(EndToEndEmbeddingEstimator)}: the validation data has no row with a label (column '{layout.LabelColumn}'). Give rows with labels, or call Fit without validation data.");
            int threads = options.NumberOfThreads ?? Environment.ProcessorCount;
            var epochs = new List<EndToEndEpoch>();
            void Report(EndToEndEpoch epoch)
            {
                epochs.Add(epoch);
                options.Progress?.Report(epoch);
                channel.Info(MessageSensitivity.None, Describe(epoch));
            }

            var run = new Run(options, train, valid, threads, token, Report);
            NetworkParameters? factorizationStart = null;
            if (options.Architecture == EndToEndArchitecture.FactorizationMachineNeuralNetwork)
            {
                var fmShape = Shape(layout, options, EndToEndArchitecture.FactorizationMachine);
                var fm = Start(fmShape, layout, options, train, seed, out bool[] fmFrozen);
                (factorizationStart, _) = run.Epochs("fm", fm, fmFrozen, seed);
            }
            var shape = Shape(layout, options, options.Architecture);
            var parameters = Start(shape, layout, options, train, seed, out bool[] frozen);
            if (factorizationStart is not null)
            {
                for (int f = 0; f < shape.FieldCount; f++)
                    factorizationStart.Embeddings[f].AsSpan().CopyTo(parameters.Embeddings[f]);
            }
            var (best, bestEpoch) = run.Epochs(StageName(options.Architecture), parameters, frozen, seed);
            var summary = new EndToEndTrainingSummary(epochs, bestEpoch, train.Count, valid?.Count ?? 0, train.SkippedRows + (valid?.SkippedRows ?? 0));
            return new EndToEndEmbeddingTransformer(layout, best, summary);
        }

        internal static NetworkShape Shape(FieldLayout layout, EndToEndEmbeddingEstimator.Options options, EndToEndArchitecture architecture) =>
            new(architecture, layout.Fields.Select(f => f.Rows).ToArray(), options.EmbeddingDimension, layout.NumericDimension, layout.Crosses.Length > 0,
                layout.CrossHashBits, options.HiddenLayerSizes, options.ResidualUnitCount, options.ResidualHiddenSize);

        internal static string StageName(EndToEndArchitecture architecture) => architecture switch
        {
            EndToEndArchitecture.Wide => "wide",
            EndToEndArchitecture.FactorizationMachine => "fm",
            EndToEndArchitecture.WideAndDeep => "wide-and-deep",
            EndToEndArchitecture.DeepCrossing => "deep-crossing",
            _ => "fnn",
        };

        private static string Describe(EndToEndEpoch e) => string.Create(CultureInfo.InvariantCulture,
            $"{e.Stage} epoch {e.Epoch}: training loss {e.TrainingLoss:F4}, validation loss {e.ValidationLoss:F4}, validation AUC {e.ValidationAuc:F4}, {e.Elapsed.TotalSeconds:F2} s");

        /// <summary>The random start, with the pretrained tables copied in (scaled when asked) and the frozen fields marked.</summary>
        private static NetworkParameters Start(NetworkShape shape, FieldLayout layout, EndToEndEmbeddingEstimator.Options options, FieldRows train,
            int seed, out bool[] frozen)
        {
            var parameters = new NetworkParameters(shape);
            parameters.Initialize(seed, options.InitialStandardDeviation);
            if (layout.Objective == EndToEndObjective.Regression)
                parameters.Bias[0] = (float)TensorPrimitives.Sum(train.Labels) / train.Count;
            frozen = new bool[shape.FieldCount];
            if (!shape.HasEmbeddings)
                return parameters;
            foreach (var (column, start) in options.PretrainedEmbeddings)
            {
                int f = layout.IndexOf(column);
                var spec = layout.Fields[f];
                var table = parameters.Embeddings[f];
                int d = shape.Dimension;
                var matched = new List<int>();
                for (int k = 1; k <= spec.KeyCount && k <= spec.KeyTexts!.Length; k++)
                {
                    if (start.Table.TryGetVector(spec.KeyTexts[k - 1], table.AsSpan(k * d, d)))
                        matched.Add(k);
                }
                if (start.ScaleToInitialSpread && matched.Count > 0)
                {
                    double sum = 0, squares = 0;
                    foreach (int k in matched)
                    {
                        foreach (float x in table.AsSpan(k * d, d))
                        {
                            sum += x;
                            squares += (double)x * x;
                        }
                    }
                    long n = (long)matched.Count * d;
                    double sd = Math.Sqrt(Math.Max(0, squares / n - (sum / n) * (sum / n)));
                    if (sd > 0)
                    {
                        float factor = (float)(options.InitialStandardDeviation / sd);
                        foreach (int k in matched)
                            TensorPrimitives.Multiply(table.AsSpan(k * d, d), factor, table.AsSpan(k * d, d));
                    }
                }
                frozen[f] = start.Frozen;
            }
            return parameters;
        }

        /// <summary>Area under the ROC curve of <paramref name="scores"/> against 0/1 <paramref name="labels"/> (ties count one half); NaN when one class is absent.</summary>
        internal static double AreaUnderRocCurve(ReadOnlySpan<float> scores, ReadOnlySpan<float> labels)
        {
            var order = new int[scores.Length];
            for (int i = 0; i < order.Length; i++)
                order[i] = i;
            var keys = scores.ToArray();
            Array.Sort(keys, order);
            double positives = 0, rankSum = 0;
            for (int i = 0; i < order.Length;)
            {
                int j = i;
                while (j < order.Length && keys[j] == keys[i])
                    j++;
                double rank = (i + 1 + j) / 2.0;
                for (int t = i; t < j; t++)
                {
                    if (labels[order[t]] > 0)
                    {
                        positives++;
                        rankSum += rank;
                    }
                }
                i = j;
            }
            double negatives = scores.Length - positives;
            if (positives == 0 || negatives == 0)
                return double.NaN;
            return (rankSum - positives * (positives + 1) / 2) / (positives * negatives);
        }

        /// <summary>One training run's loop and buffers (shared by the FNN's factorization stage and the main stage).</summary>
        private sealed class Run
        {
            private readonly EndToEndEmbeddingEstimator.Options _options;
            private readonly FieldRows _train;
            private readonly FieldRows? _valid;
            private readonly int _threads;
            private readonly CancellationToken _token;
            private readonly Action<EndToEndEpoch> _report;

            public Run(EndToEndEmbeddingEstimator.Options options, FieldRows train, FieldRows? valid, int threads, CancellationToken token, Action<EndToEndEpoch> report)
            {
                _options = options;
                _train = train;
                _valid = valid;
                _threads = threads;
                _token = token;
                _report = report;
            }

            /// <summary>Trains <paramref name="p"/> in place; returns the parameters to keep (the best validation epoch's, or the last) and that epoch.</summary>
            public (NetworkParameters Best, int Epoch) Epochs(string stage, NetworkParameters p, bool[] frozen, int seed)
            {
                var shape = p.Shape;
                var objective = _options.Objective;
                var metric = _options.EarlyStoppingMetric ??
                    (objective == EndToEndObjective.BinaryClassification ? EndToEndStoppingMetric.AreaUnderRocCurve : EndToEndStoppingMetric.Loss);
                int blocksPerBatch = (Math.Min(_options.BatchSize, _train.Count) + BlockRows - 1) / BlockRows;
                var workspaces = new BlockWorkspace[Math.Max(blocksPerBatch, _threads)];
                for (int b = 0; b < workspaces.Length; b++)
                    workspaces[b] = new BlockWorkspace(shape, BlockRows);
                var transposed = shape.DenseLayers.Select(l => new float[(long)l.In * l.Out]).ToArray();
                var optimizer = new AdamOptimizer(_options.LearningRate, _options.Beta1, _options.Beta2, _options.Epsilon, _options.L2Regularization, _options.SparseMomentumCatchUp);
                var dense = DenseArrays(p).ToArray();
                var denseMoments = dense.Select(a => (new float[a.Length], new float[a.Length])).ToArray();
                var tables = SparseTables(p, frozen).ToArray();
                var tableGradients = tables.Select(t => new SparseGradient(t.Rows, t.Width)).ToArray();
                var tableMoments = tables.Select(t => (new float[t.Values.Length], new float[t.Values.Length])).ToArray();
                var tableSteps = tables.Select(t => new long[t.Rows]).ToArray();
                var parallel = new ParallelOptions { MaxDegreeOfParallelism = _threads, CancellationToken = _token };
                var order = new int[_train.Count];
                var averager = _options.WeightAveragingDecay > 0 ? new WeightAverager(p, dense, tables, _options.WeightAveragingDecay) : null;
                // Validation scores, and training keeps, the averaged parameters when averaging is on.
                var kept = averager?.Average ?? p;
                NetworkParameters? best = null;
                int bestEpoch = 0, sinceBest = 0;
                double bestValue = double.NaN;
                for (int epoch = 1; epoch <= _options.NumberOfEpochs; epoch++)
                {
                    var watch = Stopwatch.StartNew();
                    Shuffle(order, new Random(NetworkParameters.StreamSeed(seed, 1_000_000 + epoch)));
                    double lossSum = 0;
                    for (int start = 0; start < order.Length; start += _options.BatchSize)
                    {
                        _token.ThrowIfCancellationRequested();
                        int n = Math.Min(_options.BatchSize, order.Length - start);
                        int blocks = (n + BlockRows - 1) / BlockRows;
                        for (int l = 0; l < transposed.Length; l++)
                            DenseKernels.Transpose(shape.DenseLayers[l].In, shape.DenseLayers[l].Out, p.Weights[l], transposed[l]);
                        float scale = 1f / n;
                        Parallel.For(0, blocks, parallel, b =>
                        {
                            var w = workspaces[b];
                            w.RowIndices = order;
                            w.RowStart = start + b * BlockRows;
                            w.RowCount = Math.Min(BlockRows, n - b * BlockRows);
                            EndToEndNetwork.Forward(p, _train, w);
                            double loss = 0;
                            for (int r = 0; r < w.RowCount; r++)
                            {
                                loss += Loss(objective, w.Logits[r], _train.Label(w.Row(r)), out float g);
                                w.LogitGradients[r] = g * scale;
                            }
                            w.Loss = loss;
                            EndToEndNetwork.Backward(p, transposed, _train, w);
                        });
                        for (int b = 0; b < blocks; b++)
                            lossSum += workspaces[b].Loss;
                        // Dense gradients: block 0's buffers receive the others, in block order.
                        var first = workspaces[0];
                        for (int b = 1; b < blocks; b++)
                        {
                            var w = workspaces[b];
                            TensorPrimitives.Add(first.BiasGradient, w.BiasGradient, first.BiasGradient);
                            TensorPrimitives.Add(first.NumericWeightGradient, w.NumericWeightGradient, first.NumericWeightGradient);
                            for (int l = 0; l < transposed.Length; l++)
                            {
                                TensorPrimitives.Add(first.WeightGradients[l], w.WeightGradients[l], first.WeightGradients[l]);
                                TensorPrimitives.Add(first.BiasGradients[l], w.BiasGradients[l], first.BiasGradients[l]);
                            }
                        }
                        foreach (var g in tableGradients)
                            g.NextBatch();
                        for (int b = 0; b < blocks; b++)
                            AccumulateSparse(p, frozen, workspaces[b], tableGradients);
                        optimizer.BeginStep();
                        averager?.BeforeStep(optimizer.Step, tableGradients);
                        var denseGradients = DenseGradients(shape, first).ToArray();
                        for (int i = 0; i < dense.Length; i++)
                            optimizer.Update(dense[i], denseGradients[i], denseMoments[i].Item1, denseMoments[i].Item2);
                        for (int t = 0; t < tables.Length; t++)
                            optimizer.UpdateRows(tables[t].Values, tableGradients[t], tableMoments[t].Item1, tableMoments[t].Item2, tableSteps[t]);
                        averager?.AfterStep(optimizer.Step, tableGradients);
                    }
                    // Parameters are read after each epoch (validation, the best epoch's copy): bring every row up to date.
                    for (int t = 0; t < tables.Length; t++)
                        optimizer.CatchUpAll(tables[t].Values, tables[t].Width, tableMoments[t].Item1, tableMoments[t].Item2, tableSteps[t]);
                    averager?.CatchUpAll(optimizer.Step);
                    watch.Stop();
                    double trainingLoss = lossSum / order.Length;
                    if (!double.IsFinite(trainingLoss))
                        throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                            $"{nameof(EndToEndEmbeddingEstimator)}: training diverged in epoch {epoch} (mean loss {trainingLoss}). Lower LearningRate = {_options.LearningRate} (or scale the numeric features / the regression label)."));
                    double validLoss = double.NaN, validAuc = double.NaN;
                    if (_valid is not null)
                        (validLoss, validAuc) = Evaluate(kept, _valid, workspaces, objective, parallel);
                    _report(new EndToEndEpoch(stage, epoch, trainingLoss, validLoss, validAuc, watch.Elapsed));
                    if (_valid is null)
                        continue;
                    double value = metric == EndToEndStoppingMetric.AreaUnderRocCurve ? validAuc : -validLoss;
                    if (best is null || value > bestValue || (double.IsNaN(bestValue) && !double.IsNaN(value)))
                    {
                        best ??= new NetworkParameters(shape);
                        best.CopyFrom(kept);
                        bestValue = value;
                        bestEpoch = epoch;
                        sinceBest = 0;
                    }
                    else if (_options.EarlyStoppingPatience > 0 && ++sinceBest >= _options.EarlyStoppingPatience)
                    {
                        break;
                    }
                }
                return best is null ? (kept, _options.NumberOfEpochs) : (best, bestEpoch);
            }

            private static double Loss(EndToEndObjective objective, float logit, float label, out float gradient) =>
                objective == EndToEndObjective.BinaryClassification
                    ? Layers.SigmoidCrossEntropy(logit, label, out gradient)
                    : Layers.SquaredError(logit, label, out gradient);

            /// <summary>Mean loss and AUC (NaN for regression) of <paramref name="p"/> on <paramref name="data"/>.</summary>
            private (double Loss, double Auc) Evaluate(NetworkParameters p, FieldRows data, BlockWorkspace[] workspaces, EndToEndObjective objective, ParallelOptions parallel)
            {
                var scores = new float[data.Count];
                var identity = new int[data.Count];
                for (int i = 0; i < identity.Length; i++)
                    identity[i] = i;
                int blocks = (data.Count + BlockRows - 1) / BlockRows;
                int slots = Math.Min(_threads, workspaces.Length);
                Parallel.For(0, slots, parallel, s =>
                {
                    var w = workspaces[s];
                    for (int b = s; b < blocks; b += slots)
                    {
                        w.RowIndices = identity;
                        w.RowStart = b * BlockRows;
                        w.RowCount = Math.Min(BlockRows, data.Count - w.RowStart);
                        EndToEndNetwork.Forward(p, data, w);
                        w.Logits.AsSpan(0, w.RowCount).CopyTo(scores.AsSpan(w.RowStart));
                    }
                });
                double loss = 0;
                for (int i = 0; i < scores.Length; i++)
                    loss += Loss(objective, scores[i], data.Label(i), out _);
                double auc = objective == EndToEndObjective.BinaryClassification ? AreaUnderRocCurve(scores, data.Labels) : double.NaN;
                return (loss / scores.Length, auc);
            }

            private static void Shuffle(int[] order, Random random)
            {
                for (int i = 0; i < order.Length; i++)
                    order[i] = i;
                for (int i = order.Length - 1; i > 0; i--)
                {
                    int j = random.Next(i + 1);
                    (order[i], order[j]) = (order[j], order[i]);
                }
            }

            /// <summary>The sparse gradients of one block: wide weights from the logit gradients, embedding rows from the input gradient.</summary>
            private void AccumulateSparse(NetworkParameters p, bool[] frozen, BlockWorkspace w, SparseGradient[] gradients)
            {
                var shape = p.Shape;
                int d = shape.Dimension;
                int inWidth = shape.InputWidth;
                for (int r = 0; r < w.RowCount; r++)
                {
                    int row = w.Row(r);
                    float dz = w.LogitGradients[r];
                    int t = 0;
                    if (shape.HasEmbeddings)
                    {
                        for (int f = 0; f < shape.FieldCount; f++)
                        {
                            if (frozen[f])
                                continue;
                            var g = gradients[t++];
                            var keys = _train.Keys(f, row);
                            if (keys.IsEmpty)
                                continue;
                            var rowGradient = w.InputGradient.AsSpan(r * inWidth + f * d, d);
                            float share = 1f / keys.Length;
                            foreach (int key in keys)
                            {
                                var target = g.Row(key);
                                TensorPrimitives.MultiplyAdd(rowGradient, share, target, target);
                            }
                        }
                    }
                    if (shape.HasWide)
                    {
                        for (int f = 0; f < shape.FieldCount; f++)
                        {
                            var g = gradients[t++];
                            foreach (int key in _train.Keys(f, row))
                                g.Add(key, dz);
                        }
                        if (shape.CrossSize > 0)
                        {
                            var g = gradients[t++];
                            foreach (int slot in _train.CrossSlots(row))
                                g.Add(slot, dz);
                        }
                    }
                }
            }
        }

        /// <summary>The arrays updated every step, in the order of <see cref="DenseGradients"/>.</summary>
        private static IEnumerable<float[]> DenseArrays(NetworkParameters p)
        {
            yield return p.Bias;
            if (p.NumericWeights.Length > 0)
                yield return p.NumericWeights;
            for (int l = 0; l < p.Weights.Length; l++)
            {
                yield return p.Weights[l];
                yield return p.Biases[l];
            }
        }

        private static IEnumerable<float[]> DenseGradients(NetworkShape shape, BlockWorkspace w)
        {
            yield return w.BiasGradient;
            if (w.NumericWeightGradient.Length > 0)
                yield return w.NumericWeightGradient;
            for (int l = 0; l < shape.DenseLayers.Length; l++)
            {
                yield return w.WeightGradients[l];
                yield return w.BiasGradients[l];
            }
        }

        /// <summary>The tables updated row by row, in the order <see cref="Run"/> accumulates them: trainable embeddings, field weights, crosses.</summary>
        private static IEnumerable<(float[] Values, int Rows, int Width)> SparseTables(NetworkParameters p, bool[] frozen)
        {
            var shape = p.Shape;
            if (shape.HasEmbeddings)
            {
                for (int f = 0; f < shape.FieldCount; f++)
                {
                    if (!frozen[f])
                        yield return (p.Embeddings[f], shape.FieldRows[f], shape.Dimension);
                }
            }
            if (shape.HasWide)
            {
                for (int f = 0; f < shape.FieldCount; f++)
                    yield return (p.FieldWeights[f], shape.FieldRows[f], 1);
                if (shape.CrossSize > 0)
                    yield return (p.CrossWeights, shape.CrossSize, 1);
            }
        }
    }
}
