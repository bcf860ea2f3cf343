using System;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    [TestFixture]
    public class SimilarityTransformerTests
    {
        private sealed class Pair
        {
            [VectorType(3)]
            public float[] User { get; set; } = Array.Empty<float>();

            [VectorType(3)]
            public float[] Item { get; set; } = Array.Empty<float>();
        }

        private static readonly Pair[] s_rows =
        {
            new() { User = new float[] { 1, 0, 0 }, Item = new float[] { 1, 1, 0 } },
            new() { User = new float[] { 0, 0, 0 }, Item = new float[] { 1, 1, 0 } },
            new() { User = new float[] { 3, 4, 0 }, Item = new float[] { 0, 0, 0 } },
        };

        [TestCase(SimilarityMetric.Cosine, new float[] { 0.70710677f, 0, 0 })]
        [TestCase(SimilarityMetric.DotProduct, new float[] { 1, 0, 0 })]
        [TestCase(SimilarityMetric.Euclidean, new float[] { -1, -1.4142135f, -5 })]
        public void ComputesTheMetricAndConforms(SimilarityMetric metric, float[] expected)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(s_rows);
            var estimator = ml.Embeddings().Similarity("Score", "User", "Item", metric);
            var transformer = EstimatorConformance.Check(estimator, data,
                new InvalidInput("text column", ml.Data.LoadFromEnumerable(new[] { new { User = "a", Item = "b" } }), "column 'User'", "known-size vector of Single"),
                new InvalidInput("missing column", ml.Data.LoadFromEnumerable(new[] { new { Other = 1f } }), "'User' was not found"));
            Assert.That(transformer.Transform(data).GetColumn<float>("Score").ToArray(), Is.EqualTo(expected).Within(1e-6f));
        }

        [Test]
        public void VectorsOfDifferentLengthsAreRejected()
        {
            var ml = new MLContext(seed: 1);
            var table = EmbeddingLookupTransformerTests.Table;
            var wide = new EmbeddingTable(new[] { "a" }, new float[] { 1, 2, 3, 4 }, 4);
            var data = ml.Data.LoadFromEnumerable(new[] { new { Item = "a" } });
            var pipeline = ml.Embeddings().ApplyEmbedding("A", table, "Item").Append(ml.Embeddings().ApplyEmbedding("B", wide, "Item")).Append(ml.Embeddings().Similarity("S", "A", "B"));
            var error = Assert.Throws<ArgumentOutOfRangeException>(() => pipeline.Fit(data));
            Assert.That(error!.Message, Does.Contain("'A' (3 values) and 'B' (4 values)"));
        }
    }
}
