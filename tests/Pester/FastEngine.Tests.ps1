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
    $script:Alloy5O5 = $script:Alloy5Model.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($script:Alloy5Model, 0.01, 5, $null, $null, [Threading.CancellationToken]::None, -1, $false))
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

    Context 'table kernels for every embedding width' {
        It 'm = <M>, order <Order>: the compressed model agrees with the reference engine, and chunked passes with phase-by-phase ones bit for bit (block shape of the padded row, unpadded coefficient arrays with an overlapping tail for m mod 8 = 1..3 above 8, or the portable kernels above 32)' -ForEach @(
            @{ M = 4; Order = 3 }, @{ M = 7; Order = 3 }, @{ M = 8; Order = 3 }, @{ M = 9; Order = 3 }, @{ M = 12; Order = 3 }, @{ M = 16; Order = 3 }, @{ M = 19; Order = 3 },
            @{ M = 24; Order = 3 }, @{ M = 25; Order = 3 }, @{ M = 30; Order = 3 }, @{ M = 32; Order = 3 }, @{ M = 36; Order = 3 },
            @{ M = 4; Order = 5 }, @{ M = 12; Order = 5 }, @{ M = 19; Order = 5 }, @{ M = 24; Order = 5 }, @{ M = 25; Order = 5 }, @{ M = 27; Order = 5 }, @{ M = 32; Order = 5 }, @{ M = 36; Order = 5 }
        ) {
            if (-not $script:HasReference) { Set-ItResult -Skipped -Because 'ReferenceEngine is not in this build'; return }
            # The Ag–Au model's geometry and statistics with random nets of width m (two embedding layers with
            # an identity skip, a fitting net [m·M2 → 16 → 1]).
            $base = $script:AgAuModel
            $rng = [Random]::new(1000 + $M)
            function New-Layer([int] $In, [int] $Out, [double] $Scale) {
                $w = [double[]]::new($In * $Out); for ($q = 0; $q -lt $w.Length; $q++) { $w[$q] = $Scale * (2 * $rng.NextDouble() - 1) }
                $b = [double[]]::new($Out); for ($q = 0; $q -lt $Out; $q++) { $b[$q] = 0.2 * (2 * $rng.NextDouble() - 1) }
                [DpCompress.Core.Model.DenseLayer]::new($In, $Out, $w, $b, $null, $true)
            }
            $m2 = [math]::Min(4, $M)
            $nt = $base.TypeCount
            $emb = [DpCompress.Core.Model.EmbeddingNet[]]@(for ($k = 0; $k -lt $nt * $nt; $k++) {
                [DpCompress.Core.Model.EmbeddingNet]::new([DpCompress.Core.Model.DenseLayer[]]@((New-Layer 1 $M 1.0), (New-Layer $M $M (1.0 / [math]::Sqrt($M))))) })
            $fit = [DpCompress.Core.Model.FittingNet[]]@(for ($k = 0; $k -lt $nt; $k++) {
                [DpCompress.Core.Model.FittingNet]::new([DpCompress.Core.Model.DenseLayer[]]@((New-Layer ($M * $m2) 16 0.3), (New-Layer 16 1 0.3))) })
            $model = [DpCompress.Core.Model.DpModel]::new($base.AtomTypes, $base.Rmin, $base.Rmax, $base.MaxNeighbors, $m2, $base.Precision,
                $emb, $fit, $base.Davg, $base.Dstd, $base.EnergyShift, $base.SijMax, $base.Checkpoint, $null, $null)
            $cmp = $model.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($model, 0.01, $Order, $null, $null, [Threading.CancellationToken]::None, 1, $false))
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $cmp.AtomTypes, $cmp.Rmax, $cmp.MaxNeighbors)
            $ref = [DpCompress.Core.Inference.ReferenceEngine]::new($cmp)
            try { $r = $ref.Evaluate($c, $nl) } finally { $ref.Dispose() }
            foreach ($threads in 1, 2) {
                $f = (New-Fast $cmp $threads).Evaluate($c, $nl)
                [math]::Abs($f.Energy - $r.Energy) / [math]::Abs($r.Energy) | Should -BeLessThan 1e-12
                Get-MaxAbsDiff $f.Forces $r.Forces | Should -BeLessThan 1e-11
                Get-MaxAbsDiff $f.Virial $r.Virial | Should -BeLessThan 1e-10
            }
            Get-MaxAbsDiff $r.Forces ([double[]]::new($r.Forces.Length)) | Should -BeGreaterThan 1e-6   # the random model has forces to compare
            # Chunked passes (the forward stores each slot's (G, G′), the backward reads them) and phase by phase
            # (the backward recomputes them from the rows): the same bits for every block shape (24 atoms: 3 chunks).
            $chunked = [DpCompress.Core.Inference.Fast.FastEngine]::new($cmp, 1, 'ClosedForm', 'DpCompress', 'AtomChunks').Evaluate($c, $nl)
            $phased = [DpCompress.Core.Inference.Fast.FastEngine]::new($cmp, 1, 'ClosedForm', 'DpCompress', 'PhaseByPhase').Evaluate($c, $nl)
            $chunked.Energy | Should -Be $phased.Energy
            Get-MaxAbsDiff $chunked.Forces $phased.Forces | Should -Be 0
            Get-MaxAbsDiff $chunked.Virial $phased.Virial | Should -Be 0
        }
    }

    Context 'compressed model' {
        It 'keeps the table rows in zeroed native memory aligned to 2 MiB (huge pages advised on Linux) and frees it once' {
            $type = [DpCompress.Core.Inference.Fast.FastEngine].Assembly.GetType('DpCompress.Core.Inference.Fast.HugePageBuffer', $true)
            $flags = [Reflection.BindingFlags]'NonPublic, Public, Instance'
            $buffer = [Activator]::CreateInstance($type, $flags, $null, [object[]]@([long]300001), $null)
            $address = [long]$type.GetProperty('Address', $flags).GetValue($buffer)
            $address % 2MB | Should -Be 0
            $type.GetProperty('Length').GetValue($buffer) | Should -Be 300001
            if ($IsLinux) { $type.GetProperty('HugePages').GetValue($buffer) | Should -BeTrue }
            # Zeroed: read the last and the first element through the span (the padding lanes of a table rely on it).
            $marshal = [Runtime.InteropServices.Marshal]
            $marshal::ReadInt64([IntPtr]$address) | Should -Be 0
            $marshal::ReadInt64([IntPtr]($address + 8 * 300000)) | Should -Be 0
            $buffer.Dispose()
            [long]$type.GetProperty('Address', $flags).GetValue($buffer) | Should -Be 0
            { $buffer.Dispose() } | Should -Not -Throw
            # The engine's table sits in such a buffer (its structure-of-arrays rows exist with AVX).
            if (-not [System.Runtime.Intrinsics.X86.Avx]::IsSupported) { return }
            $engine = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:AgAuO3, 1)
            $table = [DpCompress.Core.Inference.Fast.FastEngine].GetField('_table', [Reflection.BindingFlags]'NonPublic, Instance').GetValue($engine)
            $soa = $table.GetType().GetField('_soa', [Reflection.BindingFlags]'NonPublic, Instance').GetValue($table)
            $soa.GetType().Name | Should -Be 'HugePageBuffer'
            [long]$type.GetProperty('Address', $flags).GetValue($soa) % 2MB | Should -Be 0
        }
        It 'gives the compressor large coefficient arrays zeroed even where the memory held other values' {
            $type = [DpCompress.Core.Inference.Fast.FastEngine].Assembly.GetType('DpCompress.Core.Inference.Fast.HugePages', $true)
            $min = [long]$type.GetField('MinArrayBytes', [Reflection.BindingFlags]'NonPublic, Static').GetValue($null) / 8
            $zeroed = $type.GetMethod('ZeroedDoubles')
            foreach ($n in 1000, ($min + 12345)) {
                # A dead array full of ones first, so a reused block of the heap holds non-zero values.
                $junk = [double[]]::new($n); [Array]::Fill($junk, 1.0); $junk = $null
                [GC]::Collect(); [GC]::WaitForPendingFinalizers(); [GC]::Collect()
                $a = $zeroed.Invoke($null, @([long]$n))
                $a.Length | Should -Be $n
                [Linq.Enumerable]::Max([double[]]$a) | Should -Be 0
                [Linq.Enumerable]::Min([double[]]$a) | Should -Be 0
            }
        }
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
            foreach ($case in @(@($script:AgAuO3, $cs), @($script:AgAuO5, $cs), @($script:Alloy5O3, $big), @($script:Alloy5O5, $big), @($script:Alloy5Model, $big))) {
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
        It 'passes per chunk of atoms (slots located a chunk ahead) and phase by phase give the same bits (order <_>, 1 and 2 threads, slots beyond the table)' -ForEach 3, 5 {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $pos = [double[]]$c.Positions.Clone()
            $pos[3] = $pos[0] + 0.2; $pos[4] = $pos[1]; $pos[5] = $pos[2]
            $cs = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $pos, $c.AtomicNumbers)
            $big = Read-Config 'alloy5' 'fcc_5x5x5_500' 0
            # 2x2x2 of the cell with the close pair: 192 atoms in several chunks per thread, so slots beyond the
            # table also lie in chunks that were located one chunk ahead (FastEngine.LookAhead).
            $csBig = [DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($cs, 2, 2, 2)
            $cases = if ($_ -eq 3) { @(@($script:AgAuO3, $cs), @($script:AgAuO3, $csBig), @($script:Alloy5O3, $big)) } else { @(@($script:AgAuO5, $cs), @($script:AgAuO5, $csBig), @($script:Alloy5O5, $big)) }
            foreach ($case in $cases) {
                foreach ($threads in 1, 2) {
                    $chunked = [DpCompress.Core.Inference.Fast.FastEngine]::new($case[0], $threads, 'ClosedForm', 'DpCompress', 'AtomChunks')
                    $phased = [DpCompress.Core.Inference.Fast.FastEngine]::new($case[0], $threads, 'ClosedForm', 'DpCompress', 'PhaseByPhase')
                    $chunked.PassOrder | Should -Be 'AtomChunks'
                    $a = $chunked.Evaluate($case[1]); $b = $phased.Evaluate($case[1])
                    $a.Energy | Should -Be $b.Energy
                    Get-MaxAbsDiff $a.Forces $b.Forces | Should -Be 0
                    Get-MaxAbsDiff $a.Virial $b.Virial | Should -Be 0
                    Get-MaxAbsDiff $a.AtomicEnergies $b.AtomicEnergies | Should -Be 0
                    $a.OutOfTableCount | Should -Be $b.OutOfTableCount
                    if ($case[1].AtomCount -ne 500) { $a.OutOfTableCount | Should -BeGreaterThan 0 }
                    $a.BeyondTrainingCount | Should -Be $b.BeyondTrainingCount
                }
            }
            [DpCompress.Core.Inference.Fast.FastEngine]::new($script:AgAuO3, 1).PassOrder | Should -Be 'AtomChunks'
            # Chunks: runs of equal size (± 1 atom), one per part, cut into chunks of at most 64 atoms of one type.
            # The cases above cover one chunk per type (24 atoms), several (192, 500) and chunks of unequal size.
            $split = [DpCompress.Core.Inference.Fast.FastEngine].Assembly.GetType('DpCompress.Core.Inference.Fast.FastEngine+Evaluation', $true).GetMethod('PartChunks', [Reflection.BindingFlags]'NonPublic, Static')
            foreach ($case in @(@(0, 100, 200, 300, 400, 500), 4), @(@(0, 100, 200, 300, 400, 500), 2), @(@(0, 10, 24), 2), @(@(0, 0, 3, 3, 7), 4), @(@(0, 1), 1)) {
                $typeStart = [int[]]$case[0]; $parts = [int]$case[1]; $n = $typeStart[-1]
                $result = $split.Invoke($null, @($typeStart, $parts, 64))
                $chunks = $result.Item1; $partStart = $result.Item2
                $partStart.Length | Should -Be ($parts + 1)
                $partStart[0] | Should -Be 0; $partStart[$parts] | Should -Be $chunks.Count
                $next = 0
                foreach ($c in $chunks) {
                    $c.Item2 | Should -Be $next   # contiguous, in sorted order
                    $c.Item3 | Should -BeGreaterThan 0; $c.Item3 | Should -BeLessOrEqual 64
                    $c.Item2 | Should -BeGreaterOrEqual $typeStart[$c.Item1]; ($c.Item2 + $c.Item3) | Should -BeLessOrEqual $typeStart[$c.Item1 + 1]
                    $next = $c.Item2 + $c.Item3
                }
                $next | Should -Be $n
                for ($q = 0; $q -lt $parts; $q++) {
                    $atoms = 0; for ($w = $partStart[$q]; $w -lt $partStart[$q + 1]; $w++) { $atoms += $chunks[$w].Item3 }
                    [math]::Abs($atoms - $n / $parts) | Should -BeLessThan 1 -Because "part $q of $parts"
                }
            }
            [DpCompress.Core.Inference.Fast.FastEngine]::new($script:AgAuModel, 1).PassOrder | Should -Be 'PhaseByPhase'
        }
        It 'the portable table kernels (AVX-512 switched off) agree with the Vector512 block kernels (orders 3 and 5)' {
            # A child process with DOTNET_EnableAVX512=0 takes the two-slot AVX2 kernels (order 3) or the
            # general path (order 5); this one the
            # register-blocked Vector512 kernels (on hardware that has them). Cases: a 500-atom five-type
            # cell and a two-type cell with a pair 0.2 Å apart (slots beyond the table).
            $child = Join-Path $TestDrive 'portable.ps1'
            Set-Content -Path $child -Value @'
param([string] $Module, [string] $Data)
Import-Module $Module -Force
$none = [Threading.CancellationToken]::None
$out = foreach ($case in @(@('alloy5/dp5_model.ckpt', 'alloy5/PWdata/fcc_5x5x5_500', 0, $false, 3), @('agau/dp_model.ckpt', 'agau/PWdata/Ag10Au14', 0, $true, 3), @('alloy5/dp5_model.ckpt', 'alloy5/PWdata/fcc_5x5x5_500', 0, $false, 5), @('agau/dp_model.ckpt', 'agau/PWdata/Ag10Au14', 0, $true, 5))) {
    $m = [DpCompress.Core.Serialization.CheckpointReader]::Read((Join-Path $Data $case[0]))
    $m = $m.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($m, 0.01, $case[4], $null, $null, $none, 1, $false))
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
            $fcc = Read-Config 'alloy5' 'fcc_5x5x5_500' 0
            $here = @((New-Fast $script:Alloy5O3).Evaluate($fcc), (New-Fast $script:AgAuO3).Evaluate($squeezed), (New-Fast $script:Alloy5O5).Evaluate($fcc), (New-Fast $script:AgAuO5).Evaluate($squeezed))
            $here[1].OutOfTableCount | Should -BeGreaterThan 0
            $here[3].OutOfTableCount | Should -BeGreaterThan 0
            for ($k = 0; $k -lt 4; $k++) {
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
        It 'frees its table on Dispose and then refuses to evaluate (ObjectDisposedException); Dispose twice is harmless' {
            $engine = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:AgAuO3, 1)
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $null = $engine.Evaluate($c)
            $engine.Dispose()
            $caught = $null
            try { $null = $engine.Evaluate($c) } catch { $caught = $_.Exception.GetBaseException() }
            $caught | Should -BeOfType ([ObjectDisposedException])
            { $engine.Dispose() } | Should -Not -Throw
        }
        It 'refuses a neighbour list built for another configuration (NeighborListMismatch)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $other = Read-Config 'agau' 'Ag45Au3' 0
            $m = $script:AgAuModel
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($other, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
            (Get-DpError { (New-Fast $m).Evaluate($c, $nl) }).ErrorId | Should -Be 'NeighborListMismatch'
        }
        It 'refuses an out-of-range neighbour index (NeighborListMismatch, checked after the environment pass; compressed: after the chunked passes, before the force scatter)' {
            $c = Read-Config 'agau' 'Ag10Au14' 0
            $m = $script:AgAuModel
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $m.AtomTypes, $m.Rmax, $m.MaxNeighbors)
            $nbr = [int[]]$nl.Neighbor.Clone()
            $t = [array]::IndexOf([int[]]$nl.Counts, ($nl.Counts | Where-Object { $_ -gt 0 } | Select-Object -First 1))
            $nbr[$t * $m.MaxNeighbors] = $c.AtomCount + 5
            $bad = [DpCompress.Core.Neighbors.NeighborList]::new($nl.AtomCount, $nl.TypeCount, $nl.MaxNeighbors, $nl.AtomTypes, $nl.Counts, $nbr, $nl.Delta)
            foreach ($model in $m, $script:AgAuO3) {
                foreach ($threads in 1, 2) {
                    (Get-DpError { (New-Fast $model $threads).Evaluate($c, $bad) }).ErrorId | Should -Be 'NeighborListMismatch'
                }
            }
            [DpCompress.Core.Inference.Fast.FastEngine]::new($script:AgAuO3, 1).PassOrder | Should -Be 'AtomChunks'   # the chunked path was the one refused
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

    Context 'dense kernels against a scalar reference (bitwise)' {
        # The kernels are internal and take spans: KernelTestHooks gives array forms (reflection).
        # The reference below is the definition the kernels must reproduce bit for bit, whatever
        # their blocking or vector width: every product element one FMA chain over p = 0..k−1 from
        # 0 (then + the old value or + bias), tanh by groups of four from index 0 with
        # Vector256.Exp(−2|z|) (Math.Tanh for the last n mod 4), and the layer operations in order.
        BeforeAll {
            if (-not ('FastKernelTests.Reference' -as [type])) {
                Add-Type -ReferencedAssemblies ([DpCompress.Core.Model.DenseLayer].Assembly.Location), 'System.Runtime.Intrinsics' -TypeDefinition @'
using System;
using System.Runtime.Intrinsics;
using DpCompress.Core.Model;
namespace FastKernelTests {
public static class Reference {
    public static void MatMul(double[] x, int n, int k, double[] w, int o, double[] c, bool accumulate, double[] bias) {
        for (int i = 0; i < n; i++) for (int j = 0; j < o; j++) {
            double a = 0;
            for (int p = 0; p < k; p++) a = Math.FusedMultiplyAdd(x[i * k + p], w[p * o + j], a);
            if (accumulate) a = c[i * o + j] + a;
            if (bias != null) a += bias[j];
            c[i * o + j] = a;
        }
    }
    public static void Tanh(double[] z, double[] y) {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 4 <= z.Length; i += 4) {
                var v = Vector256.Create(z, i);
                var e = Vector256.Exp(Vector256.Abs(v) * Vector256.Create(-2.0));
                (((Vector256<double>.One - e) / (Vector256<double>.One + e)) | (v & Vector256.Create(-0.0))).CopyTo(y, i);
            }
        for (; i < z.Length; i++) y[i] = Math.Tanh(z[i]);
    }
    public static void Embedding(DenseLayer[] layers, double[] s, double[] g, double[] gp) {
        int n = s.Length, width = 1;
        double[] x = (double[])s.Clone(), dx = new double[n];
        for (int r = 0; r < n; r++) dx[r] = 1.0;
        foreach (var L in layers) {
            int o = L.Outputs;
            double[] z = new double[n * o], dz = new double[n * o], h = new double[n * o];
            MatMul(x, n, width, L.Weight, o, z, false, L.Bias);
            MatMul(dx, n, width, L.Weight, o, dz, false, null);
            Tanh(z, h);
            for (int r = 0; r < n; r++) for (int q = 0; q < o; q++) {
                int f = r * o + q;
                double hq = h[f], dh = (1.0 - hq * hq) * dz[f];
                if (L.Skip != SkipKind.None && L.ResnetDt != null) { hq *= L.ResnetDt[q]; dh *= L.ResnetDt[q]; }
                if (L.Skip != SkipKind.None) { hq += x[r * width + q % width]; dh += dx[r * width + q % width]; }
                z[f] = hq; dz[f] = dh;
            }
            x = z; dx = dz; width = o;
        }
        Array.Copy(x, g, x.Length); Array.Copy(dx, gp, dx.Length);
    }
    public static double[] FittingForward(DenseLayer[] layers, double[] d, int row0, int n, double[][] hidden) {
        int width = layers[0].Inputs;
        double[] x = new double[n * width];
        Array.Copy(d, row0 * width, x, 0, n * width);
        for (int l = 0; l < layers.Length; l++) {
            var L = layers[l];
            int o = L.Outputs;
            double[] z = new double[n * o];
            MatMul(x, n, width, L.Weight, o, z, false, L.Bias);
            if (l == layers.Length - 1) return z;
            double[] h = new double[n * o];
            Tanh(z, h);
            Array.Copy(h, 0, hidden[l], row0 * o, n * o);
            if (L.Skip != SkipKind.None)
                for (int r = 0; r < n; r++) for (int q = 0; q < o; q++) {
                    double t = h[r * o + q];
                    if (L.ResnetDt != null) t *= L.ResnetDt[q];
                    h[r * o + q] = t + x[r * width + q % width];
                }
            x = h; width = o;
        }
        return null;
    }
    public static double[] FittingBackward(DenseLayer[] layers, double[][] hidden, int row0, int n) {
        var last = layers[layers.Length - 1];
        int width = last.Inputs;
        double[] gx = new double[n * width];
        for (int r = 0; r < n; r++) for (int q = 0; q < width; q++) gx[r * width + q] = last.Weight[q];
        for (int l = layers.Length - 2; l >= 0; l--) {
            var L = layers[l];
            int o = L.Outputs, inW = L.Inputs;
            double[] target = new double[n * inW], wt = new double[o * inW];
            for (int p = 0; p < inW; p++) for (int q = 0; q < o; q++) wt[q * inW + p] = L.Weight[p * o + q];
            for (int r = 0; r < n; r++) {
                if (L.Skip == SkipKind.Identity) for (int q = 0; q < inW; q++) target[r * inW + q] = gx[r * o + q];
                if (L.Skip == SkipKind.Doubled) for (int q = 0; q < inW; q++) target[r * inW + q] = gx[r * o + q] + gx[r * o + q + inW];
                for (int q = 0; q < o; q++) {
                    double v = gx[r * o + q], hq = hidden[l][(row0 + r) * o + q];
                    if (L.Skip != SkipKind.None && L.ResnetDt != null) v *= L.ResnetDt[q];
                    gx[r * o + q] = v * (1.0 - hq * hq);
                }
            }
            MatMul(gx, n, o, wt, inW, target, L.Skip != SkipKind.None, null);
            gx = target;
        }
        return gx;
    }
    // dE/dA_i from dE/dD_i (D = Aᵀ A[:, :M2]): for every κ, lane sums s_l = FMA chain over ν = 4b + l (full
    // blocks of four), (s_0 + s_1) + (s_2 + s_3), then + A[a,ν]·dD[κ,ν] for the last M2 mod 4 ν; for κ < M2
    // plus the FMA chain over μ of A[a,μ]·dD[μ,κ]. Columns m..stride−1 zero.
    public static double[] DescriptorBackward(double[] a, double[] dd, int m, int m2, int stride) {
        var da = new double[4 * stride];
        int m2v = m2 & ~3;
        for (int c = 0; c < 4; c++) {
            for (int k = 0; k < m; k++) {
                var s = new double[4];
                for (int nu = 0; nu < m2v; nu++) s[nu % 4] = Math.FusedMultiplyAdd(a[c * m + nu], dd[k * m2 + nu], s[nu % 4]);
                double v = (s[0] + s[1]) + (s[2] + s[3]);
                for (int nu = m2v; nu < m2; nu++) v += a[c * m + nu] * dd[k * m2 + nu];
                if (k < m2) {
                    double u = 0;
                    for (int mu = 0; mu < m; mu++) u = Math.FusedMultiplyAdd(a[c * m + mu], dd[mu * m2 + k], u);
                    v += u;
                }
                da[c * stride + k] = v;
            }
        }
        return da;
    }
    // The index of the first element whose bits differ, or −1.
    public static int FirstDifference(double[] a, double[] b, int offset, int count) {
        for (int i = offset; i < offset + count; i++)
            if (BitConverter.DoubleToInt64Bits(a[i]) != BitConverter.DoubleToInt64Bits(b[i])) return i;
        return -1;
    }
    // Positions where an inlined exp differs from Vector512.Exp or Vector256.Exp.
    public static int ExpMismatches(double[] x, double[] y) {
        int bad = 0;
        for (int i = 0; i + 8 <= x.Length; i += 8) {
            var v = Vector512.Create(x, i);
            var a = Vector512.Exp(v);
            var b = Vector512.Create(Vector256.Exp(v.GetLower()), Vector256.Exp(v.GetUpper()));
            for (int l = 0; l < 8; l++) {
                long yb = BitConverter.DoubleToInt64Bits(y[i + l]);
                if (yb != BitConverter.DoubleToInt64Bits(a[l]) || yb != BitConverter.DoubleToInt64Bits(b[l])) bad++;
            }
        }
        return bad;
    }
}
}
'@
            }
            $hooks = [DpCompress.Core.Inference.Fast.FastEngine].Assembly.GetType('DpCompress.Core.Inference.Fast.KernelTestHooks', $true)
            $flags = [Reflection.BindingFlags]'NonPublic, Static'
            $script:Hook = @{}
            foreach ($name in 'MatMul', 'Tanh', 'ExpPolynomial', 'Embedding', 'FittingForward', 'FittingBackward', 'DescriptorBackward') { $script:Hook[$name] = $hooks.GetMethod($name, $flags) }
            $script:Rng = [Random]::new(20240611)
            function New-RandomArray([int] $Length, [double] $Scale = 1.0) {
                $a = [double[]]::new($Length)
                for ($i = 0; $i -lt $Length; $i++) { $a[$i] = $Scale * (2 * $script:Rng.NextDouble() - 1) }
                , $a
            }
            function New-Layer([int] $In, [int] $Out, [double] $Scale = 0.5, [switch] $Idt, [switch] $NoBias) {
                $b = $null; $dt = $null
                if (-not $NoBias) { $b = New-RandomArray $Out 0.3 }
                if ($Idt) { $dt = New-RandomArray $Out 0.2 }
                [DpCompress.Core.Model.DenseLayer]::new($In, $Out, (New-RandomArray ($In * $Out) $Scale), $b, $dt, $true)
            }
            function Assert-SameBits($Expected, $Actual, [string] $What, [int] $Offset = 0, [int] $Count = -1) {
                if ($Count -lt 0) { $Count = $Expected.Length }
                $at = [FastKernelTests.Reference]::FirstDifference($Expected, $Actual, $Offset, $Count)
                if ($at -ge 0) { throw "$What differs at $at`: expected $($Expected[$at].ToString('R')), got $($Actual[$at].ToString('R'))" }
            }
        }

        It 'whole-model predictions of original models are the same bits without AVX-512 (child process, DOTNET_EnableAVX512=0)' {
            # Original models only: they run the dense kernels alone. Compressed models take other table
            # kernels without AVX-512 (another summation order); 'the portable table kernels ...' compares those.
            if (-not [System.Runtime.Intrinsics.Vector512]::IsHardwareAccelerated) { Set-ItResult -Skipped -Because 'AVX-512 is not available here'; return }
            $script = Join-Path $TestDrive 'predict.ps1'
            Set-Content -LiteralPath $script -Value @'
param([string] $Module, [string] $Data)
Import-Module $Module -Force
"avx512 $([System.Runtime.Intrinsics.Vector512]::IsHardwareAccelerated)"
$agau = [DpCompress.Core.Serialization.CheckpointReader]::Read((Join-Path $Data 'agau/dp_model.ckpt'))
$alloy = [DpCompress.Core.Serialization.CheckpointReader]::Read((Join-Path $Data 'alloy5/dp5_model.ckpt'))
$cases = @(
    @($agau, 'agau/PWdata/Ag10Au14'), @($agau, 'agau/PWdata/Ag45Au3'), @($agau, 'agau/PWdata/Au32'),
    @($alloy, 'alloy5/PWdata/bcc_3x3x6_108'))
foreach ($case in $cases) {
    $c = [DpCompress.Core.Structures.PwDataReader]::Read((Join-Path $Data $case[1]))[0]
    $p = [DpCompress.Core.Inference.Fast.FastEngine]::new($case[0], 1).Evaluate($c)
    (@($p.Energy) + $p.Forces + $p.Virial + $p.AtomicEnergies | ForEach-Object { [BitConverter]::DoubleToInt64Bits($_).ToString('x16') }) -join ' '
}
'@
            $module = Join-Path (Split-Path (Get-Module DpCompress).Path) 'DpCompress.psd1'
            $data = Get-TestDataPath ''
            $run = {
                $exe = [Environment]::ProcessPath
                # Under `dotnet pwsh` the process is the dotnet host: run pwsh.dll with it.
                [string[]] $lead = @()
                if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { $lead = @(Join-Path $PSHOME 'pwsh.dll') }
                & $exe @lead -NoProfile -NonInteractive -File $script -Module $module -Data $data
            }
            $with = & $run
            $env:DOTNET_EnableAVX512 = '0'
            try { $without = & $run } finally { Remove-Item Env:DOTNET_EnableAVX512 }
            $with[0] | Should -Be 'avx512 True'
            $without[0] | Should -Be 'avx512 False'
            $with.Count | Should -Be 5
            for ($i = 1; $i -lt $with.Count; $i++) { $without[$i] | Should -BeExactly $with[$i] }
        }

        It 'MatMul and MatMulBias (AVX-512 and Vector256 paths) are the FMA chain, for odd shapes (8-row blocks from k·o ≥ 2048, several row panels for o ≥ 300), with and without accumulate' {
            $cases = 0
            foreach ($n in 1, 2, 3, 4, 5, 7, 8, 9, 13, 17, 43) {
                foreach ($k in 0, 1, 2, 7, 25, 260) {
                    foreach ($o in 1, 2, 3, 4, 5, 7, 8, 9, 12, 13, 16, 20, 22, 23, 24, 25, 26, 31, 33, 37, 40, 49, 50, 51, 300, 601) {
                        $x = New-RandomArray ($n * $k); $w = New-RandomArray ($k * $o); $c0 = New-RandomArray ($n * $o + 5); $b = New-RandomArray $o
                        foreach ($mode in 'set', 'accumulate', 'bias') {
                            $acc = $mode -eq 'accumulate'
                            $bias = $null
                            if ($mode -eq 'bias') { $bias = $b }
                            $expected = [double[]]$c0.Clone()
                            [FastKernelTests.Reference]::MatMul($x, $n, $k, $w, $o, $expected, $acc, $bias)
                            foreach ($v256 in $false, $true) {
                                $actual = [double[]]$c0.Clone()
                                $null = $script:Hook.MatMul.Invoke($null, @($x, $n, $k, $w, $o, $actual, $acc, $bias, $v256))
                                Assert-SameBits $expected $actual "MatMul n=$n k=$k o=$o $mode vector256=$v256"
                                $cases++
                            }
                        }
                    }
                }
            }
            $cases | Should -Be (11 * 6 * 26 * 3 * 2)
        }

        It 'Tanh keeps the groups of four, also with arguments beyond ±354 (Math.Exp groups), ±Inf and NaN' {
            foreach ($len in 0, 1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 33, 3203) {
                foreach ($extreme in $false, $true) {
                    $z = New-RandomArray $len 4.0
                    if ($extreme -and $len -gt 0) {
                        foreach ($v in 400.0, -1000.0, 360.0, [double]::PositiveInfinity, [double]::NaN, -355.0) { $z[$script:Rng.Next($len)] = $v }
                    }
                    $expected = [double[]]::new($len); $actual = [double[]]::new($len)
                    [FastKernelTests.Reference]::Tanh($z, $expected)
                    $null = $script:Hook.Tanh.Invoke($null, @($z, $actual))
                    Assert-SameBits $expected $actual "Tanh length $len extreme=$extreme"
                }
            }
        }

        It 'the inlined exp polynomial equals Vector512.Exp and Vector256.Exp bit for bit' {
            $x = [double[]]::new(400000)
            for ($i = 0; $i -lt $x.Length; $i++) {
                $u = $script:Rng.NextDouble()
                $x[$i] = switch ($i % 4) { 0 { -40 * $u } 1 { -708 * $u } 2 { 708 * (2 * $u - 1) } default { -[math]::Exp(20 * $u - 18) } }
            }
            $x[0] = 0.0; $x[1] = -0.0; $x[2] = -708.0; $x[3] = 708.0; $x[4] = -4.9e-324
            $y = $script:Hook.ExpPolynomial.Invoke($null, @(, $x))
            if ($null -eq $y) { Set-ItResult -Skipped -Because 'AVX-512 is not available'; return }
            [FastKernelTests.Reference]::ExpMismatches($x, $y) | Should -Be 0
        }

        It 'EmbeddingKernel: <Name>' -ForEach @(
            @{ Name = 'model shape 1-25-25-25'; Sizes = @(25, 25, 25); Scale = 0.5; Spread = 5.0 }
            @{ Name = 'skip kinds, resnet_dt, odd widths 1-5-5-10-10-7'; Sizes = @(5, 5, 10, 10, 7); Scale = 0.5; Spread = 5.0 }
            @{ Name = 'skips from the first layer on 1-1-2-4'; Sizes = @(1, 2, 4); Scale = 0.5; Spread = 5.0 }
            @{ Name = 'doubled first layer 1-2-2'; Sizes = @(2, 2); Scale = 0.5; Spread = 5.0 }
            # Every seventh row beyond ±354, its neighbours in the same groups of four near 0.
            @{ Name = 'pre-activations beyond ±354 in some rows'; Sizes = @(5, 5, 10); Scale = 120.0; Spread = 0.003 }
        ) {
            $layers = [System.Collections.Generic.List[DpCompress.Core.Model.DenseLayer]]::new()
            $in = 1
            for ($l = 0; $l -lt $Sizes.Count; $l++) {
                $out = $Sizes[$l]
                $layers.Add((New-Layer $in $out -Scale ($(if ($l -eq 0) { $Scale } else { 0.5 })) -Idt:($l % 2 -eq 1) -NoBias:($l -eq 3)))
                $in = $out
            }
            $net = [DpCompress.Core.Model.EmbeddingNet]::new($layers)
            $m = $Sizes[-1]
            foreach ($n in 1, 2, 3, 5, 13, 37, 128) {
                $s = New-RandomArray $n $Spread
                if ($Spread -lt 1) { for ($r = 3; $r -lt $n; $r += 7) { $s[$r] = 4.5 } }
                $g = [double[]]::new($n * $m); $gp = [double[]]::new($n * $m); $eg = [double[]]::new($n * $m); $egp = [double[]]::new($n * $m)
                [FastKernelTests.Reference]::Embedding($layers.ToArray(), $s, $eg, $egp)
                $null = $script:Hook.Embedding.Invoke($null, @($net, $s, $g, $gp))
                Assert-SameBits $eg $g "G (n=$n)"
                Assert-SameBits $egp $gp "G' (n=$n)"
            }
        }

        It 'DescriptorBackward: dE/dA from dE/dD for m = <M>, M2 = <M2>, compact and padded rows' -ForEach @(
            @{ M = 25; M2 = 12 }, @{ M = 25; M2 = 16 }, @{ M = 8; M2 = 8 }, @{ M = 13; M2 = 6 }, @{ M = 7; M2 = 3 }, @{ M = 32; M2 = 32 }
        ) {
            $mp = ($M + 3) -band -bnot 3
            foreach ($stride in $M, $mp) {
                $a = New-RandomArray (4 * $M)
                $dd = New-RandomArray ($M * $M2)
                $da = [double[]]::new(4 * $stride)
                for ($q = 0; $q -lt $da.Length; $q++) { $da[$q] = [double]::NaN }   # every element must be written
                $null = $script:Hook.DescriptorBackward.Invoke($null, @($a, $dd, $M, $M2, $da, $stride))
                $expected = [FastKernelTests.Reference]::DescriptorBackward($a, $dd, $M, $M2, $stride)
                if ($stride -eq $M) { Assert-SameBits $expected $da "dA (compact)" }
                else { Assert-SameBits $expected $da "dA (padded to $stride)" }
            }
        }

        It 'FittingKernel forward and backward: <Name>' -ForEach @(
            @{ Name = 'model shape 300-50-50-50-1'; Sizes = @(300, 50, 50, 50, 1); Scale = 0.2 }
            @{ Name = 'skip kinds, resnet_dt, odd widths 13-7-7-14-14-1'; Sizes = @(13, 7, 7, 14, 14, 1); Scale = 0.5 }
            @{ Name = 'pre-activations beyond ±354 in some rows'; Sizes = @(13, 7, 7, 14, 1); Scale = 200.0 }
        ) {
            $layers = [System.Collections.Generic.List[DpCompress.Core.Model.DenseLayer]]::new()
            for ($l = 0; $l + 1 -lt $Sizes.Count; $l++) {
                $layers.Add((New-Layer $Sizes[$l] $Sizes[$l + 1] -Scale ($(if ($l -eq 0) { $Scale } else { 0.5 })) -Idt:($l -ge 1 -and $l -le 2) -NoBias:($l -eq 3)))
            }
            $net = [DpCompress.Core.Model.FittingNet]::new($layers)
            $netLayers = [DpCompress.Core.Model.DenseLayer[]]@($net.Layers)
            $d0 = $Sizes[0]
            $hiddenWidths = $Sizes[1..($Sizes.Count - 2)]
            foreach ($n in 1, 3, 4, 5, 32, 33) {
                $row0 = 2
                $rows = $row0 + $n + 1
                $d = New-RandomArray ($rows * $d0)
                $hidden = [double[][]]@($hiddenWidths | ForEach-Object { , [double[]]::new($rows * $_) })
                $eHidden = [double[][]]@($hiddenWidths | ForEach-Object { , [double[]]::new($rows * $_) })
                $expected = [FastKernelTests.Reference]::FittingForward($netLayers, $d, $row0, $n, $eHidden)
                $energy = $script:Hook.FittingForward.Invoke($null, @($net, $d, $row0, $n, $hidden))
                Assert-SameBits $expected $energy "E_i (n=$n)"
                for ($l = 0; $l -lt $hidden.Count; $l++) { Assert-SameBits $eHidden[$l] $hidden[$l] "hidden layer $l (n=$n)" ($row0 * $hiddenWidths[$l]) ($n * $hiddenWidths[$l]) }
                $dd = [double[]]::new($rows * $d0)
                $null = $script:Hook.FittingBackward.Invoke($null, @($net, $hidden, $row0, $n, $dd))
                $eDd = [FastKernelTests.Reference]::FittingBackward($netLayers, $eHidden, $row0, $n)
                $got = [double[]]::new($n * $d0)
                [Array]::Copy($dd, $row0 * $d0, $got, 0, $n * $d0)
                Assert-SameBits $eDd $got "dE/dD (n=$n)"
            }
        }
    }
}
