using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace DpCompress.Core.Inference.Fast;

public sealed partial class FastEngine
{
    /// <summary>
    /// Chunked passes of a compressed model (<see cref="TablePassOrder.AtomChunks"/>): per part (a run of atoms in
    /// type order, <see cref="PartChunks"/>) the environment of its atoms, then per chunk of atoms of one
    /// type, the table forward (A_i += R_sᵀ G(s) over the slots, D_i = A_iᵀ A_i&lt;), the fitting net forward and
    /// backward (dE/dD_i) and the table backward (dE/dA_i → u, v per slot → dE/d(dR)), so that one type's fitting
    /// weights and the chunk's (G, G′) store stay near the core. Computing each part's environment in the same
    /// parallel run (not in a pass of its own before) saves a fork and join and keeps the part's R near the core:
    /// measured with `build.ps1 Compare` against the separate pass (150 rounds, 500-atom five-element cell), model
    /// time ×0.94-0.97 on one thread and ×0.96-0.98 on two, the same energies; Compare then loaded each build once,
    /// and two loads of one build have since differed by up to 10 %, so that gain is not resolved.
    /// </summary>
    private sealed partial class Evaluation
    {
        /// <summary>
        /// <see cref="TablePassOrder.AtomChunks"/>: table forward, fitting forward and backward and table
        /// backward for each chunk of atoms of one type in turn (<see cref="PartChunks"/>); the backward reads the
        /// (G, G′) the chunk's forward stored, not the table rows. The same per-atom arithmetic as the
        /// phase-by-phase order. With timings, each step's time is summed over chunks and the wall time split in
        /// those shares.
        /// </summary>
        private void ChunkedPasses(PhaseTimings? timings, ref long stamp)
        {
            // PartsPerThread parts per thread, each a contiguous run of chunks: chunks are in type order, so a run
            // touches fewer centre types' tables (less L2/L3 traffic shared by the cores) than chunks dealt out one
            // by one. 2 threads / 1 thread, 4,000 atoms, order 5 (side by side): 1.61x one by one, 1.88x in runs.
            int parts = Math.Min(_n, _e.MaxDegreeOfParallelism * PartsPerThread);
            var (chunks, partStart) = PartChunks(_typeStart, parts, ChunkAtomsMax);
            var ticks = timings is null ? null : new long[5];
            var table = _e._table!;
            _e.Run(parts, [MethodImpl(MethodImplOptions.AggressiveOptimization)] (part, ws) =>
            {
                // The part's environment first (its atoms are the type-sorted positions PartChunks gave it): its R and
                // geometry are then still near the core for its chunks.
                long e0 = ticks is null ? 0 : Stopwatch.GetTimestamp();
                EnvironmentAtoms((int)((long)part * _n / parts), (int)((long)(part + 1) * _n / parts), sorted: true);
                if (ticks is not null) Interlocked.Add(ref ticks[4], Stopwatch.GetTimestamp() - e0);
                int first = partStart[part], stop = partStart[part + 1];
                // Block kernels: each chunk's slots are located one chunk ahead, so the forward kernel can fetch rows across the chunk boundary.
                var ahead = table.BlockKernels && first < stop ? new LookAhead(_t) : null;
                if (ahead is not null) StartAhead(chunks[first], table, ahead);
                for (int w = first; w < stop; w++)
                {
                    if (ahead is not null) AimAhead(w + 1 < stop ? chunks[w + 1] : null, table, ahead);
                    Chunk(chunks[w], ws, ahead);
                    ahead?.Advance();
                }
            }, _ct);

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            void Chunk((int Type, int Start, int Count) item, Workspace ws, LookAhead? ahead)
            {
                long t0 = ticks is null ? 0 : Stopwatch.GetTimestamp();
                DescriptorItem(item, ws, ahead);
                long t1 = ticks is null ? 0 : Stopwatch.GetTimestamp();
                FittingForward(item, ws);
                long t2 = ticks is null ? 0 : Stopwatch.GetTimestamp();
                FittingBackward(item, ws);
                long t3 = ticks is null ? 0 : Stopwatch.GetTimestamp();
                BackwardItem(item, ws);
                if (ticks is null) return;
                long t4 = Stopwatch.GetTimestamp();
                Interlocked.Add(ref ticks[0], t1 - t0); Interlocked.Add(ref ticks[1], t2 - t1);
                Interlocked.Add(ref ticks[2], t3 - t2); Interlocked.Add(ref ticks[3], t4 - t3);
            }
            if (timings is null || ticks is null) return;
            double wall = Lap(ref stamp), sum = Math.Max(1, ticks[0] + ticks[1] + ticks[2] + ticks[3] + ticks[4]);
            timings.Environment += wall * ticks[4] / sum;
            timings.Embedding += wall * ticks[0] / sum;
            timings.Fitting += wall * ticks[1] / sum;
            timings.Backward += wall * (ticks[2] + ticks[3]) / sum;
            timings.EmbeddingBackward += wall * ticks[3] / sum;
        }

        /// <summary>
        /// Chunks of the chunked passes: the type-sorted atoms cut into <paramref name="parts"/> runs of equal size
        /// (± 1 atom), each run cut into chunks of at most <paramref name="size"/> atoms of one type.
        /// </summary>
        /// <param name="typeStart">[T + 1] start of each centre type in the type-sorted atom order.</param>
        /// <param name="parts">Runs (≥ 1, at most the atom count).</param>
        /// <param name="size">Atoms per chunk, at most.</param>
        /// <returns>The chunks (type, first sorted position, count) in order, and [parts + 1] the first chunk of each run.</returns>
        /// <remarks>
        /// Chunk size: larger chunks let one type's fitting net (≈ 200 kB of weights for 400 → 50 → 50 → 50 → 1)
        /// serve more atoms before the next chunk's table rows evict it from L2; a chunk's (G, G′) store (≈ 0.45 kB
        /// per slot) then leaves L2 before the backward reads it, which costs less. Runs of equal size keep two
        /// threads' work equal whatever the chunk size. Measured on the five-element model, 500-atom cell, sizes
        /// alternating pass by pass in one process (first quartile of 200 passes): one thread, order 3, dx 0.01:
        /// chunks of 8 atoms 3.11 ms (fitting 0.50), 56 atoms 2.92 (0.40), 64 atoms 2.87 (0.40), 100 atoms 2.89
        /// (0.37); order 5, dx 0.001: 8 atoms 4.38 ms, 64 atoms 4.19, 128 atoms 4.09; 4,000 atoms, order 3 dx 0.01: 8
        /// atoms 21.17 ms, 64 atoms 20.02, 128 atoms 20.04. Two threads, 500 atoms (300 passes): runs of equal size
        /// with chunks of 64 atoms 1.510 ms (order 3) and 1.534 (order 5) against 1.532 and 1.549 with chunks of 24
        /// atoms dealt in runs of equal chunk count; chunks of 128 atoms in such runs (unequal work) took 1.79 ms
        /// against 1.39-1.46.
        /// </remarks>
        internal static (List<(int Type, int Start, int Count)> Chunks, int[] PartStart) PartChunks(int[] typeStart, int parts, int size)
        {
            int n = typeStart[^1];
            if (parts < 1 || parts > Math.Max(1, n) || size < 1) throw new ArgumentOutOfRangeException(nameof(parts));
            var chunks = new List<(int Type, int Start, int Count)>();
            var partStart = new int[parts + 1];
            int t = 0;
            for (int q = 0; q < parts; q++)
            {
                partStart[q] = chunks.Count;
                int pos = (int)((long)q * n / parts), hi = (int)((long)(q + 1) * n / parts);
                while (pos < hi)
                {
                    while (typeStart[t + 1] <= pos) t++;
                    int end = Math.Min(Math.Min(hi, typeStart[t + 1]), pos + size);
                    chunks.Add((t, pos, end - pos));
                    pos = end;
                }
            }
            partStart[parts] = chunks.Count;
            return (chunks, partStart);
        }
    }
}
