using System.Runtime.CompilerServices;

namespace DpCompress.Core.Inference.Fast;

public sealed partial class FastEngine
{
    /// <summary>
    /// Look-ahead of the chunked passes (<see cref="TablePassOrder.AtomChunks"/> with the block kernels):
    /// while chunk c runs its table forward, the slots of its successor c + 1 are already located (row
    /// offset, local x, extra of every slot: the same arithmetic, done one chunk earlier), and the row
    /// offsets of both chunks are queued in visit order (neighbour type, atom, slot). The forward kernel
    /// fetches, while it processes the slot at visit position q, the row of position q + <see cref="Evaluation.LeadSlots"/>
    /// (PREFETCHT0), crossing into chunk c + 1 near the end of chunk c.
    /// </summary>
    /// <remarks>
    /// Why: one evaluation reads one table row per slot wherever its s falls, so a chunk's rows are
    /// scattered over a table of tens to hundreds of megabytes and come from L3 or DRAM. Fetching every
    /// slot's row a fixed number of slots ahead keeps a steady number of rows in flight. It replaced a
    /// burst of two next-chunk rows per slot into L2 issued before each block (whose prefetch instructions
    /// stalled the core once the miss buffers were full) and, before that, the next atom's rows into L1.
    /// Measured (500-atom five-element cell, one thread, the model alone, 300 passes): table forward
    /// 2.15-2.2 → 1.54-1.64 ms (order 5, dx 0.001), 1.76-1.95 → 1.25-1.47 ms (order 3, dx 0.001), 1.12-1.17 →
    /// 0.97-1.01 ms (order 3, dx 0.01); with the models interleaved (two runs of 30 rounds): order 5, dx 0.001
    /// 2.57-2.75 → 2.24-2.43 ms. Results are unchanged: only when a slot is located and when its row is
    /// fetched change, never a value or a summation order.
    /// </remarks>
    private sealed class LookAhead
    {
        public LookAhead(int types)
        {
            Beyond = new bool[types];
            NextBeyond = new bool[types];
        }

        /// <summary>Per neighbour type: some slot of the current chunk lies beyond the table (extra ≠ 0).</summary>
        public bool[] Beyond { get; private set; }

        /// <summary>The same for the next chunk (located ahead).</summary>
        public bool[] NextBeyond { get; private set; }

        /// <summary>Row offsets of the current chunk's slots in visit order; <see cref="QueueLength"/> of them are valid.</summary>
        public int[] Queue = new int[256];

        /// <summary>The same for the next chunk (none when it is the last).</summary>
        public int[] NextQueue = new int[256];

        public int QueueLength, NextQueueLength;

        /// <summary>The next chunk becomes the current one.</summary>
        public void Advance()
        {
            (Beyond, NextBeyond) = (NextBeyond, Beyond);
            (Queue, NextQueue) = (NextQueue, Queue);
            QueueLength = NextQueueLength;
            NextQueueLength = 0;
        }

        /// <summary>Row offset at visit position <paramref name="q"/> counted from the current chunk's first slot; −1 past the next chunk.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public int At(int q) => q < QueueLength ? Queue[q] : q - QueueLength < NextQueueLength ? NextQueue[q - QueueLength] : -1;
    }

    private sealed partial class Evaluation
    {
        /// <summary>Visit positions between a slot and the slot whose row the forward kernel fetches meanwhile (8, 16 and 24 measured alike; 16 ≈ 19 kB of order-5 rows in flight).</summary>
        internal const int LeadSlots = 16;

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

        /// <summary>Locates the first chunk of a run, queues its rows and fetches the first <see cref="LeadSlots"/> of them.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void StartAhead((int Type, int Start, int Count) first, TableKernel table, LookAhead ahead)
        {
            LocateItem(first, table, ahead.Beyond);
            ahead.QueueLength = QueueRows(first, ref ahead.Queue);
            for (int q = 0; q < LeadSlots; q++)
            {
                int o = ahead.At(q);
                if (o >= 0) table.Prefetch(o);
            }
        }

        /// <summary>Locates <paramref name="next"/> (null: none) and queues its rows after the current chunk's.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void AimAhead((int Type, int Start, int Count)? next, TableKernel table, LookAhead ahead)
        {
            ahead.NextQueueLength = 0;
            if (next is not { } item) return;
            LocateItem(item, table, ahead.NextBeyond);
            ahead.NextQueueLength = QueueRows(item, ref ahead.NextQueue);
        }

        /// <summary>Writes the row offsets of <paramref name="item"/>'s slots in visit order into <paramref name="queue"/> (grown as needed); returns their count.</summary>
        private int QueueRows((int Type, int Start, int Count) item, ref int[] queue)
        {
            int n = 0;
            foreach (int t in _present)
            {
                var (lo, hi) = SlotRange(item, t);
                if (queue.Length < n + hi - lo) Array.Resize(ref queue, Math.Max(2 * queue.Length, n + hi - lo));
                _off.AsSpan(lo, hi - lo).CopyTo(queue.AsSpan(n));
                n += hi - lo;
            }
            return n;
        }
    }
}
