using System.CommandLine;
using Embeddings.Cli.Data;

namespace Embeddings.Cli
{
    /// <summary>
    /// The flags that name the columns of Parquet interaction input (item2vec, mf, recommend-eval, sweep, fit-recommender);
    /// refused with a text input, whose fields are positional.
    /// </summary>
    internal sealed class InteractionColumnOptions
    {
        public Option<string> User { get; } = CommonOptions.Column("--user-column", "Parquet input: the user id column (STRING or an integer)", "user");

        public Option<string> Item { get; } = CommonOptions.Column("--item-column", "Parquet input: the item id column (STRING or an integer)", "item");

        public Option<string> Rating { get; } = CommonOptions.Column("--rating-column",
            "Parquet input: the rating column (FLOAT, DOUBLE, INT32 or INT64), read when the file has it (required when this flag is given)", "rating");

        public Option<string> Timestamp { get; } = CommonOptions.Column("--timestamp-column",
            "Parquet input: the time column (INT32 or INT64, or TIMESTAMP/DATE read as Unix seconds)", "timestamp");

        /// <summary>The flags, in the order help lists them.</summary>
        public Option[] All => new Option[] { User, Item, Rating, Timestamp };

        /// <summary>The columns the flags name for <paramref name="input"/> (given by <paramref name="inputOption"/>).</summary>
        public InteractionColumns Read(CommandRun run, string input, Option inputOption)
        {
            if (!ParquetInput.IsParquet(input))
                CommonOptions.ColumnsNeedParquet(run, input, inputOption, All);
            return new InteractionColumns(Column(run, User), Column(run, Item), Column(run, Rating), run.Given(Rating), Column(run, Timestamp));
        }

        private static ParquetColumn Column(CommandRun run, Option<string> option) => new(run.Get(option), run.Flag(option));
    }
}
