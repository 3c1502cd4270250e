using System.Text;

namespace DpCompress.Core.Structures;

/// <summary>
/// Reads extended XYZ files (multi-frame). Per frame: a line with the atom count N, a comment
/// line of key=value pairs (keys case-insensitive; values bare, "double-quoted",
/// 'single-quoted' or {braced}), then N atom lines whose columns follow
/// <c>Properties=name:type:count:…</c> (types S, R, I, L; any order, extra columns skipped).
/// Used keys: <c>Lattice</c> (9 numbers, rows a, b, c; required), <c>Properties</c> (default
/// species:S:1:pos:R:3), <c>energy</c>, <c>virial</c> (9 numbers, eV, row-major; a
/// <c>stress</c> key is not converted), <c>pbc</c> (must be all true). Columns used:
/// <c>species</c> (symbol) or <c>Z</c> (atomic number), <c>pos</c> (Å, Cartesian),
/// <c>forces</c>/<c>force</c> (eV/Å), and per-atom energies <c>energies</c>/<c>atomic_energy</c>/<c>ei</c> if present.
/// Accepted with a warning (one per file, through the <c>warnings</c> collector): atom lines with
/// more columns than Properties declares (the extra columns are ignored — often undeclared
/// forces), and element symbols not in their canonical case ("ag" and "AG" are read as Ag).
/// Refused as ConfigurationCorrupt, because which reading is meant cannot be known: a key given
/// twice with different values (two Lattice= used to mean the last one), a column the reader uses
/// declared twice (pos and positions, force and forces …), species and Z columns that name different
/// elements, a non-finite energy, and Properties declaring more than <see cref="MaxColumns"/> columns.
/// </summary>
public static class ExtXyzReader
{
    /// <summary>
    /// Most columns Properties may declare in all. Column counts are summed in 32 bits; two counts of
    /// 2^31 − 1 ended in an unexpected OverflowException (ConfigurationUnexpectedError).
    /// </summary>
    public const int MaxColumns = 1_000_000;

    /// <summary>Reads every frame of an extended XYZ file.</summary>
    public static IReadOnlyList<Configuration> Read(string path) => ConfigurationErrors.ReadTextFile(path, Read);

    /// <summary>Reads every frame of an extended XYZ file; what was accepted with a warning is added to <paramref name="warnings"/>.</summary>
    public static IReadOnlyList<Configuration> Read(string path, ICollection<string>? warnings) =>
        ConfigurationErrors.ReadTextFile(path, (r, p) => Read(r, p, warnings));

    /// <summary>Reads every frame from <paramref name="reader"/>; <paramref name="path"/> is used for Source and in errors.</summary>
    public static IReadOnlyList<Configuration> Read(TextReader reader, string path) => Read(reader, path, null);

    /// <summary>
    /// Reads every frame from <paramref name="reader"/>; <paramref name="path"/> is used for Source
    /// and in errors; what was accepted with a warning is added to <paramref name="warnings"/>.
    /// </summary>
    public static IReadOnlyList<Configuration> Read(TextReader reader, string path, ICollection<string>? warnings)
    {
        var frames = new List<Configuration>();
        var notice = new XyzNotices();
        var lines = new BoundedLineReader(reader, path); // reader itself only for the file length (CheckAtomCount)
        int lineNo = 0;
        string? line;
        while ((line = lines.ReadLine()) is not null)
        {
            lineNo++;
            if (line.Trim().Length == 0) continue;
            int headerLine = lineNo;
            string where = $"frame {frames.Count} (line {headerLine})";
            if (!TextParsing.TryParseInt(line.Trim(), out int n) || n <= 0)
                throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"expected the atom count of frame {frames.Count}, found '{Short(line)}'.");
            ConfigurationErrors.CheckAtomCount(n, reader, path, where);
            string comment = lines.ReadLine() ?? throw ConfigurationErrors.Corrupt(path, where, "the file ends before the comment line.");
            lineNo++;
            Dictionary<string, string> kv;
            try
            {
                kv = ParseKeyValues(comment);
            }
            catch (FormatException ex)
            {
                throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"cannot parse the comment line: {ex.Message}", ex);
            }

            double[] cell = Numbers(kv, "Lattice", 9, path, lineNo)
                ?? throw ConfigurationErrors.Corrupt(path, where, "the frame has no Lattice=\"…\" (non-periodic structures are not supported).");
            if (kv.TryGetValue("pbc", out string? pbc))
            {
                var flags = TextParsing.Split(pbc);
                // ASE writes three flags and reads one as all three; "T T" or "" says nothing certain about the third direction.
                if (flags.Length != 1 && flags.Length != 3)
                    throw ConfigurationErrors.Corrupt(path, where, $"pbc=\"{pbc}\" has {flags.Length} flags; give one or three (pbc=\"T T T\").");
                if (flags.Any(f => !IsTrue(f)))
                    throw new DpCompressException("ConfigurationNotPeriodic", ErrorKind.InvalidData,
                        $"'{path}', {where}: pbc=\"{pbc}\"; DpCompress treats every cell as periodic in all three directions. Set pbc=\"T T T\" (add vacuum for a slab or molecule).", path);
            }
            double? energy = null;
            if (kv.TryGetValue("energy", out string? es))
            {
                if (!TextParsing.TryParseDouble(es.Trim(), out double e) || !double.IsFinite(e))
                    throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"energy='{Short(es)}' is not a finite number.");
                energy = e;
            }
            double[]? virial = Numbers(kv, "virial", 9, path, lineNo);

            var columns = ParseProperties(kv.TryGetValue("Properties", out string? props) ? props : "species:S:1:pos:R:3", path, lineNo);
            Column? species = Find(columns, path, lineNo, "species"), zcol = Find(columns, path, lineNo, "Z"), pos = Find(columns, path, lineNo, "pos", "positions");
            Column? forceCol = Find(columns, path, lineNo, "forces", "force");
            Column? eiCol = Find(columns, path, lineNo, "energies", "atomic_energy", "atomic_energies", "ei", "local_energy");
            if (pos is null || pos.Count != 3) throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", "Properties has no pos:R:3 column.");
            if (species is null && zcol is null) throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", "Properties has no species:S:1 (or Z:I:1) column.");
            if (forceCol is not null && forceCol.Count != 3) forceCol = null;
            if (eiCol is not null && eiCol.Count != 1) eiCol = null;
            int width = columns.Sum(c => c.Count);

            var positions = new double[3 * n];
            var z = new int[n];
            double[]? forces = forceCol is null ? null : new double[3 * n];
            double[]? ei = eiCol is null ? null : new double[n];
            for (int i = 0; i < n; i++)
            {
                string al = lines.ReadLine() ?? throw ConfigurationErrors.Corrupt(path, where, $"the file ends after {i} of {n} atoms.");
                lineNo++;
                var tok = TextParsing.Split(al);
                if (tok.Length < width) throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"atom {i} has {tok.Length} columns, Properties needs {width}.");
                if (tok.Length > width) notice.ExtraColumns(frames.Count, lineNo, tok.Length, width, forceCol is null);
                if (species is not null)
                {
                    z[i] = Elements.AtomicNumber(tok[species.Offset]);
                    if (z[i] < 1) throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"'{tok[species.Offset]}' is not an element symbol.");
                    if (!string.Equals(tok[species.Offset], Elements.Symbol(z[i]), StringComparison.Ordinal)) notice.SymbolCase(tok[species.Offset], z[i]);
                    if (zcol is not null && !(TextParsing.TryParseInt(tok[zcol.Offset], out int zi) && zi == z[i]))
                        throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"the species column says {tok[species.Offset]} (Z = {z[i]}) but the Z column says '{tok[zcol.Offset]}'.");
                }
                else if (!TextParsing.TryParseInt(tok[zcol!.Offset], out z[i]) || z[i] < 1 || z[i] > 118)
                {
                    throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"'{tok[zcol.Offset]}' is not an atomic number.");
                }
                for (int k = 0; k < 3; k++)
                {
                    positions[3 * i + k] = Real(tok[pos.Offset + k], path, lineNo);
                    if (forces is not null) forces[3 * i + k] = Real(tok[forceCol!.Offset + k], path, lineNo);
                }
                if (ei is not null) ei[i] = Real(tok[eiCol!.Offset], path, lineNo);
            }
            frames.Add(new Configuration(cell, positions, z)
            {
                Energy = energy,
                Forces = forces,
                Virial = virial,
                AtomicEnergies = ei,
                Source = path,
                Index = frames.Count,
                Name = Path.GetFileNameWithoutExtension(path),
            });
        }
        if (frames.Count == 0) throw ConfigurationErrors.Corrupt(path, "", "the file holds no XYZ frame.");
        notice.Report(path, frames.Count, warnings);
        return frames;
    }

    /// <summary>What a file was accepted despite, gathered over its frames and reported once.</summary>
    private sealed class XyzNotices
    {
        private readonly SortedDictionary<string, string> _symbols = new(StringComparer.Ordinal);
        private readonly HashSet<int> _extraFrames = new();
        private string? _firstExtra;
        private bool _forcesUndeclared;

        public void ExtraColumns(int frame, int lineNo, int found, int declared, bool noForces)
        {
            if (_extraFrames.Add(frame) && _firstExtra is null)
            {
                _firstExtra = $"line {lineNo} has {found} columns where Properties declares {declared}";
                _forcesUndeclared = noForces && found - declared >= 3;
            }
        }

        public void SymbolCase(string given, int z) => _symbols.TryAdd(given, Elements.Symbol(z));

        public void Report(string path, int frameCount, ICollection<string>? warnings)
        {
            if (warnings is null) return;
            if (_firstExtra is not null)
                warnings.Add($"'{path}': {_extraFrames.Count} of {frameCount} frame(s) have atom lines with more columns than Properties declares " +
                    $"({_firstExtra}); the extra columns were ignored." +
                    (_forcesUndeclared ? " If they hold forces, declare them: Properties=species:S:1:pos:R:3:forces:R:3." : ""));
            if (_symbols.Count > 0)
                warnings.Add($"'{path}': element symbols not in their usual case were read as " +
                    string.Join(", ", _symbols.Select(kv => $"'{kv.Key}' -> {kv.Value}")) + ".");
        }
    }

    private sealed record Column(string Name, char Type, int Count, int Offset);

    /// <summary>The column named by one of <paramref name="names"/> (aliases, any case); two such columns are ConfigurationCorrupt.</summary>
    private static Column? Find(List<Column> cols, string path, int lineNo, params string[] names)
    {
        var matches = cols.Where(c => names.Any(n => string.Equals(c.Name, n, StringComparison.OrdinalIgnoreCase))).Take(2).ToList();
        if (matches.Count > 1)
            throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"Properties declares the column '{names[0]}' twice ('{matches[0].Name}' and '{matches[1].Name}').");
        return matches.Count == 0 ? null : matches[0];
    }

    private static List<Column> ParseProperties(string props, string path, int lineNo)
    {
        var parts = props.Split(':');
        if (parts.Length % 3 != 0) throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"Properties=\"{props}\" is not a list of name:type:count triples.");
        var cols = new List<Column>();
        long offset = 0;
        for (int p = 0; p < parts.Length; p += 3)
        {
            string type = parts[p + 1].Trim().ToUpperInvariant();
            if (type.Length != 1 || "SRIL".IndexOf(type[0]) < 0 || !TextParsing.TryParseInt(parts[p + 2], out int count) || count < 1)
                throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"Properties entry '{parts[p]}:{parts[p + 1]}:{parts[p + 2]}' is invalid.");
            if (offset + count > MaxColumns)
                throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"Properties declares more than {MaxColumns} columns (entry '{Short(parts[p])}:{parts[p + 1]}:{parts[p + 2]}').");
            cols.Add(new Column(parts[p].Trim(), type[0], count, (int)offset));
            offset += count;
        }
        return cols;
    }

    private static double Real(string token, string path, int lineNo) =>
        TextParsing.TryParseDouble(token, out double v) && double.IsFinite(v)
            ? v
            : throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"'{token}' is not a finite number.");

    private static double[]? Numbers(Dictionary<string, string> kv, string key, int count, string path, int lineNo)
    {
        if (!kv.TryGetValue(key, out string? s)) return null;
        var tok = TextParsing.Split(s.Replace('[', ' ').Replace(']', ' ').Replace(',', ' '));
        if (tok.Length != count) throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"{key} needs {count} numbers, found {tok.Length}.");
        var v = new double[count];
        for (int k = 0; k < count; k++)
            if (!TextParsing.TryParseDouble(tok[k], out v[k]) || !double.IsFinite(v[k]))
                throw ConfigurationErrors.Corrupt(path, $"line {lineNo}", $"{key}: '{tok[k]}' is not a finite number.");
        return v;
    }

    private static bool IsTrue(string f) =>
        f.Equals("T", StringComparison.OrdinalIgnoreCase) || f.Equals("True", StringComparison.OrdinalIgnoreCase) || f == "1";

    /// <summary>
    /// Parses `key=value key2="quoted value" flag` into a case-insensitive dictionary
    /// (a bare key without '=' means true).
    /// </summary>
    internal static Dictionary<string, string> ParseKeyValues(string line)
    {
        var d = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        int p = 0;
        while (true)
        {
            while (p < line.Length && char.IsWhiteSpace(line[p])) p++;
            if (p >= line.Length) break;
            int ks = p;
            while (p < line.Length && line[p] != '=' && !char.IsWhiteSpace(line[p])) p++;
            string key = line[ks..p];
            int q = p;
            while (q < line.Length && char.IsWhiteSpace(line[q])) q++;
            if (q >= line.Length || line[q] != '=')
            {
                d[key] = "T";
                continue;
            }
            p = q + 1;
            while (p < line.Length && char.IsWhiteSpace(line[p])) p++;
            string value;
            if (p < line.Length && (line[p] == '"' || line[p] == '\'' || line[p] == '{'))
            {
                char close = line[p] == '{' ? '}' : line[p];
                p++;
                var sb = new StringBuilder();
                while (p < line.Length && line[p] != close)
                {
                    if (line[p] == '\\' && p + 1 < line.Length) p++;
                    sb.Append(line[p++]);
                }
                if (p >= line.Length) throw new FormatException($"unterminated {close} in the value of '{key}'");
                p++;
                value = sb.ToString();
            }
            else
            {
                int vs = p;
                while (p < line.Length && !char.IsWhiteSpace(line[p])) p++;
                value = line[vs..p];
            }
            if (key.Length == 0) throw new FormatException("a value without a key");
            if (d.TryGetValue(key, out string? earlier) && earlier != value)
                throw new FormatException($"'{Short(key)}' is given twice with different values ('{Short(earlier)}' and '{Short(value)}')");
            d[key] = value;
        }
        return d;
    }

    /// <summary>At most 60 characters of untrusted text for a message, control characters (a binary file's bytes) as '?'.</summary>
    private static string Short(string s) =>
        string.Concat((s.Length > 60 ? s[..60] : s).Select(ch => char.IsControl(ch) ? '?' : ch)) + (s.Length > 60 ? "…" : "");
}
