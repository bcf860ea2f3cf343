using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.SkipGram;
using Microsoft.ML;
using NUnit.Framework;

namespace Embeddings.Tests.Estimators
{
    /// <summary>
    /// The streamed skip-gram corpus: the tokenised file (format, shards, bad input) against the in-memory reference
    /// corpus, and training over it against training in memory.
    /// </summary>
    [TestFixture]
    public class StreamedCorpusTests
    {
        private string _folder = "";

        [SetUp]
        public void SetUp() => _folder = TestUtilities.NewTempFolder();

        [TearDown]
        public void TearDown() => Directory.Delete(_folder, recursive: true);

        /// <summary>
        /// Sequences of 0 to 40 words over 60 words and one word in ten rare (below MinCount, so some sequences drop
        /// below two known tokens and are skipped), and eight sequences far longer than the small shards and buffers.
        /// </summary>
        private static List<string[]> Corpus(int seed)
        {
            var random = new Random(seed);
            var sequences = new List<string[]>();
            for (int s = 0; s < 400; s++)
            {
                int length = s % 50 == 7 ? 900 : random.Next(0, 41);
                sequences.Add(Enumerable.Range(0, length).Select(_ => random.Next(10) == 0 ? "rare" + random.Next(1_000_000) : "w" + random.Next(60)).ToArray());
            }
            return sequences;
        }

        private static Vocabulary VocabularyOf(List<string[]> corpus)
        {
            var counter = new ItemCounter();
            Write(corpus, counter);
            // MinCount 2 keeps w0..w59 and drops (nearly all) the rare words.
            return counter.Select(minCount: 2, maxSize: null);
        }

        private static void Write(IEnumerable<string[]> corpus, ISequenceWriter writer)
        {
            foreach (var sequence in corpus)
            {
                foreach (string item in sequence)
                    writer.Add(item);
                writer.EndSequence();
            }
        }

        private TokenFileCorpus WriteFile(List<string[]> corpus, Vocabulary vocabulary, int shardTokens, int bufferBytes, out string path)
        {
            path = Path.Combine(_folder, $"corpus-{shardTokens}-{bufferBytes}.tokens");
            var stream = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite);
            using var writer = new TokenFileWriter(stream, path, vocabulary, vocabulary.TotalCount, shardTokens, bufferBytes);
            Write(corpus, writer);
            return writer.CompleteAndOpen();
        }

        private static List<List<int[]>> ReadAll(SkipGramCorpus corpus)
        {
            var items = new List<List<int[]>>();
            using var reader = corpus.CreateReader();
            // Read in reverse: a work item reads the same whatever was read before.
            for (int item = corpus.WorkItemCount - 1; item >= 0; item--)
            {
                reader.Open(item);
                var sequences = new List<int[]>();
                while (reader.Next(out var sequence))
                    sequences.Add(sequence.ToArray());
                items.Insert(0, sequences);
            }
            return items;
        }

        [Test]
        public void TheFileHoldsTheSequencesAndWorkItemsOfTheInMemoryCorpusWhateverTheShardAndBufferSizes(
            [Values(1, 3, 7, 64, SkipGramCorpus.TargetWorkItemTokens)] int shardTokens, [Values(1, 5, 4096)] int bufferBytes)
        {
            var corpus = Corpus(seed: 11);
            var vocabulary = VocabularyOf(corpus);
            var memoryWriter = new TokenCorpusWriter(vocabulary);
            Write(corpus, memoryWriter);
            var memory = memoryWriter.Build(shardTokens);
            using var file = WriteFile(corpus, vocabulary, shardTokens, bufferBytes, out _);

            Assert.That(file.TokenCount, Is.EqualTo(memory.TokenCount));
            Assert.That(file.SequenceCount, Is.EqualTo(memory.SequenceCount));
            Assert.That(file.MaxSequenceLength, Is.EqualTo(memory.MaxSequenceLength));
            Assert.That(file.WorkItemCount, Is.EqualTo(memory.WorkItemCount));
            for (int item = 0; item < file.WorkItemCount; item++)
                Assert.That(file.WorkItemTokenOffset(item), Is.EqualTo(memory.WorkItemTokenOffset(item)), $"offset of item {item}");
            Assert.That(ReadAll(file), Is.EqualTo(ReadAll(memory)));

            // What the corpus holds, independently of both writers: the known tokens of the sequences with two or more of them.
            var index = vocabulary.Index();
            var expected = corpus.Select(s => s.Where(index.ContainsKey).Select(w => index[w]).ToArray()).Where(s => s.Length >= 2).ToList();
            Assert.That(ReadAll(file).SelectMany(i => i), Is.EqualTo(expected));
            Assert.That(file.SequenceCount, Is.LessThan(corpus.Count), "some sequences are skipped");
            Assert.That(memoryWriter.SkippedSequences, Is.EqualTo(corpus.Count - expected.Count));
            // Work items close after the sequence that reaches the target, and only then.
            foreach (var item in ReadAll(file).SkipLast(1))
            {
                int tokens = item.Sum(s => s.Length);
                Assert.That(tokens, Is.GreaterThanOrEqualTo(shardTokens));
                Assert.That(tokens - item[^1].Length, Is.LessThan(shardTokens));
            }
        }

        /// <summary>Skip-gram and CBOW on one thread over the file and over memory, with tiny and default shards: the same pairs from the same streams, bit-identical tables.</summary>
        [Test]
        public void TrainingOnTheFileEqualsTrainingInMemory([Values(5, SkipGramCorpus.TargetWorkItemTokens)] int shardTokens, [Values] bool cbow)
        {
            var corpus = Corpus(seed: 5);
            var vocabulary = VocabularyOf(corpus);
            var memoryWriter = new TokenCorpusWriter(vocabulary);
            Write(corpus, memoryWriter);
            var memory = memoryWriter.Build(shardTokens);
            using var file = WriteFile(corpus, vocabulary, shardTokens, bufferBytes: 4096, out _);
            var settings = new SkipGramTrainingSettings
            {
                Dimension = 8,
                WindowSize = 3,
                WholeSequenceContext = false,
                Cbow = cbow,
                NegativeSampleCount = 3,
                HierarchicalSoftmax = false,
                NegativeSamplingExponent = 0.75,
                SamplingThreshold = 1e-2,
                Epochs = 2,
                LearningRate = 0.05f,
                NumberOfThreads = 1,
                Seed = 3,
            };
            var fromMemory = SkipGramTrainer.Train(vocabulary, memory, settings);
            var fromFile = SkipGramTrainer.Train(vocabulary, file, settings);
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(fromMemory.InputVectors.Build(vocabulary.Keys), fromFile.InputVectors.Build(vocabulary.Keys));
            SkipGramEmbeddingEstimatorTests.AssertBitIdentical(fromMemory.OutputVectors!.Build(vocabulary.Keys), fromFile.OutputVectors!.Build(vocabulary.Keys));
            Assert.That(fromFile.FinalLoss, Is.EqualTo(fromMemory.FinalLoss));
        }

        [Test]
        public void TheFileRoundTripsThroughItsPathWithTheDocumentedSize()
        {
            var corpus = Corpus(seed: 2);
            var vocabulary = VocabularyOf(corpus);
            List<List<int[]>> written;
            long sequences, tokens;
            int shards;
            using (var file = WriteFile(corpus, vocabulary, 100, 1 << 16, out string path))
            {
                written = ReadAll(file);
                (sequences, tokens, shards) = (file.SequenceCount, file.TokenCount, file.WorkItemCount);
            }
            string onDisk = Path.Combine(_folder, "corpus-100-65536.tokens");
            Assert.That(new FileInfo(onDisk).Length, Is.EqualTo(16 + 4 * (sequences + tokens) + 16L * shards + 48));
            using var reopened = TokenFileCorpus.Open(onDisk, vocabulary.Count);
            Assert.That(ReadAll(reopened), Is.EqualTo(written));
            Assert.That(reopened.TokenCount, Is.EqualTo(tokens));
            Assert.That(File.ReadAllBytes(onDisk).Take(8), Is.EqualTo("EMBCORPS"u8.ToArray()));
        }

        /// <summary>Bad files are refused when opened, or when the damaged shard is read, with a message naming the file and the problem.</summary>
        [TestCase("truncated", "truncated")]
        [TestCase("cut to 20 bytes", "truncated or not a tokenised corpus")]
        [TestCase("wrong magic", "not the magic \"EMBCORPS\"")]
        [TestCase("version 9", "format version 9")]
        [TestCase("other vocabulary", "written for a vocabulary of")]
        [TestCase("bad table", "shard table is inconsistent")]
        [TestCase("index out of range", "has the vocabulary index")]
        [TestCase("bad length", "sequence length of")]
        public void BadFilesAreRefusedNamingTheFileAndTheProblem(string damage, string expected)
        {
            var corpus = Corpus(seed: 4);
            var vocabulary = VocabularyOf(corpus);
            string path;
            using (WriteFile(corpus, vocabulary, 100, 1 << 16, out path))
            {
            }
            var bytes = File.ReadAllBytes(path);
            int vocabularySize = vocabulary.Count;
            switch (damage)
            {
                case "truncated":
                    bytes = bytes[..^1];
                    break;
                case "cut to 20 bytes":
                    bytes = bytes[..20];
                    break;
                case "wrong magic":
                    "EMBXORPS"u8.CopyTo(bytes);
                    break;
                case "version 9":
                    bytes[8] = 9;
                    break;
                case "other vocabulary":
                    vocabularySize++;
                    break;
                case "bad table":
                    // The second shard's byte offset points into the first shard.
                    long table = BitConverter.ToInt64(bytes, bytes.Length - 48);
                    BitConverter.GetBytes(20L).CopyTo(bytes, (int)table + 16);
                    break;
                case "index out of range":
                    // The first sequence's first token.
                    BitConverter.GetBytes(vocabulary.Count).CopyTo(bytes, 20);
                    break;
                case "bad length":
                    BitConverter.GetBytes(1).CopyTo(bytes, 16);
                    break;
            }
            File.WriteAllBytes(path, bytes);
            var error = Assert.Throws<FormatException>(() =>
            {
                using var file = TokenFileCorpus.Open(path, vocabularySize);
                ReadAll(file);
            })!;
            Assert.That(error.Message, Does.Contain(expected).And.Contain(path));
            Assert.Throws<FileNotFoundException>(() => TokenFileCorpus.Open(Path.Combine(_folder, "missing.tokens"), vocabularySize));
        }

        [Test]
        public void ASecondPassThatDiffersFromTheFirstIsReported([Values(1, -1)] int change)
        {
            var corpus = Corpus(seed: 8);
            int pass = 0;
            var estimator = new MLContext(1).Embeddings().SkipGram(new SkipGramEmbeddingEstimator.Options { OutputColumnName = "v", MinCount = 1, NumberOfThreads = 1, SamplingThreshold = 0 });
            var error = Assert.Throws<InvalidOperationException>(() => estimator.Fit(writer =>
            {
                pass++;
                // Sequence 7 has 900 items.
                Write(pass == 2 && change < 0 ? corpus.Where((_, i) => i != 7) : corpus, writer);
                if (pass == 2 && change > 0)
                    Write(corpus.Skip(7).Take(1), writer);
            }))!;
            Assert.That(error.Message, Does.Contain("changed between passes").And.Contain(change > 0 ? "more" : "fewer"));
        }

        [Test]
        public void TheTemporaryCorpusGoesToTheContextsTempFolderAndLeavesNothingBehind()
        {
            var ml = new MLContext(1) { TempFilePath = _folder };
            var options = new SkipGramEmbeddingEstimator.Options { OutputColumnName = "v", MinCount = 1, NumberOfThreads = 1, SamplingThreshold = 0, Epochs = 1 };
            var seen = new List<string>();
            int pass = 0;
            ml.Embeddings().SkipGram(options).Fit(writer =>
            {
                if (++pass == 2)
                {
                    // On Unix the file is unlinked as soon as it is created; elsewhere it is deleted when training ends.
                    seen.AddRange(Directory.GetFiles(_folder));
                }
                Write(Corpus(seed: 1), writer);
            });
            Assert.That(Directory.GetFiles(_folder), Is.Empty);
            if (!OperatingSystem.IsWindows())
                Assert.That(seen, Is.Empty);

            ml.TempFilePath = Path.Combine(_folder, "does-not-exist");
            var error = Assert.Throws<IOException>(() => ml.Embeddings().SkipGram(options).Fit(writer => Write(Corpus(seed: 1), writer)))!;
            Assert.That(error.Message, Does.Contain("does-not-exist").And.Contain("MLContext.TempFilePath"));
        }

        /// <summary>On a corpus above the exact limit the trained share is estimated from evenly spaced work items, close to the exact value.</summary>
        [Test]
        public void TheSampledTrainedShareIsCloseToTheExactOne()
        {
            var random = new Random(3);
            var words = Enumerable.Range(0, 2000).Select(i => "w" + i).ToArray();
            // Zipf-like: word i with weight 1 / (i + 1), so subsampling drops the frequent ones often.
            var cumulative = new double[words.Length];
            double sum = 0;
            for (int i = 0; i < words.Length; i++)
                cumulative[i] = sum += 1.0 / (i + 1);
            var corpus = Enumerable.Range(0, 4000).Select(_ => Enumerable.Range(0, random.Next(2, 60)).Select(_ => words[Draw()]).ToArray()).ToList();
            var counter = new ItemCounter();
            Write(corpus, counter);
            var vocabulary = counter.Select(1, null);
            var writer = new TokenCorpusWriter(vocabulary);
            Write(corpus, writer);
            var memory = writer.Build(200);
            double exact = SkipGramTraining.TrainedShare(vocabulary, memory, 1e-3);
            double sampled = SkipGramTraining.TrainedShare(vocabulary, memory, 1e-3, exactTokens: memory.TokenCount / 10);
            Assert.That(exact, Is.InRange(0.05, 0.95), "subsampling matters on this corpus");
            Assert.That(sampled, Is.EqualTo(exact).Within(0.02));

            int Draw()
            {
                int k = Array.BinarySearch(cumulative, random.NextDouble() * sum);
                return Math.Min(words.Length - 1, k < 0 ? ~k : k);
            }
        }
    }
}
