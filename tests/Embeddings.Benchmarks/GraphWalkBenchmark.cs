using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Embeddings.Graph;
using Embeddings.SkipGram;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// node2vec walk generation at scale: a generated power-law (preferential attachment) graph, by default 1,000,000
    /// nodes and 20,000,000 undirected edges; 10 walks of 80 nodes per node with p = 0.25, q = 4 (rejection sampling,
    /// since precomputed tables would need the sum of squared degrees); walks are drawn and counted, not stored.
    /// Prints graph build time, walks/s, steps/s and the process's peak resident memory.
    /// Options: --nodes N --edges-per-node M (20) --walks N (10) --length N (80) --p X --q X --threads N (all cores).
    /// </summary>
    internal static class GraphWalkBenchmark
    {
        public static void Run(string[] args)
        {
            int nodes = Options.Int(args, "--nodes", 1_000_000);
            int perNode = Options.Int(args, "--edges-per-node", 20);
            int walksPerNode = Options.Int(args, "--walks", 10);
            int length = Options.Int(args, "--length", 80);
            double p = double.Parse(Options.String(args, "--p") ?? "0.25", CultureInfo.InvariantCulture);
            double q = double.Parse(Options.String(args, "--q") ?? "4", CultureInfo.InvariantCulture);
            int threads = Options.Int(args, "--threads", Environment.ProcessorCount);

            var watch = Stopwatch.StartNew();
            var graph = PreferentialAttachment(nodes, perNode, seed: 1);
            long maxDegree = 0;
            for (int v = 0; v < graph.NodeCount; v++)
                maxDegree = Math.Max(maxDegree, graph.Degree(v));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"graph: {graph.NodeCount:N0} nodes, {graph.EdgeCount / 2:N0} undirected edges (max degree {maxDegree:N0}; sum of squared degrees {graph.SecondOrderTableEntries():N0}) built in {watch.Elapsed.TotalSeconds:F1} s"));

            watch.Restart();
            var walker = new RandomWalker(graph, p, q, SecondOrderSampling.Auto);
            Console.WriteLine($"walker: {walker.Sampling}, ready in {watch.Elapsed.TotalSeconds:F1} s");

            long walks = (long)nodes * walksPerNode;
            long steps = 0;
            long next = 0;
            watch.Restart();
            var workers = new Thread[threads];
            for (int t = 0; t < threads; t++)
            {
                workers[t] = new Thread(() =>
                {
                    var buffer = new int[length];
                    long local = 0;
                    while (true)
                    {
                        long first = Interlocked.Add(ref next, 1024) - 1024;
                        if (first >= walks)
                            break;
                        long end = Math.Min(walks, first + 1024);
                        for (long i = first; i < end; i++)
                        {
                            var random = new TrainingRandom(7, (ulong)i);
                            local += walker.Walk((int)(i % nodes), buffer, ref random) - 1;
                        }
                    }
                    Interlocked.Add(ref steps, local);
                });
                workers[t].Start();
            }
            foreach (var worker in workers)
                worker.Join();
            double seconds = watch.Elapsed.TotalSeconds;
            var process = Process.GetCurrentProcess();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"walks: {walks:N0} walks, {steps:N0} steps in {seconds:F1} s on {threads} threads: {walks / seconds:N0} walks/s, {steps / seconds / 1e6:F2}M steps/s (p = {p}, q = {q})"));
            Console.WriteLine($"peak resident memory: {process.PeakWorkingSet64 / (1024.0 * 1024 * 1024):F2} GiB");
        }

        /// <summary>Barabási-Albert: each new node links to <paramref name="perNode"/> earlier nodes chosen in proportion to degree.</summary>
        private static CsrGraph PreferentialAttachment(int nodes, int perNode, int seed)
        {
            var builder = new GraphBuilder(directed: false, bipartite: false, keepSelfLoops: false, InvalidEdgeWeightHandling.Reject);
            var (endpoints, count) = PreferentialAttachmentEdges(nodes, perNode, seed);
            Span<char> a = stackalloc char[12];
            Span<char> b = stackalloc char[12];
            for (long row = 0; row < count / 2; row++)
            {
                int u = endpoints[2 * row], v = endpoints[2 * row + 1];
                builder.AddEdge(row, a.Slice(0, Key(u, a)), b.Slice(0, Key(v, b)), 1, "generated");
            }
            return builder.Build(out _);
        }

        /// <summary>The same edges, in the same order, handed to <paramref name="edge"/> one (u, v) pair at a time.</summary>
        internal static void PreferentialAttachmentEdges(int nodes, int perNode, int seed, Action<int, int> edge)
        {
            var (endpoints, count) = PreferentialAttachmentEdges(nodes, perNode, seed);
            for (long row = 0; row < count / 2; row++)
                edge(endpoints[2 * row], endpoints[2 * row + 1]);
        }

        /// <summary>
        /// The edges of the Barabási-Albert graph of <see cref="PreferentialAttachment"/>, as consecutive (u, v) pairs
        /// (v the new node, u an earlier one drawn in proportion to degree) in the first <c>Count</c> entries; the array is
        /// also the draw's degree list.
        /// </summary>
        internal static (int[] Endpoints, long Count) PreferentialAttachmentEdges(int nodes, int perNode, int seed)
        {
            var endpoints = new int[2L * nodes * perNode];
            long count = 0;
            var random = new TrainingRandom((ulong)seed, 0);
            for (int v = 1; v < nodes; v++)
            {
                int links = Math.Min(v, perNode);
                for (int k = 0; k < links; k++)
                {
                    int u = count == 0 ? 0 : endpoints[(long)(random.NextUInt32() * (ulong)count >> 32)];
                    endpoints[count++] = u;
                    endpoints[count++] = v;
                }
            }
            return (endpoints, count);
        }

        internal static int Key(int node, Span<char> destination)
        {
            node.TryFormat(destination, out int written, default, CultureInfo.InvariantCulture);
            return written;
        }
    }
}
