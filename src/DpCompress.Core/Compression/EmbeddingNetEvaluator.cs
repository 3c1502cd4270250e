using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DpCompress.Core.Model;

namespace DpCompress.Core.Compression;

/// <summary>
/// Evaluates an embedding net G: s ↦ y ∈ R^m together with its exact first and second
/// derivatives y′ = dy/ds and y″ = d²y/ds² (forward-mode differentiation, SPEC §2–§3).
/// </summary>
/// <remarks>
/// <para>For every layer, with input x (value), ẋ = dx/ds and ẍ = d²x/ds²:</para>
/// <para>z = x·W + b, ż = ẋ·W, z̈ = ẍ·W;
/// t = tanh(z), t′ = 1 − t², t″ = −2t(1 − t²);
/// h = t, ḣ = (1 − t²)·ż, ḧ = (1 − t²)·z̈ − 2t(1 − t²)·ż².</para>
/// <para>Then the skip rule of <see cref="DenseLayer.Skip"/> (idt = resnet_dt, or 1 when the
/// layer has none): None: x ← h; Identity (out = in): x ← h·idt + x; Doubled (out = 2·in):
/// x ← concat(x, x) + h·idt. The same linear combination applies to ẋ and ẍ.</para>
/// <para>The first layer sees s (and, for type-embedding nets, a constant type vector v:
/// input = concat(s, v), so ẋ = (1, 0…), ẍ = 0).</para>
/// <para>Samples are processed in blocks of <see cref="BlockSize"/>, stored neuron-major
/// ([width, BlockSize]) so that the inner loops run over samples with SIMD vectors.
/// An instance owns its scratch buffers: use one instance per thread.</para>
/// </remarks>
public sealed class EmbeddingNetEvaluator
{
    /// <summary>Samples per internal block.</summary>
    public const int BlockSize = 32;

    private readonly DenseLayer[] _layers;
    private readonly double[] _firstBias;   // [out0]: b + v·W[1..], the constant part of layer 0
    private readonly int _maxWidth;
    private readonly double[] _typeVector;
    // Ping-pong buffers [maxWidth, BlockSize] for value, first and second derivative.
    private double[] _v0, _d0, _s0, _v1, _d1, _s1;
    private readonly double[] _zv, _zd, _zs;

    /// <param name="net">The embedding net; its input width must be 1 + typeVector length.</param>
    /// <param name="typeVector">Constant extra inputs for a type-embedding net (null for plain DP).</param>
    public EmbeddingNetEvaluator(EmbeddingNet net, ReadOnlySpan<double> typeVector = default)
    {
        ArgumentNullException.ThrowIfNull(net);
        if (net.InputWidth != 1 + typeVector.Length)
            throw new DpCompressException("EmbeddingInputMismatch", ErrorKind.InvalidArgument,
                $"The embedding net takes {net.InputWidth} inputs but 1 + {typeVector.Length} (s and the type vector) were given.");
        _layers = net.Layers.ToArray();
        _typeVector = typeVector.ToArray();
        Net = net;
        Width = net.OutputWidth;
        _maxWidth = _layers.Max(l => Math.Max(l.Inputs, l.Outputs));
        var l0 = _layers[0];
        _firstBias = new double[l0.Outputs];
        for (int o = 0; o < l0.Outputs; o++)
        {
            double b = l0.Bias?[o] ?? 0.0;
            for (int i = 0; i < typeVector.Length; i++) b += typeVector[i] * l0.Weight[(i + 1) * l0.Outputs + o];
            _firstBias[o] = b;
        }
        int n = _maxWidth * BlockSize;
        _v0 = new double[n]; _d0 = new double[n]; _s0 = new double[n];
        _v1 = new double[n]; _d1 = new double[n]; _s1 = new double[n];
        _zv = new double[BlockSize]; _zd = new double[BlockSize]; _zs = new double[BlockSize];
    }

    public EmbeddingNet Net { get; }

    /// <summary>m, the number of outputs.</summary>
    public int Width { get; }

    /// <summary>
    /// Evaluates the net at every s.
    /// </summary>
    /// <param name="s">[n] inputs.</param>
    /// <param name="y">[n, m] outputs (row-major), or empty to skip.</param>
    /// <param name="dy">[n, m] first derivatives dy/ds, or empty to skip (then <paramref name="d2y"/> must be empty too).</param>
    /// <param name="d2y">[n, m] second derivatives, or empty to skip (cheaper).</param>
    public void Evaluate(ReadOnlySpan<double> s, Span<double> y, Span<double> dy, Span<double> d2y)
    {
        int n = s.Length, m = Width;
        bool wantD1 = !dy.IsEmpty, wantD2 = !d2y.IsEmpty;
        if (wantD2 && !wantD1) throw new ArgumentException("Second derivatives need the first-derivative buffer.", nameof(dy));
        if (!y.IsEmpty && y.Length < n * m) throw new ArgumentException($"y needs {n * m} values.", nameof(y));
        if (wantD1 && dy.Length < n * m) throw new ArgumentException($"dy needs {n * m} values.", nameof(dy));
        if (wantD2 && d2y.Length < n * m) throw new ArgumentException($"d2y needs {n * m} values.", nameof(d2y));
        for (int start = 0; start < n; start += BlockSize)
        {
            int count = Math.Min(BlockSize, n - start);
            RunBlock(s.Slice(start, count), wantD1, wantD2);
            // _v0/_d0/_s0 now hold the outputs [m, BlockSize]; transpose into [count, m].
            for (int o = 0; o < m; o++)
            {
                int src = o * BlockSize;
                if (!y.IsEmpty) for (int k = 0; k < count; k++) y[(start + k) * m + o] = _v0[src + k];
                if (wantD1) for (int k = 0; k < count; k++) dy[(start + k) * m + o] = _d0[src + k];
                if (wantD2) for (int k = 0; k < count; k++) d2y[(start + k) * m + o] = _s0[src + k];
            }
        }
    }

    /// <summary>Evaluates one s: <paramref name="y"/>, <paramref name="dy"/>, <paramref name="d2y"/> are [m] (each may be empty as in the batched overload).</summary>
    public void Evaluate(double s, Span<double> y, Span<double> dy, Span<double> d2y) =>
        Evaluate(MemoryMarshal.CreateReadOnlySpan(ref s, 1), y, dy, d2y);

    /// <summary>
    /// Array form (callable from PowerShell): y, y′ and y″ at every s, each [n, m] row-major.
    /// </summary>
    /// <param name="s">[n] inputs.</param>
    public NetDerivatives Evaluate(double[] s)
    {
        ArgumentNullException.ThrowIfNull(s);
        var r = new NetDerivatives(new double[s.Length * Width], new double[s.Length * Width], new double[s.Length * Width], Width);
        Evaluate(s.AsSpan(), r.Value, r.First, r.Second);
        return r;
    }

    /// <summary>Runs one block; the result is left in _v0/_d0/_s0 ([width, BlockSize]).</summary>
    private void RunBlock(ReadOnlySpan<double> s, bool wantD1, bool wantD2)
    {
        int count = s.Length;
        const int B = BlockSize;
        // Layer 0: z = s·W[0,:] + b', ż = W[0,:], z̈ = 0 (input ẋ = 1, ẍ = 0).
        var l0 = _layers[0];
        int out0 = l0.Outputs;
        Span<double> zv = _zv, zd = _zd, zs = _zs;
        for (int o = 0; o < out0; o++)
        {
            double w = l0.Weight[o], b = _firstBias[o];
            for (int k = 0; k < count; k++) zv[k] = s[k] * w + b;
            for (int k = count; k < B; k++) zv[k] = b;
            zd.Fill(w);
            zs.Clear();
            Activate(zv, zd, zs, o, wantD1, wantD2, _v1, _d1, _s1);
        }
        // Skip rules of layer 0 against the input (s, v): only possible for in = 1 → out 1 or 2.
        ApplySkip(l0, InputBlock(s, count), wantD1, wantD2);

        for (int li = 1; li < _layers.Length; li++)
        {
            var layer = _layers[li];
            int nin = layer.Inputs, nout = layer.Outputs;
            double[] w = layer.Weight;
            for (int o = 0; o < nout; o++)
            {
                double b = layer.Bias?[o] ?? 0.0;
                DotColumn(w, nin, nout, o, b, _v0, zv);
                if (wantD1) DotColumn(w, nin, nout, o, 0.0, _d0, zd);
                if (wantD2) DotColumn(w, nin, nout, o, 0.0, _s0, zs);
                Activate(zv, zd, zs, o, wantD1, wantD2, _v1, _d1, _s1);
            }
            ApplySkip(layer, null, wantD1, wantD2);
        }
    }

    /// <summary>The network input as blocks (only built when layer 0 has a skip connection, a rare shape).</summary>
    private InputRows? InputBlock(ReadOnlySpan<double> s, int count)
    {
        var l0 = _layers[0];
        if (l0.Skip == SkipKind.None) return null;
        int nin = l0.Inputs;
        var v = new double[nin * BlockSize];
        var d = new double[nin * BlockSize];
        for (int k = 0; k < count; k++) { v[k] = s[k]; d[k] = 1.0; }
        for (int i = 1; i < nin; i++) Array.Fill(v, _typeVector[i - 1], i * BlockSize, BlockSize);
        return new InputRows(v, d, new double[nin * BlockSize]);
    }

    /// <summary>h = tanh(z) and its derivatives into row <paramref name="o"/> of the h buffers.</summary>
    private static void Activate(Span<double> zv, Span<double> zd, Span<double> zs, int o, bool wantD1, bool wantD2,
        double[] hv, double[] hd, double[] hs)
    {
        const int B = BlockSize;
        var v = hv.AsSpan(o * B, B);
        Tanh(zv, v);
        if (!wantD1) return;
        var d = hd.AsSpan(o * B, B);
        if (!wantD2)
        {
            for (int k = 0; k < B; k++) { double t = v[k]; d[k] = (1 - t * t) * zd[k]; }
            return;
        }
        var sd = hs.AsSpan(o * B, B);
        for (int k = 0; k < B; k++)
        {
            double t = v[k], g = 1 - t * t, zk = zd[k];
            d[k] = g * zk;
            sd[k] = g * zs[k] - 2 * t * g * zk * zk;
        }
    }

    /// <summary>
    /// t = tanh(z) for a block. With 256-bit vectors: t = 1 − 2/(exp(2z) + 1) (exact limits ±1 for
    /// large |z|, absolute error a few 1e-16); lanes with |z| &lt; 1/16, where that form loses
    /// relative accuracy, are recomputed with <see cref="Math.Tanh"/>. Otherwise Math.Tanh throughout.
    /// </summary>
    private static void Tanh(ReadOnlySpan<double> z, Span<double> t)
    {
        int k = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var one = Vector256<double>.One;
            var two = Vector256.Create(2.0);
            var small = Vector256.Create(0.0625);
            for (; k + 4 <= z.Length; k += 4)
            {
                var zk = Vector256.Create(z.Slice(k, 4));
                var e = Vector256.Exp(zk * two);
                var r = one - two / (e + one);
                r.CopyTo(t.Slice(k, 4));
                if (Vector256.LessThanAny(Vector256.Abs(zk), small))
                    for (int j = k; j < k + 4; j++)
                        if (Math.Abs(z[j]) < 0.0625) t[j] = Math.Tanh(z[j]);
            }
        }
        for (; k < z.Length; k++) t[k] = Math.Tanh(z[k]);
    }

    /// <summary>
    /// Combines h (in the _*1 buffers) with the layer input x (in _*0, or <paramref name="input"/>
    /// for layer 0) by the skip rule; the result ends up in _*0. Rule None ignores resnet_dt (SPEC §2).
    /// </summary>
    private void ApplySkip(DenseLayer layer, InputRows? input, bool wantD1, bool wantD2)
    {
        int nin = layer.Inputs, nout = layer.Outputs;
        var skip = layer.Skip;
        if (skip != SkipKind.None)
        {
            double[]? idt = layer.ResnetDt;
            for (int o = 0; o < nout; o++)
            {
                double f = idt?[o] ?? 1.0;
                int src = skip == SkipKind.Doubled ? o % nin : o;
                Combine(f, Row(_v1, o), input is null ? Row(_v0, src) : Row(input.Value, src));
                if (wantD1) Combine(f, Row(_d1, o), input is null ? Row(_d0, src) : Row(input.First, src));
                if (wantD2) Combine(f, Row(_s1, o), input is null ? Row(_s0, src) : Row(input.Second, src));
            }
        }
        // Swap: h (+ skip) becomes the next input.
        (_v0, _v1) = (_v1, _v0);
        (_d0, _d1) = (_d1, _d0);
        (_s0, _s1) = (_s1, _s0);
    }

    /// <summary>Network input (s, v) with its derivatives (1, 0…) and 0, as blocks [in, BlockSize].</summary>
    private sealed record InputRows(double[] Value, double[] First, double[] Second);

    private static Span<double> Row(double[] a, int r) => a.AsSpan(r * BlockSize, BlockSize);

    /// <summary>h ← f·h + x.</summary>
    private static void Combine(double f, Span<double> h, Span<double> x)
    {
        for (int k = 0; k < h.Length; k++) h[k] = h[k] * f + x[k];
    }

    /// <summary>h ← f·h (+ x when <paramref name="add"/>).</summary>
    private static void Combine(double f, Span<double> h, Span<double> x, bool add)
    {
        if (add)
            for (int k = 0; k < h.Length; k++) h[k] = h[k] * f + x[k];
        else if (f != 1.0)
            for (int k = 0; k < h.Length; k++) h[k] *= f;
    }

    /// <summary>
    /// z[k] = b + Σ_i W[i, o]·x[i, k] for the BlockSize samples k (column o of x·W + b), with the
    /// block kept in registers (8 × 4 doubles) when 256-bit vectors are available.
    /// </summary>
    /// <param name="w">[nin, nout] weights.</param>
    /// <param name="nin">Input width.</param>
    /// <param name="nout">Output width.</param>
    /// <param name="o">Output column.</param>
    /// <param name="b">Bias of column o (0 for derivatives).</param>
    /// <param name="x">[nin, BlockSize] inputs.</param>
    /// <param name="z">[BlockSize] result.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void DotColumn(double[] w, int nin, int nout, int o, double b, double[] x, Span<double> z)
    {
        if (Vector256.IsHardwareAccelerated && BlockSize == 32)
        {
            ref double xr = ref MemoryMarshal.GetArrayDataReference(x);
            ref double wr = ref MemoryMarshal.GetArrayDataReference(w);
            if ((long)nin * nout > w.Length || (long)nin * BlockSize > x.Length) throw new ArgumentException("Buffer too small.");
            var a0 = Vector256.Create(b); var a1 = a0; var a2 = a0; var a3 = a0;
            var a4 = a0; var a5 = a0; var a6 = a0; var a7 = a0;
            for (int i = 0; i < nin; i++)
            {
                var wi = Vector256.Create(Unsafe.Add(ref wr, i * nout + o));
                ref double xi = ref Unsafe.Add(ref xr, i * BlockSize);
                a0 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 0), a0);
                a1 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 4), a1);
                a2 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 8), a2);
                a3 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 12), a3);
                a4 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 16), a4);
                a5 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 20), a5);
                a6 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 24), a6);
                a7 = Vector256.FusedMultiplyAdd(wi, Vector256.LoadUnsafe(ref xi, 28), a7);
            }
            if (z.Length < BlockSize) throw new ArgumentException("Buffer too small.", nameof(z));
            ref double zr = ref MemoryMarshal.GetReference(z);
            a0.StoreUnsafe(ref zr, 0); a1.StoreUnsafe(ref zr, 4); a2.StoreUnsafe(ref zr, 8); a3.StoreUnsafe(ref zr, 12);
            a4.StoreUnsafe(ref zr, 16); a5.StoreUnsafe(ref zr, 20); a6.StoreUnsafe(ref zr, 24); a7.StoreUnsafe(ref zr, 28);
            return;
        }
        z[..BlockSize].Fill(b);
        for (int i = 0; i < nin; i++)
        {
            double wi = w[i * nout + o];
            var xi = x.AsSpan(i * BlockSize, BlockSize);
            for (int k = 0; k < BlockSize; k++) z[k] += wi * xi[k];
        }
    }
}

/// <summary>Embedding-net outputs and derivatives at n points, each [n, m] row-major.</summary>
/// <param name="Value">[n, m] y.</param>
/// <param name="First">[n, m] dy/ds.</param>
/// <param name="Second">[n, m] d²y/ds².</param>
/// <param name="Width">m.</param>
public sealed record NetDerivatives(double[] Value, double[] First, double[] Second, int Width);
