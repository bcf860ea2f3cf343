using System;
using System.Collections.Generic;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// <see cref="RecommendOptions"/> compiled against a catalog: a mask of the items allowed by the allow- and deny-lists,
    /// the seen-items rule and the predicate. Immutable; shared by the threads of one request.
    /// </summary>
    internal sealed class RecommendationFilter
    {
        private readonly bool[]? _admitted;
        private readonly Func<string, string, bool>? _predicate;
        private readonly IReadOnlyList<string> _items;

        public RecommendationFilter(IReadOnlyList<string> items, Func<string, int> indexOf, RecommendOptions options)
        {
            _items = items;
            ExcludeSeen = options.ExcludeSeenItems;
            _predicate = options.ItemFilter;
            if (options.AllowedItems is null && options.DeniedItems is null)
                return;
            _admitted = new bool[items.Count];
            if (options.AllowedItems is null)
            {
                Array.Fill(_admitted, true);
            }
            else
            {
                foreach (string item in options.AllowedItems)
                {
                    int i = item is null ? -1 : indexOf(item);
                    if (i >= 0)
                        _admitted[i] = true;
                }
            }
            if (options.DeniedItems is not null)
            {
                foreach (string item in options.DeniedItems)
                {
                    int i = item is null ? -1 : indexOf(item);
                    if (i >= 0)
                        _admitted[i] = false;
                }
            }
        }

        public bool ExcludeSeen { get; }

        /// <summary>True when the catalog item <paramref name="item"/> passes the lists and the predicate for <paramref name="user"/> (seen items aside).</summary>
        public bool Admits(string user, int item) =>
            (_admitted is null || _admitted[item]) && (_predicate is null || _predicate(user, _items[item]));
    }
}
