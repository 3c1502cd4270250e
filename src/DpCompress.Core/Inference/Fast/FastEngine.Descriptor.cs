using System.Runtime.CompilerServices;

namespace DpCompress.Core.Inference.Fast;

public sealed partial class FastEngine
{
    /// <summary>Descriptor pass: A_i = c·Σ_slots R_sᵀ G(s_s) from the embedding outputs (original) or the fused table lookup (compressed), and D_i = A_iᵀ A_i&lt;.</summary>
    private sealed partial class Evaluation
    {
        /// <summary>
        /// A_i = c·(Σ_real R_sᵀ G_s + (K − count)·R_padᵀ G_pad) and D_i = A_iᵀ A_i[:, :M2] for a chunk
        /// of atoms of one centre type, visited pair-major (neighbour type outer, atoms inner) so that
        /// one net's table rows (≈ 0.2 MB) stay in L2 while its slots stream through.
        /// </summary>
        /// <param name="item">Atoms of one centre type.</param>
        /// <param name="ws">Scratch buffers.</param>
        /// <param name="ahead">Chunked passes with block kernels: the item's slots are already located, and the next chunk's rows are fetched while it runs.</param>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void DescriptorItem((int Type, int Start, int Count) item, Workspace ws, LookAhead? ahead = null)
        {
            int m = _m;
            int ti = item.Type, end = item.Start + item.Count;
            var table = _e._table;
            long beyond = 0, outside = 0;
            var g = ws.G.AsSpan();
            if (table is { BlockKernels: true })
            {
                DescriptorItemBlocks(item, table, ws, ahead);
                return;
            }
            for (int p = item.Start; p < end; p++) _a.AsSpan(_order[p] * 4 * m, 4 * m).Clear();
            foreach (int t in _present)
            {
                int net = _e.NetIndex(ti, t);
                var gpad = _e._gPad.AsSpan((ti * _t + t) * m, m);
                bool pairs = table is not null && table.PairKernels;
                if (pairs)
                {
                    // Locate every real slot of the item for this net first (a contiguous compact range;
                    // independent chains) and start fetching the table rows.
                    var (lo, hi) = SlotRange(item, t);
                    for (int idx = lo; idx < hi; idx++)
                    {
                        var zone = table!.Locate(net, _r[idx * 4], out _off[idx], out _xl[idx], out _ex[idx]);
                        if ((zone & TableZone.BeyondTraining) != 0) beyond++;
                        if ((zone & TableZone.OutOfTable) != 0) outside++;
                        if (idx < lo + PrefetchSlots) table.Prefetch(_off[idx]);
                    }
                }
                for (int p = item.Start; p < end; p++)
                {
                    int i = _order[p];
                    var a = _a.AsSpan(i * 4 * m, 4 * m);
                    var a0 = a.Slice(0, m); var a1 = a.Slice(m, m); var a2 = a.Slice(2 * m, m); var a3 = a.Slice(3 * m, m);
                    int cnt = _nl.Counts[i * _t + t];
                    int idx0 = _blockStart[i * _t + t];
                    if (pairs)
                    {
                        // Rows of the next atom's slots into L1 while this atom's slots are accumulated, two per call.
                        if (p + 1 < end)
                        {
                            int nb = _order[p + 1] * _t + t;
                            for (int idx = _blockStart[nb], stop = idx + _nl.Counts[nb]; idx < stop; idx++) table!.Prefetch(_off[idx]);
                        }
                        int pending = -1;
                        for (int s = 0; s < cnt; s++)
                        {
                            int idx = idx0 + s;
                            if (_ex[idx] != 0) { table!.Accumulate(net, _r[idx * 4], _r.AsSpan(idx * 4, 4), a, g); continue; }
                            if (pending < 0) { pending = idx; continue; }
                            table!.AccumulatePair(_off[pending], _xl[pending], _r.AsSpan(pending * 4, 4), _off[idx], _xl[idx], _r.AsSpan(idx * 4, 4), a);
                            pending = -1;
                        }
                        if (pending >= 0)
                            table!.AccumulatePair(_off[pending], _xl[pending], _r.AsSpan(pending * 4, 4), -1, 0, _r.AsSpan(pending * 4, 4), a);
                    }
                    for (int s = 0; s < cnt && !pairs; s++)
                    {
                        int idx = idx0 + s;
                        if (table is null)
                        {
                            var gs = _g.AsSpan(idx * m, m);
                            DenseKernels.Axpy(_r[idx * 4], gs, a0);
                            DenseKernels.Axpy(_r[idx * 4 + 1], gs, a1);
                            DenseKernels.Axpy(_r[idx * 4 + 2], gs, a2);
                            DenseKernels.Axpy(_r[idx * 4 + 3], gs, a3);
                        }
                        else
                        {
                            var zone = table.Accumulate(net, _r[idx * 4], _r.AsSpan(idx * 4, 4), a, g);
                            if ((zone & TableZone.BeyondTraining) != 0) beyond++;
                            if ((zone & TableZone.OutOfTable) != 0) outside++;
                        }
                    }
                    int empty = _e._conv.SlotCount(t, _k) - cnt - (_excludedCount is null ? 0 : _excludedCount[i * _t + t]);
                    if (empty > 0)
                    {
                        if (_e.Padding == PaddingEvaluation.ClosedForm)
                        {
                            for (int c = 0; c < 4; c++)
                                DenseKernels.Axpy(empty * _e._rPad[ti * 4 + c], gpad, a.Slice(c * m, m));
                        }
                        else
                        {
                            for (int s = 0; s < empty; s++)
                            {
                                if (table is null)
                                {
                                    ws.S[0] = _e._rPad[ti * 4];
                                    _e._embedding![ti * _t + t].Forward(ws.S.AsSpan(0, 1), g, ws.Gp, ws.BufA, ws.BufB);
                                }
                                else table.Value(net, _e._rPad[ti * 4], g);
                                for (int c = 0; c < 4; c++)
                                    DenseKernels.Axpy(_e._rPad[ti * 4 + c], g, a.Slice(c * m, m));
                            }
                        }
                    }
                }
            }
            for (int p = item.Start; p < end; p++)
            {
                var a = _a.AsSpan(_order[p] * 4 * m, 4 * m);
                for (int q = 0; q < 4 * m; q++) a[q] *= _c;
                DescriptorKernels.Descriptor(a, m, _m2, _d.AsSpan(p * m * _m2, m * _m2));
            }
            if (beyond != 0) Interlocked.Add(ref _beyond, beyond);
            if (outside != 0) Interlocked.Add(ref _outside, outside);
        }

        /// <summary>
        /// <see cref="DescriptorItem"/> with the register-blocked table kernel: per (neighbour type, atom)
        /// block, the slots inside the table in slot order (<see cref="TableKernel.AccumulateBlock"/>), then
        /// those beyond it, then the padding term, into a padded [4, mp] accumulator; then A_i = c·A and D_i.
        /// With <paramref name="ahead"/> the slots were located one chunk earlier (<see cref="LookAhead"/>),
        /// the kernel fetches each slot's row <see cref="LeadSlots"/> visit positions ahead (into the next chunk near the end),
        /// and every slot's (G, G′) is stored for the chunk's backward (<see cref="Workspace.Slopes"/>).
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void DescriptorItemBlocks((int Type, int Start, int Count) item, TableKernel table, Workspace ws, LookAhead? ahead)
        {
            int m = _m, mp = table.PaddedWidth;
            int ti = item.Type, end = item.Start + item.Count;
            long beyond = 0, outside = 0;
            var g = ws.G.AsSpan();
            var apad = ws.APad.AsSpan(0, item.Count * 4 * mp);
            apad.Clear();
            // Chunked passes: keep every slot's (G, G′) for the chunk's backward (it then reads no table rows).
            bool store = ahead is not null;
            int sw = table.SlopeWidth, pos = 0;
            if (store)
            {
                int slots = 0;
                foreach (int t in _present) { var (l, h) = SlotRange(item, t); slots += h - l; }
                if (ws.Slopes.Length < slots * sw) ws.Slopes = new double[Math.Max(slots * sw, 2 * ws.Slopes.Length)];
            }
            foreach (int t in _present)
            {
                int net = _e.NetIndex(ti, t);
                var gpad = _e._gPad.AsSpan((ti * _t + t) * m, m);
                var (lo, hi) = SlotRange(item, t);
                bool beyondTable;   // some slot of this net has extra ≠ 0
                if (ahead is not null)
                    beyondTable = ahead.Beyond[t];
                else
                {
                    long outsideBefore = outside;
                    table.LocateRun(net, _r.AsSpan(lo * 4, (hi - lo) * 4), _off.AsSpan(lo, hi - lo), _xl.AsSpan(lo, hi - lo), _ex.AsSpan(lo, hi - lo), ref beyond, ref outside);
                    beyondTable = outside != outsideBefore;
                }
                // Phase by phase: rows into L1 ahead of use (the first few, then the next atom's). Chunked passes
                // fetch each row LeadSlots slots ahead inside the kernel (LookAhead). Fetching the next atom's rows
                // on top (with the earlier one-chunk-ahead fetch into L2) only added instructions: with rows that
                // stay in cache (o3 dx 0.1) the forward took 0.83-0.92 ms with it, 0.70-0.76 without (three
                // alternating runs, 500-atom alloy5 cell); with the rows in L3 or DRAM no difference showed.
                bool toL1 = ahead is null;
                for (int idx = lo; toL1 && idx < Math.Min(hi, lo + PrefetchSlots); idx++) table.Prefetch(_off[idx]);
                for (int p = item.Start; p < end; p++)
                {
                    int i = _order[p];
                    var a = apad.Slice((p - item.Start) * 4 * mp, 4 * mp);
                    int cnt = _nl.Counts[i * _t + t];
                    int idx0 = _blockStart[i * _t + t];
                    if (toL1 && p + 1 < end)
                    {
                        int nb = _order[p + 1] * _t + t;
                        for (int idx = _blockStart[nb], stop = idx + _nl.Counts[nb]; idx < stop; idx++) table.Prefetch(_off[idx]);
                    }
                    Span<int> fetch = default;
                    if (ahead is not null)
                    {
                        // The rows of the slots LeadSlots visit positions ahead (pos counts this chunk's slots in visit order).
                        if (ws.Fetch.Length < cnt) ws.Fetch = new int[Math.Max(cnt, 2 * ws.Fetch.Length)];
                        fetch = ws.Fetch.AsSpan(0, cnt);
                        for (int q = 0; q < cnt; q++) fetch[q] = ahead.At(pos + LeadSlots + q);
                    }
                    table.AccumulateBlock(_off.AsSpan(idx0, cnt), _xl.AsSpan(idx0, cnt), _ex.AsSpan(idx0, cnt), _r.AsSpan(idx0 * 4, cnt * 4), a, store ? ws.Slopes.AsSpan(pos * sw, cnt * sw) : default, fetch);
                    pos += cnt;
                    for (int idx = idx0; beyondTable && idx < idx0 + cnt; idx++)
                    {
                        if (_ex[idx] == 0) continue;
                        table.Value(net, _r[idx * 4], g);
                        for (int c = 0; c < 4; c++)
                            DenseKernels.Axpy(_r[idx * 4 + c], g.Slice(0, m), a.Slice(c * mp, m));
                    }
                    int empty = _e._conv.SlotCount(t, _k) - cnt - (_excludedCount is null ? 0 : _excludedCount[i * _t + t]);
                    if (empty > 0 && _e.Padding == PaddingEvaluation.ClosedForm)
                        for (int c = 0; c < 4; c++)
                            DenseKernels.Axpy(empty * _e._rPad[ti * 4 + c], gpad, a.Slice(c * mp, m));
                    for (int s = 0; s < empty && _e.Padding == PaddingEvaluation.SlotLoop; s++)
                    {
                        table.Value(net, _e._rPad[ti * 4], g);
                        for (int c = 0; c < 4; c++)
                            DenseKernels.Axpy(_e._rPad[ti * 4 + c], g.Slice(0, m), a.Slice(c * mp, m));
                    }
                }
            }
            for (int p = item.Start; p < end; p++)
            {
                var src = apad.Slice((p - item.Start) * 4 * mp, 4 * mp);
                var a = _a.AsSpan(_order[p] * 4 * m, 4 * m);
                for (int c = 0; c < 4; c++)
                    DenseKernels.Scale(src.Slice(c * mp, m), _c, a.Slice(c * m, m));
                DescriptorKernels.Descriptor(a, m, _m2, _d.AsSpan(p * m * _m2, m * _m2));
            }
            if (beyond != 0) Interlocked.Add(ref _beyond, beyond);
            if (outside != 0) Interlocked.Add(ref _outside, outside);
        }
    }
}
