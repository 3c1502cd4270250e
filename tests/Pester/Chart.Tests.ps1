BeforeDiscovery {
    $script:kinds = @(
        @{ Kind = 'ErrorVsDx' }
        @{ Kind = 'PhaseBreakdown' }
        @{ Kind = 'Speedup' }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    # Hand-made input objects with the properties the cmdlets emit.
    function New-ErrorPoints {
        foreach ($dx in 0.001, 0.003, 0.01, 0.03, 0.1) {
            [pscustomobject]@{ Dx = $dx; Order = 3; MaxForceError = 4e-7 * [math]::Pow($dx / 0.01, 4); MaxEnergyError = 3e-10 * [math]::Pow($dx / 0.01, 4) }
            [pscustomobject]@{ Dx = $dx; Order = 5; MaxForceError = 1e-11 * [math]::Pow($dx / 0.01, 6); MaxEnergyError = 1e-13 * [math]::Pow($dx / 0.01, 6) }
        }
    }
    function New-Timings {
        [pscustomobject]@{ Label = 'original/Reference'; TotalMs = 443; NeighborSearchMs = 2; EnvironmentMs = 3; EmbeddingMs = 120; DescriptorMs = 5; FittingMs = 10; BackwardMs = 300 }
        [pscustomobject]@{ Label = 'original/Fast'; TotalMs = 167; NeighborSearchMs = 2; EnvironmentMs = 3; EmbeddingMs = 60; DescriptorMs = 4; FittingMs = 8; BackwardMs = 90 }
        [pscustomobject]@{ Label = 'compressed/Fast'; TotalMs = 38; NeighborSearchMs = 2; EnvironmentMs = 3; EmbeddingMs = 6; DescriptorMs = 4; FittingMs = 8; BackwardMs = 15 }
    }
    function Get-Input([string] $Kind) {
        if ($Kind -eq 'ErrorVsDx') { New-ErrorPoints } else { New-Timings }
    }
    # Width and height from the IHDR chunk, after checking the 8-byte PNG signature.
    function Get-PngSize([string] $Path) {
        $b = [IO.File]::ReadAllBytes($Path)
        $b.Length | Should -BeGreaterThan 33
        $b[0..7] | Should -Be 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A
        [Text.Encoding]::ASCII.GetString($b, 12, 4) | Should -Be 'IHDR'
        $be = { param($o) ([int]$b[$o] -shl 24) -bor ([int]$b[$o + 1] -shl 16) -bor ([int]$b[$o + 2] -shl 8) -bor [int]$b[$o + 3] }
        [pscustomobject]@{ Width = & $be 16; Height = & $be 20; Bytes = $b.Length }
    }
    $script:id = ',DpCompress.PowerShell.Commands.ExportDpChartCommand'
}

Describe 'Export-DpChart' {
    Context 'Writes a PNG for each kind' {
        It '<Kind> writes a valid PNG of the requested size' -TestCases $kinds {
            $path = Join-Path $TestDrive "$Kind.png"
            $file = Get-Input $Kind | Export-DpChart -Path $path -Kind $Kind -Width 640 -Height 480 -PassThru
            $file | Should -BeOfType ([IO.FileInfo])
            $file.FullName | Should -Be $path
            $size = Get-PngSize $path
            $size.Width | Should -Be 640
            $size.Height | Should -Be 480
            $size.Bytes | Should -BeGreaterThan 5000   # text, axes and data, not an empty canvas
        }
        It 'infers <Kind> when -Kind is omitted' -TestCases @(@{ Kind = 'ErrorVsDx' }, @{ Kind = 'PhaseBreakdown' }) {
            $path = Join-Path $TestDrive "inferred-$Kind.png"
            $verbose = Get-Input $Kind | Export-DpChart -Path $path -Verbose 4>&1
            ($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message | Should -Contain "Chart kind inferred from the input: $Kind"
            (Get-PngSize $path).Width | Should -Be 900
        }
        It 'infers Speedup from objects with only Label and TotalMs' {
            $path = Join-Path $TestDrive 'speedup-inferred.png'
            [pscustomobject]@{ Label = 'a'; TotalMs = 10 }, [pscustomobject]@{ Label = 'b'; TotalMs = 2 } | Export-DpChart -Path $path
            (Get-PngSize $path).Height | Should -Be 600
        }
        It 'draws Speedup of another time property (-TimeProperty ModelMs)' {
            $path = Join-Path $TestDrive 'speedup-model.png'
            [pscustomobject]@{ Label = 'a'; ModelMs = 8 }, [pscustomobject]@{ Label = 'b'; ModelMs = 1 } | Export-DpChart -Path $path -TimeProperty ModelMs
            (Get-PngSize $path).Width | Should -Be 900
            { [pscustomobject]@{ Label = 'a'; TotalMs = 8 } | Export-DpChart -Path (Join-Path $TestDrive 'x.png') -Kind Speedup -TimeProperty ModelMs -ErrorAction Stop } |
                Should -Throw -ErrorId "ChartPropertyMissing$id"
        }
        It 'draws Speedup over a wide range (log time axis) and the phases of very different timings' {
            $wide = [pscustomobject]@{ Label = 'original / Reference'; TotalMs = 1066; NeighborSearchMs = 10; EnvironmentMs = 40; EmbeddingMs = 500; DescriptorMs = 70; FittingMs = 140; BackwardMs = 750 },
                    [pscustomobject]@{ Label = 'compressed / Fast'; TotalMs = 6.9; NeighborSearchMs = 0.5; EnvironmentMs = 1; EmbeddingMs = 0.5; DescriptorMs = 1; FittingMs = 1; BackwardMs = 3 }
            $wide | Export-DpChart -Path (Join-Path $TestDrive 'wide-speedup.png') -Kind Speedup
            $wide | Export-DpChart -Path (Join-Path $TestDrive 'wide-phases.png') -Kind PhaseBreakdown
            (Get-PngSize (Join-Path $TestDrive 'wide-speedup.png')).Width | Should -Be 900
            (Get-PngSize (Join-Path $TestDrive 'wide-phases.png')).Width | Should -Be 900
        }
        It 'plots another error property and accepts hashtables' {
            $path = Join-Path $TestDrive 'energy.png'
            New-ErrorPoints | ForEach-Object { @{ Dx = $_.Dx; Order = $_.Order; MaxEnergyError = $_.MaxEnergyError } } |
                Export-DpChart -Path $path -Kind ErrorVsDx -ErrorProperty MaxEnergyError -Title 'Energy'
            Test-Path $path | Should -BeTrue
        }
        It 'draws Measure-DpInference''s own timing objects' {
            $t = [DpCompress.Core.Inference.InferenceTiming]@{ Label = 'x'; TotalMs = 5; EmbeddingMs = 3; BackwardMs = 1 }
            $path = Join-Path $TestDrive 'timing.png'
            $t | Export-DpChart -Path $path
            (Get-PngSize $path).Width | Should -Be 900
        }
        It 'leaves out non-positive errors with a warning' {
            $path = Join-Path $TestDrive 'zero.png'
            $pts = @(New-ErrorPoints) + [pscustomobject]@{ Dx = 0.01; Order = 5; MaxForceError = 0.0; MaxEnergyError = 0.0 }
            $pts | Export-DpChart -Path $path -WarningVariable w -WarningAction SilentlyContinue
            $w | Should -HaveCount 1
            Test-Path $path | Should -BeTrue
        }
    }

    Context 'Paths, -WhatIf, -Force' {
        It '-WhatIf writes nothing' {
            $path = Join-Path $TestDrive 'whatif.png'
            New-Timings | Export-DpChart -Path $path -WhatIf
            Test-Path $path | Should -BeFalse
            Get-ChildItem $TestDrive -Filter 'whatif*' | Should -BeNullOrEmpty
        }
        It 'refuses to overwrite without -Force (ChartFileExists) and keeps the file' {
            $path = Join-Path $TestDrive 'exists.png'
            Set-Content -Path $path -Value 'keep me'
            { New-Timings | Export-DpChart -Path $path -ErrorAction Stop } | Should -Throw -ErrorId "ChartFileExists$id"
            Get-Content $path | Should -Be 'keep me'
        }
        It 'overwrites with -Force and leaves no temporary file' {
            $path = Join-Path $TestDrive 'force.png'
            Set-Content -Path $path -Value 'old'
            New-Timings | Export-DpChart -Path $path -Force
            (Get-PngSize $path).Width | Should -Be 900
            Get-ChildItem $TestDrive -Force -Filter '*force.png*.tmp' | Should -BeNullOrEmpty
        }
        It 'removes a stale temporary file an earlier, killed export left, and keeps a fresh one' {
            $dir = Join-Path $TestDrive 'charttmp'
            New-Item -ItemType Directory -Path $dir | Out-Null
            $path = Join-Path $dir 'c.png'
            $stale = New-WriterTempFile $path
            $fresh = New-WriterTempFile $path -Fresh
            New-Timings | Export-DpChart -Path $path
            (Get-PngSize $path).Width | Should -Be 900
            Test-Path -LiteralPath $stale | Should -BeFalse
            Test-Path -LiteralPath $fresh | Should -BeTrue
            @(Get-ChildItem $dir -Force -Filter '*.tmp').Count | Should -Be 1
        }
        It 'takes -LiteralPath (and its aliases) literally' {
            $path = Join-Path $TestDrive 'chart [1].png'
            New-Timings | Export-DpChart -LiteralPath $path
            Test-Path -LiteralPath $path | Should -BeTrue
            New-Timings | Export-DpChart -LP $path -Force -PassThru | ForEach-Object Name | Should -Be 'chart [1].png'
        }
        It 'resolves a relative path against the current location' {
            Push-Location $TestDrive
            try { New-Timings | Export-DpChart rel.png } finally { Pop-Location }
            Test-Path (Join-Path $TestDrive 'rel.png') | Should -BeTrue
        }
        It 'refuses a directory (ChartPathIsDirectory)' {
            { New-Timings | Export-DpChart -Path $TestDrive -ErrorAction Stop } | Should -Throw -ErrorId "ChartPathIsDirectory$id"
        }
        It 'reports a missing directory as ChartWriteFailed' {
            { New-Timings | Export-DpChart -Path (Join-Path $TestDrive 'no/such/dir.png') -ErrorAction Stop } | Should -Throw -ErrorId "ChartWriteFailed$id"
        }
    }

    Context 'Bad input' {
        It 'names a missing property (ChartPropertyMissing): <Property>' -TestCases @(
            @{ Kind = 'ErrorVsDx'; Property = 'MaxForceError'; Drop = 'MaxForceError' }
            @{ Kind = 'ErrorVsDx'; Property = 'Order'; Drop = 'Order' }
            @{ Kind = 'PhaseBreakdown'; Property = 'BackwardMs'; Drop = 'BackwardMs' }
            @{ Kind = 'Speedup'; Property = 'Label'; Drop = 'Label' }
        ) {
            $objects = Get-Input $Kind | Select-Object * -ExcludeProperty $Drop
            $err = { $objects | Export-DpChart -Path (Join-Path $TestDrive 'missing.png') -Kind $Kind -ErrorAction Stop } |
                Should -Throw -ErrorId "ChartPropertyMissing$id" -PassThru
            $err.Exception.Message | Should -BeLike "*'$Property'*"
            Test-Path (Join-Path $TestDrive 'missing.png') | Should -BeFalse
        }
        It 'checks the input even with -WhatIf' {
            { [pscustomobject]@{ Label = 'a' } | Export-DpChart -Path (Join-Path $TestDrive 'w.png') -Kind Speedup -WhatIf -ErrorAction Stop } |
                Should -Throw -ErrorId "ChartPropertyMissing$id"
        }
        It 'rejects a value that is not a number (ChartPropertyInvalid)' {
            { [pscustomobject]@{ Label = 'a'; TotalMs = 'fast' } | Export-DpChart -Path (Join-Path $TestDrive 'n.png') -ErrorAction Stop } |
                Should -Throw -ErrorId "ChartPropertyInvalid$id"
        }
        It 'cannot infer a kind from unrelated objects (ChartKindUnknown)' {
            { Get-Item $TestDrive | Export-DpChart -Path (Join-Path $TestDrive 'u.png') -ErrorAction Stop } |
                Should -Throw -ErrorId "ChartKindUnknown$id"
        }
        It 'needs at least one object (ChartNoInput)' {
            { @() | Export-DpChart -Path (Join-Path $TestDrive 'e.png') -ErrorAction Stop } | Should -Throw -ErrorId "ChartNoInput$id"
        }
    }
}

Describe 'ErrorVsDx legend' {
    It 'names each order with its fitted convergence order p' {
        $pts = [DpCompress.PowerShell.Charts.ErrorPoint[]]@(
            foreach ($dx in 0.1, 0.05, 0.025) { [DpCompress.PowerShell.Charts.ErrorPoint]::new($dx, 3, 0.4 * [math]::Pow($dx, 3)) })
        [DpCompress.PowerShell.Charts.ChartRenderer]::SeriesLabel(3, $pts) | Should -Be 'order 3, p = 3.00'
    }
    It 'falls back to the order alone when one point allows no fit' {
        $pts = [DpCompress.PowerShell.Charts.ErrorPoint[]]@([DpCompress.PowerShell.Charts.ErrorPoint]::new(0.1, 5, 1e-6))
        [DpCompress.PowerShell.Charts.ChartRenderer]::SeriesLabel(5, $pts) | Should -Be 'order 5'
    }
}
