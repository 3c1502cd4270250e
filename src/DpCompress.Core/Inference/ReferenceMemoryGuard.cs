using DpCompress.Core.Model;

namespace DpCompress.Core.Inference;

/// <summary>
/// Estimates the memory of one Reference-engine evaluation before anything is allocated and
/// refuses one that would not fit (<c>ReferenceEngineMemoryLimit</c>, LimitsExceeded), with a hint
/// to use the Fast engine, whose memory grows with the real neighbours only.
/// </summary>
/// <remarks>
/// The Reference engine evaluates every neighbour slot (N atoms · ntypes · max_neigh_num) with
/// autograd, which keeps each layer's activations for the backward pass. Estimate, in bytes:
/// 8 · N · ntypes · max_neigh_num · (32 + 6 · Σ_l embedding width_l + 4 · m)
/// (measured on the Ag–Au model: 3.9 GB at 4,000 atoms; this gives 3.7 GB). The limit is
/// <see cref="MaxBytes"/> (4 GiB) or half of the memory available to the process, whichever is smaller.
/// </remarks>
public static class ReferenceMemoryGuard
{
    /// <summary>Upper limit of the estimate (4 GiB).</summary>
    public const long MaxBytes = 4L << 30;

    /// <summary>Estimated bytes of one evaluation of <paramref name="atoms"/> atoms.</summary>
    public static double Estimate(DpModel model, int atoms)
    {
        ArgumentNullException.ThrowIfNull(model);
        double slots = (double)atoms * model.TypeCount * model.MaxNeighbors;
        double widths = model.EmbeddingSizes.Sum();
        return 8 * slots * (32 + 6 * widths + 4 * model.EmbeddingWidth);
    }

    /// <summary>The limit in force: min(<see cref="MaxBytes"/>, half the memory available to the process).</summary>
    public static long Limit
    {
        get
        {
            long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
            return available > 0 ? Math.Min(MaxBytes, available / 2) : MaxBytes;
        }
    }

    /// <summary>Throws <c>ReferenceEngineMemoryLimit</c> when the estimate exceeds <see cref="Limit"/>.</summary>
    public static void Check(DpModel model, int atoms, string? source)
    {
        double estimate = Estimate(model, atoms);
        long limit = Limit;
        if (estimate > limit)
            throw new DpCompressException("ReferenceEngineMemoryLimit", ErrorKind.LimitsExceeded,
                $"The Reference engine would need about {estimate / (1 << 30):F1} GiB for {atoms} atoms ({model.TypeCount} types × {model.MaxNeighbors} neighbour slots each), " +
                $"more than its limit of {limit / (double)(1 << 30):F1} GiB. Use -Engine Fast, which needs a small fraction of that.", source);
    }
}
