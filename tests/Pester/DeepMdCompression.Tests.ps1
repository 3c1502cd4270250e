# DeePMD-kit's own compression of se_e2_a models (fixtures/deepmd README §4.4-§5) and the .dp/.yaml writer.
# Data: tests/data/deepmd (the model, DeePMD-kit's own compressed file, DeePMD-kit's predictions) and the 160
# Ag-Au configurations of tests/data/agau/PWdata (the model's training data).
BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:None = [Threading.CancellationToken]::None
    $script:MinDist = 2.1721185693495006     # DeePMD-kit's min_nbor_dist of the training data
    $script:Model = Import-DpModel -LiteralPath (Get-TestDataPath 'deepmd/se_e2_a_agau.dp')
    $script:Theirs = Import-DpModel -LiteralPath (Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp')
    $script:Ours = $script:Model | Invoke-DpCompression -MinNeighborDistance $script:MinDist
    $script:Configs = [DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'agau/PWdata'))

    function Get-ErrorId([scriptblock] $Script) {
        try { & $Script; return '<no error>' }
        catch {
            $e = $_.Exception; $innermost = $e
            while ($e -and -not ($e -is [DpCompress.Core.DpCompressException])) { $innermost = $e; $e = $e.InnerException }
            if ($e) { return $e.ErrorId }
            return $innermost.GetType().Name
        }
    }
    # Max over configurations of |dE|/atom and |dF| between two engines.
    function Compare-Engines($A, $B, $Configurations) {
        $worstE = 0.0; $worstF = 0.0
        foreach ($c in $Configurations) {
            $p = $A.Evaluate($c, $null, $null, $script:None); $q = $B.Evaluate($c, $null, $null, $script:None)
            $worstE = [math]::Max($worstE, [math]::Abs($p.Energy - $q.Energy) / $c.AtomCount)
            for ($i = 0; $i -lt $p.Forces.Length; $i++) { $worstF = [math]::Max($worstF, [math]::Abs($p.Forces[$i] - $q.Forces[$i])) }
        }
        [pscustomobject]@{ Energy = $worstE; Force = $worstF }
    }
    # Structure of a tree: key paths in order with, for arrays, dtype and shape, and for other leaves the value.
    function Get-TreeShape($Node, [string] $Prefix = '') {
        if ($Node -is [DpCompress.Core.Serialization.PyDict]) {
            foreach ($k in $Node.Keys) { Get-TreeShape $Node[$k] "$Prefix/$k" }
        }
        elseif ($Node -is [Collections.Generic.List[object]]) {
            "$Prefix : list[$($Node.Count)]"
            for ($i = 0; $i -lt $Node.Count; $i++) { Get-TreeShape $Node[$i] "$Prefix[$i]" }
        }
        elseif ($Node -is [DpCompress.Core.Serialization.NdArray]) { "$Prefix : $($Node.DType) ($($Node.Shape -join ','))" }
        elseif ($Prefix -eq '/time') { "$Prefix : <time>" }
        else { "$Prefix = $Node" }
    }
}

Describe 'Invoke-DpCompression on a DeePMD-kit model (DeePMD-kit''s table)' {
    It 'builds DeePMD-kit''s grid: [-1, 10] by 0.01, then 0.1 up to 50 (1500 rows), quintic' {
        $t = $script:Ours.Compression
        $t.Order | Should -Be 5
        $t.Rows | Should -Be 1500
        $t.Grid.SMin | Should -Be -1
        $t.Grid.SMax | Should -Be 10
        $t.Grid.InnerIntervals | Should -Be 1100
        $script:Ours.Flavour | Should -Be 'DeepMdSeE2A'
    }
    It 'writes compress_info identical to DeePMD-kit''s and keeps min_nbor_dist' {
        $ours = $script:Ours.Checkpoint['model']['descriptor']['compress']['@variables']['compress_info']
        $theirs = $script:Theirs.Checkpoint['model']['descriptor']['compress']['@variables']['compress_info']
        $ours.Count | Should -Be 4
        for ($k = 0; $k -lt 4; $k++) { $ours[$k].ToDoubleArray() | Should -Be $theirs[$k].ToDoubleArray() }
        $script:Ours.Checkpoint['min_nbor_dist'] | Should -Be $script:MinDist
        $script:Ours.Checkpoint['model']['descriptor']['@version'] | Should -Be 3
        $script:Model.Checkpoint['model']['descriptor']['@version'] | Should -Be 2 -Because 'the input model is left unchanged'
    }
    It 'equals DeePMD-kit''s table at every knot: values and derivatives within 1e-12 of each channel''s scale' {
        # a0 = G(x_r), a1 = G'(x_r); relative to max |G| (max |G'|) of the channel, since G crosses zero.
        $a = $script:Ours.Compression; $b = $script:Theirs.Compression
        $worstV = 0.0; $worstD = 0.0
        for ($net = 0; $net -lt 4; $net++) {
            for ($j = 0; $j -lt 25; $j++) {
                $scaleV = 0.0; $scaleD = 0.0; $dv = 0.0; $dd = 0.0
                for ($r = 0; $r -lt $a.Rows; $r++) {
                    $oa = $a.Offset($net, $r, $j); $ob = $b.Offset($net, $r, $j)
                    $scaleV = [math]::Max($scaleV, [math]::Abs($b.Coefficients[$ob + 5])); $scaleD = [math]::Max($scaleD, [math]::Abs($b.Coefficients[$ob + 4]))
                    $dv = [math]::Max($dv, [math]::Abs($a.Coefficients[$oa + 5] - $b.Coefficients[$ob + 5]))
                    $dd = [math]::Max($dd, [math]::Abs($a.Coefficients[$oa + 4] - $b.Coefficients[$ob + 4]))
                }
                $worstV = [math]::Max($worstV, $dv / $scaleV); $worstD = [math]::Max($worstD, $dd / $scaleD)
            }
        }
        Write-Host "    knots vs DeePMD-kit: value $($worstV.ToString('E2')), derivative $($worstD.ToString('E2')) (relative to the channel scale)"
        $worstV | Should -BeLessOrEqual 1e-12
        $worstD | Should -BeLessOrEqual 1e-12
    }
    It 'predicts what the original predicts on all 160 Ag-Au configurations (<= 1e-13 eV/atom, 1e-11 eV/A)' {
        $e0 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model)
        $e1 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Ours)
        try { $d = Compare-Engines $e0 $e1 $script:Configs } finally { $e0.Dispose(); $e1.Dispose() }
        Write-Host "    ours compressed vs original, 160 configurations: $($d.Energy.ToString('E2')) eV/atom, $($d.Force.ToString('E2')) eV/A"
        $d.Energy | Should -BeLessOrEqual 1e-13
        $d.Force | Should -BeLessOrEqual 1e-11
    }
    It 'reads DeePMD-kit''s own compressed file, which predicts what the original predicts' {
        $script:Theirs.IsCompressed | Should -BeTrue
        $e0 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model)
        $e1 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Theirs)
        try { $d = Compare-Engines $e0 $e1 ($script:Configs | Select-Object -First 20) } finally { $e0.Dispose(); $e1.Dispose() }
        $d.Energy | Should -BeLessOrEqual 1e-13
        $d.Force | Should -BeLessOrEqual 1e-11
    }
    It 'measures min_nbor_dist on -TrainingData as DeePMD-kit did' {
        $c = $script:Model | Invoke-DpCompression -TrainingData (Get-TestDataPath 'agau/PWdata/Ag10Au14') -Dx 0.1
        $c.Checkpoint['min_nbor_dist'] | Should -BeGreaterOrEqual $script:MinDist
        $all = [DpCompress.Core.Compression.DeepMdCompression]::ScanMinNeighborDistance($script:Model, $script:Configs, $script:None)
        [math]::Abs($all - $script:MinDist) | Should -BeLessOrEqual 1e-12
    }
    It 'takes min_nbor_dist from a compressed file when compressing it again' {
        $again = $script:Theirs | Invoke-DpCompression -Force -Dx 0.1
        $again.Checkpoint['min_nbor_dist'] | Should -Be $script:MinDist
        $again.Compression.Rows | Should -Be 150
    }
    It 'refuses without min_nbor_dist (MinNeighborDistanceMissing), -Order 3 and -Grid' {
        { $script:Model | Invoke-DpCompression -ErrorAction Stop } | Should -Throw -ErrorId 'MinNeighborDistanceMissing,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
        { $script:Model | Invoke-DpCompression -MinNeighborDistance 2.2 -Order 3 -ErrorAction Stop } | Should -Throw -ErrorId 'DeepMdOrderNotSupported,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
        { $script:Model | Invoke-DpCompression -MinNeighborDistance -1 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidMinNeighborDistance,DpCompress.PowerShell.Commands.InvokeDpCompressionCommand'
    }
}

Describe 'README: the DeePMD-kit pipeline' {
    It 'runs the README''s DeePMD-kit block' {
        $root = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
        $readme = Get-Content -Raw (Join-Path $root 'README.md')
        $block = [regex]::Matches($readme, '(?s)```powershell\r?\n(.*?)```') | ForEach-Object { $_.Groups[1].Value } | Where-Object { $_ -match 'deepmd/se_e2_a_agau\.dp' } | Select-Object -First 1
        $block | Should -Not -BeNullOrEmpty
        $code = $block.Replace('./tests/data/agau/PWdata', (Get-TestDataPath 'agau/PWdata/Ag12Au12')).Replace('./tests/data', (Get-TestDataPath '').TrimEnd('/'))
        Push-Location $TestDrive
        try { $out = & ([scriptblock]::Create($code)) } finally { Pop-Location }
        $out | Should -Be $true
        Test-Path (Join-Path $TestDrive 'model_compressed.dp') | Should -BeTrue
    }
}

Describe 'Export-DpModel in DeePMD-kit''s format' {
    BeforeAll {
        $script:DpOut = Join-Path $TestDrive 'model_compressed.dp'
        $script:YamlOut = Join-Path $TestDrive 'model_compressed.yaml'
        $script:Ours | Export-DpModel -LiteralPath $script:DpOut
        $script:Ours | Export-DpModel -LiteralPath $script:YamlOut
    }
    It 'round-trips the compressed model through .dp and .yaml (every coefficient and weight identical)' {
        foreach ($path in $script:DpOut, $script:YamlOut) {
            $back = Import-DpModel -LiteralPath $path
            $back.IsCompressed | Should -BeTrue
            $back.Flavour | Should -Be 'DeepMdSeE2A'
            @(Compare-Object $back.Compression.Coefficients $script:Ours.Compression.Coefficients -SyncWindow 0).Count | Should -Be 0
            @(Compare-Object $back.FittingNets[1].Layers[2].ResnetDt $script:Model.FittingNets[1].Layers[2].ResnetDt -SyncWindow 0).Count | Should -Be 0
            @(Compare-Object $back.EmbeddingNets[3].Layers[2].Weight $script:Model.EmbeddingNets[3].Layers[2].Weight -SyncWindow 0).Count | Should -Be 0
        }
    }
    It 'lays the tree out as DeePMD-kit''s own compressed file (keys, order, dtypes, shapes, versions)' {
        $ours = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpOut)
        $theirs = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read((Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp'))
        $diff = Compare-Object @(Get-TreeShape $ours) @(Get-TreeShape $theirs) -SyncWindow 0
        $diff | Should -BeNullOrEmpty
    }
    It 'names the datasets variable_0000.. in depth-first order (57 datasets, as DeePMD-kit)' {
        $f = [PureHDF.H5File]::OpenRead($script:DpOut)
        try {
            $names = @($f.Children() | ForEach-Object Name | Sort-Object)
            $json = $f.Attribute('json').Read[string]($null)
        } finally { $f.Dispose() }
        $names.Count | Should -Be 57
        $names[0] | Should -Be 'variable_0000'
        $names[-1] | Should -Be 'variable_0056'
        $json | Should -Match '^\{"software":"deepmd-kit","version":"unknown","time":'
        $json.IndexOf('"/variable_0000"') | Should -BeLessThan $json.IndexOf('"/variable_0001"')
    }
    It 'writes the original (uncompressed) model back unchanged as .yaml, readable as the same model' {
        $out = Join-Path $TestDrive 'model.yaml'
        $script:Model | Export-DpModel -LiteralPath $out
        $back = Import-DpModel -LiteralPath $out
        $back.IsCompressed | Should -BeFalse
        $diff = Compare-Object @(Get-TreeShape $back.Checkpoint) @(Get-TreeShape (Import-DpModel -LiteralPath (Get-TestDataPath 'deepmd/se_e2_a_agau.yaml')).Checkpoint) -SyncWindow 0
        $diff | Should -BeNullOrEmpty
    }
    It 'writes a decompressed model without the compress block (descriptor back at @version 2)' {
        $out = Join-Path $TestDrive 'decompressed.dp'
        $script:Theirs.WithCompression($null) | Export-DpModel -LiteralPath $out
        $back = Import-DpModel -LiteralPath $out
        $back.IsCompressed | Should -BeFalse
        $back.Checkpoint['model']['descriptor']['@version'] | Should -Be 2
        $back.Checkpoint['model']['descriptor'].ContainsKey('compress') | Should -BeFalse
    }
    It 'honours -WhatIf and refuses to overwrite without -Force' {
        $out = Join-Path $TestDrive 'whatif.dp'
        $script:Ours | Export-DpModel -LiteralPath $out -WhatIf
        Test-Path -LiteralPath $out | Should -BeFalse
        { $script:Ours | Export-DpModel -LiteralPath $script:DpOut -ErrorAction Stop } | Should -Throw -ErrorId 'ExportFileExists,DpCompress.PowerShell.Commands.ExportDpModelCommand'
    }
    It 'refuses format mismatches and leaves no file behind' {
        $out = Join-Path $TestDrive 'wrong.ckpt'
        { $script:Ours | Export-DpModel -LiteralPath $out -ErrorAction Stop } | Should -Throw -ErrorId 'ExportFormatMismatch,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        $pw = Import-DpModel -LiteralPath (Get-TestDataPath 'agau/dp_model.ckpt')
        $out2 = Join-Path $TestDrive 'wrong.dp'
        { $pw | Export-DpModel -LiteralPath $out2 -ErrorAction Stop } | Should -Throw -ErrorId 'ExportFormatMismatch,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        Test-Path -LiteralPath $out | Should -BeFalse
        Test-Path -LiteralPath $out2 | Should -BeFalse
        @(Get-ChildItem -LiteralPath $TestDrive -Filter '*.tmp' -Force).Count | Should -Be 0
    }
}

Describe 'PWMLFF Ag-Au weights written into DeePMD-kit''s format (realistic weights)' {
    BeforeAll {
        $script:Pw = Import-DpModel -LiteralPath (Get-TestDataPath 'agau/dp_model.ckpt')
        $script:Converted = [DpCompress.Core.Serialization.DeepMd.DeepMdConversion]::FromPwmlff($script:Pw)
    }
    It 'predicts what PWMLFF''s conventions predict on every two-element configuration (sel [100, 100])' {
        $script:Converted.Conventions.Sel | Should -Be @(100, 100)
        $two = @($script:Configs | Where-Object { @($_.AtomicNumbers | Select-Object -Unique).Count -eq 2 })
        $two.Count | Should -Be 96
        $e0 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Pw)
        $e1 = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Converted)
        try { $d = Compare-Engines $e0 $e1 $two } finally { $e0.Dispose(); $e1.Dispose() }
        $d.Energy | Should -BeLessOrEqual 1e-12
        $d.Force | Should -BeLessOrEqual 1e-11
    }
    It 'round-trips through a .dp file' {
        $out = Join-Path $TestDrive 'agau_pwmlff.dp'
        $script:Converted | Export-DpModel -LiteralPath $out
        $back = Import-DpModel -LiteralPath $out
        $back.Davg | Should -Be $script:Pw.Davg
        @(Compare-Object $back.EmbeddingNets[1].Layers[1].Weight $script:Pw.EmbeddingNets[1].Layers[1].Weight -SyncWindow 0).Count | Should -Be 0
    }
    It 'compresses with DeePMD-kit''s table to DeePMD-kit''s accuracy on all 160 configurations' {
        $c = $script:Converted | Invoke-DpCompression -MinNeighborDistance $script:MinDist
        $c.Compression.Rows | Should -BeGreaterThan 1000
        $e0 = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:Converted, 2)
        $e1 = [DpCompress.Core.Inference.Fast.FastEngine]::new($c, 2)
        try { $d = Compare-Engines $e0 $e1 $script:Configs } finally { $e0.Dispose(); $e1.Dispose() }
        Write-Host "    realistic weights, compressed vs original, 160 configurations: $($d.Energy.ToString('E2')) eV/atom, $($d.Force.ToString('E2')) eV/A (rows $($c.Compression.Rows))"
        $d.Energy | Should -BeLessOrEqual 1e-13
        $d.Force | Should -BeLessOrEqual 1e-10
    }
}

Describe 'float32 DeePMD-kit models' {
    It 'reads float32 arrays, evaluates them in float64 and writes them back as float32' {
        $tree = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read((Get-TestDataPath 'deepmd/se_e2_a_agau.dp'))
        function ConvertTo-Single($Node) {
            if ($Node -is [DpCompress.Core.Serialization.PyDict]) {
                foreach ($k in @($Node.Keys)) {
                    $v = $Node[$k]
                    if ($v -is [DpCompress.Core.Serialization.NdArray]) {
                        $f = [float[]]$v.ToDoubleArray(); $bytes = [byte[]]::new(4 * $f.Length); [Buffer]::BlockCopy($f, 0, $bytes, 0, $bytes.Length)
                        $Node[$k] = [DpCompress.Core.Serialization.NdArray]::new('<f4', $v.Shape, $bytes)
                    }
                    elseif ($k -eq 'precision') { $Node[$k] = 'float32' }
                    else { ConvertTo-Single $v }
                }
            }
            elseif ($Node -is [Collections.Generic.List[object]]) { foreach ($x in $Node) { ConvertTo-Single $x } }
        }
        ConvertTo-Single $tree
        $m32 = [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::FromTree($tree, $null)
        $m32.Precision | Should -Be 'Float32'
        $out = Join-Path $TestDrive 'f32.dp'
        $m32 | Export-DpModel -LiteralPath $out
        $back = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($out)
        $w = $back['model']['descriptor']['embeddings']['networks'][0]['layers'][1]['@variables']['w']
        $w.DType | Should -Be '<f4'
        $w.ToDoubleArray() | Should -Be $tree['model']['descriptor']['embeddings']['networks'][0]['layers'][1]['@variables']['w'].ToDoubleArray()
        $e64 = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:Model, 1); $e32 = [DpCompress.Core.Inference.Fast.FastEngine]::new((Import-DpModel -LiteralPath $out), 1)
        try { $d = Compare-Engines $e64 $e32 ($script:Configs | Select-Object -First 5) } finally { $e64.Dispose(); $e32.Dispose() }
        $d.Energy | Should -BeLessOrEqual 1e-5
        $d.Energy | Should -BeGreaterThan 0 -Because 'float32 weights round the model'
    }
}
