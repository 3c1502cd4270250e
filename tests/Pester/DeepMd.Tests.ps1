# DeePMD-kit se_e2_a models (fixtures/deepmd README): reading .dp/.yaml, DeePMD-kit's conventions in the
# reference engine, refusals of malformed and unsupported inputs.
# Data: tests/data/deepmd (a genuine DeePMD-kit model as .dp and .yaml, DeePMD-kit's own compressed file, and
# DeePMD-kit's forward on six configurations in refs_se_e2_a_agau.json).
BeforeDiscovery {
    $json = Get-Content -Raw (Join-Path $PSScriptRoot '../data/deepmd/refs_se_e2_a_agau.json') | ConvertFrom-Json
    $script:RefCases = @($json.images | ForEach-Object { @{ System = $_.system; Image = $_ } })
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:None = [Threading.CancellationToken]::None
    $script:DpPath = Get-TestDataPath 'deepmd/se_e2_a_agau.dp'
    $script:YamlPath = Get-TestDataPath 'deepmd/se_e2_a_agau.yaml'
    $script:Model = Import-DpModel -LiteralPath $script:DpPath
    $script:Engine = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Model)
    $script:Refs = (Get-Content -Raw (Get-TestDataPath 'deepmd/refs_se_e2_a_agau.json') | ConvertFrom-Json).images

    function New-RefConfiguration($Image) {
        [DpCompress.Core.Structures.Configuration]::new([double[]]$Image.box, [double[]]($Image.coord | ForEach-Object { $_ }), [int[]]$Image.atomic_numbers)
    }
    function Invoke-Engine($Engine, $Configuration) { $Engine.Evaluate($Configuration, $null, $null, $script:None) }
    # Largest |F + dE/dr| over the given atoms' components, dE/dr by central differences (step h, Å).
    function Get-FdForceError($Engine, $Configuration, [int[]] $Atoms, $Forces, [double] $H = 1e-5) {
        $worst = 0.0
        foreach ($atom in $Atoms) {
            foreach ($d in 0..2) {
                $plus = [double[]]$Configuration.Positions.Clone(); $plus[3 * $atom + $d] += $H
                $minus = [double[]]$Configuration.Positions.Clone(); $minus[3 * $atom + $d] -= $H
                $fd = -((Invoke-Engine $Engine (New-Configuration $Configuration $plus)).Energy - (Invoke-Engine $Engine (New-Configuration $Configuration $minus)).Energy) / (2 * $H)
                $worst = [math]::Max($worst, [math]::Abs($fd - $Forces[3 * $atom + $d]))
            }
        }
        $worst
    }
    function New-Configuration($From, [double[]] $Positions, [double[]] $Cell = $From.Cell) {
        [DpCompress.Core.Structures.Configuration]::new($Cell, $Positions, $From.AtomicNumbers)
    }
    function Get-ErrorId([scriptblock] $Script) {
        try { & $Script; return '<no error>' }
        catch {
            $e = $_.Exception; $innermost = $e
            while ($e -and -not ($e -is [DpCompress.Core.DpCompressException])) { $innermost = $e; $e = $e.InnerException }
            if ($e) { return $e.ErrorId }
            return $innermost.GetType().Name
        }
    }
    # Replaces the first occurrence of the ASCII string $Find in a copy of $Source by $Replace (same length).
    function New-PatchedCopy([string] $Source, $Find, $Replace, [string] $Name) {
        $bytes = [IO.File]::ReadAllBytes($Source)
        $needle = if ($Find -is [string]) { [Text.Encoding]::ASCII.GetBytes($Find) } else { [byte[]]$Find }
        $at = -1
        for ($i = 0; $i -le $bytes.Length - $needle.Length -and $at -lt 0; $i++) {
            if ($bytes[$i] -ne $needle[0]) { continue }
            $ok = $true
            for ($k = 1; $k -lt $needle.Length; $k++) { if ($bytes[$i + $k] -ne $needle[$k]) { $ok = $false; break } }
            if ($ok) { $at = $i }
        }
        if ($at -lt 0) { throw "The patch pattern was not found in $Source" }
        $repl = if ($Replace -is [string]) { [Text.Encoding]::ASCII.GetBytes($Replace) } else { [byte[]]$Replace }
        [Array]::Copy($repl, 0, $bytes, $at, $repl.Length)
        $path = Join-Path $TestDrive $Name
        [IO.File]::WriteAllBytes($path, $bytes)
        $path
    }
    # The dataspace dims of davg (2, 156, 4) as three little-endian uint64, to patch into a huge declared size.
    # The fixture model with sel [8, 8] (davg/dstd cut to the first 16 slots of each type): truncated blocks.
    function New-SelTruncatedModel {
        $tree = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpPath)
        $d = $tree['model']['descriptor']
        $d['sel'] = [Collections.Generic.List[object]]@([long]8, [long]8)
        foreach ($key in 'davg', 'dstd') {
            $old = $d['@variables'][$key].ToDoubleArray()
            $new = [double[]]::new(2 * 16 * 4)
            for ($t = 0; $t -lt 2; $t++) { for ($s = 0; $s -lt 16; $s++) { for ($q = 0; $q -lt 4; $q++) { $new[($t * 16 + $s) * 4 + $q] = $old[($t * 156) * 4 + $q] } } }
            $d['@variables'][$key] = [DpCompress.Core.Serialization.NdArray]::FromDoubles($new, [long[]](2, 16, 4))
        }
        [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::FromTree($tree, $null)
    }
    function Get-DimsPattern([long[]] $Dims) { [byte[]]@($Dims | ForEach-Object { [BitConverter]::GetBytes([uint64]$_) }) }
}

AfterAll {
    if ($script:Engine) { $script:Engine.Dispose() }
}

Describe 'Import-DpModel on DeePMD-kit models' {
    It 'reads the .dp file as a DeePMD-kit se_e2_a model' {
        $m = $script:Model
        $m.Flavour | Should -Be 'DeepMdSeE2A'
        $m.AtomTypes | Should -Be @(47, 79)
        $m.Rmax | Should -Be 6.0
        $m.Rmin | Should -Be 2.0
        $m.M2 | Should -Be 12
        $m.EmbeddingSizes | Should -Be @(25, 25, 25)
        $m.FittingSizes | Should -Be @(50, 50, 50, 1)
        $m.Conventions.Sel | Should -Be @(60, 96)
        $m.MaxNeighbors | Should -Be 96
        $m.Conventions.Name | Should -Be 'DeePMD-kit'
        $m.IsCompressed | Should -BeFalse
    }
    It 'shows the flavour in the default view' {
        ($script:Model | Out-String -Width 400) | Should -Match 'DeePMD se_e2_a'
    }
    It 'reads the .yaml file into the same model (every weight bit-identical)' {
        $y = Import-DpModel -LiteralPath $script:YamlPath
        $y.Flavour | Should -Be 'DeepMdSeE2A'
        $diff = 0
        for ($k = 0; $k -lt 4; $k++) {
            for ($l = 0; $l -lt 3; $l++) {
                $a = $script:Model.EmbeddingNets[$k].Layers[$l]; $b = $y.EmbeddingNets[$k].Layers[$l]
                $diff += @(Compare-Object $a.Weight $b.Weight -SyncWindow 0).Count + @(Compare-Object $a.Bias $b.Bias -SyncWindow 0).Count
            }
        }
        for ($t = 0; $t -lt 2; $t++) {
            for ($l = 0; $l -lt 4; $l++) {
                $a = $script:Model.FittingNets[$t].Layers[$l]; $b = $y.FittingNets[$t].Layers[$l]
                $diff += @(Compare-Object $a.Weight $b.Weight -SyncWindow 0).Count
                if ($a.ResnetDt) { $diff += @(Compare-Object $a.ResnetDt $b.ResnetDt -SyncWindow 0).Count }
            }
        }
        $diff | Should -Be 0
        $y.Davg | Should -Be $script:Model.Davg
        $y.Dstd | Should -Be $script:Model.Dstd
        $y.EnergyShift | Should -Be $script:Model.EnergyShift
    }
    It 'maps DeePMD-kit''s net index (neighbour*nt + centre) onto ours (centre*nt + neighbour)' {
        $tree = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpPath)
        $nets = $tree['model']['descriptor']['embeddings']['networks']
        # Ours: k = 1 is (centre Ag, neighbour Au); DeePMD-kit: networks[1*2 + 0] = networks[2].
        $w = $nets[2]['layers'][0]['@variables']['w'].ToDoubleArray()
        $script:Model.EmbeddingNets[1].Layers[0].Weight | Should -Be $w
        $w1 = $nets[1]['layers'][0]['@variables']['w'].ToDoubleArray()
        $script:Model.EmbeddingNets[2].Layers[0].Weight | Should -Be $w1
    }
    It 'keeps the layer flags: idt on the residual fitting layers only, no skip on the first fitting layer' {
        $f = $script:Model.FittingNets[0].Layers
        $f[0].ResnetDt | Should -BeNullOrEmpty
        $f[1].ResnetDt.Count | Should -Be 50
        $f[1].Skip | Should -Be 'Identity'
        $f[3].Skip | Should -Be 'None'
        $script:Model.EmbeddingNets[0].Layers[1].Skip | Should -Be 'Identity'
    }
    It 'puts bias_atom_e + out_bias into the per-type energy bias' {
        $script:Model.Conventions.AtomEnergyBias(0) | Should -Be (-2.950208423764557)
        $script:Model.Conventions.AtomEnergyBias(1) | Should -Be (-3.4617523937802277)
    }
}

Describe 'ReferenceEngine on a DeePMD-kit model' {
    Context 'DeePMD-kit''s own forward (refs_se_e2_a_agau.json)' -ForEach $RefCases {
        BeforeAll {
            $script:p = Invoke-Engine $script:Engine (New-RefConfiguration $Image)
        }
        It 'reproduces E and E_i of <System> to 1e-10 eV' {
            [math]::Abs($p.Energy - $Image.energy) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.AtomicEnergies ([double[]]$Image.atom_energy) | Should -BeLessOrEqual 1e-10
        }
        It 'reproduces the forces of <System> to 1e-10 eV/A' {
            Get-MaxAbsDiff $p.Forces ([double[]]($Image.forces | ForEach-Object { $_ })) | Should -BeLessOrEqual 1e-10
        }
        It 'reproduces the virial of <System> to 1e-10 eV' {
            Get-MaxAbsDiff $p.Virial ([double[]]$Image.virial) | Should -BeLessOrEqual 1e-10
        }
    }

    Context 'physics on Ag10Au14 (periodic, one cell vector 3.91 A)' {
        BeforeAll {
            $script:c = New-RefConfiguration $script:Refs[0]
            $script:p0 = Invoke-Engine $script:Engine $c
        }
        It 'gives forces equal to -dE/dr by central differences (h = 1e-5 A)' {
            $worst = Get-FdForceError $script:Engine $c @(0, 9, 17) $p0.Forces
            $worst | Should -BeLessOrEqual 1e-8
        }
        It 'is invariant under translation and rotation' {
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Translate($c, 1.37, -2.11, 0.73))
            [math]::Abs($p.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.Forces $p0.Forces | Should -BeLessOrEqual 1e-11
            $R = [DpCompress.Core.Structures.ConfigurationTransforms]::RotationMatrix([double[]](0.3, -0.5, 0.8), 0.9)
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Rotate($c, $R))
            [math]::Abs($p.Energy - $p0.Energy) | Should -BeLessOrEqual 1e-10
        }
        It 'permutes energies and forces with the atoms' {
            $order = [int[]](0..($c.AtomCount - 1) | Sort-Object { ($_ * 7919) % 24 })
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Permute($c, $order))
            $worstE = 0.0
            for ($k = 0; $k -lt $order.Count; $k++) { $worstE = [math]::Max($worstE, [math]::Abs($p.AtomicEnergies[$k] - $p0.AtomicEnergies[$order[$k]])) }
            $worstE | Should -BeLessOrEqual 1e-12
        }
        It 'gives 2 times the energy for a 2x1x1 supercell (sel truncation included)' {
            $p = Invoke-Engine $script:Engine ([DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($c, 2, 1, 1))
            [math]::Abs($p.Energy - 2 * $p0.Energy) | Should -BeLessOrEqual 1e-9
            $worst = 0.0
            for ($q = 0; $q -lt $p.Forces.Length; $q++) { $worst = [math]::Max($worst, [math]::Abs($p.Forces[$q] - $p0.Forces[$q % $p0.Forces.Length])) }
            $worst | Should -BeLessOrEqual 1e-11
        }
    }

    Context 'sel truncation (a copy of the model with sel [8, 8])' {
        BeforeAll {
            $script:Small = New-SelTruncatedModel
            $script:SmallEngine = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Small)
            $script:c = New-RefConfiguration $script:Refs[1]
        }
        AfterAll { $script:SmallEngine.Dispose() }
        It 'keeps the nearest sel[t] neighbours of each type' {
            $nl = [DpCompress.Core.Neighbors.ModelNeighbors]::Build($c, $script:Small)
            $full = [DpCompress.Core.Neighbors.NeighborSearch]::Build($c, $script:Small.AtomTypes, 6.0, 400)
            foreach ($i in 0, 5, 23) {
                foreach ($t in 0, 1) {
                    $nl.Count($i, $t) | Should -Be 8
                    $kept = foreach ($q in 0..7) { $s = $nl.Slot($i, $t, $q); [math]::Sqrt($nl.Delta[3 * $s] * $nl.Delta[3 * $s] + $nl.Delta[3 * $s + 1] * $nl.Delta[3 * $s + 1] + $nl.Delta[3 * $s + 2] * $nl.Delta[3 * $s + 2]) }
                    $all = foreach ($q in 0..($full.Count($i, $t) - 1)) { $s = $full.Slot($i, $t, $q); [math]::Sqrt($full.Delta[3 * $s] * $full.Delta[3 * $s] + $full.Delta[3 * $s + 1] * $full.Delta[3 * $s + 1] + $full.Delta[3 * $s + 2] * $full.Delta[3 * $s + 2]) }
                    $kept | Should -Be @($all | Sort-Object | Select-Object -First 8)
                }
            }
        }
        It 'NeighborListBuffer rebuilds the truncated list in place and equals a fresh build at every step (rattled, resized, after an error)' {
            $rng = [Random]::new(7)
            $rattle = { param($from, [double] $amp) $p = [double[]]$from.Positions.Clone(); for ($q = 0; $q -lt $p.Length; $q++) { $p[$q] += $amp * (2 * $rng.NextDouble() - 1) }; New-Configuration $from $p }
            # Copper is no type of the model: the search throws after the buffer has been used.
            $bad = [DpCompress.Core.Structures.Configuration]::new($c.Cell, $c.Positions, [int[]]@($c.AtomicNumbers | ForEach-Object { 29 }))
            # Squeezed to 60 %: blocks of more than 64 neighbours, so the complete search grows its K, then shrinks back.
            $squeezed = [DpCompress.Core.Structures.Configuration]::new([double[]]($c.Cell | ForEach-Object { 0.6 * $_ }), [double[]]($c.Positions | ForEach-Object { 0.6 * $_ }), $c.AtomicNumbers)
            $steps = @($c, (& $rattle $c 0.3), (& $rattle $c 0.6), $bad, (& $rattle $c 0.3), $squeezed, (& $rattle $c 0.2),
                [DpCompress.Core.Structures.ConfigurationTransforms]::Supercell($c, 2, 1, 1), (& $rattle $c 0.5), $c)
            foreach ($m in $script:Small, $script:Model) {
                $buffer = [DpCompress.Core.Neighbors.NeighborListBuffer]::new()
                $failures = 0; $shared = 0; $previous = $null; $countChanges = 0; $lastCounts = $null
                foreach ($step in $steps) {
                    try { $nl = $buffer.Build($step, $m) }
                    catch {
                        $e = $_.Exception; while ($e -and $e -isnot [DpCompress.Core.DpCompressException]) { $e = $e.InnerException }
                        $e.ErrorId | Should -Be 'UnknownElement'
                        $failures++; continue
                    }
                    $fresh = [DpCompress.Core.Neighbors.ModelNeighbors]::Build($step, $m)
                    [Linq.Enumerable]::SequenceEqual([int[]]$nl.Counts, [int[]]$fresh.Counts) | Should -BeTrue
                    [Linq.Enumerable]::SequenceEqual([int[]]$nl.Neighbor, [int[]]$fresh.Neighbor) | Should -BeTrue
                    [Linq.Enumerable]::SequenceEqual([double[]]$nl.Delta, [double[]]$fresh.Delta) | Should -BeTrue
                    if ($previous -and [object]::ReferenceEquals($previous, $nl.Delta)) { $shared++ }
                    if ($lastCounts -and $lastCounts.Length -eq $nl.Counts.Length -and -not [Linq.Enumerable]::SequenceEqual([int[]]$lastCounts, [int[]]$nl.Counts)) { $countChanges++ }
                    $previous = $nl.Delta; $lastCounts = [int[]]$nl.Counts.Clone()
                }
                $failures | Should -Be 1
                $shared | Should -BeGreaterOrEqual 5 -Because 'steps of one cell size rebuild in the same arrays'
                $most = 0; foreach ($n in [DpCompress.Core.Neighbors.NeighborSearch]::Build($squeezed, $m.AtomTypes, 6.0, 1024).Counts) { $most = [math]::Max($most, $n) }
                $most | Should -BeGreaterThan 64 -Because 'the squeezed step must make the complete search grow'
                if ($m -eq $script:Model) { $countChanges | Should -BeGreaterOrEqual 2 -Because 'rattling changes block counts, so reused blocks shrink and grow' }
            }
        }
        It 'gives forces equal to -dE/dr by central differences with truncated blocks' {
            $p0 = Invoke-Engine $script:SmallEngine $c
            $worst = Get-FdForceError $script:SmallEngine $c @(0, 11) $p0.Forces
            $worst | Should -BeLessOrEqual 1e-8
            [math]::Abs($p0.Energy - (Invoke-Engine $script:Engine $c).Energy) | Should -BeGreaterThan 1e-3 -Because 'dropping neighbours changes the descriptor'
        }
    }
}

Describe 'FastEngine on a DeePMD-kit model' {
    BeforeAll {
        $script:Fast = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:Model, 2)
    }
    Context 'DeePMD-kit''s own forward (refs_se_e2_a_agau.json)' -ForEach $RefCases {
        It 'reproduces E, E_i, forces and virial of <System> to 1e-10' {
            $p = Invoke-Engine $script:Fast (New-RefConfiguration $Image)
            $p.Engine | Should -Be 'Fast'
            [math]::Abs($p.Energy - $Image.energy) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.AtomicEnergies ([double[]]$Image.atom_energy) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.Forces ([double[]]($Image.forces | ForEach-Object { $_ })) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.Virial ([double[]]$Image.virial) | Should -BeLessOrEqual 1e-10
        }
    }
    It 'equals the reference engine with truncated blocks (sel [8, 8]) and on a compressed model' {
        $small = New-SelTruncatedModel
        $compressed = Import-DpModel -LiteralPath (Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp')
        foreach ($m in $small, $compressed) {
            $ref = [DpCompress.Core.Inference.ReferenceEngine]::new($m); $fast = [DpCompress.Core.Inference.Fast.FastEngine]::new($m, 2)
            try {
                foreach ($img in $script:Refs) {
                    $c = New-RefConfiguration $img
                    $p = Invoke-Engine $ref $c; $q = Invoke-Engine $fast $c
                    [math]::Abs($p.Energy - $q.Energy) | Should -BeLessOrEqual 1e-11
                    Get-MaxAbsDiff $p.Forces $q.Forces | Should -BeLessOrEqual 1e-12
                    Get-MaxAbsDiff $p.Virial $q.Virial | Should -BeLessOrEqual 1e-11
                }
            } finally { $ref.Dispose(); $fast.Dispose() }
        }
    }
    It 'is timed by Measure-DpInference (original and DeePMD-kit''s compressed model)' {
        $cmp = Import-DpModel -LiteralPath (Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp')
        $t = @(Measure-DpInference -Model $script:Model, $cmp -Data (New-RefConfiguration $script:Refs[4]) -Repeat 1 -Warmup 0 -ThrottleLimit 1)
        $t.Count | Should -Be 2
        $t[1].Compressed | Should -BeTrue
        $t | ForEach-Object { $_.ModelMs | Should -BeGreaterThan 0 }
    }
    It 'runs as the default engine of Invoke-DpModel' {
        $c = New-RefConfiguration $script:Refs[4]
        $p = Invoke-DpModel -Model $script:Model -Configuration $c
        [math]::Abs($p.Energy - $script:Refs[4].energy) | Should -BeLessOrEqual 1e-10
    }
}

Describe 'DeePMD-kit inputs that are malformed or not supported' {
    Context 'tree-level refusals' -ForEach @(
        @{ Case = 'descriptor se_atten'; Id = 'DeepMdDescriptorNotSupported'; Edit = { param($t) $t['model']['descriptor']['type'] = 'se_atten' } }
        @{ Case = 'descriptor hybrid'; Id = 'DeepMdDescriptorNotSupported'; Edit = { param($t) $t['model']['descriptor']['type'] = 'hybrid' } }
        @{ Case = 'model type zbl'; Id = 'DeepMdModelNotSupported'; Edit = { param($t) $t['model']['type'] = 'zbl' } }
        @{ Case = 'fparam'; Id = 'DeepMdModelNotSupported'; Edit = { param($t) $t['model']['fitting']['numb_fparam'] = [long]2 } }
        @{ Case = 'dipole fitting'; Id = 'DeepMdFittingNotSupported'; Edit = { param($t) $t['model']['fitting']['type'] = 'dipole' } }
        @{ Case = 'gelu activation'; Id = 'DeepMdActivationNotSupported'; Edit = { param($t) $t['model']['descriptor']['embeddings']['networks'][0]['layers'][1]['activation_function'] = 'gelu' } }
        @{ Case = 'exclude_types beyond the types'; Id = 'DeepMdInvalidValue'; Edit = { param($t) $t['model']['descriptor']['exclude_types'] = [Collections.Generic.List[object]]@(, [Collections.Generic.List[object]]@([long]0, [long]5)) } }
        @{ Case = 'missing rcut'; Id = 'DeepMdMissingKey'; Edit = { param($t) $null = $t['model']['descriptor'].Remove('rcut') } }
        @{ Case = 'missing fitting'; Id = 'DeepMdMissingKey'; Edit = { param($t) $null = $t['model'].Remove('fitting') } }
        @{ Case = 'sel not matching davg'; Id = 'DeepMdShapeMismatch'; Edit = { param($t) $t['model']['descriptor']['sel'] = [Collections.Generic.List[object]]@([long]60, [long]90) } }
        @{ Case = 'wrong weight shape'; Id = 'DeepMdShapeMismatch'; Edit = { param($t) $t['model']['descriptor']['embeddings']['networks'][3]['layers'][1]['@variables']['w'] = [DpCompress.Core.Serialization.NdArray]::FromDoubles([double[]]::new(50), [long[]](25, 2)) } }
        @{ Case = 'three embedding nets'; Id = 'DeepMdShapeMismatch'; Edit = { param($t) $t['model']['descriptor']['embeddings']['networks'].RemoveAt(3) } }
        @{ Case = 'unknown element'; Id = 'DeepMdUnknownElement'; Edit = { param($t) $t['model']['type_map'][1] = 'Xx' } }
        @{ Case = 'sel as text'; Id = 'DeepMdInvalidValue'; Edit = { param($t) $t['model']['descriptor']['sel'] = 'auto' } }
    ) {
        It 'refuses <Case> with <Id>' {
            $tree = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpPath)
            & $Edit $tree
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::FromTree($tree, 'x.dp') } | Should -Be $Id
        }
    }

    Context 'file-level refusals' {
        It 'refuses a json attribute that is not JSON (DeepMdJsonInvalid)' {
            $bad = New-PatchedCopy $script:DpPath '{"software"' 'X"software"' 'notjson.dp'
            { Import-DpModel -LiteralPath $bad -ErrorAction Stop } | Should -Throw -ErrorId 'DeepMdJsonInvalid,DpCompress.PowerShell.Commands.ImportDpModelCommand'
        }
        It 'refuses an array that the json names but the file lacks (DeepMdArrayMissing)' {
            $bad = New-PatchedCopy $script:DpPath '"/variable_0003"' '"/variable_9993"' 'missing.dp'
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdArrayMissing'
        }
        It 'refuses an HDF5 file without the json attribute (DeepMdJsonMissing)' {
            $bad = New-PatchedCopy $script:DpPath "json`0" "jsox`0" 'nojson.dp'
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdJsonMissing'
        }
        It 'refuses a dataset that declares a huge size (DeepMdArrayTooLarge)' {
            $bad = New-PatchedCopy $script:DpPath (Get-DimsPattern 2, 156, 4) (Get-DimsPattern 2, 156000000000, 4) 'huge.dp'
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdArrayTooLarge'
        }
        It 'refuses a json that names one large dataset many times, before reading it again and again (DeepMdArrayTooLarge)' {
            # DeePMD-kit's compressed file with every array name replaced by that of its first compress_data table
            # (same length, so the HDF5 structure is unchanged): 56 copies of a 1.8 MB dataset from a 7.6 MB file.
            $bytes = [IO.File]::ReadAllBytes((Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp'))
            $latin1 = [Text.Encoding]::Latin1
            $text = $latin1.GetString($bytes)
            $big = [regex]::Match($text, '"compress_data":\s*\["(/variable_\d{4})"').Groups[1].Value
            $big | Should -Match '^/variable_\d{4}$'
            $patched = [regex]::Replace($text, '"/variable_\d{4}"', '"' + $big + '"')
            $bad = Join-Path $TestDrive 'amplify.dp'
            [IO.File]::WriteAllBytes($bad, $latin1.GetBytes($patched))
            $before = [GC]::GetAllocatedBytesForCurrentThread()
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($bad) } | Should -Be 'DeepMdArrayTooLarge'
            [GC]::GetAllocatedBytesForCurrentThread() - $before | Should -BeLessThan 64MB
        }
        It 'refuses a file that is not HDF5 (DeepMdFileCorrupt)' {
            $bad = Join-Path $TestDrive 'text.dp'
            Set-Content -LiteralPath $bad -Value 'not an HDF5 file'
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdFileCorrupt'
        }
        It 'refuses a truncated .dp (DeepMdFileCorrupt)' {
            $bytes = [IO.File]::ReadAllBytes($script:DpPath)
            $bad = Join-Path $TestDrive 'trunc.dp'
            [IO.File]::WriteAllBytes($bad, $bytes[0..4095])
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -BeIn @('DeepMdFileCorrupt', 'DeepMdArrayTooLarge')
        }
        It 'refuses YAML that is not a mapping, ragged arrays and python tags' {
            $bad = Join-Path $TestDrive 'list.yaml'; Set-Content -LiteralPath $bad -Value '- 1'
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdFileCorrupt'
            $bad = Join-Path $TestDrive 'ragged.yaml'
            Set-Content -LiteralPath $bad -Value "model:`n  '@variables':`n    out_bias:`n      '@class': np.ndarray`n      dtype: float64`n      value: [[1.0, 2.0], [3.0]]"
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdArrayInvalid'
            $bad = Join-Path $TestDrive 'tag.yaml'; Set-Content -LiteralPath $bad -Value "model: !!python/object:os.system {}"
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdYamlUnsupported'
            $bad = Join-Path $TestDrive 'broken.yaml'; Set-Content -LiteralPath $bad -Value "model: [1, 2"
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdFileCorrupt'
        }
        It 'refuses a YAML alias bomb at import, before a writer would expand it (DeepMdTreeTooLarge); shared anchors stay readable' {
            # The genuine model plus 40 lines, each a list of two aliases of the line before: 2^40 nodes to anything
            # that walks the tree. Export-DpModel of such a model used to run out of memory after 26 s.
            $text = Get-Content -Raw -LiteralPath $script:YamlPath
            $lines = @('bomb0: &b0 [1.0, 2.0]') + @(1..40 | ForEach-Object { "bomb${_}: &b${_} [*b$($_ - 1), *b$($_ - 1)]" })
            $bomb = Join-Path $TestDrive 'bomb.yaml'
            Set-Content -LiteralPath $bomb -Value ($text.TrimEnd() + "`n" + ($lines -join "`n"))
            $sw = [Diagnostics.Stopwatch]::StartNew()
            { Import-DpModel -LiteralPath $bomb -ErrorAction Stop } | Should -Throw -ErrorId 'DeepMdTreeTooLarge,DpCompress.PowerShell.Commands.ImportDpModelCommand'
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 10
            # A few aliases of a shared list (as PyYAML writes an object that appears twice) are read, and written back expanded.
            $shared = Join-Path $TestDrive 'shared.yaml'
            Set-Content -LiteralPath $shared -Value ($text.TrimEnd() + "`nextra_a: &s [Ag, Au]`nextra_b: *s`nextra_c: [*s, *s]")
            $m = Import-DpModel -LiteralPath $shared
            $m.Checkpoint['extra_c'][1][1] | Should -Be 'Au'
            $out = Join-Path $TestDrive 'shared_out.yaml'
            $m | Export-DpModel -LiteralPath $out
            (Import-DpModel -LiteralPath $out).Checkpoint['extra_b'][0] | Should -Be 'Ag'
        }
        It 'refuses a YAML model with a key missing (DeepMdMissingKey)' {
            $text = Get-Content -Raw -LiteralPath $script:YamlPath
            $bad = Join-Path $TestDrive 'nosel.yaml'
            Set-Content -LiteralPath $bad -Value ($text -replace '(?m)^    sel:', '    selx:')
            Get-ErrorId { [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::Read($bad) } | Should -Be 'DeepMdMissingKey'
        }
    }
}

Describe 'type_one_side models' {
    It 'evaluates networks[t_j] for every centre type, before and after compression' {
        # One-sided nets [n0, n1] equal two-sided nets [n0, n0, n1, n1] (DeePMD-kit index neighbour*nt + centre).
        $one = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpPath)
        $nets = $one['model']['descriptor']['embeddings']['networks']
        $n0 = $nets[0]; $n1 = $nets[2]
        $one['model']['descriptor']['type_one_side'] = $true
        $one['model']['descriptor']['embeddings']['ndim'] = [long]1
        $one['model']['descriptor']['embeddings']['networks'] = [Collections.Generic.List[object]]@($n0, $n1)
        $two = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpPath)
        $two['model']['descriptor']['embeddings']['networks'] = [Collections.Generic.List[object]]@($n0, $n0, $n1, $n1)
        $m1 = [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::FromTree($one, $null)
        $m2 = [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::FromTree($two, $null)
        $c1 = $m1 | Invoke-DpCompression -MinNeighborDistance 2.1721185693495006 -Dx 0.02
        $c1.Checkpoint['model']['descriptor']['compress']['@variables']['compress_data'].Count | Should -Be 2
        $out = Join-Path $TestDrive 'oneside.dp'
        $c1 | Export-DpModel -LiteralPath $out
        $back = Import-DpModel -LiteralPath $out
        $cfg = New-RefConfiguration $script:Refs[1]
        $p2 = Invoke-Engine $script:Engine $cfg
        $f2 = [DpCompress.Core.Inference.Fast.FastEngine]::new($m2, 1)
        $ref2 = Invoke-Engine $f2 $cfg
        foreach ($m in $m1, $back) {
            $f = [DpCompress.Core.Inference.Fast.FastEngine]::new($m, 1)
            $p = Invoke-Engine $f $cfg
            [math]::Abs($p.Energy - $ref2.Energy) / $cfg.AtomCount | Should -BeLessOrEqual 1e-12
            Get-MaxAbsDiff $p.Forces $ref2.Forces | Should -BeLessOrEqual 1e-9
        }
        $p2.Energy | Should -Not -Be $ref2.Energy -Because 'the one-sided model differs from the fixture model'
    }
}

Describe 'exclude_types (DeePMD-kit''s PairExcludeMask)' {
    BeforeAll {
        $tree = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($script:DpPath)
        $tree['model']['descriptor']['exclude_types'] = [Collections.Generic.List[object]]@(, [Collections.Generic.List[object]]@([long]1, [long]0))
        $script:Excl = [DpCompress.Core.Serialization.DeepMd.DeepMdModelReader]::FromTree($tree, $null)
        $script:ExclRef = [DpCompress.Core.Inference.ReferenceEngine]::new($script:Excl)
        $script:ExclFast = [DpCompress.Core.Inference.Fast.FastEngine]::new($script:Excl, 2)
    }
    AfterAll { $script:ExclRef.Dispose(); $script:ExclFast.Dispose() }
    It 'excludes the pair in both orders' {
        $script:Excl.Conventions.IsExcluded(0, 1) | Should -BeTrue
        $script:Excl.Conventions.IsExcluded(1, 0) | Should -BeTrue
        $script:Excl.Conventions.IsExcluded(1, 1) | Should -BeFalse
    }
    It 'leaves one-element configurations unchanged and changes mixed ones' {
        $au = New-RefConfiguration ($script:Refs | Where-Object system -eq 'Au32')
        [math]::Abs((Invoke-Engine $script:ExclRef $au).Energy - (Invoke-Engine $script:Engine $au).Energy) | Should -BeLessOrEqual 1e-12
        $mix = New-RefConfiguration $script:Refs[1]
        [math]::Abs((Invoke-Engine $script:ExclRef $mix).Energy - (Invoke-Engine $script:Engine $mix).Energy) | Should -BeGreaterThan 1e-4
    }
    It 'gives the same predictions in both engines, with forces equal to -dE/dr' {
        foreach ($img in $script:Refs) {
            $c = New-RefConfiguration $img
            $p = Invoke-Engine $script:ExclRef $c; $q = Invoke-Engine $script:ExclFast $c
            [math]::Abs($p.Energy - $q.Energy) | Should -BeLessOrEqual 1e-11
            Get-MaxAbsDiff $p.Forces $q.Forces | Should -BeLessOrEqual 1e-12
            Get-MaxAbsDiff $p.Virial $q.Virial | Should -BeLessOrEqual 1e-11
        }
        $c = New-RefConfiguration $script:Refs[0]
        $p0 = Invoke-Engine $script:ExclFast $c
        $worst = Get-FdForceError $script:ExclFast $c @(0, 17) $p0.Forces
        $worst | Should -BeLessOrEqual 1e-8
    }
    It 'compresses, and the compressed model predicts what the original predicts' {
        $c = $script:Excl | Invoke-DpCompression -MinNeighborDistance 2.1721185693495006
        $fast = [DpCompress.Core.Inference.Fast.FastEngine]::new($c, 2)
        try {
            foreach ($img in $script:Refs) {
                $cfg = New-RefConfiguration $img
                $p = Invoke-Engine $script:ExclFast $cfg; $q = Invoke-Engine $fast $cfg
                [math]::Abs($p.Energy - $q.Energy) / $cfg.AtomCount | Should -BeLessOrEqual 1e-13
                Get-MaxAbsDiff $p.Forces $q.Forces | Should -BeLessOrEqual 1e-11
            }
        } finally { $fast.Dispose() }
    }
}
