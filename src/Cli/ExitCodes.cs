using System;

namespace Embeddings.Cli
{
    /// <summary>The exit codes of the <c>embeddings</c> tool (also listed by <c>embeddings --help</c> and in README.md).</summary>
    internal static class ExitCodes
    {
        /// <summary>The command did what it was asked (help and --version included).</summary>
        public const int Success = 0;

        /// <summary>The run failed on its data, files or I/O (or ran out of memory, or met an internal error).</summary>
        public const int Failure = 1;

        /// <summary>A mistake in the command line: unknown flag, bad or out-of-range value, missing required option.</summary>
        public const int Usage = 2;

        /// <summary>Cancelled (Ctrl+C or SIGTERM) before the outputs were written; no output file is left behind.</summary>
        public const int Cancelled = 130;

        /// <summary>The text of the help's "Exit codes" section.</summary>
        public const string Description = """
            Exit codes:
              0    success
              1    the run failed on its data, files or I/O (one line names the file, line or value), or ran out of memory
              2    usage error: unknown flag, bad or out-of-range value, missing required option
              130  cancelled by Ctrl+C (or SIGTERM): training stopped and no output file was written
            An unexpected error prints one line 'embeddings COMMAND: internal error: TYPE: MESSAGE' (exit 1);
            set EMBEDDINGS_DEBUG=1 to also print stack traces.
            """;
    }

    /// <summary>A mistake in the command line found after parsing: printed as one line, exit code 2.</summary>
    internal sealed class UsageException : Exception
    {
        public UsageException(string message)
            : base(message)
        {
        }
    }
}
