using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;
using Embeddings.Recommendation;

namespace Embeddings.Cli.Data
{
    /// <summary>One row of an interaction file; <see cref="Rating"/> is NaN in a file without a rating column.</summary>
    internal sealed record InteractionRow(string User, string Item, float Rating, long Timestamp);

    /// <summary>The rows of an interaction file and what the reader did to them.</summary>
    internal sealed record InteractionData(string Path, IReadOnlyList<InteractionRow> Rows, bool HasRatings, string? Header, int DuplicatesRemoved)
    {
        /// <summary>The rows as interactions (user, item, timestamp).</summary>
        public IEnumerable<Interaction> Interactions => Rows.Select(r => new Interaction(r.User, r.Item, r.Timestamp));
    }

    /// <summary>The columns of Parquet interaction input (<c>--user-column</c> and so on); the rating is read when the file has its column, or must be there when its flag was given.</summary>
    internal sealed record InteractionColumns(ParquetColumn User, ParquetColumn Item, ParquetColumn Rating, bool RatingRequired, ParquetColumn Timestamp)
    {
        /// <summary>The default names: user, item, rating, timestamp.</summary>
        public static InteractionColumns Default { get; } = new(
            new("user", "--user-column"), new("item", "--item-column"), new("rating", "--rating-column"), false, new("timestamp", "--timestamp-column"));
    }

    /// <summary>
    /// The one reader of interaction files (item2vec, mf, recommend-eval, sweep), MovieLens' <c>u.data</c> layout and its CSV form:
    /// <list type="bullet">
    /// <item>fields separated by tabs, or by commas when the first line has no tab; every row has the first line's number of fields;</item>
    /// <item>3 fields: user, item, timestamp; 4: user, item, rating, timestamp (no more: an ignored extra field would let a lost
    /// line break merge two rows into one without an error);</item>
    /// <item>the first line is a header, skipped and reported, only when none of its rating and timestamp fields holds a digit
    /// (<c>userId,movieId,rating,timestamp</c>); any other unparsable line is an error naming the file, line and value;</item>
    /// <item>blank lines are skipped anywhere; fields are trimmed of white space; a user or item id must be non-empty and must not
    /// contain white space (the word2vec text format the vectors are saved in could not store it);</item>
    /// <item>the file must be UTF-8 (an invalid byte is an error naming the line and byte offset);</item>
    /// <item>exact duplicates, rows with the same user, item and timestamp as an earlier row, are removed (the first is kept) and
    /// counted: a doubled event would otherwise put the held-out interaction in the training data too.</item>
    /// </list>
    /// Parquet input (a .parquet file or a folder of them) holds the same rows as columns (<see cref="InteractionColumns"/>),
    /// with the same checks and the same removal of duplicates.
    /// </summary>
    internal static class InteractionFile
    {
        private const string Layout = "'user item [rating] timestamp' rows (3 fields: user item timestamp; 4: user item rating timestamp), tab- or comma-separated";

        /// <summary>
        /// Reads <paramref name="path"/> (text, or Parquet with <paramref name="columns"/>, the defaults when null); a skipped
        /// header and removed duplicates are reported on <paramref name="log"/>.
        /// </summary>
        public static InteractionData Read(string path, TextWriter? log = null, InteractionColumns? columns = null)
        {
            if (ParquetInput.IsParquet(path))
                return ReadParquet(path, log, columns ?? InteractionColumns.Default);
            var rows = new List<InteractionRow>();
            var seen = new HashSet<(string, string, long)>();
            char separator = '\t';
            int fieldCount = 0;
            string? header = null;
            int duplicates = 0;
            foreach (var line in Utf8Lines.Read(path))
            {
                if (line.IsBlank)
                    continue;
                var fields = line.Text.Split(fieldCount == 0 ? (separator = line.Text.Contains('\t') ? '\t' : ',') : separator);
                for (int i = 0; i < fields.Length; i++)
                    fields[i] = fields[i].Trim();
                if (fieldCount == 0)
                {
                    if (fields.Length is < 3 or > 4)
                        throw Error(path, line, $"{fields.Length} field(s); expected {Layout}");
                    fieldCount = fields.Length;
                    if (LooksLikeHeader(fields))
                    {
                        header = line.Text;
                        log?.WriteLine($"{path}: line {line.Number} taken as a header and skipped: '{Utf8Lines.Quote(line.Text)}'");
                        continue;
                    }
                }
                if (fields.Length != fieldCount)
                    throw Error(path, line, $"{fields.Length} field(s) where the first line has {fieldCount}; every row must have the same fields ({Layout})", "Fix or remove the line");
                string user = Id(path, line, fields[0], "user");
                string item = Id(path, line, fields[1], "item");
                float rating = float.NaN;
                if (fieldCount == 4 && !float.TryParse(fields[2], NumberStyles.Float, CultureInfo.InvariantCulture, out rating))
                    throw Error(path, line, $"the rating '{Utf8Lines.Quote(fields[2])}' is not a number", "Fix or remove the line");
                string time = fields[fieldCount == 4 ? 3 : 2];
                if (!long.TryParse(time, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long timestamp))
                    throw Error(path, line, $"the timestamp '{Utf8Lines.Quote(time)}' is not an integer", "Fix or remove the line");
                if (seen.Add((user, item, timestamp)))
                    rows.Add(new InteractionRow(user, item, rating, timestamp));
                else
                    duplicates++;
            }
            if (rows.Count == 0)
                throw new FormatException($"{path}: no interactions found; expected {Layout}.");
            if (duplicates > 0)
                log?.WriteLine($"{path}: removed {duplicates:N0} duplicate row(s) (the same user, item and timestamp as an earlier row; the first is kept); {rows.Count:N0} rows remain");
            return new InteractionData(path, rows, fieldCount == 4, header, duplicates);
        }

        /// <summary>The leave-last-out split of the interactions of <paramref name="path"/> (see <see cref="Read"/>).</summary>
        public static LeaveLastOutSplit ReadSplit(string path, TextWriter? log = null, InteractionColumns? columns = null) => LeaveLastOutSplit.Create(Read(path, log, columns).Interactions);

        private static InteractionData ReadParquet(string path, TextWriter? log, InteractionColumns columns)
        {
            bool hasRatings = columns.RatingRequired || ParquetInput.ColumnNames(path).Contains(columns.Rating.Name);
            var rows = new List<InteractionRow>();
            var seen = new HashSet<(string, string, long)>();
            int duplicates = 0;
            ParquetInput.ReadInteractions(path, columns.User, columns.Item, hasRatings ? columns.Rating : null, columns.Timestamp, (user, item, rating, timestamp, where) =>
            {
                ParquetId(where, user, columns.User);
                ParquetId(where, item, columns.Item);
                if (seen.Add((user, item, timestamp)))
                    rows.Add(new InteractionRow(user, item, rating, timestamp));
                else
                    duplicates++;
            });
            if (rows.Count == 0)
                throw new FormatException($"{path}: no interactions found; expected rows with the columns {columns.User}, {columns.Item} and {columns.Timestamp}.");
            if (duplicates > 0)
                log?.WriteLine($"{path}: removed {duplicates:N0} duplicate row(s) (the same user, item and timestamp as an earlier row; the first is kept); {rows.Count:N0} rows remain");
            return new InteractionData(path, rows, hasRatings, null, duplicates);
        }

        private static void ParquetId(string where, string value, ParquetColumn column)
        {
            if (Utf8Lines.ContainsWhiteSpace(value))
                throw new FormatException($"{where}: the id '{Utf8Lines.Quote(value)}' in column {column} contains white space, which the word2vec text format of the vectors cannot store. Replace it (e.g. with '_').");
        }

        /// <summary>A header names its columns: none of the fields that hold numbers in a row (rating, timestamp) has a digit.</summary>
        private static bool LooksLikeHeader(string[] fields)
        {
            var numeric = fields.Length == 4 ? new[] { fields[2], fields[3] } : new[] { fields[2] };
            return numeric.All(f => !f.Any(char.IsAsciiDigit));
        }

        private static string Id(string path, TextLine line, string value, string what)
        {
            if (value.Length == 0)
                throw Error(path, line, $"the {what} id is empty", "Fix or remove the line");
            if (Utf8Lines.ContainsWhiteSpace(value))
                throw Error(path, line, $"the {what} id '{Utf8Lines.Quote(value)}' contains white space, which the word2vec text format of the vectors cannot store", "Replace it (e.g. with '_')");
            return value;
        }

        private static FormatException Error(string path, TextLine line, string problem, string? fix = null) =>
            Utf8Lines.LineError(path, line, problem, fix);
    }
}
