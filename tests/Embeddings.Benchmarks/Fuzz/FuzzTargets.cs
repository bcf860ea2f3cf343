using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection;
using System.Text;
using Embeddings.Cli;
using Embeddings.Cli.Commands;
using Embeddings.Cli.Data;
using Embeddings.Evaluation;
using Microsoft.ML;

namespace Embeddings.Benchmarks.Fuzz
{
    /// <summary>The fuzz targets: one per parser of files that users hand to the library or the CLI.</summary>
    internal static class FuzzTargets
    {
        private static readonly Type[] s_formatOnly = { typeof(FormatException) };
        private static string? s_inputPath;
        private static MLContext? s_mlContext;

        public static IReadOnlyList<FuzzTarget> All { get; } = new[]
        {
            new FuzzTarget("word2vec-text", "EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Text)", s_formatOnly,
                input => EmbeddingTable.LoadWord2VecFormat(WriteInput(input), Word2VecFileFormat.Text), () => Seed(SmallTable(), binary: false)),
            new FuzzTarget("word2vec-binary", "EmbeddingTable.LoadWord2VecFormat(path, Word2VecFileFormat.Binary)", s_formatOnly,
                input => EmbeddingTable.LoadWord2VecFormat(WriteInput(input), Word2VecFileFormat.Binary), () => Seed(SmallTable(), binary: true)),
            new FuzzTarget("word2vec-detect", "EmbeddingTable.LoadWord2VecFormat(path): format detection, then either reader", s_formatOnly,
                input => EmbeddingTable.LoadWord2VecFormat(WriteInput(input)), () => Seed(SmallTable(), binary: false).Concat(Seed(SmallTable(), binary: true)).ToList()),
            new FuzzTarget("native-table", "EmbeddingTable.Load(Stream): the library's own table format (inside saved models)", s_formatOnly,
                input => EmbeddingTable.Load(new MemoryStream(input, writable: false)), NativeSeeds),
            new FuzzTarget("model-zip", "mlContext.Model.Load(Stream) of a saved model with this library's transformers",
                new[] { typeof(FormatException), typeof(InvalidDataException), typeof(InvalidOperationException) },
                input => Context.Model.Load(new MemoryStream(input, writable: false), out _), ModelSeeds, foreignExceptionsExpected: true),
            new FuzzTarget("model-state", "mlContext.Model.Load of a model whose transformer entry (ML.NET's header, then the ApplyEmbedding state) is the input",
                new[] { typeof(FormatException), typeof(InvalidOperationException) },
                input => Context.Model.Load(ZipModel(input), out _), ModelStateSeeds, foreignExceptionsExpected: true),
            new FuzzTarget("interactions", "InteractionFile.Read (CLI item2vec, mf, recommend-eval, sweep): user item [rating] timestamp", s_formatOnly,
                input => InteractionFile.Read(WriteInput(input), TextWriter.Null).Interactions.Count(), InteractionSeeds),
            new FuzzTarget("mf-ratings", "the mf command's reader (MatrixFactorizationCommand.Read, explicit feedback: InteractionFile.Read and the rating check)", s_formatOnly,
                input => MatrixFactorizationRead(WriteInput(input)), InteractionSeeds),
            new FuzzTarget("edge-list", "EdgeListReader.Read, unweighted then weighted (CLI node2vec, deepwalk)", s_formatOnly,
                input => ReadEdges(WriteInput(input)), EdgeSeeds),
            new FuzzTarget("text-corpus", "TextCorpusReader.Read (CLI word2vec), sequences cut every 3 tokens", s_formatOnly,
                input => TextCorpusReader.Read(WriteInput(input), new CountingSequenceWriter(), maxSequenceLength: 3), CorpusSeeds),
            new FuzzTarget("node-labels", "NodeClassificationEvaluator.ReadLabels (CLI node-classification --labels)", s_formatOnly,
                input => NodeClassificationEvaluator.ReadLabels(WriteInput(input)), LabelSeeds),
            new FuzzTarget("node-splits", "NodeClassificationEvaluator.ReadSplits (CLI node-classification --splits)", s_formatOnly,
                input => NodeClassificationEvaluator.ReadSplits(WriteInput(input)), SplitSeeds),
        };

        private static MLContext Context => s_mlContext ??= new MLContext(seed: 0);

        /// <summary>The parsers that take a path read the input from one file per process, in memory (/dev/shm) when it exists.</summary>
        private static string WriteInput(byte[] input)
        {
            if (s_inputPath is null)
            {
                string directory = Environment.GetEnvironmentVariable("EMBEDDINGS_FUZZ_TMP")
                    ?? (Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath());
                s_inputPath = Path.Combine(directory, $"embeddings-fuzz-{Environment.ProcessId}.input");
            }
            File.WriteAllBytes(s_inputPath, input);
            return s_inputPath;
        }

        public static void DeleteInput()
        {
            if (s_inputPath is not null)
                File.Delete(s_inputPath);
        }

        private static readonly MethodInfo s_mfRead = typeof(MatrixFactorizationCommand).GetMethod("Read", BindingFlags.NonPublic | BindingFlags.Static,
                new[] { typeof(string), typeof(bool), typeof(TextWriter), typeof(string) })
            ?? throw new InvalidOperationException("MatrixFactorizationCommand.Read(path, needRatings, log, flag) is gone: update the mf-ratings fuzz target.");

        /// <summary>The mf command's reader with explicit feedback (ratings needed).</summary>
        private static void MatrixFactorizationRead(string path) =>
            s_mfRead.Invoke(null, BindingFlags.DoNotWrapExceptions, null, new object[] { path, true, TextWriter.Null, "--input" }, null);

        private static void ReadEdges(string path)
        {
            EdgeListReader.Read(path, weighted: false, new CountingEdgeWriter());
            EdgeListReader.Read(path, weighted: true, new CountingEdgeWriter());
        }

        private sealed class CountingEdgeWriter : IEdgeWriter
        {
            public long Edges { get; private set; }

            public void AddEdge(ReadOnlySpan<char> source, ReadOnlySpan<char> target, double weight) => Edges++;
        }

        private sealed class CountingSequenceWriter : ISequenceWriter
        {
            public long Items { get; private set; }

            public void Add(ReadOnlySpan<char> item) => Items++;

            public void EndSequence()
            {
            }
        }

        private static EmbeddingTable SmallTable() =>
            new(new[] { "a", "b", "héllo" }, new float[] { 0.5f, -1f, 0f, 2.25f, 1e-3f, -7f }, dimension: 2);

        private static IReadOnlyList<(string, byte[])> Seed(EmbeddingTable table, bool binary)
        {
            string path = Path.Combine(Path.GetTempPath(), $"embeddings-fuzz-seed-{Environment.ProcessId}.vec");
            try
            {
                table.SaveWord2VecFormat(path, binary);
                var one = new EmbeddingTable(new[] { "x" }, new float[] { 1f }, dimension: 1);
                byte[] main = File.ReadAllBytes(path);
                one.SaveWord2VecFormat(path, binary);
                string suffix = binary ? "bin" : "txt";
                return new[] { ($"small.{suffix}", main), ($"one.{suffix}", File.ReadAllBytes(path)) };
            }
            finally
            {
                File.Delete(path);
            }
        }

        private static IReadOnlyList<(string, byte[])> NativeSeeds()
        {
            var stream = new MemoryStream();
            SmallTable().Save(stream);
            var empty = new MemoryStream();
            new EmbeddingTable(new[] { "k" }, new float[] { 3f }, dimension: 1).Save(empty);
            return new[] { ("small.embt", stream.ToArray()), ("one.embt", empty.ToArray()) };
        }

        private sealed class ItemRow
        {
            public string Item { get; set; } = "";
        }

        private static IReadOnlyList<(string, byte[])> ModelSeeds()
        {
            var ml = Context;
            var data = ml.Data.LoadFromEnumerable(new[] { new ItemRow { Item = "a" }, new ItemRow { Item = "b" } });
            // Only a model with this library's transformers: afl-fuzz rejects a seed that runs no instrumented code.
            var lookup = ml.Embeddings().ApplyEmbedding("Vector", SmallTable(), "Item").Fit(data);
            var sum = ml.Embeddings().ApplyEmbedding("Vector", SmallTable(), "Item", EmbeddingPooling.Sum).Fit(data);
            return new[] { ("lookup.zip", SaveModel(ml, lookup, data)), ("lookup-sum.zip", SaveModel(ml, sum, data)) };
        }

        private const string TransformerEntry = "TransformerChain/Model.key";
        private static List<(string Name, byte[] Bytes)>? s_modelEntries;

        /// <summary>The entries of the saved ApplyEmbedding model (seed lookup.zip).</summary>
        private static List<(string Name, byte[] Bytes)> ModelEntries()
        {
            if (s_modelEntries is null)
            {
                using var zip = new ZipArchive(new MemoryStream(ModelSeeds()[0].Item2), ZipArchiveMode.Read);
                s_modelEntries = zip.Entries.Select(e =>
                {
                    using var content = e.Open();
                    var bytes = new MemoryStream();
                    content.CopyTo(bytes);
                    return (e.FullName, bytes.ToArray());
                }).ToList();
            }
            return s_modelEntries;
        }

        /// <summary>The seed model with <paramref name="transformer"/> in place of its transformer's entry, stored uncompressed.</summary>
        private static MemoryStream ZipModel(byte[] transformer)
        {
            var stream = new MemoryStream();
            using (var zip = new ZipArchive(stream, ZipArchiveMode.Create, leaveOpen: true))
            {
                foreach (var (name, bytes) in ModelEntries())
                {
                    using var entry = zip.CreateEntry(name, CompressionLevel.NoCompression).Open();
                    entry.Write(name == TransformerEntry ? transformer : bytes);
                }
            }
            stream.Position = 0;
            return stream;
        }

        private static IReadOnlyList<(string, byte[])> ModelStateSeeds() =>
            new[] { ("lookup-model.key", ModelEntries().First(e => e.Name == TransformerEntry).Bytes) };

        private static byte[] SaveModel(MLContext ml, ITransformer model, IDataView data)
        {
            var stream = new MemoryStream();
            ml.Model.Save(model, data.Schema, stream);
            return stream.ToArray();
        }

        private static IReadOnlyList<(string, byte[])> Text(params (string Name, string Content)[] files) =>
            files.Select(f => (f.Name, Encoding.UTF8.GetBytes(f.Content))).ToList();

        private static IReadOnlyList<(string, byte[])> InteractionSeeds() => Text(
            ("u.data", "196\t242\t3\t881250949\n186\t302\t3\t891717742\n196\t377\t1\t878887116\n"),
            ("ratings.csv", "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.0,964981247\n2,1,2.5,964982224\n"),
            ("events.tsv", "u1\ti1\t100\nu1\ti2\t101\nu2\ti1\t99\n"));

        private static IReadOnlyList<(string, byte[])> EdgeSeeds() => Text(
            ("edges.txt", "# a comment\n1 2\n2\t3\n3 1\n"),
            ("weighted.txt", "a b 0.5\nb c 2\nc a 1e-3\n"));

        private static IReadOnlyList<(string, byte[])> CorpusSeeds() => Text(
            ("corpus.txt", "the quick brown fox\njumps over the lazy dog\r\n\tend\n"),
            ("utf8.txt", "héllo wörld 日本 语\n\nlast line"));

        private static IReadOnlyList<(string, byte[])> LabelSeeds() => Text(
            ("labels.txt", "1\t0\n1\t2\n2\t1\n3\t0\n"));

        private static IReadOnlyList<(string, byte[])> SplitSeeds() => Text(
            ("splits.txt", "0\t1\t1\n0\t2\t0\n1\t1\t0\n1\t3\t1\n"));
    }
}
