namespace DpCompress.Core.Serialization;

// The Python object graph of a checkpoint, as the safe unpickler builds it and the pickler writes it.
// Python int → long (or System.Numerics.BigInteger when too large), float → double, str → string,
// bytes → byte[], bool → bool, None → null, list → List<object?>, tuple → PyTuple,
// dict → PyDict (ordered), collections.OrderedDict → PyDict with IsOrdered = true,
// numpy.ndarray → NdArray, numpy scalar → NdArray with an empty shape, torch tensor → TorchTensor.

/// <summary>
/// An insertion-ordered Python dict (keys are strings, longs or other hashable values). Look-up and
/// insertion are hashed (O(1)), so reading a dict of n keys is O(n) even from a hostile file.
/// </summary>
public sealed class PyDict
{
    private readonly List<KeyValuePair<object, object?>> _items = new();
    private readonly Dictionary<object, int> _index = new();

    /// <summary>True for collections.OrderedDict (written back as such).</summary>
    public bool IsOrdered { get; init; }

    /// <summary>
    /// Instance attributes set by pickle BUILD (Python <c>__dict__</c>), e.g. the <c>_metadata</c>
    /// of a torch state_dict OrderedDict; null when there are none. Written back after the items.
    /// </summary>
    public PyDict? Attributes { get; set; }

    public int Count => _items.Count;

    public IEnumerable<object> Keys => _items.Select(p => p.Key);

    public IReadOnlyList<KeyValuePair<object, object?>> Items => _items;

    public bool ContainsKey(object key) => IndexOf(key) >= 0;

    public object? this[object key]
    {
        get
        {
            int i = IndexOf(key);
            if (i < 0) throw new KeyNotFoundException($"Key '{key}' is not in the dictionary.");
            return _items[i].Value;
        }
        set
        {
            int i = IndexOf(key);
            if (i < 0)
            {
                _index[key] = _items.Count;
                _items.Add(new(key, value));
            }
            else _items[i] = new(key, value);
        }
    }

    public bool TryGetValue(object key, out object? value)
    {
        int i = IndexOf(key);
        value = i >= 0 ? _items[i].Value : null;
        return i >= 0;
    }

    public bool Remove(object key)
    {
        int i = IndexOf(key);
        if (i < 0) return false;
        _items.RemoveAt(i);
        _index.Remove(key);
        for (int j = i; j < _items.Count; j++) _index[_items[j].Key] = j;
        return true;
    }

    /// <summary>Makes room for <paramref name="capacity"/> items without regrowing.</summary>
    public void EnsureCapacity(int capacity)
    {
        _items.EnsureCapacity(capacity);
        _index.EnsureCapacity(capacity);
    }

    /// <summary>A shallow copy (same values, new key list).</summary>
    public PyDict ShallowCopy()
    {
        var copy = new PyDict { IsOrdered = IsOrdered, Attributes = Attributes };
        foreach (var kv in _items) copy._items.Add(kv);
        foreach (var kv in _index) copy._index.Add(kv.Key, kv.Value);
        return copy;
    }

    private int IndexOf(object key) => _index.TryGetValue(key, out int i) ? i : -1;
}

/// <summary>A Python tuple.</summary>
public sealed class PyTuple
{
    public PyTuple(params object?[] items) => Items = items;

    public object?[] Items { get; }

    public int Count => Items.Length;

    public object? this[int i] => Items[i];
}
