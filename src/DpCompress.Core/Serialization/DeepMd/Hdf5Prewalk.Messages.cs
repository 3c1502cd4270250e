using System.Buffers.Binary;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// The header messages of <see cref="Hdf5Prewalk"/>: each message body is read through a <see cref="Cursor"/>
/// that refuses any field reaching past the body, in the order and with the widths PureHDF 2.2.0 decodes
/// them (which is the order of the HDF5 File Format Specification 3.0, section IV.A.2). Where a message
/// declares the size of a part that PureHDF instead finds by reading (an attribute's name, datatype and
/// dataspace; a filter's name), the two must agree, so that both readings see the same bytes.
/// </summary>
internal static partial class Hdf5Prewalk
{
    /// <summary>Largest dataspace or array rank: HDF5's H5S_MAX_RANK.</summary>
    private const int MaxRank = 32;

    /// <summary>Deepest nesting of datatypes (compound, enumeration, variable-length and array members).</summary>
    private const int MaxTypeDepth = 32;

    /// <summary>Size of a variable-length element in the file: sequence length (4), global heap collection address (O), object index (4).</summary>
    private const int VariableLengthSize = 4 + OffsetSize + 4;

    /// <summary>A datatype's class (IV.A.2.d: 0 fixed-point … 10 array) and its size in bytes.</summary>
    private readonly record struct TypeInfo(int Class, ulong Size);

    private static string MessageName(int type) => type switch
    {
        0x00 => "NIL",
        0x01 => "Dataspace",
        0x02 => "Link Info",
        0x03 => "Datatype",
        0x04 => "Fill Value (Old)",
        0x05 => "Fill Value",
        0x06 => "Link",
        0x07 => "External Data Files",
        0x08 => "Data Layout",
        0x09 => "Bogus",
        0x0A => "Group Info",
        0x0B => "Filter Pipeline",
        0x0C => "Attribute",
        0x0D => "Object Comment",
        0x0E => "Object Modification Time (Old)",
        0x0F => "Shared Message Table",
        0x10 => "Object Header Continuation",
        0x11 => "Symbol Table",
        0x12 => "Object Modification Time",
        0x13 => "B-tree 'K' Values",
        0x14 => "Driver Info",
        0x15 => "Attribute Info",
        0x16 => "Object Reference Count",
        _ => $"type {type}",
    };

    private sealed partial class Walker
    {
        /// <summary>Checks the body of the message at file position <paramref name="at"/> (IV.A.2.a–w); queues the headers, groups, blocks and collections it points to.</summary>
        private void Message(int type, byte flags, ReadOnlySpan<byte> body, long at, List<(ulong, ulong)> blocks)
        {
            var c = new Cursor(body, type, at, this);
            if ((flags & 0x02) != 0)
                throw c.Fail("it is shared with another object (a committed datatype); this reader does not follow shared messages");
            switch (type)
            {
                case 0x00: // NIL: skipped
                    break;
                case 0x01:
                    Dataspace(ref c);
                    break;
                case 0x02:
                    StorageInfo(ref c, "links", 8);
                    break;
                case 0x03:
                    Datatype(ref c, 0);
                    break;
                case 0x04: // the whole message: size (4) and that many bytes of fill value
                    c.Take(c.U32("the fill value size"), "the fill value");
                    break;
                case 0x05:
                    FillValue(ref c);
                    break;
                case 0x06:
                    Link(ref c);
                    break;
                case 0x08:
                    Layout(ref c);
                    break;
                case 0x09:
                    c.Need(4, "the bogus value");
                    break;
                case 0x0A: // version 0, flags, link phase change values (2 + 2), estimated entry count and name length (2 + 2)
                    Version(ref c, 0, "group info");
                    byte groupFlags = c.U8("the flags");
                    c.Skip((groupFlags & 1) != 0 ? 4u : 0u, "the link phase change values");
                    c.Skip((groupFlags & 2) != 0 ? 4u : 0u, "the estimated entry information");
                    break;
                case 0x0B:
                    FilterPipeline(ref c);
                    break;
                case 0x0C:
                    Attribute(ref c);
                    break;
                case 0x0D:
                    c.Terminated(false, "the comment");
                    break;
                case 0x0E: // year (4), month, day, hour, minute, second (2 each), reserved (2)
                    c.Need(14, "the modification time");
                    break;
                case 0x0F: // version, table address (O), number of indices
                    c.Need(2 + OffsetSize, "the shared message table");
                    break;
                case 0x10: // continuation block address (O) and length (L)
                    blocks.Add((c.U64("the continuation address"), c.U64("the continuation length")));
                    break;
                case 0x11: // v1 B-tree address (O) and local heap address (O)
                    _pendingGroups.Push((c.U64("the B-tree address"), c.U64("the local heap address")));
                    break;
                case 0x12: // version, reserved (3), seconds since the epoch (4)
                    c.Need(8, "the modification time");
                    break;
                case 0x13: // version, group internal K, group leaf K, indexed storage internal K (2 each)
                    c.Need(7, "the K values");
                    break;
                case 0x15:
                    StorageInfo(ref c, "attributes", 2);
                    break;
                case 0x16: // version, reference count (4)
                    c.Need(5, "the reference count");
                    break;
                case 0x07:
                    throw c.Fail("it stores the dataset's values in other files, which this reader never opens");
                case 0x14:
                    throw c.Fail("driver info (multi-file or family drivers) is not supported");
                default:
                    throw c.Fail("HDF5 defines no such message, so PureHDF cannot read it");
            }
        }

        private static void Version(ref Cursor c, int expected, string what)
        {
            byte version = c.U8("the version");
            if (version != expected)
                throw c.Fail($"its {what} version is {version}; only version {expected} is defined");
        }

        /// <summary>
        /// Link Info (IV.A.2.c) and Attribute Info (IV.A.2.v): version 0, flags, maximum creation index (8 bytes
        /// for links, 2 for attributes) when tracked, fractal heap address, name index v2 B-tree address, and
        /// the creation order index address when indexed. Both addresses must be undefined: dense storage is refused.
        /// </summary>
        private static void StorageInfo(ref Cursor c, string what, uint creationIndexBytes)
        {
            Version(ref c, 0, what == "links" ? "link info" : "attribute info");
            byte flags = c.U8("the flags");
            c.Skip((flags & 1) != 0 ? creationIndexBytes : 0u, "the maximum creation index");
            ulong heap = c.U64("the fractal heap address");
            ulong names = c.U64("the name index address");
            c.Skip((flags & 2) != 0 ? (uint)OffsetSize : 0u, "the creation order index address");
            if (heap != Undefined || names != Undefined)
                throw c.Fail($"it keeps the object's {what} in dense storage (a fractal heap and v2 B-tree), which neither DeePMD-kit nor DpCompress writes and this reader does not follow");
        }

        /// <summary>
        /// Dataspace (IV.A.2.b): version 1 (rank, flags, reserved 5) or 2 (rank, flags, type 0 scalar, 1 simple,
        /// 2 null), rank ≤ 32 dimension sizes (L), maximum sizes when flag 1, permutation indices when flag 2.
        /// </summary>
        /// <returns>The number of elements (saturating at <see cref="ulong.MaxValue"/>).</returns>
        private static ulong Dataspace(ref Cursor c)
        {
            byte version = c.U8("the dataspace version");
            byte rank = c.U8("the rank");
            byte flags = c.U8("the dataspace flags");
            int kind;
            if (version == 1)
            {
                c.Skip(5, "the reserved bytes");
                kind = rank > 0 ? 1 : 0;
            }
            else if (version == 2)
            {
                kind = c.U8("the dataspace type");
                if (kind > 2)
                    throw c.Fail($"its dataspace type is {kind} (0 scalar, 1 simple or 2 null expected)");
            }
            else
            {
                throw c.Fail($"its dataspace version is {version}; versions 1 and 2 are defined");
            }
            if (rank > MaxRank)
                throw c.Fail($"its dataspace rank {rank} exceeds HDF5's limit of {MaxRank}");
            ulong count = 1;
            for (int i = 0; i < rank; i++)
            {
                ulong d = c.U64("a dimension size");
                count = d != 0 && count > ulong.MaxValue / d ? ulong.MaxValue : count * d;
            }
            c.Skip((flags & 1) != 0 ? 8u * rank : 0u, "the maximum dimension sizes");
            c.Skip((flags & 2) != 0 ? 8u * rank : 0u, "the permutation indices");
            return kind switch { 0 => 1, 2 => 0, _ => count };
        }

        /// <summary>
        /// Datatype (IV.A.2.d): class and version (4 bits each), class bit field (3 bytes), size (4), then the
        /// class's properties; compound, enumeration, variable-length and array types nest further datatypes.
        /// </summary>
        private TypeInfo Datatype(ref Cursor c, int depth)
        {
            if (depth > MaxTypeDepth)
                throw c.Fail($"its datatypes nest deeper than {MaxTypeDepth} levels");
            byte classAndVersion = c.U8("the datatype class");
            int kind = classAndVersion & 0x0F, version = classAndVersion >> 4;
            var bits = c.Take(3, "the datatype bit field");
            int members = bits[0] | (bits[1] << 8);
            int tagLength = bits[0];
            ulong size = c.U32("the datatype size");
            if (version is < 1 or > 3 && !(kind == 7 && version == 4))
                throw c.Fail($"its datatype (class {kind}) has version {version}, which PureHDF does not decode");
            if (size > (ulong)_length)
                throw c.Fail($"its datatype declares {size}-byte elements, larger than the whole file");
            switch (kind)
            {
                case 0: // fixed-point: bit offset, bit precision
                case 4: // bit field: the same
                    c.Skip(4, "the fixed-point properties");
                    break;
                case 1: // floating-point: bit offset, precision, exponent and mantissa location and size, exponent bias
                    c.Skip(12, "the floating-point properties");
                    break;
                case 2: // time: bit precision
                    c.Skip(2, "the time properties");
                    break;
                case 3: // string
                case 7: // reference
                    break;
                case 5: // opaque: the ASCII tag, its length in the bit field
                    c.Skip((uint)tagLength, "the opaque tag");
                    break;
                case 6:
                    Compound(ref c, version, size, members, depth);
                    break;
                case 8: // enumeration: base type, member names, member values (one element each)
                    Datatype(ref c, depth + 1);
                    for (int i = 0; i < members; i++)
                        c.Terminated(version <= 2, "an enumeration member name");
                    c.Skip((ulong)members * size, "the enumeration values");
                    break;
                case 9: // variable-length sequence or string: base type
                    Datatype(ref c, depth + 1);
                    if (size != VariableLengthSize)
                        throw c.Fail($"its variable-length datatype declares {size}-byte elements; HDF5 stores them in {VariableLengthSize}");
                    break;
                case 10:
                    Array(ref c, version, depth);
                    break;
                default:
                    throw c.Fail($"its datatype class is {kind}, which PureHDF does not decode");
            }
            return new TypeInfo(kind, size);
        }

        /// <summary>
        /// Compound members: version 1 name (NUL-terminated, padded to 8), byte offset (4), dimensionality (1),
        /// reserved (3), permutation (4), reserved (4), dimension sizes (4 × 4), type; version 2 name (padded),
        /// offset (4), type; version 3 name (not padded), offset in the fewest bytes that hold the type size, type.
        /// </summary>
        private void Compound(ref Cursor c, int version, ulong size, int members, int depth)
        {
            // PureHDF's MathUtils.FindMinByteCount: ceil(bit length of size / 8), at least 1.
            uint offsetBytes = 1;
            for (ulong v = size >> 8; v != 0; v >>= 8)
                offsetBytes++;
            for (int i = 0; i < members; i++)
            {
                c.Terminated(version <= 2, "a compound member name");
                c.Skip(version switch { 1 => 4u + 28u, 2 => 4u, _ => offsetBytes }, "a compound member offset");
                Datatype(ref c, depth + 1);
            }
        }

        /// <summary>Array (version 2: rank, reserved 3, sizes, permutation; version 3: rank, sizes), then the base type.</summary>
        private void Array(ref Cursor c, int version, int depth)
        {
            if (version < 2)
                throw c.Fail("it declares an array datatype of version 1, which HDF5 does not define");
            byte rank = c.U8("the array rank");
            if (rank > MaxRank)
                throw c.Fail($"its array rank {rank} exceeds HDF5's limit of {MaxRank}");
            c.Skip(version == 2 ? 3u : 0u, "the reserved bytes");
            c.Skip(4u * rank, "the array dimension sizes");
            c.Skip(version == 2 ? 4u * rank : 0u, "the array permutation indices");
            Datatype(ref c, depth + 1);
        }

        /// <summary>
        /// Fill Value (IV.A.2.f): versions 1 and 2 (space allocation time, fill write time, defined flag; size (4)
        /// and value when the flag is 1), version 3 (flags; size and value when bit 5 is set and bit 4 is not).
        /// </summary>
        private static void FillValue(ref Cursor c)
        {
            byte version = c.U8("the fill value version");
            bool present;
            if (version is 1 or 2)
            {
                c.Skip(2, "the allocation and write times");
                present = c.U8("the fill value defined flag") == 1;
            }
            else if (version == 3)
            {
                byte flags = c.U8("the fill value flags");
                present = (flags & 0x10) == 0 && (flags & 0x20) != 0;
            }
            else
            {
                throw c.Fail($"its fill value version is {version}; versions 1 to 3 are defined");
            }
            if (present)
                c.Take(c.U32("the fill value size"), "the fill value");
        }

        /// <summary>
        /// Link (IV.A.2.g): version 1, flags, link type (when flag 3), creation order (8, when flag 2), name
        /// encoding (when flag 4), name length in 1, 2, 4 or 8 bytes (flag bits 0–1), name, then for a hard
        /// link the object header address. Other link types are refused.
        /// </summary>
        private void Link(ref Cursor c)
        {
            Version(ref c, 1, "link");
            byte flags = c.U8("the link flags");
            int linkType = (flags & 0x08) != 0 ? c.U8("the link type") : 0;
            c.Skip((flags & 0x04) != 0 ? 8u : 0u, "the creation order");
            c.Skip((flags & 0x10) != 0 ? 1u : 0u, "the name encoding");
            ulong nameLength = c.Unsigned(1 << (flags & 3), "the link name length");
            c.Take(nameLength, "the link name");
            if (linkType != 0)
                throw c.Fail($"it is a {(linkType == 1 ? "soft" : linkType == 64 ? "external" : "user-defined")} link; DeePMD-kit models hold hard links only");
            PushHeader(c.U64("the link target address"), $"the link at byte {c.At}");
        }

        /// <summary>
        /// Data Layout (IV.A.2.i). Versions 1 and 2: dimensionality, class, reserved (5), address (not for
        /// compact), dimension sizes (4 each), compact size (4) and data. Versions 3 and 4: class, then compact
        /// size (2) and data, or contiguous address (O) and size (L), which must lie inside the file.
        /// Chunked and virtual storage are refused.
        /// </summary>
        private void Layout(ref Cursor c)
        {
            byte version = c.U8("the layout version");
            if (version is < 1 or > 4)
                throw c.Fail($"its layout version is {version}; versions 1 to 4 are defined");
            byte rank = version <= 2 ? c.U8("the dimensionality") : (byte)0;
            byte layoutClass = c.U8("the layout class");
            if (layoutClass >= 2)
                throw c.Fail(layoutClass is 2 or 3
                    ? $"the dataset uses {(layoutClass == 2 ? "chunked" : "virtual")} storage, which neither DeePMD-kit nor DpCompress writes and this reader does not follow"
                    : $"its layout class is {layoutClass} (0 compact, 1 contiguous, 2 chunked or 3 virtual expected)");
            if (version <= 2)
            {
                c.Skip(5, "the reserved bytes");
                ulong address = layoutClass == 1 ? c.U64("the data address") : Undefined;
                c.Skip(4u * rank, "the dimension sizes");
                if (layoutClass == 0)
                    c.Take(c.U32("the compact data size"), "the compact data");
                else if (address != Undefined)
                    Locate(address, 0, $"the data of the dataset whose layout is at byte {c.At}");
                return;
            }
            if (layoutClass == 0)
            {
                c.Take(c.U16("the compact data size"), "the compact data");
                return;
            }
            ulong start = c.U64("the data address");
            ulong bytes = c.U64("the data size");
            if (start != Undefined)
                Locate(start, bytes, $"the contiguous data of the dataset whose layout is at byte {c.At}");
        }

        /// <summary>
        /// Filter Pipeline (IV.A.2.l): version, number of filters (≤ 32), reserved (6, version 1); each filter:
        /// id, name length (version 1, or id ≥ 256), flags, number of client values, name, values (4 each),
        /// padding (4, version 1 with an odd count). A version 1 name is NUL-terminated and padded to 8 bytes,
        /// which must be its declared length.
        /// </summary>
        private static void FilterPipeline(ref Cursor c)
        {
            byte version = c.U8("the filter pipeline version");
            byte filters = c.U8("the number of filters");
            if (version is not (1 or 2))
                throw c.Fail($"its filter pipeline version is {version}; versions 1 and 2 are defined");
            if (filters > 32)
                throw c.Fail($"it lists {filters} filters; HDF5 allows 32");
            c.Skip(version == 1 ? 6u : 0u, "the reserved bytes");
            for (int i = 0; i < filters; i++)
            {
                ushort id = c.U16("a filter id");
                int nameLength = version == 1 || id >= 256 ? c.U16("a filter name length") : 0;
                c.Skip(2, "the filter flags");
                ushort values = c.U16("the number of client values");
                if (nameLength != 0 && version == 1)
                {
                    int length = c.Terminated(true, "a filter name");
                    if ((length + 1 + 7) / 8 * 8 != nameLength)
                        throw c.Fail($"a filter name takes {(length + 1 + 7) / 8 * 8} bytes with its terminator and padding, but its length field says {nameLength}");
                }
                else if (nameLength != 0)
                {
                    c.Take((uint)nameLength, "a filter name");
                }
                c.Skip(4u * values, "the client values");
                c.Skip(version == 1 && values % 2 == 1 ? 4u : 0u, "the client value padding");
            }
        }

        /// <summary>
        /// Attribute (IV.A.2.m): version 1 to 3, flags (shared datatype or dataspace are refused), name size,
        /// datatype size, dataspace size (2 each), name encoding (version 3), then name, datatype and dataspace
        /// (each padded to 8 bytes in version 1) and the data: elements × element size bytes, all inside the
        /// message. The data of a variable-length attribute points into global heap collections, queued here.
        /// </summary>
        private void Attribute(ref Cursor c)
        {
            byte version = c.U8("the attribute version");
            if (version is < 1 or > 3)
                throw c.Fail($"its attribute version is {version}; versions 1 to 3 are defined");
            byte flags = c.U8("the attribute flags");
            if (version >= 2 && (flags & 3) != 0)
                throw c.Fail("the attribute shares its datatype or dataspace with another object; this reader does not follow shared messages");
            ushort nameSize = c.U16("the name size");
            ushort typeSize = c.U16("the datatype size");
            ushort spaceSize = c.U16("the dataspace size");
            c.Skip(version == 3 ? 1u : 0u, "the name encoding");

            c.Need(nameSize, "the attribute name");
            int nameLength = c.Terminated(version == 1, "the attribute name");
            if (nameLength + 1 != nameSize)
                throw c.Fail($"the attribute name takes {nameLength + 1} bytes with its terminator, but its size field says {nameSize}");

            c.Need(typeSize, "the attribute datatype");
            int start = c.Position;
            var type = Datatype(ref c, 0);
            if (c.Position - start != typeSize)
                throw c.Fail($"the attribute datatype takes {c.Position - start} bytes, but its size field says {typeSize}");
            c.Skip(version == 1 ? (uint)((8 - typeSize % 8) % 8) : 0u, "the datatype padding");

            c.Need(spaceSize, "the attribute dataspace");
            start = c.Position;
            ulong count = Dataspace(ref c);
            if (c.Position - start != spaceSize)
                throw c.Fail($"the attribute dataspace takes {c.Position - start} bytes, but its size field says {spaceSize}");
            c.Skip(version == 1 ? (uint)((8 - spaceSize % 8) % 8) : 0u, "the dataspace padding");

            if (type.Size > (ulong)c.Length)
                throw c.Fail($"the attribute's elements are {type.Size} bytes each, more than its whole message");
            ulong bytes = type.Size != 0 && count > ulong.MaxValue / type.Size ? ulong.MaxValue : count * type.Size;
            var data = c.Take(bytes, $"the attribute data ({count} elements of {type.Size} bytes)");
            if (type.Class != 9)
                return;
            for (int i = 0; i + VariableLengthSize <= data.Length; i += VariableLengthSize)
            {
                ulong collection = BinaryPrimitives.ReadUInt64LittleEndian(data[(i + 4)..]);
                uint index = BinaryPrimitives.ReadUInt32LittleEndian(data[(i + 4 + OffsetSize)..]);
                if (collection != 0 || index != 0) // (0, 0) is a null element, which PureHDF does not look up
                    _pendingCollections.Add(collection);
            }
        }
    }

    /// <summary>
    /// The body of one header message, read field by field: every field must lie inside the body, and a
    /// failure names the message, its position in the file and the field.
    /// </summary>
    private ref struct Cursor
    {
        private readonly ReadOnlySpan<byte> _body;
        private readonly int _type;
        private readonly Walker _walker;

        public Cursor(ReadOnlySpan<byte> body, int type, long at, Walker walker)
        {
            _body = body;
            _type = type;
            At = at;
            _walker = walker;
        }

        /// <summary>File position of the message (its header; the body follows it).</summary>
        public long At { get; }

        /// <summary>Offset of the next field in the body.</summary>
        public int Position { get; private set; }

        public readonly int Length => _body.Length;

        /// <summary>Refuses unless <paramref name="count"/> bytes remain.</summary>
        public readonly void Need(ulong count, string field)
        {
            if (count > (ulong)(_body.Length - Position))
                throw Fail($"{field} needs {count} bytes at offset {Position} of its {_body.Length}-byte body");
        }

        public ReadOnlySpan<byte> Take(ulong count, string field)
        {
            Need(count, field);
            var s = _body.Slice(Position, (int)count);
            Position += (int)count;
            return s;
        }

        public void Skip(ulong count, string field) => Take(count, field);

        public byte U8(string field) => Take(1, field)[0];

        public ushort U16(string field) => BinaryPrimitives.ReadUInt16LittleEndian(Take(2, field));

        public uint U32(string field) => BinaryPrimitives.ReadUInt32LittleEndian(Take(4, field));

        public ulong U64(string field) => BinaryPrimitives.ReadUInt64LittleEndian(Take(8, field));

        /// <summary>An unsigned little-endian integer of 1, 2, 4 or 8 bytes.</summary>
        public ulong Unsigned(int size, string field)
        {
            var s = Take((ulong)size, field);
            ulong v = 0;
            for (int i = size - 1; i >= 0; i--)
                v = (v << 8) | s[i];
            return v;
        }

        /// <summary>A NUL-terminated string, optionally padded to a multiple of 8 bytes as PureHDF skips it; returns its length without the NUL.</summary>
        public int Terminated(bool padTo8, string field)
        {
            int length = _body[Position..].IndexOf((byte)0);
            if (length < 0)
                throw Fail($"{field} has no terminating NUL inside its {_body.Length}-byte body");
            Position += length + 1;
            Skip(padTo8 ? (uint)((8 - (length + 1) % 8) % 8) : 0u, field + " padding");
            return length;
        }

        /// <summary>The error for this message.</summary>
        public readonly DpCompressException Fail(string detail) =>
            _walker.Fail($"the {MessageName(_type)} message at byte {At}: {detail}");
    }
}
