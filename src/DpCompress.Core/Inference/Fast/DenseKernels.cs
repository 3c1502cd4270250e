using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// Small dense kernels for the fast engine: row-major matrix products sized for DP nets
/// (widths 1–300, a few hundred rows), vectorised over output columns with Vector256.
/// </summary>
internal static class DenseKernels
{
    /// <summary>C = X·W (overwrites C).</summary>
    /// <param name="x">[n, k] row-major.</param>
    /// <param name="n">Rows of X and C.</param>
    /// <param name="k">Columns of X = rows of W.</param>
    /// <param name="w">[k, o] row-major.</param>
    /// <param name="o">Columns of W and C.</param>
    /// <param name="c">[n, o] row-major output.</param>
    public static void MatMul(ReadOnlySpan<double> x, int n, int k, ReadOnlySpan<double> w, int o, Span<double> c)
    {
        if (x.Length < n * k || w.Length < k * o || c.Length < n * o)
            throw new ArgumentException("MatMul operand too short.");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double wr = ref MemoryMarshal.GetReference(w);
        ref double cr = ref MemoryMarshal.GetReference(c);
        int i = 0;
        for (; i + 4 <= n; i += 4)
        {
            ref double x0 = ref Unsafe.Add(ref xr, i * k);
            ref double x1 = ref Unsafe.Add(ref x0, k);
            ref double x2 = ref Unsafe.Add(ref x1, k);
            ref double x3 = ref Unsafe.Add(ref x2, k);
            int j = 0;
            for (; j + 8 <= o; j += 8)
            {
                Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
                Vector256<double> b0 = default, b1 = default, b2 = default, b3 = default;
                for (int p = 0; p < k; p++)
                {
                    ref double wp = ref Unsafe.Add(ref wr, p * o + j);
                    var wv = Vector256.LoadUnsafe(ref wp);
                    var wv2 = Vector256.LoadUnsafe(ref wp, 4);
                    var s0 = Vector256.Create(Unsafe.Add(ref x0, p));
                    var s1 = Vector256.Create(Unsafe.Add(ref x1, p));
                    var s2 = Vector256.Create(Unsafe.Add(ref x2, p));
                    var s3 = Vector256.Create(Unsafe.Add(ref x3, p));
                    a0 = Vector256.FusedMultiplyAdd(s0, wv, a0); b0 = Vector256.FusedMultiplyAdd(s0, wv2, b0);
                    a1 = Vector256.FusedMultiplyAdd(s1, wv, a1); b1 = Vector256.FusedMultiplyAdd(s1, wv2, b1);
                    a2 = Vector256.FusedMultiplyAdd(s2, wv, a2); b2 = Vector256.FusedMultiplyAdd(s2, wv2, b2);
                    a3 = Vector256.FusedMultiplyAdd(s3, wv, a3); b3 = Vector256.FusedMultiplyAdd(s3, wv2, b3);
                }
                ref double c0 = ref Unsafe.Add(ref cr, i * o + j);
                a0.StoreUnsafe(ref c0); b0.StoreUnsafe(ref c0, 4);
                a1.StoreUnsafe(ref c0, (nuint)o); b1.StoreUnsafe(ref c0, (nuint)(o + 4));
                a2.StoreUnsafe(ref c0, (nuint)(2 * o)); b2.StoreUnsafe(ref c0, (nuint)(2 * o + 4));
                a3.StoreUnsafe(ref c0, (nuint)(3 * o)); b3.StoreUnsafe(ref c0, (nuint)(3 * o + 4));
            }
            for (; j + 4 <= o; j += 4)
            {
                Vector256<double> a0 = default, a1 = default, a2 = default, a3 = default;
                for (int p = 0; p < k; p++)
                {
                    var wv = Vector256.LoadUnsafe(ref Unsafe.Add(ref wr, p * o + j));
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x0, p)), wv, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x1, p)), wv, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x2, p)), wv, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x3, p)), wv, a3);
                }
                ref double c0 = ref Unsafe.Add(ref cr, i * o + j);
                a0.StoreUnsafe(ref c0);
                a1.StoreUnsafe(ref c0, (nuint)o);
                a2.StoreUnsafe(ref c0, (nuint)(2 * o));
                a3.StoreUnsafe(ref c0, (nuint)(3 * o));
            }
            for (; j < o; j++)
            {
                double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
                for (int p = 0; p < k; p++)
                {
                    double wv = Unsafe.Add(ref wr, p * o + j);
                    a0 = Math.FusedMultiplyAdd(Unsafe.Add(ref x0, p), wv, a0);
                    a1 = Math.FusedMultiplyAdd(Unsafe.Add(ref x1, p), wv, a1);
                    a2 = Math.FusedMultiplyAdd(Unsafe.Add(ref x2, p), wv, a2);
                    a3 = Math.FusedMultiplyAdd(Unsafe.Add(ref x3, p), wv, a3);
                }
                Unsafe.Add(ref cr, i * o + j) = a0;
                Unsafe.Add(ref cr, (i + 1) * o + j) = a1;
                Unsafe.Add(ref cr, (i + 2) * o + j) = a2;
                Unsafe.Add(ref cr, (i + 3) * o + j) = a3;
            }
        }
        for (; i < n; i++)
        {
            ref double x0 = ref Unsafe.Add(ref xr, i * k);
            int j = 0;
            for (; j + 4 <= o; j += 4)
            {
                Vector256<double> a0 = default;
                for (int p = 0; p < k; p++)
                    a0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x0, p)), Vector256.LoadUnsafe(ref Unsafe.Add(ref wr, p * o + j)), a0);
                a0.StoreUnsafe(ref Unsafe.Add(ref cr, i * o + j));
            }
            for (; j < o; j++)
            {
                double a0 = 0;
                for (int p = 0; p < k; p++)
                    a0 = Math.FusedMultiplyAdd(Unsafe.Add(ref x0, p), Unsafe.Add(ref wr, p * o + j), a0);
                Unsafe.Add(ref cr, i * o + j) = a0;
            }
        }
    }

    /// <summary>y[μ] += a·x[μ] for μ &lt; n.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Axpy(double a, ReadOnlySpan<double> x, Span<double> y)
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException("Axpy operand too short.");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        var av = Vector256.Create(a);
        int i = 0;
        for (; i + 4 <= n; i += 4)
            Vector256.FusedMultiplyAdd(av, Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++)
            Unsafe.Add(ref yr, i) = Math.FusedMultiplyAdd(a, Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i));
    }

    /// <summary>Σ_μ x[μ]·y[μ].</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double Dot(ReadOnlySpan<double> x, ReadOnlySpan<double> y)
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException("Dot operand too short.");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        var acc = Vector256<double>.Zero;
        int i = 0;
        for (; i + 4 <= n; i += 4)
            acc = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xr, (nuint)i), Vector256.LoadUnsafe(ref yr, (nuint)i), acc);
        double sum = Vector256.Sum(acc);
        for (; i < n; i++)
            sum = Math.FusedMultiplyAdd(Unsafe.Add(ref xr, i), Unsafe.Add(ref yr, i), sum);
        return sum;
    }

    /// <summary>Transposes a row-major [rows, cols] matrix into [cols, rows].</summary>
    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = a[r * cols + c];
        return t;
    }
}
