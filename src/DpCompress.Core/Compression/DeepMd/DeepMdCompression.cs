using System.Globalization;
using DpCompress.Core.Model;
using DpCompress.Core.Serialization;
using DpCompress.Core.Serialization.DeepMd;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Compression;

/// <summary>Where DeePMD-kit's min_nbor_dist came from.</summary>
public enum MinNeighborDistanceSource
{
    /// <summary>The model file (top-level min_nbor_dist, or the model's).</summary>
    ModelFile,
    /// <summary>A scan of training configurations.</summary>
    TrainingData,
    /// <summary>Given by the user.</summary>
    User,
}

/// <summary>
/// DeePMD-kit's own compression of se_e2_a embedding nets (fixtures/deepmd README §5, <c>DPTabulate</c>):
/// quintic Hermite pieces on knots from a range set by min_nbor_dist, strides dx and 10·dx up to
/// extrapolate·upper, C1 continuation beyond. The table is an order-5 <see cref="CompressionTable"/> on an
/// <see cref="SijGrid"/> whose nodes are DeePMD-kit's knots, so both engines evaluate it unchanged.
/// </summary>
/// <remarks>
/// <para>Range, per centre type c (x = normalised s̃): sw = w(min_nbor_dist) (the quintic switch of §6),
/// lower_c = ⌊min_q(−davg[c,q]/dstd[c,q])⌋, upper_c = ⌈max_q((sw/min_nbor_dist − davg[c,q])/dstd[c,q])⌉ over the
/// radial AND the three angular components q. DeePMD-kit gives every net the range of its centre type; this
/// table has one grid for all nets, so it uses [min_c lower_c, max_c upper_c], which is DeePMD-kit's range
/// whenever all centre types agree (the usual case after ⌊⌋/⌈⌉, and the case of the fixture: [−1, 10]).</para>
/// <para>Knots: n1 = int((upper − lower)/dx) inner rows x_r = lower + r·dx, then rows at upper + j·10dx;
/// nspline = int((upper − lower)/dx + (ext·upper − upper)/(10·dx)) rows in all, as DeePMD-kit counts them.</para>
/// <para>Coefficients: the order-5 formulas of <see cref="Compressor"/> (a0 = y, a1 = y′, a2 = y″/2, a3..a5 from
/// h, y′, y″ at both knots) — DeePMD-kit's, written in descending powers; the writer reverses them into
/// DeePMD-kit's ascending, per-channel interleaved layout.</para>
/// <para>Errors: MinNeighborDistanceMissing (no min_nbor_dist in the file and none given), InvalidMinNeighborDistance,
/// InvalidStride, InvalidExtrapolate, ModelNotSupported (a model that is not DeePMD-kit's).</para>
/// </remarks>
public static class DeepMdCompression
{
    /// <summary>DeePMD-kit's default first stride (dp compress -s).</summary>
    public const double DefaultStride = 0.01;

    /// <summary>DeePMD-kit's default extrapolation factor (dp compress -e).</summary>
    public const double DefaultExtrapolate = 5;

    /// <summary>DeePMD-kit's default check frequency (dp compress -f), stored in compress_info and unused by the forward.</summary>
    public const int DefaultCheckFrequency = -1;

    /// <summary>min_nbor_dist stored in a DeePMD-kit model tree (the model's, then top-level, then constants.min_nbor_dist), or null.</summary>
    public static double? StoredMinNeighborDistance(DpModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var root = model.Checkpoint;
        if (root.TryGetValue("model", out var m) && m is PyDict md && Number(md, "min_nbor_dist") is double a) return a;
        if (Number(root, "min_nbor_dist") is double b) return b;
        if (root.TryGetValue("constants", out var c) && c is PyDict cd && Number(cd, "min_nbor_dist") is double d) return d;
        return null;
    }

    private static double? Number(PyDict d, string key) => d.TryGetValue(key, out var v) ? v switch
    {
        double x => x,
        long x => x,
        NdArray { ElementCount: 1, Kind: 'f' } a => a.ToDoubleArray()[0],
        _ => null,
    } : null;

    /// <summary>The smallest interatomic distance over <paramref name="configurations"/> (every periodic image), as DeePMD-kit's neighbour statistics compute min_nbor_dist.</summary>
    public static double ScanMinNeighborDistance(DpModel model, IEnumerable<Configuration> configurations, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(configurations);
        double best = double.PositiveInfinity;
        foreach (var c in configurations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var nl = Neighbors.ModelNeighbors.Build(c, model);   // nearest first: the closest pair is always kept
            for (int q = 0; q < nl.Neighbor.Length; q++)
            {
                if (nl.Neighbor[q] < 0) continue;
                double x = nl.Delta[3 * q], y = nl.Delta[3 * q + 1], z = nl.Delta[3 * q + 2];
                double r = Math.Sqrt(x * x + y * y + z * z);
                if (r < best) best = r;
            }
        }
        if (double.IsPositiveInfinity(best))
            throw new DpCompressException("MinNeighborDistanceMissing", ErrorKind.InvalidData,
                $"The training data hold no pair of atoms within rcut = {model.Rmax} Å, so min_nbor_dist cannot be measured.");
        return best;
    }

    /// <summary>w(r)/r with DeePMD-kit's switch: 1/r below rcut_smth, u³(−6u² + 15u − 10)·1/r + 1/r up to rcut, 0 beyond.</summary>
    public static double SwitchOverR(double r, double rmin, double rmax)
    {
        if (r < rmin) return 1.0 / r;
        if (r >= rmax) return 0.0;
        double u = (r - rmin) / (rmax - rmin);
        return (u * u * u * (-6 * u * u + 15 * u - 10) + 1) / r;
    }

    /// <summary>The table range [lower, upper] (union over centre types, see remarks).</summary>
    public static (double Lower, double Upper) Range(DpModel model, double minNeighborDistance)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(minNeighborDistance > 0) || !double.IsFinite(minNeighborDistance))
            throw new DpCompressException("InvalidMinNeighborDistance", ErrorKind.InvalidArgument,
                $"min_nbor_dist must be a positive distance (got {minNeighborDistance.ToString(CultureInfo.InvariantCulture)} Å).");
        double sw = SwitchOverR(minNeighborDistance, model.Rmin, model.Rmax) * minNeighborDistance; // w(r_min)
        double lower = double.PositiveInfinity, upper = double.NegativeInfinity;
        for (int c = 0; c < model.TypeCount; c++)
        {
            double lo = double.PositiveInfinity, hi = double.NegativeInfinity;
            for (int q = 0; q < 4; q++)
            {
                double avg = model.Davg[c * 4 + q], std = model.Dstd[c * 4 + q];
                lo = Math.Min(lo, -avg / std);
                hi = Math.Max(hi, (sw / minNeighborDistance - avg) / std);
            }
            lower = Math.Min(lower, Math.Floor(lo));
            upper = Math.Max(upper, Math.Ceiling(hi));
        }
        return (lower, upper);
    }

    /// <summary>DeePMD-kit's knots as a grid: n1 rows of dx from lower, then rows of 10·dx to extrapolate·upper.</summary>
    public static SijGrid Grid(DpModel model, double minNeighborDistance, double stride = DefaultStride, double extrapolate = DefaultExtrapolate,
        SijMaxSource source = SijMaxSource.User, long maxTableBytes = GridBuilder.DefaultMaxTableBytes)
    {
        if (!(stride > 0) || !double.IsFinite(stride))
            throw new DpCompressException("InvalidStride", ErrorKind.InvalidArgument, $"The stride must be a positive number (got {stride.ToString(CultureInfo.InvariantCulture)}).");
        if (!(extrapolate > 1) || !double.IsFinite(extrapolate))
            throw new DpCompressException("InvalidExtrapolate", ErrorKind.InvalidArgument, $"The extrapolation factor must exceed 1 (got {extrapolate.ToString(CultureInfo.InvariantCulture)}).");
        var (lower, upper) = Range(model, minNeighborDistance);
        if (!(upper > lower) || !(upper > 0))
            throw new DpCompressException("InvalidMinNeighborDistance", ErrorKind.InvalidArgument,
                $"min_nbor_dist {minNeighborDistance.ToString(CultureInfo.InvariantCulture)} Å gives the empty table range [{lower}, {upper}].");
        double stride1 = 10 * stride;
        double n1d = (upper - lower) / stride;
        double totald = (upper - lower) / stride + (extrapolate * upper - upper) / stride1;
        long rowsEstimate = (long)Math.Min(totald, long.MaxValue / 2);
        long bytes = rowsEstimate * 6L * model.EmbeddingWidth * 8L * model.TypeCount * model.TypeCount;
        if (rowsEstimate > int.MaxValue / 4 || bytes > maxTableBytes)
            throw new DpCompressException("TableTooLarge", ErrorKind.LimitsExceeded,
                $"The table would need {rowsEstimate} rows per net ({bytes} bytes), more than the limit of {maxTableBytes} bytes; use a larger stride.");
        int n1 = (int)n1d;
        int nspline = (int)totald;
        if (n1 < 1 || nspline - n1 < 1)
            throw new DpCompressException("InvalidStride", ErrorKind.InvalidArgument, $"The stride {stride} leaves no rows in [{lower}, {upper}].");
        double sw = SwitchOverR(minNeighborDistance, model.Rmin, model.Rmax);
        return new SijGrid(lower, upper, stride, n1, nspline - n1 + 1, sw, source);
    }

    /// <summary>
    /// Compresses a DeePMD-kit model as <c>dp compress</c> does and returns the compressed model: the table
    /// attached, and a copy of its tree with the descriptor at @version 3, the compress block and the
    /// top-level min_nbor_dist (what <see cref="DeepMdModelWriter"/> writes).
    /// </summary>
    public static DpModel Compress(DpModel model, double minNeighborDistance, double stride = DefaultStride, double extrapolate = DefaultExtrapolate,
        int checkFrequency = DefaultCheckFrequency, SijMaxSource source = SijMaxSource.User, IProgress<CompressionProgress>? progress = null,
        CancellationToken cancellationToken = default, int maxDegreeOfParallelism = -1, long maxTableBytes = GridBuilder.DefaultMaxTableBytes)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Flavour != ModelFlavour.DeepMdSeE2A)
            throw new DpCompressException("ModelNotSupported", ErrorKind.InvalidArgument, "DeePMD-kit's table is built for DeePMD-kit models only.", model.SourcePath);
        var grid = Grid(model, minNeighborDistance, stride, extrapolate, source, maxTableBytes);
        var table = Compressor.Compress(model.EmbeddingNets, model.TypeCount, grid, 5, progress, cancellationToken, maxDegreeOfParallelism,
            Compressor.DefaultAccuracyPoints, maxTableBytes);
        var info = new DeepMdTableInfo(grid.SMin, grid.SMax, extrapolate * grid.SMax, stride, 10 * stride, checkFrequency);
        var tree = DeepMdModelWriter.WithCompressBlock(model, table, info, minNeighborDistance);
        return DeepMdModelReader.WithTree(model, tree, table);
    }
}

/// <summary>DeePMD-kit's compress_info of one net: [lower, upper, upper·extrapolate, stride0, stride1, check_frequency].</summary>
public sealed record DeepMdTableInfo(double Lower, double Upper, double TableMax, double Stride0, double Stride1, double CheckFrequency)
{
    public double[] ToArray() => new[] { Lower, Upper, TableMax, Stride0, Stride1, CheckFrequency };
}
