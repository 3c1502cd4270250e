using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// Register-blocked table kernels (orders 3 and 5) for one (atom, net) block of located slots, used
/// when Vector512 is accelerated and m ≤ 32. A block's accumulator A_i [4, mp] (or dE/dA_i) lives in
/// registers for all its slots: per slot the row's coefficients are read once and G (and G′) are
/// formed and consumed without touching memory. mp = m rounded up to 4; the padding lanes of the
/// SoA rows are zero, so padded lanes of A stay zero.
/// </summary>
/// <remarks>
/// The shape (full 8-lane vectors Z = mp / 8, plus a 4-lane tail when mp mod 8 = 4) and the order
/// are type arguments (<see cref="IBlockShape"/>, <see cref="IPolyOrder"/>), so the JIT compiles one
/// kernel per (shape, order) with the unused accumulators and Horner steps removed. Order 5 costs
/// two more FMAs per vector for G and a 9-FMA Horner recurrence for (G, G′) in the backward, against
/// 3 and 5 for order 3: the block structure is the same, the rows 1.5 times as long.
/// <para>(G, G′) store: with a store span the forward kernel forms G and G′ by that recurrence (its G has the
/// bits of the plain Horner value: the same FMAs in the same order) and writes them per slot, 2·(8·Z + 4·Y)
/// doubles; the backward kernel then loads them instead of reading the row. Every output keeps its bits.
/// Measured (500-atom alloy5 cell, one thread, three alternating runs of 30 interleaved rounds): table backward
/// 0.79-0.84 → 0.60-0.62 ms (order 3, dx 0.01), 1.07-1.15 → 0.64-0.65 ms (order 5, dx 0.001); the forward
/// grows by 0.1-0.25 ms; model time −3 % (order 3, dx 0.01) to −6 % (order 5, dx 0.001).</para>
/// </remarks>
internal sealed unsafe partial class TableKernel
{
    /// <summary>Shape of a padded row: <see cref="Z"/> Vector512 lanes blocks plus an optional Vector256 tail.</summary>
    internal interface IBlockShape
    {
        static abstract int Z { get; }
        static abstract bool Y { get; }
    }

    private struct Z0Y : IBlockShape { public static int Z => 0; public static bool Y => true; }
    private struct Z1 : IBlockShape { public static int Z => 1; public static bool Y => false; }
    private struct Z1Y : IBlockShape { public static int Z => 1; public static bool Y => true; }
    private struct Z2 : IBlockShape { public static int Z => 2; public static bool Y => false; }
    private struct Z2Y : IBlockShape { public static int Z => 2; public static bool Y => true; }
    private struct Z3 : IBlockShape { public static int Z => 3; public static bool Y => false; }
    private struct Z3Y : IBlockShape { public static int Z => 3; public static bool Y => true; }
    private struct Z4 : IBlockShape { public static int Z => 4; public static bool Y => false; }

    /// <summary>Polynomial order of the block kernels: 3 (cubic) or 5 (quintic).</summary>
    internal interface IPolyOrder
    {
        static abstract bool Quintic { get; }
    }

    private struct Cubic : IPolyOrder { public static bool Quintic => false; }
    private struct Quintic5 : IPolyOrder { public static bool Quintic => true; }

    /// <summary>Whether the forward block kernel also stores each slot's (G, G′) for the backward.</summary>
    internal interface IStoreSlopes
    {
        static abstract bool On { get; }
    }

    private struct StoreSlopes : IStoreSlopes { public static bool On => true; }
    private struct NoSlopes : IStoreSlopes { public static bool On => false; }

    /// <summary>True when <see cref="AccumulateBlock"/> and <see cref="ContractBlock"/> apply.</summary>
    public bool BlockKernels { get; private set; }

    /// <summary>Row stride of one coefficient array (m rounded up to 4 with block kernels, else m); the width of padded A buffers.</summary>
    public int PaddedWidth => _mp;

    /// <summary>Doubles per slot of a (G, G′) store (<see cref="AccumulateBlock"/>): G in <see cref="SlopeHalf"/> lanes, then G′.</summary>
    public int SlopeWidth => 2 * SlopeHalf;

    /// <summary>Lanes of G (or G′) per slot in a (G, G′) store: 8·Z, plus 4 for the tail vector, stored after the 8-lane vectors (not at its overlapping row offset).</summary>
    /// <remarks>A field set once: as a computed property the JIT left it a call in both block kernels (0.7 % of an order-3 model's samples).</remarks>
    private int SlopeHalf => _slopeHalf;

    /// <summary>
    /// A[a, μ] += R_a·G_μ(s) over the slots of one block that lie inside the table (extra = 0;
    /// the others are skipped, see <see cref="Accumulate"/>), in slot order. With <paramref name="slopes"/>,
    /// G and G′ of each such slot come from the Horner recurrence of <see cref="ContractBlock"/> (G has the
    /// same bits as the plain Horner value) and are stored for it.
    /// </summary>
    /// <param name="off">[cnt] SoA row offsets.</param>
    /// <param name="x">[cnt] local x.</param>
    /// <param name="extra">[cnt] distance beyond the table (slots with extra ≠ 0 are skipped).</param>
    /// <param name="r">[cnt, 4] R of the slots.</param>
    /// <param name="a">[4, mp] padded accumulator.</param>
    /// <param name="slopes">Empty, or [cnt, <see cref="SlopeWidth"/>]: receives G and G′ of every slot inside the table (others untouched).</param>
    /// <param name="fetch">Empty, or [cnt] row offsets (−1: none): while slot s is processed, the row at fetch[s] is prefetched into L1.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AccumulateBlock(ReadOnlySpan<int> off, ReadOnlySpan<double> x, ReadOnlySpan<double> extra, ReadOnlySpan<double> r, Span<double> a, Span<double> slopes = default, ReadOnlySpan<int> fetch = default)
    {
        int cnt = off.Length;
        if (!BlockKernels || x.Length < cnt || extra.Length < cnt || r.Length < 4 * cnt || a.Length < 4 * _mp || (!slopes.IsEmpty && slopes.Length < cnt * SlopeWidth) || (!fetch.IsEmpty && fetch.Length < cnt))
            throw new ArgumentException("AccumulateBlock operand out of range.");
        CheckRows(off, nameof(AccumulateBlock));
        if (!fetch.IsEmpty) CheckFetch(fetch.Slice(0, cnt));
        ref int o = ref MemoryMarshal.GetReference(off);
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double er = ref MemoryMarshal.GetReference(extra);
        ref double rr = ref MemoryMarshal.GetReference(r);
        ref double ar = ref MemoryMarshal.GetReference(a);
        ref double gr = ref MemoryMarshal.GetReference(slopes);
        fixed (int* fp = fetch)
        {
            int* f = fetch.IsEmpty ? null : fp;
            if (slopes.IsEmpty)
            {
                if (_order == 5) DispatchAccumulate<Quintic5, NoSlopes>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, f);
                else DispatchAccumulate<Cubic, NoSlopes>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, f);
            }
            else if (_order == 5) DispatchAccumulate<Quintic5, StoreSlopes>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, f);
            else DispatchAccumulate<Cubic, StoreSlopes>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, f);
        }
        GC.KeepAlive(_soa);   // the kernel read through _soaPtr
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void DispatchAccumulate<TP, TG>(ref int o, ref double xr, ref double er, ref double rr, int cnt, ref double ar, ref double gr, int* fetch) where TP : struct, IPolyOrder where TG : struct, IStoreSlopes
    {
        switch (_mp)
        {
            case 4: Accumulate<Z0Y, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            case 8: Accumulate<Z1, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            case 12: Accumulate<Z1Y, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            case 16: Accumulate<Z2, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            case 20: Accumulate<Z2Y, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            case 24: Accumulate<Z3, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            case 28: Accumulate<Z3Y, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
            default: Accumulate<Z4, TP, TG>(ref o, ref xr, ref er, ref rr, cnt, ref ar, ref gr, fetch); break;
        }
    }

    /// <summary>
    /// <see cref="Locate(int, double, out int, out double, out double)"/> for a run of slots: s = r[4·q]
    /// for q &lt; count. Four slots at a time when all four lie in the inner zone at or below SMax (the
    /// same arithmetic as the scalar path: k = ⌊(s − s_min)/dx⌋ clamped, node s_min + k·dx); others
    /// one by one.
    /// </summary>
    /// <param name="net">Table net index.</param>
    /// <param name="r">[count, 4] R of the slots (s in column 0).</param>
    /// <param name="off">[count] receives SoA row offsets.</param>
    /// <param name="x">[count] receives local x.</param>
    /// <param name="extra">[count] receives the distance beyond the table (0 inside).</param>
    /// <param name="beyond">Incremented per slot above the training maximum.</param>
    /// <param name="outside">Incremented per slot beyond the last node.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void LocateRun(int net, ReadOnlySpan<double> r, Span<int> off, Span<double> x, Span<double> extra, ref long beyond, ref long outside)
    {
        int count = off.Length;
        if (r.Length < 4 * count || x.Length < count || extra.Length < count)
            throw new ArgumentException("LocateRun operand out of range.");
        int q = 0;
        if (Vector256.IsHardwareAccelerated && _inner > 0 && _pwmlff is null)
        {
            var sMin = Vector256.Create(_sMin); var dx = Vector256.Create(_dx);
            var xL = Vector256.Create(_xL); var sMax = Vector256.Create(_sMax);
            var kMax = Vector256.Create((double)(_inner - 1));
            int rowBase = net * _rows;
            for (; q + 4 <= count; q += 4)
            {
                var sv = Vector256.Create(r[4 * q], r[4 * q + 4], r[4 * q + 8], r[4 * q + 12]);
                // Vector path only when every lane is inner (s < x_L) and not above SMax (NaN fails both).
                if (!Vector256.LessThanAll(sv, xL) || !Vector256.LessThanOrEqualAll(sv, sMax))
                {
                    for (int k = q; k < q + 4; k++) LocateOne(net, r[4 * k], ref off[k], ref x[k], ref extra[k], ref beyond, ref outside);
                    continue;
                }
                var kf = Vector256.Min(Vector256.Max(Vector256.Floor((sv - sMin) / dx), Vector256<double>.Zero), kMax);
                (sv - (sMin + kf * dx)).CopyTo(x.Slice(q, 4));
                extra.Slice(q, 4).Clear();
                off[q] = SoaOffset(net, (int)kf[0]); off[q + 1] = SoaOffset(net, (int)kf[1]);
                off[q + 2] = SoaOffset(net, (int)kf[2]); off[q + 3] = SoaOffset(net, (int)kf[3]);
            }
        }
        for (; q < count; q++) LocateOne(net, r[4 * q], ref off[q], ref x[q], ref extra[q], ref beyond, ref outside);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void LocateOne(int net, double s, ref int off, ref double x, ref double extra, ref long beyond, ref long outside)
    {
        var zone = Locate(net, s, out off, out x, out extra);
        if ((zone & TableZone.BeyondTraining) != 0) beyond++;
        if ((zone & TableZone.OutOfTable) != 0) outside++;
    }

    /// <summary>Rows to fetch are read through <see cref="_soaPtr"/> too: every offset must be −1 or start a whole row.</summary>
    private void CheckFetch(ReadOnlySpan<int> fetch)
    {
        uint last = (uint)(_soaLength - _soaRow);
        foreach (int o in fetch)
            if (o != -1 && (uint)o > last) throw new ArgumentException($"fetch row offset {o} out of range.");
    }

    /// <summary>
    /// The kernels read rows without bounds checks: every offset must start a whole row. With <paramref name="beyond"/>,
    /// only the slots whose extra is not 0 (or NaN) are checked: the only rows a kernel with stored (G, G′) reads.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CheckRows(ReadOnlySpan<int> off, string kernel, ReadOnlySpan<double> beyond = default)
    {
        uint last = (uint)(_soaLength - _soaRow);
        bool all = beyond.IsEmpty;
        for (int s = 0; s < off.Length; s++)
            if ((all || beyond[s] != 0) && (uint)off[s] > last) throw new ArgumentException($"{kernel}: row offset {off[s]} out of range.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Horner(ref double c, int o, int mp, Vector512<double> x) =>
        Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(
            Vector512.LoadUnsafe(ref c, (nuint)o), x, Vector512.LoadUnsafe(ref c, (nuint)(o + mp))), x,
            Vector512.LoadUnsafe(ref c, (nuint)(o + 2 * mp))), x, Vector512.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Horner(ref double c, int o, int mp, Vector256<double> x) =>
        Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(
            Vector256.LoadUnsafe(ref c, (nuint)o), x, Vector256.LoadUnsafe(ref c, (nuint)(o + mp))), x,
            Vector256.LoadUnsafe(ref c, (nuint)(o + 2 * mp))), x, Vector256.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));

    /// <summary>G = Horner over the row's coefficient arrays at lane offset o (highest power first): order 3 or 5.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Horner<TP>(ref double c, int o, int mp, Vector512<double> x) where TP : struct, IPolyOrder
    {
        if (!TP.Quintic) return Horner(ref c, o, mp, x);
        var v = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref c, (nuint)o), x, Vector512.LoadUnsafe(ref c, (nuint)(o + mp)));
        v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 2 * mp)));
        v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));
        v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 4 * mp)));
        return Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 5 * mp)));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> Horner<TP>(ref double c, int o, int mp, Vector256<double> x) where TP : struct, IPolyOrder
    {
        if (!TP.Quintic) return Horner(ref c, o, mp, x);
        var v = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref c, (nuint)o), x, Vector256.LoadUnsafe(ref c, (nuint)(o + mp)));
        v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 2 * mp)));
        v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));
        v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 4 * mp)));
        return Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 5 * mp)));
    }

    /// <summary>
    /// G and G′ = dG/dx at lane offset o by the Horner recurrence d ← d·x + v, v ← v·x + c_p (d starting at
    /// the leading coefficient): 5 FMAs for both at order 3 (g′ = (a·x + (a·x + b))·x + (a·x + b)·x + c),
    /// 9 at order 5.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValueSlope<TP>(ref double c, int o, int mp, Vector512<double> x, out Vector512<double> g, out Vector512<double> d) where TP : struct, IPolyOrder
    {
        if (!TP.Quintic)
        {
            var a = Vector512.LoadUnsafe(ref c, (nuint)o);
            var v3 = Vector512.FusedMultiplyAdd(a, x, Vector512.LoadUnsafe(ref c, (nuint)(o + mp)));
            var d3 = Vector512.FusedMultiplyAdd(a, x, v3);
            v3 = Vector512.FusedMultiplyAdd(v3, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 2 * mp)));
            d = Vector512.FusedMultiplyAdd(d3, x, v3);
            g = Vector512.FusedMultiplyAdd(v3, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));
            return;
        }
        var v = Vector512.LoadUnsafe(ref c, (nuint)o);
        var dv = v;
        v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + mp)));
        dv = Vector512.FusedMultiplyAdd(dv, x, v); v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 2 * mp)));
        dv = Vector512.FusedMultiplyAdd(dv, x, v); v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));
        dv = Vector512.FusedMultiplyAdd(dv, x, v); v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 4 * mp)));
        dv = Vector512.FusedMultiplyAdd(dv, x, v); v = Vector512.FusedMultiplyAdd(v, x, Vector512.LoadUnsafe(ref c, (nuint)(o + 5 * mp)));
        g = v; d = dv;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ValueSlope<TP>(ref double c, int o, int mp, Vector256<double> x, out Vector256<double> g, out Vector256<double> d) where TP : struct, IPolyOrder
    {
        if (!TP.Quintic)
        {
            var a = Vector256.LoadUnsafe(ref c, (nuint)o);
            var v3 = Vector256.FusedMultiplyAdd(a, x, Vector256.LoadUnsafe(ref c, (nuint)(o + mp)));
            var d3 = Vector256.FusedMultiplyAdd(a, x, v3);
            v3 = Vector256.FusedMultiplyAdd(v3, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 2 * mp)));
            d = Vector256.FusedMultiplyAdd(d3, x, v3);
            g = Vector256.FusedMultiplyAdd(v3, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));
            return;
        }
        var v = Vector256.LoadUnsafe(ref c, (nuint)o);
        var dv = v;
        v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + mp)));
        dv = Vector256.FusedMultiplyAdd(dv, x, v); v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 2 * mp)));
        dv = Vector256.FusedMultiplyAdd(dv, x, v); v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 3 * mp)));
        dv = Vector256.FusedMultiplyAdd(dv, x, v); v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 4 * mp)));
        dv = Vector256.FusedMultiplyAdd(dv, x, v); v = Vector256.FusedMultiplyAdd(v, x, Vector256.LoadUnsafe(ref c, (nuint)(o + 5 * mp)));
        g = v; d = dv;
    }

    /// <summary>G at lane offset o; with <typeparamref name="TG"/> on, G and G′ from <see cref="ValueSlope{TP}(ref double, int, int, Vector512{double}, out Vector512{double}, out Vector512{double})"/> (same G bits), stored at <paramref name="store"/> and hw lanes after it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> Value<TP, TG>(ref double c, int o, int cs, Vector512<double> x, ref double store, int hw) where TP : struct, IPolyOrder where TG : struct, IStoreSlopes
    {
        if (!TG.On) return Horner<TP>(ref c, o, cs, x);
        ValueSlope<TP>(ref c, o, cs, x, out var g, out var d);
        g.StoreUnsafe(ref store);
        d.StoreUnsafe(ref store, (nuint)hw);
        return g;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Accumulate<TS, TP, TG>(ref int off, ref double x, ref double extra, ref double r, int cnt, ref double a, ref double slopes, int* fetch) where TS : struct, IBlockShape where TP : struct, IPolyOrder where TG : struct, IStoreSlopes
    {
        int hw = SlopeHalf, sw = 2 * hw;   // (G, G′) store: G′ at hw, slot stride sw
        int rowBytes = _soaRow * sizeof(double);
        int mp = _mp, cs = _cs;   // row stride of A; stride of a coefficient array
        int y = _ty;                // first output of the 4-lane tail
        var keep = _tailKeep;
        ref double soa = ref *_soaPtr;
        Vector512<double> a00 = default, a01 = default, a02 = default, a03 = default;
        Vector512<double> a10 = default, a11 = default, a12 = default, a13 = default;
        Vector512<double> a20 = default, a21 = default, a22 = default, a23 = default;
        Vector512<double> a30 = default, a31 = default, a32 = default, a33 = default;
        Vector256<double> t0 = default, t1 = default, t2 = default, t3 = default;
        ref double a1r = ref Unsafe.Add(ref a, mp);
        ref double a2r = ref Unsafe.Add(ref a, 2 * mp);
        ref double a3r = ref Unsafe.Add(ref a, 3 * mp);
        if (TS.Z > 0) { a00 = Vector512.LoadUnsafe(ref a); a10 = Vector512.LoadUnsafe(ref a1r); a20 = Vector512.LoadUnsafe(ref a2r); a30 = Vector512.LoadUnsafe(ref a3r); }
        if (TS.Z > 1) { a01 = Vector512.LoadUnsafe(ref a, 8); a11 = Vector512.LoadUnsafe(ref a1r, 8); a21 = Vector512.LoadUnsafe(ref a2r, 8); a31 = Vector512.LoadUnsafe(ref a3r, 8); }
        if (TS.Z > 2) { a02 = Vector512.LoadUnsafe(ref a, 16); a12 = Vector512.LoadUnsafe(ref a1r, 16); a22 = Vector512.LoadUnsafe(ref a2r, 16); a32 = Vector512.LoadUnsafe(ref a3r, 16); }
        if (TS.Z > 3) { a03 = Vector512.LoadUnsafe(ref a, 24); a13 = Vector512.LoadUnsafe(ref a1r, 24); a23 = Vector512.LoadUnsafe(ref a2r, 24); a33 = Vector512.LoadUnsafe(ref a3r, 24); }
        if (TS.Y) { t0 = Vector256.LoadUnsafe(ref a, (nuint)y); t1 = Vector256.LoadUnsafe(ref a1r, (nuint)y); t2 = Vector256.LoadUnsafe(ref a2r, (nuint)y); t3 = Vector256.LoadUnsafe(ref a3r, (nuint)y); }
        for (int s = 0; s < cnt; s++)
        {
            if (fetch != null && fetch[s] >= 0)
            {
                byte* row = (byte*)(_soaPtr + fetch[s]);
                for (int l = 0; l < rowBytes; l += 64) Sse.Prefetch0(row + l);
            }
            if (Unsafe.Add(ref extra, s) != 0) continue;
            ref double c = ref Unsafe.Add(ref soa, Unsafe.Add(ref off, s));
            double xs = Unsafe.Add(ref x, s);
            ref double rs = ref Unsafe.Add(ref r, 4 * s);
            var xv = Vector512.Create(xs);
            var r0 = Vector512.Create(rs); var r1 = Vector512.Create(Unsafe.Add(ref rs, 1));
            var r2 = Vector512.Create(Unsafe.Add(ref rs, 2)); var r3 = Vector512.Create(Unsafe.Add(ref rs, 3));
            if (TS.Z > 0)
            {
                var g = Value<TP, TG>(ref c, 0, cs, xv, ref Unsafe.Add(ref slopes, s * sw + 0), hw);
                a00 = Vector512.FusedMultiplyAdd(r0, g, a00); a10 = Vector512.FusedMultiplyAdd(r1, g, a10);
                a20 = Vector512.FusedMultiplyAdd(r2, g, a20); a30 = Vector512.FusedMultiplyAdd(r3, g, a30);
            }
            if (TS.Z > 1)
            {
                var g = Value<TP, TG>(ref c, 8, cs, xv, ref Unsafe.Add(ref slopes, s * sw + 8), hw);
                a01 = Vector512.FusedMultiplyAdd(r0, g, a01); a11 = Vector512.FusedMultiplyAdd(r1, g, a11);
                a21 = Vector512.FusedMultiplyAdd(r2, g, a21); a31 = Vector512.FusedMultiplyAdd(r3, g, a31);
            }
            if (TS.Z > 2)
            {
                var g = Value<TP, TG>(ref c, 16, cs, xv, ref Unsafe.Add(ref slopes, s * sw + 16), hw);
                a02 = Vector512.FusedMultiplyAdd(r0, g, a02); a12 = Vector512.FusedMultiplyAdd(r1, g, a12);
                a22 = Vector512.FusedMultiplyAdd(r2, g, a22); a32 = Vector512.FusedMultiplyAdd(r3, g, a32);
            }
            if (TS.Z > 3)
            {
                var g = Value<TP, TG>(ref c, 24, cs, xv, ref Unsafe.Add(ref slopes, s * sw + 24), hw);
                a03 = Vector512.FusedMultiplyAdd(r0, g, a03); a13 = Vector512.FusedMultiplyAdd(r1, g, a13);
                a23 = Vector512.FusedMultiplyAdd(r2, g, a23); a33 = Vector512.FusedMultiplyAdd(r3, g, a33);
            }
            if (TS.Y)
            {
                Vector256<double> g;
                if (TG.On)
                {
                    // Masked like ContractBlock's tail; stored after the 8-lane vectors, not over them.
                    ValueSlope<TP>(ref c, y, cs, xv.GetLower(), out g, out var d);
                    g &= keep; d &= keep;
                    g.StoreUnsafe(ref slopes, (nuint)(s * sw + 8 * TS.Z)); d.StoreUnsafe(ref slopes, (nuint)(s * sw + hw + 8 * TS.Z));
                }
                else g = Horner<TP>(ref c, y, cs, xv.GetLower()) & keep;
                t0 = Vector256.FusedMultiplyAdd(r0.GetLower(), g, t0); t1 = Vector256.FusedMultiplyAdd(r1.GetLower(), g, t1);
                t2 = Vector256.FusedMultiplyAdd(r2.GetLower(), g, t2); t3 = Vector256.FusedMultiplyAdd(r3.GetLower(), g, t3);
            }
        }
        // The tail first: lanes it shares with the last 8-lane vector (masked off above, so still their
        // loaded values) are then overwritten with that vector's sums.
        if (TS.Y) { t0.StoreUnsafe(ref a, (nuint)y); t1.StoreUnsafe(ref a1r, (nuint)y); t2.StoreUnsafe(ref a2r, (nuint)y); t3.StoreUnsafe(ref a3r, (nuint)y); }
        if (TS.Z > 0) { a00.StoreUnsafe(ref a); a10.StoreUnsafe(ref a1r); a20.StoreUnsafe(ref a2r); a30.StoreUnsafe(ref a3r); }
        if (TS.Z > 1) { a01.StoreUnsafe(ref a, 8); a11.StoreUnsafe(ref a1r, 8); a21.StoreUnsafe(ref a2r, 8); a31.StoreUnsafe(ref a3r, 8); }
        if (TS.Z > 2) { a02.StoreUnsafe(ref a, 16); a12.StoreUnsafe(ref a1r, 16); a22.StoreUnsafe(ref a2r, 16); a32.StoreUnsafe(ref a3r, 16); }
        if (TS.Z > 3) { a03.StoreUnsafe(ref a, 24); a13.StoreUnsafe(ref a1r, 24); a23.StoreUnsafe(ref a2r, 24); a33.StoreUnsafe(ref a3r, 24); }
    }

    /// <summary>
    /// Backward of one block: for every slot, u_a = Σ_μ dA[a, μ]·G_μ(s) and v_a = Σ_μ dA[a, μ]·G′_μ(s)
    /// (G continued linearly beyond the table with the located extra).
    /// </summary>
    /// <param name="off">[cnt] SoA row offsets.</param>
    /// <param name="x">[cnt] local x.</param>
    /// <param name="extra">[cnt] distance beyond the table (0 inside).</param>
    /// <param name="da">[4, mp] padded dE/dA (padding lanes zero).</param>
    /// <param name="uv">[2·cnt] receives (u_0..u_3), (v_0..v_3) of every slot.</param>
    /// <param name="slopes">Empty, or the (G, G′) that <see cref="AccumulateBlock"/> stored for these slots: read instead of their rows for the slots inside the table.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void ContractBlock(ReadOnlySpan<int> off, ReadOnlySpan<double> x, ReadOnlySpan<double> extra, ReadOnlySpan<double> da, Span<Vector256<double>> uv, ReadOnlySpan<double> slopes = default)
    {
        int cnt = off.Length;
        if (!BlockKernels || x.Length < cnt || extra.Length < cnt || da.Length < 4 * _mp || uv.Length < 2 * cnt || (!slopes.IsEmpty && slopes.Length < cnt * SlopeWidth))
            throw new ArgumentException("ContractBlock operand out of range.");
        // With stored (G, G′) the kernel reads only the rows of slots beyond the table (extra ≠ 0, or NaN).
        CheckRows(off, nameof(ContractBlock), slopes.IsEmpty ? default : extra);
        ref int o = ref MemoryMarshal.GetReference(off);
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double er = ref MemoryMarshal.GetReference(extra);
        ref double dr = ref MemoryMarshal.GetReference(da);
        ref Vector256<double> ur = ref MemoryMarshal.GetReference(uv);
        fixed (double* sp = slopes)
        {
            double* stored = slopes.IsEmpty ? null : sp;
            if (_order == 5)
                DispatchContract<Quintic5>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored);
            else
                DispatchContract<Cubic>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored);
        }
        GC.KeepAlive(_soa);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void DispatchContract<TP>(ref int o, ref double xr, ref double er, ref double dr, int cnt, ref Vector256<double> ur, double* stored) where TP : struct, IPolyOrder
    {
        switch (_mp)
        {
            case 4: Contract<Z0Y, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            case 8: Contract<Z1, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            case 12: Contract<Z1Y, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            case 16: Contract<Z2, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            case 20: Contract<Z2Y, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            case 24: Contract<Z3, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            case 28: Contract<Z3Y, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
            default: Contract<Z4, TP>(ref o, ref xr, ref er, ref dr, cnt, ref ur, stored); break;
        }
    }


    /// <summary>(G, G′) at lane offset o: loaded from a slot's (G, G′) store (<paramref name="slot"/> ≠ null), else by the Horner recurrence from its row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Slope<TP>(double* slot, int hw, ref double c, int o, int cs, Vector512<double> x, out Vector512<double> g, out Vector512<double> d) where TP : struct, IPolyOrder
    {
        if (slot != null) { g = Vector512.Load(slot + o); d = Vector512.Load(slot + hw + o); }
        else ValueSlope<TP>(ref c, o, cs, x, out g, out d);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Contract<TS, TP>(ref int off, ref double x, ref double extra, ref double da, int cnt, ref Vector256<double> uv, double* stored) where TS : struct, IBlockShape where TP : struct, IPolyOrder
    {
        int hw = SlopeHalf, sw = 2 * hw;
        int mp = _mp, cs = _cs;   // row stride of dE/dA; stride of a coefficient array
        int y = _ty;                // first output of the 4-lane tail
        var keep = _tailKeep;
        ref double soa = ref *_soaPtr;
        Vector512<double> k00 = default, k01 = default, k02 = default, k03 = default;
        Vector512<double> k10 = default, k11 = default, k12 = default, k13 = default;
        Vector512<double> k20 = default, k21 = default, k22 = default, k23 = default;
        Vector512<double> k30 = default, k31 = default, k32 = default, k33 = default;
        Vector256<double> q0 = default, q1 = default, q2 = default, q3 = default;
        ref double d1 = ref Unsafe.Add(ref da, mp);
        ref double d2 = ref Unsafe.Add(ref da, 2 * mp);
        ref double d3 = ref Unsafe.Add(ref da, 3 * mp);
        if (TS.Z > 0) { k00 = Vector512.LoadUnsafe(ref da); k10 = Vector512.LoadUnsafe(ref d1); k20 = Vector512.LoadUnsafe(ref d2); k30 = Vector512.LoadUnsafe(ref d3); }
        if (TS.Z > 1) { k01 = Vector512.LoadUnsafe(ref da, 8); k11 = Vector512.LoadUnsafe(ref d1, 8); k21 = Vector512.LoadUnsafe(ref d2, 8); k31 = Vector512.LoadUnsafe(ref d3, 8); }
        if (TS.Z > 2) { k02 = Vector512.LoadUnsafe(ref da, 16); k12 = Vector512.LoadUnsafe(ref d1, 16); k22 = Vector512.LoadUnsafe(ref d2, 16); k32 = Vector512.LoadUnsafe(ref d3, 16); }
        if (TS.Z > 3) { k03 = Vector512.LoadUnsafe(ref da, 24); k13 = Vector512.LoadUnsafe(ref d1, 24); k23 = Vector512.LoadUnsafe(ref d2, 24); k33 = Vector512.LoadUnsafe(ref d3, 24); }
        if (TS.Y) { q0 = Vector256.LoadUnsafe(ref da, (nuint)y); q1 = Vector256.LoadUnsafe(ref d1, (nuint)y); q2 = Vector256.LoadUnsafe(ref d2, (nuint)y); q3 = Vector256.LoadUnsafe(ref d3, (nuint)y); }
        for (int s = 0; s < cnt; s++)
        {
            ref double c = ref Unsafe.Add(ref soa, Unsafe.Add(ref off, s));
            double xs = Unsafe.Add(ref x, s), es = Unsafe.Add(ref extra, s);
            var xv = Vector512.Create(xs); var ev = Vector512.Create(es);
            double* slot = es == 0 && stored != null ? stored + s * sw : null;   // slots beyond the table were not stored
            // g += g′·extra only beyond the table (extra ≠ 0, or NaN for a NaN s): inside it is g + g′·0 = g.
            // Partial sums over the lanes: u_a in pu_a, v_a in pv_a.
            Vector512<double> pu0, pu1, pu2, pu3, pv0, pv1, pv2, pv3;
            Vector256<double> su0 = default, su1 = default, su2 = default, su3 = default, sv0 = default, sv1 = default, sv2 = default, sv3 = default;
            if (TS.Z > 0)
            {
                Slope<TP>(slot, hw, ref c, 0, cs, xv, out var g, out var d);
                if (es != 0) g = Vector512.FusedMultiplyAdd(d, ev, g);
                pu0 = k00 * g; pu1 = k10 * g; pu2 = k20 * g; pu3 = k30 * g;
                pv0 = k00 * d; pv1 = k10 * d; pv2 = k20 * d; pv3 = k30 * d;
                if (TS.Z > 1)
                {
                    Slope<TP>(slot, hw, ref c, 8, cs, xv, out g, out d);
                    if (es != 0) g = Vector512.FusedMultiplyAdd(d, ev, g);
                    pu0 = Vector512.FusedMultiplyAdd(k01, g, pu0); pu1 = Vector512.FusedMultiplyAdd(k11, g, pu1);
                    pu2 = Vector512.FusedMultiplyAdd(k21, g, pu2); pu3 = Vector512.FusedMultiplyAdd(k31, g, pu3);
                    pv0 = Vector512.FusedMultiplyAdd(k01, d, pv0); pv1 = Vector512.FusedMultiplyAdd(k11, d, pv1);
                    pv2 = Vector512.FusedMultiplyAdd(k21, d, pv2); pv3 = Vector512.FusedMultiplyAdd(k31, d, pv3);
                }
                if (TS.Z > 2)
                {
                    Slope<TP>(slot, hw, ref c, 16, cs, xv, out g, out d);
                    if (es != 0) g = Vector512.FusedMultiplyAdd(d, ev, g);
                    pu0 = Vector512.FusedMultiplyAdd(k02, g, pu0); pu1 = Vector512.FusedMultiplyAdd(k12, g, pu1);
                    pu2 = Vector512.FusedMultiplyAdd(k22, g, pu2); pu3 = Vector512.FusedMultiplyAdd(k32, g, pu3);
                    pv0 = Vector512.FusedMultiplyAdd(k02, d, pv0); pv1 = Vector512.FusedMultiplyAdd(k12, d, pv1);
                    pv2 = Vector512.FusedMultiplyAdd(k22, d, pv2); pv3 = Vector512.FusedMultiplyAdd(k32, d, pv3);
                }
                if (TS.Z > 3)
                {
                    Slope<TP>(slot, hw, ref c, 24, cs, xv, out g, out d);
                    if (es != 0) g = Vector512.FusedMultiplyAdd(d, ev, g);
                    pu0 = Vector512.FusedMultiplyAdd(k03, g, pu0); pu1 = Vector512.FusedMultiplyAdd(k13, g, pu1);
                    pu2 = Vector512.FusedMultiplyAdd(k23, g, pu2); pu3 = Vector512.FusedMultiplyAdd(k33, g, pu3);
                    pv0 = Vector512.FusedMultiplyAdd(k03, d, pv0); pv1 = Vector512.FusedMultiplyAdd(k13, d, pv1);
                    pv2 = Vector512.FusedMultiplyAdd(k23, d, pv2); pv3 = Vector512.FusedMultiplyAdd(k33, d, pv3);
                }
                su0 = pu0.GetLower() + pu0.GetUpper(); su1 = pu1.GetLower() + pu1.GetUpper();
                su2 = pu2.GetLower() + pu2.GetUpper(); su3 = pu3.GetLower() + pu3.GetUpper();
                sv0 = pv0.GetLower() + pv0.GetUpper(); sv1 = pv1.GetLower() + pv1.GetUpper();
                sv2 = pv2.GetLower() + pv2.GetUpper(); sv3 = pv3.GetLower() + pv3.GetUpper();
            }
            if (TS.Y)
            {
                var xh = xv.GetLower();
                Vector256<double> g, d;
                if (slot != null) { g = Vector256.Load(slot + 8 * TS.Z); d = Vector256.Load(slot + hw + 8 * TS.Z); }
                else
                {
                    ValueSlope<TP>(ref c, y, cs, xh, out g, out d);
                    g &= keep; d &= keep;   // outputs the 8-lane vectors already took: 0 (dE/dA there is finite)
                }
                if (es != 0) g = Vector256.FusedMultiplyAdd(d, ev.GetLower(), g);
                su0 = Vector256.FusedMultiplyAdd(q0, g, su0); su1 = Vector256.FusedMultiplyAdd(q1, g, su1);
                su2 = Vector256.FusedMultiplyAdd(q2, g, su2); su3 = Vector256.FusedMultiplyAdd(q3, g, su3);
                sv0 = Vector256.FusedMultiplyAdd(q0, d, sv0); sv1 = Vector256.FusedMultiplyAdd(q1, d, sv1);
                sv2 = Vector256.FusedMultiplyAdd(q2, d, sv2); sv3 = Vector256.FusedMultiplyAdd(q3, d, sv3);
            }
            Unsafe.Add(ref uv, 2 * s) = DenseKernels.Sum4(su0, su1, su2, su3);
            Unsafe.Add(ref uv, 2 * s + 1) = DenseKernels.Sum4(sv0, sv1, sv2, sv3);
        }
    }
}
