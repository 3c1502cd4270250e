using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Inference;
using DpCompress.Core.Model;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Times models on configurations (forward + forces + virial): median time of a pass over all
/// configurations, per-phase split, µs per atom, memory, and the speedup over the first model
/// (or over the uncompressed one when an original and a compressed model are given). All models and
/// engines run in the same interleaved rounds (<see cref="InferenceBenchmark.MeasureInterleaved"/>).
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "DpInference")]
[OutputType(typeof(InferenceTiming))]
public sealed class MeasureDpInferenceCommand : DpCmdlet
{
    private readonly List<DpModel> _models = new();

    /// <summary>One or more models (e.g. an original and its compressed version).</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    public DpModel[] Model { get; set; } = Array.Empty<DpModel>();

    /// <summary>Configurations (from Import-DpConfiguration) or paths.</summary>
    [SupportsWildcards]
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public object[] Data { get; set; } = Array.Empty<object>();

    /// <summary>Timed passes over all configurations (median reported; default 5).</summary>
    [Parameter]
    [ValidateRange(1, 100000)]
    public int Repeat { get; set; } = 5;

    /// <summary>Untimed passes first (default 3; lets the JIT reach optimised code).</summary>
    [Parameter]
    [ValidateRange(0, 100000)]
    public int Warmup { get; set; } = 3;

    /// <summary>Engines to time (default Fast; give Reference, Fast to compare).</summary>
    [Parameter]
    public EngineKind[] Engine { get; set; } = { EngineKind.Fast };

    /// <summary>Threads of the fast engine (default 1, the figure comparable across machines).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = 1;

    protected override void ProcessRecord() => _models.AddRange(Model);

    protected override void EndProcessing()
    {
        var configurations = ResolveConfigurations(Data);
        if (configurations.Count == 0)
        {
            ThrowDpError(new DpCompressException("NoConfigurations", ErrorKind.InvalidArgument, "-Data gave no configurations to time."));
            return;
        }
        // Every model and engine is timed in the same rounds (one pass of each per round), so a slow spell of
        // a shared machine falls on all of them and their Speedup holds (InferenceBenchmark.MeasureInterleaved).
        var timings = new List<InferenceTiming>();
        var subjects = new List<BenchmarkSubject>();
        var sources = new List<string?>();
        try
        {
            foreach (var engineKind in Engine)
            {
                foreach (var model in _models)
                {
                    string label = (model.IsCompressed ? $"compressed o{model.Order} dx {model.Dx}" : "original") + $" / {engineKind}";
                    try
                    {
                        var engine = EngineFactory.Create(model, engineKind, ThrottleLimit);
                        // As in an MD loop, each search rebuilds the list in the same arrays.
                        var lists = new NeighborListBuffer();
                        Func<Configuration, NeighborList> neighbors = c => lists.Build(c, model);
                        subjects.Add(new BenchmarkSubject(engine, label, model.IsCompressed, model.Order, model.Dx, ThrottleLimit, neighbors));
                        sources.Add(model.SourcePath);
                    }
                    catch (DpCompressException e)
                    {
                        WriteDpError(e, model.SourcePath);
                    }
                    catch (Exception e) when (e is not PipelineStoppedException)
                    {
                        WriteDpError(Unexpected(e), model.SourcePath);
                    }
                }
            }
            if (subjects.Count > 0)
            {
                using var threads = Engine.Contains(EngineKind.Reference) ? new TorchThreadScope(ThrottleLimit) : null;
                string what = subjects.Count == 1 ? subjects[0].Label : $"{subjects.Count} model/engine pairs in interleaved rounds";
                var outcomes = RunWithProgress($"Timing {what}", (report, ct) =>
                    InferenceBenchmark.MeasureInterleaved(subjects, configurations, Repeat, Warmup,
                        new Progress<int>(r => report(r, Repeat, $"round {r}/{Repeat}")), ct));
                for (int q = 0; q < outcomes.Count; q++)
                {
                    if (outcomes[q].Error is { } e) WriteDpError(e, sources[q]);
                    else timings.Add(outcomes[q].Timing!);
                }
            }
        }
        finally
        {
            foreach (var subject in subjects) subject.Engine.Dispose();
        }
        // Speedup (model time, neighbour search excluded) over the uncompressed run of the same
        // engine, else over any uncompressed run, else over the first timing.
        foreach (var t in timings)
        {
            var baseline = timings.Where(b => !b.Compressed && b.Engine == t.Engine).OrderByDescending(b => b.ModelMs).FirstOrDefault()
                ?? timings.Where(b => !b.Compressed).OrderByDescending(b => b.ModelMs).FirstOrDefault()
                ?? timings[0];
            if (!ReferenceEquals(baseline, t) && t.ModelMs > 0)
            {
                t.Speedup = baseline.ModelMs / t.ModelMs;
                t.SpeedupOver = baseline.Label;
            }
        }
        foreach (var t in timings) WriteObject(t);
    }
}

/// <summary>Sets libtorch's intra-op thread count for a scope (the reference engine runs on libtorch's threads).</summary>
internal sealed class TorchThreadScope : IDisposable
{
    private readonly int _previous;

    public TorchThreadScope(int threads)
    {
        _previous = TorchRuntime.Threads;
        TorchRuntime.Threads = threads;
    }

    public void Dispose() => TorchRuntime.Threads = _previous;
}
