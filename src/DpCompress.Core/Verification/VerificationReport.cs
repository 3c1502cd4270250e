using DpCompress.Core.Inference;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Verification;

/// <summary>
/// How far a compressed model may deviate from its original (compressed − original, per
/// configuration, maximum over all configurations). The defaults are measured, not guessed —
/// see each property.
/// </summary>
/// <remarks>
/// Measured on the Ag–Au fixture (160 DFT configurations of PWMLFF's example, 16–48 atoms),
/// reference engine, compressed vs original:
/// DpCompress order 3, dx 0.01: max |ΔE|/atom 3.1e-10 eV, max |ΔF| 4.5e-7 eV/Å, max |ΔW|/atom 2e-8 eV;
/// DpCompress order 5, dx 0.01: ~1e-13 eV/atom, ~1e-11 eV/Å;
/// PWMLFF's own compressed file (order 3, dx 0.01, with its step bug): 1.4e-3 eV/atom, 1.2 eV/Å.
/// The model's own error against DFT on the same data is ~4e-3 eV/atom (RMS) and ~0.1 eV/Å (RMS).
/// The defaults sit a factor ≥1000 below the model's own error (compression must not be
/// visible next to it), a factor ≥1000 above what a correct order-3 table at dx 0.01 reaches
/// (room for coarser grids and larger systems), and a factor ≥1000 below PWMLFF's defect.
/// </remarks>
public sealed record VerificationTolerances
{
    /// <summary>Default: 1e-6 eV/atom (ours at order 3 / dx 0.01: 3e-10; PWMLFF's fixture: 1.4e-3; model vs DFT: ~4e-3).</summary>
    public double EnergyPerAtom { get; init; } = 1e-6;

    /// <summary>Default: 1e-4 eV/Å per force component (ours at order 3 / dx 0.01: 4.5e-7; PWMLFF's fixture: 1.2; model vs DFT: ~0.1 RMS).</summary>
    public double Force { get; init; } = 1e-4;

    /// <summary>Default: 1e-5 eV/atom per virial component (ours at order 3 / dx 0.01: ~2e-8; PWMLFF's fixture: ~1e-2).</summary>
    public double VirialPerAtom { get; init; } = 1e-5;

    /// <summary>When true, any s value beyond the last table node (linear continuation) fails the verification; by default it is only a warning.</summary>
    public bool FailOnOutOfTable { get; init; }

    /// <summary>The measured defaults.</summary>
    public static VerificationTolerances Default { get; } = new();
}

/// <summary>One compared quantity: measured maximum against its tolerance.</summary>
/// <param name="Quantity">e.g. "|dE|/atom (eV)".</param>
/// <param name="Measured">Largest value over all configurations.</param>
/// <param name="Tolerance">Allowed maximum.</param>
/// <param name="Worst">Label of the configuration where the maximum occurs.</param>
public sealed record ToleranceCheck(string Quantity, double Measured, double Tolerance, string? Worst)
{
    public bool Passed => Measured <= Tolerance;

    public override string ToString() =>
        $"{Quantity}: {Measured:E2} {(Passed ? "<=" : ">")} {Tolerance:E2}{(Worst is null ? "" : $" (worst {Worst})")}";
}

/// <summary>Results of one configuration: compressed vs original, each model vs DFT, table usage.</summary>
public sealed class VerificationRow
{
    internal VerificationRow(Prediction compressed, Prediction original, PredictionComparison compressedVsOriginal)
    {
        Compressed = compressed;
        Original = original;
        CompressedVsOriginal = compressedVsOriginal;
        CompressedVsDft = PredictionComparer.CompareToLabels(compressed);
        OriginalVsDft = PredictionComparer.CompareToLabels(original);
    }

    public Configuration Configuration => Compressed.Configuration;

    /// <summary>e.g. Ag10Au14[2].</summary>
    public string Label => CompressedVsOriginal.Label;

    public int AtomCount => Configuration.AtomCount;

    public Prediction Compressed { get; }

    public Prediction Original { get; }

    public PredictionComparison CompressedVsOriginal { get; }

    /// <summary>Null when the configuration has no DFT labels.</summary>
    public PredictionComparison? CompressedVsDft { get; }

    /// <summary>Null when the configuration has no DFT labels.</summary>
    public PredictionComparison? OriginalVsDft { get; }

    public long OutOfTableCount => Compressed.OutOfTableCount;

    public long BeyondTrainingCount => Compressed.BeyondTrainingCount;

    public double MaxScaledS => Compressed.MaxScaledS;

    // Convenience columns for tables.
    public double EnergyErrorPerAtom => CompressedVsOriginal.EnergyErrorPerAtom ?? 0;

    public double MaxForceError => CompressedVsOriginal.MaxForceError ?? 0;

    public double MaxVirialErrorPerAtom => CompressedVsOriginal.MaxVirialErrorPerAtom ?? 0;
}

/// <summary>A configuration that could not be evaluated (e.g. an element the model lacks), and why.</summary>
public sealed record SkippedConfiguration(string Label, string ErrorId, string Message);

/// <summary>
/// Outcome of <see cref="Verifier.Verify"/>: per-configuration rows, aggregates
/// (compressed vs original, each model vs DFT), table usage, tolerances and the verdict.
/// </summary>
public sealed class VerificationReport
{
    internal VerificationReport(IReadOnlyList<VerificationRow> rows, IReadOnlyList<SkippedConfiguration> skipped, VerificationTolerances tolerances,
        string engine, int? order, double? dx, PhaseTimings compressedTimings, PhaseTimings originalTimings, double neighborSearchSeconds)
    {
        Rows = rows;
        Skipped = skipped;
        Tolerances = tolerances;
        Engine = engine;
        Order = order;
        Dx = dx;
        CompressedTimings = compressedTimings;
        OriginalTimings = originalTimings;
        NeighborSearchSeconds = neighborSearchSeconds;
        CompressedVsOriginal = new ErrorSummary(rows.Select(r => r.CompressedVsOriginal));
        CompressedVsDft = new ErrorSummary(rows.Select(r => r.CompressedVsDft));
        OriginalVsDft = new ErrorSummary(rows.Select(r => r.OriginalVsDft));
        OutOfTableCount = rows.Sum(r => r.OutOfTableCount);
        BeyondTrainingCount = rows.Sum(r => r.BeyondTrainingCount);
        ConfigurationsOutOfTable = rows.Count(r => r.OutOfTableCount > 0);
        MaxScaledS = rows.Count > 0 ? rows.Max(r => r.MaxScaledS) : 0;

        string? Worst(Func<VerificationRow, double> f) => rows.Count == 0 ? null : rows.MaxBy(f)!.Label;
        Checks = new[]
        {
            new ToleranceCheck("|dE|/atom (eV)", CompressedVsOriginal.MaxEnergyErrorPerAtom ?? 0, tolerances.EnergyPerAtom, Worst(r => r.EnergyErrorPerAtom)),
            new ToleranceCheck("|dF| (eV/A)", CompressedVsOriginal.MaxForceError ?? 0, tolerances.Force, Worst(r => r.MaxForceError)),
            new ToleranceCheck("|dW|/atom (eV)", CompressedVsOriginal.MaxVirialErrorPerAtom ?? 0, tolerances.VirialPerAtom, Worst(r => r.MaxVirialErrorPerAtom)),
        };

        var reasons = new List<string>();
        foreach (var c in Checks)
            if (!c.Passed) reasons.Add($"Compressed vs original {c}: above tolerance.");
        var warnings = new List<string>();
        if (OutOfTableCount > 0)
        {
            string msg = $"{OutOfTableCount} s values in {ConfigurationsOutOfTable} configuration(s) lie beyond the table (largest s {MaxScaledS:G6}); they were continued linearly.";
            if (tolerances.FailOnOutOfTable) reasons.Add(msg); else warnings.Add(msg);
        }
        if (BeyondTrainingCount > 0)
            warnings.Add($"{BeyondTrainingCount} s values lie above the training maximum (inside the coarse outer table): these configurations are closer than any seen in training.");
        foreach (var s in skipped)
            warnings.Add($"{s.Label} was skipped: {s.Message}");
        if (rows.Count == 0) reasons.Add("No configuration could be evaluated.");
        Reasons = reasons;
        Warnings = warnings;
    }

    public IReadOnlyList<VerificationRow> Rows { get; }

    public IReadOnlyList<SkippedConfiguration> Skipped { get; }

    public VerificationTolerances Tolerances { get; }

    /// <summary>Engine used (Reference or Fast).</summary>
    public string Engine { get; }

    /// <summary>Table order and step of the compressed model.</summary>
    public int? Order { get; }

    public double? Dx { get; }

    public int ConfigurationCount => Rows.Count;

    /// <summary>Compressed vs original over all rows.</summary>
    public ErrorSummary CompressedVsOriginal { get; }

    /// <summary>Compressed model vs DFT labels.</summary>
    public ErrorSummary CompressedVsDft { get; }

    /// <summary>Original model vs DFT labels.</summary>
    public ErrorSummary OriginalVsDft { get; }

    /// <summary>Total number of s values beyond the last table node.</summary>
    public long OutOfTableCount { get; }

    public int ConfigurationsOutOfTable { get; }

    /// <summary>Total number of s values above the training maximum.</summary>
    public long BeyondTrainingCount { get; }

    /// <summary>Largest normalised s over all configurations.</summary>
    public double MaxScaledS { get; }

    /// <summary>The compared quantities against their tolerances.</summary>
    public IReadOnlyList<ToleranceCheck> Checks { get; }

    /// <summary>True when every check passed (and nothing was out of table, if that was required).</summary>
    public bool Passed => Reasons.Count == 0;

    /// <summary>Why the verification failed (empty when it passed).</summary>
    public IReadOnlyList<string> Reasons { get; }

    /// <summary>Things the user should know that do not fail the verification.</summary>
    public IReadOnlyList<string> Warnings { get; }

    /// <summary>Phase times of the compressed model's evaluations (neighbour search excluded, it is shared).</summary>
    public PhaseTimings CompressedTimings { get; }

    /// <summary>Phase times of the original model's evaluations.</summary>
    public PhaseTimings OriginalTimings { get; }

    /// <summary>Time spent building the neighbour lists shared by both models.</summary>
    public double NeighborSearchSeconds { get; }

    /// <summary>Original time / compressed time (neighbour search excluded).</summary>
    public double SpeedUp => CompressedTimings.Total > 0 ? OriginalTimings.Total / CompressedTimings.Total : 0;

    public override string ToString() =>
        $"{(Passed ? "PASSED" : "FAILED")} on {ConfigurationCount} configurations (order {Order}, dx {Dx}): " + string.Join("; ", Checks);
}
