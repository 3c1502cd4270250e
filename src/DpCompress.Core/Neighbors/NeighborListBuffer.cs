namespace DpCompress.Core.Neighbors;

/// <summary>
/// Rebuilds neighbour lists into one set of arrays, as an MD loop does every step. Each
/// <see cref="Build"/> overwrites the list the previous call returned; after a successful call only
/// the real slots and the slots whose occupancy changed are written, so a search touches a small
/// fraction of the [N, T, K] arrays (with K = 100 and five types, ≈ 90 % of the slots are padding)
/// and leaves the model's tables in the caches. Results equal <see cref="NeighborSearch.Build(DpCompress.Core.Structures.Configuration, int[], double, int)"/>.
/// </summary>
/// <remarks>The list returned is valid until the next <see cref="Build"/>; its arrays must not be modified. Not thread-safe.</remarks>
public sealed class NeighborListBuffer
{
    private NeighborList? _list;
    private bool _clean;

    /// <summary>Builds the neighbour list of <paramref name="c"/> into this buffer's arrays (see <see cref="NeighborSearch"/>).</summary>
    /// <param name="c">The configuration.</param>
    /// <param name="modelAtomTypes">[T] atomic number of each model type.</param>
    /// <param name="rmax">Cutoff Rmax (Å).</param>
    /// <param name="maxNeighbors">K, slots per neighbour-type block.</param>
    /// <returns>The list; valid until the next call.</returns>
    public NeighborList Build(DpCompress.Core.Structures.Configuration c, int[] modelAtomTypes, double rmax, int maxNeighbors)
    {
        bool clean = _clean;
        _clean = false;   // a search that throws leaves the arrays partly written
        _list = NeighborSearch.Build(c, modelAtomTypes, rmax, maxNeighbors, _list, clean);
        _clean = true;
        return _list;
    }
}
