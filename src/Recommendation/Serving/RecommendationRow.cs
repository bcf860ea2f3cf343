using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Recommendation
{
    /// <summary>One recommendation: the user, the item, its score and its 1-based rank in the user's list.</summary>
    /// <param name="User">The user's id.</param>
    /// <param name="Item">The recommended item's id.</param>
    /// <param name="Score">The ranker's score of the item for the user.</param>
    /// <param name="Rank">1 for the user's best item, 2 for the next, ...</param>
    public readonly record struct RecommendationRow(string User, string Item, float Score, int Rank)
    {
        /// <summary>
        /// The rows of a view of recommendations, in the view's order: the view that
        /// <see cref="RankingRecommenderTransformer.Recommend(MLContext, IEnumerable{string}, int, RecommendOptions?)"/>
        /// returns (columns <c>User</c>, <c>Item</c>, <c>Score</c>, <c>Rank</c>), or a file of them loaded with other column
        /// names.
        /// </summary>
        /// <param name="view">Text columns for the user and the item, a <see cref="float"/> score and an <see cref="int"/> rank.</param>
        /// <param name="userColumnName">The user column. Default <c>User</c>.</param>
        /// <param name="itemColumnName">The item column. Default <c>Item</c>.</param>
        /// <param name="scoreColumnName">The score column. Default <c>Score</c>.</param>
        /// <param name="rankColumnName">The rank column. Default <c>Rank</c>.</param>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing (the message names it and the columns the view has).</exception>
        /// <exception cref="InvalidOperationException">A column has another type than the one above.</exception>
        public static IEnumerable<RecommendationRow> Read(IDataView view, string userColumnName = "User", string itemColumnName = "Item",
            string scoreColumnName = "Score", string rankColumnName = "Rank")
        {
            ArgumentNullException.ThrowIfNull(view);
            var schema = view.Schema;
            var userColumn = Column(schema, userColumnName, TextDataViewType.Instance);
            var itemColumn = Column(schema, itemColumnName, TextDataViewType.Instance);
            var scoreColumn = Column(schema, scoreColumnName, NumberDataViewType.Single);
            var rankColumn = Column(schema, rankColumnName, NumberDataViewType.Int32);
            return Rows(view, userColumn, itemColumn, scoreColumn, rankColumn);
        }

        private static IEnumerable<RecommendationRow> Rows(IDataView view, DataViewSchema.Column userColumn, DataViewSchema.Column itemColumn,
            DataViewSchema.Column scoreColumn, DataViewSchema.Column rankColumn)
        {
            using var cursor = view.GetRowCursor(new[] { userColumn, itemColumn, scoreColumn, rankColumn });
            var user = cursor.GetGetter<ReadOnlyMemory<char>>(userColumn);
            var item = cursor.GetGetter<ReadOnlyMemory<char>>(itemColumn);
            var score = cursor.GetGetter<float>(scoreColumn);
            var rank = cursor.GetGetter<int>(rankColumn);
            ReadOnlyMemory<char> u = default, i = default;
            float s = 0;
            int r = 0;
            while (cursor.MoveNext())
            {
                user(ref u);
                item(ref i);
                score(ref s);
                rank(ref r);
                yield return new RecommendationRow(u.ToString(), i.ToString(), s, r);
            }
        }

        private static DataViewSchema.Column Column(DataViewSchema schema, string name, DataViewType type)
        {
            var found = schema.GetColumnOrNull(name);
            if (found is not DataViewSchema.Column column)
                throw new ArgumentOutOfRangeException(nameof(schema), $"{nameof(RecommendationRow)}.{nameof(Read)}: the view has no column '{name}' (it has: {string.Join(", ", ColumnNames(schema))}); name the view's column in the matching argument.");
            if (!column.Type.Equals(type))
                throw new InvalidOperationException($"{nameof(RecommendationRow)}.{nameof(Read)}: the column '{name}' is {column.Type}, where {type} was expected.");
            return column;
        }

        private static IEnumerable<string> ColumnNames(DataViewSchema schema)
        {
            foreach (var column in schema)
            {
                if (!column.IsHidden)
                    yield return column.Name;
            }
        }
    }
}
