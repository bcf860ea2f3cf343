using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace Embeddings.Benchmarks
{
    /// <summary>How <see cref="MovieLensClickData.Split"/> orders the rows before cutting them 80 / 10 / 10.</summary>
    internal enum ClickSplit
    {
        /// <summary><c>numpy.random.RandomState(2026).permutation(n)</c>.</summary>
        Random,

        /// <summary>Stable sort by timestamp, ties by row index (<c>np.lexsort((np.arange(n), timestamps))</c>): later users are colder.</summary>
        Time,
    }

    /// <summary>
    /// MovieLens 100K as a click-through task (docs/evaluation.md section 5, prepared exactly as
    /// ../shared/tools/e2e_reference.py does): every rating is a row, the label is rating &gt;= 4, and the fields are user,
    /// item, age bucket, gender, occupation, zip3 (first three characters of the zip code), decade (first three digits of
    /// the release year, or "unk") and genres (multi-valued). Each field's keys are numbered in order of first appearance
    /// in u.data (the reference's vocabularies), over the whole file, so every split shares one key numbering.
    /// </summary>
    internal sealed class MovieLensClickData
    {
        /// <summary>The Boolean label column: rating &gt;= 4.</summary>
        public const string LabelColumnName = "Label";

        /// <summary>The multi-valued genre field: a variable-length vector of keys (19 genres, empty when the item has none).</summary>
        public const string GenresColumnName = "genres";

        /// <summary>The name of the optional dense feature column of <see cref="ToDataView"/>.</summary>
        public const string DenseColumnName = "Dense";

        /// <summary>The annotation kind that holds the texts of a key column's values (ML.NET's AnnotationUtils.Kinds.KeyValues).</summary>
        private const string KeyValuesAnnotation = "KeyValues";

        /// <summary>The single-valued fields, each a <c>Key&lt;UInt32&gt;</c> column, in the reference's order.</summary>
        public static readonly IReadOnlyList<string> ScalarFieldNames = ["user", "item", "age", "gender", "occupation", "zip3", "decade"];

        /// <summary>Every field: <see cref="ScalarFieldNames"/> then <see cref="GenresColumnName"/>.</summary>
        public static readonly IReadOnlyList<string> FieldNames = [.. ScalarFieldNames, GenresColumnName];

        /// <summary>The fields crossed with each genre of the item (the wide crosses of the reference).</summary>
        public static readonly IReadOnlyList<string> CrossedFieldNames = ["gender", "age", "occupation"];

        /// <summary>Age bucket names: &lt; 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+ (upper bounds 18, 25, 35, 45, 50, 56).</summary>
        private static readonly string[] s_ageBuckets = ["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"];
        private static readonly int[] s_ageUpperBounds = [18, 25, 35, 45, 50, 56];

        private readonly int[][] _fieldKeys;           // [scalar field][row]: 0-based index into the field's vocabulary
        private readonly string[][] _vocabularies;      // [scalar field]
        private readonly int[][] _genresByRow;          // 0-based genre indices of the row's item, ascending
        private readonly string[] _genreNames;

        private MovieLensClickData(int[] users, int[] items, int[] ratings, long[] timestamps, int[][] fieldKeys, string[][] vocabularies, int[][] genresByRow, string[] genreNames)
        {
            UserIds = users;
            ItemIds = items;
            Ratings = ratings;
            Timestamps = timestamps;
            _fieldKeys = fieldKeys;
            _vocabularies = vocabularies;
            _genresByRow = genresByRow;
            _genreNames = genreNames;
        }

        /// <summary>Rows (ratings) in u.data order.</summary>
        public int RowCount => UserIds.Length;

        /// <summary>The user id of each row.</summary>
        public int[] UserIds { get; }

        /// <summary>The item (movie) id of each row.</summary>
        public int[] ItemIds { get; }

        /// <summary>The rating (1 to 5) of each row.</summary>
        public int[] Ratings { get; }

        /// <summary>The Unix timestamp of each row.</summary>
        public long[] Timestamps { get; }

        /// <summary>The label of a row: rating &gt;= 4.</summary>
        public bool Label(int row) => Ratings[row] >= 4;

        /// <summary>The key value texts of a field (or of the genres), in key order (key k is text k - 1).</summary>
        public IReadOnlyList<string> Vocabulary(string field) =>
            field == GenresColumnName ? _genreNames : _vocabularies[ScalarIndex(field)];

        /// <summary>The 0-based key index of a single-valued field in a row.</summary>
        public int Key(string field, int row) => _fieldKeys[ScalarIndex(field)][row];

        /// <summary>The 0-based genre indices of the row's item.</summary>
        public IReadOnlyList<int> Genres(int row) => _genresByRow[row];

        /// <summary>The name of the key-vector column of <paramref name="field"/> crossed with each genre.</summary>
        public static string CrossColumnName(string field) => field + "_x_genres";

        /// <summary>
        /// Reads u.data, u.user, u.item and u.genre from <paramref name="directory"/> (u.item is Latin-1), or returns null
        /// and names the missing file in <paramref name="missing"/>.
        /// </summary>
        public static MovieLensClickData? TryLoad(string directory, out string? missing)
        {
            missing = new[] { "u.data", "u.user", "u.item", "u.genre" }.Select(f => Path.Combine(directory, f)).FirstOrDefault(p => !File.Exists(p));
            return missing is null ? Load(directory) : null;
        }

        /// <summary>Reads the four files of ml-100k from <paramref name="directory"/>.</summary>
        public static MovieLensClickData Load(string directory)
        {
            var latin1 = Encoding.Latin1;
            var usersById = new Dictionary<int, (int Age, string Gender, string Occupation, string Zip)>();
            foreach (string line in File.ReadLines(Path.Combine(directory, "u.user"), latin1))
            {
                if (line.Trim().Length == 0)
                    continue;
                var f = line.Trim().Split('|');
                usersById[ParseInt(f[0])] = (ParseInt(f[1]), f[2], f[3], f[4]);
            }
            var genreNames = new List<string>();
            foreach (string line in File.ReadLines(Path.Combine(directory, "u.genre"), latin1))
            {
                var f = line.Split('|');
                if (f.Length == 2 && f[0].Length > 0)
                    genreNames.Add(f[0]);
            }
            var itemsById = new Dictionary<int, (string Decade, int[] Genres)>();
            foreach (string line in File.ReadLines(Path.Combine(directory, "u.item"), latin1))
            {
                if (line.Length == 0)
                    continue;
                var f = line.Split('|');
                string date = f[2];
                string year = date.Length >= 4 ? date[^4..] : "";
                string decade = year.Length == 0 ? "unk" : year[..Math.Min(3, year.Length)];
                var genres = Enumerable.Range(0, 19).Where(g => f[5 + g] == "1").ToArray();
                itemsById[ParseInt(f[0])] = (decade, genres);
            }
            if (genreNames.Count != 19)
                throw new InvalidDataException($"u.genre lists {genreNames.Count} genres; ml-100k has 19.");

            var users = new List<int>();
            var items = new List<int>();
            var ratings = new List<int>();
            var timestamps = new List<long>();
            foreach (string line in File.ReadLines(Path.Combine(directory, "u.data")))
            {
                if (line.Trim().Length == 0)
                    continue;
                var f = line.Split('\t', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                users.Add(ParseInt(f[0]));
                items.Add(ParseInt(f[1]));
                ratings.Add(ParseInt(f[2]));
                timestamps.Add(long.Parse(f[3], NumberStyles.Integer, CultureInfo.InvariantCulture));
            }

            int n = users.Count;
            int fieldCount = ScalarFieldNames.Count;
            var vocabularies = Enumerable.Range(0, fieldCount).Select(_ => new Dictionary<string, int>(StringComparer.Ordinal)).ToArray();
            var fieldKeys = Enumerable.Range(0, fieldCount).Select(_ => new int[n]).ToArray();
            var genresByRow = new int[n][];
            for (int r = 0; r < n; r++)
            {
                var (age, gender, occupation, zip) = usersById[users[r]];
                var (decade, genres) = itemsById[items[r]];
                string[] values =
                [
                    users[r].ToString(CultureInfo.InvariantCulture),
                    items[r].ToString(CultureInfo.InvariantCulture),
                    AgeBucket(age),
                    gender,
                    occupation,
                    zip[..Math.Min(3, zip.Length)],
                    decade,
                ];
                for (int k = 0; k < fieldCount; k++)
                {
                    var vocabulary = vocabularies[k];
                    if (!vocabulary.TryGetValue(values[k], out int index))
                        vocabulary.Add(values[k], index = vocabulary.Count);
                    fieldKeys[k][r] = index;
                }
                genresByRow[r] = genres;
            }
            var orderedVocabularies = vocabularies.Select(v => v.OrderBy(p => p.Value).Select(p => p.Key).ToArray()).ToArray();
            return new MovieLensClickData(users.ToArray(), items.ToArray(), ratings.ToArray(), timestamps.ToArray(), fieldKeys, orderedVocabularies, genresByRow, genreNames.ToArray());
        }

        /// <summary>The age bucket of an age: &lt; 18, 18-24, 25-34, 35-44, 45-49, 50-55, 56+.</summary>
        public static string AgeBucket(int age)
        {
            int bucket = 0;
            while (bucket < s_ageUpperBounds.Length && age >= s_ageUpperBounds[bucket])
                bucket++;
            return s_ageBuckets[bucket];
        }

        /// <summary>The rows of train (first 80%), validation (next 10%) and test (last 10%) after ordering them by <paramref name="split"/>.</summary>
        public (int[] Train, int[] Validation, int[] Test) Split(ClickSplit split)
        {
            int n = RowCount;
            int[] order = split == ClickSplit.Random ? new NumpyRandomState(2026).Permutation(n) : TimeOrder();
            int trainEnd = (int)(0.8 * n);
            int validationEnd = (int)(0.9 * n);
            return (order[..trainEnd], order[trainEnd..validationEnd], order[validationEnd..]);
        }

        /// <summary>Rows by timestamp, ties by row index.</summary>
        public int[] TimeOrder()
        {
            var order = Enumerable.Range(0, RowCount).ToArray();
            Array.Sort(order, (a, b) => Timestamps[a] != Timestamps[b] ? Timestamps[a].CompareTo(Timestamps[b]) : a.CompareTo(b));
            return order;
        }

        /// <summary>
        /// Per-user item sequences of <paramref name="rows"/> (item ids as text), users in id order, each user's items by
        /// time, ties by item id: the reference's <c>np.lexsort((item, timestamp, user))</c> over the training rows.
        /// </summary>
        public List<string[]> UserSequences(IEnumerable<int> rows) =>
            rows.OrderBy(r => UserIds[r]).ThenBy(r => Timestamps[r]).ThenBy(r => ItemIds[r])
                .GroupBy(r => UserIds[r])
                .Select(g => g.Select(r => ItemIds[r].ToString(CultureInfo.InvariantCulture)).ToArray())
                .ToList();

        /// <summary>
        /// The rows as an <see cref="IDataView"/>: Label (Boolean), Rating (Single), Timestamp (Int64, Unix seconds), one
        /// <c>Key&lt;UInt32&gt;</c> column per single-valued field, genres (variable-length vector of keys), the crosses
        /// gender/age/occupation x genres (variable-length key vectors, key count field size x 19, for the ML.NET baselines)
        /// and, when <paramref name="dense"/> is given, a <see cref="DenseColumnName"/> column of <paramref name="denseLength"/>
        /// Singles per row. Key counts are the full vocabularies and key values carry their texts.
        /// </summary>
        public IDataView ToDataView(MLContext ml, IReadOnlyList<int> rows, Func<int, float[]>? dense = null, int denseLength = 0)
        {
            var definition = SchemaDefinition.Create(typeof(ClickRow));
            void Key(string member, string name, IReadOnlyList<string> values, bool vector)
            {
                var column = definition.First(c => c.MemberName == member);
                column.ColumnName = name;
                var key = new KeyDataViewType(typeof(uint), values.Count);
                column.ColumnType = vector ? new VectorDataViewType(key) : key;
                var texts = values.Select(v => v.AsMemory()).ToArray();
                column.AddAnnotation(KeyValuesAnnotation, new VBuffer<ReadOnlyMemory<char>>(texts.Length, texts),
                    new VectorDataViewType(TextDataViewType.Instance, texts.Length));
            }
            string[] scalarMembers = [nameof(ClickRow.User), nameof(ClickRow.Item), nameof(ClickRow.Age), nameof(ClickRow.Gender), nameof(ClickRow.Occupation), nameof(ClickRow.Zip3), nameof(ClickRow.Decade)];
            for (int k = 0; k < scalarMembers.Length; k++)
                Key(scalarMembers[k], ScalarFieldNames[k], _vocabularies[k], vector: false);
            Key(nameof(ClickRow.Genres), GenresColumnName, _genreNames, vector: true);
            string[] crossMembers = [nameof(ClickRow.GenderXGenres), nameof(ClickRow.AgeXGenres), nameof(ClickRow.OccupationXGenres)];
            for (int c = 0; c < crossMembers.Length; c++)
            {
                var fieldValues = _vocabularies[ScalarIndex(CrossedFieldNames[c])];
                var crossValues = fieldValues.SelectMany(v => _genreNames.Select(g => v + " x " + g)).ToArray();
                Key(crossMembers[c], CrossColumnName(CrossedFieldNames[c]), crossValues, vector: true);
            }
            if (dense is null)
                definition.RemoveAll(c => c.MemberName == nameof(ClickRow.Dense));
            else
                definition.First(c => c.MemberName == nameof(ClickRow.Dense)).ColumnType = new VectorDataViewType(NumberDataViewType.Single, denseLength);

            int genreCount = _genreNames.Length;
            int[] crossFields = CrossedFieldNames.Select(ScalarIndex).ToArray();
            uint[] Cross(int field, int row)
            {
                var genres = _genresByRow[row];
                var keys = new uint[genres.Length];
                for (int i = 0; i < genres.Length; i++)
                    keys[i] = (uint)(_fieldKeys[field][row] * genreCount + genres[i] + 1);
                return keys;
            }
            // LoadFromEnumerable reads a scalar key property as the 0-based key index (it stores index + 1, 0 being the
            // missing key) but a vector of keys as the key values themselves (1-based).
            ClickRow Row(int r) => new()
            {
                Label = Label(r),
                Rating = Ratings[r],
                Timestamp = Timestamps[r],
                User = (uint)_fieldKeys[0][r],
                Item = (uint)_fieldKeys[1][r],
                Age = (uint)_fieldKeys[2][r],
                Gender = (uint)_fieldKeys[3][r],
                Occupation = (uint)_fieldKeys[4][r],
                Zip3 = (uint)_fieldKeys[5][r],
                Decade = (uint)_fieldKeys[6][r],
                Genres = _genresByRow[r].Select(g => (uint)g + 1).ToArray(),
                GenderXGenres = Cross(crossFields[0], r),
                AgeXGenres = Cross(crossFields[1], r),
                OccupationXGenres = Cross(crossFields[2], r),
                Dense = dense?.Invoke(r) ?? [],
            };
            var snapshot = rows.ToArray();
            return ml.Data.LoadFromEnumerable(snapshot.Select(Row), definition);
        }

        private static int ScalarIndex(string field)
        {
            for (int k = 0; k < ScalarFieldNames.Count; k++)
            {
                if (ScalarFieldNames[k] == field)
                    return k;
            }
            throw new ArgumentOutOfRangeException(nameof(field), field, "not a field of the click data");
        }

        private static int ParseInt(string text) => int.Parse(text.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture);

        /// <summary>One row as <see cref="ToDataView"/> exposes it (column names and key types set by its schema definition).</summary>
        private sealed class ClickRow
        {
            public bool Label { get; set; }

            public float Rating { get; set; }

            public long Timestamp { get; set; }

            public uint User { get; set; }

            public uint Item { get; set; }

            public uint Age { get; set; }

            public uint Gender { get; set; }

            public uint Occupation { get; set; }

            public uint Zip3 { get; set; }

            public uint Decade { get; set; }

            public uint[] Genres { get; set; } = [];

            public uint[] GenderXGenres { get; set; } = [];

            public uint[] AgeXGenres { get; set; } = [];

            public uint[] OccupationXGenres { get; set; } = [];

            public float[] Dense { get; set; } = [];
        }
    }
}
