// node2vec on Zachary's karate club (bundled): the embeddings separate the two factions the club split into.
//     dotnet run --project samples/KarateClub [-- OUTPUT.png]
// Prints each member's nearest neighbours and how often they share the member's faction, and writes a PNG scatter of
// the vectors projected on their first two principal components, coloured by faction.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using Embeddings;
using Microsoft.ML;

string data = Path.Combine(AppContext.BaseDirectory, "Data");
string png = args.Length > 0 ? args[0] : "karate-node2vec.png";
var edges = File.ReadLines(Path.Combine(data, "edges.tsv")).Select(l => l.Split('\t'))
    .Select(f => new Friendship { Member = int.Parse(f[0], CultureInfo.InvariantCulture), Friend = int.Parse(f[1], CultureInfo.InvariantCulture) }).ToArray();
var faction = File.ReadLines(Path.Combine(data, "labels.tsv")).Select(l => l.Split('\t'))
    .ToDictionary(f => f[0], f => int.Parse(f[1], CultureInfo.InvariantCulture));

var ml = new MLContext(seed: 1);
var options = new Node2VecEstimator.Options
{
    SourceColumnName = nameof(Friendship.Member),
    TargetColumnName = nameof(Friendship.Friend),
    ReturnParameter = 1,
    InOutParameter = 0.5,        // q < 1: walks move outward, so vectors reflect the community a member belongs to
    EmbeddingDimension = 16,
    WalkLength = 20,
    WalksPerNode = 40,
    WindowSize = 5,
    Epochs = 3,
    NumberOfThreads = 1,
    Seed = 1,
};
options.OutputColumns.Add(("MemberVector", nameof(Friendship.Member)));
var model = ml.Embeddings().Node2Vec(options).Fit(ml.Data.LoadFromEnumerable(edges));
var vectors = model.SourceEmbeddings;
Console.WriteLine($"{vectors.Count} members, {model.Summary!.Walks} walks ({model.Summary.Sampling}), {vectors.Dimension}-dimensional vectors");

string Name(string member) => $"{member,2} ({(faction[member] == 0 ? "Mr. Hi " : "Officer")})";
int agreeing = 0;
foreach (string member in vectors.Keys.OrderBy(k => int.Parse(k, CultureInfo.InvariantCulture)))
{
    var neighbours = vectors.MostSimilar(member, 5);
    agreeing += neighbours.Count(n => faction[n.Key] == faction[member]);
    if (member is "0" or "33" or "8" or "2")
        Console.WriteLine($"{Name(member)} nearest: {string.Join(", ", neighbours.Select(n => $"{n.Key} {n.Similarity:F2}"))}");
}
Console.WriteLine($"{100.0 * agreeing / (5 * vectors.Count):F1}% of each member's 5 nearest neighbours are in the member's faction (chance: about 50%)");

// The first two principal components of the vectors (samples/Shared/VectorMap.cs).
var keys = vectors.Keys.ToArray();
var (mapX, mapY) = VectorMap.Project(keys.Select(k => vectors.GetVector(k)).ToArray());
var plot = new ScottPlot.Plot();
foreach (int f in new[] { 0, 1 })
{
    var members = Enumerable.Range(0, keys.Length).Where(i => faction[keys[i]] == f).ToArray();
    var scatter = plot.Add.ScatterPoints(members.Select(i => mapX[i]).ToArray(), members.Select(i => mapY[i]).ToArray());
    scatter.LegendText = f == 0 ? "Mr. Hi" : "Officer";
    scatter.MarkerSize = 10;
    foreach (int i in members)
        plot.Add.Text(keys[i], mapX[i], mapY[i]);
}
plot.Title("Karate club: node2vec vectors, first two principal components");
plot.ShowLegend();
plot.SavePng(png, 800, 600);
Console.WriteLine($"wrote {Path.GetFullPath(png)}");

internal sealed class Friendship
{
    public int Member { get; set; }
    public int Friend { get; set; }
}
