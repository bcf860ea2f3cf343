using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Embeddings.Graph;
using Embeddings.SkipGram;

namespace Embeddings.Partitioned
{
    /// <summary>
    /// Partitioned skip-gram over graph walks (docs/partitioned-training.md): the token source of a
    /// <see cref="PartitionedSkipGramRun"/>. A counting pass over the walks gives the vocabulary; then, episode by episode,
    /// the walks are drawn again from (seed, walk index) and handed to the run, which writes their pairs to the bucket
    /// files and trains the buckets. Walks are never stored.
    /// </summary>
    internal static class PartitionedGraphTraining
    {
        private const int WalksPerItem = 256;
        private const ulong WalkStreamBase = 0x2_0000_0000UL;
        private const ulong PairStreamBase = 0x5_0000_0000UL;

        /// <summary>The checks of <see cref="GraphEmbeddingOptions.Partitioning"/> that need no data (at estimator construction).</summary>
        public static void Validate(GraphEmbeddingOptions o, string component)
        {
            if (o.Partitioning is null)
                return;
            PartitionedTraining.Validate(o.Partitioning, component);
            if (o.Bipartite)
                throw new NotSupportedException($"{component}: partitioned training does not support Bipartite = true yet; train the bipartite graph in memory (Partitioning = null).");
        }

        /// <summary>
        /// Runs (or resumes, or reopens) the partitioned training of <paramref name="graph"/> and returns what
        /// <see cref="GraphEmbeddingTraining.Train(GraphBuilder, GraphEmbeddingOptions, double, double, SecondOrderSampling, int, string, Action{string}, bool, CancellationToken)"/>
        /// returns: the (memory-mapped) table of all nodes, which is also the source and target table (bipartite graphs are refused), the context table, and the summary.
        /// </summary>
        public static (EmbeddingTable All, EmbeddingTable Source, EmbeddingTable Target, EmbeddingTable? Context, GraphEmbeddingSummary Summary) Train(
            GraphBuilder builder, CsrGraph graph, long merged, long dropped, int partitions, GraphEmbeddingOptions o, double p, double q, SecondOrderSampling sampling, int seed,
            int threads, bool keepContext, string component, Action<string>? log, CancellationToken cancellation)
        {
            Validate(o, component);
            var settings = Settings(o, seed, threads, log, cancellation);
            var run = new Run(graph, o, o.Partitioning!, settings, partitions, p, q, sampling, keepContext, component);
            var result = run.Execute();
            var training = new SkipGramTrainingSummary(result.Vectors.Count, run.WalkCount, result.SkippedSequences, result.TokensPerEpoch, o.Epochs, result.Loss,
                result.TokensPerEpoch * (double)o.Epochs / result.TrainingTime.TotalSeconds, result.TrainingTime)
            {
                ItemCounts = result.ItemCounts,
                Partitioned = result.Summary,
            };
            var summary = new GraphEmbeddingSummary(graph.NodeCount, graph.EdgeCount, builder.RowsRead, merged, dropped, run.WalkCount, run.Steps, run.Sampling,
                run.CountTime + result.PairTime, training)
            {
                Partitioned = result.Summary,
            };
            return (result.Vectors, result.Vectors, result.Vectors, result.Context, summary);
        }

        /// <summary>
        /// The pairs of a cluster job over the walks of a graph (Embeddings.Cluster's graph job): builds the graph from
        /// <paramref name="writeEdges"/>, counts the walks' node visits (the vocabulary, most visited first), and writes
        /// the pairs of each episode of the first epoch into bucket files in <paramref name="scratch"/>'s folder, exactly
        /// as partitioned training with the same settings writes them, handing each episode to
        /// <paramref name="episodeWritten"/> before the next replaces it (<paramref name="vocabularyReady"/>, with the
        /// vocabulary size and the episodes per epoch, comes first).
        /// </summary>
        public static (PairExport Export, CsrGraph Graph, long Walks) ExportPairs(Action<IEdgeWriter> writeEdges, GraphEmbeddingOptions o, double p, double q,
            SecondOrderSampling sampling, int seed, int partitions, int threads, PartitionedTrainingOptions scratch, string component, Action<string>? log,
            Action<int, int> vocabularyReady, Action<int, long[], PartitionDirectory> episodeWritten, CancellationToken cancellation)
        {
            var builder = new GraphBuilder(o.Directed, o.Bipartite, o.KeepSelfLoops, o.InvalidWeights);
            writeEdges(builder);
            var graph = builder.Build(out _);
            long dropped = builder.DroppedInvalidWeights + builder.DroppedSelfLoops + builder.DroppedMissingNodes;
            if (graph.EdgeCount == 0)
                throw new InvalidOperationException($"{component}: the graph has no edges ({builder.RowsRead:N0} rows read, {dropped:N0} dropped); there is nothing to walk.");
            var run = new Run(graph, o, scratch, Settings(o, seed, threads, log, cancellation), partitions, p, q, sampling, keepContext: false, component);
            var export = run.ExportPairs(vocabularyReady, episodeWritten);
            return (export, graph, run.WalkCount);
        }

        /// <summary>
        /// A pair source over the walks of <paramref name="graph"/> (Embeddings.Cluster's graph jobs whose workers write the
        /// pairs): <see cref="PartitionedSkipGramRun.CountVocabulary"/> on the submitter, then
        /// <see cref="PartitionedSkipGramRun.WriteEpisodePairs"/> on any worker that has the same graph, settings and the
        /// vocabulary file in its own <paramref name="scratch"/> folder. The files it writes are those that partitioned
        /// training with the same settings trains from, whatever the thread count.
        /// </summary>
        public static PartitionedSkipGramRun PairSource(CsrGraph graph, GraphEmbeddingOptions o, double p, double q, SecondOrderSampling sampling, int seed, int partitions,
            int threads, PartitionedTrainingOptions scratch, string component, Action<string>? log, CancellationToken cancellation) =>
            new Run(graph, o, scratch, Settings(o, seed, threads, log, cancellation), partitions, p, q, sampling, keepContext: false, component);

        private static SkipGramTrainingSettings Settings(GraphEmbeddingOptions o, int seed, int threads, Action<string>? log, CancellationToken cancellation) => new()
        {
            Dimension = o.EmbeddingDimension,
            WindowSize = o.WindowSize,
            WholeSequenceContext = false,
            Cbow = false,
            NegativeSampleCount = o.NegativeSampleCount,
            HierarchicalSoftmax = false,
            NegativeSamplingExponent = 0.75,
            SamplingThreshold = o.SamplingThreshold,
            Epochs = o.Epochs,
            LearningRate = o.LearningRate,
            NumberOfThreads = threads,
            Seed = seed,
            Progress = o.Progress,
            Log = log,
            CancellationToken = cancellation,
        };

        /// <summary>A bijection of [0, n) drawn from a key (a Feistel network on the next even power of two, cycle-walked into range): the start order of one round of walks, in O(1) memory.</summary>
        internal readonly struct StartOrder
        {
            private readonly uint _n;
            private readonly int _halfBits;
            private readonly uint _halfMask;
            private readonly ulong _key;

            public StartOrder(int n, ulong key)
            {
                _n = (uint)n;
                int bits = Math.Max(2, 32 - int.LeadingZeroCount(Math.Max(1, n - 1)));
                bits += bits & 1;
                _halfBits = bits / 2;
                _halfMask = (1u << _halfBits) - 1;
                _key = key;
            }

            public int this[int index]
            {
                get
                {
                    uint x = (uint)index;
                    do
                    {
                        x = Permute(x);
                    }
                    while (x >= _n);
                    return (int)x;
                }
            }

            private uint Permute(uint x)
            {
                uint left = x >> _halfBits, right = x & _halfMask;
                for (uint round = 0; round < 4; round++)
                {
                    ulong h = (right + 1) * 0x9E3779B97F4A7C15UL ^ (_key + round * 0xBF58476D1CE4E5B9UL);
                    h ^= h >> 29;
                    h *= 0x94D049BB133111EBUL;
                    h ^= h >> 32;
                    (left, right) = (right, (left ^ (uint)h) & _halfMask);
                }
                return (left << _halfBits) | right;
            }
        }

        /// <summary>The walks of a graph as the token source of a partitioned run.</summary>
        private sealed class Run : PartitionedSkipGramRun
        {
            private readonly CsrGraph _graph;
            private readonly GraphEmbeddingOptions _o;
            private readonly double _p, _q;
            private readonly SecondOrderSampling _sampling;
            private readonly long _items;
            private readonly RandomWalker _walker;
            private int[] _nodeToVocabulary = null!;

            public Run(CsrGraph graph, GraphEmbeddingOptions o, PartitionedTrainingOptions partitioning, SkipGramTrainingSettings settings, int partitions, double p, double q,
                SecondOrderSampling sampling, bool keepContext, string component)
                : base(settings, partitioning, partitions, keepContext, component)
            {
                _graph = graph;
                _o = o;
                _p = p;
                _q = q;
                _sampling = sampling;
                WalkCount = (long)graph.NodeCount * o.WalksPerNode;
                _items = (WalkCount + WalksPerItem - 1) / WalksPerItem;
                _walker = new RandomWalker(graph, p, q, sampling);
            }

            public long WalkCount { get; }

            /// <summary>Walk steps counted by the counting pass (0 when a run was resumed: the pass does not run again).</summary>
            public long Steps { get; private set; }

            public TimeSpan CountTime { get; private set; }

            public string Sampling => _walker.Sampling;

            protected override long ItemCount => _items;

            protected override int MaxSequenceLength => _o.WalkLength;

            protected override long ResidentItems => _graph.NodeCount;

            protected override string ItemNoun => "nodes";

            protected override void AddSourceSettings(SortedDictionary<string, string> settings)
            {
                string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
                settings["MinCount"] = _o.MinCount.ToString(CultureInfo.InvariantCulture);
                settings["WalkLength"] = _o.WalkLength.ToString(CultureInfo.InvariantCulture);
                settings["WalksPerNode"] = _o.WalksPerNode.ToString(CultureInfo.InvariantCulture);
                settings["ReturnParameter"] = F(_p);
                settings["InOutParameter"] = F(_q);
                settings["SecondOrderSampling"] = _sampling.ToString();
                settings["Graph"] = GraphFingerprint();
            }

            private string GraphFingerprint()
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                Span<byte> scratch = stackalloc byte[16];
                BitConverter.TryWriteBytes(scratch, _graph.NodeCount);
                BitConverter.TryWriteBytes(scratch.Slice(4), _graph.EdgeCount);
                scratch[12] = (byte)((_graph.Directed ? 1 : 0) | (_graph.Weighted ? 2 : 0));
                hash.AppendData(scratch.Slice(0, 13));
                foreach (string key in _graph.NodeKeys)
                {
                    hash.AppendData(Encoding.UTF8.GetBytes(key));
                    hash.AppendData(scratch.Slice(15, 1));
                }
                hash.AppendData(MemoryMarshal.AsBytes(_graph.Offsets.AsSpan()));
                hash.AppendData(MemoryMarshal.AsBytes(_graph.Targets.AsSpan()));
                if (_graph.Weighted)
                    hash.AppendData(MemoryMarshal.AsBytes(_graph.Weights.AsSpan()));
                return string.Create(CultureInfo.InvariantCulture, $"{_graph.NodeCount} nodes, {_graph.EdgeCount} stored edges, sha256 {Convert.ToHexString(hash.GetHashAndReset())}");
            }

            /// <summary>Walks every walk once and counts node visits; selects the vocabulary (MinCount), most visited first (ties by node index).</summary>
            protected override (Vocabulary Vocabulary, long[] ItemTokens) CreateVocabulary()
            {
                var watch = Stopwatch.StartNew();
                int n = _graph.NodeCount;
                var perThread = new long[Threads][];
                var itemTokens = new long[_items];
                long steps = 0;
                RunWorkers(Threads, 0, _items, (thread, item) =>
                {
                    var counts = perThread[thread] ??= new long[n];
                    var walk = WalkBuffer();
                    long tokens = 0;
                    long end = Math.Min(WalkCount, (item + 1) * WalksPerItem);
                    for (long w = item * WalksPerItem; w < end; w++)
                    {
                        int length = Walk(w, walk);
                        for (int k = 0; k < length; k++)
                            counts[walk[k]]++;
                        tokens += length;
                    }
                    itemTokens[item] = tokens;
                    Interlocked.Add(ref steps, tokens - (end - item * WalksPerItem));
                });
                var total = new long[n];
                foreach (var counts in perThread)
                {
                    if (counts is null)
                        continue;
                    for (int v = 0; v < n; v++)
                        total[v] += counts[v];
                }
                var order = Enumerable.Range(0, n).Where(v => total[v] >= _o.MinCount).OrderByDescending(v => total[v]).ThenBy(v => v).ToArray();
                if (order.Length == 0)
                    throw new InvalidOperationException($"{Component}: no node is visited MinCount = {_o.MinCount} times by the walks; lower MinCount.");
                var vocabularyCounts = order.Select(v => total[v]).ToArray();
                Steps = steps;
                CountTime += watch.Elapsed;
                Log(string.Create(CultureInfo.InvariantCulture,
                    $"partitioned: counting pass: {WalkCount:N0} walks, {steps:N0} steps in {watch.Elapsed.TotalSeconds:F1} s; {order.Length:N0} nodes in the vocabulary"));
                Directory.WriteVocabulary(n, order, vocabularyCounts, itemTokens);
                return (MapNodes(order, vocabularyCounts), itemTokens);
            }

            protected override (Vocabulary Vocabulary, long[] ItemTokens) OpenVocabulary(PartitionManifest manifest)
            {
                var (nodes, counts, itemTokens) = Directory.ReadVocabulary(_graph.NodeCount, manifest.VocabularySize, (int)_items, Component);
                return (MapNodes(nodes, counts), itemTokens);
            }

            private Vocabulary MapNodes(int[] nodes, long[] counts)
            {
                _nodeToVocabulary = new int[_graph.NodeCount];
                Array.Fill(_nodeToVocabulary, -1);
                for (int v = 0; v < nodes.Length; v++)
                    _nodeToVocabulary[nodes[v]] = v;
                return new Vocabulary(nodes.Select(v => _graph.NodeKeys[v]).ToArray(), counts);
            }

            /// <summary>Draws the walks of the item again, each from its own streams, and hands their known nodes to the writer.</summary>
            protected override long ProduceItem(int epoch, long item, PairWriter writer)
            {
                var walk = WalkBuffer();
                long skipped = 0;
                long end = Math.Min(WalkCount, (item + 1) * WalksPerItem);
                for (long w = item * WalksPerItem; w < end; w++)
                {
                    int length = Walk(w, walk);
                    int known = 0;
                    for (int k = 0; k < length; k++)
                    {
                        int v = _nodeToVocabulary[walk[k]];
                        if (v >= 0)
                            walk[known++] = v;
                    }
                    var random = new TrainingRandom((ulong)Settings.Seed, PairStreamBase + (ulong)epoch * (ulong)WalkCount + (ulong)w);
                    if (writer.Add(walk.AsSpan(0, known), ref random) < 2 && known < 2)
                        skipped++;
                }
                return skipped;
            }

            /// <summary>Walk <paramref name="w"/>: round w / nodes starts at node order(round)[w % nodes] and draws from the stream (seed, w).</summary>
            private int Walk(long w, int[] destination)
            {
                int nodes = _graph.NodeCount;
                long round = w / nodes;
                var order = new StartOrder(nodes, (ulong)Settings.Seed * 0x9E3779B97F4A7C15UL + (ulong)round);
                var random = new TrainingRandom((ulong)Settings.Seed, WalkStreamBase + (ulong)w);
                return _walker.Walk(order[(int)(w % nodes)], destination.AsSpan(0, _o.WalkLength), ref random);
            }

            [ThreadStatic]
            private static int[]? t_walk;

            private int[] WalkBuffer() => t_walk is { } b && b.Length >= _o.WalkLength ? b : t_walk = new int[_o.WalkLength];
        }
    }
}
