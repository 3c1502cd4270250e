using System.Text.RegularExpressions;

namespace DpCompress.Core.Structures;

/// <summary>
/// Reads a PWmat MOVEMENT file (SPEC §6, fixtures/formats/README.md). Per frame:
/// <list type="bullet">
/// <item>header `N atoms,Iteration (fs) = …, Etot,Ep,Ek (eV) = Etot Ep Ek, …` — the DFT
/// potential energy is Ep;</item>
/// <item>` Lattice vector (Angstrom)`: 3 rows a, b, c, each optionally followed by
/// `stress (eV): v1 v2 v3` — the virial row (eV); the virial is set only when all 3 rows have it;</item>
/// <item>` Position (normalized), …`: N lines `Z fx fy fz …`, fractional (r = f·H);</item>
/// <item>` Force (-force, eV/Angstrom)`: N lines `Z gx gy gz` with the physical force F = −g;</item>
/// <item>optional `Atomic-Energy, …`: N lines `Z Ei …` → atomic energies;</item>
/// <item>other blocks are skipped; a line of dashes ends the frame.</item>
/// </list>
/// A frame without its Force block is read without forces (its energy and virial are kept) and
/// reported once per file through the <c>warnings</c> collector, naming the frames.
/// Refused as ConfigurationCorrupt: a number that is not finite (NaN, Infinity); an atom block
/// with more atom lines than the header declares (otherwise the extra atoms were silently
/// dropped while the frame kept the energy of all of them); a block that appears twice in one
/// frame; an atom whose element differs between the Position and the Force or Atomic-Energy block.
/// </summary>
public static class MovementReader
{
    private static readonly Regex Header = new(@"^\s*(\d+)\s+atoms\s*,", RegexOptions.CultureInvariant | RegexOptions.Compiled);

    /// <summary>True when <paramref name="line"/> looks like a MOVEMENT frame header.</summary>
    public static bool IsHeader(string line) => Header.IsMatch(line) && line.Contains("Iteration", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads every frame of a MOVEMENT file.</summary>
    public static IReadOnlyList<Configuration> Read(string path) => ConfigurationErrors.ReadTextFile(path, Read);

    /// <summary>Reads every frame of a MOVEMENT file; what was accepted with a warning is added to <paramref name="warnings"/>.</summary>
    public static IReadOnlyList<Configuration> Read(string path, ICollection<string>? warnings) =>
        ConfigurationErrors.ReadTextFile(path, (r, p) => Read(r, p, warnings));

    /// <summary>Reads every frame from <paramref name="reader"/>; <paramref name="path"/> is used for Source and in errors.</summary>
    public static IReadOnlyList<Configuration> Read(TextReader reader, string path) => Read(reader, path, null);

    /// <summary>
    /// Reads every frame from <paramref name="reader"/>; <paramref name="path"/> is used for Source
    /// and in errors; frames accepted without their Force block are reported to <paramref name="warnings"/>.
    /// </summary>
    public static IReadOnlyList<Configuration> Read(TextReader reader, string path, ICollection<string>? warnings)
    {
        var src = new LineSource(new BoundedLineReader(reader, path)); // reader itself only for the file length (CheckAtomCount)
        var frames = new List<Configuration>();
        Frame? frame = null;
        string? line;
        while ((line = src.Next()) is not null)
        {
            if (IsHeader(line))
            {
                if (frame is not null) frames.Add(frame.Finish(path, frames.Count));
                frame = Frame.Start(line, src.LineNumber, path, frames.Count);
                ConfigurationErrors.CheckAtomCount(frame.AtomCount, reader, path, $"line {src.LineNumber} (frame {frames.Count})");
                continue;
            }
            string t = line.Trim();
            if (frame is null)
            {
                if (t.Length == 0) continue;
                throw ConfigurationErrors.Corrupt(path, $"line {src.LineNumber}", "expected a MOVEMENT frame header 'N atoms,Iteration (fs) = …'.");
            }
            if (t.StartsWith("Lattice vector", StringComparison.OrdinalIgnoreCase)) frame.ReadLattice(src, path);
            else if (t.StartsWith("Position", StringComparison.OrdinalIgnoreCase)) frame.ReadPositions(src, path);
            else if (t.StartsWith("Force", StringComparison.OrdinalIgnoreCase)) frame.ReadForces(src, path);
            else if (t.StartsWith("Atomic-Energy", StringComparison.OrdinalIgnoreCase)) frame.ReadAtomicEnergies(src, path);
            else if (t.Length >= 5 && t.All(ch => ch == '-'))
            {
                frames.Add(frame.Finish(path, frames.Count));
                frame = null;
            }
        }
        if (frame is not null) frames.Add(frame.Finish(path, frames.Count));
        if (frames.Count == 0) throw ConfigurationErrors.Corrupt(path, "", "the file holds no MOVEMENT frame.");
        var noForces = frames.Where(f => f.Forces is null).Select(f => f.Index).ToList();
        if (noForces.Count > 0 && warnings is not null)
            warnings.Add($"'{path}': {noForces.Count} of {frames.Count} frame(s) have no 'Force' block and carry no DFT forces " +
                $"(frame {string.Join(", ", noForces.Take(10))}{(noForces.Count > 10 ? ", …" : "")}); their energies and virials were kept.");
        return frames;
    }

    private sealed class LineSource
    {
        private readonly TextReader _r;
        private string? _peeked;

        public LineSource(TextReader r) => _r = r;

        /// <summary>Line number of the line <see cref="Next"/> returned last.</summary>
        public int LineNumber { get; private set; }

        public string? Next()
        {
            string? l = _peeked ?? _r.ReadLine();
            _peeked = null;
            if (l is not null) LineNumber++;
            return l;
        }

        /// <summary>The line <see cref="Next"/> will return, without consuming it (null at the end).</summary>
        public string? Peek() => _peeked ??= _r.ReadLine();
    }

    /// <summary>Parses a finite number (NaN and ±Infinity are refused as not finite).</summary>
    private static bool TryFinite(string token, out double value) => TextParsing.TryParseDouble(token, out value) && double.IsFinite(value);

    private sealed class Frame
    {
        private int _n;
        private int _headerLine;
        private double? _ep;
        private double[]? _cell;
        private double[]? _virial;
        private double[]? _frac;
        private int[]? _z;
        private double[]? _forces;
        private int[]? _forceZ;
        private double[]? _ei;
        private int[]? _eiZ;

        /// <summary>Atoms the header declares.</summary>
        public int AtomCount => _n;

        public static Frame Start(string line, int lineNo, string path, int frameIndex)
        {
            var f = new Frame { _headerLine = lineNo };
            var m = Header.Match(line);
            if (!TextParsing.TryParseInt(m.Groups[1].Value, out f._n) || f._n <= 0)
                throw ConfigurationErrors.Corrupt(path, $"line {lineNo} (frame {frameIndex})", "the atom count is not a positive integer.");
            int e = line.IndexOf("Etot,Ep,Ek", StringComparison.OrdinalIgnoreCase);
            if (e >= 0)
            {
                int eq = line.IndexOf('=', e);
                if (eq < 0) throw ConfigurationErrors.Corrupt(path, $"line {lineNo} (frame {frameIndex})", "'Etot,Ep,Ek' has no values.");
                var tok = TextParsing.Split(line[(eq + 1)..]);
                if (tok.Length < 2 || !TryFinite(tok[1], out double ep))
                    throw ConfigurationErrors.Corrupt(path, $"line {lineNo} (frame {frameIndex})", "cannot read Ep (a finite number) from 'Etot,Ep,Ek (eV) = …'.");
                f._ep = ep;
            }
            return f;
        }

        public void ReadLattice(LineSource src, string path)
        {
            Once(_cell, "Lattice vector", src, path);
            _cell = new double[9];
            var vir = new double[9];
            bool allStress = true;
            for (int a = 0; a < 3; a++)
            {
                string where = $"line {src.LineNumber + 1} (frame header at line {_headerLine})";
                string l = src.Next() ?? throw ConfigurationErrors.Corrupt(path, where, "the file ends inside the lattice block.");
                int st = l.IndexOf("stress", StringComparison.OrdinalIgnoreCase);
                string cellPart = st >= 0 ? l[..st] : l;
                var tok = TextParsing.Split(cellPart);
                if (tok.Length < 3) throw ConfigurationErrors.Corrupt(path, where, "a lattice row needs 3 numbers.");
                for (int k = 0; k < 3; k++)
                    if (!TryFinite(tok[k], out _cell[3 * a + k])) throw ConfigurationErrors.Corrupt(path, where, $"'{tok[k]}' is not a finite number.");
                if (st < 0) { allStress = false; continue; }
                int colon = l.IndexOf(':', st);
                var vt = TextParsing.Split(colon >= 0 ? l[(colon + 1)..] : "");
                if (vt.Length < 3) throw ConfigurationErrors.Corrupt(path, where, "a 'stress (eV):' row needs 3 numbers.");
                for (int k = 0; k < 3; k++)
                    if (!TryFinite(vt[k], out vir[3 * a + k])) throw ConfigurationErrors.Corrupt(path, where, $"'{vt[k]}' is not a finite number.");
            }
            _virial = allStress ? vir : null;
        }

        public void ReadPositions(LineSource src, string path)
        {
            Once(_frac, "Position", src, path);
            _frac = new double[3 * _n];
            _z = new int[_n];
            ReadAtomBlock(src, path, "position", 3, (i, z, v) =>
            {
                _z[i] = z;
                for (int k = 0; k < 3; k++) _frac[3 * i + k] = v[k];
            });
        }

        public void ReadForces(LineSource src, string path)
        {
            Once(_forces, "Force", src, path);
            _forces = new double[3 * _n];
            int[] z = _forceZ = new int[_n];
            ReadAtomBlock(src, path, "force", 3, (i, zi, v) =>
            {
                z[i] = zi;
                for (int k = 0; k < 3; k++) _forces[3 * i + k] = -v[k]; // stored as −F
            });
        }

        public void ReadAtomicEnergies(LineSource src, string path)
        {
            Once(_ei, "Atomic-Energy", src, path);
            _ei = new double[_n];
            int[] z = _eiZ = new int[_n];
            ReadAtomBlock(src, path, "Atomic-Energy", 1, (i, zi, v) =>
            {
                z[i] = zi;
                _ei[i] = v[0];
            });
        }

        /// <summary>
        /// A block read twice in one frame is refused: PWmat writes each once, and which copy is meant
        /// cannot be known (the later one used to replace the earlier silently).
        /// </summary>
        private void Once(object? already, string block, LineSource src, string path)
        {
            if (already is not null)
                throw ConfigurationErrors.Corrupt(path, $"line {src.LineNumber} (frame header at line {_headerLine})", $"the frame has a second '{block}' block.");
        }

        /// <summary>
        /// The elements of a Force or Atomic-Energy block against the Position block, checked when the
        /// frame is complete, so the order of the blocks does not matter.
        /// </summary>
        private void CheckSpecies(int[]? z, string path, string block)
        {
            if (_z is null || z is null) return;
            for (int i = 0; i < _n; i++)
                if (z[i] != _z[i])
                    throw ConfigurationErrors.Corrupt(path, $"frame header at line {_headerLine}", $"atom {i} is Z = {_z[i]} in the position block but Z = {z[i]} in the {block} block.");
        }

        private void ReadAtomBlock(LineSource src, string path, string block, int values, Action<int, int, double[]> store)
        {
            var v = new double[values];
            for (int i = 0; i < _n; i++)
            {
                string where = $"line {src.LineNumber + 1} (frame header at line {_headerLine})";
                string l = src.Next() ?? throw ConfigurationErrors.Corrupt(path, where, $"the file ends inside the {block} block ({i} of {_n} atoms).");
                var tok = TextParsing.Split(l);
                if (tok.Length < 1 + values || !TextParsing.TryParseInt(tok[0], out int z))
                    throw ConfigurationErrors.Corrupt(path, where, $"expected 'Z' and {values} number(s) for atom {i} of the {block} block.");
                if (z < 1 || z > 118) throw ConfigurationErrors.Corrupt(path, where, $"atomic number {z} is out of range.");
                for (int k = 0; k < values; k++)
                    if (!TryFinite(tok[1 + k], out v[k])) throw ConfigurationErrors.Corrupt(path, where, $"'{tok[1 + k]}' is not a finite number.");
                store(i, z, v);
            }
            // The header's count must be the block's length: one more atom line means the header
            // declares too few atoms, and the lines beyond it would be skipped as an unknown block.
            if (src.Peek() is { } next && IsAtomLine(next, values))
                throw ConfigurationErrors.Corrupt(path, $"line {src.LineNumber + 1} (frame header at line {_headerLine})",
                    $"the {block} block has more atom lines than the {_n} atoms the frame header declares.");
        }

        /// <summary>True when <paramref name="line"/> reads as an atom line of a block: Z (1 … 118) and <paramref name="values"/> numbers.</summary>
        private static bool IsAtomLine(string line, int values)
        {
            var tok = TextParsing.Split(line);
            if (tok.Length < 1 + values || !TextParsing.TryParseInt(tok[0], out int z) || z < 1 || z > 118) return false;
            for (int k = 0; k < values; k++)
                if (!TextParsing.TryParseDouble(tok[1 + k], out _)) return false;
            return true;
        }

        public Configuration Finish(string path, int index)
        {
            string where = $"frame {index} (header at line {_headerLine})";
            if (_cell is null) throw ConfigurationErrors.Corrupt(path, where, "the frame has no 'Lattice vector' block.");
            if (_frac is null || _z is null) throw ConfigurationErrors.Corrupt(path, where, "the frame has no 'Position' block.");
            CheckSpecies(_forceZ, path, "force");
            CheckSpecies(_eiZ, path, "Atomic-Energy");
            return new Configuration(_cell, PwDataReader.FractionalToCartesian(_frac, _cell), _z)
            {
                Energy = _ep,
                Forces = _forces,
                Virial = _virial,
                AtomicEnergies = _ei,
                Source = path,
                Index = index,
                Name = Path.GetFileName(path),
            };
        }
    }
}
