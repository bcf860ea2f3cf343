using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// An input schema bound to the columns a transformer appends: the output schema (input columns first, appended
    /// columns after, hiding input columns of the same name) and the mapping of output to input columns.
    /// </summary>
    internal sealed class AppendingRowMapper : IRowToRowMapper
    {
        private readonly AppendedColumn[] _columns;

        public AppendingRowMapper(DataViewSchema inputSchema, IReadOnlyList<AppendedColumn> columns, ITransformer owner)
        {
            InputSchema = inputSchema;
            _columns = columns.ToArray();
            Owner = owner;
            var builder = new DataViewSchema.Builder();
            builder.AddColumns(inputSchema);
            foreach (var column in _columns)
            {
                foreach (int dependency in column.Dependencies)
                {
                    if ((uint)dependency >= (uint)inputSchema.Count)
                        throw new InvalidOperationException($"Appended column '{column.Name}' depends on input column {dependency}, which does not exist.");
                }
                builder.AddColumn(column.Name, column.Type, column.Annotations);
            }
            OutputSchema = builder.ToSchema();
        }

        public DataViewSchema InputSchema { get; }

        public DataViewSchema OutputSchema { get; }

        public ITransformer Owner { get; }

        public int InputCount => InputSchema.Count;

        public AppendedColumn Appended(int outputIndex) => _columns[outputIndex - InputSchema.Count];

        /// <summary>The input columns needed to compute <paramref name="dependingColumns"/> of the output.</summary>
        public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
        {
            var active = InputActivity(dependingColumns.Select(c => c.Index));
            return InputSchema.Where(c => active[c.Index]);
        }

        public bool[] InputActivity(IEnumerable<int> outputIndices)
        {
            var active = new bool[InputSchema.Count];
            foreach (int index in outputIndices)
            {
                if (index < InputSchema.Count)
                {
                    active[index] = true;
                }
                else
                {
                    foreach (int dependency in Appended(index).Dependencies)
                        active[dependency] = true;
                }
            }
            return active;
        }

        public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
        {
            ArgumentNullException.ThrowIfNull(input);
            if (input.Schema != InputSchema)
                throw new ArgumentException("The row's schema is not the schema this mapper was created for.", nameof(input));
            return new AppendingRow(this, input, activeColumns.Select(c => c.Index));
        }
    }

    /// <summary>An output row: input values pass through, appended values are computed by getters over the input row.</summary>
    internal sealed class AppendingRow : DataViewRow
    {
        private readonly AppendingRowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly Delegate?[] _getters;

        public AppendingRow(AppendingRowMapper mapper, DataViewRow input, IEnumerable<int> activeOutputColumns)
        {
            _mapper = mapper;
            _input = input;
            _getters = new Delegate?[mapper.OutputSchema.Count - mapper.InputCount];
            foreach (int index in activeOutputColumns)
            {
                if (index >= mapper.InputCount)
                    _getters[index - mapper.InputCount] ??= mapper.Appended(index).CreateGetter(input);
            }
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column)
        {
            if (column.Index < _mapper.InputCount)
                return _input.IsColumnActive(_input.Schema[column.Index]);
            return _getters[column.Index - _mapper.InputCount] is not null;
        }

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _mapper.InputCount)
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            var getter = _getters[column.Index - _mapper.InputCount]
                ?? throw new InvalidOperationException($"Column '{column.Name}' is not active in this row; request it when creating the cursor.");
            return getter as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}; it cannot be read as {typeof(TValue).Name}.");
        }
    }

    /// <summary>The lazy view returned by <see cref="RowMappingTransformer.Transform"/>.</summary>
    internal sealed class AppendingDataView : IDataView
    {
        private readonly IDataView _input;
        private readonly AppendingRowMapper _mapper;

        public AppendingDataView(IDataView input, AppendingRowMapper mapper)
        {
            _input = input;
            _mapper = mapper;
        }

        public bool CanShuffle => _input.CanShuffle;

        public DataViewSchema Schema => _mapper.OutputSchema;

        public long? GetRowCount() => _input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            int[] active = columnsNeeded.Select(c => c.Index).ToArray();
            var inputColumns = InputColumns(active);
            return new AppendingCursor(_mapper, _input.GetRowCursor(inputColumns, rand), active);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            int[] active = columnsNeeded.Select(c => c.Index).ToArray();
            var inputCursors = _input.GetRowCursorSet(InputColumns(active), n, rand);
            var cursors = new DataViewRowCursor[inputCursors.Length];
            for (int i = 0; i < cursors.Length; i++)
                cursors[i] = new AppendingCursor(_mapper, inputCursors[i], active);
            return cursors;
        }

        private IEnumerable<DataViewSchema.Column> InputColumns(int[] outputIndices)
        {
            bool[] activity = _mapper.InputActivity(outputIndices);
            return _input.Schema.Where(c => activity[c.Index]).ToArray();
        }
    }

    /// <summary>A cursor over the lazy view: moves the input cursor and computes appended values on demand.</summary>
    internal sealed class AppendingCursor : DataViewRowCursor
    {
        private readonly AppendingRowMapper _mapper;
        private readonly DataViewRowCursor _input;
        private readonly AppendingRow _row;

        public AppendingCursor(AppendingRowMapper mapper, DataViewRowCursor input, IEnumerable<int> activeOutputColumns)
        {
            _mapper = mapper;
            _input = input;
            _row = new AppendingRow(mapper, input, activeOutputColumns);
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override bool MoveNext() => _input.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _row.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _row.GetGetter<TValue>(column);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _input.Dispose();
            base.Dispose(disposing);
        }
    }
}
