using TorchSharp;
using static TorchSharp.torch;

namespace DpCompress.Core.Inference;

/// <summary>Loads libtorch once and reports whether it works (TorchSharp's native load can fail on old libstdc++).</summary>
public static class TorchRuntime
{
    private static readonly Lazy<Exception?> LoadError = new(TryLoad, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Throws a <see cref="DpCompressException"/> (TorchUnavailable) when libtorch cannot be loaded.</summary>
    public static void EnsureLoaded()
    {
        if (LoadError.Value is { } e)
            throw new DpCompressException("TorchUnavailable", ErrorKind.ResourceUnavailable,
                "TorchSharp/libtorch could not be loaded: " + e.Message + " (run the build, which repairs libLibTorchSharp.so for this machine's libstdc++).", null, e);
    }

    /// <summary>libtorch version string, e.g. "2.10.0".</summary>
    public static string Version
    {
        get { EnsureLoaded(); return torch.__version__; }
    }

    /// <summary>Intra-op threads libtorch uses (the reference engine's parallelism).</summary>
    public static int Threads
    {
        get { EnsureLoaded(); return torch.get_num_threads(); }
        set
        {
            EnsureLoaded();
            if (value < 1) throw new DpCompressException("InvalidThreadCount", ErrorKind.InvalidArgument, "Threads must be at least 1.");
            torch.set_num_threads(value);
        }
    }

    /// <summary>
    /// A tiny autograd check: d/dx Σ tanh(x)² at x = (0.1, 0.2, 0.3) in float64; returns the
    /// gradient, which must equal 2·tanh(x)·(1 − tanh²(x)).
    /// </summary>
    public static double[] GradientSelfCheck()
    {
        EnsureLoaded();
        using var scope = torch.NewDisposeScope();
        var x = torch.tensor(new[] { 0.1, 0.2, 0.3 }, dtype: ScalarType.Float64, requires_grad: true);
        var y = x.tanh().pow(2).sum();
        var g = torch.autograd.grad(new[] { y }, new[] { x })[0];
        return g.data<double>().ToArray();
    }

    private static Exception? TryLoad()
    {
        try
        {
            torch.InitializeDeviceType(DeviceType.CPU);
            using var t = torch.zeros(1, dtype: ScalarType.Float64);
            return null;
        }
        catch (Exception e)
        {
            return e is TypeInitializationException { InnerException: { } inner } ? inner : e;
        }
    }
}
