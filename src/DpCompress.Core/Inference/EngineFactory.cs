using DpCompress.Core.Inference.Fast;
using DpCompress.Core.Model;

namespace DpCompress.Core.Inference;

/// <summary>Creates the engine of a given kind for a model (original or compressed).</summary>
public static class EngineFactory
{
    /// <param name="model">The model to evaluate.</param>
    /// <param name="kind">Reference (TorchSharp autograd, ground truth) or Fast (float64 kernels).</param>
    /// <param name="threads">Threads for the fast engine (the reference engine uses libtorch's own).</param>
    public static IDpEngine Create(DpModel model, EngineKind kind, int threads = 0) => kind switch
    {
        EngineKind.Reference => new ReferenceEngine(model),
        EngineKind.Fast => new FastEngine(model, threads),
        _ => throw new DpCompressException("InvalidEngine", ErrorKind.InvalidArgument, $"Unknown engine {kind}."),
    };
}
