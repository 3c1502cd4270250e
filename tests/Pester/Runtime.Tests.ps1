# PWMLFF runtime emulation (SPEC §8): what PWMLFF's Python forward and its LAMMPS TorchScript compute with a
# compressed checkpoint. Data: PWMLFF's own compressed file and PWMLFF's own runtime output on it
# (tests/data/agau/reference_pwmlff_runtime_cmp_o3_dx0.01.json, 8 configurations, including Ag10Au14[2], whose
# closest pair sits at s̃ = sij_max and takes PWMLFF's broken outer branch: −0.95 eV).
BeforeDiscovery {
    $json = Get-Content -Raw (Join-Path $PSScriptRoot '../data/agau/reference_pwmlff_runtime_cmp_o3_dx0.01.json') | ConvertFrom-Json
    $script:RuntimeCases = foreach ($engine in 'Reference', 'Fast') {
        foreach ($img in $json.images) { @{ Engine = $engine; System = $img.system; Index = $img.image_index; Image = $img } }
    }
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest
    $script:None = [Threading.CancellationToken]::None
    $script:PwmlffFile = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'agau/cmp_o3_dx0.01.ckpt'))
    $script:Configs = [DpCompress.Core.Structures.PwDataReader]::Read((Get-TestDataPath 'agau/PWdata'))
    $script:Engines = @{}
    foreach ($kind in 'Reference', 'Fast') {
        foreach ($rt in 'Pwmlff', 'DpCompress') {
            $script:Engines["$kind/$rt"] = [DpCompress.Core.Inference.EngineFactory]::Create($script:PwmlffFile, $kind, 2, $rt)
        }
    }
    function Get-Config([string] $System, [int] $Index) {
        $script:Configs | Where-Object { $_.Name -eq $System -and $_.Index -eq $Index } | Select-Object -First 1
    }
}

AfterAll {
    foreach ($e in $script:Engines.Values) { $e.Dispose() }
}

Describe 'PWMLFF runtime emulation' {
    Context 'PWMLFF''s own runtime on its own file, <Engine> engine, <System>[<Index>]' -ForEach $RuntimeCases {
        BeforeAll {
            $script:c = Get-Config $System $Index
            $script:p = $script:Engines["$Engine/Pwmlff"].Evaluate($script:c, $null, $null, $script:None)
        }
        It 'reproduces E, E_i and forces to 1e-10' {
            [math]::Abs($p.Energy - $Image.Etot) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.AtomicEnergies ([double[]]$Image.Ei) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.Forces ([double[]]($Image.forces | ForEach-Object { $_ })) | Should -BeLessOrEqual 1e-10
            Get-MaxAbsDiff $p.Virial ([double[]]$Image.virial) | Should -BeLessOrEqual 1e-9
            $p.Runtime | Should -Be 'Pwmlff'
        }
    }

    Context 'the broken outer branch (Ag10Au14[2])' {
        It 'is what separates PWMLFF''s runtime from DpCompress''s lookup of the same file (<_>)' -ForEach 'Reference', 'Fast' {
            $c = Get-Config 'Ag10Au14' 2
            $pw = $script:Engines["$_/Pwmlff"].Evaluate($c, $null, $null, $script:None)
            $ours = $script:Engines["$_/DpCompress"].Evaluate($c, $null, $null, $script:None)
            $ours.Runtime | Should -Be 'DpCompress'
            [math]::Abs($pw.Energy - $ours.Energy) | Should -BeGreaterThan 0.9
            $ok = Get-Config 'Ag10Au14' 0
            $a = $script:Engines["$_/Pwmlff"].Evaluate($ok, $null, $null, $script:None)
            $b = $script:Engines["$_/DpCompress"].Evaluate($ok, $null, $null, $script:None)
            # Elsewhere only the float32 interval start differs: ~1e-6 eV, not zero.
            [math]::Abs($a.Energy - $b.Energy) | Should -BeGreaterThan 1e-9
            [math]::Abs($a.Energy - $b.Energy) | Should -BeLessThan 1e-3
        }
    }
}

Describe 'PwmlffRuntimeLookup' {
    BeforeAll {
        function New-Grid([double] $SMin, [double] $Dx, [int] $Inner, [int] $Outer) {
            [DpCompress.Core.Compression.SijGrid]::new($SMin, $SMin + $Inner * $Dx * 0.99, $Dx, $Inner, $Outer, 0.5, 'User')
        }
    }
    It 'starts intervals in float32: exact on a dyadic, aligned grid, off by up to ~1e-7 otherwise' {
        $dyadic = [DpCompress.Core.Compression.PwmlffRuntimeLookup]::new((New-Grid (-39 / 128) (1 / 128) 1100 60))
        $row = 0; $f = 0.0
        foreach ($s in -0.3, 0.0123456, 1.7, 5.123456789) {
            $dyadic.Locate($s, [ref]$row, [ref]$f) | Should -Be 'Inner'
            $f | Should -Be ($s - (-39 / 128 + $row / 128))
        }
        $typed = [DpCompress.Core.Compression.PwmlffRuntimeLookup]::new((New-Grid -0.3054269218030435 0.01 635 544))
        $typed.Locate(5.123456789, [ref]$row, [ref]$f) | Should -Be 'Inner'
        $row | Should -Be 542
        $exact = 5.123456789 - (-0.3054269218030435 + 542 * 0.01)
        [math]::Abs($f - $exact) | Should -BeGreaterThan 1e-9
        [math]::Abs($f - $exact) | Should -BeLessThan 1e-6
    }
    It 'takes the outer branch at s = sij_max and reads inner row k (no row offset)' {
        $g = New-Grid 0.0 (1 / 64) 100 40
        $lookup = [DpCompress.Core.Compression.PwmlffRuntimeLookup]::new($g)
        $row = 0; $f = 0.0
        $lookup.Locate($g.InnerEnd, [ref]$row, [ref]$f) | Should -Be 'BrokenOuter'
        $row | Should -Be 0
        $lookup.Locate($g.InnerEnd + 2.5 * 10 / 64, [ref]$row, [ref]$f) | Should -Be 'BrokenOuter'
        $row | Should -Be 2
        $f | Should -Be (0.5 * 10 / 64)
        $lookup.Locate($g.InnerEnd - 1e-9, [ref]$row, [ref]$f) | Should -Be 'Inner'
        $row | Should -Be 99
    }
    It 'uses the file''s sij_max, not x_L (PWMLFF writes s_max there)' {
        $script:PwmlffFile.Compression.Grid.RuntimeSijMax | Should -Be 6.036658193787814
        $script:PwmlffFile.Compression.Grid.InnerEnd | Should -Not -Be 6.036658193787814
    }
    It 'TableEvaluator -Runtime Pwmlff counts the values that take the outer branch and reads inner row k there' {
        $table = $script:PwmlffFile.Compression
        $pw = [DpCompress.Core.Compression.TableEvaluator]::new($table, 'Pwmlff')
        $exact = [DpCompress.Core.Compression.TableEvaluator]::new($table)
        $v = [double[]]::new(25); $d = [double[]]::new(25); $w = [double[]]::new(25); $e = [double[]]::new(25)
        $s = $table.Grid.RuntimeSijMax + 0.005
        $null = $pw.Evaluate(1, $s, $v, $d)
        $pw.PwmlffOuterBranchCount | Should -Be 1
        # PWMLFF reads row 0 of net 1 at f = s - fl32(sij_max): what the exact lookup gives at s_min + f (also row 0).
        $null = $exact.Evaluate(1, $table.Grid.SMin + ($s - [double][float]$table.Grid.RuntimeSijMax), $w, $e)
        for ($q = 0; $q -lt 25; $q++) { [math]::Abs($v[$q] - $w[$q]) | Should -BeLessThan 1e-9 }
        $null = $pw.Evaluate(1, 3.0, $v, $d)
        $pw.PwmlffOuterBranchCount | Should -Be 1
        $pw.Runtime | Should -Be 'Pwmlff'
    }
    It 'refuses a row PWMLFF would read outside the net (PwmlffLookupOutsideTable)' {
        $lookup = [DpCompress.Core.Compression.PwmlffRuntimeLookup]::new((New-Grid 0.0 (1 / 64) 100 3))
        $row = 0; $f = 0.0
        $err = { $lookup.Locate(1000.0, [ref]$row, [ref]$f) } | Should -Throw -PassThru
        $err.Exception.InnerException.ErrorId | Should -Be 'PwmlffLookupOutsideTable'
    }
}

Describe 'The PWMLFF runtime layout (Invoke-DpCompression default)' {
    BeforeAll {
        $script:Original = [DpCompress.Core.Serialization.CheckpointReader]::Read((Get-TestDataPath 'agau/dp_model.ckpt'))
        $script:Laid = $script:Original | Invoke-DpCompression -Dx 0.01 -Order 3
        $script:Typed = $script:Original | Invoke-DpCompression -Dx 0.01 -Order 3 -Layout Exact
        $script:OriginalEngine = [DpCompress.Core.Inference.EngineFactory]::Create($script:Original, 'Fast', 2)
    }
    AfterAll { if ($script:OriginalEngine) { $script:OriginalEngine.Dispose() } }

    It 'is evaluated by PWMLFF''s runtime exactly as by DpCompress (bit for bit, all 160 configurations)' {
        $pw = [DpCompress.Core.Inference.EngineFactory]::Create($script:Laid, 'Fast', 2, 'Pwmlff')
        $ours = [DpCompress.Core.Inference.EngineFactory]::Create($script:Laid, 'Fast', 2, 'DpCompress')
        try {
            $worstE = 0.0; $worstF = 0.0; $different = 0
            foreach ($c in $script:Configs) {
                $a = $pw.Evaluate($c, $null, $null, $script:None)
                $b = $ours.Evaluate($c, $null, $null, $script:None)
                if ($a.Energy -ne $b.Energy -or -not [System.Linq.Enumerable]::SequenceEqual($a.Forces, $b.Forces)) { $different++ }
                $o = $script:OriginalEngine.Evaluate($c, $null, $null, $script:None)
                $worstE = [math]::Max($worstE, [math]::Abs($a.Energy - $o.Energy) / $c.AtomCount)
                $worstF = [math]::Max($worstF, (Get-MaxAbsDiff $a.Forces $o.Forces))
            }
            $different | Should -Be 0
            # Issue 11 acceptance: <= 2e-10 eV/atom and <= 5e-7 eV/A from the original (measured 1.1e-10, 2.5e-7).
            $worstE | Should -BeLessOrEqual 2e-10
            $worstF | Should -BeLessOrEqual 5e-7
        } finally { $pw.Dispose(); $ours.Dispose() }
    }
    It 'is as exact at order 5: <= 1e-13 eV/atom and <= 1e-10 eV/A in PWMLFF''s runtime (160 configurations)' {
        $o5 = $script:Original | Invoke-DpCompression -Dx 0.01 -Order 5
        $pw = [DpCompress.Core.Inference.EngineFactory]::Create($o5, 'Fast', 2, 'Pwmlff')
        try {
            $worstE = 0.0; $worstF = 0.0
            foreach ($c in $script:Configs) {
                $a = $pw.Evaluate($c, $null, $null, $script:None)
                $o = $script:OriginalEngine.Evaluate($c, $null, $null, $script:None)
                $worstE = [math]::Max($worstE, [math]::Abs($a.Energy - $o.Energy) / $c.AtomCount)
                $worstF = [math]::Max($worstF, (Get-MaxAbsDiff $a.Forces $o.Forces))
            }
            # Measured 4.0e-15 eV/atom and 4.5e-12 eV/A.
            $worstE | Should -BeLessOrEqual 1e-13
            $worstF | Should -BeLessOrEqual 1e-10
        } finally { $pw.Dispose() }
    }
    It 'serves the type-embedding flavour too (one table per neighbour element): PWMLFF''s runtime = DpCompress, bit for bit' {
        $te = Import-DpModel (Get-TestDataPath 'agau_te/dp_te_model.ckpt')
        $cmp = $te | Invoke-DpCompression -Dx 0.01 -Order 3
        $cmp.Compression.Grid.IsPwmlffExact | Should -BeTrue
        $pw = [DpCompress.Core.Inference.EngineFactory]::Create($cmp, 'Fast', 2, 'Pwmlff')
        $ours = [DpCompress.Core.Inference.EngineFactory]::Create($cmp, 'Fast', 2, 'DpCompress')
        $orig = [DpCompress.Core.Inference.EngineFactory]::Create($te, 'Fast', 2)
        try {
            $worstE = 0.0
            foreach ($c in $script:Configs | Where-Object Name -In 'Ag10Au14', 'Ag45Au3') {
                $a = $pw.Evaluate($c, $null, $null, $script:None)
                $a.Energy | Should -Be $ours.Evaluate($c, $null, $null, $script:None).Energy
                $worstE = [math]::Max($worstE, [math]::Abs($a.Energy - $orig.Evaluate($c, $null, $null, $script:None).Energy) / $c.AtomCount)
            }
            $worstE | Should -BeLessOrEqual 5e-10   # all 160: 2.1e-10 (examples/PwmlffRuntime.ps1)
        } finally { $pw.Dispose(); $ours.Dispose(); $orig.Dispose() }
    }
    It 'is what the typed-dx layout is not: PWMLFF''s runtime is ~1e-6 eV/atom off with dx 0.01' {
        $pw = [DpCompress.Core.Inference.EngineFactory]::Create($script:Typed, 'Fast', 2, 'Pwmlff')
        try {
            $c = Get-Config 'Ag10Au14' 0
            $d = [math]::Abs($pw.Evaluate($c, $null, $null, $script:None).Energy - $script:OriginalEngine.Evaluate($c, $null, $null, $script:None).Energy) / $c.AtomCount
            $d | Should -BeGreaterThan 1e-8
            $d | Should -BeLessThan 1e-4
        } finally { $pw.Dispose() }
    }
    It 'writes a consistent compress dict: sij_min = start, sij_max = inner end, read back as the same grid' {
        $path = Join-Path $TestDrive 'laid.ckpt'
        $script:Laid | Export-DpModel -LiteralPath $path
        $back = Import-DpModel -LiteralPath $path
        $g = $back.Compression.Grid
        $g.SMin | Should -Be $script:Laid.Compression.Grid.SMin
        $g.RuntimeSijMax | Should -Be $script:Laid.Compression.Grid.InnerEnd
        $g.InnerIntervals | Should -Be $script:Laid.Compression.Grid.InnerIntervals
        $g.OuterPoints | Should -Be $script:Laid.Compression.Grid.OuterPoints
        $g.SMax | Should -Be $script:Laid.Compression.Grid.SMax
        $g.IsPwmlffExact | Should -BeTrue
        $script:PwmlffFile.Compression.Grid.IsPwmlffExact | Should -BeFalse
    }
}

Describe 'Invoke-DpModel -Runtime and Test-CompressedModel''s PWMLFF runtime report' {
    BeforeAll {
        $script:OriginalModel = Import-DpModel (Get-TestDataPath 'agau/dp_model.ckpt')
        $script:Ag10 = Import-DpConfiguration (Get-TestDataPath 'agau/PWdata/Ag10Au14')
        $script:Json = Get-Content -Raw (Get-TestDataPath 'agau/reference_pwmlff_runtime_cmp_o3_dx0.01.json') | ConvertFrom-Json
    }
    It 'Invoke-DpModel -Runtime Pwmlff gives PWMLFF''s runtime output (<_> engine)' -ForEach 'Fast', 'Reference' {
        $p = @($script:Ag10 | Invoke-DpModel -Model $script:PwmlffFile -Runtime Pwmlff -Engine $_)
        $p.Count | Should -Be 5
        foreach ($img in $script:Json.images | Where-Object system -EQ 'Ag10Au14') {
            [math]::Abs($p[$img.image_index].Energy - $img.Etot) | Should -BeLessOrEqual 1e-10
        }
        $p[2].Runtime | Should -Be 'Pwmlff'
        (@($script:Ag10 | Invoke-DpModel -Model $script:PwmlffFile -Engine $_))[2].Runtime | Should -Be 'DpCompress'
    }
    It 'reports PWMLFF''s runtime on its own file: the broken outer branch on Ag10Au14[2]' {
        $r = Test-CompressedModel -Model $script:PwmlffFile -Reference $script:OriginalModel -Data $script:Ag10 -Detailed
        $r.Passed | Should -BeFalse
        $rt = $r.PwmlffRuntime
        $rt.ConfigurationCount | Should -Be 5
        $rt.ConfigurationsInOuterBranch | Should -Be 1
        $rt.LayoutIsPwmlffExact | Should -BeFalse
        $rt.MaxEnergyError | Should -BeGreaterThan (0.9 / 24)
        $rt.Checks[0].Worst | Should -Be 'Ag10Au14[2]'
        $r.Rows[2].PwmlffRuntime.Runtime | Should -Be 'Pwmlff'
        ($r.Warnings -join ' ') | Should -Match 'sij_max'
        ($r | Out-String) | Should -Match 'PWMLFF/LAMMPS runtime'
    }
    It 'reports the same numbers both ways for the default layout, and -Runtime Pwmlff decides the verdict' {
        $cmp = $script:OriginalModel | Invoke-DpCompression -Dx 0.05 -Order 3
        $r = $cmp | Test-CompressedModel -Data $script:Ag10 -Detailed
        $r.Passed | Should -BeTrue
        $r.PwmlffRuntime.MaxEnergyError | Should -Be $r.MaxEnergyError
        $r.PwmlffRuntime.MaxForceError | Should -Be $r.MaxForceError
        $r.PwmlffRuntime.LayoutIsPwmlffExact | Should -BeTrue
        $r.PwmlffRuntime.DecidesVerdict | Should -BeFalse
        $r.Warnings | Should -BeNullOrEmpty
        $v = $cmp | Test-CompressedModel -Data $script:Ag10 -Detailed -Runtime Pwmlff
        $v.PwmlffRuntime.DecidesVerdict | Should -BeTrue
        $v.Passed | Should -BeTrue
    }
    It 'fails with -Runtime Pwmlff where only PWMLFF''s runtime misses (a tolerance between the two)' {
        $typed = $script:OriginalModel | Invoke-DpCompression -Dx 0.01 -Order 5 -Layout Exact
        $r = $typed | Test-CompressedModel -Data $script:Ag10 -Detailed -EnergyTolerance 1e-9
        $r.Passed | Should -BeTrue
        ($r.Warnings -join ' ') | Should -Match 'PWMLFF''s runtime \(and LAMMPS\) will compute something else.*-Layout Pwmlff'
        $typed | Test-CompressedModel -Data $script:Ag10 -EnergyTolerance 1e-9 -Runtime Pwmlff | Should -BeFalse
    }
    It 'refuses -Runtime Pwmlff for a DeePMD-kit model (RuntimeNotApplicable)' {
        $dp = Import-DpModel (Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp')
        { $script:Ag10 | Invoke-DpModel -Model $dp -Runtime Pwmlff -ErrorAction Stop } | Should -Throw -ErrorId 'RuntimeNotApplicable,DpCompress.PowerShell.Commands.InvokeDpModelCommand'
        { Test-CompressedModel -Model $dp -Data $script:Ag10 -Runtime Pwmlff } | Should -Throw -ErrorId 'RuntimeNotApplicable,DpCompress.PowerShell.Commands.TestCompressedModelCommand'
    }
}
