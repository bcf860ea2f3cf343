using System;
using System.IO;
using System.Runtime.InteropServices;

namespace Embeddings.Recommendation
{
    /// <summary>Raw little-endian arrays in the saved feature state (the format of version 1; see <see cref="RecommendationFeatureState"/>).</summary>
    internal static class StateBinary
    {
        /// <summary>Writes the raw bytes of <paramref name="values"/>, without a length.</summary>
        public static void Write<T>(BinaryWriter writer, ReadOnlySpan<T> values)
            where T : unmanaged => writer.Write(MemoryMarshal.AsBytes(values));

        /// <summary>Reads <paramref name="length"/> values written by <see cref="Write{T}"/>.</summary>
        /// <exception cref="EndOfStreamException">The stream ends first.</exception>
        public static T[] ReadArray<T>(BinaryReader reader, int length)
            where T : unmanaged
        {
            var array = new T[length];
            ReadInto<T>(reader, array);
            return array;
        }

        /// <summary>Fills <paramref name="destination"/> with values written by <see cref="Write{T}"/>.</summary>
        /// <exception cref="EndOfStreamException">The stream ends first.</exception>
        public static void ReadInto<T>(BinaryReader reader, Span<T> destination)
            where T : unmanaged
        {
            var bytes = MemoryMarshal.AsBytes(destination);
            while (!bytes.IsEmpty)
            {
                int read = reader.Read(bytes);
                if (read == 0)
                    throw new EndOfStreamException("The saved model ends inside an array.");
                bytes = bytes[read..];
            }
        }
    }
}
