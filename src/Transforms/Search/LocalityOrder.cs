using System;
using System.Numerics.Tensors;
using System.Threading.Tasks;

namespace Embeddings.Search
{
    /// <summary>
    /// The order in which an HNSW build inserts the rows of a table (<see cref="HnswInsertionOrder.Locality"/>): a random
    /// tenth of the rows first, then the others grouped by a random-hyperplane hash, so that consecutive inserts search
    /// the same part of the graph while it is still in the processor's caches.
    /// <para>
    /// Each insert is a graph search whose cost is memory latency: at 1,000,000 x 100 the graph and vectors take about
    /// 340 MiB, and in table order every insert starts cold in another region. Rows with the same hash code (the signs of
    /// their centred projections on ⌊log₂(rows / 16)⌋ random directions, at most 24; about 16 rows per code) point the same
    /// way, so their inserts walk the same nodes. The random tenth inserted first lays the long-range links between regions
    /// that an insertion grouped from the start would lack. The order is a fixed function of the table (seeded), so it is
    /// the same on every build; the threads then insert it interleaved, all in the same region at a time.
    /// </para>
    /// </summary>
    internal static class LocalityOrder
    {
        /// <summary>The share of rows inserted first, in random order.</summary>
        public const double SkeletonShare = 0.1;

        private const int Seed = 20_261_201;

        /// <summary>The row indexes of <paramref name="table"/> in locality insertion order.</summary>
        public static int[] Of(EmbeddingTable table)
        {
            int n = table.Count, d = table.Dimension;
            var random = new Random(Seed);
            var order = new int[n];
            for (int i = 0; i < n; i++)
                order[i] = i;
            for (int i = n - 1; i > 0; i--)
            {
                int j = random.Next(i + 1);
                (order[i], order[j]) = (order[j], order[i]);
            }
            int bits = HashBits(n);
            if (bits == 0)
                return order;

            // Centre first: hyperplanes through the mean split the rows where they are, whatever the offset of the data.
            var mean = new double[d];
            for (int r = 0; r < n; r++)
            {
                var row = table.Row(r);
                for (int j = 0; j < d; j++)
                    mean[j] += row[j];
            }
            var planes = new float[bits * d];
            for (int i = 0; i < planes.Length; i++)
                planes[i] = (float)Gaussian(random);
            // A row's code bit b is sign(row·plane_b − mean·plane_b).
            var offsets = new float[bits];
            for (int b = 0; b < bits; b++)
            {
                double dot = 0;
                for (int j = 0; j < d; j++)
                    dot += mean[j] / n * planes[b * d + j];
                offsets[b] = (float)dot;
            }
            int head = (int)(SkeletonShare * n);
            // Sort key: the code, then the position in the random order (rows of one code keep their random order).
            var keys = new long[n - head];
            Parallel.For(0, keys.Length, i =>
            {
                var row = table.Row(order[head + i]);
                long code = 0;
                for (int b = 0; b < bits; b++)
                    code = (code << 1) | (TensorPrimitives.Dot(row, planes.AsSpan(b * d, d)) > offsets[b] ? 1L : 0L);
                keys[i] = (code << 32) | (uint)i;
            });
            var rest = order.AsSpan(head).ToArray();
            Array.Sort(keys, rest);
            rest.CopyTo(order.AsSpan(head));
            return order;
        }

        /// <summary>⌊log₂(rows / 16)⌋ hash bits, from 0 (under 32 rows: no grouping) to 24.</summary>
        public static int HashBits(int rows) => rows < 32 ? 0 : Math.Min(24, (int)Math.Floor(Math.Log2(rows / 16.0)));

        private static double Gaussian(Random random)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }
    }
}
