using System;
using System.Globalization;
using System.IO;
using System.Threading;

namespace Embeddings.Cli
{
    /// <summary>Reads an edge list: 'source target [weight]' per line, separated by spaces or tabs; '#' starts a comment line.</summary>
    internal static class EdgeListReader
    {
        public static void Read(string path, bool weighted, IEdgeWriter edges, CancellationToken cancellation = default)
        {
            long row = 0;
            var separators = new[] { ' ', '\t' };
            foreach (string text in File.ReadLines(path))
            {
                row++;
                if ((row & 0xFFFF) == 0)
                    cancellation.ThrowIfCancellationRequested();
                var span = text.AsSpan().Trim();
                if (span.IsEmpty || span[0] == '#')
                    continue;
                int first = span.IndexOfAny(separators);
                if (first < 0)
                    throw new FormatException($"{path}: line {row}: expected 'source target [weight]'; found '{text}'.");
                var source = span.Slice(0, first);
                var rest = span.Slice(first).TrimStart();
                int second = rest.IndexOfAny(separators);
                var target = second < 0 ? rest : rest.Slice(0, second);
                double weight = 1;
                if (weighted)
                {
                    if (second < 0 || !double.TryParse(rest.Slice(second).Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out weight))
                        throw new FormatException($"{path}: line {row}: --weighted needs a numeric third column; found '{text}'.");
                    if (!(weight > 0) || !double.IsFinite(weight) || weight > float.MaxValue)
                        throw new FormatException($"{path}: line {row}: the weight must be positive and finite; found '{text}'. Fix or remove the line.");
                }
                edges.AddEdge(source, target, weight);
            }
        }
    }
}
