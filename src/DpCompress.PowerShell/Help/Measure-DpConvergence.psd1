@{
    Synopsis    = 'Fits the convergence order p of a compression sweep: error ≈ C · dx^p, per table order and quantity.'
    Description = @'
Measure-DpConvergence takes the results of a sweep, that is several compressions of one model at different grid steps, each verified with Test-CompressedModel -Detailed, and fits for every table order and every error quantity the law error ≈ C · dx^p by least squares on log-log axes (MathNet.Numerics Fit.Line on ln dx and ln error). It returns one ConvergenceOrder per order and quantity with the fitted order P, the prefactor C, the R² of the fit and the grid steps used.

Only the asymptotic range is fitted. Starting from the finest step, a step is left out while its local slope (ln of the error ratio over ln of the dx ratio to the previous step) is below 1, or (when two earlier local slopes exist) below 2/3 of their median: near the float64 round-off floor the error is C·dx^p plus a constant, and its local slope drops below 2/3·p once that constant is more than a third of the error (order 5 at dx 0.005 and below gives about 2e-15 eV/atom and 1e-11 eV/Å, no lower than at dx 0.01). Such steps would pull p towards 0; they are listed in the "dx at floor" column (ExcludedDx). Only the fine end is trimmed: a noisy step inside the range stays in and shows in R². With fewer than two steps left, P is empty and a warning says so.

What to expect: a table of order q interpolates each embedding net with an error of order dx^(q+1), which the energy inherits; forces and virials use the table's first derivative and converge one order lower, dx^q. On the shipped Ag-Au model the fitted orders are about 4 (energy) and 3 (force, virial) for order 3, and about 6 and 5 for order 5.
'@
    Parameters  = @{
        InputObject = 'The sweep results: objects with Order, Dx and the error properties, usually from Test-CompressedModel -Detailed. Hashtables and custom objects with these keys work too.'
        Quantity    = 'The error properties to fit. Default: MaxEnergyError (eV/atom), MaxForceError (eV/Å) and MaxVirialError (eV/atom).'
    }
    Inputs      = @{
        'System.Management.Automation.PSObject' = 'Sweep results with Order, Dx and the error properties.'
    }
    Outputs     = @{
        'DpCompress.Core.Verification.ConvergenceOrder' = 'One fit per table order and quantity: TableOrder, Quantity, Unit, P, Prefactor, RSquared, PointCount, Points and Fit (UsedDx, ExcludedDx).'
    }
    Examples    = @(
        @{
            Title   = 'The convergence order of both table orders'
            Code    = @'
$model = Import-DpModel ./tests/data/agau/dp_model.ckpt
$data = Import-DpConfiguration ./tests/data/agau/PWdata/Ag10Au14
$sweep = foreach ($o in 3, 5) { foreach ($dx in 0.2, 0.1, 0.05) {
    $model | Invoke-DpCompression -Order $o -Dx $dx | Test-CompressedModel -Data $data -Detailed -WarningAction SilentlyContinue } }
$sweep | Measure-DpConvergence
'@
            Remarks = 'Six compressions, six verifications, then one row per order and quantity with the fitted p. The default layout turns -Dx 0.2, 0.1 and 0.05 into 2^-3, 2^-4 and 2^-5 (the dx fitted column reads 0.125, 0.0625, 0.03125). On these coarse steps p is 3.59, 2.91 and 2.69 for order 3 (energy, force, virial) and 5.92, 4.81 and 4.93 for order 5, below the 4, 3, 3 and 6, 5, 5 that the finer steps of the README sweep give.'
        }
        @{
            Title   = 'Only the force error, from your own numbers'
            Code    = @'
@{ Order = 3; Dx = 0.1; MaxForceError = 4.2e-4 }, @{ Order = 3; Dx = 0.01; MaxForceError = 4.2e-7 }, @{ Order = 3; Dx = 0.001; MaxForceError = 4.6e-10 } |
    ForEach-Object { [pscustomobject]$_ } | Measure-DpConvergence -Quantity MaxForceError
'@
            Remarks = 'Fits p = 2.98 to the force errors of the README sweep.'
        }
    )
    Links       = @('Test-CompressedModel', 'Invoke-DpCompression', 'Export-DpChart')
}
