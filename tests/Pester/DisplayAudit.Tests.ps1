# Displays never mislead: every number a user sees is the real number, with its unit and enough digits to tell
# apart the things compared; nothing nonzero reads as 0, nothing missing reads as a value, and an 80-column table
# keeps the values that matter. One test per defect found by the display audit (each failed before its fix).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:agau = Get-TestDataPath 'agau'
    $script:model = Import-DpModel (Join-Path $agau 'dp_model.ckpt')
    $script:cmp = $model | Invoke-DpCompression -Dx 0.05 -Order 3 -Layout Exact
    $script:ag10 = Import-DpConfiguration (Join-Path $agau 'PWdata/Ag10Au14')

    # The text of the list-view line $Label of $InputObject (the part after "Label : ").
    function Get-ListLine($InputObject, [string] $Label, [int] $Width = 400) {
        $line = ($InputObject | Out-String -Width $Width) -split "`r?`n" | Where-Object { $_ -match ('^' + [regex]::Escape($Label) + '\s*: ') } | Select-Object -First 1
        $line | Should -Not -BeNullOrEmpty -Because "the view has a line '$Label'"
        ($line -replace ('^' + [regex]::Escape($Label) + '\s*: '), '').Trim()
    }
    # The numbers in a shown text (1.23E-004, 0.0156, 2.5E-06, 46,002).
    function Get-ShownNumber([string] $Text) {
        [regex]::Matches($Text, '(?<![\w.])[-+]?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?') | ForEach-Object { [double]::Parse(($_.Value -replace ',', ''), [cultureinfo]::InvariantCulture) }
    }
}

Describe 'A measured error and its tolerance read differently when they differ' {
    BeforeAll {
        $script:measured = (Test-CompressedModel -Model $cmp -Data $ag10[4] -Detailed).MaxForceError
        # A tolerance 0.01 % below the measured maximum: the check fails, by a margin E2 cannot show.
        $script:tol = $measured * (1 - 1e-4)
        $script:failed = Test-CompressedModel -Model $cmp -Data $ag10[4] -Detailed -ForceTolerance $tol -WarningAction SilentlyContinue
    }
    It 'the check fails' {
        $failed.Passed | Should -BeFalse
    }
    It 'ToleranceCheck text: "measured > tolerance" with two different numbers' {
        $text = "$($failed.Checks[1])"
        $text -match '^\|dF\| \(eV/A\): (\S+) > (\S+) ' | Should -BeTrue -Because $text
        $Matches[1] | Should -Not -Be $Matches[2]
        [double]$Matches[1] | Should -BeGreaterThan ([double]$Matches[2])
        "$failed" | Should -Not -Match '(\d\.\d+E-\d+) > \1'
        ($failed.Reasons -join ' ') | Should -Not -Match '(\d\.\d+E-\d+) > \1'
    }
    It 'the report view shows the tolerance as given, not rounded to one digit, and distinct from the measured maximum' {
        $n = @(Get-ShownNumber (Get-ListLine $failed 'Max |ΔF| (eV/Å)'))
        $n[0] | Should -BeGreaterThan $n[1]
        [math]::Abs($n[1] - $tol) / $tol | Should -BeLessThan 1e-5
        [math]::Abs($n[0] - $measured) / $measured | Should -BeLessThan 1e-5
    }
    It 'a tolerance of 2.5e-6 reads 2.50E-006, not 3E-006' {
        $r = Test-CompressedModel -Model $cmp -Data $ag10[0] -Detailed -EnergyTolerance 2.5e-6
        @(Get-ShownNumber (Get-ListLine $r 'Max |ΔE| (eV/atom)'))[1] | Should -Be 2.5e-6
    }
    It 'NumberText.Distinct keeps two decimals for equal numbers, NaN and infinity' {
        [DpCompress.Core.Verification.NumberText]::Distinct(1e-6, 1e-6) | Should -Be @((1e-6).ToString('E2'), (1e-6).ToString('E2'))
        [DpCompress.Core.Verification.NumberText]::Distinct([double]::NaN, 1e-6)[0] | Should -Be ([double]::NaN).ToString('E2')
        [DpCompress.Core.Verification.NumberText]::Distinct(1.0049e-6, 1e-6) | Should -Be @((1.0049e-6).ToString('E3'), (1e-6).ToString('E3'))
        $a, $b = [DpCompress.Core.Verification.NumberText]::Distinct(1.0000000000000002, 1.0)
        $a | Should -Not -Be $b
    }
}

Describe 'The report''s tolerances table shows the tolerances' {
    It 'is not PowerShell''s two-decimal table (1e-6 as 0.00)' {
        $r = Test-CompressedModel -Model $cmp -Data $ag10[0] -Detailed -EnergyTolerance 2.5e-6 -ForceTolerance 3e-5
        $text = $r.Tolerances | Out-String -Width 80
        $text | Should -Not -Match '0\.00\b'
        $row = @($text -split "`r?`n" | Where-Object { $_ -match '\d' })[0]
        @(Get-ShownNumber $row) | Should -Be @(2.5e-6, 3e-5, 1e-4)
        $text | Should -Match 'eV/atom'
        $text | Should -Match 'eV/Å'
    }
}

Describe 'Model vs DFT lines of the report' {
    It 'a small RMS keeps its digits (the 0.004 eV/Å of alloy5 read 0.0040; 4e-5 would read 0.0000)' {
        $a5 = Import-DpModel (Get-TestDataPath 'alloy5/dp5_model.ckpt')
        $d5 = Import-DpConfiguration (Get-TestDataPath 'alloy5/PWdata/bcc_3x3x6_108') | Select-Object -First 1
        $r = $a5 | Invoke-DpCompression -Dx 0.05 -Layout Exact | Test-CompressedModel -Data $d5 -Detailed
        $n = @(Get-ShownNumber (Get-ListLine $r 'Original vs DFT (RMS)'))
        [math]::Abs($n[1] - $r.OriginalDftForceRms) / $r.OriginalDftForceRms | Should -BeLessThan 1e-3
        [math]::Abs($n[0] - $r.OriginalDftEnergyRms) / $r.OriginalDftEnergyRms | Should -BeLessThan 1e-3
    }
    It 'configurations without labels say so instead of leaving the line blank' {
        $bare = [DpCompress.Core.Structures.Configuration]::new($ag10[0].Cell, $ag10[0].Positions, $ag10[0].AtomicNumbers)
        $r = Test-CompressedModel -Model $cmp -Data $bare -Detailed
        Get-ListLine $r 'Original vs DFT (RMS)' | Should -Be 'no DFT labels'
        Get-ListLine $r 'Compressed vs DFT (RMS)' | Should -Be 'no DFT labels'
    }
    It 'a DeePMD-kit model''s report says PWMLFF''s runtime was not evaluated' {
        $dp = Import-DpModel (Get-TestDataPath 'deepmd/se_e2_a_agau.dp')
        $r = $dp | Invoke-DpCompression -MinNeighborDistance 2.1721185693495006 | Test-CompressedModel -Reference $dp -Data $ag10[0] -Detailed
        Get-ListLine $r 'PWMLFF/LAMMPS runtime' | Should -Match '^not evaluated'
    }
}

Describe 'Prediction table' {
    It 'fits 80 columns with every column whole, and says which model (it cut Engine to "F…" and dropped Compressed)' {
        $pw = Import-DpModel (Join-Path $agau 'cmp_o3_dx0.01.ckpt')
        foreach ($p in @((Invoke-DpModel $model $ag10[0]), (Invoke-DpModel $cmp $ag10[0] -Engine Reference), (Invoke-DpModel $pw $ag10[2] -Runtime Pwmlff))) {
            $lines = @(($p | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
            $lines.Count | Should -Be 3
            $lines | ForEach-Object { $_ | Should -Not -Match '…' }
            $lines[0] | Should -Match 'Model\s*$'
            $want = if (-not $p.Compressed) { 'original' } elseif ("$($p.Runtime)" -eq 'Pwmlff') { 'as in PWMLFF' } else { 'compressed' }
            $lines[2] | Should -Match ('^Ag10Au14\[\d\] .* ' + $want + '\s*$')
        }
    }
    It 'a small largest force keeps its digits instead of 0.0000' {
        $c = $ag10[0]
        $f = [double[]](1..(3 * $c.AtomCount) | ForEach-Object { 2e-6 * ($_ % 5 - 2) })
        $p = [DpCompress.Core.Inference.Prediction]::new($c, -80.0, [double[]]::new($c.AtomCount), $f, [double[]]::new(9))
        $p.MaxForce | Should -BeGreaterThan 0
        $row = @(($p | Out-String -Width 200) -split "`r?`n" | Where-Object { $_ -match '^Ag10Au14' })[0]
        $row | Should -Not -Match '\s0\.0000\s'
        $shown = @(Get-ShownNumber $row)[4]
        [math]::Abs($shown - $p.MaxForce) / $p.MaxForce | Should -BeLessThan 0.01
    }
}

Describe 'Measure-DpInference Speedup' {
    It 'shows <S> as <Text>: a 4 % loss does not read like a 4 % gain' -ForEach @(
        @{ S = 0.96; Text = '0.96x' }, @{ S = 1.04; Text = '1.04x' }, @{ S = 54.46; Text = '54.5x' }, @{ S = 0.004; Text = '0.004x' }
    ) {
        $t = [DpCompress.Core.Inference.InferenceTiming]@{ Label = 'compressed o3 dx 0.01 / Fast'; Threads = 1; TotalMs = 1; ModelMs = 1; Atoms = 10 }
        $t.Speedup = $S
        foreach ($view in 'InferenceTiming', 'Detail') {
            $row = @(($t | Format-Table -View $view | Out-String -Width 200) -split "`r?`n" | Where-Object { $_ -match '^compressed' })[0]
            $row | Should -Match ([regex]::Escape(" $Text") + '\s*$')
        }
    }
}

Describe 'Table accuracy per net' {
    It 'fits 80 columns without cutting the whole-table error' {
        $lines = @(($cmp.Compression.Accuracy | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines | ForEach-Object { $_ | Should -Not -Match '…' }
        $row = @(Get-ShownNumber $lines[2])
        $row.Count | Should -Be 7
        $a = $cmp.Compression.Accuracy[0]
        [math]::Abs($row[5] - $a.MaxValueError) / $a.MaxValueError | Should -BeLessThan 0.01
    }
    It 'a type-embedding net''s centre is "all", not -1' {
        $te = Import-DpModel (Get-TestDataPath 'agau_te/dp_te_model.ckpt') | Invoke-DpCompression -Dx 0.05 -Layout Exact
        $rows = @(($te.Compression.Accuracy | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ -match '^\s*\d' })
        $rows.Count | Should -Be 2
        $rows | ForEach-Object { $_ | Should -Match '^\s*\d+\s+all\s' }
    }
}

Describe 's grid' {
    BeforeAll { $script:grid = $model | New-SijGrid -Dx 0.01 }
    It 'its text gives dx 2^-7 in full (G4 wrote 0.007812)' {
        $grid.Dx | Should -Be 0.0078125
        "$grid" | Should -Match 'dx 0\.0078125 \(asked 0\.01\)'
    }
    It 'the table view shows where the inner grid ends, not only the training maximum' {
        $lines = @(($grid | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match 'Inner end'
        @(Get-ShownNumber $lines[2]) | Should -Contain $grid.InnerEnd
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
    }
    It 'the help remark states the inner end the example prints' {
        $remark = ((Get-Help New-SijGrid -Examples).examples.example[0].remarks.Text -join ' ')
        $remark | Should -Match ([regex]::Escape($grid.InnerEnd.ToString([cultureinfo]::InvariantCulture)))
        $remark | Should -Not -Match 'ends at 8\.0;'
    }
}

Describe 'Help examples do not print errors through PowerShell''s two-decimal table' {
    It '<Command> example <N> shows every digit of the error properties' -ForEach @(
        @{ Command = 'Test-CompressedModel'; N = 4 }, @{ Command = 'Invoke-DpModel'; N = 4 }
    ) {
        $code = @((Get-Help $Command -Examples).examples.example)[$N - 1].code
        # Select-Object of up to four properties prints a table with two decimals: 1.02e-4 eV/atom as 0.00.
        $code | Should -Not -Match 'Select-Object[^|]*\b(Max\w*Error|Energy|EnergyPerAtom)\b'
    }
}

Describe 'Per-configuration rows of the report' {
    It 'fit 80 columns with every column whole (the out-of-table count had 3 characters)' {
        $r = Test-CompressedModel -Model $cmp -Data $ag10 -Detailed
        $lines = @(($r.Rows | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines.Count | Should -Be 7      # header, rule, five rows: no header wrapped onto more lines
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80; $_ | Should -Not -Match '…' }
        $lines[0] | Should -Match 'eV/atom .* eV/Å .* eV/atom .* Off table\s*$'
    }
    It 'the report''s table-usage line starts with the largest s, so a narrow console cannot split it' {
        $r = Test-CompressedModel -Model $cmp -Data $ag10[2] -Detailed
        $line = Get-ListLine $r 's values outside' -Width 80
        $line | Should -Match ('^max s ' + [regex]::Escape(('{0:F4}' -f $r.MaxScaledS)) + '; 0 beyond table, 0 beyond training$')
    }
}

Describe 'Phase times carry their unit' {
    It 'the report''s CompressedTimings list says seconds and shows the values' {
        $r = Test-CompressedModel -Model $cmp -Data $ag10[0] -Detailed
        $text = $r.CompressedTimings | Out-String -Width 80
        $text | Should -Match 'Embedding \(s\)\s*: '
        $total = Get-ListLine $r.CompressedTimings 'Total (s)'
        [math]::Abs([double]$total - $r.CompressedTimings.Total) / $r.CompressedTimings.Total | Should -BeLessThan 1e-5
    }
    It 'the Detail view labels allocation in MiB, which AllocatedMB counts (2^20 bytes)' {
        $t = [DpCompress.Core.Inference.InferenceTiming]@{ Label = 'original / Fast'; Threads = 1; TotalMs = 1; ModelMs = 1; Atoms = 10; AllocatedMB = 1.5 }
        ($t | Format-Table -View Detail | Out-String -Width 200) | Should -Match 'Alloc \(MiB\)'
    }
    It 'Invoke-DpCompression -Verbose gives the table size in MiB' {
        $v = $model | Invoke-DpCompression -Dx 0.05 -Layout Exact -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }
        ($v.Message -join "`n") | Should -Match '\(\d+\.\d MiB\)'
    }
}

Describe 'PhaseBreakdown chart' {
    It 'labels the number above a bar as the sum of the phases, which is not the median pass of TotalMs' {
        $row = [DpCompress.PowerShell.Charts.PhaseRow]::new('original / Reference', 0.36, 4.42, 21.43, 2.12, 2.02, 49.11)
        $text = [DpCompress.PowerShell.Charts.ChartRenderer]::PhaseAnnotation($row)
        $text | Should -Match '^Σ phases 79\.5 ms\n'
        $text | Should -Match 'backward 88\.8 %$'
    }
}

Describe 'Warnings state the numbers that triggered them' {
    It 'SijMaxBelowData gives two different numbers when they differ in the 7th digit (G6 printed the same one twice)' {
        $raw = (New-SijGrid -Model $model -TrainingData $ag10 -Layout Exact).RawSijMax
        $doc = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument((Join-Path $agau 'dp_model.ckpt'))
        $doc['sij_max'] = [DpCompress.Core.Serialization.TorchTensor]::FromDoubles([double[]]($raw * (1 - 1e-9)), [long[]]@())
        $p = Join-Path $TestDrive 'sijmax-just-below.ckpt'
        [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($doc, $p) | Out-Null
        $warn = $null
        $null = New-SijGrid -Model (Import-DpModel -LiteralPath $p) -TrainingData $ag10 -Layout Exact -WarningVariable warn -WarningAction SilentlyContinue
        "$($warn[0])" -match "sij_max (\S+) is below the largest S\(r\) in the training data, (\S+) " | Should -BeTrue -Because "$($warn[0])"
        $Matches[1] | Should -Not -Be $Matches[2]
        [double]$Matches[1] | Should -BeLessThan ([double]$Matches[2])
    }
    It 'Export-DpChart names the points it leaves out of a log axis, with their values' {
        $pts = @{ Order = 5; Dx = 0.1; MaxEnergyError = 2e-8 }, @{ Order = 5; Dx = 0.01; MaxEnergyError = 1.4e-14 }, @{ Order = 5; Dx = 0.001; MaxEnergyError = 0.0 }
        $warn = $null
        $pts | ForEach-Object { [pscustomobject]$_ } | Export-DpChart -Path (Join-Path $TestDrive 'zero.png') -ErrorProperty MaxEnergyError -WarningVariable warn -WarningAction SilentlyContinue
        "$($warn[0])" | Should -Match '^1 of 3 point'
        "$($warn[0])" | Should -Match 'order 5, dx 0\.001: MaxEnergyError 0\b'
    }
    It 'the beyond-training warning gives the largest s and the training maximum it exceeds' {
        $g = New-SijGrid -Model $model -SijMax 0.3 -Dx 0.05 -Layout Exact
        $c = $model | Invoke-DpCompression -Grid $g
        $warn = $null
        $r = Test-CompressedModel -Model $c -Data $ag10[2] -Detailed -WarningVariable warn -WarningAction SilentlyContinue
        $r.BeyondTrainingCount | Should -BeGreaterThan 0
        $w = @($warn | Where-Object { "$_" -match 'above the training maximum' })[0]
        "$w" -match 'largest s (\S+) against the training maximum (\S+);' | Should -BeTrue -Because "$w"
        [math]::Abs([double]$Matches[1] - $r.MaxScaledS) / $r.MaxScaledS | Should -BeLessThan 1e-5
        [math]::Abs([double]$Matches[2] - $g.SMax) / $g.SMax | Should -BeLessThan 1e-5
    }
}

Describe 'Model table' {
    It 'shows a cutoff of 5.9996 Å as it is, not rounded to 6' {
        $doc = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument((Join-Path $agau 'dp_model.ckpt'))
        $doc['json_file']['model']['descriptor']['Rmax'] = 5.9996
        $p = Join-Path $TestDrive 'rmax59996.ckpt'
        [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($doc, $p) | Out-Null
        $m = Import-DpModel -LiteralPath $p
        $m.Rmax | Should -Be 5.9996
        $row = @(($m | Out-String -Width 80) -split "`r?`n" | Where-Object { $_ -match '^Ag,Au' })[0]
        $row | Should -Match '\s5\.9996\s'
    }
}

Describe 'Invoke-DpCompression help states the steps the examples get' {
    It 'example <N> gives the dx that -Dx <Asked> becomes' -ForEach @(@{ N = 4; Asked = 0.001 }, @{ N = 6; Asked = 0.01 }) {
        $dx = ($model | New-SijGrid -Dx $Asked).Dx
        $remark = (@((Get-Help Invoke-DpCompression -Examples).examples.example)[$N - 1].remarks.Text -join ' ')
        $remark | Should -Match ([regex]::Escape($dx.ToString([cultureinfo]::InvariantCulture)))
        $remark | Should -Not -Match 'ten times finer'
    }
}

Describe 'Missing parts read n/a, not a blank before a unit' {
    It 'labels with forces but no energy: the comparison texts and the report''s DFT lines' {
        $c = [DpCompress.Core.Structures.Configuration]::new($ag10[0].Cell, $ag10[0].Positions, $ag10[0].AtomicNumbers)
        $c.Forces = $ag10[0].Forces
        $r = Test-CompressedModel -Model $cmp -Data $c -Detailed
        "$($r.Rows[0].CompressedVsDft)" | Should -Match '\|dE\|/atom n/a eV, max \|dF\| \d\.\d\dE[-+]\d+ eV/A, max \|dW\|/atom n/a eV$'
        "$($r.CompressedVsDft)" | Should -Match '\|dE\|/atom max n/a rms n/a eV; \|dF\| max \d'
        "$($r.CompressedVsDft)" | Should -Not -Match '  '
        # The force RMS against DFT is shown although the energies are missing (the line was blank).
        $line = Get-ListLine $r 'Original vs DFT (RMS)'
        $line | Should -Match '^no DFT energies, '
        [math]::Abs(@(Get-ShownNumber $line)[0] - $r.OriginalDftForceRms) / $r.OriginalDftForceRms | Should -BeLessThan 1e-3
    }
    It 'Measure-DpConvergence without a fit shows p as n/a' {
        $pts = @{ Order = 5; Dx = 0.01; MaxForceError = 1.8e-11 }, @{ Order = 5; Dx = 0.001; MaxForceError = 1.3e-11 }
        $f = $pts | ForEach-Object { [pscustomobject]$_ } | Measure-DpConvergence -Quantity MaxForceError -WarningAction SilentlyContinue
        $f.P | Should -BeNullOrEmpty
        $row = @(($f | Out-String -Width 120) -split "`r?`n" | Where-Object { $_ -match '^\s*5 ' })[0]
        $row | Should -Match 'MaxForceError \(eV/Å\)\s+n/a'
    }
}

Describe 'The Demo names the dx its tables have' {
    It 'prints the type-embedding report''s Dx, not the dx typed, and MiB for Length / 1MB' {
        $demo = Get-Content -Raw (Join-Path $PSScriptRoot '../../examples/Demo.ps1')
        $demo | Should -Not -Match "order 3, dx 0\.01: max"
        $demo | Should -Match '\$teReport\.Dx'
        $demo | Should -Not -Match 'MB\)'' -f [^\r\n]*/ 1MB'
    }
}

Describe 'Measure-DpConvergence help states what its first example prints' {
    It 'every p the remark quotes is a p the example fits, and the remark names the steps of the dx fitted column' {
        $ex = @((Get-Help Measure-DpConvergence -Examples).examples.example)[0]
        Push-Location (Join-Path $PSScriptRoot '../..')
        try { $fits = & ([scriptblock]::Create($ex.code)) } finally { Pop-Location }
        $shown = @($fits | ForEach-Object { '{0:F2}' -f $_.P })
        $shown.Count | Should -Be 6
        $remark = $ex.remarks.Text -join ' '
        foreach ($p in $shown) { $remark | Should -Match ([regex]::Escape($p)) }
        $remark | Should -Match ([regex]::Escape(($fits[0].Fit.UsedDx | ForEach-Object { $_.ToString([cultureinfo]::InvariantCulture) }) -join ', '))
    }
}

Describe 'Sizes counted in 2^20 bytes are labelled MiB' {
    It 'Export-DpModel example 3 prints Length / 1MB as MiB' {
        $code = @((Get-Help Export-DpModel -Examples).examples.example)[2].code
        $code | Should -Match '1MB'
        $code | Should -Match "MiB' -f"
    }
}
