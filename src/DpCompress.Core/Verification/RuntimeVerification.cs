using DpCompress.Core.Compression;

namespace DpCompress.Core.Verification;

/// <summary>
/// What PWMLFF's runtime — its Python forward and the TorchScript it writes for LAMMPS — computes with the compressed
/// checkpoint, against the original model: the compressed model evaluated with <see cref="TableRuntime.Pwmlff"/>
/// (<see cref="PwmlffRuntimeLookup"/>, SPEC §8) on the same configurations and neighbour lists as the main report.
/// </summary>
/// <remarks>
/// The same tolerances apply as to DpCompress's own evaluation. With the PWMLFF runtime layout
/// (<see cref="RuntimeLayout"/>) both evaluations agree bit for bit; with another grid PWMLFF's float32 interval starts
/// add ~1e-6 eV/atom (Ag–Au, dx 0.01), and a pair at s̃ ≥ sij_max reads wrong rows (PWMLFF's own file on Ag10Au14
/// image 2: −0.95 eV).
/// </remarks>
public sealed class RuntimeVerification
{
    internal RuntimeVerification(IReadOnlyList<VerificationRow> rows, VerificationTolerances tolerances, SijGrid grid, bool decidesVerdict)
    {
        var compared = rows.Where(r => r.PwmlffRuntimeVsOriginal is not null).ToList();
        VsOriginal = new ErrorSummary(compared.Select(r => r.PwmlffRuntimeVsOriginal));
        ConfigurationCount = compared.Count;
        DecidesVerdict = decidesVerdict;
        LayoutIsPwmlffExact = grid.IsPwmlffExact;
        SijMax = grid.RuntimeSijMax;
        var lookup = new PwmlffRuntimeLookup(grid);
        ConfigurationsInOuterBranch = compared.Count(r => r.PwmlffRuntime!.MaxScaledS > 0 && lookup.TakesOuterBranch(r.PwmlffRuntime.MaxScaledS));

        string? Worst(Func<VerificationRow, double> f) => compared.Count == 0 ? null : compared.MaxBy(f)!.Label;
        Checks = new[]
        {
            new ToleranceCheck("|dE|/atom (eV)", VsOriginal.MaxEnergyErrorPerAtom ?? 0, tolerances.EnergyPerAtom, Worst(r => r.PwmlffRuntimeVsOriginal!.EnergyErrorPerAtom ?? 0)),
            new ToleranceCheck("|dF| (eV/A)", VsOriginal.MaxForceError ?? 0, tolerances.Force, Worst(r => r.PwmlffRuntimeVsOriginal!.MaxForceError ?? 0)),
            new ToleranceCheck("|dW|/atom (eV)", VsOriginal.MaxVirialErrorPerAtom ?? 0, tolerances.VirialPerAtom, Worst(r => r.PwmlffRuntimeVsOriginal!.MaxVirialErrorPerAtom ?? 0)),
        };
    }

    /// <summary>The runtime emulated: PWMLFF's (what PWMLFF and LAMMPS compute).</summary>
    public TableRuntime Runtime => TableRuntime.Pwmlff;

    /// <summary>PWMLFF's runtime on the compressed model vs the original model.</summary>
    public ErrorSummary VsOriginal { get; }

    /// <summary>Max |ΔE|/atom (eV) of PWMLFF's runtime against the original.</summary>
    public double? MaxEnergyError => VsOriginal.MaxEnergyErrorPerAtom;

    /// <summary>Max |ΔF| per component (eV/Å) of PWMLFF's runtime against the original.</summary>
    public double? MaxForceError => VsOriginal.MaxForceError;

    /// <summary>Max |ΔW|/atom per component (eV) of PWMLFF's runtime against the original.</summary>
    public double? MaxVirialError => VsOriginal.MaxVirialErrorPerAtom;

    public int ConfigurationCount { get; }

    /// <summary>The same tolerances as the main report, applied to PWMLFF's runtime.</summary>
    public IReadOnlyList<ToleranceCheck> Checks { get; }

    public bool Passed => Checks.All(c => c.Passed);

    /// <summary>True when this evaluation (not DpCompress's own) decides the report's verdict (Test-CompressedModel -Runtime Pwmlff).</summary>
    public bool DecidesVerdict { get; }

    /// <summary>True when the table's grid is one PWMLFF's runtime evaluates exactly (<see cref="SijGrid.IsPwmlffExact"/>).</summary>
    public bool LayoutIsPwmlffExact { get; }

    /// <summary>The file's sij_max: from it on PWMLFF's runtime reads wrong rows.</summary>
    public double SijMax { get; }

    /// <summary>Configurations with a pair at s̃ ≥ sij_max, evaluated by PWMLFF with wrong table rows.</summary>
    public int ConfigurationsInOuterBranch { get; }

    public override string ToString() =>
        $"PWMLFF/LAMMPS runtime vs original: " + string.Join("; ", Checks) +
        (ConfigurationsInOuterBranch > 0 ? $"; {ConfigurationsInOuterBranch} configuration(s) reach its broken outer branch (s >= sij_max {SijMax:G6})" : "");
}
