using System;
using System.Globalization;
using System.Threading;
using Embeddings.Infrastructure;

namespace Embeddings.Cli
{
    /// <summary>
    /// Reads an edge list: 'source target [weight]' per line, fields separated by white space (any <see cref="char.IsWhiteSpace(char)"/>,
    /// so a node id never contains one); every line has the first edge line's number of fields, 2 or 3 (the weight is ignored
    /// without --weighted). Blank lines are skipped anywhere; lines starting with '#' are comments, allowed only
    /// before the first edge (a header such as SNAP's). The file must be UTF-8 (an invalid byte is an error naming the line and byte offset).
    /// </summary>
    internal static class EdgeListReader
    {
        /// <summary>Reads the edges of <paramref name="path"/> into <paramref name="edges"/>; returns the number of comment lines skipped.</summary>
        public static int Read(string path, bool weighted, IEdgeWriter edges, CancellationToken cancellation = default)
        {
            int fieldCount = 0;
            int comments = 0;
            Span<Range> ranges = stackalloc Range[3];
            foreach (var line in Utf8Lines.Read(path))
            {
                if ((line.Number & 0xFFFF) == 0)
                    cancellation.ThrowIfCancellationRequested();
                var span = line.Text.AsSpan().Trim();
                if (span.IsEmpty)
                    continue;
                if (span[0] == '#')
                {
                    if (fieldCount > 0)
                        throw Error(path, line, "a '#' comment line after the first edge; comments are allowed only at the top", "Remove the line, or fix the node id that starts with '#'");
                    comments++;
                    continue;
                }
                int count = Split(span, ranges);
                if (count < (weighted ? 3 : 2) || count > 3)
                    throw Error(path, line, weighted ? $"{FieldCount(count)} field(s); --weighted needs 'source target weight' lines" : $"{FieldCount(count)} field(s); expected 'source target [weight]'");
                if (fieldCount == 0)
                {
                    fieldCount = count;
                }
                else if (count != fieldCount)
                {
                    throw Error(path, line, $"{FieldCount(count)} field(s) where the first edge has {fieldCount}; every line must have the same fields", "Fix or remove the line");
                }
                var source = span[ranges[0]];
                var target = span[ranges[1]];
                double weight = 1;
                if (weighted)
                {
                    if (!double.TryParse(span[ranges[2]], NumberStyles.Float, CultureInfo.InvariantCulture, out weight))
                        throw Error(path, line, "--weighted needs a numeric third column");
                    if (!(weight > 0) || !double.IsFinite(weight) || weight > float.MaxValue)
                        throw Error(path, line, "the weight must be positive and finite", "Fix or remove the line");
                }
                edges.AddEdge(source, target, weight);
            }
            return comments;
        }

        /// <summary>Splits on runs of white space; returns the number of fields (at most ranges.Length; 1 more means "more").</summary>
        private static int Split(ReadOnlySpan<char> text, Span<Range> ranges)
        {
            int count = 0, i = 0;
            while (i < text.Length)
            {
                while (i < text.Length && char.IsWhiteSpace(text[i]))
                    i++;
                if (i == text.Length)
                    break;
                int start = i;
                while (i < text.Length && !char.IsWhiteSpace(text[i]))
                    i++;
                if (count == ranges.Length)
                    return count + 1;
                ranges[count++] = new Range(start, i);
            }
            return count;
        }

        private static string FieldCount(int count) => count > 3 ? "more than 3" : count.ToString(CultureInfo.InvariantCulture);

        private static FormatException Error(string path, TextLine line, string problem, string? fix = null) =>
            Utf8Lines.LineError(path, line, problem, fix);
    }
}
