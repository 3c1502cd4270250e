using System.Globalization;

namespace DpCompress.Core.Structures;

/// <summary>Number parsing shared by the text readers (invariant culture, Fortran exponents).</summary>
internal static class TextParsing
{
    /// <summary>
    /// Parses a real number in invariant culture. Accepts Fortran forms: 'D' exponents
    /// (1.0D+01) and exponents without a letter (0.1234-100).
    /// </summary>
    public static bool TryParseDouble(string token, out double value)
    {
        token = token.TrimEnd(',', ';');
        if (double.TryParse(token, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        string t = token.Replace('D', 'E').Replace('d', 'e');
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out value)) return true;
        // Fortran drops the 'E' when the exponent has three digits: 0.1234567890-100.
        for (int k = t.Length - 1; k > 0; k--)
        {
            if ((t[k] == '-' || t[k] == '+') && char.IsDigit(t[k - 1]))
                return double.TryParse(t[..k] + "E" + t[k..], NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
        return false;
    }

    public static bool TryParseInt(string token, out int value) =>
        int.TryParse(token.TrimEnd(','), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static string[] Split(string line) =>
        line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
