using System;
using System.IO;
using System.Linq;
using Parquet;

namespace Embeddings
{
    /// <summary>The files a Parquet path names, and opening one with errors that name it.</summary>
    internal static class ParquetFiles
    {
        /// <summary>The extension that marks a Parquet file (compared ignoring case).</summary>
        public const string Extension = ".parquet";

        /// <summary>
        /// The Parquet files of <paramref name="path"/>: the file itself, or every <c>*.parquet</c> file directly in the
        /// folder (not in subfolders; names starting with '_' or '.' are skipped, as Spark's <c>_SUCCESS</c> and checksum
        /// files), sorted by name (ordinal).
        /// </summary>
        /// <exception cref="FileNotFoundException">The path names neither a file nor a folder.</exception>
        /// <exception cref="FormatException">The folder holds no Parquet file.</exception>
        public static string[] List(string path)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (File.Exists(path))
                return new[] { path };
            if (!Directory.Exists(path))
                throw new FileNotFoundException($"'{path}' is neither a file nor a folder; give a .parquet file or a folder of .parquet files.", path);
            var files = Directory.EnumerateFiles(path)
                .Where(IsParquetName)
                .OrderBy(f => Path.GetFileName(f), StringComparer.Ordinal)
                .ToArray();
            if (files.Length > 0)
                return files;
            bool nested = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories).Any(IsParquetName);
            throw new FormatException(nested
                ? $"The folder '{path}' holds no .parquet file directly, only in subfolders (a partitioned dataset?); give one of the subfolders, or a folder that holds the .parquet files themselves."
                : $"The folder '{path}' holds no .parquet file; give a .parquet file or a folder of .parquet files.");
        }

        /// <summary>True when <paramref name="path"/> is a file ending in .parquet, or a folder that holds such files.</summary>
        public static bool IsParquet(string path) =>
            path.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) || (Directory.Exists(path) && Directory.EnumerateFiles(path).Any(IsParquetName));

        private static bool IsParquetName(string file)
        {
            string name = Path.GetFileName(file);
            return name.EndsWith(Extension, StringComparison.OrdinalIgnoreCase) && !name.StartsWith('_') && !name.StartsWith('.');
        }

        /// <summary>Closes a reader (and its file).</summary>
        public static void Close(ParquetReader reader) => reader.DisposeAsync().AsTask().GetAwaiter().GetResult();

        /// <summary>Opens <paramref name="file"/> (reads its footer); a file that is not Parquet is a <see cref="FormatException"/> naming it.</summary>
        public static ParquetReader Open(string file)
        {
            if (!File.Exists(file))
                throw new FileNotFoundException($"The Parquet file '{file}' does not exist (was it removed while reading?).", file);
            try
            {
                return ParquetReader.CreateAsync(file).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not (OutOfMemoryException or OperationCanceledException or UnauthorizedAccessException))
            {
                throw new FormatException(
                    $"{file}: not a readable Parquet file ({e.Message.TrimEnd('.')}). Give a Parquet file (written by Spark, DuckDB, pandas/pyarrow or this library), or convert the data first.", e);
            }
        }
    }
}
