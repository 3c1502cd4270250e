using DpCompress.Core.Compression;
using DpCompress.Core.Serialization;

namespace DpCompress.Core.Model;

/// <summary>
/// A PWMLFF Deep Potential (se_e2_a) model: typed nets and statistics (SPEC §2, §5), plus the
/// untouched checkpoint dictionary so that an exported model loses no key.
/// </summary>
/// <remarks>
/// Glossary: ntypes = number of atom types; m = embedding output width; M2 = descriptor
/// sub-width; nnei = ntypes · <see cref="MaxNeighbors"/> slots per centre atom.
/// </remarks>
public sealed class DpModel
{
    public DpModel(
        int[] atomTypes,
        double rmin,
        double rmax,
        int maxNeighbors,
        int m2,
        Precision precision,
        EmbeddingNet[] embeddingNets,
        FittingNet[] fittingNets,
        double[] davg,
        double[] dstd,
        double[] energyShift,
        double? sijMax,
        PyDict checkpoint,
        CompressionTable? compression = null,
        string? sourcePath = null)
    {
        int nt = atomTypes.Length;
        if (nt == 0) throw new ArgumentException("A model needs at least one atom type.", nameof(atomTypes));
        if (embeddingNets.Length != nt * nt) throw new ArgumentException($"Expected {nt * nt} embedding nets, got {embeddingNets.Length}.", nameof(embeddingNets));
        if (fittingNets.Length != nt) throw new ArgumentException($"Expected {nt} fitting nets, got {fittingNets.Length}.", nameof(fittingNets));
        if (davg.Length != nt * 4 || dstd.Length != nt * 4) throw new ArgumentException("davg and dstd must hold 4 values per type.");
        if (energyShift.Length != nt) throw new ArgumentException($"energy_shift must hold {nt} values.", nameof(energyShift));
        AtomTypes = atomTypes;
        Rmin = rmin;
        Rmax = rmax;
        MaxNeighbors = maxNeighbors;
        M2 = m2;
        Precision = precision;
        EmbeddingNets = embeddingNets;
        FittingNets = fittingNets;
        Davg = davg;
        Dstd = dstd;
        EnergyShift = energyShift;
        SijMax = sijMax;
        Checkpoint = checkpoint;
        Compression = compression;
        SourcePath = sourcePath;
    }

    /// <summary>Which kind of model this is (PWMLFF DP, PWMLFF type-embedding DP, DeePMD-kit se_e2_a).</summary>
    public ModelFlavour Flavour { get; init; } = ModelFlavour.PwmlffDp;

    /// <summary>
    /// Type-embedding DP convention (shared net, property list, type vectors), or null for plain DP.
    /// <see cref="EmbeddingNets"/>[t_i·ntypes + t_j] then holds the effective net of neighbour type t_j.
    /// </summary>
    public TypeEmbedding? TypeEmbedding { get; init; }

    /// <summary>The distinct nets a compression table holds: [ntypes²] for plain DP, [ntypes] (one per neighbour type) for type-embedding DP.</summary>
    public IReadOnlyList<EmbeddingNet> TableNets => TypeEmbedding is { } te ? te.EffectiveNets : EmbeddingNets;

    /// <summary>Index into <see cref="TableNets"/> (and the table) of a (centre type, neighbour type) block.</summary>
    public int TableNetIndex(int centreType, int neighborType) =>
        TypeEmbedding is null ? centreType * TypeCount + neighborType : TypeEmbedding.NetIndex(centreType, neighborType);

    /// <summary>Environment/descriptor conventions the engines follow (PWMLFF's unless a reader of another format sets them).</summary>
    public DescriptorConventions Conventions { get; init; } = DescriptorConventions.Pwmlff;

    /// <summary>Atomic numbers Z of the model's types, in model type order.</summary>
    public int[] AtomTypes { get; }

    public int TypeCount => AtomTypes.Length;

    /// <summary>Rmin of the smooth switch S(r) (type 0's value serves all types).</summary>
    public double Rmin { get; }

    /// <summary>Cutoff radius Rmax (Å).</summary>
    public double Rmax { get; }

    /// <summary>Slots per neighbour type block (max_neigh_num).</summary>
    public int MaxNeighbors { get; }

    public int M2 { get; }

    public Precision Precision { get; }

    /// <summary>[ntypes·ntypes] embedding nets (1 input), index t_i·ntypes + t_j (type-embedding DP: the effective net of t_j, shared by every t_i).</summary>
    public EmbeddingNet[] EmbeddingNets { get; }

    /// <summary>[ntypes] fitting nets, one per centre type.</summary>
    public FittingNet[] FittingNets { get; }

    /// <summary>[ntypes, 4] row-major: davg[t·4 + c] (mean of S for c = 0, zero otherwise).</summary>
    public double[] Davg { get; }

    /// <summary>[ntypes, 4] row-major: dstd[t·4 + c].</summary>
    public double[] Dstd { get; }

    /// <summary>[ntypes] energy shift (eV) stored in the checkpoint (folded into the last fitting bias by PWMLFF).</summary>
    public double[] EnergyShift { get; }

    /// <summary>Largest raw S(r) seen in training (checkpoint key sij_max), or null when absent.</summary>
    public double? SijMax { get; }

    /// <summary>m, the embedding output width.</summary>
    public int EmbeddingWidth => EmbeddingNets[0].OutputWidth;

    /// <summary>Layer widths of the embedding nets, without the input (e.g. 25,25,25).</summary>
    public int[] EmbeddingSizes => (TypeEmbedding?.SharedNet ?? EmbeddingNets[0]).Layers.Select(l => l.Outputs).ToArray();

    /// <summary>Layer widths of the fitting nets, without the input (e.g. 50,50,50,1).</summary>
    public int[] FittingSizes => FittingNets[0].Layers.Select(l => l.Outputs).ToArray();

    public int ParameterCount => (TypeEmbedding is { } te ? te.SharedNet.ParameterCount : EmbeddingNets.Sum(n => n.ParameterCount))
                                 + FittingNets.Sum(n => n.ParameterCount);

    /// <summary>The compression table, or null for an original model.</summary>
    public CompressionTable? Compression { get; }

    public bool IsCompressed => Compression is not null;

    public int? Order => Compression?.Order;

    public double? Dx => Compression?.Grid.Dx;

    /// <summary>Largest measured |table − G| inside the training range, over all nets (models compressed here; else null).</summary>
    public double? TableError => Compression is { Accuracy.Count: > 0 } c ? c.InnerMaxValueError : null;

    /// <summary>Largest measured |table′ − G′| inside the training range, over all nets (models compressed here; else null).</summary>
    public double? TableDerivativeError => Compression is { Accuracy.Count: > 0 } c ? c.InnerMaxDerivativeError : null;

    /// <summary>Largest measured |table − G| over the whole table, extrapolation grid included (models compressed here; else null).</summary>
    public double? OuterTableError => Compression is { Accuracy.Count: > 0 } c ? c.MaxValueError : null;

    /// <summary>The checkpoint dictionary as read (every key, in order); exporting writes it back.</summary>
    public PyDict Checkpoint { get; }

    /// <summary>File the model was read from, if any.</summary>
    public string? SourcePath { get; }

    /// <summary>Index of atomic number <paramref name="z"/> in <see cref="AtomTypes"/>, or −1.</summary>
    public int TypeIndexOf(int z) => Array.IndexOf(AtomTypes, z);

    /// <summary>A copy of this model with another compression table (null: the original model).</summary>
    public DpModel WithCompression(CompressionTable? compression, string? sourcePath = null) =>
        new(AtomTypes, Rmin, Rmax, MaxNeighbors, M2, Precision, EmbeddingNets, FittingNets, Davg, Dstd,
            EnergyShift, SijMax, Checkpoint, compression, sourcePath)
        { Flavour = Flavour, Conventions = Conventions, TypeEmbedding = TypeEmbedding };

    public override string ToString() =>
        $"DpModel [{string.Join(",", AtomTypes)}] emb [{string.Join(",", EmbeddingSizes)}] fit [{string.Join(",", FittingSizes)}]" +
        (TypeEmbedding is { } te ? $" type-embedding [{string.Join(",", te.Properties)}]" : "") +
        (IsCompressed ? $" compressed order {Order} dx {Dx}" : "");
}
