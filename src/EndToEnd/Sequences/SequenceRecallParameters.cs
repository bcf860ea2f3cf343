using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;

namespace Embeddings.EndToEnd.Sequences
{
    /// <summary>
    /// The trainable state of a sequence recall model: input item embeddings [items × d], the encoder's dense layers
    /// (the MLP's W [in × out] and b [out], or the GRU's W_x [d × 3d], W_h [d × 3d] and b_x, b_h [3d], gate order r, z, n,
    /// or self-attention's positions and blocks, see <see cref="BlockLayer"/>),
    /// and the output layer: item embeddings W [items × d] and biases b [items] (score = u · W_i + b_i).
    /// </summary>
    internal sealed class SequenceRecallParameters
    {
        public SequenceRecallParameters(SequenceRecallArchitecture architecture, int itemCount, int dimension, int historyLength, int[] hiddenLayerSizes, int featureCount = 0,
            int attentionBlocks = 0, int attentionHeads = 0)
        {
            Architecture = architecture;
            bool attention = architecture == SequenceRecallArchitecture.SelfAttention;
            if (attention && (attentionBlocks < 1 || attentionHeads < 1 || dimension % attentionHeads != 0))
                throw new ArgumentOutOfRangeException(nameof(attentionHeads), $"{attentionBlocks} blocks of {attentionHeads} heads do not fit dimension {dimension}.");
            AttentionBlocks = attention ? attentionBlocks : 0;
            AttentionHeads = attention ? attentionHeads : 0;
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
            else if (architecture == SequenceRecallArchitecture.Gru)
            {
                layers.Add((dimension, 3 * dimension));
                layers.Add((dimension, 3 * dimension));
            }
            else
            {
                // Positions P [T × d] with an input bias [d]; per block LN₁ (γ as a 1 × d weight, β as its bias), the fused
                // query-key-value projection, the attention output projection, LN₂, the two feed-forward layers; the final LN.
                layers.Add((historyLength, dimension));
                for (int b = 0; b < attentionBlocks; b++)
                {
                    layers.Add((1, dimension));
                    layers.Add((dimension, 3 * dimension));
                    layers.Add((dimension, dimension));
                    layers.Add((1, dimension));
                    layers.Add((dimension, dimension));
                    layers.Add((dimension, dimension));
                }
                layers.Add((1, dimension));
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

        /// <summary>Transformer blocks (self-attention only; 0 otherwise).</summary>
        public int AttentionBlocks { get; }

        /// <summary>Attention heads (self-attention only; 0 otherwise).</summary>
        public int AttentionHeads { get; }

        /// <summary>Layers per transformer block: LN₁, QKV, output projection, LN₂, feed-forward 1 and 2.</summary>
        public const int LayersPerBlock = 6;

        /// <summary>The index of block <paramref name="block"/>'s LN₁ layer (self-attention); the block's other layers follow it.</summary>
        public static int BlockLayer(int block) => 1 + LayersPerBlock * block;

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
            var copy = new SequenceRecallParameters(Architecture, ItemCount, Dimension, HistoryLength, HiddenLayerSizes, FeatureCount, AttentionBlocks, AttentionHeads);
            copy.CopyFrom(this);
            return copy;
        }

        /// <summary>
        /// PyTorch's starts, each array from its own stream (seed, array): input embeddings N(0, 1) (nn.Embedding), dense
        /// layers and the output layer U(−1/√fan-in, 1/√fan-in) (nn.Linear), GRU weights and biases U(−1/√d, 1/√d) (nn.GRU);
        /// self-attention's layer norms γ = 1, β = 0 and positions U(−1/√d, 1/√d).
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
                if (Architecture == SequenceRecallArchitecture.SelfAttention)
                {
                    // Layer norms start at γ = 1, β = 0; positions U(−1/√d, 1/√d) (small beside the N(0, 1) items, as
                    // SASRec's scaled item embeddings), their input bias 0; the linear layers as nn.Linear.
                    if (Layers[l].In == 1)
                    {
                        Array.Fill(Weights[l], 1f);
                        Array.Clear(Biases[l]);
                    }
                    else if (l == 0)
                    {
                        Uniform(random, Weights[l], outBound);
                        Array.Clear(Biases[l]);
                    }
                    else
                    {
                        float linear = 1f / MathF.Sqrt(Layers[l].In);
                        Uniform(random, Weights[l], linear);
                        Uniform(random, Biases[l], linear);
                    }
                    continue;
                }
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
            // Only the self-attention architecture (added later) writes its block and head counts: files of the other
            // architectures keep the layout they always had.
            if (Architecture == SequenceRecallArchitecture.SelfAttention)
            {
                writer.Write(AttentionBlocks);
                writer.Write(AttentionHeads);
            }
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
            int blocks = 0, heads = 0;
            if (architecture == SequenceRecallArchitecture.SelfAttention)
            {
                blocks = reader.ReadInt32();
                heads = reader.ReadInt32();
                if (hiddenCount != 0 || blocks is < 1 or > 16 || heads is < 1 or > 64 || dimension % heads != 0)
                    throw new FormatException($"{what}: invalid self-attention shape in the saved model ({blocks} blocks, {heads} heads, dimension {dimension}); the model is damaged.");
            }
            var parameters = new SequenceRecallParameters(architecture, items, dimension, history, hidden, features, blocks, heads);
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
