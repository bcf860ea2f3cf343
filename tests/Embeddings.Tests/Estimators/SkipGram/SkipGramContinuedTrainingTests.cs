using System;
using System.IO;
using System.Linq;
using Embeddings.Tests.Conformance;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators
{
    /// <summary>Continued training of a skip-gram model on new sequences (issue 14, incremental training).</summary>
    [TestFixture]
    public class SkipGramContinuedTrainingTests
    {
        private static SkipGramEmbeddingEstimator.Options Options(int epochs = 10, float? rate = null, bool keepContext = true) => new()
        {
            OutputColumnName = "Vector",
            InputColumnName = "Items",
            EmbeddingDimension = 24,
            WindowSize = 5,
            Epochs = epochs,
            LearningRate = rate,
            MinCount = 1,
            SamplingThreshold = 0,
            NumberOfThreads = 1,
            Seed = 7,
            KeepContextVectors = keepContext,
        };

        private static SkipGramEmbeddingTransformer Initial(MLContext ml, bool keepContext = true) =>
            ml.Embeddings().SkipGram(Options(keepContext: keepContext)).Fit(ml.Data.LoadFromEnumerable(PlantedSequences.Generate(clusters: 6, itemsPerCluster: 10, sequences: 800, seed: 3)));

        /// <summary>Sequences of cluster 0 in which "new" appears among cluster-0 items.</summary>
        private static string[][] NewItemInClusterZero(int count, int seed)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count)
                .Select(_ => Enumerable.Range(0, 8).Select(i => i == 4 ? "new" : PlantedSequences.Item(0, random.Next(10))).ToArray())
                .ToArray();
        }

        private static float[] Copy(EmbeddingTable table, string key) => table.GetVector(key);

        [Test]
        public void ATinyLearningRateKeepsTheVectorsAndAddsTheNewItems()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var updated = ml.Embeddings().SkipGram(Options(epochs: 1, rate: 1e-7f)).Fit(NewItemInClusterZero(20, seed: 5), initial);

            Assert.That(updated.Embeddings.Count, Is.EqualTo(initial.Embeddings.Count + 1), "the new item is appended");
            Assert.That(updated.Embeddings.Contains("new") && updated.ContextEmbeddings!.Contains("new"), Is.True);
            foreach (string key in initial.Embeddings.Keys)
            {
                var before = initial.Embeddings.GetVector(key);
                var after = updated.Embeddings.GetVector(key);
                var contextBefore = initial.ContextEmbeddings!.GetVector(key);
                var contextAfter = updated.ContextEmbeddings!.GetVector(key);
                for (int j = 0; j < before.Length; j++)
                {
                    Assert.That(after[j], Is.EqualTo(before[j]).Within(1e-4f), $"input vector of {key} is the starting point");
                    Assert.That(contextAfter[j], Is.EqualTo(contextBefore[j]).Within(1e-4f), $"context vector of {key} is the starting point");
                }
            }
            // Counts: the initial ones plus the new occurrences, ordered most frequent first.
            var counts = updated.Embeddings.Keys.Zip(updated.TrainingSummary.ItemCounts).ToDictionary(p => p.First, p => p.Second);
            var initialCounts = initial.Embeddings.Keys.Zip(initial.TrainingSummary.ItemCounts).ToDictionary(p => p.First, p => p.Second);
            Assert.That(counts["new"], Is.EqualTo(20));
            long added = NewItemInClusterZero(20, seed: 5).SelectMany(s => s).Count(i => i == PlantedSequences.Item(0, 3));
            Assert.That(counts[PlantedSequences.Item(0, 3)], Is.EqualTo(initialCounts[PlantedSequences.Item(0, 3)] + added));
            Assert.That(updated.TrainingSummary.ItemCounts, Is.Ordered.Descending);

            // The new item starts from the mean of the vectors of the items it occurs with: already among cluster 0.
            var neighbours = updated.Embeddings.MostSimilar("new", 5);
            Assert.That(neighbours.Count(n => n.Key.StartsWith("c0_", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(4), string.Join(", ", neighbours.Select(n => n.Key)));
        }

        [Test]
        public void ANewItemWithoutKnownNeighboursStartsRandomWithTheMeanContextVector()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var updated = ml.Embeddings().SkipGram(Options(epochs: 1, rate: 1e-7f)).Fit(new[] { new[] { "x", "y", "x", "y" } }, initial);
            var mean = new float[24];
            foreach (string key in initial.ContextEmbeddings!.Keys)
            {
                var v = initial.ContextEmbeddings.GetVector(key);
                for (int j = 0; j < 24; j++)
                    mean[j] += v[j] / initial.ContextEmbeddings.Count;
            }
            var context = updated.ContextEmbeddings!.GetVector("x");
            for (int j = 0; j < 24; j++)
                Assert.That(context[j], Is.EqualTo(mean[j]).Within(1e-4f));
            var input = updated.Embeddings.GetVector("x");
            Assert.That(input.Any(v => v != 0) && input.All(v => Math.Abs(v) <= 0.5f / 24 + 1e-4f), Is.True, "random in (-0.5, 0.5) / dimension, as in a new run");
        }

        [Test]
        public void ANewItemThatCoOccursOnlyWithOneClusterEndsNearIt()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var updated = ml.Embeddings().SkipGram(Options(epochs: 10)).Fit(NewItemInClusterZero(60, seed: 5), initial);
            var neighbours = updated.Embeddings.MostSimilar("new", 5);
            Assert.That(neighbours.Count(n => n.Key.StartsWith("c0_", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(4),
                "the new item's neighbours are the cluster it co-occurs with: " + string.Join(", ", neighbours.Select(n => n.Key)));
            // The clusters learned before the update are still there.
            Assert.That(PlantedSequences.NeighbourPurity(Filtered(updated.Embeddings), 5), Is.GreaterThan(0.9));
        }

        private static EmbeddingTable Filtered(EmbeddingTable table)
        {
            var keys = table.Keys.Where(k => k != "new").ToArray();
            return new EmbeddingTable(keys, keys.SelectMany(table.GetVector).ToArray(), table.Dimension);
        }

        [Test]
        public void TheInitialModelIsUnchangedAndOneThreadIsBitIdentical()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var before = initial.Embeddings.Keys.ToDictionary(k => k, k => Copy(initial.Embeddings, k));
            var a = ml.Embeddings().SkipGram(Options(epochs: 3)).Fit(NewItemInClusterZero(30, seed: 5), initial);
            var b = ml.Embeddings().SkipGram(Options(epochs: 3)).Fit(NewItemInClusterZero(30, seed: 5), initial);
            foreach (var (key, vector) in before)
                Assert.That(initial.Embeddings.GetVector(key), Is.EqualTo(vector), "the initial model is not changed");
            Assert.That(a.Embeddings.Keys, Is.EqualTo(b.Embeddings.Keys));
            foreach (string key in a.Embeddings.Keys)
            {
                Assert.That(a.Embeddings.GetVector(key).Select(EstimatorConformance.Bits), Is.EqualTo(b.Embeddings.GetVector(key).Select(EstimatorConformance.Bits)), key);
                Assert.That(a.ContextEmbeddings!.GetVector(key).Select(EstimatorConformance.Bits), Is.EqualTo(b.ContextEmbeddings!.GetVector(key).Select(EstimatorConformance.Bits)), key);
            }
            Assert.That(a.Embeddings.GetVector(PlantedSequences.Item(0, 1)), Is.Not.EqualTo(before[PlantedSequences.Item(0, 1)]), "the update trained");
        }

        [Test]
        public void AnUpdatedModelSavesLoadsAndContinuesLikeTheOriginal()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(PlantedSequences.Generate(clusters: 6, itemsPerCluster: 10, sequences: 50, seed: 8));
            var updated = ml.Embeddings().SkipGram(Options(epochs: 2)).Fit(NewItemInClusterZero(30, seed: 5), Initial(ml));
            var loaded = (SkipGramEmbeddingTransformer)EstimatorConformance.SaveAndLoad(updated, data.Schema);
            EstimatorConformance.AssertSameValues(updated.Transform(data), loaded.Transform(data));
            Assert.That(loaded.TrainingSummary.ItemCounts, Is.EqualTo(updated.TrainingSummary.ItemCounts), "the counts are saved");

            var more = NewItemInClusterZero(10, seed: 9);
            var fromMemory = ml.Embeddings().SkipGram(Options(epochs: 2)).Fit(more, updated);
            var fromLoaded = ml.Embeddings().SkipGram(Options(epochs: 2)).Fit(more, loaded);
            foreach (string key in fromMemory.Embeddings.Keys)
                Assert.That(fromLoaded.Embeddings.GetVector(key), Is.EqualTo(fromMemory.Embeddings.GetVector(key)), key);
        }

        [Test]
        public void TheDataViewAndWriterOverloadsContinueLikeTheSequenceOverload()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var sequences = NewItemInClusterZero(20, seed: 5);
            var fromLists = ml.Embeddings().SkipGram(Options(epochs: 2)).Fit(sequences, initial);
            var fromView = ml.Embeddings().SkipGram(Options(epochs: 2)).Fit(ml.Data.LoadFromEnumerable(sequences.Select(s => new PlantedSequences.Row { Items = s })), initial);
            var fromWriter = ml.Embeddings().SkipGram(Options(epochs: 2)).Fit(writer =>
            {
                foreach (var sequence in sequences)
                {
                    foreach (string item in sequence)
                        writer.Add(item);
                    writer.EndSequence();
                }
            }, initial);
            foreach (string key in fromLists.Embeddings.Keys)
            {
                Assert.That(fromView.Embeddings.GetVector(key), Is.EqualTo(fromLists.Embeddings.GetVector(key)), key);
                Assert.That(fromWriter.Embeddings.GetVector(key), Is.EqualTo(fromLists.Embeddings.GetVector(key)), key);
            }
        }

        [Test]
        public void NewItemsBelowMinCountInTheNewSequencesAreLeftOut()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var options = Options(epochs: 1);
            options.MinCount = 3;
            var sequences = NewItemInClusterZero(20, seed: 5).Append(new[] { "rare", PlantedSequences.Item(1, 1), PlantedSequences.Item(1, 2) }).ToArray();
            var updated = ml.Embeddings().SkipGram(options).Fit(sequences, initial);
            Assert.That(updated.Embeddings.Contains("new"), Is.True);
            Assert.That(updated.Embeddings.Contains("rare"), Is.False, "1 occurrence < MinCount 3");
            Assert.That(initial.Embeddings.Keys.All(updated.Embeddings.Contains), Is.True, "every item of the model is kept, whatever its count");

            options.MaxVocabularySize = initial.Embeddings.Count;
            Assert.That(ml.Embeddings().SkipGram(options).Fit(sequences, initial).Embeddings.Count, Is.EqualTo(initial.Embeddings.Count), "a full vocabulary takes no new item");
        }

        [Test]
        public void BadStartingPointsAndInputsAreRejectedWithTheFix()
        {
            var ml = new MLContext(seed: 1);
            var initial = Initial(ml);
            var sequences = NewItemInClusterZero(20, seed: 5);

            var e = Assert.Throws<ArgumentException>(() => ml.Embeddings().SkipGram(Options()).Fit(sequences, Initial(ml, keepContext: false)));
            Assert.That(e!.Message, Does.Contain("no context (output) vectors").And.Contain("KeepContextVectors = true"));
            Assert.That(e.ParamName, Is.EqualTo("initialModel"));

            var other = Options();
            other.EmbeddingDimension = 8;
            e = Assert.Throws<ArgumentException>(() => ml.Embeddings().SkipGram(other).Fit(sequences, initial));
            Assert.That(e!.Message, Does.Contain("EmbeddingDimension = 8").And.Contain("set EmbeddingDimension = 24"));

            var hs = Options();
            hs.HierarchicalSoftmax = true;
            e = Assert.Throws<ArgumentException>(() => ml.Embeddings().SkipGram(hs).Fit(sequences, initial));
            Assert.That(e!.Message, Does.Contain("HierarchicalSoftmax = true").And.Contain("set HierarchicalSoftmax = false"));

            var empty = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().SkipGram(Options()).Fit(Array.Empty<string[]>(), initial));
            Assert.That(empty!.Message, Does.Contain("has no items (0 sequences read)").And.Contain("new sequences"));
            var singles = Assert.Throws<InvalidOperationException>(() => ml.Embeddings().SkipGram(Options()).Fit(new[] { new[] { "x" }, new[] { "y" } }, initial));
            Assert.That(singles!.Message, Does.Contain("two or more items in the vocabulary"));

            var wrongType = Assert.Throws<ArgumentOutOfRangeException>(() => ml.Embeddings().SkipGram(Options()).Fit(ml.Data.LoadFromEnumerable(new[] { new { Items = new float[] { 1, 2 } } }), initial));
            Assert.That(wrongType!.Message, Does.Contain("column 'Items'").And.Contain("Single"));

            Assert.Throws<ArgumentNullException>(() => ml.Embeddings().SkipGram(Options()).Fit(sequences, null!));
        }

        [Test]
        public void AModelSavedBeforeItemCountsWereKeptIsRefusedWithTheFix()
        {
            // skipgram.zip was saved in state version 1, without item counts.
            var ml = new MLContext(seed: 1);
            var saved = ml.Model.Load(Path.Combine(Persistence.SavedModelCompatibilityTests.Folder, "skipgram.zip"), out _);
            var old = saved as SkipGramEmbeddingTransformer ?? ((Microsoft.ML.Data.TransformerChain<ITransformer>)saved).OfType<SkipGramEmbeddingTransformer>().Single();
            var options = Options();
            options.EmbeddingDimension = old.Embeddings.Dimension;
            options.InputColumnName = old.InputColumnName;
            var e = Assert.Throws<ArgumentException>(() => ml.Embeddings().SkipGram(options).Fit(new[] { old.Embeddings.Keys.Take(3).ToArray() }, old));
            Assert.That(e!.Message, Does.Contain("no item counts").And.Contain("Retrain the initial model"));
        }
    }
}
