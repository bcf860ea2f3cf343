using System;
using System.Collections.Generic;
using System.Globalization;
using Embeddings.Kernels;

namespace Embeddings
{
    /// <summary>
    /// A user folded into a trained <see cref="MatrixFactorizationTransformer"/> without retraining
    /// (<see cref="MatrixFactorizationTransformer.FoldInUser"/>): the user's factor solved against the fixed item factors.
    /// </summary>
    /// <param name="Factors">The user's factor, <see cref="MatrixFactorizationTransformer.ApproximationRank"/> long.</param>
    /// <param name="Bias">The user's bias b_u (explicit loss); 0 for the implicit loss.</param>
    /// <param name="KnownInteractions">How many of the given interactions had an item with trained factors (the others were skipped).</param>
    public sealed record FoldedInUser(float[] Factors, float Bias, int KnownInteractions);
}

namespace Embeddings.MatrixFactorization
{
    /// <summary>The regularisation settings a fold-in needs: those of training (saved from state version 3).</summary>
    internal sealed record FoldInSettings(float Lambda, float Alpha, float NegativeTarget, bool NonNegative);

    /// <summary>
    /// Solves one user's factor against fixed item factors, with the objective of training. Implicit loss: the ALS
    /// half-step of <see cref="AlsSolver"/> for one row. Explicit loss: the ridge regression that SGD training minimises
    /// for the user with the items fixed: Σ (r − μ − b_u − b_i − p·q_i)² + λ n (|p|² + b_u²), n the user's ratings.
    /// </summary>
    internal static class FoldIn
    {
        public static FoldedInUser Solve(FactorModel model, FoldInSettings settings, IEnumerable<(string Item, float Rating)> interactions, Func<(float[] Gram, float[] Sum)> implicitGram)
        {
            const string c = "MatrixFactorization.FoldInUser";
            int k = model.Rank;
            // Implicit training sums the labels of repeated (user, item) pairs; the explicit loss keeps each rating.
            var rows = new List<(int Row, float Rating)>();
            var summed = new Dictionary<int, int>();
            int given = 0, used = 0;
            foreach (var (item, rating) in interactions)
            {
                given++;
                if (item is null)
                    throw new ArgumentException($"{c}: interaction {given} has a null item; give the item's key text as in training.", nameof(interactions));
                if (!float.IsFinite(rating))
                    throw new ArgumentException(string.Create(CultureInfo.InvariantCulture, $"{c}: the rating of item '{item}' is {rating}; give a finite rating (training skips NaN labels)."), nameof(interactions));
                int row = model.ItemIndexOf(item);
                if (row < 0 || !model.ItemSeen[row] || (model.Implicit && rating == 0))
                    continue;
                used++;
                if (model.Implicit && summed.TryGetValue(row, out int at))
                {
                    rows[at] = (row, rows[at].Rating + rating);
                    continue;
                }
                summed[row] = rows.Count;
                rows.Add((row, rating));
            }
            if (rows.Count == 0)
            {
                throw new ArgumentException($"{c}: none of the {given} interactions has an item with trained factors{(model.Implicit ? " and a nonzero rating" : "")}; " +
                    "give at least one interaction with an item seen in training (items are matched by their key value text).", nameof(interactions));
            }
            if (model.Implicit)
            {
                var (gram, sum) = implicitGram();
                var a = (float[])gram.Clone();
                var b = (float[])sum.Clone();
                VectorMath.Scale(settings.NegativeTarget, b);
                for (int d = 0; d < k; d++)
                    a[d * k + d] += settings.Lambda;
                foreach (var (row, rating) in rows)
                {
                    var y = model.ItemRow(row);
                    float extra = settings.Alpha * rating;
                    for (int d = 0; d < k; d++)
                        VectorMath.AddScaled(y[..(d + 1)], extra * y[d], a.AsSpan(d * k, d + 1));
                    VectorMath.AddScaled(y, 1 + extra - settings.NegativeTarget, b);
                }
                var factors = new float[k];
                AlsSolver.CholeskySolve(a, b, k, new double[k * k], new double[k], factors);
                return new FoldedInUser(factors, 0, used);
            }
            else
            {
                if (settings.NonNegative)
                    throw new NotSupportedException($"{c}: the model was trained with NonNegative = true, and the fold-in solves an unconstrained ridge regression whose factor could have negative entries. Retrain the model with the user instead, or train with NonNegative = false.");
                int m = k + 1;
                var a = new float[m * m];
                var b = new float[m];
                var x = new float[m];
                foreach (var (row, rating) in rows)
                {
                    model.ItemRow(row).CopyTo(x);
                    x[k] = 1;
                    float target = rating - model.GlobalMean - model.ItemBias[row];
                    for (int d = 0; d < m; d++)
                        VectorMath.AddScaled(x.AsSpan(0, d + 1), x[d], a.AsSpan(d * m, d + 1));
                    VectorMath.AddScaled(x, target, b);
                }
                float ridge = settings.Lambda * rows.Count;
                for (int d = 0; d < m; d++)
                    a[d * m + d] += ridge;
                var solution = new float[m];
                AlsSolver.CholeskySolve(a, b, m, new double[m * m], new double[m], solution);
                return new FoldedInUser(solution.AsSpan(0, k).ToArray(), solution[k], used);
            }
        }
    }
}
