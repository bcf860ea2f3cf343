using System;
using System.Collections.Generic;
using System.Globalization;

namespace Embeddings.Cli
{
    /// <summary>
    /// Flags of the form <c>-name value</c> or <c>--name value</c> (the word2vec tool uses single dashes; the other
    /// commands use two). Every flag must be known to the command; each is read at most once.
    /// </summary>
    internal sealed class CommandLine
    {
        private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);
        private readonly HashSet<string> _switches = new(StringComparer.Ordinal);
        private readonly string _command;

        public CommandLine(string command, string[] args, IReadOnlyCollection<string> valueFlags, IReadOnlyCollection<string> switchFlags)
        {
            _command = command;
            var values = new HashSet<string>(valueFlags, StringComparer.Ordinal);
            var switches = new HashSet<string>(switchFlags, StringComparer.Ordinal);
            for (int i = 0; i < args.Length; i++)
            {
                string flag = args[i];
                if (switches.Contains(flag))
                {
                    _switches.Add(flag);
                    continue;
                }
                if (!values.Contains(flag))
                    throw new UsageException($"unknown option '{flag}'. Options: {string.Join(" ", valueFlags)} {string.Join(" ", switchFlags)}".TrimEnd() + ".");
                if (i + 1 >= args.Length)
                    throw new UsageException($"option {flag} needs a value.");
                if (!_values.TryAdd(flag, args[++i]))
                    throw new UsageException($"option {flag} is given twice.");
            }
        }

        public bool Has(string flag) => _values.ContainsKey(flag) || _switches.Contains(flag);

        public string Required(string flag) =>
            _values.TryGetValue(flag, out var value) ? value : throw new UsageException($"option {flag} is required (see 'embeddings {_command} --help').");

        public string? Optional(string flag) => _values.TryGetValue(flag, out var value) ? value : null;

        public int Int(string flag, int defaultValue)
        {
            if (!_values.TryGetValue(flag, out var text))
                return defaultValue;
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value))
                throw new UsageException($"option {flag} needs a whole number; got '{text}'.");
            return value;
        }

        public double Double(string flag, double defaultValue)
        {
            if (!_values.TryGetValue(flag, out var text))
                return defaultValue;
            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value))
                throw new UsageException($"option {flag} needs a number; got '{text}'.");
            return value;
        }

        /// <summary>A 0/1 flag of the word2vec tool.</summary>
        public bool Flag01(string flag, bool defaultValue)
        {
            int value = Int(flag, defaultValue ? 1 : 0);
            if (value is not (0 or 1))
                throw new UsageException($"option {flag} takes 0 or 1; got {value}.");
            return value == 1;
        }
    }
}
