using DpCompress.Core.Model;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Neighbors;

/// <summary>
/// Rebuilds neighbour lists into one set of arrays, as an MD loop does every step. Each
/// <see cref="Build(Configuration, int[], double, int)"/> overwrites the list the previous call returned; after a successful call only
/// the real slots and the slots whose occupancy changed are written, so a search touches a small
/// fraction of the [N, T, K] arrays (with K = 100 and five types, ≈ 90 % of the slots are padding)
/// and leaves the model's tables in the caches. Results equal <see cref="NeighborSearch.Build(Configuration, int[], double, int)"/>.
/// DeePMD-kit's truncated lists (<see cref="Build(Configuration, DpModel)"/>) reuse both the complete search and the
/// kept list the same way, and equal <see cref="ModelNeighbors.Build"/>.
/// </summary>
/// <remarks>The list returned is valid until the next Build; its arrays must not be modified. Not thread-safe.</remarks>
public sealed class NeighborListBuffer
{
    private NeighborList? _list;
    private bool _clean;
    private TruncatedScratch? _truncated;   // created on the first truncated search (it holds a buffer of its own)

    /// <summary>Builds the neighbour list of <paramref name="c"/> into this buffer's arrays (see <see cref="NeighborSearch"/>).</summary>
    /// <param name="c">The configuration.</param>
    /// <param name="modelAtomTypes">[T] atomic number of each model type.</param>
    /// <param name="rmax">Cutoff Rmax (Å).</param>
    /// <param name="maxNeighbors">K, slots per neighbour-type block.</param>
    /// <returns>The list; valid until the next call.</returns>
    public NeighborList Build(Configuration c, int[] modelAtomTypes, double rmax, int maxNeighbors)
    {
        bool clean = _clean;
        _clean = false;   // a search that throws leaves the arrays partly written
        _list = NeighborSearch.Build(c, modelAtomTypes, rmax, maxNeighbors, _list, clean);
        _clean = true;
        return _list;
    }

    /// <summary>
    /// The list <paramref name="model"/>'s conventions ask for (<see cref="ModelNeighbors.Build"/>: PWMLFF's every
    /// neighbour, or DeePMD-kit's nearest sel[t] of each type), built into this buffer's arrays.
    /// </summary>
    /// <param name="c">The configuration.</param>
    /// <param name="model">The model (its types, cutoff, K and conventions).</param>
    /// <returns>The list; valid until the next call.</returns>
    /// <remarks>
    /// DeePMD-kit's lists: ModelNeighbors.Build allocates the complete search's arrays and the kept list's per call;
    /// on this VM their page faults and clearing made the search of a 384-atom Ag-Au cell (sel [60, 96]) 5.1-5.5 ms
    /// against 1.5-1.7 ms for the search alone.
    /// </remarks>
    public NeighborList Build(Configuration c, DpModel model)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(model);
        return model.Conventions.Selection == NeighborSelection.NearestTruncated
            ? ModelNeighbors.BuildTruncated(c, model.AtomTypes, model.Rmax, model.MaxNeighbors, model.Conventions.Sel!.ToArray(), _truncated ??= new())
            : Build(c, model.AtomTypes, model.Rmax, model.MaxNeighbors);
    }
}

/// <summary>
/// What a truncated (DeePMD-kit) search keeps between calls: the complete search (rebuilt in place by its own
/// buffer) with the N, T and K it last fitted, the kept list and whether it is unmodified output of a successful
/// call (clean: its padding already holds −1 and 0), and the per-block sort scratch.
/// </summary>
internal sealed class TruncatedScratch
{
    public readonly NeighborListBuffer Search = new();
    public int SearchAtoms = -1, SearchTypes = -1;
    /// <summary>K the next complete search starts at while N and T stay: the last K that fitted when its blocks needed more than the smallest K, else the smallest.</summary>
    public int SearchK;
    public NeighborList? Kept;
    public bool KeptClean;
    public int[] Order = [];
    public double[] Dist = [];
}
