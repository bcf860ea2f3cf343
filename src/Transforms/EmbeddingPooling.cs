namespace Embeddings
{
    /// <summary>How the vectors of a sequence of items are combined into one vector.</summary>
    public enum EmbeddingPooling
    {
        /// <summary>Element-wise mean over the known items (unknown items are skipped); zeros when no item is known.</summary>
        Mean = 0,

        /// <summary>Element-wise sum over the known items; zeros when no item is known.</summary>
        Sum = 1,

        /// <summary>Element-wise maximum over the known items; zeros when no item is known.</summary>
        Max = 2,
    }
}
