using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Recommendation;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Recommendation
{
    /// <summary>Serving a trained recommender: save and load as itself, batch lists as an IDataView, filters, fold-in, popular fallback.</summary>
    [TestFixture]
    public class RecommendationServingTests
    {
        private MLContext _ml = null!;
        private PlantedChains.Row[] _rows = null!;
        private Dictionary<string, string> _next = null!;
        private RankingRecommenderTransformer _model = null!;
        private IDataView _data = null!;

        [OneTimeSetUp]
        public void TrainOnce()
        {
            _ml = new MLContext(seed: 1);
            (_rows, _next) = PlantedChains.Interactions();
            _data = _ml.Data.LoadFromEnumerable(_rows);
            _model = _ml.Embeddings().RankingRecommender(PlantedChains.Options()).Fit(_data);
        }

        private static List<(string User, string Item, float Score, int Rank)> Read(IDataView view)
        {
            return RecommendationRow.Read(view).Select(row => (row.User, row.Item, row.Score, row.Rank)).ToList();
        }

        private HashSet<string> Seen(string user) => _rows.Where(r => r.User == user).Select(r => r.Item).ToHashSet();

        [Test]
        public void RecommendationRowsReadTheListsInOrderAndNameAMissingOrMistypedColumn()
        {
            var view = _model.Recommend(_ml, new[] { "u0", "u1" }, 3);
            var rows = RecommendationRow.Read(view).ToList();
            Assert.That(rows.Select(r => r.User), Is.EqualTo(new[] { "u0", "u0", "u0", "u1", "u1", "u1" }));
            Assert.That(rows.Select(r => r.Rank), Is.EqualTo(new[] { 1, 2, 3, 1, 2, 3 }));
            Assert.That(rows[0].Score, Is.GreaterThanOrEqualTo(rows[1].Score));
            var missing = Assert.Throws<ArgumentOutOfRangeException>(() => RecommendationRow.Read(view, userColumnName: "Customer"));
            Assert.That(missing!.Message, Does.Contain("'Customer'").And.Contain("User, Item, Score, Rank"));
            var mistyped = Assert.Throws<InvalidOperationException>(() => RecommendationRow.Read(view, rankColumnName: "Score"));
            Assert.That(mistyped!.Message, Does.Contain("'Score'").And.Contain("Int32"));
        }

        [Test]
        public void BatchRowsAreEachUsersListInOrderAndEqualTheSingleUserLists()
        {
            var users = new[] { "u5", "u0", "u77", "u5" };
            var rows = Read(_model.Recommend(_ml, users, 4, new RecommendOptions { NumberOfThreads = 2, UsersPerBatch = 1 }));
            Assert.That(rows.Select(r => r.User), Is.EqualTo(users.SelectMany(u => Enumerable.Repeat(u, 4))));
            for (int u = 0; u < users.Length; u++)
            {
                var block = rows.Skip(4 * u).Take(4).ToList();
                Assert.That(block.Select(r => r.Rank), Is.EqualTo(new[] { 1, 2, 3, 4 }));
                Assert.That(block.Select(r => r.Score), Is.Ordered.Descending);
                var single = _model.Recommend(_ml, users[u], 4);
                Assert.That(block.Select(r => (r.Item, r.Score)), Is.EqualTo(single), $"user {users[u]}");
                Assert.That(block.Select(r => r.Item), Has.None.AnyOf(Seen(users[u]).ToArray()), "seen items are left out by default");
            }
            // The thread count and batch size do not change the output.
            var again = Read(_model.Recommend(_ml, users, 4, new RecommendOptions { NumberOfThreads = 1, UsersPerBatch = 64 }));
            Assert.That(again, Is.EqualTo(rows));
            Assert.That(_model.Recommend(_ml, "u0", 1).Single().Item, Is.EqualTo(_next["u0"]));
        }

        [Test]
        public void UsersFromAnIdColumnOfAnyIdType()
        {
            var users = _ml.Data.LoadFromEnumerable(new[] { new { Id = "u3" }, new { Id = "u9" } });
            var rows = Read(_model.Recommend(_ml, users, "Id", 3));
            Assert.That(rows.Select(r => r.User).Distinct(), Is.EqualTo(new[] { "u3", "u9" }));
            var keyed = _ml.Transforms.Conversion.MapValueToKey("Id").Fit(users).Transform(users);
            Assert.That(Read(_model.Recommend(_ml, keyed, "Id", 3)), Is.EqualTo(rows));
            var wrong = _ml.Data.LoadFromEnumerable(new[] { new { Id = 1.5f } });
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => _model.Recommend(_ml, wrong, "Id", 3));
            Assert.That(e!.Message, Does.Contain("column 'Id'").And.Contain("Single"));
            Assert.Throws<ArgumentOutOfRangeException>(() => _model.Recommend(_ml, users, "Missing", 3));
        }

        [Test]
        public void SeenItemsCanBeIncludedAndListsFilteredByAllowDenyAndPredicate()
        {
            string user = "u7";
            var seen = Seen(user);
            var all = _model.Recommend(_ml, user, 10, new RecommendOptions { ExcludeSeenItems = false });
            Assert.That(all, Has.Count.EqualTo(10));
            Assert.That(all.Select(r => r.Item), Has.Some.AnyOf(seen.ToArray()), "with seen items allowed, the user's own chain items come back");

            var unseen = _model.Features.Items.Where(i => !seen.Contains(i)).ToArray();
            // An allow-list of 3 of the catalog's 48 items (about 6%; 1% of a catalog of 300) still returns 3 items: the filter acts inside the recall.
            var allowed = new[] { unseen[^1], unseen[^5], unseen[^9] };
            var listed = _model.Recommend(_ml, user, 3, new RecommendOptions { AllowedItems = allowed.Append("not-an-item").ToArray() });
            Assert.That(listed.Select(r => r.Item), Is.EquivalentTo(allowed));

            var baseline = _model.Recommend(_ml, user, 5);
            var denied = baseline.Take(2).Select(r => r.Item).ToArray();
            var withDeny = _model.Recommend(_ml, user, 5, new RecommendOptions { DeniedItems = denied });
            Assert.That(withDeny.Select(r => r.Item), Has.None.AnyOf(denied));
            Assert.That(withDeny.Take(3).Select(r => r.Item), Is.EqualTo(baseline.Skip(2).Select(r => r.Item).Take(3)), "the rest keeps its order");

            var chainOne = _model.Recommend(_ml, user, 5, new RecommendOptions { ItemFilter = (u, item) => u == user && item.StartsWith("c1-", StringComparison.Ordinal) });
            Assert.That(chainOne.Select(r => r.Item), Has.All.StartsWith("c1-"));
            Assert.That(chainOne, Is.Not.Empty);

            var none = _model.Recommend(_ml, user, 5, new RecommendOptions { AllowedItems = Array.Empty<string>() });
            Assert.That(none, Is.Empty);
        }

        [Test]
        public void APredicateExceptionEndsTheRequestAsThrown()
        {
            var options = new RecommendOptions { ItemFilter = (_, _) => throw new InvalidOperationException("filter failed") };
            var view = _model.Recommend(_ml, new[] { "u1", "u2" }, 3, options);
            var e = Assert.Throws<InvalidOperationException>(() => Read(view));
            Assert.That(e!.Message, Is.EqualTo("filter failed"));
        }

        [Test]
        public void UsersGivenWithTheirHistoryAreScoredFromItAndUnknownUsersGetPopularItems()
        {
            // Fold-in: the same history as the training user gives the planted next item just as often.
            int trained = 0, folded = 0;
            foreach (var (user, next) in _next.Take(40))
            {
                var history = _rows.Where(r => r.User == user).OrderBy(r => r.Time).Select(r => r.Item).ToArray();
                trained += _model.Recommend(_ml, user, 1).Single().Item == next ? 1 : 0;
                var list = _model.RecommendForHistory(_ml, history, 5);
                Assert.That(list.Select(r => r.Item), Has.None.AnyOf(history));
                folded += list[0].Item == next ? 1 : 0;
            }
            Assert.That(folded, Is.GreaterThanOrEqualTo(trained - 4), $"fold-in top-1 hits {folded} of 40 against {trained} for the trained users");
            Assert.That(folded, Is.GreaterThan(30));

            // No usable history, or an unknown user: recent popularity first.
            var popular = _model.Recommend(_ml, "stranger", 5);
            Assert.That(popular, Has.Count.EqualTo(5));
            Assert.That(_model.RecommendForHistory(_ml, Array.Empty<string>(), 5), Is.EqualTo(popular));
            Assert.That(_model.RecommendForHistory(_ml, new[] { "never-seen" }, 5), Is.EqualTo(popular));
            Assert.That(popular.Select(p => p.Score), Is.Ordered.Descending);

            var batch = Read(_model.RecommendForHistories(_ml, new (string, IReadOnlyList<string>)[]
            {
                ("new-1", _rows.Where(r => r.User == "u3").OrderBy(r => r.Time).Select(r => r.Item).ToArray()),
                ("new-2", Array.Empty<string>()),
            }, 5));
            Assert.That(batch.Where(r => r.User == "new-1").Select(r => (r.Item, r.Score)),
                Is.EqualTo(_model.RecommendForHistory(_ml, _rows.Where(r => r.User == "u3").OrderBy(r => r.Time).Select(r => r.Item).ToArray(), 5)));
            Assert.That(batch.Where(r => r.User == "new-2").Select(r => (r.Item, r.Score)), Is.EqualTo(popular));
        }

        [Test]
        public void SavedRecommenderLoadsAsItselfWithEqualLists()
        {
            var users = _model.Features.Users.ToArray();
            var before = Read(_model.Recommend(_ml, users, 5));
            string path = Path.Combine(Path.GetTempPath(), $"recommender-{Guid.NewGuid():N}.zip");
            string legacy = Path.Combine(Path.GetTempPath(), $"recommender-chain-{Guid.NewGuid():N}.zip");
            try
            {
                _ml.Model.Save(_model, _data.Schema, path);
                var fresh = new MLContext(seed: 7);
                var loaded = fresh.Model.Load(path, out _);
                Assert.That(loaded, Is.InstanceOf<RankingRecommenderTransformer>());
                var recommender = (RankingRecommenderTransformer)loaded;
                Assert.That(recommender.CandidateCount, Is.EqualTo(_model.CandidateCount));
                Assert.That(Read(recommender.Recommend(fresh, users, 5)), Is.EqualTo(before));
                Assert.That(Read(RankingRecommenderTransformer.Load(fresh, path).Recommend(fresh, users, 5)), Is.EqualTo(before));

                // Version 0.2 saved the features-and-ranker chain; FromModel rebuilds the recommender from it.
                _ml.Model.Save(_model.Pipeline, _data.Schema, legacy);
                var chain = fresh.Model.Load(legacy, out _);
                Assert.That(chain, Is.Not.InstanceOf<RankingRecommenderTransformer>());
                var rebuilt = RankingRecommenderTransformer.FromModel(chain, _model.CandidateCount);
                Assert.That(Read(rebuilt.Recommend(fresh, users, 5)), Is.EqualTo(before));
            }
            finally
            {
                File.Delete(path);
                File.Delete(legacy);
            }
        }

        [Test]
        public void BadRequestsAndModelsAreRefusedWithClearMessages()
        {
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => _model.Recommend(_ml, "u1", 0));
            Assert.That(e!.Message, Does.Contain("count = 0"));
            Assert.Throws<ArgumentOutOfRangeException>(() => _model.Recommend(_ml, new[] { "u1" }, -3));
            var threads = Assert.Throws<ArgumentOutOfRangeException>(() => _model.Recommend(_ml, "u1", 3, new RecommendOptions { NumberOfThreads = 0 }));
            Assert.That(threads!.Message, Does.Contain("NumberOfThreads = 0"));
            Assert.That(Read(_model.Recommend(_ml, Array.Empty<string>(), 3)), Is.Empty, "no users, no rows");

            string missing = Path.Combine(Path.GetTempPath(), $"no-such-{Guid.NewGuid():N}.zip");
            Assert.Throws<FileNotFoundException>(() => RankingRecommenderTransformer.Load(_ml, missing));

            string notAModel = Path.Combine(Path.GetTempPath(), $"not-a-model-{Guid.NewGuid():N}.zip");
            string otherModel = Path.Combine(Path.GetTempPath(), $"other-model-{Guid.NewGuid():N}.zip");
            try
            {
                File.WriteAllText(notAModel, "user\titem\n");
                Assert.Throws<FormatException>(() => RankingRecommenderTransformer.Load(_ml, notAModel));
                var table = new EmbeddingTable(new[] { "a", "b" }, new float[] { 1, 0, 0, 1 }, 2);
                var lookup = _ml.Embeddings().ApplyEmbedding("V", table, "Item").Fit(_data);
                _ml.Model.Save(lookup, _data.Schema, otherModel);
                var kind = Assert.Throws<ArgumentException>(() => RankingRecommenderTransformer.Load(_ml, otherModel));
                Assert.That(kind!.Message, Does.Contain("not a recommender"));
            }
            finally
            {
                File.Delete(notAModel);
                File.Delete(otherModel);
            }
        }
    }
}
