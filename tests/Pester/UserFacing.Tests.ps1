# What a new user meets: pipeline habits, help that tells the truth, labelled units, and errors
# that name the real problem (issue 15, item 3).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:agau = Get-TestDataPath 'agau'
    $script:model = Import-DpModel (Join-Path $agau 'dp_model.ckpt')
    $script:cmp = $model | Invoke-DpCompression -Dx 0.05 -Order 3
    $script:ag10 = Import-DpConfiguration (Join-Path $agau 'PWdata/Ag10Au14')
}

Describe 'Invoke-DpModel binds a piped model by its type' {
    It 'takes the model from the pipeline and the configurations from -Configuration' {
        $piped = $model | Invoke-DpModel -Configuration $ag10
        $named = Invoke-DpModel -Model $model -Configuration $ag10
        $piped.Count | Should -Be 5
        for ($i = 0; $i -lt 5; $i++) { $piped[$i].Energy | Should -Be $named[$i].Energy }
    }
    It 'evaluates every piped model on every configuration' {
        $p = $model, $cmp | Invoke-DpModel -Configuration (Join-Path $agau 'PWdata/Ag10Au14')
        $p.Count | Should -Be 10
        @($p.Compressed) | Should -Be (@($false) * 5 + @($true) * 5)
        [math]::Abs($p[0].Energy - $p[5].Energy) / 24 | Should -BeLessThan 1e-6
    }
    It 'still takes piped configurations when -Model is given' {
        ($ag10 | Invoke-DpModel -Model $model).Count | Should -Be 5
        ($ag10 | Invoke-DpModel $model).Count | Should -Be 5
    }
    It 'declares the pipeline binding of -Model in its help' {
        (Get-Help Invoke-DpModel -Parameter Model).pipelineInput | Should -Match 'ByValue'
    }
}

Describe 'Help says which parameters expand wildcards, and they do' {
    It '<Command> -<Parameter> accepts wildcard characters' -ForEach @(
        @{ Command = 'Import-DpModel'; Parameter = 'Path' }
        @{ Command = 'Import-DpConfiguration'; Parameter = 'Path' }
        @{ Command = 'Invoke-DpModel'; Parameter = 'Configuration' }
        @{ Command = 'Test-CompressedModel'; Parameter = 'Data' }
        @{ Command = 'Measure-DpInference'; Parameter = 'Data' }
        @{ Command = 'New-SijGrid'; Parameter = 'TrainingData' }
    ) {
        (Get-Help $Command -Parameter $Parameter).globbing | Should -Be 'true'
        (Get-Help $Command -Parameter $Parameter).description.Text | Should -Match 'ildcard'
    }
    It '<Command> -LiteralPath does not' -ForEach @(@{ Command = 'Import-DpModel' }, @{ Command = 'Import-DpConfiguration' }) {
        (Get-Help $Command -Parameter LiteralPath).globbing | Should -Be 'false'
    }
    It 'Import-DpModel -Path expands a wildcard; -LiteralPath takes it as a name' {
        $m = Import-DpModel -Path (Join-Path $agau '*_model.ckpt') -ErrorAction SilentlyContinue -ErrorVariable bad
        @($m).Count | Should -Be 1     # dp_model.ckpt; nep_model.ckpt is not a DP model
        $bad[0].FullyQualifiedErrorId | Should -Match '^NotDpModel,'
        { Import-DpModel -LiteralPath (Join-Path $agau '*_model.ckpt') -ErrorAction Stop } | Should -Throw -ErrorId 'CheckpointNotFound,DpCompress.PowerShell.Commands.ImportDpModelCommand'
    }
    It 'Invoke-DpModel -Configuration expands a wildcard' {
        (Invoke-DpModel $model (Join-Path $agau 'PWdata/Ag10Au1?')).Count | Should -Be 5
    }
}

Describe 'One convention for the virial error: per atom, and labelled so' {
    BeforeAll { $script:r = Test-CompressedModel -Model $cmp -Data $ag10 -Detailed }
    It 'MaxVirialError of the report is the largest |dW|/N over configurations' {
        $want = ($r.Rows | ForEach-Object {
                $m = 0.0
                for ($k = 0; $k -lt 9; $k++) { $m = [math]::Max($m, [math]::Abs($_.Compressed.Virial[$k] - $_.Original.Virial[$k])) }
                $m / $_.AtomCount
            } | Measure-Object -Maximum).Maximum
        $r.MaxVirialError | Should -Be $want
    }
    It 'every text of the report gives |dW| per atom, with that value' {
        $shown = '{0:E2}' -f $r.MaxVirialError
        foreach ($text in "$r", "$($r.CompressedVsOriginal)", ($r | Out-String)) {
            $text | Should -Match '\|[dΔ]W\|(/atom| \(eV/atom\))'
            $text | Should -Not -Match '\|[dΔ]W\| max'
            $text | Should -Match ([regex]::Escape($shown))
        }
        $row = $r.Rows | Sort-Object MaxVirialErrorPerAtom -Descending | Select-Object -First 1
        "$($row.CompressedVsOriginal)" | Should -Match ('max \|dW\|/atom ' + [regex]::Escape($shown) + ' eV')
    }
    It 'the -Verbose line gives |dW|/atom' {
        $v = Test-CompressedModel -Model $cmp -Data $ag10[0] -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($v.Message -join "`n") | Should -Match '\|dW\|/atom \(eV\)'
    }
}

Describe 'A model with an implausible cutoff is refused for what it is' {
    It 'Rmax = 1e4 gives ModelCutoffImplausible naming the key, not "the cell is too thin"' {
        $d = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument((Join-Path $agau 'dp_model.ckpt'))
        $d['json_file']['model']['descriptor']['Rmax'] = 1e4
        $p = Join-Path $TestDrive 'rmax.ckpt'
        [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($d, $p)
        $err = $null
        Import-DpModel $p -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Be 'ModelCutoffImplausible,DpCompress.PowerShell.Commands.ImportDpModelCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $err[0].Exception.Message | Should -Match 'json_file\.model\.descriptor\.Rmax = 10000 Å'
        $err[0].Exception.Message | Should -Not -Match 'thin'
    }
    It 'accepts a cutoff of 12 Å' {
        $d = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument((Join-Path $agau 'dp_model.ckpt'))
        $d['json_file']['model']['descriptor']['Rmax'] = 12.0
        $p = Join-Path $TestDrive 'rmax12.ckpt'
        [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($d, $p)
        (Import-DpModel $p).Rmax | Should -Be 12.0
    }
}
