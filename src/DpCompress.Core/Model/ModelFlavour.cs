namespace DpCompress.Core.Model;

/// <summary>Which kind of Deep Potential model a <see cref="DpModel"/> holds (SPEC §7).</summary>
public enum ModelFlavour
{
    /// <summary>PWMLFF DP: one embedding net per (centre type, neighbour type) pair (SPEC §2).</summary>
    PwmlffDp,

    /// <summary>PWMLFF type-embedding DP: one shared net fed with [s̃, property vector of the neighbour's element].</summary>
    PwmlffTypeEmbedding,

    /// <summary>DeePMD-kit se_e2_a, read from a DeePMD-kit v3 serialized model (.dp or .yaml).</summary>
    DeepMdSeE2A,
}
