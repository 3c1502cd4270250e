using System.Management.Automation;
using DpCompress.Core;
using DpCompress.Core.Compression;
using DpCompress.Core.Model;

namespace DpCompress.PowerShell.Commands;

/// <summary>
/// Replaces every embedding net of a model by piecewise polynomials of order 3 (Hermite) or 5
/// on a uniform s grid (SPEC §3) and returns the compressed model; the input is unchanged.
/// </summary>
[Cmdlet(VerbsLifecycle.Invoke, "DpCompression")]
[OutputType(typeof(DpModel))]
public sealed class InvokeDpCompressionCommand : DpCmdlet
{
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    [ValidateNotNull]
    public DpModel Model { get; set; } = null!;

    /// <summary>Inner grid step in normalised s (default 0.01; the outer grid uses 10·dx).</summary>
    [Parameter]
    public double Dx { get; set; } = 0.01;

    /// <summary>Polynomial order: 3 (Hermite, matches y and y′) or 5 (also y″).</summary>
    [Parameter]
    [ValidateSet("3", "5")]
    public int Order { get; set; } = 3;

    /// <summary>A grid from New-SijGrid (e.g. from a training-data scan); its dx is used.</summary>
    [Parameter]
    public SijGrid? Grid { get; set; }

    /// <summary>Pwmlff (default for PWMLFF models): a grid PWMLFF's runtime evaluates exactly (dyadic dx ≤ -Dx,
    /// aligned start, inner end above every pair distance met). Exact: exactly the -Dx typed. Ignored with -Grid.</summary>
    [Parameter]
    public TableLayout Layout { get; set; }

    /// <summary>Compress an already compressed model again (from the nets it keeps).</summary>
    [Parameter]
    public SwitchParameter Force { get; set; }

    /// <summary>DeePMD-kit models: the smallest interatomic distance of the training data (Å), which sets the table range.</summary>
    [Parameter]
    [Alias("MinNborDist")]
    public double? MinNeighborDistance { get; set; }

    /// <summary>DeePMD-kit models: training configurations (Configuration objects or paths) scanned for min_nbor_dist.</summary>
    [SupportsWildcards]
    [Parameter]
    [ValidateNotNullOrEmpty]
    public object[]? TrainingData { get; set; }

    /// <summary>DeePMD-kit models: the table reaches Extrapolate·upper (dp compress -e, default 5).</summary>
    [Parameter]
    public double Extrapolate { get; set; } = DeepMdCompression.DefaultExtrapolate;

    /// <summary>Threads used (default: all cores).</summary>
    [Parameter]
    [ValidateRange(1, 1024)]
    public int ThrottleLimit { get; set; } = Environment.ProcessorCount;

    protected override void ProcessRecord()
    {
        if (Model.IsCompressed && !Force)
        {
            WriteDpError(new DpCompressException("ModelAlreadyCompressed", ErrorKind.InvalidOperation,
                $"The model is already compressed (order {Model.Order}, dx {Model.Dx}). Use -Force to compress it again from its embedding nets.", Model.SourcePath));
            return;
        }
        if (Model.Flavour == ModelFlavour.DeepMdSeE2A)
        {
            CompressDeepMd();
            return;
        }
        double dx = Dx;
        var grid = Grid;
        if (grid is not null)
        {
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Dx)) && Dx != grid.Dx && Dx != grid.RequestedDx)
                ThrowDpError(new DpCompressException("GridDxMismatch", ErrorKind.InvalidArgument, $"-Dx {Dx} differs from the grid's dx {grid.Dx}; give one of them."));
            if (MyInvocation.BoundParameters.ContainsKey(nameof(Layout)) && Layout != grid.Layout)
                ThrowDpError(new DpCompressException("GridLayoutMismatch", ErrorKind.InvalidArgument, $"-Layout {Layout} differs from the grid's layout {grid.Layout}; give one of them."));
        }
        try
        {
            if (grid is null)
            {
                var layout = MyInvocation.BoundParameters.ContainsKey(nameof(Layout)) ? Layout : RuntimeLayout.DefaultFor(Model);
                grid = RuntimeLayout.BuildGrid(Model, layout, dx, Order);
            }
            dx = grid.Dx;
            WriteVerbose(DescribeGrid(grid));
            var table = RunWithProgress($"Compressing {Model.TableNets.Count} embedding nets (order {Order}, dx {dx})", (report, ct) =>
                Compressor.Compress(Model, dx, Order, grid,
                    new Progress<CompressionProgress>(p => report(p.NetsDone, p.NetCount, $"net {p.NetsDone}/{p.NetCount}")),
                    ct, ThrottleLimit));
            WriteVerbose($"Table: {table.NetCount} nets x {table.Rows} rows x {table.Width} x {table.Order + 1} ({table.SizeInBytes / 1048576.0:F1} MiB); max |table − net| {table.InnerMaxValueError:E2} in the training range ({table.MaxValueError:E2} over the whole table), derivative {table.InnerMaxDerivativeError:E2}.");
            WriteObject(Model.WithCompression(table));
        }
        catch (DpCompressException e)
        {
            ThrowDpError(e, Model.SourcePath);
        }
    }

    /// <summary>DeePMD-kit's own table (quintic, range from min_nbor_dist, strides dx and 10·dx to Extrapolate·upper).</summary>
    private void CompressDeepMd()
    {
        if (MyInvocation.BoundParameters.ContainsKey(nameof(Order)) && Order != 5)
            ThrowDpError(new DpCompressException("DeepMdOrderNotSupported", ErrorKind.InvalidArgument,
                "DeePMD-kit's compressed format holds quintic tables only: omit -Order or give -Order 5.", Model.SourcePath));
        if (Grid is not null)
            ThrowDpError(new DpCompressException("DeepMdGridNotSupported", ErrorKind.InvalidArgument,
                "DeePMD-kit models take their table range from min_nbor_dist: use -MinNeighborDistance or -TrainingData instead of -Grid.", Model.SourcePath));
        try
        {
            double minDist;
            SijMaxSource source;
            if (MinNeighborDistance is double given) { minDist = given; source = SijMaxSource.User; }
            else if (TrainingData is not null)
            {
                var configurations = ResolveConfigurations(TrainingData);
                if (configurations.Count == 0)
                    throw new DpCompressException("NoTrainingData", ErrorKind.InvalidArgument, "-TrainingData gave no configurations.");
                minDist = RunWithProgress("Scanning training data for min_nbor_dist", (report, ct) =>
                    DeepMdCompression.ScanMinNeighborDistance(Model, configurations, ct));
                source = SijMaxSource.TrainingData;
            }
            else if (DeepMdCompression.StoredMinNeighborDistance(Model) is double stored) { minDist = stored; source = SijMaxSource.Checkpoint; }
            else
                throw new DpCompressException("MinNeighborDistanceMissing", ErrorKind.InvalidArgument,
                    "The model file holds no min_nbor_dist: give -MinNeighborDistance (Å) or -TrainingData to measure it.", Model.SourcePath);
            WriteVerbose($"min_nbor_dist {minDist:R} Å ({source}); table range {DeepMdCompression.Range(Model, minDist)}.");
            var compressed = RunWithProgress($"Compressing {Model.EmbeddingNets.Length} embedding nets as DeePMD-kit does (quintic, stride {Dx})", (report, ct) =>
                DeepMdCompression.Compress(Model, minDist, Dx, Extrapolate, DeepMdCompression.DefaultCheckFrequency, source,
                    new Progress<CompressionProgress>(p => report(p.NetsDone, p.NetCount, $"net {p.NetsDone}/{p.NetCount}")), ct, ThrottleLimit));
            var table = compressed.Compression!;
            WriteVerbose($"Table: {table.NetCount} nets x {table.Rows} rows x {table.Width} x 6; max |table − net| {table.InnerMaxValueError:E2} in [lower, upper], derivative {table.InnerMaxDerivativeError:E2}.");
            WriteObject(compressed);
        }
        catch (DpCompressException e)
        {
            ThrowDpError(e, Model.SourcePath);
        }
    }
}
