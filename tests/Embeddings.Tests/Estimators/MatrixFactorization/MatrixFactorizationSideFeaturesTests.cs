using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.MatrixFactorization
{
    /// <summary>The worked pipeline of samples/FactorizationMachineWithEmbeddings: MF factors as side fields of ML.NET's field-aware FM.</summary>
    [TestFixture]
    public class MatrixFactorizationSideFeaturesTests
    {
        public sealed class MovieRating
        {
            public string UserId { get; set; } = "";
            public string MovieId { get; set; } = "";
            public float Rating { get; set; }
            public bool Label { get; set; }
        }

        [Test]
        public void MatrixFactorizationFactorsAsFieldsRaiseTheAucOfAFieldAwareFactorizationMachine()
        {
            var ml = new MLContext(seed: 1);
            var ratings = File.ReadLines(TestUtilities.TestDataPath(Path.Combine("movielens-small", "recommendation-ratings-train.csv"))).Skip(1)
                .Select(line => line.Split(','))
                .Select(f => new MovieRating { UserId = f[0], MovieId = f[1], Rating = float.Parse(f[2], CultureInfo.InvariantCulture) })
                .ToList();
            ratings.ForEach(r => r.Label = r.Rating >= 4);
            var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(ratings), testFraction: 0.2, seed: 1);
            var factors = ml.Transforms.Conversion.MapValueToKey("UserKey", "UserId")
                .Append(ml.Transforms.Conversion.MapValueToKey("MovieKey", "MovieId"))
                .Append(ml.Embeddings().MatrixFactorization(new MatrixFactorizationEstimator.Options
                {
                    LossFunction = MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass,
                    LabelColumnName = "Rating",
                    MatrixColumnIndexColumnName = "UserKey",
                    MatrixRowIndexColumnName = "MovieKey",
                    ApproximationRank = 16,
                    Alpha = 1,
                    Lambda = 3,
                    Seed = 1,
                }))
                .Fit(split.TrainSet).LastTransformer;
            IEstimator<ITransformer> ids = ml.Transforms.Categorical.OneHotEncoding("UserField", "UserId")
                .Append(ml.Transforms.Categorical.OneHotEncoding("MovieField", "MovieId"));
            double Auc(IEstimator<ITransformer> pipeline) =>
                ml.BinaryClassification.Evaluate(pipeline.Fit(split.TrainSet).Transform(split.TestSet), "Label").AreaUnderRocCurve;
            double baseline = Auc(ids.Append(ml.BinaryClassification.Trainers.FieldAwareFactorizationMachine(new[] { "UserField", "MovieField" }, "Label")));
            double withEmbeddings = Auc(ids
                .Append(ml.Embeddings().ApplyEmbedding("UserVector", factors.UserFactors, "UserId"))
                .Append(ml.Embeddings().ApplyEmbedding("MovieVector", factors.ItemFactors, "MovieId"))
                .Append(ml.BinaryClassification.Trainers.FieldAwareFactorizationMachine(new[] { "UserField", "MovieField", "UserVector", "MovieVector" }, "Label")));
            TestContext.WriteLine($"AUC: ids only {baseline:F4}, ids + MF factors {withEmbeddings:F4}");
            Assert.That(baseline, Is.GreaterThan(0.7));
            Assert.That(withEmbeddings, Is.GreaterThan(baseline + 0.01));
        }
    }
}
