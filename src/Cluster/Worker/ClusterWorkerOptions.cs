using System;

namespace Embeddings.Cluster.Worker
{
    /// <summary>Settings of the worker loop that runs in every silo.</summary>
    public sealed class ClusterWorkerOptions
    {
        /// <summary>The shared storage folder (the same path on every silo). Required.</summary>
        public string Storage { get; set; } = "";

        /// <summary>How long an idle worker waits before asking the jobs for a bucket again: 10 ms to 1 minute. Default 1 s.</summary>
        public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

        /// <summary>Checks the settings.</summary>
        /// <exception cref="ArgumentException">A setting is out of range (the message names it and the fix).</exception>
        public void Validate()
        {
            if (string.IsNullOrWhiteSpace(Storage))
                throw new ArgumentException("ClusterWorkerOptions.Storage is empty: set it to the shared folder every silo mounts (the same path on every machine).", nameof(Storage));
            if (PollInterval < TimeSpan.FromMilliseconds(10) || PollInterval > TimeSpan.FromMinutes(1))
                throw new ArgumentOutOfRangeException(nameof(PollInterval), PollInterval, "ClusterWorkerOptions.PollInterval must be between 10 ms and 1 minute (1 s is the default).");
        }
    }
}
