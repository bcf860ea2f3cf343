using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// A command run to completion as its own process, so that its peak resident memory is its own: wall time, CPU time
    /// (user + system) and peak resident memory (the kernel's maximum resident set size of the process, which is its
    /// VmHWM in /proc/PID/status) from /usr/bin/time when present, and the command's standard output (also echoed).
    /// </summary>
    internal sealed record MeasuredRun(string Output, double WallSeconds, double CpuSeconds, double PeakMiB)
    {
        public static MeasuredRun Start(string program, string arguments)
        {
            bool timed = File.Exists("/usr/bin/time");
            string report = Path.GetTempFileName();
            var start = timed
                ? new ProcessStartInfo("/usr/bin/time", $"-f \"%e %U %S %M\" -o \"{report}\" {program} {arguments}")
                : new ProcessStartInfo(program, arguments);
            start.UseShellExecute = false;
            start.RedirectStandardOutput = true;
            Console.WriteLine($"$ {program} {arguments}");
            var output = new StringBuilder();
            var watch = Stopwatch.StartNew();
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}");
            process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                    return;
                Console.WriteLine("  " + e.Data);
                lock (output)
                    output.AppendLine(e.Data);
            };
            process.BeginOutputReadLine();
            process.WaitForExit();
            double wall = watch.Elapsed.TotalSeconds;
            if (process.ExitCode != 0)
                throw new InvalidOperationException($"{program} exited with code {process.ExitCode}");
            double cpu = double.NaN, peak = double.NaN;
            if (timed)
            {
                var fields = File.ReadAllText(report).Trim().Split('\n').Last().Split(' ');
                if (fields.Length == 4)
                {
                    wall = Number(fields[0]);
                    cpu = Number(fields[1]) + Number(fields[2]);
                    peak = Number(fields[3]) / 1024;
                }
            }
            File.Delete(report);
            string text;
            lock (output)
                text = output.ToString();
            return new MeasuredRun(text, wall, cpu, peak);
        }

        private static double Number(string text) => double.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture);

        /// <summary>The number in the output that the regular expression's group "value" matches (thousands separators allowed), or NaN.</summary>
        public double Find(string pattern)
        {
            var match = System.Text.RegularExpressions.Regex.Match(Output, pattern);
            return match.Success ? Number(match.Groups["value"].Value.Replace(",", "", StringComparison.Ordinal)) : double.NaN;
        }

        /// <summary>This process' peak resident memory so far (VmHWM in /proc/self/status), in MiB; NaN where there is no /proc.</summary>
        public static double SelfPeakMiB()
        {
            const string status = "/proc/self/status";
            if (!File.Exists(status))
                return double.NaN;
            foreach (string line in File.ReadLines(status))
            {
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return Number(line.Substring(6).Trim().Split(' ')[0]) / 1024;
            }
            return double.NaN;
        }
    }
}
