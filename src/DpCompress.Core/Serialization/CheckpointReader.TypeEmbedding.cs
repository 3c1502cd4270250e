using DpCompress.Core.Model;

namespace DpCompress.Core.Serialization;

/// <summary>
/// The type-embedding part of the checkpoint reader (fixtures/agau_te/README.md §1–§4):
/// recognising the flavour, its property list and its one shared embedding net.
/// </summary>
/// <remarks>
/// Errors (<see cref="DpCompressException"/>, InvalidData): <c>CheckpointInvalidValue</c> (a
/// malformed type_embedding entry), <c>TypeEmbeddingUnknownProperty</c>,
/// <c>TypeEmbeddingPropertyMissing</c> (from <see cref="ElementProperties"/>),
/// <c>TypeEmbeddingInputMismatch</c> (first-layer width ≠ 1 + number of properties).
/// </remarks>
public static partial class CheckpointReader
{
    /// <summary>
    /// The model's physical_property list when <c>json_file.model.descriptor.type_embedding</c> marks a
    /// type-embedding model, else null. PWMLFF writes a dict {"physical_property": [...]} (default list
    /// when the key is absent); a bare <c>true</c> also means the default list; false/None/absent = plain DP.
    /// Unknown names fail here, before any net is read.
    /// </summary>
    private static string[]? TypeEmbeddingProperties(PyDict descriptor, Context ctx)
    {
        if (!descriptor.TryGetValue("type_embedding", out var te) || te is null or false) return null;
        const string key = "json_file.model.descriptor.type_embedding";
        string[] properties;
        if (te is true) properties = ElementProperties.DefaultProperties.ToArray();
        else if (te is PyDict d)
        {
            if (d.TryGetValue("network_size", out var ns) && ns is not null && !(ns is List<object?> { Count: 0 }))
                throw new DpCompressException("TypeEmbeddingNotSupported", ErrorKind.NotImplemented,
                    $"The checkpoint{ctx.Where} is a type-embedding model with an extra type net ({key}.network_size); PWMLFF never applies that net, " +
                    "and DpCompress supports only the default layout (one shared embedding net fed with the raw property vector).", ctx.Path);
            if (!d.TryGetValue("physical_property", out var pp) || pp is null)
                properties = ElementProperties.DefaultProperties.ToArray();
            else
            {
                var items = pp switch
                {
                    List<object?> l => l.ToArray(),
                    PyTuple t => t.Items,
                    _ => throw ctx.Invalid(key + ".physical_property", "a list of property names", pp),
                };
                properties = items.Select(i => i as string ?? throw ctx.Invalid(key + ".physical_property", "a list of property names", pp)).ToArray();
                if (properties.Length == 0) throw ctx.Invalid(key + ".physical_property", "a non-empty list of property names", pp);
            }
        }
        else throw ctx.Invalid(key, "a dict (or true/false)", te);
        foreach (var p in properties)
            if (!ElementProperties.PropertyNames.Contains(p))
                throw new DpCompressException("TypeEmbeddingUnknownProperty", ErrorKind.InvalidData,
                    $"The checkpoint{ctx.Where} names the type-embedding property '{p}', which is not in PWMLFF's element table; known properties: {string.Join(", ", ElementProperties.PropertyNames)}.", ctx.Path);
        return properties;
    }

    /// <summary>
    /// Reads <c>embedding_net.0</c> as the shared net (first weight [(1+P), m], later layers as
    /// json_file's network_size), computes the type vectors of json_file.atom_type and folds them
    /// (<see cref="TypeEmbedding"/>).
    /// </summary>
    private static TypeEmbedding ReadTypeEmbedding(PyDict stateDict, string[] properties, int[] atomTypes, int[] embSizes,
        Context ctx, HashSet<string> precisions)
    {
        const string prefix = "embedding_net.0.layers";
        int p = properties.Length;
        string wKey = prefix + ".0.weight";
        var w0 = ctx.Tensor(ctx.Required(stateDict, wKey, $"state_dict['{wKey}']"), $"state_dict['{wKey}']");
        if (w0.Shape.Length != 2 || w0.Shape[0] != 1 + p)
            throw new DpCompressException("TypeEmbeddingInputMismatch", ErrorKind.InvalidData,
                $"The checkpoint{ctx.Where} is inconsistent: the shared embedding net's first layer state_dict['{wKey}'] has shape [{string.Join(",", w0.Shape)}], " +
                $"but the input [s, {string.Join(", ", properties)}] has 1 + {p} = {1 + p} entries.", ctx.Path);
        var layers = new DenseLayer[embSizes.Length];
        for (int l = 0; l < embSizes.Length; l++)
            layers[l] = ReadLayer(stateDict, $"{prefix}.{l}", l == 0 ? 1 + p : embSizes[l - 1], embSizes[l], ctx, precisions);
        layers[0] = layers[0].WithoutSkip();
        var shared = new EmbeddingNet(layers);
        var vectors = atomTypes.Select(z => ElementProperties.TypeVector(properties, z, ctx.Path)).ToArray();
        return new TypeEmbedding(properties, vectors, shared);
    }
}
