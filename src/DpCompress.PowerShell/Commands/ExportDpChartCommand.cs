using System.Collections;
using System.Globalization;
using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Serialization;
using DpCompress.PowerShell.Charts;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Draws the objects of the pipeline as a PNG chart: accuracy against grid step (ErrorVsDx),
/// per-phase inference time (PhaseBreakdown) or total time with speedups (Speedup). Collects
/// every input object, checks the properties the chart needs, then writes the PNG to a
/// temporary file and renames it.
/// </summary>
[Cmdlet(VerbsData.Export, "DpChart", SupportsShouldProcess = true, DefaultParameterSetName = ParameterSets.Path)]
[OutputType(typeof(FileInfo))]
public sealed class ExportDpChartCommand : DpCmdlet
{
    private static readonly string[] PhaseProperties =
        { "NeighborSearchMs", "EnvironmentMs", "EmbeddingMs", "DescriptorMs", "FittingMs", "BackwardMs" };

    private readonly List<PSObject> _items = new();

    /// <summary>Objects to draw: accuracy reports (Dx, Order, an error property) or timings (Label, *Ms).</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject InputObject { get; set; } = null!;

    /// <summary>The PNG file to write.</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ParameterSets.Path)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>The PNG file to write, taken literally.</summary>
    [Parameter(Mandatory = true, ParameterSetName = ParameterSets.LiteralPath)]
    [Alias("PSPath", "LP")]
    [ValidateNotNullOrEmpty]
    public string LiteralPath { get; set; } = "";

    /// <summary>The chart to draw; inferred from the first object's properties when omitted.</summary>
    [Parameter]
    public ChartKind Kind { get; set; }

    /// <summary>ErrorVsDx: the property plotted on the y axis.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string ErrorProperty { get; set; } = "MaxForceError";

    /// <summary>Speedup: the time property drawn (TotalMs, or ModelMs to leave out the neighbour search).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string TimeProperty { get; set; } = "TotalMs";

    /// <summary>Chart title (a default that names the chart otherwise).</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    public string? Title { get; set; }

    /// <summary>Image width in pixels.</summary>
    [Parameter]
    [ValidateRange(200, 10000)]
    public int Width { get; set; } = 900;

    /// <summary>Image height in pixels.</summary>
    [Parameter]
    [ValidateRange(150, 10000)]
    public int Height { get; set; } = 600;

    /// <summary>Overwrite an existing file.</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>Return the written file.</summary>
    [Parameter]
    public SwitchParameter PassThru { get; set; }

    protected override void ProcessRecord() => _items.Add(InputObject);

    protected override void EndProcessing()
    {
        if (_items.Count == 0)
        {
            ThrowTerminatingError(NewError("ChartNoInput", ErrorCategory.InvalidArgument, "There are no objects to draw.", null));
        }
        string target = ResolveOutputPath(ParameterSetName == ParameterSets.LiteralPath ? LiteralPath : Path);
        if (Directory.Exists(target))
        {
            ThrowTerminatingError(NewError("ChartPathIsDirectory", ErrorCategory.InvalidArgument, $"'{target}' is a directory; give a file name.", target));
        }
        if (File.Exists(target) && !Force)
        {
            ThrowTerminatingError(new ErrorRecord(
                new DpCompressException("ChartFileExists", ErrorKind.WriteError, $"'{target}' already exists. Use -Force to overwrite it.", target),
                "ChartFileExists", ErrorCategory.ResourceExists, target));
        }

        ChartKind kind = MyInvocation.BoundParameters.ContainsKey(nameof(Kind)) ? Kind : InferKind(_items[0]);
        var options = new ChartOptions(Width, Height, Title);
        byte[] png = kind switch
        {
            ChartKind.ErrorVsDx => ChartRenderer.ErrorVsDx(ErrorPoints(), ErrorProperty, options),
            ChartKind.PhaseBreakdown => ChartRenderer.PhaseBreakdown(_items.Select((o, i) => new PhaseRow(Label(o, i),
                Number(o, i, PhaseProperties[0]), Number(o, i, PhaseProperties[1]), Number(o, i, PhaseProperties[2]),
                Number(o, i, PhaseProperties[3]), Number(o, i, PhaseProperties[4]), Number(o, i, PhaseProperties[5]))).ToList(), options),
            _ => ChartRenderer.Speedup(_items.Select((o, i) => new TimingBar(Label(o, i), Number(o, i, TimeProperty))).ToList(), TimeProperty, options),
        };

        if (!ShouldProcess(target, $"Write {kind} chart of {_items.Count} object(s), {Width}x{Height} PNG")) return;
        // The writers' temporary-file scheme: a hidden file beside the target, held exclusively while written and
        // moved over the target when complete; stale ones a killed export left are removed first.
        TempFiles.CleanStale(target);
        string temp = TempFiles.NewTempPath(target);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
                stream.Write(png);
            File.Move(temp, target, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try { File.Delete(temp); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            ThrowTerminatingError(new ErrorRecord(
                new DpCompressException("ChartWriteFailed", ErrorKind.WriteError, $"Cannot write '{target}': {e.Message}", target, e),
                "ChartWriteFailed", ErrorCategory.WriteError, target));
        }
        WriteVerbose($"Wrote {kind} chart to {target} ({png.Length} bytes)");
        if (PassThru) WriteObject(new FileInfo(target));
    }

    private List<ErrorPoint> ErrorPoints()
    {
        var points = _items.Select((o, i) => new ErrorPoint(Number(o, i, "Dx"), (int)Math.Round(Number(o, i, "Order")), Number(o, i, ErrorProperty))).ToList();
        var hidden = points.Where(p => !(p.Dx > 0 && p.Error > 0 && double.IsFinite(p.Dx) && double.IsFinite(p.Error))).ToList();
        if (hidden.Count > 0)
        {
            // Name the points and their values (an error of exactly 0, say order 5 at dx 0.001, is a result, not a glitch).
            string which = string.Join("; ", hidden.Take(5).Select(p => string.Create(CultureInfo.InvariantCulture, $"order {p.Order}, dx {p.Dx}: {ErrorProperty} {p.Error:G6}"))) +
                (hidden.Count > 5 ? $"; and {hidden.Count - 5} more" : "");
            WriteWarning($"{hidden.Count} of {points.Count} point(s) have a zero, negative or non-finite Dx or {ErrorProperty} and cannot be drawn on log axes; they are left out ({which}).");
        }
        return points;
    }

    /// <summary>ErrorVsDx for accuracy reports, PhaseBreakdown for timings with phases, Speedup for timings with totals.</summary>
    private ChartKind InferKind(PSObject first)
    {
        bool dxOrder = Has(first, "Dx") && Has(first, "Order") && Get(first, "Dx") is not null;
        ChartKind? kind =
            dxOrder && Has(first, ErrorProperty) ? ChartKind.ErrorVsDx :
            Has(first, "EmbeddingMs") ? ChartKind.PhaseBreakdown :
            dxOrder ? ChartKind.ErrorVsDx :
            Has(first, TimeProperty) ? ChartKind.Speedup : null;
        if (kind is null)
        {
            string names = string.Join(", ", first.Properties.Select(p => p.Name).Take(20));
            ThrowTerminatingError(NewError("ChartKindUnknown", ErrorCategory.InvalidArgument,
                $"Cannot infer the chart kind from the input (properties: {names}). Objects with Dx, Order and {ErrorProperty} draw ErrorVsDx, with EmbeddingMs PhaseBreakdown, with {TimeProperty} Speedup; or give -Kind.", null));
        }
        WriteVerbose($"Chart kind inferred from the input: {kind}");
        return kind!.Value;
    }

    private static bool Has(PSObject o, string name) =>
        o.BaseObject is IDictionary d ? d.Keys.Cast<object>().Any(k => string.Equals(k?.ToString(), name, StringComparison.OrdinalIgnoreCase))
                                      : o.Properties[name] is not null;

    private static object? Get(PSObject o, string name)
    {
        if (o.BaseObject is IDictionary d)
        {
            foreach (DictionaryEntry e in d)
            {
                if (string.Equals(e.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase)) return e.Value;
            }
            return null;
        }
        try
        {
            return o.Properties[name]?.Value;
        }
        catch (GetValueException)
        {
            return null;
        }
    }

    private static string Describe(PSObject o, int index) =>
        Has(o, "Label") && Get(o, "Label") is { } label ? $"Input object {index + 1} ('{label}')" : $"Input object {index + 1}";

    private double Number(PSObject o, int index, string name)
    {
        if (!Has(o, name))
        {
            ThrowTerminatingError(NewError("ChartPropertyMissing", ErrorCategory.InvalidData,
                $"{Describe(o, index)} has no property '{name}', which this chart needs.", name));
        }
        object? value = Get(o, name);
        double d = double.NaN;
        if (value is null || !LanguagePrimitives.TryConvertTo(value, CultureInfo.InvariantCulture, out d))
        {
            ThrowTerminatingError(NewError("ChartPropertyInvalid", ErrorCategory.InvalidData,
                $"Property '{name}' of {Describe(o, index)} is '{value ?? "null"}', not a number.", name));
        }
        return d;
    }

    private string Label(PSObject o, int index)
    {
        if (!Has(o, "Label"))
        {
            ThrowTerminatingError(NewError("ChartPropertyMissing", ErrorCategory.InvalidData,
                $"{Describe(o, index)} has no property 'Label', which this chart needs to name its bar.", "Label"));
        }
        return Get(o, "Label")?.ToString() ?? $"#{index + 1}";
    }
}
