using System;
using System.IO;
using System.Runtime.InteropServices;
using Embeddings.Infrastructure;

namespace Embeddings.Cli
{
    /// <summary>
    /// What a path names on disk, to tell two spellings of one file apart from two files: symbolic links are followed
    /// (the final target of the path, and linked folders on the way), and hard links are one file (same device and inode).
    /// A file that does not exist yet is its folder's identity plus its name.
    /// </summary>
    internal readonly record struct FileIdentity(ulong Device, ulong Inode, string? Name, string FullPath)
    {
        /// <summary>The identity of the file <paramref name="path"/> names (or will name, when it is written).</summary>
        public static FileIdentity Of(string path)
        {
            // A write replaces the final target of a link (AtomicFile does the same resolution).
            string target = AtomicFile.Destination(path);
            if (Stat(target) is (ulong device, ulong inode))
                return new FileIdentity(device, inode, null, target);
            string folder = Path.GetDirectoryName(target) ?? ".";
            if (Stat(folder) is (ulong folderDevice, ulong folderInode))
                return new FileIdentity(folderDevice, folderInode, Path.GetFileName(target), target);
            return new FileIdentity(0, 0, null, target);
        }

        /// <summary>Whether both name the same file.</summary>
        public bool SameFileAs(FileIdentity other)
        {
            if (Inode != 0 && other.Inode != 0)
                return Device == other.Device && Inode == other.Inode && string.Equals(Name, other.Name, StringComparison.Ordinal);
            // No inode numbers (Windows, or stat unavailable): the full paths, links resolved.
            return string.Equals(FullPath, other.FullPath, OperatingSystem.IsLinux() ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase);
        }

        /// <summary>The device and inode of <paramref name="path"/> (links followed); null if it does not exist or stat is unavailable.</summary>
        private static (ulong Device, ulong Inode)? Stat(string path)
        {
            // struct stat starts with st_dev and st_ino: both 8 bytes on 64-bit Linux (x64, arm64); on macOS st_dev is
            // 4 bytes and st_ino (8 bytes) is at offset 8.
            bool linux = OperatingSystem.IsLinux(), mac = OperatingSystem.IsMacOS();
            if (!Environment.Is64BitProcess || !(linux || mac))
                return null;
            var buffer = new byte[512];
            try
            {
                if (NativeMethods.StatFile(path, buffer) != 0)
                    return null;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
            ulong device = linux ? BitConverter.ToUInt64(buffer, 0) : BitConverter.ToUInt32(buffer, 0);
            ulong inode = BitConverter.ToUInt64(buffer, 8);
            return inode == 0 ? null : (device, inode);
        }

        private static class NativeMethods
        {
#pragma warning disable SYSLIB1054 // LibraryImport needs unsafe code, which this project does not allow.
            [DllImport("libc", EntryPoint = "stat", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
            public static extern int StatFile(string path, [In, Out] byte[] buffer);
#pragma warning restore SYSLIB1054
        }
    }
}
