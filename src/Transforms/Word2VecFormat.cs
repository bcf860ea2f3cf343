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
        /// <summary>
        /// Detect from the first records. After the header, a key runs to the first space; in the binary format the next
        /// 4 x <c>dimension</c> bytes are raw float32 values, then the next key (after an optional newline); in the text
        /// format the same bytes are text: values, separators, line breaks and the next keys. The first MiB after the
        /// header is walked record by record as binary: the file is read as binary as soon as the vector bytes hold 4
        /// bytes that are not text (control characters other than tab, CR and LF, or invalid UTF-8), which raw floats
        /// almost always do within a value or two (1.0 is 00 00 80 3F); as text otherwise, and when the file ends before
        /// the first vector (a binary file cannot). A text file, even with a malformed row or one damaged byte (which
        /// makes at most 3 such bytes), is therefore read as text and its error names the line; only a binary file of a
        /// handful of values in all can pass for text (it then fails with a text error, never silently): pass
        /// <see cref="Binary"/> for it.
        /// </summary>
        Detect = 0,

        /// <summary>Header line <c>count dimension</c>, then one line per key: the key and its values separated by spaces.</summary>
        Text = 1,

        /// <summary>Header line <c>count dimension</c>, then per key: the UTF-8 key, a space, and <c>dimension</c> little-endian float32 values (optionally followed by a newline).</summary>
        Binary = 2,
    }

    /// <summary>
    /// Reads and writes the word2vec text and binary formats (as gensim and the word2vec tool do). A UTF-8 byte order
    /// mark at the start is skipped. The header's count and dimension are checked against the file's length before
    /// anything is allocated for them: text needs at least 2 bytes per value (a separator and a digit) and a key per
    /// row, binary exactly 4 bytes per value and at least a key byte and a space per row.
    /// </summary>
    internal static class Word2VecFormat
    {
        private const int MaxKeyBytes = 1 << 16;
        private const int MaxHeaderBytes = 256;
        private static readonly UTF8Encoding s_strictUtf8 = KeyText.StrictUtf8;

        public static EmbeddingTable Load(string path, Word2VecFileFormat format)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            if (!File.Exists(path))
                throw new FileNotFoundException($"The word2vec file '{path}' does not exist.", path);
            if (!Enum.IsDefined(format))
                throw new ArgumentOutOfRangeException(nameof(format), format, "Use Detect, Text or Binary.");
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            var header = ReadHeader(stream, path);
            if (format == Word2VecFileFormat.Detect)
            {
                format = Detect(stream, header);
                stream.Position = header.BodyStart;
            }
            return format == Word2VecFileFormat.Text ? ReadText(stream, path, header) : ReadBinary(stream, path, header);
        }

        public static void Save(EmbeddingTable table, string path, bool binary)
        {
            ArgumentNullException.ThrowIfNull(table);
            // What the readers cannot read back is refused here, before anything is written: keys end at white space in
            // both formats, control characters would make a text file look binary (Detect), and a binary key is at most
            // MaxKeyBytes long.
            string[] keys = table.KeyArray;
            for (int row = 0; row < keys.Length; row++)
            {
                foreach (char c in keys[row])
                {
                    if (char.IsWhiteSpace(c))
                        throw new InvalidOperationException($"Key {KeyText.Show(keys[row])} (row {row}) contains white space (U+{(int)c:X4}), which the word2vec format cannot represent (keys end at a space; lines end at a line break). Replace the white space in keys (for example with '_') before saving.");
                    if (char.IsControl(c))
                        throw new InvalidOperationException($"Key {KeyText.Show(keys[row])} (row {row}) contains the control character U+{(int)c:X4}, which the word2vec format cannot represent. Remove control characters from keys before saving.");
                }
                KeyText.ThrowIfNotUtf8(keys[row], row, "the word2vec format");
                if (binary && s_strictUtf8.GetByteCount(keys[row]) > MaxKeyBytes)
                    throw new InvalidOperationException($"Key {KeyText.Show(keys[row])} (row {row}) takes {s_strictUtf8.GetByteCount(keys[row])} bytes in UTF-8; the word2vec binary format here holds keys of at most {MaxKeyBytes} bytes. Use the text format, or shorten the key.");
            }
            AtomicFile.Write(path, stream =>
            {
                if (binary)
                    WriteBinary(table, stream);
                else
                    WriteText(table, stream);
            });
        }

        /// <summary>The format of the file at <paramref name="path"/>, by the rule of <see cref="Word2VecFileFormat.Detect"/>.</summary>
        internal static Word2VecFileFormat Detect(string path)
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            return Detect(stream, ReadHeader(stream, path));
        }

        /// <summary>The header line, where the records start (after a UTF-8 byte order mark and the header), and the file's length.</summary>
        private readonly record struct Header(int Count, int Dimension, long BodyStart, long Length);

        private static Header ReadHeader(Stream stream, string source)
        {
            long length = stream.Length;
            Span<byte> bytes = stackalloc byte[MaxHeaderBytes + 3];
            int got = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
            bytes = bytes.Slice(0, got);
            if (got == 0)
                throw new FormatException($"{source}: the file is empty; expected the header 'count dimension'.");
            int bom = 0;
            if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
                bom = 3;
            else if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]) || bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
                throw new FormatException($"{source}: the file starts with a UTF-16 byte order mark; word2vec files are UTF-8 (or ASCII). Save it as UTF-8.");
            int newline = bytes.Slice(bom).IndexOf((byte)'\n');
            if (newline < 0)
            {
                throw new FormatException(got - bom >= MaxHeaderBytes
                    ? $"{source}: the first line is longer than {MaxHeaderBytes} bytes; expected the header 'count dimension'."
                    : $"{source}: the file ends inside the header; expected 'count dimension' followed by a newline.");
            }
            var line = bytes.Slice(bom, newline);
            string header = Encoding.Latin1.GetString(line);
            string[] parts = SplitFields(header);
            if (parts.Length != 2
                || !long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out long count)
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out long dimension))
            {
                throw new FormatException($"{source}: line 1: the header must be two whole numbers 'count dimension'; found '{Truncate(header)}'.");
            }
            if (dimension < 1)
                throw new FormatException($"{source}: line 1: the dimension in the header is {dimension}; it must be at least 1.");
            if (dimension > RowStore.MaxDimension)
                throw new FormatException($"{source}: line 1: the dimension in the header is {dimension}; this library holds vectors of at most {RowStore.MaxDimension} values.");
            if (count > int.MaxValue)
                throw new FormatException($"{source}: line 1: the header says {count} vectors; this library holds at most {int.MaxValue}.");
            long bodyStart = bom + newline + 1;
            stream.Position = bodyStart;
            return new Header((int)count, (int)dimension, bodyStart, length);
        }

        /// <summary>Non-text bytes (see <see cref="CountNonText"/>) from which a file is binary: one damaged byte of a text file makes at most 3.</summary>
        private const int BinaryEvidenceBytes = 4;

        /// <summary>
        /// The rule of <see cref="Word2VecFileFormat.Detect"/>, on the first MiB after the header, record after record as
        /// the binary format lays them out (the stream is left anywhere): binary as soon as the vector bytes seen so far
        /// hold <see cref="BinaryEvidenceBytes"/> bytes that are not text; text otherwise, and when the file is too short
        /// for the first binary vector.
        /// </summary>
        private static Word2VecFileFormat Detect(Stream stream, Header header)
        {
            stream.Position = header.BodyStart;
            var buffer = new byte[(int)Math.Min(1 << 20, header.Length - header.BodyStart)];
            int length = stream.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
            long vectorBytes = 4L * header.Dimension;
            int position = 0, nonText = 0;
            for (int record = 0; record < header.Count && position < length; record++)
            {
                while (position < length && buffer[position] is (byte)'\n' or (byte)'\r')
                    position++;
                int keyEnd = Array.IndexOf(buffer, (byte)' ', position, length - position);
                if (keyEnd < 0)
                    break;
                if (record == 0 && header.BodyStart + keyEnd + 1 + vectorBytes > header.Length)
                    return Word2VecFileFormat.Text; // too short for a binary vector after the first key
                int vectorEnd = (int)Math.Min(length, keyEnd + 1 + vectorBytes);
                nonText += CountNonText(buffer.AsSpan(keyEnd + 1, vectorEnd - keyEnd - 1));
                if (nonText >= BinaryEvidenceBytes)
                    return Word2VecFileFormat.Binary;
                position = vectorEnd;
            }
            return Word2VecFileFormat.Text;
        }

        /// <summary>
        /// How many of <paramref name="bytes"/> are not UTF-8 text: bytes of invalid UTF-8 sequences, and control
        /// characters other than tab, CR and LF (the last character may be cut off). Changing one byte of text makes at
        /// most 3 (the orphaned continuation bytes of a 4-byte character).
        /// </summary>
        private static int CountNonText(ReadOnlySpan<byte> bytes)
        {
            int count = 0;
            while (!bytes.IsEmpty)
            {
                var status = Rune.DecodeFromUtf8(bytes, out Rune rune, out int used);
                if (status == OperationStatus.NeedMoreData)
                    break; // the window ends inside a character
                int c = rune.Value;
                if (status != OperationStatus.Done || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || (c >= 0x7F && c <= 0x9F))
                    count += used;
                bytes = bytes.Slice(used);
            }
            return count;
        }

        /// <summary>
        /// Fails unless the bytes after the header can hold the header's count of records, at least
        /// <paramref name="leastPerRecord"/> bytes each, so that what is then allocated is bounded by the file's length.
        /// </summary>
        private static void CheckFileCanHold(Header header, string source, long leastPerRecord, string format, string why)
        {
            long available = header.Length - header.BodyStart;
            long needed = header.Count * leastPerRecord;
            if (needed > available)
                throw new FormatException($"{source}: line 1: the header says {header.Count} vectors of dimension {header.Dimension}, which take at least {needed} bytes in the word2vec {format} format ({why}), but the file has {available} bytes after the header: the header is wrong or the file is truncated.");
        }

        private static EmbeddingTable ReadText(Stream stream, string source, Header header)
        {
            CheckFileCanHold(header, source, 1 + 2L * header.Dimension, "text", "a key and at least 2 bytes per value, a separator and a digit");
            (int count, int dimension) = (header.Count, header.Dimension);
            using var reader = new StreamReader(stream, s_strictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);
            long lineNumber = 1;
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

        private static EmbeddingTable ReadBinary(Stream stream, string source, Header header)
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("The word2vec binary format is little-endian; this machine is big-endian.");
            CheckFileCanHold(header, source, 2 + 4L * header.Dimension, "binary", "4 bytes per value, and a key and a space");
            (int count, int dimension) = (header.Count, header.Dimension);
            var input = new BufferedStream(stream, 1 << 16);
            long offset = header.BodyStart;
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
                    if (keyLength == 0)
                        throw new FormatException($"{source}: record {i + 1} of {count} at offset {keyOffset} has an empty key (a space where its key should start): the file is damaged, or its records do not have the dimension {dimension} of the header.");
                    try
                    {
                        keys[i] = s_strictUtf8.GetString(keyBuffer, 0, keyLength);
                    }
                    catch (DecoderFallbackException e)
                    {
                        throw new FormatException($"{source}: the key of record {i + 1} at offset {keyOffset} is not valid UTF-8.", e);
                    }
                    // A key never holds a control character (Save refuses them): one here means the records are out of
                    // step with the header (a wrong dimension, or a damaged byte), which would otherwise read as garbage.
                    int control = keys[i].AsSpan().IndexOfAnyInRange('\u0000', '\u001F');
                    if (control < 0)
                        control = keys[i].AsSpan().IndexOfAnyInRange('\u007F', '\u009F');
                    if (control >= 0)
                        throw new FormatException($"{source}: the key of record {i + 1} at offset {keyOffset} contains the control character U+{(int)keys[i][control]:X4}: the file is damaged, or its records do not have the dimension {dimension} of the header.");
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
            try
            {
                return new EmbeddingTable(keys, rows);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{source}: {e.Message}", e); // (the checks above name the line or offset first)
            }
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
