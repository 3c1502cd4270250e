namespace DpCompress.PowerShell.Charts;

/// <summary>The charts Export-DpChart draws.</summary>
public enum ChartKind
{
    /// <summary>Log–log error of the compressed model against the grid step dx, one series per order.</summary>
    ErrorVsDx,

    /// <summary>Stacked bars of per-phase inference time, one bar per timing.</summary>
    PhaseBreakdown,

    /// <summary>Bars of total inference time, annotated with the speedup over the first bar.</summary>
    Speedup,
}
