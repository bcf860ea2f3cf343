// Uses ML.NET internals: ModelSaveContext's members, ModelLoadContext, VersionInfo and LoadableClassAttribute are
// internal to Microsoft.ML.Core (dotnet/machinelearning#4911). Microsoft.ML is pinned to 5.0.x in
// Directory.Packages.props; the save/load round-trip tests and the saved-model fixtures catch any break. This is the
// only file of the library that uses them. Keep the loader signature and this assembly's name stable: saved models
// record both (docs/persistence.md).
using System;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(ITransformer), typeof(ModelPersistence), null, typeof(SignatureLoadModel),
    "Embeddings transformer", ModelPersistence.LoaderSignature)]

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Saves transformers of this library (and any transformer implementing <see cref="ILoadableTransformer{TSelf}"/>)
    /// into ML.NET models, under a stable loader id and state version; see docs/persistence.md.
    /// </summary>
    public static class TransformerPersistence
    {
        /// <summary>
        /// Writes <paramref name="transformer"/> into the ML.NET model being saved: its loader id, its state version, the
        /// package that saved it, then the state written by <paramref name="writeState"/>. Call it from
        /// <c>ICanSaveModel.Save</c>.
        /// </summary>
        /// <param name="context">The context ML.NET passes to <c>ICanSaveModel.Save</c>.</param>
        /// <param name="transformer">A transformer registered with <see cref="EmbeddingsTransformerLoaderAttribute"/>.</param>
        /// <param name="writeState">Writes the state in the layout of the transformer's current
        /// <see cref="ILoadableTransformer{TSelf}.StateVersion"/>.</param>
        /// <exception cref="InvalidOperationException">The transformer's type is not registered, or the registrations conflict.</exception>
        public static void Save(ModelSaveContext context, ITransformer transformer, Action<BinaryWriter> writeState)
        {
            ArgumentNullException.ThrowIfNull(context);
            ArgumentNullException.ThrowIfNull(transformer);
            ArgumentNullException.ThrowIfNull(writeState);
            ModelPersistence.Save(context, transformer, writeState);
        }
    }

    /// <summary>
    /// The one ML.NET loader (signature <c>EmbeddingsTransformer</c>) of every transformer of the library. Format
    /// 0x00010002 writes the loader id, the state version and the saving package, then the state; format 0x00010001
    /// (read only) wrote the CLR type name, then the state, which began with the state version.
    /// </summary>
    internal sealed class ModelPersistence
    {
        internal const string LoaderSignature = "EmbeddingsTransformer";
        private const string ModelSignature = "EMBTRANS";

        /// <summary>The first format: assembly-qualified type name, then the transformer's state (version first).</summary>
        internal const uint TypeNameFormat = 0x00010001;

        /// <summary>The current format: loader id, state version, saving package, state.</summary>
        internal const uint LoaderIdFormat = 0x00010002;

        private ModelPersistence()
        {
        }

        private static VersionInfo GetVersionInfo() => new(
            modelSignature: ModelSignature,
            verWrittenCur: LoaderIdFormat,
            verReadableCur: LoaderIdFormat,
            verWeCanReadBack: TypeNameFormat,
            loaderSignature: LoaderSignature,
            loaderAssemblyName: typeof(ModelPersistence).Assembly.FullName);

        internal static void Save(ModelSaveContext ctx, ITransformer transformer, Action<BinaryWriter> writeState)
        {
            Type type = transformer.GetType();
            var loader = TransformerLoaderRegistry.FindByType(type, out _)
                ?? throw new InvalidOperationException($"{type.FullName} cannot be saved: no loaded assembly registers it. Implement ILoadableTransformer<{type.Name}> and add [assembly: EmbeddingsTransformerLoader(typeof({type.Name}))] in the file that defines it.");
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            ctx.Writer.Write(loader.Id);
            ctx.Writer.Write(loader.StateVersion);
            ctx.Writer.Write(loader.Package);
            writeState(ctx.Writer);
        }

        // Found by ML.NET's component catalog through the LoadableClass attribute above. ML.NET reports an exception
        // thrown here as the InnerException of a TargetInvocationException.
        private static ITransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            ArgumentNullException.ThrowIfNull(ctx);
            ctx.CheckAtModel(GetVersionInfo());
            try
            {
                return Load(ctx.Reader, ctx.Header.ModelVerWritten);
            }
            catch (EndOfStreamException e)
            {
                // Every reader reads what the bytes before told it; running out of bytes means a damaged or cut model.
                throw new FormatException("The saved embeddings transformer ends early: the model file is damaged or truncated.", e);
            }
            catch (IOException e) when (e is not FileNotFoundException and not DirectoryNotFoundException)
            {
                // The model is read from memory: BinaryReader reports a damaged length prefix (for example of a string) this way.
                throw new FormatException($"The saved embeddings transformer is damaged: {e.Message}", e);
            }
        }

        private static ITransformer Load(BinaryReader reader, uint formatWritten)
        {
            TransformerLoader loader;
            int stateVersion;
            string package, version;
            if (formatWritten < LoaderIdFormat)
            {
                string typeName = reader.ReadString();
                int comma = typeName.IndexOf(',');
                (package, version) = (comma < 0 ? "that defines it" : typeName[(comma + 1)..].Trim(), "");
                loader = TransformerLoaderRegistry.FindByLegacyName(typeName, out var registry)
                    ?? throw Unknown($"under the type name '{typeName}' (the first save format, before loader ids)", package, version, registry);
                stateVersion = reader.ReadInt32();
            }
            else
            {
                string id = reader.ReadString();
                stateVersion = reader.ReadInt32();
                string savedBy = reader.ReadString();
                int space = savedBy.IndexOf(' ');
                (package, version) = space < 0 ? (savedBy, "") : (savedBy[..space], savedBy[(space + 1)..]);
                loader = TransformerLoaderRegistry.FindById(id, out var registry)
                    ?? throw Unknown($"'{id}' (state version {stateVersion}, saved by {savedBy})", package, version, registry);
            }
            if (stateVersion > loader.StateVersion)
            {
                string savedBy = version.Length == 0 ? package : $"{package} {version}";
                string update = version.Length == 0 ? "to the latest version" : $"to {version} or later";
                throw new InvalidOperationException(
                    $"The model contains the embeddings transformer '{loader.Id}' in state version {stateVersion}, saved by a newer version of the library ({savedBy}). " +
                    $"This {loader.Package} reads state versions 1 to {loader.StateVersion}: update the Embeddings packages {update}.");
            }
            if (stateVersion < 1)
                throw new FormatException($"The model contains the embeddings transformer '{loader.Id}' with state version {stateVersion}, which no version of the library writes: the model file is damaged.");
            try
            {
                return loader.Load(reader, stateVersion);
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"The saved state of the embeddings transformer '{loader.Id}' (state version {stateVersion}) ends early: the model file is damaged or truncated.", e);
            }
        }

        private static InvalidOperationException Unknown(string what, string package, string version, TransformerLoaderRegistry registry)
        {
            string known = registry.Loaders.Count == 0 ? "none" : string.Join(", ", registry.Loaders.Select(l => l.Id).Order(StringComparer.Ordinal));
            string problems = registry.Problems.Count == 0 ? "" : $" Also, {string.Join("; ", registry.Problems)}.";
            string which = version.Length == 0 ? package : $"{package} (version {version} or later)";
            return new InvalidOperationException(
                $"The model contains an embeddings transformer {what}, but no loaded assembly registers it (loader ids known here: {known}). " +
                $"Reference the package {which} in the program that loads the model.{problems}");
        }
    }
}
