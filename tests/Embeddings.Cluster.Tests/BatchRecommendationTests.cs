using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Cluster.Coordination;
using Embeddings.Cluster.Recommendation;
using Embeddings.Recommendation;
using Microsoft.ML;
using Microsoft.ML.Data;
using NUnit.Framework;

namespace Embeddings.Cluster.Tests
{
    /// <summary>Batch recommendation split by user range on an in-process cluster of three silos, against the single-machine lists.</summary>
    [TestFixture]
    [NonParallelizable]
    public sealed class BatchRecommendationTests
    {
        private ThreeSiloCluster _cluster = null!;
        private string _folder = null!;
        private string _modelPath = null!;
        private MLContext _ml = null!;
        private RankingRecommenderTransformer _model = null!;

        [OneTimeSetUp]
        public async Task StartClusterAndTrainAModel()
        {
            _cluster = await ThreeSiloCluster.StartAsync();
            _folder = TempFolder.Create();
            _ml = new MLContext(seed: 1);
            var data = _ml.Data.LoadFromEnumerable(PlantedSequences.Interactions());
            _model = _ml.Embeddings().RankingRecommender(PlantedSequences.Options()).Fit(data);
            _modelPath = Path.Combine(_folder, "model.zip");
            _ml.Model.Save(_model, null, _modelPath);
        }

        [OneTimeTearDown]
        public async Task StopCluster()
        {
            await _cluster.DisposeAsync();
            TempFolder.Delete(_folder);
        }

        /// <summary>The single machine's rows for <paramref name="users"/>: <see cref="RankingRecommenderTransformer.Recommend(MLContext, IEnumerable{string}, int, RecommendOptions?)"/>.</summary>
        internal static List<RecommendationRow> SingleMachine(MLContext ml, RankingRecommenderTransformer model, IEnumerable<string> users, int count, RecommendOptions? options = null)
        {
            return RecommendationRow.Read(model.Recommend(ml, users, count, options)).ToList();
        }

        [Test]
        public async Task EveryUsersListEqualsTheSingleMachineListAndTheTsvOutputIsTheRecommendCommands()
        {
            var options = new BatchRecommendationJobOptions { JobId = "recommend-tsv", Count = 5, UsersPerTask = 7, LeaseTimeout = TimeSpan.FromSeconds(5), PollInterval = TimeSpan.FromMilliseconds(25) };
            int loadsBefore = _cluster.Tasks.RecommendHandlers.Values.Sum(h => h.ModelLoads);
            var status = await BatchRecommendationJob.RunAsync(_cluster.Cluster.Client, _cluster.Store, _modelPath, null, options);

            var users = _model.Features.Users;
            var expected = SingleMachine(_ml, _model, users, 5);
            Assert.That(status.TotalTasks, Is.EqualTo((users.Count + 6) / 7));
            Assert.That(status.DoneTasks, Is.EqualTo(status.TotalTasks));
            Assert.That(status.TaskRecords, Is.EqualTo(expected.Count));
            var rows = BatchRecommendationJob.ReadRecommendations(_cluster.Store, options.JobId).ToList();
            Assert.That(rows, Is.EqualTo(expected), "users, items, order and scores equal the single machine's");
            Assert.That(rows.Select(r => r.User).Distinct(), Is.EqualTo(users), "users in the order of the list");
            var log = CoordinatorEvent.ReadLog(_cluster.Store, options.JobId);
            Assert.That(log.Where(e => e.Kind == "completed").Select(e => e.Task), Is.EquivalentTo(Enumerable.Range(0, (int)status.TotalTasks)));
            Assert.That(log.Where(e => e.Kind == "completed").Select(e => e.Worker.Split('@')[0]).Distinct().Count(), Is.GreaterThanOrEqualTo(2), "shards written by several silos");
            int loads = _cluster.Tasks.RecommendHandlers.Values.Sum(h => h.ModelLoads) - loadsBefore;
            Assert.That(loads, Is.InRange(1, 3), $"each silo loaded the model at most once for {status.TotalTasks} tasks");

            // One TSV file, as 'embeddings recommend' writes it; and the shards as a folder.
            string file = Path.Combine(_folder, "recommendations.tsv");
            Assert.That(BatchRecommendationJob.WriteOutput(_cluster.Store, options.JobId, file), Is.EqualTo(expected.Count));
            var writer = new StringWriter { NewLine = "\n" };
            foreach (var row in expected)
                BatchRecommendationJob.WriteLine(writer, row.User, row.Item, row.Score, row.Rank);
            Assert.That(File.ReadAllText(file), Is.EqualTo(writer.ToString()));
            // A reused folder: an earlier, longer job's shard and a shard of the other format go; other files stay.
            string folder = Path.Combine(_folder, "shards") + "/";
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "part-00099.tsv"), "stale\n");
            File.WriteAllText(Path.Combine(folder, "part-00000.parquet"), "stale");
            File.WriteAllText(Path.Combine(folder, "README.txt"), "kept");
            BatchRecommendationJob.WriteOutput(_cluster.Store, options.JobId, folder);
            Assert.That(File.ReadAllText(Path.Combine(folder, "README.txt")), Is.EqualTo("kept"));
            var parts = Directory.GetFiles(folder, "part-*").OrderBy(f => f, StringComparer.Ordinal).ToList();
            Assert.That(parts.Select(Path.GetFileName), Is.EqualTo(Enumerable.Range(0, (int)status.TotalTasks).Select(t => $"part-{t:D5}.tsv")));
            Assert.That(string.Concat(parts.Select(File.ReadAllText)), Is.EqualTo(writer.ToString()));

            // The same job submitted again with another scoring thread count is found, not refused (the output does not depend on it).
            Assert.That(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, null, options with { NumberOfThreads = 3 }), Throws.Nothing);
            Assert.That(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, null, options with { Count = 6 }),
                Throws.InvalidOperationException.With.Message.Contains("other inputs"), "another count is another job");
        }

        [Test]
        public async Task ParquetShardsWithFiltersRepeatsAndUnknownUsersEqualTheSingleMachine()
        {
            var users = _model.Features.Users.Where((_, k) => k % 3 == 0).Concat(new[] { "nobody", _model.Features.Users[4], "stranger" }).ToList();
            string[] denied = { "c0-1", "c2-5", "c3-7" };
            var options = new BatchRecommendationJobOptions
            {
                JobId = "recommend-parquet",
                Count = 4,
                UsersPerTask = 5,
                Format = RecommendationShardFormat.Parquet,
                ExcludeSeenItems = false,
                DeniedItems = denied,
                NumberOfThreads = 1,
                LeaseTimeout = TimeSpan.FromSeconds(5),
                PollInterval = TimeSpan.FromMilliseconds(25),
            };
            await BatchRecommendationJob.RunAsync(_cluster.Cluster.Client, _cluster.Store, _modelPath, users, options);

            var expected = SingleMachine(_ml, _model, users, 4, new RecommendOptions { ExcludeSeenItems = false, DeniedItems = denied });
            Assert.That(expected.Select(r => r.Item), Has.None.AnyOf(denied));
            Assert.That(BatchRecommendationJob.ReadRecommendations(_cluster.Store, options.JobId).ToList(), Is.EqualTo(expected));
            string file = Path.Combine(_folder, "recommendations.parquet");
            Assert.That(BatchRecommendationJob.WriteOutput(_cluster.Store, options.JobId, file), Is.EqualTo(expected.Count));
            var view = _ml.Data.LoadFromParquet(file, "user", "item", "score", "rank");
            var read = new List<RecommendationRow>();
            using (var cursor = view.GetRowCursor(view.Schema))
            {
                var user = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["user"]);
                var item = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["item"]);
                var score = cursor.GetGetter<float>(view.Schema["score"]);
                var rank = cursor.GetGetter<int>(view.Schema["rank"]);
                ReadOnlyMemory<char> u = default, i = default;
                float s = 0;
                int r = 0;
                while (cursor.MoveNext())
                {
                    user(ref u);
                    item(ref i);
                    score(ref s);
                    rank(ref r);
                    read.Add(new RecommendationRow(u.ToString(), i.ToString(), s, r));
                }
            }
            Assert.That(read, Is.EqualTo(expected), "the Parquet output holds the same rows");
            // The shards as a folder of Parquet files read back in name order as one data view.
            string folder = Path.Combine(_folder, "parquet-shards") + "/";
            BatchRecommendationJob.WriteOutput(_cluster.Store, options.JobId, folder);
            Assert.That(_ml.Data.LoadFromParquet(folder, "user").GetColumn<string>("user").ToList(), Is.EqualTo(expected.Select(r => r.User)));
        }

        [Test]
        public async Task AWorkerThatHangsMidTaskLosesItsLeaseAndTheListsStillEqualTheSingleMachine()
        {
            var options = new BatchRecommendationJobOptions { JobId = "recommend-hang", Count = 3, UsersPerTask = 12, LeaseTimeout = TimeSpan.FromSeconds(1), PollInterval = TimeSpan.FromMilliseconds(25) };
            _cluster.Tasks.RecommendHang[options.JobId] = 1;
            var run = BatchRecommendationJob.RunAsync(_cluster.Cluster.Client, _cluster.Store, _modelPath, null, options);
            long hungToken = await _cluster.Tasks.RecommendHung.Task.WaitAsync(TimeSpan.FromSeconds(60));
            var status = await run.WaitAsync(TimeSpan.FromSeconds(60));
            // The hung worker wakes up after the retry committed task 1. Its next renewal is refused (its work is
            // cancelled), or its shard write fails (its attempt's folder was collected), or it finishes first and its
            // completion is rejected: fenced every way.
            _cluster.Tasks.RecommendResume.Set();
            string outcome = await _cluster.Tasks.RecommendHungOutcome.Task.WaitAsync(TimeSpan.FromSeconds(30));
            var watch = Stopwatch.StartNew();
            while (outcome == "returned" && !CoordinatorEvent.ReadLog(_cluster.Store, options.JobId).Any(e => e.Kind == "rejected" && e.Token == hungToken) && watch.Elapsed < TimeSpan.FromSeconds(30))
                await Task.Delay(20);
            TestContext.Out.WriteLine($"the hung attempt (lease {hungToken}) ended: {outcome}");

            var log = CoordinatorEvent.ReadLog(_cluster.Store, options.JobId);
            Assert.That(log.Any(e => e.Kind == "expired" && e.Token == hungToken), "the hung worker's lease expired");
            if (outcome == "returned")
                Assert.That(log.Any(e => e.Kind == "rejected" && e.Token == hungToken), "its late completion was rejected");
            else
                // Its renewal was refused (the work is cancelled), or the coordinator had collected its attempt's folder
                // while it wrote its shard (the write fails): fenced either way.
                Assert.That(outcome, Is.AnyOf(nameof(OperationCanceledException), nameof(FileNotFoundException), nameof(DirectoryNotFoundException), nameof(IOException)));
            Assert.That(log.Any(e => e.Kind == "completed" && e.Token == hungToken), Is.False, "the hung attempt never committed");
            Assert.That(log.Count(e => e.Kind == "completed" && e.Task == 1), Is.EqualTo(1));
            Assert.That(ClusterJob.CommittedTaskToken(_cluster.Store, options.JobId, 1), Is.Not.EqualTo(hungToken));
            Assert.That(status.ExpiredLeases, Is.GreaterThanOrEqualTo(1));
            var expected = SingleMachine(_ml, _model, _model.Features.Users, 3);
            Assert.That(BatchRecommendationJob.ReadRecommendations(_cluster.Store, options.JobId).ToList(), Is.EqualTo(expected));
        }

        [Test]
        public async Task AllMovieLens100KUsersTopTenOnThreeSilosEqualTheSingleMachineLists()
        {
            string? path = SharedData.Path(Path.Combine("movielens", "ml-100k", "u.data"));
            if (path is null)
                Assert.Ignore("../shared/data/movielens/ml-100k is absent: the MovieLens 100K batch recommendation check is skipped (the data may not be copied into the repository).");
            var watch = Stopwatch.StartNew();
            var ml = new MLContext(seed: 1);
            var rows = File.ReadLines(path!).Select(l => l.Split('\t')).Select(f => new PlantedSequences.Row { User = f[0], Item = f[1], Time = long.Parse(f[3], System.Globalization.CultureInfo.InvariantCulture) }).ToArray();
            var recommenderOptions = new RankingRecommenderOptions
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                TimestampColumnName = "Time",
                CandidateCount = 50,
                NumberOfTrees = 30,
                Seed = 1,
                NumberOfThreads = 2,
            };
            recommenderOptions.Item2Vec.EmbeddingDimension = 32;
            recommenderOptions.Item2Vec.Epochs = 3;
            recommenderOptions.ItemGraph.EmbeddingDimension = 32;
            recommenderOptions.ItemGraph.WalksPerNode = 3;
            var model = ml.Embeddings().RankingRecommender(recommenderOptions).Fit(ml.Data.LoadFromEnumerable(rows));
            string modelPath = Path.Combine(_folder, "ml-100k.zip");
            ml.Model.Save(model, null, modelPath);
            double trained = watch.Elapsed.TotalSeconds;

            var options = new BatchRecommendationJobOptions { JobId = "recommend-ml100k", Count = 10, UsersPerTask = 100, LeaseTimeout = TimeSpan.FromSeconds(30), PollInterval = TimeSpan.FromMilliseconds(50) };
            var status = await BatchRecommendationJob.RunAsync(_cluster.Cluster.Client, _cluster.Store, modelPath, null, options);
            double cluster = watch.Elapsed.TotalSeconds - trained;
            var expected = SingleMachine(ml, model, model.Features.Users, 10);
            var actual = BatchRecommendationJob.ReadRecommendations(_cluster.Store, options.JobId).ToList();
            int users = actual.Select(r => r.User).Distinct().Count();
            bool equal = actual.SequenceEqual(expected);
            TestContext.Out.WriteLine($"ml-100k: {users} users compared in {status.TotalTasks} tasks on 3 silos; lists equal: {(equal ? "yes" : "no")}; "
                + $"training {trained:F1} s, cluster job {cluster:F1} s, total {watch.Elapsed.TotalSeconds:F1} s");
            Assert.That(users, Is.EqualTo(943));
            Assert.That(actual, Has.Count.EqualTo(9430));
            Assert.That(actual, Is.EqualTo(expected), "every user's top 10 (items, order, scores) equals the single machine's");
        }

        [Test]
        public void BadSettingsAreRefusedByNameBeforeAnythingIsWritten()
        {
            var good = new BatchRecommendationJobOptions { JobId = "recommend-bad" };
            var e = Assert.Throws<ArgumentOutOfRangeException>(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, null, good with { Count = 0 }));
            Assert.That(e!.Message, Does.Contain("Count").And.Contain("1 to 100,000"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, null, good with { UsersPerTask = 0 }));
            Assert.That(e!.Message, Does.Contain("UsersPerTask"));
            e = Assert.Throws<ArgumentOutOfRangeException>(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, null, good with { NumberOfThreads = 0 }));
            Assert.That(e!.Message, Does.Contain("NumberOfThreads"));
            var id = Assert.Throws<ArgumentException>(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, null, good with { JobId = "a b" }));
            Assert.That(id!.Message, Does.Contain("JobId 'a b'"));
            var user = Assert.Throws<ArgumentException>(() => BatchRecommendationJob.Prepare(_cluster.Store, _modelPath, new[] { "u1", "a\tb" }, good));
            Assert.That(user!.Message, Does.Contain("user 1").And.Contain("tab"));
            Assert.Throws<FileNotFoundException>(() => BatchRecommendationJob.Prepare(_cluster.Store, Path.Combine(_folder, "missing.zip"), null, good));
            string notAModel = Path.Combine(_folder, "not-a-model.zip");
            File.WriteAllText(notAModel, "hello");
            Assert.Throws<FormatException>(() => BatchRecommendationJob.Prepare(_cluster.Store, notAModel, null, good));
            Assert.That(_cluster.Store.ListJobs(), Does.Not.Contain("recommend-bad"), "nothing was committed");
            Assert.That(Directory.Exists(Path.Combine(_cluster.Root, "recommend-bad")), Is.False, "nothing was written");
        }
    }

    /// <summary>Files under ../shared/data next to the repository (found from the test folder upward).</summary>
    internal static class SharedData
    {
        /// <summary>The file, or null when it is absent.</summary>
        public static string? Path(string relative)
        {
            for (var folder = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); folder is not null; folder = folder.Parent)
            {
                string candidate = System.IO.Path.Combine(folder.FullName, "shared", "data", relative);
                if (File.Exists(candidate))
                    return candidate;
            }
            return null;
        }
    }

    /// <summary>Interactions with a planted next item (users walking item chains), for the batch recommendation tests.</summary>
    internal static class PlantedSequences
    {
        public sealed class Row
        {
            public string User { get; set; } = "";

            public string Item { get; set; } = "";

            public long Time { get; set; }
        }

        /// <summary>Four chains of 12 items; each of 90 users walks 10 steps of one chain from a random start, with one random item inserted.</summary>
        public static Row[] Interactions()
        {
            var random = new Random(17);
            var rows = new List<Row>();
            for (int u = 0; u < 90; u++)
            {
                int chain = u % 4, start = random.Next(12), noise = 1 + random.Next(8);
                long time = 1000;
                for (int t = 0; t < 10; t++)
                {
                    rows.Add(new Row { User = $"u{u}", Item = $"c{chain}-{(start + t) % 12}", Time = time++ });
                    if (t == noise)
                        rows.Add(new Row { User = $"u{u}", Item = $"c{random.Next(4)}-{random.Next(12)}", Time = time++ });
                }
            }
            return rows.OrderBy(_ => random.Next()).ToArray();
        }

        /// <summary>Small, seeded, single-threaded settings of the whole recommender.</summary>
        public static RankingRecommenderOptions Options()
        {
            var options = new RankingRecommenderOptions
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                TimestampColumnName = "Time",
                CandidateCount = 10,
                NumberOfTrees = 20,
                NumberOfLeaves = 4,
                MinimumExampleCountPerLeaf = 5,
                Seed = 3,
                NumberOfThreads = 1,
            };
            options.Item2Vec.EmbeddingDimension = 16;
            options.Item2Vec.Epochs = 5;
            options.ItemGraph.EmbeddingDimension = 16;
            options.ItemGraph.WalkLength = 10;
            options.ItemGraph.WalksPerNode = 3;
            return options;
        }
    }
}
