using System;
using System.IO;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    [TestFixture]
    public class BuiltInLookupExportTests
    {
        [Test]
        public void BuiltInLookupMatchesApplyEmbeddingAndSavesWithoutOurLoader()
        {
            var ml = new MLContext(seed: 1);
            var table = EmbeddingLookupTransformerTests.Table;
            var data = ml.Data.LoadFromEnumerable(new[] { new { Item = "b" }, new { Item = "zzz" }, new { Item = "" }, new { Item = "a" }, new { Item = "c" } });
            var builtIn = ml.Embeddings().ApplyEmbeddingWithBuiltInTransforms("Vector", table, "Item").Fit(data);
            var ours = ml.Embeddings().ApplyEmbedding("Vector", table, "Item").Fit(data);
            var outputType = builtIn.GetOutputSchema(data.Schema)["Vector"].Type;
            Assert.That(outputType, Is.EqualTo(new VectorDataViewType(NumberDataViewType.Single, 3)), "known-size vector, as ML.NET trainers need");
            Assert.That(EstimatorConformance.ColumnValues(builtIn.Transform(data), "Vector"), Is.EqualTo(EstimatorConformance.ColumnValues(ours.Transform(data), "Vector")));
            Assert.That(builtIn.GetOutputSchema(data.Schema).Where(c => !c.IsHidden).Select(c => c.Name), Is.EqualTo(new[] { "Item", "Vector" }));

            string path = Path.Combine(Path.GetTempPath(), $"builtin-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(builtIn, data.Schema, path);
                using (var archive = System.IO.Compression.ZipFile.OpenRead(path))
                {
                    // Our loader writes the type name of our transformer into the model; the exported form must not.
                    foreach (var entry in archive.Entries)
                    {
                        using var reader = new StreamReader(entry.Open());
                        Assert.That(reader.ReadToEnd(), Does.Not.Contain("EmbeddingsTransformer").And.Not.Contain("Embeddings.Transforms"), entry.FullName);
                    }
                }
                var loaded = new MLContext(seed: 2).Model.Load(path, out _);
                Assert.That(EstimatorConformance.ColumnValues(loaded.Transform(data), "Vector"), Is.EqualTo(EstimatorConformance.ColumnValues(ours.Transform(data), "Vector")));
            }
            finally
            {
                File.Delete(path);
            }
        }
    }
}
