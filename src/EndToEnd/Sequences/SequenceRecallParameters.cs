using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// The trainable state of a sequence recall model: input item embeddings [items × d], the encoder's dense layers
    /// (the MLP's W [in × out] and b [out], or the GRU's W_x [d × 3d], W_h [d × 3d] and b_x, b_h [3d], gate order r, z, n),
    /// and the output layer: item embeddings W [items × d] and biases b [items] (score = u · W_i + b_i).
    /// </summary>
    internal sealed class SequenceRecallParameters
    {
        public SequenceRecallParameters(SequenceRecallArchitecture architecture, int itemCount, int dimension, int historyLength, int[] hiddenLayerSizes, int featureCount = 0)
        {
            Architecture = architecture;
            FeatureCount = architecture == SequenceRecallArchitecture.MeanPooling ? featureCount : 0;
            ItemCount = itemCount;
            Dimension = dimension;
            HistoryLength = historyLength;
            HiddenLayerSizes = architecture == SequenceRecallArchitecture.MeanPooling ? hiddenLayerSizes : [];
            var layers = new List<(int In, int Out)>();
            if (architecture == SequenceRecallArchitecture.MeanPooling)
            {
                int width = dimension + FeatureCount;
                foreach (int size in HiddenLayerSizes)
                {
                    layers.Add((width, size));
                    width = size;
                }
                layers.Add((width, dimension));
            }
            else
            {
                layers.Add((dimension, 3 * dimension));
                layers.Add((dimension, 3 * dimension));
            }
            Layers = layers.ToArray();
            Input = new float[(long)itemCount * dimension];
            Output = new float[(long)itemCount * dimension];
            OutputBias = new float[itemCount];
            Weights = Layers.Select(l => new float[(long)l.In * l.Out]).ToArray();
            Biases = Layers.Select(l => new float[l.Out]).ToArray();
        }

        public SequenceRecallArchitecture Architecture { get; }

        public int ItemCount { get; }

        public int Dimension { get; }

        public int HistoryLength { get; }

        public int[] HiddenLayerSizes { get; }

        /// <summary>User side features concatenated to the pooled history (mean pooling only; 0 for none).</summary>
        public int FeatureCount { get; }

        /// <summary>Width of the MLP's input: the pooled history, then the features.</summary>
        public int PooledWidth => Dimension + FeatureCount;

        /// <summary>The dense layers: the MLP's, in order, or the GRU's input and hidden projections.</summary>
        public (int In, int Out)[] Layers { get; }

        /// <summary>Input item embeddings, row-major [items × d].</summary>
        public float[] Input { get; }

        /// <summary>Output item embeddings, row-major [items × d].</summary>
        public float[] Output { get; }

        /// <summary>Output item biases [items].</summary>
        public float[] OutputBias { get; }

        public float[][] Weights { get; }

        public float[][] Biases { get; }

        public int MaxLayerWidth => Layers.Max(l => Math.Max(l.In, l.Out));

        public IEnumerable<float[]> AllArrays() => new[] { Input, Output, OutputBias }.Concat(Weights).Concat(Biases);

        public void CopyFrom(SequenceRecallParameters source)
        {
            foreach (var (target, from) in AllArrays().Zip(source.AllArrays()))
                from.AsSpan().CopyTo(target);
        }

        public SequenceRecallParameters Clone()
        {
            var copy = new SequenceRecallParameters(Architecture, ItemCount, Dimension, HistoryLength, HiddenLayerSizes, FeatureCount);
            copy.CopyFrom(this);
            return copy;
        }

        /// <summary>
        /// PyTorch's starts, each array from its own stream (seed, array): input embeddings N(0, 1) (nn.Embedding), dense
        /// layers and the output layer U(−1/√fan-in, 1/√fan-in) (nn.Linear), GRU weights and biases U(−1/√d, 1/√d) (nn.GRU).
        /// </summary>
        public void Initialize(int seed)
        {
            var random = new Random(NetworkParameters.StreamSeed(seed, 0));
            for (int i = 0; i < Input.Length; i++)
                Input[i] = Gaussian(random);
            float outBound = 1f / MathF.Sqrt(Dimension);
            random = new Random(NetworkParameters.StreamSeed(seed, 1));
            Uniform(random, Output, outBound);
            Uniform(random, OutputBias, outBound);
            for (int l = 0; l < Layers.Length; l++)
            {
                random = new Random(NetworkParameters.StreamSeed(seed, 100 + l));
                float bound = 1f / MathF.Sqrt(Architecture == SequenceRecallArchitecture.Gru ? Dimension : Layers[l].In);
                Uniform(random, Weights[l], bound);
                Uniform(random, Biases[l], bound);
            }
        }

        private static void Uniform(Random random, float[] values, float bound)
        {
            for (int i = 0; i < values.Length; i++)
                values[i] = (float)(random.NextDouble() * 2 - 1) * bound;
        }

        private static float Gaussian(Random random)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        public void Write(BinaryWriter writer)
        {
            writer.Write((int)Architecture);
            writer.Write(ItemCount);
            writer.Write(Dimension);
            writer.Write(HistoryLength);
            writer.Write(HiddenLayerSizes.Length);
            foreach (int size in HiddenLayerSizes)
                writer.Write(size);
            writer.Write(FeatureCount);
            foreach (var array in AllArrays())
            {
                writer.Write(array.LongLength);
                BinaryState.Write<float>(writer, array);
            }
        }

        public static SequenceRecallParameters Read(BinaryReader reader)
        {
            const string what = "SequenceRecallTransformer";
            var architecture = (SequenceRecallArchitecture)reader.ReadInt32();
            if (!Enum.IsDefined(architecture))
                throw new FormatException($"{what}: unknown architecture {(int)architecture} in the saved model.");
            int items = reader.ReadInt32();
            int dimension = reader.ReadInt32();
            int history = reader.ReadInt32();
            int hiddenCount = reader.ReadInt32();
            if (items < 1 || dimension is < 1 or > 4096 || history is < 1 or > 10_000 || hiddenCount is < 0 or > 64
                || (long)items * dimension > int.MaxValue)
                throw new FormatException($"{what}: invalid sizes in the saved model (items {items}, dimension {dimension}, history {history}, hidden layers {hiddenCount}); the model is damaged.");
            var hidden = new int[hiddenCount];
            for (int i = 0; i < hiddenCount; i++)
            {
                hidden[i] = reader.ReadInt32();
                if (hidden[i] is < 1 or > 1 << 16)
                    throw new FormatException($"{what}: invalid hidden layer size {hidden[i]} in the saved model; the model is damaged.");
            }
            int features = reader.ReadInt32();
            if (features is < 0 or > 1 << 16 || (features > 0 && architecture != SequenceRecallArchitecture.MeanPooling))
                throw new FormatException($"{what}: invalid user feature count {features} in the saved model; the model is damaged.");
            var parameters = new SequenceRecallParameters(architecture, items, dimension, history, hidden, features);
            foreach (var array in parameters.AllArrays())
            {
                long length = reader.ReadInt64();
                if (length != array.LongLength)
                    throw new FormatException($"{what}: a parameter array holds {length} values where the network needs {array.LongLength}; the model is damaged.");
                BinaryState.ReadInto<float>(reader, array, "network parameters");
                foreach (float value in array)
                {
                    if (!float.IsFinite(value))
                        throw new FormatException($"{what}: a network parameter is {value}; the model is damaged.");
                }
            }
            return parameters;
        }
    }
}
