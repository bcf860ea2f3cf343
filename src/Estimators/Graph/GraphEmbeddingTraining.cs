using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using Embeddings.Graph;
using Embeddings.Infrastructure;
using Embeddings.SkipGram;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Embeddings
{
    /// <summary>Validation, graph building, walks and skip-gram shared by the node2vec and DeepWalk estimators.</summary>
    internal static class GraphEmbeddingTraining
    {
        public static void Validate(GraphEmbeddingOptions o, string component, double p, double q)
        {
            ValidateEdgeColumns(component, o.SourceColumnName, o.TargetColumnName, o.WeightColumnName);
            if (o.OutputColumns.Count == 0)
                throw new ArgumentException($"{component}: OutputColumns is empty; add at least one (output, input) pair, for example (\"{o.SourceColumnName}Vector\", \"{o.SourceColumnName}\").", nameof(o.OutputColumns));
            var outputs = new HashSet<string>();
            foreach (var (output, input) in o.OutputColumns)
            {
                if (string.IsNullOrWhiteSpace(output) || string.IsNullOrWhiteSpace(input))
                    throw new ArgumentException($"{component}: OutputColumns has an empty column name in ('{output}', '{input}').", nameof(o.OutputColumns));
                if (!outputs.Add(output))
                    throw new ArgumentException($"{component}: output column '{output}' is named twice in OutputColumns.", nameof(o.OutputColumns));
                if (o.Bipartite && input != o.SourceColumnName && input != o.TargetColumnName)
                    throw new ArgumentException($"{component}: OutputColumns input '{input}' is neither SourceColumnName '{o.SourceColumnName}' nor TargetColumnName '{o.TargetColumnName}'; in a bipartite graph each input must name one of them, to choose its node domain.", nameof(o.OutputColumns));
            }
            if (o.Bipartite && o.KeepContextVectors)
                throw new NotSupportedException($"{component}: KeepContextVectors is not supported with Bipartite = true (the context vectors of the two node domains would share one table); train a non-bipartite graph, or leave KeepContextVectors false.");
            if (o.Bipartite && o.SourceColumnName == o.TargetColumnName)
                throw new ArgumentException($"{component}: Bipartite = true needs two different columns; SourceColumnName and TargetColumnName are both '{o.SourceColumnName}'.", nameof(o.Bipartite));
            ValidateTraining(o, component, p, q);
            Partitioned.PartitionedGraphTraining.Validate(o, component);
        }

        /// <summary>The walk and skip-gram settings of <paramref name="o"/> (not its columns): shared with the cluster's graph jobs.</summary>
        public static void ValidateTraining(GraphEmbeddingOptions o, string component, double p, double q)
        {
            ValidateWalks(component, o.WalkLength, o.InvalidWeights, p, q);
            OptionChecks.Check(component, o.WalksPerNode >= 1, nameof(o.WalksPerNode), o.WalksPerNode, "use 1 or more (10 is the node2vec default)");
            OptionChecks.Check(component, o.EmbeddingDimension >= 1 && o.EmbeddingDimension <= 100_000, nameof(o.EmbeddingDimension), o.EmbeddingDimension, "use 1 to 100,000 (128 is the node2vec default)");
            OptionChecks.Check(component, o.WindowSize >= 1, nameof(o.WindowSize), o.WindowSize, "use 1 or more (10 is the node2vec default)");
            OptionChecks.Check(component, o.NegativeSampleCount >= 1 && o.NegativeSampleCount <= 1000, nameof(o.NegativeSampleCount), o.NegativeSampleCount, "use 1 to 1000 (5 is usual)");
            OptionChecks.Check(component, o.SamplingThreshold >= 0 && o.SamplingThreshold < 1, nameof(o.SamplingThreshold), o.SamplingThreshold, "use a value in [0, 1) (1e-3 is usual)");
            OptionChecks.Check(component, o.Epochs >= 1, nameof(o.Epochs), o.Epochs, "use 1 or more");
            OptionChecks.Check(component, o.LearningRate > 0 && o.LearningRate <= 1, nameof(o.LearningRate), o.LearningRate, "use a value in (0, 1] (0.025 is usual)");
            OptionChecks.Check(component, o.MinCount >= 1, nameof(o.MinCount), o.MinCount, "use 1 or more");
            OptionChecks.Check(component, o.NumberOfThreads is null || o.NumberOfThreads >= 1, nameof(o.NumberOfThreads), o.NumberOfThreads, "use null (all cores) or 1 or more");
        }

        /// <summary>The edge columns of a graph: source and target named, the weight column null or named.</summary>
        public static void ValidateEdgeColumns(string component, string source, string target, string? weight)
        {
            if (string.IsNullOrWhiteSpace(source))
                throw new ArgumentException($"{component}: SourceColumnName is empty; name the column of edge sources.", "SourceColumnName");
            if (string.IsNullOrWhiteSpace(target))
                throw new ArgumentException($"{component}: TargetColumnName is empty; name the column of edge targets.", "TargetColumnName");
            if (weight is not null && string.IsNullOrWhiteSpace(weight))
                throw new ArgumentException($"{component}: WeightColumnName is blank; name the weight column or leave it null.", "WeightColumnName");
        }

        /// <summary>The most nodes one walk may have (2^26).</summary>
        public const int MaxWalkLength = 1 << 26;

        /// <summary>The walk settings shared by the embedding estimators and <see cref="GraphWalkEstimator"/>.</summary>
        public static void ValidateWalks(string component, int walkLength, InvalidEdgeWeightHandling invalidWeights, double p, double q)
        {
            OptionChecks.Check(component, walkLength >= 2, "WalkLength", walkLength, "use 2 or more nodes per walk (80 is the node2vec default)");
            // Each training thread holds its current walk (and the walk's token buffer) in memory.
            if (walkLength > MaxWalkLength)
                throw new NotSupportedException($"{component}: WalkLength = {walkLength:N0} is longer than one walk may be ({MaxWalkLength:N0} nodes: each thread holds its walk in memory); lower WalksPerNode or WalkLength (80 is the node2vec default).");
            OptionChecks.Check(component, Enum.IsDefined(invalidWeights), "InvalidWeights", invalidWeights, "use Reject or Drop");
            OptionChecks.Check(component, double.IsFinite(p) && p > 0, "ReturnParameter (p)", p, "use p > 0 (p = 1 with q = 1 gives DeepWalk walks)");
            OptionChecks.Check(component, double.IsFinite(q) && q > 0, "InOutParameter (q)", q, "use q > 0 (q = 1 with p = 1 gives DeepWalk walks)");
        }

        public static SchemaShape OutputShape(SchemaShape input, GraphEmbeddingOptions o, string component)
        {
            IdColumns.CheckId(input, o.SourceColumnName, component);
            IdColumns.CheckId(input, o.TargetColumnName, component);
            if (o.WeightColumnName is not null)
                IdColumns.CheckWeight(input, o.WeightColumnName, component);
            foreach (var (_, inputColumn) in o.OutputColumns)
                IdColumns.CheckId(input, inputColumn, component);
            var type = new VectorDataViewType(NumberDataViewType.Single, o.EmbeddingDimension);
            return SchemaChecks.Append(input, o.OutputColumns.Select(c => (c.OutputColumnName, (DataViewType)type)));
        }

        public static NodeEmbeddingTransformer Fit(MLContext context, IDataView edges, GraphEmbeddingOptions o, double p, double q, SecondOrderSampling sampling, string component)
        {
            ArgumentNullException.ThrowIfNull(edges);
            OutputShape(SchemaShapes.FromSchema(edges.Schema), o, component);
            return Fit(context, writer => GraphEdgeReader.Read(edges, o.SourceColumnName, o.TargetColumnName, o.WeightColumnName, (GraphBuilder)writer, component), o, p, q, sampling, component);
        }

        /// <summary>As <see cref="Fit(MLContext, IDataView, GraphEmbeddingOptions, double, double, SecondOrderSampling, string)"/>, with the edges written by <paramref name="writeEdges"/>.</summary>
        public static NodeEmbeddingTransformer Fit(MLContext context, Action<IEdgeWriter> writeEdges, GraphEmbeddingOptions o, double p, double q, SecondOrderSampling sampling, string component)
        {
            ArgumentNullException.ThrowIfNull(writeEdges);
            var host = ((IHostEnvironment)context).Register(component);
            int seed = o.Seed ?? host.Rand.Next();
            var builder = new GraphBuilder(o.Directed, o.Bipartite, o.KeepSelfLoops, o.InvalidWeights);
            writeEdges(builder);
            using var channel = host.Start("Training");
            using var cancellation = ContextCancellation.Watch(context, component, o.CancellationToken);
            var (all, sourceTable, targetTable, contextTable, summary) = Train(builder, o, p, q, sampling, seed, component, message => channel.Info(MessageSensitivity.None, message),
                o.KeepContextVectors, cancellation.Token);
            var columns = o.OutputColumns.Select(c => new InputOutputColumnPair(c.OutputColumnName, c.InputColumnName)).ToArray();
            var domains = o.OutputColumns.Select(c => o.Bipartite && c.InputColumnName == o.TargetColumnName ? 1 : 0).ToArray();
            return o.Bipartite
                ? new NodeEmbeddingTransformer(component, sourceTable, targetTable, true, columns, domains, contextTable, summary)
                : new NodeEmbeddingTransformer(component, all, all, false, columns, domains, contextTable, summary);
        }

        /// <summary>
        /// Freezes the graph of <paramref name="builder"/>, walks it and trains skip-gram on the walks. Returns the table of
        /// all nodes and, for a bipartite graph, the tables of the source and target domains (else the same table).
        /// </summary>
        public static (EmbeddingTable All, EmbeddingTable Source, EmbeddingTable Target, GraphEmbeddingSummary Summary) Train(
            GraphBuilder builder, GraphEmbeddingOptions o, double p, double q, SecondOrderSampling sampling, int seed, string component, Action<string>? log, CancellationToken cancellation)
        {
            var (all, source, target, _, summary) = Train(builder, o, p, q, sampling, seed, component, log, keepContextVectors: false, cancellation);
            return (all, source, target, summary);
        }

        /// <summary>
        /// As <see cref="Train(GraphBuilder, GraphEmbeddingOptions, double, double, SecondOrderSampling, int, string, Action{string}, CancellationToken)"/>,
        /// and also returns the context (output) vectors of all nodes when <paramref name="keepContextVectors"/> is set.
        /// </summary>
        public static (EmbeddingTable All, EmbeddingTable Source, EmbeddingTable Target, EmbeddingTable? Context, GraphEmbeddingSummary Summary) Train(
            GraphBuilder builder, GraphEmbeddingOptions o, double p, double q, SecondOrderSampling sampling, int seed, string component, Action<string>? log, bool keepContextVectors,
            CancellationToken cancellation)
        {
            int threads = o.NumberOfThreads ?? Environment.ProcessorCount;
            var graph = builder.Build(out long merged);
            long dropped = builder.DroppedInvalidWeights + builder.DroppedSelfLoops + builder.DroppedMissingNodes;
            if (graph.EdgeCount == 0)
                throw new InvalidOperationException($"{component}: the graph has no edges ({builder.RowsRead:N0} rows read, {dropped:N0} dropped); there is nothing to walk.");
            if (Partitioned.PartitionedTraining.Choose(o.Partitioning, graph.NodeCount, o.EmbeddingDimension, threads, component) is int partitions)
                return Partitioned.PartitionedGraphTraining.Train(builder, graph, merged, dropped, partitions, o, p, q, sampling, seed, threads, keepContextVectors, component, log, cancellation);

            var walker = new RandomWalker(graph, p, q, sampling);
            var walks = new WalkStream(graph, walker, o.WalksPerNode, o.WalkLength, seed);
            // Walks are generated on the fly and never stored: once here to count node visits (the vocabulary, the
            // subsampling and negative-sampling tables and the learning-rate schedule need the counts), then again by the
            // training threads in every epoch, each walk from its own random stream.
            var watch = Stopwatch.StartNew();
            var visits = WalkTokenCorpus.CountVisits(walks, threads, cancellation);
            var walkTime = watch.Elapsed;
            log?.Invoke(string.Create(CultureInfo.InvariantCulture,
                $"graph: {graph.NodeCount:N0} nodes, {graph.EdgeCount:N0} stored edges; {walks.WalkCount:N0} walks, {visits.Steps:N0} steps in {walkTime.TotalSeconds:F2} s ({visits.Steps / Math.Max(1e-9, walkTime.TotalSeconds) / 1e6:F1}M steps/s, {walker.Sampling}), generated on the fly"));

            var (vocabulary, nodeToVocabulary) = NodeVocabulary(graph, visits.NodeVisits, o.MinCount);
            using var corpus = WalkTokenCorpus.Create(walks, nodeToVocabulary, visits, threads, cancellation);
            var settings = new SkipGramEmbeddingEstimator.Options
            {
                OutputColumnName = "walks",
                EmbeddingDimension = o.EmbeddingDimension,
                WindowSize = o.WindowSize,
                NegativeSampleCount = o.NegativeSampleCount,
                SamplingThreshold = o.SamplingThreshold,
                Epochs = o.Epochs,
                LearningRate = o.LearningRate,
                MinCount = o.MinCount,
                NumberOfThreads = threads,
                KeepContextVectors = keepContextVectors,
                Progress = o.Progress,
            };
            var (all, context, training) = SkipGramTraining.Run(vocabulary, corpus, walks.WalkCount, corpus.SkippedWalks, settings, seed, log,
                $"the walks over '{o.SourceColumnName}' -> '{o.TargetColumnName}'", cancellation);
            var summary = new GraphEmbeddingSummary(graph.NodeCount, graph.EdgeCount, builder.RowsRead, merged, dropped, walks.WalkCount, visits.Steps, walker.Sampling, walkTime, training);
            if (!o.Bipartite)
                return (all, all, all, context, summary);
            var (sourceTable, targetTable) = SplitDomains(all, vocabulary);
            return (all, sourceTable, targetTable, context, summary);
        }

        /// <summary>Nodes visited at least <paramref name="minCount"/> times, most visited first (ties by node index).</summary>
        internal static (Vocabulary Vocabulary, int[] NodeToVocabulary) NodeVocabulary(CsrGraph graph, long[] counts, int minCount)
        {
            var order = new int[graph.NodeCount];
            int kept = 0;
            for (int v = 0; v < graph.NodeCount; v++)
            {
                if (counts[v] >= minCount)
                    order[kept++] = v;
            }
            Array.Sort(order, 0, kept, Comparer<int>.Create((a, b) => counts[a] != counts[b] ? counts[b].CompareTo(counts[a]) : a.CompareTo(b)));
            var map = new int[graph.NodeCount];
            Array.Fill(map, -1);
            var keys = new string[kept];
            var keptCounts = new long[kept];
            for (int i = 0; i < kept; i++)
            {
                map[order[i]] = i;
                // Vocabulary keys must be distinct: in a bipartite graph a user and an item may share an id.
                keys[i] = graph.NodeDomains[order[i]] == 0 ? graph.NodeKeys[order[i]] : "\u0001" + graph.NodeKeys[order[i]];
                keptCounts[i] = counts[order[i]];
            }
            return (new Vocabulary(keys, keptCounts), map);
        }

        private static (EmbeddingTable Source, EmbeddingTable Target) SplitDomains(EmbeddingTable all, Vocabulary vocabulary)
        {
            var sourceRows = new List<int>();
            var targetRows = new List<int>();
            for (int i = 0; i < vocabulary.Count; i++)
                (vocabulary.Keys[i].StartsWith('\u0001') ? targetRows : sourceRows).Add(i);
            return (Subset(all, sourceRows, strip: false), Subset(all, targetRows, strip: true));
        }

        private static EmbeddingTable Subset(EmbeddingTable all, List<int> rows, bool strip)
        {
            var store = new EmbeddingTableBuilder(rows.Count, all.Dimension);
            var keys = new string[rows.Count];
            for (int i = 0; i < rows.Count; i++)
            {
                string key = all.Keys[rows[i]];
                keys[i] = strip ? key.Substring(1) : key;
                all.Row(rows[i]).CopyTo(store.Row(i));
            }
            return store.Build(keys);
        }
    }
}
