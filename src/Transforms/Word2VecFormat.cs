using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Runtime.InteropServices;
using System.Text;
using Embeddings.Infrastructure;

namespace Embeddings
{
    /// <summary>The two word2vec file formats.</summary>
    public enum Word2VecFileFormat
    {
        /// <summary>Detect from the first record: text when it parses as a key and <c>Dimension</c> numbers, binary otherwise.</summary>
        Detect = 0,

        /// <summary>Header line <c>count dimension</c>, then one line per key: the key and its values separated by spaces.</summary>
        Text = 1,

        /// <summary>Header line <c>count dimension</c>, then per key: the UTF-8 key, a space, and <c>dimension</c> little-endian float32 values (optionally followed by a newline).</summary>
        Binary = 2,
    }

    /// <summary>Reads and writes the word2vec text and binary formats (as gensim and the word2vec tool do).</summary>
    internal static class Word2VecFormat
    {
        private const int MaxKeyBytes = 1 << 16;
        private static readonly UTF8Encoding s_strictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        public static EmbeddingTable Load(string path, Word2VecFileFormat format)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (!File.Exists(path))
                throw new FileNotFoundException($"The word2vec file '{path}' does not exist.", path);
            if (format == Word2VecFileFormat.Detect)
                format = Detect(path);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            return format switch
            {
                Word2VecFileFormat.Text => ReadText(stream, path),
                Word2VecFileFormat.Binary => ReadBinary(stream, path),
                _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Use Detect, Text or Binary."),
            };
        }

        public static void Save(EmbeddingTable table, string path, bool binary)
        {
            ArgumentNullException.ThrowIfNull(table);
            foreach (string key in table.KeyArray)
            {
                foreach (char c in key)
                {
                    if (char.IsWhiteSpace(c))
                        throw new InvalidOperationException($"Key '{key}' contains white space, which the word2vec format cannot represent. Replace the white space in keys (for example with '_') before saving.");
                }
            }
            AtomicFile.Write(path, stream =>
            {
                if (binary)
                    WriteBinary(table, stream);
                else
                    WriteText(table, stream);
            });
        }

        internal static Word2VecFileFormat Detect(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            var buffer = new byte[1 << 20];
            int length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            int headerEnd = Array.IndexOf(buffer, (byte)'\n', 0, length);
            if (headerEnd < 0)
                throw new FormatException($"{path}: the first line must be the header 'count dimension' followed by a newline.");
            string header = Encoding.ASCII.GetString(buffer, 0, headerEnd);
            (_, int dimension) = ParseHeader(header, path);
            int lineEnd = Array.IndexOf(buffer, (byte)'\n', headerEnd + 1, length - headerEnd - 1);
            int end = lineEnd < 0 ? length : lineEnd;
            string firstRecord;
            try
            {
                firstRecord = s_strictUtf8.GetString(buffer, headerEnd + 1, end - headerEnd - 1);
            }
            catch (DecoderFallbackException)
            {
                return Word2VecFileFormat.Binary;
            }
            string[] parts = SplitFields(firstRecord);
            if (parts.Length != dimension + 1)
                return Word2VecFileFormat.Binary;
            for (int i = 1; i < parts.Length; i++)
            {
                if (!float.TryParse(parts[i], NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    return Word2VecFileFormat.Binary;
            }
            return Word2VecFileFormat.Text;
        }

        private static (int Count, int Dimension) ParseHeader(string header, string source)
        {
            string[] parts = SplitFields(header);
            if (parts.Length != 2
                || !int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int count)
                || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int dimension))
            {
                throw new FormatException($"{source}: line 1: the header must be two whole numbers 'count dimension'; found '{Truncate(header)}'.");
            }
            if (dimension < 1)
                throw new FormatException($"{source}: line 1: the dimension in the header is {dimension}; it must be at least 1.");
            return (count, dimension);
        }

        private static EmbeddingTable ReadText(Stream stream, string source)
        {
            using var reader = new StreamReader(stream, s_strictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
            long lineNumber = 1;
            string? header;
            try
            {
                header = reader.ReadLine();
            }
            catch (DecoderFallbackException e)
            {
                throw new FormatException($"{source}: line 1 is not valid UTF-8 text.", e);
            }
            if (header is null)
                throw new FormatException($"{source}: the file is empty; expected the header 'count dimension'.");
            (int count, int dimension) = ParseHeader(header, source);
            var keys = new string[count];
            var rows = new RowStore(count, dimension);
            int read = 0;
            try
            {
                string? line;
                while ((line = reader.ReadLine()) is not null)
                {
                    lineNumber++;
                    ReadOnlySpan<char> span = line.AsSpan().Trim();
                    if (span.IsEmpty)
                        continue;
                    if (read == count)
                        throw new FormatException($"{source}: line {lineNumber}: the header says {count} vectors, but the file has more lines.");
                    ParseTextRecord(span, dimension, rows.Row(read), out keys[read], source, lineNumber);
                    read++;
                }
            }
            catch (DecoderFallbackException e)
            {
                throw new FormatException($"{source}: line {lineNumber + 1} is not valid UTF-8 text.", e);
            }
            if (read != count)
                throw new FormatException($"{source}: the header says {count} vectors, but the file ends after {read} (line {lineNumber}).");
            return CreateTable(keys, rows, source, i => $"line {i + 2}");
        }

        private static void ParseTextRecord(ReadOnlySpan<char> line, int dimension, Span<float> destination, out string key, string source, long lineNumber)
        {
            int keyEnd = line.IndexOfAny(' ', '\t');
            if (keyEnd <= 0)
                throw new FormatException($"{source}: line {lineNumber}: expected a key followed by {dimension} values, found only '{Truncate(line.ToString())}'.");
            key = line.Slice(0, keyEnd).ToString();
            ReadOnlySpan<char> rest = line.Slice(keyEnd);
            int found = 0;
            while (true)
            {
                rest = rest.TrimStart();
                if (rest.IsEmpty)
                    break;
                int end = rest.IndexOfAny(' ', '\t');
                ReadOnlySpan<char> token = end < 0 ? rest : rest.Slice(0, end);
                rest = end < 0 ? ReadOnlySpan<char>.Empty : rest.Slice(end);
                if (found < dimension)
                {
                    if (!float.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out float value))
                        throw new FormatException($"{source}: line {lineNumber}: value {found + 1} of key '{key}' is '{Truncate(token.ToString())}', which is not a number.");
                    if (!float.IsFinite(value))
                        throw new FormatException($"{source}: line {lineNumber}: value {found + 1} of key '{key}' is {token.ToString()}; every value must be finite.");
                    destination[found] = value;
                }
                found++;
            }
            if (found != dimension)
                throw new FormatException($"{source}: line {lineNumber}: key '{key}' has {found} values; the header says the dimension is {dimension}.");
        }

        private static EmbeddingTable ReadBinary(Stream stream, string source)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("The word2vec binary format is little-endian; this machine is big-endian.");
            var input = new BufferedStream(stream, 1 << 16);
            long offset = 0;
            var headerBytes = new List<byte>();
            while (true)
            {
                int b = input.ReadByte();
                if (b < 0)
                    throw new FormatException($"{source}: the file ends inside the header (offset {offset}); expected 'count dimension' and a newline.");
                offset++;
                if (b == '\n')
                    break;
                if (headerBytes.Count > 256)
                    throw new FormatException($"{source}: the header line is longer than 256 bytes; expected 'count dimension'.");
                headerBytes.Add((byte)b);
            }
            (int count, int dimension) = ParseHeader(Encoding.ASCII.GetString(headerBytes.ToArray()), source);
            var keys = new string[count];
            var rows = new RowStore(count, dimension);
            var recordOffsets = new long[count];
            byte[] keyBuffer = ArrayPool<byte>.Shared.Rent(256);
            try
            {
                for (int i = 0; i < count; i++)
                {
                    int b;
                    do
                    {
                        b = input.ReadByte();
                        offset++;
                    }
                    while (b == '\n' || b == '\r');
                    long keyOffset = offset - 1;
                    recordOffsets[i] = keyOffset;
                    int keyLength = 0;
                    while (b != ' ')
                    {
                        if (b < 0)
                            throw new FormatException($"{source}: truncated at offset {offset - 1}: record {i + 1} of {count} (key starting at offset {keyOffset}) ends before its vector.");
                        if (keyLength == MaxKeyBytes)
                            throw new FormatException($"{source}: the key of record {i + 1} at offset {keyOffset} is longer than {MaxKeyBytes} bytes: is this really the binary format?");
                        if (keyLength == keyBuffer.Length)
                        {
                            byte[] larger = ArrayPool<byte>.Shared.Rent(keyBuffer.Length * 2);
                            keyBuffer.AsSpan(0, keyLength).CopyTo(larger);
                            ArrayPool<byte>.Shared.Return(keyBuffer);
                            keyBuffer = larger;
                        }
                        keyBuffer[keyLength++] = (byte)b;
                        b = input.ReadByte();
                        offset++;
                    }
                    try
                    {
                        keys[i] = s_strictUtf8.GetString(keyBuffer, 0, keyLength);
                    }
                    catch (DecoderFallbackException e)
                    {
                        throw new FormatException($"{source}: the key of record {i + 1} at offset {keyOffset} is not valid UTF-8.", e);
                    }
                    Span<byte> vectorBytes = MemoryMarshal.AsBytes(rows.Row(i));
                    int got = input.ReadAtLeast(vectorBytes, vectorBytes.Length, throwOnEndOfStream: false);
                    if (got != vectorBytes.Length)
                        throw new FormatException($"{source}: truncated at offset {offset + got}: the vector of key '{keys[i]}' (record {i + 1} of {count}) needs {vectorBytes.Length} bytes from offset {offset}, but only {got} remain.");
                    offset += got;
                }
                int trailing;
                while ((trailing = input.ReadByte()) >= 0)
                {
                    if (trailing != '\n' && trailing != '\r' && trailing != ' ')
                        throw new FormatException($"{source}: offset {offset}: unexpected data after the {count} records the header announces.");
                    offset++;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(keyBuffer);
            }
            return CreateTable(keys, rows, source, i => $"offset {recordOffsets[i]}");
        }

        private static EmbeddingTable CreateTable(string[] keys, RowStore rows, string source, Func<int, string> locate)
        {
            var seen = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
            for (int i = 0; i < keys.Length; i++)
            {
                if (!seen.TryAdd(keys[i], i))
                    throw new FormatException($"{source}: {locate(i)}: key '{keys[i]}' appears a second time (first at {locate(seen[keys[i]])}).");
                if (!Kernels.VectorMath.AllFinite(rows.Row(i)))
                    throw new FormatException($"{source}: {locate(i)}: the vector of key '{keys[i]}' contains NaN or infinity.");
            }
            return new EmbeddingTable(keys, rows);
        }

        private static void WriteText(EmbeddingTable table, Stream stream)
        {
            using var writer = new StreamWriter(stream, s_strictUtf8, 1 << 16, leaveOpen: true) { NewLine = "\n" };
            writer.Write(table.Count.ToString(CultureInfo.InvariantCulture));
            writer.Write(' ');
            writer.Write(table.Dimension.ToString(CultureInfo.InvariantCulture));
            writer.Write('\n');
            Span<char> number = stackalloc char[32];
            for (int i = 0; i < table.Count; i++)
            {
                writer.Write(table.KeyArray[i]);
                foreach (float value in table.Row(i))
                {
                    value.TryFormat(number, out int written, "R", CultureInfo.InvariantCulture);
                    writer.Write(' ');
                    writer.Write(number.Slice(0, written));
                }
                writer.Write('\n');
            }
        }

        private static void WriteBinary(EmbeddingTable table, Stream stream)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("The word2vec binary format is little-endian; this machine is big-endian.");
            var output = new BufferedStream(stream, 1 << 16);
            byte[] header = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{table.Count} {table.Dimension}\n"));
            output.Write(header);
            for (int i = 0; i < table.Count; i++)
            {
                output.Write(s_strictUtf8.GetBytes(table.KeyArray[i]));
                output.WriteByte((byte)' ');
                output.Write(MemoryMarshal.AsBytes(table.Row(i)));
                output.WriteByte((byte)'\n');
            }
            output.Flush();
        }

        private static string[] SplitFields(string line) =>
            line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        private static string Truncate(string text) => text.Length <= 60 ? text : text.Substring(0, 57) + "...";
    }
}
