namespace DpCompress.Core.Model;

/// <summary>How the neighbours of a block are chosen when a centre has more than fit.</summary>
public enum NeighborSelection
{
    /// <summary>PWMLFF: every neighbour within Rmax, in (atom index, image) order; more than K in a block is an error (TooManyNeighbors).</summary>
    AllOrFail,

    /// <summary>DeePMD-kit: neighbours sorted nearest first (stable), the nearest sel[t] of each type kept, the rest dropped.</summary>
    NearestTruncated,
}

/// <summary>
/// The environment and descriptor conventions an engine follows for one model: which slots a
/// block has, which blocks enter the descriptor, the divisor of A_i, the switch at r = Rmin and the
/// per-type energy bias. PWMLFF's DP (SPEC §2) and DeePMD-kit's se_e2_a (fixtures/deepmd README §6)
/// differ only in these points; the engines consult this object instead of branching on the flavour.
/// </summary>
/// <remarks>
/// <para>Glossary: T model types, K = <see cref="DpModel.MaxNeighbors"/> slots reserved per block in
/// the neighbour list, K_t = <see cref="SlotCount"/> slots of block t that enter the descriptor, Tp
/// types present in the configuration.</para>
/// <para>A_i = Σ_{blocks t} Σ_{slots k &lt; K_t} R̃_{ik}ᵀ·G(s_{ik}) / <see cref="Divisor"/>, padding slots
/// included (their R̃ = −davg/dstd with s = R̃_0, so G(s_pad) ≠ 0 adds to the radial row).
/// PWMLFF: K_t = K, blocks of present types only, divisor K·Tp. DeePMD-kit: K_t = sel[t], every
/// block, divisor Σsel. Embedding nets are always stored in PWMLFF order (k = t_i·T + t_j); readers
/// of other formats permute their nets into it, so no convention is needed for the net index (a
/// type-embedding model's table has one net per neighbour type: <see cref="DpModel.TableNetIndex"/>).</para>
/// <para>E_i = F_{t_i}(D_i) + <see cref="AtomEnergyBias"/>[t_i] (PWMLFF: no bias, its energy shift is folded
/// into the last fitting bias; DeePMD-kit: bias_atom_e + out_bias).</para>
/// </remarks>
public sealed class DescriptorConventions
{
    private readonly int[]? _slots;
    private readonly double[]? _bias;
    private readonly bool[]? _excluded;

    private DescriptorConventions(string name, NeighborSelection selection, int[]? slots, bool allBlocks, bool switchIncludesRmin, double[]? bias, bool[]? excluded = null)
    {
        _excluded = excluded;
        Name = name;
        Selection = selection;
        _slots = slots;
        AllTypeBlocks = allBlocks;
        SwitchIncludesRmin = switchIncludesRmin;
        _bias = bias;
    }

    /// <summary>PWMLFF's DP conventions (SPEC §2).</summary>
    public static DescriptorConventions Pwmlff { get; } = new("PWMLFF", NeighborSelection.AllOrFail, null, false, false, null);

    /// <summary>DeePMD-kit's se_e2_a conventions.</summary>
    /// <param name="sel">[T] slots per neighbour type (sel).</param>
    /// <param name="atomEnergyBias">[T] energy added to every atomic energy of type t (bias_atom_e + out_bias), eV.</param>
    /// <param name="excludedPairs">Type pairs (either order) whose real neighbours enter A_i with a zero row (DeePMD-kit's
    /// exclude_types); their padding slots still count. Null or empty: none.</param>
    public static DescriptorConventions DeepMd(int[] sel, double[] atomEnergyBias, IEnumerable<(int, int)>? excludedPairs = null)
    {
        ArgumentNullException.ThrowIfNull(sel);
        ArgumentNullException.ThrowIfNull(atomEnergyBias);
        if (sel.Length == 0 || sel.Any(s => s < 1)) throw new ArgumentException("sel needs a positive count per type.", nameof(sel));
        if (atomEnergyBias.Length != sel.Length) throw new ArgumentException("One energy bias per type is needed.", nameof(atomEnergyBias));
        bool[]? excluded = null;
        foreach (var (a, b) in excludedPairs ?? Array.Empty<(int, int)>())
        {
            if ((uint)a >= (uint)sel.Length || (uint)b >= (uint)sel.Length) throw new ArgumentException($"Excluded pair ({a}, {b}) names a type beyond {sel.Length - 1}.", nameof(excludedPairs));
            excluded ??= new bool[sel.Length * sel.Length];
            excluded[a * sel.Length + b] = excluded[b * sel.Length + a] = true;
        }
        return new("DeePMD-kit", NeighborSelection.NearestTruncated, (int[])sel.Clone(), true, true, (double[])atomEnergyBias.Clone(), excluded);
    }

    /// <summary>True when some type pair is excluded (<see cref="IsExcluded"/>).</summary>
    public bool HasExclusions => _excluded is not null;

    /// <summary>
    /// True when neighbours of type <paramref name="neighborType"/> around a centre of type <paramref name="centreType"/> are
    /// excluded: they keep their slot (so padding = K_t − count still) but their row of R is zero, so they add
    /// nothing to A_i and feel no force (DeePMD-kit's PairExcludeMask).
    /// </summary>
    public bool IsExcluded(int centreType, int neighborType) => _excluded is not null && _excluded[centreType * _slots!.Length + neighborType];

    /// <summary>A short name for messages ("PWMLFF", "DeePMD-kit").</summary>
    public string Name { get; }

    public NeighborSelection Selection { get; }

    /// <summary>True when every type block enters A_i (DeePMD-kit), false when only the blocks of types present in the configuration do (PWMLFF).</summary>
    public bool AllTypeBlocks { get; }

    /// <summary>True when r = Rmin gives S = 1/r (DeePMD-kit: w = 1 for r &lt; rs, the polynomial from rs on); false when S = 0 there (PWMLFF's strict inequalities).</summary>
    public bool SwitchIncludesRmin { get; }

    /// <summary>True for PWMLFF's conventions.</summary>
    public bool IsPwmlff => ReferenceEquals(this, Pwmlff);

    /// <summary>[T] sel, or null when every block has K slots.</summary>
    public IReadOnlyList<int>? Sel => _slots;

    /// <summary>K_t: slots of block <paramref name="type"/> that enter the descriptor.</summary>
    /// <param name="type">Neighbour type t.</param>
    /// <param name="maxNeighbors">K of the neighbour list.</param>
    public int SlotCount(int type, int maxNeighbors) => _slots is null ? maxNeighbors : _slots[type];

    /// <summary>The divisor of A_i: K·Tp (PWMLFF) or Σ_t K_t over all types (DeePMD-kit).</summary>
    /// <param name="maxNeighbors">K.</param>
    /// <param name="presentTypes">Tp, types present in the configuration.</param>
    public double Divisor(int maxNeighbors, int presentTypes) => _slots is null ? (double)maxNeighbors * presentTypes : _slots.Sum();

    /// <summary>Energy added to E_i of an atom of type <paramref name="type"/> (0 for PWMLFF).</summary>
    public double AtomEnergyBias(int type) => _bias is null ? 0.0 : _bias[type];

    /// <summary>The blocks that enter A_i, ascending.</summary>
    /// <param name="typeCount">T.</param>
    /// <param name="present">Types present in the configuration, ascending.</param>
    public int[] Blocks(int typeCount, int[] present) => AllTypeBlocks ? Enumerable.Range(0, typeCount).ToArray() : present;

    public override string ToString() => _slots is null ? Name : $"{Name} (sel [{string.Join(",", _slots)}])";
}
