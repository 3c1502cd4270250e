using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace DpCompress.Core.Structures;

/// <summary>Element type of a .npy array.</summary>
public enum NpyElementType
{
    Float64,
    Float32,
    Float16,
    Int64,
    Int32,
    Int16,
    Int8,
    UInt64,
    UInt32,
    UInt16,
    UInt8,
    Bool,
}

/// <summary>
/// A numeric array read from a .npy file, converted to float64 in C (row-major) order.
/// Integer arrays are exact up to 2^53.
/// </summary>
public sealed class NpyArray
{
    internal NpyArray(string path, string descr, NpyElementType elementType, int[] shape, bool fortranOrder, double[] data)
    {
        Path = path;
        Descr = descr;
        ElementType = elementType;
        Shape = shape;
        FortranOrder = fortranOrder;
        Data = data;
    }

    /// <summary>The file the array came from.</summary>
    public string Path { get; }

    /// <summary>numpy dtype string as stored, e.g. "&lt;f8".</summary>
    public string Descr { get; }

    public NpyElementType ElementType { get; }

    /// <summary>Dimensions (empty for a 0-d array).</summary>
    public int[] Shape { get; }

    /// <summary>True when the file stored the data in Fortran (column-major) order; <see cref="Data"/> is C order regardless.</summary>
    public bool FortranOrder { get; }

    /// <summary>All elements in C (row-major) order.</summary>
    public double[] Data { get; }

    public long Length => Data.Length;

    public int Rank => Shape.Length;

    /// <summary>The elements as 32-bit integers; throws NpyCorrupt when a value is not an integer in range.</summary>
    public int[] ToInt32()
    {
        var r = new int[Data.Length];
        for (int i = 0; i < r.Length; i++)
        {
            double v = Data[i];
            if (v != Math.Floor(v) || v < int.MinValue || v > int.MaxValue)
                throw new DpCompressException("NpyCorrupt", ErrorKind.InvalidData,
                    $"'{Path}': element {i} ({v.ToString("R", CultureInfo.InvariantCulture)}) is not an integer.", Path);
            r[i] = (int)v;
        }
        return r;
    }

    public override string ToString() => $"{Descr} ({string.Join(", ", Shape)})";
}

/// <summary>
/// Reader for numpy's .npy format (versions 1.0, 2.0 and 3.0): magic "\x93NUMPY", version,
/// header length (uint16 for 1.0, uint32 otherwise), a Python dict literal
/// {'descr': …, 'fortran_order': …, 'shape': (…)} and the raw data. Numeric dtypes of either
/// byte order (f8 f4 f2 i8 i4 i2 i1 u8 u4 u2 u1 b1) in C or Fortran order are supported;
/// structured, string and object dtypes are refused with NpyUnsupportedDtype.
/// </summary>
public static class NpyReader
{
    private static readonly byte[] Magic = { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y' };

    /// <summary>
    /// Most dimensions a shape may have: numpy's own limit (NPY_MAXDIMS, 32 before numpy 2, 64 since).
    /// Reordering a Fortran-order array costs elements × dimensions, so a 400 KB file declaring 100,001
    /// dimensions took 14 s (and a few MB, hours) before this limit.
    /// </summary>
    internal const int MaxRank = 64;

    /// <summary>
    /// Deepest nesting of dicts, tuples and lists the header parser follows. A real header nests two
    /// levels ({'shape': (…)}); the parser recurses once per level, so 30,000 '(' in a 64 KB header
    /// overflowed the stack and killed the process (a StackOverflow cannot be caught).
    /// </summary>
    internal const int MaxHeaderNesting = 16;

    /// <summary>Reads a whole .npy file.</summary>
    public static NpyArray Read(string path)
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (FileNotFoundException ex)
        {
            throw new DpCompressException("NpyNotFound", ErrorKind.ObjectNotFound, $"'{path}' does not exist.", path, ex);
        }
        catch (DirectoryNotFoundException ex)
        {
            throw new DpCompressException("NpyNotFound", ErrorKind.ObjectNotFound, $"'{path}' does not exist.", path, ex);
        }
        catch (IOException ex)
        {
            throw new DpCompressException("NpyCorrupt", ErrorKind.InvalidData, $"'{path}' could not be read: {ex.Message}", path, ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new DpCompressException("NpyCorrupt", ErrorKind.InvalidData, $"'{path}' could not be read: {ex.Message}", path, ex);
        }
        return Parse(bytes, path);
    }

    /// <summary>Parses the bytes of a .npy file; <paramref name="path"/> is used in error messages only.</summary>
    public static NpyArray Parse(ReadOnlySpan<byte> bytes, string path)
    {
        if (bytes.Length < 10 || !bytes[..6].SequenceEqual(Magic))
            throw Corrupt(path, "it does not start with the .npy magic \\x93NUMPY");
        int major = bytes[6];
        int headerStart, headerLength;
        if (major == 1)
        {
            headerLength = BinaryPrimitives.ReadUInt16LittleEndian(bytes[8..]);
            headerStart = 10;
        }
        else if (major is 2 or 3)
        {
            if (bytes.Length < 12) throw Corrupt(path, "the header is truncated");
            uint len = BinaryPrimitives.ReadUInt32LittleEndian(bytes[8..]);
            if (len > int.MaxValue) throw Corrupt(path, "the header length is out of range");
            headerLength = (int)len;
            headerStart = 12;
        }
        else
        {
            throw new DpCompressException("NpyUnsupportedVersion", ErrorKind.InvalidData,
                $"'{path}': .npy format version {major}.{bytes[7]} is not supported (1.0, 2.0 and 3.0 are).", path);
        }
        if ((long)headerStart + headerLength > bytes.Length) throw Corrupt(path, "the header is truncated");
        string header;
        try
        {
            var enc = major == 3 ? (Encoding)new UTF8Encoding(false, true) : Encoding.Latin1;
            header = enc.GetString(bytes.Slice(headerStart, headerLength));
        }
        catch (DecoderFallbackException ex)
        {
            throw new DpCompressException("NpyCorrupt", ErrorKind.InvalidData, $"'{path}' is not a valid .npy file: the header is not valid UTF-8.", path, ex);
        }

        Dictionary<string, object?> dict;
        try
        {
            dict = new HeaderParser(header).ParseDict();
        }
        catch (FormatException ex)
        {
            throw new DpCompressException("NpyCorrupt", ErrorKind.InvalidData,
                $"'{path}' is not a valid .npy file: cannot parse the header ({ex.Message}): {header.Trim()}", path, ex);
        }

        if (!dict.TryGetValue("descr", out object? descrObj)) throw Corrupt(path, "the header has no 'descr'");
        if (descrObj is not string descr)
            throw new DpCompressException("NpyUnsupportedDtype", ErrorKind.InvalidData,
                $"'{path}': structured dtype is not supported (a plain numeric array is expected).", path);
        bool fortran = dict.TryGetValue("fortran_order", out object? fo) && fo is bool b && b;
        if (dict.TryGetValue("fortran_order", out fo) && fo is not bool) throw Corrupt(path, "'fortran_order' is not True or False");
        if (!dict.TryGetValue("shape", out object? shapeObj) || shapeObj is not List<object?> shapeList)
            throw Corrupt(path, "the header has no 'shape' tuple");
        if (shapeList.Count > MaxRank) throw Corrupt(path, $"the shape has {shapeList.Count} dimensions, more than numpy's {MaxRank}");
        var shape = new int[shapeList.Count];
        long count = 1;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shapeList[i] is not long d || d < 0 || d > int.MaxValue) throw Corrupt(path, "the shape has an invalid dimension");
            shape[i] = (int)d;
            count *= d;
            if (count > int.MaxValue) throw Corrupt(path, "the array is too large");
        }

        var (type, size, bigEndian) = ParseDescr(descr, path);
        long dataStart = headerStart + headerLength;
        long needed = count * size;
        if (bytes.Length - dataStart < needed)
            throw Corrupt(path, $"the data is truncated ({bytes.Length - dataStart} bytes for {count} elements of {size} bytes)");

        var raw = bytes.Slice((int)dataStart, (int)needed);
        var data = new double[count];
        for (int i = 0; i < count; i++) data[i] = ReadElement(raw.Slice(i * size, size), type, bigEndian);
        if (fortran && shape.Length > 1) data = FortranToC(data, shape);
        return new NpyArray(path, descr, type, shape, fortran, data);
    }

    private static DpCompressException Corrupt(string path, string what) =>
        new("NpyCorrupt", ErrorKind.InvalidData, $"'{path}' is not a valid .npy file: {what}.", path);

    private static (NpyElementType Type, int Size, bool BigEndian) ParseDescr(string descr, string path)
    {
        string d = descr.Trim();
        char order = d.Length > 0 ? d[0] : ' ';
        string code = d;
        if (order is '<' or '>' or '|' or '=') code = d[1..];
        else order = '=';
        bool big = order == '>' || (order == '=' && !BitConverter.IsLittleEndian);
        (NpyElementType, int)? t = code switch
        {
            "f8" or "d" => (NpyElementType.Float64, 8),
            "f4" or "f" => (NpyElementType.Float32, 4),
            "f2" or "e" => (NpyElementType.Float16, 2),
            "i8" or "q" => (NpyElementType.Int64, 8),
            "i4" or "i" => (NpyElementType.Int32, 4),
            "i2" or "h" => (NpyElementType.Int16, 2),
            "i1" or "b" => (NpyElementType.Int8, 1),
            "u8" or "Q" => (NpyElementType.UInt64, 8),
            "u4" or "I" => (NpyElementType.UInt32, 4),
            "u2" or "H" => (NpyElementType.UInt16, 2),
            "u1" or "B" => (NpyElementType.UInt8, 1),
            "b1" or "?" => (NpyElementType.Bool, 1),
            _ => null,
        };
        if (t is null)
            throw new DpCompressException("NpyUnsupportedDtype", ErrorKind.InvalidData,
                $"'{path}': dtype '{descr}' is not supported (numeric dtypes f8 f4 f2 i8 i4 i2 i1 u8 u4 u2 u1 b1 are).", path);
        return (t.Value.Item1, t.Value.Item2, big);
    }

    private static double ReadElement(ReadOnlySpan<byte> s, NpyElementType type, bool big) => type switch
    {
        NpyElementType.Float64 => big ? BinaryPrimitives.ReadDoubleBigEndian(s) : BinaryPrimitives.ReadDoubleLittleEndian(s),
        NpyElementType.Float32 => big ? BinaryPrimitives.ReadSingleBigEndian(s) : BinaryPrimitives.ReadSingleLittleEndian(s),
        NpyElementType.Float16 => (double)(big ? BinaryPrimitives.ReadHalfBigEndian(s) : BinaryPrimitives.ReadHalfLittleEndian(s)),
        NpyElementType.Int64 => big ? BinaryPrimitives.ReadInt64BigEndian(s) : BinaryPrimitives.ReadInt64LittleEndian(s),
        NpyElementType.Int32 => big ? BinaryPrimitives.ReadInt32BigEndian(s) : BinaryPrimitives.ReadInt32LittleEndian(s),
        NpyElementType.Int16 => big ? BinaryPrimitives.ReadInt16BigEndian(s) : BinaryPrimitives.ReadInt16LittleEndian(s),
        NpyElementType.Int8 => (sbyte)s[0],
        NpyElementType.UInt64 => big ? BinaryPrimitives.ReadUInt64BigEndian(s) : BinaryPrimitives.ReadUInt64LittleEndian(s),
        NpyElementType.UInt32 => big ? BinaryPrimitives.ReadUInt32BigEndian(s) : BinaryPrimitives.ReadUInt32LittleEndian(s),
        NpyElementType.UInt16 => big ? BinaryPrimitives.ReadUInt16BigEndian(s) : BinaryPrimitives.ReadUInt16LittleEndian(s),
        NpyElementType.UInt8 => s[0],
        NpyElementType.Bool => s[0] != 0 ? 1.0 : 0.0,
        _ => throw new ArgumentOutOfRangeException(nameof(type)),
    };

    /// <summary>Reorders column-major data (first index fastest) into row-major order (last index fastest).</summary>
    private static double[] FortranToC(double[] f, int[] shape)
    {
        int rank = shape.Length;
        var c = new double[f.Length];
        var idx = new int[rank];
        var fStride = new long[rank];
        long s = 1;
        for (int k = 0; k < rank; k++) { fStride[k] = s; s *= shape[k]; }
        for (int n = 0; n < c.Length; n++)
        {
            long fi = 0;
            for (int k = 0; k < rank; k++) fi += idx[k] * fStride[k];
            c[n] = f[fi];
            for (int k = rank - 1; k >= 0; k--)
            {
                if (++idx[k] < shape[k]) break;
                idx[k] = 0;
            }
        }
        return c;
    }

    /// <summary>
    /// Minimal parser for the Python literal of a .npy header: a dict with string keys whose
    /// values are strings, True/False/None, integers, or tuples/lists of those.
    /// </summary>
    private sealed class HeaderParser
    {
        private readonly string _s;
        private int _p;
        private int _depth;

        public HeaderParser(string s) => _s = s;

        public Dictionary<string, object?> ParseDict()
        {
            SkipWs();
            Expect('{');
            Enter();
            var d = new Dictionary<string, object?>(StringComparer.Ordinal);
            while (true)
            {
                SkipWs();
                if (Peek() == '}') { _p++; break; }
                if (ParseValue() is not string key) throw new FormatException("a key is not a string");
                SkipWs();
                Expect(':');
                d[key] = ParseValue();
                SkipWs();
                if (Peek() == ',') { _p++; continue; }
                SkipWs();
                Expect('}');
                break;
            }
            _depth--;
            return d;
        }

        /// <summary>One level deeper into a container; more than <see cref="MaxHeaderNesting"/> is a FormatException.</summary>
        private void Enter()
        {
            if (++_depth > MaxHeaderNesting) throw new FormatException($"containers nested deeper than {MaxHeaderNesting} at {_p}");
        }

        private object? ParseValue()
        {
            SkipWs();
            char c = Peek();
            if (c is '\'' or '"')
            {
                _p++;
                var sb = new StringBuilder();
                while (_p < _s.Length && _s[_p] != c)
                {
                    if (_s[_p] == '\\' && _p + 1 < _s.Length) _p++;
                    sb.Append(_s[_p++]);
                }
                Expect(c);
                return sb.ToString();
            }
            if (c is '(' or '[')
            {
                char close = c == '(' ? ')' : ']';
                _p++;
                Enter();
                var list = new List<object?>();
                while (true)
                {
                    SkipWs();
                    if (Peek() == close) { _p++; break; }
                    list.Add(ParseValue());
                    SkipWs();
                    if (Peek() == ',') { _p++; continue; }
                    SkipWs();
                    Expect(close);
                    break;
                }
                _depth--;
                return list;
            }
            if (c == '{') return ParseDict();
            int start = _p;
            while (_p < _s.Length && (char.IsLetterOrDigit(_s[_p]) || _s[_p] is '_' or '-' or '+')) _p++;
            string tok = _s[start.._p];
            if (tok.Length == 0) throw new FormatException($"unexpected character '{c}' at {_p}");
            if (tok == "True") return true;
            if (tok == "False") return false;
            if (tok == "None") return null;
            if (tok.EndsWith('L')) tok = tok[..^1];
            if (long.TryParse(tok, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)) return v;
            throw new FormatException($"unexpected token '{tok}'");
        }

        private char Peek() => _p < _s.Length ? _s[_p] : '\0';

        private void SkipWs()
        {
            while (_p < _s.Length && char.IsWhiteSpace(_s[_p])) _p++;
        }

        private void Expect(char c)
        {
            if (Peek() != c) throw new FormatException($"expected '{c}' at {_p}");
            _p++;
        }
    }
}
