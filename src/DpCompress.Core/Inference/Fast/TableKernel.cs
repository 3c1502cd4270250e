using System.Runtime.CompilerServices;
using DpCompress.Core.Compression;

namespace DpCompress.Core.Inference.Fast;

/// <summary>Where an s value fell on the table grid.</summary>
internal enum TableZone
{
    /// <summary>SMin ≤ s ≤ SMax: inside the training range.</summary>
    Inside = 0,
    /// <summary>SMax &lt; s ≤ OuterEnd: extrapolation region of the outer grid.</summary>
    BeyondTraining = 1,
    /// <summary>s &gt; OuterEnd: C1 linear continuation of the last row.</summary>
    OutOfTable = 2,
}

/// <summary>
/// Evaluation of a compression table (SPEC §3): row by index arithmetic — inner
/// k = floor((s − s_min)/dx) for s &lt; x_L, outer L + floor((s − x_L)/(10·dx)) — local
/// x = s − x_row (float64, node from its index), Horner for g and g′ = dg/ds. Beyond the
/// last outer node the table continues linearly with the end value and slope (C1).
/// </summary>
internal sealed class TableKernel
{
    private readonly double[] _coef;
    private readonly double[] _nodes;
    private readonly int _rows, _width, _order, _stride, _inner;
    private readonly double _sMin, _dx, _xL, _outerStep, _outerEnd, _sMax, _endLocal;

    public TableKernel(CompressionTable table)
    {
        var grid = table.Grid;
        _coef = table.Coefficients;
        _rows = grid.Rows;
        _width = table.Width;
        _order = table.Order;
        _stride = _order + 1;
        _inner = grid.InnerIntervals;
        _sMin = grid.SMin;
        _dx = grid.Dx;
        _xL = grid.InnerEnd;
        _outerStep = grid.OuterStep;
        _outerEnd = grid.OuterEnd;
        _sMax = grid.SMax;
        _nodes = new double[_rows + 1];
        for (int k = 0; k <= _rows; k++) _nodes[k] = grid.Node(k);
        _endLocal = _nodes[_rows] - _nodes[_rows - 1];
        NetCount = table.NetCount;
    }

    public int NetCount { get; }

    public int Width => _width;

    /// <summary>Row and local variable x of s.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TableZone Locate(double s, out int row, out double x)
    {
        if (s < _xL)
        {
            int k = (int)Math.Floor((s - _sMin) / _dx);
            if (k < 0) k = 0;
            else if (k > _inner - 1) k = _inner - 1;
            row = k;
            x = s - _nodes[k];
            return s > _sMax ? TableZone.BeyondTraining : TableZone.Inside;
        }
        if (s > _outerEnd)
        {
            row = _rows - 1;
            x = _endLocal;
            return TableZone.OutOfTable;
        }
        double j = Math.Floor((s - _xL) / _outerStep);
        int r = _inner + (j > _rows ? _rows : (int)j);
        if (r > _rows - 1) r = _rows - 1;
        row = r;
        x = s - _nodes[r];
        return s > _sMax ? TableZone.BeyondTraining : TableZone.Inside;
    }

    /// <summary>g = G(s) of net <paramref name="net"/>.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="g">[m] receives the values.</param>
    public TableZone Value(int net, double s, Span<double> g)
    {
        var zone = Locate(s, out int row, out double x);
        if (zone == TableZone.OutOfTable)
        {
            Span<double> gp = stackalloc double[_width];
            EvaluateRow(net, row, x, g, gp);
            double ds = s - _outerEnd;
            for (int q = 0; q < _width; q++) g[q] += gp[q] * ds;
            return zone;
        }
        var c = _coef.AsSpan((int)(((long)net * _rows + row) * _width * _stride), _width * _stride);
        if (_order == 3)
        {
            for (int q = 0; q < _width; q++)
            {
                int o = q * 4;
                g[q] = ((c[o] * x + c[o + 1]) * x + c[o + 2]) * x + c[o + 3];
            }
        }
        else
        {
            for (int q = 0; q < _width; q++)
            {
                int o = q * _stride;
                double v = c[o];
                for (int p = 1; p < _stride; p++) v = v * x + c[o + p];
                g[q] = v;
            }
        }
        return zone;
    }

    /// <summary>g = G(s) and gp = dG/ds of net <paramref name="net"/>.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="g">[m] values.</param>
    /// <param name="gp">[m] derivatives.</param>
    public TableZone ValueAndDerivative(int net, double s, Span<double> g, Span<double> gp)
    {
        var zone = Locate(s, out int row, out double x);
        EvaluateRow(net, row, x, g, gp);
        if (zone == TableZone.OutOfTable)
        {
            double ds = s - _outerEnd;
            for (int q = 0; q < _width; q++) g[q] += gp[q] * ds;
        }
        return zone;
    }

    private void EvaluateRow(int net, int row, double x, Span<double> g, Span<double> gp)
    {
        var c = _coef.AsSpan((int)(((long)net * _rows + row) * _width * _stride), _width * _stride);
        if (_order == 3)
        {
            for (int q = 0; q < _width; q++)
            {
                int o = q * 4;
                double a = c[o], b = c[o + 1], cc = c[o + 2];
                g[q] = ((a * x + b) * x + cc) * x + c[o + 3];
                gp[q] = (3 * a * x + 2 * b) * x + cc;
            }
        }
        else
        {
            int n = _order;
            for (int q = 0; q < _width; q++)
            {
                int o = q * _stride;
                double v = c[o], d = n * c[o];
                for (int p = 1; p < n; p++)
                {
                    v = v * x + c[o + p];
                    d = d * x + (n - p) * c[o + p];
                }
                g[q] = v * x + c[o + n];
                gp[q] = d;
            }
        }
    }
}
