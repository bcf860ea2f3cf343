// Movie recommendation with embeddings learned from viewing histories, on the bundled MovieLens "ml-latest-small"
// ratings (non-commercial licence: see samples/data/movielens-small). Run from the repository root:
//     dotnet run --project samples/MovieRecommendation
//
// 1. Each user's ratings, in time order, form a viewing history; the last 20% of each history is held out.
// 2. Skip-gram (item2vec) learns a vector per movie from the histories, and a context vector used for scoring.
// 3. Similar movies come from the vectors; next-movie recommendations from the user's recent movies.
// 4. The vectors become features of an ML.NET FastTree model that predicts ratings; the model is saved with
//    mlContext.Model.Save, reloaded, and used through a PredictionEngine.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Embeddings;
using Microsoft.ML;
using Microsoft.ML.Data;

var watch = Stopwatch.StartNew();
string dataFolder = Path.Combine(AppContext.BaseDirectory, "Data");
var titles = ReadTitles(Path.Combine(dataFolder, "recommendation-movies.csv"));
var ratings = ReadRatings(Path.Combine(dataFolder, "recommendation-ratings-train.csv"));
Console.WriteLine($"{ratings.Count:N0} ratings of {ratings.Select(r => r.Movie).Distinct().Count():N0} movies by {ratings.Select(r => r.User).Distinct().Count()} users");

// 1. Per user: history (first 80% in time order, ties by movie id) and held-out future (the rest).
var users = ratings.GroupBy(r => r.User)
    .Select(g =>
    {
        var ordered = g.OrderBy(r => r.Timestamp).ThenBy(r => int.Parse(r.Movie, CultureInfo.InvariantCulture)).ToArray();
        int historyLength = Math.Max(1, (int)(ordered.Length * 0.8));
        return new UserData(g.Key, ordered[..historyLength], ordered[historyLength..]);
    })
    .Where(u => u.Future.Length > 0)
    .ToArray();

// 2. item2vec: skip-gram over the histories. Context vectors are kept for scoring users against movies.
var ml = new MLContext(seed: 1);
var histories = ml.Data.LoadFromEnumerable(users.Select(u => new Session { History = u.History.Select(r => r.Movie).ToArray() }));
var item2vec = ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
{
    OutputColumnName = "HistoryVector",
    InputColumnName = "History",
    EmbeddingDimension = 48,
    WindowSize = 5,
    Epochs = 15,
    MinCount = 10,
    SamplingThreshold = 1e-3,
    NegativeSampleCount = 10,
    KeepContextVectors = true,
    ThreadCount = 1,
    Seed = 1,
}).Fit(histories);
var movies = item2vec.Embeddings;
var context = item2vec.ContextEmbeddings!;
var summary = item2vec.TrainingSummary;
Console.WriteLine($"item2vec: {summary.VocabularySize:N0} movies with vectors, {summary.CorpusTokens:N0} ratings x {summary.Epochs} epochs in {summary.TrainingTime.TotalSeconds:F1} s, final loss {summary.FinalLoss:F3}");

// 3a. Similar movies.
Console.WriteLine();
foreach (string movie in new[] { "1", "2571", "296", "4306" })
{
    Console.WriteLine($"Similar to {titles.GetValueOrDefault(movie, movie)}:");
    foreach (var neighbour in movies.MostSimilar(movie, 5))
        Console.WriteLine($"    {neighbour.Similarity:F3}  {titles.GetValueOrDefault(neighbour.Key, neighbour.Key)}");
}

// 3b. Next movie: score every unseen movie by (mean input vector of the user's last 5 movies) . (movie's context vector),
// and compare with recommending the most popular unseen movies. A hit is the user's next held-out movie in the top 10.
var popularity = users.SelectMany(u => u.History).GroupBy(r => r.Movie).ToDictionary(g => g.Key, g => (float)g.Count());
var byItem2Vec = new List<int>();
var byPopularity = new List<int>();
var userVector = new float[movies.Dimension];
var contextVector = new float[movies.Dimension];
foreach (var user in users)
{
    var seen = user.History.Select(r => r.Movie).ToHashSet();
    string target = user.Future[0].Movie;
    Array.Clear(userVector);
    int known = 0;
    foreach (var r in user.History.TakeLast(5))
    {
        if (movies.TryGetVector(r.Movie, contextVector))
        {
            for (int j = 0; j < userVector.Length; j++)
                userVector[j] += contextVector[j];
            known++;
        }
    }
    float Logit(string movie) => known > 0 && context.TryGetVector(movie, contextVector) ? userVector.Zip(contextVector, (a, b) => a * b).Sum() : float.NegativeInfinity;
    byItem2Vec.Add(Rank(context.Keys, seen, target, Logit));
    byPopularity.Add(Rank(popularity.Keys, seen, target, m => popularity.GetValueOrDefault(m)));
}
Console.WriteLine();
Console.WriteLine($"Next held-out movie of {users.Length} users, ranked among all unseen movies:");
Console.WriteLine($"    {"model",-28} {"HR@10",7} {"NDCG@10",8}");
Console.WriteLine($"    {"popularity",-28} {HitRate(byPopularity),7:F4} {Ndcg(byPopularity),8:F4}");
Console.WriteLine($"    {"item2vec (input . context)",-28} {HitRate(byItem2Vec),7:F4} {Ndcg(byItem2Vec),8:F4}");

// 4. Embeddings as features of an ML.NET ranker of ratings: the user's history pooled, and the movie's vector.
var trainRows = users.SelectMany(u => u.History.Select(r => RatingRow.From(u, r, u.History))).ToArray();
var testRows = users.SelectMany(u => u.Future.Select(r => RatingRow.From(u, r, u.History))).ToArray();
var train = ml.Data.LoadFromEnumerable(trainRows);
var test = ml.Data.LoadFromEnumerable(testRows);
var pipeline = ml.Transforms.Text.TokenizeIntoWords("HistoryItems", "HistoryText")
    .Append(ml.Embeddings().ApplyEmbedding(movies, "UserVector", "HistoryItems"))
    .Append(ml.Embeddings().ApplyEmbedding(movies, "MovieVector", "Movie"))
    .Append(ml.Transforms.Concatenate("Features", "UserVector", "MovieVector", "UserMeanRating"))
    .Append(ml.Regression.Trainers.FastTree(labelColumnName: "Label", numberOfLeaves: 32, numberOfTrees: 200, learningRate: 0.1));
var ratingModel = pipeline.Fit(train);
var metrics = ml.Regression.Evaluate(ratingModel.Transform(test), labelColumnName: "Label");
double meanBaseline = Math.Sqrt(testRows.Average(r => Math.Pow(r.Label - r.UserMeanRating, 2)));
Console.WriteLine();
Console.WriteLine($"Rating prediction on held-out ratings: FastTree with embeddings RMSE {metrics.RootMeanSquaredError:F4}; user's mean rating RMSE {meanBaseline:F4}");

// Save with ML.NET, load in a new context, and predict one rating through a PredictionEngine.
string modelPath = Path.Combine(Path.GetTempPath(), "movie-rating-model.zip");
ml.Model.Save(ratingModel, train.Schema, modelPath);
var reloaded = new MLContext(seed: 2).Model.Load(modelPath, out _);
var engine = ml.Model.CreatePredictionEngine<RatingRow, RatingPrediction>(reloaded);
var example = testRows[0];
float before = ml.Model.CreatePredictionEngine<RatingRow, RatingPrediction>(ratingModel).Predict(example).Score;
float after = engine.Predict(example).Score;
Console.WriteLine($"Saved to {modelPath} ({new FileInfo(modelPath).Length / 1024} KiB) and reloaded: user {example.User}, {titles.GetValueOrDefault(example.Movie, example.Movie)}: predicted {after:F2} (before saving {before:F2}, {(BitConverter.SingleToInt32Bits(before) == BitConverter.SingleToInt32Bits(after) ? "identical" : "DIFFERENT")}), actual {example.Label:F1}");
Console.WriteLine($"Done in {watch.Elapsed.TotalSeconds:F1} s.");

static int Rank(IEnumerable<string> candidates, HashSet<string> seen, string target, Func<string, float> score)
{
    float targetScore = score(target);
    int targetId = int.Parse(target, CultureInfo.InvariantCulture);
    int rank = 1;
    foreach (string movie in candidates)
    {
        if (movie == target || seen.Contains(movie))
            continue;
        float s = score(movie);
        if (s > targetScore || (s == targetScore && int.Parse(movie, CultureInfo.InvariantCulture) < targetId))
            rank++;
    }
    return rank;
}

static double HitRate(List<int> ranks) => ranks.Average(r => r <= 10 ? 1.0 : 0.0);

static double Ndcg(List<int> ranks) => ranks.Average(r => r <= 10 ? 1 / Math.Log2(r + 1) : 0.0);

static List<Rating> ReadRatings(string path) =>
    File.ReadLines(path).Skip(1).Select(line => line.Split(',')).Select(f => new Rating(
        f[0], f[1], float.Parse(f[2], CultureInfo.InvariantCulture), long.Parse(f[3], CultureInfo.InvariantCulture))).ToList();

static Dictionary<string, string> ReadTitles(string path)
{
    var titles = new Dictionary<string, string>();
    foreach (string line in File.ReadLines(path, Encoding.Latin1).Skip(1))
    {
        int first = line.IndexOf(',');
        int last = line.LastIndexOf(',');
        titles[line[..first]] = line[(first + 1)..last].Trim('"');
    }
    return titles;
}

internal sealed record Rating(string User, string Movie, float Score, long Timestamp);

internal sealed record UserData(string User, Rating[] History, Rating[] Future);

internal sealed class Session
{
    public string[] History { get; set; } = Array.Empty<string>();
}

internal sealed class RatingRow
{
    public string User { get; set; } = "";
    public string Movie { get; set; } = "";
    public string HistoryText { get; set; } = "";
    public float UserMeanRating { get; set; }
    public float Label { get; set; }

    public static RatingRow From(UserData user, Rating rating, Rating[] history) => new()
    {
        User = user.User,
        Movie = rating.Movie,
        HistoryText = string.Join(' ', history.TakeLast(20).Select(r => r.Movie)),
        UserMeanRating = history.Average(r => r.Score),
        Label = rating.Score,
    };
}

internal sealed class RatingPrediction
{
    public float Score { get; set; }
}
