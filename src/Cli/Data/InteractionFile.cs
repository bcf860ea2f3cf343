using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Embeddings.Recommendation;

namespace Embeddings.Cli.Data
{
    /// <summary>
    /// Reads interaction files in MovieLens' <c>u.data</c> layout: user, item, rating, timestamp separated by tabs
    /// (or by commas, with a header line), as the recommendation commands and benchmarks take them.
    /// </summary>
    internal static class InteractionFile
    {
        /// <summary>Reads the interactions of <paramref name="path"/>; a first line without a timestamp is a header.</summary>
        public static List<Interaction> Read(string path)
        {
            var interactions = new List<Interaction>();
            int line = 0;
            foreach (string text in File.ReadLines(path))
            {
                line++;
                var fields = text.Split(text.Contains('\t') ? '\t' : ',');
                if (fields.Length < 4 || !long.TryParse(fields[3], NumberStyles.Integer, CultureInfo.InvariantCulture, out long timestamp))
                {
                    if (line == 1)
                        continue; // a header
                    throw new FormatException($"{path}: line {line}: expected 'user item rating timestamp'; found '{text}'.");
                }
                interactions.Add(new Interaction(fields[0], fields[1], timestamp));
            }
            return interactions;
        }

        /// <summary>The leave-last-out split of the interactions of <paramref name="path"/>.</summary>
        public static LeaveLastOutSplit ReadSplit(string path) => LeaveLastOutSplit.Create(Read(path));
    }
}
