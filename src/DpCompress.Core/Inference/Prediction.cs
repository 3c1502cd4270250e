using DpCompress.Core.Structures;

namespace DpCompress.Core.Inference;

/// <summary>What a DP model predicts for one configuration (SPEC §2.6–2.7). Units eV, eV/Å.</summary>
public sealed class Prediction
{
    public Prediction(Configuration configuration, double energy, double[] atomicEnergies, double[] forces, double[] virial)
    {
        Configuration = configuration;
        Energy = energy;
        AtomicEnergies = atomicEnergies;
        Forces = forces;
        Virial = virial;
    }

    public Configuration Configuration { get; }

    /// <summary>E = Σ E_i (eV).</summary>
    public double Energy { get; }

    /// <summary>[N] E_i in atom order (eV).</summary>
    public double[] AtomicEnergies { get; }

    /// <summary>[N, 3] F = −∂E/∂r (eV/Å).</summary>
    public double[] Forces { get; }

    /// <summary>[9] virial W_ab = Σ dR_a·(−∂E/∂dR_b), row-major xx, xy, xz, yx, … (eV).</summary>
    public double[] Virial { get; }

    public int AtomCount => AtomicEnergies.Length;

    public double EnergyPerAtom => Energy / AtomCount;

    /// <summary>max_i |F_i| = max_i (F_ix² + F_iy² + F_iz²)^½ over atoms (eV/Å); 0 without atoms.</summary>
    public double MaxForce
    {
        get
        {
            double max = 0;
            for (int i = 0; i + 2 < Forces.Length; i += 3)
                max = Math.Max(max, Math.Sqrt(Forces[i] * Forces[i] + Forces[i + 1] * Forces[i + 1] + Forces[i + 2] * Forces[i + 2]));
            return max;
        }
    }

    /// <summary>Compressed models: s values beyond the last table node (continued linearly).</summary>
    public long OutOfTableCount { get; init; }

    /// <summary>Compressed models: s values above the training maximum (inside the outer table).</summary>
    public long BeyondTrainingCount { get; init; }

    /// <summary>Largest normalised s over real neighbours (0 when there are none).</summary>
    public double MaxScaledS { get; init; }

    /// <summary>Which engine produced the prediction.</summary>
    public string Engine { get; init; } = "";

    /// <summary>True when the model evaluated was compressed.</summary>
    public bool Compressed { get; init; }

    /// <summary>Compressed models: whose table lookup produced the values — DpCompress's, or the emulation of
    /// PWMLFF's runtime (what PWMLFF and LAMMPS compute with the file). Null for an original model.</summary>
    public Compression.TableRuntime? Runtime { get; init; }
}

/// <summary>Which implementation evaluates a model.</summary>
public enum EngineKind
{
    /// <summary>TorchSharp autograd, mirroring PWMLFF operation by operation (ground truth).</summary>
    Reference,
    /// <summary>Hand-written float64 kernels with analytic backward, multi-threaded.</summary>
    Fast,
}

/// <summary>Wall time per phase of one or more evaluations, accumulated (seconds).</summary>
public sealed class PhaseTimings
{
    public double NeighborSearch { get; set; }
    /// <summary>S(r), R̃, normalisation.</summary>
    public double Environment { get; set; }
    /// <summary>Embedding nets (original) or table lookup (compressed), forward.</summary>
    public double Embedding { get; set; }
    /// <summary>A_i = Σ Rᵀ G and D_i = Aᵀ A&lt;.</summary>
    public double Descriptor { get; set; }
    /// <summary>Fitting nets forward.</summary>
    public double Fitting { get; set; }
    /// <summary>Everything backward: forces and virial (including embedding gradients).</summary>
    public double Backward { get; set; }
    /// <summary>Of <see cref="Backward"/>, the part spent in the embedding nets' / table's gradient when the engine can separate it (else 0).</summary>
    public double EmbeddingBackward { get; set; }

    public double Total => NeighborSearch + Environment + Embedding + Descriptor + Fitting + Backward;

    public void Add(PhaseTimings o)
    {
        NeighborSearch += o.NeighborSearch; Environment += o.Environment; Embedding += o.Embedding;
        Descriptor += o.Descriptor; Fitting += o.Fitting; Backward += o.Backward; EmbeddingBackward += o.EmbeddingBackward;
    }
}

/// <summary>An evaluator of one model (original or compressed). Implementations are thread-safe for Evaluate.</summary>
public interface IDpEngine : IDisposable
{
    EngineKind Kind { get; }

    /// <summary>Evaluates E, E_i, F and W. <paramref name="timings"/> (optional) receives per-phase wall time.</summary>
    /// <param name="configuration">The configuration (its elements must be model types).</param>
    /// <param name="neighbors">A neighbour list built for this model, or null to build one.</param>
    /// <param name="timings">Accumulates phase times when not null.</param>
    /// <param name="cancellationToken">Cancels long evaluations.</param>
    Prediction Evaluate(Configuration configuration, Neighbors.NeighborList? neighbors = null, PhaseTimings? timings = null, CancellationToken cancellationToken = default);
}
