using System;
using Embeddings.Evaluation;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings analogy</c>: word-analogy accuracy of a vector file, as in the evaluation protocol.</summary>
    internal static class AnalogyCommand
    {
        private const string Help = """
            usage: embeddings analogy --vectors FILE --questions questions-words.txt [--restrict 30000]
              --vectors FILE     word2vec text or binary file, most frequent word first
              --questions FILE   analogy questions (': section' lines, then 'a b c d' lines)
              --restrict N       search and accept only the N most frequent words (30000, as compute-accuracy and gensim)
            Prints each section's accuracy, then semantic, syntactic and total accuracy and the questions seen.
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help")
            {
                Console.WriteLine(Help);
                return args.Length == 0 ? 2 : 0;
            }
            var line = new CommandLine("analogy", args, new[] { "--vectors", "--questions", "--restrict" }, Array.Empty<string>());
            var table = EmbeddingTable.LoadWord2VecFormat(line.Required("--vectors"));
            var result = WordAnalogyEvaluator.Evaluate(table, line.Required("--questions"), line.Int("--restrict", 30_000));
            Console.Write(result);
            return 0;
        }
    }
}
