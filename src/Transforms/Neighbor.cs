namespace Embeddings
{
    /// <summary>One result of a nearest-neighbour query: the item's key and its similarity to the query.</summary>
    /// <param name="Key">The key of the neighbouring item in its <see cref="EmbeddingTable"/>.</param>
    /// <param name="Similarity">Cosine similarity to the query, in [-1, 1]; 0 when either vector is all zeros.</param>
    public readonly record struct Neighbor(string Key, float Similarity);
}
