using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Structures;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Reads atomic configurations (cell, positions, elements and DFT labels) from PWMLFF PWdata
/// folders, PWmat MOVEMENT files and extended-XYZ files.
/// </summary>
[Cmdlet(VerbsData.Import, "DpConfiguration", DefaultParameterSetName = ParameterSets.Path)]
[OutputType(typeof(Configuration))]
public sealed class ImportDpConfigurationCommand : DpCmdlet
{
    /// <summary>Files or folders; wildcards allowed. A folder is read as PWdata (recursively: train/, valid/, several systems).</summary>
    [SupportsWildcards]
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.Path, ValueFromPipeline = true, ValueFromPipelineByPropertyName = true)]
    [ValidateNotNullOrEmpty]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>Files or folders taken literally; FileInfo/DirectoryInfo objects bind here by PSPath.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.LiteralPath, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();

    /// <summary>Read the file as this format instead of detecting it.</summary>
    [Parameter]
    public ConfigurationFormat? Format { get; set; }

    protected override void ProcessRecord()
    {
        bool literal = ParameterSetName == ParameterSets.LiteralPath;
        foreach (string path in ResolvePaths(literal ? LiteralPath : Path, literal, "ConfigurationNotFound"))
        {
            try
            {
                var warnings = new List<string>();
                var configurations = Format is { } f ? ConfigurationReader.Read(path, f, warnings) : ConfigurationReader.Read(path, warnings);
                foreach (string w in warnings) WriteWarning(w);
                WriteVerbose($"{path}: {configurations.Count} configurations");
                foreach (var c in configurations) WriteObject(c);
            }
            catch (DpCompressException e)
            {
                WriteDpError(e, path);
            }
        }
    }
}
