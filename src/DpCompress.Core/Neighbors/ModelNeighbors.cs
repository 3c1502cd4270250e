using DpCompress.Core.Model;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Neighbors;

/// <summary>
/// The neighbour list a model's conventions ask for (<see cref="DescriptorConventions.Selection"/>):
/// PWMLFF's (SPEC §2.3, every neighbour, overflow is an error) or DeePMD-kit's (nearest first, the
/// nearest sel[t] of each type kept).
/// </summary>
public static class ModelNeighbors
{
    /// <summary>Largest block the truncating search will allocate while it looks for every neighbour.</summary>
    private const int MaxSearchSlots = 1 << 16;

    /// <summary>
    /// Most bytes the complete search's [N, T, K] arrays may take once K grows beyond 4 × its first size
    /// (28 bytes a slot: the index and dR). Before this limit, a 60 KB XYZ file of 2,000 Au atoms in a 5 Å
    /// cube grew K to 24,576 and took 8 s and 1.3 GB (2.75 GB allocated); an atom with more than 65,536
    /// neighbours was refused with a message about PWMLFF's max_neigh_num = 65,536, which no model has.
    /// </summary>
    internal const long MaxSearchBytes = 1L << 30;

    private const int SlotBytes = sizeof(int) + 3 * sizeof(double);

    /// <summary>Builds the neighbour list of <paramref name="c"/> for <paramref name="model"/>.</summary>
    /// <param name="c">The configuration.</param>
    /// <param name="model">The model (its types, cutoff, K and conventions).</param>
    /// <returns>Counts [N, T], Neighbor [N, T, K], Delta [N, T, K, 3].</returns>
    public static NeighborList Build(Configuration c, DpModel model)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(model);
        return model.Conventions.Selection == NeighborSelection.NearestTruncated
            ? BuildTruncated(c, model.AtomTypes, model.Rmax, model.MaxNeighbors, model.Conventions.Sel!.ToArray())
            : NeighborSearch.Build(c, model.AtomTypes, model.Rmax, model.MaxNeighbors);
    }

    /// <summary>
    /// DeePMD-kit's neighbour list (<c>build_neighbor_list</c> + <c>nlist_distinguish_types</c>): all
    /// neighbours within the cutoff (periodic images, the centre's own images included); where type t has
    /// more than sel[t], they are sorted by distance |dR| ascending, stable (ties keep the (atom index, image)
    /// order of the search), and the nearest sel[t] fill block t, farther ones dropped. A block that fits
    /// keeps the search order: A_i sums over the slots, so the order changes round-off only. Blocks hold
    /// K ≥ max sel slots; slots from sel[t] on stay padding (the engines use only the first sel[t]).
    /// </summary>
    /// <remarks>Ties at the truncation edge (equal distances, e.g. a perfect lattice shell cut by sel) are
    /// broken by atom index here and by extended-atom index in DeePMD-kit; both choices are arbitrary.</remarks>
    /// <param name="c">The configuration.</param>
    /// <param name="modelAtomTypes">[T] atomic numbers of the model types.</param>
    /// <param name="rcut">Cutoff (Å).</param>
    /// <param name="maxNeighbors">K, at least max(sel).</param>
    /// <param name="sel">[T] slots kept per neighbour type.</param>
    public static NeighborList BuildTruncated(Configuration c, int[] modelAtomTypes, double rcut, int maxNeighbors, int[] sel) =>
        BuildTruncated(c, modelAtomTypes, rcut, maxNeighbors, sel, null);

    /// <summary>
    /// <see cref="BuildTruncated(Configuration, int[], double, int, int[])"/>, with <paramref name="scratch"/> (from a
    /// <see cref="NeighborListBuffer"/>) writing into the arrays of its previous call: the complete search as
    /// <see cref="NeighborListBuffer.Build(Configuration, int[], double, int)"/> does, and the kept list's real slots
    /// plus the slots between its new and old count of each block. The result is the same.
    /// </summary>
    internal static NeighborList BuildTruncated(Configuration c, int[] modelAtomTypes, double rcut, int maxNeighbors, int[] sel, TruncatedScratch? scratch)
    {
        int nt = modelAtomTypes.Length;
        if (sel.Length != nt || sel.Any(s => s < 1 || s > maxNeighbors))
            throw new ArgumentException($"sel must hold {nt} counts between 1 and K = {maxNeighbors}.", nameof(sel));
        int n = c.AtomCount;
        // Find every neighbour: grow the search blocks until none overflows (from the K that fitted last time, while N and T stay).
        NeighborList all;
        bool sameShape = scratch is not null && scratch.SearchAtoms == n && scratch.SearchTypes == nt;
        int baseK = Math.Max(maxNeighbors, 64);
        int k = Math.Max(baseK, sameShape ? scratch!.SearchK : 0);
        while (true)
        {
            try
            {
                all = scratch is null ? NeighborSearch.Build(c, modelAtomTypes, rcut, k) : scratch.Search.Build(c, modelAtomTypes, rcut, k);
                if (scratch is not null)
                {
                    // Start the next search at this K only while blocks need more than the smallest one; else back at it,
                    // so one crowded configuration does not leave every later search with its large arrays.
                    int most = 0;
                    foreach (int count in all.Counts) most = Math.Max(most, count);
                    (scratch.SearchAtoms, scratch.SearchTypes, scratch.SearchK) = (n, nt, most <= baseK ? baseK : k);
                }
                break;
            }
            catch (DpCompressException e) when (e.ErrorId == "TooManyNeighbors")
            {
                int next = Math.Min(MaxSearchSlots, k * 4);
                double bytes = (double)n * nt * next * SlotBytes;
                if (k >= MaxSearchSlots || (next > 4 * baseK && bytes > MaxSearchBytes))
                    throw new DpCompressException("TooManyNeighbors", ErrorKind.LimitsExceeded,
                        $"{(c.Source is null ? c.ToString() : $"{c} from '{c.Source}'")}: an atom has more than {k} neighbours of one type within " +
                        $"rcut = {rcut.ToString("G6", System.Globalization.CultureInfo.InvariantCulture)} Å ({e.Data[NeighborSearch.CrowdedKey] as string ?? c.ToString()}). DeePMD-kit keeps the nearest sel = [{string.Join(", ", sel)}] " +
                        $"of each type, but picks them from a list of every neighbour, which here would need more than {(k >= MaxSearchSlots ? $"{MaxSearchSlots} slots a block" : $"{bytes / (1 << 30):F1} GiB")} " +
                        "(atoms far closer together than in any material); the configuration is refused.", c.Source, e);
                k = next;
            }
        }

        // The kept list: this buffer's arrays when they have the shape (their padding is −1 and 0 where clean), else new ones.
        int[] counts, neighbor;
        double[] delta;
        bool reuse = scratch?.Kept is { } kept && scratch.KeptClean && kept.AtomCount == n && kept.TypeCount == nt && kept.MaxNeighbors == maxNeighbors;
        if (reuse)
            (counts, neighbor, delta) = (scratch!.Kept!.Counts, scratch.Kept.Neighbor, scratch.Kept.Delta);
        else
        {
            counts = new int[n * nt];
            neighbor = new int[n * nt * maxNeighbors];
            Array.Fill(neighbor, -1);
            delta = new double[neighbor.Length * 3];
        }
        if (scratch is not null) scratch.KeptClean = false;
        int[] order = scratch is null || scratch.Order.Length < k ? new int[k] : scratch.Order;
        double[] dist = scratch is null || scratch.Dist.Length < k ? new double[k] : scratch.Dist;
        if (scratch is not null) (scratch.Order, scratch.Dist) = (order, dist);
        for (int i = 0; i < n; i++)
            for (int t = 0; t < nt; t++)
            {
                int found = all.Counts[i * nt + t];
                int src = (i * nt + t) * k;
                for (int q = 0; q < found; q++) order[q] = q;
                if (found > sel[t])
                {
                    // Nearest first, stable: sort by r² (primitive keys), then restore index order inside runs of equal r².
                    for (int q = 0; q < found; q++)
                    {
                        double x = all.Delta[(src + q) * 3], y = all.Delta[(src + q) * 3 + 1], z = all.Delta[(src + q) * 3 + 2];
                        dist[q] = x * x + y * y + z * z;
                    }
                    Array.Sort(dist, order, 0, found);
                    for (int a = 0; a < found;)
                    {
                        int b = a + 1;
                        while (b < found && dist[b] == dist[a]) b++;
                        if (b - a > 1) Array.Sort(order, a, b - a);
                        a = b;
                    }
                }
                int keep = Math.Min(found, sel[t]);
                int dst = (i * nt + t) * maxNeighbors;
                for (int q = 0; q < keep; q++)
                {
                    int from = src + order[q];
                    neighbor[dst + q] = all.Neighbor[from];
                    delta[(dst + q) * 3] = all.Delta[from * 3];
                    delta[(dst + q) * 3 + 1] = all.Delta[from * 3 + 1];
                    delta[(dst + q) * 3 + 2] = all.Delta[from * 3 + 2];
                }
                // A reused block held more slots before: those beyond the new count become padding again.
                for (int q = keep, old = reuse ? counts[i * nt + t] : 0; q < old; q++)
                {
                    neighbor[dst + q] = -1;
                    delta[(dst + q) * 3] = 0; delta[(dst + q) * 3 + 1] = 0; delta[(dst + q) * 3 + 2] = 0;
                }
                counts[i * nt + t] = keep;
            }
        var list = new NeighborList(n, nt, maxNeighbors, all.AtomTypes, counts, neighbor, delta);
        if (scratch is not null) (scratch.Kept, scratch.KeptClean) = (list, true);
        return list;
    }
}
