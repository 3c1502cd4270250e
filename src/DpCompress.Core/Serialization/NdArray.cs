using System.Buffers.Binary;

namespace DpCompress.Core.Serialization;

/// <summary>
/// A numpy array (or numpy scalar when <see cref="Shape"/> is empty) as stored in a pickle:
/// dtype descriptor, shape and the raw element bytes exactly as numpy wrote them.
/// </summary>
/// <remarks>
/// <see cref="DType"/> is numpy's <c>dtype.str</c>: byte order ('&lt;' little, '&gt;' big,
/// '|' not applicable) + kind + item size, e.g. "&lt;f8", "&lt;i8", "&lt;f4", "|b1", "|u1".
/// <see cref="Data"/> holds <see cref="ElementCount"/> · <see cref="ItemSize"/> bytes, in C
/// (row-major) order unless <see cref="FortranOrder"/> is set.
/// </remarks>
public sealed class NdArray
{
    public NdArray(string dtype, long[] shape, byte[] data, bool fortranOrder = false)
    {
        ArgumentNullException.ThrowIfNull(dtype);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(data);
        if (!TryParseDType(dtype, out char order, out char kind, out int size))
            throw new ArgumentException($"Unsupported numpy dtype '{dtype}'.", nameof(dtype));
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException("Array dimensions must be non-negative.", nameof(shape));
            count = checked(count * d);
        }
        if (checked(count * size) != data.LongLength)
            throw new ArgumentException($"Array data has {data.LongLength} bytes, expected {count}x{size}.", nameof(data));
        DType = dtype;
        ByteOrder = order;
        Kind = kind;
        ItemSize = size;
        Shape = shape;
        Data = data;
        FortranOrder = fortranOrder;
        ElementCount = count;
    }

    /// <summary>numpy dtype string, e.g. "&lt;f8".</summary>
    public string DType { get; }

    /// <summary>'&lt;', '&gt;' or '|'.</summary>
    public char ByteOrder { get; }

    /// <summary>numpy kind: 'f' float, 'i' signed int, 'u' unsigned int, 'b' bool.</summary>
    public char Kind { get; }

    /// <summary>Bytes per element.</summary>
    public int ItemSize { get; }

    /// <summary>Dimensions; empty for a numpy scalar.</summary>
    public long[] Shape { get; }

    /// <summary>Raw element bytes as numpy stored them.</summary>
    public byte[] Data { get; }

    /// <summary>True when <see cref="Data"/> is in Fortran (column-major) order.</summary>
    public bool FortranOrder { get; }

    public long ElementCount { get; }

    /// <summary>True for a numpy scalar (0-d value such as numpy.float64).</summary>
    public bool IsScalar => Shape.Length == 0;

    /// <summary>A little-endian float64 array in C order.</summary>
    /// <param name="values">[prod(shape)] row-major values</param>
    /// <param name="shape">dimensions; empty for a scalar</param>
    public static NdArray FromDoubles(double[] values, params long[] shape)
    {
        var data = Inference.Fast.HugePages.NewArray<byte>(checked(values.Length * 8L), zeroed: false);   // every byte is written below
        if (BitConverter.IsLittleEndian) System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).CopyTo(data);
        else for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), values[i]);
        return new NdArray("<f8", shape, data);
    }

    /// <summary>A little-endian int64 array in C order.</summary>
    public static NdArray FromLongs(long[] values, params long[] shape)
    {
        var data = new byte[checked(values.Length * 8)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteInt64LittleEndian(data.AsSpan(i * 8), values[i]);
        return new NdArray("<i8", shape, data);
    }

    /// <summary>All elements as float64 in C (row-major) order (float32/ints/bools widened).</summary>
    public double[] ToDoubleArray()
    {
        var result = Inference.Fast.HugePages.NewArray<double>(ElementCount, zeroed: false);   // every element is written below
        if (Kind == 'f' && ItemSize == 8 && (ByteOrder == '>') != BitConverter.IsLittleEndian && (!FortranOrder || Shape.Length < 2))
        {
            // Native float64 in C order: the bytes are the values.
            System.Runtime.InteropServices.MemoryMarshal.Cast<byte, double>(Data.AsSpan(0, checked((int)(ElementCount * 8)))).CopyTo(result);
            return result;
        }
        for (long i = 0; i < ElementCount; i++) result[i] = ElementAt(SourceIndex(i));
        return result;
    }

    /// <summary>All elements as int64 in C order; float elements must be integral.</summary>
    public long[] ToLongArray()
    {
        var result = new long[ElementCount];
        for (long i = 0; i < ElementCount; i++)
        {
            long src = SourceIndex(i);
            result[i] = Kind is 'i' or 'u' or 'b' ? IntegerAt(src) : (long)ElementAt(src);
        }
        return result;
    }

    /// <summary>The single value of a scalar or one-element array as float64.</summary>
    public double ToScalarDouble()
    {
        if (ElementCount != 1) throw new InvalidOperationException($"Array has {ElementCount} elements, not one.");
        return ElementAt(0);
    }

    public override string ToString() => $"ndarray {DType} [{string.Join(",", Shape)}]";

    /// <summary>Parses "&lt;f8"-style descriptors; accepts '=' and no byte-order prefix.</summary>
    internal static bool TryParseDType(string dtype, out char order, out char kind, out int size)
    {
        order = '|'; kind = '\0'; size = 0;
        if (string.IsNullOrEmpty(dtype)) return false;
        int p = 0;
        if (dtype[0] is '<' or '>' or '|' or '=') { order = dtype[0] == '=' ? (BitConverter.IsLittleEndian ? '<' : '>') : dtype[0]; p = 1; }
        if (p >= dtype.Length) return false;
        kind = dtype[p];
        if (!int.TryParse(dtype.AsSpan(p + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out size)) return false;
        bool ok = kind switch
        {
            'f' => size is 2 or 4 or 8,
            'i' or 'u' => size is 1 or 2 or 4 or 8,
            'b' => size == 1,
            _ => false,
        };
        if (ok && size == 1) order = '|';
        return ok;
    }

    /// <summary>Index into <see cref="Data"/> of the i-th element in C order.</summary>
    private long SourceIndex(long i)
    {
        if (!FortranOrder || Shape.Length < 2) return i;
        // C-order multi-index of i, then Fortran linear index.
        long rem = i, src = 0, mul = 1;
        var idx = new long[Shape.Length];
        for (int d = Shape.Length - 1; d >= 0; d--) { idx[d] = rem % Shape[d]; rem /= Shape[d]; }
        for (int d = 0; d < Shape.Length; d++) { src += idx[d] * mul; mul *= Shape[d]; }
        return src;
    }

    private double ElementAt(long index)
    {
        var span = Data.AsSpan(checked((int)(index * ItemSize)), ItemSize);
        bool big = ByteOrder == '>';
        return Kind switch
        {
            'f' => ItemSize switch
            {
                8 => big ? BinaryPrimitives.ReadDoubleBigEndian(span) : BinaryPrimitives.ReadDoubleLittleEndian(span),
                4 => big ? BinaryPrimitives.ReadSingleBigEndian(span) : BinaryPrimitives.ReadSingleLittleEndian(span),
                _ => (double)(big ? BinaryPrimitives.ReadHalfBigEndian(span) : BinaryPrimitives.ReadHalfLittleEndian(span)),
            },
            'u' when ItemSize == 8 => big ? BinaryPrimitives.ReadUInt64BigEndian(span) : BinaryPrimitives.ReadUInt64LittleEndian(span),
            _ => IntegerAt(index),
        };
    }

    private long IntegerAt(long index)
    {
        var span = Data.AsSpan(checked((int)(index * ItemSize)), ItemSize);
        bool big = ByteOrder == '>';
        return (Kind, ItemSize) switch
        {
            ('b', _) => span[0] != 0 ? 1 : 0,
            ('i', 1) => (sbyte)span[0],
            ('u', 1) => span[0],
            ('i', 2) => big ? BinaryPrimitives.ReadInt16BigEndian(span) : BinaryPrimitives.ReadInt16LittleEndian(span),
            ('u', 2) => big ? BinaryPrimitives.ReadUInt16BigEndian(span) : BinaryPrimitives.ReadUInt16LittleEndian(span),
            ('i', 4) => big ? BinaryPrimitives.ReadInt32BigEndian(span) : BinaryPrimitives.ReadInt32LittleEndian(span),
            ('u', 4) => big ? BinaryPrimitives.ReadUInt32BigEndian(span) : BinaryPrimitives.ReadUInt32LittleEndian(span),
            ('i', 8) => big ? BinaryPrimitives.ReadInt64BigEndian(span) : BinaryPrimitives.ReadInt64LittleEndian(span),
            ('u', 8) => (long)(big ? BinaryPrimitives.ReadUInt64BigEndian(span) : BinaryPrimitives.ReadUInt64LittleEndian(span)),
            _ => throw new InvalidOperationException($"dtype {DType} is not an integer type."),
        };
    }
}
