using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Embeddings.Infrastructure;

namespace Embeddings.EndToEnd
{
    /// <summary>The sizes of an end-to-end network, fixed by the architecture, the fields and the options.</summary>
    internal sealed class NetworkShape
    {
        public NetworkShape(EndToEndArchitecture architecture, int[] fieldRows, int dimension, int numericDimension, bool hasCrosses, int crossHashBits,
            int[] hiddenLayerSizes, int residualUnits, int residualHidden)
        {
            Architecture = architecture;
            FieldRows = fieldRows;
            Dimension = dimension;
            NumericDimension = numericDimension;
            HasWide = architecture is EndToEndArchitecture.Wide or EndToEndArchitecture.FactorizationMachine or EndToEndArchitecture.WideAndDeep;
            HasEmbeddings = architecture != EndToEndArchitecture.Wide;
            HasFactorization = architecture == EndToEndArchitecture.FactorizationMachine;
            HasResidual = architecture == EndToEndArchitecture.DeepCrossing;
            HasMlp = architecture is EndToEndArchitecture.WideAndDeep or EndToEndArchitecture.FactorizationMachineNeuralNetwork;
            CrossSize = HasWide && hasCrosses ? 1 << crossHashBits : 0;
            InputWidth = HasEmbeddings ? FieldCount * dimension + numericDimension : 0;
            var layers = new List<(int In, int Out)>();
            if (HasMlp)
            {
                int width = InputWidth;
                foreach (int size in hiddenLayerSizes)
                {
                    layers.Add((width, size));
                    width = size;
                }
                layers.Add((width, 1));
            }
            else if (HasResidual)
            {
                for (int u = 0; u < residualUnits; u++)
                {
                    layers.Add((InputWidth, residualHidden));
                    layers.Add((residualHidden, InputWidth));
                }
                layers.Add((InputWidth, 1));
            }
            DenseLayers = layers.ToArray();
            ResidualUnits = HasResidual ? residualUnits : 0;
        }

        public EndToEndArchitecture Architecture { get; }

        public int FieldCount => FieldRows.Length;

        /// <summary>Rows of each field's table (key count + 1).</summary>
        public int[] FieldRows { get; }

        public int Dimension { get; }

        public int NumericDimension { get; }

        public bool HasWide { get; }

        public bool HasEmbeddings { get; }

        public bool HasFactorization { get; }

        public bool HasMlp { get; }

        public bool HasResidual { get; }

        public int ResidualUnits { get; }

        public int CrossSize { get; }

        /// <summary>Width of the deep input: the concatenated field embeddings, then the numeric features.</summary>
        public int InputWidth { get; }

        /// <summary>The dense layers in order: the MLP's hidden layers then its output, or each residual unit's W₁ and W₂ then the output.</summary>
        public (int In, int Out)[] DenseLayers { get; }

        public int MaxLayerWidth => DenseLayers.Length == 0 ? 1 : DenseLayers.Max(l => Math.Max(l.In, l.Out));
    }

    /// <summary>
    /// The trainable state of an end-to-end network: field embedding tables, wide weights (per key, per cross slot, per
    /// numeric feature), the bias, and the dense layers (W [in × out] row-major, b [out]).
    /// </summary>
    internal sealed class NetworkParameters
    {
        public NetworkParameters(NetworkShape shape)
        {
            Shape = shape;
            Embeddings = shape.HasEmbeddings ? shape.FieldRows.Select(r => new float[(long)r * shape.Dimension]).ToArray() : [];
            FieldWeights = shape.HasWide ? shape.FieldRows.Select(r => new float[r]).ToArray() : [];
            CrossWeights = new float[shape.CrossSize];
            NumericWeights = new float[shape.HasWide ? shape.NumericDimension : 0];
            Bias = new float[1];
            Weights = shape.DenseLayers.Select(l => new float[(long)l.In * l.Out]).ToArray();
            Biases = shape.DenseLayers.Select(l => new float[l.Out]).ToArray();
        }

        public NetworkShape Shape { get; }

        public float[][] Embeddings { get; }

        public float[][] FieldWeights { get; }

        public float[] CrossWeights { get; }

        public float[] NumericWeights { get; }

        public float[] Bias { get; }

        public float[][] Weights { get; }

        public float[][] Biases { get; }

        /// <summary>Every array, in a fixed order (persistence, copies).</summary>
        public IEnumerable<float[]> AllArrays() =>
            Embeddings.Concat(FieldWeights).Append(CrossWeights).Append(NumericWeights).Append(Bias).Concat(Weights).Concat(Biases);

        /// <summary>Copies every value of <paramref name="source"/> (same shape) into this instance.</summary>
        public void CopyFrom(NetworkParameters source)
        {
            foreach (var (target, from) in AllArrays().Zip(source.AllArrays()))
                from.AsSpan().CopyTo(target);
        }

        public NetworkParameters Clone()
        {
            var copy = new NetworkParameters(Shape);
            copy.CopyFrom(this);
            return copy;
        }

        /// <summary>
        /// The random start, each array from its own stream (seed, array index): embeddings N(0, σ²), dense layers
        /// U(−1/√in, 1/√in) as PyTorch's Linear, wide weights and the bias 0.
        /// </summary>
        public void Initialize(int seed, float standardDeviation)
        {
            int stream = 0;
            foreach (var table in Embeddings)
            {
                var random = new Random(StreamSeed(seed, stream++));
                for (long i = 0; i < table.LongLength; i++)
                    table[i] = standardDeviation * Gaussian(random);
            }
            for (int l = 0; l < Weights.Length; l++)
            {
                var random = new Random(StreamSeed(seed, 1000 + l));
                float bound = 1f / MathF.Sqrt(Shape.DenseLayers[l].In);
                foreach (var array in new[] { Weights[l], Biases[l] })
                {
                    for (int i = 0; i < array.Length; i++)
                        array[i] = (float)(random.NextDouble() * 2 - 1) * bound;
                }
            }
        }

        internal static int StreamSeed(int seed, int stream)
        {
            uint h = (uint)seed * 0x9E3779B1u ^ (uint)stream * 0x85EBCA77u;
            h ^= h >> 15;
            h *= 0x2C1B3C6Du;
            h ^= h >> 12;
            return (int)(h & 0x7FFFFFFF);
        }

        private static float Gaussian(Random random)
        {
            double u1 = 1.0 - random.NextDouble();
            double u2 = random.NextDouble();
            return (float)(Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
        }

        public void Write(BinaryWriter writer)
        {
            foreach (var array in AllArrays())
            {
                writer.Write(array.LongLength);
                BinaryState.Write<float>(writer, array);
            }
        }

        /// <summary>Reads the arrays written by <see cref="Write"/> into a new instance of <paramref name="shape"/>; every length and value is checked.</summary>
        public static NetworkParameters Read(BinaryReader reader, NetworkShape shape)
        {
            var parameters = new NetworkParameters(shape);
            foreach (var array in parameters.AllArrays())
            {
                long length = reader.ReadInt64();
                if (length != array.LongLength)
                    throw new FormatException($"{nameof(EndToEndEmbeddingTransformer)}: a parameter array holds {length} values where the network needs {array.LongLength}; the model is damaged.");
                BinaryState.ReadInto<float>(reader, array, "network parameters");
                foreach (float value in array)
                {
                    if (!float.IsFinite(value))
                        throw new FormatException($"{nameof(EndToEndEmbeddingTransformer)}: a network parameter is {value}; the model is damaged.");
                }
            }
            return parameters;
        }
    }
}
