using System;
using System.Threading;
using Embeddings.Kernels;

namespace Embeddings.Cluster.Training
{
    /// <summary>
    /// The interim bucket kernel: exact skip-gram with negative sampling (word2vec's update) over a bucket's pairs,
    /// one pair at a time in file order, negatives drawn uniformly from the bucket's output partition. It stands in
    /// until the single-machine partitioned trainer's bucket kernel (unigram^0.75 negatives, grouped updates, several
    /// threads) is extracted from the estimators and shared; it is a real trainer, not a placeholder (the planted
    /// communities test recovers communities with it).
    /// </summary>
    /// <remarks>
    /// For each pair (a, b): the input row a is scored against output row b (label 1) and against
    /// <see cref="ClusterJobSpec.Negatives"/> rows drawn uniformly from the output partition (label 0; a draw equal to
    /// b is skipped, as word2vec does); each output row moves by g x input, and the input row moves once by the sum
    /// of g x output over the K + 1 rows, with g = (label - sigmoid(score)) x learning rate. The learning rate decays
    /// linearly over the job's episodes, from <see cref="ClusterJobSpec.LearningRate"/> to 0.0001 of it, and every
    /// bucket of an episode sweeps that episode's stretch over its own pairs (as the single-machine partitioned
    /// trainer does), so a bucket's rate does not depend on which buckets ran before it. The random stream is
    /// seeded by (seed, epoch, episode, input, output). No allocation per pair: one gradient buffer per call.
    /// Single-threaded, so a bucket's result is a function of its inputs only.
    /// </remarks>
    public sealed class SkipGramBucketTrainer : IBucketTrainer
    {
        private const int ProgressPairs = 4096;
        private const float MinLearningRateFraction = 1e-4f;
        private const float MaxScore = 30f;

        /// <inheritdoc/>
        public BucketResult Train(BucketWork work, Span<float> input, Span<float> output, ReadOnlySpan<int> pairs, IBucketProgress progress, CancellationToken cancellation)
        {
            ArgumentNullException.ThrowIfNull(work);
            ArgumentNullException.ThrowIfNull(progress);
            var spec = work.Spec;
            int d = spec.Dimension;
            int inputRows = work.InputRows, outputRows = work.OutputRows;
            if (input.Length != (long)inputRows * d || output.Length != (long)outputRows * d)
                throw new ArgumentException($"Bucket ({work.Input}, {work.Output}) needs partitions of {inputRows} x {d} and {outputRows} x {d} values; got {input.Length} and {output.Length}.");
            if (pairs.Length % 2 != 0)
                throw new ArgumentException("Pairs come as (input row, output row), so their count of values is even.", nameof(pairs));

            long n = pairs.Length / 2;
            var random = BucketRandom.ForBucket(spec.Seed, work.Epoch, work.Episode, work.Input, work.Output);
            double episodes = (double)spec.Epochs * spec.Episodes;
            double start = ((double)work.Epoch * spec.Episodes + work.Episode) / episodes;
            double stretch = 1.0 / episodes;
            float rate0 = spec.LearningRate;
            int negatives = spec.Negatives;
            float[] gradient = new float[d];
            double loss = 0;
            for (long k = 0; k < n; k++)
            {
                if (k % ProgressPairs == 0 && k > 0)
                {
                    cancellation.ThrowIfCancellationRequested();
                    progress.Report(k);
                }
                int a = pairs[(int)(2 * k)], b = pairs[(int)(2 * k + 1)];
                if ((uint)a >= (uint)inputRows || (uint)b >= (uint)outputRows)
                    throw new InvalidOperationException($"Pair {k} of bucket ({work.Input}, {work.Output}) of episode {work.Episode} is ({a}, {b}), outside the partitions' {inputRows} and {outputRows} rows: the job's pair file is damaged; submit the job again into an empty folder.");
                float rate = rate0 * (float)Math.Max(MinLearningRateFraction, 1 - (start + stretch * k / n));
                var inRow = input.Slice(a * d, d);
                gradient.AsSpan().Clear();
                for (int s = 0; s <= negatives; s++)
                {
                    int target;
                    float label;
                    if (s == 0)
                    {
                        target = b;
                        label = 1;
                    }
                    else
                    {
                        target = random.Next(outputRows);
                        if (target == b)
                            continue;
                        label = 0;
                    }
                    var outRow = output.Slice(target * d, d);
                    float score = Math.Clamp(VectorMath.Dot(inRow, outRow), -MaxScore, MaxScore);
                    float sigmoid = 1f / (1f + MathF.Exp(-score));
                    loss += label == 1 ? Math.Log(1 + Math.Exp(-score)) : Math.Log(1 + Math.Exp(score));
                    VectorMath.AccumulateAndUpdate(inRow, outRow, gradient, (label - sigmoid) * rate);
                }
                VectorMath.Add(gradient, inRow);
            }
            progress.Report(n);
            return new BucketResult(n, loss);
        }
    }
}
