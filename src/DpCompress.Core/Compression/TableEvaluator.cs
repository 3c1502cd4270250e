using System.Runtime.CompilerServices;

namespace DpCompress.Core.Compression;

/// <summary>Where an s value fell in the table.</summary>
public enum TableRegion
{
    /// <summary>s_min ≤ s &lt; x_L: an inner interval.</summary>
    Inner,
    /// <summary>x_L ≤ s &lt; x_end (last outer node): an outer interval.</summary>
    Outer,
    /// <summary>s &lt; s_min: row 0, polynomial extrapolated with x = s − x_0 (cannot happen for a real
    /// neighbour: S ≥ 0 maps to s ≥ s_min).</summary>
    BelowTable,
    /// <summary>s ≥ x_end: C1 linear continuation g(x_end) + g′(x_end)·(s − x_end).</summary>
    BeyondTable,
    /// <summary>s is NaN: outputs are NaN.</summary>
    NotANumber,
}

/// <summary>
/// Evaluates a <see cref="CompressionTable"/>: g and dg/ds for (net, s) → m outputs (SPEC §3).
/// Thread-safe; the out-of-range counters are updated atomically (only on the rare paths).
/// </summary>
/// <remarks>
/// <para>Row lookup by index arithmetic: inner (s_min ≤ s &lt; x_L): l = clamp(floor((s − s_min)/dx), 0, L−1);
/// outer (x_L ≤ s &lt; x_end): l = L + clamp(floor((s − x_L)/(10·dx)), 0, outer−1); below s_min: row 0;
/// beyond x_end: the end value and slope of the last row, continued linearly (C1).
/// Local x = s − x_l in float64 (x_l = <see cref="SijGrid.Node"/>), then Horner:
/// g = (…(c0·x + c1)·x + …) + c_order, g′ by the derivative recursion. No read ever leaves the table.</para>
/// <para>With <see cref="TableRuntime.Pwmlff"/> the row and local variable come from <see cref="PwmlffRuntimeLookup"/>
/// instead (what PWMLFF's runtime computes, SPEC §8); the Horner evaluation is the same. The region counters
/// still describe where s lies on the grid; <see cref="PwmlffOuterBranchCount"/> counts the values that took
/// PWMLFF's broken outer branch.</para>
/// </remarks>
public sealed class TableEvaluator
{
    private readonly double[] _c;
    private readonly double[] _nodes;     // [rows + 1]
    private readonly double[] _endValue;  // [nnets, m]
    private readonly double[] _endSlope;  // [nnets, m]
    private readonly int _rows, _inner, _m, _nc, _netCount;
    private readonly double _sMin, _dx, _innerEnd, _outerStep, _outerEnd, _sMax;
    private readonly PwmlffRuntimeLookup? _pwmlff;
    private long _beyondTable, _beyondTraining, _belowTable, _pwmlffOuter;

    /// <param name="table">The table to evaluate.</param>
    /// <param name="runtime">DpCompress (default: the exact lookup of SPEC §3) or Pwmlff (emulation of PWMLFF's runtime lookup, SPEC §8).</param>
    public TableEvaluator(CompressionTable table, TableRuntime runtime = TableRuntime.DpCompress)
    {
        ArgumentNullException.ThrowIfNull(table);
        Table = table;
        var g = table.Grid;
        _c = table.Coefficients;
        _rows = g.Rows;
        _inner = g.InnerIntervals;
        _m = table.Width;
        _nc = table.Order + 1;
        _netCount = table.NetCount;
        _sMin = g.SMin;
        _dx = g.Dx;
        _innerEnd = g.Node(_inner);
        _outerStep = g.OuterStep;
        _outerEnd = g.Node(_rows);
        _sMax = g.SMax;
        _nodes = new double[_rows + 1];
        for (int k = 0; k <= _rows; k++) _nodes[k] = g.Node(k);
        _endValue = new double[_netCount * _m];
        _endSlope = new double[_netCount * _m];
        double xEnd = _outerEnd - _nodes[_rows - 1];
        for (int n = 0; n < _netCount; n++)
            HornerRow(n, _rows - 1, xEnd, _endValue.AsSpan(n * _m, _m), _endSlope.AsSpan(n * _m, _m));
        Runtime = runtime;
        _pwmlff = runtime == TableRuntime.Pwmlff ? new PwmlffRuntimeLookup(g) : null;
    }

    public CompressionTable Table { get; }

    /// <summary>The lookup used by <see cref="Evaluate(int, double, Span{double}, Span{double})"/>.</summary>
    public TableRuntime Runtime { get; }

    /// <summary>With <see cref="TableRuntime.Pwmlff"/>: values that took PWMLFF's outer branch (s̃ ≥ sij_max, wrong rows).</summary>
    public long PwmlffOuterBranchCount => Interlocked.Read(ref _pwmlffOuter);

    /// <summary>m, outputs per net.</summary>
    public int Width => _m;

    public int NetCount => _netCount;

    /// <summary>Values with s ≥ the last outer node (linear continuation used).</summary>
    public long BeyondTableCount => Interlocked.Read(ref _beyondTable);

    /// <summary>Values with s &gt; s_max (beyond the training range), whether inside the table or not.</summary>
    public long BeyondTrainingCount => Interlocked.Read(ref _beyondTraining);

    /// <summary>Values with s &lt; s_min (row 0 extrapolated) or NaN.</summary>
    public long BelowTableCount => Interlocked.Read(ref _belowTable);

    /// <summary>Sets all counters to zero.</summary>
    public void ResetCounts()
    {
        Interlocked.Exchange(ref _beyondTable, 0);
        Interlocked.Exchange(ref _beyondTraining, 0);
        Interlocked.Exchange(ref _belowTable, 0);
        Interlocked.Exchange(ref _pwmlffOuter, 0);
    }

    /// <summary>Row of s and the local variable x = s − x_row (no counting).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TableRegion Locate(double s, out int row, out double x)
    {
        if (s < _innerEnd)
        {
            if (s >= _sMin)
            {
                int l = (int)((s - _sMin) / _dx);      // ≥ 0 here, so truncation = floor
                if (l > _inner - 1) l = _inner - 1;
                row = l;
                x = s - _nodes[l];
                return TableRegion.Inner;
            }
            row = 0;
            x = s - _nodes[0];
            return double.IsNaN(s) ? TableRegion.NotANumber : TableRegion.BelowTable;
        }
        if (s < _outerEnd)
        {
            double j = Math.Floor((s - _innerEnd) / _outerStep);
            int l = _inner + (int)Math.Min(j, _rows - 1 - _inner);
            if (l < _inner) l = _inner;
            row = l;
            x = s - _nodes[l];
            return TableRegion.Outer;
        }
        if (double.IsNaN(s))
        {
            row = 0;
            x = double.NaN;
            return TableRegion.NotANumber;
        }
        row = _rows - 1;
        x = s - _outerEnd;
        return TableRegion.BeyondTable;
    }

    /// <summary>
    /// All m outputs of net <paramref name="net"/> at s.
    /// </summary>
    /// <param name="net">Net index t_i·ntypes + t_j.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="value">[m] receives g(s).</param>
    /// <param name="derivative">[m] receives dg/ds.</param>
    /// <returns>The region s fell in (counters are updated for the out-of-range regions).</returns>
    public TableRegion Evaluate(int net, double s, Span<double> value, Span<double> derivative)
    {
        if ((uint)net >= (uint)_netCount) throw new ArgumentOutOfRangeException(nameof(net));
        if (value.Length < _m || derivative.Length < _m) throw new ArgumentException($"Buffers need {_m} values.");
        var region = Locate(s, out int row, out double x);
        if (_pwmlff is not null)
        {
            if (_pwmlff.Locate(s, out row, out x) == PwmlffBranch.BrokenOuter) Interlocked.Increment(ref _pwmlffOuter);
            if (s > _sMax) Interlocked.Increment(ref _beyondTraining);
            if (region == TableRegion.BeyondTable) Interlocked.Increment(ref _beyondTable);
            else if (region is TableRegion.BelowTable or TableRegion.NotANumber) Interlocked.Increment(ref _belowTable);
            HornerRow(net, row, x, value, derivative);
            return region;
        }
        if (region == TableRegion.Inner || region == TableRegion.Outer)
        {
            if (s > _sMax) Interlocked.Increment(ref _beyondTraining);
            HornerRow(net, row, x, value, derivative);
            return region;
        }
        return EvaluateRare(net, region, row, x, value, derivative);
    }

    /// <summary>
    /// Evaluates a whole block of s values for one net.
    /// </summary>
    /// <param name="net">Net index.</param>
    /// <param name="s">[n] inputs.</param>
    /// <param name="values">[n, m] receives g.</param>
    /// <param name="derivatives">[n, m] receives dg/ds.</param>
    public void Evaluate(int net, ReadOnlySpan<double> s, Span<double> values, Span<double> derivatives)
    {
        int n = s.Length;
        if (values.Length < n * _m || derivatives.Length < n * _m) throw new ArgumentException($"Buffers need {n * _m} values.");
        for (int i = 0; i < n; i++)
            Evaluate(net, s[i], values.Slice(i * _m, _m), derivatives.Slice(i * _m, _m));
    }

    /// <summary>Array form of <see cref="Evaluate(int, double, Span{double}, Span{double})"/> (callable from PowerShell).</summary>
    /// <param name="net">Net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="value">[m] receives g(s).</param>
    /// <param name="derivative">[m] receives dg/ds.</param>
    public TableRegion Evaluate(int net, double s, double[] value, double[] derivative) =>
        Evaluate(net, s, value.AsSpan(), derivative.AsSpan());

    /// <summary>One output: g(s) and dg/ds.</summary>
    public double Evaluate(int net, int output, double s, out double derivative)
    {
        if ((uint)output >= (uint)_m) throw new ArgumentOutOfRangeException(nameof(output));
        Span<double> v = stackalloc double[_m];
        Span<double> d = stackalloc double[_m];
        Evaluate(net, s, v, d);
        derivative = d[output];
        return v[output];
    }

    private TableRegion EvaluateRare(int net, TableRegion region, int row, double x, Span<double> value, Span<double> derivative)
    {
        switch (region)
        {
            case TableRegion.BeyondTable:
                Interlocked.Increment(ref _beyondTable);
                Interlocked.Increment(ref _beyondTraining);
                var ev = _endValue.AsSpan(net * _m, _m);
                var es = _endSlope.AsSpan(net * _m, _m);
                for (int o = 0; o < _m; o++)
                {
                    value[o] = ev[o] + es[o] * x;
                    derivative[o] = es[o];
                }
                break;
            case TableRegion.BelowTable:
                Interlocked.Increment(ref _belowTable);
                HornerRow(net, 0, x, value, derivative);
                break;
            default:
                Interlocked.Increment(ref _belowTable);
                value[.._m].Fill(double.NaN);
                derivative[.._m].Fill(double.NaN);
                break;
        }
        return region;
    }

    /// <summary>Horner for every output of (net, row) at local x.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void HornerRow(int net, int row, double x, Span<double> value, Span<double> derivative)
    {
        int m = _m, nc = _nc;
        var c = _c.AsSpan((int)(((long)net * _rows + row) * m * nc), m * nc);
        value = value[..m];
        derivative = derivative[..m];
        if (nc == 4)
        {
            for (int o = 0; o < m; o++)
            {
                int b = o * 4;
                double c0 = c[b], c1 = c[b + 1], c2 = c[b + 2], c3 = c[b + 3];
                value[o] = ((c0 * x + c1) * x + c2) * x + c3;
                derivative[o] = (3 * c0 * x + 2 * c1) * x + c2;
            }
        }
        else if (nc == 6)
        {
            for (int o = 0; o < m; o++)
            {
                int b = o * 6;
                double c0 = c[b], c1 = c[b + 1], c2 = c[b + 2], c3 = c[b + 3], c4 = c[b + 4], c5 = c[b + 5];
                value[o] = ((((c0 * x + c1) * x + c2) * x + c3) * x + c4) * x + c5;
                derivative[o] = (((5 * c0 * x + 4 * c1) * x + 3 * c2) * x + 2 * c3) * x + c4;
            }
        }
        else
        {
            for (int o = 0; o < m; o++)
            {
                var co = c.Slice(o * nc, nc);
                double v = co[0], d = 0;
                for (int k = 1; k < nc; k++) { d = d * x + v; v = v * x + co[k]; }
                value[o] = v;
                derivative[o] = d;
            }
        }
    }
}
