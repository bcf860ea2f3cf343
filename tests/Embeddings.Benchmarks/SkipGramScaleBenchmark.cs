using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Skip-gram memory and speed against corpus length (issue 15): the text8-like corpus in lines of 10,000 words (1x)
    /// and the same file repeated --repeat times (10x: about 170M tokens), each trained by `embeddings word2vec` as its own
    /// process with the same settings (skip-gram, dimension 100, window 5, 5 negatives, sample 1e-4, --epochs 1, 2
    /// threads). The 10x corpus is trained with min count 5 x 10, which keeps exactly the 1x vocabulary (every count is
    /// multiplied by 10), so that the two runs differ in corpus length only; a third run with min count 5 shows the cost of
    /// the larger vocabulary that repetition lets through (words seen once in the 1x corpus reach 10). Prints peak resident
    /// memory, wall and CPU time, training words/s and whole-command words/s of each, and the 10x / 1x ratios. The
    /// streamed corpus keeps memory flat: the target is a peak ratio of at most 1.3 and words/s within 10%.
    /// Options: --corpus FILE[.gz] (../shared/data/corpus/enwiki-text8like.txt.gz) --repeat N (10) --epochs N (1)
    ///          --threads N (2) --work DIR (a temp folder; the prepared files are deleted at the end unless --keep)
    ///          --cli FILE (Embeddings.Cli.dll to run; default the one built beside this benchmark).
    /// </summary>
    internal static class SkipGramScaleBenchmark
    {
        public static void Run(string[] args)
        {
            string corpus = Options.String(args, "--corpus") ?? Path.Combine("..", "shared", "data", "corpus", "enwiki-text8like.txt.gz");
            int repeat = Options.Int(args, "--repeat", 10);
            int epochs = Options.Int(args, "--epochs", 1);
            int threads = Options.Int(args, "--threads", 2);
            string work = Options.String(args, "--work") ?? Path.Combine(Path.GetTempPath(), "embeddings-skipgram-scale");
            string cli = Options.String(args, "--cli") ?? Path.Combine(AppContext.BaseDirectory, "Embeddings.Cli.dll");
            bool keep = Array.IndexOf(args, "--keep") >= 0;
            if (!File.Exists(corpus))
            {
                Console.WriteLine($"skipped: the corpus '{corpus}' is missing (run from the repository root with ../shared beside it, or pass --corpus).");
                return;
            }
            Directory.CreateDirectory(work);
            string once = Path.Combine(work, "corpus-1x.txt");
            string repeated = Path.Combine(work, string.Create(CultureInfo.InvariantCulture, $"corpus-{repeat}x.txt"));
            long tokens = Word2VecBenchmark.PrepareCorpus(corpus, once);
            using (var output = File.Create(repeated))
            {
                for (int r = 0; r < repeat; r++)
                {
                    using var input = File.OpenRead(once);
                    input.CopyTo(output, 1 << 20);
                }
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"corpus: {tokens:N0} tokens (1x, {new FileInfo(once).Length / 1e6:F0} MB) and {tokens * repeat:N0} tokens ({repeat}x, {new FileInfo(repeated).Length / 1e6:F0} MB), lines of 10,000 words; {epochs} epoch(s), {threads} threads, {Environment.ProcessorCount} cores"));

            var rows = new List<(string Name, long Tokens, MeasuredRun Run)>();
            var runs = new[]
            {
                ("1x, min count 5", once, tokens, 5),
                ($"{repeat}x, min count {5 * repeat}", repeated, tokens * repeat, 5 * repeat),
                ($"{repeat}x, min count 5", repeated, tokens * repeat, 5),
            };
            foreach (var (name, file, count, minCount) in runs)
            {
                string vectors = Path.Combine(work, "vectors.bin");
                var run = MeasuredRun.Start("dotnet", string.Create(CultureInfo.InvariantCulture,
                    $"\"{cli}\" word2vec -train \"{file}\" -output \"{vectors}\" -cbow 0 -size 100 -window 5 -negative 5 -hs 0 -sample 1e-4 -threads {threads} -iter {epochs} -min-count {minCount} -binary 1 -debug 1"));
                rows.Add((name, count, run));
                File.Delete(vectors);
            }
            Console.WriteLine();
            Console.WriteLine($"{"corpus",-20} {"tokens",13} {"vocabulary",10} {"peak MiB",9} {"wall s",8} {"CPU s",8} {"training words/s",17} {"command words/s",16}");
            foreach (var (name, count, run) in rows)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{name,-20} {count,13:N0} {run.Find(@"Vocab size: (?<value>\d+)"),10:N0} {run.PeakMiB,9:F0} {run.WallSeconds,8:F1} {run.CpuSeconds,8:F1} {TrainingWordsPerSecond(run),17:N0} {count * (double)epochs / run.WallSeconds,16:N0}"));
            }
            var (_, small, a) = rows[0];
            var (_, large, b) = rows[1];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{repeat}x / 1x, same vocabulary: peak memory {b.PeakMiB / a.PeakMiB:F2}x (target at most 1.3), training words/s {TrainingWordsPerSecond(b) / TrainingWordsPerSecond(a):F2}x, command words/s {large / b.WallSeconds / (small / a.WallSeconds):F2}x (target 0.9 to 1.1)"));
            var (_, _, c) = rows[2];
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{repeat}x / 1x, min count 5 both: peak memory {c.PeakMiB / a.PeakMiB:F2}x, training words/s {TrainingWordsPerSecond(c) / TrainingWordsPerSecond(a):F2}x, command words/s {large / c.WallSeconds / (small / a.WallSeconds):F2}x"));
            if (!keep)
            {
                File.Delete(once);
                File.Delete(repeated);
            }
        }

        /// <summary>The command's "training 12.3 s (1,234.5k words/s of training)".</summary>
        private static double TrainingWordsPerSecond(MeasuredRun run) => 1000 * run.Find(@"\((?<value>[\d.,]+)k words/s of training\)");
    }
}
