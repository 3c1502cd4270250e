using DpCompress.Core.Compression;
using DpCompress.Core.Model;

namespace DpCompress.Core.Serialization;

/// <summary>
/// Writes PWMLFF checkpoints (SPEC §4): the model's original checkpoint dict, key for key and in
/// order, plus — for a compressed model — the <c>compress</c> dict PWMLFF's own tools read.
/// </summary>
/// <remarks>
/// Files are written atomically (temporary file in the target folder, then moved over the
/// target); any failure is <c>ExportWriteFailed</c> (<see cref="ErrorKind.WriteError"/>) and leaves
/// no partial file behind.
/// </remarks>
public static class CheckpointWriter
{
    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> (overwriting it).</summary>
    /// <param name="model">an original or compressed model</param>
    /// <param name="path">target .ckpt file; its folder must exist</param>
    /// <returns>the full path written</returns>
    public static string Write(DpModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        return WriteDocument(ToDocument(model), path);
    }

    /// <summary>Writes a checkpoint dict as is (torch.save format, pickle protocol 2).</summary>
    /// <returns>the full path written</returns>
    public static string WriteDocument(PyDict root, string path)
    {
        ArgumentNullException.ThrowIfNull(root);
        return TorchArchive.Write(path, root);
    }

    /// <summary>
    /// The dict that <see cref="Write"/> saves: a shallow copy of <see cref="DpModel.Checkpoint"/>
    /// (same values, same key order) whose <c>compress</c> key is replaced by the model's table
    /// (or removed when the model is not compressed).
    /// </summary>
    public static PyDict ToDocument(DpModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        var root = model.Checkpoint.ShallowCopy();
        if (model.Compression is { } table) root["compress"] = CompressDict(model, table);
        else root.Remove("compress");
        return root;
    }

    /// <summary>
    /// PWMLFF's <c>compress</c> dict, keys in PWMLFF's order: table [nnets, rows, m, order+1] float64,
    /// dx, order, davg = davg[:,0], dstd = dstd[:,0] ([ntypes] float64), sij_min, sij_max = x_L
    /// (PWMLFF's inference starts the outer region at sij_max), sij_out_max = 10·s_max, sij_len = L,
    /// sij_out_len = outer points, type_vector None (plain DP) or {Z: v(Z)} (type-embedding DP; table [ntypes, …]).
    /// </summary>
    public static PyDict CompressDict(DpModel model, CompressionTable table)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(table);
        var grid = table.Grid;
        int nt = model.TypeCount;
        var davg = new double[nt];
        var dstd = new double[nt];
        for (int t = 0; t < nt; t++)
        {
            davg[t] = model.Davg[t * 4];
            dstd[t] = model.Dstd[t * 4];
        }
        var d = new PyDict();
        d["table"] = NdArray.FromDoubles(table.Coefficients, table.NetCount, table.Rows, table.Width, table.Order + 1);
        d["dx"] = grid.Dx;
        d["order"] = (long)table.Order;
        d["davg"] = NdArray.FromDoubles(davg, nt);
        d["dstd"] = NdArray.FromDoubles(dstd, nt);
        d["sij_min"] = NdArray.FromDoubles(new[] { grid.SMin });
        d["sij_max"] = NdArray.FromDoubles(new[] { grid.InnerEnd });
        d["sij_out_max"] = NdArray.FromDoubles(new[] { grid.OuterLimit });
        d["sij_len"] = (long)grid.InnerIntervals;
        d["sij_out_len"] = (long)grid.OuterPoints;
        d["type_vector"] = model.TypeEmbedding is { } te ? TypeVectorDict(model.AtomTypes, te) : null;
        return d;
    }

    /// <summary>
    /// Type-embedding <c>type_vector</c> as PWMLFF pickles it (fixtures/agau_te/README.md §5):
    /// {numpy.int64(Z): [numpy.float64(v_1), …, numpy.float64(v_P)]} for every Z in model type order.
    /// </summary>
    private static PyDict TypeVectorDict(int[] atomTypes, TypeEmbedding te)
    {
        var d = new PyDict();
        for (int t = 0; t < atomTypes.Length; t++)
            d[NdArray.FromLongs(new long[] { atomTypes[t] })] = te.TypeVectors[t].Select(v => (object?)NdArray.FromDoubles(new[] { v })).ToList();
        return d;
    }
}
