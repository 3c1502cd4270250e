using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Inference.Fast;

/// <summary>How the fast engine treats padding slots (SPEC §2.3).</summary>
public enum PaddingEvaluation
{
    /// <summary>(K − count)·R_padᵀ·G(s_pad), G(s_pad) cached per (centre type, neighbour type).</summary>
    ClosedForm,
    /// <summary>Diagnostic: every empty slot evaluated on its own, as PWMLFF does (slow).</summary>
    SlotLoop,
}

/// <summary>
/// Hand-written float64 evaluator of a DP model, original or compressed (SPEC §2–§3), with an
/// analytic backward pass for forces and virial. Pure C#; multi-threaded over atoms with
/// results independent of the thread count (every sum runs in a fixed order).
/// </summary>
/// <remarks>
/// Glossary: N atoms, T model types, Tp types present in the configuration, K = max_neigh_num
/// slots per type block, m embedding width, M2 descriptor sub-width, c = 1/(K·Tp).
/// Per centre atom i: A_i = c·Σ_slots R_sᵀ G(s_s) [4, m]; D_i = A_iᵀ A_i[:, :M2] [m, M2];
/// E_i = F_{t_i}(D_i). Backward: dE/dA = A&lt;·dDᵀ + [A·dD | 0]; per real slot
/// dE/dR_a = c·Σ_μ dA_{aμ} G_μ, dE/ds = c·Σ_a R_a·Σ_μ dA_{aμ} G′_μ; then R = (R̃ − davg)/dstd
/// and R̃(dR) give dE/d(dR); F_j −= dE/d(dR), F_i += dE/d(dR), W_ab −= dR_a·dE/d(dR)_b.
/// Padding slots (dR ≡ 0) contribute to A_i but carry no force.
/// <para>Conventions (<see cref="DpModel.Conventions"/>): the blocks visited (present types for PWMLFF, all
/// types for DeePMD-kit), the padding count K_t − count (K_t = K or sel[t]), c = 1/divisor (1/(K·Tp) or
/// 1/Σsel), the switch at r = Rmin and the per-type energy bias added to E_i come from the model; the
/// neighbour list is the one <see cref="ModelNeighbors"/> defines, built in the engine's <see cref="NeighborListBuffer"/>.</para>
/// <para>Phases (<see cref="PhaseTimings"/>): Environment = R and S′ of real slots; Embedding =
/// G and G′ by forward mode through the nets (original) or the fused table lookup with the
/// accumulation of A_i and D_i (compressed); Descriptor = A_i, D_i (original only); Fitting =
/// fitting nets forward; Backward = fitting backward, per-slot chain rule and the force/virial
/// reduction, of which EmbeddingBackward is the per-slot part (G′/table contraction + geometry).</para>
/// <para>Layout and order (performance): real slots are stored compactly grouped by (centre type,
/// neighbour type), atoms in type order inside ([real, 4] R, [real, 4] geometry, [real, 3] dR).
/// The environment pass is vectorised over four slots and prefetches the sparse [N, T, K]
/// neighbour list. The descriptor and backward passes work on items of atoms of one centre type
/// and visit them pair-major (neighbour type outer, atoms inner), so one net's table rows stay in
/// L2; for order-3 tables (and order 5 with the block kernels) every slot is first located (row offset, local x) and its row
/// prefetched, then two slots of an atom share one kernel call (<see cref="TableKernel.AccumulatePair"/>,
/// <see cref="TableKernel.ContractPair"/>); where Vector512 is accelerated and m ≤ 32, one call per
/// (atom, neighbour type) block keeps A_i or dE/dA_i in registers for all its slots
/// (<see cref="TableKernel.AccumulateBlock"/>, <see cref="TableKernel.ContractBlock"/>).</para>
/// <para>Pass order (<see cref="TablePassOrder"/>): a compressed model computes each thread part's environment and then runs table forward, fitting forward and
/// backward and table backward per chunk of at most 64 atoms of one type (<see cref="Evaluation.PartChunks"/>), while the next chunk's rows are fetched
/// ahead (<see cref="LookAhead"/>); the chunk's forward stores each slot's (G, G′) (<see cref="Workspace.Slopes"/>)
/// and its backward reads them instead of the table rows; an original model runs each pass over all atoms in turn.</para>
/// <para>Determinism: each atom's sums (A_i over neighbour types in order and slots in order, its
/// centre force and virial) run in the same order whatever item or thread computes it, each result
/// is written by exactly one item, and the cross-atom sums (energy, virial in atom order, forces on
/// neighbours in compact slot order) run serially, so 1 and n threads give bit-identical results.</para>
/// </remarks>
public sealed partial class FastEngine : IDpEngine
{
    private const int EmbeddingChunk = 128;
    private const int FittingChunk = 64;      // atoms per fitting item, phase by phase (original models): 64 vs 32 (8-row product blocks): model −1 %, fitting forward 0.42 → 0.38 ms, 500-atom alloy5 cell, one thread, alternating pass by pass
    private const int AtomChunk = 8;
    private const int TypeChunk = 64;         // atoms per descriptor/backward item with several threads
    private const int TypeChunkSerial = 256;
    private const int PartsPerThread = 2;    // AtomChunks: parts (contiguous runs of chunks, equal in atoms) per thread
    private const int ChunkAtomsMax = 64;     // atoms per chunk with TablePassOrder.AtomChunks, at most (see Evaluation.PartChunks)
    private const int PrefetchSlots = 24;     // table rows prefetched up front per (item, net) before the per-atom prefetch takes over  // one thread: larger items, each net's table rows fetched fewer times

    private readonly int _t, _k, _m, _m2;
    private readonly double _rmin, _rmax;
    private readonly DescriptorConventions _conv;   // slots per block, blocks, divisor, switch at Rmin, energy bias
    private readonly double[] _davg, _dstd;
    private readonly double[] _rPad;            // [T, 4] R_pad = −davg/dstd
    private readonly double[] _gPad;            // [T·T, m] G(s_pad[t_i]) of net (t_i, t)
    private readonly EmbeddingKernel[]? _embedding;
    private readonly TableKernel? _table;
    private readonly FittingKernel[] _fitting;
    private readonly ConcurrentBag<Workspace> _workspaces = new();
    private readonly ConcurrentBag<Buffers> _buffers = new();

    /// <summary>Creates a fast engine for <paramref name="model"/>.</summary>
    /// <param name="model">An original or compressed DP model.</param>
    /// <param name="maxDegreeOfParallelism">Threads to use; 0 or less: Environment.ProcessorCount; 1: single thread.</param>
    /// <param name="padding">Padding treatment; <see cref="PaddingEvaluation.SlotLoop"/> is a diagnostic for tests.</param>
    /// <param name="runtime">Table lookup of a compressed model: DpCompress's (default) or the emulation of PWMLFF's runtime.</param>
    /// <param name="passOrder">Order of the passes of a compressed model; <see cref="TablePassOrder.Auto"/> picks by table size.</param>
    public FastEngine(DpModel model, int maxDegreeOfParallelism = 0, PaddingEvaluation padding = PaddingEvaluation.ClosedForm,
        TableRuntime runtime = TableRuntime.DpCompress, TablePassOrder passOrder = TablePassOrder.Auto)
    {
        Runtime = runtime;
        Padding = padding;
        Model = model ?? throw new ArgumentNullException(nameof(model));
        _conv = model.Conventions;
        MaxDegreeOfParallelism = maxDegreeOfParallelism > 0 ? maxDegreeOfParallelism : Environment.ProcessorCount;
        _t = model.TypeCount;
        _k = model.MaxNeighbors;
        _m = model.EmbeddingWidth;
        _m2 = model.M2;
        _rmin = model.Rmin;
        _rmax = model.Rmax;
        _davg = model.Davg;
        _dstd = model.Dstd;
        if (_k <= 0)
            throw new DpCompressException("ModelInvalid", ErrorKind.InvalidData, $"max_neigh_num must be positive, got {_k}.", model.SourcePath);
        if (_m2 <= 0 || _m2 > _m)
            throw new DpCompressException("ModelInvalid", ErrorKind.InvalidData, $"M2 = {_m2} must lie in 1..m = {_m}.", model.SourcePath);
        _fitting = model.FittingNets.Select(f => new FittingKernel(f)).ToArray();
        foreach (var f in _fitting)
            if (!f.HiddenWidths.SequenceEqual(_fitting[0].HiddenWidths))
                throw new DpCompressException("ModelInvalid", ErrorKind.InvalidData, "All fitting nets must have the same layer sizes.", model.SourcePath);
        foreach (var f in _fitting)
            if (f.InputWidth != _m * _m2)
                throw new DpCompressException("ModelInvalid", ErrorKind.InvalidData, $"Fitting nets take {f.InputWidth} inputs, expected m·M2 = {_m * _m2}.", model.SourcePath);
        for (int q = 0; q < _dstd.Length; q++)
            if (!(_dstd[q] != 0))
                throw new DpCompressException("ModelInvalid", ErrorKind.InvalidData, "dstd contains zero.", model.SourcePath);

        _rPad = new double[_t * 4];
        for (int q = 0; q < _t * 4; q++) _rPad[q] = (0.0 - _davg[q]) / _dstd[q];

        _gPad = new double[_t * _t * _m];
        if (model.Compression is { } table)
        {
            if (table.Width != _m)
                throw new DpCompressException("CompressionTableMismatch", ErrorKind.InvalidData, $"The table has {table.Width} outputs per net, the model m = {_m}.", model.SourcePath);
            if (table.NetCount != _t * _t && table.NetCount != _t)
                throw new DpCompressException("CompressionTableMismatch", ErrorKind.InvalidData, $"The table has {table.NetCount} nets, expected {_t * _t} (or {_t} for type embedding).", model.SourcePath);
            _table = new TableKernel(table, runtime);
            PassOrder = passOrder == TablePassOrder.Auto ? TablePassOrder.AtomChunks : passOrder;
            for (int ti = 0; ti < _t; ti++)
                for (int t = 0; t < _t; t++)
                    _table.Value(NetIndex(ti, t), _rPad[ti * 4], _gPad.AsSpan((ti * _t + t) * _m, _m));
        }
        else
        {
            // One kernel per distinct net: a type-embedding model's T² pairs share its T effective nets.
            var kernels = new Dictionary<EmbeddingNet, EmbeddingKernel>(ReferenceEqualityComparer.Instance);
            _embedding = model.EmbeddingNets.Select(n => kernels.TryGetValue(n, out var k) ? k : kernels[n] = new EmbeddingKernel(n)).ToArray();
            int maxW = _embedding.Max(e => e.MaxWidth);
            var a = new double[2 * maxW];
            var b = new double[2 * maxW];
            var gp = new double[_m];
            for (int ti = 0; ti < _t; ti++)
                for (int t = 0; t < _t; t++)
                    _embedding[ti * _t + t].Forward(new[] { _rPad[ti * 4] }, _gPad.AsSpan((ti * _t + t) * _m, _m), gp, a, b);
        }
    }

    public EngineKind Kind => EngineKind.Fast;

    public DpModel Model { get; }

    public int MaxDegreeOfParallelism { get; }

    /// <summary>Whose table lookup a compressed model uses (SPEC §3 or the PWMLFF runtime emulation of §8).</summary>
    public TableRuntime Runtime { get; }

    /// <summary>Padding treatment; <see cref="PaddingEvaluation.SlotLoop"/> is a diagnostic for tests.</summary>
    public PaddingEvaluation Padding { get; }

    /// <summary>The pass order a compressed model uses (<see cref="TablePassOrder.PhaseByPhase"/> for an original model).</summary>
    public TablePassOrder PassOrder { get; } = TablePassOrder.PhaseByPhase;

    private int NetIndex(int centreType, int neighborType) =>
        _table is not null && _table.NetCount == _t ? neighborType : centreType * _t + neighborType;

    private int _disposed;

    /// <summary>Returns the table's native memory now rather than at finalization; the engine cannot evaluate afterwards (ObjectDisposedException). Do not dispose an engine another thread is evaluating with.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) _table?.Dispose();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Prediction Evaluate(Configuration configuration, NeighborList? neighbors = null, PhaseTimings? timings = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        long stamp = Stopwatch.GetTimestamp();
        var buffers = _buffers.TryTake(out var b) ? b : new Buffers();
        try
        {
            // A list built here is private to this call: its arrays are reused by the next call that rents these buffers.
            var nl = neighbors ?? buffers.Neighbors.Build(configuration, Model);
            if (timings is not null) timings.NeighborSearch += Lap(ref stamp);
            var run = new Evaluation(this, configuration, nl, buffers, cancellationToken);
            return run.Execute(timings, stamp);
        }
        finally { _buffers.Add(buffers); }
    }

    private static double Lap(ref long stamp)
    {
        long now = Stopwatch.GetTimestamp();
        double s = (now - stamp) / (double)Stopwatch.Frequency;
        stamp = now;
        return s;
    }

    private Workspace RentWorkspace() => _workspaces.TryTake(out var w) ? w : new Workspace(this);

    private void ReturnWorkspace(Workspace w) => _workspaces.Add(w);

    /// <summary>Runs body(0..count−1) on up to MaxDegreeOfParallelism threads with per-thread scratch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Run(int count, Action<int, Workspace> body, CancellationToken ct)
    {
        if (count <= 0) return;
        if (MaxDegreeOfParallelism == 1 || count == 1)
        {
            var ws = RentWorkspace();
            try
            {
                for (int i = 0; i < count; i++)
                {
                    ct.ThrowIfCancellationRequested();
                    body(i, ws);
                }
            }
            finally { ReturnWorkspace(ws); }
            return;
        }
        var options = new ParallelOptions { MaxDegreeOfParallelism = MaxDegreeOfParallelism, CancellationToken = ct };
        try
        {
            Parallel.For(0, count, options, RentWorkspace, (i, _, ws) => { body(i, ws); return ws; }, ReturnWorkspace);
        }
        catch (AggregateException e) when (e.Flatten().InnerExceptions.OfType<DpCompressException>().FirstOrDefault() is not null)
        {
            // A worker's DpCompressException (e.g. PwmlffLookupOutsideTable) reaches the caller as itself.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.Flatten().InnerExceptions.OfType<DpCompressException>().First()).Throw();
        }
    }

    /// <summary>Per-thread scratch buffers (reused across evaluations).</summary>
    private sealed class Workspace
    {
        public Workspace(FastEngine e)
        {
            int embW = e._embedding?.Max(k => k.MaxWidth) ?? 1;
            int fitW = e._fitting.Max(f => f.MaxWidth);
            int size = Math.Max(2 * EmbeddingChunk * embW, Math.Max(FittingChunk, ChunkAtomsMax) * fitW);
            BufA = new double[size];
            BufB = new double[size];
            S = new double[EmbeddingChunk];
            G = new double[e._m];
            Gp = new double[e._m];
            DA = new double[TypeChunkSerial * 4 * e._m];
            if (e._table is { BlockKernels: true } t)
            {
                APad = new double[TypeChunkSerial * 4 * t.PaddedWidth];
                UV = new Vector256<double>[2 * e._k];
            }
        }

        /// <summary>Block kernels: [TypeChunkSerial, 4, mp] padded A_i (forward) or dE/dA_i (backward) of an item's atoms.</summary>
        public double[] APad { get; } = [];

        /// <summary>
        /// Chunked passes with block kernels: (G, G′) of the current chunk's slots in visit order (neighbour type
        /// outer, atoms, slots), [slots, <see cref="TableKernel.SlopeWidth"/>], written by the chunk's table forward
        /// and read by its backward; grown on demand.
        /// </summary>
        public double[] Slopes = [];

        /// <summary>Chunked passes: the row offsets the forward kernel fetches while it runs one block, one per slot (−1: none).</summary>
        public int[] Fetch = [];

        /// <summary>Block kernels: [2·K] (u, v) of one block's slots.</summary>
        public Vector256<double>[] UV { get; } = [];

        public double[] BufA { get; }
        public double[] BufB { get; }
        public double[] S { get; }
        public double[] G { get; }
        public double[] Gp { get; }
        public double[] DA { get; }
    }

    /// <summary>Large per-evaluation arrays, kept between evaluations (grown on demand, never shrunk).</summary>
    private sealed class Buffers
    {
        public double[] R = [], Geo = [], G = [], Gp = [], A = [], D = [], DD = [], Grad = [], Fc = [], Wa = [], MaxS = [], Dlt = [];
        public int[] Nbr = [], Off = [];
        public double[] XL = [], Ex = [];
        public double[][] Hidden = [];
        public readonly NeighborListBuffer Neighbors = new();

        public static double[] Ensure(ref double[] a, int size)
        {
            if (a.Length < size) a = new double[size];
            return a;
        }
    }

    /// <summary>State of one Evaluate call.</summary>
    private sealed partial class Evaluation
    {
        private readonly FastEngine _e;
        private readonly Configuration _config;
        private readonly NeighborList _nl;
        private readonly int[]? _excludedCount;   // [N, T] real neighbours of excluded pairs (their slots are not padding)
        private readonly CancellationToken _ct;
        private readonly int _n, _t, _k, _m, _m2, _tp;
        private readonly double _c;
        private readonly int[] _types;      // [N] model type of atom i
        private readonly int[] _present;    // neighbour-type blocks entering A_i: present types (PWMLFF) or all (DeePMD-kit)
        private readonly int[] _order;      // atoms sorted by type (stable)
        private readonly int[] _position;   // [N] row of atom i in type-sorted order
        private readonly int[] _typeStart;  // [T+1] ranges of _order per type
        private readonly int[] _blockStart; // [N, T] first compact real slot of block (i, t)
        private readonly int[] _pairStart;  // [T·T + 1]... ranges of compact slots per (t_i, t)
        private readonly int[] _pairEnd;
        private readonly int _real;         // number of real slots
        private double[] _r = [];           // [real, 4] normalised R
        private double[] _geo = [];         // [real, 4] S′/r, f = S/r, f′/r, 0 (for the backward chain)
        private double[] _g = [];           // [real, m] G (original)
        private double[] _gp = [];          // [real, m] G′ (original)
        private double[] _a = [];           // [N, 4, m]
        private double[] _d = [];           // [N (type-sorted), m·M2]
        private double[] _dd = [];          // [N (type-sorted), m·M2]
        private double[][] _hidden = [];    // per hidden layer [N (type-sorted), width]
        private readonly double[] _ei;      // [N] atom order
        private double[] _grad = [];        // [real, 3] dE/d(dR)
        private double[] _fc = [];          // [N, 3] centre-side forces
        private double[] _wa = [];          // [N, 9] per-atom virial
        private double[] _maxS = [];        // [N]
        private double[] _dlt = [];         // [real, 3] dR of the real slots (compact order)
        private int[] _nbr = [];            // [real] neighbour atom j of the real slots
        private int[] _off = [];            // [real] SoA table row offset (order-3 table kernels)
        private double[] _xl = [];          // [real] local x on that row
        private double[] _ex = [];          // [real] distance beyond the table (0 inside)
        private long _beyond, _outside;
        private int _badNeighbor = -1;      // an atom with an out-of-range neighbour index, or −1

        private readonly Buffers _buf;

        public Evaluation(FastEngine e, Configuration config, NeighborList nl, Buffers buffers, CancellationToken ct)
        {
            _e = e; _buf = buffers; _config = config; _nl = nl; _ct = ct;
            _n = config.AtomCount; _t = e._t; _k = e._k; _m = e._m; _m2 = e._m2;
            if (nl.AtomCount != _n || nl.TypeCount != _t || nl.MaxNeighbors != _k)
                throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument,
                    $"The neighbour list ({nl.AtomCount} atoms, {nl.TypeCount} types, {nl.MaxNeighbors} slots) does not fit the configuration ({_n} atoms) and model ({_t} types, {_k} slots).");
            if (nl.AtomTypes.Length != _n || nl.Counts.Length != _n * _t || nl.Neighbor.Length < _n * _t * _k || nl.Delta.Length < _n * _t * _k * 3)
                throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument, "The neighbour list arrays have inconsistent lengths.");
            _types = nl.AtomTypes;
            if (e._conv.HasExclusions)
            {
                // Excluded pairs: their real neighbours keep their slots (padding = K_t − count) but add nothing,
                // so the real-slot passes see a count of 0 and the padding term adds the excluded count back.
                var counts = (int[])nl.Counts.Clone();
                _excludedCount = new int[_n * _t];
                for (int i = 0; i < _n; i++)
                    for (int t = 0; t < _t; t++)
                        if ((uint)_types[i] < (uint)_t && e._conv.IsExcluded(_types[i], t))
                        {
                            _excludedCount[i * _t + t] = counts[i * _t + t];
                            counts[i * _t + t] = 0;
                        }
                nl = new NeighborList(nl.AtomCount, nl.TypeCount, nl.MaxNeighbors, nl.AtomTypes, counts, nl.Neighbor, nl.Delta);
                _nl = nl;
            }
            for (int i = 0; i < _n; i++)
            {
                int ti = _types[i];
                if ((uint)ti >= (uint)_t)
                    throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument, $"Atom {i} has type index {ti}, the model has {_t} types.");
                if (e.Model.AtomTypes[ti] != config.AtomicNumbers[i])
                    throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument, $"Atom {i} is Z = {config.AtomicNumbers[i]} but the neighbour list gives model type {ti} (Z = {e.Model.AtomTypes[ti]}).");
            }
            var isPresent = new bool[_t];
            foreach (int ti in _types) isPresent[ti] = true;
            _present = Enumerable.Range(0, _t).Where(t => isPresent[t]).ToArray();
            _tp = _present.Length;
            _c = _tp == 0 ? 0 : 1.0 / e._conv.Divisor(_k, _tp);
            _present = e._conv.Blocks(_t, _present);   // the neighbour-type blocks that enter A_i

            _typeStart = new int[_t + 1];
            foreach (int ti in _types) _typeStart[ti + 1]++;
            for (int t = 0; t < _t; t++) _typeStart[t + 1] += _typeStart[t];
            _order = new int[_n];
            _position = new int[_n];
            var fill = (int[])_typeStart.Clone();
            for (int i = 0; i < _n; i++) { int p = fill[_types[i]]++; _order[p] = i; _position[i] = p; }

            // Compact real slots grouped by (centre type, neighbour type), atoms in order inside.
            _blockStart = new int[_n * _t];
            _pairStart = new int[_t * _t];
            _pairEnd = new int[_t * _t];
            int cursor = 0;
            for (int ti = 0; ti < _t; ti++)
                foreach (int t in _present)
                {
                    _pairStart[ti * _t + t] = cursor;
                    for (int p = _typeStart[ti]; p < _typeStart[ti + 1]; p++)
                    {
                        int i = _order[p];
                        int cnt = nl.Counts[i * _t + t];
                        if ((uint)cnt > (uint)_k)
                            throw new DpCompressException("TooManyNeighbors", ErrorKind.LimitsExceeded,
                                $"Atom {i} has {cnt} neighbours of type {t} (Z = {e.Model.AtomTypes[t]}); the model allows max_neigh_num = {_k}.");
                        // Neighbour indices are range-checked in the environment pass (one sparse read of the list).
                        _blockStart[i * _t + t] = cursor;
                        cursor += cnt;
                    }
                    _pairEnd[ti * _t + t] = cursor;
                }
            _real = cursor;
            _ei = new double[_n];
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public Prediction Execute(PhaseTimings? timings, long stamp)
        {
            bool compressed = _e._table is not null;
            if (_n > 0)
            {
                _r = Buffers.Ensure(ref _buf.R, _real * 4);
                _geo = Buffers.Ensure(ref _buf.Geo, _real * 4);
                _maxS = Buffers.Ensure(ref _buf.MaxS, _n);
                _dlt = Buffers.Ensure(ref _buf.Dlt, _real * 3);
                if (_buf.Nbr.Length < _real) _buf.Nbr = new int[_real];
                _nbr = _buf.Nbr;
                // Chunked passes compute each part's environment in the same parallel run (one fork and join fewer).
                bool chunked = compressed && _e.PassOrder == TablePassOrder.AtomChunks;
                if (!chunked)
                {
                    _e.Run(Chunks(_n, AtomChunk), EnvironmentChunk, _ct);
                    CheckNeighbors();
                    if (timings is not null) timings.Environment += Lap(ref stamp);
                }

                // Item sizes never change results: every atom's sums run in the same order in any item.
                var atomItems = TypeItems(_e.MaxDegreeOfParallelism == 1 ? TypeChunkSerial : TypeChunk);
                if (_e._table is { PairKernels: true } or { BlockKernels: true })
                {
                    if (_buf.Off.Length < _real) _buf.Off = new int[_real];
                    _off = _buf.Off;
                    _xl = Buffers.Ensure(ref _buf.XL, _real);
                    _ex = Buffers.Ensure(ref _buf.Ex, _real);
                }
                _a = Buffers.Ensure(ref _buf.A, _n * 4 * _m);
                _d = Buffers.Ensure(ref _buf.D, _n * _m * _m2);
                if (!compressed)
                {
                    _g = Buffers.Ensure(ref _buf.G, _real * _m);
                    _gp = Buffers.Ensure(ref _buf.Gp, _real * _m);
                    var items = EmbeddingItems();
                    _e.Run(items.Count, (w, ws) => EmbeddingItem(items[w], ws), _ct);
                    if (timings is not null) timings.Embedding += Lap(ref stamp);
                    _e.Run(atomItems.Count, (w, ws) => DescriptorItem(atomItems[w], ws), _ct);
                    if (timings is not null) timings.Descriptor += Lap(ref stamp);
                }
                var widths = _e._fitting[0].HiddenWidths;
                if (_buf.Hidden.Length != widths.Length) _buf.Hidden = new double[widths.Length][];
                for (int l = 0; l < widths.Length; l++)
                {
                    _buf.Hidden[l] ??= [];
                    Buffers.Ensure(ref _buf.Hidden[l], _n * widths[l]);
                }
                _hidden = _buf.Hidden;
                _dd = Buffers.Ensure(ref _buf.DD, _n * _m * _m2);
                _grad = Buffers.Ensure(ref _buf.Grad, _real * 3);
                _fc = Buffers.Ensure(ref _buf.Fc, _n * 3);
                _wa = Buffers.Ensure(ref _buf.Wa, _n * 9);
                if (chunked)
                {
                    ChunkedPasses(timings, ref stamp);
                    CheckNeighbors();   // before any neighbour index is used (the force scatter below)
                }
                else
                {
                    if (compressed)
                    {
                        // Table lookup fused with the accumulation of A_i (tabulate_fusion); D_i in the same pass.
                        _e.Run(atomItems.Count, (w, ws) => DescriptorItem(atomItems[w], ws), _ct);
                        if (timings is not null) timings.Embedding += Lap(ref stamp);
                    }
                    var fitItems = TypeItems(FittingChunk);
                    _e.Run(fitItems.Count, (w, ws) => FittingForward(fitItems[w], ws), _ct);
                    if (timings is not null) timings.Fitting += Lap(ref stamp);

                    _e.Run(fitItems.Count, (w, ws) => FittingBackward(fitItems[w], ws), _ct);
                    if (timings is not null) timings.Backward += Lap(ref stamp);
                    _e.Run(atomItems.Count, (w, ws) => BackwardItem(atomItems[w], ws), _ct);
                    if (timings is not null)
                    {
                        double t = Lap(ref stamp);
                        timings.Backward += t;
                        timings.EmbeddingBackward += t;
                    }
                }
            }
            // Fixed-order reductions: identical for any thread count.
            var forces = new double[_n * 3];
            var virial = new double[9];
            double energy = 0, maxS = 0;
            for (int i = 0; i < _n; i++)
            {
                energy += _ei[i];
                forces[3 * i] = _fc[3 * i]; forces[3 * i + 1] = _fc[3 * i + 1]; forces[3 * i + 2] = _fc[3 * i + 2];
                for (int q = 0; q < 9; q++) virial[q] += _wa[9 * i + q];
                if (_maxS[i] > maxS) maxS = _maxS[i];
            }
            // Neighbour side: F_j −= dE/d(dR) over the real slots in compact order.
            var nbr = _nbr.AsSpan(0, _real);
            var grad = _grad.AsSpan(0, 3 * _real);
            for (int idx = 0; idx < nbr.Length; idx++)
            {
                int j = 3 * nbr[idx];
                forces[j] -= grad[3 * idx]; forces[j + 1] -= grad[3 * idx + 1]; forces[j + 2] -= grad[3 * idx + 2];
            }
            if (timings is not null) timings.Backward += Lap(ref stamp);
            return new Prediction(_config, energy, _ei, forces, virial)
            {
                Engine = "Fast",
                Runtime = _e._table is null ? null : _e.Runtime,
                Compressed = compressed,
                OutOfTableCount = _outside,
                BeyondTrainingCount = _beyond,
                MaxScaledS = maxS,
            };
        }

        private static int Chunks(int count, int size) => (count + size - 1) / size;

        /// <summary>Refuses a neighbour list whose neighbour indices (copied by the environment pass) leave the configuration.</summary>
        private void CheckNeighbors()
        {
            if (_badNeighbor >= 0)
                throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument, $"Atom {_badNeighbor}: a neighbour index is out of range (the configuration has {_n} atoms).");
        }

        private List<(int Pair, int Start, int Count)> EmbeddingItems()
        {
            var items = new List<(int, int, int)>();
            for (int p = 0; p < _t * _t; p++)
                for (int s = _pairStart[p]; s < _pairEnd[p]; s += EmbeddingChunk)
                    items.Add((p, s, Math.Min(EmbeddingChunk, _pairEnd[p] - s)));
            return items;
        }

        /// <summary>G and G′ of a batch of real slots sharing one embedding net.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void EmbeddingItem((int Pair, int Start, int Count) item, Workspace ws)
        {
            var s = ws.S.AsSpan(0, item.Count);
            for (int q = 0; q < item.Count; q++) s[q] = _r[(item.Start + q) * 4];
            _e._embedding![item.Pair].Forward(s, _g.AsSpan(item.Start * _m, item.Count * _m), _gp.AsSpan(item.Start * _m, item.Count * _m), ws.BufA, ws.BufB);
        }

        /// <summary>Chunks of at most <paramref name="size"/> atoms of one type, in type-sorted order.</summary>
        private List<(int Type, int Start, int Count)> TypeItems(int size)
        {
            var items = new List<(int, int, int)>();
            for (int t = 0; t < _t; t++)
                for (int p = _typeStart[t]; p < _typeStart[t + 1]; p += size)
                    items.Add((t, p, Math.Min(size, _typeStart[t + 1] - p)));
            return items;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void FittingForward((int Type, int Start, int Count) item, Workspace ws)
        {
            int width = _m * _m2;
            Span<double> energy = stackalloc double[item.Count];
            _e._fitting[item.Type].Forward(_d.AsSpan(item.Start * width, item.Count * width), item.Count, _hidden, item.Start, energy, ws.BufA, ws.BufB);
            double bias = _e._conv.AtomEnergyBias(item.Type);
            for (int q = 0; q < item.Count; q++) _ei[_order[item.Start + q]] = energy[q] + bias;
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void FittingBackward((int Type, int Start, int Count) item, Workspace ws)
        {
            int width = _m * _m2;
            _e._fitting[item.Type].Backward(_hidden, item.Start, item.Count, _dd.AsSpan(item.Start * width, item.Count * width), ws.BufA, ws.BufB);
        }

    }
}
