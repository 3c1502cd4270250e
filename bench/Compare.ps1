<#
.SYNOPSIS
Two builds of the fast engine side by side in one process: model time per pass, alternating pass by pass.
Run with:  dotnet pwsh ./build.ps1 Compare -Before <another build's out/DpCompress>
.DESCRIPTION
This host has slow spells (co-tenants) that move absolute times by up to 40 % from one minute to the next, so
two builds timed one after the other, or in two processes, can differ by more than the change being measured.
Here each build's DpCompress.Core is loaded into its own AssemblyLoadContext, the same models (the five-element
model, original and compressed at orders 3 and 5, dx 0.01 and 0.001 as typed) and the same 500-atom cell are
built in both, and every round times one pass of each model with every engine of build A and of build B (one
untimed pass of the same engine before each; the order rotated by one engine per round), so a slow spell hits
both alike. Prints, per model, each build's first quartile and median over the rounds, the median of the
per-round ratio B / A, and checks that both builds give the same energy.
Where a load of a build lands in memory moves its times: the same build against itself (-Before and -After the
same folder, one load each, A always first) gave B / A from 0.83 to 1.24 at dx 0.001 in four runs, against
0.97-1.01 for the other models; with two engines per model in one load (own table copies) it still gave 0.88-0.97
for order 3 at dx 0.01 in three runs, while the two engines of one load agreed within 1 %: the load (its compiled
code, models, buffers) matters, not only the table. So each build is loaded -Copies times (default 2, each its
own AssemblyLoadContext); a build's time in a round is the geometric mean over its loads, and the table also
prints copy 2 / copy 1 of each build (median of per-round ratios): a B / A no further from 1 than those is not a
measured difference. Peak memory about 4.1 GB with one copy, ≈ 8 GB with two; twice the passes per round.
Typical use (the build to compare against in its own worktree):
  git worktree add ../before <commit>; dotnet pwsh ../before/build.ps1 Build
  dotnet pwsh ./build.ps1 Compare -Before ../before/out/DpCompress
#>
param(
    [Parameter(Mandatory)] [string] $Before,
    [string] $After = (Join-Path $PSScriptRoot '../out/DpCompress'),
    [int] $Rounds = 100,
    [int] $Threads = 1,
    [ValidateRange(1, 2)] [int] $Copies = 2
)
$ErrorActionPreference = 'Stop'
$none = [Threading.CancellationToken]::None
$alloy = Join-Path $PSScriptRoot '../tests/data/alloy5'

function Import-Build([string] $Name, [string] $Dir) {
    $Dir = (Resolve-Path $Dir).Path
    $core = Join-Path $Dir 'DpCompress.Core.dll'
    if (-not (Test-Path $core)) { throw "No DpCompress.Core.dll in $Dir (build it first: build.ps1 Build)." }
    $alc = [System.Runtime.Loader.AssemblyLoadContext]::new($Name, $false)
    # Dependencies (MathNet, PureHDF, YamlDotNet, ...) from the same folder as the build's Core.
    $resolve = { param($context, $assemblyName) $p = Join-Path $Dir "$($assemblyName.Name).dll"; if (Test-Path $p) { $context.LoadFromAssemblyPath($p) } else { $null } }.GetNewClosure()
    $alc.add_Resolving([Func[System.Runtime.Loader.AssemblyLoadContext, System.Reflection.AssemblyName, System.Reflection.Assembly]] $resolve)
    $asm = $alc.LoadFromAssemblyPath($core)
    $t = { param($n) $asm.GetType("DpCompress.Core.$n", $true) }.GetNewClosure()
    $model = (& $t 'Serialization.CheckpointReader')::Read((Join-Path $alloy 'dp5_model.ckpt'))
    $cell = (& $t 'Structures.ConfigurationReader')::Read((Join-Path $alloy 'PWdata')) | Where-Object AtomCount -eq 500 | Select-Object -First 1
    $cell = $cell.psobject.BaseObject   # reflection needs the object itself, not PowerShell's wrapper
    $compressor = & $t 'Compression.Compressor'
    $models = [ordered]@{ original = $model }
    foreach ($case in @(@(3, 0.01), @(5, 0.01), @(3, 0.001), @(5, 0.001))) {
        $table = $compressor::Compress($model, $case[1], $case[0], $null, $null, $none, 1, $false, [long]2GB)
        $models['o{0} dx {1:G}' -f $case[0], $case[1]] = $model.WithCompression($table, $null)
    }
    $engineType = & $t 'Inference.Fast.FastEngine'
    $ctor = $engineType.GetConstructors() | Where-Object { $_.GetParameters()[0].ParameterType.Name -eq 'DpModel' } | Select-Object -First 1
    $engines = [ordered]@{}
    foreach ($k in $models.Keys) {
        $ctorArgs = foreach ($p in $ctor.GetParameters()) { if ($p.Position -eq 0) { $models[$k].psobject.BaseObject } elseif ($p.Position -eq 1) { $Threads } else { $p.DefaultValue } }
        $engines[$k] = $ctor.Invoke([object[]]@($ctorArgs))
    }
    $search = (& $t 'Neighbors.NeighborSearch').GetMethods() | Where-Object { $_.Name -eq 'Build' -and $_.GetParameters().Count -eq 4 } | Select-Object -First 1
    $nl = $search.Invoke($null, @($cell, $model.AtomTypes, $model.Rmax, $model.MaxNeighbors))
    [pscustomobject]@{ Name = $Name; Dir = $Dir; Engines = $engines; Cell = $cell; Neighbors = $nl }
}

# Each copy is a load of its own: JIT-compiled code, models, tables and buffers all land in other places.
$builds = @(
    , @(for ($c = 1; $c -le $Copies; $c++) { Import-Build "A (before) $c" $Before })
    , @(for ($c = 1; $c -le $Copies; $c++) { Import-Build "B (after) $c" $After })
)
Write-Host "A (before): $($builds[0][0].Dir)"
Write-Host "B (after):  $($builds[1][0].Dir)"
# The tables' rows live in memory advised for transparent huge pages; whether the kernel backs a table with them
# depends on free contiguous memory and moves the fine-grid models' times by 10 % or more. Both builds' tables
# (≈ 0.85 GB per load) should be covered; a run with much less is not a fair comparison.
if (Test-Path /proc/self/smaps_rollup) {
    $huge = Select-String -Path /proc/self/smaps_rollup -Pattern '^AnonHugePages:\s+(\d+) kB' | ForEach-Object { [long]$_.Matches[0].Groups[1].Value }
    Write-Host ("Huge pages backing this process: {0:N0} MiB" -f ($huge / 1024))
}
$names = @($builds[0][0].Engines.Keys)
foreach ($load in $builds[0] + $builds[1]) { foreach ($k in $names) { 1..5 | ForEach-Object { $null = $load.Engines[$k].Evaluate($load.Cell, $load.Neighbors, $null, $none) } } }
$times = @{}; $copyTimes = @{}
foreach ($b in 0, 1) {
    foreach ($k in $names) {
        $times["$b|$k"] = [Collections.Generic.List[double]]::new()
        for ($c = 0; $c -lt $Copies; $c++) { $copyTimes["$b|$k|$c"] = [Collections.Generic.List[double]]::new() }
    }
}
$energy = @{}
# Every round times each (build, copy) pair of a model once, in an order rotated by one pair per round, so no
# pair always runs first or right after another model.
$pairs = @(for ($c = 0; $c -lt $Copies; $c++) { foreach ($b in 0, 1) { , @($b, $c) } })
$roundTimes = @{}
for ($r = 0; $r -lt $Rounds; $r++) {
    foreach ($k in $names) {
        for ($q = 0; $q -lt $pairs.Count; $q++) {
            $b, $c = $pairs[($q + $r) % $pairs.Count]
            $load = $builds[$b][$c]
            $e = $load.Engines[$k]
            $null = $e.Evaluate($load.Cell, $load.Neighbors, $null, $none)
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $p = $e.Evaluate($load.Cell, $load.Neighbors, $null, $none)
            $roundTimes["$b|$c"] = $sw.Elapsed.TotalMilliseconds
            $copyTimes["$b|$k|$c"].Add($roundTimes["$b|$c"])
            $energy["$b|$k"] = $p.Energy
        }
        # A build's time in this round: the geometric mean over its copies.
        foreach ($b in 0, 1) {
            $log = 0.0; for ($c = 0; $c -lt $Copies; $c++) { $log += [math]::Log($roundTimes["$b|$c"]) }
            $times["$b|$k"].Add([math]::Exp($log / $Copies))
        }
    }
}
function Get-Quantile([double[]] $Values, [double] $Q) { $a = [double[]]$Values.Clone(); [Array]::Sort($a); $a[[int][math]::Floor($Q * ($a.Length - 1))] }
$rows = foreach ($k in $names) {
    $a = $times["0|$k"].ToArray(); $bb = $times["1|$k"].ToArray()
    $ratios = for ($i = 0; $i -lt $a.Length; $i++) { $bb[$i] / $a[$i] }
    # The same build, copy 2 against copy 1: median of the per-round ratios (what placement alone does).
    $spread = foreach ($b in 0, 1) {
        if ($Copies -lt 2) { continue }
        $c0 = $copyTimes["$b|$k|0"]; $c1 = $copyTimes["$b|$k|1"]
        '{0:F2}' -f (Get-Quantile @(for ($i = 0; $i -lt $c0.Count; $i++) { $c1[$i] / $c0[$i] }) 0.5)
    }
    [pscustomobject]@{
        Model = $k
        'A q1 (ms)' = [math]::Round((Get-Quantile $a 0.25), 3); 'A median (ms)' = [math]::Round((Get-Quantile $a 0.5), 3)
        'B q1 (ms)' = [math]::Round((Get-Quantile $bb 0.25), 3); 'B median (ms)' = [math]::Round((Get-Quantile $bb 0.5), 3)
        'B / A (median of rounds)' = [math]::Round((Get-Quantile $ratios 0.5), 3)
        'Copy 2 / copy 1 (A, B)' = if ($Copies -gt 1) { $spread -join ', ' } else { '-' }
        'Same energy' = $energy["0|$k"] -eq $energy["1|$k"]
    }
}
Write-Host "$Rounds rounds, $Threads thread(s), $Copies load(s) per build, 500-atom five-element cell, E + F + virial; per round and model, every engine: an untimed pass, then a timed one (order rotated by round)."
Write-Host "B / A: median over rounds of B's time / A's (each the geometric mean over its copies). Copy 2 / copy 1: the same for the two loads of one build; a B / A no further from 1 than these is not a measured difference."
$rows | Format-Table -AutoSize | Out-String -Width 200 | Write-Host
$o = $rows | Where-Object Model -eq 'original'
foreach ($b in 'A', 'B') {
    $orig = $o."$b median (ms)"
    $line = ($rows | Where-Object Model -ne 'original' | ForEach-Object { '{0} {1:F2}x' -f $_.Model, ($orig / $_."$b median (ms)") }) -join ', '
    Write-Host "Build $b, fast original / model (medians): $line"
}
