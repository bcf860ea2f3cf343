// A movie recommender on the bundled MovieLens "ml-latest-small" ratings (non-commercial licence: see
// samples/data/movielens-small). Run from the repository root:
//     dotnet run --project samples/MovieRecommendation
//
// 1. Evaluation (leave-last-out, docs/evaluation-protocols.md): each user's last rating is the test target,
//    everything before it trains; every unseen movie is ranked. Models: popularity, item2vec (skip-gram over viewing
//    histories, scored by the input-output logit), node2vec (the movie transition graph), implicit matrix
//    factorization (recency-weighted ALS), the end-to-end sequence recall models (YouTube DNN: mean-pooled history
//    -> MLP; GRU over the history; both trained on next-item prediction), the blend of logit, transitions and
//    co-occurrence, and the ranker: LightGBM LambdaRank over those signals, re-ranking the blend's top 100 per user.
// 2. The deployable recommender: mlContext.Embeddings().RankingRecommender(...) fitted on all ratings; a few users'
//    recommendations with titles; the model saved with mlContext.Model.Save, reloaded, and scored by a PredictionEngine.
// 3. A map of the movie vectors (first two principal components, coloured by main genre) written as movie-map.png.
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Embeddings.Recommendation;
using Microsoft.ML;

Console.OutputEncoding = Encoding.UTF8;
var watch = Stopwatch.StartNew();
string dataFolder = Path.Combine(AppContext.BaseDirectory, "Data");
var movies = ReadMovies(Path.Combine(dataFolder, "recommendation-movies.csv"));
var ratings = ReadRatings(Path.Combine(dataFolder, "recommendation-ratings-train.csv"))
    .Concat(ReadRatings(Path.Combine(dataFolder, "recommendation-ratings-test.csv"))).ToList();
string Title(string movie) => movies.TryGetValue(movie, out var m) ? m.Title : movie;
Console.WriteLine($"{ratings.Count:N0} ratings of {ratings.Select(r => r.Movie).Distinct().Count():N0} movies by {ratings.Select(r => r.User).Distinct().Count()} users");

var options = new RankingRecommenderOptions
{
    UserColumnName = nameof(Rating.User),
    ItemColumnName = nameof(Rating.Movie),
    TimestampColumnName = nameof(Rating.Timestamp),
    Seed = 1,
    // ml-latest-small has 9,500 movies: shorter walks keep node2vec's corpus near item2vec's size.
    ItemGraph = new ItemGraphOptions { WalksPerNode = 5, WalkLength = 20 },
};

// 1. Leave-last-out evaluation, full ranking over every unseen movie.
var split = LeaveLastOutSplit.Create(ratings.Select(r => new Interaction(r.User, r.Movie, r.Timestamp)));
var ml = new MLContext(seed: 1);
// The sequence recall models train for the epoch counts that validation chose on MovieLens 100K (recommend-eval), so the
// sample fits each once, on the test split's training interactions.
var sequenceRecall = new SequenceRecallEvaluation();
sequenceRecall.ChosenEpochs["youtube"] = 9;
sequenceRecall.ChosenEpochs["gru"] = 7;
var evaluation = RecommendationEvaluation.Evaluate(ml, split, RankingTarget.Test, options, matrixFactorization: new ImplicitMatrixFactorization(), sequenceRecall: sequenceRecall);
Console.WriteLine();
Console.WriteLine($"Each user's last movie, ranked among all {split.Items.Count:N0} movies they had not rated ({split.Users.Count} users, {evaluation.Seconds:F0} s):");
Console.WriteLine($"    {"model",-12} {"HR@10",7} {"NDCG@10",8}");
foreach (string model in RecommendationEvaluation.ModelNames)
{
    if (evaluation.Models.TryGetValue(model, out var metrics))
        Console.WriteLine($"    {model,-12} {metrics.HitRate,7:F4} {metrics.Ndcg,8:F4}");
}

// 2. The deployable recommender, trained on all ratings.
var data = ml.Data.LoadFromEnumerable(ratings);
var recommender = ml.Embeddings().RankingRecommender(options).Fit(data);
Console.WriteLine();
foreach (string user in new[] { "1", "42", "414" })
{
    var history = ratings.Where(r => r.User == user).OrderBy(r => r.Timestamp).TakeLast(3).Select(r => Title(r.Movie));
    Console.WriteLine($"User {user} recently watched: {string.Join("; ", history)}");
    foreach (var (movie, score) in recommender.Recommend(ml, user, 5))
        Console.WriteLine($"    {score,7:F3}  {Title(movie)}");
}

string modelPath = Path.Combine(Path.GetTempPath(), "movie-recommender.zip");
ml.Model.Save(recommender, data.Schema, modelPath);
var reloaded = new MLContext(seed: 2).Model.Load(modelPath, out _);
var example = new UserMovie { User = "42", Movie = recommender.Recommend(ml, "42", 1)[0].Item };
float before = ml.Model.CreatePredictionEngine<UserMovie, Prediction>(recommender).Predict(example).Score;
float after = ml.Model.CreatePredictionEngine<UserMovie, Prediction>(reloaded).Predict(example).Score;
Console.WriteLine();
Console.WriteLine($"Saved to {modelPath} ({new FileInfo(modelPath).Length / 1024:N0} KiB) and reloaded; PredictionEngine on (user {example.User}, {Title(example.Movie)}): " +
    $"{after:F4} (before saving {before:F4}, {(BitConverter.SingleToInt32Bits(before) == BitConverter.SingleToInt32Bits(after) ? "identical" : "DIFFERENT")})");
// The loaded model is the recommender itself: it still recommends, the same lists as before saving.
var loadedRecommender = (RankingRecommenderTransformer)reloaded;
bool sameLists = new[] { "1", "42", "314" }.All(u => loadedRecommender.Recommend(ml, u, 5).SequenceEqual(recommender.Recommend(ml, u, 5)));
Console.WriteLine($"The reloaded recommender's top 5 for users 1, 42 and 314: {(sameLists ? "the same as before saving" : "DIFFERENT")}");

// Similar movies by item2vec vectors, among movies with at least 20 ratings (rare movies' vectors are mostly noise).
var vectors = recommender.Features.ItemEmbeddings;
var counts = ratings.GroupBy(r => r.Movie).ToDictionary(g => g.Key, g => g.Count());
Console.WriteLine();
foreach (string movie in new[] { "1", "2571", "296" })
{
    var similar = vectors.MostSimilar(movie, 200).Where(n => counts.GetValueOrDefault(n.Key) >= 20).Take(4);
    Console.WriteLine($"Similar to {Title(movie)}: {string.Join("; ", similar.Select(n => Title(n.Key)))}");
}

// 3. Movie map: movies with at least 20 ratings, first two principal components of their item2vec vectors.
var shown = vectors.Keys.Where(m => counts.GetValueOrDefault(m) >= 20 && movies.ContainsKey(m)).ToArray();
var (first, second) = VectorMap.Project(shown.Select(m => vectors.GetVector(m)).ToArray());
// A movie's main genre: the least common of its listed genres (MovieLens lists genres alphabetically, so the first
// one would make almost everything "Action" or "Adventure").
var genreCounts = movies.Values.SelectMany(m => m.Genres).GroupBy(g => g).ToDictionary(g => g.Key, g => g.Count());
var genres = shown.Select(m => movies[m].Genres.OrderBy(g => genreCounts[g]).ThenBy(g => g, StringComparer.Ordinal).First()).ToArray();
var topGenres = genres.GroupBy(g => g).OrderByDescending(g => g.Count()).Take(7).Select(g => g.Key).ToHashSet();
var plot = new ScottPlot.Plot();
foreach (var group in Enumerable.Range(0, shown.Length).GroupBy(i => topGenres.Contains(genres[i]) ? genres[i] : "other").OrderBy(g => g.Key))
{
    var scatter = plot.Add.ScatterPoints(group.Select(i => first[i]).ToArray(), group.Select(i => second[i]).ToArray());
    scatter.LegendText = group.Key;
    scatter.MarkerSize = 5;
}
foreach (string movie in new[] { "1", "2571", "296", "4306" })
{
    int i = Array.IndexOf(shown, movie);
    if (i >= 0)
        plot.Add.Text(Title(movie), first[i], second[i]);
}
plot.Title("MovieLens movies: item2vec vectors, first two principal components, by main genre");
plot.ShowLegend();
string png = Path.GetFullPath("movie-map.png");
plot.SavePng(png, 1000, 750);
Console.WriteLine();
Console.WriteLine($"Wrote {png} ({shown.Length:N0} movies with 20 or more ratings).");
Console.WriteLine($"Done in {watch.Elapsed.TotalSeconds:F1} s.");

static List<Rating> ReadRatings(string path) =>
    File.ReadLines(path).Skip(1).Select(line => line.Split(',')).Select(f => new Rating
    {
        User = f[0],
        Movie = f[1],
        Timestamp = long.Parse(f[3], CultureInfo.InvariantCulture),
    }).ToList();

static Dictionary<string, Movie> ReadMovies(string path)
{
    var result = new Dictionary<string, Movie>();
    foreach (string line in File.ReadLines(path, Encoding.UTF8).Skip(1))
    {
        int first = line.IndexOf(',');
        int last = line.LastIndexOf(',');
        result[line[..first]] = new Movie(line[(first + 1)..last].Trim('"'), line[(last + 1)..].Split('|'));
    }
    return result;
}

internal sealed record Movie(string Title, string[] Genres);

internal sealed class Rating
{
    public string User { get; set; } = "";
    public string Movie { get; set; } = "";
    public long Timestamp { get; set; }
}

internal sealed class UserMovie
{
    public string User { get; set; } = "";
    public string Movie { get; set; } = "";
}

internal sealed class Prediction
{
    public float Score { get; set; }
}
