using System;
using Embeddings.Infrastructure;

namespace Embeddings.Graph
{
    /// <summary>
    /// An immutable graph in compressed sparse row form: node <c>v</c>'s out-neighbours are
    /// <c>Targets[Offsets[v] .. Offsets[v + 1])</c>, sorted ascending, with their weights. Offsets are <see cref="long"/>;
    /// an undirected edge is stored in both directions. Built by <see cref="GraphBuilder"/>.
    /// </summary>
    internal sealed class CsrGraph
    {
        public CsrGraph(string[] nodeKeys, byte[] nodeDomains, long[] offsets, int[] targets, float[] weights, bool directed, bool weighted)
        {
            NodeKeys = nodeKeys;
            NodeDomains = nodeDomains;
            Offsets = offsets;
            Targets = targets;
            Weights = weights;
            Directed = directed;
            Weighted = weighted;
        }

        /// <summary>The key of each node (its id in the input data, as text).</summary>
        public string[] NodeKeys { get; }

        /// <summary>The domain of each node: 0 for the source column's domain, 1 for the target column's (bipartite graphs only).</summary>
        public byte[] NodeDomains { get; }

        public long[] Offsets { get; }

        public int[] Targets { get; }

        public float[] Weights { get; }

        public bool Directed { get; }

        /// <summary>False when every weight is 1 (walks then sample neighbours uniformly).</summary>
        public bool Weighted { get; }

        public int NodeCount => NodeKeys.Length;

        /// <summary>Stored (directed) edges: twice the undirected edges, self-loops once.</summary>
        public long EdgeCount => Offsets[^1];

        public int Degree(int node) => (int)(Offsets[node + 1] - Offsets[node]);

        public ReadOnlySpan<int> Neighbors(int node) => Targets.AsSpan((int)Offsets[node], Degree(node));

        public ReadOnlySpan<float> NeighborWeights(int node) => Weights.AsSpan((int)Offsets[node], Degree(node));

        /// <summary>True when the edge <paramref name="from"/> -> <paramref name="to"/> exists (binary search of the sorted list).</summary>
        public bool HasEdge(int from, int to) => Neighbors(from).BinarySearch(to) >= 0;

        /// <summary>Sum over edges (t, v) of deg(v): the entries of per-edge second-order alias tables.</summary>
        public long SecondOrderTableEntries()
        {
            long total = 0;
            for (int v = 0; v < NodeCount; v++)
            {
                long outDegree = Degree(v);
                // Every edge arriving at v needs a table over v's out-neighbours; in-degree = out-degree when undirected.
                total += outDegree * InDegree(v);
            }
            return total;
        }

        private const int FormatVersion = 1;

        /// <summary>Writes the graph (keys, domains, CSR arrays) for a saved model.</summary>
        public void Write(System.IO.BinaryWriter writer)
        {
            writer.Write(FormatVersion);
            writer.Write(Directed);
            writer.Write(Weighted);
            writer.Write(NodeCount);
            foreach (string key in NodeKeys)
                writer.Write(key);
            writer.Write(NodeDomains);
            writer.Write(Targets.Length);
            foreach (long offset in Offsets)
                writer.Write(offset);
            BinaryState.Write<int>(writer, Targets);
            BinaryState.Write<float>(writer, Weights);
        }

        /// <summary>Reads a graph written by <see cref="Write"/>.</summary>
        public static CsrGraph Read(System.IO.BinaryReader reader)
        {
            int version = reader.ReadInt32();
            if (version != FormatVersion)
                throw new FormatException($"Graph format version {version} is not supported; this library reads version {FormatVersion}.");
            bool directed = reader.ReadBoolean();
            bool weighted = reader.ReadBoolean();
            int nodes = reader.ReadInt32();
            long left = BinaryState.RemainingBytes(reader.BaseStream);
            if (nodes < 0 || (left >= 0 && nodes > left))
                throw new FormatException($"The saved graph declares {nodes} nodes, more than its data holds; the model is damaged.");
            var keys = new string[nodes];
            for (int i = 0; i < nodes; i++)
                keys[i] = reader.ReadString();
            var domains = reader.ReadBytes(nodes);
            int edges = reader.ReadInt32();
            var offsets = BinaryState.ReadArray<long>(reader, nodes + 1L, "graph node offsets");
            var targets = BinaryState.ReadArray<int>(reader, edges, "graph edges");
            var weights = BinaryState.ReadArray<float>(reader, edges, "graph edge weights");
            if (domains.Length != nodes || offsets[nodes] != edges)
                throw new FormatException("The saved graph is inconsistent: its node or edge counts disagree.");
            return new CsrGraph(keys, domains, offsets, targets, weights, directed, weighted);
        }

        private long[]? _inDegrees;

        private long InDegree(int v)
        {
            if (!Directed)
                return Degree(v);
            if (_inDegrees is null)
            {
                var inDegrees = new long[NodeCount];
                foreach (int t in Targets)
                    inDegrees[t]++;
                _inDegrees = inDegrees;
            }
            return _inDegrees[v];
        }
    }
}
