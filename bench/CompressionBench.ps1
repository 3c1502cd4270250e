<#
.SYNOPSIS
Compression speed: the five-type model (25 embedding nets [25,25,25]) at dx 0.001, order 5 and 3,
on ONE worker thread, table only and table + accuracy measurement. Prints wall-clock and CPU
seconds (CPU time is the fairer number on a loaded machine). Not a test: a benchmark.
.EXAMPLE
dotnet pwsh -NoProfile -File bench/CompressionBench.ps1 -ModuleDir out/DpCompress
#>
param(
    [string] $ModuleDir = (Join-Path $PSScriptRoot '../out/DpCompress'),
    [string] $ModelPath = (Join-Path $PSScriptRoot '../tests/data/alloy5/dp5_model.ckpt'),
    [double] $Dx = 0.001,
    [int] $Threads = 1
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleDir 'DpCompress.psd1') -Force
$model = [DpCompress.Core.Serialization.CheckpointReader]::Read((Resolve-Path $ModelPath).ProviderPath)
$none = [Threading.CancellationToken]::None
# Warm-up (JIT) on a coarse grid.
$null = [DpCompress.Core.Compression.Compressor]::Compress($model, 0.1, 5, $null, $null, $none, 1, $true, [long]2GB)
$proc = [Diagnostics.Process]::GetCurrentProcess()
foreach ($order in 5, 3) {
    foreach ($measure in $false, $true) {
        [GC]::Collect()
        $proc.Refresh(); $cpu0 = $proc.TotalProcessorTime
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $t = [DpCompress.Core.Compression.Compressor]::Compress($model, $Dx, $order, $null, $null, $none, $Threads, $measure, [long]2GB)
        $sw.Stop(); $proc.Refresh()
        $cpu = ($proc.TotalProcessorTime - $cpu0).TotalSeconds
        $what = if ($measure) { 'table + accuracy' } else { 'table only' }
        $acc = if ($measure) { ' max |g-y| {0:E2} (inner {1:E2}), max |g''-y''| {2:E2}' -f $t.MaxValueError,
            ($t.Accuracy | Measure-Object InnerMaxValueError -Maximum).Maximum, $t.MaxDerivativeError } else { '' }
        '{0} nets, {1} rows, order {2}, dx {3}, {4} thread(s), {5}: {6:F3} s wall, {7:F3} s CPU, table {8:F0} MiB{9}' -f `
            $t.NetCount, $t.Rows, $order, $Dx, $Threads, $what, $sw.Elapsed.TotalSeconds, $cpu, ($t.SizeInBytes / 1MB), $acc
        $t = $null
    }
}
