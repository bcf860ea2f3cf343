using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Sequences;
using Embeddings.Cluster.Storage;
using Embeddings.Infrastructure;
using Embeddings.Partitioned;
using Embeddings.SkipGram;
using Microsoft.ML;
using Orleans;

namespace Embeddings.Cluster
{
    /// <summary>The cluster settings of an item2vec job (the skip-gram and column settings are <see cref="Item2VecEstimator.Options"/>).</summary>
    public sealed record Item2VecClusterJobOptions : SkipGramClusterJobOptions
    {
    }

    /// <summary>What an item2vec job trained.</summary>
    /// <param name="Model">The item and user lookup, as <see cref="Item2VecEstimator.Fit(Microsoft.ML.IDataView)"/> returns it (user vectors pooled from each user's last items).</param>
    /// <param name="Status">The job's final status.</param>
    public sealed record Item2VecClusterResult(Item2VecTransformer Model, JobStatus Status);

    /// <summary>
    /// item2vec on the cluster. The submitter reads the interactions into one time-ordered sequence per user, counts the
    /// items (the vocabulary, most frequent first) and writes the tokenised sequences into the shared storage in shards
    /// of whole sequences (about 10,000 tokens each, users in order). Each episode is a contiguous range of shards, so a
    /// range of users; the workers write each episode's pairs as a task (<see cref="SequencePairTaskHandler"/>), at most
    /// <see cref="SkipGramClusterJobOptions.PairTaskWindow"/> episodes at a time, and train the buckets with the
    /// single-machine kernel. The pairs, initial vectors and learning-rate schedule are those of
    /// <see cref="Item2VecEstimator"/> with <see cref="SkipGramEmbeddingEstimator.Options.Partitioning"/> and the same P;
    /// with P = 1 the vectors are the same bit for bit.
    /// </summary>
    public static class Item2VecClusterJob
    {
        private const string Component = "Item2VecClusterJob";

        /// <summary>
        /// Writes the job into the storage (<see cref="Prepare"/>), starts its coordinator, waits until the workers
        /// finished it, and returns the item and user lookup.
        /// </summary>
        /// <param name="grains">A cluster client, or a silo's grain factory.</param>
        /// <param name="store">The shared storage the silos' workers use.</param>
        /// <param name="mlContext">The context of the returned transformer.</param>
        /// <param name="interactions">The interaction rows: the user, item and (optional) timestamp columns of <paramref name="options"/>.</param>
        /// <param name="options">The item2vec settings (skip-gram with negative sampling; see <see cref="CheckSettings"/>).</param>
        /// <param name="job">The cluster settings.</param>
        /// <param name="progress">Receives the job's status at every poll, or null.</param>
        /// <param name="cancellation">Stops the submission or the waiting (a started job goes on in the cluster).</param>
        public static async Task<Item2VecClusterResult> TrainAsync(IGrainFactory grains, IPartitionStore store, MLContext mlContext, IDataView interactions,
            Item2VecEstimator.Options options, Item2VecClusterJobOptions job, IProgress<JobStatus>? progress = null, CancellationToken cancellation = default)
        {
            ArgumentNullException.ThrowIfNull(grains);
            var (_, estimator, sequences) = PrepareCore(store, mlContext, interactions, options, job, log: null, cancellation);
            await ClusterJob.StartAsync(grains, job.JobId).ConfigureAwait(false);
            var status = await ClusterJob.WaitAsync(grains, job.JobId, job.PollInterval, progress, cancellation).ConfigureAwait(false);
            var (items, context) = ReadTables(store, job.JobId);
            var skipGram = estimator.Settings.SkipGram;
            long tokens = sequences.Sum(s => (long)s.Items.Count);
            var summary = new SkipGramTrainingSummary(items.Count, sequences.Count, 0, tokens, skipGram.Epochs, status.Pairs > 0 ? status.LossSum / status.Pairs : double.NaN,
                status.TrainingSeconds > 0 ? tokens * (double)skipGram.Epochs / status.TrainingSeconds : 0, TimeSpan.FromSeconds(status.TrainingSeconds))
            {
                ItemCounts = ClusterJob.ReadJob(store, job.JobId).ItemCounts.ToArray(),
            };
            var model = estimator.BuildTrained(items, skipGram.KeepContextVectors ? context : null, summary, sequences.Select(s => (s.User, s.Items)));
            return new Item2VecClusterResult(model, status);
        }

        /// <summary>
        /// Checks the settings, reads the interactions, and writes the job (the tokenised sequences, the item keys and
        /// counts, the skip-gram settings, the initial partitions and the description) into the storage. Submitting the
        /// same job again (same interactions and settings) writes nothing; another job under the same id throws. A null
        /// Seed draws one, so such a job cannot be submitted again: set the seed to resume a job.
        /// </summary>
        /// <returns>The job's spec.</returns>
        /// <exception cref="ArgumentException">A setting or a column is out of range or missing (the message names it, its value and the fix).</exception>
        /// <exception cref="NotSupportedException">A setting the cluster does not support (see <see cref="CheckSettings"/>).</exception>
        public static ClusterJobSpec Prepare(IPartitionStore store, MLContext mlContext, IDataView interactions, Item2VecEstimator.Options options, Item2VecClusterJobOptions job,
            Action<string>? log = null, CancellationToken cancellation = default) =>
            PrepareCore(store, mlContext, interactions, options, job, log, cancellation).Spec;

        /// <summary>
        /// Checks the settings without touching the storage or the cluster. Refused: CBOW, hierarchical softmax, no
        /// negatives, a negative-sampling exponent other than 0.75, <see cref="SkipGramEmbeddingEstimator.Options.Partitioning"/>
        /// and <see cref="SkipGramEmbeddingEstimator.Options.Progress"/> (pass an <c>IProgress&lt;JobStatus&gt;</c>), more
        /// than 64 negatives and more than 4,096 dimensions.
        /// </summary>
        /// <exception cref="ArgumentException">A setting is out of range (the message names it, its value and the fix).</exception>
        /// <exception cref="NotSupportedException">A setting the cluster does not support.</exception>
        public static void CheckSettings(Item2VecEstimator.Options options, Item2VecClusterJobOptions job)
        {
            ArgumentNullException.ThrowIfNull(options);
            ArgumentNullException.ThrowIfNull(job);
            var o = options.SkipGram ?? throw new ArgumentException($"{Component}: Item2VecEstimator.Options.SkipGram is null; give the skip-gram settings.", nameof(options));
            if (o.Model != SkipGramModel.SkipGram || o.HierarchicalSoftmax || o.NegativeSampleCount < 1)
                throw new NotSupportedException($"{Component}: the cluster trains skip-gram with negative sampling only (SkipGram.Model = {o.Model}, HierarchicalSoftmax = {o.HierarchicalSoftmax}, NegativeSampleCount = {o.NegativeSampleCount}); set Model = SkipGram, HierarchicalSoftmax = false and NegativeSampleCount 1 to 64, or train on one machine.");
            if (o.NegativeSamplingExponent != ClusterJobData.NegativeSamplingExponent)
                throw new NotSupportedException(string.Create(CultureInfo.InvariantCulture, $"{Component}: SkipGram.NegativeSamplingExponent = {o.NegativeSamplingExponent}; cluster jobs draw negatives from count^0.75. Set it to 0.75, or train on one machine."));
            if (o.Partitioning is not null)
                throw new NotSupportedException($"{Component}: SkipGram.Partitioning is for single-machine training; on the cluster set Item2VecClusterJobOptions.Partitions (now {job.Partitions}) and leave Partitioning null.");
            if (o.Progress is not null)
                throw new NotSupportedException($"{Component}: SkipGram.Progress is not reported by cluster jobs; pass an IProgress<JobStatus> to Item2VecClusterJob.TrainAsync and leave Progress null.");
            if (o.NegativeSampleCount > 64)
                throw new ArgumentOutOfRangeException(nameof(options), o.NegativeSampleCount, $"{Component}: SkipGram.NegativeSampleCount = {o.NegativeSampleCount}; cluster jobs draw 1 to 64 negatives (5 is usual).");
            if (o.EmbeddingDimension > ClusterJobSpec.MaxDimension)
                throw new ArgumentOutOfRangeException(nameof(options), o.EmbeddingDimension, $"{Component}: SkipGram.EmbeddingDimension = {o.EmbeddingDimension}; cluster jobs train 1 to {ClusterJobSpec.MaxDimension} dimensions.");
            job.Validate(Component, pairTasks: true);
        }

        /// <summary>The job's current item vectors keyed by item, and its output (context) vectors.</summary>
        /// <exception cref="InvalidOperationException">No such item2vec job, or it was never started.</exception>
        public static (EmbeddingTable Items, EmbeddingTable Context) ReadTables(IPartitionStore store, string jobId)
        {
            var (keys, trained) = ClusterJob.ReadKeyedVectors(store, jobId, "item", "; read it with ClusterJob.ReadVectors.");
            return (new EmbeddingTable(keys, trained.Input, trained.Dimension), new EmbeddingTable(keys, trained.Output, trained.Dimension));
        }

        private static (ClusterJobSpec Spec, Item2VecEstimator Estimator, IReadOnlyList<InteractionSequence> Sequences) PrepareCore(IPartitionStore store, MLContext mlContext,
            IDataView interactions, Item2VecEstimator.Options options, Item2VecClusterJobOptions job, Action<string>? log, CancellationToken cancellation)
        {
            ArgumentNullException.ThrowIfNull(store);
            ArgumentNullException.ThrowIfNull(mlContext);
            ArgumentNullException.ThrowIfNull(interactions);
            CheckSettings(options, job);
            var estimator = new Item2VecEstimator(mlContext, options);
            estimator.GetOutputSchema(SchemaShapes.FromSchema(interactions.Schema));
            var settingsOf = estimator.Settings;
            var o = settingsOf.SkipGram;
            int seed = o.Seed ?? Random.Shared.Next();
            var sequences = InteractionSequences.Read(interactions, settingsOf.UserColumnName, settingsOf.ItemColumnName, settingsOf.TimestampColumnName);
            var (vocabulary, corpus, _, _) = SkipGramTraining.ReadCorpus(sink => Item2VecEstimator.WriteTo(sink, sequences.Select(s => s.Items)), o,
                $"column '{settingsOf.ItemColumnName}'", mlContext.TempFilePath);
            using var corpusLease = corpus;
            if (corpus.SequenceCount == 0)
                throw new InvalidOperationException($"{Component}: no user of column '{settingsOf.UserColumnName}' has two or more items in the vocabulary ({vocabulary.Count:N0} items with MinCount = {o.MinCount}); there is no context to learn from.");
            if (corpus is not TokenFileCorpus file)
                throw new InvalidOperationException($"{Component}: the corpus was not written to a tokenised file; this is a bug.");
            var pairSettings = new SequencePairSettings
            {
                WindowSize = o.WindowSize,
                WholeSequenceContext = o.WholeSequenceContext,
                SamplingThreshold = o.SamplingThreshold,
                NegativeSampleCount = o.NegativeSampleCount,
                EmbeddingDimension = o.EmbeddingDimension,
                Epochs = o.Epochs,
                LearningRate = o.LearningRate ?? SkipGramEmbeddingEstimator.Defaults.SkipGramLearningRate,
                Seed = seed,
                MinCount = o.MinCount,
                MaxVocabularySize = o.MaxVocabularySize,
                EpisodeBytes = job.EpisodeBytes,
                MinimumEpisodesPerEpoch = job.MinimumEpisodesPerEpoch,
            };
            string scratch = Path.Combine(Path.GetTempPath(), "embeddings-item2vec-" + job.JobId + "-" + Guid.NewGuid().ToString("N"));
            try
            {
                var skipGram = pairSettings.ToOptions(scratch, job.Partitions);
                var training = SkipGramTraining.Settings(skipGram, seed, log, cancellation);
                var source = PartitionedSequenceTraining.PairSource(vocabulary, corpus, training, skipGram, job.Partitions, Component, out var readers);
                PairVocabulary counted;
                using (readers)
                    counted = source.CountVocabulary();
                cancellation.ThrowIfCancellationRequested();
                var spec = JobSubmission.PairTaskSpec(job.JobId, counted, job.Partitions, o.EmbeddingDimension, o.Epochs, o.NegativeSampleCount, pairSettings.LearningRate, seed,
                    job.Ordering, job.LeaseTimeout, SequencePairTaskHandler.PairKind, job.PairTaskWindow);
                JobSubmission.SubmitPairTaskJob(store, spec, counted, new (string, Action<Stream>)[]
                {
                    (SequencePairTaskHandler.SettingsFile, s => s.Write(JsonSerializer.SerializeToUtf8Bytes(pairSettings, JobFiles.Json))),
                    (JobFiles.Keys, s => s.Write(JsonSerializer.SerializeToUtf8Bytes(counted.Keys))),
                    (SequencePairTaskHandler.CorpusFile, file.CopyTo),
                });
                log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"{Component}: job '{job.JobId}': {spec.Items:N0} items, {sequences.Count:N0} users, {corpus.TokenCount:N0} tokens, {spec.Episodes} episodes per epoch; the workers write the pairs, {job.PairTaskWindow} episodes at a time"));
                return (spec, estimator, sequences);
            }
            finally
            {
                if (Directory.Exists(scratch))
                    Directory.Delete(scratch, recursive: true);
            }
        }
    }
}
