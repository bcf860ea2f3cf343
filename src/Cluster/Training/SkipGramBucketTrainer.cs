using System;
using System.IO;
using System.Threading;
using Embeddings.Kernels;
using Embeddings.Partitioned;

namespace Embeddings.Cluster.Training
{
    /// <summary>
    /// The bucket kernel of cluster jobs: the single-machine partitioned trainer's kernel (<c>BucketKernel</c> in
    /// Embeddings.Estimators), applied to a bucket's pairs chunk by chunk (65,536 pairs each), on one thread.
    /// </summary>
    /// <remarks>
    /// Consecutive pairs with the same output row form a group of up to 64, trained as skip-gram trains a centre item:
    /// the positive output row and <see cref="ClusterJobSpec.Negatives"/> rows drawn from the output partition by
    /// count^0.75 (<see cref="ClusterJobData.ItemCounts"/>; a draw equal to the positive is skipped) are shared by the
    /// whole group, all scores come from one snapshot of the rows, and each row's gradient is applied once. The
    /// learning rate decays linearly with the run's tokens (<see cref="ClusterJobData.EpisodeTokens"/>) from
    /// <see cref="ClusterJobSpec.LearningRate"/> to 0.0001 of it, and every bucket of an episode sweeps the episode's
    /// stretch over its own pairs, so a bucket's rates do not depend on the buckets before it. Chunk c of bucket
    /// (i, j) of episode e in epoch t draws from the stream (seed, t x episodes + e, i, j, c), the stream the
    /// single-machine trainer gives the same chunk, so a bucket's result is a function of its job, its partitions and
    /// its pairs. No allocation per pair or chunk (one pair buffer and one set of gradient buffers per thread).
    /// </remarks>
    public sealed class SkipGramBucketTrainer : IBucketTrainer
    {
        [ThreadStatic]
        private static int[]? t_pairs;

        /// <inheritdoc/>
        public BucketResult Train(BucketWork work, float[] input, float[] output, BucketPairs pairs, IBucketProgress progress, CancellationToken cancellation)
        {
            ArgumentNullException.ThrowIfNull(work);
            ArgumentNullException.ThrowIfNull(input);
            ArgumentNullException.ThrowIfNull(output);
            ArgumentNullException.ThrowIfNull(pairs);
            ArgumentNullException.ThrowIfNull(progress);
            var spec = work.Spec;
            var job = work.Job;
            int d = spec.Dimension;
            int inputRows = work.InputRows, outputRows = work.OutputRows;
            if (input.Length != (long)inputRows * d || output.Length != (long)outputRows * d)
                throw new ArgumentException($"Bucket ({work.Input}, {work.Output}) needs partitions of {inputRows} x {d} and {outputRows} x {d} values; got {input.Length} and {output.Length}.");

            long n = pairs.Count;
            var sampler = job.Sampler(work.Output);
            long globalEpisode = (long)work.Epoch * spec.Episodes + work.Episode;
            double tokensBefore = job.TokensBefore(work.Epoch, work.Episode);
            double episodeTokens = job.EpisodeTokens.Span[work.Episode];
            double totalTokens = (double)job.TokensPerEpoch * spec.Epochs;
            var scratch = BucketKernel.Scratch.ForThread(d, spec.Negatives);
            var buffer = t_pairs ??= new int[2 * BucketKernel.ChunkPairs];
            double loss = 0;
            long scores = 0;
            long first = 0;
            for (long chunk = 0; first < n; chunk++)
            {
                cancellation.ThrowIfCancellationRequested();
                int count = pairs.Read(buffer);
                if (count == 0)
                    throw new InvalidDataException($"The pairs of bucket ({work.Input}, {work.Output}) of episode {work.Episode} ended after {first:N0} of {n:N0}; the pair file is damaged: submit the job again into an empty folder.");
                var random = BucketKernel.ChunkRandom(spec.Seed, globalEpisode, spec.Partitions, work.Input, work.Output, chunk);
                var outcome = BucketKernel.TrainChunk(input, output, inputRows, outputRows, d, buffer.AsSpan(0, 2 * count), first, n, sampler, spec.Negatives, ref random,
                    spec.LearningRate, tokensBefore, episodeTokens, totalTokens, scratch, ref loss, ref scores, out int bad);
                if (outcome == ChunkOutcome.PairOutOfRange)
                    throw new InvalidDataException($"Pair {first + bad} of bucket ({work.Input}, {work.Output}) of episode {work.Episode} is ({buffer[2 * bad]}, {buffer[2 * bad + 1]}), outside the partitions' {inputRows} and {outputRows} rows: the job's pair file is damaged; submit the job again into an empty folder.");
                if (outcome == ChunkOutcome.Diverged)
                    throw new InvalidOperationException($"Training diverged (a score became NaN) in bucket ({work.Input}, {work.Output}) of epoch {work.Epoch + 1}, episode {work.Episode + 1} of job '{spec.JobId}': lower ClusterJobSpec.LearningRate (now {spec.LearningRate}).");
                first += count;
                progress.Report(first);
            }
            if (!VectorMath.AllFinite(input) || !VectorMath.AllFinite(output))
                throw new InvalidOperationException($"Training diverged (a vector became infinite) in bucket ({work.Input}, {work.Output}) of epoch {work.Epoch + 1}, episode {work.Episode + 1} of job '{spec.JobId}': lower ClusterJobSpec.LearningRate (now {spec.LearningRate}).");
            progress.Report(n);
            return new BucketResult(n, loss);
        }
    }
}
