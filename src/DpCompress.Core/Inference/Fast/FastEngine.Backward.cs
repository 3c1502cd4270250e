using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpCompress.Core.Inference.Fast;

public sealed partial class FastEngine
{
    /// <summary>Backward pass per slot: dE/dA_i → u, v per slot → chain rule to dE/d(dR), centre forces and per-atom virial.</summary>
    private sealed partial class Evaluation
    {
        /// <summary>
        /// dE/dA_i from dE/dD_i, then dE/d(dR) for every real slot, centre forces and per-atom virial,
        /// for a chunk of atoms of one centre type visited pair-major (as <see cref="DescriptorItem"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackwardItem((int Type, int Start, int Count) item, Workspace ws)
        {
            int m = _m, m2 = _m2;
            int ti = item.Type, end = item.Start + item.Count;
            var table = _e._table;
            var g = ws.G.AsSpan();
            var gpBuf = ws.Gp.AsSpan();
            Span<double> uv = stackalloc double[8];
            bool blocks = table is { BlockKernels: true };
            int ds = blocks ? table!.PaddedWidth : m;   // block kernels read dE/dA_i zero-padded to [4, mp]
            var daAll = blocks ? ws.APad : ws.DA;
            for (int p = item.Start; p < end; p++)
            {
                int i = _order[p];
                // dA[a,κ] = Σ_{ν<M2} dD[κ,ν]·A[a,ν] + [κ<M2] Σ_μ dD[μ,κ]·A[a,μ]
                DescriptorKernels.DescriptorBackward(_a.AsSpan(i * 4 * m, 4 * m), _dd.AsSpan(p * m * m2, m * m2), m, m2, daAll.AsSpan((p - item.Start) * 4 * ds, 4 * ds), ds);
                _fc.AsSpan(3 * i, 3).Clear();
                _wa.AsSpan(9 * i, 9).Clear();
            }
            // dE/dR̃_a = c·(dE/dR_a)/dstd_a
            var cv = Vector256.Create(_c / _e._dstd[ti * 4], _c / _e._dstd[ti * 4 + 1], _c / _e._dstd[ti * 4 + 2], _c / _e._dstd[ti * 4 + 3]);
            if (blocks)
            {
                BackwardItemBlocks(item, table!, cv, ws);
                return;
            }
            bool pairs = table is not null && table.PairKernels;
            foreach (int t in _present)
            {
                int net = _e.NetIndex(ti, t);
                for (int p = item.Start; p < end; p++)
                {
                    int i = _order[p];
                    var da = ws.DA.AsSpan((p - item.Start) * 4 * m, 4 * m);
                    int cnt = _nl.Counts[i * _t + t];
                    int idx0 = _blockStart[i * _t + t];
                    Vector256<double> f = default, wx = default, wy = default, wz = default;
                    if (pairs)
                    {
                        if (p + 1 < end)
                        {
                            int nb = _order[p + 1] * _t + t;
                            for (int idx = _blockStart[nb], stop = idx + _nl.Counts[nb]; idx < stop; idx++) table!.Prefetch(_off[idx]);
                        }
                        for (int s = 0; s < cnt; s += 2)
                        {
                            int ia = idx0 + s, ib = s + 1 < cnt ? ia + 1 : ia;
                            table!.ContractPair(_off[ia], _xl[ia], _ex[ia], _off[ib], _xl[ib], _ex[ib], da, out var uA, out var vA, out var uB, out var vB);
                            Chain(ia, uA, vA, cv, ref f, ref wx, ref wy, ref wz);
                            if (ib != ia) Chain(ib, uB, vB, cv, ref f, ref wx, ref wy, ref wz);
                        }
                    }
                    else
                    {
                        for (int s = 0; s < cnt; s++)
                        {
                            int idx = idx0 + s;
                            // u_a = Σ_μ dA[a,μ] G_μ, v_a = Σ_μ dA[a,μ] G′_μ
                            if (table is null) DenseKernels.Contract(da, _g.AsSpan(idx * m, m), _gp.AsSpan(idx * m, m), uv);
                            else table.Contract(net, _r[idx * 4], da, uv, g, gpBuf);
                            Chain(idx, Vector256.Create(uv[0], uv[1], uv[2], uv[3]), Vector256.Create(uv[4], uv[5], uv[6], uv[7]), cv, ref f, ref wx, ref wy, ref wz);
                        }
                    }
                    _fc[3 * i] += f[0]; _fc[3 * i + 1] += f[1]; _fc[3 * i + 2] += f[2];
                    var w = _wa.AsSpan(9 * i, 9);
                    w[0] += wx[0]; w[1] += wx[1]; w[2] += wx[2];
                    w[3] += wy[0]; w[4] += wy[1]; w[5] += wy[2];
                    w[6] += wz[0]; w[7] += wz[1]; w[8] += wz[2];
                }
            }
        }

        /// <summary>
        /// The per-slot part of <see cref="BackwardItem"/> with the register-blocked table kernel: from dE/dA_i
        /// zero-padded to [4, mp] (written by <see cref="BackwardItem"/>), per (neighbour type, atom) block
        /// <see cref="TableKernel.ContractBlock"/> and the chain rule of every slot in slot order.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void BackwardItemBlocks((int Type, int Start, int Count) item, TableKernel table, Vector256<double> cv, Workspace ws)
        {
            int mp = table.PaddedWidth;
            int end = item.Start + item.Count;
            var dpad = ws.APad.AsSpan(0, item.Count * 4 * mp);   // dE/dA_i, zero-padded, from BackwardItem
            var uv = ws.UV.AsSpan();
            // Chunked passes: the chunk's forward ran on this workspace right before and stored each slot's (G, G′)
            // (Workspace.Slopes), read here in the same visit order instead of the table rows; the rows are neither
            // re-read nor prefetched.
            bool prefetch = _e.PassOrder != TablePassOrder.AtomChunks;
            bool stored = !prefetch;
            int sw = table.SlopeWidth, pos = 0;
            foreach (int t in _present)
            {
                for (int p = item.Start; p < end; p++)
                {
                    int i = _order[p];
                    int cnt = _nl.Counts[i * _t + t];
                    int idx0 = _blockStart[i * _t + t];
                    if (p + 1 < end && prefetch)
                    {
                        int nb = _order[p + 1] * _t + t;
                        for (int idx = _blockStart[nb], stop = idx + _nl.Counts[nb]; idx < stop; idx++) table.Prefetch(_off[idx]);
                    }
                    table.ContractBlock(_off.AsSpan(idx0, cnt), _xl.AsSpan(idx0, cnt), _ex.AsSpan(idx0, cnt), dpad.Slice((p - item.Start) * 4 * mp, 4 * mp), uv, stored ? ws.Slopes.AsSpan(pos * sw, cnt * sw) : default);
                    pos += cnt;
                    var acc = new ChainSums();
                    int s = 0;
                    for (; s + 4 <= cnt; s += 4) Chain4(idx0 + s, uv.Slice(2 * s, 8), cv, ref acc);
                    Vector256<double> f = default, wx = default, wy = default, wz = default;
                    for (; s < cnt; s++)
                        Chain(idx0 + s, uv[2 * s], uv[2 * s + 1], cv, ref f, ref wx, ref wy, ref wz);
                    _fc[3 * i] += f[0] + Vector256.Sum(acc.Fx); _fc[3 * i + 1] += f[1] + Vector256.Sum(acc.Fy); _fc[3 * i + 2] += f[2] + Vector256.Sum(acc.Fz);
                    var w = _wa.AsSpan(9 * i, 9);
                    w[0] += wx[0] + Vector256.Sum(acc.Wxx); w[1] += wx[1] + Vector256.Sum(acc.Wxy); w[2] += wx[2] + Vector256.Sum(acc.Wxz);
                    w[3] += wy[0] + Vector256.Sum(acc.Wyx); w[4] += wy[1] + Vector256.Sum(acc.Wyy); w[5] += wy[2] + Vector256.Sum(acc.Wyz);
                    w[6] += wz[0] + Vector256.Sum(acc.Wzx); w[7] += wz[1] + Vector256.Sum(acc.Wzy); w[8] += wz[2] + Vector256.Sum(acc.Wzz);
                }
            }
        }

        /// <summary>Per-lane sums of <see cref="Chain4"/> over a block: centre force and the nine virial entries (one slot per lane).</summary>
        private struct ChainSums
        {
            public Vector256<double> Fx, Fy, Fz, Wxx, Wxy, Wxz, Wyx, Wyy, Wyz, Wzx, Wzy, Wzz;
        }

        /// <summary>
        /// <see cref="Chain"/> for four consecutive slots, one slot per lane (u, v, R and the geometry factors
        /// transposed from slot rows into lanes): the same formulas, with the force and virial summed per lane
        /// into <paramref name="acc"/> (added to the atom's at the end of its block).
        /// </summary>
        /// <param name="idx">First of the four slots.</param>
        /// <param name="uv">[8] (u, v) of the four slots from <see cref="TableKernel.ContractBlock"/>.</param>
        /// <param name="cv">c/dstd_a.</param>
        /// <param name="acc">Per-lane sums.</param>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Chain4(int idx, ReadOnlySpan<Vector256<double>> uv, Vector256<double> cv, ref ChainSums acc)
        {
            Transpose(uv[0], uv[2], uv[4], uv[6], out var u0, out var u1, out var u2, out var u3);
            Transpose(uv[1], uv[3], uv[5], uv[7], out var v0, out var v1, out var v2, out var v3);
            ref double rr = ref _r[4 * idx];
            Transpose(Vector256.LoadUnsafe(ref rr), Vector256.LoadUnsafe(ref rr, 4), Vector256.LoadUnsafe(ref rr, 8), Vector256.LoadUnsafe(ref rr, 12),
                out var r0, out var r1, out var r2, out var r3);
            ref double gg = ref _geo[4 * idx];
            Transpose(Vector256.LoadUnsafe(ref gg), Vector256.LoadUnsafe(ref gg, 4), Vector256.LoadUnsafe(ref gg, 8), Vector256.LoadUnsafe(ref gg, 12),
                out var e0, out var e1, out var e2, out _);
            ref double dd = ref _dlt[3 * idx];
            var x = Vector256.Create(dd, Unsafe.Add(ref dd, 3), Unsafe.Add(ref dd, 6), Unsafe.Add(ref dd, 9));
            var y = Vector256.Create(Unsafe.Add(ref dd, 1), Unsafe.Add(ref dd, 4), Unsafe.Add(ref dd, 7), Unsafe.Add(ref dd, 10));
            var z = Vector256.Create(Unsafe.Add(ref dd, 2), Unsafe.Add(ref dd, 5), Unsafe.Add(ref dd, 8), Unsafe.Add(ref dd, 11));
            // g_a = c_a·(u_a + [a = 0]·Σ_b R_b v_b) / dstd_a
            var vs = Vector256.FusedMultiplyAdd(r3, v3, Vector256.FusedMultiplyAdd(r2, v2, Vector256.FusedMultiplyAdd(r1, v1, r0 * v0)));
            var g0 = Vector256.Create(cv[0]) * (u0 + vs);
            var g1 = Vector256.Create(cv[1]) * u1;
            var g2 = Vector256.Create(cv[2]) * u2;
            var g3 = Vector256.Create(cv[3]) * u3;
            // dE/dd = d·(g0·S′/r + (f′/r)·(g·d)) + f·g
            var radial = Vector256.FusedMultiplyAdd(e2, Vector256.FusedMultiplyAdd(g3, z, Vector256.FusedMultiplyAdd(g2, y, g1 * x)), g0 * e0);
            var gx = Vector256.FusedMultiplyAdd(radial, x, e1 * g1);
            var gy = Vector256.FusedMultiplyAdd(radial, y, e1 * g2);
            var gz = Vector256.FusedMultiplyAdd(radial, z, e1 * g3);
            ref double gr = ref _grad[3 * idx];
            gr = gx[0]; Unsafe.Add(ref gr, 1) = gy[0]; Unsafe.Add(ref gr, 2) = gz[0];
            Unsafe.Add(ref gr, 3) = gx[1]; Unsafe.Add(ref gr, 4) = gy[1]; Unsafe.Add(ref gr, 5) = gz[1];
            Unsafe.Add(ref gr, 6) = gx[2]; Unsafe.Add(ref gr, 7) = gy[2]; Unsafe.Add(ref gr, 8) = gz[2];
            Unsafe.Add(ref gr, 9) = gx[3]; Unsafe.Add(ref gr, 10) = gy[3]; Unsafe.Add(ref gr, 11) = gz[3];
            acc.Fx += gx; acc.Fy += gy; acc.Fz += gz;
            acc.Wxx -= x * gx; acc.Wxy -= x * gy; acc.Wxz -= x * gz;
            acc.Wyx -= y * gx; acc.Wyy -= y * gy; acc.Wyz -= y * gz;
            acc.Wzx -= z * gx; acc.Wzy -= z * gy; acc.Wzz -= z * gz;
        }

        /// <summary>4×4 transpose: lane j of output k is lane k of input j.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Transpose(Vector256<double> a, Vector256<double> b, Vector256<double> c, Vector256<double> d,
            out Vector256<double> r0, out Vector256<double> r1, out Vector256<double> r2, out Vector256<double> r3)
        {
            var t0 = Avx.UnpackLow(a, b);    // a0 b0 a2 b2
            var t1 = Avx.UnpackHigh(a, b);   // a1 b1 a3 b3
            var t2 = Avx.UnpackLow(c, d);
            var t3 = Avx.UnpackHigh(c, d);
            r0 = Avx.Permute2x128(t0, t2, 0x20);
            r1 = Avx.Permute2x128(t1, t3, 0x20);
            r2 = Avx.Permute2x128(t0, t2, 0x31);
            r3 = Avx.Permute2x128(t1, t3, 0x31);
        }

        /// <summary>
        /// Chain rule of one real slot from u_a = Σ_μ dA[a,μ] G_μ and v_a = Σ_μ dA[a,μ] G′_μ:
        /// dE/dR_a = c·(u_a + [a = 0]·Σ_b R_b v_b) (the s = R_0 path enters component 0), divided by
        /// dstd_a (<paramref name="cv"/> = c/dstd); then dE/dd_b = d_b·(g0·S′/r + (f′/r)·(g·d)) + f·g_b
        /// with f = S/r. Writes dE/d(dR) and accumulates the centre force and virial rows
        /// (W_a· −= d_a·dE/d(dR)).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void Chain(int idx, Vector256<double> u, Vector256<double> v, Vector256<double> cv,
            ref Vector256<double> f, ref Vector256<double> wx, ref Vector256<double> wy, ref Vector256<double> wz)
        {
            var r = Vector256.LoadUnsafe(ref _r[4 * idx]);
            double vs = Vector256.Sum(r * v);
            var gv = cv * (u + Vector256.Create(vs, 0, 0, 0));                        // g0, g1, g2, g3
            double x = _dlt[3 * idx], y = _dlt[3 * idx + 1], z = _dlt[3 * idx + 2];
            var d = Vector256.Create(x, y, z, 0);
            var gs = Vector256.Create(gv[1], gv[2], gv[3], 0);                          // g1, g2, g3, 0
            ref double geo = ref _geo[4 * idx];
            double radial = gv[0] * geo + Unsafe.Add(ref geo, 2) * Vector256.Sum(gs * d);
            var gr = Vector256.Create(radial) * d + Vector256.Create(Unsafe.Add(ref geo, 1)) * gs;   // dE/d(dR), 0
            _grad[3 * idx] = gr[0]; _grad[3 * idx + 1] = gr[1]; _grad[3 * idx + 2] = gr[2];
            f += gr;
            wx -= Vector256.Create(x) * gr;
            wy -= Vector256.Create(y) * gr;
            wz -= Vector256.Create(z) * gr;
        }
    }
}
