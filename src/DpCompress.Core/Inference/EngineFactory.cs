using DpCompress.Core.Compression;
using DpCompress.Core.Inference.Fast;
using DpCompress.Core.Model;

namespace DpCompress.Core.Inference;

/// <summary>Creates the engine of a given kind for a model (original or compressed).</summary>
public static class EngineFactory
{
    /// <param name="model">The model to evaluate.</param>
    /// <param name="kind">Reference (TorchSharp autograd, ground truth) or Fast (float64 kernels).</param>
    /// <param name="threads">Threads for the fast engine (the reference engine uses libtorch's own).</param>
    /// <param name="runtime">Table lookup of a compressed model: DpCompress's (default) or the emulation of PWMLFF's runtime.</param>
    public static IDpEngine Create(DpModel model, EngineKind kind, int threads = 0, TableRuntime runtime = TableRuntime.DpCompress) => kind switch
    {
        EngineKind.Reference => new ReferenceEngine(model, 1, runtime),
        EngineKind.Fast => new FastEngine(model, threads, PaddingEvaluation.ClosedForm, runtime),
        _ => throw new DpCompressException("InvalidEngine", ErrorKind.InvalidArgument, $"Unknown engine {kind}."),
    };
}
