using System;
using System.Linq;

namespace Embeddings.Tests.Estimators
{
    /// <summary>Sequences drawn from planted clusters: every sequence takes its items from one cluster.</summary>
    internal static class PlantedSequences
    {
        public sealed class Row
        {
            public string[] Items { get; set; } = Array.Empty<string>();
        }

        public static string Item(int cluster, int index) => $"c{cluster}_i{index}";

        public static int ClusterOf(string item) => int.Parse(item.Substring(1, item.IndexOf('_') - 1));

        public static Row[] Generate(int clusters, int itemsPerCluster, int sequences, int seed, int minLength = 5, int maxLength = 15)
        {
            var random = new Random(seed);
            var rows = new Row[sequences];
            for (int s = 0; s < sequences; s++)
            {
                int cluster = random.Next(clusters);
                int length = random.Next(minLength, maxLength + 1);
                rows[s] = new Row { Items = Enumerable.Range(0, length).Select(_ => Item(cluster, random.Next(itemsPerCluster))).ToArray() };
            }
            return rows;
        }

        /// <summary>Mean share of each item's top-<paramref name="k"/> neighbours that belong to its own cluster.</summary>
        public static double NeighbourPurity(EmbeddingTable table, int k)
        {
            double total = 0;
            foreach (string key in table.Keys)
            {
                int cluster = ClusterOf(key);
                total += table.MostSimilar(key, k).Count(n => ClusterOf(n.Key) == cluster) / (double)k;
            }
            return total / table.Count;
        }
    }
}
