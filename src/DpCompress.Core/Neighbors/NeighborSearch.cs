using System.Runtime.CompilerServices;
using System.Globalization;
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
/// <para>Cell list. Positions are wrapped into [0, 1)³ and binned on a grid of n_a =
/// max(1, ⌊d_a/Rmax⌋) bins per axis (bin width w_a = d_a/n_a ≥ Rmax, or the whole cell when
/// d_a &lt; Rmax). A neighbour lies within s_a = ⌊Rmax/w_a⌋ + 1 "virtual" bins of the centre's
/// bin; a virtual bin index B maps to the real bin B mod n_a and the image shift ⌊B/n_a⌋, one to
/// one, so no pair is counted twice. Cost O(N · atoms per 27 bins) for large cells; small
/// cells degenerate into the direct loop over all atoms and all needed images.</para>
/// </remarks>
public static class NeighborSearch
{
    /// <summary>Pairs with |dR|² at or below this (Å²) are not neighbours; two different atoms that close overlap.</summary>
    public const double MinDistanceSquared = 1e-8;

    private const long MaxVirtualBins = 2_000_000;

    /// <summary>Builds the neighbour list of <paramref name="c"/> for a model.</summary>
    /// <param name="c">The configuration (any cell; positions need not be wrapped).</param>
    /// <param name="modelAtomTypes">[T] atomic number of each model type (the checkpoint's atom_type).</param>
    /// <param name="rmax">Cutoff Rmax (Å), Rc_M of the model.</param>
    /// <param name="maxNeighbors">K, slots per neighbour-type block (max_neigh_num).</param>
    /// <returns>Counts [N, T], Neighbor [N, T, K], Delta [N, T, K, 3]; real neighbours of a block ordered by (j, image m).</returns>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static NeighborList Build(Configuration c, int[] modelAtomTypes, double rmax, int maxNeighbors)
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
        int[] atomTypes = MapTypes(c, modelAtomTypes);

        // Cell geometry: H rows a, b, c; reciprocal rows (b×c, c×a, a×b)/V give f = r·H⁻¹.
        double[] h = c.Cell;
        var recip = new double[9];
        Cross(h, 3, h, 6, recip, 0);
        Cross(h, 6, h, 0, recip, 3);
        Cross(h, 0, h, 3, recip, 6);
        double vol = h[0] * recip[0] + h[1] * recip[1] + h[2] * recip[2];
        double la = Norm(h, 0), lb = Norm(h, 3), lc = Norm(h, 6);
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

        // Bins and search ranges.
        var nb = new int[3];
        for (int a = 0; a < 3; a++) nb[a] = (int)Math.Max(1, Math.Min(1024, Math.Floor(plane[a] / rmax)));
        long binCap = Math.Max(64, 4L * n);
        while ((long)nb[0] * nb[1] * nb[2] > binCap)
        {
            int big = nb[0] >= nb[1] && nb[0] >= nb[2] ? 0 : nb[1] >= nb[2] ? 1 : 2;
            nb[big] = Math.Max(1, nb[big] / 2);
        }
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

        int nbins = nb[0] * nb[1] * nb[2];
        var binOf = new int[n];
        var binStart = new int[nbins + 1];
        for (int i = 0; i < n; i++)
        {
            int b0 = Math.Min(nb[0] - 1, (int)(fw[3 * i] * nb[0]));
            int b1 = Math.Min(nb[1] - 1, (int)(fw[3 * i + 1] * nb[1]));
            int b2 = Math.Min(nb[2] - 1, (int)(fw[3 * i + 2] * nb[2]));
            binOf[i] = (b0 * nb[1] + b1) * nb[2] + b2;
            binStart[binOf[i] + 1]++;
        }
        for (int b = 0; b < nbins; b++) binStart[b + 1] += binStart[b];
        var binAtoms = new int[n];
        var fill = (int[])binStart.Clone();
        for (int i = 0; i < n; i++) binAtoms[fill[binOf[i]]++] = i;

        var counts = new int[n * ntypes];
        var neighbor = new int[n * ntypes * k];
        Array.Fill(neighbor, -1);
        var delta = new double[n * ntypes * k * 3];
        double r2max = rmax * rmax;
        var cand = new List<Candidate>(256);

        for (int i = 0; i < n; i++)
        {
            cand.Clear();
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
                            // Image in the frame of the given (unwrapped) positions, f = fw + k:
                            // fw_j + n − fw_i = f_j + m − f_i  ⇒  m = n − k_j + k_i.
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
                                throw new DpCompressException("OverlappingAtoms", ErrorKind.InvalidData,
                                    $"{Describe(c)}: atom {i} ({Elements.Symbol(c.AtomicNumbers[i])}) and " +
                                    (j == i ? $"its own periodic image ({m0}, {m1}, {m2})" : $"atom {j} ({Elements.Symbol(c.AtomicNumbers[j])}) image ({m0}, {m1}, {m2})") +
                                    $" overlap (|dR|² = {F(r2)} Å² ≤ 1e-8).", c.Source);
                            cand.Add(new Candidate(j, m0, m1, m2, dx, dy, dz));
                        }
                    }
                }
            }
            cand.Sort(CandidateOrder.Instance);

            int rowBase = i * ntypes;
            foreach (var cd in cand)
            {
                int t = atomTypes[cd.J];
                int slot = counts[rowBase + t]++;
                if (slot >= k) continue;
                int s = (rowBase + t) * k + slot;
                neighbor[s] = cd.J;
                delta[3 * s] = cd.Dx;
                delta[3 * s + 1] = cd.Dy;
                delta[3 * s + 2] = cd.Dz;
            }
            for (int t = 0; t < ntypes; t++)
            {
                int cnt = counts[rowBase + t];
                if (cnt > k)
                    throw new DpCompressException("TooManyNeighbors", ErrorKind.InvalidData,
                        $"{Describe(c)}: atom {i} ({Elements.Symbol(c.AtomicNumbers[i])}) has {cnt} neighbours of model type {t} " +
                        $"({Elements.Symbol(modelAtomTypes[t])}) within Rmax = {F(rmax)} Å, more than the model's max_neigh_num = {k}. " +
                        "The model cannot describe this configuration (PWMLFF would silently drop neighbours).", c.Source);
            }
        }
        return new NeighborList(n, ntypes, k, atomTypes, counts, neighbor, delta);
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

    private readonly record struct Candidate(int J, int M0, int M1, int M2, double Dx, double Dy, double Dz);

    /// <summary>Order inside a block: neighbour atom index j, then image m lexicographically.</summary>
    private sealed class CandidateOrder : IComparer<Candidate>
    {
        public static readonly CandidateOrder Instance = new();

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Compare(Candidate x, Candidate y)
        {
            int d = x.J.CompareTo(y.J);
            if (d != 0) return d;
            d = x.M0.CompareTo(y.M0);
            if (d != 0) return d;
            d = x.M1.CompareTo(y.M1);
            return d != 0 ? d : x.M2.CompareTo(y.M2);
        }
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
