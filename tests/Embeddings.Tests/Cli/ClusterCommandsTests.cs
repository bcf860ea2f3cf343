using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cli;
using Embeddings.Cli.Commands;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    /// <summary><c>embeddings cluster silo</c> and <c>embeddings cluster submit</c>: flag checks, and one job on a silo started through the command.</summary>
    [TestFixture]
    [NonParallelizable]
    public class ClusterCommandsTests
    {
        private string _folder = null!;
        private string _edges = null!;

        [SetUp]
        public void CreateFolder()
        {
            _folder = TestUtilities.NewTempFolder();
            _edges = Path.Combine(TestUtilities.TestDataPath("karate"), "edges.tsv");
        }

        [TearDown]
        public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

        private string[] Submit(params string[] more) =>
            new[] { "cluster", "submit", "node2vec", "--storage", _folder, "--input", _edges, "--output", Path.Combine(_folder, "karate.emb") }.Concat(more).ToArray();

        [Test]
        public void SiloFlagsAreCheckedWithMessagesThatNameTheFlagAndTheFix()
        {
            var missing = CliRunner.Run("cluster", "silo", "--storage", Path.Combine(_folder, "nope"));
            Assert.That(missing.ExitCode, Is.EqualTo(1), missing.ToString());
            Assert.That(missing.Error, Does.Contain("embeddings cluster silo: --storage").And.Contain("is not a folder").And.Contain("create the shared storage folder"));

            var remote = CliRunner.Run("cluster", "silo", "--storage", _folder, "--seed-silo", "10.1.2.3:11111");
            Assert.That(remote.ExitCode, Is.EqualTo(2), remote.ToString());
            Assert.That(remote.Error, Does.Contain("--seed-silo '10.1.2.3:11111' names the host '10.1.2.3'").And.Contain("127.0.0.1"));

            var malformed = CliRunner.Run("cluster", "silo", "--storage", _folder, "--seed-silo", "first-silo");
            Assert.That(malformed.ExitCode, Is.EqualTo(2), malformed.ToString());
            Assert.That(malformed.Error, Does.Contain("--seed-silo 'first-silo' is not HOST:PORT"));

            var port = CliRunner.Run("cluster", "silo", "--storage", _folder, "--port", "70000");
            Assert.That(port.ExitCode, Is.EqualTo(2), port.ToString());
            Assert.That(port.Error, Does.Contain("--port"));

            var same = CliRunner.Run("cluster", "silo", "--storage", _folder, "--port", "41000", "--gateway-port", "41000");
            Assert.That(same.ExitCode, Is.EqualTo(2), same.ToString());
            Assert.That(same.Error, Does.Contain("--gateway-port is 41000, the same as --port"));

            var itself = CliRunner.Run("cluster", "silo", "--storage", _folder, "--port", "41000", "--seed-silo", "127.0.0.1:41000");
            Assert.That(itself.ExitCode, Is.EqualTo(2), itself.ToString());
            Assert.That(itself.Error, Does.Contain("names this silo's own --port 41000"));
        }

        [Test]
        public void SubmitFlagsAreCheckedBeforeConnecting()
        {
            var storage = CliRunner.Run(Submit().Select(a => a == _folder ? Path.Combine(_folder, "nope") : a).ToArray());
            Assert.That(storage.ExitCode, Is.EqualTo(1), storage.ToString());
            Assert.That(storage.Error, Does.Contain("embeddings cluster submit node2vec: --storage").And.Contain("is not a folder"));

            var gateway = CliRunner.Run(Submit("--gateway", "example.org:30000"));
            Assert.That(gateway.ExitCode, Is.EqualTo(2), gateway.ToString());
            Assert.That(gateway.Error, Does.Contain("--gateway 'example.org:30000' names the host 'example.org'"));

            var partitions = CliRunner.Run(Submit("--partitions", "0"));
            Assert.That(partitions.ExitCode, Is.EqualTo(2), partitions.ToString());
            Assert.That(partitions.Error, Does.Contain("--partitions"));

            // A library check, in the command's terms, before any connection is tried.
            var negatives = CliRunner.Run(Submit("--negative", "100"));
            Assert.That(negatives.ExitCode, Is.EqualTo(2), negatives.ToString());
            Assert.That(negatives.Error, Does.Contain("--negative = 100").And.Contain("1 to 64"));

            var jobId = CliRunner.Run(Submit("--job-id", "no spaces"));
            Assert.That(jobId.ExitCode, Is.Not.EqualTo(0), jobId.ToString());
            Assert.That(jobId.Error, Does.Contain("--job-id 'no spaces' is not a valid job name"));
            Assert.That(File.Exists(Path.Combine(_folder, "karate.emb")), Is.False, "nothing written");
        }

        [Test]
        public void SubmitWithoutARunningClusterFailsWithAClearMessage()
        {
            var before = ClusterSubmission.ConnectTimeout;
            ClusterSubmission.ConnectTimeout = TimeSpan.FromSeconds(2);
            try
            {
                int port = FreePort();
                var run = CliRunner.Run(Submit("--gateway", $"127.0.0.1:{port}"));
                Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
                Assert.That(run.Error, Does.Contain($"cannot reach the cluster at 127.0.0.1:{port}").And.Contain("embeddings cluster silo --storage DIR"));
                Assert.That(File.Exists(Path.Combine(_folder, "karate.emb")), Is.False, "nothing written");
            }
            finally
            {
                ClusterSubmission.ConnectTimeout = before;
            }
        }

        [Test]
        public void ASiloStartedByTheCommandTrainsASubmittedJobAndStopsOnCancellation()
        {
            int siloPort = FreePort(), gatewayPort = FreePort();
            var siloOutput = new StringWriter();
            var siloError = new StringWriter();
            var syncOutput = TextWriter.Synchronized(siloOutput);
            using var stop = new CancellationTokenSource();
            var silo = Task.Run(() => EmbeddingsCli.Run(new[] { "cluster", "silo", "--storage", _folder, "--port", siloPort.ToString(), "--gateway-port", gatewayPort.ToString(), "--poll-ms", "50" },
                stop.Token, syncOutput, TextWriter.Synchronized(siloError)));
            try
            {
                // The synchronized writer locks itself while it writes: read the text under the same lock.
                string Printed()
                {
                    lock (syncOutput)
                        return siloOutput.ToString();
                }
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!Printed().Contains("Ctrl+C stops it", StringComparison.Ordinal) && !silo.IsCompleted && DateTime.UtcNow < deadline)
                    Thread.Sleep(50);
                Assert.That(Printed(), Does.Contain($"silo on 127.0.0.1:{siloPort} (gateway {gatewayPort}), first silo"), siloError.ToString());

                string output = Path.Combine(_folder, "karate.emb");
                var run = CliRunner.Run(Submit("--gateway", $"127.0.0.1:{gatewayPort}", "--partitions", "2", "--dimensions", "16", "--walk-length", "20", "--num-walks", "40",
                    "--window-size", "5", "--workers", "1", "--q", "0.5", "--weighted"));
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(run.Output, Does.Contain("job 'karate': 34 nodes, 24 buckets"), "1,360 walks in 6 work items: 6 episodes (the minimum of 8 is capped by the items) x 2 x 2 buckets");
                Assert.That(run.Error, Does.Contain("24/24 buckets"), "progress on standard error");
                var table = EmbeddingTable.LoadWord2VecFormat(output);
                Assert.That(table.Count, Is.EqualTo(34));
                var faction = File.ReadLines(Path.Combine(TestUtilities.TestDataPath("karate"), "labels.tsv")).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
                double agreement = table.Keys.Average(k => table.MostSimilar(k, 5).Count(n => faction[n.Key] == faction[k]) / 5.0);
                Assert.That(agreement, Is.GreaterThan(0.75), "nearest neighbours share the member's faction when trained on the cluster");

                // item2vec on the same silo: 300 users of 5 tastes (10 items each), 30 interactions each, one in five from any taste.
                string interactions = Path.Combine(_folder, "interactions.tsv");
                var random = new Random(4);
                File.WriteAllLines(interactions, Enumerable.Range(0, 300).SelectMany(u => Enumerable.Range(0, 30).Select(t =>
                {
                    int item = random.Next(5) == 0 ? random.Next(50) : u % 5 * 10 + random.Next(10);
                    return $"{u}\t{item}\t1\t{1000 + t}";
                })));
                string items = Path.Combine(_folder, "items.emb");
                var item2Vec = CliRunner.Run("cluster", "submit", "item2vec", "--storage", _folder, "--gateway", $"127.0.0.1:{gatewayPort}", "--input", interactions, "--output", items,
                    "--partitions", "2", "--dimensions", "16", "--epochs", "5", "--seed", "3", "--threads", "1");
                Assert.That(item2Vec.ExitCode, Is.EqualTo(0), item2Vec.ToString());
                Assert.That(item2Vec.Output, Does.Contain("job 'items': 300 users, 50 items"));
                var itemTable = EmbeddingTable.LoadWord2VecFormat(items);
                double sameTaste = itemTable.Keys.Average(k => itemTable.MostSimilar(k, 3).Count(n => int.Parse(n.Key) / 10 == int.Parse(k) / 10) / 3.0);
                Assert.That(sameTaste, Is.GreaterThan(0.8), "an item's nearest items share its taste");
                var submitterPairs = CliRunner.Run("cluster", "submit", "item2vec", "--storage", _folder, "--input", interactions, "--output", items, "--pairs", "submitter");
                Assert.That(submitterPairs.ExitCode, Is.EqualTo(2), "item2vec jobs have no --pairs: the workers always write their pairs");
            }
            finally
            {
                stop.Cancel();
                Assert.That(silo.Wait(TimeSpan.FromSeconds(60)), Is.True, "the silo stops on cancellation");
            }
            Assert.That(silo.Result, Is.EqualTo(0), siloError.ToString());
            Assert.That(siloOutput.ToString(), Does.Contain("silo stopped"));
        }

        /// <summary>A small recommender trained on the planted chains, saved into the test folder.</summary>
        private string SaveModel()
        {
            var ml = new Microsoft.ML.MLContext(seed: 1);
            var (rows, _) = Recommendation.PlantedChains.Interactions();
            var model = ml.Embeddings().RankingRecommender(Recommendation.PlantedChains.Options()).Fit(ml.Data.LoadFromEnumerable(rows));
            string path = Path.Combine(_folder, "model.zip");
            ml.Model.Save(model, null, path);
            return path;
        }

        private string[] SubmitRecommend(string model, params string[] more) =>
            new[] { "cluster", "submit", "recommend", "--storage", _folder, "--model", model, "--output", Path.Combine(_folder, "lists.tsv") }.Concat(more).ToArray();

        [Test]
        public void SubmitRecommendFlagsAreCheckedBeforeConnecting()
        {
            string model = Path.Combine(_folder, "model.zip");
            File.WriteAllText(model, "not read before the flags are checked");
            var count = CliRunner.Run(SubmitRecommend(model, "--count", "0"));
            Assert.That(count.ExitCode, Is.EqualTo(2), count.ToString());
            Assert.That(count.Error, Does.Contain("--count"));

            var perTask = CliRunner.Run(SubmitRecommend(model, "--users-per-task", "0"));
            Assert.That(perTask.ExitCode, Is.EqualTo(2), perTask.ToString());
            Assert.That(perTask.Error, Does.Contain("--users-per-task"));

            var format = CliRunner.Run(SubmitRecommend(model, "--format", "csv"));
            Assert.That(format.ExitCode, Is.EqualTo(2), format.ToString());
            Assert.That(format.Error, Does.Contain("--format"));

            var gateway = CliRunner.Run(SubmitRecommend(model, "--gateway", "example.org:30000"));
            Assert.That(gateway.ExitCode, Is.EqualTo(2), gateway.ToString());
            Assert.That(gateway.Error, Does.Contain("--gateway 'example.org:30000' names the host 'example.org'"));

            var jobId = CliRunner.Run(SubmitRecommend(model, "--job-id", "no spaces"));
            Assert.That(jobId.ExitCode, Is.Not.EqualTo(0), jobId.ToString());
            Assert.That(jobId.Error, Does.Contain("--job-id 'no spaces' is not a valid job name"));

            var folder = CliRunner.Run(SubmitRecommend(model).Select(a => a.EndsWith("lists.tsv", StringComparison.Ordinal) ? Path.Combine(_folder, "nope", "lists.tsv") : a).ToArray());
            Assert.That(folder.ExitCode, Is.EqualTo(2), folder.ToString());
            Assert.That(folder.Error, Does.Contain("does not exist").And.Contain("end --output with '/'"));

            var missing = CliRunner.Run(SubmitRecommend(Path.Combine(_folder, "missing.zip")));
            Assert.That(missing.ExitCode, Is.Not.EqualTo(0), missing.ToString());
            Assert.That(missing.Error, Does.Contain("--model"));

            var before = ClusterSubmission.ConnectTimeout;
            ClusterSubmission.ConnectTimeout = TimeSpan.FromSeconds(2);
            try
            {
                int port = FreePort();
                var run = CliRunner.Run(SubmitRecommend(model, "--gateway", $"127.0.0.1:{port}"));
                Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
                Assert.That(run.Error, Does.Contain($"cannot reach the cluster at 127.0.0.1:{port}"));
            }
            finally
            {
                ClusterSubmission.ConnectTimeout = before;
            }
            Assert.That(File.Exists(Path.Combine(_folder, "lists.tsv")), Is.False, "nothing written");
            Assert.That(Directory.GetDirectories(_folder), Is.Empty, "no job was written into the storage");
        }

        [Test]
        public void ASiloStartedByTheCommandWritesTheRecommendCommandsListsForASubmittedRecommendation()
        {
            string model = SaveModel();
            string single = Path.Combine(_folder, "single.tsv");
            var reference = CliRunner.Run("recommend", "--model", model, "--k", "5", "--output", single, "--threads", "1");
            Assert.That(reference.ExitCode, Is.EqualTo(0), reference.ToString());
            string singleParquet = Path.Combine(_folder, "single.parquet");
            Assert.That(CliRunner.Run("recommend", "--model", model, "--k", "5", "--output", singleParquet, "--include-seen").ExitCode, Is.EqualTo(0));

            int siloPort = FreePort(), gatewayPort = FreePort();
            var siloOutput = new StringWriter();
            var siloError = new StringWriter();
            var syncOutput = TextWriter.Synchronized(siloOutput);
            using var stop = new CancellationTokenSource();
            var silo = Task.Run(() => EmbeddingsCli.Run(new[] { "cluster", "silo", "--storage", _folder, "--port", siloPort.ToString(), "--gateway-port", gatewayPort.ToString(), "--poll-ms", "50" },
                stop.Token, syncOutput, TextWriter.Synchronized(siloError)));
            try
            {
                string Printed()
                {
                    lock (syncOutput)
                        return siloOutput.ToString();
                }
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!Printed().Contains("Ctrl+C stops it", StringComparison.Ordinal) && !silo.IsCompleted && DateTime.UtcNow < deadline)
                    Thread.Sleep(50);
                Assert.That(Printed(), Does.Contain("first silo"), siloError.ToString());

                var run = CliRunner.Run(SubmitRecommend(model, "--gateway", $"127.0.0.1:{gatewayPort}", "--count", "5", "--users-per-task", "25"));
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(run.Output, Does.Contain("job 'lists': 600 recommendations in 5 shards"), "120 users in ranges of 25");
                Assert.That(run.Error, Does.Contain("5/5 tasks"), "progress on standard error");
                Assert.That(File.ReadAllText(Path.Combine(_folder, "lists.tsv")), Is.EqualTo(File.ReadAllText(single)), "the same lines as 'embeddings recommend'");

                // The job id defaults to the output's name: another job under it is refused, naming the difference.
                string parquet = Path.Combine(_folder, "lists.parquet");
                string[] again = { "cluster", "submit", "recommend", "--storage", _folder, "--model", model, "--output", parquet, "--gateway", $"127.0.0.1:{gatewayPort}",
                    "--count", "5", "--users-per-task", "50", "--include-seen" };
                var clash = CliRunner.Run(again);
                Assert.That(clash.ExitCode, Is.EqualTo(1), clash.ToString());
                Assert.That(clash.Error, Does.Contain("holds another job named 'lists' (Tasks: 5 vs 3, stored vs submitted)").And.Contain("choose another"));
                var second = CliRunner.Run(again.Concat(new[] { "--job-id", "lists-parquet" }).ToArray());
                Assert.That(second.ExitCode, Is.EqualTo(0), second.ToString());
                var ml = new Microsoft.ML.MLContext(seed: 1);
                foreach (string column in new[] { "user", "item", "rank" })
                    Assert.That(ml.Data.LoadFromParquet(parquet, column).Preview(1000).RowView.Select(r => r.Values[0].Value.ToString()),
                        Is.EqualTo(ml.Data.LoadFromParquet(singleParquet, column).Preview(1000).RowView.Select(r => r.Values[0].Value.ToString())), $"column {column}");
                Assert.That(ml.Data.LoadFromParquet(parquet, "score").Preview(1000).RowView.Select(r => (float)r.Values[0].Value),
                    Is.EqualTo(ml.Data.LoadFromParquet(singleParquet, "score").Preview(1000).RowView.Select(r => (float)r.Values[0].Value)), "scores");
            }
            finally
            {
                stop.Cancel();
                Assert.That(silo.Wait(TimeSpan.FromSeconds(60)), Is.True, "the silo stops on cancellation");
            }
            Assert.That(silo.Result, Is.EqualTo(0), siloError.ToString());
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
