using System.Collections.Generic;
using System.Linq;
using DuckDB.NET.Data;

namespace Embeddings.Tests.Parquet
{
    /// <summary>
    /// The other Parquet implementation of the tests: DuckDB (native, through DuckDB.NET) writes the files our loader reads
    /// (<c>COPY ... TO 'x.parquet' (FORMAT PARQUET)</c>) and reads the files we write (<c>read_parquet</c>).
    /// </summary>
    internal static class DuckDb
    {
        /// <summary>Runs statements in a fresh in-memory database.</summary>
        public static void Execute(params string[] statements)
        {
            using var connection = new DuckDBConnection("DataSource=:memory:");
            connection.Open();
            foreach (string statement in statements)
            {
                using var command = connection.CreateCommand();
                command.CommandText = statement;
                command.ExecuteNonQuery();
            }
        }

        /// <summary>The rows of a query, each as its column values (DuckDB.NET's types: lists are List&lt;T&gt;).</summary>
        public static List<object?[]> Query(string sql)
        {
            using var connection = new DuckDBConnection("DataSource=:memory:");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            using var reader = command.ExecuteReader();
            var rows = new List<object?[]>();
            while (reader.Read())
            {
                var row = new object?[reader.FieldCount];
                for (int i = 0; i < row.Length; i++)
                    row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
                rows.Add(row);
            }
            return rows;
        }

        /// <summary>A LIST value of FLOATs (DuckDB.NET gives List&lt;float&gt;, or List&lt;float?&gt; with nulls); a null is NaN.</summary>
        public static float[] Floats(object? list) =>
            ((System.Collections.IEnumerable)list!).Cast<object?>().Select(v => v is null ? float.NaN : System.Convert.ToSingle(v, System.Globalization.CultureInfo.InvariantCulture)).ToArray();

        /// <summary>A LIST value of STRINGs; a null element is null.</summary>
        public static string?[] Strings(object? list) => ((System.Collections.IEnumerable)list!).Cast<object?>().Select(v => (string?)v).ToArray();

        /// <summary>A path as a SQL string literal.</summary>
        public static string Literal(string path) => "'" + path.Replace("'", "''", System.StringComparison.Ordinal) + "'";
    }
}
