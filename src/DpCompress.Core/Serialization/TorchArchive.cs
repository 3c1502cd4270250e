using System.IO.Compression;
using System.IO.Hashing;
using System.Text;

namespace DpCompress.Core.Serialization;

/// <summary>
/// Reads a <c>torch.save</c> file: a zip with <c>&lt;prefix&gt;/data.pkl</c> (the pickled object,
/// read with <see cref="SafeUnpickler"/>) and one record <c>&lt;prefix&gt;/data/&lt;key&gt;</c> per
/// tensor storage, referenced from the pickle by persistent ids
/// ('storage', storage_type, key, location, numel).
/// </summary>
/// <remarks>
/// Errors: <c>CheckpointNotFound</c> (ObjectNotFound), <c>CheckpointIsDirectory</c> (InvalidArgument),
/// <c>CheckpointEmpty</c>, <c>CheckpointNotZip</c> (also for a truncated zip: cutting a zip removes
/// its central directory, so it no longer reads as a zip), <c>CheckpointMissingPickle</c>,
/// <c>CheckpointStorageMissing</c>, <c>CheckpointStorageTooShort</c>, <c>CheckpointCorrupt</c>
/// (damaged records, including a record whose CRC-32 differs from the one the zip directory
/// declares: every record read is checked), the pickle errors of <see cref="SafeUnpickler"/> (all
/// InvalidData), the limits of <see cref="ReaderLimits"/> (LimitsExceeded), and
/// <c>CheckpointReadFailed</c> (ReadError of the file system, ResourceUnavailable).
/// Writing (<see cref="Write"/>) fails only with <c>ExportWriteFailed</c> (WriteError).
/// </remarks>
public static class TorchArchive
{
    /// <summary>Largest single record we load (data.pkl or one storage): 2 GiB − 64.</summary>
    private const long MaxRecordBytes = ReaderLimits.MaxRecordBytes;

    /// <summary>Reads the object a torch.save file holds.</summary>
    /// <param name="path">the .ckpt/.pt file</param>
    public static object? Read(string path)
    {
        string full = CheckFile(path);
        try
        {
            using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read);
            if (stream.Length == 0)
                throw new DpCompressException("CheckpointEmpty", ErrorKind.InvalidData, $"The checkpoint file '{full}' is empty.", full);
            ZipArchive zip;
            try
            {
                zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            }
            catch (InvalidDataException e)
            {
                throw NotZip(full, stream, e);
            }
            using (zip)
            {
                return ReadZip(zip, full, stream.Length);
            }
        }
        catch (IOException e)
        {
            throw new DpCompressException("CheckpointReadFailed", ErrorKind.ResourceUnavailable, $"Cannot read '{full}': {e.Message}", full, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DpCompressException("CheckpointReadFailed", ErrorKind.ResourceUnavailable, $"Cannot read '{full}': {e.Message}", full, e);
        }
    }

    /// <summary>Reads a torch.save file whose root object must be a dict.</summary>
    public static PyDict ReadDict(string path)
    {
        var root = Read(path);
        return root as PyDict ?? throw new DpCompressException("CheckpointCorrupt", ErrorKind.InvalidData,
            $"The checkpoint '{Path.GetFullPath(path)}' holds a {SafeUnpickler.Describe(root)}, not a dict.", Path.GetFullPath(path));
    }

    /// <summary>Checks that <paramref name="path"/> names an existing file; returns its full path.</summary>
    internal static string CheckFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0'))
            throw new DpCompressException("CheckpointPathInvalid", ErrorKind.InvalidArgument, "The checkpoint path contains a NUL character.", null);
        string full = Path.GetFullPath(path);
        if (Directory.Exists(full))
            throw new DpCompressException("CheckpointIsDirectory", ErrorKind.InvalidArgument, $"'{full}' is a directory, not a checkpoint file.", full);
        if (!File.Exists(full))
            throw new DpCompressException("CheckpointNotFound", ErrorKind.ObjectNotFound, $"The checkpoint file '{full}' does not exist.", full);
        return full;
    }

    private static DpCompressException NotZip(string full, Stream stream, Exception inner)
    {
        string detail = "it is not a zip archive, or the archive is truncated (its central directory is missing)";
        try
        {
            stream.Position = 0;
            var head = new byte[2];
            if (stream.Read(head, 0, 2) == 2 && head[0] == 0x80)
                detail = "it looks like a legacy (pre-1.6) torch.save pickle, which is not supported; re-save it with a current PyTorch";
        }
        catch (IOException)
        {
        }
        return new DpCompressException("CheckpointNotZip", ErrorKind.InvalidData, $"'{full}' is not a torch.save checkpoint: {detail}.", full, inner);
    }

    private static object? ReadZip(ZipArchive zip, string full, long fileLength)
    {
        ZipArchiveEntry? pickle = null;
        long expanded = 0;
        try
        {
            foreach (var e in zip.Entries)
            {
                string n = e.FullName;
                if (pickle is null && n.EndsWith("/data.pkl", StringComparison.Ordinal) && n.IndexOf('/') == n.Length - "/data.pkl".Length)
                    pickle = e;
                // A record cannot hold more compressed bytes than the file; what deflate expands counts against one total.
                if (e.CompressedLength > fileLength || e.Length < 0)
                    throw Corrupt(full, $"record '{ReaderLimits.Excerpt(n)}' declares {e.CompressedLength} bytes in a file of {fileLength}", null);
                if (e.Length > e.CompressedLength) expanded += e.Length;
            }
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(full, "its zip directory is damaged", e);
        }
        long maxExpanded = ReaderLimits.ExpansionAllowance + ReaderLimits.MaxExpansionRatio * fileLength;
        if (expanded > maxExpanded)
            throw new DpCompressException("CheckpointExpansionTooLarge", ErrorKind.LimitsExceeded,
                $"The checkpoint '{full}' holds compressed records that expand to {expanded} bytes, more than the limit of {maxExpanded} " +
                $"({ReaderLimits.MaxExpansionRatio} times its size of {fileLength} bytes plus {ReaderLimits.ExpansionAllowance >> 20} MiB); " +
                "torch.save writes uncompressed records, so this is a damaged or hostile file (a zip bomb).", full);
        if (pickle is null)
            throw new DpCompressException("CheckpointMissingPickle", ErrorKind.InvalidData,
                $"'{full}' is a zip archive but not a torch.save checkpoint: it has no '<folder>/data.pkl' record.", full);
        string prefix = pickle.FullName[..^"data.pkl".Length];

        var byteOrder = zip.GetEntry(prefix + "byteorder");
        if (byteOrder is not null)
        {
            string order = Encoding.ASCII.GetString(ReadRecord(byteOrder, full, 16)).Trim();
            if (order != "little")
                throw new DpCompressException("CheckpointByteOrderNotSupported", ErrorKind.NotImplemented,
                    $"'{full}' stores its tensors in '{ReaderLimits.Excerpt(order)}' byte order; only little-endian checkpoints are supported.", full);
        }

        byte[] pkl = ReadRecord(pickle, full, MaxRecordBytes);
        var storages = new Dictionary<string, TorchStorage>(StringComparer.Ordinal);
        long storageBytes = 0;
        foreach (var e in zip.Entries)
            if (e.FullName.StartsWith(prefix + "data/", StringComparison.Ordinal)) storageBytes += e.Length;
        var budget = ReadBudget.ForCheckpoint(pkl.Length, storageBytes, full);

        object? LoadStorage(object? pid)
        {
            // ('storage', storage_type, key, location, numel)
            if (pid is not PyTuple { Count: 5 } t || t[0] is not "storage" || t[1] is not SafeUnpickler.PyGlobal { Kind: SafeUnpickler.GlobalKind.Storage } type
                || t[2] is not string key || t[3] is not string location || t[4] is not long numel || numel < 0)
                throw Corrupt(full, "a persistent id is not ('storage', type, key, location, numel)", null);
            if (storages.TryGetValue(key, out var known))
            {
                if (known.StorageType != type.Name) throw Corrupt(full, $"storage '{ReaderLimits.Excerpt(key)}' is used with two element types", null);
                if (known.ElementCount != numel) throw Corrupt(full, $"storage '{ReaderLimits.Excerpt(key)}' is declared with {known.ElementCount} and {numel} elements", null);
                return known;
            }
            var entry = zip.GetEntry(prefix + "data/" + key)
                ?? throw new DpCompressException("CheckpointStorageMissing", ErrorKind.InvalidData,
                    $"'{full}' refers to tensor storage '{ReaderLimits.Excerpt(key)}' but has no record '{ReaderLimits.Excerpt(prefix + "data/" + key)}'.", full);
            int elementSize = TorchStorageTypes.ElementSize(type.Name);
            // numel is compared by division first: a declared 2^62 elements must not overflow.
            if (numel > entry.Length / elementSize)
                throw new DpCompressException("CheckpointStorageTooShort", ErrorKind.InvalidData,
                    $"Tensor storage '{ReaderLimits.Excerpt(entry.FullName)}' of '{full}' has {entry.Length} bytes but {numel} {type.Name} elements need more.", full);
            long needed = numel * elementSize;
            if (entry.Length > MaxRecordBytes)
                throw new DpCompressException("CheckpointTooLarge", ErrorKind.LimitsExceeded,
                    $"Tensor storage '{ReaderLimits.Excerpt(key)}' of '{full}' is larger than {MaxRecordBytes} bytes.", full);
            byte[] data = ReadRecord(entry, full, MaxRecordBytes);
            var storage = new TorchStorage(type.Name, key, location, numel, data);
            storages[key] = storage;
            return storage;
        }

        return new SafeUnpickler(pkl, pkl.Length, LoadStorage, full, budget).Load();
    }

    /// <summary>
    /// Reads a whole zip record and checks its CRC-32 (System.IO.Hashing.Crc32, the zip polynomial)
    /// against the one the zip directory declares: a mismatch is <c>CheckpointCorrupt</c> naming the record.
    /// </summary>
    private static byte[] ReadRecord(ZipArchiveEntry entry, string full, long limit)
    {
        long length = entry.Length;
        string name = ReaderLimits.Excerpt(entry.FullName);
        // Deflate cannot expand more than ~1032:1; a larger declared size is a forged header (zip bomb).
        if (entry.Length > Math.Max(entry.CompressedLength, 1) * 1100)
            throw Corrupt(full, $"record '{name}' declares {entry.Length} bytes from {entry.CompressedLength} compressed bytes", null);
        if (length > limit)
            throw new DpCompressException("CheckpointTooLarge", ErrorKind.LimitsExceeded,
                $"Record '{name}' of '{full}' is too large ({entry.Length} bytes; the limit is {limit}).", full);
        var buffer = Inference.Fast.HugePages.NewArray<byte>(length, zeroed: false);   // filled by the loop below, or refused
        try
        {
            using var s = entry.Open();
            int read = 0;
            while (read < length)
            {
                int n = s.Read(buffer, read, (int)(length - read));
                if (n == 0) break;
                read += n;
            }
            if (read < length)
                throw new DpCompressException("CheckpointTruncated", ErrorKind.InvalidData,
                    $"Record '{name}' of '{full}' ends after {read} of {length} bytes.", full);
        }
        catch (InvalidDataException e)
        {
            throw Corrupt(full, $"record '{name}' is damaged ({e.Message})", e);
        }
        var hasher = new System.IO.Hashing.Crc32();
        hasher.Append(buffer);
        uint crc = hasher.GetCurrentHashAsUInt32();
        if (crc != entry.Crc32)
            throw Corrupt(full, $"record '{name}' fails its CRC-32 check (stored {entry.Crc32:x8}, computed {crc:x8}): the file was damaged after it was written", null);
        return buffer;
    }

    /// <summary>
    /// Writes <paramref name="root"/> as a torch.save file that PyTorch ≥ 1.13 loads: records
    /// <c>&lt;prefix&gt;/data.pkl</c> (pickle protocol 2), <c>&lt;prefix&gt;/byteorder</c>,
    /// <c>&lt;prefix&gt;/data/&lt;key&gt;</c> per storage and <c>&lt;prefix&gt;/version</c> ("3\n"), all
    /// STORED (uncompressed) with record data 64-byte aligned, as torch writes them. The file is
    /// written to a temporary file in the target folder and moved over <paramref name="path"/>
    /// only when complete; on failure the temporary file is deleted, and stale temporary files of
/// the same target left by a killed process are removed first (<see cref="TempFiles.CleanStale"/>).
    /// </summary>
    /// <param name="path">target file (overwritten)</param>
    /// <param name="root">object to save, usually a checkpoint <see cref="PyDict"/></param>
    /// <param name="prefix">top folder of the archive; default: the file name without extension (torch's rule)</param>
    /// <returns>the full path written</returns>
    public static string Write(string path, object? root, string? prefix = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (path.Contains('\0')) throw WriteFailed(ReaderLimits.Excerpt(path), "the path contains a NUL character", null);
        string full = Path.GetFullPath(path);
        prefix ??= ArchiveName(full);
        if (prefix.Length == 0 || prefix.Contains('/') || prefix.Contains('\\'))
            throw new ArgumentException($"Invalid archive folder name '{prefix}'.", nameof(prefix));
        string? dir = Path.GetDirectoryName(full);
        if (Directory.Exists(full))
            throw WriteFailed(full, $"'{full}' is a directory", null);
        if (dir is null || !Directory.Exists(dir))
            throw WriteFailed(full, $"the folder '{dir}' does not exist", null);

        var pickler = new PickleWriter();
        ReadOnlyMemory<byte> pkl;
        try
        {
            pkl = pickler.WriteMemory(root);
        }
        catch (ArgumentException e)
        {
            throw WriteFailed(full, e.Message, e);
        }
        catch (Exception e) when (e is OutOfMemoryException or IOException or OverflowException)
        {
            // a pickle (data.pkl) is one record of at most 2 GB; protocol 2 stores numpy data as latin-1 text (up to 2 bytes a byte)
            throw WriteFailed(full, $"the model is too large to write as one torch.save pickle ({e.GetType().Name}: {ReaderLimits.Excerpt(e.Message)})", e);
        }

        TempFiles.CleanStale(full);
        string temp = TempFiles.NewTempPath(full);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
            {
                var zip = new StoredZipWriter(stream);
                zip.Add(prefix + "/data.pkl", pkl.Span);
                zip.Add(prefix + "/byteorder", "little"u8.ToArray());
                foreach (var (key, storage) in pickler.Storages)
                {
                    long n = checked(storage.ElementCount * storage.ElementSize);
                    zip.Add(prefix + "/data/" + key, storage.Data.AsSpan(0, checked((int)n)));
                }
                zip.Add(prefix + "/version", "3\n"u8.ToArray());
                zip.Finish();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
            return full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or OverflowException)
        {
            TryDelete(temp);
            throw WriteFailed(full, e.Message, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>torch's archive folder name: the file name without its extension ("archive" if empty).</summary>
    private static string ArchiveName(string full)
    {
        string name = Path.GetFileNameWithoutExtension(full);
        return string.IsNullOrEmpty(name) ? "archive" : name;
    }

    private static void TryDelete(string file)
    {
        try
        {
            if (File.Exists(file)) File.Delete(file);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static DpCompressException WriteFailed(string full, string detail, Exception? inner) =>
        new("ExportWriteFailed", ErrorKind.WriteError, $"Cannot write the checkpoint '{full}': {detail}", full, inner);

    private static DpCompressException Corrupt(string full, string detail, Exception? inner) =>
        new("CheckpointCorrupt", ErrorKind.InvalidData, $"The checkpoint '{full}' is corrupt: {detail}.", full, inner);
}
