using System.Runtime.CompilerServices;

namespace DpCompress.Core.Inference.Fast;

public sealed partial class FastEngine
{
    /// <summary>
    /// Look-ahead of the chunked passes (<see cref="TablePassOrder.AtomChunks"/> with the block kernels):
    /// while chunk c runs its table forward, the rows its successor c + 1 will read are already located
    /// (row offset, local x, extra of every slot: the same arithmetic, done one chunk earlier) and are
    /// fetched into L2, a few rows per block of chunk c, so that chunk c + 1 finds them there.
    /// </summary>
    /// <remarks>
    /// Why: one evaluation reads one table row per slot wherever its s falls, so a chunk's rows are
    /// scattered over a table of tens to hundreds of megabytes and come from L3 or DRAM; the per-atom
    /// prefetch of the rows of the next atom hides only part of that latency. Fetching the next chunk's
    /// rows a whole chunk ahead gives each row microseconds to arrive. Measured with the neighbour list
    /// rebuilt before every pass (500-atom five-element cell, one thread, medians of 40 interleaved
    /// passes): table passes 2.65 → 2.40 ms (order 3, dx 0.01), 3.37 → 3.0 ms (order 5, dx 0.01),
    /// 4.0 → 3.5 ms (order 3, dx 0.001), 5.4 → 4.5 ms (order 5, dx 0.001). Results are unchanged: only
    /// when a slot is located and when its row is fetched change, never a value or a summation order.
    /// </remarks>
    private sealed class LookAhead
    {
        public LookAhead(int types)
        {
            Beyond = new bool[types];
            NextBeyond = new bool[types];
            Lo = new int[types];
            Hi = new int[types];
        }

        /// <summary>Per neighbour type: some slot of the current chunk lies beyond the table (extra ≠ 0).</summary>
        public bool[] Beyond { get; private set; }

        /// <summary>The same for the next chunk (located ahead).</summary>
        public bool[] NextBeyond { get; private set; }

        /// <summary>Compact slot ranges [Lo, Hi) of the next chunk, one per neighbour type with slots.</summary>
        public int[] Lo { get; }

        public int[] Hi { get; }

        /// <summary>Number of ranges; 0 when there is no next chunk.</summary>
        public int Ranges;

        /// <summary>Prefetch cursor: current range and slot.</summary>
        public int Range, Slot;

        /// <summary>The next chunk becomes the current one.</summary>
        public void Advance() => (Beyond, NextBeyond) = (NextBeyond, Beyond);
    }

    private sealed partial class Evaluation
    {
        /// <summary>Table rows fetched ahead per slot of the current chunk's forward: 2 fetches the next chunk (of about the same size) in the first half of it.</summary>
        private const int AheadRowsPerSlot = 2;

        /// <summary>
        /// Locates every real slot of <paramref name="item"/> for all its neighbour types (row offset,
        /// local x, extra into the per-slot arrays), counts slots beyond the training range and the
        /// table, and flags per neighbour type whether a slot lies beyond the table.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void LocateItem((int Type, int Start, int Count) item, TableKernel table, bool[] beyondTable)
        {
            long beyond = 0, outside = 0;
            foreach (int t in _present)
            {
                var (lo, hi) = SlotRange(item, t);
                long outsideBefore = outside;
                table.LocateRun(_e.NetIndex(item.Type, t), _r.AsSpan(lo * 4, (hi - lo) * 4), _off.AsSpan(lo, hi - lo), _xl.AsSpan(lo, hi - lo), _ex.AsSpan(lo, hi - lo), ref beyond, ref outside);
                beyondTable[t] = outside != outsideBefore;
            }
            if (beyond != 0) Interlocked.Add(ref _beyond, beyond);
            if (outside != 0) Interlocked.Add(ref _outside, outside);
        }

        /// <summary>The compact slots [lo, hi) of the atoms of <paramref name="item"/> for neighbour type <paramref name="t"/> (contiguous).</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private (int Lo, int Hi) SlotRange((int Type, int Start, int Count) item, int t)
        {
            int last = _order[item.Start + item.Count - 1];
            return (_blockStart[_order[item.Start] * _t + t], _blockStart[last * _t + t] + _nl.Counts[last * _t + t]);
        }

        /// <summary>Locates <paramref name="next"/> (null: none) and points the prefetch cursor at its slots.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void AimAhead((int Type, int Start, int Count)? next, TableKernel table, LookAhead ahead)
        {
            ahead.Ranges = 0;
            ahead.Range = 0;
            if (next is not { } item) return;
            LocateItem(item, table, ahead.NextBeyond);
            foreach (int t in _present)
            {
                var (lo, hi) = SlotRange(item, t);
                if (hi <= lo) continue;
                ahead.Lo[ahead.Ranges] = lo;
                ahead.Hi[ahead.Ranges] = hi;
                ahead.Ranges++;
            }
            ahead.Slot = ahead.Ranges > 0 ? ahead.Lo[0] : 0;
        }

        /// <summary>Fetches into L2 the rows of the next <paramref name="slots"/> slots of the next chunk.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private void FetchAhead(TableKernel table, LookAhead ahead, int slots)
        {
            while (slots > 0 && ahead.Range < ahead.Ranges)
            {
                int idx = ahead.Slot, hi = ahead.Hi[ahead.Range];
                int stop = Math.Min(hi, idx + slots);
                slots -= stop - idx;
                for (; idx < stop; idx++) table.PrefetchL2(_off[idx]);
                ahead.Slot = idx;
                if (idx >= hi && ++ahead.Range < ahead.Ranges) ahead.Slot = ahead.Lo[ahead.Range];
            }
        }
    }
}
