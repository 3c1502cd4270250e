using System.Globalization;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// Reads the .yaml container of a DeePMD-kit serialized model (<c>yaml.safe_dump</c> of the tree) with
/// YamlDotNet's event parser, resolving plain scalars as PyYAML's safe loader does (null, bool, int,
/// float incl. .inf/.nan, else string) and turning every {"@class": "np.ndarray", "dtype", "value"} mapping
/// into an <see cref="NdArray"/>.
/// </summary>
/// <remarks>
/// Errors: DeepMdFileCorrupt (not YAML, or not a mapping at the root), DeepMdYamlUnsupported (a tag
/// other than the YAML core ones, an unknown alias), DeepMdArrayInvalid (ragged or non-numeric values,
/// unknown dtype), DeepMdArrayTooLarge, DeepMdTreeTooDeep, DeepMdTreeTooLarge. Aliases share the anchored node
/// (no copy), so they cannot blow up memory while reading; but everything that walks the tree afterwards (the
/// .dp and .yaml writers above all) meets every alias as a full copy. So the reader also counts each node's
/// expanded size, aliases included, and refuses a document whose aliases would expand it by more than
/// <see cref="MaxAliasedNodes"/> nodes beyond those written in the file (DeepMdTreeTooLarge): an "alias bomb"
/// of 40 lines, each a list of two aliases of the line before, is 2^40 nodes to a writer.
/// </remarks>
public static partial class DeepMdYaml
{
    /// <summary>Most nodes that aliases may add to a document (expanded size minus nodes in the file).</summary>
    public const long MaxAliasedNodes = 1_000_000;

    /// <summary>Reads a .yaml model file into the tree.</summary>
    public static PyDict Read(string path)
    {
        string full = DeepMdDocument.CheckFile(path);
        try
        {
            using var reader = new StreamReader(full);
            var state = new ReadState(full);
            var parser = new Parser(reader);
            parser.Consume<StreamStart>();
            if (parser.Accept<StreamEnd>(out _))
                throw new DpCompressException("DeepMdFileCorrupt", ErrorKind.InvalidData, $"'{full}' holds no YAML document.", full);
            parser.Consume<DocumentStart>();
            var root = ParseNode(parser, state, 0, out _);
            if (root is not PyDict dict)
                throw new DpCompressException("DeepMdFileCorrupt", ErrorKind.InvalidData, $"'{full}' is YAML but not a mapping at the top.", full);
            return dict;
        }
        catch (DpCompressException)
        {
            throw;
        }
        catch (YamlException e)
        {
            throw new DpCompressException("DeepMdFileCorrupt", ErrorKind.InvalidData, $"'{full}' is not valid YAML: {e.Message}", full, e);
        }
        catch (IOException e)
        {
            throw new DpCompressException("DeepMdReadFailed", ErrorKind.ResourceUnavailable, $"Cannot read '{full}': {e.Message}", full, e);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new DpCompressException("DeepMdReadFailed", ErrorKind.ResourceUnavailable, $"Cannot read '{full}': {e.Message}", full, e);
        }
    }

    private sealed class ReadState(string full)
    {
        public string Full { get; } = full;
        /// <summary>Anchored nodes with their expanded sizes.</summary>
        public Dictionary<string, (object? Node, long Size)> Anchors { get; } = new();
        public long Elements { get; set; }

        /// <summary>Nodes written in the file so far (an alias counts once).</summary>
        public long Parsed { get; set; }

        /// <summary>Refuses a subtree whose expanded size exceeds the nodes parsed so far by more than <see cref="MaxAliasedNodes"/>.</summary>
        public void CheckExpanded(long size)
        {
            if (size > Parsed + MaxAliasedNodes)
                throw new DpCompressException("DeepMdTreeTooLarge", ErrorKind.LimitsExceeded,
                    $"'{Full}' repeats anchored YAML nodes through aliases into a tree of at least {size} nodes, more than {MaxAliasedNodes} beyond the {Parsed} nodes in the file (an alias bomb).", Full);
        }
    }

    /// <summary>Parses one node; <paramref name="size"/> receives its expanded size (nodes, with every alias counted as its anchored subtree).</summary>
    private static object? ParseNode(IParser parser, ReadState st, int depth, out long size)
    {
        if (depth > DeepMdDocument.MaxDepth)
            throw new DpCompressException("DeepMdTreeTooDeep", ErrorKind.LimitsExceeded, $"The model tree of '{st.Full}' is nested deeper than {DeepMdDocument.MaxDepth} levels.", st.Full);
        st.Parsed++;
        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            if (!st.Anchors.TryGetValue(alias.Value.Value, out var target))
                throw new DpCompressException("DeepMdYamlUnsupported", ErrorKind.InvalidData, $"'{st.Full}' uses the unknown alias *{alias.Value}.", st.Full);
            size = target.Size;
            return target.Node;
        }
        object? result;
        string anchor;
        size = 1;
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            CheckTag(scalar.Tag, st);
            result = scalar.Style is ScalarStyle.Plain ? ResolvePlain(scalar.Value) : scalar.Value;
            if (scalar.Tag.IsEmpty == false && scalar.Tag.Value.EndsWith(":str", StringComparison.Ordinal)) result = scalar.Value;
            anchor = scalar.Anchor.IsEmpty ? "" : scalar.Anchor.Value;
        }
        else if (parser.TryConsume<SequenceStart>(out var seq))
        {
            CheckTag(seq.Tag, st);
            var list = new List<object?>();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                list.Add(ParseNode(parser, st, depth + 1, out long item));
                size += item;
                st.CheckExpanded(size);
            }
            result = list;
            anchor = seq.Anchor.IsEmpty ? "" : seq.Anchor.Value;
        }
        else if (parser.TryConsume<MappingStart>(out var map))
        {
            CheckTag(map.Tag, st);
            var dict = new PyDict();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = ParseNode(parser, st, depth + 1, out long keySize);
                var value = ParseNode(parser, st, depth + 1, out long valueSize);
                size += keySize + valueSize;
                st.CheckExpanded(size);
                dict[key switch { string s => s, null => "null", bool b => b ? "True" : "False", IFormattable f => f.ToString(null, CultureInfo.InvariantCulture), _ => key.ToString() ?? "" }] = value;
            }
            result = dict.TryGetValue("@class", out var cls) && cls is "np.ndarray" ? ToArray(dict, st) : dict;
            anchor = map.Anchor.IsEmpty ? "" : map.Anchor.Value;
        }
        else
        {
            var ev = parser.Current;
            throw new DpCompressException("DeepMdFileCorrupt", ErrorKind.InvalidData, $"'{st.Full}': unexpected YAML event {ev?.GetType().Name} at {ev?.Start}.", st.Full);
        }
        if (anchor.Length > 0) st.Anchors[anchor] = (result, size);
        return result;
    }

    private static void CheckTag(TagName tag, ReadState st)
    {
        if (tag.IsEmpty || tag.IsNonSpecific) return;
        if (!tag.Value.StartsWith("tag:yaml.org,2002:", StringComparison.Ordinal)
            || tag.Value[18..] is not ("str" or "int" or "float" or "bool" or "null" or "map" or "seq"))
            throw new DpCompressException("DeepMdYamlUnsupported", ErrorKind.InvalidData,
                $"'{st.Full}' uses the YAML tag '{tag.Value}', which a safe loader refuses.", st.Full);
    }

    [GeneratedRegex(@"^[-+]?(0|[1-9][0-9_]*)$")]
    private static partial Regex IntPattern();

    [GeneratedRegex(@"^[-+]?([0-9][0-9_]*)?(\.[0-9_]*)?([eE][-+]?[0-9]+)?$")]
    private static partial Regex FloatPattern();

    /// <summary>PyYAML's implicit resolution of a plain scalar (YAML 1.1 core subset).</summary>
    internal static object? ResolvePlain(string v)
    {
        switch (v)
        {
            case "" or "~" or "null" or "Null" or "NULL": return null;
            case "true" or "True" or "TRUE" or "yes" or "Yes" or "YES" or "on" or "On" or "ON": return true;
            case "false" or "False" or "FALSE" or "no" or "No" or "NO" or "off" or "Off" or "OFF": return false;
            case ".inf" or ".Inf" or ".INF" or "+.inf" or "+.Inf" or "+.INF": return double.PositiveInfinity;
            case "-.inf" or "-.Inf" or "-.INF": return double.NegativeInfinity;
            case ".nan" or ".NaN" or ".NAN": return double.NaN;
        }
        if (IntPattern().IsMatch(v))
        {
            string s = v.Replace("_", "");
            return long.TryParse(s, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long l) ? (object)l : double.Parse(s, CultureInfo.InvariantCulture);
        }
        if (v.Any(char.IsDigit) && FloatPattern().IsMatch(v)
            && double.TryParse(v.Replace("_", ""), NumberStyles.Float, CultureInfo.InvariantCulture, out double d))
            return d;
        return v;
    }

    /// <summary>{"@class": "np.ndarray", "dtype": "float64", "value": nested lists} → NdArray.</summary>
    private static NdArray ToArray(PyDict d, ReadState st)
    {
        string dtype = d.TryGetValue("dtype", out var dt) && dt is string s ? s : "";
        if (dtype is not ("float64" or "float32"))
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"'{st.Full}': an np.ndarray has dtype '{dtype}'; model arrays are float64 or float32.", st.Full);
        if (!d.TryGetValue("value", out var value))
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"'{st.Full}': an np.ndarray has no 'value'.", st.Full);
        var shape = new List<long>();
        var probe = value;
        while (probe is List<object?> l)
        {
            shape.Add(l.Count);
            if (shape.Count > 8)
                throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"'{st.Full}': an np.ndarray has more than 8 dimensions.", st.Full);
            probe = l.Count > 0 ? l[0] : null;
        }
        long count = shape.Aggregate(1L, (a, b) => a * b);
        st.Elements += count;
        if (st.Elements > DeepMdDocument.MaxArrayElements)
            throw new DpCompressException("DeepMdArrayTooLarge", ErrorKind.LimitsExceeded, $"'{st.Full}' holds more than {DeepMdDocument.MaxArrayElements} array elements.", st.Full);
        var values = new double[count];
        int pos = 0;
        Flatten(value, 0, shape, values, ref pos, st);
        if (dtype == "float64") return NdArray.FromDoubles(values, shape.ToArray());
        var single = values.Select(x => (float)x).ToArray();
        var bytes = new byte[single.Length * 4];
        Buffer.BlockCopy(single, 0, bytes, 0, bytes.Length);
        return new NdArray("<f4", shape.ToArray(), bytes);
    }

    private static void Flatten(object? node, int dim, List<long> shape, double[] values, ref int pos, ReadState st)
    {
        if (dim == shape.Count)
        {
            values[pos++] = node switch
            {
                double x => x,
                long x => x,
                _ => throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"'{st.Full}': an np.ndarray holds {DeepMdDocument.Describe(node)}, not a number.", st.Full),
            };
            return;
        }
        if (node is not List<object?> list || list.Count != shape[dim])
            throw new DpCompressException("DeepMdArrayInvalid", ErrorKind.InvalidData, $"'{st.Full}': an np.ndarray value is ragged (dimension {dim} should hold {shape[dim]} items).", st.Full);
        foreach (var item in list) Flatten(item, dim + 1, shape, values, ref pos, st);
    }
}
