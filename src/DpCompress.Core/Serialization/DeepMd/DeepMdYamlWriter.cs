using System.Globalization;
using System.Text;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace DpCompress.Core.Serialization.DeepMd;

/// <summary>
/// Writes a DeePMD-kit model tree as <c>yaml.safe_dump</c> does for DeePMD-kit's .yaml container: block style,
/// keys sorted by code point, every array as {"@class": "np.ndarray", "@is_variable": true, "@version": 1,
/// "dtype", "value": nested lists}, floats in Python repr (round-trip exact), strings quoted where a plain
/// scalar would read back as another type. Emitted with YamlDotNet's emitter.
/// </summary>
public static class DeepMdYamlWriter
{
    /// <summary>Writes <paramref name="root"/> to <paramref name="path"/> (UTF-8).</summary>
    public static void Write(PyDict root, string path)
    {
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false));
        var emitter = new Emitter(writer, 2, int.MaxValue);
        emitter.Emit(new StreamStart());
        emitter.Emit(new DocumentStart(null, null, true));
        EmitNode(emitter, root);
        emitter.Emit(new DocumentEnd(true));
        emitter.Emit(new StreamEnd());
    }

    private static void EmitNode(IEmitter e, object? node)
    {
        switch (node)
        {
            case PyDict d:
                e.Emit(new MappingStart(null, null, true, MappingStyle.Block));
                foreach (var kv in d.Items.OrderBy(kv => Convert.ToString(kv.Key, CultureInfo.InvariantCulture), StringComparer.Ordinal))
                {
                    EmitString(e, Convert.ToString(kv.Key, CultureInfo.InvariantCulture) ?? "");
                    EmitNode(e, kv.Value);
                }
                e.Emit(new MappingEnd());
                break;
            case List<object?> list:
                e.Emit(new SequenceStart(null, null, true, list.Count == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
                foreach (var item in list) EmitNode(e, item);
                e.Emit(new SequenceEnd());
                break;
            case NdArray a:
                e.Emit(new MappingStart(null, null, true, MappingStyle.Block));
                EmitString(e, "@class"); EmitString(e, "np.ndarray");
                EmitString(e, "@is_variable"); EmitPlain(e, "true");
                EmitString(e, "@version"); EmitPlain(e, "1");
                EmitString(e, "dtype"); EmitString(e, a.Kind == 'f' && a.ItemSize == 4 ? "float32" : "float64");
                EmitString(e, "value");
                var values = a.ToDoubleArray();
                int pos = 0;
                EmitArray(e, values, a.Shape, 0, ref pos);
                e.Emit(new MappingEnd());
                break;
            case null: EmitPlain(e, "null"); break;
            case string s: EmitString(e, s); break;
            case bool b: EmitPlain(e, b ? "true" : "false"); break;
            case long l: EmitPlain(e, l.ToString(CultureInfo.InvariantCulture)); break;
            case int i: EmitPlain(e, i.ToString(CultureInfo.InvariantCulture)); break;
            case double x: EmitPlain(e, PythonRepr.YamlFloat(x)); break;
            default:
                throw new DpCompressException("DeepMdWriteFailed", ErrorKind.InvalidData, $"The model tree holds a {node.GetType().Name}, which DeePMD-kit's format cannot hold.");
        }
    }

    private static void EmitArray(IEmitter e, double[] values, long[] shape, int dim, ref int pos)
    {
        if (dim == shape.Length)
        {
            EmitPlain(e, PythonRepr.YamlFloat(values[pos++]));
            return;
        }
        e.Emit(new SequenceStart(null, null, true, shape[dim] == 0 ? SequenceStyle.Flow : SequenceStyle.Block));
        for (long q = 0; q < shape[dim]; q++) EmitArray(e, values, shape, dim + 1, ref pos);
        e.Emit(new SequenceEnd());
    }

    private static void EmitPlain(IEmitter e, string text) => e.Emit(new Scalar(null, null, text, ScalarStyle.Plain, true, false));

    /// <summary>A string: plain when it reads back as the same string, else single-quoted (PyYAML's choice).</summary>
    private static void EmitString(IEmitter e, string s)
    {
        bool plainSafe = DeepMdYaml.ResolvePlain(s) is string back && back == s && s.Length > 0;
        e.Emit(new Scalar(null, null, s, plainSafe ? ScalarStyle.Any : ScalarStyle.SingleQuoted, true, true));
    }
}
