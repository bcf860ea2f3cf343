using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Embeddings.Infrastructure;
using Embeddings.Recommendation;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Persistence
{
    /// <summary>
    /// Saving by loader id (format 0x00010002): the published ids, versions and legacy names, a new-format round trip of
    /// every transformer, the errors for unknown ids, newer state versions and conflicting registrations, and loading in a
    /// process that does not reference the transformer's assembly.
    /// </summary>
    [TestFixture]
    public class LoaderIdPersistenceTests
    {
        /// <summary>
        /// The published contract: saved models record these ids and state versions, and models of the first format these
        /// CLR names. Changing a line here breaks users' models: only add lines, or raise a state version on purpose.
        /// </summary>
        private static readonly (Type Type, string Id, int StateVersion, string[] LegacyTypeNames)[] Contract =
        {
            (typeof(EmbeddingLookupTransformer), "Embeddings.EmbeddingLookup", 1, new[] { "Embeddings.EmbeddingLookupTransformer, Embeddings.Transforms" }),
            (typeof(SimilarityTransformer), "Embeddings.Similarity", 2, new[] { "Embeddings.SimilarityTransformer, Embeddings.Transforms" }),
            (typeof(SkipGramEmbeddingTransformer), "Embeddings.SkipGram", 2, new[] { "Embeddings.SkipGramEmbeddingTransformer, Embeddings.Estimators" }),
            (typeof(NodeEmbeddingTransformer), "Embeddings.NodeEmbedding", 2, new[] { "Embeddings.NodeEmbeddingTransformer, Embeddings.Estimators" }),
            (typeof(GraphWalkTransformer), "Embeddings.GraphWalk", 1, new[] { "Embeddings.GraphWalkTransformer, Embeddings.Estimators" }),
            (typeof(Item2VecTransformer), "Embeddings.Item2Vec", 2, new[] { "Embeddings.Item2VecTransformer, Embeddings.Estimators" }),
            (typeof(MatrixFactorizationTransformer), "Embeddings.MatrixFactorization", 3, new[] { "Embeddings.MatrixFactorizationTransformer, Embeddings.Estimators" }),
            (typeof(RecommendationFeaturesTransformer), "Embeddings.RecommendationFeatures", 3, new[] { "Embeddings.Recommendation.RecommendationFeaturesTransformer, Embeddings.Recommendation" }),
            (typeof(RankingRecommenderTransformer), "Embeddings.RankingRecommender", 1, Array.Empty<string>()),
            (typeof(EndToEndEmbeddingTransformer), "Embeddings.EndToEnd", 1, Array.Empty<string>()),
            (typeof(SequenceRecallTransformer), "Embeddings.SequenceRecall", 1, Array.Empty<string>()),
        };

        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        private static IEnumerable<string> FixtureNames => SavedModelCompatibilityTests.Fixtures.Keys;

        private static IReadOnlyCollection<TransformerLoader> LibraryLoaders() =>
            TransformerLoaderRegistry.FromLoadedAssemblies().Loaders.Where(l => l.TransformerType.Assembly != typeof(LoaderIdPersistenceTests).Assembly).ToArray();

        [Test]
        public void EveryTransformerIsRegisteredUnderItsPublishedIdStateVersionAndLegacyName()
        {
            var registered = LibraryLoaders()
                .Select(l => $"{l.TransformerType.Name} {l.Id} {l.StateVersion} [{string.Join("; ", l.LegacyTypeNames)}]")
                .Order(StringComparer.Ordinal);
            var published = Contract
                .Select(c => $"{c.Type.Name} {c.Id} {c.StateVersion} [{string.Join("; ", c.LegacyTypeNames)}]")
                .Order(StringComparer.Ordinal);
            Assert.That(registered, Is.EqualTo(published));
        }

        [TestCaseSource(nameof(FixtureNames))]
        public void AnOldModelSavedAgainRecordsLoaderIdsNotTypeNamesAndReloadsBitIdentical(string name)
        {
            string path = SaveAgain(name);
            SavedModelCompatibilityTests.AssertExpectedOutputs(name, path);

            var streams = OurModelStreams(path);
            Assert.That(streams, Is.Not.Empty, "the model holds transformers of ours");
            foreach (byte[] stream in streams)
            {
                Assert.That(LibraryLoaders().Count(l => Contains(stream, l.Id)), Is.GreaterThanOrEqualTo(1), "the stream records a loader id");
                foreach (var loader in LibraryLoaders())
                {
                    Assert.That(Contains(stream, loader.TransformerType.FullName!), Is.False, $"the stream records the CLR name {loader.TransformerType.FullName}");
                    Assert.That(Contains(stream, loader.TransformerType.Name), Is.False, $"the stream records the class name {loader.TransformerType.Name}");
                }
            }
        }

        [Test]
        public void EveryRegisteredTransformerIsCoveredByAModelFixture()
        {
            // The fixtures are the save/load round trip of every transformer, old format and new (the estimator
            // conformance suite adds one per estimator on trained data): a new transformer needs a fixture too.
            var recorded = FixtureNames.SelectMany(name => OurModelStreams(SaveAgain(name)))
                .SelectMany(stream => LibraryLoaders().Where(l => Contains(stream, l.Id)).Select(l => l.Id))
                .ToHashSet();
            Assert.That(LibraryLoaders().Select(l => l.Id).Where(id => !recorded.Contains(id)), Is.Empty);
        }

        [Test]
        public void AnUnknownLoaderIdFailsNamingTheIdAndThePackageToReference()
        {
            string path = SaveAgain("similarity");
            Assert.That(Patch(path, "Embeddings.Similarity", "Embeddings.Dissimilar"), Is.EqualTo(3));
            var e = LoadError(path);
            Assert.That(e.Message, Does.Contain("'Embeddings.Dissimilar' (state version 2, saved by Embeddings.Transforms "));
            Assert.That(e.Message, Does.Contain("no loaded assembly registers it"));
            Assert.That(e.Message, Does.Contain("Reference the package Embeddings.Transforms"));
            Assert.That(e.Message, Does.Contain("Embeddings.Similarity"), "the known ids are listed");
        }

        [Test]
        public void AnUnknownLegacyTypeNameFailsNamingTheNameAndThePackageToReference()
        {
            string path = Path.Combine(_folder, "graphwalk.zip");
            File.Copy(Path.Combine(SavedModelCompatibilityTests.Folder, "graphwalk.zip"), path);
            Assert.That(Patch(path, "Embeddings.GraphWalkTransformer, Embeddings.Estimators", "Embeddings.GraphRunsTransformer, Embeddings.Estimators"), Is.EqualTo(1));
            var e = LoadError(path);
            Assert.That(e.Message, Does.Contain("under the type name 'Embeddings.GraphRunsTransformer, Embeddings.Estimators'"));
            Assert.That(e.Message, Does.Contain("Reference the package Embeddings.Estimators"));
        }

        [Test]
        public void AStateVersionNewerThanTheCodeFailsSayingANewerVersionSavedIt()
        {
            string path = SaveAgain("skipgram");
            Assert.That(PatchStateVersion(path, "Embeddings.SkipGram", 7), Is.EqualTo(1));
            var e = LoadError(path);
            Assert.That(e.Message, Does.Contain("'Embeddings.SkipGram' in state version 7, saved by a newer version of the library (Embeddings.Estimators "));
            Assert.That(e.Message, Does.Contain("reads state versions 1 to 2"));
            Assert.That(e.Message, Does.Contain("update the Embeddings packages"));
        }

        [Test]
        public void ADamagedStringLengthInTheSavedHeaderIsAFormatError()
        {
            // Found by the damaged-model-state property test: a length prefix turned into -1 made BinaryReader throw IOException.
            string path = SaveAgain("skipgram");
            Assert.That(Rewrite(path, "Embeddings.SkipGram", (bytes, at) =>
            {
                bytes[at - 1] = 0xFF;
                bytes[at] = 0xFF;
                bytes[at + 1] = 0xFF;
                bytes[at + 2] = 0xFF;
                bytes[at + 3] = 0x0F;
            }), Is.EqualTo(1));
            var e = Assert.Catch(() => new MLContext(seed: 1).Model.Load(path, out _));
            while (e is not null and not FormatException)
                e = e.InnerException;
            Assert.That(e, Is.InstanceOf<FormatException>());
            Assert.That(e!.Message, Does.Contain("damaged"));
        }

        [Test]
        public void TwoTransformersClaimingOneIdOrLegacyNameAreAClearError()
        {
            var e = Assert.Throws<InvalidOperationException>(() => TransformerLoaderRegistry.FromTypes(new[] { typeof(FirstClaimant), typeof(SecondClaimant) }));
            Assert.That(e!.Message, Does.Contain("Two embeddings transformers claim the loader id 'Embeddings.Tests.Claimed'"));
            Assert.That(e.Message, Does.Contain(nameof(FirstClaimant)).And.Contain(nameof(SecondClaimant)));

            e = Assert.Throws<InvalidOperationException>(() => TransformerLoaderRegistry.FromTypes(new[] { typeof(FirstClaimant), typeof(LegacyClaimant) }));
            Assert.That(e!.Message, Does.Contain("claim the legacy type name 'Old.Name, Old.Assembly'"));

            // The same type registered twice (by two assemblies) is one registration.
            Assert.That(TransformerLoaderRegistry.FromTypes(new[] { typeof(FirstClaimant), typeof(FirstClaimant) }).Loaders, Has.Count.EqualTo(1));
        }

        [Test]
        public void InvalidRegistrationsAreClearErrors()
        {
            var e = Assert.Throws<InvalidOperationException>(() => TransformerLoaderRegistry.FromTypes(new[] { typeof(string) }));
            Assert.That(e!.Message, Does.Contain("[assembly: EmbeddingsTransformerLoader(typeof(System.String))]").And.Contain("implementing ILoadableTransformer<String>"));
            e = Assert.Throws<InvalidOperationException>(() => TransformerLoaderRegistry.FromTypes(new[] { typeof(BadIdClaimant) }));
            Assert.That(e!.Message, Does.Contain("LoaderId 'has spaces' is invalid"));
            e = Assert.Throws<InvalidOperationException>(() => TransformerLoaderRegistry.FromTypes(new[] { typeof(BadVersionClaimant) }));
            Assert.That(e!.Message, Does.Contain("StateVersion = 0 is invalid"));
        }

        [Test]
        public void AnUnregisteredTransformerCannotBeSaved()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new { X = 1f } });
            var e = Assert.Throws<InvalidOperationException>(() => ml.Model.Save(new FirstClaimant(), data.Schema, Path.Combine(_folder, "never.zip")));
            Assert.That(e!.Message, Does.Contain("cannot be saved: no loaded assembly registers it").And.Contain("[assembly: EmbeddingsTransformerLoader(typeof(FirstClaimant))]"));
        }

        [TestCase("item2vec", false)]
        [TestCase("item2vec", true)]
        [TestCase("recommendation-features", false)]
        [TestCase("recommendation-features", true)]
        public void AProcessThatDoesNotReferenceTheTransformersAssemblyLoadsTheModel(string name, bool savedAgain)
        {
            // The host references Embeddings.Transforms only; these transformers live in Embeddings.Estimators and
            // Embeddings.Recommendation, which sit in its folder but are not among its dependencies.
            string directory = TestContext.CurrentContext.TestDirectory;
            string deps = File.ReadAllText(Path.Combine(directory, "Embeddings.ModelHost.deps.json"));
            Assert.That(deps, Does.Not.Contain("Embeddings.Estimators").And.Not.Contain("Embeddings.Recommendation"));

            string model = savedAgain ? SaveAgain(name) : Path.Combine(SavedModelCompatibilityTests.Folder, name + ".zip");
            string[] expected = File.ReadAllLines(Path.Combine(SavedModelCompatibilityTests.Folder, name + ".expected.tsv"));
            string column = expected[0].Split('\t')[0];
            string output = Path.Combine(_folder, "output.txt");
            string input = Path.Combine(SavedModelCompatibilityTests.Folder, name + ".input.tsv");
            var (code, stdout, stderr) = TestUtilities.Run("dotnet", $"\"{Path.Combine(directory, "Embeddings.ModelHost.dll")}\" \"{model}\" \"{input}\" {column} \"{output}\"", TimeSpan.FromMinutes(3));
            Assert.That(code, Is.EqualTo(0), stdout + stderr);
            Assert.That(File.ReadAllLines(output), Is.EqualTo(expected.Skip(1).Select(line => line.Split('\t')[0])));
        }

        /// <summary>Loads fixture <paramref name="name"/> and saves it again with the current code; returns the new file.</summary>
        private string SaveAgain(string name)
        {
            var ml = new MLContext(seed: 3);
            var model = ml.Model.Load(Path.Combine(SavedModelCompatibilityTests.Folder, name + ".zip"), out var schema);
            string path = Path.Combine(_folder, $"{name}-{Guid.NewGuid():N}.zip");
            ml.Model.Save(model, schema, path);
            return path;
        }

        /// <summary>The Model.key streams of <paramref name="path"/> written by our loader.</summary>
        private static List<byte[]> OurModelStreams(string path)
        {
            using var zip = ZipFile.OpenRead(path);
            return zip.Entries.Where(e => e.Name == "Model.key").Select(Read).Where(bytes => Contains(bytes, "EmbeddingsTransformer")).ToList();
        }

        private static byte[] Read(ZipArchiveEntry entry)
        {
            using var stream = entry.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        private static bool Contains(byte[] bytes, string text) => IndexOf(bytes, Encoding.UTF8.GetBytes(text), 0) >= 0;

        private static int IndexOf(byte[] bytes, byte[] pattern, int start) => bytes.AsSpan(start).IndexOf(pattern) is int i and >= 0 ? start + i : -1;

        /// <summary>Replaces every length-prefixed string <paramref name="from"/> in the model's streams by <paramref name="to"/> (same length); returns how many.</summary>
        private static int Patch(string path, string from, string to)
        {
            Assert.That(to.Length, Is.EqualTo(from.Length));
            return Rewrite(path, from, (bytes, at) => Encoding.UTF8.GetBytes(to).CopyTo(bytes, at));
        }

        /// <summary>Sets the state version written after the loader id <paramref name="id"/>; returns how many were set.</summary>
        private static int PatchStateVersion(string path, string id, int version) =>
            Rewrite(path, id, (bytes, at) => BitConverter.GetBytes(version).CopyTo(bytes, at + Encoding.UTF8.GetByteCount(id)));

        private static int Rewrite(string path, string text, Action<byte[], int> change)
        {
            byte[] pattern = Encoding.UTF8.GetBytes(text);
            int count = 0;
            using var zip = ZipFile.Open(path, ZipArchiveMode.Update);
            foreach (var entry in zip.Entries.Where(e => e.Name == "Model.key").ToList())
            {
                byte[] bytes = Read(entry);
                bool changed = false;
                for (int at = IndexOf(bytes, pattern, 0); at >= 0; at = IndexOf(bytes, pattern, at + 1))
                {
                    if (at == 0 || bytes[at - 1] != pattern.Length)
                        continue; // not a length-prefixed string of exactly this text
                    change(bytes, at);
                    changed = true;
                    count++;
                }
                if (changed)
                {
                    using var stream = entry.Open();
                    stream.SetLength(0);
                    stream.Write(bytes);
                }
            }
            return count;
        }

        /// <summary>The error of loading <paramref name="path"/>: ML.NET wraps the loader's exception (in a TargetInvocationException).</summary>
        private static Exception LoadError(string path)
        {
            var e = Assert.Catch(() => new MLContext(seed: 1).Model.Load(path, out _));
            while (e?.InnerException is not null)
                e = e.InnerException;
            Assert.That(e, Is.InstanceOf<InvalidOperationException>());
            TestContext.WriteLine(e!.Message);
            return e;
        }

        private abstract class StubTransformer : ITransformer
        {
            public bool IsRowToRowMapper => true;

            public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

            public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => throw new NotSupportedException();

            public IDataView Transform(IDataView input) => input;

            void ICanSaveModel.Save(ModelSaveContext ctx) => TransformerPersistence.Save(ctx, this, _ => { });
        }

        private sealed class FirstClaimant : StubTransformer, ILoadableTransformer<FirstClaimant>
        {
            public static string LoaderId => "Embeddings.Tests.Claimed";

            public static int StateVersion => 1;

            public static IReadOnlyList<string> LegacyTypeNames => new[] { "Old.Name, Old.Assembly" };

            public static FirstClaimant Load(BinaryReader reader, int stateVersion) => new();
        }

        private sealed class SecondClaimant : StubTransformer, ILoadableTransformer<SecondClaimant>
        {
            public static string LoaderId => "Embeddings.Tests.Claimed";

            public static int StateVersion => 1;

            public static SecondClaimant Load(BinaryReader reader, int stateVersion) => new();
        }

        private sealed class LegacyClaimant : StubTransformer, ILoadableTransformer<LegacyClaimant>
        {
            public static string LoaderId => "Embeddings.Tests.Legacy";

            public static int StateVersion => 1;

            public static IReadOnlyList<string> LegacyTypeNames => new[] { "Old.Name, Old.Assembly" };

            public static LegacyClaimant Load(BinaryReader reader, int stateVersion) => new();
        }

        private sealed class BadIdClaimant : StubTransformer, ILoadableTransformer<BadIdClaimant>
        {
            public static string LoaderId => "has spaces";

            public static int StateVersion => 1;

            public static BadIdClaimant Load(BinaryReader reader, int stateVersion) => new();
        }

        private sealed class BadVersionClaimant : StubTransformer, ILoadableTransformer<BadVersionClaimant>
        {
            public static string LoaderId => "Embeddings.Tests.BadVersion";

            public static int StateVersion => 0;

            public static BadVersionClaimant Load(BinaryReader reader, int stateVersion) => new();
        }
    }
}
