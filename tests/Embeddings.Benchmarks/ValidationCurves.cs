using System;
using System.Collections.Generic;
using System.Linq;
using ScottPlot;

namespace Embeddings.Benchmarks
{
    /// <summary>The --png figure of the end-to-end benchmark: validation AUC per epoch (left) and per training second (right).</summary>
    internal static class ValidationCurves
    {
        /// <summary>
        /// Draws the mean validation AUC curve (over seeds) of each model of <paramref name="models"/> that ran, against
        /// the epoch and against the cumulative training seconds, and saves the PNG.
        /// </summary>
        public static void Save(string path, IReadOnlyList<ModelRun> runs, IReadOnlyList<string> models, string title)
        {
            var curves = new List<(string Model, double[] Epochs, double[] Seconds, double[] Auc)>();
            foreach (string model in models)
            {
                var withCurves = runs.Where(r => r.Model == model && r.ValidationAucPerEpoch is { Count: > 0 } && r.EpochSeconds is not null).ToList();
                if (withCurves.Count == 0)
                    continue;
                int length = withCurves.Min(r => Math.Min(r.ValidationAucPerEpoch!.Count, r.EpochSeconds!.Count));
                var auc = Enumerable.Range(0, length).Select(e => withCurves.Average(r => r.ValidationAucPerEpoch![e])).ToArray();
                var seconds = Enumerable.Range(0, length).Select(e => withCurves.Average(r => r.EpochSeconds!.Take(e + 1).Sum())).ToArray();
                curves.Add((model, Enumerable.Range(1, length).Select(e => (double)e).ToArray(), seconds, auc));
            }
            if (curves.Count == 0)
            {
                Console.WriteLine($"no PNG: none of {string.Join(", ", models)} ran (--models wdl,pretrain draws them).");
                return;
            }

            var byEpoch = new Plot();
            var bySeconds = new Plot();
            foreach (var (model, epochs, seconds, auc) in curves)
            {
                var e = byEpoch.Add.Scatter(epochs, auc);
                e.LegendText = model;
                e.MarkerSize = 6;
                var s = bySeconds.Add.Scatter(seconds, auc);
                s.LegendText = model;
                s.MarkerSize = 6;
            }
            byEpoch.Title(title, 13);
            byEpoch.XLabel("epoch");
            byEpoch.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericFixedInterval(1);
            byEpoch.YLabel("validation AUC");
            byEpoch.ShowLegend(Alignment.LowerRight);
            bySeconds.Title("validation AUC by training time", 13);
            bySeconds.XLabel("training seconds (cumulative)");
            bySeconds.YLabel("validation AUC");
            bySeconds.ShowLegend(Alignment.LowerRight);

            var figure = new Multiplot();
            figure.Reset(byEpoch);
            figure.AddPlot(bySeconds);
            figure.Layout = new ScottPlot.MultiplotLayouts.Columns();
            figure.SavePng(path, 1400, 550);
            Console.WriteLine($"PNG written to {path}");
        }
    }
}
