using Embeddings.Benchmarks;
using NUnit.Framework;

namespace Embeddings.Tests.Benchmarks
{
    /// <summary>
    /// The benchmarks' copy of numpy's legacy RandomState (tests/Embeddings.Benchmarks/NumpyRandomState.cs, linked in):
    /// values pinned from numpy 1.x, <c>np.random.RandomState(s)</c>. The whole 100,000-row permutation of the end-to-end
    /// benchmark was compared with numpy's (end-to-end --write-split FILE); these pins keep it so without numpy.
    /// </summary>
    [TestFixture]
    public class NumpyRandomStateTests
    {
        [Test]
        public void RawOutputsAreMersenneTwisterSeededByInitGenrand()
        {
            // np.random.RandomState(5489).randint(0, 2**32, size=3, dtype=np.uint32); 3499211612 is MT19937's reference first output.
            var random = new NumpyRandomState(5489);
            Assert.That(new[] { random.NextUInt32(), random.NextUInt32(), random.NextUInt32() }, Is.EqualTo(new uint[] { 3499211612, 581869302, 3890346734 }));
        }

        [Test]
        public void PermutationMatchesNumpysLegacyShuffle()
        {
            // np.random.RandomState(0).permutation(10)
            Assert.That(new NumpyRandomState(0).Permutation(10), Is.EqualTo(new[] { 2, 8, 4, 9, 1, 6, 7, 3, 0, 5 }));

            // np.random.RandomState(2026).permutation(100000): the end-to-end benchmark's random split of ml-100k.
            var rows = new NumpyRandomState(2026).Permutation(100_000);
            Assert.That(rows[..8], Is.EqualTo(new[] { 80533, 95780, 7768, 86612, 74359, 4256, 63786, 25272 }), "first training rows");
            Assert.That(rows[80_000..80_003], Is.EqualTo(new[] { 52011, 74534, 92205 }), "first validation rows");
            Assert.That(rows[^4..], Is.EqualTo(new[] { 29624, 74522, 32134, 67841 }), "last test rows");
        }
    }
}
