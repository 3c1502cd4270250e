using MathNet.Numerics;
using MathNet.Numerics.Statistics;

namespace DpCompress.Core.Verification;

/// <summary>One point of a sweep: grid step and the error measured at it.</summary>
/// <param name="Dx">Grid step dx (normalised s).</param>
/// <param name="Error">The error at that step (e.g. max |ΔF| in eV/Å); positive.</param>
public readonly record struct SweepPoint(double Dx, double Error);

/// <summary>
/// The convergence order p of an error against the grid step, err ≈ C · dx^p, fitted by least
/// squares on log–log axes: ln err = ln C + p · ln dx (MathNet <c>Fit.Line</c> on the logarithms,
/// R² from <c>GoodnessOfFit.RSquared</c>).
/// </summary>
/// <remarks>
/// <para>Points are sorted from the coarsest dx to the finest; s_k = ln(e_k/e_{k−1}) / ln(dx_k/dx_{k−1})
/// is the local slope into point k. The fit uses the asymptotic range: starting from the finest step,
/// a step is left out while its local slope is below <see cref="FloorSlope"/> = 1 (the error no longer
/// falls even at first order) or, when at least two earlier local slopes exist, below
/// <see cref="FloorFraction"/> = 2/3 of their median. Near the float64 round-off floor ε the error is
/// C·dx^p + ε, whose local slope is p·(1 − ε/e): it falls below 2/3·p once the floor makes up more than
/// a third of the error. Such points (order 5 at dx ≤ 0.005 reaches 2e-15 eV/atom and 1e-11 eV/Å, no
/// lower than at dx 0.01) would bias p towards 0; they are listed in <see cref="ExcludedDx"/>, not
/// hidden. Only the fine end is trimmed: a noisy point inside the range stays in and lowers R².</para>
/// <para>Expected orders: a Hermite table of order q (3 or 5) interpolates the net with error
/// O(dx^(q+1)); the energy inherits it, forces and virials take the table's first derivative and
/// lose one order, O(dx^q).</para>
/// </remarks>
public sealed class ConvergenceFit
{
    /// <summary>Local slope below which the error is taken to have reached its floor.</summary>
    public const double FloorSlope = 1.0;

    /// <summary>Fraction of the median earlier local slope below which a point is taken to be at the floor.</summary>
    public const double FloorFraction = 2.0 / 3.0;

    private ConvergenceFit(double? order, double? prefactor, double? rSquared, double[] usedDx, double[] excludedDx)
    {
        Order = order;
        Prefactor = prefactor;
        RSquared = rSquared;
        UsedDx = usedDx;
        ExcludedDx = excludedDx;
    }

    /// <summary>Fitted p in err ≈ C · dx^p; null with fewer than two points in the asymptotic range.</summary>
    public double? Order { get; }

    /// <summary>C in err ≈ C · dx^p (units of the error).</summary>
    public double? Prefactor { get; }

    /// <summary>R² of the log–log line (1 for two points); null without a fit.</summary>
    public double? RSquared { get; }

    /// <summary>The grid steps the fit used, coarsest first.</summary>
    public IReadOnlyList<double> UsedDx { get; }

    /// <summary>The grid steps left out because their error had reached the round-off floor, or was not positive.</summary>
    public IReadOnlyList<double> ExcludedDx { get; }

    /// <summary>Fits err ≈ C · dx^p to <paramref name="points"/> (any order; one point per dx).</summary>
    /// <exception cref="DpCompressException">SweepDuplicateDx when two points share a dx.</exception>
    public static ConvergenceFit Fit(IEnumerable<SweepPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var all = points.Where(p => double.IsFinite(p.Dx) && p.Dx > 0).OrderByDescending(p => p.Dx).ToList();
        for (int k = 1; k < all.Count; k++)
            if (all[k].Dx == all[k - 1].Dx)
                throw new DpCompressException("SweepDuplicateDx", ErrorKind.InvalidArgument,
                    $"Two results of the sweep have dx = {all[k].Dx} for the same order and quantity; give one result per grid step.");
        var excluded = new List<double>();
        var valid = new List<SweepPoint>();
        foreach (var p in all)
            if (p.Error > 0 && double.IsFinite(p.Error)) valid.Add(p); else excluded.Add(p.Dx);
        var slopes = new double[Math.Max(0, valid.Count - 1)];   // slopes[k − 1]: into point k
        for (int k = 1; k < valid.Count; k++)
            slopes[k - 1] = Math.Log(valid[k].Error / valid[k - 1].Error) / Math.Log(valid[k].Dx / valid[k - 1].Dx);
        int end = valid.Count;   // points [0, end) are used
        while (end >= 2)
        {
            double local = slopes[end - 2];
            var earlier = slopes.Take(end - 2).ToArray();
            bool atFloor = local < FloorSlope || (earlier.Length >= 2 && local < FloorFraction * earlier.Median());
            if (!atFloor) break;
            end--;
        }
        var used = valid.Take(end).ToList();
        excluded.AddRange(valid.Skip(end).Select(p => p.Dx));
        excluded.Sort((a, b) => b.CompareTo(a));
        if (used.Count < 2)
            return new ConvergenceFit(null, null, null, used.Select(p => p.Dx).ToArray(), excluded.ToArray());
        double[] x = used.Select(p => Math.Log(p.Dx)).ToArray();
        double[] y = used.Select(p => Math.Log(p.Error)).ToArray();
        var (lnC, slope) = MathNet.Numerics.Fit.Line(x, y);
        double r2 = used.Count == 2 ? 1.0 : GoodnessOfFit.RSquared(x.Select(v => lnC + slope * v), y);
        return new ConvergenceFit(slope, Math.Exp(lnC), r2, used.Select(p => p.Dx).ToArray(), excluded.ToArray());
    }
}

/// <summary>
/// The fitted convergence of one quantity for one table order over a sweep of grid steps
/// (what Measure-DpConvergence returns).
/// </summary>
public sealed class ConvergenceOrder
{
    public ConvergenceOrder(int tableOrder, string quantity, string unit, IReadOnlyList<SweepPoint> points, ConvergenceFit fit)
    {
        TableOrder = tableOrder;
        Quantity = quantity;
        Unit = unit;
        Points = points;
        Fit = fit;
    }

    /// <summary>The polynomial order of the tables (3 or 5).</summary>
    public int TableOrder { get; }

    /// <summary>The error property fitted, e.g. MaxForceError.</summary>
    public string Quantity { get; }

    /// <summary>Unit of the error (eV/atom, eV/Å).</summary>
    public string Unit { get; }

    /// <summary>Every (dx, error) of the sweep for this order and quantity, coarsest first.</summary>
    public IReadOnlyList<SweepPoint> Points { get; }

    public ConvergenceFit Fit { get; }

    /// <summary>Fitted p in err ≈ C · dx^p (null without at least two points above the round-off floor).</summary>
    public double? P => Fit.Order;

    /// <summary>C in err ≈ C · dx^p.</summary>
    public double? Prefactor => Fit.Prefactor;

    public double? RSquared => Fit.RSquared;

    /// <summary>Points used by the fit.</summary>
    public int PointCount => Fit.UsedDx.Count;

    public override string ToString() =>
        $"order {TableOrder} {Quantity}: p = {(P is { } p ? p.ToString("F2", System.Globalization.CultureInfo.InvariantCulture) : "n/a")} over {PointCount} point(s)";
}
