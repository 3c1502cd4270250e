using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace DpCompress.Core.Inference;

/// <summary>
/// This core's float64 fused multiply-add throughput, measured: sixteen independent chains
/// a_j ← a_j·q + e on 8 lanes where Vector512 is accelerated, else on 4 (Vector256: hardware FMA with
/// AVX2 + FMA, emulated elsewhere, which is then the rate this machine has), counted as lanes × chains
/// FMAs per step. A floor under a kernel's time ("n FMAs at this
/// rate") then uses the machine it runs on instead of an assumed clock and pipe count.
/// </summary>
public static class FmaThroughput
{
    private const int Steps = 1 << 16;

    /// <summary>The best rate (FMAs per second) over bursts of 16·2^16 vector FMAs run for about <paramref name="duration"/>.</summary>
    /// <param name="duration">Total measuring time; at least one burst runs.</param>
    public static double Measure(TimeSpan duration)
    {
        int lanes = Vector512.IsHardwareAccelerated ? 8 : 4;
        double best = 0, sink = 0;
        var total = Stopwatch.StartNew();
        do
        {
            long t0 = Stopwatch.GetTimestamp();
            sink += lanes == 8 ? Chains512() : Chains256();
            double seconds = Stopwatch.GetElapsedTime(t0).TotalSeconds;
            if (seconds > 0) best = Math.Max(best, 16.0 * lanes * Steps / seconds);
        }
        while (total.Elapsed < duration);
        GC.KeepAlive(sink);
        return best;
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Chains512()
    {
        var q = Vector512.Create(0.999999); var e = Vector512.Create(1e-7);
        Vector512<double> a0 = Vector512.Create(1.0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector512<double> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int s = 0; s < Steps; s++)
        {
            a0 = Vector512.FusedMultiplyAdd(a0, q, e); a1 = Vector512.FusedMultiplyAdd(a1, q, e);
            a2 = Vector512.FusedMultiplyAdd(a2, q, e); a3 = Vector512.FusedMultiplyAdd(a3, q, e);
            a4 = Vector512.FusedMultiplyAdd(a4, q, e); a5 = Vector512.FusedMultiplyAdd(a5, q, e);
            a6 = Vector512.FusedMultiplyAdd(a6, q, e); a7 = Vector512.FusedMultiplyAdd(a7, q, e);
            a8 = Vector512.FusedMultiplyAdd(a8, q, e); a9 = Vector512.FusedMultiplyAdd(a9, q, e);
            a10 = Vector512.FusedMultiplyAdd(a10, q, e); a11 = Vector512.FusedMultiplyAdd(a11, q, e);
            a12 = Vector512.FusedMultiplyAdd(a12, q, e); a13 = Vector512.FusedMultiplyAdd(a13, q, e);
            a14 = Vector512.FusedMultiplyAdd(a14, q, e); a15 = Vector512.FusedMultiplyAdd(a15, q, e);
        }
        return Vector512.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static double Chains256()
    {
        var q = Vector256.Create(0.999999); var e = Vector256.Create(1e-7);
        Vector256<double> a0 = Vector256.Create(1.0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;
        Vector256<double> a8 = a0, a9 = a0, a10 = a0, a11 = a0, a12 = a0, a13 = a0, a14 = a0, a15 = a0;
        for (int s = 0; s < Steps; s++)
        {
            a0 = Vector256.FusedMultiplyAdd(a0, q, e); a1 = Vector256.FusedMultiplyAdd(a1, q, e);
            a2 = Vector256.FusedMultiplyAdd(a2, q, e); a3 = Vector256.FusedMultiplyAdd(a3, q, e);
            a4 = Vector256.FusedMultiplyAdd(a4, q, e); a5 = Vector256.FusedMultiplyAdd(a5, q, e);
            a6 = Vector256.FusedMultiplyAdd(a6, q, e); a7 = Vector256.FusedMultiplyAdd(a7, q, e);
            a8 = Vector256.FusedMultiplyAdd(a8, q, e); a9 = Vector256.FusedMultiplyAdd(a9, q, e);
            a10 = Vector256.FusedMultiplyAdd(a10, q, e); a11 = Vector256.FusedMultiplyAdd(a11, q, e);
            a12 = Vector256.FusedMultiplyAdd(a12, q, e); a13 = Vector256.FusedMultiplyAdd(a13, q, e);
            a14 = Vector256.FusedMultiplyAdd(a14, q, e); a15 = Vector256.FusedMultiplyAdd(a15, q, e);
        }
        return Vector256.Sum(a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15);
    }
}
