using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Runtime.InteropServices;

namespace Embeddings.SkipGram
{
    /// <summary>
    /// The tokenised corpus file (docs/scale.md): the second pass over a corpus writes it once, and every epoch reads it
    /// back shard by shard. All numbers are little-endian.
    /// <code>
    /// header   16 bytes  "EMBCORPS", int32 version (1), int32 flags (0)
    /// body     per sequence: int32 length n (2 or more), then n int32 vocabulary indices
    /// shards   per shard: int64 byte offset of its first sequence, int64 tokens before it
    /// trailer  48 bytes  int64 shard table offset, int64 shards, int64 tokens, int64 sequences,
    ///                    int32 longest sequence, int32 vocabulary size, "EMBCORPE"
    /// </code>
    /// A shard is a byte range of whole sequences, closed after the sequence that brings it to
    /// <see cref="SkipGramCorpus.TargetWorkItemTokens"/> tokens: shard k is work item k, exactly as
    /// <see cref="TokenCorpus"/> groups the same sequences, so a run over the file and one over memory are the same run.
    /// The trailer is written last: a file without it was not completely written.
    /// </summary>
    internal static class TokenFileFormat
    {
        public const int Version = 1;
        public const int HeaderBytes = 16;
        public const int ShardEntryBytes = 16;
        public const int TrailerBytes = 48;

        public static ReadOnlySpan<byte> HeaderMagic => "EMBCORPS"u8;

        public static ReadOnlySpan<byte> TrailerMagic => "EMBCORPE"u8;

        public static void CheckEndianness()
        {
            if (!BitConverter.IsLittleEndian)
                throw new PlatformNotSupportedException("The streamed skip-gram corpus maps little-endian int32 tokens; this big-endian platform is not supported.");
        }
    }

    /// <summary>
    /// Second pass over the sequences: writes the vocabulary index of each known token to a <see cref="TokenFileFormat"/>
    /// file through a buffer of its own (sequences may span buffer flushes); sequences left with fewer than two known
    /// tokens are dropped and counted. Memory: the buffer, the current sequence and one table entry per shard.
    /// </summary>
    internal sealed class TokenFileWriter : ISequenceWriter, IDisposable
    {
        private readonly FileStream _stream;
        private readonly string _path;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _index;
        private readonly int _vocabularySize;
        private readonly long _expectedKnownTokens;
        private readonly int _targetShardTokens;
        private readonly byte[] _buffer;
        private int _buffered;
        private long _position;
        private int[] _sequence = new int[256];
        private int _length;
        private long _knownTokens;
        private long _tokens;
        private long _sequences;
        private int _maxLength;
        private long _tokensInShard;
        private bool _startShard = true;
        private readonly List<(long Offset, long Tokens)> _shards = new();
        private bool _completed;
        private bool _handedOver;

        /// <summary>
        /// A writer into <paramref name="stream"/> (empty, readable and writable; the writer owns it until it is handed to the corpus).
        /// </summary>
        /// <param name="stream">The file to write.</param>
        /// <param name="path">The file's name, for messages.</param>
        /// <param name="vocabulary">The items to keep; others are skipped.</param>
        /// <param name="expectedKnownTokens">
        /// The known tokens the counting pass saw: the second pass must write exactly as many, or the input changed
        /// between passes. <see cref="long.MaxValue"/> when the passes differ on purpose (continued training).
        /// </param>
        /// <param name="targetShardTokens">Where shards close (tests use tiny shards).</param>
        /// <param name="bufferBytes">Write buffer size (tests use tiny buffers).</param>
        public TokenFileWriter(FileStream stream, string path, Vocabulary vocabulary, long expectedKnownTokens,
            int targetShardTokens = SkipGramCorpus.TargetWorkItemTokens, int bufferBytes = 1 << 20)
        {
            TokenFileFormat.CheckEndianness();
            ArgumentOutOfRangeException.ThrowIfLessThan(targetShardTokens, 1);
            ArgumentOutOfRangeException.ThrowIfLessThan(bufferBytes, 1);
            _stream = stream;
            _path = path;
            _index = vocabulary.Index().GetAlternateLookup<ReadOnlySpan<char>>();
            _vocabularySize = vocabulary.Count;
            _expectedKnownTokens = expectedKnownTokens;
            _targetShardTokens = targetShardTokens;
            _buffer = new byte[bufferBytes];
            Span<byte> header = stackalloc byte[TokenFileFormat.HeaderBytes];
            TokenFileFormat.HeaderMagic.CopyTo(header);
            BinaryPrimitives.WriteInt32LittleEndian(header.Slice(8), TokenFileFormat.Version);
            BinaryPrimitives.WriteInt32LittleEndian(header.Slice(12), 0);
            Write(header);
        }

        /// <summary>
        /// A writer into a new file in <paramref name="directory"/> (null or empty: the system temp folder) that
        /// disappears when the corpus made from it is disposed, or when the process ends, however it ends (on Unix
        /// the file is unlinked at once and lives on through its open handle).
        /// </summary>
        /// <exception cref="IOException">The folder does not exist or is not writable.</exception>
        public static TokenFileWriter CreateTemporary(string? directory, Vocabulary vocabulary, long expectedKnownTokens)
        {
            string folder = string.IsNullOrEmpty(directory) ? Path.GetTempPath() : directory;
            string path = Path.Combine(folder, "embeddings-corpus-" + Guid.NewGuid().ToString("N") + ".tokens");
            FileStream stream;
            try
            {
                stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, bufferSize: 0,
                    OperatingSystem.IsWindows() ? FileOptions.DeleteOnClose : FileOptions.None);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"Could not create the temporary tokenised corpus in '{folder}' ({e.Message}). Skip-gram streams its corpus through a temporary file " +
                    "(4 bytes per token and per sequence); point MLContext.TempFilePath (or TMPDIR) at a writable folder with room for it.", e);
            }
            if (!OperatingSystem.IsWindows())
            {
                try
                {
                    File.Delete(path);
                }
                catch (IOException)
                {
                    // Still open and readable; it is then left behind like any temp file.
                }
            }
            return new TokenFileWriter(stream, path, vocabulary, expectedKnownTokens);
        }

        /// <summary>Sequences dropped because fewer than two of their tokens are in the vocabulary.</summary>
        public long SkippedSequences { get; private set; }

        public void Add(ReadOnlySpan<char> key)
        {
            if (key.IsEmpty || !_index.TryGetValue(key, out int index))
                return;
            if (++_knownTokens > _expectedKnownTokens)
                throw InputChanged();
            if (_length == _sequence.Length)
            {
                if (_length == Array.MaxLength)
                    throw new NotSupportedException($"A sequence has more than {Array.MaxLength:N0} known tokens; cut it into shorter sequences.");
                Array.Resize(ref _sequence, (int)Math.Min(Array.MaxLength, 2L * _length));
            }
            _sequence[_length++] = index;
        }

        public void EndSequence()
        {
            int n = _length;
            _length = 0;
            if (n < 2)
            {
                SkippedSequences++;
                return;
            }
            if (_startShard)
            {
                _shards.Add((_position, _tokens));
                _startShard = false;
            }
            Span<int> length = stackalloc int[] { n };
            Write(MemoryMarshal.AsBytes(length));
            Write(MemoryMarshal.AsBytes(_sequence.AsSpan(0, n)));
            _tokens += n;
            _sequences++;
            _maxLength = Math.Max(_maxLength, n);
            _tokensInShard += n;
            if (_tokensInShard >= _targetShardTokens)
            {
                _startShard = true;
                _tokensInShard = 0;
            }
        }

        /// <summary>Writes the shard table and the trailer: the file is complete. Checks that the passes agreed.</summary>
        public void Complete()
        {
            if (_completed)
                throw new InvalidOperationException("The corpus file is complete already.");
            if (_length > 0)
                EndSequence();
            if (_expectedKnownTokens != long.MaxValue && _knownTokens != _expectedKnownTokens)
                throw InputChanged();
            long table = _position;
            Span<byte> entry = stackalloc byte[TokenFileFormat.ShardEntryBytes];
            foreach (var (offset, tokens) in _shards)
            {
                BinaryPrimitives.WriteInt64LittleEndian(entry, offset);
                BinaryPrimitives.WriteInt64LittleEndian(entry.Slice(8), tokens);
                Write(entry);
            }
            Span<byte> trailer = stackalloc byte[TokenFileFormat.TrailerBytes];
            BinaryPrimitives.WriteInt64LittleEndian(trailer, table);
            BinaryPrimitives.WriteInt64LittleEndian(trailer.Slice(8), _shards.Count);
            BinaryPrimitives.WriteInt64LittleEndian(trailer.Slice(16), _tokens);
            BinaryPrimitives.WriteInt64LittleEndian(trailer.Slice(24), _sequences);
            BinaryPrimitives.WriteInt32LittleEndian(trailer.Slice(32), _maxLength);
            BinaryPrimitives.WriteInt32LittleEndian(trailer.Slice(36), _vocabularySize);
            TokenFileFormat.TrailerMagic.CopyTo(trailer.Slice(40));
            Write(trailer);
            Flush();
            _completed = true;
        }

        /// <summary>Completes the file and opens it as the training corpus, which takes over the file (and deletes a temporary one when disposed).</summary>
        public TokenFileCorpus CompleteAndOpen()
        {
            Complete();
            var corpus = new TokenFileCorpus(_stream, _path, _vocabularySize);
            _handedOver = true;
            return corpus;
        }

        /// <summary>Closes the file unless a corpus took it over.</summary>
        public void Dispose()
        {
            if (!_handedOver)
                _stream.Dispose();
        }

        private InvalidOperationException InputChanged() => new(string.Create(CultureInfo.InvariantCulture,
            $"The second pass over the sequences read {(_knownTokens > _expectedKnownTokens ? "more" : "fewer")} known tokens ({_knownTokens:N0}) than the first ({_expectedKnownTokens:N0}): the input changed between passes. Give a corpus that reads the same both times."));

        private void Write(ReadOnlySpan<byte> bytes)
        {
            _position += bytes.Length;
            while (!bytes.IsEmpty)
            {
                int take = Math.Min(bytes.Length, _buffer.Length - _buffered);
                bytes.Slice(0, take).CopyTo(_buffer.AsSpan(_buffered));
                _buffered += take;
                bytes = bytes.Slice(take);
                if (_buffered == _buffer.Length)
                    Flush();
            }
        }

        private void Flush()
        {
            try
            {
                _stream.Write(_buffer, 0, _buffered);
            }
            catch (IOException e)
            {
                throw new IOException(string.Create(CultureInfo.InvariantCulture,
                    $"Writing the tokenised corpus '{_path}' failed at byte {_position - _buffered:N0} ({e.Message}). It needs 4 bytes per token and per sequence; free space in that folder or point MLContext.TempFilePath (or TMPDIR) at one with room."), e);
            }
            _buffered = 0;
        }
    }

    /// <summary>
    /// A <see cref="TokenFileFormat"/> file as a training corpus. The file is memory-mapped once; each read maps one
    /// shard's view, copies it into the reader's buffer and unmaps it, so the process' resident memory holds one shard
    /// per thread whatever the corpus length (a view over the whole file would keep every page it touched resident).
    /// The shard table is checked when the file is opened, and each shard's sequences and indices when it is read.
    /// </summary>
    internal sealed class TokenFileCorpus : SkipGramCorpus
    {
        private readonly FileStream _stream;
        private readonly MemoryMappedFile _map;
        private readonly string _path;
        private readonly int _vocabularySize;
        private readonly long[] _offsets;
        private readonly long[] _tokenOffsets;
        private readonly long _tokens;
        private readonly long _sequences;
        private readonly int _maxLength;
        private readonly int _maxShardInts;

        /// <summary>Opens the complete file in <paramref name="stream"/> (the corpus owns it from now on).</summary>
        /// <exception cref="FormatException">The file is not a tokenised corpus, is truncated, or does not match the vocabulary.</exception>
        internal TokenFileCorpus(FileStream stream, string path, int vocabularySize)
        {
            TokenFileFormat.CheckEndianness();
            _stream = stream;
            _path = path;
            _vocabularySize = vocabularySize;
            try
            {
                long length = stream.Length;
                if (length < TokenFileFormat.HeaderBytes + TokenFileFormat.TrailerBytes)
                    throw Damaged($"it has {length} bytes, fewer than a header and an end record ({TokenFileFormat.HeaderBytes + TokenFileFormat.TrailerBytes}): it is truncated or not a tokenised corpus");
                Span<byte> header = stackalloc byte[TokenFileFormat.HeaderBytes];
                ReadExactly(0, header);
                if (!header.Slice(0, 8).SequenceEqual(TokenFileFormat.HeaderMagic))
                    throw Damaged($"it starts with {Describe(header.Slice(0, 8))}, not the magic \"EMBCORPS\": it is not a tokenised corpus file");
                int version = BinaryPrimitives.ReadInt32LittleEndian(header.Slice(8));
                if (version != TokenFileFormat.Version)
                    throw Damaged($"it has format version {version}; this library reads version {TokenFileFormat.Version}");
                Span<byte> trailer = stackalloc byte[TokenFileFormat.TrailerBytes];
                ReadExactly(length - TokenFileFormat.TrailerBytes, trailer);
                if (!trailer.Slice(40).SequenceEqual(TokenFileFormat.TrailerMagic))
                    throw Damaged("it has no end record (\"EMBCORPE\" in its last 8 bytes): it is truncated, or its writing was interrupted");
                long table = BinaryPrimitives.ReadInt64LittleEndian(trailer);
                long shards = BinaryPrimitives.ReadInt64LittleEndian(trailer.Slice(8));
                _tokens = BinaryPrimitives.ReadInt64LittleEndian(trailer.Slice(16));
                _sequences = BinaryPrimitives.ReadInt64LittleEndian(trailer.Slice(24));
                _maxLength = BinaryPrimitives.ReadInt32LittleEndian(trailer.Slice(32));
                int fileVocabulary = BinaryPrimitives.ReadInt32LittleEndian(trailer.Slice(36));
                if (fileVocabulary != vocabularySize)
                    throw Damaged($"it was written for a vocabulary of {fileVocabulary:N0} items, not {vocabularySize:N0}");
                if (shards < 0 || shards > int.MaxValue - 1 || table < TokenFileFormat.HeaderBytes
                    || table + shards * TokenFileFormat.ShardEntryBytes + TokenFileFormat.TrailerBytes != length)
                    throw Damaged($"its end record ({shards} shards from byte {table}) does not fit its {length} bytes");
                if (_tokens < 0 || _sequences < 0 || _maxLength < 0 || (shards == 0) != (_sequences == 0) || (_sequences > 0 && _maxLength < 2))
                    throw Damaged($"its end record is inconsistent ({_tokens} tokens, {_sequences} sequences, longest {_maxLength}, {shards} shards)");
                _offsets = new long[shards + 1];
                _tokenOffsets = new long[shards + 1];
                var entries = new byte[shards * TokenFileFormat.ShardEntryBytes];
                ReadExactly(table, entries);
                for (int k = 0; k < shards; k++)
                {
                    _offsets[k] = BinaryPrimitives.ReadInt64LittleEndian(entries.AsSpan(k * TokenFileFormat.ShardEntryBytes));
                    _tokenOffsets[k] = BinaryPrimitives.ReadInt64LittleEndian(entries.AsSpan(k * TokenFileFormat.ShardEntryBytes + 8));
                }
                _offsets[shards] = table;
                _tokenOffsets[shards] = _tokens;
                long sequences = 0;
                for (int k = 0; k < shards; k++)
                {
                    long bytes = _offsets[k + 1] - _offsets[k];
                    long tokens = _tokenOffsets[k + 1] - _tokenOffsets[k];
                    long inShard = bytes / 4 - tokens;
                    bool ok = (k > 0 || (_offsets[0] == TokenFileFormat.HeaderBytes && _tokenOffsets[0] == 0))
                        && bytes > 0 && bytes % 4 == 0 && bytes / 4 <= Array.MaxLength && tokens >= 2 && inShard >= 1 && 2 * inShard <= tokens;
                    if (!ok)
                        throw Damaged($"its shard table is inconsistent at shard {k} (bytes {_offsets[k]}-{_offsets[k + 1]}, tokens {_tokenOffsets[k]}-{_tokenOffsets[k + 1]})");
                    sequences += inShard;
                    _maxShardInts = (int)Math.Max(_maxShardInts, bytes / 4);
                }
                if (sequences != _sequences)
                    throw Damaged($"its shards hold {sequences} sequences but its end record says {_sequences}");
                _map = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
            }
            catch
            {
                stream.Dispose();
                throw;
            }
        }

        /// <summary>Opens a complete tokenised corpus file written for a vocabulary of <paramref name="vocabularySize"/> items.</summary>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="FormatException">The file is not a tokenised corpus, is truncated, or was written for another vocabulary.</exception>
        public static TokenFileCorpus Open(string path, int vocabularySize)
        {
            if (!File.Exists(path))
                throw new FileNotFoundException($"The tokenised corpus '{path}' does not exist.", path);
            return new TokenFileCorpus(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0), path, vocabularySize);
        }

        public override long TokenCount => _tokens;

        public override long SequenceCount => _sequences;

        public override int MaxSequenceLength => Math.Max(1, _maxLength);

        public override int WorkItemCount => _offsets.Length - 1;

        public override long WorkItemTokenOffset(int item) => _tokenOffsets[item];

        /// <summary>Bytes of the file.</summary>
        public long FileBytes => _stream.Length;

        /// <summary>Copies the whole file, as written, to <paramref name="destination"/> (a cluster job ships the corpus to its workers, which open it with <see cref="Open"/>).</summary>
        public void CopyTo(Stream destination)
        {
            ArgumentNullException.ThrowIfNull(destination);
            var buffer = new byte[1 << 20];
            long offset = 0;
            int read;
            while ((read = RandomAccess.Read(_stream.SafeFileHandle, buffer, offset)) > 0)
            {
                destination.Write(buffer, 0, read);
                offset += read;
            }
        }

        public override SequenceReader CreateReader() => new Reader(this);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _map.Dispose();
                _stream.Dispose();
            }
        }

        private FormatException Damaged(string problem) =>
            new($"The tokenised corpus '{_path}' is damaged: {problem}. It is a temporary file of skip-gram training; train again to rewrite it.");

        private void ReadExactly(long offset, Span<byte> destination)
        {
            while (!destination.IsEmpty)
            {
                int read = RandomAccess.Read(_stream.SafeFileHandle, destination, offset);
                if (read == 0)
                    throw Damaged($"it ends at byte {offset}, before the data its records announce");
                destination = destination.Slice(read);
                offset += read;
            }
        }

        private static string Describe(ReadOnlySpan<byte> bytes)
        {
            var text = new System.Text.StringBuilder("bytes");
            foreach (byte b in bytes)
                text.Append(' ').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            return text.ToString();
        }

        private sealed class Reader : SequenceReader
        {
            private readonly TokenFileCorpus _corpus;
            private readonly int[] _buffer;
            private int _position;
            private int _end;

            public Reader(TokenFileCorpus corpus)
            {
                _corpus = corpus;
                _buffer = new int[corpus._maxShardInts];
            }

            public override void Open(int item)
            {
                var corpus = _corpus;
                long offset = corpus._offsets[item];
                long bytes = corpus._offsets[item + 1] - offset;
                int ints = (int)(bytes / 4);
                using (var view = corpus._map.CreateViewAccessor(offset, bytes, MemoryMappedFileAccess.Read))
                {
                    if (view.ReadArray(0, _buffer, 0, ints) != ints)
                        throw corpus.Damaged($"shard {item} could not be read whole");
                }
                // Checked here, once per shard read, so that a damaged file is an error naming the place, never an index out of range in training.
                long tokens = 0;
                int position = 0;
                uint vocabulary = (uint)corpus._vocabularySize;
                while (position < ints)
                {
                    int n = _buffer[position];
                    if (n < 2 || n > corpus._maxLength || n > ints - position - 1)
                        throw corpus.Damaged($"shard {item} has a sequence length of {n} at byte {offset + 4L * position}");
                    foreach (int token in _buffer.AsSpan(position + 1, n))
                    {
                        if ((uint)token >= vocabulary)
                            throw corpus.Damaged($"shard {item} has the vocabulary index {token} (the vocabulary has {vocabulary:N0} items)");
                    }
                    tokens += n;
                    position += n + 1;
                }
                if (tokens != corpus._tokenOffsets[item + 1] - corpus._tokenOffsets[item])
                    throw corpus.Damaged($"shard {item} holds {tokens} tokens, not the {corpus._tokenOffsets[item + 1] - corpus._tokenOffsets[item]} its table entry says");
                _position = 0;
                _end = ints;
            }

            public override bool Next(out ReadOnlySpan<int> sequence)
            {
                if (_position >= _end)
                {
                    sequence = default;
                    return false;
                }
                int n = _buffer[_position];
                sequence = _buffer.AsSpan(_position + 1, n);
                _position += n + 1;
                return true;
            }
        }
    }
}
