using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Recommendation
{
    /// <summary>One user of a recommendation request: a training user by id, or a user given with a history at query time.</summary>
    /// <param name="User">The id printed in the output.</param>
    /// <param name="History">Null: the training user <paramref name="User"/>. Otherwise the user's items, oldest first (fold-in).</param>
    internal readonly record struct UserRequest(string User, IReadOnlyList<string>? History);

    /// <summary>
    /// Computes recommendation lists for batches of users: training users through the trained features, users given with
    /// a history through features rebuilt for them (fold-in), users with neither through popularity; candidates recalled
    /// by the blend score under the request's filter, ordered by the ranker.
    /// </summary>
    internal sealed class RecommendationServer
    {
        private static readonly object s_viewLock = new();
        private readonly RankingRecommenderTransformer _model;
        private readonly RecommendationFeaturizer _featurizer;
        private readonly int[] _popular;

        public RecommendationServer(RankingRecommenderTransformer model)
        {
            _model = model;
            _featurizer = model.Features.Featurizer;
            var counts = _featurizer.State.Counts;
            // Popular first by recent popularity, then by all-time popularity, then by id (catalog order is id order).
            _popular = Enumerable.Range(0, counts.Popularity.Length)
                .OrderByDescending(i => counts.RecentPopularity[i]).ThenByDescending(i => counts.Popularity[i]).ThenBy(i => i).ToArray();
        }

        /// <summary>The lists of <paramref name="users"/>, in their order, best first within each.</summary>
        public List<RecommendationRow> Score(MLContext ml, IReadOnlyList<UserRequest> users, int count, RecommendationFilter filter)
        {
            var lists = new List<(string Item, float Score)>[users.Count];
            var known = new List<int>();
            var guests = new List<int>();
            var guestHistories = new List<int[]>();
            for (int u = 0; u < users.Count; u++)
            {
                var request = users[u];
                if (request.History is null)
                {
                    if (_featurizer.UserIndex(request.User) >= 0)
                        known.Add(u);
                    continue;
                }
                var history = request.History.Select(item => item is null ? -1 : _featurizer.ItemIndex(item)).Where(i => i >= 0).ToArray();
                if (history.Length > 0)
                {
                    guests.Add(u);
                    guestHistories.Add(history);
                }
            }
            if (known.Count > 0)
                Rank(ml, _featurizer, _model.Features, known.Select(u => (u, users[u].User, users[u].User)).ToList(), count, filter, lists);
            if (guests.Count > 0)
            {
                // Guests get positional ids inside their own feature state, so equal or training-user ids cannot collide.
                string[] ids = guests.Select((_, g) => "guest" + g.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToArray();
                var state = _featurizer.State.WithGuests(ids, guestHistories.ToArray());
                var featurizer = new RecommendationFeaturizer(state);
                var features = new RecommendationFeaturesTransformer(featurizer, _model.Features.UserColumnName, _model.Features.ItemColumnName, RankingRecommenderEstimator.FeaturesColumn);
                Rank(ml, featurizer, features, guests.Select((u, g) => (u, ids[g], users[u].User)).ToList(), count, filter, lists);
            }
            var rows = new List<RecommendationRow>();
            for (int u = 0; u < users.Count; u++)
            {
                var list = lists[u] ?? Popular(users[u], count, filter);
                for (int r = 0; r < list.Count && r < count; r++)
                    rows.Add(new RecommendationRow(users[u].User, list[r].Item, list[r].Score, r + 1));
            }
            return rows;
        }

        /// <summary>The popularity list of a user the features cannot score (unknown, or without a known item): recent popularity first.</summary>
        private List<(string Item, float Score)> Popular(UserRequest request, int count, RecommendationFilter filter)
        {
            var seen = new HashSet<int>();
            if (filter.ExcludeSeen && request.History is not null)
            {
                foreach (string item in request.History)
                {
                    int i = item is null ? -1 : _featurizer.ItemIndex(item);
                    if (i >= 0)
                        seen.Add(i);
                }
            }
            var result = new List<(string, float)>(count);
            var recent = _featurizer.State.Counts.RecentPopularity;
            foreach (int item in _popular)
            {
                if (result.Count == count)
                    break;
                if (!seen.Contains(item) && filter.Admits(request.User, item))
                    result.Add((_featurizer.Items[item], recent[item]));
            }
            return result;
        }

        private void Rank(MLContext ml, RecommendationFeaturizer featurizer, RecommendationFeaturesTransformer features,
            List<(int Slot, string FeatureUser, string User)> users, int count, RecommendationFilter filter, List<(string Item, float Score)>[] lists)
        {
            int n = featurizer.Items.Count;
            float[] scores = new float[n], a = new float[n], b = new float[n], scratch = featurizer.CreateScratch();
            var seen = new bool[n];
            var rows = new List<CandidatePair>();
            var owners = new List<int>();
            foreach (var (slot, featureUser, user) in users)
            {
                int u = featurizer.UserIndex(featureUser);
                lists[slot] = new List<(string, float)>();
                foreach (int item in RankingStage.Candidates(featurizer, u, user, _model.CandidateCount, scores, a, b, scratch, seen, filter))
                {
                    rows.Add(new CandidatePair { User = featureUser, Item = featurizer.Items[item] });
                    owners.Add(slot);
                }
            }
            if (rows.Count == 0)
                return;
            IDataView output;
            lock (s_viewLock)
            {
                var input = ml.Data.LoadFromEnumerable(rows);
                if (features.UserColumnName != nameof(CandidatePair.User))
                    input = ml.Transforms.CopyColumns(features.UserColumnName, nameof(CandidatePair.User)).Fit(input).Transform(input);
                if (features.ItemColumnName != nameof(CandidatePair.Item))
                    input = ml.Transforms.CopyColumns(features.ItemColumnName, nameof(CandidatePair.Item)).Fit(input).Transform(input);
                output = _model.Ranker.Transform(features.Transform(input));
            }
            using (var cursor = output.GetRowCursor(output.Schema.Where(c => c.Name == "Score")))
            {
                var score = cursor.GetGetter<float>(output.Schema["Score"]);
                int k = 0;
                float value = 0;
                while (cursor.MoveNext())
                {
                    score(ref value);
                    lists[owners[k]].Add((rows[k].Item, value));
                    k++;
                }
            }
            foreach (var (slot, _, _) in users)
                lists[slot].Sort((x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : IdComparer.Instance.Compare(x.Item, y.Item));
        }

        private sealed class CandidatePair
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";
        }
    }

    /// <summary>
    /// Recommendations as an <see cref="IDataView"/> of (User, Item, Score, Rank) rows, best first per user, users in request
    /// order. Computed as it is read: each cursor scores the users in waves of threads x batch size in parallel, so the
    /// lists of all users are never held at once.
    /// </summary>
    internal sealed class RecommendationsDataView : IDataView
    {
        private readonly MLContext _ml;
        private readonly RecommendationServer _server;
        private readonly Func<IEnumerable<UserRequest>> _users;
        private readonly int _count;
        private readonly RecommendationFilter _filter;
        private readonly int _threads;
        private readonly int _batch;

        public RecommendationsDataView(MLContext ml, RecommendationServer server, Func<IEnumerable<UserRequest>> users, int count, RecommendationFilter filter, int threads, int batch)
        {
            _ml = ml;
            _server = server;
            _users = users;
            _count = count;
            _filter = filter;
            _threads = threads;
            _batch = batch;
            var builder = new DataViewSchema.Builder();
            builder.AddColumn("User", TextDataViewType.Instance);
            builder.AddColumn("Item", TextDataViewType.Instance);
            builder.AddColumn("Score", NumberDataViewType.Single);
            builder.AddColumn("Rank", NumberDataViewType.Int32);
            Schema = builder.ToSchema();
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => null;

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this, columnsNeeded);

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => [GetRowCursor(columnsNeeded, rand)];

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly RecommendationsDataView _parent;
            private readonly bool[] _active;
            private readonly IEnumerator<UserRequest> _users;
            private List<RecommendationRow> _wave = new();
            private int _index = -1;
            private long _position = -1;
            private bool _done;

            public Cursor(RecommendationsDataView parent, IEnumerable<DataViewSchema.Column> columnsNeeded)
            {
                _parent = parent;
                _active = new bool[parent.Schema.Count];
                foreach (var column in columnsNeeded)
                    _active[column.Index] = true;
                _users = parent._users().GetEnumerator();
            }

            public override DataViewSchema Schema => _parent.Schema;

            public override long Position => _position;

            public override long Batch => 0;

            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!_active[column.Index])
                    throw new InvalidOperationException($"Column '{column.Name}' was not requested from the cursor.");
                Delegate getter = column.Index switch
                {
                    0 => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.User.AsMemory()),
                    1 => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> v) => v = Current.Item.AsMemory()),
                    2 => (ValueGetter<float>)((ref float v) => v = Current.Score),
                    _ => (ValueGetter<int>)((ref int v) => v = Current.Rank),
                };
                return getter as ValueGetter<TValue>
                    ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
            }

            private RecommendationRow Current => _index >= 0 && _index < _wave.Count
                ? _wave[_index]
                : throw new InvalidOperationException("The cursor is not on a row.");

            public override bool MoveNext()
            {
                while (++_index >= _wave.Count)
                {
                    if (_done || !NextWave())
                    {
                        _done = true;
                        return false;
                    }
                }
                _position++;
                return true;
            }

            private bool NextWave()
            {
                var parent = _parent;
                var batches = new List<List<UserRequest>>();
                for (int t = 0; t < parent._threads; t++)
                {
                    var batch = new List<UserRequest>(parent._batch);
                    while (batch.Count < parent._batch && _users.MoveNext())
                        batch.Add(_users.Current);
                    if (batch.Count == 0)
                        break;
                    batches.Add(batch);
                }
                if (batches.Count == 0)
                    return false;
                var results = new List<RecommendationRow>[batches.Count];
                try
                {
                    Parallel.For(0, batches.Count, new ParallelOptions { MaxDegreeOfParallelism = parent._threads },
                        b => results[b] = parent._server.Score(parent._ml, batches[b], parent._count, parent._filter));
                }
                catch (AggregateException e) when (e.InnerExceptions.Count == 1)
                {
                    // The caller's filter (or a damaged model) failed on one batch: report it as it was thrown.
                    ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
                }
                _wave = results.SelectMany(r => r).ToList();
                _index = -1;
                return true;
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    _users.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}
