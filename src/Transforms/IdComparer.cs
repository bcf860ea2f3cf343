using System.Collections.Generic;
using System.Globalization;

namespace Embeddings
{
    /// <summary>
    /// The order in which this library sorts ids wherever an order must be deterministic (tie-breaks of time-ordered
    /// sequences, catalogs, evaluation): numerically when both ids are integers, otherwise ordinally, integers first.
    /// </summary>
    public sealed class IdComparer : IComparer<string>
    {
        private IdComparer()
        {
        }

        /// <summary>The comparer.</summary>
        public static IdComparer Instance { get; } = new();

        /// <inheritdoc/>
        public int Compare(string? x, string? y)
        {
            bool xi = long.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out long a);
            bool yi = long.TryParse(y, NumberStyles.Integer, CultureInfo.InvariantCulture, out long b);
            if (xi && yi)
                return a.CompareTo(b);
            if (xi != yi)
                return xi ? -1 : 1;
            return string.CompareOrdinal(x, y);
        }
    }
}
