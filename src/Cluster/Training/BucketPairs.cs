using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Embeddings.Cluster.Training
{
    /// <summary>
    /// The pairs of one bucket, read in chunks: (input local row, output local row) interleaved, in the order the
    /// job's pair file holds them. Read from a pair file in the shared storage (the worker streams it, so a bucket never
    /// has to fit in memory) or from memory (<see cref="FromMemory"/>).
    /// </summary>
    public sealed class BucketPairs : IDisposable
    {
        private readonly Stream? _stream;
        private readonly ReadOnlyMemory<int> _memory;
        private readonly string _name;
        private long _read;

        private BucketPairs(Stream? stream, ReadOnlyMemory<int> memory, long count, string name)
        {
            _stream = stream;
            _memory = memory;
            Count = count;
            _name = name;
        }

        /// <summary>The bucket's number of pairs.</summary>
        public long Count { get; }

        /// <summary>Pairs held in memory, interleaved (input row, output row); the memory is read, never copied.</summary>
        /// <exception cref="ArgumentException">An odd number of values.</exception>
        public static BucketPairs FromMemory(ReadOnlyMemory<int> interleaved)
        {
            if (interleaved.Length % 2 != 0)
                throw new ArgumentException($"Pairs come as (input row, output row), so their number of values is even; got {interleaved.Length}.", nameof(interleaved));
            return new BucketPairs(null, interleaved, interleaved.Length / 2, "pairs in memory");
        }

        /// <summary>The pairs of a stream positioned at the first pair (the header read already).</summary>
        internal static BucketPairs FromStream(Stream stream, long count, string name) => new(stream, default, count, name);

        /// <summary>
        /// Reads the next pairs into <paramref name="destination"/> (interleaved, so it takes destination.Length / 2
        /// pairs at most) and returns how many pairs it read: 0 once every pair was read.
        /// </summary>
        /// <exception cref="InvalidDataException">The pair file ended early (it is damaged).</exception>
        public int Read(Span<int> destination)
        {
            int n = (int)Math.Min(destination.Length / 2, Count - _read);
            if (n <= 0)
                return 0;
            var target = destination.Slice(0, 2 * n);
            if (_stream is null)
            {
                _memory.Span.Slice((int)(2 * _read), 2 * n).CopyTo(target);
            }
            else
            {
                try
                {
                    _stream.ReadExactly(MemoryMarshal.AsBytes(target));
                }
                catch (EndOfStreamException e)
                {
                    throw new InvalidDataException($"The pair file '{_name}' ends before its {Count:N0} pairs: it is damaged; submit the job again into an empty folder.", e);
                }
            }
            _read += n;
            return n;
        }

        /// <summary>Closes the underlying file, if any.</summary>
        public void Dispose() => _stream?.Dispose();
    }
}
