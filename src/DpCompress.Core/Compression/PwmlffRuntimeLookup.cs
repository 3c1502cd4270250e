using System.Runtime.CompilerServices;

namespace DpCompress.Core.Compression;

/// <summary>Whose runtime lookup evaluates a compression table at inference.</summary>
public enum TableRuntime
{
    /// <summary>DpCompress's own lookup (SPEC §3): row by index arithmetic, node x_k = s_min + k·dx in float64,
    /// outer rows after the inner ones, C1 continuation beyond the table.</summary>
    DpCompress,

    /// <summary>What PWMLFF's runtime (its Python forward and the TorchScript it writes for LAMMPS) computes with
    /// the same file (SPEC §8), defects included: float32 interval start and the outer branch without row offset.</summary>
    Pwmlff,
}

/// <summary>Which branch of PWMLFF's runtime lookup a value took.</summary>
public enum PwmlffBranch
{
    /// <summary>s̃ &lt; sij_max: the inner branch (float32 interval start).</summary>
    Inner,

    /// <summary>s̃ ≥ sij_max (or NaN): the outer branch, which reads the wrong rows (no inner row offset).</summary>
    BrokenOuter,
}

/// <summary>
/// PWMLFF's runtime table lookup, reproduced operation by operation (SPEC §8), so that DpCompress can report
/// what PWMLFF and LAMMPS will compute with a compressed checkpoint.
/// </summary>
/// <remarks>
/// <para>For a slot with scaled s̃ in net n (R = rows per net, the same for every net; sij_min, sij_max and dx are
/// the compress dict's values as stored, see <see cref="SijGrid.RuntimeSijMax"/>):</para>
/// <para>Inner branch, s̃ &lt; sij_max (strict): k = trunc((s̃ − sij_min)/dx) in float64;
/// x_k = fl32(fl32(k·dx) + fl32(sij_min)) — k and dx are rounded to float32, their product and the sum are
/// float32 operations; f = s̃ − x_k in float64; row k + n·R.</para>
/// <para>Outer branch, otherwise: k = trunc((s̃ − sij_max)/(10·dx)); its start is float32 as well,
/// x_k = fl32(fl32(k·10·dx) + fl32(sij_max)), f = s̃ − x_k in float64; row k + n·R. (SPEC §8 writes this start in
/// float64; PWMLFF's reference output for the Ag–Au slot at s̃ = sij_max, k = 0, matches only the float32 start:
/// 1.4e-13 eV against 1.4e-8 eV.) PWMLFF does not add the inner row count L, so this reads inner row k of the net with the local
/// variable of outer interval k: a defect, reproduced because it is what PWMLFF computes.</para>
/// <para>G is then the row's polynomial in f (coefficients highest power first) and dG/ds̃ its derivative in f
/// (x_k does not depend on s̃): the same Horner evaluation as the exact lookup, at another (row, f).</para>
/// <para>The float32 start is exact when dx = 2^−p and sij_min = m·dx with |k + m| &lt; 2^24; the outer branch is
/// never taken when sij_max, an inner node, exceeds every s̃ that occurs
/// (the PWMLFF runtime layout).</para>
/// <para>Ties at sij_max. DpCompress's s̃ agrees with PWMLFF's to ~1e-14 relative, not bit for bit (the geometry is
/// summed in another order). PWMLFF's sij_max is the s̃ of the closest pair of its training data, so that pair
/// evaluates to exactly sij_max in PWMLFF and takes the outer branch (Ag10Au14 valid image 2 of the Ag–Au fixture:
/// −0.95 eV), while ours may land a few ulps below. The emulation therefore treats s̃ ≥ sij_max·(1 − 2^−40)
/// (<see cref="TieTolerance"/>, ≈ 5e-12 at sij_max = 6) as sij_max itself. Layouts built for PWMLFF's runtime put
/// sij_max far above every s̃ that can occur, so the band never matters for them.</para>
/// <para>A row outside the net's R rows (k &lt; 0 or k ≥ R) would make PWMLFF read another net's rows or fail with
/// an index error; the emulation refuses it (PwmlffLookupOutsideTable) rather than guess.</para>
/// </remarks>
public sealed class PwmlffRuntimeLookup
{
    /// <summary>Relative band below sij_max inside which s̃ counts as equal to sij_max (see remarks).</summary>
    public const double TieTolerance = 1.0 / (1L << 40);

    private readonly double _sijMin, _sijMax, _innerLimit, _dx, _outerStep;
    private readonly float _sijMin32, _dx32;
    private readonly int _rows;

    /// <summary>Creates the lookup of a table laid on <paramref name="grid"/>.</summary>
    public PwmlffRuntimeLookup(SijGrid grid)
    {
        ArgumentNullException.ThrowIfNull(grid);
        _sijMin = grid.SMin;
        _sijMax = grid.RuntimeSijMax;
        _innerLimit = _sijMax - TieTolerance * Math.Abs(_sijMax);
        _dx = grid.Dx;
        _outerStep = 10 * grid.Dx;
        _sijMin32 = (float)_sijMin;
        _dx32 = (float)_dx;
        _rows = grid.Rows;
    }

    /// <summary>The sij_max PWMLFF's runtime compares with (strict &lt; for the inner branch).</summary>
    public double SijMax => _sijMax;

    /// <summary>True when s̃ takes PWMLFF's outer branch (s̃ ≥ sij_max up to <see cref="TieTolerance"/>, or NaN).</summary>
    public bool TakesOuterBranch(double s) => !(s < _innerLimit);

    /// <summary>Row (within the net) and local variable f of s̃, as PWMLFF's runtime computes them.</summary>
    /// <param name="s">Scaled s̃.</param>
    /// <param name="row">Receives the row within the net, 0 ≤ row &lt; R.</param>
    /// <param name="f">Receives the local variable f.</param>
    /// <returns>The branch taken.</returns>
    /// <exception cref="DpCompressException">PwmlffLookupOutsideTable when PWMLFF would read outside the net's rows.</exception>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public PwmlffBranch Locate(double s, out int row, out double f)
    {
        if (s < _innerLimit)
        {
            double k = Math.Truncate((s - _sijMin) / _dx);
            float product = (float)k * _dx32;                  // float32 product …
            float xk = product + _sijMin32;                    // … and float32 sum
            f = s - xk;
            row = CheckRow(k, s);
            return PwmlffBranch.Inner;
        }
        double j = Math.Truncate((s - _sijMax) / _outerStep);
        float outerProduct = (float)j * (float)_outerStep;
        float xj = outerProduct + (float)_sijMax;
        f = s - xj;
        row = CheckRow(j, s);
        return PwmlffBranch.BrokenOuter;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int CheckRow(double k, double s)
    {
        if (k >= 0 && k < _rows) return (int)k;
        throw OutsideTable(s);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private DpCompressException OutsideTable(double s) =>
        new("PwmlffLookupOutsideTable", ErrorKind.LimitsExceeded,
            $"Scaled s {s:G10} makes PWMLFF's runtime lookup read outside the net's {_rows} table rows (sij_min {_sijMin:G10}, sij_max {_sijMax:G10}, dx {_dx:G6}): " +
            "PWMLFF would read another net's rows or fail; the emulation cannot reproduce that.");
}
