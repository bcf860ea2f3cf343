using System;
using Embeddings.Kernels;

namespace Embeddings.SkipGram
{
    /// <summary>Writable rows by index: the trainers' input or output matrix (a generic struct, so calls inline).</summary>
    internal interface IRowAccess
    {
        /// <summary>Row <paramref name="index"/>.</summary>
        Span<float> Row(int index);
    }

    /// <summary>The rows of an <see cref="EmbeddingTableBuilder"/> (the in-memory trainer's matrices).</summary>
    internal readonly struct BuilderRows(EmbeddingTableBuilder rows) : IRowAccess
    {
        public Span<float> Row(int index) => rows.Row(index);
    }

    /// <summary>The rows of one flat array of <paramref name="dimension"/>-long rows (a resident partition of the partitioned trainer).</summary>
    internal readonly struct ArrayRows(float[] values, int dimension) : IRowAccess
    {
        public Span<float> Row(int index) => values.AsSpan(index * dimension, dimension);
    }

    /// <summary>
    /// The skip-gram negative-sampling step of one output item and its context items (Ji et al., 2016), shared by the
    /// in-memory trainer (a centre item and its window) and the partitioned trainer (a run of pairs of a bucket with the
    /// same output item): the targets (the positive first, then the negatives) are shared by every context item, all
    /// (context x target) scores come from one snapshot of the rows, and the accumulated gradients are applied once per row.
    /// </summary>
    internal static class SharedNegativesStep
    {
        /// <summary>
        /// Trains input rows <paramref name="contexts"/> against output rows <paramref name="targets"/> (label 1 for the
        /// first, 0 for the others) at learning rate <paramref name="alpha"/>. Returns false, having changed no row, when a
        /// score is NaN (training diverged).
        /// </summary>
        /// <param name="input">The input matrix (rows of the context items).</param>
        /// <param name="output">The output matrix (rows of the targets).</param>
        /// <param name="contexts">Input rows trained against every target.</param>
        /// <param name="targets">Output rows: the positive first, then the negatives.</param>
        /// <param name="dimension">Length of every row.</param>
        /// <param name="alpha">Learning rate of this step.</param>
        /// <param name="scores">At least contexts x targets floats.</param>
        /// <param name="inputGradients">At least contexts x dimension floats.</param>
        /// <param name="outputGradients">At least targets x dimension floats.</param>
        /// <param name="lossSum">Receives the log-loss of every (context, target) score.</param>
        /// <param name="lossCount">Receives the number of scores.</param>
        public static bool Train<TInput, TOutput>(TInput input, TOutput output, ReadOnlySpan<int> contexts, ReadOnlySpan<int> targets, int dimension, float alpha,
            Span<float> scores, Span<float> inputGradients, Span<float> outputGradients, ref double lossSum, ref long lossCount)
            where TInput : struct, IRowAccess
            where TOutput : struct, IRowAccess
        {
            int d = dimension;
            int m = contexts.Length;
            int t = targets.Length;

            // Scores and gradient scales from one snapshot of the rows.
            for (int i = 0; i < m; i++)
            {
                ReadOnlySpan<float> l1 = input.Row(contexts[i]);
                for (int j = 0; j < t; j++)
                {
                    float f = VectorMath.Dot(l1, output.Row(targets[j]));
                    float label = j == 0 ? 1 : 0;
                    if (float.IsNaN(f))
                        return false;
                    scores[i * t + j] = Gradient(f, label, alpha);
                    lossSum += SigmoidTable.LogLoss(f, j == 0);
                }
            }
            lossCount += m * t;

            inputGradients.Slice(0, m * d).Clear();
            outputGradients.Slice(0, t * d).Clear();
            for (int i = 0; i < m; i++)
            {
                ReadOnlySpan<float> l1 = input.Row(contexts[i]);
                Span<float> e1 = inputGradients.Slice(i * d, d);
                for (int j = 0; j < t; j++)
                {
                    float g = scores[i * t + j];
                    if (g != 0)
                        VectorMath.AccumulateBoth(l1, output.Row(targets[j]), e1, outputGradients.Slice(j * d, d), g);
                }
            }
            for (int i = 0; i < m; i++)
                VectorMath.Add(inputGradients.Slice(i * d, d), input.Row(contexts[i]));
            for (int j = 0; j < t; j++)
                VectorMath.Add(outputGradients.Slice(j * d, d), output.Row(targets[j]));
            return true;
        }

        /// <summary>(label - sigmoid(f)) x alpha, saturated outside [-6, 6] as in the word2vec tool. <paramref name="f"/> is not NaN.</summary>
        public static float Gradient(float f, float label, float alpha)
        {
            if (f > SigmoidTable.MaxExp)
                return (label - 1) * alpha;
            if (f < -SigmoidTable.MaxExp)
                return label * alpha;
            return (label - SigmoidTable.Sigmoid(f)) * alpha;
        }
    }
}
