# Compression engine: analytic net derivatives, PWMLFF-compatible grid, tables (SPEC §3), table evaluator.
BeforeDiscovery {
    $script:FixtureCases = @(
        @{ Order = 3 }
        @{ Order = 5 }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    # A deterministic synthetic embedding net [1] -> 4 -> 8 (Doubled) -> 8 (Identity) -> 16 (Doubled),
    # resnet_dt on the skip layers: every skip rule of SPEC §2 is exercised.
    function New-SyntheticNet([int] $Seed) {
        $rng = [System.Random]::new($Seed)
        $sizes = 1, 4, 8, 8, 16
        $layers = [System.Collections.Generic.List[DpCompress.Core.Model.DenseLayer]]::new()
        for ($l = 0; $l -lt $sizes.Count - 1; $l++) {
            $nin = $sizes[$l]; $nout = $sizes[$l + 1]
            $w = [double[]]::new($nin * $nout); for ($i = 0; $i -lt $w.Length; $i++) { $w[$i] = ($rng.NextDouble() - 0.5) * 1.6 }
            $b = [double[]]::new($nout); for ($i = 0; $i -lt $nout; $i++) { $b[$i] = ($rng.NextDouble() - 0.5) }
            $r = $null
            if ($l -gt 0) { $r = [double[]]::new($nout); for ($i = 0; $i -lt $nout; $i++) { $r[$i] = 0.8 + 0.4 * $rng.NextDouble() } }
            $layers.Add([DpCompress.Core.Model.DenseLayer]::new($nin, $nout, $w, $b, $r))
        }
        [DpCompress.Core.Model.EmbeddingNet]::new($layers)
    }

    # The DpCompressException id behind an exception thrown by a .NET call (or the exception type name).
    function Get-ErrorId([scriptblock] $Script) {
        try { & $Script; return '<no error>' }
        catch {
            $e = $_.Exception
            while ($e -and -not ($e -is [DpCompress.Core.DpCompressException])) {
                if ($e -is [OperationCanceledException]) { return 'OperationCanceled' }
                $e = $e.InnerException
            }
            if ($e) { return $e.ErrorId }
            return $_.Exception.GetType().Name
        }
    }

    # Two-type statistics: s_min = -0.625, s_max = 1.0 (raw sij_max 0.9).
    $script:Davg0 = [double[]](0.5, 0.3)
    $script:Dstd0 = [double[]](0.8, 0.6)
    $script:Nets = [DpCompress.Core.Model.EmbeddingNet[]]@((New-SyntheticNet 11), (New-SyntheticNet 12), (New-SyntheticNet 13), (New-SyntheticNet 14))

    function New-Grid([double] $Dx, [int] $Order = 5, [long] $Limit = 2GB) {
        [DpCompress.Core.Compression.GridBuilder]::Build($script:Davg0, $script:Dstd0, 0.9, $Dx,
            [DpCompress.Core.Compression.SijMaxSource]::User, $script:Nets.Count, 16, $Order, $Limit)
    }
    function New-Table([double] $Dx, [int] $Order, [int] $Points = 6) {
        [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid $Dx $Order), $Order, $null,
            [Threading.CancellationToken]::None, 1, $Points, [long]2GB)
    }
}

Describe 'EmbeddingNetEvaluator' {
    It 'matches central finite differences for y'' and y''''' {
        $ev = [DpCompress.Core.Compression.EmbeddingNetEvaluator]::new($script:Nets[0])
        $s = [double[]](-1.7, -0.6, 0.0, 0.3, 1.1, 2.9, 7.5)
        $h = 1e-5
        $c = $ev.Evaluate($s)
        $p = $ev.Evaluate([double[]]($s | ForEach-Object { $_ + $h }))
        $m = $ev.Evaluate([double[]]($s | ForEach-Object { $_ - $h }))
        $worst1 = 0.0; $worst2 = 0.0
        for ($i = 0; $i -lt $c.Value.Length; $i++) {
            $fd1 = ($p.Value[$i] - $m.Value[$i]) / (2 * $h)
            $fd2 = ($p.First[$i] - $m.First[$i]) / (2 * $h)
            $worst1 = [math]::Max($worst1, [math]::Abs($fd1 - $c.First[$i]))
            $worst2 = [math]::Max($worst2, [math]::Abs($fd2 - $c.Second[$i]))
        }
        $worst1 | Should -BeLessThan 1e-8
        $worst2 | Should -BeLessThan 1e-8
    }

    It 'gives the same numbers one point at a time and in blocks' {
        $ev = [DpCompress.Core.Compression.EmbeddingNetEvaluator]::new($script:Nets[1])
        $s = [double[]](0..99 | ForEach-Object { -1 + 0.07 * $_ })
        $all = $ev.Evaluate($s)
        $one = $ev.Evaluate([double[]]@($s[77]))
        for ($o = 0; $o -lt 16; $o++) {
            $one.Value[$o] | Should -Be $all.Value[77 * 16 + $o]
            $one.Second[$o] | Should -Be $all.Second[77 * 16 + $o]
        }
    }
}

Describe 'GridBuilder' {
    It 'builds PWMLFF''s range and counts' {
        $g = New-Grid 0.01
        $g.SMin | Should -Be -0.625
        [math]::Abs($g.SMax - 1.0) | Should -BeLessThan 1e-12
        $g.InnerIntervals | Should -Be 163          # accumulated -0.625 + k*0.01 < 1.0
        $g.Node($g.InnerIntervals) | Should -BeGreaterOrEqual $g.SMax
        $g.Node($g.InnerIntervals - 1) | Should -BeLessThan $g.SMax
        $g.Node($g.Rows) | Should -Be $g.OuterEnd
        $g.OuterEnd | Should -BeLessThan (10 * $g.SMax)
        $g.OuterEnd + 10 * $g.Dx | Should -BeGreaterOrEqual (10 * $g.SMax)
        $g.Rows | Should -Be ($g.InnerIntervals + $g.OuterPoints - 1)
    }

    It 'starts the running extremes at 0 like PWMLFF (s_min never above 0)' {
        $g = [DpCompress.Core.Compression.GridBuilder]::Build([double[]]@(-0.2), [double[]]@(1.0), 1.0, 0.01,
            [DpCompress.Core.Compression.SijMaxSource]::User, 1, 16, 3, [long]2GB)
        $g.SMin | Should -Be 0.0
        [math]::Abs($g.SMax - 1.2) | Should -BeLessThan 1e-12
    }

    It 'counts intervals like PWMLFF''s accumulating loop at an exact multiple of dx' {
        # s in [0, 1], dx = 0.1: ceil(1/0.1) = 10, but PWMLFF's accumulated 0.1+0.1+... reaches
        # 0.9999999999999999 < 1 after 10 steps and appends an 11th node; the table shape follows it.
        $g = [DpCompress.Core.Compression.GridBuilder]::Build([double[]]@(0.0), [double[]]@(1.0), 1.0, 0.1,
            [DpCompress.Core.Compression.SijMaxSource]::User, 1, 16, 3, [long]2GB)
        $g.InnerIntervals | Should -Be 11
        $g.Node(11) | Should -Be 1.1
        $g.Node(10) | Should -Be 1.0
    }

    It 'refuses <Case>' -ForEach @(
        @{ Case = 'dx = 0'; Dx = 0.0; SijMax = 0.9; Davg = 0.5; Limit = 2GB; Id = 'InvalidDx' }
        @{ Case = 'dx < 0'; Dx = -0.01; SijMax = 0.9; Davg = 0.5; Limit = 2GB; Id = 'InvalidDx' }
        @{ Case = 'dx NaN'; Dx = [double]::NaN; SijMax = 0.9; Davg = 0.5; Limit = 2GB; Id = 'InvalidDx' }
        @{ Case = 'an empty range'; Dx = 0.01; SijMax = 0.0; Davg = 0.0; Limit = 2GB; Id = 'DegenerateSijRange' }
        @{ Case = 'a table above the memory limit'; Dx = 1e-7; SijMax = 0.9; Davg = 0.5; Limit = 2GB; Id = 'TableTooLarge' }
        @{ Case = 'a table above a small limit'; Dx = 0.01; SijMax = 0.9; Davg = 0.5; Limit = 1000; Id = 'TableTooLarge' }
    ) {
        Get-ErrorId {
            [DpCompress.Core.Compression.GridBuilder]::Build([double[]]@($Davg), [double[]]@(0.8), $SijMax, $Dx,
                [DpCompress.Core.Compression.SijMaxSource]::User, 25, 25, 5, [long]$Limit)
        } | Should -Be $Id
    }
}

Describe 'Compressor' {
    Context 'order <Order>' -ForEach $FixtureCases {
        BeforeAll {
            $script:Table = New-Table 0.01 $Order
            $script:Eval = [DpCompress.Core.Compression.TableEvaluator]::new($script:Table)
        }

        It 'has PWMLFF''s layout [nnets, rows, m, order+1]' {
            $Table.NetCount | Should -Be 4
            $Table.Width | Should -Be 16
            $Table.Coefficients.Length | Should -Be (4 * $Table.Rows * 16 * ($Order + 1))
        }

        It 'reproduces y and y'' (and y'''' for order 5) of every net at every node' {
            $g = $Table.Grid
            $nodes = [double[]](0..$g.Rows | ForEach-Object { $g.Node($_) })
            $v = [double[]]::new(16); $d = [double[]]::new(16)
            $worst = 0.0; $worstD = 0.0; $worst2 = 0.0
            for ($n = 0; $n -lt 4; $n++) {
                $ref = [DpCompress.Core.Compression.EmbeddingNetEvaluator]::new($Nets[$n]).Evaluate($nodes)
                for ($k = 0; $k -le $g.Rows; $k += 7) {
                    $null = $Eval.Evaluate($n, $nodes[$k], $v, $d)
                    for ($o = 0; $o -lt 16; $o++) {
                        $worst = [math]::Max($worst, [math]::Abs($v[$o] - $ref.Value[$k * 16 + $o]))
                        $worstD = [math]::Max($worstD, [math]::Abs($d[$o] - $ref.First[$k * 16 + $o]))
                        if ($Order -eq 5 -and $k -lt $g.Rows) {
                            # d = y''/2 is the x^2 coefficient of the row starting at node k
                            $c2 = $Table.Coefficients[$Table.Offset($n, $k, $o) + 3]
                            $worst2 = [math]::Max($worst2, [math]::Abs(2 * $c2 - $ref.Second[$k * 16 + $o]))
                        }
                    }
                }
            }
            $worst | Should -BeLessThan 1e-13
            $worstD | Should -BeLessThan 1e-11
            $worst2 | Should -BeLessThan 1e-12
        }

        It 'is continuous (value and slope) at every node' {
            $g = $Table.Grid; $c = $Table.Coefficients; $nc = $Order + 1
            $worst = 0.0; $worstD = 0.0
            foreach ($n in 0, 3) {
                for ($k = 1; $k -lt $g.Rows; $k++) {
                    $dt = $g.Node($k) - $g.Node($k - 1)
                    foreach ($o in 0, 9, 15) {
                        $off = $Table.Offset($n, $k - 1, $o)
                        $pv = $c[$off]; $pd = 0.0
                        for ($q = 1; $q -lt $nc; $q++) { $pd = $pd * $dt + $pv; $pv = $pv * $dt + $c[$off + $q] }
                        $off2 = $Table.Offset($n, $k, $o)
                        $worst = [math]::Max($worst, [math]::Abs($pv - $c[$off2 + $nc - 1]))
                        $worstD = [math]::Max($worstD, [math]::Abs($pd - $c[$off2 + $nc - 2]))
                    }
                }
            }
            $worst | Should -BeLessThan 1e-12
            $worstD | Should -BeLessThan 1e-10
        }

        It 'stores a per-net accuracy measured between the nodes' {
            $Table.Accuracy.Count | Should -Be 4
            foreach ($a in $Table.Accuracy) {
                $a.OutputScale | Should -BeGreaterThan 0
                $a.MaxValueError | Should -BeLessThan 1e-3
                $a.MaxValueError | Should -BeGreaterThan 0
                $a.CentreType | Should -Be ([math]::Floor($a.Net / 2))
                $a.NeighborType | Should -Be ($a.Net % 2)
            }
        }
    }

    It 'converges at order <Order> with the expected log-log slope (~<Expected>)' -ForEach @(
        @{ Order = 3; Expected = 4; Low = 3.5; High = 4.6 }
        @{ Order = 5; Expected = 6; Low = 5.3; High = 6.8 }
    ) {
        $dxs = 0.04, 0.02, 0.01, 0.005
        $errs = foreach ($dx in $dxs) {
            $t = New-Table $dx $Order
            ($t.Accuracy | Measure-Object MaxValueError -Maximum).Maximum
        }
        $fit = [DpCompress.Core.Verification.ConvergenceFit]::Fit([DpCompress.Core.Verification.SweepPoint[]]@(
                for ($i = 0; $i -lt 4; $i++) { [DpCompress.Core.Verification.SweepPoint]::new($dxs[$i], $errs[$i]) }))
        $fit.UsedDx.Count | Should -Be 4
        $slope = $fit.Order
        $slope | Should -BeGreaterThan $Low
        $slope | Should -BeLessThan $High
    }

    It 'refuses order <Order>' -ForEach @(@{ Order = 2 }, @{ Order = 4 }, @{ Order = 0 }) {
        Get-ErrorId {
            [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid 0.01), $Order, $null,
                [Threading.CancellationToken]::None, 1, 0, [long]2GB)
        } | Should -Be 'InvalidOrder'
    }

    It 'refuses a grid whose table exceeds the memory limit' {
        Get-ErrorId {
            [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid 0.01), 5, $null,
                [Threading.CancellationToken]::None, 1, 0, [long]1000)
        } | Should -Be 'TableTooLarge'
    }

    It 'honours cancellation (<Threads> worker(s))' -ForEach @(@{ Threads = 1 }, @{ Threads = 2 }) {
        $cts = [Threading.CancellationTokenSource]::new()
        $cts.Cancel()
        Get-ErrorId {
            [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid 0.01), 3, $null, $cts.Token, $Threads, 0, [long]2GB)
        } | Should -Be 'OperationCanceled'
    }

    It 'reports progress once per net' {
        # Defined after the module import, so that the Core types resolve.
        Invoke-Expression @'
class CountingProgress : System.IProgress[DpCompress.Core.Compression.CompressionProgress] {
    [System.Collections.Generic.List[int]] $Done = [System.Collections.Generic.List[int]]::new()
    [void] Report([DpCompress.Core.Compression.CompressionProgress] $value) { $this.Done.Add($value.NetsDone) }
}
'@
        $p = [CountingProgress]::new()
        $null = [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid 0.04), 3, $p,
            [Threading.CancellationToken]::None, 1, 0, [long]2GB)
        $p.Done -join ',' | Should -Be '1,2,3,4'
    }

    It 'gives identical tables in parallel and on one thread' {
        $a = [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid 0.02), 5, $null, [Threading.CancellationToken]::None, 1, 0, [long]2GB)
        $b = [DpCompress.Core.Compression.Compressor]::Compress($script:Nets, 2, (New-Grid 0.02), 5, $null, [Threading.CancellationToken]::None, -1, 0, [long]2GB)
        [System.Linq.Enumerable]::SequenceEqual($a.Coefficients, $b.Coefficients) | Should -BeTrue
    }
}

Describe 'TableEvaluator' {
    BeforeAll {
        $script:T3 = New-Table 0.01 3
        $script:G = $T3.Grid
    }

    It 'locates inner, outer, below and beyond regions' {
        $ev = [DpCompress.Core.Compression.TableEvaluator]::new($T3)
        $v = [double[]]::new(16); $d = [double[]]::new(16)
        $ev.Evaluate(0, 0.3, $v, $d) | Should -Be 'Inner'
        $ev.Evaluate(0, $G.InnerEnd, $v, $d) | Should -Be 'Outer'
        $ev.Evaluate(0, 5.0, $v, $d) | Should -Be 'Outer'
        $ev.Evaluate(0, $G.SMin - 0.1, $v, $d) | Should -Be 'BelowTable'
        $ev.Evaluate(0, $G.OuterEnd + 3, $v, $d) | Should -Be 'BeyondTable'
        $ev.Evaluate(0, [double]::NaN, $v, $d) | Should -Be 'NotANumber'
    }

    It 'counts values beyond the training range and beyond the table' {
        $ev = [DpCompress.Core.Compression.TableEvaluator]::new($T3)
        $v = [double[]]::new(16); $d = [double[]]::new(16)
        $null = $ev.Evaluate(1, 0.5, $v, $d)                   # inside
        $null = $ev.Evaluate(1, $G.SMax + 1e-9, $v, $d)        # beyond training, inner table
        $null = $ev.Evaluate(1, 4.0, $v, $d)                   # beyond training, outer table
        $null = $ev.Evaluate(1, $G.OuterEnd + 1, $v, $d)       # beyond the table
        $null = $ev.Evaluate(1, 1e6, $v, $d)                   # far beyond the table
        $ev.BeyondTrainingCount | Should -Be 4
        $ev.BeyondTableCount | Should -Be 2
        $ev.BelowTableCount | Should -Be 0
        $ev.ResetCounts()
        $ev.BeyondTrainingCount | Should -Be 0
    }

    It 'continues C1 and finite beyond the last outer node' {
        $ev = [DpCompress.Core.Compression.TableEvaluator]::new($T3)
        $v1 = [double[]]::new(16); $d1 = [double[]]::new(16); $v2 = [double[]]::new(16); $d2 = [double[]]::new(16)
        $end = $G.OuterEnd
        $null = $ev.Evaluate(2, $end - 1e-9, $v1, $d1)
        $null = $ev.Evaluate(2, $end + 1e-9, $v2, $d2)
        for ($o = 0; $o -lt 16; $o++) {
            [math]::Abs($v2[$o] - $v1[$o]) | Should -BeLessThan 1e-8
            [math]::Abs($d2[$o] - $d1[$o]) | Should -BeLessThan 1e-7
        }
        $vEnd = $v2.Clone(); $dEnd = $d2.Clone()
        $null = $ev.Evaluate(2, $end + 1e5, $v2, $d2)
        for ($o = 0; $o -lt 16; $o++) {
            [double]::IsFinite($v2[$o]) | Should -BeTrue
            [math]::Abs($v2[$o] - ($vEnd[$o] + $dEnd[$o] * 1e5)) | Should -BeLessThan (1e-9 * (1 + [math]::Abs($v2[$o]))) -Because 'the continuation is linear'
            $d2[$o] | Should -Be $dEnd[$o] -Because 'the slope beyond the table is the end slope'
        }
    }

    It 'agrees with the net between nodes to the stored accuracy' {
        $ev = [DpCompress.Core.Compression.TableEvaluator]::new($T3)
        $net = [DpCompress.Core.Compression.EmbeddingNetEvaluator]::new($Nets[3])
        $s = [double[]](0..400 | ForEach-Object { $G.SMin + ($_ + 0.37) * ($G.OuterEnd - $G.SMin) / 401 })
        $ref = $net.Evaluate($s)
        $v = [double[]]::new(16); $d = [double[]]::new(16)
        $worst = 0.0
        for ($i = 0; $i -lt $s.Length; $i++) {
            $null = $ev.Evaluate(3, $s[$i], $v, $d)
            for ($o = 0; $o -lt 16; $o++) { $worst = [math]::Max($worst, [math]::Abs($v[$o] - $ref.Value[$i * 16 + $o])) }
        }
        $worst | Should -BeLessThan (2 * $T3.Accuracy[3].MaxValueError + 1e-15)
    }
}

Describe 'Ag-Au fixture against PWMLFF''s own compressed model' {
    BeforeAll {
        $script:Reader = 'DpCompress.Core.Serialization.CheckpointReader' -as [type]
        $script:ModelPath = Get-TestDataPath 'agau/dp_model.ckpt'
        $script:PwPath = Get-TestDataPath 'agau/cmp_o3_dx0.01.ckpt'
        $script:HaveFixture = $null -ne $script:Reader -and (Test-Path $script:ModelPath) -and (Test-Path $script:PwPath)
        if ($script:HaveFixture) {
            $script:Model = $script:Reader::Read($script:ModelPath)
            $script:Pw = $script:Reader::Read($script:PwPath).Compression
            $script:Ours = [DpCompress.Core.Compression.Compressor]::Compress($script:Model, 0.01, 3, $null, $null,
                [Threading.CancellationToken]::None, -1, $true, [long]2GB)
        }
    }

    It 'builds the same grid as PWMLFF (s_min, dx, sij_len, sij_out_len, rows)' {
        if (-not $HaveFixture) { Set-ItResult -Skipped -Because 'the checkpoint reader or tests/data/agau is not available'; return }
        $g = $Ours.Grid; $p = $Pw.Grid
        $g.SMin | Should -Be $p.SMin
        $g.Dx | Should -Be $p.Dx
        $g.InnerIntervals | Should -Be 635
        $g.OuterPoints | Should -Be 544
        $g.Rows | Should -Be 1178
        $p.Rows | Should -Be $g.Rows
    }

    It 'stays within ~1e-9 of the nets inside the training range (order 3, dx 0.01)' {
        if (-not $HaveFixture) { Set-ItResult -Skipped -Because 'the checkpoint reader or tests/data/agau is not available'; return }
        foreach ($a in $Ours.Accuracy) {
            $a.InnerMaxValueError | Should -BeLessThan 2e-9
            $a.InnerMaxValueError | Should -BeGreaterThan 1e-11
            $a.MaxValueError | Should -BeLessThan 2e-5
            $a.OutputScale | Should -BeGreaterThan 2.5
        }
    }

    It 'agrees with PWMLFF''s net-0 polynomials to 1e-10 of the output scale; nets 1-3 track the net, PWMLFF''s do not' {
        if (-not $HaveFixture) { Set-ItResult -Skipped -Because 'the checkpoint reader or tests/data/agau is not available'; return }
        $g = $Ours.Grid; $m = $Ours.Width
        $oursEval = [DpCompress.Core.Compression.TableEvaluator]::new($Ours)
        # PWMLFF's coefficients on our grid object (its nodes differ from index nodes by < 1e-12).
        $pwTable = [DpCompress.Core.Compression.CompressionTable]::new($g, 3, $Pw.NetCount, $Pw.Width, $Pw.Coefficients, $null)
        $pwEval = [DpCompress.Core.Compression.TableEvaluator]::new($pwTable)
        $s = [System.Collections.Generic.List[double]]::new()
        for ($k = 0; $k -lt $g.Rows; $k += 3) { foreach ($f in 0.25, 0.5, 0.75) { $s.Add($g.Node($k) + $f * ($g.Node($k + 1) - $g.Node($k))) } }
        $s = $s.ToArray()
        $v = [double[]]::new($m); $d = [double[]]::new($m); $pv = [double[]]::new($m); $pd = [double[]]::new($m)
        for ($n = 0; $n -lt 4; $n++) {
            $ref = [DpCompress.Core.Compression.EmbeddingNetEvaluator]::new($Model.EmbeddingNets[$n]).Evaluate($s)
            $scale = $Ours.Accuracy[$n].OutputScale
            $oursErr = 0.0; $pwErr = 0.0; $diff = 0.0
            for ($i = 0; $i -lt $s.Length; $i++) {
                $null = $oursEval.Evaluate($n, $s[$i], $v, $d); $null = $pwEval.Evaluate($n, $s[$i], $pv, $pd)
                for ($o = 0; $o -lt $m; $o++) {
                    $y = $ref.Value[$i * $m + $o]
                    $oursErr = [math]::Max($oursErr, [math]::Abs($v[$o] - $y))
                    $pwErr = [math]::Max($pwErr, [math]::Abs($pv[$o] - $y))
                    $diff = [math]::Max($diff, [math]::Abs($v[$o] - $pv[$o]))
                }
            }
            $oursErr | Should -BeLessThan 2e-5        # outer region (step 0.1) dominates; inner ~1e-9
            if ($n -eq 0) { $diff / $scale | Should -BeLessThan 1e-10 }
            else { $pwErr | Should -BeGreaterThan (100 * $oursErr) -Because "PWMLFF's net $n uses a step it never reset" }
        }
    }
}
