using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using Microsoft.ML;
using Defaults = Embeddings.SkipGramEmbeddingEstimator.Defaults;

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings word2vec</c>: a drop-in replacement for the word2vec tool, with its flags, meanings and defaults.
    /// Every flag also has a double-dash spelling (<c>--size</c>), and <c>--dimensions</c> and <c>--epochs</c> name
    /// <c>-size</c> and <c>-iter</c>.
    /// </summary>
    internal sealed class Word2VecCommand : CliCommand
    {
        /// <summary>The word2vec tool's defaults where they differ from the library's.</summary>
        private const int ToolThreads = 12;
        private const int ToolDebug = 2;

        private readonly Option<string> _train = CommonOptions.Input("-train",
            "UTF-8 training text: words separated by any Unicode white space (NBSP and EM SPACE too); each line is a sentence (cut every 10,000 words); or Parquet (a .parquet file or a folder of them; see -train-column)", "--train");
        private readonly Option<string?> _trainColumn = new("-train-column", "--train-column")
        {
            Description = "Parquet input: the column of text (STRING: a line of words per row) or of sentences (a LIST of STRING or integers per row); default: the file's only column",
            HelpName = "NAME",
        };
        private readonly Option<string> _output = CommonOptions.Output("-output", "where to write the word vectors (word2vec format; Parquet when FILE ends in .parquet: key, vector columns)", "--output");
        private readonly Option<int> _size = CliOption.Int("-size", "vector size", "--size", "--dimensions").Default(Defaults.EmbeddingDimension).Between(1, 100_000);
        private readonly Option<int> _window = CliOption.Int("-window", "maximum skip length between words", "--window").Default(Defaults.WindowSize).AtLeast(1);
        private readonly Option<double> _sample = CliOption.Double("-sample", "threshold for down-sampling frequent words (useful range 0 to 1e-5; 0 turns it off)", "--sample")
            .Default(Defaults.SamplingThreshold).Threshold();
        private readonly Option<Named<bool>> _hs = CliOption.ZeroOrOne("-hs", "hierarchical softmax", false, "--hs");
        private readonly Option<int> _negative = CliOption.Int("-negative", "negative examples (3-10 common; 0 = none)", "--negative").Default(Defaults.NegativeSampleCount).Between(0, 1000);
        private readonly Option<int> _threads = CommonOptions.Threads("-threads", ToolThreads, "--threads");
        private readonly Option<int> _iter = CliOption.Int("-iter", "training iterations", "--iter", "--epochs").Default(Defaults.Epochs).AtLeast(1);
        private readonly Option<int> _minCount = CliOption.Int("-min-count", "discard words that appear fewer times", "--min-count").Default(Defaults.MinCount).AtLeast(1);
        private readonly Option<double?> _alpha = CliOption.OptionalDouble("-alpha",
            string.Create(CultureInfo.InvariantCulture, $"starting learning rate (default: {Defaults.SkipGramLearningRate} for skip-gram, {Defaults.CbowLearningRate} for CBOW)"), "--alpha").Rate();
        private readonly Option<Named<bool>> _cbow = CliOption.ZeroOrOne("-cbow", "1 = continuous bag of words, 0 = skip-gram", true, "--cbow");
        private readonly Option<Named<bool>> _binary = CliOption.ZeroOrOne("-binary", "save the vectors in binary (1) or text (0) format", false, "--binary");
        private readonly Option<string> _saveVocab = CliOption.File("-save-vocab", "also write the vocabulary: 'word count' lines, most frequent first", "--save-vocab");
        private readonly Option<string> _readVocab = CliOption.File("-read-vocab", "not supported: the vocabulary is always counted from -train", "--read-vocab");
        private readonly Option<string> _classes = new("-classes", "--classes") { Description = "not supported (k-means word classes): cluster the vectors instead", HelpName = "N" };
        private readonly Option<int> _debug = CliOption.Int("-debug", "0 = quiet, 1 = summary, 2 = progress", "--debug").Default(ToolDebug);
        private readonly PartitioningFlags _partitioning = new(singleDash: true);
        private readonly Option<int> _seed = CommonOptions.Seed("-seed", "random seed (extension); with -threads 1 the output is identical run to run", "--seed");

        public Word2VecCommand()
            : base("word2vec", "Train word vectors with the word2vec tool's flags, meanings and defaults (-train -output -size ...).",
                "Every flag also takes two dashes (--train, --size); --dimensions and --epochs are -size and -iter.")
        {
            Add(_train, _trainColumn, _output, _size, _window, _sample, _hs, _negative, _threads, _iter, _minCount, _alpha, _cbow, _binary, _saveVocab, _readVocab, _classes, _debug, _seed);
            Add(_partitioning.All);
            Speak("EmbeddingDimension", _size);
            Speak("WindowSize", _window);
            Speak("SamplingThreshold", _sample);
            Speak("NegativeSampleCount", _negative);
            Speak("NumberOfThreads", _threads);
            Speak("Epochs", _iter);
            Speak("MinCount", _minCount);
            Speak("LearningRate", _alpha);
            Command.Validators.Add(result =>
            {
                if (result.GetResult(_classes) is { Implicit: false })
                    result.AddError("-classes (k-means word classes) is not supported: cluster the vectors instead.");
                if (result.GetResult(_readVocab) is { Implicit: false })
                    result.AddError("-read-vocab is not supported: the vocabulary is always counted from -train.");
                if (result.ValueOf(_negative) == 0 && !result.ValueOf(_hs).Value)
                    result.AddError("-negative 0 with -hs 0 leaves nothing to train; use -negative 5 (3-10 is common) or -hs 1.");
            });
        }

        /// <summary>What the flags ask for.</summary>
        internal sealed record Settings(string Train, string Output, SkipGramEmbeddingEstimator.Options Options, bool Binary, int Seed, string? SaveVocabulary, int Debug);

        /// <summary>The settings of parsed flags (the training options without progress and cancellation).</summary>
        internal Settings Read(ParseResult result)
        {
            bool cbow = result.GetValue(_cbow)!.Value;
            var options = new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "vectors",
                EmbeddingDimension = result.GetValue(_size),
                WindowSize = result.GetValue(_window),
                SamplingThreshold = result.GetValue(_sample),
                HierarchicalSoftmax = result.GetValue(_hs)!.Value,
                NegativeSampleCount = result.GetValue(_negative),
                NumberOfThreads = result.GetValue(_threads),
                Epochs = result.GetValue(_iter),
                MinCount = result.GetValue(_minCount),
                LearningRate = result.GetValue(_alpha) is double alpha ? (float)alpha : cbow ? Defaults.CbowLearningRate : Defaults.SkipGramLearningRate,
                Model = cbow ? SkipGramModel.Cbow : SkipGramModel.SkipGram,
                Partitioning = _partitioning.Read(result),
            };
            if (options.Partitioning is not null && (cbow || options.HierarchicalSoftmax))
                throw new UsageException($"{_partitioning.OnFlag(result)} trains skip-gram with negative sampling only; add -cbow 0{(options.HierarchicalSoftmax ? " and -hs 0" : "")} (the word2vec tool's default is CBOW), or leave the partitioning flags out.");
            return new Settings(result.GetValue(_train)!, result.GetValue(_output)!, options, result.GetValue(_binary)!.Value, result.GetValue(_seed),
                result.GetValue(_saveVocab), result.GetValue(_debug));
        }

        protected override int Run(CommandRun run)
        {
            var settings = Read(run.Result);
            string train = run.InputFileOrParquetFolder(_train);
            string output = run.OutputFile(_output);
            bool parquet = Data.ParquetInput.IsParquet(train);
            if (!parquet)
                CommonOptions.ColumnsNeedParquet(run, train, _train, _trainColumn);
            if (Data.EmbeddingFiles.IsParquet(output) && settings.Binary)
                throw new UsageException($"{run.Flag(_binary)} 1 asks for the word2vec binary format, but {run.Flag(_output)} '{output}' is a .parquet file; leave {run.Flag(_binary)} out, or give another file name.");
            string? saveVocabulary = run.OptionalOutputFile(_saveVocab);
            int debug = settings.Debug;
            var options = settings.Options;
            options.Progress = debug >= 2 ? new ConsoleProgress(run.Error) : null;
            options.CancellationToken = run.Cancellation;
            options.Seed = settings.Seed;
            var estimator = run.NewContext(settings.Seed).Embeddings().SkipGram(options);

            long corpusTokens = 0;
            var model = estimator.Fit(writer => corpusTokens = parquet
                ? Data.ParquetInput.ReadSequences(train, run.Get(_trainColumn), run.Flag(_trainColumn), TextCorpusReader.DefaultMaxSequenceLength,
                    rejectWhiteSpace: !Data.EmbeddingFiles.IsParquet(output), writer, run.Cancellation)
                : TextCorpusReader.Read(train, writer, cancellation: run.Cancellation));
            var summary = model.TrainingSummary;
            if (options.Progress is not null)
                run.Error.WriteLine();
            run.ThrowIfCancelled();
            if (debug >= 1)
                run.Out.WriteLine($"Vocab size: {summary.VocabularySize}\nWords in train file: {corpusTokens}");
            Data.EmbeddingFiles.Save(model.Embeddings, output, settings.Binary);
            if (saveVocabulary is not null)
                WriteVocabulary(saveVocabulary, model.Embeddings.Keys, summary.ItemCounts);

            var process = Process.GetCurrentProcess();
            double wall = (DateTime.Now - process.StartTime).TotalSeconds;
            if (debug >= 1)
            {
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"trained {summary.VocabularySize:N0} words on {corpusTokens:N0} tokens x {options.Epochs} epochs: training {summary.TrainingTime.TotalSeconds:F1} s ({summary.TokensPerSecond / 1000:F1}k words/s of training), final loss {summary.FinalLoss:F4}{PartitioningFlags.Describe(summary.Partitioned)}"));
                run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"words/s: {corpusTokens * (double)options.Epochs / wall:F0} (corpus tokens x epochs / {wall:F1} s wall time of the whole command); peak resident memory {process.PeakWorkingSet64 / (1024.0 * 1024.0):F0} MiB"));
            }
            return ExitCodes.Success;
        }

        private static void WriteVocabulary(string path, IReadOnlyList<string> words, IReadOnlyList<long> counts) =>
            Infrastructure.AtomicFile.Write(path, stream =>
            {
                using var writer = new StreamWriter(stream, new UTF8Encoding(false)) { NewLine = "\n" };
                for (int i = 0; i < words.Count; i++)
                    writer.WriteLine($"{words[i]} {counts[i].ToString(CultureInfo.InvariantCulture)}");
            });
    }

    /// <summary>Prints training progress on one updating line (or a line every 10 s when it is not a terminal).</summary>
    internal sealed class ConsoleProgress : IProgress<SkipGramProgress>
    {
        private readonly Stopwatch _sinceLine = Stopwatch.StartNew();
        private readonly TextWriter _writer;
        private readonly bool _terminal;

        public ConsoleProgress(TextWriter writer)
        {
            _writer = writer;
            _terminal = ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected;
        }

        public void Report(SkipGramProgress value)
        {
            if (_terminal)
            {
                _writer.Write("\r" + value);
                return;
            }
            if (_sinceLine.Elapsed.TotalSeconds >= 10 || value.TokensProcessed == value.TotalTokens)
            {
                _writer.WriteLine(value);
                _sinceLine.Restart();
            }
        }
    }
}
