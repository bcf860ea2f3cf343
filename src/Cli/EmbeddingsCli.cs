using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using Embeddings.Cli.Commands;

namespace Embeddings.Cli
{
    /// <summary>
    /// The <c>embeddings</c> tool: its commands on System.CommandLine, help anywhere (<c>--help</c>, <c>-h</c>,
    /// <c>help COMMAND</c>), <c>--version</c>, and one line per error with the exit codes of <see cref="ExitCodes"/>.
    /// </summary>
    internal static class EmbeddingsCli
    {
        /// <summary>The tool's name in messages and help.</summary>
        public const string Name = "embeddings";

        /// <summary>Set to 1 to print the stack trace of an error.</summary>
        public const string DebugVariable = "EMBEDDINGS_DEBUG";

        /// <summary>
        /// How arguments are read: no POSIX bundling (the word2vec tool's <c>-train</c> is one flag, not -t -r -a ...) and
        /// no response files (a path starting with @ is a path).
        /// </summary>
        public static ParserConfiguration ParserConfiguration { get; } = new() { EnablePosixBundling = false, ResponseFileTokenReplacer = null };

        /// <summary>The tool's version (the informational version of this assembly).</summary>
        public static string Version =>
            typeof(EmbeddingsCli).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? typeof(EmbeddingsCli).Assembly.GetName().Version?.ToString() ?? "unknown";

        /// <summary>Every command, in the order help lists them.</summary>
        public static IEnumerable<CliCommand> Commands() => new CliCommand[]
        {
            new Word2VecCommand(),
            new AnalogyCommand(),
            new Item2VecCommand(),
            new RecommendEvalCommand(),
            new FitRecommenderCommand(),
            new RecommendCommand(),
            new MatrixFactorizationCommand(),
            new SweepCommand(),
            new SimilarCommand(),
            GraphEmbeddingCommand.Node2Vec(),
            GraphEmbeddingCommand.DeepWalk(),
            new WalksCommand(),
            new NodeClassificationCommand(),
        };

        public static RootCommand CreateRootCommand()
        {
            var root = new RootCommand("Train, evaluate and query embeddings: word2vec, node2vec, item2vec, matrix factorization, recommendation.")
            {
                HelpName = Name,
            };
            foreach (var option in root.Options)
            {
                if (option is HelpOption)
                    option.Action = new HelpWithExitCodes();
                else if (option is VersionOption)
                    option.Action = new PrintVersion();
            }
            foreach (var command in Commands())
                root.Subcommands.Add(command.Command);
            root.Subcommands.Add(ClusterCommands.Create());

            var help = new Command("help", "Show the help of the tool or of one command: embeddings help COMMAND.");
            var name = new Argument<string?>("command") { Arity = ArgumentArity.ZeroOrOne, Description = "the command to describe" };
            help.Arguments.Add(name);
            help.SetAction(result =>
            {
                string? target = result.GetValue(name);
                if (target is not null && !root.Subcommands.Any(c => c.Name == target))
                    throw new UsageException($"unknown command '{target}'. Commands: {CommandList(root)}.");
                return root.Parse(target is null ? new[] { "--help" } : new[] { target, "--help" }, ParserConfiguration).Invoke(result.InvocationConfiguration);
            });
            root.Subcommands.Add(help);
            return root;
        }

        /// <summary>
        /// Runs the tool on <paramref name="args"/> and returns the exit code. <paramref name="cancellation"/> stands for
        /// Ctrl+C: commands stop and write nothing (exit code 130). Output goes to the given writers (the console by default).
        /// </summary>
        public static int Run(IReadOnlyList<string> args, CancellationToken cancellation = default, TextWriter? output = null, TextWriter? error = null)
        {
            var root = CreateRootCommand();
            var configuration = new InvocationConfiguration
            {
                // Errors are reported here, as one line; Ctrl+C is handled by Program (which owns the token).
                EnableDefaultExceptionHandler = false,
                ProcessTerminationTimeout = null,
                Output = output ?? Console.Out,
                Error = error ?? Console.Error,
            };
            // Nothing asked: the tool's (or the command's) help, and the usage exit code.
            if (args.Count == 0 || (args.Count == 1 && args[0] != "help" && root.Subcommands.Any(c => c.Name == args[0])))
            {
                root.Parse(args.Append("--help").ToArray(), ParserConfiguration).Invoke(configuration);
                return ExitCodes.Usage;
            }

            var parsed = root.Parse(args, ParserConfiguration);
            var command = parsed.CommandResult.Command;
            string prefix = Name;
            for (var result = parsed.CommandResult; result is not null && result.Command != root; result = result.Parent as System.CommandLine.Parsing.CommandResult)
                prefix = prefix.Length == Name.Length ? $"{Name} {result.Command.Name}" : prefix.Insert(Name.Length, " " + result.Command.Name);
            if (parsed.Action is ParseErrorAction)
            {
                configuration.Error.WriteLine($"{prefix}: {FirstError(parsed, root)} See '{prefix} --help'.");
                return ExitCodes.Usage;
            }
            try
            {
                return parsed.InvokeAsync(configuration, cancellation).GetAwaiter().GetResult();
            }
            catch (Exception exception)
            {
                return Report(exception, prefix, cancellation, configuration.Error);
            }
        }

        private static string FirstError(ParseResult parsed, RootCommand root)
        {
            if (parsed.UnmatchedTokens.Count > 0)
            {
                string token = parsed.UnmatchedTokens[0];
                if (parsed.CommandResult.Command == root && !token.StartsWith('-'))
                    return $"unknown command '{token}'. Commands: {CommandList(root)}.";
                return token.StartsWith('-') && token.Length > 1 ? $"unknown option '{token}'." : $"unexpected argument '{token}'.";
            }
            var missing = parsed.CommandResult.Command.Options.FirstOrDefault(o => o.Required && parsed.GetResult(o)?.IdentifierToken is null);
            if (missing is not null)
                return $"option {missing.Name} is required.";
            return parsed.Errors[0].Message;
        }

        private static string CommandList(RootCommand root) => string.Join(", ", root.Subcommands.Where(c => c.Name != "help").Select(c => c.Name));

        /// <summary>Prints one line for <paramref name="exception"/> and returns its exit code.</summary>
        internal static int Report(Exception exception, string prefix, CancellationToken cancellation, TextWriter error)
        {
            exception = Unwrap(exception);
            int code;
            switch (exception)
            {
                case OperationCanceledException when cancellation.IsCancellationRequested:
                    error.WriteLine($"{prefix}: cancelled; no output file was written.");
                    code = ExitCodes.Cancelled;
                    break;
                case UsageException:
                    error.WriteLine($"{prefix}: {OneLine(exception)} See '{prefix} --help'.");
                    code = ExitCodes.Usage;
                    break;
                case OutOfMemoryException:
                    error.WriteLine($"{prefix}: out of memory ({OneLine(exception)}); use a smaller input or smaller settings (dimension, vocabulary, threads).");
                    code = ExitCodes.Failure;
                    break;
                case IOException or UnauthorizedAccessException or FormatException or InvalidOperationException or ArgumentException or NotSupportedException:
                    // The library's messages name the file, line and value; IO messages name the path.
                    error.WriteLine($"{prefix}: {OneLine(exception)}");
                    code = ExitCodes.Failure;
                    break;
                default:
                    error.WriteLine($"{prefix}: internal error: {exception.GetType().Name}: {OneLine(exception)} (set {DebugVariable}=1 to print the stack trace)");
                    code = ExitCodes.Failure;
                    break;
            }
            if (Environment.GetEnvironmentVariable(DebugVariable) is "1" or "true")
                error.WriteLine(exception.ToString());
            return code;
        }

        private static Exception Unwrap(Exception exception)
        {
            while (true)
            {
                switch (exception)
                {
                    case AggregateException aggregate when aggregate.InnerExceptions.Count >= 1:
                        // Parallel loops: one failure (or one cancellation) stands for all.
                        exception = aggregate.InnerExceptions.FirstOrDefault(e => e is not OperationCanceledException) ?? aggregate.InnerExceptions[0];
                        continue;
                    case TargetInvocationException { InnerException: Exception inner }:
                        exception = inner;
                        continue;
                    default:
                        return exception;
                }
            }
        }

        /// <summary>The message on one line, without .NET's "(Parameter 'x')" and "Actual value was y." additions.</summary>
        internal static string OneLine(Exception exception)
        {
            string message = exception.Message;
            if (exception is ArgumentException { ParamName: string parameter })
            {
                int actual = exception is ArgumentOutOfRangeException ? message.IndexOf("\nActual value was ", StringComparison.Ordinal) : -1;
                if (actual < 0)
                    actual = message.IndexOf("\r\nActual value was ", StringComparison.Ordinal);
                if (actual >= 0)
                    message = message.Substring(0, actual);
                string suffix = $" (Parameter '{parameter}')";
                if (message.EndsWith(suffix, StringComparison.Ordinal))
                    message = message.Substring(0, message.Length - suffix.Length);
            }
            return string.Join(" ", message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }

        /// <summary>System.CommandLine's help, then a command's notes, and after the tool's own help the exit codes.</summary>
        private sealed class HelpWithExitCodes : SynchronousCommandLineAction
        {
            private readonly HelpAction _help = new();

            public override bool ClearsParseErrors => true;

            public override int Invoke(ParseResult parseResult)
            {
                _help.Invoke(parseResult);
                var command = parseResult.CommandResult.Command;
                if (command is ToolCommand { Notes: string notes })
                    parseResult.InvocationConfiguration.Output.WriteLine(notes + Environment.NewLine);
                if (command is RootCommand)
                    parseResult.InvocationConfiguration.Output.WriteLine(ExitCodes.Description);
                return ExitCodes.Success;
            }
        }

        private sealed class PrintVersion : SynchronousCommandLineAction
        {
            public override int Invoke(ParseResult parseResult)
            {
                parseResult.InvocationConfiguration.Output.WriteLine($"{Name} {Version}");
                return ExitCodes.Success;
            }
        }
    }
}
