using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.MatrixFactorization
{
    /// <summary>The cold-start item prior (ColdStartItemMaxRatings): its value, its effect on unseen items, and its persistence.</summary>
    [TestFixture]
    public class MatrixFactorizationColdStartTests
    {
        public sealed class Rating
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        public sealed class Prediction
        {
            public float Score { get; set; }
        }

        private const int Users = 40, PopularItems = 30, RareItems = 60;
        private const float RareRating = 2f;

        /// <summary>
        /// Popular items are rated by every user around 3.8 (item offsets ±0.5, user offsets ±0.3); each rare item has one
        /// rating, systematically low (2). New items, never seen in training, follow the rare items: true rating 2.
        /// </summary>
        private static List<Rating> PlantedRatings()
        {
            var random = new Random(11);
            double[] user = Enumerable.Range(0, Users).Select(_ => random.NextDouble() * 0.6 - 0.3).ToArray();
            var rows = new List<Rating>();
            for (int i = 0; i < PopularItems; i++)
            {
                double item = random.NextDouble() - 0.5;
                for (int u = 0; u < Users; u++)
                    rows.Add(new Rating { User = $"u{u}", Item = $"p{i}", Label = (float)(3.8 + user[u] + item + 0.1 * (random.NextDouble() - 0.5)) });
            }
            for (int i = 0; i < RareItems; i++)
                rows.Add(new Rating { User = $"u{i % Users}", Item = $"r{i}", Label = RareRating });
            return rows;
        }

        private static MatrixFactorizationEstimator.Options Options(int coldStartItemMaxRatings) => new()
        {
            MatrixColumnIndexColumnName = "UserKey",
            MatrixRowIndexColumnName = "ItemKey",
            LabelColumnName = "Label",
            ApproximationRank = 4,
            NumberOfIterations = 40,
            Lambda = 0.01,
            NumberOfThreads = 1,
            Seed = 5,
            ColdStartItemMaxRatings = coldStartItemMaxRatings,
        };

        private static (TransformerChain<ITransformer> Pipeline, MatrixFactorizationTransformer Model) Fit(MLContext ml, List<Rating> rows, int coldStartItemMaxRatings)
        {
            var data = ml.Data.LoadFromEnumerable(rows);
            var mapping = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(data);
            var model = ml.Embeddings().MatrixFactorization(Options(coldStartItemMaxRatings)).Fit(mapping.Transform(data));
            return (new TransformerChain<ITransformer>(mapping, model), model);
        }

        [Test]
        public void PriorOfTheRarestItemsMovesUnseenItemsTowardTheirLowerRating()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedRatings();
            var (offPipeline, off) = Fit(ml, rows, 0);
            var (onPipeline, on) = Fit(ml, rows, 1);

            Assert.That(off.UnseenItemBias, Is.EqualTo(0), "off by default: μ + b_u for unseen items");
            double rareMean = Enumerable.Range(0, RareItems).Average(i => on.GetItemBias($"r{i}"));
            Assert.That(on.UnseenItemBias, Is.EqualTo(rareMean).Within(1e-5), "the mean learned bias of the items with one rating");
            Assert.That(on.UnseenItemBias, Is.LessThan(-0.3f), "rare items are rated well below the mean");
            Assert.That(on.Score("u3", "p4"), Is.EqualTo(off.Score("u3", "p4")), "training is unaffected: seen pairs score the same");

            var offEngine = ml.Model.CreatePredictionEngine<Rating, Prediction>(offPipeline);
            var onEngine = ml.Model.CreatePredictionEngine<Rating, Prediction>(onPipeline);
            double offError = 0, onError = 0;
            for (int u = 0; u < Users; u++)
            {
                var row = new Rating { User = $"u{u}", Item = "brand-new" };
                float withPrior = onEngine.Predict(row).Score;
                Assert.That(withPrior, Is.EqualTo(on.GlobalBias + on.GetUserBias($"u{u}") + on.UnseenItemBias).Within(1e-5), "μ + b_u + prior");
                Assert.That(withPrior, Is.EqualTo(on.Score($"u{u}", "brand-new")).Within(1e-6), "Score agrees with the column");
                offError += Math.Pow(offEngine.Predict(row).Score - RareRating, 2);
                onError += Math.Pow(withPrior - RareRating, 2);
            }
            TestContext.WriteLine($"unseen-item RMSE against the planted rating: off {Math.Sqrt(offError / Users):F4}, prior {Math.Sqrt(onError / Users):F4} (prior {on.UnseenItemBias:F4})");
            Assert.That(onError, Is.LessThan(0.5 * offError));
            Assert.That(onEngine.Predict(new Rating { User = "stranger", Item = "brand-new" }).Score, Is.EqualTo(on.GlobalBias + on.UnseenItemBias).Within(1e-5), "both unseen: μ + prior");

            // A threshold covering every item averages all item biases (rare and popular).
            var (_, all) = Fit(ml, rows, int.MaxValue);
            double allMean = Enumerable.Range(0, RareItems).Select(i => on.GetItemBias($"r{i}"))
                .Concat(Enumerable.Range(0, PopularItems).Select(i => on.GetItemBias($"p{i}"))).Average();
            Assert.That(all.UnseenItemBias, Is.EqualTo(allMean).Within(1e-5));
        }

        [Test]
        public void ThePriorIsSavedAndLoadedAndVersionOneModelsStillLoad()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedRatings();
            var (_, model) = Fit(ml, rows, 2);
            var scored = ml.Data.LoadFromEnumerable(rows.Take(5).Concat(new[] { new Rating { User = "u1", Item = "brand-new" }, new Rating { User = "x", Item = "y" } }).ToList());
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item"))
                .Fit(ml.Data.LoadFromEnumerable(rows)).Transform(scored);
            var loaded = (MatrixFactorizationTransformer)EstimatorConformance.SaveAndLoad(model, keyed.Schema);
            Assert.That(loaded.UnseenItemBias, Is.EqualTo(model.UnseenItemBias));
            Assert.That(loaded.UnseenItemBias, Is.Not.EqualTo(0f));
            float[] Scores(ITransformer t) => ml.Data.CreateEnumerable<Prediction>(t.Transform(keyed), reuseRowObject: false).Select(p => p.Score).ToArray();
            Assert.That(Scores(loaded), Is.EqualTo(Scores(model)), "identical scores, unseen item included");

            // Version 1 state (before the prior existed): loads with UnseenItemBias 0, i.e. the old μ + b_u fallback.
            using var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
            {
                writer.Write((int)model.LossFunction);
                writer.Write(model.MatrixColumnIndexColumnName);
                writer.Write(model.MatrixRowIndexColumnName);
                writer.Write(model.ScoreColumnName);
                writer.Write(false);
                writer.Write(false);
                model.Model.Write(writer);
            }
            stream.Position = 0;
            using var reader = new BinaryReader(stream);
            var old = Load<MatrixFactorizationTransformer>(reader, stateVersion: 1);
            Assert.That(old.UnseenItemBias, Is.EqualTo(0f));
            Assert.That(old.Score("u1", "brand-new"), Is.EqualTo(model.GlobalBias + model.GetUserBias("u1")).Within(1e-5));
            Assert.That(old.Score("u1", "p2"), Is.EqualTo(model.Score("u1", "p2")));
        }

        private static T Load<T>(BinaryReader reader, int stateVersion) where T : class, ITransformer, ILoadableTransformer<T> => T.Load(reader, stateVersion);
    }
}
