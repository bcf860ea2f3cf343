using System;
using System.Diagnostics;
using System.Globalization;
using System.Threading;
using Embeddings.Kernels;

namespace Embeddings.SkipGram
{
    /// <summary>Settings of one training run (validated by the estimator).</summary>
    internal sealed record SkipGramTrainingSettings
    {
        public required int Dimension { get; init; }
        public required int WindowSize { get; init; }
        public required bool WholeSequenceContext { get; init; }
        public required bool Cbow { get; init; }
        public required int NegativeSampleCount { get; init; }
        public required bool HierarchicalSoftmax { get; init; }
        public required double NegativeSamplingExponent { get; init; }
        public required double SamplingThreshold { get; init; }
        public required int Epochs { get; init; }
        public required float LearningRate { get; init; }
        public required int NumberOfThreads { get; init; }
        public required int Seed { get; init; }
        public IProgress<SkipGramProgress>? Progress { get; init; }
        public Action<string>? Log { get; init; }
        public CancellationToken CancellationToken { get; init; }
    }

    /// <summary>
    /// The starting point of a continued run: input and output rows already filled for the vocabulary rows marked in
    /// <see cref="Filled"/> (the others start as in a new run: random input, zero output).
    /// </summary>
    internal sealed record SkipGramInitialState(EmbeddingTableBuilder Input, EmbeddingTableBuilder Output, bool[] Filled);

    /// <summary>What training produced: the input vectors, optionally the output (context) vectors, and statistics.</summary>
    internal sealed record SkipGramTrainingResult(EmbeddingTableBuilder InputVectors, EmbeddingTableBuilder? OutputVectors, double FinalLoss, double TokensPerSecond, TimeSpan Elapsed);

    /// <summary>
    /// Hogwild skip-gram / CBOW training over shared float32 tables, as in the word2vec tool: negative sampling and/or
    /// hierarchical softmax, frequent-item subsampling, dynamic window (or whole-sequence context), and a learning
    /// rate decayed linearly over all epochs to 1e-4 of its start.
    /// </summary>
    /// <remarks>
    /// Work is split into the corpus' work items of whole sequences (<see cref="SkipGramCorpus.TargetWorkItemTokens"/>
    /// tokens); threads take (epoch, item) pairs in order and read each item through their own
    /// <see cref="SequenceReader"/> (from memory, a mapped file, or walks generated on the fly). Each item's random
    /// stream and learning rate come from the item alone, so with one thread a run is exactly repeatable, and with
    /// several only the Hogwild interleaving varies. No allocation happens per sequence or per training pair.
    /// </remarks>
    internal sealed class SkipGramTrainer
    {
        private const float MinLearningRateFraction = 1e-4f;
        private const int LearningRateUpdateInterval = 1024;

        private readonly Vocabulary _vocabulary;
        private readonly SkipGramCorpus _corpus;
        private readonly SkipGramTrainingSettings _settings;
        private readonly EmbeddingTableBuilder _input;
        private readonly EmbeddingTableBuilder? _outputNegative;
        private readonly EmbeddingTableBuilder? _outputHierarchical;
        private readonly HuffmanTree? _tree;
        private readonly AliasSampler? _negativeSampler;
        private readonly uint[] _keepThreshold;
        private readonly long _totalTokens;

        private long _nextWorkItem;
        private long _processedTokens;
        private double _lossSum;
        private long _lossCount;
        private volatile bool _stop;
        private Exception? _failure;
        private readonly object _statsLock = new();

        private readonly bool[]? _filled;

        private SkipGramTrainer(Vocabulary vocabulary, SkipGramCorpus corpus, SkipGramTrainingSettings settings, SkipGramInitialState? initial)
        {
            _vocabulary = vocabulary;
            _corpus = corpus;
            _settings = settings;
            _input = initial?.Input ?? new EmbeddingTableBuilder(vocabulary.Count, settings.Dimension);
            _filled = initial?.Filled;
            if (settings.NegativeSampleCount > 0)
            {
                _outputNegative = initial?.Output ?? new EmbeddingTableBuilder(vocabulary.Count, settings.Dimension);
                _negativeSampler = vocabulary.NegativeSampler(settings.NegativeSamplingExponent);
            }
            if (settings.HierarchicalSoftmax)
            {
                _tree = new HuffmanTree(vocabulary.Counts);
                _outputHierarchical = new EmbeddingTableBuilder(_tree.InnerNodeCount, settings.Dimension);
            }
            _keepThreshold = vocabulary.SubsamplingThresholds(settings.SamplingThreshold);
            _totalTokens = corpus.TokenCount * settings.Epochs;
        }

        /// <summary>Trains from random input and zero output vectors, or from <paramref name="initial"/> (negative sampling only).</summary>
        public static SkipGramTrainingResult Train(Vocabulary vocabulary, SkipGramCorpus corpus, SkipGramTrainingSettings settings, SkipGramInitialState? initial = null)
        {
            if (initial is not null && (settings.HierarchicalSoftmax || settings.NegativeSampleCount == 0))
                throw new ArgumentException("Continued training needs negative sampling and no hierarchical softmax.", nameof(initial));
            var trainer = new SkipGramTrainer(vocabulary, corpus, settings, initial);
            return trainer.Run();
        }

        private SkipGramTrainingResult Run()
        {
            var watch = Stopwatch.StartNew();
            InitializeInputVectors();
            int threadCount = Math.Max(1, _settings.NumberOfThreads);
            var threads = new Thread[threadCount];
            for (int t = 0; t < threadCount; t++)
            {
                threads[t] = new Thread(Worker) { IsBackground = true, Name = $"SkipGram worker {t}" };
                threads[t].Start();
            }

            var lastReport = Stopwatch.StartNew();
            foreach (var thread in threads)
            {
                while (!thread.Join(TimeSpan.FromMilliseconds(250)))
                {
                    if (_settings.CancellationToken.IsCancellationRequested)
                        _stop = true;
                    if (lastReport.Elapsed >= TimeSpan.FromSeconds(1))
                    {
                        Report(watch.Elapsed, final: false);
                        lastReport.Restart();
                    }
                }
            }
            watch.Stop();
            if (_failure is not null)
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(_failure).Throw();
            _settings.CancellationToken.ThrowIfCancellationRequested();
            CheckFinite(_input, "input");
            if (_outputNegative is not null)
                CheckFinite(_outputNegative, "output");
            if (_lossCount == 0)
            {
                // Every sequence lost all but one of its items to subsampling: the vectors are the random ones they started as.
                throw new InvalidOperationException(string.Create(CultureInfo.InvariantCulture,
                    $"No pair of items was trained: subsampling (SamplingThreshold = {_settings.SamplingThreshold}) kept fewer than two items of every sequence of the corpus ({_corpus.TokenCount:N0} tokens in {_corpus.SequenceCount:N0} sequences), and the vectors would stay random. Lower SamplingThreshold (0 turns subsampling off) or give a larger corpus."));
            }
            var progress = Report(watch.Elapsed, final: true);
            return new SkipGramTrainingResult(_input, _outputNegative, progress.Loss, progress.TokensPerSecond, watch.Elapsed);
        }

        private SkipGramProgress Report(TimeSpan elapsed, bool final)
        {
            long processed = Interlocked.Read(ref _processedTokens);
            double loss;
            lock (_statsLock)
                loss = _lossCount == 0 ? double.NaN : _lossSum / _lossCount;
            int epoch = _corpus.TokenCount == 0 ? _settings.Epochs : (int)Math.Min(_settings.Epochs, processed / Math.Max(1, _corpus.TokenCount) + (final ? 0 : 1));
            var progress = new SkipGramProgress(
                Epoch: Math.Max(1, epoch),
                Epochs: _settings.Epochs,
                TokensProcessed: processed,
                TotalTokens: _totalTokens,
                TokensPerSecond: elapsed.TotalSeconds > 0 ? processed / elapsed.TotalSeconds : 0,
                LearningRate: LearningRateAt(processed),
                Loss: loss);
            _settings.Progress?.Report(progress);
            _settings.Log?.Invoke(progress.ToString());
            return progress;
        }

        private float LearningRateAt(long processedTokens)
        {
            float fraction = _totalTokens == 0 ? 1f : 1f - (float)((double)processedTokens / _totalTokens);
            return _settings.LearningRate * Math.Max(fraction, MinLearningRateFraction);
        }

        private void InitializeInputVectors()
        {
            // Row r depends only on (seed, r): the same with any number of threads. Values uniform in (-0.5, 0.5) / dimension.
            int rows = _input.Count;
            int threads = Math.Max(1, Math.Min(_settings.NumberOfThreads, rows / 4096 + 1));
            float scale = 1f / _settings.Dimension;
            System.Threading.Tasks.Parallel.For(0, threads, new System.Threading.Tasks.ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
            {
                for (int r = t; r < rows; r += threads)
                {
                    if (_filled is not null && _filled[r])
                        continue;
                    var random = new TrainingRandom((ulong)_settings.Seed, 0x1_0000_0000UL + (ulong)r);
                    var row = _input.Row(r);
                    for (int j = 0; j < row.Length; j++)
                        row[j] = (random.NextFloat() - 0.5f) * scale;
                }
            });
        }

        private void Worker()
        {
            try
            {
                // A position has at most the other positions of its sequence as contexts, whatever the window.
                int maxContexts = _settings.WholeSequenceContext ? Math.Max(1, _corpus.MaxSequenceLength - 1) : (int)Math.Min(2L * _settings.WindowSize, Math.Max(1, _corpus.MaxSequenceLength - 1));
                var state = new WorkerState(_settings.Dimension, _corpus.MaxSequenceLength, maxContexts, _settings.NegativeSampleCount + 1);
                using var reader = _corpus.CreateReader();
                long workItems = (long)_corpus.WorkItemCount * _settings.Epochs;
                while (!_stop)
                {
                    long next = Interlocked.Increment(ref _nextWorkItem) - 1;
                    if (next >= workItems)
                        break;
                    int epoch = (int)(next / _corpus.WorkItemCount);
                    int item = (int)(next % _corpus.WorkItemCount);
                    TrainWorkItem(epoch, item, state, reader);
                    if (state.Diverged)
                    {
                        throw new InvalidOperationException(
                            $"Training diverged (a score became NaN) in epoch {epoch + 1}. Lower LearningRate (now {_settings.LearningRate}), " +
                            "or reduce EmbeddingDimension or the number of context items per pair (WindowSize, WholeSequenceContext).");
                    }
                    if (_settings.CancellationToken.IsCancellationRequested)
                        _stop = true;
                }
            }
            catch (Exception e)
            {
                Interlocked.CompareExchange(ref _failure, e, null);
                _stop = true;
            }
        }

        private void TrainWorkItem(int epoch, int item, WorkerState state, SequenceReader reader)
        {
            var random = new TrainingRandom((ulong)_settings.Seed, (ulong)epoch * (ulong)_corpus.WorkItemCount + (ulong)item);
            reader.Open(item);
            long offset = (long)epoch * _corpus.TokenCount + _corpus.WorkItemTokenOffset(item);
            long consumed = 0;
            state.LossSum = 0;
            state.LossCount = 0;
            Span<int> kept = state.Sentence;
            while (reader.Next(out ReadOnlySpan<int> sequence))
            {
                int n = 0;
                if (_settings.SamplingThreshold > 0)
                {
                    foreach (int token in sequence)
                    {
                        uint threshold = _keepThreshold[token];
                        if (threshold == uint.MaxValue || random.NextUInt32() < threshold)
                            kept[n++] = token;
                    }
                }
                else
                {
                    sequence.CopyTo(kept);
                    n = sequence.Length;
                }
                if (n >= 2)
                {
                    if (_settings.Cbow)
                        TrainCbow(kept.Slice(0, n), ref random, state, offset + consumed, sequence.Length);
                    else if (_tree is null)
                        TrainSkipGramSharedNegatives(kept.Slice(0, n), ref random, state, offset + consumed, sequence.Length);
                    else
                        TrainSkipGram(kept.Slice(0, n), ref random, state, offset + consumed, sequence.Length);
                    if (state.Diverged)
                        return;
                }
                consumed += sequence.Length;
            }
            Interlocked.Add(ref _processedTokens, consumed);
            lock (_statsLock)
            {
                _lossSum += state.LossSum;
                _lossCount += state.LossCount;
            }
        }

        private float LearningRate(long tokensBefore, int position, int keptLength, int rawLength)
        {
            long progress = tokensBefore + (long)position * rawLength / keptLength;
            return LearningRateAt(progress);
        }

        private void TrainSkipGram(ReadOnlySpan<int> sentence, ref TrainingRandom random, WorkerState state, long tokensBefore, int rawLength)
        {
            int n = sentence.Length;
            Span<float> gradient = state.Gradient;
            float alpha = LearningRate(tokensBefore, 0, n, rawLength);
            for (int pos = 0; pos < n; pos++)
            {
                if ((pos & (LearningRateUpdateInterval - 1)) == 0 && pos > 0)
                    alpha = LearningRate(tokensBefore, pos, n, rawLength);
                int word = sentence[pos];
                var (lo, hi) = ContextRange(pos, n, ref random);
                for (int c = lo; c < hi; c++)
                {
                    if (c == pos)
                        continue;
                    Span<float> l1 = _input.Row(sentence[c]);
                    gradient.Clear();
                    TrainTargets(l1, word, gradient, alpha, ref random, state);
                    VectorMath.Add(gradient, l1);
                }
                if (state.Diverged)
                    return;
            }
        }

        /// <summary>
        /// Skip-gram with negative sampling, batched per centre item (Ji et al., 2016): the negatives are drawn once per
        /// centre and shared by its context items, the (context x target) scores are computed from one snapshot, and the
        /// accumulated gradients are applied once per row. The same arithmetic as pair-by-pair training, with the rows
        /// of a centre's context and targets kept in cache and K instead of K x contexts random draws.
        /// </summary>
        private void TrainSkipGramSharedNegatives(ReadOnlySpan<int> sentence, ref TrainingRandom random, WorkerState state, long tokensBefore, int rawLength)
        {
            int n = sentence.Length;
            int d = _settings.Dimension;
            int negatives = _settings.NegativeSampleCount;
            Span<int> contexts = state.Contexts;
            Span<int> targets = state.Targets;
            Span<float> inputGradients = state.InputGradients;
            Span<float> outputGradients = state.OutputGradients;
            Span<float> scores = state.Scores;
            float alpha = LearningRate(tokensBefore, 0, n, rawLength);
            for (int pos = 0; pos < n; pos++)
            {
                if ((pos & (LearningRateUpdateInterval - 1)) == 0 && pos > 0)
                    alpha = LearningRate(tokensBefore, pos, n, rawLength);
                int word = sentence[pos];
                var (lo, hi) = ContextRange(pos, n, ref random);
                int m = 0;
                for (int c = lo; c < hi; c++)
                {
                    if (c != pos)
                        contexts[m++] = sentence[c];
                }
                if (m == 0)
                    continue;
                int t = 0;
                targets[t++] = word;
                for (int k = 0; k < negatives; k++)
                {
                    int sample = _negativeSampler!.Sample(ref random);
                    if (sample != word)
                        targets[t++] = sample;
                }

                if (!SharedNegativesStep.Train(new BuilderRows(_input), new BuilderRows(_outputNegative!), contexts.Slice(0, m), targets.Slice(0, t), d, alpha,
                    scores, inputGradients, outputGradients, ref state.LossSum, ref state.LossCount))
                {
                    state.Diverged = true;
                    return;
                }
            }
        }

        private void TrainCbow(ReadOnlySpan<int> sentence, ref TrainingRandom random, WorkerState state, long tokensBefore, int rawLength)
        {
            int n = sentence.Length;
            Span<float> gradient = state.Gradient;
            Span<float> hidden = state.Hidden;
            float alpha = LearningRate(tokensBefore, 0, n, rawLength);
            for (int pos = 0; pos < n; pos++)
            {
                if ((pos & (LearningRateUpdateInterval - 1)) == 0 && pos > 0)
                    alpha = LearningRate(tokensBefore, pos, n, rawLength);
                int word = sentence[pos];
                var (lo, hi) = ContextRange(pos, n, ref random);
                hidden.Clear();
                int contextCount = 0;
                for (int c = lo; c < hi; c++)
                {
                    if (c == pos)
                        continue;
                    VectorMath.Add(_input.Row(sentence[c]), hidden);
                    contextCount++;
                }
                if (contextCount == 0)
                    continue;
                VectorMath.Scale(1f / contextCount, hidden);
                gradient.Clear();
                TrainTargets(hidden, word, gradient, alpha, ref random, state);
                for (int c = lo; c < hi; c++)
                {
                    if (c != pos)
                        VectorMath.Add(gradient, _input.Row(sentence[c]));
                }
                if (state.Diverged)
                    return;
            }
        }

        /// <summary>The context positions [lo, hi) of <paramref name="pos"/>: the whole sequence, or a window shrunk by a random amount as in the word2vec tool.</summary>
        private (int Lo, int Hi) ContextRange(int pos, int n, ref TrainingRandom random)
        {
            if (_settings.WholeSequenceContext)
                return (0, n);
            int window = _settings.WindowSize;
            int reduce = random.Next(window);
            return (Math.Max(0, pos - window + reduce), (int)Math.Min(n, (long)pos + window + 1 - reduce));
        }

        /// <summary>The output-side updates for one (hidden vector, target item) pair: hierarchical softmax and/or negatives.</summary>
        private void TrainTargets(ReadOnlySpan<float> l1, int word, Span<float> gradient, float alpha, ref TrainingRandom random, WorkerState state)
        {
            if (_tree is not null)
            {
                ReadOnlySpan<int> points = _tree.Points(word);
                ReadOnlySpan<byte> codes = _tree.Codes(word);
                for (int d = 0; d < points.Length; d++)
                {
                    Span<float> l2 = _outputHierarchical!.Row(points[d]);
                    float f = VectorMath.Dot(l1, l2);
                    if (float.IsNaN(f))
                    {
                        state.Diverged = true;
                        return;
                    }
                    state.LossSum += SigmoidTable.LogLoss(f, codes[d] == 0);
                    state.LossCount++;
                    if (f <= -SigmoidTable.MaxExp || f >= SigmoidTable.MaxExp)
                        continue;
                    float g = (1 - codes[d] - SigmoidTable.Sigmoid(f)) * alpha;
                    VectorMath.AccumulateAndUpdate(l1, l2, gradient, g);
                }
            }
            int negatives = _settings.NegativeSampleCount;
            if (negatives > 0)
            {
                for (int d = 0; d <= negatives; d++)
                {
                    int target;
                    float label;
                    if (d == 0)
                    {
                        target = word;
                        label = 1;
                    }
                    else
                    {
                        target = _negativeSampler!.Sample(ref random);
                        if (target == word)
                            continue;
                        label = 0;
                    }
                    Span<float> l2 = _outputNegative!.Row(target);
                    float f = VectorMath.Dot(l1, l2);
                    if (float.IsNaN(f))
                    {
                        state.Diverged = true;
                        return;
                    }
                    float g = SharedNegativesStep.Gradient(f, label, alpha);
                    state.LossSum += SigmoidTable.LogLoss(f, d == 0);
                    state.LossCount++;
                    VectorMath.AccumulateAndUpdate(l1, l2, gradient, g);
                }
            }
        }

        private void CheckFinite(EmbeddingTableBuilder rows, string which)
        {
            for (int r = 0; r < rows.Count; r++)
            {
                if (!VectorMath.AllFinite(rows.Row(r)))
                {
                    throw new InvalidOperationException(
                        $"Training diverged: the {which} vector of '{_vocabulary.Keys[r]}' contains NaN or infinity. Lower LearningRate (now {_settings.LearningRate}), " +
                        "or reduce the number of context items per pair (WindowSize, WholeSequenceContext).");
                }
            }
        }

        /// <summary>Buffers owned by one worker thread, reused for every sequence.</summary>
        private sealed class WorkerState
        {
            public WorkerState(int dimension, int maxSequenceLength, int maxContexts, int maxTargets)
            {
                Gradient = new float[dimension];
                Hidden = new float[dimension];
                Sentence = new int[Math.Max(1, maxSequenceLength)];
                Contexts = new int[maxContexts];
                Targets = new int[maxTargets];
                Scores = new float[maxContexts * maxTargets];
                InputGradients = new float[(long)maxContexts * dimension];
                OutputGradients = new float[maxTargets * dimension];
            }

            public int[] Contexts { get; }

            public int[] Targets { get; }

            public float[] Scores { get; }

            public float[] InputGradients { get; }

            public float[] OutputGradients { get; }

            public float[] Gradient { get; }

            public float[] Hidden { get; }

            public int[] Sentence { get; }

            public double LossSum;

            public long LossCount;

            public bool Diverged { get; set; }
        }
    }
}
