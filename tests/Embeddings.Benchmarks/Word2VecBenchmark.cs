using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text;
using Embeddings.Evaluation;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// The word2vec comparison of docs/evaluation-protocols.md (analogies; speed): our `embeddings word2vec` and gensim
    /// (a Python script training gensim's Word2Vec, looked up beside the repository; skipped with a message when it or
    /// python3 with gensim is missing), back to back on the same corpus with the classic text8 settings and 2 threads;
    /// analogy accuracy of both with the same scorer, wall time of each whole command, words/s and peak resident memory.
    /// Options: --corpus FILE[.gz] (../shared/data/corpus/enwiki-text8like.txt.gz) --questions FILE
    ///          --models sg,cbow (both) --epochs N (5) --threads N (2) --no-gensim --work DIR (a temp folder).
    /// </summary>
    /// <remarks>
    /// The corpus is rewritten with a line break every 10,000 words (the sentence length both tools use): gensim's
    /// corpus_file reader mis-reads text8's single 100 MB line (seen here: 0% analogy accuracy and 3.8 GB of memory).
    /// </remarks>
    internal static class Word2VecBenchmark
    {
        public static void Run(string[] args)
        {
            string corpus = Options.String(args, "--corpus") ?? Path.Combine("..", "shared", "data", "corpus", "enwiki-text8like.txt.gz");
            string questions = Options.String(args, "--questions") ?? Path.Combine("..", "shared", "data", "corpus", "questions-words.txt");
            string[] models = (Options.String(args, "--models") ?? "sg,cbow").Split(',');
            int epochs = Options.Int(args, "--epochs", 5);
            int threads = Options.Int(args, "--threads", 2);
            bool gensim = !args.Contains("--no-gensim");
            string work = Options.String(args, "--work") ?? Path.Combine(Path.GetTempPath(), "embeddings-word2vec-benchmark");
            if (!File.Exists(corpus) || !File.Exists(questions))
            {
                Console.WriteLine($"skipped: the corpus '{corpus}' or the questions '{questions}' are missing (run from the repository root with ../shared beside it).");
                return;
            }
            Directory.CreateDirectory(work);
            string text = Path.Combine(work, "corpus-10k-lines.txt");
            long tokens = PrepareCorpus(corpus, text);
            Console.WriteLine($"corpus: {tokens:N0} tokens in lines of 10,000 words ({text}); {epochs} epochs, {threads} threads, {Environment.ProcessorCount} cores");

            string cli = Path.Combine(AppContext.BaseDirectory, "Embeddings.Cli.dll");
            string gensimScript = Path.Combine("..", "shared", "tools", "gensim_w2v.py");
            var rows = new List<string>();
            foreach (string model in models)
            {
                bool sg = model.Trim() == "sg";
                string alpha = sg ? "0.025" : "0.05";
                string ours = Path.Combine(work, $"ours-{model}.bin");
                var (oursSeconds, oursPeak) = Measure("dotnet", $"\"{cli}\" word2vec -train \"{text}\" -output \"{ours}\" -cbow {(sg ? 0 : 1)} -size 100 -window 5 -negative 5 -hs 0 -sample 1e-4 -threads {threads} -iter {epochs} -min-count 5 -alpha {alpha} -binary 1 -debug 1");
                rows.Add(Row("ours", model, ours, questions, oursSeconds, oursPeak, tokens * (double)epochs));
                if (gensim && File.Exists(gensimScript) && File.Exists("/usr/bin/python3"))
                {
                    string reference = Path.Combine(work, $"gensim-{model}.bin");
                    var (gensimSeconds, gensimPeak) = Measure("/usr/bin/python3", $"\"{gensimScript}\" \"{text}\" \"{reference}\" {(sg ? 1 : 0)} {epochs}");
                    rows.Add(Row("gensim", model, reference, questions, gensimSeconds, gensimPeak, tokens * (double)epochs));
                    rows.Add(string.Create(CultureInfo.InvariantCulture, $"{"",-8} {model,-5} speed ratio ours / gensim: {gensimSeconds / oursSeconds:F2}x"));
                }
                else if (gensim)
                {
                    rows.Add("gensim   skipped: /usr/bin/python3 with gensim (apt-get install python3-gensim) or ../shared/tools/gensim_w2v.py is missing");
                }
            }
            Console.WriteLine();
            Console.WriteLine($"{"tool",-8} {"model",-5} {"analogy total (sem / syn)",-28} {"wall s",8} {"words/s",10} {"peak MiB",9}");
            foreach (string row in rows)
                Console.WriteLine(row);
        }

        private static string Row(string tool, string model, string vectors, string questions, double seconds, double peakMiB, double words)
        {
            var result = WordAnalogyEvaluator.Evaluate(EmbeddingTable.LoadWord2VecFormat(vectors), questions);
            string analogy = string.Create(CultureInfo.InvariantCulture, $"{100 * result.Total.Accuracy:F2}% ({100 * result.Semantic.Accuracy:F1} / {100 * result.Syntactic.Accuracy:F1}; {result.Total.Seen} seen)");
            return string.Create(CultureInfo.InvariantCulture, $"{tool,-8} {model,-5} {analogy,-28} {seconds,8:F1} {words / seconds,10:F0} {(double.IsNaN(peakMiB) ? "n/a" : peakMiB.ToString("F0", CultureInfo.InvariantCulture)),9}");
        }

        /// <summary>Runs a command to completion; wall seconds and peak resident MiB (through /usr/bin/time when present).</summary>
        private static (double Seconds, double PeakMiB) Measure(string program, string arguments)
        {
            bool timed = File.Exists("/usr/bin/time");
            string peakFile = Path.GetTempFileName();
            var start = timed
                ? new ProcessStartInfo("/usr/bin/time", $"-f %M -o \"{peakFile}\" {program} {arguments}")
                : new ProcessStartInfo(program, arguments);
            start.UseShellExecute = false;
            Console.WriteLine($"$ {program} {arguments}");
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
            process.WaitForExit();
            double seconds = watch.Elapsed.TotalSeconds;
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{program} exited with code {process.ExitCode}");
            double peak = double.NaN;
            if (timed && double.TryParse(File.ReadAllText(peakFile).Trim().Split('\n').Last(), NumberStyles.Float, CultureInfo.InvariantCulture, out double kilobytes))
                peak = kilobytes / 1024;
            File.Delete(peakFile);
            return (seconds, peak);
        }

        internal static long PrepareCorpus(string source, string destination)
        {
            using Stream file = File.OpenRead(source);
            using Stream input = source.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
            using var reader = new StreamReader(input, Encoding.UTF8);
            using var writer = new StreamWriter(destination, append: false, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" };
            long tokens = 0;
            int inLine = 0;
            var word = new StringBuilder();
            int c;
            while ((c = reader.Read()) >= 0)
            {
                if (!char.IsWhiteSpace((char)c))
                {
                    word.Append((char)c);
                    continue;
                }
                Flush();
            }
            Flush();
            if (inLine > 0)
                writer.Write('\n');
            return tokens;

            void Flush()
            {
                if (word.Length == 0)
                    return;
                if (inLine > 0)
                    writer.Write(' ');
                writer.Write(word);
                word.Clear();
                tokens++;
                if (++inLine == 10_000)
                {
                    writer.Write('\n');
                    inLine = 0;
                }
            }
        }
    }
}
