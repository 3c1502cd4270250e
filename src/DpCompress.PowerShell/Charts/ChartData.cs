namespace DpCompress.PowerShell.Charts;

/// <summary>One accuracy measurement: the grid step, the polynomial order and an error value.</summary>
public sealed record ErrorPoint(double Dx, int Order, double Error);

/// <summary>Per-phase inference time of one timing, in ms (one pass over all configurations).</summary>
public sealed record PhaseRow(string Label, double NeighborSearchMs, double EnvironmentMs, double EmbeddingMs,
    double DescriptorMs, double FittingMs, double BackwardMs)
{
    /// <summary>Sum of the six phases, ms.</summary>
    public double TotalMs => NeighborSearchMs + EnvironmentMs + EmbeddingMs + DescriptorMs + FittingMs + BackwardMs;

    /// <summary>(Embedding + backward) / sum of the phases; 0 when nothing was timed.</summary>
    public double EmbeddingBackwardShare => TotalMs > 0 ? (EmbeddingMs + BackwardMs) / TotalMs : 0;
}

/// <summary>Inference time of one timing (total or model only), ms.</summary>
public sealed record TimingBar(string Label, double TotalMs);

/// <summary>Size and text of a chart.</summary>
public sealed record ChartOptions(int Width, int Height, string? Title);
