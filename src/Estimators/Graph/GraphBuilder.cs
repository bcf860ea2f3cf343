using System;
using System.Collections.Generic;
using System.Globalization;

namespace Embeddings.Graph
{
    /// <summary>What to do with an edge whose weight is NaN, infinite, zero or negative.</summary>
    public enum InvalidEdgeWeightHandling
    {
        /// <summary>Throw, naming the row and the value (default).</summary>
        Reject = 0,

        /// <summary>Drop the edge and count it in the graph summary.</summary>
        Drop = 1,
    }

    /// <summary>
    /// Collects edges (node keys and weights) and freezes them into a <see cref="CsrGraph"/>: duplicate edges merge
    /// with their weights added, self-loops are kept or dropped, neighbour lists are sorted.
    /// </summary>
    internal sealed class GraphBuilder : IEdgeWriter
    {
        private readonly bool _directed;
        private readonly bool _bipartite;
        private readonly bool _keepSelfLoops;
        private readonly InvalidEdgeWeightHandling _invalidWeights;
        private readonly Dictionary<string, int>[] _ids;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>>[] _spanIds;
        private readonly List<string> _keys = new();
        private readonly List<byte> _domains = new();
        private long[] _edges = new long[1024];
        private float[] _weights = new float[1024];
        private long _count;

        public GraphBuilder(bool directed, bool bipartite, bool keepSelfLoops, InvalidEdgeWeightHandling invalidWeights)
        {
            _directed = directed;
            _bipartite = bipartite;
            _keepSelfLoops = keepSelfLoops;
            _invalidWeights = invalidWeights;
            _ids = new[] { new Dictionary<string, int>(StringComparer.Ordinal), new Dictionary<string, int>(StringComparer.Ordinal) };
            _spanIds = new[] { _ids[0].GetAlternateLookup<ReadOnlySpan<char>>(), _ids[1].GetAlternateLookup<ReadOnlySpan<char>>() };
        }

        public long RowsRead { get; private set; }

        public long DroppedInvalidWeights { get; private set; }

        public long DroppedSelfLoops { get; private set; }

        public long DroppedMissingNodes { get; private set; }

        /// <summary>The node of <paramref name="key"/> in the source (<paramref name="domain"/> 0) or target (1) domain; created if new.</summary>
        public int Node(ReadOnlySpan<char> key, int domain)
        {
            int d = _bipartite ? domain : 0;
            if (_spanIds[d].TryGetValue(key, out int id))
                return id;
            id = _keys.Count;
            string text = key.ToString();
            _ids[d].Add(text, id);
            _keys.Add(text);
            _domains.Add((byte)d);
            return id;
        }

        /// <inheritdoc/>
        void IEdgeWriter.AddEdge(ReadOnlySpan<char> source, ReadOnlySpan<char> target, double weight) => AddEdge(RowsRead, source, target, weight, "weight");

        /// <summary>Adds the edge of input row <paramref name="row"/>; <paramref name="source"/> or <paramref name="target"/> empty means a missing node (the row is dropped and counted).</summary>
        public void AddEdge(long row, ReadOnlySpan<char> source, ReadOnlySpan<char> target, double weight, string weightColumn)
        {
            RowsRead++;
            if (!(weight > 0) || double.IsInfinity(weight) || weight > float.MaxValue)
            {
                if (_invalidWeights == InvalidEdgeWeightHandling.Drop)
                {
                    DroppedInvalidWeights++;
                    return;
                }
                throw new InvalidOperationException(
                    $"Edge row {row} ({source.ToString()} -> {target.ToString()}) has weight {weight.ToString(CultureInfo.InvariantCulture)} in column '{weightColumn}'; " +
                    "weights must be positive and finite. Fix or filter the rows, or set InvalidWeights = InvalidEdgeWeightHandling.Drop to drop and count them.");
            }
            if (source.IsEmpty || target.IsEmpty)
            {
                DroppedMissingNodes++;
                return;
            }
            int s = Node(source, 0);
            int t = Node(target, 1);
            if (s == t)
            {
                if (!_keepSelfLoops)
                {
                    DroppedSelfLoops++;
                    return;
                }
                Append(s, t, (float)weight);
                return;
            }
            Append(s, t, (float)weight);
            if (!_directed)
                Append(t, s, (float)weight);
        }

        private void Append(int source, int target, float weight)
        {
            if (_count == _edges.Length)
            {
                long size = Math.Min((long)_edges.Length * 2, Array.MaxLength);
                if (size == _count)
                    throw new NotSupportedException($"The graph has more than {Array.MaxLength:N0} stored edges, more than this builder holds.");
                Array.Resize(ref _edges, (int)size);
                Array.Resize(ref _weights, (int)size);
            }
            _edges[_count] = ((long)source << 32) | (uint)target;
            _weights[_count] = weight;
            _count++;
        }

        /// <summary>Sorts, merges duplicates (weights add) and freezes the graph. The builder is empty afterwards.</summary>
        public CsrGraph Build(out long mergedDuplicates)
        {
            int n = _keys.Count;
            int count = (int)_count;
            Array.Sort(_edges, _weights, 0, count);
            int write = 0;
            mergedDuplicates = 0;
            for (int read = 0; read < count; read++)
            {
                if (write > 0 && _edges[write - 1] == _edges[read])
                {
                    _weights[write - 1] += _weights[read];
                    mergedDuplicates++;
                    continue;
                }
                _edges[write] = _edges[read];
                _weights[write] = _weights[read];
                write++;
            }
            if (!_directed)
                mergedDuplicates /= 2; // each undirected duplicate merged in both directions (self-loops: once)
            var offsets = new long[n + 1];
            var targets = new int[write];
            var weights = new float[write];
            bool weighted = false;
            for (int e = 0; e < write; e++)
            {
                int source = (int)(_edges[e] >> 32);
                offsets[source + 1]++;
                targets[e] = (int)(uint)_edges[e];
                weights[e] = _weights[e];
                weighted |= weights[e] != 1f;
            }
            for (int v = 0; v < n; v++)
                offsets[v + 1] += offsets[v];
            _edges = Array.Empty<long>();
            _weights = Array.Empty<float>();
            _count = 0;
            return new CsrGraph(_keys.ToArray(), _domains.ToArray(), offsets, targets, weights, _directed, weighted);
        }
    }
}
