using System.IO;
using System.Linq;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    [TestFixture]
    public class SimilarCommandTests
    {
        [TestCase(false)]
        [TestCase(true)]
        public void AllowAndDenyListsFilterTheNeighbours(bool approximate)
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                var random = new System.Random(3);
                var keys = Enumerable.Range(0, 300).Select(i => $"k{i}").ToArray();
                var table = new EmbeddingTable(keys, Enumerable.Range(0, 300 * 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), 8);
                string vectors = Path.Combine(folder, "v.bin");
                table.SaveWord2VecFormat(vectors, binary: true);
                string queries = Path.Combine(folder, "q.txt");
                File.WriteAllLines(queries, new[] { "k1", "k42" });
                string allow = Path.Combine(folder, "allow.txt"), deny = Path.Combine(folder, "deny.txt");
                // 20 allowed keys (under 7% of the table), 2 of them denied: 18 may be neighbours.
                var allowed = Enumerable.Range(100, 20).Select(i => $"k{i}").ToArray();
                File.WriteAllLines(allow, allowed);
                File.WriteAllLines(deny, new[] { "k100", "", "k101" });
                string output = Path.Combine(folder, "out.tsv");
                var args = new[] { "similar", "--vectors", vectors, "--queries", queries, "--k", "5", "--output", output, "--allow", allow, "--deny", deny };
                // 64 links per node (128 on the base layer) over 300 rows: the multi-threaded build cannot leave a row unreachable.
                var run = CliRunner.Run(approximate ? args.Concat(new[] { "--approximate", "--connectivity", "64" }).ToArray() : args);
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                Assert.That(run.Output, Does.Contain("18 of 300 keys"));
                var lines = File.ReadAllLines(output).Select(l => l.Split('\t')).ToArray();
                Assert.That(lines, Has.Length.EqualTo(10), "a catalogue filtered down to 18 keys still gives 5 neighbours per query");
                var filter = NeighborFilter.For(table).Allowing(allowed).Excluding(new[] { "k100", "k101" });
                foreach (var group in lines.GroupBy(l => l[0]))
                {
                    Assert.That(group.Select(l => l[1]), Is.SubsetOf(allowed.Skip(2).ToArray()));
                    Assert.That(group.Select(l => l[1]), Is.EqualTo(table.MostSimilar(group.Key, 5, filter).Select(n => n.Key)), "the fallback to exact search for so few admitted rows");
                }
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }

        [TestCase(false)]
        [TestCase(true)]
        public void WritesKNeighboursPerKnownQueryBestFirstWithoutTheQuery(bool approximate)
        {
            string folder = TestUtilities.NewTempFolder();
            try
            {
                var random = new System.Random(2);
                var keys = Enumerable.Range(0, 300).Select(i => $"k{i}").ToArray();
                var table = new EmbeddingTable(keys, Enumerable.Range(0, 300 * 8).Select(_ => (float)random.NextDouble() - 0.5f).ToArray(), 8);
                string vectors = Path.Combine(folder, "v.bin");
                table.SaveWord2VecFormat(vectors, binary: true);
                string queries = Path.Combine(folder, "q.txt");
                File.WriteAllLines(queries, new[] { "k1", "missing", "k42" });
                string output = Path.Combine(folder, "out.tsv");
                var args = new[] { "similar", "--vectors", vectors, "--queries", queries, "--k", "5", "--output", output, "--ef", "300" };
                // 64 links per node (128 on the base layer) over 300 rows: the multi-threaded build cannot leave a row unreachable,
                // which a pruned graph can (this test failed once in a helper's run with the default 16 links).
                var run = CliRunner.Run(approximate ? args.Concat(new[] { "--approximate", "--connectivity", "64" }).ToArray() : args);
                Assert.That(run.ExitCode, Is.EqualTo(0), run.ToString());
                var lines = File.ReadAllLines(output).Select(l => l.Split('\t')).ToArray();
                Assert.That(lines, Has.Length.EqualTo(10), "5 neighbours for each of the 2 known queries; the unknown one is skipped");
                foreach (var group in lines.GroupBy(l => l[0]))
                {
                    var expected = table.MostSimilar(group.Key, 5).Select(n => n.Key).ToList();
                    if (approximate)
                        Assert.That(group.Select(l => l[1]).Intersect(expected).Count(), Is.GreaterThanOrEqualTo(4), $"{group.Key}: HNSW finds most true neighbours");
                    else
                        Assert.That(group.Select(l => l[1]), Is.EqualTo(expected), group.Key);
                    Assert.That(group.Select(l => l[1]), Does.Not.Contain(group.Key));
                    Assert.That(group.Select(l => float.Parse(l[2], System.Globalization.CultureInfo.InvariantCulture)), Is.Ordered.Descending);
                }
            }
            finally
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }
}
