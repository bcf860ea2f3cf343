using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Embeddings.Infrastructure;
using Embeddings.Recommendation;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings recommend</c>: batch recommendations from a saved recommender, written as TSV.</summary>
    internal sealed class RecommendCommand : CliCommand
    {
        private readonly Option<string> _model = CommonOptions.Input("--model", "a recommender saved by fit-recommender (or by mlContext.Model.Save of a RankingRecommenderTransformer)");
        private readonly Option<string> _users = CliOption.File("--users", "user ids, one per line (default: every user the model was trained on); unknown users get popular items");
        private readonly Option<int> _k = CliOption.Int("--k", "recommendations per user").Default(10).Between(1, 100_000);
        private readonly Option<string> _output = CommonOptions.Output("--output",
            "user<TAB>item<TAB>score<TAB>rank lines, best first per user; Parquet when FILE ends in .parquet: columns user, item (STRING), score (FLOAT), rank (INT32)");
        private readonly Option<bool> _includeSeen = CliOption.Switch("--include-seen", "also recommend items the user has interacted with (left out by default)");
        private readonly Option<string> _allow = CliOption.File("--allow", "only these items (one id per line) may be recommended");
        private readonly Option<string> _deny = CliOption.File("--deny", "these items (one id per line) are never recommended");
        private readonly Option<int?> _threads = CommonOptions.Threads();

        public RecommendCommand()
            : base("recommend", "Batch recommendations from a saved recommender: user, item, score, rank per line.",
                "Users are scored in parallel batches and written as they are computed; the output file appears only when every user is done.")
        {
            Add(_model, _users, _k, _output, _includeSeen, _allow, _deny, _threads);
        }

        protected override int Run(CommandRun run)
        {
            var watch = Stopwatch.StartNew();
            string modelPath = run.InputFile(_model);
            string? usersPath = run.OptionalInputFile(_users);
            string? allowPath = run.OptionalInputFile(_allow);
            string? denyPath = run.OptionalInputFile(_deny);
            string output = run.OutputFile(_output);
            int k = run.Get(_k);
            var ml = run.NewContext(seed: 1);
            RankingRecommenderTransformer model;
            try
            {
                model = RankingRecommenderTransformer.Load(ml, modelPath);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{modelPath}: {e.Message}", e);
            }
            var users = usersPath is null ? model.Features.Users.ToList() : ReadIds(usersPath, "user");
            if (users.Count == 0)
                throw new FormatException($"{usersPath}: no user ids; give one id per line, or leave {run.Flag(_users)} out to recommend for every user the model knows.");
            var options = new RecommendOptions
            {
                ExcludeSeenItems = !run.Get(_includeSeen),
                AllowedItems = allowPath is null ? null : ReadIds(allowPath, "item"),
                DeniedItems = denyPath is null ? null : ReadIds(denyPath, "item"),
                NumberOfThreads = run.Get(_threads),
            };
            var trained = new HashSet<string>(model.Features.Users, StringComparer.Ordinal);
            int known = users.Count(trained.Contains);
            run.Error.WriteLine($"{modelPath}: {model.Features.Users.Count:N0} users, {model.Features.Items.Count:N0} items; recommending {k} items to {users.Count:N0} users ({users.Count - known:N0} unknown to the model: popular items)");
            var recommendations = model.Recommend(ml, users, k, options);
            long lines = 0;
            int done = 0;
            var progress = Stopwatch.StartNew();
            if (Data.EmbeddingFiles.IsParquet(output))
            {
                var columns = new ParquetSaveOptions { Columns = { new("user", "User"), new("item", "Item"), new("score", "Score"), new("rank", "Rank") } };
                lines = ParquetDataWriter.Write(recommendations, output, columns, run.Cancellation);
            }
            else
            {
                AtomicFile.Write(output, stream =>
                {
                    using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
                    using var cursor = recommendations.GetRowCursor(recommendations.Schema);
                    var user = cursor.GetGetter<ReadOnlyMemory<char>>(recommendations.Schema["User"]);
                    var item = cursor.GetGetter<ReadOnlyMemory<char>>(recommendations.Schema["Item"]);
                    var score = cursor.GetGetter<float>(recommendations.Schema["Score"]);
                    var rank = cursor.GetGetter<int>(recommendations.Schema["Rank"]);
                    ReadOnlyMemory<char> u = default, i = default;
                    float s = 0;
                    int r = 0;
                    while (cursor.MoveNext())
                    {
                        run.ThrowIfCancelled();
                        user(ref u);
                        item(ref i);
                        score(ref s);
                        rank(ref r);
                        if (r == 1)
                            done++;
                        writer.Write(u.Span);
                        writer.Write('\t');
                        writer.Write(i.Span);
                        writer.Write('\t');
                        writer.Write(s.ToString("R", CultureInfo.InvariantCulture));
                        writer.Write('\t');
                        writer.Write(r.ToString(CultureInfo.InvariantCulture));
                        writer.WriteLine();
                        lines++;
                        if (progress.Elapsed.TotalSeconds >= 1)
                        {
                            run.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
                                $"  {done:N0}/{users.Count:N0} users, {done / watch.Elapsed.TotalSeconds:F0} users/s"));
                            progress.Restart();
                        }
                    }
                });
            }
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{lines:N0} recommendations for {users.Count:N0} users written to {Path.GetFullPath(output)} in {watch.Elapsed.TotalSeconds:F1} s ({users.Count / watch.Elapsed.TotalSeconds:F0} users/s)"));
            return ExitCodes.Success;
        }

        /// <summary>One id per line (blank lines skipped, surrounding white space trimmed); ids are strict UTF-8.</summary>
        internal static List<string> ReadIds(string path, string what)
        {
            var ids = new List<string>();
            foreach (var line in Utf8Lines.Read(path))
            {
                if (line.IsBlank)
                    continue;
                string id = line.Text.Trim();
                if (Utf8Lines.ContainsWhiteSpace(id))
                    throw Utf8Lines.LineError(path, line, $"the {what} id '{Utf8Lines.Quote(id)}' contains white space; give one id per line", "Fix the line");
                ids.Add(id);
            }
            return ids;
        }
    }
}
