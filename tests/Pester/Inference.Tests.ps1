# Reference engine (SPEC §2: PWMLFF's DP forward in TorchSharp float64 autograd), compressed
# evaluation (SPEC §3) and the verification core (PredictionComparer, Verifier).
# Data: tests/data/agau (PWMLFF's Ag-Au model, PWMLFF's own compressed file, 160 PWdata images,
# PWMLFF's own predictions in reference_original.json). Every check runs on all 160 images;
# finite differences and transformations use Ag10Au14[2] (its closest pair sits exactly at s_max).
BeforeDiscovery {
    $json = Get-Content -Raw (Join-Path $PSScriptRoot '../data/agau/reference_original.json') | ConvertFrom-Json
    $script:ReferenceCases = @($json.images | ForEach-Object { @{ System = $_.system; Index = $_.image_index; Image = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:None = [Threading.CancellationToken]::None
    $script:Model = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'agau/dp_model.ckpt'))
    $script:PwmlffCompressed = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'agau/cmp_o3_dx0.01.ckpt'))
    $script:Configs = [DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'agau/PWdata'))
    $script:Engine = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model)

    function Get-Config([string] $System, [int] $Index) {
        $c = $script:Configs | Where-Object { $_.Name -eq $System -and $_.Index -eq $Index } | Select-Object -First 1
        if (-not $c) { throw "No configuration $System[$Index]." }
        $c
    }
    function Invoke-Engine($Engine, $Configuration, $Timings = $null) {
        $Engine.Evaluate($Configuration, $null, $Timings, $script:None)
    }
    function New-Configuration($From, [double[]] $Positions, [double[]] $Cell = $From.Cell) {
        [DpCompress.Core.Structures.Configuration]::new($Cell, $Positions, $From.AtomicNumbers)
    }
    # The DpCompressException id behind an exception thrown by a .NET call ('OperationCanceled' for cancellation).
    function Get-ErrorId([scriptblock] $Script) {
        try { & $Script; return '<no error>' }
        catch {
            $e = $_.Exception; $innermost = $e
            while ($e -and -not ($e -is [DpCompress.Core.DpCompressException])) {
                if ($e -is [OperationCanceledException]) { return 'OperationCanceled' }
                $innermost = $e
                $e = $e.InnerException
            }
            if ($e) { return $e.ErrorId }
            return $innermost.GetType().Name
        }
    }
}

AfterAll {
    if ($script:Engine) { $script:Engine.Dispose() }
}

Describe 'ReferenceEngine' {
    Context 'PWMLFF''s own outputs (reference_original.json)' -ForEach $ReferenceCases {
        BeforeAll {
            $script:p = Invoke-Engine $script:Engine (Get-Config $System $Index)
        }
        It 'reproduces E and E_i of <System>[<Index>] to 1e-8 eV' {
            [math]::Abs($p.Energy - $Image.Etot) | Should -BeLessOrEqual 1e-8
            Get-MaxAbsDiff $p.AtomicEnergies ([double[]]$Image.Ei) | Should -BeLessOrEqual 1e-8
        }
        It 'reproduces the forces of <System>[<Index>] to 1e-8 eV/A' {
            $f = [double[]]($Image.forces | ForEach-Object { $_ })
            Get-MaxAbsDiff $p.Forces $f | Should -BeLessOrEqual 1e-8
        }
        It 'reproduces the virial of <System>[<Index>] to 1e-7 eV' {
            Get-MaxAbsDiff $p.Virial ([double[]]$Image.virial) | Should -BeLessOrEqual 1e-7
        }
        It 'reports the largest scaled s of <System>[<Index>]' {
            [math]::Abs($p.MaxScaledS - $Image.max_sij_scaled) | Should -BeLessOrEqual 1e-9
            $p.Engine | Should -Be 'Reference'
            $p.Compressed | Should -BeFalse
        }
    }

    Context 'physics on Ag10Au14[2]' {
        BeforeAll {
            $script:c = Get-Config 'Ag10Au14' 2
            $script:p0 = Invoke-Engine $script:Engine $c
        }
        It 'gives forces equal to -dE/dr by central differences (h = 1e-5 A)' {
            $h = 1e-5; $worst = 0.0
            foreach ($atom in 0, 7, 13, 23) {
                foreach ($d in 0..2) {
                    $plus = [double[]]$c.Positions.Clone(); $plus[3 * $atom + $d] += $h
                    $minus = [double[]]$c.Positions.Clone(); $minus[3 * $atom + $d] -= $h
                    $fd = -((Invoke-Engine $script:Engine (New-Configuration $c $plus)).Energy - (Invoke-Engine $script:Engine (New-Configuration $c $minus)).Energy) / (2 * $h)
                    $worst = [math]::Max($worst, [math]::Abs($fd - $p0.Forces[3 * $atom + $d]))
                }
            }
            $worst | Should -BeLessOrEqual 1e-6
        }
        It 'gives a virial equal to -dE/d(strain) by central differences' {
            # r' = r (I + e) for row vectors r (positions and lattice rows): W_ab = -dE/de_ab.
            $h = 1e-5; $worst = 0.0
            foreach ($a in 0..2) {
                foreach ($b in 0..2) {
                    $e = foreach ($sign in 1, -1) {
                        $cell = [double[]]$c.Cell.Clone(); $pos = [double[]]$c.Positions.Clone()
                        for ($r = 0; $r -lt 3; $r++) { $cell[3 * $r + $b] += $sign * $h * $c.Cell[3 * $r + $a] }
                        for ($i = 0; $i -lt $c.AtomCount; $i++) { $pos[3 * $i + $b] += $sign * $h * $c.Positions[3 * $i + $a] }
                        (Invoke-Engine $script:Engine (New-Configuration $c $pos $cell)).Energy
                    }
                    $worst = [math]::Max($worst, [math]::Abs(-($e[0] - $e[1]) / (2 * $h) - $p0.Virial[3 * $a + $b]))
                }
            }
            $worst | Should -BeLessOrEqual 1e-6
        }
        It 'returns a symmetric virial' {
            foreach ($pair in @(1, 3), @(2, 6), @(5, 7)) {
                [math]::Abs($p0.Virial[$pair[0]] - $p0.Virial[$pair[1]]) | Should -BeLessOrEqual 1e-9
            }
        }
        It 'is invariant under translation' {
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Translate($c, 1.37, -2.11, 0.73))
            [math]::Abs($p.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-9
            Get-MaxAbsDiff $p.Forces $p0.Forces | Should -BeLessOrEqual 1e-9
            Get-MaxAbsDiff $p.Virial $p0.Virial | Should -BeLessOrEqual 1e-8
        }
        It 'rotates forces (R F) and virial (R W R^T) with the configuration' {
            $R = [DpCompress.Core.Structures.ConfigurationTransforms]::RotationMatrix([double[]](0.3, -0.5, 0.8), 0.9)
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Rotate($c, $R))
            [math]::Abs($p.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-9
            $rf = [double[]]::new($p0.Forces.Length)
            for ($i = 0; $i -lt $c.AtomCount; $i++) {
                for ($a = 0; $a -lt 3; $a++) {
                    $rf[3 * $i + $a] = $R[3 * $a] * $p0.Forces[3 * $i] + $R[3 * $a + 1] * $p0.Forces[3 * $i + 1] + $R[3 * $a + 2] * $p0.Forces[3 * $i + 2]
                }
            }
            Get-MaxAbsDiff $p.Forces $rf | Should -BeLessOrEqual 1e-9
            $rw = [double[]]::new(9)
            for ($a = 0; $a -lt 3; $a++) { for ($b = 0; $b -lt 3; $b++) { for ($k = 0; $k -lt 3; $k++) { for ($l = 0; $l -lt 3; $l++) {
                $rw[3 * $a + $b] += $R[3 * $a + $k] * $p0.Virial[3 * $k + $l] * $R[3 * $b + $l] } } } }
            Get-MaxAbsDiff $p.Virial $rw | Should -BeLessOrEqual 1e-8
        }
        It 'permutes energies and forces with the atoms' {
            $order = [int[]](0..($c.AtomCount - 1) | Sort-Object { ($_ * 7919) % 24 })
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Permute($c, $order))
            [math]::Abs($p.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-9
            $worstF = 0.0; $worstE = 0.0
            for ($k = 0; $k -lt $order.Count; $k++) {
                $worstE = [math]::Max($worstE, [math]::Abs($p.AtomicEnergies[$k] - $p0.AtomicEnergies[$order[$k]]))
                for ($d = 0; $d -lt 3; $d++) { $worstF = [math]::Max($worstF, [math]::Abs($p.Forces[3 * $k + $d] - $p0.Forces[3 * $order[$k] + $d])) }
            }
            $worstE | Should -BeLessOrEqual 1e-10
            $worstF | Should -BeLessOrEqual 1e-9
            Get-MaxAbsDiff $p.Virial $p0.Virial | Should -BeLessOrEqual 1e-8
        }
        It 'gives 8 times the energy and virial, and the same forces, for a 2x2x2 supercell' {
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($c, 2, 2, 2))
            $p.AtomCount | Should -Be (8 * $c.AtomCount)
            [math]::Abs($p.Energy - 8 * $p0.Energy) | Should -BeLessOrEqual 1e-8
            Get-MaxAbsDiff $p.Virial ([double[]]($p0.Virial | ForEach-Object { 8 * $_ })) | Should -BeLessOrEqual 1e-7
            # Replica-major atom order: atom j of replica r is r*N + j.
            $worst = 0.0
            for ($q = 0; $q -lt $p.Forces.Length; $q++) { $worst = [math]::Max($worst, [math]::Abs($p.Forces[$q] - $p0.Forces[$q % $p0.Forces.Length])) }
            $worst | Should -BeLessOrEqual 1e-9
        }
    }

    Context 'one-element configurations (SPEC §2.5: only present types count)' {
        It 'evaluates Au32 (one element, one type block, T = 1) as well as the two-element systems' {
            $au = @($script:Configs | Where-Object Name -EQ 'Au32')
            $au.Count | Should -Be 64
            $sum = 0.0
            foreach ($c in $au) { $sum += [math]::Abs((Invoke-Engine $script:Engine $c).Energy - $c.Energy) / $c.AtomCount }
            # Mean |E - E_DFT|/atom: 0.035 eV for Au32, 0.001-0.04 eV for the Ag-Au systems.
            $sum / $au.Count | Should -BeLessThan 0.05
        }
    }

    Context 'timings, memory and cancellation' {
        It 'fills every phase, the embedding share of the backward included' {
            $t = [DpCompress.Core.Inference.PhaseTimings]::new()
            $null = Invoke-Engine $script:Engine (Get-Config 'Ag45Au3' 0) $t
            foreach ($phase in 'NeighborSearch', 'Environment', 'Embedding', 'Descriptor', 'Fitting', 'Backward', 'EmbeddingBackward') {
                $t.$phase | Should -BeGreaterThan 0 -Because $phase
            }
            $t.EmbeddingBackward | Should -BeLessThan $t.Backward
        }
        It 'leaves no live tensors behind (160 evaluations, original and compressed)' {
            $compressed = [DpCompress.Core.Inference.ReferenceEngine]::new($script:PwmlffCompressed)
            try {
                $null = Invoke-Engine $compressed $script:Configs[0]
                $before = [TorchSharp.DisposeScopeManager]::Statistics.ThreadTotalLiveCount
                foreach ($c in $script:Configs) { $null = Invoke-Engine $script:Engine $c; $null = Invoke-Engine $compressed $c }
                [TorchSharp.DisposeScopeManager]::Statistics.ThreadTotalLiveCount | Should -Be $before
            } finally { $compressed.Dispose() }
        }
        It 'stops when cancelled' {
            $cts = [Threading.CancellationTokenSource]::new(); $cts.Cancel()
            Get-ErrorId { $script:Engine.Evaluate($script:Configs[0], $null, $null, $cts.Token) } | Should -Be 'OperationCanceled'
        }
    }

    Context 'errors' {
        It 'refuses an element the model does not know (UnknownElement)' {
            $c = $script:Configs[0]
            $z = [int[]]$c.AtomicNumbers.Clone(); $z[0] = 29
            $cu = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $c.Positions, $z)
            Get-ErrorId { Invoke-Engine $script:Engine $cu } | Should -Be 'UnknownElement'
        }
        It 'refuses a neighbour list built for another configuration (NeighborListMismatch)' {
            $other = Get-Config 'Ag45Au3' 0
            $nl = [DpCompress.Core.Neighbors.NeighborSearch]::Build($other, $script:Model.AtomTypes, $script:Model.Rmax, $script:Model.MaxNeighbors)
            Get-ErrorId { $script:Engine.Evaluate($script:Configs[0], $nl, $null, $script:None) } | Should -Be 'NeighborListMismatch'
        }
        It 'refuses to evaluate after Dispose' {
            $e = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model)
            $e.Dispose()
            Get-ErrorId { Invoke-Engine $e $script:Configs[0] } | Should -Be 'ObjectDisposedException'
        }
    }
}

Describe 'Compressed evaluation' {
    BeforeAll {
        $script:Table3 = [DpCompress.Core.Compression.Compressor]::Compress($script:Model, 0.01, 3, $null, $null, $script:None, -1, $false, 1GB)
        $script:Table5 = [DpCompress.Core.Compression.Compressor]::Compress($script:Model, 0.01, 5, $null, $null, $script:None, -1, $false, 1GB)
        $script:Model3 = $script:Model.WithCompression($script:Table3)
        $script:Model5 = $script:Model.WithCompression($script:Table5)
        # Order 3 through the Verifier (all 160 configurations); its rows hold the original predictions.
        $script:Report3 = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, $script:Configs, $null, $null, $null, $script:None)
        $script:Originals = @{}
        foreach ($row in $script:Report3.Rows) { $script:Originals[$row.Label] = $row.Original }
        function Compare-WithOriginal($CompressedModel) {
            $e = [DpCompress.Core.Inference.ReferenceEngine]::new($CompressedModel)
            try {
                $cmp = foreach ($c in $script:Configs) {
                    $p = Invoke-Engine $e $c
                    [DpCompress.Core.Verification.PredictionComparer]::Compare($p, $script:Originals["$($c.Name)[$($c.Index)]"])
                }
                [DpCompress.Core.Verification.ErrorSummary]::new([DpCompress.Core.Verification.PredictionComparison[]]$cmp)
            } finally { $e.Dispose() }
        }
        $script:Summary5 = Compare-WithOriginal $script:Model5
        $script:SummaryPwmlff = Compare-WithOriginal $script:PwmlffCompressed
        Write-Host ("    order 3 dx 0.01: {0}" -f $script:Report3.CompressedVsOriginal)
        Write-Host ("    order 5 dx 0.01: {0}" -f $script:Summary5)
        Write-Host ("    PWMLFF's file:   {0}" -f $script:SummaryPwmlff)
    }

    It 'order 3, dx 0.01 matches the original to 1e-9 eV/atom and 1e-6 eV/A on all 160 configurations' {
        $s = $script:Report3.CompressedVsOriginal
        $s.Count | Should -Be 160
        $s.MaxEnergyErrorPerAtom | Should -BeLessOrEqual 1e-9
        $s.MaxForceError | Should -BeLessOrEqual 1e-6
        $s.MaxVirialErrorPerAtom | Should -BeLessOrEqual 1e-6
    }
    It 'order 5, dx 0.01 matches the original to 1e-11 eV/atom and 1e-9 eV/A on all 160 configurations' {
        $script:Summary5.Count | Should -Be 160
        $script:Summary5.MaxEnergyErrorPerAtom | Should -BeLessOrEqual 1e-11
        $script:Summary5.MaxForceError | Should -BeLessOrEqual 1e-9
    }
    It 'shows PWMLFF''s own compressed file off by ~1e-3 eV/atom and ~1 eV/A (its step bug)' {
        $script:SummaryPwmlff.MaxEnergyErrorPerAtom | Should -BeGreaterThan 1e-4
        $script:SummaryPwmlff.MaxEnergyErrorPerAtom | Should -BeLessThan 1e-2
        $script:SummaryPwmlff.MaxForceError | Should -BeGreaterThan 0.3
    }
    It 'is as accurate on Ag10Au14[2], whose closest pair sits exactly at s_max' {
        $row = $script:Report3.Rows | Where-Object Label -EQ 'Ag10Au14[2]'
        [math]::Abs($row.MaxScaledS - $script:Table3.Grid.SMax) | Should -BeLessOrEqual 1e-9
        $row.EnergyErrorPerAtom | Should -BeLessOrEqual 1e-9
        $row.MaxForceError | Should -BeLessOrEqual 1e-6
        $row.OutOfTableCount | Should -Be 0
    }
    It 'marks compressed predictions and counts nothing out of the table on training-like data' {
        $row = $script:Report3.Rows[0]
        $row.Compressed.Compressed | Should -BeTrue
        $row.Compressed.Engine | Should -Be 'Reference'
        $script:Report3.OutOfTableCount | Should -Be 0
        $script:Report3.BeyondTrainingCount | Should -Be 0
    }

    Context 'every skip rule (a synthetic model)' {
        BeforeAll {
            # Embedding nets 1 -> 2 (Doubled) -> 4 (Doubled) -> 25 (None) -> 25 (Identity), resnet_dt on the skip
            # layers; the Ag-Au fitting nets and statistics. The autograd nets (original) and the compressor's
            # analytic evaluator (table) implement the skip rules independently: they must agree.
            $rng = [System.Random]::new(7)
            function New-Net {
                $sizes = 1, 2, 4, 25, 25
                $layers = [System.Collections.Generic.List[DpCompress.Core.Model.DenseLayer]]::new()
                for ($l = 0; $l -lt $sizes.Count - 1; $l++) {
                    $nin = $sizes[$l]; $nout = $sizes[$l + 1]
                    $w = [double[]]::new($nin * $nout); for ($i = 0; $i -lt $w.Length; $i++) { $w[$i] = ($rng.NextDouble() - 0.5) * 1.2 }
                    $b = [double[]]::new($nout); for ($i = 0; $i -lt $nout; $i++) { $b[$i] = $rng.NextDouble() - 0.5 }
                    $r = $null
                    if ($nout -eq $nin -or $nout -eq 2 * $nin) { $r = [double[]]::new($nout); for ($i = 0; $i -lt $nout; $i++) { $r[$i] = 0.5 + $rng.NextDouble() } }
                    $layers.Add([DpCompress.Core.Model.DenseLayer]::new($nin, $nout, $w, $b, $r))
                }
                [DpCompress.Core.Model.EmbeddingNet]::new($layers)
            }
            $m = $script:Model
            $nets = [DpCompress.Core.Model.EmbeddingNet[]]@((New-Net), (New-Net), (New-Net), (New-Net))
            $script:Synthetic = [DpCompress.Core.Model.DpModel]::new($m.AtomTypes, $m.Rmin, $m.Rmax, $m.MaxNeighbors, $m.M2, $m.Precision,
                $nets, $m.FittingNets, $m.Davg, $m.Dstd, $m.EnergyShift, $m.SijMax, $m.Checkpoint, $null, $null)
            $table = [DpCompress.Core.Compression.Compressor]::Compress($script:Synthetic, 0.001, 5, $null, $null, $script:None, -1, $false, 1GB)
            $script:SyntheticCompressed = $script:Synthetic.WithCompression($table)
        }
        It 'gives the same energies and forces from the nets and from their order-5 table' {
            $o = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Synthetic)
            $c = [DpCompress.Core.Inference.ReferenceEngine]::new($script:SyntheticCompressed)
            try {
                foreach ($cfg in (Get-Config 'Ag10Au14' 2), (Get-Config 'Au32' 0)) {
                    $po = Invoke-Engine $o $cfg; $pc = Invoke-Engine $c $cfg
                    [math]::Abs($po.Energy - $pc.Energy) / $cfg.AtomCount | Should -BeLessOrEqual 1e-10
                    Get-MaxAbsDiff $po.Forces $pc.Forces | Should -BeLessOrEqual 1e-8
                }
            } finally { $o.Dispose(); $c.Dispose() }
        }
    }

    Context 'a pair closer than any in training' {
        BeforeAll {
            # Ag atoms 0 and 2 of Ag10Au14[0]; atom 2 is placed at distance r from atom 0.
            $script:base = Get-Config 'Ag10Au14' 0
            $script:eng3 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model3)
            $p = $base.Positions
            $script:dir = @(($p[6] - $p[0]), ($p[7] - $p[1]), ($p[8] - $p[2]))
            $len = [math]::Sqrt($dir[0] * $dir[0] + $dir[1] * $dir[1] + $dir[2] * $dir[2])
            $script:dir = $dir | ForEach-Object { $_ / $len }
            function New-ClosePair([double] $R) {
                $pos = [double[]]$script:base.Positions.Clone()
                for ($d = 0; $d -lt 3; $d++) { $pos[6 + $d] = $pos[$d] + $R * $script:dir[$d] }
                New-Configuration $script:base $pos
            }
            # S = 1/r below Rmin, so the table ends (s = x_end) at r_end = 1/(x_end*dstd + davg) for Ag centres.
            $g = $script:Table3.Grid
            $script:rEnd = 1.0 / ($g.OuterEnd * $script:Model.Dstd[0] + $script:Model.Davg[0])
        }
        AfterAll { $script:eng3.Dispose() }

        It 'counts the values beyond the table and stays finite' {
            $p = Invoke-Engine $script:eng3 (New-ClosePair (0.8 * $script:rEnd))
            $p.OutOfTableCount | Should -Be 2
            $p.BeyondTrainingCount | Should -BeGreaterOrEqual 2
            $p.MaxScaledS | Should -BeGreaterThan $script:Table3.Grid.OuterEnd
            [double]::IsFinite($p.Energy) | Should -BeTrue
            @($p.Forces | Where-Object { -not [double]::IsFinite($_) }).Count | Should -Be 0
        }
        It 'is continuous in energy and forces across the end of the table' {
            # r_end ± 2e-10 A: measured |dE| 1.2e-10 eV, |dF| 9e-10 eV/A (both shrink linearly with the step: no jump).
            $inside = Invoke-Engine $script:eng3 (New-ClosePair ($script:rEnd * (1 + 1e-9)))
            $outside = Invoke-Engine $script:eng3 (New-ClosePair ($script:rEnd * (1 - 1e-9)))
            $inside.OutOfTableCount | Should -Be 0
            $outside.OutOfTableCount | Should -Be 2
            [math]::Abs($inside.Energy - $outside.Energy) | Should -BeLessOrEqual 1e-8
            Get-MaxAbsDiff $inside.Forces $outside.Forces | Should -BeLessOrEqual 1e-7
        }
        It 'counts values above the training maximum inside the outer table' {
            $p = Invoke-Engine $script:eng3 (New-ClosePair 1.8)
            $p.OutOfTableCount | Should -Be 0
            $p.BeyondTrainingCount | Should -BeGreaterOrEqual 2
            $o = Invoke-Engine $script:Engine (New-ClosePair 1.8)
            $o.BeyondTrainingCount | Should -Be 0 -Because 'the original model has no table'
        }
    }
}

Describe 'FmaThroughput' {
    It 'measures a finite, positive float64 FMA rate (the floor Bench prints divides by it)' {
        $rate = [DpCompress.Core.Inference.FmaThroughput]::Measure([TimeSpan]::FromMilliseconds(30))
        [double]::IsFinite($rate) | Should -BeTrue
        $rate | Should -BeGreaterThan 0
    }
}

Describe 'PredictionComparer' {
    BeforeAll {
        $script:cfg = [DpCompress.Core.Structures.Configuration]::new([double[]](10, 0, 0, 0, 10, 0, 0, 0, 10), [double[]](0, 0, 0, 1, 1, 1), [int[]](47, 79))
        function New-Prediction([double] $E, [double[]] $F, [double[]] $W, $Config = $script:cfg) {
            [DpCompress.Core.Inference.Prediction]::new($Config, $E, [double[]](($E / 2), ($E / 2)), $F, $W)
        }
    }
    It 'computes energy per atom, max and RMS force and max virial differences' {
        $a = New-Prediction -10.0 ([double[]](0, 0, 0, 0, 0, 0)) ([double[]](0..8))
        $b = New-Prediction -10.2 ([double[]](0.3, 0, 0, 0, -0.4, 0)) ([double[]](0, 1, 2, 3, 4.5, 5, 6, 7, 8))
        $d = [DpCompress.Core.Verification.PredictionComparer]::Compare($a, $b)
        $d.EnergyError | Should -BeGreaterThan 0
        $d.EnergyErrorPerAtom | Should -BeLessThan (0.1 + 1e-12)
        $d.EnergyErrorPerAtom | Should -BeGreaterThan (0.1 - 1e-12)
        $d.MaxForceError | Should -Be 0.4
        [math]::Abs($d.RmsForceError - [math]::Sqrt((0.09 + 0.16) / 6)) | Should -BeLessThan 1e-15
        $d.MaxVirialError | Should -Be 0.5
        $d.MaxVirialErrorPerAtom | Should -Be 0.25
        $d.Label | Should -Match '\[0\]$'
    }
    It 'compares with the DFT labels that exist and leaves the others null' {
        $c = Get-Config 'Ag10Au14' 0
        $p = Invoke-Engine $script:Engine $c
        $d = [DpCompress.Core.Verification.PredictionComparer]::CompareToLabels($p)
        $d.EnergyErrorPerAtom | Should -BeGreaterThan 0
        $d.MaxForceError | Should -BeGreaterThan 0
        $unlabelled = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $c.Positions, $c.AtomicNumbers)
        [DpCompress.Core.Verification.PredictionComparer]::CompareToLabels((Invoke-Engine $script:Engine $unlabelled)) | Should -BeNullOrEmpty
    }
    It 'refuses predictions of different sizes (PredictionMismatch)' {
        $a = New-Prediction -10.0 ([double[]](0, 0, 0, 0, 0, 0)) ([double[]](0..8))
        $c = Get-Config 'Ag10Au14' 0
        $p = Invoke-Engine $script:Engine $c
        Get-ErrorId { [DpCompress.Core.Verification.PredictionComparer]::Compare($a, $p) } | Should -Be 'PredictionMismatch'
    }
}

Describe 'Verifier' {
    BeforeAll {
        $script:Subset = [DpCompress.Core.Structures.Configuration[]]@($script:Configs | Where-Object { $_.Index % 4 -eq 0 })
        if (-not $script:Model3) {
            $script:Model3 = $script:Model.WithCompression([DpCompress.Core.Compression.Compressor]::Compress($script:Model, 0.01, 3, $null, $null, $script:None, -1, $false, 1GB))
        }
        # A progress sink defined after the module is loaded (its type must resolve).
        Invoke-Expression @'
class InferenceTestProgress : System.IProgress[DpCompress.Core.Verification.VerificationProgress] {
    [System.Collections.Generic.List[object]] $Reports = [System.Collections.Generic.List[object]]::new()
    [void] Report([DpCompress.Core.Verification.VerificationProgress] $value) { $this.Reports.Add($value) }
}
'@
    }

    It 'passes our order-3 table with the default tolerances' {
        $r = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, $script:Subset, $null, $null, $null, $script:None)
        $r.Passed | Should -BeTrue
        $r.Reasons.Count | Should -Be 0
        $r.ConfigurationCount | Should -Be $script:Subset.Count
        $r.Checks.Count | Should -Be 3
        $r.Order | Should -Be 3
        $r.Dx | Should -Be 0.01
        $r.Engine | Should -Be 'Reference'
        "$r" | Should -Match '^PASSED'
    }
    It 'fails PWMLFF''s own compressed file and says why' {
        $r = [DpCompress.Core.Verification.Verifier]::Verify($script:PwmlffCompressed, $script:Model, $script:Subset, $null, $null, $null, $script:None)
        $r.Passed | Should -BeFalse
        ($r.Reasons -join "`n") | Should -Match 'dE\|/atom'
        ($r.Reasons -join "`n") | Should -Match 'dF\|'
        "$r" | Should -Match '^FAILED'
    }
    It 'compares both models with the DFT labels' {
        $r = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $script:Model, $script:Subset, $null, $null, $null, $script:None)
        $r.OriginalVsDft.Count | Should -Be $script:Subset.Count
        $r.OriginalVsDft.RmsEnergyErrorPerAtom | Should -BeGreaterThan 1e-4
        $r.OriginalVsDft.RmsEnergyErrorPerAtom | Should -BeLessThan 0.2
        $r.OriginalVsDft.RmsForceError | Should -BeLessThan 0.5
        [math]::Abs($r.CompressedVsDft.RmsForceError - $r.OriginalVsDft.RmsForceError) | Should -BeLessThan 1e-6
        $r.Rows[0].CompressedVsDft | Should -Not -BeNullOrEmpty
    }
    It 'applies explicit tolerances' {
        $tight = [DpCompress.Core.Verification.VerificationTolerances]@{ EnergyPerAtom = 1e-15; Force = 1e-15; VirialPerAtom = 1e-15 }
        $r = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, [DpCompress.Core.Structures.Configuration[]]$script:Subset[0..3], $tight, $null, $null, $script:None)
        $r.Passed | Should -BeFalse
        $r.Reasons.Count | Should -Be 3
    }
    It 'reports progress once per configuration' {
        $sink = [InferenceTestProgress]::new()
        $null = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, [DpCompress.Core.Structures.Configuration[]]$script:Subset[0..4], $null, $null, $sink, $script:None)
        $sink.Reports.Count | Should -Be 5
        $sink.Reports[-1].Completed | Should -Be 5
        $sink.Reports[-1].PercentComplete | Should -Be 100
    }
    It 'skips a configuration it cannot evaluate and goes on' {
        $c = $script:Subset[0]
        $z = [int[]]$c.AtomicNumbers.Clone(); $z[0] = 29
        $cu = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $c.Positions, $z)
        $r = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, [DpCompress.Core.Structures.Configuration[]]@($cu, $script:Subset[1]), $null, $null, $null, $script:None)
        $r.ConfigurationCount | Should -Be 1
        $r.Skipped.Count | Should -Be 1
        $r.Skipped[0].ErrorId | Should -Be 'UnknownElement'
        ($r.Warnings -join "`n") | Should -Match 'skipped'
    }
    It 'warns about values beyond the table, and fails on them when asked' {
        $c = Get-Config 'Ag10Au14' 0
        $pos = [double[]]$c.Positions.Clone()
        for ($d = 0; $d -lt 3; $d++) { $pos[6 + $d] = $pos[$d] + 0.1 * ($d -eq 0) }
        $close = New-Configuration $c $pos
        $r = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, [DpCompress.Core.Structures.Configuration[]]@($close), $null, $null, $null, $script:None)
        $r.OutOfTableCount | Should -BeGreaterThan 0
        ($r.Warnings -join "`n") | Should -Match 'beyond the table'
        $strict = [DpCompress.Core.Verification.VerificationTolerances]@{ FailOnOutOfTable = $true; EnergyPerAtom = 1e9; Force = 1e9; VirialPerAtom = 1e9 }
        $r2 = [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, [DpCompress.Core.Structures.Configuration[]]@($close), $strict, $null, $null, $script:None)
        $r2.Passed | Should -BeFalse
        ($r2.Reasons -join "`n") | Should -Match 'beyond the table'
    }
    It 'refuses bad arguments with error ids' {
        Get-ErrorId { [DpCompress.Core.Verification.Verifier]::Verify($script:Model, $null, $script:Subset, $null, $null, $null, $script:None) } | Should -Be 'ModelNotCompressed'
        Get-ErrorId { [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $script:PwmlffCompressed, $script:Subset, $null, $null, $null, $script:None) } | Should -Be 'ReferenceModelMismatch'
        Get-ErrorId { [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, [DpCompress.Core.Structures.Configuration[]]@(), $null, $null, $null, $script:None) } | Should -Be 'NoConfigurations'
    }
    It 'stops when cancelled' {
        $cts = [Threading.CancellationTokenSource]::new(); $cts.Cancel()
        Get-ErrorId { [DpCompress.Core.Verification.Verifier]::Verify($script:Model3, $null, $script:Subset, $null, $null, $null, $cts.Token) } | Should -Be 'OperationCanceled'
    }
}
