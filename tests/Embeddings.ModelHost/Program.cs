// Usage: Embeddings.ModelHost MODEL.zip INPUT.tsv COLUMN OUTPUT.txt
// Loads MODEL.zip with a fresh MLContext in this process, reads INPUT.tsv (a header line, then tab-separated values of
// the model's scalar input columns, in schema order), and writes the float bits of COLUMN (a Single or a vector of
// Single) for every row, one row per line, as hexadecimal, so that the caller can compare bit for bit.
using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

if (args.Length != 4)
{
    Console.Error.WriteLine("usage: Embeddings.ModelHost MODEL.zip INPUT.tsv COLUMN OUTPUT.txt");
    return 2;
}

var ml = new MLContext(seed: 0);
ITransformer model = ml.Model.Load(args[0], out DataViewSchema inputSchema);
var columns = inputSchema
    .Where(c => !c.IsHidden)
    .Select((c, i) => new TextLoader.Column(c.Name, KindOf(c.Type), i))
    .ToArray();
var data = ml.Data.LoadFromTextFile(args[1], columns, separatorChar: '\t', hasHeader: true, allowQuoting: false);
var output = model.Transform(data);
var column = output.Schema[args[2]];
var text = new StringBuilder();
if (column.Type is VectorDataViewType)
{
    foreach (var vector in output.GetColumn<VBuffer<float>>(column))
        text.AppendLine(string.Join(" ", vector.DenseValues().Select(Bits)));
}
else
{
    foreach (float value in output.GetColumn<float>(column))
        text.AppendLine(Bits(value));
}
File.WriteAllText(args[3], text.ToString());
return 0;

static string Bits(float value) => BitConverter.SingleToInt32Bits(value).ToString("X8", CultureInfo.InvariantCulture);

static DataKind KindOf(DataViewType type) => type switch
{
    TextDataViewType => DataKind.String,
    NumberDataViewType n when n.RawType == typeof(float) => DataKind.Single,
    NumberDataViewType n when n.RawType == typeof(double) => DataKind.Double,
    NumberDataViewType n when n.RawType == typeof(int) => DataKind.Int32,
    BooleanDataViewType => DataKind.Boolean,
    _ => throw new NotSupportedException($"ModelHost reads only scalar text, number and boolean inputs; got {type}."),
};
