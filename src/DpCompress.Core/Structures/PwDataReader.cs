namespace DpCompress.Core.Structures;

/// <summary>
/// Reads PWMLFF PWdata (SPEC §6). A PWdata folder holds the .npy files of one system subset:
/// position.npy [nimg, 3N] fractional coordinates, lattice.npy [nimg, 9] (rows = lattice
/// vectors), image_type.npy [1, N] (Z per atom), atom_type.npy [1, ntypes] and the optional
/// labels energies.npy [nimg, 1], forces.npy [nimg, 3N], virials.npy [nimg, 9] (a row of −1e5
/// means "no virial"), ei.npy [nimg, N]. Cartesian positions are r = f · L (row vector times
/// the lattice matrix whose rows are a, b, c). When atom_type.npy is present, its set of
/// atomic numbers must equal the set image_type.npy holds; a folder where they disagree is
/// refused (PwDataTypeMismatch): which atoms its labels belong to cannot be known.
/// </summary>
public static class PwDataReader
{
    /// <summary>The virial value PWMLFF writes for "absent".</summary>
    public const double MissingVirial = -1e5;

    private const string PositionFile = "position.npy";

    /// <summary>
    /// Reads every image below <paramref name="path"/>: a PWdata folder itself, a system folder
    /// with train/ and/or valid/ subfolders, or any folder tree holding such folders (walked
    /// depth-first in ordinal name order, so the result is deterministic).
    /// </summary>
    public static IReadOnlyList<Configuration> Read(string path)
    {
        if (!Directory.Exists(path)) throw ConfigurationErrors.NotFound(path);
        var folders = FindDataFolders(path);
        if (folders.Count == 0)
            throw ConfigurationErrors.FormatUnknown(path, $"the folder holds no {PositionFile} (no PWdata folder below it).");
        var all = new List<Configuration>();
        foreach (string f in folders) all.AddRange(ReadFolder(f));
        return all;
    }

    /// <summary>True when <paramref name="folder"/> itself holds PWdata .npy files.</summary>
    public static bool IsDataFolder(string folder) => File.Exists(Path.Combine(folder, PositionFile));

    /// <summary>
    /// All PWdata folders at or below <paramref name="root"/>, depth-first, ordinal name order, each folder once.
    /// </summary>
    /// <remarks>
    /// Folder links are followed (data kept elsewhere is often linked in), but a folder reached a second time
    /// (its path with every link on the way replaced by its target) is skipped. Before, a folder holding two
    /// links to itself was walked 2^33 times down to the depth limit (Import-DpConfiguration did not return in
    /// 30 s), and a PWdata folder beside a link to its parent was read 32 times over.
    /// </remarks>
    public static IReadOnlyList<string> FindDataFolders(string root)
    {
        var result = new List<string>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        void Walk(string dir, string real, int depth)
        {
            if (!visited.Add(real)) return;
            if (IsDataFolder(dir)) { result.Add(dir); return; }
            if (depth > 32) return;
            string[] subs;
            try
            {
                subs = Directory.GetDirectories(dir);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return;
            }
            Array.Sort(subs, StringComparer.Ordinal);
            foreach (string s in subs) Walk(s, RealPath(real, Path.GetFileName(s)), depth + 1);
        }
        string full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        string? parent = Path.GetDirectoryName(full);
        Walk(full, parent is null ? full : RealPath(parent, Path.GetFileName(full)), 0);
        return result;
    }

    /// <summary>
    /// The path of folder <paramref name="name"/> in the folder whose link-free path is <paramref name="realParent"/>,
    /// with links replaced by their targets (relative ones taken from the link's real folder, as the system does).
    /// </summary>
    private static string RealPath(string realParent, string name)
    {
        string real = Path.Combine(realParent, name);
        for (int hop = 0; hop < 40; hop++)
        {
            string? target;
            try
            {
                target = new DirectoryInfo(real).LinkTarget;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                break;
            }
            if (target is null) break;
            real = Path.TrimEndingDirectorySeparator(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(real) ?? real, target)));
        }
        return real;
    }

    /// <summary>Reads one PWdata folder (the folder holding position.npy).</summary>
    public static IReadOnlyList<Configuration> ReadFolder(string folder)
    {
        folder = Path.GetFullPath(folder);
        if (!Directory.Exists(folder)) throw ConfigurationErrors.NotFound(folder);
        string name = SystemName(folder);

        // The atom count first, limited as the text readers limit theirs, before the positions are decoded
        // (a 77 MB folder of 20 million atoms in uint8 took 4.3 s and 1.45 GB to import, and was read despite the limit).
        NpyArray types = Require(folder, "image_type.npy");
        int natoms = types.Rank switch { 1 => types.Shape[0], 2 => types.Shape[1], _ => 0 };
        ConfigurationErrors.CheckAtomLimit(natoms, folder, "image_type.npy");
        NpyArray pos = Require(folder, PositionFile);
        NpyArray lat = Require(folder, "lattice.npy");

        int nimg = Rows(pos);
        if (nimg == 0) return Array.Empty<Configuration>();
        int[] z = types.ToInt32();
        int typeRows = types.Rank == 2 ? types.Shape[0] : 1;
        bool typesPerImage = typeRows == nimg && typeRows > 1;
        if (!(typeRows == 1 || typesPerImage) || natoms == 0)
            throw Shape(folder, types, $"[1, N] or [{nimg}, N]");
        CheckShape(folder, pos, nimg, 3 * natoms);
        if (!(Rows(lat) == nimg || Rows(lat) == 1) || lat.Length != Rows(lat) * 9L)
            throw Shape(folder, lat, $"[{nimg}, 9]");
        foreach (int zi in z)
            if (zi < 1 || zi > 118) throw ConfigurationErrors.Corrupt(folder, "image_type.npy", $"atomic number {zi} is out of range 1..118.");
        if (Optional(folder, "atom_type.npy") is { } listed) CheckAtomTypes(folder, listed.ToInt32(), z);

        NpyArray? energies = Optional(folder, "energies.npy");
        NpyArray? forces = Optional(folder, "forces.npy");
        NpyArray? virials = Optional(folder, "virials.npy");
        NpyArray? ei = Optional(folder, "ei.npy");
        if (energies is not null && energies.Length != nimg) throw Shape(folder, energies, $"[{nimg}, 1]");
        if (forces is not null) CheckShape(folder, forces, nimg, 3 * natoms);
        if (virials is not null) CheckShape(folder, virials, nimg, 9);
        if (ei is not null) CheckShape(folder, ei, nimg, natoms);
        foreach (var labels in new[] { energies, forces, virials, ei })
            if (labels is not null) CheckFinite(folder, labels);

        var list = new List<Configuration>(nimg);
        for (int img = 0; img < nimg; img++)
        {
            var cell = new double[9];
            Array.Copy(lat.Data, Rows(lat) == 1 ? 0 : img * 9, cell, 0, 9);
            var frac = new ReadOnlySpan<double>(pos.Data, img * 3 * natoms, 3 * natoms);
            double[] cart = FractionalToCartesian(frac, cell);
            int[] zImg = typesPerImage ? z.AsSpan(img * natoms, natoms).ToArray() : (int[])z.Clone();
            foreach (double v in cart)
                if (!double.IsFinite(v)) throw ConfigurationErrors.Corrupt(folder, $"image {img}", "a position or lattice value is not finite.");

            double[]? virial = null;
            if (virials is not null)
            {
                virial = virials.Data.AsSpan(img * 9, 9).ToArray();
                if (Array.TrueForAll(virial, v => v == MissingVirial)) virial = null;
            }
            list.Add(new Configuration(cell, cart, zImg)
            {
                Energy = energies?.Data[img],
                Forces = forces?.Data.AsSpan(img * 3 * natoms, 3 * natoms).ToArray(),
                Virial = virial,
                AtomicEnergies = ei?.Data.AsSpan(img * natoms, natoms).ToArray(),
                Source = folder,
                Index = img,
                Name = name,
            });
        }
        return list;
    }

    /// <summary>r_i = Σ_a f_ia · L[a, :] for every atom. <paramref name="frac"/> [N, 3], <paramref name="cell"/> [3, 3] rows = lattice vectors.</summary>
    public static double[] FractionalToCartesian(ReadOnlySpan<double> frac, double[] cell)
    {
        var r = new double[frac.Length];
        for (int i = 0; i < frac.Length / 3; i++)
        {
            double f0 = frac[3 * i], f1 = frac[3 * i + 1], f2 = frac[3 * i + 2];
            for (int k = 0; k < 3; k++) r[3 * i + k] = f0 * cell[k] + f1 * cell[3 + k] + f2 * cell[6 + k];
        }
        return r;
    }

    /// <summary>The system name: the parent's name for …/&lt;system&gt;/train|valid, else the folder's own name.</summary>
    private static string SystemName(string folder)
    {
        string leaf = Path.GetFileName(folder.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        if (leaf.Equals("train", StringComparison.OrdinalIgnoreCase) || leaf.Equals("valid", StringComparison.OrdinalIgnoreCase) ||
            leaf.Equals("test", StringComparison.OrdinalIgnoreCase))
        {
            string? parent = Path.GetDirectoryName(folder.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
            if (!string.IsNullOrEmpty(parent)) return Path.GetFileName(parent);
        }
        return leaf;
    }

    /// <summary>atom_type.npy (the atomic numbers present) against image_type.npy (Z per atom): the sets must be equal.</summary>
    private static void CheckAtomTypes(string folder, int[] listed, int[] perAtom)
    {
        var a = listed.Distinct().Order().ToArray();
        var b = perAtom.Distinct().Order().ToArray();
        if (a.SequenceEqual(b)) return;
        static string Names(IEnumerable<int> zs) => string.Join(", ", zs.Select(Elements.Symbol));
        throw new DpCompressException("PwDataTypeMismatch", ErrorKind.InvalidData,
            $"'{folder}': atom_type.npy lists {Names(a)} but image_type.npy holds {Names(b)}. The folder is inconsistent, so which atoms " +
            "its energies and forces belong to is unknown; regenerate it, or correct atom_type.npy if image_type.npy is right.", folder);
    }

    private static NpyArray Require(string folder, string file)
    {
        string p = Path.Combine(folder, file);
        if (!File.Exists(p)) throw ConfigurationErrors.Corrupt(folder, "", $"the PWdata folder has no {file}.");
        return Load(folder, p);
    }

    private static NpyArray? Optional(string folder, string file)
    {
        string p = Path.Combine(folder, file);
        return File.Exists(p) ? Load(folder, p) : null;
    }

    private static NpyArray Load(string folder, string p)
    {
        try
        {
            return NpyReader.Read(p);
        }
        catch (DpCompressException ex) when (ex.ErrorId is "NpyCorrupt" or "NpyUnsupportedDtype" or "NpyUnsupportedVersion")
        {
            throw ConfigurationErrors.Corrupt(p, ex);   // "'x/position.npy' is not a valid .npy file: …" names the file once
        }
    }

    /// <summary>
    /// Labels must be finite numbers, as the XYZ and MOVEMENT readers require: a NaN energy or force
    /// was read and made every error statistic of Test-CompressedModel -Detailed against the DFT labels NaN.
    /// </summary>
    private static void CheckFinite(string folder, NpyArray a)
    {
        double[] d = a.Data;
        long perImage = Math.Max(1, a.Length / Math.Max(1, Rows(a)));
        for (int q = 0; q < d.Length; q++)
        {
            if (double.IsFinite(d[q])) continue;
            throw ConfigurationErrors.Corrupt(folder, Path.GetFileName(a.Path),
                $"element {q} (image {q / perImage}) is {d[q].ToString(System.Globalization.CultureInfo.InvariantCulture)}, not a finite number.");
        }
    }

    private static int Rows(NpyArray a) => a.Rank == 0 ? 1 : a.Shape[0];

    private static void CheckShape(string folder, NpyArray a, int rows, int cols)
    {
        if (a.Rank == 0 || a.Shape[0] != rows || a.Length != (long)rows * cols) throw Shape(folder, a, $"[{rows}, {cols}]");
    }

    private static DpCompressException Shape(string folder, NpyArray a, string expected) =>
        ConfigurationErrors.Corrupt(folder, Path.GetFileName(a.Path), $"shape ({string.Join(", ", a.Shape)}) does not match the expected {expected}.");
}
