using System;
using System.IO;
using Embeddings.Infrastructure;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// When things happened, in a unit-free form: the sorted times of all training interactions, each item's sorted
    /// interaction times and each user's last training time. "Around the user's time" means within the
    /// <c>window</c> interactions (of anybody) before and after the user's last training interaction.
    /// </summary>
    internal sealed class InteractionTimeline
    {
        private readonly double[] _all;
        private readonly long[] _itemOffsets;
        private readonly double[] _itemTimes;
        private readonly double[] _userTimes;

        private InteractionTimeline(double[] all, long[] itemOffsets, double[] itemTimes, double[] userTimes)
        {
            _all = all;
            _itemOffsets = itemOffsets;
            _itemTimes = itemTimes;
            _userTimes = userTimes;
        }

        /// <summary>The timeline of <paramref name="histories"/> (item indices below <paramref name="itemCount"/>) whose entries happened at <paramref name="times"/>.</summary>
        public static InteractionTimeline Create(int itemCount, int[][] histories, double[][] times)
        {
            var offsets = new long[itemCount + 1];
            foreach (var history in histories)
            {
                foreach (int item in history)
                    offsets[item + 1]++;
            }
            for (int i = 0; i < itemCount; i++)
                offsets[i + 1] += offsets[i];
            var itemTimes = new double[offsets[itemCount]];
            var fill = (long[])offsets.Clone();
            var all = new double[itemTimes.Length];
            long k = 0;
            var userTimes = new double[histories.Length];
            for (int u = 0; u < histories.Length; u++)
            {
                for (int t = 0; t < histories[u].Length; t++)
                {
                    itemTimes[fill[histories[u][t]]++] = times[u][t];
                    all[k++] = times[u][t];
                }
                userTimes[u] = histories[u].Length == 0 ? double.NaN : times[u][^1];
            }
            Array.Sort(all);
            for (int i = 0; i < itemCount; i++)
                Array.Sort(itemTimes, (int)offsets[i], (int)(offsets[i + 1] - offsets[i]));
            return new InteractionTimeline(all, offsets, itemTimes, userTimes);
        }

        /// <summary>The time of the last training interaction (NaN without interactions): "now" for users given at query time.</summary>
        public double LastTime => _all.Length == 0 ? double.NaN : _all[^1];

        /// <summary>
        /// The same item timelines for other users, whose current times are <paramref name="userTimes"/> (users given at
        /// query time with their own histories; their interactions do not enter the item timelines).
        /// </summary>
        public InteractionTimeline WithUsers(double[] userTimes) => new(_all, _itemOffsets, _itemTimes, userTimes);

        /// <summary>
        /// The item's interactions within <paramref name="window"/> interactions of the user's last time, its interactions
        /// before that time, and how many interactions (of anybody) lie between the item's first interaction and that time
        /// (negative when the item first appears later).
        /// </summary>
        public (float Around, float Before, float Age) Features(int user, int item, int window)
        {
            double time = _userTimes[user];
            long begin = _itemOffsets[item], count = _itemOffsets[item + 1] - begin;
            if (double.IsNaN(time) || count == 0)
                return (0, 0, 0);
            var times = _itemTimes.AsSpan((int)begin, (int)count);
            int at = LowerBound(_all, time);
            double low = _all[Math.Max(0, at - window)];
            double high = _all[Math.Min(_all.Length - 1, at + window)];
            int around = UpperBound(times, high) - LowerBound(times, low);
            int before = LowerBound(times, time);
            int first = LowerBound(_all, times[0]);
            return (around, before, at - first);
        }

        private static int LowerBound(ReadOnlySpan<double> sorted, double value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (sorted[mid] < value)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            return lo;
        }

        private static int UpperBound(ReadOnlySpan<double> sorted, double value)
        {
            int lo = 0, hi = sorted.Length;
            while (lo < hi)
            {
                int mid = (lo + hi) >>> 1;
                if (sorted[mid] <= value)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            return lo;
        }

        /// <summary>Writes the interaction count, all times, the item offsets, the items' times and the users' last times.</summary>
        public void Write(BinaryWriter writer)
        {
            writer.Write(_all.LongLength);
            BinaryState.Write<double>(writer, _all);
            BinaryState.Write<long>(writer, _itemOffsets);
            BinaryState.Write<double>(writer, _itemTimes);
            BinaryState.Write<double>(writer, _userTimes);
        }

        /// <summary>Reads what <see cref="Write"/> wrote, for <paramref name="items"/> items and <paramref name="users"/> users.</summary>
        /// <exception cref="FormatException">The counts or offsets are invalid.</exception>
        public static InteractionTimeline Read(BinaryReader reader, int items, int users)
        {
            long count = reader.ReadInt64();
            if (count < 0 || count > int.MaxValue)
                throw new FormatException($"Recommendation features: invalid interaction count {count} in the saved timeline.");
            var all = BinaryState.ReadArray<double>(reader, count, "interaction times");
            var offsets = BinaryState.ReadArray<long>(reader, items + 1, "item time offsets");
            if (offsets[0] != 0 || offsets[items] != count)
                throw new FormatException("Recommendation features: the saved timeline offsets do not match its interaction count.");
            var itemTimes = BinaryState.ReadArray<double>(reader, count, "item times");
            var userTimes = BinaryState.ReadArray<double>(reader, users, "user times");
            return new InteractionTimeline(all, offsets, itemTimes, userTimes);
        }
    }
}
