using System.Globalization;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// Turns a DeePMD-kit v3 model tree (fixtures/deepmd README §4.2–4.4) into a typed <see cref="DpModel"/>
/// with <see cref="ModelFlavour.DeepMdSeE2A"/> and DeePMD-kit's <see cref="DescriptorConventions"/>; the
/// only place (with the writer) that knows DeePMD-kit's key names.
/// </summary>
/// <remarks>
/// <para>Accepted: model type "standard" with an se_e2_a descriptor ("se_e2_a" or its alias "se_a") and an
/// "ener" fitting, no fparam/aparam, no spin, no model-level atom/pair exclusion (the descriptor's exclude_types
/// is kept in the conventions), tanh hidden layers, env_protection 0,
/// no exponential switch. Everything else is refused with an id that names what was found.</para>
/// <para>Mapping onto the PWMLFF-shaped model: Rmin = rcut_smth, Rmax = rcut, K = max(sel), M2 = axis_neuron;
/// embedding net k = t_i·T + t_j takes DeePMD-kit's networks[t_j·T + t_i] (type_one_side: networks[t_j]);
/// davg/dstd (T, Σsel, 4) must hold one 4-vector per centre type (EnvMatStatSe does) and become [T, 4];
/// layers keep their idt (use_timestep) and skip only when DeePMD-kit's would (resnet and out = in or 2·in);
/// the per-type energy bias bias_atom_e[t] + out_bias[0, t, 0] goes into the conventions.</para>
/// <para>Errors (<see cref="DpCompressException"/>, InvalidData unless said): DeepMdMissingKey,
/// DeepMdInvalidValue, DeepMdShapeMismatch, DeepMdUnknownElement, DeepMdStatisticsNotUniform,
/// DeepMdModelNotSupported / DeepMdDescriptorNotSupported / DeepMdFittingNotSupported /
/// DeepMdActivationNotSupported / DeepMdLayerNotSupported (NotImplemented), DeepMdTooLarge (LimitsExceeded).</para>
/// </remarks>
public static class DeepMdModelReader
{
    /// <summary>Bounds on untrusted sizes: types, neighbours per type, layer widths, layers.</summary>
    private const int MaxTypes = 118, MaxSel = 100_000, MaxWidth = 100_000, MaxLayers = 64;

    /// <summary>Reads a .dp or .yaml DeePMD-kit model file.</summary>
    public static DpModel Read(string path)
    {
        var root = DeepMdDocument.Read(path);
        return FromTree(root, Path.GetFullPath(path));
    }

    /// <summary>Builds the model from a tree as <see cref="DeepMdDocument.Read"/> returns it (kept as <see cref="DpModel.Checkpoint"/>).</summary>
    public static DpModel FromTree(PyDict root, string? path = null)
    {
        var c = new Ctx(path);
        var model = c.Dict(root, "model");
        string modelType = c.Str(model, "type", "model");
        if (modelType != "standard")
            throw c.NotSupported("DeepMdModelNotSupported", $"model type '{modelType}'", "standard energy models (model.type \"standard\")");
        if (model.TryGetValue("spin", out var spin) && spin is not null)
            throw c.NotSupported("DeepMdModelNotSupported", "a spin model", "models without spin");
        foreach (string key in new[] { "atom_exclude_types", "pair_exclude_types" })
            if (model.TryGetValue(key, out var ex) && ex is List<object?> { Count: > 0 })
                throw c.NotSupported("DeepMdModelNotSupported", $"model.{key} {Show(ex)}", "models without excluded types");

        var typeMap = c.StrList(model, "type_map", "model");
        int nt = typeMap.Length;
        if (nt == 0 || nt > MaxTypes) throw c.Invalid("model.type_map", $"1 to {MaxTypes} element symbols", Show(typeMap));
        var z = new int[nt];
        for (int t = 0; t < nt; t++)
        {
            z[t] = Elements.AtomicNumber(typeMap[t]);
            if (z[t] < 1)
                throw new DpCompressException("DeepMdUnknownElement", ErrorKind.InvalidData,
                    $"The model{c.Where} has type '{typeMap[t]}' in type_map, which is not an element symbol.", path);
        }
        if (z.Distinct().Count() != nt) throw c.Invalid("model.type_map", "distinct elements", Show(typeMap));

        var d = c.Dict(model, "descriptor", "model");
        string dType = c.Str(d, "type", "model.descriptor");
        if (dType is not ("se_e2_a" or "se_a"))
            throw c.NotSupported("DeepMdDescriptorNotSupported", $"descriptor type '{dType}'", "the se_e2_a descriptor");
        if (d.TryGetValue("spin", out var dspin) && dspin is not null)
            throw c.NotSupported("DeepMdModelNotSupported", "a spin descriptor", "models without spin");
        double rcut = c.Num(d, "rcut", "model.descriptor");
        double rcutSmth = c.Num(d, "rcut_smth", "model.descriptor");
        if (!(rcut > 0) || !double.IsFinite(rcut) || !(rcutSmth >= 0) || !(rcutSmth < rcut))
            throw c.Invalid("model.descriptor.rcut/rcut_smth", "0 <= rcut_smth < rcut", $"rcut_smth {rcutSmth}, rcut {rcut}");
        int[] sel = c.IntList(d, "sel", "model.descriptor");
        if (sel.Length != nt || sel.Any(s => s < 1 || s > MaxSel))
            throw c.Invalid("model.descriptor.sel", $"{nt} counts between 1 and {MaxSel}", Show(sel));
        int m2 = c.Int(d, "axis_neuron", "model.descriptor");
        bool oneSide = c.Bool(d, "type_one_side", "model.descriptor", false);
        var excluded = new List<(int, int)>();
        if (d.TryGetValue("exclude_types", out var dex) && dex is not null)
        {
            if (dex is not List<object?> pairs) throw c.Invalid("model.descriptor.exclude_types", "a list of type pairs", DeepMdDocument.Describe(dex));
            foreach (var pair in pairs)
            {
                if (pair is not List<object?> { Count: 2 } ab || ab[0] is not long a || ab[1] is not long b || a < 0 || b < 0 || a >= nt || b >= nt)
                    throw c.Invalid("model.descriptor.exclude_types", $"pairs of type indices 0..{nt - 1}", Show(dex));
                excluded.Add(((int)a, (int)b));
            }
        }
        double protection = d.TryGetValue("env_protection", out var ep) && ep is not null ? c.AsNum(ep, "model.descriptor.env_protection") : 0.0;
        if (protection != 0)
            throw c.NotSupported("DeepMdDescriptorNotSupported", $"env_protection {protection}", "env_protection 0");
        if (d.TryGetValue("env_mat", out var em) && em is PyDict emd && emd.TryGetValue("use_exp_switch", out var ues) && ues is true)
            throw c.NotSupported("DeepMdDescriptorNotSupported", "the exponential switch (env_mat.use_exp_switch)", "the polynomial switch");
        var precision = c.Precision(d, "model.descriptor");

        // Statistics (T, Σsel, 4): one 4-vector per centre type.
        int nnei = sel.Sum();
        var dvars = c.Dict(d, "@variables", "model.descriptor");
        var davg = c.Array(dvars, "davg", "model.descriptor.@variables", nt, nnei, 4);
        var dstd = c.Array(dvars, "dstd", "model.descriptor.@variables", nt, nnei, 4);
        var avg = new double[nt * 4];
        var std = new double[nt * 4];
        for (int t = 0; t < nt; t++)
            for (int q = 0; q < 4; q++)
            {
                avg[t * 4 + q] = davg[(t * nnei) * 4 + q];
                std[t * 4 + q] = dstd[(t * nnei) * 4 + q];
                for (int s = 1; s < nnei; s++)
                    if (davg[(t * nnei + s) * 4 + q] != avg[t * 4 + q] || dstd[(t * nnei + s) * 4 + q] != std[t * 4 + q])
                        throw new DpCompressException("DeepMdStatisticsNotUniform", ErrorKind.InvalidData,
                            $"The model{c.Where} has davg/dstd that differ between neighbour slots (centre type {t}, slot {s}); DpCompress needs one 4-vector per centre type, as DeePMD-kit's statistics give.", path);
                if (!(std[t * 4 + q] != 0) || !double.IsFinite(std[t * 4 + q]) || !double.IsFinite(avg[t * 4 + q]))
                    throw c.Invalid("model.descriptor.@variables.dstd", "finite non-zero values", std[t * 4 + q]);
            }

        // Embedding nets, permuted into PWMLFF order k = t_i·T + t_j.
        var emb = c.Dict(d, "embeddings", "model.descriptor");
        var networks = c.List(emb, "networks", "model.descriptor.embeddings");
        int expectedNets = oneSide ? nt : nt * nt;
        if (networks.Count != expectedNets)
            throw c.Shape($"model.descriptor.embeddings.networks holds {networks.Count} nets, expected {expectedNets} (type_one_side {oneSide.ToString().ToLowerInvariant()})");
        var deepNets = new EmbeddingNet[networks.Count];
        for (int k = 0; k < networks.Count; k++)
        {
            string where = $"model.descriptor.embeddings.networks[{k}]";
            var layers = ReadLayers(c, c.AsDict(networks[k], where), where, 1);
            deepNets[k] = new EmbeddingNet(layers);
        }
        if (deepNets.Any(n => n.OutputWidth != deepNets[0].OutputWidth || n.Layers.Count != deepNets[0].Layers.Count))
            throw c.Shape("the embedding nets differ in their layer sizes");
        int m = deepNets[0].OutputWidth;
        if (m2 < 1 || m2 > m) throw c.Invalid("model.descriptor.axis_neuron", $"1..{m} (the embedding width)", m2);
        var embedding = new EmbeddingNet[nt * nt];
        for (int ti = 0; ti < nt; ti++)
            for (int tj = 0; tj < nt; tj++)
                embedding[ti * nt + tj] = oneSide ? deepNets[tj] : deepNets[tj * nt + ti];

        // Fitting nets, one per centre type.
        var f = c.Dict(model, "fitting", "model");
        string fType = c.Str(f, "type", "model.fitting");
        if (fType != "ener")
            throw c.NotSupported("DeepMdFittingNotSupported", $"fitting type '{fType}'", "energy fitting (\"ener\")");
        foreach (string key in new[] { "numb_fparam", "numb_aparam", "dim_case_embd" })
            if (f.TryGetValue(key, out var nv) && nv is not null && c.AsNum(nv, $"model.fitting.{key}") != 0)
                throw c.NotSupported("DeepMdModelNotSupported", $"model.fitting.{key} = {Show(nv)}", "models without frame/atomic parameters");
        if (f.TryGetValue("mixed_types", out var mt) && mt is true)
            throw c.NotSupported("DeepMdFittingNotSupported", "a mixed-types fitting net", "one fitting net per type");
        if (f.TryGetValue("atom_ener", out var ae) && ae is List<object?> { Count: > 0 } && ((List<object?>)ae).Any(x => x is not null))
            throw c.NotSupported("DeepMdFittingNotSupported", $"atom_ener {Show(ae)}", "fittings without preset atomic energies");
        if (f.TryGetValue("exclude_types", out var fex) && fex is List<object?> { Count: > 0 })
            throw c.NotSupported("DeepMdFittingNotSupported", $"fitting exclude_types {Show(fex)}", "fittings without excluded types");
        if (f.TryGetValue("dim_out", out var dout) && dout is not null && c.AsNum(dout, "model.fitting.dim_out") != 1)
            throw c.NotSupported("DeepMdFittingNotSupported", $"dim_out {Show(dout)}", "one energy per atom");
        var fnets = c.List(c.Dict(f, "nets", "model.fitting"), "networks", "model.fitting.nets");
        if (fnets.Count != nt) throw c.Shape($"model.fitting.nets.networks holds {fnets.Count} nets, expected {nt}");
        var fitting = new FittingNet[nt];
        for (int t = 0; t < nt; t++)
        {
            string where = $"model.fitting.nets.networks[{t}]";
            var layers = ReadLayers(c, c.AsDict(fnets[t], where), where, m * m2, fitting: true);
            if (layers[^1].Outputs != 1) throw c.Shape($"{where} ends with {layers[^1].Outputs} outputs, expected 1");
            fitting[t] = new FittingNet(layers);
        }
        var fvars = c.Dict(f, "@variables", "model.fitting");
        var biasAtom = c.Array(fvars, "bias_atom_e", "model.fitting.@variables", nt, 1);
        var mvars = c.Dict(model, "@variables", "model");
        var outBias = mvars.TryGetValue("out_bias", out var ob) && ob is not null ? c.Array(mvars, "out_bias", "model.@variables", 1, nt, 1) : new double[nt];
        var bias = new double[nt];
        for (int t = 0; t < nt; t++) bias[t] = biasAtom[t] + outBias[t];

        CompressionTable? table = d.TryGetValue("compress", out var cb) && cb is not null
            ? ReadCompressBlock(c, c.AsDict(cb, "model.descriptor.compress"), nt, m, oneSide)
            : null;

        return new DpModel(z, rcutSmth, rcut, sel.Max(), m2, precision, embedding, fitting, avg, std, bias, null, root, table, path)
        {
            Flavour = ModelFlavour.DeepMdSeE2A,
            Conventions = DescriptorConventions.DeepMd(sel, bias, excluded),
        };
    }

    /// <summary>The same model with another tree and table (the compressed model of <see cref="DeepMdCompression"/>).</summary>
    internal static DpModel WithTree(DpModel m, PyDict tree, CompressionTable? table) =>
        new(m.AtomTypes, m.Rmin, m.Rmax, m.MaxNeighbors, m.M2, m.Precision, m.EmbeddingNets, m.FittingNets, m.Davg, m.Dstd,
            m.EnergyShift, m.SijMax, tree, table, m.SourcePath)
        { Flavour = m.Flavour, Conventions = m.Conventions };

    /// <summary>Largest table DeePMD-kit's compress block may declare (rows per net).</summary>
    private const int MaxTableRows = 10_000_000;

    /// <summary>
    /// DeePMD-kit's compress block → an order-5 <see cref="CompressionTable"/>: compress_info[k'] =
    /// [lower, upper, table_max, stride0, stride1, check_frequency] (the same for every net here),
    /// compress_data[k'] (nspline, 6·m) ascending coefficients per channel, reversed into our descending
    /// layout, net k = t_i·T + t_j from k' = t_j·T + t_i (type_one_side: k' = t_j).
    /// </summary>
    private static CompressionTable ReadCompressBlock(Ctx c, PyDict block, int nt, int m, bool oneSide)
    {
        const string where = "model.descriptor.compress.@variables";
        var vars = c.Dict(block, "@variables", "model.descriptor.compress");
        var data = c.List(vars, "compress_data", where);
        var infos = c.List(vars, "compress_info", where);
        int nets = oneSide ? nt : nt * nt;
        if (data.Count != nets || infos.Count != nets)
            throw c.Shape($"{where} holds {data.Count} tables and {infos.Count} infos, expected {nets}");
        double[]? info = null;
        for (int k = 0; k < nets; k++)
        {
            var holder = new PyDict { ["i"] = infos[k] };
            var v = c.Array(holder, "i", $"{where}.compress_info[{k}]", 6);
            if (info is null) info = v;
            else if (!v.SequenceEqual(info))
                throw c.NotSupported("DeepMdTableRangesDiffer", "compress_info that differs between nets", "one table range for all nets");
        }
        double lower = info![0], upper = info[1], tableMax = info[2], s0 = info[3], s1 = info[4];
        if (!(s0 > 0) || !(upper > lower) || !(tableMax > upper) || !double.IsFinite(tableMax))
            throw c.Invalid($"{where}.compress_info", "lower < upper < table_max and a positive stride", $"[{string.Join(", ", info)}]");
        if (Math.Abs(s1 - 10 * s0) > 1e-12 * s1)
            throw c.NotSupported("DeepMdTableNotSupported", $"strides {s0} and {s1}", "a second stride of 10 times the first");
        double n1d = (upper - lower) / s0, totald = n1d + (tableMax - upper) / s1;
        if (totald > MaxTableRows)
            throw new DpCompressException("DeepMdTooLarge", ErrorKind.LimitsExceeded, $"The compress block of '{c.Path}' declares {totald:G6} rows per net, more than {MaxTableRows}.", c.Path);
        int n1 = (int)n1d, rows = (int)totald;
        if (n1 < 1 || rows - n1 < 1) throw c.Invalid($"{where}.compress_info", "at least one row per stride", $"[{string.Join(", ", info)}]");
        var coefficients = new double[(long)nt * nt * rows * m * 6];
        for (int k = 0; k < nets; k++)
        {
            var holder = new PyDict { ["d"] = data[k] };
            var v = c.Array(holder, "d", $"{where}.compress_data[{k}]", rows, 6L * m);
            int tj = oneSide ? k : k / nt;
            for (int ti = 0; ti < nt; ti++)
            {
                if (!oneSide && ti != k % nt) continue;
                int net = ti * nt + tj;
                long baseOff = (long)net * rows * m * 6;
                for (int r = 0; r < rows; r++)
                    for (int j = 0; j < m; j++)
                        for (int p = 0; p < 6; p++)
                            coefficients[baseOff + ((long)r * m + j) * 6 + 5 - p] = v[((long)r * m + j) * 6 + p];
            }
        }
        var grid = new SijGrid(lower, upper, s0, n1, rows - n1 + 1, double.NaN, SijMaxSource.CompressedCheckpoint);
        return new CompressionTable(grid, 5, nt * nt, m, coefficients);
    }

    /// <summary>Layers of an EmbeddingNetwork / FittingNetwork dict.</summary>
    private static List<DenseLayer> ReadLayers(Ctx c, PyDict net, string where, int inputs, bool fitting = false)
    {
        var layers = c.List(net, "layers", where);
        if (layers.Count == 0 || layers.Count > MaxLayers) throw c.Invalid($"{where}.layers", $"1 to {MaxLayers} layers", layers.Count);
        var result = new List<DenseLayer>();
        int width = inputs;
        for (int l = 0; l < layers.Count; l++)
        {
            string lw = $"{where}.layers[{l}]";
            var layer = c.AsDict(layers[l], lw);
            var vars = c.Dict(layer, "@variables", lw);
            var w = c.ArrayAnyShape(vars, "w", lw + ".@variables", out var shape);
            if (shape.Length != 2 || shape[0] != width || shape[1] < 1 || shape[1] > MaxWidth)
                throw c.Shape($"{lw}.w has shape [{string.Join(", ", shape)}], expected [{width}, n]");
            int outputs = (int)shape[1];
            double[]? b = vars.TryGetValue("b", out var bv) && bv is not null ? c.Array(vars, "b", lw + ".@variables", outputs) : null;
            double[]? idt = vars.TryGetValue("idt", out var iv) && iv is not null ? c.Array(vars, "idt", lw + ".@variables", outputs) : null;
            bool resnet = c.Bool(layer, "resnet", lw, false);
            string act = layer.TryGetValue("activation_function", out var a) && a is string s ? s : "tanh";
            bool last = fitting && l == layers.Count - 1;
            if (last)
            {
                if (act is not ("none" or "linear"))
                    throw c.NotSupported("DeepMdActivationNotSupported", $"activation '{act}' on the output layer of {where}", "a linear output layer");
                if (idt is not null) throw c.NotSupported("DeepMdLayerNotSupported", $"a timestep (idt) on the output layer of {where}", "a plain linear output layer");
            }
            else if (!string.Equals(act, "tanh", StringComparison.OrdinalIgnoreCase))
                throw c.NotSupported("DeepMdActivationNotSupported", $"activation '{act}' in {lw}", "tanh hidden layers");
            bool shapeSkips = outputs == width || outputs == 2 * width;
            bool skips = resnet && shapeSkips && !last;
            if (!last && idt is not null && !skips)
                throw c.NotSupported("DeepMdLayerNotSupported", $"a timestep (idt) on {lw}, which has no skip connection", "idt only on residual layers");
            if (fitting && l == 0 && skips)
                throw c.NotSupported("DeepMdLayerNotSupported", $"a residual first fitting layer ({width} → {outputs}) in {where}", "a first fitting layer without skip");
            result.Add(new DenseLayer(width, outputs, w, b, idt, allowSkip: skips));
            width = outputs;
        }
        return result;
    }

    private static string Show(object? o) => o switch
    {
        null => "null",
        string s => $"'{s}'",
        IEnumerable<string> l => "[" + string.Join(", ", l) + "]",
        IEnumerable<int> l => "[" + string.Join(", ", l) + "]",
        List<object?> l => "[" + string.Join(", ", l.Select(Show)) + "]",
        IFormattable fm => fm.ToString(null, CultureInfo.InvariantCulture),
        _ => o.ToString() ?? "",
    };

    /// <summary>Typed access to the tree with precise errors.</summary>
    private sealed class Ctx(string? path)
    {
        public string? Path { get; } = path;

        public string Where => Path is null ? "" : $" '{Path}'";

        public DpCompressException Missing(string key) =>
            new("DeepMdMissingKey", ErrorKind.InvalidData, $"The DeePMD-kit model{Where} has no key {key}.", Path);

        public DpCompressException Invalid(string key, string expected, object? actual) =>
            new("DeepMdInvalidValue", ErrorKind.InvalidData, $"The DeePMD-kit model{Where} has an invalid {key}: expected {expected}, found {Show(actual)}.", Path);

        public DpCompressException Shape(string detail) =>
            new("DeepMdShapeMismatch", ErrorKind.InvalidData, $"The DeePMD-kit model{Where} is inconsistent: {detail}.", Path);

        public DpCompressException NotSupported(string id, string found, string supported) =>
            new(id, ErrorKind.NotImplemented, $"The DeePMD-kit model{Where} has {found}; DpCompress supports {supported}.", Path);

        public object Required(PyDict d, string key, string parent) =>
            d.TryGetValue(key, out var v) && v is not null ? v : throw Missing(parent.Length == 0 ? key : $"{parent}.{key}");

        public PyDict Dict(PyDict d, string key, string parent = "") => AsDict(Required(d, key, parent), parent.Length == 0 ? key : $"{parent}.{key}");

        public PyDict AsDict(object? o, string where) => o as PyDict ?? throw Invalid(where, "a dict", o is null ? null : DeepMdDocument.Describe(o));

        public List<object?> List(PyDict d, string key, string parent) =>
            Required(d, key, parent) as List<object?> ?? throw Invalid($"{parent}.{key}", "a list", DeepMdDocument.Describe(d[key]));

        public string Str(PyDict d, string key, string parent) =>
            Required(d, key, parent) as string ?? throw Invalid($"{parent}.{key}", "a string", d[key]);

        public bool Bool(PyDict d, string key, string parent, bool fallback) =>
            !d.TryGetValue(key, out var v) || v is null ? fallback : v as bool? ?? throw Invalid($"{parent}.{key}", "true or false", v);

        public double AsNum(object o, string where) => o switch
        {
            double x => x,
            long x => x,
            bool b => b ? 1 : 0,
            _ => throw Invalid(where, "a number", DeepMdDocument.Describe(o)),
        };

        public double Num(PyDict d, string key, string parent) => AsNum(Required(d, key, parent), $"{parent}.{key}");

        public int Int(PyDict d, string key, string parent) =>
            Required(d, key, parent) is long l && l >= int.MinValue && l <= int.MaxValue ? (int)l : throw Invalid($"{parent}.{key}", "an integer", d[key]);

        public int[] IntList(PyDict d, string key, string parent)
        {
            var list = List(d, key, parent);
            if (list.Count > MaxTypes) throw Invalid($"{parent}.{key}", $"at most {MaxTypes} entries", list.Count);
            return list.Select(x => x is long l && l >= int.MinValue && l <= int.MaxValue ? (int)l : throw Invalid($"{parent}.{key}", "a list of integers", Show(list))).ToArray();
        }

        public string[] StrList(PyDict d, string key, string parent)
        {
            var list = List(d, key, parent);
            return list.Select(x => x as string ?? throw Invalid($"{parent}.{key}", "a list of strings", Show(list))).ToArray();
        }

        public Precision Precision(PyDict d, string parent)
        {
            string p = d.TryGetValue("precision", out var v) && v is string s ? s : "float64";
            return p switch
            {
                "float64" or "default" => Model.Precision.Float64,
                "float32" => Model.Precision.Float32,
                _ => throw new DpCompressException("DeepMdModelNotSupported", ErrorKind.NotImplemented,
                    $"The DeePMD-kit model{Where} has precision '{p}' in {parent}; DpCompress supports float64 and float32.", Path),
            };
        }

        public double[] ArrayAnyShape(PyDict d, string key, string parent, out long[] shape)
        {
            if (Required(d, key, parent) is not NdArray a || a.Kind != 'f')
                throw Invalid($"{parent}.{key}", "a float array", DeepMdDocument.Describe(d[key]));
            shape = a.Shape;
            return a.ToDoubleArray();
        }

        public double[] Array(PyDict d, string key, string parent, params long[] expected)
        {
            var values = ArrayAnyShape(d, key, parent, out var shape);
            if (!shape.SequenceEqual(expected))
                throw Shape($"{parent}.{key} has shape [{string.Join(", ", shape)}], expected [{string.Join(", ", expected)}]");
            if (values.Any(v => !double.IsFinite(v)))
                throw Invalid($"{parent}.{key}", "finite values", "NaN or infinity");
            return values;
        }
    }
}
