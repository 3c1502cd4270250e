using System.Buffers.Binary;
using System.Text;

namespace DpCompress.Core.Serialization;

/// <summary>
/// A minimal zip writer for torch.save archives: every record STORED (no compression), its data
/// aligned to 64 bytes with a padding extra field (id "FB"), as PyTorch's own writer does, no
/// zip64 (each record and the archive must stay below 4 GiB).
/// </summary>
internal sealed class StoredZipWriter
{
    private const int Alignment = 64;
    private const ushort PaddingFieldId = 0x4246; // "FB", PyTorch's padding extra field
    private const ushort DosDate = (0 << 9) | (1 << 5) | 1; // 1980-01-01
    private readonly Stream _stream;
    private readonly List<(byte[] Name, uint Crc, uint Size, uint Offset)> _entries = new();
    private long _position;

    public StoredZipWriter(Stream stream) => _stream = stream;

    /// <summary>Appends one record.</summary>
    public void Add(string name, ReadOnlySpan<byte> data)
    {
        byte[] nameBytes = Encoding.UTF8.GetBytes(name);
        if (_position > uint.MaxValue - 1024L - data.Length)
            throw new IOException("The checkpoint would exceed 4 GiB, which this writer does not support (no zip64).");
        long headerEnd = _position + 30 + nameBytes.Length + 4;
        int pad = (int)((Alignment - headerEnd % Alignment) % Alignment);
        uint crc = System.IO.Hashing.Crc32.HashToUInt32(data);   // zip's CRC-32 (reflected 0xEDB88320), vectorised

        Span<byte> h = stackalloc byte[30];
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x04034b50);
        BinaryPrimitives.WriteUInt16LittleEndian(h[4..], 20); // version needed
        BinaryPrimitives.WriteUInt16LittleEndian(h[6..], 0x0800); // flags: UTF-8 names
        BinaryPrimitives.WriteUInt16LittleEndian(h[8..], 0); // STORED
        BinaryPrimitives.WriteUInt16LittleEndian(h[10..], 0); // time
        BinaryPrimitives.WriteUInt16LittleEndian(h[12..], DosDate);
        BinaryPrimitives.WriteUInt32LittleEndian(h[14..], crc);
        BinaryPrimitives.WriteUInt32LittleEndian(h[18..], (uint)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(h[22..], (uint)data.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[26..], (ushort)nameBytes.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(h[28..], (ushort)(4 + pad));
        _entries.Add((nameBytes, crc, (uint)data.Length, (uint)_position));
        Write(h);
        Write(nameBytes);
        Span<byte> extra = stackalloc byte[4 + pad];
        extra.Clear();
        BinaryPrimitives.WriteUInt16LittleEndian(extra, PaddingFieldId);
        BinaryPrimitives.WriteUInt16LittleEndian(extra[2..], (ushort)pad);
        Write(extra);
        Write(data);
    }

    /// <summary>Writes the central directory and its end record.</summary>
    public void Finish()
    {
        long cdStart = _position;
        Span<byte> c = stackalloc byte[46];
        foreach (var (name, crc, size, offset) in _entries)
        {
            c.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(c, 0x02014b50);
            BinaryPrimitives.WriteUInt16LittleEndian(c[4..], 20); // made by
            BinaryPrimitives.WriteUInt16LittleEndian(c[6..], 20); // needed
            BinaryPrimitives.WriteUInt16LittleEndian(c[8..], 0x0800);
            BinaryPrimitives.WriteUInt16LittleEndian(c[10..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(c[12..], 0);
            BinaryPrimitives.WriteUInt16LittleEndian(c[14..], DosDate);
            BinaryPrimitives.WriteUInt32LittleEndian(c[16..], crc);
            BinaryPrimitives.WriteUInt32LittleEndian(c[20..], size);
            BinaryPrimitives.WriteUInt32LittleEndian(c[24..], size);
            BinaryPrimitives.WriteUInt16LittleEndian(c[28..], (ushort)name.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(c[42..], offset);
            Write(c);
            Write(name);
        }
        long cdSize = _position - cdStart;
        if (_entries.Count > ushort.MaxValue || _position > uint.MaxValue)
            throw new IOException("The checkpoint would exceed the limits of a zip without zip64.");
        Span<byte> e = stackalloc byte[22];
        e.Clear();
        BinaryPrimitives.WriteUInt32LittleEndian(e, 0x06054b50);
        BinaryPrimitives.WriteUInt16LittleEndian(e[8..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt16LittleEndian(e[10..], (ushort)_entries.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(e[12..], (uint)cdSize);
        BinaryPrimitives.WriteUInt32LittleEndian(e[16..], (uint)cdStart);
        Write(e);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        _stream.Write(bytes);
        _position += bytes.Length;
    }
}
