using System.Buffers.Binary;
using Microsoft.Win32.SafeHandles;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// A bounded walk over the structure of an HDF5 file, run before PureHDF opens it: every length, size,
/// count and address that PureHDF would use to size an allocation or a read is checked against the bytes
/// that actually hold it, and anything that cannot be verified is refused with <c>DeepMdFileCorrupt</c>.
/// </summary>
/// <remarks>
/// <para>Why: PureHDF 2.2.0 decodes every header message of an object eagerly and allocates what the file
/// declares before it finds the file too short (a Fill Value (Old) message declaring 2 GiB is a 2 GiB
/// array), follows continuation blocks and B-tree children recursively without a visited set (a cycle is a
/// stack overflow), and reads local and global heaps into arrays of the declared size. DpCompress's rule
/// is that readers bound every size before allocating, so nothing from the file reaches PureHDF unchecked.</para>
/// <para>What is walked, following the HDF5 File Format Specification version 3.0 (section numbers of
/// that document): the format signature at byte 0 or 512 (where the search of II.A and PureHDF's search
/// agree) and superblock versions 0–3 (II.A), with 8-byte offsets and lengths (what h5py and PureHDF write;
/// other sizes are refused); every object header reachable from the root group, version 1 (IV.A.1.a) and
/// version 2 "OHDR" (IV.A.1.b), with their continuation blocks (IV.A.2.q; "OCHK" for version 2); every
/// header message in them (IV.A.2.a–w, see <c>Hdf5Prewalk.Messages.cs</c>); old-style groups: the version 1
/// group B-tree "TREE" (III.A.1), its symbol table nodes "SNOD" (III.B) and entries (III.C), and the local
/// heap "HEAP" holding the link names (III.D); new-style compact groups (Link messages, IV.A.2.g); and the
/// global heap collections "GCOL" (III.E) that variable-length attribute data points into (the root
/// attribute <c>json</c> of an h5py file is a variable-length string).</para>
/// <para>Checksums: the lookup3 checksums of version 2 and 3 superblocks, version 2 object headers and their
/// continuation blocks are recomputed and compared (<c>Hdf5Prewalk.Checksum.cs</c>); PureHDF never compares
/// them, and the files Export-DpModel writes keep small arrays inside such headers.</para>
/// <para>Bounds: each structure must lie inside the file (addresses are relative to the superblock's base
/// address, as PureHDF reads them); each message inside its header block; each field inside its message;
/// counts inside the bytes that hold their entries; B-tree children one level below their parent; each
/// continuation block, B-tree node, symbol table node and object header is visited once (a second visit of
/// a block or node is a cycle and is refused); and the whole walk reads at most 4 × the file size + 1 MiB,
/// so no file can make it slow.</para>
/// <para>Refused because neither DeePMD-kit (h5py, default settings) nor DpCompress's own writer (PureHDF)
/// produces them, and following them safely would need a walk of their own: dense link and attribute
/// storage (fractal heap and version 2 B-tree, III.G and III.A.2), chunked and virtual dataset layouts
/// (IV.A.2.i; chunked data would also need the filter pipeline), shared messages (committed datatypes,
/// IV.A.2.d with the shared flag), soft, external and user-defined links, external data files
/// (IV.A.2.h, which would read other files), driver info messages and the datatype classes and versions
/// PureHDF does not decode.</para>
/// </remarks>
internal static partial class Hdf5Prewalk
{
    /// <summary>Size of offsets and of lengths (bytes) this walk accepts.</summary>
    private const int OffsetSize = 8;

    /// <summary>The undefined address (all bits set, II.A).</summary>
    private const ulong Undefined = ulong.MaxValue;

    /// <summary>Largest single read: a header message body is at most 65,535 bytes.</summary>
    private const int MaxRead = 1 << 16;

    /// <summary>Bytes read per step while looking for the NUL that ends a link name in a local heap.</summary>
    private const int NameChunk = 256;

    /// <summary>Extra budget charged for every read, so that a flood of tiny structures also runs out.</summary>
    private const int ReadOverhead = 64;

    /// <summary>The format signature, \x89 "HDF" \r \n \x1a \n (II.A).</summary>
    private static ReadOnlySpan<byte> Signature => [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Checks the structure of the HDF5 file at <paramref name="path"/>; throws <c>DeepMdFileCorrupt</c> when it cannot be verified.</summary>
    /// <param name="path">The full path of the .dp file (already bounded by <see cref="DeepMdDocument.MaxFileBytes"/>).</param>
    public static void Check(string path)
    {
        using var walker = new Walker(path);
        walker.Run();
    }

    /// <summary>The walk over one file: its reader, its budget and the sets of structures already visited.</summary>
    private sealed partial class Walker : IDisposable
    {
        private readonly string _path;
        private readonly SafeFileHandle _file;
        private readonly long _length;
        private readonly byte[] _buffer = new byte[MaxRead];
        private long _budget;
        private long _base;
        private int _leafK;
        private int _internalK;

        private readonly HashSet<ulong> _headers = new();
        private readonly HashSet<ulong> _blocks = new();
        private readonly HashSet<ulong> _treeNodes = new();
        private readonly HashSet<ulong> _symbolNodes = new();
        private readonly HashSet<ulong> _collections = new();
        private readonly HashSet<(ulong BTree, ulong Heap)> _groups = new();
        private readonly Stack<ulong> _pendingHeaders = new();
        private readonly Stack<(ulong BTree, ulong Heap)> _pendingGroups = new();
        private readonly List<ulong> _pendingCollections = new();

        public Walker(string path)
        {
            _path = path;
            _file = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.Read);
            _length = RandomAccess.GetLength(_file);
            _budget = 4 * _length + (1 << 20);
        }

        public void Dispose() => _file.Dispose();

        /// <summary>The superblock, then every object header, group and global heap collection it leads to.</summary>
        public void Run()
        {
            _pendingHeaders.Push(Superblock());
            while (true)
            {
                if (_pendingHeaders.TryPop(out ulong header))
                    WalkHeader(header);
                else if (_pendingGroups.TryPop(out var group))
                    WalkGroup(group.BTree, group.Heap);
                else
                    break;
            }
            foreach (ulong collection in _pendingCollections)
                WalkCollection(collection);
        }

        // ------------------------------------------------------------------ superblock (II.A)

        /// <summary>Finds and checks the superblock; returns the root group's object header address.</summary>
        private ulong Superblock()
        {
            // II.A searches at 0, 512, 1024, 2048, …; PureHDF 2.2.0 at 0, 512, 1536, 3584, … Only the places both
            // search are accepted, so that the superblock checked here is the one PureHDF reads.
            long at = -1;
            foreach (long offset in (ReadOnlySpan<long>)[0, 512])
            {
                if (offset + 8 <= _length && Read(offset, 8).SequenceEqual(Signature))
                {
                    at = offset;
                    break;
                }
            }
            if (at < 0)
                throw Fail("it has no HDF5 format signature at byte 0 or 512");
            if (at + 9 > _length)
                throw Fail($"the superblock at byte {at} is cut off");
            int version = Read(at + 8, 1)[0];
            ulong root, baseAddress, endOfFile;
            if (version <= 1)
            {
                // 8 fixed bytes + 16 (+4 in version 1) + base, free-space, end-of-file and driver addresses + root entry (40).
                int fixedPart = version == 0 ? 24 : 28;
                int size = fixedPart + 4 * OffsetSize + 40;
                var s = ReadAt(at, size, $"the version {version} superblock");
                CheckSizes(s[13], s[14]);
                _leafK = BinaryPrimitives.ReadUInt16LittleEndian(s[16..]);
                _internalK = BinaryPrimitives.ReadUInt16LittleEndian(s[18..]);
                if (_leafK == 0 || _internalK == 0)
                    throw Fail($"the superblock declares group B-tree K values {_leafK} and {_internalK}; both must be at least 1");
                baseAddress = U64(s[fixedPart..]);
                endOfFile = U64(s[(fixedPart + 16)..]);
                var entry = s[(fixedPart + 32)..];
                root = U64(entry[8..]);
                uint cache = BinaryPrimitives.ReadUInt32LittleEndian(entry[16..]);
                if (cache > 2)
                    throw Fail($"the root group's symbol table entry has cache type {cache} (0, 1 or 2 expected)");
            }
            else if (version <= 3)
            {
                VerifyChecksum(at, 12 + 4 * OffsetSize, $"the version {version} superblock");
                var s = ReadAt(at, 12 + 4 * OffsetSize + 4, $"the version {version} superblock");
                CheckSizes(s[9], s[10]);
                baseAddress = U64(s[12..]);
                endOfFile = U64(s[28..]);
                root = U64(s[36..]);
            }
            else
            {
                throw Fail($"its superblock has version {version}; HDF5 defines versions 0 to 3");
            }
            if (baseAddress > (ulong)_length)
                throw Fail($"the superblock's base address {baseAddress} lies past the end of the file ({_length} bytes)");
            _base = (long)baseAddress;
            if (endOfFile != Undefined && endOfFile > (ulong)(_length - _base))
                throw Fail($"the file is truncated: its superblock records {endOfFile} bytes of HDF5 data after the base address, the file holds {_length - _base}");
            Locate(root, 1, "the root group's object header");
            return root;
        }

        private void CheckSizes(byte offsets, byte lengths)
        {
            if (offsets != OffsetSize || lengths != OffsetSize)
                throw Fail($"its superblock declares {offsets}-byte offsets and {lengths}-byte lengths; DeePMD-kit models (h5py) use 8 and 8, the only sizes this reader accepts");
        }

        // ------------------------------------------------------------------ object headers (IV.A.1, IV.A.2.q)

        /// <summary>Walks the object header at <paramref name="address"/>, its continuation blocks and all their messages.</summary>
        private void WalkHeader(ulong address)
        {
            if (!_headers.Add(address))
                return;
            var blocks = new List<(ulong Address, ulong Length)>();
            bool version1 = ReadAt(Locate(address, 1, "an object header"), 1, "an object header")[0] == 1;
            bool creationOrder = false;
            if (version1)
            {
                // Version, reserved, message count (2), reference count (4), header size (4), padding (4).
                var p = ReadAt(Locate(address, 16, "a version 1 object header"), 16, "a version 1 object header");
                ulong size = BinaryPrimitives.ReadUInt32LittleEndian(p[8..]);
                ulong first = address + 16;
                long start = Locate(first, size, $"the messages of the object header at address {address}");
                _blocks.Add(first);
                WalkMessages(start, size, 1, false, address, blocks);
            }
            else
            {
                var p = ReadAt(Locate(address, 6, "a version 2 object header"), 6, "a version 2 object header");
                if (!p[..4].SequenceEqual("OHDR"u8))
                    throw Fail($"the object header at address {address} is neither version 1 nor signed OHDR");
                if (p[4] != 2)
                    throw Fail($"the object header at address {address} has version {p[4]}; OHDR headers are version 2");
                byte flags = p[5];
                // Optional times (16 bytes) and attribute phase change values (4), then the size of chunk 0 in 1, 2, 4 or 8 bytes.
                ulong offset = 6 + ((flags & 0x20) != 0 ? 16u : 0u) + ((flags & 0x10) != 0 ? 4u : 0u);
                int sizeBytes = 1 << (flags & 3);
                var s = ReadAt(Locate(address + offset, (ulong)sizeBytes, "a version 2 object header"), sizeBytes, "a version 2 object header");
                ulong size = 0;
                for (int i = sizeBytes - 1; i >= 0; i--)
                    size = (size << 8) | s[i];
                ulong first = address + offset + (ulong)sizeBytes;
                if (size > ulong.MaxValue - 4)
                    throw Fail($"the object header at address {address} declares {size} bytes of messages");
                long start = Locate(first, size + 4, $"chunk 0 of the object header at address {address} (with its checksum)");
                creationOrder = (flags & 4) != 0;
                _blocks.Add(address);
                // The checksum first: it covers the signature through the last message of chunk 0.
                VerifyChecksum(Locate(address, 1, "a version 2 object header"), first - address + size, $"the object header at address {address}");
                WalkMessages(start, size, 2, creationOrder, address, blocks);
            }
            // Continuation blocks can hold further continuation messages: the list grows while it is walked.
            for (int i = 0; i < blocks.Count; i++)
            {
                var (block, length) = blocks[i];
                if (!_blocks.Add(block))
                    throw Fail($"the object header continuation block at address {block} is referenced twice (a continuation cycle)");
                string what = $"the continuation block of the object header at address {address}";
                long start = Locate(block, length, what);
                if (version1)
                {
                    WalkMessages(start, length, 1, false, address, blocks);
                    continue;
                }
                if (length < 8)
                    throw Fail($"{what} is {length} bytes long, shorter than its signature and checksum");
                if (!ReadAt(start, 4, what).SequenceEqual("OCHK"u8))
                    throw Fail($"{what} (address {block}) lacks its signature OCHK");
                VerifyChecksum(start, length - 4, what);
                WalkMessages(start + 4, length - 8, 2, creationOrder, address, blocks);
            }
        }

        /// <summary>
        /// Walks the messages in [<paramref name="start"/>, start + <paramref name="length"/>): a version 1
        /// message has an 8-byte prefix (type 2, size 2, flags 1, reserved 3) and must fill the block exactly;
        /// a version 2 message has a 4-byte prefix (type 1, size 2, flags 1; +2 with creation order) and a gap
        /// shorter than a prefix may end the block, as PureHDF reads them.
        /// </summary>
        private void WalkMessages(long start, ulong length, int version, bool creationOrder, ulong header, List<(ulong, ulong)> blocks)
        {
            int prefix = version == 1 ? 8 : creationOrder ? 6 : 4;
            long position = start;
            ulong remaining = length;
            while (version == 1 ? remaining > 0 : remaining > (ulong)prefix)
            {
                if (remaining < (ulong)prefix)
                    throw Fail($"the object header at address {header} ends {remaining} bytes into the message header at byte {position}");
                var p = ReadAt(position, prefix, "a message header");
                int type = version == 1 ? BinaryPrimitives.ReadUInt16LittleEndian(p) : p[0];
                int size = BinaryPrimitives.ReadUInt16LittleEndian(p[(version == 1 ? 2 : 1)..]);
                byte flags = p[version == 1 ? 4 : 3];
                if ((ulong)(prefix + size) > remaining)
                    throw Fail($"the {MessageName(type)} message at byte {position} declares {size} bytes, past the end of its object header block ({remaining - (ulong)prefix} bytes left)");
                Message(type, flags, ReadAt(position + prefix, size, "a message"), position, blocks);
                position += prefix + size;
                remaining -= (ulong)(prefix + size);
            }
        }

        // ------------------------------------------------------------------ old-style groups (III.A.1, III.B, III.C, III.D)

        /// <summary>The data segment of a local heap: the link names of one old-style group.</summary>
        private readonly record struct LocalHeap(ulong Address, long Start, long Size);

        /// <summary>Walks the local heap and the whole group B-tree of a symbol table (B-tree and heap address).</summary>
        private void WalkGroup(ulong btree, ulong heapAddress)
        {
            if (!_groups.Add((btree, heapAddress)))
                return;
            // "HEAP", version 0, reserved (3), data segment size (L), free list head offset (L), data segment address (O).
            var h = ReadSigned(heapAddress, 32, "HEAP"u8, "local heap", 0, "local heaps");
            ulong size = U64(h[8..]);
            ulong data = U64(h[24..]);
            if (size > int.MaxValue)
                throw Fail($"the local heap at address {heapAddress} declares a data segment of {size} bytes");
            var heap = new LocalHeap(heapAddress, Locate(data, size, $"the data segment of the local heap at address {heapAddress}"), (long)size);
            var nodes = new Queue<(ulong Address, int Level)>();
            nodes.Enqueue((btree, -1));
            while (nodes.TryDequeue(out var node))
                WalkTreeNode(node.Address, node.Level, heap, nodes);
        }

        /// <summary>
        /// One group B-tree node: "TREE", node type 0, level, entries used (2), left and right sibling (O),
        /// then key 0, child 0, …, child n−1, key n with 8-byte keys (heap offsets of names). Children of a
        /// level-k node (k &gt; 0) are level k−1 nodes; children of a leaf are symbol table nodes.
        /// </summary>
        private void WalkTreeNode(ulong address, int expectedLevel, LocalHeap heap, Queue<(ulong, int)> nodes)
        {
            if (!_treeNodes.Add(address))
                throw Fail($"the B-tree node at address {address} is referenced twice (a cycle in the group B-tree)");
            var p = ReadSigned(address, 24, "TREE"u8, "B-tree node");
            if (p[4] != 0)
                throw Fail($"the B-tree node at address {address} has node type {p[4]}; a group B-tree has type 0");
            int level = p[5];
            int used = BinaryPrimitives.ReadUInt16LittleEndian(p[6..]);
            if (expectedLevel >= 0 && level != expectedLevel)
                throw Fail($"the B-tree node at address {address} has level {level}; its parent is one level above {expectedLevel}");
            if (_internalK > 0 && used > 2 * _internalK)
                throw Fail($"the B-tree node at address {address} uses {used} entries; the superblock allows at most {2 * _internalK}");
            long at = Locate(address, 24 + 16 * (ulong)used + 8, $"the keys and children of the B-tree node at address {address}");
            for (int i = 0; i <= used; i++)
            {
                var e = ReadAt(at + 24 + 16L * i, i < used ? 16 : 8, "a B-tree entry");
                ulong key = U64(e);
                ulong child = i < used ? U64(e[8..]) : 0;
                CheckName(heap, key, $"key {i} of the B-tree node at address {address}");
                if (i == used)
                    break;
                if (level > 0)
                    nodes.Enqueue((child, level - 1));
                else
                    WalkSymbolNode(child, heap);
            }
        }

        /// <summary>
        /// A symbol table node: "SNOD", version 1, reserved, number of symbols (2), then 40-byte entries: link
        /// name offset (O), object header address (O), cache type (4), reserved (4), scratch-pad (16).
        /// </summary>
        private void WalkSymbolNode(ulong address, LocalHeap heap)
        {
            if (!_symbolNodes.Add(address))
                throw Fail($"the symbol table node at address {address} is referenced twice");
            var p = ReadSigned(address, 8, "SNOD"u8, "symbol table node", 1, "symbol table nodes");
            int count = BinaryPrimitives.ReadUInt16LittleEndian(p[6..]);
            if (_leafK > 0 && count > 2 * _leafK)
                throw Fail($"the symbol table node at address {address} holds {count} entries; the superblock allows at most {2 * _leafK}");
            long at = Locate(address, 8 + 40 * (ulong)count, $"the entries of the symbol table node at address {address}");
            for (int i = 0; i < count; i++)
            {
                var e = ReadAt(at + 8 + 40L * i, 40, "a symbol table entry");
                ulong name = U64(e);
                ulong header = U64(e[8..]);
                uint cache = BinaryPrimitives.ReadUInt32LittleEndian(e[16..]);
                ulong btree = U64(e[24..]);
                ulong heapAddress = U64(e[32..]);
                string what = $"entry {i} of the symbol table node at address {address}";
                CheckName(heap, name, what);
                if (cache == 2)
                    throw Fail($"{what} is a soft link; DeePMD-kit models hold hard links only");
                if (cache > 2)
                    throw Fail($"{what} has cache type {cache} (0, 1 or 2 expected)");
                PushHeader(header, what);
                if (cache == 1)
                    _pendingGroups.Push((btree, heapAddress)); // PureHDF opens such a group through the scratch-pad's B-tree and heap
            }
        }

        /// <summary>A link name: an offset inside the heap's data segment with a NUL before the segment ends.</summary>
        private void CheckName(LocalHeap heap, ulong offset, string what)
        {
            if (offset >= (ulong)heap.Size)
                throw Fail($"{what} names offset {offset} of the local heap at address {heap.Address}, whose data segment holds {heap.Size} bytes");
            long position = heap.Start + (long)offset, end = heap.Start + heap.Size;
            while (position < end)
            {
                int n = (int)Math.Min(NameChunk, end - position);
                if (ReadAt(position, n, "a link name").IndexOf((byte)0) >= 0)
                    return;
                position += n;
            }
            throw Fail($"the name of {what} (offset {offset} of the local heap at address {heap.Address}) has no terminating NUL inside the heap");
        }

        // ------------------------------------------------------------------ global heap (III.E)

        /// <summary>
        /// A global heap collection: "GCOL", version 1, reserved (3), collection size (L, header included),
        /// then objects: index (2), reference count (2), reserved (4), size (L), data padded to 8 bytes; an
        /// index of 0 starts the free space. Each object must fit in what remains of the collection, which is
        /// how PureHDF walks it (it stops once 16 bytes or fewer remain).
        /// </summary>
        private void WalkCollection(ulong address)
        {
            if (!_collections.Add(address))
                return;
            var h = ReadSigned(address, 16, "GCOL"u8, "global heap collection", 1, "collections");
            ulong size = U64(h[8..]);
            if (size < 16)
                throw Fail($"the global heap collection at address {address} declares {size} bytes, less than its own header");
            long position = Locate(address, size, $"the global heap collection at address {address}") + 16;
            ulong remaining = size - 16;
            while (remaining > 16)
            {
                var o = ReadAt(position, 16, "a global heap object");
                int index = BinaryPrimitives.ReadUInt16LittleEndian(o);
                if (index == 0)
                    break;
                ulong objectSize = U64(o[8..]);
                ulong padded = objectSize > int.MaxValue - 8 ? ulong.MaxValue : (objectSize + 7) / 8 * 8;
                if (padded > remaining - 16)
                    throw Fail($"global heap object {index} at byte {position} declares {objectSize} bytes; its collection at address {address} has {remaining - 16} left");
                position += 16 + (long)padded;
                remaining -= 16 + padded;
            }
        }

        // ------------------------------------------------------------------ reading

        /// <summary>Queues the object header at <paramref name="address"/>, which must lie inside the file.</summary>
        private void PushHeader(ulong address, string what)
        {
            Locate(address, 1, $"the object header of {what}");
            _pendingHeaders.Push(address);
        }

        /// <summary>
        /// The file position of [<paramref name="address"/>, address + <paramref name="size"/>), an address
        /// relative to the base address as PureHDF reads it, when that range lies inside the file.
        /// </summary>
        private long Locate(ulong address, ulong size, string what)
        {
            if (address == Undefined)
                throw Fail($"{what} has the undefined address");
            ulong room = (ulong)(_length - _base);
            if (address > room || size > room - address)
                throw Fail($"{what} ({size} bytes at address {address}) lies past the end of the file ({_length} bytes)");
            return _base + (long)address;
        }

        /// <summary>
        /// The first <paramref name="bytes"/> bytes of the <paramref name="name"/> at <paramref name="address"/> (valid until
        /// the next read), which must start with its <paramref name="signature"/> and, for <paramref name="version"/> ≥ 0,
        /// hold that version in byte 4 (as all <paramref name="plural"/> do).
        /// </summary>
        private ReadOnlySpan<byte> ReadSigned(ulong address, int bytes, ReadOnlySpan<byte> signature, string name, int version = -1, string plural = "")
        {
            var p = ReadAt(Locate(address, (ulong)bytes, $"a {name}"), bytes, $"a {name}");
            if (!p[..4].SequenceEqual(signature))
                throw Fail($"the {name} at address {address} lacks its signature {System.Text.Encoding.ASCII.GetString(signature)}");
            if (version >= 0 && p[4] != version)
                throw Fail($"the {name} at address {address} has version {p[4]}; {plural} are version {version}");
            return p;
        }

        /// <summary>Bytes [position, position + count) of the file, charged to the budget; valid until the next read.</summary>
        private ReadOnlySpan<byte> ReadAt(long position, int count, string what)
        {
            if (position < 0 || count > MaxRead || position > _length - count)
                throw Fail($"{what} at byte {position} ({count} bytes) lies past the end of the file ({_length} bytes)");
            return Read(position, count);
        }

        private ReadOnlySpan<byte> Read(long position, int count)
        {
            _budget -= count + ReadOverhead;
            if (_budget < 0)
                throw Fail($"verifying its structure needs more than {4 * _length + (1 << 20)} bytes of reading (a flood of objects or a loop)");
            var span = _buffer.AsSpan(0, count);
            for (int done = 0; done < count;)
            {
                int n = RandomAccess.Read(_file, span[done..], position + done);
                if (n <= 0)
                    throw Fail($"the file ended at byte {position + done} while it was being read");
                done += n;
            }
            return span;
        }

        private static ulong U64(ReadOnlySpan<byte> s) => BinaryPrimitives.ReadUInt64LittleEndian(s);

        /// <summary>The error for a structure that cannot be verified.</summary>
        public DpCompressException Fail(string detail) =>
            new("DeepMdFileCorrupt", ErrorKind.InvalidData, $"'{_path}' is not a readable HDF5 file: {detail}.", _path);
    }
}
