using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DpCompress.Core.Compression;

namespace DpCompress.Core.Inference.Fast;

/// <summary>Where an s value fell on the table grid (flags).</summary>
[Flags]
internal enum TableZone
{
    /// <summary>s ≤ SMax and inside the table.</summary>
    Inside = 0,
    /// <summary>s &gt; SMax: above the training maximum.</summary>
    BeyondTraining = 1,
    /// <summary>s ≥ OuterEnd: C1 linear continuation of the last row.</summary>
    OutOfTable = 2,
}

/// <summary>
/// Evaluation of a compression table (SPEC §3): row by index arithmetic — inner
/// k = floor((s − s_min)/dx) for s &lt; x_L, outer L + floor((s − x_L)/(10·dx)) — local
/// x = s − x_row (float64, node from its index), Horner for g and g′ = dg/ds. From the last
/// outer node on, the table continues linearly with the end value and slope (C1).
/// Coefficients [nets, rows, m, order+1], descending powers (a, b, c, d for order 3).
/// </summary>
/// <remarks>
/// The fused kernels (<see cref="Accumulate"/>, <see cref="Contract"/>) never materialise G:
/// for order 3 with AVX they load four outputs' (a, b, c, d) as four vectors, transpose them
/// in registers and evaluate four outputs per instruction (DeePMD-kit's tabulate_fusion idea).
/// </remarks>
internal sealed class TableKernel
{
    private readonly double[] _coef;
    private readonly double[] _nodes;
    private readonly int _rows, _width, _order, _stride, _inner;
    private readonly double _sMin, _dx, _xL, _outerStep, _outerEnd, _sMax, _endLocal;
    private readonly bool _fusedOrder3;
    private readonly int _mp;               // m rounded up to a multiple of 4
    private readonly double[] _soa = [];     // order 3: [nets, rows, 4 (a, b, c, d), mp], zero-padded outputs

    public TableKernel(CompressionTable table)
    {
        var grid = table.Grid;
        _coef = table.Coefficients;
        _rows = grid.Rows;
        _width = table.Width;
        _order = table.Order;
        _stride = _order + 1;
        _inner = grid.InnerIntervals;
        _sMin = grid.SMin;
        _dx = grid.Dx;
        _xL = grid.InnerEnd;
        _outerStep = grid.OuterStep;
        _outerEnd = grid.OuterEnd;
        _sMax = grid.SMax;
        _nodes = new double[_rows + 1];
        for (int k = 0; k <= _rows; k++) _nodes[k] = grid.Node(k);
        _endLocal = _outerEnd - _nodes[_rows - 1];
        NetCount = table.NetCount;
        _fusedOrder3 = _order == 3 && Avx.IsSupported;
        _mp = (_width + 3) & ~3;
        if (_fusedOrder3)
        {
            // Structure-of-arrays rows: the four coefficients of four outputs load as four vectors.
            _soa = new double[(long)NetCount * _rows * 4 * _mp];
            for (int net = 0; net < NetCount; net++)
                for (int row = 0; row < _rows; row++)
                {
                    int src = RowOffset(net, row), dst = (net * _rows + row) * 4 * _mp;
                    for (int q = 0; q < _width; q++)
                        for (int c = 0; c < 4; c++)
                            _soa[dst + c * _mp + q] = _coef[src + q * 4 + c];
                }
        }
    }

    /// <summary>True when the per-atom kernels (<see cref="Locate(int, double, out int, out double, out double)"/>, <see cref="AccumulateAtom"/>, <see cref="ContractAtom"/>) apply (order 3 with AVX).</summary>
    public bool AtomKernels => _fusedOrder3;

    /// <summary>m rounded up to a multiple of 4 (row stride of the padded accumulators).</summary>
    public int PaddedWidth => _mp;

    /// <summary>Locates s for the per-atom kernels: offset of the row in the SoA table, local x and the distance beyond the table.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="offset">Receives the SoA row offset.</param>
    /// <param name="x">Receives s − x_row.</param>
    /// <param name="extra">Receives the distance beyond the last node (0 inside).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TableZone Locate(int net, double s, out int offset, out double x, out double extra)
    {
        var zone = Locate(s, out int row, out x, out extra);
        offset = (net * _rows + row) * 4 * _mp;
        return zone;
    }

    /// <summary>
    /// A[a, μ] = Σ_slots R_a·G_μ(s) over the n located slots of one atom (order 3), with the
    /// accumulators of 8 outputs held in registers while the slots stream through.
    /// </summary>
    /// <param name="offsets">[n] SoA row offsets from <see cref="Locate(int, double, out int, out double, out double)"/>.</param>
    /// <param name="xs">[n] local x.</param>
    /// <param name="extras">[n] distance beyond the table (0 inside).</param>
    /// <param name="r">[n, 4] R of the slots.</param>
    /// <param name="anyExtra">True when some extra is non-zero.</param>
    /// <param name="a">[4, mp] receives A (padding lanes 0).</param>
    public void AccumulateAtom(ReadOnlySpan<int> offsets, ReadOnlySpan<double> xs, ReadOnlySpan<double> extras, ReadOnlySpan<double> r, bool anyExtra, Span<double> a)
    {
        int n = offsets.Length, mp = _mp;
        if (xs.Length < n || extras.Length < n || r.Length < 4 * n || a.Length < 4 * mp) throw new ArgumentException("AccumulateAtom operand too short.");
        ref double cr = ref MemoryMarshal.GetArrayDataReference(_soa);
        ref int or = ref MemoryMarshal.GetReference(offsets);
        ref double xr = ref MemoryMarshal.GetReference(xs);
        ref double er = ref MemoryMarshal.GetReference(extras);
        ref double rr = ref MemoryMarshal.GetReference(r);
        ref double ar = ref MemoryMarshal.GetReference(a);
        var three = Vector256.Create(3.0); var two = Vector256.Create(2.0);
        int q = 0;
        for (; q + 8 <= mp; q += 8)
        {
            Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector256<double> b0 = default, b1 = default, b2 = default, b3 = default;
            for (int s = 0; s < n; s++)
            {
                ref double c0 = ref Unsafe.Add(ref cr, Unsafe.Add(ref or, s) + q);
                var xv = Vector256.Create(Unsafe.Add(ref xr, s));
                var ca = Vector256.LoadUnsafe(ref c0); var cb = Vector256.LoadUnsafe(ref c0, (nuint)mp);
                var cc = Vector256.LoadUnsafe(ref c0, (nuint)(2 * mp)); var cd = Vector256.LoadUnsafe(ref c0, (nuint)(3 * mp));
                var da = Vector256.LoadUnsafe(ref c0, 4); var db = Vector256.LoadUnsafe(ref c0, (nuint)(mp + 4));
                var dc = Vector256.LoadUnsafe(ref c0, (nuint)(2 * mp + 4)); var dd = Vector256.LoadUnsafe(ref c0, (nuint)(3 * mp + 4));
                var g = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(ca, xv, cb), xv, cc), xv, cd);
                var h = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(da, xv, db), xv, dc), xv, dd);
                if (anyExtra)
                {
                    var ev = Vector256.Create(Unsafe.Add(ref er, s));
                    g = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(three * ca, xv, two * cb), xv, cc), ev, g);
                    h = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(three * da, xv, two * db), xv, dc), ev, h);
                }
                ref double rs = ref Unsafe.Add(ref rr, 4 * s);
                var r0 = Vector256.Create(rs); var r1 = Vector256.Create(Unsafe.Add(ref rs, 1));
                var r2 = Vector256.Create(Unsafe.Add(ref rs, 2)); var r3 = Vector256.Create(Unsafe.Add(ref rs, 3));
                a0 = Vector256.FusedMultiplyAdd(r0, g, a0); b0 = Vector256.FusedMultiplyAdd(r0, h, b0);
                a1 = Vector256.FusedMultiplyAdd(r1, g, a1); b1 = Vector256.FusedMultiplyAdd(r1, h, b1);
                a2 = Vector256.FusedMultiplyAdd(r2, g, a2); b2 = Vector256.FusedMultiplyAdd(r2, h, b2);
                a3 = Vector256.FusedMultiplyAdd(r3, g, a3); b3 = Vector256.FusedMultiplyAdd(r3, h, b3);
            }
            ref double o = ref Unsafe.Add(ref ar, q);
            a0.StoreUnsafe(ref o); b0.StoreUnsafe(ref o, 4);
            a1.StoreUnsafe(ref o, (nuint)mp); b1.StoreUnsafe(ref o, (nuint)(mp + 4));
            a2.StoreUnsafe(ref o, (nuint)(2 * mp)); b2.StoreUnsafe(ref o, (nuint)(2 * mp + 4));
            a3.StoreUnsafe(ref o, (nuint)(3 * mp)); b3.StoreUnsafe(ref o, (nuint)(3 * mp + 4));
        }
        for (; q < mp; q += 4)
        {
            Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
            for (int s = 0; s < n; s++)
            {
                ref double c0 = ref Unsafe.Add(ref cr, Unsafe.Add(ref or, s) + q);
                var xv = Vector256.Create(Unsafe.Add(ref xr, s));
                var ca = Vector256.LoadUnsafe(ref c0); var cb = Vector256.LoadUnsafe(ref c0, (nuint)mp);
                var cc = Vector256.LoadUnsafe(ref c0, (nuint)(2 * mp)); var cd = Vector256.LoadUnsafe(ref c0, (nuint)(3 * mp));
                var g = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(ca, xv, cb), xv, cc), xv, cd);
                if (anyExtra)
                {
                    var ev = Vector256.Create(Unsafe.Add(ref er, s));
                    g = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(three * ca, xv, two * cb), xv, cc), ev, g);
                }
                ref double rs = ref Unsafe.Add(ref rr, 4 * s);
                a0 = Vector256.FusedMultiplyAdd(Vector256.Create(rs), g, a0);
                a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref rs, 1)), g, a1);
                a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref rs, 2)), g, a2);
                a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref rs, 3)), g, a3);
            }
            ref double o = ref Unsafe.Add(ref ar, q);
            a0.StoreUnsafe(ref o); a1.StoreUnsafe(ref o, (nuint)mp); a2.StoreUnsafe(ref o, (nuint)(2 * mp)); a3.StoreUnsafe(ref o, (nuint)(3 * mp));
        }
    }

    /// <summary>
    /// Backward of <see cref="AccumulateAtom"/> for the n located slots of one atom (order 3):
    /// u_a = Σ_μ dA[a, μ]·G_μ(s), v_a = Σ_μ dA[a, μ]·G′_μ(s).
    /// </summary>
    /// <param name="offsets">[n] SoA row offsets.</param>
    /// <param name="xs">[n] local x.</param>
    /// <param name="extras">[n] distance beyond the table (0 inside).</param>
    /// <param name="da">[4, mp] dE/dA with zero padding lanes.</param>
    /// <param name="uv">[n, 8] receives u_0..u_3, v_0..v_3 per slot.</param>
    public void ContractAtom(ReadOnlySpan<int> offsets, ReadOnlySpan<double> xs, ReadOnlySpan<double> extras, ReadOnlySpan<double> da, Span<double> uv)
    {
        int n = offsets.Length, mp = _mp;
        if (xs.Length < n || extras.Length < n || da.Length < 4 * mp || uv.Length < 8 * n) throw new ArgumentException("ContractAtom operand too short.");
        ref double cr = ref MemoryMarshal.GetArrayDataReference(_soa);
        ref int or = ref MemoryMarshal.GetReference(offsets);
        ref double xr = ref MemoryMarshal.GetReference(xs);
        ref double er = ref MemoryMarshal.GetReference(extras);
        ref double dr = ref MemoryMarshal.GetReference(da);
        ref double ur = ref MemoryMarshal.GetReference(uv);
        for (int s = 0; s < n; s++)
        {
            ref double c0 = ref Unsafe.Add(ref cr, Unsafe.Add(ref or, s));
            double x = Unsafe.Add(ref xr, s);
            var xv = Vector256.Create(x);
            var x3 = Vector256.Create(3 * x);
            var ev = Vector256.Create(Unsafe.Add(ref er, s));
            Vector256<double> u0 = default, u1 = default, u2 = default, u3 = default, w0 = default, w1 = default, w2 = default, w3 = default;
            for (int q = 0; q < mp; q += 4)
            {
                ref double cq = ref Unsafe.Add(ref c0, q);
                var ca = Vector256.LoadUnsafe(ref cq); var cb = Vector256.LoadUnsafe(ref cq, (nuint)mp);
                var cc = Vector256.LoadUnsafe(ref cq, (nuint)(2 * mp)); var cd = Vector256.LoadUnsafe(ref cq, (nuint)(3 * mp));
                // g = ((a x + b) x + c) x + d + g'·extra, g' = (3a x + 2b) x + c
                var gv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(ca, xv, cb), xv, cc), xv, cd);
                var dv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(ca, x3, cb + cb), xv, cc);
                gv = Vector256.FusedMultiplyAdd(dv, ev, gv);
                ref double d0 = ref Unsafe.Add(ref dr, q);
                var a0 = Vector256.LoadUnsafe(ref d0);
                var a1 = Vector256.LoadUnsafe(ref d0, (nuint)mp);
                var a2 = Vector256.LoadUnsafe(ref d0, (nuint)(2 * mp));
                var a3 = Vector256.LoadUnsafe(ref d0, (nuint)(3 * mp));
                u0 = Vector256.FusedMultiplyAdd(a0, gv, u0); w0 = Vector256.FusedMultiplyAdd(a0, dv, w0);
                u1 = Vector256.FusedMultiplyAdd(a1, gv, u1); w1 = Vector256.FusedMultiplyAdd(a1, dv, w1);
                u2 = Vector256.FusedMultiplyAdd(a2, gv, u2); w2 = Vector256.FusedMultiplyAdd(a2, dv, w2);
                u3 = Vector256.FusedMultiplyAdd(a3, gv, u3); w3 = Vector256.FusedMultiplyAdd(a3, dv, w3);
            }
            ref double o = ref Unsafe.Add(ref ur, 8 * s);
            Sum4(u0, u1, u2, u3).StoreUnsafe(ref o);
            Sum4(w0, w1, w2, w3).StoreUnsafe(ref o, 4);
        }
    }

    /// <summary>(Σ lanes of v0, Σ v1, Σ v2, Σ v3) as one vector.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Sum4(Vector256<double> v0, Vector256<double> v1, Vector256<double> v2, Vector256<double> v3)
    {
        var s01 = Avx.HorizontalAdd(v0, v1);   // v0[0]+v0[1], v1[0]+v1[1], v0[2]+v0[3], v1[2]+v1[3]
        var s23 = Avx.HorizontalAdd(v2, v3);
        return Avx.Permute2x128(s01, s23, 0x20) + Avx.Permute2x128(s01, s23, 0x31);
    }

    public int NetCount { get; }

    public int Width => _width;

    /// <summary>Row, local variable x and the extra distance beyond the table (0 inside).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TableZone Locate(double s, out int row, out double x, out double extra)
    {
        var zone = s > _sMax ? TableZone.BeyondTraining : TableZone.Inside;
        extra = 0;
        if (s < _xL)
        {
            int k = (int)Math.Floor((s - _sMin) / _dx);
            if (k < 0) k = 0;
            else if (k > _inner - 1) k = _inner - 1;
            row = k;
            x = s - _nodes[k];
            return zone;
        }
        if (s >= _outerEnd || double.IsNaN(s))
        {
            row = _rows - 1;
            x = _endLocal;
            extra = double.IsNaN(s) ? s : s - _outerEnd;
            return zone | TableZone.OutOfTable;
        }
        double j = Math.Floor((s - _xL) / _outerStep);
        int r = j >= _rows ? _rows - 1 : _inner + (int)j;
        if (r > _rows - 1) r = _rows - 1;
        row = r;
        x = s - _nodes[r];
        return zone;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RowOffset(int net, int row) => (int)(((long)net * _rows + row) * _width * _stride);

    /// <summary>g = G(s) of net <paramref name="net"/>.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="g">[m] receives the values.</param>
    public TableZone Value(int net, double s, Span<double> g)
    {
        Span<double> gp = stackalloc double[_width];
        return ValueAndDerivative(net, s, g, gp);
    }

    /// <summary>g = G(s) and gp = dG/ds of net <paramref name="net"/>.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="g">[m] values.</param>
    /// <param name="gp">[m] derivatives.</param>
    public TableZone ValueAndDerivative(int net, double s, Span<double> g, Span<double> gp)
    {
        var zone = Locate(s, out int row, out double x, out double extra);
        var c = _coef.AsSpan(RowOffset(net, row), _width * _stride);
        int n = _order;
        for (int q = 0; q < _width; q++)
        {
            int o = q * _stride;
            double v = c[o], d = 0;
            for (int p = 1; p <= n; p++)
            {
                d = d * x + v;
                v = v * x + c[o + p];
            }
            g[q] = v + d * extra;
            gp[q] = d;
        }
        return zone;
    }

    /// <summary>
    /// A[a, μ] += R_a·G_μ(s) for a = 0..3 (one real slot's contribution to A_i, unscaled).
    /// </summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s = R_0.</param>
    /// <param name="r">[4] R of the slot.</param>
    /// <param name="a">[4, m] accumulator.</param>
    /// <param name="g">[m] scratch.</param>
    public TableZone Accumulate(int net, double s, ReadOnlySpan<double> r, Span<double> a, Span<double> g)
    {
        int m = _width;
        if (!_fusedOrder3)
        {
            var z = Value(net, s, g);
            for (int c = 0; c < 4; c++) DenseKernels.Axpy(r[c], g.Slice(0, m), a.Slice(c * m, m));
            return z;
        }
        var zone = Locate(s, out int row, out double x, out double extra);
        ref double cr = ref _coef[RowOffset(net, row)];
        ref double ar = ref MemoryMarshal.GetReference(a);
        var xv = Vector256.Create(x);
        var ev = Vector256.Create(extra);
        var r0 = Vector256.Create(r[0]); var r1 = Vector256.Create(r[1]); var r2 = Vector256.Create(r[2]); var r3 = Vector256.Create(r[3]);
        var three = Vector256.Create(3.0); var two = Vector256.Create(2.0);
        int q = 0;
        for (; q + 4 <= m; q += 4)
        {
            Transpose(ref Unsafe.Add(ref cr, q * 4), out var va, out var vb, out var vc, out var vd);
            var gv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(va, xv, vb), xv, vc), xv, vd);
            if (extra != 0)
            {
                var dv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(three * va, xv, two * vb), xv, vc);
                gv = Vector256.FusedMultiplyAdd(dv, ev, gv);
            }
            ref double a0 = ref Unsafe.Add(ref ar, q);
            Vector256.FusedMultiplyAdd(r0, gv, Vector256.LoadUnsafe(ref a0)).StoreUnsafe(ref a0);
            Vector256.FusedMultiplyAdd(r1, gv, Vector256.LoadUnsafe(ref a0, (nuint)m)).StoreUnsafe(ref a0, (nuint)m);
            Vector256.FusedMultiplyAdd(r2, gv, Vector256.LoadUnsafe(ref a0, (nuint)(2 * m))).StoreUnsafe(ref a0, (nuint)(2 * m));
            Vector256.FusedMultiplyAdd(r3, gv, Vector256.LoadUnsafe(ref a0, (nuint)(3 * m))).StoreUnsafe(ref a0, (nuint)(3 * m));
        }
        for (; q < m; q++)
        {
            ref double c0 = ref Unsafe.Add(ref cr, q * 4);
            double ca = c0, cb = Unsafe.Add(ref c0, 1), cc = Unsafe.Add(ref c0, 2), cd = Unsafe.Add(ref c0, 3);
            double gv = ((ca * x + cb) * x + cc) * x + cd;
            if (extra != 0) gv += ((3 * ca * x + 2 * cb) * x + cc) * extra;
            a[q] += r[0] * gv; a[m + q] += r[1] * gv; a[2 * m + q] += r[2] * gv; a[3 * m + q] += r[3] * gv;
        }
        return zone;
    }

    /// <summary>
    /// u_a = Σ_μ dA[a, μ]·G_μ(s) and v_a = Σ_μ dA[a, μ]·G′_μ(s), a = 0..3 (backward of one slot).
    /// </summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="da">[4, m] dE/dA.</param>
    /// <param name="uv">[8] receives u_0..u_3, v_0..v_3.</param>
    /// <param name="g">[m] scratch.</param>
    /// <param name="gp">[m] scratch.</param>
    public void Contract(int net, double s, ReadOnlySpan<double> da, Span<double> uv, Span<double> g, Span<double> gp)
    {
        int m = _width;
        if (!_fusedOrder3)
        {
            ValueAndDerivative(net, s, g, gp);
            for (int c = 0; c < 4; c++)
            {
                uv[c] = DenseKernels.Dot(da.Slice(c * m, m), g.Slice(0, m));
                uv[4 + c] = DenseKernels.Dot(da.Slice(c * m, m), gp.Slice(0, m));
            }
            return;
        }
        Locate(s, out int row, out double x, out double extra);
        ref double cr = ref _coef[RowOffset(net, row)];
        ref double dr = ref MemoryMarshal.GetReference(da);
        var xv = Vector256.Create(x);
        var ev = Vector256.Create(extra);
        var three = Vector256.Create(3.0); var two = Vector256.Create(2.0);
        Vector256<double> u0 = default, u1 = default, u2 = default, u3 = default, w0 = default, w1 = default, w2 = default, w3 = default;
        int q = 0;
        for (; q + 4 <= m; q += 4)
        {
            Transpose(ref Unsafe.Add(ref cr, q * 4), out var va, out var vb, out var vc, out var vd);
            var gv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(va, xv, vb), xv, vc), xv, vd);
            var dv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(three * va, xv, two * vb), xv, vc);
            gv = Vector256.FusedMultiplyAdd(dv, ev, gv);
            ref double d0 = ref Unsafe.Add(ref dr, q);
            var a0 = Vector256.LoadUnsafe(ref d0);
            var a1 = Vector256.LoadUnsafe(ref d0, (nuint)m);
            var a2 = Vector256.LoadUnsafe(ref d0, (nuint)(2 * m));
            var a3 = Vector256.LoadUnsafe(ref d0, (nuint)(3 * m));
            u0 = Vector256.FusedMultiplyAdd(a0, gv, u0); w0 = Vector256.FusedMultiplyAdd(a0, dv, w0);
            u1 = Vector256.FusedMultiplyAdd(a1, gv, u1); w1 = Vector256.FusedMultiplyAdd(a1, dv, w1);
            u2 = Vector256.FusedMultiplyAdd(a2, gv, u2); w2 = Vector256.FusedMultiplyAdd(a2, dv, w2);
            u3 = Vector256.FusedMultiplyAdd(a3, gv, u3); w3 = Vector256.FusedMultiplyAdd(a3, dv, w3);
        }
        double su0 = Vector256.Sum(u0), su1 = Vector256.Sum(u1), su2 = Vector256.Sum(u2), su3 = Vector256.Sum(u3);
        double sw0 = Vector256.Sum(w0), sw1 = Vector256.Sum(w1), sw2 = Vector256.Sum(w2), sw3 = Vector256.Sum(w3);
        for (; q < m; q++)
        {
            ref double c0 = ref Unsafe.Add(ref cr, q * 4);
            double ca = c0, cb = Unsafe.Add(ref c0, 1), cc = Unsafe.Add(ref c0, 2), cd = Unsafe.Add(ref c0, 3);
            double dv = (3 * ca * x + 2 * cb) * x + cc;
            double gv = ((ca * x + cb) * x + cc) * x + cd + dv * extra;
            su0 += da[q] * gv; su1 += da[m + q] * gv; su2 += da[2 * m + q] * gv; su3 += da[3 * m + q] * gv;
            sw0 += da[q] * dv; sw1 += da[m + q] * dv; sw2 += da[2 * m + q] * dv; sw3 += da[3 * m + q] * dv;
        }
        uv[0] = su0; uv[1] = su1; uv[2] = su2; uv[3] = su3;
        uv[4] = sw0; uv[5] = sw1; uv[6] = sw2; uv[7] = sw3;
    }

    /// <summary>Loads 4 outputs' (a, b, c, d) and returns the 4 a's, b's, c's and d's as vectors.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose(ref double p, out Vector256<double> a, out Vector256<double> b, out Vector256<double> c, out Vector256<double> d)
    {
        var v0 = Vector256.LoadUnsafe(ref p);
        var v1 = Vector256.LoadUnsafe(ref p, 4);
        var v2 = Vector256.LoadUnsafe(ref p, 8);
        var v3 = Vector256.LoadUnsafe(ref p, 12);
        var t0 = Avx.UnpackLow(v0, v1);   // a0 a1 c0 c1
        var t1 = Avx.UnpackHigh(v0, v1);  // b0 b1 d0 d1
        var t2 = Avx.UnpackLow(v2, v3);   // a2 a3 c2 c3
        var t3 = Avx.UnpackHigh(v2, v3);  // b2 b3 d2 d3
        a = Avx.Permute2x128(t0, t2, 0x20);
        c = Avx.Permute2x128(t0, t2, 0x31);
        b = Avx.Permute2x128(t1, t3, 0x20);
        d = Avx.Permute2x128(t1, t3, 0x31);
    }
}
