using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Cli;
using Embeddings.Cluster;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Worker;
using Embeddings.Evaluation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.ML;
using Orleans;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The cluster's acceptance figure on BlogCatalog (issue 16): node2vec trained by the single-machine partitioned
    /// trainer and by three silos in this process (Orleans localhost clustering on 127.0.0.1, a shared temporary
    /// folder), with the same P, seed and settings; both evaluated with the repository's node-classification protocol
    /// (NodeClassificationEvaluator: labels.tsv, splits.tsv) and printed as Macro-F1 / Micro-F1 with their difference.
    /// Skipped with a message when the data folder is missing.
    /// Options: --data DIR (edges.tsv, labels.tsv, splits.tsv; default ../shared/data/graphs/blogcatalog) --walks N (10)
    /// --length N (80) --window N (10) --dimension N (128) --p X (0.25) --q X (0.25) --partitions P (4) --epochs N (1)
    /// --seed N (1) --threads N (2, walks and pairs) --silos N (3) --base-port N (21000: silo ports from it, gateways from
    /// it + 100).
    /// </summary>
    internal static class ClusterBlogCatalogBenchmark
    {
        public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

        private static async Task RunAsync(string[] args)
        {
            string data = Options.String(args, "--data") ?? Path.Combine("..", "shared", "data", "graphs", "blogcatalog");
            string edges = Path.Combine(data, "edges.tsv"), labelsPath = Path.Combine(data, "labels.tsv"), splitsPath = Path.Combine(data, "splits.tsv");
            if (!File.Exists(edges) || !File.Exists(labelsPath) || !File.Exists(splitsPath))
            {
                Console.WriteLine($"skipped: '{data}' has no edges.tsv, labels.tsv and splits.tsv (BlogCatalog may not be copied into the repository; run from the root with ../shared beside it, or pass --data).");
                return;
            }
            double Double(string name, double value) => double.Parse(Options.String(args, name) ?? value.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
            int partitions = Options.Int(args, "--partitions", 4);
            int silos = Options.Int(args, "--silos", 3);
            int basePort = Options.Int(args, "--base-port", 21000);
            if (silos < 1 || silos > 16)
                throw new ArgumentException("--silos needs 1 to 16.");
            Node2VecEstimator.Options Settings(PartitionedTrainingOptions? partitioning)
            {
                var o = new Node2VecEstimator.Options
                {
                    SourceColumnName = "source",
                    TargetColumnName = "target",
                    WalksPerNode = Options.Int(args, "--walks", 10),
                    WalkLength = Options.Int(args, "--length", 80),
                    WindowSize = Options.Int(args, "--window", 10),
                    EmbeddingDimension = Options.Int(args, "--dimension", 128),
                    ReturnParameter = Double("--p", 0.25),
                    InOutParameter = Double("--q", 0.25),
                    Epochs = Options.Int(args, "--epochs", 1),
                    Seed = Options.Int(args, "--seed", 1),
                    NumberOfThreads = Options.Int(args, "--threads", 2),
                    Partitioning = partitioning,
                };
                o.OutputColumns.Add(("vector", "source"));
                return o;
            }
            void WriteEdges(IEdgeWriter writer) => EdgeListReader.Read(edges, weighted: false, writer);

            var ml = new MLContext(seed: 1);
            var labels = NodeClassificationEvaluator.ReadLabels(labelsPath);
            var splits = NodeClassificationEvaluator.ReadSplits(splitsPath);
            string root = Path.Combine(Path.GetTempPath(), "cluster-blogcatalog-" + Environment.ProcessId);
            Directory.CreateDirectory(root);
            try
            {
                string single = Path.Combine(root, "single");
                var watch = Stopwatch.StartNew();
                double cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                var singleTable = ml.Embeddings().Node2Vec(Settings(new PartitionedTrainingOptions { Partitions = partitions, Directory = single })).Fit(WriteEdges).SourceEmbeddings;
                double singleWall = watch.Elapsed.TotalSeconds, singleCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu;
                var singleScore = NodeClassificationEvaluator.Evaluate(ml, singleTable, labels, splits);

                string storage = Path.Combine(root, "storage");
                Directory.CreateDirectory(storage);
                var hosts = new List<IHost>();
                try
                {
                    for (int s = 0; s < silos; s++)
                    {
                        var host = LocalCluster.BuildSilo(new LocalSiloOptions
                        {
                            Storage = storage,
                            SiloPort = basePort + s,
                            GatewayPort = basePort + 100 + s,
                            PrimarySiloPort = s == 0 ? null : basePort,
                            PollInterval = TimeSpan.FromMilliseconds(100),
                            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
                        });
                        await host.StartAsync();
                        hosts.Add(host);
                    }
                    using var clientHost = LocalCluster.BuildClient(Enumerable.Range(0, silos).Select(s => basePort + 100 + s).ToArray());
                    await clientHost.StartAsync();
                    var client = clientHost.Services.GetRequiredService<IClusterClient>();
                    watch.Restart();
                    cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                    var result = await GraphClusterJob.TrainAsync(client, new DirectoryPartitionStore(storage), WriteEdges, Settings(null),
                        new GraphClusterJobOptions { JobId = "blogcatalog", Partitions = partitions, PollInterval = TimeSpan.FromMilliseconds(200) });
                    double clusterWall = watch.Elapsed.TotalSeconds, clusterCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu;
                    await clientHost.StopAsync();
                    var clusterScore = NodeClassificationEvaluator.Evaluate(ml, result.Vectors, labels, splits);
                    var status = result.Status;

                    string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
                    Console.WriteLine($"graph: {data}; P = {partitions}; {silos} silos in this process; {Environment.ProcessorCount} cores");
                    Console.WriteLine($"single machine: Macro-F1 {F(singleScore.MacroF1)} (sd {F(singleScore.MacroF1Spread)}), Micro-F1 {F(singleScore.MicroF1)} (sd {F(singleScore.MicroF1Spread)}); wall {singleWall:F1} s, CPU {singleCpu:F1} s");
                    Console.WriteLine($"cluster:        Macro-F1 {F(clusterScore.MacroF1)} (sd {F(clusterScore.MacroF1Spread)}), Micro-F1 {F(clusterScore.MicroF1)} (sd {F(clusterScore.MicroF1Spread)}); wall {clusterWall:F1} s, CPU {clusterCpu:F1} s (silos included)");
                    Console.WriteLine($"cluster - single: Macro-F1 {clusterScore.MacroF1 - singleScore.MacroF1:+0.0000;-0.0000}, Micro-F1 {clusterScore.MicroF1 - singleScore.MicroF1:+0.0000;-0.0000} (acceptance: |Macro-F1 difference| <= 0.01)");
                    Console.WriteLine($"cluster job: {status.DoneBuckets} buckets, {status.Pairs:N0} pairs, {status.ExpiredLeases} expired leases, {status.PartitionLoads} partition loads, " +
                        $"{status.BytesRead / 1048576.0:F1} MiB read, {status.BytesWritten / 1048576.0:F1} MiB written, kernel {status.TrainingSeconds:F1} s, storage {status.StorageSeconds:F1} s");
                }
                finally
                {
                    // The first silo keeps the membership table: it stops last.
                    hosts.Reverse();
                    foreach (var host in hosts)
                    {
                        await host.StopAsync();
                        host.Dispose();
                    }
                }
            }
            finally
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }
}
