using System;
using System.Collections.Generic;
using System.Linq;

/// <summary>
/// A 2-D map of embedding vectors for the samples' pictures: the first two principal components of the centred vectors,
/// found by power iteration on their covariance. Shared by the samples that draw a map (linked into each project).
/// </summary>
internal static class VectorMap
{
    /// <summary>The coordinates of each vector on the first two principal components.</summary>
    public static (double[] X, double[] Y) Project(IReadOnlyList<float[]> vectors)
    {
        int d = vectors[0].Length;
        var x = vectors.Select(v => v.Select(t => (double)t).ToArray()).ToArray();
        var mean = Enumerable.Range(0, d).Select(j => x.Average(r => r[j])).ToArray();
        foreach (var r in x)
        {
            for (int j = 0; j < d; j++)
                r[j] -= mean[j];
        }
        var first = Component(x, d, null);
        var second = Component(x, d, first);
        return (x.Select(r => Dot(r, first)).ToArray(), x.Select(r => Dot(r, second)).ToArray());
    }

    private static double Dot(double[] a, double[] b) => a.Zip(b, (u, v) => u * v).Sum();

    private static double[] Component(double[][] rows, int d, double[]? orthogonalTo)
    {
        var v = Enumerable.Range(0, d).Select(j => 1.0 / (j + 1)).ToArray();
        for (int iteration = 0; iteration < 200; iteration++)
        {
            var next = new double[d];
            foreach (var r in rows)
            {
                double s = Dot(r, v);
                for (int j = 0; j < d; j++)
                    next[j] += s * r[j];
            }
            if (orthogonalTo is not null)
            {
                double s = Dot(next, orthogonalTo);
                for (int j = 0; j < d; j++)
                    next[j] -= s * orthogonalTo[j];
            }
            double norm = Math.Sqrt(Dot(next, next));
            v = next.Select(t => t / norm).ToArray();
        }
        return v;
    }
}
