using DpCompress.Core.Inference;
using DpCompress.Core.Structures;
using MathNet.Numerics.Statistics;

namespace DpCompress.Core.Verification;

/// <summary>
/// Differences between a prediction and a reference for one configuration (compressed vs
/// original model, or a model vs the DFT labels). Parts the reference lacks are null.
/// Units: eV, eV/atom, eV/Å.
/// </summary>
public sealed class PredictionComparison
{
    internal PredictionComparison(Configuration configuration, double? energyError, double? maxForceError, double? rmsForceError,
        double? maxVirialError, double? maxAtomicEnergyError)
    {
        Configuration = configuration;
        EnergyError = energyError;
        MaxForceError = maxForceError;
        RmsForceError = rmsForceError;
        MaxVirialError = maxVirialError;
        MaxAtomicEnergyError = maxAtomicEnergyError;
    }

    public Configuration Configuration { get; }

    /// <summary>Short label of the configuration, e.g. Ag10Au14[2].</summary>
    public string Label => $"{Configuration.Name ?? Configuration.Formula}[{Configuration.Index}]";

    public int AtomCount => Configuration.AtomCount;

    /// <summary>E − E_ref (eV), signed.</summary>
    public double? EnergyError { get; }

    /// <summary>|E − E_ref| / N (eV/atom).</summary>
    public double? EnergyErrorPerAtom => EnergyError is { } e ? Math.Abs(e) / AtomCount : null;

    /// <summary>max over the 3N components |F − F_ref| (eV/Å).</summary>
    public double? MaxForceError { get; }

    /// <summary>RMS over the 3N components of F − F_ref (eV/Å).</summary>
    public double? RmsForceError { get; }

    /// <summary>Number of force components compared (3N), or 0.</summary>
    public int ForceComponents => MaxForceError is null ? 0 : 3 * AtomCount;

    /// <summary>max over the 9 components |W − W_ref| (eV).</summary>
    public double? MaxVirialError { get; }

    /// <summary><see cref="MaxVirialError"/> / N (eV/atom).</summary>
    public double? MaxVirialErrorPerAtom => MaxVirialError is { } w ? w / AtomCount : null;

    /// <summary>max over atoms |E_i − E_i,ref| (eV), when both sides have atomic energies.</summary>
    public double? MaxAtomicEnergyError { get; }

    /// <summary>e.g. "Ag10Au14[0]: |dE|/atom 4.61E-013 eV, …"; a part the reference lacks (DFT labels without energies) reads n/a,
    /// not an empty space before its unit.</summary>
    public override string ToString() =>
        $"{Label}: |dE|/atom {NumberText.E2(EnergyErrorPerAtom)} eV, max |dF| {NumberText.E2(MaxForceError)} eV/A, max |dW|/atom {NumberText.E2(MaxVirialErrorPerAtom)} eV";
}

/// <summary>Compares predictions with each other or with DFT labels.</summary>
public static class PredictionComparer
{
    /// <summary>Differences <paramref name="prediction"/> − <paramref name="reference"/> (same configuration, same atom order).</summary>
    /// <exception cref="DpCompressException">PredictionMismatch when the atom counts differ.</exception>
    public static PredictionComparison Compare(Prediction prediction, Prediction reference)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        ArgumentNullException.ThrowIfNull(reference);
        if (prediction.AtomCount != reference.AtomCount)
            throw new DpCompressException("PredictionMismatch", ErrorKind.InvalidArgument,
                $"Cannot compare a prediction of {prediction.AtomCount} atoms with one of {reference.AtomCount} atoms.");
        var (maxF, rmsF) = ForceErrors(prediction.Forces, reference.Forces);
        return new PredictionComparison(prediction.Configuration,
            prediction.Energy - reference.Energy, maxF, rmsF,
            MaxAbsDifference(prediction.Virial, reference.Virial),
            MaxAbsDifference(prediction.AtomicEnergies, reference.AtomicEnergies));
    }

    /// <summary>
    /// Differences between <paramref name="prediction"/> and the DFT labels of its
    /// configuration (energy, forces, virial, atomic energies — each only when present).
    /// Returns null when the configuration has no labels at all.
    /// </summary>
    public static PredictionComparison? CompareToLabels(Prediction prediction)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        var c = prediction.Configuration;
        if (c.Energy is null && c.Forces is null && c.Virial is null) return null;
        double? maxF = null, rmsF = null;
        if (c.Forces is { } f && f.Length == prediction.Forces.Length)
            (maxF, rmsF) = ForceErrors(prediction.Forces, f);
        double? maxW = c.Virial is { Length: 9 } w ? MaxAbsDifference(prediction.Virial, w) : null;
        double? maxEi = c.AtomicEnergies is { } ei && ei.Length == prediction.AtomCount ? MaxAbsDifference(prediction.AtomicEnergies, ei) : null;
        return new PredictionComparison(c, c.Energy is { } e ? prediction.Energy - e : null, maxF, rmsF, maxW, maxEi);
    }

    /// <summary>max_k |a_k − b_k| and (Σ_k (a_k − b_k)² / n)^½ over the n = 3N components (MathNet); (0, 0) when empty.</summary>
    private static (double Max, double Rms) ForceErrors(double[] a, double[] b)
    {
        if (a.Length == 0) return (0, 0);
        double[] d = Differences(a, b, a.Length);
        return (ArrayStatistics.MaximumAbsolute(d), ArrayStatistics.RootMeanSquare(d));
    }

    /// <summary>max_k |a_k − b_k| over the common length (MathNet); 0 when empty.</summary>
    private static double MaxAbsDifference(double[] a, double[] b)
    {
        int n = Math.Min(a.Length, b.Length);
        return n == 0 ? 0 : ArrayStatistics.MaximumAbsolute(Differences(a, b, n));
    }

    private static double[] Differences(double[] a, double[] b, int n)
    {
        var d = new double[n];
        for (int q = 0; q < n; q++) d[q] = a[q] - b[q];
        return d;
    }
}

/// <summary>
/// Aggregate of many <see cref="PredictionComparison"/>s: maxima, RMS and percentiles over
/// configurations (energy per atom, each configuration's largest force component error), and
/// the RMS pooled over all force components. Statistics from MathNet.Numerics; percentiles
/// interpolate linearly between order statistics (Hyndman–Fan R7, NumPy's default).
/// </summary>
public sealed class ErrorSummary
{
    public ErrorSummary(IEnumerable<PredictionComparison?> comparisons)
    {
        var list = comparisons.Where(c => c is not null).Select(c => c!).ToList();
        Count = list.Count;
        double[] e = list.Where(c => c.EnergyErrorPerAtom is not null).Select(c => c.EnergyErrorPerAtom!.Value).ToArray();
        EnergyCount = e.Length;
        if (e.Length > 0)
        {
            MaxEnergyErrorPerAtom = e.Maximum();
            RmsEnergyErrorPerAtom = e.RootMeanSquare();
            MedianEnergyErrorPerAtom = e.QuantileCustom(0.5, QuantileDefinition.R7);
            P95EnergyErrorPerAtom = e.QuantileCustom(0.95, QuantileDefinition.R7);
        }
        var f = list.Where(c => c.MaxForceError is not null).ToList();
        if (f.Count > 0)
        {
            double[] maxF = f.Select(c => c.MaxForceError!.Value).ToArray();
            MaxForceError = maxF.Maximum();
            MedianForceError = maxF.QuantileCustom(0.5, QuantileDefinition.R7);
            P95ForceError = maxF.QuantileCustom(0.95, QuantileDefinition.R7);
        }
        // Pooled over all components: RMS² = Σ_c n_c · RMS_c² / Σ_c n_c.
        long components = f.Sum(c => (long)c.ForceComponents);
        RmsForceError = components > 0 ? Math.Sqrt(f.Sum(c => c.RmsForceError!.Value * c.RmsForceError.Value * c.ForceComponents) / components) : null;
        var w = list.Where(c => c.MaxVirialError is not null).ToList();
        VirialCount = w.Count;
        MaxVirialError = w.Count > 0 ? w.Select(c => c.MaxVirialError!.Value).Maximum() : null;
        MaxVirialErrorPerAtom = w.Count > 0 ? w.Select(c => c.MaxVirialErrorPerAtom!.Value).Maximum() : null;
        var ei = list.Where(c => c.MaxAtomicEnergyError is not null).ToList();
        MaxAtomicEnergyError = ei.Count > 0 ? ei.Select(c => c.MaxAtomicEnergyError!.Value).Maximum() : null;
    }

    /// <summary>Number of configurations compared.</summary>
    public int Count { get; }

    /// <summary>Configurations with an energy comparison.</summary>
    public int EnergyCount { get; }

    /// <summary>Configurations with a virial comparison.</summary>
    public int VirialCount { get; }

    /// <summary>max |ΔE|/N over configurations (eV/atom).</summary>
    public double? MaxEnergyErrorPerAtom { get; }

    /// <summary>RMS of |ΔE|/N over configurations (eV/atom).</summary>
    public double? RmsEnergyErrorPerAtom { get; }

    /// <summary>Median over configurations of |ΔE|/N (eV/atom).</summary>
    public double? MedianEnergyErrorPerAtom { get; }

    /// <summary>95th percentile over configurations of |ΔE|/N (eV/atom).</summary>
    public double? P95EnergyErrorPerAtom { get; }

    /// <summary>max |ΔF| over all force components (eV/Å).</summary>
    public double? MaxForceError { get; }

    /// <summary>RMS of ΔF pooled over all force components (eV/Å).</summary>
    public double? RmsForceError { get; }

    /// <summary>Median over configurations of each configuration's max |ΔF| (eV/Å).</summary>
    public double? MedianForceError { get; }

    /// <summary>95th percentile over configurations of each configuration's max |ΔF| (eV/Å).</summary>
    public double? P95ForceError { get; }

    /// <summary>max |ΔW| over configurations and components (eV).</summary>
    public double? MaxVirialError { get; }

    /// <summary>max |ΔW|/N (eV/atom).</summary>
    public double? MaxVirialErrorPerAtom { get; }

    /// <summary>max |ΔE_i| (eV).</summary>
    public double? MaxAtomicEnergyError { get; }

    /// <summary>As <see cref="PredictionComparison.ToString"/>: n/a for what no configuration had.</summary>
    public override string ToString() =>
        $"{Count} configurations: |dE|/atom max {NumberText.E2(MaxEnergyErrorPerAtom)} rms {NumberText.E2(RmsEnergyErrorPerAtom)} eV; " +
        $"|dF| max {NumberText.E2(MaxForceError)} rms {NumberText.E2(RmsForceError)} eV/A; |dW|/atom max {NumberText.E2(MaxVirialErrorPerAtom)} eV";
}
