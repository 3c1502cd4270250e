@{
    Synopsis    = 'Draws accuracy or timing results as a PNG chart: error against dx, time per phase, or speedup.'
    Description = @'
Export-DpChart collects every object from the pipeline and writes one PNG chart (ScottPlot):

- ErrorVsDx: log-log chart of an error property (-ErrorProperty, default MaxForceError) against the grid step Dx, one series (markers and lines) per polynomial Order, whose legend gives the convergence order p fitted as Measure-DpConvergence does (for example "order 3, p = 3.00"). Needs the properties Dx, Order and the error property, as the reports of Test-CompressedModel -Detailed carry them. Axis units follow the property name: eV/Å for force errors, eV/atom for energy and virial errors (DpCompress reports both per atom).
- PhaseBreakdown: stacked bars of the time per inference phase (NeighborSearchMs, EnvironmentMs, EmbeddingMs, DescriptorMs, FittingMs, BackwardMs), one bar per object labelled by its Label property, with the sum of the phases ("Σ phases") and the share of embedding + backward printed above each bar. Measure-DpInference gives each phase as its mean per pass, so that sum can differ from TotalMs, the median pass. When the totals differ by more than 30 times (the reference and the fast engine, say), each bar shows the shares of its own pass in % instead, so that short bars stay readable. Measure-DpInference emits such objects.
- Speedup: bars of TotalMs (or the property named by -TimeProperty, such as ModelMs) per Label, annotated with the time and the speedup over the first object (the baseline). When the times differ by more than 30 times, the time axis is logarithmic so that the fast bars stay visible.

When -Kind is omitted it is inferred from the first object: Dx, Order and the error property give ErrorVsDx, EmbeddingMs gives PhaseBreakdown, TotalMs gives Speedup.

A missing property stops the command with the error id ChartPropertyMissing, naming the property and the object. Like Export-Csv, the cmdlet refuses to overwrite an existing file without -Force (ChartFileExists), supports -WhatIf and -Confirm, writes a hidden temporary file beside the target and renames it (removing stale ones an earlier, killed export left), and returns the written file with -PassThru.
'@
    Parameters  = @{
        InputObject   = 'The objects to draw. Pipe accuracy reports (Dx, Order, an error property) or timings (Label, TotalMs and the per-phase *Ms properties); hashtables and [pscustomobject]s with those keys work too.'
        Path          = 'The PNG file to write. The directory must exist.'
        LiteralPath   = 'The PNG file to write, used exactly as typed (no wildcard characters are interpreted).'
        Kind          = 'The chart to draw: ErrorVsDx, PhaseBreakdown or Speedup. Inferred from the first input object when omitted.'
        ErrorProperty = 'ErrorVsDx only: the property plotted on the y axis, for example MaxForceError, MaxEnergyError or RmsForceError. Its unit on the axis label is guessed from its name.'
        TimeProperty  = 'Speedup only: the time property drawn, TotalMs (default, the whole pass) or ModelMs (the model alone, without the neighbour search, as Measure-DpInference''s Speedup property uses).'
        Title         = 'The chart title. By default a title that names what is shown.'
        Width         = 'The image width in pixels (200 to 10000).'
        Height        = 'The image height in pixels (150 to 10000).'
        Force         = 'Overwrites an existing file.'
        PassThru      = 'Returns the written file as a FileInfo object. By default the cmdlet writes nothing to the pipeline.'
    }
    Defaults    = @{ Kind = 'inferred from the input' }
    Outputs     = @{
        'System.IO.FileInfo' = 'With -PassThru, the written PNG file.'
    }
    Examples    = @(
        @{
            Title   = 'Error against grid step from hand-made results'
            Code    = @'
$results = foreach ($dx in 0.001, 0.01, 0.1) {
    [pscustomobject]@{ Dx = $dx; Order = 3; MaxForceError = 4e-7 * [math]::Pow($dx / 0.01, 4) }
    [pscustomobject]@{ Dx = $dx; Order = 5; MaxForceError = 1e-11 * [math]::Pow($dx / 0.01, 6) }
}
$results | Export-DpChart -Path error-vs-dx.png -PassThru
'@
            Remarks = 'Draws a log-log chart with one line per order (legend "order 3, p = …", "order 5, p = …" with the fitted convergence orders) and returns the PNG file. The kind (ErrorVsDx) is inferred from the Dx and Order properties.'
        }
        @{
            Title   = 'Accuracy of real compressions'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$data = Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14
$reports = foreach ($order in 3, 5) {
    foreach ($dx in 0.1, 0.03, 0.01) {
        $model | Invoke-DpCompression -Dx $dx -Order $order | Test-CompressedModel -Reference $model -Data $data -Detailed
    }
}
$reports | Export-DpChart -Path force-error.png -Title 'Ag-Au model: compressed vs original'
$reports | Export-DpChart -Path energy-error.png -ErrorProperty MaxEnergyError
'@
            Remarks = 'Compresses the Ag-Au model at three grid steps with both orders, compares each compressed model with the original on the Ag10Au14 configurations, and draws the largest force and energy differences. The reports of Test-CompressedModel -Detailed carry Dx, Order, MaxForceError, MaxEnergyError and MaxVirialError.'
        }
        @{
            Title   = 'Where the inference time goes, and the speedup'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$compressed = $model | Invoke-DpCompression -Dx 0.01 -Order 3
$data = Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14
$timings = $model, $compressed | Measure-DpInference -Data $data -Repeat 3 -Warmup 1
$timings | Export-DpChart -Path phases.png -Kind PhaseBreakdown
$timings | Export-DpChart -Path speedup.png -Kind Speedup -Width 1200 -Height 700 -Force
$timings | Export-DpChart -Path model-speedup.png -Kind Speedup -TimeProperty ModelMs
'@
            Remarks = 'Times the original and the compressed model, then draws the per-phase split (with the share of embedding + backward above each bar), the total times with the speedup of the compressed model over the original, and the same for the model time alone (without the neighbour search).'
        }
        @{
            Title   = 'Preview without writing'
            Code    = @'
[pscustomobject]@{ Label = 'original'; TotalMs = 420 }, [pscustomobject]@{ Label = 'compressed'; TotalMs = 35 } |
    Export-DpChart -LiteralPath 'speedup [draft].png' -WhatIf
'@
            Remarks = '-WhatIf checks the input and reports the file it would write, without writing it. -LiteralPath takes the brackets in the name literally.'
        }
    )
    Notes       = @'
Charts are drawn with ScottPlot 5 on SkiaSharp; the native libSkiaSharp.so ships in the module folder. Text uses the DejaVu Sans font when the system has it.

Points whose Dx or error is zero, negative or not finite cannot be shown on log axes: ErrorVsDx leaves them out with a warning.
'@
    Links       = @('Test-CompressedModel', 'Measure-DpInference', 'Invoke-DpCompression')
}
