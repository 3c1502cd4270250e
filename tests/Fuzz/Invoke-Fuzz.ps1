<#
.SYNOPSIS
Long fuzz run (build.ps1 Fuzz): mutates the shipped checkpoints and configuration files and checks
that every case imports unchanged or ends in an error with an id, within 5 s and 2x the memory of
the unmutated file (scaled by file size). Prints a summary; exits 1 on any failure.
#>
param(
    [Parameter(Mandatory)] [string] $ModuleDir,
    [int] $Cases = 5000,
    [int] $Seed = 14,
    [double] $TimeLimitSeconds = 5,
    # Also mutate the DeePMD-kit .dp/.yaml models and a .dp written by Export-DpModel. Case #1222 of seed 14 (a flipped HDF5 message type that
    # turns a Fill Value into a Fill Value (Old) message declaring 17 MB) made PureHDF allocate 17.3 MB before
    # it failed; the HDF5 structure walk (Hdf5Prewalk) now refuses it before PureHDF opens the file (0.1 MB).
    [switch] $IncludeDeepMd
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleDir 'DpCompress.psd1')
Import-Module (Join-Path $PSScriptRoot 'Fuzz.psm1')
$work = Join-Path ([System.IO.Path]::GetTempPath()) ("dpfuzz-" + [guid]::NewGuid().ToString('N'))
$sw = [System.Diagnostics.Stopwatch]::StartNew()
try {
    $data = Join-Path $PSScriptRoot '../data'
    $seeds = @(Get-DpFuzzSeeds $data -IncludeDeepMd:$IncludeDeepMd)
    if ($IncludeDeepMd) {
        # A .dp that Export-DpModel writes (PureHDF's writer: superblock version 3, version 2 object headers with
        # checksums, small arrays inside the headers), unlike DeePMD-kit's h5py file.
        $null = New-Item -ItemType Directory -Path $work -Force
        $written = Join-Path $work 'written_se_e2_a_agau.dp'
        Import-DpModel -LiteralPath (Join-Path $data 'deepmd/se_e2_a_agau.dp') | Export-DpModel -LiteralPath $written
        $seeds += $written
    }
    $results = Invoke-DpFuzz -Cases $Cases -Seed $Seed -DataDir $data -WorkDir $work -TimeLimitSeconds $TimeLimitSeconds -SeedFiles $seeds
} finally {
    Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
}
Write-Host ("Fuzz: {0} cases, seed {1}, {2:N1} s" -f $results.Count, $Seed, $sw.Elapsed.TotalSeconds)
Format-DpFuzzSummary $results | Write-Host
$failed = @($results | Where-Object Failed)
foreach ($f in $failed | Select-Object -First 50) { Write-Host "FAILED $f" }
Write-Host ("Fuzz: {0} passed, {1} failed" -f ($results.Count - $failed.Count), $failed.Count)
if ($failed.Count -gt 0 -or $results.Count -lt $Cases) { exit 1 }
exit 0
