using System;
using Embeddings.SkipGram;

namespace Embeddings.Partitioned
{
    /// <summary>What training one chunk of a bucket's pairs ended with.</summary>
    internal enum ChunkOutcome
    {
        /// <summary>Every pair trained.</summary>
        Trained,

        /// <summary>A score became NaN; the group that met it changed no row.</summary>
        Diverged,

        /// <summary>A pair names a row outside its partition (the pair file is damaged); nothing after it trained.</summary>
        PairOutOfRange,
    }

    /// <summary>
    /// The bucket kernel of partitioned skip-gram, shared by the single-machine partitioned trainer
    /// (<see cref="PartitionedSkipGramRun"/>) and the cluster's bucket trainer (Embeddings.Cluster): one chunk of a
    /// bucket's pairs (input row, output row), local to the bucket's input partition i and output partition j,
    /// trained on the two resident partitions. Consecutive pairs with the same output row form a group (up to
    /// <see cref="PartitionedTraining.MaxGroup"/>), which trains as the in-memory trainer trains a centre item: the
    /// positive output row and <c>negatives</c> rows drawn from the output partition's unigram^0.75 sampler (a draw
    /// equal to the positive is skipped) are shared by the whole group (<see cref="SharedNegativesStep"/>). The
    /// learning rate decays linearly with the run's tokens, and every bucket of an episode sweeps the episode's
    /// stretch of the schedule over its own pairs. Nothing is allocated per pair or per chunk.
    /// </summary>
    internal static class BucketKernel
    {
        /// <summary>Pairs per chunk: each chunk has its own random stream, so chunks can train side by side.</summary>
        public const int ChunkPairs = PartitionedTraining.ChunkPairs;

        private const float MinLearningRateFraction = 1e-4f;
        private const ulong NegativeStreamBase = 0x6_0000_0000UL;
        private const ulong InitStreamBase = 0x1_0000_0000UL;

        /// <summary>
        /// The random stream of chunk <paramref name="chunk"/> of bucket (<paramref name="input"/>, <paramref name="output"/>)
        /// of global episode <paramref name="globalEpisode"/> (epoch x episodes per epoch + episode), with the run's seed.
        /// </summary>
        public static TrainingRandom ChunkRandom(int seed, long globalEpisode, int partitions, int input, int output, long chunk)
        {
            ulong bucketStream = NegativeStreamBase + ((((ulong)globalEpisode * (ulong)partitions + (ulong)input) * (ulong)partitions + (ulong)output) << 24);
            return new TrainingRandom((ulong)seed, bucketStream + (ulong)chunk);
        }

        /// <summary>The initial input vector of item <paramref name="item"/> (a vocabulary row): uniform in (-0.5, 0.5) / dimension from (seed, item), as the in-memory trainer starts it.</summary>
        public static void InitializeInputRow(int seed, long item, Span<float> row)
        {
            var random = new TrainingRandom((ulong)seed, InitStreamBase + (ulong)item);
            float scale = 1f / row.Length;
            for (int k = 0; k < row.Length; k++)
                row[k] = (random.NextFloat() - 0.5f) * scale;
        }

        /// <summary>The learning rate after <paramref name="tokens"/> of the run's <paramref name="totalTokens"/>: linear decay to 0.0001 of <paramref name="learningRate"/>.</summary>
        public static float Rate(float learningRate, double tokens, double totalTokens) =>
            learningRate * (float)Math.Max(1 - tokens / totalTokens, MinLearningRateFraction);

        /// <summary>
        /// Trains one chunk: <paramref name="pairs"/> holds pairs <paramref name="first"/> to first + count - 1 of a
        /// bucket of <paramref name="bucketPairs"/> pairs, interleaved (input row, output row).
        /// </summary>
        /// <param name="input">Input partition i, <paramref name="inputRows"/> x dimension values.</param>
        /// <param name="output">Output partition j, <paramref name="outputRows"/> x dimension values.</param>
        /// <param name="inputRows">Rows of partition i.</param>
        /// <param name="outputRows">Rows of partition j.</param>
        /// <param name="dimension">The vector dimension.</param>
        /// <param name="pairs">The chunk's pairs, interleaved.</param>
        /// <param name="first">The index of the chunk's first pair in the bucket.</param>
        /// <param name="bucketPairs">The bucket's pair count (its sweep of the schedule).</param>
        /// <param name="sampler">The negative sampler of output partition j (local rows).</param>
        /// <param name="negatives">Negatives drawn per group.</param>
        /// <param name="random">The chunk's stream (<see cref="ChunkRandom"/>).</param>
        /// <param name="learningRate">The run's starting rate.</param>
        /// <param name="tokensBefore">Tokens of the run before this episode.</param>
        /// <param name="episodeTokens">Tokens of this episode.</param>
        /// <param name="totalTokens">Tokens of the whole run (every epoch).</param>
        /// <param name="scratch">The calling thread's buffers.</param>
        /// <param name="lossSum">Receives the log-loss of every score.</param>
        /// <param name="lossCount">Receives the number of scores.</param>
        /// <param name="badPair">The index in the chunk of the pair out of range, when that is the outcome.</param>
        public static ChunkOutcome TrainChunk(float[] input, float[] output, int inputRows, int outputRows, int dimension, ReadOnlySpan<int> pairs, long first, long bucketPairs,
            AliasSampler sampler, int negatives, ref TrainingRandom random, float learningRate, double tokensBefore, double episodeTokens, double totalTokens,
            Scratch scratch, ref double lossSum, ref long lossCount, out int badPair)
        {
            badPair = -1;
            int d = dimension;
            int count = pairs.Length / 2;
            var inputRowsAccess = new ArrayRows(input, d);
            var outputRowsAccess = new ArrayRows(output, d);
            var contexts = scratch.Contexts;
            var targets = scratch.Targets;
            int maxGroup = PartitionedTraining.MaxGroup;
            for (int k = 0; k < count;)
            {
                // Every bucket of an episode sweeps the episode's stretch of the schedule, as if the buckets ran side by side:
                // each partition then learns at the same rates, whatever its place in the bucket order.
                double progress = tokensBefore + episodeTokens * (first + k) / bucketPairs;
                float alpha = Rate(learningRate, progress, totalTokens);
                int b = pairs[2 * k + 1];
                int m = 1;
                while (k + m < count && m < maxGroup && pairs[2 * (k + m) + 1] == b)
                    m++;
                // The consecutive pairs with one output item (the contexts of one position that fall in this input
                // partition) train as the in-memory trainer trains a centre item: negatives drawn once, from the
                // output partition, and shared.
                for (int g = 0; g < m; g++)
                {
                    int a = pairs[2 * (k + g)];
                    if ((uint)a >= (uint)inputRows || (uint)b >= (uint)outputRows)
                    {
                        badPair = k + g;
                        return ChunkOutcome.PairOutOfRange;
                    }
                    contexts[g] = a;
                }
                int t = 0;
                targets[t++] = b;
                for (int n = 0; n < negatives; n++)
                {
                    int sample = sampler.Sample(ref random);
                    if (sample != b)
                        targets[t++] = sample;
                }
                if (!SharedNegativesStep.Train(inputRowsAccess, outputRowsAccess, contexts.AsSpan(0, m), targets.AsSpan(0, t), d, alpha,
                    scratch.Scores, scratch.InputGradients, scratch.OutputGradients, ref lossSum, ref lossCount))
                    return ChunkOutcome.Diverged;
                k += m;
            }
            return ChunkOutcome.Trained;
        }

        /// <summary>The unigram^<paramref name="exponent"/> negative sampler of partition <paramref name="partition"/> of <paramref name="partitions"/>, from the counts of every item (item v at local row v / P of partition v mod P).</summary>
        /// <exception cref="InvalidOperationException">A weight is infinite, or every weight of the partition is 0 (the message names the exponent).</exception>
        public static AliasSampler Sampler(ReadOnlySpan<long> counts, int partitions, int partition, double exponent, string component)
        {
            int rows = (counts.Length - partition + partitions - 1) / partitions;
            var weights = new double[rows];
            bool positive = false;
            for (int local = 0; local < rows; local++)
            {
                long count = counts[local * partitions + partition];
                weights[local] = Math.Pow(count, exponent);
                if (!double.IsFinite(weights[local]))
                    throw new InvalidOperationException($"{component}: NegativeSamplingExponent = {exponent.ToString(System.Globalization.CultureInfo.InvariantCulture)} turns the count {count} into an infinite negative-sampling weight; use an exponent from -10 to 10 (0.75 is usual).");
                positive |= weights[local] > 0;
            }
            if (!positive)
                throw new InvalidOperationException($"{component}: NegativeSamplingExponent = {exponent.ToString(System.Globalization.CultureInfo.InvariantCulture)} gives every item of partition {partition} a negative-sampling weight of 0; use an exponent from -10 to 10 (0.75 is usual), and counts above 0.");
            return new AliasSampler(weights);
        }

        /// <summary>Buffers of one training thread for a group step (reused across chunks and buckets of one dimension and negative count).</summary>
        internal sealed class Scratch(int dimension, int targets)
        {
            public int Dimension { get; } = dimension;

            public int[] Contexts { get; } = new int[PartitionedTraining.MaxGroup];

            public int[] Targets { get; } = new int[targets];

            public float[] Scores { get; } = new float[PartitionedTraining.MaxGroup * targets];

            public float[] InputGradients { get; } = new float[PartitionedTraining.MaxGroup * dimension];

            public float[] OutputGradients { get; } = new float[targets * dimension];

            [ThreadStatic]
            private static Scratch? t_scratch;

            /// <summary>The calling thread's buffers for <paramref name="d"/> dimensions and <paramref name="negatives"/> negatives.</summary>
            public static Scratch ForThread(int d, int negatives) =>
                t_scratch is { } s && s.Dimension == d && s.Targets.Length == negatives + 1 ? s : t_scratch = new Scratch(d, negatives + 1);
        }
    }
}
