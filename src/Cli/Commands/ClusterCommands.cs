using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Embeddings.Cli.Data;
using Embeddings.Cluster;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Worker;
using Microsoft.Extensions.Hosting;

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings cluster silo</c> (a worker silo of a local development cluster) and <c>embeddings cluster submit
    /// node2vec|deepwalk</c> (a job on it): docs/cluster.md.
    /// </summary>
    internal static class ClusterCommands
    {
        /// <summary>The default --port of a silo (Orleans' default silo port).</summary>
        public const int DefaultSiloPort = 11111;

        /// <summary>A silo's gateway port, unless given: its --port plus this.</summary>
        public const int GatewayOffset = 20000;

        /// <summary>The <c>cluster</c> command with its <c>silo</c> and <c>submit</c> subcommands.</summary>
        public static Command Create()
        {
            var cluster = new Command("cluster", "Jobs on an Orleans cluster: 'cluster silo' starts a worker, 'cluster submit node2vec|deepwalk|item2vec|recommend' runs a job (docs/cluster.md).");
            cluster.Subcommands.Add(new ClusterSiloCommand().Command);
            var submit = new Command("submit", "Run a job on the cluster and wait for it: node2vec, deepwalk, item2vec or recommend.");
            submit.Subcommands.Add(GraphEmbeddingCommand.ClusterNode2Vec().Command);
            submit.Subcommands.Add(GraphEmbeddingCommand.ClusterDeepWalk().Command);
            submit.Subcommands.Add(new Item2VecCommand(cluster: true).Command);
            submit.Subcommands.Add(new ClusterRecommendCommand().Command);
            cluster.Subcommands.Add(submit);
            return cluster;
        }

        /// <summary>The port of <c>HOST:PORT</c>, where the host is this machine (127.0.0.1 or localhost: the local cluster's silos listen there only).</summary>
        /// <exception cref="UsageException">Not HOST:PORT, another host, or a port out of range.</exception>
        public static int LocalPort(string value, string flag)
        {
            int colon = value.LastIndexOf(':');
            string host = colon < 0 ? "" : value[..colon];
            if (colon < 0 || !int.TryParse(value.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int port) || port < 1 || port > 65535)
                throw new UsageException($"{flag} '{value}' is not HOST:PORT (for example 127.0.0.1:{DefaultSiloPort}); give the host and a port from 1 to 65535.");
            if (host is not ("127.0.0.1" or "localhost"))
                throw new UsageException($"{flag} '{value}' names the host '{host}'; the command line's cluster runs on this machine only (127.0.0.1 or localhost, Orleans' development clustering). For several machines, host silos in your own program with a membership provider (docs/cluster.md).");
            return port;
        }
    }

    /// <summary><c>embeddings cluster silo --storage DIR --port N [--gateway-port N] [--seed-silo HOST:PORT]</c>: runs a worker silo until Ctrl+C.</summary>
    internal sealed class ClusterSiloCommand : CliCommand
    {
        private readonly Option<string> _storage = new Option<string>("--storage")
        {
            Description = "the shared storage folder (must exist): the same folder for every silo and for the submitter",
            HelpName = "DIR",
        }.Required();

        private readonly Option<int> _port = CliOption.Int("--port", "the port silos talk to each other on, on 127.0.0.1").Default(ClusterCommands.DefaultSiloPort).Between(1, 65535);

        private readonly Option<int?> _gatewayPort = CliOption.OptionalInt("--gateway-port", $"the port submitters connect to, on 127.0.0.1 (default: --port + {ClusterCommands.GatewayOffset})")
            .Check(v => v >= 1 && v <= 65535, "must be from 1 to 65535");

        private readonly Option<string> _seedSilo = new Option<string>("--seed-silo")
        {
            Description = "HOST:PORT of the cluster's first silo (its --port; 127.0.0.1 only); leave out to start the first silo, which keeps the membership table",
            HelpName = "HOST:PORT",
        };

        private readonly Option<int> _pollMilliseconds = CliOption.Int("--poll-ms", "how often an idle worker asks for a bucket, in milliseconds").Default(1000).Between(10, 60_000);

        public ClusterSiloCommand()
            : base("silo", "Start a worker silo of a local cluster (127.0.0.1) on the shared storage; it trains buckets of every job there until Ctrl+C.",
                "Silos and submitters find each other on 127.0.0.1 through the first silo (Orleans' development clustering): start it first, then the others with --seed-silo 127.0.0.1:PORT. Ctrl+C stops a silo: its bucket is given back and trained by another silo.")
        {
            Add(_storage, _port, _gatewayPort, _seedSilo, _pollMilliseconds);
        }

        protected override int Run(CommandRun run)
        {
            string storage = run.Get(_storage);
            if (!Directory.Exists(storage))
                throw new DirectoryNotFoundException($"{run.Flag(_storage)} '{storage}' is not a folder; create the shared storage folder first (the same for every silo and the submitter).");
            int port = run.Get(_port);
            int gateway = run.Get(_gatewayPort) ?? port + ClusterCommands.GatewayOffset;
            if (gateway > 65535)
                throw new UsageException($"{run.Flag(_port)} {port} leaves no default gateway port (--port + {ClusterCommands.GatewayOffset} is above 65535); give --gateway-port.");
            if (gateway == port)
                throw new UsageException($"{run.Flag(_gatewayPort)} is {gateway}, the same as {run.Flag(_port)}; give the gateway its own port.");
            int? primary = run.Given(_seedSilo) ? ClusterCommands.LocalPort(run.Get(_seedSilo), run.Flag(_seedSilo)) : null;
            if (primary == port)
                throw new UsageException($"{run.Flag(_seedSilo)} names this silo's own {run.Flag(_port)} {port}; leave {run.Flag(_seedSilo)} out to start the first silo, or name the first silo's port.");
            using var host = LocalCluster.BuildSilo(new LocalSiloOptions
            {
                Storage = storage,
                SiloPort = port,
                GatewayPort = gateway,
                PrimarySiloPort = primary,
                PollInterval = TimeSpan.FromMilliseconds(run.Get(_pollMilliseconds)),
            });
            host.StartAsync(run.Cancellation).GetAwaiter().GetResult();
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"silo on 127.0.0.1:{port} (gateway {gateway}){(primary is int p ? $", joined through 127.0.0.1:{p}" : ", first silo")}; storage '{Path.GetFullPath(storage)}'; Ctrl+C stops it"));
            run.Out.Flush();
            try
            {
                System.Threading.Tasks.Task.Delay(System.Threading.Timeout.Infinite, run.Cancellation).GetAwaiter().GetResult();
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM: the normal way to stop a silo.
            }
            host.StopAsync(TimeSpan.FromSeconds(30)).GetAwaiter().GetResult();
            run.Out.WriteLine("silo stopped");
            return ExitCodes.Success;
        }
    }

    /// <summary>The flags of <c>cluster submit</c> that say where and how a job runs (the training flags are the single-machine command's).</summary>
    internal sealed class ClusterSubmitFlags
    {
        private readonly bool _graph;
        private readonly bool _submitterPairs;

        /// <summary>
        /// The flags of every job (storage, gateway, job id, lease); with <paramref name="graph"/> those of training jobs
        /// (partitions, ordering, episodes, pair window); with <paramref name="submitterPairs"/> also --pairs (graph jobs,
        /// whose submitter can write the pairs itself).
        /// </summary>
        public ClusterSubmitFlags(bool graph = true, bool submitterPairs = true)
        {
            _graph = graph;
            _submitterPairs = graph && submitterPairs;
        }

        private readonly Option<string> _storage = new Option<string>("--storage")
        {
            Description = "the shared storage folder of the cluster's silos (must exist)",
            HelpName = "DIR",
        }.Required();

        private readonly Option<string> _gateway = new Option<string>("--gateway")
        {
            Description = $"HOST:PORT[,HOST:PORT...] of silo gateways on 127.0.0.1 (a silo's --gateway-port; default 127.0.0.1:{ClusterCommands.DefaultSiloPort + ClusterCommands.GatewayOffset}, the first silo's with default ports)",
            HelpName = "HOST:PORT",
        };

        private readonly Option<int> _partitions = CliOption.Int("--partitions", "P, the partitions of the node vectors; workers train P disjoint buckets at once").Default(4).Between(1, ClusterJobSpec.MaxPartitions);

        private readonly Option<string> _jobId = new Option<string>("--job-id")
        {
            Description = "the job's name in the storage (letters, digits, '_', '-'; default: from --output's file name); the same command given again resumes it",
            HelpName = "NAME",
        };

        private readonly Option<Named<BucketOrdering>> _ordering = CliOption.Choice("--ordering", "bucket order: deterministic (the same result on any cluster) or free (fewer idle workers)",
            new[] { ("deterministic", BucketOrdering.Deterministic), ("free", BucketOrdering.Free) }, BucketOrdering.Deterministic);

        private readonly Option<int> _leaseSeconds = CliOption.Int("--lease-seconds", "a bucket or task whose worker stops renewing its lease for this long is given to another").Default(60).Between(1, 86_400);

        private readonly Option<double> _episodeGib = CliOption.Double("--episode-gib", "pair bytes per episode, in GiB, before the walks are split into more episodes").Default(4).Check(v => double.IsFinite(v) && v >= 1.0 / 1024, "must be at least 1/1024 (1 MiB)");

        private readonly Option<Named<GraphPairGeneration>> _pairs = CliOption.Choice("--pairs",
            "who writes the pairs: workers (episode by episode as tasks, at most --pair-window episodes in the storage) or submitter (all of them before the job starts)",
            new[] { ("workers", GraphPairGeneration.Workers), ("submitter", GraphPairGeneration.Submitter) }, GraphPairGeneration.Workers);

        private readonly Option<int> _pairWindow = CliOption.Int("--pair-window", "with --pairs workers: the most episodes whose pairs are in the storage at once")
            .Default(new GraphClusterJobOptions().PairTaskWindow).Between(1, 64);

        /// <summary>The options, to add to a command.</summary>
        private readonly Option<int> _minEpisodes = CliOption.Int("--min-episodes", "the fewest episodes per epoch (fewer only when the walks are fewer)")
            .Default(new PartitionedTrainingOptions().MinimumEpisodesPerEpoch).Between(1, 1024);

        public Option[] All => _graph
            ? _submitterPairs
                ? new Option[] { _storage, _gateway, _partitions, _jobId, _ordering, _leaseSeconds, _episodeGib, _minEpisodes, _pairs, _pairWindow }
                : new Option[] { _storage, _gateway, _partitions, _jobId, _ordering, _leaseSeconds, _episodeGib, _minEpisodes, _pairWindow }
            : new Option[] { _storage, _gateway, _jobId, _leaseSeconds };

        /// <summary>The flags' library names, for messages.</summary>
        public IEnumerable<(string Name, Option Option)> Spoken => _graph
            ? new (string, Option)[] { ("GraphClusterJobOptions.Partitions", _partitions), ("GraphClusterJobOptions.JobId", _jobId), ("ClusterJobSpec.JobId", _jobId), ("GraphClusterJobOptions.PairTaskWindow", _pairWindow) }
            : new (string, Option)[] { ("ClusterJobSpec.JobId", _jobId) };

        /// <summary>The storage folder, the gateway ports, the job id (from --job-id or the output's name) and the lease timeout.</summary>
        public (string Storage, int[] Gateways, string JobId, TimeSpan LeaseTimeout) ReadCommon(CommandRun run, string output)
        {
            string storage = run.Get(_storage);
            if (!Directory.Exists(storage))
                throw new DirectoryNotFoundException($"{run.Flag(_storage)} '{storage}' is not a folder; give the shared storage folder the silos were started with.");
            string gateways = run.Given(_gateway) ? run.Get(_gateway) : $"127.0.0.1:{ClusterCommands.DefaultSiloPort + ClusterCommands.GatewayOffset}";
            int[] ports = gateways.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(g => ClusterCommands.LocalPort(g, run.Flag(_gateway))).ToArray();
            if (ports.Length == 0)
                throw new UsageException($"{run.Flag(_gateway)} is empty; give HOST:PORT of at least one silo gateway.");
            string jobId = run.Given(_jobId) ? run.Get(_jobId) : JobIdOf(output);
            return (storage, ports, jobId, TimeSpan.FromSeconds(run.Get(_leaseSeconds)));
        }

        /// <summary>The storage folder, the gateway ports and the job's cluster settings.</summary>
        public (string Storage, int[] Gateways, GraphClusterJobOptions Job) Read(CommandRun run, string output)
        {
            var (storage, ports, jobId, lease) = ReadCommon(run, output);
            if (run.Given(_pairWindow) && run.Get(_pairs).Value == GraphPairGeneration.Submitter)
                throw new UsageException($"{run.Flag(_pairWindow)} bounds the pairs the workers write; with {run.Flag(_pairs)} submitter every episode's pairs are written before the job starts. Leave {run.Flag(_pairWindow)} out, or use {run.Flag(_pairs)} workers.");
            var job = Shared(run, new GraphClusterJobOptions { PairGeneration = run.Get(_pairs).Value }, jobId, lease);
            return (storage, ports, job);
        }

        /// <summary>The storage folder, the gateway ports and an item2vec job's cluster settings.</summary>
        public (string Storage, int[] Gateways, Item2VecClusterJobOptions Job) ReadItem2Vec(CommandRun run, string output)
        {
            var (storage, ports, jobId, lease) = ReadCommon(run, output);
            var job = Shared(run, new Item2VecClusterJobOptions(), jobId, lease);
            return (storage, ports, job);
        }

        /// <summary><paramref name="job"/> with the settings every skip-gram job takes from the command line.</summary>
        private T Shared<T>(CommandRun run, T job, string jobId, TimeSpan lease)
            where T : SkipGramClusterJobOptions => (T)((SkipGramClusterJobOptions)job with
            {
                JobId = jobId,
                Partitions = run.Get(_partitions),
                Ordering = run.Get(_ordering).Value,
                LeaseTimeout = lease,
                EpisodeBytes = (long)(run.Get(_episodeGib) * (1L << 30)),
                MinimumEpisodesPerEpoch = run.Get(_minEpisodes),
                PairTaskWindow = run.Get(_pairWindow),
            });

        /// <summary>A job name from the output file's name: its letters, digits, '_' and '-' (others become '-'), at most 64.</summary>
        internal static string JobIdOf(string output)
        {
            string name = Path.GetFileNameWithoutExtension(output);
            var id = new StringBuilder();
            foreach (char c in name)
                id.Append(char.IsAsciiLetterOrDigit(c) || c is '_' or '-' ? c : '-');
            string text = id.ToString().TrimStart('-', '_');
            if (text.Length == 0)
                text = "job";
            return text.Length > 64 ? text[..64] : text;
        }
    }

    /// <summary>Runs a graph job on the cluster for <c>cluster submit node2vec|deepwalk</c>: connects, submits, shows progress, writes the vectors.</summary>
    internal static class ClusterSubmission
    {
        /// <summary>How long the submitter tries to reach a gateway: 20 s (tests shorten it).</summary>
        internal static TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(20);

        public static int Run(CommandRun run, ClusterSubmitFlags flags, GraphEmbeddingOptions options, Action<IEdgeWriter> readEdges, string output,
            System.Diagnostics.Stopwatch watch, Func<int> comments)
        {
            var (storage, gateways, job) = flags.Read(run, output);
            GraphClusterJob.CheckSettings(options, job);
            using var client = Connect(run, gateways);
            try
            {
                var grains = (Orleans.IClusterClient)client.Services.GetService(typeof(Orleans.IClusterClient))!;
                var store = new Embeddings.Cluster.Storage.DirectoryPartitionStore(storage);
                run.Error.WriteLine($"job '{job.JobId}': walking the graph and writing its pairs to '{storage}'");
                var progress = new ProgressLine(run.Error, watch);
                options.CancellationToken = run.Cancellation;
                var result = GraphClusterJob.TrainAsync(grains, store, readEdges, options, job, progress, run.Cancellation).GetAwaiter().GetResult();
                if (comments() > 0)
                    run.Error.WriteLine($"skipped {comments():N0} '#' comment line(s) at the top of the input");
                run.ThrowIfCancelled();
                EmbeddingFiles.Save(result.Vectors, output);
                var status = result.Status;
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job '{job.JobId}': {result.Vectors.Count:N0} nodes, {status.DoneBuckets:N0} buckets, {status.Pairs:N0} pairs, {status.ExpiredLeases} expired leases, mean loss {status.LossSum / Math.Max(1, status.Pairs):F4}; " +
                    $"{status.BytesRead / 1048576.0:F1} MiB read and {status.BytesWritten / 1048576.0:F1} MiB written by the workers; total {watch.Elapsed.TotalSeconds:F2} s wall"));
                return ExitCodes.Success;
            }
            finally
            {
                client.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            }
        }

        /// <summary>A started client of the local cluster; exit 1 with a message when no gateway answers within <see cref="ConnectTimeout"/>.</summary>
        public static IHost Connect(CommandRun run, int[] gateways)
        {
            // The submitter's own messages say what failed; Orleans' connection warnings only with EMBEDDINGS_DEBUG=1.
            bool debug = Environment.GetEnvironmentVariable(EmbeddingsCli.DebugVariable) is "1" or "true";
            var client = LocalCluster.BuildClient(gateways, debug ? Microsoft.Extensions.Logging.LogLevel.Warning : Microsoft.Extensions.Logging.LogLevel.Critical);
            using var connect = System.Threading.CancellationTokenSource.CreateLinkedTokenSource(run.Cancellation);
            connect.CancelAfter(ConnectTimeout);
            try
            {
                client.StartAsync(connect.Token).GetAwaiter().GetResult();
                return client;
            }
            catch (Exception e) when (!run.Cancellation.IsCancellationRequested)
            {
                client.Dispose();
                string reason = e is OperationCanceledException ? $"no gateway answered within {ConnectTimeout.TotalSeconds:F0} s" : EmbeddingsCli.OneLine(e);
                throw new IOException($"cannot reach the cluster at {string.Join(", ", gateways.Select(g => "127.0.0.1:" + g.ToString(CultureInfo.InvariantCulture)))} ({reason}); start silos with 'embeddings cluster silo --storage DIR', or give their gateways with --gateway.", e);
            }
            catch
            {
                client.Dispose();
                throw;
            }
        }

        /// <summary>One line per change of the buckets done: epoch, buckets, and pairs/s since the first status seen.</summary>
        internal sealed class ProgressLine(TextWriter error, System.Diagnostics.Stopwatch watch) : IProgress<JobStatus>
        {
            private long _done = -1;
            private long _firstPairs = -1;
            private double _firstSeconds;

            public void Report(JobStatus status)
            {
                if (status.DoneBuckets == _done)
                    return;
                double now = watch.Elapsed.TotalSeconds;
                string rate = "";
                if (_firstPairs < 0)
                {
                    _firstPairs = status.Pairs;
                    _firstSeconds = now;
                }
                else
                {
                    rate = string.Create(CultureInfo.InvariantCulture, $" ({(status.Pairs - _firstPairs) / Math.Max(1e-9, now - _firstSeconds):N0} pairs/s)");
                }
                _done = status.DoneBuckets;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"epoch {(status.Finished ? status.Epoch : status.Epoch + 1)}: {status.DoneBuckets:N0}/{status.TotalBuckets:N0} buckets, {status.Pairs:N0} pairs{rate}, {status.ActiveLeases} leases live, {status.ExpiredLeases} expired"));
            }
        }
    }
}

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings cluster submit recommend</c>: batch recommendations on the cluster, split by user range; the
    /// <c>recommend</c> command's flags and output, plus where the cluster is and the users per task.
    /// </summary>
    internal sealed class ClusterRecommendCommand : CliCommand
    {
        private readonly ClusterSubmitFlags _cluster = new(graph: false);
        private readonly Option<string> _model = CommonOptions.Input("--model", "a recommender saved by fit-recommender (or by mlContext.Model.Save of a RankingRecommenderTransformer)");
        private readonly Option<string> _users = CliOption.File("--users", "user ids, one per line (default: every user the model was trained on); unknown users get popular items");
        private readonly Option<int> _count = CliOption.Int("--count", "recommendations per user", "--k").Default(10).Between(1, 100_000);
        private readonly Option<string> _output = new Option<string>("--output")
        {
            Description = "one file (user<TAB>item<TAB>score<TAB>rank lines, or Parquet when FILE ends in .parquet: columns user, item, score, rank), "
                + "or a folder (an existing one, or a path ending in '/'): the shards part-00000.tsv|.parquet, ... in user order",
            HelpName = "FILE_OR_DIR",
        }.Required();
        private readonly Option<Named<Embeddings.Cluster.Recommendation.RecommendationShardFormat>> _format = CliOption.Choice("--format",
            "the shards' format (default: parquet when --output ends in .parquet, else tsv)",
            new[] { ("tsv", Embeddings.Cluster.Recommendation.RecommendationShardFormat.Tsv), ("parquet", Embeddings.Cluster.Recommendation.RecommendationShardFormat.Parquet) },
            Embeddings.Cluster.Recommendation.RecommendationShardFormat.Tsv);
        private readonly Option<int> _usersPerTask = CliOption.Int("--users-per-task", "users per task: each task scores one range of the user list and writes one shard").Default(1000).Between(1, 10_000_000);
        private readonly Option<bool> _includeSeen = CliOption.Switch("--include-seen", "also recommend items the user has interacted with (left out by default)");
        private readonly Option<string> _allow = CliOption.File("--allow", "only these items (one id per line) may be recommended");
        private readonly Option<string> _deny = CliOption.File("--deny", "these items (one id per line) are never recommended");
        private readonly Option<int?> _threads = CommonOptions.Threads();

        public ClusterRecommendCommand()
            : base("recommend", "Batch recommendations on the cluster, split by user range: the recommend command's flags, plus where the cluster is.",
                "The model and the users are copied into the storage; each silo loads the model once and writes one shard per range of --users-per-task users. --threads is each worker's scoring threads. The lists equal the recommend command's.")
        {
            Add(_cluster.All);
            Add(_model, _users, _count, _output, _format, _usersPerTask, _includeSeen, _allow, _deny, _threads);
            foreach (var (name, option) in _cluster.Spoken)
                Speak(name, option);
        }

        protected override int Run(CommandRun run)
        {
            var watch = System.Diagnostics.Stopwatch.StartNew();
            string modelPath = run.InputFile(_model);
            string? usersPath = run.OptionalInputFile(_users);
            string? allowPath = run.OptionalInputFile(_allow);
            string? denyPath = run.OptionalInputFile(_deny);
            string output = run.Get(_output);
            bool folder = Directory.Exists(output) || output.EndsWith('/') || output.EndsWith(Path.DirectorySeparatorChar);
            if (!folder)
            {
                string? parent = Path.GetDirectoryName(Path.GetFullPath(output));
                if (parent is not null && !Directory.Exists(parent))
                    throw new UsageException($"{run.Flag(_output)} '{output}': the folder '{parent}' does not exist; create it, or end {run.Flag(_output)} with '/' to write the shards into a new folder.");
            }
            var format = run.Given(_format)
                ? run.Get(_format).Value
                : output.EndsWith(".parquet", StringComparison.OrdinalIgnoreCase) ? Embeddings.Cluster.Recommendation.RecommendationShardFormat.Parquet : Embeddings.Cluster.Recommendation.RecommendationShardFormat.Tsv;
            var (storage, gateways, jobId, lease) = _cluster.ReadCommon(run, folder ? Path.TrimEndingDirectorySeparator(output) : output);
            var users = usersPath is null ? null : RecommendCommand.ReadIds(usersPath, "user");
            if (users is { Count: 0 })
                throw new FormatException($"{usersPath}: no user ids; give one id per line, or leave {run.Flag(_users)} out to recommend for every user the model knows.");
            var options = new Embeddings.Cluster.Recommendation.BatchRecommendationJobOptions
            {
                JobId = jobId,
                Count = run.Get(_count),
                UsersPerTask = run.Get(_usersPerTask),
                Format = format,
                ExcludeSeenItems = !run.Get(_includeSeen),
                AllowedItems = allowPath is null ? null : RecommendCommand.ReadIds(allowPath, "item"),
                DeniedItems = denyPath is null ? null : RecommendCommand.ReadIds(denyPath, "item"),
                NumberOfThreads = run.Get(_threads),
                LeaseTimeout = lease,
            };
            Embeddings.Cluster.Recommendation.BatchRecommendationJob.CheckOptions(options);
            using var client = ClusterSubmission.Connect(run, gateways);
            try
            {
                var grains = (Orleans.IClusterClient)client.Services.GetService(typeof(Orleans.IClusterClient))!;
                var store = new Embeddings.Cluster.Storage.DirectoryPartitionStore(storage);
                run.Error.WriteLine($"job '{jobId}': copying the model and the users into '{storage}'");
                var progress = new TaskProgressLine(run.Error, watch);
                var status = Embeddings.Cluster.Recommendation.BatchRecommendationJob.RunAsync(grains, store, modelPath, users, options, progress, run.Cancellation).GetAwaiter().GetResult();
                run.ThrowIfCancelled();
                long rows = Embeddings.Cluster.Recommendation.BatchRecommendationJob.WriteOutput(store, jobId, output);
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"job '{jobId}': {rows:N0} recommendations in {status.TotalTasks:N0} shards ({status.ExpiredLeases} expired leases) written to {Path.GetFullPath(output)} in {watch.Elapsed.TotalSeconds:F1} s"));
                return ExitCodes.Success;
            }
            finally
            {
                client.StopAsync(TimeSpan.FromSeconds(5)).GetAwaiter().GetResult();
            }
        }

        /// <summary>One line per change of the tasks committed.</summary>
        private sealed class TaskProgressLine(TextWriter error, System.Diagnostics.Stopwatch watch) : IProgress<JobStatus>
        {
            private long _done = -1;

            public void Report(JobStatus status)
            {
                if (status.DoneTasks == _done)
                    return;
                _done = status.DoneTasks;
                error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{status.DoneTasks:N0}/{status.TotalTasks:N0} tasks, {status.TaskRecords:N0} recommendations, {status.ActiveLeases} leases live, {status.ExpiredLeases} expired; {watch.Elapsed.TotalSeconds:F1} s"));
            }
        }
    }
}
