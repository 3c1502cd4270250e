using System.Globalization;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Model;

/// <summary>
/// PWMLFF's per-element property table (<c>utils/atom_type_emb_dict.py</c>, dictionary <c>physical</c>,
/// Z = 1…109) and the type vectors of type-embedding DP models computed from it
/// (fixtures/agau_te/README.md §4). The table ships inside the assembly as the embedded resource
/// <c>element_properties.csv</c>; nothing is read from disk at run time.
/// </summary>
/// <remarks>
/// <para>Type vector of element Z for the property list p = 1…P (in the model's order):
/// v_p(Z) = (x_p(Z) − min_p) / (max_p − min_p), in float64, where for <c>atomic_number</c>
/// x = Z, min = 1, max = 109, and for every other property x = the table value and min/max run over
/// all non-NaN, present values of that column (all 109 elements, not only the model's). These are
/// exactly PWMLFF's values (bit for bit: the CSV holds PWMLFF's decimal literals, parsed with
/// correct rounding as Python does).</para>
/// <para>Errors (<see cref="DpCompressException"/>, InvalidData): <c>TypeEmbeddingUnknownProperty</c>
/// (a property name the table lacks), <c>TypeEmbeddingPropertyMissing</c> (a model element whose
/// value is NaN or absent; names the element and the property — PWMLFF fails there too).</para>
/// </remarks>
public static class ElementProperties
{
    /// <summary>The atomic-number pseudo-property (x = Z, range 1…109).</summary>
    public const string AtomicNumber = "atomic_number";

    /// <summary>PWMLFF's default <c>physical_property</c> list.</summary>
    public static IReadOnlyList<string> DefaultProperties { get; } =
        new[] { "atomic_number", "atom_radius", "atom_mass", "electron_affin", "pauling" };

    private const string ResourceName = "DpCompress.Core.element_properties.csv";
    private static readonly Lazy<Table> Data = new(Load);

    /// <summary>Property names the table holds (atomic_number first, then the CSV columns in file order).</summary>
    public static IReadOnlyList<string> PropertyNames => Data.Value.Names;

    /// <summary>Largest atomic number in the table (109).</summary>
    public static int MaxAtomicNumber => Data.Value.MaxZ;

    /// <summary>The raw table value x_p(Z): NaN when the source says NaN, null when the element is not in that property's table.</summary>
    /// <exception cref="DpCompressException">TypeEmbeddingUnknownProperty.</exception>
    public static double? Value(string property, int z)
    {
        var column = Column(property);
        return z >= 1 && z <= Data.Value.MaxZ ? column.Values[z - 1] : null;
    }

    /// <summary>(min_p, max_p) of a property: over all non-NaN, present values of its column; (1, 109) for atomic_number.</summary>
    /// <exception cref="DpCompressException">TypeEmbeddingUnknownProperty.</exception>
    public static (double Min, double Max) Range(string property)
    {
        var column = Column(property);
        return (column.Min, column.Max);
    }

    /// <summary>The type vector v(Z) = [v_1 … v_P] for the properties in <paramref name="properties"/>' order.</summary>
    /// <param name="properties">Property names (<see cref="PropertyNames"/>).</param>
    /// <param name="z">Atomic number.</param>
    /// <param name="path">Model file named in errors.</param>
    /// <exception cref="DpCompressException">TypeEmbeddingUnknownProperty, TypeEmbeddingPropertyMissing.</exception>
    public static double[] TypeVector(IReadOnlyList<string> properties, int z, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(properties);
        var v = new double[properties.Count];
        for (int p = 0; p < properties.Count; p++)
        {
            var column = Column(properties[p], path);
            double? x = z >= 1 && z <= Data.Value.MaxZ ? column.Values[z - 1] : null;
            if (x is not double value || double.IsNaN(value))
                throw new DpCompressException("TypeEmbeddingPropertyMissing", ErrorKind.InvalidData,
                    $"The element {Elements.Symbol(z)} (Z = {z}) has no {(x is null ? "value" : "valid value (NaN)")} for the property '{properties[p]}' in PWMLFF's element table, " +
                    "so the type-embedding model's type vector cannot be computed (PWMLFF fails here too). Choose properties that every model element has.", path);
            v[p] = (value - column.Min) / (column.Max - column.Min);
        }
        return v;
    }

    private static PropertyColumn Column(string property, string? path = null)
    {
        ArgumentNullException.ThrowIfNull(property);
        var table = Data.Value;
        int i = Array.IndexOf(table.Names, property);
        if (i < 0)
            throw new DpCompressException("TypeEmbeddingUnknownProperty", ErrorKind.InvalidData,
                $"The type-embedding property '{property}' is not in PWMLFF's element table; known properties: {string.Join(", ", table.Names)}.", path);
        return table.Columns[i];
    }

    private sealed record PropertyColumn(double?[] Values, double Min, double Max);

    private sealed record Table(string[] Names, PropertyColumn[] Columns, int MaxZ);

    /// <summary>Parses the embedded CSV: header atomic_number,symbol,&lt;properties…&gt;; one row per Z = 1, 2, …; "NaN" = NaN, empty = absent.</summary>
    private static Table Load()
    {
        using var stream = typeof(ElementProperties).Assembly.GetManifestResourceStream(ResourceName)
            ?? throw new InvalidOperationException($"The embedded resource {ResourceName} is missing from the assembly.");
        using var reader = new StreamReader(stream);
        var header = (reader.ReadLine() ?? "").Trim().Split(',');
        if (header.Length < 3 || header[0] != AtomicNumber || header[1] != "symbol")
            throw new InvalidOperationException("The embedded element table has an unexpected header.");
        var rows = new List<string[]>();
        for (string? line; (line = reader.ReadLine()) is not null;)
        {
            if (line.Trim().Length == 0) continue;
            var cells = line.Trim().Split(',');
            if (cells.Length != header.Length || int.Parse(cells[0], CultureInfo.InvariantCulture) != rows.Count + 1)
                throw new InvalidOperationException($"The embedded element table is malformed at Z = {rows.Count + 1}.");
            rows.Add(cells);
        }
        int maxZ = rows.Count;
        var names = new List<string> { AtomicNumber };
        var columns = new List<PropertyColumn>
        {
            new(Enumerable.Range(1, maxZ).Select(z => (double?)z).ToArray(), 1, maxZ),
        };
        for (int c = 2; c < header.Length; c++)
        {
            var values = new double?[maxZ];
            double min = double.PositiveInfinity, max = double.NegativeInfinity;
            for (int z = 0; z < maxZ; z++)
            {
                string cell = rows[z][c];
                if (cell.Length == 0) continue;
                double x = cell == "NaN" ? double.NaN : double.Parse(cell, NumberStyles.Float, CultureInfo.InvariantCulture);
                values[z] = x;
                if (double.IsNaN(x)) continue;
                if (x < min) min = x;
                if (x > max) max = x;
            }
            names.Add(header[c]);
            columns.Add(new PropertyColumn(values, min, max));
        }
        return new Table(names.ToArray(), columns.ToArray(), maxZ);
    }
}
