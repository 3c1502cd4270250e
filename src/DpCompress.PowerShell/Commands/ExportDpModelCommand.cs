using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Model;
using DpCompress.Core.Serialization;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Writes a model as a PWMLFF-compatible checkpoint (SPEC §4): every original key, plus
/// <c>compress</c> for a compressed model. Writes a temporary file and renames it.
/// </summary>
[Cmdlet(VerbsData.Export, "DpModel", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.Path)]
[OutputType(typeof(FileInfo))]
public sealed class ExportDpModelCommand : DpCmdlet
{
    /// <summary>The default output name of a compressed model (PWMLFF's name).</summary>
    public const string DefaultFileName = "cmp_dp_model.ckpt";

    /// <summary>The default output name of an uncompressed model (PWMLFF's name for the trained model).</summary>
    public const string DefaultUncompressedFileName = "dp_model.ckpt";

    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public DpModel Model { get; set; } = null!;

    /// <summary>Output file; ".ckpt" is appended when missing (PWMLFF behaviour). Default cmp_dp_model.ckpt
    /// for a compressed model, dp_model.ckpt for an uncompressed one.</summary>
    [Parameter(Position = 0, ParameterSetName = ParameterSets.Path)]
    [ValidateNotNullOrEmpty]
    public string? Path { get; set; }

    /// <summary>Output file taken literally (".ckpt" is still appended when missing).</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.LiteralPath)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord()
    {
        string given = ParameterSetName == ParameterSets.LiteralPath ? LiteralPath
            : Path ?? (Model.IsCompressed ? DefaultFileName : DefaultUncompressedFileName);
        if (!given.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)) given += ".ckpt";
        string target = ParameterSetName == ParameterSets.LiteralPath
            ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(given)
            : ResolveOutputPath(given);

        if (Directory.Exists(target))
        {
            ThrowDpError(new DpCompressException("ExportPathIsDirectory", ErrorKind.InvalidArgument, $"'{target}' is a directory; give a file name.", target));
            return;
        }
        if (File.Exists(target) && !Force)
        {
            WriteDpError(new DpCompressException("ExportFileExists", ErrorKind.WriteError,
                $"'{target}' already exists. Use -Force to overwrite it.", target));
            return;
        }
        string what = Model.IsCompressed ? $"compressed model (order {Model.Order}, dx {Model.Dx})" : "model";
        if (!ShouldProcess(target, $"Write {what}")) return;
        try
        {
            CheckpointWriter.Write(Model, target);
            WriteVerbose($"Wrote {target}");
            if (PassThru) WriteObject(new FileInfo(target));
        }
        catch (DpCompressException e)
        {
            WriteDpError(e, target);
        }
    }
}
