BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:agau = Get-TestDataPath 'agau'
    $script:model = Import-DpModel (Join-Path $agau 'dp_model.ckpt')
}

Describe 'New-SijGrid' {
    It 'uses the checkpoint''s sij_max by default' {
        $g = New-SijGrid -Model $model -Layout Exact
        $g | Should -BeOfType ([DpCompress.Core.Compression.SijGrid])
        $g.Source | Should -Be 'Checkpoint'
        $g.Dx | Should -Be 0.01
        $g.Layout | Should -Be 'Exact'
        $g.RawSijMax | Should -Be $model.SijMax
    }
    It 'lays the grid out for PWMLFF''s runtime by default: dyadic dx, aligned start, inner end above 0.75 x the closest pair' {
        $out = New-SijGrid -Model $model -Verbose 4>&1
        $g = $out | Where-Object { $_ -is [DpCompress.Core.Compression.SijGrid] }
        "$($out | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] })" | Should -Match 'dx 0\.0078125 = 2\^-7.*requested 0\.01.*-Layout Exact'
        $g.Layout | Should -Be 'Pwmlff'
        $g.Dx | Should -Be ([math]::Pow(2, -7))
        $g.RequestedDx | Should -Be 0.01
        $g.SMin | Should -Be (-40 / 128)
        $g.RuntimeSijMax | Should -Be $g.InnerEnd
        $g.IsPwmlffExact | Should -BeTrue
        $rc = [DpCompress.Core.Compression.RuntimeLayout]::PairDistance($model.SijMax, $model.Rmin, $model.Rmax)
        $g.CoverDistance | Should -Be (0.75 * $rc)
        # The inner end is the first node strictly above the s of a pair at 0.75 r_c (largest over centre types).
        $sCover = [DpCompress.Core.Compression.RuntimeLayout]::SmoothWeight($g.CoverDistance, $model.Rmin, $model.Rmax)
        $top = [math]::Max(($sCover - $model.Davg[0]) / $model.Dstd[0], ($sCover - $model.Davg[4]) / $model.Dstd[4])
        $g.InnerEnd | Should -BeGreaterThan $top
        $g.InnerEnd - $g.Dx | Should -BeLessOrEqual $top
        $g.SMax | Should -Be (New-SijGrid -Model $model -Layout Exact).SMax
        # Within 2x the rows of the exact layout at the same requested dx.
        $g.Rows | Should -BeLessThan (2 * (New-SijGrid -Model $model -Layout Exact).Rows)
    }
    It 'covers closer pairs with -CoverDistance (a larger inner grid)' {
        $near = New-SijGrid -Model $model -CoverDistance 1.2
        $near.CoverDistance | Should -Be 1.2
        $near.InnerEnd | Should -BeGreaterThan (New-SijGrid -Model $model).InnerEnd
        { New-SijGrid -Model $model -Layout Exact -CoverDistance 1.2 } | Should -Throw -ErrorId 'CoverDistanceNeedsPwmlffLayout,DpCompress.PowerShell.Commands.NewSijGridCommand'
    }
    It 'finds the same sij_max by scanning the training data (closest pair in Ag10Au14 image 2)' {
        $g = New-SijGrid -Model $model -TrainingData (Join-Path $agau 'PWdata') -Verbose 4>&1
        $verbose = $g | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        $grid = $g | Where-Object { $_ -is [DpCompress.Core.Compression.SijGrid] }
        $grid.Source | Should -Be 'TrainingData'
        [math]::Abs($grid.RawSijMax - $model.SijMax) | Should -BeLessThan 1e-12
        "$verbose" | Should -Match 'Ag10Au14\[2\]'
    }
    It 'takes a user value' {
        $g = New-SijGrid -Model $model -SijMax 0.5 -Dx 0.02
        $g.Source | Should -Be 'User'
        $g.SMax | Should -BeGreaterThan (New-SijGrid -Model $model -Dx 0.02).SMax
    }
    It 'refuses dx <= 0 with InvalidDx' {
        { New-SijGrid -Model $model -Dx -1 } | Should -Throw -ErrorId 'InvalidDx,DpCompress.PowerShell.Commands.NewSijGridCommand'
    }
}

Describe 'Invoke-DpCompression' {
    Context 'The canonical pipeline' {
        It 'Import-DpModel | Invoke-DpCompression -Dx 0.001 -Order 3 | Export-DpModel cmp writes cmp.ckpt' {
            Push-Location $TestDrive
            try {
                Import-DpModel (Join-Path $agau 'dp_model.ckpt') | Invoke-DpCompression -Dx 0.001 -Order 3 | Export-DpModel cmp
                Test-Path (Join-Path $TestDrive 'cmp.ckpt') | Should -BeTrue
                $back = Import-DpModel (Join-Path $TestDrive 'cmp.ckpt')
                $back.IsCompressed | Should -BeTrue
                $back.Order | Should -Be 3
                $back.Dx | Should -Be ([math]::Pow(2, -10))   # the PWMLFF runtime layout: largest power of two <= 0.001
                $back.Compression.Grid.IsPwmlffExact | Should -BeTrue
                @($back.Checkpoint.Keys) | Should -Be (@($model.Checkpoint.Keys) + 'compress')
            } finally { Pop-Location }
        }
        It 'leaves the input model unchanged and carries dx, order and measured errors' {
            $c = $model | Invoke-DpCompression -Dx 0.01 -Order 5
            $model.IsCompressed | Should -BeFalse
            $c.IsCompressed | Should -BeTrue
            $c.Order | Should -Be 5
            $c.Dx | Should -Be 0.0078125
            $c.Compression.Grid.RequestedDx | Should -Be 0.01
            ($model | Invoke-DpCompression -Dx 0.01 -Order 5 -Layout Exact).Dx | Should -Be 0.01
            $c.Compression.Accuracy.Count | Should -Be 4
            $c.TableError | Should -BeLessThan 1e-10
            $c.OuterTableError | Should -BeGreaterOrEqual $c.TableError
            $c.TableDerivativeError | Should -BeGreaterThan 0
        }
        It 'reads its own output back with the same table bit for bit' {
            $c = $model | Invoke-DpCompression -Dx 0.02 -Order 3
            $p = Join-Path $TestDrive 'bits.ckpt'
            $c | Export-DpModel -Path $p
            $back = Import-DpModel $p
            [System.Linq.Enumerable]::SequenceEqual($back.Compression.Coefficients, $c.Compression.Coefficients) | Should -BeTrue
            $back.Compression.Grid.InnerIntervals | Should -Be $c.Compression.Grid.InnerIntervals
            $back.Compression.Grid.OuterPoints | Should -Be $c.Compression.Grid.OuterPoints
            $back.Compression.Grid.SMin | Should -Be $c.Compression.Grid.SMin
        }
        It 'uses a grid from New-SijGrid' {
            $g = New-SijGrid -Model $model -Dx 0.05
            $c = Invoke-DpCompression -Model $model -Grid $g
            $c.Dx | Should -Be $g.Dx
            $c.Compression.Rows | Should -Be $g.Rows
        }
        It 'compresses several piped models' {
            $two = $model, $model | Invoke-DpCompression -Dx 0.05
            $two.Count | Should -Be 2
        }
    }

    Context 'Bad input' {
        It 'refuses order <Order> at parameter binding' -ForEach @(@{ Order = 4 }, @{ Order = 2 }) {
            { $model | Invoke-DpCompression -Order $Order } | Should -Throw -ErrorId 'ParameterArgumentValidationError,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
        }
        It 'refuses dx <Dx> with InvalidDx' -ForEach @(@{ Dx = 0 }, @{ Dx = -0.01 }, @{ Dx = [double]::NaN }) {
            { $model | Invoke-DpCompression -Dx $Dx } | Should -Throw -ErrorId 'InvalidDx,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
        }
        It 'refuses a dx whose table would exceed the memory limit (no OutOfMemory)' {
            $err = { $model | Invoke-DpCompression -Dx 1e-7 } | Should -Throw -ErrorId 'TableTooLarge,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand' -PassThru
            $err.CategoryInfo.Category | Should -Be 'LimitsExceeded'
            $err.Exception.Message | Should -Match 'MiB'
        }
        It 'refuses to compress a compressed model unless -Force' {
            $c = $model | Invoke-DpCompression -Dx 0.05
            $err = $null
            $c | Invoke-DpCompression -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be 'ModelAlreadyCompressed,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
            ($c | Invoke-DpCompression -Dx 0.02 -Layout Exact -Force).Dx | Should -Be 0.02
        }
        It 'refuses a model whose s range is degenerate' {
            $zeros = [double[]]::new($model.Davg.Length)
            $ones = [double[]]::new($model.Dstd.Length); for ($i = 0; $i -lt $ones.Length; $i++) { $ones[$i] = 1.0 }
            $flat = [DpCompress.Core.Model.DpModel]::new($model.AtomTypes, $model.Rmin, $model.Rmax, $model.MaxNeighbors, $model.M2, $model.Precision,
                $model.EmbeddingNets, $model.FittingNets, $zeros, $ones, $model.EnergyShift, [Nullable[double]]0.0, $model.Checkpoint, $null, $null)
            { $flat | Invoke-DpCompression } | Should -Throw -ErrorId 'DegenerateSijRange,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
        }
        It 'refuses -Dx that contradicts -Grid' {
            $g = New-SijGrid -Model $model -Dx 0.05
            { Invoke-DpCompression -Model $model -Grid $g -Dx 0.01 } | Should -Throw -ErrorId 'GridDxMismatch,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
        }
    }
}

Describe 'Invoke-DpCompression dx range' {
    It 'refuses a dx that is not smaller than the s range (InvalidDx)' {
        { $model | Invoke-DpCompression -Dx 10 } | Should -Throw -ErrorId 'InvalidDx,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
    }
}

Describe 'Ctrl-C during long work' {
    It 'stops <Command> when the pipeline is stopped, with no output' -ForEach @(
        @{ Command = 'Invoke-DpCompression'; Script = 'param($m, $d) $m | Invoke-DpCompression -Dx 0.0005 -Order 5 -ThrottleLimit 1' }
        @{ Command = 'Test-CompressedModel'; Script = 'param($m, $d) $m | Invoke-DpCompression -Dx 0.05 | Test-CompressedModel -Data $d -Engine Reference' }
    ) {
        $alloy = Get-TestDataPath 'alloy5'
        $m5 = Import-DpModel (Join-Path $alloy 'dp5_model.ckpt')
        $data = Import-DpConfiguration (Join-Path $alloy 'PWdata')
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$env:DPCOMPRESS_MODULE'").Invoke()
            $ps.Commands.Clear()
            $null = $ps.AddScript($Script).AddArgument($m5).AddArgument($data)
            $async = $ps.BeginInvoke()
            Start-Sleep -Milliseconds 700
            $async.IsCompleted | Should -BeFalse -Because 'the work takes several seconds'
            $ps.Stop()
            $ps.InvocationStateInfo.State | Should -Be 'Stopped'
        } finally { $ps.Dispose() }
    }
}
