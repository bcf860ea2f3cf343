using System.IO;
using System.Linq;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    [TestFixture]
    public class MatrixFactorizationCommandTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        [TestCase(false)]
        [TestCase(true)]
        public void WritesItemAndUserFactorsAndEvaluatesTheDroppedInteractions(bool implicitFeedback)
        {
            string input = Path.Combine(_folder, "u.data");
            var random = new System.Random(5);
            File.WriteAllLines(input, Enumerable.Range(0, 40).SelectMany(u => Enumerable.Range(0, 12).Select(t =>
                $"{u}\t{(u < 20 ? 0 : 20) + random.Next(20)}\t{1 + random.Next(5)}\t{1000 + t}")));
            string items = Path.Combine(_folder, "items.txt"), users = Path.Combine(_folder, "users.txt");
            var args = new[] { "mf", "--input", input, "--output", items, "--user-output", users, "--rank", "4", "--iterations", "5", "--threads", "1", "--exclude-last", "1" };
            var run = CliRunner.Run(implicitFeedback ? args.Append("--implicit").ToArray() : args);
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            var itemTable = EmbeddingTable.LoadWord2VecFormat(items);
            var userTable = EmbeddingTable.LoadWord2VecFormat(users);
            Assert.That(itemTable.Dimension, Is.EqualTo(4));
            Assert.That(userTable.Count, Is.EqualTo(40));
            Assert.That(userTable.Contains("7"));

            // Warm start from the written item vectors, projected to another rank.
            string warm = Path.Combine(_folder, "warm.txt");
            Assert.That(CliRunner.Run("mf", "--input", input, "--output", warm, "--rank", "6", "--iterations", "1", "--warm-start", items, "--implicit").ExitCode, Is.EqualTo(0));
            Assert.That(EmbeddingTable.LoadWord2VecFormat(warm).Dimension, Is.EqualTo(6));
        }

        [Test]
        public void ReportsTheRmseOfASeparateTestFileAndCountsUnseenItems()
        {
            // Planted blocks: users 0-19 rate items 0-19 high (5) and items 20-39 low (1); users 20-39 the reverse.
            static float Planted(int u, int i) => (u < 20) == (i < 20) ? 5 : 1;
            string train = Path.Combine(_folder, "train.csv"), test = Path.Combine(_folder, "test.csv");
            var random = new System.Random(3);
            var testPairs = Enumerable.Range(0, 40).Select(u => (u, (u * 7) % 40)).ToHashSet();
            var trainLines = new System.Collections.Generic.List<string> { "userId,movieId,rating,timestamp" };
            for (int u = 0; u < 40; u++)
                for (int i = 0; i < 40; i++)
                    if (!testPairs.Contains((u, i)) && random.NextDouble() < 0.5)
                        trainLines.Add($"{u},{i},{Planted(u, i)},{1000 + i}");
            File.WriteAllLines(train, trainLines);
            File.WriteAllLines(test, new[] { "userId,movieId,rating,timestamp" }
                .Concat(testPairs.Select(p => $"{p.u},{p.Item2},{Planted(p.u, p.Item2)},2000"))
                .Append("3,999,4,2000"));
            var run = CliRunner.Run("mf", "--input", train, "--test", test, "--output", Path.Combine(_folder, "items.txt"), "--rank", "4", "--iterations", "30", "--threads", "1");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
            var match = System.Text.RegularExpressions.Regex.Match(run.Output, @"RMSE on .*test\.csv \(41 ratings, 1 of them with a user or item not in training\): ([0-9.]+)");
            Assert.That(match.Success, run.ToString());
            // Predicting the global mean (3) would give an RMSE of about 2; the blocks are learned.
            Assert.That(double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), Is.LessThan(0.8));

            var usage = CliRunner.Run("mf", "--input", train, "--test", test, "--output", "x.txt", "--implicit");
            Assert.That(usage.ExitCode, Is.EqualTo(2));
            Assert.That(usage.Error, Does.Contain("--test applies to explicit ratings"));
        }

        [Test]
        public void ImplicitRecencyWeightsFollowEachUsersTimeOrderWhileKeysFollowTheFile()
        {
            // Each user's events are written out of time order; the CLI must weight by time and key by file order.
            var random = new System.Random(11);
            var events = Enumerable.Range(0, 12).SelectMany(u => Enumerable.Range(0, 8).Select(t => (User: u, Item: random.Next(15), Time: 1000 + 10 * t + u)))
                .OrderBy(_ => random.Next()).ToList();
            string input = Path.Combine(_folder, "events.tsv"), items = Path.Combine(_folder, "items.txt");
            File.WriteAllLines(input, events.Select(e => $"{e.User}\t{e.Item}\t1\t{e.Time}"));
            var run = CliRunner.Run("mf", "--input", input, "--output", items, "--implicit", "--recency-half-life", "2",
                "--rank", "4", "--iterations", "3", "--threads", "1", "--seed", "1");
            Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());

            var age = events.GroupBy(e => e.User).SelectMany(g => g.OrderBy(e => e.Time).Select((e, t) => (e, Age: g.Count() - 1 - t))).ToDictionary(p => p.e, p => p.Age);
            var ml = new MLContext(seed: 1);
            var rows = ml.Data.LoadFromEnumerable(events.Select(e => new Event
            {
                User = e.User.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Item = e.Item.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Label = Embeddings.Recommendation.ImplicitMatrixFactorization.RecencyWeight(age[e], 2, 4),
            }).ToList());
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(rows).Transform(rows);
            var expected = ml.Embeddings().MatrixFactorization(new MatrixFactorizationEstimator.Options
            {
                LossFunction = MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass,
                MatrixColumnIndexColumnName = "UserKey",
                MatrixRowIndexColumnName = "ItemKey",
                LabelColumnName = "Label",
                ApproximationRank = 4,
                NumberOfIterations = 3,
                NumberOfThreads = 1,
                Seed = 1,
            }).Fit(keyed).ItemFactors;
            var written = EmbeddingTable.LoadWord2VecFormat(items);
            Assert.That(written.Keys, Is.EqualTo(expected.Keys), "items in order of first appearance in the file");
            foreach (string key in expected.Keys)
                Assert.That(written.GetVector(key), Is.EqualTo(expected.GetVector(key)).Within(1e-5), key);
        }

        public sealed class Event
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }
    }
}
