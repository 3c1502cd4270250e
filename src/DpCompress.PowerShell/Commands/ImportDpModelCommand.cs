using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Model;
using DpCompress.Core.Serialization;

namespace DpCompress.PowerShell.Commands;

/// <summary>Reads PWMLFF DP checkpoints (torch.save files) into typed <see cref="DpModel"/> objects.</summary>
[Cmdlet(VerbsData.Import, "DpModel", DefaultParameterSetName = ParameterSets.Path)]
[OutputType(typeof(DpModel))]
public sealed class ImportDpModelCommand : DpCmdlet
{
    /// <summary>Path(s) to checkpoint files; wildcards allowed.</summary>
    [SupportsWildcards]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.Path, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Path(s) taken literally (no wildcards); FileInfo objects bind here by PSPath.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.LiteralPath, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == ParameterSets.LiteralPath;
        foreach (string file in ResolvePaths(literal ? LiteralPath : Path, literal, "CheckpointNotFound"))
        {
            WriteVerbose($"Reading {file}");
            try
            {
                WriteObject(ModelFiles.Read(file));
            }
            catch (DpCompressException e)
            {
                WriteDpError(e, file);
            }
        }
    }
}

/// <summary>Parameter-set names shared by the cmdlets.</summary>
internal static class ParameterSets
{
    public const string Path = "Path";
    public const string LiteralPath = "LiteralPath";
    public const string Objects = "Objects";
}
