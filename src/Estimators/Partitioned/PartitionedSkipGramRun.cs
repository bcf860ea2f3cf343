using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using Embeddings.Kernels;
using Embeddings.SkipGram;

namespace Embeddings.Partitioned
{
    /// <summary>What a partitioned run produced, for the token source to turn into its summary.</summary>
    /// <param name="Vectors">The input vectors, memory-mapped from the directory, rows in partition order.</param>
    /// <param name="Context">The output vectors (same keys and order) when kept, else null.</param>
    /// <param name="Loss">Mean log-loss per (item, target) pair over the whole run, every attempt included.</param>
    /// <param name="TrainingTime">Pair writing, training, checkpoints and result writing over every attempt.</param>
    /// <param name="TokensPerEpoch">Raw tokens of one epoch (the learning-rate schedule's unit).</param>
    /// <param name="ItemCounts">The count of each result row, in the result's order.</param>
    /// <param name="SkippedSequences">Sequences (walks) the source reported as training nothing, first epoch.</param>
    /// <param name="PairTime">Time this call spent writing pair buckets (drawing the tokens again included).</param>
    /// <param name="Summary">The partitioned statistics.</param>
    internal sealed record PartitionedRunResult(EmbeddingTable Vectors, EmbeddingTable? Context, double Loss, TimeSpan TrainingTime, long TokensPerEpoch, long[] ItemCounts,
        long SkippedSequences, TimeSpan PairTime, PartitionedTrainingSummary Summary);

    /// <summary>What <see cref="PartitionedSkipGramRun.ExportPairs"/> produced besides the pairs.</summary>
    /// <param name="Keys">The vocabulary's keys: item v (row v, in partition v mod P at local row v / P) is Keys[v].</param>
    /// <param name="Counts">The count of each item (negatives are drawn from count^0.75).</param>
    /// <param name="EpisodeTokens">The raw tokens of each episode of an epoch (the learning-rate schedule's unit).</param>
    /// <param name="SkippedSequences">Sequences (walks) that trained nothing (fewer than two known items).</param>
    internal sealed record PairExport(string[] Keys, long[] Counts, long[] EpisodeTokens, long SkippedSequences);

    /// <summary>What <see cref="PartitionedSkipGramRun.CountVocabulary"/> produced.</summary>
    /// <param name="Keys">The vocabulary's keys: item v (row v, in partition v mod P at local row v / P) is Keys[v].</param>
    /// <param name="Counts">The count of each item (negatives are drawn from count^0.75).</param>
    /// <param name="EpisodeTokens">The raw tokens of each episode of an epoch (the learning-rate schedule's unit).</param>
    /// <param name="EpisodesPerEpoch">The episodes of an epoch.</param>
    internal sealed record PairVocabulary(string[] Keys, long[] Counts, long[] EpisodeTokens, int EpisodesPerEpoch);

    /// <summary>
    /// Partitioned skip-gram with negative sampling over any token source (docs/partitioned-training.md): the source
    /// gives the vocabulary and, work item by work item, its sequences of vocabulary rows; the run processes the work
    /// items in episodes (contiguous ranges), writes each episode's (input, output) pairs to P x P bucket files, and
    /// trains each bucket with its input and its output partition in memory, negatives drawn from the output partition.
    /// Every bucket ends with a checkpoint: the two partitions it changed are written as new files and the manifest,
    /// rewritten atomically, names them and records the bucket. A killed run resumes from its last checkpoint.
    /// </summary>
    /// <remarks>
    /// Subclasses supply the source: its settings fingerprint, its vocabulary (with the raw tokens of each work item), and
    /// <see cref="ProduceItem"/>, which feeds the sequences of one work item, with their random stream, to a
    /// <see cref="PairWriter"/>. Subsampling, the context of each position (the word2vec dynamic window or the whole
    /// sequence) and everything after are done here, once for every source.
    /// </remarks>
    internal abstract class PartitionedSkipGramRun
    {
        private const int ChunkPairs = PartitionedTraining.ChunkPairs;

        private readonly PartitionedTrainingOptions _po;
        private readonly PartitionDirectory _dir;
        private readonly bool _keepContext;
        private Vocabulary _vocabulary = null!;
        private long[] _itemTokens = null!;
        private long _tokensPerEpoch;
        private uint[] _keep = null!;
        private AliasSampler[] _samplers = null!;
        private int[] _rows = null!;
        private PartitionManifest _manifest = null!;
        private float[] _input = null!, _output = null!;
        private int _loadedInput = -1, _loadedOutput = -1;
        private long _pairsTrained;
        private int _bucketsTrained;
        private TimeSpan _pairTime;

        protected PartitionedSkipGramRun(SkipGramTrainingSettings settings, PartitionedTrainingOptions partitioning, int partitions, bool keepContext, string component)
        {
            Settings = settings;
            _po = partitioning;
            Partitions = partitions;
            Threads = Math.Max(1, settings.NumberOfThreads);
            _keepContext = keepContext;
            Component = component;
            _dir = new PartitionDirectory(partitioning.Directory!);
            Dimension = settings.Dimension;
        }

        /// <summary>The skip-gram settings (negative sampling; CBOW and hierarchical softmax are refused before a run starts).</summary>
        protected SkipGramTrainingSettings Settings { get; }

        protected int Partitions { get; }

        protected int Threads { get; }

        protected int Dimension { get; }

        protected string Component { get; }

        protected PartitionDirectory Directory => _dir;

        /// <summary>The folder the run writes its pair bucket files into (<see cref="PartitionDirectory.BucketFile"/>).</summary>
        internal PartitionDirectory PairDirectory => _dir;

        protected CancellationToken Cancellation => CancellationOverride ?? Settings.CancellationToken;

        /// <summary>
        /// Replaces <see cref="SkipGramTrainingSettings.CancellationToken"/> for the next calls (a cluster worker keeps one
        /// run per job and gives each of its pair tasks its own lease's token); null restores the settings' token.
        /// </summary>
        internal CancellationToken? CancellationOverride { get; set; }

        /// <summary>Called after each work item's pairs are appended to the bucket files (a cluster task reports progress with it); null for none.</summary>
        internal Action<long>? PairItemWritten { get; set; }

        protected void Log(string message) => Settings.Log?.Invoke(message);

        /// <summary>Work items of one epoch; episodes are contiguous ranges of them.</summary>
        protected abstract long ItemCount { get; }

        /// <summary>The longest sequence (walk) a work item can hold: sizes the per-thread buffers.</summary>
        protected abstract int MaxSequenceLength { get; }

        /// <summary>Adds the settings of the source (and the fingerprint of its data) to those of the run: a resumed run must match them all.</summary>
        protected abstract void AddSourceSettings(SortedDictionary<string, string> settings);

        /// <summary>
        /// The vocabulary of a new run (rows ordered as the in-memory trainer orders them, most frequent first) and the raw
        /// tokens of each work item (their sum is the epoch's token count). Called once, before the first manifest is written.
        /// </summary>
        protected abstract (Vocabulary Vocabulary, long[] ItemTokens) CreateVocabulary();

        /// <summary>The vocabulary of a run being resumed (its manifest checked already): the same as <see cref="CreateVocabulary"/> gave.</summary>
        protected abstract (Vocabulary Vocabulary, long[] ItemTokens) OpenVocabulary(PartitionManifest manifest);

        /// <summary>The pairs an epoch is expected to make before subsampling, to size the episodes (<see cref="PartitionedTrainingOptions.EpisodeBytes"/>).</summary>
        protected virtual double EstimatedPairsPerEpoch(long tokens) =>
            Settings.WholeSequenceContext ? (double)tokens * Math.Max(1, MaxSequenceLength - 1) : (double)tokens * (Settings.WindowSize + 1);

        /// <summary>
        /// Feeds the sequences of work item <paramref name="item"/> in epoch <paramref name="epoch"/> to
        /// <paramref name="writer"/> (<see cref="PairWriter.Add"/>), each with the random stream the source ties to it
        /// (never to a thread). Returns the sequences that train nothing by nature (fewer than two known items), for the summary.
        /// </summary>
        protected abstract long ProduceItem(int epoch, long item, PairWriter writer);

        /// <summary>Runs (or resumes, or reopens) the partitioned training.</summary>
        public PartitionedRunResult Execute()
        {
            var settings = AllSettings();
            var existing = _dir.ReadManifest(Component);
            int doneBefore;
            if (existing is null)
            {
                System.IO.Directory.CreateDirectory(_dir.Path);
                (_vocabulary, _itemTokens) = CreateVocabulary();
                _manifest = new PartitionManifest
                {
                    Settings = settings,
                    VocabularySize = _vocabulary.Count,
                    EpisodesPerEpoch = EpisodesPerEpoch(),
                    Attempts = 1,
                };
                _manifest.SkippedWalks = new long[_manifest.EpisodesPerEpoch];
                Prepare();
                InitializePartitions();
                doneBefore = 0;
            }
            else
            {
                CheckSettings(existing, settings);
                _manifest = existing;
                _manifest.Attempts++;
                (_vocabulary, _itemTokens) = OpenVocabulary(existing);
                if (_vocabulary.Count != existing.VocabularySize)
                    throw new InvalidOperationException($"{Component}: the partition directory '{_dir.Path}' holds a run of {existing.VocabularySize} items, where this data gives {_vocabulary.Count}; the folder is of another run. Delete it to start again.");
                Prepare();
                _dir.RemoveUnreferencedMatrices(_manifest);
                doneBefore = _manifest.Completed.Count;
                Log(string.Create(CultureInfo.InvariantCulture,
                    $"partitioned: resuming '{_dir.Path}' (attempt {_manifest.Attempts}): {doneBefore} of {TotalBuckets()} buckets done{(_manifest.Finished ? ", finished" : "")}"));
                if (!_manifest.Finished)
                    _dir.WriteManifest(_manifest);
            }

            if (!_manifest.Finished)
            {
                TrainAll();
                var watch = Stopwatch.StartNew();
                WriteResults();
                _manifest.Finished = true;
                _manifest.TrainingSeconds += watch.Elapsed.TotalSeconds;
                _dir.WriteManifest(_manifest);
                // The result tables hold everything now: the pairs and the partition matrices go.
                _dir.ClearPairs();
                _dir.RemoveMatrices();
            }
            var vectors = EmbeddingTable.OpenMemoryMapped(_dir.File(PartitionDirectory.VectorsName));
            EmbeddingTable? context = null;
            if (_keepContext)
            {
                string contextPath = _dir.File(PartitionDirectory.ContextName);
                if (!File.Exists(contextPath))
                    throw new InvalidOperationException($"{Component}: the finished run in '{_dir.Path}' has no {PartitionDirectory.ContextName}; it was trained without KeepContextVectors. Train again in a new folder to keep them.");
                context = EmbeddingTable.OpenMemoryMapped(contextPath);
            }
            double loss = _manifest.LossCount == 0 ? double.NaN : _manifest.LossSum / _manifest.LossCount;
            double seconds = Math.Max(1e-9, _manifest.TrainingSeconds);
            var itemCounts = new long[vectors.Count];
            int r = 0;
            for (int part = 0; part < Partitions; part++)
            {
                for (int local = 0; local < _rows[part]; local++)
                    itemCounts[r++] = _vocabulary.Counts[local * Partitions + part];
            }
            var summary = new PartitionedTrainingSummary(Partitions, _manifest.EpisodesPerEpoch, _bucketsTrained, doneBefore, _manifest.MatrixLoads, _pairsTrained,
                PartitionedTraining.ResidentBytes(ResidentItems, Partitions, Dimension, Threads), _manifest.Attempts, _dir.Path);
            return new PartitionedRunResult(vectors, context, loss, TimeSpan.FromSeconds(seconds), _tokensPerEpoch, itemCounts, _manifest.SkippedWalks.Sum(), _pairTime, summary);
        }

        /// <summary>
        /// The pairs of the run's first epoch without training them (the pair generation of a cluster job): the
        /// vocabulary is created, then each episode's pairs are written to the directory's P x P bucket files, exactly
        /// as <see cref="Execute"/> writes them, and handed to <paramref name="episodeWritten"/> (episode, pairs per
        /// bucket row-major, the directory to read <see cref="PartitionDirectory.BucketFile"/> from) before the next
        /// episode replaces them. <paramref name="vocabularyReady"/> is told the vocabulary size and the episodes per
        /// epoch first. The directory must hold no run; its pair files are removed at the end.
        /// </summary>
        public PairExport ExportPairs(Action<int, int> vocabularyReady, Action<int, long[], PartitionDirectory> episodeWritten)
        {
            var vocabulary = CountVocabulary();
            int episodes = vocabulary.EpisodesPerEpoch;
            vocabularyReady(vocabulary.Keys.Length, episodes);
            for (int episode = 0; episode < episodes; episode++)
            {
                Cancellation.ThrowIfCancellationRequested();
                long firstItem = ItemCount * episode / episodes, endItem = ItemCount * (episode + 1) / episodes;
                long[] counts = EnsurePairs(0, episode, episode, firstItem, endItem);
                episodeWritten(episode, counts, _dir);
            }
            _dir.ClearPairs();
            return new PairExport(vocabulary.Keys, vocabulary.Counts, vocabulary.EpisodeTokens, _manifest.SkippedWalks.Sum());
        }

        /// <summary>
        /// The vocabulary of a new run, without training or writing pairs (the submitter of a cluster job whose workers
        /// write the pairs): the counting pass runs, the episodes are sized, and the vocabulary file is written to the
        /// directory (<see cref="PartitionDirectory.VocabularyName"/>), which <see cref="WriteEpisodePairs"/> reads on
        /// any machine. The directory must hold no run.
        /// </summary>
        public PairVocabulary CountVocabulary()
        {
            if (_dir.ReadManifest(Component) is not null)
                throw new InvalidOperationException($"{Component}: the folder '{_dir.Path}' holds a partitioned run; pair generation needs an empty folder of its own. Give another folder or delete this one.");
            System.IO.Directory.CreateDirectory(_dir.Path);
            (_vocabulary, _itemTokens) = CreateVocabulary();
            _manifest = new PartitionManifest
            {
                Settings = AllSettings(),
                VocabularySize = _vocabulary.Count,
                EpisodesPerEpoch = EpisodesPerEpoch(),
                Attempts = 1,
            };
            _manifest.SkippedWalks = new long[_manifest.EpisodesPerEpoch];
            Prepare(allocateMatrices: false);
            int episodes = _manifest.EpisodesPerEpoch;
            var episodeTokens = new long[episodes];
            for (int episode = 0; episode < episodes; episode++)
            {
                long firstItem = ItemCount * episode / episodes, endItem = ItemCount * (episode + 1) / episodes;
                for (long item = firstItem; item < endItem; item++)
                    episodeTokens[episode] += _itemTokens[item];
            }
            return new PairVocabulary(_vocabulary.Keys.ToArray(), _vocabulary.Counts.ToArray(), episodeTokens, episodes);
        }

        /// <summary>
        /// Writes the pairs of episode <paramref name="episode"/> of epoch <paramref name="epoch"/> to the directory's
        /// P x P bucket files (replacing any there) and returns the pairs per bucket, row-major: the same files
        /// <see cref="Execute"/> trains from. The directory must hold the vocabulary file that <see cref="CountVocabulary"/>
        /// wrote for these settings and data; it is read on the first call.
        /// </summary>
        /// <param name="epoch">0 to Epochs - 1 (each epoch draws its subsampling and windows anew).</param>
        /// <param name="episode">0 to <paramref name="episodesPerEpoch"/> - 1.</param>
        /// <param name="episodesPerEpoch">The episodes of an epoch, as <see cref="CountVocabulary"/> sized them.</param>
        /// <param name="vocabularySize">The number of items with vectors, as <see cref="CountVocabulary"/> gave.</param>
        public long[] WriteEpisodePairs(int epoch, int episode, int episodesPerEpoch, int vocabularySize)
        {
            if (_manifest is null)
            {
                (_vocabulary, _itemTokens) = OpenVocabulary(new PartitionManifest { VocabularySize = vocabularySize, EpisodesPerEpoch = episodesPerEpoch });
                _manifest = new PartitionManifest
                {
                    Settings = AllSettings(),
                    VocabularySize = _vocabulary.Count,
                    EpisodesPerEpoch = episodesPerEpoch,
                    Attempts = 1,
                };
                _manifest.SkippedWalks = new long[episodesPerEpoch];
                Prepare(allocateMatrices: false);
            }
            if (_manifest.EpisodesPerEpoch != episodesPerEpoch || _vocabulary.Count != vocabularySize)
                throw new InvalidOperationException($"{Component}: this pair source was opened for {_manifest.EpisodesPerEpoch} episodes of {_vocabulary.Count} items, not {episodesPerEpoch} of {vocabularySize}.");
            if (epoch < 0 || epoch >= Settings.Epochs || episode < 0 || episode >= episodesPerEpoch)
                throw new ArgumentOutOfRangeException(nameof(episode), $"{Component}: epoch {epoch}, episode {episode} is outside {Settings.Epochs} epochs x {episodesPerEpoch} episodes.");
            long firstItem = ItemCount * episode / episodesPerEpoch, endItem = ItemCount * (episode + 1) / episodesPerEpoch;
            // A fresh episode every call: the directory is a scratch folder, and the manifest's record of ready pairs is not trusted.
            _manifest.PairsReadyEpisode = -1;
            return EnsurePairs(epoch, episode, (long)epoch * episodesPerEpoch + episode, firstItem, endItem);
        }

        /// <summary>The item count the resident memory is computed for (graph nodes: the per-node tables cover every node).</summary>
        protected virtual long ResidentItems => _vocabulary.Count;

        private int TotalBuckets() => Settings.Epochs * _manifest.EpisodesPerEpoch * Partitions * Partitions;

        private SortedDictionary<string, string> AllSettings()
        {
            string F(double v) => v.ToString("R", CultureInfo.InvariantCulture);
            var settings = new SortedDictionary<string, string>(StringComparer.Ordinal)
            {
                ["EmbeddingDimension"] = Dimension.ToString(CultureInfo.InvariantCulture),
                ["Partitions"] = Partitions.ToString(CultureInfo.InvariantCulture),
                ["WindowSize"] = Settings.WindowSize.ToString(CultureInfo.InvariantCulture),
                ["NegativeSampleCount"] = Settings.NegativeSampleCount.ToString(CultureInfo.InvariantCulture),
                ["SamplingThreshold"] = F(Settings.SamplingThreshold),
                ["Epochs"] = Settings.Epochs.ToString(CultureInfo.InvariantCulture),
                ["LearningRate"] = F(Settings.LearningRate),
                ["Seed"] = Settings.Seed.ToString(CultureInfo.InvariantCulture),
                ["KeepContextVectors"] = _keepContext ? "true" : "false",
                ["EpisodeBytes"] = _po.EpisodeBytes.ToString(CultureInfo.InvariantCulture),
                ["MinimumEpisodesPerEpoch"] = _po.MinimumEpisodesPerEpoch.ToString(CultureInfo.InvariantCulture),
            };
            AddSourceSettings(settings);
            return settings;
        }

        private void CheckSettings(PartitionManifest existing, SortedDictionary<string, string> settings)
        {
            var differences = new List<string>();
            foreach (var (name, value) in settings)
            {
                if (!existing.Settings.TryGetValue(name, out string? old))
                    differences.Add($"{name} (missing from the folder's run, now {value})");
                else if (old != value)
                    differences.Add(name switch
                    {
                        "Graph" => $"the graph (the folder's run: {old}; now: {value})",
                        "Corpus" => $"the corpus (the folder's run: {old}; now: {value})",
                        _ => $"{name} = {old} in the folder's run, {value} now",
                    });
            }
            foreach (string name in existing.Settings.Keys.Where(k => !settings.ContainsKey(k)))
                differences.Add($"{name} (only in the folder's run)");
            if (differences.Count > 0)
            {
                throw new InvalidOperationException($"{Component}: the partition directory '{_dir.Path}' holds a run with other settings, which cannot be resumed: {string.Join("; ", differences)}. " +
                    "Use the same settings (a run without a Seed draws a new one: set Seed to the folder's to resume), or give an empty folder.");
            }
        }

        private int EpisodesPerEpoch()
        {
            long tokens = _itemTokens.Sum();
            double pairs = EstimatedPairsPerEpoch(tokens);
            long episodes = Math.Max((long)Math.Ceiling(pairs * 8 / _po.EpisodeBytes), _po.MinimumEpisodesPerEpoch);
            return (int)Math.Clamp(episodes, 1, Math.Max(1, ItemCount));
        }

        /// <summary>Tables derived from the vocabulary: partition sizes, subsampling, per-partition negative samplers, the two resident matrices.</summary>
        private void Prepare(bool allocateMatrices = true)
        {
            _tokensPerEpoch = _itemTokens.Sum();
            int vocabularySize = _vocabulary.Count;
            if (vocabularySize < Partitions)
                throw new InvalidOperationException($"{Component}: Partitioning.Partitions = {Partitions} is more than the {vocabularySize} {ItemNoun} that get a vector; use at most {vocabularySize} partitions.");
            _rows = new int[Partitions];
            for (int part = 0; part < Partitions; part++)
                _rows[part] = (vocabularySize - part + Partitions - 1) / Partitions;
            if ((long)_rows[0] * Dimension > Array.MaxLength)
                throw new NotSupportedException($"{Component}: a partition of {_rows[0]:N0} {ItemNoun} x {Dimension} dimensions is larger than one array holds; use more partitions (at least {(long)vocabularySize * Dimension / Array.MaxLength + 1}).");
            _keep = _vocabulary.SubsamplingThresholds(Settings.SamplingThreshold);
            _samplers = new AliasSampler[Partitions];
            for (int part = 0; part < Partitions; part++)
                _samplers[part] = BucketKernel.Sampler(_vocabulary.Counts, Partitions, part, Settings.NegativeSamplingExponent, Component);
            if (allocateMatrices)
            {
                _input = new float[(long)_rows[0] * Dimension];
                _output = new float[(long)_rows[0] * Dimension];
            }
        }

        /// <summary>What the source's items are called in messages ("nodes", "items").</summary>
        protected virtual string ItemNoun => "items";

        private void InitializePartitions()
        {
            _manifest.InputVersions = new int[Partitions];
            _manifest.OutputVersions = new int[Partitions];
            for (int part = 0; part < Partitions; part++)
            {
                // Row v starts as the in-memory trainer's row v would: uniform in (-0.5, 0.5) / dimension from (seed, v).
                for (int local = 0; local < _rows[part]; local++)
                    BucketKernel.InitializeInputRow(Settings.Seed, local * Partitions + part, _input.AsSpan(local * Dimension, Dimension));
                _dir.WriteMatrix(_dir.MatrixFile(false, part, 0), false, part, _rows[part], Dimension, _input);
            }
            Array.Clear(_output);
            for (int part = 0; part < Partitions; part++)
                _dir.WriteMatrix(_dir.MatrixFile(true, part, 0), true, part, _rows[part], Dimension, _output);
            _dir.WriteManifest(_manifest);
        }

        private void TrainAll()
        {
            var done = new HashSet<(int, int, int, int)>(_manifest.Completed.Select(c => (c.Epoch, c.Episode, c.Input, c.Output)));
            int episodes = _manifest.EpisodesPerEpoch;
            long items = ItemCount;
            var episodeItems = new long[episodes + 1];
            for (int k = 0; k <= episodes; k++)
                episodeItems[k] = items * k / episodes;
            long tokensBefore = 0;
            for (int epoch = 0; epoch < Settings.Epochs; epoch++)
            {
                for (int episode = 0; episode < episodes; episode++)
                {
                    long firstItem = episodeItems[episode], endItem = episodeItems[episode + 1];
                    long episodeTokens = 0;
                    for (long item = firstItem; item < endItem; item++)
                        episodeTokens += _itemTokens[item];
                    long global = (long)epoch * episodes + episode;
                    var order = BucketOrder.For(Partitions, global);
                    if (order.All(b => done.Contains((epoch, episode, b.Input, b.Output))))
                    {
                        tokensBefore += episodeTokens;
                        continue;
                    }
                    Cancellation.ThrowIfCancellationRequested();
                    long[] counts = EnsurePairs(epoch, episode, global, firstItem, endItem);
                    long episodePairs = counts.Sum();
                    long pairsBefore = 0;
                    foreach (var (i, j) in order)
                    {
                        long bucketPairs = counts[i * Partitions + j];
                        if (!done.Contains((epoch, episode, i, j)))
                        {
                            Cancellation.ThrowIfCancellationRequested();
                            TrainBucket(epoch, episode, global, i, j, bucketPairs, pairsBefore, episodePairs, tokensBefore, episodeTokens);
                            done.Add((epoch, episode, i, j));
                        }
                        pairsBefore += bucketPairs;
                    }
                    tokensBefore += episodeTokens;
                }
            }
        }

        /// <summary>The pair counts of the episode's buckets, writing the bucket files first unless the manifest says they are complete.</summary>
        private long[] EnsurePairs(int epoch, int episode, long global, long firstItem, long endItem)
        {
            if (_manifest.PairsReadyEpisode == global && _manifest.PairsReadyCounts.Length == Partitions * Partitions)
            {
                bool intact = true;
                for (int b = 0; b < _manifest.PairsReadyCounts.Length && intact; b++)
                {
                    var info = new FileInfo(_dir.BucketFile(b / Partitions, b % Partitions));
                    long expected = _manifest.PairsReadyCounts[b] * 8;
                    intact = expected == 0 ? !info.Exists || info.Length == 0 : info.Exists && info.Length == expected;
                }
                if (intact)
                    return _manifest.PairsReadyCounts;
                Log($"partitioned: the pair buckets of episode {episode + 1} are incomplete on disk; writing them again");
            }
            var watch = Stopwatch.StartNew();
            _dir.ClearPairs();
            System.IO.Directory.CreateDirectory(_dir.PairsPath);
            int buckets = Partitions * Partitions;
            var shared = new BucketFiles(_dir, Partitions, firstItem);
            long skipped = 0;
            var writers = new PairWriter?[Threads];
            // Each work item's pairs are gathered by its thread and appended to the bucket files in work-item order, so the
            // files are the same whatever the thread count (one thread wrote them in this order already).
            RunWorkers(Threads, firstItem, endItem, (thread, item) =>
            {
                try
                {
                    // Inside the try: a writer that cannot be built (out of memory) must wake the threads waiting their turn.
                    var writer = writers[thread] ??= new PairWriter(this);
                    long none = ProduceItem(epoch, item, writer);
                    if (none != 0)
                        Interlocked.Add(ref skipped, none);
                    shared.Commit(item, writer, Cancellation);
                    PairItemWritten?.Invoke(item);
                }
                catch
                {
                    shared.Abort();
                    throw;
                }
            });
            shared.FlushAll();
            Cancellation.ThrowIfCancellationRequested();
            _dir.FlushPairsToDevice(Partitions);
            _manifest.PairsReadyEpisode = global;
            _manifest.PairsReadyCounts = shared.Counts;
            if (epoch == 0)
                _manifest.SkippedWalks[episode] = skipped;
            _manifest.TrainingSeconds += watch.Elapsed.TotalSeconds;
            _dir.WriteManifest(_manifest);
            _pairTime += watch.Elapsed;
            Log(string.Create(CultureInfo.InvariantCulture,
                $"partitioned: epoch {epoch + 1} episode {episode + 1}/{_manifest.EpisodesPerEpoch}: {shared.Counts.Sum():N0} pairs written to {buckets} buckets in {watch.Elapsed.TotalSeconds:F1} s"));
            return shared.Counts;
        }

        /// <summary>
        /// The bucket files of an episode being written, and a pair count per bucket. Work items are committed one at a
        /// time in item order (<see cref="Commit"/>): an item's pairs go to a staging buffer per bucket, appended to the
        /// bucket's file when full, so each file is the items' pairs concatenated in item order, whatever thread made them.
        /// </summary>
        internal sealed class BucketFiles
        {
            private readonly PartitionDirectory _directory;
            private readonly int _partitions;
            private readonly object _gate = new();
            private readonly int[][] _staging;
            private readonly int[] _staged;
            private long _next;
            private bool _aborted;

            public BucketFiles(PartitionDirectory directory, int partitions, long firstItem)
            {
                _directory = directory;
                _partitions = partitions;
                int buckets = partitions * partitions;
                int bufferPairs = PartitionedTraining.BufferPairs(partitions);
                _staging = Enumerable.Range(0, buckets).Select(_ => new int[2 * bufferPairs]).ToArray();
                _staged = new int[buckets];
                _next = firstItem;
                Counts = new long[buckets];
            }

            public long[] Counts { get; }

            /// <summary>
            /// Waits until every item before <paramref name="item"/> is committed (items are handed to the threads in
            /// order, so the earlier ones are being produced), then takes the writer's pairs of this item and clears it.
            /// Returns without committing when another thread failed or the run is cancelled (the episode is then dropped).
            /// </summary>
            public void Commit(long item, PairWriter writer, CancellationToken cancellation)
            {
                lock (_gate)
                {
                    while (_next != item)
                    {
                        if (_aborted || cancellation.IsCancellationRequested)
                            return;
                        Monitor.Wait(_gate, 50);
                    }
                    if (_aborted)
                        return;
                    for (int b = 0; b < _staged.Length; b++)
                    {
                        var pairs = writer.Taken(b);
                        while (!pairs.IsEmpty)
                        {
                            int room = _staging[b].Length - _staged[b];
                            int n = Math.Min(room, pairs.Length);
                            pairs[..n].CopyTo(_staging[b].AsSpan(_staged[b]));
                            _staged[b] += n;
                            pairs = pairs[n..];
                            if (_staged[b] == _staging[b].Length)
                                Flush(b);
                        }
                    }
                    writer.Clear();
                    _next = item + 1;
                    Monitor.PulseAll(_gate);
                }
            }

            /// <summary>Wakes the threads waiting for their turn: the episode failed and will not be committed.</summary>
            public void Abort()
            {
                lock (_gate)
                {
                    _aborted = true;
                    Monitor.PulseAll(_gate);
                }
            }

            /// <summary>Appends what is staged to the files (after the last item).</summary>
            public void FlushAll()
            {
                lock (_gate)
                {
                    for (int b = 0; b < _staged.Length; b++)
                        Flush(b);
                }
            }

            private void Flush(int bucket)
            {
                int ints = _staged[bucket];
                if (ints == 0)
                    return;
                using (var stream = new FileStream(_directory.BucketFile(bucket / _partitions, bucket % _partitions), FileMode.Append, FileAccess.Write, FileShare.None, 1))
                    stream.Write(MemoryMarshal.AsBytes(_staging[bucket].AsSpan(0, ints)));
                Counts[bucket] += ints / 2;
                _staged[bucket] = 0;
            }
        }

        /// <summary>
        /// One thread's writer of the pairs of a work item: subsamples each sequence it is given, draws the context of each
        /// position as the in-memory trainer does (the word2vec dynamic window, or every other position with whole-sequence
        /// context), and appends each (context, centre) pair as (input row, output row), local to their partitions, to the
        /// buffer of its bucket, which grows to the largest item seen (no allocation per sequence or pair once grown).
        /// <see cref="BucketFiles.Commit"/> takes the item's pairs.
        /// </summary>
        internal sealed class PairWriter
        {
            private readonly PartitionedSkipGramRun _run;
            private readonly int[][] _buffers;
            private readonly int[] _filled;
            private readonly int[] _kept;

            public PairWriter(PartitionedSkipGramRun run)
            {
                _run = run;
                int buckets = run.Partitions * run.Partitions;
                _buffers = Enumerable.Range(0, buckets).Select(_ => new int[256]).ToArray();
                _filled = new int[buckets];
                _kept = new int[Math.Max(1, run.MaxSequenceLength)];
            }

            /// <summary>What the token source keeps for this writer's thread (a corpus reader), or null.</summary>
            public object? SourceState { get; set; }

            /// <summary>
            /// Subsamples <paramref name="known"/> (vocabulary rows) and writes the pairs of what is kept, drawing from
            /// <paramref name="random"/>; returns how many tokens were kept (fewer than two train nothing).
            /// </summary>
            public int Add(ReadOnlySpan<int> known, ref TrainingRandom random)
            {
                var run = _run;
                int partitions = run.Partitions;
                uint[] keep = run._keep;
                int[] kept = _kept;
                int n = 0;
                foreach (int v in known)
                {
                    uint threshold = keep[v];
                    if (threshold == uint.MaxValue || random.NextUInt32() < threshold)
                        kept[n++] = v;
                }
                if (n < 2)
                    return n;
                bool whole = run.Settings.WholeSequenceContext;
                int window = run.Settings.WindowSize;
                for (int pos = 0; pos < n; pos++)
                {
                    int lo, hi;
                    if (whole)
                    {
                        lo = 0;
                        hi = n;
                    }
                    else
                    {
                        int reduce = random.Next(window);
                        lo = Math.Max(0, pos - window + reduce);
                        hi = (int)Math.Min(n, (long)pos + window + 1 - reduce);
                    }
                    int target = kept[pos];
                    int targetPartition = target % partitions, targetLocal = target / partitions;
                    for (int c = lo; c < hi; c++)
                    {
                        if (c == pos)
                            continue;
                        int source = kept[c];
                        int b = (source % partitions) * partitions + targetPartition;
                        int at = _filled[b];
                        var buffer = _buffers[b];
                        if (at == buffer.Length)
                            buffer = Grow(b);
                        buffer[at] = source / partitions;
                        buffer[at + 1] = targetLocal;
                        _filled[b] = at + 2;
                    }
                }
                return n;
            }

            private int[] Grow(int bucket)
            {
                Array.Resize(ref _buffers[bucket], _buffers[bucket].Length * 2);
                return _buffers[bucket];
            }

            /// <summary>The pairs of bucket <paramref name="bucket"/> gathered since <see cref="Clear"/>, (input, output) interleaved.</summary>
            public ReadOnlySpan<int> Taken(int bucket) => _buffers[bucket].AsSpan(0, _filled[bucket]);

            public void Clear() => Array.Clear(_filled);
        }

        private void EnsureLoaded(int input, int output)
        {
            if (_loadedInput != input)
            {
                _loadedInput = -1;
                _dir.ReadMatrix(_dir.MatrixFile(false, input, _manifest.InputVersions[input]), false, input, _rows[input], Dimension, _input, Component);
                _loadedInput = input;
                _manifest.MatrixLoads++;
            }
            if (_loadedOutput != output)
            {
                _loadedOutput = -1;
                _dir.ReadMatrix(_dir.MatrixFile(true, output, _manifest.OutputVersions[output]), true, output, _rows[output], Dimension, _output, Component);
                _loadedOutput = output;
                _manifest.MatrixLoads++;
            }
        }

        private void TrainBucket(int epoch, int episode, long global, int i, int j, long pairs, long pairsBefore, long episodePairs, long tokensBefore, long episodeTokens)
        {
            var watch = Stopwatch.StartNew();
            EnsureLoaded(i, j);
            double lossSum = 0;
            long lossCount = 0;
            bool diverged = false;
            if (pairs > 0)
            {
                using var handle = File.OpenHandle(_dir.BucketFile(i, j), FileMode.Open, FileAccess.Read, FileShare.Read);
                long chunks = (pairs + ChunkPairs - 1) / ChunkPairs;
                var sampler = _samplers[j];
                int d = Dimension, negatives = Settings.NegativeSampleCount;
                int outputRows = _rows[j];
                int inputRows = _rows[i];
                double totalTokens = (double)_tokensPerEpoch * Settings.Epochs;
                var statsLock = new object();
                RunWorkers(Threads, 0, chunks, (thread, chunk) =>
                {
                    var pairsBuffer = PairBuffer();
                    long first = chunk * ChunkPairs;
                    int count = (int)Math.Min(ChunkPairs, pairs - first);
                    var bytes = MemoryMarshal.AsBytes(pairsBuffer.AsSpan(0, 2 * count));
                    int read = RandomAccess.Read(handle, bytes, first * 8);
                    if (read != bytes.Length)
                        throw new InvalidOperationException($"{Component}: the pair bucket '{_dir.BucketFile(i, j)}' is shorter than its manifest says; the partition directory is damaged. Delete it to start again.");
                    var random = BucketKernel.ChunkRandom(Settings.Seed, global, Partitions, i, j, chunk);
                    var scratch = BucketKernel.Scratch.ForThread(d, negatives);
                    double localLoss = 0;
                    long localCount = 0;
                    var outcome = BucketKernel.TrainChunk(_input, _output, inputRows, outputRows, d, pairsBuffer.AsSpan(0, 2 * count), first, pairs, sampler, negatives, ref random,
                        Settings.LearningRate, tokensBefore, episodeTokens, totalTokens, scratch, ref localLoss, ref localCount, out int bad);
                    if (outcome == ChunkOutcome.PairOutOfRange)
                        throw new InvalidOperationException($"{Component}: the pair bucket '{_dir.BucketFile(i, j)}' holds a pair ({pairsBuffer[2 * bad]}, {pairsBuffer[2 * bad + 1]}) outside its partitions ({inputRows} and {outputRows} rows); the partition directory is damaged. Delete it to start again.");
                    if (outcome == ChunkOutcome.Diverged)
                    {
                        diverged = true;
                        return;
                    }
                    lock (statsLock)
                    {
                        lossSum += localLoss;
                        lossCount += localCount;
                    }
                });
            }
            if (diverged || double.IsNaN(lossSum) || !VectorMath.AllFinite(_input.AsSpan(0, _rows[i] * Dimension)) || !VectorMath.AllFinite(_output.AsSpan(0, _rows[j] * Dimension)))
                throw new InvalidOperationException($"{Component}: training diverged (a score became NaN or infinite) in bucket ({i}, {j}) of epoch {epoch + 1}; lower LearningRate (now {Settings.LearningRate}).");

            // Checkpoint: new files for the two partitions, then the manifest that names them (the commit), then the old files go.
            int oldInput = _manifest.InputVersions[i], oldOutput = _manifest.OutputVersions[j];
            _dir.WriteMatrix(_dir.MatrixFile(false, i, oldInput + 1), false, i, _rows[i], Dimension, _input);
            _dir.WriteMatrix(_dir.MatrixFile(true, j, oldOutput + 1), true, j, _rows[j], Dimension, _output);
            _manifest.InputVersions[i] = oldInput + 1;
            _manifest.OutputVersions[j] = oldOutput + 1;
            var completed = new CompletedBucket(epoch, episode, i, j, _manifest.Attempts, pairs);
            _manifest.Completed.Add(completed);
            _manifest.LossSum += lossSum;
            _manifest.LossCount += lossCount;
            _manifest.TrainingSeconds += watch.Elapsed.TotalSeconds;
            _dir.WriteManifest(_manifest);
            File.Delete(_dir.MatrixFile(false, i, oldInput));
            File.Delete(_dir.MatrixFile(true, j, oldOutput));
            _pairsTrained += pairs;
            _bucketsTrained++;
            ReportProgress(tokensBefore + (double)episodeTokens * (pairsBefore + pairs) / Math.Max(1, episodePairs));
            Log(string.Create(CultureInfo.InvariantCulture,
                $"partitioned: epoch {epoch + 1} episode {episode + 1} bucket ({i}, {j}): {pairs:N0} pairs in {watch.Elapsed.TotalSeconds:F2} s, loss {(lossCount == 0 ? double.NaN : lossSum / lossCount):F4}; {_manifest.Completed.Count}/{TotalBuckets()} buckets, {_manifest.MatrixLoads} matrix loads"));
            PartitionedTraining.BucketCommitted?.Invoke(completed);
        }

        private void ReportProgress(double tokens)
        {
            if (Settings.Progress is null)
                return;
            int epochs = Settings.Epochs;
            double total = (double)_tokensPerEpoch * epochs;
            double seconds = Math.Max(1e-9, _manifest.TrainingSeconds);
            int epoch = (int)Math.Clamp(Math.Ceiling(tokens / Math.Max(1, _tokensPerEpoch)), 1, epochs);
            float lr = BucketKernel.Rate(Settings.LearningRate, tokens, total);
            double loss = _manifest.LossCount == 0 ? double.NaN : _manifest.LossSum / _manifest.LossCount;
            Settings.Progress.Report(new SkipGramProgress(epoch, epochs, (long)tokens, (long)total, tokens / seconds, lr, loss));
        }

        /// <summary>The result tables: rows in partition order (partition 0's items, then partition 1's, ...), each written from its partition file.</summary>
        private void WriteResults()
        {
            var keys = new string[_vocabulary.Count];
            var starts = new int[Partitions + 1];
            for (int part = 0; part < Partitions; part++)
            {
                starts[part + 1] = starts[part] + _rows[part];
                for (int local = 0; local < _rows[part]; local++)
                    keys[starts[part] + local] = _vocabulary.Keys[local * Partitions + part];
            }
            WriteTable(PartitionDirectory.VectorsName, keys, starts, output: false);
            if (_keepContext)
                WriteTable(PartitionDirectory.ContextName, keys, starts, output: true);
            _loadedInput = _loadedOutput = -1;
        }

        private void WriteTable(string name, string[] keys, int[] starts, bool output)
        {
            var buffer = output ? _output : _input;
            int loaded = -1;
            int d = Dimension;
            EmbeddingTable.SaveRows(_dir.File(name), keys, d, (row, destination) =>
            {
                int part = loaded;
                if (part < 0 || row < starts[part] || row >= starts[part + 1])
                {
                    part = Array.BinarySearch(starts, row);
                    part = part >= 0 ? part : ~part - 1;
                    while (starts[part + 1] == starts[part])
                        part++;
                    int version = output ? _manifest.OutputVersions[part] : _manifest.InputVersions[part];
                    _dir.ReadMatrix(_dir.MatrixFile(output, part, version), output, part, _rows[part], d, buffer, Component);
                    loaded = part;
                }
                buffer.AsSpan((row - starts[part]) * d, d).CopyTo(destination);
            });
        }

        [ThreadStatic]
        private static int[]? t_pairs;

        private static int[] PairBuffer() => t_pairs ??= new int[2 * ChunkPairs];

        /// <summary>Runs <paramref name="work"/>(thread, item) for items [first, end) on <paramref name="threads"/> threads, items taken in order.</summary>
        protected void RunWorkers(int threads, long first, long end, Action<int, long> work) =>
            WorkItemThreads.Run(first, end, threads, "Partitioned worker", Cancellation, static () => 0, (thread, item, _) => work(thread, item));
    }
}
