using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using Embeddings.Kernels;
using Embeddings.Partitioned;
using Embeddings.SkipGram;
using Microsoft.ML;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// node2vec on the generated Barabási-Albert graph of <c>graph-walks</c> (default 1,000,000 nodes, 20 edges per node;
    /// p 0.25, q 4, 10 walks x 80, dimension 128, 1 epoch, 2 threads), trained in memory and partitioned (P = 4 under a
    /// model memory budget of 1.5 GiB), each in its own process: peak resident memory (VmHWM), wall and CPU time, matrix
    /// loads, and the link-prediction AUC of both (1% of the edges held out, scored by dot product against as many random
    /// non-edges). A third process only builds the graph, to measure what "the graph" costs in memory.
    /// With --kill-after-buckets N the partitioned process is killed (SIGKILL) once N buckets are committed and started
    /// again on the same directory; the benchmark then checks that every bucket was trained exactly once and that the
    /// output loads.
    /// Options: --nodes N --edges-per-node M --walks N --length N --p X --q X --dimension N --epochs N --threads N
    /// --partitions P --budget-gib X --episode-gib X --directory DIR --modes graph,unpartitioned,partitioned
    /// --graph ba|communities (planted blocks of --community-size nodes, where link prediction has signal to lose)
    /// --kill-after-buckets N --seed N. Internal: --mode (one mode in this process).
    /// </summary>
    internal static class PartitionedNode2VecBenchmark
    {
        public static void Run(string[] args)
        {
            string? mode = Options.String(args, "--mode");
            if (mode is not null)
            {
                RunMode(args, mode);
                return;
            }
            string directory = Options.String(args, "--directory") ?? Path.Combine(Path.GetTempPath(), "node2vec-partitioned-" + Environment.ProcessId);
            var modes = (Options.String(args, "--modes") ?? "graph,unpartitioned,partitioned").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            int killAfter = Options.Int(args, "--kill-after-buckets", 0);
            var results = new Dictionary<string, Dictionary<string, string>>();
            foreach (string m in modes)
            {
                if (m == "partitioned")
                {
                    if (Directory.Exists(directory))
                        Directory.Delete(directory, recursive: true);
                    if (killAfter > 0)
                    {
                        var killed = Child(args, "partitioned", directory, killAfterBuckets: killAfter);
                        results["killed"] = killed;
                    }
                }
                results[m] = Child(args, m, directory, killAfterBuckets: 0);
            }
            Print(results, args);
            if (killAfter > 0 && results.ContainsKey("partitioned"))
                CheckResume(directory, results);
            if (Options.String(args, "--keep-directory") is null && Directory.Exists(directory))
                Directory.Delete(directory, recursive: true);
        }

        /// <summary>Runs one mode in a child process and returns its RESULT lines; with <paramref name="killAfterBuckets"/> &gt; 0, kills it (SIGKILL) once that many buckets are committed.</summary>
        private static Dictionary<string, string> Child(string[] args, string mode, string directory, int killAfterBuckets)
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = false };
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Embeddings.Benchmarks.dll"));
            start.ArgumentList.Add("node2vec-partitioned");
            foreach (string a in args)
                start.ArgumentList.Add(a);
            start.ArgumentList.Add("--mode");
            start.ArgumentList.Add(mode);
            start.ArgumentList.Add("--directory");
            start.ArgumentList.Add(directory);
            var results = new Dictionary<string, string>(StringComparer.Ordinal);
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(start)!;
            var reader = new Thread(() =>
            {
                string? line;
                while ((line = process.StandardOutput.ReadLine()) is not null)
                {
                    if (line.StartsWith("RESULT ", StringComparison.Ordinal))
                    {
                        int space = line.IndexOf(' ', 7);
                        lock (results)
                            results[line.Substring(7, space - 7)] = line.Substring(space + 1);
                    }
                    else
                    {
                        Console.WriteLine($"  [{mode}{(killAfterBuckets > 0 ? ", to be killed" : "")}] {line}");
                    }
                }
            });
            reader.Start();
            if (killAfterBuckets > 0)
            {
                string manifest = Path.Combine(directory, PartitionDirectory.ManifestName);
                while (!process.HasExited)
                {
                    int done = CompletedBuckets(manifest);
                    if (done >= killAfterBuckets)
                    {
                        process.Kill(); // SIGKILL on Linux: no handler runs, nothing is flushed.
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  killed the partitioned process (SIGKILL) after {done} committed buckets, {watch.Elapsed.TotalSeconds:F1} s"));
                        break;
                    }
                    Thread.Sleep(20);
                }
            }
            process.WaitForExit();
            reader.Join();
            if (killAfterBuckets == 0 && process.ExitCode != 0)
                throw new InvalidOperationException($"node2vec-partitioned --mode {mode} failed with exit code {process.ExitCode}.");
            results["process-wall-s"] = watch.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture);
            return results;
        }

        private static int CompletedBuckets(string manifest)
        {
            try
            {
                if (!File.Exists(manifest))
                    return 0;
                using var document = JsonDocument.Parse(File.ReadAllText(manifest));
                return document.RootElement.GetProperty("Completed").GetArrayLength();
            }
            catch (Exception e) when (e is IOException or JsonException)
            {
                return 0;
            }
        }

        private static void Print(Dictionary<string, Dictionary<string, string>> results, string[] args)
        {
            string Get(string mode, string key) => results.TryGetValue(mode, out var r) && r.TryGetValue(key, out var v) ? v : "-";
            Console.WriteLine();
            Console.WriteLine("mode            peak RSS (GiB)  fit wall (s)  fit CPU (s)  matrix loads  link AUC   buckets   graph build (s)");
            foreach (string mode in new[] { "graph", "unpartitioned", "killed", "partitioned" })
            {
                if (!results.ContainsKey(mode))
                    continue;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{mode,-15} {Get(mode, "peak-gib"),14}  {Get(mode, "fit-wall-s"),12}  {Get(mode, "fit-cpu-s"),11}  {Get(mode, "matrix-loads"),12}  {Get(mode, "auc"),8}  {Get(mode, "buckets"),8}   {Get(mode, "graph-s"),8}"));
            }
            if (results.ContainsKey("partitioned"))
            {
                double budget = double.Parse(Options.String(args, "--budget-gib") ?? "1.5", CultureInfo.InvariantCulture);
                if (double.TryParse(Get("graph", "peak-gib"), NumberStyles.Float, CultureInfo.InvariantCulture, out double graph)
                    && double.TryParse(Get("partitioned", "peak-gib"), NumberStyles.Float, CultureInfo.InvariantCulture, out double peak))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"partitioned peak {peak:F2} GiB against budget + graph = {budget:F2} + {graph:F2} = {budget + graph:F2} GiB: {(peak <= budget + graph ? "within" : "OVER")}"));
                }
                if (double.TryParse(Get("unpartitioned", "auc"), NumberStyles.Float, CultureInfo.InvariantCulture, out double a)
                    && double.TryParse(Get("partitioned", "auc"), NumberStyles.Float, CultureInfo.InvariantCulture, out double b))
                {
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"link-prediction AUC: in memory {a:F4}, partitioned {b:F4}, loss {a - b:F4} ({(a - b <= 0.01 ? "at most 0.01" : "MORE than 0.01")})"));
                }
            }
        }

        private static void CheckResume(string directory, Dictionary<string, Dictionary<string, string>> results)
        {
            var manifest = new PartitionDirectory(directory).ReadManifest("benchmark")
                ?? throw new InvalidOperationException($"No manifest in '{directory}' after the resumed run.");
            var buckets = manifest.Completed.Select(c => (c.Epoch, c.Episode, c.Input, c.Output)).ToList();
            int partitions = int.Parse(manifest.Settings["Partitions"], CultureInfo.InvariantCulture);
            int epochs = int.Parse(manifest.Settings["Epochs"], CultureInfo.InvariantCulture);
            int expected = epochs * manifest.EpisodesPerEpoch * partitions * partitions;
            int distinct = buckets.Distinct().Count();
            int before = manifest.Completed.Count(c => c.Attempt == 1);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"resume check: {buckets.Count} buckets recorded, {distinct} distinct, {expected} expected ({epochs} epoch x {manifest.EpisodesPerEpoch} episodes x {partitions}x{partitions}); {before} trained before the kill, {buckets.Count - before} after; attempts {manifest.Attempts}; finished {manifest.Finished}"));
            Console.WriteLine(buckets.Count == expected && distinct == expected && manifest.Finished
                ? "resume check: every bucket trained exactly once"
                : "resume check: FAILED");
            var table = EmbeddingTable.OpenMemoryMapped(Path.Combine(directory, PartitionDirectory.VectorsName));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"resume check: the output loads: {table.Count:N0} vectors of dimension {table.Dimension} (memory-mapped: {table.IsMemoryMapped}); '{table.Keys[0]}' has {table.MostSimilar(table.Keys[0], 3).Count} neighbours"));
        }

        /// <summary>One mode in this process: builds the graph (graph), or trains and evaluates (unpartitioned, partitioned).</summary>
        private static void RunMode(string[] args, string mode)
        {
            int nodes = Options.Int(args, "--nodes", 1_000_000);
            int perNode = Options.Int(args, "--edges-per-node", 20);
            int seed = Options.Int(args, "--seed", 1);
            double holdout = double.Parse(Options.String(args, "--holdout") ?? "0.01", CultureInfo.InvariantCulture);
            var total = Stopwatch.StartNew();
            string graphKind = Options.String(args, "--graph") ?? "ba";
            var (endpoints, count) = graphKind switch
            {
                "ba" => GraphWalkBenchmark.PreferentialAttachmentEdges(nodes, perNode, seed),
                "communities" => CommunityEdges(nodes, perNode, Options.Int(args, "--community-size", 100), seed),
                _ => throw new ArgumentException($"--graph {graphKind}: use ba (Barabási-Albert, as graph-walks) or communities (planted blocks)."),
            };
            long edges = count / 2;
            var held = HeldOut(holdout);
            bool Held(long edge) => held(edge);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{edges:N0} generated edges over {nodes:N0} nodes in {total.Elapsed.TotalSeconds:F1} s"));
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;

            void WriteEdges(IEdgeWriter writer)
            {
                Span<char> a = stackalloc char[12];
                Span<char> b = stackalloc char[12];
                for (long e = 0; e < edges; e++)
                {
                    if (Held(e))
                        continue;
                    int u = endpoints[2 * e], v = endpoints[2 * e + 1];
                    writer.AddEdge(a.Slice(0, GraphWalkBenchmark.Key(u, a)), b.Slice(0, GraphWalkBenchmark.Key(v, b)), 1);
                }
            }

            if (mode == "graph")
            {
                var watch = Stopwatch.StartNew();
                var builder = new Graph.GraphBuilder(directed: false, bipartite: false, keepSelfLoops: true, Graph.InvalidEdgeWeightHandling.Reject);
                WriteEdges(builder);
                var graph = builder.Build(out _);
                var walker = new Graph.RandomWalker(graph, Double(args, "--p", 0.25), Double(args, "--q", 4), Graph.SecondOrderSampling.Auto);
                Result("graph-s", watch.Elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture));
                Result("peak-gib", (PeakBytes() / Gib).ToString("F2", CultureInfo.InvariantCulture));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"graph: {graph.NodeCount:N0} nodes, {graph.EdgeCount:N0} stored edges, walker {walker.Sampling}; resident now {CurrentBytes() / Gib:F2} GiB, peak {PeakBytes() / Gib:F2} GiB"));
                GC.KeepAlive(graph);
                GC.KeepAlive(endpoints);
                return;
            }

            var options = new Node2VecEstimator.Options
            {
                SourceColumnName = "Source",
                TargetColumnName = "Target",
                ReturnParameter = Double(args, "--p", 0.25),
                InOutParameter = Double(args, "--q", 4),
                WalksPerNode = Options.Int(args, "--walks", 10),
                WalkLength = Options.Int(args, "--length", 80),
                EmbeddingDimension = Options.Int(args, "--dimension", 128),
                Epochs = Options.Int(args, "--epochs", 1),
                NumberOfThreads = Options.Int(args, "--threads", 2),
                Seed = seed,
                KeepContextVectors = true,
            };
            options.OutputColumns.Add(("Vector", "Source"));
            if (mode == "partitioned")
            {
                options.Partitioning = new PartitionedTrainingOptions
                {
                    Partitions = Options.Int(args, "--partitions", 4),
                    ModelMemoryBudgetBytes = (long)(Double(args, "--budget-gib", 1.5) * Gib),
                    EpisodeBytes = (long)(Double(args, "--episode-gib", 4) * Gib),
                    Directory = Options.String(args, "--directory") ?? throw new ArgumentException("--mode partitioned needs --directory."),
                };
            }
            else if (mode != "unpartitioned")
            {
                throw new ArgumentException($"--mode {mode}: use graph, unpartitioned or partitioned.");
            }

            var ml = new MLContext(seed: seed);
            ml.Log += (_, e) =>
            {
                if (e.Message.Contains("partitioned:", StringComparison.Ordinal) || e.Message.Contains("graph:", StringComparison.Ordinal))
                    Console.WriteLine(e.Message.Substring(e.Message.IndexOf(']') + 1).Trim());
            };
            var fitWatch = Stopwatch.StartNew();
            var fitCpu = Process.GetCurrentProcess().TotalProcessorTime;
            var transformer = ml.Embeddings().Node2Vec(options).Fit(WriteEdges);
            double fitSeconds = fitWatch.Elapsed.TotalSeconds;
            double fitCpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - fitCpu).TotalSeconds;
            double peak = PeakBytes() / Gib;
            var table = transformer.SourceEmbeddings;
            var summary = transformer.Summary!;
            Result("peak-gib", peak.ToString("F2", CultureInfo.InvariantCulture));
            Result("fit-wall-s", fitSeconds.ToString("F1", CultureInfo.InvariantCulture));
            Result("fit-cpu-s", fitCpuSeconds.ToString("F1", CultureInfo.InvariantCulture));
            Result("tokens-per-s", summary.Training.TokensPerSecond.ToString("F0", CultureInfo.InvariantCulture));
            if (summary.Partitioned is { } p)
            {
                Result("matrix-loads", p.MatrixLoads.ToString(CultureInfo.InvariantCulture));
                Result("buckets", string.Create(CultureInfo.InvariantCulture, $"{p.BucketsDoneBefore}+{p.BucketsTrained}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"partitioned: P = {p.Partitions}, {p.EpisodesPerEpoch} episodes per epoch, {p.BucketsTrained} buckets trained here ({p.BucketsDoneBefore} before), {p.MatrixLoads} matrix loads over the run (the snake order's least: {BucketOrder.Loads(p.Partitions, (long)p.EpisodesPerEpoch * options.Epochs)} in one attempt), {p.PairsTrained:N0} pairs, resident model {p.ResidentModelBytes / Gib:F2} GiB, attempt {p.Attempts}"));
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode}: {table.Count:N0} vectors; fit {fitSeconds:F1} s wall, {fitCpuSeconds:F1} s CPU; walks {summary.WalkTime.TotalSeconds:F1} s, training {summary.Training.TrainingTime.TotalSeconds:F1} s ({summary.Training.TokensPerSecond / 1000:F0}k tokens/s), loss {summary.Training.FinalLoss:F4}; peak resident {peak:F2} GiB (VmHWM, after fit)"));

            var aucs = LinkPredictionAuc(table, transformer.ContextEmbeddings!, endpoints, edges, Held, nodes, seed);
            Result("auc", aucs.Dot.ToString("F4", CultureInfo.InvariantCulture));
            Result("auc-cosine", aucs.Cosine.ToString("F4", CultureInfo.InvariantCulture));
            Result("auc-input-output", aucs.InputOutput.ToString("F4", CultureInfo.InvariantCulture));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{mode}: link-prediction AUC {aucs.Dot:F4} (dot product of the node vectors; cosine {aucs.Cosine:F4}; node vector . context vector, both ways {aucs.InputOutput:F4}); process peak after the evaluation {PeakBytes() / Gib:F2} GiB"));
        }

        /// <summary>Whether generated edge <c>e</c> is held out: a hash of the edge's index below <paramref name="holdout"/> (a share, 0.01 = 1%).</summary>
        internal static Func<long, bool> HeldOut(double holdout)
        {
            uint threshold = (uint)(holdout * 4294967296.0);
            return edge => new TrainingRandom(0xED6E, (ulong)edge).NextUInt32() < threshold;
        }

        /// <summary>An undirected node pair as one key: the smaller node in the high 32 bits.</summary>
        internal static long PairKey(int u, int v) => u < v ? ((long)u << 32) | (uint)v : ((long)v << 32) | (uint)u;

        /// <summary>
        /// The link-prediction protocol's pairs: the held-out edges that are not also training edges (duplicates
        /// merged), and as many random node pairs that are not edges at all (drawn from the seed), as <see cref="PairKey"/>s.
        /// </summary>
        internal static (List<long> Positives, List<long> Negatives) LinkPredictionPairs(int[] endpoints, long edges, Func<long, bool> held, int nodes, int seed)
        {
            static long Key(int u, int v) => PairKey(u, v);
            var all = new long[edges];
            var heldKeys = new List<long>();
            for (long e = 0; e < edges; e++)
            {
                all[e] = Key(endpoints[2 * e], endpoints[2 * e + 1]);
                if (held(e))
                    heldKeys.Add(all[e]);
            }
            var training = new List<long>((int)edges);
            for (long e = 0; e < edges; e++)
            {
                if (!held(e))
                    training.Add(all[e]);
            }
            var trainingKeys = training.ToArray();
            training = null;
            Array.Sort(trainingKeys);
            Array.Sort(all);
            var positives = heldKeys.Distinct().Where(k => Array.BinarySearch(trainingKeys, k) < 0).ToList();
            trainingKeys = null;
            var random = new TrainingRandom((ulong)seed, 0xA0C);
            var negatives = new List<long>(positives.Count);
            while (negatives.Count < positives.Count)
            {
                int u = random.Next(nodes), v = random.Next(nodes);
                if (u != v && Array.BinarySearch(all, Key(u, v)) < 0)
                    negatives.Add(Key(u, v));
            }
            return (positives, negatives);
        }

        /// <summary>
        /// AUC of held-out edges (not also in training) against as many random node pairs that are not edges, scored by the
        /// dot product of the node vectors, by their cosine, and by node vector . context vector (the skip-gram score, averaged both ways).
        /// </summary>
        private static (double Dot, double Cosine, double InputOutput) LinkPredictionAuc(EmbeddingTable table, EmbeddingTable context, int[] endpoints, long edges, Func<long, bool> held, int nodes, int seed)
        {
            var (positives, negatives) = LinkPredictionPairs(endpoints, edges, held, nodes, seed);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"link prediction: {positives.Count:N0} held-out edges, {negatives.Count:N0} random non-edges"));
            int d = table.Dimension;
            var a = new float[d];
            var b = new float[d];
            var ca = new float[d];
            var cb = new float[d];
            (float Dot, float Cosine, float InputOutput) Score(long key)
            {
                string u = ((int)(key >> 32)).ToString(CultureInfo.InvariantCulture), v = ((int)key).ToString(CultureInfo.InvariantCulture);
                if (!table.TryGetVector(u, a) || !table.TryGetVector(v, b) || !context.TryGetVector(u, ca) || !context.TryGetVector(v, cb))
                    return (0, 0, 0);
                float dot = VectorMath.Dot(a, b);
                float norms = VectorMath.Norm(a) * VectorMath.Norm(b);
                return (dot, norms > 0 ? dot / norms : 0, (VectorMath.Dot(a, cb) + VectorMath.Dot(b, ca)) / 2);
            }
            var pos = positives.Select(Score).ToArray();
            var neg = negatives.Select(Score).ToArray();
            return (Auc(pos.Select(s => s.Dot), neg.Select(s => s.Dot)), Auc(pos.Select(s => s.Cosine), neg.Select(s => s.Cosine)),
                Auc(pos.Select(s => s.InputOutput), neg.Select(s => s.InputOutput)));
        }

        /// <summary>Mann-Whitney AUC: the probability that a positive outscores a negative, ties counted half.</summary>
        internal static double Auc(IEnumerable<float> positives, IEnumerable<float> negatives)
        {
            var scored = positives.Select(s => (s, 1)).Concat(negatives.Select(s => (s, 0))).OrderBy(s => s.Item1).ToArray();
            double rankSum = 0, n1 = 0;
            for (int i = 0; i < scored.Length;)
            {
                int j = i;
                while (j < scored.Length && scored[j].Item1 == scored[i].Item1)
                    j++;
                double rank = (i + 1 + j) / 2.0;
                for (int k = i; k < j; k++)
                {
                    if (scored[k].Item2 == 1)
                    {
                        rankSum += rank;
                        n1++;
                    }
                }
                i = j;
            }
            double n0 = scored.Length - n1;
            return (rankSum - n1 * (n1 + 1) / 2) / (n1 * n0);
        }

        /// <summary>
        /// Planted communities: node v links to <paramref name="perNode"/> nodes, each in its own block of
        /// <paramref name="size"/> nodes with probability 0.9, anywhere otherwise (duplicates are merged by the graph).
        /// </summary>
        private static (int[] Endpoints, long Count) CommunityEdges(int nodes, int perNode, int size, int seed)
        {
            var endpoints = new int[2L * nodes * perNode];
            long count = 0;
            var random = new TrainingRandom((ulong)seed, 0xC0);
            for (int v = 0; v < nodes; v++)
            {
                int block = v / size * size;
                int blockSize = Math.Min(size, nodes - block);
                for (int k = 0; k < perNode; k++)
                {
                    int u = random.NextFloat() < 0.9f ? block + random.Next(blockSize) : random.Next(nodes);
                    if (u == v)
                        continue;
                    endpoints[count++] = u;
                    endpoints[count++] = v;
                }
            }
            return (endpoints, count);
        }

        private const double Gib = 1024.0 * 1024 * 1024;

        private static double Double(string[] args, string name, double defaultValue) =>
            Options.String(args, name) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : defaultValue;

        private static void Result(string key, string value) => Console.WriteLine($"RESULT {key} {value}");

        /// <summary>VmHWM of /proc/self/status (peak resident set), in bytes; the working-set peak elsewhere.</summary>
        private static double PeakBytes() => Status("VmHWM:") ?? Process.GetCurrentProcess().PeakWorkingSet64;

        private static double CurrentBytes() => Status("VmRSS:") ?? Process.GetCurrentProcess().WorkingSet64;

        private static double? Status(string field)
        {
            if (!File.Exists("/proc/self/status"))
                return null;
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return double.Parse(line.Substring(field.Length).Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
            return null;
        }
    }
}
