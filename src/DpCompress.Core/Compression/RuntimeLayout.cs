using DpCompress.Core.Model;

namespace DpCompress.Core.Compression;

/// <summary>How the grid of a compression table is laid out.</summary>
public enum TableLayout
{
    /// <summary>A grid PWMLFF's runtime evaluates exactly (<see cref="RuntimeLayout"/>): dyadic dx, aligned start,
    /// inner end above every s̃ that can occur. The default for PWMLFF checkpoints.</summary>
    Pwmlff,

    /// <summary>PWMLFF's <c>set_sij_range</c> grid with exactly the dx asked for (SPEC §3,
    /// <see cref="GridBuilder"/>). Exact in DpCompress's engines; in PWMLFF's runtime its interval starts are
    /// rounded to float32 (~1e-6 eV/atom on Ag–Au at dx 0.01) and pairs at s̃ ≥ x_L read wrong rows.</summary>
    Exact,
}

/// <summary>
/// Builds a grid whose table PWMLFF's runtime lookup (SPEC §8, <see cref="PwmlffRuntimeLookup"/>) evaluates exactly
/// as DpCompress's own lookup does.
/// </summary>
/// <remarks>
/// <para>PWMLFF computes the start of interval k as x_k = fl32(fl32(k·dx) + fl32(sij_min)) and takes its broken
/// outer branch (wrong rows) for s̃ ≥ sij_max. Three choices make both harmless:</para>
/// <para>1. Dyadic step: dx′ = 2^⌊log2 dx⌋, the largest power of two not above the requested dx (0.01 → 2^−7 =
/// 0.0078125). 2. Aligned start: sij_min = ⌊s_min/dx′⌋·dx′ = m·dx′. Every node (k + m)·dx′ with |k + m| &lt; 2^24 is
/// then a float32 number, k·dx′ and the sum are exact in float32, so x_k equals DpCompress's float64 node bit for bit
/// (empty neighbour slots sit exactly at the grid start, so the start matters as much as the step).
/// 3. Inner end: sij_max = x_L, an inner node strictly above s̃′ = max_t (S(r′) − davg_t)/dstd_t, the largest s̃
/// of a pair at distance r′; by default r′ = 0.75·r_c, where r_c = S⁻¹(raw sij_max) is the closest pair distance the
/// training data implies (S is strictly decreasing on (0, Rmax), so every pair at r ≥ r′ has s̃ ≤ s̃′ &lt; x_L and
/// stays in the inner branch). L = ⌊s̃′/dx′⌋ + 1 − m.</para>
/// <para>The outer rows are kept with PWMLFF's rule (nodes x_L + j·10·dx′ below 10·s_max; its C++/GPU paths may read
/// them) and the correct step. The grid's <see cref="SijGrid.SMax"/> stays the training maximum s_max, so
/// sij_out_max = 10·s_max and the beyond-training counts keep their meaning. Measured on the Ag–Au model: order 3,
/// dx 0.01 → dx′ 2^−7, start −0.3125, end 8.0: 1064 inner + 671 outer nodes (1734 rows, 1.47× the 1178 rows of
/// the exact layout).</para>
/// </remarks>
public static class RuntimeLayout
{
    /// <summary>Default fraction of the closest training pair distance that the inner grid covers.</summary>
    public const double DefaultCoverFraction = 0.75;

    /// <summary>The largest power of two not above <paramref name="dx"/>.</summary>
    /// <exception cref="DpCompressException">InvalidDx when dx is not a positive finite number.</exception>
    public static double DyadicStep(double dx)
    {
        GridBuilder.ValidateDx(dx);
        return Math.ScaleB(1.0, Math.ILogB(dx));
    }

    /// <summary>The pair distance r with S(r) = <paramref name="rawS"/> (SPEC §2.1; S strictly decreasing on (0, Rmax)).</summary>
    /// <param name="rawS">Raw S value (&gt; 0).</param>
    /// <param name="rmin">Rmin of the switch.</param>
    /// <param name="rmax">Rmax (cutoff).</param>
    public static double PairDistance(double rawS, double rmin, double rmax)
    {
        if (!(rawS > 0) || !double.IsFinite(rawS))
            throw new DpCompressException("InvalidSijMax", ErrorKind.InvalidArgument, $"sij_max must be a positive finite number to imply a closest pair distance (got {rawS}).");
        if (rawS * rmin >= 1) return 1 / rawS;       // S = 1/r below Rmin (and S(Rmin) = 1/Rmin: continuous)
        double lo = rmin, hi = rmax;                 // S(lo) ≥ rawS > S(hi) = 0
        for (int i = 0; i < 200 && hi - lo > 1e-15 * hi; i++)
        {
            double mid = 0.5 * (lo + hi);
            if (SmoothWeight(mid, rmin, rmax) >= rawS) lo = mid; else hi = mid;
        }
        return lo;
    }

    /// <summary>S(r) of SPEC §2.1 for r &gt; 0.</summary>
    public static double SmoothWeight(double r, double rmin, double rmax)
    {
        if (r < rmin) return 1 / r;
        if (r >= rmax) return 0;
        double u = (r - rmin) / (rmax - rmin);
        return (u * u * u * (-6 * u * u + 15 * u - 10) + 1) / r;
    }

    /// <summary>The layout used when none is asked for: <see cref="TableLayout.Pwmlff"/> for PWMLFF models (their
    /// compressed checkpoint runs in PWMLFF's runtime), <see cref="TableLayout.Exact"/> for DeePMD-kit models.</summary>
    public static TableLayout DefaultFor(DpModel model) =>
        model.Flavour == ModelFlavour.DeepMdSeE2A ? TableLayout.Exact : TableLayout.Pwmlff;

    /// <summary>Builds the grid of <paramref name="layout"/>: <see cref="Build"/> or
    /// <see cref="GridBuilder.Build(DpModel, double, int, SijMaxSource, double?, long)"/> (the dx as given).</summary>
    /// <param name="model">The model.</param>
    /// <param name="layout">The layout.</param>
    /// <param name="dx">Requested step.</param>
    /// <param name="order">3 or 5 (memory guard).</param>
    /// <param name="source">Where the raw sij_max comes from.</param>
    /// <param name="sijMax">Raw sij_max for sources other than the checkpoint.</param>
    /// <param name="coverDistance">Pwmlff layout only: see <see cref="Build"/>.</param>
    public static SijGrid BuildGrid(DpModel model, TableLayout layout, double dx, int order = 3, SijMaxSource source = SijMaxSource.Checkpoint,
        double? sijMax = null, double? coverDistance = null)
    {
        if (layout == TableLayout.Exact)
        {
            if (coverDistance is not null)
                throw new DpCompressException("CoverDistanceNeedsPwmlffLayout", ErrorKind.InvalidArgument,
                    "A cover distance applies to the PWMLFF runtime layout only (-Layout Pwmlff); the exact layout ends its inner grid at s_max.");
            return GridBuilder.Build(model, dx, order, source, sijMax);
        }
        return Build(model, dx, order, source, sijMax, coverDistance);
    }

    /// <summary>Builds the PWMLFF runtime layout for <paramref name="model"/>.</summary>
    /// <param name="model">Source of davg/dstd, Rmin/Rmax, the net count and m.</param>
    /// <param name="dx">Requested step; the grid uses <see cref="DyadicStep"/> of it.</param>
    /// <param name="order">3 or 5 (memory guard).</param>
    /// <param name="source">Where the raw sij_max comes from (as in <see cref="GridBuilder.Build(DpModel, double, int, SijMaxSource, double?, long)"/>).</param>
    /// <param name="sijMax">Raw sij_max for sources other than the checkpoint.</param>
    /// <param name="coverDistance">Pairs at or beyond this distance (Å) stay in PWMLFF's inner branch; default
    /// <see cref="DefaultCoverFraction"/> × the closest pair distance implied by sij_max.</param>
    /// <param name="maxTableBytes">Refuse grids whose table would be larger (TableTooLarge).</param>
    public static SijGrid Build(DpModel model, double dx, int order = 3, SijMaxSource source = SijMaxSource.Checkpoint,
        double? sijMax = null, double? coverDistance = null, long maxTableBytes = GridBuilder.DefaultMaxTableBytes)
    {
        ArgumentNullException.ThrowIfNull(model);
        // The exact grid validates dx, sij_max and the s range and gives the training range [s_min, s_max].
        var exact = GridBuilder.Build(model, dx, order, source, sijMax, maxTableBytes);
        double step = DyadicStep(dx);
        int nt = model.TypeCount;
        double rc = PairDistance(exact.RawSijMax, model.Rmin, model.Rmax);
        double cover = coverDistance ?? DefaultCoverFraction * rc;
        if (!(cover > 0) || !double.IsFinite(cover))
            throw new DpCompressException("InvalidCoverDistance", ErrorKind.InvalidArgument,
                $"The distance the inner grid covers must be a positive number of Å (got {cover}).");
        double sCover = SmoothWeight(cover, model.Rmin, model.Rmax);
        double sTop = exact.SMax;
        for (int t = 0; t < nt; t++)
            sTop = Math.Max(sTop, (sCover - model.Davg[t * 4]) / model.Dstd[t * 4]);
        double m = Math.Floor(exact.SMin / step);
        double end = Math.Floor(sTop / step) + 1;          // x_L = end·dx′ > s̃′ (strict: s̃′ itself stays inner)
        double innerD = end - m;
        double outerLimit = 10 * exact.SMax;
        double outerD = Math.Max(2, Math.Ceiling((outerLimit - end * step) / (10 * step)) + 1);
        GridBuilder.EnsureTableFits((long)Math.Min(innerD + outerD, 1e15), model.TableNets.Count, model.EmbeddingWidth, order, maxTableBytes);
        if (Math.Max(Math.Abs(m), Math.Abs(end)) >= 1 << 24)
            throw new DpCompressException("TableTooLarge", ErrorKind.LimitsExceeded,
                $"dx {step} (from {dx}) needs inner node indices up to {Math.Max(Math.Abs(m), Math.Abs(end)):G3}: they must stay below 2^24 for PWMLFF's float32 interval starts to be exact. Use a larger dx, a larger cover distance, or -Layout Exact.");
        int inner = (int)innerD;
        // Outer nodes x_L + j·10·dx′ for every j whose node lies below 10·s_max (PWMLFF's rule), at least 2.
        int outer = 0;
        while ((end + 10.0 * outer) * step < outerLimit) outer++;
        if (outer < 2) outer = 2;
        GridBuilder.EnsureTableFits(inner + outer - 1, model.TableNets.Count, model.EmbeddingWidth, order, maxTableBytes);
        return new SijGrid(m * step, exact.SMax, step, inner, outer, exact.RawSijMax, exact.Source)
        {
            Layout = TableLayout.Pwmlff,
            RequestedDx = dx,
            CoverDistance = cover,
        };
    }
}
