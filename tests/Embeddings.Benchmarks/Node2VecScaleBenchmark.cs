using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// node2vec end to end at scale (issue 15): generates the Barabási-Albert graph of the graph-walks benchmark (by default
    /// 1,000,000 nodes, about 20,000,000 edges), writes it as an edge file, then runs `embeddings node2vec` on it as its own
    /// process (read edges -> walks -> skip-gram -> written vectors) with p 0.25, q 4, 10 walks of 80, dimension 128,
    /// window 10, 1 epoch, 2 threads. Prints the run's wall and CPU time, its peak resident memory (VmHWM), walk steps/s
    /// and skip-gram words/s.
    /// Options: --nodes N --edges-per-node M (20) --walks N (10) --length N (80) --p X (0.25) --q X (4) --dimensions N (128)
    ///          --window N (10) --epochs N (1) --threads N (2) --work DIR (a temp folder; the edge file is kept there and
    ///          reused) --cli FILE (Embeddings.Cli.dll to run; default the one built beside this benchmark).
    /// </summary>
    internal static class Node2VecScaleBenchmark
    {
        public static void Run(string[] args)
        {
            int nodes = Options.Int(args, "--nodes", 1_000_000);
            int perNode = Options.Int(args, "--edges-per-node", 20);
            int walks = Options.Int(args, "--walks", 10);
            int length = Options.Int(args, "--length", 80);
            string p = Options.String(args, "--p") ?? "0.25";
            string q = Options.String(args, "--q") ?? "4";
            int dimensions = Options.Int(args, "--dimensions", 128);
            int window = Options.Int(args, "--window", 10);
            int epochs = Options.Int(args, "--epochs", 1);
            int threads = Options.Int(args, "--threads", 2);
            string work = Options.String(args, "--work") ?? Path.Combine(Path.GetTempPath(), "embeddings-node2vec-scale");
            string cli = Options.String(args, "--cli") ?? Path.Combine(AppContext.BaseDirectory, "Embeddings.Cli.dll");
            Directory.CreateDirectory(work);

            string edges = Path.Combine(work, string.Create(CultureInfo.InvariantCulture, $"ba-{nodes}-{perNode}.edges"));
            if (!File.Exists(edges))
            {
                var watch = Stopwatch.StartNew();
                long written = WriteEdges(edges, nodes, perNode);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"graph: Barabási-Albert, {nodes:N0} nodes, {written:N0} edge rows ({perNode} per new node; repeated picks merge when read) written to {edges} ({new FileInfo(edges).Length / 1e6:F0} MB) in {watch.Elapsed.TotalSeconds:F1} s; generator peak {MeasuredRun.SelfPeakMiB():F0} MiB"));
            }
            else
            {
                Console.WriteLine($"graph: reusing {edges} ({new FileInfo(edges).Length / 1e6:F0} MB)");
            }

            string vectors = Path.Combine(work, "vectors.txt");
            var run = MeasuredRun.Start("dotnet", string.Create(CultureInfo.InvariantCulture,
                $"\"{cli}\" node2vec --input \"{edges}\" --output \"{vectors}\" --dimensions {dimensions} --walk-length {length} --num-walks {walks} --window-size {window} --iter {epochs} --workers {threads} --p {p} --q {q} --seed 1"));
            // The command's summary line: "..., 10,000,000 walks, 790,000,000 steps in 52.10 s (...); skip-gram 1234.56 s; total ... peak resident memory 2345 MiB".
            double walkCount = run.Find(@"(?<value>[\d,]+) walks,");
            double steps = run.Find(@"walks, (?<value>[\d,]+) steps in");
            double walkSeconds = run.Find(@"steps in (?<value>[\d.]+) s");
            double skipGramSeconds = run.Find(@"skip-gram (?<value>[\d.]+) s");
            double ownPeak = run.Find(@"peak resident memory (?<value>[\d.]+) MiB");
            double tokens = walkCount + steps;
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"node2vec end to end ({nodes:N0} nodes, p {p}, q {q}, {walks} walks x {length}, dimension {dimensions}, window {window}, {epochs} epoch(s), {threads} threads, {Environment.ProcessorCount} cores):"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  wall {run.WallSeconds:F1} s, CPU {run.CpuSeconds:F1} s; peak resident memory {Gib(run.PeakMiB)} (the command's own VmHWM: {Gib(ownPeak)})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  walks: {walkCount:N0} walks, {steps:N0} steps; counting pass {walkSeconds:F1} s ({steps / walkSeconds / 1e6:F2}M steps/s)"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  skip-gram: {tokens:N0} tokens x {epochs} epoch(s) in {skipGramSeconds:F1} s: {tokens * epochs / skipGramSeconds:N0} words/s (the streamed path regenerates its walks within this time)"));
            File.Delete(vectors);
        }

        private static string Gib(double mib) => double.IsNaN(mib) ? "n/a" : (mib / 1024).ToString("F2", CultureInfo.InvariantCulture) + " GiB";

        /// <summary>Writes "u v" lines (node ids as numbers) atomically; returns the rows written.</summary>
        private static long WriteEdges(string path, int nodes, int perNode)
        {
            string partial = path + ".partial";
            long rows = 0;
            using (var writer = new StreamWriter(partial, append: false, new UTF8Encoding(false), 1 << 20) { NewLine = "\n" })
            {
                var line = new char[24];
                GraphWalkBenchmark.PreferentialAttachmentEdges(nodes, perNode, seed: 1, (u, v) =>
                {
                    u.TryFormat(line, out int n, default, CultureInfo.InvariantCulture);
                    line[n++] = ' ';
                    v.TryFormat(line.AsSpan(n), out int m, default, CultureInfo.InvariantCulture);
                    n += m;
                    line[n++] = '\n';
                    writer.Write(line, 0, n);
                    rows++;
                });
            }
            File.Move(partial, path, overwrite: true);
            return rows;
        }
    }
}
