namespace Embeddings
{
    /// <summary>How two vectors are compared by nearest-neighbour search and the similarity features.</summary>
    public enum SimilarityMetric
    {
        /// <summary>Cosine similarity, in [-1, 1]; 0 when either vector is all zeros.</summary>
        Cosine = 0,

        /// <summary>Dot product (inner product).</summary>
        DotProduct = 1,

        /// <summary>Euclidean distance, reported as a negative similarity (-distance), so that larger is always closer.</summary>
        Euclidean = 2,
    }
}
