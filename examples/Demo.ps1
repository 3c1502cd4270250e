<#
.SYNOPSIS
The main job on the model shipped in the repo: import, compress, export, verify.
Run it with:  dotnet tool restore; dotnet pwsh ./build.ps1 Demo
#>
param(
    [string] $ModuleDir = (Join-Path $PSScriptRoot '../out/DpCompress'),
    [string] $OutDir = (Join-Path $PSScriptRoot '../out/demo')
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleDir 'DpCompress.psd1') -Force
$data = Join-Path $PSScriptRoot '../tests/data/agau'
New-Item -ItemType Directory -Force -Path $OutDir | Out-Null

Write-Host "`n== The original model" -ForegroundColor Cyan
$model = Import-DpModel -Path (Join-Path $data 'dp_model.ckpt')
$model | Format-Table | Out-Host

Write-Host "== Compress it (order 3, dx 0.01 asked; laid out for PWMLFF's runtime) and write a PWMLFF checkpoint" -ForegroundColor Cyan
$sw = [Diagnostics.Stopwatch]::StartNew()
$compressed = $model | Invoke-DpCompression -Dx 0.01 -Order 3
$compressSeconds = $sw.Elapsed.TotalSeconds
$file = $compressed | Export-DpModel -Path (Join-Path $OutDir 'cmp_dp_model.ckpt') -Force -PassThru
$compressed | Format-Table | Out-Host
'Compressed in {0:N2} s; wrote {1} ({2:N1} MiB)' -f $compressSeconds, $file.FullName, ($file.Length / 1MB) | Out-Host

Write-Host "`n== Verify it against the original on all 160 DFT configurations" -ForegroundColor Cyan
$configurations = Import-DpConfiguration -Path (Join-Path $data 'PWdata')
$report = Test-CompressedModel -Model (Import-DpModel -Path $file.FullName) -Data $configurations -Detailed
$report | Format-List | Out-Host

Write-Host "== For comparison: PWMLFF's own compressed file (order 3, dx 0.01 as typed; ours: 0.01 asked, 2^-7 laid out) on the same data" -ForegroundColor Cyan
$pwmlff = Import-DpModel -Path (Join-Path $data 'cmp_o3_dx0.01.ckpt')
$theirs = Test-CompressedModel -Model $pwmlff -Data $configurations -Detailed -WarningAction SilentlyContinue
# "In PWMLFF/LAMMPS": what PWMLFF's own runtime computes with each file (Test-CompressedModel emulates its lookup).
'PWMLFF compress: max |dE| {0:E2} eV/atom, max |dF| {1:E2} eV/Å -> Passed = {2}; in PWMLFF/LAMMPS {3:E2} eV/atom, {4:E2} eV/Å' -f $theirs.MaxEnergyError, $theirs.MaxForceError, $theirs.Passed, $theirs.PwmlffRuntime.MaxEnergyError, $theirs.PwmlffRuntime.MaxForceError | Out-Host
'DpCompress:      max |dE| {0:E2} eV/atom, max |dF| {1:E2} eV/Å -> Passed = {2}; in PWMLFF/LAMMPS {3:E2} eV/atom, {4:E2} eV/Å' -f $report.MaxEnergyError, $report.MaxForceError, $report.Passed, $report.PwmlffRuntime.MaxEnergyError, $report.PwmlffRuntime.MaxForceError | Out-Host

Write-Host "`n== The type-embedding flavour (one shared net; one table per neighbour element), same steps" -ForegroundColor Cyan
$te = Import-DpModel -Path (Join-Path $PSScriptRoot '../tests/data/agau_te/dp_te_model.ckpt')
$teFile = $te | Invoke-DpCompression -Dx 0.01 -Order 3 | Export-DpModel -Path (Join-Path $OutDir 'cmp_dp_te_model.ckpt') -Force -PassThru
$teReport = Test-CompressedModel -Model (Import-DpModel -Path $teFile.FullName) -Data $configurations -Detailed
$te | Format-Table | Out-String -Width 200 | Out-Host
# The dx the table has (0.01 asked becomes 2^-7 = 0.0078125 in PWMLFF's runtime layout), not the one typed.
'Type-embedding, order 3, dx {3} (0.01 asked): max |dE| {0:E2} eV/atom, max |dF| {1:E2} eV/Å -> Passed = {2}' -f $teReport.MaxEnergyError, $teReport.MaxForceError, $teReport.Passed, $teReport.Dx | Out-Host

Write-Host "`n== How much faster: timed properly (3 warm-up passes, median of 5, one thread each)" -ForegroundColor Cyan
# The verification above evaluates each configuration once, cold: it checks accuracy, not speed.
Measure-DpInference -Model $model, $compressed -Data $configurations[0..19] | Format-Table | Out-Host
if (-not $report.Passed -or -not $teReport.Passed) { Write-Error 'The compressed model does not reproduce the original.'; exit 1 }
