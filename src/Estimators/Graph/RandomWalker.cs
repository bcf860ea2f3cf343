using System;
using System.Runtime.CompilerServices;
using System.Threading.Tasks;
using Embeddings.SkipGram;

namespace Embeddings.Graph
{
    /// <summary>How node2vec's second-order transitions are drawn.</summary>
    public enum SecondOrderSampling
    {
        /// <summary>
        /// Precomputed tables when they fit (at most <see cref="RandomWalker.MaxPrecomputedEntries"/> entries, that is
        /// sum over nodes of in-degree x out-degree), rejection sampling otherwise. Default.
        /// </summary>
        Auto = 0,

        /// <summary>
        /// One alias table per edge (t, v) over v's neighbours: O(1) per step, O(sum of squared degrees) memory
        /// (BlogCatalog: 369 million entries). Exact.
        /// </summary>
        Precomputed = 1,

        /// <summary>
        /// Rejection sampling (as KnightKing): draw a neighbour by edge weight, accept it with probability
        /// alpha / max(1, 1/q), where alpha is 1 for a neighbour of the previous node (binary search of its sorted
        /// neighbour list) or 1/q; the return step's extra weight when 1/p is larger is drawn separately.
        /// Memory: one weight total per node. Exact.
        /// </summary>
        Rejection = 2,
    }

    /// <summary>
    /// DeepWalk and node2vec random walks over a <see cref="CsrGraph"/>. First-order steps use a per-node alias table
    /// over edge weights (uniform draws when the graph is unweighted); second-order steps weight each neighbour x of the
    /// current node v, reached from t, by w(v, x) x alpha(t, x) with alpha = 1/p when x = t, 1 when x is a neighbour of
    /// t, 1/q otherwise. Walk i draws from the random stream (seed, i) alone, so walks do not depend on threads.
    /// </summary>
    internal sealed class RandomWalker
    {
        /// <summary>Largest precomputed second-order table chosen by <see cref="SecondOrderSampling.Auto"/>: 2^24 entries (128 MiB).</summary>
        public const long MaxPrecomputedEntries = 1L << 24;

        private readonly CsrGraph _graph;
        private readonly bool _secondOrder;
        private readonly float _inverseP;
        private readonly float _inverseQ;
        private readonly float _envelope;
        private readonly float _returnExcess;
        private readonly double[]? _outWeights;
        private readonly uint[]? _firstThreshold;
        private readonly int[]? _firstAlias;
        private readonly long[]? _secondOffsets;
        private readonly uint[]? _secondThreshold;
        private readonly int[]? _secondAlias;

        public RandomWalker(CsrGraph graph, double p, double q, SecondOrderSampling sampling)
        {
            _graph = graph;
            _secondOrder = p != 1 || q != 1;
            _inverseP = (float)(1 / p);
            _inverseQ = (float)(1 / q);
            _envelope = Math.Max(1f, _inverseQ);
            _returnExcess = Math.Max(0f, _inverseP - _envelope);
            if (graph.Weighted)
            {
                (_firstThreshold, _firstAlias) = BuildFirstOrder(graph);
                _outWeights = new double[graph.NodeCount];
                for (int v = 0; v < graph.NodeCount; v++)
                {
                    foreach (float w in graph.NeighborWeights(v))
                        _outWeights[v] += w;
                }
            }
            if (_secondOrder)
            {
                long entries = graph.SecondOrderTableEntries();
                bool precompute = sampling == SecondOrderSampling.Precomputed || (sampling == SecondOrderSampling.Auto && entries <= MaxPrecomputedEntries);
                if (precompute)
                {
                    if (entries > Array.MaxLength)
                        throw new NotSupportedException($"Precomputed node2vec tables would need {entries:N0} entries, more than one array holds; use SecondOrderSampling.Rejection (or Auto).");
                    (_secondOffsets, _secondThreshold, _secondAlias) = BuildSecondOrder(graph, entries);
                }
            }
            Sampling = !_secondOrder ? "first order (DeepWalk)" : _secondOffsets is not null ? "second order, precomputed tables" : "second order, rejection sampling";
        }

        public string Sampling { get; }

        public bool UsesPrecomputedTables => _secondOffsets is not null;

        /// <summary>
        /// Writes a walk of at most <c>destination.Length</c> nodes starting at <paramref name="start"/>; it ends early at
        /// a node without out-edges. Returns the number of nodes written (at least 1).
        /// </summary>
        public int Walk(int start, Span<int> destination, ref TrainingRandom random)
        {
            destination[0] = start;
            if (destination.Length == 1)
                return 1;
            int current = start;
            if (_graph.Degree(current) == 0)
                return 1;
            int local = FirstOrder(current, ref random);
            long edge = _graph.Offsets[current] + local;
            int previous = current;
            current = _graph.Targets[edge];
            destination[1] = current;
            int length = 2;
            while (length < destination.Length)
            {
                int degree = _graph.Degree(current);
                if (degree == 0)
                    break;
                if (!_secondOrder)
                    local = FirstOrder(current, ref random);
                else if (_secondOffsets is not null)
                    local = Precomputed(edge, degree, ref random);
                else
                    local = Rejection(previous, current, ref random);
                edge = _graph.Offsets[current] + local;
                previous = current;
                current = _graph.Targets[edge];
                destination[length++] = current;
            }
            return length;
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private int FirstOrder(int node, ref TrainingRandom random)
        {
            long offset = _graph.Offsets[node];
            int degree = (int)(_graph.Offsets[node + 1] - offset);
            if (_firstThreshold is null)
                return random.Next(degree);
            return AliasSampler.Sample(_firstThreshold.AsSpan((int)offset, degree), _firstAlias.AsSpan((int)offset, degree), ref random);
        }

        private int Precomputed(long edge, int degree, ref TrainingRandom random)
        {
            long offset = _secondOffsets![edge];
            return AliasSampler.Sample(_secondThreshold.AsSpan((int)offset, degree), _secondAlias.AsSpan((int)offset, degree), ref random);
        }

        /// <summary>
        /// Rejection sampling with the return edge folded out (as KnightKing treats outliers): the envelope is
        /// w(v, x) x A with A = max(1, 1/q), plus a point mass w(v, t) x (1/p - A) at the previous node t when 1/p &gt; A.
        /// A draw takes that point mass with its share of the envelope, and otherwise a first-order neighbour x accepted
        /// with probability min(alpha(t, x), A) / A. Exact; with p small and q large the acceptance rate stays high.
        /// </summary>
        private int Rejection(int previous, int current, ref TrainingRandom random)
        {
            var previousNeighbors = _graph.Neighbors(previous);
            float envelope = _envelope;
            int back = -1;
            double excessShare = 0;
            if (_returnExcess > 0)
            {
                back = _graph.Neighbors(current).BinarySearch(previous);
                if (back >= 0)
                {
                    double excess = (_graph.Weighted ? _graph.NeighborWeights(current)[back] : 1.0) * _returnExcess;
                    excessShare = excess / (envelope * (_graph.Weighted ? _outWeights![current] : _graph.Degree(current)) + excess);
                }
            }
            while (true)
            {
                // Each round draws from the whole envelope: the return step's excess mass, or a first-order neighbour.
                if (excessShare > 0 && random.NextFloat() < excessShare)
                    return back;
                int local = FirstOrder(current, ref random);
                int next = _graph.Targets[_graph.Offsets[current] + local];
                float alpha = next == previous ? Math.Min(_inverseP, envelope) : previousNeighbors.BinarySearch(next) >= 0 ? 1f : _inverseQ;
                if (alpha >= envelope || random.NextFloat() * envelope < alpha)
                    return local;
            }
        }

        /// <summary>The exact probability of stepping from <paramref name="current"/> to its <paramref name="local"/>-th neighbour (previous node -1 for the first step).</summary>
        public double TransitionProbability(int previous, int current, int local)
        {
            var neighbors = _graph.Neighbors(current);
            var weights = _graph.NeighborWeights(current);
            double total = 0, chosen = 0;
            for (int k = 0; k < neighbors.Length; k++)
            {
                double w = weights[k] * (previous < 0 || !_secondOrder ? 1.0 : Alpha(previous, neighbors[k]));
                total += w;
                if (k == local)
                    chosen = w;
            }
            return chosen / total;
        }

        private double Alpha(int previous, int next) =>
            next == previous ? _inverseP : _graph.HasEdge(previous, next) ? 1.0 : _inverseQ;

        private static (uint[] Threshold, int[] Alias) BuildFirstOrder(CsrGraph graph)
        {
            var threshold = new uint[graph.EdgeCount];
            var alias = new int[graph.EdgeCount];
            int maxDegree = 0;
            for (int v = 0; v < graph.NodeCount; v++)
                maxDegree = Math.Max(maxDegree, graph.Degree(v));
            var weights = new double[maxDegree];
            var scaled = new double[maxDegree];
            var small = new int[maxDegree];
            var large = new int[maxDegree];
            for (int v = 0; v < graph.NodeCount; v++)
            {
                int degree = graph.Degree(v);
                if (degree == 0)
                    continue;
                var w = graph.NeighborWeights(v);
                double total = 0;
                for (int k = 0; k < degree; k++)
                {
                    weights[k] = w[k];
                    total += w[k];
                }
                int offset = (int)graph.Offsets[v];
                AliasSampler.Build(weights.AsSpan(0, degree), total, threshold.AsSpan(offset, degree), alias.AsSpan(offset, degree), scaled, small, large);
            }
            return (threshold, alias);
        }

        private (long[] Offsets, uint[] Threshold, int[] Alias) BuildSecondOrder(CsrGraph graph, long entries)
        {
            var offsets = new long[graph.EdgeCount];
            long position = 0;
            for (long e = 0; e < graph.EdgeCount; e++)
            {
                offsets[e] = position;
                position += graph.Degree(graph.Targets[e]);
            }
            var threshold = new uint[entries];
            var alias = new int[entries];
            // Each source node t fills the tables of its own edges: independent, so nodes are processed in parallel.
            Parallel.For(0, graph.NodeCount, () => new Scratch(), (t, _, scratch) =>
            {
                for (long e = graph.Offsets[t]; e < graph.Offsets[t + 1]; e++)
                {
                    int v = graph.Targets[e];
                    int degree = graph.Degree(v);
                    if (degree == 0)
                        continue;
                    scratch.Ensure(degree);
                    var neighbors = graph.Neighbors(v);
                    var w = graph.NeighborWeights(v);
                    double total = 0;
                    for (int k = 0; k < degree; k++)
                    {
                        scratch.Weights[k] = w[k] * Alpha(t, neighbors[k]);
                        total += scratch.Weights[k];
                    }
                    AliasSampler.Build(scratch.Weights.AsSpan(0, degree), total, threshold.AsSpan((int)offsets[e], degree), alias.AsSpan((int)offsets[e], degree),
                        scratch.Scaled, scratch.Small, scratch.Large);
                }
                return scratch;
            }, _ => { });
            return (offsets, threshold, alias);
        }

        private sealed class Scratch
        {
            public double[] Weights = Array.Empty<double>();
            public double[] Scaled = Array.Empty<double>();
            public int[] Small = Array.Empty<int>();
            public int[] Large = Array.Empty<int>();

            public void Ensure(int size)
            {
                if (Weights.Length >= size)
                    return;
                Weights = new double[size];
                Scaled = new double[size];
                Small = new int[size];
                Large = new int[size];
            }
        }
    }
}
