using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Embeddings.EndToEnd
{
    /// <summary>
    /// A sparse gradient over the rows of a table: only the rows a batch touches are zeroed, filled and listed, so a batch
    /// costs in proportion to its keys and not to the table.
    /// </summary>
    internal sealed class SparseGradient
    {
        private readonly float[] _values;
        private readonly int[] _stamp;
        private readonly int[] _touched;
        private int _batch = 1;

        public SparseGradient(int rows, int width)
        {
            Width = width;
            _values = new float[(long)rows * width];
            _stamp = new int[rows];
            _touched = new int[rows];
        }

        public int Width { get; }

        public int TouchedCount { get; private set; }

        public ReadOnlySpan<int> Touched => _touched.AsSpan(0, TouchedCount);

        /// <summary>The gradient row of <paramref name="row"/> in the current batch, zeroed on first use.</summary>
        public Span<float> Row(int row)
        {
            var span = _values.AsSpan(row * Width, Width);
            if (_stamp[row] != _batch)
            {
                _stamp[row] = _batch;
                _touched[TouchedCount++] = row;
                span.Clear();
            }
            return span;
        }

        /// <summary>Adds <paramref name="value"/> to the single value of <paramref name="row"/> (tables of width 1).</summary>
        public void Add(int row, float value) => Row(row)[0] += value;

        public ReadOnlySpan<float> Values(int row) => _values.AsSpan(row * Width, Width);

        /// <summary>Forgets the batch's rows.</summary>
        public void NextBatch()
        {
            TouchedCount = 0;
            _batch++;
        }
    }

    /// <summary>
    /// Adam (Kingma and Ba, 2015) with PyTorch's update p −= (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε), and L2 λ·p added to
    /// the gradient. Dense arrays are updated every step; table rows only when the step's batch touched them ("lazy"
    /// Adam). With <see cref="CatchUp"/>, a row that comes back after k steps without gradient first receives the k
    /// updates dense Adam would have made from its decaying momentum, in closed form: Σⱼ c·rʲ·m/√v with r = β₁/√β₂ and
    /// c = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) at the current step (ε and L2 are left out of the skipped steps), then m·β₁ᵏ and v·β₂ᵏ.
    /// Rare keys then move as far per gradient as under dense Adam, at the cost of one update per use.
    /// </summary>
    internal sealed class AdamOptimizer
    {
        private readonly float _learningRate;
        private readonly float _beta1;
        private readonly float _beta2;
        private readonly float _epsilon;
        private readonly float _l2;
        private long _step;
        private float _stepSize;
        private float _secondScale;

        public AdamOptimizer(float learningRate, float beta1, float beta2, float epsilon, float l2, bool catchUp = true)
        {
            CatchUp = catchUp;
            _learningRate = learningRate;
            _beta1 = beta1;
            _beta2 = beta2;
            _epsilon = epsilon;
            _l2 = l2;
        }

        /// <summary>Whether rows catch up on the steps they skipped (see the class summary).</summary>
        public bool CatchUp { get; }

        /// <summary>The steps taken so far (t).</summary>
        public long Step => _step;

        /// <summary>Starts a step: advances t and the bias corrections.</summary>
        public void BeginStep()
        {
            _step++;
            double firstCorrection = 1 - Math.Pow(_beta1, _step);
            double secondCorrection = 1 - Math.Pow(_beta2, _step);
            _stepSize = (float)(_learningRate / firstCorrection);
            _secondScale = (float)(1 / Math.Sqrt(secondCorrection));
        }

        /// <summary>Updates every value of <paramref name="parameters"/> from <paramref name="gradient"/>, with the moments <paramref name="first"/> and <paramref name="second"/>.</summary>
        public void Update(Span<float> parameters, ReadOnlySpan<float> gradient, Span<float> first, Span<float> second)
        {
            if (gradient.Length < parameters.Length || first.Length < parameters.Length || second.Length < parameters.Length)
                throw new ArgumentException("Adam's arrays differ in length.", nameof(gradient));
            int n = parameters.Length;
            ref float p = ref MemoryMarshal.GetReference(parameters);
            ref float g = ref MemoryMarshal.GetReference(gradient);
            ref float m = ref MemoryMarshal.GetReference(first);
            ref float v = ref MemoryMarshal.GetReference(second);
            int i = 0;
            if (Vector256.IsHardwareAccelerated)
            {
                var b1 = Vector256.Create(_beta1);
                var c1 = Vector256.Create(1 - _beta1);
                var b2 = Vector256.Create(_beta2);
                var c2 = Vector256.Create(1 - _beta2);
                var step = Vector256.Create(_stepSize);
                var scale = Vector256.Create(_secondScale);
                var eps = Vector256.Create(_epsilon);
                var l2 = Vector256.Create(_l2);
                for (; i + 8 <= n; i += 8)
                {
                    var pv = Vector256.LoadUnsafe(ref p, (nuint)i);
                    var gv = Vector256.LoadUnsafe(ref g, (nuint)i) + l2 * pv;
                    var mv = b1 * Vector256.LoadUnsafe(ref m, (nuint)i) + c1 * gv;
                    var vv = b2 * Vector256.LoadUnsafe(ref v, (nuint)i) + c2 * gv * gv;
                    mv.StoreUnsafe(ref m, (nuint)i);
                    vv.StoreUnsafe(ref v, (nuint)i);
                    (pv - step * mv / (Vector256.Sqrt(vv) * scale + eps)).StoreUnsafe(ref p, (nuint)i);
                }
            }
            for (; i < n; i++)
                UpdateOne(ref Unsafe.Add(ref p, i), Unsafe.Add(ref g, i), ref Unsafe.Add(ref m, i), ref Unsafe.Add(ref v, i));
        }

        /// <summary>
        /// Updates the rows of <paramref name="table"/> that <paramref name="gradient"/> touched in this step, as plain lazy
        /// Adam (no catch-up: the sequence models' input and sampled output rows, whose figures were measured that way).
        /// </summary>
        public void UpdateRows(float[] table, SparseGradient gradient, float[] first, float[] second)
        {
            int width = gradient.Width;
            foreach (int row in gradient.Touched)
            {
                int start = row * width;
                Update(table.AsSpan(start, width), gradient.Values(row), first.AsSpan(start, width), second.AsSpan(start, width));
            }
        }

        /// <summary>
        /// Updates the rows of <paramref name="table"/> that <paramref name="gradient"/> touched in this step, each first
        /// catching up on the steps it skipped since <paramref name="lastStep"/>[row] (when <see cref="CatchUp"/> is on).
        /// </summary>
        public void UpdateRows(float[] table, SparseGradient gradient, float[] first, float[] second, long[] lastStep)
        {
            int width = gradient.Width;
            foreach (int row in gradient.Touched)
            {
                int start = row * width;
                var p = table.AsSpan(start, width);
                var m = first.AsSpan(start, width);
                var v = second.AsSpan(start, width);
                if (CatchUp)
                    CatchUpRow(p, m, v, _step - 1 - lastStep[row]);
                Update(p, gradient.Values(row), m, v);
                lastStep[row] = _step;
            }
        }

        /// <summary>Brings every row of <paramref name="table"/> up to the current step (before the parameters are read: validation, snapshots, the end of training).</summary>
        public void CatchUpAll(float[] table, int width, float[] first, float[] second, long[] lastStep)
        {
            if (!CatchUp)
                return;
            for (int row = 0; row < lastStep.Length; row++)
            {
                if (lastStep[row] >= _step)
                    continue;
                int start = row * width;
                CatchUpRow(table.AsSpan(start, width), first.AsSpan(start, width), second.AsSpan(start, width), _step - lastStep[row]);
                lastStep[row] = _step;
            }
        }

        /// <summary>The <paramref name="skipped"/> updates of zero gradient that dense Adam would have made (class summary).</summary>
        private void CatchUpRow(Span<float> p, Span<float> m, Span<float> v, long skipped)
        {
            if (skipped <= 0 || _step == 0)
                return;
            // With β₁ = 0 the momentum is gone after one step; with β₂ = 0 dense Adam's skipped steps divide by ε alone,
            // which no one wants reproduced: both only decay the moments.
            double r = _beta1 == 0 || _beta2 == 0 ? 0 : _beta1 / Math.Sqrt(_beta2);
            double rk = Math.Pow(r, skipped);
            double series = r == 1 ? skipped : r * (1 - rk) / (1 - r);
            double c = _stepSize / _secondScale;   // η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)
            float decay1 = (float)Math.Pow(_beta1, skipped), decay2 = (float)Math.Pow(_beta2, skipped);
            float factor = (float)(c * series);
            for (int i = 0; i < p.Length; i++)
            {
                float root = MathF.Sqrt(v[i]);
                if (root > 0)
                    p[i] -= factor * m[i] / root;
                m[i] *= decay1;
                v[i] *= decay2;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void UpdateOne(ref float p, float g, ref float m, ref float v)
        {
            g += _l2 * p;
            m = _beta1 * m + (1 - _beta1) * g;
            v = _beta2 * v + (1 - _beta2) * g * g;
            p -= _stepSize * m / (MathF.Sqrt(v) * _secondScale + _epsilon);
        }
    }
}
