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
/// for order 3 with AVX they read a structure-of-arrays copy of the table (in a <see cref="HugePageBuffer"/>; [nets, rows, 4, m],
/// the a, b, c, d of all outputs of a row contiguous; no padding, rows stay 32·m bytes), so four outputs'
/// coefficients load as four vectors and evaluate four outputs per instruction (DeePMD-kit's
/// tabulate_fusion idea).
/// With <see cref="TableRuntime.Pwmlff"/>, <see cref="Locate(double, out int, out double, out double)"/> takes the row
/// and local x from <see cref="PwmlffRuntimeLookup"/> (PWMLFF's runtime, SPEC §8; no linear continuation, extra = 0)
/// and the vectorised run locator falls back to it; every kernel then evaluates what PWMLFF evaluates.
/// </remarks>
internal sealed unsafe partial class TableKernel : IDisposable
{
    private readonly double[] _coef;
    private readonly double[] _nodes;
    private readonly int _rows, _width, _order, _stride, _inner;
    private readonly double _sMin, _dx, _xL, _outerStep, _outerEnd, _sMax, _endLocal;
    private readonly bool _fusedOrder3;
    private readonly int _mp;               // row stride of the A_i / dE/dA_i buffers: m, or m rounded up to 4 for the block kernels (zero padding)
    private readonly int _slopeHalf;        // lanes of G (or G′) per slot in a (G, G′) store (SlopeHalf)
    private readonly int _cs;               // stride of one coefficient array in a SoA row: m, or mp where the block kernels' last vector needs zero lanes (see TableBlockKernels)
    private readonly int _ty;               // block kernels: first output of the 4-lane tail vector (m − 4 with _cs = m, else 8·Z)
    private readonly Vector256<double> _tailKeep = Vector256<double>.AllBitsSet;   // lanes of the tail vector not already covered by the 8-lane vectors
    private readonly int _soaRow;           // one SoA row: (order + 1)·mp
    private readonly HugePageBuffer? _soa;   // [nets, rows, order + 1 (highest power first), mp]: native, 2 MiB aligned, huge pages where the system gives them
    private readonly double* _soaPtr;        // its first element (null without SoA rows); kernels end with GC.KeepAlive(_soa)
    private readonly int _soaLength;
    private readonly PwmlffRuntimeLookup? _pwmlff;

    public TableKernel(CompressionTable table, TableRuntime runtime = TableRuntime.DpCompress)
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
        _pwmlff = runtime == TableRuntime.Pwmlff ? new PwmlffRuntimeLookup(grid) : null;
        _fusedOrder3 = _order == 3 && Avx.IsSupported;
        BlockKernels = (_order == 3 || _order == 5) && Avx.IsSupported && Vector512.IsHardwareAccelerated && _width <= 32;
        _mp = BlockKernels ? (_width + 3) & ~3 : _width;
        _slopeHalf = 8 * (_mp / 8) + (_mp % 8 == 4 ? 4 : 0);
        _cs = _mp;
        _ty = _mp & ~7;
        if (BlockKernels && _mp % 8 == 4 && _mp >= 12)
        {
            // A 4-lane tail after Z = mp/8 full vectors (m mod 8 = 1..4): unpadded coefficient arrays, the
            // tail loading outputs m−4..m−1 and keeping those ≥ 8·Z. A row of an order-3 (order-5) table
            // with m = 25 is then 13 (19) cache lines instead of 14 (21).
            _cs = _width;
            _ty = _width - 4;
            int first = 8 * (_mp / 8) - _ty;   // lanes below this one belong to the last 8-lane vector
            _tailKeep = Vector256.GreaterThanOrEqual(Vector256.Create(0.0, 1.0, 2.0, 3.0), Vector256.Create((double)first));
        }
        // Rows start on cache lines: a whole number of 64-byte lines per row (the buffer is 2 MiB aligned).
        _soaRow = BlockKernels ? (_stride * _cs + 7) & ~7 : _stride * _cs;
        if (_fusedOrder3 || BlockKernels)
        {
            // Structure-of-arrays rows: coefficient p of four (eight) outputs loads as one vector.
            long size = (long)NetCount * _rows * _soaRow;
            if (size > Array.MaxLength)
                throw new DpCompressException("TableTooLarge", ErrorKind.InvalidData, $"The table's {size} coefficients exceed what one array holds.");
            _soa = new HugePageBuffer(size);   // zeroed: the padding lanes stay 0
            _soaPtr = _soa.Pointer;
            _soaLength = _soa.Length;
            var soa = _soa.AsSpan();
            for (int net = 0; net < NetCount; net++)
                for (int row = 0; row < _rows; row++)
                {
                    int src = RowOffset(net, row), dst = SoaOffset(net, row);
                    for (int q = 0; q < _width; q++)
                        for (int c = 0; c < _stride; c++)
                            soa[dst + c * _cs + q] = _coef[src + q * _stride + c];
                }
        }
    }

    /// <summary>Mask keeping the last <paramref name="count"/> (1–3) of four lanes (all bits set), the others zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Tail(int count)
    {
        var lane = Vector256.Create(0.0, 1.0, 2.0, 3.0);
        return Vector256.GreaterThanOrEqual(lane, Vector256.Create((double)(4 - count)));
    }

    public int NetCount { get; }

    /// <summary>True when the located-slot pair kernels (<see cref="AccumulatePair"/>, <see cref="ContractPair"/>) apply (order 3 with AVX).</summary>
    public bool PairKernels => _fusedOrder3;

    /// <summary>Locates s for the located-slot kernels (pair or block): SoA row offset, local x and the distance beyond the table.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="offset">Receives the SoA row offset.</param>
    /// <param name="x">Receives s − x_row.</param>
    /// <param name="extra">Receives the distance beyond the last node (0 inside).</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public TableZone Locate(int net, double s, out int offset, out double x, out double extra)
    {
        var zone = Locate(s, out int row, out x, out extra);
        offset = SoaOffset(net, row);
        return zone;
    }

    /// <summary>Prefetches the SoA row at <paramref name="offset"/> into L1: every cache line, or only the first <paramref name="lines"/> (no-op without SSE).</summary>
    /// <param name="offset">SoA row offset from <see cref="Locate(int, double, out int, out double, out double)"/>.</param>
    /// <param name="lines">Cache lines to fetch; 0: the whole row.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public unsafe void Prefetch(int offset, int lines = 0)
    {
        if (!Sse.IsSupported || _soaPtr == null || (uint)offset > (uint)(_soaLength - _soaRow)) return;
        byte* p = (byte*)(_soaPtr + offset);
        int bytes = lines > 0 ? 64 * lines : _soaRow * sizeof(double);
        for (int l = 0; l < bytes; l += 64) Sse.Prefetch0(p + l);
    }

    /// <summary>
    /// A[a, μ] += R_a·G_μ(s) + R′_a·G_μ(s′) for two located slots inside the table (extra = 0);
    /// the two slots share the loads and stores of A and give two independent dependency chains.
    /// Either slot may be absent (offset −1).
    /// </summary>
    /// <param name="offA">SoA row offset of slot A.</param>
    /// <param name="xA">Local x of slot A.</param>
    /// <param name="rA">[4] R of slot A.</param>
    /// <param name="offB">SoA row offset of slot B, or −1.</param>
    /// <param name="xB">Local x of slot B.</param>
    /// <param name="rB">[4] R of slot B.</param>
    /// <param name="a">[4, m] accumulator.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AccumulatePair(int offA, double xA, ReadOnlySpan<double> rA, int offB, double xB, ReadOnlySpan<double> rB, Span<double> a)
    {
        int m = _width, mp = _cs;   // mp: coefficient stride
        if (a.Length < 4 * m || rA.Length < 4 || rB.Length < 4 || (uint)offA > (uint)(_soaLength - 4 * mp) || (offB >= 0 && offB > _soaLength - 4 * mp))
            throw new ArgumentException("AccumulatePair operand out of range.");
        bool two = offB >= 0;
        ref double ca0 = ref _soaPtr[offA];
        ref double cb0 = ref _soaPtr[two ? offB : offA];
        ref double ar = ref MemoryMarshal.GetReference(a);
        var xa = Vector256.Create(xA); var xb = Vector256.Create(xB);
        double bScale = two ? 1.0 : 0.0;
        var pa0 = Vector256.Create(rA[0]); var pa1 = Vector256.Create(rA[1]); var pa2 = Vector256.Create(rA[2]); var pa3 = Vector256.Create(rA[3]);
        var pb0 = Vector256.Create(rB[0] * bScale); var pb1 = Vector256.Create(rB[1] * bScale); var pb2 = Vector256.Create(rB[2] * bScale); var pb3 = Vector256.Create(rB[3] * bScale);
        int q = 0;
        for (; q + 4 <= m; q += 4)
        {
            ref double ca = ref Unsafe.Add(ref ca0, q);
            ref double cb = ref Unsafe.Add(ref cb0, q);
            var ga = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(
                Vector256.LoadUnsafe(ref ca), xa, Vector256.LoadUnsafe(ref ca, (nuint)mp)), xa, Vector256.LoadUnsafe(ref ca, (nuint)(2 * mp))), xa, Vector256.LoadUnsafe(ref ca, (nuint)(3 * mp)));
            var gb = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(
                Vector256.LoadUnsafe(ref cb), xb, Vector256.LoadUnsafe(ref cb, (nuint)mp)), xb, Vector256.LoadUnsafe(ref cb, (nuint)(2 * mp))), xb, Vector256.LoadUnsafe(ref cb, (nuint)(3 * mp)));
            ref double a0 = ref Unsafe.Add(ref ar, q);
            Vector256.FusedMultiplyAdd(pb0, gb, Vector256.FusedMultiplyAdd(pa0, ga, Vector256.LoadUnsafe(ref a0))).StoreUnsafe(ref a0);
            Vector256.FusedMultiplyAdd(pb1, gb, Vector256.FusedMultiplyAdd(pa1, ga, Vector256.LoadUnsafe(ref a0, (nuint)m))).StoreUnsafe(ref a0, (nuint)m);
            Vector256.FusedMultiplyAdd(pb2, gb, Vector256.FusedMultiplyAdd(pa2, ga, Vector256.LoadUnsafe(ref a0, (nuint)(2 * m)))).StoreUnsafe(ref a0, (nuint)(2 * m));
            Vector256.FusedMultiplyAdd(pb3, gb, Vector256.FusedMultiplyAdd(pa3, ga, Vector256.LoadUnsafe(ref a0, (nuint)(3 * m)))).StoreUnsafe(ref a0, (nuint)(3 * m));
        }
        for (; q < m; q++)
        {
            ref double c0 = ref Unsafe.Add(ref ca0, q);
            double ga = ((c0 * xA + Unsafe.Add(ref c0, mp)) * xA + Unsafe.Add(ref c0, 2 * mp)) * xA + Unsafe.Add(ref c0, 3 * mp);
            a[q] += rA[0] * ga; a[m + q] += rA[1] * ga; a[2 * m + q] += rA[2] * ga; a[3 * m + q] += rA[3] * ga;
            if (two)
            {
                ref double c1 = ref Unsafe.Add(ref cb0, q);
                double gb = ((c1 * xB + Unsafe.Add(ref c1, mp)) * xB + Unsafe.Add(ref c1, 2 * mp)) * xB + Unsafe.Add(ref c1, 3 * mp);
                a[q] += rB[0] * gb; a[m + q] += rB[1] * gb; a[2 * m + q] += rB[2] * gb; a[3 * m + q] += rB[3] * gb;
            }
        }
        GC.KeepAlive(_soa);
    }

    /// <summary>
    /// u_a = Σ_μ dA[a, μ]·G_μ(s), v_a = Σ_μ dA[a, μ]·G′_μ(s) for two located slots (any zone; G
    /// continues linearly beyond the table with the located extra), sharing the loads of dA.
    /// </summary>
    /// <param name="offA">SoA row offset of slot A.</param>
    /// <param name="xA">Local x of slot A.</param>
    /// <param name="eA">Extra distance of slot A (0 inside).</param>
    /// <param name="offB">SoA row offset of slot B (pass slot A again when there is none).</param>
    /// <param name="xB">Local x of slot B.</param>
    /// <param name="eB">Extra distance of slot B.</param>
    /// <param name="da">[4, m] dE/dA.</param>
    /// <param name="uA">Receives (u_0..u_3) of slot A.</param>
    /// <param name="vA">Receives (v_0..v_3) of slot A.</param>
    /// <param name="uB">Receives (u_0..u_3) of slot B.</param>
    /// <param name="vB">Receives (v_0..v_3) of slot B.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ContractPair(int offA, double xA, double eA, int offB, double xB, double eB, ReadOnlySpan<double> da,
        out Vector256<double> uA, out Vector256<double> vA, out Vector256<double> uB, out Vector256<double> vB)
    {
        int m = _width, mp = _cs;   // mp: coefficient stride
        if (da.Length < 4 * m || (uint)offA > (uint)(_soaLength - 4 * mp) || (uint)offB > (uint)(_soaLength - 4 * mp))
            throw new ArgumentException("ContractPair operand out of range.");
        ref double ca0 = ref _soaPtr[offA];
        ref double cb0 = ref _soaPtr[offB];
        ref double dr = ref MemoryMarshal.GetReference(da);
        var xa = Vector256.Create(xA); var xa3 = Vector256.Create(3 * xA); var ea = Vector256.Create(eA);
        var xb = Vector256.Create(xB); var xb3 = Vector256.Create(3 * xB); var eb = Vector256.Create(eB);
        Vector256<double> u0 = default, u1 = default, u2 = default, u3 = default, w0 = default, w1 = default, w2 = default, w3 = default;
        Vector256<double> y0 = default, y1 = default, y2 = default, y3 = default, z0 = default, z1 = default, z2 = default, z3 = default;
        int q = 0;
        for (; q + 4 <= m; q += 4)
        {
            ref double ca = ref Unsafe.Add(ref ca0, q);
            var a_ = Vector256.LoadUnsafe(ref ca); var b_ = Vector256.LoadUnsafe(ref ca, (nuint)mp);
            var c_ = Vector256.LoadUnsafe(ref ca, (nuint)(2 * mp)); var d_ = Vector256.LoadUnsafe(ref ca, (nuint)(3 * mp));
            // g = ((a x + b) x + c) x + d + g′·extra, g′ = (3a x + 2b) x + c
            var gA = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xa, b_), xa, c_), xa, d_);
            var dA = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xa3, b_ + b_), xa, c_);
            gA = Vector256.FusedMultiplyAdd(dA, ea, gA);
            ref double cb = ref Unsafe.Add(ref cb0, q);
            a_ = Vector256.LoadUnsafe(ref cb); b_ = Vector256.LoadUnsafe(ref cb, (nuint)mp);
            c_ = Vector256.LoadUnsafe(ref cb, (nuint)(2 * mp)); d_ = Vector256.LoadUnsafe(ref cb, (nuint)(3 * mp));
            var gB = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xb, b_), xb, c_), xb, d_);
            var dB = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xb3, b_ + b_), xb, c_);
            gB = Vector256.FusedMultiplyAdd(dB, eb, gB);
            ref double d0 = ref Unsafe.Add(ref dr, q);
            var k0 = Vector256.LoadUnsafe(ref d0);
            var k1 = Vector256.LoadUnsafe(ref d0, (nuint)m);
            var k2 = Vector256.LoadUnsafe(ref d0, (nuint)(2 * m));
            var k3 = Vector256.LoadUnsafe(ref d0, (nuint)(3 * m));
            u0 = Vector256.FusedMultiplyAdd(k0, gA, u0); w0 = Vector256.FusedMultiplyAdd(k0, dA, w0);
            u1 = Vector256.FusedMultiplyAdd(k1, gA, u1); w1 = Vector256.FusedMultiplyAdd(k1, dA, w1);
            u2 = Vector256.FusedMultiplyAdd(k2, gA, u2); w2 = Vector256.FusedMultiplyAdd(k2, dA, w2);
            u3 = Vector256.FusedMultiplyAdd(k3, gA, u3); w3 = Vector256.FusedMultiplyAdd(k3, dA, w3);
            y0 = Vector256.FusedMultiplyAdd(k0, gB, y0); z0 = Vector256.FusedMultiplyAdd(k0, dB, z0);
            y1 = Vector256.FusedMultiplyAdd(k1, gB, y1); z1 = Vector256.FusedMultiplyAdd(k1, dB, z1);
            y2 = Vector256.FusedMultiplyAdd(k2, gB, y2); z2 = Vector256.FusedMultiplyAdd(k2, dB, z2);
            y3 = Vector256.FusedMultiplyAdd(k3, gB, y3); z3 = Vector256.FusedMultiplyAdd(k3, dB, z3);
        }
        if (q < m && m >= 4)
        {
            // Tail: one more vector over the last four outputs with the lanes already done masked off.
            var keep = Tail(m - q);
            q = m - 4;
            ref double ca = ref Unsafe.Add(ref ca0, q);
            var a_ = Vector256.LoadUnsafe(ref ca); var b_ = Vector256.LoadUnsafe(ref ca, (nuint)mp);
            var c_ = Vector256.LoadUnsafe(ref ca, (nuint)(2 * mp)); var d_ = Vector256.LoadUnsafe(ref ca, (nuint)(3 * mp));
            var gA = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xa, b_), xa, c_), xa, d_);
            var dA = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xa3, b_ + b_), xa, c_);
            gA = Vector256.FusedMultiplyAdd(dA, ea, gA) & keep; dA &= keep;
            ref double cb = ref Unsafe.Add(ref cb0, q);
            a_ = Vector256.LoadUnsafe(ref cb); b_ = Vector256.LoadUnsafe(ref cb, (nuint)mp);
            c_ = Vector256.LoadUnsafe(ref cb, (nuint)(2 * mp)); d_ = Vector256.LoadUnsafe(ref cb, (nuint)(3 * mp));
            var gB = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xb, b_), xb, c_), xb, d_);
            var dB = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(a_, xb3, b_ + b_), xb, c_);
            gB = Vector256.FusedMultiplyAdd(dB, eb, gB) & keep; dB &= keep;
            ref double d0 = ref Unsafe.Add(ref dr, q);
            var k0 = Vector256.LoadUnsafe(ref d0);
            var k1 = Vector256.LoadUnsafe(ref d0, (nuint)m);
            var k2 = Vector256.LoadUnsafe(ref d0, (nuint)(2 * m));
            var k3 = Vector256.LoadUnsafe(ref d0, (nuint)(3 * m));
            u0 = Vector256.FusedMultiplyAdd(k0, gA, u0); w0 = Vector256.FusedMultiplyAdd(k0, dA, w0);
            u1 = Vector256.FusedMultiplyAdd(k1, gA, u1); w1 = Vector256.FusedMultiplyAdd(k1, dA, w1);
            u2 = Vector256.FusedMultiplyAdd(k2, gA, u2); w2 = Vector256.FusedMultiplyAdd(k2, dA, w2);
            u3 = Vector256.FusedMultiplyAdd(k3, gA, u3); w3 = Vector256.FusedMultiplyAdd(k3, dA, w3);
            y0 = Vector256.FusedMultiplyAdd(k0, gB, y0); z0 = Vector256.FusedMultiplyAdd(k0, dB, z0);
            y1 = Vector256.FusedMultiplyAdd(k1, gB, y1); z1 = Vector256.FusedMultiplyAdd(k1, dB, z1);
            y2 = Vector256.FusedMultiplyAdd(k2, gB, y2); z2 = Vector256.FusedMultiplyAdd(k2, dB, z2);
            y3 = Vector256.FusedMultiplyAdd(k3, gB, y3); z3 = Vector256.FusedMultiplyAdd(k3, dB, z3);
            q = m;
        }
        uA = DenseKernels.Sum4(u0, u1, u2, u3); vA = DenseKernels.Sum4(w0, w1, w2, w3);
        uB = DenseKernels.Sum4(y0, y1, y2, y3); vB = DenseKernels.Sum4(z0, z1, z2, z3);
        if (q < m)
        {
            Span<double> t = stackalloc double[16];
            t.Clear();
            for (; q < m; q++)
            {
                ref double c0 = ref Unsafe.Add(ref ca0, q);
                double ga, ga1, gb, gb1;
                {
                    double a_ = c0, b_ = Unsafe.Add(ref c0, mp), c_ = Unsafe.Add(ref c0, 2 * mp), d_ = Unsafe.Add(ref c0, 3 * mp);
                    ga1 = (3 * a_ * xA + 2 * b_) * xA + c_;
                    ga = ((a_ * xA + b_) * xA + c_) * xA + d_ + ga1 * eA;
                }
                ref double c1 = ref Unsafe.Add(ref cb0, q);
                {
                    double a_ = c1, b_ = Unsafe.Add(ref c1, mp), c_ = Unsafe.Add(ref c1, 2 * mp), d_ = Unsafe.Add(ref c1, 3 * mp);
                    gb1 = (3 * a_ * xB + 2 * b_) * xB + c_;
                    gb = ((a_ * xB + b_) * xB + c_) * xB + d_ + gb1 * eB;
                }
                for (int c = 0; c < 4; c++)
                {
                    double k = da[c * m + q];
                    t[c] += k * ga; t[4 + c] += k * ga1; t[8 + c] += k * gb; t[12 + c] += k * gb1;
                }
            }
            uA += Vector256.Create(t[0], t[1], t[2], t[3]); vA += Vector256.Create(t[4], t[5], t[6], t[7]);
            uB += Vector256.Create(t[8], t[9], t[10], t[11]); vB += Vector256.Create(t[12], t[13], t[14], t[15]);
        }
        GC.KeepAlive(_soa);
    }


    public int Width => _width;

    /// <summary>Frees the structure-of-arrays rows; the owner (<see cref="FastEngine"/>) evaluates no more afterwards.</summary>
    public void Dispose() => _soa?.Dispose();

    /// <summary>Row, local variable x and the extra distance beyond the table (0 inside).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private TableZone Locate(double s, out int row, out double x, out double extra)
    {
        var zone = s > _sMax ? TableZone.BeyondTraining : TableZone.Inside;
        extra = 0;
        if (_pwmlff is not null)
        {
            _pwmlff.Locate(s, out row, out x);
            return s >= _outerEnd ? zone | TableZone.OutOfTable : zone;
        }
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
    private int SoaOffset(int net, int row) => (net * _rows + row) * _soaRow;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int RowOffset(int net, int row) => (int)(((long)net * _rows + row) * _width * _stride);

    /// <summary>g = G(s) of net <paramref name="net"/>.</summary>
    /// <param name="net">Table net index.</param>
    /// <param name="s">Normalised s.</param>
    /// <param name="g">[m] receives the values.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        ref double cr = ref _soaPtr[SoaOffset(net, row)];
        ref double ar = ref MemoryMarshal.GetReference(a);
        int mp = _cs;   // coefficient stride
        var xv = Vector256.Create(x);
        var r0 = Vector256.Create(r[0]); var r1 = Vector256.Create(r[1]); var r2 = Vector256.Create(r[2]); var r3 = Vector256.Create(r[3]);
        int q = 0;
        if (extra == 0)
        {
            for (; q + 4 <= m; q += 4)
            {
                ref double cq = ref Unsafe.Add(ref cr, q);
                var gv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(
                    Vector256.LoadUnsafe(ref cq), xv, Vector256.LoadUnsafe(ref cq, (nuint)mp)), xv, Vector256.LoadUnsafe(ref cq, (nuint)(2 * mp))), xv, Vector256.LoadUnsafe(ref cq, (nuint)(3 * mp)));
                ref double a0 = ref Unsafe.Add(ref ar, q);
                Vector256.FusedMultiplyAdd(r0, gv, Vector256.LoadUnsafe(ref a0)).StoreUnsafe(ref a0);
                Vector256.FusedMultiplyAdd(r1, gv, Vector256.LoadUnsafe(ref a0, (nuint)m)).StoreUnsafe(ref a0, (nuint)m);
                Vector256.FusedMultiplyAdd(r2, gv, Vector256.LoadUnsafe(ref a0, (nuint)(2 * m))).StoreUnsafe(ref a0, (nuint)(2 * m));
                Vector256.FusedMultiplyAdd(r3, gv, Vector256.LoadUnsafe(ref a0, (nuint)(3 * m))).StoreUnsafe(ref a0, (nuint)(3 * m));
            }
        }
        for (; q < m; q++)
        {
            ref double c0 = ref Unsafe.Add(ref cr, q);
            double ca = c0, cb = Unsafe.Add(ref c0, mp), cc = Unsafe.Add(ref c0, 2 * mp), cd = Unsafe.Add(ref c0, 3 * mp);
            double gv = ((ca * x + cb) * x + cc) * x + cd;
            if (extra != 0) gv += ((3 * ca * x + 2 * cb) * x + cc) * extra;
            a[q] += r[0] * gv; a[m + q] += r[1] * gv; a[2 * m + q] += r[2] * gv; a[3 * m + q] += r[3] * gv;
        }
        GC.KeepAlive(_soa);
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
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
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
        ref double cr = ref _soaPtr[SoaOffset(net, row)];
        ref double dr = ref MemoryMarshal.GetReference(da);
        int mp = _cs;   // coefficient stride
        var xv = Vector256.Create(x);
        var x3 = Vector256.Create(3 * x);
        var ev = Vector256.Create(extra);
        Vector256<double> u0 = default, u1 = default, u2 = default, u3 = default, w0 = default, w1 = default, w2 = default, w3 = default;
        int q = 0;
        for (; q + 4 <= m; q += 4)
        {
            ref double cq = ref Unsafe.Add(ref cr, q);
            var ca = Vector256.LoadUnsafe(ref cq); var cb = Vector256.LoadUnsafe(ref cq, (nuint)mp);
            var cc = Vector256.LoadUnsafe(ref cq, (nuint)(2 * mp)); var cd = Vector256.LoadUnsafe(ref cq, (nuint)(3 * mp));
            // g = ((a x + b) x + c) x + d + g′·extra, g′ = (3a x + 2b) x + c
            var gv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(ca, xv, cb), xv, cc), xv, cd);
            var dv = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(ca, x3, cb + cb), xv, cc);
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
        var su = DenseKernels.Sum4(u0, u1, u2, u3);
        var sw = DenseKernels.Sum4(w0, w1, w2, w3);
        double su0 = su[0], su1 = su[1], su2 = su[2], su3 = su[3];
        double sw0 = sw[0], sw1 = sw[1], sw2 = sw[2], sw3 = sw[3];
        for (; q < m; q++)
        {
            ref double c0 = ref Unsafe.Add(ref cr, q);
            double ca = c0, cb = Unsafe.Add(ref c0, mp), cc = Unsafe.Add(ref c0, 2 * mp), cd = Unsafe.Add(ref c0, 3 * mp);
            double dv = (3 * ca * x + 2 * cb) * x + cc;
            double gv = ((ca * x + cb) * x + cc) * x + cd + dv * extra;
            su0 += da[q] * gv; su1 += da[m + q] * gv; su2 += da[2 * m + q] * gv; su3 += da[3 * m + q] * gv;
            sw0 += da[q] * dv; sw1 += da[m + q] * dv; sw2 += da[2 * m + q] * dv; sw3 += da[3 * m + q] * dv;
        }
        uv[0] = su0; uv[1] = su1; uv[2] = su2; uv[3] = su3;
        uv[4] = sw0; uv[5] = sw1; uv[6] = sw2; uv[7] = sw3;
        GC.KeepAlive(_soa);
    }
}
