using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Runtime.ExceptionServices;
using System.Runtime.Loader;
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>What the registry knows of one registered transformer: its loader id, state version and old names.</summary>
    internal sealed class TransformerLoader
    {
        private readonly Func<BinaryReader, int, ITransformer> _load;

        public TransformerLoader(Type transformerType, string id, int stateVersion, IReadOnlyList<string> legacyTypeNames, Func<BinaryReader, int, ITransformer> load)
        {
            TransformerType = transformerType;
            Id = id;
            StateVersion = stateVersion;
            LegacyTypeNames = legacyTypeNames;
            _load = load;
        }

        public Type TransformerType { get; }

        public string Id { get; }

        public int StateVersion { get; }

        public IReadOnlyList<string> LegacyTypeNames { get; }

        /// <summary>The assembly that defines the transformer and its version, as error messages and saved models name it.</summary>
        public string Package => TransformerLoaderRegistry.Describe(TransformerType.Assembly);

        public ITransformer Load(BinaryReader reader, int stateVersion) => _load(reader, stateVersion);
    }

    /// <summary>
    /// The transformers that can be loaded, collected from the <see cref="EmbeddingsTransformerLoaderAttribute"/>s of
    /// loaded assemblies. Built afresh for each lookup (no process-wide cache): a lookup that misses loads the
    /// library's assemblies beside this one and looks again.
    /// </summary>
    internal sealed class TransformerLoaderRegistry
    {
        internal const string BridgeAssemblyName = "Embeddings.MLNetBridge";
        private const string LibraryAssemblyPattern = "Embeddings.*.dll";
        private const int MaxIdLength = 128;

        private readonly Dictionary<string, TransformerLoader> _byId = new(StringComparer.Ordinal);
        private readonly Dictionary<string, TransformerLoader> _byLegacyName = new(StringComparer.Ordinal);
        private readonly Dictionary<Type, TransformerLoader> _byType = new();
        private readonly List<string> _problems = new();

        private TransformerLoaderRegistry()
        {
        }

        /// <summary>The registered loaders, by id.</summary>
        public IReadOnlyCollection<TransformerLoader> Loaders => _byId.Values;

        /// <summary>Registrations that could not be read (an assembly whose registered type fails to load), for error messages.</summary>
        public IReadOnlyList<string> Problems => _problems;

        /// <summary>The registry of the transformers registered by the loaded assemblies.</summary>
        /// <exception cref="InvalidOperationException">Two transformers claim one loader id or legacy name, or a registration is invalid.</exception>
        public static TransformerLoaderRegistry FromLoadedAssemblies()
        {
            var registry = new TransformerLoaderRegistry();
            var types = new List<Type>();
            foreach (Assembly assembly in AppDomain.CurrentDomain.GetAssemblies())
            {
                if (assembly.IsDynamic || !ReferencesBridge(assembly))
                    continue;
                try
                {
                    types.AddRange(assembly.GetCustomAttributes<EmbeddingsTransformerLoaderAttribute>().Select(a => a.TransformerType));
                }
                catch (Exception e) when (e is TypeLoadException or FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    registry._problems.Add($"the registrations of {assembly.GetName().Name} could not be read ({e.Message})");
                }
            }
            registry.AddAll(types);
            return registry;
        }

        /// <summary>A registry of exactly <paramref name="transformerTypes"/> (each must implement <see cref="ILoadableTransformer{TSelf}"/>).</summary>
        /// <exception cref="InvalidOperationException">Two types claim one loader id or legacy name, or a registration is invalid.</exception>
        public static TransformerLoaderRegistry FromTypes(IEnumerable<Type> transformerTypes)
        {
            var registry = new TransformerLoaderRegistry();
            registry.AddAll(transformerTypes);
            return registry;
        }

        /// <summary>The loader registered for <paramref name="id"/>, loading the library's assemblies first if no loaded one has it; null when none does.</summary>
        public static TransformerLoader? FindById(string id, out TransformerLoaderRegistry registry) =>
            Find(r => r._byId.GetValueOrDefault(id), out registry);

        /// <summary>The loader whose legacy names include <paramref name="typeName"/>, as <see cref="FindById"/> searches.</summary>
        public static TransformerLoader? FindByLegacyName(string typeName, out TransformerLoaderRegistry registry) =>
            Find(r => r._byLegacyName.GetValueOrDefault(typeName), out registry);

        /// <summary>The loader registered for <paramref name="transformerType"/>, as <see cref="FindById"/> searches.</summary>
        public static TransformerLoader? FindByType(Type transformerType, out TransformerLoaderRegistry registry) =>
            Find(r => r._byType.GetValueOrDefault(transformerType), out registry);

        private static TransformerLoader? Find(Func<TransformerLoaderRegistry, TransformerLoader?> lookup, out TransformerLoaderRegistry registry)
        {
            registry = FromLoadedAssemblies();
            var found = lookup(registry);
            if (found is not null || !LoadLibraryAssemblies())
                return found;
            registry = FromLoadedAssemblies();
            return lookup(registry);
        }

        /// <summary>"Name Version" of an assembly: its informational version without build metadata, else its assembly version.</summary>
        internal static string Describe(Assembly assembly)
        {
            var name = assembly.GetName();
            string? version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0];
            return string.IsNullOrEmpty(version) && name.Version is null ? name.Name ?? "" : $"{name.Name} {(string.IsNullOrEmpty(version) ? name.Version : version)}";
        }

        private static bool ReferencesBridge(Assembly assembly)
        {
            try
            {
                return assembly.GetReferencedAssemblies().Any(r => r.Name == BridgeAssemblyName);
            }
            catch (NotSupportedException)
            {
                return false;
            }
        }

        /// <summary>
        /// Loads the <c>Embeddings.*.dll</c> files of this assembly's folder that reference it and are not loaded yet,
        /// into this assembly's load context. True when one was loaded.
        /// </summary>
        private static bool LoadLibraryAssemblies()
        {
            Assembly bridge = typeof(TransformerLoaderRegistry).Assembly;
            string? folder = string.IsNullOrEmpty(bridge.Location) ? null : Path.GetDirectoryName(bridge.Location);
            if (folder is null || !Directory.Exists(folder))
                return false;
            var context = AssemblyLoadContext.GetLoadContext(bridge) ?? AssemblyLoadContext.Default;
            var loaded = new HashSet<string>(context.Assemblies.Select(a => a.GetName().Name ?? ""), StringComparer.OrdinalIgnoreCase);
            bool any = false;
            foreach (string file in Directory.EnumerateFiles(folder, LibraryAssemblyPattern).Order(StringComparer.Ordinal))
            {
                string name = Path.GetFileNameWithoutExtension(file);
                if (loaded.Contains(name) || !FileReferencesBridge(file))
                    continue;
                try
                {
                    try
                    {
                        context.LoadFromAssemblyName(new AssemblyName(name));
                    }
                    catch (FileNotFoundException)
                    {
                        // Not among the application's dependencies (its deps.json does not list it): load it from the folder.
                        context.LoadFromAssemblyPath(file);
                    }
                    any = true;
                }
                catch (Exception e) when (e is FileLoadException or BadImageFormatException or FileNotFoundException)
                {
                    // Not loadable here; its transformers stay unknown and the caller's message says which id is missing.
                }
            }
            return any;
        }

        private static bool FileReferencesBridge(string path)
        {
            try
            {
                using var stream = File.OpenRead(path);
                using var pe = new PEReader(stream);
                if (!pe.HasMetadata)
                    return false;
                var metadata = pe.GetMetadataReader();
                if (!metadata.IsAssembly)
                    return false;
                foreach (var handle in metadata.AssemblyReferences)
                {
                    if (metadata.StringComparer.Equals(metadata.GetAssemblyReference(handle).Name, BridgeAssemblyName))
                        return true;
                }
                return false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or BadImageFormatException or InvalidOperationException)
            {
                return false;
            }
        }

        private void AddAll(IEnumerable<Type> transformerTypes)
        {
            foreach (Type type in transformerTypes.Distinct())
            {
                var loader = Describe(type);
                Add(_byId, loader.Id, loader, "loader id");
                foreach (string legacy in loader.LegacyTypeNames)
                    Add(_byLegacyName, legacy, loader, "legacy type name");
                _byType.Add(type, loader);
            }
        }

        private static void Add(Dictionary<string, TransformerLoader> index, string key, TransformerLoader loader, string what)
        {
            if (index.TryGetValue(key, out var other))
            {
                throw new InvalidOperationException(
                    $"Two embeddings transformers claim the {what} '{key}': {other.TransformerType.FullName} ({other.TransformerType.Assembly.Location}) " +
                    $"and {loader.TransformerType.FullName} ({loader.TransformerType.Assembly.Location}). A saved model could not tell them apart: " +
                    "give one of them another loader id, or keep only one copy of the assembly in the process.");
            }
            index.Add(key, loader);
        }

        private static TransformerLoader Describe(Type type)
        {
            string registration = $"[assembly: EmbeddingsTransformerLoader(typeof({type.FullName}))]";
            bool implements = type.IsClass && !type.IsAbstract && !type.ContainsGenericParameters && type.GetInterfaces().Any(i =>
                i.IsGenericType && i.GetGenericTypeDefinition() == typeof(ILoadableTransformer<>) && i.GetGenericArguments()[0] == type);
            if (!implements)
                throw new InvalidOperationException($"{registration} in {type.Assembly.GetName().Name}: the type must be a non-abstract class implementing ILoadableTransformer<{type.Name}>.");
            TransformerLoader loader;
            try
            {
                loader = (TransformerLoader)typeof(TransformerLoaderRegistry).GetMethod(nameof(DescribeTyped), BindingFlags.NonPublic | BindingFlags.Static)!
                    .MakeGenericMethod(type).Invoke(null, null)!;
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
            if (!IsValidId(loader.Id))
                throw new InvalidOperationException($"{registration}: LoaderId '{loader.Id}' is invalid; use 1 to {MaxIdLength} letters, digits, '.', '_' or '-', such as 'Embeddings.SkipGram'.");
            if (loader.StateVersion < 1)
                throw new InvalidOperationException($"{registration}: StateVersion = {loader.StateVersion} is invalid; the first state layout is version 1.");
            if (loader.LegacyTypeNames.Any(string.IsNullOrWhiteSpace))
                throw new InvalidOperationException($"{registration}: LegacyTypeNames contains an empty name.");
            return loader;
        }

        private static TransformerLoader DescribeTyped<T>()
            where T : class, ITransformer, ILoadableTransformer<T> =>
            new(typeof(T), T.LoaderId, T.StateVersion, T.LegacyTypeNames.ToArray(), static (reader, version) => T.Load(reader, version));

        private static bool IsValidId(string? id) =>
            !string.IsNullOrEmpty(id) && id.Length <= MaxIdLength && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-');
    }
}
