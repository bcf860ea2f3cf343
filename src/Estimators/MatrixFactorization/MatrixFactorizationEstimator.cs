using System;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using Embeddings.Infrastructure;
using Embeddings.MatrixFactorization;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Embeddings
{
    /// <summary>
    /// Matrix factorization over a user key column, an item key column and a label column
    /// (<c>mlContext.Embeddings().MatrixFactorization(...)</c>): our replacement for Microsoft.ML.Recommender's
    /// <c>MatrixFactorizationTrainer</c>, with the same option names, warm start from <see cref="EmbeddingTable"/>s, and
    /// the trained factors exported as tables. Returns a <see cref="MatrixFactorizationTransformer"/> that appends a
    /// Single <c>Score</c> column.
    /// </summary>
    /// <remarks>
    /// <para><b>Explicit ratings</b> (<see cref="LossFunctionType.SquareLossRegression"/>, the default): score
    /// μ + b_u + b_i + p_u·q_i (μ the mean training rating, b_u and b_i learned biases), trained by stochastic gradient
    /// descent on the squared error with L2 penalty <see cref="Options.Lambda"/> and LibMF's per-row adaptive learning
    /// rate starting from <see cref="Options.LearningRate"/>. Parallel by stratified blocks (DSGD), so results depend on
    /// the seed only, not on the number of threads.</para>
    /// <para><b>Implicit feedback</b> (<see cref="LossFunctionType.SquareLossOneClass"/>): weighted ALS of Hu, Koren and
    /// Volinsky: every (user, item) cell is fitted, observed cells (label r &gt; 0) to 1 with confidence 1 + Alpha·r,
    /// unobserved cells to <see cref="Options.C"/> with confidence 1; each row is solved exactly (Cholesky with the
    /// precomputed Gram matrix), rows in parallel; results do not depend on the number of threads. Score p_u·q_i.</para>
    /// <para>As in ML.NET, the matrix's column index is the user and its row index the item.</para>
    /// </remarks>
    public sealed class MatrixFactorizationEstimator : IEstimator<MatrixFactorizationTransformer>
    {
        internal const string ComponentName = "MatrixFactorization";
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>The loss functions (ML.NET's <c>MatrixFactorizationTrainer.LossFunctionType</c> names and values).</summary>
        public enum LossFunctionType
        {
            /// <summary>Explicit ratings: squared error against the label (biased MF trained by SGD).</summary>
            SquareLossRegression = 0,

            /// <summary>Implicit feedback: weighted squared loss over all cells, observed cells weighted 1 + Alpha·label (weighted ALS).</summary>
            SquareLossOneClass = 12,
        }

        /// <summary>Default values of <see cref="Options"/>, shared with the catalog's simple overload.</summary>
        public static class Defaults
        {
            /// <summary>Default <see cref="Options.ApproximationRank"/>: 8 (as ML.NET).</summary>
            public const int ApproximationRank = 8;

            /// <summary>Default <see cref="Options.NumberOfIterations"/>: 20 (as ML.NET).</summary>
            public const int NumberOfIterations = 20;

            /// <summary>Default <see cref="Options.Lambda"/>: 0.1 (as ML.NET).</summary>
            public const double Lambda = 0.1;

            /// <summary>Default <see cref="Options.LearningRate"/>: 0.1 (as ML.NET).</summary>
            public const double LearningRate = 0.1;

            /// <summary>Default <see cref="Options.Alpha"/>: 1 (confidence 1 + 1·r; NOT ML.NET's meaning, see the option).</summary>
            public const double Alpha = 1;

            /// <summary>Default <see cref="Options.C"/>: 0 (unobserved cells are fitted to 0, as in Hu et al.).</summary>
            public const double C = 0;
        }

        /// <summary>Settings of <see cref="MatrixFactorizationEstimator"/>; names and defaults follow ML.NET's <c>MatrixFactorizationTrainer.Options</c> where they mean the same.</summary>
        public sealed class Options
        {
            /// <summary>User column (the matrix's column index, as in ML.NET): Key&lt;UInt32&gt;, as produced by <c>MapValueToKey</c>. Required.</summary>
            public string MatrixColumnIndexColumnName { get; set; } = "";

            /// <summary>Item column (the matrix's row index, as in ML.NET): Key&lt;UInt32&gt;. Required.</summary>
            public string MatrixRowIndexColumnName { get; set; } = "";

            /// <summary>Label column: Single. Default "Label". Explicit: the rating. Implicit: the strength r ≥ 0 of the interaction (1 for plain events; 0 means unobserved; rows repeating a (user, item) pair are summed into one cell). Rows with a NaN label are skipped.</summary>
            public string LabelColumnName { get; set; } = "Label";

            /// <summary>Output Single column of predicted scores. Default "Score".</summary>
            public string ScoreColumnName { get; set; } = "Score";

            /// <summary>The loss: explicit ratings (default) or implicit one-class feedback.</summary>
            public LossFunctionType LossFunction { get; set; } = LossFunctionType.SquareLossRegression;

            /// <summary>Number of latent factors k. Default 8; valid 1 to 1024.</summary>
            /// <remarks>Explicit ratings on MovieLens: 8 to 64. Implicit ALS: 32 to 128 (cost grows as k² per rating and k³ per row).</remarks>
            public int ApproximationRank { get; set; } = Defaults.ApproximationRank;

            /// <summary>Training epochs (SGD passes over the ratings, or ALS sweeps over users then items). Default 20; at least 1.</summary>
            public int NumberOfIterations { get; set; } = Defaults.NumberOfIterations;

            /// <summary>L2 regularisation λ, greater than 0. Default 0.1.</summary>
            /// <remarks>Explicit: applied at every SGD update, as in LibMF (0.02 to 0.1 usual). Implicit: added to the diagonal of every row's system (0.1 to 100 usual; larger with larger Alpha).</remarks>
            public double Lambda { get; set; } = Defaults.Lambda;

            /// <summary>Initial SGD step of the explicit loss, greater than 0 (each row's step then shrinks adaptively, as in LibMF). Default 0.1.</summary>
            /// <remarks>The implicit loss is solved exactly by ALS and has no learning rate: a value other than 0.1 with <see cref="LossFunctionType.SquareLossOneClass"/> is rejected.</remarks>
            public double LearningRate { get; set; } = Defaults.LearningRate;

            /// <summary>
            /// Implicit loss only: confidence of an observed cell is 1 + Alpha·label (Hu et al.'s α). Default 1; valid 0 or more
            /// (0: every cell weighs the same). Values other than the default are rejected with the explicit loss.
            /// </summary>
            /// <remarks>
            /// This is not ML.NET's Alpha, which weighs the unobserved cells relative to observed ones (ML.NET default 0.0001).
            /// For binary feedback the two are related by ours = 1 / ML.NET's − 1: ML.NET's Alpha = 0.01 corresponds to ours ≈ 99.
            /// Tune Alpha together with <see cref="Lambda"/> on validation data (for next-item recommendation, the
            /// leave-last-out validation target): a larger Alpha usually wants a larger Lambda.
            /// </remarks>
            public double Alpha { get; set; } = Defaults.Alpha;

            /// <summary>
            /// Implicit loss only: the value unobserved cells are fitted to (ML.NET's C). Default 0 (Hu et al.); valid 0 ≤ C &lt; 1.
            /// Values other than the default are rejected with the explicit loss.
            /// </summary>
            public double C { get; set; } = Defaults.C;

            /// <summary>Explicit loss only: keep factors non-negative (projected SGD). Default false. With the implicit loss, true throws <see cref="NotSupportedException"/>.</summary>
            public bool NonNegative { get; set; }

            /// <summary>
            /// Explicit loss only: the cold-start item prior. 0 (default): an item without training ratings scores
            /// μ + b_u (+ nothing for the item). k ≥ 1: it scores μ + b_u + b_new, where b_new is the mean learned bias of
            /// the items with 1 to k training ratings (the rarest items, whose bias estimates what a brand-new item's bias
            /// tends to be; 0 if no item has so few). Valid 0 or more; int.MaxValue averages every item's bias. Stored in the
            /// model as <see cref="MatrixFactorizationTransformer.UnseenItemBias"/>. Values other than 0 are rejected with
            /// the implicit loss (unseen items score 0 there).
            /// </summary>
            /// <remarks>
            /// Off by default because item cold-start cross-validation did not support it (figures in the README): the
            /// rarest items' mean bias is usually negative (rarely rated items are rated lower), which hurts the many
            /// held-out ratings of items that turn out to be popular and helps only those of items that stay rarely
            /// rated. Use it when new items are themselves expected to be rarely rated, after validating on your own item
            /// cold-start split (all ratings of held-out items predicted; benchmark section <c>cold-start-cv</c>).
            /// </remarks>
            public int ColdStartItemMaxRatings { get; set; }

            /// <summary>Worker threads; null (default) uses all cores. At least 1. Results do not depend on it.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>Random seed of initialisation and SGD order; null (default) takes one from the <see cref="MLContext"/>'s seed.</summary>
            public int? Seed { get; set; }

            /// <summary>
            /// Warm start of user factors, keyed by the user key's value text (or the key number as text when the column
            /// has no key values). Null (default): random. Vectors are projected by a seeded Gaussian random projection when
            /// their dimension differs from <see cref="ApproximationRank"/> and scaled to root-mean-square entry 0.1.
            /// Users missing from the table start from the mean of their items' initial vectors when items are warm-started.
            /// </summary>
            public EmbeddingTable? InitialUserFactors { get; set; }

            /// <summary>
            /// Warm start of item factors (for example item2vec vectors), keyed like <see cref="InitialUserFactors"/>. Null
            /// (default): random. With the implicit loss, the first sweep solves users exactly from these vectors.
            /// </summary>
            public EmbeddingTable? InitialItemFactors { get; set; }

            /// <summary>Called after each iteration with the factors so far (benchmarks and tests; the model is live, read only).</summary>
            internal Action<int, FactorModel>? IterationObserver { get; set; }
        }

        internal MatrixFactorizationEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            Validate(options);
            _options = options;
        }

        /// <summary>Checks every option; throws naming the option, its value and the fix.</summary>
        internal static void Validate(Options options)
        {
            ArgumentNullException.ThrowIfNull(options);
            const string c = ComponentName;
            static string F(double v) => v.ToString(CultureInfo.InvariantCulture);
            if (string.IsNullOrWhiteSpace(options.MatrixColumnIndexColumnName))
                throw new ArgumentException($"{c}: MatrixColumnIndexColumnName is empty; name the user key column (as in ML.NET, the matrix column index is the user).", nameof(options));
            if (string.IsNullOrWhiteSpace(options.MatrixRowIndexColumnName))
                throw new ArgumentException($"{c}: MatrixRowIndexColumnName is empty; name the item key column.", nameof(options));
            if (options.MatrixColumnIndexColumnName == options.MatrixRowIndexColumnName)
                throw new ArgumentException($"{c}: MatrixColumnIndexColumnName and MatrixRowIndexColumnName are both '{options.MatrixRowIndexColumnName}'; use the user column and the item column.", nameof(options));
            if (string.IsNullOrWhiteSpace(options.LabelColumnName))
                throw new ArgumentException($"{c}: LabelColumnName is empty; name the rating (or interaction strength) column.", nameof(options));
            if (string.IsNullOrWhiteSpace(options.ScoreColumnName))
                throw new ArgumentException($"{c}: ScoreColumnName is empty; use \"Score\".", nameof(options));
            if (!Enum.IsDefined(options.LossFunction))
                throw new ArgumentOutOfRangeException(nameof(options), options.LossFunction, $"{c}: LossFunction = {(int)options.LossFunction} is not defined; use SquareLossRegression or SquareLossOneClass.");
            if (options.ApproximationRank is < 1 or > 1024)
                throw new ArgumentOutOfRangeException(nameof(options), options.ApproximationRank, $"{c}: ApproximationRank = {options.ApproximationRank} is invalid; use 1 to 1024 (8 to 128 is usual).");
            if (options.NumberOfIterations < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.NumberOfIterations, $"{c}: NumberOfIterations = {options.NumberOfIterations} is invalid; use 1 or more (20 is usual).");
            if (!(options.Lambda > 0) || double.IsInfinity(options.Lambda))
                throw new ArgumentOutOfRangeException(nameof(options), options.Lambda, $"{c}: Lambda = {F(options.Lambda)} is invalid; use a finite value greater than 0 (0.1 is the default).");
            if (options.NumberOfThreads is < 1)
                throw new ArgumentOutOfRangeException(nameof(options), options.NumberOfThreads, $"{c}: NumberOfThreads = {options.NumberOfThreads} is invalid; use 1 or more, or null for all cores.");
            if (options.InitialUserFactors is { Count: 0 } || options.InitialItemFactors is { Count: 0 })
                throw new ArgumentException($"{c}: a warm-start table (InitialUserFactors or InitialItemFactors) is empty; pass null for random initialisation.", nameof(options));
            if (options.LossFunction == LossFunctionType.SquareLossRegression)
            {
                if (!(options.LearningRate > 0) || double.IsInfinity(options.LearningRate))
                    throw new ArgumentOutOfRangeException(nameof(options), options.LearningRate, $"{c}: LearningRate = {F(options.LearningRate)} is invalid; use a finite value greater than 0 (0.1 is the default).");
                if (options.Alpha != Defaults.Alpha)
                    throw new ArgumentException($"{c}: Alpha = {F(options.Alpha)} applies only to LossFunction = SquareLossOneClass (implicit feedback); remove it, or set LossFunction = SquareLossOneClass.", nameof(options));
                if (options.C != Defaults.C)
                    throw new ArgumentException($"{c}: C = {F(options.C)} applies only to LossFunction = SquareLossOneClass (implicit feedback); remove it, or set LossFunction = SquareLossOneClass.", nameof(options));
                if (options.ColdStartItemMaxRatings < 0)
                    throw new ArgumentOutOfRangeException(nameof(options), options.ColdStartItemMaxRatings, $"{c}: ColdStartItemMaxRatings = {options.ColdStartItemMaxRatings} is invalid; use 0 (off: unseen items score the global mean plus the user bias) or k >= 1 (unseen items also get the mean bias of items with at most k training ratings).");
            }
            else
            {
                if (options.LearningRate != Defaults.LearningRate)
                    throw new ArgumentException($"{c}: LearningRate = {F(options.LearningRate)} does not apply to SquareLossOneClass, which weighted ALS solves exactly without a learning rate; leave it at {F(Defaults.LearningRate)}.", nameof(options));
                if (!(options.Alpha >= 0) || double.IsInfinity(options.Alpha))
                    throw new ArgumentOutOfRangeException(nameof(options), options.Alpha, $"{c}: Alpha = {F(options.Alpha)} is invalid; use a finite value of 0 or more (confidence 1 + Alpha * label; 1 to 40 is usual).");
                if (!(options.C >= 0 && options.C < 1))
                    throw new ArgumentOutOfRangeException(nameof(options), options.C, $"{c}: C = {F(options.C)} is invalid; use 0 <= C < 1 (the value unobserved cells are fitted to; 0 is usual).");
                if (options.ColdStartItemMaxRatings != 0)
                    throw new ArgumentException($"{c}: ColdStartItemMaxRatings = {options.ColdStartItemMaxRatings} applies only to LossFunction = SquareLossRegression (explicit ratings; implicit scores of unseen items are 0); remove it, or set LossFunction = SquareLossRegression.", nameof(options));
                if (options.NonNegative)
                    throw new NotSupportedException($"{c}: NonNegative = true is not supported with SquareLossOneClass (the exact weighted-ALS solve is unconstrained); use SquareLossRegression, or NonNegative = false.");
            }
        }

        /// <summary>Reads the ratings, trains the factors and returns the scoring transformer.</summary>
        public MatrixFactorizationTransformer Fit(IDataView input) => Fit(input, null);

        /// <summary>
        /// Like <see cref="Fit(IDataView)"/>, and after every iteration scores <paramref name="validationData"/> as the returned
        /// transformer would (unseen users, items or missing keys get the fallback score; rows with a NaN label are left out)
        /// and records its root-mean-square error in <see cref="MatrixFactorizationTrainingSummary.ValidationRmsePerIteration"/>
        /// and the MLContext log, as ML.NET's <c>MatrixFactorizationTrainer.Fit(trainData, validationData)</c> reports the
        /// validation loss. Training itself does not read the validation data. Explicit loss only.
        /// </summary>
        /// <param name="trainData">The training ratings.</param>
        /// <param name="validationData">Ratings with the same user, item and label columns; keys are matched by their key values
        /// (or by index when the key columns have no key values), so a separately fitted MapValueToKey is fine.</param>
        /// <exception cref="NotSupportedException">With the implicit loss, which has no rating error to report.</exception>
        public MatrixFactorizationTransformer Fit(IDataView trainData, IDataView? validationData)
        {
            var input = trainData ?? throw new ArgumentNullException(nameof(trainData));
            GetOutputSchema(SchemaShapes.FromSchema(input.Schema));
            if (validationData is not null)
            {
                if (_options.LossFunction == LossFunctionType.SquareLossOneClass)
                    throw new NotSupportedException($"{ComponentName}: validation data applies to the explicit loss (SquareLossRegression), which reports its RMSE per iteration; "
                        + "the implicit loss (SquareLossOneClass) has no rating error to report. Evaluate rankings after Fit instead (e.g. LeaveLastOutEvaluator), or call Fit(trainData).");
                try
                {
                    GetOutputSchema(SchemaShapes.FromSchema(validationData.Schema));
                }
                catch (ArgumentOutOfRangeException e)
                {
                    throw new ArgumentOutOfRangeException(nameof(validationData), $"Validation data: {e.Message}");
                }
            }
            var host = ((IHostEnvironment)_context).Register(ComponentName);
            int seed = _options.Seed ?? host.Rand.Next();
            bool implicitFeedback = _options.LossFunction == LossFunctionType.SquareLossOneClass;
            var watch = Stopwatch.StartNew();
            var schema = input.Schema;
            var userColumn = schema[_options.MatrixColumnIndexColumnName];
            var itemColumn = schema[_options.MatrixRowIndexColumnName];
            var (userKeys, userIndices) = KeyTexts(userColumn);
            var (itemKeys, itemIndices) = KeyTexts(itemColumn);
            var (ratings, skipped) = ReadRatings(input, userKeys.Length, itemKeys.Length, implicitFeedback);
            if (ratings.Count == 0)
                throw new InvalidOperationException($"{ComponentName}: no training rows: every row has a missing key (0) in '{_options.MatrixColumnIndexColumnName}' or '{_options.MatrixRowIndexColumnName}' or a NaN{(implicitFeedback ? " or zero" : "")} label in '{_options.LabelColumnName}' ({skipped} rows skipped).");
            var settings = new FactorTrainingSettings(implicitFeedback, _options.ApproximationRank, _options.NumberOfIterations, (float)_options.Lambda,
                (float)_options.LearningRate, (float)_options.Alpha, (float)_options.C, _options.NonNegative,
                _options.NumberOfThreads ?? Environment.ProcessorCount, (ulong)(uint)seed, _options.InitialUserFactors, _options.InitialItemFactors,
                _options.ColdStartItemMaxRatings);
            ValidationRatings? validation = null;
            if (validationData is not null)
            {
                try
                {
                    validation = ReadValidation(validationData, userKeys, userIndices, itemKeys, itemIndices);
                }
                catch (Exception e) when (e is InvalidOperationException or FormatException)
                {
                    throw new InvalidOperationException($"Validation data: {e.Message}", e);
                }
            }
            var validationRmse = new System.Collections.Generic.List<double>();
            var observer = _options.IterationObserver;
            if (validation is not null)
            {
                observer += (iteration, live) =>
                {
                    double error = validation.Rmse(live);
                    validationRmse.Add(error);
                    using var channel = host.Start("Validation");
                    channel.Info(MessageSensitivity.None, $"iteration {iteration}: validation RMSE {error.ToString("F4", CultureInfo.InvariantCulture)}");
                };
            }
            using var cancellation = ContextCancellation.Watch(_context, ComponentName);
            observer += (_, _) => cancellation.Token.ThrowIfCancellationRequested();
            var model = MatrixFactorizationTraining.Train(ratings, userKeys, itemKeys, settings, observer);
            double rmse = implicitFeedback ? double.NaN : MatrixFactorizationTraining.Rmse(model, ratings);
            var summary = new MatrixFactorizationTrainingSummary(model.UserSeen.Count(s => s), model.ItemSeen.Count(s => s), ratings.Count, skipped,
                _options.NumberOfIterations, watch.Elapsed, rmse, validation?.Rmse(model) ?? double.NaN, validationRmse.ToArray());
            using (var channel = host.Start("Training"))
                channel.Info(MessageSensitivity.None, summary.ToString());
            return new MatrixFactorizationTransformer(model, _options.LossFunction, _options.MatrixColumnIndexColumnName, _options.MatrixRowIndexColumnName,
                _options.ScoreColumnName, userIndices, itemIndices, summary, new FoldInSettings(settings.Lambda, settings.Alpha, settings.NegativeTarget, settings.NonNegative));
        }

        /// <summary>The input's columns and the Single score column. Checks the key and label columns.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            CheckKeyColumn(inputSchema, _options.MatrixColumnIndexColumnName, "MatrixColumnIndexColumnName (users)");
            CheckKeyColumn(inputSchema, _options.MatrixRowIndexColumnName, "MatrixRowIndexColumnName (items)");
            var label = SchemaChecks.FindColumn(inputSchema, _options.LabelColumnName, ComponentName);
            if (label.Kind != SchemaShape.Column.VectorKind.Scalar || label.IsKey || label.ItemType != NumberDataViewType.Single)
                throw SchemaChecks.TypeMismatch(ComponentName, _options.LabelColumnName, "Single (the label of LabelColumnName)", SchemaChecks.Describe(label),
                    $"Convert it first, e.g. mlContext.Transforms.Conversion.ConvertType(\"{_options.LabelColumnName}\", outputKind: DataKind.Single).");
            return SchemaChecks.Append(inputSchema, new[] { (_options.ScoreColumnName, (DataViewType)NumberDataViewType.Single) });
        }

        internal static void CheckKeyColumn(SchemaShape schema, string name, string role)
        {
            var column = SchemaChecks.FindColumn(schema, name, ComponentName);
            if (column.Kind != SchemaShape.Column.VectorKind.Scalar || !column.IsKey || column.ItemType.RawType != typeof(uint))
                throw SchemaChecks.TypeMismatch(ComponentName, name, $"Key<UInt32> for {role}", SchemaChecks.Describe(column),
                    $"Map it to a key first: mlContext.Transforms.Conversion.MapValueToKey(\"{name}\").");
        }

        internal static void CheckKeyColumn(DataViewSchema schema, string name, string role)
        {
            var column = SchemaChecks.FindColumn(schema, name, ComponentName);
            if (column.Type is not KeyDataViewType key || key.RawType != typeof(uint))
                throw SchemaChecks.TypeMismatch(ComponentName, name, $"Key<UInt32> for {role}", column.Type.ToString() ?? column.Type.RawType.Name,
                    $"Map it to a key first: mlContext.Transforms.Conversion.MapValueToKey(\"{name}\").");
        }

        /// <summary>Text of each key (index key - 1): its key value, or the key number when the column has no key values.</summary>
        private static (string[] Keys, bool Indices) KeyTexts(DataViewSchema.Column column)
        {
            ulong count = ((KeyDataViewType)column.Type).Count;
            if (count > int.MaxValue / 2)
                throw new ArgumentOutOfRangeException("input", $"{ComponentName}: key column '{column.Name}' has {count} keys; at most {int.MaxValue / 2} are supported.");
            var keys = new string[count];
            string[]? values = column.Annotations.Schema.GetColumnOrNull(SchemaChecks.KeyValuesKind) is null ? null : SchemaChecks.KeyValueTexts(column);
            var distinct = new System.Collections.Generic.HashSet<string>(StringComparer.Ordinal);
            bool byValue = values is not null;
            for (int k = 0; k < keys.Length; k++)
            {
                keys[k] = values is not null && k < values.Length && values[k].Length > 0 ? values[k] : (k + 1).ToString(CultureInfo.InvariantCulture);
                byValue &= distinct.Add(keys[k]);
            }
            if (!byValue)
            {
                for (int k = 0; k < keys.Length; k++)
                    keys[k] = (k + 1).ToString(CultureInfo.InvariantCulture);
            }
            return (keys, !byValue);
        }

        /// <summary>Validation ratings as model rows (-1: unknown), matched to the model's keys as the transformer matches them.</summary>
        private sealed class ValidationRatings
        {
            private readonly int[] _userRows;
            private readonly int[] _itemRows;
            private readonly float[] _labels;

            public ValidationRatings(int[] userRows, int[] itemRows, float[] labels) => (_userRows, _itemRows, _labels) = (userRows, itemRows, labels);

            /// <summary>RMSE of <paramref name="model"/> (live during training, or final) with the transformer's fallback for unseen keys.</summary>
            public double Rmse(FactorModel model)
            {
                double sum = 0;
                for (int r = 0; r < _labels.Length; r++)
                {
                    int u = _userRows[r], i = _itemRows[r];
                    double error = _labels[r] - model.Score(u >= 0 && model.UserSeen[u] ? u : -1, i >= 0 && model.ItemSeen[i] ? i : -1);
                    sum += error * error;
                }
                return Math.Sqrt(sum / _labels.Length);
            }
        }

        private ValidationRatings ReadValidation(IDataView data, string[] userKeys, bool userIndices, string[] itemKeys, bool itemIndices)
        {
            int[] userMap = MatrixFactorizationTransformer.KeyRows(data.Schema[_options.MatrixColumnIndexColumnName], userIndices, userKeys.Length, IndexOf(userKeys));
            int[] itemMap = MatrixFactorizationTransformer.KeyRows(data.Schema[_options.MatrixRowIndexColumnName], itemIndices, itemKeys.Length, IndexOf(itemKeys));
            var users = new System.Collections.Generic.List<int>();
            var items = new System.Collections.Generic.List<int>();
            var labels = new System.Collections.Generic.List<float>();
            long rows = ForEachRating(data, (user, item, label, row) =>
            {
                if (float.IsNaN(label))
                    return;
                if (float.IsInfinity(label))
                    throw new ArgumentOutOfRangeException("validationData", label, $"Validation data: label column '{_options.LabelColumnName}' has {label.ToString(CultureInfo.InvariantCulture)} at row {row}; ratings must be finite. Filter or clamp such rows first.");
                users.Add(user < (uint)userMap.Length ? userMap[user] : -1);
                items.Add(item < (uint)itemMap.Length ? itemMap[item] : -1);
                labels.Add(label);
            });
            if (labels.Count == 0)
                throw new ArgumentException($"Validation data: no row with a label in '{_options.LabelColumnName}' ({rows} rows, all NaN); pass ratings to validate on, or call Fit(trainData).", "validationData");
            return new ValidationRatings(users.ToArray(), items.ToArray(), labels.ToArray());
        }

        private static Func<string, int> IndexOf(string[] keys)
        {
            var index = FactorModel.Index(keys);
            return key => index.TryGetValue(key, out int row) ? row : -1;
        }

        private (RatingMatrix Ratings, long Skipped) ReadRatings(IDataView input, int users, int items, bool implicitFeedback)
        {
            var userOf = new System.Collections.Generic.List<int>();
            var itemOf = new System.Collections.Generic.List<int>();
            var values = new System.Collections.Generic.List<float>();
            long skipped = 0;
            ForEachRating(input, (user, item, label, row) =>
            {
                if (user == 0 || item == 0 || user > users || item > items || float.IsNaN(label) || (implicitFeedback && label == 0))
                {
                    skipped++;
                    return;
                }
                if (float.IsInfinity(label) || (implicitFeedback && label < 0))
                    throw new ArgumentOutOfRangeException("input", label, $"{ComponentName}: label column '{_options.LabelColumnName}' has {label.ToString(CultureInfo.InvariantCulture)} at row {row}; {(implicitFeedback ? "implicit feedback needs a finite strength of 0 or more (1 for a plain event)" : "ratings must be finite")}. Filter or clamp such rows first.");
                userOf.Add((int)user - 1);
                itemOf.Add((int)item - 1);
                values.Add(label);
            });
            return (RatingMatrix.Create(users, items, userOf.ToArray(), itemOf.ToArray(), values.ToArray()), skipped);
        }

        /// <summary>Calls <paramref name="onRow"/> with the user key, item key, label and 1-based row number of every row; returns the row count.</summary>
        private long ForEachRating(IDataView data, Action<uint, uint, float, long> onRow)
        {
            var schema = data.Schema;
            var userColumn = schema[_options.MatrixColumnIndexColumnName];
            var itemColumn = schema[_options.MatrixRowIndexColumnName];
            var labelColumn = schema[_options.LabelColumnName];
            using var cursor = data.GetRowCursor(new[] { userColumn, itemColumn, labelColumn });
            var getUser = cursor.GetGetter<uint>(userColumn);
            var getItem = cursor.GetGetter<uint>(itemColumn);
            var getLabel = cursor.GetGetter<float>(labelColumn);
            uint user = 0, item = 0;
            float label = 0;
            long row = 0;
            while (cursor.MoveNext())
            {
                getUser(ref user);
                getItem(ref item);
                getLabel(ref label);
                onRow(user, item, label, ++row);
            }
            return row;
        }
    }

    /// <summary>Statistics of one <see cref="MatrixFactorizationEstimator"/> run.</summary>
    /// <param name="Users">Users with at least one training rating.</param>
    /// <param name="Items">Items with at least one training rating.</param>
    /// <param name="Ratings">Training ratings used.</param>
    /// <param name="SkippedRows">Rows skipped: missing key, NaN label, or (implicit) a zero label.</param>
    /// <param name="Iterations">Iterations run.</param>
    /// <param name="TrainingTime">Wall-clock time of reading and training (with validation data, also of scoring it after every iteration).</param>
    /// <param name="TrainingRmse">Root-mean-square error on the training ratings (explicit loss; NaN for implicit).</param>
    /// <param name="ValidationRmse">Root-mean-square error of the returned model on the validation data given to
    /// <see cref="MatrixFactorizationEstimator.Fit(IDataView, IDataView)"/> (what scoring it through the transformer gives); NaN without validation data.</param>
    /// <param name="ValidationRmsePerIteration">The validation RMSE after each iteration (empty without validation data). The last
    /// equals <paramref name="ValidationRmse"/> except with a cold-start item prior, which is set after the last iteration.</param>
    public sealed record MatrixFactorizationTrainingSummary(int Users, int Items, long Ratings, long SkippedRows, int Iterations, TimeSpan TrainingTime, double TrainingRmse,
        double ValidationRmse, System.Collections.Generic.IReadOnlyList<double> ValidationRmsePerIteration)
    {
        /// <inheritdoc/>
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"{Users} users, {Items} items, {Ratings} ratings ({SkippedRows} rows skipped), {Iterations} iterations in {TrainingTime.TotalSeconds:F2} s{(double.IsNaN(TrainingRmse) ? "" : $"; training RMSE {TrainingRmse:F4}")}{(double.IsNaN(ValidationRmse) ? "" : $", validation RMSE {ValidationRmse:F4}")}");
    }
}
