using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>One user's interactions in time order, with their times.</summary>
    /// <param name="User">The user's id.</param>
    /// <param name="Items">The items, oldest first (equal times ordered by <see cref="IdComparer"/>).</param>
    /// <param name="Times">The time of each item (the row number when the data has no time column).</param>
    public sealed record InteractionSequence(string User, IReadOnlyList<string> Items, IReadOnlyList<double> Times);

    /// <summary>
    /// Reads interaction rows (user, item, optional time) into per-user sequences, the input of item2vec and of the
    /// recommendation features: each user's items ordered by time, ties by item id (<see cref="IdComparer"/>), users in
    /// id order. Rows with a missing user or item, or a NaN time, are left out.
    /// </summary>
    public static class InteractionSequences
    {
        /// <summary>Reads the sequences of <paramref name="input"/>; check the columns with <see cref="IdColumns"/> first.</summary>
        /// <param name="input">The interaction rows.</param>
        /// <param name="userColumn">The user id column (see <see cref="IdColumns.CheckId(SchemaShape, string, string)"/>).</param>
        /// <param name="itemColumn">The item id column.</param>
        /// <param name="timestampColumn">The time column (see <see cref="IdColumns.CheckTime"/>); null: the row order.</param>
        public static IReadOnlyList<InteractionSequence> Read(IDataView input, string userColumn, string itemColumn, string? timestampColumn)
        {
            ArgumentNullException.ThrowIfNull(input);
            var rows = new List<(string User, string Item, double Time)>();
            var schema = input.Schema;
            var columns = new List<DataViewSchema.Column> { schema[userColumn], schema[itemColumn] };
            if (timestampColumn is not null)
                columns.Add(schema[timestampColumn]);
            using var cursor = input.GetRowCursor(columns);
            var readUser = IdColumns.GetIdGetter(cursor, schema[userColumn]);
            var readItem = IdColumns.GetIdGetter(cursor, schema[itemColumn]);
            var readTime = timestampColumn is null ? null : IdColumns.GetTimeGetter(cursor, schema[timestampColumn]);
            long row = 0;
            while (cursor.MoveNext())
            {
                var user = readUser();
                string? userId = user.IsEmpty ? null : user.ToString();
                var item = readItem();
                string? itemId = item.IsEmpty ? null : item.ToString();
                double time = readTime?.Invoke() ?? row;
                row++;
                if (userId is null || itemId is null || double.IsNaN(time))
                    continue;
                rows.Add((userId, itemId, time));
            }
            var sequences = new List<InteractionSequence>();
            foreach (var group in rows.GroupBy(r => r.User).OrderBy(g => g.Key, IdComparer.Instance))
            {
                var ordered = group.OrderBy(r => r.Time).ThenBy(r => r.Item, IdComparer.Instance).ToList();
                sequences.Add(new InteractionSequence(group.Key, ordered.Select(r => r.Item).ToArray(), ordered.Select(r => r.Time).ToArray()));
            }
            return sequences;
        }
    }
}
