using System;
using System.Collections.Generic;
using System.Globalization;
using System.Threading;
using Embeddings.Infrastructure;
using Embeddings.SkipGram;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Embeddings
{
    /// <summary>
    /// Trains word2vec embeddings (skip-gram or CBOW, negative sampling and/or hierarchical softmax) on a sequence
    /// column: sentences, user sessions, baskets, random walks. <c>mlContext.Embeddings().SkipGram(...)</c>.
    /// </summary>
    /// <remarks>
    /// <para>The input column is a vector of Text (tokenize text with <c>TokenizeIntoWords</c> first) or of
    /// <c>Key&lt;UInt32&gt;</c> with key values; vectors are keyed by the items' text. Short sequences train with a
    /// clipped window; sequences with fewer than two known items are skipped and counted in
    /// <see cref="SkipGramEmbeddingTransformer.TrainingSummary"/>.</para>
    /// <para>Training is Hogwild over shared tables with <see cref="Options.NumberOfThreads"/> threads. With one thread and
    /// a seed, two fits give bit-identical tables; with several, results vary slightly from run to run (as in gensim and
    /// the word2vec tool), while random streams stay tied to work items, not threads.</para>
    /// <para>The corpus is streamed, never held: a first pass counts the items (only keys and counts are kept), a second
    /// writes their vocabulary indices to a temporary file in <see cref="MLContext.TempFilePath"/> (4 bytes per token and
    /// per sequence; deleted when training ends, and on Unix unlinked at once so that nothing is left behind), and every
    /// epoch reads that file back in shards of about 10,000 tokens, one per training thread at a time. Memory is the
    /// vocabulary and the vectors, whatever the corpus length (docs/scale.md).</para>
    /// </remarks>
    public sealed class SkipGramEmbeddingEstimator : IEstimator<SkipGramEmbeddingTransformer>
    {
        private readonly MLContext _context;
        private readonly Options _options;

        /// <summary>Default values of <see cref="Options"/>, shared with the catalog methods and the command-line tool.</summary>
        public static class Defaults
        {
            /// <summary>Default <see cref="Options.EmbeddingDimension"/>: 100.</summary>
            public const int EmbeddingDimension = 100;

            /// <summary>Default <see cref="Options.WindowSize"/>: 5.</summary>
            public const int WindowSize = 5;

            /// <summary>Default <see cref="Options.NegativeSampleCount"/>: 5.</summary>
            public const int NegativeSampleCount = 5;

            /// <summary>Default <see cref="Options.NegativeSamplingExponent"/>: 0.75.</summary>
            public const double NegativeSamplingExponent = 0.75;

            /// <summary>Default <see cref="Options.SamplingThreshold"/>: 1e-3.</summary>
            public const double SamplingThreshold = 1e-3;

            /// <summary>Default <see cref="Options.MinCount"/>: 5.</summary>
            public const int MinCount = 5;

            /// <summary>Default <see cref="Options.Epochs"/>: 5.</summary>
            public const int Epochs = 5;

            /// <summary>Starting learning rate of skip-gram when <see cref="Options.LearningRate"/> is null: 0.025.</summary>
            public const float SkipGramLearningRate = 0.025f;

            /// <summary>Starting learning rate of CBOW when <see cref="Options.LearningRate"/> is null: 0.05.</summary>
            public const float CbowLearningRate = 0.05f;
        }

        /// <summary>Settings of <see cref="SkipGramEmbeddingEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>Name of the output vector column. Required.</summary>
            public string OutputColumnName { get; set; } = "";

            /// <summary>Name of the input sequence column (vector of Text or Key&lt;UInt32&gt;). Null means <see cref="OutputColumnName"/>.</summary>
            public string? InputColumnName { get; set; }

            /// <summary>Length of each vector. Default 100; at least 1 (typical 32-300).</summary>
            public int EmbeddingDimension { get; set; } = Defaults.EmbeddingDimension;

            /// <summary>
            /// Maximum distance between an item and its context items. Default 5; at least 1. As in the word2vec tool, the
            /// effective window of each position is drawn uniformly from 1..WindowSize. Ignored when
            /// <see cref="WholeSequenceContext"/> is set.
            /// </summary>
            public int WindowSize { get; set; } = Defaults.WindowSize;

            /// <summary>
            /// When true, every other item of the sequence is context (item2vec: every pair in a basket or session),
            /// instead of a window. Default false. Cost grows with the square of the sequence length.
            /// </summary>
            public bool WholeSequenceContext { get; set; }

            /// <summary>Skip-gram (default) or CBOW.</summary>
            public SkipGramModel Model { get; set; } = SkipGramModel.SkipGram;

            /// <summary>
            /// Negative samples per (item, context) pair. Default 5; 0 turns negative sampling off (then
            /// <see cref="HierarchicalSoftmax"/> must be on). Useful range 2-25 (5-20 for small corpora).
            /// </summary>
            public int NegativeSampleCount { get; set; } = Defaults.NegativeSampleCount;

            /// <summary>Also (or instead) train with hierarchical softmax over a Huffman tree. Default false.</summary>
            public bool HierarchicalSoftmax { get; set; }

            /// <summary>
            /// Exponent of the negative-sampling distribution count^exponent. Default 0.75 (word2vec). 0 samples uniformly,
            /// 1 by frequency, negative values favour rare items; other values than 0.75 can help recommendation
            /// (Caselles-Dupré et al., arXiv:1804.04212). Any finite value.
            /// </summary>
            public double NegativeSamplingExponent { get; set; } = Defaults.NegativeSamplingExponent;

            /// <summary>
            /// Frequent-item subsampling threshold: occurrences of items more frequent than this share of the corpus are
            /// randomly dropped. Default 1e-3 (gensim); the classic text8 run uses 1e-4. 0 turns subsampling off; range [0, 1).
            /// On a corpus too small for the threshold (a few sentences, the walks of a tiny graph) subsampling drops nearly
            /// every item: when fewer than 1% of the tokens, or fewer tokens than there are items, would be trained,
            /// <c>Fit</c> throws <see cref="InvalidOperationException"/> instead of returning near-random vectors.
            /// </summary>
            public double SamplingThreshold { get; set; } = Defaults.SamplingThreshold;

            /// <summary>Items that occur fewer times are ignored. Default 5; at least 1.</summary>
            public int MinCount { get; set; } = Defaults.MinCount;

            /// <summary>Keep at most this many of the most frequent items. Default null (no limit); at least 1.</summary>
            public int? MaxVocabularySize { get; set; }

            /// <summary>Passes over the data. Default 5; at least 1.</summary>
            public int Epochs { get; set; } = Defaults.Epochs;

            /// <summary>
            /// Starting learning rate, decayed linearly over all epochs to 1e-4 of itself. Default null: 0.025 for
            /// skip-gram, 0.05 for CBOW. Range (0, 1].
            /// </summary>
            public float? LearningRate { get; set; }

            /// <summary>Training threads. Default null: all cores. At least 1; use 1 for bit-identical runs.</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>The former name of <see cref="NumberOfThreads"/> (ML.NET's name), kept for one release.</summary>
            [Obsolete("Use NumberOfThreads, as ML.NET's trainers name it. ThreadCount will be removed in the next release.")]
            public int? ThreadCount
            {
                get => NumberOfThreads;
                set => NumberOfThreads = value;
            }

            /// <summary>Random seed. Default null: drawn from the MLContext (repeatable when the MLContext has a seed).</summary>
            public int? Seed { get; set; }

            /// <summary>
            /// Keep the output (context) vectors as <see cref="SkipGramEmbeddingTransformer.ContextEmbeddings"/>. Default
            /// false. Needs negative sampling (<see cref="NegativeSampleCount"/> &gt; 0).
            /// </summary>
            public bool KeepContextVectors { get; set; }

            /// <summary>How the transformer pools a sequence into one vector. Default <see cref="EmbeddingPooling.Mean"/>.</summary>
            public EmbeddingPooling Pooling { get; set; } = EmbeddingPooling.Mean;

            /// <summary>
            /// Partitioned training for vocabularies whose model is larger than memory (docs/partitioned-training.md): the
            /// input and output vectors are split into partitions kept in <see cref="PartitionedTrainingOptions.Directory"/>,
            /// the (context, centre) pairs of the corpus are written to buckets by the partitions of their two items, and
            /// each bucket trains with two partitions in memory; the run checkpoints after every bucket and resumes when
            /// <c>Fit</c> is called again on the same data and folder; the vectors are memory-mapped from the folder.
            /// Default null: the model is trained in memory. Only skip-gram with negative sampling is partitioned:
            /// <see cref="Model"/> = Cbow or <see cref="HierarchicalSoftmax"/> with Partitioning set throw
            /// <see cref="NotSupportedException"/> when the estimator is created, and so does continued training
            /// (<c>Fit</c> with an initial model). <see cref="WholeSequenceContext"/> is supported.
            /// </summary>
            public PartitionedTrainingOptions? Partitioning { get; set; }

            /// <summary>A copy of these options (<see cref="Partitioning"/> copied too; the <see cref="Progress"/> reporter and the token are shared, not copied).</summary>
            public Options Clone()
            {
                var copy = (Options)MemberwiseClone();
                copy.Partitioning = Partitioning?.Clone();
                return copy;
            }

            /// <summary>
            /// Checks every setting and throws naming the option, its value and the fix. The estimator calls it when it is
            /// created; call it yourself to check options that another component (for example Item2Vec) will use.
            /// </summary>
            /// <exception cref="ArgumentException">A column name is empty or blank.</exception>
            /// <exception cref="ArgumentOutOfRangeException">A setting is out of its range.</exception>
            public void Validate() => SkipGramEmbeddingEstimator.Validate(this);

            /// <summary>Receives progress about once a second (epoch, tokens/s, learning rate, loss). Default null.</summary>
            public IProgress<SkipGramProgress>? Progress { get; set; }

            /// <summary>Cancels training; <c>Fit</c> then throws <see cref="OperationCanceledException"/>.</summary>
            public CancellationToken CancellationToken { get; set; }
        }

        internal SkipGramEmbeddingEstimator(MLContext context, Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            ArgumentNullException.ThrowIfNull(options);
            Validate(options);
            _options = options;
        }

        private string InputColumn => _options.InputColumnName ?? _options.OutputColumnName;

        internal static void Validate(Options o)
        {
            const string c = SkipGramEmbeddingTransformer.ComponentName;
            if (string.IsNullOrWhiteSpace(o.OutputColumnName))
                throw new ArgumentException($"{c}: OutputColumnName is empty; name the output vector column.", nameof(o.OutputColumnName));
            if (o.InputColumnName is not null && string.IsNullOrWhiteSpace(o.InputColumnName))
                throw new ArgumentException($"{c}: InputColumnName is blank; give the sequence column's name, or null to use OutputColumnName.", nameof(o.InputColumnName));
            OptionChecks.Check(c, o.EmbeddingDimension >= 1 && o.EmbeddingDimension <= 100_000, nameof(o.EmbeddingDimension), o.EmbeddingDimension, "use a value from 1 to 100,000 (typically 32-300)");
            OptionChecks.Check(c, o.WindowSize >= 1, nameof(o.WindowSize), o.WindowSize, "use 1 or more (5 is usual; set WholeSequenceContext for item2vec baskets)");
            OptionChecks.Check(c, Enum.IsDefined(o.Model), nameof(o.Model), o.Model, "use SkipGramModel.SkipGram or SkipGramModel.Cbow");
            OptionChecks.Check(c, o.NegativeSampleCount >= 0 && o.NegativeSampleCount <= 1000, nameof(o.NegativeSampleCount), o.NegativeSampleCount, "use 0 to 1000 (5-20 is usual)");
            if (o.NegativeSampleCount == 0 && !o.HierarchicalSoftmax)
                throw new ArgumentOutOfRangeException(nameof(o.NegativeSampleCount), o.NegativeSampleCount, $"{c}: NegativeSampleCount = 0 with HierarchicalSoftmax = false leaves nothing to train; use NegativeSampleCount > 0 (5 is usual) or HierarchicalSoftmax = true.");
            OptionChecks.Check(c, double.IsFinite(o.NegativeSamplingExponent), nameof(o.NegativeSamplingExponent), o.NegativeSamplingExponent, "use a finite value (0.75 is usual)");
            OptionChecks.Check(c, o.SamplingThreshold >= 0 && o.SamplingThreshold < 1, nameof(o.SamplingThreshold), o.SamplingThreshold, "use a value in [0, 1): 1e-3 to 1e-5 is usual, 0 turns subsampling off");
            OptionChecks.Check(c, o.MinCount >= 1, nameof(o.MinCount), o.MinCount, "use 1 or more");
            OptionChecks.Check(c, o.MaxVocabularySize is null || o.MaxVocabularySize >= 1, nameof(o.MaxVocabularySize), o.MaxVocabularySize, "use null (no limit) or 1 or more");
            OptionChecks.Check(c, o.Epochs >= 1, nameof(o.Epochs), o.Epochs, "use 1 or more (5 is usual)");
            OptionChecks.Check(c, o.LearningRate is null || (o.LearningRate > 0 && o.LearningRate <= 1), nameof(o.LearningRate), o.LearningRate, "use a value in (0, 1]: 0.025 for skip-gram and 0.05 for CBOW are usual");
            OptionChecks.Check(c, o.NumberOfThreads is null || o.NumberOfThreads >= 1, nameof(o.NumberOfThreads), o.NumberOfThreads, "use null (all cores) or 1 or more");
            OptionChecks.Check(c, Enum.IsDefined(o.Pooling), nameof(o.Pooling), o.Pooling, "use Mean, Sum or Max");
            if (o.KeepContextVectors && o.NegativeSampleCount == 0)
                throw new ArgumentOutOfRangeException(nameof(o.KeepContextVectors), true, $"{c}: KeepContextVectors = true needs negative sampling (the hierarchical-softmax outputs belong to tree nodes, not items); set NegativeSampleCount > 0.");
            if (o.Partitioning is not null)
            {
                Partitioned.PartitionedTraining.Validate(o.Partitioning, c);
                if (o.Model == SkipGramModel.Cbow)
                    throw new NotSupportedException($"{c}: Partitioning is set with Model = Cbow, but partitioned training supports skip-gram with negative sampling only (a CBOW step reads the input rows of a whole window, which the buckets split). Set Model = SkipGramModel.SkipGram, or Partitioning = null to train CBOW in memory.");
                if (o.HierarchicalSoftmax)
                    throw new NotSupportedException($"{c}: Partitioning is set with HierarchicalSoftmax = true, but partitioned training supports negative sampling only (the Huffman tree's inner-node vectors are shared by every item and cannot be partitioned). Set HierarchicalSoftmax = false with NegativeSampleCount > 0, or Partitioning = null to train in memory.");
            }
        }

        /// <summary>Reads the sequences (twice: counts, then tokens into a temporary file), builds the vocabulary, trains, and returns the transformer.</summary>
        /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not a sequence of Text or keys.</exception>
        /// <exception cref="System.IO.IOException">The temporary corpus file cannot be written in <see cref="MLContext.TempFilePath"/> (missing folder, no space).</exception>
        /// <exception cref="InvalidOperationException">No item reaches MinCount, no sequence has two known items, subsampling would leave the corpus untrained (see SamplingThreshold), or training diverged.</exception>
        /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled, or <c>CancelExecution</c> was called on the <see cref="MLContext"/>.</exception>
        public SkipGramEmbeddingTransformer Fit(IDataView input)
        {
            ArgumentNullException.ThrowIfNull(input);
            var column = CheckSequenceColumn(input.Schema, InputColumn);
            return Fit(writer => ReadSequences(input, column, writer), $"column '{InputColumn}'");
        }

        /// <summary>
        /// Trains on sequences held in memory, as gensim's <c>Word2Vec(sentences)</c> does: each inner sequence is one
        /// sentence, session or basket. The sequences are enumerated twice (once to count, once to train), so they must
        /// give the same items both times. Null or empty items are missing and skipped. The transformer maps
        /// <see cref="Options.InputColumnName"/> (or <see cref="Options.OutputColumnName"/>) like one fitted on a data view.
        /// </summary>
        /// <param name="sequences">The sequences of item ids.</param>
        /// <exception cref="InvalidOperationException">No item reaches MinCount, no sequence has two known items, subsampling would leave the corpus untrained (see SamplingThreshold), or training diverged.</exception>
        /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled, or <c>CancelExecution</c> was called on the <see cref="MLContext"/>.</exception>
        public SkipGramEmbeddingTransformer Fit(IEnumerable<IEnumerable<string?>> sequences)
        {
            ArgumentNullException.ThrowIfNull(sequences);
            return Fit(writer =>
            {
                foreach (var sequence in sequences)
                {
                    foreach (string? item in sequence)
                        writer.Add(item);
                    writer.EndSequence();
                }
            }, "the given sequences");
        }

        /// <summary>
        /// Trains on a corpus that <paramref name="writeSequences"/> writes, item by item, into the given
        /// <see cref="ISequenceWriter"/>: a stream of any size (a text file read line by line, a database cursor) is never
        /// held in memory. It is called twice (once to count, once to train) and must write the same sequences both times:
        /// a second pass with more or fewer known items is an <see cref="InvalidOperationException"/>.
        /// </summary>
        /// <param name="writeSequences">Writes every sequence of the corpus: <c>Add</c> for each item, <c>EndSequence</c> after each sequence.</param>
        /// <exception cref="InvalidOperationException">No item reaches MinCount, no sequence has two known items, subsampling would leave the corpus untrained (see SamplingThreshold), or training diverged.</exception>
        /// <exception cref="OperationCanceledException"><see cref="Options.CancellationToken"/> was cancelled, or <c>CancelExecution</c> was called on the <see cref="MLContext"/>.</exception>
        public SkipGramEmbeddingTransformer Fit(Action<ISequenceWriter> writeSequences)
        {
            ArgumentNullException.ThrowIfNull(writeSequences);
            return Fit(writeSequences, "the written sequences");
        }

        private SkipGramEmbeddingTransformer Fit(Action<ISequenceWriter> writeSequences, string source)
        {
            var host = ((IHostEnvironment)_context).Register(nameof(SkipGramEmbeddingEstimator));
            int seed = _options.Seed ?? host.Rand.Next();
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(_context, nameof(SkipGramEmbeddingEstimator), _options.CancellationToken);
            var (vocabulary, corpus, seen, skipped) = SkipGramTraining.ReadCorpus(writeSequences, _options, source, _context.TempFilePath);
            using var _ = corpus;
            var (embeddings, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, _options, seed,
                message => channel.Info(MessageSensitivity.None, message), source, cancellation.Token);
            return new SkipGramEmbeddingTransformer(embeddings, context, new InputOutputColumnPair(_options.OutputColumnName, InputColumn), _options.Pooling, summary);
        }

        /// <summary>
        /// Continues training <paramref name="initialModel"/> on new sequences (ML.NET's retraining shape, as
        /// <c>trainer.Fit(data, modelParameters)</c>; gensim's <c>build_vocab(update=True)</c> then <c>train</c>). The
        /// input sequence column is read as in <see cref="Fit(IDataView)"/>. See
        /// <see cref="Fit(Action{ISequenceWriter}, SkipGramEmbeddingTransformer)"/> for what is kept and what these options mean.
        /// </summary>
        /// <param name="input">The new sequences.</param>
        /// <param name="initialModel">The trained model to start from; it is not changed.</param>
        /// <exception cref="ArgumentException"><paramref name="initialModel"/> cannot be continued with these options (see the message).</exception>
        /// <exception cref="ArgumentOutOfRangeException">The input column is missing or not a sequence of Text or keys.</exception>
        /// <exception cref="InvalidOperationException">The new sequences have no items, or none with two known items, or training diverged.</exception>
        /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
        public SkipGramEmbeddingTransformer Fit(IDataView input, SkipGramEmbeddingTransformer initialModel)
        {
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(initialModel);
            var column = CheckSequenceColumn(input.Schema, InputColumn);
            return Continue(writer => ReadSequences(input, column, writer), initialModel, $"column '{InputColumn}'");
        }

        /// <summary>
        /// Continues training <paramref name="initialModel"/> on new in-memory sequences; see
        /// <see cref="Fit(Action{ISequenceWriter}, SkipGramEmbeddingTransformer)"/>.
        /// </summary>
        /// <param name="sequences">The new sequences of item ids, enumerated twice.</param>
        /// <param name="initialModel">The trained model to start from; it is not changed.</param>
        /// <exception cref="ArgumentException"><paramref name="initialModel"/> cannot be continued with these options (see the message).</exception>
        /// <exception cref="InvalidOperationException">The new sequences have no items, or none with two known items, or training diverged.</exception>
        /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
        public SkipGramEmbeddingTransformer Fit(IEnumerable<IEnumerable<string?>> sequences, SkipGramEmbeddingTransformer initialModel)
        {
            ArgumentNullException.ThrowIfNull(sequences);
            ArgumentNullException.ThrowIfNull(initialModel);
            return Continue(writer => WriteSequences(sequences, writer), initialModel, "the given sequences");
        }

        /// <summary>
        /// Continues training <paramref name="initialModel"/> on the new sequences that <paramref name="writeSequences"/>
        /// writes (twice: once to count, once to train), and returns a new transformer; the initial model is unchanged.
        /// </summary>
        /// <remarks>
        /// <para>The vocabulary is the initial model's, every item kept, with its count increased by its occurrences in the
        /// new sequences, plus the items new to the model that occur at least <see cref="Options.MinCount"/> times <i>in the
        /// new sequences</i> (the initial model does not remember items that missed MinCount before), the most frequent
        /// first while the vocabulary holds fewer than <see cref="Options.MaxVocabularySize"/> items. Existing items start
        /// from their trained input and context vectors; new items from random input and zero context vectors, as in a
        /// new run. The negative-sampling and subsampling tables are rebuilt from the updated counts.</para>
        /// <para>These options apply to the update as they would to a new run: <see cref="Options.Epochs"/> passes over the
        /// new sequences, the learning rate restarting at <see cref="Options.LearningRate"/> (null: the default starting
        /// rate, which restarts the original rate of a model trained with the defaults) and decaying linearly to 1e-4 of it
        /// over the update, and the same seed discipline (with one thread, bit-identical results). The initial model must
        /// have kept its context vectors (<see cref="Options.KeepContextVectors"/>), have been trained by this version (which
        /// keeps the item counts), and have <see cref="Options.EmbeddingDimension"/> dimensions; hierarchical softmax cannot
        /// be continued. The result keeps context vectors when <see cref="Options.KeepContextVectors"/> is set, so it can
        /// itself be continued.</para>
        /// </remarks>
        /// <param name="writeSequences">Writes every new sequence: <c>Add</c> for each item, <c>EndSequence</c> after each sequence.</param>
        /// <param name="initialModel">The trained model to start from; it is not changed.</param>
        /// <exception cref="ArgumentException"><paramref name="initialModel"/> cannot be continued with these options (see the message).</exception>
        /// <exception cref="InvalidOperationException">The new sequences have no items, or none with two known items, or training diverged.</exception>
        /// <exception cref="OperationCanceledException">Training was cancelled.</exception>
        public SkipGramEmbeddingTransformer Fit(Action<ISequenceWriter> writeSequences, SkipGramEmbeddingTransformer initialModel)
        {
            ArgumentNullException.ThrowIfNull(writeSequences);
            ArgumentNullException.ThrowIfNull(initialModel);
            return Continue(writeSequences, initialModel, "the written sequences");
        }

        private SkipGramEmbeddingTransformer Continue(Action<ISequenceWriter> writeSequences, SkipGramEmbeddingTransformer initialModel, string source)
        {
            var initial = new SkipGramInitialModel(initialModel.Embeddings, initialModel.ContextEmbeddings, initialModel.TrainingSummary.ItemCounts);
            SkipGramTraining.CheckInitialModel(initial, _options, SkipGramEmbeddingTransformer.ComponentName, nameof(initialModel));
            var host = ((IHostEnvironment)_context).Register(nameof(SkipGramEmbeddingEstimator));
            int seed = _options.Seed ?? host.Rand.Next();
            using var channel = host.Start("Continued training");
            using var cancellation = ContextCancellation.Watch(_context, nameof(SkipGramEmbeddingEstimator), _options.CancellationToken);
            var (vocabulary, corpus, seen, skipped, newItems) = SkipGramTraining.ReadUpdateCorpus(writeSequences, writeSequences, initial, _options, source, _context.TempFilePath);
            using var _ = corpus;
            var (embeddings, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, _options, seed,
                message => channel.Info(MessageSensitivity.None, message), source, cancellation.Token, initial, newItems);
            return new SkipGramEmbeddingTransformer(embeddings, context, new InputOutputColumnPair(_options.OutputColumnName, InputColumn), _options.Pooling, summary);
        }

        private static void WriteSequences(IEnumerable<IEnumerable<string?>> sequences, ISequenceWriter writer)
        {
            foreach (var sequence in sequences)
            {
                foreach (string? item in sequence)
                    writer.Add(item);
                writer.EndSequence();
            }
        }

        /// <summary>The output shape: the input's columns and a known-size float vector column.</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            ArgumentNullException.ThrowIfNull(inputSchema);
            var column = SchemaChecks.FindColumn(inputSchema, InputColumn, SkipGramEmbeddingTransformer.ComponentName);
            if (column.Kind == SchemaShape.Column.VectorKind.Scalar)
                throw NotASequence(InputColumn, SchemaChecks.Describe(column), column.ItemType is TextDataViewType);
            SchemaChecks.RequireItemColumn(inputSchema, InputColumn, SkipGramEmbeddingTransformer.ComponentName, EmbeddingColumnMapper.Advice);
            return SchemaChecks.Append(inputSchema, new[] { (_options.OutputColumnName, (DataViewType)new VectorDataViewType(NumberDataViewType.Single, _options.EmbeddingDimension)) });
        }

        private static ItemColumn CheckSequenceColumn(DataViewSchema schema, string name)
        {
            var column = SchemaChecks.FindColumn(schema, name, SkipGramEmbeddingTransformer.ComponentName);
            if (column.Type is not VectorDataViewType)
                throw NotASequence(name, column.Type.ToString() ?? column.Type.RawType.Name, column.Type is TextDataViewType);
            return SchemaChecks.RequireItemColumn(schema, name, SkipGramEmbeddingTransformer.ComponentName, EmbeddingColumnMapper.Advice);
        }

        private static Exception NotASequence(string column, string actual, bool isText) =>
            SchemaChecks.TypeMismatch(SkipGramEmbeddingTransformer.ComponentName, column, "a sequence: a vector of Text or of Key<UInt32> with key values", actual,
                isText ? "Split the text into words first with mlContext.Transforms.Text.TokenizeIntoWords." : "Gather each sequence's items into one vector column (for example with TokenizeIntoWords, or Item2Vec for interaction rows).");

        private static void ReadSequences(IDataView input, ItemColumn item, ISequenceWriter sink)
        {
            var column = input.Schema[item.Index];
            using var cursor = input.GetRowCursor(new[] { column });
            if (item.Kind == ItemColumnKind.Text)
            {
                var getter = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
                VBuffer<ReadOnlyMemory<char>> sequence = default;
                while (cursor.MoveNext())
                {
                    getter(ref sequence);
                    foreach (var token in sequence.GetValues())
                        sink.Add(token.Span);
                    sink.EndSequence();
                }
            }
            else
            {
                // Keys are read through their key values: the table is keyed by the items' text, never by key index.
                var keyValues = SchemaChecks.KeyValueTexts(column);
                var getter = cursor.GetGetter<VBuffer<uint>>(column);
                VBuffer<uint> sequence = default;
                while (cursor.MoveNext())
                {
                    getter(ref sequence);
                    foreach (uint key in sequence.GetValues())
                    {
                        if (key != 0 && key <= keyValues.Length)
                            sink.Add(keyValues[key - 1]);
                    }
                    sink.EndSequence();
                }
            }
        }
    }

    /// <summary>The trained state a continued run starts from: input and context vectors and the item counts, row-aligned.</summary>
    internal sealed record SkipGramInitialModel(EmbeddingTable Input, EmbeddingTable? Context, IReadOnlyList<long> Counts)
    {
        /// <summary>
        /// The rows of <paramref name="vocabulary"/> filled from this model where it has the item. A new item starts from the
        /// mean input and context vectors of the model's items it occurs with in <paramref name="corpus"/> (within
        /// <paramref name="window"/> positions): a fold-in start near its neighbours, which a small update learning rate can
        /// refine. A new item without such neighbours starts as in a new run (random input) with the mean context vector.
        /// </summary>
        public SkipGramInitialState StartingPoint(Vocabulary vocabulary, SkipGramCorpus corpus, int window)
        {
            var state = StartingPoint(vocabulary);
            int d = Input.Dimension;
            var neighbours = new int[vocabulary.Count];
            var inputSums = new Dictionary<int, float[]>();
            var contextSums = new Dictionary<int, float[]>();
            using var reader = corpus.CreateReader();
            for (int item = 0; item < corpus.WorkItemCount; item++)
            {
                reader.Open(item);
                while (reader.Next(out var sequence))
                    AddNeighbours(sequence);
            }
            foreach (var (item, inputSum) in inputSums)
            {
                if (neighbours[item] == 0)
                    continue;
                float scale = 1f / neighbours[item];
                Kernels.VectorMath.Scale(scale, inputSum);
                Kernels.VectorMath.Scale(scale, contextSums[item]);
                inputSum.CopyTo(state.Input.Row(item));
                contextSums[item].CopyTo(state.Output.Row(item));
            }
            foreach (var (item, _) in inputSums)
            {
                if (neighbours[item] > 0)
                    state.Filled[item] = true;
            }
            return state;

            void AddNeighbours(ReadOnlySpan<int> sequence)
            {
                for (int p = 0; p < sequence.Length; p++)
                {
                    int item = sequence[p];
                    if (state.Filled[item])
                        continue;
                    if (!inputSums.TryGetValue(item, out var inputSum))
                    {
                        inputSums[item] = inputSum = new float[d];
                        contextSums[item] = new float[d];
                    }
                    var contextSum = contextSums[item];
                    int lo = (int)Math.Max(0, (long)p - window), hi = (int)Math.Min(sequence.Length, (long)p + window + 1);
                    for (int q = lo; q < hi; q++)
                    {
                        int other = sequence[q];
                        if (q == p || !state.Filled[other])
                            continue;
                        Kernels.VectorMath.Add(state.Input.Row(other), inputSum);
                        Kernels.VectorMath.Add(state.Output.Row(other), contextSum);
                        neighbours[item]++;
                    }
                }
            }
        }

        private SkipGramInitialState StartingPoint(Vocabulary vocabulary)
        {
            var input = new EmbeddingTableBuilder(vocabulary.Count, Input.Dimension);
            var output = new EmbeddingTableBuilder(vocabulary.Count, Input.Dimension);
            var filled = new bool[vocabulary.Count];
            // New items' context vectors start at the mean context vector of the model's items: their logit against any
            // user starts at the catalog's average instead of 0, which would rank an untrained item above most trained
            // ones (skip-gram logits of unrelated pairs are mostly negative).
            var meanContext = new float[Input.Dimension];
            for (int row = 0; row < Context!.Count; row++)
                Kernels.VectorMath.Add(Context.Row(row), meanContext);
            if (Context.Count > 0)
                Kernels.VectorMath.Scale(1f / Context.Count, meanContext);
            for (int r = 0; r < vocabulary.Count; r++)
                meanContext.CopyTo(output.Row(r));
            for (int r = 0; r < vocabulary.Count; r++)
            {
                int row = Input.IndexOf(vocabulary.Keys[r]);
                if (row < 0)
                    continue;
                int contextRow = Context.IndexOf(vocabulary.Keys[r]);
                if (contextRow < 0)
                    continue;
                Input.Row(row).CopyTo(input.Row(r));
                Context.Row(contextRow).CopyTo(output.Row(r));
                filled[r] = true;
            }
            return new SkipGramInitialState(input, output, filled);
        }
    }

    /// <summary>Vocabulary selection and training shared by the estimator and the command-line tool.</summary>
    internal static class SkipGramTraining
    {
        /// <summary>
        /// Reads a corpus in two passes of <paramref name="readPass"/> (which must give the same sequences both times):
        /// the first counts items and selects the vocabulary (only keys and counts are held), the second writes the
        /// known tokens to a temporary tokenised file in <paramref name="temporaryDirectory"/> (null: the system temp
        /// folder), which the returned corpus maps and deletes when disposed. Memory does not grow with the corpus.
        /// </summary>
        public static (Vocabulary Vocabulary, SkipGramCorpus Corpus, long SequencesSeen, long SequencesSkipped) ReadCorpus(
            Action<ISequenceWriter> readPass, SkipGramEmbeddingEstimator.Options options, string source, string? temporaryDirectory)
        {
            var counter = new ItemCounter();
            readPass(counter);
            var vocabulary = SelectVocabulary(counter, options, source);
            using var writer = TokenFileWriter.CreateTemporary(temporaryDirectory, vocabulary, vocabulary.TotalCount);
            readPass(writer);
            return (vocabulary, writer.CompleteAndOpen(), counter.SequencesSeen, writer.SkippedSequences);
        }

        /// <summary>
        /// Reads the corpus of a continued run: <paramref name="countPass"/> writes the sequences whose items are counted
        /// (the new occurrences), <paramref name="writePass"/> the sequences to train on (the same, or with context
        /// already counted before, such as the end of a user's earlier history). The vocabulary is <paramref name="initial"/>'s,
        /// counts increased, plus the new items that reach MinCount in the counted sequences. The corpus is streamed as
        /// in <see cref="ReadCorpus"/>.
        /// </summary>
        public static (Vocabulary Vocabulary, SkipGramCorpus Corpus, long SequencesSeen, long SequencesSkipped, int NewItems) ReadUpdateCorpus(
            Action<ISequenceWriter> countPass, Action<ISequenceWriter> writePass, SkipGramInitialModel initial, SkipGramEmbeddingEstimator.Options options, string source,
            string? temporaryDirectory)
        {
            const string c = SkipGramEmbeddingTransformer.ComponentName;
            var counter = new ItemCounter();
            countPass(counter);
            if (counter.SequencesSeen == 0 || counter.TotalOccurrences == 0)
                throw new InvalidOperationException($"{c}: {source} has no items ({counter.SequencesSeen:N0} sequences read); continuing training needs new sequences with at least two items each.");
            var vocabulary = counter.Merge(initial.Input.Keys, initial.Counts, options.MinCount, options.MaxVocabularySize, out int newItems);
            // The write pass differs from the count pass on purpose (earlier context): no token check between them.
            using var writer = TokenFileWriter.CreateTemporary(temporaryDirectory, vocabulary, expectedKnownTokens: long.MaxValue);
            writePass(writer);
            return (vocabulary, writer.CompleteAndOpen(), counter.SequencesSeen, writer.SkippedSequences, newItems);
        }

        /// <summary>
        /// Checks that <paramref name="initial"/> can be the starting point of a run with <paramref name="options"/>:
        /// context vectors and item counts kept, the same dimension, negative sampling without hierarchical softmax.
        /// </summary>
        public static void CheckInitialModel(SkipGramInitialModel initial, SkipGramEmbeddingEstimator.Options options, string component, string parameter)
        {
            if (options.Partitioning is not null)
                throw new NotSupportedException($"{component}: continued training (Fit with an initial model) does not support Partitioning: the update starts from the initial model's vectors, which partitioned training does not split into partitions. Set the skip-gram option Partitioning = null to continue in memory, or train a new partitioned model on all the data.");
            if (initial.Counts.Count != initial.Input.Count)
                throw new ArgumentException($"{component}: the initial model carries no item counts ({initial.Counts.Count} counts for {initial.Input.Count} items; models saved before this version do not keep them), and the negative-sampling and subsampling tables are rebuilt from the counts. Retrain the initial model with this version.", parameter);
            if (initial.Context is null)
                throw new ArgumentException($"{component}: the initial model has no context (output) vectors, and continued training starts from both its input and its output vectors. Train the initial model with KeepContextVectors = true.", parameter);
            if (initial.Input.Dimension != options.EmbeddingDimension)
                throw new ArgumentException($"{component}: EmbeddingDimension = {options.EmbeddingDimension} but the initial model's vectors have {initial.Input.Dimension} dimensions; set EmbeddingDimension = {initial.Input.Dimension}.", parameter);
            if (initial.Context.Dimension != initial.Input.Dimension || initial.Context.Count != initial.Input.Count)
                throw new ArgumentException($"{component}: the initial model's context vectors ({initial.Context.Count} x {initial.Context.Dimension}) do not match its input vectors ({initial.Input.Count} x {initial.Input.Dimension}).", parameter);
            if (options.HierarchicalSoftmax)
                throw new ArgumentException($"{component}: HierarchicalSoftmax = true cannot continue a trained model (it keeps no tree-node vectors); set HierarchicalSoftmax = false and NegativeSampleCount > 0.", parameter);
        }

        /// <summary>The vocabulary of a finished count pass; throws with advice when it is empty.</summary>
        public static Vocabulary SelectVocabulary(ItemCounter counter, SkipGramEmbeddingEstimator.Options options, string source)
        {
            const string c = SkipGramEmbeddingTransformer.ComponentName;
            var vocabulary = counter.Select(options.MinCount, options.MaxVocabularySize);
            if (vocabulary.Count == 0)
                throw new InvalidOperationException($"{c}: no item of {source} occurs at least MinCount = {options.MinCount} times ({counter.SequencesSeen:N0} sequences, {counter.DistinctItems:N0} distinct items read). Lower MinCount.");
            if (options.HierarchicalSoftmax && vocabulary.Count < 2)
                throw new InvalidOperationException($"{c}: HierarchicalSoftmax needs at least 2 items in the vocabulary; {source} has {vocabulary.Count}. Lower MinCount or use negative sampling.");
            return vocabulary;
        }

        /// <summary>Below this expected share of tokens trained under subsampling (or below one trained token per item), training refuses to start.</summary>
        public const double MinimumTrainedShare = 0.01;

        /// <summary>Corpora up to this many tokens have their trained share computed over every sequence; larger ones over a sample of work items.</summary>
        public const long TrainedShareExactTokens = 1L << 22;

        /// <summary>
        /// The expected share of the corpus' tokens that subsampling with <paramref name="sample"/> keeps together with at
        /// least one other token of their sequence (the tokens that train): sum over tokens of
        /// keep(i) x (1 - product over the sequence's other tokens j of (1 - keep(j))), over the token count. Exact for
        /// corpora up to <paramref name="exactTokens"/> tokens; above, estimated from evenly spaced work items
        /// holding about that many tokens (a streamed corpus is not read, or its walks generated, a whole extra time for a
        /// check that only small corpora can fail).
        /// </summary>
        public static double TrainedShare(Vocabulary vocabulary, SkipGramCorpus corpus, double sample, long exactTokens = TrainedShareExactTokens)
        {
            if (corpus.TokenCount == 0)
                return 0;
            var thresholds = vocabulary.SubsamplingThresholds(sample);
            double expected = 0;
            long tokens = 0;
            int items = corpus.WorkItemCount;
            int stride = corpus.TokenCount <= exactTokens ? 1 : (int)Math.Max(1, Math.Min(items, (long)Math.Ceiling(corpus.TokenCount / (double)exactTokens)));
            using var reader = corpus.CreateReader();
            for (int item = 0; item < items; item += stride)
            {
                reader.Open(item);
                while (reader.Next(out var sequence))
                {
                    tokens += sequence.Length;
                    // Product of the drop probabilities of the sequence, the ones kept for sure counted apart.
                    double dropAll = 1;
                    int certain = 0;
                    foreach (int token in sequence)
                    {
                        double keep = Keep(thresholds[token]);
                        if (keep >= 1)
                            certain++;
                        else
                            dropAll *= 1 - keep;
                    }
                    foreach (int token in sequence)
                    {
                        double keep = Keep(thresholds[token]);
                        double othersAllDropped = keep >= 1 ? (certain > 1 ? 0 : dropAll) : (certain > 0 ? 0 : dropAll / (1 - keep));
                        expected += keep * (1 - othersAllDropped);
                    }
                }
            }
            return tokens == 0 ? 0 : expected / tokens;

            static double Keep(uint threshold) => threshold == uint.MaxValue ? 1 : threshold / 4294967296.0;
        }

        /// <summary>The trainer's settings from the estimator's options (the learning rate's default by model, the threads' by machine).</summary>
        public static SkipGramTrainingSettings Settings(SkipGramEmbeddingEstimator.Options options, int seed, Action<string>? log, CancellationToken cancellation)
        {
            bool cbow = options.Model == SkipGramModel.Cbow;
            return new SkipGramTrainingSettings
            {
                Dimension = options.EmbeddingDimension,
                WindowSize = options.WindowSize,
                WholeSequenceContext = options.WholeSequenceContext,
                Cbow = cbow,
                NegativeSampleCount = options.NegativeSampleCount,
                HierarchicalSoftmax = options.HierarchicalSoftmax,
                NegativeSamplingExponent = options.NegativeSamplingExponent,
                SamplingThreshold = options.SamplingThreshold,
                Epochs = options.Epochs,
                LearningRate = options.LearningRate ?? (cbow ? SkipGramEmbeddingEstimator.Defaults.CbowLearningRate : SkipGramEmbeddingEstimator.Defaults.SkipGramLearningRate),
                NumberOfThreads = options.NumberOfThreads ?? Environment.ProcessorCount,
                Seed = seed,
                Progress = options.Progress,
                Log = log,
                CancellationToken = cancellation,
            };
        }

        public static (EmbeddingTable Embeddings, EmbeddingTable? Context, SkipGramTrainingSummary Summary) Run(
            Vocabulary vocabulary, SkipGramCorpus corpus, long sequencesSeen, long sequencesSkipped,
            SkipGramEmbeddingEstimator.Options options, int seed, Action<string>? log, string source, CancellationToken cancellation,
            SkipGramInitialModel? initial = null, int newItems = 0)
        {
            const string c = SkipGramEmbeddingTransformer.ComponentName;
            if (corpus.SequenceCount == 0)
                throw new InvalidOperationException($"{c}: none of the {sequencesSeen:N0} sequences of {source} has two or more items in the vocabulary ({vocabulary.Count:N0} items with MinCount = {options.MinCount}); there is no context to learn from.");
            var settings = Settings(options, seed, log, cancellation);
            if (options.SamplingThreshold > 0)
            {
                // A corpus small for the threshold (a tiny graph's walks, a few sentences) loses nearly every item to
                // subsampling; training would leave the vectors as they start: random.
                double share = TrainedShare(vocabulary, corpus, options.SamplingThreshold);
                double trained = share * corpus.TokenCount * options.Epochs;
                // A continued run only has its new items to start from scratch.
                int fromScratch = initial is null ? vocabulary.Count : newItems;
                if (share < MinimumTrainedShare || trained < fromScratch)
                {
                    throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                        $"{c}: subsampling with SamplingThreshold = {options.SamplingThreshold} would train on about {trained:F1} of the {corpus.TokenCount:N0} tokens x {options.Epochs} epoch(s) of {source} ({corpus.SequenceCount:N0} sequences, {vocabulary.Count:N0} distinct items), {(share < MinimumTrainedShare ? "under 1% of them" : "fewer than one per item")}, and the vectors would stay nearly random: the corpus is too small for this threshold. Lower SamplingThreshold (0 turns subsampling off) or give a larger corpus."));
                }
            }
            log?.Invoke(string.Create(CultureInfo.InvariantCulture, $"vocabulary {vocabulary.Count:N0} items, {corpus.TokenCount:N0} tokens in {corpus.SequenceCount:N0} sequences ({sequencesSkipped:N0} skipped: fewer than two known items)"));
            if (initial is null && Partitioned.PartitionedTraining.Choose(options.Partitioning, vocabulary.Count, options.EmbeddingDimension, settings.NumberOfThreads, c, "items") is int partitions)
                return Partitioned.PartitionedSequenceTraining.Train(vocabulary, corpus, sequencesSeen, sequencesSkipped, settings, options, partitions, c);
            var result = SkipGramTrainer.Train(vocabulary, corpus, settings, initial?.StartingPoint(vocabulary, corpus, options.WholeSequenceContext ? int.MaxValue : options.WindowSize));
            var embeddings = result.InputVectors.Build(vocabulary.Keys);
            EmbeddingTable? context = options.KeepContextVectors && result.OutputVectors is not null
                ? result.OutputVectors.Build(vocabulary.Keys)
                : null;
            var summary = new SkipGramTrainingSummary(vocabulary.Count, sequencesSeen, sequencesSkipped, corpus.TokenCount, options.Epochs, result.FinalLoss, result.TokensPerSecond, result.Elapsed)
            {
                ItemCounts = vocabulary.Counts,
            };
            return (embeddings, context, summary);
        }
    }
}
