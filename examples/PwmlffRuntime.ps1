<#
.SYNOPSIS
Issue 11's figures: what PWMLFF's own runtime (its Python forward and the TorchScript it writes for LAMMPS)
computes with compressed Ag-Au checkpoints, against the original model, on all 160 configurations and on the
same cells shrunk to 0.85 (pairs closer than any in training). Uses the emulation of PWMLFF's lookup
(Invoke-DpModel -Runtime Pwmlff). About 30 s on 2 cores.
Run it with:  dotnet tool restore; dotnet pwsh ./build.ps1 Build; dotnet pwsh ./examples/PwmlffRuntime.ps1
#>
param(
    [string] $ModuleDir = (Join-Path $PSScriptRoot '../out/DpCompress'),
    [ValidateSet('Fast', 'Reference')] [string] $Engine = 'Fast'
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleDir 'DpCompress.psd1') -Force
$data = Join-Path $PSScriptRoot '../tests/data'
$none = [Threading.CancellationToken]::None
$configurations = Import-DpConfiguration -Path (Join-Path $data 'agau/PWdata')
# Cells and positions scaled by 0.85: closer pairs than in training. Some exceed max_neigh_num and are skipped.
$shrunk = foreach ($c in $configurations) {
    [DpCompress.Core.Structures.Configuration]::new([double[]]($c.Cell | ForEach-Object { $_ * 0.85 }),
        [double[]]($c.Positions | ForEach-Object { $_ * 0.85 }), $c.AtomicNumbers)
}

# Max |dE|/atom and max |dF| of $Model evaluated with $Runtime against $Original (skipped: configurations refused).
function Compare-Runtime($Model, $Original, [string] $Runtime, $Configurations) {
    $a = [DpCompress.Core.Inference.EngineFactory]::Create($Model, $Engine, 2, $Runtime)
    $b = [DpCompress.Core.Inference.EngineFactory]::Create($Original, $Engine, 2)
    try {
        $dE = 0.0; $dF = 0.0; $n = 0; $skipped = 0
        foreach ($c in $Configurations) {
            try { $p = $a.Evaluate($c, $null, $null, $none); $q = $b.Evaluate($c, $null, $null, $none) }
            catch { $skipped++; continue }
            $n++
            $dE = [math]::Max($dE, [math]::Abs($p.Energy - $q.Energy) / $c.AtomCount)
            for ($i = 0; $i -lt $p.Forces.Length; $i++) { $dF = [math]::Max($dF, [math]::Abs($p.Forces[$i] - $q.Forces[$i])) }
        }
        [pscustomobject]@{ Configurations = $n; Skipped = $skipped; MaxEnergyError = $dE; MaxForceError = $dF }
    } finally { $a.Dispose(); $b.Dispose() }
}

$rows = foreach ($flavour in @(@{ Name = 'DP'; Path = 'agau/dp_model.ckpt'; Pwmlff = 'agau/cmp_o3_dx0.01.ckpt' },
                               @{ Name = 'type-embedding'; Path = 'agau_te/dp_te_model.ckpt'; Pwmlff = 'agau_te/cmp_o3_dx0.01.ckpt' })) {
    $model = Import-DpModel -Path (Join-Path $data $flavour.Path)
    $tables = [ordered]@{
        "PWMLFF's own file (order 3, dx 0.01)" = Import-DpModel -Path (Join-Path $data $flavour.Pwmlff)
        'DpCompress -Layout Exact (order 3, dx 0.01)' = $model | Invoke-DpCompression -Dx 0.01 -Order 3 -Layout Exact
        'DpCompress default layout (order 3, asked 0.01)' = $model | Invoke-DpCompression -Dx 0.01 -Order 3
        'DpCompress default layout (order 5, asked 0.01)' = $model | Invoke-DpCompression -Dx 0.01 -Order 5
    }
    foreach ($name in $tables.Keys) {
        $t = $tables[$name]
        foreach ($set in @(@{ Name = '160 configurations'; C = $configurations }, @{ Name = 'cells x 0.85'; C = $shrunk })) {
            foreach ($runtime in 'Pwmlff', 'DpCompress') {
                $r = Compare-Runtime $t $model $runtime $set.C
                [pscustomobject]@{
                    Model = $flavour.Name; Table = $name; Rows = $t.Compression.Rows; Dx = '{0:G6}' -f $t.Compression.Grid.Dx; Data = $set.Name; Runtime = $runtime
                    'max |dE|/atom (eV)' = '{0:E2}' -f $r.MaxEnergyError; 'max |dF| (eV/A)' = '{0:E2}' -f $r.MaxForceError
                    Evaluated = $r.Configurations; Skipped = $r.Skipped
                }
            }
        }
    }
}
$rows | Format-Table -AutoSize | Out-String -Width 220 | Out-Host
