using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;

namespace Embeddings.Cli.Data
{
    /// <summary>
    /// The side information of a MovieLens 100K folder (<c>u.user</c>, <c>u.item</c>, <c>u.genre</c>) as the views
    /// <see cref="Recommendation.RecommendationFeaturesEstimator.Options.UserSideInformation"/> and
    /// <see cref="Recommendation.RecommendationFeaturesEstimator.Options.ItemSideInformation"/> take: users by age bucket,
    /// gender and occupation (keys); items by genres (a vector of keys) and release year (a number, 0 when unknown; plus a
    /// "year known" flag).
    /// </summary>
    internal static class MovieLensSideInformation
    {
        private static readonly int[] s_ageBounds = [18, 25, 35, 45, 50, 56];
        private static readonly string[] s_ageBuckets = ["<18", "18-24", "25-34", "35-44", "45-49", "50-55", "56+"];

        public static (IDataView Users, IDataView Items) Read(MLContext ml, string folder, string userColumn, string itemColumn)
        {
            string users = Path.Combine(folder, "u.user"), items = Path.Combine(folder, "u.item"), genres = Path.Combine(folder, "u.genre");
            foreach (string file in new[] { users, items, genres })
            {
                if (!File.Exists(file))
                    throw new FileNotFoundException($"{file} does not exist; --movielens-info needs a MovieLens 100K folder with u.user, u.item and u.genre.", file);
            }
            var latin1 = Encoding.Latin1;
            var genreNames = File.ReadLines(genres, latin1).Where(l => l.Contains('|')).Select(l => l.Split('|')[0]).ToArray();
            var userRows = new List<UserRow>();
            int number = 0;
            foreach (string line in File.ReadLines(users, latin1))
            {
                number++;
                if (line.Length == 0)
                    continue;
                var f = line.Split('|');
                if (f.Length != 5 || !int.TryParse(f[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out int age))
                    throw new FormatException($"{users}: line {number}: expected 'user|age|gender|occupation|zip', got '{line}'.");
                int bucket = s_ageBounds.TakeWhile(bound => age >= bound).Count();
                userRows.Add(new UserRow { Id = f[0], Age = s_ageBuckets[bucket], Gender = f[2], Occupation = f[3] });
            }
            var itemRows = new List<ItemRow>();
            number = 0;
            foreach (string line in File.ReadLines(items, latin1))
            {
                number++;
                if (line.Length == 0)
                    continue;
                var f = line.Split('|');
                if (f.Length != 5 + genreNames.Length)
                    throw new FormatException($"{items}: line {number}: expected {5 + genreNames.Length} '|'-separated fields (id, title, release date, video date, URL, {genreNames.Length} genre flags), got {f.Length}.");
                string date = f[2];
                bool known = date.Length >= 4 && int.TryParse(date[^4..], NumberStyles.Integer, CultureInfo.InvariantCulture, out int year);
                itemRows.Add(new ItemRow
                {
                    Id = f[0],
                    Genres = genreNames.Where((_, g) => f[5 + g] == "1").ToArray(),
                    ReleaseYear = known ? int.Parse(date[^4..], CultureInfo.InvariantCulture) : 0,
                    ReleaseYearKnown = known,
                });
            }
            var userView = ml.Data.LoadFromEnumerable(userRows);
            userView = ml.Transforms.Conversion.MapValueToKey(nameof(UserRow.Age), keyOrdinality: Microsoft.ML.Transforms.ValueToKeyMappingEstimator.KeyOrdinality.ByValue)
                .Append(ml.Transforms.Conversion.MapValueToKey(nameof(UserRow.Gender)))
                .Append(ml.Transforms.Conversion.MapValueToKey(nameof(UserRow.Occupation)))
                .Append(ml.Transforms.CopyColumns(userColumn, nameof(UserRow.Id)))
                .Append(ml.Transforms.DropColumns(nameof(UserRow.Id)))
                .Fit(userView).Transform(userView);
            var itemView = ml.Data.LoadFromEnumerable(itemRows);
            itemView = ml.Transforms.Conversion.MapValueToKey(nameof(ItemRow.Genres))
                .Append(ml.Transforms.CopyColumns(itemColumn, nameof(ItemRow.Id)))
                .Append(ml.Transforms.DropColumns(nameof(ItemRow.Id)))
                .Fit(itemView).Transform(itemView);
            return (ml.Data.Cache(userView), ml.Data.Cache(itemView));
        }

        private sealed class UserRow
        {
            public string Id { get; set; } = "";

            public string Age { get; set; } = "";

            public string Gender { get; set; } = "";

            public string Occupation { get; set; } = "";
        }

        private sealed class ItemRow
        {
            public string Id { get; set; } = "";

            public string[] Genres { get; set; } = [];

            public float ReleaseYear { get; set; }

            public bool ReleaseYearKnown { get; set; }
        }
    }
}
