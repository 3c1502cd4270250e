namespace DpCompress.Core.Model;

/// <summary>Floating-point precision a model was trained and stored in.</summary>
/// <remarks>DpCompress computes in float64 always; a Float32 model's weights are widened on
/// import and tolerances in tests follow the stored precision (1e-10 vs 1e-5).</remarks>
public enum Precision
{
    Float64,
    Float32,
}
