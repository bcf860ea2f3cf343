using System;
using System.Collections.Generic;
using System.Linq;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// Crosses of the users' and the items' side information learned from the training interactions: for every pair of a
    /// user key column U (for example gender) and an item key column I (for example genres), the lift of each (user key a,
    /// item key g): how much more often the interactions of users with a go to items with g than all interactions do,
    /// smoothed towards 1: lift = ((C[a, g] + s P[g]) / (R[a] + s)) / P[g], where C counts the interactions of users with a
    /// on items with g, R[a] is its row sum, P[g] the share of g among all (user key, item key) counts and s =
    /// <see cref="Smoothing"/>. The feature of (user, item) is the mean of log(lift) over the user's keys of U and the
    /// item's keys of I (weighted by their values); 0 when either has none. A ranker sees a group-by-kind effect through
    /// it directly: the user's and the item's own key slots alone need two splits whose first one gains nothing within a
    /// user's candidates. Computed from the state's histories and side tables, so it is not saved.
    /// </summary>
    internal sealed class SideCrosses
    {
        /// <summary>The pseudo-count s that pulls rare keys' lifts towards 1.</summary>
        public const float Smoothing = 10;

        private readonly (SideColumn User, SideColumn Item, float[] LogLift)[] _pairs;

        private SideCrosses((SideColumn, SideColumn, float[])[] pairs)
        {
            _pairs = pairs;
        }

        /// <summary>No crosses.</summary>
        public static SideCrosses Empty { get; } = new([]);

        /// <summary>One slot per (user key column, item key column).</summary>
        public int Slots => _pairs.Length;

        /// <summary>The slot names, "Cross.{user column}.{item column}".</summary>
        public static IEnumerable<string> SlotNames(SideLayout user, SideLayout item) =>
            from u in user.Columns where u.IsCategorical from i in item.Columns where i.IsCategorical select $"Cross.{u.Name}.{i.Name}";

        /// <summary>Counts the crosses over the training <paramref name="histories"/> (catalog indices by user index).</summary>
        public static SideCrosses Count(SideTable userSide, SideTable itemSide, int[][] histories)
        {
            var pairs = new List<(SideColumn, SideColumn, float[])>();
            foreach (var u in userSide.Layout.Columns.Where(c => c.IsCategorical))
            {
                foreach (var i in itemSide.Layout.Columns.Where(c => c.IsCategorical))
                {
                    var counts = new double[u.Width * i.Width];
                    for (int user = 0; user < histories.Length; user++)
                    {
                        var userKeys = userSide.Row(user).Slice(u.Offset, u.Width);
                        foreach (int item in histories[user])
                        {
                            var itemKeys = itemSide.Row(item).Slice(i.Offset, i.Width);
                            for (int a = 0; a < u.Width; a++)
                            {
                                if (userKeys[a] == 0)
                                    continue;
                                for (int g = 0; g < i.Width; g++)
                                    counts[a * i.Width + g] += userKeys[a] * itemKeys[g];
                            }
                        }
                    }
                    double total = counts.Sum();
                    var column = new double[i.Width];
                    for (int a = 0; a < u.Width; a++)
                    {
                        for (int g = 0; g < i.Width; g++)
                            column[g] += counts[a * i.Width + g];
                    }
                    var logLift = new float[u.Width * i.Width];
                    for (int a = 0; a < u.Width; a++)
                    {
                        double row = 0;
                        for (int g = 0; g < i.Width; g++)
                            row += counts[a * i.Width + g];
                        for (int g = 0; g < i.Width; g++)
                        {
                            double p = total > 0 ? column[g] / total : 0;
                            // A key never seen with any interaction has no evidence: lift 1.
                            logLift[a * i.Width + g] = p > 0 ? (float)Math.Log((counts[a * i.Width + g] + Smoothing * p) / (row + Smoothing) / p) : 0;
                        }
                    }
                    pairs.Add((u, i, logLift));
                }
            }
            return new SideCrosses(pairs.ToArray());
        }

        /// <summary>Fills one slot per cross for the user's side row and the item's side row.</summary>
        public void Compute(ReadOnlySpan<float> userRow, ReadOnlySpan<float> itemRow, Span<float> slots)
        {
            for (int k = 0; k < _pairs.Length; k++)
            {
                var (u, i, logLift) = _pairs[k];
                var userKeys = userRow.Slice(u.Offset, u.Width);
                var itemKeys = itemRow.Slice(i.Offset, i.Width);
                double sum = 0, weight = 0;
                for (int a = 0; a < u.Width; a++)
                {
                    if (userKeys[a] == 0)
                        continue;
                    for (int g = 0; g < i.Width; g++)
                    {
                        float w = userKeys[a] * itemKeys[g];
                        if (w == 0)
                            continue;
                        sum += w * logLift[a * i.Width + g];
                        weight += w;
                    }
                }
                slots[k] = weight > 0 ? (float)(sum / weight) : 0;
            }
        }
    }
}
