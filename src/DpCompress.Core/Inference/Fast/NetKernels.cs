using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using DpCompress.Core.Model;

namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// Embedding net G(s) and its derivative G′(s) = dG/ds in one forward-mode pass (SPEC §2
/// "Networks"). The input is 1-D, so carrying (value, d/ds) through the layers costs one extra
/// matrix product per layer: rows 0..n−1 of the work matrix hold x, rows n..2n−1 hold dx/ds;
/// z = x·W + b, dz = dx·W; h = tanh z, dh = (1 − h²)·dz; skip rules as in the value path.
/// </summary>
internal sealed class EmbeddingKernel
{
    private readonly DenseLayer[] _layers;
    private readonly double[][] _idt;
    private readonly double[] _dz0;

    public EmbeddingKernel(EmbeddingNet net)
    {
        if (net.InputWidth != 1)
            throw new DpCompressException("FastEngineTypeEmbeddingNotSupported", ErrorKind.NotImplemented,
                "The fast engine evaluates plain DP embedding nets (1-D input); compress type-embedding models first.");
        _layers = net.Layers.ToArray();
        _idt = _layers.Select(l => DenseKernels.TileRow(l.Skip == SkipKind.None ? null : l.ResnetDt, l.Outputs)).ToArray();
        // dz/ds of the first layer, the same for every row: the one-term chain fma(1, W[0, q], 0).
        _dz0 = DenseKernels.TileRow(_layers[0].Weight.Select(w => Math.FusedMultiplyAdd(1.0, w, 0.0)).ToArray(), _layers[0].Outputs);
        Width = net.OutputWidth;
        MaxWidth = _layers.Max(l => l.Outputs);
    }

    /// <summary>m.</summary>
    public int Width { get; }

    /// <summary>Widest layer (sizes the scratch buffers: 2·n·MaxWidth each).</summary>
    public int MaxWidth { get; }

    /// <summary>Evaluates G and G′ for n inputs.</summary>
    /// <param name="s">[n] normalised s values.</param>
    /// <param name="g">[n, m] G(s).</param>
    /// <param name="gp">[n, m] dG/ds.</param>
    /// <param name="bufA">Scratch, at least 2·n·MaxWidth.</param>
    /// <param name="bufB">Scratch, at least 2·n·MaxWidth.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(ReadOnlySpan<double> s, Span<double> g, Span<double> gp, Span<double> bufA, Span<double> bufB)
    {
        int n = s.Length;
        if (n == 0) return;
        Span<double> cur = bufA, next = bufB;
        for (int r = 0; r < n; r++) { cur[r] = s[r]; cur[n + r] = 1.0; }
        int width = 1;
        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            int o = layer.Outputs;
            bool last = l == _layers.Length - 1;
            // The last layer writes straight into G and G′.
            var hv = last ? g.Slice(0, n * o) : next.Slice(0, n * o);
            var hd = last ? gp.Slice(0, n * o) : next.Slice(n * o, n * o);
            var x = cur.Slice(0, n * width);
            var dx = cur.Slice(n * width, n * width);
            if (layer.Bias is { } bias) DenseKernels.MatMulBias(x, n, width, layer.Weight, o, bias, hv);
            else DenseKernels.MatMul(x, n, width, layer.Weight, o, hv);
            // The first layer's dz/ds (dx = 1) is one row for all: TanhFinish reads it from _dz0.
            bool rowDz = l == 0 && layer.Skip != SkipKind.Doubled;
            if (!rowDz) DenseKernels.MatMul(dx, n, width, layer.Weight, o, hd);
            var dz0 = rowDz ? _dz0 : default;
            switch (layer.Skip)
            {
                case SkipKind.None: DenseKernels.TanhFinish(hv, hd, default, default, o, default, dz0); break;
                case SkipKind.Identity: DenseKernels.TanhFinish(hv, hd, x, dx, o, _idt[l], dz0); break;
                default:
                    DenseKernels.Tanh(hv, hv);
                    Finish(hv, hd, x, dx, n, o, width, layer.Skip, layer.ResnetDt);
                    break;
            }
            if (!last)
            {
                var t = cur; cur = next; next = t;
            }
            width = o;
        }
    }

    /// <summary>
    /// h = tanh z (given in <paramref name="hv"/>), dh = (1 − h²)·dz; then ·idt and the skip
    /// (x + h for out == in, concat(x, x) + h for out == 2·in), for values and derivatives.
    /// </summary>
    /// <param name="hv">[n, o] tanh z, receives the layer output.</param>
    /// <param name="hd">[n, o] dz/ds, receives d(output)/ds.</param>
    /// <param name="x">[n, width] layer input.</param>
    /// <param name="dx">[n, width] d(input)/ds.</param>
    /// <param name="n">Rows.</param>
    /// <param name="o">Layer outputs.</param>
    /// <param name="width">Layer inputs.</param>
    /// <param name="skip">Skip rule of the layer.</param>
    /// <param name="idt">resnet_dt scale, or null.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Finish(Span<double> hv, Span<double> hd, ReadOnlySpan<double> x, ReadOnlySpan<double> dx, int n, int o, int width, SkipKind skip, double[]? idt)
    {
        bool useIdt = skip != SkipKind.None && idt is not null;
        var one = Vector256<double>.One;
        for (int r = 0; r < n; r++)
        {
            var h = hv.Slice(r * o, o);
            var dz = hd.Slice(r * o, o);
            var xr = skip == SkipKind.None ? default : x.Slice(r * width, width);
            var dxr = skip == SkipKind.None ? default : dx.Slice(r * width, width);
            int q = 0;
            if (skip != SkipKind.Doubled)
            {
                for (; q + 4 <= o; q += 4)
                {
                    var hq = Vector256.Create<double>(h.Slice(q, 4));
                    var dh = (one - hq * hq) * Vector256.Create<double>(dz.Slice(q, 4));
                    if (useIdt)
                    {
                        var iv = Vector256.Create<double>(idt.AsSpan(q, 4));
                        hq *= iv; dh *= iv;
                    }
                    if (skip == SkipKind.Identity)
                    {
                        hq += Vector256.Create<double>(xr.Slice(q, 4));
                        dh += Vector256.Create<double>(dxr.Slice(q, 4));
                    }
                    hq.CopyTo(h.Slice(q, 4));
                    dh.CopyTo(dz.Slice(q, 4));
                }
            }
            for (; q < o; q++)
            {
                double hq = h[q];
                double dh = (1.0 - hq * hq) * dz[q];
                if (useIdt) { hq *= idt![q]; dh *= idt[q]; }
                switch (skip)
                {
                    case SkipKind.Identity: hq += xr[q]; dh += dxr[q]; break;
                    case SkipKind.Doubled: hq += xr[q % width]; dh += dxr[q % width]; break;
                }
                h[q] = hq;
                dz[q] = dh;
            }
        }
    }
}

/// <summary>
/// Fitting net E_i = F(D_i) batched over atoms of one type (SPEC §2): hidden layers
/// h = tanh(x·W + b) with skip rules, last layer linear. The forward pass keeps h of every
/// hidden layer; the backward pass gives dE_i/dD_i from them (dE/dx = dz·Wᵀ, dz = dh·(1 − h²)).
/// </summary>
internal sealed class FittingKernel
{
    private readonly DenseLayer[] _layers;
    private readonly double[][] _transposed;
    private readonly double[][] _idt;

    public FittingKernel(FittingNet net)
    {
        _layers = net.Layers.ToArray();
        _transposed = _layers.Select(l => DenseKernels.Transpose(l.Weight, l.Inputs, l.Outputs)).ToArray();
        _idt = _layers.Select(l => DenseKernels.TileRow(l.Skip == SkipKind.None ? null : l.ResnetDt, l.Outputs)).ToArray();
        InputWidth = net.InputWidth;
        MaxWidth = Math.Max(InputWidth, _layers.Max(l => l.Outputs));
        HiddenWidths = _layers.Take(_layers.Length - 1).Select(l => l.Outputs).ToArray();
    }

    public int InputWidth { get; }

    public int MaxWidth { get; }

    /// <summary>Widths of the hidden (tanh) layers.</summary>
    public int[] HiddenWidths { get; }

    /// <summary>Forward pass for n atoms.</summary>
    /// <param name="d">[n, m·M2] descriptors.</param>
    /// <param name="n">Atoms in the batch.</param>
    /// <param name="hidden">Per hidden layer l: [N, width_l] receives tanh outputs h_l (pre-skip, pre-idt) in rows row0..row0+n−1.</param>
    /// <param name="row0">First row of <paramref name="hidden"/> for this batch.</param>
    /// <param name="energy">[n] E_i.</param>
    /// <param name="bufA">Scratch ≥ n·MaxWidth.</param>
    /// <param name="bufB">Scratch ≥ n·MaxWidth.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(ReadOnlySpan<double> d, int n, double[][] hidden, int row0, Span<double> energy, Span<double> bufA, Span<double> bufB)
    {
        ReadOnlySpan<double> cur = d;
        int width = InputWidth;
        Span<double> a = bufA, b = bufB;
        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            int o = layer.Outputs;
            var bias = layer.Bias;
            if (l == _layers.Length - 1)
            {
                DenseKernels.MatMul(cur, n, width, layer.Weight, o, b);
                for (int r = 0; r < n; r++) energy[r] = bias is null ? b[r] : b[r] + bias[0];
                return;
            }
            if (bias is not null) DenseKernels.MatMulBias(cur, n, width, layer.Weight, o, bias, b);
            else DenseKernels.MatMul(cur, n, width, layer.Weight, o, b);
            var skip = layer.Skip;
            var h = hidden[l].AsSpan(row0 * o, n * o);
            var z = b.Slice(0, n * o);
            if (skip == SkipKind.None)
            {
                // The next input is h itself; b stays free.
                DenseKernels.TanhSkip(z, h, default, o, default);
                cur = h;
            }
            else
            {
                if (skip == SkipKind.Identity) DenseKernels.TanhSkip(z, h, cur.Slice(0, n * o), o, _idt[l]);
                else
                {
                    var idt = layer.ResnetDt;
                    DenseKernels.Tanh(z, h);
                    for (int r = 0; r < n; r++)
                    {
                        var zr = b.Slice(r * o, o);
                        var hr = h.Slice(r * o, o);
                        var x = cur.Slice(r * width, width);
                        for (int q = 0; q < o; q++)
                        {
                            double t = hr[q];
                            if (idt is not null) t *= idt[q];
                            t += x[q % width];
                            zr[q] = t;
                        }
                    }
                }
                cur = b;
                var tmp = a; a = b; b = tmp;
            }
            width = o;
        }
    }

    /// <summary>Backward pass: dE_i/dD_i for n atoms (dE/dE_i = 1).</summary>
    /// <param name="hidden">Per hidden layer: [N, width_l] from <see cref="Forward"/>.</param>
    /// <param name="row0">First row of <paramref name="hidden"/> for this batch.</param>
    /// <param name="n">Atoms in the batch.</param>
    /// <param name="dd">[n, m·M2] receives dE_i/dD_i.</param>
    /// <param name="bufA">Scratch ≥ n·MaxWidth.</param>
    /// <param name="bufB">Scratch ≥ n·MaxWidth.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Backward(double[][] hidden, int row0, int n, Span<double> dd, Span<double> bufA, Span<double> bufB)
    {
        var last = _layers[^1];
        int width = last.Inputs;
        Span<double> gx = _layers.Length == 1 ? dd : bufA, other = bufB;
        // Gradient with respect to the input of the last (linear, one output) layer: its weight column.
        for (int r = 0; r < n; r++)
            for (int q = 0; q < width; q++) gx[r * width + q] = last.Weight[q];
        for (int l = _layers.Length - 2; l >= 0; l--)
        {
            var layer = _layers[l];
            int o = layer.Outputs, inW = layer.Inputs;
            var skip = layer.Skip;
            var h = hidden[l].AsSpan(row0 * o, n * o);
            // gz = gx·(idt)·(1 − h²) written into gx in place; the skip part (gx before that) goes
            // to target first and gz·Wᵀ is added to it.
            Span<double> target = l == 0 ? dd : other;
            var g = gx.Slice(0, n * o);
            if (skip == SkipKind.Identity) DenseKernels.TanhBackward(g, h, target.Slice(0, n * inW), o, _idt[l]);
            else
            {
                if (skip == SkipKind.Doubled)
                    for (int r = 0; r < n; r++)
                    {
                        var gr = gx.Slice(r * o, o);
                        var t = target.Slice(r * inW, inW);
                        for (int q = 0; q < inW; q++) t[q] = gr[q] + gr[q + inW];
                    }
                DenseKernels.TanhBackward(g, h, default, o, _idt[l]);
            }
            DenseKernels.MatMul(gx, n, o, _transposed[l], inW, target, accumulate: skip != SkipKind.None);
            if (l > 0)
            {
                var t = gx; gx = other; other = t;
            }
            width = inW;
        }
    }
}
