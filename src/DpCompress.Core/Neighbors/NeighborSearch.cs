using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Neighbors;

/// <summary>
/// Builds the neighbour list of SPEC §2.3 for a periodic cell of any shape.
/// </summary>
/// <remarks>
/// <para>Neighbours of atom i are all periodic images r_j + m·H (H = cell, rows a, b, c; m an
/// integer vector; j may equal i, the centre's own images) with 1e-8 &lt; |dR|² &lt; Rmax²,
/// dR = r_j + m·H − r_i computed from the positions as given.</para>
/// <para>Image range. With d_a = |V|/|b×c| the distance between lattice planes (b, c), a
/// vector dR has fractional component |Δf_a| ≤ |dR|/d_a &lt; Rmax/d_a. This bound, unlike one
/// from lattice-vector lengths, holds for any skew, so short (&lt; 2·Rmax) and strongly
/// skewed cells are handled exactly.</para>
/// <para>Cell list. Positions are wrapped into [0, 1)³ (f = fw + k, k integer) and binned on a grid of
/// g_a = max(1, ⌊2·d_a/Rmax⌋) bins per axis (bin width w_a = d_a/g_a ≥ Rmax/2, or the whole cell when
/// d_a &lt; Rmax/2; at most 4·N bins in all), atoms of a bin in index order. For centre i every
/// neighbour image lies in the "virtual" bins ⌊(fw_a ∓ Rmax/d_a)·g_a⌋ … (this reach widened by 1e-9 against
/// rounding); a virtual bin index B maps to the real bin B mod g_a and the image shift s = ⌊B/g_a⌋, one to
/// one, so no pair is counted twice, and m = s − k_j + k_i. Ranges wider than the cell (small cells) visit
/// a real bin once per shift, down to a single atom seeing its own images. Along the last axis the
/// virtual bins of one shift are one contiguous run of sorted atoms, tested 4 at a time (AVX2, the
/// accepted lanes packed without branches) with the exact scalar expressions, so the bits do not depend
/// on the path. Cost O(N · atoms within ≈ (2·Rmax + w)³), plus writing the N·T·K slots.</para>
/// <para>Order without sorting. Virtual bins are visited in ascending order; atom j sits in one real
/// bin, so its images come in ascending shift, i.e. ascending m. The centre's neighbours are then
/// written in ascending j (a bit set over atoms), the images of one j in the order found.</para>
/// <para>Errors, centre by centre in index order: OverlappingAtoms (named pair: the first in the
/// visiting order of the grid n_a = max(1, ⌊d_a/Rmax⌋) of earlier versions, recomputed only then),
/// then TooManyNeighbors. The image-range limit (DegenerateCell, a cell too thin for Rmax) is still
/// counted on that grid: (2·s_a + 1) blocks per axis, s_a = ⌊Rmax/w_a⌋ + 1.</para>
/// </remarks>
public static class NeighborSearch
{
    /// <summary>Pairs with |dR|² at or below this (Å²) are not neighbours; two different atoms that close overlap.</summary>
    public const double MinDistanceSquared = 1e-8;

    private const long MaxVirtualBins = 2_000_000;

    /// <summary>Search bins per cutoff length along each axis (bin width ≈ Rmax / this).</summary>
    private const int BinsPerCutoff = 2;

    /// <summary>Builds the neighbour list of <paramref name="c"/> for a model.</summary>
    /// <param name="c">The configuration (any cell; positions need not be wrapped).</param>
    /// <param name="modelAtomTypes">[T] atomic number of each model type (the checkpoint's atom_type).</param>
    /// <param name="rmax">Cutoff Rmax (Å), Rc_M of the model.</param>
    /// <param name="maxNeighbors">K, slots per neighbour-type block (max_neigh_num).</param>
    /// <returns>Counts [N, T], Neighbor [N, T, K], Delta [N, T, K, 3]; real neighbours of a block ordered by (j, image m).</returns>
    public static NeighborList Build(Configuration c, int[] modelAtomTypes, double rmax, int maxNeighbors) =>
        Build(c, modelAtomTypes, rmax, maxNeighbors, null);

    /// <summary>
    /// Builds the neighbour list of <paramref name="c"/>, writing into the arrays of <paramref name="reuse"/>
    /// when it has the same N, T and K (a list from an earlier call, e.g. the previous MD step); otherwise
    /// into new arrays. The result is the same as without <paramref name="reuse"/>.
    /// </summary>
    /// <param name="c">The configuration (any cell; positions need not be wrapped).</param>
    /// <param name="modelAtomTypes">[T] atomic number of each model type (the checkpoint's atom_type).</param>
    /// <param name="rmax">Cutoff Rmax (Å), Rc_M of the model.</param>
    /// <param name="maxNeighbors">K, slots per neighbour-type block (max_neigh_num).</param>
    /// <param name="reuse">A list whose Counts, Neighbor and Delta arrays are overwritten (every element;
    /// partly when an error is thrown) and shared by the result; do not use it afterwards. May be null.</param>
    /// <returns>Counts [N, T], Neighbor [N, T, K], Delta [N, T, K, 3]; real neighbours of a block ordered by (j, image m).</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static NeighborList Build(Configuration c, int[] modelAtomTypes, double rmax, int maxNeighbors, NeighborList? reuse) =>
        Build(c, modelAtomTypes, rmax, maxNeighbors, reuse, false);

    /// <summary>
    /// <see cref="Build(Configuration, int[], double, int, NeighborList?)"/>; with <paramref name="reuseIsClean"/>
    /// the caller vouches that <paramref name="reuse"/> is unmodified output of a successful Build, so its
    /// padding slots beyond its counts already hold −1 and 0: only the real slots and the slots between
    /// the new and the old count of each block are written (a small fraction of the [N, T, K] arrays), which
    /// keeps the search from evicting the model's data from the caches (<see cref="NeighborListBuffer"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static NeighborList Build(Configuration c, int[] modelAtomTypes, double rmax, int maxNeighbors, NeighborList? reuse, bool reuseIsClean)
    {
        ArgumentNullException.ThrowIfNull(c);
        ArgumentNullException.ThrowIfNull(modelAtomTypes);
        if (!(rmax > 0) || !double.IsFinite(rmax))
            throw new DpCompressException("InvalidCutoff", ErrorKind.InvalidArgument, $"Rmax must be a positive finite number (got {F(rmax)}).");
        if (maxNeighbors < 1)
            throw new DpCompressException("InvalidMaxNeighbors", ErrorKind.InvalidArgument, $"The number of neighbour slots must be at least 1 (got {maxNeighbors}).");
        if (modelAtomTypes.Length == 0)
            throw new DpCompressException("InvalidModelTypes", ErrorKind.InvalidArgument, "The model has no atom types.");

        int n = c.AtomCount;
        int ntypes = modelAtomTypes.Length;
        int k = maxNeighbors;
        CheckListSize(c, n, ntypes, k);
        int[] atomTypes = MapTypes(c, modelAtomTypes);

        // Cell geometry: H rows a, b, c; reciprocal rows (b×c, c×a, a×b)/V give f = r·H⁻¹.
        double[] h = c.Cell;
        var recip = new double[9];
        Cross(h, 3, h, 6, recip, 0);
        Cross(h, 6, h, 0, recip, 3);
        Cross(h, 0, h, 3, recip, 6);
        double vol = h[0] * recip[0] + h[1] * recip[1] + h[2] * recip[2];
        double la = Norm(h, 0), lb = Norm(h, 3), lc = Norm(h, 6);
        // A cell of finite entries whose volume or lengths overflow (1e308 Å vectors) is not flat but too large to
        // compute with; it used to be called "degenerate (volume Infinity …)".
        if (Array.TrueForAll(h, double.IsFinite) && !(double.IsFinite(vol) && double.IsFinite(la * lb * lc)))
            throw new DpCompressException("DegenerateCell", ErrorKind.InvalidData,
                $"{Describe(c)}: the cell is too large to compute with: its volume overflows double precision (lattice vectors {F(h[0])} {F(h[1])} {F(h[2])}, " +
                $"{F(h[3])} {F(h[4])} {F(h[5])}, {F(h[6])} {F(h[7])} {F(h[8])} Å).", c.Source);
        if (!double.IsFinite(vol) || !(Math.Abs(vol) > 1e-9 * la * lb * lc) || Math.Abs(vol) < 1e-12)
            throw new DpCompressException("DegenerateCell", ErrorKind.InvalidData,
                $"{Describe(c)}: the cell is degenerate (volume {F(vol)} Å³ for lattice vector lengths {F(la)}, {F(lb)}, {F(lc)} Å).", c.Source);
        for (int q = 0; q < 9; q++) recip[q] /= vol;
        var plane = new double[3];
        for (int a = 0; a < 3; a++) plane[a] = 1.0 / Norm(recip, 3 * a); // d_a = |V| / |b×c|

        // Wrap into [0, 1)³: f = fw + kShift (kShift integer).
        double[] r = c.Positions;
        var fw = new double[3 * n];
        var kShift = new int[3 * n];
        for (int i = 0; i < n; i++)
        {
            for (int a = 0; a < 3; a++)
            {
                double f = r[3 * i] * recip[3 * a] + r[3 * i + 1] * recip[3 * a + 1] + r[3 * i + 2] * recip[3 * a + 2];
                if (!double.IsFinite(f) || Math.Abs(f) > 1e9)
                    throw new DpCompressException("ConfigurationCorrupt", ErrorKind.InvalidData,
                        $"{Describe(c)}: atom {i} has a non-finite or absurd position.", c.Source);
                double fl = Math.Floor(f);
                double w = f - fl;
                if (w >= 1.0) { w = 0.0; fl += 1.0; }
                fw[3 * i + a] = w;
                kShift[3 * i + a] = (int)fl;
            }
        }

        // Image-range limit, on the grid of n_a = max(1, ⌊d_a/Rmax⌋) bins per axis (see remarks).
        int[] nb = LegacyGrid(plane, rmax, n);
        var span = new int[3];
        long virtualBins = 1;
        for (int a = 0; a < 3; a++)
        {
            double width = plane[a] / nb[a];
            span[a] = (int)Math.Min(1_000_000, Math.Floor(rmax / width * (1 + 1e-12)) + 1);
            virtualBins *= 2L * span[a] + 1;
        }
        if (virtualBins > MaxVirtualBins)
            throw new DpCompressException("DegenerateCell", ErrorKind.InvalidData,
                $"{Describe(c)}: the cell is too thin for Rmax = {F(rmax)} Å (distances between lattice planes {F(plane[0])}, {F(plane[1])}, {F(plane[2])} Å would need {virtualBins} image blocks).", c.Source);

        var grid = new SearchGrid(r, fw, kShift, plane, rmax);

        // Every Neighbor slot is written by Search; Delta padding only when the array is reused (a new
        // one is zero already).
        int[] counts, neighbor;
        double[] delta;
        bool deltaZero;
        int[]? oldCounts = null;
        if (reuse is not null && reuse.AtomCount == n && reuse.TypeCount == ntypes && reuse.MaxNeighbors == k &&
            reuse.Counts.Length == n * ntypes && reuse.Neighbor.Length == n * ntypes * k && reuse.Delta.Length == 3 * reuse.Neighbor.Length &&
            !ReferenceEquals(reuse.Counts, reuse.Neighbor))
        {
            counts = reuse.Counts;
            if (reuseIsClean) oldCounts = (int[])counts.Clone();
            Array.Clear(counts);
            neighbor = reuse.Neighbor;
            delta = reuse.Delta;
            deltaZero = false;
        }
        else
        {
            counts = new int[n * ntypes];
            neighbor = AllocateUninitialized<int>(n * ntypes * k);
            delta = new double[n * ntypes * k * 3];
            deltaZero = true;
        }
        Search(c, modelAtomTypes, rmax, k, atomTypes, fw, kShift, nb, span, grid, counts, neighbor, delta, deltaZero, oldCounts);
        return new NeighborList(n, ntypes, k, atomTypes, counts, neighbor, delta);
    }

    /// <summary>
    /// Fills every slot of <paramref name="neighbor"/> and <paramref name="delta"/> (padding, then real
    /// neighbours; Delta padding is skipped when <paramref name="deltaZero"/>) and <paramref name="counts"/>
    /// (zero on entry), centre by centre, throwing the first centre's OverlappingAtoms or TooManyNeighbors.
    /// With <paramref name="oldCounts"/> (the counts of a clean reused list) the arrays hold padding beyond
    /// those counts already: only the real slots and the slots from the new to the old count are written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Search(Configuration c, int[] modelAtomTypes, double rmax, int k, int[] atomTypes,
        double[] fw, int[] kShift, int[] nb, int[] span, SearchGrid g, int[] counts, int[] neighbor, double[] delta, bool deltaZero, int[]? oldCounts)
    {
        int n = c.AtomCount, ntypes = modelAtomTypes.Length;
        double r2max = rmax * rmax;
        double[] h = c.Cell;
        // Neighbours of one centre in the order found (sorted index p, dR); then chained per atom j
        // (head/next) and marked in a bit set (with a bit set of its non-zero words) read in ascending j.
        var found = new Found(256);
        long gatherLimit = Math.Max(MaxGathered, (long)ntypes * k);
        var head = new int[n];
        var tail = new int[n];
        var bits = new ulong[(n + 63) >> 6];
        var summary = new ulong[(bits.Length + 63) >> 6];
        int[] sid = g.Atom;
        int block = ntypes * k;

        for (int i = 0; i < n; i++)
        {
            if (Sse.IsSupported && i + PrefetchAtoms < n) PrefetchBlocks(neighbor, delta, (i + PrefetchAtoms) * ntypes, ntypes, k);
            bool overlap = Gather(g, i, fw, kShift, h, r2max, found, gatherLimit, out bool truncated);
            if (overlap || truncated)
            {
                var e = FirstOverlap(c, i, fw, kShift, nb, span, r2max);
                if (e is not null) throw e;
            }
            if (truncated) throw Crowded(c, modelAtomTypes, rmax, k, atomTypes, i, found, sid);

            int nc = found.Count;
            int[] fp = found.P, next = found.Next;
            for (int e = 0; e < nc; e++)
            {
                int j = sid[fp[e]];
                next[e] = -1;
                ulong bit = 1UL << j, word = bits[j >> 6];
                if ((word & bit) == 0)
                {
                    bits[j >> 6] = word | bit;
                    summary[j >> 12] |= 1UL << (j >> 6);
                    head[j] = e;
                }
                else next[tail[j]] = e;
                tail[j] = e;
            }

            // Padding everywhere (not with oldCounts: there only the slots the new counts vacate are reset,
            // below), then the real slots (still in cache) in ascending j; the images of one j in the order
            // found, which is ascending m.
            if (oldCounts is null)
            {
                neighbor.AsSpan(i * block, block).Fill(-1);
                if (!deltaZero) delta.AsSpan(3 * i * block, 3 * block).Clear();
            }
            double[] fx = found.X, fy = found.Y, fz = found.Z;
            int rowBase = i * ntypes;
            for (int sw = 0; sw < summary.Length; sw++)
            {
                ulong sword = summary[sw];
                if (sword == 0) continue;
                summary[sw] = 0;
                while (sword != 0)
                {
                    int wi = (sw << 6) + BitOperations.TrailingZeroCount(sword);
                    sword &= sword - 1;
                    ulong word = bits[wi];
                    bits[wi] = 0;
                    while (word != 0)
                    {
                        int j = (wi << 6) + BitOperations.TrailingZeroCount(word);
                        word &= word - 1;
                        int q = rowBase + atomTypes[j];
                        for (int e = head[j]; e >= 0; e = next[e])
                        {
                            int slot = counts[q]++;
                            if (slot >= k) continue;
                            int sl = q * k + slot;
                            neighbor[sl] = j;
                            delta[3 * sl] = fx[e];
                            delta[3 * sl + 1] = fy[e];
                            delta[3 * sl + 2] = fz[e];
                        }
                    }
                }
            }

            if (oldCounts is not null)
                for (int t = 0; t < ntypes; t++)
                {
                    int q = rowBase + t, from = Math.Min(counts[q], k), to = Math.Min(oldCounts[q], k);
                    if (from >= to) continue;
                    neighbor.AsSpan(q * k + from, to - from).Fill(-1);
                    delta.AsSpan(3 * (q * k + from), 3 * (to - from)).Clear();
                }
            for (int t = 0; t < ntypes; t++)
            {
                int cnt = counts[rowBase + t];
                if (cnt > k)
                    throw TooMany(c, $"atom {i} ({Elements.Symbol(c.AtomicNumbers[i])}) has {cnt} neighbours of model type {t} ({Elements.Symbol(modelAtomTypes[t])})",
                        $" within Rmax = {F(rmax)} Å, more than the model's max_neigh_num = {k}. " +
                        "The model cannot describe this configuration (PWMLFF would silently drop neighbours).");
            }
        }
    }

    /// <summary>Centres between the one searched and the one whose blocks are fetched meanwhile (<see cref="PrefetchBlocks"/>).</summary>
    private const int PrefetchAtoms = 2;

    /// <summary>Cache lines fetched at the start of each Delta block: 6 lines hold the dR of 16 slots.</summary>
    private const int PrefetchDeltaLines = 6;

    /// <summary>
    /// Fetches the first line of each Neighbor block and the first <see cref="PrefetchDeltaLines"/> of each Delta
    /// block of one centre (blocks q0 … q0 + T − 1), where its real slots will be written. With K = 100 the
    /// [N, T, K] arrays of a large cell leave the caches (4,000 atoms, five types: 56 MB), and each centre's
    /// writes then waited on memory. Measured (NeighborListBuffer rebuilds of a slightly moved five-element cell,
    /// with and without, alternating in one process, first quartile): 500 atoms 0.92 → 0.74 ms, 4,000 atoms
    /// 8.76 → 7.00 ms (two centres ahead; one ahead 0.76 and 7.02 ms; 2, 4, 6 or 8 delta lines alike within 5 %).
    /// Between evaluations of an order-3 model (Measure-DpInference, old and new build alternating, two runs) the
    /// search went 1.39–1.53 → 1.29–1.34 ms (500 atoms) and 10.75–10.85 → 9.66–10.29 ms (4,000 atoms).
    /// </summary>
    private static unsafe void PrefetchBlocks(int[] neighbor, double[] delta, int q0, int ntypes, int k)
    {
        for (int t = 0; t < ntypes; t++)
        {
            long slot = (long)(q0 + t) * k;
            Sse.Prefetch0(Unsafe.AsPointer(ref neighbor[slot]));
            byte* d = (byte*)Unsafe.AsPointer(ref delta[3 * slot]);
            for (int l = 0; l < PrefetchDeltaLines; l++) Sse.Prefetch0(d + 64 * l);
        }
    }

    /// <summary>
    /// Neighbours of one centre in the order found: sorted atom index P, dR in X, Y, Z, chain links in
    /// Next; 4 spare entries for whole-vector stores.
    /// </summary>
    private sealed class Found(int capacity)
    {
        public int Count;
        public int[] P = new int[capacity + 4];
        public int[] Next = new int[capacity + 4];
        public double[] X = new double[capacity + 4], Y = new double[capacity + 4], Z = new double[capacity + 4];

        public void Reserve(int more)
        {
            if (Count + more + 4 <= P.Length) return;
            int cap = Math.Max(2 * P.Length, Count + more + 4);
            Array.Resize(ref P, cap);
            Array.Resize(ref Next, cap);
            Array.Resize(ref X, cap);
            Array.Resize(ref Y, cap);
            Array.Resize(ref Z, cap);
        }
    }

    /// <summary>
    /// The cell list: g_a bins per axis of width ≈ Rmax / <see cref="BinsPerCutoff"/>, atoms sorted by
    /// bin (index order inside a bin) with their positions (as given) and wrap shifts copied alongside,
    /// each array padded by 3 entries so that 4-wide loads never leave it.
    /// </summary>
    private sealed class SearchGrid
    {
        public readonly int G0, G1, G2;
        public readonly double Reach0, Reach1, Reach2;
        public readonly int[] BinStart;
        public readonly int[] Atom;
        public readonly int[] Position;
        public readonly double[] X, Y, Z;
        public readonly int[] K0, K1, K2;

        public SearchGrid(double[] r, double[] fw, int[] kShift, double[] plane, double rmax)
        {
            int n = r.Length / 3;
            int g0 = Bins(plane[0], rmax), g1 = Bins(plane[1], rmax), g2 = Bins(plane[2], rmax);
            long cap = Math.Max(64, 4L * n);
            while ((long)g0 * g1 * g2 > cap)
            {
                if (g0 >= g1 && g0 >= g2) g0 = Math.Max(1, g0 / 2);
                else if (g1 >= g2) g1 = Math.Max(1, g1 / 2);
                else g2 = Math.Max(1, g2 / 2);
            }
            G0 = g0; G1 = g1; G2 = g2;
            Reach0 = Reach(rmax, plane[0]); Reach1 = Reach(rmax, plane[1]); Reach2 = Reach(rmax, plane[2]);
            int nbins = g0 * g1 * g2;
            var binOf = new int[n];
            BinStart = new int[nbins + 1];
            for (int i = 0; i < n; i++)
            {
                int b0 = Math.Min(g0 - 1, (int)(fw[3 * i] * g0));
                int b1 = Math.Min(g1 - 1, (int)(fw[3 * i + 1] * g1));
                int b2 = Math.Min(g2 - 1, (int)(fw[3 * i + 2] * g2));
                binOf[i] = (b0 * g1 + b1) * g2 + b2;
                BinStart[binOf[i] + 1]++;
            }
            for (int b = 0; b < nbins; b++) BinStart[b + 1] += BinStart[b];
            Atom = new int[n];
            Position = new int[n];
            X = new double[n + 3]; Y = new double[n + 3]; Z = new double[n + 3];
            K0 = new int[n + 3]; K1 = new int[n + 3]; K2 = new int[n + 3];
            var fill = (int[])BinStart.Clone();
            for (int i = 0; i < n; i++)
            {
                int p = fill[binOf[i]]++;
                Atom[p] = i;
                Position[i] = p;
                X[p] = r[3 * i]; Y[p] = r[3 * i + 1]; Z[p] = r[3 * i + 2];
                K0[p] = kShift[3 * i]; K1[p] = kShift[3 * i + 1]; K2[p] = kShift[3 * i + 2];
            }
        }

        private static int Bins(double plane, double rmax) =>
            (int)Math.Max(1, Math.Min(1024, Math.Floor(plane * BinsPerCutoff / rmax)));

        /// <summary>Fractional reach Rmax/d_a of the cutoff along axis a, widened far beyond rounding.</summary>
        private static double Reach(double rmax, double plane) => rmax / plane * (1 + 1e-9) + 1e-9;
    }

    /// <summary>
    /// All (j, m) with |dR|² &lt; Rmax² around centre i into <paramref name="found"/>, in ascending virtual
    /// bin order, so the images of one atom j come in ascending m; true if one of them overlaps. Stops with
    /// <paramref name="truncated"/> once more than <paramref name="limit"/> are found (see <see cref="MaxGathered"/>).
    /// </summary>
    /// <remarks>
    /// dR and r² are the expressions of SPEC §2.3, (((x_j − x_i) + m0·a_x) + m1·b_x) + m2·c_x and
    /// ((dx² + dy²) + dz²), evaluated in the same order with or without SIMD (no fused multiply-add),
    /// so both paths give the same bits.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool Gather(SearchGrid g, int i, double[] fw, int[] kShift, double[] h, double r2max, Found found, long limit, out bool truncated)
    {
        int g0 = g.G0, g1 = g.G1, g2 = g.G2;
        int[] binStart = g.BinStart;
        double[] x = g.X, y = g.Y, z = g.Z;
        int[] k0 = g.K0, k1 = g.K1, k2 = g.K2;
        int self = g.Position[i];
        double xi = x[self], yi = y[self], zi = z[self];
        double h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7], h8 = h[8];
        int lo0 = (int)Math.Floor((fw[3 * i] - g.Reach0) * g0), hi0 = (int)Math.Floor((fw[3 * i] + g.Reach0) * g0);
        int lo1 = (int)Math.Floor((fw[3 * i + 1] - g.Reach1) * g1), hi1 = (int)Math.Floor((fw[3 * i + 1] + g.Reach1) * g1);
        int lo2 = (int)Math.Floor((fw[3 * i + 2] - g.Reach2) * g2), hi2 = (int)Math.Floor((fw[3 * i + 2] + g.Reach2) * g2);
        int s2lo = FloorDiv(lo2, g2), s2hi = FloorDiv(hi2, g2);
        int ki0 = kShift[3 * i], ki1 = kShift[3 * i + 1], ki2 = kShift[3 * i + 2];
        bool simd = Avx2.IsSupported;
        Vector256<double> vxi = Vector256.Create(xi), vyi = Vector256.Create(yi), vzi = Vector256.Create(zi);
        Vector256<double> vr2 = Vector256.Create(r2max), vmin = Vector256.Create(MinDistanceSquared);
        Vector256<double> vh0 = Vector256.Create(h0), vh1 = Vector256.Create(h1), vh2 = Vector256.Create(h2);
        Vector256<double> vh3 = Vector256.Create(h3), vh4 = Vector256.Create(h4), vh5 = Vector256.Create(h5);
        Vector256<double> vh6 = Vector256.Create(h6), vh7 = Vector256.Create(h7), vh8 = Vector256.Create(h8);
        Vector128<int> lanes = Vector128.Create(0, 1, 2, 3);
        found.Count = 0;
        int nc = 0;
        bool overlap = false;
        truncated = false;
        // Virtual bin v ↦ real bin v mod g, shift s = ⌊v/g⌋; image m = s − k_j + k_i (|k| ≤ 1e9 + 1 and
        // |s| ≤ 1e6: no overflow).
        int s0 = FloorDiv(lo0, g0), w0 = lo0 - s0 * g0;
        for (int v0 = lo0; v0 <= hi0; v0++)
        {
            int a0 = s0 + ki0;
            int s1 = FloorDiv(lo1, g1), w1 = lo1 - s1 * g1;
            for (int v1 = lo1; v1 <= hi1; v1++)
            {
                int a1 = s1 + ki1;
                int row = (w0 * g1 + w1) * g2;
                for (int s2 = s2lo; s2 <= s2hi; s2++)
                {
                    // Real bins first..last of the row are the virtual bins of shift s2: one run of atoms.
                    int first = Math.Max(lo2 - s2 * g2, 0), last = Math.Min(hi2 - s2 * g2, g2 - 1);
                    int p = binStart[row + first], pEnd = binStart[row + last + 1];
                    if (p >= pEnd) continue;
                    int a2 = s2 + ki2;
                    found.Reserve(pEnd - p);
                    int[] fp = found.P;
                    double[] fx = found.X, fy = found.Y, fz = found.Z;
                    if (simd)
                    {
                        // 4 atoms at a time; the arrays hold 3 entries past the last atom and lanes at or
                        // past pEnd are masked off. Accepted lanes are packed to the front and stored whole.
                        Vector128<int> va0 = Vector128.Create(a0), va1 = Vector128.Create(a1), va2 = Vector128.Create(a2);
                        for (; p < pEnd; p += 4)
                        {
                            Vector256<double> m0 = Avx.ConvertToVector256Double(Sse2.Subtract(va0, Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k0), (nuint)p)));
                            Vector256<double> m1 = Avx.ConvertToVector256Double(Sse2.Subtract(va1, Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k1), (nuint)p)));
                            Vector256<double> m2 = Avx.ConvertToVector256Double(Sse2.Subtract(va2, Vector128.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(k2), (nuint)p)));
                            Vector256<double> dx = Avx.Add(Avx.Add(Avx.Add(Avx.Subtract(Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(x), (nuint)p), vxi), Avx.Multiply(m0, vh0)), Avx.Multiply(m1, vh3)), Avx.Multiply(m2, vh6));
                            Vector256<double> dy = Avx.Add(Avx.Add(Avx.Add(Avx.Subtract(Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(y), (nuint)p), vyi), Avx.Multiply(m0, vh1)), Avx.Multiply(m1, vh4)), Avx.Multiply(m2, vh7));
                            Vector256<double> dz = Avx.Add(Avx.Add(Avx.Add(Avx.Subtract(Vector256.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(z), (nuint)p), vzi), Avx.Multiply(m0, vh2)), Avx.Multiply(m1, vh5)), Avx.Multiply(m2, vh8));
                            Vector256<double> r2 = Avx.Add(Avx.Add(Avx.Multiply(dx, dx), Avx.Multiply(dy, dy)), Avx.Multiply(dz, dz));
                            int mask = Avx.MoveMask(Avx.Compare(r2, vr2, FloatComparisonMode.OrderedLessThanNonSignaling));
                            if (pEnd - p < 4) mask &= (1 << (pEnd - p)) - 1;
                            if (mask == 0) continue;
                            if ((uint)(self - p) < 4u && a0 == k0[self] && a1 == k1[self] && a2 == k2[self])
                                mask &= ~(1 << (self - p)); // the centre itself
                            if ((Avx.MoveMask(Avx.Compare(r2, vmin, FloatComparisonMode.OrderedLessThanOrEqualNonSignaling)) & mask) != 0)
                                overlap = true;
                            Vector256<int> pack = PackDoubles[mask];
                            Avx.PermuteVar((Vector128.Create(p) + lanes).AsSingle(), PackInts[mask]).AsInt32()
                                .StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(fp), (nuint)nc);
                            Avx2.PermuteVar8x32(dx.AsSingle(), pack).AsDouble().StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(fx), (nuint)nc);
                            Avx2.PermuteVar8x32(dy.AsSingle(), pack).AsDouble().StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(fy), (nuint)nc);
                            Avx2.PermuteVar8x32(dz.AsSingle(), pack).AsDouble().StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(fz), (nuint)nc);
                            nc += BitOperations.PopCount((uint)mask);
                        }
                    }
                    else
                    {
                        for (; p < pEnd; p++)
                        {
                            int m0 = a0 - k0[p], m1 = a1 - k1[p], m2 = a2 - k2[p];
                            double dx = x[p] - xi + m0 * h0 + m1 * h3 + m2 * h6;
                            double dy = y[p] - yi + m0 * h1 + m1 * h4 + m2 * h7;
                            double dz = z[p] - zi + m0 * h2 + m1 * h5 + m2 * h8;
                            double r2 = dx * dx + dy * dy + dz * dz;
                            if (!(r2 < r2max)) continue;
                            if (p == self && m0 == 0 && m1 == 0 && m2 == 0) continue;
                            if (r2 <= MinDistanceSquared) overlap = true;
                            fp[nc] = p;
                            fx[nc] = dx;
                            fy[nc] = dy;
                            fz[nc] = dz;
                            nc++;
                        }
                    }
                    found.Count = nc;
                    if (nc > limit)
                    {
                        truncated = true; // some type has more than K: stop before the buffers grow with the images of a tiny cell
                        return overlap;
                    }
                }
                if (++w1 == g1) { w1 = 0; s1++; }
            }
            if (++w0 == g0) { w0 = 0; s0++; }
        }
        return overlap;
    }

    /// <summary>
    /// Most neighbours (of all types) one centre's gather keeps when T·K is smaller: beyond T·K some type is
    /// over K and the centre is TooManyNeighbors anyway. Before this bound a 4 KB XYZ file of 100 atoms in a
    /// 0.1 Å cube gathered 90 million images of the first centre: 32 s and 7.1 GB before the error (300 atoms
    /// would have needed 21 GB). 2^20 keeps 32 MB and the exact count of every smaller case.
    /// </summary>
    private const long MaxGathered = 1 << 20;

    /// <summary>TooManyNeighbors for centre i whose gather stopped at the limit, naming the type with most neighbours found so far.</summary>
    private static DpCompressException Crowded(Configuration c, int[] modelAtomTypes, double rmax, int k, int[] atomTypes, int i, Found found, int[] sid)
    {
        var perType = new long[modelAtomTypes.Length];
        for (int e = 0; e < found.Count; e++) perType[atomTypes[sid[found.P[e]]]]++;
        int t = Array.IndexOf(perType, perType.Max());
        return TooMany(c, $"atom {i} ({Elements.Symbol(c.AtomicNumbers[i])}) has more than {perType[t]} neighbours of model type {t} ({Elements.Symbol(modelAtomTypes[t])})",
            $" within Rmax = {F(rmax)} Å, more than the model's max_neigh_num = {k} " +
            $"(the search stopped counting at {found.Count} neighbours of all types). The model cannot describe this configuration.");
    }

    /// <summary>Key of <see cref="Exception.Data"/> under which a TooManyNeighbors error names the crowded atom and its count.</summary>
    internal const string CrowdedKey = "Crowded";

    /// <summary>TooManyNeighbors (LimitsExceeded): "&lt;configuration&gt;: &lt;crowded&gt;&lt;rest&gt;", with <paramref name="crowded"/> also under <see cref="CrowdedKey"/> for callers that explain the limit their own way.</summary>
    private static DpCompressException TooMany(Configuration c, string crowded, string rest)
    {
        var e = new DpCompressException("TooManyNeighbors", ErrorKind.LimitsExceeded, $"{Describe(c)}: {crowded}{rest}", c.Source);
        e.Data[CrowdedKey] = crowded;
        return e;
    }

    /// <summary>For a 4-bit lane mask: vpermps indices that move the selected doubles (float pairs) to the front.</summary>
    private static readonly Vector256<int>[] PackDoubles = MakePack(true);

    /// <summary>For a 4-bit lane mask: vpermilps indices that move the selected ints to the front.</summary>
    private static readonly Vector128<int>[] PackInts = MakePack(false).Select(v => v.GetLower()).ToArray();

    private static Vector256<int>[] MakePack(bool doubles)
    {
        var table = new Vector256<int>[16];
        for (int mask = 0; mask < 16; mask++)
        {
            var idx = new int[8];
            int d = 0;
            for (int lane = 0; lane < 4; lane++)
            {
                if ((mask & (1 << lane)) == 0) continue;
                if (doubles) { idx[2 * d] = 2 * lane; idx[2 * d + 1] = 2 * lane + 1; }
                else idx[d] = lane;
                d++;
            }
            table[mask] = Vector256.Create(idx);
        }
        return table;
    }

    /// <summary>Bytes one slot of the list takes: the neighbour index and dR.</summary>
    private const int SlotBytes = sizeof(int) + 3 * sizeof(double);

    /// <summary>
    /// Refuses a list of N·T·K slots that no array can hold or that would take more than half the memory
    /// available to the process (NeighborListTooLarge, LimitsExceeded), before anything is allocated. The slot
    /// count used to be an int product: 24 atoms with K = 5e7 ended in a raw OverflowException, with K = 1e8 the
    /// product wrapped to a smaller array and an IndexOutOfRangeException; 10 million atoms (a 33 MB PWdata
    /// position.npy of uint8) asked for 56 GB.
    /// </summary>
    private static void CheckListSize(Configuration c, int n, int ntypes, int k)
    {
        long slots = (long)n * ntypes * k;
        double bytes = (double)slots * SlotBytes;
        bool tooLong = 3 * slots > Array.MaxLength;
        if (!tooLong && bytes < 64.0 * (1 << 20)) return;   // the usual list: no query of the GC (2-4 µs) on every rebuild
        long available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        if (tooLong || (available > 0 && bytes > available / 2))
            throw new DpCompressException("NeighborListTooLarge", ErrorKind.LimitsExceeded,
                $"{Describe(c)}: the neighbour list of {n} atoms × {ntypes} model types × {k} slots (max_neigh_num) would take {bytes / (1 << 30):F1} GiB, " +
                (tooLong ? "more than one array can hold." : $"more than half of the {available / (double)(1 << 30):F1} GiB available."), c.Source);
    }

    /// <summary>Model type index of every atom; throws UnknownElement for an element the model lacks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static int[] MapTypes(Configuration c, int[] modelAtomTypes)
    {
        var map = new Dictionary<int, int>();
        for (int t = 0; t < modelAtomTypes.Length; t++) map.TryAdd(modelAtomTypes[t], t);
        var types = new int[c.AtomCount];
        for (int i = 0; i < types.Length; i++)
        {
            int z = c.AtomicNumbers[i];
            if (!map.TryGetValue(z, out types[i]))
            {
                string known = string.Join(", ", modelAtomTypes.Select(t => $"{Elements.Symbol(t)} (Z = {t})"));
                throw new DpCompressException("UnknownElement", ErrorKind.InvalidData,
                    $"{Describe(c)}: atom {i} is {Elements.Symbol(z)} (Z = {z}), which the model does not know; the model's elements are {known}.", c.Source);
            }
        }
        return types;
    }

    /// <summary>Bins per axis of the grid that bounds the image range: max(1, ⌊d_a/Rmax⌋), at most 4·N bins in all.</summary>
    private static int[] LegacyGrid(double[] plane, double rmax, int n)
    {
        var nb = new int[3];
        for (int a = 0; a < 3; a++) nb[a] = (int)Math.Max(1, Math.Min(1024, Math.Floor(plane[a] / rmax)));
        long binCap = Math.Max(64, 4L * n);
        while ((long)nb[0] * nb[1] * nb[2] > binCap)
        {
            int big = nb[0] >= nb[1] && nb[0] >= nb[2] ? 0 : nb[1] >= nb[2] ? 1 : 2;
            nb[big] = Math.Max(1, nb[big] / 2);
        }
        return nb;
    }

    private static T[] AllocateUninitialized<T>(int length) where T : unmanaged =>
        length < 0 ? new T[length] : GC.AllocateUninitializedArray<T>(length);

    /// <summary>
    /// The OverlappingAtoms error a search over centres reports for centre i: the first overlapping
    /// pair in the visiting order of the cell list on the <see cref="LegacyGrid"/> (virtual bins in
    /// ascending order, atoms of a bin in index order); null if that search finds none.
    /// </summary>
    private static DpCompressException? FirstOverlap(Configuration c, int i, double[] fw, int[] kShift, int[] nb, int[] span, double r2max)
    {
        int n = c.AtomCount;
        double[] r = c.Positions, h = c.Cell;
        int nbins = nb[0] * nb[1] * nb[2];
        var binOf = new int[n];
        var binStart = new int[nbins + 1];
        for (int a = 0; a < n; a++)
        {
            int b0 = Math.Min(nb[0] - 1, (int)(fw[3 * a] * nb[0]));
            int b1 = Math.Min(nb[1] - 1, (int)(fw[3 * a + 1] * nb[1]));
            int b2 = Math.Min(nb[2] - 1, (int)(fw[3 * a + 2] * nb[2]));
            binOf[a] = (b0 * nb[1] + b1) * nb[2] + b2;
            binStart[binOf[a] + 1]++;
        }
        for (int b = 0; b < nbins; b++) binStart[b + 1] += binStart[b];
        var binAtoms = new int[n];
        var fill = (int[])binStart.Clone();
        for (int a = 0; a < n; a++) binAtoms[fill[binOf[a]]++] = a;
        int bi = binOf[i];
        int bi0 = bi / (nb[1] * nb[2]), bi1 = bi / nb[2] % nb[1], bi2 = bi % nb[2];
        for (int d0 = -span[0]; d0 <= span[0]; d0++)
        {
            int v0 = bi0 + d0, w0 = FloorMod(v0, nb[0]), n0 = FloorDiv(v0, nb[0]);
            for (int d1 = -span[1]; d1 <= span[1]; d1++)
            {
                int v1 = bi1 + d1, w1 = FloorMod(v1, nb[1]), n1 = FloorDiv(v1, nb[1]);
                for (int d2 = -span[2]; d2 <= span[2]; d2++)
                {
                    int v2 = bi2 + d2, w2 = FloorMod(v2, nb[2]), n2 = FloorDiv(v2, nb[2]);
                    int bin = (w0 * nb[1] + w1) * nb[2] + w2;
                    for (int p = binStart[bin]; p < binStart[bin + 1]; p++)
                    {
                        int j = binAtoms[p];
                        int m0 = n0 - kShift[3 * j] + kShift[3 * i];
                        int m1 = n1 - kShift[3 * j + 1] + kShift[3 * i + 1];
                        int m2 = n2 - kShift[3 * j + 2] + kShift[3 * i + 2];
                        if (j == i && m0 == 0 && m1 == 0 && m2 == 0) continue;
                        double dx = r[3 * j] - r[3 * i] + m0 * h[0] + m1 * h[3] + m2 * h[6];
                        double dy = r[3 * j + 1] - r[3 * i + 1] + m0 * h[1] + m1 * h[4] + m2 * h[7];
                        double dz = r[3 * j + 2] - r[3 * i + 2] + m0 * h[2] + m1 * h[5] + m2 * h[8];
                        double r2 = dx * dx + dy * dy + dz * dz;
                        if (!(r2 < r2max)) continue;
                        if (r2 <= MinDistanceSquared)
                            return new DpCompressException("OverlappingAtoms", ErrorKind.InvalidData,
                                $"{Describe(c)}: atom {i} ({Elements.Symbol(c.AtomicNumbers[i])}) and " +
                                (j == i ? $"its own periodic image ({m0}, {m1}, {m2})" : $"atom {j} ({Elements.Symbol(c.AtomicNumbers[j])}) image ({m0}, {m1}, {m2})") +
                                $" overlap (|dR|² = {F(r2)} Å² ≤ 1e-8).", c.Source);
                    }
                }
            }
        }
        return null;
    }

    private static string Describe(Configuration c) =>
        c.Source is null ? c.ToString() : $"{c} from '{c.Source}'";

    private static string F(double v) => v.ToString("G6", CultureInfo.InvariantCulture);

    private static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int FloorMod(int a, int b)
    {
        int m = a % b;
        return m < 0 ? m + b : m;
    }

    private static double Norm(double[] v, int o) => Math.Sqrt(v[o] * v[o] + v[o + 1] * v[o + 1] + v[o + 2] * v[o + 2]);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Cross(double[] u, int uo, double[] v, int vo, double[] w, int wo)
    {
        w[wo] = u[uo + 1] * v[vo + 2] - u[uo + 2] * v[vo + 1];
        w[wo + 1] = u[uo + 2] * v[vo] - u[uo] * v[vo + 2];
        w[wo + 2] = u[uo] * v[vo + 1] - u[uo + 1] * v[vo];
    }
}
