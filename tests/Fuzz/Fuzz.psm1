# Compiles tests/Fuzz/Fuzzer.cs against the loaded DpCompress.Core.dll and runs it.
function Import-DpFuzzer {
    if ('DpFuzz.Fuzzer' -as [type]) { return }
    $core = [DpCompress.Core.DpCompressException].Assembly.Location
    $refs = @($core, 'System.IO.Compression', 'System.Security.Cryptography', 'System.Linq', 'System.Collections',
        'System.Text.RegularExpressions', 'System.Threading', 'System.Threading.Tasks', 'System.Runtime', 'System.Memory')
    Add-Type -ReferencedAssemblies $refs -Path (Join-Path $PSScriptRoot 'Fuzzer.cs') -CompilerOptions '-nullable:enable' -ErrorAction Stop
}

# The shipped files the fuzzer mutates (checkpoints and configuration files of tests/data).
# -IncludeDeepMd adds the DeePMD-kit .dp and .yaml models (slower to read: used by build.ps1 Fuzz).
function Get-DpFuzzSeeds([string] $DataDir, [switch] $IncludeDeepMd) {
    $files = @(
        'agau/dp_model.ckpt', 'alloy5/dp5_model.ckpt', 'agau/cmp_o3_dx0.01.ckpt',
        'formats/Ag10Au14_valid.xyz', 'formats/Ag10Au14_valid.MOVEMENT', 'formats/Au32_first10.xyz', 'formats/pwmat_CH4_MOVEMENT'
    )
    if ($IncludeDeepMd) { $files += 'deepmd/se_e2_a_agau.dp', 'deepmd/se_e2_a_agau.yaml' }
    $files | ForEach-Object { Join-Path $DataDir $_ }
}

# Runs $Cases cases with $Seed; returns the cases (DpFuzz.FuzzCase).
function Invoke-DpFuzz([int] $Cases, [int] $Seed, [string] $DataDir, [string] $WorkDir, [double] $TimeLimitSeconds, [string[]] $SeedFiles) {
    Import-DpFuzzer
    $fuzzer = [DpFuzz.Fuzzer]::new($Seed, $WorkDir, $TimeLimitSeconds)
    $seeds = [System.Collections.Generic.List[string]]::new()
    if (-not $SeedFiles) { $SeedFiles = Get-DpFuzzSeeds $DataDir }
    foreach ($s in $SeedFiles) { $seeds.Add($s) }
    $fuzzer.Run($seeds, $Cases)
}

# One line per outcome and mutation, plus the worst time and allocation ratio.
function Format-DpFuzzSummary($Results) {
    $Results | Group-Object Outcome | Sort-Object Name | ForEach-Object { '{0,-10} {1,6}' -f $_.Name, $_.Count }
    $Results | Group-Object Mutation | Sort-Object Name | ForEach-Object {
        $g = $_.Group | Group-Object Outcome | ForEach-Object { "$($_.Name) $($_.Count)" }
        '  {0,-22} {1}' -f $_.Name, ($g -join ', ')
    }
    $slow = $Results | Sort-Object Seconds -Descending | Select-Object -First 1
    $mem = $Results | Sort-Object { $_.Allocated / [math]::Max(1, $_.AllocationBound) } -Descending | Select-Object -First 1
    'slowest case: {0}' -f $slow
    'largest allocation relative to its bound: {0}' -f $mem
    ($Results | Group-Object { $_.Detail } | Where-Object { $_.Name } | Sort-Object Count -Descending | ForEach-Object { "$($_.Count) x $($_.Name)" }) -join '; '
}

Export-ModuleMember -Function Import-DpFuzzer, Get-DpFuzzSeeds, Invoke-DpFuzz, Format-DpFuzzSummary
