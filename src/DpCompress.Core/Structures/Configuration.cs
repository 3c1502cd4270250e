namespace DpCompress.Core.Structures;

/// <summary>
/// One atomic configuration (a frame / image): periodic cell, Cartesian positions, atomic
/// numbers and, when present, the DFT labels (SPEC §6). Units: Å, eV, eV/Å.
/// </summary>
public sealed class Configuration
{
    public Configuration(double[] cell, double[] positions, int[] atomicNumbers)
    {
        if (cell.Length != 9) throw new ArgumentException("The cell needs 9 values (rows = lattice vectors).", nameof(cell));
        if (positions.Length != atomicNumbers.Length * 3) throw new ArgumentException("Positions must hold 3 values per atom.", nameof(positions));
        Cell = cell;
        Positions = positions;
        AtomicNumbers = atomicNumbers;
    }

    /// <summary>[3, 3] row-major; row a is lattice vector a (Å).</summary>
    public double[] Cell { get; }

    /// <summary>[N, 3] Cartesian positions (Å).</summary>
    public double[] Positions { get; }

    /// <summary>[N] atomic number Z per atom.</summary>
    public int[] AtomicNumbers { get; }

    public int AtomCount => AtomicNumbers.Length;

    /// <summary>DFT total (potential) energy, eV, or null.</summary>
    public double? Energy { get; init; }

    /// <summary>[N, 3] DFT forces, eV/Å, or null.</summary>
    public double[]? Forces { get; init; }

    /// <summary>[9] DFT virial, eV, row-major xx, xy, xz, yx, …; null when absent (PWdata −1e5).</summary>
    public double[]? Virial { get; init; }

    /// <summary>[N] DFT atomic energies, eV, or null.</summary>
    public double[]? AtomicEnergies { get; init; }

    /// <summary>File or folder the configuration came from.</summary>
    public string? Source { get; init; }

    /// <summary>Index of the frame within its source (0-based).</summary>
    public int Index { get; init; }

    /// <summary>A short name, e.g. the PWdata system folder (Ag10Au14).</summary>
    public string? Name { get; init; }

    /// <summary>Chemical formula in order of first appearance, e.g. Ag10Au14.</summary>
    public string Formula => Elements.Formula(AtomicNumbers);

    public override string ToString() => $"{Name ?? Formula}[{Index}] ({AtomCount} atoms)";
}
