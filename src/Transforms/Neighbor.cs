namespace Embeddings
{
    /// <summary>One result of a nearest-neighbour query: the item's key and its similarity to the query.</summary>
    /// <param name="Key">The key of the neighbouring item in its <see cref="EmbeddingTable"/>.</param>
    /// <param name="Similarity">
    /// Similarity to the query under the search's metric, larger meaning closer: cosine similarity in [-1, 1] for
    /// <c>MostSimilar</c> (0 when either vector is all zeros), the dot product, or minus the Euclidean distance.
    /// Approximate (HNSW) results carry USearch's value: 1 - its cosine or inner-product distance.
    /// </param>
    public readonly record struct Neighbor(string Key, float Similarity);
}
