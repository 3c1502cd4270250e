using System.Buffers.Binary;

namespace DpCompress.Core.Serialization;

/// <summary>Element type of a torch storage, named after its legacy storage class (torch.DoubleStorage …).</summary>
public static class TorchStorageTypes
{
    private static readonly Dictionary<string, int> Sizes = new(StringComparer.Ordinal)
    {
        ["DoubleStorage"] = 8,
        ["FloatStorage"] = 4,
        ["HalfStorage"] = 2,
        ["BFloat16Storage"] = 2,
        ["LongStorage"] = 8,
        ["IntStorage"] = 4,
        ["ShortStorage"] = 2,
        ["CharStorage"] = 1,
        ["ByteStorage"] = 1,
        ["BoolStorage"] = 1,
        ["ComplexFloatStorage"] = 8,
        ["ComplexDoubleStorage"] = 16,
    };

    /// <summary>True when <paramref name="name"/> (e.g. "DoubleStorage") is a known storage class.</summary>
    public static bool IsKnown(string name) => Sizes.ContainsKey(name);

    /// <summary>Bytes per element of a storage class.</summary>
    public static int ElementSize(string name) =>
        Sizes.TryGetValue(name, out int s) ? s : throw new ArgumentException($"Unknown torch storage type '{name}'.", nameof(name));
}

/// <summary>
/// One storage record of a torch.save archive (<c>&lt;prefix&gt;/data/&lt;key&gt;</c>): raw
/// little-endian bytes of <see cref="ElementCount"/> elements, shared by every tensor that views it.
/// </summary>
public sealed class TorchStorage
{
    public TorchStorage(string storageType, string key, string device, long elementCount, byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        int size = TorchStorageTypes.ElementSize(storageType);
        if (elementCount < 0 || checked(elementCount * size) > data.LongLength)
            throw new ArgumentException($"Storage {key} has {data.LongLength} bytes, fewer than {elementCount}x{size}.", nameof(data));
        StorageType = storageType;
        Key = key;
        Device = device;
        ElementCount = elementCount;
        Data = data;
    }

    /// <summary>Storage class name without module, e.g. "DoubleStorage".</summary>
    public string StorageType { get; }

    /// <summary>Record name under <c>data/</c> in the archive it came from.</summary>
    public string Key { get; }

    /// <summary>Device location, e.g. "cpu" or "cuda:0".</summary>
    public string Device { get; }

    /// <summary>Number of elements (numel of the persistent id).</summary>
    public long ElementCount { get; }

    public int ElementSize => TorchStorageTypes.ElementSize(StorageType);

    /// <summary>Raw bytes (at least ElementCount · ElementSize).</summary>
    public byte[] Data { get; }
}

/// <summary>
/// A torch tensor (or nn.Parameter) rebuilt from <c>torch._utils._rebuild_tensor_v2</c>: the view
/// (<see cref="StorageOffset"/>, <see cref="Shape"/>, <see cref="Stride"/>, in elements) plus a
/// contiguous row-major copy of its elements in <see cref="Data"/>.
/// </summary>
public sealed class TorchTensor
{
    /// <summary>
    /// A view of <paramref name="storage"/>. A contiguous view of the whole storage (what torch.save
    /// writes for each parameter) shares the storage's bytes; any other view is copied contiguously.
    /// </summary>
    /// <exception cref="ArgumentException">the view reaches outside the storage, or its strides overlap</exception>
    public TorchTensor(TorchStorage storage, long storageOffset, long[] shape, long[] stride, bool requiresGrad, bool isParameter = false)
    {
        ArgumentNullException.ThrowIfNull(storage);
        ArgumentNullException.ThrowIfNull(shape);
        ArgumentNullException.ThrowIfNull(stride);
        if (shape.Length != stride.Length) throw new ArgumentException("Shape and stride must have the same rank.", nameof(stride));
        long count = CountOf(shape);
        long extent = RequiredElements(storageOffset, shape, stride);
        if (extent > storage.ElementCount)
            throw new ArgumentException($"Tensor view needs {extent} elements but storage {storage.Key} holds {storage.ElementCount}.", nameof(storage));
        string? overlap = OverlapProblem(shape, stride);
        if (overlap is not null) throw new ArgumentException($"Tensor view {overlap}.", nameof(stride));
        int size = storage.ElementSize;
        bool shared = SharesStorage(storage, storageOffset, shape, stride);
        var data = shared ? storage.Data : new byte[checked(count * size)];
        if (count > 0 && !shared)
        {
            var index = new long[shape.Length];
            for (long i = 0; i < count; i++)
            {
                long src = storageOffset;
                for (int d = 0; d < shape.Length; d++) src += index[d] * stride[d];
                Buffer.BlockCopy(storage.Data, checked((int)(src * size)), data, checked((int)(i * size)), size);
                for (int d = shape.Length - 1; d >= 0; d--)
                {
                    if (++index[d] < shape[d]) break;
                    index[d] = 0;
                }
            }
        }
        Storage = storage;
        StorageType = storage.StorageType;
        StorageKey = storage.Key;
        Device = storage.Device;
        StorageOffset = storageOffset;
        Shape = shape;
        Stride = stride;
        RequiresGrad = requiresGrad;
        IsParameter = isParameter;
        Data = data;
        ElementCount = count;
    }

    private TorchTensor(TorchTensor source, bool requiresGrad, bool isParameter)
    {
        Storage = source.Storage;
        StorageType = source.StorageType;
        StorageKey = source.StorageKey;
        Device = source.Device;
        StorageOffset = source.StorageOffset;
        Shape = source.Shape;
        Stride = source.Stride;
        Data = source.Data;
        ElementCount = source.ElementCount;
        RequiresGrad = requiresGrad;
        IsParameter = isParameter;
    }

    /// <summary>A new contiguous CPU float64 tensor (its own storage).</summary>
    /// <param name="values">[prod(shape)] row-major values</param>
    /// <param name="shape">dimensions; empty for a 0-d tensor</param>
    public static TorchTensor FromDoubles(double[] values, params long[] shape)
    {
        var data = new byte[checked(values.Length * 8)];
        for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteDoubleLittleEndian(data.AsSpan(i * 8), values[i]);
        var storage = new TorchStorage("DoubleStorage", "0", "cpu", values.Length, data);
        return new TorchTensor(storage, 0, shape, ContiguousStrides(shape), false);
    }

    /// <summary>The same tensor marked as nn.Parameter (torch._utils._rebuild_parameter).</summary>
    public TorchTensor AsParameter(bool requiresGrad) => new(this, requiresGrad, true);

    /// <summary>The storage this tensor views (written back as is, so shared storages stay shared).</summary>
    public TorchStorage Storage { get; }

    /// <summary>Storage class name, e.g. "DoubleStorage", "FloatStorage", "LongStorage".</summary>
    public string StorageType { get; }

    public string StorageKey { get; }

    /// <summary>Device location, e.g. "cpu".</summary>
    public string Device { get; }

    /// <summary>Offset of element 0 in the storage, in elements.</summary>
    public long StorageOffset { get; }

    public long[] Shape { get; }

    /// <summary>Strides in elements.</summary>
    public long[] Stride { get; }

    public bool RequiresGrad { get; }

    /// <summary>True for an nn.Parameter.</summary>
    public bool IsParameter { get; }

    /// <summary>Contiguous row-major copy of the elements (little-endian).</summary>
    public byte[] Data { get; }

    public long ElementCount { get; }

    public int ElementSize => TorchStorageTypes.ElementSize(StorageType);

    /// <summary>True for float32/float64/float16/bfloat16 storages.</summary>
    public bool IsFloatingPoint => StorageType is "DoubleStorage" or "FloatStorage" or "HalfStorage" or "BFloat16Storage";

    /// <summary>All elements as float64 in row-major order (float32, float16, bfloat16 and integers widened).</summary>
    /// <exception cref="NotSupportedException">complex tensors</exception>
    public double[] ToDoubleArray()
    {
        var result = new double[ElementCount];
        var span = Data.AsSpan();
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = StorageType switch
            {
                "DoubleStorage" => BinaryPrimitives.ReadDoubleLittleEndian(span[(i * 8)..]),
                "FloatStorage" => BinaryPrimitives.ReadSingleLittleEndian(span[(i * 4)..]),
                "HalfStorage" => (double)BinaryPrimitives.ReadHalfLittleEndian(span[(i * 2)..]),
                "BFloat16Storage" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span[(i * 2)..]) << 16),
                "LongStorage" => BinaryPrimitives.ReadInt64LittleEndian(span[(i * 8)..]),
                "IntStorage" => BinaryPrimitives.ReadInt32LittleEndian(span[(i * 4)..]),
                "ShortStorage" => BinaryPrimitives.ReadInt16LittleEndian(span[(i * 2)..]),
                "CharStorage" => (sbyte)span[i],
                "ByteStorage" => span[i],
                "BoolStorage" => span[i] != 0 ? 1 : 0,
                _ => throw new NotSupportedException($"Cannot convert a {StorageType} tensor to float64."),
            };
        }
        return result;
    }

    public override string ToString() => $"tensor {StorageType} [{string.Join(",", Shape)}]";

    /// <summary>Row-major strides of a contiguous tensor.</summary>
    public static long[] ContiguousStrides(long[] shape)
    {
        var stride = new long[shape.Length];
        long s = 1;
        for (int d = shape.Length - 1; d >= 0; d--) { stride[d] = s; s = checked(s * Math.Max(shape[d], 1)); }
        return stride;
    }

    internal static long CountOf(long[] shape)
    {
        long count = 1;
        foreach (long d in shape)
        {
            if (d < 0) throw new ArgumentException("Tensor dimensions must be non-negative.", nameof(shape));
            count = checked(count * d);
        }
        return count;
    }

    /// <summary>
    /// Why a view is not one torch.save of a model writes, or null when it is fine: every dimension of
    /// size &gt; 1 needs a positive stride, and sorted by stride, each stride must be at least the
    /// span of the smaller ones (stride_k ≥ stride_{k−1}·size_{k−1}), so no element is seen twice.
    /// Call after <see cref="RequiredElements"/> accepted the view (so the products cannot overflow).
    /// </summary>
    internal static string? OverlapProblem(long[] shape, long[] stride)
    {
        var dims = new List<(long Stride, long Size)>(shape.Length);
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] == 0) return null; // an empty tensor reads nothing
            if (shape[d] == 1) continue;
            if (stride[d] <= 0) return $"has stride {stride[d]} in dimension {d} of size {shape[d]}";
            dims.Add((stride[d], shape[d]));
        }
        dims.Sort((a, b) => a.Stride.CompareTo(b.Stride));
        for (int k = 1; k < dims.Count; k++)
            if (dims[k].Stride < dims[k - 1].Stride * dims[k - 1].Size)
                return $"has overlapping strides ({dims[k].Stride} < {dims[k - 1].Stride}·{dims[k - 1].Size})";
        return null;
    }

    /// <summary>True when the view is the whole storage in row-major order (its bytes can be shared, not copied).</summary>
    internal static bool SharesStorage(TorchStorage storage, long offset, long[] shape, long[] stride)
    {
        if (offset != 0) return false;
        long count = CountOf(shape);
        if (count * storage.ElementSize != storage.Data.LongLength) return false;
        long expected = 1;
        for (int d = shape.Length - 1; d >= 0; d--)
        {
            if (shape[d] != 1 && stride[d] != expected) return false;
            expected *= shape[d];
        }
        return true;
    }

    /// <summary>Elements of the storage a view needs: offset + Σ (shape_d − 1)·stride_d + 1 (0 for an empty tensor).</summary>
    internal static long RequiredElements(long offset, long[] shape, long[] stride)
    {
        if (offset < 0) throw new ArgumentException("Storage offset must be non-negative.", nameof(offset));
        long last = offset;
        for (int d = 0; d < shape.Length; d++)
        {
            if (shape[d] < 0 || stride[d] < 0) throw new ArgumentException("Shape and stride must be non-negative.", nameof(shape));
            if (shape[d] == 0) return 0;
            last = checked(last + (shape[d] - 1) * stride[d]);
        }
        return checked(last + 1);
    }
}
