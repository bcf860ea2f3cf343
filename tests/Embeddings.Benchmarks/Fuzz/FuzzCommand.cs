using System;
using System.IO;
using System.Linq;
using SharpFuzz;

namespace Embeddings.Benchmarks.Fuzz
{
    /// <summary>
    /// <c>fuzz TARGET</c> runs a target under afl-fuzz (SharpFuzz's persistent loop; tests/Embeddings.Fuzz/run-fuzz.sh
    /// instruments the assemblies and starts it); <c>fuzz TARGET --replay FILE...</c> runs saved inputs once each and
    /// tells what they throw (the whole stack trace with EMBEDDINGS_FUZZ_STACK=1); <c>fuzz --seeds DIR</c> writes the seed corpora; <c>fuzz --list</c> lists the targets.
    /// </summary>
    internal static class FuzzCommand
    {
        public static void Run(string[] args)
        {
            if (args.Length == 0 || args[0] == "--list")
            {
                foreach (var target in FuzzTargets.All)
                    Console.WriteLine($"  {target.Name,-16} {target.Description}; expected: {target.ExpectedNames}");
                return;
            }
            if (args[0] == "--seeds")
            {
                WriteSeeds(args.Length > 1 ? args[1] : throw new ArgumentException("--seeds needs a folder."));
                return;
            }
            var chosen = FuzzTargets.All.FirstOrDefault(t => t.Name == args[0])
                ?? throw new ArgumentException($"Unknown fuzz target '{args[0]}'; fuzz --list lists them.");
            try
            {
                if (args.Length > 1 && args[1] == "--replay")
                    Environment.ExitCode = Replay(chosen, args.Skip(2).ToArray());
                else
                    Fuzzer.Run(stream => chosen.Execute(ReadAll(stream)));
            }
            finally
            {
                FuzzTargets.DeleteInput();
            }
        }

        private static byte[] ReadAll(Stream stream)
        {
            var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            return buffer.ToArray();
        }

        private static void WriteSeeds(string folder)
        {
            foreach (var target in FuzzTargets.All)
            {
                string directory = Path.Combine(folder, target.Name);
                Directory.CreateDirectory(directory);
                foreach (var (name, bytes) in target.Seeds())
                    File.WriteAllBytes(Path.Combine(directory, name), bytes);
            }
        }

        /// <summary>Runs each file once: prints 'ok', 'expected TYPE' or 'CRASH TYPE'; returns 1 if any crashed.</summary>
        private static int Replay(FuzzTarget target, string[] files)
        {
            int crashes = 0;
            foreach (string file in files)
            {
                byte[] input = File.ReadAllBytes(file);
                try
                {
                    target.Run(input);
                    Console.WriteLine($"{file}: ok");
                }
                catch (Exception e) when (target.IsExpected(e))
                {
                    Console.WriteLine($"{file}: expected {FuzzTarget.Unwrap(e).GetType().Name}: {OneLine(FuzzTarget.Unwrap(e).Message)}");
                }
                catch (Exception e)
                {
                    crashes++;
                    var thrown = FuzzTarget.Unwrap(e);
                    string[] frames = (thrown.StackTrace ?? "").Split('\n').Select(f => f.Trim()).ToArray();
                    string ours = frames.FirstOrDefault(f => f.StartsWith("at Embeddings.", StringComparison.Ordinal) && !f.StartsWith("at Embeddings.Benchmarks.", StringComparison.Ordinal)) ?? "";
                    string caller = ours.Length == 0 || ours == frames[0] ? "" : $" <- {ours}";
                    Console.WriteLine($"{file}: CRASH {thrown.GetType().FullName}: {OneLine(thrown.Message)} | {frames[0]}{caller}");
                    if (Environment.GetEnvironmentVariable("EMBEDDINGS_FUZZ_STACK") == "1")
                        Console.WriteLine(thrown.ToString());
                }
            }
            return crashes == 0 ? 0 : 1;
        }

        private static string OneLine(string text)
        {
            string line = text.ReplaceLineEndings(" ");
            return line.Length <= 300 ? line : line.Substring(0, 297) + "...";
        }
    }
}
