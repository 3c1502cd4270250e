namespace DpCompress.Core.Compression;

/// <summary>Where the upper end of the raw S(r) range came from.</summary>
public enum SijMaxSource
{
    /// <summary>The checkpoint's sij_max.</summary>
    Checkpoint,
    /// <summary>A scan of training configurations.</summary>
    TrainingData,
    /// <summary>Given by the user.</summary>
    User,
    /// <summary>Read from an existing compressed checkpoint.</summary>
    CompressedCheckpoint,
}

/// <summary>
/// The grid of normalised s values on which a table is built (SPEC §3).
/// Inner nodes x_k = SMin + k·Dx for k = 0..L (L = <see cref="InnerIntervals"/>); outer nodes
/// x_L + j·10·Dx for j = 0..<see cref="OuterPoints"/>−1. Every node is computed from its index.
/// Rows of a table = L + OuterPoints − 1 (inner intervals, then outer intervals).
/// </summary>
public sealed class SijGrid
{
    public SijGrid(double sMin, double sMax, double dx, int innerIntervals, int outerPoints, double rawSijMax, SijMaxSource source)
    {
        if (!(dx > 0) || double.IsInfinity(dx)) throw new ArgumentOutOfRangeException(nameof(dx), "dx must be a positive number.");
        if (innerIntervals < 1) throw new ArgumentOutOfRangeException(nameof(innerIntervals), "The grid needs at least one inner interval.");
        if (outerPoints < 1) throw new ArgumentOutOfRangeException(nameof(outerPoints), "The grid needs at least one outer point.");
        SMin = sMin;
        SMax = sMax;
        Dx = dx;
        InnerIntervals = innerIntervals;
        OuterPoints = outerPoints;
        RawSijMax = rawSijMax;
        Source = source;
    }

    /// <summary>Smallest normalised s: min over centre types of (0 − davg)/dstd.</summary>
    public double SMin { get; }

    /// <summary>Largest normalised s seen in training: max over centre types of (sij_max − davg)/dstd.</summary>
    public double SMax { get; }

    public double Dx { get; }

    /// <summary>L: number of inner intervals (PWMLFF sij_len).</summary>
    public int InnerIntervals { get; }

    /// <summary>Number of outer nodes, x_L included (PWMLFF sij_out_len).</summary>
    public int OuterPoints { get; }

    /// <summary>Step of the outer grid: 10·dx.</summary>
    public double OuterStep => 10 * Dx;

    /// <summary>The raw (unnormalised) S maximum the grid was built from.</summary>
    public double RawSijMax { get; }

    public SijMaxSource Source { get; }

    /// <summary>x_L, the last inner node and first outer node.</summary>
    public double InnerEnd => SMin + InnerIntervals * Dx;

    /// <summary>How the grid was laid out: <see cref="TableLayout.Pwmlff"/> (evaluated exactly by PWMLFF's runtime) or
    /// <see cref="TableLayout.Exact"/> (the dx asked for). Grids read from a file report what their numbers are
    /// (<see cref="IsPwmlffExact"/>).</summary>
    public TableLayout Layout { get; init; } = TableLayout.Exact;

    /// <summary>The dx the user asked for (null when it is <see cref="Dx"/> itself).</summary>
    public double? RequestedDx { get; init; }

    /// <summary><see cref="TableLayout.Pwmlff"/> grids: pairs at or beyond this distance (Å) stay in PWMLFF's inner branch.</summary>
    public double? CoverDistance { get; init; }

    /// <summary>
    /// True when PWMLFF's runtime lookup (SPEC §8) evaluates this grid's table as DpCompress does: dx a power of two,
    /// sij_min = m·dx, every inner node index |k + m| &lt; 2^24 (float32 starts exact) and sij_max = x_L.
    /// (Pairs with s̃ ≥ sij_max still take PWMLFF's broken outer branch.)
    /// </summary>
    public bool IsPwmlffExact
    {
        get
        {
            if (Math.ScaleB(1.0, Math.ILogB(Dx)) != Dx) return false;
            double m = SMin / Dx;
            return m == Math.Floor(m) && Math.Abs(m) < (1 << 24) && Math.Abs(m + InnerIntervals) < (1 << 24) && RuntimeSijMax == InnerEnd;
        }
    }

    private readonly double? _runtimeSijMax;

    /// <summary>
    /// The compress dict's <c>sij_max</c>: where PWMLFF's runtime leaves its inner branch (s̃ &lt; sij_max, SPEC §8).
    /// DpCompress writes x_L (<see cref="InnerEnd"/>, the default); PWMLFF's own files hold s_max, which is not a node.
    /// </summary>
    public double RuntimeSijMax
    {
        get => _runtimeSijMax ?? InnerEnd;
        init => _runtimeSijMax = value;
    }

    /// <summary>The last outer node; beyond it the table continues linearly.</summary>
    public double OuterEnd => InnerEnd + (OuterPoints - 1) * OuterStep;

    /// <summary>PWMLFF's sij_out_max = 10·SMax: outer nodes lie below it.</summary>
    public double OuterLimit => 10 * SMax;

    /// <summary>Number of table rows (intervals): L + OuterPoints − 1.</summary>
    public int Rows => InnerIntervals + OuterPoints - 1;

    /// <summary>Node k, 0 ≤ k ≤ Rows, computed from its index.</summary>
    public double Node(int k)
    {
        if ((uint)k > (uint)Rows) throw new ArgumentOutOfRangeException(nameof(k));
        return k <= InnerIntervals ? SMin + k * Dx : InnerEnd + (k - InnerIntervals) * OuterStep;
    }

    /// <summary>
    /// Builds the grid the way SPEC §3 defines it: L = ceil((sMax − sMin)/dx); outer nodes
    /// x_L + j·10dx for every j whose node lies below 10·sMax (at least x_L itself).
    /// </summary>
    public static SijGrid Create(double sMin, double sMax, double dx, double rawSijMax, SijMaxSource source)
    {
        if (!(dx > 0) || double.IsInfinity(dx)) throw new ArgumentOutOfRangeException(nameof(dx), "dx must be a positive number.");
        if (!(sMax > sMin)) throw new ArgumentException($"The s range is degenerate (s_min {sMin}, s_max {sMax}).");
        double span = (sMax - sMin) / dx;
        if (span > int.MaxValue / 4) throw new ArgumentOutOfRangeException(nameof(dx), "dx is too small for the s range.");
        int l = (int)Math.Ceiling(span);
        if (l < 1) l = 1;
        double xl = sMin + l * dx;
        double limit = 10 * sMax;
        int outer = 0;
        while (xl + outer * 10 * dx < limit) outer++;
        if (outer < 2) outer = 2;
        return new SijGrid(sMin, sMax, dx, l, outer, rawSijMax, source);
    }

    /// <summary>e.g. "s [-0.3125, 6.03666] dx 0.0078125 (asked 0.01): …"; dx and the dx asked for in full (G4 wrote 2^-7 as 0.007812).</summary>
    public override string ToString() =>
        $"s [{SMin:G6}, {SMax:G6}] dx {Dx}" + (RequestedDx is double r && r != Dx ? $" (asked {r})" : "") +
        $": {InnerIntervals} inner + {OuterPoints} outer ({Rows} rows), inner end {InnerEnd:G6}" +
        (Layout == TableLayout.Pwmlff ? ", PWMLFF runtime layout" : "");
}
