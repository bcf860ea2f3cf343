using System;
using System.Collections.Generic;
using System.Linq;
using Embeddings.Recommendation;

namespace Embeddings.Tests.Recommendation
{
    /// <summary>Interactions with a planted next item, shared by the recommendation fixtures.</summary>
    internal static class PlantedChains
    {
        public sealed class Row
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
            public long Time { get; set; }
        }

        public sealed class UserItem
        {
            public string User { get; set; } = "";
            public string Item { get; set; } = "";
        }

        /// <summary>
        /// Four chains of 12 items (c0 -> c1 -> ... -> c11 -> c0): each of 120 users walks one chain for 10 steps from a
        /// random start, with one random off-chain item inserted; the planted next item is the successor of the last one.
        /// </summary>
        public static (Row[] Rows, Dictionary<string, string> Next) Interactions()
        {
            var random = new Random(5);
            var rows = new List<Row>();
            var next = new Dictionary<string, string>();
            for (int u = 0; u < 120; u++)
            {
                string user = $"u{u}";
                int chain = u % 4, start = random.Next(12);
                int noiseAt = 1 + random.Next(8);
                long time = 1000;
                for (int t = 0; t < 10; t++)
                {
                    rows.Add(new Row { User = user, Item = $"c{chain}-{(start + t) % 12}", Time = time++ });
                    if (t == noiseAt)
                        rows.Add(new Row { User = user, Item = $"c{random.Next(4)}-{random.Next(12)}", Time = time++ });
                }
                next[user] = $"c{chain}-{(start + 10) % 12}";
            }
            return (rows.OrderBy(_ => random.Next()).ToArray(), next);
        }

        /// <summary>Small, fast, seeded, single-threaded settings of the whole recommender for the planted data.</summary>
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
            options.Item2Vec.Epochs = 10;
            options.Item2Vec.SamplingThreshold = 0;
            options.ItemGraph.EmbeddingDimension = 16;
            options.ItemGraph.WalkLength = 10;
            options.ItemGraph.WalksPerNode = 5;
            return options;
        }

        /// <summary>The feature estimator's options matching <see cref="Options"/>.</summary>
        public static RecommendationFeaturesEstimator.Options FeatureOptions()
        {
            var o = Options();
            return new RecommendationFeaturesEstimator.Options
            {
                UserColumnName = "User",
                ItemColumnName = "Item",
                TimestampColumnName = "Time",
                Item2Vec = o.Item2Vec,
                ItemGraph = o.ItemGraph,
                Seed = 3,
                NumberOfThreads = 1,
            };
        }
    }
}
