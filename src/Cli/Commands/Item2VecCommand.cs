using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Embeddings.SkipGram;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings item2vec</c>: item vectors (and context vectors) from an interaction file.</summary>
    internal static class Item2VecCommand
    {
        private const string Help = """
            usage: embeddings item2vec --input INTERACTIONS --output ITEMS.txt [--context-output CONTEXT.txt] [options]
              --input FILE          'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped)
              --exclude-last N      drop each user's last N interactions (by timestamp, then item id), to match a leave-last-out split (0)
              --output FILE         item input vectors, word2vec text format
              --context-output FILE item output (context) vectors, word2vec text format
              --dimensions N (64) --window N (5) --whole-sequence --epochs N (20) --negative N (5) --sample X (1e-3)
              --min-count N (1) --threads N (all cores) --seed N (1)
            Each user's items, in time order, form one sequence.
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("item2vec", args,
                new[] { "--input", "--output", "--context-output", "--exclude-last", "--dimensions", "--window", "--epochs", "--negative", "--sample", "--min-count", "--threads", "--seed" },
                new[] { "--whole-sequence" });
            var watch = Stopwatch.StartNew();
            string input = line.Required("--input");
            string output = line.Required("--output");
            string? contextOutput = line.Optional("--context-output");
            int excludeLast = line.Int("--exclude-last", 0);
            if (excludeLast < 0)
                throw new UsageException($"--exclude-last must be 0 or more; got {excludeLast}.");
            var options = new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "items",
                EmbeddingDimension = line.Int("--dimensions", 64),
                WindowSize = line.Int("--window", 5),
                WholeSequenceContext = line.Has("--whole-sequence"),
                Epochs = line.Int("--epochs", 20),
                NegativeSampleCount = line.Int("--negative", 5),
                SamplingThreshold = line.Double("--sample", 1e-3),
                MinCount = line.Int("--min-count", 1),
                NumberOfThreads = line.Has("--threads") ? line.Int("--threads", 1) : null,
                KeepContextVectors = contextOutput is not null,
            };
            SkipGramEmbeddingEstimator.Validate(options);

            var split = InteractionFile.ReadSplit(input);
            var sequences = split.AllUsers
                .Select(user => split.Interactions(user))
                .Select(items => items.Take(Math.Max(0, items.Count - excludeLast)).ToList())
                .ToList();
            var (vocabulary, corpus, seen, skipped) = SkipGramTraining.ReadCorpus(sink => Item2VecEstimator.WriteTo(sink, sequences), options, $"'{input}'");
            var (embeddings, context, summary) = SkipGramTraining.Run(vocabulary, corpus, seen, skipped, options, line.Int("--seed", 1), Console.Error.WriteLine, $"'{input}'", options.CancellationToken);
            embeddings.SaveWord2VecFormat(output);
            if (contextOutput is not null)
                context!.SaveWord2VecFormat(contextOutput);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{sequences.Count:N0} users, {summary.VocabularySize:N0} items, {summary.CorpusTokens:N0} interactions x {summary.Epochs} epochs in {summary.TrainingTime.TotalSeconds:F2} s; total {watch.Elapsed.TotalSeconds:F2} s; wrote {output}{(contextOutput is null ? "" : " and " + contextOutput)}"));
            return 0;
        }
    }
}
