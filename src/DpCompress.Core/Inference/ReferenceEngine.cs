using System.Diagnostics;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;
using TorchSharp;
using static TorchSharp.torch;

namespace DpCompress.Core.Inference;

/// <summary>
/// The ground-truth evaluator: TorchSharp float64 autograd that mirrors SPEC §2 operation by
/// operation (PWMLFF's DP forward), for original models and — with the table replacing the
/// embedding nets (SPEC §3) — for compressed ones.
/// </summary>
/// <remarks>
/// <para>Glossary: N atoms, T model types, Tp types present in the configuration, K =
/// max_neigh_num slots per type block, m embedding width, M2 descriptor sub-width.</para>
/// <para>Forward (SPEC §2): dR [N, T, K, 3] → S(r) → R̃ = (S, S·x/r, S·y/r, S·z/r) →
/// R = (R̃ − davg[t_i]) / dstd[t_i] → s = R[..., 0] → G = EmbNet[net(t_i, t_j)](s) per block (net = t_i·T + t_j,
/// or t_j for type-embedding DP whose effective nets already hold the neighbour's type vector) →
/// A_i = Σ_{t_j present} R_blockᵀ·G / (K·Tp) [4, m] → D_i = A_iᵀ·A_i[:, :M2] flattened
/// (μ·M2 + ν) → E_i = FitNet[t_i](D_i) → E = Σ E_i. The energy shift is already folded into the
/// last fitting bias (PWMLFF initialises that bias with it); it is not added again.</para>
/// <para>Backward, in three stages so that the embedding nets' share is separable:
/// (1) ∂E/∂dR through the direct R path and ∂E/∂G for every block (the nets see a detached
/// copy of s); (2) ∂E/∂s = Σ_μ ∂E/∂G_μ · dG_μ/ds — autograd through the nets for an original
/// model, the table's analytic derivative (no graph through any net) for a compressed one;
/// (3) ∂E/∂dR += (∂s/∂dR)ᵀ·∂E/∂s. This equals one backward through G_eff = G + (s − s.detach())·dG.
/// Then F_i += ∂E/∂dR_ij, F_j −= ∂E/∂dR_ij (F = −∂E/∂r, dR = r_j − r_i, periodic images fold
/// onto atom j) and W_ab = −Σ_{i, slots} dR_a·∂E/∂dR_b.</para>
/// <para>Networks follow PWMLFF's modules: embedding layers h = tanh(x·W + b) with the shape's skip
/// rule (x = h·idt + x, concat(x, x) + h·idt, or h); fitting hidden layers likewise except the
/// first, which is always x = h (PWMLFF's FittingNet never adds a skip there — this differs from
/// "the same skip rules" only when m·M2 equals the first hidden width or half of it); the last
/// fitting layer is linear.</para>
/// <para>Conventions (<see cref="DpModel.Conventions"/>): the blocks that enter A_i, the slots K_t of each
/// block, the divisor of A_i, the switch at r = Rmin and the per-type energy bias come from the model, so a
/// DeePMD-kit se_e2_a model (every block, K_t = sel[t], divisor Σsel, w = 1 up to rcut_smth inclusive,
/// E_i += bias_atom_e + out_bias, nearest-first truncated neighbour list) runs through the same code; for
/// PWMLFF they reduce to the text above. Verified against DeePMD-kit's own forward
/// (fixtures/deepmd/refs_se_e2_a_agau.json, 6 images): ≤ 1.5e-14 eV, eV/Å.</para>
/// <para>Errors (<see cref="DpCompressException"/>): UnknownElement (an element the model lacks),
/// NeighborListMismatch (a list built for another configuration or model), EmptyConfiguration;
/// the neighbour search's own errors (e.g. more neighbours than max_neigh_num) pass through.
/// Cancellation is honoured between phases and centre types (OperationCanceledException).</para>
/// <para>Verified against PWMLFF's own outputs (fixtures/agau/reference_original.json, 8 images):
/// max deviation 1.1e-13 eV (E), 2.1e-13 eV/Å (F), 9.3e-13 eV (W).</para>
/// </remarks>
public sealed class ReferenceEngine : IDpEngine
{
    private readonly TorchEmbeddingNet[]? _embedding;
    private readonly TorchFittingNet[] _fitting;
    private readonly TableEvaluator? _table;
    private readonly int _threads;
    private int _disposed;

    /// <summary>Creates an engine for <paramref name="model"/>: original when it has no compression table, compressed otherwise.</summary>
    /// <param name="model">The model (original or compressed).</param>
    /// <param name="intraOpThreads">libtorch intra-op threads used by <see cref="Evaluate"/> (set on the calling
    /// thread). Default 1: the tensors here are small ([N, T·K, 4]), and on the 2-core test machine 160 Ag–Au
    /// configurations took 1.6 s with one thread against 9–26 s with two (thread hand-off dominates).</param>
    /// <param name="runtime">Table lookup of a compressed model: DpCompress's (default) or the emulation of PWMLFF's runtime (SPEC §8).</param>
    /// <exception cref="DpCompressException">TorchUnavailable, ModelNotSupported (embedding nets of more than one input), TableShapeMismatch.</exception>
    public ReferenceEngine(DpModel model, int intraOpThreads = 1, TableRuntime runtime = TableRuntime.DpCompress)
    {
        Runtime = runtime;
        ArgumentNullException.ThrowIfNull(model);
        ArgumentOutOfRangeException.ThrowIfLessThan(intraOpThreads, 1);
        _threads = intraOpThreads;
        TorchRuntime.EnsureLoaded();
        if (model.EmbeddingNets.Any(n => n.InputWidth != 1))
            throw new DpCompressException("ModelNotSupported", ErrorKind.NotImplemented,
                "The reference engine evaluates plain se_e2_a DP models (embedding input width 1); this model's embedding nets take "
                + model.EmbeddingNets[0].InputWidth + " inputs (type-embedding DP).", model.SourcePath);
        if (model.Compression is { } table && (table.NetCount != model.TableNets.Count || table.Width != model.EmbeddingWidth))
            throw new DpCompressException("TableShapeMismatch", ErrorKind.InvalidData,
                $"The compression table holds {table.NetCount} nets of width {table.Width}; the model needs {model.TableNets.Count} of width {model.EmbeddingWidth}.",
                model.SourcePath);
        Model = model;
        _table = model.Compression is { } t ? new TableEvaluator(t, runtime) : null;
        using (torch.NewDisposeScope())
        {
            _embedding = model.Compression is null ? model.TableNets.Select(n => new TorchEmbeddingNet(n)).ToArray() : null;
            _fitting = model.FittingNets.Select(n => new TorchFittingNet(n)).ToArray();
        }
    }

    public EngineKind Kind => EngineKind.Reference;

    /// <summary>Whose table lookup a compressed model uses (SPEC §3 or the PWMLFF runtime emulation of §8).</summary>
    public TableRuntime Runtime { get; }

    /// <summary>The model evaluated.</summary>
    public DpModel Model { get; }

    /// <inheritdoc />
    public Prediction Evaluate(Configuration configuration, NeighborList? neighbors = null, PhaseTimings? timings = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var model = Model;
        int n = configuration.AtomCount, nt = model.TypeCount, k = model.MaxNeighbors, m = model.EmbeddingWidth, m2 = model.M2;
        if (n == 0)
            throw new DpCompressException("EmptyConfiguration", ErrorKind.InvalidArgument, $"Configuration {configuration} has no atoms.", configuration.Source);
        if (m2 > m)
            throw new DpCompressException("InvalidModel", ErrorKind.InvalidData, $"M2 ({m2}) exceeds the embedding width ({m}).", model.SourcePath);
        ReferenceMemoryGuard.Check(model, n, configuration.Source);
        int[] types = NeighborSearch.MapTypes(configuration, model.AtomTypes);
        cancellationToken.ThrowIfCancellationRequested();

        var sw = Stopwatch.StartNew();
        if (neighbors is null)
        {
            neighbors = ModelNeighbors.Build(configuration, model);
            if (timings is not null) timings.NeighborSearch += sw.Elapsed.TotalSeconds;
        }
        CheckNeighborList(neighbors, configuration, types);
        cancellationToken.ThrowIfCancellationRequested();

        int[] present = types.Distinct().Order().ToArray();
        int tp = present.Length;
        var conv = model.Conventions;
        int[] blockTypes = conv.Blocks(nt, present);
        int slots = n * nt * k;
        if (torch.get_num_threads() != _threads) torch.set_num_threads(_threads);
        using var grad = torch.enable_grad();
        using var scope = torch.NewDisposeScope();

        // ---- Environment: S(r), R̃, R (SPEC §2.1–2.2) -------------------------------------
        sw.Restart();
        var realMask = new bool[slots];
        for (int q = 0; q < slots; q++) realMask[q] = neighbors.Neighbor[q] >= 0;
        var dR = torch.tensor(neighbors.Delta, new long[] { n, nt, k, 3 }, ScalarType.Float64).requires_grad_(true);
        var R = Environment(dR, torch.tensor(realMask, new long[] { n, nt, k }), types);
        if (model.Conventions.HasExclusions)
        {
            // Excluded pairs: the real neighbour keeps its slot but its row is zero (no A_i term, no force).
            var keep = new double[slots];
            for (int q = 0; q < slots; q++)
                keep[q] = realMask[q] && model.Conventions.IsExcluded(types[q / (nt * k)], q / k % nt) ? 0.0 : 1.0;
            R = R.mul(torch.tensor(keep, new long[] { n, nt, k, 1 }, ScalarType.Float64));
            for (int q = 0; q < slots; q++) if (keep[q] == 0) realMask[q] = false;
        }
        if (timings is not null) timings.Environment += sw.Elapsed.TotalSeconds;
        cancellationToken.ThrowIfCancellationRequested();

        // Scaled s of every slot (for MaxScaledS and the table lookup).
        var sAll = TorchOps.ToArray(R.select(-1, 0).detach());
        double maxS = 0;
        bool anyReal = false;
        for (int q = 0; q < slots; q++)
            if (realMask[q] && (!anyReal || sAll[q] > maxS)) { maxS = sAll[q]; anyReal = true; }

        // ---- Embedding, descriptor and fitting per centre type (SPEC §2.4–2.6) ---------------
        var blocks = new List<Block>();
        var energyParts = new List<Tensor>();
        var energyAtoms = new List<int[]>();
        double tEmbedding = 0, tDescriptor = 0, tFitting = 0;
        long outOfTable = 0, beyondTraining = 0;
        foreach (int ti in present)
        {
            cancellationToken.ThrowIfCancellationRequested();
            int[] atoms = Enumerable.Range(0, n).Where(a => types[a] == ti).ToArray();
            int ni = atoms.Length;
            var idx = torch.tensor(atoms.Select(a => (long)a).ToArray(), ScalarType.Int64);
            var Ri = R.index_select(0, idx);                                   // [Ni, T, K, 4]
            Tensor? A = null;
            foreach (int tj in blockTypes)
            {
                sw.Restart();
                int kb = conv.SlotCount(tj, k);
                var Rb = Ri.select(1, tj).narrow(1, 0, kb);                    // [Ni, K_t, 4]
                int net = model.TableNetIndex(ti, tj);
                Tensor G;
                Tensor? sLeaf = null, dG = null;
                if (model.Compression is { } table)
                {
                    var sBlock = new double[ni * kb];
                    for (int a = 0; a < ni; a++)
                        Array.Copy(sAll, (atoms[a] * nt + tj) * k, sBlock, a * kb, kb);
                    var g = new double[ni * kb * m];
                    var dg = new double[ni * kb * m];
                    for (int q = 0; q < sBlock.Length; q++)
                    {
                        double sv = sBlock[q];
                        if (_table!.Locate(sv, out _, out _) == TableRegion.BeyondTable) outOfTable++;
                        if (sv > table.Grid.SMax) beyondTraining++;
                        _table.Evaluate(net, sv, g.AsSpan(q * m, m), dg.AsSpan(q * m, m));
                    }
                    G = torch.tensor(g, new long[] { ni, kb, m }, ScalarType.Float64).requires_grad_(true);
                    dG = torch.tensor(dg, new long[] { ni, kb, m }, ScalarType.Float64);
                }
                else
                {
                    sLeaf = Rb.select(-1, 0).detach().clone().unsqueeze(-1).requires_grad_(true); // [Ni, K, 1]
                    G = _embedding![net].Forward(sLeaf);                                             // [Ni, K, m]
                }
                tEmbedding += sw.Elapsed.TotalSeconds;
                sw.Restart();
                blocks.Add(new Block(tj, kb, atoms, G, sLeaf, dG));
                var term = Rb.transpose(1, 2).matmul(G);                       // [Ni, 4, m]
                A = A is null ? term : TorchOps.Add(A, term);
                tDescriptor += sw.Elapsed.TotalSeconds;
            }
            sw.Restart();
            A = A!.div(TorchOps.Const(conv.Divisor(k, tp)));
            var D = A.transpose(1, 2).matmul(A.narrow(2, 0, m2)).reshape(ni, m * m2); // [Ni, m·M2]
            tDescriptor += sw.Elapsed.TotalSeconds;
            sw.Restart();
            var e = _fitting[ti].Forward(D).reshape(ni);                         // [Ni]
            double bias = conv.AtomEnergyBias(ti);
            energyParts.Add(bias == 0 ? e : TorchOps.Add(e, TorchOps.Const(bias)));
            energyAtoms.Add(atoms);
            tFitting += sw.Elapsed.TotalSeconds;
        }
        sw.Restart();
        var ei = torch.cat(energyParts, 0);
        var energy = ei.sum();
        tFitting += sw.Elapsed.TotalSeconds;
        if (timings is not null)
        {
            timings.Embedding += tEmbedding;
            timings.Descriptor += tDescriptor;
            timings.Fitting += tFitting;
        }
        cancellationToken.ThrowIfCancellationRequested();

        // ---- Backward (three stages, see remarks) --------------------------------------------
        sw.Restart();
        var inputs = new List<Tensor> { dR };
        inputs.AddRange(blocks.Select(b => b.G));
        var g1 = torch.autograd.grad(new[] { energy }, inputs, retain_graph: true);
        var gradDirect = g1[0];
        var stage2 = Stopwatch.StartNew();
        var gS = new double[slots];
        var gSTensors = _embedding is not null
            ? torch.autograd.grad(blocks.Select(b => b.G).ToList(), blocks.Select(b => b.SLeaf!).ToList(), g1.Skip(1).ToList(), retain_graph: true)
            : blocks.Select((b, i) => g1[i + 1].mul(b.DG!).sum(-1)).ToList();
        for (int bi = 0; bi < blocks.Count; bi++)
        {
            var b = blocks[bi];
            var vals = TorchOps.ToArray(gSTensors[bi]);        // [Ni, K_t(, 1)]
            for (int a = 0; a < b.Atoms.Length; a++)
                Array.Copy(vals, a * b.Slots, gS, (b.Atoms[a] * nt + b.NeighborType) * k, b.Slots);
        }
        double tEmbBackward = stage2.Elapsed.TotalSeconds;
        var gSTensor = torch.tensor(gS, new long[] { n, nt, k }, ScalarType.Float64);
        var gViaS = torch.autograd.grad(new[] { R.select(-1, 0) }, new[] { dR }, new[] { gSTensor })[0];
        var dEdR = TorchOps.ToArray(TorchOps.Add(gradDirect, gViaS));    // [N, T, K, 3]

        var forces = new double[n * 3];
        var virial = new double[9];
        var delta = neighbors.Delta;
        for (int q = 0; q < slots; q++)
        {
            int j = neighbors.Neighbor[q];
            if (j < 0) continue;
            int i = q / (nt * k);
            for (int c = 0; c < 3; c++)
            {
                double gc = dEdR[q * 3 + c];
                forces[i * 3 + c] += gc;
                forces[j * 3 + c] -= gc;
            }
            for (int a = 0; a < 3; a++)
                for (int c = 0; c < 3; c++)
                    virial[a * 3 + c] -= delta[q * 3 + a] * dEdR[q * 3 + c];
        }
        var eiValues = TorchOps.ToArray(ei.detach());
        var atomic = new double[n];
        int p = 0;
        foreach (var atoms in energyAtoms)
            foreach (int a in atoms) atomic[a] = eiValues[p++];
        double total = energy.item<double>();
        if (timings is not null)
        {
            timings.Backward += sw.Elapsed.TotalSeconds;
            timings.EmbeddingBackward += tEmbBackward;
        }

        return new Prediction(configuration, total, atomic, forces, virial)
        {
            Engine = "Reference",
            Compressed = model.Compression is not null,
            Runtime = model.Compression is null ? null : Runtime,
            MaxScaledS = anyReal ? maxS : 0,
            OutOfTableCount = outOfTable,
            BeyondTrainingCount = beyondTraining,
        };
    }

    /// <summary>
    /// R = (R̃ − davg[t_i]) / dstd[t_i] with R̃ = (S, S·x/r, S·y/r, S·z/r) and the smooth
    /// weight S(r) of SPEC §2.1 (strict inequalities: r == Rmin or r ≥ Rmax give S = 0).
    /// Padding slots have R̃ = 0.
    /// </summary>
    /// <param name="dR">[N, T, K, 3] dR = r_j − r_i (zero for padding), requires grad.</param>
    /// <param name="real">[N, T, K] true for real neighbours.</param>
    /// <param name="types">[N] model type of each atom.</param>
    /// <returns>[N, T, K, 4] normalised environment rows R.</returns>
    private Tensor Environment(Tensor dR, Tensor real, int[] types)
    {
        var model = Model;
        double rmin = model.Rmin, rmax = model.Rmax;
        var r2 = dR.mul(dR).sum(-1);                                          // [N, T, K]
        var r = torch.where(real, r2, torch.ones_like(r2)).sqrt();              // padding: r := 1 (masked below)
        var inv = r.reciprocal();
        var rminT = TorchOps.Const(rmin);
        var rmaxT = TorchOps.Const(rmax);
        var u = TorchOps.Sub(r, rminT).mul(TorchOps.Const(1.0 / (rmax - rmin)));
        // S = (1/r)·(u³(−6u² + 15u − 10) + 1)
        var poly = TorchOps.Add(TorchOps.Add(u.mul(TorchOps.Const(-6.0)), TorchOps.Const(15.0)).mul(u), TorchOps.Const(-10.0));
        var smooth = inv.mul(TorchOps.Add(u.mul(u).mul(u).mul(poly), TorchOps.Const(1.0)));
        var zero = torch.zeros_like(r);
        var inner = model.Conventions.SwitchIncludesRmin ? r.le(rminT) : r.lt(rminT);
        var S = torch.where(real.logical_and(inner), inv,
                torch.where(real.logical_and(r.gt(rminT)).logical_and(r.lt(rmaxT)), smooth, zero));
        var Rt = torch.cat(new[] { S.unsqueeze(-1), S.mul(inv).unsqueeze(-1).mul(dR) }, -1); // [N, T, K, 4]
        int n = types.Length;
        var avg = new double[n * 4];
        var std = new double[n * 4];
        for (int a = 0; a < n; a++)
            for (int c = 0; c < 4; c++)
            {
                avg[a * 4 + c] = model.Davg[types[a] * 4 + c];
                std[a * 4 + c] = model.Dstd[types[a] * 4 + c];
            }
        var davg = torch.tensor(avg, new long[] { n, 1, 1, 4 }, ScalarType.Float64);
        var dstd = torch.tensor(std, new long[] { n, 1, 1, 4 }, ScalarType.Float64);
        return TorchOps.Sub(Rt, davg).div(dstd);
    }

    private void CheckNeighborList(NeighborList nl, Configuration configuration, int[] types)
    {
        int slots = configuration.AtomCount * Model.TypeCount * Model.MaxNeighbors;
        bool ok = nl.AtomCount == configuration.AtomCount && nl.TypeCount == Model.TypeCount && nl.MaxNeighbors == Model.MaxNeighbors
                  && nl.Neighbor.Length == slots && nl.Delta.Length == slots * 3 && nl.AtomTypes.AsSpan().SequenceEqual(types);
        if (!ok)
            throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument,
                $"The neighbour list ({nl.AtomCount} atoms, {nl.TypeCount} types, {nl.MaxNeighbors} slots) was not built for {configuration} and this model ({Model.TypeCount} types, {Model.MaxNeighbors} slots).",
                configuration.Source);
        foreach (int j in nl.Neighbor)
            if (j >= configuration.AtomCount)
                throw new DpCompressException("NeighborListMismatch", ErrorKind.InvalidArgument,
                    $"The neighbour list refers to atom {j}, but {configuration} has {configuration.AtomCount} atoms.", configuration.Source);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        if (_embedding is not null) foreach (var e in _embedding) e.Dispose();
        foreach (var f in _fitting) f.Dispose();
    }

    /// <summary>One (centre type, neighbour type) block: G [Ni, K, m]; s leaf [Ni, K, 1] (original) or dG/ds [Ni, K, m] (compressed).</summary>
    private sealed record Block(int NeighborType, int Slots, int[] Atoms, Tensor G, Tensor? SLeaf, Tensor? DG);
}
