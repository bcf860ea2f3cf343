using System;
using System.Buffers;
using System.IO;
using System.Text.Unicode;
using System.Threading;
using Embeddings.Infrastructure;

namespace Embeddings.Cli
{
    /// <summary>
    /// Streams a white-space-separated UTF-8 text file as sequences of tokens: a line is a sequence, and long lines are
    /// cut every <c>maxSequenceLength</c> tokens (10,000, as gensim's LineSentence; text8 is one 17-million-word line).
    /// The tokenizer's contract: tokens are separated by every Unicode white-space character (<see cref="char.IsWhiteSpace(char)"/>:
    /// space, tab, NBSP, EM SPACE, ideographic space, ...), so a token never contains one and can always be saved in the
    /// word2vec text format; only '\n' ends a sequence. The file must be UTF-8: an invalid byte is a <see cref="FormatException"/>
    /// naming the line and byte offset (never a U+FFFD that would merge different words). A byte order mark at the start is skipped.
    /// </summary>
    internal static class TextCorpusReader
    {
        public const int DefaultMaxSequenceLength = 10_000;
        private const int MaxTokenBytes = 1 << 16;

        /// <summary>The ASCII white-space bytes (<see cref="char.IsWhiteSpace(char)"/> of the byte); other white space is multi-byte.</summary>
        private static readonly bool[] s_asciiWhiteSpace = CreateAsciiWhiteSpace();

        private static bool[] CreateAsciiWhiteSpace()
        {
            var table = new bool[128];
            for (int c = 0; c < 128; c++)
                table[c] = char.IsWhiteSpace((char)c);
            return table;
        }

        /// <summary>Reads the whole file once; returns the number of tokens. Checks <paramref name="cancellation"/> every megabyte.</summary>
        public static long Read(string path, ISequenceWriter sink, int maxSequenceLength = DefaultMaxSequenceLength, CancellationToken cancellation = default)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"The training file '{path}' does not exist.", path);
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
            var buffer = new byte[1 << 20];
            var token = new byte[256];
            var chars = new char[256];
            int tokenLength = 0;
            bool tokenAscii = true;
            long tokenOffset = 0;
            int sequenceLength = 0;
            long tokens = 0;
            long line = 1;
            long offset = 0;
            int read;
            bool first = true;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                cancellation.ThrowIfCancellationRequested();
                int start = 0;
                if (first)
                {
                    first = false;
                    if (read >= 3 && buffer[0] == 0xEF && buffer[1] == 0xBB && buffer[2] == 0xBF)
                        start = 3;
                }
                for (int i = start; i < read; i++)
                {
                    byte b = buffer[i];
                    if (b < 0x80 && s_asciiWhiteSpace[b])
                    {
                        if (tokenLength > 0)
                            Emit();
                        if (b == (byte)'\n')
                        {
                            if (sequenceLength > 0)
                            {
                                sink.EndSequence();
                                sequenceLength = 0;
                            }
                            line++;
                        }
                        continue;
                    }
                    if (tokenLength == token.Length)
                    {
                        if (token.Length == MaxTokenBytes)
                            throw new FormatException($"{path}: line {line}, byte offset {tokenOffset}: a token is longer than {MaxTokenBytes} bytes; is this a white-space-separated text file?");
                        Array.Resize(ref token, token.Length * 2);
                        Array.Resize(ref chars, token.Length);
                    }
                    if (tokenLength == 0)
                    {
                        tokenOffset = offset + i;
                        tokenAscii = true;
                    }
                    tokenAscii &= b < 0x80;
                    token[tokenLength++] = b;
                }
                offset += read;
            }
            if (tokenLength > 0)
                Emit();
            if (sequenceLength > 0)
                sink.EndSequence();
            return tokens;

            void Emit()
            {
                int count;
                if (tokenAscii)
                {
                    for (int k = 0; k < tokenLength; k++)
                        chars[k] = (char)token[k];
                    count = tokenLength;
                    Add(chars.AsSpan(0, count));
                }
                else
                {
                    var status = Utf8.ToUtf16(token.AsSpan(0, tokenLength), chars, out int bytesRead, out count, replaceInvalidSequences: false);
                    if (status != OperationStatus.Done)
                        throw Utf8Lines.InvalidUtf8(path, line, tokenOffset + bytesRead, token[bytesRead]);
                    // Non-ASCII white space (NBSP, EM SPACE, ...) separates tokens too.
                    var text = chars.AsSpan(0, count);
                    while (!text.IsEmpty)
                    {
                        int end = 0;
                        while (end < text.Length && !char.IsWhiteSpace(text[end]))
                            end++;
                        if (end > 0)
                            Add(text[..end]);
                        while (end < text.Length && char.IsWhiteSpace(text[end]))
                            end++;
                        text = text[end..];
                    }
                }
                tokenLength = 0;
            }

            void Add(ReadOnlySpan<char> word)
            {
                sink.Add(word);
                sequenceLength++;
                tokens++;
                if (sequenceLength == maxSequenceLength)
                {
                    sink.EndSequence();
                    sequenceLength = 0;
                }
            }
        }
    }
}
