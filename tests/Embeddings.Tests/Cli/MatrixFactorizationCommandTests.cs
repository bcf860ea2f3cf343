using System.IO;
using System.Linq;
using Embeddings.Cli.Commands;
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
            var args = new[] { "--input", input, "--output", items, "--user-output", users, "--rank", "4", "--iterations", "5", "--threads", "1", "--exclude-last", "1" };
            int code = MatrixFactorizationCommand.Run(implicitFeedback ? args.Append("--implicit").ToArray() : args);
            Assert.That(code, Is.EqualTo(0));
            var itemTable = EmbeddingTable.LoadWord2VecFormat(items);
            var userTable = EmbeddingTable.LoadWord2VecFormat(users);
            Assert.That(itemTable.Dimension, Is.EqualTo(4));
            Assert.That(userTable.Count, Is.EqualTo(40));
            Assert.That(userTable.Contains("7"));

            // Warm start from the written item vectors, projected to another rank.
            string warm = Path.Combine(_folder, "warm.txt");
            Assert.That(MatrixFactorizationCommand.Run(new[] { "--input", input, "--output", warm, "--rank", "6", "--iterations", "1", "--warm-start", items, "--implicit" }), Is.EqualTo(0));
            Assert.That(EmbeddingTable.LoadWord2VecFormat(warm).Dimension, Is.EqualTo(6));
        }
    }
}
