using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using DpCompress.Core.Inference.Fast;

namespace DpCompress.Core.Serialization;

/// <summary>
/// A large pickled str whose characters are all below 256, kept as those characters' bytes (one per character)
/// instead of a UTF-16 string. Protocol 2 stores every bytes object as <c>_codecs.encode(str, 'latin1')</c>, so a
/// compressed table arrives as hundreds of megabytes of such text: decoding it straight to bytes skips a string
/// twice the table's size and the copy back. <see cref="SafeUnpickler"/> makes one only for the first argument of
/// _codecs.encode and hands its bytes to it (for 'latin1'; any other encoding gets the string, <see cref="ToString"/>).
/// Measured (alloy5 model, order 5, dx 0.001: an 846 MB pickle; `Import-DpModel` of the exported file, one process
/// each): 19.6-21.5 s before, 3.0-6.0 s with this and the huge-page record buffers.
/// </summary>
internal sealed class Latin1Text
{
    private Latin1Text(byte[] bytes) => Bytes = bytes;

    /// <summary>The characters as bytes (latin-1).</summary>
    public byte[] Bytes { get; }

    public override string ToString() => System.Text.Encoding.Latin1.GetString(Bytes);

    /// <summary>
    /// The latin-1 text of <paramref name="utf8"/>, or null when it holds any character from 256 up or is not
    /// well-formed UTF-8: every byte is below 0x80, or a lead 0xC2/0xC3 followed by one continuation byte
    /// (0x80–0xBF), which stands for ((lead &amp; 3) &lt;&lt; 6) | (continuation &amp; 0x3F).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]   // one call runs for seconds: no tier-0 start
    public static Latin1Text? TryDecode(ReadOnlySpan<byte> utf8)
    {
        // One character per byte that is not a continuation byte (10xxxxxx).
        long continuations = 0;
        int i = 0;
        var top = Vector256.Create((byte)0xC0);
        var cont = Vector256.Create((byte)0x80);
        for (; i + 32 <= utf8.Length; i += 32)
            continuations += uint.PopCount(Vector256.Equals(Vector256.Create(utf8.Slice(i, 32)) & top, cont).ExtractMostSignificantBits());
        for (; i < utf8.Length; i++) continuations += (utf8[i] & 0xC0) == 0x80 ? 1 : 0;
        long count = utf8.Length - continuations;
        var bytes = HugePages.NewArray<byte>(count, zeroed: false);   // every byte is written below, or the array is dropped
        // Branch-free (the bytes of a float table are random): read two bytes; an ASCII byte is itself and
        // advances one, a two-byte sequence advances two; every sequence's validity is ANDed into ok.
        ref byte src = ref MemoryMarshal.GetReference(utf8);
        int n = utf8.Length, o = 0, ok = 1;
        i = 0;
        while (i < n - 1 && o < bytes.Length)
        {
            int b0 = Unsafe.Add(ref src, i), b1 = Unsafe.Add(ref src, i + 1);
            int high = b0 >> 7, mask = -high;
            bytes[o++] = (byte)((b0 & ~mask) | ((((b0 & 3) << 6) | (b1 & 0x3F)) & mask));
            ok &= (high ^ 1) | (((b0 & 0xFE) == 0xC2 ? 1 : 0) & ((b1 & 0xC0) == 0x80 ? 1 : 0));
            i += 1 + high;
        }
        if (i == n - 1)
        {
            // The last byte alone: ASCII, or a truncated sequence.
            int b0 = Unsafe.Add(ref src, i);
            if (b0 >= 0x80 || o >= bytes.Length) return null;
            bytes[o++] = (byte)b0;
            i++;
        }
        return ok == 1 && i == n && o == bytes.Length ? new Latin1Text(bytes) : null;
    }
}
