using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    [TestFixture]
    public class GraphCommandsTests
    {
        [Test]
        public void Node2VecEmbedsTheKarateClubAndTheFactionsAreClassified()
        {
            string data = TestUtilities.TestDataPath("karate");
            Assert.That(File.Exists(Path.Combine(data, "edges.tsv")), Is.True, "the bundled karate club graph");
            string folder = TestUtilities.NewTempFolder();
            try
            {
                string output = Path.Combine(folder, "karate.emb");
                var run = CliRunner.Run("node2vec", "--input", Path.Combine(data, "edges.tsv"), "--output", output, "--dimensions", "16", "--walk-length", "20",
                    "--num-walks", "40", "--window-size", "5", "--iter", "3", "--workers", "1", "--p", "1", "--q", "0.5", "--weighted");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                var table = EmbeddingTable.LoadWord2VecFormat(output);
                Assert.That(table.Count, Is.EqualTo(34));
                var faction = File.ReadLines(Path.Combine(data, "labels.tsv")).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
                double agreement = table.Keys.Average(k => table.MostSimilar(k, 5).Count(n => faction[n.Key] == faction[k]) / 5.0);
                Assert.That(agreement, Is.GreaterThan(0.8), "nearest neighbours share the member's faction");

                string splits = Path.Combine(folder, "splits.tsv");
                File.WriteAllLines(splits, Enumerable.Range(0, 34).Select(i => $"0\t{i}\t{(i % 2 == 0 ? 1 : 0)}"));
                var evaluation = CliRunner.Run("node-classification", "--vectors", output, "--labels", Path.Combine(data, "labels.tsv"), "--splits", splits);
                Assert.That(evaluation.ExitCode, Is.EqualTo(0), evaluation.ToString());
                Assert.That(evaluation.Output, Does.Contain("Micro-F1"));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Test]
        public void PartitionedNode2VecWritesTheVectorsAndAFinishedFolderReopensWithoutTraining()
        {
            string data = TestUtilities.TestDataPath("karate");
            string folder = TestUtilities.NewTempFolder();
            try
            {
                string output = Path.Combine(folder, "karate.emb"), partitions = Path.Combine(folder, "partitions");
                string[] args = { "node2vec", "--input", Path.Combine(data, "edges.tsv"), "--output", output, "--dimensions", "16", "--walk-length", "20",
                    "--num-walks", "40", "--window-size", "5", "--iter", "3", "--workers", "1", "--q", "0.5", "--weighted", "--partitions", "2", "--partition-dir", partitions, "--min-episodes", "3" };
                var run = CliRunner.Run(args);
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(run.Output, Does.Contain("partitioned: P = 2, 3 episode(s) per epoch, 36 buckets trained now and 0 before").And.Contain("attempt 1,"), "3 epochs x 3 episodes x 4 buckets");
                var table = EmbeddingTable.LoadWord2VecFormat(output);
                Assert.That(table.Count, Is.EqualTo(34));
                var faction = File.ReadLines(Path.Combine(data, "labels.tsv")).Select(l => l.Split('\t')).ToDictionary(f => f[0], f => f[1]);
                double agreement = table.Keys.Average(k => table.MostSimilar(k, 5).Count(n => faction[n.Key] == faction[k]) / 5.0);
                Assert.That(agreement, Is.GreaterThan(0.75), "nearest neighbours share the member's faction when trained partitioned");
                Assert.That(File.Exists(Path.Combine(partitions, "vectors.embt")), Is.True, "the result stays in the partition folder");

                // The same command on the finished folder trains nothing and writes the same vectors.
                var again = CliRunner.Run(args);
                Assert.That(again.ExitCode, Is.EqualTo(0), again.ToString());
                Assert.That(again.Output, Does.Contain("0 buckets trained now and").And.Contain("attempt 2,"));
                var reopened = EmbeddingTable.LoadWord2VecFormat(output);
                foreach (string key in table.Keys)
                    Assert.That(reopened.GetVector(key), Is.EqualTo(table.GetVector(key)), key);
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [TestCase("--partition-dir", "d", ExpectedResult = "embeddings node2vec: --partition-dir is for partitioned training, which --partitions P or --model-memory-gib X turns on; add one of them, or leave it out to train in memory. See 'embeddings node2vec --help'.")]
        [TestCase("--episode-gib", "1", ExpectedResult = "embeddings node2vec: --episode-gib is for partitioned training, which --partitions P or --model-memory-gib X turns on; add one of them, or leave it out to train in memory. See 'embeddings node2vec --help'.")]
        [TestCase("--partitions", "4", ExpectedResult = "embeddings node2vec: --partitions trains partitioned, which keeps its partitions and checkpoints in a folder: add --partition-dir DIR (empty, or holding a killed run of the same command to resume). See 'embeddings node2vec --help'.")]
        [TestCase("--model-memory-gib", "1.5", ExpectedResult = "embeddings node2vec: --model-memory-gib trains partitioned, which keeps its partitions and checkpoints in a folder: add --partition-dir DIR (empty, or holding a killed run of the same command to resume). See 'embeddings node2vec --help'.")]
        [TestCase("--min-episodes", "2", ExpectedResult = "embeddings node2vec: --min-episodes is for partitioned training, which --partitions P or --model-memory-gib X turns on; add one of them, or leave it out to train in memory. See 'embeddings node2vec --help'.")]
        [TestCase("--partitions", "2", "--partition-dir", "d", "--min-episodes", "0", ExpectedResult = "embeddings node2vec: --min-episodes must be from 1 to 1,024; got 0. See 'embeddings node2vec --help'.")]
        [TestCase("--partitions", "65", "--partition-dir", "d", ExpectedResult = "embeddings node2vec: --partitions must be from 1 to 64; got 65. See 'embeddings node2vec --help'.")]
        [TestCase("--model-memory-gib", "0", "--partition-dir", "d", ExpectedResult = "embeddings node2vec: --model-memory-gib must be a finite number of at least 0.0009765625 (1 MiB); got 0. See 'embeddings node2vec --help'.")]
        public string PartitioningFlagsAreCheckedTogether(params string[] flags)
        {
            string data = TestUtilities.TestDataPath("karate");
            string folder = TestUtilities.NewTempFolder();
            try
            {
                var run = CliRunner.Run(new[] { "node2vec", "--input", Path.Combine(data, "edges.tsv"), "--output", Path.Combine(folder, "o.emb"), "--workers", "1" }.Concat(flags).ToArray());
                Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
                Assert.That(File.Exists(Path.Combine(folder, "o.emb")), Is.False);
                return run.Error.TrimEnd();
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
