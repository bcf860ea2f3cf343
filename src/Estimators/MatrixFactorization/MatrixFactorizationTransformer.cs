using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;
using Embeddings.MatrixFactorization;
using Microsoft.ML;
using Microsoft.ML.Data;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.MatrixFactorizationTransformer))]

namespace Embeddings
{
    /// <summary>
    /// The result of <see cref="MatrixFactorizationEstimator"/>: appends a Single score column computed from the user
    /// and item key columns. Explicit loss: μ + b_u + b_i + p_u·q_i. Implicit loss: p_u·q_i.
    /// </summary>
    /// <remarks>
    /// <para><b>Unseen users and items.</b> A missing key (0), a key beyond the trained range, a key value not seen in
    /// training, or a user or item without training ratings has no factors and no bias: with the explicit loss the score
    /// falls back to μ plus the bias of the side that is known (μ when neither is), plus <see cref="UnseenItemBias"/> for an
    /// unseen item (0 unless trained with <see cref="MatrixFactorizationEstimator.Options.ColdStartItemMaxRatings"/>); with the
    /// implicit loss it is 0.
    /// Cursors never throw on values.</para>
    /// <para>Keys are matched by their key value text when both the training and the scored column carry key values
    /// (so a different <c>MapValueToKey</c> numbering is harmless), otherwise by key number.</para>
    /// </remarks>
    public sealed class MatrixFactorizationTransformer : RowMappingTransformer, ILoadableTransformer<MatrixFactorizationTransformer>
    {
        private readonly FactorModel _model;
        private readonly bool _userKeysAreIndices;
        private readonly bool _itemKeysAreIndices;
        private EmbeddingTable? _userFactors;
        private EmbeddingTable? _itemFactors;
        private readonly FoldInSettings? _foldIn;
        private (float[] Gram, float[] Sum)? _itemGram;
        private int[]? _itemFactorRows;

        internal MatrixFactorizationTransformer(FactorModel model, MatrixFactorizationEstimator.LossFunctionType loss, string userColumn, string itemColumn,
            string scoreColumn, bool userKeysAreIndices, bool itemKeysAreIndices, MatrixFactorizationTrainingSummary? summary, FoldInSettings? foldIn)
        {
            _foldIn = foldIn;
            _model = model;
            LossFunction = loss;
            MatrixColumnIndexColumnName = userColumn;
            MatrixRowIndexColumnName = itemColumn;
            ScoreColumnName = scoreColumn;
            _userKeysAreIndices = userKeysAreIndices;
            _itemKeysAreIndices = itemKeysAreIndices;
            TrainingSummary = summary;
        }

        /// <summary>The loss the factors were trained with.</summary>
        public MatrixFactorizationEstimator.LossFunctionType LossFunction { get; }

        /// <summary>The user key column read by the transformer.</summary>
        public string MatrixColumnIndexColumnName { get; }

        /// <summary>The item key column read by the transformer.</summary>
        public string MatrixRowIndexColumnName { get; }

        /// <summary>The appended Single column.</summary>
        public string ScoreColumnName { get; }

        /// <summary>Number of latent factors.</summary>
        public int ApproximationRank => _model.Rank;

        /// <summary>μ, the mean training rating (explicit loss); 0 for the implicit loss.</summary>
        public float GlobalBias => _model.GlobalMean;

        /// <summary>
        /// The bias added for an item without training ratings (explicit loss): the cold-start item prior learned with
        /// <see cref="MatrixFactorizationEstimator.Options.ColdStartItemMaxRatings"/>; 0 when that option is 0 and for the implicit loss.
        /// </summary>
        public float UnseenItemBias => _model.UnseenItemBias;

        /// <summary>
        /// The user factors of users seen in training, keyed by the user key's value text (or the key number as text when
        /// the key column has no key values): usable with <c>ApplyEmbedding</c>, <c>MostSimilar</c> and the search tools.
        /// </summary>
        public EmbeddingTable UserFactors => _userFactors ??= _model.Table(users: true);

        /// <summary>The item factors of items seen in training, keyed like <see cref="UserFactors"/>.</summary>
        public EmbeddingTable ItemFactors => _itemFactors ??= _model.Table(users: false);

        /// <summary>Statistics of the training run (null for a transformer loaded from a saved model).</summary>
        public MatrixFactorizationTrainingSummary? TrainingSummary { get; }

        internal FactorModel Model => _model;

        /// <summary>The user's bias b_u (0 for the implicit loss and for a user not seen in training).</summary>
        public float GetUserBias(string userKey)
        {
            ArgumentNullException.ThrowIfNull(userKey);
            int u = _model.UserIndexOf(userKey);
            return u < 0 ? 0 : _model.UserBias[u];
        }

        /// <summary>The item's bias b_i (0 for the implicit loss and for an item not seen in training).</summary>
        public float GetItemBias(string itemKey)
        {
            ArgumentNullException.ThrowIfNull(itemKey);
            int i = _model.ItemIndexOf(itemKey);
            return i < 0 ? 0 : _model.ItemBias[i];
        }

        /// <summary>The score of a user and an item given by their key texts, with the same fallback for unseen ones as the score column.</summary>
        public float Score(string userKey, string itemKey)
        {
            ArgumentNullException.ThrowIfNull(userKey);
            ArgumentNullException.ThrowIfNull(itemKey);
            return _model.Score(Seen(_model.UserIndexOf(userKey), _model.UserSeen), Seen(_model.ItemIndexOf(itemKey), _model.ItemSeen));
        }

        /// <summary>
        /// Folds a new user (or a user's new interactions) into the model without retraining: solves the user's factor
        /// against the fixed item factors with the objective and the Lambda, Alpha and C of training. Implicit loss: the
        /// weighted-ALS step for one user (ratings of a repeated item summed, zero ratings skipped, as in training).
        /// Explicit loss: the ridge regression Σ (r − μ − b_u − b_i − p·q_i)² + Lambda × n × (|p|² + b_u²) over the user's n
        /// ratings, which gives the factor and the bias. Items without trained factors are skipped. The model is not
        /// changed; score the result with <see cref="Score(FoldedInUser, string)"/> or <see cref="ScoreItems"/>.
        /// </summary>
        /// <param name="interactions">The user's (item key text, rating or label) pairs.</param>
        /// <returns>The user's factor and bias, and how many interactions were used.</returns>
        /// <exception cref="ArgumentException">A rating is not finite, an item is null, or no interaction has a known item.</exception>
        /// <exception cref="InvalidOperationException">The model was saved before this version and does not record its regularisation settings.</exception>
        /// <exception cref="NotSupportedException">The model was trained with NonNegative = true (explicit loss).</exception>
        public FoldedInUser FoldInUser(IEnumerable<(string Item, float Rating)> interactions)
        {
            ArgumentNullException.ThrowIfNull(interactions);
            var settings = _foldIn ?? throw new InvalidOperationException(
                "MatrixFactorization.FoldInUser: this model was saved before state version 3 and does not record the Lambda, Alpha and C it was trained with, which the fold-in solves with. Retrain the model with this version.");
            return FoldIn.Solve(_model, settings, interactions, () => _itemGram ??= ItemGram());
        }

        private (float[] Gram, float[] Sum) ItemGram()
        {
            int k = _model.Rank;
            var gram = new float[k * k];
            var sum = new float[k];
            AlsSolver.Gram(_model.ItemFactors, _model.ItemCount, k, gram, sum);
            return (gram, sum);
        }

        /// <summary>The score of a folded-in user and an item, as the score column computes it (the unseen-item fallback included).</summary>
        /// <param name="user">A result of <see cref="FoldInUser"/> on this model.</param>
        /// <param name="itemKey">The item's key text.</param>
        /// <exception cref="ArgumentException">The user's factor does not have <see cref="ApproximationRank"/> entries.</exception>
        public float Score(FoldedInUser user, string itemKey)
        {
            CheckFolded(user);
            ArgumentNullException.ThrowIfNull(itemKey);
            int i = Seen(_model.ItemIndexOf(itemKey), _model.ItemSeen);
            float score = _model.GlobalMean + user.Bias;
            if (i < 0)
                return _model.Implicit ? score : score + _model.UnseenItemBias;
            return score + _model.ItemBias[i] + Kernels.VectorMath.Dot(user.Factors, _model.ItemRow(i));
        }

        /// <summary>
        /// The scores of a folded-in user against every item with trained factors, in the order of
        /// <see cref="ItemFactors"/>'s keys: rank them to recommend.
        /// </summary>
        /// <param name="user">A result of <see cref="FoldInUser"/> on this model.</param>
        /// <exception cref="ArgumentException">The user's factor does not have <see cref="ApproximationRank"/> entries.</exception>
        public float[] ScoreItems(FoldedInUser user)
        {
            CheckFolded(user);
            var rows = _itemFactorRows ??= ItemFactorRows();
            var scores = new float[rows.Length];
            for (int j = 0; j < scores.Length; j++)
            {
                int i = rows[j];
                scores[j] = _model.GlobalMean + user.Bias + _model.ItemBias[i] + Kernels.VectorMath.Dot(user.Factors, _model.ItemRow(i));
            }
            return scores;
        }

        /// <summary>The model row of each key of <see cref="ItemFactors"/>, in order.</summary>
        private int[] ItemFactorRows()
        {
            var keys = ItemFactors.Keys;
            var rows = new int[keys.Count];
            for (int j = 0; j < rows.Length; j++)
                rows[j] = _model.ItemIndexOf(keys[j]);
            return rows;
        }

        private void CheckFolded(FoldedInUser user)
        {
            ArgumentNullException.ThrowIfNull(user);
            if (user.Factors is null || user.Factors.Length != _model.Rank)
                throw new ArgumentException($"MatrixFactorization: the folded-in user has {user.Factors?.Length ?? 0} factors but the model's rank is {_model.Rank}; fold the user in with this model's FoldInUser.", nameof(user));
        }

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema)
        {
            MatrixFactorizationEstimator.CheckKeyColumn(inputSchema, MatrixColumnIndexColumnName, "MatrixColumnIndexColumnName (users)");
            MatrixFactorizationEstimator.CheckKeyColumn(inputSchema, MatrixRowIndexColumnName, "MatrixRowIndexColumnName (items)");
            var user = inputSchema[MatrixColumnIndexColumnName];
            var item = inputSchema[MatrixRowIndexColumnName];
            int[] userMap = KeyMap(user, _userKeysAreIndices, _model.UserKeys, _model.UserSeen, _model.UserIndexOf);
            int[] itemMap = KeyMap(item, _itemKeysAreIndices, _model.ItemKeys, _model.ItemSeen, _model.ItemIndexOf);
            var model = _model;
            var column = new AppendedColumn(ScoreColumnName, NumberDataViewType.Single, new[] { user.Index, item.Index }, row =>
            {
                var getUser = row.GetGetter<uint>(row.Schema[user.Index]);
                var getItem = row.GetGetter<uint>(row.Schema[item.Index]);
                uint u = 0, i = 0;
                ValueGetter<float> getter = (ref float score) =>
                {
                    getUser(ref u);
                    getItem(ref i);
                    score = model.Score(u < (uint)userMap.Length ? userMap[u] : -1, i < (uint)itemMap.Length ? itemMap[i] : -1);
                };
                return getter;
            });
            return new[] { column };
        }

        /// <summary>Model row of each key number of the scored column (index 0, the missing key, gives -1), -1 for rows without training ratings.</summary>
        private static int[] KeyMap(DataViewSchema.Column column, bool modelKeysAreIndices, string[] modelKeys, bool[] seen, Func<string, int> indexOf)
        {
            int[] map = KeyRows(column, modelKeysAreIndices, modelKeys.Length, indexOf);
            for (int k = 0; k < map.Length; k++)
                map[k] = Seen(map[k], seen);
            return map;
        }

        /// <summary>
        /// Model row of each key number of <paramref name="column"/> (index 0, the missing key, gives -1): by key value text when the
        /// model's keys are texts and the column has key values, else by key number. The one matching rule for scoring and validation.
        /// </summary>
        internal static int[] KeyRows(DataViewSchema.Column column, bool modelKeysAreIndices, int modelKeyCount, Func<string, int> indexOf)
        {
            bool byText = !modelKeysAreIndices && column.Annotations.Schema.GetColumnOrNull(SchemaChecks.KeyValuesKind) is not null;
            if (!byText)
            {
                var direct = new int[modelKeyCount + 1];
                for (int k = 0; k < direct.Length; k++)
                    direct[k] = k - 1;
                return direct;
            }
            return SchemaChecks.MapKeysToRows(column, indexOf);
        }

        private static int Seen(int row, bool[] seen) => row >= 0 && seen[row] ? row : -1;

        // Persistence (docs/persistence.md): saved models record the loader id, the state version and, in the first
        // format, the legacy type name. Never change the id or the legacy name; bump the version when the layout changes.
        // State version 2 appends UnseenItemBias; version 1 models (no cold-start prior) still load, with UnseenItemBias 0.
        // State version 3 appends Lambda, Alpha, C and NonNegative (for FoldInUser); earlier models load without them.
        static string ILoadableTransformer<MatrixFactorizationTransformer>.LoaderId => "Embeddings.MatrixFactorization";

        static int ILoadableTransformer<MatrixFactorizationTransformer>.StateVersion => 3;

        static IReadOnlyList<string> ILoadableTransformer<MatrixFactorizationTransformer>.LegacyTypeNames { get; } =
            ["Embeddings.MatrixFactorizationTransformer, Embeddings.Estimators"];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            writer.Write((int)LossFunction);
            writer.Write(MatrixColumnIndexColumnName);
            writer.Write(MatrixRowIndexColumnName);
            writer.Write(ScoreColumnName);
            writer.Write(_userKeysAreIndices);
            writer.Write(_itemKeysAreIndices);
            _model.Write(writer);
            writer.Write(_model.UnseenItemBias);
            writer.Write(_foldIn is not null);
            if (_foldIn is not null)
            {
                writer.Write(_foldIn.Lambda);
                writer.Write(_foldIn.Alpha);
                writer.Write(_foldIn.NegativeTarget);
                writer.Write(_foldIn.NonNegative);
            }
        }

        static MatrixFactorizationTransformer ILoadableTransformer<MatrixFactorizationTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            var loss = (MatrixFactorizationEstimator.LossFunctionType)reader.ReadInt32();
            if (!Enum.IsDefined(loss))
                throw new FormatException($"{nameof(MatrixFactorizationTransformer)}: unknown loss function {(int)loss} in the saved model.");
            string user = reader.ReadString(), item = reader.ReadString(), score = reader.ReadString();
            bool userIndices = reader.ReadBoolean(), itemIndices = reader.ReadBoolean();
            var model = FactorModel.Read(reader);
            if (stateVersion >= 2)
            {
                float unseen = reader.ReadSingle();
                if (!float.IsFinite(unseen) || (model.Implicit && unseen != 0))
                    throw new FormatException($"{nameof(MatrixFactorizationTransformer)}: invalid unseen-item bias {unseen} in the saved model.");
                model.UnseenItemBias = unseen;
            }
            FoldInSettings? foldIn = null;
            if (stateVersion >= 3 && reader.ReadBoolean())
            {
                foldIn = new FoldInSettings(reader.ReadSingle(), reader.ReadSingle(), reader.ReadSingle(), reader.ReadBoolean());
                if (!float.IsFinite(foldIn.Lambda) || foldIn.Lambda < 0 || !float.IsFinite(foldIn.Alpha) || !float.IsFinite(foldIn.NegativeTarget))
                    throw new FormatException($"{nameof(MatrixFactorizationTransformer)}: invalid regularisation settings in the saved model ({foldIn}).");
            }
            return new MatrixFactorizationTransformer(model, loss, user, item, score, userIndices, itemIndices, summary: null, foldIn);
        }
    }
}
