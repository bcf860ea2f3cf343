using System;
using System.Diagnostics;
using System.Linq;
using System.Reflection;
using System.Threading.Tasks;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators
{
    /// <summary>
    /// <c>mlContext.CancelExecution()</c> stops our trainers, as it stops ML.NET's own. ML.NET 5 exposes it through the
    /// Microsoft.ML.Experimental package's extension method, which calls the context's internal method; these tests call
    /// that method directly.
    /// </summary>
    [TestFixture]
    public class ContextCancellationTests
    {
        private static void CancelExecution(MLContext ml) =>
            typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic)!.Invoke(ml, null);

        private static IDataView Sequences(MLContext ml) =>
            ml.Data.LoadFromEnumerable(PlantedSequences.Generate(clusters: 8, itemsPerCluster: 40, sequences: 4000, seed: 3));

        // Far more epochs than the test would wait for: only cancellation can end the fit in time.
        private static SkipGramEmbeddingEstimator.Options Endless() => new()
        {
            OutputColumnName = "Vector",
            InputColumnName = "Items",
            EmbeddingDimension = 32,
            MinCount = 1,
            Epochs = 100_000,
            NumberOfThreads = 1,
            Seed = 1,
        };

        [Test]
        public void ACancelledContextStopsSkipGramBeforeTraining()
        {
            var ml = new MLContext(seed: 1);
            var data = Sequences(ml);
            CancelExecution(ml);
            Assert.Throws(Is.InstanceOf<OperationCanceledException>(), () => ml.Embeddings().SkipGram(Endless()).Fit(data));
        }

        [Test]
        public void CancelExecutionDuringTrainingStopsSkipGram()
        {
            var ml = new MLContext(seed: 1);
            var data = Sequences(ml);
            var watch = Stopwatch.StartNew();
            var fit = Task.Run(() => ml.Embeddings().SkipGram(Endless()).Fit(data));
            Task.Delay(300).Wait();
            CancelExecution(ml);
            var error = Assert.Throws<AggregateException>(() => fit.Wait(TimeSpan.FromMinutes(2)))!;
            Assert.That(error.InnerException, Is.InstanceOf<OperationCanceledException>());
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMinutes(1)), "the fit stopped long before its 100,000 epochs");
        }

        [Test]
        public void CancelExecutionStopsMatrixFactorizationAndNode2Vec()
        {
            var ml = new MLContext(seed: 1);
            var ratings = ml.Data.LoadFromEnumerable(Enumerable.Range(0, 400).Select(i => new Rating { User = $"u{i % 40}", Item = $"i{i % 23}", Label = i % 5 }));
            var mf = ml.Transforms.Conversion.MapValueToKey("UserKey", "User").Append(ml.Transforms.Conversion.MapValueToKey("ItemKey", "Item"))
                .Append(ml.Embeddings().MatrixFactorization("Label", "UserKey", "ItemKey", numberOfIterations: 5));
            var node2Vec = ml.Embeddings().Node2Vec(new Node2VecEstimator.Options
            {
                SourceColumnName = "User",
                TargetColumnName = "Item",
                OutputColumns = { ("UserVector", "User") },
                NumberOfThreads = 1,
                Seed = 1,
            });
            CancelExecution(ml);
            Assert.Throws(Is.InstanceOf<OperationCanceledException>(), () => mf.Fit(ratings));
            Assert.Throws(Is.InstanceOf<OperationCanceledException>(), () => node2Vec.Fit(ratings));
        }

        private sealed class Rating
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public float Label { get; set; }
        }
    }
}
