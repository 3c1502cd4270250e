# Hostile and broken inputs (issue 14): every crafted file below ends in an error with its own id,
# never a raw .NET exception, a huge allocation or a hang. Files are generated here, from
# tests/data/agau/dp_model.ckpt or from scratch (small hand-written pickles).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'TestHelpers.psm1') -Force
    Import-DpCompressUnderTest

    $script:DpModelPath = Get-TestDataPath 'agau/dp_model.ckpt'


    function Read-Archive([string] $Path) { [DpCompress.Core.Serialization.TorchArchive]::Read($Path) }
    function Read-Model([string] $Path) { [DpCompress.Core.Serialization.CheckpointReader]::Read($Path) }
    function Get-Bytes([string] $Latin1) { [System.Text.Encoding]::Latin1.GetBytes($Latin1) }

    # A zip of the given records (name => byte[]); NoCompression unless -Deflate.
    function New-Zip([string] $Path, [System.Collections.IDictionary] $Records, [switch] $Deflate) {
        $level = if ($Deflate) { [System.IO.Compression.CompressionLevel]::Optimal } else { [System.IO.Compression.CompressionLevel]::NoCompression }
        $fs = [System.IO.File]::Create($Path)
        try {
            $zip = [System.IO.Compression.ZipArchive]::new($fs, [System.IO.Compression.ZipArchiveMode]::Create)
            foreach ($name in $Records.Keys) {
                $s = $zip.CreateEntry($name, $level).Open()
                [byte[]] $bytes = $Records[$name]
                $s.Write($bytes, 0, $bytes.Length)
                $s.Dispose()
            }
            $zip.Dispose()
        } finally { $fs.Dispose() }
    }

    # Pickle integer: BININT for 0..2^31-1, else LONG1 with 8 bytes.
    function Get-PInt([long] $Value) {
        if ($Value -ge 0 -and $Value -le [int]::MaxValue) { return [byte[]](@(0x4a) + [BitConverter]::GetBytes([int] $Value)) }
        [byte[]](@(0x8a, 8) + [BitConverter]::GetBytes($Value))
    }
    function Get-PTuple([long[]] $Values) {
        $b = [System.Collections.Generic.List[byte]]::new(); $b.Add(0x28)
        foreach ($v in $Values) { $b.AddRange([byte[]](Get-PInt $v)) }
        $b.Add(0x74); , $b.ToArray()
    }
    function Get-PStr([string] $Text) {
        $u = [System.Text.Encoding]::UTF8.GetBytes($Text)
        [byte[]](@(0x58) + [BitConverter]::GetBytes([uint32] $u.Length) + $u)
    }

    # x/data.pkl = _rebuild_tensor_v2(storage('0', DoubleStorage, numel), offset, size, stride, False, OrderedDict()),
    # x/data/0 = $StorageDoubles float64 values 1, 2, 3, ...
    function New-TensorCkpt([string] $Path, [long] $Numel, [long] $Offset, [long[]] $Size, [long[]] $Stride, [int] $StorageDoubles = 4) {
        $p = [System.Collections.Generic.List[byte]]::new()
        $p.AddRange([byte[]](0x80, 0x02))
        $p.AddRange([byte[]](Get-Bytes "ctorch._utils`n_rebuild_tensor_v2`n"))
        $p.Add(0x28)                                               # MARK (arguments)
        $p.Add(0x28)                                               # MARK (persistent id)
        $p.AddRange([byte[]](Get-PStr 'storage'))
        $p.AddRange([byte[]](Get-Bytes "ctorch`nDoubleStorage`n"))
        $p.AddRange([byte[]](Get-PStr '0'))
        $p.AddRange([byte[]](Get-PStr 'cpu'))
        $p.AddRange([byte[]](Get-PInt $Numel))
        $p.Add(0x74); $p.Add(0x51)                                 # TUPLE, BINPERSID
        $p.AddRange([byte[]](Get-PInt $Offset))
        $p.AddRange([byte[]](Get-PTuple $Size))
        $p.AddRange([byte[]](Get-PTuple $Stride))
        $p.Add(0x89)                                               # False
        $p.AddRange([byte[]](Get-Bytes "ccollections`nOrderedDict`n)R"))
        $p.AddRange([byte[]](0x74, 0x52, 0x2e))                    # TUPLE, REDUCE, STOP
        $data = [byte[]]::new(8 * $StorageDoubles)
        for ($i = 0; $i -lt $StorageDoubles; $i++) { [BitConverter]::GetBytes([double] ($i + 1)).CopyTo($data, 8 * $i) }
        New-Zip $Path ([ordered]@{ 'x/data.pkl' = $p.ToArray(); 'x/data/0' = $data })
    }

    # A checkpoint whose data.pkl is $Pickle (PROTO 2 is prepended, STOP appended).
    function New-PickleCkpt([string] $Path, [byte[]] $Body) {
        $bytes = [byte[]]::new($Body.Length + 3)
        $bytes[0] = 0x80; $bytes[1] = 0x02
        [Array]::Copy($Body, 0, $bytes, 2, $Body.Length)
        $bytes[$bytes.Length - 1] = 0x2e
        New-Zip $Path @{ 'x/data.pkl' = $bytes }
    }

    # Offset of the first data byte of zip record $Name in $Bytes (from its local header).
    function Get-RecordDataOffset([byte[]] $Bytes, [string] $Name) {
        $zip = [System.IO.Compression.ZipFile]::OpenRead($DpModelPath)
        try { $entry = $zip.GetEntry($Name); $length = $entry.Length } finally { $zip.Dispose() }
        $needle = Get-Bytes $Name
        $text = [System.Text.Encoding]::Latin1.GetString($Bytes)
        $at = $text.IndexOf([System.Text.Encoding]::Latin1.GetString($needle), [System.StringComparison]::Ordinal)
        $header = $at - 30
        $nameLength = [BitConverter]::ToUInt16($Bytes, $header + 26)
        $extraLength = [BitConverter]::ToUInt16($Bytes, $header + 28)
        [pscustomobject]@{ Offset = $header + 30 + $nameLength + $extraLength; Length = $length }
    }
}

Describe 'Integrity: CRC-32 of every zip record' {
    It 'a flipped byte inside a storage is CheckpointCorrupt naming the record' {
        $bytes = [System.IO.File]::ReadAllBytes($DpModelPath)
        $r = Get-RecordDataOffset $bytes 'dp_model/data/3'
        $bytes[$r.Offset + [int]($r.Length / 2)] = $bytes[$r.Offset + [int]($r.Length / 2)] -bxor 0x10
        $p = Join-Path $TestDrive 'flip-storage.ckpt'
        [System.IO.File]::WriteAllBytes($p, $bytes)
        $e = Get-DpError { Read-Model $p }
        $e.ErrorId | Should -Be 'CheckpointCorrupt'
        $e.Message | Should -Match 'dp_model/data/3'
        $e.Message | Should -Match 'CRC-32'
    }

    It 'a flipped byte inside data.pkl is CheckpointCorrupt naming data.pkl (via Import-DpModel)' {
        $bytes = [System.IO.File]::ReadAllBytes($DpModelPath)
        $r = Get-RecordDataOffset $bytes 'dp_model/data.pkl'
        # a byte of a float inside the pickle: the pickle still parses, only the CRC tells
        $bytes[$r.Offset + $r.Length - 40] = $bytes[$r.Offset + $r.Length - 40] -bxor 0x01
        $p = Join-Path $TestDrive 'flip-pkl.ckpt'
        [System.IO.File]::WriteAllBytes($p, $bytes)
        Import-DpModel -LiteralPath $p -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -Match '^CheckpointCorrupt'
        $err[0].Exception.Message | Should -Match 'dp_model/data.pkl'
    }

    It 'the unmodified checkpoint still reads' {
        (Read-Model $DpModelPath).AtomTypes | Should -Be @(47, 79)
    }
}

Describe 'Bounded reading: storages and tensor views' {
    It 'a contiguous view of the whole storage shares its bytes' {
        $p = Join-Path $TestDrive 'ok.ckpt'
        New-TensorCkpt $p -Numel 4 -Offset 0 -Size 2, 2 -Stride 2, 1
        $t = Read-Archive $p
        $t.ToDoubleArray() | Should -Be @(1.0, 2.0, 3.0, 4.0)
        [object]::ReferenceEquals($t.Data, $t.Storage.Data) | Should -BeTrue
    }

    It 'a transposed view is copied in row-major order' {
        $p = Join-Path $TestDrive 'transposed.ckpt'
        New-TensorCkpt $p -Numel 4 -Offset 0 -Size 2, 2 -Stride 1, 2
        (Read-Archive $p).ToDoubleArray() | Should -Be @(1.0, 3.0, 2.0, 4.0)
    }

    It 'a storage that declares 2^62 elements is CheckpointStorageTooShort, not an OverflowException' {
        $p = Join-Path $TestDrive 'numel.ckpt'
        New-TensorCkpt $p -Numel ([long] 1 -shl 62) -Offset 0 -Size 4 -Stride 1
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointStorageTooShort'
    }

    It 'a stride-0 view expanding 4 doubles to 128 M is CheckpointTensorViewInvalid' {
        $p = Join-Path $TestDrive 'stride0.ckpt'
        New-TensorCkpt $p -Numel 4 -Offset 0 -Size 134217728 -Stride 0
        $e = Get-DpError { Read-Archive $p }
        $e.ErrorId | Should -Be 'CheckpointTensorViewInvalid'
        $e.Message | Should -Match 'stride 0'
    }

    It 'an overlapping view is CheckpointTensorViewInvalid' {
        $p = Join-Path $TestDrive 'overlap.ckpt'
        New-TensorCkpt $p -Numel 4 -Offset 0 -Size 3, 2 -Stride 1, 1
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointTensorViewInvalid'
    }

    It 'a view beyond its storage is CheckpointStorageTooShort' {
        $p = Join-Path $TestDrive 'beyond.ckpt'
        New-TensorCkpt $p -Numel 4 -Offset 2 -Size 3 -Stride 1
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointStorageTooShort'
    }

    It 'a view with a huge offset or size is an error with an id, not an OverflowException' {
        $p = Join-Path $TestDrive 'hugeoffset.ckpt'
        New-TensorCkpt $p -Numel 4 -Offset ([long]::MaxValue - 2) -Size 4 -Stride 1
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointTensorViewInvalid'
        New-TensorCkpt $p -Numel 4 -Offset 0 -Size ([long]::MaxValue), 2 -Stride 2, 1
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointTensorViewInvalid'
    }

    It 'a deflated record that expands beyond the limit is CheckpointExpansionTooLarge' {
        $p = Join-Path $TestDrive 'bomb.ckpt'
        $zeros = [byte[]]::new(80MB)
        New-Zip $p @{ 'x/data.pkl' = $zeros } -Deflate
        (Get-Item $p).Length | Should -BeLessThan 1MB
        $e = Get-DpError { Read-Archive $p }
        $e.ErrorId | Should -Be 'CheckpointExpansionTooLarge'
        $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::LimitsExceeded)
    }
}

Describe 'Bounded reading: the pickle' {
    It 'a DUP flood is CheckpointPickleStackTooDeep' {
        $body = [byte[]]::new(1000002)
        [Array]::Fill($body, [byte] 0x32)   # DUP
        $body[0] = 0x4e                      # None
        $p = Join-Path $TestDrive 'dup.ckpt'
        New-PickleCkpt $p $body
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointPickleStackTooDeep'
    }

    It 'a MARK flood is CheckpointPickleStackTooDeep' {
        $body = [byte[]]::new(1000002)
        [Array]::Fill($body, [byte] 0x28)   # MARK
        $p = Join-Path $TestDrive 'mark.ckpt'
        New-PickleCkpt $p $body
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointPickleStackTooDeep'
    }

    It 'a MEMOIZE flood is CheckpointPickleMemoTooLarge' {
        $body = [byte[]]::new(1000002)
        [Array]::Fill($body, [byte] 0x94)   # MEMOIZE
        $body[0] = 0x4e
        $p = Join-Path $TestDrive 'memo.ckpt'
        New-PickleCkpt $p $body
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointPickleMemoTooLarge'
    }

    It 'an APPEND flood in one list is CheckpointContainerTooLarge' {
        $p = Join-Path $TestDrive 'append1.ckpt'
        New-PickleCkpt $p (Get-Bytes (']' + ('Na' * 200000)))
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointContainerTooLarge'
    }

    It 'APPEND floods over many lists are CheckpointMemoryBudgetExceeded' {
        # 30 x ([] then (None, APPEND) x 90,000, POP): 43 MB of lists built from a 5.4 MB pickle
        $body = Get-Bytes ((']' + ('Na' * 90000) + '0') * 30)
        $p = Join-Path $TestDrive 'append.ckpt'
        New-PickleCkpt $p $body
        $e = Get-DpError { Read-Archive $p }
        $e.ErrorId | Should -Be 'CheckpointMemoryBudgetExceeded'
        $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::LimitsExceeded)
    }

    It 'a 1 MB LONG4 integer is CheckpointIntegerTooLong (no decimal conversion)' {
        $body = [byte[]]::new(5 + 1MB)
        $body[0] = 0x8b
        [BitConverter]::GetBytes([int] 1MB).CopyTo($body, 1)
        [Array]::Fill($body, [byte] 0x7f, 5, 1MB)
        $p = Join-Path $TestDrive 'long4.ckpt'
        New-PickleCkpt $p $body
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointIntegerTooLong'
    }

    It 'a 100,000-digit INT literal is CheckpointIntegerTooLong' {
        $p = Join-Path $TestDrive 'intline.ckpt'
        New-PickleCkpt $p (Get-Bytes ('I' + ('9' * 100000) + "`n"))
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointIntegerTooLong'
    }

    It 'containers nested 5,000 deep are CheckpointNestingTooDeep' {
        $n = 5000
        $p = Join-Path $TestDrive 'deep.ckpt'
        New-PickleCkpt $p ([byte[]](@(0x5d) * $n + @(0x61) * ($n - 1)))
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointNestingTooDeep'
    }

    It 'a dict of 5,000 keys is read with every key' {
        $n = 5000
        $ms = [System.IO.MemoryStream]::new()
        $ms.WriteByte(0x7d); $ms.WriteByte(0x28)            # EMPTY_DICT, MARK
        $item = [byte[]](0x4a, 0, 0, 0, 0, 0x4e)            # BININT i, None
        for ($i = 0; $i -lt $n; $i++) {
            [BitConverter]::GetBytes([int] $i).CopyTo($item, 1)
            $ms.Write($item, 0, 6)
        }
        $ms.WriteByte(0x75)                                 # SETITEMS
        $p = Join-Path $TestDrive 'bigdict.ckpt'
        New-PickleCkpt $p $ms.ToArray()
        $d = Read-Archive $p
        $d.Count | Should -Be $n
        $d.ContainsKey([long] 4999) | Should -BeTrue
    }

    It 'PyDict insertion and look-up are hashed: 300,000 keys in linear time' {
        $d = [DpCompress.Core.Serialization.PyDict]::new()
        for ($i = 0; $i -lt 300000; $i++) { $d[[long] $i] = $null }
        $d.Count | Should -Be 300000
        $d.ContainsKey([long] 299999) | Should -BeTrue
        $d.Remove([long] 5) | Should -BeTrue
        $d.ContainsKey([long] 299999) | Should -BeTrue
        $d.Items[5].Key | Should -Be 6
    }

    It 'a dict of 300,000 keys is CheckpointContainerTooLarge' {
        $n = 300000
        $ms = [System.IO.MemoryStream]::new()
        $ms.WriteByte(0x7d); $ms.WriteByte(0x28)
        $item = [byte[]](0x4a, 0, 0, 0, 0, 0x4e)
        for ($i = 0; $i -lt $n; $i++) { [BitConverter]::GetBytes([int] $i).CopyTo($item, 1); $ms.Write($item, 0, 6) }
        $ms.WriteByte(0x75)
        $p = Join-Path $TestDrive 'hugedict.ckpt'
        New-PickleCkpt $p $ms.ToArray()
        (Get-DpError { Read-Archive $p }).ErrorId | Should -Be 'CheckpointContainerTooLarge'
    }

    It 'an error quotes at most a short excerpt of a 20 MB attacker string' {
        $p = Join-Path $TestDrive 'longname.ckpt'
        New-PickleCkpt $p (Get-Bytes ('c' + ('A' * 20000000) + "`nsystem`n"))
        $e = Get-DpError { Read-Archive $p }
        $e.ErrorId | Should -Be 'CheckpointForbiddenGlobal'
        $e.Message.Length | Should -BeLessThan 600
    }

    It 'no error message is longer than DpCompressException.MaxMessageLength' {
        $e = [DpCompress.Core.DpCompressException]::new('X', [DpCompress.Core.ErrorKind]::InvalidData, ('m' * 100000))
        $e.Message.Length | Should -BeLessOrEqual ([DpCompress.Core.DpCompressException]::MaxMessageLength)
    }
}

Describe 'Unexpected exceptions' {
    It 'become an error with an id that keeps the exception' {
        $inner = [System.InvalidCastException]::new('boom')
        $e = [DpCompress.Core.Serialization.ReaderLimits]::Unexpected('CheckpointUnexpectedError', $inner, 'x.ckpt')
        $e.ErrorId | Should -Be 'CheckpointUnexpectedError'
        $e.Kind | Should -Be ([DpCompress.Core.ErrorKind]::InvalidData)
        [object]::ReferenceEquals($e.InnerException, $inner) | Should -BeTrue
        $oom = [DpCompress.Core.Serialization.ReaderLimits]::Unexpected('ConfigurationUnexpectedError', [System.OutOfMemoryException]::new(), 'x.xyz')
        $oom.Kind | Should -Be ([DpCompress.Core.ErrorKind]::LimitsExceeded)
        [DpCompress.Core.Serialization.ReaderLimits]::IsUnexpected([DpCompress.Core.DpCompressException]::new('A', 'InvalidData', 'm')) | Should -BeFalse
        [DpCompress.Core.Serialization.ReaderLimits]::IsUnexpected([System.OperationCanceledException]::new()) | Should -BeFalse
    }
}

Describe 'Bounded reading: configuration files' {
    It 'an xyz frame of 2^31-1 atoms is ConfigurationAtomCountBeyondFile' {
        $p = Join-Path $TestDrive 'huge.xyz'
        Set-Content -LiteralPath $p -Value "2147483647`nLattice=`"10 0 0 0 10 0 0 0 10`" Properties=species:S:1:pos:R:3`nAu 0 0 0`n"
        $e = Get-DpError { [DpCompress.Core.Structures.ExtXyzReader]::Read($p) }
        $e.ErrorId | Should -Be 'ConfigurationAtomCountBeyondFile'
    }

    It 'a MOVEMENT frame of 2^31-1 atoms is ConfigurationAtomCountBeyondFile' {
        $src = Get-Content -LiteralPath (Get-TestDataPath 'formats/Ag10Au14_valid.MOVEMENT')
        $src[0] = $src[0] -replace '^\s*\d+', '2147483647'
        $p = Join-Path $TestDrive 'huge.MOVEMENT'
        Set-Content -LiteralPath $p -Value $src
        (Get-DpError { [DpCompress.Core.Structures.MovementReader]::Read($p) }).ErrorId | Should -Be 'ConfigurationAtomCountBeyondFile'
    }

    It 'more than 10 million atoms from a stream is ConfigurationTooManyAtoms' {
        $reader = [System.IO.StringReader]::new("20000000`nLattice=`"10 0 0 0 10 0 0 0 10`"`nAu 0 0 0`n")
        (Get-DpError { [DpCompress.Core.Structures.ExtXyzReader]::Read($reader, 'stream.xyz') }).ErrorId | Should -Be 'ConfigurationTooManyAtoms'
    }

    It 'the shipped configuration files still read' {
        foreach ($f in 'formats/Ag10Au14_valid.xyz', 'formats/Ag10Au14_valid.MOVEMENT', 'formats/Au32_first10.xyz') {
            @(Import-DpConfiguration -LiteralPath (Get-TestDataPath $f)).Count | Should -BeGreaterThan 0
        }
    }
}

Describe 'Validation of meaning' {
    BeforeAll {
        $script:CompressedPath = Get-TestDataPath 'agau/cmp_o3_dx0.01.ckpt'
        function Read-Document([string] $Path) { [DpCompress.Core.Serialization.CheckpointReader]::ReadDocument($Path) }
        # Reads $Source, lets $Edit change the document, writes it and returns the error of reading it back.
        function Get-EditError([string] $Source, [scriptblock] $Edit) {
            $doc = Read-Document $Source
            & $Edit $doc
            $p = Join-Path $TestDrive ("edit-{0}.ckpt" -f [guid]::NewGuid().ToString('N'))
            [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($doc, $p) | Out-Null
            Get-DpError { Read-Model $p }
        }
        # A float64 tensor like $Tensor with value $Value at flat index $Index.
        function Set-TensorValue($Tensor, [int] $Index, [double] $Value) {
            $v = $Tensor.ToDoubleArray(); $v[$Index] = $Value
            [DpCompress.Core.Serialization.TorchTensor]::FromDoubles($v, $Tensor.Shape)
        }
    }

    It 'a state_dict without a resnet_dt is CheckpointMissingKey naming it' {
        $e = Get-EditError $DpModelPath { param($d) $d['state_dict'].Remove('fitting_net.1.layers.2.resnet_dt') | Out-Null }
        $e.ErrorId | Should -Be 'CheckpointMissingKey'
        $e.Message | Should -Match ([regex]::Escape('fitting_net.1.layers.2.resnet_dt'))
    }

    It 'a state_dict without a bias is CheckpointMissingKey naming it' {
        $e = Get-EditError $DpModelPath { param($d) $d['state_dict'].Remove('embedding_net.2.layers.1.bias') | Out-Null }
        $e.ErrorId | Should -Be 'CheckpointMissingKey'
        $e.Message | Should -Match ([regex]::Escape('embedding_net.2.layers.1.bias'))
    }

    It 'a resnet_dt on a layer without a skip connection is CheckpointShapeMismatch' {
        $e = Get-EditError $DpModelPath { param($d)
            $d['state_dict']['fitting_net.0.layers.0.resnet_dt'] = [DpCompress.Core.Serialization.TorchTensor]::FromDoubles([double[]]::new(50), [long[]](1, 50)) }
        $e.ErrorId | Should -Be 'CheckpointShapeMismatch'
    }

    It 'a NaN weight is CheckpointInvalidValue naming the tensor' {
        $key = 'fitting_net.1.layers.0.weight'
        $e = Get-EditError $DpModelPath { param($d) $d['state_dict'][$key] = Set-TensorValue $d['state_dict'][$key] 17 ([double]::NaN) }
        $e.ErrorId | Should -Be 'CheckpointInvalidValue'
        $e.Message | Should -Match ([regex]::Escape($key))
    }

    It 'an infinite bias is CheckpointInvalidValue naming the tensor' {
        $key = 'embedding_net.3.layers.2.bias'
        $e = Get-EditError $DpModelPath { param($d) $d['state_dict'][$key] = Set-TensorValue $d['state_dict'][$key] 3 ([double]::PositiveInfinity) }
        $e.ErrorId | Should -Be 'CheckpointInvalidValue'
        $e.Message | Should -Match ([regex]::Escape($key))
    }

    It 'a NaN davg is CheckpointInvalidValue naming davg' {
        $e = Get-EditError $DpModelPath { param($d)
            $a = $d['davg']; $v = $a.ToDoubleArray(); $v[0] = [double]::NaN
            $d['davg'] = [DpCompress.Core.Serialization.NdArray]::FromDoubles($v, $a.Shape) }
        $e.ErrorId | Should -Be 'CheckpointInvalidValue'
        $e.Message | Should -Match 'davg'
    }

    It 'a NaN in the compressed table is CheckpointInvalidValue naming compress.table' {
        $e = Get-EditError $CompressedPath { param($d)
            $a = $d['compress']['table']; $v = $a.ToDoubleArray(); $v[12345] = [double]::NaN
            $d['compress']['table'] = [DpCompress.Core.Serialization.NdArray]::FromDoubles($v, $a.Shape) }
        $e.ErrorId | Should -Be 'CheckpointInvalidValue'
        $e.Message | Should -Match 'compress\.table'
    }

    It 'a compress dx 10 times the table step is CheckpointShapeMismatch' {
        $e = Get-EditError $CompressedPath { param($d) $d['compress']['dx'] = 0.1 }
        $e.ErrorId | Should -Be 'CheckpointShapeMismatch'
        $e.Message | Should -Match 'sij_len'
    }

    It 'sij_min above the grid''s s_max is CheckpointShapeMismatch' {
        $e = Get-EditError $CompressedPath { param($d) $d['compress']['sij_min'] = [DpCompress.Core.Serialization.NdArray]::FromDoubles([double[]](7.0), [long[]]@()) }
        $e.ErrorId | Should -Be 'CheckpointShapeMismatch'
    }

    It 'a stored sij_max outside the last inner interval is CheckpointShapeMismatch' {
        $e = Get-EditError $CompressedPath { param($d) $d['compress']['sij_max'] = [DpCompress.Core.Serialization.NdArray]::FromDoubles([double[]](0.0), [long[]]@()) }
        $e.ErrorId | Should -Be 'CheckpointShapeMismatch'
        $e.Message | Should -Match 'sij_max'
    }

    It 'a checkpoint sij_max below the training data''s range gives the SijMaxBelowData warning, and the grid covers the data' {
        $doc = Read-Document $DpModelPath
        $m0 = Import-DpModel -LiteralPath $DpModelPath
        $doc['sij_max'] = [DpCompress.Core.Serialization.TorchTensor]::FromDoubles([double[]]($m0.SijMax / 2), [long[]]@())
        $p = Join-Path $TestDrive 'sijmaxhalf.ckpt'
        [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($doc, $p) | Out-Null
        $m = Import-DpModel -LiteralPath $p
        $data = Import-DpConfiguration (Join-Path (Get-TestDataPath 'agau') 'PWdata/Ag10Au14')
        $warn = $null
        $g = New-SijGrid -Model $m -TrainingData $data -Layout Exact -WarningVariable warn -WarningAction SilentlyContinue
        @($warn).Count | Should -Be 1
        "$($warn[0])" | Should -Match '^SijMaxBelowData'
        $g.Source | Should -Be 'TrainingData'
        $g.SMax | Should -BeGreaterThan (New-SijGrid -Model $m -Layout Exact).SMax
        # The unmodified checkpoint covers its own data: no warning.
        $warn = $null
        $null = New-SijGrid -Model $m0 -TrainingData $data -Layout Exact -WarningVariable warn -WarningAction SilentlyContinue
        @($warn).Count | Should -Be 0
    }

    It 'a model whose sij_max is 0 imports, but compressing it from that sij_max is InvalidSijMax' {
        $doc = Read-Document $DpModelPath
        $doc['sij_max'] = [DpCompress.Core.Serialization.TorchTensor]::FromDoubles([double[]](0.0), [long[]]@())
        $p = Join-Path $TestDrive 'sijmax0.ckpt'
        [DpCompress.Core.Serialization.CheckpointWriter]::WriteDocument($doc, $p) | Out-Null
        $m = Import-DpModel -LiteralPath $p
        $m.SijMax | Should -Be 0
        $err = $null
        try { $m | Invoke-DpCompression -Dx 0.01 | Out-Null } catch { $err = $_ }
        $err.FullyQualifiedErrorId | Should -Match '^InvalidSijMax'
    }

    It 'the shipped models (original and compressed) pass every check' {
        foreach ($f in 'agau/dp_model.ckpt', 'agau/cmp_o3_dx0.01.ckpt', 'alloy5/dp5_model.ckpt') {
            (Read-Model (Get-TestDataPath $f)).AtomTypes.Count | Should -BeGreaterThan 1
        }
    }
}

Describe 'Writers and engines' {
    BeforeAll { $script:Model = Import-DpModel -LiteralPath $DpModelPath }

    It 'Export-DpModel to an existing folder is ExportPathIsDirectory and writes nothing beside it' {
        $dir = Join-Path $TestDrive 'outdir'
        New-Item -ItemType Directory -Path $dir | Out-Null
        { $Model | Export-DpModel -Path $dir } | Should -Throw -ErrorId 'ExportPathIsDirectory,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        Test-Path -LiteralPath "$dir.ckpt" | Should -BeFalse
        @(Get-ChildItem -LiteralPath $dir -Force).Count | Should -Be 0
    }

    It 'Export-DpModel to a path ending in a separator is ExportPathIsDirectory, not a hidden .ckpt' {
        $dir = Join-Path $TestDrive 'newdir'
        New-Item -ItemType Directory -Path $dir | Out-Null
        { $Model | Export-DpModel -LiteralPath "$dir/" } | Should -Throw -ErrorId 'ExportPathIsDirectory,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        Test-Path -LiteralPath (Join-Path $dir '.ckpt') | Should -BeFalse
    }

    It 'a NUL in a path is an error with an id, not an ArgumentException' {
        { $Model | Export-DpModel -LiteralPath (Join-Path $TestDrive "a`0b.ckpt") } | Should -Throw -ErrorId 'ExportPathInvalid,DpCompress.PowerShell.Commands.ExportDpModelCommand'
        (Get-DpError { Read-Model "x`0y.ckpt" }).ErrorId | Should -Be 'CheckpointPathInvalid'
        Import-DpModel -LiteralPath (Join-Path $TestDrive "x`0y.ckpt") -ErrorAction SilentlyContinue -ErrorVariable err | Out-Null
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Match '^Checkpoint\w+,'
    }

    It 'stale temporary files of an earlier, killed export are removed; fresh and foreign ones are kept' {
        $dir = Join-Path $TestDrive 'tmpclean'
        New-Item -ItemType Directory -Path $dir | Out-Null
        $target = Join-Path $dir 'out.ckpt'
        $stale = New-WriterTempFile $target
        $fresh = New-WriterTempFile $target -Fresh
        $otherTarget = New-WriterTempFile (Join-Path $dir 'another.ckpt')
        $other = Join-Path $dir '.out.ckpt.notours.tmp'
        [System.IO.File]::WriteAllBytes($other, [byte[]](1, 2, 3))
        (Get-Item -LiteralPath $other -Force).LastWriteTimeUtc = [datetime]::UtcNow.AddHours(-2)
        $Model | Export-DpModel -LiteralPath $target
        Test-Path -LiteralPath $target | Should -BeTrue
        Test-Path -LiteralPath $stale | Should -BeFalse
        Test-Path -LiteralPath $fresh | Should -BeTrue
        Test-Path -LiteralPath $other | Should -BeTrue
        Test-Path -LiteralPath $otherTarget | Should -BeTrue
    }

    It 'a stale temporary file still held open by a writer is kept' {
        $dir = Join-Path $TestDrive 'tmpheld'
        New-Item -ItemType Directory -Path $dir | Out-Null
        $target = Join-Path $dir 'out.ckpt'
        $held = New-WriterTempFile $target
        $fs = [System.IO.FileStream]::new($held, 'Open', 'ReadWrite', 'None')
        try {
            [DpCompress.Core.Serialization.TempFiles]::CleanStale($target) | Should -Be 0
            Test-Path -LiteralPath $held | Should -BeTrue
        } finally { $fs.Dispose() }
        [DpCompress.Core.Serialization.TempFiles]::CleanStale($target) | Should -Be 1
    }

    It 'the Reference engine refuses a cell beyond its memory limit with ReferenceEngineMemoryLimit and a hint' {
        $n = 6000
        $rng = [System.Random]::new(7)
        $pos = [double[]]::new(3 * $n); for ($i = 0; $i -lt $pos.Length; $i++) { $pos[$i] = 60 * $rng.NextDouble() }
        $z = [int[]]::new($n); for ($i = 0; $i -lt $n; $i++) { $z[$i] = if ($i % 2) { 47 } else { 79 } }
        $cfg = [DpCompress.Core.Structures.Configuration]::new([double[]](60, 0, 0, 0, 60, 0, 0, 0, 60), $pos, $z)
        [DpCompress.Core.Inference.ReferenceMemoryGuard]::Estimate($Model, $n) | Should -BeGreaterThan ([DpCompress.Core.Inference.ReferenceMemoryGuard]::Limit)
        $err = $null
        try { $cfg | Invoke-DpModel -Model $Model -Engine Reference | Out-Null } catch { $err = $_ }
        if (-not $err) { $cfg | Invoke-DpModel -Model $Model -Engine Reference -ErrorAction SilentlyContinue -ErrorVariable ev | Out-Null; $err = $ev[0] }
        $err.FullyQualifiedErrorId | Should -Match '^ReferenceEngineMemoryLimit'
        $err.Exception.Message | Should -Match 'Engine Fast'
        # the 4,000-atom estimate matches the 3.9 GB measured for the Ag-Au model within 10 %
        [DpCompress.Core.Inference.ReferenceMemoryGuard]::Estimate($Model, 4000) / 3.9e9 | Should -BeGreaterThan 0.9
    }
}
