using System;
using System.IO;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Raw little-endian arrays in a transformer's saved state: written without a length (the state records it), read
    /// back only after the length has been checked against what the stream holds, so a damaged or tampered length is a
    /// clear <see cref="FormatException"/> instead of an allocation of gigabytes.
    /// </summary>
    public static class BinaryState
    {
        // Without a stream length to check against, arrays are read in pieces of this many bytes: a tampered length then
        // fails at the end of the data having allocated little more than the data holds.
        private const int PieceBytes = 1 << 24;

        /// <summary>Bytes left in <paramref name="stream"/> after its position, or -1 when it cannot tell (it cannot seek).</summary>
        public static long RemainingBytes(Stream stream)
        {
            ArgumentNullException.ThrowIfNull(stream);
            if (!stream.CanSeek)
                return -1;
            try
            {
                return Math.Max(0, stream.Length - stream.Position);
            }
            catch (NotSupportedException)
            {
                return -1;
            }
        }

        /// <summary>Writes the raw bytes of <paramref name="values"/>, without a length.</summary>
        public static void Write<T>(BinaryWriter writer, ReadOnlySpan<T> values)
            where T : unmanaged
        {
            ArgumentNullException.ThrowIfNull(writer);
            writer.Write(MemoryMarshal.AsBytes(values));
        }

        /// <summary>Reads <paramref name="length"/> values written by <see cref="Write{T}"/>.</summary>
        /// <param name="reader">The state being read.</param>
        /// <param name="length">How many values the state says follow.</param>
        /// <param name="what">What the values are, for the message (e.g. "graph edges").</param>
        /// <exception cref="FormatException">The length is negative or larger than the rest of the stream, or the stream ends first.</exception>
        public static T[] ReadArray<T>(BinaryReader reader, long length, string what)
            where T : unmanaged
        {
            ArgumentNullException.ThrowIfNull(reader);
            if (length < 0 || length > Array.MaxLength)
                throw new FormatException($"The saved state declares {length} {what}; the model is damaged.");
            long bytes = length * Unsafe.SizeOf<T>();
            long left = RemainingBytes(reader.BaseStream);
            if (left >= 0)
            {
                if (bytes > left)
                    throw new FormatException($"The saved state declares {length:N0} {what} ({bytes:N0} bytes), but only {left:N0} bytes are left; the model is damaged or truncated.");
                var array = new T[length];
                ReadInto<T>(reader, array, what);
                return array;
            }
            // Grow as the data arrives.
            int perPiece = Math.Max(1, PieceBytes / Unsafe.SizeOf<T>());
            var result = new T[Math.Min(length, perPiece)];
            long done = 0;
            while (done < length)
            {
                if (done == result.Length)
                    Array.Resize(ref result, (int)Math.Min(length, (long)result.Length * 2));
                int piece = (int)Math.Min(result.Length - done, perPiece);
                ReadInto(reader, result.AsSpan((int)done, piece), what);
                done += piece;
            }
            return result;
        }

        /// <summary>
        /// Reads <paramref name="count"/> strings written one by one with <see cref="BinaryWriter.Write(string)"/>; the count
        /// is checked against the bytes left first (each string takes at least one byte), or the array grows as the strings arrive.
        /// </summary>
        /// <exception cref="FormatException">The count is negative or larger than the rest of the stream, or the stream ends first.</exception>
        public static string[] ReadStrings(BinaryReader reader, int count, string what)
        {
            ArgumentNullException.ThrowIfNull(reader);
            long left = RemainingBytes(reader.BaseStream);
            if (count < 0 || (left >= 0 && count > left))
                throw new FormatException($"The saved state declares {count} {what}, more than the rest of the model holds; the model is damaged or truncated.");
            try
            {
                if (left >= 0)
                {
                    var strings = new string[count];
                    for (int i = 0; i < count; i++)
                        strings[i] = reader.ReadString();
                    return strings;
                }
                var grown = new System.Collections.Generic.List<string>(Math.Min(count, 1 << 16));
                for (int i = 0; i < count; i++)
                    grown.Add(reader.ReadString());
                return grown.ToArray();
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"The saved state ends inside the {what}; the model is truncated.", e);
            }
        }

        /// <summary>Fills <paramref name="destination"/> with values written by <see cref="Write{T}"/>.</summary>
        /// <exception cref="FormatException">The stream ends first.</exception>
        public static void ReadInto<T>(BinaryReader reader, Span<T> destination, string what)
            where T : unmanaged
        {
            ArgumentNullException.ThrowIfNull(reader);
            var bytes = MemoryMarshal.AsBytes(destination);
            while (!bytes.IsEmpty)
            {
                int read = reader.Read(bytes);
                if (read == 0)
                    throw new FormatException($"The saved state ends inside the {what}; the model is truncated.");
                bytes = bytes[read..];
            }
        }
    }
}
