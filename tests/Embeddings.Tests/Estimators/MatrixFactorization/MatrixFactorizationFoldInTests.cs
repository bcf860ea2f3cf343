using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using NUnit.Framework;
using LossFunction = Embeddings.MatrixFactorizationEstimator.LossFunctionType;

namespace Embeddings.Tests.Estimators.MatrixFactorization
{
    /// <summary>Folding a new user into a trained factorization (issue 14, incremental training).</summary>
    [TestFixture]
    public class MatrixFactorizationFoldInTests
    {
        public sealed class Rating
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }

        private const int Users = 80, Items = 60, TrueRank = 3;

        /// <summary>Explicit ratings 3 + u·v of planted rank-3 factors, each cell observed with probability 0.5.</summary>
        private static List<Rating> Planted()
        {
            var random = new Random(7);
            double[][] u = Enumerable.Range(0, Users).Select(_ => Enumerable.Range(0, TrueRank).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
            double[][] v = Enumerable.Range(0, Items).Select(_ => Enumerable.Range(0, TrueRank).Select(_ => random.NextDouble() * 2 - 1).ToArray()).ToArray();
            var rows = new List<Rating>();
            for (int a = 0; a < Users; a++)
            {
                for (int b = 0; b < Items; b++)
                {
                    if (random.NextDouble() < 0.5)
                        rows.Add(new Rating { User = $"u{a}", Item = $"i{b}", Label = (float)(3 + u[a].Zip(v[b], (x, y) => x * y).Sum()) });
                }
            }
            return rows;
        }

        /// <summary>Implicit interactions: users of group g (u mod 4) consume items of group g (i mod 4), with some noise.</summary>
        private static List<Rating> PlantedImplicit()
        {
            var random = new Random(11);
            var rows = new List<Rating>();
            for (int a = 0; a < Users; a++)
            {
                for (int b = 0; b < Items; b++)
                {
                    double p = a % 4 == b % 4 ? 0.5 : 0.03;
                    if (random.NextDouble() < p)
                        rows.Add(new Rating { User = $"u{a}", Item = $"i{b}", Label = 1 });
                }
            }
            return rows;
        }

        private static MatrixFactorizationTransformer Train(MLContext ml, IEnumerable<Rating> rows, MatrixFactorizationEstimator.Options options)
        {
            var data = ml.Data.LoadFromEnumerable(rows);
            var keyed = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item")).Fit(data).Transform(data);
            return ml.Embeddings().MatrixFactorization(options).Fit(keyed);
        }

        private static MatrixFactorizationEstimator.Options Explicit(int iterations = 100) => new()
        {
            MatrixColumnIndexColumnName = "UserKey",
            MatrixRowIndexColumnName = "ItemKey",
            LabelColumnName = "Label",
            ApproximationRank = TrueRank,
            NumberOfIterations = iterations,
            Lambda = 0.01,
            NumberOfThreads = 1,
            Seed = 3,
        };

        private static MatrixFactorizationEstimator.Options Implicit(int iterations = 15) => new()
        {
            LossFunction = LossFunction.SquareLossOneClass,
            MatrixColumnIndexColumnName = "UserKey",
            MatrixRowIndexColumnName = "ItemKey",
            LabelColumnName = "Label",
            ApproximationRank = 6,
            NumberOfIterations = iterations,
            Alpha = 5,
            Lambda = 1,
            NumberOfThreads = 1,
            Seed = 3,
        };

        private static double Cosine(float[] a, float[] b)
        {
            double dot = 0, na = 0, nb = 0;
            for (int i = 0; i < a.Length; i++)
            {
                dot += a[i] * b[i];
                na += a[i] * a[i];
                nb += b[i] * b[i];
            }
            return dot / Math.Sqrt(na * nb);
        }

        [Test]
        public void ImplicitFoldInOfATrainedUserGivesItsTrainedFactor()
        {
            // After ALS converges, a user's factor is the solution against the final item factors: the fold-in's system.
            var ml = new MLContext(seed: 1);
            var rows = PlantedImplicit();
            var model = Train(ml, rows, Implicit(iterations: 40));
            foreach (string user in new[] { "u0", "u5", "u42" })
            {
                var folded = model.FoldInUser(rows.Where(r => r.User == user).Select(r => (r.Item, r.Label)));
                var trained = model.UserFactors.GetVector(user);
                Assert.That(Cosine(folded.Factors, trained), Is.GreaterThan(0.999), user);
                for (int d = 0; d < trained.Length; d++)
                    Assert.That(folded.Factors[d], Is.EqualTo(trained[d]).Within(0.02 * trained.Select(Math.Abs).Max()), $"{user} factor {d}");
                Assert.That(folded.Bias, Is.EqualTo(0));
                Assert.That(model.Score(folded, "i3"), Is.EqualTo(model.Score(user, "i3")).Within(0.02));
            }
        }

        [Test]
        public void AnImplicitUserHeldOutOfTrainingIsRankedByTheirGroup()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedImplicit();
            var heldOut = Enumerable.Range(0, Users).Where(a => a % 10 == 0).Select(a => $"u{a}").ToHashSet();
            var model = Train(ml, rows.Where(r => !heldOut.Contains(r.User)), Implicit());
            int hits = 0, total = 0;
            foreach (string user in heldOut)
            {
                int group = int.Parse(user[1..]) % 4;
                var seen = rows.Where(r => r.User == user).ToList();
                var folded = model.FoldInUser(seen.Select(r => (r.Item, r.Label)));
                Assert.That(folded.KnownInteractions, Is.EqualTo(seen.Count));
                var scores = model.ScoreItems(folded);
                var top = model.ItemFactors.Keys.Zip(scores).Where(p => seen.All(s => s.Item != p.First)).OrderByDescending(p => p.Second).Take(5);
                foreach (var (item, _) in top)
                {
                    total++;
                    hits += int.Parse(item[1..]) % 4 == group ? 1 : 0;
                }
            }
            Assert.That((double)hits / total, Is.GreaterThanOrEqualTo(0.85), "the unseen items ranked first belong to the held-out user's group");
        }

        [Test]
        public void ExplicitFoldInRecoversAHeldOutUsersRatings()
        {
            var ml = new MLContext(seed: 1);
            var rows = Planted();
            var model = Train(ml, rows.Where(r => r.User != "u3"), Explicit());
            var user = rows.Where(r => r.User == "u3").ToList();
            var known = user.Where((_, i) => i % 4 != 0).ToList();
            var hidden = user.Where((_, i) => i % 4 == 0).ToList();
            var folded = model.FoldInUser(known.Select(r => (r.Item, r.Label)));
            double error = hidden.Sum(r => Math.Pow(model.Score(folded, r.Item) - r.Label, 2));
            double spread = hidden.Sum(r => Math.Pow(r.Label - known.Average(k => k.Label), 2));
            TestContext.WriteLine($"hidden squared error {error:F4} against {spread:F4} for the user's mean");
            Assert.That(error, Is.LessThan(0.1 * spread), "the folded-in user predicts their hidden ratings");
            Assert.That(model.ScoreItems(folded)[model.ItemFactors.IndexOf("i7")], Is.EqualTo(model.Score(folded, "i7")));
            Assert.That(model.Score(folded, "never seen"), Is.EqualTo(model.GlobalBias + folded.Bias + model.UnseenItemBias));

            // A trained user folds back in close to its trained factor and bias.
            var trained = Train(ml, rows, Explicit(iterations: 300));
            var again = trained.FoldInUser(rows.Where(r => r.User == "u3").Select(r => (r.Item, r.Label)));
            Assert.That(Cosine(again.Factors, trained.UserFactors.GetVector("u3")), Is.GreaterThan(0.98));
            Assert.That(again.Bias, Is.EqualTo(trained.GetUserBias("u3")).Within(0.1));
        }

        [Test]
        public void FoldInSurvivesSaveAndLoadAndRejectsBadInput()
        {
            var ml = new MLContext(seed: 1);
            var rows = PlantedImplicit();
            var data = ml.Data.LoadFromEnumerable(rows);
            var pipeline = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item"))
                .Append(ml.Embeddings().MatrixFactorization(Implicit()));
            var chain = pipeline.Fit(data);
            var model = chain.LastTransformer;
            var loaded = ((Microsoft.ML.Data.TransformerChain<ITransformer>)EstimatorConformance.SaveAndLoad(chain, data.Schema)).OfType<MatrixFactorizationTransformer>().Single();
            var interactions = rows.Where(r => r.User == "u1").Select(r => (r.Item, r.Label)).ToList();
            Assert.That(loaded.FoldInUser(interactions).Factors, Is.EqualTo(model.FoldInUser(interactions).Factors), "the settings are saved");

            var e = Assert.Throws<ArgumentException>(() => model.FoldInUser(new[] { ("nope", 1f), ("other", 1f) }));
            Assert.That(e!.Message, Does.Contain("none of the 2 interactions has an item with trained factors"));
            e = Assert.Throws<ArgumentException>(() => model.FoldInUser(new[] { ("i1", float.NaN) }));
            Assert.That(e!.Message, Does.Contain("the rating of item 'i1' is NaN").And.Contain("finite"));
            Assert.Throws<ArgumentException>(() => model.FoldInUser(Array.Empty<(string, float)>()));
            e = Assert.Throws<ArgumentException>(() => model.Score(new FoldedInUser(new float[2], 0, 1), "i1"));
            Assert.That(e!.Message, Does.Contain("has 2 factors but the model's rank is 6"));

            var nonNegative = Explicit();
            nonNegative.NonNegative = true;
            nonNegative.NumberOfIterations = 5;
            var constrained = Train(ml, Planted(), nonNegative);
            Assert.That(Assert.Throws<NotSupportedException>(() => constrained.FoldInUser(new[] { ("i1", 3f) }))!.Message, Does.Contain("NonNegative = true"));

            // matrix-factorization.zip was saved before the settings were: refused with the fix.
            var old = ml.Model.Load(Path.Combine(Persistence.SavedModelCompatibilityTests.Folder, "matrix-factorization.zip"), out _);
            var oldModel = old as MatrixFactorizationTransformer ?? ((Microsoft.ML.Data.TransformerChain<ITransformer>)old).OfType<MatrixFactorizationTransformer>().Single();
            var refused = Assert.Throws<InvalidOperationException>(() => oldModel.FoldInUser(new[] { ("1", 1f) }));
            Assert.That(refused!.Message, Does.Contain("saved before state version 3").And.Contain("Retrain"));
        }
    }
}
