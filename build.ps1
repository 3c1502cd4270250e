<#
.SYNOPSIS
Builds, tests, demonstrates and benchmarks DpCompress.

.DESCRIPTION
Tasks:
  Build  publish the module to out/DpCompress (TorchSharp + libtorch, ~480 MB, gitignored)
  Test   Build, restore Pester 5.7.1 from NuGet, run every Pester test; prints
         "Tests: N passed, N failed" and exits non-zero on any failure
  Demo   Build, then compress the Ag-Au model shipped in tests/data and verify it
  Bench  Build, then the benchmarks (compression speed, inference speed)
  Compare  Build, then time this build and another (-Before <its out/DpCompress>) side by side
         in one process, each build loaded twice, alternating pass by pass; prints the
         load-to-load spread of each build next to the ratio (bench/Compare.ps1; ~50 s, 8 GB)
  Fuzz   Build, then a long seeded mutation fuzz of the readers (-Cases, default 5000; -Seed;
         -IncludeDeepMd adds the DeePMD-kit .dp/.yaml models and a .dp Export-DpModel writes);
         prints "Fuzz: N passed, N failed" and exits non-zero on any failure
  Clean  remove out/ and the restored packages

.EXAMPLE
dotnet tool restore; dotnet pwsh ./build.ps1 Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Demo', 'Bench', 'Compare', 'Fuzz', 'Clean')]
    [string] $Task = 'Build',
    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',
    # Pester: run only test files whose name matches (e.g. 'Compression').
    [string] $Filter = 'all',
    # Fuzz: number of cases and random seed.
    [int] $Cases = 5000,
    [int] $Seed = 14,
    # Fuzz: also mutate the DeePMD-kit .dp/.yaml models.
    [switch] $IncludeDeepMd,
    # Compare: the other build's module folder (its out/DpCompress), timed side by side with this one.
    [string] $Before
)
$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$Root = $PSScriptRoot
$ModuleDir = Join-Path $Root 'out/DpCompress'

function Invoke-Native([string] $What, [scriptblock] $Command) {
    & $Command | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "$What failed (exit code $LASTEXITCODE)." }
}

function Invoke-Build {
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $project = Join-Path $Root 'src/DpCompress.PowerShell/DpCompress.PowerShell.csproj'
    Invoke-Native 'dotnet publish' { dotnet publish $project -c $Configuration -r linux-x64 --self-contained false -o $ModuleDir --nologo -v minimal -clp:ErrorsOnly }
    Copy-Item (Join-Path $Root 'DpCompress.psd1') $ModuleDir -Force
    Copy-Item (Join-Path $Root 'src/DpCompress.PowerShell/Formats/*.ps1xml') $ModuleDir -Force
    & (Join-Path $Root 'build/Repair-LibTorchSharp.ps1') -LibraryPath (Join-Path $ModuleDir 'libLibTorchSharp.so')
    # MAML help (en-US/DpCompress.dll-Help.xml) from the cmdlets + src/DpCompress.PowerShell/Help/*.psd1;
    # fails the build when an exported cmdlet or one of its parameters is undocumented.
    & (Join-Path $Root 'build/New-MamlHelp.ps1') -ModuleDir $ModuleDir -SourceDir (Join-Path $Root 'src/DpCompress.PowerShell/Help')
    Write-Host ("Built {0} in {1:N1} s" -f $ModuleDir, $sw.Elapsed.TotalSeconds)
}

function Get-PesterManifest {
    $tools = Join-Path $Root 'build/Tools.csproj'
    $manifest = Join-Path $Root '.packages/pester/5.7.1/tools/Pester.psd1'
    if (-not (Test-Path $manifest)) {
        Invoke-Native 'restore of Pester' { dotnet restore $tools --nologo -v quiet }
    }
    if (-not (Test-Path $manifest)) { throw "Pester 5.7.1 was not restored to $manifest." }
    $manifest
}

function Invoke-Test {
    Invoke-Build
    $pester = Get-PesterManifest
    $runner = Join-Path $Root 'tests/Invoke-PesterRun.ps1'
    # A fresh process: the module under test is loaded once, from the publish folder.
    dotnet pwsh -NoProfile -NonInteractive -File $runner -PesterManifest $pester -ModuleDir $ModuleDir -Filter $Filter
    exit $LASTEXITCODE
}

function Invoke-Demo {
    Invoke-Build
    dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'examples/Demo.ps1') -ModuleDir $ModuleDir
    exit $LASTEXITCODE
}

function Invoke-Bench {
    Invoke-Build
    # Steady-state code from the first call: tiered JIT would otherwise time unoptimised
    # (tier-0) kernels during the first passes and distort small-cell figures.
    $env:DOTNET_TieredCompilation = '0'
    dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'bench/Bench.ps1') -ModuleDir $ModuleDir
    exit $LASTEXITCODE
}

function Invoke-Compare {
    if (-not $Before) { throw 'Compare needs -Before <module folder of the other build, e.g. ../before/out/DpCompress>.' }
    Invoke-Build
    $env:DOTNET_TieredCompilation = '0'
    dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'bench/Compare.ps1') -Before $Before -After $ModuleDir
    exit $LASTEXITCODE
}

function Invoke-Fuzz {
    Invoke-Build
    dotnet pwsh -NoProfile -NonInteractive -File (Join-Path $Root 'tests/Fuzz/Invoke-Fuzz.ps1') -ModuleDir $ModuleDir -Cases $Cases -Seed $Seed -IncludeDeepMd:$IncludeDeepMd
    exit $LASTEXITCODE
}

switch ($Task) {
    'Build' { Invoke-Build }
    'Test' { Invoke-Test }
    'Demo' { Invoke-Demo }
    'Bench' { Invoke-Bench }
    'Compare' { Invoke-Compare }
    'Fuzz' { Invoke-Fuzz }
    'Clean' { Remove-Item -Recurse -Force -ErrorAction SilentlyContinue (Join-Path $Root 'out'), (Join-Path $Root '.packages') }
}
