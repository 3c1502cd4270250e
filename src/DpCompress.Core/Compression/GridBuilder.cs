using DpCompress.Core.Model;

namespace DpCompress.Core.Compression;

/// <summary>
/// Builds the <see cref="SijGrid"/> of a model exactly as PWMLFF's <c>set_sij_range</c> does
/// (SPEC §3), with every node computed from its index.
/// </summary>
/// <remarks>
/// <para>Range: s_min = min(0, min_t (0 − davg[t,0])/dstd[t,0]),
/// s_max = max(0, max_t (sij_max − davg[t,0])/dstd[t,0]) — PWMLFF starts both running
/// extremes at 0, so the range always contains 0; this is reproduced so that grids are equal.</para>
/// <para>Counts: PWMLFF appends nodes while an accumulated <c>s += dx</c> is below s_max
/// (L = sij_len nodes x_0..x_{L−1}, so x_L is the first node ≥ s_max), then continues the same
/// accumulated value in steps of 10·dx while it is below 10·s_max (sij_out_len nodes, x_L first).
/// Mathematically L = ceil((s_max − s_min)/dx); when (s_max − s_min)/dx lies within rounding of an
/// integer the accumulated sum can decide differently. To produce exactly PWMLFF's table shape
/// the two loops are replayed in float64 (only the counts are taken from them; node positions
/// are always s_min + k·dx). The replay costs O(L) additions and runs only after the memory guard.
/// At least 2 outer nodes (1 outer interval) are kept, as <see cref="SijGrid.Create"/> does.</para>
/// </remarks>
public static class GridBuilder
{
    /// <summary>Default largest table (2 GiB).</summary>
    public const long DefaultMaxTableBytes = 2L << 30;

    /// <summary>Builds the grid of <paramref name="model"/>.</summary>
    /// <param name="model">Source of davg/dstd ([ntypes, 4]), the net count and m.</param>
    /// <param name="dx">Inner step (&gt; 0).</param>
    /// <param name="order">3 or 5; only used for the memory guard.</param>
    /// <param name="source">Where the raw sij_max comes from: <see cref="SijMaxSource.Checkpoint"/>
    /// uses <see cref="DpModel.SijMax"/>; any other source needs <paramref name="sijMax"/>.</param>
    /// <param name="sijMax">Raw (unnormalised) S maximum for User/TrainingData/CompressedCheckpoint sources.</param>
    /// <param name="maxTableBytes">Refuse grids whose table would be larger (TableTooLarge).</param>
    public static SijGrid Build(DpModel model, double dx, int order = 3, SijMaxSource source = SijMaxSource.Checkpoint,
        double? sijMax = null, long maxTableBytes = DefaultMaxTableBytes)
    {
        ArgumentNullException.ThrowIfNull(model);
        double raw;
        if (source == SijMaxSource.Checkpoint)
        {
            if (model.SijMax is not double v)
                throw new DpCompressException("DegenerateSijRange", ErrorKind.InvalidData,
                    "The model has no sij_max (raw S maximum of the training data); give one explicitly (user value or a scan of training data).",
                    model.SourcePath);
            raw = v;
        }
        else
        {
            if (sijMax is not double v)
                throw new DpCompressException("InvalidSijMax", ErrorKind.InvalidArgument,
                    $"Source {source} needs an explicit sij_max value.");
            raw = v;
        }
        int nt = model.TypeCount;
        var davg0 = new double[nt];
        var dstd0 = new double[nt];
        for (int t = 0; t < nt; t++)
        {
            davg0[t] = model.Davg[t * 4];
            dstd0[t] = model.Dstd[t * 4];
        }
        if (source == SijMaxSource.Checkpoint && !(raw > 0))
        {
            NormalisedRange(davg0, dstd0, raw); // a degenerate range keeps its own id (DegenerateSijRange)
            throw new DpCompressException("InvalidSijMax", ErrorKind.InvalidData,
                $"The model's sij_max (raw S maximum of the training data) is {raw}: a grid built from it would leave every neighbour of a real structure " +
                "beyond the table. Give a value (-SijMax) or scan training data (-TrainingData) instead.", model.SourcePath);
        }
        return Build(davg0, dstd0, raw, dx, source, model.TableNets.Count, model.EmbeddingWidth, order, maxTableBytes);
    }

    /// <summary>Builds a grid from the per-type statistics.</summary>
    /// <param name="davg0">[ntypes] davg[t, 0].</param>
    /// <param name="dstd0">[ntypes] dstd[t, 0].</param>
    /// <param name="rawSijMax">Raw S maximum (before normalisation).</param>
    /// <param name="dx">Inner step.</param>
    /// <param name="source">Origin of <paramref name="rawSijMax"/> (recorded in the grid).</param>
    /// <param name="netCount">Nets in the table (memory guard).</param>
    /// <param name="width">m (memory guard).</param>
    /// <param name="order">3 or 5 (memory guard).</param>
    /// <param name="maxTableBytes">Limit for the table.</param>
    public static SijGrid Build(double[] davg0, double[] dstd0, double rawSijMax, double dx,
        SijMaxSource source, int netCount, int width, int order, long maxTableBytes = DefaultMaxTableBytes)
    {
        ValidateDx(dx);
        if (!double.IsFinite(rawSijMax) || rawSijMax < 0)
            throw new DpCompressException("InvalidSijMax", ErrorKind.InvalidArgument,
                $"sij_max must be a finite non-negative number (got {rawSijMax}).");
        ArgumentNullException.ThrowIfNull(davg0);
        ArgumentNullException.ThrowIfNull(dstd0);
        var (sMin, sMax) = NormalisedRange(davg0, dstd0, rawSijMax);
        if (dx >= sMax - sMin)
            throw new DpCompressException("InvalidDx", ErrorKind.InvalidArgument,
                $"dx {dx} is not smaller than the s range [{sMin:G6}, {sMax:G6}]: the table would have a single interval. Use a dx well below {sMax - sMin:G3} (PWMLFF's default is 0.01).");
        var (inner, outer) = PwmlffCounts(sMin, sMax, dx, netCount, width, order, maxTableBytes);
        return new SijGrid(sMin, sMax, dx, inner, outer, rawSijMax, source);
    }

    /// <summary>
    /// (s_min, s_max) with PWMLFF's running extremes started at 0 (see remarks of <see cref="GridBuilder"/>).
    /// </summary>
    public static (double SMin, double SMax) NormalisedRange(double[] davg0, double[] dstd0, double rawSijMax)
    {
        if (davg0.Length == 0 || davg0.Length != dstd0.Length)
            throw new DpCompressException("DegenerateSijRange", ErrorKind.InvalidData,
                $"davg and dstd must hold one value per type ({davg0.Length} and {dstd0.Length} given).");
        double sMin = 0, sMax = 0;
        for (int t = 0; t < davg0.Length; t++)
        {
            double hi = (rawSijMax - davg0[t]) / dstd0[t];
            double lo = (0 - davg0[t]) / dstd0[t];
            if (!double.IsFinite(hi) || !double.IsFinite(lo))
                throw new DpCompressException("DegenerateSijRange", ErrorKind.InvalidData,
                    $"Type {t}: davg {davg0[t]} / dstd {dstd0[t]} give a non-finite normalised s.");
            if (hi > sMax) sMax = hi;
            if (lo < sMin) sMin = lo;
        }
        if (!(sMax > sMin))
            throw new DpCompressException("DegenerateSijRange", ErrorKind.InvalidData,
                $"The normalised s range is empty (s_min {sMin}, s_max {sMax}).");
        return (sMin, sMax);
    }

    /// <summary>Bytes of a table with the given shape: nets · rows · m · (order+1) · 8.</summary>
    public static double TableBytes(long rows, int netCount, int width, int order) =>
        (double)rows * netCount * width * (order + 1) * sizeof(double);

    /// <summary>Throws TableTooLarge when the table (plus nothing else) would exceed <paramref name="maxTableBytes"/>.</summary>
    public static void EnsureTableFits(long rows, int netCount, int width, int order, long maxTableBytes)
    {
        double bytes = TableBytes(rows, netCount, width, order);
        if (bytes > maxTableBytes || bytes / sizeof(double) > Array.MaxLength)
            throw new DpCompressException("TableTooLarge", ErrorKind.LimitsExceeded,
                $"The table would need {bytes / (1 << 20):F0} MiB ({rows} rows x {netCount} nets x {width} outputs x {order + 1} coefficients), " +
                $"more than the limit of {maxTableBytes / (double)(1 << 20):F0} MiB: use a larger dx or raise the limit.");
    }

    /// <summary>Throws InvalidDx unless dx is a positive finite number.</summary>
    public static void ValidateDx(double dx)
    {
        if (!(dx > 0) || !double.IsFinite(dx))
            throw new DpCompressException("InvalidDx", ErrorKind.InvalidArgument, $"dx must be a positive finite number (got {dx}).");
    }

    /// <summary>
    /// PWMLFF's sij_len and sij_out_len, guarded against huge tables before the replay loops run.
    /// </summary>
    private static (int Inner, int Outer) PwmlffCounts(double sMin, double sMax, double dx, int netCount, int width, int order, long maxTableBytes)
    {
        // Estimates (exact up to ±1) for the guard.
        double innerEst = Math.Ceiling((sMax - sMin) / dx);
        double xl = sMin + innerEst * dx;
        double outerEst = Math.Max(2, Math.Ceiling((10 * sMax - xl) / (10 * dx)));
        double rowsEst = innerEst + outerEst; // one more than rows: conservative by one row
        EnsureTableFits((long)Math.Min(rowsEst, 1e15), netCount, width, order, maxTableBytes);
        if (!(rowsEst < int.MaxValue / 2))
            throw new DpCompressException("TableTooLarge", ErrorKind.LimitsExceeded, $"dx {dx} would need {rowsEst:G3} table rows: use a larger dx.");

        // Replay of set_sij_range's loops (float64, accumulated) for the counts only.
        int inner = 0;
        double acc = sMin;
        while (acc < sMax)
        {
            inner++;
            acc += dx;
        }
        int outer = 0;
        double outerStep = dx * 10, outerMax = sMax * 10;
        while (acc < outerMax)
        {
            outer++;
            acc += outerStep;
        }
        if (inner < 1) inner = 1;
        if (outer < 2) outer = 2;
        EnsureTableFits(inner + outer - 1, netCount, width, order, maxTableBytes);
        return (inner, outer);
    }
}
