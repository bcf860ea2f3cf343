using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Recommendation
{
    /// <summary>How candidates are scored for a user.</summary>
    public enum CandidateScoring
    {
        /// <summary>Cosine of the user vector and the item's input vector.</summary>
        Cosine = 0,

        /// <summary>The user vector dotted with the item's context (output) vector: skip-gram's own prediction; usually the best.</summary>
        InputOutputLogit = 1,

        /// <summary>The item's number of training interactions (the same for every user).</summary>
        Popularity = 2,

        /// <summary>
        /// The user vector dotted with the item vector, plus the item's bias when it has one: the score of a sequence recall
        /// model (<c>SequenceRecallTransformer</c>) or of matrix factorization. Generators from <see cref="CandidateGenerator.FromVectors"/> only.
        /// </summary>
        DotProduct = 3,
    }

    /// <summary>One recalled item for a user.</summary>
    /// <param name="User">The user.</param>
    /// <param name="Item">The item.</param>
    /// <param name="Score">The recall score (higher is better).</param>
    /// <param name="Rank">1 for the best candidate of the user.</param>
    public sealed record Candidate(string User, string Item, float Score, int Rank);

    /// <summary>
    /// The recall layer: for a user, the top-K items by a <see cref="CandidateScoring"/>, excluding the items the user
    /// has already seen; as a list, or as candidate rows (User, Item, Score, Rank, GroupId) that ML.NET rankers take
    /// with <c>rowGroupColumnName: "GroupId"</c>. Built on an <see cref="Item2VecTransformer"/>, or on user and item vector
    /// tables with item biases (<see cref="FromVectors"/>: a sequence recall model's, matrix factorization's); searches are
    /// exact (<see cref="ExactNeighborIndex"/>) unless approximate indexes are supplied.
    /// </summary>
    public sealed class CandidateGenerator
    {
        private readonly Item2VecTransformer? _model;
        private readonly INearestNeighborIndex? _cosine;
        private readonly INearestNeighborIndex? _logit;
        private readonly (string Item, float Count)[] _popular;
        private readonly EmbeddingTable? _users;
        private readonly INearestNeighborIndex? _dot;
        private readonly bool _withBias;

        /// <summary>Creates the generator.</summary>
        /// <param name="model">A fitted item2vec model (context vectors are needed for <see cref="CandidateScoring.InputOutputLogit"/>).</param>
        /// <param name="itemCounts">Training interactions per item, for <see cref="CandidateScoring.Popularity"/>; null to leave it unavailable.</param>
        /// <param name="cosineIndex">Optional index over <c>model.ItemEmbeddings</c> by cosine (for example an HNSW index); exact by default.</param>
        /// <param name="logitIndex">Optional index over <c>model.ContextEmbeddings</c> by dot product; exact by default.</param>
        public CandidateGenerator(Item2VecTransformer model, IReadOnlyDictionary<string, long>? itemCounts = null, INearestNeighborIndex? cosineIndex = null, INearestNeighborIndex? logitIndex = null)
        {
            _model = model ?? throw new ArgumentNullException(nameof(model));
            if (cosineIndex is not null && (!ReferenceEquals(cosineIndex.Table, model.ItemEmbeddings) || cosineIndex.Metric != SimilarityMetric.Cosine))
                throw new ArgumentException("cosineIndex must index model.ItemEmbeddings by SimilarityMetric.Cosine.", nameof(cosineIndex));
            if (logitIndex is not null && (model.ContextEmbeddings is null || !ReferenceEquals(logitIndex.Table, model.ContextEmbeddings) || logitIndex.Metric != SimilarityMetric.DotProduct))
                throw new ArgumentException("logitIndex must index model.ContextEmbeddings by SimilarityMetric.DotProduct.", nameof(logitIndex));
            _cosine = cosineIndex ?? new ExactNeighborIndex(model.ItemEmbeddings, SimilarityMetric.Cosine);
            _logit = logitIndex ?? (model.ContextEmbeddings is null ? null : new ExactNeighborIndex(model.ContextEmbeddings, SimilarityMetric.DotProduct));
            _popular = itemCounts is null
                ? Array.Empty<(string, float)>()
                : itemCounts.OrderByDescending(p => p.Value).ThenBy(p => p.Key, IdComparer.Instance).Select(p => (p.Key, (float)p.Value)).ToArray();
        }

        private CandidateGenerator(EmbeddingTable users, INearestNeighborIndex dot, bool withBias)
        {
            _users = users;
            _dot = dot;
            _withBias = withBias;
            _popular = Array.Empty<(string, float)>();
        }

        /// <summary>
        /// A generator over user and item vectors scored by <see cref="CandidateScoring.DotProduct"/>: user · item + bias
        /// (for example a sequence recall model's <c>UserEmbeddings</c>, <c>ItemEmbeddings</c> and <c>ItemBiases</c>). The
        /// bias is folded in as one more dimension (user [u, 1] · item [v, b]), so one dot-product index serves exact and
        /// approximate search.
        /// </summary>
        /// <param name="users">The user vectors.</param>
        /// <param name="items">The item vectors, of the users' dimension.</param>
        /// <param name="itemBiases">One bias per row of <paramref name="items"/>, in its order; null for none.</param>
        /// <param name="buildIndex">
        /// Builds the search index over the scoring table it is given (the item vectors, with the bias column when there
        /// are biases), by <see cref="SimilarityMetric.DotProduct"/>; for example
        /// <c>t =&gt; HnswNeighborIndex.Build(t, new HnswOptions { Metric = SimilarityMetric.DotProduct })</c>.
        /// Null (default): exact search.
        /// </param>
        /// <exception cref="ArgumentException">The dimensions or the bias count do not match, or the index is not a dot-product index over the table given.</exception>
        public static CandidateGenerator FromVectors(EmbeddingTable users, EmbeddingTable items, IReadOnlyList<float>? itemBiases = null,
            Func<EmbeddingTable, INearestNeighborIndex>? buildIndex = null)
        {
            ArgumentNullException.ThrowIfNull(users);
            ArgumentNullException.ThrowIfNull(items);
            if (users.Dimension != items.Dimension)
                throw new ArgumentException($"The user vectors have dimension {users.Dimension} and the item vectors {items.Dimension}; a dot product needs the same.", nameof(items));
            if (itemBiases is not null && itemBiases.Count != items.Count)
                throw new ArgumentException($"itemBiases holds {itemBiases.Count} values for {items.Count} items; give one bias per item row, in the table's order.", nameof(itemBiases));
            var table = items;
            var scoringUsers = users;
            if (itemBiases is not null)
            {
                int d = items.Dimension;
                var values = new float[(long)items.Count * (d + 1)];
                for (int i = 0; i < items.Count; i++)
                {
                    items.Row(i).CopyTo(values.AsSpan(i * (d + 1), d));
                    values[(i * (d + 1)) + d] = itemBiases[i];
                }
                table = new EmbeddingTable(items.Keys, values, d + 1);
                var userValues = new float[(long)users.Count * (d + 1)];
                for (int u = 0; u < users.Count; u++)
                {
                    users.Row(u).CopyTo(userValues.AsSpan(u * (d + 1), d));
                    userValues[(u * (d + 1)) + d] = 1;
                }
                scoringUsers = new EmbeddingTable(users.Keys, userValues, d + 1);
            }
            var index = buildIndex?.Invoke(table) ?? new ExactNeighborIndex(table, SimilarityMetric.DotProduct);
            if (!ReferenceEquals(index.Table, table) || index.Metric != SimilarityMetric.DotProduct)
                throw new ArgumentException("buildIndex must return an index over the table it is given, by SimilarityMetric.DotProduct.", nameof(buildIndex));
            return new CandidateGenerator(scoringUsers, index, itemBiases is not null);
        }

        /// <summary>
        /// The best <paramref name="count"/> items for a user who is not in the generator's user table, from the user's
        /// vector (of the user table's dimension, without the bias column), best first, leaving out <paramref name="seen"/>.
        /// Generators from <see cref="FromVectors"/> only.
        /// </summary>
        /// <exception cref="InvalidOperationException">The generator was not made by <see cref="FromVectors"/>.</exception>
        /// <exception cref="ArgumentException">The vector's length is not the user vectors' dimension.</exception>
        public IReadOnlyList<Candidate> ForVector(string user, ReadOnlySpan<float> vector, IReadOnlyCollection<string> seen, int count)
        {
            ArgumentNullException.ThrowIfNull(user);
            ArgumentNullException.ThrowIfNull(seen);
            if (_dot is null || _users is null)
                throw new InvalidOperationException("ForVector needs a generator made by CandidateGenerator.FromVectors.");
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1 (100 is a usual recall depth).");
            int d = _users.Dimension - (_withBias ? 1 : 0);
            if (vector.Length != d)
                throw new ArgumentException($"The vector has {vector.Length} values; the user vectors have {d}.", nameof(vector));
            var query = new float[_users.Dimension];
            vector.CopyTo(query);
            if (_withBias)
                query[d] = 1;
            return Filter(user, _dot.Search(query, count + seen.Count).Select(n => (n.Key, n.Similarity)), seen, count);
        }

        /// <summary>The best <paramref name="count"/> unseen items for <paramref name="user"/>, best first; empty for a user without a vector (except by popularity).</summary>
        public IReadOnlyList<Candidate> ForUser(string user, IReadOnlyCollection<string> seen, int count, CandidateScoring scoring)
        {
            ArgumentNullException.ThrowIfNull(user);
            ArgumentNullException.ThrowIfNull(seen);
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1 (100 is a usual recall depth).");
            var excluded = seen as ISet<string> ?? new HashSet<string>(seen, StringComparer.Ordinal);
            IEnumerable<(string Item, float Score)> ranked;
            if (_dot is not null)
            {
                if (scoring != CandidateScoring.DotProduct)
                    throw new ArgumentOutOfRangeException(nameof(scoring), scoring, $"scoring = {scoring} is invalid for a generator made by FromVectors; use CandidateScoring.DotProduct.");
                if (!_users!.Contains(user))
                    return Array.Empty<Candidate>();
                ranked = _dot.Search(_users.GetVector(user), count + excluded.Count).Select(n => (n.Key, n.Similarity));
            }
            else if (scoring == CandidateScoring.Popularity)
            {
                if (_popular.Length == 0)
                    throw new InvalidOperationException("Popularity scoring needs the item counts: pass itemCounts to the CandidateGenerator.");
                ranked = _popular;
            }
            else
            {
                if (!Enum.IsDefined(scoring) || scoring == CandidateScoring.DotProduct)
                    throw new ArgumentOutOfRangeException(nameof(scoring), scoring, $"scoring = {scoring} is invalid for an item2vec generator; use Cosine, InputOutputLogit or Popularity.");
                var index = scoring == CandidateScoring.Cosine ? _cosine! : _logit
                    ?? throw new InvalidOperationException("InputOutputLogit scoring needs context vectors: train Item2Vec with SkipGram.KeepContextVectors = true.");
                if (!_model!.UserEmbeddings.Contains(user))
                    return Array.Empty<Candidate>();
                var vector = _model.UserEmbeddings.GetVector(user);
                // The seen items are excluded inside the search (no over-fetching of count + seen).
                var unseen = NeighborFilter.For(index.Table).Excluding(excluded);
                ranked = index.Search(vector, count, unseen).Select(n => (n.Key, n.Similarity));
            }
            return Filter(user, ranked, seen, count);
        }

        private static List<Candidate> Filter(string user, IEnumerable<(string Item, float Score)> ranked, IReadOnlyCollection<string> seen, int count)
        {
            var excluded = seen as ISet<string> ?? new HashSet<string>(seen, StringComparer.Ordinal);
            var result = new List<Candidate>(count);
            foreach (var (item, score) in ranked)
            {
                if (excluded.Contains(item))
                    continue;
                result.Add(new Candidate(user, item, score, result.Count + 1));
                if (result.Count == count)
                    break;
            }
            return result;
        }

        /// <summary>
        /// Candidate rows for every user of <paramref name="users"/>: columns User, Item (Text), Score, Rank (Single) and
        /// GroupId (Key&lt;UInt32&gt;, one group per user, in the order given), ready for ranking features and an ML.NET ranker.
        /// </summary>
        public IDataView ToDataView(MLContext mlContext, IEnumerable<(string User, IReadOnlyCollection<string> Seen)> users, int count, CandidateScoring scoring)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            ArgumentNullException.ThrowIfNull(users);
            return CandidateRows.ToDataView(mlContext, users.Select(u => ForUser(u.User, u.Seen, count, scoring)).ToList());
        }
    }
}

namespace Embeddings.Recommendation
{
    /// <summary>Candidate lists as the rows ML.NET rankers take: User, Item, Score, Rank and a GroupId key per user.</summary>
    internal static class CandidateRows
    {
        private sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Score { get; set; }
            public float Rank { get; set; }
            public uint GroupId { get; set; }
        }

        /// <summary>One group per list, in order (an empty list still takes its group number).</summary>
        public static IDataView ToDataView(MLContext mlContext, IReadOnlyList<IReadOnlyList<Candidate>> perUser)
        {
            var rows = new List<Row>();
            for (int u = 0; u < perUser.Count; u++)
            {
                foreach (var c in perUser[u])
                    // LoadFromEnumerable stores a key field as a 0-based index (raw key value u + 1; 0 stays "missing").
                    rows.Add(new Row { User = c.User, Item = c.Item, Score = c.Score, Rank = c.Rank, GroupId = (uint)u });
            }
            var schema = SchemaDefinition.Create(typeof(Row));
            schema[nameof(Row.GroupId)].ColumnType = new KeyDataViewType(typeof(uint), Math.Max(1, perUser.Count));
            return mlContext.Data.LoadFromEnumerable(rows, schema);
        }
    }
}
