// Uses ML.NET internals: ModelSaveContext's members, ModelLoadContext, VersionInfo and LoadableClassAttribute are
// internal to Microsoft.ML.Core (dotnet/machinelearning#4911). Microsoft.ML is pinned to 5.0.x in
// Directory.Packages.props; the save/load round-trip tests catch any break. Keep the loader signature and this
// assembly's name stable: saved models record both.
using System;
using System.IO;
using System.Reflection;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Runtime;

[assembly: LoadableClass(typeof(ITransformer), typeof(ModelPersistence), null, typeof(SignatureLoadModel),
    "Embeddings transformer", ModelPersistence.LoaderSignature)]

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Implemented by every saveable transformer of the library: reads back the state the transformer wrote when it
    /// was saved, when ML.NET loads a model that contains it.
    /// </summary>
    /// <typeparam name="TSelf">The implementing transformer.</typeparam>
    public interface ILoadableTransformer<TSelf>
        where TSelf : ITransformer, ILoadableTransformer<TSelf>
    {
        /// <summary>Reads a transformer from the state it wrote when saved.</summary>
        static abstract TSelf Load(BinaryReader reader);
    }

    /// <summary>
    /// Saves every transformer of the library under one ML.NET loader signature: the model stream holds the
    /// transformer's type name, then its own state. On load, the type is found and its
    /// <see cref="ILoadableTransformer{TSelf}.Load"/> reads the state.
    /// </summary>
    internal sealed class ModelPersistence
    {
        internal const string LoaderSignature = "EmbeddingsTransformer";
        private const string ModelSignature = "EMBTRANS";

        private ModelPersistence()
        {
        }

        private static VersionInfo GetVersionInfo() => new(
            modelSignature: ModelSignature,
            verWrittenCur: 0x00010001,
            verReadableCur: 0x00010001,
            verWeCanReadBack: 0x00010001,
            loaderSignature: LoaderSignature,
            loaderAssemblyName: typeof(ModelPersistence).Assembly.FullName);

        /// <summary>Writes <paramref name="transformer"/> into an ML.NET model being saved.</summary>
        internal static void Save(ModelSaveContext ctx, ITransformer transformer, Action<BinaryWriter> saveState)
        {
            ArgumentNullException.ThrowIfNull(ctx);
            Type type = transformer.GetType();
            if (!ImplementsLoadable(type))
                throw new NotSupportedException($"{type.Name} cannot be saved: it does not implement ILoadableTransformer<{type.Name}>.");
            ctx.CheckAtModel();
            ctx.SetVersionInfo(GetVersionInfo());
            ctx.Writer.Write($"{type.FullName}, {type.Assembly.GetName().Name}");
            saveState(ctx.Writer);
        }

        // Found by ML.NET's component catalog through the LoadableClass attribute above.
        private static ITransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        {
            ArgumentNullException.ThrowIfNull(ctx);
            ctx.CheckAtModel(GetVersionInfo());
            string typeName = ctx.Reader.ReadString();
            Type? type = Type.GetType(typeName, throwOnError: false);
            if (type is null)
                throw new InvalidOperationException($"The model contains an embeddings transformer of type '{typeName}', which is not available. Reference the package that defines it (Embeddings.Estimators for trained transformers).");
            if (!ImplementsLoadable(type))
                throw new InvalidOperationException($"The model names type '{typeName}', which is not a loadable embeddings transformer.");
            var load = typeof(ModelPersistence).GetMethod(nameof(LoadTyped), BindingFlags.NonPublic | BindingFlags.Static)!.MakeGenericMethod(type);
            try
            {
                return (ITransformer)load.Invoke(null, new object[] { ctx.Reader })!;
            }
            catch (TargetInvocationException e) when (e.InnerException is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                throw;
            }
        }

        private static T LoadTyped<T>(BinaryReader reader)
            where T : ITransformer, ILoadableTransformer<T> => T.Load(reader);

        private static bool ImplementsLoadable(Type type)
        {
            foreach (Type contract in type.GetInterfaces())
            {
                if (contract.IsGenericType && contract.GetGenericTypeDefinition() == typeof(ILoadableTransformer<>) && contract.GetGenericArguments()[0] == type)
                    return true;
            }
            return false;
        }
    }
}
