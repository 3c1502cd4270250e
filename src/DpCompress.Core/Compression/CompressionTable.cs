namespace DpCompress.Core.Compression;

/// <summary>Measured accuracy of one net's table (max over a dense set of points inside every interval).
/// CentreType is −1 for a type-embedding model's table (one net per neighbour type, shared by every centre type).</summary>
public sealed record NetAccuracy(int Net, int CentreType, int NeighborType, double MaxValueError, double MaxDerivativeError, double OutputScale)
{
    /// <summary>Max |g − y| over the inner intervals only (s_min ≤ s &lt; x_L, the training range); NaN when not measured.</summary>
    public double InnerMaxValueError { get; init; } = double.NaN;

    /// <summary>Max |g′ − y′| over the inner intervals only; NaN when not measured.</summary>
    public double InnerMaxDerivativeError { get; init; } = double.NaN;
}

/// <summary>
/// Piecewise polynomials that replace the embedding nets (SPEC §3–§4). Coefficients are in
/// PWMLFF's layout [nnets, rows, m, order+1], descending powers of the local variable
/// x = s − x_row: g = c[0]·x^order + … + c[order].
/// </summary>
public sealed class CompressionTable
{
    public CompressionTable(SijGrid grid, int order, int netCount, int width, double[] coefficients, IReadOnlyList<NetAccuracy>? accuracy = null)
    {
        if (order != 3 && order != 5) throw new ArgumentOutOfRangeException(nameof(order), "Order must be 3 or 5.");
        long expected = (long)netCount * grid.Rows * width * (order + 1);
        if (coefficients.LongLength != expected)
            throw new ArgumentException($"Table has {coefficients.LongLength} coefficients, expected {netCount}x{grid.Rows}x{width}x{order + 1} = {expected}.", nameof(coefficients));
        Grid = grid;
        Order = order;
        NetCount = netCount;
        Width = width;
        Coefficients = coefficients;
        Accuracy = accuracy ?? Array.Empty<NetAccuracy>();
    }

    public SijGrid Grid { get; }

    /// <summary>Polynomial order: 3 (Hermite) or 5.</summary>
    public int Order { get; }

    public int NetCount { get; }

    /// <summary>m, outputs per net.</summary>
    public int Width { get; }

    public int Rows => Grid.Rows;

    /// <summary>[NetCount, Rows, Width, Order+1] flattened row-major.</summary>
    public double[] Coefficients { get; }

    /// <summary>Per-net accuracy measured when the table was built (empty when read from a file).</summary>
    public IReadOnlyList<NetAccuracy> Accuracy { get; }

    /// <summary>Largest measured |table − net| inside the training range (inner grid) over all nets (NaN when not measured).</summary>
    public double InnerMaxValueError => Accuracy.Count == 0 ? double.NaN : Accuracy.Max(a => a.InnerMaxValueError);

    /// <summary>Largest measured |table′ − net′| inside the training range over all nets (NaN when not measured).</summary>
    public double InnerMaxDerivativeError => Accuracy.Count == 0 ? double.NaN : Accuracy.Max(a => a.InnerMaxDerivativeError);

    /// <summary>Largest measured |table − net| over all nets and the whole table, outer grid included (NaN when not measured).</summary>
    public double MaxValueError => Accuracy.Count == 0 ? double.NaN : Accuracy.Max(a => a.MaxValueError);

    /// <summary>Largest measured |table′ − net′| over all nets (NaN when not measured).</summary>
    public double MaxDerivativeError => Accuracy.Count == 0 ? double.NaN : Accuracy.Max(a => a.MaxDerivativeError);

    /// <summary>Offset of coefficient c[0] of (net, row, output).</summary>
    public long Offset(int net, int row, int output) => (((long)net * Rows + row) * Width + output) * (Order + 1);

    public long SizeInBytes => Coefficients.LongLength * sizeof(double);
}
