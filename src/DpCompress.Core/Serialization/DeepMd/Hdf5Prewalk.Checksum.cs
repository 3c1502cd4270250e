using System.Buffers.Binary;
using System.Numerics;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// The checksums of <see cref="Hdf5Prewalk"/>: HDF5 protects version 2 and 3 superblocks, version 2 object
/// headers ("OHDR") and their continuation blocks ("OCHK") with Bob Jenkins' lookup3 hash (hashlittle, initial
/// value 0; HDF5 File Format Specification 3.0, I.C and the fields "Checksum" of II.A and IV.A.1.b). PureHDF
/// reads the stored value and never compares it, so a flipped bit in such a block, where the writer keeps small
/// datasets (compact layout) and attributes, would be read as a valid number. The walk recomputes every one and
/// refuses a mismatch.
/// </summary>
internal static partial class Hdf5Prewalk
{
    /// <summary>
    /// lookup3's hashlittle of <paramref name="data"/> with initial value <paramref name="seed"/>, by 12-byte
    /// blocks as in Jenkins' lookup3.c (the byte-by-byte variant HDF5 uses, H5_checksum_lookup3).
    /// </summary>
    internal static uint Lookup3(ReadOnlySpan<byte> data, uint seed = 0)
    {
        var h = new Lookup3State((ulong)data.Length, seed);
        h.Append(data);
        return h.Finish();
    }

    /// <summary><see cref="Lookup3(ReadOnlySpan{byte}, uint)"/> of <paramref name="data"/> fed to <see cref="Lookup3State"/> in pieces of <paramref name="piece"/> bytes (the way the walk feeds long blocks).</summary>
    internal static uint Lookup3(byte[] data, int piece, uint seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(piece, 1);
        var h = new Lookup3State((ulong)data.Length, seed);
        for (int at = 0; at < data.Length; at += piece)
            h.Append(data.AsSpan(at, Math.Min(piece, data.Length - at)));
        return h.Finish();
    }

    /// <summary>lookup3 over a byte stream of known total length, fed in pieces of any size.</summary>
    internal struct Lookup3State
    {
        private uint _a, _b, _c;
        private readonly ulong _length;
        private ulong _seen;
        private ulong _tail;           // bytes of the unfinished 12-byte block (0..12)
        private TailBlock _block;

        [System.Runtime.CompilerServices.InlineArray(12)]
        private struct TailBlock { private byte _first; }

        public Lookup3State(ulong length, uint seed)
        {
            _length = length;
            _a = _b = _c = 0xdeadbeef + (uint)length + seed;
        }

        /// <summary>Adds the next bytes of the stream.</summary>
        public void Append(ReadOnlySpan<byte> data)
        {
            if (_seen + (ulong)data.Length > _length) throw new ArgumentException("More bytes than the declared length.");
            foreach (byte b in data)
            {
                // A full block is mixed only when more bytes follow: the last 1-12 bytes go through the final step.
                if (_tail == 12)
                {
                    Span<byte> k = _block;
                    _a += BinaryPrimitives.ReadUInt32LittleEndian(k);
                    _b += BinaryPrimitives.ReadUInt32LittleEndian(k[4..]);
                    _c += BinaryPrimitives.ReadUInt32LittleEndian(k[8..]);
                    Mix(ref _a, ref _b, ref _c);
                    _tail = 0;
                }
                _block[(int)_tail++] = b;
            }
            _seen += (ulong)data.Length;
        }

        /// <summary>The hash of the whole stream (all <c>length</c> bytes must have been appended).</summary>
        public uint Finish()
        {
            if (_seen != _length) throw new InvalidOperationException("Fewer bytes than the declared length.");
            if (_length == 0) return _c;
            Span<byte> k = stackalloc byte[12];
            ((ReadOnlySpan<byte>)_block)[..(int)_tail].CopyTo(k);   // the rest stays 0, as the byte switch of lookup3.c adds nothing for it
            uint a = _a + BinaryPrimitives.ReadUInt32LittleEndian(k);
            uint b = _b + BinaryPrimitives.ReadUInt32LittleEndian(k[4..]);
            uint c = _c + BinaryPrimitives.ReadUInt32LittleEndian(k[8..]);
            Final(ref a, ref b, ref c);
            return c;
        }

        private static void Mix(ref uint a, ref uint b, ref uint c)
        {
            a -= c; a ^= BitOperations.RotateLeft(c, 4); c += b;
            b -= a; b ^= BitOperations.RotateLeft(a, 6); a += c;
            c -= b; c ^= BitOperations.RotateLeft(b, 8); b += a;
            a -= c; a ^= BitOperations.RotateLeft(c, 16); c += b;
            b -= a; b ^= BitOperations.RotateLeft(a, 19); a += c;
            c -= b; c ^= BitOperations.RotateLeft(b, 4); b += a;
        }

        private static void Final(ref uint a, ref uint b, ref uint c)
        {
            c ^= b; c -= BitOperations.RotateLeft(b, 14);
            a ^= c; a -= BitOperations.RotateLeft(c, 11);
            b ^= a; b -= BitOperations.RotateLeft(a, 25);
            c ^= b; c -= BitOperations.RotateLeft(b, 16);
            a ^= c; a -= BitOperations.RotateLeft(c, 4);
            b ^= a; b -= BitOperations.RotateLeft(a, 14);
            c ^= b; c -= BitOperations.RotateLeft(b, 24);
        }
    }

    private sealed partial class Walker
    {
        /// <summary>
        /// Checks the checksum stored at file position <paramref name="start"/> + <paramref name="length"/> against
        /// lookup3 of the <paramref name="length"/> bytes before it (read in pieces, charged to the budget).
        /// </summary>
        private void VerifyChecksum(long start, ulong length, string what)
        {
            if (length > (ulong)(_length - start) || (long)length > _length - start - 4)
                throw Fail($"{what} ({length} bytes and a checksum at byte {start}) lies past the end of the file ({_length} bytes)");
            var hash = new Lookup3State(length, 0);
            for (ulong done = 0; done < length;)
            {
                int n = (int)Math.Min((ulong)MaxRead, length - done);
                hash.Append(ReadAt(start + (long)done, n, what));
                done += (ulong)n;
            }
            uint computed = hash.Finish();
            uint stored = BinaryPrimitives.ReadUInt32LittleEndian(ReadAt(start + (long)length, 4, $"the checksum of {what}"));
            if (computed != stored)
                throw Fail($"the checksum of {what} (byte {start}) does not match its contents: stored 0x{stored:x8}, computed 0x{computed:x8}");
        }
    }
}
