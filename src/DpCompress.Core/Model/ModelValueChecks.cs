namespace DpCompress.Core.Model;

/// <summary>
/// Plausibility of a model's physical values, checked when the model is read, so that a corrupt
/// or mis-edited value is reported as a problem of the model rather than surfacing later as a
/// misleading failure of the data (Rmax = 1e4 Å used to end as "the cell is too thin").
/// </summary>
/// <remarks>
/// The cutoff bound: a sphere of radius R_max holds n ≈ (4π/3)·R_max³·ρ atoms. Solids and
/// liquids have ρ ≈ 0.03–0.1 atoms/Å³ (Ag 0.059, water 0.1), so at R_max = 30 Å a single
/// neighbour list would hold 3,400–11,000 atoms, more than any DP model's max_neigh_num, and
/// the descriptor would no longer be local. Published DP models use 4–12 Å (PWMLFF's default
/// 6 Å, DeePMD-kit's examples 6–9 Å).
/// </remarks>
public static class ModelValueChecks
{
    /// <summary>Largest accepted cutoff R_max (Å); see the remarks of the class.</summary>
    public const double MaxCutoff = 30.0;

    /// <summary>
    /// Refuses a cutoff no DP model uses, naming the model value at fault.
    /// </summary>
    /// <param name="rmax">R_max (Å).</param>
    /// <param name="key">Where the value comes from, e.g. json_file.model.descriptor.Rmax.</param>
    /// <param name="path">The model file.</param>
    /// <exception cref="DpCompressException">ModelCutoffImplausible (InvalidData).</exception>
    public static void CheckCutoff(double rmax, string key, string? path)
    {
        if (rmax <= MaxCutoff) return;
        throw new DpCompressException("ModelCutoffImplausible", ErrorKind.InvalidData,
            $"The model's cutoff is implausible: {key} = {rmax:G6} Å. DP models use a few ångström (PWMLFF's default is 6 Å); " +
            $"above {MaxCutoff:G3} Å a neighbour list would hold thousands of atoms and the descriptor is no longer local. " +
            "The checkpoint is corrupt or the value was edited by mistake; correct it in the model's settings.", path);
    }
}
