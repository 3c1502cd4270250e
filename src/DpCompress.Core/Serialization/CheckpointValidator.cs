using System.Globalization;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;

namespace DpCompress.Core.Serialization;

/// <summary>
/// Checks the meaning of a model read from a PWMLFF checkpoint, after <see cref="CheckpointReader"/>
/// has checked its types and shapes: a model that PWMLFF's own strict <c>load_state_dict</c> would
/// refuse, or that would give silently wrong numbers, is refused here with an id.
/// </summary>
/// <remarks>
/// Rules (PWMLFF builds every net with bias=True; its fitting nets with resnet_dt=True, its
/// embedding nets with resnet_dt=False; json_file may override either with <c>resnet_dt</c>):
/// <list type="bullet">
/// <item>every layer of every net has a bias — else <c>CheckpointMissingKey</c> naming the key;</item>
/// <item>resnet_dt exists exactly on the layers with a skip connection (SPEC §2), for all nets of
/// a family alike, and on none of them in a family built without it — else <c>CheckpointMissingKey</c>
/// (a missing one) or <c>CheckpointShapeMismatch</c> (one where no skip uses it);</item>
/// <item>every weight, bias, resnet_dt, davg, dstd, energy_shift, sij_max and table coefficient is
/// finite — else <c>CheckpointInvalidValue</c> naming the tensor and the first bad index;</item>
/// <item>a <c>compress</c> block agrees with itself: sij_min &lt; s_max, sij_len and sij_out_len are
/// the counts that sij_min, s_max and dx give (SPEC §3, ±1 for PWMLFF's accumulated loops), and the
/// stored sij_max lies in the last inner interval [x_L − dx, x_L] — else <c>CheckpointShapeMismatch</c>;</item>
/// <item>a non-finite raw sij_max is <c>CheckpointInvalidValue</c>; a non-positive one is refused when a grid
/// is built from it (<c>InvalidSijMax</c> of <see cref="GridBuilder"/>), since the model itself is still usable.</item>
/// </list>
/// </remarks>
public static class CheckpointValidator
{
    /// <summary>Relative slack for comparing grid nodes computed in different orders.</summary>
    private const double GridTolerance = 1e-6;

    /// <summary>Throws the first problem found in <paramref name="model"/> (read from <paramref name="root"/>).</summary>
    public static void Validate(DpModel model, PyDict root, string? path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(root);
        var json = root.TryGetValue("json_file", out var j) ? j as PyDict : null;
        var modelCfg = json is not null && json.TryGetValue("model", out var m) ? m as PyDict : null;
        bool? embResnet = Flag(modelCfg, "descriptor", "resnet_dt");
        bool? fitResnet = Flag(modelCfg, "fitting_net", "resnet_dt");

        var embeddingNets = model.TypeEmbedding is { } te ? new[] { te.SharedNet } : model.EmbeddingNets;   // type-embedding DP: the one stored net
        CheckFamily("embedding_net", embeddingNets.Select(n => n.Layers).ToArray(), embResnet ?? false, embResnet.HasValue, isFitting: false, path);
        CheckFamily("fitting_net", model.FittingNets.Select(n => n.Layers).ToArray(), fitResnet ?? true, fitResnet.HasValue, isFitting: true, path);

        Finite(model.Davg, "davg", path);
        Finite(model.Dstd, "dstd", path);
        Finite(model.EnergyShift, "energy_shift", path);
        if (model.SijMax is double raw && !double.IsFinite(raw))
            throw Invalid(path, "sij_max", $"a finite number, found {Num(raw)}");
        if (model.Compression is { } table && root.TryGetValue("compress", out var c) && c is PyDict compress)
            CheckCompression(table, compress, path);
    }

    private static bool? Flag(PyDict? modelCfg, string section, string key) =>
        modelCfg is not null && modelCfg.TryGetValue(section, out var s) && s is PyDict d && d.TryGetValue(key, out var v) && v is bool b ? b : null;

    private static void CheckFamily(string family, IReadOnlyList<DenseLayer>[] nets, bool builtWithResnet, bool declared, bool isFitting, string? path)
    {
        if (nets.Length == 0) return;
        // Which layers carry resnet_dt in this file: the union over all nets of the family.
        int depth = nets.Max(n => n.Count);
        var seen = new bool[depth];
        foreach (var layers in nets)
            for (int l = 0; l < layers.Count; l++)
                if (layers[l].ResnetDt is not null) seen[l] = true;
        bool anySeen = seen.Any(x => x);
        // Without a json_file flag: fitting nets follow PWMLFF's default (with resnet_dt); embedding
        // nets have it when any net of the family has it (a file is built by one constructor).
        bool withResnet = declared ? builtWithResnet : isFitting ? builtWithResnet || anySeen : anySeen;
        for (int k = 0; k < nets.Length; k++)
        {
            var layers = nets[k];
            for (int l = 0; l < layers.Count; l++)
            {
                var layer = layers[l];
                string key = $"{family}.{k}.layers.{l}";
                if (layer.Bias is null) throw Missing(path, $"{key}.bias", "PWMLFF builds every layer with a bias");
                bool last = l == layers.Count - 1;
                bool eligible = !(isFitting && last) && layer.Skip != SkipKind.None;
                if (layer.ResnetDt is not null && !eligible)
                    throw Shape(path, $"state_dict['{key}.resnet_dt'] exists but layer {l} of {family}.{k} ({layer.Inputs}→{layer.Outputs}) has no skip connection to scale");
                if (layer.ResnetDt is null && eligible && withResnet)
                    throw Missing(path, $"{key}.resnet_dt", $"the {family} nets are built with resnet_dt on every skip layer ({Describe(family, seen)})");
                Finite(layer.Weight, $"state_dict['{key}.weight']", path);
                Finite(layer.Bias, $"state_dict['{key}.bias']", path);
                if (layer.ResnetDt is not null) Finite(layer.ResnetDt, $"state_dict['{key}.resnet_dt']", path);
            }
        }
    }

    private static string Describe(string family, bool[] seen)
    {
        var layers = Enumerable.Range(0, seen.Length).Where(l => seen[l]).ToArray();
        return layers.Length == 0
            ? (family == "fitting_net" ? "PWMLFF's default" : "json_file says so")
            : $"other nets of the file have it on layer(s) {string.Join(", ", layers)}";
    }

    /// <summary>
    /// The compress block's grid against itself: s_min &lt; s_max; L = sij_len at least ceil((s_max − s_min)/dx) − 1
    /// and at most ceil((10·s_max − s_min)/dx) + 1 (the PWMLFF runtime layout ends its inner grid above s_max, to keep
    /// pairs closer than any in training out of PWMLFF's broken outer branch; never beyond the outer limit); outer points within ±1 of max(2, ceil((10·s_max − x_L)/(10·dx)));
    /// stored sij_max in [x_L − dx, x_L] (PWMLFF stores s_max, DpCompress x_L).
    /// </summary>
    private static void CheckCompression(CompressionTable table, PyDict compress, string? path)
    {
        var g = table.Grid;
        Finite(table.Coefficients, "compress.table", path);
        if (!(g.SMax > g.SMin))
            throw Shape(path, $"compress.sij_min {Num(g.SMin)} is not below the table's s_max {Num(g.SMax)}");
        double span = (g.SMax - g.SMin) / g.Dx;
        double expectedInner = Math.Ceiling(span);
        double maxInner = Math.Ceiling((10 * g.SMax - g.SMin) / g.Dx);
        if (g.InnerIntervals < expectedInner - 1 - GridTolerance * expectedInner || g.InnerIntervals > maxInner + 1 + GridTolerance * maxInner)
            throw Shape(path, $"compress.sij_len is {g.InnerIntervals} but sij_min {Num(g.SMin)}, s_max {Num(g.SMax)} and dx {Num(g.Dx)} give {expectedInner:F0} inner intervals " +
                              $"(up to {maxInner:F0} for an inner grid extended towards the outer limit; dx does not match the table's step)");
        double xl = g.InnerEnd;
        double expectedOuter = Math.Max(2, Math.Ceiling((10 * g.SMax - xl) / (10 * g.Dx)));
        if (Math.Abs(g.OuterPoints - expectedOuter) > 1 + GridTolerance * expectedOuter)
            throw Shape(path, $"compress.sij_out_len is {g.OuterPoints} but s_max {Num(g.SMax)} and dx {Num(g.Dx)} give {expectedOuter:F0} outer points");
        if (compress.TryGetValue("sij_max", out var sm) && Scalar(sm) is double stored)
        {
            double slack = GridTolerance * Math.Max(1, Math.Abs(xl));
            if (!(stored >= xl - g.Dx - slack && stored <= xl + slack))
                throw Shape(path, $"compress.sij_max {Num(stored)} lies outside the last inner interval [{Num(xl - g.Dx)}, {Num(xl)}] of the grid " +
                                  $"(sij_min {Num(g.SMin)} + sij_len {g.InnerIntervals} · dx {Num(g.Dx)})");
        }
    }

    private static double? Scalar(object? o) => o switch
    {
        double d => d,
        long l => l,
        NdArray { ElementCount: 1 } a => a.ToDoubleArray()[0],
        TorchTensor { ElementCount: 1 } t when t.IsFloatingPoint => t.ToDoubleArray()[0],
        _ => null,
    };

    private static void Finite(double[]? values, string name, string? path)
    {
        if (values is null) return;
        for (int i = 0; i < values.Length; i++)
            if (!double.IsFinite(values[i]))
                throw Invalid(path, name, $"finite numbers, found {Num(values[i])} at flat index {i}");
    }

    private static string Num(double v) => v.ToString("G10", CultureInfo.InvariantCulture);

    private static string Where(string? path) => path is null ? "" : $" '{path}'";

    private static DpCompressException Invalid(string? path, string name, string detail) =>
        new("CheckpointInvalidValue", ErrorKind.InvalidData, $"The checkpoint{Where(path)} has an invalid {name}: expected {detail}.", path);

    private static DpCompressException Missing(string? path, string key, string why) =>
        new("CheckpointMissingKey", ErrorKind.InvalidData,
            $"The checkpoint{Where(path)} has no key state_dict['{key}'] ({why}); PWMLFF's strict load refuses such a file, and without it every energy would be wrong.", path);

    private static DpCompressException Shape(string? path, string detail) =>
        new("CheckpointShapeMismatch", ErrorKind.InvalidData, $"The checkpoint{Where(path)} is inconsistent: {detail}.", path);
}
