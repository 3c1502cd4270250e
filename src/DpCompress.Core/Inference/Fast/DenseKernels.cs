using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// Small dense kernels for the fast engine: row-major matrix products sized for DP nets
/// (widths 1–300, a few hundred rows), vectorised over output columns with Vector512 where the
/// hardware has AVX-512 and Vector256 otherwise, and the elementwise passes of the nets. Every
/// path computes each element with the same operations in the same order, so results do not
/// depend on the path.
/// </summary>
internal static partial class DenseKernels
{
    /// <summary>C = X·W (overwrites C), or C += X·W.</summary>
    /// <param name="x">[n, k] row-major.</param>
    /// <param name="n">Rows of X and C.</param>
    /// <param name="k">Columns of X = rows of W.</param>
    /// <param name="w">[k, o] row-major.</param>
    /// <param name="o">Columns of W and C.</param>
    /// <param name="c">[n, o] row-major output.</param>
    /// <param name="accumulate">C += X·W instead of C = X·W.</param>
    /// <remarks>
    /// Every element is one FMA chain c[i,j] = fma(x[i,k−1], w[k−1,j], … fma(x[i,0], w[0,j], 0)) (then
    /// + the old c[i,j] with <paramref name="accumulate"/>), whatever the blocking or vector width, so
    /// results are bitwise identical on every path.
    /// </remarks>
    public static void MatMul(ReadOnlySpan<double> x, int n, int k, ReadOnlySpan<double> w, int o, Span<double> c, bool accumulate = false)
    {
        if (x.Length < n * k || w.Length < k * o || c.Length < n * o)
            throw new ArgumentException("MatMul operand too short.");
        if (Vector512.IsHardwareAccelerated && n >= 4 && o >= 4)
            MatMul512(ref MemoryMarshal.GetReference(x), n, k, ref MemoryMarshal.GetReference(w), o, ref MemoryMarshal.GetReference(c), accumulate, ref Unsafe.NullRef<double>());
        else
            MatMul256(x, n, k, w, o, c, accumulate);
    }

    /// <summary>C = X·W + bias (bias [o] added to every row after the product, as <see cref="AddBias"/>).</summary>
    public static void MatMulBias(ReadOnlySpan<double> x, int n, int k, ReadOnlySpan<double> w, int o, ReadOnlySpan<double> bias, Span<double> c)
    {
        if (x.Length < n * k || w.Length < k * o || c.Length < n * o || bias.Length != o)
            throw new ArgumentException("MatMul operand too short.");
        if (Vector512.IsHardwareAccelerated && n >= 4 && o >= 4)
            MatMul512(ref MemoryMarshal.GetReference(x), n, k, ref MemoryMarshal.GetReference(w), o, ref MemoryMarshal.GetReference(c), false, ref MemoryMarshal.GetReference(bias));
        else
        {
            MatMul256(x, n, k, w, o, c, false);
            AddBias(c, n, bias);
        }
    }

    /// <summary>The Vector256 product (any shape; every machine).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void MatMul256(ReadOnlySpan<double> x, int n, int k, ReadOnlySpan<double> w, int o, Span<double> c, bool accumulate)
    {
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
                St(a0, ref c0, 0, accumulate); St(b0, ref c0, 4, accumulate);
                St(a1, ref c0, o, accumulate); St(b1, ref c0, o + 4, accumulate);
                St(a2, ref c0, 2 * o, accumulate); St(b2, ref c0, 2 * o + 4, accumulate);
                St(a3, ref c0, 3 * o, accumulate); St(b3, ref c0, 3 * o + 4, accumulate);
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
                St(a0, ref c0, 0, accumulate);
                St(a1, ref c0, o, accumulate);
                St(a2, ref c0, 2 * o, accumulate);
                St(a3, ref c0, 3 * o, accumulate);
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
                { ref double cs = ref Unsafe.Add(ref cr, i * o + j); cs = accumulate ? cs + a0 : a0; }
                { ref double cs = ref Unsafe.Add(ref cr, (i + 1) * o + j); cs = accumulate ? cs + a1 : a1; }
                { ref double cs = ref Unsafe.Add(ref cr, (i + 2) * o + j); cs = accumulate ? cs + a2 : a2; }
                { ref double cs = ref Unsafe.Add(ref cr, (i + 3) * o + j); cs = accumulate ? cs + a3 : a3; }
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
                St(a0, ref Unsafe.Add(ref cr, i * o + j), 0, accumulate);
            }
            for (; j < o; j++)
            {
                double a0 = 0;
                for (int p = 0; p < k; p++)
                    a0 = Math.FusedMultiplyAdd(Unsafe.Add(ref x0, p), Unsafe.Add(ref wr, p * o + j), a0);
                { ref double cs = ref Unsafe.Add(ref cr, i * o + j); cs = accumulate ? cs + a0 : a0; }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St(Vector256<double> v, ref double c, int offset, bool accumulate)
    {
        if (accumulate) v += Vector256.LoadUnsafe(ref c, (nuint)offset);
        v.StoreUnsafe(ref c, (nuint)offset);
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

    /// <summary>y[μ] = x[μ]·a for μ &lt; n (the same products in any width).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Scale(ReadOnlySpan<double> x, double a, Span<double> y)
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException("Scale operand too short.");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        var av = Vector256.Create(a);
        int i = 0;
        for (; i + 4 <= n; i += 4) (Vector256.LoadUnsafe(ref xr, (nuint)i) * av).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = Unsafe.Add(ref xr, i) * a;
    }

    /// <summary>Mask keeping the last <paramref name="count"/> (1–3) of four lanes (all bits set), the others zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<double> TailMask(int count) =>
        Vector256.GreaterThanOrEqual(Vector256.Create(0.0, 1.0, 2.0, 3.0), Vector256.Create((double)(4 - count)));

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

    /// <summary>u_a = Σ_μ dA[a, μ]·g[μ], v_a = Σ_μ dA[a, μ]·gp[μ] for a = 0..3.</summary>
    /// <param name="da">[4, m].</param>
    /// <param name="g">[m].</param>
    /// <param name="gp">[m].</param>
    /// <param name="uv">[8] receives u_0..u_3, v_0..v_3.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Contract(ReadOnlySpan<double> da, ReadOnlySpan<double> g, ReadOnlySpan<double> gp, Span<double> uv)
    {
        int m = g.Length;
        if (da.Length < 4 * m || gp.Length < m || uv.Length < 8) throw new ArgumentException("Contract operand too short.");
        ref double dr = ref MemoryMarshal.GetReference(da);
        ref double gr = ref MemoryMarshal.GetReference(g);
        ref double pr = ref MemoryMarshal.GetReference(gp);
        Vector256<double> u0 = default, u1 = default, u2 = default, u3 = default, w0 = default, w1 = default, w2 = default, w3 = default;
        int q = 0;
        for (; q + 4 <= m; q += 4)
        {
            var gv = Vector256.LoadUnsafe(ref gr, (nuint)q);
            var dv = Vector256.LoadUnsafe(ref pr, (nuint)q);
            ref double d0 = ref Unsafe.Add(ref dr, q);
            var a0 = Vector256.LoadUnsafe(ref d0);
            var a1 = Vector256.LoadUnsafe(ref d0, (nuint)m);
            var a2 = Vector256.LoadUnsafe(ref d0, (nuint)(2 * m));
            var a3 = Vector256.LoadUnsafe(ref d0, (nuint)(3 * m));
            u0 = Vector256.FusedMultiplyAdd(a0, gv, u0); w0 = Vector256.FusedMultiplyAdd(a0, dv, w0);
            u1 = Vector256.FusedMultiplyAdd(a1, gv, u1); w1 = Vector256.FusedMultiplyAdd(a1, dv, w1);
            u2 = Vector256.FusedMultiplyAdd(a2, gv, u2); w2 = Vector256.FusedMultiplyAdd(a2, dv, w2);
            u3 = Vector256.FusedMultiplyAdd(a3, gv, u3); w3 = Vector256.FusedMultiplyAdd(a3, dv, w3);
        }
        if (q < m && m >= 4)
        {
            // Tail: the last four outputs again with the ones already done masked off.
            var keep = TailMask(m - q);
            q = m - 4;
            var gv = Vector256.LoadUnsafe(ref gr, (nuint)q) & keep;
            var dv = Vector256.LoadUnsafe(ref pr, (nuint)q) & keep;
            ref double d0 = ref Unsafe.Add(ref dr, q);
            var a0 = Vector256.LoadUnsafe(ref d0);
            var a1 = Vector256.LoadUnsafe(ref d0, (nuint)m);
            var a2 = Vector256.LoadUnsafe(ref d0, (nuint)(2 * m));
            var a3 = Vector256.LoadUnsafe(ref d0, (nuint)(3 * m));
            u0 = Vector256.FusedMultiplyAdd(a0, gv, u0); w0 = Vector256.FusedMultiplyAdd(a0, dv, w0);
            u1 = Vector256.FusedMultiplyAdd(a1, gv, u1); w1 = Vector256.FusedMultiplyAdd(a1, dv, w1);
            u2 = Vector256.FusedMultiplyAdd(a2, gv, u2); w2 = Vector256.FusedMultiplyAdd(a2, dv, w2);
            u3 = Vector256.FusedMultiplyAdd(a3, gv, u3); w3 = Vector256.FusedMultiplyAdd(a3, dv, w3);
            q = m;
        }
        double su0 = Vector256.Sum(u0), su1 = Vector256.Sum(u1), su2 = Vector256.Sum(u2), su3 = Vector256.Sum(u3);
        double sw0 = Vector256.Sum(w0), sw1 = Vector256.Sum(w1), sw2 = Vector256.Sum(w2), sw3 = Vector256.Sum(w3);
        for (; q < m; q++)
        {
            double gv = g[q], dv = gp[q];
            su0 += da[q] * gv; su1 += da[m + q] * gv; su2 += da[2 * m + q] * gv; su3 += da[3 * m + q] * gv;
            sw0 += da[q] * dv; sw1 += da[m + q] * dv; sw2 += da[2 * m + q] * dv; sw3 += da[3 * m + q] * dv;
        }
        uv[0] = su0; uv[1] = su1; uv[2] = su2; uv[3] = su3;
        uv[4] = sw0; uv[5] = sw1; uv[6] = sw2; uv[7] = sw3;
    }

    /// <summary>
    /// y = tanh(x) elementwise (in place allowed): tanh|x| = (1 − e)/(1 + e), e = exp(−2|x|),
    /// sign copied from x. Absolute error ≲ 4e-16 against Math.Tanh.
    /// </summary>
    /// <remarks>
    /// Elements are taken in groups of four from index 0 (e from Vector256.Exp of the group); the
    /// last n mod 4 elements use Math.Tanh. Vector256.Exp evaluates a polynomial when every
    /// argument of the group is within ±708 and Math.Exp per element otherwise, so a result may
    /// depend on its group; the AVX-512 path keeps exactly these groups (see <see cref="Tanh8"/>).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tanh(ReadOnlySpan<double> x, Span<double> y)
    {
        int n = x.Length;
        if (y.Length < n) throw new ArgumentException("Tanh operand too short.");
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double yr = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
            for (; i + 8 <= n; i += 8)
                Tanh8(Vector512.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        if (Vector256.IsHardwareAccelerated)
            for (; i + 4 <= n; i += 4)
                Tanh4(Vector256.LoadUnsafe(ref xr, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        for (; i < n; i++) Unsafe.Add(ref yr, i) = Math.Tanh(Unsafe.Add(ref xr, i));
    }

    /// <summary>tanh of four elements forming one group of <see cref="Tanh"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<double> Tanh4(Vector256<double> z)
    {
        var one = Vector256<double>.One;
        var e = Vector256.Exp(Vector256.Abs(z) * Vector256.Create(-2.0));
        var t = (one - e) / (one + e);
        return t | (z & Vector256.Create(-0.0));
    }

    /// <summary>
    /// tanh of eight elements forming two groups of <see cref="Tanh"/>, bitwise equal to two
    /// <see cref="Tanh4"/>: the inlined polynomial when all eight arguments are within ±708 (then
    /// Vector256.Exp evaluates the same polynomial lane by lane), else Vector256.Exp per group.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> Tanh8(Vector512<double> z) => TryTanh8(z, out var t) ? t : Tanh8Groups(z);

    /// <summary>tanh of eight elements (as <see cref="Tanh8"/>) when all eight arguments are in the polynomial range; false otherwise.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryTanh8(Vector512<double> z, out Vector512<double> t)
    {
        var a = Vector512.Abs(z) * Vector512.Create(-2.0);
        if (!Vector512.LessThanOrEqualAll(Vector512.Abs(a).AsUInt64(), Vector512.Create(ExpPolynomialLimit)))
        {
            t = default;
            return false;
        }
        var one = Vector512<double>.One;
        // .NET's polynomial fuses its multiply-adds where FMA is supported (always with AVX-512
        // unless switched off); ExpPolynomial copies that case.
        var e = Fma.IsSupported ? ExpPolynomial(a) : Vector512.Exp(a);
        t = ((one - e) / (one + e)) | (z & Vector512.Create(-0.0));
        return true;
    }

    /// <summary>tanh of eight elements as two groups of <see cref="Tanh4"/> (the path for arguments beyond ±354).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal static Vector512<double> Tanh8Groups(Vector512<double> z) => Vector512.Create(Tanh4(z.GetLower()), Tanh4(z.GetUpper()));

    /// <summary>Bits of 708.0: Vector{256,512}.Exp(double) use their polynomial when all |x| ≤ this.</summary>
    private const ulong ExpPolynomialLimit = 0x40862000_00000000;

    /// <summary>
    /// e^x for |x| ≤ 708, inlined: the same operations as the polynomial branch of .NET's
    /// Vector256/Vector512.Exp(double) (AMD AOCL vrd2_exp: x·log2 e split n + r, degree-12 polynomial
    /// in r, scaled by 2^n; MultiplyAddEstimate is a fused multiply-add on AVX-512 hardware), hence
    /// bitwise equal to it (a test compares the two).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<double> ExpPolynomial(Vector512<double> x)
    {
        const double huge = 6755399441055744;
        var dn = Vector512.FusedMultiplyAdd(x, Vector512.Create(1.4426950408889634), Vector512.Create(huge));
        var n = dn.AsUInt64();
        dn -= Vector512.Create(huge);
        var r = Vector512.FusedMultiplyAdd(dn, Vector512.Create(-0.693359375), x);
        r = Vector512.FusedMultiplyAdd(dn, Vector512.Create(0.00021219444005469057), r);
        var r2 = r * r;
        var r4 = r2 * r2;
        var r8 = r4 * r4;
        var poly = Vector512.FusedMultiplyAdd(
            Vector512.FusedMultiplyAdd(
                Vector512.FusedMultiplyAdd(Vector512.Create(2.499430431958571E-08), r, Vector512.Create(2.7632293298250954E-07)),
                r2,
                Vector512.FusedMultiplyAdd(Vector512.Create(2.7557622532543023E-06), r, Vector512.Create(2.4801486521374483E-05))),
            r8,
            Vector512.FusedMultiplyAdd(
                Vector512.FusedMultiplyAdd(
                    Vector512.FusedMultiplyAdd(Vector512.Create(0.00019841269432677495), r, Vector512.Create(0.001388888895122404)),
                    r2,
                    Vector512.FusedMultiplyAdd(Vector512.Create(0.008333333333559272), r, Vector512.Create(0.04166666666649277))),
                r4,
                Vector512.FusedMultiplyAdd(
                    Vector512.FusedMultiplyAdd(Vector512.Create(0.1666666666666617), r, Vector512.Create(0.5000000000000018)),
                    r2,
                    r + Vector512<double>.One)));
        return poly * ((n + Vector512.Create(1023UL)) << 52).AsDouble();
    }

    /// <summary>
    /// Embedding layer finish over n·o elements in row-major order (x, dx [n, o] when given):
    /// h = tanh z as <see cref="Tanh"/> over <paramref name="hv"/>, dh = (1 − h²)·dz, then ·idt
    /// (<paramref name="idtTiled"/>[q] = idt[q mod o] for q &lt; o + 8; empty for none), then + x, + dx.
    /// dz is <paramref name="hd"/>, or, when <paramref name="dzTiled"/> is given (tiled as idt), the
    /// same row for every row (a first layer: dx = 1) and <paramref name="hd"/> is output only.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TanhFinish(Span<double> hv, Span<double> hd, ReadOnlySpan<double> x, ReadOnlySpan<double> dx, int o, ReadOnlySpan<double> idtTiled,
        ReadOnlySpan<double> dzTiled = default)
    {
        int len = hv.Length;
        bool skip = !x.IsEmpty, useIdt = !idtTiled.IsEmpty, rowDz = !dzTiled.IsEmpty;
        if (hd.Length < len || (skip && (x.Length < len || dx.Length < len)) || (useIdt && idtTiled.Length < o + 8) || (rowDz && dzTiled.Length < o + 8))
            throw new ArgumentException("TanhFinish operand too short.");
        ref double hr = ref MemoryMarshal.GetReference(hv);
        ref double dr = ref MemoryMarshal.GetReference(hd);
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double dxr = ref MemoryMarshal.GetReference(dx);
        ref double ir = ref MemoryMarshal.GetReference(idtTiled);
        ref double zr = ref rowDz ? ref MemoryMarshal.GetReference(dzTiled) : ref dr;
        int f = 0, q = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            while (f + 8 <= len)
            {
                // No call in the hot loop: it stops at a vector with an argument beyond the polynomial range.
                for (; f + 8 <= len; f += 8)
                {
                    if (!TryTanh8(Vector512.LoadUnsafe(ref hr, (nuint)f), out var h)) break;
                    Finish8(h, ref hr, ref dr, ref zr, ref xr, ref dxr, ref ir, f, ref q, o, skip, useIdt, rowDz);
                }
                if (f + 8 > len) break;
                Finish8(Tanh8Groups(Vector512.LoadUnsafe(ref hr, (nuint)f)), ref hr, ref dr, ref zr, ref xr, ref dxr, ref ir, f, ref q, o, skip, useIdt, rowDz);
                f += 8;
            }
        }
        if (Vector256.IsHardwareAccelerated && f + 4 <= len)
        {
            var one = Vector256<double>.One;
            for (; f + 4 <= len; f += 4)
            {
                var h = Tanh4(Vector256.LoadUnsafe(ref hr, (nuint)f));
                var dh = (one - h * h) * Vector256.LoadUnsafe(ref zr, (nuint)(rowDz ? q : f));
                if (useIdt)
                {
                    var iv = Vector256.LoadUnsafe(ref ir, (nuint)q);
                    h *= iv; dh *= iv;
                }
                if (useIdt || rowDz)
                {
                    q += 4;
                    while (q >= o) q -= o;
                }
                if (skip)
                {
                    h += Vector256.LoadUnsafe(ref xr, (nuint)f);
                    dh += Vector256.LoadUnsafe(ref dxr, (nuint)f);
                }
                h.StoreUnsafe(ref hr, (nuint)f);
                dh.StoreUnsafe(ref dr, (nuint)f);
            }
        }
        for (; f < len; f++)
        {
            double h = Math.Tanh(Unsafe.Add(ref hr, f));
            double dh = (1.0 - h * h) * Unsafe.Add(ref zr, rowDz ? q : f);
            if (useIdt)
            {
                double iv = Unsafe.Add(ref ir, q);
                h *= iv; dh *= iv;
            }
            if ((useIdt || rowDz) && ++q == o) q = 0;
            if (skip)
            {
                h += Unsafe.Add(ref xr, f);
                dh += Unsafe.Add(ref dxr, f);
            }
            Unsafe.Add(ref hr, f) = h;
            Unsafe.Add(ref dr, f) = dh;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish8(Vector512<double> h, ref double hr, ref double dr, ref double zr, ref double xr, ref double dxr, ref double ir, int f, ref int q, int o,
        bool skip, bool useIdt, bool rowDz)
    {
        var dh = (Vector512<double>.One - h * h) * Vector512.LoadUnsafe(ref zr, (nuint)(rowDz ? q : f));
        if (useIdt)
        {
            var iv = Vector512.LoadUnsafe(ref ir, (nuint)q);
            h *= iv; dh *= iv;
        }
        if (useIdt || rowDz)
        {
            q += 8;
            while (q >= o) q -= o;
        }
        if (skip)
        {
            h += Vector512.LoadUnsafe(ref xr, (nuint)f);
            dh += Vector512.LoadUnsafe(ref dxr, (nuint)f);
        }
        h.StoreUnsafe(ref hr, (nuint)f);
        dh.StoreUnsafe(ref dr, (nuint)f);
    }

    /// <summary>
    /// Fitting hidden-layer finish over n·o elements in row-major order: h = tanh z as
    /// <see cref="Tanh"/> into <paramref name="h"/>; with <paramref name="x"/> given (skip, out ==
    /// in), z ← h·idt + x (<paramref name="idtTiled"/> as in <see cref="TanhFinish"/>, empty for none).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TanhSkip(Span<double> z, Span<double> h, ReadOnlySpan<double> x, int o, ReadOnlySpan<double> idtTiled)
    {
        int len = z.Length;
        bool skip = !x.IsEmpty, useIdt = skip && !idtTiled.IsEmpty;
        if (h.Length < len || (skip && x.Length < len) || (useIdt && idtTiled.Length < o + 8))
            throw new ArgumentException("TanhSkip operand too short.");
        ref double zr = ref MemoryMarshal.GetReference(z);
        ref double hr = ref MemoryMarshal.GetReference(h);
        ref double xr = ref MemoryMarshal.GetReference(x);
        ref double ir = ref MemoryMarshal.GetReference(idtTiled);
        int f = 0, q = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            while (f + 8 <= len)
            {
                for (; f + 8 <= len; f += 8)
                {
                    if (!TryTanh8(Vector512.LoadUnsafe(ref zr, (nuint)f), out var t)) break;
                    Skip8(t, ref zr, ref hr, ref xr, ref ir, f, ref q, o, skip, useIdt);
                }
                if (f + 8 > len) break;
                Skip8(Tanh8Groups(Vector512.LoadUnsafe(ref zr, (nuint)f)), ref zr, ref hr, ref xr, ref ir, f, ref q, o, skip, useIdt);
                f += 8;
            }
        }
        if (Vector256.IsHardwareAccelerated)
        {
            for (; f + 4 <= len; f += 4)
            {
                var t = Tanh4(Vector256.LoadUnsafe(ref zr, (nuint)f));
                t.StoreUnsafe(ref hr, (nuint)f);
                if (!skip) continue;
                if (useIdt)
                {
                    t *= Vector256.LoadUnsafe(ref ir, (nuint)q);
                    q += 4;
                    while (q >= o) q -= o;
                }
                (t + Vector256.LoadUnsafe(ref xr, (nuint)f)).StoreUnsafe(ref zr, (nuint)f);
            }
        }
        for (; f < len; f++)
        {
            double t = Math.Tanh(Unsafe.Add(ref zr, f));
            Unsafe.Add(ref hr, f) = t;
            if (!skip) continue;
            if (useIdt)
            {
                t *= Unsafe.Add(ref ir, q);
                if (++q == o) q = 0;
            }
            Unsafe.Add(ref zr, f) = t + Unsafe.Add(ref xr, f);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Skip8(Vector512<double> t, ref double zr, ref double hr, ref double xr, ref double ir, int f, ref int q, int o, bool skip, bool useIdt)
    {
        t.StoreUnsafe(ref hr, (nuint)f);
        if (!skip) return;
        if (useIdt)
        {
            t *= Vector512.LoadUnsafe(ref ir, (nuint)q);
            q += 8;
            while (q >= o) q -= o;
        }
        (t + Vector512.LoadUnsafe(ref xr, (nuint)f)).StoreUnsafe(ref zr, (nuint)f);
    }

    /// <summary>
    /// Fitting backward through tanh over n·o elements in row-major order: optionally
    /// <paramref name="copy"/> ← g (the skip gradient), then g ← g·idt·(1 − h²)
    /// (<paramref name="idtTiled"/> as in <see cref="TanhFinish"/>, empty for none).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void TanhBackward(Span<double> g, ReadOnlySpan<double> h, Span<double> copy, int o, ReadOnlySpan<double> idtTiled)
    {
        int len = g.Length;
        bool keep = !copy.IsEmpty, useIdt = !idtTiled.IsEmpty;
        if (h.Length < len || (keep && copy.Length < len) || (useIdt && idtTiled.Length < o + 8))
            throw new ArgumentException("TanhBackward operand too short.");
        ref double gr = ref MemoryMarshal.GetReference(g);
        ref double hr = ref MemoryMarshal.GetReference(h);
        ref double cr = ref MemoryMarshal.GetReference(copy);
        ref double ir = ref MemoryMarshal.GetReference(idtTiled);
        int f = 0, q = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            var one = Vector512<double>.One;
            for (; f + 8 <= len; f += 8)
            {
                var v = Vector512.LoadUnsafe(ref gr, (nuint)f);
                if (keep) v.StoreUnsafe(ref cr, (nuint)f);
                if (useIdt)
                {
                    v *= Vector512.LoadUnsafe(ref ir, (nuint)q);
                    q += 8;
                    while (q >= o) q -= o;
                }
                var hv = Vector512.LoadUnsafe(ref hr, (nuint)f);
                (v * (one - hv * hv)).StoreUnsafe(ref gr, (nuint)f);
            }
        }
        for (; f < len; f++)
        {
            double v = Unsafe.Add(ref gr, f);
            if (keep) Unsafe.Add(ref cr, f) = v;
            if (useIdt)
            {
                v *= Unsafe.Add(ref ir, q);
                if (++q == o) q = 0;
            }
            double hq = Unsafe.Add(ref hr, f);
            Unsafe.Add(ref gr, f) = v * (1.0 - hq * hq);
        }
    }

    /// <summary>row[q mod o] for q &lt; o + 8 (the row's vector at any column offset), or empty for none.</summary>
    internal static double[] TileRow(double[]? row, int o)
    {
        if (row is null) return [];
        var t = new double[o + 8];
        for (int q = 0; q < t.Length; q++) t[q] = row[q % o];
        return t;
    }

    /// <summary>Adds <paramref name="bias"/> [o] to every row of <paramref name="z"/> [n, o].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void AddBias(Span<double> z, int n, ReadOnlySpan<double> bias)
    {
        int o = bias.Length;
        for (int r = 0; r < n; r++) Axpy(1.0, bias, z.Slice(r * o, o));
    }

    /// <summary>(Σ lanes of v0, Σ v1, Σ v2, Σ v3) as one vector, each as (v[0] + v[1]) + (v[2] + v[3]).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<double> Sum4(Vector256<double> v0, Vector256<double> v1, Vector256<double> v2, Vector256<double> v3)
    {
        if (Avx.IsSupported)
        {
            var s01 = Avx.HorizontalAdd(v0, v1);   // v0[0]+v0[1], v1[0]+v1[1], v0[2]+v0[3], v1[2]+v1[3]
            var s23 = Avx.HorizontalAdd(v2, v3);
            return Avx.Permute2x128(s01, s23, 0x20) + Avx.Permute2x128(s01, s23, 0x31);
        }
        // The same additions in the same order.
        return Vector256.Create(v0[0] + v0[1], v1[0] + v1[1], v2[0] + v2[1], v3[0] + v3[1])
            + Vector256.Create(v0[2] + v0[3], v1[2] + v1[3], v2[2] + v2[3], v3[2] + v3[3]);
    }

    /// <summary>Transposes a row-major [rows, cols] matrix into [cols, rows].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                t[c * rows + r] = a[r * cols + c];
        return t;
    }
}

/// <summary>
/// Array entry points to the fast-engine kernels for the tests, which reach them by reflection
/// (reflection cannot pass spans). Not used by the engine.
/// </summary>
internal static class KernelTestHooks
{
    /// <summary><see cref="DenseKernels.MatMul"/> (bias: <see cref="DenseKernels.MatMulBias"/>), or the Vector256 product.</summary>
    internal static void MatMul(double[] x, int n, int k, double[] w, int o, double[] c, bool accumulate, double[]? bias, bool vector256)
    {
        if (vector256)
        {
            DenseKernels.MatMul256(x, n, k, w, o, c, accumulate);
            if (bias is not null) DenseKernels.AddBias(c, n, bias);
        }
        else if (bias is not null) DenseKernels.MatMulBias(x, n, k, w, o, bias, c);
        else DenseKernels.MatMul(x, n, k, w, o, c, accumulate);
    }

    internal static void Tanh(double[] x, double[] y) => DenseKernels.Tanh(x, y);

    /// <summary><see cref="DescriptorKernels.DescriptorBackward"/> into <paramref name="da"/> [4, daStride].</summary>
    internal static void DescriptorBackward(double[] a, double[] dd, int m, int m2, double[] da, int daStride) =>
        DescriptorKernels.DescriptorBackward(a, dd, m, m2, da, daStride);

    /// <summary>The inlined exp polynomial over x (length a multiple of 8, every |x| ≤ 708); null without AVX-512 and FMA.</summary>
    internal static double[]? ExpPolynomial(double[] x)
    {
        if (!Vector512.IsHardwareAccelerated || !Fma.IsSupported) return null;
        var y = new double[x.Length];
        for (int i = 0; i + 8 <= x.Length; i += 8)
            DenseKernels.ExpPolynomial(Vector512.Create(x.AsSpan(i, 8))).CopyTo(y.AsSpan(i, 8));
        return y;
    }

    /// <summary>G and G′ of n = s.Length inputs (one call, as the engine's embedding chunks).</summary>
    internal static void Embedding(DpCompress.Core.Model.EmbeddingNet net, double[] s, double[] g, double[] gp)
    {
        var kernel = new EmbeddingKernel(net);
        int size = 2 * s.Length * kernel.MaxWidth;
        kernel.Forward(s, g, gp, new double[size], new double[size]);
    }

    /// <summary>Fitting forward for rows row0..row0+n−1 of d [·, InputWidth]; returns E_i, fills hidden.</summary>
    internal static double[] FittingForward(DpCompress.Core.Model.FittingNet net, double[] d, int row0, int n, double[][] hidden)
    {
        var kernel = new FittingKernel(net);
        var energy = new double[n];
        int size = n * kernel.MaxWidth;
        kernel.Forward(d.AsSpan(row0 * kernel.InputWidth, n * kernel.InputWidth), n, hidden, row0, energy, new double[size], new double[size]);
        return energy;
    }

    /// <summary>Fitting backward for rows row0..row0+n−1 (hidden from <see cref="FittingForward"/>); fills those rows of dd.</summary>
    internal static void FittingBackward(DpCompress.Core.Model.FittingNet net, double[][] hidden, int row0, int n, double[] dd)
    {
        var kernel = new FittingKernel(net);
        int size = n * kernel.MaxWidth;
        kernel.Backward(hidden, row0, n, dd.AsSpan(row0 * kernel.InputWidth, n * kernel.InputWidth), new double[size], new double[size]);
    }
}
