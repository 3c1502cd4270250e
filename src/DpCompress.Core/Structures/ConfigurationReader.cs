namespace DpCompress.Core.Structures;

/// <summary>The configuration file formats DpCompress reads.</summary>
public enum ConfigurationFormat
{
    /// <summary>PWMLFF PWdata folder(s) of .npy files.</summary>
    PwData,
    /// <summary>PWmat MOVEMENT.</summary>
    Movement,
    /// <summary>Extended XYZ.</summary>
    ExtendedXyz,
}

/// <summary>Reads configurations from any supported format, choosing the reader by what the path is.</summary>
public static class ConfigurationReader
{
    /// <summary>
    /// The format of <paramref name="path"/>: a folder → PWdata; a file named position.npy (or
    /// another .npy) → its PWdata folder; a file whose name contains MOVEMENT → MOVEMENT;
    /// .xyz/.extxyz → extended XYZ; otherwise decided from the first non-empty line (a frame
    /// header → MOVEMENT, an integer → XYZ).
    /// </summary>
    public static ConfigurationFormat DetectFormat(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (Directory.Exists(path)) return ConfigurationFormat.PwData;
        if (!File.Exists(path)) throw ConfigurationErrors.NotFound(path);
        string name = Path.GetFileName(path);
        string ext = Path.GetExtension(path).ToLowerInvariant();
        if (ext == ".npy") return ConfigurationFormat.PwData;
        if (name.Contains("MOVEMENT", StringComparison.OrdinalIgnoreCase)) return ConfigurationFormat.Movement;
        if (ext is ".xyz" or ".extxyz") return ConfigurationFormat.ExtendedXyz;

        string? first = null;
        try
        {
            using var file = new StreamReader(path);
            var r = new BoundedLineReader(file, path);
            for (int k = 0; k < 1000 && first is null; k++)
            {
                string? l = r.ReadLine();
                if (l is null) break;
                if (l.Trim().Length > 0) first = l;
            }
        }
        catch (IOException ex)
        {
            throw ConfigurationErrors.Corrupt(path, "", $"cannot be read: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw ConfigurationErrors.Corrupt(path, "", $"cannot be read: {ex.Message}", ex);
        }
        if (first is not null && MovementReader.IsHeader(first)) return ConfigurationFormat.Movement;
        if (first is not null && TextParsing.TryParseInt(first.Trim(), out int n) && n > 0) return ConfigurationFormat.ExtendedXyz;
        throw ConfigurationErrors.FormatUnknown(path, first is null ? "the file is empty." : "neither its name nor its first line identify the format.");
    }

    /// <summary>All configurations in <paramref name="path"/> (a PWdata folder tree, a MOVEMENT or an extended XYZ file), in file order.</summary>
    public static IReadOnlyList<Configuration> Read(string path) => Read(path, (ICollection<string>?)null);

    /// <summary>
    /// As <see cref="Read(string)"/>; what the reader accepted but the user should know (extra
    /// XYZ columns, symbols in another case, MOVEMENT frames without forces) is added to
    /// <paramref name="warnings"/>, one message per file and kind.
    /// </summary>
    public static IReadOnlyList<Configuration> Read(string path, ICollection<string>? warnings)
    {
        ArgumentNullException.ThrowIfNull(path);
        try
        {
            return DetectFormat(path) switch
            {
                ConfigurationFormat.PwData => Directory.Exists(path) ? PwDataReader.Read(path) : PwDataReader.Read(Path.GetDirectoryName(Path.GetFullPath(path))!),
                ConfigurationFormat.Movement => MovementReader.Read(path, warnings),
                _ => ExtXyzReader.Read(path, warnings),
            };
        }
        catch (Exception e) when (DpCompress.Core.Serialization.ReaderLimits.IsUnexpected(e))
        {
            // Safety net: every anticipated problem has its own id; anything else still gets one.
            throw DpCompress.Core.Serialization.ReaderLimits.Unexpected("ConfigurationUnexpectedError", e, path);
        }
    }

    /// <summary>Reads <paramref name="path"/> in the given format, without detection.</summary>
    public static IReadOnlyList<Configuration> Read(string path, ConfigurationFormat format) => Read(path, format, null);

    /// <summary>
    /// Reads <paramref name="path"/> in the given format, without detection; warnings as in <see cref="Read(string, ICollection{string})"/>.
    /// PwData reads a folder, or the folder of a .npy file as detection does; the text formats read a file. A path of the
    /// other kind is ConfigurationFormatUnknown (it used to be ConfigurationNotFound, "does not exist", for a file that exists).
    /// </summary>
    public static IReadOnlyList<Configuration> Read(string path, ConfigurationFormat format, ICollection<string>? warnings)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!Enum.IsDefined(format)) throw new ArgumentOutOfRangeException(nameof(format));
        bool folder = Directory.Exists(path);
        if (!folder && !File.Exists(path)) throw ConfigurationErrors.NotFound(path);
        if (format == ConfigurationFormat.PwData && !folder)
        {
            if (!Path.GetExtension(path).Equals(".npy", StringComparison.OrdinalIgnoreCase))
                throw ConfigurationErrors.FormatUnknown(path, "it was to be read as PwData, which is a folder (or a .npy file in one), but it is another file.");
            path = Path.GetDirectoryName(Path.GetFullPath(path))!;
        }
        if (format != ConfigurationFormat.PwData && folder)
            throw ConfigurationErrors.FormatUnknown(path, $"it was to be read as {format}, which is a file, but it is a folder.");
        try
        {
            return format switch
            {
                ConfigurationFormat.PwData => PwDataReader.Read(path),
                ConfigurationFormat.Movement => MovementReader.Read(path, warnings),
                _ => ExtXyzReader.Read(path, warnings),
            };
        }
        catch (Exception e) when (DpCompress.Core.Serialization.ReaderLimits.IsUnexpected(e))
        {
            throw DpCompress.Core.Serialization.ReaderLimits.Unexpected("ConfigurationUnexpectedError", e, path);
        }
    }
}
