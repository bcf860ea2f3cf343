using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Evaluation;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Evaluation
{
    [TestFixture]
    public class NodeClassificationEvaluatorTests
    {
        [Test]
        public void SeparableLabelsScorePerfectlyAndRandomOnesDoNot()
        {
            // 200 nodes, 3 labels; node i has label i % 3, and nodes divisible by 5 also have label 3 (multi-label).
            var random = new Random(3);
            var keys = Enumerable.Range(0, 200).Select(i => $"v{i}").ToArray();
            var labels = keys.Select((k, i) => (k, i % 5 == 0 ? new List<int> { i % 3, 3 } : new List<int> { i % 3 })).ToDictionary(x => x.k, x => x.Item2);
            var informative = new float[200 * 4];
            var noise = new float[200 * 4];
            for (int i = 0; i < 200; i++)
            {
                informative[i * 4 + i % 3] = 3;
                informative[i * 4 + 3] = i % 5 == 0 ? 3 : -3;
                for (int j = 0; j < 4; j++)
                    noise[i * 4 + j] = (float)random.NextDouble();
            }
            var splits = Enumerable.Range(0, 2).SelectMany(s => keys.Select((k, i) => (s, k, (i + s) % 2 == 0))).ToList();
            var ml = new MLContext(seed: 1);
            var perfect = NodeClassificationEvaluator.Evaluate(ml, new EmbeddingTable(keys, informative, 4), labels, splits);
            Assert.That(perfect.Splits, Has.Count.EqualTo(2));
            Assert.That(perfect.MicroF1, Is.EqualTo(1.0).Within(1e-9));
            Assert.That(perfect.MacroF1, Is.EqualTo(1.0).Within(1e-9));
            Assert.That(perfect.Splits[0].TrainNodes, Is.EqualTo(100));

            var random4 = NodeClassificationEvaluator.Evaluate(ml, new EmbeddingTable(keys, noise, 4), labels, splits);
            Assert.That(random4.MicroF1, Is.LessThan(0.6));
            Assert.That(random4.ToString(), Does.Contain("Micro-F1").And.Contain("Macro-F1"));
        }
    }
}
