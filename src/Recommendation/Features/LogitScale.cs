namespace Embeddings.Recommendation
{
    /// <summary>
    /// How one user's input-output logits of one embedding model are standardised: <c>(logit - Mean) / Scale</c>, with
    /// the mean and standard deviation of the user's logits over the catalog (<see cref="ItemVectorModel"/>).
    /// </summary>
    /// <param name="Mean">The user's mean logit.</param>
    /// <param name="Scale">The standard deviation of the user's logits; 1 when it is about 0 or undefined.</param>
    internal readonly record struct LogitScale(float Mean, float Scale)
    {
        /// <summary>The scale of a user without logits (and of every user of an absent model): mean 0, scale 1.</summary>
        public static LogitScale Identity => new(0, 1);

        /// <summary>(<paramref name="logit"/> - <see cref="Mean"/>) / <see cref="Scale"/>.</summary>
        public float Standardize(float logit) => (logit - Mean) / Scale;
    }
}
