namespace DpCompress.Core.Verification;

/// <summary>
/// How numbers that are compared are written for people: a measured error next to its tolerance must look
/// different when it is different. At a fixed two decimals 1.0049e-6 and 1e-6 both read "1.00E-006", and a
/// failed check would show "1.00E-006 &gt; 1.00E-006".
/// </summary>
public static class NumberText
{
    /// <summary>
    /// <paramref name="value"/> and <paramref name="other"/> in E notation with <paramref name="decimals"/>
    /// decimals, or as many more (up to 16, float64's round trip) as it takes for two different numbers to read
    /// differently: (1.0049e-6, 1e-6) gives "1.005E-006" and "1.000E-006". Equal numbers, NaN and ±∞ keep
    /// <paramref name="decimals"/>.
    /// </summary>
    /// <returns>[value's text, other's text].</returns>
    public static string[] Distinct(double value, double other, int decimals = 2) =>
        Widen(value, other, "E", Math.Clamp(decimals, 0, 16), 16);

    /// <summary><paramref name="value"/> in E2, or "n/a" when there is none (a missing value is not an empty space or 0).</summary>
    public static string E2(double? value) => value is double v ? v.ToString("E2") : "n/a";

    /// <summary>
    /// As <see cref="Distinct"/>, in the general format ("G") with <paramref name="significant"/> significant digits or
    /// as many more (up to 17) as it takes: (0.4600364990, 0.4600364995) gives "0.460036499" and "0.4600364995", where
    /// G6 wrote "0.460036" for both.
    /// </summary>
    /// <returns>[value's text, other's text].</returns>
    public static string[] DistinctGeneral(double value, double other, int significant = 6) =>
        Widen(value, other, "G", Math.Clamp(significant, 1, 17), 17);

    /// <summary>Both numbers in <paramref name="format"/> with <paramref name="digits"/>, one more at a time up to <paramref name="max"/> while two different finite numbers read the same.</summary>
    private static string[] Widen(double value, double other, string format, int digits, int max)
    {
        string a = value.ToString(format + digits), b = other.ToString(format + digits);
        while (a == b && value != other && double.IsFinite(value) && double.IsFinite(other) && digits < max)
        {
            digits++;
            a = value.ToString(format + digits);
            b = other.ToString(format + digits);
        }
        return new[] { a, b };
    }

    /// <summary>
    /// A speedup factor for the timing views: two decimals below 10 (1.04x faster and 0.96x, slower, both read "1.0x" with
    /// one), one from 10, two significant digits below 0.01; empty when there is none.
    /// </summary>
    public static string Speedup(double? factor) => factor is not double s ? "" :
        s >= 10 ? s.ToString("F1") + "x" : s >= 0.01 ? s.ToString("F2") + "x" : s.ToString("G2") + "x";

    /// <summary>
    /// A model's RMS error against the DFT labels, "0.004012 eV/Å" style (4 significant digits, so that small values do not
    /// read 0.0000): "no DFT labels" without either, "no DFT energies" or "no DFT forces" for the one missing.
    /// </summary>
    public static string DftRms(double? energyPerAtom, double? force) =>
        energyPerAtom is null && force is null ? "no DFT labels" :
        (energyPerAtom is double e ? e.ToString("G4") + " eV/atom" : "no DFT energies") + ", " +
        (force is double f ? f.ToString("G4") + " eV/Å" : "no DFT forces");
}
