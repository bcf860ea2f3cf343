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
    /// with <c>rowGroupColumnName: "GroupId"</c>. Built on an <see cref="Item2VecTransformer"/>; searches are exact
    /// (<see cref="ExactNeighborIndex"/>) unless approximate indexes are supplied.
    /// </summary>
    public sealed class CandidateGenerator
    {
        private readonly Item2VecTransformer _model;
        private readonly INearestNeighborIndex _cosine;
        private readonly INearestNeighborIndex? _logit;
        private readonly (string Item, float Count)[] _popular;

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

        /// <summary>The best <paramref name="count"/> unseen items for <paramref name="user"/>, best first; empty for a user without a vector (except by popularity).</summary>
        public IReadOnlyList<Candidate> ForUser(string user, IReadOnlyCollection<string> seen, int count, CandidateScoring scoring)
        {
            ArgumentNullException.ThrowIfNull(user);
            ArgumentNullException.ThrowIfNull(seen);
            if (count < 1)
                throw new ArgumentOutOfRangeException(nameof(count), count, "count must be at least 1 (100 is a usual recall depth).");
            var excluded = seen as ISet<string> ?? new HashSet<string>(seen, StringComparer.Ordinal);
            IEnumerable<(string Item, float Score)> ranked;
            if (scoring == CandidateScoring.Popularity)
            {
                if (_popular.Length == 0)
                    throw new InvalidOperationException("Popularity scoring needs the item counts: pass itemCounts to the CandidateGenerator.");
                ranked = _popular;
            }
            else
            {
                if (!Enum.IsDefined(scoring))
                    throw new ArgumentOutOfRangeException(nameof(scoring), scoring, $"scoring = {(int)scoring} is invalid; use Cosine, InputOutputLogit or Popularity.");
                var index = scoring == CandidateScoring.Cosine ? _cosine : _logit
                    ?? throw new InvalidOperationException("InputOutputLogit scoring needs context vectors: train Item2Vec with SkipGram.KeepContextVectors = true.");
                if (!_model.UserEmbeddings.Contains(user))
                    return Array.Empty<Candidate>();
                var vector = _model.UserEmbeddings.GetVector(user);
                // The seen items are excluded inside the search (no over-fetching of count + seen).
                var unseen = NeighborFilter.For(index.Table).Excluding(excluded);
                ranked = index.Search(vector, count, unseen).Select(n => (n.Key, n.Similarity));
            }
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
