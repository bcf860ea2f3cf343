using System;
using Embeddings.Infrastructure;
using Microsoft.ML;

namespace Embeddings.Graph
{
    /// <summary>Reads the edge rows of an <see cref="IDataView"/> into a <see cref="GraphBuilder"/>.</summary>
    internal static class GraphEdgeReader
    {
        public static void Read(IDataView edges, string sourceColumn, string targetColumn, string? weightColumn, GraphBuilder builder, string component)
        {
            var schema = edges.Schema;
            var shape = SchemaShapes.FromSchema(schema);
            IdColumns.CheckId(shape, sourceColumn, component);
            IdColumns.CheckId(shape, targetColumn, component);
            if (weightColumn is not null)
                IdColumns.CheckWeight(shape, weightColumn, component);
            var source = schema[sourceColumn];
            var target = schema[targetColumn];
            var columns = weightColumn is null ? new[] { source, target } : new[] { source, target, schema[weightColumn] };
            using var cursor = edges.GetRowCursor(columns);
            IdTextGetter readSource = IdColumns.GetIdGetter(cursor, source);
            IdTextGetter readTarget = IdColumns.GetIdGetter(cursor, target);
            Func<double> readWeight = weightColumn is null ? () => 1.0 : IdColumns.GetNumberGetter(cursor, schema[weightColumn]);
            string weightName = weightColumn ?? "(none)";
            long row = 0;
            while (cursor.MoveNext())
            {
                builder.AddEdge(row, readSource(), readTarget(), readWeight(), weightName);
                row++;
            }
        }
    }
}
