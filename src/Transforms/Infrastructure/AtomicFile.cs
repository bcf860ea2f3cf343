using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;

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
        /// <remarks>
        /// The new file survives the writing process being killed (SIGKILL) as soon as this returns. It is not flushed to the
        /// device: after a power loss or an operating-system crash the old file, or no file, may be found. Use
        /// <see cref="WriteDurably"/> for a file that is a commit point.
        /// </remarks>
        public static void Write(string path, Action<Stream> write) => WriteCore(path, write, durable: false);

        /// <summary>
        /// Like <see cref="Write"/>, and durable: the new file's contents are flushed to the storage device before it is
        /// moved into place, and on Linux and macOS the folder entry of the move is flushed after it. When this returns, a
        /// power loss or an operating-system crash finds the new file whole (the old one if it struck before).
        /// </summary>
        /// <remarks>Costs one device flush per file (and one per folder entry); meant for checkpoints, not for every write.</remarks>
        public static void WriteDurably(string path, Action<Stream> write) => WriteCore(path, write, durable: true);

        private static void WriteCore(string path, Action<Stream> write, bool durable) =>
            WriteByPathCore(path, temporary =>
            {
                using var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                write(stream);
                // A writer that disposed the stream (StreamWriter, ML.NET's model zip) has flushed it to the operating system.
                if (stream.CanWrite)
                    stream.Flush(flushToDisk: durable);
                else if (durable)
                    FlushFileToDevice(temporary);
            }, durable);

        /// <summary>Like <see cref="Write"/>, for writers that take a path (native libraries).</summary>
        public static void WriteByPath(string path, Action<string> write) => WriteByPathCore(path, write, durable: false);

        /// <summary>
        /// Flushes an existing file's contents to the storage device (fsync), for files written in place (appended) that a
        /// durable commit point is about to name.
        /// </summary>
        /// <exception cref="IOException">The file cannot be opened or the device reports an error.</exception>
        public static void FlushFileToDevice(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite, 1);
            stream.Flush(flushToDisk: true);
        }

        /// <summary>
        /// Flushes a folder's entries (the names that files were created, moved or deleted under) to the storage device.
        /// On Linux and macOS this is an fsync of the folder; elsewhere (Windows journals its metadata) it does nothing.
        /// </summary>
        /// <exception cref="IOException">The device reports an error for the folder.</exception>
        public static void FlushFolderToDevice(string directory)
        {
            if (!(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD()))
                return;
            int descriptor = PosixFolder.Open(directory, 0 /* O_RDONLY */);
            if (descriptor < 0)
            {
                int error = Marshal.GetLastPInvokeError();
                if (error == PosixFolder.EAccess)
                    return; // A folder this process may write in but not open: its entries flush on the file system's schedule.
                if (!Directory.Exists(directory))
                    throw new DirectoryNotFoundException($"Cannot flush the folder '{directory}' to its device: it does not exist.");
                throw new IOException($"Cannot open the folder '{directory}' to flush it to its device (error {error}).");
            }
            try
            {
                if (PosixFolder.Fsync(descriptor) != 0)
                {
                    int error = Marshal.GetLastPInvokeError();
                    // EINVAL: the file system does not sync folders (some network and virtual file systems).
                    if (error != PosixFolder.EInvalid)
                        throw new IOException($"Cannot flush the folder '{directory}' to its device (error {error}); the last files moved into it may not survive a power loss.");
                }
            }
            finally
            {
                _ = PosixFolder.Close(descriptor);
            }
        }

        private static void WriteByPathCore(string path, Action<string> write, bool durable)
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
            if (durable)
                FlushFolderToDevice(directory);
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

    /// <summary>The three libc calls that flush a folder's entries (no .NET API opens a folder for fsync).</summary>
    internal static class PosixFolder
    {
        public const int EAccess = 13;

        public const int EInvalid = 22;

        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int Fsync(int descriptor);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int descriptor);
    }
}
