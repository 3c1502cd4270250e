namespace DpCompress.Core.Structures;

/// <summary>The errors the configuration readers throw (ids asserted by tests).</summary>
internal static class ConfigurationErrors
{
    public static DpCompressException NotFound(string path, Exception? inner = null) =>
        new("ConfigurationNotFound", ErrorKind.ObjectNotFound, $"Configuration file or folder '{path}' does not exist.", path, inner);

    public static DpCompressException FormatUnknown(string path, string why) =>
        new("ConfigurationFormatUnknown", ErrorKind.InvalidData,
            $"Cannot tell the format of '{path}': {why} Expected a PWdata folder (position.npy, lattice.npy, image_type.npy …), a PWmat MOVEMENT file or an extended XYZ file (.xyz/.extxyz).", path);

    /// <summary>Bad content; <paramref name="where"/> names the line/frame/file when known.</summary>
    public static DpCompressException Corrupt(string path, string where, string what, Exception? inner = null) =>
        new("ConfigurationCorrupt", ErrorKind.InvalidData,
            string.IsNullOrEmpty(where) ? $"'{path}': {what}" : $"'{path}', {where}: {what}", path, inner);

    /// <summary>A reader's own error about <paramref name="path"/> (its message already names the file) as ConfigurationCorrupt, kept inside.</summary>
    public static DpCompressException Corrupt(string path, DpCompressException inner) =>
        new("ConfigurationCorrupt", ErrorKind.InvalidData, inner.Message, path, inner);

    /// <summary>Most atoms one frame may declare, in any format (10 million: 240 MB of positions).</summary>
    public const int MaxAtoms = 10_000_000;

    /// <summary>Fewest bytes one atom line takes ("H 0 0 0" and its newline).</summary>
    public const int MinBytesPerAtom = 8;

    /// <summary>
    /// Checks a declared atom count before anything is allocated for it: more than <see cref="MaxAtoms"/>
    /// is <c>ConfigurationTooManyAtoms</c>; more atoms than the file has room for (<see cref="MinBytesPerAtom"/>
    /// bytes each, when the reader is a file) is <c>ConfigurationAtomCountBeyondFile</c>. Both LimitsExceeded.
    /// </summary>
    public static void CheckAtomCount(long n, TextReader reader, string path, string where)
    {
        if (reader is StreamReader { BaseStream.CanSeek: true } sr && n > sr.BaseStream.Length / MinBytesPerAtom)
            throw new DpCompressException("ConfigurationAtomCountBeyondFile", ErrorKind.LimitsExceeded,
                $"'{path}', {where}: the frame declares {n} atoms, but the whole file ({sr.BaseStream.Length} bytes) has room for at most {sr.BaseStream.Length / MinBytesPerAtom} atom lines.", path);
        CheckAtomLimit(n, path, where);
    }

    /// <summary>More than <see cref="MaxAtoms"/> atoms in one frame, in any format, is <c>ConfigurationTooManyAtoms</c> (LimitsExceeded).</summary>
    public static void CheckAtomLimit(long n, string path, string where)
    {
        if (n > MaxAtoms)
            throw new DpCompressException("ConfigurationTooManyAtoms", ErrorKind.LimitsExceeded,
                $"'{path}', {where}: the frame declares {n} atoms, more than the limit of {MaxAtoms}.", path);
    }

    /// <summary>
    /// Opens a text file and hands it to a reader: a missing file is ConfigurationNotFound, an
    /// I/O or permission failure ConfigurationCorrupt (shared by the MOVEMENT and XYZ readers).
    /// </summary>
    public static IReadOnlyList<Configuration> ReadTextFile(string path, Func<TextReader, string, IReadOnlyList<Configuration>> read)
    {
        if (!File.Exists(path)) throw NotFound(path);
        string full = Path.GetFullPath(path);
        try
        {
            using var reader = new StreamReader(full);
            return read(reader, full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw Corrupt(full, "", $"cannot be read: {ex.Message}", ex);
        }
    }
}
