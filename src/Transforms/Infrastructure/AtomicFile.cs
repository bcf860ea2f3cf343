using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Writes a file under a temporary name in the same folder and moves it into place only when complete, so that a
    /// failed or cancelled write never leaves a partial file (and never harms an existing one).
    /// </summary>
    /// <remarks>
    /// A destination that is a symbolic link is written where the link points (the link stays). The temporary file is
    /// named <c>.NAME.embeddings-tmp-PID-RANDOM</c> next to that target; a process killed while writing (SIGKILL, power
    /// loss) leaves it behind, and the next write to the same destination removes such files of processes that are no
    /// longer running.
    /// </remarks>
    public static class AtomicFile
    {
        /// <summary>The part of a temporary file's name after the destination's name.</summary>
        public const string TemporaryMarker = ".embeddings-tmp-";

        /// <summary>Writes <paramref name="path"/> through a stream; a failure leaves no file (and an existing file untouched).</summary>
        public static void Write(string path, Action<Stream> write) =>
            WriteByPath(path, temporary =>
            {
                using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                write(stream);
                // A writer that disposed the stream (StreamWriter, ML.NET's model zip) has flushed it already.
                if (stream.CanWrite)
                    stream.Flush(flushToDisk: false);
            });

        /// <summary>Like <see cref="Write"/>, for writers that take a path (native libraries).</summary>
        public static void WriteByPath(string path, Action<string> write)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            string fullPath = Destination(path);
            string directory = Path.GetDirectoryName(fullPath) ?? ".";
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"Cannot write '{path}': the folder '{directory}' does not exist.");
            string name = Path.GetFileName(fullPath);
            RemoveStaleTemporaryFiles(directory, name);
            string temporary = Path.Combine(directory,
                string.Create(CultureInfo.InvariantCulture, $".{name}{TemporaryMarker}{Environment.ProcessId}-{Guid.NewGuid():N}"));
            try
            {
                write(temporary);
                File.Move(temporary, fullPath, overwrite: true);
            }
            catch
            {
                try
                {
                    File.Delete(temporary);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // The original error is the one worth reporting.
                }
                throw;
            }
        }

        /// <summary>
        /// The full path a write to <paramref name="path"/> replaces: the final target when it is a symbolic link (a chain
        /// of links is followed; a dangling link gives its target, which the write creates).
        /// </summary>
        public static string Destination(string path)
        {
            string fullPath = Path.GetFullPath(path);
            var info = new FileInfo(fullPath);
            if (info.LinkTarget is null)
                return fullPath;
            var target = info.ResolveLinkTarget(returnFinalTarget: true);
            if (target is null)
                return fullPath;
            string resolved = Path.GetFullPath(target.FullName);
            if (Directory.Exists(resolved))
                throw new IOException($"Cannot write '{path}': it is a link to the folder '{resolved}'; give a file name.");
            return resolved;
        }

        /// <summary>Removes the temporary files of <paramref name="name"/> in <paramref name="directory"/> whose writing process is gone.</summary>
        private static void RemoveStaleTemporaryFiles(string directory, string name)
        {
            string prefix = "." + name + TemporaryMarker;
            string[] candidates;
            try
            {
                candidates = Directory.GetFiles(directory, prefix + "*");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return;
            }
            foreach (string candidate in candidates)
            {
                string rest = Path.GetFileName(candidate).Substring(prefix.Length);
                int dash = rest.IndexOf('-', StringComparison.Ordinal);
                if (dash <= 0 || rest.Length - dash - 1 != 32
                    || !int.TryParse(rest.AsSpan(0, dash), NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
                    || pid == Environment.ProcessId || IsRunning(pid))
                    continue;
                try
                {
                    File.Delete(candidate);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Someone else's file, or gone already: leave it.
                }
            }
        }

        private static bool IsRunning(int pid)
        {
            try
            {
                using var process = Process.GetProcessById(pid);
                return !process.HasExited;
            }
            catch (ArgumentException)
            {
                return false;
            }
            catch (Exception e) when (e is InvalidOperationException or NotSupportedException or System.ComponentModel.Win32Exception)
            {
                // Cannot tell: keep the file.
                return true;
            }
        }
    }
}
