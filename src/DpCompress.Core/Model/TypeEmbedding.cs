namespace DpCompress.Core.Model;

/// <summary>
/// The convention object of a PWMLFF type-embedding DP model (fixtures/agau_te/README.md §2–§5):
/// one embedding net shared by all element pairs, fed with [s̃, v(Z_j)], where v is the property
/// vector of the NEIGHBOUR's element (the centre's element does not enter the net).
/// </summary>
/// <remarks>
/// <para>Glossary: T model types, P properties, m embedding width.</para>
/// <para>The first layer of the shared net is z = [s̃, v_1 … v_P]·W + b with W [(1+P), m]. For a
/// fixed neighbour element it is a 1-input layer: z = s̃·W[0, :] + b′(Z_j) with
/// b′(Z_j) = b + Σ_p v_p(Z_j)·W[p, :] (rows 1…P). <see cref="EffectiveNets"/> holds these T
/// "effective" nets, one per neighbour model type; everything downstream (engines, tables,
/// derivatives along s̃) treats them as plain 1-input nets, so a model with T types pays T nets
/// (not T²) and G′, G″ along s̃ flow through W[0, :] only, which is exact.</para>
/// <para>Net indexing: the net (and table) of a slot is the neighbour block's model type t_j,
/// for every centre type (<see cref="NetIndex"/>).</para>
/// </remarks>
public sealed class TypeEmbedding
{
    /// <summary>Creates the convention object and folds the type vectors into the first-layer bias.</summary>
    /// <param name="properties">physical_property names, in the model's order.</param>
    /// <param name="typeVectors">[T][P] v(Z_t) per model type.</param>
    /// <param name="sharedNet">The shared net, first layer (1+P) inputs.</param>
    public TypeEmbedding(IReadOnlyList<string> properties, double[][] typeVectors, EmbeddingNet sharedNet)
    {
        ArgumentNullException.ThrowIfNull(properties);
        ArgumentNullException.ThrowIfNull(typeVectors);
        ArgumentNullException.ThrowIfNull(sharedNet);
        int p = properties.Count;
        if (sharedNet.InputWidth != 1 + p)
            throw new ArgumentException($"The shared net takes {sharedNet.InputWidth} inputs, expected 1 + {p}.", nameof(sharedNet));
        foreach (var v in typeVectors)
            if (v.Length != p) throw new ArgumentException($"A type vector has {v.Length} entries, expected {p}.", nameof(typeVectors));
        Properties = properties.ToArray();
        TypeVectors = typeVectors;
        SharedNet = sharedNet;
        EffectiveNets = typeVectors.Select(v => Fold(sharedNet, v)).ToArray();
    }

    /// <summary>physical_property names, in the model's order (length P).</summary>
    public IReadOnlyList<string> Properties { get; }

    /// <summary>[T][P] type vector v(Z_t) of each model type.</summary>
    public double[][] TypeVectors { get; }

    /// <summary>The one shared embedding net ((1+P) → m).</summary>
    public EmbeddingNet SharedNet { get; }

    /// <summary>[T] 1-input nets G_t(s̃) = SharedNet([s̃, v(Z_t)]), index = neighbour model type.</summary>
    public EmbeddingNet[] EffectiveNets { get; }

    /// <summary>Net (table) index of a slot: the neighbour block's type, whatever the centre type.</summary>
    public static int NetIndex(int centreType, int neighborType) => neighborType;

    /// <summary>
    /// The shared net with its input fixed to [s̃, v]: first layer W′ = W[0, :] (1 × m),
    /// b′ = b + Σ_p v_p·W[p, :] (p = 1…P, summed in property order); later layers unchanged.
    /// The first layer never adds a skip connection (PWMLFF's type-embedding net).
    /// </summary>
    public static EmbeddingNet Fold(EmbeddingNet sharedNet, double[] v)
    {
        ArgumentNullException.ThrowIfNull(sharedNet);
        ArgumentNullException.ThrowIfNull(v);
        var first = sharedNet.Layers[0];
        int m = first.Outputs;
        if (first.Inputs != 1 + v.Length)
            throw new ArgumentException($"The first layer takes {first.Inputs} inputs, expected 1 + {v.Length}.", nameof(v));
        var w = new double[m];
        Array.Copy(first.Weight, 0, w, 0, m);
        var b = new double[m];
        for (int o = 0; o < m; o++)
        {
            double z = 0;
            for (int p = 0; p < v.Length; p++) z += v[p] * first.Weight[(1 + p) * m + o];
            b[o] = (first.Bias?[o] ?? 0) + z;
        }
        var layers = new List<DenseLayer> { new DenseLayer(1, m, w, b, first.ResnetDt, allowSkip: false) };
        layers.AddRange(sharedNet.Layers.Skip(1));
        return new EmbeddingNet(layers);
    }
}
