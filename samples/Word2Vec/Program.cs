// Word vectors from a text file with the ML.NET API: tokenize, train skip-gram, then look at nearest neighbours and
// word analogies. By default it reads the first 4 million words of the shared text8-like Wikipedia corpus:
//     dotnet run -c Release --project samples/Word2Vec [-- TEXT_FILE[.gz] [QUESTIONS_FILE] [MAX_WORDS]]
using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Embeddings;
using Embeddings.Evaluation;
using Microsoft.ML;

string sharedCorpus = Path.Combine("..", "shared", "data", "corpus");
string textPath = args.Length > 0 ? args[0] : Path.Combine(sharedCorpus, "enwiki-text8like.txt.gz");
string questionsPath = args.Length > 1 ? args[1] : Path.Combine(sharedCorpus, "questions-words.txt");
int maxWords = args.Length > 2 ? int.Parse(args[2]) : 4_000_000;
if (!File.Exists(textPath))
{
    Console.WriteLine($"No text file at '{textPath}'. Pass a UTF-8 text file (one sentence per line): dotnet run --project samples/Word2Vec -- FILE [QUESTIONS] [MAX_WORDS]");
    return 1;
}

// Sentences of at most 1,000 words: text8 is one long line. A real application would load its own text column and
// split it with mlContext.Transforms.Text.TokenizeIntoWords, as below.
var watch = Stopwatch.StartNew();
var sentences = ReadSentences(textPath, maxWords, sentenceLength: 1000).Select(s => new Sentence { Text = s }).ToList();
Console.WriteLine($"read {sentences.Count:N0} sentences ({Math.Min(maxWords, sentences.Sum(s => s.Text.Count(c => c == ' ') + 1)):N0} words) from {textPath}");

var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(sentences);
var pipeline = ml.Transforms.Text.TokenizeIntoWords("Words", "Text")
    .Append(ml.Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options
    {
        OutputColumnName = "SentenceVector",
        InputColumnName = "Words",
        EmbeddingDimension = 100,
        WindowSize = 5,
        NegativeSampleCount = 5,
        SamplingThreshold = 1e-4,
        MinCount = 5,
        Epochs = 5,
        Progress = new Progress<SkipGramProgress>(p => Console.Write($"\r{p}   ")),
    }));
var model = pipeline.Fit(data);
var skipGram = model.LastTransformer;
var vectors = skipGram.Embeddings;
Console.WriteLine();
Console.WriteLine($"trained {vectors.Count:N0} words x {vectors.Dimension} in {skipGram.TrainingSummary.TrainingTime.TotalSeconds:F1} s ({skipGram.TrainingSummary.TokensPerSecond / 1000:F0}k words/s)");

foreach (string word in new[] { "france", "computer", "music", "king", "three" })
{
    if (!vectors.Contains(word))
        continue;
    var neighbours = vectors.MostSimilar(word, 8).Select(n => $"{n.Key} ({n.Similarity:F2})");
    Console.WriteLine($"{word,-10} {string.Join(", ", neighbours)}");
}

if (File.Exists(questionsPath))
{
    var result = WordAnalogyEvaluator.Evaluate(vectors, questionsPath);
    Console.WriteLine();
    Console.WriteLine("word analogies (30,000 most frequent words):");
    Console.Write(result);
}
Console.WriteLine($"done in {watch.Elapsed.TotalSeconds:F1} s");
return 0;

static IEnumerable<string> ReadSentences(string path, int maxWords, int sentenceLength)
{
    using Stream file = File.OpenRead(path);
    using Stream stream = path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase) ? new GZipStream(file, CompressionMode.Decompress) : file;
    using var reader = new StreamReader(stream);
    var words = new List<string>(sentenceLength);
    var word = new System.Text.StringBuilder();
    int total = 0;
    int c;
    while (total < maxWords && (c = reader.Read()) >= 0)
    {
        if (!char.IsWhiteSpace((char)c))
        {
            word.Append((char)c);
            continue;
        }
        if (word.Length > 0)
        {
            words.Add(word.ToString());
            word.Clear();
            total++;
        }
        if (words.Count == sentenceLength || (c == '\n' && words.Count > 0))
        {
            yield return string.Join(' ', words);
            words.Clear();
        }
    }
    if (word.Length > 0 && total < maxWords)
        words.Add(word.ToString());
    if (words.Count > 0)
        yield return string.Join(' ', words);
}

internal sealed class Sentence
{
    public string Text { get; set; } = "";
}
