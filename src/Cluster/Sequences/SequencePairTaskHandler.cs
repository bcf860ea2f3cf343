using System;
using System.IO;
using System.Text.Json;
using System.Threading;
using Embeddings.Cluster.Tasks;
using Embeddings.Partitioned;
using Embeddings.SkipGram;

namespace Embeddings.Cluster.Sequences
{
    /// <summary>
    /// The skip-gram settings of an item2vec job whose workers write its pairs (sequences.json in the job's folder): what
    /// a worker needs, besides the tokenised corpus and the vocabulary, to write an episode's pairs exactly as the
    /// single-machine partitioned trainer does.
    /// </summary>
    internal sealed record SequencePairSettings
    {
        public int WindowSize { get; init; }

        public bool WholeSequenceContext { get; init; }

        public double SamplingThreshold { get; init; }

        public int NegativeSampleCount { get; init; }

        public int EmbeddingDimension { get; init; }

        public int Epochs { get; init; }

        public float LearningRate { get; init; }

        public int Seed { get; init; }

        public int MinCount { get; init; }

        public int? MaxVocabularySize { get; init; }

        public long EpisodeBytes { get; init; }

        public int MinimumEpisodesPerEpoch { get; init; }

        /// <summary>The skip-gram options these settings stand for, partitioned into <paramref name="directory"/> (the columns are not used).</summary>
        public SkipGramEmbeddingEstimator.Options ToOptions(string directory, int partitions) => new()
        {
            OutputColumnName = "Item2Vec",
            EmbeddingDimension = EmbeddingDimension,
            WindowSize = WindowSize,
            WholeSequenceContext = WholeSequenceContext,
            SamplingThreshold = SamplingThreshold,
            NegativeSampleCount = NegativeSampleCount,
            NegativeSamplingExponent = ClusterJobData.NegativeSamplingExponent,
            Epochs = Epochs,
            LearningRate = LearningRate,
            Seed = Seed,
            MinCount = MinCount,
            MaxVocabularySize = MaxVocabularySize,
            Partitioning = new PartitionedTrainingOptions
            {
                Directory = directory,
                Partitions = partitions,
                EpisodeBytes = EpisodeBytes,
                MinimumEpisodesPerEpoch = MinimumEpisodesPerEpoch,
            },
        };
    }

    /// <summary>
    /// Runs the pair tasks of item2vec jobs (<see cref="Item2VecClusterJob"/>): task t reads the shards of episode
    /// t mod Episodes (contiguous ranges of users' sequences) from the job's tokenised corpus and writes their pairs,
    /// with the subsampling and windows of epoch t / Episodes, as one file per bucket. The files are those the
    /// single-machine partitioned trainer with the same settings trains from. The corpus is copied to the worker once
    /// per job and kept for its next tasks. Registered in every silo by <c>AddPartitionedTrainingWorker</c>.
    /// </summary>
    public sealed class SequencePairTaskHandler : PairTaskHandler
    {
        /// <summary>The task kind of item2vec pair tasks: "sequence-pairs".</summary>
        public const string PairKind = "sequence-pairs";

        internal const string CorpusFile = "corpus.bin";
        internal const string SettingsFile = "sequences.json";
        private const string Component = "SequencePairTaskHandler";

        /// <inheritdoc/>
        public override string Kind => PairKind;

        /// <inheritdoc/>
        private protected override (PartitionedSkipGramRun Source, IDisposable? Resources) Open(ClusterTask task, string scratch, ref long bytesRead)
        {
            var store = task.Store;
            string jobId = task.JobId;
            var (description, _) = JobFiles.ReadDescription(store, jobId);
            var spec = description.Spec;
            var settings = ReadSettings<SequencePairSettings>(task, SettingsFile, Component, ref bytesRead);
            byte[] keysBytes = ReadInput(task, JobFiles.Keys, Component);
            var keys = JsonSerializer.Deserialize<string[]>(keysBytes);
            if (keys is null || keys.Length != spec.Items)
                throw new InvalidOperationException($"{Component}: the item keys of job '{jobId}' do not match its {spec.Items} items; delete the job's folder and submit it again.");
            string corpusPath = Path.Combine(scratch, CorpusFile);
            using (var stream = OpenInput(task, CorpusFile, Component))
            using (var local = new FileStream(corpusPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                stream.CopyTo(local, 1 << 20);
                bytesRead += local.Length;
            }
            bytesRead += keysBytes.Length;
            var corpus = TokenFileCorpus.Open(corpusPath, spec.Items);
            try
            {
                var vocabulary = new Vocabulary(keys, description.ItemCounts);
                var options = settings.ToOptions(Path.Combine(scratch, "run"), spec.Partitions);
                var trainer = SkipGramTraining.Settings(options, settings.Seed, log: null, CancellationToken.None) with { NumberOfThreads = Environment.ProcessorCount };
                var source = PartitionedSequenceTraining.PairSource(vocabulary, corpus, trainer, options, spec.Partitions, Component, out var readers);
                return (source, new Both(readers, corpus));
            }
            catch
            {
                corpus.Dispose();
                throw;
            }
        }

        private sealed class Both(IDisposable first, IDisposable second) : IDisposable
        {
            public void Dispose()
            {
                first.Dispose();
                second.Dispose();
            }
        }
    }
}
