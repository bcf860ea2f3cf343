using System;
using System.Collections.Generic;
using System.Linq;
using System.Numerics.Tensors;

namespace Embeddings.EndToEnd
{
    /// <summary>
    /// An exponential moving average of the trained parameters (Polyak-Ruppert averaging with exponential forgetting, as
    /// TensorFlow's ExponentialMovingAverage keeps it): after step t, e ← e + aₜ·(p − e) with aₜ = 1/t for the first
    /// ⌊1/(1 − decay)⌋ steps (the plain mean of the iterates) and 1 − decay after them (old iterates forgotten at that rate).
    /// The average is what validation scores and what training keeps, which removes most of the step-to-step noise of the
    /// last iterate (a constant-rate Adam run ends near the optimum, not at it).
    /// <para>
    /// Dense arrays (biases, layer weights) are averaged every step. Table rows (embedding rows, wide weights) are averaged
    /// lazily, as Adam updates them: a row no batch uses keeps its value, so the steps it skipped reduce to one closed-form
    /// factor Π(1 − aₜ) applied when it is next used or when the epoch ends. The cost per step is that of the dense arrays
    /// and of the rows the batch uses, never of whole tables.
    /// </para>
    /// </summary>
    internal sealed class WeightAverager
    {
        private readonly double _decay;
        private readonly long _meanSteps;
        private readonly float[][] _denseLive;
        private readonly float[][] _denseAverage;
        private readonly (float[] Live, float[] Average, int Width, long[] Step)[] _tables;

        /// <param name="live">The parameters training updates; the average starts equal to them.</param>
        /// <param name="dense">The arrays of <paramref name="live"/> updated every step.</param>
        /// <param name="tables">The tables of <paramref name="live"/> updated row by row, in the order of the sparse gradients passed to <see cref="BeforeStep"/>.</param>
        /// <param name="decay">In (0, 1).</param>
        public WeightAverager(NetworkParameters live, IReadOnlyList<float[]> dense, IReadOnlyList<(float[] Values, int Rows, int Width)> tables, float decay)
        {
            if (!(decay > 0 && decay < 1))
                throw new ArgumentOutOfRangeException(nameof(decay), decay, "The averaging decay must be in (0, 1).");
            _decay = decay;
            _meanSteps = Math.Max(1, (long)Math.Floor(1 / (1 - _decay)));
            Average = live.Clone();
            var liveArrays = live.AllArrays().ToList();
            var averageArrays = Average.AllArrays().ToList();
            float[] Twin(float[] array) => averageArrays[liveArrays.FindIndex(a => ReferenceEquals(a, array))];
            _denseLive = dense.ToArray();
            _denseAverage = dense.Select(Twin).ToArray();
            _tables = tables.Select(t => (t.Values, Twin(t.Values), t.Width, new long[t.Rows])).ToArray();
        }

        /// <summary>The averaged parameters (a separate copy with the live parameters' shape).</summary>
        public NetworkParameters Average { get; }

        /// <summary>The weight aₜ of step <paramref name="step"/> (1-based).</summary>
        public double Weight(long step) => step <= _meanSteps ? 1.0 / step : 1 - _decay;

        /// <summary>
        /// Π(1 − aₜ) for t = <paramref name="from"/> + 1 … <paramref name="to"/>: what is left of an average after those steps
        /// of a constant value. The running-mean steps telescope (Π (t − 1)/t = from / to), the others give decay^count.
        /// </summary>
        public double Remaining(long from, long to)
        {
            if (to <= from)
                return 1;
            double product = 1;
            long meanEnd = Math.Min(to, _meanSteps);
            if (meanEnd > from)
            {
                product = (double)from / meanEnd;
                from = meanEnd;
            }
            if (to > from)
                product *= Math.Pow(_decay, to - from);
            return product;
        }

        /// <summary>Before the optimizer's step <paramref name="step"/>: brings the rows it will update up to the previous step (they held their value since they were last averaged).</summary>
        public void BeforeStep(long step, IReadOnlyList<SparseGradient> gradients)
        {
            for (int t = 0; t < _tables.Length; t++)
            {
                foreach (int row in gradients[t].Touched)
                    CatchUp(t, row, step - 1);
            }
        }

        /// <summary>After the optimizer's step <paramref name="step"/>: averages the dense arrays and the rows it updated.</summary>
        public void AfterStep(long step, IReadOnlyList<SparseGradient> gradients)
        {
            float a = (float)Weight(step);
            for (int i = 0; i < _denseLive.Length; i++)
                MoveToward(_denseAverage[i], _denseLive[i], a);
            for (int t = 0; t < _tables.Length; t++)
            {
                var (live, average, width, steps) = _tables[t];
                foreach (int row in gradients[t].Touched)
                {
                    long offset = (long)row * width;
                    MoveToward(average.AsSpan((int)offset, width), live.AsSpan((int)offset, width), a);
                    steps[row] = step;
                }
            }
        }

        /// <summary>Brings every row's average up to <paramref name="step"/> (before the average is read).</summary>
        public void CatchUpAll(long step)
        {
            for (int t = 0; t < _tables.Length; t++)
            {
                for (int row = 0; row < _tables[t].Step.Length; row++)
                    CatchUp(t, row, step);
            }
        }

        private void CatchUp(int table, int row, long step)
        {
            var (live, average, width, steps) = _tables[table];
            if (steps[row] >= step)
                return;
            float keep = (float)Remaining(steps[row], step);
            int offset = checked(row * width);
            var e = average.AsSpan(offset, width);
            var p = live.AsSpan(offset, width);
            // e ← p + (e − p)·keep
            for (int i = 0; i < width; i++)
                e[i] = p[i] + (e[i] - p[i]) * keep;
            steps[row] = step;
        }

        /// <summary>e ← e + a·(p − e).</summary>
        private static void MoveToward(Span<float> average, ReadOnlySpan<float> live, float a) =>
            TensorPrimitives.Lerp(average, live, a, average);
    }
}
