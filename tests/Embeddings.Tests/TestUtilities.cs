using System;
using System.Diagnostics;
using System.IO;
using NUnit.Framework;

namespace Embeddings.Tests
{
    internal static class TestUtilities
    {
        /// <summary>A fresh empty folder under the system temp folder, deleted by the caller's TearDown.</summary>
        public static string NewTempFolder()
        {
            string path = Path.Combine(Path.GetTempPath(), "embeddings-tests-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(path);
            return path;
        }

        /// <summary>A file under ../shared/data next to the repository (found from the test folder upward), or null.</summary>
        public static string? SharedDataPath(string relative)
        {
            for (var folder = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); folder is not null; folder = folder.Parent)
            {
                string candidate = Path.Combine(folder.FullName, "shared", "data", relative);
                if (File.Exists(candidate))
                    return candidate;
            }
            return null;
        }

        public static string TestDataPath(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", name);

        /// <summary>Debian's python3 with gensim (python3-gensim), or null.</summary>
        public static string? FindGensimPython()
        {
            foreach (string candidate in new[] { "/usr/bin/python3", "python3" })
            {
                try
                {
                    var (code, _, _) = Run(candidate, "-c \"import gensim\"", TimeSpan.FromSeconds(60));
                    if (code == 0)
                        return candidate;
                }
                catch (System.ComponentModel.Win32Exception)
                {
                    // Not installed.
                }
            }
            return null;
        }

        public static (int ExitCode, string StandardOutput, string StandardError) Run(string fileName, string arguments, TimeSpan timeout)
        {
            var start = new ProcessStartInfo(fileName, arguments)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                StandardOutputEncoding = System.Text.Encoding.UTF8,
            };
            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {fileName}.");
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit((int)timeout.TotalMilliseconds))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException($"{fileName} {arguments} did not finish within {timeout}.");
            }
            return (process.ExitCode, stdout.Result, stderr.Result);
        }
    }
}
