using System;
using System.IO;
using System.Linq;
using System.Text.Json;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    [TestFixture]
    public class RecommendationCommandsTests
    {
        /// <summary>90 users walking 12 steps along one of three 20-item chains (one step per time unit), as u.data rows.</summary>
        private static string WriteChains(string folder)
        {
            var random = new Random(2);
            var rows = Enumerable.Range(0, 90).SelectMany(u =>
            {
                int chain = u % 3, start = random.Next(20);
                return Enumerable.Range(0, 12).Select(t => $"{u + 1}\t{chain * 20 + (start + t) % 20 + 1}\t4\t{1000 + t}");
            });
            string input = Path.Combine(folder, "u.data");
            File.WriteAllLines(input, rows);
            return input;
        }

        [Test]
        public void FitRecommenderThenRecommendWritesScorableListsAndRefusesBadInput()
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                string input = WriteChains(folder), model = Path.Combine(folder, "recommender.zip"), recs = Path.Combine(folder, "recs.tsv");
                var fit = CliRunner.Run("fit-recommender", "--input", input, "--output", model, "--exclude-last", "1", "--dimensions", "8", "--epochs", "5",
                    "--trees", "10", "--leaves", "4", "--min-leaf", "5", "--candidates", "10", "--threads", "1", "--seed", "3");
                Assert.That(fit.ExitCode, Is.EqualTo(0), fit.ToString());
                var run = CliRunner.Run("recommend", "--model", model, "--k", "3", "--output", recs, "--threads", "2");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                var lines = File.ReadAllLines(recs).Select(l => l.Split('\t')).ToList();
                Assert.That(lines, Has.Count.EqualTo(90 * 3));
                Assert.That(lines.Select(f => f[3]).Take(3), Is.EqualTo(new[] { "1", "2", "3" }));
                // Each user's held-out last item (the chain's next one) is recommended first for most users.
                var split = InteractionFile.ReadSplit(input);
                int first = lines.Where(f => f[3] == "1").Count(f => split.Interactions(f[0])[^1] == f[1]);
                Assert.That(first, Is.GreaterThan(70), $"{first} of 90 users get their held-out item first");

                // Only the listed users; an unknown one gets popular items.
                string users = Path.Combine(folder, "users.txt");
                File.WriteAllLines(users, new[] { "5", "", "stranger" });
                run = CliRunner.Run("recommend", "--model", model, "--users", users, "--k", "2", "--output", recs);
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(File.ReadAllLines(recs).Select(l => l.Split('\t')[0]), Is.EqualTo(new[] { "5", "5", "stranger", "stranger" }));

                File.WriteAllText(users, "\n");
                run = CliRunner.Run("recommend", "--model", model, "--users", users, "--output", Path.Combine(folder, "none.tsv"));
                Assert.That(run.ExitCode, Is.EqualTo(1));
                Assert.That(run.Error, Does.Contain("no user ids"));
                Assert.That(File.Exists(Path.Combine(folder, "none.tsv")), Is.False);

                run = CliRunner.Run("recommend", "--model", model, "--k", "0", "--output", recs);
                Assert.That(run.ExitCode, Is.EqualTo(2));
                Assert.That(run.Error, Does.Contain("--k"));

                run = CliRunner.Run("recommend", "--model", input, "--output", Path.Combine(folder, "bad.tsv"));
                Assert.That(run.ExitCode, Is.EqualTo(1));
                Assert.That(run.Error, Does.Contain("not a readable ML.NET model"));
                Assert.That(File.Exists(Path.Combine(folder, "bad.tsv")), Is.False);

                run = CliRunner.Run("recommend", "--model", Path.Combine(folder, "missing.zip"), "--output", recs);
                Assert.That(run.ExitCode, Is.EqualTo(1));
                Assert.That(run.Error, Does.Contain("missing.zip"));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Test]
        public void RecommendEvalWritesEveryModelForTestAndValidation()
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                string input = WriteChains(folder), json = Path.Combine(folder, "results.json");
                var run = CliRunner.Run("recommend-eval", "--input", input, "--json", json, "--dimensions", "8", "--epochs", "5", "--sample", "0",
                    "--graph-dimensions", "8", "--walk-length", "10", "--num-walks", "4", "--trees", "10", "--leaves", "4", "--min-leaf", "5", "--candidates", "10",
                    "--mf-rank", "4", "--mf-iterations", "3", "--seq-max-epochs", "15", "--seq-dimensions", "16", "--seq-learning-rate", "0.02", "--threads", "1");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                using var report = JsonDocument.Parse(File.ReadAllText(json));
                foreach (string model in new[] { "popularity", "item2vec", "node2vec", "mf", "youtube", "gru", "blend", "ranker", "ranker-seq" })
                {
                    foreach (var scope in new[] { report.RootElement, report.RootElement.GetProperty("validation") })
                    {
                        double hr = scope.GetProperty(model).GetProperty("hr10").GetDouble();
                        double ndcg = scope.GetProperty(model).GetProperty("ndcg10").GetDouble();
                        Assert.That(hr, Is.InRange(0.0, 1.0), model);
                        Assert.That(ndcg, Is.InRange(0.0, hr), model);
                    }
                }
                // The chains make the next item obvious from the last one: the sequential models find it, popularity does not.
                Assert.That(report.RootElement.GetProperty("ranker").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                Assert.That(report.RootElement.GetProperty("popularity").GetProperty("hr10").GetDouble(), Is.LessThan(0.6));
                Assert.That(report.RootElement.GetProperty("gru").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                Assert.That(report.RootElement.GetProperty("youtube").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.5));
                // The epochs chosen on validation, used for test.
                var chosen = report.RootElement.GetProperty("settings").GetProperty("sequence_recall_epochs");
                Assert.That(chosen.GetProperty("gru").GetInt32(), Is.InRange(1, 15));
                Assert.That(run.Output, Does.Contain("youtube").And.Contain("gru").And.Contain("ranker-seq"));
                // Candidate recall: each source's top 100 and 200 hold at least as many targets as its top 100; the union at least the blend's top 10.
                var recall = report.RootElement.GetProperty("recall");
                foreach (string source in new[] { "blend", "item2vec", "sequence" })
                    Assert.That(recall.GetProperty(source).GetProperty("at200").GetDouble(), Is.GreaterThanOrEqualTo(recall.GetProperty(source).GetProperty("at100").GetDouble()), source);
                Assert.That(recall.GetProperty("union").GetProperty("mean_candidates").GetDouble(), Is.GreaterThan(10));
                Assert.That(report.RootElement.GetProperty("ranker-seq").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                // Every timestamp is distinct: no target ties the interaction before it, so the untied HR@10 is the HR@10 and there is no tied one.
                Assert.That(report.RootElement.GetProperty("tied_users").GetInt32(), Is.EqualTo(0));
                var ranker = report.RootElement.GetProperty("ranker");
                Assert.That(ranker.GetProperty("hr10_untied").GetDouble(), Is.EqualTo(ranker.GetProperty("hr10").GetDouble()));
                Assert.That(ranker.TryGetProperty("hr10_tied", out _), Is.False);
                Assert.That(run.Output, Does.Contain("Test: 0 of 90 users tied"));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Test]
        public void RecommendEvalAddsTheSelfAttentionRowAndRankerSequenceModel()
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                string input = WriteChains(folder), json = Path.Combine(folder, "results.json");
                var run = CliRunner.Run("recommend-eval", "--input", input, "--json", json, "--split", "test", "--dimensions", "8", "--epochs", "5", "--sample", "0", "--no-graph",
                    "--trees", "10", "--leaves", "4", "--min-leaf", "5", "--candidates", "10", "--no-mf", "--no-youtube", "--no-gru", "--sasrec", "--ranker-seq", "sasrec",
                    "--attention-blocks", "1", "--attention-heads", "2", "--attention-dropout", "0.1", "--seq-max-epochs", "15", "--seq-dimensions", "16",
                    "--ranker-seq-dimensions", "16", "--seq-learning-rate", "0.02", "--threads", "1");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                using var report = JsonDocument.Parse(File.ReadAllText(json));
                Assert.That(report.RootElement.GetProperty("sasrec").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                Assert.That(report.RootElement.GetProperty("ranker-seq").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                Assert.That(report.RootElement.TryGetProperty("gru", out _), Is.False);
                var settings = report.RootElement.GetProperty("settings");
                Assert.That(settings.GetProperty("ranker_sequence_model").GetString(), Does.Contain("SelfAttention").And.Contain("1 blocks, 2 heads, dropout 0.1"));
                Assert.That(settings.GetProperty("sequence_recall_epochs").GetProperty("sasrec").GetInt32(), Is.InRange(1, 15));

                // Causal windows for both self-attention models.
                run = CliRunner.Run("recommend-eval", "--input", input, "--json", json, "--split", "test", "--dimensions", "8", "--epochs", "5", "--sample", "0", "--no-graph",
                    "--trees", "10", "--leaves", "4", "--min-leaf", "5", "--candidates", "10", "--no-mf", "--no-youtube", "--no-gru", "--sasrec", "--ranker-seq", "sasrec",
                    "--attention-windows", "--attention-history", "8", "--attention-batch-size", "16", "--seq-max-epochs", "15", "--seq-dimensions", "16",
                    "--ranker-seq-dimensions", "16", "--seq-learning-rate", "0.02", "--threads", "1");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                using var windows = JsonDocument.Parse(File.ReadAllText(json));
                Assert.That(windows.RootElement.GetProperty("sasrec").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                Assert.That(windows.RootElement.GetProperty("ranker-seq").GetProperty("hr10").GetDouble(), Is.GreaterThan(0.9));
                Assert.That(windows.RootElement.GetProperty("settings").GetProperty("ranker_sequence_model").GetString(), Does.Contain("history 8, batch 16, CausalWindows"));

                run = CliRunner.Run("recommend-eval", "--input", input, "--attention-blocks", "3");
                Assert.That(run.ExitCode, Is.EqualTo(2));
                Assert.That(run.Error, Does.Contain("--attention-blocks sets the self-attention model; add --sasrec or --ranker-seq sasrec"));
                run = CliRunner.Run("recommend-eval", "--input", input, "--ranker-seq", "gru", "--attention-windows");
                Assert.That(run.ExitCode, Is.EqualTo(2));
                Assert.That(run.Error, Does.Contain("--attention-windows sets the self-attention model; add --sasrec or --ranker-seq sasrec"));
                run = CliRunner.Run("recommend-eval", "--input", input, "--sasrec", "--attention-heads", "5");
                Assert.That(run.ExitCode, Is.EqualTo(2));
                Assert.That(run.Error, Does.Contain("--attention-heads 5 must divide"));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Test]
        public void SweepWritesTheLeaderboardAndSavesTheChosenPipeline()
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                string input = WriteChains(folder);
                var split = InteractionFile.ReadSplit(input);
                var baseline = new RankingRecommenderOptions { CandidateCount = 10, NumberOfTrees = 10, MinimumExampleCountPerLeaf = 5, NumberOfThreads = 1 };
                baseline.Item2Vec.EmbeddingDimension = 8;
                baseline.Item2Vec.Epochs = 5;
                baseline.ItemGraph.EmbeddingDimension = 8;
                baseline.ItemGraph.WalksPerNode = 4;
                int reports = 0;
                var result = RecommendationSweep.Run(split, new RecommendationSweepOptions { Baseline = baseline, MaximumTrials = 3, Budget = TimeSpan.FromMinutes(5) },
                    new Progress(() => reports++));
                Assert.That(result.Trials, Has.Count.EqualTo(3));
                Assert.That(reports, Is.EqualTo(3));
                Assert.That(result.Trials.Select(t => t.Validation.Ndcg), Is.Ordered.Descending);
                Assert.That(result.Best, Is.SameAs(result.Trials[0]));
                Assert.That(result.Trials.Single(t => t.Number == 1).Parameters["dimension"], Is.EqualTo("8"), "trial 1 is the baseline");
                Assert.That(result.BestTest.Target, Is.EqualTo(RankingTarget.Test));
                string csv = Path.Combine(folder, "leaderboard.csv");
                result.WriteLeaderboard(csv);
                var lines = File.ReadAllLines(csv);
                Assert.That(lines, Has.Length.EqualTo(4));
                Assert.That(lines[0], Does.StartWith("rank,trial,").And.EndWith("validation_hr10,validation_ndcg10,seconds"));
                Assert.Throws<ArgumentOutOfRangeException>(() => RecommendationSweep.Run(split, new RecommendationSweepOptions { Budget = TimeSpan.FromSeconds(5) }));

                string model = Path.Combine(folder, "best.zip"), board = Path.Combine(folder, "board.csv");
                var run = CliRunner.Run("sweep", "--input", input, "--trials", "1", "--budget-minutes", "5", "--leaderboard", board, "--model", model, "--threads", "1");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(File.ReadAllLines(board), Has.Length.EqualTo(2));
                var loaded = new MLContext(seed: 1).Model.Load(model, out var schema);
                Assert.That(schema.GetColumnOrNull("User"), Is.Not.Null);
                Assert.That(loaded.GetOutputSchema(schema).GetColumnOrNull("Score"), Is.Not.Null);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        private sealed class Progress : IProgress<RecommendationSweepProgress>
        {
            private readonly Action _report;

            public Progress(Action report) => _report = report;

            public void Report(RecommendationSweepProgress value) => _report();
        }
    }
}
