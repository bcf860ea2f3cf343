using System.IO;
using System.Linq;
using Embeddings.Evaluation;
using NUnit.Framework;

namespace Embeddings.Tests.Evaluation
{
    [TestFixture]
    public class WordAnalogyEvaluatorTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        [Test]
        public void CountsCorrectSkippedAndSectionsLikeComputeAccuracy()
        {
            // Every word is the sum of two unit axes (equal norms), so b - a + c points exactly at d for the planted
            // questions. Axes: royal, young royal, person, male, female, car, tree, singular, plural, noise.
            var keys = new[] { "king", "queen", "man", "woman", "prince", "princess", "cars", "car", "trees", "tree", "rare" };
            var axes = new[] { (0, 3), (0, 4), (2, 3), (2, 4), (1, 3), (1, 4), (5, 8), (5, 7), (6, 8), (6, 7), (9, 9) };
            var vectors = new float[keys.Length * 10];
            for (int i = 0; i < keys.Length; i++)
            {
                vectors[i * 10 + axes[i].Item1] += 1;
                vectors[i * 10 + axes[i].Item2] += 1;
            }
            var table = new EmbeddingTable(keys, vectors, 10);
            string questions = Path.Combine(_folder, "questions.txt");
            File.WriteAllText(questions, string.Join("\n",
                ": family",
                "man woman king queen",
                "KING QUEEN MAN WOMAN",         // matched case-insensitively
                "man woman prince princess",
                "man woman unknown queen",      // skipped: a word outside the vocabulary
                ": gram8-plural",
                "car cars tree trees",
                "cars car trees tree",
                "car cars tree rare",           // wrong answer expected: 'rare' is never nearest
                ""));
            var result = WordAnalogyEvaluator.Evaluate(table, questions);
            Assert.That(result.Sections.Select(s => s.Name), Is.EqualTo(new[] { "family", "gram8-plural" }));
            Assert.That(result.Semantic, Is.EqualTo(new AnalogySection("semantic", 3, 3, 1)));
            Assert.That(result.Syntactic.Seen, Is.EqualTo(3));
            Assert.That(result.Syntactic.Correct, Is.EqualTo(2));
            Assert.That(result.Total.Correct, Is.EqualTo(5));
            Assert.That(result.Total.Accuracy, Is.EqualTo(5 / 6.0).Within(1e-12));

            // Restricting the vocabulary to the first 4 keys skips every question that names a later key.
            var restricted = WordAnalogyEvaluator.Evaluate(table, questions, restrictVocabulary: 4);
            Assert.That(restricted.Total.Seen, Is.EqualTo(2));
            Assert.That(restricted.Total.Skipped, Is.EqualTo(5));
        }
    }
}
