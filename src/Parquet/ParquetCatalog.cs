using System;
using Embeddings;

namespace Microsoft.ML
{
    /// <summary>Parquet in and out for ML.NET: <c>mlContext.Data.LoadFromParquet</c> and <c>mlContext.Data.SaveAsParquet</c>.</summary>
    public static class ParquetCatalog
    {
        /// <summary>
        /// Loads Parquet data as a streamed <see cref="IDataView"/>: a .parquet file, or every .parquet file of a folder
        /// (in name order; all with the same columns). Only <paramref name="columns"/> are read, one row group at a time.
        /// See <see cref="ParquetDataView"/> for the type mapping.
        /// </summary>
        /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
        /// <param name="path">A .parquet file or a folder of them.</param>
        /// <param name="columns">The columns to load, in this order; none: every column of the files.</param>
        /// <returns>A <see cref="ParquetDataView"/>.</returns>
        /// <exception cref="System.IO.FileNotFoundException">The path names neither a file nor a folder.</exception>
        /// <exception cref="FormatException">
        /// The folder holds no .parquet file, a file is not Parquet, or a column is missing, of a type that is not read,
        /// or of another type than in the folder's first file (the message names file and column).
        /// </exception>
        public static IDataView LoadFromParquet(this DataOperationsCatalog catalog, string path, params string[] columns)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            var options = new ParquetDataView.Options();
            foreach (string column in columns ?? Array.Empty<string>())
                options.Columns.Add(column);
            return new ParquetDataView(path, options);
        }

        /// <summary>
        /// Loads Parquet data as a streamed <see cref="IDataView"/> with the columns and vector sizes of
        /// <paramref name="options"/>; see <see cref="LoadFromParquet(DataOperationsCatalog, string, string[])"/>.
        /// </summary>
        /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
        /// <param name="path">A .parquet file or a folder of them.</param>
        /// <param name="options">The columns to load and the known sizes of list columns.</param>
        /// <returns>A <see cref="ParquetDataView"/>.</returns>
        public static IDataView LoadFromParquet(this DataOperationsCatalog catalog, string path, ParquetDataView.Options options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return new ParquetDataView(path, options);
        }

        /// <summary>
        /// Writes <paramref name="data"/> to a Parquet file, streamed one row group at a time, through a temporary file (a
        /// failure leaves no file, and an existing file untouched). Single values become required columns (Text: STRING,
        /// DateTime: TIMESTAMP in microseconds), vectors LIST columns of required elements (a known size is recorded in the
        /// file's metadata, so that <see cref="LoadFromParquet(DataOperationsCatalog, string, string[])"/> reads it back as
        /// a known-size vector). Key columns are refused: map them back to their values first.
        /// </summary>
        /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
        /// <param name="data">The data to write.</param>
        /// <param name="path">The .parquet file to write.</param>
        /// <param name="columns">The columns to write, in this order, under their own names; none: every visible column.</param>
        /// <exception cref="ArgumentOutOfRangeException">A column is missing or of a type that can't be written.</exception>
        public static void SaveAsParquet(this DataOperationsCatalog catalog, IDataView data, string path, params string[] columns)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            var options = new ParquetSaveOptions();
            foreach (string column in columns ?? Array.Empty<string>())
                options.Columns.Add(new InputOutputColumnPair(column));
            ParquetDataWriter.Write(data, path, options);
        }

        /// <summary>
        /// Writes <paramref name="data"/> to a Parquet file with the columns, names, row index and row group size of
        /// <paramref name="options"/>; see <see cref="SaveAsParquet(DataOperationsCatalog, IDataView, string, string[])"/>.
        /// A walk corpus, for instance: <c>SaveAsParquet(walks.GenerateWalks(10), "walks.parquet", new ParquetSaveOptions
        /// { RowIndexColumnName = "walk", Columns = { new("nodes", "Walk") } })</c> writes one row per walk (its index and
        /// its nodes as a LIST of STRING).
        /// </summary>
        /// <param name="catalog">The data catalog (<c>mlContext.Data</c>).</param>
        /// <param name="data">The data to write.</param>
        /// <param name="path">The .parquet file to write.</param>
        /// <param name="options">What to write.</param>
        /// <returns>The number of rows written.</returns>
        public static long SaveAsParquet(this DataOperationsCatalog catalog, IDataView data, string path, ParquetSaveOptions options)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            return ParquetDataWriter.Write(data, path, options);
        }
    }
}
