# The HDF5 structure walk that runs before PureHDF reads a .dp file (Hdf5Prewalk): genuine files and files
# written by Export-DpModel pass; targeted corruptions of the genuine h5py file (superblock version 0, version 1
# object headers, an old-style root group) end in DeepMdFileCorrupt naming the damage, quickly and without a
# large allocation. Every offset is found by walking the file's own structure (superblock -> root object header
# and its continuation block -> symbol table message -> B-tree -> symbol table nodes -> dataset headers).

BeforeDiscovery {
    # Each case edits a copy of the genuine file through $Edit (bytes, map of the structure) and must be refused
    # with a message matching $Pattern. Without the walk, PureHDF either allocates ~2 GiB, overflows its stack,
    # reads the damage as valid, or fails with another message.
    $script:Corruptions = @(
        @{ Case = 'an Old Fill Value message declaring 0x7FFF0000 bytes'; Pattern = 'Fill Value \(Old\) message at byte \d+: the fill value needs 2147418112 bytes'
            Edit = { param($b, $m) $f = $m.DatasetMessages | Where-Object Type -EQ 0x05 | Select-Object -First 1
                Set-U16 $b $f.Header 0x04; Set-U32 $b $f.Body 0x7FFF0000 } }
        @{ Case = 'a message whose size runs past its object header'; Pattern = 'Dataspace message at byte \d+ declares 32752 bytes, past the end of its object header block'
            Edit = { param($b, $m) $s = $m.DatasetMessages | Where-Object Type -EQ 0x01 | Select-Object -First 1
                Set-U16 $b ($s.Header + 2) 0x7FF0 } }
        @{ Case = 'a continuation block outside the file'; Pattern = 'continuation block of the object header at address \d+ \(96 bytes at address \d+\) lies past the end of the file'
            Edit = { param($b, $m) Set-U64 $b $m.Continuation.Body ($b.Length + 4096) } }
        @{ Case = 'a continuation block that continues into itself'; Pattern = 'continuation block at address \d+ is referenced twice \(a continuation cycle\)'
            Edit = { param($b, $m) $a = $m.Json
                Set-U16 $b $a.Header 0x10; Set-U64 $b $a.Body $m.ContinuationAddress; Set-U64 $b ($a.Body + 8) $m.ContinuationLength } }
        @{ Case = 'an attribute name longer than its message'; Pattern = 'Attribute message at byte \d+: the attribute name needs 200 bytes'
            Edit = { param($b, $m) Set-U16 $b ($m.Json.Body + 2) 200 } }
        @{ Case = 'a local heap data segment past the end of the file'; Pattern = 'the data segment of the local heap at address \d+ \(2147418112 bytes at address \d+\) lies past the end of the file'
            Edit = { param($b, $m) Set-U64 $b ($m.Heap + 8) 0x7FFF0000 } }
        @{ Case = 'a dataspace of rank 200'; Pattern = 'Dataspace message at byte \d+: its dataspace rank 200 exceeds HDF5''s limit of 32'
            Edit = { param($b, $m) $s = $m.DatasetMessages | Where-Object Type -EQ 0x01 | Select-Object -First 1
                $b[$s.Body + 1] = 200 } }
        @{ Case = 'a group B-tree node that is its own child'; Pattern = 'B-tree node at address \d+ is referenced twice \(a cycle in the group B-tree\)'
            Edit = { param($b, $m) $b[$m.BTree + 5] = 1; Set-U64 $b ($m.BTree + 24 + 8) $m.BTree } }
        @{ Case = 'a global heap object declaring 0x7FFF0000 bytes'; Pattern = 'global heap object 1 at byte \d+ declares 2147418112 bytes'
            Edit = { param($b, $m) Set-U64 $b ($m.Collection + 16 + 8) 0x7FFF0000 } }
    )
}

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:DpPath = Get-TestDataPath 'deepmd/se_e2_a_agau.dp'
    $script:CompressedPath = Get-TestDataPath 'deepmd/se_e2_a_agau_compressed.dp'

    function Get-U16([byte[]] $B, [long] $At) { [BitConverter]::ToUInt16($B, $At) }
    function Get-U32([byte[]] $B, [long] $At) { [BitConverter]::ToUInt32($B, $At) }
    function Get-U64([byte[]] $B, [long] $At) { [long][BitConverter]::ToUInt64($B, $At) }
    function Set-U16([byte[]] $B, [long] $At, [int] $Value) { [BitConverter]::GetBytes([uint16]$Value).CopyTo($B, $At) }
    function Set-U32([byte[]] $B, [long] $At, [long] $Value) { [BitConverter]::GetBytes([uint32]$Value).CopyTo($B, $At) }
    function Set-U64([byte[]] $B, [long] $At, [long] $Value) { [BitConverter]::GetBytes([uint64]$Value).CopyTo($B, $At) }

    # The messages of the version 1 object header at $Address (16-byte prefix; messages with 8-byte headers:
    # type 2, size 2, flags 1, reserved 3), continuation blocks included: Type, Size, Header and Body offsets.
    function Get-V1Messages([byte[]] $B, [long] $Address) {
        if ($B[$Address] -ne 1) { throw "no version 1 object header at $Address" }
        $blocks = [Collections.Generic.Queue[long[]]]::new()
        $blocks.Enqueue([long[]]@(($Address + 16), (Get-U32 $B ($Address + 8))))
        while ($blocks.Count -gt 0) {
            $block = $blocks.Dequeue()
            for ($p = $block[0]; $p -lt $block[0] + $block[1]; $p += 8 + (Get-U16 $B ($p + 2))) {
                $m = [pscustomobject]@{ Type = [int](Get-U16 $B $p); Size = [int](Get-U16 $B ($p + 2)); Header = $p; Body = $p + 8 }
                if ($m.Type -eq 0x10) { $blocks.Enqueue([long[]]@((Get-U64 $B $m.Body), (Get-U64 $B ($m.Body + 8)))) }
                $m
            }
        }
    }

    # Where the parts of an h5py file (superblock version 0, root group with a symbol table) sit.
    function Get-H5Map([byte[]] $B) {
        if ($B[8] -ne 0 -or $B[13] -ne 8) { throw 'expected superblock version 0 with 8-byte offsets' }
        $root = Get-U64 $B (24 + 32 + 8)                              # the root symbol table entry follows 4 addresses
        $rootMessages = @(Get-V1Messages $B $root)
        $continuation = $rootMessages | Where-Object Type -EQ 0x10 | Select-Object -First 1
        $symbolTable = $rootMessages | Where-Object Type -EQ 0x11 | Select-Object -First 1
        $json = $rootMessages | Where-Object Type -EQ 0x0C | Select-Object -First 1
        $btree = Get-U64 $B $symbolTable.Body
        if ([Text.Encoding]::ASCII.GetString($B, $btree, 4) -ne 'TREE' -or $B[$btree + 5] -ne 0) { throw 'expected a single-level group B-tree' }
        $snod = Get-U64 $B ($btree + 24 + 8)                           # child 0 of the leaf: a symbol table node
        $dataset = Get-U64 $B ($snod + 8 + 8)                          # entry 0: the object header of a dataset
        # The json attribute (version 1): name, datatype and dataspace each padded to 8 bytes, then the data,
        # a variable-length string: sequence length (4), global heap collection address (8), object index (4).
        $pad = { param($n) [long]([math]::Ceiling($n / 8) * 8) }
        $data = $json.Body + 8 + (& $pad (Get-U16 $B ($json.Body + 2))) + (& $pad (Get-U16 $B ($json.Body + 4))) + (& $pad (Get-U16 $B ($json.Body + 6)))
        $collection = Get-U64 $B ($data + 4)
        if ([Text.Encoding]::ASCII.GetString($B, $collection, 4) -ne 'GCOL') { throw 'the json attribute does not point at a global heap collection' }
        [pscustomobject]@{
            Root = $root; Continuation = $continuation; Json = $json; BTree = $btree; Heap = Get-U64 $B ($symbolTable.Body + 8)
            ContinuationAddress = Get-U64 $B $continuation.Body; ContinuationLength = Get-U64 $B ($continuation.Body + 8)
            DatasetMessages = @(Get-V1Messages $B $dataset); Collection = $collection
        }
    }

    # Reads $Path with DeepMdDocument.Read on this thread: the error (or $null), the bytes allocated and the time.
    function Measure-DpRead([string] $Path) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $before = [GC]::GetAllocatedBytesForCurrentThread()
        $err = Get-DpError { [DpCompress.Core.Serialization.DeepMd.DeepMdDocument]::Read($Path) }
        [pscustomobject]@{ Error = $err; Allocated = [GC]::GetAllocatedBytesForCurrentThread() - $before; Seconds = $sw.Elapsed.TotalSeconds }
    }

    # Every leaf of a model tree as "path = value" lines, arrays with dtype, shape and every value.
    function Get-TreeLines($Node, [string] $Path = '') {
        if ($Node -is [DpCompress.Core.Serialization.PyDict]) { foreach ($k in $Node.Keys) { Get-TreeLines $Node[$k] "$Path/$k" } }
        elseif ($Node -is [Collections.Generic.List[object]]) { for ($i = 0; $i -lt $Node.Count; $i++) { Get-TreeLines $Node[$i] "$Path/$i" } }
        elseif ($Node -is [DpCompress.Core.Serialization.NdArray]) { "$Path = $($Node.DType) [$($Node.Shape -join ',')] $(($Node.ToDoubleArray() | ForEach-Object { $_.ToString('R') }) -join ' ')" }
        else { "$Path = $Node" }
    }

    $script:Bytes = [IO.File]::ReadAllBytes($script:DpPath)
    $script:Map = Get-H5Map $script:Bytes
}

Describe 'The HDF5 structure walk before PureHDF (Hdf5Prewalk)' {
    Context 'genuine files' {
        It 'reads DeePMD-kit''s h5py file and its own compressed file' {
            foreach ($path in $script:DpPath, $script:CompressedPath) {
                $r = Measure-DpRead $path
                $r.Error | Should -BeNullOrEmpty
                (Import-DpModel -LiteralPath $path).Flavour | Should -Be 'DeepMdSeE2A'
            }
        }

        It 'reads the h5py file behind a 512-byte user block (signature at byte 512, base address 512)' {
            $bytes = [byte[]]::new(512 + $script:Bytes.Length)
            [Array]::Copy($script:Bytes, 0, $bytes, 512, $script:Bytes.Length)
            Set-U64 $bytes (512 + 24) 512                                  # the base address of superblock version 0
            $path = Join-Path $TestDrive 'userblock.dp'
            [IO.File]::WriteAllBytes($path, $bytes)
            (Measure-DpRead $path).Error | Should -BeNullOrEmpty
            (Import-DpModel -LiteralPath $path).Davg | Should -Be (Import-DpModel -LiteralPath $script:DpPath).Davg
        }

        It 'reads every .dp that Export-DpModel writes, as the same model' -ForEach @(
            @{ Name = 'the original model'; Source = 'deepmd/se_e2_a_agau.dp' }
            @{ Name = 'DeePMD-kit''s compressed model'; Source = 'deepmd/se_e2_a_agau_compressed.dp' }
        ) {
            $model = Import-DpModel -LiteralPath (Get-TestDataPath $Source)
            $out = Join-Path $TestDrive ("written-" + [IO.Path]::GetFileName($Source))
            $model | Export-DpModel -LiteralPath $out
            (Measure-DpRead $out).Error | Should -BeNullOrEmpty
            $back = Import-DpModel -LiteralPath $out
            $back.IsCompressed | Should -Be $model.IsCompressed
            $diff = Compare-Object @(Get-TreeLines $back.Checkpoint) @(Get-TreeLines $model.Checkpoint) -SyncWindow 0
            $diff | Should -BeNullOrEmpty
        }
    }

    Context 'checksums of version 2 object headers and version 3 superblocks (files Export-DpModel writes)' {
        BeforeAll {
            # lookup3 through the walk's own code: Lookup3(byte[] data, int piece, uint seed) feeds the stream in pieces.
            $script:Lookup3 = [DpCompress.Core.Serialization.DeepMd.DeepMdDocument].Assembly.GetType('DpCompress.Core.Serialization.DeepMd.Hdf5Prewalk', $true).GetMethod('Lookup3', [Reflection.BindingFlags]'NonPublic, Static', $null, [Type[]]@([byte[]], [int], [uint32]), $null)
            function Get-Lookup3([byte[]] $Data, [int] $Piece = 1MB, [uint32] $Seed = 0) { [uint32]$script:Lookup3.Invoke($null, @($Data, $Piece, $Seed)) }
            $script:Written = Join-Path $TestDrive 'checksummed.dp'
            Import-DpModel -LiteralPath $script:DpPath | Export-DpModel -LiteralPath $script:Written
            $script:WrittenBytes = [IO.File]::ReadAllBytes($script:Written)
            # The first version 2 object header (found by its signature; the writer's files have base address 0)
            # with a compact Data Layout message (version 3 or 4, class 0) holding at least 8 bytes of data: the header's
            # position, its checksum's position, and where the data starts.
            $script:Compact = $null
            $b = $script:WrittenBytes
            for ($at = 48; $at -lt $b.Length - 8 -and -not $script:Compact; $at++) {
                if ($b[$at] -ne 0x4F -or [Text.Encoding]::ASCII.GetString($b, $at, 4) -ne 'OHDR' -or $b[$at + 4] -ne 2) { continue }
                $flags = $b[$at + 5]
                $offset = 6 + $(if ($flags -band 0x20) { 16 } else { 0 }) + $(if ($flags -band 0x10) { 4 } else { 0 })
                $sizeBytes = 1 -shl ($flags -band 3)
                $size = [long]0; for ($i = $sizeBytes - 1; $i -ge 0; $i--) { $size = $size * 256 + $b[$at + $offset + $i] }
                $first = $at + $offset + $sizeBytes
                $prefix = if ($flags -band 4) { 6 } else { 4 }
                for ($p = $first; $p + $prefix -le $first + $size; $p += $prefix + (Get-U16 $b ($p + 1))) {
                    $body = $p + $prefix
                    if ($b[$p] -eq 0x08 -and $b[$body] -in 3, 4 -and $b[$body + 1] -eq 0 -and (Get-U16 $b ($body + 2)) -ge 8) {
                        $script:Compact = [pscustomobject]@{ Header = $at; Checksum = $first + $size; Data = $body + 4 }
                        break
                    }
                }
            }
        }

        It 'computes lookup3 as Jenkins published it, in one piece and in pieces' {
            '{0:x8}' -f (Get-Lookup3 ([byte[]]@())) | Should -Be 'deadbeef'
            $text = [Text.Encoding]::ASCII.GetBytes('Four score and seven years ago')
            foreach ($piece in 1, 5, 12, 13, 30) {
                '{0:x8}' -f (Get-Lookup3 $text $piece) | Should -Be '17770551'
                '{0:x8}' -f (Get-Lookup3 $text $piece 1) | Should -Be 'cd628161'
            }
            # The superblock the writer wrote (version 3: 44 bytes, then their checksum).
            $script:WrittenBytes[8] | Should -Be 3
            Get-Lookup3 ([byte[]]$script:WrittenBytes[0..43]) | Should -Be ([BitConverter]::ToUInt32($script:WrittenBytes, 44))
        }

        It 'refuses a changed number in a compact dataset; the same change with its checksum recomputed is read, so the checksum is what refuses it' {
            $script:Compact | Should -Not -BeNullOrEmpty -Because 'the writer keeps small arrays inside their object headers'
            $bytes = [byte[]]$script:WrittenBytes.Clone()
            $bytes[$script:Compact.Data + 3] = $bytes[$script:Compact.Data + 3] -bxor 0x10
            $path = Join-Path $TestDrive 'flipped.dp'
            [IO.File]::WriteAllBytes($path, $bytes)
            $r = Measure-DpRead $path
            $r.Error.ErrorId | Should -Be 'DeepMdFileCorrupt'
            $r.Error.Message | Should -Match "the checksum of the object header at address $($script:Compact.Header) \(byte $($script:Compact.Header)\) does not match its contents"
            { Import-DpModel -LiteralPath $path -ErrorAction Stop } | Should -Throw -ErrorId 'DeepMdFileCorrupt,DpCompress.PowerShell.Commands.ImportDpModelCommand'
            $length = $script:Compact.Checksum - $script:Compact.Header
            $sum = Get-Lookup3 ([byte[]]$bytes[$script:Compact.Header..($script:Compact.Checksum - 1)])
            [BitConverter]::GetBytes([uint32]$sum).CopyTo($bytes, $script:Compact.Checksum)
            $length | Should -BeGreaterThan 0
            $resummed = Join-Path $TestDrive 'resummed.dp'
            [IO.File]::WriteAllBytes($resummed, $bytes)
            (Measure-DpRead $resummed).Error | Should -BeNullOrEmpty
            $diff = Compare-Object @(Get-TreeLines (Import-DpModel -LiteralPath $resummed).Checkpoint) @(Get-TreeLines (Import-DpModel -LiteralPath $script:Written).Checkpoint) -SyncWindow 0
            $diff | Should -Not -BeNullOrEmpty -Because 'the flipped bit changed a number'
        }

        It 'refuses a version 3 superblock whose checksum does not match' {
            $bytes = [byte[]]$script:WrittenBytes.Clone()
            $bytes[44] = $bytes[44] -bxor 1
            $path = Join-Path $TestDrive 'superblock.dp'
            [IO.File]::WriteAllBytes($path, $bytes)
            $r = Measure-DpRead $path
            $r.Error.ErrorId | Should -Be 'DeepMdFileCorrupt'
            $r.Error.Message | Should -Match 'the checksum of the version 3 superblock \(byte 0\) does not match its contents'
        }
    }

    Context 'crafted corruptions of the h5py file' {
        It 'refuses <Case> (DeepMdFileCorrupt, quickly, allocating little)' -ForEach $script:Corruptions {
            $bytes = [byte[]]$script:Bytes.Clone()
            & $Edit $bytes $script:Map
            $path = Join-Path $TestDrive 'crafted.dp'
            [IO.File]::WriteAllBytes($path, $bytes)
            $r = Measure-DpRead $path
            $r.Error | Should -Not -BeNullOrEmpty
            $r.Error.ErrorId | Should -Be 'DeepMdFileCorrupt'
            $r.Error.Message | Should -Match $Pattern
            $r.Allocated | Should -BeLessThan 64MB
            $r.Seconds | Should -BeLessThan 10
            { Import-DpModel -LiteralPath $path -ErrorAction Stop } | Should -Throw -ErrorId 'DeepMdFileCorrupt,DpCompress.PowerShell.Commands.ImportDpModelCommand'
        }
    }
}
