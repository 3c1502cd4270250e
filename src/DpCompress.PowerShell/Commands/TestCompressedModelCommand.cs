using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Compression;
using DpCompress.Core.Inference;
using DpCompress.Core.Model;
using DpCompress.Core.Verification;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Checks that a compressed model predicts what its original predicts on configurations:
/// returns $true/$false, or with -Detailed the full report (per configuration and overall
/// errors, each model against DFT, values outside the table, verdict and reasons).
/// </summary>
[Cmdlet(VerbsDiagnostic.Test, "CompressedModel")]
[OutputType(typeof(bool), typeof(VerificationReport))]
public sealed class TestCompressedModelCommand : DpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public DpModel Model { get; set; } = null!;

    /// <summary>The original model; by default the nets kept in the compressed checkpoint.</summary>
    [Parameter]
    public DpModel? Reference { get; set; }

    /// <summary>Configurations (from Import-DpConfiguration) or paths (PWdata folders, MOVEMENT, extended XYZ).</summary>
    [SupportsWildcards]
    [Parameter(Mandatory = true, Position = 1)]
    [ValidateNotNullOrEmpty]
    public object[] Data { get; set; } = Array.Empty<object>();

    /// <summary>Largest allowed |ΔE| per atom, eV (default 1e-6).</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double EnergyTolerance { get; set; } = VerificationTolerances.Default.EnergyPerAtom;

    /// <summary>Largest allowed |ΔF| per component, eV/Å (default 1e-4).</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double ForceTolerance { get; set; } = VerificationTolerances.Default.Force;

    /// <summary>Largest allowed |ΔW| per component and atom, eV (default 1e-4).</summary>
    [Parameter]
    [ValidateRange(0.0, double.MaxValue)]
    public double VirialTolerance { get; set; } = VerificationTolerances.Default.VirialPerAtom;

    /// <summary>Fail when any s value lies beyond the table (by default only a warning).</summary>
    [Parameter]
    public SwitchParameter FailOnOutOfTable { get; set; }

    /// <summary>Return the report instead of $true/$false.</summary>
    [Parameter]
    public SwitchParameter Detailed { get; set; }

    /// <summary>Fast (default) or Reference (TorchSharp autograd) — both models use the same engine.</summary>
    [Parameter]
    public EngineKind Engine { get; set; } = EngineKind.Fast;

    /// <summary>Whose runtime decides the verdict: DpCompress (default) or Pwmlff (what PWMLFF and LAMMPS compute with the
    /// file). PWMLFF models are evaluated and reported both ways either way.</summary>
    [Parameter]
    public TableRuntime Runtime { get; set; } = TableRuntime.DpCompress;

    /// <summary>Threads of the fast engine (default: all cores).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    protected override void ProcessRecord()
    {
        var configurations = ResolveConfigurations(Data);
        if (configurations.Count == 0)
        {
            ThrowDpError(new DpCompressException("NoConfigurations", ErrorKind.InvalidArgument, "-Data gave no configurations to verify on."));
            return;
        }
        var tolerances = new VerificationTolerances
        {
            EnergyPerAtom = EnergyTolerance,
            Force = ForceTolerance,
            VirialPerAtom = VirialTolerance,
            FailOnOutOfTable = FailOnOutOfTable,
        };
        bool pwmlffFile = Model.Flavour != ModelFlavour.DeepMdSeE2A;
        if (Runtime == TableRuntime.Pwmlff && !pwmlffFile)
        {
            ThrowDpError(new DpCompressException("RuntimeNotApplicable", ErrorKind.InvalidArgument,
                "-Runtime Pwmlff emulates PWMLFF's runtime lookup, which reads PWMLFF checkpoints; this is a DeePMD-kit model.", Model.SourcePath));
            return;
        }
        try
        {
            Func<DpModel, IDpEngine>? runtimeFactory = pwmlffFile ? m => EngineFactory.Create(m, Engine, ThrottleLimit, TableRuntime.Pwmlff) : null;
            var report = RunWithProgress($"Verifying the compressed model on {configurations.Count} configurations", (report, ct) =>
                Verifier.Verify(Model, Reference, configurations, tolerances, m => EngineFactory.Create(m, Engine, ThrottleLimit),
                    new Progress<VerificationProgress>(p => report(p.Completed, p.Total, $"{p.Completed}/{p.Total} {p.Current}")), ct,
                    runtimeFactory, Runtime == TableRuntime.Pwmlff));
            foreach (string w in report.Warnings) WriteWarning(w);
            foreach (string r in report.Reasons) WriteVerbose("Failed: " + r);
            WriteVerbose(report.ToString());
            if (Detailed) WriteObject(report);
            else WriteObject(report.Passed);
        }
        catch (DpCompressException e)
        {
            ThrowDpError(e, Model.SourcePath);
        }
    }
}
