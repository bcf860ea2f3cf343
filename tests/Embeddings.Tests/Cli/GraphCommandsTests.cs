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
    }
}
