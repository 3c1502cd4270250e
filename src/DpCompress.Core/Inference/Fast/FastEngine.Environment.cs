using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpCompress.Core.Inference.Fast;

public sealed partial class FastEngine
{
    /// <summary>
    /// Environment pass: per real slot s of centre atom i (neighbour j, dR = r_j − r_i, r = |dR|), the switched
    /// inverse distance S(r) = 1/r for r &lt; Rmin (≤ with DeePMD-kit), (1/r)·(u³(−6u² + 15u − 10) + 1) with
    /// u = (r − Rmin)/(Rmax − Rmin) up to Rmax, 0 beyond; R̃ = (S, S·x/r, S·y/r, S·z/r) and R = (R̃ − davg[t_i]) /
    /// dstd[t_i] (SPEC §2), plus the factors the backward's chain rule needs (S′/r, f = S/r, f′/r). Real slots are
    /// copied from the sparse [N, T, K] neighbour list into compact (atom, neighbour type) order.
    /// </summary>
    private sealed partial class Evaluation
    {
        /// <summary>R_s = (R̃(dR_s) − davg[t_i]) / dstd[t_i] for every real slot of a chunk of atoms.</summary>
        private void EnvironmentChunk(int chunk, Workspace ws) => EnvironmentAtoms(chunk * AtomChunk, Math.Min(_n, (chunk + 1) * AtomChunk), false);

        /// <summary>The environment of atoms first..stop−1: in atom order, or (<paramref name="sorted"/>) of the atoms at those type-sorted positions.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void EnvironmentAtoms(int first, int stop, bool sorted)
        {
            var delta = _nl.Delta;
            double rmin = _e._rmin, rmax = _e._rmax, invWidth = 1.0 / (rmax - rmin);
            bool includeRmin = _e._conv.SwitchIncludesRmin;
            var vInnerLimit = Vector256.Create(includeRmin ? Math.BitIncrement(rmin) : rmin);   // r < limit ⇔ r ≤ Rmin when included
            var vRmin = Vector256.Create(rmin); var vRmax = Vector256.Create(rmax); var vInvWidth = Vector256.Create(invWidth);
            var one = Vector256.Create(1.0); var zero = Vector256<double>.Zero;
            var c6 = Vector256.Create(-6.0); var c15 = Vector256.Create(15.0); var c10 = Vector256.Create(10.0); var c30 = Vector256.Create(-30.0);
            ref double rr = ref MemoryMarshal.GetArrayDataReference(_r);
            ref double gr = ref MemoryMarshal.GetArrayDataReference(_geo);
            for (int at = first; at < stop; at++)
            {
                int i = sorted ? _order[at] : at;
                int ti = _types[i];
                double a0 = _e._davg[ti * 4], a1 = _e._davg[ti * 4 + 1], a2 = _e._davg[ti * 4 + 2], a3 = _e._davg[ti * 4 + 3];
                double s0 = 1.0 / _e._dstd[ti * 4], s1 = 1.0 / _e._dstd[ti * 4 + 1], s2 = 1.0 / _e._dstd[ti * 4 + 2], s3 = 1.0 / _e._dstd[ti * 4 + 3];
                var va0 = Vector256.Create(a0); var va1 = Vector256.Create(a1); var va2 = Vector256.Create(a2); var va3 = Vector256.Create(a3);
                var vs0 = Vector256.Create(s0); var vs1 = Vector256.Create(s1); var vs2 = Vector256.Create(s2); var vs3 = Vector256.Create(s3);
                double maxS = 0;
                bool any = false;
                var vmax = Vector256.Create(double.NegativeInfinity);
                foreach (int t in _present)
                {
                    int cnt = _nl.Counts[i * _t + t];
                    int slot0 = (i * _t + t) * _k;
                    int idx0 = _blockStart[i * _t + t];
                    // The neighbour list is [N, T, K] with mostly empty slots: prefetch real slots ahead so the copies
                    // below do not wait on L3/DRAM: two blocks ahead (a fixed stride of K slots) in atom order, the
                    // same type's block of the next atom visited in type-sorted order (there the next atom is not i + 1).
                    if (Sse.IsSupported && (!sorted || at + 1 < stop))
                    {
                        int ahead = sorted ? (_order[at + 1] * _t + t) * _k : slot0 + 2 * _k;
                        if ((ahead + 16) * 3 <= delta.Length)
                            unsafe
                            {
                                byte* pd = (byte*)Unsafe.AsPointer(ref delta[ahead * 3]);
                                for (int l = 0; l < 6; l++) Sse.Prefetch0(pd + 64 * l);
                                Sse.Prefetch0(Unsafe.AsPointer(ref _nl.Neighbor[ahead]));
                            }
                    }
                    _nl.Neighbor.AsSpan(slot0, cnt).CopyTo(_nbr.AsSpan(idx0, cnt));
                    foreach (int j in _nbr.AsSpan(idx0, cnt))
                        if ((uint)j >= (uint)_n) _badNeighbor = i;
                    delta.AsSpan(slot0 * 3, cnt * 3).CopyTo(_dlt.AsSpan(idx0 * 3, cnt * 3));
                    int s = 0;
                    if (Avx.IsSupported)
                    {
                        // Four slots per step, the scalar formulas of Geometry.Switch evaluated branch-free.
                        for (; s + 4 <= cnt; s += 4)
                        {
                            int d = (slot0 + s) * 3;
                            var x = Vector256.Create(delta[d], delta[d + 3], delta[d + 6], delta[d + 9]);
                            var y = Vector256.Create(delta[d + 1], delta[d + 4], delta[d + 7], delta[d + 10]);
                            var z = Vector256.Create(delta[d + 2], delta[d + 5], delta[d + 8], delta[d + 11]);
                            var r = Vector256.Sqrt(x * x + y * y + z * z);
                            var pos = Vector256.GreaterThan(r, zero);
                            var inv = Vector256.ConditionalSelect(pos, one / r, zero);
                            var inner = pos & Vector256.LessThan(r, vInnerLimit);
                            var mid = Vector256.GreaterThan(r, vRmin) & Vector256.LessThan(r, vRmax);
                            var u = (r - vRmin) * vInvWidth;
                            var u2 = u * u; var u3 = u2 * u;
                            var pu = u3 * (c6 * u2 + c15 * u - c10) + one;
                            var um1 = u - one;
                            var dp = c30 * u2 * um1 * um1;
                            var swMid = pu * inv;
                            var dsMid = (dp * vInvWidth - swMid) * inv;
                            var sw = Vector256.ConditionalSelect(inner, inv, Vector256.ConditionalSelect(mid, swMid, zero));
                            var dsdr = Vector256.ConditionalSelect(inner, -(inv * inv), Vector256.ConditionalSelect(mid, dsMid, zero));
                            var f = sw * inv;
                            var sv = (sw - va0) * vs0;
                            vmax = Vector256.Max(vmax, sv);
                            var q1 = (f * x - va1) * vs1; var q2 = (f * y - va2) * vs2; var q3 = (f * z - va3) * vs3;
                            int idx = idx0 + s;
                            Transpose4(sv, q1, q2, q3, ref Unsafe.Add(ref rr, 4 * idx));
                            Transpose4(dsdr * inv, f, (dsdr - f) * inv * inv, zero, ref Unsafe.Add(ref gr, 4 * idx));
                        }
                        if (s > 0)
                        {
                            double m = Math.Max(Math.Max(vmax[0], vmax[1]), Math.Max(vmax[2], vmax[3]));
                            if (!any || m > maxS) { maxS = m; any = true; }
                        }
                    }
                    for (; s < cnt; s++)
                    {
                        int d = (slot0 + s) * 3;
                        double x = delta[d], y = delta[d + 1], z = delta[d + 2];
                        int idx = idx0 + s;
                        double r = Math.Sqrt(x * x + y * y + z * z);
                        double inv = r > 0 ? 1.0 / r : 0;
                        double sw = Geometry.Switch(r, inv, rmin, rmax, invWidth, out double dsdr, includeRmin);
                        double f = sw * inv;
                        int gq = idx * 4;
                        _geo[gq] = dsdr * inv;
                        _geo[gq + 1] = f;
                        _geo[gq + 2] = (dsdr - f) * inv * inv;
                        _geo[gq + 3] = 0;
                        int q = idx * 4;
                        double sv = (sw - a0) * s0;
                        _r[q] = sv;
                        _r[q + 1] = (f * x - a1) * s1;
                        _r[q + 2] = (f * y - a2) * s2;
                        _r[q + 3] = (f * z - a3) * s3;
                        if (!any || sv > maxS) { maxS = sv; any = true; }
                    }
                }
                _maxS[i] = maxS;
            }
        }

        /// <summary>Stores four column vectors (one lane per slot) as four rows [4 slots, 4].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void Transpose4(Vector256<double> c0, Vector256<double> c1, Vector256<double> c2, Vector256<double> c3, ref double dst)
        {
            var t0 = Avx.UnpackLow(c0, c1);   // c0[0] c1[0] c0[2] c1[2]
            var t1 = Avx.UnpackHigh(c0, c1);  // c0[1] c1[1] c0[3] c1[3]
            var t2 = Avx.UnpackLow(c2, c3);
            var t3 = Avx.UnpackHigh(c2, c3);
            Avx.Permute2x128(t0, t2, 0x20).StoreUnsafe(ref dst);
            Avx.Permute2x128(t1, t3, 0x20).StoreUnsafe(ref dst, 4);
            Avx.Permute2x128(t0, t2, 0x31).StoreUnsafe(ref dst, 8);
            Avx.Permute2x128(t1, t3, 0x31).StoreUnsafe(ref dst, 12);
        }
    }
}
