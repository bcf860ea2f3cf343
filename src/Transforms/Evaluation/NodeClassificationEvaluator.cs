using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using Embeddings.Infrastructure;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Evaluation
{
    /// <summary>Micro- and Macro-F1 of one train/test split.</summary>
    public sealed record NodeClassificationSplit(int Split, int TrainNodes, int TestNodes, double MicroF1, double MacroF1);

    /// <summary>The result of <see cref="NodeClassificationEvaluator"/>: each split, and mean and spread (population standard deviation).</summary>
    public sealed record NodeClassificationResult(IReadOnlyList<NodeClassificationSplit> Splits)
    {
        /// <summary>Mean Micro-F1 over the splits.</summary>
        public double MicroF1 => Splits.Average(s => s.MicroF1);

        /// <summary>Mean Macro-F1 over the splits.</summary>
        public double MacroF1 => Splits.Average(s => s.MacroF1);

        /// <summary>Standard deviation of Micro-F1 over the splits (as numpy's std).</summary>
        public double MicroF1Spread => Spread(Splits.Select(s => s.MicroF1));

        /// <summary>Standard deviation of Macro-F1 over the splits (as numpy's std).</summary>
        public double MacroF1Spread => Spread(Splits.Select(s => s.MacroF1));

        private static double Spread(IEnumerable<double> values)
        {
            var list = values.ToList();
            double mean = list.Average();
            return Math.Sqrt(list.Average(v => (v - mean) * (v - mean)));
        }

        /// <summary>One line per split and the summary line.</summary>
        public override string ToString()
        {
            var text = new System.Text.StringBuilder();
            foreach (var s in Splits)
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"split {s.Split}: train {s.TrainNodes}, test {s.TestNodes}: Micro-F1 {s.MicroF1:F4}  Macro-F1 {s.MacroF1:F4}"));
            text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"Micro-F1 {MicroF1:F4} +- {MicroF1Spread:F4}   Macro-F1 {MacroF1:F4} +- {MacroF1Spread:F4}   ({Splits.Count} splits)"));
            return text.ToString();
        }
    }

    /// <summary>
    /// Multi-label node classification as in the DeepWalk and node2vec papers (docs/evaluation-protocols.md): one binary
    /// L2-regularised logistic regression per label (ML.NET's L-BFGS trainer, weight 1 on the squared norm, as
    /// liblinear's C = 1; ML.NET leaves the bias unregularised) on the training nodes' raw vectors; each test node gets
    /// its k highest-scoring labels, k its true number of labels; Micro-F1 and Macro-F1 (0 for a label whose
    /// denominator is 0). A label without positive (or negative) training nodes predicts a constant.
    /// </summary>
    public static class NodeClassificationEvaluator
    {
        private sealed class Example
        {
            public float[] Features { get; set; } = Array.Empty<float>();

            public bool Label { get; set; }
        }

        /// <summary>
        /// Reads <c>node TAB label</c> lines (a node with several labels has several lines). The file must be UTF-8; blank
        /// lines are skipped; any other line that is not a node id without white space, a tab and a label id &gt;= 0 is a
        /// <see cref="FormatException"/> naming the file, line and value, as is a file without labels.
        /// </summary>
        public static Dictionary<string, List<int>> ReadLabels(string path)
        {
            var labels = new Dictionary<string, List<int>>(StringComparer.Ordinal);
            foreach (var line in Utf8Lines.Read(path))
            {
                if (line.IsBlank)
                    continue;
                var fields = line.Text.Split('	');
                if (fields.Length != 2 || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out int label))
                    throw LineError(path, line, "expected 'node<TAB>label' with a label id >= 0");
                string node = Node(path, line, fields[0]);
                if (!labels.TryGetValue(node, out var list))
                    labels[node] = list = new List<int>();
                if (!list.Contains(label))
                    list.Add(label);
            }
            if (labels.Count == 0)
                throw new FormatException($"{path}: no labels found; expected 'node<TAB>label' lines.");
            return labels;
        }

        /// <summary>
        /// Reads <c>split TAB node TAB is_train</c> lines. The file must be UTF-8; blank lines are skipped; any other line
        /// that is not a split number, a node id without white space and 0 or 1 is a <see cref="FormatException"/> naming
        /// the file, line and value, as is a file without lines.
        /// </summary>
        public static List<(int Split, string Node, bool IsTrain)> ReadSplits(string path)
        {
            var splits = new List<(int, string, bool)>();
            foreach (var line in Utf8Lines.Read(path))
            {
                if (line.IsBlank)
                    continue;
                var fields = line.Text.Split('	');
                if (fields.Length != 3 || !int.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out int split) || fields[2] is not ("0" or "1"))
                    throw LineError(path, line, "expected 'split<TAB>node<TAB>is_train' with a split number >= 0 and is_train 0 or 1");
                splits.Add((split, Node(path, line, fields[1]), fields[2] == "1"));
            }
            if (splits.Count == 0)
                throw new FormatException($"{path}: no splits found; expected 'split<TAB>node<TAB>is_train' lines.");
            return splits;
        }

        private static string Node(string path, TextLine line, string node)
        {
            if (node.Length == 0 || Utf8Lines.ContainsWhiteSpace(node))
                throw LineError(path, line, $"the node id '{Utf8Lines.Quote(node)}' is empty or contains white space, which no vector file key can hold");
            return node;
        }

        private static FormatException LineError(string path, TextLine line, string problem, string? fix = null) =>
            Utf8Lines.LineError(path, line, problem, fix);

        /// <summary>Scores <paramref name="vectors"/> on every split; nodes without a vector are represented by zeros.</summary>
        public static NodeClassificationResult Evaluate(MLContext mlContext, EmbeddingTable vectors, IReadOnlyDictionary<string, List<int>> labels,
            IReadOnlyList<(int Split, string Node, bool IsTrain)> splits, float l2Regularization = 1f)
        {
            ArgumentNullException.ThrowIfNull(mlContext);
            ArgumentNullException.ThrowIfNull(vectors);
            int labelCount = labels.Values.SelectMany(l => l).DefaultIfEmpty(-1).Max() + 1;
            if (labelCount == 0)
                throw new ArgumentException("No labels were given.", nameof(labels));
            if (splits.Count == 0)
                throw new ArgumentException("No splits were given: each split needs 'split, node, is_train' entries.", nameof(splits));
            var results = new List<NodeClassificationSplit>();
            foreach (var group in splits.GroupBy(s => s.Split).OrderBy(g => g.Key))
            {
                var train = group.Where(s => s.IsTrain && labels.ContainsKey(s.Node)).Select(s => s.Node).ToArray();
                var test = group.Where(s => !s.IsTrain && labels.ContainsKey(s.Node)).Select(s => s.Node).ToArray();
                var trainFeatures = train.Select(n => Vector(vectors, n)).ToArray();
                var testData = mlContext.Data.LoadFromEnumerable(test.Select(n => new Example { Features = Vector(vectors, n) }), Schema(vectors.Dimension));
                var scores = new float[test.Length, labelCount];
                for (int label = 0; label < labelCount; label++)
                {
                    var y = train.Select(n => labels[n].Contains(label)).ToArray();
                    int positives = y.Count(v => v);
                    if (positives == 0 || positives == y.Length)
                    {
                        for (int i = 0; i < test.Length; i++)
                            scores[i, label] = positives == 0 ? 0f : 1f;
                        continue;
                    }
                    var trainData = mlContext.Data.LoadFromEnumerable(trainFeatures.Select((f, i) => new Example { Features = f, Label = y[i] }), Schema(vectors.Dimension));
                    var model = mlContext.BinaryClassification.Trainers.LbfgsLogisticRegression(new Microsoft.ML.Trainers.LbfgsLogisticRegressionBinaryTrainer.Options
                    {
                        L2Regularization = l2Regularization,
                        L1Regularization = 0,
                        OptimizationTolerance = 1e-7f,
                        NumberOfThreads = 1,
                    }).Fit(trainData);
                    int row = 0;
                    foreach (float p in model.Transform(testData).GetColumn<float>("Probability"))
                        scores[row++, label] = p;
                }
                results.Add(Score(group.Key, train.Length, test, labels, scores, labelCount));
            }
            return new NodeClassificationResult(results);
        }

        private static NodeClassificationSplit Score(int split, int trainCount, string[] test, IReadOnlyDictionary<string, List<int>> labels, float[,] scores, int labelCount)
        {
            var tp = new long[labelCount];
            var fp = new long[labelCount];
            var fn = new long[labelCount];
            for (int i = 0; i < test.Length; i++)
            {
                var truth = labels[test[i]];
                int k = truth.Count;
                // The k best labels; ties by label id.
                var predicted = Enumerable.Range(0, labelCount).OrderByDescending(l => scores[i, l]).ThenBy(l => l).Take(k).ToHashSet();
                for (int l = 0; l < labelCount; l++)
                {
                    bool isTrue = truth.Contains(l);
                    bool isPredicted = predicted.Contains(l);
                    if (isTrue && isPredicted)
                        tp[l]++;
                    else if (isPredicted)
                        fp[l]++;
                    else if (isTrue)
                        fn[l]++;
                }
            }
            long sumTp = tp.Sum(), sumFp = fp.Sum(), sumFn = fn.Sum();
            double micro = 2.0 * sumTp / Math.Max(1, 2 * sumTp + sumFp + sumFn);
            double macro = Enumerable.Range(0, labelCount).Average(l => 2 * tp[l] + fp[l] + fn[l] == 0 ? 0 : 2.0 * tp[l] / (2 * tp[l] + fp[l] + fn[l]));
            return new NodeClassificationSplit(split, trainCount, test.Length, micro, macro);
        }

        private static float[] Vector(EmbeddingTable vectors, string node)
        {
            var v = new float[vectors.Dimension];
            vectors.TryGetVector(node, v);
            return v;
        }

        private static SchemaDefinition Schema(int dimension)
        {
            var schema = SchemaDefinition.Create(typeof(Example));
            schema[nameof(Example.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, dimension);
            return schema;
        }
    }
}
