using System;
using System.Globalization;
using System.Text;

namespace Embeddings
{
    /// <summary>Checks that keys can be written to a file format, and shows keys in messages.</summary>
    internal static class KeyText
    {
        /// <summary>UTF-8 without a byte order mark that throws on invalid text (lone surrogates) and invalid bytes.</summary>
        public static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

        /// <summary>Refuses a key that UTF-8 cannot represent (one with a lone surrogate), naming the key and its row.</summary>
        /// <exception cref="InvalidOperationException">The key holds a lone surrogate.</exception>
        public static void ThrowIfNotUtf8(string key, int row, string format)
        {
            for (int i = 0; i < key.Length; i++)
            {
                char c = key[i];
                if (!char.IsSurrogate(c))
                    continue;
                if (char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1]))
                {
                    i++;
                    continue;
                }
                throw new InvalidOperationException($"Key {Show(key)} (row {row}) holds a lone surrogate (U+{(int)c:X4}), which is not Unicode text and which {format} cannot represent. Fix the key before saving.");
            }
        }

        /// <summary>The key in double quotes, with control characters, white space other than ' ' and lone surrogates written as \uXXXX; long keys cut.</summary>
        public static string Show(string key)
        {
            var text = new StringBuilder(Math.Min(key.Length, 80) + 2).Append('"');
            for (int i = 0; i < key.Length && i < 80; i++)
            {
                char c = key[i];
                bool pair = char.IsHighSurrogate(c) && i + 1 < key.Length && char.IsLowSurrogate(key[i + 1]);
                if (pair)
                    text.Append(c).Append(key[++i]);
                else if (c != ' ' && (char.IsWhiteSpace(c) || char.IsControl(c) || char.IsSurrogate(c)))
                    text.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
                else
                    text.Append(c);
            }
            if (key.Length > 80)
                text.Append("...");
            return text.Append('"').ToString();
        }
    }
}
