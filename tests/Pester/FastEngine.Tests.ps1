# The fast float64 engine (DpCompress.Core.Inference.Fast.FastEngine): PWMLFF's own
# predictions, the TorchSharp reference engine, finite differences of its own energy, thread-count
# independence and the closed-form padding (SPEC §2–§3). Core types are tested directly.

BeforeDiscovery {
    # Configurations compared with the reference engine: two-type cells, a one-type cell (T = 1)
    # and one five-element cell.
    $script:ReferenceCases = @(
        @{ Name = 'Ag10Au14[1]'; Model = 'agau'; System = 'Ag10Au14'; Image = 1 }
        @{ Name = 'Ag45Au3[0]'; Model = 'agau'; System = 'Ag45Au3'; Image = 0 }
        @{ Name = 'Au32[3]'; Model = 'agau'; System = 'Au32'; Image = 3 }
        @{ Name = 'alloy5 bcc_3x3x6_108[0]'; Model = 'alloy5'; System = 'bcc_3x3x6_108'; Image = 0 }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:AgAuModel = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'agau/dp_model.ckpt'))
    $script:Alloy5Model = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'alloy5/dp5_model.ckpt'))
    # Our own order-3 table (dx 0.01) and PWMLFF's compressed file (its tables carry PWMLFF's step
    # bug for nets > 0, but every engine must still evaluate the same table identically).
    $script:AgAuO3 = $script:AgAuModel.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($script:AgAuModel, 0.01, 3, $null, $null, [Threading.CancellationToken]::None, -1, $false))
    $script:AgAuO5 = $script:AgAuModel.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($script:AgAuModel, 0.01, 5, $null, $null, [Threading.CancellationToken]::None, -1, $false))
    $script:AgAuPwmlff = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'agau/cmp_o3_dx0.01.ckpt'))
    $script:Alloy5O3 = $script:Alloy5Model.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($script:Alloy5Model, 0.01, 3, $null, $null, [Threading.CancellationToken]::None, -1, $false))
    $script:HasReference = [bool]('DpCompress.Core.Inference.ReferenceEngine' -as [type])

    function Read-Config([string] $Model, [string] $System, [int] $Image) {
        $dir = if ($Model -eq 'agau') { Get-TestDataPath "agau/PWdata/$System" } else { Get-TestDataPath "alloy5/PWdata/$System" }
        [DpCompress.Core.Structures.PwDataReader]::Read($dir)[$Image]
    }

    function Get-MaxAbsDiff($A, $B) {
        $A.Length | Should -Be $B.Length
        $m = 0.0
        for ($i = 0; $i -lt $A.Length; $i++) { $m = [math]::Max($m, [math]::Abs($A[$i] - $B[$i])) }
        $m
    }

    function New-Fast($Model, [int] $Threads = 1) { [DpCompress.Core.Inference.Fast.FastEngine]::new($Model, $Threads) }

    # The DpCompressException behind an error thrown by a .NET method call.
    function Get-DpError([scriptblock] $Script) {
        try { & $Script | Out-Null } catch { $e = $_.Exception
            while ($e -and $e -isnot [DpCompress.Core.DpCompressException]) { $e = $e.InnerException }
            return $e
        }
        return $null
    }

    # A configuration with atom i moved by h along axis d.
    function Move-Atom($C, [int] $I, [int] $D, [double] $H) {
        $pos = [double[]]$C.Positions.Clone()
        $pos[3 * $I + $D] += $H
        [DpCompress.Core.Structures.Configuration]::new($C.Cell, $pos, $C.AtomicNumbers)
    }

    # A configuration deformed by x → x·(1 + ε e_a e_bᵀ) (cell rows and positions).
    function Set-Strain($C, [int] $A, [int] $B, [double] $Eps) {
        $cell = [double[]]$C.Cell.Clone(); $pos = [double[]]$C.Positions.Clone()
        for ($k = 0; $k -lt 3; $k++) { $cell[3 * $k + $B] += $Eps * $C.Cell[3 * $k + $A] }
        for ($k = 0; $k -lt $C.AtomCount; $k++) { $pos[3 * $k + $B] += $Eps * $C.Positions[3 * $k + $A] }
        [DpCompress.Core.Structures.Configuration]::new($cell, $pos, $C.AtomicNumbers)
    }
}

Describe 'FastEngine' {
    Context 'original model against PWMLFF (reference_original.json)' {
        BeforeAll {
            $script:Ref = Get-Content (Get-TestDataPath 'agau/reference_original.json') -Raw | ConvertFrom-Json
            $script:Fast = New-Fast $script:AgAuModel
        }
        It 'matches E, E_i, forces and virial of every reference image to float64 round-off' {
            $script:Ref.images.Count | Should -Be 8
            foreach ($im in $script:Ref.images) {
                $c = Read-Config 'agau' $im.system $im.image_index
                $p = $script:Fast.Evaluate($c)
                [math]::Abs($p.Energy - $im.Etot) / [math]::Abs($im.Etot) | Should -BeLessThan 1e-12 -Because "$($im.system)[$($im.image_index)] E"
                Get-MaxAbsDiff $p.AtomicEnergies ([double[]]$im.Ei) | Should -BeLessThan 1e-10
                Get-MaxAbsDiff $p.Forces ([double[]]($im.forces | ForEach-Object { $_ })) | Should -BeLessThan 1e-10 -Because "$($im.system)[$($im.image_index)] forces"
                Get-MaxAbsDiff $p.Virial ([double[]]$im.virial) | Should -BeLessThan 1e-9 -Because "$($im.system)[$($im.image_index)] virial"
                [math]::Abs($p.MaxScaledS - $im.max_sij_scaled) | Should -BeLessThan 1e-10
                $p.Engine | Should -Be 'Fast'
                $p.Compressed | Should -BeFalse
            }
        }
    }

    Context 'against the reference engine (TorchSharp autograd)' {
        It '<Name>: original and compressed models agree to 1e-10' -ForEach $script:ReferenceCases {
            if (-not $script:HasReference) { Set-ItResult -Skipped -Because 'ReferenceEngine is not in this build'; return }
            $c = Read-Config $Model $System $Image
            $models = if ($Model -eq 'agau') { @($script:AgAuModel, $script:AgAuO3, $script:AgAuPwmlff) } else { @($script:Alloy5Model, $script:Alloy5O3) }
            foreach ($m in $models) {
                $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
                $ref = [DpCompress.Core.Inference.ReferenceEngine]::new($m)
                try { $r = $ref.Evaluate($c, $nl) } finally { $ref.Dispose() }
                $f = (New-Fast $m 2).Evaluate($c, $nl)
                [math]::Abs($f.Energy - $r.Energy) / [math]::Abs($r.Energy) | Should -BeLessThan 1e-10 -Because "$m energy"
                Get-MaxAbsDiff $f.AtomicEnergies $r.AtomicEnergies | Should -BeLessThan 1e-10
                Get-MaxAbsDiff $f.Forces $r.Forces | Should -BeLessThan 1e-10 -Because "$m forces"
                Get-MaxAbsDiff $f.Virial $r.Virial | Should -BeLessThan 1e-9 -Because "$m virial"
                $f.OutOfTableCount | Should -Be $r.OutOfTableCount
                $f.BeyondTrainingCount | Should -Be $r.BeyondTrainingCount
                [math]::Abs($f.MaxScaledS - $r.MaxScaledS) | Should -BeLessThan 1e-12
            }
        }
    }

    Context 'compressed model' {
        It 'order 3 / order 5 tables (dx 0.01) reproduce the original model' {
            $fo = New-Fast $script:AgAuModel; $f3 = New-Fast $script:AgAuO3; $f5 = New-Fast $script:AgAuO5
            foreach ($sys in 'Ag10Au14', 'Au32') {
                $c = Read-Config 'agau' $sys 0
                $o = $fo.Evaluate($c); $p3 = $f3.Evaluate($c); $p5 = $f5.Evaluate($c)
                $p3.Compressed | Should -BeTrue
                [math]::Abs($p3.Energy - $o.Energy) / $c.AtomCount | Should -BeLessThan 1e-9
                Get-MaxAbsDiff $p3.Forces $o.Forces | Should -BeLessThan 2e-6
                [math]::Abs($p5.Energy - $o.Energy) / $c.AtomCount | Should -BeLessThan 1e-12
                Get-MaxAbsDiff $p5.Forces $o.Forces | Should -BeLessThan 1e-10
            }
        }
        It 'counts s values beyond the training range (squeezed cell)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $k = 0.7
            $cs = [DpCompress.Core.Structures.Configuration]::new([double[]]($c.Cell | ForEach-Object { $_ * $k }), [double[]]($c.Positions | ForEach-Object { $_ * $k }), $c.AtomicNumbers)
            $p = (New-Fast $script:AgAuO3).Evaluate($cs)
            $p.MaxScaledS | Should -BeGreaterThan $script:AgAuO3.Compression.Grid.SMax
            $p.BeyondTrainingCount | Should -BeGreaterThan 0
            $p.OutOfTableCount | Should -Be 0
            $o = (New-Fast $script:AgAuModel).Evaluate($cs)
            [math]::Abs($p.Energy - $o.Energy) / $c.AtomCount | Should -BeLessThan 1e-6
        }
        It 'continues linearly beyond the last table node and counts it (two atoms 0.2 Å apart)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $pos = [double[]]$c.Positions.Clone()
            $pos[3] = $pos[0] + 0.2; $pos[4] = $pos[1]; $pos[5] = $pos[2]
            $cs = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $pos, $c.AtomicNumbers)
            $p = (New-Fast $script:AgAuO3).Evaluate($cs)
            $p.MaxScaledS | Should -BeGreaterThan $script:AgAuO3.Compression.Grid.OuterEnd
            $p.OutOfTableCount | Should -Be 2
            $p.BeyondTrainingCount | Should -BeGreaterThan 1
            [double]::IsFinite($p.Energy) | Should -BeTrue
            if ($script:HasReference) {
                $m = $script:AgAuO3
                $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($cs, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
                $ref = [DpCompress.Core.Inference.ReferenceEngine]::new($m)
                try { $r = $ref.Evaluate($cs, $nl) } finally { $ref.Dispose() }
                [math]::Abs($p.Energy - $r.Energy) / [math]::Abs($r.Energy) | Should -BeLessThan 1e-10
                Get-MaxAbsDiff $p.Forces $r.Forces | Should -BeLessThan 1e-9
                $p.OutOfTableCount | Should -Be $r.OutOfTableCount
                $p.BeyondTrainingCount | Should -Be $r.BeyondTrainingCount
            }
        }
    }

    Context 'forces and virial are derivatives of the energy' {
        It '<_> model: F = −∂E/∂r and W = −∂E/∂ε by central differences' -ForEach 'original', 'compressed' {
            $m = if ($_ -eq 'original') { $script:AgAuModel } else { $script:AgAuO3 }
            $e = New-Fast $m
            $c = Read-Config 'agau' 'Ag12Au12' 1
            $p = $e.Evaluate($c)
            $h = 1e-5
            foreach ($q in @(@(0, 0), @(5, 1), @(17, 2), @(23, 0))) {
                $fd = - ($e.Evaluate((Move-Atom $c $q[0] $q[1] $h)).Energy - $e.Evaluate((Move-Atom $c $q[0] $q[1] (-$h))).Energy) / (2 * $h)
                [math]::Abs($fd - $p.Forces[3 * $q[0] + $q[1]]) | Should -BeLessThan 1e-7
            }
            foreach ($ab in @(@(0, 0), @(0, 1), @(2, 1))) {
                $fd = - ($e.Evaluate((Set-Strain $c $ab[0] $ab[1] $h)).Energy - $e.Evaluate((Set-Strain $c $ab[0] $ab[1] (-$h))).Energy) / (2 * $h)
                [math]::Abs($fd - $p.Virial[3 * $ab[0] + $ab[1]]) | Should -BeLessThan 1e-5
            }
        }
    }

    Context 'threads and padding' {
        It '1 and 2 threads give identical results (<_>)' -ForEach 'original', 'compressed' {
            $m = if ($_ -eq 'original') { $script:Alloy5Model } else { $script:Alloy5O3 }
            $c = Read-Config 'alloy5' 'bcc_4x4x4_128' 1
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
            $a = (New-Fast $m 1).Evaluate($c, $nl)
            $b = (New-Fast $m 2).Evaluate($c, $nl)
            [math]::Abs($a.Energy - $b.Energy) | Should -BeLessThan 1e-12
            Get-MaxAbsDiff $a.Forces $b.Forces | Should -BeLessThan 1e-12
            Get-MaxAbsDiff $a.Virial $b.Virial | Should -BeLessThan 1e-12
            Get-MaxAbsDiff $a.AtomicEnergies $b.AtomicEnergies | Should -BeLessThan 1e-12
        }
        It '1 and 2 threads agree bit for bit with slots beyond the table (compressed, two atoms 0.2 Å apart, 500-atom alloy5 cell)' {
            # Exercises the located two-slot table kernels with extra > 0, odd slot counts and several type chunks.
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $pos = [double[]]$c.Positions.Clone()
            $pos[3] = $pos[0] + 0.2; $pos[4] = $pos[1]; $pos[5] = $pos[2]
            $cs = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $pos, $c.AtomicNumbers)
            $big = Read-Config 'alloy5' 'fcc_5x5x5_500' 0
            foreach ($case in @(@($script:AgAuO3, $cs), @($script:Alloy5O3, $big), @($script:Alloy5Model, $big))) {
                $m = $case[0]; $cfg = $case[1]
                $a = (New-Fast $m 1).Evaluate($cfg)
                $b = (New-Fast $m 2).Evaluate($cfg)
                $a.Energy | Should -Be $b.Energy
                Get-MaxAbsDiff $a.Forces $b.Forces | Should -Be 0
                Get-MaxAbsDiff $a.Virial $b.Virial | Should -Be 0
                Get-MaxAbsDiff $a.AtomicEnergies $b.AtomicEnergies | Should -Be 0
                $a.OutOfTableCount | Should -Be $b.OutOfTableCount
            }
        }
        It 'the portable table kernels (AVX-512 switched off) agree with the Vector512 block kernels' {
            # A child process with DOTNET_EnableAVX512=0 takes the two-slot AVX2 kernels; this one the
            # register-blocked Vector512 kernels (on hardware that has them). Cases: a 500-atom five-type
            # cell and a two-type cell with a pair 0.2 Å apart (slots beyond the table).
            $child = Join-Path $TestDrive 'portable.ps1'
            Set-Content -Path $child -Value @'
param([string] $Module, [string] $Data)
Import-Module $Module -Force
$none = [Threading.CancellationToken]::None
$out = foreach ($case in @(@('alloy5/dp5_model.ckpt', 'alloy5/PWdata/fcc_5x5x5_500', 0, $false), @('agau/dp_model.ckpt', 'agau/PWdata/Ag10Au14', 0, $true))) {
    $m = [DpCompress.Core.Serialization.CheckpointReader]::Read((Join-Path $Data $case[0]))
    $m = $m.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($m, 0.01, 3, $null, $null, $none, 1, $false))
    $c = [DpCompress.Core.Structures.PwDataReader]::Read((Join-Path $Data $case[1]))[$case[2]]
    if ($case[3]) {
        $pos = [double[]]$c.Positions.Clone(); $pos[3] = $pos[0] + 0.2; $pos[4] = $pos[1]; $pos[5] = $pos[2]
        $c = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $pos, $c.AtomicNumbers)
    }
    $p = [DpCompress.Core.Inference.Fast.FastEngine]::new($m, 1).Evaluate($c)
    [pscustomobject]@{ Energy = $p.Energy.ToString('R'); Forces = @($p.Forces | ForEach-Object { $_.ToString('R') }); Virial = @($p.Virial | ForEach-Object { $_.ToString('R') }); OutOfTable = $p.OutOfTableCount }
}
[pscustomobject]@{ Vector512 = [System.Runtime.Intrinsics.Vector512]::IsHardwareAccelerated; Cases = @($out) } | ConvertTo-Json -Depth 4 -Compress
'@
            $old = $env:DOTNET_EnableAVX512
            try {
                $env:DOTNET_EnableAVX512 = '0'
                $json = & ([Environment]::ProcessPath) (Join-Path $PSHOME 'pwsh.dll') -NoProfile -NonInteractive -File $child -Module (Get-Module DpCompress).Path -Data (Get-TestDataPath '.') 2>&1
            }
            finally { $env:DOTNET_EnableAVX512 = $old }
            $LASTEXITCODE | Should -Be 0 -Because ($json -join "`n")
            $portable = ($json -join "`n") | ConvertFrom-Json
            $portable.Vector512 | Should -BeFalse
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $pos = [double[]]$c.Positions.Clone(); $pos[3] = $pos[0] + 0.2; $pos[4] = $pos[1]; $pos[5] = $pos[2]
            $squeezed = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $pos, $c.AtomicNumbers)
            $here = @((New-Fast $script:Alloy5O3).Evaluate((Read-Config 'alloy5' 'fcc_5x5x5_500' 0)), (New-Fast $script:AgAuO3).Evaluate($squeezed))
            $here[1].OutOfTableCount | Should -BeGreaterThan 0
            for ($k = 0; $k -lt 2; $k++) {
                $p = $portable.Cases[$k]
                [math]::Abs([double]$p.Energy - $here[$k].Energy) / [math]::Abs($here[$k].Energy) | Should -BeLessThan 1e-13
                Get-MaxAbsDiff ([double[]]$p.Forces) $here[$k].Forces | Should -BeLessThan 1e-11
                Get-MaxAbsDiff ([double[]]$p.Virial) $here[$k].Virial | Should -BeLessThan 1e-10
                $p.OutOfTable | Should -Be $here[$k].OutOfTableCount
            }
        }
        It 'closed-form padding equals the explicit slot loop (<_>)' -ForEach 'original', 'compressed' {
            $m = if ($_ -eq 'original') { $script:AgAuModel } else { $script:AgAuO3 }
            foreach ($sys in 'Ag45Au3', 'Au32') {
                $c = Read-Config 'agau' $sys 0
                $a = (New-Fast $m).Evaluate($c)
                $loop = [DpCompress.Core.Inference.Fast.FastEngine]::new($m, 1, [DpCompress.Core.Inference.Fast.PaddingEvaluation]::SlotLoop)
                $b = $loop.Evaluate($c)
                [math]::Abs($a.Energy - $b.Energy) / [math]::Abs($a.Energy) | Should -BeLessThan 1e-13
                Get-MaxAbsDiff $a.Forces $b.Forces | Should -BeLessThan 1e-12
                Get-MaxAbsDiff $a.Virial $b.Virial | Should -BeLessThan 1e-11
            }
        }
    }

    Context 'PhaseTimings and invariance' {
        It 'fills the phases and gives translation-invariant energies' {
            $c = Read-Config 'agau' 'Ag10Au14' 2
            $t = [DpCompress.Core.Inference.PhaseTimings]::new()
            $e = New-Fast $script:AgAuO3
            $p = $e.Evaluate($c, $null, $t)
            $t.NeighborSearch | Should -BeGreaterThan 0
            $t.Embedding | Should -BeGreaterThan 0
            $t.Fitting | Should -BeGreaterThan 0
            $t.Backward | Should -BeGreaterThan 0
            $shifted = [DpCompress.Core.Structures.ConfigurationTransforms]::Translate($c, 0.37, -1.1, 2.9)
            $q = $e.Evaluate($shifted)
            [math]::Abs($p.Energy - $q.Energy) | Should -BeLessThan 1e-10
            Get-MaxAbsDiff $p.Forces $q.Forces | Should -BeLessThan 1e-10
        }
    }

    Context 'errors' {
        It 'refuses a neighbour list built for another configuration (NeighborListMismatch)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $other = Read-Config 'agau' 'Ag45Au3' 0
            $m = $script:AgAuModel
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($other, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
            (Get-DpError { (New-Fast $m).Evaluate($c, $nl) }).ErrorId | Should -Be 'NeighborListMismatch'
        }
        It 'refuses an out-of-range neighbour index (NeighborListMismatch, checked in the environment pass)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $m = $script:AgAuModel
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
            $nbr = [int[]]$nl.Neighbor.Clone()
            $t = [array]::IndexOf([int[]]$nl.Counts, ($nl.Counts | Where-Object { $_ -gt 0 } | Select-Object -First 1))
            $nbr[$t * $m.MaxNeighbors] = $c.AtomCount + 5
            $bad = [DpCompress.Core.Neighbors.NeighborList]::new($nl.AtomCount, $nl.TypeCount, $nl.MaxNeighbors, $nl.AtomTypes, $nl.Counts, $nbr, $nl.Delta)
            foreach ($threads in 1, 2) {
                (Get-DpError { (New-Fast $m $threads).Evaluate($c, $bad) }).ErrorId | Should -Be 'NeighborListMismatch'
            }
        }
        It 'refuses more real neighbours than max_neigh_num (TooManyNeighbors)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $m = $script:AgAuModel
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
            $counts = [int[]]$nl.Counts.Clone()
            $counts[0] = $m.MaxNeighbors + 1
            $bad = [DpCompress.Core.Neighbors.NeighborList]::new($nl.AtomCount, $nl.TypeCount, $nl.MaxNeighbors, $nl.AtomTypes, $counts, $nl.Neighbor, $nl.Delta)
            (Get-DpError { (New-Fast $m).Evaluate($c, $bad) }).ErrorId | Should -Be 'TooManyNeighbors'
        }
    }
}
