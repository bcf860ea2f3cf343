using System.CommandLine;
using Embeddings.Evaluation;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings node-classification</c>: multi-label node classification of node vectors, as in the node2vec paper.</summary>
    internal sealed class NodeClassificationCommand : CliCommand
    {
        /// <summary>liblinear's C = 1, as the node2vec paper's evaluation.</summary>
        private const double ProtocolL2 = 1;

        private readonly Option<string> _vectors = CommonOptions.Input("--vectors", "node vectors (word2vec text or binary, or Parquet with key, vector columns); nodes without a vector count as zeros");
        private readonly Option<string> _labels = CommonOptions.Input("--labels", "UTF-8 'node<TAB>label' lines (multi-label)");
        private readonly Option<string> _splits = CommonOptions.Input("--splits", "UTF-8 'split<TAB>node<TAB>is_train' lines (is_train 0 or 1)");
        private readonly Option<double> _l2 = CliOption.Double("--l2", "L2 weight of each logistic regression (as liblinear's C = 1)").Default(ProtocolL2)
            .Check(v => v >= 0 && v <= float.MaxValue, "must be a finite number of at least 0 (and at most 3.4e38)");

        public NodeClassificationCommand()
            : base("node-classification", "Multi-label node classification of node vectors (Micro/Macro-F1 over splits).",
                "One-vs-rest logistic regression, top-k prediction, Micro- and Macro-F1 per split, mean +- spread.")
        {
            Add(_vectors, _labels, _splits, _l2);
        }

        protected override int Run(CommandRun run)
        {
            var vectors = Data.EmbeddingFiles.Load(run.InputFileOrParquetFolder(_vectors));
            var labels = NodeClassificationEvaluator.ReadLabels(run.InputFile(_labels));
            var splits = NodeClassificationEvaluator.ReadSplits(run.InputFile(_splits));
            var ml = run.NewContext(seed: 0);
            run.ThrowIfCancelled();
            var result = NodeClassificationEvaluator.Evaluate(ml, vectors, labels, splits, (float)run.Get(_l2));
            run.ThrowIfCancelled();
            run.Out.Write(result);
            return ExitCodes.Success;
        }
    }
}
