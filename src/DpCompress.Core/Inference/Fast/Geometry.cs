using System.Runtime.CompilerServices;

namespace DpCompress.Core.Inference.Fast;

/// <summary>Smooth weight S(r) of SPEC §2.1.</summary>
internal static class Geometry
{
    /// <summary>S(r) with PWMLFF's strict inequalities (SPEC §2.1), and dS/dr; with <paramref name="includeRmin"/>, r = Rmin gives 1/r (DeePMD-kit).</summary>
    /// <param name="r">|dR|.</param>
    /// <param name="inv">1/r.</param>
    /// <param name="rmin">Rmin.</param>
    /// <param name="rmax">Rmax.</param>
    /// <param name="invWidth">1/(Rmax − Rmin).</param>
    /// <param name="dsdr">dS/dr.</param>
    /// <param name="includeRmin">True for DeePMD-kit's rule (w = 1 up to and including rcut_smth).</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double Switch(double r, double inv, double rmin, double rmax, double invWidth, out double dsdr, bool includeRmin = false)
    {
        if (r > 0 && (r < rmin || includeRmin && r == rmin))
        {
            dsdr = -inv * inv;
            return inv;
        }
        if (r > rmin && r < rmax)
        {
            // S = p(u)/r, p = u³(−6u² + 15u − 10) + 1, dp/du = −30u²(u − 1)², u = (r − Rmin)/(Rmax − Rmin)
            double u = (r - rmin) * invWidth;
            double u2 = u * u, u3 = u2 * u;
            double p = u3 * (-6 * u2 + 15 * u - 10) + 1;
            double dp = -30 * u2 * (u - 1) * (u - 1);
            double sw = p * inv;
            dsdr = (dp * invWidth - sw) * inv;
            return sw;
        }
        dsdr = 0;
        return 0;
    }
}
