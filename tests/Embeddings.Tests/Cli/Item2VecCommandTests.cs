using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    [TestFixture]
    public class Item2VecCommandTests
    {
        [Test]
        public void WritesItemAndContextVectorsAndExcludesTheLastInteractions()
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                // 40 users; each user's last interaction is the only one with item "last-<user>".
                var random = new System.Random(1);
                var rows = Enumerable.Range(0, 40).SelectMany(u => Enumerable.Range(0, 12)
                    .Select(t => $"{u}\t{(t == 11 ? $"last-{u}" : $"{(u < 20 ? "a" : "b")}{random.Next(8)}")}\t5\t{1000 + t}"));
                string input = Path.Combine(folder, "u.data");
                File.WriteAllLines(input, rows);
                string items = Path.Combine(folder, "items.txt"), context = Path.Combine(folder, "context.txt");
                var run = CliRunner.Run("item2vec", "--input", input, "--exclude-last", "1", "--output", items, "--context-output", context,
                    "--dimensions", "8", "--epochs", "10", "--sample", "0", "--threads", "1");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                var table = EmbeddingTable.LoadWord2VecFormat(items);
                Assert.That(table.Keys.Where(k => k.StartsWith("last-")), Is.Empty, "the excluded interactions are not trained on");
                Assert.That(table.Count, Is.EqualTo(16));
                Assert.That(EmbeddingTable.LoadWord2VecFormat(context).Keys, Is.EqualTo(table.Keys));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [Test]
        public void TrainsPartitionedWithTheSameFlagsAsTheGraphCommands()
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                // Users 0-19 see items a0-a7, users 20-39 items b0-b7: the two groups must come out apart.
                var random = new System.Random(2);
                var rows = Enumerable.Range(0, 40).SelectMany(u => Enumerable.Range(0, 12).Select(t => $"{u}\t{(u < 20 ? "a" : "b")}{random.Next(8)}\t5\t{1000 + t}"));
                string input = Path.Combine(folder, "u.data");
                File.WriteAllLines(input, rows);
                string items = Path.Combine(folder, "items.txt");
                var run = CliRunner.Run("item2vec", "--input", input, "--output", items, "--dimensions", "8", "--epochs", "10", "--sample", "0", "--threads", "1",
                    "--partitions", "2", "--partition-dir", Path.Combine(folder, "partitions"), "--episode-gib", "0.001");
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(run.Output, Does.Contain("(partitioned: P = 2,"));
                var table = EmbeddingTable.LoadWord2VecFormat(items);
                Assert.That(table.Count, Is.EqualTo(16));
                double same = table.Keys.Average(k => table.MostSimilar(k, 3).Count(n => n.Key[0] == k[0]) / 3.0);
                Assert.That(same, Is.GreaterThan(0.9), "nearest items from the same group");

                var missing = CliRunner.Run("item2vec", "--input", input, "--output", Path.Combine(folder, "o.txt"), "--partitions", "2");
                Assert.That(missing.ExitCode, Is.EqualTo(2));
                Assert.That(missing.Error, Does.Contain("--partitions trains partitioned, which keeps its partitions and checkpoints in a folder: add --partition-dir DIR"));
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
