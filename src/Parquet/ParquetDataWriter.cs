using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Threading;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;
using Parquet;
using Parquet.Schema;

namespace Embeddings
{
    /// <summary>How <c>mlContext.Data.SaveAsParquet</c> writes a data view.</summary>
    public sealed class ParquetSaveOptions
    {
        /// <summary>The most rows a row group holds when <see cref="RowGroupSize"/> is 0.</summary>
        public const int DefaultMaximumRowGroupSize = 1 << 20;

        /// <summary>
        /// The columns to write, in this order: each pair names the Parquet column (output) and the data view's column
        /// (input). Empty (the default): every visible column of the data view under its own name.
        /// </summary>
        public IList<InputOutputColumnPair> Columns { get; set; } = new List<InputOutputColumnPair>();

        /// <summary>
        /// When set, a first column of this name holds each row's position in the data view (INT64, from 0): the walk index
        /// of a walk corpus, for instance. Null (the default): no such column.
        /// </summary>
        public string? RowIndexColumnName { get; set; }

        /// <summary>
        /// The most rows in one row group, at least 1; 0 (the default) cuts a row group at about 64 MiB of buffered values
        /// or <see cref="DefaultMaximumRowGroupSize"/> rows. The writer holds one row group in memory.
        /// </summary>
        public int RowGroupSize { get; set; }
    }

    /// <summary>Writes a data view into a Parquet file, one row group at a time, through a temporary file.</summary>
    internal static class ParquetDataWriter
    {
        /// <summary>A row group is cut when its buffered values reach this size (unless a row count is given).</summary>
        internal const long TargetRowGroupBytes = 64L << 20;

        private const string Component = "SaveAsParquet";

        /// <summary>Writes <paramref name="data"/> to <paramref name="path"/>; returns the number of rows written.</summary>
        public static long Write(IDataView data, string path, ParquetSaveOptions options, CancellationToken cancellation = default)
        {
            ArgumentNullException.ThrowIfNull(data);
            ArgumentException.ThrowIfNullOrEmpty(path);
            ArgumentNullException.ThrowIfNull(options);
            OptionChecks.Check(Component, options.RowGroupSize >= 0, nameof(ParquetSaveOptions.RowGroupSize), options.RowGroupSize, "use 1 or more rows, or 0 to cut row groups at about 64 MiB");
            var pairs = options.Columns is { Count: > 0 }
                ? options.Columns.ToList()
                : data.Schema.Where(c => !c.IsHidden).Select(c => new InputOutputColumnPair(c.Name)).ToList();
            if (pairs.Count == 0 && options.RowIndexColumnName is null)
                throw new ArgumentException($"{Component}: the data view has no visible column to write; name the columns to write.", nameof(data));

            var names = pairs.Select(p => p.OutputColumnName).ToList();
            if (options.RowIndexColumnName is not null)
                names.Insert(0, options.RowIndexColumnName);
            var repeated = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (repeated is not null)
                throw new ArgumentException($"{Component}: two columns would be named '{repeated.Key}' in the file; give each output column its own name.", nameof(options));
            if (names.Any(string.IsNullOrEmpty))
                throw new ArgumentException($"{Component}: an output column name is empty; name every column.", nameof(options));

            var inputs = new List<DataViewSchema.Column>();
            var writers = new List<ParquetColumnWriter>();
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var pair in pairs)
            {
                var column = SchemaChecks.FindColumn(data.Schema, pair.InputColumnName, Component);
                var writer = ParquetColumnWriter.Create(pair.OutputColumnName, column.Type)
                    ?? throw SchemaChecks.TypeMismatch(Component, column.Name, ParquetColumnWriter.SupportedTypes, column.Type.ToString() ?? column.Type.RawType.Name,
                        (column.Type is KeyDataViewType || column.Type is VectorDataViewType { ItemType: KeyDataViewType })
                            ? "Map keys back to their values first (mlContext.Transforms.Conversion.MapKeyToValue), or convert them to a number."
                            : "Convert the column first (mlContext.Transforms.Conversion.ConvertType), or leave it out.");
                if (column.Type is VectorDataViewType { Size: > 0 } vector)
                    metadata[ParquetDataView.VectorSizeMetadataPrefix + pair.OutputColumnName] = vector.Size.ToString(CultureInfo.InvariantCulture);
                inputs.Add(column);
                writers.Add(writer);
            }
            DataField? index = options.RowIndexColumnName is null ? null : new DataField<long>(options.RowIndexColumnName, false);
            var fields = new List<Field>();
            if (index is not null)
                fields.Add(index);
            fields.AddRange(writers.Select(w => w.Field));
            var schema = new ParquetSchema(fields);

            long written = 0;
            AtomicFile.Write(path, stream =>
            {
                var file = ParquetWriter.CreateAsync(schema, stream, cancellationToken: cancellation).GetAwaiter().GetResult();
                try
                {
                    if (metadata.Count > 0)
                        file.CustomMetadata = metadata;
                    using var cursor = data.GetRowCursor(inputs);
                    for (int c = 0; c < writers.Count; c++)
                        writers[c].Bind(cursor, inputs[c]);
                    var positions = new List<long>();
                    int rows = 0;
                    while (cursor.MoveNext())
                    {
                        if ((written & 0xFFF) == 0)
                            cancellation.ThrowIfCancellationRequested();
                        if (index is not null)
                            positions.Add(cursor.Position);
                        long bytes = 0;
                        foreach (var writer in writers)
                        {
                            writer.Append();
                            bytes += writer.BufferedBytes;
                        }
                        rows++;
                        written++;
                        if (options.RowGroupSize > 0 ? rows == options.RowGroupSize : rows == ParquetSaveOptions.DefaultMaximumRowGroupSize || bytes >= TargetRowGroupBytes)
                        {
                            Flush(file, index, positions, writers);
                            rows = 0;
                        }
                    }
                    if (rows > 0)
                        Flush(file, index, positions, writers);
                }
                finally
                {
                    file.DisposeAsync().AsTask().GetAwaiter().GetResult();
                }
            });
            return written;
        }

        private static void Flush(ParquetWriter file, DataField? index, List<long> positions, List<ParquetColumnWriter> writers)
        {
            using var group = file.CreateRowGroup();
            if (index is not null)
            {
                group.WriteAsync<long>(index, positions.ToArray()).GetAwaiter().GetResult();
                positions.Clear();
            }
            foreach (var writer in writers)
                writer.Flush(group);
            group.CompleteValidate();
        }
    }
}
