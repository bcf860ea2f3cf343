using System;
using System.IO;
using Embeddings.Infrastructure;
using NUnit.Framework;

namespace Embeddings.Tests.Transforms.Infrastructure
{
    [TestFixture]
    public class BinaryStateTests
    {
        /// <summary>A stream that can't seek, as some model stores hand out.</summary>
        private sealed class ForwardOnlyStream : MemoryStream
        {
            public ForwardOnlyStream(byte[] bytes)
                : base(bytes)
            {
            }

            public override bool CanSeek => false;
        }

        private static byte[] Written(float[] values)
        {
            var stream = new MemoryStream();
            using (var writer = new BinaryWriter(stream))
                BinaryState.Write<float>(writer, values);
            return stream.ToArray();
        }

        [TestCase(false)]
        [TestCase(true)]
        public void ArraysRoundTripFromSeekableAndForwardOnlyStreams(bool forwardOnly)
        {
            var values = new float[] { 1.5f, -2, float.Epsilon, 3e30f };
            byte[] bytes = Written(values);
            using var reader = new BinaryReader(forwardOnly ? new ForwardOnlyStream(bytes) : new MemoryStream(bytes));
            Assert.That(BinaryState.ReadArray<float>(reader, values.Length, "values"), Is.EqualTo(values));
        }

        [TestCase(false)]
        [TestCase(true)]
        public void ATamperedLengthIsAFormatErrorNotAnAllocation(bool forwardOnly)
        {
            byte[] bytes = Written(new float[] { 1, 2, 3 });
            using var reader = new BinaryReader(forwardOnly ? new ForwardOnlyStream(bytes) : new MemoryStream(bytes));
            var error = Assert.Throws<FormatException>(() => BinaryState.ReadArray<float>(reader, 0x7FFFFFC7, "graph edges"))!;
            Assert.That(error.Message, Does.Contain("graph edges"));
            using var negative = new BinaryReader(new MemoryStream(bytes));
            Assert.That(Assert.Throws<FormatException>(() => BinaryState.ReadArray<float>(negative, -1, "counts"))!.Message, Does.Contain("-1 counts"));
            using var tooLong = new BinaryReader(new MemoryStream(bytes));
            Assert.Throws<FormatException>(() => BinaryState.ReadArray<float>(tooLong, (long)int.MaxValue * 4, "counts"));
        }
    }
}
