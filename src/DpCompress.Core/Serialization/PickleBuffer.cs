using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DpCompress.Core.Inference.Fast;

namespace DpCompress.Core.Serialization;

/// <summary>
/// The growing output of <see cref="PickleWriter"/>: a byte array that doubles when full (at least to what a
/// reservation asks), allocated with huge pages once large (<see cref="HugePages.NewArray{T}(long, bool)"/>),
/// and handed out without a final copy. Also writes raw bytes as the UTF-8 form of their latin-1 text, the way
/// protocol 2 stores <c>bytes</c> — straight into the buffer, with no string in between.
/// </summary>
internal sealed class PickleBuffer
{
    private byte[] _buffer = new byte[4096];
    private int _length;

    /// <summary>Bytes written.</summary>
    public int Length => _length;

    /// <summary>The bytes written (a view of the buffer, valid until the next write).</summary>
    public ReadOnlyMemory<byte> Written => _buffer.AsMemory(0, _length);

    public void Clear() => _length = 0;

    public void WriteByte(byte b)
    {
        if (_length == _buffer.Length) Reserve(1);
        _buffer[_length++] = b;
    }

    public void Write(ReadOnlySpan<byte> bytes)
    {
        Reserve(bytes.Length);
        bytes.CopyTo(_buffer.AsSpan(_length));
        _length += bytes.Length;
    }

    /// <summary>UTF-8 bytes of the latin-1 text of <paramref name="bytes"/>: its length plus one per byte ≥ 0x80.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one call runs for seconds: no tier-0 start
    public static long Latin1Utf8Length(ReadOnlySpan<byte> bytes)
    {
        long high = 0;
        int i = 0;
        for (; i + 32 <= bytes.Length; i += 32)
            high += uint.PopCount(Vector256.ExtractMostSignificantBits(Vector256.Create(bytes.Slice(i, 32))));
        for (; i < bytes.Length; i++) high += bytes[i] >> 7;
        return bytes.Length + high;
    }

    /// <summary>
    /// Appends the UTF-8 form of the latin-1 text of <paramref name="bytes"/> (<paramref name="utf8Length"/> bytes,
    /// from <see cref="Latin1Utf8Length"/>): a byte below 0x80 as itself, the others as 0xC0 | b &gt;&gt; 6, 0x80 | b &amp; 0x3F.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void WriteLatin1AsUtf8(ReadOnlySpan<byte> bytes, long utf8Length)
    {
        if (utf8Length >= Array.MaxLength - _length) throw new IOException($"The pickle would exceed {Array.MaxLength} bytes.");
        Reserve((int)utf8Length + 1);   // each byte is stored as two, the second overwritten when it was ASCII
        ref byte dst = ref _buffer[_length];
        int o = 0;
        foreach (byte b in bytes)
        {
            // Branch-free: a byte below 0x80 → (b, junk), advance 1; else → (0xC0 | b >> 6, 0x80 | b & 0x3F), advance 2.
            int high = b >> 7, mask = -high;
            int first = b ^ ((b ^ (0xC0 | (b >> 6))) & mask);   // b, or 0xC0 | b >> 6 when high (no branch: the JIT made one of ?:)
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref dst, o), (ushort)(first | ((0x80 | (b & 0x3F)) << 8)));
            o += 1 + high;
        }
        if (o != utf8Length) throw new InvalidOperationException("Latin-1 text length mismatch.");
        _length += o;
    }

    /// <summary>Room for <paramref name="count"/> more bytes: doubling, or exactly enough (plus 1 MiB) for one large record.</summary>
    private void Reserve(int count)
    {
        long need = (long)_length + count;
        if (need <= _buffer.Length) return;
        if (need > Array.MaxLength) throw new IOException($"The pickle would exceed {Array.MaxLength} bytes.");
        long size = Math.Min(Array.MaxLength, Math.Max(need + (1 << 20), 2L * _buffer.Length));
        var next = HugePages.NewArray<byte>(size, zeroed: false);   // every byte below _length is copied, the rest written before it is read
        _buffer.AsSpan(0, _length).CopyTo(next);
        _buffer = next;
    }
}
