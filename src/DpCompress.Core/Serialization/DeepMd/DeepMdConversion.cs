using System.Globalization;
using DpCompress.Core.Model;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// Writes a PWMLFF DP model into DeePMD-kit's se_e2_a model tree (fixtures/deepmd README §6, "Mapping a
/// PWMLFF DP model onto this format"): embedding net k = t_i·T + t_j goes to networks[t_j·T + t_i], davg/dstd
/// (T, 4) are repeated over Σsel = T·K slots, sel = [K, …, K], resnet_dt false in the descriptor and true in the
/// fitting, out_bias = bias_atom_e = 0 (PWMLFF's energy shift lives in its last fitting bias). The tree has
/// DeePMD-kit's key order (§4.3), so DeePMD-kit loads it and <see cref="DeepMdModelReader"/> reads it back.
/// </summary>
/// <remarks>
/// The converted model follows DeePMD-kit's conventions, so it predicts what PWMLFF predicts only where the two
/// agree: two-element configurations with sel = [100, 100] (README §6); one-element configurations differ by
/// design (DeePMD-kit divides by Σsel always). Refused: compressed or type-embedding models
/// (ModelNotSupported), layers DeePMD-kit cannot express (a first fitting layer that PWMLFF would not skip but
/// DeePMD-kit would: ModelNotSupported).
/// </remarks>
public static class DeepMdConversion
{
    /// <summary>The DeePMD-kit model (tree and typed model) equivalent to a PWMLFF DP model.</summary>
    public static DpModel FromPwmlff(DpModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (model.Flavour != ModelFlavour.PwmlffDp || model.EmbeddingNets.Any(n => n.InputWidth != 1))
            throw new DpCompressException("ModelNotSupported", ErrorKind.InvalidArgument, $"Only PWMLFF DP models convert to DeePMD-kit's format (this is {model.Flavour}).", model.SourcePath);
        if (model.IsCompressed)
            throw new DpCompressException("ModelNotSupported", ErrorKind.InvalidArgument, "Convert the original model, not a compressed one (compress the converted model instead).", model.SourcePath);
        int nt = model.TypeCount, k = model.MaxNeighbors, nnei = nt * k, m = model.EmbeddingWidth;
        var typeMap = model.AtomTypes.Select(z => (object?)Elements.Symbol(z)).ToList();
        var sel = Enumerable.Repeat((object?)(long)k, nt).ToList();
        var embSizes = model.EmbeddingSizes.Select(s => (object?)(long)s).ToList();
        var fitHidden = model.FittingSizes.Take(model.FittingSizes.Length - 1).Select(s => (object?)(long)s).ToList();

        var davg = new double[nt * nnei * 4];
        var dstd = new double[nt * nnei * 4];
        for (int t = 0; t < nt; t++)
            for (int s = 0; s < nnei; s++)
                for (int q = 0; q < 4; q++)
                {
                    davg[(t * nnei + s) * 4 + q] = model.Davg[t * 4 + q];
                    dstd[(t * nnei + s) * 4 + q] = model.Dstd[t * 4 + q];
                }

        var networks = new List<object?>();
        for (int k2 = 0; k2 < nt * nt; k2++)
        {
            int tj = k2 / nt, ti = k2 % nt;     // DeePMD-kit: networks[neighbour·T + centre]
            var net = model.EmbeddingNets[ti * nt + tj];
            networks.Add(new PyDict
            {
                ["@class"] = "EmbeddingNetwork", ["@version"] = 2L, ["in_dim"] = 1L, ["neuron"] = new List<object?>(embSizes),
                ["activation_function"] = "tanh", ["resnet_dt"] = false, ["bias"] = true, ["precision"] = "float64",
                ["layers"] = net.Layers.Select(l => (object?)Layer(l, "tanh")).ToList(),
            });
        }
        var fittingNets = new List<object?>();
        for (int t = 0; t < nt; t++)
        {
            var layers = model.FittingNets[t].Layers;
            if (layers[0].Outputs == layers[0].Inputs || layers[0].Outputs == 2 * layers[0].Inputs)
                throw new DpCompressException("ModelNotSupported", ErrorKind.InvalidArgument,
                    $"The first fitting layer ({layers[0].Inputs} → {layers[0].Outputs}) would get a skip connection in DeePMD-kit, which PWMLFF does not add.", model.SourcePath);
            fittingNets.Add(new PyDict
            {
                ["@class"] = "FittingNetwork", ["@version"] = 1L, ["in_dim"] = (long)(m * model.M2), ["out_dim"] = 1L,
                ["neuron"] = new List<object?>(fitHidden), ["activation_function"] = "tanh", ["resnet_dt"] = true, ["precision"] = "float64",
                ["bias_out"] = true,
                ["layers"] = layers.Select((l, i) => (object?)Layer(l, i == layers.Count - 1 ? "none" : "tanh")).ToList(),
            });
        }

        var descriptor = new PyDict
        {
            ["@class"] = "Descriptor", ["type"] = "se_e2_a", ["@version"] = 2L, ["rcut"] = model.Rmax, ["rcut_smth"] = model.Rmin,
            ["sel"] = sel, ["neuron"] = embSizes, ["axis_neuron"] = (long)model.M2, ["resnet_dt"] = false, ["trainable"] = true,
            ["type_one_side"] = false, ["exclude_types"] = new List<object?>(), ["env_protection"] = 0.0, ["set_davg_zero"] = false,
            ["activation_function"] = "tanh", ["precision"] = "float64", ["spin"] = null,
            ["env_mat"] = new PyDict { ["rcut"] = model.Rmax, ["rcut_smth"] = model.Rmin, ["protection"] = 0.0, ["use_exp_switch"] = false },
            ["embeddings"] = new PyDict
            {
                ["@class"] = "NetworkCollection", ["@version"] = 1L, ["ndim"] = 2L, ["ntypes"] = (long)nt,
                ["network_type"] = "embedding_network", ["networks"] = networks,
            },
            ["@variables"] = new PyDict { ["davg"] = NdArray.FromDoubles(davg, nt, nnei, 4), ["dstd"] = NdArray.FromDoubles(dstd, nt, nnei, 4) },
            ["type_map"] = new List<object?>(typeMap),
        };
        var fitting = new PyDict
        {
            ["@class"] = "Fitting", ["@version"] = 4L, ["var_name"] = "energy", ["ntypes"] = (long)nt, ["dim_descrpt"] = (long)(m * model.M2),
            ["neuron"] = new List<object?>(fitHidden), ["resnet_dt"] = true, ["numb_fparam"] = 0L, ["numb_aparam"] = 0L, ["dim_case_embd"] = 0L,
            ["default_fparam"] = null, ["rcond"] = null, ["activation_function"] = "tanh", ["precision"] = "float64", ["mixed_types"] = false,
            ["exclude_types"] = new List<object?>(),
            ["nets"] = new PyDict
            {
                ["@class"] = "NetworkCollection", ["@version"] = 1L, ["ndim"] = 1L, ["ntypes"] = (long)nt,
                ["network_type"] = "fitting_network", ["networks"] = fittingNets,
            },
            ["@variables"] = new PyDict
            {
                ["bias_atom_e"] = NdArray.FromDoubles(new double[nt], nt, 1), ["case_embd"] = null, ["fparam_avg"] = null,
                ["fparam_inv_std"] = null, ["aparam_avg"] = null, ["aparam_inv_std"] = null,
            },
            ["type_map"] = new List<object?>(typeMap), ["tot_ener_zero"] = false,
            ["trainable"] = Enumerable.Repeat((object?)true, model.FittingSizes.Length).ToList(),
            ["layer_name"] = null, ["use_aparam_as_mask"] = false, ["spin"] = null, ["type"] = "ener", ["dim_out"] = 1L, ["atom_ener"] = new List<object?>(),
        };
        var ones = Enumerable.Repeat(1.0, nt).ToArray();
        var root = new PyDict
        {
            ["software"] = "DpCompress",
            ["version"] = typeof(DeepMdConversion).Assembly.GetName().Version?.ToString() ?? "0",
            ["time"] = DateTime.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.ffffff+00:00", CultureInfo.InvariantCulture),
            ["backend"] = "DPModel",
            ["model"] = new PyDict
            {
                ["type_map"] = typeMap, ["atom_exclude_types"] = new List<object?>(), ["pair_exclude_types"] = new List<object?>(),
                ["rcond"] = null, ["preset_out_bias"] = null,
                ["@variables"] = new PyDict { ["out_bias"] = NdArray.FromDoubles(new double[nt], 1, nt, 1), ["out_std"] = NdArray.FromDoubles(ones, 1, nt, 1) },
                ["@class"] = "Model", ["type"] = "standard", ["@version"] = 2L,
                ["descriptor"] = descriptor, ["fitting"] = fitting,
            },
            ["model_def_script"] = new PyDict
            {
                ["type_map"] = new List<object?>(typeMap),
                ["descriptor"] = new PyDict { ["type"] = "se_e2_a", ["sel"] = new List<object?>(sel), ["rcut"] = model.Rmax, ["rcut_smth"] = model.Rmin,
                    ["neuron"] = new List<object?>(embSizes), ["axis_neuron"] = (long)model.M2, ["resnet_dt"] = false },
                ["fitting_net"] = new PyDict { ["type"] = "ener", ["neuron"] = new List<object?>(fitHidden), ["resnet_dt"] = true },
            },
            ["@variables"] = new PyDict(),
        };
        return DeepMdModelReader.FromTree(root, null);
    }

    /// <summary>One Layer dict: y = act(x·w + b) (·idt), + x when DeePMD-kit's resnet rule applies.</summary>
    private static PyDict Layer(DenseLayer l, string activation) => new()
    {
        ["@class"] = "Layer", ["@version"] = 2L, ["bias"] = l.Bias is not null, ["use_timestep"] = l.ResnetDt is not null,
        ["activation_function"] = activation, ["resnet"] = activation != "none" && l.Skip != SkipKind.None, ["precision"] = "float64", ["trainable"] = true,
        ["@variables"] = new PyDict
        {
            ["w"] = NdArray.FromDoubles(l.Weight, l.Inputs, l.Outputs),
            ["b"] = l.Bias is null ? null : NdArray.FromDoubles(l.Bias, l.Outputs),
            ["idt"] = l.ResnetDt is null || l.Skip == SkipKind.None ? null : NdArray.FromDoubles(l.ResnetDt, l.Outputs),
        },
    };
}
