using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Embeddings.Kernels;

namespace Embeddings.Evaluation
{
    /// <summary>Accuracy on one section of an analogy file, or on a group of sections.</summary>
    /// <param name="Name">Section name (for example <c>capital-common-countries</c>), or the group's name.</param>
    /// <param name="Correct">Questions answered correctly.</param>
    /// <param name="Seen">Questions whose four words are all in the restricted vocabulary.</param>
    /// <param name="Skipped">Questions with a word outside the restricted vocabulary.</param>
    public sealed record AnalogySection(string Name, int Correct, int Seen, int Skipped)
    {
        /// <summary>Correct / Seen, in [0, 1]; 0 when no question was seen.</summary>
        public double Accuracy => Seen == 0 ? 0 : (double)Correct / Seen;
    }

    /// <summary>The result of <see cref="WordAnalogyEvaluator.Evaluate"/>.</summary>
    /// <param name="Sections">Every section in file order.</param>
    /// <param name="Semantic">The sections whose names do not start with <c>gram</c>.</param>
    /// <param name="Syntactic">The sections whose names start with <c>gram</c>.</param>
    /// <param name="Total">All sections.</param>
    public sealed record AnalogyResult(IReadOnlyList<AnalogySection> Sections, AnalogySection Semantic, AnalogySection Syntactic, AnalogySection Total)
    {
        /// <summary>A table of the sections and the three totals.</summary>
        public override string ToString()
        {
            var text = new System.Text.StringBuilder();
            foreach (var s in Sections.Append(Semantic).Append(Syntactic).Append(Total))
                text.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{s.Name,-30} {100 * s.Accuracy,6:F2}%  ({s.Correct} / {s.Seen}; {s.Skipped} skipped)"));
            return text.ToString();
        }
    }

    /// <summary>
    /// Word-analogy accuracy (Mikolov et al.'s <c>questions-words.txt</c>) as the word2vec tool's compute-accuracy and
    /// gensim's <c>evaluate_word_analogies</c> compute it: the vocabulary is restricted to the first
    /// <c>restrictVocabulary</c> keys of the table (the most frequent, in word2vec files), matching ignores case, and
    /// for <c>a : b :: c : ?</c> the answer is the restricted word nearest by cosine to <c>b̂ - â + ĉ</c> (unit
    /// vectors), excluding a, b and c. Questions with a word outside the restricted vocabulary are skipped.
    /// </summary>
    public static class WordAnalogyEvaluator
    {
        /// <summary>Scores <paramref name="table"/> on the analogy questions in <paramref name="questionsPath"/>.</summary>
        /// <param name="table">Vectors, most frequent key first.</param>
        /// <param name="questionsPath">Questions file: <c>: section</c> lines, then lines of four words.</param>
        /// <param name="restrictVocabulary">How many leading keys are searched and allowed in questions. Default 30,000.</param>
        public static AnalogyResult Evaluate(EmbeddingTable table, string questionsPath, int restrictVocabulary = 30_000)
        {
            ArgumentNullException.ThrowIfNull(table);
            if (restrictVocabulary < 1)
                throw new ArgumentOutOfRangeException(nameof(restrictVocabulary), restrictVocabulary, "restrictVocabulary must be at least 1 (30,000 is the usual protocol).");
            int n = Math.Min(restrictVocabulary, table.Count);
            int d = table.Dimension;
            if ((long)n * d > Array.MaxLength)
                throw new ArgumentOutOfRangeException(nameof(restrictVocabulary), restrictVocabulary, $"restrictVocabulary x Dimension must stay below {Array.MaxLength:N0}; use fewer keys (30,000 is the usual protocol).");

            // Unit rows of the restricted vocabulary; upper-cased keys, the most frequent spelling winning.
            var unit = new float[(long)n * d];
            var index = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < n; i++)
            {
                var row = unit.AsSpan(i * d, d);
                table.Row(i).CopyTo(row);
                float norm = VectorMath.Norm(row);
                if (norm > 0)
                    VectorMath.Scale(1 / norm, row);
                index.TryAdd(table.Keys[i].ToUpperInvariant(), i);
            }

            var sections = new List<(string Name, List<int[]> Questions, int Skipped)>();
            foreach (string raw in File.ReadLines(questionsPath))
            {
                string line = raw.Trim();
                if (line.Length == 0)
                    continue;
                if (line.StartsWith(':'))
                {
                    sections.Add((line.Substring(1).Trim(), new List<int[]>(), 0));
                    continue;
                }
                if (sections.Count == 0)
                    throw new FormatException($"{questionsPath}: the first question comes before any ': section' line.");
                string[] words = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                if (words.Length != 4)
                    throw new FormatException($"{questionsPath}: '{line}' is not a question of four words.");
                var ids = new int[4];
                bool known = true;
                for (int w = 0; w < 4 && known; w++)
                    known = index.TryGetValue(words[w].ToUpperInvariant(), out ids[w]);
                var current = sections[^1];
                if (known)
                    current.Questions.Add(ids);
                else
                    sections[^1] = (current.Name, current.Questions, current.Skipped + 1);
            }

            var results = new List<AnalogySection>();
            foreach (var (name, questions, skipped) in sections)
            {
                var correct = new bool[questions.Count];
                Parallel.For(0, questions.Count, () => new float[d], (q, _, query) =>
                {
                    int[] ids = questions[q];
                    var a = unit.AsSpan(ids[0] * d, d);
                    var b = unit.AsSpan(ids[1] * d, d);
                    var c = unit.AsSpan(ids[2] * d, d);
                    for (int j = 0; j < d; j++)
                        query[j] = b[j] - a[j] + c[j];
                    int best = -1;
                    float bestScore = float.NegativeInfinity;
                    for (int i = 0; i < n; i++)
                    {
                        if (i == ids[0] || i == ids[1] || i == ids[2])
                            continue;
                        float score = VectorMath.Dot(query, unit.AsSpan(i * d, d));
                        if (score > bestScore)
                        {
                            bestScore = score;
                            best = i;
                        }
                    }
                    correct[q] = best == ids[3];
                    return query;
                }, _ => { });
                results.Add(new AnalogySection(name, correct.Count(x => x), questions.Count, skipped));
            }

            static AnalogySection Sum(string name, IEnumerable<AnalogySection> parts)
            {
                var list = parts.ToList();
                return new AnalogySection(name, list.Sum(s => s.Correct), list.Sum(s => s.Seen), list.Sum(s => s.Skipped));
            }

            return new AnalogyResult(
                results,
                Sum("semantic", results.Where(s => !s.Name.StartsWith("gram", StringComparison.Ordinal))),
                Sum("syntactic", results.Where(s => s.Name.StartsWith("gram", StringComparison.Ordinal))),
                Sum("total", results));
        }
    }
}
