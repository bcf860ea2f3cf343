using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Parquet;

namespace Embeddings
{
    /// <summary>
    /// Parquet files (one file, or every <c>*.parquet</c> file of a folder, in name order) as a streamed
    /// <see cref="IDataView"/>: <c>mlContext.Data.LoadFromParquet(path, columns)</c> creates it.
    /// </summary>
    /// <remarks>
    /// <para>Only the columns asked for are in the schema, and a cursor reads only the columns it activates, one row group
    /// at a time: a cursor holds at most one row group of its active columns (of one file), so memory does not grow with
    /// the data. Row counts come from the files' footers (<see cref="GetRowCount"/> costs nothing). The rows are in file
    /// order; <see cref="CanShuffle"/> is false, and a set of parallel cursors is one cursor.</para>
    /// <para>Type mapping (top-level columns): BOOLEAN -> Boolean; INT8, INT16, INT32, INT64 and their unsigned forms ->
    /// the ML.NET number of the same width; FLOAT -> Single; DOUBLE -> Double; STRING -> Text; TIMESTAMP (INT96 too) and
    /// DATE -> DateTime; a LIST of any of these (or a legacy repeated field) -> a vector of it, of variable size unless the
    /// size is known (<see cref="Options.VectorSizes"/>, or recorded in the metadata of files this library writes).
    /// Nulls read as NaN in FLOAT and DOUBLE values and as empty text in STRING values (ML.NET's missing values); a null in
    /// a column of another type fails the read, naming file, row and column. A null or empty list is an empty vector.
    /// DECIMAL, BINARY, structs, maps and nested lists are not read (cast them first, or leave the column out).</para>
    /// </remarks>
    public sealed class ParquetDataView : IDataView
    {
        /// <summary>The key of a file's key-value metadata that records the vector size of a list column (this library's writers set it).</summary>
        internal const string VectorSizeMetadataPrefix = "embeddings.vector_size.";

        private readonly string[] _files;
        private readonly ParquetColumnType[] _columns;
        private readonly int[] _vectorSizes;
        private readonly long _rowCount;

        /// <summary>What to read.</summary>
        public sealed class Options
        {
            /// <summary>
            /// The columns to load, in this order (names as in the files, matched exactly). Empty (the default): every
            /// top-level column, in the files' order; then every column must be of a type that maps (see the remarks of
            /// <see cref="ParquetDataView"/>).
            /// </summary>
            public IList<string> Columns { get; set; } = new List<string>();

            /// <summary>
            /// Known sizes of list columns (at least 1): the column is a known-size vector and a row of another length fails
            /// the read. A list column not named here is of variable size unless every file records its size in its metadata
            /// (files written by this library do); 0 asks for a variable-size vector anyway. Empty by default.
            /// </summary>
            public IDictionary<string, int> VectorSizes { get; set; } = new Dictionary<string, int>(StringComparer.Ordinal);
        }

        internal ParquetDataView(string path, Options options)
            : this(path, options, null)
        {
        }

        /// <summary>A loader whose missing-column messages name the option that names each column (<paramref name="columnOptions"/>: column -> option).</summary>
        internal ParquetDataView(string path, Options options, IReadOnlyDictionary<string, string>? columnOptions)
        {
            ArgumentNullException.ThrowIfNull(options);
            _files = ParquetFiles.List(path);
            var requested = (options.Columns ?? Array.Empty<string>()).ToList();
            var duplicate = requested.GroupBy(c => c, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (duplicate is not null)
                throw new ArgumentException($"LoadFromParquet: the column '{duplicate.Key}' is asked for twice; name each column once.", nameof(options));
            if (requested.Any(string.IsNullOrEmpty))
                throw new ArgumentException("LoadFromParquet: a column name is null or empty; give the names of the columns to load.", nameof(options));

            ParquetColumnType[]? first = null;
            var recordedSizes = new Dictionary<string, int?>(StringComparer.Ordinal);
            long rows = 0;
            for (int f = 0; f < _files.Length; f++)
            {
                var reader = ParquetFiles.Open(_files[f]);
                try
                {
                    if (f == 0 && requested.Count == 0)
                        requested = reader.Schema.Fields.Select(field => field.Name).ToList();
                    var columns = Resolve(reader, _files[f], requested, f == 0 ? null : first, f == 0 ? null : _files[0], columnOptions);
                    first ??= columns;
                    foreach (var column in columns.Where(c => c.IsVector))
                    {
                        int? size = reader.CustomMetadata.TryGetValue(VectorSizeMetadataPrefix + column.Name, out string? text)
                            && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int recorded) && recorded > 0 ? recorded : null;
                        // Every file must record the same size for it to count.
                        recordedSizes[column.Name] = f == 0 || (recordedSizes.TryGetValue(column.Name, out var earlier) && earlier == size) ? size : null;
                    }
                    rows += reader.RowGroups.Sum(g => g.RowCount);
                }
                finally
                {
                    ParquetFiles.Close(reader);
                }
            }
            _columns = first!;
            _rowCount = rows;

            var sizes = options.VectorSizes ?? new Dictionary<string, int>();
            foreach (var (name, size) in sizes)
            {
                var column = _columns.FirstOrDefault(c => c.Name == name);
                if (column is null)
                    throw new ArgumentException($"LoadFromParquet: VectorSizes names '{name}', which is not among the columns loaded ({ParquetColumnType.Quote(_columns.Select(c => c.Name))}).", nameof(options));
                if (!column.IsVector)
                    throw new ArgumentException($"LoadFromParquet: VectorSizes names '{name}', a {column.ParquetType} column of single values; only LIST columns have a vector size.", nameof(options));
                if (size < 0)
                    throw new ArgumentOutOfRangeException(nameof(options), size, $"LoadFromParquet: VectorSizes['{name}'] = {size} is invalid; use 1 or more for a known size, or 0 for a variable-size vector.");
            }
            _vectorSizes = _columns.Select(c => !c.IsVector ? 0 : sizes.TryGetValue(c.Name, out int size) ? size : recordedSizes.GetValueOrDefault(c.Name) ?? 0).ToArray();

            var builder = new DataViewSchema.Builder();
            for (int c = 0; c < _columns.Length; c++)
                builder.AddColumn(_columns[c].Name, _columns[c].ColumnType(_vectorSizes[c]));
            Schema = builder.ToSchema();
        }

        /// <summary>The files read, in the order their rows come.</summary>
        public IReadOnlyList<string> Files => _files;

        /// <inheritdoc/>
        public DataViewSchema Schema { get; }

        /// <summary>False: rows come in file order.</summary>
        public bool CanShuffle => false;

        /// <summary>The number of rows of all the files, from their footers.</summary>
        public long? GetRowCount() => _rowCount;

        /// <inheritdoc/>
        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => OpenCursor(columnsNeeded);

        /// <summary>One cursor (the rows are read in order, by one reader).</summary>
        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => new DataViewRowCursor[] { OpenCursor(columnsNeeded) };

        /// <summary>A cursor that also tells where its current row is (for messages).</summary>
        internal Cursor OpenCursor(IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            var active = new bool[_columns.Length];
            foreach (var column in columnsNeeded ?? Array.Empty<DataViewSchema.Column>())
            {
                if (column.Index < 0 || column.Index >= active.Length || Schema[column.Index].Name != column.Name)
                    throw new ArgumentException($"The column '{column.Name}' is not a column of this Parquet data view.", nameof(columnsNeeded));
                active[column.Index] = true;
            }
            return new Cursor(this, active);
        }

        /// <summary>
        /// The mapping of the <paramref name="names"/> columns in <paramref name="reader"/>'s file; each must exist, map to an
        /// ML.NET type and (when <paramref name="expected"/> is given) be of the type it has in the first file.
        /// </summary>
        private static ParquetColumnType[] Resolve(ParquetReader reader, string file, IReadOnlyList<string> names, ParquetColumnType[]? expected, string? firstFile, IReadOnlyDictionary<string, string>? columnOptions = null)
        {
            var fields = reader.Schema.Fields;
            var result = new ParquetColumnType[names.Count];
            for (int c = 0; c < names.Count; c++)
            {
                string name = names[c];
                var field = fields.FirstOrDefault(f => f.Name == name);
                if (field is null)
                {
                    var other = fields.FirstOrDefault(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
                    string hint = other is not null ? $" Names are matched exactly: did you mean '{other.Name}'?"
                        : firstFile is not null ? $" The folder's first file, {firstFile}, has it: every file of a folder must have the same columns."
                        : columnOptions is not null && columnOptions.TryGetValue(name, out string? option) ? $" Name the column with {option}."
                        : " Give the name of a column the file has.";
                    throw new FormatException($"{file}: column '{name}' was not found; the file has {ParquetColumnType.Quote(fields.Select(f => f.Name))}.{hint}");
                }
                var type = ParquetColumnType.Map(field, out string? unsupported)
                    ?? throw new FormatException(
                        $"{file}: column '{name}' is {unsupported}, which is not read; supported: {ParquetColumnType.SupportedTypes}. Cast it (for example to DOUBLE or STRING) when writing the file, or leave it out of the columns to load.");
                if (expected is not null && !type.SameTypeAs(expected[c]))
                {
                    throw new FormatException(
                        $"{file}: column '{name}' is {type.ParquetType}, but it is {expected[c].ParquetType} in the folder's first file, {firstFile}; every file of a folder must have the same column types. Rewrite the files with one type.");
                }
                result[c] = type;
            }
            return result;
        }

        /// <summary>Reads the files in order, one row group at a time, only the active columns.</summary>
        internal sealed class Cursor : DataViewRowCursor
        {
            private readonly ParquetDataView _view;
            private readonly bool[] _active;
            private readonly ParquetColumnReader?[] _readers;
            private ParquetReader? _reader;
            private ParquetColumnType[]? _fileColumns;
            private int _file = -1;
            private int _group = -1;
            private long _fileRow;
            private long _groupFirstRow;
            private int _groupRows;
            private int _rowInGroup;
            private long _position = -1;
            private bool _done;

            public Cursor(ParquetDataView view, bool[] active)
            {
                _view = view;
                _active = active;
                _readers = new ParquetColumnReader?[active.Length];
                for (int c = 0; c < active.Length; c++)
                {
                    if (active[c])
                        _readers[c] = ParquetColumnReader.Create(view._columns[c], view._vectorSizes[c]);
                }
            }

            public override DataViewSchema Schema => _view.Schema;

            public override long Position => _position;

            public override long Batch => 0;

            /// <summary>The file of the current row.</summary>
            public string CurrentFile => _file >= 0 && _file < _view._files.Length ? _view._files[_file] : "";

            /// <summary>The current row's index in its file (from 0).</summary>
            public long RowInFile => _groupFirstRow + _rowInGroup;

            /// <summary>"file: row N" for messages.</summary>
            public string Where => string.Create(CultureInfo.InvariantCulture, $"{CurrentFile}: row {RowInFile:N0} (rows count from 0)");

            public override bool MoveNext()
            {
                if (_done)
                    return false;
                while (_rowInGroup + 1 >= _groupRows)
                {
                    if (!NextRowGroup())
                    {
                        _done = true;
                        CloseFile();
                        return false;
                    }
                }
                _rowInGroup++;
                _position++;
                return true;
            }

            /// <summary>Loads the next row group (of this file or the next); false at the end.</summary>
            private bool NextRowGroup()
            {
                while (true)
                {
                    if (_reader is null || _group + 1 >= _reader.RowGroupCount)
                    {
                        CloseFile();
                        if (++_file >= _view._files.Length)
                            return false;
                        string file = _view._files[_file];
                        _reader = ParquetFiles.Open(file);
                        // The file may have changed since the loader checked it.
                        _fileColumns = Resolve(_reader, file, _view._columns.Select(c => c.Name).ToList(), _view._columns, _view._files[0]);
                        _group = -1;
                        _fileRow = 0;
                        continue;
                    }
                    _group++;
                    var group = _reader.OpenRowGroupReader(_group);
                    long rows = group.RowCount;
                    if (rows > int.MaxValue)
                        throw new NotSupportedException($"{CurrentFile}: row group {_group} has {rows:N0} rows, more than a cursor holds; rewrite the file with smaller row groups.");
                    _groupFirstRow = _fileRow;
                    _fileRow += rows;
                    if (rows == 0)
                        continue;
                    var place = new RowGroupPlace(_view._files[_file], _group, _groupFirstRow);
                    for (int c = 0; c < _readers.Length; c++)
                        _readers[c]?.Load(group, _fileColumns![c], place);
                    _groupRows = (int)rows;
                    _rowInGroup = -1;
                    return true;
                }
            }

            private void CloseFile()
            {
                if (_reader is not null)
                    ParquetFiles.Close(_reader);
                _reader = null;
                _groupRows = 0;
                _rowInGroup = -1;
            }

            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Index < 0 || column.Index >= _active.Length)
                    throw new ArgumentOutOfRangeException(nameof(column), $"The column '{column.Name}' is not a column of this Parquet data view.");
                var reader = _readers[column.Index]
                    ?? throw new InvalidOperationException($"The column '{column.Name}' is not active in this cursor; ask for it when creating the cursor.");
                return reader.Getter(() => _rowInGroup) as ValueGetter<TValue>
                    ?? throw new InvalidOperationException($"The column '{column.Name}' is {Schema[column.Index].Type}; it cannot be read as {typeof(TValue).Name}.");
            }

            public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    CloseFile();
                base.Dispose(disposing);
            }
        }
    }
}
