namespace Embeddings
{
    /// <summary>The word2vec architecture.</summary>
    public enum SkipGramModel
    {
        /// <summary>Skip-gram: each context item predicts the centre item. Slower, better for rare items.</summary>
        SkipGram = 0,

        /// <summary>Continuous bag of words: the mean of the context predicts the centre item. Several times faster.</summary>
        Cbow = 1,
    }
}
