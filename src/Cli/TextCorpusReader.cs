using System;
using System.IO;
using System.Text;
using System.Threading;

namespace Embeddings.Cli
{
    /// <summary>
    /// Streams a whitespace-separated UTF-8 text file as sequences of tokens: a line is a sequence, and long lines are
    /// cut every <c>maxSequenceLength</c> tokens (10,000, as gensim's LineSentence; text8 is one 17-million-word line).
    /// </summary>
    internal static class TextCorpusReader
    {
        public const int DefaultMaxSequenceLength = 10_000;
        private const int MaxTokenBytes = 1 << 16;

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
            int sequenceLength = 0;
            long tokens = 0;
            var utf8 = Encoding.UTF8;
            int read;
            while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
            {
                cancellation.ThrowIfCancellationRequested();
                for (int i = 0; i < read; i++)
                {
                    byte b = buffer[i];
                    if (b == (byte)' ' || b == (byte)'\n' || b == (byte)'\t' || b == (byte)'\r' || b == 0x0B || b == 0x0C)
                    {
                        if (tokenLength > 0)
                        {
                            Emit();
                            if (sequenceLength == maxSequenceLength)
                            {
                                sink.EndSequence();
                                sequenceLength = 0;
                            }
                        }
                        if (b == (byte)'\n' && sequenceLength > 0)
                        {
                            sink.EndSequence();
                            sequenceLength = 0;
                        }
                        continue;
                    }
                    if (tokenLength == token.Length)
                    {
                        if (token.Length == MaxTokenBytes)
                            throw new FormatException($"{path}: a token is longer than {MaxTokenBytes} bytes; is this a whitespace-separated text file?");
                        Array.Resize(ref token, token.Length * 2);
                        Array.Resize(ref chars, token.Length);
                    }
                    token[tokenLength++] = b;
                }
            }
            if (tokenLength > 0)
                Emit();
            if (sequenceLength > 0)
                sink.EndSequence();
            return tokens;

            void Emit()
            {
                int count = utf8.GetChars(token, 0, tokenLength, chars, 0);
                sink.Add(chars.AsSpan(0, count));
                tokenLength = 0;
                sequenceLength++;
                tokens++;
            }
        }
    }
}
