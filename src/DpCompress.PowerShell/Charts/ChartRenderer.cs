using System.Globalization;
using System.Text;
using ScottPlot;
using ScottPlot.TickGenerators;

namespace DpCompress.PowerShell.Charts;

/// <summary>
/// Draws the DpCompress charts with ScottPlot and encodes them as PNG. Knows nothing about
/// PowerShell: the cmdlet turns pipeline objects into the typed rows of <see cref="ChartData"/>.
/// </summary>
public static class ChartRenderer
{
    private const string Font = "DejaVu Sans";
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    /// <summary>Phase names and the colours of their stack segments (bottom to top).</summary>
    private static readonly (string Name, Color Color)[] Phases =
    {
        ("neighbour search", Color.FromHex("#7f7f7f")),
        ("environment", Color.FromHex("#bcbd22")),
        ("embedding", Color.FromHex("#d62728")),
        ("descriptor", Color.FromHex("#2ca02c")),
        ("fitting", Color.FromHex("#1f77b4")),
        ("backward (forces, virial)", Color.FromHex("#ff7f0e")),
    };

    /// <summary>The unit of an error property, guessed from its name (eV/Å for forces, eV/atom for energies and virials).</summary>
    public static string ErrorUnit(string property)
    {
        if (property.Contains("Force", StringComparison.OrdinalIgnoreCase)) return "eV/Å";
        if (property.Contains("Energy", StringComparison.OrdinalIgnoreCase)) return "eV/atom";
        if (property.Contains("Virial", StringComparison.OrdinalIgnoreCase)) return "eV/atom";   // reports give virial errors per atom
        return "";
    }

    /// <summary>
    /// The legend of one ErrorVsDx series: "order 3, p = 3.00" with the convergence order fitted by
    /// <see cref="DpCompress.Core.Verification.ConvergenceFit"/> (err ≈ C·dx^p, round-off floor left
    /// out), or "order 3" when fewer than two points allow no fit (or two points share a dx).
    /// </summary>
    public static string SeriesLabel(int order, IEnumerable<ErrorPoint> points)
    {
        try
        {
            var fit = DpCompress.Core.Verification.ConvergenceFit.Fit(points.Select(p => new DpCompress.Core.Verification.SweepPoint(p.Dx, p.Error)));
            return fit.Order is { } p ? string.Create(Inv, $"order {order}, p = {p:F2}") : $"order {order}";
        }
        catch (DpCompress.Core.DpCompressException)
        {
            return $"order {order}";
        }
    }

    /// <summary>
    /// Log–log chart of <paramref name="points"/>' error against dx, one series (markers and
    /// lines, sorted by dx) per order. Points with a non-positive error or dx cannot be drawn
    /// on log axes and are left out (the caller warns about them).
    /// </summary>
    public static byte[] ErrorVsDx(IReadOnlyList<ErrorPoint> points, string errorProperty, ChartOptions options)
    {
        var plot = NewPlot();
        var drawable = points.Where(p => p.Dx > 0 && p.Error > 0 && double.IsFinite(p.Error) && double.IsFinite(p.Dx)).ToList();
        MarkerShape[] shapes = { MarkerShape.FilledCircle, MarkerShape.FilledSquare, MarkerShape.FilledTriangleUp, MarkerShape.FilledDiamond };
        int series = 0;
        foreach (var group in drawable.GroupBy(p => p.Order).OrderBy(g => g.Key))
        {
            var sorted = group.OrderBy(p => p.Dx).ToArray();
            var scatter = plot.Add.Scatter(sorted.Select(p => Math.Log10(p.Dx)).ToArray(), sorted.Select(p => Math.Log10(p.Error)).ToArray());
            scatter.LegendText = SeriesLabel(group.Key, sorted);
            scatter.LineWidth = 2;
            scatter.MarkerSize = 9;
            scatter.MarkerShape = shapes[series % shapes.Length];
            series++;
        }
        string unit = ErrorUnit(errorProperty);
        plot.XLabel("dx (normalised s)");
        plot.YLabel(unit.Length > 0 ? $"{errorProperty} ({unit})" : errorProperty);
        plot.Title(options.Title ?? $"Compressed vs original: {errorProperty} against grid step dx");
        var (xl, xh) = drawable.Count > 0 ? LogRange(drawable.Min(p => Math.Log10(p.Dx)), drawable.Max(p => Math.Log10(p.Dx))) : (-3.0, 0.0);
        var (yl, yh) = drawable.Count > 0 ? LogRange(drawable.Min(p => Math.Log10(p.Error)), drawable.Max(p => Math.Log10(p.Error))) : (-12.0, 0.0);
        plot.Axes.SetLimits(xl, xh, yl, yh);
        plot.Axes.Bottom.TickGenerator = LogTicks(xl, xh);
        plot.Axes.Left.TickGenerator = LogTicks(yl, yh);
        plot.ShowLegend(Alignment.UpperLeft);
        return Png(plot, options);
    }

    /// <summary>
    /// The text above a PhaseBreakdown bar: the sum of its phases and the share of embedding + backward, e.g.
    /// "Σ phases 102 ms\nembedding +\nbackward 85.6 %". The phases are means per pass, so their sum is not the
    /// median pass of Measure-DpInference (TotalMs; 83.2 ms for that bar) and is not labelled as if it were.
    /// </summary>
    public static string PhaseAnnotation(PhaseRow row) =>
        string.Create(Inv, $"Σ phases {FormatMs(row.TotalMs)}\nembedding +\nbackward {row.EmbeddingBackwardShare * 100:0.#} %");

    /// <summary>
    /// Stacked bars of per-phase time, one bar per row labelled by its <see cref="PhaseRow.Label"/>,
    /// with the total and the share of embedding + backward printed above each bar. When the totals
    /// differ by more than <see cref="LogBarRatio"/> (say the reference and the fast engine), the
    /// short bars would be invisible in ms: each bar then shows the shares of its own pass (%).
    /// </summary>
    public static byte[] PhaseBreakdown(IReadOnlyList<PhaseRow> rows, ChartOptions options)
    {
        var plot = NewPlot();
        var bars = new List<Bar>();
        var totals = rows.Select(r => r.TotalMs).Where(t => t > 0).ToList();
        bool shares = totals.Count > 1 && totals.Max() / totals.Min() > LogBarRatio;
        double top = 0;
        for (int i = 0; i < rows.Count; i++)
        {
            var r = rows[i];
            double[] values = { r.NeighborSearchMs, r.EnvironmentMs, r.EmbeddingMs, r.DescriptorMs, r.FittingMs, r.BackwardMs };
            double scale = shares ? (r.TotalMs > 0 ? 100 / r.TotalMs : 0) : 1;
            double baseValue = 0;
            for (int k = 0; k < values.Length; k++)
            {
                double v = Math.Max(0, values[k]) * scale;
                bars.Add(new Bar
                {
                    Position = i,
                    ValueBase = baseValue,
                    Value = baseValue + v,
                    FillColor = Phases[k].Color,
                    LineWidth = 0,
                    Size = 0.6,
                });
                baseValue += v;
            }
            top = Math.Max(top, baseValue);
            var text = plot.Add.Text(PhaseAnnotation(r), i, baseValue);
            StyleAnnotation(text);
        }
        plot.Add.Bars(bars);
        for (int k = Phases.Length - 1; k >= 0; k--)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = Phases[k].Name, FillColor = Phases[k].Color });
        }
        BarAxes(plot, rows.Select(r => r.Label).ToArray(), 0, top);
        if (shares)
        {
            // Percent ticks up to 100 only; the room above holds the annotations.
            var percent = new NumericManual();
            for (int p = 0; p <= 100; p += 20) percent.AddMajor(p, p.ToString(Inv));
            plot.Axes.Left.TickGenerator = percent;
        }
        plot.YLabel(shares ? "share of the pass (%); phase sums above the bars" : "mean time per pass (ms)");
        plot.Title(options.Title ?? (shares ? "Inference time per phase (share of each pass)" : "Inference time per phase"));
        plot.ShowLegend(Edge.Right);
        return Png(plot, options);
    }

    /// <summary>
    /// Bars of total time per timing; each bar is annotated with its time and its speedup over
    /// the first bar (the baseline). When the times span more than <see cref="LogBarRatio"/>, the
    /// time axis is logarithmic so that the fast bars stay visible.
    /// </summary>
    /// <param name="rows">One bar per timing; the first is the baseline.</param>
    /// <param name="timeProperty">The name of the time drawn (TotalMs, ModelMs), for the axis label.</param>
    /// <param name="options">Size and title.</param>
    public static byte[] Speedup(IReadOnlyList<TimingBar> rows, string timeProperty, ChartOptions options)
    {
        var plot = NewPlot();
        var palette = new ScottPlot.Palettes.Category10();
        var bars = new List<Bar>();
        double baseline = rows.Count > 0 ? rows[0].TotalMs : 0;
        var positive = rows.Where(r => r.TotalMs > 0).Select(r => r.TotalMs).ToList();
        bool log = positive.Count > 1 && positive.Max() / positive.Min() > LogBarRatio;
        // On a log axis bars hold log10(ms) and start half a decade below the fastest bar.
        double floor = log ? Math.Floor(Math.Log10(positive.Min()) - 0.5) : 0;
        double top = floor;
        for (int i = 0; i < rows.Count; i++)
        {
            double v = Math.Max(0, rows[i].TotalMs);
            double y = log ? (v > 0 ? Math.Log10(v) : floor) : v;
            bars.Add(new Bar { Position = i, ValueBase = floor, Value = y, FillColor = palette.GetColor(i), LineWidth = 0, Size = 0.6 });
            top = Math.Max(top, y);
            string factor = i == 0 ? "baseline" : v > 0 ? $"× {FormatFactor(baseline / v)}" : "× ∞";
            StyleAnnotation(plot.Add.Text($"{FormatMs(v)}\n{factor}", i, y));
        }
        plot.Add.Bars(bars);
        BarAxes(plot, rows.Select(r => r.Label).ToArray(), floor, top, log);
        string what = timeProperty switch
        {
            "TotalMs" => "total time per pass",
            "ModelMs" => "model time per pass (no neighbour search)",
            _ => timeProperty,
        };
        plot.YLabel(log ? $"{what} (ms, log scale)" : $"{what} (ms)");
        string baseLabel = rows.Count > 0 ? rows[0].Label : "";
        plot.Title(options.Title ?? $"Inference time and speedup over {baseLabel}");
        return Png(plot, options);
    }

    /// <summary>Largest/smallest time beyond which the Speedup chart uses a log axis.</summary>
    public const double LogBarRatio = 30;

    private static Plot NewPlot()
    {
        var plot = new Plot();
        plot.Font.Set(Font);
        plot.Axes.Title.Label.FontSize = 18;
        plot.Axes.Bottom.Label.FontSize = 15;
        plot.Axes.Left.Label.FontSize = 15;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 13;
        plot.Axes.Left.TickLabelStyle.FontSize = 13;
        plot.Legend.FontSize = 13;
        return plot;
    }

    /// <summary>Padded limits of a log10 axis: at least 0.4 decades wide, so some m×10ⁿ tick always shows.</summary>
    private static (double Low, double High) LogRange(double min, double max)
    {
        double pad = Math.Max(0.2, 0.05 * (max - min));
        return (min - pad, max + pad);
    }

    /// <summary>
    /// Category axis with one tick per bar (labels split at " / " onto two lines) and a value axis
    /// from <paramref name="bottom"/> with room above the tallest bar for annotations and legend.
    /// </summary>
    private static void BarAxes(Plot plot, string[] labels, double bottom, double top, bool log = false)
    {
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, labels.Length).Select(i => (double)i).ToArray(),
            labels.Select(l => l.Replace(" / ", "\n", StringComparison.Ordinal)).ToArray());
        plot.Axes.Bottom.MajorTickStyle.Length = 0;
        plot.HideGrid();
        plot.Grid.YAxisStyle.IsVisible = true;
        double high = log ? top + 0.3 * Math.Max(1, top - bottom) : top > 0 ? top * 1.35 : 1;
        plot.Axes.SetLimits(-0.6, labels.Length - 0.4, bottom, high);
        if (log) plot.Axes.Left.TickGenerator = LogTicks(bottom, high);
    }

    private static void StyleAnnotation(ScottPlot.Plottables.Text text)
    {
        text.LabelFontName = Font;
        text.LabelFontSize = 12;
        text.LabelAlignment = Alignment.LowerCenter;
        text.LabelFontColor = Colors.Black;
        text.OffsetY = -4;
    }

    private static string FormatMs(double ms) => ms switch
    {
        >= 100 => ms.ToString("0", Inv) + " ms",
        >= 10 => ms.ToString("0.0", Inv) + " ms",
        >= 1 => ms.ToString("0.00", Inv) + " ms",
        _ => ms.ToString("0.000", Inv) + " ms",
    };

    private static string FormatFactor(double f) => f.ToString(f >= 100 ? "0" : f >= 10 ? "0.0" : "0.00", Inv);

    /// <summary>
    /// Ticks for an axis that holds log10 of the data, between <paramref name="lo"/> and <paramref name="hi"/>:
    /// labels 10ⁿ on decades (every other one beyond 12 decades), also 2×10ⁿ and 5×10ⁿ when the axis
    /// spans less than 2.5 decades and every m×10ⁿ below 0.8 decades; minor ticks at the other m×10ⁿ.
    /// </summary>
    private static NumericManual LogTicks(double lo, double hi)
    {
        var ticks = new NumericManual();
        double span = hi - lo;
        int decadeStep = span > 12 ? 2 : 1;
        for (int n = (int)Math.Floor(lo); n <= (int)Math.Ceiling(hi); n++)
        {
            for (int m = 1; m <= 9; m++)
            {
                double position = n + Math.Log10(m);
                if (position < lo - 1e-9 || position > hi + 1e-9) continue;
                bool label = m == 1 ? n % decadeStep == 0 : span < 0.8 || (span < 2.5 && (m == 2 || m == 5));
                if (label) ticks.AddMajor(position, m == 1 ? "10" + Superscript(n) : $"{m}×10{Superscript(n)}");
                else ticks.AddMinor(position);
            }
        }
        return ticks;
    }

    private static string Superscript(int n)
    {
        const string digits = "⁰¹²³⁴⁵⁶⁷⁸⁹";
        var sb = new StringBuilder();
        if (n < 0) sb.Append('⁻');
        foreach (char c in Math.Abs(n).ToString(Inv)) sb.Append(digits[c - '0']);
        return sb.ToString();
    }

    private static byte[] Png(Plot plot, ChartOptions options) => plot.GetImageBytes(options.Width, options.Height, ImageFormat.Png);
}
