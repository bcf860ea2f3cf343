using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using Embeddings.EndToEnd.Sequences;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// The end-to-end sequence model of the ranking features (a <see cref="SequenceRecallEstimator"/> network, GRU or
    /// mean pooling) over the feature state's catalog, with the user vector of every user of the state (the network
    /// applied to the user's history). Item i of the network is catalog item i. Immutable.
    /// </summary>
    internal sealed class SequenceFeatureModel
    {
        private readonly float[] _users;

        private SequenceFeatureModel(SequenceRecallParameters parameters, float[] users)
        {
            Parameters = parameters;
            _users = users;
        }

        /// <summary>The network.</summary>
        public SequenceRecallParameters Parameters { get; }

        /// <summary>Length of the user and item vectors.</summary>
        public int Dimension => Parameters.Dimension;

        /// <summary>Trains the network on <paramref name="histories"/> (catalog indices, oldest first) of a catalog of <paramref name="catalog"/> items.</summary>
        /// <exception cref="InvalidOperationException">No history has two or more items, or the network is too large.</exception>
        public static SequenceFeatureModel Train(string[] catalog, string[] users, int[][] histories, SequenceRecallEstimator.Options options, int seed, int? threads, CancellationToken cancellation)
        {
            var settings = options.Clone();
            settings.NumberOfThreads = threads ?? settings.NumberOfThreads;
            settings.CancellationToken = cancellation;
            settings.Progress = null;
            settings.UserColumnName = "User";
            settings.ItemColumnName = "Item";
            settings.TimestampColumnName = null;
            var sequences = new List<(string User, IReadOnlyList<string> Items)>(users.Length);
            for (int u = 0; u < users.Length; u++)
                sequences.Add((users[u], histories[u].Select(i => catalog[i]).ToArray()));
            var model = SequenceRecallModel.Train(sequences, null, null, settings, settings.Seed ?? seed, cancellation, null);
            // The network's vocabulary is the items of the histories in id order: the catalog itself.
            if (!model.Items.AsSpan().SequenceEqual(catalog))
                throw new InvalidOperationException($"{RecommendationFeaturesEstimator.ComponentName}: the sequence model's items differ from the feature catalog; every catalog item must occur in a history.");
            return Create(model.Parameters, histories, settings.NumberOfThreads ?? Environment.ProcessorCount);
        }

        /// <summary>The model of <paramref name="parameters"/> with the vectors of <paramref name="histories"/>' users.</summary>
        public static SequenceFeatureModel Create(SequenceRecallParameters parameters, int[][] histories, int threads) =>
            new(parameters, SequenceRecallTrainer.Encode(parameters, histories, Math.Max(1, threads)));

        /// <summary>The same network with the vectors of other users (<paramref name="histories"/>, catalog indices, oldest first).</summary>
        public SequenceFeatureModel WithUsers(int[][] histories) => Create(Parameters, histories, 1);

        /// <summary>The score (logit) u · W_i + b_i of every catalog item for <paramref name="user"/> into <paramref name="scores"/> (catalog length).</summary>
        public void Scores(int user, Span<float> scores) =>
            SequenceRecallTrainer.Score(Parameters, _users.AsSpan(user * Parameters.Dimension, Parameters.Dimension), scores);

        /// <summary>Writes the network (<see cref="SequenceRecallParameters.Write"/>); the user vectors are recomputed on reading.</summary>
        public void Write(BinaryWriter writer) => Parameters.Write(writer);

        /// <summary>Reads a network written by <see cref="Write"/> for a catalog of <paramref name="items"/> items and encodes <paramref name="histories"/>.</summary>
        /// <exception cref="FormatException">The network does not fit the catalog, or it is damaged.</exception>
        public static SequenceFeatureModel Read(BinaryReader reader, int items, int[][] histories)
        {
            var parameters = SequenceRecallParameters.Read(reader);
            if (parameters.ItemCount != items)
                throw new FormatException($"Recommendation features: the saved sequence model scores {parameters.ItemCount} items but the catalog holds {items}; the model is damaged.");
            if (parameters.FeatureCount != 0)
                throw new FormatException($"Recommendation features: the saved sequence model takes {parameters.FeatureCount} user features; the ranking features' sequence model takes none. The model is damaged.");
            return Create(parameters, histories, 1);
        }
    }
}
