using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Threading;
using Embeddings.Graph;
using Embeddings.Kernels;
using Embeddings.SkipGram;

namespace Embeddings.Partitioned
{
    /// <summary>
    /// Partitioned skip-gram over graph walks (docs/partitioned-training.md): a counting pass over the walks gives the
    /// vocabulary; then, episode by episode, the walks are drawn again from (seed, walk index), their (input, output)
    /// pairs are written to P x P bucket files, and each bucket is trained with its input and its output partition in
    /// memory, negatives drawn from the output partition (unigram^0.75 restricted to it). Every bucket ends with a
    /// checkpoint: the two partitions it changed are written as new files and the manifest, rewritten atomically, names
    /// them and records the bucket.
    /// </summary>
    internal static class PartitionedGraphTraining
    {
        public const int MaxPartitions = 64;
        private const int WalksPerItem = 256;
        private const int ChunkPairs = 1 << 16;
        private const int MaxGroup = 64;
        private const float MinLearningRateFraction = 1e-4f;
        private const int PerNodeBytes = 32;
        private const ulong WalkStreamBase = 0x2_0000_0000UL;
        private const ulong PairStreamBase = 0x5_0000_0000UL;
        private const ulong NegativeStreamBase = 0x6_0000_0000UL;
        private const ulong InitStreamBase = 0x1_0000_0000UL;

        /// <summary>Called on the training thread after each bucket's checkpoint is committed; tests throw from it to simulate a crash.</summary>
        [ThreadStatic]
        internal static Action<CompletedBucket>? BucketCommitted;

        /// <summary>The checks of <see cref="GraphEmbeddingOptions.Partitioning"/> that need no data (at estimator construction).</summary>
        public static void Validate(GraphEmbeddingOptions o, string component)
        {
            var p = o.Partitioning;
            if (p is null)
                return;
            if (p.Partitions is null && p.ModelMemoryBudgetBytes is null)
                throw new ArgumentException($"{component}: Partitioning is set but neither Partitioning.Partitions nor Partitioning.ModelMemoryBudgetBytes is; set Partitions (1 to {MaxPartitions}) to train partitioned, or a memory budget to partition when the model would exceed it, or leave Partitioning null.", nameof(o.Partitioning));
            if (p.Partitions is int count && (count < 1 || count > MaxPartitions))
                throw new ArgumentOutOfRangeException(nameof(p.Partitions), count, $"{component}: Partitioning.Partitions = {count} is out of range; use 1 to {MaxPartitions}, or null to choose from ModelMemoryBudgetBytes.");
            if (p.ModelMemoryBudgetBytes is long budget && budget < (1L << 20))
                throw new ArgumentOutOfRangeException(nameof(p.ModelMemoryBudgetBytes), budget, $"{component}: Partitioning.ModelMemoryBudgetBytes = {budget:N0} is below 1 MiB; give the bytes the model may take (for example 1.5 GiB = 1610612736), or null for no budget.");
            if (p.EpisodeBytes < (1L << 20))
                throw new ArgumentOutOfRangeException(nameof(p.EpisodeBytes), p.EpisodeBytes, $"{component}: Partitioning.EpisodeBytes = {p.EpisodeBytes:N0} is below 1 MiB; use 1 MiB or more (default 4 GiB).");
            if (string.IsNullOrWhiteSpace(p.Directory))
                throw new ArgumentException($"{component}: Partitioning.Directory is empty; partitioned training keeps its partitions, pair buckets and checkpoints in a folder: name one (empty, or holding an interrupted run to resume).", nameof(p.Directory));
            if (o.Bipartite)
                throw new NotSupportedException($"{component}: partitioned training does not support Bipartite = true yet; train the bipartite graph in memory (Partitioning = null).");
        }

        /// <summary>
        /// The memory the partitioned trainer's model takes with <paramref name="partitions"/> partitions: one input and one
        /// output partition resident, the per-node tables, the pair write buffers, the training chunks and the gradient buffers.
        /// </summary>
        public static long ResidentBytes(long nodes, int partitions, int dimension, int threads)
        {
            long rows = (nodes + partitions - 1) / partitions;
            return 2 * rows * dimension * sizeof(float) + PerNodeBytes * nodes
                + (long)threads * partitions * partitions * BufferPairs(partitions) * 8 + (long)threads * ChunkPairs * 8
                + (long)threads * 2 * MaxGroup * dimension * sizeof(float);
        }

        /// <summary>Pairs buffered per bucket and thread while the pairs of an episode are written.</summary>
        private static int BufferPairs(int partitions) => Math.Clamp((1 << 19) / (partitions * partitions), 1024, 1 << 16);

        /// <summary>
        /// The number of partitions to train with, or null to train in memory: <c>Partitions</c> when set (checked against
        /// the budget), else the fewest that fit <c>ModelMemoryBudgetBytes</c> when the in-memory model (input and output
        /// vectors of every node) would not.
        /// </summary>
        public static int? Choose(PartitionedTrainingOptions? options, int nodes, int dimension, int threads, string component)
        {
            if (options is null)
                return null;
            long? budget = options.ModelMemoryBudgetBytes;
            if (options.Partitions is int fixedCount)
            {
                if (budget is long b && ResidentBytes(nodes, fixedCount, dimension, threads) > b)
                {
                    int? fits = Fitting(nodes, dimension, threads, b);
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"{component}: Partitioning.Partitions = {fixedCount} needs {ResidentBytes(nodes, fixedCount, dimension, threads):N0} bytes for {nodes:N0} nodes of dimension {dimension} ({threads} threads), more than ModelMemoryBudgetBytes = {b:N0}; ") +
                        (fits is int f ? $"use Partitions = {f} or more, or raise the budget." : $"no number of partitions up to {MaxPartitions} fits: raise the budget to at least {ResidentBytes(nodes, MaxPartitions, dimension, threads):N0} bytes or lower EmbeddingDimension."));
                }
                return fixedCount;
            }
            long inMemory = 2L * nodes * dimension * sizeof(float);
            if (budget is not long limit || inMemory <= limit)
                return null;
            return Fitting(nodes, dimension, threads, limit) ?? throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                $"{component}: the model of {nodes:N0} nodes x {dimension} dimensions takes {inMemory:N0} bytes, more than ModelMemoryBudgetBytes = {limit:N0}, and even {MaxPartitions} partitions need {ResidentBytes(nodes, MaxPartitions, dimension, threads):N0}; raise the budget or lower EmbeddingDimension."));
        }

        private static int? Fitting(int nodes, int dimension, int threads, long budget)
        {
            for (int p = 2; p <= MaxPartitions; p++)
            {
                if (ResidentBytes(nodes, p, dimension, threads) <= budget)
                    return p;
            }
            return null;
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
            var run = new Run(graph, o, partitions, p, q, sampling, seed, threads, keepContext, component, log, cancellation);
            var (vectors, context, training, partitioned, walks, steps, walkTime, samplingName) = run.Execute();
            var summary = new GraphEmbeddingSummary(graph.NodeCount, graph.EdgeCount, builder.RowsRead, merged, dropped, walks, steps, samplingName, walkTime, training)
            {
                Partitioned = partitioned,
            };
            return (vectors, vectors, vectors, context, summary);
        }

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

        private sealed class Run
        {
            private readonly CsrGraph _graph;
            private readonly GraphEmbeddingOptions _o;
            private readonly PartitionedTrainingOptions _po;
            private readonly int _partitions;
            private readonly double _p, _q;
            private readonly SecondOrderSampling _sampling;
            private readonly int _seed;
            private readonly int _threads;
            private readonly bool _keepContext;
            private readonly string _component;
            private readonly Action<string>? _log;
            private readonly CancellationToken _cancellation;
            private readonly PartitionDirectory _dir;
            private readonly int _dimension;
            private readonly long _walkCount;
            private readonly long _items;

            private RandomWalker _walker = null!;
            private int[] _nodeToVocabulary = null!;
            private int[] _vocabularyNodes = null!;
            private long[] _counts = null!;
            private long[] _itemTokens = null!;
            private long _tokensPerEpoch;
            private uint[] _keep = null!;
            private AliasSampler[] _samplers = null!;
            private int[] _rows = null!;
            private PartitionManifest _manifest = null!;
            private float[] _input = null!, _output = null!;
            private int _loadedInput = -1, _loadedOutput = -1;
            private long _steps;
            private TimeSpan _walkTime;
            private long _pairsTrained;
            private int _bucketsTrained;

            public Run(CsrGraph graph, GraphEmbeddingOptions o, int partitions, double p, double q, SecondOrderSampling sampling, int seed, int threads, bool keepContext,
                string component, Action<string>? log, CancellationToken cancellation)
            {
                _graph = graph;
                _o = o;
                _po = o.Partitioning!;
                _partitions = partitions;
                _p = p;
                _q = q;
                _sampling = sampling;
                _seed = seed;
                _threads = Math.Max(1, threads);
                _keepContext = keepContext;
                _component = component;
                _log = log;
                _cancellation = cancellation;
                _dir = new PartitionDirectory(_po.Directory!);
                _dimension = o.EmbeddingDimension;
                _walkCount = (long)graph.NodeCount * o.WalksPerNode;
                _items = (_walkCount + WalksPerItem - 1) / WalksPerItem;
            }

            public (EmbeddingTable, EmbeddingTable?, SkipGramTrainingSummary, PartitionedTrainingSummary, long, long, TimeSpan, string) Execute()
            {
                var settings = Settings();
                var existing = _dir.ReadManifest(_component);
                _walker = new RandomWalker(_graph, _p, _q, _sampling);
                int doneBefore;
                if (existing is null)
                {
                    Directory.CreateDirectory(_dir.Path);
                    CountPass();
                    _manifest = new PartitionManifest
                    {
                        Settings = settings,
                        VocabularySize = _vocabularyNodes.Length,
                        EpisodesPerEpoch = EpisodesPerEpoch(),
                        Attempts = 1,
                    };
                    _manifest.SkippedWalks = new long[_manifest.EpisodesPerEpoch];
                    Prepare();
                    _dir.WriteVocabulary(_graph.NodeCount, _vocabularyNodes, _counts, _itemTokens);
                    InitializePartitions();
                    doneBefore = 0;
                }
                else
                {
                    CheckSettings(existing, settings);
                    _manifest = existing;
                    _manifest.Attempts++;
                    (_vocabularyNodes, _counts, _itemTokens) = _dir.ReadVocabulary(_graph.NodeCount, existing.VocabularySize, (int)_items, _component);
                    Prepare();
                    _dir.RemoveUnreferencedMatrices(_manifest);
                    doneBefore = _manifest.Completed.Count;
                    _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                        $"partitioned: resuming '{_dir.Path}' (attempt {_manifest.Attempts}): {doneBefore} of {TotalBuckets()} buckets done{(_manifest.Finished ? ", finished" : "")}"));
                    if (!_manifest.Finished)
                        _dir.WriteManifest(_manifest);
                }

                if (!_manifest.Finished)
                {
                    TrainAll();
                    var watch = Stopwatch.StartNew();
                    WriteResults();
                    _manifest.Finished = true;
                    _manifest.TrainingSeconds += watch.Elapsed.TotalSeconds;
                    _dir.WriteManifest(_manifest);
                    // The result tables hold everything now: the pairs and the partition matrices go.
                    _dir.ClearPairs();
                    _dir.RemoveMatrices();
                }
                var vectors = EmbeddingTable.OpenMemoryMapped(_dir.File(PartitionDirectory.VectorsName));
                EmbeddingTable? context = null;
                if (_keepContext)
                {
                    string contextPath = _dir.File(PartitionDirectory.ContextName);
                    if (!File.Exists(contextPath))
                        throw new InvalidOperationException($"{_component}: the finished run in '{_dir.Path}' has no {PartitionDirectory.ContextName}; it was trained without KeepContextVectors. Train again in a new folder to keep them.");
                    context = EmbeddingTable.OpenMemoryMapped(contextPath);
                }
                double loss = _manifest.LossCount == 0 ? double.NaN : _manifest.LossSum / _manifest.LossCount;
                double seconds = Math.Max(1e-9, _manifest.TrainingSeconds);
                var itemCounts = new long[vectors.Count];
                int r = 0;
                for (int part = 0; part < _partitions; part++)
                {
                    for (int local = 0; local < _rows[part]; local++)
                        itemCounts[r++] = _counts[local * _partitions + part];
                }
                var training = new SkipGramTrainingSummary(vectors.Count, _walkCount, _manifest.SkippedWalks.Sum(), _tokensPerEpoch, _o.Epochs, loss, _tokensPerEpoch * (double)_o.Epochs / seconds, TimeSpan.FromSeconds(seconds))
                {
                    ItemCounts = itemCounts,
                };
                var summary = new PartitionedTrainingSummary(_partitions, _manifest.EpisodesPerEpoch, _bucketsTrained, doneBefore, _manifest.MatrixLoads, _pairsTrained,
                    ResidentBytes(_graph.NodeCount, _partitions, _dimension, _threads), _manifest.Attempts, _dir.Path);
                return (vectors, context, training, summary, _walkCount, _steps, _walkTime, _walker.Sampling);
            }

            private int TotalBuckets() => _o.Epochs * _manifest.EpisodesPerEpoch * _partitions * _partitions;

            private SortedDictionary<string, string> Settings()
            {
                string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
                return new SortedDictionary<string, string>(StringComparer.Ordinal)
                {
                    ["EmbeddingDimension"] = _dimension.ToString(CultureInfo.InvariantCulture),
                    ["Partitions"] = _partitions.ToString(CultureInfo.InvariantCulture),
                    ["WindowSize"] = _o.WindowSize.ToString(CultureInfo.InvariantCulture),
                    ["NegativeSampleCount"] = _o.NegativeSampleCount.ToString(CultureInfo.InvariantCulture),
                    ["SamplingThreshold"] = F(_o.SamplingThreshold),
                    ["Epochs"] = _o.Epochs.ToString(CultureInfo.InvariantCulture),
                    ["LearningRate"] = F(_o.LearningRate),
                    ["MinCount"] = _o.MinCount.ToString(CultureInfo.InvariantCulture),
                    ["WalkLength"] = _o.WalkLength.ToString(CultureInfo.InvariantCulture),
                    ["WalksPerNode"] = _o.WalksPerNode.ToString(CultureInfo.InvariantCulture),
                    ["ReturnParameter"] = F(_p),
                    ["InOutParameter"] = F(_q),
                    ["SecondOrderSampling"] = _sampling.ToString(),
                    ["Seed"] = _seed.ToString(CultureInfo.InvariantCulture),
                    ["KeepContextVectors"] = _keepContext ? "true" : "false",
                    ["EpisodeBytes"] = _po.EpisodeBytes.ToString(CultureInfo.InvariantCulture),
                    ["Graph"] = GraphFingerprint(),
                };
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

            private void CheckSettings(PartitionManifest existing, SortedDictionary<string, string> settings)
            {
                var differences = new List<string>();
                foreach (var (name, value) in settings)
                {
                    if (!existing.Settings.TryGetValue(name, out string? old))
                        differences.Add($"{name} (missing from the folder's run, now {value})");
                    else if (old != value)
                        differences.Add(name == "Graph" ? $"the graph (the folder's run: {old}; now: {value})" : $"{name} = {old} in the folder's run, {value} now");
                }
                foreach (string name in existing.Settings.Keys.Where(k => !settings.ContainsKey(k)))
                    differences.Add($"{name} (only in the folder's run)");
                if (differences.Count > 0)
                {
                    throw new InvalidOperationException($"{_component}: the partition directory '{_dir.Path}' holds a run with other settings, which cannot be resumed: {string.Join("; ", differences)}. " +
                        "Use the same settings (a run without a Seed draws a new one: set Seed to the folder's to resume), or give an empty folder.");
                }
            }

            /// <summary>Walks every walk once and counts node visits; selects the vocabulary (MinCount), most visited first.</summary>
            private void CountPass()
            {
                var watch = Stopwatch.StartNew();
                int n = _graph.NodeCount;
                var perThread = new long[_threads][];
                var itemTokens = new long[_items];
                long steps = 0;
                RunWorkers(_threads, 0, _items, (thread, item) =>
                {
                    var counts = perThread[thread] ??= new long[n];
                    var walk = WalkBuffer(thread);
                    long tokens = 0;
                    long end = Math.Min(_walkCount, (item + 1) * WalksPerItem);
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
                    throw new InvalidOperationException($"{_component}: no node is visited MinCount = {_o.MinCount} times by the walks; lower MinCount.");
                _vocabularyNodes = order;
                _counts = order.Select(v => total[v]).ToArray();
                _itemTokens = itemTokens;
                _steps = steps;
                _walkTime += watch.Elapsed;
                _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"partitioned: counting pass: {_walkCount:N0} walks, {steps:N0} steps in {watch.Elapsed.TotalSeconds:F1} s; {order.Length:N0} nodes in the vocabulary"));
            }

            private int EpisodesPerEpoch()
            {
                long tokens = _itemTokens.Sum();
                double pairs = (double)tokens * (_o.WindowSize + 1);
                long episodes = (long)Math.Ceiling(pairs * 8 / _po.EpisodeBytes);
                return (int)Math.Clamp(episodes, 1, Math.Max(1, _items));
            }

            /// <summary>Tables derived from the vocabulary: node map, partition sizes, subsampling, per-partition negative samplers.</summary>
            private void Prepare()
            {
                _tokensPerEpoch = _itemTokens.Sum();
                int vocabularySize = _vocabularyNodes.Length;
                if (vocabularySize < _partitions)
                    throw new InvalidOperationException($"{_component}: Partitioning.Partitions = {_partitions} is more than the {vocabularySize} nodes that get a vector; use at most {vocabularySize} partitions.");
                _nodeToVocabulary = new int[_graph.NodeCount];
                Array.Fill(_nodeToVocabulary, -1);
                for (int v = 0; v < vocabularySize; v++)
                    _nodeToVocabulary[_vocabularyNodes[v]] = v;
                _rows = new int[_partitions];
                for (int part = 0; part < _partitions; part++)
                    _rows[part] = (vocabularySize - part + _partitions - 1) / _partitions;
                if ((long)_rows[0] * _dimension > Array.MaxLength)
                    throw new NotSupportedException($"{_component}: a partition of {_rows[0]:N0} nodes x {_dimension} dimensions is larger than one array holds; use more partitions (at least {(long)vocabularySize * _dimension / Array.MaxLength + 1}).");
                var vocabulary = new Vocabulary(_vocabularyNodes.Select(v => _graph.NodeKeys[v]).ToArray(), _counts);
                _keep = vocabulary.SubsamplingThresholds(_o.SamplingThreshold);
                _samplers = new AliasSampler[_partitions];
                for (int part = 0; part < _partitions; part++)
                {
                    var weights = new double[_rows[part]];
                    for (int local = 0; local < weights.Length; local++)
                        weights[local] = Math.Pow(_counts[local * _partitions + part], 0.75);
                    _samplers[part] = new AliasSampler(weights);
                }
                _input = new float[(long)_rows[0] * _dimension];
                _output = new float[(long)_rows[0] * _dimension];
            }

            private void InitializePartitions()
            {
                _manifest.InputVersions = new int[_partitions];
                _manifest.OutputVersions = new int[_partitions];
                float scale = 1f / _dimension;
                for (int part = 0; part < _partitions; part++)
                {
                    // Row v starts as the in-memory trainer's row v would: uniform in (-0.5, 0.5) / dimension from (seed, v).
                    for (int local = 0; local < _rows[part]; local++)
                    {
                        var random = new TrainingRandom((ulong)_seed, InitStreamBase + (ulong)(local * _partitions + part));
                        var row = _input.AsSpan(local * _dimension, _dimension);
                        for (int k = 0; k < row.Length; k++)
                            row[k] = (random.NextFloat() - 0.5f) * scale;
                    }
                    _dir.WriteMatrix(_dir.MatrixFile(false, part, 0), false, part, _rows[part], _dimension, _input);
                }
                Array.Clear(_output);
                for (int part = 0; part < _partitions; part++)
                    _dir.WriteMatrix(_dir.MatrixFile(true, part, 0), true, part, _rows[part], _dimension, _output);
                _dir.WriteManifest(_manifest);
            }

            private void TrainAll()
            {
                var done = new HashSet<(int, int, int, int)>(_manifest.Completed.Select(c => (c.Epoch, c.Episode, c.Input, c.Output)));
                int episodes = _manifest.EpisodesPerEpoch;
                var episodeItems = new long[episodes + 1];
                for (int k = 0; k <= episodes; k++)
                    episodeItems[k] = _items * k / episodes;
                long tokensBefore = 0;
                for (int epoch = 0; epoch < _o.Epochs; epoch++)
                {
                    for (int episode = 0; episode < episodes; episode++)
                    {
                        long firstItem = episodeItems[episode], endItem = episodeItems[episode + 1];
                        long episodeTokens = 0;
                        for (long item = firstItem; item < endItem; item++)
                            episodeTokens += _itemTokens[item];
                        long global = (long)epoch * episodes + episode;
                        var order = BucketOrder.For(_partitions, global);
                        if (order.All(b => done.Contains((epoch, episode, b.Input, b.Output))))
                        {
                            tokensBefore += episodeTokens;
                            continue;
                        }
                        _cancellation.ThrowIfCancellationRequested();
                        long[] counts = EnsurePairs(epoch, episode, global, firstItem, endItem);
                        long episodePairs = counts.Sum();
                        long pairsBefore = 0;
                        foreach (var (i, j) in order)
                        {
                            long bucketPairs = counts[i * _partitions + j];
                            if (!done.Contains((epoch, episode, i, j)))
                            {
                                _cancellation.ThrowIfCancellationRequested();
                                TrainBucket(epoch, episode, global, i, j, bucketPairs, pairsBefore, episodePairs, tokensBefore, episodeTokens);
                                done.Add((epoch, episode, i, j));
                            }
                            pairsBefore += bucketPairs;
                        }
                        tokensBefore += episodeTokens;
                    }
                }
            }

            /// <summary>The pair counts of the episode's buckets, writing the bucket files first unless the manifest says they are complete.</summary>
            private long[] EnsurePairs(int epoch, int episode, long global, long firstItem, long endItem)
            {
                if (_manifest.PairsReadyEpisode == global && _manifest.PairsReadyCounts.Length == _partitions * _partitions)
                {
                    bool intact = true;
                    for (int b = 0; b < _manifest.PairsReadyCounts.Length && intact; b++)
                    {
                        var info = new FileInfo(_dir.BucketFile(b / _partitions, b % _partitions));
                        long expected = _manifest.PairsReadyCounts[b] * 8;
                        intact = expected == 0 ? !info.Exists || info.Length == 0 : info.Exists && info.Length == expected;
                    }
                    if (intact)
                        return _manifest.PairsReadyCounts;
                    _log?.Invoke($"partitioned: the pair buckets of episode {episode + 1} are incomplete on disk; writing them again");
                }
                var watch = Stopwatch.StartNew();
                _dir.ClearPairs();
                Directory.CreateDirectory(_dir.PairsPath);
                int buckets = _partitions * _partitions;
                int bufferPairs = BufferPairs(_partitions);
                var locks = Enumerable.Range(0, buckets).Select(_ => new object()).ToArray();
                var counts = new long[buckets];
                long skipped = 0;
                var buffers = new int[_threads][][];
                var fill = new int[_threads][];
                int window = _o.WindowSize;
                RunWorkers(_threads, firstItem, endItem, (thread, item) =>
                {
                    var own = buffers[thread] ??= Enumerable.Range(0, buckets).Select(_ => new int[2 * bufferPairs]).ToArray();
                    var filled = fill[thread] ??= new int[buckets];
                    var walk = WalkBuffer(thread);
                    var kept = KeptBuffer(thread);
                    long end = Math.Min(_walkCount, (item + 1) * WalksPerItem);
                    for (long w = item * WalksPerItem; w < end; w++)
                    {
                        int length = Walk(w, walk);
                        var random = new TrainingRandom((ulong)_seed, PairStreamBase + (ulong)epoch * (ulong)_walkCount + (ulong)w);
                        int n = 0, known = 0;
                        for (int k = 0; k < length; k++)
                        {
                            int v = _nodeToVocabulary[walk[k]];
                            if (v < 0)
                                continue;
                            known++;
                            uint threshold = _keep[v];
                            if (threshold == uint.MaxValue || random.NextUInt32() < threshold)
                                kept[n++] = v;
                        }
                        if (n < 2)
                        {
                            if (known < 2)
                                Interlocked.Increment(ref skipped);
                            continue;
                        }
                        for (int pos = 0; pos < n; pos++)
                        {
                            int reduce = random.Next(window);
                            int lo = Math.Max(0, pos - window + reduce), hi = (int)Math.Min(n, (long)pos + window + 1 - reduce);
                            int target = kept[pos];
                            int targetPartition = target % _partitions, targetLocal = target / _partitions;
                            for (int c = lo; c < hi; c++)
                            {
                                if (c == pos)
                                    continue;
                                int source = kept[c];
                                int b = (source % _partitions) * _partitions + targetPartition;
                                int at = filled[b];
                                var buffer = own[b];
                                buffer[at] = source / _partitions;
                                buffer[at + 1] = targetLocal;
                                filled[b] = at + 2;
                                if (at + 2 == buffer.Length)
                                    Flush(b, buffer, filled, locks, counts);
                            }
                        }
                    }
                });
                for (int t = 0; t < _threads; t++)
                {
                    if (buffers[t] is null)
                        continue;
                    for (int b = 0; b < buckets; b++)
                        Flush(b, buffers[t][b], fill[t], locks, counts);
                }
                _cancellation.ThrowIfCancellationRequested();
                _manifest.PairsReadyEpisode = global;
                _manifest.PairsReadyCounts = counts;
                if (epoch == 0)
                    _manifest.SkippedWalks[episode] = skipped;
                _manifest.TrainingSeconds += watch.Elapsed.TotalSeconds;
                _dir.WriteManifest(_manifest);
                _walkTime += watch.Elapsed;
                _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"partitioned: epoch {epoch + 1} episode {episode + 1}/{_manifest.EpisodesPerEpoch}: {counts.Sum():N0} pairs written to {buckets} buckets in {watch.Elapsed.TotalSeconds:F1} s"));
                return counts;
            }

            private void Flush(int bucket, int[] buffer, int[] filled, object[] locks, long[] counts)
            {
                int ints = filled[bucket];
                if (ints == 0)
                    return;
                lock (locks[bucket])
                {
                    using var stream = new FileStream(_dir.BucketFile(bucket / _partitions, bucket % _partitions), FileMode.Append, FileAccess.Write, FileShare.None, 1);
                    stream.Write(MemoryMarshal.AsBytes(buffer.AsSpan(0, ints)));
                    counts[bucket] += ints / 2;
                }
                filled[bucket] = 0;
            }

            private void EnsureLoaded(int input, int output)
            {
                if (_loadedInput != input)
                {
                    _loadedInput = -1;
                    _dir.ReadMatrix(_dir.MatrixFile(false, input, _manifest.InputVersions[input]), false, input, _rows[input], _dimension, _input, _component);
                    _loadedInput = input;
                    _manifest.MatrixLoads++;
                }
                if (_loadedOutput != output)
                {
                    _loadedOutput = -1;
                    _dir.ReadMatrix(_dir.MatrixFile(true, output, _manifest.OutputVersions[output]), true, output, _rows[output], _dimension, _output, _component);
                    _loadedOutput = output;
                    _manifest.MatrixLoads++;
                }
            }

            private void TrainBucket(int epoch, int episode, long global, int i, int j, long pairs, long pairsBefore, long episodePairs, long tokensBefore, long episodeTokens)
            {
                var watch = Stopwatch.StartNew();
                EnsureLoaded(i, j);
                double lossSum = 0;
                long lossCount = 0;
                bool diverged = false;
                if (pairs > 0)
                {
                    using var handle = File.OpenHandle(_dir.BucketFile(i, j), FileMode.Open, FileAccess.Read, FileShare.Read);
                    long chunks = (pairs + ChunkPairs - 1) / ChunkPairs;
                    var sampler = _samplers[j];
                    int d = _dimension, negatives = _o.NegativeSampleCount;
                    int outputRows = _rows[j];
                    int inputRows = _rows[i];
                    double totalTokens = (double)_tokensPerEpoch * _o.Epochs;
                    var statsLock = new object();
                    ulong bucketStream = NegativeStreamBase + ((((ulong)global * (ulong)_partitions + (ulong)i) * (ulong)_partitions + (ulong)j) << 24);
                    RunWorkers(_threads, 0, chunks, (thread, chunk) =>
                    {
                        var pairsBuffer = PairBuffer(thread);
                        long first = chunk * ChunkPairs;
                        int count = (int)Math.Min(ChunkPairs, pairs - first);
                        var bytes = MemoryMarshal.AsBytes(pairsBuffer.AsSpan(0, 2 * count));
                        int read = RandomAccess.Read(handle, bytes, first * 8);
                        if (read != bytes.Length)
                            throw new InvalidOperationException($"{_component}: the pair bucket '{_dir.BucketFile(i, j)}' is shorter than its manifest says; the partition directory is damaged. Delete it to start again.");
                        var random = new TrainingRandom((ulong)_seed, bucketStream + (ulong)chunk);
                        var scratch = GroupScratch(thread, d, negatives + 1);
                        double localLoss = 0;
                        long localCount = 0;
                        for (int k = 0; k < count;)
                        {
                            // Every bucket of an episode sweeps the episode's stretch of the schedule, as if the buckets ran side by side:
                            // each partition then learns at the same rates, whatever its place in the bucket order.
                            double progress = tokensBefore + (double)episodeTokens * (first + k) / pairs;
                            float alpha = _o.LearningRate * (float)Math.Max(1 - progress / totalTokens, MinLearningRateFraction);
                            int b = pairsBuffer[2 * k + 1];
                            int m = 1;
                            while (k + m < count && m < MaxGroup && pairsBuffer[2 * (k + m) + 1] == b)
                                m++;
                            for (int g = k; g < k + m; g++)
                            {
                                if ((uint)pairsBuffer[2 * g] >= (uint)inputRows || (uint)b >= (uint)outputRows)
                                    throw new InvalidOperationException($"{_component}: the pair bucket '{_dir.BucketFile(i, j)}' holds a pair ({pairsBuffer[2 * g]}, {b}) outside its partitions ({inputRows} and {outputRows} rows); the partition directory is damaged. Delete it to start again.");
                            }
                            if (!GroupStep(pairsBuffer.AsSpan(2 * k, 2 * m), b, sampler, negatives, alpha, scratch, ref random, ref localLoss, ref localCount))
                            {
                                diverged = true;
                                return;
                            }
                            k += m;
                        }
                        lock (statsLock)
                        {
                            lossSum += localLoss;
                            lossCount += localCount;
                        }
                    });
                }
                if (diverged || double.IsNaN(lossSum) || !VectorMath.AllFinite(_input.AsSpan(0, _rows[i] * _dimension)) || !VectorMath.AllFinite(_output.AsSpan(0, _rows[j] * _dimension)))
                    throw new InvalidOperationException($"{_component}: training diverged (a score became NaN or infinite) in bucket ({i}, {j}) of epoch {epoch + 1}; lower LearningRate (now {_o.LearningRate}).");

                // Checkpoint: new files for the two partitions, then the manifest that names them (the commit), then the old files go.
                int oldInput = _manifest.InputVersions[i], oldOutput = _manifest.OutputVersions[j];
                _dir.WriteMatrix(_dir.MatrixFile(false, i, oldInput + 1), false, i, _rows[i], _dimension, _input);
                _dir.WriteMatrix(_dir.MatrixFile(true, j, oldOutput + 1), true, j, _rows[j], _dimension, _output);
                _manifest.InputVersions[i] = oldInput + 1;
                _manifest.OutputVersions[j] = oldOutput + 1;
                var completed = new CompletedBucket(epoch, episode, i, j, _manifest.Attempts, pairs);
                _manifest.Completed.Add(completed);
                _manifest.LossSum += lossSum;
                _manifest.LossCount += lossCount;
                _manifest.TrainingSeconds += watch.Elapsed.TotalSeconds;
                _dir.WriteManifest(_manifest);
                File.Delete(_dir.MatrixFile(false, i, oldInput));
                File.Delete(_dir.MatrixFile(true, j, oldOutput));
                _pairsTrained += pairs;
                _bucketsTrained++;
                ReportProgress(tokensBefore + (double)episodeTokens * (pairsBefore + pairs) / Math.Max(1, episodePairs));
                _log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"partitioned: epoch {epoch + 1} episode {episode + 1} bucket ({i}, {j}): {pairs:N0} pairs in {watch.Elapsed.TotalSeconds:F2} s, loss {(lossCount == 0 ? double.NaN : lossSum / lossCount):F4}; {_manifest.Completed.Count}/{TotalBuckets()} buckets, {_manifest.MatrixLoads} matrix loads"));
                BucketCommitted?.Invoke(completed);
            }

            private void ReportProgress(double tokens)
            {
                if (_o.Progress is null)
                    return;
                double total = (double)_tokensPerEpoch * _o.Epochs;
                double seconds = Math.Max(1e-9, _manifest.TrainingSeconds);
                int epoch = (int)Math.Clamp(Math.Ceiling(tokens / Math.Max(1, _tokensPerEpoch)), 1, _o.Epochs);
                float lr = _o.LearningRate * (float)Math.Max(1 - tokens / total, MinLearningRateFraction);
                double loss = _manifest.LossCount == 0 ? double.NaN : _manifest.LossSum / _manifest.LossCount;
                _o.Progress.Report(new SkipGramProgress(epoch, _o.Epochs, (long)tokens, (long)total, tokens / seconds, lr, loss));
            }

            /// <summary>
            /// The consecutive pairs of a bucket that share their output item (the contexts of one walk position that fall in
            /// the bucket's input partition) trained together, as the in-memory skip-gram trainer trains a centre item: the
            /// negatives are drawn once from the output partition and shared, every score comes from one snapshot of the
            /// rows, and the accumulated gradients are applied once per row.
            /// </summary>
            private bool GroupStep(ReadOnlySpan<int> group, int target, AliasSampler sampler, int negatives, float alpha, Scratch scratch, ref TrainingRandom random,
                ref double lossSum, ref long lossCount)
            {
                int d = _dimension;
                int m = group.Length / 2;
                Span<int> targets = scratch.Targets;
                int t = 0;
                targets[t++] = target;
                for (int k = 0; k < negatives; k++)
                {
                    int sample = sampler.Sample(ref random);
                    if (sample != target)
                        targets[t++] = sample;
                }
                Span<float> scores = scratch.Scores;
                for (int i = 0; i < m; i++)
                {
                    ReadOnlySpan<float> l1 = _input.AsSpan(group[2 * i] * d, d);
                    for (int k = 0; k < t; k++)
                    {
                        float f = VectorMath.Dot(l1, _output.AsSpan(targets[k] * d, d));
                        if (float.IsNaN(f))
                            return false;
                        float label = k == 0 ? 1 : 0;
                        scores[i * t + k] = f > SigmoidTable.MaxExp ? (label - 1) * alpha : f < -SigmoidTable.MaxExp ? label * alpha : (label - SigmoidTable.Sigmoid(f)) * alpha;
                        lossSum += SigmoidTable.LogLoss(f, k == 0);
                    }
                }
                lossCount += m * t;
                Span<float> inputGradients = scratch.InputGradients.AsSpan(0, m * d);
                Span<float> outputGradients = scratch.OutputGradients.AsSpan(0, t * d);
                inputGradients.Clear();
                outputGradients.Clear();
                for (int i = 0; i < m; i++)
                {
                    ReadOnlySpan<float> l1 = _input.AsSpan(group[2 * i] * d, d);
                    Span<float> e1 = inputGradients.Slice(i * d, d);
                    for (int k = 0; k < t; k++)
                    {
                        float g = scores[i * t + k];
                        if (g != 0)
                            VectorMath.AccumulateBoth(l1, _output.AsSpan(targets[k] * d, d), e1, outputGradients.Slice(k * d, d), g);
                    }
                }
                for (int i = 0; i < m; i++)
                    VectorMath.Add(inputGradients.Slice(i * d, d), _input.AsSpan(group[2 * i] * d, d));
                for (int k = 0; k < t; k++)
                    VectorMath.Add(outputGradients.Slice(k * d, d), _output.AsSpan(targets[k] * d, d));
                return true;
            }

            /// <summary>Buffers of one training thread for <see cref="GroupStep"/>.</summary>
            private sealed class Scratch(int dimension, int targets)
            {
                public int Dimension { get; } = dimension;
                public int[] Targets { get; } = new int[targets];
                public float[] Scores { get; } = new float[MaxGroup * targets];
                public float[] InputGradients { get; } = new float[MaxGroup * dimension];
                public float[] OutputGradients { get; } = new float[targets * dimension];
            }

            /// <summary>The result tables: rows in partition order (partition 0's nodes, then partition 1's, ...), each written from its partition file.</summary>
            private void WriteResults()
            {
                var keys = new string[_vocabularyNodes.Length];
                var starts = new int[_partitions + 1];
                for (int part = 0; part < _partitions; part++)
                {
                    starts[part + 1] = starts[part] + _rows[part];
                    for (int local = 0; local < _rows[part]; local++)
                        keys[starts[part] + local] = _graph.NodeKeys[_vocabularyNodes[local * _partitions + part]];
                }
                WriteTable(PartitionDirectory.VectorsName, keys, starts, output: false);
                if (_keepContext)
                    WriteTable(PartitionDirectory.ContextName, keys, starts, output: true);
                _loadedInput = _loadedOutput = -1;
            }

            private void WriteTable(string name, string[] keys, int[] starts, bool output)
            {
                var buffer = output ? _output : _input;
                int loaded = -1;
                int d = _dimension;
                EmbeddingTable.SaveRows(_dir.File(name), keys, d, (row, destination) =>
                {
                    int part = loaded;
                    if (part < 0 || row < starts[part] || row >= starts[part + 1])
                    {
                        part = Array.BinarySearch(starts, row);
                        part = part >= 0 ? part : ~part - 1;
                        while (starts[part + 1] == starts[part])
                            part++;
                        int version = output ? _manifest.OutputVersions[part] : _manifest.InputVersions[part];
                        _dir.ReadMatrix(_dir.MatrixFile(output, part, version), output, part, _rows[part], d, buffer, _component);
                        loaded = part;
                    }
                    buffer.AsSpan((row - starts[part]) * d, d).CopyTo(destination);
                });
            }

            /// <summary>Walk <paramref name="w"/>: round w / nodes starts at node order(round)[w % nodes] and draws from the stream (seed, w).</summary>
            private int Walk(long w, int[] destination)
            {
                int nodes = _graph.NodeCount;
                long round = w / nodes;
                var order = new StartOrder(nodes, (ulong)_seed * 0x9E3779B97F4A7C15UL + (ulong)round);
                var random = new TrainingRandom((ulong)_seed, WalkStreamBase + (ulong)w);
                return _walker.Walk(order[(int)(w % nodes)], destination.AsSpan(0, _o.WalkLength), ref random);
            }

            [ThreadStatic]
            private static int[]? t_walk;
            [ThreadStatic]
            private static int[]? t_kept;
            [ThreadStatic]
            private static int[]? t_pairs;
            [ThreadStatic]
            private static Scratch? t_scratch;

            private int[] WalkBuffer(int thread) => t_walk is { } b && b.Length >= _o.WalkLength ? b : t_walk = new int[_o.WalkLength];

            private int[] KeptBuffer(int thread) => t_kept is { } b && b.Length >= _o.WalkLength ? b : t_kept = new int[_o.WalkLength];

            private static int[] PairBuffer(int thread) => t_pairs ??= new int[2 * ChunkPairs];

            private static Scratch GroupScratch(int thread, int d, int targets) =>
                t_scratch is { } s && s.Dimension == d && s.Targets.Length == targets ? s : t_scratch = new Scratch(d, targets);

            /// <summary>Runs <paramref name="work"/>(thread, item) for items [first, end) on <paramref name="threads"/> threads, items taken in order.</summary>
            private void RunWorkers(int threads, long first, long end, Action<int, long> work)
            {
                long next = first;
                Exception? failure = null;
                var workers = new Thread[Math.Max(1, Math.Min(threads, Math.Max(1, end - first)))];
                for (int t = 0; t < workers.Length; t++)
                {
                    int thread = t;
                    workers[t] = new Thread(() =>
                    {
                        try
                        {
                            while (true)
                            {
                                long item = Interlocked.Increment(ref next) - 1;
                                if (item >= end || _cancellation.IsCancellationRequested || Volatile.Read(ref failure) is not null)
                                    return;
                                work(thread, item);
                            }
                        }
                        catch (Exception e)
                        {
                            Interlocked.CompareExchange(ref failure, e, null);
                        }
                    })
                    { IsBackground = true, Name = $"Partitioned worker {t}" };
                    workers[t].Start();
                }
                foreach (var worker in workers)
                    worker.Join();
                if (failure is not null)
                    System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
                _cancellation.ThrowIfCancellationRequested();
            }
        }
    }
}
