using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text.Unicode;

namespace Embeddings.Infrastructure
{
    /// <summary>One line of a text file: its 1-based number, the byte offset of its first byte, and its text (without the line break).</summary>
    /// <param name="Number">The 1-based line number.</param>
    /// <param name="Offset">The byte offset of the line's first byte in the file.</param>
    /// <param name="Text">The line, decoded, without its '\n' or '\r\n'.</param>
    public readonly record struct TextLine(long Number, long Offset, string Text)
    {
        /// <summary>Whether the line is empty or holds only white space (<see cref="char.IsWhiteSpace(char)"/>).</summary>
        public bool IsBlank => string.IsNullOrWhiteSpace(Text);
    }

    /// <summary>
    /// Reads the lines of a strictly UTF-8 text file: a byte sequence that is not UTF-8 is an error naming the file, the
    /// line and the byte offset, never a U+FFFD that would merge different words or ids. A UTF-8 byte order mark at the
    /// start is skipped; lines end with '\n' or '\r\n'.
    /// </summary>
    public static class Utf8Lines
    {
        private static ReadOnlySpan<byte> ByteOrderMark => new byte[] { 0xEF, 0xBB, 0xBF };

        /// <summary>The lines of <paramref name="path"/>, read as they are enumerated.</summary>
        /// <exception cref="FormatException">A line is not valid UTF-8 (the message names the file, line and byte offset).</exception>
        public static IEnumerable<TextLine> Read(string path)
        {
            ArgumentException.ThrowIfNullOrEmpty(path);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var buffer = new byte[1 << 16];
            var line = new byte[256];
            int lineLength = 0;
            long number = 1, offset = 0, lineStart = 0;
            bool first = true;
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                int start = 0;
                if (first)
                {
                    first = false;
                    if (read >= 3 && buffer.AsSpan(0, 3).SequenceEqual(ByteOrderMark))
                        start = 3;
                    lineStart = start;
                }
                for (int i = start; i < read; i++)
                {
                    byte b = buffer[i];
                    if (b == (byte)'\n')
                    {
                        yield return Decode(path, line, lineLength, number, lineStart);
                        number++;
                        lineLength = 0;
                        lineStart = offset + i + 1;
                        continue;
                    }
                    if (lineLength == line.Length)
                        Array.Resize(ref line, line.Length * 2);
                    line[lineLength++] = b;
                }
                offset += read;
            }
            if (lineLength > 0)
                yield return Decode(path, line, lineLength, number, lineStart);
        }

        /// <summary>
        /// Decodes <paramref name="bytes"/> as strict UTF-8; throws a <see cref="FormatException"/> naming <paramref name="path"/>,
        /// <paramref name="line"/> and the byte offset (<paramref name="offset"/> is the offset of the first byte) of the first invalid byte.
        /// </summary>
        public static string Decode(string path, ReadOnlySpan<byte> bytes, long line, long offset)
        {
            Span<char> chars = bytes.Length <= 512 ? stackalloc char[bytes.Length] : new char[bytes.Length];
            var status = Utf8.ToUtf16(bytes, chars, out int bytesRead, out int charsWritten, replaceInvalidSequences: false);
            if (status != OperationStatus.Done)
                throw InvalidUtf8(path, line, offset + bytesRead, bytes[bytesRead]);
            return new string(chars[..charsWritten]);
        }

        /// <summary>The error for an invalid UTF-8 byte at <paramref name="offset"/> on <paramref name="line"/>.</summary>
        public static FormatException InvalidUtf8(string path, long line, long offset, byte value) =>
            new($"{path}: line {line}, byte offset {offset}: byte 0x{value:X2} is not valid UTF-8; the file must be UTF-8 text " +
                "(convert it first, e.g. 'iconv -f latin1 -t utf-8 IN > OUT').");

        /// <summary>The error for a malformed line: '<c>PATH: line N: PROBLEM (line 'TEXT'). FIX.</c>'.</summary>
        public static FormatException LineError(string path, TextLine line, string problem, string? fix = null) =>
            new($"{path}: line {line.Number}: {problem} (line '{Quote(line.Text)}').{(fix is null ? "" : " " + fix + ".")}");

        /// <summary>Whether <paramref name="text"/> contains a white-space character (<see cref="char.IsWhiteSpace(char)"/>: space, tab, NBSP, EM SPACE, ...).</summary>
        public static bool ContainsWhiteSpace(ReadOnlySpan<char> text)
        {
            foreach (char c in text)
            {
                if (char.IsWhiteSpace(c))
                    return true;
            }
            return false;
        }

        private static TextLine Decode(string path, byte[] line, int length, long number, long offset)
        {
            // '\r\n' line ends: the '\r' is not part of the line.
            if (length > 0 && line[length - 1] == (byte)'\r')
                length--;
            return new TextLine(number, offset, Decode(path, line.AsSpan(0, length), number, offset));
        }

        /// <summary>A short, printable form of a line or value for an error message (at most 200 characters).</summary>
        public static string Quote(string text) => text.Length <= 200 ? text : string.Concat(text.AsSpan(0, 200), "...");
    }
}
