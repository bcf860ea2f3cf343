using System;
using System.Reflection;
using System.Runtime.InteropServices;
using Cloud.Unum.USearch;

namespace Embeddings.Search
{
    /// <summary>
    /// Two calls of USearch's C API that its .NET binding (Cloud.Unum.USearch 2.26.6, pinned) does not expose: changing
    /// the search breadth of an index (needed after loading one) and reserving capacity (needed before inserting from
    /// several threads). The binding keeps the native handle in a private field; the round-trip tests fail loudly if a
    /// new binding version moves it.
    /// </summary>
    internal static class UsearchNative
    {
        private const string Library = "libusearch_c";
        private static readonly FieldInfo s_handle = typeof(USearchIndex).GetField("_index", BindingFlags.NonPublic | BindingFlags.Instance)
            ?? throw new NotSupportedException("This version of Cloud.Unum.USearch keeps its native handle elsewhere; Embeddings.Transforms supports 2.26.6.");

        [DllImport(Library, EntryPoint = "usearch_change_expansion_search")]
        private static extern void ChangeExpansionSearch(IntPtr index, UIntPtr expansion, out IntPtr error);

        [DllImport(Library, EntryPoint = "usearch_reserve")]
        private static extern void Reserve(IntPtr index, UIntPtr capacity, out IntPtr error);

        public static void SetExpansionSearch(USearchIndex index, int expansion)
        {
            ChangeExpansionSearch(Handle(index), (UIntPtr)(uint)expansion, out IntPtr error);
            Check(error, "change the search breadth (ef)");
        }

        public static void ReserveCapacity(USearchIndex index, long capacity)
        {
            Reserve(Handle(index), (UIntPtr)(ulong)capacity, out IntPtr error);
            Check(error, "reserve capacity");
        }

        private static IntPtr Handle(USearchIndex index) => (IntPtr)s_handle.GetValue(index)!;

        private static void Check(IntPtr error, string action)
        {
            if (error != IntPtr.Zero)
                throw new InvalidOperationException($"USearch could not {action}: {Marshal.PtrToStringAnsi(error)}");
        }
    }
}
