using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.EndToEnd.Sequences;
using Embeddings.Infrastructure;
using Microsoft.ML;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.SequenceRecallTransformer))]

namespace Embeddings
{
    /// <summary>
    /// The result of <see cref="SequenceRecallEstimator"/>: maps the user column to the user's vector (the encoder applied
    /// to the user's last <see cref="HistoryLength"/> training items; zeros for users unknown to the model), and exposes
    /// the model for recall: a user's score of item i is UserVector · <see cref="ItemEmbeddings"/>[i] + <see cref="ItemBiases"/>[i].
    /// </summary>
    /// <remarks>
    /// Recall over the exported tables: <c>CandidateGenerator.FromVectors(UserEmbeddings, ItemEmbeddings, ItemBiases)</c>
    /// (exact or HNSW). Users not seen in training are folded in from a history with <see cref="Score"/>,
    /// <see cref="Recommend"/> or <see cref="EncodeHistory"/>.
    /// </remarks>
    public sealed class SequenceRecallTransformer : RowMappingTransformer, ILoadableTransformer<SequenceRecallTransformer>
    {
        private readonly SequenceRecallModel _model;
        private readonly InputOutputColumnPair _userColumn;
        private readonly float[] _biases;

        internal SequenceRecallTransformer(SequenceRecallModel model, InputOutputColumnPair userColumn)
        {
            _model = model;
            _userColumn = userColumn;
            var p = model.Parameters;
            ItemEmbeddings = new EmbeddingTable(model.Items, p.Output, p.Dimension);
            InputItemEmbeddings = new EmbeddingTable(model.Items, p.Input, p.Dimension);
            _biases = p.OutputBias.ToArray();
        }

        /// <summary>The history encoder.</summary>
        public SequenceRecallArchitecture Architecture => _model.Parameters.Architecture;

        /// <summary>Length of the user and item vectors.</summary>
        public int EmbeddingDimension => _model.Parameters.Dimension;

        /// <summary>Items of history the encoder reads (the last ones).</summary>
        public int HistoryLength => _model.Parameters.HistoryLength;

        /// <summary>The output item embeddings (the vectors users are scored against), keyed by item id, in id order.</summary>
        public EmbeddingTable ItemEmbeddings { get; }

        /// <summary>The output bias of each item of <see cref="ItemEmbeddings"/>, in the same order.</summary>
        public IReadOnlyList<float> ItemBiases => _biases;

        /// <summary>The input item embeddings (what the encoder reads), keyed by item id.</summary>
        public EmbeddingTable InputItemEmbeddings { get; }

        /// <summary>The vector of every training user (from the user's last <see cref="HistoryLength"/> training items), keyed by user id.</summary>
        public EmbeddingTable UserEmbeddings => _model.Users;

        /// <summary>What the training run did (null for a transformer loaded from a saved model).</summary>
        public SequenceRecallTrainingSummary? TrainingSummary => _model.Summary;

        /// <summary>Length of the user side features the model was trained with (0 for none; see <see cref="SequenceRecallEstimator.Options.UserFeaturesColumnName"/>).</summary>
        public int UserFeatureCount => _model.Parameters.FeatureCount;

        /// <summary>The user vector of a history (oldest first; its last <see cref="HistoryLength"/> known items are read, unknown items are left out).</summary>
        /// <param name="history">Item ids, oldest first.</param>
        /// <param name="userFeatures">The user's side features (<see cref="UserFeatureCount"/> values); null: zeros. </param>
        /// <returns>A new array of <see cref="EmbeddingDimension"/> values.</returns>
        /// <exception cref="ArgumentException"><paramref name="userFeatures"/> is not <see cref="UserFeatureCount"/> long.</exception>
        public float[] EncodeHistory(IReadOnlyList<string> history, float[]? userFeatures = null)
        {
            ArgumentNullException.ThrowIfNull(history);
            if (userFeatures is not null && userFeatures.Length != UserFeatureCount)
                throw new ArgumentException($"userFeatures holds {userFeatures.Length} values; the model takes {UserFeatureCount} (pass null for zeros).", nameof(userFeatures));
            return _model.Encode(history, userFeatures);
        }

        /// <summary>Scores every item of <see cref="ItemEmbeddings"/> (in its order) for a user with <paramref name="history"/>.</summary>
        /// <param name="history">Item ids, oldest first.</param>
        /// <param name="scores">Receives one score per item; at least <c>ItemEmbeddings.Count</c> long.</param>
        /// <param name="userFeatures">The user's side features (<see cref="UserFeatureCount"/> values); null: zeros.</param>
        /// <exception cref="ArgumentException"><paramref name="scores"/> is too short, or <paramref name="userFeatures"/> is not <see cref="UserFeatureCount"/> long.</exception>
        public void Score(IReadOnlyList<string> history, Span<float> scores, float[]? userFeatures = null)
        {
            ArgumentNullException.ThrowIfNull(history);
            if (scores.Length < _model.Items.Length)
                throw new ArgumentException($"scores holds {scores.Length} values; the model scores {_model.Items.Length} items. Pass a span of ItemEmbeddings.Count values.", nameof(scores));
            SequenceRecallTrainer.Score(_model.Parameters, EncodeHistory(history, userFeatures), scores);
        }

        /// <summary>The best <paramref name="count"/> items for a user with <paramref name="history"/>, best first, leaving out <paramref name="exclude"/> (null: the history's items).</summary>
        /// <param name="history">Item ids, oldest first.</param>
        /// <param name="count">Items to return; at least 1.</param>
        /// <param name="exclude">Items never returned; null leaves out the items of <paramref name="history"/>.</param>
        /// <param name="userFeatures">The user's side features (<see cref="UserFeatureCount"/> values); null: zeros.</param>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
        /// <exception cref="ArgumentException"><paramref name="userFeatures"/> is not <see cref="UserFeatureCount"/> long.</exception>
        public IReadOnlyList<Neighbor> Recommend(IReadOnlyList<string> history, int count, IReadOnlyCollection<string>? exclude = null, float[]? userFeatures = null)
        {
            ArgumentNullException.ThrowIfNull(history);
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1 (10 is usual).");
            var scores = new float[_model.Items.Length];
            Score(history, scores, userFeatures);
            var excluded = new HashSet<string>(exclude ?? history, StringComparer.Ordinal);
            var order = Enumerable.Range(0, scores.Length).Where(i => !excluded.Contains(_model.Items[i]))
                .OrderByDescending(i => scores[i]).ThenBy(i => i).Take(count);
            return order.Select(i => new Neighbor(_model.Items[i], scores[i])).ToArray();
        }

        internal SequenceRecallModel Model => _model;

        /// <inheritdoc/>
        protected override IReadOnlyList<AppendedColumn> BindColumns(DataViewSchema inputSchema) =>
            EmbeddingColumnMapper.Bind(inputSchema, new[] { _userColumn }, _model.Users, EmbeddingPooling.Mean, SequenceRecallEstimator.ComponentName);

        // Persistence (docs/persistence.md): never change the loader id; bump the state version when the layout changes.
        static string ILoadableTransformer<SequenceRecallTransformer>.LoaderId => "Embeddings.SequenceRecall";

        static int ILoadableTransformer<SequenceRecallTransformer>.StateVersion => 1;

        static IReadOnlyList<string> ILoadableTransformer<SequenceRecallTransformer>.LegacyTypeNames { get; } = [];

        /// <inheritdoc/>
        protected override void SaveState(BinaryWriter writer)
        {
            ColumnPairs.Write(writer, new[] { _userColumn });
            writer.Write(_model.Items.Length);
            foreach (string item in _model.Items)
                writer.Write(item);
            _model.Parameters.Write(writer);
            _model.Users.Save(writer);
        }

        static SequenceRecallTransformer ILoadableTransformer<SequenceRecallTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            const string what = nameof(SequenceRecallTransformer);
            var columns = ColumnPairs.Read(reader);
            if (columns.Length != 1)
                throw new FormatException($"{what}: expected 1 column in the saved model, found {columns.Length}; the model is damaged.");
            int count = reader.ReadInt32();
            if (count is < 1 or > 50_000_000)
                throw new FormatException($"{what}: invalid item count {count} in the saved model; the model is damaged.");
            var items = new string[count];
            for (int i = 0; i < count; i++)
                items[i] = reader.ReadString();
            if (items.Distinct(StringComparer.Ordinal).Count() != count)
                throw new FormatException($"{what}: the saved item ids repeat; the model is damaged.");
            var parameters = SequenceRecallParameters.Read(reader);
            if (parameters.ItemCount != count)
                throw new FormatException($"{what}: the saved network scores {parameters.ItemCount} items but lists {count}; the model is damaged.");
            var users = EmbeddingTable.Load(reader);
            if (users.Dimension != parameters.Dimension)
                throw new FormatException($"{what}: the saved user vectors have dimension {users.Dimension}, the network {parameters.Dimension}; the model is damaged.");
            return new SequenceRecallTransformer(new SequenceRecallModel(items, parameters, users, null), columns[0]);
        }
    }
}
