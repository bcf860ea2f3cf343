// End-to-end embedding models on the bundled MovieLens "ml-latest-small" ratings (non-commercial licence: see
// samples/data/movielens-small). Run from the repository root:
//     dotnet run --project samples/EndToEnd
//
// Task: predict whether a user rates a movie 4 stars or more, click-through style: every rating is a row with the
// fields user, movie, decade (from the title's year) and genres (multi-valued). Random 80/10/10 split of the rows; each
// model keeps its best epoch on the validation rows, and the test rows are scored once.
// 1. Our end-to-end trainers (mlContext.Embeddings()): wide (logistic regression on one-hot fields and user x genre
//    crosses), factorization machine, Wide&Deep, Deep Crossing and FNN.
// 2. Pretrained versus end to end: Wide&Deep whose movie embeddings start from item2vec vectors (skip-gram on the
//    training rows' per-user sequences), kept frozen or fine-tuned.
// 3. The Wide&Deep model is saved, reloaded and used through a PredictionEngine; its movie embeddings are exported
//    as an EmbeddingTable.
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Embeddings;
using Microsoft.ML;

var ml = new MLContext(seed: 1);
string data = Path.Combine(AppContext.BaseDirectory, "Data");
var movies = new Dictionary<string, (string Title, string Decade, string[] Genres)>();
foreach (string line in File.ReadLines(Path.Combine(data, "recommendation-movies.csv")).Skip(1))
{
    // movieId,title,genres: the title may hold commas (then it is quoted), so split at the first and last comma.
    int first = line.IndexOf(','), last = line.LastIndexOf(',');
    string title = line[(first + 1)..last].Trim('"');
    var year = Regex.Match(title, @"\((\d{4})\)\s*$");
    string decade = year.Success ? year.Groups[1].Value[..3] + "0s" : "unknown";
    string[] genres = line[(last + 1)..] == "(no genres listed)" ? [] : line[(last + 1)..].Split('|');
    movies[line[..first]] = (title, decade, genres);
}
var rows = File.ReadLines(Path.Combine(data, "recommendation-ratings-train.csv")).Skip(1).Select(line => line.Split(','))
    .Select(f => new RatingRow
    {
        User = f[0],
        Movie = f[1],
        Decade = movies[f[1]].Decade,
        Genres = movies[f[1]].Genres,
        Timestamp = long.Parse(f[3], CultureInfo.InvariantCulture),
        Label = float.Parse(f[2], CultureInfo.InvariantCulture) >= 4,
    }).ToList();
var order = Enumerable.Range(0, rows.Count).ToArray();
new Random(2026).Shuffle(order);
int trainEnd = rows.Count * 8 / 10, validEnd = rows.Count * 9 / 10;
var trainRows = order[..trainEnd].Select(i => rows[i]).ToList();
Console.WriteLine($"{rows.Count:N0} ratings, {rows.Count(r => r.Label) * 100.0 / rows.Count:F1}% liked (rating >= 4); random 80/10/10 split");

// One key numbering for every part: the keys are learned on all rows' values (no labels are read).
string[] fields = ["User", "Movie", "Decade", "Genres"];
var keys = ml.Transforms.Conversion.MapValueToKey(fields.Select(f => new InputOutputColumnPair(f)).ToArray()).Fit(ml.Data.LoadFromEnumerable(rows));
IDataView Part(IEnumerable<int> indices) => ml.Data.Cache(keys.Transform(ml.Data.LoadFromEnumerable(indices.Select(i => rows[i]).ToList())));
var train = Part(order[..trainEnd]);
var valid = Part(order[trainEnd..validEnd]);
var test = Part(order[validEnd..]);

// Item2vec on the training rows only: each user's movies in time order.
var sequences = trainRows.GroupBy(r => r.User).Select(g => g.OrderBy(r => r.Timestamp).Select(r => (string?)r.Movie).ToList());
var item2vec = ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
{
    OutputColumnName = "unused",
    EmbeddingDimension = 16,
    WindowSize = 5,
    MinCount = 1,
    Epochs = 20,
    Seed = 1,
    NumberOfThreads = 1,
}).Fit(sequences).Embeddings;

EndToEndEmbeddingEstimator.Options Options(EndToEndArchitecture architecture, float learningRate) => new()
{
    Architecture = architecture,
    CategoricalColumnNames = [.. fields],
    WideCrosses = architecture is EndToEndArchitecture.Wide or EndToEndArchitecture.FactorizationMachine or EndToEndArchitecture.WideAndDeep
        ? [["User", "Genres"], ["Decade", "Genres"]]
        : [],
    LearningRate = learningRate,
    NumberOfEpochs = 8,
    Seed = 1,
};
var runs = new List<(string Name, EndToEndEmbeddingEstimator.Options Options)>
{
    ("wide (logistic regression)", Options(EndToEndArchitecture.Wide, 0.01f)),
    ("factorization machine", Options(EndToEndArchitecture.FactorizationMachine, 0.001f)),
    ("Wide&Deep", Options(EndToEndArchitecture.WideAndDeep, 0.001f)),
    ("Deep Crossing", Options(EndToEndArchitecture.DeepCrossing, 0.001f)),
    ("FNN (from the FM)", Options(EndToEndArchitecture.FactorizationMachineNeuralNetwork, 0.001f)),
};
foreach (bool frozen in new[] { true, false })
{
    var options = Options(EndToEndArchitecture.WideAndDeep, 0.001f);
    options.PretrainedEmbeddings["Movie"] = new PretrainedFieldEmbedding(item2vec, frozen);
    runs.Add(($"Wide&Deep, item2vec movies {(frozen ? "frozen" : "fine-tuned")}", options));
}

Console.WriteLine();
Console.WriteLine($"{"model",-38} {"valid AUC",9} {"epoch 1",8} {"test AUC",9} {"logloss",8} {"best",5} {"s/epoch",8}");
EndToEndEmbeddingTransformer? wideAndDeep = null;
foreach (var (name, options) in runs)
{
    var model = ml.Embeddings().EndToEnd(options).Fit(train, valid);
    var summary = model.TrainingSummary!;
    var own = summary.Epochs.Where(e => e.Stage != "fm" || options.Architecture == EndToEndArchitecture.FactorizationMachine).ToList();
    var metrics = ml.BinaryClassification.Evaluate(model.Transform(test));
    double seconds = own.Select(e => e.Elapsed.TotalSeconds).Order().ElementAt(own.Count / 2);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-38} {own.Max(e => e.ValidationAuc),9:F4} {own[0].ValidationAuc,8:F4} {metrics.AreaUnderRocCurve,9:F4} {metrics.LogLoss * Math.Log(2),8:F4} {summary.BestEpoch,5} {seconds,8:F2}"));
    if (name == "Wide&Deep")
        wideAndDeep = model;
}
Console.WriteLine("(logloss in nats; s/epoch: median training pass; epoch 1: validation AUC after the first epoch)");

// Save, reload in a new context, and score one rating through a PredictionEngine.
string path = Path.Combine(Path.GetTempPath(), "end-to-end-wide-and-deep.zip");
ml.Model.Save(keys.Append(wideAndDeep!), train.Schema, path);
var reloaded = new MLContext(seed: 1).Model.Load(path, out _);
var engine = ml.Model.CreatePredictionEngine<RatingRow, Prediction>(reloaded);
var someone = rows[order[validEnd]];
var prediction = engine.Predict(someone);
Console.WriteLine();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"reloaded Wide&Deep: user {someone.User}, \"{movies[someone.Movie].Title}\": P(liked) = {prediction.Probability:F3} (liked: {someone.Label})"));
File.Delete(path);

// The learned movie embeddings are an ordinary EmbeddingTable: MostSimilar, the recall layer and nearest-neighbour
// indexes take them like any other (trained on 80,000 click labels alone, their neighbours say less than item2vec's).
var movieVectors = wideAndDeep!.GetFieldEmbeddings("Movie");
var neighbors = movieVectors.MostSimilar("1", 3);
Console.WriteLine($"Wide&Deep movie embeddings: {movieVectors.Count:N0} movies x {movieVectors.Dimension}; closest to \"{movies["1"].Title}\": " +
    string.Join(", ", neighbors.Select(n => $"\"{movies[n.Key].Title}\"")));

internal sealed class RatingRow
{
    public string User { get; set; } = "";

    public string Movie { get; set; } = "";

    public string Decade { get; set; } = "";

    public string[] Genres { get; set; } = [];

    public long Timestamp { get; set; }

    public bool Label { get; set; }
}

internal sealed class Prediction
{
    public float Probability { get; set; }
}
