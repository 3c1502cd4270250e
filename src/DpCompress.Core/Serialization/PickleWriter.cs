using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace DpCompress.Core.Serialization;

/// <summary>
/// Writes a Python object graph (PyObjects.cs types) as a pickle, protocol 2 — what PWMLFF
/// (torch.save) writes and what PyTorch ≥ 1.13 <c>torch.load</c> reads:
/// bytes as <c>_codecs.encode(latin-1 str, 'latin1')</c>; numpy arrays as
/// <c>numpy.core.multiarray._reconstruct</c> + BUILD; numpy scalars as
/// <c>numpy.core.multiarray.scalar(dtype, bytes)</c>; tensors as
/// <c>torch._utils._rebuild_tensor_v2</c> with persistent ids ('storage', torch.XStorage, key,
/// location, numel) whose bytes the caller stores as <c>&lt;prefix&gt;/data/&lt;key&gt;</c>;
/// parameters wrapped in <c>torch._utils._rebuild_parameter</c>; OrderedDict as
/// <c>collections.OrderedDict()</c> + SETITEMS (+ BUILD of its attributes, e.g. _metadata).
/// </summary>
public sealed class PickleWriter
{
    private readonly PickleBuffer _out = new();
    private readonly Dictionary<object, int> _memo = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, int> _stringMemo = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _globalMemo = new(StringComparer.Ordinal);
    private readonly Dictionary<TorchStorage, string> _storageKeys = new(ReferenceEqualityComparer.Instance);
    private readonly List<(string Key, TorchStorage Storage)> _storages = new();
    private int _nextMemo;

    /// <summary>Storages referenced by the written tensors, with the keys used in their persistent ids ("0", "1", …).</summary>
    public IReadOnlyList<(string Key, TorchStorage Storage)> Storages => _storages;

    /// <summary>Pickles <paramref name="root"/> and returns the pickle bytes.</summary>
    /// <exception cref="ArgumentException">the graph holds a type that has no pickle form here</exception>
    public byte[] Write(object? root) => WriteMemory(root).ToArray();

    /// <summary>Pickles <paramref name="root"/>; the bytes stay in this writer's buffer (valid until its next use).</summary>
    /// <exception cref="ArgumentException">the graph holds a type that has no pickle form here</exception>
    /// <exception cref="IOException">the pickle would exceed the largest array</exception>
    internal ReadOnlyMemory<byte> WriteMemory(object? root)
    {
        _out.Clear();
        _out.WriteByte(0x80); // PROTO 2
        _out.WriteByte(2);
        Save(root, 0);
        _out.WriteByte((byte)'.');
        return _out.Written;
    }

    private void Save(object? o, int depth)
    {
        if (depth > SafeUnpickler.MaxDepth) throw new ArgumentException($"The object graph is nested deeper than {SafeUnpickler.MaxDepth} levels.");
        switch (o)
        {
            case null: Op('N'); return;
            case bool b: _out.WriteByte(b ? (byte)0x88 : (byte)0x89); return;
            case long l: SaveInt(l); return;
            case int i: SaveInt(i); return;
            case BigInteger big: SaveBigInt(big); return;
            case double d: Op('G'); Span<byte> f = stackalloc byte[8]; BinaryPrimitives.WriteDoubleBigEndian(f, d); _out.Write(f); return;
            case string s: SaveString(s); return;
        }
        if (_memo.TryGetValue(o, out int memo)) { Get(memo); return; }
        switch (o)
        {
            case byte[] bytes: SaveBytes(bytes); Put(o); return;
            case PyTuple t: SaveTuple(t, depth); return;
            case List<object?> list: SaveList(list, depth); return;
            case PyDict dict: SaveDict(dict, depth); return;
            case NdArray a: SaveArray(a); Put(o); return;
            case TorchTensor t: SaveTensor(t); Put(o); return;
            default: throw new ArgumentException($"Cannot pickle a {o.GetType().FullName}.");
        }
    }

    private void SaveInt(long v)
    {
        if (v >= 0 && v <= 0xFF) { Op('K'); _out.WriteByte((byte)v); }
        else if (v >= 0 && v <= 0xFFFF) { Op('M'); Span<byte> b = stackalloc byte[2]; BinaryPrimitives.WriteUInt16LittleEndian(b, (ushort)v); _out.Write(b); }
        else if (v >= int.MinValue && v <= int.MaxValue) { Op('J'); Span<byte> b = stackalloc byte[4]; BinaryPrimitives.WriteInt32LittleEndian(b, (int)v); _out.Write(b); }
        else SaveBigInt(v);
    }

    private void SaveBigInt(BigInteger v)
    {
        if (v >= int.MinValue && v <= int.MaxValue) { SaveInt((long)v); return; }
        byte[] bytes = v.ToByteArray(isUnsigned: false, isBigEndian: false); // minimal two's complement
        if (bytes.Length < 256) { _out.WriteByte(0x8a); _out.WriteByte((byte)bytes.Length); } // LONG1
        else { _out.WriteByte(0x8b); WriteUInt32((uint)bytes.Length); } // LONG4
        _out.Write(bytes);
    }

    private void SaveString(string s)
    {
        if (_stringMemo.TryGetValue(s, out int m)) { Get(m); return; }
        byte[] utf8 = Encoding.UTF8.GetBytes(s);
        Op('X'); // BINUNICODE
        WriteUInt32(checked((uint)utf8.Length));
        _out.Write(utf8);
        _stringMemo[s] = PutNew();
    }

    /// <summary>Protocol 2 bytes: _codecs.encode('…latin-1 text…', 'latin1').</summary>
    private void SaveBytes(byte[] bytes)
    {
        Global("_codecs", "encode");
        // A fresh string (not memoized): the latin-1 text of the raw bytes, stored UTF-8 encoded, written byte by
        // byte (a 460 MB table went through a 920 MB string and an 850 MB copy before).
        long length = PickleBuffer.Latin1Utf8Length(bytes);
        Op('X');
        WriteUInt32(checked((uint)length));
        _out.WriteLatin1AsUtf8(bytes, length);
        SaveString("latin1");
        _out.WriteByte(0x86); // TUPLE2
        Op('R');
    }

    private void SaveTuple(PyTuple t, int depth)
    {
        if (t.Count == 0) { Op(')'); return; }
        if (t.Count > 3) Op('(');
        foreach (var item in t.Items) Save(item, depth + 1);
        // A tuple that contains itself (through a list/dict) is already memoized by now.
        if (_memo.TryGetValue(t, out int m))
        {
            // pop what we pushed and fetch the memoized copy (Python's recursive-tuple rule)
            if (t.Count > 3) Op('1');
            else for (int i = 0; i < t.Count; i++) Op('0');
            Get(m);
            return;
        }
        switch (t.Count)
        {
            case 1: _out.WriteByte(0x85); break;
            case 2: _out.WriteByte(0x86); break;
            case 3: _out.WriteByte(0x87); break;
            default: Op('t'); break;
        }
        Put(t);
    }

    private void SaveList(List<object?> list, int depth)
    {
        Op(']');
        Put(list);
        for (int start = 0; start < list.Count; start += 1000)
        {
            int n = Math.Min(1000, list.Count - start);
            if (n == 1) { Save(list[start], depth + 1); Op('a'); continue; }
            Op('(');
            for (int i = start; i < start + n; i++) Save(list[i], depth + 1);
            Op('e');
        }
    }

    private void SaveDict(PyDict dict, int depth)
    {
        if (dict.IsOrdered)
        {
            Global("collections", "OrderedDict");
            Op(')');
            Op('R');
        }
        else Op('}');
        Put(dict);
        var items = dict.Items;
        for (int start = 0; start < items.Count; start += 1000)
        {
            int n = Math.Min(1000, items.Count - start);
            if (n == 1) { Save(items[start].Key, depth + 1); Save(items[start].Value, depth + 1); Op('s'); continue; }
            Op('(');
            for (int i = start; i < start + n; i++) { Save(items[i].Key, depth + 1); Save(items[i].Value, depth + 1); }
            Op('u');
        }
        if (dict.Attributes is { Count: > 0 } attributes)
        {
            Save(attributes, depth + 1);
            Op('b'); // BUILD: obj.__dict__.update(attributes)
        }
    }

    private void SaveArray(NdArray a)
    {
        if (a.IsScalar)
        {
            // numpy.core.multiarray.scalar(dtype, raw bytes)
            Global("numpy.core.multiarray", "scalar");
            SaveDType(a);
            SaveBytes(a.Data);
            _out.WriteByte(0x86);
            Op('R');
            return;
        }
        // _reconstruct(ndarray, (0,), b'b') then BUILD (1, shape, dtype, is_fortran, raw bytes)
        Global("numpy.core.multiarray", "_reconstruct");
        Global("numpy", "ndarray");
        SaveInt(0);
        _out.WriteByte(0x85);
        SaveBytes("b"u8.ToArray());
        _out.WriteByte(0x87);
        Op('R');
        Op('(');
        SaveInt(1);
        SaveLongTuple(a.Shape);
        SaveDType(a);
        _out.WriteByte(a.FortranOrder ? (byte)0x88 : (byte)0x89);
        SaveBytes(a.Data);
        Op('t');
        Op('b');
    }

    /// <summary>numpy.dtype(kind+size, False, True) with state (3, byteorder, None, None, None, -1, -1, 0).</summary>
    private void SaveDType(NdArray a)
    {
        Global("numpy", "dtype");
        SaveString(a.Kind + a.ItemSize.ToString(CultureInfo.InvariantCulture));
        _out.WriteByte(0x89);
        _out.WriteByte(0x88);
        _out.WriteByte(0x87);
        Op('R');
        Op('(');
        SaveInt(3);
        SaveString(a.ByteOrder.ToString());
        Op('N'); Op('N'); Op('N');
        SaveInt(-1);
        SaveInt(-1);
        SaveInt(0);
        Op('t');
        Op('b');
    }

    private void SaveTensor(TorchTensor t)
    {
        if (t.IsParameter)
        {
            // _rebuild_parameter(tensor, requires_grad, OrderedDict())
            Global("torch._utils", "_rebuild_parameter");
            Op('(');
            SaveTensorData(t);
            _out.WriteByte(t.RequiresGrad ? (byte)0x88 : (byte)0x89);
            Global("collections", "OrderedDict");
            Op(')');
            Op('R');
            Op('t');
            Op('R');
            return;
        }
        SaveTensorData(t);
    }

    /// <summary>_rebuild_tensor_v2(persistent storage, offset, size, stride, requires_grad, OrderedDict()).</summary>
    private void SaveTensorData(TorchTensor t)
    {
        var storage = t.Storage;
        if (!_storageKeys.TryGetValue(storage, out string? key))
        {
            key = _storages.Count.ToString(CultureInfo.InvariantCulture);
            _storageKeys[storage] = key;
            _storages.Add((key, storage));
        }
        Global("torch._utils", "_rebuild_tensor_v2");
        Op('(');
        Op('(');
        SaveString("storage");
        Global("torch", storage.StorageType);
        SaveString(key);
        SaveString(storage.Device);
        SaveInt(storage.ElementCount);
        Op('t');
        Op('Q'); // BINPERSID
        SaveInt(t.StorageOffset);
        SaveLongTuple(t.Shape);
        SaveLongTuple(t.Stride);
        _out.WriteByte(t.RequiresGrad ? (byte)0x88 : (byte)0x89);
        Global("collections", "OrderedDict");
        Op(')');
        Op('R');
        Op('t');
        Op('R');
    }

    private void SaveLongTuple(long[] values)
    {
        if (values.Length == 0) { Op(')'); return; }
        if (values.Length > 3) Op('(');
        foreach (long v in values) SaveInt(v);
        switch (values.Length)
        {
            case 1: _out.WriteByte(0x85); break;
            case 2: _out.WriteByte(0x86); break;
            case 3: _out.WriteByte(0x87); break;
            default: Op('t'); break;
        }
    }

    private void Global(string module, string name)
    {
        string full = module + "\n" + name + "\n";
        if (_globalMemo.TryGetValue(full, out int m)) { Get(m); return; }
        Op('c');
        _out.Write(Encoding.ASCII.GetBytes(full));
        _globalMemo[full] = PutNew();
    }

    private void Op(char c) => _out.WriteByte((byte)c);

    private void Put(object o) => _memo[o] = PutNew();

    private int PutNew()
    {
        int index = _nextMemo++;
        if (index < 256) { Op('q'); _out.WriteByte((byte)index); }
        else { Op('r'); WriteUInt32((uint)index); }
        return index;
    }

    private void Get(int index)
    {
        if (index < 256) { Op('h'); _out.WriteByte((byte)index); }
        else { Op('j'); WriteUInt32((uint)index); }
    }

    private void WriteUInt32(uint v)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(b, v);
        _out.Write(b);
    }
}
