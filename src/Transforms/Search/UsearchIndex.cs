using System;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using System.Threading;

namespace Embeddings.Search
{
    /// <summary>
    /// A USearch dense index (float32 vectors in and out, keys = table rows) over <see cref="UsearchNative"/>: no
    /// managed binding, no reflection, no allocation per insert or unfiltered search (vectors and result buffers are
    /// passed as spans by reference). Native errors become <see cref="InvalidOperationException"/>s naming the action.
    /// <para>
    /// Threads: USearch keeps a fixed pool of per-thread contexts, one per concurrent caller. The index is given
    /// <see cref="Environment.ProcessorCount"/> contexts for adding and for searching, and a semaphore of that size
    /// admits callers, so that any number of threads may add (once the capacity is reserved) and search at once
    /// without ever asking USearch for more contexts than it has. Disposing must not race them.
    /// </para>
    /// </summary>
    internal sealed class UsearchIndex : IDisposable
    {
        private static readonly UsearchNative.FilterCallback s_filter = Filter;
        private static readonly IntPtr s_filterPointer = Marshal.GetFunctionPointerForDelegate(s_filter);

        private readonly UsearchIndexHandle _handle;
        private readonly SemaphoreSlim _contexts;

        private UsearchIndex(UsearchIndexHandle handle, UsearchNative.ScalarKind storage)
        {
            _handle = handle;
            Storage = storage;
            _contexts = new SemaphoreSlim(Threads, Threads);
        }

        /// <summary>Concurrent callers the native index is prepared for.</summary>
        public static int Threads => Environment.ProcessorCount;

        /// <summary>Creates an empty index.</summary>
        public static UsearchIndex Create(UsearchNative.MetricKind metric, UsearchNative.ScalarKind storage, int dimension, int connectivity, int expansionAdd, int expansionSearch)
        {
            UsearchNative.EnsureSupported();
            var options = new UsearchNative.InitOptions
            {
                Metric = metric,
                Quantization = storage,
                Dimensions = (nuint)dimension,
                Connectivity = (nuint)connectivity,
                ExpansionAdd = (nuint)expansionAdd,
                ExpansionSearch = (nuint)expansionSearch,
            };
            return Init(ref options, "create an index");
        }

        /// <summary>Reads (or, with <paramref name="view"/>, memory-maps) an index file written by <see cref="Save"/>.</summary>
        public static UsearchIndex Open(string path, bool view)
        {
            UsearchNative.EnsureSupported();
            var options = default(UsearchNative.InitOptions);
            IntPtr error = IntPtr.Zero;
            UsearchNative.usearch_metadata(path, ref options, ref error);
            Check(error, $"read the header of '{path}'");
            var index = Init(ref options, $"open '{path}'");
            try
            {
                error = IntPtr.Zero;
                if (view)
                    UsearchNative.usearch_view(index._handle, path, ref error);
                else
                    UsearchNative.usearch_load(index._handle, path, ref error);
                Check(error, $"{(view ? "memory-map" : "load")} '{path}'");
                index.SetThreads();
            }
            catch
            {
                index.Dispose();
                throw;
            }
            return index;
        }

        /// <summary>How the index stores vectors (from the options it was created with, or the file's header).</summary>
        public UsearchNative.ScalarKind Storage { get; }

        public long Size => (long)Query(UsearchNative.usearch_size, "read the size");

        public int Dimension => (int)Query(UsearchNative.usearch_dimensions, "read the dimension");

        public int Connectivity => (int)Query(UsearchNative.usearch_connectivity, "read the connectivity");

        /// <summary>The SIMD target USearch's distance kernels use on this CPU, for example "skylake" or "serial".</summary>
        public string HardwareAcceleration
        {
            get
            {
                IntPtr error = IntPtr.Zero;
                IntPtr name = UsearchNative.usearch_hardware_acceleration(_handle, ref error);
                Check(error, "read the hardware acceleration");
                return Marshal.PtrToStringUTF8(name) ?? "";
            }
        }

        /// <summary>Reserves room for <paramref name="capacity"/> vectors, so that several threads can add at once.</summary>
        public void Reserve(long capacity)
        {
            IntPtr error = IntPtr.Zero;
            UsearchNative.usearch_reserve(_handle, (nuint)capacity, ref error);
            Check(error, $"reserve capacity for {capacity} vectors");
            SetThreads();
        }

        public void SetExpansionSearch(int expansion)
        {
            IntPtr error = IntPtr.Zero;
            UsearchNative.usearch_change_expansion_search(_handle, (nuint)expansion, ref error);
            Check(error, "change the search breadth (ef)");
        }

        /// <summary>Inserts <paramref name="vector"/> (of the index's dimension) under <paramref name="key"/>.</summary>
        public void Add(ulong key, ReadOnlySpan<float> vector)
        {
            IntPtr error = IntPtr.Zero;
            _contexts.Wait();
            try
            {
                UsearchNative.usearch_add(_handle, key, in MemoryMarshal.GetReference(vector), UsearchNative.ScalarKind.Float32, ref error);
            }
            finally
            {
                _contexts.Release();
            }
            Check(error, $"add key {key}");
        }

        /// <summary>The closest keys to <paramref name="query"/> (as many as <paramref name="keys"/> holds), closest first; returns how many were found.</summary>
        public int Search(ReadOnlySpan<float> query, Span<ulong> keys, Span<float> distances)
        {
            IntPtr error = IntPtr.Zero;
            nuint found;
            _contexts.Wait();
            try
            {
                found = UsearchNative.usearch_search(_handle, in MemoryMarshal.GetReference(query), UsearchNative.ScalarKind.Float32, (nuint)keys.Length,
                    ref MemoryMarshal.GetReference(keys), ref MemoryMarshal.GetReference(distances), ref error);
            }
            finally
            {
                _contexts.Release();
            }
            Check(error, "search");
            return (int)found;
        }

        /// <summary>
        /// As <see cref="Search"/>, keeping only keys that <paramref name="admits"/> accepts; the predicate runs on the
        /// calling thread, inside the graph traversal. An exception it throws stops the admission of further keys and is
        /// rethrown here (with its stack trace) once the native call returns; it never unwinds through native frames.
        /// </summary>
        public int FilteredSearch(ReadOnlySpan<float> query, Func<ulong, bool> admits, Span<ulong> keys, Span<float> distances)
        {
            var state = new FilterState(admits);
            var pin = GCHandle.Alloc(state);
            IntPtr error = IntPtr.Zero;
            nuint found;
            _contexts.Wait();
            try
            {
                found = UsearchNative.usearch_filtered_search(_handle, in MemoryMarshal.GetReference(query), UsearchNative.ScalarKind.Float32, (nuint)keys.Length,
                    s_filterPointer, GCHandle.ToIntPtr(pin), ref MemoryMarshal.GetReference(keys), ref MemoryMarshal.GetReference(distances), ref error);
            }
            finally
            {
                _contexts.Release();
                pin.Free();
            }
            state.Failure?.Throw();
            Check(error, "run a filtered search");
            return (int)found;
        }

        /// <summary>Writes the index to <paramref name="path"/>.</summary>
        public void Save(string path)
        {
            IntPtr error = IntPtr.Zero;
            UsearchNative.usearch_save(_handle, path, ref error);
            Check(error, $"save to '{path}'");
        }

        public void Dispose()
        {
            _handle.Dispose();
            _contexts.Dispose();
        }

        /// <summary>Gives the index <see cref="Threads"/> contexts for adding and for searching (reserving capacity resets them to the machine's thread count).</summary>
        private void SetThreads()
        {
            IntPtr error = IntPtr.Zero;
            UsearchNative.usearch_change_threads_add(_handle, (nuint)Threads, ref error);
            Check(error, "set the insertion threads");
            UsearchNative.usearch_change_threads_search(_handle, (nuint)Threads, ref error);
            Check(error, "set the search threads");
        }

        private static int Filter(ulong key, IntPtr state)
        {
            var filter = (FilterState)GCHandle.FromIntPtr(state).Target!;
            if (filter.Failure is not null)
                return 0;
            try
            {
                return filter.Admits(key) ? 1 : 0;
            }
            catch (Exception e)
            {
                filter.Failure = ExceptionDispatchInfo.Capture(e);
                return 0;
            }
        }

        private static UsearchIndex Init(ref UsearchNative.InitOptions options, string action)
        {
            IntPtr error = IntPtr.Zero;
            var handle = UsearchNative.usearch_init(ref options, ref error);
            if (error != IntPtr.Zero || handle.IsInvalid)
            {
                handle.Dispose();
                Check(error, action);
                throw new InvalidOperationException($"USearch could not {action}: usearch_init returned no index.");
            }
            return new UsearchIndex(handle, options.Quantization);
        }

        private delegate nuint SizeQuery(UsearchIndexHandle index, ref IntPtr error);

        private nuint Query(SizeQuery query, string action)
        {
            IntPtr error = IntPtr.Zero;
            nuint value = query(_handle, ref error);
            Check(error, action);
            return value;
        }

        private static void Check(IntPtr error, string action)
        {
            if (error != IntPtr.Zero)
                throw new InvalidOperationException($"USearch could not {action}: {Marshal.PtrToStringUTF8(error)}");
        }

        private sealed class FilterState
        {
            public FilterState(Func<ulong, bool> admits) => Admits = admits;

            public Func<ulong, bool> Admits { get; }

            public ExceptionDispatchInfo? Failure { get; set; }
        }
    }
}
