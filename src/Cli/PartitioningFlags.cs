using System.CommandLine;
using System.Globalization;

namespace Embeddings.Cli
{
    /// <summary>
    /// The partitioned-training flags shared by the training commands (docs/partitioned-training.md): <c>partitions</c>,
    /// <c>model-memory-gib</c>, <c>partition-dir</c> and <c>episode-gib</c>, with the command's own dash style
    /// (<c>-partitions</c> for the word2vec tool's flags, with <c>--partitions</c> as an alias; <c>--partitions</c> elsewhere).
    /// </summary>
    internal sealed class PartitioningFlags
    {
        private const double MinimumGib = 1.0 / 1024;
        private const string GibRequirement = "must be a finite number of at least 0.0009765625 (1 MiB)";

        private readonly Option<int?> _partitions;
        private readonly Option<double?> _modelMemoryGib;
        private readonly Option<string> _partitionDir;
        private readonly Option<double> _episodeGib;
        private readonly Option<int> _minEpisodes;

        /// <param name="singleDash">Name the flags <c>-partitions</c> etc. (the word2vec tool's style), with <c>--</c> aliases.</param>
        public PartitioningFlags(bool singleDash = false)
        {
            string Name(string name) => singleDash ? "-" + name : "--" + name;
            string[] Alias(string name) => singleDash ? new[] { "--" + name } : System.Array.Empty<string>();
            _partitions = CliOption.OptionalInt(Name("partitions"),
                "train partitioned with P partitions of the vectors kept in the partition folder, 1 to 64 (docs/partitioned-training.md)", Alias("partitions"))
                .Check(v => v >= 1 && v <= 64, "must be from 1 to 64");
            _modelMemoryGib = CliOption.OptionalDouble(Name("model-memory-gib"),
                "memory budget of the model in GiB: train partitioned (in the partition folder) when the in-memory model would not fit", Alias("model-memory-gib"))
                .Check(v => v is double x && double.IsFinite(x) && x >= MinimumGib, GibRequirement);
            _partitionDir = new Option<string>(Name("partition-dir"), Alias("partition-dir"))
            {
                Description = "partitioned training: the folder of partitions, pair buckets, checkpoints and result; a killed run given the same folder resumes",
                HelpName = "DIR",
            };
            _episodeGib = CliOption.Double(Name("episode-gib"), "partitioned training: disk for the pair buckets of one episode, in GiB", Alias("episode-gib"))
                .Default(new PartitionedTrainingOptions().EpisodeBytes / (double)(1L << 30))
                .Check(v => double.IsFinite(v) && v >= MinimumGib, GibRequirement);
            _minEpisodes = CliOption.Int(Name("min-episodes"), "partitioned training: the fewest episodes per epoch (fewer only when the input has fewer work items)", Alias("min-episodes"))
                .Default(new PartitionedTrainingOptions().MinimumEpisodesPerEpoch).Between(1, 1024);
        }

        /// <summary>The four options, to add to a command.</summary>
        public Option[] All => new Option[] { _partitions, _modelMemoryGib, _partitionDir, _episodeGib, _minEpisodes };

        /// <summary>The partitioning the flags ask for: null (in memory) unless the partitions or memory flag is given.</summary>
        /// <exception cref="UsageException">The folder or episode flag without the partitions or memory flag, or either of those without the folder.</exception>
        public PartitionedTrainingOptions? Read(ParseResult result)
        {
            int? partitions = result.GetValue(_partitions);
            double? budget = result.GetValue(_modelMemoryGib);
            string? directory = result.GetValue(_partitionDir);
            bool episodeGiven = result.GetResult(_episodeGib) is { Implicit: false } || result.GetResult(_minEpisodes) is { Implicit: false };
            if (partitions is null && budget is null)
            {
                if (directory is not null || episodeGiven)
                    throw new UsageException($"{Flag(result, directory is not null ? _partitionDir : result.GetResult(_episodeGib) is { Implicit: false } ? _episodeGib : _minEpisodes)} is for partitioned training, which {_partitions.Name} P or {_modelMemoryGib.Name} X turns on; add one of them, or leave it out to train in memory.");
                return null;
            }
            if (string.IsNullOrWhiteSpace(directory))
                throw new UsageException($"{Flag(result, partitions is not null ? _partitions : _modelMemoryGib)} trains partitioned, which keeps its partitions and checkpoints in a folder: add {_partitionDir.Name} DIR (empty, or holding a killed run of the same command to resume).");
            return new PartitionedTrainingOptions
            {
                Partitions = partitions,
                ModelMemoryBudgetBytes = budget is double gib ? (long)(gib * (1L << 30)) : null,
                Directory = directory,
                EpisodeBytes = (long)(result.GetValue(_episodeGib) * (1L << 30)),
                MinimumEpisodesPerEpoch = result.GetValue(_minEpisodes),
            };
        }

        /// <summary>The flag that turns partitioned training on, as typed (for messages of the command).</summary>
        public string OnFlag(ParseResult result) => result.GetResult(_partitions) is { Implicit: false } ? Flag(result, _partitions) : Flag(result, _modelMemoryGib);

        /// <summary>" (partitioned: P = 4, ...)" for a command's summary line, or "" when training ran in memory.</summary>
        public static string Describe(PartitionedTrainingSummary? run) => run is null ? "" : string.Create(CultureInfo.InvariantCulture,
            $" (partitioned: P = {run.Partitions}, {run.EpisodesPerEpoch} episode(s) per epoch, {run.BucketsTrained} buckets trained now and {run.BucketsDoneBefore} before, {run.MatrixLoads} partition loads, attempt {run.Attempts}, folder {run.Directory})");

        private static string Flag(ParseResult result, Option option) => result.GetResult(option)?.IdentifierToken?.Value ?? option.Name;
    }
}
