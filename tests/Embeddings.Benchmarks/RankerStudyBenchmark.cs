using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Tuning of the ranking stage on the ml-100k VALIDATION split, with the expensive part done once: the features (with
    /// the sequence model) of up to --max-periods ranker label periods and of the validation candidates are computed once;
    /// then each ranker setting of the grid is fitted on the first p periods' rows (and a feature subset) and scored on the
    /// validation candidates. HR@10 / NDCG@10 here are over all users (a target outside the candidates is a miss), as
    /// recommend-eval computes them. Test targets are never read.
    /// Options: --data DIR-or-u.data --seed 1 --threads 2 --max-periods 6 --seq gru|youtube|none --seq-epochs 8
    /// --seq-dimensions 64 --candidates 100 --seq-candidates 50 --item2vec-candidates 0 --movielens-info DIR
    /// --grid "periods:leaves:trees:minleaf:lr[:drop]" (comma separated; drop = a slot-name prefix whose slots are zeroed,
    /// e.g. Sequence or User. or Cross).
    /// </summary>
    internal static class RankerStudyBenchmark
    {
        public static void Run(string[] args)
        {
            string? data = Options.MovieLensRatings(args);
            if (data is null)
                return;
            int seed = Options.Int(args, "--seed", 1);
            int threads = Options.Int(args, "--threads", 2);
            int maxPeriods = Options.Int(args, "--max-periods", 6);
            var options = new RankingRecommenderOptions
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                Seed = seed,
                NumberOfThreads = threads,
                CandidateCount = Options.Int(args, "--candidates", 100),
            };
            options.Features.SequenceCandidateCount = Options.Int(args, "--seq-candidates", 50);
            options.Features.Item2VecCandidateCount = Options.Int(args, "--item2vec-candidates", 0);
            string seq = Options.String(args, "--seq") ?? "gru";
            if (seq != "none")
            {
                options.SequenceModel = new SequenceRecallEstimator.Options
                {
                    Architecture = seq == "youtube" ? SequenceRecallArchitecture.MeanPooling : SequenceRecallArchitecture.Gru,
                    NumberOfEpochs = Options.Int(args, "--seq-epochs", 8),
                    EmbeddingDimension = Options.Int(args, "--seq-dimensions", 64),
                };
            }
            else
            {
                options.Features.SequenceCandidateCount = 0;
            }
            if (Options.String(args, "--movielens-info") is string info)
                (options.UserSideInformation, options.ItemSideInformation) = MovieLensSideInformation.Read(new MLContext(1), info, "User", "Item");
            options.Validate();
            var ml = new MLContext(seed);
            var split = InteractionFile.ReadSplit(data);
            var training = UserSequence.FromSplit(split, RankingTarget.Validation);
            var watch = Stopwatch.StartNew();

            // The label periods' rows, computed once.
            var periods = new List<List<RankingStage.CandidateRow>>();
            string[]? slotNamesOnce = null;
            uint groups = 0;
            for (int p = 0; p < maxPeriods; p++)
            {
                var rows = RankingStage.PeriodRows(ml, training, 1 + p, options, seed + p, ref groups, out int positives, out int users, CancellationToken.None)
                    ?? throw new InvalidOperationException("too few interactions");
                periods.Add(rows);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"period {p + 1}: {rows.Count:N0} rows, {users} users, label among the candidates {positives}; {watch.Elapsed.TotalSeconds:F0} s"));
                slotNamesOnce ??= RecommendationFeaturesEstimator.SlotNames(options.FeatureOptions("Features"));
                Console.WriteLine("    HR@10 among the candidates by one slot: " + SlotHitRates(rows, slotNamesOnce, users));
            }

            // The validation candidates with the features trained on all but the last two interactions.
            var featurizer = RecommendationFeaturesEstimator.Train(ml, training, options.FeatureOptions("Features"), seed, CancellationToken.None);
            var slotNames = featurizer.SlotNames.ToArray();
            var evalRows = new List<RankingStage.CandidateRow>();
            int n = featurizer.Items.Count;
            float[] scores = new float[n], a = new float[n], b = new float[n], scratch = featurizer.CreateScratch();
            var seen = new bool[n];
            var featureScratch = featurizer.CreateFeatureScratch();
            uint evalGroup = 0;
            int found = 0;
            foreach (string user in split.Users)
            {
                int u = featurizer.UserIndex(user);
                int target = featurizer.ItemIndex(split.Target(user, RankingTarget.Validation));
                foreach (int item in RankingStage.Candidates(featurizer, u, options.CandidateCount, scores, a, b, scratch, seen))
                {
                    var features = new float[featurizer.FeatureCount];
                    featurizer.Compute(u, item, features, featureScratch);
                    found += item == target ? 1 : 0;
                    evalRows.Add(new RankingStage.CandidateRow { User = user, Item = featurizer.Items[item], Label = item == target ? 1 : 0, GroupId = evalGroup, Features = features });
                }
                evalGroup++;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"validation: {evalRows.Count:N0} candidate rows, target among them for {found} of {split.Users.Count}; {watch.Elapsed.TotalSeconds:F0} s"));
            Console.WriteLine("    HR@10 among the candidates by one slot: " + SlotHitRates(evalRows, slotNames, split.Users.Count));

            string grid = Options.String(args, "--grid") ?? "3:8:100:100:0.05";
            foreach (string setting in grid.Split(',', StringSplitOptions.RemoveEmptyEntries))
            {
                var f = setting.Split(':');
                int p = int.Parse(f[0], CultureInfo.InvariantCulture);
                var o = options.Clone();
                o.NumberOfLeaves = int.Parse(f[1], CultureInfo.InvariantCulture);
                o.NumberOfTrees = int.Parse(f[2], CultureInfo.InvariantCulture);
                o.MinimumExampleCountPerLeaf = int.Parse(f[3], CultureInfo.InvariantCulture);
                o.LearningRate = double.Parse(f[4], CultureInfo.InvariantCulture);
                string? drop = f.Length > 5 ? f[5] : null;
                var dropped = Enumerable.Range(0, slotNames.Length).Where(i => drop is not null && slotNames[i].StartsWith(drop, StringComparison.Ordinal)).ToArray();
                List<RankingStage.CandidateRow> Masked(IEnumerable<RankingStage.CandidateRow> rows) => rows.Select(r =>
                {
                    if (dropped.Length == 0)
                        return r;
                    var copy = (float[])r.Features.Clone();
                    foreach (int i in dropped)
                        copy[i] = 0;
                    return new RankingStage.CandidateRow { User = r.User, Item = r.Item, Label = r.Label, GroupId = r.GroupId, Features = copy };
                }).ToList();
                var trainRows = Masked(periods.Take(p).SelectMany(r => r));
                var fitWatch = Stopwatch.StartNew();
                var ranker = RankingStage.FitRanker(ml, trainRows, groups, slotNames.Length, 1, o, seed);
                var (hr, ndcg) = Score(ml, ranker, Masked(evalRows), slotNames.Length, evalGroup, split.Users.Count);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"periods {p} leaves {o.NumberOfLeaves} trees {o.NumberOfTrees} min-leaf {o.MinimumExampleCountPerLeaf} lr {o.LearningRate}{(drop is null ? "" : $" without {drop}* ({dropped.Length} slots)")}: validation HR@10 {hr:F4} NDCG@10 {ndcg:F4} ({fitWatch.Elapsed.TotalSeconds:F0} s)"));
            }
        }

        /// <summary>HR@10 of the label when each group's candidates are ranked by one feature slot (ranks: ascending).</summary>
        private static string SlotHitRates(List<RankingStage.CandidateRow> rows, string[] slotNames, int users)
        {
            var shown = new[] { "Blend", "Item2VecLogit", "Sequence.Logit", "Sequence.LogSoftmax", "LogTransitionsFromRecent" };
            var parts = new List<string>();
            foreach (string name in shown)
            {
                int slot = Array.IndexOf(slotNames, name);
                if (slot < 0)
                    continue;
                int hits = 0;
                foreach (var group in rows.GroupBy(r => r.GroupId))
                {
                    var label = group.FirstOrDefault(r => r.Label > 0);
                    if (label is null)
                        continue;
                    float v = label.Features[slot];
                    hits += 1 + group.Count(r => r != label && r.Features[slot] > v) <= 10 ? 1 : 0;
                }
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{name} {(double)hits / users:F4}"));
            }
            // Blend + w x the sequence logit standardised within the user's candidates.
            int blend = Array.IndexOf(slotNames, "Blend"), logit = Array.IndexOf(slotNames, "Sequence.Logit");
            if (blend >= 0 && logit >= 0)
            {
                foreach (float w in new[] { 0.5f, 1f, 2f, 4f })
                {
                    int hits = 0;
                    foreach (var group in rows.GroupBy(r => r.GroupId))
                    {
                        var label = group.FirstOrDefault(r => r.Label > 0);
                        if (label is null)
                            continue;
                        double mean = group.Average(r => r.Features[logit]);
                        double sd = Math.Sqrt(group.Average(r => (r.Features[logit] - mean) * (r.Features[logit] - mean))) + 1e-6;
                        double Fused(RankingStage.CandidateRow r) => r.Features[blend] + w * (r.Features[logit] - mean) / sd;
                        double v = Fused(label);
                        hits += 1 + group.Count(r => r != label && Fused(r) > v) <= 10 ? 1 : 0;
                    }
                    parts.Add(string.Create(CultureInfo.InvariantCulture, $"Blend+{w}zSeq {(double)hits / users:F4}"));
                }
            }
            return string.Join(", ", parts);
        }

        private static (double HitRate, double Ndcg) Score(MLContext ml, ITransformer ranker, List<RankingStage.CandidateRow> rows, int featureCount, uint groups, int users)
        {
            var schema = SchemaDefinition.Create(typeof(RankingStage.CandidateRow));
            schema[nameof(RankingStage.CandidateRow.GroupId)].ColumnType = new KeyDataViewType(typeof(uint), Math.Max(1, groups));
            schema[nameof(RankingStage.CandidateRow.Features)].ColumnType = RecommendationFeatureSlots.VectorType(featureCount);
            var output = ranker.Transform(ml.Data.LoadFromEnumerable(rows, schema));
            var score = output.GetColumn<float>("Score").ToArray();
            double hits = 0, ndcg = 0;
            foreach (var group in Enumerable.Range(0, rows.Count).GroupBy(i => rows[i].GroupId))
            {
                int target = group.FirstOrDefault(i => rows[i].Label > 0, -1);
                if (target < 0)
                    continue;
                // Rank among the candidates, ties by item id (as the evaluator).
                int rank = 1 + group.Count(i => i != target && (score[i] > score[target] || (score[i] == score[target] && IdComparer.Instance.Compare(rows[i].Item, rows[target].Item) < 0)));
                if (rank <= 10)
                {
                    hits++;
                    ndcg += 1 / Math.Log2(rank + 1);
                }
            }
            return (hits / users, ndcg / users);
        }
    }
}
