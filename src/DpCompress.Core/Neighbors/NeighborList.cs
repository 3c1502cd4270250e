namespace DpCompress.Core.Neighbors;

/// <summary>
/// Neighbours of every atom in PWMLFF's slot layout (SPEC §2.3): for centre atom i and each
/// model type t a block of <see cref="MaxNeighbors"/> slots; the first Counts[i,t] slots hold
/// real neighbours (any periodic image, the centre's own images included, with
/// 1e-8 &lt; |dR|² &lt; Rmax²), the rest are padding.
/// </summary>
/// <remarks>
/// Shapes: N = atoms, T = model types, K = MaxNeighbors.
/// <see cref="Counts"/> [N, T]; <see cref="Neighbor"/> [N, T, K] (−1 for padding);
/// <see cref="Delta"/> [N, T, K, 3] dR = r_j + shift − r_i (zero for padding).
/// Real neighbours of a block are ordered by (atom index j, then image).
/// </remarks>
public sealed class NeighborList
{
    public NeighborList(int atomCount, int typeCount, int maxNeighbors, int[] atomTypes, int[] counts, int[] neighbor, double[] delta)
    {
        AtomCount = atomCount;
        TypeCount = typeCount;
        MaxNeighbors = maxNeighbors;
        AtomTypes = atomTypes;
        Counts = counts;
        Neighbor = neighbor;
        Delta = delta;
    }

    public int AtomCount { get; }

    /// <summary>T: number of model types (blocks per atom).</summary>
    public int TypeCount { get; }

    /// <summary>K: slots per block (the model's max_neigh_num).</summary>
    public int MaxNeighbors { get; }

    /// <summary>[N] model type index of each atom.</summary>
    public int[] AtomTypes { get; }

    /// <summary>[N, T] number of real neighbours of type t around atom i.</summary>
    public int[] Counts { get; }

    /// <summary>[N, T, K] index j of the neighbour atom in slot k, −1 for padding.</summary>
    public int[] Neighbor { get; }

    /// <summary>[N, T, K, 3] dR = r_j(image) − r_i, zero for padding.</summary>
    public double[] Delta { get; }

    /// <summary>Model types present in the configuration (ascending); blocks of other types are skipped (SPEC §2.5).</summary>
    public int[] PresentTypes => AtomTypes.Distinct().Order().ToArray();

    public int Count(int atom, int type) => Counts[atom * TypeCount + type];

    /// <summary>Index of slot (atom, type, k) in <see cref="Neighbor"/> (times 3 for <see cref="Delta"/>).</summary>
    public int Slot(int atom, int type, int k) => (atom * TypeCount + type) * MaxNeighbors + k;
}
