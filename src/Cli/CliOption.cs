using System;
using System.Collections.Generic;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Linq;

namespace Embeddings.Cli
{
    /// <summary>
    /// Typed options with the tool's parsing (invariant culture) and range checks. Every error names the flag as typed
    /// (<c>-size</c> or <c>--dimensions</c>) and the value, and is a usage error (exit code 2). A default is given once,
    /// through <see cref="Default{T}(Option{T}, T)"/>, and help shows it from there.
    /// </summary>
    internal static class CliOption
    {
        /// <summary>
        /// The value of <paramref name="option"/> in a command's validator: the parsed value, or the default when the flag
        /// is absent (a validator sees no default of its own).
        /// </summary>
        public static T ValueOf<T>(this CommandResult command, Option<T> option) =>
            command.GetResult(option) is OptionResult result && TryGetValue(result, out T value) ? value : (T)option.GetDefaultValue()!;

        /// <summary>A whole-number option (<c>N</c>).</summary>
        public static Option<int> Int(string name, string description, params string[] aliases) =>
            Create(name, description, "N", aliases, text => (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v), v), "a whole number");

        /// <summary>A whole-number option without a default (null when not given).</summary>
        public static Option<int?> OptionalInt(string name, string description, params string[] aliases) =>
            Create<int?>(name, description, "N", aliases, text => (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v), v), "a whole number");

        /// <summary>A number option (<c>X</c>): decimal or exponent notation with a dot (1e-3, 0.025).</summary>
        public static Option<double> Double(string name, string description, params string[] aliases) =>
            Create(name, description, "X", aliases, text => (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v), v), "a number");

        /// <summary>A number option without a default (null when not given).</summary>
        public static Option<double?> OptionalDouble(string name, string description, params string[] aliases) =>
            Create<double?>(name, description, "X", aliases, text => (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v), v), "a number");

        /// <summary>A file path (<c>FILE</c>); not checked here (the command checks files when it runs: exit code 1).</summary>
        public static Option<string> File(string name, string description, params string[] aliases) =>
            new(name, aliases) { Description = description, HelpName = "FILE" };

        /// <summary>A switch without a value (<c>--weighted</c>).</summary>
        public static Option<bool> Switch(string name, string description, params string[] aliases) =>
            new(name, aliases) { Description = description, Arity = ArgumentArity.Zero };

        /// <summary>A 0/1 flag of the word2vec tool (<c>-cbow 1</c>): the value is required.</summary>
        public static Option<Named<bool>> ZeroOrOne(string name, string description, bool defaultValue, params string[] aliases) =>
            Choice(name, description, new[] { ("0", false), ("1", true) }, defaultValue, aliases);

        /// <summary>
        /// An option taking one of a few names, each standing for a value (<c>--metric cosine|dot|euclidean</c>);
        /// <paramref name="defaultValue"/> is the value when the flag is absent, and help shows its name.
        /// </summary>
        public static Option<Named<T>> Choice<T>(string name, string description, IReadOnlyList<(string Name, T Value)> choices, T defaultValue, params string[] aliases)
        {
            var named = choices.Select(c => new Named<T>(c.Name, c.Value)).ToList();
            var fallback = named.First(c => EqualityComparer<T>.Default.Equals(c.Value, defaultValue));
            var option = new Option<Named<T>>(name, aliases)
            {
                Description = description,
                HelpName = string.Join("|", named.Select(c => c.Name)),
                Arity = ArgumentArity.ExactlyOne,
                DefaultValueFactory = _ => fallback,
                CustomParser = result =>
                {
                    string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                    var choice = named.FirstOrDefault(c => c.Name == text);
                    if (choice is null)
                        result.AddError($"{Flag(result)} takes {Or(named.Select(c => c.Name).ToList())}; got '{text}'.");
                    return choice ?? fallback;
                },
            };
            option.CompletionSources.Add(named.Select(c => c.Name).ToArray());
            return option;
        }

        /// <summary>The one place of the option's default: help shows it, and it is the value when the flag is absent.</summary>
        public static Option<T> Default<T>(this Option<T> option, T value)
        {
            option.DefaultValueFactory = _ => value;
            return option;
        }

        /// <summary>A float default as the double that reads the same (help then shows 0.05, not 0.0500000007...).</summary>
        public static double Widen(float value) => double.Parse(value.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

        /// <summary>The option must be given.</summary>
        public static Option<T> Required<T>(this Option<T> option)
        {
            option.Required = true;
            return option;
        }

        /// <summary>Rejects a given value that fails <paramref name="valid"/>: "FLAG REQUIREMENT; got VALUE."</summary>
        public static Option<T> Check<T>(this Option<T> option, Func<T, bool> valid, string requirement)
        {
            option.Validators.Add(result =>
            {
                if (!result.Implicit && TryGetValue(result, out T value) && value is not null && !valid(value))
                    result.AddError($"{Flag(result)} {requirement}; got {Format(value)}.");
            });
            return option;
        }

        public static Option<int> AtLeast(this Option<int> option, int minimum) => option.Check(v => v >= minimum, $"must be {minimum} or more");

        public static Option<int?> AtLeast(this Option<int?> option, int minimum) => option.Check(v => v >= minimum, $"must be {minimum} or more");

        public static Option<int> Between(this Option<int> option, int minimum, int maximum) =>
            option.Check(v => v >= minimum && v <= maximum, string.Create(CultureInfo.InvariantCulture, $"must be from {minimum:N0} to {maximum:N0}"));

        /// <summary>A finite number of at least <paramref name="minimum"/> (above it when <paramref name="exclusive"/>).</summary>
        public static Option<double> AtLeast(this Option<double> option, double minimum, bool exclusive = false) =>
            option.Check(v => double.IsFinite(v) && (exclusive ? v > minimum : v >= minimum), $"must be a finite number {(exclusive ? "above" : "of at least")} {Format(minimum)}");

        /// <summary>A learning rate or a share: above 0 and at most 1.</summary>
        /// <remarks>Rates are single-precision in training: a value that rounds to 0 there (below 1e-30) is refused too.</remarks>
        public static Option<double> Rate(this Option<double> option) => option.Check(v => v >= MinimumRate && v <= 1, RateRequirement);

        public static Option<double?> Rate(this Option<double?> option) => option.Check(v => v >= MinimumRate && v <= 1, RateRequirement);

        private const double MinimumRate = 1e-30;
        private const string RateRequirement = "must be above 0 (1e-30 at the least) and at most 1";

        /// <summary>A subsampling threshold: at least 0 and below 1.</summary>
        public static Option<double> Threshold(this Option<double> option) => option.Check(v => v >= 0 && v < 1, "must be at least 0 and below 1 (0 turns subsampling off)");

        /// <summary>The flag as the user typed it (an alias, perhaps), else the option's name.</summary>
        public static string Flag(SymbolResult result) => result switch
        {
            OptionResult option => option.IdentifierToken?.Value ?? option.Option.Name,
            ArgumentResult { Parent: OptionResult option } => option.IdentifierToken?.Value ?? option.Option.Name,
            _ => "the option",
        };

        public static string Format(object? value) => value switch
        {
            null => "nothing",
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? "",
        };

        /// <summary>The parsed value; false when parsing failed (its error is reported already).</summary>
        private static bool TryGetValue<T>(OptionResult result, out T value)
        {
            try
            {
                value = result.GetValueOrDefault<T>();
                return true;
            }
            catch (InvalidOperationException)
            {
                // System.CommandLine throws for a value whose parser reported an error.
                value = default!;
                return false;
            }
        }

        private static string Or(IReadOnlyList<string> names) =>
            names.Count == 1 ? names[0] : string.Join(", ", names.Take(names.Count - 1)) + " or " + names[^1];

        private static Option<T> Create<T>(string name, string description, string helpName, string[] aliases, Func<string, (bool Ok, T Value)> parse, string expected) =>
            new(name, aliases)
            {
                Description = description,
                HelpName = helpName,
                CustomParser = result =>
                {
                    string text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
                    var (ok, value) = parse(text);
                    if (!ok)
                        result.AddError($"{Flag(result)} needs {expected}; got '{text}'.");
                    return value;
                },
            };
    }

    /// <summary>A value chosen by name on the command line; shows as its name (in help's defaults, too).</summary>
    internal sealed record Named<T>(string Name, T Value)
    {
        public override string ToString() => Name;
    }
}
