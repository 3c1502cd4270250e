using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;
using DpCompress.Core.Verification;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Builds the grid of normalised s values a compression table is laid on (SPEC §3), from the
/// checkpoint's sij_max, a user value, or a scan of training configurations.
/// </summary>
[Cmdlet(VerbsCommon.New, "SijGrid", DefaultParameterSetName = CheckpointSet)]
[OutputType(typeof(SijGrid))]
public sealed class NewSijGridCommand : DpCmdlet
{
    private const string CheckpointSet = "Checkpoint";
    private const string UserSet = "User";
    private const string ScanSet = "TrainingData";

    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public DpModel Model { get; set; } = null!;

    /// <summary>Inner grid step in normalised s (default 0.01).</summary>
    [Parameter]
    public double Dx { get; set; } = 0.01;

    /// <summary>The raw (unnormalised) S maximum to cover; replaces the checkpoint's sij_max.</summary>
    [Parameter(Mandatory = true, ParameterSetName = UserSet)]
    public double SijMax { get; set; }

    /// <summary>Training configurations (Configuration objects or paths) scanned for the largest raw S.</summary>
    [SupportsWildcards]
    [Parameter(Mandatory = true, ParameterSetName = ScanSet)]
    [ValidateNotNullOrEmpty]
    public object[] TrainingData { get; set; } = Array.Empty<object>();

    /// <summary>Pwmlff (default for PWMLFF models): a grid PWMLFF's runtime evaluates exactly. Exact: the dx as typed.</summary>
    [Parameter]
    public TableLayout Layout { get; set; }

    /// <summary>Pwmlff layout: pairs at or beyond this distance (Å) stay in PWMLFF's inner branch (default 0.75 × the closest training pair).</summary>
    [Parameter]
    [ValidateRange(1e-6, double.MaxValue)]
    public double CoverDistance { get; set; }

    protected override void ProcessRecord()
    {
        try
        {
            var layout = MyInvocation.BoundParameters.ContainsKey(nameof(Layout)) ? Layout : RuntimeLayout.DefaultFor(Model);
            double? cover = MyInvocation.BoundParameters.ContainsKey(nameof(CoverDistance)) ? CoverDistance : null;
            SijGrid grid = ParameterSetName switch
            {
                UserSet => RuntimeLayout.BuildGrid(Model, layout, Dx, 3, SijMaxSource.User, SijMax, cover),
                ScanSet => FromScan(layout, cover),
                _ => RuntimeLayout.BuildGrid(Model, layout, Dx, 3, SijMaxSource.Checkpoint, null, cover),
            };
            WriteVerbose(DescribeGrid(grid));
            WriteObject(grid);
        }
        catch (DpCompressException e)
        {
            ThrowDpError(e, Model.SourcePath);
        }
    }

    private SijGrid FromScan(TableLayout layout, double? cover)
    {
        var configurations = ResolveConfigurations(TrainingData);
        if (configurations.Count == 0)
            throw new DpCompressException("NoTrainingData", ErrorKind.InvalidArgument, "-TrainingData gave no configurations.");
        var scan = RunWithProgress("Scanning training data for the largest S(r)", (report, ct) =>
            TrainingDataScan.Scan(Model, configurations, new Progress<int>(n => report(n, configurations.Count, $"{n}/{configurations.Count} configurations")), ct));
        WriteVerbose($"Closest pair: {scan.MinDistance:F6} Å in {scan.ClosestConfiguration}; raw S max {scan.RawSijMax:G10} over {scan.Configurations} configurations.");
        // The checkpoint's own sij_max is what a compression without -TrainingData uses: say when the data go beyond it.
        if (Model.SijMax is double own && own < scan.RawSijMax)
        {
            // As many digits as it takes for the two to read differently (G6 could print "0.460036 is below ... 0.460036").
            string[] text = NumberText.DistinctGeneral(own, scan.RawSijMax);
            WriteWarning($"SijMaxBelowData: the checkpoint's sij_max {text[0]} is below the largest S(r) in the training data, {text[1]} " +
                $"(closest pair {scan.MinDistance:F3} Å in {scan.ClosestConfiguration}). A table on the checkpoint's grid would put those pairs beyond " +
                "its training range; this grid covers the data.");
        }
        return RuntimeLayout.BuildGrid(Model, layout, Dx, 3, SijMaxSource.TrainingData, scan.RawSijMax, cover);
    }
}
