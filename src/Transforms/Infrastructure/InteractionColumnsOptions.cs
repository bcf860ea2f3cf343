using System;
using Microsoft.ML;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// The columns of interaction rows (user, item, optional time) that item2vec, the recommendation features and the
    /// recommender read: one definition, one check and one reader (<see cref="InteractionSequences"/>) for all of them.
    /// </summary>
    public abstract class InteractionColumnsOptions
    {
        /// <summary>User id column: Text, Key&lt;UInt32&gt; with key values, or integer ids. Required.</summary>
        public string UserColumnName { get; set; } = "";

        /// <summary>Item id column (same types). Required.</summary>
        public string ItemColumnName { get; set; } = "";

        /// <summary>Optional time column (Single, Double, Int32, Int64 or DateTime) that orders each user's items, ties by item id; null: row order.</summary>
        public string? TimestampColumnName { get; set; }

        /// <summary>Throws unless the user and item columns are named.</summary>
        /// <param name="component">The component named in the message.</param>
        /// <exception cref="ArgumentException">A column name is empty.</exception>
        public void ValidateColumnNames(string component)
        {
            if (string.IsNullOrWhiteSpace(UserColumnName))
                throw new ArgumentException($"{component}: UserColumnName is empty; name the user id column.", nameof(UserColumnName));
            if (string.IsNullOrWhiteSpace(ItemColumnName))
                throw new ArgumentException($"{component}: ItemColumnName is empty; name the item id column.", nameof(ItemColumnName));
            if (TimestampColumnName is not null && string.IsNullOrWhiteSpace(TimestampColumnName))
                throw new ArgumentException($"{component}: TimestampColumnName is blank; name the time column, or leave it null to keep the row order.", nameof(TimestampColumnName));
        }

        /// <summary>Throws unless <paramref name="schema"/> has the user, item and time columns with accepted types.</summary>
        /// <param name="schema">The input schema.</param>
        /// <param name="component">The component named in the message.</param>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of another type.</exception>
        public void CheckInput(SchemaShape schema, string component)
        {
            IdColumns.CheckId(schema, UserColumnName, component);
            IdColumns.CheckId(schema, ItemColumnName, component);
            IdColumns.CheckTime(schema, TimestampColumnName, component);
        }
    }
}
