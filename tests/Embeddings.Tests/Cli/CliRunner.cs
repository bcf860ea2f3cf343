using System.IO;
using System.Threading;
using Embeddings.Cli;

namespace Embeddings.Tests.Cli
{
    /// <summary>Runs the embeddings tool in-process, as a user would from the command line, and captures what it prints.</summary>
    internal static class CliRunner
    {
        public sealed record Result(int ExitCode, string Output, string Error)
        {
            public override string ToString() => $"exit code {ExitCode}\nstdout:\n{Output}\nstderr:\n{Error}";
        }

        public static Result Run(params string[] args) => Run(CancellationToken.None, args);

        public static Result Run(CancellationToken cancellation, params string[] args)
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int code = EmbeddingsCli.Run(args, cancellation, output, error);
            return new Result(code, output.ToString(), error.ToString());
        }
    }
}
