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
