using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Recommendation
{
    [TestFixture]
    public class LeaveLastOutTests
    {
        [Test]
        public void SplitsByTimeWithTiesByNumericItemIdAndRanksByTheProtocol()
        {
            var split = LeaveLastOutSplit.Create(new[]
            {
                new Interaction("u", "10", 5), new Interaction("u", "9", 5), new Interaction("u", "2", 1), new Interaction("u", "100", 7),
                new Interaction("v", "2", 1), new Interaction("v", "9", 2), new Interaction("v", "10", 3),
                new Interaction("w", "2", 1),
            });
            Assert.That(split.Training("u", RankingTarget.Validation), Is.EqualTo(new[] { "2", "9" }), "ties at time 5 ordered by numeric id: 9 before 10");
            Assert.That(split.Training("u", RankingTarget.Test), Is.EqualTo(new[] { "2", "9", "10" }), "test trains on the validation interaction too");
            Assert.That(split.Target("u", RankingTarget.Validation), Is.EqualTo("10"));
            Assert.That(split.Target("u", RankingTarget.Test), Is.EqualTo("100"));
            Assert.That(split.Users, Is.EqualTo(new[] { "u", "v" }), "w has too few interactions for targets");
            Assert.That(split.Items, Is.EqualTo(new[] { "2", "9", "10", "100" }));

            // Every item scores the same: the rank is decided by item id among the candidates.
            var equal = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Test, (_, s) => s.Fill(1), cutoff: 1);
            // Test: u trains on 2, 9, 10, so its only candidate is its target 100; v's candidates are 10 (target) and 100.
            Assert.That(equal.Hits, Is.EqualTo(2));
            var validation = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Validation, (_, s) => s.Fill(1), cutoff: 1);
            // u: candidates 10 (target), 100 -> rank 1 (smaller id); v: candidates 9 (target), 10 -> rank 1.
            Assert.That(validation.Hits, Is.EqualTo(2));
            // Item 100 (a candidate for both users) now outranks both validation targets: rank 2 each.
            var favoured = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Validation, (_, s) => { s.Fill(1); s[3] = 2; }, cutoff: 1);
            Assert.That(favoured.Hits, Is.EqualTo(0));
            var atTwo = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Validation, (_, s) => { s.Fill(1); s[3] = 2; }, cutoff: 2);
            Assert.That(atTwo.Hits, Is.EqualTo(2));
            Assert.That(atTwo.Ndcg, Is.EqualTo(1 / Math.Log2(3)).Within(1e-12));

            // u's validation target 10 shares time 5 with 9 before it (only the id put it second); every other target is strictly later.
            Assert.That(split.TargetTiesPrevious("u", RankingTarget.Validation), Is.True);
            Assert.That(split.TargetTiesPrevious("u", RankingTarget.Test), Is.False);
            Assert.That(split.TargetTiesPrevious("v", RankingTarget.Validation), Is.False);
            Assert.That(split.TargetTiesPrevious("w", RankingTarget.Test), Is.False, "w has no targets");
            Assert.That((validation.TiedUsers, validation.TiedHits, validation.TiedHitRate, validation.UntiedHitRate), Is.EqualTo((1, 1, 1.0, 1.0)));
            Assert.That((favoured.TiedUsers, favoured.TiedHits), Is.EqualTo((1, 0)));
            var onlyV = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Validation, (user, s) => { s.Fill(1); if (user == "u") s[3] = 2; }, cutoff: 1);
            Assert.That((onlyV.Hits, onlyV.TiedHits, onlyV.TiedHitRate, onlyV.UntiedHitRate), Is.EqualTo((1, 0, 0.0, 1.0)), "u (tied) misses, v (untied) hits");
            Assert.That((equal.TiedUsers, equal.TiedHitRate, equal.UntiedHitRate), Is.EqualTo((0, double.NaN, 1.0)), "no test target ties");
        }

        [Test]
        public void PopularityOnMovieLens100KReproducesTheReference()
        {
            string? path = TestUtilities.SharedDataPath(Path.Combine("movielens", "ml-100k", "u.data"));
            if (path is null)
                Assert.Ignore("../shared/data/movielens/ml-100k is absent: the MovieLens 100K check is skipped (the data may not be copied into the repository).");
            var split = InteractionFile.ReadSplit(path!);
            Assert.That(split.Users, Has.Count.EqualTo(943));

            // The split equals the shared targets file.
            string targets = Path.Combine(Path.GetDirectoryName(path)!, "derived", "loo_targets.tsv");
            foreach (var fields in File.ReadLines(targets).Skip(1).Select(l => l.Split('\t')))
            {
                Assert.That(split.Target(fields[0], RankingTarget.Test), Is.EqualTo(fields[1]), $"user {fields[0]} test");
                Assert.That(split.Target(fields[0], RankingTarget.Validation), Is.EqualTo(fields[3]), $"user {fields[0]} validation");
            }

            var metrics = LeaveLastOutEvaluator.Evaluate(split, RankingTarget.Test, LeaveLastOutEvaluator.Popularity(split, RankingTarget.Test));
            Assert.That(metrics.Hits, Is.EqualTo(47));
            Assert.That(metrics.HitRate.ToString("F4", CultureInfo.InvariantCulture), Is.EqualTo("0.0498"));
            Assert.That(metrics.Ndcg.ToString("F4", CultureInfo.InvariantCulture), Is.EqualTo("0.0253"));
            // 415 of the 943 test targets (and 422 validation targets) share their second with the interaction before them.
            Assert.That(metrics.TiedUsers, Is.EqualTo(415));
            Assert.That(split.Users.Count(u => split.TargetTiesPrevious(u, RankingTarget.Validation)), Is.EqualTo(422));
        }
    }
}
