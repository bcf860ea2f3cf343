// Embeddings as side features of a factorization machine, on the bundled MovieLens "ml-latest-small" ratings
// (non-commercial licence: see samples/data/movielens-small). Run from the repository root:
//     dotnet run --project samples/FactorizationMachineWithEmbeddings
//
// Task: predict whether a user rates a movie 4 stars or more ("liked"), on a random 20% of the ratings held out.
// 1. Baseline: ML.NET's field-aware factorization machine (Microsoft.ML) with two fields, the one-hot user id and the
//    one-hot movie id.
// 2. Matrix factorization (mlContext.Embeddings().MatrixFactorization) on the training ratings only; its user and item
//    factors are exported as EmbeddingTables and applied with mlContext.Embeddings().ApplyEmbedding as two more fields,
//    beside the id fields. Same trainer, same split: only the side features differ.
// 3. Both are compared by AUC on the held-out ratings; the model with embeddings is saved, reloaded and used through a
//    PredictionEngine.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings;
using Microsoft.ML;

var ml = new MLContext(seed: 1);
string path = Path.Combine(AppContext.BaseDirectory, "Data", "recommendation-ratings-train.csv");
var ratings = File.ReadLines(path).Skip(1).Select(line => line.Split(','))
    .Select(f => new MovieRating { UserId = f[0], MovieId = f[1], Rating = float.Parse(f[2], CultureInfo.InvariantCulture) })
    .ToList();
foreach (var rating in ratings)
    rating.Label = rating.Rating >= 4;
var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(ratings), testFraction: 0.2, seed: 1);
Console.WriteLine($"{ratings.Count:N0} ratings; {ratings.Count(r => r.Label) * 100.0 / ratings.Count:F1}% liked (rating >= 4); 80/20 random split");

// 2. Matrix factorization on the training ratings; factors keyed by the user and movie id text.
var mf = ml.Transforms.Conversion.MapValueToKey("UserKey", nameof(MovieRating.UserId))
    .Append(ml.Transforms.Conversion.MapValueToKey("MovieKey", nameof(MovieRating.MovieId)))
    .Append(ml.Embeddings().MatrixFactorization(new MatrixFactorizationEstimator.Options
    {
        // Implicit feedback (who rated what, confidence 1 + Alpha * rating): the factors describe taste from the
        // interaction pattern. Factors fitted to the training labels themselves (the explicit loss) would let the FM
        // memorise the training set through them; the README's table shows both.
        LossFunction = MatrixFactorizationEstimator.LossFunctionType.SquareLossOneClass,
        LabelColumnName = nameof(MovieRating.Rating),
        MatrixColumnIndexColumnName = "UserKey",
        MatrixRowIndexColumnName = "MovieKey",
        ApproximationRank = 16,
        Alpha = 1,
        Lambda = 3,
        Seed = 1,
    }))
    .Fit(split.TrainSet);
var factors = mf.LastTransformer;
Console.WriteLine($"matrix factorization (implicit ALS): {factors.UserFactors.Count} user and {factors.ItemFactors.Count} movie vectors of {factors.ApproximationRank} factors in {factors.TrainingSummary!.TrainingTime.TotalSeconds:F1} s");

// 1. and 2.: the same factorization machine, without and with the embedding fields.
IEstimator<ITransformer> IdFields() =>
    ml.Transforms.Categorical.OneHotEncoding("UserField", nameof(MovieRating.UserId))
        .Append(ml.Transforms.Categorical.OneHotEncoding("MovieField", nameof(MovieRating.MovieId)));
var baseline = IdFields()
    .Append(ml.BinaryClassification.Trainers.FieldAwareFactorizationMachine(new[] { "UserField", "MovieField" }, labelColumnName: "Label"));
var withEmbeddings = IdFields()
    .Append(ml.Embeddings().ApplyEmbedding("UserVector", factors.UserFactors, nameof(MovieRating.UserId)))
    .Append(ml.Embeddings().ApplyEmbedding("MovieVector", factors.ItemFactors, nameof(MovieRating.MovieId)))
    .Append(ml.BinaryClassification.Trainers.FieldAwareFactorizationMachine(new[] { "UserField", "MovieField", "UserVector", "MovieVector" }, labelColumnName: "Label"));

double baselineAuc = 0;
foreach (var (name, pipeline) in new[] { ("ids only", baseline), ("ids + MF embeddings", withEmbeddings) })
{
    var model = pipeline.Fit(split.TrainSet);
    var metrics = ml.BinaryClassification.Evaluate(model.Transform(split.TestSet), "Label");
    Console.WriteLine($"field-aware FM, {name,-20} AUC {metrics.AreaUnderRocCurve:F4}  accuracy {metrics.Accuracy:F4}  log-loss {metrics.LogLoss:F4}"
        + (baselineAuc > 0 ? $"  (AUC {metrics.AreaUnderRocCurve - baselineAuc:+0.0000;-0.0000} over ids only)" : ""));
    baselineAuc = baselineAuc > 0 ? baselineAuc : metrics.AreaUnderRocCurve;
    if (pipeline == withEmbeddings)
    {
        // 3. Save, reload, predict one held-out rating through a PredictionEngine.
        string file = Path.Combine(Path.GetTempPath(), "fm-with-embeddings.zip");
        ml.Model.Save(model, split.TrainSet.Schema, file);
        var engine = ml.Model.CreatePredictionEngine<MovieRating, LikePrediction>(new MLContext(seed: 1).Model.Load(file, out _));
        var example = ml.Data.CreateEnumerable<MovieRating>(split.TestSet, reuseRowObject: false).First();
        var prediction = engine.Predict(example);
        Console.WriteLine($"reloaded model: user {example.UserId}, movie {example.MovieId}, rated {example.Rating}: P(liked) = {prediction.Probability:F3}");
        File.Delete(file);
    }
}

internal sealed class MovieRating
{
    public string UserId { get; set; } = "";

    public string MovieId { get; set; } = "";

    public float Rating { get; set; }

    public bool Label { get; set; }
}

internal sealed class LikePrediction
{
    public bool PredictedLabel { get; set; }

    public float Probability { get; set; }
}
