using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    /// <summary>
    /// The crash inputs that tests/Embeddings.Fuzz/run-fuzz.sh found in the parsers (tests/Embeddings.Fuzz/findings), pinned:
    /// each one is now rejected with the documented FormatException (a model header that ML.NET itself cannot read may
    /// fail inside ML.NET instead).
    /// </summary>
    [TestFixture]
    public class FuzzFindingsTests
    {
        private static string[] Inputs(string target)
        {
            string folder = TestUtilities.TestDataPath(Path.Combine("fuzz-findings", target));
            var files = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.input").OrderBy(f => f, StringComparer.Ordinal).ToArray() : Array.Empty<string>();
            Assert.That(files, Is.Not.Empty, $"no findings copied for {target}");
            return files;
        }

        [TestCase("word2vec-text", Word2VecFileFormat.Text)]
        [TestCase("word2vec-binary", Word2VecFileFormat.Binary)]
        [TestCase("word2vec-detect", Word2VecFileFormat.Detect)]
        public void Word2VecFindingsAreFormatErrors(string target, Word2VecFileFormat format)
        {
            foreach (string file in Inputs(target))
                Assert.Throws<FormatException>(() => EmbeddingTable.LoadWord2VecFormat(file, format), Path.GetFileName(file));
        }

        [Test]
        public void NativeTableFindingsAreFormatErrors()
        {
            foreach (string file in Inputs("native-table"))
                Assert.Throws<FormatException>(() => EmbeddingTable.Load(new MemoryStream(File.ReadAllBytes(file))), Path.GetFileName(file));
        }

        [Test]
        public void ModelFindingsAreFormatErrorsOrMlNetHeaderErrors()
        {
            var ml = new MLContext(seed: 0);
            foreach (string file in Inputs("model-zip"))
            {
                var thrown = Assert.Catch(() => ml.Model.Load(new MemoryStream(File.ReadAllBytes(file)), out _), Path.GetFileName(file))!;
                while (thrown is TargetInvocationException { InnerException: { } inner })
                    thrown = inner; // ML.NET calls the loader by reflection
                bool ours = (thrown.StackTrace ?? "").Split('\n').Select(f => f.Trim())
                    .Any(f => f.StartsWith("at Embeddings.", StringComparison.Ordinal) && !f.StartsWith("at Embeddings.Tests.", StringComparison.Ordinal));
                Assert.That(thrown is FormatException || !ours, Is.True, $"{Path.GetFileName(file)}: {thrown}");
            }
        }
    }
}
