namespace DpCompress.Core.Structures;

/// <summary>Element symbols ⇄ atomic numbers (Z = 1..118).</summary>
public static class Elements
{
    private static readonly string[] Symbols =
    {
        "X", "H", "He", "Li", "Be", "B", "C", "N", "O", "F", "Ne", "Na", "Mg", "Al", "Si", "P", "S", "Cl", "Ar",
        "K", "Ca", "Sc", "Ti", "V", "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn", "Ga", "Ge", "As", "Se", "Br", "Kr",
        "Rb", "Sr", "Y", "Zr", "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn", "Sb", "Te", "I", "Xe",
        "Cs", "Ba", "La", "Ce", "Pr", "Nd", "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb", "Lu",
        "Hf", "Ta", "W", "Re", "Os", "Ir", "Pt", "Au", "Hg", "Tl", "Pb", "Bi", "Po", "At", "Rn",
        "Fr", "Ra", "Ac", "Th", "Pa", "U", "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm", "Md", "No", "Lr",
        "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds", "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
    };

    /// <summary>Symbol of atomic number z (e.g. 79 → "Au").</summary>
    public static string Symbol(int z) => z >= 1 && z < Symbols.Length ? Symbols[z] : $"Z{z}";

    /// <summary>Atomic number of a symbol (case-insensitive), or −1 when unknown.</summary>
    public static int AtomicNumber(string symbol)
    {
        for (int z = 1; z < Symbols.Length; z++)
            if (string.Equals(Symbols[z], symbol, StringComparison.OrdinalIgnoreCase)) return z;
        return -1;
    }

    /// <summary>Formula in order of first appearance: [47,79,79] → "AgAu2".</summary>
    public static string Formula(IEnumerable<int> atomicNumbers)
    {
        var counts = new List<(int Z, int N)>();
        foreach (int z in atomicNumbers)
        {
            int i = counts.FindIndex(c => c.Z == z);
            if (i < 0) counts.Add((z, 1));
            else counts[i] = (z, counts[i].N + 1);
        }
        return string.Concat(counts.Select(c => Symbol(c.Z) + (c.N > 1 ? c.N.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")));
    }
}
