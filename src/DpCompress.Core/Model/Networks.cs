namespace DpCompress.Core.Model;

/// <summary>
/// Embedding net G: R → R^m. Sizes [1] + network_size; every layer h = tanh(x·W + b),
/// then the skip rule of <see cref="DenseLayer.Skip"/> (SPEC §2). Index k = t_i·ntypes + t_j.
/// </summary>
public sealed class EmbeddingNet
{
    public EmbeddingNet(IReadOnlyList<DenseLayer> layers)
    {
        if (layers.Count == 0) throw new ArgumentException("An embedding net needs at least one layer.", nameof(layers));
        for (int l = 1; l < layers.Count; l++)
            if (layers[l].Inputs != layers[l - 1].Outputs)
                throw new ArgumentException($"Layer {l} takes {layers[l].Inputs} inputs but layer {l - 1} gives {layers[l - 1].Outputs}.");
        Layers = layers;
    }

    public IReadOnlyList<DenseLayer> Layers { get; }

    /// <summary>Input width (1 for plain DP; 1 + type-vector length for type-embedding DP).</summary>
    public int InputWidth => Layers[0].Inputs;

    /// <summary>m, the width of the last layer.</summary>
    public int OutputWidth => Layers[^1].Outputs;

    public int ParameterCount => Layers.Sum(l => l.ParameterCount);
}

/// <summary>
/// Fitting net E_i = F(D_i): sizes [m·M2] + network_size; hidden layers tanh with the skip
/// rules (resnet_dt only from the second hidden layer on), last layer linear. As in PWMLFF's
/// FittingNet.forward, the first layer never adds a skip connection (x = h), whatever its shape,
/// so the constructor switches it off (<see cref="DenseLayer.AllowSkip"/>) and every engine agrees.
/// </summary>
public sealed class FittingNet
{
    public FittingNet(IReadOnlyList<DenseLayer> layers)
    {
        if (layers.Count < 1) throw new ArgumentException("A fitting net needs at least one layer.", nameof(layers));
        if (layers[^1].Outputs != 1) throw new ArgumentException("The last fitting layer must have one output.", nameof(layers));
        for (int l = 1; l < layers.Count; l++)
            if (layers[l].Inputs != layers[l - 1].Outputs)
                throw new ArgumentException($"Layer {l} takes {layers[l].Inputs} inputs but layer {l - 1} gives {layers[l - 1].Outputs}.");
        var list = layers.ToArray();
        list[0] = list[0].WithoutSkip();
        Layers = list;
    }

    public IReadOnlyList<DenseLayer> Layers { get; }

    public int InputWidth => Layers[0].Inputs;

    public int ParameterCount => Layers.Sum(l => l.ParameterCount);
}
