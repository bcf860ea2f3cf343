using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Unicode;
using CsCheck;
using Embeddings.Cli;
using Embeddings.Cli.Data;
using Embeddings.Evaluation;
using NUnit.Framework;

namespace Embeddings.Tests.Cli
{
    /// <summary>
    /// Property tests of the command-line tool's input readers (interaction files, edge lists, text corpora,
    /// node-classification labels and splits). Each reader is checked for two properties:
    /// <list type="number">
    /// <item>Identity: writing arbitrary rows (ids of any non-white-space Unicode, astral planes included, up to a few
    /// hundred characters; any timestamp; any finite or NaN rating; any positive weight) and reading them back gives the
    /// same rows, in order.</item>
    /// <item>Corruption: replacing one byte of a valid file by any byte value, or truncating the file anywhere, gives
    /// either a <see cref="FormatException"/> (naming the file) or rows that differ from the original only as the
    /// damage itself explains: a corrupted byte may change a value of the one row whose line it hits (a digit of a
    /// timestamp, a letter of an id: a file cannot tell that apart from the truth), and a truncated file is read as the
    /// rows of its lines, the last one perhaps shortened. What must never happen: a row silently dropped, added or
    /// merged with another (a row count that differs without a report: a header skip, duplicates removed, comment lines),
    /// a row other than the damaged one changed, an invalid UTF-8 byte turned into U+FFFD, or any other exception type.</item>
    /// </list>
    /// The case counts keep each property to a few seconds.
    /// </summary>
    [TestFixture]
    public class ReaderPropertyTests
    {
        private string _folder = "";

        [OneTimeSetUp]
        public void CreateFolder() => _folder = TestUtilities.NewTempFolder();

        [OneTimeTearDown]
        public void DeleteFolder() => Directory.Delete(_folder, recursive: true);

        /// <summary>A code point that is not white space, not a surrogate half, not a control character; ASCII-heavy, with Latin-1, CJK, astral planes.</summary>
        private static readonly Gen<string> s_codePoint = Gen.Frequency(
            (6, Gen.Int[0x21, 0x7E]),
            (1, Gen.Int[0xA1, 0x2FF]),
            (1, Gen.Int[0x2010, 0x2027]),
            (1, Gen.Int[0x3001, 0x9FFF]),
            (1, Gen.Int[0x1F300, 0x1FAFF]))
            .Where(c => !char.IsWhiteSpace(char.ConvertFromUtf32(c), 0))
            .Select(char.ConvertFromUtf32);

        /// <summary>An id: 1 to 12 code points, now and then up to 300.</summary>
        private static Gen<string> Id(Func<string, bool>? allowed = null) =>
            Gen.Frequency((9, s_codePoint.Array[1, 12]), (1, s_codePoint.Array[1, 300]))
                .Select(parts => string.Concat(parts))
                .Where(id => allowed is null || allowed(id));

        private string WriteFile(byte[] bytes)
        {
            string path = Path.Combine(_folder, "f.txt");
            File.WriteAllBytes(path, bytes);
            return path;
        }

        /// <summary>The file with one byte replaced, or cut to a prefix.</summary>
        private sealed record Damage(bool Truncate, int Position, byte Value)
        {
            public byte[] Apply(byte[] bytes)
            {
                if (Truncate)
                    return bytes.AsSpan(0, Position % (bytes.Length + 1)).ToArray();
                var copy = (byte[])bytes.Clone();
                copy[Position % copy.Length] = Value;
                return copy;
            }

            /// <summary>The 0-based line index of the damaged byte (of the cut, for a truncation).</summary>
            public int Line(byte[] bytes)
            {
                int at = Truncate ? Position % (bytes.Length + 1) : Position % bytes.Length;
                return bytes.AsSpan(0, at).Count((byte)'\n');
            }
        }

        /// <summary>Any byte value, half of the time one of the bytes that give a file its structure.</summary>
        private static readonly Gen<byte> s_damageByte = Gen.Frequency((1, Gen.Byte), (1, Gen.OneOf("\t\n\r ,#0.-e\u00A0"u8.ToArray())));

        private static readonly Gen<Damage> s_damage = Gen.Select(Gen.Bool, Gen.Int[0, int.MaxValue], s_damageByte, (t, p, v) => new Damage(t, p, v));

        // ---------------------------------------------------------------- interaction files

        private sealed record Rating(string User, string Item, float Value, long Time);

        private static readonly Gen<float> s_rating = Gen.Frequency((1, Gen.Const(float.NaN)), (8, Gen.Float.Where(float.IsFinite)), (3, Gen.Int[1, 5].Select(i => (float)i)));

        private static readonly Gen<Rating> s_ratingRow = Gen.Select(Id(), Id(), s_rating, Gen.Frequency((3, Gen.Long), (3, Gen.Long[0, 2_000_000_000])),
            (u, i, r, t) => new Rating(u, i, r, t));

        private static byte[] InteractionBytes(IReadOnlyList<Rating> rows, bool ratings, bool header, bool trailingNewline, string newline)
        {
            var lines = new List<string>();
            if (header)
                lines.Add(ratings ? "user\titem\trating\ttimestamp" : "user\titem\ttimestamp");
            foreach (var r in rows)
            {
                lines.Add(ratings
                    ? string.Create(CultureInfo.InvariantCulture, $"{r.User}\t{r.Item}\t{r.Value:R}\t{r.Time}")
                    : string.Create(CultureInfo.InvariantCulture, $"{r.User}\t{r.Item}\t{r.Time}"));
            }
            return Encoding.UTF8.GetBytes(string.Join(newline, lines) + (trailingNewline ? newline : ""));
        }

        private static List<Rating> Expected(IEnumerable<Rating> rows, bool ratings)
        {
            var seen = new HashSet<(string, string, long)>();
            return rows.Where(r => seen.Add((r.User, r.Item, r.Time))).Select(r => ratings ? r : r with { Value = float.NaN }).ToList();
        }

        private static List<Rating> Rows(InteractionData data) => data.Rows.Select(r => new Rating(r.User, r.Item, r.Rating, r.Timestamp)).ToList();

        /// <summary>Identity: rows with arbitrary ids, ratings and timestamps, 3 or 4 fields, with or without a header, '\n' or '\r\n', read back as written (exact duplicates removed and counted).</summary>
        [Test]
        public void InteractionFileReadsBackWhatWasWritten()
        {
            Gen.Select(s_ratingRow.List[1, 20], Gen.Bool, Gen.Bool, Gen.Bool, Gen.Bool).Sample((rows, ratings, header, trailing, crlf) =>
            {
                string path = WriteFile(InteractionBytes(rows, ratings, header, trailing, crlf ? "\r\n" : "\n"));
                var log = new StringWriter();
                var data = InteractionFile.Read(path, log);
                var expected = Expected(rows, ratings);
                Assert.That(Rows(data), Is.EqualTo(expected));
                Assert.That(data.HasRatings, Is.EqualTo(ratings));
                Assert.That(data.Header is not null, Is.EqualTo(header));
                Assert.That(data.DuplicatesRemoved, Is.EqualTo(rows.Count - expected.Count));
                Assert.That(log.ToString().Contains("header"), Is.EqualTo(header));
            }, iter: 400, threads: 1);
        }

        /// <summary>Corruption: see the class summary; a different row count is always reported (header or duplicates), and only the damaged line's row may change.</summary>
        [Test]
        public void InteractionFileDamageGivesTheSameRowsOrAFormatException()
        {
            var ids = Id(id => id.Length < 6 && !id.Contains(','));
            var rowGen = Gen.Select(ids, ids, s_rating, Gen.Long[0, 2_000_000_000], (u, i, r, t) => new Rating(u, i, r, t));
            int errors = 0, changed = 0;
            Gen.Select(rowGen.List[1, 6], Gen.Bool, Gen.Bool, s_damage).Sample((rows, ratings, header, damage) =>
            {
                var original = Expected(rows, ratings);
                byte[] bytes = InteractionBytes(original, ratings, header, trailingNewline: true, "\n");
                string path = WriteFile(damage.Apply(bytes));
                InteractionData data;
                try
                {
                    data = InteractionFile.Read(path, TextWriter.Null);
                }
                catch (FormatException e)
                {
                    Assert.That(e.Message, Does.StartWith(path));
                    errors++;
                    return;
                }
                var read = Rows(data);
                int line = damage.Line(bytes) - (header ? 1 : 0); // the row of the damaged line (-1: the header)
                if (damage.Truncate)
                {
                    // The rows of the lines kept, in order; only the cut line's row may be shortened.
                    for (int k = 0; k < read.Count; k++)
                    {
                        if (k != line)
                            Assert.That(read[k], Is.EqualTo(original[k]), $"row {k} of a truncated file");
                    }
                    Assert.That(read.Count, Is.EqualTo(Math.Min(original.Count, line + 1)).Or.EqualTo(line), "rows of a truncated file");
                    return;
                }
                int reported = data.DuplicatesRemoved + (data.Header is not null && !header ? 1 : 0);
                Assert.That(read.Count, Is.EqualTo(original.Count - reported), "a row lost or added without a report");
                if (reported == 0)
                {
                    for (int k = 0; k < read.Count; k++)
                    {
                        if (k != line)
                            Assert.That(read[k], Is.EqualTo(original[k]), $"row {k}, not the damaged one ({line})");
                    }
                    if (!read.SequenceEqual(original))
                        changed++;
                }
                else
                {
                    Assert.That(original.Except(read).Count(), Is.LessThanOrEqualTo(1), "more than the damaged row changed");
                }
            }, iter: 3000, threads: 1);
            // The property is not vacuous: damage was both detected and (as a changed value) let through.
            Assert.That(errors, Is.GreaterThan(100));
            Assert.That(changed, Is.GreaterThan(10));
        }

        // ---------------------------------------------------------------- edge lists

        private sealed record Edge(string Source, string Target, double Weight);

        private sealed class EdgeRecorder : IEdgeWriter
        {
            public List<Edge> Edges { get; } = new();

            public void AddEdge(ReadOnlySpan<char> source, ReadOnlySpan<char> target, double weight) => Edges.Add(new Edge(source.ToString(), target.ToString(), weight));
        }

        private static readonly Gen<double> s_weight = Gen.Frequency((1, Gen.Const(1.0)), (3, Gen.Double[1e-300, 1e30]));

        private static byte[] EdgeBytes(IReadOnlyList<Edge> edges, bool weights, string separator, bool comment) =>
            Encoding.UTF8.GetBytes((comment ? "# an edge list\n" : "") + string.Concat(edges.Select(e =>
                (weights ? string.Create(CultureInfo.InvariantCulture, $"{e.Source}{separator}{e.Target}{separator}{e.Weight:R}") : $"{e.Source}{separator}{e.Target}") + "\n")));

        /// <summary>Identity: edges between arbitrary ids (not starting with '#'), any positive weight, separated by a tab, a space, NBSP or EM SPACE.</summary>
        [Test]
        public void EdgeListReadsBackWhatWasWritten()
        {
            var ids = Id(id => id[0] != '#');
            var edge = Gen.Select(ids, ids, s_weight, (s, t, w) => new Edge(s, t, w));
            Gen.Select(edge.List[1, 20], Gen.Bool, Gen.OneOf(Gen.Const("\t"), Gen.Const(" "), Gen.Const("\u00A0"), Gen.Const("\u2003 ")), Gen.Bool).Sample((edges, weighted, separator, comment) =>
            {
                string path = WriteFile(EdgeBytes(edges, weighted, separator, comment));
                var recorder = new EdgeRecorder();
                int comments = EdgeListReader.Read(path, weighted, recorder);
                Assert.That(recorder.Edges, Is.EqualTo(weighted ? edges : edges.Select(e => e with { Weight = 1 }).ToList()));
                Assert.That(comments, Is.EqualTo(comment ? 1 : 0));
            }, iter: 400, threads: 1);
        }

        /// <summary>Corruption: see the class summary; a lost row is always a reported comment line, and only the damaged line's edge may change.</summary>
        [Test]
        public void EdgeListDamageGivesTheSameEdgesOrAFormatException()
        {
            var ids = Id(id => id.Length < 6 && id[0] != '#');
            var edge = Gen.Select(ids, ids, s_weight, (s, t, w) => new Edge(s, t, w));
            int errors = 0, changed = 0;
            Gen.Select(edge.List[1, 6], Gen.Bool, s_damage).Sample((edges, weighted, damage) =>
            {
                var original = weighted ? edges : edges.Select(e => e with { Weight = 1 }).ToList();
                byte[] bytes = EdgeBytes(edges, weights: true, "\t", comment: false);
                string path = WriteFile(damage.Apply(bytes));
                var recorder = new EdgeRecorder();
                int comments;
                try
                {
                    comments = EdgeListReader.Read(path, weighted, recorder);
                }
                catch (FormatException e)
                {
                    Assert.That(e.Message, Does.StartWith(path));
                    errors++;
                    return;
                }
                var read = recorder.Edges;
                int line = damage.Line(bytes);
                if (damage.Truncate)
                {
                    for (int k = 0; k < read.Count; k++)
                    {
                        if (k != line)
                            Assert.That(read[k], Is.EqualTo(original[k]), $"edge {k} of a truncated file");
                    }
                    Assert.That(read.Count, Is.EqualTo(Math.Min(original.Count, line + 1)).Or.EqualTo(line), "edges of a truncated file");
                    return;
                }
                // The one case no line-based reader can catch: the only line of a 3-field file read without --weighted
                // (the weight ignored), split inside its target by a byte turned into '\n', is two valid 2-field lines
                // ('a b1' and 'b2 w'); with a second line the field counts would differ (an error).
                if (original.Count == 1 && !weighted && damage.Value == (byte)'\n' && read.Count == 2)
                    return;
                Assert.That(read.Count, Is.EqualTo(original.Count - comments), "an edge lost or added without a report");
                if (comments == 0)
                {
                    for (int k = 0; k < read.Count; k++)
                    {
                        if (k != line)
                            Assert.That(read[k], Is.EqualTo(original[k]), $"edge {k}, not the damaged one ({line})");
                    }
                    if (!read.SequenceEqual(original))
                        changed++;
                }
                else
                {
                    Assert.That(read, Is.EqualTo(original.Skip(1)), "only the first line can become a comment");
                }
            }, iter: 3000, threads: 1, print: t => $"{Escape(EdgeBytes(t.Item1, weights: true, "\t", comment: false))} weighted {t.Item2}, {t.Item3}");
            Assert.That(errors, Is.GreaterThan(100));
            Assert.That(changed, Is.GreaterThan(10));
        }

        private static string Escape(byte[] bytes) => string.Concat(bytes.Select(b => b is >= 0x20 and < 0x7F ? ((char)b).ToString() : $"\\x{b:X2}"));

        // ---------------------------------------------------------------- text corpora

        private sealed class SequenceRecorder : Embeddings.ISequenceWriter
        {
            private readonly List<string> _current = new();

            public List<List<string>> Sequences { get; } = new();

            public void Add(ReadOnlySpan<char> token) => _current.Add(token.ToString());

            public void EndSequence()
            {
                Sequences.Add(_current.ToList());
                _current.Clear();
            }
        }

        /// <summary>The tokenizer's contract, written independently: lines on '\n', tokens between runs of char.IsWhiteSpace.</summary>
        private static List<List<string>> Tokenize(string text) =>
            text.Split('\n')
                .Select(line => line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries).ToList())
                .Where(tokens => tokens.Count > 0)
                .ToList();

        private static readonly string[] s_spaces = { " ", "\t", "\u00A0", "\u2003", "\u3000", "\u2028", "  ", "\r" };

        /// <summary>Identity: lines of arbitrary tokens separated by any Unicode white space come back as the same token sequences.</summary>
        [Test]
        public void TextCorpusReadsBackWhatWasWritten()
        {
            var line = Gen.Select(Id().List[1, 10], Gen.Int[0, s_spaces.Length - 1].Array[10], (tokens, spaces) =>
                (Tokens: tokens, Text: string.Concat(tokens.Select((t, k) => t + s_spaces[spaces[k]]))));
            line.List[1, 8].Sample(lines =>
            {
                string path = WriteFile(Encoding.UTF8.GetBytes(string.Join("\n", lines.Select(l => l.Text))));
                var recorder = new SequenceRecorder();
                long count = TextCorpusReader.Read(path, recorder);
                Assert.That(recorder.Sequences, Is.EqualTo(lines.Select(l => l.Tokens).ToList()));
                Assert.That(count, Is.EqualTo(lines.Sum(l => l.Tokens.Count)));
            }, iter: 400, threads: 1);
        }

        /// <summary>
        /// Corruption: a corpus has no rows to lose (a byte may legitimately split or join tokens or lines), so the claim is
        /// exact: a damaged file that is valid UTF-8 is read as its text tokenized by the contract; one that is not is a
        /// FormatException naming the byte offset of its first invalid byte; never a U+FFFD, never another exception.
        /// </summary>
        [Test]
        public void TextCorpusDamageIsReadExactlyOrIsAFormatException()
        {
            int errors = 0;
            var line = Id(id => id.Length < 8).List[1, 6].Select(tokens => string.Join(" ", tokens));
            Gen.Select(line.List[1, 5], s_damage).Sample((lines, damage) =>
            {
                byte[] bytes = damage.Apply(Encoding.UTF8.GetBytes(string.Join("\n", lines) + "\n"));
                string path = WriteFile(bytes);
                var status = Utf8.ToUtf16(bytes, new char[bytes.Length], out int valid, out _, replaceInvalidSequences: false);
                var recorder = new SequenceRecorder();
                try
                {
                    TextCorpusReader.Read(path, recorder);
                }
                catch (FormatException e)
                {
                    Assert.That(status, Is.Not.EqualTo(OperationStatus.Done), e.Message);
                    Assert.That(e.Message, Does.StartWith(path).And.Contain($"byte offset {valid}:"));
                    errors++;
                    return;
                }
                Assert.That(status, Is.EqualTo(OperationStatus.Done), "invalid UTF-8 read without an error");
                string text = Encoding.UTF8.GetString(bytes);
                if (text.StartsWith('\uFEFF'))
                    text = text[1..];
                Assert.That(recorder.Sequences, Is.EqualTo(Tokenize(text)));
            }, iter: 3000, threads: 1);
            Assert.That(errors, Is.GreaterThan(100));
        }

        // ---------------------------------------------------------------- node-classification labels and splits

        /// <summary>Identity of labels ('node TAB label', several labels per node) and splits ('split TAB node TAB is_train').</summary>
        [Test]
        public void LabelsAndSplitsReadBackWhatWasWritten()
        {
            var labelRow = Gen.Select(Id(), Gen.Int[0, int.MaxValue]);
            var splitRow = Gen.Select(Gen.Int[0, int.MaxValue], Id(), Gen.Bool);
            Gen.Select(labelRow.List[1, 20], splitRow.List[1, 20]).Sample((labels, splits) =>
            {
                string path = WriteFile(Encoding.UTF8.GetBytes(string.Concat(labels.Select(l => $"{l.Item1}\t{l.Item2}\n"))));
                var read = NodeClassificationEvaluator.ReadLabels(path);
                var expected = labels.GroupBy(l => l.Item1).ToDictionary(g => g.Key, g => g.Select(l => l.Item2).Distinct().ToList());
                Assert.That(read, Is.EqualTo(expected));
                path = WriteFile(Encoding.UTF8.GetBytes(string.Concat(splits.Select(s => $"{s.Item1}\t{s.Item2}\t{(s.Item3 ? 1 : 0)}\n"))));
                Assert.That(NodeClassificationEvaluator.ReadSplits(path), Is.EqualTo(splits));
            }, iter: 300, threads: 1);
        }

        /// <summary>Corruption of a splits file (every line is one row, so the row count must not change; only the damaged line's row may).</summary>
        [Test]
        public void SplitsDamageGivesTheSameRowsOrAFormatException()
        {
            var ids = Id(id => id.Length < 6);
            var splitRow = Gen.Select(Gen.Int[0, 20], ids, Gen.Bool);
            int errors = 0;
            Gen.Select(splitRow.List[1, 6], s_damage).Sample((splits, damage) =>
            {
                byte[] bytes = Encoding.UTF8.GetBytes(string.Concat(splits.Select(s => $"{s.Item1}\t{s.Item2}\t{(s.Item3 ? 1 : 0)}\n")));
                string path = WriteFile(damage.Apply(bytes));
                List<(int Split, string Node, bool IsTrain)> read;
                try
                {
                    read = NodeClassificationEvaluator.ReadSplits(path);
                }
                catch (FormatException e)
                {
                    Assert.That(e.Message, Does.StartWith(path));
                    errors++;
                    return;
                }
                int line = damage.Line(bytes);
                var original = splits.Select(s => (s.Item1, s.Item2, s.Item3)).ToList();
                if (damage.Truncate)
                    Assert.That(read.Count, Is.EqualTo(Math.Min(original.Count, line + 1)).Or.EqualTo(line), "rows of a truncated file");
                else
                    Assert.That(read.Count, Is.EqualTo(original.Count), "a row lost or added");
                for (int k = 0; k < read.Count; k++)
                {
                    if (k != line)
                        Assert.That(read[k], Is.EqualTo(original[k]), $"row {k}, not the damaged one ({line})");
                }
            }, iter: 2000, threads: 1);
            Assert.That(errors, Is.GreaterThan(100));
        }
    }
}
