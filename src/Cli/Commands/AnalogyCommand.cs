using System.CommandLine;
using Embeddings.Evaluation;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings analogy</c>: word-analogy accuracy of a vector file, as in the evaluation protocol.</summary>
    internal sealed class AnalogyCommand : CliCommand
    {
        /// <summary>The protocol's vocabulary cut (compute-accuracy and gensim).</summary>
        private const int ProtocolRestrict = 30_000;

        private readonly Option<string> _vectors = CommonOptions.Input("--vectors", "word2vec text or binary file, most frequent word first, or Parquet (key, vector columns)");
        private readonly Option<string> _questions = CommonOptions.Input("--questions", "analogy questions (': section' lines, then 'a b c d' lines), e.g. questions-words.txt");
        private readonly Option<int> _restrict = CliOption.Int("--restrict", "search and accept only the N most frequent words (as compute-accuracy and gensim)").Default(ProtocolRestrict).AtLeast(1);

        public AnalogyCommand()
            : base("analogy", "Score a vector file on word analogies (questions-words.txt).",
                "Prints each section's accuracy, then semantic, syntactic and total accuracy and the questions seen.")
        {
            Add(_vectors, _questions, _restrict);
        }

        protected override int Run(CommandRun run)
        {
            string vectors = run.InputFileOrParquetFolder(_vectors);
            string questions = run.InputFile(_questions);
            var table = Data.EmbeddingFiles.Load(vectors);
            run.ThrowIfCancelled();
            var result = WordAnalogyEvaluator.Evaluate(table, questions, run.Get(_restrict));
            run.Out.Write(result);
            return ExitCodes.Success;
        }
    }
}
