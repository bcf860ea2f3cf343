using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using System.Text;
using CsCheck;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms
{
    /// <summary>
    /// Property tests (CsCheck) of the formats that hold embedding tables: word2vec text, word2vec binary, the native
    /// form (<see cref="EmbeddingTable.Save(Stream)"/>, also inside saved models) and saved model zips.
    /// </summary>
    /// <remarks>
    /// <para>(a) Writing then reading is the identity (keys, order, and every float bit for bit) for arbitrary Unicode
    /// keys, short and long, and arbitrary finite values; a key that a format cannot hold is refused at write time with
    /// an <see cref="InvalidOperationException"/> and no file is left.</para>
    /// <para>(b) A damaged file (one byte changed, or cut short) never crashes the reader: the outcome is the table, or a
    /// clear exception: <see cref="FormatException"/> from our readers; from <c>mlContext.Model.Load</c>, after
    /// unwrapping ML.NET's <see cref="TargetInvocationException"/>, also <see cref="InvalidDataException"/> (the zip)
    /// and ML.NET's own <see cref="InvalidOperationException"/> and <see cref="FormatException"/>. Anything else
    /// (OutOfMemory, IndexOutOfRange, NullReference, Argument...) is a crash and fails the test.</para>
    /// <para>What "the table" may then be differs by format, because none of the three file formats has a checksum:</para>
    /// <list type="bullet">
    /// <item>word2vec text: one changed byte changes at most one key or one value (the byte's own: a digit of a number,
    /// a character of a key), and nothing else: the count, the dimension and all other keys and values are those
    /// written, or the reader fails. A cut file fails, except that a file cut inside its last number reads a shorter
    /// number (text has no end marker).</item>
    /// <item>word2vec binary: one changed byte changes at most one record, or the reader fails; usually only the byte's
    /// own key or value, but a key's space separator changed into a key byte, when the first byte of the vector happens
    /// to be a space (0x20) too, moves that record's vector by one byte (the newline after it absorbs the shift). A cut
    /// file always fails.</item>
    /// <item>native form: a cut stream always fails. A changed marker or version byte fails; a changed key or float
    /// byte changes at most that key or value. A changed byte of the count, the dimension or a key's length fails when
    /// it makes the table larger than the bytes that remain; when it makes it smaller the reader can go out of step
    /// and read other bytes as keys and values: the native form has no checksum, and the stream may go on after the
    /// table, so the property claims only "no crash" there. A checksum would need a new layout of every transformer
    /// state that holds a table (and new fixtures); it is not added.</item>
    /// <item>saved model zips: only "no crash" of our code. The zip has a CRC-32 per entry, but .NET 10's ZipArchive does
    /// not check it (.NET 11 will: dotnet/runtime#124766), so a byte changed inside the deflated data can decompress to
    /// other bytes that load; damage that lands in ML.NET's own model header is reported as ML.NET does (for a damaged
    /// loader assembly name, whatever Assembly.Load throws). A second test damages our loader's bytes inside the entry and zips them again, so that every
    /// damage reaches the transformers' readers.</item>
    /// </list>
    /// Iterations: <see cref="RoundTrips"/> round trips and <see cref="Corruptions"/> damaged files per file format,
    /// <see cref="ModelRoundTrips"/> and <see cref="ModelCorruptions"/> for saved models (slower: a save and a load of a
    /// zip each), with fixed seeds so that a failure reproduces.
    /// </remarks>
    [TestFixture]
    public class FileFormatPropertyTests
    {
        private const long RoundTrips = 400;
        private const long Corruptions = 3000;
        private const long ModelRoundTrips = 40;
        private const long ModelCorruptions = 400;
        private const string Seed = "0000UKvjBAMM"; // any CsCheck seed; fixed so that runs repeat

        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        public enum Format
        {
            Text,
            Binary,
            Native,
        }

        // ---- generators ----

        /// <summary>Pieces of keys: ASCII, accents, combining marks, CJK, astral characters (surrogate pairs), zero-width and format characters that are not white space.</summary>
        private static readonly string[] s_keyPieces =
        {
            "a", "Z", "9", "_", "-", ".", "/", "\\", "\"", "'", "#", "</s>", "é", "ß", "Ω", "ж", "東", "京", "ع", "🙂", "𝄞",
            "\u0301", "\u200B", "\u200D", "\uFEFF", "\uFFFD", "\uFFFF", "0", "1.5", "e",
        };

        /// <summary>A key the word2vec formats can hold: 1-12 pieces, and now and then a long one (300-3000 pieces).</summary>
        private static readonly Gen<string> s_key =
            Gen.Frequency(
                (20, Gen.Int[1, 12]),
                (1, Gen.Int[300, 3000]))
            .SelectMany(n => Gen.Int[0, s_keyPieces.Length - 1].Array[n])
            .Select(pieces => string.Concat(pieces.Select(p => s_keyPieces[p])));

        /// <summary>Any finite float32, by its bits (subnormals, -0, the extremes), or a usual value.</summary>
        private static readonly Gen<float> s_value =
            Gen.Frequency(
                (3, Gen.Int.Select(BitConverter.Int32BitsToSingle).Where(float.IsFinite)),
                (2, Gen.Float[-2f, 2f]),
                (1, Gen.OneOf(0f, -0f, 1f, float.Epsilon, -float.Epsilon, float.MaxValue, float.MinValue)));

        /// <summary>A table of 0-7 distinct keys of dimension 1-6.</summary>
        private static readonly Gen<EmbeddingTable> s_table =
            Gen.Select(Gen.Int[0, 7], Gen.Int[1, 6])
            .SelectMany((count, dimension) => Gen.Select(
                s_key.Array[count].Where(keys => keys.Distinct(StringComparer.Ordinal).Count() == keys.Length),
                s_value.Array[count * dimension],
                (keys, values) => new EmbeddingTable(keys, values, dimension)));

        /// <summary>A table of 1-7 keys, for damage (an empty table has little to damage).</summary>
        private static readonly Gen<EmbeddingTable> s_nonEmptyTable = s_table.Where(t => t.Count > 0);

        /// <summary>White space (ASCII and Unicode), control characters and lone surrogates: what word2vec keys cannot hold.</summary>
        private static readonly string[] s_badPieces = { " ", "\t", "\n", "\r", "\u00A0", "\u2003", "\u3000", "\u2028", "\u0085", "\u0000", "\u0007", "\u007F", "\uD800", "\uDC00" };

        /// <summary>A damage: (position as a fraction of the length, new byte or -1 to cut the file there).</summary>
        private static readonly Gen<(double Where, int Byte)> s_damage =
            Gen.Select(Gen.Double[0, 1], Gen.Frequency((9, Gen.Int[0, 255]), (1, Gen.Const(-1))));

        // ---- (a) round trips ----

        [TestCase(Format.Text)]
        [TestCase(Format.Binary)]
        [TestCase(Format.Native)]
        public void WritingThenReadingIsTheIdentity(Format format)
        {
            s_table.Sample(table =>
            {
                var read = Read(format, Write(format, table));
                AssertSameTable(table, read);
            }, seed: Seed, iter: RoundTrips, threads: 1, print: Describe);
        }

        [Test]
        public void DetectionReadsTextAsTextAlwaysAndBinaryAsBinaryFromEightValuesOn()
        {
            // Text files never look binary (Save writes UTF-8 without control characters). A binary file looks like text
            // only if its raw floats hold fewer than 4 bytes that are not text, which one or two values sometimes do (it
            // then fails as text: WritingThenReadingIsTheIdentity reads with the format given); 8 values practically never.
            s_table.Sample(table =>
            {
                string path = NewPath();
                table.SaveWord2VecFormat(path, binary: false);
                Assert.That(Word2VecFormat.Detect(path), Is.EqualTo(Word2VecFileFormat.Text));
                table.SaveWord2VecFormat(path, binary: true);
                if (table.Count * table.Dimension >= 8)
                    Assert.That(Word2VecFormat.Detect(path), Is.EqualTo(Word2VecFileFormat.Binary));
                File.Delete(path);
            }, seed: Seed, iter: RoundTrips, threads: 1, print: Describe);
        }

        [TestCase(Format.Text)]
        [TestCase(Format.Binary)]
        public void KeysTheWord2VecFormatCannotHoldAreRefusedAtWrite(Format format)
        {
            var gen = Gen.Select(s_nonEmptyTable, Gen.Int[0, s_badPieces.Length - 1], Gen.Int[0, 1000], Gen.Int[0, 1000]);
            gen.Sample((table, piece, row, at) =>
            {
                var keys = table.Keys.ToArray();
                row %= keys.Length;
                at %= keys[row].Length + 1;
                keys[row] = keys[row].Insert(at, s_badPieces[piece]);
                if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Length)
                    return;
                var bad = new EmbeddingTable(keys, Values(table), table.Dimension);
                string path = NewPath();
                var error = Assert.Throws<InvalidOperationException>(() => bad.SaveWord2VecFormat(path, format == Format.Binary))!;
                Assert.That(error.Message, Does.Contain($"(row {row})"));
                Assert.That(File.Exists(path), Is.False, "nothing is written");
            }, seed: Seed, iter: RoundTrips, threads: 1);
        }

        [Test]
        public void KeysWithALoneSurrogateAreRefusedByTheNativeForm()
        {
            var gen = Gen.Select(s_nonEmptyTable, Gen.OneOf("\uD800", "\uDBFF", "\uDC00", "\uDFFF"), Gen.Int[0, 1000], Gen.Int[0, 1000]);
            gen.Sample((table, surrogate, row, at) =>
            {
                var keys = table.Keys.ToArray();
                row %= keys.Length;
                at %= keys[row].Length + 1;
                // Inserted between the halves of a pair, the surrogate leaves two lone halves; either way the key is not Unicode text.
                keys[row] = keys[row].Insert(at, surrogate);
                if (keys.Distinct(StringComparer.Ordinal).Count() != keys.Length)
                    return;
                var bad = new EmbeddingTable(keys, Values(table), table.Dimension);
                var error = Assert.Throws<InvalidOperationException>(() => bad.Save(new MemoryStream()))!;
                Assert.That(error.Message, Does.Contain("lone surrogate"));
            }, seed: Seed, iter: RoundTrips, threads: 1);
        }

        [Test]
        public void SavedModelsRoundTripTheirTables()
        {
            s_table.Where(t => t.Count > 0).Sample(table =>
            {
                foreach (var model in Models(table))
                {
                    var loaded = LoadTables(SaveModel(model));
                    AssertSameTable(table, loaded[0]);
                }
            }, seed: Seed, iter: ModelRoundTrips, threads: 1, print: Describe);
        }

        // ---- (b) damage ----

        [TestCase(Format.Text)]
        [TestCase(Format.Binary)]
        [TestCase(Format.Native)]
        public void DamagedFilesGiveTheTableOneChangedKeyOrValueOrAClearError(Format format)
        {
            var outcomes = new Dictionary<string, int>();
            Gen.Select(s_nonEmptyTable, s_damage).Sample((table, damage) =>
            {
                byte[] bytes = Write(format, table);
                var (damaged, position, cut) = Damage(bytes, damage);
                if (damaged is null)
                    return;
                EmbeddingTable? read;
                try
                {
                    read = Read(format, damaged, detect: true);
                }
                catch (FormatException e)
                {
                    Assert.That(e.Message, Is.Not.Empty);
                    Count(outcomes, "FormatException");
                    return;
                }
                catch (Exception e)
                {
                    Assert.Fail($"Crash: {e.GetType().Name}: {e.Message}\n{Where(format, bytes, position, cut)}\n{e}");
                    return;
                }
                var (sameShape, keys, values) = Differences(table, read);
                string what = Where(format, bytes, position, cut);
                if (format == Format.Native && !cut && InNativeLengthField(bytes, position))
                {
                    // Count, dimension or a key's length made smaller: no checksum, so no claim beyond "no crash".
                    Count(outcomes, sameShape && keys + values == 0 ? "same (length field)" : "different (length field)");
                    return;
                }
                Assert.That(cut && format != Format.Text ? !sameShape || keys + values > 0 : false, Is.False, $"A cut {format} file must fail. {what}");
                Assert.That(sameShape, Is.True, $"Count or dimension changed silently. {what}");
                if (format == Format.Binary)
                    Assert.That(RowsThatDiffer(table, read), Is.LessThanOrEqualTo(1), $"{keys} keys and {values} values changed silently. {what}");
                else
                    Assert.That(keys + values, Is.LessThanOrEqualTo(1), $"{keys} keys and {values} values changed silently. {what}");
                if (cut)
                    Assert.That(keys, Is.Zero, $"A cut changed a key. {what}");
                Count(outcomes, keys + values == 0 ? "same" : keys + values > 1 ? "one record changed" : keys > 0 ? "one key changed" : "one value changed");
            }, seed: Seed, iter: Corruptions, threads: 1, print: Describe);
            TestContext.Out.WriteLine($"{format}: {string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}"))}");
        }

        [Test]
        public void DamagedModelZipsNeverCrashTheLoader()
        {
            // .NET 10's ZipArchive does not check an entry's CRC-32 (dotnet/runtime#124766 adds the check in .NET 11), so
            // a byte changed inside the deflated data can decompress to other bytes that load: only "no crash" holds.
            var outcomes = new Dictionary<string, int>();
            Gen.Select(s_nonEmptyTable, Gen.Bool, s_damage).Sample((table, skipGram, damage) =>
            {
                var model = Models(table)[skipGram ? 1 : 0];
                byte[] bytes = SaveModel(model);
                var (damaged, position, cut) = Damage(bytes, damage);
                if (damaged is null)
                    return;
                try
                {
                    var (sameShape, keys, values) = Differences(table, LoadTables(damaged)[0]);
                    Count(outcomes, sameShape && keys + values == 0 ? "same" : "different");
                }
                catch (Exception e)
                {
                    // Damage that decompresses into ML.NET's own header is ML.NET's to report, as it does: for a damaged
                    // loader assembly name, Assembly.Load's FileNotFoundException, FileLoadException or
                    // CultureNotFoundException. Our code must never be on the stack of an exception that is not clear.
                    var inner = Unwrap(e);
                    if (!IsClear(inner) && OurCodeThrew(inner))
                        Assert.Fail($"Crash: {inner.GetType().Name}: {inner.Message} ({(cut ? "cut" : "byte changed")} at {position} of {bytes.Length})\n{e}");
                    Count(outcomes, (IsClear(inner) ? "" : "ML.NET's ") + inner.GetType().Name);
                }
            }, seed: Seed, iter: ModelCorruptions, threads: 1, print: t => Describe(t.Item1));
            TestContext.Out.WriteLine(string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}")));
        }

        [Test]
        public void DamagedModelStatesNeverCrashTheLoader()
        {
            // The zip's CRC catches damage before our loaders see it (the test above); here the damaged state is zipped
            // again with a valid CRC, so that every byte reaches the transformers' readers (and EmbeddingTable.Load).
            // Column names and training statistics are not checked against anything, so only "no crash" is claimed.
            var outcomes = new Dictionary<string, int>();
            Gen.Select(s_nonEmptyTable, Gen.Bool, s_damage).Sample((table, skipGram, damage) =>
            {
                var model = Models(table)[skipGram ? 1 : 0];
                byte[] zip = SaveModel(model);
                var (entry, state, start, end) = ModelState(zip);
                // Only our loader's bytes (ML.NET's header and string table around them are ML.NET's to check).
                var (ours, position, cut) = Damage(state[start..end], damage);
                if (ours is null)
                    return;
                byte[] damaged = cut ? state[..(start + ours.Length)] : [.. state[..start], .. ours, .. state[end..]];
                position += start;
                try
                {
                    LoadTables(WithModelState(zip, entry, damaged));
                    Count(outcomes, "loaded");
                }
                catch (Exception e)
                {
                    // Our loader's own exceptions only: FormatException for damaged data, InvalidOperationException for a
                    // damaged loader id or state version (no transformer registers it).
                    var inner = Unwrap(e);
                    if (inner is not (FormatException or InvalidOperationException))
                        Assert.Fail($"Crash: {inner.GetType().Name}: {inner.Message} ({(cut ? "cut" : "byte changed")} at {position} of the {state.Length} bytes of {entry})\n{e}");
                    Count(outcomes, inner.GetType().Name);
                }
            }, seed: Seed, iter: ModelCorruptions, threads: 1, print: t => Describe(t.Item1));
            TestContext.Out.WriteLine(string.Join(", ", outcomes.OrderBy(o => o.Key).Select(o => $"{o.Key} {o.Value}")));
        }

        // ---- helpers ----

        private string NewPath() => Path.Combine(_folder, Guid.NewGuid().ToString("N"));

        private byte[] Write(Format format, EmbeddingTable table)
        {
            if (format == Format.Native)
            {
                using var stream = new MemoryStream();
                table.Save(stream);
                return stream.ToArray();
            }
            string path = NewPath();
            table.SaveWord2VecFormat(path, binary: format == Format.Binary);
            byte[] bytes = File.ReadAllBytes(path);
            File.Delete(path);
            return bytes;
        }

        /// <summary>Reads a table; word2vec files in the given format, or detecting it (<paramref name="detect"/>) as the CLI does.</summary>
        private EmbeddingTable Read(Format format, byte[] bytes, bool detect = false)
        {
            if (format == Format.Native)
                return EmbeddingTable.Load(new MemoryStream(bytes));
            string path = NewPath();
            File.WriteAllBytes(path, bytes);
            try
            {
                return detect
                    ? EmbeddingTable.LoadWord2VecFormat(path)
                    : EmbeddingTable.LoadWord2VecFormat(path, format == Format.Binary ? Word2VecFileFormat.Binary : Word2VecFileFormat.Text);
            }
            finally
            {
                File.Delete(path);
            }
        }

        private static (byte[]? Damaged, int Position, bool Cut) Damage(byte[] bytes, (double Where, int Byte) damage)
        {
            int position = Math.Min(bytes.Length - 1, (int)(damage.Where * bytes.Length));
            if (damage.Byte < 0)
                return (bytes.AsSpan(0, position).ToArray(), position, true);
            if (bytes[position] == damage.Byte)
                return (null, position, false);
            var damaged = (byte[])bytes.Clone();
            damaged[position] = (byte)damage.Byte;
            return (damaged, position, false);
        }

        /// <summary>True when <paramref name="position"/> is in the count, the dimension or a key's length prefix of a native table.</summary>
        private static bool InNativeLengthField(byte[] bytes, int position)
        {
            if (position < 8)
                return false; // marker and version
            if (position < 16)
                return true; // count and dimension
            using var reader = new BinaryReader(new MemoryStream(bytes));
            reader.BaseStream.Position = 8;
            int count = reader.ReadInt32();
            reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                long start = reader.BaseStream.Position;
                int length = reader.Read7BitEncodedInt();
                if (position >= start && position < reader.BaseStream.Position)
                    return true;
                reader.BaseStream.Position += length;
            }
            return false;
        }

        private static string Where(Format format, byte[] bytes, int position, bool cut)
        {
            int from = Math.Max(0, position - 12), to = Math.Min(bytes.Length, position + 12);
            string around = format == Format.Text
                ? Encoding.UTF8.GetString(bytes, from, to - from).Replace("\n", "\\n")
                : Convert.ToHexString(bytes, from, to - from);
            return $"{(cut ? "Cut" : "Byte changed")} at {position} of {bytes.Length} (around: {around}).";
        }

        private static float[] Values(EmbeddingTable table)
        {
            var values = new float[table.Count * table.Dimension];
            for (int i = 0; i < table.Count; i++)
                table.Row(i).CopyTo(values.AsSpan(i * table.Dimension));
            return values;
        }

        private static void AssertSameTable(EmbeddingTable expected, EmbeddingTable actual)
        {
            var (sameShape, keys, values) = Differences(expected, actual);
            Assert.That(sameShape && keys == 0 && values == 0, Is.True, $"{Describe(expected)} read back as {Describe(actual)}");
        }

        /// <summary>How many rows differ in their key or any value (bit for bit); the tables have the same shape.</summary>
        private static int RowsThatDiffer(EmbeddingTable expected, EmbeddingTable actual) =>
            Enumerable.Range(0, expected.Count).Count(i => !string.Equals(expected.Keys[i], actual.Keys[i], StringComparison.Ordinal)
                || !expected.Row(i).ToArray().Select(BitConverter.SingleToInt32Bits).SequenceEqual(actual.Row(i).ToArray().Select(BitConverter.SingleToInt32Bits)));

        /// <summary>Same count and dimension, and how many keys and values (bit for bit) differ.</summary>
        private static (bool SameShape, int Keys, int Values) Differences(EmbeddingTable expected, EmbeddingTable actual)
        {
            if (expected.Count != actual.Count || expected.Dimension != actual.Dimension)
                return (false, 0, 0);
            int keys = 0, values = 0;
            for (int i = 0; i < expected.Count; i++)
            {
                if (!string.Equals(expected.Keys[i], actual.Keys[i], StringComparison.Ordinal))
                    keys++;
                var a = expected.Row(i);
                var b = actual.Row(i);
                for (int j = 0; j < a.Length; j++)
                {
                    if (BitConverter.SingleToInt32Bits(a[j]) != BitConverter.SingleToInt32Bits(b[j]))
                        values++;
                }
            }
            return (true, keys, values);
        }

        private static string Describe(EmbeddingTable table) =>
            $"{table.Count} x {table.Dimension}: " + string.Join("; ", table.Keys.Select((k, i) =>
                $"{(k.Length > 40 ? k[..40] + $"...({k.Length} chars)" : k)} [{string.Join(" ", table.Row(i).ToArray().Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}]"));

        private static string Describe((EmbeddingTable Table, (double, int) Damage) input) => $"{Describe(input.Table)}; damage {input.Damage}";

        private static void Count(Dictionary<string, int> outcomes, string outcome) =>
            outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;

        /// <summary>
        /// The exceptions that count as a clear error from <c>mlContext.Model.Load</c>, after <see cref="Unwrap"/>: ours
        /// (<see cref="FormatException"/>), the zip's (<see cref="InvalidDataException"/>), and ML.NET's own for a damaged
        /// model header: <see cref="InvalidOperationException"/> and <see cref="FormatException"/>, and an
        /// <see cref="IOException"/> when the name of the loader's assembly is damaged (ML.NET then cannot load it).
        /// </summary>
        private static bool IsClear(Exception e) => e is FormatException or InvalidDataException or InvalidOperationException or IOException;

        /// <summary>True when a method of the library (not of the tests) is on the stack where <paramref name="e"/> was thrown.</summary>
        private static bool OurCodeThrew(Exception e) =>
            new System.Diagnostics.StackTrace(e).GetFrames().Any(f => f.GetMethod()?.DeclaringType?.Namespace is string ns
                && ns.StartsWith("Embeddings", StringComparison.Ordinal) && !ns.StartsWith("Embeddings.Tests", StringComparison.Ordinal));

        private static Exception Unwrap(Exception e)
        {
            while (e is TargetInvocationException or AggregateException && e.InnerException is not null)
                e = e.InnerException!;
            return e;
        }

        // ---- saved models ----

        private sealed class ItemRow
        {
            public string Item { get; set; } = "";
        }

        private static readonly MLContext s_ml = new(seed: 1);
        private static readonly IDataView s_items = s_ml.Data.LoadFromEnumerable(new[] { new ItemRow { Item = "x" } });

        /// <summary>A lookup model (ApplyEmbedding) and a skip-gram model holding <paramref name="table"/> (with itself as context vectors).</summary>
        private static ITransformer[] Models(EmbeddingTable table) => new ITransformer[]
        {
            s_ml.Embeddings().ApplyEmbedding("Vector", table, "Item").Fit(s_items),
            new SkipGramEmbeddingTransformer(table, table, new InputOutputColumnPair("Vector", "Item"), EmbeddingPooling.Mean,
                new SkipGramTrainingSummary(table.Count, 1, 0, table.Count, 1, 0.5, 100, TimeSpan.FromSeconds(1))),
        };

        private static byte[] SaveModel(ITransformer model)
        {
            using var stream = new MemoryStream();
            s_ml.Model.Save(model, s_items.Schema, stream);
            return stream.ToArray();
        }

        /// <summary>The tables of a saved lookup or skip-gram model (the skip-gram model's input and context vectors).</summary>
        private static EmbeddingTable[] LoadTables(byte[] zip)
        {
            var model = new MLContext(seed: 1).Model.Load(new MemoryStream(zip), out _);
            return model switch
            {
                EmbeddingLookupTransformer lookup => new[] { lookup.Table },
                SkipGramEmbeddingTransformer skipGram => new[] { skipGram.Embeddings, skipGram.ContextEmbeddings! },
                _ => throw new AssertionException($"Loaded a {model.GetType().Name}."),
            };
        }

        /// <summary>
        /// The name and bytes of the zip entry that holds our transformer, and where our loader's bytes are in it: ML.NET's
        /// model header starts with the signature and version (8 bytes each), then the offset and length of the model's
        /// own bytes (Int64 each).
        /// </summary>
        private static (string Entry, byte[] Bytes, int Start, int End) ModelState(byte[] zip)
        {
            using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
            // The state holds a table, which starts with the marker "EMBT".
            var entry = archive.Entries.Single(e => ReadAll(e).AsSpan().IndexOf("EMBT"u8) >= 0);
            byte[] bytes = ReadAll(entry);
            int start = (int)BitConverter.ToInt64(bytes, 16);
            int end = start + (int)BitConverter.ToInt64(bytes, 24);
            int marker = start + bytes.AsSpan(start).IndexOf("EMBT"u8); // (ML.NET's header holds the model signature "EMBTRANS")
            Assert.That(marker > start && marker < end, Is.True, $"ML.NET's header: the model's bytes are [{start}, {end}) of {bytes.Length}; the table is at {marker}.");
            return (entry.FullName, bytes, start, end);
        }

        private static byte[] ReadAll(ZipArchiveEntry entry)
        {
            using var stream = entry.Open();
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            return copy.ToArray();
        }

        /// <summary>The zip with <paramref name="entryName"/>'s bytes replaced (and its CRC computed anew).</summary>
        internal static byte[] WithModelState(byte[] zip, string entryName, byte[] state)
        {
            using var output = new MemoryStream();
            using (var source = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read))
            using (var target = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var entry in source.Entries)
                {
                    var copy = target.CreateEntry(entry.FullName);
                    using var stream = copy.Open();
                    stream.Write(entry.FullName == entryName ? state : ReadAll(entry));
                }
            }
            return output.ToArray();
        }
    }
}
