using System.Globalization;
using System.Text;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>Python's text forms of numbers and strings, as json.dumps and yaml.safe_dump write them.</summary>
internal static class PythonRepr
{
    /// <summary>
    /// repr(float): the shortest digits that round-trip, fixed notation for decimal exponents −4 ≤ e &lt; 16
    /// (always with a fraction, "6.0"), else d.ddde±XX ("1e-05", "1.5e+16").
    /// </summary>
    public static string Float(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return BitConverter.DoubleToInt64Bits(d) < 0 ? "-0.0" : "0.0";
        // Shortest round-trip digits: "R" gives them, in either notation; normalise to digits + exponent.
        string shortest = d.ToString("R", CultureInfo.InvariantCulture);
        bool negative = shortest.StartsWith('-');
        if (negative) shortest = shortest[1..];
        int exp10;
        string digits;
        int ePos = shortest.IndexOfAny(new[] { 'E', 'e' });
        string mant = ePos >= 0 ? shortest[..ePos] : shortest;
        int expPart = ePos >= 0 ? int.Parse(shortest[(ePos + 1)..], CultureInfo.InvariantCulture) : 0;
        int dot = mant.IndexOf('.');
        string intPart = dot >= 0 ? mant[..dot] : mant;
        string fracPart = dot >= 0 ? mant[(dot + 1)..] : "";
        digits = (intPart + fracPart).TrimStart('0');
        int leadingZeros = (intPart + fracPart).Length - (intPart + fracPart).TrimStart('0').Length;
        // value = 0.(intPart fracPart) × 10^(len(intPart) + expPart); first significant digit position:
        exp10 = intPart.Length + expPart - leadingZeros - 1;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        var sb = new StringBuilder();
        if (negative) sb.Append('-');
        if (exp10 >= -4 && exp10 < 16)
        {
            if (exp10 >= 0)
            {
                if (digits.Length <= exp10 + 1) sb.Append(digits).Append('0', exp10 + 1 - digits.Length).Append(".0");
                else sb.Append(digits, 0, exp10 + 1).Append('.').Append(digits, exp10 + 1, digits.Length - exp10 - 1);
            }
            else sb.Append("0.").Append('0', -exp10 - 1).Append(digits);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            sb.Append('e').Append(exp10 < 0 ? '-' : '+').Append(Math.Abs(exp10).ToString("00", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>A float as json.dumps writes it (NaN, Infinity, -Infinity for the special values).</summary>
    public static string JsonFloat(double d) =>
        double.IsNaN(d) ? "NaN" : double.IsPositiveInfinity(d) ? "Infinity" : double.IsNegativeInfinity(d) ? "-Infinity" : Float(d);

    /// <summary>A float as PyYAML's representer writes it (repr with ".0" put before a bare exponent; .inf, .nan).</summary>
    public static string YamlFloat(double d)
    {
        if (double.IsNaN(d)) return ".nan";
        if (double.IsPositiveInfinity(d)) return ".inf";
        if (double.IsNegativeInfinity(d)) return "-.inf";
        string s = Float(d);
        int e = s.IndexOf('e');
        return e >= 0 && s.IndexOf('.') < 0 ? s[..e] + ".0" + s[e..] : s;
    }

    /// <summary>A JSON string literal as json.dumps (ensure_ascii) writes it.</summary>
    public static void JsonString(StringBuilder sb, string s)
    {
        sb.Append('"');
        foreach (char ch in s)
        {
            switch (ch)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\r': sb.Append("\\r"); break;
                case '\t': sb.Append("\\t"); break;
                case '\b': sb.Append("\\b"); break;
                case '\f': sb.Append("\\f"); break;
                default:
                    if (ch < 0x20 || ch > 0x7E && ch != 0x7F) sb.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
                    else sb.Append(ch);
                    break;
            }
        }
        sb.Append('"');
    }
}
