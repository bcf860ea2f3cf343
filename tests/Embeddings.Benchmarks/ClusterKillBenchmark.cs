using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Embeddings.Cli.Data;
using Embeddings.Cluster;
using Embeddings.Cluster.Storage;
using Embeddings.Kernels;
using Embeddings.Partitioned;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The steps of tests/Embeddings.Benchmarks/cluster-kill.sh (three silo processes, one killed with SIGKILL mid-epoch)
    /// that need the benchmark's own code, so that the script does not repeat it:
    /// <list type="bullet">
    /// <item><c>cluster-kill edges --out DIR [--nodes N] [--edges-per-node M] [--seed N] [--holdout X]</c>: the
    /// Barabási-Albert graph of <c>graph-walks</c> / <c>node2vec-partitioned</c>, 1% of its edges held out as that
    /// benchmark holds them out; writes DIR/train.tsv (the training edges, one "u TAB v" line each, in generation order)
    /// and DIR/link-pairs.tsv (the held-out edges that are not training edges, "1 TAB u TAB v", and as many random
    /// non-edges, "0 TAB u TAB v").</item>
    /// <item><c>cluster-kill reference --storage DIR --job ID --out FILE [--work DIR]</c>: the uninterrupted reference of a
    /// finished Deterministic job. It links the job's description, node keys and pair files into a new folder
    /// (symbolic links, no copy), writes the initial partitions (version 0) again as the submission wrote them,
    /// trains the job with <c>ClusterJob.TrainInProcess</c>, writes the vectors keyed by node to FILE (Parquet when it ends
    /// in .parquet, else word2vec text), and compares them bit for bit with the job's vectors in the storage.</item>
    /// <item><c>cluster-kill auc --vectors FILE --pairs DIR/link-pairs.tsv</c>: the link-prediction AUC of a vector file
    /// (dot product of the node vectors, and cosine), with the protocol's Mann-Whitney AUC.</item>
    /// </list>
    /// Each prints <c>RESULT key value</c> lines for the script.
    /// </summary>
    internal static class ClusterKillBenchmark
    {
        public static void Run(string[] args)
        {
            string action = args.Length > 0 ? args[0] : "";
            switch (action)
            {
                case "edges":
                    Edges(args);
                    break;
                case "reference":
                    Reference(args);
                    break;
                case "auc":
                    ScoreAuc(args);
                    break;
                default:
                    throw new ArgumentException($"cluster-kill '{action}': use edges, reference or auc (tests/Embeddings.Benchmarks/cluster-kill.sh runs them).");
            }
        }

        private static string Required(string[] args, string name) =>
            Options.String(args, name) ?? throw new ArgumentException($"cluster-kill {args[0]} needs {name}.");

        private static void Edges(string[] args)
        {
            string output = Required(args, "--out");
            int nodes = Options.Int(args, "--nodes", 1_000_000);
            int perNode = Options.Int(args, "--edges-per-node", 20);
            int seed = Options.Int(args, "--seed", 1);
            double holdout = double.Parse(Options.String(args, "--holdout") ?? "0.01", CultureInfo.InvariantCulture);
            Directory.CreateDirectory(output);
            var watch = Stopwatch.StartNew();
            var (endpoints, count) = GraphWalkBenchmark.PreferentialAttachmentEdges(nodes, perNode, seed);
            long edges = count / 2;
            var held = PartitionedNode2VecBenchmark.HeldOut(holdout);
            long written = 0;
            WriteAtomically(Path.Combine(output, "train.tsv"), writer =>
            {
                for (long e = 0; e < edges; e++)
                {
                    if (held(e))
                        continue;
                    writer.Write(endpoints[2 * e].ToString(CultureInfo.InvariantCulture));
                    writer.Write('\t');
                    writer.Write(endpoints[2 * e + 1].ToString(CultureInfo.InvariantCulture));
                    writer.Write('\n');
                    written++;
                }
            });
            var (positives, negatives) = PartitionedNode2VecBenchmark.LinkPredictionPairs(endpoints, edges, held, nodes, seed);
            WriteAtomically(Path.Combine(output, "link-pairs.tsv"), writer =>
            {
                foreach (var (label, keys) in new[] { ("1", positives), ("0", negatives) })
                {
                    foreach (long key in keys)
                    {
                        writer.Write(label);
                        writer.Write('\t');
                        writer.Write(((int)(key >> 32)).ToString(CultureInfo.InvariantCulture));
                        writer.Write('\t');
                        writer.Write(((int)key).ToString(CultureInfo.InvariantCulture));
                        writer.Write('\n');
                    }
                }
            });
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"graph: {nodes:N0} nodes, {edges:N0} generated edges (Barabási-Albert, {perNode} per node, seed {seed}); {written:N0} training edges in train.tsv; {positives.Count:N0} held-out edges and {negatives.Count:N0} random non-edges in link-pairs.tsv; {watch.Elapsed.TotalSeconds:F1} s"));
            Result("training-edges", written.ToString(CultureInfo.InvariantCulture));
            Result("held-out", positives.Count.ToString(CultureInfo.InvariantCulture));
        }

        private static void Reference(string[] args)
        {
            string storage = Required(args, "--storage");
            string jobId = Required(args, "--job");
            string output = Required(args, "--out");
            string work = Options.String(args, "--work") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(output))!, "reference-storage");
            var store = new DirectoryPartitionStore(storage);
            var spec = ClusterJob.ReadSpec(store, jobId);
            if (spec.Ordering != BucketOrdering.Deterministic)
                throw new InvalidOperationException($"Job '{jobId}' was trained with {spec.Ordering} ordering; only a Deterministic job has a reference that TrainInProcess reproduces.");
            var cluster = ClusterJob.ReadVectors(store, jobId); // throws when the job was never started
            var checkpoint = JsonDocument.Parse(store.ReadBlob(jobId, "checkpoint.json")!).RootElement;
            if (!checkpoint.GetProperty("Finished").GetBoolean())
                throw new InvalidOperationException($"Job '{jobId}' at '{store.Location}' is not finished; run the reference after the cluster job completes.");

            // The reference folder: the job's files linked, the initial partitions written again.
            string source = Path.Combine(store.Root, jobId);
            if (Directory.Exists(work))
                Directory.Delete(work, recursive: true);
            string target = Path.Combine(work, jobId);
            Directory.CreateDirectory(target);
            File.CreateSymbolicLink(Path.Combine(target, "job.json"), Path.Combine(source, "job.json"));
            File.CreateSymbolicLink(Path.Combine(target, "items.json"), Path.Combine(source, "items.json"));
            if (spec.PairsByTask)
            {
                // The workers wrote the pairs and deleted them once trained: the reference writes them again from the
                // pair tasks' inputs (TrainInProcess runs each episode's pair task itself).
                foreach (string name in new[] { "graph.bin", "vocabulary.bin", "walks.json" })
                    File.CreateSymbolicLink(Path.Combine(target, name), Path.Combine(source, name));
            }
            else
            {
                Directory.CreateSymbolicLink(Path.Combine(target, "pairs"), Path.Combine(source, "pairs"));
            }
            var reference = new DirectoryPartitionStore(work);
            int p = spec.Partitions, d = spec.Dimension;
            for (int partition = 0; partition < p; partition++)
            {
                int rows = spec.RowsOf(partition);
                var values = new float[(long)rows * d];
                reference.WritePartition(jobId, PartitionSide.Output, partition, 0, rows, d, values);
                for (int local = 0; local < rows; local++)
                    BucketKernel.InitializeInputRow(spec.Seed, (long)local * p + partition, values.AsSpan(local * d, d));
                reference.WritePartition(jobId, PartitionSide.Input, partition, 0, rows, d, values);
            }

            var watch = Stopwatch.StartNew();
            double cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
            var trained = ClusterJob.TrainInProcess(reference, jobId, numberOfThreads: Environment.ProcessorCount);
            double wall = watch.Elapsed.TotalSeconds, cpuSeconds = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu;
            long differing = 0;
            float largest = 0;
            for (long k = 0; k < trained.Input.LongLength; k++)
            {
                if (BitConverter.SingleToInt32Bits(trained.Input[k]) != BitConverter.SingleToInt32Bits(cluster.Input[k]))
                {
                    differing++;
                    largest = Math.Max(largest, Math.Abs(trained.Input[k] - cluster.Input[k]));
                }
            }
            var keys = JsonSerializer.Deserialize<string[]>(File.ReadAllBytes(Path.Combine(source, "items.json")))!;
            EmbeddingFiles.Save(new EmbeddingTable(keys, trained.Input, trained.Dimension), output);
            Directory.Delete(work, recursive: true);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"reference: ClusterJob.TrainInProcess of job '{jobId}' ({spec.TotalBuckets} buckets in the job's total order, the P disjoint buckets of each round on {Environment.ProcessorCount} threads): {wall:F1} s wall, {cpuSeconds:F1} s CPU; {trained.Items:N0} vectors written to {output}"));
            Console.WriteLine(differing == 0
                ? string.Create(CultureInfo.InvariantCulture, $"reference: the cluster's vectors in the storage equal the reference bit for bit ({trained.Input.LongLength:N0} floats)")
                : string.Create(CultureInfo.InvariantCulture, $"reference: {differing:N0} of {trained.Input.LongLength:N0} floats DIFFER from the cluster's vectors in the storage (largest difference {largest:G4})"));
            Result("reference-wall-s", wall.ToString("F1", CultureInfo.InvariantCulture));
            Result("reference-cpu-s", cpuSeconds.ToString("F1", CultureInfo.InvariantCulture));
            Result("differing-floats", differing.ToString(CultureInfo.InvariantCulture));
        }

        private static void ScoreAuc(string[] args)
        {
            string vectors = Required(args, "--vectors");
            string pairs = Required(args, "--pairs");
            var table = EmbeddingFiles.Load(vectors);
            var positive = new List<(string, string)>();
            var negative = new List<(string, string)>();
            foreach (string line in File.ReadLines(pairs))
            {
                var fields = line.Split('\t');
                if (fields.Length != 3 || fields[0] is not ("0" or "1"))
                    throw new InvalidDataException($"'{pairs}': the line '{line}' is not 'LABEL TAB u TAB v' with LABEL 0 or 1; write the file with 'cluster-kill edges'.");
                (fields[0] == "1" ? positive : negative).Add((fields[1], fields[2]));
            }
            int d = table.Dimension;
            var a = new float[d];
            var b = new float[d];
            int missing = 0;
            (float Dot, float Cosine) Score((string U, string V) pair)
            {
                if (!table.TryGetVector(pair.U, a) || !table.TryGetVector(pair.V, b))
                {
                    missing++;
                    return (0, 0);
                }
                float dot = VectorMath.Dot(a, b);
                float norms = VectorMath.Norm(a) * VectorMath.Norm(b);
                return (dot, norms > 0 ? dot / norms : 0);
            }
            var pos = positive.Select(Score).ToArray();
            var neg = negative.Select(Score).ToArray();
            double dotAuc = PartitionedNode2VecBenchmark.Auc(pos.Select(s => s.Dot), neg.Select(s => s.Dot));
            double cosineAuc = PartitionedNode2VecBenchmark.Auc(pos.Select(s => s.Cosine), neg.Select(s => s.Cosine));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{vectors}: {table.Count:N0} vectors; link-prediction AUC {dotAuc:F4} (dot product), {cosineAuc:F4} (cosine) over {pos.Length:N0} held-out edges and {neg.Length:N0} non-edges; {missing:N0} pairs with a node without a vector scored 0"));
            Result("auc", dotAuc.ToString("F6", CultureInfo.InvariantCulture));
            Result("auc-cosine", cosineAuc.ToString("F6", CultureInfo.InvariantCulture));
        }

        private static void WriteAtomically(string path, Action<TextWriter> write)
        {
            string temporary = path + ".tmp-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            using (var writer = new StreamWriter(temporary, append: false, new UTF8Encoding(false), 1 << 20))
                write(writer);
            File.Move(temporary, path, overwrite: true);
        }

        private static void Result(string key, string value) => Console.WriteLine($"RESULT {key} {value}");
    }
}
