using System;
using System.Linq;
using Embeddings.EndToEnd;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>
    /// The lazy moving average of <see cref="WeightAverager"/> against the plain one computed every step: rows averaged only
    /// when a batch uses them (and at the end) must end where a dense average over every step ends.
    /// </summary>
    [TestFixture]
    public class WeightAveragerTests
    {
        [TestCase(0.9f, 0L, 5L)]
        [TestCase(0.9f, 3L, 25L)]
        [TestCase(0.9f, 12L, 40L)]
        [TestCase(0.998f, 0L, 1L)]
        [TestCase(0.998f, 499L, 503L)]
        [TestCase(0.998f, 100L, 2000L)]
        public void TheClosedFormOfSkippedStepsIsTheProductOfTheirFactors(float decay, long from, long to)
        {
            var averager = Averager(decay, rows: 1, out _, out _);
            double product = 1;
            for (long t = from + 1; t <= to; t++)
                product *= 1 - averager.Weight(t);
            Assert.That(averager.Remaining(from, to), Is.EqualTo(product).Within(1e-12 + 1e-9 * product));
        }

        [Test]
        public void TheStepWeightsGiveTheMeanOfTheFirstStepsThenForgetAtOneMinusDecay()
        {
            var averager = Averager(0.75f, rows: 1, out _, out _);
            Assert.That(Enumerable.Range(1, 6).Select(t => averager.Weight(t)), Is.EqualTo(new[] { 1, 0.5, 1.0 / 3, 0.25, 0.25, 0.25 }).Within(1e-7));
        }

        [TestCase(0.9f)]
        [TestCase(0.99f)]
        public void LazyRowsEndWhereADenseAverageOfEveryStepEnds(float decay)
        {
            const int rows = 30, width = 3, steps = 200;
            var averager = Averager(decay, rows, out var live, out var table);
            var dense = new double[rows * width];
            for (int i = 0; i < dense.Length; i++)
                dense[i] = table[i];
            var gradient = new SparseGradient(rows, width);
            var random = new Random(7);
            for (int step = 1; step <= steps; step++)
            {
                gradient.NextBatch();
                // A few rows per step, some rows rarely: row r is used with probability about 1 / (1 + r / 3).
                for (int r = 0; r < rows; r++)
                {
                    if (random.NextDouble() < 1.0 / (1 + r / 3.0))
                        gradient.Row(r)[0] = 1;
                }
                averager.BeforeStep(step, [gradient]);
                foreach (int r in gradient.Touched)
                {
                    for (int k = 0; k < width; k++)
                        table[r * width + k] = (float)(random.NextDouble() * 2 - 1);
                }
                live.Bias[0] = (float)random.NextDouble();
                averager.AfterStep(step, [gradient]);
                double a = averager.Weight(step);
                for (int i = 0; i < dense.Length; i++)
                    dense[i] += a * (table[i] - dense[i]);
            }
            averager.CatchUpAll(steps);
            var averaged = averager.Average.Embeddings[0];
            for (int i = 0; i < dense.Length; i++)
                Assert.That(averaged[i], Is.EqualTo(dense[i]).Within(1e-5), $"value {i}");
            Assert.That(averager.Average.Bias[0], Is.Not.EqualTo(live.Bias[0]), "the dense bias is averaged too, not copied");
        }

        /// <summary>An averager over a one-field network whose embedding table is the only table.</summary>
        private static WeightAverager Averager(float decay, int rows, out NetworkParameters live, out float[] table)
        {
            var shape = new NetworkShape(EndToEndArchitecture.FactorizationMachine, [rows, rows], dimension: 3, numericDimension: 0, hasCrosses: false, crossHashBits: 1, hiddenLayerSizes: [], residualUnits: 0, residualHidden: 0);
            live = new NetworkParameters(shape);
            table = live.Embeddings[0];
            var random = new Random(3);
            for (int i = 0; i < table.Length; i++)
                table[i] = (float)random.NextDouble();
            return new WeightAverager(live, [live.Bias], [(table, rows, 3)], decay);
        }
    }
}
