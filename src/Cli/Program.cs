using System;
using System.Collections.Generic;
using Embeddings.Cli.Commands;

namespace Embeddings.Cli
{
    internal static class Program
    {
        private static readonly Dictionary<string, (string Summary, Func<string[], int> Run)> s_commands = new(StringComparer.Ordinal)
        {
            ["word2vec"] = ("train word vectors with the word2vec tool's flags (-train -output -size ...)", Word2VecCommand.Run),
            ["analogy"] = ("score a vector file on word analogies (questions-words.txt)", AnalogyCommand.Run),
            ["item2vec"] = ("item (and context) vectors from a user-item interaction file", Item2VecCommand.Run),
            ["recommend-eval"] = ("leave-last-out evaluation of popularity, item2vec, node2vec, blend and the ranker on an interaction file", RecommendEvalCommand.Run),
            ["mf"] = ("matrix factorization (explicit SGD or implicit ALS) of an interaction file -> item and user factors", MatrixFactorizationCommand.Run),
            ["sweep"] = ("AutoML-style search over the recommendation pipeline under a time budget: leaderboard CSV, best model saved", SweepCommand.Run),
            ["similar"] = ("nearest keys of query keys in a vector file, exact or approximate (HNSW)", SimilarCommand.Run),
            ["node2vec"] = ("node2vec embeddings of an edge list (the reference implementation's flags)", GraphCommands.Node2Vec),
            ["deepwalk"] = ("DeepWalk embeddings of an edge list", GraphCommands.DeepWalk),
            ["node-classification"] = ("multi-label node classification of node vectors (Micro/Macro-F1 over splits)", GraphCommands.NodeClassification),
        };

        private static int Main(string[] args)
        {
            if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
            {
                Console.WriteLine("usage: embeddings COMMAND [options]   (embeddings COMMAND --help for a command's options)");
                foreach (var (name, (summary, _)) in s_commands)
                    Console.WriteLine($"  {name,-12} {summary}");
                return args.Length == 0 ? 2 : 0;
            }
            if (!s_commands.TryGetValue(args[0], out var command))
            {
                Console.Error.WriteLine($"embeddings: unknown command '{args[0]}'. Commands: {string.Join(", ", s_commands.Keys)}.");
                return 2;
            }
            try
            {
                return command.Run(args[1..]);
            }
            catch (UsageException e)
            {
                Console.Error.WriteLine($"embeddings {args[0]}: {e.Message}");
                return 2;
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException or FormatException or System.IO.IOException or NotSupportedException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"embeddings {args[0]}: {e.Message}");
                return 1;
            }
        }
    }

    /// <summary>A mistake in the command line: printed without a stack trace, exit code 2.</summary>
    internal sealed class UsageException : Exception
    {
        public UsageException(string message)
            : base(message)
        {
        }
    }
}
