using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Benchmarks;
using Embeddings.Benchmarks.Fuzz;

var benchmarks = new Dictionary<string, (string Description, Action<string[]> Run)>(StringComparer.OrdinalIgnoreCase)
{
    ["most-similar"] = ("EmbeddingTable.MostSimilar top-10 latency on a generated table (default 1,000,000 x 100)", MostSimilarBenchmark.Run),
    ["ann"] = ("exact and HNSW search on 1,000,000 x 100 clustered vectors: queries/s, build time, recall@10", NearestNeighborBenchmark.Run),
    ["recommend"] = ("MovieLens 100K leave-last-out: popularity and item2vec (cosine, input-output logit), HR@10 / NDCG@10", RecommendationBenchmark.Run),
    ["incremental"] = ("MovieLens 100K leave-last-out: item2vec base (90%) + update (10%) against a full retrain, HR@10 / NDCG@10 and time", IncrementalBenchmark.Run),
    ["graph-walks"] = ("node2vec walks on a generated 1,000,000-node, 20,000,000-edge power-law graph: walks/s, steps/s, peak memory", GraphWalkBenchmark.Run),
    ["node2vec-partitioned"] = ("node2vec on the graph-walks graph in memory and partitioned (P = 4, 1.5 GiB budget): peak RSS, time, swaps, link AUC; --kill-after-buckets N", PartitionedNode2VecBenchmark.Run),
    ["cluster-blogcatalog"] = ("node2vec on BlogCatalog on the single-machine partitioned trainer and on 3 in-process silos with the same P: Macro-F1 / Micro-F1 of both", ClusterBlogCatalogBenchmark.Run),
    ["cluster-kill"] = ("steps of cluster-kill.sh (3 silo processes, one SIGKILLed mid-epoch): edges (train/held-out files), reference (TrainInProcess), auc (link prediction of a vector file)", ClusterKillBenchmark.Run),
    ["cluster-costs"] = ("the scaling note's inputs (docs/cluster-scaling.md): storage write/read MB/s, coordinator lease/complete round trips, per-bucket bytes and kernel time of a node2vec job", ClusterCostsBenchmark.Run),
    ["node2vec-scale"] = ("node2vec end to end (edge file -> vectors) on the graph-walks graph: wall, CPU, peak memory, steps/s, words/s", Node2VecScaleBenchmark.Run),
    ["skipgram-scale"] = ("skip-gram on the text8-like corpus 1x and repeated 10x: peak memory and words/s of each, and their ratios", SkipGramScaleBenchmark.Run),
    ["mf"] = ("matrix factorization: explicit RMSE on ml-latest-small, implicit ALS HR@10 on ml-100k (random vs item2vec init), speed", MatrixFactorizationBenchmark.Run),
    ["serve"] = ("the ranking recommender on ml-100k: batch users/s, save and load in a new process (lists equal), fold-in of unseen users", ServingBenchmark.Run),
    ["deepwalk-study"] = ("DeepWalk (1-20 walks per node) against item2vec on ml-100k: item coverage, logit HR@10 overall and by target popularity, training time", DeepWalkStudyBenchmark.Run),
    ["sequence-recall"] = ("YouTube DNN and GRU sequence recall on ml-100k leave-last-out: per-epoch validation HR@10, chosen epochs, test HR@10 / NDCG@10, s/epoch", SequenceRecallBenchmark.Run),
    ["ranker-study"] = ("the ranking stage on ml-100k VALIDATION: label-period features computed once, then a grid of ranker settings and feature subsets, HR@10 / NDCG@10", RankerStudyBenchmark.Run),
    ["fuzz"] = ("one parser under afl-fuzz (run by tests/Embeddings.Fuzz/run-fuzz.sh), or --replay saved inputs, --list, --seeds DIR", FuzzCommand.Run),
    ["end-to-end"] = ("ml-100k click-through: our wide/FM/Wide&Deep/Deep Crossing/FNN and the item2vec study against ML.NET baselines, test AUC / logloss", EndToEndBenchmark.Run),
    ["word2vec"] = ("our word2vec against gensim on the text8-like corpus: analogy accuracy, words/s, peak memory (about 12 minutes)", Word2VecBenchmark.Run),
};

if (args.Length == 0 || !benchmarks.TryGetValue(args[0], out var benchmark))
{
    Console.WriteLine("usage: dotnet run -c Release --project tests/Embeddings.Benchmarks -- BENCHMARK [options]");
    foreach (var (name, (description, _)) in benchmarks)
        Console.WriteLine($"  {name,-14} {description}");
    return args.Length == 0 ? 0 : 2;
}

benchmark.Run(args.Skip(1).ToArray());
return 0;
