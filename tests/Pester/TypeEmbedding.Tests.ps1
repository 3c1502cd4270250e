# Type-embedding DP models (PWMLFF `type_embedding`, fixtures/agau_te/README.md): import, type vectors,
# both engines against PWMLFF's own predictions, physics, compression (orders 3 and 5, one table per
# neighbour element), export in PWMLFF's layout, PWMLFF's own compressed file (step bug), bad inputs.
# Data: tests/data/agau_te (PWMLFF's type-embedding Ag-Au model, its compressed file and predictions on
# 8 images) and the 160 Ag-Au PWdata images of tests/data/agau.
BeforeDiscovery {
    $json = Get-Content -Raw (Join-Path $PSScriptRoot '../data/agau_te/reference_original.json') | ConvertFrom-Json
    $script:ReferenceCases = foreach ($kind in 'Reference', 'Fast') {
        foreach ($img in $json.images) { @{ Engine = $kind; System = $img.system; Index = $img.image_index; Image = $img } }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:None = [Threading.CancellationToken]::None
    $script:TePath = Get-TestDataPath 'agau_te/dp_te_model.ckpt'
    $script:PwPath = Get-TestDataPath 'agau_te/cmp_o3_dx0.01.ckpt'
    $script:PwData = Get-TestDataPath 'agau/PWdata'
    $script:Model = Import-DpModel $script:TePath
    $script:Configs = [DpCompress.Core.Structures.PwDataReader]::Read($script:PwData)
    $script:Ref = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model)
    $script:Fast = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:Model, 1)
    $script:O3 = $script:Model | Invoke-DpCompression -Dx 0.01 -Order 3 -Layout Exact   # PWMLFF compress's own grid, compared with its file below
    $script:O5 = $script:Model | Invoke-DpCompression -Dx 0.01 -Order 5 -Layout Exact

    function Get-Config([string] $System, [int] $Index) {
        $c = $script:Configs | Where-Object { $_.Name -eq $System -and $_.Index -eq $Index } | Select-Object -First 1
        if (-not $c) { throw "No configuration $System[$Index]." }
        $c
    }
    function New-Configuration($From, [double[]] $Positions, [double[]] $Cell = $From.Cell) {
        [DpCompress.Core.Structures.Configuration]::new($Cell, $Positions, $From.AtomicNumbers)
    }
    # Reads a checkpoint dict, lets $Edit change it, writes it to $TestDrive and returns the path.
    function New-EditedCheckpoint([string] $Name, [scriptblock] $Edit) {
        $doc = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument($script:TePath)
        & $Edit $doc
        $path = Join-Path $TestDrive $Name
        $null = [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($doc, $path)
        $path
    }
    function Get-TypeEmbeddingSettings($Doc) { $Doc['json_file']['model']['descriptor']['type_embedding'] }
}

AfterAll {
    if ($script:Ref) { $script:Ref.Dispose() }
}

Describe 'Type-embedding DP: import' {
    It 'recognises the flavour, its property list and the one shared net' {
        $Model.Flavour | Should -Be 'PwmlffTypeEmbedding'
        $Model.TypeEmbedding.Properties | Should -Be 'atomic_number', 'atom_radius', 'atom_mass', 'electron_affin', 'pauling'
        $Model.TypeEmbedding.SharedNet.InputWidth | Should -Be 6
        $Model.EmbeddingSizes | Should -Be 25, 25, 25
        $Model.FittingSizes | Should -Be 50, 50, 50, 1
        $Model.ParameterCount | Should -Be 42077
        $Model.TableNets.Count | Should -Be 2
        $Model.AtomTypes | Should -Be 47, 79
        $Model.Checkpoint.Keys | Should -Be 'json_file', 'epoch', 'state_dict', 'davg', 'dstd', 'energy_shift', 'atom_type_order', 'sij_max'
    }
    It 'computes the type vectors of README §4 bit for bit' {
        $expected = @(
            @(0x3FDB425ED097B426, 0x3FE2620AE4C415CA, 0x3FD8DEB94C89404D, 0x3FD7085CB7ACABF0, 0x3FD7FFFFFFFFFFFF),
            @(0x3FE71C71C71C71C7, 0x3FDDF51B3BEA3678, 0x3FE6CD9913FA2050, 0x3FE46DBC38EBE6C4, 0x3FE1F3831F3831F3))
        for ($t = 0; $t -lt 2; $t++) {
            $bits = $Model.TypeEmbedding.TypeVectors[$t] | ForEach-Object { [BitConverter]::DoubleToInt64Bits($_) }
            $bits | Should -Be $expected[$t]
        }
        $Model.TypeEmbedding.TypeVectors[0][4] | Should -Be 0.37499999999999994
    }
    It 'takes every property range over the whole element table (README §4)' -ForEach @(
        @{ P = 'atomic_number'; Min = 1; Max = 109 }, @{ P = 'atom_radius'; Min = 25; Max = 260 },
        @{ P = 'atom_mass'; Min = 1.00794; Max = 276 }, @{ P = 'electron_affin'; Min = 0; Max = 349000 },
        @{ P = 'pauling'; Min = 0.7; Max = 3.98 }, @{ P = 'molar_vol'; Min = 4.39; Max = 70.94 },
        @{ P = 'melting_point'; Min = 0.95; Max = 3800 }, @{ P = 'boiling_point'; Min = 4.22; Max = 5869 }) {
        $r = [DpCompress.Core.Model.ElementProperties]::Range($P)
        $r.Item1 | Should -Be $Min
        $r.Item2 | Should -Be $Max
    }
    It 'finds 75 usable elements for the default list (Z 1-86 except He, Ne, Ar, Kr, Xe, Pm, Eu, Tb, Yb, At, Rn)' {
        $props = [DpCompress.Core.Model.ElementProperties]::DefaultProperties
        $usable = foreach ($z in 1..109) {
            try { $null = [DpCompress.Core.Model.ElementProperties]::TypeVector($props, $z, $null); $z } catch { }
        }
        $usable.Count | Should -Be 75
        $missing = 1..86 | Where-Object { $_ -notin $usable }
        $missing | Should -Be 2, 10, 18, 36, 54, 61, 63, 65, 70, 85, 86
    }
    It 'shows the flavour and its properties in the default view' {
        $text = $Model | Out-String -Width 200
        $text | Should -Match 'Flavour'
        $text | Should -Match 'TE:Z,radius,mass,eaffin,pauling'
        (Import-DpModel (Get-TestDataPath 'agau/dp_model.ckpt') | Out-String -Width 200) | Should -Match '\bDP\b'
    }
    It 'keeps plain DP models plain' {
        $plain = Import-DpModel (Get-TestDataPath 'agau/dp_model.ckpt')
        $plain.Flavour | Should -Be 'PwmlffDp'
        $plain.TypeEmbedding | Should -BeNullOrEmpty
        $plain.TableNets.Count | Should -Be 4
    }
}

Describe 'Type-embedding DP: bad inputs' {
    It 'refuses an unknown property name (TypeEmbeddingUnknownProperty)' {
        $path = New-EditedCheckpoint 'unknown.ckpt' { param($d) (Get-TypeEmbeddingSettings $d)['physical_property'][2] = 'atom_colour' }
        { Import-DpModel $path -ErrorAction Stop } | Should -Throw -ErrorId 'TypeEmbeddingUnknownProperty,DpCompress.PowerShell.Commands.ImportDpModelCommand'
        { Import-DpModel $path -ErrorAction Stop } | Should -Throw '*atom_colour*'
    }
    It 'refuses a model element whose property is NaN or missing, naming both (TypeEmbeddingPropertyMissing)' -ForEach @(
        @{ Z = 2; Symbol = 'He'; Property = 'atom_radius' }, @{ Z = 61; Symbol = 'Pm'; Property = 'pauling' }) {
        $z = $Z
        $path = New-EditedCheckpoint "missing$Z.ckpt" { param($d) $d['json_file']['atom_type'][1] = [long]$z }
        $err = $null
        try { Import-DpModel $path -ErrorAction Stop } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Be 'TypeEmbeddingPropertyMissing,DpCompress.PowerShell.Commands.ImportDpModelCommand'
        $err.Exception.Message | Should -Match "\b$Symbol\b"
        $err.Exception.Message | Should -Match $Property
    }
    It 'refuses a first layer whose width is not 1 + number of properties (TypeEmbeddingInputMismatch)' {
        $path = New-EditedCheckpoint 'width.ckpt' { param($d) (Get-TypeEmbeddingSettings $d)['physical_property'].RemoveAt(4) }
        { Import-DpModel $path -ErrorAction Stop } | Should -Throw -ErrorId 'TypeEmbeddingInputMismatch,DpCompress.PowerShell.Commands.ImportDpModelCommand'
    }
    It 'refuses PWMLFF''s optional extra type net, which PWMLFF itself never applies (TypeEmbeddingNotSupported)' {
        $path = New-EditedCheckpoint 'typenet.ckpt' { param($d)
            $list = [System.Collections.Generic.List[object]]::new(); $list.Add([long]5)
            (Get-TypeEmbeddingSettings $d)['network_size'] = $list }
        { Import-DpModel $path -ErrorAction Stop } | Should -Throw -ErrorId 'TypeEmbeddingNotSupported,DpCompress.PowerShell.Commands.ImportDpModelCommand'
    }
    It 'writes nothing when the import fails' {
        $path = New-EditedCheckpoint 'bad.ckpt' { param($d) (Get-TypeEmbeddingSettings $d)['physical_property'][0] = 'nope' }
        $out = Join-Path $TestDrive 'never.ckpt'
        Import-DpModel $path -ErrorAction SilentlyContinue | Invoke-DpCompression -Dx 0.01 | Export-DpModel -Path $out
        Test-Path $out | Should -BeFalse
    }
    It 'reads a custom property list in any order' {
        $path = New-EditedCheckpoint 'custom.ckpt' { param($d)
            $list = (Get-TypeEmbeddingSettings $d)['physical_property']
            $list[0] = 'pauling'; $list[4] = 'molar_vol' }
        $m = Import-DpModel $path
        $m.TypeEmbedding.Properties | Should -Be 'pauling', 'atom_radius', 'atom_mass', 'electron_affin', 'molar_vol'
        $m.TypeEmbedding.TypeVectors[1][0] | Should -Be ((2.54 - 0.7) / (3.98 - 0.7))
        $m.TypeEmbedding.TypeVectors[0][4] | Should -Be ((10.27 - 4.39) / (70.94 - 4.39))
    }
}

Describe 'Type-embedding DP: engines against PWMLFF''s predictions (reference_original.json)' {
    Context '<Engine> engine, <System>[<Index>]' -ForEach $ReferenceCases {
        BeforeAll {
            $e = if ($Engine -eq 'Reference') { $script:Ref } else { $script:Fast }
            $script:p = $e.Evaluate((Get-Config $System $Index), $null, $null, $script:None)
        }
        It 'E and E_i to 1e-8 eV, forces to 1e-8 eV/A, virial to 1e-8 eV' {
            [math]::Abs($p.Energy - $Image.Etot) | Should -BeLessOrEqual 1e-8
            Get-MaxAbsDiff $p.AtomicEnergies ([double[]]$Image.Ei) | Should -BeLessOrEqual 1e-8
            Get-MaxAbsDiff $p.Forces ([double[]]($Image.forces | ForEach-Object { $_ })) | Should -BeLessOrEqual 1e-8
            Get-MaxAbsDiff $p.Virial ([double[]]$Image.virial) | Should -BeLessOrEqual 1e-8
            [math]::Abs($p.MaxScaledS - $Image.max_sij_scaled) | Should -BeLessOrEqual 1e-9
        }
    }
}

Describe 'Type-embedding DP: physics' {
    Context '<_> engine on Ag10Au14[2]' -ForEach 'Reference', 'Fast' {
        BeforeAll {
            $script:e = if ($_ -eq 'Reference') { $script:Ref } else { $script:Fast }
            $script:c = Get-Config 'Ag10Au14' 2
            $script:p0 = $e.Evaluate($c, $null, $null, $script:None)
        }
        It 'gives forces equal to -dE/dr by central differences (h = 1e-5 A)' {
            $h = 1e-5; $worst = 0.0
            foreach ($q in @(@(0, 0), @(7, 1), @(13, 2), @(23, 0))) {
                $plus = [double[]]$c.Positions.Clone(); $plus[3 * $q[0] + $q[1]] += $h
                $minus = [double[]]$c.Positions.Clone(); $minus[3 * $q[0] + $q[1]] -= $h
                $fd = -($e.Evaluate((New-Configuration $c $plus), $null, $null, $None).Energy - $e.Evaluate((New-Configuration $c $minus), $null, $null, $None).Energy) / (2 * $h)
                $worst = [math]::Max($worst, [math]::Abs($fd - $p0.Forces[3 * $q[0] + $q[1]]))
            }
            $worst | Should -BeLessOrEqual 1e-6
        }
        It 'gives a virial equal to -dE/d(strain) by central differences' {
            $h = 1e-5; $worst = 0.0
            foreach ($ab in @(@(0, 0), @(0, 1), @(2, 1), @(2, 2))) {
                $a = $ab[0]; $b = $ab[1]
                $en = foreach ($sign in 1, -1) {
                    $cell = [double[]]$c.Cell.Clone(); $pos = [double[]]$c.Positions.Clone()
                    for ($r = 0; $r -lt 3; $r++) { $cell[3 * $r + $b] += $sign * $h * $c.Cell[3 * $r + $a] }
                    for ($i = 0; $i -lt $c.AtomCount; $i++) { $pos[3 * $i + $b] += $sign * $h * $c.Positions[3 * $i + $a] }
                    $e.Evaluate((New-Configuration $c $pos $cell), $null, $null, $None).Energy
                }
                $worst = [math]::Max($worst, [math]::Abs(-($en[0] - $en[1]) / (2 * $h) - $p0.Virial[3 * $a + $b]))
            }
            $worst | Should -BeLessOrEqual 1e-6
        }
        It 'is invariant under translation, rotation and permutation' {
            $T = [DpCompress.Core.Structures.ConfigurationTransforms]
            $pt = $e.Evaluate($T::Translate($c, 1.37, -2.11, 0.73), $null, $null, $None)
            [math]::Abs($pt.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-9
            Get-MaxAbsDiff $pt.Forces $p0.Forces | Should -BeLessOrEqual 1e-9
            $rot = $T::RotationMatrix([double[]](1, 2, 3), 0.7)
            $pr = $e.Evaluate($T::Rotate($c, $rot), $null, $null, $None)
            [math]::Abs($pr.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-9
            $worst = 0.0
            for ($i = 0; $i -lt $c.AtomCount; $i++) {
                for ($a = 0; $a -lt 3; $a++) {
                    $f = 0.0; for ($b = 0; $b -lt 3; $b++) { $f += $p0.Forces[3 * $i + $b] * $rot[3 * $a + $b] }
                    $worst = [math]::Max($worst, [math]::Abs($f - $pr.Forces[3 * $i + $a]))
                }
            }
            $worst | Should -BeLessOrEqual 1e-9
            $order = [int[]](($c.AtomCount - 1)..0)
            $pp = $e.Evaluate($T::Permute($c, $order), $null, $null, $None)
            [math]::Abs($pp.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-9
            for ($i = 0; $i -lt $c.AtomCount; $i++) {
                [math]::Abs($pp.AtomicEnergies[$i] - $p0.AtomicEnergies[$order[$i]]) | Should -BeLessOrEqual 1e-10
            }
        }
        It 'gives 8 times the energy and the same forces on a 2x2x2 supercell' {
            $s = [DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($c, 2, 2, 2)
            $ps = $e.Evaluate($s, $null, $null, $None)
            [math]::Abs($ps.Energy - 8 * $p0.Energy) | Should -BeLessOrEqual 1e-8
            $n = $c.AtomCount; $worst = 0.0
            for ($i = 0; $i -lt 3 * $n; $i++) { $worst = [math]::Max($worst, [math]::Abs($ps.Forces[$i] - $p0.Forces[$i])) }
            $worst | Should -BeLessOrEqual 1e-9
        }
    }
}

Describe 'Type-embedding DP: compression' {
    It 'holds one table per neighbour element, [ntypes, rows, m, order+1], on PWMLFF''s grid' {
        $pw = (Import-DpModel $PwPath).Compression
        foreach ($c in $O3, $O5) {
            $t = $c.Compression
            $t.NetCount | Should -Be 2
            $t.Rows | Should -Be 1178
            $t.Width | Should -Be 25
            $t.Coefficients.Length | Should -Be (2 * 1178 * 25 * ($t.Order + 1))
            $t.Grid.SMin | Should -Be $pw.Grid.SMin
            $t.Grid.InnerIntervals | Should -Be 635
            $t.Grid.OuterPoints | Should -Be 544
            $t.Accuracy.CentreType | Should -Be -1, -1
            $t.Accuracy.NeighborType | Should -Be 0, 1
        }
    }
    It 'tracks the net like plain DP tables: TableError ~1e-9 (order 3) and ~1e-14 (order 5) for every element' {
        foreach ($a in $O3.Compression.Accuracy) {
            $a.InnerMaxValueError | Should -BeLessThan 2e-9
            $a.InnerMaxValueError | Should -BeGreaterThan 1e-11
        }
        foreach ($a in $O5.Compression.Accuracy) { $a.InnerMaxValueError | Should -BeLessThan 1e-13 }
        $O3.TableError | Should -BeLessThan 2e-9
        $O5.TableError | Should -BeLessThan 1e-13
    }
    It 'tables equal the shared net fed with [s, v(Z)] (value and dG/ds, by central differences through the (1+P)-input layer)' {
        $eval = [DpCompress.Core.Compression.TableEvaluator]::new($O5.Compression)
        $net = $Model.TypeEmbedding.SharedNet
        # Direct evaluation of the unfolded shared net: x = [s, v], layer by layer (tanh, skip rule by shape, none on layer 0).
        function Invoke-Shared([double[]] $x) {
            for ($l = 0; $l -lt $net.Layers.Count; $l++) {
                $layer = $net.Layers[$l]; $y = [double[]]::new($layer.Outputs)
                for ($o = 0; $o -lt $layer.Outputs; $o++) {
                    $z = 0.0; for ($i = 0; $i -lt $layer.Inputs; $i++) { $z += $x[$i] * $layer.Weight[$i * $layer.Outputs + $o] }
                    $y[$o] = [math]::Tanh($z + $layer.Bias[$o])
                    if ($l -gt 0 -and $layer.Inputs -eq $layer.Outputs) { $y[$o] += $x[$o] }
                }
                $x = $y
            }
            , $x
        }
        $v = [double[]]::new(25); $d = [double[]]::new(25); $worstV = 0.0; $worstD = 0.0
        foreach ($t in 0, 1) {
            foreach ($s in -0.2, 0.5, 1.234, 3.3, 5.9) {
                $null = $eval.Evaluate($t, $s, $v, $d)
                $vec = $Model.TypeEmbedding.TypeVectors[$t]
                $g = Invoke-Shared ([double[]](@($s) + $vec))
                $h = 1e-5
                $gp = Invoke-Shared ([double[]](@($s + $h) + $vec)); $gm = Invoke-Shared ([double[]](@($s - $h) + $vec))
                for ($o = 0; $o -lt 25; $o++) {
                    $worstV = [math]::Max($worstV, [math]::Abs($v[$o] - $g[$o]))
                    $worstD = [math]::Max($worstD, [math]::Abs($d[$o] - ($gp[$o] - $gm[$o]) / (2 * $h)))
                }
            }
        }
        $worstV | Should -BeLessThan 1e-12
        $worstD | Should -BeLessThan 1e-8
    }
    It 'agrees with PWMLFF''s Ag table; PWMLFF''s Au table carries its step bug (~1e-3), ours tracks the net' {
        $pw = (Import-DpModel $PwPath).Compression
        $g = $O3.Compression.Grid
        $pwTable = [DpCompress.Core.Compression.CompressionTable]::new($g, 3, 2, 25, $pw.Coefficients, $null)
        $ours = [DpCompress.Core.Compression.TableEvaluator]::new($O3.Compression)
        $theirs = [DpCompress.Core.Compression.TableEvaluator]::new($pwTable)
        $s = [System.Collections.Generic.List[double]]::new()
        for ($k = 0; $k -lt $g.InnerIntervals; $k += 2) { $s.Add($g.Node($k) + 0.5 * ($g.Node($k + 1) - $g.Node($k))) }
        $s = $s.ToArray()
        $v = [double[]]::new(25); $d = [double[]]::new(25); $pv = [double[]]::new(25); $pd = [double[]]::new(25)
        foreach ($t in 0, 1) {
            $net = [DpCompress.Core.Compression.EmbeddingNetEvaluator]::new($Model.TableNets[$t]).Evaluate($s)
            $oursErr = 0.0; $pwErr = 0.0; $pwDErr = 0.0; $diff = 0.0
            for ($i = 0; $i -lt $s.Length; $i++) {
                $null = $ours.Evaluate($t, $s[$i], $v, $d); $null = $theirs.Evaluate($t, $s[$i], $pv, $pd)
                for ($o = 0; $o -lt 25; $o++) {
                    $y = $net.Value[$i * 25 + $o]
                    $oursErr = [math]::Max($oursErr, [math]::Abs($v[$o] - $y))
                    $pwErr = [math]::Max($pwErr, [math]::Abs($pv[$o] - $y))
                    $pwDErr = [math]::Max($pwDErr, [math]::Abs($pd[$o] - $net.First[$i * 25 + $o]))
                    $diff = [math]::Max($diff, [math]::Abs($v[$o] - $pv[$o]))
                }
            }
            $oursErr | Should -BeLessThan 2e-9
            if ($t -eq 0) { $diff | Should -BeLessThan 1e-10 }
            else {
                $pwErr | Should -BeGreaterThan 5e-4 -Because 'PWMLFF fits the Au table with 10·dx (README §6)'
                $pwDErr | Should -BeGreaterThan 0.1
            }
        }
    }
    It 'order <Order>: compressed vs original on all 160 Ag-Au configurations within <E> eV/atom and <F> eV/A (fast engine)' -ForEach @(
        @{ Order = 3; E = 1e-9; F = 1e-6 }, @{ Order = 5; E = 1e-11; F = 1e-9 }) {
        $c = if ($Order -eq 3) { $O3 } else { $O5 }
        $r = Test-CompressedModel -Model $c -Data $Configs -Detailed -ThrottleLimit 2
        $r.ConfigurationCount | Should -Be 160
        $r.CompressedVsOriginal.MaxEnergyErrorPerAtom | Should -BeLessOrEqual $E
        $r.CompressedVsOriginal.MaxForceError | Should -BeLessOrEqual $F
        $r.Passed | Should -BeTrue
    }
    It 'the reference engine runs the compressed model and agrees with the fast engine' {
        $c = Get-Config 'Ag12Au12' 1
        $refO5 = [DpCompress.Core.Inference.ReferenceEngine]::new($O5)
        try { $a = $refO5.Evaluate($c, $null, $null, $None) } finally { $refO5.Dispose() }
        $b = ([DpCompress.Core.Inference.Fast.FastEngine]::new($O5, 1)).Evaluate($c, $null, $null, $None)
        [math]::Abs($a.Energy - $b.Energy) | Should -BeLessOrEqual 1e-10
        Get-MaxAbsDiff $a.Forces $b.Forces | Should -BeLessOrEqual 1e-10
        $o = $Ref.Evaluate($c, $null, $null, $None)
        [math]::Abs($a.Energy - $o.Energy) | Should -BeLessOrEqual 1e-10
        $a.Compressed | Should -BeTrue
    }
}

Describe 'Type-embedding DP: export and PWMLFF''s compressed file' {
    It 'writes the compress block exactly as PWMLFF lays it out, type_vector as numpy int64 -> numpy float64 scalars' {
        $out = Join-Path $TestDrive 'cmp_te.ckpt'
        $O3 | Export-DpModel -Path $out
        $ours = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument($out)
        $pw = [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument($PwPath)
        @($ours['compress'].Keys) | Should -Be @($pw['compress'].Keys)
        $ours['compress']['table'].Shape | Should -Be 2, 1178, 25, 4
        $ours['compress']['order'] | Should -Be 3
        foreach ($key in 'sij_min', 'sij_len', 'sij_out_len', 'dx') {
            "$($ours['compress'][$key])" | Should -Be "$($pw['compress'][$key])"
        }
        $tvOurs = $ours['compress']['type_vector']; $tvPw = $pw['compress']['type_vector']
        $tvOurs.Count | Should -Be 2
        for ($i = 0; $i -lt 2; $i++) {
            $ko = $tvOurs.Items[$i].Key; $kp = $tvPw.Items[$i].Key
            $ko | Should -BeOfType ([DpCompress.Core.Serialization.NdArray])
            $ko.IsScalar | Should -BeTrue
            $ko.DType | Should -Be $kp.DType
            $ko.ToLongArray()[0] | Should -Be $kp.ToLongArray()[0]
            $vo = $tvOurs.Items[$i].Value; $vp = $tvPw.Items[$i].Value
            $vo.Count | Should -Be 5
            for ($j = 0; $j -lt 5; $j++) {
                $vo[$j].IsScalar | Should -BeTrue
                $vo[$j].DType | Should -Be '<f8'
                [Convert]::ToHexString($vo[$j].Data) | Should -Be ([Convert]::ToHexString($vp[$j].Data))
            }
        }
    }
    It 'round-trips through the reader: same flavour, same table bit for bit, same predictions' {
        $out = Join-Path $TestDrive 'rt.ckpt'
        $O5 | Export-DpModel -Path $out
        $back = Import-DpModel $out
        $back.Flavour | Should -Be 'PwmlffTypeEmbedding'
        $back.Order | Should -Be 5
        $back.Compression.NetCount | Should -Be 2
        [System.Linq.Enumerable]::SequenceEqual($back.Compression.Coefficients, $O5.Compression.Coefficients) | Should -BeTrue
        $c = Get-Config 'Ag45Au3' 0
        $a = ([DpCompress.Core.Inference.Fast.FastEngine]::new($back, 1)).Evaluate($c, $null, $null, $None)
        $b = ([DpCompress.Core.Inference.Fast.FastEngine]::new($O5, 1)).Evaluate($c, $null, $null, $None)
        $a.Energy | Should -Be $b.Energy
        Get-MaxAbsDiff $a.Forces $b.Forces | Should -Be 0
    }
    It 'exports the original model back as a plain type-embedding checkpoint' {
        $out = Join-Path $TestDrive 'orig.ckpt'
        $Model | Export-DpModel -Path $out
        $back = Import-DpModel $out
        $back.IsCompressed | Should -BeFalse
        $back.Flavour | Should -Be 'PwmlffTypeEmbedding'
        @($back.Checkpoint.Keys) | Should -Be @($Model.Checkpoint.Keys)
    }
    It 'imports PWMLFF''s own compressed file, runs it with both engines, and shows PWMLFF''s step bug' {
        $pw = Import-DpModel $PwPath
        $pw.Flavour | Should -Be 'PwmlffTypeEmbedding'
        $pw.IsCompressed | Should -BeTrue
        $pw.Compression.NetCount | Should -Be 2
        $c = Get-Config 'Ag10Au14' 0
        $o = $Fast.Evaluate($c, $null, $null, $None)
        $f = ([DpCompress.Core.Inference.Fast.FastEngine]::new($pw, 1)).Evaluate($c, $null, $null, $None)
        $refPw = [DpCompress.Core.Inference.ReferenceEngine]::new($pw)
        try { $r = $refPw.Evaluate($c, $null, $null, $None) } finally { $refPw.Dispose() }
        [math]::Abs($f.Energy - $r.Energy) | Should -BeLessOrEqual 1e-10
        # The Au table (10·dx step) puts PWMLFF's file far from the original; ours stays at ~1e-10 eV/atom.
        $bug = [math]::Abs($f.Energy - $o.Energy) / $c.AtomCount
        $bug | Should -BeGreaterThan 1e-5
        $mine = [math]::Abs(([DpCompress.Core.Inference.Fast.FastEngine]::new($O3, 1)).Evaluate($c, $null, $null, $None).Energy - $o.Energy) / $c.AtomCount
        $mine | Should -BeLessThan ($bug / 1000)
    }
}

Describe 'Type-embedding DP: PWMLFF''s runtime lookup (SPEC §8) on one-table-per-element files' {
    It 'both engines emulate it alike; PWMLFF''s file gets worse under it, ours stays close to the original' {
        $pw = Import-DpModel $PwPath
        $c = Get-Config 'Ag45Au3' 0
        $o = $Fast.Evaluate($c, $null, $null, $None)
        $f = ([DpCompress.Core.Inference.Fast.FastEngine]::new($pw, 1, 'ClosedForm', 'Pwmlff')).Evaluate($c, $null, $null, $None)
        $refPw = [DpCompress.Core.Inference.ReferenceEngine]::new($pw, 1, 'Pwmlff')
        try { $r = $refPw.Evaluate($c, $null, $null, $None) } finally { $refPw.Dispose() }
        [math]::Abs($f.Energy - $r.Energy) | Should -BeLessOrEqual 1e-9
        Get-MaxAbsDiff $f.Forces $r.Forces | Should -BeLessOrEqual 1e-9
        $ours = ([DpCompress.Core.Inference.Fast.FastEngine]::new($O3, 1, 'ClosedForm', 'Pwmlff')).Evaluate($c, $null, $null, $None)
        [math]::Abs($ours.Energy - $o.Energy) / $c.AtomCount | Should -BeLessThan 1e-5
        [math]::Abs($f.Energy - $o.Energy) / $c.AtomCount | Should -BeGreaterThan (100 * [math]::Abs($ours.Energy - $o.Energy) / $c.AtomCount)
    }
}

Describe 'Type-embedding DP: the default (PWMLFF-runtime) layout' {
    It 'order <Order>: PWMLFF''s runtime lookup and ours agree with the original on Ag10Au14 (all 5 images)' -ForEach @(@{ Order = 3; E = 1e-9; F = 1e-6 }, @{ Order = 5; E = 1e-13; F = 1e-10 }) {
        $cm = $Model | Invoke-DpCompression -Dx 0.01 -Order $Order
        $cm.Compression.NetCount | Should -Be 2
        $cm.Dx | Should -Be 0.0078125
        foreach ($rt in 'DpCompress', 'Pwmlff') {
            $engine = [DpCompress.Core.Inference.Fast.FastEngine]::new($cm, 1, 'ClosedForm', $rt)
            foreach ($i in 0..4) {
                $c = Get-Config 'Ag10Au14' $i
                $a = $Fast.Evaluate($c, $null, $null, $None); $b = $engine.Evaluate($c, $null, $null, $None)
                [math]::Abs($a.Energy - $b.Energy) / $c.AtomCount | Should -BeLessOrEqual $E
                Get-MaxAbsDiff $a.Forces $b.Forces | Should -BeLessOrEqual $F
            }
        }
    }
}

Describe 'Type-embedding DP: every cmdlet takes the flavour' {
    It 'New-SijGrid finds the checkpoint''s sij_max by scanning the training data' {
        $g = New-SijGrid -Model $Model -TrainingData $PwData
        $g.Source | Should -Be 'TrainingData'
        [math]::Abs($g.RawSijMax - $Model.SijMax) | Should -BeLessThan 1e-12
        $c = $Model | Invoke-DpCompression -Grid $g -Order 3
        $c.Compression.NetCount | Should -Be 2
    }
    It 'Invoke-DpModel gives the engines'' numbers (<_>)' -ForEach 'Fast', 'Reference' {
        $c = Get-Config 'Ag12Au12' 0
        $p = Invoke-DpModel -Model $Model -Configuration $c -Engine $_
        $q = $script:Fast.Evaluate($c, $null, $null, $None)
        [math]::Abs($p.Energy - $q.Energy) | Should -BeLessOrEqual 1e-10
        Get-MaxAbsDiff $p.Forces $q.Forces | Should -BeLessOrEqual 1e-10
    }
    It 'Test-CompressedModel compares both models with DFT' {
        $few = @($Configs | Where-Object Name -eq 'Ag45Au3')
        $r = Test-CompressedModel -Model $O3 -Data $few -Detailed
        $r.Passed | Should -BeTrue
        $r.CompressedVsDft.Count | Should -Be $few.Count
        $r.OriginalVsDft.MaxEnergyErrorPerAtom | Should -BeGreaterThan 1e-4
        [math]::Abs($r.CompressedVsDft.MaxEnergyErrorPerAtom - $r.OriginalVsDft.MaxEnergyErrorPerAtom) | Should -BeLessThan 1e-8
        Test-CompressedModel -Model $O3 -Reference $Model -Data $few | Should -BeTrue
    }
    It 'a sweep over order and dx charts the error (Export-DpChart ErrorVsDx) and Measure-DpInference times both models' {
        $few = @($Configs | Where-Object Name -eq 'Ag45Au3')
        $sweep = foreach ($o in 3, 5) { foreach ($dx in 0.1, 0.01) { $Model | Invoke-DpCompression -Order $o -Dx $dx | Test-CompressedModel -Data $few -Detailed } }
        $sweep.Count | Should -Be 4
        ($sweep | Where-Object { $_.Order -eq 5 -and $_.Dx -eq 0.01 }).MaxForceError | Should -BeLessThan 1e-9
        $png = Join-Path $TestDrive 'te-error-vs-dx.png'
        $sweep | Export-DpChart -Path $png -Kind ErrorVsDx -ErrorProperty MaxForceError
        (Get-Item $png).Length | Should -BeGreaterThan 1000
        $t = Measure-DpInference -Model $Model, $O3 -Data $few[0] -Engine Fast -Repeat 1 -Warmup 0 -ThrottleLimit 1
        @($t).Count | Should -Be 2
        ($t | Where-Object Compressed).ModelMs | Should -BeGreaterThan 0
        $chart = Join-Path $TestDrive 'te-phases.png'
        $t | Export-DpChart -Path $chart -Kind PhaseBreakdown
        (Get-Item $chart).Length | Should -BeGreaterThan 1000
    }
}
