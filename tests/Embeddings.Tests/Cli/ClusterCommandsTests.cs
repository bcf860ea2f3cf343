using System;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cli;
using Embeddings.Cli.Commands;
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
            }
            finally
            {
                stop.Cancel();
                Assert.That(silo.Wait(TimeSpan.FromSeconds(60)), Is.True, "the silo stops on cancellation");
            }
            Assert.That(silo.Result, Is.EqualTo(0), siloError.ToString());
            Assert.That(siloOutput.ToString(), Does.Contain("silo stopped"));
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
