using System;
using System.Collections.Generic;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// The feature vector as ML.NET sees it, derived from <see cref="RecommendationFeature"/> alone: its length (one slot per
    /// member), its type and its slot names.
    /// </summary>
    internal static class RecommendationFeatureSlots
    {
        /// <summary>The slot names, in vector order: the names of the <see cref="RecommendationFeature"/> members.</summary>
        public static readonly IReadOnlyList<string> Names = Array.AsReadOnly(SlotNamesInOrder());

        /// <summary>The vector length: the number of <see cref="RecommendationFeature"/> members.</summary>
        public static int Count => Names.Count;

        /// <summary>The type of the feature column: a known-size vector of Single.</summary>
        public static VectorDataViewType VectorType() => new(NumberDataViewType.Single, Count);

        /// <summary>The type of a feature column of <paramref name="count"/> slots (the fixed ones and side information).</summary>
        public static VectorDataViewType VectorType(int count) => new(NumberDataViewType.Single, count);

        /// <summary>The annotations of the feature column: <c>SlotNames</c>, read by feature-importance tools and trainers.</summary>
        public static DataViewSchema.Annotations Annotations() => Annotations(Names);

        /// <summary>The <c>SlotNames</c> annotation of a feature column whose slots are <paramref name="names"/>.</summary>
        public static DataViewSchema.Annotations Annotations(IReadOnlyList<string> names)
        {
            var builder = new DataViewSchema.Annotations.Builder();
            int count = names.Count;
            var type = new VectorDataViewType(TextDataViewType.Instance, count);
            builder.Add(SchemaChecks.SlotNamesKind, type, (ref VBuffer<ReadOnlyMemory<char>> value) =>
            {
                var editor = VBufferEditor.Create(ref value, count);
                for (int i = 0; i < count; i++)
                    editor.Values[i] = names[i].AsMemory();
                value = editor.Commit();
            });
            return builder.ToAnnotations();
        }

        /// <summary>The member names by value; the values must be 0, 1, 2, ... (they index the vector).</summary>
        private static string[] SlotNamesInOrder()
        {
            var values = Enum.GetValues<RecommendationFeature>();
            var names = new string[values.Length];
            for (int i = 0; i < values.Length; i++)
            {
                if ((int)values[i] != i)
                    throw new InvalidOperationException($"{nameof(RecommendationFeature)}.{values[i]} has value {(int)values[i]}; the members must be numbered 0 to {values.Length - 1} without gaps, as they index the feature vector.");
                names[i] = values[i].ToString();
            }
            return names;
        }
    }
}
