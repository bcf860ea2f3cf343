using System;
using System.Globalization;

namespace Embeddings.Infrastructure
{
    /// <summary>
    /// The one check of an option's value: every component's options are validated through it, so that every message
    /// has the same shape: "component: Option = value is invalid; fix."
    /// </summary>
    public static class OptionChecks
    {
        /// <summary>Throws when <paramref name="valid"/> is false.</summary>
        /// <param name="component">The component (or option path, e.g. "RecommendationFeatures.ItemGraph") named first.</param>
        /// <param name="valid">Whether the value is valid.</param>
        /// <param name="option">The option's name as the user writes it.</param>
        /// <param name="value">The value given (formatted with the invariant culture; null prints as "null").</param>
        /// <param name="fix">What to use instead, e.g. "use 1 or more (5 is usual)".</param>
        /// <exception cref="ArgumentOutOfRangeException">The value is invalid; the parameter name is <paramref name="option"/>.</exception>
        public static void Check(string component, bool valid, string option, object? value, string fix)
        {
            if (!valid)
                throw new ArgumentOutOfRangeException(option, value, $"{component}: {option} = {Format(value)} is invalid; {fix}.");
        }

        /// <summary>A value as messages print it: invariant culture, "null" for null.</summary>
        public static string Format(object? value) => value switch
        {
            null => "null",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };
    }
}
