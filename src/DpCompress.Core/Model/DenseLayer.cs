namespace DpCompress.Core.Model;

/// <summary>
/// One fully connected layer: z = x·W + b with W stored row-major [In, Out]
/// (PWMLFF stores weights as [in, out]). Optional <see cref="ResnetDt"/> scales the
/// activation before a skip connection (timestep resnet, SPEC §2).
/// </summary>
public sealed class DenseLayer
{
    public DenseLayer(int inputs, int outputs, double[] weight, double[]? bias, double[]? resnetDt, bool allowSkip = true)
    {
        if (inputs <= 0 || outputs <= 0)
            throw new ArgumentOutOfRangeException(nameof(inputs), "Layer sizes must be positive.");
        if (weight.Length != inputs * outputs)
            throw new ArgumentException($"Weight has {weight.Length} values, expected {inputs}x{outputs}.", nameof(weight));
        if (bias is not null && bias.Length != outputs)
            throw new ArgumentException($"Bias has {bias.Length} values, expected {outputs}.", nameof(bias));
        if (resnetDt is not null && resnetDt.Length != outputs)
            throw new ArgumentException($"resnet_dt has {resnetDt.Length} values, expected {outputs}.", nameof(resnetDt));
        Inputs = inputs;
        Outputs = outputs;
        Weight = weight;
        Bias = bias;
        ResnetDt = resnetDt;
        AllowSkip = allowSkip;
    }

    /// <summary>False when the network never adds a skip connection after this layer (PWMLFF's first fitting layer).</summary>
    public bool AllowSkip { get; }

    /// <summary>This layer with skip connections switched off.</summary>
    public DenseLayer WithoutSkip() => AllowSkip ? new DenseLayer(Inputs, Outputs, Weight, Bias, ResnetDt, allowSkip: false) : this;

    /// <summary>Input width.</summary>
    public int Inputs { get; }

    /// <summary>Output width.</summary>
    public int Outputs { get; }

    /// <summary>[Inputs, Outputs] row-major: Weight[i * Outputs + o].</summary>
    public double[] Weight { get; }

    /// <summary>[Outputs] or null when the layer has no bias.</summary>
    public double[]? Bias { get; }

    /// <summary>[Outputs] or null when the layer has no timestep (resnet_dt) factor.</summary>
    public double[]? ResnetDt { get; }

    /// <summary>Number of trainable values in this layer.</summary>
    public int ParameterCount => Weight.Length + (Bias?.Length ?? 0) + (ResnetDt?.Length ?? 0);

    /// <summary>How the layer output combines with its input (SPEC §2 skip rules).</summary>
    public SkipKind Skip => !AllowSkip ? SkipKind.None : Outputs == Inputs ? SkipKind.Identity : Outputs == 2 * Inputs ? SkipKind.Doubled : SkipKind.None;
}

/// <summary>Skip connection of a hidden layer, decided by its shape (SPEC §2).</summary>
public enum SkipKind
{
    /// <summary>x = h.</summary>
    None,
    /// <summary>out == in: x = h(·idt) + x.</summary>
    Identity,
    /// <summary>out == 2·in: x = concat(x, x) + h(·idt).</summary>
    Doubled,
}
