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
    /// Largest growth of the process working set (managed and native memory, e.g. libtorch tensors)
    /// during one pass of this engine, warm-up passes included, over its value when the pass began,
    /// MB; sampled every 2 ms. The first pass allocates the engine's buffers; memory an earlier
    /// measurement in the same process left mapped is not seen again, so compare models in
    /// separate processes.
    /// </summary>
    public double PeakWorkingSetMB { get; init; }
    /// <summary>Managed bytes allocated per pass, MB (GC.GetTotalAllocatedBytes).</summary>
    public double AllocatedMB { get; init; }
    /// <summary>Baseline ModelMs / this ModelMs (the model alone, same neighbour lists) when compared against a baseline (else null).</summary>
    public double? Speedup { get; set; }
    /// <summary>Label of the baseline the speedup refers to.</summary>
    public string? SpeedupOver { get; set; }
}

/// <summary>One engine to time and what its <see cref="InferenceTiming"/> reports about it.</summary>
/// <param name="Engine">The engine (not disposed by the benchmark).</param>
/// <param name="Label">Short description, e.g. "original / Fast".</param>
/// <param name="Compressed">Whether the model is compressed.</param>
/// <param name="Order">Table order of a compressed model.</param>
/// <param name="Dx">Table step of a compressed model.</param>
/// <param name="Threads">Threads the engine uses.</param>
/// <param name="Neighbors">Builds a configuration's neighbour list (timed as the NeighborSearch phase).</param>
public sealed record BenchmarkSubject(IDpEngine Engine, string Label, bool Compressed, int? Order, double? Dx, int Threads,
    Func<Configuration, NeighborList> Neighbors);

/// <summary>A subject's timing, or the error that stopped it (the other subjects go on).</summary>
public sealed record BenchmarkOutcome(BenchmarkSubject Subject, InferenceTiming? Timing, DpCompressException? Error);

/// <summary>Times engines on configurations (see <see cref="InferenceTiming"/>).</summary>
/// <remarks>
/// Several engines are timed in interleaved rounds: each round runs, for every engine in turn, an untimed
/// pass (so its caches hold its own data again, as in an MD loop, not the previous engine's) and a timed
/// one. A slow spell of a shared machine then falls on all of them alike and their ratio holds: timed one
/// after another, two models' ratio moved by 10–20 % between runs on a shared 2-core machine; timed
/// interleaved without the untimed pass, the fast compressed model of Bench section 2 (500-atom alloy5
/// cell, after reference-engine passes) took 4.54 ms instead of 3.92 ms.
/// </remarks>
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
        var outcome = MeasureInterleaved([new BenchmarkSubject(engine, label, compressed, order, dx, threads, neighbors)],
            configurations, repeat, warmup, progress, cancellationToken)[0];
        if (outcome.Error is not null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(outcome.Error).Throw();
        return outcome.Timing!;
    }

    /// <summary>
    /// Times every subject: <paramref name="warmup"/> untimed passes of each in turn, then
    /// <paramref name="repeat"/> rounds of, for each subject in turn, one untimed and one timed pass (one
    /// subject: timed passes only; progress reports the round). A subject whose pass throws a
    /// <see cref="DpCompressException"/> drops out with it.
    /// </summary>
    public static IReadOnlyList<BenchmarkOutcome> MeasureInterleaved(IReadOnlyList<BenchmarkSubject> subjects, IReadOnlyList<Configuration> configurations,
        int repeat, int warmup, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(subjects);
        if (repeat < 1) throw new DpCompressException("InvalidRepeat", ErrorKind.InvalidArgument, "Repeat must be at least 1.");
        if (warmup < 0) throw new DpCompressException("InvalidWarmup", ErrorKind.InvalidArgument, "Warmup must not be negative.");
        if (configurations.Count == 0) throw new DpCompressException("NoConfigurations", ErrorKind.InvalidArgument, "No configurations to time.");
        int atoms = configurations.Sum(c => c.AtomCount);
        var state = subjects.Select(_ => new SubjectState(repeat)).ToArray();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long passPeak = Environment.WorkingSet;   // highest working set since the current pass began
        using var stopSampling = new CancellationTokenSource();
        var sampler = Task.Run(() =>
        {
            while (!stopSampling.IsCancellationRequested)
            {
                long ws = Environment.WorkingSet;
                if (ws > Interlocked.Read(ref passPeak)) Interlocked.Exchange(ref passPeak, ws);
                Thread.Sleep(2);
            }
        });
        try
        {
            for (int q = 0; q < subjects.Count; q++)
                for (int w = 0; w < warmup && state[q].Error is null; w++) Pass(q, null);

            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            long baseline = GC.GetTotalMemory(false);
            for (int r = 0; r < repeat; r++)
            {
                for (int q = 0; q < subjects.Count; q++)
                {
                    var st = state[q];
                    if (st.Error is not null) continue;
                    // An untimed pass first: the previous subject's pass left the caches full of its own data,
                    // and a model in an MD loop runs after itself (with several subjects only).
                    if (subjects.Count > 1 && !Pass(q, null)) continue;
                    long allocated0 = GC.GetTotalAllocatedBytes(true);
                    double neighborBefore = st.Phases.NeighborSearch;
                    var sw = Stopwatch.StartNew();
                    if (!Pass(q, st.Phases)) continue;
                    st.Times[r] = sw.Elapsed.TotalMilliseconds;
                    st.ModelTimes[r] = st.Times[r] - (st.Phases.NeighborSearch - neighborBefore) * 1000;
                    st.Allocated += GC.GetTotalAllocatedBytes(true) - allocated0;
                    st.PeakManaged = Math.Max(st.PeakManaged, st.PeakManagedInPass - baseline);
                }
                progress?.Report(r + 1);
            }
            return subjects.Select((s, q) => state[q].Error is { } e ? new BenchmarkOutcome(s, null, e) : new BenchmarkOutcome(s, Timing(s, state[q]), null)).ToArray();
        }
        finally
        {
            stopSampling.Cancel();
            sampler.Wait();
        }

        // One pass of subject q over every configuration; false when it failed (recorded).
        bool Pass(int q, PhaseTimings? into)
        {
            var subject = subjects[q];
            var st = state[q];
            long ws0 = Environment.WorkingSet;
            Interlocked.Exchange(ref passPeak, ws0);
            st.PeakManagedInPass = 0;
            try
            {
                foreach (var c in configurations)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var t = into is null ? null : new PhaseTimings();
                    long t0 = Stopwatch.GetTimestamp();
                    var nl = subject.Neighbors(c);
                    if (t is not null) t.NeighborSearch = Stopwatch.GetElapsedTime(t0).TotalSeconds;
                    subject.Engine.Evaluate(c, nl, t, cancellationToken);
                    if (into is not null) st.PeakManagedInPass = Math.Max(st.PeakManagedInPass, GC.GetTotalMemory(false));
                    if (t is not null) into!.Add(t);
                }
            }
            catch (DpCompressException e)
            {
                st.Error = e;
                return false;
            }
            finally
            {
                long growth = Math.Max(Interlocked.Read(ref passPeak), Environment.WorkingSet) - ws0;
                st.PeakWorkingSetGrowth = Math.Max(st.PeakWorkingSetGrowth, growth);
            }
            return true;
        }

        InferenceTiming Timing(BenchmarkSubject s, SubjectState st)
        {
            double f = 1000.0 / repeat;
            var phases = st.Phases;
            double total = phases.Total - phases.NeighborSearch; // the model's own phases
            return new InferenceTiming
            {
                Label = s.Label, Engine = s.Engine.Kind, Compressed = s.Compressed, Order = s.Order, Dx = s.Dx, Threads = s.Threads,
                Configurations = configurations.Count, Atoms = atoms, Repeat = repeat, Warmup = warmup,
                TotalMs = st.Times.Median(), ModelMs = st.ModelTimes.Median(), MinMs = st.Times.Min(),   // MathNet median: mean of the two middle values for an even count
                NeighborSearchMs = phases.NeighborSearch * f, EnvironmentMs = phases.Environment * f, EmbeddingMs = phases.Embedding * f,
                DescriptorMs = phases.Descriptor * f, FittingMs = phases.Fitting * f, BackwardMs = phases.Backward * f,
                EmbeddingBackwardMs = phases.EmbeddingBackward * f,
                EmbeddingShare = total > 0 ? (phases.Embedding + phases.EmbeddingBackward) / total : 0,
                PeakManagedMB = Math.Max(0, st.PeakManaged) / (1024.0 * 1024.0),
                AllocatedMB = st.Allocated / (1024.0 * 1024.0) / repeat,
                PeakWorkingSetMB = Math.Max(0, st.PeakWorkingSetGrowth) / (1024.0 * 1024.0),
            };
        }
    }

    private sealed class SubjectState(int repeat)
    {
        public readonly double[] Times = new double[repeat];
        public readonly double[] ModelTimes = new double[repeat];
        public readonly PhaseTimings Phases = new();
        public long Allocated, PeakManaged, PeakManagedInPass, PeakWorkingSetGrowth;
        public DpCompressException? Error;
    }
}
