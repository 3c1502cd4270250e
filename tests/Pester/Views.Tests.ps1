# Every view of DpCompress.Format.ps1xml renders what the object holds: each cell of the default
# view is taken from the formatter (the text Out-String prints), its numbers are parsed and must
# equal the expected values computed here from the raw data (not from the view's own script),
# within half a unit of the last digit shown. A column without a check fails the test, so a new
# column cannot slip in untested.
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $agau = Get-TestDataPath 'agau'
    $script:model = Import-DpModel (Join-Path $agau 'dp_model.ckpt')
    $script:cmp = $model | Invoke-DpCompression -Dx 0.05 -Order 3 -Layout Exact   # the dx shown is the one typed
    $script:ag10 = Import-DpConfiguration (Join-Path $agau 'PWdata/Ag10Au14')

    # Numbers in a shown text, each with half a unit of its last digit: 1.39E-008, -3.318095, 46,002, 62.5%, 0.8x.
    function ConvertFrom-ShownNumber([string] $Text) {
        foreach ($m in [regex]::Matches($Text, '(?<![\w.])[-+]?\d[\d,]*(?:\.(\d+))?(?:[eE]([-+]?\d+))?(?: ?(%))?')) {
            $digits = $m.Groups[1].Value.Length
            $exponent = if ($m.Groups[2].Success) { [int]$m.Groups[2].Value } else { 0 }
            $value = [double]::Parse(($m.Value.TrimEnd('%', ' ') -replace ',', ''), [cultureinfo]::InvariantCulture)
            $half = 0.5 * [math]::Pow(10, $exponent - $digits)
            if ($m.Groups[3].Success) { $value /= 100; $half /= 100 }
            [pscustomobject]@{ Value = $value; Half = $half; Text = $m.Value }
        }
    }

    # Label -> shown text of every cell of the default view of $InputObject (table or list).
    function Get-ViewCell($InputObject, [ValidateSet('Table', 'List')] [string] $Kind, [string] $View) {
        $named = if ($View) { @{ View = $View } } else { @{} }
        $data = if ($Kind -eq 'Table') { $InputObject | Format-Table @named } else { $InputObject | Format-List @named }
        $cells = [ordered]@{}
        if ($Kind -eq 'Table') {
            $labels = $data[0].shapeInfo.tableColumnInfoList | ForEach-Object label
            $entry = $data | Where-Object { $_.GetType().Name -eq 'FormatEntryData' } | Select-Object -First 1
            $values = $entry.formatEntryInfo.formatPropertyFieldList | ForEach-Object propertyValue
            for ($i = 0; $i -lt $labels.Count; $i++) { $cells[$labels[$i]] = "$($values[$i])" }
        }
        else {
            $entry = $data | Where-Object { $_.GetType().Name -eq 'FormatEntryData' } | Select-Object -First 1
            foreach ($f in $entry.formatEntryInfo.listViewFieldList) { $cells[$f.label] = "$($f.formatPropertyField.propertyValue)" }
        }
        $cells
    }

    # Checks every cell of the view: numbers (array of expected values) or text (string).
    function Assert-View($InputObject, [string] $Kind, [System.Collections.IDictionary] $Expected, [string] $View) {
        $cells = Get-ViewCell $InputObject $Kind $View
        $rendered = if ($View) { $InputObject | Format-Table -View $View | Out-String -Width 400 } else { $InputObject | Out-String -Width 400 }
        @($cells.Keys | Where-Object { -not $Expected.Contains($_) }) | Should -BeNullOrEmpty -Because 'every column of the view must be checked'
        foreach ($label in $cells.Keys) {
            $shown = $cells[$label]
            if ($shown.Trim()) { $rendered.Contains($shown.Trim()) | Should -BeTrue -Because "Out-String prints the cell '$label' ($shown)" }
            $want = $Expected[$label]
            if ($want -is [string]) { $shown | Should -BeExactly $want -Because $label; continue }
            $numbers = @(ConvertFrom-ShownNumber $shown)
            $numbers.Count | Should -Be @($want).Count -Because "'$label' shows '$shown'"
            for ($i = 0; $i -lt $numbers.Count; $i++) {
                $w = [double]@($want)[$i]
                $tol = $numbers[$i].Half * (1 + 1e-9) + 1e-300
                [math]::Abs($numbers[$i].Value - $w) | Should -BeLessOrEqual $tol -Because "'$label' shows $($numbers[$i].Text) for $w"
            }
        }
    }

    # Linear interpolation between order statistics (Hyndman-Fan R7, NumPy's default).
    function Get-Quantile([double[]] $V, [double] $Tau) {
        $s = @($V | Sort-Object)
        $h = ($s.Count - 1) * $Tau; $lo = [math]::Floor($h); $hi = [math]::Min($lo + 1, $s.Count - 1)
        $s[$lo] + ($h - $lo) * ($s[$hi] - $s[$lo])
    }
    function Get-MaxNorm([double[]] $F) {
        $m = 0.0
        for ($i = 0; $i -lt $F.Length; $i += 3) { $m = [math]::Max($m, [math]::Sqrt($F[$i] * $F[$i] + $F[$i + 1] * $F[$i + 1] + $F[$i + 2] * $F[$i + 2])) }
        $m
    }
}

Describe 'Views show the values of the objects' {
    It 'DpModel (<Which>)' -ForEach @(@{ Which = 'original' }, @{ Which = 'compressed' }) {
        $m = if ($Which -eq 'original') { $model } else { $cmp }
        $params = 0
        foreach ($net in @($m.EmbeddingNets) + @($m.FittingNets)) { foreach ($l in $net.Layers) { $params += $l.Weight.Length + $(if ($l.Bias) { $l.Bias.Length }) + $(if ($l.ResnetDt) { $l.ResnetDt.Length }) } }
        Assert-View $m Table ([ordered]@{
                'Elements'   = 'Ag,Au'
                'Embedding'  = '25,25,25'
                'Fitting'    = '50,50,50,1'
                'Rc (Å)'     = @(6.0)
                'Params'     = @($params)
                'Table'      = if ($m.IsCompressed) { 'o3 dx 0.05' } else { 'none' }
                'Flavour'    = 'DP'
                'File'       = if ($m.SourcePath) { 'dp_model.ckpt' } else { '' }
            })
        # At 80 columns every column is shown, untruncated.
        $lines = @(($m | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines[0] | Should -Match '^Elements .* Flavour +File *$'
        $lines[2] | Should -Not -Match '…'
    }
    It 'Configuration' {
        $c = $ag10[2]
        Assert-View $c Table ([ordered]@{
                'Name' = 'Ag10Au14'; 'Index' = @(2); 'Formula' = 'Ag10Au14'; 'Atoms' = @(24)
                'Energy (eV)' = @($c.Energy); 'Forces' = 'True'; 'Virial' = 'True'; 'Source' = 'valid'   # the PWdata folder Ag10Au14/valid
            })
    }
    It 'Prediction: Max |F| is the largest atomic force norm, not an integer (Ag10Au14[<I>])' -ForEach @(0..4 | ForEach-Object { @{ I = $_ } }) {
        $p = Invoke-DpModel -Model $model -Configuration $ag10[$I]
        $maxF = Get-MaxNorm $p.Forces
        $p.MaxForce | Should -Be $maxF
        [math]::Abs($maxF - [math]::Round($maxF)) | Should -BeGreaterThan 1e-3   # the data make an integer fold visible
        Assert-View $p Table ([ordered]@{
                'Configuration' = "Ag10Au14[$I]"; 'Atoms' = @(24)
                'Energy (eV)' = @($p.Energy); 'eV/atom' = @($p.Energy / 24); 'Max |F| (eV/Å)' = @($maxF)
                'Off table' = @(0); 'Model' = 'original'
            })
    }
    It 'SijGrid' {
        $g = $cmp.Compression.Grid
        Assert-View $g Table ([ordered]@{
                's min' = @($g.SMin); 's max' = @($g.SMax); 'Inner end' = @($g.InnerEnd); 'Dx' = @(0.05); 'Inner' = @($g.InnerIntervals); 'Outer' = @($g.OuterPoints)
                'Rows' = @($g.Rows); 'Raw S max' = @($g.RawSijMax); 'Source' = "$($g.Source)"
            })
    }
    It 'NetAccuracy (net <K>)' -ForEach @(0..3 | ForEach-Object { @{ K = $_ } }) {
        $a = $cmp.Compression.Accuracy[$K]
        Assert-View $a Table ([ordered]@{
                'Net' = @($K); 'Centre' = @([math]::Floor($K / 2)); 'Neighbour' = @($K % 2)
                'Max |Δg| train' = @($a.InnerMaxValueError); 'Max |Δg′| train' = @($a.InnerMaxDerivativeError)
                'Max |Δg| whole' = @($a.MaxValueError); 'Output scale' = @($a.OutputScale)
            })
    }
    It 'VerificationRow and VerificationReport (errors recomputed from the predictions)' {
        $r = Test-CompressedModel -Model $cmp -Data $ag10 -Detailed
        $dE = @(); $dF = @(); $dW = @(); $sq = 0.0; $nF = 0; $eDft = @(); $fDft = 0.0; $eDftC = @(); $fDftC = 0.0; $dEr = @(); $dFr = @()
        foreach ($row in $r.Rows) {
            $n = $row.AtomCount
            $dE += [math]::Abs($row.Compressed.Energy - $row.Original.Energy) / $n
            $dF += Get-MaxAbsDiff $row.Compressed.Forces $row.Original.Forces
            $dW += (Get-MaxAbsDiff $row.Compressed.Virial $row.Original.Virial) / $n
            for ($k = 0; $k -lt 3 * $n; $k++) {
                $d = $row.Compressed.Forces[$k] - $row.Original.Forces[$k]; $sq += $d * $d
                $d = $row.Original.Forces[$k] - $row.Configuration.Forces[$k]; $fDft += $d * $d
                $d = $row.Compressed.Forces[$k] - $row.Configuration.Forces[$k]; $fDftC += $d * $d
            }
            $nF += 3 * $n
            $eDft += ($row.Original.Energy - $row.Configuration.Energy) / $n
            $eDftC += ($row.Compressed.Energy - $row.Configuration.Energy) / $n
            $dEr += [math]::Abs($row.PwmlffRuntime.Energy - $row.Original.Energy) / $n
            $dFr += Get-MaxAbsDiff $row.PwmlffRuntime.Forces $row.Original.Forces
        }
        $rms = { param($v) [math]::Sqrt((($v | ForEach-Object { $_ * $_ }) | Measure-Object -Sum).Sum / @($v).Count) }
        $row = $r.Rows[4]
        Assert-View $row Table ([ordered]@{
                'Configuration' = 'Ag10Au14[4]'; 'Atoms' = @(24)
                '|ΔE| eV/atom' = @($dE[4]); 'Max |ΔF| eV/Å' = @($dF[4]); 'Max |ΔW| eV/atom' = @($dW[4])
                'Max s' = @($row.Compressed.MaxScaledS); 'Off table' = @(0)
            })
        Assert-View $r List ([ordered]@{
                'Passed'                  = 'True'
                'Model'                   = @(3, 0.05)
                'Configurations'          = @(5, 0)
                'Max |ΔE| (eV/atom)'      = @(($dE | Measure-Object -Maximum).Maximum, 1e-6)
                'Max |ΔF| (eV/Å)'         = @(($dF | Measure-Object -Maximum).Maximum, 1e-4, [math]::Sqrt($sq / $nF))
                'Max |ΔW| (eV/atom)'      = @(($dW | Measure-Object -Maximum).Maximum, 1e-4)
                'Median |ΔE|, max |ΔF|'   = @((Get-Quantile $dE 0.5), (Get-Quantile $dF 0.5))
                '95th pct. |ΔE|, max |ΔF|' = @((Get-Quantile $dE 0.95), (Get-Quantile $dF 0.95))
                'Original vs DFT (RMS)'   = @((& $rms $eDft), [math]::Sqrt($fDft / $nF))
                'Compressed vs DFT (RMS)' = @((& $rms $eDftC), [math]::Sqrt($fDftC / $nF))
                's values outside'        = @(($r.Rows.Compressed.MaxScaledS | Measure-Object -Maximum).Maximum, 0, 0)
                'PWMLFF/LAMMPS runtime'   = @(($dEr | Measure-Object -Maximum).Maximum, ($dFr | Measure-Object -Maximum).Maximum, 0)
                'Reasons'                 = ''
                'Warnings'                = ''
            })
        # At 80 columns no line wraps (each line starts with its label).
        $lines = ($r | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() }
        $lines | ForEach-Object { $_ | Should -Match '^\S[^:]*\S\s*:( |$)' }
    }
    It 'ConvergenceOrder' {
        $pts = @{ Order = 5; Dx = 0.1; MaxForceError = 1.7e-6 }, @{ Order = 5; Dx = 0.01; MaxForceError = 1.8e-11 }, @{ Order = 5; Dx = 0.001; MaxForceError = 1.3e-11 }
        $f = $pts | ForEach-Object { [pscustomobject]$_ } | Measure-DpConvergence -Quantity MaxForceError
        $p = [math]::Log10(1.7e-6 / 1.8e-11)
        Assert-View $f Table ([ordered]@{
                'Order' = @(5); 'Quantity' = 'MaxForceError (eV/Å)'; 'p' = @($p); 'C' = @(1.7e-6 / [math]::Pow(0.1, $p)); 'R²' = @(1)
                'dx fitted' = @(0.1, 0.01); 'dx at floor' = @(0.001)
            })
    }
    It 'InferenceTiming: the default view and the Detail view' {
        $t = Measure-DpInference -Model $model, $cmp -Data $ag10[0] -Repeat 1 -Warmup 0
        $speedup = $t[0].ModelMs / $t[1].ModelMs
        Assert-View $t[1] Table ([ordered]@{
                'Label' = 'compressed o3 dx 0.05 / Fast'; 'Threads' = @(1)
                'Total ms' = @($t[1].TotalMs); 'Model ms' = @($t[1].ModelMs); 'µs/atom' = @($t[1].TotalMs * 1000 / 24); 'Speedup' = @($speedup)
            })
        Assert-View $t[1] Table -View Detail -Expected ([ordered]@{
                'Label' = 'compressed o3 dx 0.05 / Fast'; 'Engine' = 'Fast'; 'Threads' = @(1); 'Atoms' = @(24)
                'Total (ms)' = @($t[1].TotalMs); 'Model (ms)' = @($t[1].ModelMs); 'µs/atom' = @($t[1].TotalMs * 1000 / 24)
                'Embedding share' = @($t[1].EmbeddingShare); 'Alloc (MiB)' = @($t[1].AllocatedMB); 'Speedup' = @($speedup)
            })
    }
    It 'InferenceTiming: the default table keeps its Speedup column at 80 columns (both engines)' {
        $t = Measure-DpInference -Model $model, $cmp -Data $ag10[0] -Engine Reference, Fast -Repeat 1 -Warmup 0
        $lines = @(($t | Out-String -Width 80) -split "`r?`n" | Where-Object { $_.Trim() })
        $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 }
        $lines[0] | Should -Match 'Speedup\s*$'
        $rows = $lines | Select-Object -Skip 2
        $rows.Count | Should -Be 4
        @($rows | Where-Object { $_ -match '^compressed .* \d+\.\d+x\s*$' }).Count | Should -Be 2
    }
}
