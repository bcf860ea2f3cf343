using System;
using System.Collections.Generic;
using System.IO;
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>Validation and persistence of (output, input) column pairs, for transformers' saved state.</summary>
    public static class ColumnPairs
    {
        /// <summary>Checks that the pairs are non-empty, with non-blank names and distinct outputs; returns a copy.</summary>
        /// <exception cref="ArgumentException">A pair is invalid; the message names <paramref name="optionName"/>.</exception>
        public static InputOutputColumnPair[] Validate(IReadOnlyList<InputOutputColumnPair>? columns, string component, string optionName)
        {
            if (columns is null || columns.Count == 0)
                throw new ArgumentException($"{component}: {optionName} is empty; name at least one (output, input) column pair.", optionName);
            var outputs = new HashSet<string>();
            var result = new InputOutputColumnPair[columns.Count];
            for (int i = 0; i < columns.Count; i++)
            {
                var pair = columns[i] ?? throw new ArgumentException($"{component}: {optionName}[{i}] is null.", optionName);
                if (string.IsNullOrWhiteSpace(pair.OutputColumnName))
                    throw new ArgumentException($"{component}: {optionName}[{i}] has an empty output column name.", optionName);
                if (string.IsNullOrWhiteSpace(pair.InputColumnName))
                    throw new ArgumentException($"{component}: {optionName}[{i}] has an empty input column name.", optionName);
                if (!outputs.Add(pair.OutputColumnName))
                    throw new ArgumentException($"{component}: output column '{pair.OutputColumnName}' is named twice in {optionName}; each output needs its own name.", optionName);
                result[i] = pair;
            }
            return result;
        }

        /// <summary>Writes the pairs (count, then output and input names).</summary>
        public static void Write(BinaryWriter writer, IReadOnlyList<InputOutputColumnPair> columns)
        {
            writer.Write(columns.Count);
            foreach (var pair in columns)
            {
                writer.Write(pair.OutputColumnName);
                writer.Write(pair.InputColumnName);
            }
        }

        /// <summary>Reads pairs written by <see cref="Write"/>.</summary>
        /// <exception cref="FormatException">The data is not a valid list of pairs.</exception>
        public static InputOutputColumnPair[] Read(BinaryReader reader)
        {
            int count = reader.ReadInt32();
            if (count <= 0 || count > 1 << 20)
                throw new FormatException($"Invalid column count {count} in the saved model.");
            var columns = new InputOutputColumnPair[count];
            for (int i = 0; i < count; i++)
            {
                string output = reader.ReadString();
                string input = reader.ReadString();
                columns[i] = new InputOutputColumnPair(output, input);
            }
            return columns;
        }
    }
}
