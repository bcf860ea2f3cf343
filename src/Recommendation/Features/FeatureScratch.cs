namespace Embeddings.Recommendation
{
    /// <summary>
    /// Per-cursor state of <see cref="RecommendationFeaturizer.Compute"/>: everything that depends on the user alone,
    /// computed once when the user changes (rows of one user's candidates come together): the user vectors, the blend and
    /// logit scores of every item, the dense transition and co-occurrence counts from the recent items, and the ranks.
    /// One per thread or cursor; sized for one featurizer's catalog.
    /// </summary>
    internal sealed class FeatureScratch
    {
        /// <summary>Buffers for a catalog of <paramref name="itemCount"/> items and user vectors of the given dimensions (0 without node2vec).</summary>
        public FeatureScratch(int itemCount, int item2VecDimension, int node2VecDimension, int itemSideWidth = 0, bool sequence = false)
        {
            SequenceLogits = new float[sequence ? itemCount : 0];
            SequenceRanks = new float[sequence ? itemCount : 0];
            Vectors = new float[item2VecDimension + node2VecDimension];
            Item2VecUser = new float[item2VecDimension];
            Node2VecUser = new float[node2VecDimension];
            Blend = new float[itemCount];
            Logits = new float[itemCount];
            Transitions = new float[itemCount];
            Cooccurrences = new float[itemCount];
            BlendRanks = new float[itemCount];
            LogitRanks = new float[itemCount];
            SortKeys = new long[itemCount];
            Seen = new bool[itemCount];
            Profile = new float[itemSideWidth];
        }

        /// <summary>The user the buffers hold, or -1.</summary>
        public int User { get; set; } = -1;

        /// <summary>The user whose <see cref="Profile"/> is held, or -1.</summary>
        public int ProfileUser { get; set; } = -1;

        /// <summary>The mean item side row of <see cref="ProfileUser"/>'s history.</summary>
        public float[] Profile { get; }

        /// <summary>Scratch for the user vectors of the blend and logit scores.</summary>
        public float[] Vectors { get; }

        /// <summary>The user's item2vec vector.</summary>
        public float[] Item2VecUser { get; }

        /// <summary>Whether the user has an item2vec vector.</summary>
        public bool HasItem2VecUser { get; set; }

        /// <summary>The norm of <see cref="Item2VecUser"/>.</summary>
        public float Item2VecUserNorm { get; set; }

        /// <summary>The user's node2vec vector (empty without node2vec).</summary>
        public float[] Node2VecUser { get; }

        /// <summary>Whether the user has a node2vec vector.</summary>
        public bool HasNode2VecUser { get; set; }

        /// <summary>The norm of <see cref="Node2VecUser"/>.</summary>
        public float Node2VecUserNorm { get; set; }

        /// <summary>The blend score of every item.</summary>
        public float[] Blend { get; }

        /// <summary>The item2vec logit of every item (negative infinity without vectors).</summary>
        public float[] Logits { get; }

        /// <summary>Transitions from the user's recent items to every item.</summary>
        public float[] Transitions { get; }

        /// <summary>Co-occurrences of every item with the user's recent items.</summary>
        public float[] Cooccurrences { get; }

        /// <summary>Every item's rank by the blend among the user's unseen items (1 = best), 0 for seen items.</summary>
        public float[] BlendRanks { get; }

        /// <summary>Every item's rank by the item2vec logit among the user's unseen items, 0 for seen items.</summary>
        public float[] LogitRanks { get; }

        /// <summary>The sequence model's logit of every item (empty without a sequence model).</summary>
        public float[] SequenceLogits { get; }

        /// <summary>Every item's rank by the sequence model's logit among the user's unseen items, 0 for seen items (empty without a sequence model).</summary>
        public float[] SequenceRanks { get; }

        /// <summary>log(sum of exp(logit)) over <see cref="SequenceLogits"/>.</summary>
        public float SequenceLogSumExp { get; set; }

        /// <summary>Sort keys of the ranking (score and item index in one long).</summary>
        public long[] SortKeys { get; }

        /// <summary>Marks of the user's history items while ranking (all false between calls).</summary>
        public bool[] Seen { get; }
    }
}
