using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using Microsoft.ML;
using Microsoft.ML.Data;
using Parquet;
using Parquet.Schema;

namespace Embeddings
{
    /// <summary>
    /// Buffers one column of the row group being written and writes it: single values as a required column, vectors as a
    /// LIST of required elements (an empty vector is an empty list).
    /// </summary>
    internal abstract class ParquetColumnWriter
    {
        protected ParquetColumnWriter(Field field, DataField leaf)
        {
            Field = field;
            Leaf = leaf;
        }

        /// <summary>The column in the file's schema.</summary>
        public Field Field { get; }

        /// <summary>The leaf that holds the values.</summary>
        public DataField Leaf { get; }

        /// <summary>Bytes buffered so far (an estimate), to cut row groups by size.</summary>
        public abstract long BufferedBytes { get; }

        /// <summary>Reads <paramref name="column"/> of <paramref name="row"/> from now on.</summary>
        public abstract void Bind(DataViewRow row, DataViewSchema.Column column);

        /// <summary>Buffers the current row's value.</summary>
        public abstract void Append();

        /// <summary>Writes the buffered rows into <paramref name="group"/> and empties the buffer.</summary>
        public abstract void Flush(ParquetRowGroupWriter group);

        /// <summary>The ML.NET item types that can be written, for messages.</summary>
        public const string SupportedTypes = "Boolean, the integer types, Single, Double, Text and DateTime, and vectors of them";

        /// <summary>A writer of a column of <paramref name="type"/> named <paramref name="name"/>, or null when the type can't be written.</summary>
        public static ParquetColumnWriter? Create(string name, DataViewType type)
        {
            if (type is KeyDataViewType || type is VectorDataViewType { ItemType: KeyDataViewType })
                return null;
            bool vector = type is VectorDataViewType;
            var item = type is VectorDataViewType v ? v.ItemType : type;
            if (!IsWritable(item.RawType))
                return null;
            var generic = vector ? typeof(VectorWriter<>) : typeof(ScalarWriter<>);
            return (ParquetColumnWriter)Activator.CreateInstance(generic.MakeGenericType(item.RawType), name)!;
        }

        private static bool IsWritable(Type t) =>
            t == typeof(bool) || t == typeof(float) || t == typeof(double) || t == typeof(sbyte) || t == typeof(byte) || t == typeof(short) || t == typeof(ushort)
            || t == typeof(int) || t == typeof(uint) || t == typeof(long) || t == typeof(ulong) || t == typeof(ReadOnlyMemory<char>) || t == typeof(DateTime);

        /// <summary>A required leaf of <typeparamref name="T"/>: TIMESTAMP (microseconds, not adjusted to UTC) for DateTime, STRING for Text.</summary>
        protected static DataField NewLeaf<T>(string name)
        {
            if (typeof(T) == typeof(DateTime))
                return new DateTimeDataField(name, DateTimeFormat.Timestamp, isAdjustedToUTC: false, unit: DateTimeTimeUnit.Micros, isNullable: false);
            return new DataField(name, typeof(T) == typeof(ReadOnlyMemory<char>) ? typeof(string) : typeof(T), isNullable: false);
        }

        protected static void Grow<T>(ref T[] buffer, int needed)
        {
            if (buffer.Length < needed)
                Array.Resize(ref buffer, (int)Math.Min(Array.MaxLength, Math.Max(needed, Math.Max(1024, buffer.Length * 2L))));
        }

        protected static void Write<T>(ParquetRowGroupWriter group, DataField leaf, ReadOnlyMemory<T> values, ReadOnlyMemory<int>? definitions, ReadOnlyMemory<int>? repetitions)
            where T : struct
        {
            if (definitions is null && repetitions is null)
                group.WriteAsync(leaf, values).GetAwaiter().GetResult();
            else
                group.WriteAllPartsAsync(leaf, values, definitions, repetitions, default).GetAwaiter().GetResult();
        }
    }

    /// <summary>Text values copied out of the cursor's buffers (which the next row may overwrite) until the row group is written.</summary>
    internal sealed class TextArena
    {
        private const int ChunkLength = 1 << 20;
        private readonly List<char[]> _chunks = new() { new char[ChunkLength] };
        private int _offset;

        public ReadOnlyMemory<char> Copy(ReadOnlySpan<char> text)
        {
            if (text.IsEmpty)
                return ReadOnlyMemory<char>.Empty;
            var chunk = _chunks[^1];
            if (chunk.Length - _offset < text.Length)
            {
                chunk = new char[Math.Max(ChunkLength, text.Length)];
                _chunks.Add(chunk);
                _offset = 0;
            }
            text.CopyTo(chunk.AsSpan(_offset));
            var copy = new ReadOnlyMemory<char>(chunk, _offset, text.Length);
            _offset += text.Length;
            return copy;
        }

        /// <summary>Forgets every copy (after the row group that used them is written).</summary>
        public void Clear()
        {
            _chunks.RemoveRange(1, _chunks.Count - 1);
            if (_chunks[0].Length > ChunkLength)
                _chunks[0] = new char[ChunkLength];
            _offset = 0;
        }
    }

    internal sealed class ScalarWriter<T> : ParquetColumnWriter
        where T : struct
    {
        private readonly TextArena? _text = typeof(T) == typeof(ReadOnlyMemory<char>) ? new TextArena() : null;
        private ValueGetter<T>? _getter;
        private T[] _values = Array.Empty<T>();
        private int _count;
        private long _bytes;

        public ScalarWriter(string name)
            : this(NewLeaf<T>(name))
        {
        }

        private ScalarWriter(DataField leaf)
            : base(leaf, leaf)
        {
        }

        public override long BufferedBytes => _bytes;

        public override void Bind(DataViewRow row, DataViewSchema.Column column) => _getter = row.GetGetter<T>(column);

        public override void Append()
        {
            Grow(ref _values, _count + 1);
            _getter!(ref _values[_count]);
            if (_text is not null)
            {
                ref var text = ref Unsafe.As<T, ReadOnlyMemory<char>>(ref _values[_count]);
                text = _text.Copy(text.Span);
                _bytes += 2L * text.Length + 16;
            }
            else
            {
                _bytes += Unsafe.SizeOf<T>();
            }
            _count++;
        }

        public override void Flush(ParquetRowGroupWriter group)
        {
            Write<T>(group, Leaf, _values.AsMemory(0, _count), null, null);
            Array.Clear(_values, 0, _count);
            _count = 0;
            _bytes = 0;
            _text?.Clear();
        }
    }

    internal sealed class VectorWriter<T> : ParquetColumnWriter
        where T : struct
    {
        private readonly TextArena? _text = typeof(T) == typeof(ReadOnlyMemory<char>) ? new TextArena() : null;
        private ValueGetter<VBuffer<T>>? _getter;
        private VBuffer<T> _row;
        private T[] _dense = Array.Empty<T>();
        private T[] _values = Array.Empty<T>();
        private int[] _definitions = Array.Empty<int>();
        private int[] _repetitions = Array.Empty<int>();
        private int _valueCount;
        private int _entryCount;
        private long _bytes;

        public VectorWriter(string name)
            : this(NewLeaf<T>(ListField.ElementName), name)
        {
        }

        private VectorWriter(DataField element, string name)
            : base(new ListField(name, element), element)
        {
        }

        public override long BufferedBytes => _bytes;

        public override void Bind(DataViewRow row, DataViewSchema.Column column) => _getter = row.GetGetter<VBuffer<T>>(column);

        public override void Append()
        {
            _getter!(ref _row);
            ReadOnlySpan<T> values;
            if (_row.IsDense)
            {
                values = _row.GetValues();
            }
            else
            {
                Grow(ref _dense, _row.Length);
                _row.CopyTo(_dense);
                values = _dense.AsSpan(0, _row.Length);
            }
            // Levels of a LIST (optional group) of required elements: 2 = an element, 1 = an empty list.
            int entries = Math.Max(1, values.Length);
            Grow(ref _definitions, _entryCount + entries);
            Grow(ref _repetitions, _entryCount + entries);
            Grow(ref _values, _valueCount + values.Length);
            if (values.IsEmpty)
            {
                _definitions[_entryCount] = 1;
                _repetitions[_entryCount++] = 0;
                return;
            }
            for (int i = 0; i < values.Length; i++)
            {
                _definitions[_entryCount] = 2;
                _repetitions[_entryCount++] = i == 0 ? 0 : 1;
                if (_text is not null)
                {
                    var text = _text.Copy(Unsafe.As<T, ReadOnlyMemory<char>>(ref Unsafe.AsRef(in values[i])).Span);
                    _values[_valueCount++] = Unsafe.As<ReadOnlyMemory<char>, T>(ref text);
                    _bytes += 2L * text.Length + 16;
                }
                else
                {
                    _values[_valueCount++] = values[i];
                    _bytes += Unsafe.SizeOf<T>() + 8;
                }
            }
        }

        public override void Flush(ParquetRowGroupWriter group)
        {
            Write<T>(group, Leaf, _values.AsMemory(0, _valueCount), _definitions.AsMemory(0, _entryCount), _repetitions.AsMemory(0, _entryCount));
            Array.Clear(_values, 0, _valueCount);
            _valueCount = 0;
            _entryCount = 0;
            _bytes = 0;
            _text?.Clear();
        }
    }
}
