# Checkpoint reading and writing (src/DpCompress.Core/Serialization), called on the Core directly.
# Expected numbers were read independently with Debian's Python (torch 1.13.1, numpy) from
# tests/data/agau/*.ckpt (copies of shared/fixtures/agau), e.g.
#   d = torch.load('cmp_o3_dx0.01.ckpt'); d['state_dict']['embedding_net.1.layers.1.weight'][0, 0]
# and math.fsum(...) for sums (exactly rounded; our sums are compared with a tolerance).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:DpModelPath = Get-TestDataPath 'agau/dp_model.ckpt'
    $script:CompressedPath = Get-TestDataPath 'agau/cmp_o3_dx0.01.ckpt'
    $script:NepPath = Get-TestDataPath 'agau/nep_model.ckpt'


    function Read-Model([string] $Path) { [DpCompress.Core.Serialization.CheckpointReader]::Read($Path) }
    function Read-Document([string] $Path) { [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument($Path) }
    function Write-Document($Doc, [string] $Path) { [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($Doc, $Path) }

    # A zip holding the given records (name => byte[]), written with .NET's ZipArchive.
    function New-Zip([string] $Path, [System.Collections.IDictionary] $Records) {
        $fs = [System.IO.File]::Create($Path)
        try {
            $zip = [System.IO.Compression.ZipArchive]::new($fs, [System.IO.Compression.ZipArchiveMode]::Create)
            foreach ($name in $Records.Keys) {
                $entry = $zip.CreateEntry($name, [System.IO.Compression.CompressionLevel]::NoCompression)
                $s = $entry.Open()
                [byte[]] $bytes = $Records[$name]
                $s.Write($bytes, 0, $bytes.Length)
                $s.Dispose()
            }
            $zip.Dispose()
        } finally { $fs.Dispose() }
    }

    # Every record of a zip as name => byte[] (ordered).
    function Read-ZipRecords([string] $Path) {
        $records = [ordered]@{}
        $zip = [System.IO.Compression.ZipFile]::OpenRead($Path)
        try {
            foreach ($entry in $zip.Entries) {
                $ms = [System.IO.MemoryStream]::new()
                $s = $entry.Open(); $s.CopyTo($ms); $s.Dispose()
                $records[$entry.FullName] = $ms.ToArray()
            }
        } finally { $zip.Dispose() }
        $records
    }

    # Exact double from its shortest round-trip text (PowerShell's own literal parsing can be off by an ulp).
    function D([string] $Text) { [double]::Parse($Text, [System.Globalization.CultureInfo]::InvariantCulture) }

    function Get-Bytes([string] $Latin1) { [System.Text.Encoding]::Latin1.GetBytes($Latin1) }

    # Pickle: BINUNICODE of a string.
    function Get-BinUnicode([string] $Text) {
        $utf8 = [System.Text.Encoding]::UTF8.GetBytes($Text)
        [byte[]] (@(0x58) + [BitConverter]::GetBytes([uint32] $utf8.Length) + $utf8)
    }

    function Test-SameDoubles([double[]] $A, [double[]] $B) { [System.Linq.Enumerable]::SequenceEqual($A, $B) }

    # Bit-for-bit equality of every layer, statistic and table entry of two models.
    function Assert-SameModel($A, $B) {
        @($B.Checkpoint.Keys) | Should -Be @($A.Checkpoint.Keys)
        foreach ($pair in @(@($A.EmbeddingNets, $B.EmbeddingNets), @($A.FittingNets, $B.FittingNets))) {
            for ($k = 0; $k -lt $pair[0].Count; $k++) {
                for ($l = 0; $l -lt $pair[0][$k].Layers.Count; $l++) {
                    $x = $pair[0][$k].Layers[$l]; $y = $pair[1][$k].Layers[$l]
                    Test-SameDoubles $x.Weight $y.Weight | Should -BeTrue
                    Test-SameDoubles $x.Bias $y.Bias | Should -BeTrue
                    if ($x.ResnetDt) { Test-SameDoubles $x.ResnetDt $y.ResnetDt | Should -BeTrue } else { $y.ResnetDt | Should -BeNullOrEmpty }
                }
            }
        }
        Test-SameDoubles $A.Davg $B.Davg | Should -BeTrue
        Test-SameDoubles $A.Dstd $B.Dstd | Should -BeTrue
        Test-SameDoubles $A.EnergyShift $B.EnergyShift | Should -BeTrue
        $B.SijMax | Should -Be $A.SijMax
        $B.IsCompressed | Should -Be $A.IsCompressed
        if ($A.IsCompressed) {
            Test-SameDoubles $A.Compression.Coefficients $B.Compression.Coefficients | Should -BeTrue
            $B.Compression.Order | Should -Be $A.Compression.Order
            foreach ($p in 'SMin', 'SMax', 'Dx', 'InnerIntervals', 'OuterPoints') {
                $B.Compression.Grid.$p | Should -Be $A.Compression.Grid.$p
            }
        }
    }
}

Describe 'CheckpointReader' {
    Context 'PWMLFF Ag-Au DP model (dp_model.ckpt)' {
        BeforeAll { $script:m = Read-Model $DpModelPath }

        It 'reads the model configuration from json_file' {
            $m.AtomTypes | Should -Be @(47, 79)
            $m.Rmin | Should -Be 2.0
            $m.Rmax | Should -Be 6.0
            $m.M2 | Should -Be 12
            $m.MaxNeighbors | Should -Be 100
            $m.EmbeddingSizes | Should -Be @(25, 25, 25)
            $m.FittingSizes | Should -Be @(50, 50, 50, 1)
            $m.Precision | Should -Be ([DpCompress.Core.Model.Precision]::Float64)
            $m.IsCompressed | Should -BeFalse
            $m.SourcePath | Should -Be $DpModelPath
        }

        It 'keeps every checkpoint key in file order' {
            @($m.Checkpoint.Keys) | Should -Be @('json_file', 'epoch', 'state_dict', 'davg', 'dstd', 'energy_shift', 'atom_type_order', 'sij_max')
            $m.Checkpoint['state_dict'].Count | Should -Be 44
            $m.Checkpoint['state_dict'].IsOrdered | Should -BeTrue
        }

        It 'reads weights equal to what torch.load gives' {
            # embedding_net.1.layers.1.weight: [0,0], [0,1], [0,2], [24,24]; math.fsum of all = -0.655332222166005
            $w = $m.EmbeddingNets[1].Layers[1].Weight
            $w[0] | Should -Be (D '0.22118464343560337')
            $w[1] | Should -Be (D '0.006007618570894396')
            $w[2] | Should -Be (D '0.15054584560615886')
            $w[24 * 25 + 24] | Should -Be (D '-0.015393146448109612')
            [math]::Abs(([System.Linq.Enumerable]::Sum($w)) - ((D '-0.655332222166005'))) | Should -BeLessThan 1e-13
            # embedding_net.3.layers.0.weight[0,7]
            $m.EmbeddingNets[3].Layers[0].Weight[7] | Should -Be (D '0.29800901846646954')
            # fitting_net.0.layers.0.weight [300,50]: [299,49]; fsum = -18.817111127240167
            $f = $m.FittingNets[0].Layers[0]
            $f.Inputs | Should -Be 300
            $f.Weight[299 * 50 + 49] | Should -Be (D '-0.0882531816435368')
            [math]::Abs(([System.Linq.Enumerable]::Sum($f.Weight)) - ((D '-18.817111127240167'))) | Should -BeLessThan 1e-11
            # fitting_net.0.layers.1.resnet_dt[0,0], fitting_net.1.layers.3.bias[0,0]
            $m.FittingNets[0].Layers[1].ResnetDt[0] | Should -Be (D '0.15381326268603282')
            $m.FittingNets[1].Layers[3].Bias[0] | Should -Be (D '-2.7491388852468344')
        }

        It 'infers layer options from the state_dict keys' {
            $m.EmbeddingNets[0].Layers | ForEach-Object { $_.ResnetDt | Should -BeNullOrEmpty; $_.Bias | Should -Not -BeNullOrEmpty }
            $m.FittingNets[0].Layers[0].ResnetDt | Should -BeNullOrEmpty
            $m.FittingNets[0].Layers[1].ResnetDt | Should -Not -BeNullOrEmpty
            $m.FittingNets[0].Layers[3].ResnetDt | Should -BeNullOrEmpty
        }

        It 'reads statistics, energy shift and sij_max' {
            # davg[t,0..3] and dstd[t,0..3] of the [2, 800] arrays
            $m.Davg | Should -Be @((D '0.022358119358402956'), 0, 0, 0, (D '0.021917770459080523'), 0, 0, 0)
            $m.Dstd[0] | Should -Be (D '0.07320284415799054')
            $m.Dstd[5] | Should -Be (D '0.04377105170055381')
            $m.EnergyShift | Should -Be @((D '-3.060142623507532'), (D '-3.2711476788162055'))
            # sij_max: a 0-d view at offset 5 of an 8-element storage
            $m.SijMax | Should -Be (D '0.46003649947049313')
        }
    }

    Context 'PWMLFF compressed model (cmp_o3_dx0.01.ckpt, pickle protocol 4)' {
        BeforeAll { $script:c = Read-Model $CompressedPath }

        It 'reads the compression table and grid' {
            $c.IsCompressed | Should -BeTrue
            $t = $c.Compression
            $t.Order | Should -Be 3
            $t.NetCount | Should -Be 4
            $t.Width | Should -Be 25
            $t.Rows | Should -Be 1178
            $t.Grid.Dx | Should -Be 0.01
            $t.Grid.SMin | Should -Be (D '-0.3054269218030435')
            $t.Grid.SMax | Should -Be (D '6.036658193787814')
            $t.Grid.InnerIntervals | Should -Be 635
            $t.Grid.OuterPoints | Should -Be 544
            $t.Grid.Source | Should -Be ([DpCompress.Core.Compression.SijMaxSource]::CompressedCheckpoint)
            $t.Grid.RawSijMax | Should -Be (D '0.46003649947049313')
        }

        It 'reads table coefficients equal to what torch.load gives' {
            # table[0,0,0,0], table[3,1177,24,3], table[1,600,12,2]; math.fsum = 74702.45040126068
            $t = $c.Compression
            $t.Coefficients[$t.Offset(0, 0, 0)] | Should -Be (D '0.00720513284625801')
            $t.Coefficients[$t.Offset(3, 1177, 24) + 3] | Should -Be (D '-2.5646722036957303')
            $t.Coefficients[$t.Offset(1, 600, 12) + 2] | Should -Be (D '0.48645091029600296')
            [math]::Abs(([System.Linq.Enumerable]::Sum($t.Coefficients)) - (D '74702.45040126068')) | Should -BeLessThan 1e-6
        }

        It 'has the same networks as the original model' {
            $o = Read-Model $DpModelPath
            Test-SameDoubles $o.FittingNets[1].Layers[0].Weight $c.FittingNets[1].Layers[0].Weight | Should -BeTrue
        }
    }

    Context 'raw documents' {
        It 'reads non-contiguous tensor views (NEP checkpoint)' {
            $d = Read-Document $NepPath
            $w = $d['state_dict']['fitting_net.0.layers.1.weight']   # [100,1], stride (1,100), offset 100
            $w.Shape | Should -Be @(100, 1)
            $w.Stride | Should -Be @(1, 100)
            $w.StorageOffset | Should -Be 100
            $v = $w.ToDoubleArray()
            $v[5] | Should -Be (D '0.27272458135452216')
            $v[99] | Should -Be (D '0.09577832624947562')
            $d['state_dict']['fitting_net.0.layers.1.bias'].ToDoubleArray()[0] | Should -Be (D '-2.9517054666813887')
            $d['q_scaler'].Shape | Should -Be @(95)
        }
    }

    Context 'bad input' {
        BeforeAll {
            $script:goodPkl = (Read-ZipRecords $DpModelPath)['dp_model/data.pkl']
        }

        It 'refuses a missing file with CheckpointNotFound' {
            $e = Get-DpError { Read-Model (Join-Path $TestDrive 'nope.ckpt') }
            $e.ErrorId | Should -Be 'CheckpointNotFound'
            $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::ObjectNotFound)
        }

        It 'refuses a directory with CheckpointIsDirectory' {
            (Get-DpError { Read-Model $TestDrive }).ErrorId | Should -Be 'CheckpointIsDirectory'
        }

        It 'refuses an empty file with CheckpointEmpty' {
            $p = Join-Path $TestDrive 'empty.ckpt'
            [System.IO.File]::WriteAllBytes($p, [byte[]]::new(0))
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointEmpty'
        }

        It 'refuses a file that is not a zip with CheckpointNotZip' {
            $p = Join-Path $TestDrive 'text.ckpt'
            Set-Content -LiteralPath $p -Value 'this is not a checkpoint'
            $e = Get-DpError { Read-Model $p }
            $e.ErrorId | Should -Be 'CheckpointNotZip'
            $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::InvalidData)
        }

        It 'refuses a truncated zip with CheckpointNotZip' {
            $bytes = [System.IO.File]::ReadAllBytes($DpModelPath)
            $p = Join-Path $TestDrive 'truncated.ckpt'
            [System.IO.File]::WriteAllBytes($p, $bytes[0..($bytes.Length / 2)])
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointNotZip'
        }

        It 'refuses a zip without data.pkl with CheckpointMissingPickle' {
            $p = Join-Path $TestDrive 'nopkl.ckpt'
            New-Zip $p @{ 'model/version' = (Get-Bytes "3`n") }
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointMissingPickle'
        }

        It 'refuses a truncated pickle with CheckpointTruncated' {
            $p = Join-Path $TestDrive 'shortpkl.ckpt'
            $records = Read-ZipRecords $DpModelPath
            $records['dp_model/data.pkl'] = $goodPkl[0..20000]
            New-Zip $p $records
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointTruncated'
        }

        It 'refuses a declared length beyond the end of the pickle with CheckpointTruncated' {
            $p = Join-Path $TestDrive 'longstr.ckpt'
            New-Zip $p @{ 'x/data.pkl' = [byte[]](0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x41, 0x2e) }
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointTruncated'
        }

        It 'refuses an unknown opcode with CheckpointCorrupt' {
            $p = Join-Path $TestDrive 'badop.ckpt'
            New-Zip $p @{ 'x/data.pkl' = [byte[]](0x80, 0x02, 0xff, 0x2e) }
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointCorrupt'
        }

        It 'refuses memo and stack misuse with CheckpointCorrupt' {
            $p = Join-Path $TestDrive 'badmemo.ckpt'
            New-Zip $p @{ 'x/data.pkl' = [byte[]](0x80, 0x02, 0x68, 0x05, 0x2e) }   # BINGET 5 of an empty memo
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointCorrupt'
            New-Zip $p @{ 'x/data.pkl' = [byte[]](0x80, 0x02, 0x73, 0x2e) }         # SETITEM on an empty stack
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointCorrupt'
        }

        It 'refuses absurdly deep nesting with CheckpointNestingTooDeep' {
            $p = Join-Path $TestDrive 'deep.ckpt'
            $n = 5000
            $bytes = [byte[]](@(0x80, 0x02) + @(0x5d) * $n + @(0x61) * ($n - 1) + @(0x2e))   # ]]]...aaa.
            New-Zip $p @{ 'x/data.pkl' = $bytes }
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointNestingTooDeep'
        }

        It 'refuses a root object that is not a dict' {
            $p = Join-Path $TestDrive 'list.ckpt'
            New-Zip $p @{ 'x/data.pkl' = [byte[]](0x80, 0x02, 0x5d, 0x2e) }
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointCorrupt'
        }

        It 'refuses <Name> without running it (CheckpointForbiddenGlobal)' -ForEach @(
            @{ Name = 'os.system (GLOBAL)'; Module = 'os'; Function = 'system'; Stack = $false }
            @{ Name = 'posix.system (STACK_GLOBAL)'; Module = 'posix'; Function = 'system'; Stack = $true }
            @{ Name = 'subprocess.call'; Module = 'subprocess'; Function = 'call'; Stack = $false }
            @{ Name = 'builtins.eval'; Module = 'builtins'; Function = 'eval'; Stack = $false }
        ) {
            $marker = Join-Path $TestDrive "pwned-$Module-$Function"
            $payload = if ($Function -eq 'eval') { "open('$marker','w').write('x')" } elseif ($Function -eq 'call') { "touch $marker" } else { "touch $marker" }
            # module.function(payload) as a pickle: GLOBAL / STACK_GLOBAL, arg, TUPLE1, REDUCE, STOP
            $head = if ($Stack) {
                [byte[]](@(0x80, 0x04) + (Get-BinUnicode $Module) + (Get-BinUnicode $Function) + @(0x93))
            } else {
                [byte[]](@(0x80, 0x02) + (Get-Bytes "c$Module`n$Function`n"))
            }
            $pkl = [byte[]]($head + (Get-BinUnicode $payload) + @(0x85, 0x52, 0x2e))
            $p = Join-Path $TestDrive "evil-$Module.ckpt"
            New-Zip $p @{ 'evil/data.pkl' = $pkl }
            $e = Get-DpError { Read-Model $p }
            $e.ErrorId | Should -Be 'CheckpointForbiddenGlobal'
            $e.Message | Should -Match ([regex]::Escape("$Module.$Function"))
            Test-Path -LiteralPath $marker | Should -BeFalse
        }

        It 'refuses a missing tensor storage with CheckpointStorageMissing' {
            $records = Read-ZipRecords $DpModelPath
            $records.Remove('dp_model/data/3')
            $p = Join-Path $TestDrive 'nostorage.ckpt'
            New-Zip $p $records
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointStorageMissing'
        }

        It 'refuses a storage shorter than its tensor with CheckpointStorageTooShort' {
            $records = Read-ZipRecords $DpModelPath
            $records['dp_model/data/3'] = [byte[]]::new(16)
            $p = Join-Path $TestDrive 'shortstorage.ckpt'
            New-Zip $p $records
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointStorageTooShort'
        }

        It 'refuses a NEP model with NotDpModel' {
            $e = Get-DpError { Read-Model $NepPath }
            $e.ErrorId | Should -Be 'NotDpModel'
            $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::InvalidData)
            $e.Message | Should -Match 'not a DP model: model_type is NEP'
        }

        It 'refuses a checkpoint without <Key> with CheckpointMissingKey' -ForEach @(
            @{ Key = 'state_dict' }, @{ Key = 'davg' }, @{ Key = 'dstd' }, @{ Key = 'json_file' }
        ) {
            $d = Read-Document $DpModelPath
            $d.Remove($Key) | Should -BeTrue
            $p = Join-Path $TestDrive "no-$Key.ckpt"
            Write-Document $d $p
            $e = Get-DpError { Read-Model $p }
            $e.ErrorId | Should -Be 'CheckpointMissingKey'
            $e.Message | Should -Match $Key
        }

        It 'refuses a missing weight with CheckpointMissingKey naming it' {
            $d = Read-Document $DpModelPath
            $d['state_dict'].Remove('fitting_net.1.layers.2.weight') | Should -BeTrue
            $p = Join-Path $TestDrive 'noweight.ckpt'
            Write-Document $d $p
            $e = Get-DpError { Read-Model $p }
            $e.ErrorId | Should -Be 'CheckpointMissingKey'
            $e.Message | Should -Match 'fitting_net\.1\.layers\.2\.weight'
        }

        It 'refuses a shape contradiction (<Name>) with CheckpointShapeMismatch' -ForEach @(
            @{ Name = 'M2 vs fitting input'; Edit = { param($d) $d['json_file']['model']['descriptor']['M2'] = [long]10 } }
            @{ Name = 'swapped weight'; Edit = { param($d) $d['state_dict']['embedding_net.0.layers.1.weight'] = $d['state_dict']['embedding_net.0.layers.0.weight'] } }
            @{ Name = 'network_size vs weights'; Edit = { param($d) $d['json_file']['model']['descriptor']['network_size'][2] = [long]50 } }
            @{ Name = 'max_neigh_num vs davg'; Edit = { param($d) $d['json_file']['max_neigh_num'] = [long]120 } }
            @{ Name = 'extra atom type'; Edit = { param($d) $d['json_file']['atom_type'].Add([long]29) } }
        ) {
            $d = Read-Document $DpModelPath
            & $Edit $d
            $p = Join-Path $TestDrive 'shape.ckpt'
            Write-Document $d $p
            $e = Get-DpError { Read-Model $p }
            $e.ErrorId | Should -Be 'CheckpointShapeMismatch'
        }

        It 'refuses a table whose rows contradict sij_len + sij_out_len - 1' {
            $d = Read-Document $CompressedPath
            $d['compress']['sij_out_len'] = [long]500
            $p = Join-Path $TestDrive 'rows.ckpt'
            Write-Document $d $p
            (Get-DpError { Read-Model $p }).ErrorId | Should -Be 'CheckpointShapeMismatch'
        }

        It 'refuses plain DP nets marked type_embedding (CheckpointShapeMismatch naming the flavour)' {
            $d = Read-Document $DpModelPath
            $d['json_file']['model']['descriptor']['type_embedding'] = $true
            $p = Join-Path $TestDrive 'te.ckpt'
            Write-Document $d $p
            $e = Get-DpError { Read-Model $p }
            $e.ErrorId | Should -Be 'CheckpointShapeMismatch'
            $e.Message | Should -Match 'type-embedding model'
        }
    }
}

Describe 'CheckpointWriter' {
    Context 'round trip' {
        It 'writes <File> so that reading it back gives the same model bit for bit' -ForEach @(
            @{ File = 'dp_model.ckpt' }, @{ File = 'cmp_o3_dx0.01.ckpt' }
        ) {
            $original = Read-Model (Get-TestDataPath "agau/$File")
            $p1 = Join-Path $TestDrive "rt1-$File"
            $p2 = Join-Path $TestDrive "rt2-$File"
            [DpCompress.Core.Serialization.CheckpointWriter]::Write($original, $p1) | Should -Be $p1
            $once = Read-Model $p1
            Assert-SameModel $original $once
            [DpCompress.Core.Serialization.CheckpointWriter]::Write($once, $p2) | Out-Null
            Assert-SameModel $original (Read-Model $p2)
            # the state_dict's _metadata attribute survives
            $once.Checkpoint['state_dict'].Attributes['_metadata'] | Should -Not -BeNullOrEmpty
        }

        It 'writes a torch.save zip: STORED records data.pkl, byteorder, data/<key>, version' {
            $p = Join-Path $TestDrive 'layout.ckpt'
            [DpCompress.Core.Serialization.CheckpointWriter]::Write((Read-Model $DpModelPath), $p) | Out-Null
            $zip = [System.IO.Compression.ZipFile]::OpenRead($p)
            try {
                $names = @($zip.Entries | ForEach-Object FullName)
                $names[0] | Should -Be 'layout/data.pkl'
                $names | Should -Contain 'layout/version'
                $names | Should -Contain 'layout/byteorder'
                @($names -like 'layout/data/*').Count | Should -Be 45
                $zip.Entries | ForEach-Object { $_.CompressedLength | Should -Be $_.Length }
            } finally { $zip.Dispose() }
            $pkl = (Read-ZipRecords $p)['layout/data.pkl']
            $pkl[0] | Should -Be 0x80
            $pkl[1] | Should -Be 2    # pickle protocol 2, as PWMLFF writes
        }

        It 'writes the compress dict in PWMLFF order with sij_max = x_L' {
            $c = Read-Model $CompressedPath
            $p = Join-Path $TestDrive 'cmp.ckpt'
            [DpCompress.Core.Serialization.CheckpointWriter]::Write($c, $p) | Out-Null
            $cmp = (Read-Document $p)['compress']
            @($cmp.Keys) | Should -Be @('table', 'dx', 'order', 'davg', 'dstd', 'sij_min', 'sij_max', 'sij_out_max', 'sij_len', 'sij_out_len', 'type_vector')
            $cmp['table'].Shape | Should -Be @(4, 1178, 25, 4)
            $cmp['table'].DType | Should -Be '<f8'
            $cmp['sij_max'].ToScalarDouble() | Should -Be $c.Compression.Grid.InnerEnd
            $cmp['sij_out_max'].ToScalarDouble() | Should -Be (D '60.366581937878145')
            $cmp['davg'].ToDoubleArray() | Should -Be @((D '0.022358119358402956'), (D '0.021917770459080523'))
            $cmp['sij_len'] | Should -Be 635
            $cmp['sij_out_len'] | Should -Be 544
            $cmp['type_vector'] | Should -BeNullOrEmpty
        }

        It 'drops the compress key when the model is not compressed' {
            $c = Read-Model $CompressedPath
            $p = Join-Path $TestDrive 'uncompressed.ckpt'
            [DpCompress.Core.Serialization.CheckpointWriter]::Write($c.WithCompression($null), $p) | Out-Null
            $m = Read-Model $p
            $m.IsCompressed | Should -BeFalse
            @($m.Checkpoint.Keys) | Should -Not -Contain 'compress'
        }
    }

    Context 'failures' {
        It 'fails with ExportWriteFailed when the folder does not exist, leaving nothing behind' {
            $p = Join-Path $TestDrive 'missing-folder/x.ckpt'
            $e = Get-DpError { [DpCompress.Core.Serialization.CheckpointWriter]::Write((Read-Model $DpModelPath), $p) }
            $e.ErrorId | Should -Be 'ExportWriteFailed'
            $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::WriteError)
            Test-Path -LiteralPath $p | Should -BeFalse
        }

        It 'fails with ExportWriteFailed when the target is a directory' {
            $dir = Join-Path $TestDrive 'adir.ckpt'
            New-Item -ItemType Directory -Path $dir | Out-Null
            (Get-DpError { [DpCompress.Core.Serialization.CheckpointWriter]::Write((Read-Model $DpModelPath), $dir) }).ErrorId | Should -Be 'ExportWriteFailed'
        }

        It 'overwrites an existing file and leaves no temporary file' {
            $dir = Join-Path $TestDrive 'clean'
            New-Item -ItemType Directory -Path $dir | Out-Null
            $p = Join-Path $dir 'model.ckpt'
            Set-Content -LiteralPath $p -Value 'old content'
            [DpCompress.Core.Serialization.CheckpointWriter]::Write((Read-Model $DpModelPath), $p) | Out-Null
            @(Get-ChildItem -LiteralPath $dir -Force).Name | Should -Be @('model.ckpt')
            (Read-Model $p).AtomTypes | Should -Be @(47, 79)
        }
    }
}

Describe 'Protocol-2 bytes: latin-1 text written and read without a string' {
    BeforeAll {
        # Random bytes (seeded) of 2 MB: their latin-1 text is about 3 MB of UTF-8, above the reader's 1 MB threshold.
        $rng = [Random]::new(7)
        $script:Big = [byte[]]::new(2MB); $rng.NextBytes($script:Big)
        $script:Small = [byte[]]::new(300); $rng.NextBytes($script:Small)
        $script:Values = [double[]]::new(200000); for ($i = 0; $i -lt $Values.Length; $i++) { $Values[$i] = $rng.NextDouble() * 1e6 - 5e5 }
        $script:Values[17] = [double]::NaN; $script:Values[18] = [double]::NegativeInfinity; $script:Values[19] = -0.0
        function script:Unpickle([byte[]] $Pickle) { [DpCompress.Core.Serialization.SafeUnpickler]::new($Pickle).Load() }
        # A hand-built protocol-2 pickle of _codecs.encode(<Utf8 as BINUNICODE>, 'latin1'): bytes as Python writes them.
        function script:New-CodecsEncodePickle([byte[]] $Utf8) {
            $ms = [IO.MemoryStream]::new()
            $ms.Write([byte[]](0x80, 0x02), 0, 2)
            $g = [Text.Encoding]::ASCII.GetBytes("c_codecs`nencode`n"); $ms.Write($g, 0, $g.Length)
            $ms.WriteByte(0x58); $ms.Write([BitConverter]::GetBytes([int]$Utf8.Length), 0, 4); $ms.Write($Utf8, 0, $Utf8.Length)
            $l = [Text.Encoding]::ASCII.GetBytes('latin1'); $ms.WriteByte(0x8c); $ms.WriteByte($l.Length); $ms.Write($l, 0, $l.Length)
            $ms.Write([byte[]](0x86, 0x52, 0x2e), 0, 3)   # TUPLE2, REDUCE, STOP
            $ms.ToArray()
        }
    }

    It 'writes bytes as the UTF-8 of their latin-1 text (what Python writes)' {
        $pickle = [DpCompress.Core.Serialization.PickleWriter]::new().Write($Big)
        $expected = [Text.Encoding]::UTF8.GetBytes([Text.Encoding]::Latin1.GetString($Big))
        # BINUNICODE ('X', length as 4 little-endian bytes) near the start, right after the _codecs.encode global.
        $lengthBytes = [BitConverter]::GetBytes([int]$expected.Length)
        $at = -1
        for ($i = 0; $i -lt 64 -and $at -lt 0; $i++) {
            if ($pickle[$i] -eq 0x58 -and $pickle[$i + 1] -eq $lengthBytes[0] -and $pickle[$i + 2] -eq $lengthBytes[1] -and $pickle[$i + 3] -eq $lengthBytes[2] -and $pickle[$i + 4] -eq $lengthBytes[3]) { $at = $i }
        }
        $at | Should -BeGreaterThan 0
        $payload = [byte[]]::new($expected.Length); [Array]::Copy($pickle, $at + 5, $payload, 0, $expected.Length)
        [Linq.Enumerable]::SequenceEqual($payload, $expected) | Should -BeTrue
    }

    It 'reads back large and small bytes and a float64 array bit for bit' {
        $list = [Collections.Generic.List[object]]::new()
        $list.Add($Big); $list.Add($Small); $list.Add([DpCompress.Core.Serialization.NdArray]::FromDoubles($Values, [long[]]@(400, 500)))
        $back = Unpickle ([DpCompress.Core.Serialization.PickleWriter]::new().Write($list))
        $back[0].GetType() | Should -Be ([byte[]])
        [Linq.Enumerable]::SequenceEqual([byte[]]$back[0], $Big) | Should -BeTrue
        [Linq.Enumerable]::SequenceEqual([byte[]]$back[1], $Small) | Should -BeTrue
        $doubles = $back[2].ToDoubleArray()
        [Linq.Enumerable]::SequenceEqual(
            [long[]]@($doubles | ForEach-Object { [BitConverter]::DoubleToInt64Bits($_) }),
            [long[]]@($Values | ForEach-Object { [BitConverter]::DoubleToInt64Bits($_) })) | Should -BeTrue
    }

    It 'keeps a large str that is not _codecs.encode''s argument a string, latin-1 or not' {
        $latin = [string]::new([char]0xE9, 1.5MB)   # 'é' × 1.5 M: latin-1, 3 MB of UTF-8
        $wide = 'x' * 1MB + [char]0x20AC            # ends with '€' (three UTF-8 bytes)
        foreach ($s in $latin, $wide) {
            $back = Unpickle ([DpCompress.Core.Serialization.PickleWriter]::new().Write($s))
            $back.GetType() | Should -Be ([string])
            $back -ceq $s | Should -BeTrue
        }
    }

    It 'refuses a large _codecs.encode argument with a character outside latin-1 (CheckpointCorrupt)' {
        # _codecs.encode('x…x€', 'latin1'), hand-built: the reader falls back to a string, then refuses it.
        $text = [Text.Encoding]::UTF8.GetBytes('x' * 1MB + [char]0x20AC)
        $e = Get-DpError { Unpickle (New-CodecsEncodePickle $text) }
        $e.ErrorId | Should -Be 'CheckpointCorrupt'
        $e.Message | Should -Match 'outside latin-1'
    }

    It 'refuses a large _codecs.encode argument made only of continuation bytes (CheckpointCorrupt)' {
        $text = [byte[]]::new(1200KB); [Array]::Fill($text, [byte]0x80)
        (Get-DpError { Unpickle (New-CodecsEncodePickle $text) }).ErrorId | Should -Be 'CheckpointCorrupt'
    }

    It 'refuses a large _codecs.encode argument cut inside a two-byte sequence (CheckpointCorrupt or CheckpointTruncated)' {
        $text = [Text.Encoding]::UTF8.GetBytes([string]::new([char]0xE9, 600KB))
        $cut = [byte[]]::new($text.Length - 1); [Array]::Copy($text, $cut, $cut.Length)   # ends with a lone 0xC3
        (Get-DpError { Unpickle (New-CodecsEncodePickle $cut) }).ErrorId | Should -BeIn 'CheckpointCorrupt', 'CheckpointTruncated'
    }
}
