using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Embeddings.Cli.Commands;
using Embeddings.Infrastructure;
using Microsoft.ML;

namespace Embeddings.Cli
{
    /// <summary>One command of the tool: its System.CommandLine definition and what it runs.</summary>
    internal abstract class CliCommand
    {
        protected CliCommand(string name, string description, string? notes = null)
        {
            Command = new ToolCommand(name, description) { Notes = notes };
            Command.SetAction((result, cancellation) =>
            {
                using var run = new CommandRun(result, cancellation);
                try
                {
                    return Task.FromResult(Run(run));
                }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException or NotSupportedException && _flags.Count > 0)
                {
                    throw InCliTerms(e, run);
                }
            });
        }

        private readonly List<(string Name, Option Option)> _flags = new();

        /// <summary>
        /// Says that the library option <paramref name="name"/> is this command's <paramref name="option"/>: a library
        /// message that still reaches the user names the flag instead (and a library check of its value is a usage error).
        /// </summary>
        protected void Speak(string name, Option option) => _flags.Add((name, option));

        /// <summary>The library's exception with its option names replaced by the command's flags (as typed).</summary>
        private Exception InCliTerms(Exception exception, CommandRun run)
        {
            string message = EmbeddingsCli.OneLine(exception);
            bool named = false;
            foreach (var (name, option) in _flags)
            {
                string replaced = Regex.Replace(message, $@"(?<![\w-]){Regex.Escape(name)}(?!\w)", run.Flag(option).Replace("$", "$$", StringComparison.Ordinal));
                named |= replaced != message;
                message = replaced;
            }
            if (!named)
                return exception;
            // A library check of a value the command's own checks let through: still a usage error.
            if (exception is ArgumentException { ParamName: string parameter } && _flags.Exists(f => f.Name == parameter))
                return new UsageException(message);
            return exception is NotSupportedException ? new NotSupportedException(message, exception) : new InvalidOperationException(message, exception);
        }

        /// <summary>The command, ready to add to the root command.</summary>
        public Command Command { get; }

        /// <summary>Adds options in the order help lists them.</summary>
        /// <summary>
        /// Adds the flags of where a skip-gram training runs: on this machine, with the partitioning flags
        /// (<paramref name="cluster"/> null), or submitted to a cluster, with the cluster flags and their library names for
        /// messages.
        /// </summary>
        protected void AddPartitioningOrCluster(PartitioningFlags partitioning, ClusterSubmitFlags? cluster)
        {
            if (cluster is null)
            {
                Add(partitioning.All);
                return;
            }
            Add(cluster.All);
            foreach (var (flagName, option) in cluster.Spoken)
                Speak(flagName, option);
        }

        protected void Add(params Option[] options)
        {
            foreach (var option in options)
                Command.Options.Add(option);
        }

        /// <summary>Runs the command on parsed, validated flags; returns the exit code.</summary>
        protected abstract int Run(CommandRun run);
    }

    /// <summary>A command whose help ends with notes (what the one-line description in the command list leaves out).</summary>
    internal sealed class ToolCommand : Command
    {
        public ToolCommand(string name, string description)
            : base(name, description)
        {
        }

        /// <summary>Printed after the options in the command's help; null for none.</summary>
        public string? Notes { get; init; }
    }

    /// <summary>What a running command needs: its parsed flags, where to print, and the cancellation of Ctrl+C.</summary>
    internal sealed class CommandRun : IDisposable
    {
        private readonly List<CancellationTokenRegistration> _registrations = new();
        private readonly List<(Option Option, string Path, FileIdentity Identity, bool Output)> _files = new();

        public CommandRun(ParseResult result, CancellationToken cancellation)
        {
            Result = result;
            Cancellation = cancellation;
        }

        public ParseResult Result { get; }

        /// <summary>Cancelled by Ctrl+C (or the caller's token): commands pass it to the library and stop before writing outputs.</summary>
        public CancellationToken Cancellation { get; }

        /// <summary>Results and summaries (standard output).</summary>
        public TextWriter Out => Result.InvocationConfiguration.Output;

        /// <summary>Progress and warnings (standard error).</summary>
        public TextWriter Error => Result.InvocationConfiguration.Error;

        /// <summary>The option's value, or its default.</summary>
        public T Get<T>(Option<T> option) => Result.GetValue(option)!;

        /// <summary>Whether the flag was given on the command line.</summary>
        public bool Given(Option option) => Result.GetResult(option) is { Implicit: false };

        /// <summary>The flag as typed (an alias, perhaps), for messages.</summary>
        public string Flag(Option option) => Result.GetResult(option)?.IdentifierToken?.Value ?? option.Name;

        /// <summary>
        /// The path of a file to read; throws (exit code 1) when it is missing or a folder, and (exit code 2) when it is a
        /// file this command writes (see <see cref="OutputFile"/>).
        /// </summary>
        public string InputFile(Option<string> option)
        {
            string path = CommonOptions.CheckInputFile(Get(option), Flag(option));
            Register(option, path, output: false);
            return path;
        }

        /// <summary>
        /// The path of a file to write; throws (exit code 1) when it is a folder or its folder is missing, and (exit code 2)
        /// when it is a file the command reads or another file it writes: through a symbolic or hard link, too.
        /// </summary>
        public string OutputFile(Option<string> option)
        {
            string path = CommonOptions.CheckOutputFile(Get(option), Flag(option));
            Register(option, path, output: true);
            return path;
        }

        /// <summary>
        /// Like <see cref="InputFile"/>, for inputs that may also be Parquet: a file, or a folder that holds .parquet files
        /// (read in name order).
        /// </summary>
        public string InputFileOrParquetFolder(Option<string> option)
        {
            string path = Get(option);
            if (!Directory.Exists(path))
                return InputFile(option);
            if (!ParquetFiles.IsParquet(path))
                throw new IOException($"{Flag(option)}: '{path}' is a folder without .parquet files; give a file, or a folder of .parquet files.");
            Register(option, path, output: false);
            return path;
        }

        /// <summary>Like <see cref="InputFile"/> for an optional flag: null when absent.</summary>
        public string? OptionalInputFile(Option<string> option) => Given(option) ? InputFile(option) : null;

        /// <summary>The folder given to an optional flag, or null when absent; throws (exit code 1) when it is not an existing folder.</summary>
        public string? OptionalInputDirectory(Option<string> option)
        {
            if (!Given(option))
                return null;
            string path = Get(option);
            if (!Directory.Exists(path))
                throw new DirectoryNotFoundException($"{Flag(option)} '{path}' is not a folder; give the folder that holds the files.");
            return path;
        }

        /// <summary>Like <see cref="OutputFile"/> for an optional flag: null when absent.</summary>
        public string? OptionalOutputFile(Option<string> option) => Given(option) ? OutputFile(option) : null;

        /// <summary>
        /// A context for the command's ML.NET work, cancelled with <see cref="Cancellation"/>: every trainer that runs on it
        /// (ours and ML.NET's, such as matrix factorization and the LightGBM ranker) stops on Ctrl+C.
        /// </summary>
        public MLContext NewContext(int? seed)
        {
            var context = new MLContext(seed);
            _registrations.Add(Cancellation.Register(() => ContextCancellation.CancelExecution(context)));
            return context;
        }

        /// <summary>Throws <see cref="System.OperationCanceledException"/> if Ctrl+C was pressed: call before writing outputs.</summary>
        public void ThrowIfCancelled() => Cancellation.ThrowIfCancellationRequested();

        /// <summary>Records a file of the command; refuses an output that is one of its inputs or outputs already.</summary>
        private void Register(Option<string> option, string path, bool output)
        {
            var identity = FileIdentity.Of(path);
            foreach (var file in _files)
            {
                if (!(output || file.Output) || !file.Identity.SameFileAs(identity))
                    continue;
                // The file written: this one when it is an output, else the earlier output that this input names again.
                var (written, writtenPath, other, otherPath) = output ? ((Option)option, path, file.Option, file.Path) : (file.Option, file.Path, option, path);
                string consequence = output && file.Output ? "both outputs would be written to one file" : "writing it would destroy the input";
                string how = Path.GetFullPath(writtenPath) == Path.GetFullPath(otherPath) ? "" : " (through a link)";
                throw new UsageException(
                    $"{Flag(written)} '{writtenPath}' is the same file as {Flag(other)} '{otherPath}'{how}; {consequence}. Give {Flag(written)} another file name.");
            }
            _files.Add((option, path, identity, output));
        }

        /// <summary>Stops linking the contexts of <see cref="NewContext"/> to Ctrl+C.</summary>
        public void Dispose()
        {
            foreach (var registration in _registrations)
                registration.Dispose();
        }
    }
}
