using System;

namespace Embeddings.Cli.Data
{
    /// <summary>
    /// The vector files of the commands: word2vec format, or Parquet when the name ends in .parquet (a <c>key</c> STRING
    /// column and a <c>vector</c> LIST&lt;FLOAT&gt; column, see <see cref="EmbeddingTableParquet"/>).
    /// </summary>
    internal static class EmbeddingFiles
    {
        /// <summary>True when <paramref name="path"/> names a Parquet file to write.</summary>
        public static bool IsParquet(string path) => path.EndsWith(ParquetFiles.Extension, StringComparison.OrdinalIgnoreCase);

        /// <summary>Writes <paramref name="table"/> (through a temporary file) in the format the name asks for.</summary>
        public static void Save(EmbeddingTable table, string path, bool binary = false)
        {
            if (IsParquet(path))
                table.SaveParquet(path);
            else
                table.SaveWord2VecFormat(path, binary);
        }

        /// <summary>Reads a table from a word2vec file (text or binary), or from Parquet (a .parquet file or a folder of them).</summary>
        public static EmbeddingTable Load(string path) =>
            ParquetInput.IsParquet(path) ? EmbeddingTableParquet.LoadParquet(path) : EmbeddingTable.LoadWord2VecFormat(path);
    }
}
