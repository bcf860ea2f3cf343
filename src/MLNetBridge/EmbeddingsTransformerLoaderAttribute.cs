using System;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Registers a saveable transformer (one that implements <see cref="ILoadableTransformer{TSelf}"/>) with the loader
    /// that ML.NET calls for every transformer of this library in a model:
    /// <c>[assembly: EmbeddingsTransformerLoader(typeof(MyTransformer))]</c>.
    /// </summary>
    /// <remarks>
    /// Write the attribute at the top of the file that defines the transformer, so that moving the file to another
    /// project moves the registration with it. When a model is loaded, the transformer is found by its
    /// <see cref="ILoadableTransformer{TSelf}.LoaderId"/> among the registrations of the loaded assemblies; when none
    /// matches, the <c>Embeddings.*.dll</c> assemblies in the folder of <c>Embeddings.MLNetBridge.dll</c> are loaded
    /// and searched too, so a process that only calls <c>mlContext.Model.Load</c> finds them.
    /// </remarks>
    [AttributeUsage(AttributeTargets.Assembly, AllowMultiple = true)]
    public sealed class EmbeddingsTransformerLoaderAttribute : Attribute
    {
        /// <summary>Registers <paramref name="transformerType"/>.</summary>
        /// <param name="transformerType">A class <c>T</c> implementing <c>ILoadableTransformer&lt;T&gt;</c>.</param>
        public EmbeddingsTransformerLoaderAttribute(Type transformerType)
        {
            TransformerType = transformerType;
        }

        /// <summary>The registered transformer.</summary>
        public Type TransformerType { get; }
    }
}
