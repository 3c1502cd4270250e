using System.Buffers.Binary;
using System.Globalization;
using System.Numerics;
using System.Text;

namespace DpCompress.Core.Serialization;

/// <summary>
/// A pickle reader (protocols 0–5, the opcodes torch.save and numpy use) that never executes
/// anything from the file. Python globals are resolved only through a fixed allow-list
/// (<see cref="AllowedGlobals"/>); REDUCE/NEWOBJ/BUILD call our own C# reconstructions of those
/// few callables. Any other global is refused with <c>CheckpointForbiddenGlobal</c> as soon as
/// the GLOBAL/STACK_GLOBAL opcode is read.
/// </summary>
/// <remarks>
/// Errors (all <see cref="DpCompressException"/>, <see cref="ErrorKind.InvalidData"/>):
/// <c>CheckpointTruncated</c> (input ends early, or a declared length exceeds the remaining input),
/// <c>CheckpointCorrupt</c> (unknown opcode, stack/memo/mark misuse, wrong argument types),
/// <c>CheckpointForbiddenGlobal</c>, <c>CheckpointStorageTooShort</c> (a tensor view outside its storage),
/// <c>CheckpointTensorViewInvalid</c> (zero, negative or overlapping strides), and the limits of
/// <see cref="ReaderLimits"/> (LimitsExceeded): <c>CheckpointPickleStackTooDeep</c>,
/// <c>CheckpointPickleMemoTooLarge</c>, <c>CheckpointIntegerTooLong</c>, <c>CheckpointNestingTooDeep</c>, <c>CheckpointContainerTooLarge</c>,
/// <c>CheckpointMemoryBudgetExceeded</c>. Every step is linear in the input (the memo and dicts are
/// hashed; no big integer is ever converted to decimal text).
/// Result types: see PyObjects.cs.
/// </remarks>
public sealed class SafeUnpickler
{
    /// <summary>"module.name" of every global a checkpoint may reference.</summary>
    public static IReadOnlyCollection<string> AllowedGlobals => Allowed.Keys;

    private static readonly Dictionary<string, GlobalKind> Allowed = BuildAllowList();

    /// <summary>Deepest container nesting accepted (keeps every recursive walk of the result safe).</summary>
    public const int MaxDepth = 1000;

    private readonly byte[] _data;
    private readonly int _length;
    private readonly Func<object?, object?>? _persistentLoad;
    private readonly string? _path;
    private readonly ReadBudget _budget;
    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();
    private int _pos;

    /// <param name="data">the pickle bytes</param>
    /// <param name="persistentLoad">resolves BINPERSID ids (torch storages); null: persistent ids are refused</param>
    /// <param name="path">file named in error messages</param>
    public SafeUnpickler(byte[] data, Func<object?, object?>? persistentLoad = null, string? path = null)
        : this(data, data?.Length ?? 0, persistentLoad, path)
    {
    }

    /// <param name="data">buffer holding the pickle in its first <paramref name="length"/> bytes</param>
    /// <param name="length">number of pickle bytes in <paramref name="data"/></param>
    /// <param name="persistentLoad">resolves BINPERSID ids (torch storages); null: persistent ids are refused</param>
    /// <param name="path">file named in error messages</param>
    /// <param name="budget">what the read may allocate (default: 1 MiB + 4 × <paramref name="length"/>)</param>
    public SafeUnpickler(byte[] data, int length, Func<object?, object?>? persistentLoad = null, string? path = null, ReadBudget? budget = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        if ((uint)length > (uint)data.Length) throw new ArgumentOutOfRangeException(nameof(length));
        _data = data;
        _length = length;
        _persistentLoad = persistentLoad;
        _path = path;
        _budget = budget ?? ReadBudget.ForCheckpoint(length, 0, path);
    }

    /// <summary>Reads one pickle from <paramref name="data"/>.</summary>
    public static object? Load(byte[] data, Func<object?, object?>? persistentLoad = null, string? path = null) =>
        new SafeUnpickler(data, persistentLoad, path).Load();

    /// <summary>Runs the pickle program up to STOP and returns the object it built.</summary>
    public object? Load()
    {
        if (_length == 0) throw Truncated("the pickle is empty");
        while (true)
        {
            int at = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                {
                    int proto = ReadByte();
                    if (proto > 5) throw Corrupt($"unsupported pickle protocol {proto}", at);
                    break;
                }
                case 0x95: // FRAME (a length hint; data follows inline)
                {
                    long n = (long)ReadUInt64();
                    if (n > _length - _pos) throw Truncated($"a frame of {n} bytes at offset {at} exceeds the remaining input");
                    break;
                }
                case (byte)'.': // STOP
                {
                    if (_stack.Count == 0) throw Corrupt("STOP with an empty stack", at);
                    object? result = _stack[^1];
                    return Resolve(result);
                }
                // ---- constants
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                // ---- integers
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadSpan(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte(), at)); break; // LONG1
                case 0x8b: // LONG4
                {
                    int n = BinaryPrimitives.ReadInt32LittleEndian(ReadSpan(4));
                    if (n < 0) throw Corrupt("LONG4 with a negative length", at);
                    Push(ReadLong(n, at));
                    break;
                }
                case (byte)'I': Push(ParseIntLine(ReadLine(), at)); break; // INT
                case (byte)'L': Push(ParseIntLine(ReadLine().TrimEnd('L'), at)); break; // LONG
                // ---- floats
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadSpan(8))); break; // BINFLOAT
                case (byte)'F': // FLOAT
                {
                    string line = ReadLine();
                    if (!double.TryParse(line, NumberStyles.Float, CultureInfo.InvariantCulture, out double v)) throw Corrupt($"bad FLOAT literal '{Shorten(line)}'", at);
                    Push(v);
                    break;
                }
                // ---- strings and bytes
                case (byte)'X': Push(ReadText(ReadLength32(at), at)); break; // BINUNICODE
                case 0x8c: Push(ReadUtf8(ReadByte(), at)); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadText(ReadLength64(at), at)); break; // BINUNICODE8
                case (byte)'V': Push(DecodeRawUnicodeEscape(ReadLine())); break; // UNICODE
                case (byte)'T': Push(Latin1(ReadSpan(ReadLength32(at)))); break; // BINSTRING (Python 2 str: latin-1)
                case (byte)'U': Push(Latin1(ReadSpan(ReadByte()))); break; // SHORT_BINSTRING
                case (byte)'B': Push(Bytes(ReadSpan(ReadLength32(at)))); break; // BINBYTES
                case (byte)'C': Push(Bytes(ReadSpan(ReadByte()))); break; // SHORT_BINBYTES
                case 0x8e: Push(Bytes(ReadSpan(ReadLength64(at)))); break; // BINBYTES8
                case 0x96: Push(Bytes(ReadSpan(ReadLength64(at)))); break; // BYTEARRAY8 (bytearray → byte[])
                // ---- containers
                case (byte)'(': // MARK
                    if (_marks.Count + _stack.Count >= ReaderLimits.MaxPickleStack) throw StackTooDeep(at);
                    _marks.Push(_stack.Count);
                    break;
                // every new container is charged ContainerBytes, its items ItemBytes each (PopMark, APPEND, SETITEM)
                case (byte)'}': Charge(); Push(new PyDict()); break; // EMPTY_DICT
                case (byte)']': Charge(); Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)')': Charge(); Push(new PyTuple()); break; // EMPTY_TUPLE
                case (byte)'t': Charge(); Push(new PyTuple(PopMark(at))); break; // TUPLE
                case 0x85: { Charge(); var a = Pop(at); Push(new PyTuple(a)); break; } // TUPLE1
                case 0x86: { Charge(); var b = Pop(at); var a = Pop(at); Push(new PyTuple(a, b)); break; } // TUPLE2
                case 0x87: { Charge(); var c = Pop(at); var b = Pop(at); var a = Pop(at); Push(new PyTuple(a, b, c)); break; } // TUPLE3
                case (byte)'l': Charge(); Push(new List<object?>(PopMark(at))); break; // LIST
                case (byte)'d': // DICT
                {
                    Charge();
                    var items = PopMark(at);
                    var dict = new PyDict();
                    SetItems(dict, items, at);
                    Push(dict);
                    break;
                }
                case (byte)'s': // SETITEM
                {
                    var value = Pop(at);
                    var key = Pop(at);
                    _budget.Charge(ItemBytes, "a dict item");
                    SetItems(PeekAs<PyDict>("SETITEM", at), new[] { key, value }, at);
                    break;
                }
                case (byte)'u': // SETITEMS
                {
                    var items = PopMark(at);
                    SetItems(PeekAs<PyDict>("SETITEMS", at), items, at);
                    break;
                }
                case (byte)'a': // APPEND
                {
                    var value = Pop(at);
                    _budget.Charge(ItemBytes, "a list item");
                    var list = PeekAs<List<object?>>("APPEND", at);
                    CheckContainer(list.Count + 1L, at);
                    list.Add(value);
                    break;
                }
                case (byte)'e': // APPENDS
                {
                    var items = PopMark(at);
                    var list = PeekAs<List<object?>>("APPENDS", at);
                    CheckContainer(list.Count + (long)items.Length, at);
                    list.AddRange(items);
                    break;
                }
                // ---- stack and memo
                case (byte)'0': Pop(at); break; // POP
                case (byte)'1': PopMark(at); break; // POP_MARK
                case (byte)'2': Push(Peek(at)); break; // DUP
                case (byte)'p': MemoPut(ParseMemoIndex(ReadLine(), at), at); break; // PUT
                case (byte)'q': MemoPut(ReadByte(), at); break; // BINPUT
                case (byte)'r': MemoPut(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4)), at); break; // LONG_BINPUT
                case 0x94: MemoPut(_memo.Count, at); break; // MEMOIZE
                case (byte)'g': Push(MemoGet(ParseMemoIndex(ReadLine(), at), at)); break; // GET
                case (byte)'h': Push(MemoGet(ReadByte(), at)); break; // BINGET
                case (byte)'j': Push(MemoGet(BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4)), at)); break; // LONG_BINGET
                // ---- globals and object construction
                case (byte)'c': // GLOBAL
                {
                    string module = ReadLine();
                    string name = ReadLine();
                    Push(ResolveGlobal(module, name));
                    break;
                }
                case 0x93: // STACK_GLOBAL
                {
                    var name = Pop(at);
                    var module = Pop(at);
                    if (module is not string m || name is not string n) throw Corrupt("STACK_GLOBAL needs two strings", at);
                    Push(ResolveGlobal(m, n));
                    break;
                }
                case (byte)'R': // REDUCE
                {
                    var args = Pop(at);
                    var callable = Pop(at);
                    if (callable is not PyGlobal g) throw Corrupt("REDUCE on an object that is not an allowed global", at);
                    if (args is not PyTuple t) throw Corrupt($"REDUCE of {g} without an argument tuple", at);
                    Push(Call(g, t.Items, at));
                    break;
                }
                case 0x81: // NEWOBJ: cls.__new__(cls, *args)
                {
                    var args = Pop(at);
                    var cls = Pop(at);
                    if (cls is not PyGlobal g || args is not PyTuple) throw Corrupt("NEWOBJ needs a class and an argument tuple", at);
                    if (g.Kind != GlobalKind.OrderedDict) throw Corrupt($"NEWOBJ of {g} is not supported", at);
                    Push(new PyDict { IsOrdered = true });
                    break;
                }
                case (byte)'b': // BUILD
                {
                    var state = Pop(at);
                    Build(Peek(at), state, at);
                    break;
                }
                case (byte)'Q': // BINPERSID
                {
                    var pid = Pop(at);
                    if (_persistentLoad is null) throw Corrupt("a persistent id appears outside a torch archive", at);
                    Push(_persistentLoad(pid));
                    break;
                }
                default:
                    throw Corrupt($"unknown or unsupported pickle opcode 0x{op:x2}", at);
            }
        }
    }

    // ------------------------------------------------------------------ allow-list

    internal enum GlobalKind
    {
        OrderedDict,
        RebuildTensorV2,
        RebuildParameter,
        Storage,
        NdReconstruct,
        NdArrayClass,
        NdDType,
        NdScalar,
        NdFromBuffer,
        CodecsEncode,
    }

    /// <summary>A resolved, allowed Python global (module.name).</summary>
    internal sealed class PyGlobal
    {
        public PyGlobal(string module, string name, GlobalKind kind) { Module = module; Name = name; Kind = kind; }
        public string Module { get; }
        public string Name { get; }
        public GlobalKind Kind { get; }
        public override string ToString() => $"{Module}.{Name}";
    }

    private static Dictionary<string, GlobalKind> BuildAllowList()
    {
        var d = new Dictionary<string, GlobalKind>(StringComparer.Ordinal)
        {
            ["collections.OrderedDict"] = GlobalKind.OrderedDict,
            ["torch._utils._rebuild_tensor_v2"] = GlobalKind.RebuildTensorV2,
            ["torch._utils._rebuild_parameter"] = GlobalKind.RebuildParameter,
            ["numpy.ndarray"] = GlobalKind.NdArrayClass,
            ["numpy.dtype"] = GlobalKind.NdDType,
            ["_codecs.encode"] = GlobalKind.CodecsEncode,
        };
        foreach (string core in new[] { "numpy.core", "numpy._core" })
        {
            d[core + ".multiarray._reconstruct"] = GlobalKind.NdReconstruct;
            d[core + ".multiarray.scalar"] = GlobalKind.NdScalar;
            d[core + ".numeric._frombuffer"] = GlobalKind.NdFromBuffer;
        }
        foreach (string s in new[] { "DoubleStorage", "FloatStorage", "HalfStorage", "BFloat16Storage", "LongStorage", "IntStorage",
                     "ShortStorage", "CharStorage", "ByteStorage", "BoolStorage", "ComplexFloatStorage", "ComplexDoubleStorage" })
            d["torch." + s] = GlobalKind.Storage;
        return d;
    }

    private PyGlobal ResolveGlobal(string module, string name)
    {
        string full = module + "." + name;
        if (!Allowed.TryGetValue(full, out var kind))
            throw new DpCompressException("CheckpointForbiddenGlobal", ErrorKind.InvalidData,
                $"The checkpoint refers to the Python global '{Shorten(full)}', which is not on the allow-list of a PWMLFF checkpoint; " +
                "it was refused and nothing was executed (a checkpoint must never be able to run code).", _path);
        return new PyGlobal(module, name, kind);
    }

    // ------------------------------------------------------------------ reconstructions

    private object? Call(PyGlobal g, object?[] a, int at)
    {
        switch (g.Kind)
        {
            case GlobalKind.OrderedDict:
            {
                var dict = new PyDict { IsOrdered = true };
                if (a.Length == 0) return dict;
                if (a.Length == 1 && a[0] is List<object?> pairs)
                {
                    foreach (var p in pairs)
                    {
                        object?[]? kv = p switch { PyTuple t => t.Items, List<object?> l => l.ToArray(), _ => null };
                        if (kv is null || kv.Length != 2) throw Corrupt("OrderedDict() needs (key, value) pairs", at);
                        SetItems(dict, kv, at);
                    }
                    return dict;
                }
                throw Corrupt("unsupported OrderedDict() arguments", at);
            }
            case GlobalKind.RebuildTensorV2:
            {
                // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length is < 6 or > 7) throw Corrupt($"_rebuild_tensor_v2 takes 6 or 7 arguments, got {a.Length}", at);
                if (a[0] is not TorchStorage storage) throw Corrupt("_rebuild_tensor_v2 without a storage", at);
                long offset = AsLong(a[1], "storage_offset", at);
                long[] shape = AsLongTuple(a[2], "size", at);
                long[] stride = AsLongTuple(a[3], "stride", at);
                if (shape.Length != stride.Length) throw Corrupt("tensor size and stride have different ranks", at);
                bool requiresGrad = a[4] is bool rg ? rg : throw Corrupt("requires_grad must be a bool", at);
                if (shape.Length > 64) throw Corrupt($"a tensor of rank {shape.Length}", at);
                string view = $"offset {offset}, size [{string.Join(",", shape)}], stride [{string.Join(",", stride)}]";
                long needed;
                try
                {
                    needed = TorchTensor.RequiredElements(offset, shape, stride);
                }
                catch (Exception e) when (e is ArgumentException or OverflowException)
                {
                    throw new DpCompressException("CheckpointTensorViewInvalid", ErrorKind.InvalidData,
                        $"The checkpoint's pickle is corrupt at offset {at}: invalid tensor view ({view}).", _path, e);
                }
                if (needed > storage.ElementCount)
                    throw new DpCompressException("CheckpointStorageTooShort", ErrorKind.InvalidData,
                        $"A tensor needs elements up to {needed} of storage '{Shorten(storage.Key)}', which holds only {storage.ElementCount}.", _path);
                string? overlap = TorchTensor.OverlapProblem(shape, stride);
                if (overlap is not null)
                    throw new DpCompressException("CheckpointTensorViewInvalid", ErrorKind.InvalidData,
                        $"The checkpoint's pickle is corrupt at offset {at}: the tensor view ({view}) {overlap}; torch.save of a PWMLFF model never writes such a view.", _path);
                if (!TorchTensor.SharesStorage(storage, offset, shape, stride))
                    _budget.Charge(TorchTensor.CountOf(shape) * storage.ElementSize, "a tensor copy");
                return new TorchTensor(storage, offset, shape, stride, requiresGrad);
            }
            case GlobalKind.RebuildParameter:
            {
                // _rebuild_parameter(data, requires_grad, backward_hooks)
                if (a.Length != 3 || a[0] is not TorchTensor t || a[1] is not bool rg) throw Corrupt("bad _rebuild_parameter arguments", at);
                return t.AsParameter(rg);
            }
            case GlobalKind.NdReconstruct:
            {
                // _reconstruct(ndarray, (0,), b'b'): an empty array that BUILD fills in
                if (a.Length != 3 || a[0] is not PyGlobal { Kind: GlobalKind.NdArrayClass }) throw Corrupt("_reconstruct must build a numpy.ndarray", at);
                return new PendingArray();
            }
            case GlobalKind.NdDType:
            {
                // dtype(descr, align, copy), e.g. dtype('f8', False, True); BUILD sets the byte order
                if (a.Length is < 1 or > 3 || a[0] is not string descr) throw Corrupt("bad numpy.dtype arguments", at);
                if (!NdArray.TryParseDType(descr, out char order, out char kind, out int size))
                    throw Corrupt($"unsupported numpy dtype '{Shorten(descr)}' (only bool, integer and float arrays are supported)", at);
                return new PendingDType(kind, size, order == '|' && size > 1 ? '<' : order);
            }
            case GlobalKind.NdScalar:
            {
                // scalar(dtype, bytes)
                if (a.Length != 2 || a[0] is not PendingDType dt) throw Corrupt("bad numpy scalar arguments", at);
                byte[] raw = AsBytes(a[1], "numpy scalar data", at);
                return MakeArray(dt.Descr, Array.Empty<long>(), raw, false, at);
            }
            case GlobalKind.NdFromBuffer:
            {
                // _frombuffer(buffer, dtype, shape, order)
                if (a.Length != 4 || a[1] is not PendingDType dt || a[3] is not string order) throw Corrupt("bad numpy _frombuffer arguments", at);
                return MakeArray(dt.Descr, AsLongTuple(a[2], "shape", at), AsBytes(a[0], "array data", at), order == "F", at);
            }
            case GlobalKind.CodecsEncode:
            {
                // _codecs.encode(str, 'latin1'): protocol 2 stores bytes as a latin-1 str
                string enc = a.Length > 1 && a[1] is string e2 ? e2.ToLowerInvariant().Replace('_', '-') : "utf-8";
                // Large latin-1 text was decoded straight to its bytes (ReadText).
                if (a.Length is >= 1 and <= 3 && a[0] is Latin1Text text && enc is "latin1" or "latin-1" or "iso-8859-1" or "l1") return text.Bytes;
                if (a.Length is < 1 or > 3 || (a[0] is Latin1Text other ? other.ToString() : a[0]) is not string s) throw Corrupt("bad _codecs.encode arguments", at);
                _budget.Charge(s.Length, "_codecs.encode");
                if (enc is "latin1" or "latin-1" or "iso-8859-1" or "l1")
                {
                    var bytes = new byte[s.Length];
                    for (int i = 0; i < s.Length; i++)
                    {
                        if (s[i] > 0xFF) throw Corrupt("_codecs.encode: a character outside latin-1", at);
                        bytes[i] = (byte)s[i];
                    }
                    return bytes;
                }
                if (enc is "utf-8" or "utf8") return Encoding.UTF8.GetBytes(s);
                throw Corrupt($"_codecs.encode with unsupported encoding '{Shorten(enc)}'", at);
            }
            default:
                throw Corrupt($"{g} cannot be called", at);
        }
    }

    private void Build(object? target, object? state, int at)
    {
        switch (target)
        {
            case PendingArray pa:
            {
                // ndarray.__setstate__((version, shape, dtype, is_fortran, rawdata)) or without version
                if (state is not PyTuple t || t.Count is < 4 or > 5) throw Corrupt("bad numpy array state", at);
                int o = t.Count - 4;
                if (t[o + 1] is not PendingDType dt) throw Corrupt("numpy array state without a dtype", at);
                if (t[o + 2] is not bool fortran) throw Corrupt("numpy array state: is_fortran must be a bool", at);
                if (pa.Value is not null) throw Corrupt("numpy array built twice", at);
                pa.Value = MakeArray(dt.Descr, AsLongTuple(t[o], "shape", at), AsBytes(t[o + 3], "array data", at), fortran, at);
                break;
            }
            case PendingDType dt:
            {
                // dtype.__setstate__((version, byteorder, subarray, names, fields, elsize, alignment, flags[, metadata]))
                if (state is not PyTuple t || t.Count < 2 || t[1] is not string order || order.Length != 1) throw Corrupt("bad numpy dtype state", at);
                if (t.Count > 3 && t[3] is not null) throw Corrupt("structured numpy dtypes are not supported", at);
                if (t.Count > 2 && t[2] is not null) throw Corrupt("numpy sub-array dtypes are not supported", at);
                dt.Order = order[0] == '=' ? (BitConverter.IsLittleEndian ? '<' : '>') : order[0];
                break;
            }
            case PyDict when state is null:
                break;
            case PyDict d when state is PyDict attributes:
                // obj.__dict__.update(state), e.g. state_dict._metadata
                if (attributes.Count == 0) break;
                d.Attributes ??= new PyDict();
                foreach (var kv in attributes.Items) d.Attributes[kv.Key] = kv.Value;
                break;
            default:
                throw Corrupt($"BUILD on an unsupported object ({Describe(target)})", at);
        }
    }

    private NdArray MakeArray(string dtype, long[] shape, byte[] data, bool fortran, int at)
    {
        try
        {
            return new NdArray(dtype, shape, data, fortran);
        }
        catch (Exception e) when (e is ArgumentException or OverflowException)
        {
            throw Corrupt($"inconsistent numpy array ({dtype} [{string.Join(",", shape)}], {data.Length} bytes)", at, e);
        }
    }

    /// <summary>A numpy array between _reconstruct and BUILD.</summary>
    private sealed class PendingArray
    {
        public NdArray? Value { get; set; }
    }

    /// <summary>A numpy dtype; BUILD sets its byte order.</summary>
    private sealed class PendingDType
    {
        public PendingDType(char kind, int size, char order) { Kind = kind; Size = size; Order = order; }
        public char Kind { get; }
        public int Size { get; }
        public char Order { get; set; }
        public string Descr => (Size == 1 ? '|' : Order) + Kind.ToString() + Size.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Replaces finished numpy placeholders in the result graph; refuses leftovers.</summary>
    private object? Resolve(object? root)
    {
        var visited = new HashSet<object>(ReferenceEqualityComparer.Instance);
        int depth = 0;
        object? Fix(object? o)
        {
            if (o is PyDict or List<object?> or PyTuple)
            {
                if (++depth > MaxDepth)
                    throw new DpCompressException("CheckpointNestingTooDeep", ErrorKind.LimitsExceeded,
                        $"The checkpoint's pickle nests containers deeper than {MaxDepth} levels; a real checkpoint needs fewer than 10.", _path);
                try { return FixContainer(o); }
                finally { depth--; }
            }
            return FixContainer(o);
        }
        object? FixContainer(object? o)
        {
            switch (o)
            {
                case PendingArray pa:
                    return pa.Value ?? throw Corrupt("a numpy array was never filled in (missing BUILD)", _pos);
                case PendingDType dt:
                    return dt.Descr;
                case PyGlobal g:
                    throw Corrupt($"the Python global {g} appears as a value", _pos);
                case TorchStorage:
                    throw Corrupt("a bare torch storage appears as a value", _pos);
                case PyDict d when visited.Add(d):
                    if (d.Attributes is not null) Fix(d.Attributes);
                    for (int i = 0; i < d.Count; i++)
                    {
                        var kv = d.Items[i];
                        var v = Fix(kv.Value);
                        if (!ReferenceEquals(v, kv.Value)) d[kv.Key] = v;
                    }
                    return d;
                case List<object?> l when visited.Add(l):
                    for (int i = 0; i < l.Count; i++) l[i] = Fix(l[i]);
                    return l;
                case PyTuple t when visited.Add(t):
                    for (int i = 0; i < t.Items.Length; i++) t.Items[i] = Fix(t.Items[i]);
                    return t;
                default:
                    return o;
            }
        }
        return Fix(root);
    }

    // ------------------------------------------------------------------ stack helpers

    /// <summary>Bytes charged to the budget per container slot (reference + share of the list/dict array).</summary>
    private const long ItemBytes = 16;

    /// <summary>Bytes charged per dict item on top of <see cref="ItemBytes"/> per key and value (entry, hash slot, boxed key).</summary>
    private const long DictItemBytes = 64;

    /// <summary>Bytes charged per container object (object header, fields and first array).</summary>
    private const long ContainerBytes = 96;

    private void Charge() => _budget.Charge(ContainerBytes, "a container");

    private void Push(object? o)
    {
        if (_stack.Count + _marks.Count >= ReaderLimits.MaxPickleStack) throw StackTooDeep(_pos - 1);
        _stack.Add(o);
    }

    private DpCompressException StackTooDeep(int at) =>
        new("CheckpointPickleStackTooDeep", ErrorKind.LimitsExceeded,
            $"The checkpoint's pickle puts more than {ReaderLimits.MaxPickleStack} values on its stack (at offset {at}); a real checkpoint needs a few thousand.", _path);

    private void CheckContainer(long count, int at)
    {
        if (count > ReaderLimits.MaxContainerItems)
            throw new DpCompressException("CheckpointContainerTooLarge", ErrorKind.LimitsExceeded,
                $"The checkpoint's pickle builds a container of more than {ReaderLimits.MaxContainerItems} items (at offset {at}); a real checkpoint's largest holds a few hundred.", _path);
    }

    private void MemoPut(long index, int at)
    {
        var value = Peek(at);
        if (_memo.Count >= ReaderLimits.MaxPickleMemo && !_memo.ContainsKey(index))
            throw new DpCompressException("CheckpointPickleMemoTooLarge", ErrorKind.LimitsExceeded,
                $"The checkpoint's pickle stores more than {ReaderLimits.MaxPickleMemo} memo entries (at offset {at}); a real checkpoint needs a few thousand.", _path);
        _memo[index] = value;
    }

    private string Latin1(ReadOnlySpan<byte> span)
    {
        _budget.Charge(2L * span.Length, "a string");
        return Encoding.Latin1.GetString(span);
    }

    private byte[] Bytes(ReadOnlySpan<byte> span)
    {
        _budget.Charge(span.Length, "a bytes value");
        return span.ToArray();
    }

    private object? Pop(int at)
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Corrupt("stack underflow", at);
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    private object? Peek(int at)
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count <= floor) throw Corrupt("stack underflow", at);
        return _stack[^1];
    }

    private T PeekAs<T>(string opcode, int at) where T : class =>
        Peek(at) as T ?? throw Corrupt($"{opcode} on a {Describe(_stack[^1])}", at);

    private object?[] PopMark(int at)
    {
        if (_marks.Count == 0) throw Corrupt("MARK missing", at);
        int m = _marks.Pop();
        // a dict's items come as key, value pairs: twice the container limit
        if (_stack.Count - m > 2L * ReaderLimits.MaxContainerItems) CheckContainer(_stack.Count - m, at);
        _budget.Charge(ItemBytes * (_stack.Count - m), "a container");
        var items = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_stack)[m..].ToArray();
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private object? MemoGet(long index, int at) =>
        _memo.TryGetValue(index, out var v) ? v : throw Corrupt($"memo entry {index} is not defined", at);

    private void SetItems(PyDict dict, object?[] items, int at)
    {
        if (items.Length % 2 != 0) throw Corrupt("odd number of items for a dict", at);
        CheckContainer(dict.Count + items.Length / 2L, at);
        _budget.Charge(DictItemBytes * (items.Length / 2), "dict items");
        dict.EnsureCapacity(dict.Count + items.Length / 2);
        for (int i = 0; i < items.Length; i += 2)
        {
            var key = items[i];
            if (key is null or List<object?> or PyDict) throw Corrupt($"unsupported dict key ({Describe(key)})", at);
            dict[key] = items[i + 1];
        }
    }

    // ------------------------------------------------------------------ input

    private byte ReadByte()
    {
        if (_pos >= _length) throw Truncated($"the pickle ends at offset {_pos} before its STOP opcode");
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> ReadSpan(long n)
    {
        if (n < 0 || n > _length - _pos) throw Truncated($"{n} bytes are needed at offset {_pos} but only {_length - _pos} remain");
        var s = new ReadOnlySpan<byte>(_data, _pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private ulong ReadUInt64() => BinaryPrimitives.ReadUInt64LittleEndian(ReadSpan(8));

    private long ReadLength32(int at)
    {
        long n = BinaryPrimitives.ReadUInt32LittleEndian(ReadSpan(4));
        if (n > _length - _pos) throw Truncated($"a length of {n} bytes declared at offset {at} exceeds the remaining input ({_length - _pos} bytes)");
        return n;
    }

    private long ReadLength64(int at)
    {
        ulong n = ReadUInt64();
        if (n > (ulong)(_length - _pos)) throw Truncated($"a length of {n} bytes declared at offset {at} exceeds the remaining input ({_length - _pos} bytes)");
        return (long)n;
    }

    /// <summary>Strings of at least this many UTF-8 bytes that are latin-1 text become <see cref="Latin1Text"/>.</summary>
    internal const int Latin1TextMinBytes = 1 << 20;

    /// <summary>
    /// A str: a <see cref="Latin1Text"/> when it is the first argument of _codecs.encode (the global right below
    /// it on the stack: protocol 2's form of bytes), large, and every character is below 256; else a string.
    /// </summary>
    private object ReadText(long n, int at)
    {
        if (n < Latin1TextMinBytes || _stack.Count == 0 || _stack[^1] is not PyGlobal { Kind: GlobalKind.CodecsEncode }) return ReadUtf8(n, at);
        int start = _pos;
        var span = ReadSpan(n);
        _budget.Charge(span.Length, "a string");
        if (Latin1Text.TryDecode(span) is { } text) return text;
        _pos = start;   // not latin-1 text: decode it as any other string (charged again there)
        return ReadUtf8(n, at);
    }

    private string ReadUtf8(long n, int at)
    {
        var span = ReadSpan(n);
        _budget.Charge(2L * span.Length, "a string");
        try
        {
            return new UTF8Encoding(false, true).GetString(span);
        }
        catch (DecoderFallbackException e)
        {
            throw Corrupt("a string is not valid UTF-8", at, e);
        }
    }

    private string ReadLine()
    {
        int start = _pos;
        int nl = Array.IndexOf(_data, (byte)'\n', _pos, _length - _pos);
        if (nl < 0) throw Truncated($"a text line starting at offset {start} has no end");
        _pos = nl + 1;
        _budget.Charge(2L * (nl - start), "a text line");
        return Encoding.Latin1.GetString(_data, start, nl - start);
    }

    private object ReadLong(int n, int at)
    {
        if (n > ReaderLimits.MaxIntegerBytes) throw IntegerTooLong(n, at);
        var span = ReadSpan(n);
        if (n == 0) return 0L;
        if (n <= 8)
        {
            long v = 0;
            for (int i = n - 1; i >= 0; i--) v = (v << 8) | span[i];
            int shift = 64 - 8 * n;
            return shift == 0 ? v : (v << shift) >> shift; // sign-extend
        }
        return new BigInteger(span, isUnsigned: false, isBigEndian: false);
    }

    private object ParseIntLine(string line, int at)
    {
        if (line == "00") return false;
        if (line == "01") return true;
        if (long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)) return v;
        // Decimal text to BigInteger is quadratic: only as many digits as MaxIntegerBytes bytes hold (2.41 digits per byte).
        if (line.Length > ReaderLimits.MaxIntegerBytes * 5 / 2 + 1) throw IntegerTooLong(line.Length * 5 / 12, at);
        if (BigInteger.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var big)) return big;
        throw Corrupt($"bad integer literal '{Shorten(line)}'", at);
    }

    private long ParseMemoIndex(string line, int at) =>
        long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out long v) ? v : throw Corrupt($"bad memo index '{Shorten(line)}'", at);

    /// <summary>Python's raw-unicode-escape: latin-1 text with \uXXXX and \UXXXXXXXX escapes.</summary>
    private static string DecodeRawUnicodeEscape(string s)
    {
        if (!s.Contains('\\')) return s;
        var sb = new StringBuilder(s.Length);
        for (int i = 0; i < s.Length; i++)
        {
            if (s[i] == '\\' && i + 6 <= s.Length && s[i + 1] == 'u'
                && int.TryParse(s.AsSpan(i + 2, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int u))
            {
                sb.Append((char)u);
                i += 5;
            }
            else if (s[i] == '\\' && i + 10 <= s.Length && s[i + 1] == 'U'
                && int.TryParse(s.AsSpan(i + 2, 8), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int cp) && cp <= 0x10FFFF)
            {
                sb.Append(char.ConvertFromUtf32(cp));
                i += 9;
            }
            else sb.Append(s[i]);
        }
        return sb.ToString();
    }

    // ------------------------------------------------------------------ argument conversion

    private long AsLong(object? o, string what, int at) => o switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw Corrupt($"{what} must be an integer, not {Describe(o)}", at),
    };

    private long[] AsLongTuple(object? o, string what, int at)
    {
        object?[] items = o switch
        {
            PyTuple t => t.Items,
            List<object?> l => l.ToArray(),
            long single => new object?[] { single },
            _ => throw Corrupt($"{what} must be a tuple of integers, not {Describe(o)}", at),
        };
        var r = new long[items.Length];
        for (int i = 0; i < r.Length; i++) r[i] = AsLong(items[i], what, at);
        return r;
    }

    private byte[] AsBytes(object? o, string what, int at) => o switch
    {
        byte[] b => b,
        Latin1Text text => text.Bytes,
        // Python 2 pickles (read with encoding='latin1', as numpy expects) hold raw data as str.
        string s when s.All(c => c <= 0xFF) => Latin1Bytes(s),
        _ => throw Corrupt($"{what} must be bytes, not {Describe(o)}", at),
    };

    private byte[] Latin1Bytes(string s)
    {
        _budget.Charge(s.Length, "array data");
        return Encoding.Latin1.GetBytes(s);
    }

    internal static string Describe(object? o) => o switch
    {
        null => "None",
        long => "int",
        BigInteger => "int",
        double => "float",
        string or Latin1Text => "str",
        bool => "bool",
        byte[] => "bytes",
        PyDict => "dict",
        PyTuple => "tuple",
        List<object?> => "list",
        NdArray => "numpy.ndarray",
        TorchTensor => "torch.Tensor",
        PyGlobal g => g.ToString(),
        _ => o.GetType().Name,
    };

    private static string Shorten(string s) => ReaderLimits.Excerpt(s);

    private DpCompressException IntegerTooLong(int bytes, int at) =>
        new("CheckpointIntegerTooLong", ErrorKind.LimitsExceeded,
            $"The checkpoint's pickle holds an integer of about {bytes} bytes at offset {at}; the limit is {ReaderLimits.MaxIntegerBytes} bytes (a real checkpoint needs 8).", _path);

    private DpCompressException Truncated(string detail) =>
        new("CheckpointTruncated", ErrorKind.InvalidData, $"The checkpoint's pickle is truncated: {detail}.", _path);

    private DpCompressException Corrupt(string detail, int at, Exception? inner = null) =>
        new("CheckpointCorrupt", ErrorKind.InvalidData, $"The checkpoint's pickle is corrupt at offset {at}: {detail}.", _path, inner);
}
