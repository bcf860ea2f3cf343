using System;
using System.Threading.Tasks;

namespace Embeddings.Recommendation
{
    /// <summary>
    /// One embedding model of the features (item2vec, or node2vec of the item transition graph): its catalog-aligned
    /// vectors and each training user's <see cref="LogitScale"/>. Immutable.
    /// </summary>
    internal sealed class ItemVectorModel
    {
        /// <summary>On a catalog of n items, every k-th item (k = max(1, n / StandardizationSample)) enters a user's logit mean and standard deviation.</summary>
        public const int StandardizationSample = 4096;

        private readonly LogitScale[] _userScales;

        /// <summary>Takes ownership of <paramref name="userScales"/> (one per training user).</summary>
        public ItemVectorModel(CatalogVectors vectors, LogitScale[] userScales)
        {
            Vectors = vectors ?? throw new ArgumentNullException(nameof(vectors));
            _userScales = userScales ?? throw new ArgumentNullException(nameof(userScales));
        }

        /// <summary>The catalog-aligned input and context vectors.</summary>
        public CatalogVectors Vectors { get; }

        /// <summary>The logit standardisation of <paramref name="user"/>.</summary>
        public LogitScale Scale(int user) => _userScales[user];

        /// <summary>
        /// Computes every user's <see cref="LogitScale"/>: the mean and standard deviation of the user's logits
        /// (<see cref="CatalogVectors.Logits"/> of the last <paramref name="historyLength"/> items) over the catalog items
        /// with vectors (every k-th item on large catalogs; see <see cref="StandardizationSample"/>).
        /// Users are independent, so the result does not depend on the number of threads.
        /// </summary>
        public static ItemVectorModel Create(CatalogVectors vectors, int[][] histories, int historyLength)
        {
            int items = vectors.ItemCount;
            int stride = Math.Max(1, items / StandardizationSample);
            var scales = new LogitScale[histories.Length];
            Parallel.For(0, histories.Length, () => (Scores: new float[items], UserVector: new float[vectors.Dimension]), (u, _, local) =>
            {
                vectors.Logits(histories[u], historyLength, local.Scores, local.UserVector);
                double sum = 0, squares = 0;
                int n = 0;
                for (int i = 0; i < items; i += stride)
                {
                    float s = local.Scores[i];
                    if (float.IsNegativeInfinity(s))
                        continue;
                    sum += s;
                    squares += (double)s * s;
                    n++;
                }
                double mean = n == 0 ? 0 : sum / n;
                double std = n < 2 ? 1 : Math.Sqrt(Math.Max(0, squares / n - mean * mean));
                scales[u] = new LogitScale((float)mean, std > 1e-6 ? (float)std : 1);
                return local;
            }, _ => { });
            return new ItemVectorModel(vectors, scales);
        }
    }
}
