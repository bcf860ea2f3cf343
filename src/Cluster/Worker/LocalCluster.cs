using System;
using System.Collections.Generic;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Hosting;

namespace Embeddings.Cluster.Worker
{
    /// <summary>Settings of a silo of a local development cluster (<see cref="LocalCluster.BuildSilo"/>).</summary>
    public sealed record LocalSiloOptions
    {
        /// <summary>The shared storage folder, the same for every silo and the submitter. Required; must exist.</summary>
        public string Storage { get; init; } = "";

        /// <summary>The port silos talk to each other on (on 127.0.0.1): 1 to 65535. Default 11111.</summary>
        public int SiloPort { get; init; } = 11111;

        /// <summary>The port clients (job submitters) connect to (on 127.0.0.1): 1 to 65535, not <see cref="SiloPort"/>. Default 30000.</summary>
        public int GatewayPort { get; init; } = 30000;

        /// <summary>
        /// The silo port of the cluster's first silo, which keeps the membership table in its memory (Orleans'
        /// development clustering); null (the default) makes this silo the first one. Every other silo names it.
        /// </summary>
        public int? PrimarySiloPort { get; init; }

        /// <summary>How often an idle worker asks the jobs for a bucket: 10 ms to 1 minute. Default 1 s.</summary>
        public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1);

        /// <summary>The lowest level logged to the console (Orleans' own messages start at Warning). Default Information.</summary>
        public LogLevel LogLevel { get; init; } = LogLevel.Information;
    }

    /// <summary>
    /// A development cluster on one machine: silos and clients on 127.0.0.1, with Orleans' development clustering
    /// (the first silo keeps the membership table in memory, the others and the clients find it by port). It needs
    /// no database, so several processes on one machine form a cluster in seconds; but the first silo is a single
    /// point of failure for membership (if it stops, the cluster cannot admit or declare silos), and nothing leaves
    /// the machine. A cluster of several machines configures a real membership provider (Azure Table, SQL, Consul,
    /// ...) with <c>UseOrleans</c> and <see cref="ClusterHostingExtensions.AddPartitionedTrainingWorker"/>.
    /// </summary>
    public static class LocalCluster
    {
        /// <summary>The Orleans service id of local clusters.</summary>
        public const string ServiceId = "embeddings";

        /// <summary>The Orleans cluster id of local clusters.</summary>
        public const string ClusterId = "embeddings-local";

        /// <summary>A host running one silo with the partitioned-training worker; start it with <c>StartAsync</c> or <c>RunAsync</c>.</summary>
        /// <exception cref="ArgumentException">A setting is out of range (the message names it and the fix).</exception>
        /// <exception cref="System.IO.DirectoryNotFoundException">The storage folder does not exist.</exception>
        public static IHost BuildSilo(LocalSiloOptions options)
        {
            ArgumentNullException.ThrowIfNull(options);
            CheckPort("LocalSiloOptions.SiloPort", options.SiloPort);
            CheckPort("LocalSiloOptions.GatewayPort", options.GatewayPort);
            if (options.SiloPort == options.GatewayPort)
                throw new ArgumentException($"LocalSiloOptions.SiloPort and GatewayPort are both {options.SiloPort}; give the gateway its own port (30000 is the default).", nameof(options));
            if (options.PrimarySiloPort is int primary)
                CheckPort("LocalSiloOptions.PrimarySiloPort", primary);
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            ConfigureLogging(builder.Logging, options.LogLevel);
            builder.UseOrleans(silo =>
            {
                silo.UseLocalhostClustering(options.SiloPort, options.GatewayPort,
                    options.PrimarySiloPort is int port ? new IPEndPoint(IPAddress.Loopback, port) : null, ServiceId, ClusterId);
                silo.AddPartitionedTrainingWorker(o =>
                {
                    o.Storage = options.Storage;
                    o.PollInterval = options.PollInterval;
                });
            });
            return builder.Build();
        }

        /// <summary>A host running a client of the local cluster whose silos listen for clients on <paramref name="gatewayPorts"/> (127.0.0.1); its IClusterClient is in its services.</summary>
        /// <exception cref="ArgumentException">No port, or a port out of range.</exception>
        public static IHost BuildClient(IReadOnlyList<int> gatewayPorts, LogLevel logLevel = LogLevel.Warning)
        {
            ArgumentNullException.ThrowIfNull(gatewayPorts);
            if (gatewayPorts.Count == 0)
                throw new ArgumentException("Give at least one gateway port of the cluster's silos (30000 is the default).", nameof(gatewayPorts));
            var endpoints = new IPEndPoint[gatewayPorts.Count];
            for (int k = 0; k < endpoints.Length; k++)
            {
                CheckPort("A gateway port", gatewayPorts[k]);
                endpoints[k] = new IPEndPoint(IPAddress.Loopback, gatewayPorts[k]);
            }
            var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
            ConfigureLogging(builder.Logging, logLevel);
            builder.UseOrleansClient(client =>
            {
                client.UseStaticClustering(endpoints);
                client.Configure<ClusterOptions>(o =>
                {
                    o.ServiceId = ServiceId;
                    o.ClusterId = ClusterId;
                });
            });
            return builder.Build();
        }

        private static void ConfigureLogging(ILoggingBuilder logging, LogLevel level)
        {
            logging.ClearProviders();
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            });
            logging.SetMinimumLevel(level);
            logging.AddFilter("Orleans", (LogLevel)Math.Max((int)level, (int)LogLevel.Warning));
            logging.AddFilter("Microsoft", (LogLevel)Math.Max((int)level, (int)LogLevel.Warning));
            logging.AddFilter("Polly", (LogLevel)Math.Max((int)level, (int)LogLevel.Warning));
        }

        private static void CheckPort(string name, int port)
        {
            if (port < 1 || port > 65535)
                throw new ArgumentOutOfRangeException(name, port, $"{name} is {port}; use a port from 1 to 65535.");
        }
    }
}
