using System.Text.Json;
using PureHDF;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// Reads the container of a DeePMD-kit v3 serialized model (fixtures/deepmd README §4.1) into one
/// tree: <see cref="PyDict"/> (insertion order), <c>List&lt;object?&gt;</c>, string, long, double,
/// bool, null, and <see cref="NdArray"/> for every array leaf. The same tree comes out of both
/// containers, so the model reader and the writers never see HDF5 or YAML.
/// </summary>
/// <remarks>
/// <para><b>.dp</b> (HDF5, read with PureHDF): the root attribute <c>json</c> holds the tree with each array
/// replaced by a dataset path ("/variable_0028"); every leaf under a key <c>@variables</c> (at any depth, list
/// elements included; null stays null) is such a path and is replaced by the dataset's values.</para>
/// <para><b>.yaml</b>: <c>yaml.safe_dump</c> of the tree, arrays as {"@class": "np.ndarray", "dtype", "value":
/// nested lists} (<see cref="DeepMdYaml"/>).</para>
/// <para>Input is untrusted: file size, array sizes, tree depth and node count are bounded, the HDF5 structure
/// of a .dp file is walked and every size in it checked (<see cref="Hdf5Prewalk"/>) before PureHDF opens it, and every
/// failure is a <see cref="DpCompressException"/>: DeepMdFileNotFound, DeepMdFileTooLarge, DeepMdFileCorrupt
/// (not HDF5/YAML, or an HDF5 structure the walk cannot verify), DeepMdJsonMissing, DeepMdJsonInvalid, DeepMdArrayMissing (a path with no dataset),
/// DeepMdArrayInvalid (a dataset of another type, a ragged or non-numeric YAML array),
/// DeepMdArrayTooLarge, DeepMdTreeTooDeep, DeepMdTreeTooLarge (YAML aliases that would expand the tree by more than
/// <see cref="DeepMdYaml.MaxAliasedNodes"/> nodes), DeepMdUnsupportedFormat (another file extension).</para>
/// </remarks>
public static class DeepMdDocument
{
    /// <summary>Largest model file read (bytes).</summary>
    public const long MaxFileBytes = 4L << 30;

    /// <summary>Largest array (elements) and largest sum over all arrays.</summary>
    public const long MaxArrayElements = 1L << 28;

    /// <summary>Deepest nesting of dicts and lists.</summary>
    public const int MaxDepth = 64;

    /// <summary>True when <paramref name="path"/> has a DeePMD-kit serialized-model extension (.dp, .yaml, .yml).</summary>
    public static bool IsDeepMdPath(string path)
    {
        string ext = Path.GetExtension(path).ToLowerInvariant();
        return ext is ".dp" or ".yaml" or ".yml";
    }

    /// <summary>Reads a .dp or .yaml file into the model tree.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The root dict (software, version, time, backend, model, model_def_script, …).</returns>
    public static PyDict Read(string path)
    {
        string full = CheckFile(path);
        string ext = Path.GetExtension(full).ToLowerInvariant();
        return ext switch
        {
            ".dp" => ReadDp(full),
            ".yaml" or ".yml" => DeepMdYaml.Read(full),
            _ => throw new DpCompressException("DeepMdUnsupportedFormat", ErrorKind.InvalidArgument,
                $"'{full}' is not a DeePMD-kit serialized model (.dp or .yaml).", full),
        };
    }

    internal static string CheckFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        string full = Path.GetFullPath(path);
        if (!File.Exists(full))
            throw new DpCompressException("DeepMdFileNotFound", ErrorKind.ObjectNotFound, $"The model file '{full}' does not exist.", full);
        long length = new FileInfo(full).Length;
        if (length > MaxFileBytes)
            throw new DpCompressException("DeepMdFileTooLarge", ErrorKind.LimitsExceeded,
                $"'{full}' has {length} bytes; DpCompress reads model files up to {MaxFileBytes} bytes.", full);
        if (length == 0)
            throw new DpCompressException("DeepMdFileCorrupt", ErrorKind.InvalidData, $"'{full}' is empty.", full);
        return full;
    }

    /// <summary>Reads a .dp (HDF5) file.</summary>
    private static PyDict ReadDp(string full)
    {
        long fileLength = new FileInfo(full).Length;
        try
        {
            Hdf5Prewalk.Check(full);
            using var file = H5File.OpenRead(full);
            if (!file.AttributeExists("json"))
                throw new DpCompressException("DeepMdJsonMissing", ErrorKind.InvalidData,
                    $"'{full}' is an HDF5 file without the root attribute 'json' of a DeePMD-kit model.", full);
            var attribute = file.Attribute("json");
            if (attribute.Type.Class != H5DataTypeClass.String && attribute.Type.Class != H5DataTypeClass.VariableLength)
                throw new DpCompressException("DeepMdJsonInvalid", ErrorKind.InvalidData,
                    $"The root attribute 'json' of '{full}' is not a string (HDF5 class {attribute.Type.Class}).", full);
            string text = attribute.Read<string>();
            var root = ParseJson(text, full);
            long total = 0;
            // Every array the json names is read from its own bytes in the file: their sum cannot exceed the file. The
            // budget also refuses a json that names one dataset many times (DeePMD-kit names each once), which would
            // otherwise read that dataset again for every name: 56 names of one 1.8 MB dataset in a 7.6 MB file
            // allocated 207 MB.
            long bytesLeft = fileLength;
            return (PyDict)ResolveVariables(root, false, 0, full, leaf =>
            {
                if (leaf is not string p || !p.StartsWith('/'))
                    throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData,
                        $"'{full}': an entry under @variables is {Describe(leaf)}, not a dataset path.", full);
                var array = ReadDataset(file, p, full, ref bytesLeft);
                total += array.ElementCount;
                if (total > MaxArrayElements)
                    throw new DpCompressException("DeepMdArrayTooLarge", ErrorKind.LimitsExceeded,
                        $"'{full}' holds more than {MaxArrayElements} array elements in all.", full);
                return array;
            })!;
        }
        catch (DpCompressException)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new DpCompressException("DeepMdFileCorrupt", ErrorKind.InvalidData,
                $"'{full}' is not a readable HDF5 file: {e.Message}", full, e);
        }
    }

    private static NdArray ReadDataset(IH5Group file, string path, string full, ref long bytesLeft)
    {
        string name = path.TrimStart('/');
        if (name.Length == 0 || !file.LinkExists(name))
            throw new DpCompressException("DeepMdArrayMissing", ErrorKind.InvalidData,
                $"'{full}' refers to the array '{path}', which the file does not contain.", full);
        if (file.Get(name) is not IH5Dataset dataset)
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"'{path}' in '{full}' is not a dataset.", full);
        var type = dataset.Type;
        if (type.Class != H5DataTypeClass.FloatingPoint || (type.Size != 8 && type.Size != 4))
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData,
                $"The dataset '{path}' in '{full}' holds {type.Class} values of {type.Size} bytes; DeePMD-kit model arrays are float64 or float32.", full);
        ulong[] dims = dataset.Space.Dimensions;
        if (dims.Length > 8)
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"The dataset '{path}' in '{full}' has {dims.Length} dimensions.", full);
        long count = 1;
        foreach (ulong d in dims)
        {
            if (d > (ulong)MaxArrayElements || (count = count * (long)d) > MaxArrayElements)
                throw new DpCompressException("DeepMdArrayTooLarge", ErrorKind.LimitsExceeded,
                    $"The dataset '{path}' in '{full}' declares [{string.Join(", ", dims)}] elements, more than {MaxArrayElements}.", full);
        }
        if (count * type.Size > bytesLeft)
            throw new DpCompressException("DeepMdArrayTooLarge", ErrorKind.LimitsExceeded,
                $"The dataset '{path}' in '{full}' declares [{string.Join(", ", dims)}] elements: with the arrays named before it, more bytes than the file holds.", full);
        bytesLeft -= count * type.Size;
        long[] shape = dims.Select(d => (long)d).ToArray();
        if (type.Size == 8)
        {
            double[] values = count == 0 ? Array.Empty<double>() : dataset.Read<double[]>();
            if (values.LongLength != count)
                throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"The dataset '{path}' in '{full}' gave {values.Length} values for {count}.", full);
            return NdArray.FromDoubles(values, shape);
        }
        float[] single = count == 0 ? Array.Empty<float>() : dataset.Read<float[]>();
        if (single.LongLength != count)
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"The dataset '{path}' in '{full}' gave {single.Length} values for {count}.", full);
        var bytes = new byte[single.Length * 4];
        Buffer.BlockCopy(single, 0, bytes, 0, bytes.Length);
        return new NdArray("<f4", shape, bytes);
    }

    /// <summary>Parses the json attribute into the tree (arrays still as path strings).</summary>
    internal static object? ParseJson(string text, string full)
    {
        try
        {
            using var doc = JsonDocument.Parse(text, new JsonDocumentOptions { MaxDepth = MaxDepth });
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new DpCompressException("DeepMdJsonInvalid", ErrorKind.InvalidData,
                    $"The 'json' attribute of '{full}' is not a JSON object.", full);
            return FromJson(doc.RootElement);
        }
        catch (JsonException e)
        {
            throw new DpCompressException("DeepMdJsonInvalid", ErrorKind.InvalidData,
                $"The 'json' attribute of '{full}' is not valid JSON: {e.Message}", full, e);
        }
    }

    private static object? FromJson(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                var d = new PyDict();
                foreach (var p in e.EnumerateObject()) d[p.Name] = FromJson(p.Value);
                return d;
            case JsonValueKind.Array:
                var list = new List<object?>();
                foreach (var item in e.EnumerateArray()) list.Add(FromJson(item));
                return list;
            case JsonValueKind.String:
                return e.GetString();
            case JsonValueKind.Number:
                string raw = e.GetRawText();
                if (raw.IndexOfAny(new[] { '.', 'e', 'E' }) < 0 && e.TryGetInt64(out long l)) return l;
                return e.GetDouble();
            case JsonValueKind.True:
                return true;
            case JsonValueKind.False:
                return false;
            default:
                return null;
        }
    }

    /// <summary>
    /// DeePMD-kit's <c>traverse_model_dict</c>: replaces every non-null leaf below a key "@variables" by
    /// <paramref name="load"/>(leaf); dicts and lists are walked, other leaves kept.
    /// </summary>
    internal static object? ResolveVariables(object? node, bool isVariable, int depth, string full, Func<object, object> load)
    {
        if (depth > MaxDepth)
            throw new DpCompressException("DeepMdTreeTooDeep", ErrorKind.LimitsExceeded, $"The model tree of '{full}' is nested deeper than {MaxDepth} levels.", full);
        switch (node)
        {
            case PyDict d:
                foreach (var key in d.Keys.ToArray())
                    d[key] = ResolveVariables(d[key], isVariable || Equals(key, "@variables"), depth + 1, full, load);
                return d;
            case List<object?> list:
                for (int i = 0; i < list.Count; i++) list[i] = ResolveVariables(list[i], isVariable, depth + 1, full, load);
                return list;
            case null:
                return null;
            default:
                return isVariable ? load(node) : node;
        }
    }

    internal static string Describe(object? o) => o switch
    {
        null => "null",
        string s => $"the string \"{(s.Length > 40 ? s[..40] + "…" : s)}\"",
        PyDict => "a dict",
        List<object?> => "a list",
        _ => $"{o.GetType().Name} {o}",
    };
}
