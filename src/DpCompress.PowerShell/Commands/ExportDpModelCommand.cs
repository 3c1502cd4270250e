using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Model;
using DpCompress.Core.Serialization;
using DpCompress.Core.Serialization.DeepMd;

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

    /// <summary>Default output names of a DeePMD-kit model (compressed, uncompressed).</summary>
    public const string DefaultDeepMdFileName = "model_compressed.dp", DefaultDeepMdUncompressedFileName = "model.dp";

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

    /// <summary>
    /// Refuses a path with a NUL character (ExportPathInvalid) and a path that names a folder: one
    /// ending in a separator or an existing directory (ExportPathIsDirectory), before any extension
    /// is appended, so "dir" never becomes "dir.ckpt" beside the folder nor "dir/" a hidden "dir/.ckpt".
    /// </summary>
    private bool CheckTarget(string given)
    {
        if (given.Contains('\0'))
        {
            ThrowDpError(new DpCompressException("ExportPathInvalid", ErrorKind.InvalidArgument,
                $"The output path '{ReaderLimits.Excerpt(given.Replace('\0', '?'))}' contains a NUL character."));
            return false;
        }
        string resolved;
        try
        {
            resolved = ParameterSetName == ParameterSets.LiteralPath
                ? SessionState.Path.GetUnresolvedProviderPathFromPSPath(given)
                : ResolveOutputPath(given);
        }
        catch (Exception e) when (e is ArgumentException or PSArgumentException or NotSupportedException or ProviderNotFoundException
                                      or System.Management.Automation.DriveNotFoundException or PSNotSupportedException or ItemNotFoundException)
        {
            ThrowDpError(new DpCompressException("ExportPathInvalid", ErrorKind.InvalidArgument, $"Cannot use the output path '{given}': {e.Message}", given, e));
            return false;
        }
        bool endsWithSeparator = given.EndsWith('/') || given.EndsWith('\\') || given.EndsWith(System.IO.Path.DirectorySeparatorChar);
        if (endsWithSeparator || Directory.Exists(resolved))
        {
            string name = Model.Flavour == ModelFlavour.DeepMdSeE2A
                ? (Model.IsCompressed ? DefaultDeepMdFileName : DefaultDeepMdUncompressedFileName)
                : (Model.IsCompressed ? DefaultFileName : DefaultUncompressedFileName);
            ThrowDpError(new DpCompressException("ExportPathIsDirectory", ErrorKind.InvalidArgument,
                $"'{given}' names a folder, not a file; give a file name, for example '{System.IO.Path.Combine(resolved, name)}'.", resolved));
            return false;
        }
        return true;
    }

    protected override void ProcessRecord()
    {
        bool deepMd = Model.Flavour == ModelFlavour.DeepMdSeE2A;
        string given = ParameterSetName == ParameterSets.LiteralPath ? LiteralPath
            : Path ?? (deepMd ? (Model.IsCompressed ? DefaultDeepMdFileName : DefaultDeepMdUncompressedFileName)
                              : (Model.IsCompressed ? DefaultFileName : DefaultUncompressedFileName));
        if (!CheckTarget(given)) return;
        bool deepMdFile = DeepMdDocument.IsDeepMdPath(given);
        if (deepMd && !deepMdFile && !given.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)) { given += ".dp"; deepMdFile = true; }
        if (deepMd != deepMdFile)
        {
            ThrowDpError(new DpCompressException("ExportFormatMismatch", ErrorKind.InvalidArgument, deepMd
                ? $"'{given}': a DeePMD-kit model is written as .dp or .yaml."
                : $"'{given}': a PWMLFF model is written as a .ckpt checkpoint, not in DeePMD-kit's format."));
            return;
        }
        if (!deepMdFile && !given.EndsWith(".ckpt", StringComparison.OrdinalIgnoreCase)) given += ".ckpt";
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
            if (deepMd) DeepMdModelWriter.Write(Model, target);
            else CheckpointWriter.Write(Model, target);
            WriteVerbose($"Wrote {target}");
            if (PassThru) WriteObject(new FileInfo(target));
        }
        catch (DpCompressException e)
        {
            WriteDpError(e, target);
        }
    }
}
