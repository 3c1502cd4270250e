using System.Diagnostics;
using DpCompress.Core.Inference;
using DpCompress.Core.Model;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;

namespace DpCompress.Core.Verification;

/// <summary>Progress of a verification: configurations done out of the total.</summary>
/// <param name="Completed">Configurations evaluated so far.</param>
/// <param name="Total">Configurations to evaluate.</param>
/// <param name="Current">Label of the configuration just finished.</param>
public sealed record VerificationProgress(int Completed, int Total, string? Current)
{
    public int PercentComplete => Total == 0 ? 100 : (int)(100L * Completed / Total);
}

/// <summary>
/// Checks a compressed model against its original: both are evaluated on every configuration
/// (sharing one neighbour list per configuration), compared, and compared with the DFT labels.
/// </summary>
public static class Verifier
{
    /// <summary>
    /// Evaluates <paramref name="compressedModel"/> and the original on every configuration and
    /// reports the differences against <paramref name="tolerances"/>.
    /// </summary>
    /// <param name="compressedModel">The model with a compression table.</param>
    /// <param name="referenceModel">The original model; null uses the compressed model's own nets (<c>WithCompression(null)</c>).</param>
    /// <param name="configurations">Configurations to evaluate (DFT labels, when present, are compared too).</param>
    /// <param name="tolerances">Tolerances, or null for <see cref="VerificationTolerances.Default"/>.</param>
    /// <param name="engineFactory">Creates an engine for a model; null uses the <see cref="ReferenceEngine"/>.</param>
    /// <param name="progress">Receives one report per configuration.</param>
    /// <param name="cancellationToken">Stops between configurations (and inside the engines).</param>
    /// <param name="pwmlffRuntimeEngineFactory">When not null: creates an engine that evaluates the compressed model as
    /// PWMLFF's runtime does (<see cref="Compression.TableRuntime.Pwmlff"/>); every configuration is then also evaluated
    /// with it and compared with the original (<see cref="VerificationReport.PwmlffRuntime"/>).</param>
    /// <param name="verdictFromPwmlffRuntime">True: PWMLFF's runtime, not DpCompress's evaluation, decides the verdict.</param>
    /// <exception cref="DpCompressException">ModelNotCompressed, ReferenceModelMismatch, NoConfigurations.</exception>
    /// <remarks>A configuration that cannot be evaluated (element not in the model, too many neighbours…) is
    /// skipped and listed in <see cref="VerificationReport.Skipped"/>; the others go on.</remarks>
    public static VerificationReport Verify(
        DpModel compressedModel,
        DpModel? referenceModel,
        IEnumerable<Configuration> configurations,
        VerificationTolerances? tolerances = null,
        Func<DpModel, IDpEngine>? engineFactory = null,
        IProgress<VerificationProgress>? progress = null,
        CancellationToken cancellationToken = default,
        Func<DpModel, IDpEngine>? pwmlffRuntimeEngineFactory = null,
        bool verdictFromPwmlffRuntime = false)
    {
        ArgumentNullException.ThrowIfNull(compressedModel);
        ArgumentNullException.ThrowIfNull(configurations);
        if (compressedModel.Compression is null)
            throw new DpCompressException("ModelNotCompressed", ErrorKind.InvalidArgument,
                "The model to verify has no compression table; compress it first.", compressedModel.SourcePath);
        var original = referenceModel ?? compressedModel.WithCompression(null);
        if (original.Compression is not null)
            throw new DpCompressException("ReferenceModelMismatch", ErrorKind.InvalidArgument,
                "The reference model is itself compressed; pass the original (uncompressed) model.", original.SourcePath);
        if (!original.AtomTypes.SequenceEqual(compressedModel.AtomTypes) || original.Rmax != compressedModel.Rmax || original.Rmin != compressedModel.Rmin
            || original.MaxNeighbors != compressedModel.MaxNeighbors || original.M2 != compressedModel.M2 || original.EmbeddingWidth != compressedModel.EmbeddingWidth)
            throw new DpCompressException("ReferenceModelMismatch", ErrorKind.InvalidArgument,
                $"The reference model ({original}) does not match the compressed model ({compressedModel}): atom types, cutoffs, max_neigh_num, M2 and embedding width must agree.",
                original.SourcePath);
        var configs = configurations.ToList();
        if (configs.Count == 0)
            throw new DpCompressException("NoConfigurations", ErrorKind.InvalidArgument, "No configurations to verify the model on.");
        tolerances ??= VerificationTolerances.Default;
        engineFactory ??= m => new ReferenceEngine(m);

        using var compressedEngine = engineFactory(compressedModel);
        using var originalEngine = engineFactory(original);
        if (verdictFromPwmlffRuntime && pwmlffRuntimeEngineFactory is null)
            throw new ArgumentException("The verdict can come from PWMLFF's runtime only when it is evaluated.", nameof(verdictFromPwmlffRuntime));
        using var runtimeEngine = pwmlffRuntimeEngineFactory?.Invoke(compressedModel);
        var rows = new List<VerificationRow>(configs.Count);
        var skipped = new List<SkippedConfiguration>();
        var tc = new PhaseTimings();
        var to = new PhaseTimings();
        double neighborSeconds = 0;
        var sw = new Stopwatch();
        var lists = new NeighborListBuffer();   // each search rebuilds the list in the same arrays (no fresh pages per configuration)
        for (int q = 0; q < configs.Count; q++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var c = configs[q];
            string label = $"{c.Name ?? c.Formula}[{c.Index}]";
            try
            {
                sw.Restart();
                NeighborList nl = lists.Build(c, original);
                neighborSeconds += sw.Elapsed.TotalSeconds;
                var pc = compressedEngine.Evaluate(c, nl, tc, cancellationToken);
                var po = originalEngine.Evaluate(c, nl, to, cancellationToken);
                var pr = runtimeEngine?.Evaluate(c, nl, null, cancellationToken);
                rows.Add(new VerificationRow(pc, po, PredictionComparer.Compare(pc, po))
                {
                    PwmlffRuntime = pr,
                    PwmlffRuntimeVsOriginal = pr is null ? null : PredictionComparer.Compare(pr, po),
                });
            }
            catch (DpCompressException e) when (e.Kind is ErrorKind.InvalidArgument or ErrorKind.InvalidData or ErrorKind.LimitsExceeded)
            {
                skipped.Add(new SkippedConfiguration(label, e.ErrorId, e.Message));
            }
            progress?.Report(new VerificationProgress(q + 1, configs.Count, label));
        }
        return new VerificationReport(rows, skipped, tolerances, compressedEngine.Kind.ToString(),
            compressedModel.Order, compressedModel.Dx, tc, to, neighborSeconds,
            runtimeEngine is null ? null : new RuntimeVerification(rows, tolerances, compressedModel.Compression.Grid, verdictFromPwmlffRuntime),
            compressedModel.Compression.Grid.SMax);
    }
}
