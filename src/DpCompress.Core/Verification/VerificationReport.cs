using DpCompress.Core.Inference;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Verification;

/// <summary>
/// How far a compressed model may deviate from its original (compressed − original, per
/// configuration, maximum over all configurations). The defaults are measured, not guessed —
/// see the remarks and each property.
/// </summary>
/// <remarks>
/// <para>Measured with the reference engine on the Ag–Au fixture (PWMLFF's example model; its 160
/// PWdata configurations of 16–48 atoms), compressed vs original, maxima over configurations
/// (|ΔE|/atom in eV, |ΔF| per component in eV/Å, |ΔW|/atom per component in eV):</para>
/// <list type="table">
/// <item><term>DpCompress order 3, dx 0.01 (160 conf.)</term><description>3.1e-10, 4.2e-7, 4.9e-8</description></item>
/// <item><term>DpCompress order 3, dx 0.02 (85 conf.)</term><description>4.8e-9, 3.3e-6, 4.3e-7</description></item>
/// <item><term>DpCompress order 3, dx 0.05 (85 conf.)</term><description>1.9e-7, 4.3e-5, 1.2e-5</description></item>
/// <item><term>DpCompress order 3, dx 0.1 (85 conf.)</term><description>3.4e-6, 3.1e-4, 1.3e-4 — fails</description></item>
/// <item><term>DpCompress order 5, dx 0.01 (160 conf.)</term><description>1.3e-14, 1.8e-11, 2.9e-12</description></item>
/// <item><term>DpCompress order 5, dx 0.1 (85 conf.)</term><description>1.2e-8, 1.3e-6, 2.4e-7</description></item>
/// <item><term>PWMLFF's own compressed file, order 3, dx 0.01 (160 conf.)</term><description>1.4e-3, 1.2, 1.0 — fails (its step bug)</description></item>
/// <item><term>The original model vs DFT (160 conf.)</term><description>RMS 4.4e-2 eV/atom, RMS 9.4e-2 eV/Å</description></item>
/// </list>
/// <para>Rationale: compression must stay invisible next to the model's own error (the energy and
/// force defaults are ~1000× below it), a correct table at the usual settings must pass with a
/// wide margin (order 3 at dx 0.01 by ≥200×, order 5 at any dx ≤ 0.1), grids so coarse that the
/// error becomes measurable (order 3 at dx 0.1) fail, and PWMLFF's defective table fails by
/// three orders of magnitude or more.</para>
/// </remarks>
public sealed record VerificationTolerances
{
    /// <summary>Max |E_c − E_o|/N. Default 1e-6 eV/atom (order 3/dx 0.01: 3.1e-10; PWMLFF's file: 1.4e-3; model vs DFT: 4.4e-2 RMS).</summary>
    public double EnergyPerAtom { get; init; } = 1e-6;

    /// <summary>Max |F_c − F_o| per component. Default 1e-4 eV/Å (order 3/dx 0.01: 4.2e-7; PWMLFF's file: 1.2; model vs DFT: 9.4e-2 RMS).</summary>
    public double Force { get; init; } = 1e-4;

    /// <summary>Max |W_c − W_o|/N per component. Default 1e-4 eV/atom (order 3/dx 0.01: 4.9e-8; PWMLFF's file: 1.0).</summary>
    public double VirialPerAtom { get; init; } = 1e-4;

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

    /// <summary>e.g. "|dE|/atom (eV): 1.005E-006 &gt; 1.000E-006 (worst Ag10Au14[2])": as many digits as it takes for a
    /// measured value that differs from its tolerance to read differently (<see cref="NumberText.Distinct"/>).</summary>
    public override string ToString()
    {
        string[] text = NumberText.Distinct(Measured, Tolerance);
        return $"{Quantity}: {text[0]} {(Passed ? "<=" : ">")} {text[1]}{(Worst is null ? "" : $" (worst {Worst})")}";
    }
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

    /// <summary>The compressed model evaluated as PWMLFF's runtime (and LAMMPS) evaluates it; null when not evaluated.</summary>
    public Prediction? PwmlffRuntime { get; internal init; }

    /// <summary><see cref="PwmlffRuntime"/> vs the original; null when not evaluated.</summary>
    public PredictionComparison? PwmlffRuntimeVsOriginal { get; internal init; }

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
        string engine, int? order, double? dx, PhaseTimings compressedTimings, PhaseTimings originalTimings, double neighborSearchSeconds,
        RuntimeVerification? pwmlffRuntime = null, double? trainingMaxS = null)
    {
        PwmlffRuntime = pwmlffRuntime;
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
        var warnings = new List<string>();
        if (pwmlffRuntime is { DecidesVerdict: true })
        {
            foreach (var c in pwmlffRuntime.Checks)
                if (!c.Passed) reasons.Add($"PWMLFF/LAMMPS runtime vs original {c}: above tolerance.");
        }
        else
        {
            foreach (var c in Checks)
                if (!c.Passed) reasons.Add($"Compressed vs original {c}: above tolerance.");
            if (pwmlffRuntime is { Passed: false })
                warnings.Add($"PWMLFF's runtime (and LAMMPS) will compute something else with this file: {pwmlffRuntime}." +
                             (pwmlffRuntime.LayoutIsPwmlffExact ? "" : " Compress with -Layout Pwmlff (the default) for a table PWMLFF evaluates exactly."));
        }
        if (pwmlffRuntime is { ConfigurationsInOuterBranch: > 0 })
            warnings.Add($"{pwmlffRuntime.ConfigurationsInOuterBranch} configuration(s) have a pair at s >= the file's sij_max {pwmlffRuntime.SijMax:G6}: PWMLFF's runtime reads wrong table rows for it.");
        if (OutOfTableCount > 0)
        {
            string msg = $"{OutOfTableCount} s values in {ConfigurationsOutOfTable} configuration(s) lie beyond the table (largest s {MaxScaledS:G6}); they were continued linearly.";
            if (tolerances.FailOnOutOfTable) reasons.Add(msg); else warnings.Add(msg);
        }
        if (BeyondTrainingCount > 0)
        {
            // The numbers that triggered it: the table's training maximum (the engines count s > Grid.SMax) and the largest s met.
            string[] sText = trainingMaxS is double t ? NumberText.DistinctGeneral(MaxScaledS, t) : new[] { MaxScaledS.ToString("G6") };
            string where = trainingMaxS is null ? $"largest s {sText[0]}" : $"largest s {sText[0]} against the training maximum {sText[1]}";
            warnings.Add($"{BeyondTrainingCount} s values lie above the training maximum ({where}; inside the coarse outer table): these configurations are closer than any seen in training.");
        }
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

    /// <summary>What PWMLFF's runtime and LAMMPS compute with the compressed file, against the original (null when not
    /// evaluated: DeePMD-kit models, or Test-CompressedModel -Runtime DpCompress on request).</summary>
    public RuntimeVerification? PwmlffRuntime { get; }

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

    /// <summary>Phase times of the compressed model's evaluations (neighbour search excluded, it is shared).
    /// One cold pass per configuration: not a speed measurement (no warm-up, no repeats) — time
    /// models with Measure-DpInference.</summary>
    public PhaseTimings CompressedTimings { get; }

    /// <summary>Phase times of the original model's evaluations.</summary>
    public PhaseTimings OriginalTimings { get; }

    /// <summary>Time spent building the neighbour lists shared by both models.</summary>
    public double NeighborSearchSeconds { get; }

    public override string ToString() =>
        $"{(Passed ? "PASSED" : "FAILED")} on {ConfigurationCount} configurations (order {Order}, dx {Dx}): " + string.Join("; ", Checks) +
        (PwmlffRuntime is null ? "" : $". {PwmlffRuntime}");
}
