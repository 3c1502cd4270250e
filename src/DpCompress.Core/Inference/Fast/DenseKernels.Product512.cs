using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// The AVX-512 matrix product of <see cref="DenseKernels"/> (C = X·W, C += X·W, C = X·W + bias) for n ≥ 4, o ≥ 4:
/// register-blocked strips of 8 rows (4 for the rows left over) × up to three or four column vectors, every
/// element one FMA chain over p = 0..k−1 from 0, so the bits match the Vector256 product and the scalar definition.
/// </summary>
internal static partial class DenseKernels
{
    /// <summary>Weights (k·o) from which the product uses 8-row blocks (see <see cref="MatMul512"/>): the fitting nets' layers (≥ 2,500), not the 25-wide embedding layers (625).</summary>
    private const int EightRowWeights = 2048;

    /// <summary>
    /// AVX-512 product for n ≥ 4, o ≥ 4 (bias: C = X·W + bias). Row panels (a multiple of 8 rows); in each, blocks
    /// of 8 rows × column groups of at most three vectors (<see cref="Rows8"/>), then the rows left over by blocks of
    /// 4 × column groups of up to three zmm plus the tail (<see cref="Strip{TC}"/>), the accumulators in registers over
    /// the whole k loop. A last partial 4-row block is the block of rows n−4..n−1 (rows already done are recomputed,
    /// not stored again); o mod 8 columns are a ymm or zmm ending at o (columns already done are recomputed to the
    /// same bits; with accumulate they keep their stored value).
    /// </summary>
    /// <remarks>
    /// 8-row blocks load each W vector once per 8 rows instead of per 4, which pays for the fitting nets (the first
    /// layer's W, 160 kB, comes from L2); for a small W they only add X broadcasts for the tail vector, so they are
    /// used from k·o ≥ <see cref="EightRowWeights"/>. Measured in one process, the variants alternating pass by pass (five-element
    /// model, minimum of 400 passes each, two runs): fitting nets (400 → 50 → 50 → 50 → 1, 504 atoms in chunks of
    /// 8) forward 0.328-0.336 ms with 4-row blocks → 0.297-0.300 ms, backward 0.279-0.284 → 0.255-0.258 ms (the
    /// same as 8-row blocks everywhere); embedding nets (1 → 25 → 25 → 25, 200 calls of 128 rows) 3.42-3.48 ms with
    /// 4-row blocks, 3.44-3.50 ms with this rule (4-row blocks), 3.63-3.66 ms with 8-row blocks everywhere.
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MatMul512(ref double x, int n, int k, ref double w, int o, ref double c, bool accumulate, ref double bias)
    {
        bool hasBias = !Unsafe.IsNullRef(ref bias);
        // Columns: groups of three zmm (24), then one or two zmm, then a tail vector ending at o — a
        // ymm when o mod 8 ≤ 4, else a zmm — computed in the same pass as the last group.
        int nz = o / 8, rem = o % 8;
        int tailAt = rem == 0 ? -1 : rem <= 4 ? o - 4 : o - 8;
        var freshZ = Vector512.GreaterThanOrEqual(Vector512.Create(0.0, 1, 2, 3, 4, 5, 6, 7), Vector512.Create((double)(8 - rem)));
        var freshY = TailMask(rem == 0 ? 4 : Math.Min(rem, 4));
        int full = nz / 3 * 24, left = nz % 3;     // columns in groups of three; zmm left over
        if (nz == 0)
        {
            // 4 ≤ o < 8: columns 0..3, then o−4..o−1.
            for (int i0 = 0; i0 < n; i0 += 4)
            {
                int i = Math.Min(i0, n - 4);
                ref double xi = ref Unsafe.Add(ref x, i * k);
                ref double ci = ref Unsafe.Add(ref c, i * o);
                Block4x4(ref xi, k, ref w, o, ref ci, accumulate, hasBias, ref bias, i0 - i, Vector256<double>.AllBitsSet);
                if (o > 4)
                    Block4x4(ref xi, k, ref Unsafe.Add(ref w, o - 4), o, ref Unsafe.Add(ref ci, o - 4), accumulate, hasBias, ref Unsafe.Add(ref bias, hasBias ? o - 4 : 0), i0 - i, TailMask(o - 4));
            }
            return;
        }
        // Row panels (a multiple of 8 rows) whose output (≤ 2048 doubles, or 8 rows) stays in L1 while the column groups pass over it.
        int panel = Math.Max(8, (2048 / o) & ~7);
        for (int r0 = 0; r0 < n; r0 += panel)
        {
            // A last panel of fewer than four rows recomputes rows of the previous one (not stored).
            int rows = Math.Min(panel, n - r0);
            ref double xp = ref Unsafe.Add(ref x, r0 * k);
            ref double cp = ref Unsafe.Add(ref c, r0 * o);
            int eight = k * o < EightRowWeights ? 0 : rows & ~7;
            for (int i = 0; i < eight; i += 8)
                Rows8(ref Unsafe.Add(ref xp, i * k), k, ref w, o, ref Unsafe.Add(ref cp, i * o), accumulate, hasBias, ref bias, tailAt, freshZ, freshY);
            if (eight == rows) continue;
            // The rows left over (a block of fewer than four reaches back into the rows just done).
            xp = ref Unsafe.Add(ref xp, eight * k);
            cp = ref Unsafe.Add(ref cp, eight * o);
            rows -= eight;
            for (int j = 0; j < full; j += 24)
            {
                int t = left == 0 && j + 24 == full ? tailAt - j : -1;
                ref double wj = ref Unsafe.Add(ref w, j);
                ref double cj = ref Unsafe.Add(ref cp, j);
                ref double bj = ref Unsafe.Add(ref bias, hasBias ? j : 0);
                if (t < 0) Strip<Z3>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, 0, freshZ, freshY);
                else if (rem <= 4) Strip<Z3Y>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY);
                else Strip<Z3Z>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY);
            }
            if (left > 0)
            {
                int t = tailAt < 0 ? -1 : tailAt - full;
                ref double wj = ref Unsafe.Add(ref w, full);
                ref double cj = ref Unsafe.Add(ref cp, full);
                ref double bj = ref Unsafe.Add(ref bias, hasBias ? full : 0);
                if (left == 1)
                {
                    if (t < 0) Strip<Z1>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, 0, freshZ, freshY);
                    else if (rem <= 4) Strip<Z1Y>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY);
                    else Strip<Z1Z>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY);
                }
                else
                {
                    if (t < 0) Strip<Z2>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, 0, freshZ, freshY);
                    else if (rem <= 4) Strip<Z2Y>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY);
                    else Strip<Z2Z>(ref xp, rows, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY);
                }
            }
        }
    }

    /// <summary>Column shape of a <see cref="Strip{TC}"/>: full zmm vectors at 0, 8, 16 and a tail vector (none, ymm or zmm).</summary>
    private interface IColumns
    {
        static abstract int Zmm { get; }

        /// <summary>0: none; 4: a ymm; 8: a zmm.</summary>
        static abstract int Tail { get; }
    }

    private struct Z1 : IColumns { public static int Zmm => 1; public static int Tail => 0; }
    private struct Z2 : IColumns { public static int Zmm => 2; public static int Tail => 0; }
    private struct Z3 : IColumns { public static int Zmm => 3; public static int Tail => 0; }
    private struct Z1Y : IColumns { public static int Zmm => 1; public static int Tail => 4; }
    private struct Z2Y : IColumns { public static int Zmm => 2; public static int Tail => 4; }
    private struct Z3Y : IColumns { public static int Zmm => 3; public static int Tail => 4; }
    private struct Z1Z : IColumns { public static int Zmm => 1; public static int Tail => 8; }
    private struct Z2Z : IColumns { public static int Zmm => 2; public static int Tail => 8; }
    private struct Z3Z : IColumns { public static int Zmm => 3; public static int Tail => 8; }

    /// <summary>
    /// n rows by blocks of four (the last block is rows n−4..n−1, which may start before row 0 of
    /// this panel when n &lt; 4: those rows are computed, not stored), × the columns of <typeparamref name="TC"/> (the tail vector
    /// at <paramref name="tailOffset"/>; its lanes outside freshZ/freshY were done by an earlier vector
    /// of the row: with accumulate they keep their stored value, otherwise they get the same bits again).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip<TC>(ref double x0, int n, int k, ref double w, int o, ref double c0, bool accumulate, bool hasBias, ref double bias,
        int tailOffset, Vector512<double> freshZ, Vector256<double> freshY) where TC : struct, IColumns
    {
        for (int i0 = 0; i0 < n; i0 += 4)
        {
            // The last block is rows n−4..n−1; rows below skip were stored by the previous block.
            int i = Math.Min(i0, n - 4);
            int skip = i0 - i;
            ref double x = ref Unsafe.Add(ref x0, i * k);
            ref double c = ref Unsafe.Add(ref c0, i * o);
            Vector512<double> a0 = default, a1 = default, a2 = default, a3 = default;
            Vector512<double> b0 = default, b1 = default, b2 = default, b3 = default;
            Vector512<double> d0 = default, d1 = default, d2 = default, d3 = default;
            Vector512<double> e0 = default, e1 = default, e2 = default, e3 = default;
            Vector256<double> y0 = default, y1 = default, y2 = default, y3 = default;
            ref double x1 = ref Unsafe.Add(ref x, k);
            ref double x2 = ref Unsafe.Add(ref x1, k);
            ref double x3 = ref Unsafe.Add(ref x2, k);
            ref double wp = ref w;
            nuint tOff = (nuint)tailOffset;
            for (int p = 0; p < k; p++)
            {
                var wa = Vector512.LoadUnsafe(ref wp);
                var wb = TC.Zmm >= 2 ? Vector512.LoadUnsafe(ref wp, 8) : default;
                var wd = TC.Zmm >= 3 ? Vector512.LoadUnsafe(ref wp, 16) : default;
                var we = TC.Tail == 8 ? Vector512.LoadUnsafe(ref wp, tOff) : default;
                var wy = TC.Tail == 4 ? Vector256.LoadUnsafe(ref wp, tOff) : default;
                double x0p = Unsafe.Add(ref x, p), x1p = Unsafe.Add(ref x1, p), x2p = Unsafe.Add(ref x2, p), x3p = Unsafe.Add(ref x3, p);
                var s = Vector512.Create(x0p);
                a0 = Vector512.FusedMultiplyAdd(s, wa, a0);
                if (TC.Zmm >= 2) b0 = Vector512.FusedMultiplyAdd(s, wb, b0);
                if (TC.Zmm >= 3) d0 = Vector512.FusedMultiplyAdd(s, wd, d0);
                if (TC.Tail == 8) e0 = Vector512.FusedMultiplyAdd(s, we, e0);
                if (TC.Tail == 4) y0 = Vector256.FusedMultiplyAdd(Vector256.Create(x0p), wy, y0);
                s = Vector512.Create(x1p);
                a1 = Vector512.FusedMultiplyAdd(s, wa, a1);
                if (TC.Zmm >= 2) b1 = Vector512.FusedMultiplyAdd(s, wb, b1);
                if (TC.Zmm >= 3) d1 = Vector512.FusedMultiplyAdd(s, wd, d1);
                if (TC.Tail == 8) e1 = Vector512.FusedMultiplyAdd(s, we, e1);
                if (TC.Tail == 4) y1 = Vector256.FusedMultiplyAdd(Vector256.Create(x1p), wy, y1);
                s = Vector512.Create(x2p);
                a2 = Vector512.FusedMultiplyAdd(s, wa, a2);
                if (TC.Zmm >= 2) b2 = Vector512.FusedMultiplyAdd(s, wb, b2);
                if (TC.Zmm >= 3) d2 = Vector512.FusedMultiplyAdd(s, wd, d2);
                if (TC.Tail == 8) e2 = Vector512.FusedMultiplyAdd(s, we, e2);
                if (TC.Tail == 4) y2 = Vector256.FusedMultiplyAdd(Vector256.Create(x2p), wy, y2);
                s = Vector512.Create(x3p);
                a3 = Vector512.FusedMultiplyAdd(s, wa, a3);
                if (TC.Zmm >= 2) b3 = Vector512.FusedMultiplyAdd(s, wb, b3);
                if (TC.Zmm >= 3) d3 = Vector512.FusedMultiplyAdd(s, wd, d3);
                if (TC.Tail == 8) e3 = Vector512.FusedMultiplyAdd(s, we, e3);
                if (TC.Tail == 4) y3 = Vector256.FusedMultiplyAdd(Vector256.Create(x3p), wy, y3);
                wp = ref Unsafe.Add(ref wp, o);
            }
            ref double c1 = ref Unsafe.Add(ref c, o);
            ref double c2 = ref Unsafe.Add(ref c1, o);
            ref double c3 = ref Unsafe.Add(ref c2, o);
            if (skip <= 0) Row<TC>(ref c, a0, b0, d0, e0, y0, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
            if (skip <= 1) Row<TC>(ref c1, a1, b1, d1, e1, y1, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
            if (skip <= 2) Row<TC>(ref c2, a2, b2, d2, e2, y2, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
            Row<TC>(ref c3, a3, b3, d3, e3, y3, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        }
    }

    /// <summary>Stores one row of a <see cref="Strip{TC}"/> or <see cref="Strip8{TC}"/>, the tail vector last.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Row<TC>(ref double c, Vector512<double> a, Vector512<double> b, Vector512<double> d, Vector512<double> e, Vector256<double> y,
        bool accumulate, bool hasBias, ref double bias, nuint tOff, Vector512<double> freshZ, Vector256<double> freshY) where TC : struct, IColumns
    {
        var all = Vector512<double>.AllBitsSet;
        if (TC.Zmm >= 1) Put(a, ref c, 0, accumulate, hasBias, ref bias, all);
        if (TC.Zmm >= 2) Put(b, ref c, 8, accumulate, hasBias, ref bias, all);
        if (TC.Zmm >= 3) Put(d, ref c, 16, accumulate, hasBias, ref bias, all);
        if (TC.Tail == 8) Put(e, ref c, tOff, accumulate, hasBias, ref bias, freshZ);
        if (TC.Tail == 4) Put(y, ref Unsafe.Add(ref c, tOff), accumulate, hasBias, ref Unsafe.Add(ref bias, hasBias ? (int)tOff : 0), freshY);
    }

    /// <summary>Four rows × four columns (a ymm), for 4 ≤ o &lt; 8; rows below <paramref name="skip"/> are not stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block4x4(ref double x, int k, ref double w, int o, ref double c, bool accumulate, bool hasBias, ref double bias, int skip, Vector256<double> fresh)
    {
        Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
        ref double x1 = ref Unsafe.Add(ref x, k);
        ref double x2 = ref Unsafe.Add(ref x1, k);
        ref double x3 = ref Unsafe.Add(ref x2, k);
        ref double wp = ref w;
        for (int p = 0; p < k; p++)
        {
            var w0 = Vector256.LoadUnsafe(ref wp);
            a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, p)), w0, a0);
            a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x1, p)), w0, a1);
            a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x2, p)), w0, a2);
            a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x3, p)), w0, a3);
            wp = ref Unsafe.Add(ref wp, o);
        }
        if (skip <= 0) Put(a0, ref c, accumulate, hasBias, ref bias, fresh);
        ref double c1 = ref Unsafe.Add(ref c, o);
        if (skip <= 1) Put(a1, ref c1, accumulate, hasBias, ref bias, fresh);
        ref double c2 = ref Unsafe.Add(ref c1, o);
        if (skip <= 2) Put(a2, ref c2, accumulate, hasBias, ref bias, fresh);
        Put(a3, ref Unsafe.Add(ref c2, o), accumulate, hasBias, ref bias, fresh);
    }

    /// <summary>Stores a finished chain: + old C (accumulate; lanes outside <paramref name="fresh"/> keep the stored value) or + bias.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector512<double> v, ref double c, nuint offset, bool accumulate, bool hasBias, ref double bias, Vector512<double> fresh)
    {
        if (accumulate)
        {
            var old = Vector512.LoadUnsafe(ref c, offset);
            v = Vector512.ConditionalSelect(fresh, v + old, old);
        }
        else if (hasBias) v += Vector512.LoadUnsafe(ref bias, offset);
        v.StoreUnsafe(ref c, offset);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put(Vector256<double> v, ref double c, bool accumulate, bool hasBias, ref double bias, Vector256<double> fresh)
    {
        if (accumulate)
        {
            var old = Vector256.LoadUnsafe(ref c);
            v = Vector256.ConditionalSelect(fresh, v + old, old);
        }
        else if (hasBias) v += Vector256.LoadUnsafe(ref bias);
        v.StoreUnsafe(ref c);
    }

    private struct Z0Y : IColumns { public static int Zmm => 0; public static int Tail => 4; }
    private struct Z0Z : IColumns { public static int Zmm => 0; public static int Tail => 8; }

    /// <summary>
    /// Eight rows × all o columns of C (X rows at <paramref name="x"/>, C rows at <paramref name="c"/>), by column
    /// groups of at most three vectors — 24 accumulators in registers — so each W vector loaded serves eight rows,
    /// not four (<see cref="Strip{TC}"/>). Groups: three zmm at a time, then the zmm left over with the tail vector
    /// (at <paramref name="tailAt"/>, −1 for none). Same chains as <see cref="Strip{TC}"/>, so the same bits.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Rows8(ref double x, int k, ref double w, int o, ref double c, bool accumulate, bool hasBias, ref double bias,
        int tailAt, Vector512<double> freshZ, Vector256<double> freshY)
    {
        int nz = o / 8, rem = o % 8;
        int full = nz / 3 * 24, left = nz % 3;
        for (int j = 0; j < full; j += 24)
            Strip8<Z3>(ref x, k, ref Unsafe.Add(ref w, j), o, ref Unsafe.Add(ref c, j), accumulate, hasBias, ref Unsafe.Add(ref bias, hasBias ? j : 0), 0, freshZ, freshY);
        if (left == 0 && tailAt < 0) return;
        int t = tailAt < 0 ? 0 : tailAt - full;
        ref double wj = ref Unsafe.Add(ref w, full);
        ref double cj = ref Unsafe.Add(ref c, full);
        ref double bj = ref Unsafe.Add(ref bias, hasBias ? full : 0);
        switch (left, tailAt < 0 ? 0 : rem <= 4 ? 4 : 8)
        {
            case (0, 4): Strip8<Z0Y>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            case (0, _): Strip8<Z0Z>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            case (1, 0): Strip8<Z1>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            case (1, 4): Strip8<Z1Y>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            case (1, _): Strip8<Z1Z>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            case (_, 0): Strip8<Z2>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            case (_, 4): Strip8<Z2Y>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
            default: Strip8<Z2Z>(ref x, k, ref wj, o, ref cj, accumulate, hasBias, ref bj, t, freshZ, freshY); break;
        }
    }

    /// <summary>Eight rows × the columns of <typeparamref name="TC"/> (at most three vectors, the tail at <paramref name="tailOffset"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Strip8<TC>(ref double x, int k, ref double w, int o, ref double c, bool accumulate, bool hasBias, ref double bias,
        int tailOffset, Vector512<double> freshZ, Vector256<double> freshY) where TC : struct, IColumns
    {
        // Accumulators: u (first zmm), v (second zmm), t (third zmm, or the zmm tail), y (ymm tail), per row 0..7.
        Vector512<double> u0 = default, u1 = default, u2 = default, u3 = default, u4 = default, u5 = default, u6 = default, u7 = default;
        Vector512<double> v0 = default, v1 = default, v2 = default, v3 = default, v4 = default, v5 = default, v6 = default, v7 = default;
        Vector512<double> t0 = default, t1 = default, t2 = default, t3 = default, t4 = default, t5 = default, t6 = default, t7 = default;
        Vector256<double> y0 = default, y1 = default, y2 = default, y3 = default, y4 = default, y5 = default, y6 = default, y7 = default;
        // The third vector: the third zmm, else a zmm tail.
        bool third = TC.Zmm >= 3 || TC.Tail == 8;
        nuint thirdAt = TC.Zmm >= 3 ? 16 : (nuint)tailOffset;
        nuint tOff = (nuint)tailOffset;
        ref double wp = ref w;
        for (int p = 0; p < k; p++)
        {
            var wu = TC.Zmm >= 1 ? Vector512.LoadUnsafe(ref wp) : default;
            var wv = TC.Zmm >= 2 ? Vector512.LoadUnsafe(ref wp, 8) : default;
            var wt = third ? Vector512.LoadUnsafe(ref wp, thirdAt) : default;
            var wy = TC.Tail == 4 ? Vector256.LoadUnsafe(ref wp, tOff) : default;
            Step(Unsafe.Add(ref x, p), wu, wv, wt, wy, ref u0, ref v0, ref t0, ref y0);
            Step(Unsafe.Add(ref x, k + p), wu, wv, wt, wy, ref u1, ref v1, ref t1, ref y1);
            Step(Unsafe.Add(ref x, 2 * k + p), wu, wv, wt, wy, ref u2, ref v2, ref t2, ref y2);
            Step(Unsafe.Add(ref x, 3 * k + p), wu, wv, wt, wy, ref u3, ref v3, ref t3, ref y3);
            Step(Unsafe.Add(ref x, 4 * k + p), wu, wv, wt, wy, ref u4, ref v4, ref t4, ref y4);
            Step(Unsafe.Add(ref x, 5 * k + p), wu, wv, wt, wy, ref u5, ref v5, ref t5, ref y5);
            Step(Unsafe.Add(ref x, 6 * k + p), wu, wv, wt, wy, ref u6, ref v6, ref t6, ref y6);
            Step(Unsafe.Add(ref x, 7 * k + p), wu, wv, wt, wy, ref u7, ref v7, ref t7, ref y7);
            wp = ref Unsafe.Add(ref wp, o);
        }
        Row<TC>(ref c, u0, v0, TC.Zmm >= 3 ? t0 : default, TC.Tail == 8 ? t0 : default, y0, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, o), u1, v1, TC.Zmm >= 3 ? t1 : default, TC.Tail == 8 ? t1 : default, y1, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, 2 * o), u2, v2, TC.Zmm >= 3 ? t2 : default, TC.Tail == 8 ? t2 : default, y2, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, 3 * o), u3, v3, TC.Zmm >= 3 ? t3 : default, TC.Tail == 8 ? t3 : default, y3, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, 4 * o), u4, v4, TC.Zmm >= 3 ? t4 : default, TC.Tail == 8 ? t4 : default, y4, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, 5 * o), u5, v5, TC.Zmm >= 3 ? t5 : default, TC.Tail == 8 ? t5 : default, y5, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, 6 * o), u6, v6, TC.Zmm >= 3 ? t6 : default, TC.Tail == 8 ? t6 : default, y6, accumulate, hasBias, ref bias, tOff, freshZ, freshY);
        Row<TC>(ref Unsafe.Add(ref c, 7 * o), u7, v7, TC.Zmm >= 3 ? t7 : default, TC.Tail == 8 ? t7 : default, y7, accumulate, hasBias, ref bias, tOff, freshZ, freshY);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Step(double xp, Vector512<double> wu, Vector512<double> wv, Vector512<double> wt, Vector256<double> wy,
            ref Vector512<double> u, ref Vector512<double> v, ref Vector512<double> t, ref Vector256<double> y)
        {
            var s = Vector512.Create(xp);
            if (TC.Zmm >= 1) u = Vector512.FusedMultiplyAdd(s, wu, u);
            if (TC.Zmm >= 2) v = Vector512.FusedMultiplyAdd(s, wv, v);
            if (TC.Zmm >= 3 || TC.Tail == 8) t = Vector512.FusedMultiplyAdd(s, wt, t);
            if (TC.Tail == 4) y = Vector256.FusedMultiplyAdd(Vector256.Create(xp), wy, y);
        }
    }
}
