using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Cli.Data
{
    /// <summary>A column of Parquet input and the flag that names it (for messages).</summary>
    internal readonly record struct ParquetColumn(string Name, string Flag)
    {
        public override string ToString() => $"'{Name}' ({Flag})";
    }

    /// <summary>
    /// The commands' Parquet inputs (a .parquet file or a folder of them, read through <see cref="ParquetDataView"/>, only
    /// the columns named, one row group at a time): edges, interactions and sequences, with the same meaning and checks as
    /// their text forms. Every error names the file, the row (counted from 0 in its file), the column and its flag.
    /// </summary>
    internal static class ParquetInput
    {
        /// <summary>Node, user and item ids: STRING or integer columns (integers read as their decimal text).</summary>
        private const string IdTypes = "STRING or an integer (INT32, INT64, UINT32, UINT64)";

        /// <summary>True when <paramref name="path"/> is Parquet input: a name ending in .parquet, or a folder that holds .parquet files.</summary>
        public static bool IsParquet(string path) => ParquetFiles.IsParquet(path);

        /// <summary>The top-level column names of the first file of <paramref name="path"/>.</summary>
        public static IReadOnlyList<string> ColumnNames(string path)
        {
            string first = ParquetFiles.List(path)[0];
            var reader = ParquetFiles.Open(first);
            try
            {
                return reader.Schema.Fields.Select(f => f.Name).ToList();
            }
            finally
            {
                ParquetFiles.Close(reader);
            }
        }

        /// <summary>A data view of <paramref name="columns"/>; a missing column's message names its flag.</summary>
        private static ParquetDataView Open(string path, params ParquetColumn[] columns)
        {
            var options = new ParquetDataView.Options();
            foreach (var column in columns)
                options.Columns.Add(column.Name);
            return new ParquetDataView(path, options, columns.ToDictionary(c => c.Name, c => c.Flag, StringComparer.Ordinal));
        }

        /// <summary>
        /// Reads edges: <paramref name="source"/> and <paramref name="target"/> ids (STRING or integers), and with
        /// <paramref name="weight"/> a positive finite weight (FLOAT, DOUBLE, INT32 or INT64). Returns the number of edges.
        /// </summary>
        public static long ReadEdges(string path, ParquetColumn source, ParquetColumn target, ParquetColumn? weight, bool rejectWhiteSpace, IEdgeWriter edges, CancellationToken cancellation)
        {
            var columns = weight is ParquetColumn w ? new[] { source, target, w } : new[] { source, target };
            var view = Open(path, columns);
            CheckId(view, 0, source);
            CheckId(view, 1, target);
            if (weight is ParquetColumn wc)
                CheckNumber(view, 2, wc, "a weight", allowDate: false);
            using var cursor = view.OpenCursor(view.Schema);
            var readSource = IdColumns.GetIdGetter(cursor, view.Schema[0]);
            var readTarget = IdColumns.GetIdGetter(cursor, view.Schema[1]);
            var readWeight = weight is null ? null : NumberGetter(cursor, view.Schema[2]);
            long count = 0;
            while (cursor.MoveNext())
            {
                if ((count & 0xFFFF) == 0)
                    cancellation.ThrowIfCancellationRequested();
                var s = Id(cursor, readSource(), source, rejectWhiteSpace);
                var t = Id(cursor, readTarget(), target, rejectWhiteSpace);
                double value = 1;
                if (readWeight is not null)
                {
                    value = readWeight();
                    if (!(value > 0) || !double.IsFinite(value) || value > float.MaxValue)
                        throw new FormatException($"{cursor.Where}: the weight {Format(value)} in column {weight} must be positive and finite. Fix or remove the row (WHERE {weight!.Value.Name} > 0).");
                }
                edges.AddEdge(s, t, value);
                count++;
            }
            return count;
        }

        /// <summary>
        /// Reads interaction rows: user and item ids, an optional rating (FLOAT, DOUBLE, INT32 or INT64; null reads as
        /// NaN), and a timestamp (INT32 or INT64, or TIMESTAMP/DATE read as whole Unix seconds). <paramref name="add"/>
        /// receives each row and its place (for messages).
        /// </summary>
        public static void ReadInteractions(string path, ParquetColumn user, ParquetColumn item, ParquetColumn? rating, ParquetColumn timestamp,
            Action<string, string, float, long, string> add)
        {
            var columns = new List<ParquetColumn> { user, item, timestamp };
            if (rating is ParquetColumn r)
                columns.Add(r);
            var view = Open(path, columns.ToArray());
            CheckId(view, 0, user);
            CheckId(view, 1, item);
            var timeType = view.Schema[2].Type;
            if (timeType is not DateTimeDataViewType && timeType.RawType != typeof(int) && timeType.RawType != typeof(long))
                throw WrongType(view, 2, timestamp, "a timestamp: INT32 or INT64 (e.g. Unix seconds), or TIMESTAMP/DATE");
            if (rating is ParquetColumn rc)
                CheckNumber(view, 3, rc, "a rating", allowDate: false);
            using var cursor = view.OpenCursor(view.Schema);
            var readUser = IdColumns.GetIdGetter(cursor, view.Schema[0]);
            var readItem = IdColumns.GetIdGetter(cursor, view.Schema[1]);
            var readTime = TimeGetter(cursor, view.Schema[2]);
            var readRating = rating is null ? null : NumberGetter(cursor, view.Schema[3]);
            while (cursor.MoveNext())
            {
                string u = new(Id(cursor, readUser(), user, rejectWhiteSpace: false));
                string i = new(Id(cursor, readItem(), item, rejectWhiteSpace: false));
                float value = readRating is null ? float.NaN : (float)readRating();
                add(u, i, value, readTime(), cursor.Where);
            }
        }

        /// <summary>
        /// Reads sequences from <paramref name="column"/> (the file's only column when null): a STRING column holds one
        /// line of text per row (tokens split at white space, as in a text corpus), a LIST of STRING or integers one
        /// sequence per row. Sequences are cut every <paramref name="maxSequenceLength"/> tokens, as lines of text are.
        /// Returns the number of tokens.
        /// </summary>
        public static long ReadSequences(string path, string? column, string flag, int maxSequenceLength, bool rejectWhiteSpace, ISequenceWriter sink, CancellationToken cancellation)
        {
            if (column is null)
            {
                var names = ColumnNames(path);
                if (names.Count != 1)
                    throw new FormatException($"{ParquetFiles.List(path)[0]}: the file has {names.Count} columns ({string.Join(", ", names.Select(n => $"'{n}'"))}); name the one that holds the text or the sequences with {flag}.");
                column = names[0];
            }
            var named = new ParquetColumn(column, flag);
            var view = Open(path, named);
            var type = view.Schema[0].Type;
            var itemType = type is VectorDataViewType vector ? vector.ItemType : type;
            bool text = itemType is TextDataViewType;
            if (!(text || SchemaChecks.IsIntegerId(itemType.RawType)) || (type is not VectorDataViewType && !text))
                throw WrongType(view, 0, named, "text (STRING, one line of white-space-separated tokens per row) or a sequence (a LIST of STRING or of integers)");
            using var cursor = view.OpenCursor(view.Schema);
            long tokens = 0;
            int length = 0;
            long rows = 0;
            Span<char> number = stackalloc char[24];
            void Add(ReadOnlySpan<char> token)
            {
                sink.Add(token);
                tokens++;
                if (++length == maxSequenceLength)
                    End();
            }
            void End()
            {
                if (length > 0)
                    sink.EndSequence();
                length = 0;
            }
            if (type is not VectorDataViewType)
            {
                var getter = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema[0]);
                ReadOnlyMemory<char> line = default;
                while (cursor.MoveNext())
                {
                    if ((rows++ & 0xFFF) == 0)
                        cancellation.ThrowIfCancellationRequested();
                    getter(ref line);
                    var rest = line.Span;
                    while (!rest.IsEmpty)
                    {
                        int start = 0;
                        while (start < rest.Length && char.IsWhiteSpace(rest[start]))
                            start++;
                        int end = start;
                        while (end < rest.Length && !char.IsWhiteSpace(rest[end]))
                            end++;
                        if (end > start)
                            Add(rest[start..end]);
                        rest = rest[end..];
                    }
                    End();
                }
                return tokens;
            }
            if (text)
            {
                var getter = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(view.Schema[0]);
                VBuffer<ReadOnlyMemory<char>> sequence = default;
                while (cursor.MoveNext())
                {
                    if ((rows++ & 0xFFF) == 0)
                        cancellation.ThrowIfCancellationRequested();
                    getter(ref sequence);
                    foreach (var token in sequence.DenseValues())
                    {
                        if (token.IsEmpty)
                            continue;
                        if (rejectWhiteSpace && Utf8Lines.ContainsWhiteSpace(token.Span))
                            throw new FormatException($"{cursor.Where}: the item '{Utf8Lines.Quote(token.ToString())}' in column {named} contains white space, which the word2vec format of the output cannot store. Replace it (e.g. with '_'), or write the vectors to a .parquet file, which stores any item.");
                        Add(token.Span);
                    }
                    End();
                }
                return tokens;
            }
            var integers = IntegerSequenceGetter(cursor, view.Schema[0]);
            var values = new List<long>();
            while (cursor.MoveNext())
            {
                if ((rows++ & 0xFFF) == 0)
                    cancellation.ThrowIfCancellationRequested();
                integers(values);
                foreach (long value in values)
                {
                    value.TryFormat(number, out int written, provider: CultureInfo.InvariantCulture);
                    Add(number[..written]);
                }
                End();
            }
            return tokens;
        }

        private static Action<List<long>> IntegerSequenceGetter(ParquetDataView.Cursor cursor, DataViewSchema.Column column)
        {
            Type raw = ((VectorDataViewType)column.Type).ItemType.RawType;
            if (raw == typeof(int))
                return Collect<int>(cursor, column, v => v);
            if (raw == typeof(uint))
                return Collect<uint>(cursor, column, v => v);
            if (raw == typeof(long))
                return Collect<long>(cursor, column, v => v);
            // UInt64 ids above long's range would need their own path: refuse them plainly.
            return Collect<ulong>(cursor, column, v => v <= long.MaxValue ? (long)v : throw new FormatException($"{cursor.Where}: the id {v} in column '{column.Name}' is above {long.MaxValue}; store the ids as STRING."));
        }

        private static Action<List<long>> Collect<T>(ParquetDataView.Cursor cursor, DataViewSchema.Column column, Func<T, long> widen)
        {
            var getter = cursor.GetGetter<VBuffer<T>>(column);
            VBuffer<T> buffer = default;
            return values =>
            {
                values.Clear();
                getter(ref buffer);
                foreach (var v in buffer.DenseValues())
                    values.Add(widen(v));
            };
        }

        private static ReadOnlySpan<char> Id(ParquetDataView.Cursor cursor, ReadOnlySpan<char> id, ParquetColumn column, bool rejectWhiteSpace)
        {
            if (id.IsEmpty)
                throw new FormatException($"{cursor.Where}: the id in column {column} is null or empty. Filter such rows out (WHERE {column.Name} IS NOT NULL AND {column.Name} <> '').");
            if (Utf8Lines.ContainsWhiteSpace(id) && rejectWhiteSpace)
                throw new FormatException($"{cursor.Where}: the id '{Utf8Lines.Quote(id.ToString())}' in column {column} contains white space, which the word2vec format of the output cannot store. Replace it (e.g. with '_'), or write the vectors to a .parquet file, which stores any id.");
            return id;
        }

        private static void CheckId(ParquetDataView view, int index, ParquetColumn column)
        {
            var type = view.Schema[index].Type;
            if (!(type is TextDataViewType || SchemaChecks.IsIntegerId(type.RawType)))
                throw WrongType(view, index, column, "an id: " + IdTypes);
        }

        private static void CheckNumber(ParquetDataView view, int index, ParquetColumn column, string what, bool allowDate)
        {
            var raw = view.Schema[index].Type.RawType;
            bool ok = raw == typeof(float) || raw == typeof(double) || raw == typeof(int) || raw == typeof(long) || (allowDate && raw == typeof(DateTime));
            if (!ok || view.Schema[index].Type is VectorDataViewType)
                throw WrongType(view, index, column, what + ": FLOAT, DOUBLE, INT32 or INT64");
        }

        private static FormatException WrongType(ParquetDataView view, int index, ParquetColumn column, string expected) =>
            new($"{view.Files[0]}: column {column} is {view.Schema[index].Type}; it must be {expected}. Cast the column when writing the file, or name another column with {column.Flag}.");

        private static Func<double> NumberGetter(DataViewRow row, DataViewSchema.Column column)
        {
            Type raw = column.Type.RawType;
            if (raw == typeof(float))
            {
                var get = row.GetGetter<float>(column);
                return () => { float v = 0; get(ref v); return v; };
            }
            if (raw == typeof(double))
            {
                var get = row.GetGetter<double>(column);
                return () => { double v = 0; get(ref v); return v; };
            }
            if (raw == typeof(int))
            {
                var get = row.GetGetter<int>(column);
                return () => { int v = 0; get(ref v); return v; };
            }
            var getLong = row.GetGetter<long>(column);
            return () => { long v = 0; getLong(ref v); return v; };
        }

        /// <summary>Integers as they are; TIMESTAMP and DATE as whole seconds since 1970-01-01 (floor).</summary>
        private static Func<long> TimeGetter(DataViewRow row, DataViewSchema.Column column)
        {
            Type raw = column.Type.RawType;
            if (raw == typeof(DateTime))
            {
                var get = row.GetGetter<DateTime>(column);
                return () =>
                {
                    DateTime v = default;
                    get(ref v);
                    long ticks = v.Ticks - DateTime.UnixEpoch.Ticks;
                    return ticks >= 0 ? ticks / TimeSpan.TicksPerSecond : -((-ticks + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond);
                };
            }
            if (raw == typeof(int))
            {
                var get = row.GetGetter<int>(column);
                return () => { int v = 0; get(ref v); return v; };
            }
            var getLong = row.GetGetter<long>(column);
            return () => { long v = 0; getLong(ref v); return v; };
        }

        private static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
    }
}
