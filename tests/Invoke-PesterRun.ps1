<#
.SYNOPSIS
Runs every Pester test against the published module and ends with "Tests: N passed, N failed".
#>
param(
    [Parameter(Mandatory)] [string] $PesterManifest,
    [Parameter(Mandatory)] [string] $ModuleDir,
    [string] $Filter = 'all'
)
$ErrorActionPreference = 'Stop'
Import-Module $PesterManifest -Force
$env:DPCOMPRESS_MODULE = Join-Path $ModuleDir 'DpCompress.psd1'
$config = New-PesterConfiguration
$config.Run.Path = @(Get-ChildItem (Join-Path $PSScriptRoot 'Pester') -Filter "$(if ($Filter -eq 'all') { '*' } else { $Filter }).Tests.ps1" | ForEach-Object FullName)
$config.Run.PassThru = $true
$config.Output.RenderMode = 'Plaintext'
$config.Output.Verbosity = 'Normal'
$result = Invoke-Pester -Configuration $config
$failed = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
Write-Host ''
Write-Host ("Tests: {0} passed, {1} failed, {2} skipped" -f $result.PassedCount, $failed, $result.SkippedCount)
if ($failed -gt 0 -or $result.PassedCount -eq 0) { exit 1 }
exit 0
