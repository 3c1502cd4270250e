using DpCompress.Core.Model;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Compression;

/// <summary>Result of scanning training configurations for the largest raw S(r).</summary>
public sealed record SijScanResult(double RawSijMax, double MinDistance, int Configurations, string? ClosestConfiguration);

/// <summary>
/// The seed's "scan the whole training set": the largest raw S(r) over every real neighbour
/// pair of every configuration (SPEC §2.1). S decreases with r, so it is S at the closest pair.
/// </summary>
public static class TrainingDataScan
{
    /// <summary>S(r) of SPEC §2.1 with PWMLFF's strict inequalities (r == Rmin gives 0).</summary>
    public static double SmoothWeight(double r, double rmin, double rmax) =>
        Inference.Fast.Geometry.Switch(r, 1 / r, rmin, rmax, 1 / (rmax - rmin), out _);

    /// <summary>Scans configurations with the model's cutoff and neighbour limits.</summary>
    public static SijScanResult Scan(DpModel model, IEnumerable<Configuration> configurations, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        double best = double.PositiveInfinity;
        string? where = null;
        int n = 0;
        foreach (var c in configurations)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var nl = NeighborSearch.Build(c, model.AtomTypes, model.Rmax, model.MaxNeighbors);
            for (int slot = 0; slot < nl.Neighbor.Length; slot++)
            {
                if (nl.Neighbor[slot] < 0) continue;
                double dx = nl.Delta[3 * slot], dy = nl.Delta[3 * slot + 1], dz = nl.Delta[3 * slot + 2];
                double r = Math.Sqrt(dx * dx + dy * dy + dz * dz);
                if (r < best)
                {
                    best = r;
                    where = $"{c.Name ?? c.Formula}[{c.Index}]";
                }
            }
            progress?.Report(++n);
        }
        if (n == 0)
            throw new DpCompressException("NoTrainingData", ErrorKind.InvalidArgument, "The training data holds no configurations.");
        if (double.IsPositiveInfinity(best))
            throw new DpCompressException("DegenerateSijRange", ErrorKind.InvalidData, "No atom of the training data has a neighbour within the cutoff.");
        return new SijScanResult(SmoothWeight(best, model.Rmin, model.Rmax), best, n, where);
    }
}
