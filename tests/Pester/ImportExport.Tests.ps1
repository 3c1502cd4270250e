BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:agau = Get-TestDataPath 'agau'
    $script:original = Join-Path $agau 'dp_model.ckpt'
    $script:pwmlffCompressed = Join-Path $agau 'cmp_o3_dx0.01.ckpt'
}

Describe 'Import-DpModel' {
    Context 'Paths and pipeline' {
        It 'reads the PWMLFF original and compressed fixtures with -Path wildcards' {
            $models = Import-DpModel -Path (Join-Path $agau '*_model.ckpt'), (Join-Path $agau 'cmp_*.ckpt') -ErrorAction SilentlyContinue -ErrorVariable errs
            ($models | Where-Object { -not $_.IsCompressed }).Count | Should -Be 1
            ($models | Where-Object IsCompressed).Count | Should -Be 1
            # nep_model.ckpt matches *_model.ckpt and is refused, the others still import.
            $errs.FullyQualifiedErrorId | Should -Contain 'NotDpModel,DpCompress.PowerShell.Commands.ImportDpModelCommand'
        }
        It 'takes FileInfo objects from the pipeline (bound by PSPath)' {
            $m = Get-Item $original | Import-DpModel
            $m | Should -BeOfType ([DpCompress.Core.Model.DpModel])
            $m.SourcePath | Should -Be $original
        }
        It 'takes -LiteralPath without wildcard expansion' {
            $dir = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'we[i]rd') -Force
            Copy-Item -LiteralPath $original -Destination (Join-Path $dir.FullName 'm[1].ckpt')
            (Import-DpModel -LiteralPath (Join-Path $dir.FullName 'm[1].ckpt')).AtomTypes | Should -Be 47, 79
        }
        It 'describes the model: types, cutoffs, nets, statistics' {
            $m = Import-DpModel $original
            $m.AtomTypes | Should -Be 47, 79
            $m.Rmax | Should -Be 6.0
            $m.Rmin | Should -Be 2.0
            $m.MaxNeighbors | Should -Be 100
            $m.M2 | Should -Be 12
            $m.Precision | Should -Be 'Float64'
            $m.EmbeddingSizes | Should -Be 25, 25, 25
            $m.FittingSizes | Should -Be 50, 50, 50, 1
            $m.EmbeddingNets.Count | Should -Be 4
            $m.FittingNets.Count | Should -Be 2
            $m.IsCompressed | Should -BeFalse
            $m.Checkpoint.Keys | Should -Be 'json_file', 'epoch', 'state_dict', 'davg', 'dstd', 'energy_shift', 'atom_type_order', 'sij_max'
        }
        It 'reads the compress block of PWMLFF''s compressed file' {
            $c = Import-DpModel $pwmlffCompressed
            $c.IsCompressed | Should -BeTrue
            $c.Order | Should -Be 3
            $c.Dx | Should -Be 0.01
            $c.Compression.NetCount | Should -Be 4
            $c.Compression.Width | Should -Be 25
            $c.Compression.Rows | Should -Be ($c.Compression.Grid.InnerIntervals + $c.Compression.Grid.OuterPoints - 1)
        }
        It 'shows a one-line table by default' {
            $text = Import-DpModel $original | Out-String
            $text | Should -Match 'Ag,Au'
            $text | Should -Match '25,25,25'
            $text | Should -Match '46,002'
        }
    }

    Context 'Bad input' {
        It 'reports a missing file as ObjectNotFound and still imports the good paths' {
            $m = Import-DpModel -Path (Join-Path $TestDrive 'missing.ckpt'), $original -ErrorAction SilentlyContinue -ErrorVariable errs
            $m.Count | Should -Be 1
            $errs[0].FullyQualifiedErrorId | Should -Be 'CheckpointNotFound,DpCompress.PowerShell.Commands.ImportDpModelCommand'
            $errs[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        }
        It 'refuses a NEP model as not a DP model' {
            { Import-DpModel (Join-Path $agau 'nep_model.ckpt') -ErrorAction Stop } | Should -Throw -ErrorId 'NotDpModel,DpCompress.PowerShell.Commands.ImportDpModelCommand'
            $err = $null; Import-DpModel (Join-Path $agau 'nep_model.ckpt') -ErrorAction SilentlyContinue -ErrorVariable err
            $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
            $err[0].TargetObject | Should -Be (Join-Path $agau 'nep_model.ckpt')
            $err[0].Exception.Message | Should -Match 'not a DP model'
        }
        It 'refuses an empty file, a directory and a non-zip with their own ids' -TestCases @(
            @{ Name = 'empty'; Id = 'CheckpointEmpty'; Make = { param($p) New-Item -ItemType File -Path $p | Out-Null } }
            @{ Name = 'dir'; Id = 'CheckpointIsDirectory'; Make = { param($p) New-Item -ItemType Directory -Path $p | Out-Null } }
            @{ Name = 'text'; Id = 'CheckpointNotZip'; Make = { param($p) Set-Content -Path $p -Value 'not a checkpoint' } }
        ) {
            param($Name, $Id, $Make)
            $p = Join-Path $TestDrive "$Name.ckpt"
            & $Make $p
            $err = $null
            Import-DpModel -LiteralPath $p -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
            $err[0].FullyQualifiedErrorId | Should -Be "$Id,DpCompress.PowerShell.Commands.ImportDpModelCommand"
            $err[0].Exception.Message | Should -Not -Match '   at '
        }
    }
}

Describe 'Export-DpModel' {
    BeforeAll { $script:model = Import-DpModel $original }

    It 'appends .ckpt and returns the file with -PassThru' {
        $f = $model | Export-DpModel -Path (Join-Path $TestDrive 'plain') -PassThru
        $f | Should -BeOfType ([System.IO.FileInfo])
        $f.Name | Should -Be 'plain.ckpt'
    }
    It 'writes cmp_dp_model.ckpt for a compressed model and dp_model.ckpt for an uncompressed one by default' {
        Push-Location $TestDrive
        try {
            $model | Export-DpModel
            Test-Path (Join-Path $TestDrive 'dp_model.ckpt') | Should -BeTrue
            Test-Path (Join-Path $TestDrive 'cmp_dp_model.ckpt') | Should -BeFalse
            $model | Invoke-DpCompression -Dx 0.1 -Order 3 | Export-DpModel
            (Import-DpModel (Join-Path $TestDrive 'cmp_dp_model.ckpt')).IsCompressed | Should -BeTrue
            (Import-DpModel (Join-Path $TestDrive 'dp_model.ckpt')).IsCompressed | Should -BeFalse
        } finally { Pop-Location }
    }
    It 'exports an uncompressed model as a plain PWMLFF checkpoint that reads back identically' {
        $p = Join-Path $TestDrive 'roundtrip.ckpt'
        $model | Export-DpModel -Path $p -Force
        $back = Import-DpModel $p
        $back.IsCompressed | Should -BeFalse
        @($back.Checkpoint.Keys) | Should -Be @($model.Checkpoint.Keys)
        for ($k = 0; $k -lt 4; $k++) {
            for ($l = 0; $l -lt 3; $l++) {
                [System.Linq.Enumerable]::SequenceEqual([double[]]$back.EmbeddingNets[$k].Layers[$l].Weight, [double[]]$model.EmbeddingNets[$k].Layers[$l].Weight) | Should -BeTrue
            }
        }
    }
    It 're-exports PWMLFF''s compressed model with the same table bit for bit' {
        $c = Import-DpModel $pwmlffCompressed
        $p = Join-Path $TestDrive 'cmp_copy.ckpt'
        $c | Export-DpModel -Path $p
        $back = Import-DpModel $p
        [System.Linq.Enumerable]::SequenceEqual($back.Compression.Coefficients, $c.Compression.Coefficients) | Should -BeTrue
    }
    It 'refuses to overwrite without -Force and overwrites with it' {
        $p = Join-Path $TestDrive 'exists.ckpt'
        Set-Content -Path $p -Value 'old'
        $err = $null
        $model | Export-DpModel -Path $p -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be 'ExportFileExists,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        (Get-Content -Raw $p).Trim() | Should -Be 'old'
        $model | Export-DpModel -Path $p -Force
        (Get-Item $p).Length | Should -BeGreaterThan 100000
    }
    It 'writes nothing with -WhatIf' {
        $p = Join-Path $TestDrive 'whatif.ckpt'
        $model | Export-DpModel -Path $p -WhatIf
        Test-Path $p | Should -BeFalse
    }
    It 'reports an unwritable path without leaving a file behind' {
        $p = Join-Path $TestDrive 'no/such/folder/m.ckpt'
        $err = $null
        $model | Export-DpModel -Path $p -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -Be 'ExportWriteFailed,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        $err[0].CategoryInfo.Category | Should -Be 'WriteError'
        Test-Path (Join-Path $TestDrive 'no') | Should -BeFalse
    }
}
