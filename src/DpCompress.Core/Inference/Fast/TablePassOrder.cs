namespace DpCompress.Core.Inference.Fast;

/// <summary>
/// How the fast engine orders the four passes of a compressed model: the table forward (A_i, D_i),
/// the fitting nets forward and backward, and the table backward (dE/dR per slot). Results are the
/// same bits in either order: every atom's sums run in the same order.
/// </summary>
public enum TablePassOrder
{
    /// <summary>
    /// <see cref="AtomChunks"/>. Measured side by side on the 500-atom five-element cell (one thread), chunks
    /// were faster for orders 3 and 5 at dx 0.01 (≈ 10 %) and much faster at dx 0.001 (25–35 %), where a
    /// net's table (14 MB) is far larger than L2.
    /// </summary>
    Auto,
    /// <summary>Each pass over all atoms before the next (the order of an original model; a diagnostic for compressed ones).</summary>
    PhaseByPhase,
    /// <summary>
    /// All four passes per chunk of a few atoms of one type: the table rows the chunk's slots read in
    /// the forward are still in L2 for its backward, so a table far larger than the cache is read from
    /// memory once per evaluation instead of twice.
    /// </summary>
    AtomChunks,
}
