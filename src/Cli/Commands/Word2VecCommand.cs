using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using Embeddings.SkipGram;

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings word2vec</c>: a drop-in replacement for the word2vec tool, with its flags, meanings and defaults.
    /// </summary>
    internal static class Word2VecCommand
    {
        private const string Help = """
            usage: embeddings word2vec -train FILE -output FILE [options]
            The word2vec tool's flags, meanings and defaults:
              -train FILE       training text: whitespace-separated words; each line is a sentence (cut every 10,000 words)
              -output FILE      where to write the word vectors (word2vec format)
              -size N           vector size (100)
              -window N         maximum skip length between words (5)
              -sample X         threshold for down-sampling frequent words (1e-3; useful range 0 to 1e-5; 0 turns it off)
              -hs 0|1           hierarchical softmax (0)
              -negative N       negative examples (5; 3-10 common; 0 = none)
              -threads N        threads (12)
              -iter N           training iterations (5)
              -min-count N      discard words that appear fewer times (5)
              -alpha X          starting learning rate (0.025 for skip-gram, 0.05 for CBOW)
              -cbow 0|1         1 = continuous bag of words, 0 = skip-gram (1)
              -binary 0|1       save the vectors in binary (1) or text (0) format (0)
              -save-vocab FILE  also write the vocabulary: 'word count' lines, most frequent first
              -debug N          0 = quiet, 1 = summary, 2 = progress (2)
            Extensions: -seed N (1): random seed; with -threads 1 the output is identical run to run.
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("word2vec", args,
                new[] { "-train", "-output", "-size", "-window", "-sample", "-hs", "-negative", "-threads", "-iter", "-min-count", "-alpha", "-cbow", "-binary", "-save-vocab", "-debug", "-seed", "-classes", "-read-vocab" },
                Array.Empty<string>());
            if (line.Has("-classes"))
                throw new NotSupportedException("-classes (k-means word classes) is not supported: cluster the vectors instead.");
            if (line.Has("-read-vocab"))
                throw new NotSupportedException("-read-vocab is not supported: the vocabulary is always counted from -train.");

            string train = line.Required("-train");
            string output = line.Required("-output");
            bool cbow = line.Flag01("-cbow", true);
            int debug = line.Int("-debug", 2);
            var options = new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "vectors",
                EmbeddingDimension = line.Int("-size", 100),
                WindowSize = line.Int("-window", 5),
                SamplingThreshold = line.Double("-sample", 1e-3),
                HierarchicalSoftmax = line.Flag01("-hs", false),
                NegativeSampleCount = line.Int("-negative", 5),
                NumberOfThreads = line.Int("-threads", 12),
                Epochs = line.Int("-iter", 5),
                MinCount = line.Int("-min-count", 5),
                LearningRate = (float)line.Double("-alpha", cbow ? 0.05 : 0.025),
                Model = cbow ? SkipGramModel.Cbow : SkipGramModel.SkipGram,
                Progress = debug >= 2 ? new ConsoleProgress() : null,
            };
            SkipGramEmbeddingEstimator.Validate(options);
            bool binary = line.Flag01("-binary", false);
            int seed = line.Int("-seed", 1);
            string? saveVocabulary = line.Optional("-save-vocab");
            string? outputFolder = Path.GetDirectoryName(Path.GetFullPath(output));
            if (outputFolder is not null && !Directory.Exists(outputFolder))
                throw new DirectoryNotFoundException($"-output: the folder '{outputFolder}' does not exist.");

            long corpusTokens = 0;
            var (vocabulary, corpus, seen, skipped) = SkipGramTraining.ReadCorpus(sink => corpusTokens = TextCorpusReader.Read(train, sink), options, $"'{train}'");
            if (debug >= 1)
                Console.WriteLine($"Vocab size: {vocabulary.Count}\nWords in train file: {corpusTokens}");
            var (embeddings, _, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, options, seed, null, $"'{train}'", options.CancellationToken);
            if (options.Progress is not null)
                Console.Error.WriteLine();
            embeddings.SaveWord2VecFormat(output, binary);
            if (saveVocabulary is not null)
                WriteVocabulary(saveVocabulary, vocabulary);

            var process = Process.GetCurrentProcess();
            double wall = (DateTime.Now - process.StartTime).TotalSeconds;
            if (debug >= 1)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"trained {summary.VocabularySize:N0} words on {corpusTokens:N0} tokens x {options.Epochs} epochs: training {summary.TrainingTime.TotalSeconds:F1} s ({summary.TokensPerSecond / 1000:F1}k words/s of training), final loss {summary.FinalLoss:F4}"));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"words/s: {corpusTokens * (double)options.Epochs / wall:F0} (corpus tokens x epochs / {wall:F1} s wall time of the whole command); peak resident memory {process.PeakWorkingSet64 / (1024.0 * 1024.0):F0} MiB"));
            }
            return 0;
        }

        private static void WriteVocabulary(string path, Vocabulary vocabulary)
        {
            using var writer = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false)) { NewLine = "\n" };
            for (int i = 0; i < vocabulary.Count; i++)
                writer.WriteLine($"{vocabulary.Keys[i]} {vocabulary.Counts[i].ToString(CultureInfo.InvariantCulture)}");
        }
    }

    /// <summary>Prints training progress on one updating line (or a line every 10 s when output is redirected).</summary>
    internal sealed class ConsoleProgress : IProgress<SkipGramProgress>
    {
        private readonly Stopwatch _sinceLine = Stopwatch.StartNew();

        public void Report(SkipGramProgress value)
        {
            if (!Console.IsErrorRedirected)
            {
                Console.Error.Write("\r" + value);
                return;
            }
            if (_sinceLine.Elapsed.TotalSeconds >= 10 || value.TokensProcessed == value.TotalTokens)
            {
                Console.Error.WriteLine(value);
                _sinceLine.Restart();
            }
        }
    }
}
