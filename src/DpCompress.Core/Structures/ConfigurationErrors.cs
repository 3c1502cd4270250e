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
}
