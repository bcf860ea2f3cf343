using System.Collections.Generic;
using System.IO;
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// Implemented by every transformer that can be saved in an ML.NET model (<c>mlContext.Model.Save</c>) and loaded
    /// back (<c>mlContext.Model.Load</c>). A saved model names the transformer by its <see cref="LoaderId"/>, never by
    /// its CLR type, so the class can be renamed or moved to another namespace or assembly without breaking models.
    /// </summary>
    /// <remarks>
    /// <para>To make a transformer saveable:</para>
    /// <list type="number">
    /// <item>implement this interface: a stable <see cref="LoaderId"/>, the <see cref="StateVersion"/> the transformer
    /// writes, and <see cref="Load"/>, which reads every state version from 1 to <see cref="StateVersion"/>;</item>
    /// <item>register it next to the class, in the same file, with
    /// <c>[assembly: EmbeddingsTransformerLoader(typeof(MyTransformer))]</c>, so that a move of the file moves the
    /// registration too;</item>
    /// <item>implement <c>ICanSaveModel.Save</c> by calling <see cref="TransformerPersistence.Save"/> with a delegate
    /// that writes the state (classes deriving from <c>RowMappingTransformer</c> get this from the base).</item>
    /// </list>
    /// <para>The compatibility rules (docs/persistence.md): never change a published <see cref="LoaderId"/>; change the
    /// state layout only by increasing <see cref="StateVersion"/> and keeping <see cref="Load"/> able to read every
    /// earlier version; when the class is renamed or moved, keep <see cref="LegacyTypeNames"/> as it is.</para>
    /// </remarks>
    /// <typeparam name="TSelf">The implementing transformer.</typeparam>
    public interface ILoadableTransformer<TSelf>
        where TSelf : class, ITransformer, ILoadableTransformer<TSelf>
    {
        /// <summary>
        /// The name saved models record for this transformer, for example <c>Embeddings.SkipGram</c>: letters, digits,
        /// '.', '_' or '-', at most 128 characters, unique among all loaded transformers. It must never change once a
        /// model has been saved with it, and must not be derived from the CLR type name.
        /// </summary>
        static abstract string LoaderId { get; }

        /// <summary>
        /// The version of the state layout that <c>Save</c> writes now; 1 or more. Increase it whenever the layout
        /// changes; <see cref="Load"/> keeps reading every earlier version. A model whose state version is newer than
        /// this is refused with a message asking for a newer version of the package.
        /// </summary>
        static abstract int StateVersion { get; }

        /// <summary>
        /// The exact strings (<c>"Namespace.TypeName, AssemblyName"</c>) that models of the first save format
        /// (loader version 0x00010001, before loader ids) recorded for this transformer. They are data, not type
        /// references: keep them unchanged when the class is renamed or moved, and never add to them (models saved
        /// since loader ids exist record no CLR name). Empty for transformers created after that format.
        /// </summary>
        static virtual IReadOnlyList<string> LegacyTypeNames => System.Array.Empty<string>();

        /// <summary>
        /// Reads the transformer from the state it wrote when saved, in layout <paramref name="stateVersion"/>
        /// (between 1 and <see cref="StateVersion"/>; the caller has checked the range). Throw
        /// <see cref="System.FormatException"/> naming the transformer for values that cannot be valid.
        /// </summary>
        /// <param name="reader">Positioned at the start of the state.</param>
        /// <param name="stateVersion">The layout the state was written in.</param>
        static abstract TSelf Load(BinaryReader reader, int stateVersion);
    }
}
