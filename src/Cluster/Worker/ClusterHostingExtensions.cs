using System;
using Embeddings.Cluster.Graph;
using Embeddings.Cluster.Recommendation;
using Embeddings.Cluster.Sequences;
using Embeddings.Cluster.Storage;
using Embeddings.Cluster.Tasks;
using Embeddings.Cluster.Training;
using Embeddings.Cluster.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orleans.Hosting
{
    /// <summary>Adds partitioned training to an Orleans silo.</summary>
    public static class ClusterHostingExtensions
    {
        /// <summary>
        /// Makes the silo a partitioned-training worker: it can host job coordinators (which need the shared storage)
        /// and runs the worker loop, which trains buckets of every job in the storage until the silo stops. The
        /// bucket kernel is <see cref="SkipGramBucketTrainer"/> unless an <see cref="IBucketTrainer"/> was registered
        /// before this call. The worker runs the tasks of batch recommendation jobs with
        /// <see cref="BatchRecommendationTaskHandler"/>, the pair tasks of graph jobs with <see cref="GraphPairTaskHandler"/> and of
        /// item2vec jobs with <see cref="SequencePairTaskHandler"/>,
        /// and those of other kinds with the handlers registered by
        /// <see cref="AddClusterTaskHandler{THandler}"/>.
        /// </summary>
        /// <param name="builder">The silo.</param>
        /// <param name="configure">Sets <see cref="ClusterWorkerOptions.Storage"/> (required) and the other settings.</param>
        /// <exception cref="ArgumentException">A setting is out of range.</exception>
        /// <exception cref="System.IO.DirectoryNotFoundException">The storage folder does not exist.</exception>
        public static ISiloBuilder AddPartitionedTrainingWorker(this ISiloBuilder builder, Action<ClusterWorkerOptions> configure)
        {
            ArgumentNullException.ThrowIfNull(builder);
            ArgumentNullException.ThrowIfNull(configure);
            var options = new ClusterWorkerOptions();
            configure(options);
            options.Validate();
            var store = new DirectoryPartitionStore(options.Storage);
            builder.Services.AddSingleton<IPartitionStore>(store);
            builder.Services.TryAddSingleton<IBucketTrainer, SkipGramBucketTrainer>();
            builder.Services.Configure<ClusterWorkerOptions>(o =>
            {
                o.Storage = options.Storage;
                o.PollInterval = options.PollInterval;
            });
            // The built-in job kinds; a handler registered for the same kind replaces the built-in one.
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterTaskHandler, BatchRecommendationTaskHandler>());
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterTaskHandler, GraphPairTaskHandler>());
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterTaskHandler, SequencePairTaskHandler>());
            builder.Services.AddHostedService<ClusterWorker>();
            return builder;
        }

        /// <summary>
        /// Registers the handler of one kind of task (<see cref="IClusterTaskHandler.Kind"/>) in the silo: its worker
        /// then runs the tasks of jobs of that kind. Every silo that should run such tasks registers it; a silo without
        /// the handler leaves those jobs to the others. Registering the same handler type twice has no effect.
        /// </summary>
        /// <typeparam name="THandler">The handler, created once per silo from the silo's services.</typeparam>
        public static ISiloBuilder AddClusterTaskHandler<THandler>(this ISiloBuilder builder)
            where THandler : class, IClusterTaskHandler
        {
            ArgumentNullException.ThrowIfNull(builder);
            builder.Services.TryAddEnumerable(ServiceDescriptor.Singleton<IClusterTaskHandler, THandler>());
            return builder;
        }
    }
}
