using System;
using System.IO;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Writes a file under a temporary name in the same folder and moves it into place only when complete, so that a
    /// failed or cancelled write never leaves a partial file (and never harms an existing one).
    /// </summary>
    public static class AtomicFile
    {
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
            string fullPath = Path.GetFullPath(path);
            string directory = Path.GetDirectoryName(fullPath) ?? ".";
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"Cannot write '{path}': the folder '{directory}' does not exist.");
            string temporary = Path.Combine(directory, $".{Path.GetFileName(fullPath)}.{Guid.NewGuid():N}.tmp");
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
                catch (IOException)
                {
                    // The original error is the one worth reporting.
                }
                throw;
            }
        }
    }
}
