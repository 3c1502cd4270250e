using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
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

    private static readonly ConditionalWeakTable<DpModel, ConcurrentDictionary<(int, TableRuntime), FastEngine>> SharedFastEngines = new();

    /// <summary>
    /// The fast engine for <paramref name="model"/> and <paramref name="threads"/> shared by every caller in
    /// the process: a script that calls Invoke-DpModel once per step pays the engine's set-up (kernels,
    /// padding table, first-call workspaces) once instead of every call. The engine lives as long as the
    /// model object (a weak table keyed by reference); its Evaluate is safe to call concurrently (each call
    /// rents its own buffers) and gives bit-identical results to a fresh engine. Do not dispose it.
    /// </summary>
    /// <param name="model">The model to evaluate (the cache key is this object, not its contents).</param>
    /// <param name="threads">Threads; 0 or less: Environment.ProcessorCount.</param>
    /// <param name="runtime">Table lookup of a compressed model (part of the cache key).</param>
    public static FastEngine SharedFast(DpModel model, int threads = 0, TableRuntime runtime = TableRuntime.DpCompress)
    {
        ArgumentNullException.ThrowIfNull(model);
        int n = threads > 0 ? threads : Environment.ProcessorCount;
        var perThreads = SharedFastEngines.GetValue(model, _ => new ConcurrentDictionary<(int, TableRuntime), FastEngine>());
        // GetOrAdd may build an engine twice under a race; both are equivalent and one is kept.
        return perThreads.GetOrAdd((n, runtime), k => new FastEngine(model, k.Item1, PaddingEvaluation.ClosedForm, k.Item2));
    }
}
