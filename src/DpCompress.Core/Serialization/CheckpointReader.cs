using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;

namespace DpCompress.Core.Serialization;

/// <summary>
/// Reads a PWMLFF DP checkpoint (SPEC §5) into a typed <see cref="DpModel"/>; the only place
/// (with <c>CheckpointWriter</c>) that knows PWMLFF's key names.
/// </summary>
/// <remarks>
/// Errors besides those of <see cref="TorchArchive"/> (all <see cref="DpCompressException"/>):
/// <c>NotDpModel</c> (InvalidData), the type-embedding errors of <c>CheckpointReader.TypeEmbedding.cs</c>,
/// <c>CheckpointMissingKey</c>, <c>CheckpointInvalidValue</c> (a key of the wrong type or value),
/// <c>CheckpointShapeMismatch</c> (shapes contradict json_file sizes or each other).
/// </remarks>
public static partial class CheckpointReader
{
    // PWMLFF defaults (src/user/nn_feature_type.py Descriptor, src/user/model_param.py DpParam).
    private const double DefaultRmax = 6.0;
    private const double DefaultRmin = 0.5;
    private const int DefaultM2 = 16;
    private static readonly int[] DefaultEmbeddingSizes = { 25, 25, 25 };
    private static readonly int[] DefaultFittingSizes = { 50, 50, 50, 1 };

    /// <summary>The root dict of a checkpoint (every key, in file order), without interpretation.</summary>
    public static PyDict ReadDocument(string path)
    {
        try
        {
            return TorchArchive.ReadDict(path);
        }
        catch (Exception e) when (ReaderLimits.IsUnexpected(e))
        {
            throw ReaderLimits.Unexpected("CheckpointUnexpectedError", e, path);
        }
    }

    /// <summary>Reads a PWMLFF DP checkpoint (original or compressed).</summary>
    /// <param name="path">a dp_model.ckpt-style torch.save file</param>
    public static DpModel Read(string path)
    {
        string full = TorchArchive.CheckFile(path);
        try
        {
            var root = TorchArchive.ReadDict(full);
            return FromDocument(root, full);
        }
        catch (Exception e) when (ReaderLimits.IsUnexpected(e))
        {
            // Safety net: every anticipated problem has its own id; anything else still gets one.
            throw ReaderLimits.Unexpected("CheckpointUnexpectedError", e, full);
        }
    }

    /// <summary>Builds a model from a checkpoint dict (as <see cref="ReadDocument"/> returns it).</summary>
    /// <param name="root">the checkpoint's root dict; kept as <see cref="DpModel.Checkpoint"/></param>
    /// <param name="path">file named in errors and kept as <see cref="DpModel.SourcePath"/></param>
    public static DpModel FromDocument(PyDict root, string? path = null)
    {
        var ctx = new Context(path);
        var json = ctx.Dict(ctx.Required(root, "json_file", "json_file"), "json_file");

        object? modelType = ctx.Required(json, "model_type", "json_file.model_type");
        string mt = modelType as string ?? throw ctx.Invalid("json_file.model_type", "a string", modelType);
        if (!string.Equals(mt, "DP", StringComparison.OrdinalIgnoreCase))
            throw new DpCompressException("NotDpModel", ErrorKind.InvalidData,
                $"The checkpoint{ctx.Where} is not a DP model: model_type is {ReaderLimits.Excerpt(mt)}. DpCompress compresses PWMLFF DP (se_e2_a) models only.", path);

        var model = json.TryGetValue("model", out var m) && m is not null ? ctx.Dict(m, "json_file.model") : new PyDict();
        var descriptor = model.TryGetValue("descriptor", out var dsc) && dsc is not null ? ctx.Dict(dsc, "json_file.model.descriptor") : new PyDict();
        var fitting = model.TryGetValue("fitting_net", out var fit) && fit is not null ? ctx.Dict(fit, "json_file.model.fitting_net") : new PyDict();
        string[]? properties = TypeEmbeddingProperties(descriptor, ctx);

        int[] atomTypes = ctx.IntList(ctx.Required(json, "atom_type", "json_file.atom_type"), "json_file.atom_type");
        if (atomTypes.Length == 0) throw ctx.Invalid("json_file.atom_type", "a non-empty list", atomTypes);
        int nt = atomTypes.Length;
        if (atomTypes.Distinct().Count() != nt || atomTypes.Any(z => z < 1 || z > 118))
            throw ctx.Invalid("json_file.atom_type", "distinct atomic numbers 1..118", $"[{string.Join(",", atomTypes)}]");
        int maxNeighbors = ctx.Int(ctx.Required(json, "max_neigh_num", "json_file.max_neigh_num"), "json_file.max_neigh_num");
        if (maxNeighbors < 1) throw ctx.Invalid("json_file.max_neigh_num", "a positive integer", maxNeighbors);
        double rmax = descriptor.TryGetValue("Rmax", out var rx) ? ctx.Double(rx, "json_file.model.descriptor.Rmax") : DefaultRmax;
        double rmin = descriptor.TryGetValue("Rmin", out var rn) ? ctx.Double(rn, "json_file.model.descriptor.Rmin") : DefaultRmin;
        if (!(rmax > 0) || !(rmin >= 0) || !(rmin < rmax) || double.IsInfinity(rmax))
            throw ctx.Invalid("json_file.model.descriptor.Rmin/Rmax", "0 <= Rmin < Rmax", $"Rmin {rmin}, Rmax {rmax}");
        ModelValueChecks.CheckCutoff(rmax, "json_file.model.descriptor.Rmax", path);
        int m2 = descriptor.TryGetValue("M2", out var m2v) ? ctx.Int(m2v, "json_file.model.descriptor.M2") : DefaultM2;
        int[] embSizes = descriptor.TryGetValue("network_size", out var es) ? ctx.IntList(es, "json_file.model.descriptor.network_size") : DefaultEmbeddingSizes;
        int[] fitSizes = fitting.TryGetValue("network_size", out var fs) ? ctx.IntList(fs, "json_file.model.fitting_net.network_size") : DefaultFittingSizes;
        if (embSizes.Length == 0 || embSizes.Any(s => s < 1)) throw ctx.Invalid("json_file.model.descriptor.network_size", "positive layer widths", $"[{string.Join(",", embSizes)}]");
        if (fitSizes.Length == 0 || fitSizes.Any(s => s < 1)) throw ctx.Invalid("json_file.model.fitting_net.network_size", "positive layer widths", $"[{string.Join(",", fitSizes)}]");
        if (fitSizes[^1] != 1)
            throw ctx.Shape($"json_file.model.fitting_net.network_size [{string.Join(",", fitSizes)}] must end with 1 (the atomic energy)");
        int width = embSizes[^1];
        if (m2 < 1 || m2 > width)
            throw ctx.Shape($"M2 = {m2} must be between 1 and the embedding width m = {width}");

        // ---- networks
        var stateDict = ctx.Dict(ctx.Required(root, "state_dict", "state_dict"), "state_dict");
        CheckNetKeys(stateDict, ctx, properties is null ? nt * nt : 1, embSizes.Length, nt, fitSizes.Length,
            properties is null ? $"json_file.atom_type ({nt} types) requires" : "a type-embedding model (json_file.model.descriptor.type_embedding) has");
        var precisions = new HashSet<string>();
        TypeEmbedding? typeEmbedding = null;
        var embeddingNets = new EmbeddingNet[nt * nt];
        if (properties is not null)
        {
            typeEmbedding = ReadTypeEmbedding(stateDict, properties, atomTypes, embSizes, ctx, precisions);
            for (int k = 0; k < nt * nt; k++) embeddingNets[k] = typeEmbedding.EffectiveNets[TypeEmbedding.NetIndex(k / nt, k % nt)];
        }
        else
        {
            for (int k = 0; k < nt * nt; k++)
            {
                var layers = new DenseLayer[embSizes.Length];
                for (int l = 0; l < embSizes.Length; l++)
                    layers[l] = ReadLayer(stateDict, $"embedding_net.{k}.layers.{l}", l == 0 ? 1 : embSizes[l - 1], embSizes[l], ctx, precisions);
                embeddingNets[k] = new EmbeddingNet(layers);
            }
        }
        var fittingNets = new FittingNet[nt];
        for (int t = 0; t < nt; t++)
        {
            var layers = new DenseLayer[fitSizes.Length];
            for (int l = 0; l < fitSizes.Length; l++)
                layers[l] = ReadLayer(stateDict, $"fitting_net.{t}.layers.{l}", l == 0 ? width * m2 : fitSizes[l - 1], fitSizes[l], ctx, precisions);
            fittingNets[t] = new FittingNet(layers);
        }
        var precision = precisions.Contains("FloatStorage") ? Precision.Float32 : Precision.Float64;

        // ---- statistics
        long statWidth = (long)nt * maxNeighbors * 4;
        double[] davg = ReadStatistics(root, "davg", nt, statWidth, ctx);
        double[] dstd = ReadStatistics(root, "dstd", nt, statWidth, ctx);
        for (int i = 0; i < dstd.Length; i++)
            if (!(dstd[i] != 0) || !double.IsFinite(dstd[i]) || !double.IsFinite(davg[i]))
                throw ctx.Invalid(double.IsFinite(davg[i]) ? "dstd" : "davg", "finite values (dstd non-zero)", $"davg {davg[i]}, dstd {dstd[i]} at type {i / 4} column {i % 4}");

        double[] energyShift = new double[nt];
        if (root.TryGetValue("energy_shift", out var esv) && esv is not null)
        {
            energyShift = ctx.Numbers(esv, "energy_shift", out long[] shape);
            if (energyShift.Length != nt)
                throw ctx.Shape($"energy_shift has shape [{string.Join(",", shape)}] but the model has {nt} atom types");
        }

        double? sijMax = null;
        if (root.TryGetValue("sij_max", out var sm) && sm is not null)
        {
            var values = ctx.Numbers(sm, "sij_max", out long[] shape);
            if (values.Length != 1) throw ctx.Shape($"sij_max must be a single number, not shape [{string.Join(",", shape)}]");
            sijMax = values[0];
        }

        CompressionTable? table = null;
        if (root.TryGetValue("compress", out var cmp) && cmp is not null)
            table = ReadCompression(ctx.Dict(cmp, "compress"), typeEmbedding is null ? nt * nt : nt, width, sijMax, ctx);

        var result = new DpModel(atomTypes, rmin, rmax, maxNeighbors, m2, precision, embeddingNets, fittingNets,
            davg, dstd, energyShift, sijMax, root, table, path)
        {
            Flavour = typeEmbedding is null ? ModelFlavour.PwmlffDp : ModelFlavour.PwmlffTypeEmbedding,
            TypeEmbedding = typeEmbedding,
        };
        CheckpointValidator.Validate(result, root, path);
        return result;
    }

    [GeneratedRegex(@"^(embedding_net|fitting_net)\.(\d+)\.layers\.(\d+)\.(weight|bias|resnet_dt)$")]
    private static partial Regex NetKey();

    /// <summary>Every net key must belong to a net and layer that json_file's sizes define.</summary>
    private static void CheckNetKeys(PyDict stateDict, Context ctx, int embNets, int embLayers, int fitNets, int fitLayers, string embNetsRule)
    {
        var embFound = new HashSet<string>();
        var fitFound = new HashSet<string>();
        foreach (var key in stateDict.Keys)
        {
            if (key is not string s) continue;
            var match = NetKey().Match(s);
            if (match.Success) (match.Groups[1].Value == "embedding_net" ? embFound : fitFound).Add(match.Groups[2].Value);
        }
        if (embFound.Count != embNets)
            throw ctx.Shape($"state_dict holds {embFound.Count} embedding nets but {embNetsRule} {embNets}");
        if (fitFound.Count != fitNets)
            throw ctx.Shape($"state_dict holds {fitFound.Count} fitting nets but json_file.atom_type requires {fitNets}");
        foreach (var key in stateDict.Keys)
        {
            if (key is not string s) continue;
            var match = NetKey().Match(s);
            if (!match.Success) continue;
            bool emb = match.Groups[1].Value == "embedding_net";
            if (!long.TryParse(match.Groups[2].Value, CultureInfo.InvariantCulture, out long net) || !long.TryParse(match.Groups[3].Value, CultureInfo.InvariantCulture, out long layer)
                || net >= (emb ? embNets : fitNets) || layer >= (emb ? embLayers : fitLayers))
                throw ctx.Shape(emb
                    ? $"state_dict has '{s}' but json_file defines {embNets} embedding nets of {embLayers} layers"
                    : $"state_dict has '{s}' but json_file defines {fitNets} fitting nets of {fitLayers} layers");
        }
    }

    /// <summary>One layer: weight [in, out]; optional bias and resnet_dt [1, out] (or [out]).</summary>
    private static DenseLayer ReadLayer(PyDict stateDict, string prefix, int inputs, int outputs, Context ctx, HashSet<string> precisions)
    {
        string wKey = prefix + ".weight";
        var weight = ctx.Tensor(ctx.Required(stateDict, wKey, $"state_dict['{wKey}']"), $"state_dict['{wKey}']");
        if (weight.Shape.Length != 2 || weight.Shape[0] != inputs || weight.Shape[1] != outputs)
            throw ctx.Shape($"state_dict['{wKey}'] has shape [{string.Join(",", weight.Shape)}] but json_file sizes require [{inputs},{outputs}]");
        precisions.Add(weight.StorageType);
        double[]? Vector(string name)
        {
            string key = prefix + "." + name;
            if (!stateDict.TryGetValue(key, out var o)) return null;
            var t = ctx.Tensor(o, $"state_dict['{key}']");
            bool ok = (t.Shape.Length == 2 && t.Shape[0] == 1 && t.Shape[1] == outputs) || (t.Shape.Length == 1 && t.Shape[0] == outputs);
            if (!ok) throw ctx.Shape($"state_dict['{key}'] has shape [{string.Join(",", t.Shape)}] but the layer has {outputs} outputs (expected [1,{outputs}])");
            precisions.Add(t.StorageType);
            return t.ToDoubleArray();
        }
        return new DenseLayer(inputs, outputs, weight.ToDoubleArray(), Vector("bias"), Vector("resnet_dt"));
    }

    /// <summary>davg/dstd [ntypes, ntypes·max_neigh·4] → the first 4 values of each row, [ntypes, 4] row-major.</summary>
    private static double[] ReadStatistics(PyDict root, string key, int nt, long statWidth, Context ctx)
    {
        var all = ctx.Numbers(ctx.Required(root, key, key), key, out long[] shape);
        if (shape.Length != 2 || shape[0] != nt || shape[1] != statWidth)
            throw ctx.Shape($"{key} has shape [{string.Join(",", shape)}] but ntypes {nt} and max_neigh_num require [{nt},{statWidth}]");
        var result = new double[nt * 4];
        for (int t = 0; t < nt; t++)
            for (int c = 0; c < 4; c++) result[t * 4 + c] = all[t * statWidth + c];
        return result;
    }

    /// <summary>
    /// The <c>compress</c> dict (SPEC §4) → table and grid. s_max of the grid is sij_out_max / 10
    /// (PWMLFF: sij_out_max = 10·scal_max; this recovers scal_max whether sij_max holds scal_max,
    /// as PWMLFF writes, or x_L, as DpCompress writes); without sij_out_max, sij_max is used.
    /// </summary>
    private static CompressionTable ReadCompression(PyDict c, int nets, int width, double? rawSijMax, Context ctx)
    {
        double dx = ctx.Double(ctx.Required(c, "dx", "compress.dx"), "compress.dx");
        int order = ctx.Int(ctx.Required(c, "order", "compress.order"), "compress.order");
        if (order is not (3 or 5)) throw ctx.Invalid("compress.order", "3 or 5", order);
        if (!(dx > 0) || !double.IsFinite(dx)) throw ctx.Invalid("compress.dx", "a positive number", dx);
        double sMin = ctx.Scalar(ctx.Required(c, "sij_min", "compress.sij_min"), "compress.sij_min");
        double sijMaxStored = ctx.Scalar(ctx.Required(c, "sij_max", "compress.sij_max"), "compress.sij_max");
        double sMax = c.TryGetValue("sij_out_max", out var som) && som is not null
            ? ctx.Scalar(som, "compress.sij_out_max") / 10
            : sijMaxStored;
        int inner = ctx.Int(ctx.Required(c, "sij_len", "compress.sij_len"), "compress.sij_len");
        int outer = ctx.Int(ctx.Required(c, "sij_out_len", "compress.sij_out_len"), "compress.sij_out_len");
        if (inner < 1) throw ctx.Invalid("compress.sij_len", "a positive integer", inner);
        if (outer < 1) throw ctx.Invalid("compress.sij_out_len", "a positive integer", outer);
        if (!double.IsFinite(sMin) || !double.IsFinite(sMax)) throw ctx.Invalid("compress.sij_min/sij_max", "finite numbers", $"{sMin}, {sMax}");

        var tableObj = ctx.Required(c, "table", "compress.table");
        double[] coefficients = ctx.Numbers(tableObj, "compress.table", out long[] shape);
        long rows = (long)inner + outer - 1;
        if (shape.Length != 4 || shape[0] != nets || shape[1] != rows || shape[2] != width || shape[3] != order + 1)
            throw ctx.Shape($"compress.table has shape [{string.Join(",", shape)}] but {nets} nets, sij_len {inner} + sij_out_len {outer} − 1 = {rows} rows, " +
                            $"m = {width} and order {order} require [{nets},{rows},{width},{order + 1}]");
        var grid = new SijGrid(sMin, sMax, dx, inner, outer, rawSijMax ?? double.NaN, SijMaxSource.CompressedCheckpoint) { RuntimeSijMax = sijMaxStored };
        return new CompressionTable(grid, order, nets, width, coefficients);
    }

    /// <summary>Typed access to checkpoint values with precise errors.</summary>
    private sealed class Context
    {
        public Context(string? path) => Path = path;

        public string? Path { get; }

        public string Where => Path is null ? "" : $" '{Path}'";

        public object? Required(PyDict d, string key, string display) =>
            d.TryGetValue(key, out var v) ? v : throw new DpCompressException("CheckpointMissingKey", ErrorKind.InvalidData,
                $"The checkpoint{Where} has no key {display}.", Path);

        public DpCompressException Invalid(string key, string expected, object? actual) =>
            new("CheckpointInvalidValue", ErrorKind.InvalidData,
                $"The checkpoint{Where} has an invalid {key}: expected {expected}, found {ShowValue(actual)}.", Path);

        public DpCompressException Shape(string detail) =>
            new("CheckpointShapeMismatch", ErrorKind.InvalidData, $"The checkpoint{Where} is inconsistent: {detail}.", Path);

        public PyDict Dict(object? o, string key) => o as PyDict ?? throw Invalid(key, "a dict", o);

        public TorchTensor Tensor(object? o, string key)
        {
            var t = o as TorchTensor ?? throw Invalid(key, "a tensor", o);
            if (t.StorageType is not ("DoubleStorage" or "FloatStorage"))
                throw Invalid(key, "a float64 or float32 tensor", t.StorageType);
            return t;
        }

        public int Int(object? o, string key) => o switch
        {
            long l and >= int.MinValue and <= int.MaxValue => (int)l,
            int i => i,
            double d when d == Math.Floor(d) && Math.Abs(d) < int.MaxValue => (int)d,
            NdArray { ElementCount: 1, Kind: 'i' or 'u' } a => (int)Math.Clamp(a.ToLongArray()[0], int.MinValue, int.MaxValue),
            _ => throw Invalid(key, "an integer", o),
        };

        public double Double(object? o, string key) => o switch
        {
            double d => d,
            long l => l,
            int i => i,
            _ => throw Invalid(key, "a number", o),
        };

        /// <summary>A Python number, numpy scalar/one-element array or one-element tensor.</summary>
        public double Scalar(object? o, string key)
        {
            var v = Numbers(o, key, out _);
            return v.Length == 1 ? v[0] : throw Invalid(key, "a single number", o);
        }

        public int[] IntList(object? o, string key)
        {
            var items = o switch
            {
                List<object?> l => l.ToArray(),
                PyTuple t => t.Items,
                _ => throw Invalid(key, "a list of integers", o),
            };
            return items.Select(i => Int(i, key)).ToArray();
        }

        /// <summary>Values of a numpy array, tensor, number or list of numbers, row-major, as float64.</summary>
        public double[] Numbers(object? o, string key, out long[] shape)
        {
            switch (o)
            {
                case NdArray a:
                    shape = a.Shape;
                    return a.ToDoubleArray();
                case TorchTensor t when t.StorageType != "ComplexFloatStorage" && t.StorageType != "ComplexDoubleStorage":
                    shape = t.Shape;
                    return t.ToDoubleArray();
                case double or long or int:
                    shape = Array.Empty<long>();
                    return new[] { Double(o, key) };
                case List<object?> l when l.All(x => x is double or long or int):
                    shape = new long[] { l.Count };
                    return l.Select(x => Double(x, key)).ToArray();
                default:
                    throw Invalid(key, "a numeric array", o);
            }
        }

        private static string ShowValue(object? o) => o switch
        {
            null => "None",
            string s => $"'{ReaderLimits.Excerpt(s)}'",
            BigInteger b => $"an integer of {b.GetBitLength()} bits",
            double or long or int => Convert.ToString(o, CultureInfo.InvariantCulture) ?? "",
            _ => SafeUnpickler.Describe(o),
        };
    }
}
