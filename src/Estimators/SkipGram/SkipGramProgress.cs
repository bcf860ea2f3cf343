using System.Globalization;

namespace Embeddings
{
    /// <summary>Progress of skip-gram training, reported about once a second and at the end.</summary>
    /// <param name="Epoch">Current epoch, 1-based.</param>
    /// <param name="Epochs">Number of epochs.</param>
    /// <param name="TokensProcessed">Corpus tokens processed so far, over all epochs (before subsampling).</param>
    /// <param name="TotalTokens">Corpus tokens x epochs.</param>
    /// <param name="TokensPerSecond">Average speed since training started.</param>
    /// <param name="LearningRate">The current learning rate.</param>
    /// <param name="Loss">Mean log-loss per (item, target) pair since training started; NaN before the first report.</param>
    public sealed record SkipGramProgress(int Epoch, int Epochs, long TokensProcessed, long TotalTokens, double TokensPerSecond, float LearningRate, double Loss)
    {
        /// <summary>A one-line summary: epoch, percentage, tokens/s, learning rate, loss.</summary>
        public override string ToString() => string.Create(CultureInfo.InvariantCulture,
            $"epoch {Epoch}/{Epochs}  {(TotalTokens == 0 ? 100 : 100.0 * TokensProcessed / TotalTokens),5:F1}%  {TokensPerSecond / 1000,8:F1}k tokens/s  lr {LearningRate:G4}  loss {Loss:F4}");
    }
}
