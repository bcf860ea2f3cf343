using System;
using System.IO;
using System.IO.MemoryMappedFiles;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Embeddings
{
    /// <summary>
    /// A read-only memory mapping of a whole file, from which <see cref="RowStore"/> serves rows of a memory-mapped
    /// <see cref="EmbeddingTable"/> without copying them into the managed heap. The pages are read by the operating system
    /// when first touched and may be dropped again under memory pressure (they are file-backed, never anonymous memory).
    /// </summary>
    /// <remarks>
    /// The mapping lives as long as this object: it is released by the view's safe handle when the table that owns it is
    /// garbage collected (there is no explicit release, so that no span handed out can outlive its pages while the table
    /// is still reachable). Offsets are <see cref="long"/>; a file may be larger than 2 GiB.
    /// </remarks>
    internal sealed class MappedRows
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly nint _address;

        private MappedRows(MemoryMappedFile file, MemoryMappedViewAccessor view, nint address, long length, string path)
        {
            _file = file;
            _view = view;
            _address = address;
            Length = length;
            Path = path;
        }

        /// <summary>Bytes mapped (the file's length when it was opened).</summary>
        public long Length { get; }

        /// <summary>The mapped file.</summary>
        public string Path { get; }

        /// <summary>Maps the whole of <paramref name="path"/> read-only; the file may be deleted or replaced afterwards (on Linux and macOS) without affecting the mapping.</summary>
        public static MappedRows Open(string path)
        {
            var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read | FileShare.Delete, 1, FileOptions.None);
            long length = stream.Length;
            if (length == 0)
            {
                stream.Dispose();
                throw new FormatException($"'{path}' is empty; it holds no embedding table.");
            }
            MemoryMappedFile? file = null;
            MemoryMappedViewAccessor? view = null;
            try
            {
                file = MemoryMappedFile.CreateFromFile(stream, mapName: null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: false);
                view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
                // The view's safe handle unmaps when it is finalized: when this object (and so its table) is unreachable.
                nint address = view.SafeMemoryMappedViewHandle.DangerousGetHandle() + (nint)view.PointerOffset;
                return new MappedRows(file, view, address, length, path);
            }
            catch
            {
                view?.Dispose();
                if (file is not null)
                    file.Dispose();
                else
                    stream.Dispose();
                throw;
            }
        }

        /// <summary><paramref name="count"/> floats starting <paramref name="byteOffset"/> bytes into the file (not necessarily aligned).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public Span<float> Floats(long byteOffset, int count)
        {
            // Spans over native memory without the unsafe keyword: a reference at the mapped address.
            ref byte start = ref Unsafe.AddByteOffset(ref Unsafe.NullRef<byte>(), _address + (nint)byteOffset);
            return MemoryMarshal.CreateSpan(ref Unsafe.As<byte, float>(ref start), count);
        }

        /// <summary>The file and view objects that own the mapping; referenced by this object so that they live as long as its rows.</summary>
        internal (MemoryMappedFile File, MemoryMappedViewAccessor View) Owners => (_file, _view);
    }
}
