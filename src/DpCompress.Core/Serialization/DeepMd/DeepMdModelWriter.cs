using System.Globalization;
using System.Text;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;
using PureHDF;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// Writes a DeePMD-kit model tree as DeePMD-kit's <c>save_dp_model</c> does (fixtures/deepmd README §4.1):
/// .dp = HDF5 with one contiguous dataset per array, named variable_0000, variable_0001, … in depth-first
/// dict-insertion order, and the root attribute <c>json</c> holding the tree with each array replaced by its
/// dataset path (compact separators, ASCII escapes); .yaml = the same tree as <c>yaml.safe_dump</c> writes it
/// (<see cref="DeepMdYamlWriter"/>). Every part of the tree the model does not change is written back as read.
/// </summary>
/// <remarks>
/// <para>Compressed models carry DeePMD-kit's compress block (descriptor @version 3): compress_data[k'] of shape
/// (nspline, 6·m) with row r, columns 6j..6j+5 = a_0..a_5 of channel j (ascending powers of dx = x − x_r), and
/// compress_info[k'] = [lower, upper, upper·extrapolate, stride0, stride1, check_frequency], for DeePMD-kit's
/// net index k' = t_j·T + t_i (ours is k = t_i·T + t_j); plus the top-level min_nbor_dist.</para>
/// <para>Writes go to a temporary file in the target folder, renamed over the target only when complete; on
/// any failure the temporary file is removed and nothing else changes (DeepMdWriteFailed).</para>
/// </remarks>
public static class DeepMdModelWriter
{
    /// <summary>Writes <paramref name="model"/> (a DeePMD-kit model) to a .dp or .yaml file.</summary>
    /// <returns>The full path written.</returns>
    public static string Write(DpModel model, string path)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (model.Flavour != ModelFlavour.DeepMdSeE2A)
            throw new DpCompressException("ExportFormatMismatch", ErrorKind.InvalidArgument,
                $"Only DeePMD-kit models can be written as .dp or .yaml; this is a {model.Flavour} model (write a .ckpt).", path);
        if (model.IsCompressed && !HasCompressBlock(model.Checkpoint))
            throw new DpCompressException("ExportFormatMismatch", ErrorKind.InvalidArgument,
                "This DeePMD-kit model carries a table that is not in DeePMD-kit's format; compress it with Invoke-DpCompression (DeePMD-kit's table is the default for such models).", path);
        string full = Path.GetFullPath(path);
        string ext = Path.GetExtension(full).ToLowerInvariant();
        if (ext is not (".dp" or ".yaml" or ".yml"))
            throw new DpCompressException("DeepMdUnsupportedFormat", ErrorKind.InvalidArgument, $"'{full}' must end in .dp, .yaml or .yml.", full);
        string? dir = Path.GetDirectoryName(full);
        if (dir is null || !Directory.Exists(dir))
            throw new DpCompressException("DeepMdWriteFailed", ErrorKind.WriteError, $"The folder of '{full}' does not exist.", full);
        TempFiles.CleanStale(full);
        string temp = TempFiles.NewTempPath(full);
        try
        {
            var tree = model.IsCompressed ? model.Checkpoint : WithoutCompressBlock(model.Checkpoint);
            if (ext == ".dp") WriteDp(tree, temp);
            else DeepMdYamlWriter.Write(tree, temp);
            File.Move(temp, full, overwrite: true);
            return full;
        }
        catch (Exception e) when (e is not DpCompressException && e is not OutOfMemoryException)
        {
            TryDelete(temp);
            throw new DpCompressException("DeepMdWriteFailed", ErrorKind.WriteError, $"Cannot write '{full}': {e.Message}", full, e);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <summary>The tree of an uncompressed model: a compress block left from a compressed file is dropped and the descriptor goes back to @version 2.</summary>
    private static PyDict WithoutCompressBlock(PyDict root)
    {
        if (!HasCompressBlock(root)) return root;
        var copy = (PyDict)DeepCopy(root)!;
        var d = (PyDict)((PyDict)copy["model"]!)["descriptor"]!;
        d.Remove("compress");
        d["@version"] = 2L;
        return copy;
    }

    private static bool HasCompressBlock(PyDict root) =>
        root.TryGetValue("model", out var m) && m is PyDict md && md.TryGetValue("descriptor", out var d) && d is PyDict dd && dd.ContainsKey("compress");

    private static void TryDelete(string path)
    {
        try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>The .dp container: datasets in depth-first order and the json attribute.</summary>
    private static void WriteDp(PyDict root, string path)
    {
        var file = new H5File();
        var json = new StringBuilder();
        int next = 0;
        AppendJson(json, root, false, array =>
        {
            string name = $"variable_{next++:D4}";
            ulong[] dims = array.Shape.Select(d => (ulong)d).ToArray();
            object data = array.Kind == 'f' && array.ItemSize == 4 ? ToSingles(array) : array.ToDoubleArray();
            file[name] = new H5Dataset(data, fileDims: dims);
            return "/" + name;
        });
        file.Attributes["json"] = json.ToString();
        file.Write(path);
    }

    private static float[] ToSingles(NdArray a)
    {
        var values = new float[a.ElementCount];
        Buffer.BlockCopy(a.Data, 0, values, 0, a.Data.Length);
        return values;
    }

    /// <summary>json.dumps(tree, separators=(",", ":")) with every array under @variables replaced by name(array).</summary>
    private static void AppendJson(StringBuilder sb, object? node, bool isVariable, Func<NdArray, string> name)
    {
        switch (node)
        {
            case null: sb.Append("null"); break;
            case PyDict d:
                sb.Append('{');
                bool first = true;
                foreach (var kv in d.Items)
                {
                    if (!first) sb.Append(',');
                    first = false;
                    PythonRepr.JsonString(sb, Convert.ToString(kv.Key, CultureInfo.InvariantCulture) ?? "");
                    sb.Append(':');
                    AppendJson(sb, kv.Value, isVariable || Equals(kv.Key, "@variables"), name);
                }
                sb.Append('}');
                break;
            case List<object?> list:
                sb.Append('[');
                for (int i = 0; i < list.Count; i++)
                {
                    if (i > 0) sb.Append(',');
                    AppendJson(sb, list[i], isVariable, name);
                }
                sb.Append(']');
                break;
            case NdArray a:
                if (!isVariable)
                    throw new DpCompressException("DeepMdWriteFailed", ErrorKind.InvalidData, "An array sits outside @variables; DeePMD-kit's format cannot hold it there.");
                PythonRepr.JsonString(sb, name(a));
                break;
            case string s: PythonRepr.JsonString(sb, s); break;
            case bool b: sb.Append(b ? "true" : "false"); break;
            case long l: sb.Append(l.ToString(CultureInfo.InvariantCulture)); break;
            case int i: sb.Append(i.ToString(CultureInfo.InvariantCulture)); break;
            case double x: sb.Append(PythonRepr.JsonFloat(x)); break;
            default:
                throw new DpCompressException("DeepMdWriteFailed", ErrorKind.InvalidData, $"The model tree holds a {node.GetType().Name}, which DeePMD-kit's format cannot hold.");
        }
    }

    /// <summary>A deep copy of dicts and lists (arrays and scalars shared: they are never modified).</summary>
    internal static object? DeepCopy(object? node) => node switch
    {
        PyDict d => CopyDict(d),
        List<object?> l => l.Select(DeepCopy).ToList(),
        _ => node,
    };

    private static PyDict CopyDict(PyDict d)
    {
        var copy = new PyDict { IsOrdered = d.IsOrdered };
        foreach (var kv in d.Items) copy[kv.Key] = DeepCopy(kv.Value);
        return copy;
    }

    /// <summary>
    /// A copy of the model's tree with DeePMD-kit's compress block for <paramref name="table"/> (descriptor
    /// @version 3, compress.@variables.compress_data / compress_info per DeePMD-kit net) and the top-level
    /// min_nbor_dist.
    /// </summary>
    public static PyDict WithCompressBlock(DpModel model, CompressionTable table, DeepMdTableInfo info, double minNeighborDistance)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(table);
        if (table.Order != 5)
            throw new DpCompressException("ExportFormatMismatch", ErrorKind.InvalidArgument, "DeePMD-kit's compress block holds quintic tables only.", model.SourcePath);
        var root = (PyDict)DeepCopy(model.Checkpoint)!;
        var d = (PyDict)((PyDict)root["model"]!)["descriptor"]!;
        int nt = model.TypeCount, m = table.Width, rows = table.Rows;
        var data = new List<object?>();
        var infos = new List<object?>();
        bool oneSide = d.TryGetValue("type_one_side", out var os) && os is true;
        for (int k2 = 0; k2 < (oneSide ? nt : nt * nt); k2++)
        {
            int tj = oneSide ? k2 : k2 / nt, ti = oneSide ? 0 : k2 % nt;   // DeePMD-kit: k' = neighbour·T + centre (type_one_side: neighbour)
            int net = ti * nt + tj;
            var values = new double[rows * 6 * m];
            for (int r = 0; r < rows; r++)
                for (int j = 0; j < m; j++)
                {
                    long off = table.Offset(net, r, j);
                    for (int p = 0; p < 6; p++) values[(r * m + j) * 6 + p] = table.Coefficients[off + 5 - p];
                }
            data.Add(NdArray.FromDoubles(values, rows, 6L * m));
            infos.Add(NdArray.FromDoubles(info.ToArray(), 6));
        }
        d["@version"] = 3L;
        d["compress"] = new PyDict { ["@variables"] = new PyDict { ["compress_data"] = data, ["compress_info"] = infos } };
        root["min_nbor_dist"] = minNeighborDistance;
        return root;
    }
}
