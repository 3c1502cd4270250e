using System.Collections;
using System.Globalization;
using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Verification;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Fits the convergence order of a sweep: takes the results of several compressions (objects
/// with Order, Dx and error properties, as Test-CompressedModel -Detailed returns them), and for
/// each table order and each error quantity fits err ≈ C · dx^p by least squares on log–log axes
/// (<see cref="ConvergenceFit"/>).
/// </summary>
[Cmdlet(VerbsDiagnostic.Measure, "DpConvergence")]
[OutputType(typeof(ConvergenceOrder))]
public sealed class MeasureDpConvergenceCommand : DpCmdlet
{
    private readonly List<PSObject> _items = new();

    /// <summary>Sweep results: objects with Order, Dx and the error properties.</summary>
    [Parameter(Mandatory = true, ValueFromPipeline = true)]
    [ValidateNotNull]
    public PSObject InputObject { get; set; } = null!;

    /// <summary>The error properties to fit (default the energy, force and virial maxima of a verification report).</summary>
    [Parameter(Position = 0)]
    [ValidateNotNullOrEmpty]
    public string[] Quantity { get; set; } = { "MaxEnergyError", "MaxForceError", "MaxVirialError" };

    protected override void ProcessRecord() => _items.Add(InputObject);

    protected override void EndProcessing()
    {
        if (_items.Count == 0) return;
        var rows = new List<(int Order, double Dx, PSObject Item, int Index)>();
        for (int i = 0; i < _items.Count; i++)
            rows.Add(((int)Math.Round(Number(_items[i], i, "Order")), Number(_items[i], i, "Dx"), _items[i], i));
        foreach (var group in rows.GroupBy(r => r.Order).OrderBy(g => g.Key))
        {
            foreach (string q in Quantity)
            {
                var points = group.Select(r => new SweepPoint(r.Dx, Number(r.Item, r.Index, q))).OrderByDescending(p => p.Dx).ToList();
                ConvergenceFit fit;
                try
                {
                    fit = ConvergenceFit.Fit(points);
                }
                catch (DpCompressException e)
                {
                    ThrowDpError(e);
                    return;
                }
                var result = new ConvergenceOrder(group.Key, q, Unit(q), points, fit);
                if (result.P is null)
                    WriteWarning($"Order {group.Key}, {q}: fewer than two grid steps lie above the round-off floor ({points.Count} given, {fit.ExcludedDx.Count} at the floor); no order can be fitted. Add coarser steps.");
                WriteObject(result);
            }
        }
    }

    private static string Unit(string property) =>
        property.Contains("Force", StringComparison.OrdinalIgnoreCase) ? "eV/Å"
        : property.Contains("Energy", StringComparison.OrdinalIgnoreCase) || property.Contains("Virial", StringComparison.OrdinalIgnoreCase) ? "eV/atom"
        : "";

    private double Number(PSObject o, int index, string name)
    {
        object? value = null;
        bool found;
        if (o.BaseObject is IDictionary d)
        {
            found = false;
            foreach (DictionaryEntry e in d)
                if (string.Equals(e.Key?.ToString(), name, StringComparison.OrdinalIgnoreCase)) { value = e.Value; found = true; break; }
        }
        else
        {
            var p = o.Properties[name];
            found = p is not null;
            try
            {
                value = p?.Value;
            }
            catch (GetValueException)
            {
                value = null;
            }
        }
        if (!found)
            ThrowTerminatingError(NewError("SweepPropertyMissing", ErrorCategory.InvalidData,
                $"Input object {index + 1} has no property '{name}'. Give the results of Test-CompressedModel -Detailed (Order, Dx, MaxEnergyError, MaxForceError, MaxVirialError) or objects with those properties.", name));
        if (value is null || !LanguagePrimitives.TryConvertTo(value, CultureInfo.InvariantCulture, out double v))
        {
            ThrowTerminatingError(NewError("SweepPropertyInvalid", ErrorCategory.InvalidData,
                $"Property '{name}' of input object {index + 1} is '{value ?? "null"}', not a number.", name));
            return double.NaN;
        }
        return v;
    }
}
