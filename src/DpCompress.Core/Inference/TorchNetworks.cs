using DpCompress.Core.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace DpCompress.Core.Inference;

/// <summary>
/// Tensor arithmetic without short-lived <see cref="Scalar"/>s. TorchSharp turns a .NET number
/// (including the implicit alpha = 1 of <c>a + b</c>) into a finalizable Scalar whose only
/// reference dies while the native call still reads it; a GC at that moment frees it under
/// libtorch's feet ("INTERNAL ASSERT FAILED at c10/core/Scalar.h", or a crash). Here the only
/// Scalars are two process-lifetime statics, and constants are 0-d tensors owned by the
/// caller's dispose scope.
/// </summary>
internal static class TorchOps
{
    private static readonly Scalar One = 1.0.ToScalar();
    private static readonly Scalar MinusOne = (-1.0).ToScalar();

    /// <summary>a + b (broadcasting).</summary>
    public static Tensor Add(Tensor a, Tensor b) => a.add(b, One);

    /// <summary>a − b (broadcasting).</summary>
    public static Tensor Sub(Tensor a, Tensor b) => a.add(b, MinusOne);

    /// <summary>A 0-d float64 tensor holding <paramref name="value"/>.</summary>
    public static Tensor Const(double value) => torch.tensor(value, ScalarType.Float64);

    /// <summary>The values of a float64 tensor, in row-major order.</summary>
    public static double[] ToArray(Tensor t)
    {
        using var c = t.contiguous();
        using var accessor = c.data<double>();
        return accessor.ToArray();
    }
}

/// <summary>
/// One <see cref="DenseLayer"/> as float64 tensors: W [in, out], b [out] (or null), idt [out] (or null).
/// Tensors are detached from every dispose scope and owned by the network that holds them.
/// </summary>
internal sealed class TorchLayer : IDisposable
{
    public TorchLayer(DenseLayer layer)
    {
        Skip = layer.Skip;
        Weight = torch.tensor(layer.Weight, new long[] { layer.Inputs, layer.Outputs }, ScalarType.Float64).DetachFromDisposeScope();
        Bias = layer.Bias is null ? null : torch.tensor(layer.Bias, new long[] { layer.Outputs }, ScalarType.Float64).DetachFromDisposeScope();
        ResnetDt = layer.ResnetDt is null ? null : torch.tensor(layer.ResnetDt, new long[] { layer.Outputs }, ScalarType.Float64).DetachFromDisposeScope();
    }

    public SkipKind Skip { get; }

    public Tensor Weight { get; }

    public Tensor? Bias { get; }

    public Tensor? ResnetDt { get; }

    /// <summary>z = x·W + b.</summary>
    public Tensor Linear(Tensor x)
    {
        var z = x.matmul(Weight);
        return Bias is null ? z : TorchOps.Add(z, Bias);
    }

    /// <summary>h = tanh(x·W + b), then the shape's skip rule (SPEC §2): x = h(·idt) + x, concat(x, x) + h(·idt) or h.</summary>
    public Tensor Hidden(Tensor x, bool allowSkip)
    {
        var h = Linear(x).tanh();
        if (!allowSkip) return h;
        var hs = ResnetDt is null ? h : h * ResnetDt;
        return Skip switch
        {
            SkipKind.Identity => TorchOps.Add(hs, x),
            SkipKind.Doubled => TorchOps.Add(torch.cat(new[] { x, x }, -1), hs),
            _ => h,
        };
    }

    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
        ResnetDt?.Dispose();
    }
}

/// <summary>An embedding net G: R → R^m as a TorchSharp module-less function (autograd-capable).</summary>
internal sealed class TorchEmbeddingNet : IDisposable
{
    private readonly TorchLayer[] _layers;

    public TorchEmbeddingNet(EmbeddingNet net) => _layers = net.Layers.Select(l => new TorchLayer(l)).ToArray();

    /// <summary>G(s): every layer h = tanh(x·W + b) with the skip rules of SPEC §2.</summary>
    /// <param name="s">[..., 1] normalised s values.</param>
    /// <returns>[..., m].</returns>
    public Tensor Forward(Tensor s)
    {
        var x = s;
        foreach (var layer in _layers) x = layer.Hidden(x, allowSkip: true);
        return x;
    }

    public void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
    }
}

/// <summary>A fitting net E_i = F(D_i) as a TorchSharp function (autograd-capable).</summary>
internal sealed class TorchFittingNet : IDisposable
{
    private readonly TorchLayer[] _layers;

    public TorchFittingNet(FittingNet net) => _layers = net.Layers.Select(l => new TorchLayer(l)).ToArray();

    /// <summary>
    /// Hidden layers h = tanh(x·W + b); the first hidden layer is x = h (PWMLFF's FittingNet
    /// never adds a skip to its first layer), later ones follow the skip rules with resnet_dt;
    /// the last layer is linear x·W + b.
    /// </summary>
    /// <param name="d">[n, m·M2] descriptors D_i.</param>
    /// <returns>[n, 1] atomic energies E_i.</returns>
    public Tensor Forward(Tensor d)
    {
        var x = d;
        for (int l = 0; l < _layers.Length - 1; l++) x = _layers[l].Hidden(x, allowSkip: l > 0);
        return _layers[^1].Linear(x);
    }

    public void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
    }
}
