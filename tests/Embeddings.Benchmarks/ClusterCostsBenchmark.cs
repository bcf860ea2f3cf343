using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Runtime.InteropServices;
using System.Threading.Tasks;
using Embeddings.Cluster;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans;
using Orleans.Hosting;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The measured inputs of docs/cluster-scaling.md, and the model built on them. Parts (--parts, default all):
    /// <list type="bullet">
    /// <item><c>storage</c>: write and read throughput of partition files on this disk through
    /// <see cref="DirectoryPartitionStore"/> (--files files of --rows rows x --dimension floats; writes are fsynced,
    /// reads are timed once after the file's pages were dropped from the page cache with posix_fadvise DONTNEED, and
    /// once from the cache).</item>
    /// <item><c>coordinator</c>: lease and complete round trips per second of one job's coordinator grain on --silos
    /// in-process silos (no worker loop), driven by --clients concurrent fake workers through an Orleans client. A fake
    /// worker leases, writes the two new partition versions (1 float per row, so that the file system's per-file cost
    /// is in and the bytes are not), and completes. The job has no pairs; its buckets are --coordinator-buckets.</item>
    /// <item><c>job</c>: a node2vec job on the graph of <c>node2vec-partitioned</c> (--nodes, default 100,000; the training
    /// edges of <c>cluster-kill edges</c>), trained by --job-silos in-process silos (default 1, so that the kernel has
    /// a core to itself): the job's counters per bucket (pairs, partition loads, bytes read and written, kernel and
    /// storage seconds), the kernel's pairs per second, the submitter's time, and the spread of the per-bucket pairs
    /// (from coordinator.log).</item>
    /// <item><c>model</c>: the scaling table of the note for N = 1..64 machines from the measured inputs: a simulation of
    /// the coordinator's lease rules (both orderings) with the per-bucket times, then the bounds of the shared storage
    /// (its link, and a disk that writes as fast as this one) and of the coordinator. Needs the other parts' figures: run
    /// them in the same call, or give --kernel-pairs-per-s, --coordinator-buckets-per-s, --diagonal-ratio,
    /// --pairs-per-node and --storage-write-mib-s.</item>
    /// </list>
    /// Options: --directory DIR (on the disk to measure; default a new folder under the system's temporary folder)
    /// --rows N (125,000) --dimension N (128) --files N (8) --silos N (3) --clients 1,3,8 --coordinator-buckets N (1,024)
    /// --nodes N (100,000) --partitions P (8) --walks N (10) --length N (80) --p X (0.25) --q X (4) --threads N (2)
    /// --job-silos N (1) --base-port N (24000) --target-nodes N (1,000,000: the model's graph) --link-gbit X (10)
    /// --storage-gbit X (10: the shared storage's one link) --poll-ms N (1,000: an idle worker's poll interval, the
    /// command line's default) --seed N (1) --all-partitions (the model prints P = 8, 16, 32, 64 for every N).
    /// </summary>
    internal static class ClusterCostsBenchmark
    {
        private const double Mib = 1024.0 * 1024.0;

        public static void Run(string[] args) => RunAsync(args).GetAwaiter().GetResult();

        private static async Task RunAsync(string[] args)
        {
            var parts = (Options.String(args, "--parts") ?? "storage,coordinator,job,model").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToHashSet();
            string root = Options.String(args, "--directory") ?? Path.Combine(Path.GetTempPath(), "cluster-costs-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
            bool created = !Directory.Exists(root);
            Directory.CreateDirectory(root);
            Console.WriteLine($"cluster-costs: folder {Path.GetFullPath(root)}; {Environment.ProcessorCount} cores; {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC");
            var inputs = new ModelInputs
            {
                WriteBytesPerSecond = Number(args, "--storage-write-mib-s", double.NaN) * Mib,
                KernelPairsPerSecond = Number(args, "--kernel-pairs-per-s", double.NaN),
                CoordinatorBucketsPerSecond = Number(args, "--coordinator-buckets-per-s", double.NaN),
                DiagonalRatio = Number(args, "--diagonal-ratio", double.NaN),
                PairsPerNode = Number(args, "--pairs-per-node", double.NaN),
            };
            try
            {
                if (parts.Contains("storage"))
                    Storage(args, Fresh(root, "storage"), inputs);
                if (parts.Contains("coordinator"))
                    await CoordinatorAsync(args, Fresh(root, "coordinator"), inputs);
                if (parts.Contains("job"))
                    await JobAsync(args, Fresh(root, "job"), inputs);
                if (parts.Contains("model"))
                    Model(args, inputs);
            }
            finally
            {
                if (created)
                    Directory.Delete(root, recursive: true);
            }
        }

        private static string Fresh(string root, string name)
        {
            string path = Path.Combine(root, name);
            if (Directory.Exists(path))
                Directory.Delete(path, recursive: true);
            Directory.CreateDirectory(path);
            return path;
        }

        private static double Number(string[] args, string name, double value) =>
            Options.String(args, name) is { } text ? double.Parse(text, CultureInfo.InvariantCulture) : value;

        private static string F(double value, string format = "F1") => value.ToString(format, CultureInfo.InvariantCulture);

        /// <summary>The figures the model needs, measured by the other parts or given on the command line.</summary>
        private sealed class ModelInputs
        {
            public double WriteBytesPerSecond;
            public double ReadBytesPerSecond = double.NaN;
            public double KernelPairsPerSecond;
            public double CoordinatorBucketsPerSecond;
            public double DiagonalRatio;
            public double PairsPerNode;
        }

        // ---------------------------------------------------------------- storage

        [DllImport("libc", SetLastError = true)]
        private static extern int posix_fadvise(int fd, long offset, long length, int advice);

        private const int PosixFadviseDontNeed = 4;

        /// <summary>Drops a file's (clean) pages from the page cache, so that the next read comes from the device.</summary>
        private static bool DropFromCache(string path)
        {
            if (!OperatingSystem.IsLinux())
                return false;
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read);
            return posix_fadvise((int)handle.DangerousGetHandle(), 0, 0, PosixFadviseDontNeed) == 0;
        }

        private static void Storage(string[] args, string folder, ModelInputs inputs)
        {
            int rows = Options.Int(args, "--rows", 125_000);
            int dimension = Options.Int(args, "--dimension", 128);
            int files = Options.Int(args, "--files", 8);
            var store = new DirectoryPartitionStore(folder);
            var values = new float[(long)rows * dimension];
            var random = new Random(1);
            for (long k = 0; k < values.LongLength; k++)
                values[k] = (float)random.NextDouble();
            double bytes = 4.0 * values.LongLength;
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"storage: {files} partition files of {rows:N0} rows x {dimension} floats ({bytes / Mib:F1} MiB each) in {folder}"));
            var watch = Stopwatch.StartNew();
            for (int f = 0; f < files; f++)
                store.WritePartition("costs", PartitionSide.Input, f, 1, rows, dimension, values);
            double write = watch.Elapsed.TotalSeconds;
            bool dropped = true;
            for (int f = 0; f < files; f++)
                dropped &= DropFromCache(Path.Combine(folder, "costs", "partitions", $"input-{f}.v1.bin"));
            watch.Restart();
            for (int f = 0; f < files; f++)
                store.ReadPartition("costs", PartitionSide.Input, f, 1, rows, dimension, values);
            double coldRead = watch.Elapsed.TotalSeconds;
            watch.Restart();
            for (int f = 0; f < files; f++)
                store.ReadPartition("costs", PartitionSide.Input, f, 1, rows, dimension, values);
            double warmRead = watch.Elapsed.TotalSeconds;
            inputs.WriteBytesPerSecond = files * bytes / write;
            inputs.ReadBytesPerSecond = files * bytes / coldRead;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"storage: write (temporary file, fsync, rename) {files * bytes / Mib / write:F0} MiB/s ({write / files * 1000:F0} ms per file); read {(dropped ? "after dropping the pages from the cache" : "(pages NOT dropped: posix_fadvise failed)")} {files * bytes / Mib / coldRead:F0} MiB/s; read from the page cache {files * bytes / Mib / warmRead:F0} MiB/s"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT storage-write-mib-s {files * bytes / Mib / write:F0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT storage-read-mib-s {files * bytes / Mib / coldRead:F0}"));
        }

        // ---------------------------------------------------------------- coordinator

        private static IHost CoordinatorSilo(IPartitionStore store, int siloPort, int gatewayPort, int? primary)
        {
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            builder.Logging.ClearProviders();
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(siloPort, gatewayPort, primary is int p ? new IPEndPoint(IPAddress.Loopback, p) : null, LocalCluster.ServiceId, LocalCluster.ClusterId);
                // The coordinator grain needs the storage; no worker loop is added: the fake workers below are the only callers.
                silo.Services.AddSingleton(store);
            });
            return builder.Build();
        }

        private static async Task CoordinatorAsync(string[] args, string folder, ModelInputs inputs)
        {
            int silos = Options.Int(args, "--silos", 3);
            int basePort = Options.Int(args, "--base-port", 24000);
            int partitions = Options.Int(args, "--partitions", 8);
            int buckets = Options.Int(args, "--coordinator-buckets", 1024);
            var clients = (Options.String(args, "--clients") ?? "1,3,8").Split(',').Select(c => int.Parse(c, CultureInfo.InvariantCulture)).ToArray();
            var store = new DirectoryPartitionStore(folder);
            int episodes = Math.Max(1, buckets / (partitions * partitions));
            int items = partitions * 16;
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"coordinator: {silos} silos in this process (localhost clustering, no worker loop), one client; jobs of {episodes * partitions * partitions} buckets (P = {partitions}, {episodes} episodes, no pairs), Deterministic ordering; storage {folder}"));
            var hosts = new List<IHost>();
            try
            {
                for (int s = 0; s < silos; s++)
                {
                    var host = CoordinatorSilo(store, basePort + s, basePort + 100 + s, s == 0 ? null : basePort);
                    await host.StartAsync();
                    hosts.Add(host);
                }
                using var clientHost = LocalCluster.BuildClient(Enumerable.Range(0, silos).Select(s => basePort + 100 + s).ToArray(), LogLevel.Critical);
                await clientHost.StartAsync();
                var grains = clientHost.Services.GetRequiredService<IClusterClient>();
                Console.WriteLine("workers  buckets/s  lease ms (mean, p50, p99)  complete ms (mean, p50, p99)  wait answers  wall s");
                double best = 0;
                foreach (int workers in clients)
                {
                    var spec = new ClusterJobSpec
                    {
                        JobId = "costs-" + workers.ToString(CultureInfo.InvariantCulture),
                        Items = items,
                        Partitions = partitions,
                        Dimension = 1,
                        Episodes = episodes,
                        LeaseTimeout = TimeSpan.FromMinutes(5),
                    };
                    ClusterJob.Prepare(store, spec, _ => Array.Empty<(int, int)>());
                    await ClusterJob.StartAsync(grains, spec.JobId);
                    var coordinator = grains.GetGrain<ICoordinatorGrain>(spec.JobId);
                    var leaseMs = new List<double>[workers];
                    var completeMs = new List<double>[workers];
                    var waits = new int[workers];
                    var watch = Stopwatch.StartNew();
                    await Task.WhenAll(Enumerable.Range(0, workers).Select(w => Task.Run(async () =>
                    {
                        leaseMs[w] = new List<double>();
                        completeMs[w] = new List<double>();
                        var values = new float[(items + partitions - 1) / partitions];
                        string id = "fake-" + w.ToString(CultureInfo.InvariantCulture);
                        while (true)
                        {
                            long start = Stopwatch.GetTimestamp();
                            var result = await coordinator.LeaseAsync(new LeaseRequest { WorkerId = id });
                            if (result.Status == LeaseStatus.Finished)
                                return;
                            if (result.Status == LeaseStatus.Wait)
                            {
                                waits[w]++;
                                await Task.Delay(1);
                                continue;
                            }
                            leaseMs[w].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                            var lease = result.Lease!;
                            store.WritePartition(spec.JobId, PartitionSide.Input, lease.Input, lease.NewVersion, spec.RowsOf(lease.Input), 1, values.AsSpan(0, spec.RowsOf(lease.Input)));
                            store.WritePartition(spec.JobId, PartitionSide.Output, lease.Output, lease.NewVersion, spec.RowsOf(lease.Output), 1, values.AsSpan(0, spec.RowsOf(lease.Output)));
                            start = Stopwatch.GetTimestamp();
                            var answer = await coordinator.CompleteAsync(new CompletionReport { Token = lease.Token, WorkerId = id });
                            completeMs[w].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                            if (!answer.Accepted)
                                throw new InvalidOperationException($"coordinator benchmark: completion of lease {lease.Token} rejected: {answer.Reason}");
                        }
                    })));
                    double wall = watch.Elapsed.TotalSeconds;
                    var status = await coordinator.GetStatusAsync();
                    if (!status.Finished)
                        throw new InvalidOperationException($"coordinator benchmark: job {spec.JobId} did not finish.");
                    var lease = leaseMs.SelectMany(l => l).OrderBy(v => v).ToArray();
                    var complete = completeMs.SelectMany(l => l).OrderBy(v => v).ToArray();
                    double rate = status.DoneBuckets / wall;
                    best = Math.Max(best, rate);
                    static double Q(double[] sorted, double q) => sorted[Math.Min(sorted.Length - 1, (int)(q * sorted.Length))];
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{workers,7}  {rate,9:F0}  {lease.Average(),8:F2} {Q(lease, 0.5),6:F2} {Q(lease, 0.99),6:F2}          {complete.Average(),8:F2} {Q(complete, 0.5),6:F2} {Q(complete, 0.99),6:F2}     {waits.Sum(),11}  {wall,6:F1}"));
                    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT coordinator-buckets-per-s-{workers} {rate:F0}"));
                }
                inputs.CoordinatorBucketsPerSecond = best;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"coordinator: at most {best:F0} buckets/s (one lease and one complete each; every call that changes the state writes checkpoint.json with fsync and appends to coordinator.log)"));
                await clientHost.StopAsync();
            }
            finally
            {
                hosts.Reverse();
                foreach (var host in hosts)
                {
                    await host.StopAsync();
                    host.Dispose();
                }
            }
        }

        // ---------------------------------------------------------------- job

        private static async Task JobAsync(string[] args, string folder, ModelInputs inputs)
        {
            int nodes = Options.Int(args, "--nodes", 100_000);
            int partitions = Options.Int(args, "--partitions", 8);
            int silos = Options.Int(args, "--job-silos", 1);
            int basePort = Options.Int(args, "--base-port", 24000) + 10;
            int seed = Options.Int(args, "--seed", 1);
            var (endpoints, count) = GraphWalkBenchmark.PreferentialAttachmentEdges(nodes, 20, seed);
            long edges = count / 2;
            var held = PartitionedNode2VecBenchmark.HeldOut(0.01);
            void WriteEdges(IEdgeWriter writer)
            {
                Span<char> a = stackalloc char[12];
                Span<char> b = stackalloc char[12];
                for (long e = 0; e < edges; e++)
                {
                    if (!held(e))
                        writer.AddEdge(a.Slice(0, GraphWalkBenchmark.Key(endpoints[2 * e], a)), b.Slice(0, GraphWalkBenchmark.Key(endpoints[2 * e + 1], b)), 1);
                }
            }
            var options = new Node2VecEstimator.Options
            {
                ReturnParameter = Number(args, "--p", 0.25),
                InOutParameter = Number(args, "--q", 4),
                WalksPerNode = Options.Int(args, "--walks", 10),
                WalkLength = Options.Int(args, "--length", 80),
                EmbeddingDimension = Options.Int(args, "--dimension", 128),
                Epochs = 1,
                NumberOfThreads = Options.Int(args, "--threads", 2),
                Seed = seed,
            };
            var job = new GraphClusterJobOptions { JobId = "costs-job", Partitions = partitions, PollInterval = TimeSpan.FromMilliseconds(200) };
            var store = new DirectoryPartitionStore(folder);
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"job: node2vec on the Barabási-Albert graph of node2vec-partitioned ({nodes:N0} nodes, {edges:N0} edges, 1% held out), p {options.ReturnParameter}, q {options.InOutParameter}, {options.WalksPerNode} walks x {options.WalkLength}, dimension {options.EmbeddingDimension}, P = {partitions}, {silos} in-process silo(s) with a worker each"));
            var hosts = new List<IHost>();
            try
            {
                var watch = Stopwatch.StartNew();
                double cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                var spec = GraphClusterJob.Prepare(store, WriteEdges, options, job);
                double prepareWall = watch.Elapsed.TotalSeconds, prepareCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job: the submitter walked the graph and wrote {spec.Episodes} episodes of pairs in {prepareWall:F1} s wall, {prepareCpu:F1} s CPU ({options.NumberOfThreads} threads)"));
                for (int s = 0; s < silos; s++)
                {
                    var host = LocalCluster.BuildSilo(new LocalSiloOptions
                    {
                        Storage = folder,
                        SiloPort = basePort + s,
                        GatewayPort = basePort + 100 + s,
                        PrimarySiloPort = s == 0 ? null : basePort,
                        PollInterval = TimeSpan.FromMilliseconds(50),
                        LogLevel = LogLevel.Warning,
                    });
                    await host.StartAsync();
                    hosts.Add(host);
                }
                using var clientHost = LocalCluster.BuildClient(Enumerable.Range(0, silos).Select(s => basePort + 100 + s).ToArray(), LogLevel.Critical);
                await clientHost.StartAsync();
                var grains = clientHost.Services.GetRequiredService<IClusterClient>();
                watch.Restart();
                cpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;
                await ClusterJob.StartAsync(grains, job.JobId);
                var status = await ClusterJob.WaitAsync(grains, job.JobId, TimeSpan.FromMilliseconds(200));
                double trainWall = watch.Elapsed.TotalSeconds, trainCpu = Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds - cpu;
                await clientHost.StopAsync();

                var completed = CoordinatorEvent.ReadLog(store, job.JobId).Where(e => e.Kind == "completed").ToList();
                var pairs = completed.Select(e => long.Parse(e.Detail.Split(' ')[0], CultureInfo.InvariantCulture)).ToArray();
                double diagonal = completed.Where(e => e.Input == e.Output).Select(e => double.Parse(e.Detail.Split(' ')[0], CultureInfo.InvariantCulture)).Average();
                double offDiagonal = completed.Where(e => e.Input != e.Output).Select(e => double.Parse(e.Detail.Split(' ')[0], CultureInfo.InvariantCulture)).Average();
                long b = status.DoneBuckets;
                double partitionBytes = 4.0 * spec.RowsOf(0) * spec.Dimension;
                double rate = status.Pairs / status.TrainingSeconds;
                inputs.KernelPairsPerSecond = rate;
                inputs.DiagonalRatio = diagonal / offDiagonal;
                inputs.PairsPerNode = (double)status.Pairs / nodes;
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job: {b} buckets ({spec.Episodes} episodes x {partitions} x {partitions}), {status.Pairs:N0} pairs ({status.Pairs / (double)nodes:F1} per node), trained in {trainWall:F1} s wall, {trainCpu:F1} s CPU (silos and client in this process), {status.ExpiredLeases} expired leases"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job per bucket: {status.Pairs / (double)b:N0} pairs (diagonal buckets {diagonal:N0}, others {offDiagonal:N0}: ratio {diagonal / offDiagonal:F3}; min {pairs.Min():N0}, max {pairs.Max():N0}); {status.PartitionLoads / (double)b:F2} partition loads; " +
                    $"{status.BytesRead / (double)b / Mib:F2} MiB read (partitions {(status.BytesRead - 8.0 * status.Pairs) / b / Mib:F2} + pairs {8.0 * status.Pairs / b / Mib:F2}), {status.BytesWritten / (double)b / Mib:F2} MiB written (2 partitions of {partitionBytes / Mib:F2} MiB); " +
                    $"kernel {status.TrainingSeconds / b * 1000:F0} ms, storage {status.StorageSeconds / b * 1000:F1} ms"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job: kernel {rate / 1e6:F2}M pairs/s per worker (one thread per bucket); storage time is {status.StorageSeconds / (status.StorageSeconds + status.TrainingSeconds) * 100:F1}% of the workers' bucket time"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT kernel-pairs-per-s {rate:F0}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT pairs-per-node {status.Pairs / (double)nodes:F2}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT diagonal-ratio {diagonal / offDiagonal:F3}"));
            }
            finally
            {
                hosts.Reverse();
                foreach (var host in hosts)
                {
                    await host.StopAsync();
                    host.Dispose();
                }
            }
        }

        // ---------------------------------------------------------------- model

        private static void Model(string[] args, ModelInputs inputs)
        {
            if (double.IsNaN(inputs.KernelPairsPerSecond) || double.IsNaN(inputs.CoordinatorBucketsPerSecond) || double.IsNaN(inputs.DiagonalRatio) || double.IsNaN(inputs.PairsPerNode))
                throw new ArgumentException("The model needs the kernel rate, the coordinator's buckets/s, the diagonal ratio and the pairs per node: run it with the coordinator and job parts, or give --kernel-pairs-per-s, --coordinator-buckets-per-s, --diagonal-ratio and --pairs-per-node.");
            int nodes = Options.Int(args, "--target-nodes", 1_000_000);
            int dimension = Options.Int(args, "--dimension", 128);
            double link = Number(args, "--link-gbit", 10) * 1e9 / 8;
            double storageLink = Number(args, "--storage-gbit", 10) * 1e9 / 8;
            double poll = Options.Int(args, "--poll-ms", 1000) / 1000.0;
            double episodeBytes = 4.0 * (1L << 30);
            double pairs = inputs.PairsPerNode * nodes;
            int episodes = Math.Max(8, (int)Math.Ceiling(pairs * 8 / episodeBytes));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"model: {nodes:N0} nodes x {inputs.PairsPerNode:F2} pairs per node = {pairs / 1e9:F2}G pairs per epoch in {episodes} episodes (4 GiB of pairs each, at least 8); dimension {dimension}; kernel {inputs.KernelPairsPerSecond / 1e6:F2}M pairs/s per machine; " +
                $"links {link * 8 / 1e9:F0} Gbit/s per machine, {storageLink * 8 / 1e9:F0} Gbit/s into the shared storage; coordinator {inputs.CoordinatorBucketsPerSecond:F0} buckets/s; idle workers poll every {poll:F1} s; storage cap: the smaller of its link and {(double.IsNaN(inputs.WriteBytesPerSecond) ? "(no disk figure)" : F(inputs.WriteBytesPerSecond / Mib, "F0") + " MiB/s of partition writes (this disk, fsync per file)")}"));
            Console.WriteLine("    N    P  order          buckets/s  MiB/bucket  schedule pairs/s  storage cap  coord cap   pairs/s  busy  limit          pairs/s, storage scaling");
            foreach (int n in new[] { 1, 2, 4, 8, 16, 32, 64 })
            {
                var rows = new List<(int P, BucketOrdering Ordering, double Rate, double Scaled, string Line)>();
                foreach (int p in new[] { 8, 16, 32, 64 })
                {
                    foreach (var ordering in new[] { BucketOrdering.Deterministic, BucketOrdering.Free })
                    {
                        var sim = ScheduleSimulation.Run(n, p, episodes, nodes, dimension, pairs, inputs.KernelPairsPerSecond, inputs.DiagonalRatio, link, poll, ordering);
                        double bytesPerBucket = sim.BytesMoved / sim.Buckets;
                        double pairsPerBucket = pairs / sim.Buckets;
                        double storageCap = storageLink / bytesPerBucket * pairsPerBucket;
                        double coordinatorCap = inputs.CoordinatorBucketsPerSecond * pairsPerBucket;
                        // A storage server whose disk writes as fast as this machine's (fsync per file): the partitions' writes.
                        double diskCap = double.IsNaN(inputs.WriteBytesPerSecond) ? double.PositiveInfinity : inputs.WriteBytesPerSecond / (sim.BytesWritten / sim.Buckets) * pairsPerBucket;
                        storageCap = Math.Min(storageCap, diskCap);
                        double rate = Math.Min(sim.PairsPerSecond, Math.Min(storageCap, coordinatorCap));
                        double scaled = Math.Min(sim.PairsPerSecond, coordinatorCap);
                        string limit = rate == sim.PairsPerSecond ? (n >= p ? "partitions" : sim.Busy < 0.9 ? "schedule" : "compute") : rate == storageCap ? "storage" : "coordinator";
                        string scaledLimit = scaled == sim.PairsPerSecond ? (n >= p ? "partitions" : sim.Busy < 0.9 ? "schedule" : "compute") : "coordinator";
                        rows.Add((p, ordering, rate, scaled, string.Create(CultureInfo.InvariantCulture,
                            $"{n,5} {p,4}  {ordering,-13} {sim.Buckets / sim.Seconds,9:F2}  {bytesPerBucket / Mib,10:F1}  {sim.PairsPerSecond / 1e6,15:F1}M {storageCap / 1e6,11:F1}M {coordinatorCap / 1e6,9:F1}M {rate / 1e6,8:F1}M  {sim.Busy * 100,3:F0}%  {limit,-13}  {scaled / 1e6,6:F1}M {scaledLimit}")));
                    }
                }
                if (Options.String(args, "--all-partitions") is not null || args.Contains("--all-partitions"))
                {
                    foreach (var row in rows)
                        Console.WriteLine(row.Line);
                    continue;
                }
                // P = 8 (the acceptance run's) in both orders, P = N (Deterministic), and the best P for this N if it is another.
                foreach (var row in rows.Where(r => r.P == 8))
                    Console.WriteLine(row.Line);
                if (n > 8 && n <= 64)
                    Console.WriteLine(rows.First(r => r.P == n && r.Ordering == BucketOrdering.Deterministic).Line + "   (P = N)");
                var best = rows.Where(r => r.Ordering == BucketOrdering.Deterministic).MaxBy(r => r.Rate);
                if (best.P != 8 && best.P != n)
                    Console.WriteLine(best.Line + "   (best P, one storage link)");
                var bestScaled = rows.Where(r => r.Ordering == BucketOrdering.Deterministic).MaxBy(r => r.Scaled);
                if (bestScaled.P != 8 && bestScaled.P != best.P && bestScaled.P != n)
                    Console.WriteLine(bestScaled.Line + "   (best P, storage scaling)");
            }
        }

        /// <summary>
        /// A discrete-event simulation of one epoch under the coordinator's rules (CoordinatorGrain.Candidates and
        /// LeaseAsync): Deterministic (the next bucket of every input partition, when it is also the next of its output
        /// partition) or Free (any bucket of the first episode not done, a barrier between episodes); both partitions
        /// free; the bucket whose partitions the worker holds at their current version preferred (the first such
        /// candidate in the coordinator's order). A bucket's time on its machine: loading the partitions it does not
        /// hold, reading its pairs and writing its two partitions over the machine's link, plus its kernel time. A worker
        /// that is told to wait asks again after the poll interval (a worker that completed asks at once).
        /// </summary>
        private static class ScheduleSimulation
        {
            public readonly record struct Outcome(long Buckets, double Seconds, double PairsPerSecond, double BytesMoved, double BytesWritten, double Busy);

            public static Outcome Run(int workers, int p, int episodes, int nodes, int dimension, double pairs, double kernelRate, double diagonalRatio, double link, double poll, BucketOrdering ordering)
            {
                long total = (long)episodes * p * p;
                double partitionBytes = 4.0 * dimension * Math.Ceiling(nodes / (double)p);
                // Pairs per bucket: diagonal buckets hold diagonalRatio times the others (measured).
                double offDiagonal = pairs / episodes / (p * (p - 1) + p * diagonalRatio);
                var done = new bool[total];
                var inputDone = new long[p];
                var outputDone = new long[p];
                var inputVersion = new long[p];
                var outputVersion = new long[p];
                var inputLocked = new bool[p];
                var outputLocked = new bool[p];
                var episodeDone = new long[episodes];
                long firstOpen = 0, token = 0, doneCount = 0;
                var leased = new HashSet<long>();
                var residentInput = new (int Partition, long Version)[workers];
                var residentOutput = new (int Partition, long Version)[workers];
                for (int w = 0; w < workers; w++)
                {
                    residentInput[w] = (-1, -1);
                    residentOutput[w] = (-1, -1);
                }
                // Events: (time, worker, finishing work item or -1 for "ask").
                var queue = new PriorityQueue<(int Worker, long Item, long Token), (double Time, long Sequence)>();
                long sequence = 0;
                for (int w = 0; w < workers; w++)
                    queue.Enqueue((w, -1, 0), (0, sequence++));
                double now = 0, busy = 0, bytes = 0;
                (int Episode, int Input, int Output) At(long w)
                {
                    int i = (int)(w % p);
                    long rest = w / p;
                    int round = (int)(rest % p);
                    return ((int)(rest / p), i, (i + round) % p);
                }
                long OutputItem(int output, long k) => k * p + ((output - (int)(k % p)) % p + p) % p;
                IEnumerable<long> Candidates()
                {
                    if (ordering == BucketOrdering.Deterministic)
                    {
                        for (int i = 0; i < p; i++)
                        {
                            if (inputDone[i] >= (long)episodes * p)
                                continue;
                            long w = inputDone[i] * p + i;
                            if (OutputItem(At(w).Output, outputDone[At(w).Output]) == w && !leased.Contains(w))
                                yield return w;
                        }
                    }
                    else
                    {
                        long first = firstOpen * p * p;
                        for (long w = first; w < first + (long)p * p && w < total; w++)
                        {
                            if (!done[w] && !leased.Contains(w))
                                yield return w;
                        }
                    }
                }
                while (doneCount < total)
                {
                    queue.TryDequeue(out var next, out var priority);
                    var (worker, item, leaseToken) = next;
                    now = priority.Time;
                    if (item >= 0)
                    {
                        var (episode, input, output) = At(item);
                        done[item] = true;
                        leased.Remove(item);
                        inputLocked[input] = outputLocked[output] = false;
                        inputDone[input]++;
                        outputDone[output]++;
                        inputVersion[input] = leaseToken;
                        outputVersion[output] = leaseToken;
                        residentInput[worker] = (input, leaseToken);
                        residentOutput[worker] = (output, leaseToken);
                        doneCount++;
                        episodeDone[episode]++;
                        while (firstOpen < episodes && episodeDone[firstOpen] == (long)p * p)
                            firstOpen++;
                    }
                    long best = -1;
                    int bestScore = -1;
                    foreach (long w in Candidates())
                    {
                        var (_, input, output) = At(w);
                        if (inputLocked[input] || outputLocked[output])
                            continue;
                        int score = (residentInput[worker].Partition == input && residentInput[worker].Version == inputVersion[input] ? 1 : 0)
                            + (residentOutput[worker].Partition == output && residentOutput[worker].Version == outputVersion[output] ? 1 : 0);
                        if (score > bestScore)
                        {
                            best = w;
                            bestScore = score;
                        }
                    }
                    if (best < 0)
                    {
                        if (doneCount < total)
                            queue.Enqueue((worker, -1, 0), (now + poll, sequence++));
                        continue;
                    }
                    var chosen = At(best);
                    inputLocked[chosen.Input] = outputLocked[chosen.Output] = true;
                    leased.Add(best);
                    token++;
                    double bucketPairs = chosen.Input == chosen.Output ? offDiagonal * diagonalRatio : offDiagonal;
                    double moved = (2 - bestScore) * partitionBytes + 8 * bucketPairs + 2 * partitionBytes;
                    double seconds = moved / link + bucketPairs / kernelRate;
                    bytes += moved;
                    busy += seconds;
                    queue.Enqueue((worker, best, token), (now + seconds, sequence++));
                }
                return new Outcome(total, now, pairs / now, bytes, total * 2 * partitionBytes, busy / (now * workers));
            }
        }
    }
}
