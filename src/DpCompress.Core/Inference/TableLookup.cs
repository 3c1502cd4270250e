using DpCompress.Core.Compression;

namespace DpCompress.Core.Inference;

/// <summary>
/// Evaluates one net's compression table and its derivative (SPEC §3): inner row
/// floor((s − s_min)/dx), outer row L + floor((s − x_L)/(10·dx)), local x = s − node (float64,
/// node from its index), Horner; beyond the last outer node a C1 linear continuation.
/// </summary>
internal static class TableLookup
{
    /// <summary>Counts of values outside the table (continued linearly) and above the training maximum.</summary>
    public readonly record struct Counts(long OutOfTable, long BeyondTraining);

    /// <param name="table">The table.</param>
    /// <param name="net">Net index t_i·ntypes + t_j.</param>
    /// <param name="s">[n] normalised s values.</param>
    /// <param name="g">[n, m] receives G(s).</param>
    /// <param name="dg">[n, m] receives dG/ds.</param>
    public static Counts Evaluate(CompressionTable table, int net, ReadOnlySpan<double> s, Span<double> g, Span<double> dg)
    {
        var grid = table.Grid;
        int m = table.Width, order = table.Order, L = grid.InnerIntervals, rows = grid.Rows;
        double xL = grid.InnerEnd, outerEnd = grid.OuterEnd;
        var c = table.Coefficients;
        long outOfTable = 0, beyond = 0;
        for (int q = 0; q < s.Length; q++)
        {
            double sv = s[q];
            if (double.IsNaN(sv)) throw new ArgumentException("s is NaN.", nameof(s));
            if (sv > grid.SMax) beyond++;
            int row;
            double extra = 0;
            if (sv < xL)
            {
                row = (int)Math.Floor((sv - grid.SMin) / grid.Dx);
                row = Math.Clamp(row, 0, L - 1);
            }
            else if (sv < outerEnd)
            {
                double j = Math.Floor((sv - xL) / grid.OuterStep);
                row = (int)Math.Min(L + j, rows - 1);
            }
            else
            {
                row = rows - 1;
                extra = sv - outerEnd;
                outOfTable++;
            }
            double node = grid.Node(row);
            double x = extra > 0 || sv >= outerEnd ? outerEnd - node : sv - node;
            for (int o = 0; o < m; o++)
            {
                long off = table.Offset(net, row, o);
                double v = c[off], d = 0;
                for (int p = 1; p <= order; p++)
                {
                    d = d * x + v;
                    v = v * x + c[off + p];
                }
                g[q * m + o] = v + d * extra;
                dg[q * m + o] = d;
            }
        }
        return new Counts(outOfTable, beyond);
    }
}
