using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Text;
using Embeddings.Cli.Data;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Cli.Commands
{
    /// <summary>
    /// <c>embeddings walks</c>: the random walks of an edge list (node2vec's second-order walks; p = q = 1 is DeepWalk),
    /// written as Parquet (one row per walk: <c>walk</c> INT64, <c>nodes</c> LIST&lt;STRING&gt;) or as text (one walk
    /// per line, nodes separated by a space).
    /// </summary>
    internal sealed class WalksCommand : CliCommand
    {
        private static readonly GraphWalkEstimator.Options s_defaults = new();
        private static readonly GraphEmbeddingOptions s_graphDefaults = new DeepWalkEstimator.Options();

        private readonly Option<string> _input = CommonOptions.Input("--input",
            "edge list ('source target [weight]' lines, as node2vec's --input), or Parquet (a .parquet file or a folder of them; see --source-column)");
        private readonly Option<string> _sourceColumn = CommonOptions.Column("--source-column", "Parquet input: the source node column (STRING or an integer)", "source");
        private readonly Option<string> _targetColumn = CommonOptions.Column("--target-column", "Parquet input: the target node column (STRING or an integer)", "target");
        private readonly Option<string> _weightColumn = CommonOptions.Column("--weight-column", "Parquet input with --weighted: the weight column (FLOAT, DOUBLE, INT32 or INT64)", "weight");
        private readonly Option<string> _output = CommonOptions.Output("--output",
            "the walks: Parquet when FILE ends in .parquet (one row per walk: walk INT64, nodes LIST<STRING>), else text (one walk per line, nodes separated by a space)");
        private readonly Option<int> _walkLength = CliOption.Int("--walk-length", "nodes per walk").Default(s_graphDefaults.WalkLength).AtLeast(2);
        private readonly Option<int> _numWalks = CliOption.Int("--num-walks", "walks started at every node").Default(s_graphDefaults.WalksPerNode).AtLeast(1);
        private readonly Option<double> _p = CliOption.Double("--p", "return parameter").Default(s_defaults.ReturnParameter).AtLeast(0, exclusive: true);
        private readonly Option<double> _q = CliOption.Double("--q", "in-out parameter").Default(s_defaults.InOutParameter).AtLeast(0, exclusive: true);
        private readonly Option<bool> _weighted = CliOption.Switch("--weighted", "read the weight of every edge (otherwise every edge weighs 1)");
        private readonly Option<bool> _directed = CliOption.Switch("--directed", "edges are one-way (otherwise undirected)");
        private readonly Option<int> _seed = CommonOptions.Seed();

        public WalksCommand()
            : base("walks", "Random walks of an edge list (node2vec p, q; DeepWalk with p = q = 1), written as Parquet or text.",
                "Each round starts one walk at every node, in a shuffled order; the walks depend on --seed only. The edges are held in memory.")
        {
            Add(_input, _sourceColumn, _targetColumn, _weightColumn, _output, _walkLength, _numWalks, _p, _q, _weighted, _directed, _seed);
            Speak("WalkLength", _walkLength);
            Speak("ReturnParameter", _p);
            Speak("InOutParameter", _q);
        }

        private sealed class Edge
        {
            public string Source { get; set; } = "";

            public string Target { get; set; } = "";

            public double Weight { get; set; }
        }

        /// <summary>Collects the edges the readers write.</summary>
        private sealed class EdgeList : IEdgeWriter
        {
            public List<Edge> Edges { get; } = new();

            public void AddEdge(ReadOnlySpan<char> source, ReadOnlySpan<char> target, double weight) =>
                Edges.Add(new Edge { Source = source.ToString(), Target = target.ToString(), Weight = weight });
        }

        protected override int Run(CommandRun run)
        {
            var watch = Stopwatch.StartNew();
            string input = run.InputFileOrParquetFolder(_input);
            string output = run.OutputFile(_output);
            bool parquetInput = ParquetInput.IsParquet(input), parquetOutput = EmbeddingFiles.IsParquet(output);
            bool weighted = run.Get(_weighted);
            if (!parquetInput)
                CommonOptions.ColumnsNeedParquet(run, input, _input, _sourceColumn, _targetColumn, _weightColumn);
            if (parquetInput && run.Given(_weightColumn) && !weighted)
                throw new UsageException($"{run.Flag(_weightColumn)} names the weight column, which is read with --weighted only; add --weighted, or leave {run.Flag(_weightColumn)} out.");

            var edges = new EdgeList();
            if (parquetInput)
            {
                ParquetInput.ReadEdges(input, new(run.Get(_sourceColumn), run.Flag(_sourceColumn)), new(run.Get(_targetColumn), run.Flag(_targetColumn)),
                    weighted ? new ParquetColumn(run.Get(_weightColumn), run.Flag(_weightColumn)) : null, rejectWhiteSpace: !parquetOutput, edges, run.Cancellation);
            }
            else
            {
                EdgeListReader.Read(input, weighted, edges, run.Cancellation);
            }
            if (edges.Edges.Count == 0)
                throw new FormatException($"{input}: no edges; give an edge list with at least one edge.");
            var ml = run.NewContext(run.Get(_seed));
            var walker = ml.Embeddings().GraphWalk(new GraphWalkEstimator.Options
            {
                SourceColumnName = nameof(Edge.Source),
                TargetColumnName = nameof(Edge.Target),
                WeightColumnName = weighted ? nameof(Edge.Weight) : null,
                Directed = run.Get(_directed),
                OutputColumnName = "Walk",
                WalkLength = run.Get(_walkLength),
                ReturnParameter = run.Get(_p),
                InOutParameter = run.Get(_q),
                Seed = run.Get(_seed),
            }).Fit(ml.Data.LoadFromEnumerable(edges.Edges));
            var walks = walker.GenerateWalks(run.Get(_numWalks));
            run.ThrowIfCancelled();
            long written;
            if (parquetOutput)
            {
                written = ParquetDataWriter.Write(walks, output, new ParquetSaveOptions { RowIndexColumnName = "walk", Columns = { new("nodes", "Walk") } }, run.Cancellation);
            }
            else
            {
                written = 0;
                AtomicFile.Write(output, stream =>
                {
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
                    using var cursor = walks.GetRowCursor(walks.Schema);
                    var getter = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(walks.Schema["Walk"]);
                    VBuffer<ReadOnlyMemory<char>> walk = default;
                    while (cursor.MoveNext())
                    {
                        if ((written & 0xFFF) == 0)
                            run.ThrowIfCancelled();
                        getter(ref walk);
                        bool first = true;
                        foreach (var node in walk.DenseValues())
                        {
                            if (!first)
                                writer.Write(' ');
                            writer.Write(node.Span);
                            first = false;
                        }
                        writer.WriteLine();
                        written++;
                    }
                });
            }
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{walker.NodeCount:N0} nodes, {edges.Edges.Count:N0} edges: {written:N0} walks of up to {walker.WalkLength} nodes written to {Path.GetFullPath(output)} in {watch.Elapsed.TotalSeconds:F2} s"));
            return ExitCodes.Success;
        }
    }
}
