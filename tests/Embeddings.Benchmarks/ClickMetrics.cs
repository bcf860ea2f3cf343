using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Benchmarks
{
    /// <summary>
    /// Test figures as scikit-learn computes them for the reference script: AUC by ranks (tied scores share their mean
    /// rank, as <c>roc_auc_score</c>), and log-loss in nats with probabilities clipped to [1e-15, 1 - 1e-15]
    /// (<c>log_loss</c>). ML.NET's evaluator reports log-loss in bits, so it is not used here.
    /// </summary>
    internal static class ClickMetrics
    {
        private const double Clip = 1e-15;

        /// <summary>AUC of the Probability column (the Score column when there is none) and the natural-log log-loss of Probability.</summary>
        public static (double Auc, double LogLoss) Compute(IDataView scored, string labelColumnName = MovieLensClickData.LabelColumnName)
        {
            bool[] labels = scored.GetColumn<bool>(labelColumnName).ToArray();
            float[] probabilities = scored.GetColumn<float>("Probability").ToArray();
            return (Auc(labels, probabilities), LogLoss(labels, probabilities));
        }

        /// <summary>Area under the ROC curve: the Mann-Whitney statistic with mean ranks for ties.</summary>
        public static double Auc(bool[] labels, float[] scores)
        {
            int n = labels.Length;
            var order = Enumerable.Range(0, n).ToArray();
            Array.Sort(order, (a, b) => scores[a].CompareTo(scores[b]));
            double positiveRankSum = 0;
            long positives = 0;
            for (int i = 0; i < n;)
            {
                int j = i;
                while (j + 1 < n && scores[order[j + 1]] == scores[order[i]])
                    j++;
                double meanRank = (i + j) / 2.0 + 1;
                for (int k = i; k <= j; k++)
                {
                    if (labels[order[k]])
                    {
                        positiveRankSum += meanRank;
                        positives++;
                    }
                }
                i = j + 1;
            }
            long negatives = n - positives;
            if (positives == 0 || negatives == 0)
                return double.NaN;
            return (positiveRankSum - positives * (positives + 1) / 2.0) / ((double)positives * negatives);
        }

        /// <summary>Mean negative log-likelihood in nats, probabilities clipped to [1e-15, 1 - 1e-15].</summary>
        public static double LogLoss(bool[] labels, float[] probabilities)
        {
            double sum = 0;
            for (int i = 0; i < labels.Length; i++)
            {
                double p = Math.Clamp((double)probabilities[i], Clip, 1 - Clip);
                sum -= labels[i] ? Math.Log(p) : Math.Log(1 - p);
            }
            return sum / labels.Length;
        }
    }
}
