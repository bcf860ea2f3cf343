using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators.Recommendation
{
    /// <summary>Continued training of item2vec with new interaction rows (issue 14, incremental training).</summary>
    [TestFixture]
    public class Item2VecContinuedTrainingTests
    {
        public sealed class Interaction
        {
            public int User { get; set; }
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        /// <summary>Users 0-29 consume items a0..a14, users 30-59 items b0..b14; times 1000 + 10 t.</summary>
        private static List<Interaction> Planted(int length = 20, int firstTime = 0)
        {
            var random = new Random(3);
            var rows = new List<Interaction>();
            for (int u = 0; u < 60; u++)
            {
                string prefix = u < 30 ? "a" : "b";
                for (int t = 0; t < length; t++)
                    rows.Add(new Interaction { User = u, Item = $"{prefix}{random.Next(15)}", Time = 1000 + (firstTime + t) * 10 });
            }
            return rows;
        }

        /// <summary>New rows: users 0-9 consume "fresh" among a-items; user 100 (new) consumes a-items and "fresh".</summary>
        private static List<Interaction> Update()
        {
            var random = new Random(5);
            var rows = new List<Interaction>();
            foreach (int u in Enumerable.Range(0, 10).Append(100))
            {
                for (int t = 0; t < 6; t++)
                    rows.Add(new Interaction { User = u, Item = t % 3 == 1 ? "fresh" : $"a{random.Next(15)}", Time = 5000 + t * 10 });
            }
            return rows;
        }

        private static Item2VecEstimator.Options Options(int epochs = 10, float? rate = null, int? kept = null)
        {
            var options = new Item2VecEstimator.Options { UserColumnName = "User", ItemColumnName = "Item", TimestampColumnName = "Time", UserHistoryLength = 5, KeptHistoryLength = kept };
            options.SkipGram.EmbeddingDimension = 16;
            options.SkipGram.Epochs = epochs;
            options.SkipGram.LearningRate = rate;
            options.SkipGram.NumberOfThreads = 1;
            options.SkipGram.Seed = 2;
            options.SkipGram.SamplingThreshold = 0;
            return options;
        }

        private static Item2VecTransformer Initial(MLContext ml, int? kept = null) =>
            ml.Embeddings().Item2Vec(Options(kept: kept)).Fit(ml.Data.LoadFromEnumerable(Planted()));

        [Test]
        public void NewRowsExtendTheUsersAndAddNewItemsAndUsers()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            Assert.That(initial.KeptHistory("0"), Has.Count.EqualTo(20), "the whole sequence is kept by default");
            var updated = ml.Embeddings().Item2Vec(Options()).Fit(ml.Data.LoadFromEnumerable(Update()), initial);

            Assert.That(updated.ItemEmbeddings.Contains("fresh") && updated.ContextEmbeddings!.Contains("fresh"), Is.True, "a new item gets vectors");
            Assert.That(updated.UserEmbeddings.Contains("100"), Is.True, "a new user gets a vector");
            var history = updated.KeptHistory("3");
            Assert.That(history, Has.Count.EqualTo(26));
            Assert.That(history.Take(20), Is.EqualTo(initial.KeptHistory("3")), "the new rows follow the user's earlier ones");
            Assert.That(history.Skip(20), Is.EqualTo(Update().Where(r => r.User == 3).Select(r => r.Item)));
            Assert.That(updated.KeptHistory("40"), Is.EqualTo(initial.KeptHistory("40")), "a user without new rows keeps their history");

            // A user's vector is the mean input vector of the last 5 items, with the updated vectors.
            var expected = new float[16];
            foreach (string item in history.TakeLast(5))
            {
                var v = updated.ItemEmbeddings.GetVector(item);
                for (int j = 0; j < 16; j++)
                    expected[j] += v[j] / 5;
            }
            var actual = updated.UserEmbeddings.GetVector("3");
            for (int j = 0; j < 16; j++)
                Assert.That(actual[j], Is.EqualTo(expected[j]).Within(1e-5f));

            // "fresh" co-occurs only with a-items: its neighbours are a-items.
            var neighbours = updated.ItemEmbeddings.MostSimilar("fresh", 5);
            Assert.That(neighbours.Count(n => n.Key.StartsWith('a')), Is.GreaterThanOrEqualTo(4), string.Join(", ", neighbours.Select(n => n.Key)));
            Assert.That(updated.TrainingSummary!.ItemCounts.Sum(), Is.EqualTo(Planted().Count + Update().Count), "each interaction is counted once");
        }

        [Test]
        public void ATinyLearningRateKeepsTheItemVectorsAndOneThreadIsBitIdentical()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var still = ml.Embeddings().Item2Vec(Options(epochs: 1, rate: 1e-7f)).Fit(ml.Data.LoadFromEnumerable(Update()), initial);
            foreach (string key in initial.ItemEmbeddings.Keys)
            {
                var before = initial.ItemEmbeddings.GetVector(key);
                var after = still.ItemEmbeddings.GetVector(key);
                for (int j = 0; j < before.Length; j++)
                    Assert.That(after[j], Is.EqualTo(before[j]).Within(1e-4f), key);
            }
            Assert.That(still.UserEmbeddings.GetVector("40"), Is.EqualTo(initial.UserEmbeddings.GetVector("40")).Within(1e-4f), "untouched users keep their vectors");

            var a = ml.Embeddings().Item2Vec(Options(epochs: 3)).Fit(ml.Data.LoadFromEnumerable(Update()), initial);
            var b = ml.Embeddings().Item2Vec(Options(epochs: 3)).Fit(ml.Data.LoadFromEnumerable(Update()), initial);
            foreach (string key in a.ItemEmbeddings.Keys)
                Assert.That(a.ItemEmbeddings.GetVector(key).Select(EstimatorConformance.Bits), Is.EqualTo(b.ItemEmbeddings.GetVector(key).Select(EstimatorConformance.Bits)), key);
        }

        [Test]
        public void KeptHistoryLengthBoundsTheKeptItemsAndTheRetrainedContext()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml, kept: 6);
            Assert.That(initial.KeptHistory("0"), Is.EqualTo(Planted().Where(r => r.User == 0).Select(r => r.Item).TakeLast(6)));
            var updated = ml.Embeddings().Item2Vec(Options(kept: 6)).Fit(ml.Data.LoadFromEnumerable(Update()), initial);
            Assert.That(updated.KeptHistory("0"), Is.EqualTo(Update().Where(r => r.User == 0).Select(r => r.Item)));
            Assert.That(updated.TrainingSummary!.CorpusTokens, Is.EqualTo(10 * (6 + 6) + 6), "touched users train on their 6 kept items and the 6 new ones; the new user on the new ones");

            var whole = Initial(ml);
            var shortContext = Options();
            shortContext.UpdateContextLength = 4;
            var cheap = ml.Embeddings().Item2Vec(shortContext).Fit(ml.Data.LoadFromEnumerable(Update()), whole);
            Assert.That(cheap.TrainingSummary!.CorpusTokens, Is.EqualTo(10 * (4 + 6) + 6), "UpdateContextLength: the last 4 kept items precede the new ones");
            Assert.That(cheap.KeptHistory("0"), Has.Count.EqualTo(26), "the whole history is still kept");

            shortContext.UpdateContextLength = -1;
            Assert.That(Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().Item2Vec(shortContext))!.Message, Does.Contain("UpdateContextLength = -1"));
            var options = Options();
            options.KeptHistoryLength = 3;
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().Item2Vec(options));
            Assert.That(e!.Message, Does.Contain("KeptHistoryLength = 3").And.Contain("UserHistoryLength (5)"));
        }

        [Test]
        public void AnUpdatedModelSavesLoadsAndContinuesLikeTheOriginal()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Planted());
            var updated = ml.Embeddings().Item2Vec(Options(epochs: 2)).Fit(ml.Data.LoadFromEnumerable(Update()), Initial(ml));
            var loaded = (Item2VecTransformer)EstimatorConformance.SaveAndLoad(updated, data.Schema);
            EstimatorConformance.AssertSameValues(updated.Transform(data), loaded.Transform(data));
            Assert.That(loaded.KeptHistory("3"), Is.EqualTo(updated.KeptHistory("3")));
            Assert.That(loaded.KeptHistory("100"), Is.EqualTo(updated.KeptHistory("100")));

            var more = ml.Data.LoadFromEnumerable(Planted(length: 3, firstTime: 900));
            var fromMemory = ml.Embeddings().Item2Vec(Options(epochs: 2)).Fit(more, updated);
            var fromLoaded = ml.Embeddings().Item2Vec(Options(epochs: 2)).Fit(more, loaded);
            foreach (string key in fromMemory.ItemEmbeddings.Keys)
                Assert.That(fromLoaded.ItemEmbeddings.GetVector(key), Is.EqualTo(fromMemory.ItemEmbeddings.GetVector(key)), key);
            Assert.That(fromLoaded.UserEmbeddings.GetVector("7"), Is.EqualTo(fromMemory.UserEmbeddings.GetVector("7")));
        }

        private sealed class TextTime
        {
            public int User { get; set; }
            public string Item { get; set; } = "";
            public string Time { get; set; } = "";
        }

        [Test]
        public void BadUpdatesAreRejectedWithTheFix()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);

            var empty = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().Item2Vec(Options()).Fit(ml.Data.LoadFromEnumerable(new List<Interaction>()), initial));
            Assert.That(empty!.Message, Does.Contain("no rows with both a user ('User') and an item ('Item')"));

            var wrongTime = Assert.Catch<ArgumentException>(() => ml.Embeddings().Item2Vec(Options()).Fit(ml.Data.LoadFromEnumerable(new[] { new TextTime { User = 1, Item = "a1", Time = "x" } }), initial));
            Assert.That(wrongTime!.Message, Does.Contain("'Time'"));

            var noContext = Options();
            noContext.SkipGram.KeepContextVectors = false;
            var withoutContext = ml.Embeddings().Item2Vec(noContext).Fit(ml.Data.LoadFromEnumerable(Planted()));
            var e = Assert.Throws<ArgumentException>(() => ml.Embeddings().Item2Vec(Options()).Fit(ml.Data.LoadFromEnumerable(Update()), withoutContext));
            Assert.That(e!.Message, Does.Contain("Item2Vec: the initial model has no context (output) vectors").And.Contain("KeepContextVectors = true"));

            var wider = Options();
            wider.SkipGram.EmbeddingDimension = 8;
            e = Assert.Throws<ArgumentException>(() => ml.Embeddings().Item2Vec(wider).Fit(ml.Data.LoadFromEnumerable(Update()), initial));
            Assert.That(e!.Message, Does.Contain("EmbeddingDimension = 8").And.Contain("set EmbeddingDimension = 16"));

            // item2vec.zip was saved in state version 1: no counts, no histories.
            var saved = ml.Model.Load(Path.Combine(Persistence.SavedModelCompatibilityTests.Folder, "item2vec.zip"), out _);
            var old = saved as Item2VecTransformer ?? ((Microsoft.ML.Data.TransformerChain<ITransformer>)saved).OfType<Item2VecTransformer>().Single();
            var oldOptions = Options();
            oldOptions.SkipGram.EmbeddingDimension = old.ItemEmbeddings.Dimension;
            e = Assert.Throws<ArgumentException>(() => ml.Embeddings().Item2Vec(oldOptions).Fit(ml.Data.LoadFromEnumerable(Update()), old));
            Assert.That(e!.Message, Does.Contain("Retrain the initial model with this version"));
        }
    }
}
