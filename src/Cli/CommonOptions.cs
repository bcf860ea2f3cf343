using System.CommandLine;
using System.IO;

namespace Embeddings.Cli
{
    /// <summary>The options most commands share (input, output, threads, seed) and the checks of the files they name.</summary>
    internal static class CommonOptions
    {
        /// <summary>The seed of every command unless a command says otherwise.</summary>
        public const int DefaultSeed = 1;

        /// <summary>A required file to read.</summary>
        public static Option<string> Input(string name, string description, params string[] aliases) =>
            CliOption.File(name, description, aliases).Required();

        /// <summary>A required file to write (through a temporary file: a failed or cancelled run leaves none).</summary>
        public static Option<string> Output(string name, string description, params string[] aliases) =>
            CliOption.File(name, description, aliases).Required();

        /// <summary>A column of Parquet input (<c>NAME</c>), with its default name.</summary>
        public static Option<string> Column(string name, string description, string defaultValue) =>
            new Option<string>(name) { Description = description, HelpName = "NAME" }.Default(defaultValue);

        /// <summary>
        /// Refuses the column flags given for a text input (their columns are positional): an option is never accepted
        /// and ignored.
        /// </summary>
        public static void ColumnsNeedParquet(CommandRun run, string input, Option inputOption, params Option[] columns)
        {
            foreach (var column in columns)
            {
                if (run.Given(column))
                    throw new UsageException($"{run.Flag(column)} names a column of Parquet input, but {run.Flag(inputOption)} '{input}' is a text file, whose fields are positional. Leave {run.Flag(column)} out, or give a .parquet file (or a folder of them).");
            }
        }

        /// <summary>Training threads; absent means all cores.</summary>
        public static Option<int?> Threads(string name = "--threads", params string[] aliases) =>
            CliOption.OptionalInt(name, "threads (default: all cores; 1 gives identical results run to run)", aliases)
                .Check(v => v >= 1 && v <= MaximumThreads, ThreadsRequirement);

        /// <summary>Training threads with a fixed default (the word2vec and node2vec tools' own defaults).</summary>
        public static Option<int> Threads(string name, int defaultValue, params string[] aliases) =>
            CliOption.Int(name, "threads", aliases).Default(defaultValue).Between(1, MaximumThreads);

        /// <summary>The most threads a command starts (each holds its own buffers).</summary>
        public const int MaximumThreads = 4096;

        private const string ThreadsRequirement = "must be from 1 to 4,096";

        /// <summary>The random seed.</summary>
        public static Option<int> Seed(string name = "--seed", string description = "random seed", params string[] aliases) =>
            CliOption.Int(name, description, aliases).Default(DefaultSeed);

        /// <summary>Interaction files: how many of each user's last interactions to leave out of training.</summary>
        public static Option<int> ExcludeLast(string description) => CliOption.Int("--exclude-last", description).Default(0).AtLeast(0);

        public static string CheckInputFile(string path, string flag)
        {
            if (Directory.Exists(path))
                throw new IOException($"{flag}: '{path}' is a folder; give a file.");
            if (!File.Exists(path))
                throw new FileNotFoundException($"{flag}: the file '{path}' does not exist.", path);
            return path;
        }

        public static string CheckOutputFile(string path, string flag)
        {
            if (path.Length == 0)
                throw new IOException($"{flag}: the file name is empty.");
            if (Directory.Exists(path))
                throw new IOException($"{flag}: '{path}' is a folder; give a file name.");
            string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null && !Directory.Exists(folder))
                throw new DirectoryNotFoundException($"{flag}: the folder '{folder}' does not exist.");
            return path;
        }
    }
}
