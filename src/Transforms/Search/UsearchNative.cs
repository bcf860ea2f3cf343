using System;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Embeddings.Search
{
    /// <summary>
    /// Direct P/Invoke declarations of the part of USearch's C API (usearch.h, libusearch_c) that
    /// <see cref="UsearchIndex"/> uses. The native library comes from the Cloud.Unum.USearch package's runtime assets
    /// (linux-x64, osx-arm64, win-x64); its managed binding is not used. <see cref="EnsureSupported"/> loads the library
    /// once, checks every export below and the version (2.26.x, whose enumerations and option layout these
    /// declarations follow), and throws <see cref="NotSupportedException"/> with the reason otherwise.
    /// Every function takes a <c>usearch_error_t*</c> that the library sets on failure only, so callers pass a zeroed
    /// local by reference.
    /// </summary>
    internal static class UsearchNative
    {
        public const string Library = "libusearch_c";

        /// <summary>The USearch release whose C API these declarations follow (major.minor).</summary>
        public const string SupportedVersion = "2.26";

        /// <summary>The exports used here; all must be present.</summary>
        private static readonly string[] s_exports =
        {
            "usearch_version", "usearch_hardware_acceleration", "usearch_init", "usearch_free", "usearch_save",
            "usearch_load", "usearch_view", "usearch_metadata", "usearch_size", "usearch_dimensions",
            "usearch_connectivity", "usearch_reserve", "usearch_change_expansion_search", "usearch_change_threads_add",
            "usearch_change_threads_search", "usearch_add", "usearch_search", "usearch_filtered_search",
        };

        private static readonly Lazy<string?> s_unsupported = new(Probe);

        /// <summary><c>usearch_metric_kind_t</c> (the kinds used here).</summary>
        public enum MetricKind
        {
            Unknown = 0,
            Cos = 1,
            Ip = 2,
            L2sq = 3,
        }

        /// <summary><c>usearch_scalar_kind_t</c> (the kinds used here).</summary>
        public enum ScalarKind
        {
            Unknown = 0,
            Float32 = 1,
            Float16 = 3,
            Int8 = 4,
        }

        /// <summary><c>usearch_init_options_t</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct InitOptions
        {
            public MetricKind Metric;
            public IntPtr CustomMetric;
            public ScalarKind Quantization;
            public nuint Dimensions;
            public nuint Connectivity;
            public nuint ExpansionAdd;
            public nuint ExpansionSearch;
            public byte Multi;
        }

        /// <summary><c>usearch_filtered_search_callback_t</c>: nonzero admits the key.</summary>
        [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
        public delegate int FilterCallback(ulong key, IntPtr state);

        /// <summary>Throws <see cref="NotSupportedException"/> unless the native library loads, has every export used here and is version 2.26.</summary>
        public static void EnsureSupported()
        {
            string? reason = s_unsupported.Value;
            if (reason is not null)
                throw new NotSupportedException(reason);
        }

        /// <summary>The native library's version string, for example "2.26.6".</summary>
        public static string Version => Marshal.PtrToStringUTF8(usearch_version()) ?? "";

        /// <summary>Null when the library is usable, otherwise why not.</summary>
        private static string? Probe()
        {
            string platform = RuntimeInformation.RuntimeIdentifier;
            if (!NativeLibrary.TryLoad(Library, typeof(UsearchNative).Assembly, null, out IntPtr handle))
                return $"HNSW search needs USearch's native library '{Library}' (version {SupportedVersion}, from the Cloud.Unum.USearch package, which ships it for linux-x64, osx-arm64 and win-x64); it could not be loaded on {platform}.";
            foreach (string name in s_exports)
            {
                if (!NativeLibrary.TryGetExport(handle, name, out _))
                    return $"USearch's native library '{Library}' on {platform} lacks the function '{name}'; Embeddings.Transforms needs USearch {SupportedVersion}.";
            }
            string version;
            try
            {
                version = Version;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                return $"USearch's native library '{Library}' could not be called on {platform}: {e.Message}";
            }
            if (!version.StartsWith(SupportedVersion + ".", StringComparison.Ordinal))
            {
                string binding = typeof(UsearchNative).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "";
                return $"USearch's native library '{Library}' is version '{version}'; Embeddings.Transforms {binding} supports {SupportedVersion}.x (Cloud.Unum.USearch 2.26.6) only, whose C API layout it declares.";
            }
            return null;
        }

#pragma warning disable IDE1006 // C names, as in usearch.h.
        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr usearch_version();

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern IntPtr usearch_hardware_acceleration(UsearchIndexHandle index, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern UsearchIndexHandle usearch_init(ref InitOptions options, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_free(IntPtr index, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_save(UsearchIndexHandle index, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_load(UsearchIndexHandle index, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_view(UsearchIndexHandle index, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_metadata([MarshalAs(UnmanagedType.LPUTF8Str)] string path, ref InitOptions options, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_size(UsearchIndexHandle index, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_dimensions(UsearchIndexHandle index, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_connectivity(UsearchIndexHandle index, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_reserve(UsearchIndexHandle index, nuint capacity, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_change_expansion_search(UsearchIndexHandle index, nuint expansion, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_change_threads_add(UsearchIndexHandle index, nuint threads, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_change_threads_search(UsearchIndexHandle index, nuint threads, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern void usearch_add(UsearchIndexHandle index, ulong key, in float vector, ScalarKind vectorKind, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_search(UsearchIndexHandle index, in float query, ScalarKind queryKind, nuint count, ref ulong keys, ref float distances, ref IntPtr error);

        [DllImport(Library, ExactSpelling = true, CallingConvention = CallingConvention.Cdecl)]
        public static extern nuint usearch_filtered_search(UsearchIndexHandle index, in float query, ScalarKind queryKind, nuint count, IntPtr filter, IntPtr filterState, ref ulong keys, ref float distances, ref IntPtr error);
#pragma warning restore IDE1006
    }

    /// <summary>Owns a <c>usearch_index_t</c>; releasing it calls <c>usearch_free</c>.</summary>
    internal sealed class UsearchIndexHandle : SafeHandle
    {
        public UsearchIndexHandle()
            : base(IntPtr.Zero, ownsHandle: true)
        {
        }

        public override bool IsInvalid => handle == IntPtr.Zero;

        protected override bool ReleaseHandle()
        {
            IntPtr error = IntPtr.Zero;
            UsearchNative.usearch_free(handle, ref error);
            return error == IntPtr.Zero;
        }
    }
}
