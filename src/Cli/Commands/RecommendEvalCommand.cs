using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text.Json;
using Embeddings.Cli.Data;
using Embeddings.Recommendation;

namespace Embeddings.Cli.Commands
{
    /// <summary><c>embeddings recommend-eval</c>: the whole recommendation pipeline under the leave-last-out protocol.</summary>
    internal sealed class RecommendEvalCommand : CliCommand
    {
        private static readonly RankingRecommenderOptions s_defaults = new();
        private static readonly ImplicitMatrixFactorization s_mf = new();
        private static readonly RankingTarget[] s_test = { RankingTarget.Test };
        private static readonly RankingTarget[] s_validation = { RankingTarget.Validation };
        private static readonly RankingTarget[] s_both = { RankingTarget.Validation, RankingTarget.Test };

        private readonly Option<string> _input = CommonOptions.Input("--input", "'user item [rating] timestamp' rows, tab- or comma-separated (MovieLens u.data; a header row is skipped and reported, exact duplicate rows removed), or Parquet (a .parquet file or a folder of them; see the --*-column flags)");
        private readonly InteractionColumnOptions _columns = new();
        private readonly Option<string> _json = CliOption.File("--json",
            "write {model: {\"hr10\", \"ndcg10\", \"hr10_tied\", \"hr10_untied\" (users whose target has / has not the timestamp of the interaction before it)}, ..., \"validation\": {model: ...}} (test at the top; models: popularity, item2vec, node2vec, mf, youtube, gru, blend, ranker, ranker-seq; recall: per source, @100 and @200)");
        private readonly Option<Named<RankingTarget[]>> _split = CliOption.Choice("--split", "the split(s) to evaluate",
            new[] { ("test", s_test), ("validation", s_validation), ("both", s_both) }, s_both);
        private readonly Option<int> _seeds = CliOption.Int("--seeds", "repeat with seeds --seed .. --seed + N - 1 and report the mean and spread").Default(1).AtLeast(1);

        // item2vec
        private readonly Option<int> _dimensions = CliOption.Int("--dimensions", "item2vec vector size").Default(s_defaults.Item2Vec.EmbeddingDimension).Between(1, 100_000);
        private readonly Option<int> _window = CliOption.Int("--window", "item2vec window").Default(s_defaults.Item2Vec.WindowSize).AtLeast(1);
        private readonly Option<int> _epochs = CliOption.Int("--epochs", "item2vec epochs").Default(s_defaults.Item2Vec.Epochs).AtLeast(1);
        private readonly Option<int> _negative = CliOption.Int("--negative", "item2vec negative samples").Default(s_defaults.Item2Vec.NegativeSampleCount).Between(1, 1000);
        private readonly Option<double> _sample = CliOption.Double("--sample", "item2vec subsampling threshold").Default(s_defaults.Item2Vec.SamplingThreshold).Threshold();
        private readonly Option<double> _nsExponent = CliOption.Double("--ns-exponent", "item2vec negative-sampling exponent").Default(s_defaults.Item2Vec.NegativeSamplingExponent)
            .Check(v => v >= -10 && v <= 10, "must be from -10 to 10 (0.75 is usual)");

        // node2vec of the item transition graph
        private readonly Option<int> _graphDimensions = CliOption.Int("--graph-dimensions", "node2vec vector size").Default(s_defaults.ItemGraph.EmbeddingDimension).Between(1, 100_000);
        private readonly Option<int> _walkLength = CliOption.Int("--walk-length", "node2vec nodes per walk").Default(s_defaults.ItemGraph.WalkLength).AtLeast(2);
        private readonly Option<int> _numWalks = CliOption.Int("--num-walks", "node2vec walks per item").Default(s_defaults.ItemGraph.WalksPerNode).AtLeast(1);
        private readonly Option<double> _p = CliOption.Double("--p", "node2vec return parameter").Default(s_defaults.ItemGraph.ReturnParameter).AtLeast(0, exclusive: true);
        private readonly Option<double> _q = CliOption.Double("--q", "node2vec in-out parameter").Default(s_defaults.ItemGraph.InOutParameter).AtLeast(0, exclusive: true);
        private readonly Option<bool> _noGraph = CliOption.Switch("--no-graph", "leave node2vec out");

        // ranker
        private readonly Option<Named<RankerKind>> _ranker = CliOption.Choice("--ranker", "the ML.NET ranker",
            new[] { ("lightgbm", RankerKind.LightGbm), ("fasttree", RankerKind.FastTree) }, s_defaults.Ranker);
        private readonly Option<int> _candidates = CliOption.Int("--candidates", "candidates per user re-ranked by the ranker").Default(s_defaults.CandidateCount).Between(10, 100_000);
        private readonly Option<int> _leaves = CliOption.Int("--leaves", "ranker leaves per tree").Default(s_defaults.NumberOfLeaves).Between(2, 1024);
        private readonly Option<int> _trees = CliOption.Int("--trees", "ranker trees").Default(s_defaults.NumberOfTrees).Between(1, 10_000);
        private readonly Option<double> _learningRate = CliOption.Double("--learning-rate", "ranker learning rate").Default(s_defaults.LearningRate).Rate();
        private readonly Option<int> _minLeaf = CliOption.Int("--min-leaf", "ranker minimum candidates per leaf").Default(s_defaults.MinimumExampleCountPerLeaf).AtLeast(1);
        private readonly Option<int> _periods = CliOption.Int("--periods",
            "the ranker learns from each user's next interaction and the N - 1 before it, one feature fit each").Default(s_defaults.RankerTrainingPeriods).Between(1, 20);

        // implicit ALS
        private readonly Option<int> _mfRank = CliOption.Int("--mf-rank", "implicit ALS rank").Default(s_mf.Options.ApproximationRank).Between(1, 1024);
        private readonly Option<int> _mfIterations = CliOption.Int("--mf-iterations", "implicit ALS iterations").Default(s_mf.Options.NumberOfIterations).AtLeast(1);
        private readonly Option<double> _mfAlpha = CliOption.Double("--mf-alpha", "implicit ALS confidence weight").Default(s_mf.Options.Alpha).AtLeast(0);
        private readonly Option<double> _mfLambda = CliOption.Double("--mf-lambda", "implicit ALS L2 regularisation").Default(s_mf.Options.Lambda).AtLeast(0, exclusive: true);
        private readonly Option<double> _mfRecencyHalfLife = CliOption.Double("--mf-recency-half-life", "recency half-life in interactions (0: every interaction weighs 1)").Default(s_mf.RecencyHalfLife).AtLeast(0);
        private readonly Option<double> _mfRecencyBoost = CliOption.Double("--mf-recency-boost", "extra weight of the latest interaction").Default(s_mf.RecencyBoost)
            .Check(v => v >= 0 && v <= 1e6, "must be from 0 to 1e6 (a strength of 1 + boost)");
        private readonly Option<bool> _noMf = CliOption.Switch("--no-mf", "leave implicit MF out");

        private readonly Option<string> _movieLensInfo = CliOption.File("--movielens-info",
            "a MovieLens 100K folder whose u.user, u.item and u.genre give the ranker side features (age bucket, gender, occupation; genres, release year) and genre-affinity features");
        // sequence recall (YouTube DNN mean pooling, GRU)
        private readonly Option<int> _seqEpochs = CliOption.Int("--seq-max-epochs", "youtube and gru: most epochs tried on validation (the count with the best validation HR@10 is used for test)").Default(12).Between(1, 1000);
        private readonly Option<int> _seqDimensions = CliOption.Int("--seq-dimensions", "youtube and gru vector size").Default(SequenceRecallEstimator.Defaults.EmbeddingDimension).Between(1, 1024);
        private readonly Option<double> _seqLearningRate = CliOption.Double("--seq-learning-rate", "youtube and gru Adam step size").Default(SequenceRecallEstimator.Defaults.LearningRate).Rate();
        private readonly Option<bool> _noYoutube = CliOption.Switch("--no-youtube", "leave the YouTube DNN (mean pooling) sequence recall model out");
        private readonly Option<bool> _noGru = CliOption.Switch("--no-gru", "leave the GRU sequence recall model out");
        private readonly Option<bool> _sasrec = CliOption.Switch("--sasrec", "add the SASRec-style self-attention sequence recall model (row sasrec)");
        private readonly Option<int> _attentionBlocks = CliOption.Int("--attention-blocks", "sasrec and --ranker-seq sasrec: transformer blocks").Default(2).Between(1, 16);
        private readonly Option<int> _attentionHeads = CliOption.Int("--attention-heads", "sasrec and --ranker-seq sasrec: attention heads (a divisor of the vector size)").Default(1).Between(1, 64);
        private readonly Option<double> _attentionDropout = CliOption.Double("--attention-dropout", "sasrec and --ranker-seq sasrec: dropout rate in training").Default(0.2)
            .Check(v => v >= 0 && v <= 0.9, "must be from 0 to 0.9");
        private readonly Option<int> _attentionHistory = CliOption.Int("--attention-history", "sasrec and --ranker-seq sasrec: items of history read (the window with --attention-windows)").Default(SequenceRecallEstimator.Defaults.HistoryLength).Between(1, 1000);
        private readonly Option<bool> _attentionWindows = CliOption.Switch("--attention-windows",
            "sasrec and --ranker-seq sasrec: train on causal windows of --attention-history items with the loss at every position (TrainingMode = CausalWindows) instead of one example per position");
        private readonly Option<int> _attentionBatchSize = CliOption.Int("--attention-batch-size", "sasrec and --ranker-seq sasrec: examples per batch (windows with --attention-windows)").Default(SequenceRecallEstimator.Defaults.BatchSize).Between(1, 65_536);

        // the ranker's end-to-end sequence model (features and union recall)
        private readonly Option<Named<SequenceRecallArchitecture?>> _rankerSequence = CliOption.Choice("--ranker-seq",
            "the ranker's end-to-end sequence model, trained with its features on the interactions before each label (logit, log-softmax and rank features; candidates with --seq-candidates); reported as ranker-seq beside the ranker without it",
            new[] { ("gru", (SequenceRecallArchitecture?)SequenceRecallArchitecture.Gru), ("youtube", SequenceRecallArchitecture.MeanPooling), ("sasrec", SequenceRecallArchitecture.SelfAttention), ("none", null) }, (SequenceRecallArchitecture?)SequenceRecallArchitecture.Gru);
        private readonly Option<int> _rankerSequenceEpochs = CliOption.Int("--ranker-seq-epochs", "epochs of the ranker's sequence model").Default(8).Between(1, 1000);
        private readonly Option<int> _rankerSequenceDimensions = CliOption.Int("--ranker-seq-dimensions", "vector size of the ranker's sequence model").Default(SequenceRecallEstimator.Defaults.EmbeddingDimension).Between(1, 1024);
        private readonly Option<int> _sequenceCandidates = CliOption.Int("--seq-candidates", "candidates added to the blend's by the ranker's sequence model (0: none; 0 with --ranker-seq none)").Default(100).Between(0, 100_000);
        private readonly Option<int> _item2VecCandidates = CliOption.Int("--item2vec-candidates", "candidates added to the union by the item2vec logit (0: none)").Default(0).Between(0, 100_000);

        private readonly Option<int?> _threads = CommonOptions.Threads();
        private readonly Option<int> _seed = CommonOptions.Seed(description: "random seed (with --seeds, the first seed)");
        private readonly Option<bool> _verbose = CliOption.Switch("--verbose", "training messages on stderr");

        public RecommendEvalCommand()
            : base("recommend-eval", "Leave-last-out evaluation of popularity, item2vec, node2vec, MF, the YouTube DNN, GRU and (--sasrec) self-attention sequence recall models, blend and the ranker on an interaction file.",
                "Protocol: leave-last-out, full ranking over every unseen item, HR@10 and NDCG@10 over all users.")
        {
            Add(_input);
            Add(_columns.All);
            Add(_json, _split, _seeds, _dimensions, _window, _epochs, _negative, _sample, _nsExponent, _graphDimensions, _walkLength, _numWalks, _p, _q, _noGraph,
                _ranker, _candidates, _leaves, _trees, _learningRate, _minLeaf, _periods, _mfRank, _mfIterations, _mfAlpha, _mfLambda, _mfRecencyHalfLife, _mfRecencyBoost, _noMf,
                _seqEpochs, _seqDimensions, _seqLearningRate, _noYoutube, _noGru, _sasrec, _attentionBlocks, _attentionHeads, _attentionDropout, _attentionHistory, _attentionWindows, _attentionBatchSize, _rankerSequence, _rankerSequenceEpochs, _rankerSequenceDimensions, _sequenceCandidates, _item2VecCandidates,
                _movieLensInfo, _threads, _seed, _verbose);
            Speak("MinimumExampleCountPerLeaf", _minLeaf);
            Speak("NegativeSamplingExponent", _nsExponent);
            Command.Validators.Add(result =>
            {
                // --ranker-seq none sets the default --seq-candidates aside; a count given with it is an error.
                if (result.GetResult(_sequenceCandidates) is { Implicit: false } && result.ValueOf(_sequenceCandidates) > 0 && result.ValueOf(_rankerSequence)?.Value is null)
                    result.AddError($"--seq-candidates {result.ValueOf(_sequenceCandidates)} needs the ranker's sequence model; use --ranker-seq gru, youtube or sasrec, or --seq-candidates 0.");
                // The self-attention settings need a self-attention model to apply to.
                bool attention = result.ValueOf(_sasrec) || result.ValueOf(_rankerSequence)?.Value == SequenceRecallArchitecture.SelfAttention;
                foreach (var (option, name) in new (Option, string)[] { (_attentionBlocks, "--attention-blocks"), (_attentionHeads, "--attention-heads"), (_attentionDropout, "--attention-dropout"),
                    (_attentionHistory, "--attention-history"), (_attentionWindows, "--attention-windows"), (_attentionBatchSize, "--attention-batch-size") })
                {
                    if (!attention && result.GetResult(option) is { Implicit: false })
                        result.AddError($"{name} sets the self-attention model; add --sasrec or --ranker-seq sasrec, or leave {name} out.");
                }
                if (result.ValueOf(_attentionHeads) is int heads && (attention && ((result.ValueOf(_sasrec) && result.ValueOf(_seqDimensions) % heads != 0)
                    || (result.ValueOf(_rankerSequence)?.Value == SequenceRecallArchitecture.SelfAttention && result.ValueOf(_rankerSequenceDimensions) % heads != 0))))
                    result.AddError($"--attention-heads {heads} must divide the self-attention model's vector size (--seq-dimensions {result.ValueOf(_seqDimensions)} for --sasrec, --ranker-seq-dimensions {result.ValueOf(_rankerSequenceDimensions)} for --ranker-seq sasrec).");
                if ((long)result.ValueOf(_seed) + result.ValueOf(_seeds) - 1 > int.MaxValue)
                    result.AddError($"--seed {result.ValueOf(_seed)} with --seeds {result.ValueOf(_seeds)} goes past the largest seed, {int.MaxValue}.");
            });
        }

        protected override int Run(CommandRun run)
        {
            string input = run.InputFileOrParquetFolder(_input);
            var columns = _columns.Read(run, input, _input);
            string? json = run.OptionalOutputFile(_json);
            var targets = run.Get(_split).Value;
            int seeds = run.Get(_seeds);
            int firstSeed = run.Get(_seed);
            bool verbose = run.Get(_verbose);
            var options = Options(run);
            options.Validate();
            var split = InteractionFile.ReadSplit(input, run.Error, columns);
            run.Error.WriteLine($"{input}: {split.AllUsers.Count():N0} users, {split.Items.Count:N0} items; {split.Users.Count:N0} users with targets");
            CheckHistories(input, split, targets, run.Get(_periods));

            var runs = new Dictionary<RankingTarget, List<RecommendationSplitResult>>();
            var watch = Stopwatch.StartNew();
            for (int s = 0; s < seeds; s++)
            {
                options.Seed = firstSeed + s;
                // One per seed: the epochs chosen on validation carry over to the test evaluation.
                var sequenceRecall = run.Get(_noYoutube) && run.Get(_noGru) && !run.Get(_sasrec) ? null : new SequenceRecallEvaluation
                {
                    MeanPooling = !run.Get(_noYoutube),
                    Gru = !run.Get(_noGru),
                    SelfAttention = run.Get(_sasrec),
                    MaximumEpochs = run.Get(_seqEpochs),
                    Options = new SequenceRecallEstimator.Options
                    {
                        EmbeddingDimension = run.Get(_seqDimensions),
                        LearningRate = (float)run.Get(_seqLearningRate),
                        CancellationToken = run.Cancellation,
                    },
                };
                if (sequenceRecall is not null && sequenceRecall.SelfAttention)
                {
                    Attention(run, sequenceRecall.Options);
                    // History and batch size are the self-attention model's only; youtube and gru keep the defaults.
                    sequenceRecall.SelfAttentionHistoryLength = sequenceRecall.Options.HistoryLength;
                    sequenceRecall.SelfAttentionBatchSize = sequenceRecall.Options.BatchSize;
                    sequenceRecall.Options.HistoryLength = SequenceRecallEstimator.Defaults.HistoryLength;
                    sequenceRecall.Options.BatchSize = SequenceRecallEstimator.Defaults.BatchSize;
                }
                foreach (var target in targets)
                {
                    run.ThrowIfCancelled();
                    var ml = run.NewContext(options.Seed);
                    var result = RecommendationEvaluation.Evaluate(ml, split, target, options, verbose ? run.Error.WriteLine : null,
                        run.Get(_noMf) ? null : MatrixFactorizationOptions(run, options), sequenceRecall);
                    if (!runs.TryGetValue(target, out var list))
                        runs[target] = list = new List<RecommendationSplitResult>();
                    list.Add(result);
                    run.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"seed {options.Seed} {target}: {result.Seconds:F1} s"));
                }
            }
            run.ThrowIfCancelled();
            Print(run.Out, runs, seeds);
            PrintRecall(run.Out, runs);
            run.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"total {watch.Elapsed.TotalSeconds:F1} s"));
            if (json is not null)
                Infrastructure.AtomicFile.Write(json, stream => JsonSerializer.Serialize(stream, Report(runs, options, seeds), new JsonSerializerOptions { WriteIndented = true }));
            return ExitCodes.Success;
        }

        /// <summary>
        /// Refuses, before any training, data whose histories are too short for the protocol: the features of each of the
        /// ranker's --periods label periods are fitted on the history before its label, which needs 2 or more interactions,
        /// so some user needs h + periods + 2 (h = 1 held out for test, 2 for validation); and a user's candidates are the
        /// other users' items, so there must be 2 or more users.
        /// </summary>
        private static void CheckHistories(string input, LeaveLastOutSplit split, RankingTarget[] targets, int periods)
        {
            int users = split.AllUsers.Count();
            if (users < 2)
                throw new FormatException($"{input}: the interactions of {users} user; recommend-eval needs 2 or more users (a user's candidates are the items of the other users that the user has not seen).");
            int longest = split.AllUsers.Max(user => split.Interactions(user).Count);
            int holdout = targets.Contains(RankingTarget.Validation) ? 2 : 1;
            if (longest >= holdout + periods + 2)
                return;
            string need = $"--periods {periods} needs a user with {holdout + periods + 2} or more interactions ({holdout} held out, {periods} ranker label(s) and 2 before them to fit features on); the longest history in {input} has {longest}.";
            if (longest - holdout - 2 >= 1)
                throw new UsageException($"{need} Use --periods {longest - holdout - 2}{(holdout == 2 && longest - 3 >= periods ? " or --split test" : "")}.");
            if (holdout == 2 && longest - 3 >= 1)
                throw new UsageException($"{need} Use --split test --periods {Math.Min(periods, longest - 3)}.");
            throw new FormatException($"{need} The data need users with {holdout + 3} or more interactions.");
        }

        private RankingRecommenderOptions Options(CommandRun run)
        {
            var options = new RankingRecommenderOptions
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                CandidateCount = run.Get(_candidates),
                RankerTrainingPeriods = run.Get(_periods),
                NumberOfLeaves = run.Get(_leaves),
                NumberOfTrees = run.Get(_trees),
                LearningRate = run.Get(_learningRate),
                MinimumExampleCountPerLeaf = run.Get(_minLeaf),
                NumberOfThreads = run.Get(_threads),
                Ranker = run.Get(_ranker).Value,
            };
            options.Item2Vec.EmbeddingDimension = run.Get(_dimensions);
            options.Item2Vec.WindowSize = run.Get(_window);
            options.Item2Vec.Epochs = run.Get(_epochs);
            options.Item2Vec.NegativeSampleCount = run.Get(_negative);
            options.Item2Vec.SamplingThreshold = run.Get(_sample);
            options.Item2Vec.NegativeSamplingExponent = run.Get(_nsExponent);
            options.Item2Vec.CancellationToken = run.Cancellation;
            options.ItemGraph.Enabled = !run.Get(_noGraph);
            options.ItemGraph.EmbeddingDimension = run.Get(_graphDimensions);
            options.ItemGraph.WalkLength = run.Get(_walkLength);
            options.ItemGraph.WalksPerNode = run.Get(_numWalks);
            options.ItemGraph.ReturnParameter = run.Get(_p);
            options.ItemGraph.InOutParameter = run.Get(_q);
            options.Features.SequenceCandidateCount = run.Get(_rankerSequence).Value is null ? 0 : run.Get(_sequenceCandidates);
            options.Features.Item2VecCandidateCount = run.Get(_item2VecCandidates);
            if (run.Get(_rankerSequence).Value is SequenceRecallArchitecture architecture)
            {
                options.SequenceModel = new SequenceRecallEstimator.Options
                {
                    Architecture = architecture,
                    NumberOfEpochs = run.Get(_rankerSequenceEpochs),
                    EmbeddingDimension = run.Get(_rankerSequenceDimensions),
                    LearningRate = (float)run.Get(_seqLearningRate),
                };
                if (architecture == SequenceRecallArchitecture.SelfAttention)
                    Attention(run, options.SequenceModel);
            }
            if (run.OptionalInputDirectory(_movieLensInfo) is { } folder)
                (options.UserSideInformation, options.ItemSideInformation) = MovieLensSideInformation.Read(run.NewContext(1), folder, options.UserColumnName, options.ItemColumnName);
            return options;
        }

        /// <summary>The self-attention settings of the command line.</summary>
        private void Attention(CommandRun run, SequenceRecallEstimator.Options options)
        {
            options.AttentionBlocks = run.Get(_attentionBlocks);
            options.AttentionHeads = run.Get(_attentionHeads);
            options.DropoutRate = (float)run.Get(_attentionDropout);
            options.HistoryLength = run.Get(_attentionHistory);
            options.BatchSize = run.Get(_attentionBatchSize);
            if (run.Get(_attentionWindows))
                options.TrainingMode = SequenceRecallTrainingMode.CausalWindows;
        }

        private ImplicitMatrixFactorization MatrixFactorizationOptions(CommandRun run, RankingRecommenderOptions options)
        {
            var mf = new ImplicitMatrixFactorization();
            mf.Options.ApproximationRank = run.Get(_mfRank);
            mf.Options.NumberOfIterations = run.Get(_mfIterations);
            mf.Options.Alpha = run.Get(_mfAlpha);
            mf.Options.Lambda = run.Get(_mfLambda);
            mf.Options.NumberOfThreads = options.NumberOfThreads;
            mf.Options.Seed = options.Seed;
            mf.RecencyHalfLife = run.Get(_mfRecencyHalfLife);
            mf.RecencyBoost = run.Get(_mfRecencyBoost);
            mf.Validate();
            return mf;
        }

        private static void Print(TextWriter output, Dictionary<RankingTarget, List<RecommendationSplitResult>> runs, int seeds)
        {
            output.WriteLine($"{"model",-12} {"split",-10} {"HR@10",8} {"NDCG@10",8} {"tied",7} {"untied",7}{(seeds > 1 ? $"  (mean of {seeds} seeds; HR@10 min-max)" : "")}");
            foreach (string model in RecommendationEvaluation.ModelNames)
            {
                foreach (var (target, list) in runs.OrderBy(r => r.Key))
                {
                    var values = list.Where(r => r.Models.ContainsKey(model)).Select(r => r.Models[model]).ToList();
                    if (values.Count == 0)
                        continue;
                    string spread = seeds > 1 ? string.Create(CultureInfo.InvariantCulture, $"  {values.Min(v => v.HitRate):F4}-{values.Max(v => v.HitRate):F4}") : "";
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"{model,-12} {target,-10} {values.Average(v => v.HitRate),8:F4} {values.Average(v => v.Ndcg),8:F4} {values.Average(v => v.TiedHitRate),7:F4} {values.Average(v => v.UntiedHitRate),7:F4}{spread}"));
                }
            }
            output.WriteLine("(tied / untied: HR@10 over the users whose target has / has not the timestamp of the interaction before it, so that only the item-id tie-break placed it)");
            foreach (var (target, list) in runs.OrderBy(r => r.Key))
            {
                if (list.SelectMany(r => r.Models.Values).FirstOrDefault() is { } any)
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{target}: {any.TiedUsers} of {any.Users} users tied"));
            }
        }

        private static void PrintRecall(TextWriter output, Dictionary<RankingTarget, List<RecommendationSplitResult>> runs)
        {
            output.WriteLine($"{"recall",-12} {"split",-10} {"@100",8} {"@200",8}  (fraction of targets among a source's top items; union: among the ranker's candidates)");
            foreach (var (target, list) in runs.OrderBy(r => r.Key))
            {
                foreach (string source in list.SelectMany(r => r.Recall).Select(r => r.Source).Distinct())
                {
                    var values = list.SelectMany(r => r.Recall).Where(r => r.Source == source).ToList();
                    string size = source == "union" ? string.Create(CultureInfo.InvariantCulture, $"  {values.Average(v => v.MeanCandidates):F1} candidates per user") : "";
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{source,-12} {target,-10} {values.Average(v => v.At100),8:F4} {values.Average(v => v.At200),8:F4}{size}"));
                }
            }
        }

        private static Dictionary<string, object> Report(Dictionary<RankingTarget, List<RecommendationSplitResult>> runs, RankingRecommenderOptions options, int seeds)
        {
            var report = new Dictionary<string, object>();
            foreach (var (target, list) in runs)
            {
                var models = new Dictionary<string, object>();
                foreach (string model in RecommendationEvaluation.ModelNames)
                {
                    var values = list.Where(r => r.Models.ContainsKey(model)).Select(r => r.Models[model]).ToList();
                    if (values.Count == 0)
                        continue;
                    var entry = new Dictionary<string, object>
                    {
                        ["hr10"] = Math.Round(values.Average(v => v.HitRate), 6),
                        ["ndcg10"] = Math.Round(values.Average(v => v.Ndcg), 6),
                    };
                    // NaN (no users on one side) has no JSON number: the key is left out.
                    foreach (var (key, value) in new[] { ("hr10_tied", values.Average(v => v.TiedHitRate)), ("hr10_untied", values.Average(v => v.UntiedHitRate)) })
                    {
                        if (!double.IsNaN(value))
                            entry[key] = Math.Round(value, 6);
                    }
                    if (seeds > 1)
                    {
                        entry["hr10_per_seed"] = values.Select(v => Math.Round(v.HitRate, 6)).ToArray();
                        entry["ndcg10_per_seed"] = values.Select(v => Math.Round(v.Ndcg, 6)).ToArray();
                    }
                    models[model] = entry;
                }
                var recall = new Dictionary<string, object>();
                foreach (string source in list.SelectMany(r => r.Recall).Select(r => r.Source).Distinct())
                {
                    var values = list.SelectMany(r => r.Recall).Where(r => r.Source == source).ToList();
                    var entry = new Dictionary<string, object>
                    {
                        ["at100"] = Math.Round(values.Average(v => v.At100), 6),
                        ["at200"] = Math.Round(values.Average(v => v.At200), 6),
                    };
                    if (source == "union")
                        entry["mean_candidates"] = Math.Round(values.Average(v => v.MeanCandidates), 2);
                    recall[source] = entry;
                }
                models["recall"] = recall;
                models["tied_users"] = list.SelectMany(r => r.Models.Values).Select(v => v.TiedUsers).FirstOrDefault();
                // Test figures at the top level (one entry per model), validation figures under "validation".
                if (target == RankingTarget.Test)
                {
                    foreach (var (name, entry) in models)
                        report[name] = entry;
                }
                else
                {
                    report["validation"] = models;
                }
            }
            report["settings"] = new Dictionary<string, object>
            {
                ["seeds"] = seeds,
                ["candidates"] = options.CandidateCount,
                ["sequence_candidates"] = options.Features.SequenceCandidateCount,
                ["item2vec_candidates"] = options.Features.Item2VecCandidateCount,
                ["ranker_sequence_model"] = options.SequenceModel is null ? "none" : $"{options.SequenceModel.Architecture}, dimension {options.SequenceModel.EmbeddingDimension}, {options.SequenceModel.NumberOfEpochs} epochs"
                    + (options.SequenceModel.Architecture == SequenceRecallArchitecture.SelfAttention
                        ? $", {options.SequenceModel.AttentionBlocks} blocks, {options.SequenceModel.AttentionHeads} heads, dropout {options.SequenceModel.DropoutRate}, history {options.SequenceModel.HistoryLength}, batch {options.SequenceModel.BatchSize}, {options.SequenceModel.TrainingMode}" : ""),
                ["ranker_kind"] = options.Ranker.ToString(),
                ["ranker_training_periods"] = options.RankerTrainingPeriods,
                ["sequence_recall_epochs"] = runs.Values.SelectMany(l => l).Take(1).SelectMany(r => r.ChosenEpochs).ToDictionary(p => p.Key, p => (object)p.Value),
            };
            return report;
        }
    }
}
