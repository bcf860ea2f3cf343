using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Serving the ranking recommender on MovieLens 100K (each user's last interaction held out, as fit-recommender
    /// --exclude-last 1 does):
    /// 1. batch recommendations for all users through the API (users/s, HR@10 against the held-out items);
    /// 2. the model saved, loaded in a new context and in a new process (the CLI's recommend command), with the lists
    ///    compared to the pre-save ones;
    /// 3. fold-in: every 10th user left out of training entirely and given their history at query time, HR@10 against the
    ///    same users in the normally trained model.
    /// Options: --data FILE (../shared/data/movielens/ml-100k/u.data) --threads 2 --seed 1 --k 10.
    /// </summary>
    internal static class ServingBenchmark
    {
        public static void Run(string[] args)
        {
            string? data = Options.MovieLensRatings(args);
            if (data is null)
                return;
            int threads = Options.Int(args, "--threads", 2);
            int seed = Options.Int(args, "--seed", 1);
            int k = Options.Int(args, "--k", 10);
            var split = InteractionFile.ReadSplit(data);
            var users = split.AllUsers.ToList();
            var heldOut = users.ToDictionary(u => u, u => split.Interactions(u)[^1], StringComparer.Ordinal);
            Console.WriteLine($"{users.Count} users, {split.Items.Count} items; each user's last interaction held out; k = {k}, {threads} threads");

            // 1. Train with the last interaction held out, batch-recommend for every user.
            var ml = new MLContext(seed: seed);
            var (recommender, fitSeconds) = Fit(ml, split, users, seed, threads);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"fit: {fitSeconds:F1} s"));
            var options = new RecommendOptions { NumberOfThreads = threads };
            Read(recommender.Recommend(ml, users.Take(threads * options.UsersPerBatch).ToList(), k, options)); // warm-up (JIT)
            var watch = Stopwatch.StartNew();
            var before = Read(recommender.Recommend(ml, users, k, options));
            double apiSeconds = watch.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"API batch: {users.Count} users in {apiSeconds:F2} s = {users.Count / apiSeconds:F0} users/s; test HR@10 {HitRate(before, heldOut, users):F4}"));

            // 2. Save; load in a new context; load in a new process (the CLI).
            string directory = Path.Combine(Path.GetTempPath(), $"serving-benchmark-{Environment.ProcessId}");
            Directory.CreateDirectory(directory);
            try
            {
                string model = Path.Combine(directory, "recommender.zip");
                ml.Model.Save(recommender, null, model);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"saved: {new FileInfo(model).Length / 1e6:F1} MB"));
                var fresh = new MLContext(seed: seed + 100);
                var loaded = RankingRecommenderTransformer.Load(fresh, model);
                watch.Restart();
                var afterLoad = Read(loaded.Recommend(fresh, users, k, options));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"loaded in a new MLContext: lists {(Same(before, afterLoad) ? "equal" : "DIFFERENT")} to the pre-save lists ({users.Count / watch.Elapsed.TotalSeconds:F0} users/s)"));

                string output = Path.Combine(directory, "recs.tsv");
                string cli = Path.Combine(AppContext.BaseDirectory, "Embeddings.Cli.dll");
                var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
                foreach (string argument in new[] { cli, "recommend", "--model", model, "--k", k.ToString(CultureInfo.InvariantCulture), "--output", output, "--threads", threads.ToString(CultureInfo.InvariantCulture) })
                    start.ArgumentList.Add(argument);
                watch.Restart();
                using (var process = Process.Start(start)!)
                {
                    string stdout = process.StandardOutput.ReadToEnd();
                    string stderr = process.StandardError.ReadToEnd();
                    process.WaitForExit();
                    if (process.ExitCode != 0)
                        throw new InvalidOperationException($"embeddings recommend failed ({process.ExitCode}): {stderr}");
                    Console.WriteLine($"new process (embeddings recommend, {watch.Elapsed.TotalSeconds:F1} s with start-up and model load): {stdout.Trim()}");
                }
                var fromCli = File.ReadLines(output).Select(line => line.Split('\t'))
                    .Select(f => (f[0], f[1], float.Parse(f[2], CultureInfo.InvariantCulture), int.Parse(f[3], CultureInfo.InvariantCulture))).ToList();
                Console.WriteLine($"  its lists are {(Same(before, fromCli) ? "equal" : "DIFFERENT")} to the pre-save lists ({fromCli.Count:N0} lines)");
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }

            // 3. Fold-in: every 10th user left out of training, given their training history at query time.
            var guests = users.Where((_, i) => i % 10 == 0).ToList();
            var guestSet = guests.ToHashSet(StringComparer.Ordinal);
            var (withoutGuests, _) = Fit(new MLContext(seed: seed), split, users.Where(u => !guestSet.Contains(u)).ToList(), seed, threads);
            var histories = guests.Select(u => (u, (IReadOnlyList<string>)split.Interactions(u).Take(split.Interactions(u).Count - 1).ToList())).ToList();
            watch.Restart();
            var folded = Read(withoutGuests.RecommendForHistories(ml, histories, k, options));
            double foldSeconds = watch.Elapsed.TotalSeconds;
            var trained = before.Where(r => guestSet.Contains(r.User)).ToList();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"fold-in: {guests.Count} users left out of training and given their history at query time: test HR@10 {HitRate(folded, heldOut, guests):F4} ({guests.Count / foldSeconds:F0} users/s); the same users trained normally: {HitRate(trained, heldOut, guests):F4}"));
        }

        private static (RankingRecommenderTransformer Model, double Seconds) Fit(MLContext ml, LeaveLastOutSplit split, List<string> users, int seed, int threads)
        {
            var rows = users.SelectMany(user =>
            {
                var items = split.Interactions(user);
                var times = split.InteractionTimes(user);
                return Enumerable.Range(0, items.Count - 1).Select(i => new Row { User = user, Item = items[i], Timestamp = times[i] });
            }).ToList();
            var options = new RankingRecommenderOptions
            {
                UserColumnName = nameof(Row.User),
                ItemColumnName = nameof(Row.Item),
                TimestampColumnName = nameof(Row.Timestamp),
                Seed = seed,
                NumberOfThreads = threads,
            };
            var watch = Stopwatch.StartNew();
            var model = ml.Embeddings().RankingRecommender(options).Fit(ml.Data.LoadFromEnumerable(rows));
            return (model, watch.Elapsed.TotalSeconds);
        }

        private static List<(string User, string Item, float Score, int Rank)> Read(IDataView view)
        {
            return RecommendationRow.Read(view).Select(row => (row.User, row.Item, row.Score, row.Rank)).ToList();
        }

        private static bool Same(List<(string User, string Item, float Score, int Rank)> a, List<(string User, string Item, float Score, int Rank)> b) =>
            a.Count == b.Count && a.Zip(b).All(p => p.First == p.Second);

        private static double HitRate(List<(string User, string Item, float Score, int Rank)> rows, Dictionary<string, string> heldOut, List<string> users)
        {
            var hits = rows.Where(r => r.Rank <= 10 && heldOut[r.User] == r.Item).Select(r => r.User).ToHashSet(StringComparer.Ordinal);
            return (double)users.Count(hits.Contains) / users.Count;
        }

        private sealed class Row
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";

            public long Timestamp { get; set; }
        }
    }
}
