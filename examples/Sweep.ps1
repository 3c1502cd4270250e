<#
.SYNOPSIS
The convergence sweep of the README: compresses the shipped Ag-Au model at orders 3 and 5 and seven
grid steps, verifies each table on all 160 configurations, and fits the convergence order p of each
error (error ≈ C·dx^p) with Measure-DpConvergence. About 2 minutes on 2 cores.
Run it with:  dotnet tool restore; dotnet pwsh ./build.ps1 Build; dotnet pwsh ./examples/Sweep.ps1
#>
param(
    [string] $ModuleDir = (Join-Path $PSScriptRoot '../out/DpCompress'),
    [double[]] $Dx = @(0.1, 0.05, 0.02, 0.01, 0.005, 0.002, 0.001),
    [int[]] $Order = @(3, 5),
    # Pwmlff (the default: dx rounded down to a power of two, runtime-safe) or Exact (the dx asked for).
    [string] $Layout = 'Pwmlff'
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleDir 'DpCompress.psd1') -Force
$data = Join-Path $PSScriptRoot '../tests/data/agau'
$model = Import-DpModel -Path (Join-Path $data 'dp_model.ckpt')
$configurations = Import-DpConfiguration -Path (Join-Path $data 'PWdata')

$sweep = foreach ($o in $Order) {
    foreach ($d in $Dx) {
        $model | Invoke-DpCompression -Order $o -Dx $d -Layout $Layout |
            Test-CompressedModel -Data $configurations -Detailed -WarningAction SilentlyContinue
    }
}
# Invoke-DpCompression's default layout rounds dx down to a power of two (see its help): Dx is the step used.
$sweep | Format-Table Order, @{ n = 'Dx'; e = { '{0:G6}' -f $_.Dx } }, @{ n = 'max |dE|/atom (eV)'; e = { '{0:E3}' -f $_.MaxEnergyError } },
    @{ n = 'max |dF| (eV/A)'; e = { '{0:E3}' -f $_.MaxForceError } }, @{ n = 'max |dW|/atom (eV)'; e = { '{0:E3}' -f $_.MaxVirialError } }, Passed |
    Out-String -Width 160 | Out-Host
$sweep | Measure-DpConvergence | Format-Table TableOrder, Quantity, @{ n = 'p'; e = { '{0:F2}' -f $_.P } }, @{ n = 'R2'; e = { '{0:F4}' -f $_.RSquared } },
    PointCount, @{ n = 'dx at floor'; e = { $_.Fit.ExcludedDx -join ', ' } } | Out-String -Width 160 | Out-Host
