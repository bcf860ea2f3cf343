using System;
using System.Collections.Generic;
using System.IO;
using Embeddings.Infrastructure;
using Embeddings.Kernels;

namespace Embeddings.MatrixFactorization
{
    /// <summary>
    /// Trained factors: user and item rows indexed by key - 1, their key texts, biases (explicit loss) and whether each
    /// row was seen in training. Unseen rows hold zero factors and zero biases, so the score formula itself yields the
    /// documented fallback (μ + known biases for explicit, 0 for implicit). No ML.NET types.
    /// </summary>
    internal sealed class FactorModel
    {
        private Dictionary<string, int>? _userIndex;
        private Dictionary<string, int>? _itemIndex;

        public FactorModel(bool implicitFeedback, int rank, float globalMean, string[] userKeys, string[] itemKeys,
            float[] userFactors, float[] itemFactors, float[] userBias, float[] itemBias, bool[] userSeen, bool[] itemSeen)
        {
            Implicit = implicitFeedback;
            Rank = rank;
            GlobalMean = globalMean;
            UserKeys = userKeys;
            ItemKeys = itemKeys;
            UserFactors = userFactors;
            ItemFactors = itemFactors;
            UserBias = userBias;
            ItemBias = itemBias;
            UserSeen = userSeen;
            ItemSeen = itemSeen;
        }

        public bool Implicit { get; }

        public int Rank { get; }

        /// <summary>μ: the mean training rating (explicit); 0 for implicit.</summary>
        public float GlobalMean { get; }

        /// <summary>
        /// The cold-start item prior: the bias added in place of b_i for an item without training ratings (explicit loss
        /// only; 0 when the prior is off, and always 0 for implicit). See <see cref="RareItemBiasMean"/>.
        /// </summary>
        public float UnseenItemBias { get; set; }

        public string[] UserKeys { get; }

        public string[] ItemKeys { get; }

        public float[] UserFactors { get; }

        public float[] ItemFactors { get; }

        public float[] UserBias { get; }

        public float[] ItemBias { get; }

        public bool[] UserSeen { get; }

        public bool[] ItemSeen { get; }

        public int UserCount => UserKeys.Length;

        public int ItemCount => ItemKeys.Length;

        public ReadOnlySpan<float> UserRow(int u) => new(UserFactors, (int)((long)u * Rank), Rank);

        public ReadOnlySpan<float> ItemRow(int i) => new(ItemFactors, (int)((long)i * Rank), Rank);

        /// <summary>The score of user row <paramref name="u"/> and item row <paramref name="i"/>; -1 means unknown.</summary>
        public float Score(int u, int i)
        {
            float score = GlobalMean;
            if (u >= 0)
                score += UserBias[u];
            if (i >= 0)
                score += ItemBias[i];
            else if (!Implicit)
                score += UnseenItemBias;
            if (u >= 0 && i >= 0)
                score += VectorMath.Dot(UserRow(u), ItemRow(i));
            return score;
        }

        /// <summary>
        /// The mean learned bias of the items with 1 to <paramref name="maxRatings"/> training ratings (each rating entry
        /// counted, duplicates included): an estimate of a brand-new item's bias from the items most like it, the rarest
        /// ones. 0 when no item qualifies.
        /// </summary>
        public float RareItemBiasMean(int[] ratingsPerItem, int maxRatings)
        {
            double sum = 0;
            int count = 0;
            for (int i = 0; i < ItemCount; i++)
            {
                if (ItemSeen[i] && ratingsPerItem[i] >= 1 && ratingsPerItem[i] <= maxRatings)
                {
                    sum += ItemBias[i];
                    count++;
                }
            }
            return count == 0 ? 0 : (float)(sum / count);
        }

        /// <summary>The row of a user key text, or -1.</summary>
        public int UserIndexOf(string key) => (_userIndex ??= Index(UserKeys)).TryGetValue(key, out int row) ? row : -1;

        /// <summary>The row of an item key text, or -1.</summary>
        public int ItemIndexOf(string key) => (_itemIndex ??= Index(ItemKeys)).TryGetValue(key, out int row) ? row : -1;

        /// <summary>The seen rows as a table keyed by their key texts.</summary>
        public EmbeddingTable Table(bool users)
        {
            string[] keys = users ? UserKeys : ItemKeys;
            bool[] seen = users ? UserSeen : ItemSeen;
            float[] factors = users ? UserFactors : ItemFactors;
            var kept = new List<string>();
            var rows = new List<int>();
            for (int r = 0; r < keys.Length; r++)
            {
                if (seen[r])
                {
                    kept.Add(keys[r]);
                    rows.Add(r);
                }
            }
            var vectors = new float[(long)rows.Count * Rank];
            for (int j = 0; j < rows.Count; j++)
                Array.Copy(factors, (long)rows[j] * Rank, vectors, (long)j * Rank, Rank);
            return new EmbeddingTable(kept, vectors, Rank);
        }

        /// <summary>Sets the factors and biases of rows without training data to zero.</summary>
        public void ClearUnseen()
        {
            for (int u = 0; u < UserCount; u++)
            {
                if (!UserSeen[u])
                {
                    Array.Clear(UserFactors, (int)((long)u * Rank), Rank);
                    UserBias[u] = 0;
                }
            }
            for (int i = 0; i < ItemCount; i++)
            {
                if (!ItemSeen[i])
                {
                    Array.Clear(ItemFactors, (int)((long)i * Rank), Rank);
                    ItemBias[i] = 0;
                }
            }
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write(Implicit);
            writer.Write(Rank);
            writer.Write(GlobalMean);
            WriteSide(writer, UserKeys, UserFactors, UserBias, UserSeen);
            WriteSide(writer, ItemKeys, ItemFactors, ItemBias, ItemSeen);
        }

        public static FactorModel Read(BinaryReader reader)
        {
            bool implicitFeedback = reader.ReadBoolean();
            int rank = reader.ReadInt32();
            if (rank < 1)
                throw new FormatException($"Matrix factorization model: rank {rank} is invalid.");
            float mean = reader.ReadSingle();
            var (userKeys, userFactors, userBias, userSeen) = ReadSide(reader, rank);
            var (itemKeys, itemFactors, itemBias, itemSeen) = ReadSide(reader, rank);
            return new FactorModel(implicitFeedback, rank, mean, userKeys, itemKeys, userFactors, itemFactors, userBias, itemBias, userSeen, itemSeen);
        }

        private static void WriteSide(BinaryWriter writer, string[] keys, float[] factors, float[] bias, bool[] seen)
        {
            writer.Write(keys.Length);
            foreach (string key in keys)
                writer.Write(key);
            foreach (bool s in seen)
                writer.Write(s);
            foreach (float b in bias)
                writer.Write(b);
            foreach (float f in factors)
                writer.Write(f);
        }

        private static (string[], float[], float[], bool[]) ReadSide(BinaryReader reader, int rank)
        {
            int count = reader.ReadInt32();
            if (count < 0)
                throw new FormatException($"Matrix factorization model: row count {count} is invalid.");
            var keys = BinaryState.ReadStrings(reader, count, "matrix factorization ids");
            var seenBytes = BinaryState.ReadArray<byte>(reader, count, "matrix factorization flags");
            var seen = new bool[count];
            for (int i = 0; i < count; i++)
                seen[i] = seenBytes[i] != 0;
            var bias = BinaryState.ReadArray<float>(reader, count, "matrix factorization biases");
            var factors = BinaryState.ReadArray<float>(reader, (long)count * rank, "matrix factorization factors");
            return (keys, factors, bias, seen);
        }

        /// <summary>Row of each key text (the first row when a text repeats).</summary>
        internal static Dictionary<string, int> Index(string[] keys)
        {
            var index = new Dictionary<string, int>(keys.Length, StringComparer.Ordinal);
            for (int i = 0; i < keys.Length; i++)
                index.TryAdd(keys[i], i);
            return index;
        }
    }
}
