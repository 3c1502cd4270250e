BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:agau = Get-TestDataPath 'agau'
    $script:pwdata = Join-Path $agau 'PWdata'
    $script:model = Import-DpModel (Join-Path $agau 'dp_model.ckpt')
    $script:cmp = $model | Invoke-DpCompression -Dx 0.01 -Order 3
    $script:pwmlff = Import-DpModel (Join-Path $agau 'cmp_o3_dx0.01.ckpt')
    $script:ag10 = Import-DpConfiguration (Join-Path $pwdata 'Ag10Au14')
}

Describe 'Import-DpConfiguration' {
    It 'reads all 160 configurations of the PWdata tree' {
        (Import-DpConfiguration $pwdata).Count | Should -Be 160
    }
    It 'reads the same Ag10Au14 images from PWdata, MOVEMENT and extended XYZ' {
        $formats = Get-TestDataPath 'formats'
        $mov = Import-DpConfiguration (Join-Path $formats 'Ag10Au14_valid.MOVEMENT')
        $xyz = Get-Item (Join-Path $formats 'Ag10Au14_valid.xyz') | Import-DpConfiguration
        $mov.Count | Should -Be 5
        $xyz.Count | Should -Be 5
        for ($i = 0; $i -lt 5; $i++) {
            for ($k = 0; $k -lt $ag10[$i].Positions.Length; $k++) {
                [math]::Abs($mov[$i].Positions[$k] - $ag10[$i].Positions[$k]) | Should -BeLessThan 1e-8
                [math]::Abs($xyz[$i].Positions[$k] - $ag10[$i].Positions[$k]) | Should -BeLessThan 1e-8
            }
        }
    }
    It 'reports a missing path as ObjectNotFound and goes on' {
        $err = $null
        $c = Import-DpConfiguration (Join-Path $TestDrive 'nothing'), (Join-Path $pwdata 'Ag8Au8') -ErrorAction SilentlyContinue -ErrorVariable err
        $c.Count | Should -BeGreaterThan 0
        $err[0].FullyQualifiedErrorId | Should -Be 'ConfigurationNotFound,DpCompress.PowerShell.Commands.ImportDpConfigurationCommand'
    }
    It 'refuses a file of unknown format' {
        $p = Join-Path $TestDrive 'notes.txt'
        Set-Content $p 'hello'
        $err = $null
        Import-DpConfiguration $p -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be 'ConfigurationFormatUnknown,DpCompress.PowerShell.Commands.ImportDpConfigurationCommand'
    }
}

Describe 'Invoke-DpModel' {
    It 'gives the same predictions with the fast and the reference engine (<Which>)' -ForEach @(@{ Which = 'original' }, @{ Which = 'compressed' }) {
        $m = if ($Which -eq 'original') { $model } else { $cmp }
        $fast = Invoke-DpModel -Model $m -Configuration $ag10
        $ref = $ag10 | Invoke-DpModel -Model $m -Engine Reference
        $fast.Count | Should -Be 5
        for ($i = 0; $i -lt 5; $i++) {
            [math]::Abs($fast[$i].Energy - $ref[$i].Energy) | Should -BeLessThan 1e-9
            for ($k = 0; $k -lt $fast[$i].Forces.Length; $k++) { [math]::Abs($fast[$i].Forces[$k] - $ref[$i].Forces[$k]) | Should -BeLessThan 1e-9 }
            $fast[$i].Compressed | Should -Be ($Which -eq 'compressed')
        }
    }
    It 'shares one fast engine per model and thread count across calls, with bit-identical results' {
        # Repeated calls (one per MD step) reuse the engine: same object for the same model, a different
        # one for another model or thread count, and each call equals a fresh engine to the last bit.
        $a = [DpCompress.Core.Inference.EngineFactory]::SharedFast($cmp, 1)
        [object]::ReferenceEquals($a, [DpCompress.Core.Inference.EngineFactory]::SharedFast($cmp, 1)) | Should -BeTrue
        [object]::ReferenceEquals($a, [DpCompress.Core.Inference.EngineFactory]::SharedFast($model, 1)) | Should -BeFalse
        [object]::ReferenceEquals($a, [DpCompress.Core.Inference.EngineFactory]::SharedFast($cmp, 2)) | Should -BeFalse
        foreach ($m in $model, $cmp, $model) {
            $fresh = [DpCompress.Core.Inference.Fast.FastEngine]::new($m, 1).Evaluate($ag10[2], $null, $null, [Threading.CancellationToken]::None)
            foreach ($call in 1, 2) {
                $p = Invoke-DpModel -Model $m -Configuration $ag10[2] -ThrottleLimit 1
                $p.Energy | Should -Be $fresh.Energy
                for ($k = 0; $k -lt $p.Forces.Length; $k++) { $p.Forces[$k] | Should -Be $fresh.Forces[$k] }
                for ($k = 0; $k -lt 9; $k++) { $p.Virial[$k] | Should -Be $fresh.Virial[$k] }
            }
        }
    }
    It 'reads configurations from paths' {
        (Invoke-DpModel -Model $model -Configuration (Join-Path $pwdata 'Ag45Au3')).Count | Should -BeGreaterThan 0
    }
    It 'reports an element the model does not know and goes on with the others' {
        $alloy = Import-DpConfiguration (Join-Path (Get-TestDataPath 'alloy5') 'PWdata/bcc_3x3x6_108')
        $err = $null
        $p = Invoke-DpModel -Model $model -Configuration @($alloy[0], $ag10[0]) -ErrorAction SilentlyContinue -ErrorVariable err
        @($p).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'UnknownElement,DpCompress.PowerShell.Commands.InvokeDpModelCommand'
    }
}

Describe 'Test-CompressedModel' {
    It 'passes a DpCompress table against the original nets it keeps' {
        Test-CompressedModel -Model $cmp -Data $ag10 | Should -BeTrue
    }
    It 'fails PWMLFF''s own compressed file (its step bug)' {
        Test-CompressedModel -Model $pwmlff -Data $ag10 | Should -BeFalse
    }
    It 'returns a report with -Detailed, carrying dx, order and the errors for sweeps' {
        $r = $cmp | Test-CompressedModel -Data $pwdata -Detailed -Reference $model
        $r.Passed | Should -BeTrue
        $r.ConfigurationCount | Should -Be 160
        $r.Order | Should -Be 3
        $r.Dx | Should -Be $cmp.Dx   # 2^-7: the PWMLFF runtime layout for a requested 0.01
        $r.MaxEnergyError | Should -BeLessThan 1e-9
        $r.MaxForceError | Should -BeLessThan 1e-6
        $r.OriginalDftForceRms | Should -BeGreaterThan 0.01
        ($r | Out-String) | Should -Match 'eV/atom'
    }
    It 'applies the tolerances it is given' {
        Test-CompressedModel -Model $cmp -Data $ag10 -ForceTolerance 1e-12 | Should -BeFalse
    }
    It 'refuses an uncompressed model (ModelNotCompressed)' {
        { Test-CompressedModel -Model $model -Data $ag10 } | Should -Throw -ErrorId 'ModelNotCompressed,DpCompress.PowerShell.Commands.TestCompressedModelCommand'
    }
    It 'refuses data that gives no configurations (NoConfigurations)' {
        { Test-CompressedModel -Model $cmp -Data (Join-Path $TestDrive 'none') -ErrorAction SilentlyContinue } | Should -Throw -ErrorId 'NoConfigurations,DpCompress.PowerShell.Commands.TestCompressedModelCommand'
    }
}

Describe 'Measure-DpInference' {
    It 'times original and compressed with both engines and reports speedups over the original' {
        $t = Measure-DpInference -Model $model, $cmp -Data $ag10[0..1] -Engine Reference, Fast -Repeat 1 -Warmup 1
        $t.Count | Should -Be 4
        $t | ForEach-Object { $_ | Should -BeOfType ([DpCompress.Core.Inference.InferenceTiming]) }
        ($t | Where-Object { $_.Compressed }).ForEach({ $_.Speedup | Should -BeGreaterThan 0 })
        ($t | Where-Object { -not $_.Compressed }).ForEach({ $_.Speedup | Should -BeNullOrEmpty })   # originals are the baselines of their engine
        ($t | Where-Object { $_.Compressed -and $_.Engine -eq 'Fast' }).SpeedupOver | Should -Be 'original / Fast'
        $t[0].Atoms | Should -Be 48
        $t[0].ModelMs | Should -BeGreaterThan 0
        $t[0].EmbeddingMs | Should -BeGreaterThan 0
        $t[0].EmbeddingShare | Should -BeGreaterThan 0
        ($t | Out-String -Width 300) | Should -Match 'µs/atom'
    }
    It 'refuses -Repeat 0 at binding' {
        { Measure-DpInference -Model $model -Data $ag10 -Repeat 0 } | Should -Throw -ErrorId 'ParameterArgumentValidationError,DpCompress.PowerShell.Commands.MeasureDpInferenceCommand'
    }
    It 'times several engines in interleaved rounds, each after its own warm-up, and a failing engine drops out alone' {
        if (-not ('BenchTests.LoggingEngine' -as [type])) {
            Add-Type -ReferencedAssemblies ([DpCompress.Core.Inference.IDpEngine].Assembly.Location), 'System.Collections', 'System.Threading', 'System.Runtime' -TypeDefinition @'
using System.Collections.Generic;
using System.Threading;
using DpCompress.Core;
using DpCompress.Core.Inference;
using DpCompress.Core.Neighbors;
using DpCompress.Core.Structures;
namespace BenchTests {
// Logs every pass (one configuration each here) and fails its n-th one.
public sealed class LoggingEngine : IDpEngine {
    public static readonly List<string> Log = new();
    private readonly string _name; private readonly IDpEngine _inner; private readonly int _failAt; private int _calls;
    public LoggingEngine(string name, IDpEngine inner, int failAt) { _name = name; _inner = inner; _failAt = failAt; }
    public EngineKind Kind => _inner.Kind;
    public Prediction Evaluate(Configuration c, NeighborList n = null, PhaseTimings t = null, CancellationToken ct = default) {
        lock (Log) Log.Add(_name);
        if (++_calls == _failAt) throw new DpCompressException("TestFailure", ErrorKind.InvalidData, "fails on purpose");
        return _inner.Evaluate(c, n, t, ct);
    }
    public void Dispose() => _inner.Dispose();
}
}
'@
        }
        [BenchTests.LoggingEngine]::Log.Clear()
        $m = $model
        $nb = [Func[DpCompress.Core.Structures.Configuration, DpCompress.Core.Neighbors.NeighborList]] { param($c) [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors) }
        $subjects = [System.Collections.Generic.List[DpCompress.Core.Inference.BenchmarkSubject]]::new()
        foreach ($case in @(@('A', $model, 0), @('B', $cmp, 0), @('C', $cmp, 3))) {
            $engine = [BenchTests.LoggingEngine]::new($case[0], [DpCompress.Core.Inference.Fast.FastEngine]::new($case[1], 1), $case[2])
            $subjects.Add([DpCompress.Core.Inference.BenchmarkSubject]::new($engine, $case[0], $case[1].IsCompressed, $null, $null, 1, $nb))
        }
        $configs = [DpCompress.Core.Structures.Configuration[]]@($ag10[0])
        $out = [DpCompress.Core.Inference.InferenceBenchmark]::MeasureInterleaved($subjects, $configs, 3, 2, $null, [Threading.CancellationToken]::None)
        # Warm-ups per engine, then rounds of an untimed and a timed pass each; C fails on its third pass (the
        # untimed one of round 1) and drops out.
        ([BenchTests.LoggingEngine]::Log -join '') | Should -Be 'AABBCCAABBCAABBAABB'
        $out[0].Timing.Label | Should -Be 'A'
        $out[0].Timing.Repeat | Should -Be 3
        $out[0].Timing.ModelMs | Should -BeGreaterThan 0
        $out[1].Timing.Compressed | Should -BeTrue
        $out[2].Timing | Should -BeNullOrEmpty
        $out[2].Error.ErrorId | Should -Be 'TestFailure'
        foreach ($s in $subjects) { $s.Engine.Dispose() }
    }
}
