using System;
using System.Collections.Generic;
using NUnit.Framework;

namespace Embeddings.Tests.EndToEnd
{
    /// <summary>
    /// Central finite differences of a scalar loss against analytic gradients. The loss is evaluated in double from float
    /// parameters; the step actually taken (after float rounding) is used as the divisor. Coordinates whose two evaluations
    /// fall on different sides of a ReLU kink (the evaluation's signature differs) are skipped and counted.
    /// </summary>
    internal static class GradientCheck
    {
        public const float Step = 1e-3f;
        public const double RelativeTolerance = 1e-2;
        public const double AbsoluteTolerance = 2e-3;

        public static void Random(Random random, Span<float> values, float scale = 1f)
        {
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)(random.NextDouble() * 2 - 1) * scale;
        }

        public static float[] Random(Random random, int length, float scale = 1f)
        {
            var values = new float[length];
            Random(random, values, scale);
            return values;
        }

        /// <summary>Checks every coordinate of <paramref name="parameter"/>; returns (checked, skipped at kinks). At most one coordinate or <paramref name="maxSkippedFraction"/> of them may be skipped.</summary>
        public static (int Checked, int Skipped) Check(string name, float[] parameter, ReadOnlySpan<float> analytic, Func<(double Loss, string Signature)> evaluate,
            double maxSkippedFraction = 0.1)
        {
            Assert.That(analytic.Length, Is.GreaterThanOrEqualTo(parameter.Length), $"{name}: analytic gradient length");
            int done = 0, skipped = 0;
            var failures = new List<string>();
            for (int i = 0; i < parameter.Length; i++)
            {
                float saved = parameter[i];
                float plus = saved + Step, minus = saved - Step;
                parameter[i] = plus;
                var (lossPlus, signaturePlus) = evaluate();
                parameter[i] = minus;
                var (lossMinus, signatureMinus) = evaluate();
                parameter[i] = saved;
                if (signaturePlus != signatureMinus)
                {
                    skipped++;
                    continue;
                }
                double numeric = (lossPlus - lossMinus) / ((double)plus - minus);
                double a = analytic[i];
                done++;
                if (Math.Abs(a - numeric) > RelativeTolerance * Math.Max(Math.Abs(a), Math.Abs(numeric)) + AbsoluteTolerance)
                    failures.Add(FormattableString.Invariant($"{name}[{i}]: analytic {a:G6}, numeric {numeric:G6}"));
            }
            Assert.That(failures, Is.Empty, $"{name}: gradient mismatches");
            Assert.That(skipped, Is.LessThanOrEqualTo(Math.Max(1, (int)(parameter.Length * maxSkippedFraction))), $"{name}: too many coordinates at ReLU kinks ({skipped} of {parameter.Length})");
            return (done, skipped);
        }

        /// <summary>Σ output ⊙ weights in double (the scalar loss whose gradient with respect to the output is the weights).</summary>
        public static double Dot(ReadOnlySpan<float> output, ReadOnlySpan<float> weights)
        {
            double sum = 0;
            for (int i = 0; i < weights.Length; i++)
                sum += (double)output[i] * weights[i];
            return sum;
        }

        /// <summary>Which entries are positive: the ReLU pattern, as the evaluation's signature.</summary>
        public static string Positives(ReadOnlySpan<float> values)
        {
            var chars = new char[values.Length];
            for (int i = 0; i < values.Length; i++)
                chars[i] = values[i] > 0 ? '+' : '0';
            return new string(chars);
        }
    }
}
