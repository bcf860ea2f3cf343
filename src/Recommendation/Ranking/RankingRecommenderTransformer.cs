using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

[assembly: EmbeddingsTransformerLoader(typeof(Embeddings.Recommendation.RankingRecommenderTransformer))]

namespace Embeddings.Recommendation
{
    /// <summary>
    /// A trained recommender: the feature transformer followed by the ranker (<see cref="Pipeline"/>), which maps (user,
    /// item) rows to a Score, and the recommendation requests built on them: one user (<see cref="Recommend(MLContext, string, int)"/>),
    /// many users as a streamed <see cref="IDataView"/>, and users given with their history at query time
    /// (<see cref="RecommendForHistory"/>). <c>mlContext.Model.Save</c> saves the whole recommender and <c>mlContext.Model.Load</c>
    /// gives it back as a <see cref="RankingRecommenderTransformer"/>, which still recommends; models saved by version 0.2 (a
    /// plain transformer chain) are turned back into one with <see cref="FromModel"/>.
    /// </summary>
    /// <remarks>
    /// <para><b>Who gets what.</b> A training user: up to <see cref="CandidateCount"/> candidates by the blend score (under the
    /// request's <see cref="RecommendOptions">filters</see>), ordered by the ranker (ties by item id). A user given with a
    /// history of catalog items: the same, with the features computed from that history (item2vec user vector, transitions,
    /// co-occurrences, logit standardisation), at the time of the last training interaction. A user unknown to the model and
    /// given without known items: the most popular items in the training period's recent window, then by all-time popularity
    /// (the Score is the recent count).</para>
    /// </remarks>
    public sealed class RankingRecommenderTransformer : ITransformer, ILoadableTransformer<RankingRecommenderTransformer>
    {
        private const string ComponentName = "RankingRecommender";
        private RecommendationServer? _server;

        internal RankingRecommenderTransformer(RecommendationFeaturesTransformer features, ITransformer ranker, int candidateCount)
        {
            Features = features;
            Ranker = ranker;
            CandidateCount = candidateCount;
            Pipeline = new TransformerChain<ITransformer>(features, ranker);
        }

        /// <summary>The feature transformer (trained on all interactions).</summary>
        public RecommendationFeaturesTransformer Features { get; }

        /// <summary>The ranker's prediction transformer.</summary>
        public ITransformer Ranker { get; }

        /// <summary>The feature transformer and the ranker as one chain.</summary>
        public TransformerChain<ITransformer> Pipeline { get; }

        /// <summary>Candidates recalled per user before re-ranking.</summary>
        public int CandidateCount { get; }

        /// <summary>True: the chain maps row to row.</summary>
        public bool IsRowToRowMapper => true;

        private RecommendationServer Server => _server ??= new RecommendationServer(this);

        /// <summary>
        /// The recommender in <paramref name="model"/>: a <see cref="RankingRecommenderTransformer"/> loaded by
        /// <c>mlContext.Model.Load</c> is returned as is; a transformer chain of the recommendation features and a ranker
        /// (how version 0.2 saved a recommender) is rebuilt into one, with <paramref name="candidateCount"/> candidates per user.
        /// </summary>
        /// <param name="model">What <c>mlContext.Model.Load</c> returned.</param>
        /// <param name="candidateCount">Candidates per user for a rebuilt chain (the chain does not record it). Default 100; 10 to 100,000.</param>
        /// <exception cref="ArgumentException"><paramref name="model"/> is not a recommender.</exception>
        public static RankingRecommenderTransformer FromModel(ITransformer model, int candidateCount = 100)
        {
            ArgumentNullException.ThrowIfNull(model);
            OptionChecks.Check(ComponentName, candidateCount is >= 10 and <= 100_000, nameof(candidateCount), candidateCount, "use 10 to 100,000 (100 is the default)");
            if (model is RankingRecommenderTransformer recommender)
                return recommender;
            if (model is TransformerChain<ITransformer> chain)
            {
                var parts = chain.ToArray();
                if (parts.Length == 2 && parts[0] is RecommendationFeaturesTransformer features)
                    return new RankingRecommenderTransformer(features, parts[1], candidateCount);
                throw new ArgumentException(
                    $"{ComponentName}: the model is a chain of {parts.Length} transformers ({string.Join(", ", parts.Select(p => p.GetType().Name))}), not a saved recommender (recommendation features, then a ranker). Load a model saved from a RankingRecommenderTransformer.",
                    nameof(model));
            }
            throw new ArgumentException(
                $"{ComponentName}: the model is a {model.GetType().Name}, not a recommender. Load a model saved from a RankingRecommenderTransformer (for example by 'embeddings fit-recommender').",
                nameof(model));
        }

        /// <summary>Loads a recommender saved with <c>mlContext.Model.Save</c> (by this version or by version 0.2) from <paramref name="path"/>.</summary>
        /// <exception cref="FileNotFoundException">There is no such file.</exception>
        /// <exception cref="ArgumentException">The file is an ML.NET model of something else.</exception>
        /// <exception cref="FormatException">The file is not an ML.NET model, or it is damaged.</exception>
        public static RankingRecommenderTransformer Load(MLContext mlContext, string path)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (!File.Exists(path))
                throw new FileNotFoundException($"{ComponentName}: the model file '{path}' does not exist.", path);
            ITransformer model;
            try
            {
                model = mlContext.Model.Load(path, out _);
            }
            catch (Exception e) when (e is InvalidDataException or FormatException or InvalidOperationException or System.Reflection.TargetInvocationException)
            {
                throw new FormatException($"{ComponentName}: '{path}' is not a readable ML.NET model: {(e.InnerException ?? e).Message}", e);
            }
            return FromModel(model);
        }

        /// <summary>The output schema of <see cref="Pipeline"/>.</summary>
        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Pipeline.GetOutputSchema(inputSchema);

        /// <summary>Scores (user, item) rows: appends Features and Score.</summary>
        public IDataView Transform(IDataView input) => Pipeline.Transform(input);

        /// <summary>The row-to-row mapper of <see cref="Pipeline"/>, for prediction engines.</summary>
        public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => ((ITransformer)Pipeline).GetRowToRowMapper(inputSchema);

        /// <summary>
        /// The best <paramref name="count"/> items for <paramref name="user"/> that the user has not interacted with, best first
        /// (see the remarks of the class; an unknown user gets popular items).
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1.</exception>
        public IReadOnlyList<(string Item, float Score)> Recommend(MLContext mlContext, string user, int count) => Recommend(mlContext, user, count, null);

        /// <summary>The best <paramref name="count"/> items for <paramref name="user"/> under <paramref name="options"/>' filters, best first.</summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1, or an option is invalid.</exception>
        public IReadOnlyList<(string Item, float Score)> Recommend(MLContext mlContext, string user, int count, RecommendOptions? options)
        {
            ArgumentNullException.ThrowIfNull(user);
            return List(mlContext, new UserRequest(user, null), count, options);
        }

        /// <summary>
        /// Recommendations for a user unknown to the model, from the items the user interacted with (oldest first), given at
        /// query time ("fold-in"): the features are computed from this history. Items not in the catalog are ignored; with
        /// no known item, the user gets popular items.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1, or an option is invalid.</exception>
        public IReadOnlyList<(string Item, float Score)> RecommendForHistory(MLContext mlContext, IReadOnlyList<string> history, int count, RecommendOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(history);
            return List(mlContext, new UserRequest("", history), count, options);
        }

        /// <summary>
        /// Recommendations for many users as an <see cref="IDataView"/> with columns User (Text), Item (Text), Score (Single) and
        /// Rank (Int32, 1 = best), <paramref name="count"/> rows per user (fewer when the filters leave fewer items), users in the
        /// order given. Lazy: each cursor enumerates <paramref name="users"/> once and scores them in parallel batches as it reads,
        /// so the output is streamed, never held whole.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1, or an option is invalid.</exception>
        public IDataView Recommend(MLContext mlContext, IEnumerable<string> users, int count, RecommendOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(users);
            return View(mlContext, () => users.Select(u => new UserRequest(u ?? throw new ArgumentException($"{ComponentName}: a user id is null.", nameof(users)), null)), count, options);
        }

        /// <summary>
        /// As <see cref="Recommend(MLContext, IEnumerable{string}, int, RecommendOptions?)"/>, for the users of column
        /// <paramref name="userColumnName"/> of <paramref name="users"/> (Text, <c>Key&lt;UInt32&gt;</c> with key values, or an
        /// integer id), in row order.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException">The column is missing or of another type, <paramref name="count"/> is less than 1, or an option is invalid.</exception>
        public IDataView Recommend(MLContext mlContext, IDataView users, string userColumnName, int count, RecommendOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(users);
            ArgumentNullException.ThrowIfNull(userColumnName);
            var column = IdColumns.CheckId(users.Schema, userColumnName, ComponentName);
            return View(mlContext, () => ReadUsers(users, column), count, options);
        }

        /// <summary>
        /// Recommendations for users given with their histories at query time (fold-in; see <see cref="RecommendForHistory"/>),
        /// as the <see cref="IDataView"/> of <see cref="Recommend(MLContext, IEnumerable{string}, int, RecommendOptions?)"/>.
        /// </summary>
        /// <exception cref="ArgumentOutOfRangeException"><paramref name="count"/> is less than 1, or an option is invalid.</exception>
        public IDataView RecommendForHistories(MLContext mlContext, IEnumerable<(string User, IReadOnlyList<string> History)> users, int count, RecommendOptions? options = null)
        {
            ArgumentNullException.ThrowIfNull(users);
            return View(mlContext, () => users.Select(u => new UserRequest(u.User ?? throw new ArgumentException($"{ComponentName}: a user id is null.", nameof(users)),
                u.History ?? throw new ArgumentException($"{ComponentName}: the history of user '{u.User}' is null; give an empty list for a user without history.", nameof(users)))), count, options);
        }

        private static IEnumerable<UserRequest> ReadUsers(IDataView users, DataViewSchema.Column column)
        {
            using var cursor = users.GetRowCursor(new[] { column });
            var id = IdColumns.GetIdGetter(cursor, column);
            while (cursor.MoveNext())
                yield return new UserRequest(id().ToString(), null);
        }

        private IReadOnlyList<(string Item, float Score)> List(MLContext mlContext, UserRequest request, int count, RecommendOptions? options)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            CheckCount(count);
            options ??= new RecommendOptions();
            options.Validate(ComponentName);
            var filter = new RecommendationFilter(Features.Featurizer.Items, Features.Featurizer.ItemIndex, options);
            return Server.Score(mlContext, [request], count, filter).Select(r => (r.Item, r.Score)).ToArray();
        }

        private RecommendationsDataView View(MLContext mlContext, Func<IEnumerable<UserRequest>> users, int count, RecommendOptions? options)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            CheckCount(count);
            options ??= new RecommendOptions();
            options.Validate(ComponentName);
            var filter = new RecommendationFilter(Features.Featurizer.Items, Features.Featurizer.ItemIndex, options);
            return new RecommendationsDataView(mlContext, Server, users, count, filter, options.NumberOfThreads ?? Environment.ProcessorCount, options.UsersPerBatch);
        }

        private static void CheckCount(int count) =>
            OptionChecks.Check(ComponentName, count >= 1, "count", count, "ask for 1 or more recommendations per user (10 is usual)");

        // Persistence (docs/persistence.md): the recommender saves its candidate count and the chain of features and ranker
        // as a nested ML.NET model, so that mlContext.Model.Load gives back a recommender. Never change the id; bump the
        // version when the layout changes.
        static string ILoadableTransformer<RankingRecommenderTransformer>.LoaderId => "Embeddings.RankingRecommender";

        static int ILoadableTransformer<RankingRecommenderTransformer>.StateVersion => 1;

        void ICanSaveModel.Save(ModelSaveContext ctx) => TransformerPersistence.Save(ctx, this, writer =>
        {
            writer.Write(CandidateCount);
            using var nested = new MemoryStream();
            new MLContext(seed: 0).Model.Save(Pipeline, null, nested);
            writer.Write(nested.Length);
            writer.Write(nested.GetBuffer(), 0, (int)nested.Length);
        });

        static RankingRecommenderTransformer ILoadableTransformer<RankingRecommenderTransformer>.Load(BinaryReader reader, int stateVersion)
        {
            int candidates = reader.ReadInt32();
            if (candidates is < 10 or > 100_000)
                throw new FormatException($"{ComponentName}: invalid candidate count {candidates} in the saved model.");
            long length = reader.ReadInt64();
            byte[] bytes = BinaryState.ReadArray<byte>(reader, length, "bytes of the nested features-and-ranker model");
            ITransformer chain;
            using (var stream = new MemoryStream(bytes, writable: false))
                chain = new MLContext(seed: 0).Model.Load(stream, out _);
            try
            {
                return FromModel(chain, candidates);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{ComponentName}: the nested model is not a features-and-ranker chain; the model is damaged.", e);
            }
        }
    }
}
