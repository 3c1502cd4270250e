using System.Diagnostics;
using MathNet.Numerics.Statistics;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Inference;

/// <summary>
/// Timing of one model/engine over a set of configurations: median wall time of a full pass
/// (forward + forces + virial on every configuration), per-phase split, µs per atom and peak
/// managed memory. Times are milliseconds for one pass over all configurations.
/// </summary>
public sealed class InferenceTiming
{
    /// <summary>Short description, e.g. "original/Reference" or "compressed o3 dx 0.01/Fast".</summary>
    public string Label { get; init; } = "";
    public EngineKind Engine { get; init; }
    public bool Compressed { get; init; }
    public int? Order { get; init; }
    public double? Dx { get; init; }
    public int Threads { get; init; }
    public int Configurations { get; init; }
    /// <summary>Atoms in one pass (sum over configurations).</summary>
    public int Atoms { get; init; }
    public int Repeat { get; init; }
    public int Warmup { get; init; }
    /// <summary>Median wall time of one pass, ms.</summary>
    public double TotalMs { get; init; }
    /// <summary>Median wall time of one pass without the neighbour search (the model alone: forward, forces, virial), ms.</summary>
    public double ModelMs { get; init; }
    /// <summary>Fastest pass, ms.</summary>
    public double MinMs { get; init; }
    public double NeighborSearchMs { get; init; }
    public double EnvironmentMs { get; init; }
    public double EmbeddingMs { get; init; }
    public double DescriptorMs { get; init; }
    public double FittingMs { get; init; }
    public double BackwardMs { get; init; }
    /// <summary>Of BackwardMs, the embedding nets' (or table's) gradient, when the engine separates it.</summary>
    public double EmbeddingBackwardMs { get; init; }
    /// <summary>Median µs per atom.</summary>
    public double MicrosecondsPerAtom => Atoms > 0 ? TotalMs * 1000 / Atoms : 0;
    /// <summary>(Embedding + its gradient) / the model's phase times (neighbour search excluded).</summary>
    public double EmbeddingShare { get; init; }
    /// <summary>Peak managed heap growth during the timed passes, MB.</summary>
    public double PeakManagedMB { get; init; }
    /// <summary>
    /// Peak growth of the process working set (managed and native memory, e.g. libtorch tensors)
    /// over its value before the first (warm-up) pass, MB; sampled every 2 ms. Memory a previous
    /// measurement in the same process left mapped is not seen again, so compare models in
    /// separate processes or in the order smallest first.
    /// </summary>
    public double PeakWorkingSetMB { get; init; }
    /// <summary>Managed bytes allocated per pass, MB (GC.GetTotalAllocatedBytes).</summary>
    public double AllocatedMB { get; init; }
    /// <summary>Baseline ModelMs / this ModelMs (the model alone, same neighbour lists) when compared against a baseline (else null).</summary>
    public double? Speedup { get; set; }
    /// <summary>Label of the baseline the speedup refers to.</summary>
    public string? SpeedupOver { get; set; }
}

/// <summary>Times an engine on configurations (see <see cref="InferenceTiming"/>).</summary>
public static class InferenceBenchmark
{
    /// <summary>
    /// Runs <paramref name="warmup"/> untimed passes, then <paramref name="repeat"/> timed passes over
    /// every configuration; neighbour lists are built inside each pass (their time is the
    /// NeighborSearch phase). Phase times are the per-pass average of what the engine reports.
    /// </summary>
    public static InferenceTiming Measure(IDpEngine engine, IReadOnlyList<Configuration> configurations, int repeat, int warmup,
        string label, bool compressed, int? order, double? dx, int threads, Func<Configuration, NeighborList> neighbors,
        IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        if (repeat < 1) throw new DpCompressException("InvalidRepeat", ErrorKind.InvalidArgument, "Repeat must be at least 1.");
        if (warmup < 0) throw new DpCompressException("InvalidWarmup", ErrorKind.InvalidArgument, "Warmup must not be negative.");
        if (configurations.Count == 0) throw new DpCompressException("NoConfigurations", ErrorKind.InvalidArgument, "No configurations to time.");
        int atoms = configurations.Sum(c => c.AtomCount);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long workingSet0 = Environment.WorkingSet;
        long workingSetPeak = workingSet0;
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                long ws = Environment.WorkingSet;
                if (ws > Interlocked.Read(ref workingSetPeak)) Interlocked.Exchange(ref workingSetPeak, ws);
                Thread.Sleep(2);
            }
        });
        try
        {
            return Run();
        }
        finally
        {
            stopSampling.Cancel();
            sampler.Wait();
        }

        InferenceTiming Run()
        {
            for (int w = 0; w < warmup; w++) Pass(null);

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            long baseline = GC.GetTotalMemory(false);
            long peak = baseline;
            long allocated0 = GC.GetTotalAllocatedBytes(true);
            var phases = new PhaseTimings();
            var times = new double[repeat];
            var modelTimes = new double[repeat];
            for (int r = 0; r < repeat; r++)
            {
                double neighborBefore = phases.NeighborSearch;
                var sw = Stopwatch.StartNew();
                Pass(phases, () => peak = Math.Max(peak, GC.GetTotalMemory(false)));
                times[r] = sw.Elapsed.TotalMilliseconds;
                modelTimes[r] = times[r] - (phases.NeighborSearch - neighborBefore) * 1000;
                progress?.Report(r + 1);
            }
            long allocated = GC.GetTotalAllocatedBytes(true) - allocated0;
            double median = times.Median();          // MathNet: mean of the two middle values for an even count
            double modelMedian = modelTimes.Median();
            double f = 1000.0 / repeat;
            double total = phases.Total - phases.NeighborSearch; // the model's own phases
            return new InferenceTiming
            {
                Label = label, Engine = engine.Kind, Compressed = compressed, Order = order, Dx = dx, Threads = threads,
                Configurations = configurations.Count, Atoms = atoms, Repeat = repeat, Warmup = warmup,
                TotalMs = median, ModelMs = modelMedian, MinMs = times.Min(),
                NeighborSearchMs = phases.NeighborSearch * f, EnvironmentMs = phases.Environment * f, EmbeddingMs = phases.Embedding * f,
                DescriptorMs = phases.Descriptor * f, FittingMs = phases.Fitting * f, BackwardMs = phases.Backward * f,
                EmbeddingBackwardMs = phases.EmbeddingBackward * f,
                EmbeddingShare = total > 0 ? (phases.Embedding + phases.EmbeddingBackward) / total : 0,
                PeakManagedMB = (peak - baseline) / (1024.0 * 1024.0),
                AllocatedMB = allocated / (1024.0 * 1024.0) / repeat,
                PeakWorkingSetMB = Math.Max(0, workingSetPeak - workingSet0) / (1024.0 * 1024.0),
            };

        }

        void Pass(PhaseTimings? into, Action? sample = null)
        {
            foreach (var c in configurations)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var t = into is null ? null : new PhaseTimings();
                long t0 = Stopwatch.GetTimestamp();
                var nl = neighbors(c);
                if (t is not null) t.NeighborSearch = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                engine.Evaluate(c, nl, t, cancellationToken);
                sample?.Invoke();
                if (t is not null) into!.Add(t);
            }
        }
    }
}
